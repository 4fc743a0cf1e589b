/*
 * mime.c - summaries of extracted messages and their attachments (mime.h).
 *
 * Order of work for one message: mime_scan() reads the file once and
 * says how many of its bytes GMime may see (all of them unless a cap
 * was passed); GMime parses those bytes from the file descriptor, its
 * parts' content left on disk as substreams; the header fields are read
 * from the message; GMime's part iterator walks the tree (no recursion
 * here); each attachment is decoded through a GMime filter stream in
 * blocks, hashed, and written to a temporary file in DIR/attachments/
 * that is then linked under its SHA-256 (linkat fails on an existing
 * name, so a known attachment is never rewritten) and unlinked.
 */
#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "fd_write.h"
#include "hash.h"
#include "mem.h"
#include "mime_scan.h"
#include "sha256.h"

#define MIME_ATT_DIR   "attachments"
#define MIME_BLOCK     (64u << 10)

/*
 * The memo of field values (mime_fast): a mailbox's messages repeat a
 * few address fields (its owner in To, the same correspondents) and
 * content types, and GMime's field parsers build and free objects each
 * time.  Direct-mapped, keyed by what the value is and its exact raw
 * bytes; only parses GMime did not warn about are kept, and only values
 * up to MIME_MEMO_KEY_MAX bytes: at most MIME_MEMO_SLOTS keys and
 * results of that size.
 */
#define MIME_MEMO_SLOTS   128u
#define MIME_MEMO_KEY_MAX 256u

enum mime_memo_kind { MEMO_NONE, MEMO_ADDRESSES, MEMO_CONTENT_TYPE };

struct mime_memo {
	uint64_t hash;
	enum mime_memo_kind kind;
	size_t len;
	char *key;               /* len bytes */
	char *out;               /* the result (malloc'ed), or NULL for none */
};

struct mime {
	struct extract *x;
	GMimeParserOptions *opts;
	GMimeParser *parser;     /* one for every message, given each stream */
	int attfd;               /* DIR/attachments, opened on first use */
	uint64_t tmp_seq;
	uint32_t warnings;       /* of the parse in progress */
	int fast;                /* plain header blocks without a GMimeMessage */
	unsigned char *block;
	uint64_t memo_seed;
	struct mime_memo memo[MIME_MEMO_SLOTS];
};

/* Milliseconds of a monotonic clock, for the per-message time cap. */
static uint64_t mime_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static const char *const limit_names[] = {
#define MIME_LIMIT_NAME(e, name) name,
	MIME_LIMITS(MIME_LIMIT_NAME)
#undef MIME_LIMIT_NAME
};

const char *mime_limit_name(unsigned bit)
{
	return bit < MIME_L__COUNT ? limit_names[bit] : "unknown";
}

static void mime_warning(gint64 offset, GMimeParserWarning code,
			 const gchar *item, gpointer user)
{
	struct mime *m = user;

	(void)offset;
	(void)code;
	(void)item;
	if (m->warnings < UINT32_MAX)
		m->warnings++;
}

struct mime *mime_new(struct extract *x)
{
	struct mime *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->block = malloc(MIME_BLOCK);
	if (m->block == NULL) {
		free(m);
		return NULL;
	}
	g_mime_init();
	m->x = x;
	m->attfd = -1;
	m->fast = 1;
	m->memo_seed = hash_seed(m);
	m->opts = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(m->opts, mime_warning, m);
	m->parser = g_mime_parser_new();
	g_mime_parser_set_format(m->parser, GMIME_FORMAT_MESSAGE);
	if (x != NULL)
		extract_scan_whole(x);
	return m;
}

void mime_set_fast(struct mime *m, int on)
{
	m->fast = on;
}

void mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	if (m->attfd >= 0)
		close(m->attfd);
	g_mime_parser_options_free(m->opts);
	g_object_unref(m->parser);
	for (unsigned i = 0; i < MIME_MEMO_SLOTS; i++) {
		free(m->memo[i].key);
		free(m->memo[i].out);
	}
	free(m->block);
	free(m);
	/* No g_mime_shutdown(): GMime 3.2 cannot be initialised again after
	 * it (its charset tables stay gone), and a later extraction in the
	 * same process would need it.  What g_mime_init() built stays
	 * reachable, read-only, until the process exits. */
}

/* ---- text ----------------------------------------------------------------- */

/*
 * A copy of s cut to MIME_TEXT_MAX bytes, not inside a UTF-8 sequence;
 * with `controls`, bytes below 0x20 and DEL become '_'.  NULL for NULL
 * (and when out of memory: the field is then left out).
 */
static char *mime_text(const char *s, int controls)
{
	size_t n;
	char *t;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > MIME_TEXT_MAX) {
		n = MIME_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	t = malloc(n + 1);
	if (t == NULL)
		return NULL;
	memcpy(t, s, n);
	t[n] = '\0';
	if (controls)
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
				t[i] = '_';
	return t;
}

static char *mime_addresses(InternetAddressList *l)
{
	char *g, *t;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	g = internet_address_list_to_string(l, NULL, FALSE);
	t = mime_text(g, 0);
	g_free(g);
	return t;
}

static char *mime_type_of(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	char *g, *t;

	if (ct == NULL)
		return NULL;
	g = g_mime_content_type_get_mime_type(ct);
	t = mime_text(g, 1);
	g_free(g);
	return t;
}

/* ---- attachments -------------------------------------------------------------- */

static int mime_attdir(struct mime *m)
{
	int dfd = extract_dirfd(m->x);

	if (m->attfd >= 0)
		return 0;
	if (mkdirat(dfd, MIME_ATT_DIR, 0700) != 0 && errno != EEXIST)
		return extract_fail(m->x, MIME_ATT_DIR, errno);
	m->attfd = openat(dfd, MIME_ATT_DIR,
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (m->attfd < 0)
		return extract_fail(m->x, MIME_ATT_DIR, errno);
	return 0;
}

/* The content of part, decoded, as a stream to read (a new reference),
 * or NULL when it has none. */
static GMimeStream *mime_decoded(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeContentEncoding enc;
	GMimeStream *raw, *f;

	if (w == NULL || (raw = g_mime_data_wrapper_get_stream(w)) == NULL)
		return NULL;
	g_mime_stream_reset(raw);
	f = g_mime_stream_filter_new(raw);
	enc = g_mime_data_wrapper_get_encoding(w);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
		g_object_unref(dec);
	}
	return f;
}

/*
 * Decodes part into DIR/attachments/<sha256>, filling a's size, sha256,
 * path and complete.  Returns 0, or -1 when writing failed.
 */
