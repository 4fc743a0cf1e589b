/*
 * fuzz_imap.h - shared by the IMAP parser fuzz harnesses and by
 * tests/test_imap.c, which replays tests/fuzz/regressions/ through it.
 *
 * Input layout: byte 0 seeds the chunk sizes, byte 1 holds options
 * (small limits, mid-stream start, UTF8=ACCEPT, gaps), the rest is the
 * stream.  Every input is parsed twice, once in as few pieces as the
 * gaps allow and once in the fuzzed chunks, and the callback streams are
 * hashed: they must agree, since the parser promises the same elements
 * however the stream is cut.  A callback also reads every byte it is
 * handed, so ASan sees any pointer the parser gets wrong.
 */
#ifndef IMT_FUZZ_IMAP_H
#define IMT_FUZZ_IMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "imap.h"

struct fz_state {
	uint64_t h;
	struct imap_parser *p;
};

/* The digest so far is the seed of the next piece: order counts. */
static void fz_mix(struct fz_state *z, const void *buf, size_t n)
{
	z->h = hash_bytes(z->h, buf, n);
}

static void fz_mix_u64(struct fz_state *z, uint64_t v)
{
	fz_mix(z, &v, sizeof(v));
}

static void fz_on_element(void *u, const struct imap_element *el)
{
	struct fz_state *z = u;

	fz_mix_u64(z, el->kind);
	fz_mix_u64(z, el->offset);
	fz_mix_u64(z, el->length);
	fz_mix(z, el->line, el->line_len);
	if (el->tag != NULL)
		fz_mix(z, el->tag, el->tag_len);
	fz_mix(z, el->name, strlen(el->name));
	fz_mix_u64(z, el->number);
	if (el->code != NULL)
		fz_mix(z, el->code, el->code_len);
	if (el->code_args != NULL)
		fz_mix(z, el->code_args, el->code_args_len);
	if (el->text != NULL)
		fz_mix(z, el->text, el->text_len);
	for (size_t i = 0; i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		fz_mix_u64(z, (uint64_t)t->type << 24 | (uint64_t)t->flags << 16 | t->depth);
		fz_mix(z, el->buf + t->off, t->len);
		fz_mix_u64(z, t->num);
	}
	fz_mix_u64(z, el->tokens_dropped);
	fz_mix_u64(z, el->literals);
	fz_mix_u64(z, el->literal_bytes);
	fz_mix_u64(z, (uint64_t)el->syntax_ok << 1 | (uint64_t)el->line_truncated);
	/* The engine's switches, so LINE mode and pausing get exercised;
	 * after a pause this harness simply feeds the rest. */
	if (el->kind == IMAP_EL_COMMAND && (strcmp(el->name, "STARTTLS") == 0 ||
					    strcmp(el->name, "COMPRESS") == 0))
		imap_parser_pause(z->p);
	if (el->kind == IMAP_EL_COMMAND &&
	    (strcmp(el->name, "AUTHENTICATE") == 0 || strcmp(el->name, "IDLE") == 0))
		imap_parser_set_mode(z->p, IMAP_MODE_LINE);
	else if (el->kind == IMAP_EL_CLIENT_LINE &&
		 ((el->line_len == 4 && memcmp(el->line, "DONE", 4) == 0) ||
		  (el->line_len == 1 && el->line[0] == '*')))
		imap_parser_set_mode(z->p, IMAP_MODE_COMMAND);
	else if (el->kind == IMAP_EL_UNTAGGED && strcmp(el->name, "ENABLED") == 0)
		imap_parser_set_utf8(z->p, 1);
}

static void fz_on_literal_begin(void *u, const struct imap_literal *l)
{
	struct fz_state *z = u;

	fz_mix_u64(z, l->size);
	fz_mix_u64(z, l->data_offset);
	fz_mix_u64(z, (uint64_t)l->nonsync | (uint64_t)l->minus << 1 |
		   (uint64_t)l->binary << 2);
	if (l->line != NULL)
		fz_mix(z, l->line, l->line_len);
}

static void fz_on_literal_data(void *u, uint64_t off)
{
	fz_mix_u64(u, off ^ 0x5a5a5a5a5a5a5a5aull);
}

/* Byte by byte into the hash: the same however the data is cut. */
static void fz_on_literal_bytes(void *u, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fz_mix(u, p + i, 1);
}

static void fz_on_finding(void *u, const struct imt_finding_report *f)
{
	struct fz_state *z = u;

	fz_mix_u64(z, f->id);
	fz_mix_u64(z, f->offset);
	fz_mix_u64(z, f->value);
	if (f->limit != NULL)
		fz_mix(z, f->limit, strlen(f->limit));
	if (f->detail != NULL)
		fz_mix(z, f->detail, strlen(f->detail));
}

/* A gap follows stream position i when the options ask for gaps. */
static int fz_gap_at(const uint8_t *d, size_t n, size_t i, uint64_t *bytes_r)
{
	if (i == 0 || i >= n || (i * 2654435761u) % 97 != 0)
		return 0;
	*bytes_r = d[i] & 0x80 ? (uint64_t)1 << (d[i] & 63) : d[i];
	return 1;
}

static uint64_t fz_run(enum imap_side side, const uint8_t *data, size_t size,
		       int chunked)
{
	static const struct imap_callbacks cb = {
		fz_on_element, fz_on_literal_begin, fz_on_literal_data,
		fz_on_finding, fz_on_literal_bytes,
	};
	struct imt_limits lim;
	struct fz_state z = { 14695981039346656037ull, NULL };
	uint8_t seed = data[0], opt = data[1];
	const uint8_t *d = data + 2;
	size_t n = size - 2, i = 0;
	uint64_t gap;

	imt_limits_default(&lim);
	if (opt & 1) {
		lim.max_line = 40;
		lim.oversized_arg = 80;
		lim.max_depth = 3;
		lim.max_tokens = 12;
		lim.max_literal = 1000;
		lim.max_tag = 5;
		lim.literal_preview = 4;
	}
	z.p = imap_parser_new(side, &lim, &cb, &z);
	if (z.p == NULL)
		abort();
	if (opt & 2)
		imap_parser_set_midstream(z.p);
	if (opt & 4)
		imap_parser_set_utf8(z.p, 1);
	while (i < n) {
		size_t k = n - i;

		if (chunked) {
			size_t c = 1 + (size_t)((seed * (i + 7)) % 23);
			if (c < k)
				k = c;
		}
		/* Stop at the next gap position so both runs gap alike. */
		for (size_t j = i + 1; (opt & 8) && j < i + k; j++) {
			if (fz_gap_at(d, n, j, &gap)) {
				k = j - i;
				break;
			}
		}
		i += imap_parser_feed(z.p, d + i, k);
		if ((opt & 8) && fz_gap_at(d, n, i, &gap))
			fz_mix_u64(&z, imap_parser_gap(z.p, gap));
	}
	fz_mix_u64(&z, (uint64_t)imap_parser_finish(z.p));
	fz_mix_u64(&z, imap_parser_offset(z.p));
	imap_parser_free(z.p);
	return z.h;
}

/* Parses one input both ways and aborts when they disagree. */
static int fz_one(enum imap_side side, const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (fz_run(side, data, size, 0) != fz_run(side, data, size, 1))
		abort();
	return 0;
}

#endif
