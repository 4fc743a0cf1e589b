/*
 * test_imap.c - the streaming IMAP parser.
 *
 * Every callback is written into a textual transcript.  Each case is fed
 * whole, one byte at a time, split in two at every offset and in three
 * at many offsets; all transcripts must be identical, then the whole-feed
 * transcript is checked for what the case is about.
 */
#include <check.h>

#include "check_main.h"
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "fuzz/fuzz_imap.h"

/* ---- transcript recorder ---- */

struct rec {
	char *s;
	size_t len, cap;
	struct imap_parser *p;
	int auto_mode;           /* switch modes like the session engine */
	int show_canon;          /* record tokens_text too */
};

static void rec_put(struct rec *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t c = r->cap ? r->cap : 256;
		while (c < r->len + n + 1)
			c *= 2;
		r->s = realloc(r->s, c);
		ck_assert_ptr_nonnull(r->s);
		r->cap = c;
	}
	memcpy(r->s + r->len, s, n);
	r->len += n;
	r->s[r->len] = '\0';
}

static void rec_printf(struct rec *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

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
	rec_printf(u, "LB %" PRIu64 " @%" PRIu64 "%s%s%s\n", l->size,
		   l->data_offset, l->nonsync ? " +" : "", l->minus ? " -" : "",
		   l->binary ? " ~" : "");
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

struct gapspec {
	size_t pos;              /* after this many input bytes */
	uint64_t bytes;
};

struct opts {
	enum imap_side side;
	struct imt_limits lim;
	int midstream;
	int utf8;
	int auto_mode;
	int show_canon;
	const struct gapspec *gaps;
	size_t ngaps;
};

static struct opts opts_for(enum imap_side side)
{
	struct opts o;

	memset(&o, 0, sizeof(o));
	o.side = side;
	imt_limits_default(&o.lim);
	return o;
}

/* Feeds in, cut at cuts[] (sorted), gaps at their positions. */
static char *run_cuts(const struct opts *o, const char *in, size_t len,
		      const size_t *cuts, size_t ncuts)
{
	static const struct imap_callbacks cb = {
		rec_element, rec_lit_begin, rec_lit_data, rec_finding,
	};
	struct rec r;
	size_t i = 0, ci = 0, gi = 0;

	memset(&r, 0, sizeof(r));
	r.auto_mode = o->auto_mode;
	r.show_canon = o->show_canon;
	r.p = imap_parser_new(o->side, &o->lim, &cb, &r);
	ck_assert_ptr_nonnull(r.p);
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
		i = next;
	}
	rec_printf(&r, "FIN %d @%" PRIu64 "\n", imap_parser_finish(r.p),
		   imap_parser_offset(r.p));
	imap_parser_free(r.p);
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
static char *check_all(const struct opts *o, const char *in, size_t len)
{
	char *whole = run_cuts(o, in, len, NULL, 0);
	size_t *cuts = calloc(len + 1, sizeof(*cuts));
	size_t step;

	ck_assert_ptr_nonnull(cuts);
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	same(whole, run_cuts(o, in, len, cuts, len ? len - 1 : 0), "bytes", 0, 0);
	for (size_t i = 1; i < len; i++)
		same(whole, run_cuts(o, in, len, &i, 1), "two", i, 0);
	step = len / 48 + 1;
	for (size_t i = 1; i < len; i += step) {
		for (size_t j = i + 1; j < len; j += step) {
			size_t c[2] = { i, j };
			same(whole, run_cuts(o, in, len, c, 2), "three", i, j);
		}
	}
	free(cuts);
	return whole;
}

static char *check_str(const struct opts *o, const char *in)
{
	return check_all(o, in, strlen(in));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

/* On failure the transcript goes to stderr: Check cuts long messages. */
static void expect(int ok, const char *what, const char *s, const char *t,
		   const char *file, int line)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: %s [%s] in:\n%s\n", file, line, what, s, t);
	ck_abort_msg("%s:%d: %s [%.200s]", file, line, what, s);
}

#define HAS(t, s) expect(strstr((t), (s)) != NULL, "missing", (s), (t), \
			 __FILE__, __LINE__)
#define HASNT(t, s) expect(strstr((t), (s)) == NULL, "unexpected", (s), (t), \
			   __FILE__, __LINE__)
#define COUNT(t, s, n) expect(count((t), (s)) == (n), "wrong count of", (s), \
			      (t), __FILE__, __LINE__)

/* ---- client commands ---- */

