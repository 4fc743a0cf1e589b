/*
 * out_text.c - the text timeline: one aligned line per event, then a
 * summary of every session.  Every string from the capture goes through
 * out_escape_controls() so that no captured byte reaches the terminal as
 * a control; colours (direction, status, severity) only when asked for
 * (main.c decides: a terminal, --color, NO_COLOR).
 */
#include <stdio.h>
#include <string.h>

#include "out_int.h"

#define SGR_RESET "\033[0m"

/* Colours by enum imt_severity: info, low, medium, high. */
static const char *const sev_sgr[] = {
	"\033[34m", "\033[33m", "\033[31m", "\033[1;31m",
};

struct line {
	char buf[1400];
	size_t n;
	int color;
};

/* Appends s (trusted: ours, not the capture's), when color is on. */
static void put_sgr(struct line *l, const char *sgr)
{
	size_t len = strlen(sgr);

	if (l->color && len < sizeof(l->buf) - l->n) {
		memcpy(l->buf + l->n, sgr, len + 1);
		l->n += len;
	}
}

/* Appends pre, the len bytes at v (from the capture: escaped) and post
 * (ours); v NULL appends nothing. */
static void put(struct line *l, const char *pre, const char *v, size_t len,
		const char *post)
{
	char esc[1400];
	int n;

	if (v == NULL || l->n + 1 >= sizeof(l->buf))
		return;
	out_escape_controls(esc, sizeof(esc), v, len);
	n = snprintf(l->buf + l->n, sizeof(l->buf) - l->n, "%s%s%s", pre, esc, post);
	if (n > 0)
		l->n += (size_t)n < sizeof(l->buf) - l->n ? (size_t)n :
			sizeof(l->buf) - l->n - 1;
}

/* put() with the value of key in ev (numbers as json-c writes them). */
static void field(struct line *l, struct json_object *ev, const char *key,
		  const char *pre, const char *post)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
		return;
	s = json_object_get_string(v);
	put(l, pre, s, json_object_is_type(v, json_type_string) ?
		       (size_t)json_object_get_string_len(v) : strlen(s), post);
}

/* Milliseconds for people: to the microsecond. */
static void field_ms(struct line *l, struct json_object *ev, const char *key,
		     const char *pre, const char *post)
{
	struct json_object *v;
	char num[32];
	int n;

	if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
		return;
	snprintf(num, sizeof(num), "%.3f", json_object_get_double(v));
	n = snprintf(l->buf + l->n, sizeof(l->buf) - l->n, "%s%s%s", pre, num, post);
	if (n > 0)
		l->n += (size_t)n < sizeof(l->buf) - l->n ? (size_t)n :
			sizeof(l->buf) - l->n - 1;
}

static void code(struct line *l, struct json_object *ev)
{
	if (out_get_str(ev, "code") == NULL)
		return;
	field(l, ev, "code", "[", "");
	field(l, ev, "code_args", " ", "");
	put(l, "", "] ", 2, "");
}

/* A status word (OK, NO, BAD, PREAUTH, BYE, or what the server sent)
 * in its colour, then a space. */
static void status(struct line *l, struct json_object *ev, const char *pre)
{
	const char *s = out_get_str(ev, "status");
	int idx;

	if (s == NULL)
		return;
	put(l, pre, "", 0, "");
	idx = strcmp(s, "PREAUTH") == 0 ? 0 : out_status_index(s);
	put_sgr(l, idx == 0 ? "\033[32m" : idx == 1 ? "\033[33m" : "\033[31m");
	field(l, ev, "status", "", "");
	put_sgr(l, SGR_RESET);
	put(l, "", " ", 1, "");
}

#define TEXT_PARTS 3

/* Lines that are fields in order, each with what goes before and after
 * it, by event type; the others are written by hand below. */
static const struct text_part {
	const char *key, *pre, *post;
} plain[EV__COUNT][TEXT_PARTS] = {
	[EV_COMMAND] = { { "tag", "", " " }, { "command", "", " " }, { "args", "", "" } },
	[EV_CONTINUATION] = { { "text", "+ ", "" }, { "for", "  (for ", ")" } },
	[EV_CLIENT_DATA] = { { "kind", "[", "] " }, { "text", "", "" } },
	[EV_STATE] = { { "from", "state ", "" }, { "to", " -> ", "" }, { "cause", " (", ")" } },
	[EV_GAP] = { { "bytes", "gap of ", " bytes" }, { "resync", ", resync ", "" } },
	[EV_MESSAGE] = { { "subject", "message \"", "\"" }, { "from", " from ", "" },
			 { "path", " -> ", "" } },
	[EV_SESSION_START] = { { "client", "session ", "" }, { "server", " -> ", "" },
			       { "port_guess", " (by ", ")" } },
};

/* The enum imt_severity of a violation, or -1. */
static int severity_of(struct json_object *ev)
{
	const char *s = out_get_str(ev, "severity");
	enum imt_severity sev;

	return s != NULL && imt_severity_parse(s, &sev) == 0 ? (int)sev : -1;
}

