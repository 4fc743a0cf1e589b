/*
 * sess_event.c - building the JSON events of the session engine.
 *
 * Every event starts with the same fields (ts, session, client, server,
 * type, frame, and dir/offset when tied to stream bytes); strings are
 * made valid UTF-8 on the way in, bytes that are not becoming "\xNN".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sess_int.h"

/*
 * Events come in capture order, so most share the second of the one
 * before: the text of the last second is kept and only the fraction is
 * written, instead of gmtime_r() and snprintf() for every event.
 */
size_t ev_ts(char *buf, size_t size, int64_t sec, uint32_t nsec, int nano)
{
	static int64_t last_sec;
	static int have_last;
	static char date[64];
	static size_t date_len;
	uint32_t frac = nano ? nsec : nsec / 1000;
	size_t digits = nano ? 9 : 6;
	struct tm tm;
	time_t t = (time_t)sec;
	int n;

	if (!have_last || sec != last_sec) {
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		n = snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:%02d",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
		date_len = n > 0 && (size_t)n < sizeof(date) ? (size_t)n : 0;
		last_sec = sec;
		have_last = 1;
	}
	if (date_len > 0 && frac < (nano ? 1000000000u : 1000000u) &&
	    size >= date_len + digits + 3) {
		memcpy(buf, date, date_len);
		buf[date_len] = '.';
		for (size_t i = digits; i > 0; i--) {
			buf[date_len + i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		buf[date_len + digits + 1] = 'Z';
		buf[date_len + digits + 2] = '\0';
		return date_len + digits + 2;
	}
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (nano)
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)nsec);
	else
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(nsec / 1000));
	return n > 0 && (size_t)n < size ? (size_t)n : strlen(buf);
}

int64_t ts_diff_ns(int64_t s1, uint32_t n1, int64_t s0, uint32_t n0)
{
	/* Capture times are far from the int64 limits in nanoseconds
	 * (year 2262); a hostile timestamp is clamped rather than wrapped. */
	const int64_t lim = INT64_MAX / 1000000000 - 1;
	int64_t ds = s1 - s0;

	if (s1 > lim || s1 < -lim || s0 > lim || s0 < -lim)
		ds = ds > lim ? lim : ds < -lim ? -lim : ds;
	return ds * 1000000000 + ((int64_t)n1 - (int64_t)n0);
}

void ev_str(struct imt_event *ev, const char *key, const char *p, size_t len,
	    size_t cap)
{
	event_string(ev, key, p, len < cap ? len : cap);
	if (len > cap)
		ev_truncated(ev, key);
}

void ev_truncated(struct imt_event *ev, const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), "%s_truncated", key);
	event_bool(ev, k, 1);
}

struct imt_event *ev_new(struct session *s, enum imt_event_type type, int dir,
			 uint64_t offset)
{
	struct sess_engine *e = s->e;
	struct imt_event *ev;
	struct event_head h;
	char ts[48];

	/* Events are built one at a time; the pool only guards against an
	 * event started while another is being built. */
	if (e->events_busy >= SESS_EVENT_POOL) {
		ev = &e->event_spill;
		event_begin(ev, type, 1);
		return ev;
	}
	ev = &e->events[e->events_busy++];
	event_begin(ev, type, !out_wants(e->out, type));
	if (ev->muted)
		return ev;
	h.ts = ts;
	h.ts_len = ev_ts(ts, sizeof(ts), s->cur.ts_sec, s->cur.ts_nsec,
			 s->cur.ts_nano);
	/* Addresses are digits, dots, colons and brackets: no escaping. */
	if (s->ev_prefix_len == 0 || s->ev_prefix_id != s->id) {
		int n = snprintf(s->ev_prefix, sizeof(s->ev_prefix),
				 "\"session\":%llu,\"client\":\"%s\",\"server\":\"%s\"",
				 (unsigned long long)s->id, s->client, s->server);

		s->ev_prefix_len = n > 0 && (size_t)n < sizeof(s->ev_prefix) ? (size_t)n : 0;
		s->ev_prefix_id = s->id;
	}
	h.members = s->ev_prefix;
	h.members_len = s->ev_prefix_len;
	h.frame = s->cur.frame;
	h.dir = dir >= 0 ? (dir == 0 ? 0 : 1) : -1;
	h.offset = offset;
	event_head(ev, &h);
	return ev;
}

void ev_emit(struct session *s, struct imt_event *ev)
{
	struct sess_engine *e = s->e;

	if (ev == &e->event_spill)
		return;
	event_end(ev);
	out_event(e->out, ev);
	e->events_busy--;
}

static void finding_fill(struct imt_event *ev, enum imt_finding id)
{
	const struct imt_finding_info *fi = imt_finding_info(id);

	ev->severity = (int)fi->severity;
	event_cstring(ev, "id", fi->id);
	event_cstring(ev, "category", fi->category);
	event_cstring(ev, "severity", imt_severity_name(fi->severity));
	event_cstring(ev, "message", fi->message);
	if (fi->rfc[0] != '\0')
		event_cstring(ev, "rfc", fi->rfc);
}

static void finding_count(struct session *s, enum imt_finding id)
{
	enum imt_severity sev = imt_finding_info(id)->severity;

	s->violations[sev]++;
	s->e->totals_violations[sev]++;
}

void sess_finding(struct session *s, enum imt_finding id, int dir,
		  uint64_t offset, const char *detail, const char *tag)
{
	sess_finding_n(s, id, dir, offset, detail,
		       detail != NULL ? strlen(detail) : 0, tag);
}

