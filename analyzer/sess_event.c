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
void ev_ts(char *buf, size_t size, int64_t sec, uint32_t nsec, int nano)
{
	static int64_t last_sec;
	static int have_last;
	static char date[64];
	static size_t date_len;
	uint32_t frac = nano ? nsec : nsec / 1000;
	size_t digits = nano ? 9 : 6;
	struct tm tm;
	time_t t = (time_t)sec;

	if (!have_last || sec != last_sec) {
		int n;

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
		return;
	}
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (nano)
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)nsec);
	else
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(nsec / 1000));
}

double ts_diff_ms(int64_t s1, uint32_t n1, int64_t s0, uint32_t n0)
{
	return (double)(s1 - s0) * 1000.0 + ((double)n1 - (double)n0) / 1e6;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if (c == 0xe0 && p[1] < 0xa0)
		return 0;
	if (c == 0xed && p[1] >= 0xa0)
		return 0;
	if (c == 0xf0 && p[1] < 0x90)
		return 0;
	if (c == 0xf4 && p[1] >= 0x90)
		return 0;
	return n;
}

struct json_object *ev_text(const char *p, size_t len, size_t cap, int *cut_r)
{
	/* Worst case every byte becomes four characters. */
	size_t in = len < cap ? len : cap;
	char *out;
	size_t o = 0, i = 0;
	struct json_object *js;

	if (cut_r != NULL)
		*cut_r = len > cap;
	/* Nearly all protocol text is ASCII, which is valid UTF-8 as it
	 * stands: found eight bytes at a time, it is taken without a copy. */
	while (i + 8 <= in) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ull)
			break;
		i += 8;
	}
	while (i < in && (unsigned char)p[i] < 0x80)
		i++;
	if (i == in)
		return json_object_new_string_len(p, (int)in);
	i = 0;
	out = malloc(in * 4 + 1);
	if (out == NULL)
		return json_object_new_string("");
	while (i < in) {
		const unsigned char *u = (const unsigned char *)p + i;
		size_t n = utf8_seq(u, in - i);

		if (n == 0) {
			o += (size_t)sprintf(out + o, "\\x%02X", u[0]);
			i++;
			continue;
		}
		memcpy(out + o, u, n);
		o += n;
		i += n;
	}
	js = json_object_new_string_len(out, (int)o);
	free(out);
	return js;
}

/*
 * The keys given to the ev_ helpers are string literals or other static
 * text, so json-c is told not to copy them (JSON_C_OBJECT_KEY_IS_CONSTANT):
 * a malloc and a free less per field.
 */
static void ev_add(struct json_object *ev, const char *key,
		   struct json_object *v)
{
	json_object_object_add_ex(ev, key, v, JSON_C_OBJECT_KEY_IS_CONSTANT);
}

#define NEW_KEY (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)

void ev_str(struct json_object *ev, const char *key, const char *p, size_t len,
	    size_t cap)
{
	int cut = 0;

	ev_add(ev, key, ev_text(p != NULL ? p : "", p != NULL ? len : 0,
						cap, &cut));
	if (cut) {
		char k[64];

		snprintf(k, sizeof(k), "%s_truncated", key);
		json_object_object_add(ev, k, json_object_new_boolean(1));
	}
}

void ev_cstr(struct json_object *ev, const char *key, const char *s)
{
	ev_str(ev, key, s, strlen(s), SIZE_MAX);
}

void ev_u64(struct json_object *ev, const char *key, uint64_t v)
{
	/* JSON numbers past 2^63 would not round-trip through json-c's int64. */
	ev_add(ev, key, v > INT64_MAX ?
			       json_object_new_uint64(v) :
			       json_object_new_int64((int64_t)v));
}

void ev_ms(struct json_object *ev, const char *key, double ms)
{
	/* Millisecond values keep nanosecond resolution and no binary
	 * noise (0.030, not 0.029999999999999999). */
	char buf[48];

	snprintf(buf, sizeof(buf), "%.6f", ms);
	ev_add(ev, key, json_object_new_double_s(ms, buf));
}

