/*
 * imap_rec.c - the transcript recorder of the IMAP parser tests (see
 * imap_rec.h).
 */
#include "imap_rec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_int.h"
#include "mem.h"

struct rec {
	char *s;
	size_t len, cap;
	struct imap_parser *p;
	int auto_mode;           /* switch modes like the session engine */
	int show_canon;          /* record tokens_text too */
	int show_bytes;          /* record literal bytes and line text */
	int in_bytes;            /* an "LY" line of literal bytes is open */
};

static void rec_put(struct rec *r, const char *s, size_t n)
{
	ck_assert_int_eq(mem_grow(&r->s, &r->cap, r->len + n + 1, 1, 256,
				  SIZE_MAX), 0);
	memcpy(r->s + r->len, s, n);
	r->len += n;
	r->s[r->len] = '\0';
}

static void rec_printf(struct rec *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (r->in_bytes) {
		/* Literal bytes come in any chunking; they end their line
		 * only when something else is recorded. */
		r->in_bytes = 0;
		rec_put(r, "\n", 1);
	}
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	rec_put(r, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void rec_esc(struct rec *r, const char *s, size_t n)
{
	rec_put(r, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '%')
			rec_put(r, (const char *)&c, 1);
		else
			rec_printf(r, "%%%02x", c);
	}
	rec_put(r, "\"", 1);
}

static const char *tok_name(unsigned t)
{
	static const char *const n[] = {
#define TOK_NAME(e, name) [e] = name,
		IMAP_TOK_TYPES(TOK_NAME)
#undef TOK_NAME
	};
	return n[t];
}

/* The tokens in canonical spelling, as the session engine writes them
 * back: one space between neighbours, none after '(' or before ')'. */
static size_t canon_render(const struct imap_element *el, char *buf, size_t size)
{
	size_t o = 0;
	int space = 0;

	for (size_t i = 0; i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		int quoted = t->type == IMAP_TOK_QUOTED;
		size_t n = t->type == IMAP_TOK_LIST ? 1 :
			   t->type == IMAP_TOK_LIST_END ? 1 : t->len + 2 * quoted;

		ck_assert(t->type != IMAP_TOK_LITERAL);
		if (space && t->type != IMAP_TOK_LIST_END)
			buf[o++] = ' ';
		ck_assert(o + n < size);
		if (t->type == IMAP_TOK_LIST)
			buf[o] = '(';
		else if (t->type == IMAP_TOK_LIST_END)
			buf[o] = ')';
		else if (quoted)
			buf[o] = buf[o + n - 1] = '"';
		if (t->type != IMAP_TOK_LIST && t->type != IMAP_TOK_LIST_END)
			memcpy(buf + o + quoted, el->buf + t->off, t->len);
		o += n;
		space = t->type != IMAP_TOK_LIST;
	}
	return o;
}

static void check_canon(struct rec *r, const struct imap_element *el)
{
	char buf[16384];
	size_t n;

	if (el->tokens_text == NULL)
		return;
	ck_assert_uint_gt(el->ntokens, 0);
	ck_assert_uint_eq(el->tokens_dropped, 0);
	n = canon_render(el, buf, sizeof(buf));
	ck_assert_uint_eq(n, el->tokens_text_len);
	ck_assert(memcmp(buf, el->tokens_text, n) == 0);
	if (r->show_canon) {
		rec_printf(r, "CANON ");
		rec_esc(r, el->tokens_text, el->tokens_text_len);
		rec_printf(r, "\n");
	}
}

static void rec_element(void *u, const struct imap_element *el)
{
	struct rec *r = u;

	rec_printf(r, "EL %s @%" PRIu64 "+%" PRIu64 " line=",
		   imap_kind_name(el->kind), el->offset, el->length);
	rec_esc(r, el->line, el->line_len);
	if (el->line_truncated)
		rec_printf(r, " trunc");
	if (el->tag != NULL) {
		rec_printf(r, " tag=");
		rec_esc(r, el->tag, el->tag_len);
	}
	if (el->tag_invalid)
		rec_printf(r, " tag-invalid");
	if (el->name[0] != '\0')
		rec_printf(r, " name=%s", el->name);
	if (el->has_number)
		rec_printf(r, " n=%" PRIu64, el->number);
	if (el->is_status)
		rec_printf(r, " status");
	if (el->code != NULL) {
		rec_printf(r, " code=");
		rec_esc(r, el->code, el->code_len);
	}
	if (el->code_args != NULL) {
		rec_printf(r, " args=");
		rec_esc(r, el->code_args, el->code_args_len);
	}
	if (el->text != NULL) {
		rec_printf(r, " text=");
		rec_esc(r, el->text, el->text_len);
	}
	if (el->literals != 0)
		rec_printf(r, " lit=%u/%" PRIu64, el->literals, el->literal_bytes);
	if (el->partial)
		rec_printf(r, " partial");
	if (el->tokens_dropped != 0)
		rec_printf(r, " drop=%zu", el->tokens_dropped);
	if (!el->syntax_ok)
		rec_printf(r, " SYNTAX");
	rec_printf(r, "\n");
	for (size_t i = 0; i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		rec_printf(r, "  %s d%u", tok_name(t->type), t->depth);
		if (t->flags != 0)
			rec_printf(r, " f%u", t->flags);
		if (t->type == IMAP_TOK_LIST) {
			rec_printf(r, " ->%" PRIu64 "\n", t->num);
			continue;
		}
		if (t->type == IMAP_TOK_LIST_END) {
			rec_printf(r, "\n");
			continue;
		}
		rec_printf(r, " ");
		rec_esc(r, el->buf + t->off, t->len);
		if (t->type == IMAP_TOK_NUMBER || t->type == IMAP_TOK_LITERAL)
			rec_printf(r, " =%" PRIu64, t->num);
		rec_printf(r, "\n");
	}
	/* Whenever the parser says the tokens are their own text, they are. */
	check_canon(r, el);
	if (!r->auto_mode)
		return;
	/* AUTHENTICATE with an initial response (SASL-IR) is one line. */
	if (el->kind == IMAP_EL_COMMAND &&
	    ((strcmp(el->name, "AUTHENTICATE") == 0 && el->ntokens == 1) ||
	     strcmp(el->name, "IDLE") == 0))
		imap_parser_set_mode(r->p, IMAP_MODE_LINE);
	if (el->kind == IMAP_EL_CLIENT_LINE &&
	    ((el->line_len == 4 && memcmp(el->line, "DONE", 4) == 0) ||
	     (el->line_len == 1 && el->line[0] == '*')))
		imap_parser_set_mode(r->p, IMAP_MODE_COMMAND);
	if (el->kind == IMAP_EL_UNTAGGED && strcmp(el->name, "ENABLED") == 0)
		imap_parser_set_utf8(r->p, 1);
}

static void rec_lit_begin(void *u, const struct imap_literal *l)
{
	rec_printf(u, "LB %" PRIu64 " @%" PRIu64 "%s%s%s", l->size,
		   l->data_offset, l->nonsync ? " +" : "", l->minus ? " -" : "",
		   l->binary ? " ~" : "");
	if (((struct rec *)u)->show_bytes && l->line != NULL) {
		rec_printf(u, " line=");
		rec_esc(u, l->line, l->line_len);
	}
	rec_printf(u, "\n");
}

/* The literal's bytes on one "LY" line, escaped byte by byte. */
static void rec_lit_bytes(void *u, const uint8_t *p, size_t n)
{
	struct rec *r = u;

	if (!r->in_bytes)
		rec_printf(r, "LY ");
	for (size_t i = 0; i < n; i++) {
		char b[4];

		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '%') {
			rec_put(r, (const char *)&p[i], 1);
			continue;
		}
		snprintf(b, sizeof(b), "%%%02x", p[i]);
		rec_put(r, b, 3);
	}
	r->in_bytes = 1;
}

