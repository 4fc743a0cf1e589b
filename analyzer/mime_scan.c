/*
 * mime_scan.c - how much of a message a MIME parser may safely be given.
 *
 * GMime builds the whole tree of a message in memory: an object per part
 * and a copy of every header.  A hostile message (a million empty parts,
 * nesting thousands deep, a header field of a gigabyte) would cost memory
 * and time without bound.  This scan reads the file once, line by line
 * through a fixed buffer, and follows the structure the way GMime will:
 * header blocks, Content-Type (parsed by GMime itself, so both agree on
 * the boundary), a stack of open boundaries, attached messages.  At the
 * first line that would pass a cap it stops: GMime is then given only
 * the bytes before that line.
 *
 * Per line only its first bytes are kept (enough to compare it with the
 * longest boundary that can be declared); per header block only the
 * current field, capped.  Depth of entities: the message is 0, each
 * multipart or attached message opens one more level for what it holds.
 */
#include "mime_scan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mime.h"

struct scan_level {
	char *boundary;          /* NULL: an attached message */
	size_t len;
};

struct mime_scan {
	struct imt_limits lim;
	struct mime_scan_result r;
	uint64_t off;            /* stream offset of the next byte */
	/* the current line */
	uint64_t line_start;
	uint64_t line_len;
	char *pre;               /* its first bytes */
	size_t pre_len, pre_cap;
	/* the current header block */
	int in_header;
	uint64_t block_start;
	uint64_t headers;        /* header bytes of all blocks */
	char *field;             /* the field being read, folded lines kept */
	size_t field_len;
	uint64_t field_start;
	int ct_multipart, ct_message;
	char *ct_boundary;
	/* open levels */
	struct scan_level *lv;
	uint32_t nlv;
	int done;
};

static void scan_stop(struct mime_scan *s, uint64_t cut, unsigned why)
{
	s->r.cut = cut;
	s->r.limits |= 1u << why;
	s->done = 1;
}

/* Reads the Content-Type field just ended (GMime's own parser, so that
 * both see the same boundary). */
