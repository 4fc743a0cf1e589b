/*
 * imap_token.c - the tokenizer of the IMAP parser (see imap_token.h).
 *
 * The grammar is RFC 3501 §9 / RFC 9051 §9, read leniently where real
 * servers and clients are lenient: runs of spaces, missing spaces between
 * a list and its neighbour, ']' and wildcards inside atoms are accepted.
 * What a real peer would reject is a syntax error: unbalanced
 * parentheses, an unterminated quoted string or bracket section, a '{'
 * that does not announce a literal.
 */
#include "imap_token.h"

#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "mem.h"
#include "scan8.h"

/* A LIST whose stored token could not be kept (token cap). */
#define IMAP_TOK_NONE UINT32_MAX

void imap_toks_init(struct imap_toks *t, size_t max_tokens, size_t max_depth)
{
	memset(t, 0, sizeof(*t));
	t->max = max_tokens;
	t->max_depth = max_depth;
}

void imap_toks_free(struct imap_toks *t)
{
	free(t->tok);
	free(t->stack);
	t->tok = NULL;
	t->stack = NULL;
	t->alloc = t->salloc = 0;
}

void imap_toks_reset(struct imap_toks *t)
{
	t->ntok = 0;
	t->dropped = 0;
	t->sdepth = 0;
	t->deep = 0;
	t->hit_tokens = 0;
	t->hit_depth = 0;
	t->syntax_err = 0;
	t->canonical = 0;
}

/* Makes room for one more token when the storage is full; grows by
 * doubling up to the cap, from a few tokens as most lines have (the
 * storage goes back to the parser's shelf between lines, imap_work.c). */
static int imap_toks_room(struct imap_toks *t)
{
	return mem_grow(&t->tok, &t->alloc, t->ntok + 1, sizeof(*t->tok), 8,
			t->max);
}

/* Stores a token; returns its index or IMAP_TOK_NONE when it was only
 * counted (inside too-deep lists, past the token cap, out of memory). */
static inline uint32_t imap_tok_push(struct imap_toks *t,
				     enum imap_tok_type type, uint8_t flags,
				     size_t off, size_t len, uint64_t num)
{
	struct imap_token *k;

	if (t->deep != 0) {
		t->dropped++;
		return IMAP_TOK_NONE;
	}
	/* alloc never exceeds max: below it there is room. */
	if (t->ntok >= t->alloc && (t->ntok >= t->max || imap_toks_room(t) != 0)) {
		t->hit_tokens = 1;
		t->dropped++;
		return IMAP_TOK_NONE;
	}
	k = &t->tok[t->ntok];
	k->type = (uint8_t)type;
	k->flags = flags;
	k->depth = t->sdepth > UINT16_MAX ? UINT16_MAX : (uint16_t)t->sdepth;
	k->off = (uint32_t)off;
	k->len = (uint32_t)len;
	k->num = num;
	return (uint32_t)t->ntok++;
}

static void imap_list_open(struct imap_toks *t, size_t off)
{
	uint32_t idx;

	/* Past the depth cap lists are only counted, so the matching ')'
	 * still closes the right one and memory stays bounded. */
	if (t->deep != 0 || t->sdepth >= t->max_depth) {
		t->hit_depth = 1;
		t->deep++;
		t->dropped++;
		return;
	}
	if (mem_grow(&t->stack, &t->salloc, t->sdepth + 1, sizeof(*t->stack),
		     16, t->max_depth) != 0) {
		t->deep++;
		t->dropped++;
		return;
	}
	idx = imap_tok_push(t, IMAP_TOK_LIST, 0, off, 0, 0);
	t->stack[t->sdepth++] = idx;
}

/* Returns 0, or -1 for a ')' that closes nothing. */
static int imap_list_close(struct imap_toks *t, size_t off)
{
	uint32_t idx, end;

	if (t->deep != 0) {
		t->deep--;
		t->dropped++;
		return 0;
	}
	if (t->sdepth == 0)
		return -1;
	idx = t->stack[--t->sdepth];
	end = imap_tok_push(t, IMAP_TOK_LIST_END, 0, off, 0, 0);
	if (idx != IMAP_TOK_NONE)
		t->tok[idx].num = end != IMAP_TOK_NONE ? end : t->ntok - 1;
	return 0;
}

