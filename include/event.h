/*
 * event.h - one output event, written as it is built.
 *
 * The session engine builds each event field by field with the writers
 * below, straight into compact JSON text: exactly the text json-c's
 * serializer gives for the same object with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE (tests/test_output.c proves it byte for
 * byte).  NDJSON output is that text plus a newline; the json document
 * and the text format read it back through json-c's parser.  Building
 * text rather than a json-c object tree saves a malloc and a hash insert
 * per field on the hot path, where every FETCH line is an event.
 *
 * Field order is the order of the calls; a key is written once (the
 * writers do not look back).  Every string value is made valid UTF-8 on
 * the way in: a byte that is not part of a valid sequence becomes the
 * four characters "\xNN" (upper-case hex).
 */
#ifndef IMT_EVENT_H
#define IMT_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imt_dir.h"

/* Every event type: the enum and the "type" string of the contract
 * (docs/output.md).  Append only. */
#define IMT_EVENT_TYPES(X)                     \
	X(EV_SESSION_START, "session_start")   \
	X(EV_GREETING, "greeting")             \
	X(EV_COMMAND, "command")               \
	X(EV_CONTINUATION, "continuation")     \
	X(EV_CLIENT_DATA, "client_data")       \
	X(EV_RESPONSE, "response")             \
	X(EV_RESULT, "result")                 \
	X(EV_STATE, "state")                   \
	X(EV_TLS, "tls")                       \
	X(EV_COMPRESS, "compress")             \
	X(EV_GAP, "gap")                       \
	X(EV_VIOLATION, "violation")           \
	X(EV_SESSION_END, "session_end")       \
	X(EV_TRANSACTION, "transaction")       \
	X(EV_MESSAGE, "message")

enum imt_event_type {
#define X(e, name) e,
	IMT_EVENT_TYPES(X)
#undef X
	EV__COUNT
};

/* Nesting of objects and arrays inside an event (the event itself is 1). */
#define EVENT_MAX_DEPTH 8

struct imt_event {
	enum imt_event_type type;
	int severity;        /* a violation's enum imt_severity; -1 otherwise */
	int muted;           /* not wanted by the output: nothing is written */
	int failed;          /* out of memory: the text is incomplete */
	char *text;          /* the JSON text so far (not NUL-terminated) */
	size_t len, cap;
	unsigned depth;      /* open objects and arrays, the event's own included */
	uint32_t has_member; /* bit d: depth d has a member already */
	uint32_t is_array;   /* bit d: depth d is an array */
};

/* The "type" string of t; "unknown" for a value out of range. */
const char *event_type_name(enum imt_event_type t);

/* Starts ev (text kept from an earlier event is reused) as an event of
 * the given type: writes "{".  A muted event takes every writer call and
 * writes nothing. */
void event_begin(struct imt_event *ev, enum imt_event_type type, int muted);

/* Closes every object and array still open.  Returns 0, or -1 when the
 * text could not be built (out of memory). */
int event_end(struct imt_event *ev);

/* Frees the text buffer; ev may be started again.  Accepts NULL. */
void event_release(struct imt_event *ev);

/*
 * Field writers.  key is a member name (plain ASCII that needs no
 * escaping, kept as given) inside an object, or NULL for an element of
 * an array.  The _k forms take the key's length; they and the short forms
 * are inline, so that a literal key's length is known when compiling and
 * the key is copied without a call.  What takes a loop is done out of
 * line by the event_put_*_() functions, which only these writers call.
 */

/* Makes room for n more bytes of text: 0, or -1 when out of memory
 * (ev has failed then). */
int event_grow_(struct imt_event *ev, size_t n);

/*
 * Starts a member: the comma, then "key": (objects) or nothing (arrays).
 * Returns 0 with room for `value` more bytes reserved, or -1 (a muted or
 * failed event, nothing open, out of memory): then nothing is written.
 */
static inline int event_member_(struct imt_event *ev, const char *key,
				size_t klen, size_t value)
{
	uint32_t bit = 1u << (ev->depth & 31);
	char *d;

	if (ev->depth == 0 || ev->muted || ev->failed)
		return -1;
	if (klen + 4 + value > ev->cap - ev->len &&
	    event_grow_(ev, klen + 4 + value) != 0)
		return -1;
	d = ev->text + ev->len;
	if (ev->has_member & bit)
		*d++ = ',';
	ev->has_member |= bit;
	if (!(ev->is_array & bit) && key != NULL) {
		*d++ = '"';
		memcpy(d, key, klen);
		d += klen;
		*d++ = '"';
		*d++ = ':';
	}
	ev->len = (size_t)(d - ev->text);
	return 0;
}

/* After event_member_(), in the room it reserved: a string (len * 6 + 3
 * bytes), a number (EVENT_NUMBER_MAX), a duration (EVENT_MS_MAX). */
void event_put_string_(struct imt_event *ev, const char *p, size_t len);
void event_put_number_(struct imt_event *ev, int neg, uint64_t mag);
void event_put_ms_(struct imt_event *ev, int64_t ns);

/* A sign and twenty digits. */
#define EVENT_NUMBER_MAX 21
/* A sign, thirteen digits, the point and six decimals. */
#define EVENT_MS_MAX 21