static int mime_store(struct mime *m, GMimePart *part, uint64_t deadline,
		      unsigned *limits, struct mime_attachment *a)
{
	char tmp[64], tpath[80];
	struct sha256 h;
	GMimeStream *in;
	int fd, rc = 0;

	a->complete = 1;
	if (mime_attdir(m) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ".tmp-%ld-%" PRIu64, (long)getpid(), m->tmp_seq++);
	snprintf(tpath, sizeof(tpath), MIME_ATT_DIR "/%s", tmp);
	fd = openat(m->attfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return extract_fail(m->x, tpath, errno);
	if (sha256_init(&h) != 0) {
		close(fd);
		unlinkat(m->attfd, tmp, 0);
		return extract_fail(m->x, tpath, ENOMEM);
	}
	in = mime_decoded(part);
	while (in != NULL) {
		ssize_t k = g_mime_stream_read(in, (char *)m->block, MIME_BLOCK);

		if (k <= 0) {
			/* A read error leaves the attachment short. */
			if (k < 0)
				a->complete = 0;
			break;
		}
		sha256_update(&h, m->block, (size_t)k);
		a->size += (uint64_t)k;
		if (fd_write_all(fd, m->block, (size_t)k) != 0) {
			rc = extract_fail(m->x, tpath, errno);
			break;
		}
		if (mime_now_ms() >= deadline) {
			*limits |= 1u << MIME_L_TIME;
			a->complete = 0;
			break;
		}
	}
	if (in != NULL)
		g_object_unref(in);
	sha256_final_hex(&h, a->sha256);
	snprintf(a->path, sizeof(a->path), MIME_ATT_DIR "/%s", a->sha256);
	if (close(fd) != 0 && rc == 0)
		rc = extract_fail(m->x, tpath, errno);
	/* An existing file of that name has the same content: kept as is. */
	if (rc == 0 && linkat(m->attfd, tmp, m->attfd, a->sha256, 0) != 0 &&
	    errno != EEXIST)
		rc = extract_fail(m->x, a->path, errno);
	unlinkat(m->attfd, tmp, 0);
	return rc;
}

static int mime_is_attachment(GMimeObject *o, GMimeObject *body)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	if (d != NULL && g_mime_content_disposition_is_attachment(d))
		return 1;
	if (g_mime_part_get_filename(GMIME_PART(o)) != NULL)
		return 1;
	/* A body part that is not text, other than the message's only
	 * part, is an attachment (an inline image, a calendar file). */
	return o != body && ct != NULL && !g_mime_content_type_is_type(ct, "text", "*");
}

/* One more attachment, zeroed; attachments are parts, so the parts cap
 * bounds the array.  Returns 0, or -1 when out of memory. */
static int mime_add(struct mime_summary *s, size_t *cap, size_t max)
{
	if (mem_grow(&s->att, cap, s->natt + 1, sizeof(*s->att), 4, max) != 0)
		return -1;
	memset(&s->att[s->natt], 0, sizeof(s->att[0]));
	s->natt++;
	return 0;
}

/* Walks the parts and stores the attachments. */
static int mime_walk(struct mime *m, GMimeMessage *msg, uint64_t deadline,
		     struct mime_summary *s)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	size_t cap = 0, max = extract_limits(m->x)->max_mime_parts;
	GMimePartIter *it;
	int rc = 0;

	if (body == NULL)
		return 0;
	it = g_mime_part_iter_new((GMimeObject *)msg);
	for (int ok = g_mime_part_iter_is_valid(it); ok && rc == 0;
	     ok = g_mime_part_iter_next(it)) {
		GMimeObject *o = g_mime_part_iter_get_current(it);
		struct mime_attachment *a;
		char *path;

		if (!GMIME_IS_PART(o) || !mime_is_attachment(o, body))
			continue;
		if (mime_now_ms() >= deadline) {
			s->limits |= 1u << MIME_L_TIME;
			break;
		}
		/* The scan keeps GMime's parts within the cap; should GMime
		 * ever see more, the cap still holds here. */
		if (s->natt >= max) {
			s->limits |= 1u << MIME_L_PARTS;
			break;
		}
		if (mime_add(s, &cap, max) != 0) {
			rc = extract_fail(m->x, "(summary)", ENOMEM);
			break;
		}
		a = &s->att[s->natt - 1];
		path = g_mime_part_iter_get_path(it);
		a->part = mime_text(path, 1);
		g_free(path);
		a->filename = mime_text(g_mime_part_get_filename(GMIME_PART(o)), 1);
		a->content_type = mime_type_of(o);
		rc = mime_store(m, GMIME_PART(o), deadline, &s->limits, a);
	}
	g_mime_part_iter_free(it);
	return rc;
}

/* ---- the summary ---------------------------------------------------------------- */

static void mime_opt_string(struct imt_event *ev, const char *key, const char *v)
{
	extract_json_text(ev, key, v, v != NULL ? strlen(v) : 0);
}

/* The members of the summary; the manifest record names the session
 * (an event has it in its head already). */
