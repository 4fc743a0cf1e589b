/*
 * output.h - writing events as NDJSON, one JSON document, text or HTML.
 *
 * Events come from the session engine as JSON text (event.h).  The
 * output stage writes each in the chosen format:
 *  - ndjson: the event's text on one line, in the order given (capture
 *            order);
 *  - json:   one pretty-printed document {captures, sessions[timeline],
 *            totals}, written by out_finish();
 *  - text:   one aligned line per event, then per-session summaries;
 *            control characters from the capture written as \xNN;
 *  - ecs:    one Elastic Common Schema document per line: an ECS head
 *            made from the event's text, the event itself under "imap";
 *  - html:   one self-contained report (overview, charts, session
 *            ladders), written by out_finish() from aggregates and the
 *            details of a bounded number of sessions (docs/output.md).
 * Output is buffered; out_finish() flushes.
 */
#ifndef IMT_OUTPUT_H
#define IMT_OUTPUT_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "event.h"
#include "findings.h"

enum out_format { OUT_NDJSON, OUT_JSON, OUT_TEXT, OUT_HTML, OUT_ECS };

struct out_options {
	enum out_format format;
	int violations_only;     /* only violation, session_start, session_end */
	int summary;             /* only session_end and the totals */
	int transactions;        /* only transaction records (ndjson, json, ecs) */
	int color;               /* text: ANSI colours (direction, status, severity) */
};

struct output;

/* Creates an output writing to fp (not closed by out_free).  NULL only
 * when out of memory. */
struct output *out_new(FILE *fp, const struct out_options *opt);

/* True when the output writes events of this type (--summary and
 * --violations-only leave some out): others may be built muted. */
int out_wants(const struct output *o, enum imt_event_type type);

/*
 * Writes or keeps ev (ended with event_end()); ev is only read, during
 * the call.  A violation's severity counts for out_max_severity() even
 * when the event is muted or not wanted.  Returns 0, or -1 when writing
 * failed or the event could not be built (errno set).
 */
int out_event(struct output *o, const struct imt_event *ev);

/* Records a capture file read (for the json document and the totals). */
void out_capture(struct output *o, const char *path, const char *error);

/* Records what the reader saw in all (frames and captured bytes): the
 * html overview shows it; the other formats do not carry it. */
void out_read_stats(struct output *o, uint64_t frames, uint64_t bytes);

/* Sets a totals field (the capture-wide counters); takes ownership of v. */
void out_total(struct output *o, const char *key, struct json_object *v);

/* Writes whatever is pending (json document, text summaries, totals,
 * html report) and flushes.  Returns 0, or -1 on a write error. */
int out_finish(struct output *o);

/* Highest severity of the violation events seen so far, or -1. */
int out_max_severity(const struct output *o);

/* Frees o (without writing); accepts NULL. */
void out_free(struct output *o);

/* Parses "ndjson", "json", "text", "html" or "ecs"; returns 0 or -1. */
int out_format_parse(const char *name, enum out_format *fmt_r);

/*
 * Copies the len bytes at s into dst (size bytes, NUL-terminated,
 * size > 0) for a person's eyes: every C0 control (NUL and ESC
 * included), DEL and C1 control (U+0080..U+009F, the UTF-8 pair
 * C2 80..C2 9F) becomes "\xNN" per byte, as the event writer already
 * writes invalid UTF-8, so that no captured byte can drive a terminal.
 * Stops before a unit that does not fit whole.  Returns the length
 * written.
 */
size_t out_escape_controls(char *dst, size_t size, const char *s, size_t len);

#endif
