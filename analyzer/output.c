/*
 * output.c - writing events.  NDJSON goes straight out in capture order,
 * as the text the event writer built; the json document and the text
 * format read each event back through json-c, and the document and the
 * text summaries keep what they need until out_finish().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

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
	struct json_tokener *tok;       /* json, text: events read back */
	char *line_buf;                 /* ndjson: lines gathered for fwrite */
	size_t line_len;
};

/* NDJSON lines are gathered and written in blocks: one locked stdio call
 * per 64 KiB instead of two per event. */
#define OUT_LINE_BUF (64u << 10)

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
	if (o->tok != NULL)
		json_tokener_free(o->tok);
	free(o->line_buf);
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

int out_wants(const struct output *o, enum imt_event_type type)
{
	if (o->opt.summary)
		return type == EV_SESSION_END;
	if (o->opt.violations_only)
		return type == EV_VIOLATION || type == EV_SESSION_START ||
		       type == EV_SESSION_END;
	return 1;
}

/* Writes the gathered lines out. */
static void flush_lines(struct output *o)
{
	if (o->line_len > 0 &&
	    fwrite(o->line_buf, 1, o->line_len, o->fp) != o->line_len)
		o->write_error = 1;
	o->line_len = 0;
}

static void put_line(struct output *o, const char *p, size_t len)
{
	if (o->line_buf == NULL)
		o->line_buf = malloc(OUT_LINE_BUF);
	if (o->line_buf != NULL && len + 1 > OUT_LINE_BUF - o->line_len)
		flush_lines(o);
	if (o->line_buf == NULL || len + 1 > OUT_LINE_BUF) {
		/* No buffer, or a line longer than it: straight out. */
		if (fwrite(p, 1, len, o->fp) != len || putc('\n', o->fp) == EOF)
			o->write_error = 1;
		return;
	}
	memcpy(o->line_buf + o->line_len, p, len);
	o->line_buf[o->line_len + len] = '\n';
	o->line_len += len + 1;
}

/* Reads an event's text back as a json-c object; NULL if it is not
 * valid JSON (a bug: the writer makes only valid text). */
static struct json_object *read_back(struct output *o, const struct imt_event *ev)
{
	struct json_object *obj;

	if (o->tok == NULL && (o->tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_reset(o->tok);
	obj = json_tokener_parse_ex(o->tok, ev->text, (int)ev->len);
	if (obj != NULL && json_tokener_get_error(o->tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
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

int out_event(struct output *o, const struct imt_event *ev)
{
	struct json_object *obj;

	if (ev->severity > o->max_sev)
		o->max_sev = ev->severity;
	if (ev->muted || !out_wants(o, ev->type))
		return 0;
	if (ev->failed || ev->len > INT32_MAX) {
		errno = ENOMEM;
		return -1;
	}
	if (o->opt.format == OUT_NDJSON) {
		put_line(o, ev->text, ev->len);
	} else if ((obj = read_back(o, ev)) == NULL) {
		o->write_error = 1;
		errno = EINVAL;
		return -1;
	} else if (o->opt.format == OUT_JSON) {
		keep_json(o, obj);
	} else {
		if (ev->type == EV_SESSION_END)
			json_object_array_add(o->summaries, json_object_get(obj));
		if (!o->opt.summary)
			put_text(o, obj);
		json_object_put(obj);
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
	const char *text;
	size_t n;

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
			text = json_object_to_json_string_length(ev,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
			if (text != NULL)
				put_line(o, text, n);
			else
				o->write_error = 1;
			json_object_put(ev);
		}
		break;
	case OUT_TEXT:
		text_summaries(o);
		break;
	}
	flush_lines(o);
	if (fflush(o->fp) != 0 || ferror(o->fp))
		o->write_error = 1;
	return o->write_error ? -1 : 0;
}

int out_max_severity(const struct output *o)
{
	return o->max_sev;
}