static void mime_members(struct imt_event *ev, const struct extract_result *obj,
			 const struct mime_summary *s, int with_session)
{
	event_cstring(ev, "path", obj->path);
	if (with_session)
		event_u64(ev, "session", obj->session);
	event_ascii(ev, "sha256", obj->sha256, 64);
	mime_opt_string(ev, "from", s->from);
	mime_opt_string(ev, "to", s->to);
	mime_opt_string(ev, "cc", s->cc);
	mime_opt_string(ev, "subject", s->subject);
	mime_opt_string(ev, "date", s->date);
	mime_opt_string(ev, "message_id", s->message_id);
	mime_opt_string(ev, "content_type", s->content_type);
	event_array(ev, "attachments");
	for (size_t i = 0; i < s->natt; i++) {
		const struct mime_attachment *a = &s->att[i];

		event_object(ev, NULL);
		mime_opt_string(ev, "part", a->part);
		mime_opt_string(ev, "filename", a->filename);
		mime_opt_string(ev, "content_type", a->content_type);
		event_u64(ev, "size", a->size);
		event_ascii(ev, "sha256", a->sha256, 64);
		event_cstring(ev, "file", a->path);
		event_bool(ev, "complete", a->complete);
		event_close(ev);
	}
	event_close(ev);
	event_u64(ev, "parts", s->parts);
	event_u64(ev, "depth", s->depth);
	event_u64(ev, "warnings", s->warnings);
	event_u64(ev, "size", s->size);
	event_u64(ev, "parsed", s->parsed);
	extract_json_names(ev, "limits", s->limits, limit_names, MIME_L__COUNT);
}

void mime_summary_members(struct imt_event *ev, const struct extract_result *obj,
			  const struct mime_summary *s)
{
	mime_members(ev, obj, s, 0);
}

static int mime_record(struct mime *m, const struct extract_result *obj,
		       const struct mime_summary *s)
{
	struct imt_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	/* Not an event: the type given here is never written. */
	event_begin(&ev, EV_SESSION_START, 0);
	event_ascii(&ev, "record", "message", 7);
	mime_members(&ev, obj, s, 1);
	if (event_end(&ev) != 0)
		rc = extract_fail(m->x, "manifest.ndjson", ENOMEM);
	else
		rc = extract_manifest_write(m->x, ev.text, ev.len);
	event_release(&ev);
	return rc;
}

static void mime_report(struct mime *m, const struct extract_result *obj,
			const struct mime_summary *s)
{
	for (unsigned b = 0; b < MIME_L__COUNT; b++) {
		char detail[256];
		struct imt_finding_report f = {
			.id = F_LIMIT_REACHED, .dir = -1, .limit = limit_names[b],
			.value = s->parsed, .detail = detail,
		};

		if (!(s->limits & (1u << b)))
			continue;
		snprintf(detail, sizeof(detail),
			 "message %.120s: MIME read up to byte %" PRIu64 " of %" PRIu64
			 "; the rest is not summarized", obj->path, s->parsed, s->size);
		extract_report(m->x, obj->session, &f);
	}
}

static void mime_headers(GMimeMessage *msg, struct mime_summary *s)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);

	s->from = mime_addresses(g_mime_message_get_from(msg));
	s->to = mime_addresses(g_mime_message_get_to(msg));
	s->cc = mime_addresses(g_mime_message_get_cc(msg));
	s->subject = mime_text(g_mime_message_get_subject(msg), 0);
	s->date = mime_text(g_mime_object_get_header((GMimeObject *)msg, "Date"), 0);
	s->message_id = mime_text(g_mime_message_get_message_id(msg), 0);
	if (body != NULL)
		s->content_type = mime_type_of(body);
}

/* ---- a plain header block, without a GMimeMessage ------------------------ */

