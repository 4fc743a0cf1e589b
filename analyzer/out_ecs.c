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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "out_int.h"

#define ECS_VERSION "9.4.0"

/* A string literal, its length known when compiling. */
#define PUTL(b, lit) out_buf_put((b), (lit), sizeof(lit) - 1)

static void puts_(struct out_buf *b, const char *s)
{
	out_buf_put(b, s, strlen(s));
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
	X(K_MESSAGE, "message") X(K_CATEGORY, "category") X(K_RFC, "rfc") \
	X(K_VERSION, "version") X(K_CIPHER, "cipher_suite") X(K_SNI, "sni") \
	X(K_RESUMED, "resumed") X(K_FROM, "from") X(K_TO, "to") X(K_CC, "cc") \
	X(K_SUBJECT, "subject") X(K_DATE, "date") X(K_MESSAGE_ID, "message_id") \
	X(K_CONTENT_TYPE, "content_type") X(K_ATTACHMENTS, "attachments") \
	X(K_FILENAME, "filename") X(K_SIZE, "size") X(K_SHA256, "sha256")

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

/* The end of the object or array that opens at q (just past its closing
 * bracket), or end when it is not closed. */
static const char *nested_end(const char *q, const char *end)
{
	size_t d = 0;
	const char *c;

	for (c = q; c < end; c++) {
		if (*c == '"' && (c = string_end(c, end)) == end)
			break;
		if (*c == '{' || *c == '[')
			d++;
		else if ((*c == '}' || *c == ']') && --d == 0)
			break;
	}
	return c < end ? c + 1 : end;
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
			c = nested_end(q, end);
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
	case EV_TLS:
		return w | KB(K_VERSION) | KB(K_CIPHER) | KB(K_SNI) | KB(K_RESUMED);
	case EV_MESSAGE:
		return w | KB(K_FROM) | KB(K_TO) | KB(K_CC) | KB(K_SUBJECT) |
		       KB(K_DATE) | KB(K_MESSAGE_ID) | KB(K_CONTENT_TYPE) |
		       KB(K_ATTACHMENTS);
	default:
		return w;
	}
}

static int is(const struct val *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}

static void member_str(struct out_buf *b, const char *key, const struct val *v)
{
	PUTL(b, ",\"");
	puts_(b, key);
	PUTL(b, "\":\"");
	out_buf_put(b, v->p, v->len);
	PUTL(b, "\"");
}