static void scan_field_end(struct mime_scan *s)
{
	static const char name[] = "content-type:";
	GMimeContentType *ct;
	const char *b;
	char *v;

	if (s->field_len < sizeof(name) - 1 ||
	    strncasecmp(s->field, name, sizeof(name) - 1) != 0)
		return;
	v = s->field + sizeof(name) - 1;
	s->field[s->field_len] = '\0';
	/* Folded lines joined: line ends become spaces. */
	for (char *c = v; *c != '\0'; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
	ct = g_mime_content_type_parse(NULL, v);
	if (ct == NULL)
		return;
	s->ct_multipart = g_mime_content_type_is_type(ct, "multipart", "*");
	s->ct_message = g_mime_content_type_is_type(ct, "message", "rfc822") ||
			g_mime_content_type_is_type(ct, "message", "global") ||
			g_mime_content_type_is_type(ct, "message", "news");
	b = g_mime_content_type_get_parameter(ct, "boundary");
	free(s->ct_boundary);
	s->ct_boundary = b != NULL ? strdup(b) : NULL;
	g_object_unref(ct);
}

static int scan_push(struct mime_scan *s, char *boundary)
{
	if (s->nlv + 1 > s->lim.max_mime_depth) {
		free(boundary);
		/* The container whose content would go deeper is not given. */
		scan_stop(s, s->block_start, MIME_L_DEPTH);
		return 0;
	}
	s->lv[s->nlv].boundary = boundary;
	s->lv[s->nlv].len = boundary != NULL ? strlen(boundary) : 0;
	s->nlv++;
	if (s->nlv > s->r.depth)
		s->r.depth = s->nlv;
	return 0;
}

static void scan_pop_to(struct mime_scan *s, uint32_t n)
{
	while (s->nlv > n) {
		s->nlv--;
		free(s->lv[s->nlv].boundary);
	}
}

/* A new entity's header block starts at off. */
static void scan_block(struct mime_scan *s, uint64_t off)
{
	if (s->r.parts >= s->lim.max_mime_parts) {
		scan_stop(s, s->line_start, MIME_L_PARTS);
		return;
	}
	s->r.parts++;
	s->in_header = 1;
	s->block_start = off;
	s->field_len = 0;
	s->ct_multipart = s->ct_message = 0;
	free(s->ct_boundary);
	s->ct_boundary = NULL;
}

uint64_t mime_scan_body(const struct mime_scan *s)
{
	return s->r.body;
}

/* The blank line that ends a header block. */
static void scan_block_end(struct mime_scan *s, uint64_t next)
{
	scan_field_end(s);
	s->field_len = 0;
	s->in_header = 0;
	if (s->r.parts == 1 && s->nlv == 0) {
		s->r.body = next;
		s->r.leaf = !s->ct_multipart && !s->ct_message;
	}
	if (s->ct_multipart && s->ct_boundary != NULL) {
		char *b = s->ct_boundary;

		s->ct_boundary = NULL;
		scan_push(s, b);
	} else if (s->ct_message) {
		if (scan_push(s, NULL) == 0 && !s->done)
			scan_block(s, next);
	}
}

/* Is the line a delimiter of an open boundary?  Then acts on it. */
static int scan_delimiter(struct mime_scan *s, uint64_t next)
{
	const char *t = s->pre + 2;
	size_t n;

	if (s->pre_len < 2 || s->pre[0] != '-' || s->pre[1] != '-' ||
	    s->line_len > s->pre_len)
		return 0;
	n = s->pre_len - 2;
	while (n > 0 && (t[n - 1] == '\r' || t[n - 1] == '\n' ||
			 t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	for (uint32_t k = s->nlv; k-- > 0;) {
		const struct scan_level *l = &s->lv[k];

		if (l->boundary == NULL || n < l->len ||
		    memcmp(t, l->boundary, l->len) != 0)
			continue;
		if (n == l->len) {
			scan_pop_to(s, k + 1);
			scan_block(s, next);
			return 1;
		}
		if (n == l->len + 2 && t[l->len] == '-' && t[l->len + 1] == '-') {
			scan_pop_to(s, k);
			s->in_header = 0;
			return 1;
		}
	}
	return 0;
}

/* A whole line was read (or the last, unterminated one). */
static void scan_line_end(struct mime_scan *s)
{
	uint64_t next = s->line_start + s->line_len;

	if (scan_delimiter(s, next) || s->done)
		return;
	if (!s->in_header)
		return;
	if ((s->line_len == 1 && s->pre[0] == '\n') ||
	    (s->line_len == 2 && s->pre[0] == '\r' && s->pre[1] == '\n'))
		scan_block_end(s, next);
}

/* The first byte of a line in a header block: a new field, or more of
 * the current one. */
static void scan_header_line_start(struct mime_scan *s, unsigned char c)
{
	if (c == ' ' || c == '\t')
		return;
	scan_field_end(s);
	s->field_len = 0;
	s->field_start = s->line_start;
}

static void scan_bytes(struct mime_scan *s, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !s->done) {
		const unsigned char *lf;
		size_t k;

		/* Past every header block with no boundary open (the body
		 * of a single-part message, the epilogue): no line can mean
		 * anything, the bytes are only counted. */
		if (!s->in_header && s->nlv == 0) {
			s->off += n - i;
			s->line_len += n - i;
			return;
		}
		lf = memchr(p + i, '\n', n - i);
		k = lf != NULL ? (size_t)(lf - (p + i)) + 1 : n - i;

		if (s->line_len == 0) {
			s->line_start = s->off;
			s->pre_len = 0;
			if (s->in_header)
				scan_header_line_start(s, p[i]);
		}
		if (s->pre_len < s->pre_cap) {
			size_t c = s->pre_cap - s->pre_len < k ? s->pre_cap - s->pre_len : k;

			memcpy(s->pre + s->pre_len, p + i, c);
			s->pre_len += c;
		}
		if (s->in_header) {
			uint64_t room_all = s->headers < s->lim.max_mime_headers ?
					    s->lim.max_mime_headers - s->headers : 0;
			uint64_t room_field = s->field_len < s->lim.max_mime_header ?
					      s->lim.max_mime_header - s->field_len : 0;

			/* Whichever cap the bytes pass first (both at once: the
			 * total), however the bytes are cut. */
			if (k > room_all && room_all <= room_field) {
				scan_stop(s, s->line_start, MIME_L_HEADERS);
				return;
			}
			if (k > room_field) {
				scan_stop(s, s->field_start, MIME_L_HEADER);
				return;
			}
			s->headers += k;
			memcpy(s->field + s->field_len, p + i, k);
			s->field_len += k;
		}
		s->line_len += k;
		s->off += k;
		i += k;
		if (lf != NULL) {
			scan_line_end(s);
			s->line_len = 0;
		}
	}
}

struct mime_scan *mime_scan_new(const struct imt_limits *lim)
{
	struct mime_scan *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->lim = *lim;
	/* A delimiter is "--", a boundary no longer than a field, "--" and
	 * white space. */
	s->pre_cap = (size_t)lim->max_mime_header + 8;
	s->pre = malloc(s->pre_cap);
	s->field = malloc((size_t)lim->max_mime_header + 1);
	s->lv = calloc((size_t)lim->max_mime_depth + 1, sizeof(*s->lv));
	if (s->pre == NULL || s->field == NULL || s->lv == NULL) {
		mime_scan_free(s);
		return NULL;
	}
	scan_block(s, 0);
	return s;
}

void mime_scan_reset(struct mime_scan *s)
{
	char *pre = s->pre, *field = s->field;
	struct scan_level *lv = s->lv;
	struct imt_limits lim = s->lim;
	size_t pre_cap = s->pre_cap;

	scan_pop_to(s, 0);
	free(s->ct_boundary);
	memset(s, 0, sizeof(*s));
	s->lim = lim;
	s->pre = pre;
	s->pre_cap = pre_cap;
	s->field = field;
	s->lv = lv;
	scan_block(s, 0);
}

int mime_scan_feed(struct mime_scan *s, const void *p, size_t n)
{
	if (!s->done)
		scan_bytes(s, p, n);
	return s->done;
}

void mime_scan_stop(struct mime_scan *s, unsigned limit_bit)
{
	if (!s->done)
		scan_stop(s, s->off, limit_bit);
}

void mime_scan_finish(struct mime_scan *s, struct mime_scan_result *r)
{
	if (!s->done) {
		if (s->line_len > 0)
			scan_line_end(s);
		if (!s->done)
			s->r.cut = s->off;
		s->done = 1;
	}
	*r = s->r;
}

void mime_scan_free(struct mime_scan *s)
{
	if (s == NULL)
		return;
	scan_pop_to(s, 0);
	free(s->ct_boundary);
	free(s->lv);
	free(s->field);
	free(s->pre);
	free(s);
}
