/*
 * imap.c - the streaming IMAP parser (see imap.h).
 *
 * Framing is a three-state machine fed in any chunking:
 *   LINE     line text is scanned (memchr for LF) and kept in a buffer
 *            capped at limits.max_line; past the cap it is only counted.
 *   LITERAL  the data of a literal announced at the end of the line so
 *            far is skipped in blocks; only a short preview is kept.
 *            Afterwards the same logical line continues in LINE.
 *   SKIP     after a gap, bytes up to the next LF are dropped.
 * When a logical line is complete it is parsed once (imap_deliver):
 * its head (tag, command, status, response code) by imap_head.c, its
 * arguments by the tokenizer in imap_token.c.
 *
 * Layout: the parser object and its settings; framing findings; the
 * line scan; literal markers and previews; delivery of a completed line;
 * the feed, gap and finish calls.  The struct is in imap_int.h.
 *
 * Findings about bytes of a line (bare CR/LF, NUL, 8-bit, length) are
 * collected as once-per-line flags and reported in a fixed order when the
 * line is delivered or a literal starts, never from the middle of a
 * chunk: that keeps the callbacks identical however the stream is cut,
 * and lets a resynchronising parser drop a junk line with its findings.
 */
#include "imap.h"

#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "imap_cmd.h"
#include "imap_int.h"
#include "mem.h"
#include "scan8.h"

/* More digits than this cannot be a sane literal size (2^64 has 20). */
#define IMAP_MAX_LIT_DIGITS 20

/* First size of the line and preview buffers; they double up to their
 * caps as lines need. */
#define IMAP_BUF_FIRST 256

static const enum imt_finding imap_fbit_id[FB__COUNT] = {
	[FB_BARE_CR] = F_BARE_CR,
	[FB_BARE_LF] = F_BARE_LF,
	[FB_NUL] = F_NUL_IN_LINE,
	[FB_EIGHT_BIT] = F_EIGHT_BIT_IN_LINE,
	[FB_TOO_LONG] = F_LINE_TOO_LONG,
	[FB_OVERSIZED] = F_OVERSIZED_ARGUMENT,
};

/* Octets the line scanner must look at; all others are plain text. */
static const uint8_t imap_special[128] = {
	[0] = 1, ['\r'] = 1, ['"'] = 1, ['\\'] = 1,
};

