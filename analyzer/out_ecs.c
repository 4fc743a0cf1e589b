/*
 * out_ecs.c - the ecs format: every event as an Elastic Common Schema
 * document, one per line.
 *
 * The document is the ECS head followed by the native event, as it is,
 * under "imap":
 *
 *   {"@timestamp":..,"ecs":{..},"event":{..},"source":{..},..,"imap":{native}}
 *
 * The head is made from the native text without a JSON parser: one pass
 * over the event's top-level members (scan_members) keeps the values of
 * the few keys the head needs, and stops once the keys its event type
 * uses are all seen (the common members come first); nested objects and
 * strings are stepped over whole (memchr to each quote), so a key inside
 * them is never taken.  String values are copied as they are written
 * (already escaped).
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
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
	if (mem_grow(&b->p, &b->cap, b->len + n, 1, 1024, SIZE_MAX) != 0) {
		b->failed = 1;
		return;
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

/* The top-level members the head reads. */
#define ECS_KEYS(X) \
	X(K_TS, "ts") X(K_CLIENT, "client") X(K_SERVER, "server") \
	X(K_COMMUNITY_ID, "community_id") X(K_ID, "id") X(K_COMMAND, "command") \
	X(K_STATUS, "status") X(K_LATENCY, "latency_ms") \
	X(K_DURATION, "duration_ms") X(K_SEVERITY, "severity") \
	X(K_BYTES, "bytes") X(K_USER, "user") X(K_TLS, "tls") \
	X(K_MESSAGE, "message") X(K_CATEGORY, "category") X(K_RFC, "rfc")

enum ecs_key {
#define ECS_KEY_ENUM(e, name) e,
	ECS_KEYS(ECS_KEY_ENUM)
#undef ECS_KEY_ENUM
	K__COUNT
};

static const struct { const char *name; size_t len; } ecs_key_names[K__COUNT] = {
#define ECS_KEY_NAME(e, name) [e] = { name, sizeof(name) - 1 },
	ECS_KEYS(ECS_KEY_NAME)
#undef ECS_KEY_NAME
};

/* The values of those members in one event: v[k] is set where bit k of
 * `have` is (a member that is null, or a string left open, has none). */
struct ecs_vals {
	struct val v[K__COUNT];
	uint32_t have, seen;
};

/* The end of the string whose opening quote is at q (its closing quote),
 * or end when it is not closed.  memchr finds each candidate quote; one
 * preceded by an odd run of backslashes is escaped. */