static void rec_lit_data(void *u, uint64_t off)
{
	rec_printf(u, "LD @%" PRIu64 "\n", off);
}

static void rec_finding(void *u, const struct imt_finding_report *f)
{
	struct rec *r = u;

	rec_printf(r, "F %s @%" PRIu64, imt_finding_info(f->id)->id, f->offset);
	if (f->limit != NULL)
		rec_printf(r, " limit=%s", f->limit);
	if (f->value != 0)
		rec_printf(r, " v=%" PRIu64, f->value);
	rec_printf(r, "\n");
}

/* ---- feeding ---- */

struct opts irec_opts(enum imap_side side)
{
	struct opts o;

	memset(&o, 0, sizeof(o));
	o.side = side;
	imt_limits_default(&o.lim);
	return o;
}

/* Feeds in, cut at cuts[] (sorted), gaps at their positions. */
char *irec_run(const struct opts *o, const char *in, size_t len,
	       const size_t *cuts, size_t ncuts)
{
	static const struct imap_callbacks cb = {
		rec_element, rec_lit_begin, rec_lit_data, rec_finding, NULL,
	};
	static const struct imap_callbacks cb_bytes = {
		rec_element, rec_lit_begin, rec_lit_data, rec_finding,
		rec_lit_bytes,
	};
	struct rec r;
	void *mem = NULL;
	size_t i = 0, ci = 0, gi = 0;

	memset(&r, 0, sizeof(r));
	r.auto_mode = o->auto_mode;
	r.show_canon = o->show_canon;
	r.show_bytes = o->show_bytes;
	if (o->in_place) {
		mem = aligned_alloc(16, (imap_parser_size() + 15) & ~(size_t)15);
		ck_assert_ptr_nonnull(mem);
		memset(mem, 0, imap_parser_size());
		r.p = imap_parser_init(mem, o->side, &o->lim,
				       o->show_bytes ? &cb_bytes : &cb, &r);
		ck_assert_ptr_eq(r.p, mem);
	} else {
		r.p = imap_parser_new(o->side, &o->lim,
				      o->show_bytes ? &cb_bytes : &cb, &r);
	}
	ck_assert_ptr_nonnull(r.p);
	if (o->shelf != NULL)
		imap_parser_set_shelf(r.p, o->shelf);
	if (o->midstream)
		imap_parser_set_midstream(r.p);
	if (o->utf8)
		imap_parser_set_utf8(r.p, 1);
	for (;;) {
		size_t next = len;

		while (gi < o->ngaps && o->gaps[gi].pos == i) {
			enum imap_gap_result g = imap_parser_gap(r.p, o->gaps[gi].bytes);
			rec_printf(&r, "GAP %s\n", g == IMAP_GAP_IN_LITERAL ?
				   "in-literal" : "resync");
			if (o->segments)
				imap_parser_segment(r.p);
			gi++;
		}
		if (i >= len)
			break;
		while (ci < ncuts && cuts[ci] <= i)
			ci++;
		if (ci < ncuts && cuts[ci] < next)
			next = cuts[ci];
		if (gi < o->ngaps && o->gaps[gi].pos < next)
			next = o->gaps[gi].pos;
		imap_parser_feed(r.p, (const uint8_t *)in + i, next - i);
		/* Storage is held only inside a line or a literal. */
		if (o->check_idle && !imap_parser_idle(r.p))
			ck_assert(r.p->w->el_active || r.p->state == IMAP_S_LITERAL);
		if (o->trim)
			imap_parser_trim(r.p);
		i = next;
	}
	rec_printf(&r, "FIN %d @%" PRIu64 "\n", imap_parser_finish(r.p),
		   imap_parser_offset(r.p));
	if (o->in_place) {
		imap_parser_fini(r.p);
		free(mem);
	} else {
		imap_parser_free(r.p);
	}
	if (r.s == NULL)
		rec_put(&r, "", 0);
	return r.s;
}