START_TEST(test_simple_commands)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t = check_str(&o, "a001 capability\r\nA002 NOOP\r\n"
			    "A003 SELECT INBOX\r\nA004 LOGOUT\r\n");

	HAS(t, "EL command @0+17 line=\"a001 capability\" tag=\"a001\" name=CAPABILITY\n");
	HAS(t, "EL command @17+11 line=\"A002 NOOP\" tag=\"A002\" name=NOOP\n");
	HAS(t, "name=SELECT\n  atom d0 \"INBOX\"\n");
	HAS(t, "name=LOGOUT\nFIN 0 @60\n");
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_login_quoted)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t = check_str(&o, "A1 LOGIN \"joe user\" \"p\\\"w\\\\d (x\"\r\n"
			    "A2 LOGIN joe \"\"\r\n");

	HAS(t, "name=LOGIN\n  quoted d0 \"joe user\"\n"
	    "  quoted d0 \"p\\%22w\\\\d (x\"\n");
	HAS(t, "tag=\"A2\" name=LOGIN\n  atom d0 \"joe\"\n  quoted d0 \"\"\n");
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_uid_join)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t = check_str(&o,
		"A5 UID fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM DATE)]<0.1024> "
		"BODY[1.2.MIME])\r\n"
		"A6 UID FOO 1\r\nA7 uid\r\nA8 UID EXPUNGE 3:5\r\n");

	HAS(t, "name=UID FETCH\n  atom d0 \"1:*\"\n  list d0 ->5\n"
	    "  atom d1 \"FLAGS\"\n"
	    "  atom d1 \"BODY.PEEK[HEADER.FIELDS (FROM DATE)]<0.1024>\"\n"
	    "  atom d1 \"BODY[1.2.MIME]\"\n  list_end d0\n");
	HAS(t, "tag=\"A6\" name=UID\n  atom d0 \"FOO\"\n  number d0 \"1\" =1\n");
	HAS(t, "tag=\"A7\" name=UID\n");
	HAS(t, "name=UID EXPUNGE\n  atom d0 \"3:5\"\n");
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_append_literals)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	static const char in[] =
		"A1 APPEND INBOX (\\Seen) {11}\r\nHello World\r\n"
		"A2 APPEND INBOX {5+}\r\nab\ncd\r\n"
		"A3 APPEND INBOX ~{3}\r\na\0b\r\n"
		"A4 LOGIN {3}\r\nbob {4-}\r\npass\r\n"
		"A5 LOGIN {0}\r\n {0+}\r\n\r\n";
	char *t = check_all(&o, in, sizeof(in) - 1);

	HAS(t, "LB 11 @30\nLD @30\nEL command @0+43 "
	    "line=\"A1 APPEND INBOX (\\Seen) {11}\" tag=\"A1\" name=APPEND lit=1/11\n"
	    "  atom d0 \"INBOX\"\n  list d0 ->3\n  atom d1 \"\\Seen\"\n"
	    "  list_end d0\n  literal d0 \"Hello World\" =11\n");
	HAS(t, "LB 5 @65 +\nLD @65\n");
	HAS(t, "lit=1/5\n  atom d0 \"INBOX\"\n  literal d0 f1 \"ab%0acd\" =5\n");
	HAS(t, " ~\nLD @");
	HAS(t, "  literal d0 f2 \"a%00b\" =3\n");
	HAS(t, "line=\"A4 LOGIN {3} {4-}\" tag=\"A4\" name=LOGIN lit=2/7\n"
	    "  literal d0 \"bob\" =3\n  literal d0 f1 \"pass\" =4\n");
	HAS(t, " + -\n");
	HAS(t, "line=\"A5 LOGIN {0} {0+}\" tag=\"A5\" name=LOGIN lit=2/0\n"
	    "  literal d0 \"\" =0\n  literal d0 f1 \"\" =0\n");
	COUNT(t, "EL ", 5);
	COUNT(t, "LB ", 7);
	COUNT(t, "LD ", 5);	/* none for {0} */
	HASNT(t, "F ");
	free(t);
}
END_TEST

/* ---- server responses ---- */

START_TEST(test_fetch_body_literal)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	static const char body[] =
		"A004 OK done\r\n* BYE\r\nX-Spam-Flag: NO\r\nbare\nlf\r\n)\r\n";
	char in[1024];
	char *t;

	snprintf(in, sizeof(in),
		 "* 12 FETCH (UID 55 FLAGS (\\Seen $Forwarded) INTERNALDATE "
		 "\"17-Jul-1996 02:44:25 -0700\" "
		 "BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
		 "NIL NIL \"7BIT\" 3028 92) "
		 "BODY[HEADER.FIELDS (FROM DATE)] {%zu}\r\n%s)\r\n"
		 "A005 OK FETCH completed.\r\n", sizeof(body) - 1, body);
	t = check_str(&o, in);
	COUNT(t, "EL ", 2);
	HAS(t, "EL untagged @0+");
	HAS(t, " n=12 lit=1/50\n");
	HAS(t, "name=FETCH n=12 lit=1/50\n  list d0 ->26\n  atom d1 \"UID\"\n"
	    "  number d1 \"55\" =55\n  atom d1 \"FLAGS\"\n  list d1 ->7\n"
	    "  atom d2 \"\\Seen\"\n  atom d2 \"$Forwarded\"\n  list_end d1\n"
	    "  atom d1 \"INTERNALDATE\"\n  quoted d1 \"17-Jul-1996 02:44:25 -0700\"\n"
	    "  atom d1 \"BODYSTRUCTURE\"\n  list d1 ->23\n");
	HAS(t, "  list d2 ->17\n  quoted d3 \"CHARSET\"\n");
	HAS(t, "  atom d1 \"BODY[HEADER.FIELDS (FROM DATE)]\"\n"
	    "  literal d1 \"A004 OK done%0d%0a* BYE%0d%0aX-Spam-Flag: NO%0d%0abare%0alf%0d%0a)%0d%0a\" =50\n"
	    "  list_end d0\n");
	HAS(t, "EL tagged @");
	HAS(t, "tag=\"A005\" name=OK status text=\"FETCH completed.\"\n");
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_server_data)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t = check_str(&o,
		"* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN IDLE\r\n"
		"* LIST (\\HasNoChildren \\Trash) \"/\" \"Deleted Items\"\r\n"
		"* LIST () NIL INBOX\r\n"
		"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
		"* SEARCH 2 84 882\r\n* SEARCH\r\n"
		"* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3\r\n"
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		"* 172 EXISTS\r\n* 1 RECENT\r\n* 3 EXPUNGE\r\n"
		"* VANISHED (EARLIER) 300:310,405,411\r\n"
		"* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\"))\r\n"
		"* ID (\"name\" \"Dovecot\") \r\n* ID NIL\r\n"
		"* ENABLED CONDSTORE\r\n* QUOTA \"\" (STORAGE 10 512)\r\n");

	HAS(t, "name=CAPABILITY\n  atom d0 \"IMAP4rev1\"\n  atom d0 \"LITERAL+\"\n"
	    "  atom d0 \"SASL-IR\"\n  atom d0 \"AUTH=PLAIN\"\n  atom d0 \"IDLE\"\n");
	HAS(t, "name=LIST\n  list d0 ->3\n  atom d1 \"\\HasNoChildren\"\n"
	    "  atom d1 \"\\Trash\"\n  list_end d0\n  quoted d0 \"/\"\n"
	    "  quoted d0 \"Deleted Items\"\n");
	HAS(t, "name=LIST\n  list d0 ->1\n  list_end d0\n  atom d0 \"NIL\"\n");
	HAS(t, "name=STATUS\n  atom d0 \"blurdybloop\"\n  list d0 ->6\n");
	HAS(t, "name=SEARCH\n  number d0 \"2\" =2\n");
	HAS(t, "line=\"* SEARCH\" name=SEARCH\n");
	HAS(t, "name=ESEARCH\n  list d0 ->3\n  atom d1 \"TAG\"\n  quoted d1 \"A282\"\n");
	HAS(t, "name=FLAGS\n  list d0 ->6\n");
	HAS(t, "name=EXISTS n=172\n");
	HAS(t, "name=RECENT n=1\n");
	HAS(t, "name=EXPUNGE n=3\n");
	HAS(t, "name=VANISHED\n  list d0 ->2\n  atom d1 \"EARLIER\"\n  list_end d0\n"
	    "  atom d0 \"300:310,405,411\"\n");
	HAS(t, "name=NAMESPACE\n  list d0 ->5\n  list d1 ->4\n");
	HAS(t, "name=ID\n  list d0 ->3\n");
	HAS(t, "name=ID\n  atom d0 \"NIL\"\n");
	HAS(t, "name=QUOTA\n  quoted d0 \"\"\n  list d0 ->5\n");
	COUNT(t, "EL untagged", 17);
	HASNT(t, "F ");
	HASNT(t, "SYNTAX");
	free(t);
}
END_TEST