static const char *string_end(const char *q, const char *end)
{
	for (q++; q < end; q++) {
		const char *b;

		q = memchr(q, '"', (size_t)(end - q));
		if (q == NULL)
			return end;
		for (b = q; b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q;
	}
	return end;
}

/* Reads the event text t[0..n) member by member at the top level and
 * keeps the first value of each key of ECS_KEYS, up to where every key
 * of `want` (bit k: key k) has been seen: the rest of the text is not
 * read.  Keys are plain ASCII written by the event writer, never
 * escaped. */
static void scan_members(const char *t, size_t n, uint32_t want,
			 struct ecs_vals *r)
{
	const char *c = t + 1, *end = t + n;

	r->have = r->seen = 0;
	while (c < end && *c == '"' && (r->seen & want) != want) {
		const char *ks = c + 1, *ke = string_end(c, end), *q;
		struct val v = { NULL, 0, 0 };
		int ok;

		if (ke + 1 >= end || ke[1] != ':')
			return;
		q = ke + 2;
		if (q < end && *q == '"') {
			c = string_end(q, end);
			v.p = q + 1;
			v.len = (size_t)(c - q - 1);
			v.str = 1;
			ok = c < end;
			if (c < end)
				c++;
		} else if (q < end && (*q == '{' || *q == '[')) {
			size_t d = 0;

			for (c = q; c < end; c++) {
				if (*c == '"' && (c = string_end(c, end)) == end)
					break;
				if (*c == '{' || *c == '[')
					d++;
				else if ((*c == '}' || *c == ']') && --d == 0)
					break;
			}
			if (c < end)
				c++;
			v.p = q;
			v.len = (size_t)(c - q);
			ok = v.len > 0;
		} else {
			for (c = q; c < end && *c != ',' && *c != '}'; c++)
				;
			v.p = q;
			v.len = (size_t)(c - q);
			ok = v.len > 0 && !(v.len == 4 && memcmp(q, "null", 4) == 0);
		}
		for (int k = 0; k < K__COUNT; k++) {
			if (ecs_key_names[k].len != (size_t)(ke - ks) ||
			    memcmp(ecs_key_names[k].name, ks, (size_t)(ke - ks)) != 0 ||
			    (r->seen & (1u << k)))
				continue;
			r->seen |= 1u << k;
			if (ok) {
				r->v[k] = v;
				r->have |= 1u << k;
			}
			break;
		}
		if (c < end && *c == ',')
			c++;
	}
}

/* The value of member k, or 0 when the event has none. */
static int get(const struct ecs_vals *r, enum ecs_key k, struct val *v)
{
	if (!(r->have & (1u << k)))
		return 0;
	*v = r->v[k];
	return 1;
}

#define KB(k) (1u << (k))

/* The keys the document of an event of this type reads. */
static uint32_t want_keys(enum imt_event_type type)
{
	uint32_t w = KB(K_TS) | KB(K_CLIENT) | KB(K_SERVER) | KB(K_COMMUNITY_ID);

	switch (type) {
	case EV_VIOLATION:
		return w | KB(K_ID) | KB(K_SEVERITY) | KB(K_MESSAGE) |
		       KB(K_CATEGORY) | KB(K_RFC);
	case EV_COMMAND:
		return w | KB(K_COMMAND);
	case EV_RESULT:
		return w | KB(K_COMMAND) | KB(K_STATUS) | KB(K_LATENCY);
	case EV_TRANSACTION:
		return w | KB(K_COMMAND) | KB(K_STATUS) | KB(K_LATENCY) | KB(K_BYTES);
	case EV_SESSION_END:
		return w | KB(K_DURATION) | KB(K_BYTES) | KB(K_USER) | KB(K_TLS);
	default:
		return w;
	}
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
	struct ecs_vals r;

	scan_members(t, n, want_keys(type), &r);

	PUTL(&b, "{\"@timestamp\":\"");
	if (get(&r, K_TS, &ts))
		put(&b, ts.p, ts.len);
	PUTL(&b, "\",\"ecs\":{\"version\":\"" ECS_VERSION "\"}");
	/* event */
	PUTL(&b, ",\"event\":{\"kind\":\"");
	puts_(&b, type == EV_VIOLATION ? "alert" : "event");
	PUTL(&b, "\",\"category\":[\"network\"],\"type\":[\"");
	puts_(&b, type == EV_SESSION_START ? "start" : type == EV_SESSION_END ? "end" :
		  type == EV_VIOLATION ? "info" : "protocol");
	PUTL(&b, "\"]");
	if (type == EV_VIOLATION && get(&r, K_ID, &v))
		member_str(&b, "action", &v);
	else if ((type == EV_COMMAND || type == EV_RESULT || type == EV_TRANSACTION) &&
		 get(&r, K_COMMAND, &v))
		member_str(&b, "action", &v);
	else {
		member_raw(&b, "action", "\"", sizeof("\"") - 1);
		puts_(&b, event_type_name(type));
		PUTL(&b, "\"");
	}
	if (type == EV_RESULT || type == EV_TRANSACTION) {
		have_st = get(&r, K_STATUS, &st);
		member_raw(&b, "outcome", "\"", sizeof("\"") - 1);
		puts_(&b, outcome(&st, have_st));
		PUTL(&b, "\"");
		if (get(&r, K_LATENCY, &v))
			nsl = ms_to_ns(&v, ns, sizeof(ns));
	} else if (type == EV_SESSION_END && get(&r, K_DURATION, &v)) {
		nsl = ms_to_ns(&v, ns, sizeof(ns));
	}
	if (nsl > 0)
		member_raw(&b, "duration", ns, nsl);
	if (type == EV_TRANSACTION)
		PUTL(&b, ",\"dataset\":\"imaptrace.transaction\"");
	else
		PUTL(&b, ",\"dataset\":\"imaptrace.event\"");
	member_raw(&b, "module", "\"imaptrace\"", sizeof("\"imaptrace\"") - 1);
	if (type == EV_VIOLATION && get(&r, K_SEVERITY, &v)) {
		const char *sev = is(&v, "info") ? "1" : is(&v, "low") ? "2" :
				  is(&v, "medium") ? "3" : "4";

		member_raw(&b, "severity", sev, 1);
	}
	PUTL(&b, "}");
	/* endpoints */
	if ((type == EV_SESSION_END || type == EV_TRANSACTION) && get(&r, K_BYTES, &v)) {
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
	if (get(&r, K_CLIENT, &cl) && get(&r, K_SERVER, &sv) && cl.len > 0) {
		endpoint(&b, "source", &cl, have_bytes ? &bc : NULL);
		endpoint(&b, "destination", &sv, have_bytes ? &bs : NULL);
		endpoint(&b, "client", &cl, have_bytes ? &bc : NULL);
		endpoint(&b, "server", &sv, have_bytes ? &bs : NULL);
	}
	PUTL(&b, ",\"network\":{\"transport\":\"tcp\",\"protocol\":\"imap\"");
	if (get(&r, K_COMMUNITY_ID, &cid))
		member_str(&b, "community_id", &cid);
	PUTL(&b, "}");
	if (type == EV_SESSION_END) {
		if (get(&r, K_USER, &v) && v.str) {
			PUTL(&b, ",\"user\":{\"name\":\"");
			put(&b, v.p, v.len);
			PUTL(&b, "\"}");
		}
		if (get(&r, K_TLS, &v) && is(&v, "true"))
			PUTL(&b, ",\"tls\":{\"established\":true}");
	}
	if (type == EV_VIOLATION && get(&r, K_ID, &v)) {
		PUTL(&b, ",\"rule\":{");
		PUTL(&b, "\"id\":\"");
		put(&b, v.p, v.len);
		PUTL(&b, "\"");
		if (get(&r, K_MESSAGE, &v))
			member_str(&b, "name", &v);
		if (get(&r, K_CATEGORY, &v))
			member_str(&b, "category", &v);
		if (get(&r, K_RFC, &v))
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
