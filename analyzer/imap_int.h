/*
 * imap_int.h - internals of the IMAP parser shared by imap.c (framing:
 * lines, literals, gaps, the once-per-line framing findings, delivery)
 * and imap_head.c (the head of a completed line: tag, command or status,
 * response code; and imap_classify()).  Nothing outside the parser
 * includes this.
 */
#ifndef IMT_IMAP_INT_H
#define IMT_IMAP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "imap_token.h"

enum imap_state { IMAP_S_LINE, IMAP_S_LITERAL, IMAP_S_SKIP };

/* The once-per-line framing findings, in the order they are reported. */
enum imap_fbit {
	FB_BARE_CR, FB_BARE_LF, FB_NUL, FB_EIGHT_BIT, FB_TOO_LONG,
	FB_OVERSIZED, FB__COUNT
};

/* Findings from parsing a completed line, also in report order. */
#define PF_INVALID_TAG  0x01
#define PF_TAG_CUT      0x02
#define PF_TOKENS       0x04
#define PF_DEPTH        0x08
#define PF_SYNTAX       0x10

/* Bytes of the current line segment kept to find a literal marker when
 * the line itself was cut: "~{" + 20 digits + "+}" fits easily. */
#define IMAP_TAIL 48
/*
 * What a line in progress needs: its text, literal records and previews,
 * tokens, and the framing findings raised on it.  A parser holds one only
 * from the first byte of a line to the end of its delivery (literals
 * included): between lines it is given back (imap_work_put), so a parser
 * that waits costs struct imap_parser alone.  With a shelf the storage of
 * a returned line is kept for the next one of any parser.
 */
struct imap_work {
	struct imap_work *next;  /* on the shelf */

	/* The logical line (element) being read. */
	int el_active;
	uint64_t el_offset;
	enum imap_client_mode el_mode;   /* mode latched at the line start */
	uint32_t el_literals;
	uint64_t el_lit_bytes;

	char *line;              /* line text, then previews at delivery */
	size_t line_len;         /* stored bytes, <= lim.max_line */
	size_t line_alloc;
	int line_trunc;
	uint64_t line_total;     /* line text seen, stored or not */
	uint64_t seg_total;      /* line text since the line start or last literal */
	char tail[IMAP_TAIL];    /* last bytes of the segment, once the
				    line is cut (before, the line has them) */
	size_t tail_len;
	int pending_cr;          /* a CR ended the last chunk */
	uint64_t cr_offset;
	int in_quote, q_escape;  /* to tell 8-bit in quoted strings */

	unsigned f_raised, f_emitted;
	uint64_t f_off[FB__COUNT];

	/* The literal whose data is being skipped. */
	uint64_t lit_left;
	int lit_data_seen;
	size_t lit_rec;          /* its record, or IMAP_NO_REC */
	uint32_t lit_want;       /* preview bytes wanted */

	struct imap_lit_rec *lits;
	size_t nlits, lits_alloc;
	char *pv;                /* preview arena for this line */
	size_t pv_len, pv_alloc;

	struct imap_toks toks;
	unsigned pf;             /* PF_ flags of the line being delivered */
	const char *syntax_why;
	char code[48];
};

/* Lines' storage kept for the next line, shared by the parsers of one
 * thread (see imap_shelf_new()). */
struct imap_shelf {
	struct imap_work *free;
	size_t n;
};

/* Two per open session, thousands of sessions: the limits are the
 * caller's, what follows from them is computed when needed (below), and
 * the small fields are a byte each (56 bytes in all). */
struct imap_parser {
	const struct imt_limits *lim;    /* the caller's, outliving the parser */
	const struct imap_callbacks *cb; /* the caller's (never NULL) */
	void *user;
	uint64_t offset;         /* stream offset of the next byte */
	struct imap_work *w;     /* the line in progress, or NULL between lines */
	struct imap_shelf *shelf;        /* not owned, or NULL */
	uint8_t side;            /* enum imap_side */
	uint8_t mode;            /* enum imap_client_mode */
	uint8_t state;           /* enum imap_state */
	uint8_t utf8;
	uint8_t feeding;         /* inside imap_parser_feed() */
	uint8_t paused;          /* a callback asked the feed to return */
	uint8_t resync;          /* drop lines silently until one parses */
};

/* Room for a line's literal previews: at least a line's worth and one
 * full preview; token offsets are 32-bit, so line + previews must fit in
 * them. */
static inline size_t imap_pv_cap(const struct imap_parser *p)
{
	size_t cap = p->lim->max_line;

	if (cap < p->lim->literal_preview)
		cap = p->lim->literal_preview;
	if (cap > UINT32_MAX - (size_t)p->lim->max_line)
		cap = UINT32_MAX - (size_t)p->lim->max_line;
	return cap;
}

/* Room for a line and its previews. */
static inline size_t imap_buf_cap(const struct imap_parser *p)
{
	return (size_t)p->lim->max_line + imap_pv_cap(p);
}

/* A literal without a record (imap_lit_record() could not keep one). */
#define IMAP_NO_REC SIZE_MAX

/* In imap_work.c.  imap_work_get(): storage for a line of p, from p's
 * shelf when it holds one (its buffers kept), else new; NULL only when
 * out of memory.  imap_work_put(): gives p->w back, to the shelf or to
 * the system, and sets it NULL (only between lines).  imap_work_free():
 * frees w and its buffers.  imap_between_lines(): 1 when p holds no line
 * and no literal in progress. */
struct imap_work *imap_work_get(struct imap_parser *p);
void imap_work_put(struct imap_parser *p);
void imap_work_free(struct imap_work *w);
int imap_between_lines(const struct imap_parser *p);

/* In imap.c: reports one finding at stream offset off. */
void imap_report(struct imap_parser *p, enum imt_finding id, uint64_t off,
		 const char *limit, uint64_t value, const char *detail);

/* In imap_head.c.  Parses the head of the completed line in p->line
 * into el, whose shared fields the caller filled, and tokenizes its
 * arguments into p->toks; problems set PF_ flags in p->pf. */
void imap_head_parse(struct imap_parser *p, struct imap_element *el);

/* While resynchronising after a gap: 1 when el looks like real protocol
 * (a known command or status, a plausible continuation), 0 when it may be
 * message text that the gap left the parser in. */
int imap_head_plausible(const struct imap_parser *p,
			const struct imap_element *el);

/* Reports the findings of the line's parse (p->pf), in a fixed order. */
void imap_head_report(struct imap_parser *p, const struct imap_element *el);

#endif