/* The end of a bracket section that starts at buf[i] == '['; quoted
 * strings inside (HEADER.FIELDS ("X-Foo")) may hold brackets.  Returns
 * the offset after the matching ']', or `end` when it is missing. */
static size_t imap_bracket_end(const char *buf, size_t i, size_t end,
			       int *unterminated_r)
{
	size_t nest = 0;
	int quoted = 0;

	for (; i < end; i++) {
		char c = buf[i];
		if (quoted) {
			if (c == '\\' && i + 1 < end)
				i++;
			else if (c == '"')
				quoted = 0;
		} else if (c == '"') {
			quoted = 1;
		} else if (c == '[') {
			nest++;
		} else if (c == ']' && --nest == 0) {
			*unterminated_r = 0;
			return i + 1;
		}
	}
	*unterminated_r = 1;
	return end;
}

/* Octets that end an atom or need a closer look inside one (the word
 * test in imap_atom_run() looks for the same five). */
static const uint8_t imap_atom_stop[256] = {
	[' '] = 1, ['('] = 1, [')'] = 1, ['"'] = 1, ['['] = 1,
};

/* Where the run of atom octets from i stops: a stop octet, or lim.
 * Eight octets a step while they lie before end (the text's end, which
 * may be past lim); the lowest match of the word test is exact. */
static inline size_t imap_atom_run(const char *buf, size_t i, size_t lim,
				   size_t end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (i + 8 <= end && i < lim) {
		uint64_t w, m;

		memcpy(&w, buf + i, 8);
		m = scan8_eq(w, ' ') | scan8_eq(w, '(') | scan8_eq(w, ')') |
		    scan8_eq(w, '"') | scan8_eq(w, '[');
		if (m != 0) {
			i += (size_t)__builtin_ctzll(m) / 8;
			return i < lim ? i : lim;
		}
		i += 8;
	}
	if (i >= lim)
		return lim;
#endif
	while (i < lim && !imap_atom_stop[(unsigned char)buf[i]])
		i++;
	return i;
}

/*
 * The end of an atom starting at i.  Atoms stop at SP, parentheses,
 * a quote and a recorded literal marker; a bracket section
 * (BODY[HEADER.FIELDS (FROM DATE)]<0.1024>) is part of the atom.
 */
static size_t imap_atom_end(const char *buf, size_t i, size_t end,
			    size_t next_mark, int *bad_r)
{
	size_t lim = next_mark < end ? next_mark : end;

	for (;;) {
		int unterminated;

		i = imap_atom_run(buf, i, lim, end);
		if (i >= lim || buf[i] != '[')
			return i;
		i = imap_bracket_end(buf, i, end, &unterminated);
		if (unterminated)
			*bad_r = 1;
		/* A section that ran past the next marker took it in: the
		 * atom now ends only at a stop octet or the end. */
		if (i > lim)
			lim = end;
	}
}

static void imap_atom_push(struct imap_toks *t, const char *buf,
			   size_t off, size_t len)
{
	uint64_t num;

	if ((unsigned char)(buf[off] - '0') <= 9 &&
	    dec_parse_u64(buf + off, len, UINT64_MAX, &num) == 0)
		imap_tok_push(t, IMAP_TOK_NUMBER, 0, off, len, num);
	else
		imap_tok_push(t, IMAP_TOK_ATOM, 0, off, len, 0);
}

static void imap_literal_push(struct imap_toks *t, const struct imap_tok_in *in,
			      const struct imap_lit_rec *r)
{
	uint8_t flags = r->flags;

	if (r->bad) {
		/* The size could not be read: the framing layer did not
		 * skip any data, so this is text, not a literal. */
		imap_tok_push(t, IMAP_TOK_ATOM, 0, r->mark_off, r->mark_len, 0);
		return;
	}
	if (r->size > r->prev_len)
		flags |= IMAP_TOKF_TRUNCATED;
	imap_tok_push(t, IMAP_TOK_LITERAL, flags, in->prev_base + r->prev_off,
		      r->prev_len, r->size);
}