START_TEST(test_status_codes)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t = check_str(&o,
		"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"
		"* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n"
		"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		"* NO [ALERT] System shutdown in 10 minutes\r\n"
		"* OK [XYZZY free \"text( ] hi\r\n"
		"* BAD [BADCHARSET (UTF-8)] x (unbalanced\r\n"
		"* ok\r\n* BYE   \r\n"
		"* PREAUTH [CAPABILITY IMAP4rev1] Logged in as bob\r\n"
		"* OK [no close bracket\r\n"
		"* OK [READ-ONLY] \r\n");

	HAS(t, "name=OK status code=\"CAPABILITY\" "
	    "args=\"IMAP4rev1 STARTTLS AUTH=PLAIN\" text=\"Dovecot ready.\"\n"
	    "  atom d0 \"IMAP4rev1\"\n  atom d0 \"STARTTLS\"\n  atom d0 \"AUTH=PLAIN\"\n");
	HAS(t, "code=\"PERMANENTFLAGS\" args=\"(\\Seen \\*)\" text=\"Limited\"\n"
	    "  list d0 ->3\n  atom d1 \"\\Seen\"\n  atom d1 \"\\*\"\n  list_end d0\n");
	HAS(t, "code=\"UIDVALIDITY\" args=\"3857529045\" text=\"UIDs valid\"\n"
	    "  number d0 \"3857529045\" =3857529045\n");
	HAS(t, "name=NO status code=\"ALERT\" text=\"System shutdown in 10 minutes\"\n");
	HAS(t, "code=\"XYZZY\" args=\"free %22text( \" text=\"hi\"\n");
	HAS(t, "name=BAD status code=\"BADCHARSET\" args=\"(UTF-8)\" "
	    "text=\"x (unbalanced\"\n");
	HAS(t, "line=\"* ok\" name=OK status text=\"\"\n");
	HAS(t, "name=BYE status text=\"\"\n");
	HAS(t, "name=PREAUTH status code=\"CAPABILITY\" args=\"IMAP4rev1\" "
	    "text=\"Logged in as bob\"\n");
	HAS(t, "name=OK status text=\"[no close bracket\"\n");
	HAS(t, "name=OK status code=\"READ-ONLY\" text=\"\"\n");
	HASNT(t, "F ");
	HASNT(t, "SYNTAX");
	free(t);
}
END_TEST

START_TEST(test_continuation)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t = check_str(&o, "+ \r\n+\r\n+ Ready for literal data\r\n"
			    "+ dGVzdA==\r\n+ [ALERT] hi\r\n+idling\r\n");

	HAS(t, "EL continuation @0+4 line=\"+ \" text=\"\"\n");
	HAS(t, "EL continuation @4+3 line=\"+\" text=\"\"\n");
	HAS(t, "text=\"Ready for literal data\"\n");
	HAS(t, "text=\"dGVzdA==\"\n");
	HAS(t, "line=\"+ [ALERT] hi\" code=\"ALERT\" text=\"hi\"\n");
	HAS(t, "line=\"+idling\" text=\"idling\"\n");
	COUNT(t, "EL continuation", 6);
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_tagged)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t = check_str(&o, "A1 OK LOGIN completed\r\n"
			    "A2 NO [TRYCREATE] No such mailbox\r\n"
			    "A3 BAD Command unknown\r\nA4 FOO bar\r\nA5 OK\r\n"
			    "a6 ok [READ-WRITE] Select completed.\r\n"
			    "hello\r\n(x) OK\r\n*\r\n* 5\r\n* (x)\r\n"
			    "* 99999999999999999999999 EXISTS\r\n");

	HAS(t, "tag=\"A1\" name=OK status text=\"LOGIN completed\"\n");
	HAS(t, "tag=\"A2\" name=NO status code=\"TRYCREATE\" text=\"No such mailbox\"\n");
	HAS(t, "tag=\"A3\" name=BAD status text=\"Command unknown\"\n");
	HAS(t, "tag=\"A4\" name=FOO status text=\"bar\"\n");
	HAS(t, "tag=\"A5\" name=OK status text=\"\"\n");
	HAS(t, "tag=\"a6\" name=OK status code=\"READ-WRITE\" text=\"Select completed.\"\n");
	HAS(t, "EL unparsed @");
	HAS(t, "line=\"hello\" SYNTAX\n");
	HAS(t, "line=\"(x) OK\" SYNTAX\n");
	HAS(t, "line=\"*\" SYNTAX\n");
	HAS(t, "line=\"* 5\" SYNTAX\n");
	HAS(t, "line=\"* (x)\" SYNTAX\n");
	HAS(t, "line=\"* 99999999999999999999999 EXISTS\" SYNTAX\n");
	COUNT(t, "F syntax-error", 6);
	COUNT(t, "EL unparsed", 6);
	free(t);
}
END_TEST

