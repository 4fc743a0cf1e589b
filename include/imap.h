/*
 * imap.h - a streaming IMAP parser for one direction of a session.
 *
 * Bytes go in, in any chunking; protocol elements come out through a
 * callback when their final CRLF has arrived: client commands, client
 * data lines (SASL responses, IDLE's DONE), server untagged responses,
 * continuation requests and tagged results.  Literals are counted
 * through and never buffered whole: only a capped preview is kept, and
 * bytes inside a literal are data, never protocol.  The parser never
 * recurses and never allocates per line once warm: the line buffer and
 * token array are reused and capped by struct imt_limits.
 *
 * Feeding the same bytes whole, one byte at a time or split at any
 * offset gives the same elements and findings.
 */
#ifndef IMT_IMAP_H
#define IMT_IMAP_H

#include <stdint.h>
#include <stddef.h>

#include "findings.h"
#include "imt_limits.h"

enum imap_side { IMAP_SIDE_CLIENT = 0, IMAP_SIDE_SERVER = 1 };

/* What the client's next line is.  The session engine decides, because
 * it depends on what the server asked for. */
enum imap_client_mode {
	IMAP_MODE_COMMAND = 0,   /* tag SP command [SP arguments] */
	IMAP_MODE_LINE,          /* a raw line: SASL response, "*" cancel, DONE */
};

#define IMAP_KINDS(X) \
	X(IMAP_EL_COMMAND, "command") \
	X(IMAP_EL_CLIENT_LINE, "client_line") \
	X(IMAP_EL_UNTAGGED, "untagged") \
	X(IMAP_EL_CONTINUATION, "continuation") \
	X(IMAP_EL_TAGGED, "tagged") \
	X(IMAP_EL_UNPARSED, "unparsed")

enum imap_kind {
#define IMAP_KIND_ENUM(e, name) e,
	IMAP_KINDS(IMAP_KIND_ENUM)
#undef IMAP_KIND_ENUM
};

const char *imap_kind_name(enum imap_kind k);

#define IMAP_TOK_TYPES(X) \
	X(IMAP_TOK_ATOM, "atom") \
	X(IMAP_TOK_NUMBER, "number") \
	X(IMAP_TOK_QUOTED, "quoted") \
	X(IMAP_TOK_LITERAL, "literal") \
	X(IMAP_TOK_LIST, "list") \
	X(IMAP_TOK_LIST_END, "list_end")

enum imap_tok_type {
#define IMAP_TOK_ENUM(e, name) e,
	IMAP_TOK_TYPES(IMAP_TOK_ENUM)
#undef IMAP_TOK_ENUM
};

/* Token flags. */
#define IMAP_TOKF_NONSYNC   0x01  /* literal was {N+} or {N-} */
#define IMAP_TOKF_LITERAL8  0x02  /* literal was ~{N} */
#define IMAP_TOKF_TRUNCATED 0x04  /* text was cut (line cap or preview cap) */

/*
 * One token of a line, in a flat array: lists are IMAP_TOK_LIST ... its
 * members (depth + 1) ... IMAP_TOK_LIST_END, so nesting needs no
 * recursion to walk.  Text lies at element->buf + off, len bytes:
 *  - ATOM: the atom as sent.  An atom may contain a bracketed part that
 *    holds spaces and parentheses, as in BODY[HEADER.FIELDS (FROM)]<0.10>;
 *    it stays one atom.  NIL is an atom.  Sequence sets and flags (\Seen)
 *    are atoms.
 *  - NUMBER: the digits; `num` holds the value (only when it fits 64 bits,
 *    otherwise the token is an ATOM).
 *  - QUOTED: the contents between the quotes, escapes still in place.
 *  - LITERAL: `num` is the declared size, the text is the preview (the
 *    literal's first bytes, at most limits.literal_preview).
 *  - LIST / LIST_END: no text; LIST's `num` is the index of its LIST_END
 *    (or of the last token when the line ended first).
 */
struct imap_token {
	uint8_t type;            /* enum imap_tok_type */
	uint8_t flags;           /* IMAP_TOKF_ */
	uint16_t depth;          /* 0 = top level */
	uint32_t off, len;
	uint64_t num;
};

/*
 * One protocol element.  All pointers live only during the callback.
 *
 * COMMAND:      tag, name (upper case; "UID FETCH" for UID commands),
 *               tokens = the arguments.
 * CLIENT_LINE:  line only (raw, without CRLF).
 * UNTAGGED:     name = "OK"/"NO"/"BAD"/"BYE"/"PREAUTH" for status
 *               responses (is_status = 1, then code/text), else the data
 *               name upper-cased: "CAPABILITY", "LIST", "FLAGS", "SEARCH"...
 *               or, for "* 5 EXISTS", name = "EXISTS" and number = 5.
 *               tokens = the data after the name (FETCH: the whole
 *               parenthesised item list as one LIST).
 * CONTINUATION: text = everything after "+ " (may be empty); when it
 *               starts with [code], code is filled too.
 * TAGGED:       tag, name = status word upper-cased (normally OK, NO or
 *               BAD; anything else is passed through for the engine to
 *               judge), is_status = 1, code/text.
 * UNPARSED:     a line that did not parse (a syntax-error finding was
 *               raised unless the parser was resynchronising); line only.
 */