static void same(const char *want, char *got, const char *how, size_t a, size_t b)
{
	if (strcmp(want, got) != 0) {
		fprintf(stderr, "transcripts differ (%s %zu %zu)\n--- whole:\n%s"
			"--- split:\n%s", how, a, b, want, got);
		ck_abort_msg("transcript differs when split (%s at %zu, %zu)",
			     how, a, b);
	}
	free(got);
}

/* Runs every chunking; returns the whole-feed transcript (to free). */
char *irec_check(const struct opts *o, const char *in, size_t len)
{
	char *whole = irec_run(o, in, len, NULL, 0);
	size_t *cuts = calloc(len + 1, sizeof(*cuts));
	size_t step;

	ck_assert_ptr_nonnull(cuts);
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	same(whole, irec_run(o, in, len, cuts, len ? len - 1 : 0), "bytes", 0, 0);
	for (size_t i = 1; i < len; i++)
		same(whole, irec_run(o, in, len, &i, 1), "two", i, 0);
	step = len / 48 + 1;
	for (size_t i = 1; i < len; i += step) {
		for (size_t j = i + 1; j < len; j += step) {
			size_t c[2] = { i, j };
			same(whole, irec_run(o, in, len, c, 2), "three", i, j);
		}
	}
	free(cuts);
	return whole;
}

char *irec_check_str(const struct opts *o, const char *in)
{
	return irec_check(o, in, strlen(in));
}

size_t irec_count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

/* On failure the transcript goes to stderr: Check cuts long messages. */
void irec_expect(int ok, const char *what, const char *s, const char *t,
		 const char *file, int line)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: %s [%s] in:\n%s\n", file, line, what, s, t);
	ck_abort_msg("%s:%d: %s [%.200s]", file, line, what, s);
}