static inline void event_string_k(struct imt_event *ev, const char *key,
				  size_t klen, const char *p, size_t len)
{
	/* Worst case: every byte becomes six characters (\u00xx); the
	 * quotes, and one more for the string writer's last word. */
	if (len <= (SIZE_MAX - 16) / 6 &&
	    event_member_(ev, key, klen, len * 6 + 3) == 0)
		event_put_string_(ev, p != NULL ? p : "", p != NULL ? len : 0);
}

/* s is trusted text: printable ASCII with no '"' or '\\' (names from the
 * code's tables, timestamps, addresses).  Written without a scan. */
static inline void event_ascii_k(struct imt_event *ev, const char *key,
				 size_t klen, const char *s, size_t len)
{
	char *d;

	if (event_member_(ev, key, klen, len + 2) != 0)
		return;
	d = ev->text + ev->len;
	*d++ = '"';
	memcpy(d, s, len);
	d[len] = '"';
	ev->len += len + 2;
}

static inline void event_u64_k(struct imt_event *ev, const char *key,
			       size_t klen, uint64_t v)
{
	if (event_member_(ev, key, klen, EVENT_NUMBER_MAX) == 0)
		event_put_number_(ev, 0, v);
}

static inline void event_i64_k(struct imt_event *ev, const char *key,
			       size_t klen, int64_t v)
{
	if (event_member_(ev, key, klen, EVENT_NUMBER_MAX) == 0)
		event_put_number_(ev, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static inline void event_bool_k(struct imt_event *ev, const char *key,
				size_t klen, int v)
{
	if (event_member_(ev, key, klen, 5) != 0)
		return;
	memcpy(ev->text + ev->len, v ? "true" : "false", v ? 4 : 5);
	ev->len += v ? 4 : 5;
}

static inline void event_null_k(struct imt_event *ev, const char *key,
				size_t klen)
{
	if (event_member_(ev, key, klen, 4) != 0)
		return;
	memcpy(ev->text + ev->len, "null", 4);
	ev->len += 4;
}

/* A duration given in nanoseconds, written in milliseconds with six
 * decimals (0.030000): nanosecond resolution, no binary rounding. */
static inline void event_ms_k(struct imt_event *ev, const char *key,
			      size_t klen, int64_t ns)
{
	if (event_member_(ev, key, klen, EVENT_MS_MAX) == 0)
		event_put_ms_(ev, ns);
}

/* Opens a nested object or array under key; event_close() ends it. */
void event_open_k(struct imt_event *ev, const char *key, size_t klen, int array);
void event_close(struct imt_event *ev);
/* Members already written as JSON text ("a":1,"b":"x"), made by the
 * caller from trusted parts; appended as they are. */
void event_raw(struct imt_event *ev, const char *members, size_t len);

/* The members every event starts with, in this order: "ts", the
 * caller's members (trusted JSON text, as for event_raw), "type",
 * "frame", then "dir" and "offset" unless dir is IMT_DIR_NONE. */
struct event_head {
	const char *ts;          /* trusted text, as for event_ascii */
	size_t ts_len;
	const char *members;
	size_t members_len;
	uint64_t frame;
	enum imt_dir dir;        /* IMT_DIR_NONE: no dir and offset */
	uint64_t offset;
};

/* Writes h's members in one step (the common start of every event). */
void event_head(struct imt_event *ev, const struct event_head *h);

#define EVENT_KLEN(key) ((key) != NULL ? strlen(key) : 0)

static inline void event_string(struct imt_event *ev, const char *key,
				const char *p, size_t len)
{
	event_string_k(ev, key, EVENT_KLEN(key), p, len);
}

static inline void event_cstring(struct imt_event *ev, const char *key,
				 const char *s)
{
	event_string_k(ev, key, EVENT_KLEN(key), s, s != NULL ? strlen(s) : 0);
}

static inline void event_ascii(struct imt_event *ev, const char *key,
			       const char *s, size_t len)
{
	event_ascii_k(ev, key, EVENT_KLEN(key), s, len);
}

static inline void event_u64(struct imt_event *ev, const char *key, uint64_t v)
{
	event_u64_k(ev, key, EVENT_KLEN(key), v);
}

static inline void event_i64(struct imt_event *ev, const char *key, int64_t v)
{
	event_i64_k(ev, key, EVENT_KLEN(key), v);
}

static inline void event_bool(struct imt_event *ev, const char *key, int v)
{
	event_bool_k(ev, key, EVENT_KLEN(key), v);
}

static inline void event_null(struct imt_event *ev, const char *key)
{
	event_null_k(ev, key, EVENT_KLEN(key));
}

static inline void event_ms(struct imt_event *ev, const char *key, int64_t ns)
{
	event_ms_k(ev, key, EVENT_KLEN(key), ns);
}

static inline void event_object(struct imt_event *ev, const char *key)
{
	event_open_k(ev, key, EVENT_KLEN(key), 0);
}

static inline void event_array(struct imt_event *ev, const char *key)
{
	event_open_k(ev, key, EVENT_KLEN(key), 1);
}

#endif
