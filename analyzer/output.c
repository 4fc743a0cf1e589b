/*
 * output.c - writing events.  NDJSON goes straight out in capture order;
 * the json document and the text summaries need the whole capture, so
 * they keep what they need until out_finish().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/*
 * NDJSON is written by the walker below rather than by
 * json_object_to_json_string_length(): json-c formats every number with
 * snprintf, escapes strings byte by byte through a printbuf and keeps a
 * printbuf per serialized object, which made up a third of the run time
 * on large captures.  The walker writes exactly json-c's PLAIN |
 * NOSLASHESCAPE text (the golden outputs compare byte for byte) and
 * hands anything it does not know (a double without its text, an
 * unsigned past INT64_MAX) to json-c.
 */
struct jbuf {
	char *p;
	size_t len, cap;
	int failed;
};

struct output {
	FILE *fp;
	struct out_options opt;
	int max_sev;
	int write_error;
	struct json_object *captures;   /* json: array of capture records */
	struct json_object *sessions;   /* json: array of session objects */
	struct json_object *by_id;      /* json: session id -> its object */
	struct json_object *totals;
	struct json_object *summaries;  /* text: session_end events */
	struct jbuf nd;                 /* ndjson: the line being written */
};

int out_format_parse(const char *name, enum out_format *fmt_r)
{
	if (strcmp(name, "ndjson") == 0)
		*fmt_r = OUT_NDJSON;
	else if (strcmp(name, "json") == 0)
		*fmt_r = OUT_JSON;
	else if (strcmp(name, "text") == 0)
		*fmt_r = OUT_TEXT;
	else
		return -1;
	return 0;
}

struct output *out_new(FILE *fp, const struct out_options *opt)
{
	struct output *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->fp = fp;
	o->opt = *opt;
	o->max_sev = -1;
	o->captures = json_object_new_array();
	o->sessions = json_object_new_array();
	o->by_id = json_object_new_object();
	o->totals = json_object_new_object();
	o->summaries = json_object_new_array();
	return o;
}

void out_free(struct output *o)
{
	if (o == NULL)
		return;
	json_object_put(o->captures);
	json_object_put(o->sessions);
	json_object_put(o->by_id);
	json_object_put(o->totals);
	json_object_put(o->summaries);
	free(o->nd.p);
	free(o);
}