const char *imap_kind_name(enum imap_kind k)
{
	static const char *const names[] = {
#define IMAP_KIND_NAME(e, name) [e] = name,
		IMAP_KINDS(IMAP_KIND_NAME)
#undef IMAP_KIND_NAME
	};

	if ((size_t)k >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[k];
}

void imap_report(struct imap_parser *p, enum imt_finding id, uint64_t off,
		 const char *limit, uint64_t value, const char *detail)
{
	struct imt_finding_report f;

	if (p->cb->on_finding == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.id = id;
	f.dir = p->side == IMAP_SIDE_CLIENT ? IMT_C2S : IMT_S2C;
	f.offset = off;
	f.limit = limit;
	f.value = value;
	f.detail = detail;
	p->cb->on_finding(p->user, &f);
}

static void imap_el_reset(struct imap_parser *p)
{
	p->w->el_active = 0;
	p->w->el_literals = 0;
	p->w->el_lit_bytes = 0;
	p->w->line_len = 0;
	p->w->line_trunc = 0;
	p->w->line_total = 0;
	p->w->seg_total = 0;
	p->w->tail_len = 0;
	p->w->pending_cr = 0;
	p->w->in_quote = 0;
	p->w->q_escape = 0;
	p->w->f_raised = 0;
	p->w->f_emitted = 0;
	p->w->nlits = 0;
	p->w->pv_len = 0;
}

static void imap_el_start(struct imap_parser *p)
{
	p->w->el_active = 1;
	p->w->el_offset = p->offset;
	/* Read once per line: a callback may have switched it after the
	 * previous element, and the switch applies from here on. */
	p->w->el_mode = p->mode;
}

/* For a parser made without callbacks. */
static const struct imap_callbacks imap_no_callbacks;

size_t imap_parser_size(void)
{
	return sizeof(struct imap_parser);
}

struct imap_parser *imap_parser_new(enum imap_side side,
				    const struct imt_limits *lim,
				    const struct imap_callbacks *cb, void *user)
{
	void *mem = calloc(1, sizeof(struct imap_parser));

	return mem != NULL ? imap_parser_init(mem, side, lim, cb, user) : NULL;
}

struct imap_parser *imap_parser_init(void *mem, enum imap_side side,
				     const struct imt_limits *lim,
				     const struct imap_callbacks *cb, void *user)
{
	struct imap_parser *p = mem;

	p->side = side;
	p->lim = lim;
	p->cb = cb != NULL ? cb : &imap_no_callbacks;
	p->user = user;
	p->mode = IMAP_MODE_COMMAND;
	p->state = IMAP_S_LINE;
	return p;
}

void imap_parser_trim(struct imap_parser *p)
{
	if (p == NULL || p->feeding || !imap_between_lines(p))
		return;
	imap_work_put(p);
}

int imap_parser_idle(const struct imap_parser *p)
{
	return p->w == NULL;
}

void imap_parser_fini(struct imap_parser *p)
{
	if (p == NULL)
		return;
	if (p->w != NULL)
		imap_work_free(p->w);
	p->w = NULL;
}

void imap_parser_free(struct imap_parser *p)
{
	imap_parser_fini(p);
	free(p);
}

void imap_parser_set_mode(struct imap_parser *p, enum imap_client_mode mode)
{
	p->mode = mode;
}

void imap_parser_set_utf8(struct imap_parser *p, int enabled)
{
	p->utf8 = enabled != 0;
}

void imap_parser_set_midstream(struct imap_parser *p)
{
	p->resync = 1;
}

uint64_t imap_parser_offset(const struct imap_parser *p)
{
	return p->offset;
}

static void imap_raise(struct imap_parser *p, enum imap_fbit b, uint64_t off)
{
	if ((p->w->f_raised & (1u << b)) == 0) {
		p->w->f_raised |= 1u << b;
		p->w->f_off[b] = off;
	}
}

/* Reports the framing findings raised and not reported yet. */
static void imap_flush_framing(struct imap_parser *p)
{
	unsigned todo = p->w->f_raised & ~p->w->f_emitted;

	for (int b = 0; todo != 0 && b < FB__COUNT; b++) {
		uint64_t value = 0;

		if ((todo & (1u << b)) == 0)
			continue;
		if (b == FB_TOO_LONG || b == FB_OVERSIZED)
			value = p->w->line_total;
		imap_report(p, imap_fbit_id[b], p->w->f_off[b], NULL, value, NULL);
	}
	p->w->f_emitted |= todo;
}

/* The high bit of each octet of w that imap_scan() must look at (NUL,
 * CR, quote, backslash, 8-bit); the lowest one set is exact, the ones
 * above it may be false alarms, which only cost a closer look. */
static inline uint64_t imap_scan_special8(uint64_t w)
{
	return (w & SCAN8_HIGHS) | scan8_eq(w, 0) | scan8_eq(w, '\r') |
	       scan8_eq(w, '"') | scan8_eq(w, '\\');
}

/* Looks at the octets of line text that matter for findings: NUL, bare
 * CR (the caller passes only CRs not followed by LF), 8-bit outside
 * quoted strings.  One table test per plain octet. */
static void imap_scan(struct imap_parser *p, const uint8_t *s, size_t n,
		      uint64_t off)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c;

		/* Eight plain octets at a time: no NUL, CR, quote,
		 * backslash or 8-bit octet among them. */
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (imap_scan_special8(w))
				break;
			p->w->q_escape = 0;
			i += 8;
		}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* The last few octets as one word, the padding masked out
		 * (a zero octet would look like a NUL). */
		if (i < n && n - i < 8) {
			uint64_t m = imap_scan_special8(scan8_load_short_le(s + i, n - i)) &
				     scan8_first_octets(n - i);
			size_t k;

			if (m == 0) {
				p->w->q_escape = 0;
				break;
			}
			k = (size_t)__builtin_ctzll(m) / 8;
			if (k > 0) {
				p->w->q_escape = 0;
				i += k;
			}
		}
#endif
		if (i >= n)
			break;
		c = s[i];

		if (c < 0x80 && !imap_special[c]) {
			p->w->q_escape = 0;
			continue;
		}
		if (c == '"') {
			if (!p->w->q_escape)
				p->w->in_quote = !p->w->in_quote;
			p->w->q_escape = 0;
			continue;
		}
		if (c == '\\') {
			p->w->q_escape = p->w->in_quote && !p->w->q_escape;
			continue;
		}
		p->w->q_escape = 0;
		if (c == 0)
			imap_raise(p, FB_NUL, off + i);
		else if (c == '\r')
			imap_raise(p, FB_BARE_CR, off + i);
		else if (c >= 0x80 && !p->w->in_quote && !p->utf8)
			imap_raise(p, FB_EIGHT_BIT, off + i);
	}
}

