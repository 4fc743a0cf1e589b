/*
 * out_json.c - the json document, {captures, sessions[timeline], totals},
 * pretty-printed by json-c as one object would be, without keeping the
 * events until the end.
 *
 * The captures and the totals are known only at the end, so the document
 * is written then; but each event is printed as it comes (json-c, the
 * same flags, at the depth it has in the document) and its text appended
 * to its session's timeline.  A session's text is held in memory up to
 * JSON_SESS_HOLD bytes, all sessions' together up to JSON_HOLD_TOTAL, and
 * otherwise written to an unlinked temporary file (in $TMPDIR, else /tmp)
 * as extents; a session that ends writes its text out at once.  At the
 * end the document is the skeleton json-c prints for captures and totals
 * with, in place of a placeholder, every session in the order of its
 * first event: its members, then its timeline read back from the file.
 * Memory is then bounded by the open sessions and a few dozen bytes per
 * session, not by the events.  Without a temporary file everything stays
 * in memory, as the document did before.
 *
 * Layout that json-c gives (PRETTY | SPACED, two spaces a level), which
 * the pieces below reproduce:
 *
 *   {
 *     "captures": [ ... ],
 *     "sessions": [
 *       {
 *         "session": 1,
 *         "client": "...",
 *         "server": "...",
 *         "timeline": [
 *           {event},
 *           {event}
 *         ],
 *         "summary": {session_end}
 *       }
 *     ],
 *     "totals": { ... }
 *   }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out_int.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
		    JSON_C_TO_STRING_NOSLASHESCAPE)

/* A session's timeline text past this goes to the temporary file. */
#define JSON_SESS_HOLD (16u << 10)
/* All sessions' held text past this: every session's goes to the file. */
#define JSON_HOLD_TOTAL (8u << 20)

/* Indentation of a session's members, of a timeline's events. */
#define IND_MEMBER "\n      "
#define IND_EVENT "\n        "

struct extent {
	uint64_t off;
	size_t len;
};

/* Text made piece by piece: what is in the file (extents, in order),
 * then what is still held (text). */
struct jtext {
	struct extent *ext;
	size_t n_ext, cap_ext;
	struct out_buf text;
};

struct jsess {
	char *head;              /* the session, client and server members */
	size_t head_len;
	struct jtext timeline;   /* the events, each with its separator */
	struct jtext summary;    /* the last session_end, printed */
	int has_summary;
	uint64_t events;
};

struct out_json {
	struct json_object *by_id;   /* session id -> index in sess */
	struct jsess **sess;
	size_t n_sess, cap_sess;
	size_t held;                 /* bytes in every jtext's text */
	size_t hold_sess, hold_total; /* JSON_SESS_HOLD, JSON_HOLD_TOTAL */
	FILE *file;                  /* the temporary file, or NULL */
	uint64_t file_len;
	int no_file;                 /* it could not be made: all held */
	int failed;                  /* out of memory or a write error */
};

struct out_json *out_json_new(void)
{
	struct out_json *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	if ((j->by_id = json_object_new_object()) == NULL) {
		free(j);
		return NULL;
	}
	j->hold_sess = JSON_SESS_HOLD;
	j->hold_total = JSON_HOLD_TOTAL;
	return j;
}

void out_json_set_holds(struct out_json *j, size_t per_session, size_t total)
{
	j->hold_sess = per_session;
	j->hold_total = total;
}

static void jtext_free(struct jtext *t)
{
	free(t->ext);
	free(t->text.p);
	memset(t, 0, sizeof(*t));
}

void out_json_free(struct out_json *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n_sess; i++) {
		jtext_free(&j->sess[i]->timeline);
		jtext_free(&j->sess[i]->summary);
		free(j->sess[i]->head);
		free(j->sess[i]);
	}
	free(j->sess);
	json_object_put(j->by_id);
	if (j->file != NULL)
		fclose(j->file);
	free(j);
}

/* Appends s[0..n) to t's held text. */
static void jtext_put(struct out_json *j, struct jtext *t, const char *s, size_t n)
{
	out_buf_put(&t->text, s, n);
	if (t->text.failed)
		j->failed = 1;
	else
		j->held += n;
}

/* Appends s[0..n), a value json-c printed at depth 0, with `ind` (a
 * newline and the indentation of the depth it stands at) in place of
 * every newline: json-c writes a newline only between members, never
 * inside a string. */