void out_text_event(struct output *o, enum imt_event_type type,
		    struct json_object *ev)
{
	struct json_object *dirv = json_object_object_get(ev, "dir");
	const char *dir = dirv != NULL ? json_object_get_string(dirv) : NULL;
	const char *ts = out_get_str(ev, "ts");
	int c2s = dir != NULL && strcmp(dir, "c2s") == 0;
	struct line l = { .n = 0, .color = o->opt.color };
	char arrow[32];
	int sev;

	if (type == EV_SESSION_END)
		json_object_array_add(o->summaries, json_object_get(ev));
	if (o->opt.summary)
		return;
	l.buf[0] = '\0';
	for (const struct text_part *p = plain[type < EV__COUNT ? type : EV_TLS];
	     p < plain[type < EV__COUNT ? type : EV_TLS] + TEXT_PARTS && p->key != NULL; p++)
		field(&l, ev, p->key, p->pre, p->post);
	switch (type) {
	case EV_RESULT:
		field(&l, ev, "tag", "", " ");
		status(&l, ev, "");
		code(&l, ev);
		field(&l, ev, "text", "", "");
		field(&l, ev, "command", "  (", "");
		field_ms(&l, ev, "latency_ms", " ", " ms)");
		break;
	case EV_RESPONSE:
		put(&l, "", "* ", 2, "");
		field(&l, ev, "number", "", " ");
		field(&l, ev, "name", "", " ");
		code(&l, ev);
		field(&l, ev, "text", "", "");
		field(&l, ev, "data", "", "");
		break;
	case EV_VIOLATION:
		sev = severity_of(ev);
		if (sev >= 0 && sev < 4)
			put_sgr(&l, sev_sgr[sev]);
		field(&l, ev, "severity", "!! ", " ");
		field(&l, ev, "id", "", ": ");
		field(&l, ev, "message", "", "");
		field(&l, ev, "tag", " (tag ", ")");
		field(&l, ev, "detail", " -- ", "");
		put_sgr(&l, SGR_RESET);
		break;
	case EV_GREETING:
		status(&l, ev, "greeting ");
		field(&l, ev, "text", "", "");
		break;
	case EV_SESSION_START:
		if (json_object_get_boolean(json_object_object_get(ev, "midstream")))
			put(&l, " mid-stream", "", 0, "");
		break;
	case EV_SESSION_END:
		field(&l, ev, "reason", "end (", ")");
		field(&l, ev, "state", " in state ", "");
		field_ms(&l, ev, "duration_ms", " after ", " ms");
		break;
	case EV_TLS:
	case EV_COMPRESS:
	case EV__COUNT:
		put(&l, "", event_type_name(type), strlen(event_type_name(type)), "");
		field(&l, ev, "after_tag", " (after ", ")");
		break;
	default:
		break;
	}
	snprintf(arrow, sizeof(arrow), "%s%s%s",
		 dir == NULL || !o->opt.color ? "" : c2s ? "\033[36m" : "\033[35m",
		 dir == NULL ? "  " : c2s ? "C>" : "<S",
		 dir == NULL || !o->opt.color ? "" : SGR_RESET);
	if (fprintf(o->fp, "%-27s #%-3s %-7s %s %s\n", ts != NULL ? ts : "",
		    out_get_str(ev, "session"), out_get_str(ev, "frame"), arrow,
		    l.buf) < 0)
		o->write_error = 1;
}

void out_text_finish(struct output *o)
{
	size_t n = json_object_array_length(o->summaries);

	if (n > 0)
		fprintf(o->fp, "\nSessions\n");
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(o->summaries, i);
		struct json_object *b = json_object_object_get(ev, "bytes");
		struct json_object *r = json_object_object_get(ev, "results");
		struct json_object *v = json_object_object_get(ev, "violations");
		struct json_object *user = json_object_object_get(ev, "user");
		char esc[1400] = "-";

		if (user != NULL && json_object_is_type(user, json_type_string))
			out_escape_controls(esc, sizeof(esc), json_object_get_string(user),
					    (size_t)json_object_get_string_len(user));
		fprintf(o->fp,
			"  #%s %s -> %s  user %s  state %s  end %s  %.3f ms\n"
			"      bytes c2s %s s2c %s  commands %s  OK %s NO %s BAD %s  unanswered %s\n"
			"      findings high %s medium %s low %s info %s  history %s\n",
			out_get_str(ev, "session"), out_get_str(ev, "client"),
			out_get_str(ev, "server"), esc,
			out_get_str(ev, "state"), out_get_str(ev, "reason"),
			json_object_get_double(json_object_object_get(ev, "duration_ms")),
			out_get_str(b, "c2s"), out_get_str(b, "s2c"), out_get_str(ev, "commands"),
			out_get_str(r, "OK"), out_get_str(r, "NO"), out_get_str(r, "BAD"),
			out_get_str(ev, "unanswered"),
			out_get_str(v, "high"), out_get_str(v, "medium"), out_get_str(v, "low"),
			out_get_str(v, "info"), out_get_str(ev, "history"));
	}
}