/* ---- client modes ---- */

START_TEST(test_mode_switch)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t;

	o.auto_mode = 1;
	t = check_str(&o, "A1 AUTHENTICATE PLAIN\r\ndGVzdAB0ZXN0AHRlc3Q=\r\n*\r\n"
		      "A2 IDLE\r\nDONE\r\nA3 NOOP {3}\r\nabc\r\n"
		      "A4 IDLE\r\nnot done {3}\r\nDONE\r\nA5 NOOP\r\n");
	HAS(t, "name=AUTHENTICATE\n  atom d0 \"PLAIN\"\n"
	    "EL client_line @23+22 line=\"dGVzdAB0ZXN0AHRlc3Q=\"\n"
	    "EL client_line @45+3 line=\"*\"\n"
	    "EL command @48+9 line=\"A2 IDLE\" tag=\"A2\" name=IDLE\n"
	    "EL client_line @57+6 line=\"DONE\"\n");
	HAS(t, "name=NOOP lit=1/3\n  literal d0 \"abc\" =3\n");
	/* No literal in LINE mode: "{3}" is just text there. */
	HAS(t, "EL client_line @90+14 line=\"not done {3}\"\n"
	    "EL client_line @104+6 line=\"DONE\"\n"
	    "EL command @110+9 line=\"A5 NOOP\" tag=\"A5\" name=NOOP\n");
	COUNT(t, "LB ", 1);
	HASNT(t, "F ");
	free(t);
}
END_TEST

/* ---- framing findings ---- */

START_TEST(test_bare_lf_cr_nul)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	static const char in[] = "A1 NOOP\nA2 NOOP a\rb\r\nA3 NOOP a\0b\r\n"
				 "A4 NOOP \r\r\nA5 NOOP\r\n";
	char *t = check_all(&o, in, sizeof(in) - 1);

	HAS(t, "F bare-lf @7\nEL command @0+8 line=\"A1 NOOP\" tag=\"A1\" name=NOOP\n");
	HAS(t, "F bare-cr @17\nEL command @8+13 line=\"A2 NOOP a%0db\" tag=\"A2\" "
	    "name=NOOP\n  atom d0 \"a%0db\"\n");
	HAS(t, "F nul-in-line @30\nEL command @21+13 line=\"A3 NOOP a%00b\"");
	HAS(t, "F bare-cr @42\nEL command @34+11 line=\"A4 NOOP \"");
	HAS(t, "EL command @45+9 line=\"A5 NOOP\" tag=\"A5\" name=NOOP\nFIN 0 @54\n");
	COUNT(t, "F ", 4);
	free(t);
}
END_TEST

START_TEST(test_eight_bit)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	static const char in[] =
		"A1 SELECT \xc3\xa4\xc3\xa4\r\n"
		"A2 SELECT \"\xc3\xa4 \\\" \xc3\xa4\"\r\n"
		"A3 APPEND INBOX {4}\r\n\xc3\xa4\xc3\xa4\r\n"
		"A4 SELECT x\"\xc3\xa4\r\n";
	char *t = check_all(&o, in, sizeof(in) - 1);

	/* A4's stray quote opens a string: what follows is inside it. */
	COUNT(t, "F eight-bit-in-line", 1);
	HAS(t, "F eight-bit-in-line @10\nEL command @0+16");
	HAS(t, "F syntax-error @65\n");
	free(t);
	o.utf8 = 1;
	t = check_all(&o, in, sizeof(in) - 1);
	HASNT(t, "eight-bit");
	free(t);
}
END_TEST

START_TEST(test_utf8_enabled_by_callback)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t;

	o.auto_mode = 1;
	t = check_str(&o, "* LIST () \"/\" \xc3\xa4\r\n* ENABLED UTF8=ACCEPT\r\n"
		      "* LIST () \"/\" \xc3\xa4\r\n");
	COUNT(t, "F eight-bit-in-line", 1);
	HAS(t, "F eight-bit-in-line @14\n");
	free(t);
}
END_TEST

START_TEST(test_syntax_errors)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t = check_str(&o, "\r\nA1\r\nA2 \r\nA3 FETCH 1 (FLAGS\r\n"
			    "A4 FETCH 1 FLAGS)\r\nA5 LOGIN \"joe\r\n"
			    "A6 LOGIN {x} y\r\nA7 FETCH 1 BODY[HEADER\r\n"
			    " A8 NOOP\r\nA9 (NOOP)\r\nA10 NOOP\r\n");

	HAS(t, "F syntax-error @0\nEL unparsed @0+2 line=\"\" SYNTAX\n");
	HAS(t, "EL unparsed @2+4 line=\"A1\" SYNTAX\n");
	HAS(t, "EL unparsed @6+5 line=\"A2 \" SYNTAX\n");
	HAS(t, "EL command @11+");
	HAS(t, "name=FETCH SYNTAX\n  number d0 \"1\" =1\n  list d0 ->2\n"
	    "  atom d1 \"FLAGS\"\n");
	HAS(t, "tag=\"A4\" name=FETCH SYNTAX\n");
	HAS(t, "tag=\"A5\" name=LOGIN SYNTAX\n  quoted d0 f4 \"joe\"\n");
	HAS(t, "tag=\"A6\" name=LOGIN SYNTAX\n  atom d0 \"{x}\"\n");
	HAS(t, "tag=\"A7\" name=FETCH SYNTAX\n");
	HAS(t, "line=\" A8 NOOP\" SYNTAX\n");
	HAS(t, "line=\"A9 (NOOP)\" SYNTAX\n");
	HAS(t, "tag=\"A10\" name=NOOP\nFIN");
	COUNT(t, "F syntax-error", 10);
	free(t);
}
END_TEST

