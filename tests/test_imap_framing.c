/*
 * test_imap_framing.c - the IMAP parser's framing: bare CR and LF, NUL,
 * 8-bit bytes, syntax errors, invalid tags, the line, literal, token and
 * depth caps, gaps inside literals and lines, mid-stream starts, pausing
 * for STARTTLS, and the fuzz regressions.  Every case is fed in every
 * chunking (see helpers/imap_rec.h).
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "imap_rec.h"
#include "fuzz/fuzz_imap.h"

/* ---- framing findings ---- */

START_TEST(test_bare_lf_cr_nul)
{
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	static const char in[] = "A1 NOOP\nA2 NOOP a\rb\r\nA3 NOOP a\0b\r\n"
				 "A4 NOOP \r\r\nA5 NOOP\r\n";
	char *t = irec_check(&o, in, sizeof(in) - 1);

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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	static const char in[] =
		"A1 SELECT \xc3\xa4\xc3\xa4\r\n"
		"A2 SELECT \"\xc3\xa4 \\\" \xc3\xa4\"\r\n"
		"A3 APPEND INBOX {4}\r\n\xc3\xa4\xc3\xa4\r\n"
		"A4 SELECT x\"\xc3\xa4\r\n";
	char *t = irec_check(&o, in, sizeof(in) - 1);

	/* A4's stray quote opens a string: what follows is inside it. */
	COUNT(t, "F eight-bit-in-line", 1);
	HAS(t, "F eight-bit-in-line @10\nEL command @0+16");
	HAS(t, "F syntax-error @65\n");
	free(t);
	o.utf8 = 1;
	t = irec_check(&o, in, sizeof(in) - 1);
	HASNT(t, "eight-bit");
	free(t);
}
END_TEST

START_TEST(test_utf8_enabled_by_callback)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t;

	o.auto_mode = 1;
	t = irec_check_str(&o, "* LIST () \"/\" \xc3\xa4\r\n* ENABLED UTF8=ACCEPT\r\n"
			       "* LIST () \"/\" \xc3\xa4\r\n");
	COUNT(t, "F eight-bit-in-line", 1);
	HAS(t, "F eight-bit-in-line @14\n");
	free(t);
}
END_TEST

