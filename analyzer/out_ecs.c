/*
 * out_ecs.c - the ecs format: every event as an Elastic Common Schema
 * document, one per line.
 *
 * The document is the ECS head followed by the native event, as it is,
 * under "imap":
 *
 *   {"@timestamp":..,"ecs":{..},"event":{..},"source":{..},..,"imap":{native}}
 *
 * The head is made from the native text without a JSON parser: the
 * members every event starts with (ts, session, client, server,
 * community_id, type) stand at its start in a fixed order, and the few
 * others the head needs are top-level members whose keys the event
 * writer puts at the top level only.  A key cannot be matched inside a
 * string value: there a quote is always escaped.  String values are
 * copied as they are written (already escaped).
 */
#include <stdlib.h>
#include <string.h>

#include "out_int.h"

#define ECS_VERSION "9.4.0"

struct ecs_buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct ecs_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (n > cap - b->len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* A string literal, its length known when compiling. */
#define PUTL(b, lit) put((b), (lit), sizeof(lit) - 1)

static void puts_(struct ecs_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A value in the native text: p[0..len), a string's without its quotes. */
struct val {
	const char *p;
	size_t len;
	int str;     /* a string (else a number, literal, object or array) */
};

/* The value of the top-level member "key" in the event text t[0..n), or
 * 0 when there is none. */
static int get(const char *t, size_t n, const char *key, struct val *v)
{
	char pat[40];
	size_t kl = strlen(key), i, depth = 0;
	const char *hit;

	if (kl + 4 > sizeof(pat))
		return 0;
	pat[0] = '"';
	memcpy(pat + 1, key, kl);
	pat[kl + 1] = '"';
	pat[kl + 2] = ':';
	pat[kl + 3] = '\0';
	for (const char *from = t; (hit = memmem(from, n - (size_t)(from - t), pat,
						   kl + 3)) != NULL; from = hit + 1) {
		const char *q = hit + kl + 3, *end = t + n;

		/* Top level only: count the braces outside strings before it. */
		depth = 0;
		for (const char *c = t; c < hit; c++) {
			if (*c == '"') {
				for (c++; c < hit && *c != '"'; c++)
					if (*c == '\\')
						c++;
			} else if (*c == '{' || *c == '[') {
				depth++;
			} else if (*c == '}' || *c == ']') {
				depth--;
			}
		}
		if (depth != 1)
			continue;
		if (q < end && *q == '"') {
			for (i = 1; q + i < end && q[i] != '"'; i++)
				if (q[i] == '\\')
					i++;
			v->p = q + 1;
			v->len = i - 1;
			v->str = 1;
			return q + i < end;
		}
		if (q < end && (*q == '{' || *q == '[')) {
			/* An object or array: to its closing bracket. */
			size_t d = 0;

			for (i = 0; q + i < end; i++) {
				if (q[i] == '"') {
					for (i++; q + i < end && q[i] != '"'; i++)
						if (q[i] == '\\')
							i++;
				} else if (q[i] == '{' || q[i] == '[') {
					d++;
				} else if ((q[i] == '}' || q[i] == ']') && --d == 0) {
					i++;
					break;
				}
			}
		} else {
			for (i = 0; q + i < end && q[i] != ',' && q[i] != '}'; i++)
				;
		}
		v->p = q;
		v->len = i;
		v->str = 0;
		return i > 0 && !(i == 4 && memcmp(q, "null", 4) == 0);
	}
	return 0;
}

static int is(const struct val *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}

static void member_str(struct ecs_buf *b, const char *key, const struct val *v)
{
	PUTL(b, ",\"");
	puts_(b, key);
	PUTL(b, "\":\"");
	put(b, v->p, v->len);
	PUTL(b, "\"");
}

static void member_raw(struct ecs_buf *b, const char *key, const char *v, size_t len)
{
	PUTL(b, ",\"");
	puts_(b, key);
	PUTL(b, "\":");
	put(b, v, len);
}

/* "12.345678" milliseconds as nanoseconds in decimal; 0 when not a
 * duration the event writer made. */
static size_t ms_to_ns(const struct val *v, char *out, size_t size)
{
	size_t i = 0, o = 0, frac = 0;
	int dot = 0;

	for (; i < v->len && o + 1 < size; i++) {
		char c = v->p[i];

		if (c == '.' && !dot) {
			dot = 1;
		} else if (c >= '0' && c <= '9') {
			if (dot && frac++ >= 6)
				continue;
			if (!(o == 0 && c == '0'))
				out[o++] = c;
		} else {
			return 0;
		}
	}
	while (frac++ < 6 && o + 1 < size)
		out[o++] = '0';
	if (o == 0 || (o > 0 && strspn(out, "0") == o)) {
		out[0] = '0';
		o = 1;
	}
	return o;
}

/* An endpoint "ip:port" or "[ip6]:port" as {"ip":..,"port":..}. */
static void endpoint(struct ecs_buf *b, const char *key, const struct val *v,
		     const struct val *bytes)
{
	const char *colon = NULL;
	size_t hl;
	const char *h = v->p;

	for (size_t i = 0; i < v->len; i++)
		if (v->p[i] == ':')
			colon = v->p + i;
	if (colon == NULL)
		return;
	hl = (size_t)(colon - h);
	if (hl >= 2 && h[0] == '[') {
		h++;
		hl -= 2;
	}
	PUTL(b, ",\"");
	puts_(b, key);
	PUTL(b, "\":{\"ip\":\"");
	put(b, h, hl);
	PUTL(b, "\",\"port\":");
	put(b, colon + 1, (size_t)(v->p + v->len - colon - 1));
	if (bytes != NULL)
		member_raw(b, "bytes", bytes->p, bytes->len);
	PUTL(b, "}");
}

static const char *outcome(const struct val *status, int have)
{
	if (!have)
		return "unknown";
	if (is(status, "OK"))
		return "success";
	if (is(status, "NO") || is(status, "BAD"))
		return "failure";
	return "unknown";
}

int out_ecs_line(const struct imt_event *ev, char **buf_r, size_t *cap_r,
		 size_t *len_r)
{
	struct ecs_buf b = { *buf_r, 0, *cap_r, 0 };
	const char *t = ev->text;
	size_t n = ev->len;
	struct val ts, cl, sv, cid, v, st, bc = { 0 }, bs = { 0 };
	int have_st = 0, have_bytes = 0;
	enum imt_event_type type = ev->type;
	char ns[32];
	size_t nsl = 0;

	PUTL(&b, "{\"@timestamp\":\"");
	if (get(t, n, "ts", &ts))
		put(&b, ts.p, ts.len);
	PUTL(&b, "\",\"ecs\":{\"version\":\"" ECS_VERSION "\"}");
	/* event */
	PUTL(&b, ",\"event\":{\"kind\":\"");
	puts_(&b, type == EV_VIOLATION ? "alert" : "event");
	PUTL(&b, "\",\"category\":[\"network\"],\"type\":[\"");
	puts_(&b, type == EV_SESSION_START ? "start" : type == EV_SESSION_END ? "end" :
		  type == EV_VIOLATION ? "info" : "protocol");
	PUTL(&b, "\"]");
	if (type == EV_VIOLATION && get(t, n, "id", &v))
		member_str(&b, "action", &v);
	else if ((type == EV_COMMAND || type == EV_RESULT || type == EV_TRANSACTION) &&
		 get(t, n, "command", &v))
		member_str(&b, "action", &v);
	else {
		member_raw(&b, "action", "\"", sizeof("\"") - 1);
		puts_(&b, event_type_name(type));
		PUTL(&b, "\"");
	}
	if (type == EV_RESULT || type == EV_TRANSACTION) {
		have_st = get(t, n, "status", &st);
		member_raw(&b, "outcome", "\"", sizeof("\"") - 1);
		puts_(&b, outcome(&st, have_st));
		PUTL(&b, "\"");
		if (get(t, n, "latency_ms", &v))
			nsl = ms_to_ns(&v, ns, sizeof(ns));
	} else if (type == EV_SESSION_END && get(t, n, "duration_ms", &v)) {
		nsl = ms_to_ns(&v, ns, sizeof(ns));
	}
	if (nsl > 0)
		member_raw(&b, "duration", ns, nsl);
	if (type == EV_TRANSACTION)
		PUTL(&b, ",\"dataset\":\"imaptrace.transaction\"");
	else
		PUTL(&b, ",\"dataset\":\"imaptrace.event\"");
	member_raw(&b, "module", "\"imaptrace\"", sizeof("\"imaptrace\"") - 1);
	if (type == EV_VIOLATION && get(t, n, "severity", &v)) {
		const char *sev = is(&v, "info") ? "1" : is(&v, "low") ? "2" :
				  is(&v, "medium") ? "3" : "4";

		member_raw(&b, "severity", sev, 1);
	}
	PUTL(&b, "}");
	/* endpoints */
	if ((type == EV_SESSION_END || type == EV_TRANSACTION) && get(t, n, "bytes", &v)) {
		/* {"c2s":N,"s2c":M} */
		const char *c = memchr(v.p, ':', v.len), *comma;

		if (c != NULL && (comma = memchr(c, ',', (size_t)(v.p + v.len - c))) != NULL) {
			const char *c2 = memchr(comma, ':', (size_t)(v.p + v.len - comma));
			const char *e2 = memchr(comma, '}', (size_t)(v.p + v.len - comma));

			if (c2 != NULL) {
				bc.p = c + 1;
				bc.len = (size_t)(comma - c - 1);
				bs.p = c2 + 1;
				bs.len = e2 != NULL ? (size_t)(e2 - c2 - 1) :
					 (size_t)(v.p + v.len - c2 - 1);
				have_bytes = 1;
			}
		}
	}
	if (get(t, n, "client", &cl) && get(t, n, "server", &sv) && cl.len > 0) {
		endpoint(&b, "source", &cl, have_bytes ? &bc : NULL);
		endpoint(&b, "destination", &sv, have_bytes ? &bs : NULL);
		endpoint(&b, "client", &cl, have_bytes ? &bc : NULL);
		endpoint(&b, "server", &sv, have_bytes ? &bs : NULL);
	}
	PUTL(&b, ",\"network\":{\"transport\":\"tcp\",\"protocol\":\"imap\"");
	if (get(t, n, "community_id", &cid))
		member_str(&b, "community_id", &cid);
	PUTL(&b, "}");
	if (type == EV_SESSION_END) {
		if (get(t, n, "user", &v) && v.str) {
			PUTL(&b, ",\"user\":{\"name\":\"");
			put(&b, v.p, v.len);
			PUTL(&b, "\"}");
		}
		if (get(t, n, "tls", &v) && is(&v, "true"))
			PUTL(&b, ",\"tls\":{\"established\":true}");
	}
	if (type == EV_VIOLATION && get(t, n, "id", &v)) {
		PUTL(&b, ",\"rule\":{");
		PUTL(&b, "\"id\":\"");
		put(&b, v.p, v.len);
		PUTL(&b, "\"");
		if (get(t, n, "message", &v))
			member_str(&b, "name", &v);
		if (get(t, n, "category", &v))
			member_str(&b, "category", &v);
		if (get(t, n, "rfc", &v))
			member_str(&b, "reference", &v);
		PUTL(&b, "}");
	}
	PUTL(&b, ",\"imap\":");
	put(&b, t, n);
	PUTL(&b, "}");
	*buf_r = b.p;
	*cap_r = b.cap;
	*len_r = b.len;
	return b.failed ? -1 : 0;
}
