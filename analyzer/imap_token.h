/*
 * imap_token.h - internal to the IMAP parser: the tokenizer that turns
 * one completed line into the flat token array of imap.h.
 *
 * It runs once per line on the buffered line text.  Literal markers
 * ({N}, {N+}, {N-}, ~{N}) are only literals where the framing layer
 * recorded one (a marker followed by CRLF on the wire); their previews
 * were copied behind the line text, so a LITERAL token's text lies in the
 * same buffer.  No recursion: open lists are kept on an explicit stack
 * capped at max_depth, deeper lists are only counted.
 */
#ifndef IMT_IMAP_TOKEN_H
#define IMT_IMAP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"

/* Where the framing layer saw a real literal in the line text. */
struct imap_lit_rec {
	uint32_t mark_off;       /* offset of '{' or '~' in the line text */
	uint32_t mark_len;       /* length of the marker, "}" included */
	uint32_t prev_off;       /* preview offset in the preview arena */
	uint32_t prev_len;
	uint64_t size;           /* declared size */
	uint8_t flags;           /* IMAP_TOKF_ */
	uint8_t bad;             /* size unreadable: not a literal, an atom */
};

/* Reusable token storage and the tokenizer's verdict on one line. */
struct imap_toks {
	struct imap_token *tok;
	size_t ntok;
	size_t alloc;
	size_t max;              /* limits.max_tokens */
	size_t dropped;          /* tokens not stored (token cap or depth cap) */
	uint32_t *stack;         /* indexes of open stored LIST tokens */
	size_t sdepth;
	size_t salloc;
	size_t max_depth;        /* limits.max_depth */
	uint64_t deep;           /* open lists beyond max_depth */
	int hit_tokens;          /* the token cap was reached */
	int hit_depth;           /* the depth cap was reached */
	int syntax_err;
	/* The tokens stand in the line as sess_token_render() would write them
	 * back: one space between neighbours, none after '(' or before ')',
	 * no literal, nothing cut.  Then text_off/text_len is that text. */
	int canonical;
	size_t text_off, text_len;
};

/* What to tokenize: buf[start, end), with the line's literal records. */
struct imap_tok_in {
	const char *buf;
	size_t start, end;
	const struct imap_lit_rec *lits;
	size_t nlits;
	size_t prev_base;        /* where the preview arena starts in buf */
	int lenient;             /* no syntax errors (free text, cut lines) */
	int truncated;           /* the line was cut: flag its last token */
};

void imap_toks_init(struct imap_toks *t, size_t max_tokens, size_t max_depth);
void imap_toks_free(struct imap_toks *t);

/* Forgets the previous line's tokens; keeps the storage. */
void imap_toks_reset(struct imap_toks *t);

/*
 * Appends the tokens of in->buf[start, end) to t.  Sets t->syntax_err
 * (unless lenient) for unbalanced parentheses, an unterminated quoted
 * string or bracket, or a '{' that is not a literal.  Never fails: tokens
 * that cannot be stored (caps, out of memory) are counted in t->dropped.
 */
void imap_tokenize(struct imap_toks *t, const struct imap_tok_in *in);

#endif