START_TEST(test_syntax_errors)
{
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t = irec_check_str(&o, "\r\nA1\r\nA2 \r\nA3 FETCH 1 (FLAGS\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t;

	o.lim.max_tag = 8;
	t = irec_check_str(&o, "A(1 NOOP\r\n* NOOP\r\n+ NOOP\r\nA%1 NOOP\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t;

	o.lim.max_line = 16;
	o.lim.oversized_arg = 24;
	t = irec_check_str(&o, "A1 LOGIN 0123456789abcdef {3}\r\nxyz more\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	size_t n = 1u << 20;
	char *in = malloc(n + 64);
	char *t;

	ck_assert_ptr_nonnull(in);
	memcpy(in, "* SEARCH", 8);
	for (size_t i = 8; i < n; i += 2)
		memcpy(in + i, " 7", 2);
	memcpy(in + n, "\r\nA1 OK done\r\n", 15);
	t = irec_run(&o, in, n + 14, NULL, 0);
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t;

	o.lim.max_literal = 10;
	t = irec_check_str(&o, "A1 APPEND INBOX {20}\r\n01234567890123456789\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t = irec_check_str(&o, "* 1 FETCH (BODY[] {10}\r\nabc");

	HAS(t, "LB 10 @24\nLD @24\nF literal-truncated @27 v=7\n"
	    "EL unparsed @0+27 line=\"* 1 FETCH (BODY[] {10}\" lit=1/10\n"
	    "FIN 1 @27\n");
	free(t);
	/* A partial line is delivered without a finding; CR kept. */
	t = irec_check_str(&o, "* OK partial\r");
	ck_assert_str_eq(t, "EL unparsed @0+13 line=\"* OK partial%0d\"\nFIN 1 @13\n");
	free(t);
	t = irec_check_str(&o, "");
	ck_assert_str_eq(t, "FIN 0 @0\n");
	free(t);
}
END_TEST

START_TEST(test_token_limits)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t;

	o.lim.max_tokens = 5;
	o.lim.max_depth = 2;
	t = irec_check_str(&o, "* 1 FETCH (A (B (C (D) E) F) G)\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
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
	t = irec_run(&o, in, n, NULL, 0);
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
	t = irec_run(&o, in, n, NULL, 0);
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
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	static const struct gapspec g[] = { { 30, 5 } };
	/* The 5 missing bytes are the literal's "OK x\r": still in step. */
	static const char in[] = "* 1 FETCH (BODY[] {20}\r\nA1 OK \nA2 BAD *)\r\n"
				 "A3 OK done\r\n";
	char *t;

	o.gaps = g;
	o.ngaps = 1;
	t = irec_check_str(&o, in);
	HAS(t, "GAP in-literal\n");
	HAS(t, "  literal d1 f4 \"A1 OK \" =20\n  list_end d0\n");
	HAS(t, "EL tagged @47+12 line=\"A3 OK done\"");
	COUNT(t, "EL ", 2);
	HASNT(t, "F ");
	free(t);
	/* The bytes around the hole reach the literal-bytes callback, the
	 * missing ones do not. */
	o.show_bytes = 1;
	t = irec_check_str(&o, in);
	HAS(t, "LY A1 OK \nGAP in-literal\nLY %0aA2 BAD *\n");
	free(t);
}
END_TEST

START_TEST(test_gap_mid_line)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	static const struct gapspec g[] = { { 8, 1000 } };
	static const char in[] =
		"* 1 FETCH (BODY[] {100}\r\n"        /* cut after 8 bytes */
		"Subject: hi\r\n* item (unbalanced\r\n+ added line\r\n"
		"X-Spam-Flag: NO\r\n)\r\n\xff\xfe bad \0\r\n"
		"* 4 EXISTS\r\nA1 OK done\r\n";
	char *t;

	o.gaps = g;
	o.ngaps = 1;
	t = irec_check(&o, in, sizeof(in) - 1);
	HAS(t, "GAP resync\nEL untagged @");
	HAS(t, "line=\"* 4 EXISTS\" name=EXISTS n=4\nEL tagged");
	COUNT(t, "EL ", 2);
	HASNT(t, "F ");
	HASNT(t, "LB ");
	free(t);
	/* A gap past the end of a literal resyncs as well. */
	static const struct gapspec g2[] = { { 30, 50 } };
	o.gaps = g2;
	t = irec_check_str(&o, "* 1 FETCH (BODY[] {20}\r\nabcdefghijklmnopqrstuvwxyz)\r\n"
			       "A1 OK done\r\n");
	HAS(t, "GAP resync\nEL tagged");
	COUNT(t, "EL ", 1);
	free(t);
	/* An untagged response ends it only with a name the protocol
	 * defines (imap_names.h, as for unknown-response), not with an
	 * unknown or experimental X name. */
	o.gaps = g;
	t = irec_check_str(&o, "* 1 FETCH (BODY[] {100}\r\n* MAILSTATS 3\r\n"
			       "* XFOO 1\r\n* LANGUAGE (EN)\r\n");
	HAS(t, "GAP resync\nEL untagged @");
	HAS(t, "line=\"* LANGUAGE (EN)\" name=LANGUAGE");
	COUNT(t, "EL ", 1);
	free(t);
	/* Client side: a known command ends the resync. */
	o = irec_opts(IMAP_SIDE_CLIENT);
	static const struct gapspec g3[] = { { 4, 3 } };
	o.gaps = g3;
	o.ngaps = 1;
	t = irec_check_str(&o, "A1 LOGIN a b\r\nFrom: Bob\r\na b c\r\nA2 SELECT INBOX\r\n");
	HAS(t, "GAP resync\nEL command @");
	HAS(t, "tag=\"A2\" name=SELECT\n");
	COUNT(t, "EL ", 1);
	free(t);
}
END_TEST

START_TEST(test_gap_cut_line)
{
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	/* " p\r\n" of the login is lost; the next command starts the next
	 * segment. */
	static const struct gapspec g[] = { { 10, 4 } };
	static const char in[] = "A1 LOGIN u" "A2 SELECT INBOX\r\nA3 NOOP\r\n";
	char *t;

	o.gaps = g;
	o.ngaps = 1;
	o.segments = 1;
	t = irec_check_str(&o, in);
	HAS(t, "EL command @0+10 line=\"A1 LOGIN u\" tag=\"A1\" name=LOGIN");
	HAS(t, " partial\n");
	HAS(t, "GAP resync\nEL command @14+17 line=\"A2 SELECT INBOX\"");
	COUNT(t, "EL ", 3);
	HASNT(t, "F ");
	free(t);
	/* Without segment starts the next line end is waited for, as
	 * before: A2 is lost with the cut line. */
	o.segments = 0;
	t = irec_check_str(&o, in);
	HASNT(t, "A2 SELECT");
	COUNT(t, "EL ", 2);
	free(t);
	/* A cut line whose head says nothing is dropped; a segment that
	 * does not start like a command is skipped to its line end. */
	static const struct gapspec g2[] = { { 4, 4 } };
	o.gaps = g2;
	o.segments = 1;
	t = irec_check_str(&o, "A1 L" "p\r\nA2 NOOP\r\n");
	HASNT(t, "partial");
	HAS(t, "GAP resync\nEL command @11+9 line=\"A2 NOOP\"");
	COUNT(t, "EL ", 1);
	free(t);
	/* Server: a tagged result cut by the snapshot length is delivered
	 * with what was seen; its code only when its ']' was. */
	o = irec_opts(IMAP_SIDE_SERVER);
	static const struct gapspec g3[] = { { 20, 30 }, { 35, 10 } };
	o.gaps = g3;
	o.ngaps = 2;
	o.segments = 1;
	t = irec_check_str(&o, "A1 OK [READ-WRITE] S" "A2 OK [CAPABILI" "A3 NO x\r\n");
	HAS(t, "EL tagged @0+20 line=\"A1 OK [READ-WRITE] S\" tag=\"A1\" name=OK "
	       "status code=\"READ-WRITE\" text=\"S\" partial\n");
	HAS(t, "EL tagged @50+15 line=\"A2 OK [CAPABILI\" tag=\"A2\" name=OK "
	       "status text=\"[CAPABILI\" partial\n");
	HAS(t, "EL tagged @75+9 line=\"A3 NO x\"");
	COUNT(t, "EL ", 3);
	HASNT(t, "F ");
	free(t);
}
END_TEST

START_TEST(test_midstream)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t;

	o.midstream = 1;
	t = irec_check_str(&o, "lo World\r\n-- \r\n)\r\n* OK [ALERT] hi\r\n"
			       "hello\r\n* 2 EXPUNGE\r\n");
	HAS(t, "EL untagged @18+17 line=\"* OK [ALERT] hi\" name=OK status");
	HAS(t, "F syntax-error @35\nEL unparsed @35+7");
	COUNT(t, "EL ", 3);
	COUNT(t, "F ", 1);
	free(t);
	/* A picked-up literal announcement is still followed. */
	t = irec_check_str(&o, "* 3 FETCH (BODY[] {12}\r\nA9 OK nope\r\n)\r\nA1 OK x\r\n");
	HAS(t, "EL untagged @0+");
	HAS(t, "name=FETCH n=3 lit=1/12\n");
	COUNT(t, "EL ", 2);
	HASNT(t, "LB ");
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
	static const struct imap_callbacks cb = { pause_element, NULL, NULL, NULL, NULL };
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

static Suite *imap_framing_suite(void)
{
	Suite *s = suite_create("imap");
	TCase *tc = tcase_create("framing");

	tcase_set_timeout(tc, 120);
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
	tcase_add_test(tc, test_gap_cut_line);
	tcase_add_test(tc, test_midstream);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_fuzz_regressions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(imap_framing_suite());
}