static void imap_tail_add(struct imap_parser *p, const uint8_t *s, size_t n)
{
	if (n >= IMAP_TAIL) {
		memcpy(p->w->tail, s + n - IMAP_TAIL, IMAP_TAIL);
		p->w->tail_len = IMAP_TAIL;
	} else {
		size_t keep = p->w->tail_len;

		if (keep > IMAP_TAIL - n)
			keep = IMAP_TAIL - n;
		memmove(p->w->tail, p->w->tail + p->w->tail_len - keep, keep);
		memcpy(p->w->tail + keep, s, n);
		p->w->tail_len = keep + n;
	}
}

/* Adds n octets of line text that start at stream offset off. */
static void imap_line_bytes(struct imap_parser *p, const uint8_t *s, size_t n,
			    uint64_t off)
{
	uint64_t before = p->w->line_total;
	size_t k = 0;

	if (n == 0)
		return;
	imap_scan(p, s, n, off);
	if (!p->w->line_trunc) {
		size_t seg = p->w->seg_total < p->w->line_len ? (size_t)p->w->seg_total :
			     p->w->line_len;   /* all stored so far */

		k = p->lim->max_line - p->w->line_len;
		if (k > n)
			k = n;
		if (k > 0 && mem_grow(&p->w->line, &p->w->line_alloc, p->w->line_len + k,
				      1, IMAP_BUF_FIRST, imap_buf_cap(p)) != 0)
			k = 0;
		if (k > 0)
			memcpy(p->w->line + p->w->line_len, s, k);
		/* Once a byte is lost nothing more is stored, so the kept
		 * text stays a prefix of the line.  The segment's last bytes
		 * are then kept apart (a literal marker may end it); until
		 * then they are in the line buffer. */
		if (k < n) {
			p->w->line_trunc = 1;
			p->w->tail_len = 0;
			if (seg > 0)
				imap_tail_add(p, (const uint8_t *)p->w->line +
					      p->w->line_len - seg, seg);
			imap_tail_add(p, s, n);
		}
		p->w->line_len += k;
	} else {
		imap_tail_add(p, s, n);
	}
	p->w->line_total += n;
	p->w->seg_total += n;
	if (p->w->line_total > p->lim->max_line)
		imap_raise(p, FB_TOO_LONG, before >= p->lim->max_line ? off :
			   off + (p->lim->max_line - before));
	if (p->w->line_total > p->lim->oversized_arg)
		imap_raise(p, FB_OVERSIZED, before >= p->lim->oversized_arg ? off :
			   off + (p->lim->oversized_arg - before));
}

/*
 * Adds a segment of line text that ends at an LF (has_lf) or at the end
 * of the chunk.  A CR is only known to be bare when the next octet is
 * not LF, so a CR at the end of a chunk waits.  Returns 1 when the LF
 * that follows was preceded by CR.
 */
static int imap_segment(struct imap_parser *p, const uint8_t *s, size_t n,
			int has_lf)
{
	static const uint8_t cr = '\r';
	uint64_t off = p->offset;
	int crlf = 0;

	if (p->w->pending_cr) {
		p->w->pending_cr = 0;
		if (n == 0 && has_lf)
			return 1;
		imap_line_bytes(p, &cr, 1, p->w->cr_offset);
	}
	if (n > 0 && s[n - 1] == '\r') {
		n--;
		if (has_lf) {
			crlf = 1;
		} else {
			p->w->pending_cr = 1;
			p->w->cr_offset = off + n;
		}
	}
	imap_line_bytes(p, s, n, off);
	return crlf;
}

/*
 * Finds a literal marker at the end of s[0, n): "{N}", "{N+}", "{N-}",
 * "~{N}".  Returns the marker's length and fills *r (size, flags, bad
 * when the size cannot be read), or 0 when there is none.  *minus_r is
 * set for {N-}.
 */