START_TEST(test_invalid_tag)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t;

	o.lim.max_tag = 8;
	t = check_str(&o, "A(1 NOOP\r\n* NOOP\r\n+ NOOP\r\nA%1 NOOP\r\n"
		      "a.b-c_d]9 NOOP\r\nABCDEFGHIJKL NOOP\r\n");
	COUNT(t, "F invalid-tag", 4);
	HAS(t, "F invalid-tag @0\nEL command @0+10 line=\"A(1 NOOP\" tag=\"A(1\" name=NOOP\n");
	HAS(t, "tag=\"*\" name=NOOP\n");
	HAS(t, "tag=\"+\" name=NOOP\n");
	HAS(t, "tag=\"A%251\" name=NOOP\n");
	HAS(t, "tag=\"a.b-c_d]\" name=NOOP\n");
	HAS(t, "F limit-reached @");
	HAS(t, " limit=max-tag v=8\nEL command @");
	HAS(t, "line=\"ABCDEFGHIJKL NOOP\" tag=\"ABCDEFGH\" name=NOOP\n");
	COUNT(t, "F ", 6);
	free(t);
}
END_TEST

START_TEST(test_line_too_long)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t;

	o.lim.max_line = 16;
	o.lim.oversized_arg = 24;
	t = check_str(&o, "A1 LOGIN 0123456789abcdef {3}\r\nxyz more\r\n"
		      "A2 SELECT \"INBOX\"\r\nA3 NOOP 0123456789\r\n"
		      "A4 X 0123456789012345678901234567890\r\n");
	/* The literal is still found behind the cut, and previews live
	 * beside the capped line. */
	HAS(t, "F line-too-long @16 v=29\nF oversized-argument @24 v=29\n"
	    "LB 3 @31\nLD @31\n"
	    "EL command @0+41 line=\"A1 LOGIN 0123456\" trunc tag=\"A1\" "
	    "name=LOGIN lit=1/3\n  number d0 f4 \"0123456\" =123456\nF ");
	HAS(t, "F line-too-long @57 v=17\nEL command @41+19 "
	    "line=\"A2 SELECT %22INBOX\" trunc tag=\"A2\" name=SELECT\n"
	    "  quoted d0 f4 \"INBOX\"\n");
	HAS(t, "F line-too-long @96 v=36\nF oversized-argument @104 v=36\n"
	    "EL command @80+38");
	COUNT(t, "F line-too-long", 4);
	COUNT(t, "F oversized-argument", 2);
	HASNT(t, "syntax");
	free(t);
}
END_TEST

START_TEST(test_line_cap_memory)
{
	/* A 1 MiB line keeps only max_line bytes and is still framed. */
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	size_t n = 1u << 20;
	char *in = malloc(n + 64);
	char *t;

	ck_assert_ptr_nonnull(in);
	memcpy(in, "* SEARCH", 8);
	for (size_t i = 8; i < n; i += 2)
		memcpy(in + i, " 7", 2);
	memcpy(in + n, "\r\nA1 OK done\r\n", 15);
	t = run_cuts(&o, in, n + 14, NULL, 0);
	HAS(t, "F line-too-long @8192 v=1048576\n"
	    "F oversized-argument @65536 v=1048576\n"
	    "EL untagged @0+1048578 line=");
	HAS(t, " trunc name=SEARCH\n");
	HAS(t, "tag=\"A1\" name=OK status text=\"done\"\n");
	free(t);
	free(in);
}
END_TEST

START_TEST(test_literal_too_large)
{
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	char *t;

	o.lim.max_literal = 10;
	t = check_str(&o, "A1 APPEND INBOX {20}\r\n01234567890123456789\r\n"
		      "A2 APPEND INBOX {18446744073709551616}\r\nA3 NOOP\r\n"
		      "A4 APPEND INBOX {123456789012345678901234567890}\r\n"
		      "A5 APPEND INBOX ~{000000000000000000000001}\r\n"
		      "A6 APPEND INBOX {18446744073709551615}\r\nabc");
	HAS(t, "F literal-too-large @22 v=20\nLB 20 @22\nLD @22\n");
	HAS(t, "name=APPEND lit=1/20\n  atom d0 \"INBOX\"\n"
	    "  literal d0 \"01234567890123456789\" =20\n");
	HAS(t, "F literal-too-large @83 v=18446744073709551615\n"
	    "EL command @44+40 line=\"A2 APPEND INBOX {18446744073709551616}\" "
	    "tag=\"A2\" name=APPEND\n  atom d0 \"INBOX\"\n"
	    "  atom d0 \"{18446744073709551616}\"\n");
	HAS(t, "tag=\"A3\" name=NOOP\n");
	HAS(t, "  atom d0 \"{123456789012345678901234567890}\"\n");
	HAS(t, "  atom d0 \"~{000000000000000000000001}\"\n");
	HAS(t, "F literal-too-large @");
	HAS(t, " v=18446744073709551615\nLB 18446744073709551615 @");
	HAS(t, "F literal-truncated @");
	HAS(t, " v=18446744073709551612\nEL unparsed @");
	HAS(t, "line=\"A6 APPEND INBOX {18446744073709551615}\" "
	    "lit=1/18446744073709551615\nFIN 1 @");
	COUNT(t, "F literal-too-large", 5);
	COUNT(t, "syntax", 0);
	free(t);
}
END_TEST