static void jtext_put_indented(struct out_json *j, struct jtext *t, const char *s,
			       size_t n, const char *ind)
{
	size_t il = strlen(ind);
	const char *nl;

	while ((nl = memchr(s, '\n', n)) != NULL) {
		jtext_put(j, t, s, (size_t)(nl - s));
		jtext_put(j, t, ind, il);
		n -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	jtext_put(j, t, s, n);
}

/* The temporary file, made when first needed; NULL when it cannot be. */
static FILE *spill_file(struct out_json *j)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (j->file != NULL || j->no_file)
		return j->file;
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/imaptrace-json-XXXXXX", dir) >= sizeof(path) ||
	    (fd = mkstemp(path)) < 0) {
		j->no_file = 1;
		return NULL;
	}
	unlink(path);
	if ((j->file = fdopen(fd, "w+")) == NULL) {
		close(fd);
		j->no_file = 1;
	}
	return j->file;
}

/* Writes t's held text to the file (an extent, merged with the last one
 * when it follows it), unless there is no file. */
static void jtext_spill(struct out_json *j, struct jtext *t)
{
	FILE *f;

	if (t->text.len == 0 || j->failed || (f = spill_file(j)) == NULL)
		return;
	if (fwrite(t->text.p, 1, t->text.len, f) != t->text.len) {
		j->failed = 1;
		return;
	}
	if (t->n_ext > 0 && t->ext[t->n_ext - 1].off + t->ext[t->n_ext - 1].len == j->file_len) {
		t->ext[t->n_ext - 1].len += t->text.len;
	} else if (mem_grow(&t->ext, &t->cap_ext, t->n_ext + 1, sizeof(*t->ext), 4,
			    SIZE_MAX) != 0) {
		j->failed = 1;
		return;
	} else {
		t->ext[t->n_ext].off = j->file_len;
		t->ext[t->n_ext].len = t->text.len;
		t->n_ext++;
	}
	j->file_len += t->text.len;
	j->held -= t->text.len;
	/* Most sessions write out once, at their end: their buffer goes. */
	free(t->text.p);
	memset(&t->text, 0, sizeof(t->text));
}

/* Writes t (the extents from the file, then the held text) to fp. */
static int jtext_copy(struct out_json *j, const struct jtext *t, FILE *fp, char *chunk,
		      size_t chunk_size)
{
	for (size_t i = 0; i < t->n_ext; i++) {
		uint64_t off = t->ext[i].off;
		size_t left = t->ext[i].len;

		while (left > 0) {
			size_t want = left < chunk_size ? left : chunk_size;
			ssize_t got = pread(fileno(j->file), chunk, want, (off_t)off);

			if (got <= 0 || fwrite(chunk, 1, (size_t)got, fp) != (size_t)got)
				return -1;
			off += (uint64_t)got;
			left -= (size_t)got;
		}
	}
	if (t->text.len > 0 && fwrite(t->text.p, 1, t->text.len, fp) != t->text.len)
		return -1;
	return 0;
}

/* The value of key in ev as json-c prints it alone ("null" when absent). */
static const char *member_text(struct json_object *ev, const char *key)
{
	return json_object_to_json_string_ext(json_object_object_get(ev, key), JSON_FLAGS);
}

/* The session of ev, made on its first event; NULL when out of memory. */
static struct jsess *session_of(struct out_json *j, struct json_object *ev)
{
	const char *id = out_get_str(ev, "session");
	struct json_object *idx;
	struct jsess *s;
	struct jtext head = { 0 };

