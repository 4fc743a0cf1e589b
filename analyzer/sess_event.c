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

#include "dec.h"
#include "sess_event.h"
#include "sess_session.h"
#include "sess_token.h"

/*
 * Events come in capture order, so most share the second of the one
 * before: the text of the last second is kept and only the fraction is
 * written, instead of gmtime_r() and snprintf() for every event; and the
 * events of one packet share the whole text, kept as well.
 */
static size_t ev_ts(char *buf, size_t size, int64_t sec, uint32_t nsec, int nano)
{
	static int64_t last_sec;
	static int have_last;
	static char date[64];
	static size_t date_len;
	static char full[64];
	static size_t full_len;
	static uint32_t full_frac;
	static int full_nano;
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
		full_len = 0;
	}
	if (date_len > 0 && frac < (nano ? 1000000000u : 1000000u) &&
	    size >= date_len + digits + 3 && sizeof(full) >= date_len + digits + 3) {
		if (full_len == 0 || frac != full_frac || nano != full_nano) {
			char num[DEC_U64_MAXLEN], *d = full + date_len + 1;
			char *p = dec_format_u64(num + sizeof(num), frac);
			size_t k = (size_t)(num + sizeof(num) - p);

			/* The fraction with its leading zeros: digits wide. */
			memcpy(full, date, date_len);
			full[date_len] = '.';
			memset(d, '0', digits - k);
			memcpy(d + digits - k, p, k);
			d[digits] = 'Z';
			d[digits + 1] = '\0';
			full_len = date_len + digits + 2;
			full_frac = frac;
			full_nano = nano;
		}
		memcpy(buf, full, full_len + 1);
		return full_len;
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

int64_t sess_ts_diff_ns(int64_t s1, uint32_t n1, int64_t s0, uint32_t n0)
{
	/* Capture times are far from the int64 limits in nanoseconds
	 * (year 2262); a hostile timestamp is clamped rather than wrapped. */
	const int64_t lim = INT64_MAX / 1000000000 - 1;
	int64_t ds = s1 - s0;

	if (s1 > lim || s1 < -lim || s0 > lim || s0 < -lim)
		ds = ds > lim ? lim : ds < -lim ? -lim : ds;
	return ds * 1000000000 + ((int64_t)n1 - (int64_t)n0);
}

void sess_ev_truncated(struct imt_event *ev, const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), "%s_truncated", key);
	event_bool(ev, k, 1);
}

size_t sess_ev_ts(const struct session *s, char *buf, size_t size)
{
	return ev_ts(buf, size, s->cur.ts_sec, s->cur.ts_nsec, s->cur.ts_nano);
}

struct imt_event *sess_ev_new(struct session *s, enum imt_event_type type,
			      enum imt_dir dir, uint64_t offset)
{
	return sess_ev_new_at(s, type, dir, offset, &s->cur);
}

struct imt_event *sess_ev_new_at(struct session *s, enum imt_event_type type,
				 enum imt_dir dir, uint64_t offset,
				 const struct tcp_meta *m)
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
	h.ts_len = ev_ts(ts, sizeof(ts), m->ts_sec, m->ts_nsec, m->ts_nano);
	/* Addresses are digits, dots, colons and brackets: no escaping. */
	if (s->ev_prefix == NULL) {
		char cid[COMMUNITY_ID_STRLEN];
		char client[IP_ENDPOINT_STRLEN], server[IP_ENDPOINT_STRLEN];
		char buf[SESS_EV_PREFIX_MAX], num[DEC_U64_MAXLEN];
		char *np, *id = dec_format_u64(num + sizeof(num), s->id);
		size_t idlen = (size_t)(num + sizeof(num) - id), cl, sv, cidlen;
		size_t n = 0;

		/* Computed once per session: the flow's name in Zeek, Suricata
		 * and Arkime records, so theirs and ours join on it. */
		cidlen = community_id_v1(&s->cl, &s->sv, COMMUNITY_ID_PROTO_TCP,
					 e->cfg.community_id_seed, cid, sizeof(cid));
		sess_endpoints(s, client, server);
		cl = strlen(client);
		sv = strlen(server);
		/* "session":N,"client":"…","server":"…"[,"community_id":"…"] */
#define PUT(p, len) (memcpy(buf + n, (p), (len)), n += (len))
#define PUTS(lit) PUT(lit, sizeof(lit) - 1)
		if (idlen + cl + sv + cidlen + 64 <= sizeof(buf)) {
			PUTS("\"session\":");
			PUT(id, idlen);
			PUTS(",\"client\":\"");
			PUT(client, cl);
			PUTS("\",\"server\":\"");
			PUT(server, sv);
			PUTS("\"");
			if (cidlen > 0) {
				PUTS(",\"community_id\":\"");
				PUT(cid, cidlen);
				PUTS("\"");
			}
		}
#undef PUTS
#undef PUT
		buf[n] = '\0';
		/* Kept at its length: an open session holds only what it uses. */
		if ((np = mem_slab_get(&e->small, n + 1)) != NULL) {
			memcpy(np, buf, n + 1);
			s->ev_prefix = np;
			s->ev_prefix_len = (uint32_t)n;
		}
	}
	h.members = s->ev_prefix != NULL ? s->ev_prefix : "";
	h.members_len = s->ev_prefix_len;
	h.frame = m->frame;
	h.dir = dir;
	h.offset = offset;
	event_head(ev, &h);
	if (s->io.layer != NULL)
		event_cstring(ev, "layer", s->io.layer);
	return ev;
}