static size_t imap_marker(const char *s, size_t n, struct imap_lit_rec *r,
			  int *minus_r)
{
	size_t i, j, d;

	if (n < 3 || s[n - 1] != '}')
		return 0;
	memset(r, 0, sizeof(*r));
	*minus_r = 0;
	i = n - 1;
	if (s[i - 1] == '+' || s[i - 1] == '-') {
		r->flags |= IMAP_TOKF_NONSYNC;
		*minus_r = s[i - 1] == '-';
		i--;
	}
	j = i;
	while (j > 0 && s[j - 1] >= '0' && s[j - 1] <= '9')
		j--;
	if (j == i || j == 0 || s[j - 1] != '{')
		return 0;
	d = j;
	j--;
	if (j > 0 && s[j - 1] == '~') {
		r->flags |= IMAP_TOKF_LITERAL8;
		j--;
	}
	if (i - d > IMAP_MAX_LIT_DIGITS ||
	    dec_parse_u64(s + d, i - d, UINT64_MAX, &r->size) != 0)
		r->bad = 1;
	r->mark_len = (uint32_t)(n - j);
	return n - j;
}

/* Remembers where a marker lies in the stored line so the tokenizer
 * makes a LITERAL of it.  Returns the record index or IMAP_NO_REC. */
static size_t imap_lit_record(struct imap_parser *p,
			      const struct imap_lit_rec *r, uint64_t mark_off)
{
	if (mark_off + r->mark_len > p->w->line_len || p->w->line_trunc)
		return IMAP_NO_REC;	/* not in the stored text */
	if (p->w->nlits >= p->lim->max_tokens)
		return IMAP_NO_REC;	/* its token could not be stored */
	if (mem_grow(&p->w->lits, &p->w->lits_alloc, p->w->nlits + 1, sizeof(*p->w->lits),
		     8, p->lim->max_tokens) != 0)
		return IMAP_NO_REC;
	p->w->lits[p->w->nlits] = *r;
	p->w->lits[p->w->nlits].mark_off = (uint32_t)mark_off;
	p->w->lits[p->w->nlits].prev_off = (uint32_t)p->w->pv_len;
	p->w->lits[p->w->nlits].prev_len = 0;
	return p->w->nlits++;
}

static void imap_literal_start(struct imap_parser *p,
			       const struct imap_lit_rec *r, int minus,
			       uint64_t mark_off)
{
	struct imap_literal lit;
	uint64_t want;

	p->w->el_literals++;
	p->w->el_lit_bytes = r->size > UINT64_MAX - p->w->el_lit_bytes ?
			  UINT64_MAX : p->w->el_lit_bytes + r->size;
	p->w->lit_rec = imap_lit_record(p, r, mark_off);
	p->w->lit_want = 0;
	if (p->w->lit_rec != IMAP_NO_REC) {
		/* Reserve the preview now so data chunks never allocate. */
		want = r->size < p->lim->literal_preview ? r->size :
		       p->lim->literal_preview;
		if (want > imap_pv_cap(p) - p->w->pv_len)
			want = imap_pv_cap(p) - p->w->pv_len;
		if (want > 0 && mem_grow(&p->w->pv, &p->w->pv_alloc, p->w->pv_len + want,
					 1, IMAP_BUF_FIRST, imap_pv_cap(p)) != 0)
			want = 0;
		p->w->lit_want = (uint32_t)want;
		p->w->pv_len += want;
	}
	/* A marker ends the segment: the next line text must not see it. */
	p->w->tail_len = 0;
	p->w->seg_total = 0;
	p->w->in_quote = 0;
	p->w->q_escape = 0;
	if (!p->resync) {
		imap_flush_framing(p);
		if (r->size > p->lim->max_literal)
			imap_report(p, F_LITERAL_TOO_LARGE, p->offset, NULL,
				    r->size, NULL);
		if (p->cb->on_literal_begin != NULL) {
			memset(&lit, 0, sizeof(lit));
			lit.size = r->size;
			lit.nonsync = (r->flags & IMAP_TOKF_NONSYNC) != 0;
			lit.minus = minus;
			lit.binary = (r->flags & IMAP_TOKF_LITERAL8) != 0;
			lit.data_offset = p->offset;
			if (!p->w->line_trunc && mark_off <= p->w->line_total &&
			    p->w->line_total - mark_off <= p->w->line_len) {
				lit.line = p->w->line;
				lit.line_len = p->w->line_len -
					       (size_t)(p->w->line_total - mark_off);
			}
			p->cb->on_literal_begin(p->user, &lit);
		}
	}
	if (r->size > 0) {
		p->state = IMAP_S_LITERAL;
		p->w->lit_left = r->size;
		p->w->lit_data_seen = 0;
	}
}