START_TEST(test_literal_truncated)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t = check_str(&o, "* 1 FETCH (BODY[] {10}\r\nabc");

	HAS(t, "LB 10 @24\nLD @24\nF literal-truncated @27 v=7\n"
	    "EL unparsed @0+27 line=\"* 1 FETCH (BODY[] {10}\" lit=1/10\n"
	    "FIN 1 @27\n");
	free(t);
	/* A partial line is delivered without a finding; CR kept. */
	t = check_str(&o, "* OK partial\r");
	ck_assert_str_eq(t, "EL unparsed @0+13 line=\"* OK partial%0d\"\nFIN 1 @13\n");
	free(t);
	t = check_str(&o, "");
	ck_assert_str_eq(t, "FIN 0 @0\n");
	free(t);
}
END_TEST

START_TEST(test_token_limits)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t;

	o.lim.max_tokens = 5;
	o.lim.max_depth = 2;
	t = check_str(&o, "* 1 FETCH (A (B (C (D) E) F) G)\r\n"
		      "* SEARCH 1 2 3 4 5 6 7\r\n* LIST (((x))) \"/\" y\r\n");
	HAS(t, "F limit-reached @0 limit=max-tokens v=5\n"
	    "F limit-reached @0 limit=max-depth v=2\n"
	    "EL untagged @0+33 line=\"* 1 FETCH (A (B (C (D) E) F) G)\" "
	    "name=FETCH n=1 drop=10\n"
	    "  list d0 ->4\n  atom d1 \"A\"\n  list d1 ->4\n  atom d2 \"B\"\n"
	    "  atom d2 \"F\"\nF ");
	HAS(t, "F limit-reached @33 limit=max-tokens v=5\n"
	    "EL untagged @33+24 line=\"* SEARCH 1 2 3 4 5 6 7\" name=SEARCH drop=2\n");
	HAS(t, "limit=max-depth v=2\nEL untagged @57+");
	HASNT(t, "syntax");
	free(t);
}
END_TEST

START_TEST(test_deep_nesting)
{
	/* 100 000 nested parentheses: bounded memory, linear time. */
	struct opts o = opts_for(IMAP_SIDE_CLIENT);
	size_t depth = 100000, n = 0;
	char *in = malloc(2 * depth + 64);
	char *t;

	ck_assert_ptr_nonnull(in);
	o.lim.max_line = 300000;
	o.lim.oversized_arg = 400000;
	n += (size_t)sprintf(in, "A1 SEARCH ");
	memset(in + n, '(', depth);
	n += depth;
	memset(in + n, ')', depth);
	n += depth;
	n += (size_t)sprintf(in + n, "\r\nA2 NOOP\r\n");
	t = run_cuts(&o, in, n, NULL, 0);
	HAS(t, "F limit-reached @0 limit=max-depth v=64\n"
	    "EL command @0+200012 line=");
	HAS(t, "name=SEARCH drop=199872\n  list d0 ->127\n  list d1 ->126\n");
	HAS(t, "  list d63 ->64\n  list_end d63\n");
	HAS(t, "tag=\"A2\" name=NOOP\n");
	HASNT(t, "syntax");
	free(t);
	/* Unbalanced and cut at the default line cap: no syntax noise. */
	o.lim.max_line = 8192;
	in[n - 12] = 'x';
	t = run_cuts(&o, in, n, NULL, 0);
	HAS(t, "F line-too-long @8192 v=200010\n"
	    "F limit-reached @0 limit=max-depth v=64\nEL command @0+200012 line=");
	HASNT(t, "syntax");
	free(t);
	free(in);
}
END_TEST

/* ---- gaps and mid-stream starts ---- */

START_TEST(test_gap_in_literal)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	static const struct gapspec g[] = { { 30, 5 } };
	/* The 5 missing bytes are the literal's "OK x\r": still in step. */
	static const char in[] = "* 1 FETCH (BODY[] {20}\r\nA1 OK \nA2 BAD *)\r\n"
				 "A3 OK done\r\n";
	char *t;

	o.gaps = g;
	o.ngaps = 1;
	t = check_str(&o, in);
	HAS(t, "GAP in-literal\n");
	HAS(t, "  literal d1 f4 \"A1 OK \" =20\n  list_end d0\n");
	HAS(t, "EL tagged @47+12 line=\"A3 OK done\"");
	COUNT(t, "EL ", 2);
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_gap_mid_line)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	static const struct gapspec g[] = { { 8, 1000 } };
	static const char in[] =
		"* 1 FETCH (BODY[] {100}\r\n"        /* cut after 8 bytes */
		"Subject: hi\r\n* item (unbalanced\r\n+ added line\r\n"
		"X-Spam-Flag: NO\r\n)\r\n\xff\xfe bad \0\r\n"
		"* 4 EXISTS\r\nA1 OK done\r\n";
	char *t;

	o.gaps = g;
	o.ngaps = 1;
	t = check_all(&o, in, sizeof(in) - 1);
	HAS(t, "GAP resync\nEL untagged @");
	HAS(t, "line=\"* 4 EXISTS\" name=EXISTS n=4\nEL tagged");
	COUNT(t, "EL ", 2);
	HASNT(t, "F ");
	HASNT(t, "LB ");
	free(t);
	/* A gap past the end of a literal resyncs as well. */
	static const struct gapspec g2[] = { { 30, 50 } };
	o.gaps = g2;
	t = check_str(&o, "* 1 FETCH (BODY[] {20}\r\nabcdefghijklmnopqrstuvwxyz)\r\n"
		      "A1 OK done\r\n");
	HAS(t, "GAP resync\nEL tagged");
	COUNT(t, "EL ", 1);
	free(t);
	/* Client side: a known command ends the resync. */
	o = opts_for(IMAP_SIDE_CLIENT);
	static const struct gapspec g3[] = { { 4, 3 } };
	o.gaps = g3;
	o.ngaps = 1;
	t = check_str(&o, "A1 LOGIN a b\r\nFrom: Bob\r\na b c\r\nA2 SELECT INBOX\r\n");
	HAS(t, "GAP resync\nEL command @");
	HAS(t, "tag=\"A2\" name=SELECT\n");
	COUNT(t, "EL ", 1);
	free(t);
}
END_TEST