static void member_raw(struct out_buf *b, const char *key, const char *v, size_t len)
{
	PUTL(b, ",\"");
	puts_(b, key);
	PUTL(b, "\":");
	out_buf_put(b, v, len);
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
static void endpoint(struct out_buf *b, const char *key, const struct val *v,
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
	out_buf_put(b, h, hl);
	PUTL(b, "\",\"port\":");
	out_buf_put(b, colon + 1, (size_t)(v->p + v->len - colon - 1));
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

/* Starts the member key of an object whose members *n counts. */
static void obj_key(struct out_buf *b, int *n, const char *key)
{
	if ((*n)++ > 0)
		PUTL(b, ",");
	PUTL(b, "\"");
	puts_(b, key);
	PUTL(b, "\":");
}

static void obj_str(struct out_buf *b, int *n, const char *key, const struct val *v)
{
	obj_key(b, n, key);
	PUTL(b, "\"");
	out_buf_put(b, v->p, v->len);
	PUTL(b, "\"");
}

/* tls.*: what a tls event knows of the handshake.  "TLS 1.3" is
 * version_protocol "tls" and version "1.3", as ECS writes them. */
static void tls_fields(struct out_buf *b, const struct ecs_vals *r)
{
	struct val v;
	int n = 0;
	size_t mark = b->len;

	PUTL(b, ",\"tls\":{");
	if (get(r, K_CIPHER, &v) && v.str)
		obj_str(b, &n, "cipher", &v);
	if (get(r, K_SNI, &v) && v.str) {
		obj_key(b, &n, "client");
		PUTL(b, "{\"server_name\":\"");
		out_buf_put(b, v.p, v.len);
		PUTL(b, "\"}");
	}
	if (get(r, K_RESUMED, &v) && (is(&v, "true") || is(&v, "false"))) {
		obj_key(b, &n, "resumed");
		out_buf_put(b, v.p, v.len);
	}
	if (get(r, K_VERSION, &v) && v.str) {
		const char *sp = memchr(v.p, ' ', v.len);

		if (sp != NULL && sp > v.p && sp + 1 < v.p + v.len) {
			struct val num = { sp + 1, (size_t)(v.p + v.len - sp - 1), 1 };

			obj_str(b, &n, "version", &num);
			obj_key(b, &n, "version_protocol");
			PUTL(b, "\"");
			for (const char *c = v.p; c < sp; c++) {
				char l = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;

				out_buf_put(b, &l, 1);
			}
			PUTL(b, "\"");
		}
	}
	if (n == 0)
		b->len = mark;
	else
		PUTL(b, "}");
}

/* The addresses of an address-list header value (decoded text, escaped
 * as the event wrote it) as JSON strings, comma-separated: of each
 * mailbox, the part in angle brackets, else the mailbox itself (after a
 * group's "name:", before a comment), when it holds an '@'.  Commas in
 * quoted names and comments do not separate.  Returns how many. */
static int put_addresses(struct out_buf *b, const struct val *v)
{
	const char *p = v->p, *end = v->p + v->len;
	int count = 0;

	while (p < end) {
		const char *s = p, *lt = NULL, *gt = NULL, *a, *e;
		int quoted = 0, paren = 0;

		for (; p < end; p++) {
			if (*p == '\\') {
				/* An escape of the JSON text: \" is a quote. */
				if (p + 1 < end && p[1] == '"')
					quoted = !quoted;
				p++;
			} else if (quoted) {
				continue;
			} else if (*p == '(') {
				paren++;
			} else if (*p == ')' && paren > 0) {
				paren--;
			} else if (paren > 0) {
				continue;
			} else if (*p == '<' && lt == NULL) {
				lt = p;
			} else if (*p == '>' && lt != NULL && gt == NULL) {
				gt = p;
			} else if ((*p == ',' || *p == ';') && (lt == NULL || gt != NULL)) {
				break;
			}
		}
		if (p > end)
			p = end;
		if (lt != NULL && gt != NULL) {
			a = lt + 1;
			e = gt;
		} else {
			const char *colon = NULL;

			for (a = s; a < p; a++)
				if (*a == ':')
					colon = a;
			a = colon != NULL ? colon + 1 : s;
			while (a < p && *a == ' ')
				a++;
			for (e = a; e < p && *e != ' ' && *e != '('; e++)
				;
		}
		if (e > a && memchr(a, '@', (size_t)(e - a)) != NULL &&
		    memchr(a, ' ', (size_t)(e - a)) == NULL &&
		    memchr(a, '\\', (size_t)(e - a)) == NULL) {
			if (count++ > 0)
				PUTL(b, ",");
			PUTL(b, "\"");
			out_buf_put(b, a, (size_t)(e - a));
			PUTL(b, "\"");
		}
		p++;
	}
	return count;
}

/* "email":{key:{"address":[...]}} for an address-list header, when it
 * has an address. */
static void address_member(struct out_buf *b, int *n, const char *key,
			   const struct val *v)
{
	size_t mark = b->len;
	int had = *n;

	obj_key(b, n, key);
	PUTL(b, "{\"address\":[");
	if (put_addresses(b, v) == 0) {
		b->len = mark;
		*n = had;
		return;
	}
	PUTL(b, "]}");
}

/* An RFC 5322 date-time ("Tue, 12 Mar 2024 10:00:00 +0100"; the day name
 * and the seconds optional, two-digit years and the zone names of RFC
 * 5322 4.3 accepted) as ISO 8601 with its offset
 * ("2024-03-12T10:00:00+01:00") in out (size bytes, 32 at least).
 * Returns its length, or 0 when v is not such a date. */
static size_t rfc5322_date(const struct val *v, char *out, size_t size)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const struct { const char *name; int minutes; } zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 }, { "EDT", -240 },
		{ "CST", -360 }, { "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	char t[64], mon[4], zone[6];
	const char *p = t, *m;
	unsigned d, y, hh, mm, ss = 0, mi;
	int used = 0, off = 1 << 30;
	size_t o;

	if (v->len >= sizeof(t) || size < 32)
		return 0;
	memcpy(t, v->p, v->len);
	t[v->len] = '\0';
	while (*p == ' ')
		p++;
	if (((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) &&
	    (m = strchr(p, ',')) != NULL && m - p <= 3)
		p = m + 1;
	if (sscanf(p, " %2u %3[A-Za-z] %4u %2u:%2u%n", &d, mon, &y, &hh, &mm, &used) != 5)
		return 0;
	p += used;
	if (*p == ':') {
		used = 0;
		if (sscanf(p, ":%2u%n", &ss, &used) != 1)
			return 0;
		p += used;
	}
	while (*p == ' ')
		p++;
	if ((*p == '+' || *p == '-') && strspn(p + 1, "0123456789") >= 4) {
		int z = (p[1] - '0') * 10 + (p[2] - '0'), zm = (p[3] - '0') * 10 + (p[4] - '0');

		if (zm < 60)
			off = (*p == '-' ? -1 : 1) * (z * 60 + zm);
		p += 5;
	} else if (sscanf(p, "%5[A-Za-z]%n", zone, &used) == 1) {
		for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
			if (strcasecmp(zone, zones[i].name) == 0)
				off = zones[i].minutes;
		p += used;
	}
	while (*p == ' ')
		p++;
	if (off == 1 << 30 || (*p != '\0' && *p != '('))
		return 0;
	for (mi = 0; mi < 12; mi++)
		if (strncasecmp(mon, months + 3 * mi, 3) == 0 && strlen(mon) == 3)
			break;
	if (y < 50)
		y += 2000;
	else if (y < 1000)
		y += 1900;
	if (mi == 12 || d == 0 || d > mdays[mi] || hh > 23 || mm > 59 || ss > 59 ||
	    (mi == 1 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return 0;
	o = (size_t)snprintf(out, size, "%04u-%02u-%02uT%02u:%02u:%02u%c%02d:%02d",
			     y, mi + 1, d, hh, mm, ss, off < 0 ? '-' : '+',
			     (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	return o < size ? o : 0;
}

/* email.*: a message event's headers and attachments. */
static void email_fields(struct out_buf *b, const struct ecs_vals *r)
{
	struct val v;
	int n = 0;
	char date[40];
	size_t dl, mark = b->len;

	PUTL(b, ",\"email\":{");
	if (get(r, K_FROM, &v) && v.str)
		address_member(b, &n, "from", &v);
	if (get(r, K_TO, &v) && v.str)
		address_member(b, &n, "to", &v);
	if (get(r, K_CC, &v) && v.str)
		address_member(b, &n, "cc", &v);
	if (get(r, K_SUBJECT, &v) && v.str)
		obj_str(b, &n, "subject", &v);
	if (get(r, K_MESSAGE_ID, &v) && v.str)
		obj_str(b, &n, "message_id", &v);
	if (get(r, K_DATE, &v) && v.str && (dl = rfc5322_date(&v, date, sizeof(date))) > 0) {
		struct val d = { date, dl, 1 };

		obj_str(b, &n, "origination_timestamp", &d);
	}
	if (get(r, K_CONTENT_TYPE, &v) && v.str)
		obj_str(b, &n, "content_type", &v);
	if (get(r, K_ATTACHMENTS, &v) && v.len > 2 && v.p[0] == '[') {
		const char *c = v.p + 1, *end = v.p + v.len;
		int k = 0;

		obj_key(b, &n, "attachments");
		PUTL(b, "[");
		while (c < end && *c == '{') {
			const char *e = nested_end(c, end);
			struct ecs_vals a;
			struct val f;
			int m = 0;

			scan_members(c, (size_t)(e - c), KB(K_FILENAME) | KB(K_CONTENT_TYPE) |
				     KB(K_SIZE) | KB(K_SHA256), &a);
			if (k++ > 0)
				PUTL(b, ",");
			PUTL(b, "{\"file\":{");
			if (get(&a, K_FILENAME, &f) && f.str)
				obj_str(b, &m, "name", &f);
			if (get(&a, K_CONTENT_TYPE, &f) && f.str)
				obj_str(b, &m, "mime_type", &f);
			if (get(&a, K_SIZE, &f) && !f.str) {
				obj_key(b, &m, "size");
				out_buf_put(b, f.p, f.len);
			}
			if (get(&a, K_SHA256, &f) && f.str) {
				obj_key(b, &m, "hash");
				PUTL(b, "{\"sha256\":\"");
				out_buf_put(b, f.p, f.len);
				PUTL(b, "\"}");
			}
			PUTL(b, "}}");
			c = e;
			if (c < end && *c == ',')
				c++;
		}
		PUTL(b, "]");
	}
	if (n == 0)
		b->len = mark;
	else
		PUTL(b, "}");
}

int out_ecs_line(const struct imt_event *ev, char **buf_r, size_t *cap_r,
		 size_t *len_r)
{
	struct out_buf b = { *buf_r, 0, *cap_r, 0 };
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
		out_buf_put(&b, ts.p, ts.len);
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
			out_buf_put(&b, v.p, v.len);
			PUTL(&b, "\"}");
		}
		if (get(&r, K_TLS, &v) && is(&v, "true"))
			PUTL(&b, ",\"tls\":{\"established\":true}");
	}
	if (type == EV_TLS)
		tls_fields(&b, &r);
	if (type == EV_MESSAGE)
		email_fields(&b, &r);
	if (type == EV_VIOLATION && get(&r, K_ID, &v)) {
		PUTL(&b, ",\"rule\":{");
		PUTL(&b, "\"id\":\"");
		out_buf_put(&b, v.p, v.len);
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
	out_buf_put(&b, t, n);
	PUTL(&b, "}");
	*buf_r = b.p;
	*cap_r = b.cap;
	*len_r = b.len;
	return b.failed ? -1 : 0;
}