static size_t imap_quoted(struct imap_toks *t, const char *buf, size_t i,
			  size_t end, int *bad_r)
{
	size_t j = i + 1;

	while (j < end) {
		if (buf[j] == '\\' && j + 1 < end)
			j += 2;
		else if (buf[j] == '"')
			break;
		else
			j++;
	}
	if (j >= end) {
		*bad_r = 1;
		imap_tok_push(t, IMAP_TOK_QUOTED, IMAP_TOKF_TRUNCATED, i + 1,
			      end - (i + 1), 0);
		return end;
	}
	imap_tok_push(t, IMAP_TOK_QUOTED, 0, i + 1, j - (i + 1), 0);
	return j + 1;
}

void imap_tokenize(struct imap_toks *t, const struct imap_tok_in *in)
{
	const char *buf = in->buf;
	size_t i = in->start, end = in->end, li = 0, next_mark;
	size_t first = t->ntok;
	size_t text_off, prev_end;
	int bad = 0, prev_open;
	/* Canonical spelling is judged for the line's first tokens only. */
	int canon = first == 0 && !in->truncated;

	while (li < in->nlits && in->lits[li].mark_off < i)
		li++;
	next_mark = li < in->nlits ? in->lits[li].mark_off : SIZE_MAX;
	while (i < end && buf[i] == ' ')
		i++;
	/* The first token may follow any number of spaces: as if it came
	 * right after a '('. */
	text_off = prev_end = i;
	prev_open = 1;
	while (i < end) {
		char c = buf[i];

		if (i == next_mark) {
			imap_literal_push(t, in, &in->lits[li]);
			i += in->lits[li].mark_len;
			li++;
			next_mark = li < in->nlits ? in->lits[li].mark_off : SIZE_MAX;
			canon = 0;
			continue;
		}
		if (c == ' ') {
			i++;
			continue;
		}
		/* One space between neighbours, none after '(' or before ')'. */
		canon &= i - prev_end == (size_t)!(prev_open | (c == ')'));
		prev_open = c == '(';
		if (c == '(') {
			imap_list_open(t, i);
			i++;
		} else if (c == ')') {
			if (imap_list_close(t, i) != 0)
				bad = 1;
			i++;
		} else if (c == '"') {
			i = imap_quoted(t, buf, i, end, &bad);
		} else {
			size_t j = imap_atom_end(buf, i, end, next_mark, &bad);
			if (j == i)
				j = i + 1;	/* cannot happen; stay linear */
			/* A '{' that announces nothing: a real literal would
			 * have been recorded by the framing layer. */
			if (c == '{' || (c == '~' && i + 1 < end && buf[i + 1] == '{'))
				bad = 1;
			imap_atom_push(t, buf, i, j - i);
			i = j;
		}
		prev_end = i;
		/* A bracket section may have taken markers in. */
		if (i > next_mark) {
			while (li < in->nlits && in->lits[li].mark_off < i)
				li++;
			next_mark = li < in->nlits ? in->lits[li].mark_off : SIZE_MAX;
		}
	}
	if (t->deep != 0 || t->sdepth != 0)
		bad = 1;
	t->canonical = canon && prev_end > text_off && !bad && prev_end == end &&
		       t->dropped == 0;
	t->text_off = text_off;
	t->text_len = prev_end - text_off;
	/* Lists the line left open point at the last token, as imap.h says. */
	for (size_t d = 0; d < t->sdepth; d++) {
		if (t->stack[d] != IMAP_TOK_NONE)
			t->tok[t->stack[d]].num = t->ntok - 1;
	}
	t->sdepth = 0;
	t->deep = 0;
	if (in->truncated && t->ntok > first)
		t->tok[t->ntok - 1].flags |= IMAP_TOKF_TRUNCATED;
	if (bad && !in->lenient)
		t->syntax_err = 1;
}