struct imap_element {
	enum imap_kind kind;
	uint64_t offset;         /* stream offset of the element's first byte */
	uint64_t length;         /* bytes on the wire, literals included */
	const char *buf;         /* base for token text */
	const char *line;        /* the line as received without CRLF; literal
				    data is left out (the {N} markers stay) */
	size_t line_len;
	int line_truncated;      /* line longer than limits.max_line */
	const char *tag;         /* COMMAND, TAGGED; else NULL */
	size_t tag_len;
	char name[48];           /* NUL-terminated, upper case; "" if none */
	int has_number;
	uint64_t number;
	int is_status;
	const char *code;        /* response code name, upper case, or NULL */
	size_t code_len;
	const char *code_args;   /* text after the code name inside [...] */
	size_t code_args_len;
	const char *text;        /* human-readable text, or NULL */
	size_t text_len;
	const struct imap_token *tokens;
	size_t ntokens;
	size_t tokens_dropped;   /* tokens past limits.max_tokens, not stored */
	/* When the tokens stand in the line in their canonical spelling (one
	 * space between neighbours, none after '(' or before ')', no literal,
	 * nothing cut or dropped): the bytes they were read from, which are
	 * what writing the tokens back gives.  Else NULL. */
	const char *tokens_text;
	size_t tokens_text_len;
	uint32_t literals;       /* literals in this element */
	uint64_t literal_bytes;  /* their total declared size */
	int syntax_ok;           /* 0 when a syntax-error finding was raised */
	/* The line was cut by a gap: this is what was seen of it.  Only a
	 * command with a valid tag and a known name, a tagged OK, NO or
	 * BAD, or an untagged status response is delivered cut; its code
	 * is there only when its ']' was seen. */
	int partial;
	int tag_invalid;         /* TAGGED: the tag holds a character a tag may
				    not (RFC 3501 §9), as some servers echo a
				    client's invalid tag; the engine judges it */
};

/* A literal whose {N}CRLF was read and whose data starts next. */
struct imap_literal {
	uint64_t size;
	int nonsync;             /* {N+} or {N-} */
	int minus;               /* {N-} (LITERAL-) */
	int binary;              /* ~{N} */
	uint64_t data_offset;    /* stream offset of the first data byte */
	const char *line;        /* the element's text before the marker
				    (earlier literals' data left out, their
				    markers kept), living only during the
				    callback; NULL when the line was cut */
	size_t line_len;
};

struct imap_callbacks {
	/* A complete element. */
	void (*on_element)(void *user, const struct imap_element *el);
	/* A literal announcement was read; its data comes next.  For a
	 * client synchronizing literal this is where the client must wait
	 * for the server's "+". */
	void (*on_literal_begin)(void *user, const struct imap_literal *lit);
	/* The first data byte of the literal announced last was read (not
	 * called for {0}).  Together with on_literal_begin this shows
	 * whether a client waited for the continuation. */
	void (*on_literal_data)(void *user, uint64_t offset);
	/* A framing finding: bare-lf, bare-cr, nul-in-line,
	 * eight-bit-in-line, syntax-error, invalid-tag, line-too-long,
	 * literal-too-large, literal-truncated, oversized-argument,
	 * limit-reached (depth, tokens).  frame is 0 (the caller knows it). */
	void (*on_finding)(void *user, const struct imt_finding_report *f);
	/* The next n bytes of the current literal's data, as they are read
	 * (not while resynchronising).  NULL costs nothing. */
	void (*on_literal_bytes)(void *user, const uint8_t *p, size_t n);
};

struct imap_parser;

/* Creates a parser for one direction; keeps lim and cb (NULL: none),
 * which must outlive the parser (a parser is made per direction of every
 * session: it keeps no copy).  NULL only when out of memory. */
struct imap_parser *imap_parser_new(enum imap_side side,
				    const struct imt_limits *lim,
				    const struct imap_callbacks *cb, void *user);

/* The same in memory the caller holds: imap_parser_size() zeroed bytes
 * aligned on 16.  The parser is then ended with imap_parser_fini(), which
 * frees what it allocated but not that memory.  Never NULL. */
size_t imap_parser_size(void);
struct imap_parser *imap_parser_init(void *mem, enum imap_side side,
				     const struct imt_limits *lim,
				     const struct imap_callbacks *cb, void *user);
void imap_parser_fini(struct imap_parser *p);

/*
 * Parses len bytes that follow the previous ones in the stream.  Elements
 * complete inside this call are delivered before it returns.  Callbacks
 * may call imap_parser_set_mode(), imap_parser_set_utf8() and
 * imap_parser_pause(); they must not feed or free the parser.  Returns
 * len, or fewer when a callback paused the parser: the bytes not consumed
 * are the caller's.
 */