void sess_finding_n(struct session *s, enum imt_finding id, int dir,
		    uint64_t offset, const char *detail, size_t detail_len,
		    const char *tag)
{
	struct imt_event *ev = ev_new(s, EV_VIOLATION, dir, offset);

	finding_fill(ev, id);
	if (tag != NULL)
		event_cstring(ev, "tag", tag);
	if (detail != NULL)
		ev_str(ev, "detail", detail, detail_len, s->e->cfg.lim.max_args_text);
	finding_count(s, id);
	ev_emit(s, ev);
}

void sess_finding_report(struct session *s, const struct imt_finding_report *f)
{
	struct imt_event *ev;
	uint64_t frame = s->cur.frame;

	/* The report may name an earlier frame than the packet at hand. */
	if (f->frame != 0)
		s->cur.frame = f->frame;
	ev = ev_new(s, EV_VIOLATION, f->dir, f->offset);
	s->cur.frame = frame;
	finding_fill(ev, f->id);
	if (f->other_frame != 0)
		event_u64(ev, "other_frame", f->other_frame);
	if (f->limit != NULL)
		event_cstring(ev, "limit", f->limit);
	if (f->value != 0)
		event_u64(ev, "value", f->value);
	if (f->detail != NULL)
		event_cstring(ev, "detail", f->detail);
	finding_count(s, f->id);
	ev_emit(s, ev);
}

void sess_state(struct session *s, unsigned to, const char *cause)
{
	struct imt_event *ev;

	if (s->state == to)
		return;
	ev = ev_new(s, EV_STATE, -1, 0);
	event_cstring(ev, "from", s->state == 0 ? "unknown" : imap_state_name(s->state));
	event_cstring(ev, "to", imap_state_name(to));
	event_cstring(ev, "cause", cause);
	s->state = to;
	s->expect_state = to;
	ev_emit(s, ev);
}

uint32_t sess_tag_hash(const char *tag)
{
	uint32_t h = 2166136261u;

	for (; *tag != '\0'; tag++)
		h = (h ^ (uint8_t)*tag) * 16777619u;
	return h | 1;   /* 0 marks an empty slot */
}

void ev_tokens(struct imt_event *ev, const char *key,
	       const struct imap_element *el, size_t cap, int redact_from)
{
	char stackbuf[1024];
	char *buf;
	size_t n;

	if (ev->muted)
		return;
	/* Tokens in canonical spelling are their own text: nothing to
	 * write back. */
	if (redact_from < 0 && el->tokens_text != NULL) {
		n = el->tokens_text_len;
		event_string(ev, key, el->tokens_text, n < cap ? n : cap);
		if (n > cap)
			ev_truncated(ev, key);
		return;
	}
	buf = cap + 1 <= sizeof(stackbuf) ? stackbuf : malloc(cap + 1);
	if (buf == NULL) {
		ev->failed = 1;
		return;
	}
	n = render_tokens(el, 0, el->ntokens, buf, cap + 1, redact_from);
	event_string(ev, key, buf, n < cap ? n : cap);
	/* Cut here, or already cut by the parser's line or token caps. */
	if (n > cap || el->tokens_dropped > 0 || el->line_truncated)
		ev_truncated(ev, key);
	if (buf != stackbuf)
		free(buf);
}

size_t token_text(const struct imap_element *el, const struct imap_token *t,
		  const char **p_r)
{
	*p_r = el->buf + t->off;
	return t->len;
}

int token_is_atom_like(const struct imap_token *t)
{
	return t->type == IMAP_TOK_ATOM || t->type == IMAP_TOK_NUMBER ||
	       t->type == IMAP_TOK_QUOTED || t->type == IMAP_TOK_LITERAL;
}

/* Appends n bytes to buf at *o, never past size - 1; counts the full length. */
static void put(char *buf, size_t size, size_t *o, const char *p, size_t n)
{
	if (*o < size) {
		size_t room = size - 1 - *o;

		memcpy(buf + *o, p, n < room ? n : room);
	}
	*o += n;
}

size_t render_tokens(const struct imap_element *el, size_t from, size_t to,
		     char *buf, size_t size, int redact_from)
{
	size_t o = 0;
	int top = -1;
	int need_space = 0;
	char num[48];

	if (size == 0)
		return 0;
	for (size_t i = from; i < to && i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		const char *p;
		size_t n = token_text(el, t, &p);

		if (t->depth == 0 && t->type != IMAP_TOK_LIST_END)
			top++;
		if (t->type == IMAP_TOK_LIST_END) {
			put(buf, size, &o, ")", 1);
			need_space = 1;
			continue;
		}
		if (need_space)
			put(buf, size, &o, " ", 1);
		need_space = 1;
		if (redact_from >= 0 && top >= redact_from) {
			put(buf, size, &o, "<redacted>", 10);
			if (t->type == IMAP_TOK_LIST && t->num > i)
				i = (size_t)t->num;
			continue;
		}
		switch (t->type) {
		case IMAP_TOK_LIST:
			put(buf, size, &o, "(", 1);
			need_space = 0;
			break;
		case IMAP_TOK_QUOTED:
			put(buf, size, &o, "\"", 1);
			put(buf, size, &o, p, n);
			put(buf, size, &o, "\"", 1);
			break;
		case IMAP_TOK_LITERAL: {
			/* ~{N+}, written backwards from the end of num. */
			char *e = num + sizeof(num), *d = e;
			uint64_t v = t->num;

			*--d = '}';
			if (t->flags & IMAP_TOKF_NONSYNC)
				*--d = '+';
			do {
				*--d = (char)('0' + v % 10);
				v /= 10;
			} while (v != 0);
			*--d = '{';
			if (t->flags & IMAP_TOKF_LITERAL8)
				*--d = '~';
			put(buf, size, &o, d, (size_t)(e - d));
			break;
		}
		default:
			put(buf, size, &o, p, n);
			break;
		}
	}
	buf[o < size ? o : size - 1] = '\0';
	return o;
}
