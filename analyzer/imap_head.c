/*
 * imap_head.c - the head of a completed IMAP line (see imap_int.h), and
 * imap_classify().
 *
 * A client line is "tag command args"; a server line is "+ text",
 * "* [number] name args" or "tag status [code] text".  The head is read
 * here with plain word scans; the arguments go to the tokenizer
 * (imap_token.c).  imap_classify() reads a stream's first line with the
 * same word and name rules to tell a client from a server.
 *
 * Layout: character classes and word helpers; the head of client and
 * server lines; the plausibility test used while resynchronising and the
 * parse findings; imap_classify().
 */
#include <string.h>

#include "dec.h"
#include "imap_cmd.h"
#include "imap_int.h"
#include "imap_names.h"

/* ---- characters and words ---- */

/* ATOM-CHAR is any CHAR except atom-specials (RFC 3501 §9): controls,
 * space and "(){%*\"\\", and "]" (resp-specials).  A tag may hold "]"
 * but not "+". */
enum { IMAP_NOT_ATOM = 1, IMAP_NOT_TAG = 2 };

static const uint8_t imap_char_class[128] = {
	['('] = 3, [')'] = 3, ['{'] = 3, ['%'] = 3, ['*'] = 3, ['"'] = 3,
	['\\'] = 3, [']'] = IMAP_NOT_ATOM, ['+'] = IMAP_NOT_TAG,
};

static int imap_is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !(imap_char_class[c] & IMAP_NOT_TAG);
}

static int imap_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !(imap_char_class[c] & IMAP_NOT_ATOM);
}