void sess_ev_emit(struct session *s, struct imt_event *ev)
{
	struct sess_engine *e = s->e;

	if (ev == &e->event_spill)
		return;
	event_end(ev);
	out_event(e->out, ev);
	e->events_busy--;
}

/* The catalog's severity of id, except where the configuration says the
 * capture expects it: behind a TLS-inspecting appliance
 * (--decrypted-upstream) plaintext after STARTTLS is what the appliance
 * does, not an attack. */
static enum imt_severity finding_severity(const struct session *s, enum imt_finding id)
{
	if (id == F_PLAINTEXT_AFTER_STARTTLS && s->e->cfg.decrypted_upstream)
		return SEV_INFO;
	return imt_finding_info(id)->severity;
}

static void finding_fill(const struct session *s, struct imt_event *ev,
			 enum imt_finding id)
{
	const struct imt_finding_info *fi = imt_finding_info(id);
	enum imt_severity sev = finding_severity(s, id);

	ev->severity = (int)sev;
	event_cstring(ev, "id", fi->id);
	event_cstring(ev, "category", fi->category);
	event_cstring(ev, "severity", imt_severity_name(sev));
	event_cstring(ev, "message", fi->message);
	if (fi->rfc[0] != '\0')
		event_cstring(ev, "rfc", fi->rfc);
}

static void finding_count(struct session *s, enum imt_finding id)
{
	enum imt_severity sev = finding_severity(s, id);

	s->violations[sev]++;
	s->e->totals_violations[sev]++;
}

void sess_finding(struct session *s, enum imt_finding id, enum imt_dir dir,
		  uint64_t offset, const char *detail, const char *tag)
{
	sess_finding_n(s, id, dir, offset, detail,
		       detail != NULL ? strlen(detail) : 0, tag);
}

void sess_finding_n(struct session *s, enum imt_finding id, enum imt_dir dir,
		    uint64_t offset, const char *detail, size_t detail_len,
		    const char *tag)
{
	struct imt_event *ev = sess_ev_new(s, EV_VIOLATION, dir, offset);

	finding_fill(s, ev, id);
	if (tag != NULL)
		event_cstring(ev, "tag", tag);
	if (detail != NULL)
		sess_ev_str(ev, "detail", detail, detail_len, s->e->cfg.lim.max_args_text);
	finding_count(s, id);
	sess_ev_emit(s, ev);
}

void sess_finding_report(struct session *s, const struct imt_finding_report *f)
{
	struct imt_event *ev;
	uint64_t frame = s->cur.frame;

	/* The report may name an earlier frame than the packet at hand. */
	if (f->frame != 0)
		s->cur.frame = f->frame;
	ev = sess_ev_new(s, EV_VIOLATION, f->dir, f->offset);
	s->cur.frame = frame;
	finding_fill(s, ev, f->id);
	if (f->other_frame != 0)
		event_u64(ev, "other_frame", f->other_frame);
	if (f->limit != NULL)
		event_cstring(ev, "limit", f->limit);
	if (f->value != 0)
		event_u64(ev, "value", f->value);
	if (f->detail != NULL)
		event_cstring(ev, "detail", f->detail);
	finding_count(s, f->id);
	sess_ev_emit(s, ev);
}

void sess_ev_tokens(struct imt_event *ev, const char *key,
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
			sess_ev_truncated(ev, key);
		return;
	}
	buf = cap + 1 <= sizeof(stackbuf) ? stackbuf : malloc(cap + 1);
	if (buf == NULL) {
		ev->failed = 1;
		return;
	}
	n = sess_token_render(el, 0, el->ntokens, buf, cap + 1, redact_from);
	event_string(ev, key, buf, n < cap ? n : cap);
	/* Cut here, or already cut by the parser's line or token caps. */
	if (n > cap || el->tokens_dropped > 0 || el->line_truncated)
		sess_ev_truncated(ev, key);
	if (buf != stackbuf)
		free(buf);
}

void sess_ev_forget(struct session *s)
{
	if (s->ev_prefix != NULL)
		mem_slab_put(&s->e->small, s->ev_prefix, (size_t)s->ev_prefix_len + 1);
	s->ev_prefix = NULL;
	s->ev_prefix_len = 0;
}