struct json_object *ev_new(struct session *s, const char *type, int dir,
			   uint64_t offset)
{
	struct json_object *ev = json_object_new_object();
	char ts[48];

	ev_ts(ts, sizeof(ts), s->cur.ts_sec, s->cur.ts_nsec, s->cur.ts_nano);
	/* A new object: the keys cannot be there yet. */
	json_object_object_add_ex(ev, "ts", json_object_new_string(ts), NEW_KEY);
	json_object_object_add_ex(ev, "session", s->id > INT64_MAX ?
				  json_object_new_uint64(s->id) :
				  json_object_new_int64((int64_t)s->id), NEW_KEY);
	json_object_object_add_ex(ev, "client", json_object_new_string(s->client),
				  NEW_KEY);
	json_object_object_add_ex(ev, "server", json_object_new_string(s->server),
				  NEW_KEY);
	json_object_object_add_ex(ev, "type", json_object_new_string(type), NEW_KEY);
	ev_u64(ev, "frame", s->cur.frame);
	if (dir >= 0) {
		ev_add(ev, "dir", json_object_new_string(dir == 0 ? "c2s" : "s2c"));
		ev_u64(ev, "offset", offset);
	}
	return ev;
}

void ev_emit(struct session *s, struct json_object *ev)
{
	out_event(s->e->out, ev);
}

static void finding_fill(struct json_object *ev, enum imt_finding id)
{
	const struct imt_finding_info *fi = imt_finding_info(id);

	json_object_object_add(ev, "id", json_object_new_string(fi->id));
	json_object_object_add(ev, "category", json_object_new_string(fi->category));
	json_object_object_add(ev, "severity",
			       json_object_new_string(imt_severity_name(fi->severity)));
	json_object_object_add(ev, "message", json_object_new_string(fi->message));
	if (fi->rfc[0] != '\0')
		json_object_object_add(ev, "rfc", json_object_new_string(fi->rfc));
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
	struct json_object *ev = ev_new(s, "violation", dir, offset);

	finding_fill(ev, id);
	if (tag != NULL)
		ev_cstr(ev, "tag", tag);
	if (detail != NULL)
		ev_str(ev, "detail", detail, detail_len, s->e->cfg.lim.max_args_text);
	finding_count(s, id);
	ev_emit(s, ev);
}

void sess_finding_report(struct session *s, const struct imt_finding_report *f)
{
	struct json_object *ev = ev_new(s, "violation", f->dir, f->offset);

	if (f->frame != 0)
		ev_u64(ev, "frame", f->frame);
	finding_fill(ev, f->id);
	if (f->other_frame != 0)
		ev_u64(ev, "other_frame", f->other_frame);
	if (f->limit != NULL)
		ev_cstr(ev, "limit", f->limit);
	if (f->value != 0)
		ev_u64(ev, "value", f->value);
	if (f->detail != NULL)
		ev_cstr(ev, "detail", f->detail);
	finding_count(s, f->id);
	ev_emit(s, ev);
}

void sess_state(struct session *s, unsigned to, const char *cause)
{
	struct json_object *ev;

	if (s->state == to)
		return;
	ev = ev_new(s, "state", -1, 0);
	json_object_object_add(ev, "from",
			       json_object_new_string(s->state == 0 ? "unknown" :
						      imap_state_name(s->state)));
	json_object_object_add(ev, "to", json_object_new_string(imap_state_name(to)));
	ev_cstr(ev, "cause", cause);
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

void ev_tokens(struct json_object *ev, const char *key,
	       const struct imap_element *el, size_t cap, int redact_from)
{
	char stackbuf[1024];
	char *buf = cap + 1 <= sizeof(stackbuf) ? stackbuf : malloc(cap + 1);
	size_t n;

	if (buf == NULL)
		return;
	n = render_tokens(el, 0, el->ntokens, buf, cap + 1, redact_from);
	ev_str(ev, key, buf, n < cap ? n : cap, cap);
	/* Cut here, or already cut by the parser's line or token caps. */
	if (n > cap || el->tokens_dropped > 0 || el->line_truncated) {
		char k[64];

		snprintf(k, sizeof(k), "%s_truncated", key);
		json_object_object_add(ev, k, json_object_new_boolean(1));
	}
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
		case IMAP_TOK_LITERAL:
			snprintf(num, sizeof(num), "%s{%llu%s}",
				 (t->flags & IMAP_TOKF_LITERAL8) ? "~" : "",
				 (unsigned long long)t->num,
				 (t->flags & IMAP_TOKF_NONSYNC) ? "+" : "");
			put(buf, size, &o, num, strlen(num));
			break;
		default:
			put(buf, size, &o, p, n);
			break;
		}
	}
	buf[o < size ? o : size - 1] = '\0';
	return o;
}