/*
 * The fields GMime's message reads from its header block as it is parsed
 * (gmime-message.c, process_header: the address lists, Subject, Date,
 * Message-Id) and the body's Content-Type.  Building a GMimeMessage
 * costs some thirty GObjects (the message, its six address lists, a
 * header list, an object per header, the body part, its content type,
 * its data wrapper and streams); for a header-only summary the same
 * GMime calls on the field values give the same text with a handful.
 */
enum {
	MF_FROM, MF_TO, MF_CC, MF_SENDER, MF_REPLY_TO, MF_BCC,
	MF_SUBJECT, MF_DATE, MF_MESSAGE_ID, MF_CONTENT_TYPE, MF__COUNT
};

static const char *const mime_fast_names[MF__COUNT] = {
	"From", "To", "Cc", "Sender", "Reply-To", "Bcc",
	"Subject", "Date", "Message-Id", "Content-Type",
};

/*
 * Finds the fields of the header block h[0, n) (ending with its blank
 * line) when it is plain: printable ASCII, tabs and line ends only (a CR
 * only before LF), no encoded word ("=?"), every field "Name:value" with
 * an RFC 5322 name, each field above at most once, no
 * Content-Disposition.  Fills v and len (NULL when absent; values are
 * the raw, folded text after the colon, as GMime keeps it).  Returns 0,
 * or -1 when the block is not plain (GMime's message then reads it).
 */
static int mime_fast_fields(const unsigned char *h, size_t n,
			    const char *v[MF__COUNT], size_t len[MF__COUNT])
{
	size_t i = 0, nfields = 0;

	for (size_t k = 0; k < n; k++) {
		unsigned char c = h[k];

		if (c == '\r' ? k + 1 >= n || h[k + 1] != '\n' :
		    c != '\t' && c != '\n' && (c < 0x20 || c > 0x7e))
			return -1;
		if (c == '=' && k + 1 < n && h[k + 1] == '?')
			return -1;
	}
	for (int f = 0; f < MF__COUNT; f++) {
		v[f] = NULL;
		len[f] = 0;
	}
	while (i < n && h[i] != '\n' && h[i] != '\r') {
		size_t name = i, nlen, val, vend;
		const unsigned char *lf;
		int f;

		while (i < n && h[i] > 0x20 && h[i] < 0x7f && h[i] != ':')
			i++;
		nlen = i - name;
		if (nlen == 0 || i >= n || h[i] != ':')
			return -1;
		val = ++i;
		/* The field ends at a line end that no space or tab follows. */
		for (;;) {
			if ((lf = memchr(h + i, '\n', n - i)) == NULL)
				return -1;
			i = (size_t)(lf - h) + 1;
			if (i >= n || (h[i] != ' ' && h[i] != '\t'))
				break;
		}
		vend = i - 1;
		if (vend > val && h[vend - 1] == '\r')
			vend--;
		nfields++;
		if (nlen == 19 && strncasecmp((const char *)h + name, "Content-Disposition", 19) == 0)
			return -1;
		for (f = 0; f < MF__COUNT; f++)
			if (strlen(mime_fast_names[f]) == nlen &&
			    strncasecmp((const char *)h + name, mime_fast_names[f], nlen) == 0)
				break;
		if (f == MF__COUNT)
			continue;
		if (v[f] != NULL)
			return -1;
		v[f] = (const char *)h + val;
		len[f] = vend - val;
	}
	return nfields > 0 && i < n ? 0 : -1;
}

/* ---- the memo ---------------------------------------------------------------- */

/* The memo's slot for v (of kind), and v's hash in *h_r. */
static struct mime_memo *memo_slot(struct mime *m, enum mime_memo_kind kind,
				   const char *v, size_t len, uint64_t *h_r)
{
	*h_r = hash_bytes(m->memo_seed ^ (uint64_t)kind, v, len);
	return &m->memo[*h_r % MIME_MEMO_SLOTS];
}

/* Whether slot e holds v (of kind, hash h); if so, *out_r is a copy of
 * its result (NULL for none).  A copy that cannot be made is a miss. */