/* Fills the element fields every kind shares. */
static void imap_el_fill(struct imap_parser *p, struct imap_element *el)
{
	mem_zero(el, sizeof(*el));
	el->kind = IMAP_EL_UNPARSED;
	el->offset = p->w->el_offset;
	el->length = p->offset - p->w->el_offset;
	/* Never NULL, so consumers need not special-case empty lines. */
	el->buf = p->w->line != NULL ? p->w->line : "";
	el->line = el->buf;
	el->line_len = p->w->line_len;
	el->line_truncated = p->w->line_trunc;
	el->literals = p->w->el_literals;
	el->literal_bytes = p->w->el_lit_bytes;
	el->syntax_ok = 1;
}

/* A line cut by a gap is worth delivering when its head says what it
 * was: a command with a valid tag and a known name, a tagged status, an
 * untagged status response. */
static int imap_partial_ok(const struct imap_parser *p,
			   const struct imap_element *el)
{
	switch (el->kind) {
	case IMAP_EL_COMMAND:
		return !(p->w->pf & PF_INVALID_TAG) &&
		       imap_cmd_lookup(el->name, strlen(el->name)) != CMD_UNKNOWN;
	case IMAP_EL_TAGGED:
		return strcmp(el->name, "OK") == 0 || strcmp(el->name, "NO") == 0 ||
		       strcmp(el->name, "BAD") == 0;
	case IMAP_EL_UNTAGGED:
		return el->is_status;
	default:
		return 0;
	}
}

/* A logical line is complete (or, `partial`, cut by a gap): parse it
 * and hand it over. */
static void imap_deliver_as(struct imap_parser *p, int partial)
{
	struct imap_element el;

	/* Stray CRs before the line end ("NOOP\r\r\n") were reported as
	 * bare-cr; servers ignore them, so the parse does too.  Lines with
	 * literals keep their bytes: previews are placed by offset. */
	while (p->w->nlits == 0 && !p->w->line_trunc && p->w->line_len > 0 &&
	       p->w->line[p->w->line_len - 1] == '\r')
		p->w->line_len--;
	/* Previews go behind the line text so token offsets share one
	 * base; the buffer was sized for both at creation's caps. */
	if (p->w->pv_len > 0 &&
	    mem_grow(&p->w->line, &p->w->line_alloc, p->w->line_len + p->w->pv_len, 1,
		     IMAP_BUF_FIRST, imap_buf_cap(p)) == 0)
		memcpy(p->w->line + p->w->line_len, p->w->pv, p->w->pv_len);
	else
		for (size_t i = 0; i < p->w->nlits; i++)
			p->w->lits[i].prev_len = 0;
	imap_el_fill(p, &el);
	imap_toks_reset(&p->w->toks);
	p->w->pf = 0;
	p->w->syntax_why = NULL;
	imap_head_parse(p, &el);
	if (p->w->toks.hit_tokens)
		p->w->pf |= PF_TOKENS;
	if (p->w->toks.hit_depth)
		p->w->pf |= PF_DEPTH;
	el.tokens = p->w->toks.ntok > 0 ? p->w->toks.tok : NULL;
	el.ntokens = p->w->toks.ntok;
	el.tokens_dropped = p->w->toks.dropped;
	if (p->w->toks.canonical && el.ntokens > 0) {
		el.tokens_text = p->w->line + p->w->toks.text_off;
		el.tokens_text_len = p->w->toks.text_len;
	}
	el.syntax_ok = !(p->w->pf & PF_SYNTAX);
	if (partial) {
		/* What a cut line lacks is no syntax error of the sender;
		 * while resynchronising, the line must look like protocol. */
		p->w->pf &= ~PF_SYNTAX;
		if (!imap_partial_ok(p, &el) ||
		    (p->resync && !imap_head_plausible(p, &el))) {
			imap_el_reset(p);
			return;
		}
		el.partial = 1;
		el.syntax_ok = 1;
		imap_flush_framing(p);
		if (p->cb->on_element != NULL)
			p->cb->on_element(p->user, &el);
		imap_el_reset(p);
		return;
	}
	if (p->resync) {
		if (!imap_head_plausible(p, &el)) {
			imap_el_reset(p);
			return;
		}
		p->resync = 0;
	}
	imap_flush_framing(p);
	imap_head_report(p, &el);
	if (p->cb->on_element != NULL)
		p->cb->on_element(p->user, &el);
	imap_el_reset(p);
}