size_t imap_parser_feed(struct imap_parser *p, const uint8_t *data, size_t len);

/*
 * From a callback during imap_parser_feed(): makes that feed return as
 * soon as the callback returns, having consumed the stream up to the end
 * of what was just reported (for on_element, the element's final LF).
 * After STARTTLS or COMPRESS the following bytes are a TLS handshake or
 * a DEFLATE stream, not IMAP.  The next feed continues normally.  Called
 * outside a feed it has no effect.
 */
void imap_parser_pause(struct imap_parser *p);

/*
 * `bytes` bytes of the stream are missing at the current position.
 * Returns IMAP_GAP_IN_LITERAL when they fall wholly inside a literal's
 * data (the parser stays in step), IMAP_GAP_RESYNC when it had to end
 * the partial line: it is delivered with `partial` set when its head
 * says what it was (see struct imap_element), else dropped; the parser
 * then skips to the next line end (or segment start, see
 * imap_parser_segment()) and resumes at the first line that parses,
 * without syntax findings until then.
 */
enum imap_gap_result { IMAP_GAP_IN_LITERAL, IMAP_GAP_RESYNC };
enum imap_gap_result imap_parser_gap(struct imap_parser *p, uint64_t bytes);

/*
 * The next byte fed starts a TCP segment.  While skipping to the next
 * line end after a gap, the segment is read as a line start instead: it
 * ends the resync when it parses as protocol (a valid tag and a known
 * command for the client; a status, tagged, known untagged or
 * continuation line for the server), else it is dropped at its line end
 * as skipping would have.  A gap that took a line's CRLF then does not
 * take the next line too.  Otherwise no effect.
 */
void imap_parser_segment(struct imap_parser *p);

/* For a stream picked up mid-way: lines that do not parse are dropped
 * silently until one parses (the current position is assumed to be a
 * line start, which is usual when a capture starts). */
void imap_parser_set_midstream(struct imap_parser *p);

/*
 * The literal being waited for will not come: the peer refused it (a
 * server's tagged NO or BAD instead of "+").  If the parser is at the
 * start of a literal's data, the pending element is delivered as it
 * stands and parsing goes on with the next line; returns 1.  Otherwise
 * nothing changes; returns 0.  Not to be called from this parser's own
 * callbacks.
 */
int imap_parser_cancel_literal(struct imap_parser *p);

/* Client side: what the next line is.  Takes effect at the next line. */
void imap_parser_set_mode(struct imap_parser *p, enum imap_client_mode mode);

/* UTF8=ACCEPT is enabled: 8-bit octets in lines are no longer flagged. */
void imap_parser_set_utf8(struct imap_parser *p, int enabled);

/*
 * End of stream.  Reports literal-truncated if it ended inside a
 * literal, and delivers a pending partial line as UNPARSED (with no
 * finding: a capture may simply stop).  Returns 1 if bytes of an
 * incomplete element were pending, else 0.
 */
int imap_parser_finish(struct imap_parser *p);

/* Stream offset of the next byte the parser expects. */
uint64_t imap_parser_offset(const struct imap_parser *p);

/*
 * A line in progress has storage of its own (its text, literal previews,
 * tokens and list stack), taken at its first byte and given back once it
 * is delivered: a parser between lines costs imap_parser_size() alone.
 * imap_parser_feed(), _gap() and _finish() give it back themselves when
 * they return between lines; imap_parser_trim() does so otherwise (it does
 * nothing inside a feed or in the middle of a line or a literal).
 * Accepts NULL.
 */
void imap_parser_trim(struct imap_parser *p);

/* 1 when p holds no line storage (it is between lines), else 0. */
int imap_parser_idle(const struct imap_parser *p);

/*
 * A shelf keeps the storage of lines given back, a bounded number of them,
 * for the next line of any parser set on it: with many parsers that take
 * turns (one per direction of every open session), a line then costs no
 * allocation.  One shelf serves the parsers of one thread; it must outlive
 * them.  imap_shelf_new() returns NULL only when out of memory;
 * imap_shelf_free() accepts NULL.  Without a shelf (the default) a line's
 * storage is allocated and freed with the line.
 */
struct imap_shelf;
struct imap_shelf *imap_shelf_new(void);
void imap_shelf_free(struct imap_shelf *sh);
void imap_parser_set_shelf(struct imap_parser *p, struct imap_shelf *sh);

/* Frees p; accepts NULL. */
void imap_parser_free(struct imap_parser *p);

/*
 * Guesses from the first bytes of a flow which side sent them.  Returns
 * 1 when they look like a server (a "* OK"/"* PREAUTH"/"* BYE" greeting,
 * another untagged response, a "+ " continuation or "tag OK|NO|BAD "),
 * 0 when they look like a client ("tag SP known-command", see
 * imap_cmd_lookup()), and -1 when they look like neither (not IMAP).
 */
int imap_classify(const uint8_t *data, size_t len);

#endif