static const char *get_str(struct json_object *ev, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static int severity_of(struct json_object *ev)
{
	const char *s = get_str(ev, "severity");
	enum imt_severity sev;

	if (s == NULL || imt_severity_parse(s, &sev) != 0)
		return -1;
	return (int)sev;
}

static int wanted(const struct output *o, const char *type)
{
	if (o->opt.summary)
		return strcmp(type, "session_end") == 0;
	if (o->opt.violations_only)
		return strcmp(type, "violation") == 0 ||
		       strcmp(type, "session_start") == 0 ||
		       strcmp(type, "session_end") == 0;
	return 1;
}

static int jb_grow(struct jbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Makes room for n more bytes; 0, or -1 when out of memory. */
static inline int jb_need(struct jbuf *b, size_t n)
{
	if (n <= b->cap - b->len)
		return 0;
	return jb_grow(b, n);
}

static inline void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (jb_need(b, n) == 0) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

static inline void jb_char(struct jbuf *b, char c)
{
	if (jb_need(b, 1) == 0)
		b->p[b->len++] = c;
}

/* Bytes json-c escapes (PLAIN | NOSLASHESCAPE): controls, '"', '\\'. */
static int jb_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

static void jb_string(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	/* Worst case: every byte becomes \u00XX. */
	if (jb_need(b, n * 6 + 2) != 0)
		return;
	b->p[b->len++] = '"';
	while (i < n) {
		size_t run = i;
		unsigned char c;
		char *d = b->p + b->len;

		/* Copied as it is scanned: most strings need no escape. */
		while (run < n && jb_plain((unsigned char)s[run]))
			*d++ = s[run++];
		b->len += run - i;
		if (run == n)
			break;
		c = (unsigned char)s[run];
		b->p[b->len++] = '\\';
		switch (c) {
		case '\b': b->p[b->len++] = 'b'; break;
		case '\n': b->p[b->len++] = 'n'; break;
		case '\r': b->p[b->len++] = 'r'; break;
		case '\t': b->p[b->len++] = 't'; break;
		case '\f': b->p[b->len++] = 'f'; break;
		case '"': b->p[b->len++] = '"'; break;
		case '\\': b->p[b->len++] = '\\'; break;
		default:
			memcpy(b->p + b->len, "u00", 3);
			b->len += 3;
			b->p[b->len++] = hex[c >> 4];
			b->p[b->len++] = hex[c & 0xf];
			break;
		}
		i = run + 1;
	}
	b->p[b->len++] = '"';
}

static void jb_int(struct jbuf *b, int64_t v)
{
	char d[24];
	size_t n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		d[sizeof(d) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[sizeof(d) - 1 - n++] = '-';
	jb_put(b, d + sizeof(d) - n, n);
}

/* json-c's own text of v, for the rare values the walker leaves to it. */
static void jb_jsonc(struct jbuf *b, struct json_object *v)
{
	size_t n;
	const char *s = json_object_to_json_string_length(v,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (s == NULL)
		b->failed = 1;
	else
		jb_put(b, s, n);
}

static void jb_value(struct jbuf *b, struct json_object *v)
{
	int first = 1;

	switch (json_object_get_type(v)) {
	case json_type_null:
		jb_put(b, "null", 4);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(v))
			jb_put(b, "true", 4);
		else
			jb_put(b, "false", 5);
		break;
	case json_type_int: {
		int64_t i = json_object_get_int64(v);

		/* INT64_MAX may stand for a larger unsigned value. */
		if (i == INT64_MAX)
			jb_jsonc(b, v);
		else
			jb_int(b, i);
		break;
	}
	case json_type_double: {
		/* json_object_new_double_s() keeps its text as user data. */
		const char *t = json_object_get_userdata(v);

		if (t != NULL)
			jb_put(b, t, strlen(t));
		else
			jb_jsonc(b, v);
		break;
	}
	case json_type_string:
		jb_string(b, json_object_get_string(v),
			  (size_t)json_object_get_string_len(v));
		break;
	case json_type_object:
		jb_char(b, '{');
		json_object_object_foreach(v, key, val) {
			if (!first)
				jb_char(b, ',');
			first = 0;
			jb_string(b, key, strlen(key));
			jb_char(b, ':');
			jb_value(b, val);
		}
		jb_char(b, '}');
		break;
	case json_type_array: {
		size_t n = json_object_array_length(v);

		jb_put(b, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				jb_put(b, ",", 1);
			jb_value(b, json_object_array_get_idx(v, i));
		}
		jb_put(b, "]", 1);
		break;
	}
	}
}

static void put_ndjson(struct output *o, struct json_object *ev)
{
	struct jbuf *b = &o->nd;

	b->len = 0;
	jb_value(b, ev);
	jb_put(b, "\n", 1);
	if (b->failed) {
		o->write_error = 1;
		errno = ENOMEM;
		b->failed = 0;
		return;
	}
	if (fwrite(b->p, 1, b->len, o->fp) != b->len)
		o->write_error = 1;
	/* A huge event should not pin its buffer for the rest of the run. */
	if (b->cap > (1u << 20)) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

/* json: events go into their session's timeline. */
static void keep_json(struct output *o, struct json_object *ev)
{
	const char *id = get_str(ev, "session");
	const char *type = get_str(ev, "type");
	struct json_object *sess, *timeline;

	if (id == NULL)
		id = "0";
	if (!json_object_object_get_ex(o->by_id, id, &sess)) {
		sess = json_object_new_object();
		json_object_object_add(sess, "session",
				       json_object_get(json_object_object_get(ev, "session")));
		json_object_object_add(sess, "client",
				       json_object_get(json_object_object_get(ev, "client")));
		json_object_object_add(sess, "server",
				       json_object_get(json_object_object_get(ev, "server")));
		json_object_object_add(sess, "timeline", json_object_new_array());
		json_object_array_add(o->sessions, sess);
		json_object_object_add(o->by_id, id, json_object_get(sess));
	}
	if (type != NULL && strcmp(type, "session_end") == 0)
		json_object_object_add(sess, "summary", json_object_get(ev));
	timeline = json_object_object_get(sess, "timeline");
	json_object_array_add(timeline, ev);
}

/* ---- text ---------------------------------------------------------------- */

/* Appends fmt with v to buf at *o, never past size; nothing if v is NULL. */
static void text_put(char *buf, size_t size, size_t *o, const char *fmt,
		     const char *v)
{
	if (v != NULL && *o < size) {
		int n = snprintf(buf + *o, size - *o, fmt, v);

		if (n > 0)
			*o += (size_t)n < size - *o ? (size_t)n : size - *o - 1;
	}
}

static void text_field(struct json_object *ev, const char *key, char *buf,
		       size_t size, size_t *o, const char *fmt)
{
	text_put(buf, size, o, fmt, get_str(ev, key));
}

/* Milliseconds for people: to the microsecond. */
static void text_ms(struct json_object *ev, const char *key, char *buf,
		    size_t size, size_t *o, const char *fmt)
{
	struct json_object *v;
	char num[32];

	if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
		return;
	snprintf(num, sizeof(num), "%.3f", json_object_get_double(v));
	text_put(buf, size, o, fmt, num);
}

static void text_code(struct json_object *ev, char *buf, size_t size, size_t *o)
{
	if (get_str(ev, "code") == NULL)
		return;
	text_field(ev, "code", buf, size, o, "[%s");
	text_field(ev, "code_args", buf, size, o, " %s");
	if (*o + 2 < size) {
		memcpy(buf + *o, "] ", 3);
		*o += 2;
	}
}

static void put_text(struct output *o, struct json_object *ev)
{
	const char *type = get_str(ev, "type");
	const char *dir = get_str(ev, "dir");
	const char *ts = get_str(ev, "ts");
	const char *arrow = dir == NULL ? "  " : strcmp(dir, "c2s") == 0 ? "C>" : "<S";
	char what[1200];
	size_t w = 0;
	int sev = severity_of(ev);

	what[0] = '\0';
	if (strcmp(type, "command") == 0) {
		text_field(ev, "tag", what, sizeof(what), &w, "%s ");
		text_field(ev, "command", what, sizeof(what), &w, "%s ");
		text_field(ev, "args", what, sizeof(what), &w, "%s");
	} else if (strcmp(type, "result") == 0) {
		text_field(ev, "tag", what, sizeof(what), &w, "%s ");
		text_field(ev, "status", what, sizeof(what), &w, "%s ");
		text_code(ev, what, sizeof(what), &w);
		text_field(ev, "text", what, sizeof(what), &w, "%s");
		text_field(ev, "command", what, sizeof(what), &w, "  (%s");
		text_ms(ev, "latency_ms", what, sizeof(what), &w, " %s ms)");
	} else if (strcmp(type, "response") == 0) {
		what[w++] = '*';
		what[w++] = ' ';
		what[w] = '\0';
		text_field(ev, "number", what, sizeof(what), &w, "%s ");
		text_field(ev, "name", what, sizeof(what), &w, "%s ");
		text_code(ev, what, sizeof(what), &w);
		text_field(ev, "text", what, sizeof(what), &w, "%s");
		text_field(ev, "data", what, sizeof(what), &w, "%s");
	} else if (strcmp(type, "violation") == 0) {
		text_field(ev, "severity", what, sizeof(what), &w, "!! %s ");
		text_field(ev, "id", what, sizeof(what), &w, "%s: ");
		text_field(ev, "message", what, sizeof(what), &w, "%s");
		text_field(ev, "tag", what, sizeof(what), &w, " (tag %s)");
		text_field(ev, "detail", what, sizeof(what), &w, " -- %s");
	} else if (strcmp(type, "greeting") == 0) {
		text_field(ev, "status", what, sizeof(what), &w, "greeting %s ");
		text_field(ev, "text", what, sizeof(what), &w, "%s");
	} else if (strcmp(type, "continuation") == 0) {
		text_field(ev, "text", what, sizeof(what), &w, "+ %s");
		text_field(ev, "for", what, sizeof(what), &w, "  (for %s)");
	} else if (strcmp(type, "client_data") == 0) {
		text_field(ev, "kind", what, sizeof(what), &w, "[%s] ");
		text_field(ev, "text", what, sizeof(what), &w, "%s");
	} else if (strcmp(type, "state") == 0) {
		text_field(ev, "from", what, sizeof(what), &w, "state %s");
		text_field(ev, "to", what, sizeof(what), &w, " -> %s");
		text_field(ev, "cause", what, sizeof(what), &w, " (%s)");
	} else if (strcmp(type, "gap") == 0) {
		text_field(ev, "bytes", what, sizeof(what), &w, "gap of %s bytes");
		text_field(ev, "resync", what, sizeof(what), &w, ", resync %s");
	} else if (strcmp(type, "session_start") == 0) {
		text_field(ev, "client", what, sizeof(what), &w, "session %s");
		text_field(ev, "server", what, sizeof(what), &w, " -> %s");
		text_field(ev, "port_guess", what, sizeof(what), &w, " (by %s)");
		if (json_object_get_boolean(json_object_object_get(ev, "midstream")))
			text_field(ev, "type", what, sizeof(what), &w, " mid-stream");
	} else if (strcmp(type, "session_end") == 0) {
		text_field(ev, "reason", what, sizeof(what), &w, "end (%s)");
		text_field(ev, "state", what, sizeof(what), &w, " in state %s");
		text_ms(ev, "duration_ms", what, sizeof(what), &w, " after %s ms");
	} else {
		snprintf(what + w, sizeof(what) - w, "%s", type);
		w += strlen(what + w);
		text_field(ev, "after_tag", what, sizeof(what), &w, " (after %s)");
	}
	if (fprintf(o->fp, "%-27s #%-3s %-7s %s %s%s%s\n", ts != NULL ? ts : "",
		    get_str(ev, "session"), get_str(ev, "frame"), arrow,
		    sev >= 0 && o->opt.color ? "\033[1;31m" : "", what,
		    sev >= 0 && o->opt.color ? "\033[0m" : "") < 0)
		o->write_error = 1;
}

static void text_summaries(struct output *o)
{
	size_t n = json_object_array_length(o->summaries);

	if (n > 0)
		fprintf(o->fp, "\nSessions\n");
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(o->summaries, i);
		struct json_object *b = json_object_object_get(ev, "bytes");
		struct json_object *r = json_object_object_get(ev, "results");
		struct json_object *v = json_object_object_get(ev, "violations");

		fprintf(o->fp,
			"  #%s %s -> %s  user %s  state %s  end %s  %.3f ms\n"
			"      bytes c2s %s s2c %s  commands %s  OK %s NO %s BAD %s  unanswered %s\n"
			"      findings high %s medium %s low %s info %s  history %s\n",
			get_str(ev, "session"), get_str(ev, "client"), get_str(ev, "server"),
			get_str(ev, "user") ? get_str(ev, "user") : "-",
			get_str(ev, "state"), get_str(ev, "reason"),
			json_object_get_double(json_object_object_get(ev, "duration_ms")),
			get_str(b, "c2s"), get_str(b, "s2c"), get_str(ev, "commands"),
			get_str(r, "OK"), get_str(r, "NO"), get_str(r, "BAD"),
			get_str(ev, "unanswered"),
			get_str(v, "high"), get_str(v, "medium"), get_str(v, "low"),
			get_str(v, "info"), get_str(ev, "history"));
	}
}

int out_event(struct output *o, struct json_object *ev)
{
	const char *type = get_str(ev, "type");
	int sev = severity_of(ev);

	if (sev > o->max_sev)
		o->max_sev = sev;
	if (type == NULL || !wanted(o, type)) {
		json_object_put(ev);
		return 0;
	}
	switch (o->opt.format) {
	case OUT_NDJSON:
		put_ndjson(o, ev);
		json_object_put(ev);
		break;
	case OUT_JSON:
		keep_json(o, ev);
		break;
	case OUT_TEXT:
		if (strcmp(type, "session_end") == 0)
			json_object_array_add(o->summaries, json_object_get(ev));
		if (!o->opt.summary)
			put_text(o, ev);
		json_object_put(ev);
		break;
	}
	if (o->write_error) {
		errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

void out_capture(struct output *o, const char *path, const char *error)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "file", json_object_new_string(path));
	if (error != NULL)
		json_object_object_add(c, "error", json_object_new_string(error));
	json_object_array_add(o->captures, c);
}

void out_total(struct output *o, const char *key, struct json_object *v)
{
	json_object_object_add(o->totals, key, v);
}

int out_finish(struct output *o)
{
	struct json_object *ev;

	switch (o->opt.format) {
	case OUT_JSON:
		ev = json_object_new_object();
		json_object_object_add(ev, "captures", json_object_get(o->captures));
		json_object_object_add(ev, "sessions", json_object_get(o->sessions));
		json_object_object_add(ev, "totals", json_object_get(o->totals));
		fputs(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE), o->fp);
		fputc('\n', o->fp);
		json_object_put(ev);
		break;
	case OUT_NDJSON:
		if (o->opt.summary) {
			ev = json_object_new_object();
			json_object_object_add(ev, "type", json_object_new_string("totals"));
			json_object_object_add(ev, "captures", json_object_get(o->captures));
			json_object_object_foreach(o->totals, k, v)
				json_object_object_add(ev, k, json_object_get(v));
			put_ndjson(o, ev);
			json_object_put(ev);
		}
		break;
	case OUT_TEXT:
		text_summaries(o);
		break;
	}
	if (fflush(o->fp) != 0 || ferror(o->fp))
		o->write_error = 1;
	return o->write_error ? -1 : 0;
}

int out_max_severity(const struct output *o)
{
	return o->max_sev;
}