START_TEST(test_midstream)
{
	struct opts o = opts_for(IMAP_SIDE_SERVER);
	char *t;

	o.midstream = 1;
	t = check_str(&o, "lo World\r\n-- \r\n)\r\n* OK [ALERT] hi\r\n"
		      "hello\r\n* 2 EXPUNGE\r\n");
	HAS(t, "EL untagged @18+17 line=\"* OK [ALERT] hi\" name=OK status");
	HAS(t, "F syntax-error @35\nEL unparsed @35+7");
	COUNT(t, "EL ", 3);
	COUNT(t, "F ", 1);
	free(t);
	/* A picked-up literal announcement is still followed. */
	t = check_str(&o, "* 3 FETCH (BODY[] {12}\r\nA9 OK nope\r\n)\r\nA1 OK x\r\n");
	HAS(t, "EL untagged @0+");
	HAS(t, "name=FETCH n=3 lit=1/12\n");
	COUNT(t, "EL ", 2);
	HASNT(t, "LB ");
	free(t);
}
END_TEST

/* ---- a clean session raises nothing ---- */

START_TEST(test_canonical_text)
{
	struct opts c = opts_for(IMAP_SIDE_CLIENT), sv = opts_for(IMAP_SIDE_SERVER);
	char *t;

	c.show_canon = sv.show_canon = 1;
	t = check_str(&c, "a1 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM)])\r\n"
		      "a2 LOGIN \"joe\" \"p\\\"w\"\r\n"
		      "a3 RENAME A  B\r\n"
		      "a4 STORE 1 +FLAGS ( \\Seen)\r\n"
		      "a5 NOOP \r\n"
		      "a6 X (A)(B) ()\r\n"
		      "a7 NOOP\r\n");
	HAS(t, "  list_end d0\nCANON \"1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM)])\"\n");
	HAS(t, "CANON \"%22joe%22 %22p\\%22w%22\"\n");
	COUNT(t, "CANON ", 2);
	free(t);

	t = check_str(&sv, "* 3 FETCH (UID 9 FLAGS (\\Seen \\Flagged))\r\n"
		      "* 4 FETCH (UID 10 BODY[] {3}\r\nabc)\r\n"
		      "* 5 FETCH (UID 11 FLAGS ())\r\n"
		      "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n"
		      "* SEARCH 1 2  3\r\n"
		      "* 6 FETCH (UID 12 FLAGS (\\Seen)\r\n");
	HAS(t, "CANON \"(UID 9 FLAGS (\\Seen \\Flagged))\"\n");
	HAS(t, "CANON \"(UID 11 FLAGS ())\"\n");
	COUNT(t, "CANON ", 3);
	free(t);
}
END_TEST

START_TEST(test_clean_session)
{
	struct opts c = opts_for(IMAP_SIDE_CLIENT), s = opts_for(IMAP_SIDE_SERVER);
	char *t;

	c.auto_mode = 1;
	t = check_str(&c,
		"a1 CAPABILITY\r\na2 STARTTLS\r\na3 AUTHENTICATE PLAIN "
		"AGJvYgBzZWNyZXQ=\r\na4 ENABLE QRESYNC\r\n"
		"a5 LIST \"\" \"*\"\r\na6 SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n"
		"a7 UID STORE 1:3 +FLAGS.SILENT (\\Deleted)\r\n"
		"a8 UID SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\xd0\x96\xd0\x96\r\n"
		"a9 IDLE\r\nDONE\r\na10 ID (\"name\" \"mbsync\")\r\n"
		"a11 APPEND Sent (\\Seen) \"05-Jan-2024 10:00:00 +0000\" {14}\r\n"
		"Subject: x\r\n\r\n\r\n"
		"a12 LOGOUT\r\n");
	HASNT(t, "F ");
	HASNT(t, "unparsed");
	COUNT(t, "EL command", 12);
	free(t);
	t = check_str(&s,
		"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
		"LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n"
		"a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
		"+ \r\n* ENABLED QRESYNC\r\n"
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
		"* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"
		"* OK [UIDNEXT 4] Predicted next UID\r\n"
		"* OK [HIGHESTMODSEQ 7] Highest\r\n"
		"a6 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n"
		"* 1 FETCH (UID 1 MODSEQ (8) FLAGS (\\Deleted))\r\n"
		"* ESEARCH (TAG \"a8\") UID ALL 1:2\r\n"
		"+ idling\r\n* 4 EXISTS\r\n"
		"* ID (\"name\" \"Dovecot\")\r\n"
		"* 4 FETCH (UID 9 BODY[] {21}\r\nA1 OK x\r\n* BYE\r\n\r\nabc)\r\n"
		"a11 OK [APPENDUID 1700000000 4] Append completed.\r\n"
		"* BYE Logging out\r\na12 OK Logout completed.\r\n");
	HASNT(t, "F ");
	HASNT(t, "unparsed");
	HASNT(t, "SYNTAX");
	free(t);
}
END_TEST

/* ---- pausing for STARTTLS / COMPRESS ---- */

struct pause_rec {
	struct imap_parser *p;
	int stopped;             /* the engine would stop feeding IMAP */
	int elements;
};