static int imap_valid_tag(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!imap_is_tag_char((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* True when s[0..n) is all visible ASCII (no control, space or 8-bit). */
static int imap_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int imap_valid_atom(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!imap_is_atom_char((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* End of the word at s[i]: the next space (or stop char), or n. */
static size_t imap_word_end(const char *s, size_t i, size_t n, char stop)
{
	while (i < n && s[i] != ' ' && s[i] != stop)
		i++;
	return i;
}

static size_t imap_skip_sp(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* Copies s[0, n) upper-cased and NUL-terminated into dst[size], cut. */
static size_t imap_upcopy(char *dst, size_t size, const char *s, size_t n)
{
	if (n > size - 1)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		dst[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	dst[n] = '\0';
	return n;
}

static int imap_word_is(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);

	if (n != wl)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((s[i] | 0x20) != (w[i] | 0x20))
			return 0;
	}
	return 1;
}

static int imap_is_status_word(const char *s, size_t n)
{
	return imap_word_is(s, n, "OK") || imap_word_is(s, n, "NO") ||
	       imap_word_is(s, n, "BAD") || imap_word_is(s, n, "BYE") ||
	       imap_word_is(s, n, "PREAUTH");
}

/* ---- the head of a completed line ---- */

/*
 * The UID command whose subcommand is the word after "UID" at s[i, n)
 * (spaces skipped): "UID FETCH" and the like are one command name.
 * Returns it and sets *end_r to the end of the subcommand; returns
 * CMD_UNKNOWN, *end_r untouched, when the word is empty, longer than any
 * name, or not a UID subcommand.
 */
static enum imap_cmd imap_uid_cmd(const char *s, size_t i, size_t n,
				  size_t *end_r)
{
	size_t ss = imap_skip_sp(s, i, n);
	size_t se = imap_word_end(s, ss, n, ' ');
	char joined[48];
	enum imap_cmd c;

	if (se == ss || se - ss > sizeof(joined) - 4)
		return CMD_UNKNOWN;
	memcpy(joined, "UID ", 4);
	memcpy(joined + 4, s + ss, se - ss);
	c = imap_cmd_lookup(joined, 4 + (se - ss));
	if (c != CMD_UNKNOWN)
		*end_r = se;
	return c;
}

static void imap_tokens(struct imap_parser *p, size_t start, size_t end,
			int lenient)
{
	struct imap_tok_in in;

	memset(&in, 0, sizeof(in));
	in.buf = p->w->line;
	in.start = start;
	in.end = end;
	in.lits = p->w->lits;
	in.nlits = p->w->nlits;
	in.prev_base = p->w->line_len;
	/* A cut line ends anywhere: its last token and its lists are cut,
	 * which line-too-long already says. */
	in.lenient = lenient || p->w->line_trunc;
	in.truncated = p->w->line_trunc;
	imap_tokenize(&p->w->toks, &in);
	if (p->w->toks.syntax_err) {
		p->w->pf |= PF_SYNTAX;
		p->w->syntax_why = "bad arguments (unbalanced parentheses, "
				"unterminated string, or '{' without literal)";
	}
}

static void imap_bad_line(struct imap_parser *p, struct imap_element *el,
			  const char *why)
{
	el->kind = IMAP_EL_UNPARSED;
	el->has_number = 0;
	el->number = 0;
	el->tag = NULL;
	el->tag_len = 0;
	el->name[0] = '\0';
	p->w->pf |= PF_SYNTAX;
	p->w->syntax_why = why;
}

static void imap_set_tag(struct imap_parser *p, struct imap_element *el,
			 size_t len)
{
	el->tag = p->w->line;
	el->tag_len = len;
	if (len > p->lim->max_tag) {
		el->tag_len = p->lim->max_tag;
		p->w->pf |= PF_TAG_CUT;
	}
}

/*
 * resp-text after a status word or "+": an optional "[CODE args]" and
 * free text.  A '[' without its ']' is plain text (RFC 3501 allows '['
 * in text).  Code arguments are tokenized leniently: unknown codes carry
 * free text.
 */
static void imap_resp_text(struct imap_parser *p, struct imap_element *el,
			   size_t i)
{
	const char *s = p->w->line;
	size_t n = p->w->line_len;

	i = imap_skip_sp(s, i, n);
	if (i < n && s[i] == '[') {
		size_t depth = 1, close = n, ne, j = i + 1;

		/* Not quote-aware: an unknown code's arguments are free text
		 * up to ']' (RFC 3501 resp-text-code), quotes included.  The
		 * next ']' found by memchr(), then the '[' before it (rare)
		 * counted in. */
		while (j < n) {
			const char *c = memchr(s + j, ']', n - j);
			size_t end = c != NULL ? (size_t)(c - s) : n;
			const char *o = s + j;

			while ((o = memchr(o, '[', (size_t)(s + end - o))) != NULL) {
				depth++;
				o++;
			}
			if (c == NULL)
				break;
			if (--depth == 0) {
				close = end;
				break;
			}
			j = end + 1;
		}
		ne = imap_word_end(s, i + 1, close, ']');
		if (close < n && ne > i + 1) {
			el->code_len = imap_upcopy(p->w->code, sizeof(p->w->code),
						   s + i + 1, ne - (i + 1));
			el->code = p->w->code;
			if (ne < close) {
				el->code_args = s + ne + 1;
				el->code_args_len = close - (ne + 1);
				imap_tokens(p, ne + 1, close, 1);
			}
			i = imap_skip_sp(s, close + 1, n);
		}
	}
	el->text = s + i;
	el->text_len = n - i;
}

static void imap_parse_client(struct imap_parser *p, struct imap_element *el)
{
	const char *s = p->w->line;
	size_t n = p->w->line_len, te, ns, ne, args;

	if (p->w->el_mode == IMAP_MODE_LINE) {
		el->kind = IMAP_EL_CLIENT_LINE;
		return;
	}
	te = imap_word_end(s, 0, n, ' ');
	if (n == 0 || te == 0 || te == n) {
		imap_bad_line(p, el, n == 0 ? "empty command line" :
			      "missing command after the tag");
		return;
	}
	ns = imap_skip_sp(s, te, n);
	ne = imap_word_end(s, ns, n, ' ');
	if (!imap_valid_atom(s + ns, ne - ns)) {
		imap_bad_line(p, el, "missing or malformed command name");
		return;
	}
	el->kind = IMAP_EL_COMMAND;
	imap_set_tag(p, el, te);
	if (!imap_valid_tag(s, te))
		p->w->pf |= PF_INVALID_TAG;
	imap_upcopy(el->name, sizeof(el->name), s + ns, ne - ns);
	args = ne;
	if (strcmp(el->name, "UID") == 0) {
		/* "UID FETCH": the subcommand is part of the name. */
		enum imap_cmd c = imap_uid_cmd(s, ne, n, &args);

		if (c != CMD_UNKNOWN) {
			const char *name = imap_cmd_info(c)->name;

			imap_upcopy(el->name, sizeof(el->name), name, strlen(name));
		}
	}
	imap_tokens(p, args, n, 0);
}

static void imap_parse_untagged(struct imap_parser *p, struct imap_element *el)
{
	const char *s = p->w->line;
	size_t n = p->w->line_len, ws, we;

	ws = imap_skip_sp(s, 1, n);
	we = imap_word_end(s, ws, n, '[');
	if (we == ws) {
		imap_bad_line(p, el, "untagged response without a name");
		return;
	}
	if (imap_is_status_word(s + ws, we - ws)) {
		el->kind = IMAP_EL_UNTAGGED;
		el->is_status = 1;
		imap_upcopy(el->name, sizeof(el->name), s + ws, we - ws);
		imap_resp_text(p, el, we);
		return;
	}
	we = imap_word_end(s, ws, n, '\0');
	if (dec_parse_u64(s + ws, we - ws, UINT64_MAX, &el->number) == 0) {
		el->has_number = 1;
		ws = imap_skip_sp(s, we, n);
		we = imap_word_end(s, ws, n, '(');
	} else if (we > ws && dec_span(s + ws, we - ws) == we - ws) {
		imap_bad_line(p, el, "message number out of range");
		return;
	}
	if (!imap_valid_atom(s + ws, we - ws)) {
		imap_bad_line(p, el, "malformed untagged response name");
		return;
	}
	el->kind = IMAP_EL_UNTAGGED;
	imap_upcopy(el->name, sizeof(el->name), s + ws, we - ws);
	imap_tokens(p, we, n, 0);
}

static void imap_parse_server(struct imap_parser *p, struct imap_element *el)
{
	const char *s = p->w->line;
	size_t n = p->w->line_len, te, ws, we;
	int bad_tag;

	if (n >= 1 && s[0] == '+') {
		/* "+" alone or "+text" happen on real servers: accepted. */
		el->kind = IMAP_EL_CONTINUATION;
		imap_resp_text(p, el, 1);
		return;
	}
	if (n >= 1 && s[0] == '*' && (n == 1 || s[1] == ' ')) {
		imap_parse_untagged(p, el);
		return;
	}
	te = imap_word_end(s, 0, n, ' ');
	bad_tag = te > 0 && te < n && !imap_valid_tag(s, te);
	ws = imap_skip_sp(s, te, n);
	we = imap_word_end(s, ws, n, '[');
	/* A tag with a forbidden character is accepted before OK, NO or BAD:
	 * servers echo the invalid tag of a client's command, and the engine
	 * pairs it (the command carries the invalid-tag finding). */
	if (te == 0 || te == n || (bad_tag && (!imap_printable(s, te) ||
	    !(imap_word_is(s + ws, we - ws, "OK") || imap_word_is(s + ws, we - ws, "NO") ||
	      imap_word_is(s + ws, we - ws, "BAD"))))) {
		imap_bad_line(p, el, "not an untagged, continuation or tagged "
			      "response");
		return;
	}
	if (!imap_valid_atom(s + ws, we - ws)) {
		imap_bad_line(p, el, "tagged response without a status");
		return;
	}
	el->kind = IMAP_EL_TAGGED;
	el->tag_invalid = bad_tag;
	imap_set_tag(p, el, te);
	el->is_status = 1;
	imap_upcopy(el->name, sizeof(el->name), s + ws, we - ws);
	imap_resp_text(p, el, we);
}

void imap_head_parse(struct imap_parser *p, struct imap_element *el)
{
	if (p->side == IMAP_SIDE_CLIENT)
		imap_parse_client(p, el);
	else
		imap_parse_server(p, el);
}

/*
 * While resynchronising only a line that looks like real protocol ends
 * the resync: message text that a gap left us in ("From: a", "* item",
 * "+ added") must not pass for commands or responses.  An untagged
 * response must carry a status or a name the protocol defines
 * (imap_names.h).
 */
int imap_head_plausible(const struct imap_parser *p,
			const struct imap_element *el)
{
	if (el->kind == IMAP_EL_UNPARSED || (p->w->pf & PF_SYNTAX))
		return 0;
	switch (el->kind) {
	case IMAP_EL_COMMAND:
		/* "From: Bob" or "X-Spam-Flag: NO": header lines end their
		 * first word with ':', tags practically never do. */
		if (memchr(el->tag, ':', el->tag_len) != NULL)
			return 0;
		return !(p->w->pf & PF_INVALID_TAG) &&
		       (el->name[0] == 'X' ||
			imap_cmd_lookup(el->name, strlen(el->name)) != CMD_UNKNOWN);
	case IMAP_EL_TAGGED:
		if (el->tag_invalid || memchr(el->tag, ':', el->tag_len) != NULL)
			return 0;
		return imap_is_status_word(el->name, strlen(el->name)) &&
		       strcmp(el->name, "BYE") != 0 &&
		       strcmp(el->name, "PREAUTH") != 0;
	case IMAP_EL_CONTINUATION:
		/* Only "+", "+ [code]..." or a base64 challenge. */
		if (el->code != NULL || el->text_len == 0)
			return 1;
		for (size_t i = 0; i < el->text_len; i++) {
			char c = el->text[i];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '+' || c == '/' ||
			      c == '='))
				return 0;
		}
		return 1;
	case IMAP_EL_UNTAGGED:
		if (el->is_status)
			return 1;
		return imap_resp_name_defined(el->name, strlen(el->name),
					      el->has_number);
	default:
		return 1;
	}
}

void imap_head_report(struct imap_parser *p, const struct imap_element *el)
{
	uint64_t off = el->offset;

	if (p->w->pf & PF_INVALID_TAG)
		imap_report(p, F_INVALID_TAG, off, NULL, 0, NULL);
	if (p->w->pf & PF_TAG_CUT)
		imap_report(p, F_LIMIT_REACHED, off, "max-tag", p->lim->max_tag,
			    "tag cut");
	if (p->w->pf & PF_TOKENS)
		imap_report(p, F_LIMIT_REACHED, off, "max-tokens",
			    p->lim->max_tokens, "tokens past the cap not kept");
	if (p->w->pf & PF_DEPTH)
		imap_report(p, F_LIMIT_REACHED, off, "max-depth",
			    p->lim->max_depth, "lists nested deeper not kept");
	if (p->w->pf & PF_SYNTAX)
		imap_report(p, F_SYNTAX_ERROR, off, NULL, 0, p->w->syntax_why);
}

/* ---- guessing the direction ---- */

int imap_classify(const uint8_t *data, size_t len)
{
	const char *s = (const char *)data;
	size_t n = 0, te, ws, we, se;

	while (n < len && s[n] != '\r' && s[n] != '\n')
		n++;
	if (n >= 1 && s[0] == '+' && (n == 1 ? len > 1 : s[1] == ' '))
		return 1;
	if (n >= 3 && s[0] == '*' && s[1] == ' ' && imap_is_atom_char((unsigned char)s[2]))
		return 1;
	te = imap_word_end(s, 0, n, ' ');
	if (te == n || !imap_valid_tag(s, te))
		return -1;
	ws = te + 1;
	we = imap_word_end(s, ws, n, ' ');
	if (imap_word_is(s + ws, we - ws, "OK") ||
	    imap_word_is(s + ws, we - ws, "NO") ||
	    imap_word_is(s + ws, we - ws, "BAD"))
		return 1;
	if (imap_word_is(s + ws, we - ws, "UID"))
		return imap_uid_cmd(s, we, n, &se) != CMD_UNKNOWN ? 0 : -1;
	if (we > ws && imap_cmd_lookup(s + ws, we - ws) != CMD_UNKNOWN)
		return 0;
	return -1;
}