static void imap_deliver(struct imap_parser *p)
{
	imap_deliver_as(p, 0);
}

/* The LF of a line was read (and consumed). */
static void imap_line_end(struct imap_parser *p, int crlf)
{
	struct imap_lit_rec r;
	size_t mlen;
	int minus;

	if (!crlf)
		imap_raise(p, FB_BARE_LF, p->offset - 1);
	if (p->side == IMAP_SIDE_SERVER || p->w->el_mode == IMAP_MODE_COMMAND) {
		/* The segment is whole in the line buffer unless the line
		 * was cut; then the tail holds its last bytes. */
		if (p->w->seg_total < 3)
			mlen = 0;
		else if (!p->w->line_trunc)
			mlen = imap_marker(p->w->line + p->w->line_len - p->w->seg_total,
					   p->w->seg_total, &r, &minus);
		else
			mlen = imap_marker(p->w->tail, p->w->tail_len, &r, &minus);
		if (mlen > 0 && !r.bad) {
			imap_literal_start(p, &r, minus, p->w->line_total - mlen);
			return;
		}
		if (mlen > 0) {
			/* The size is unreadable, so the data cannot be
			 * framed: like a server rejecting the command, take
			 * the line as ended and read the next one. */
			imap_lit_record(p, &r, p->w->line_total - mlen);
			if (!p->resync)
				imap_report(p, F_LITERAL_TOO_LARGE, p->offset - 1,
					    NULL, UINT64_MAX, "literal size unreadable");
		}
	}
	imap_deliver(p);
}

/* Consumes line text up to and including an LF; returns bytes used. */
static size_t imap_line_chunk(struct imap_parser *p, const uint8_t *s, size_t n)
{
	const uint8_t *lf;
	size_t seg;
	int crlf;

	if (!p->w->el_active)
		imap_el_start(p);
	lf = memchr(s, '\n', n);
	seg = lf != NULL ? (size_t)(lf - s) : n;
	crlf = imap_segment(p, s, seg, lf != NULL);
	p->offset += seg;
	if (lf == NULL)
		return n;
	p->offset++;
	imap_line_end(p, crlf);
	return seg + 1;
}

/* Skips literal data; returns bytes used. */
static size_t imap_literal_chunk(struct imap_parser *p, const uint8_t *s,
				 size_t n)
{
	size_t k = n;

	if (k > p->w->lit_left)
		k = (size_t)p->w->lit_left;
	if (!p->w->lit_data_seen) {
		p->w->lit_data_seen = 1;
		if (!p->resync && p->cb->on_literal_data != NULL)
			p->cb->on_literal_data(p->user, p->offset);
	}
	if (p->w->lit_rec != IMAP_NO_REC) {
		struct imap_lit_rec *r = &p->w->lits[p->w->lit_rec];
		size_t c = p->w->lit_want - r->prev_len;

		if (c > k)
			c = k;
		if (c > 0)
			memcpy(p->w->pv + r->prev_off + r->prev_len, s, c);
		r->prev_len += (uint32_t)c;
	}
	if (p->cb->on_literal_bytes != NULL && !p->resync && k > 0)
		p->cb->on_literal_bytes(p->user, s, k);
	p->w->lit_left -= k;
	p->offset += k;
	if (p->w->lit_left == 0)
		p->state = IMAP_S_LINE;
	return k;
}

int imap_parser_cancel_literal(struct imap_parser *p)
{
	/* The peer refused a synchronizing literal (a tagged NO or BAD
	 * instead of "+"): its data will not come, and the element ends at
	 * the announcement, as the peer sees it. */
	if (p->state != IMAP_S_LITERAL || p->w->lit_data_seen)
		return 0;
	p->w->lit_left = 0;
	p->state = IMAP_S_LINE;
	imap_deliver(p);
	if (!p->feeding && imap_between_lines(p))
		imap_work_put(p);
	return 1;
}

void imap_parser_pause(struct imap_parser *p)
{
	if (p->feeding)
		p->paused = 1;
}