static int memo_get(const struct mime_memo *e, enum mime_memo_kind kind, uint64_t h,
		    const char *v, size_t len, char **out_r)
{
	if (e->kind != kind || e->hash != h || e->len != len || memcmp(e->key, v, len) != 0)
		return 0;
	*out_r = NULL;
	if (e->out != NULL && (*out_r = strdup(e->out)) == NULL)
		return 0;
	return 1;
}

/* Keeps v's result out (NULL for none) in slot e, in place of its own. */
static void memo_put(struct mime_memo *e, enum mime_memo_kind kind, uint64_t h,
		     const char *v, size_t len, const char *out)
{
	char *key, *copy = NULL;

	if (len > MIME_MEMO_KEY_MAX || (out != NULL && strlen(out) > MIME_MEMO_KEY_MAX))
		return;
	key = malloc(len + 1);
	if (key == NULL || (out != NULL && (copy = strdup(out)) == NULL)) {
		free(key);
		return;
	}
	memcpy(key, v, len);
	free(e->key);
	free(e->out);
	*e = (struct mime_memo){ h, kind, len, key, copy };
}

/* A field's value as g_mime_header_get_value() gives it: unfolded,
 * decoded (a new string, or NULL for an absent field). */
static char *mime_fast_value(struct mime *m, const char *v, size_t len)
{
	char *raw, *unfolded, *dec;

	if (v == NULL)
		return NULL;
	raw = g_strndup(v, len);
	unfolded = g_mime_utils_header_unfold(raw);
	dec = g_mime_utils_header_decode_text(m->opts, unfolded);
	g_free(unfolded);
	g_free(raw);
	return dec;
}

/* An address field as the message's list gives it; the lists the
 * summary does not show are parsed all the same, as GMime does. */
static char *mime_fast_addresses(struct mime *m, const char *v, size_t len)
{
	InternetAddressList *l;
	uint32_t warned = m->warnings;
	struct mime_memo *e;
	uint64_t h;
	char *raw, *t;

	if (v == NULL)
		return NULL;
	e = memo_slot(m, MEMO_ADDRESSES, v, len, &h);
	if (memo_get(e, MEMO_ADDRESSES, h, v, len, &t))
		return t;
	raw = g_strndup(v, len);
	l = internet_address_list_parse(m->opts, raw);
	g_free(raw);
	t = l != NULL ? mime_addresses(l) : NULL;
	if (l != NULL)
		g_object_unref(l);
	if (m->warnings == warned)
		memo_put(e, MEMO_ADDRESSES, h, v, len, t);
	return t;
}

/* The top-level content type from a Content-Type value: NULL when it
 * names a file (an attachment) or GMime cannot read it. */
static char *mime_fast_type(struct mime *m, const char *v, size_t len)
{
	GMimeContentType *ct;
	uint32_t warned = m->warnings;
	struct mime_memo *e = NULL;
	uint64_t h = 0;
	char *g, *t = NULL;

	if (v == NULL) {
		ct = g_mime_content_type_new("text", "plain");
	} else {
		char *raw;

		/* Only types that are not attachments are kept: a hit is one. */
		e = memo_slot(m, MEMO_CONTENT_TYPE, v, len, &h);
		if (memo_get(e, MEMO_CONTENT_TYPE, h, v, len, &t))
			return t;
		raw = g_strndup(v, len);
		ct = g_mime_content_type_parse(m->opts, raw);
		g_free(raw);
	}
	if (ct != NULL && g_mime_content_type_get_parameter(ct, "name") == NULL) {
		g = g_mime_content_type_get_mime_type(ct);
		t = mime_text(g, 1);
		g_free(g);
	}
	if (ct != NULL)
		g_object_unref(ct);
	if (e != NULL && t != NULL && m->warnings == warned)
		memo_put(e, MEMO_CONTENT_TYPE, h, v, len, t);
	return t;
}