static void pause_element(void *u, const struct imap_element *el)
{
	struct pause_rec *r = u;

	r->elements++;
	if (el->kind == IMAP_EL_COMMAND && strcmp(el->name, "STARTTLS") == 0) {
		imap_parser_pause(r->p);
		r->stopped = 1;
	}
}

/* Feeds in pieces of `step` bytes until the parser pauses; returns the
 * bytes the parser consumed. */
static size_t pause_run(const char *in, size_t len, size_t cut)
{
	static const struct imap_callbacks cb = { pause_element, NULL, NULL, NULL };
	struct imt_limits lim;
	struct pause_rec r;
	size_t used = 0;

	memset(&r, 0, sizeof(r));
	imt_limits_default(&lim);
	r.p = imap_parser_new(IMAP_SIDE_CLIENT, &lim, &cb, &r);
	ck_assert_ptr_nonnull(r.p);
	while (used < len && !r.stopped) {
		size_t k = len - used < cut ? len - used : cut;
		size_t n = imap_parser_feed(r.p, (const uint8_t *)in + used, k);

		ck_assert_uint_le(n, k);
		ck_assert_msg(n == k || r.stopped, "short feed without a pause");
		used += n;
	}
	ck_assert_int_eq(r.elements, 2);
	ck_assert_uint_eq(imap_parser_offset(r.p), used);
	/* The pause lasts one feed only. */
	ck_assert_uint_eq(imap_parser_feed(r.p, (const uint8_t *)"A9 NOOP\r\n", 9), 9);
	ck_assert_int_eq(r.elements, 3);
	imap_parser_free(r.p);
	return used;
}

START_TEST(test_pause)
{
	static const char in[] = "A0 NOOP\r\nA1 STARTTLS\r\n\x16\x03\x01\x00\x05"
				 "hello\r\nA2 LOGIN a b\r\n";
	size_t len = sizeof(in) - 1;

	for (size_t cut = 1; cut <= len; cut++)
		ck_assert_uint_eq(pause_run(in, len, cut), 22);
}
END_TEST

/* ---- direction guessing ---- */

START_TEST(test_classify)
{
#define CL(s) imap_classify((const uint8_t *)(s), strlen(s))
	ck_assert_int_eq(CL("* OK Dovecot ready.\r\n"), 1);
	ck_assert_int_eq(CL("* PREAUTH hi\r\n"), 1);
	ck_assert_int_eq(CL("* BYE\r\n"), 1);
	ck_assert_int_eq(CL("* 3 EXISTS\r\n"), 1);
	ck_assert_int_eq(CL("+ \r\n"), 1);
	ck_assert_int_eq(CL("+\r\n"), 1);
	ck_assert_int_eq(CL("A1 OK done\r\n"), 1);
	ck_assert_int_eq(CL("a1 no [ALERT] x\r\n"), 1);
	ck_assert_int_eq(CL("A1 BAD\r\n"), 1);
	ck_assert_int_eq(CL("a001 LOGIN joe secret\r\n"), 0);
	ck_assert_int_eq(CL("a001 capability\r\n"), 0);
	ck_assert_int_eq(CL("a001 CAPABILITY"), 0);
	ck_assert_int_eq(CL("5 UID FETCH 1:* FLAGS\r\n"), 0);
	ck_assert_int_eq(CL("5 UID FOO 1\r\n"), -1);
	ck_assert_int_eq(CL("a1 FROB x\r\n"), -1);
	ck_assert_int_eq(CL("a(1 NOOP\r\n"), -1);
	ck_assert_int_eq(CL("GET / HTTP/1.1\r\n"), -1);
	ck_assert_int_eq(CL("SSH-2.0-OpenSSH_9.2\r\n"), -1);
	ck_assert_int_eq(CL("\x16\x03\x01\x02\x00\x01"), -1);
	ck_assert_int_eq(CL(""), -1);
	ck_assert_int_eq(CL("+"), -1);
	ck_assert_int_eq(CL("*"), -1);
#undef CL
}
END_TEST

/* ---- fuzz regressions ---- */

START_TEST(test_fuzz_regressions)
{
	const char *dir = "tests/fuzz/regressions";
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;

	ck_assert_msg(d != NULL, "cannot open %s (run from the repository root)", dir);
	while ((e = readdir(d)) != NULL) {
		char path[512];
		unsigned char *buf;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		buf = imt_read_file(path, &n);
		ck_assert_msg(buf != NULL, "cannot read %s", path);
		/* fz_one aborts when whole and chunked parses disagree. */
		fz_one(IMAP_SIDE_CLIENT, buf, n);
		fz_one(IMAP_SIDE_SERVER, buf, n);
		free(buf);
		files++;
	}
	closedir(d);
	ck_assert_int_gt(files, 0);
}
END_TEST

static Suite *imap_suite(void)
{
	Suite *s = suite_create("imap");
	TCase *tc = tcase_create("parser");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_simple_commands);
	tcase_add_test(tc, test_login_quoted);
	tcase_add_test(tc, test_uid_join);
	tcase_add_test(tc, test_append_literals);
	tcase_add_test(tc, test_fetch_body_literal);
	tcase_add_test(tc, test_server_data);
	tcase_add_test(tc, test_status_codes);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_tagged);
	tcase_add_test(tc, test_mode_switch);
	tcase_add_test(tc, test_bare_lf_cr_nul);
	tcase_add_test(tc, test_eight_bit);
	tcase_add_test(tc, test_utf8_enabled_by_callback);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_invalid_tag);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_line_cap_memory);
	tcase_add_test(tc, test_literal_too_large);
	tcase_add_test(tc, test_literal_truncated);
	tcase_add_test(tc, test_token_limits);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_gap_in_literal);
	tcase_add_test(tc, test_gap_mid_line);
	tcase_add_test(tc, test_midstream);
	tcase_add_test(tc, test_canonical_text);
	tcase_add_test(tc, test_clean_session);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_fuzz_regressions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(imap_suite());
}
