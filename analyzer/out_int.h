/*
 * out_int.h - what the output formats share inside the output stage
 * (output.c: dispatch, ndjson, json; out_text.c; out_html.c).  Every
 * format but ndjson reads an event back as a json-c object and is told
 * its type by the enum, never by comparing the "type" string.
 */
#ifndef IMT_OUT_INT_H
#define IMT_OUT_INT_H

#include "mem.h"
#include "output.h"

struct out_html;
struct out_json;

/* A text that grows as it is written (an ecs document, a json session's
 * text): when memory runs out, failed is set and nothing more is
 * appended. */
struct out_buf {
	char *p;
	size_t len, cap;
	int failed;
};

static inline void out_buf_put(struct out_buf *b, const char *s, size_t n)
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

struct output {
	FILE *fp;
	struct out_options opt;
	int max_sev;
	int write_error;
	struct json_object *captures;   /* json, html: capture records */
	struct out_json *json;          /* json: the sessions being gathered */
	struct json_object *totals;
	struct json_object *summaries;  /* text: session_end events */
	struct json_tokener *tok;       /* json, text, html: events read back */
	char *line_buf;                 /* ndjson, ecs: lines gathered for fwrite */
	size_t line_len;
	char *ecs_buf;                  /* ecs: the document being made */
	size_t ecs_cap;
	uint64_t frames, bytes;         /* out_read_stats() */
	struct out_html *html;          /* html: the report being gathered */
};

/* A result's status as an index: 0 OK, 1 NO, 2 BAD, 3 anything else
 * (NULL included). */
int out_status_index(const char *status);

/* The string value of key in ev (owned by ev), or NULL. */
const char *out_get_str(struct json_object *ev, const char *key);

/* ecs: makes ev's ECS document (without a newline) in *buf_r, grown as
 * needed (*cap_r bytes; the caller frees it), its length in *len_r.
 * Returns 0, or -1 when out of memory. */
int out_ecs_line(const struct imt_event *ev, char **buf_r, size_t *cap_r,
		 size_t *len_r);

/* json: the state of the document; NULL when out of memory.  Free
 * accepts NULL. */
struct out_json *out_json_new(void);
void out_json_free(struct out_json *j);
/* json: prints obj (ev read back) into its session's timeline and, for
 * a session_end, as the session's summary; takes ownership of obj.
 * Returns 0, or -1 when out of memory or the temporary file failed. */
int out_json_event(struct out_json *j, enum imt_event_type type,
		   struct json_object *obj);
/* json: how much text a session, and all together, hold in memory
 * before it goes to the temporary file (tests make them small). */
void out_json_set_holds(struct out_json *j, size_t per_session, size_t total);
/* json: writes the document to o->fp.  Returns 0, or -1 on an error. */
int out_json_finish(struct output *o);

/* text: writes ev's line (obj is ev read back). */
void out_text_event(struct output *o, enum imt_event_type type,
		    struct json_object *obj);
/* text: the per-session summaries. */
void out_text_finish(struct output *o);

/* html: the report's state; NULL when out of memory.  Free accepts NULL. */
struct out_html *out_html_new(void);
void out_html_free(struct out_html *h);
/* html: takes obj (ev read back) into the aggregates and, when its
 * session may be shown, into that session's details.  Takes ownership
 * of obj. */
void out_html_event(struct out_html *h, enum imt_event_type type,
		    struct json_object *obj);
/* html: writes the report to o->fp.  Returns 0, or -1 on an error. */
int out_html_finish(struct output *o);

#endif