/*
 * The header fields of the summary from a plain header block h[0, n),
 * through GMime's own field parsers.  Returns 0 with s's text fields
 * set, or -1 (s untouched) when the block is not plain, the body
 * declares a file name (an attachment, decoded from the file) or a
 * parser warned (the message parser is then asked, for its count).
 */
static int mime_fast(struct mime *m, const unsigned char *h, size_t n,
		     struct mime_summary *s)
{
	const char *v[MF__COUNT];
	size_t len[MF__COUNT];
	struct mime_summary t;
	char *g;

	if (mime_fast_fields(h, n, v, len) != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	m->warnings = 0;
	t.from = mime_fast_addresses(m, v[MF_FROM], len[MF_FROM]);
	t.to = mime_fast_addresses(m, v[MF_TO], len[MF_TO]);
	t.cc = mime_fast_addresses(m, v[MF_CC], len[MF_CC]);
	for (int f = MF_SENDER; f <= MF_BCC; f++)
		free(mime_fast_addresses(m, v[f], len[f]));
	g = mime_fast_value(m, v[MF_SUBJECT], len[MF_SUBJECT]);
	t.subject = mime_text(g, 0);
	g_free(g);
	g = mime_fast_value(m, v[MF_DATE], len[MF_DATE]);
	t.date = mime_text(g, 0);
	g_free(g);
	g = mime_fast_value(m, v[MF_MESSAGE_ID], len[MF_MESSAGE_ID]);
	if (g != NULL) {
		char *id = g_mime_utils_decode_message_id(g);

		t.message_id = mime_text(id, 0);
		g_free(id);
		g_free(g);
	}
	t.content_type = mime_fast_type(m, v[MF_CONTENT_TYPE], len[MF_CONTENT_TYPE]);
	if (t.content_type == NULL || m->warnings != 0) {
		mime_summary_free(&t);
		return -1;
	}
	s->from = t.from;
	s->to = t.to;
	s->cc = t.cc;
	s->subject = t.subject;
	s->date = t.date;
	s->message_id = t.message_id;
	s->content_type = t.content_type;
	s->warnings = 0;
	return 0;
}

/* Reads the message at fd through a scan (mime_scan.h): how much of it
 * GMime may be given.  Returns 0, or -1 (errno set). */
static int mime_measure(struct mime *m, int fd, uint64_t deadline,
			struct mime_scan_result *r)
{
	struct mime_scan *sc = mime_scan_new(extract_limits(m->x));
	int rc = 0;

	if (sc == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		ssize_t k = read(fd, m->block, MIME_BLOCK);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -1;
			break;
		}
		if (k == 0 || mime_scan_feed(sc, m->block, (size_t)k))
			break;
		if (mime_now_ms() >= deadline)
			mime_scan_stop(sc, MIME_L_TIME);
	}
	mime_scan_finish(sc, r);
	mime_scan_free(sc);
	return rc;
}

/* GMime's message from the first `len` bytes of fs (all of it when
 * len is the file's size), or NULL; counts the parser's warnings into
 * s->warnings. */
static GMimeMessage *mime_parse(struct mime *m, GMimeStream *fs, uint64_t len,
				uint64_t size, struct mime_summary *s)
{
	GMimeStream *st = fs;
	GMimeMessage *msg;

	g_mime_stream_seek(fs, 0, GMIME_STREAM_SEEK_SET);
	if (len < size)
		st = g_mime_stream_substream(fs, 0, (gint64)len);
	/* The parser keeps a reference to st until it is given the next
	 * message's stream (or freed). */
	g_mime_parser_init_with_stream(m->parser, st);
	m->warnings = 0;
	msg = g_mime_parser_construct_message(m->parser, m->opts);
	s->warnings = m->warnings;
	if (st != fs)
		g_object_unref(st);
	return msg;
}