	if (id == NULL)
		id = "0";
	if (json_object_object_get_ex(j->by_id, id, &idx))
		return j->sess[json_object_get_int64(idx)];
	if (mem_grow(&j->sess, &j->cap_sess, j->n_sess + 1, sizeof(*j->sess), 64,
		     SIZE_MAX) != 0 || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	jtext_put(j, &head, "\"session\": ", 11);
	jtext_put_indented(j, &head, member_text(ev, "session"),
			   strlen(member_text(ev, "session")), IND_MEMBER);
	jtext_put(j, &head, "," IND_MEMBER "\"client\": ", 18);
	jtext_put_indented(j, &head, member_text(ev, "client"),
			   strlen(member_text(ev, "client")), IND_MEMBER);
	jtext_put(j, &head, "," IND_MEMBER "\"server\": ", 18);
	jtext_put_indented(j, &head, member_text(ev, "server"),
			   strlen(member_text(ev, "server")), IND_MEMBER);
	/* The head is kept for the session's life, not as held text. */
	j->held -= head.text.len;
	if (j->failed) {
		jtext_free(&head);
		free(s);
		return NULL;
	}
	s->head = head.text.p;
	s->head_len = head.text.len;
	json_object_object_add(j->by_id, id, json_object_new_int64((int64_t)j->n_sess));
	j->sess[j->n_sess++] = s;
	return s;
}

int out_json_event(struct out_json *j, enum imt_event_type type, struct json_object *ev)
{
	struct jsess *s = session_of(j, ev);
	const char *text;
	size_t n;

	if (s == NULL) {
		json_object_put(ev);
		j->failed = 1;
		return -1;
	}
	if ((text = json_object_to_json_string_length(ev, JSON_FLAGS, &n)) == NULL) {
		json_object_put(ev);
		j->failed = 1;
		return -1;
	}
	jtext_put(j, &s->timeline, s->events > 0 ? "," IND_EVENT : IND_EVENT,
		  s->events > 0 ? 10 : 9);
	jtext_put_indented(j, &s->timeline, text, n, IND_EVENT);
	s->events++;
	if (type == EV_SESSION_END) {
		/* A later session_end of the same session replaces it. */
		j->held -= s->summary.text.len;
		jtext_free(&s->summary);
		jtext_put_indented(j, &s->summary, text, n, IND_MEMBER);
		s->has_summary = 1;
		jtext_spill(j, &s->summary);
		jtext_spill(j, &s->timeline);
	} else if (s->timeline.text.len >= j->hold_sess) {
		jtext_spill(j, &s->timeline);
	}
	json_object_put(ev);
	if (j->held > j->hold_total && !j->no_file)
		for (size_t i = 0; i < j->n_sess; i++)
			jtext_spill(j, &j->sess[i]->timeline);
	return j->failed ? -1 : 0;
}

/* Writes session s as the element of "sessions" it is in the document. */
static int write_session(struct out_json *j, const struct jsess *s, FILE *fp,
			 char *chunk, size_t chunk_size)
{
	if (fputs("{" IND_MEMBER, fp) == EOF ||
	    fwrite(s->head, 1, s->head_len, fp) != s->head_len ||
	    fputs("," IND_MEMBER "\"timeline\": [", fp) == EOF ||
	    jtext_copy(j, &s->timeline, fp, chunk, chunk_size) != 0 ||
	    fputs(IND_MEMBER "]", fp) == EOF)
		return -1;
	if (s->has_summary &&
	    (fputs("," IND_MEMBER "\"summary\": ", fp) == EOF ||
	     jtext_copy(j, &s->summary, fp, chunk, chunk_size) != 0))
		return -1;
	return fputs("\n    }", fp) == EOF ? -1 : 0;
}

int out_json_finish(struct output *o)
{
	/* Where json-c puts the placeholder element of "sessions". */
	static const char at[] = "\n  \"sessions\": [\n    \"\"";
	struct out_json *j = o->json;
	struct json_object *doc = json_object_new_object(), *sessions = json_object_new_array();
	const char *text, *p;
	char *chunk = NULL;
	size_t n, chunk_size = 64u << 10;
	int rc = 0;

	if (j->file != NULL && fflush(j->file) != 0)
		j->failed = 1;
	if (j->n_sess > 0)
		json_object_array_add(sessions, json_object_new_string(""));
	json_object_object_add(doc, "captures", json_object_get(o->captures));
	json_object_object_add(doc, "sessions", sessions);
	json_object_object_add(doc, "totals", json_object_get(o->totals));
	text = json_object_to_json_string_length(doc, JSON_FLAGS, &n);
	if (text == NULL || j->failed) {
		rc = -1;
	} else if (j->n_sess == 0) {
		rc = fwrite(text, 1, n, o->fp) == n ? 0 : -1;
	} else if ((p = strstr(text, at)) == NULL || (chunk = malloc(chunk_size)) == NULL) {
		rc = -1;
	} else {
		size_t head = (size_t)(p - text) + sizeof(at) - 3;

		if (fwrite(text, 1, head, o->fp) != head)
			rc = -1;
		for (size_t i = 0; rc == 0 && i < j->n_sess; i++)
			if ((i > 0 && fputs(",\n    ", o->fp) == EOF) ||
			    write_session(j, j->sess[i], o->fp, chunk, chunk_size) != 0)
				rc = -1;
		if (rc == 0 && fwrite(text + head + 2, 1, n - head - 2, o->fp) != n - head - 2)
			rc = -1;
	}
	if (rc == 0 && fputc('\n', o->fp) == EOF)
		rc = -1;
	free(chunk);
	json_object_put(doc);
	return rc;
}