size_t imap_parser_feed(struct imap_parser *p, const uint8_t *data, size_t len)
{
	size_t pos = 0;

	if (len == 0)
		return 0;
	if (p->w == NULL && (p->w = imap_work_get(p)) == NULL) {
		/* Out of memory: the bytes are lost to the parser as if
		 * missing from the capture. */
		imap_parser_gap(p, len);
		return len;
	}
	p->feeding = 1;
	p->paused = 0;
	while (pos < len && !p->paused) {
		const uint8_t *s = data + pos;
		size_t n = len - pos;

		switch (p->state) {
		case IMAP_S_SKIP: {
			const uint8_t *lf = memchr(s, '\n', n);
			if (lf == NULL) {
				p->offset += n;
				pos = len;
				break;
			}
			n = (size_t)(lf - s) + 1;
			p->offset += n;
			pos += n;
			p->state = IMAP_S_LINE;
			break;
		}
		case IMAP_S_LITERAL:
			pos += imap_literal_chunk(p, s, n);
			break;
		case IMAP_S_LINE:
			pos += imap_line_chunk(p, s, n);
			break;
		}
	}
	p->feeding = 0;
	p->paused = 0;
	/* A parser that waits between lines holds no line storage. */
	if (imap_between_lines(p))
		imap_work_put(p);
	return pos;
}

void imap_parser_segment(struct imap_parser *p)
{
	/* Read as a line while resynchronising: it ends the resync only
	 * if it looks like protocol (imap_head_plausible(): a valid tag
	 * and a known command, a status or known response), else it is
	 * dropped at its LF, where skipping would have ended anyway. */
	if (p->state == IMAP_S_SKIP)
		p->state = IMAP_S_LINE;
}

enum imap_gap_result imap_parser_gap(struct imap_parser *p, uint64_t bytes)
{
	if (bytes == 0)
		return IMAP_GAP_IN_LITERAL;	/* nothing lost */
	if (p->w == NULL) {
		/* Between lines: nothing to end, skip to the next line. */
		p->offset += bytes;
		p->state = IMAP_S_SKIP;
		p->resync = 1;
		return IMAP_GAP_RESYNC;
	}
	if (p->state == IMAP_S_LINE && p->w->el_active && p->w->line_total > 0 &&
	    !p->feeding)
		imap_deliver_as(p, 1);
	p->offset += bytes;
	if (p->state == IMAP_S_LITERAL && bytes <= p->w->lit_left) {
		/* Data only: the framing is intact.  The preview stops at
		 * what arrived, and the first byte is no longer observable. */
		p->w->lit_left -= bytes;
		p->w->lit_data_seen = 1;
		if (p->w->lit_rec != IMAP_NO_REC)
			p->w->lit_want = p->w->lits[p->w->lit_rec].prev_len;
		if (p->w->lit_left == 0)
			p->state = IMAP_S_LINE;
		return IMAP_GAP_IN_LITERAL;
	}
	imap_el_reset(p);
	p->state = IMAP_S_SKIP;
	p->resync = 1;
	if (!p->feeding)
		imap_work_put(p);
	return IMAP_GAP_RESYNC;
}

int imap_parser_finish(struct imap_parser *p)
{
	struct imap_element el;
	int pending;

	if (p->w == NULL || p->state == IMAP_S_SKIP) {
		/* Between lines, or skipping a line's rest: nothing to say. */
		p->state = IMAP_S_LINE;
		if (!p->feeding)
			imap_work_put(p);
		return 0;
	}
	pending = p->w->el_active;
	if (p->state == IMAP_S_LITERAL && !p->resync)
		imap_report(p, F_LITERAL_TRUNCATED, p->offset, NULL,
			    p->w->lit_left, NULL);
	if (pending && !p->resync) {
		/* A CR at the very end may be half a CRLF the capture cut:
		 * it is kept in the line but not called bare. */
		if (p->w->pending_cr && !p->w->line_trunc &&
		    p->w->line_len < p->lim->max_line &&
		    mem_grow(&p->w->line, &p->w->line_alloc, p->w->line_len + 1, 1,
			     IMAP_BUF_FIRST, imap_buf_cap(p)) == 0)
			p->w->line[p->w->line_len++] = '\r';
		imap_flush_framing(p);
		imap_el_fill(p, &el);
		if (p->cb->on_element != NULL)
			p->cb->on_element(p->user, &el);
	}
	imap_el_reset(p);
	p->state = IMAP_S_LINE;
	if (!p->feeding)
		imap_work_put(p);
	return pending;
}