/* The message is one part, not an attachment: its content is not
 * needed.  (A single part declaring a file name or a disposition of
 * attachment is one, and is decoded.) */
static int mime_header_only(GMimeMessage *msg)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);

	return body == NULL || (GMIME_IS_PART(body) && !mime_is_attachment(body, body));
}

/* The message's file, open for reading, or -1. */
static int mime_open(struct mime *m, const struct extract_result *obj)
{
	/* The writer may still be writing it. */
	extract_sync(m->x);
	return openat(extract_dirfd(m->x), obj->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* The same as a GMime stream (owning the descriptor), or NULL. */
static GMimeStream *mime_file(struct mime *m, const struct extract_result *obj)
{
	int fd = mime_open(m, obj);

	return fd >= 0 ? g_mime_stream_fs_new(fd) : NULL;
}

int mime_summarize(struct mime *m, const struct extract_result *obj,
		   struct mime_summary *s)
{
	const struct imt_limits *lim = extract_limits(m->x);
	uint64_t deadline = mime_now_ms() + lim->mime_time_ms;
	struct mime_scan_result sr;
	GMimeStream *fs = NULL;
	GMimeMessage *msg = NULL;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (extract_error(m->x) != NULL)
		return -1;
	/* The scan ran as the file was written; else it reads the file. */
	if (obj->scanned && obj->scan.cut <= obj->size) {
		sr = obj->scan;
	} else {
		int fd = mime_open(m, obj);

		if (fd < 0)
			return -1;
		if (mime_measure(m, fd, deadline, &sr) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
			close(fd);
			return -1;
		}
		fs = g_mime_stream_fs_new(fd);
	}
	s->size = obj->size;
	s->parsed = sr.cut;
	s->parts = sr.parts;
	s->depth = sr.depth;
	s->limits = sr.limits;
	/* A single-part message whose header block ends before the cut: the
	 * header block alone gives every field of the summary, unless the
	 * part turns out to be an attachment.  It is in memory when it is
	 * short enough. */
	if (sr.parts == 1 && sr.leaf && sr.body > 0 && sr.body < sr.cut) {
		if (fs == NULL && obj->head != NULL && sr.body <= obj->head_len &&
		    m->fast && mime_fast(m, obj->head, (size_t)sr.body, s) == 0) {
			mime_report(m, obj, s);
			return mime_record(m, obj, s);
		}
		if (fs == NULL && obj->head != NULL && sr.body <= obj->head_len) {
			GMimeStream *mem = g_mime_stream_mem_new_with_buffer(
				(const char *)obj->head, (size_t)sr.body);

			msg = mime_parse(m, mem, sr.body, sr.body, s);
			g_object_unref(mem);
		} else if (fs != NULL || (fs = mime_file(m, obj)) != NULL) {
			msg = mime_parse(m, fs, sr.body, s->size, s);
		}
		if (msg != NULL && !mime_header_only(msg)) {
			g_object_unref(msg);
			msg = NULL;
		}
	}
	if (msg == NULL && (fs != NULL || (fs = mime_file(m, obj)) != NULL))
		msg = mime_parse(m, fs, sr.cut, s->size, s);
	if (msg != NULL) {
		mime_headers(msg, s);
		rc = mime_walk(m, msg, deadline, s);
		g_object_unref(msg);
	}
	if (fs != NULL)
		g_object_unref(fs);
	mime_report(m, obj, s);
	if (rc == 0)
		rc = mime_record(m, obj, s);
	return rc;
}

void mime_summary_free(struct mime_summary *s)
{
	for (size_t i = 0; i < s->natt; i++) {
		free(s->att[i].part);
		free(s->att[i].filename);
		free(s->att[i].content_type);
	}
	free(s->att);
	free(s->from);
	free(s->to);
	free(s->cc);
	free(s->subject);
	free(s->date);
	free(s->message_id);
	free(s->content_type);
	memset(s, 0, sizeof(*s));
}
