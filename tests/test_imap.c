/*
 * test_imap.c - the IMAP parser on well-formed traffic: the head of each
 * line (tags, command names, "UID FETCH", statuses, response codes),
 * tokens and literals, client modes, the canonical token text, a clean
 * session, and imap_classify().  Framing findings, gaps and pausing are
 * in test_imap_framing.c.  Every case is fed in every chunking (see
 * helpers/imap_rec.h).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "imap_int.h"
#include "imap_rec.h"

/* ---- client commands ---- */

START_TEST(test_simple_commands)
{
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t = irec_check_str(&o, "a001 capability\r\nA002 NOOP\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t = irec_check_str(&o, "A1 LOGIN \"joe user\" \"p\\\"w\\\\d (x\"\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t = irec_check_str(&o,
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
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	static const char in[] =
		"A1 APPEND INBOX (\\Seen) {11}\r\nHello World\r\n"
		"A2 APPEND INBOX {5+}\r\nab\ncd\r\n"
		"A3 APPEND INBOX ~{3}\r\na\0b\r\n"
		"A4 LOGIN {3}\r\nbob {4-}\r\npass\r\n"
		"A5 LOGIN {0}\r\n {0+}\r\n\r\n";
	char *t = irec_check(&o, in, sizeof(in) - 1);

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

/* The literal-bytes callback gives every data byte once, in order, in
 * any chunking (irec_check feeds every split), and on_literal_begin the
 * element's text before the marker: the data item of a FETCH. */
START_TEST(test_literal_bytes_and_line)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	static const char in[] =
		"* 3 FETCH (UID 9 BODY[HEADER] {12}\r\nSubject: x\r\n"
		" BODY[TEXT]<0> ~{6}\r\nx\r\n\0* )\r\n"
		"A1 OK done\r\n";
	char *t;

	o.show_bytes = 1;
	t = irec_check(&o, in, sizeof(in) - 1);
	HAS(t, "LB 12 @36 line=\"* 3 FETCH (UID 9 BODY[HEADER] \"\nLD @36\n"
	    "LY Subject: x%0d%0a\n");
	HAS(t, "LB 6 @69 ~ line=\"* 3 FETCH (UID 9 BODY[HEADER] {12} BODY[TEXT]<0> \"\n"
	    "LD @69\nLY x%0d%0a%00* \nEL untagged");
	COUNT(t, "LY ", 2);
	free(t);
	/* Without a listener nothing is recorded (and nothing is called). */
	o.show_bytes = 0;
	t = irec_check(&o, in, sizeof(in) - 1);
	HASNT(t, "LY ");
	HASNT(t, "@36 line=");
	free(t);
}
END_TEST

START_TEST(test_fetch_body_literal)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
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
	t = irec_check_str(&o, in);
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
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t = irec_check_str(&o,
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
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t = irec_check_str(&o,
		"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"
		"* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n"
		"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		"* NO [ALERT] System shutdown in 10 minutes\r\n"
		"* OK [XYZZY free \"text( ] hi\r\n"
		"* BAD [BADCHARSET (UTF-8)] x (unbalanced\r\n"
		"* ok\r\n* BYE   \r\n"
		"* PREAUTH [CAPABILITY IMAP4rev1] Logged in as bob\r\n"
		"* OK [no close bracket\r\n"
		"* OK [XNEST [a [b] c] d] tail\r\n"
		"* OK [XOPEN [a] never closed\r\n"
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
	/* Brackets nest: the code ends at the ']' that closes its '['. */
	HAS(t, "code=\"XNEST\" args=\"[a [b] c] d\" text=\"tail\"\n");
	HAS(t, "name=OK status text=\"[XOPEN [a] never closed\"\n");
	HASNT(t, "F ");
	HASNT(t, "SYNTAX");
	free(t);
}
END_TEST

START_TEST(test_continuation)
{
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t = irec_check_str(&o, "+ \r\n+\r\n+ Ready for literal data\r\n"
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
	struct opts o = irec_opts(IMAP_SIDE_SERVER);
	char *t = irec_check_str(&o, "A1 OK LOGIN completed\r\n"
				     "A2 NO [TRYCREATE] No such mailbox\r\n"
				     "A3 BAD Command unknown\r\nA4 FOO bar\r\nA5 OK\r\n"
				     "a6 ok [READ-WRITE] Select completed.\r\n"
				     "hello\r\n(x) HELLO\r\n*\r\n* 5\r\n* (x)\r\n"
				     "* 99999999999999999999999 EXISTS\r\n"
				     "a+7 OK done\r\na%8 NO [TRYCREATE] no\r\n"
				     "(x) BAD what\r\na\x01b OK ctl\r\n");

	HAS(t, "tag=\"A1\" name=OK status text=\"LOGIN completed\"\n");
	HAS(t, "tag=\"A2\" name=NO status code=\"TRYCREATE\" text=\"No such mailbox\"\n");
	HAS(t, "tag=\"A3\" name=BAD status text=\"Command unknown\"\n");
	HAS(t, "tag=\"A4\" name=FOO status text=\"bar\"\n");
	HAS(t, "tag=\"A5\" name=OK status text=\"\"\n");
	HAS(t, "tag=\"a6\" name=OK status code=\"READ-WRITE\" text=\"Select completed.\"\n");
	HAS(t, "EL unparsed @");
	HAS(t, "line=\"hello\" SYNTAX\n");
	HAS(t, "line=\"(x) HELLO\" SYNTAX\n");
	/* A tag with a forbidden character before OK, NO or BAD is a
	 * tagged result (servers echo a client's invalid tag); the engine
	 * pairs or judges it, the parser raises nothing. */
	HAS(t, "tag=\"a+7\" tag-invalid name=OK status text=\"done\"\n");
	HAS(t, "tag=\"a%258\" tag-invalid name=NO status code=\"TRYCREATE\" text=\"no\"\n");
	HAS(t, "tag=\"(x)\" tag-invalid name=BAD status text=\"what\"\n");
	COUNT(t, "tag-invalid", 3);
	HASNT(t, "F invalid-tag");
	HAS(t, "line=\"*\" SYNTAX\n");
	HAS(t, "line=\"* 5\" SYNTAX\n");
	HAS(t, "line=\"* (x)\" SYNTAX\n");
	HAS(t, "line=\"* 99999999999999999999999 EXISTS\" SYNTAX\n");
	COUNT(t, "F syntax-error", 7);
	COUNT(t, "EL unparsed", 7);
	free(t);
}
END_TEST

/* ---- client modes ---- */

START_TEST(test_mode_switch)
{
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);
	char *t;

	o.auto_mode = 1;
	t = irec_check_str(&o, "A1 AUTHENTICATE PLAIN\r\ndGVzdAB0ZXN0AHRlc3Q=\r\n*\r\n"
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

/* ---- a clean session raises nothing ---- */

START_TEST(test_canonical_text)
{
	struct opts c = irec_opts(IMAP_SIDE_CLIENT), sv = irec_opts(IMAP_SIDE_SERVER);
	char *t;

	c.show_canon = sv.show_canon = 1;
	t = irec_check_str(&c, "a1 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM)])\r\n"
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

	t = irec_check_str(&sv, "* 3 FETCH (UID 9 FLAGS (\\Seen \\Flagged))\r\n"
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
	struct opts c = irec_opts(IMAP_SIDE_CLIENT), s = irec_opts(IMAP_SIDE_SERVER);
	char *t;

	c.auto_mode = 1;
	t = irec_check_str(&c,
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
	t = irec_check_str(&s,
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

/* A parser between lines gives its line storage back and gets it again
 * when the next line comes: the events are the same however the input
 * is cut, with or without the trims, and with or without a shelf that
 * parsers share, whose kept storage is not used past a parser's smaller
 * caps; the shelf keeps at most its bound. */
START_TEST(test_trim_between_lines)
{
	static const char cli[] =
		"A1 LOGIN joe {3+}\r\npwd\r\nA2 SELECT INBOX\r\n"
		"A3 IDLE\r\nDONE\r\nA4 FETCH 1 (FLAGS BODY[])\r\n"
		"A5 APPEND x (\\Seen) {5}\r\nhello {2}\r\nab\r\n";
	static const char srv[] =
		"* OK ready\r\nA1 OK done\r\n* 3 EXISTS\r\n"
		"* 1 FETCH (FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n"
		"+ idling\r\nA3 OK Idle completed\r\n";
	const char *in[] = { cli, srv };
	enum imap_side side[] = { IMAP_SIDE_CLIENT, IMAP_SIDE_SERVER };
	struct imap_shelf *sh = imap_shelf_new();

	ck_assert_ptr_nonnull(sh);
	for (int k = 0; k < 4; k++) {
		struct opts o = irec_opts(side[k % 2]);
		char *plain, *trimmed, *shelved;

		if (k >= 2) {            /* small caps, after storage kept under large */
			o.lim.max_line = 24;
			o.lim.max_tokens = 4;
			o.lim.max_depth = 1;
		}
		o.check_idle = 1;
		plain = irec_check_str(&o, in[k % 2]);
		o.trim = 1;
		trimmed = irec_check_str(&o, in[k % 2]);
		ck_assert_str_eq(plain, trimmed);
		o.shelf = sh;
		shelved = irec_check_str(&o, in[k % 2]);
		ck_assert_str_eq(plain, shelved);
		ck_assert_uint_ge(sh->n, 1);
		ck_assert_uint_le(sh->n, 64);
		free(plain);
		free(trimmed);
		free(shelved);
	}
	ck_assert_ptr_nonnull(sh->free);
	imap_shelf_free(sh);
	imap_shelf_free(NULL);
}
END_TEST

/* What is freed and when: nothing in the middle of a line or a literal,
 * everything between lines (by the feed itself), and the next line
 * allocates again. */
START_TEST(test_trim_frees)
{
	struct imt_limits lim;
	struct imap_parser *p;
	static const char a[] = "A1 SELECT INBOX\r\nA2 APPEND x {4}\r\nab";

	imt_limits_default(&lim);
	p = imap_parser_new(IMAP_SIDE_CLIENT, &lim, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(imap_parser_idle(p), 1);
	imap_parser_trim(p);                     /* nothing yet: no effect */
	ck_assert_ptr_null(p->w);
	imap_parser_feed(p, (const uint8_t *)a, 9); /* "A1 SELECT" */
	ck_assert_int_eq(imap_parser_idle(p), 0);
	ck_assert_ptr_nonnull(p->w->line);
	imap_parser_trim(p);                     /* mid-line: kept */
	ck_assert_ptr_nonnull(p->w);
	ck_assert_uint_eq(p->w->line_len, 9);
	imap_parser_feed(p, (const uint8_t *)a + 9, 8); /* " INBOX\r\n" */
	ck_assert_int_eq(imap_parser_idle(p), 1); /* between lines: given back */
	ck_assert_ptr_null(p->w);
	/* the APPEND line and half its literal: inside the element */
	imap_parser_feed(p, (const uint8_t *)a + 17, sizeof(a) - 1 - 17);
	imap_parser_trim(p);
	ck_assert_int_eq(imap_parser_idle(p), 0);
	ck_assert_ptr_nonnull(p->w->line);
	ck_assert_ptr_nonnull(p->w->lits);
	imap_parser_feed(p, (const uint8_t *)"cd\r\n", 4);
	ck_assert_int_eq(imap_parser_idle(p), 1);
	ck_assert_uint_eq(imap_parser_offset(p), sizeof(a) - 1 + 4);
	/* A CR at a chunk's end is half a line end: still inside the line. */
	imap_parser_feed(p, (const uint8_t *)"A3 NOOP\r", 8);
	ck_assert_int_eq(imap_parser_idle(p), 0);
	imap_parser_feed(p, (const uint8_t *)"\n", 1);
	ck_assert_int_eq(imap_parser_idle(p), 1);
	/* A gap between lines needs no storage; a gap inside a line gives
	 * it back once the line is ended. */
	ck_assert_int_eq(imap_parser_gap(p, 5), IMAP_GAP_RESYNC);
	ck_assert_int_eq(imap_parser_idle(p), 1);
	imap_parser_feed(p, (const uint8_t *)"x\r\nA4 NO", 9);
	ck_assert_int_eq(imap_parser_idle(p), 0);
	ck_assert_int_eq(imap_parser_gap(p, 5), IMAP_GAP_RESYNC);
	ck_assert_int_eq(imap_parser_idle(p), 1);
	ck_assert_int_eq(imap_parser_finish(p), 0);
	imap_parser_trim(NULL);
	imap_parser_free(p);
}
END_TEST


/* A parser in memory its owner holds (as a session holds its two)
 * reports the same as one from imap_parser_new(), in every chunking,
 * trimmed between chunks or not, and ends without freeing that memory. */
START_TEST(test_in_place)
{
	static const char in[] =
		"A1 LOGIN \"u\" \"p\"\r\nA2 SELECT INBOX\r\n"
		"A3 APPEND x {5}\r\nhello\r\nA4 IDLE\r\nDONE\r\n";
	struct opts o = irec_opts(IMAP_SIDE_CLIENT);

	for (int trim = 0; trim <= 1; trim++) {
		char *heap, *own;

		o.trim = trim;
		o.in_place = 0;
		heap = irec_check_str(&o, in);
		o.in_place = 1;
		own = irec_check_str(&o, in);
		ck_assert_str_eq(own, heap);
		ck_assert_uint_eq(irec_count(own, "EL "), 5);
		free(heap);
		free(own);
	}
}
END_TEST

static Suite *imap_suite(void)
{
	Suite *s = suite_create("imap");
	TCase *tc = tcase_create("head");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_simple_commands);
	tcase_add_test(tc, test_login_quoted);
	tcase_add_test(tc, test_uid_join);
	tcase_add_test(tc, test_append_literals);
	tcase_add_test(tc, test_fetch_body_literal);
	tcase_add_test(tc, test_literal_bytes_and_line);
	tcase_add_test(tc, test_server_data);
	tcase_add_test(tc, test_status_codes);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_tagged);
	tcase_add_test(tc, test_mode_switch);
	tcase_add_test(tc, test_canonical_text);
	tcase_add_test(tc, test_clean_session);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_trim_between_lines);
	tcase_add_test(tc, test_trim_frees);
	tcase_add_test(tc, test_in_place);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(imap_suite());
}
