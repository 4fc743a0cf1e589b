/*
 * output.c - writing events.  NDJSON goes straight out in capture order,
 * as the text the event writer built, and ecs (out_ecs.c) as a document
 * made from it; the json document (out_json.c), the text format
 * (out_text.c) and the html report (out_html.c) read each event back
 * through json-c and keep what they need until out_finish().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_write.h"
#include "out_int.h"

/* NDJSON lines are gathered and written in blocks: one write(2) per
 * 256 KiB instead of two stdio calls per event (stdio would cut each
 * block in two writes at its own buffer's edge). */
#define OUT_LINE_BUF (256u << 10)

int out_format_parse(const char *name, enum out_format *fmt_r)
{
	if (strcmp(name, "ndjson") == 0)
		*fmt_r = OUT_NDJSON;
	else if (strcmp(name, "json") == 0)
		*fmt_r = OUT_JSON;
	else if (strcmp(name, "text") == 0)
		*fmt_r = OUT_TEXT;
	else if (strcmp(name, "html") == 0)
		*fmt_r = OUT_HTML;
	else if (strcmp(name, "ecs") == 0)
		*fmt_r = OUT_ECS;
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
	o->totals = json_object_new_object();
	o->summaries = json_object_new_array();
	if ((opt->format == OUT_HTML && (o->html = out_html_new()) == NULL) ||
	    (opt->format == OUT_JSON && (o->json = out_json_new()) == NULL)) {
		out_free(o);
		return NULL;
	}
	return o;
}

void out_free(struct output *o)
{
	if (o == NULL)
		return;
	json_object_put(o->captures);
	json_object_put(o->totals);
	json_object_put(o->summaries);
	if (o->tok != NULL)
		json_tokener_free(o->tok);
	free(o->line_buf);
	free(o->ecs_buf);
	out_html_free(o->html);
	out_json_free(o->json);
	free(o);
}

const char *out_get_str(struct json_object *ev, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

int out_status_index(const char *status)
{
	static const char *const names[] = { "OK", "NO", "BAD" };

	for (int i = 0; status != NULL && i < 3; i++)
		if (strcmp(status, names[i]) == 0)
			return i;
	return 3;
}

size_t out_escape_controls(char *dst, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t n = 0;

	for (; p < end; p++) {
		/* A C1 control is the pair C2 80..C2 9F: both bytes escaped. */
		int c1 = p[0] == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f;
		size_t units = c1 ? 2 : *p < 0x20 || *p == 0x7f ? 1 : 0;

		if (units == 0) {
			if (n + 1 >= size)
				break;
			dst[n++] = (char)*p;
			continue;
		}
		if (n + 4 * units >= size)
			break;
		for (size_t u = 0; u < units; u++) {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[p[u] >> 4];
			dst[n++] = hex[p[u] & 15];
		}
		p += units - 1;
	}
	dst[n] = '\0';
	return n;
}

int out_wants(const struct output *o, enum imt_event_type type)
{
	/* Transaction records repeat what command and result say: they are
	 * written only when asked for, and then alone. */
	if (o->opt.transactions)
		return type == EV_TRANSACTION;
	if (type == EV_TRANSACTION)
		return 0;
	if (o->opt.summary)
		return type == EV_SESSION_END;
	if (o->opt.violations_only)
		return type == EV_VIOLATION || type == EV_SESSION_START ||
		       type == EV_SESSION_END;
	return 1;
}

/* Writes p[0..n) to the stream's descriptor, behind what stdio holds;
 * to the stream itself when it has none (a memory stream).  0 or -1. */
static int out_write(FILE *fp, const char *p, size_t n)
{
	int fd = fileno(fp);

	if (fd < 0)
		return fwrite(p, 1, n, fp) == n ? 0 : -1;
	if (fflush(fp) != 0)
		return -1;
	return fd_write_all(fd, p, n);
}

/* Writes the gathered lines out. */
static void flush_lines(struct output *o)
{
	if (o->line_len > 0 && out_write(o->fp, o->line_buf, o->line_len) != 0)
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
	} else if (o->opt.format == OUT_ECS) {
		size_t len;

		if (out_ecs_line(ev, &o->ecs_buf, &o->ecs_cap, &len) != 0) {
			errno = ENOMEM;
			return -1;
		}
		put_line(o, o->ecs_buf, len);
	} else if ((obj = read_back(o, ev)) == NULL) {
		o->write_error = 1;
		errno = EINVAL;
		return -1;
	} else if (o->opt.format == OUT_JSON) {
		if (out_json_event(o->json, ev->type, obj) != 0) {
			errno = errno ? errno : ENOMEM;
			return -1;
		}
	} else if (o->opt.format == OUT_HTML) {
		out_html_event(o->html, ev->type, obj);
	} else {
		out_text_event(o, ev->type, obj);
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

void out_read_stats(struct output *o, uint64_t frames, uint64_t bytes)
{
	o->frames = frames;
	o->bytes = bytes;
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
		if (out_json_finish(o) != 0)
			o->write_error = 1;
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
		out_text_finish(o);
		break;
	case OUT_HTML:
		if (out_html_finish(o) != 0)
			o->write_error = 1;
		break;
	case OUT_ECS:
		/* Every document is about an event: the totals have none. */
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
