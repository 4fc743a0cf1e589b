/*
 * test_session.c - the session engine, driven through the callbacks it
 * gives the TCP stage.  Each conversation is fed once in whole chunks
 * and once one byte at a time (same packets, so same frames); the NDJSON
 * written must be identical, and must hold the expected events.  The
 * stream switches (STARTTLS, COMPRESS) are where chunking bugs hide: the
 * parser pauses mid-buffer and the engine takes over the rest.
 *
 * One case or more per rule of the engine: the state table (RFC 3501
 * §3), pairing of results with commands (§2.2.2), pipelining (§5.5), tag
 * uniqueness and reuse (§2.2.1), capability tracking (§7.2.1, RFC 7888,
 * LOGINDISABLED), the stream switches (STARTTLS, COMPRESS, implicit TLS,
 * gaps) and the limits.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "imap_int.h"
#include "sess_session.h"
#include "session.h"

enum { C = IMT_C2S, S = IMT_S2C };

struct step {
	enum imt_dir dir;
	const char *data;
	size_t len;              /* 0 = strlen(data); data NULL: len bytes
				  * are missing (a gap) */
};

/* What a run may change from the defaults. */
struct setup {
	uint16_t port;           /* 0: 143 */
	uint32_t max_pending;    /* 0: the default */
	enum tcp_close_reason close;
	int decrypted_upstream;
	int transactions;        /* --transactions */
	/* Called after each step with the flow (the session). */
	void (*after)(void *flow, size_t step);
};

/* The flow every conversation runs on: 192.0.2.10:50000 to
 * 198.51.100.20:port, seen from its SYN, first packet frame 1. */
static void flow_info(struct tcp_flow_info *info, uint16_t port)
{
	memset(info, 0, sizeof(*info));
	info->client.family = info->server.family = 4;
	memcpy(info->client.addr, "\xc0\x00\x02\x0a", 4);
	memcpy(info->server.addr, "\xc6\x33\x64\x14", 4);
	info->client.port = 50000;
	info->server.port = port;
	info->how = TCP_BY_SYN;
	info->first.frame = 1;
}

/* Ends a run: the output finished and freed, then the engine, then the
 * memory stream (its text stays the caller's). */
static void run_end(struct output *out, struct sess_engine *e, FILE *fp)
{
	out_finish(out);
	out_free(out);
	sess_engine_free(e);
	fclose(fp);
}

/* Runs a conversation; split = 1 feeds every chunk byte by byte.
 * Returns the NDJSON text (caller frees). */
static char *run_setup(const struct step *steps, size_t n, int split,
		       const struct setup *su)
{
	struct sess_config cfg;
	struct out_options oo = { .format = OUT_NDJSON, .transactions = su->transactions };
	struct tcp_callbacks cb;
	struct tcp_flow_info info;
	struct tcp_close_info ci;
	uint64_t off[IMT_NDIRS] = { 0, 0 };
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp = open_memstream(&buf, &blen);
	struct output *out = out_new(fp, &oo);
	struct sess_engine *e;
	void *flow;

	sess_config_default(&cfg);
	if (su->max_pending != 0)
		cfg.lim.max_pending = su->max_pending;
	cfg.decrypted_upstream = su->decrypted_upstream;
	e = sess_engine_new(&cfg, out);
	sess_engine_tcp_callbacks(&cb);
	flow_info(&info, su->port != 0 ? su->port : 143);
	info.first.ts_sec = 1767225600;
	flow = cb.on_open(e, &info);
	ck_assert_ptr_nonnull(flow);
	for (size_t i = 0; i < n; i++) {
		struct tcp_meta m = { .frame = i + 2, .ts_sec = 1767225600 + (int64_t)i };
		enum imt_dir d = steps[i].dir;
		const uint8_t *p = (const uint8_t *)steps[i].data;
		size_t len;

		if (p == NULL) {
			cb.on_gap(flow, d, off[d], steps[i].len, &m);
			off[d] += steps[i].len;
			continue;
		}
		len = steps[i].len ? steps[i].len : strlen(steps[i].data);
		if (!split) {
			cb.on_data(flow, d, p, len, off[steps[i].dir], &m);
		} else {
			for (size_t k = 0; k < len; k++)
				cb.on_data(flow, d, p + k, 1, off[steps[i].dir] + k, &m);
		}
		off[steps[i].dir] += len;
		if (su->after != NULL)
			su->after(flow, i);
	}
	memset(&ci, 0, sizeof(ci));
	ci.reason = su->close;
	ci.last.frame = n + 2;
	ci.last.ts_sec = 1767225600 + (int64_t)n;
	ci.bytes[0] = off[0];
	ci.bytes[1] = off[1];
	ci.history = "ShADadFf";
	cb.on_close(flow, &ci);
	run_end(out, e, fp);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Whole and byte-by-byte must agree; returns the whole run's text. */
static char *run_both_setup(const struct step *steps, size_t n,
			    const struct setup *su)
{
	char *whole = run_setup(steps, n, 0, su);
	char *bytes = run_setup(steps, n, 1, su);

	if (strcmp(whole, bytes) != 0) {
		/* Check's messages are too short for two event streams. */
		FILE *f = fopen("build/test_session.whole", "w");

		if (f != NULL) {
			fputs(whole, f);
			fclose(f);
		}
		f = fopen("build/test_session.bytes", "w");
		if (f != NULL) {
			fputs(bytes, f);
			fclose(f);
		}
	}
	ck_assert_msg(strcmp(whole, bytes) == 0,
		      "whole and byte-by-byte differ: see build/test_session.{whole,bytes}");
	free(bytes);
	return whole;
}

static char *run_both(const struct step *steps, size_t n)
{
	static const struct setup plain = { .close = TCP_CLOSE_FIN };

	return run_both_setup(steps, n, &plain);
}

#define RUN(steps) run_both(steps, sizeof(steps) / sizeof(*(steps)))

#define GREETING "* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE STARTTLS AUTH=PLAIN COMPRESS=DEFLATE] ready\r\n"

START_TEST(plain_session)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 LOGIN alice \"secret pw\"\r\n", 0 },
		{ S, "a1 OK Logged in\r\n", 0 },
		{ C, "a2 SELECT INBOX\r\na3 FETCH 1 BODY[]\r\n", 0 },
		{ S, "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n"
		     "a2 OK [READ-WRITE] done\r\n"
		     "* 1 FETCH (UID 1 BODY[] {27}\r\nA004 OK fake\r\n* BYE fake\r\n)\r\n"
		     "a3 OK done\r\n", 0 },
		{ C, "a4 IDLE\r\n", 0 },
		{ S, "+ idling\r\n* 3 EXISTS\r\n", 0 },
		{ C, "DONE\r\na5 LOGOUT\r\n", 0 },
		{ S, "a4 OK idle done\r\n* BYE bye\r\na5 OK bye\r\n", 0 },
	};
	char *out = run_both(s, sizeof(s) / sizeof(*s));

	ck_assert_int_eq(count(out, "\"type\":\"command\""), 5);
	ck_assert_int_eq(count(out, "\"type\":\"result\""), 5);
	/* The literal's fake lines are data: one BYE only, no fake result. */
	ck_assert_int_eq(count(out, "\"name\":\"BYE\""), 1);
	ck_assert_int_eq(count(out, "A004"), 0);
	ck_assert_int_eq(count(out, "\"kind\":\"idle-done\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "secret pw"), 0);
	ck_assert_int_eq(count(out, "\"to\":\"selected\""), 1);
	ck_assert_int_eq(count(out, "\"severity\":\"medium\""), 0);
	ck_assert_int_eq(count(out, "\"user\":\"alice\""), 1);
	free(out);
}
END_TEST

START_TEST(starttls_injection_in_one_segment)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\na2 CAPABILITY\r\n", 0 },
		{ S, "a1 OK Begin TLS\r\n", 0 },
		{ C, "\x16\x03\x01\x00\x05" "hello", 10 },
		{ S, "\x16\x03\x03\x00\x02hi", 7 },
	};
	char *out = run_both(s, sizeof(s) / sizeof(*s));

	ck_assert_int_eq(count(out, "\"id\":\"starttls-injection\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"tls\""), 1);
	/* The TLS records after the OK are not parsed as IMAP. */
	ck_assert_int_eq(count(out, "\"id\":\"syntax-error\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"nul-in-line\""), 0);
	ck_assert_int_eq(count(out, "\"tls\":true"), 1);
	free(out);
}
END_TEST

START_TEST(clean_starttls)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 OK Begin TLS\r\n", 0 },
		{ C, "\x16\x03\x01\x00\x05" "hello", 10 },
		{ S, "\x16\x03\x03\x00\x02hi", 7 },
		{ C, "\x17\x03\x03\x00\x05" "AAAAA", 10 },
	};
	char *out = run_both(s, sizeof(s) / sizeof(*s));

	ck_assert_int_eq(count(out, "\"type\":\"violation\""), 0);
	ck_assert_int_eq(count(out, "\"type\":\"tls\""), 1);
	free(out);
}
END_TEST

/* Raw DEFLATE (no zlib header), flushed like a COMPRESS peer does. */
static size_t deflate_raw(z_stream *z, const char *in, uint8_t *out, size_t size)
{
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)strlen(in);
	z->next_out = out;
	z->avail_out = (uInt)size;
	ck_assert_int_eq(deflate(z, Z_SYNC_FLUSH), Z_OK);
	return size - z->avail_out;
}

START_TEST(compress_in_one_segment)
{
	z_stream zc, zs;
	uint8_t c1[256], s2[256];
	char srv[512];
	size_t nc, ns, glen;
	struct step s[5];
	char *out;

	memset(&zc, 0, sizeof(zc));
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zc, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	/* The server's OK and its first compressed bytes in one segment. */
	glen = strlen("a2 OK compression on\r\n");
	memcpy(srv, "a2 OK compression on\r\n", glen);
	ns = deflate_raw(&zs, "* 1 EXISTS\r\n", (uint8_t *)srv + glen, sizeof(srv) - glen);
	nc = deflate_raw(&zc, "a3 SELECT INBOX\r\na4 LOGOUT\r\n", c1, sizeof(c1));
	s[0] = (struct step){ S, "* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n", 0 };
	s[1] = (struct step){ C, "a2 COMPRESS DEFLATE\r\n", 0 };
	s[2] = (struct step){ S, srv, glen + ns };
	s[3] = (struct step){ C, (const char *)c1, nc };
	s[4] = (struct step){ S, (const char *)s2,
		deflate_raw(&zs, "a3 OK selected\r\n* BYE bye\r\na4 OK bye\r\n", s2, sizeof(s2)) };
	out = run_both(s, 5);
	ck_assert_int_eq(count(out, "\"type\":\"compress\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"result\""), 3);
	ck_assert_int_eq(count(out, "\"command\":\"LOGOUT\""), 2);
	ck_assert_int_eq(count(out, "\"to\":\"selected\""), 1);
	ck_assert_int_eq(count(out, "\"compressed\":true"), 1);
	/* Only the PREAUTH on a cleartext connection is worth a finding. */
	ck_assert_int_eq(count(out, "\"type\":\"violation\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"preauth-cleartext\""), 1);
	deflateEnd(&zc);
	deflateEnd(&zs);
	free(out);
}
END_TEST

START_TEST(authenticate_plain_redacted)
{
	/* "\0alice\0wonderland" in base64. */
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 AUTHENTICATE PLAIN\r\n", 0 },
		{ S, "+ \r\n", 0 },
		{ C, "AGFsaWNlAHdvbmRlcmxhbmQ=\r\n", 0 },
		{ S, "a1 OK Logged in\r\n", 0 },
		{ C, "a2 LOGOUT\r\n", 0 },
		{ S, "* BYE bye\r\na2 OK bye\r\n", 0 },
	};
	char *out = run_both(s, sizeof(s) / sizeof(*s));

	ck_assert_int_eq(count(out, "AGFsaWNl"), 0);
	ck_assert_int_eq(count(out, "\"kind\":\"sasl\""), 1);
	ck_assert_int_eq(count(out, "\"for\":\"AUTHENTICATE\""), 1);
	ck_assert_int_eq(count(out, "\"user\":\"alice\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "\"to\":\"authenticated\""), 1);
	free(out);
}
END_TEST

/* ---- state table (RFC 3501 §3) ------------------------------------------ */

START_TEST(state_table)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 SELECT INBOX\r\n", 0 },
		{ S, "a1 NO not now\r\n", 0 },
		{ C, "a2 LOGIN alice pw\r\n", 0 },
		{ S, "a2 OK in\r\n", 0 },
		{ C, "a3 LOGIN alice pw\r\n", 0 },
		{ S, "a3 BAD already\r\n", 0 },
		{ C, "a4 EXAMINE INBOX\r\n", 0 },
		{ S, "a4 OK [READ-ONLY] examined\r\n", 0 },
		{ C, "a5 STORE 1 +FLAGS (\\Seen)\r\n", 0 },
		{ S, "a5 OK stored\r\n", 0 },
		{ C, "a6 CLOSE\r\n", 0 },
		{ S, "a6 OK closed\r\n", 0 },
		{ C, "a7 LOGOUT\r\n", 0 },
		{ S, "* BYE bye\r\na7 OK out\r\n", 0 },
		{ C, "a8 NOOP\r\n", 0 },
	};
	char *out = RUN(s);

	/* SELECT before LOGIN, LOGIN once authenticated. */
	ck_assert_int_eq(count(out, "\"id\":\"command-invalid-in-state\""), 2);
	ck_assert_int_eq(count(out, "is not allowed in the not_authenticated state"), 1);
	ck_assert_int_eq(count(out, "is not allowed in the authenticated state"), 1);
	ck_assert_int_eq(count(out, "\"from\":\"not_authenticated\",\"to\":\"authenticated\",\"cause\":\"a2\""), 1);
	ck_assert_int_eq(count(out, "\"to\":\"selected\",\"cause\":\"a4\""), 1);
	ck_assert_int_eq(count(out, "\"from\":\"selected\",\"to\":\"authenticated\",\"cause\":\"a6\""), 1);
	ck_assert_int_eq(count(out, "\"to\":\"logout\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"write-on-read-only\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"command-after-logout\""), 1);
	ck_assert_int_eq(count(out, "\"state\":\"logout\""), 1);
	free(out);
}
END_TEST

START_TEST(state_preauth_and_bye)
{
	static const struct step s[] = {
		{ S, "* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n", 0 },
		{ C, "a1 SELECT INBOX\r\n", 0 },
		{ S, "* BYE shutting down\r\na1 NO bye\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"to\":\"authenticated\",\"cause\":\"PREAUTH\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"preauth-cleartext\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"command-invalid-in-state\""), 0);
	ck_assert_int_eq(count(out, "\"to\":\"logout\",\"cause\":\"BYE\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unexpected-bye\""), 1);
	/* The result after BYE for a command that is not LOGOUT. */
	ck_assert_int_eq(count(out, "\"id\":\"data-after-bye\""), 1);
	free(out);
}
END_TEST

/* ---- pipelining (RFC 3501 §5.5) ----------------------------------------- */

START_TEST(pipelining_judged_by_expected_state)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 LOGIN alice pw\r\na2 SELECT INBOX\r\na3 FETCH 1 FLAGS\r\n", 0 },
		{ S, "a1 OK in\r\n* 1 EXISTS\r\na2 OK [READ-WRITE] sel\r\n"
		     "* 1 FETCH (FLAGS ())\r\na3 OK fetched\r\n", 0 },
	};
	char *out = RUN(s);

	/* SELECT and FETCH behind LOGIN are judged by the state LOGIN leads
	 * to, not by the state at the time they were sent. */
	ck_assert_int_eq(count(out, "\"id\":\"command-invalid-in-state\""), 0);
	ck_assert_int_eq(count(out, "\"type\":\"result\""), 3);
	ck_assert_int_eq(count(out, "\"to\":\"selected\""), 1);
	free(out);
}
END_TEST

START_TEST(pipelining_failure_resets_expectation)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 LOGIN alice wrong\r\n", 0 },
		{ S, "a1 NO [AUTHENTICATIONFAILED] no\r\n", 0 },
		{ C, "a2 SELECT INBOX\r\n", 0 },
		{ S, "a2 NO login first\r\n", 0 },
	};
	char *out = RUN(s);

	/* Once LOGIN failed, nothing expects the authenticated state. */
	ck_assert_int_eq(count(out, "\"id\":\"command-invalid-in-state\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"auth-failed\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"state\""), 0);
	free(out);
}
END_TEST

/* ---- pairing (RFC 3501 §2.2.2) ------------------------------------------ */

START_TEST(pairing_out_of_order)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 NOOP\r\na2 CAPABILITY\r\n", 0 },
		{ S, "* CAPABILITY IMAP4rev1\r\na2 OK caps\r\na1 OK noop\r\n", 0 },
		{ C, "a3 NOOP\r\n", 0 },
		{ S, "* 3 EXISTS\r\nzz OK what\r\n", 0 },
		{ C, "a4 NOOP\r\n", 0 },
	};
	char *out = RUN(s);

	/* Each result names its own command and the frame that sent it. */
	ck_assert_int_eq(count(out, "\"tag\":\"a2\",\"command\":\"CAPABILITY\",\"status\":\"OK\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"a1\",\"command\":\"NOOP\",\"status\":\"OK\""), 1);
	ck_assert_int_eq(count(out, "\"command_frame\":3"), 2);
	/* An untagged response while one command is outstanding is its. */
	ck_assert_int_eq(count(out, "\"in_reply_to\":\"a3\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"zz\",\"command\":null"), 1);
	/* a3 and a4 got no result before the FIN. */
	ck_assert_int_eq(count(out, "\"id\":\"unanswered-command\""), 2);
	ck_assert_int_eq(count(out, "\"unanswered\":2"), 1);
	free(out);
}
END_TEST

START_TEST(pairing_unanswered_only_on_clean_end)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 NOOP\r\n", 0 },
	};
	struct setup su = { .close = TCP_CLOSE_RST };
	char *out = run_both_setup(s, 2, &su);

	/* A reset session may have lost the result: not unanswered. */
	ck_assert_int_eq(count(out, "\"id\":\"unanswered-command\""), 0);
	ck_assert_int_eq(count(out, "\"unanswered\":1"), 1);
	free(out);
}
END_TEST

START_TEST(pairing_limit)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\na4 NOOP\r\na5 NOOP\r\n"
		     "a6 NOOP\r\na7 NOOP\r\na8 NOOP\r\na9 NOOP\r\nb1 NOOP\r\n", 0 },
		{ S, "b1 OK\r\n", 0 },
	};
	struct setup su = { .close = TCP_CLOSE_RST, .max_pending = 8 };
	char *out = run_both_setup(s, 3, &su);

	/* Past 8 outstanding the oldest go (a1, a2), said once; b1's result
	 * leaves 7. */
	ck_assert_int_eq(count(out, "\"id\":\"limit-reached\""), 1);
	ck_assert_int_eq(count(out, "\"limit\":\"max-pending\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 0);
	ck_assert_int_eq(count(out, "\"unanswered\":7"), 1);
	free(out);
}
END_TEST

/* ---- tags (RFC 3501 §2.2.1) --------------------------------------------- */

START_TEST(tag_reuse)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "t1 NOOP\r\n", 0 },
		{ S, "t1 OK\r\n", 0 },
		{ C, "t1 NOOP\r\nt2 NOOP\r\nt2 CHECK\r\n", 0 },
		{ S, "t1 OK\r\nt2 OK\r\nt2 OK\r\n", 0 },
	};
	char *out = RUN(s);

	/* A completed tag again: allowed, noted; an outstanding one again:
	 * a violation.  Both results still pair. */
	ck_assert_int_eq(count(out, "\"id\":\"tag-reused\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"duplicate-tag\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 0);
	ck_assert_int_eq(count(out, "\"tag\":\"t2\",\"command\":\"NOOP\",\"status\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"t2\",\"command\":\"CHECK\",\"status\""), 1);
	free(out);
}
END_TEST

/* ---- capabilities (RFC 3501 §7.2.1, §6.2.3; RFC 7888) --------------------- */

START_TEST(capability_tracking)
{
	static const struct step s[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n", 0 },
		{ C, "a1 LOGIN alice pw\r\n", 0 },
		{ S, "a1 NO disabled\r\n", 0 },
		{ C, "a2 CAPABILITY\r\n", 0 },
		{ S, "* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN\r\na2 OK\r\n", 0 },
		{ C, "a3 LOGIN {5+}\r\nalice pw\r\n", 0 },
		{ S, "a3 OK in\r\n", 0 },
		{ C, "a4 STARTTLS\r\n", 0 },
		{ S, "a4 BAD no TLS here\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"capabilities\":[\"IMAP4REV1\",\"LOGINDISABLED\"]"), 1);
	ck_assert_int_eq(count(out, "\"id\":\"login-disabled\""), 1);
	/* The later announcement replaced the first: LITERAL+ is there,
	 * LOGINDISABLED and STARTTLS are not. */
	ck_assert_int_eq(count(out, "\"id\":\"nonsync-literal-unadvertised\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"starttls-not-advertised\""), 1);
	/* Never offered, so refusing it is no finding either. */
	ck_assert_int_eq(count(out, "\"id\":\"starttls-refused\""), 0);
	ck_assert_int_eq(count(out, "STARTTLS was not offered"), 2);
	free(out);
}
END_TEST

START_TEST(capability_literal_plus_missing)
{
	static const struct step s[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 LITERAL-] hi\r\n", 0 },
		{ C, "a1 LOGIN alice pw\r\n", 0 },
		{ S, "a1 OK in\r\n", 0 },
		{ C, "a2 APPEND INBOX {3+}\r\nabc\r\n", 0 },
		{ S, "a2 OK appended\r\n", 0 },
		{ C, "a3 APPEND INBOX {5000+}\r\n", 0 },
	};
	char *out = RUN(s);

	/* LITERAL- allows {N+} up to 4096 octets only (RFC 7888 §4). */
	ck_assert_int_eq(count(out, "\"id\":\"nonsync-literal-unadvertised\""), 1);
	ck_assert_int_eq(count(out, "\"detail\":\"non-synchronizing literal over 4096"), 1);
	free(out);
}
END_TEST

/* ---- stream switches ----------------------------------------------------- */

START_TEST(starttls_refused_then_cleartext)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 NO not now\r\n", 0 },
		{ C, "a2 LOGIN alice pw\r\n", 0 },
		{ S, "a2 OK in\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"id\":\"starttls-refused\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"starttls-stripped\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"tls\""), 0);
	ck_assert_int_eq(count(out, "\"tls\":false"), 1);
	ck_assert_int_eq(count(out, "\"to\":\"authenticated\""), 1);
	free(out);
}
END_TEST

START_TEST(starttls_repeated)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 NO later\r\n", 0 },
		{ C, "a2 STARTTLS\r\n", 0 },
		{ S, "a2 OK go\r\n", 0 },
		{ C, "\x16\x03\x01\x00\x01" "x", 6 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"id\":\"starttls-repeated\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"tls\""), 1);
	ck_assert_int_eq(count(out, "\"after_tag\":\"a2\""), 1);
	free(out);
}
END_TEST

START_TEST(compress_refused_replays_held)
{
	static const struct step s[] = {
		{ S, "* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n", 0 },
		{ C, "a1 COMPRESS DEFLATE\r\na2 NOOP\r\n", 0 },
		{ S, "a1 NO not today\r\n", 0 },
		{ S, "a2 OK noop\r\n", 0 },
	};
	char *out = RUN(s);

	/* a2 was held while COMPRESS was pending, then read as cleartext. */
	ck_assert_int_eq(count(out, "\"type\":\"command\""), 2);
	ck_assert_int_eq(count(out, "\"type\":\"result\""), 2);
	ck_assert_int_eq(count(out, "\"type\":\"compress\""), 0);
	ck_assert_int_eq(count(out, "\"compressed\":false"), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 0);
	free(out);
}
END_TEST

START_TEST(compress_client_before_ok)
{
	z_stream zc, zs;
	uint8_t c[256], sv[256];
	char cl[512], srv[512];
	size_t cl_len, srv_len;
	struct step s[3];
	char *out;

	memset(&zc, 0, sizeof(zc));
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zc, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	/* The client does not wait for the OK: its compressed NOOP rides in
	 * the COMPRESS command's segment and is held until the result. */
	cl_len = strlen("a1 COMPRESS DEFLATE\r\n");
	memcpy(cl, "a1 COMPRESS DEFLATE\r\n", cl_len);
	{
		size_t n = deflate_raw(&zc, "a2 NOOP\r\n", c, sizeof(c));

		memcpy(cl + cl_len, c, n);
		cl_len += n;
	}
	srv_len = strlen("a1 OK on\r\n");
	memcpy(srv, "a1 OK on\r\n", srv_len);
	{
		size_t n = deflate_raw(&zs, "a2 OK noop\r\n", sv, sizeof(sv));

		memcpy(srv + srv_len, sv, n);
		srv_len += n;
	}
	s[0] = (struct step){ S, "* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n", 0 };
	s[1] = (struct step){ C, cl, cl_len };
	s[2] = (struct step){ S, srv, srv_len };
	out = run_both(s, 3);
	ck_assert_int_eq(count(out, "\"type\":\"compress\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"a2\",\"command\":\"NOOP\""), 2);
	ck_assert_int_eq(count(out, "\"compressed\":true"), 1);
	deflateEnd(&zc);
	deflateEnd(&zs);
	free(out);
}
END_TEST

START_TEST(implicit_tls_port)
{
	static const struct step s[] = {
		{ C, "\x16\x03\x01\x00\x05" "hello", 10 },
		{ S, "\x16\x03\x03\x00\x02hi", 7 },
		{ C, NULL, 100 },
		{ C, "\x17\x03\x03\x00\x01" "A", 6 },
	};
	struct setup su = { .port = 993, .close = TCP_CLOSE_FIN };
	char *out = run_both_setup(s, 4, &su);

	ck_assert_int_eq(count(out, "\"port_guess\":\"tls-port\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"tls\""), 1);
	ck_assert_int_eq(count(out, "\"resync\":\"opaque\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"command\""), 0);
	ck_assert_int_eq(count(out, "\"state\":\"unknown\""), 1);
	ck_assert_int_eq(count(out, "\"tls\":true"), 1);
	free(out);
}
END_TEST

START_TEST(gap_in_cleartext_resyncs)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 NOOP\r\na2 NOO", 0 },
		{ C, NULL, 10 },
		{ C, "rest\r\na3 NOOP\r\n", 0 },
		{ S, "a1 OK\r\na3 OK\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"resync\":\"next-line\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"tcp-gap\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"a3\",\"command\":\"NOOP\""), 2);
	free(out);
}
END_TEST

/* ---- after STARTTLS: TLS, injection or plaintext ------------------------- */

#define CLIENT_HELLO "\x16\x03\x01\x00\x05" "hello"
#define SERVER_HELLO "\x16\x03\x03\x00\x02hi"

START_TEST(plaintext_after_starttls_client_first)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 OK Begin TLS negotiation now.\r\n", 0 },
		{ C, "a2 LOGIN alice \"secret pw\"\r\n", 0 },
		{ S, "a2 OK Logged in\r\n", 0 },
		{ C, "a3 SELECT INBOX\r\n", 0 },
		{ S, "* 1 EXISTS\r\na3 OK [READ-WRITE] selected\r\n", 0 },
		{ C, "a4 LOGOUT\r\n", 0 },
		{ S, "* BYE bye\r\na4 OK bye\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "\"severity\":\"high\",\"message\":\"the session went on in plaintext"), 1);
	ck_assert_int_eq(count(out, "\"dir\":\"c2s\",\"offset\":13,\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "the client spoke first, in plaintext"), 1);
	/* Everything after the OK is read: pairing, states, credentials,
	 * redaction. */
	ck_assert_int_eq(count(out, "\"type\":\"command\""), 4);
	ck_assert_int_eq(count(out, "\"type\":\"result\""), 4);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "secret pw"), 0);
	ck_assert_int_eq(count(out, "\"to\":\"selected\""), 1);
	ck_assert_int_eq(count(out, "\"state\":\"logout\""), 1);
	ck_assert_int_eq(count(out, "\"user\":\"alice\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"starttls-injection\""), 0);
	ck_assert_int_eq(count(out, "\"tls\":false"), 1);
	free(out);
}
END_TEST

START_TEST(plaintext_after_starttls_server_first)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		/* The OK and the next line in one segment. */
		{ S, "a1 OK Begin TLS negotiation now.\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n", 0 },
		{ C, "a2 LOGIN alice pw\r\n", 0 },
		{ S, "a2 OK Logged in\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "\"dir\":\"s2c\",\"offset\":120,\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "the server spoke first, in plaintext"), 1);
	ck_assert_int_eq(count(out, "\"name\":\"CAPABILITY\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "\"to\":\"authenticated\""), 1);
	free(out);
}
END_TEST

START_TEST(plaintext_after_starttls_pipelined)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\na2 CAPABILITY\r\n", 0 },
		{ S, "a1 OK Begin TLS negotiation now.\r\n", 0 },
		{ S, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na2 OK done\r\n", 0 },
		{ C, "a3 LOGIN alice pw\r\n", 0 },
		{ S, "a3 OK Logged in\r\n", 0 },
	};
	char *out = RUN(s);

	/* No TLS handshake followed the pipelined command: not an
	 * injection.  The command keeps the frame it came in. */
	ck_assert_int_eq(count(out, "\"id\":\"starttls-injection\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "before the server's answer"), 1);
	ck_assert_int_eq(count(out, "\"type\":\"command\",\"frame\":3,\"dir\":\"c2s\",\"offset\":13,\"tag\":\"a2\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"a2\",\"command\":\"CAPABILITY\",\"status\":\"OK\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	free(out);
}
END_TEST

START_TEST(plaintext_after_starttls_upstream_is_info)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 OK Begin TLS negotiation now.\r\n", 0 },
		{ C, "a2 NOOP\r\n", 0 },
		{ S, "a2 OK done\r\n", 0 },
	};
	struct setup su = { .close = TCP_CLOSE_FIN, .decrypted_upstream = 1 };
	char *out = run_both_setup(s, 5, &su);

	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\",\"category\":\"security\",\"severity\":\"info\""), 1);
	ck_assert_int_eq(count(out, "\"violations\":{\"info\":1,\"low\":0,\"medium\":0,\"high\":0}"), 1);
	free(out);
}
END_TEST

START_TEST(injection_then_handshake_after_ok)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 OK Begin TLS\r\n* OK injected\r\n", 0 },
		{ C, CLIENT_HELLO, 10 },
		{ S, SERVER_HELLO, 7 },
		{ C, "\x17\x03\x03\x00\x0a" "a9 LOGOUT\r", 15 },
	};
	char *out = RUN(s);

	/* The server's plaintext came before a real handshake: injection,
	 * and nothing inside TLS is read. */
	ck_assert_int_eq(count(out, "\"id\":\"starttls-injection\""), 1);
	ck_assert_int_eq(count(out, "\"dir\":\"s2c\",\"offset\":103,\"id\":\"starttls-injection\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 0);
	ck_assert_int_eq(count(out, "\"tag\":\"a9\""), 0);
	ck_assert_int_eq(count(out, "\"tls\":true"), 1);
	free(out);
}
END_TEST

START_TEST(starttls_garbage_after_ok)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 OK go\r\n", 0 },
		{ C, "\x80\x2e\x01\x03\x01 not TLS 1.x, not IMAP\r\n", 0 },
		{ S, SERVER_HELLO, 7 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"id\":\"starttls-injection\""), 1);
	ck_assert_int_eq(count(out, "plaintext bytes where the TLS handshake should start"), 1);
	ck_assert_int_eq(count(out, "\"type\":\"command\""), 1);
	ck_assert_int_eq(count(out, "\"tls\":true"), 1);
	free(out);
}
END_TEST

START_TEST(plaintext_after_starttls_at_the_end)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\n", 0 },
		{ S, "a1 OK go\r\n", 0 },
		{ C, "a2 LOGIN alice pw\r\n", 0 },
	};
	char *out = RUN(s);

	/* The server never answered; at the end what the client held is
	 * decided: IMAP, so plaintext after STARTTLS. */
	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"unanswered-command\""), 1);
	free(out);
}
END_TEST

START_TEST(plaintext_after_starttls_bound)
{
	/* 80 commands of 60 bytes (4800 bytes) after the OK, without an
	 * answer: past SESS_PROBE_MAX the client is decided alone. */
	static char big[80 * 60 + 1];
	struct step s[4];
	char *out;

	for (int i = 0; i < 80; i++)
		snprintf(big + i * 60, 61, "b%02d NOOP %-49s\r\n", i, "x");
	s[0] = (struct step){ S, GREETING, 0 };
	s[1] = (struct step){ C, "a1 STARTTLS\r\n", 0 };
	s[2] = (struct step){ S, "a1 OK go\r\n", 0 };
	s[3] = (struct step){ C, big, 0 };
	out = run_both(s, 4);
	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 1);
	ck_assert_int_eq(count(out, "\"type\":\"command\""), 81);
	free(out);
}
END_TEST

START_TEST(starttls_refused_with_pipelined_command)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 STARTTLS\r\na2 NOOP\r\n", 0 },
		{ S, "a1 NO not now\r\na2 OK done\r\n", 0 },
	};
	char *out = RUN(s);

	/* Refused: the held command is plaintext, as it was meant. */
	ck_assert_int_eq(count(out, "\"id\":\"starttls-injection\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"plaintext-after-starttls\""), 0);
	ck_assert_int_eq(count(out, "\"tag\":\"a2\",\"command\":\"NOOP\""), 2);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 0);
	free(out);
}
END_TEST

/* ---- findings that need evidence ---------------------------------------- */

START_TEST(command_pipelined_behind_logout)
{
	static const struct step s[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] ready\r\n", 0 },
		{ C, "a1 NOOP\r\n", 0 },
		{ S, "a1 OK done\r\n", 0 },
		{ C, "a2 LOGOUT\r\na3 NOOP\r\n", 0 },
		{ S, "* BYE bye\r\na2 OK out\r\n", 0 },
	};
	static const struct step refused[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] ready\r\n", 0 },
		{ C, "a2 LOGOUT\r\n", 0 },
		{ S, "a2 BAD not now\r\n", 0 },
		{ C, "a3 NOOP\r\n", 0 },
		{ S, "a3 OK done\r\n", 0 },
	};
	char *out = RUN(s);

	/* RFC 3501 §6.1.3: sent after LOGOUT, though before its result. */
	ck_assert_int_eq(count(out, "\"id\":\"command-after-logout\""), 1);
	ck_assert_int_eq(count(out, "\"detail\":\"NOOP sent behind LOGOUT a2 before its result\""), 1);
	free(out);
	out = RUN(refused);
	ck_assert_int_eq(count(out, "\"id\":\"command-after-logout\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"unexpected-bye\""), 0);
	free(out);
}
END_TEST

START_TEST(invalid_tag_answered_pairs)
{
	static const struct step s[] = {
		{ S, "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", 0 },
		{ C, "a+1 SELECT INBOX\r\n", 0 },
		{ S, "* 2 EXISTS\r\na+1 OK [READ-WRITE] selected\r\n", 0 },
		{ C, "a2 FETCH 1 (FLAGS)\r\n", 0 },
		{ S, "* 1 FETCH (FLAGS ())\r\na2 OK done\r\n", 0 },
		{ S, "a%9 OK stray\r\n", 0 },
	};
	char *out = RUN(s);

	ck_assert_int_eq(count(out, "\"id\":\"invalid-tag\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"a+1\",\"command\":\"SELECT\",\"status\":\"OK\""), 1);
	ck_assert_int_eq(count(out, "\"to\":\"selected\",\"cause\":\"a+1\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"command-invalid-in-state\""), 0);
	ck_assert_int_eq(count(out, "\"id\":\"unknown-tag-result\""), 0);
	/* Only the tag no command used is wrong. */
	ck_assert_int_eq(count(out, "\"id\":\"syntax-error\""), 1);
	ck_assert_int_eq(count(out, "\"tag\":\"a%9\",\"detail\":\"a tagged result with an invalid tag"), 1);
	free(out);
}
END_TEST

START_TEST(starttls_offered_not_used_is_no_stripping)
{
	static const struct step s[] = {
		{ S, GREETING, 0 },
		{ C, "a1 LOGIN alice pw\r\n", 0 },
		{ S, "a1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n", 0 },
		{ C, "a2 CAPABILITY\r\n", 0 },
		{ S, "* CAPABILITY IMAP4rev1 IDLE\r\na2 OK done\r\n", 0 },
	};
	char *out = RUN(s);

	/* Post-login capabilities rightly lack STARTTLS. */
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 1);
	ck_assert_int_eq(count(out, "STARTTLS was offered by the server and not used by the client"), 1);
	ck_assert_int_eq(count(out, "\"id\":\"starttls-stripped\""), 0);
	free(out);
}
END_TEST

START_TEST(starttls_word_overwritten)
{
	static const struct step greet[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 XXXXXXXA AUTH=PLAIN] ready\r\n", 0 },
		{ C, "a1 LOGIN alice pw\r\n", 0 },
		{ S, "a1 OK in\r\n", 0 },
	};
	static const struct step caps[] = {
		{ S, "* OK ready\r\n", 0 },
		{ C, "a1 CAPABILITY\r\n", 0 },
		{ S, "* CAPABILITY IMAP4rev1 XXXXXXXX\r\n* CAPABILITY IMAP4rev1 XXXXXXXX\r\n"
		     "a1 OK done\r\n", 0 },
	};
	static const struct step other[] = {
		/* Not STARTTLS's length, or not mostly X: no evidence. */
		{ S, "* OK [CAPABILITY IMAP4rev1 XXXX XAXAXAXA XLIST] ready\r\n", 0 },
	};
	char *out = RUN(greet);

	ck_assert_int_eq(count(out, "\"id\":\"starttls-stripped\""), 1);
	ck_assert_int_eq(count(out, "\"detail\":\"the capability list has XXXXXXXA where STARTTLS belongs\""), 1);
	ck_assert_int_eq(count(out, "STARTTLS was stripped on the way"), 1);
	free(out);
	out = RUN(caps);
	/* Once per session. */
	ck_assert_int_eq(count(out, "\"id\":\"starttls-stripped\""), 1);
	ck_assert_int_eq(count(out, "\"id\":\"cleartext-credentials\""), 0);
	free(out);
	out = RUN(other);
	ck_assert_int_eq(count(out, "\"id\":\"starttls-stripped\""), 0);
	free(out);
}
END_TEST

START_TEST(unknown_response_names_and_codes)
{
	static const struct step s[] = {
		{ S, "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", 0 },
		{ C, "a1 SELECT INBOX\r\n", 0 },
		{ S, "* 3 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\na1 OK [READ-WRITE] done\r\n", 0 },
		{ C, "a2 EXPUNGE\r\n", 0 },
		{ S, "* 2 EXPUNGED\r\n* 2 EXPUNGED\r\na2 OK [FROB 1] done\r\n", 0 },
		{ C, "a3 NOOP\r\n", 0 },
		{ S, "* 2 EXISTS\r\n* OK [frob 2] again\r\n* MAILSTATS 1\r\n* XSTATS 1\r\n"
		     "* OK [WEBALERT https://x] y\r\n* OK [X-FOO] z\r\na3 OK done\r\n", 0 },
	};
	char *out = RUN(s);

	/* One per distinct name: EXPUNGED, FROB (any case), MAILSTATS. */
	ck_assert_int_eq(count(out, "\"id\":\"unknown-response\""), 3);
	ck_assert_int_eq(count(out, "\"tag\":\"a2\",\"detail\":\"untagged numbered response EXPUNGED\""), 1);
	ck_assert_int_eq(count(out, "\"detail\":\"response code FROB\""), 1);
	ck_assert_int_eq(count(out, "\"detail\":\"untagged response MAILSTATS\""), 1);
	/* ...and what the unknown EXPUNGED leads to. */
	ck_assert_int_eq(count(out, "\"id\":\"exists-decreased\""), 1);
	free(out);
}
END_TEST

/* A session whose parsers are between lines (in IDLE, waiting for a
 * result, or with nothing outstanding) holds no line storage: it went
 * back to the engine's shelf, and comes from there again when traffic
 * resumes.  Its list of commands goes once nothing is outstanding. */
static void idle_after(void *flow, size_t step)
{
	struct session *s = flow;
	const struct imap_parser *pc = sess_parser(s, IMT_C2S);
	const struct imap_parser *ps = sess_parser(s, IMT_S2C);

	switch (step) {
	case 11:        /* half a command: the client's line is back */
		ck_assert_int_eq(imap_parser_idle(pc), 0);
		ck_assert_ptr_nonnull(pc->w->line);
		ck_assert_uint_eq(pc->w->line_len, 5);
		ck_assert_int_eq(imap_parser_idle(ps), 1);
		return;
	case 14:        /* a literal announced, its data not yet sent */
	case 15:        /* ...and the server's "+" for it */
		ck_assert_int_eq(imap_parser_idle(pc), 0);
		ck_assert_int_eq(imap_parser_idle(ps), 1);
		return;
	default:
		break;
	}
	/* Every other step ends at a line end on both sides. */
	ck_assert_int_eq(imap_parser_idle(pc), 1);
	ck_assert_int_eq(imap_parser_idle(ps), 1);
	ck_assert_ptr_nonnull(s->e->lines->free);
	ck_assert_uint_le(s->e->lines->n, 2);
	/* What the session keeps besides comes from the engine's slab as
	 * it needs it: the event prefix from the greeting on, the user from
	 * the LOGIN, the tags from the first result, the mailbox and its
	 * UIDVALIDITY from the SELECT's. */
	ck_assert_ptr_nonnull(s->ev_prefix);
	ck_assert_uint_eq(s->ev_prefix_len, strlen(s->ev_prefix));
	if (step < 1) {
		ck_assert_ptr_null(s->user);
	} else {
		ck_assert_str_eq(s->user, "joe");
		ck_assert_ptr_nonnull(s->e->small.cls[0].blocks);
	}
	if (step < 2) {
		ck_assert_ptr_null(s->pending.recent);
	} else {
		/* As large as the completed tags need, from SESS_RECENT_FIRST. */
		size_t cap = SESS_RECENT_FIRST;

		while (cap < s->pending.nrecent)
			cap *= 2;
		ck_assert_uint_eq(s->pending.recent_cap, cap);
	}
	if (step < 4) {
		ck_assert_ptr_null(s->mailbox);
		ck_assert_ptr_null(s->uidv);
	} else {
		ck_assert_str_eq(s->mailbox, "INBOX");
		ck_assert_uint_eq(s->uidv_cap, SESS_UIDV_FIRST);
	}
	switch (step) {
	case 3:         /* SELECT outstanding, its result not yet come */
	case 6:         /* "+ idling": IDLE outstanding, both sides wait */
	case 7:         /* new mail while idling */
		ck_assert_uint_eq(sess_pending_count(&s->pending), 1);
		break;
	case 9:         /* IDLE completed: nothing outstanding */
		ck_assert_ptr_null(s->pending.cmds);
		ck_assert_uint_eq(s->pending.cap, 0);
		break;
	case 10:        /* a command: its entry is back */
		ck_assert_ptr_nonnull(s->pending.cmds);
		ck_assert_uint_eq(sess_pending_count(&s->pending), 1);
		break;
	default:
		break;
	}
}

START_TEST(idle_session_gives_buffers_back)
{
	const struct step steps[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n", 0 },
		{ C, "a LOGIN joe secret\r\n", 0 },
		{ S, "a OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n", 0 },
		{ C, "b SELECT INBOX\r\n", 0 },
		{ S, "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n"
		     "b OK [READ-WRITE] done\r\n", 0 },
		{ C, "c IDLE\r\n", 0 },
		{ S, "+ idling\r\n", 0 },
		{ S, "* 3 EXISTS\r\n", 0 },
		{ C, "DONE\r\n", 0 },
		{ S, "c OK Idle completed\r\n", 0 },
		{ C, "d UID FETCH 3 (FLAGS)\r\n", 0 },
		{ C, "e NOO", 0 },
		{ C, "P\r\n", 0 },
		{ S, "* 3 FETCH (UID 9 FLAGS (\\Recent))\r\nd OK done\r\ne OK\r\n", 0 },
		{ C, "f APPEND INBOX {5}\r\n", 0 },
		{ S, "+ go\r\n", 0 },
		{ C, "hello\r\n", 0 },
		{ S, "f OK done\r\n", 0 },
	};
	struct setup su = { .after = idle_after };
	char *t = run_both_setup(steps, sizeof(steps) / sizeof(steps[0]), &su);

	ck_assert_int_eq(count(t, "\"type\":\"result\""), 6);
	ck_assert_int_eq(count(t, "\"type\":\"command\""), 6);
	ck_assert_ptr_nonnull(strstr(t, "UID FETCH"));
	ck_assert_ptr_nonnull(strstr(t, "\"command\":\"NOOP\""));
	ck_assert_int_eq(count(t, "\"continuation\""), 2);
	ck_assert_ptr_nonnull(strstr(t, "\"commands\":6"));
	ck_assert_ptr_nonnull(strstr(t, "\"state\":\"selected\""));
	free(t);
}
END_TEST

/* An outstanding command's record keeps its tag and name in itself when
 * they are short, on the heap when not, and its transaction's part only
 * with --transactions; each goes with the command's result. */
static void cmd_text_after(void *flow, size_t step)
{
	struct session *s = flow;
	const struct sess_cmd *c = sess_pending_newest(&s->pending);
	int txn = s->e->cfg.lim.max_pending == 1000;   /* the run with records */

	switch (step) {
	case 1:         /* short tag and name: in the record */
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_null(c->text);
		ck_assert_str_eq(sess_cmd_tag(c), "a1");
		ck_assert_str_eq(sess_cmd_name(c), "LOGIN");
		ck_assert(txn ? c->txn != NULL : c->txn == NULL);
		break;
	case 3:         /* a tag too long for the record: on the heap */
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_nonnull(c->text);
		ck_assert_str_eq(sess_cmd_tag(c), "t23456789012345678901234567890");
		ck_assert_str_eq(sess_cmd_name(c), "SELECT");
		ck_assert(txn ? c->txn != NULL && c->txn->args != NULL : c->txn == NULL);
		break;
	case 4:         /* a tag as long as a tag may be, a long name */
		ck_assert_uint_eq(sess_pending_count(&s->pending), 2);
		ck_assert_uint_eq(strlen(sess_cmd_tag(c)), SESS_TAG_MAX);
		ck_assert_uint_eq(strlen(sess_cmd_name(c)), SESS_NAME_MAX - 1);
		ck_assert_ptr_nonnull(sess_pending_find(&s->pending, sess_cmd_tag(c),
							SESS_TAG_MAX));
		ck_assert_ptr_null(sess_pending_find(&s->pending, sess_cmd_tag(c),
						     SESS_TAG_MAX - 1));
		break;
	case 2:
	case 5:         /* nothing outstanding */
		ck_assert_ptr_null(c);
		ck_assert_ptr_null(s->pending.cmds);
		break;
	default:
		break;
	}
}

START_TEST(command_record_text_and_txn)
{
	const struct step steps[] = {
		{ S, "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n", 0 },
		{ C, "a1 LOGIN joe secret\r\n", 0 },
		{ S, "a1 OK done\r\n", 0 },
		{ C, "t23456789012345678901234567890 SELECT INBOX\r\n", 0 },
		{ C, "T234567890123456789012345678901234567890123456789012345678901234567890 "
		     "XVERYLONGCOMMANDNAME56789012345678901234567890123456789\r\n", 0 },
		{ S, "t23456789012345678901234567890 OK [READ-WRITE] done\r\n"
		     "T234567890123456789012345678901234567890123456789012345678901234 BAD no\r\n", 0 },
	};
	struct setup su = { .after = cmd_text_after, .close = TCP_CLOSE_FIN };
	char *t;

	for (int txn = 0; txn <= 1; txn++) {
		su.transactions = txn;
		su.max_pending = txn ? 1000 : 0;
		t = run_both_setup(steps, sizeof(steps) / sizeof(steps[0]), &su);
		ck_assert_int_eq(count(t, "\"tag\":\"t23456789012345678901234567890\",\"command\":\"SELECT\""),
				 (txn ? 1 : 2));
		/* The command and its result, or its record, with the name cut. */
		ck_assert_int_eq(count(t, "\"command\":\"XVERYLONGCOMMANDNAME567890123456789012345678901\""),
				 (txn ? 1 : 2));
		ck_assert_int_eq(count(t, "\"type\":\"transaction\""), (txn ? 3 : 0));
		ck_assert_int_eq(count(t, "\"state_before\":\"authenticated\""), (txn ? 2 : 0));
		free(t);
	}
}
END_TEST

/* Sessions that heard the same capability list share one copy of it;
 * the last to let go frees it, and lists stay apart by content. */
START_TEST(caps_shared_between_sessions)
{
	struct sess_caps_store cs;
	struct sess_caps a, b, many[100];
	char text[32];

	sess_caps_store_init(&cs);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(many, 0, sizeof(many));
	sess_caps_set(&a, &cs, "IMAP4rev1 idle STARTTLS", 23);
	sess_caps_set(&b, &cs, "imap4rev1  IDLE starttls", 24);
	ck_assert_ptr_nonnull(a.t);
	ck_assert_ptr_eq(a.t, b.t);
	ck_assert_uint_eq(a.t->refs, 2);
	ck_assert_uint_eq(cs.n, 1);
	ck_assert(sess_caps_has(&a, "IDLE") && sess_caps_has(&b, "STARTTLS"));
	sess_caps_set(&b, &cs, "IMAP4rev1 XXXXXXXX", 18);
	ck_assert_uint_eq(cs.n, 2);
	ck_assert_uint_eq(a.t->refs, 1);
	ck_assert(!sess_caps_has(&b, "STARTTLS") && sess_caps_has(&a, "STARTTLS"));
	ck_assert(sess_caps_masked(&b, "STARTTLS", text, sizeof(text)));
	ck_assert_str_eq(text, "XXXXXXXX");
	sess_caps_forget(&a, &cs);
	ck_assert(!sess_caps_known(&a) && !sess_caps_has(&a, "IDLE"));
	ck_assert_uint_eq(cs.n, 1);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(text, sizeof(text), "IMAP4rev1 X-%d", i % 50);

		sess_caps_set(&many[i], &cs, text, (size_t)n);
		ck_assert(sess_caps_has(&many[i], "IMAP4REV1"));
	}
	ck_assert_uint_eq(cs.n, 51);
	ck_assert_ptr_eq(many[3].t, many[53].t);
	for (int i = 0; i < 100; i++)
		sess_caps_free(&many[i], &cs);
	sess_caps_free(&b, &cs);
	sess_caps_free(&a, &cs);
	ck_assert_uint_eq(cs.n, 0);
	sess_caps_set(&a, &cs, "IDLE", 4);   /* left for the store to free */
	sess_caps_store_fini(&cs);
}
END_TEST

/* The list as the byte-at-a-time rule makes it: upper case, runs of
 * spaces made one, a space at both ends, cut at SESS_CAPS_MAX. */
static size_t caps_reference(const char *text, size_t len, char *list)
{
	size_t room = len < SESS_CAPS_MAX - 3 ? len + 3 : SESS_CAPS_MAX;
	size_t o = 0;

	list[o++] = ' ';
	for (size_t i = 0; i < len && o + 2 < room; i++) {
		char ch = text[i];

		if (ch == ' ' && list[o - 1] == ' ')
			continue;
		list[o++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
	}
	if (list[o - 1] != ' ')
		list[o++] = ' ';
	list[o] = '\0';
	return o;
}

/* Eight bytes a step gives the same list as one at a time: every byte
 * value next to letters, runs of spaces at every alignment, lists cut
 * at the cap. */
START_TEST(caps_set_matches_bytewise)
{
	static const char pick[] = "aAzZ@[`{ \x80\xff""0-=";
	struct sess_caps_store cs;
	struct sess_caps c;
	static char text[SESS_CAPS_MAX + 100], want[SESS_CAPS_MAX + 8];
	uint32_t r = 12345;

	sess_caps_store_init(&cs);
	memset(&c, 0, sizeof(c));
	for (int round = 0; round < 3000; round++) {
		size_t len = round < 2000 ? (size_t)(round % 40) + 1 :
			     SESS_CAPS_MAX - 20 + (size_t)(round % 60);

		for (size_t i = 0; i < len; i++) {
			r = r * 1103515245u + 12345u;
			text[i] = (r >> 16) % 4 == 0 ? (char)(r >> 8) :
				  pick[(r >> 20) % (sizeof(pick) - 1)];
		}
		size_t wl = caps_reference(text, len, want);

		sess_caps_set(&c, &cs, text, len);
		ck_assert_ptr_nonnull(c.t);
		ck_assert_msg(c.t->len == wl && memcmp(c.t->text, want, wl) == 0,
			      "round %d", round);
	}
	sess_caps_free(&c, &cs);
	sess_caps_store_fini(&cs);
}
END_TEST

/* The list written as an array: the first time made, the next times
 * copied, both the same; names escaped, cut at 256 bytes; an empty
 * list is an empty array. */
START_TEST(caps_written_as_array)
{
	struct sess_caps_store cs;
	struct sess_caps a, b, none;
	struct imt_event ev;
	char text[400], want[600];
	size_t n = 0;
	int w;

	n += (size_t)snprintf(text, sizeof(text), "imap4rev1 A\"B C\\D \xe9t\xc3\xa9 ");
	memset(text + n, 'x', 300);
	n += 300;
	w = snprintf(want, sizeof(want),
		     "{\"capabilities\":[\"IMAP4REV1\",\"A\\\"B\",\"C\\\\D\","
		     "\"\\\\xE9T\xc3\xa9\",\"");
	memset(want + w, 'X', 256);
	memcpy(want + w + 256, "\"]}", 4);
	sess_caps_store_init(&cs);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&none, 0, sizeof(none));
	memset(&ev, 0, sizeof(ev));
	sess_caps_set(&a, &cs, text, n);
	sess_caps_set(&b, &cs, text, n);
	ck_assert_ptr_eq(a.t, b.t);
	for (int i = 0; i < 3; i++) {
		event_begin(&ev, EV_GREETING, 0);
		sess_caps_write(i == 0 ? &a : &b, &ev, "capabilities");
		ck_assert_int_eq(event_end(&ev), 0);
		ck_assert_uint_eq(ev.len, strlen(want));
		ck_assert_mem_eq(ev.text, want, ev.len);
	}
	event_begin(&ev, EV_GREETING, 0);
	sess_caps_write(&none, &ev, "capabilities");
	event_end(&ev);
	ck_assert_uint_eq(ev.len, strlen("{\"capabilities\":[]}"));
	ck_assert_mem_eq(ev.text, "{\"capabilities\":[]}", ev.len);
	event_release(&ev);
	sess_caps_free(&a, &cs);
	sess_caps_free(&b, &cs);
	sess_caps_store_fini(&cs);
}
END_TEST

/* The "ts" of every event: each packet's own time, whether the one
 * before had the same second, the same fraction in the other resolution,
 * the same packet time, or an earlier one; before 1970 too. */
START_TEST(event_times)
{
	static const struct {
		int64_t sec;
		uint32_t nsec;
		int nano;
		const char *ts;
	} t[] = {
		{ 0, 0, 0, "1970-01-01T00:00:00.000000Z" },
		{ 0, 999999999, 1, "1970-01-01T00:00:00.999999999Z" },
		{ 0, 999999999, 0, "1970-01-01T00:00:00.999999Z" },
		{ -1, 1000, 0, "1969-12-31T23:59:59.000001Z" },
		{ -1, 1000, 0, "1969-12-31T23:59:59.000001Z" },
		{ 1767225600, 5, 1, "2026-01-01T00:00:00.000000005Z" },
		{ 1767225600, 1999, 0, "2026-01-01T00:00:00.000001Z" },
		{ 1767225600, 1999, 1, "2026-01-01T00:00:00.000001999Z" },
		{ -1, 1000, 0, "1969-12-31T23:59:59.000001Z" },
	};
	const size_t n = sizeof(t) / sizeof(t[0]);
	struct sess_config cfg;
	struct out_options oo = { .format = OUT_NDJSON };
	struct tcp_callbacks cb;
	struct tcp_flow_info info;
	struct tcp_close_info ci;
	char *buf = NULL, *p;
	size_t blen = 0, i = 0, off = 0;
	FILE *fp = open_memstream(&buf, &blen);
	struct output *out = out_new(fp, &oo);
	struct sess_engine *e;
	void *flow;

	sess_config_default(&cfg);
	e = sess_engine_new(&cfg, out);
	sess_engine_tcp_callbacks(&cb);
	flow_info(&info, 143);
	info.first.ts_sec = t[0].sec;
	info.first.ts_nsec = t[0].nsec;
	info.first.ts_nano = t[0].nano;
	flow = cb.on_open(e, &info);
	ck_assert_ptr_nonnull(flow);
	/* One event a packet: the greeting, then untagged OKs. */
	for (size_t k = 1; k < n; k++) {
		struct tcp_meta m = { .frame = k + 1, .ts_sec = t[k].sec,
				      .ts_nsec = t[k].nsec, .ts_nano = t[k].nano };
		static const char line[] = "* OK hi\r\n";

		cb.on_data(flow, IMT_S2C, (const uint8_t *)line, sizeof(line) - 1, off, &m);
		off += sizeof(line) - 1;
	}
	memset(&ci, 0, sizeof(ci));
	ci.reason = TCP_CLOSE_FIN;
	ci.last = info.first;
	ci.last.frame = n + 1;
	ci.bytes[1] = off;
	ci.history = "S";
	cb.on_close(flow, &ci);
	run_end(out, e, fp);
	/* session_start, then one event per packet, then session_end (at
	 * the first packet's time again). */
	for (p = strstr(buf, "\"ts\":\""); p != NULL; p = strstr(p + 1, "\"ts\":\"")) {
		const char *want = i < n ? t[i].ts : t[0].ts;
		size_t wl = strlen(want);

		ck_assert_msg(strncmp(p + 6, want, wl) == 0 && p[6 + wl] == '"',
			      "event %zu: want %s, got %.40s", i, want, p + 6);
		i++;
	}
	ck_assert_uint_eq(i, n + 1);
	free(buf);
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_test(tc, plain_session);
	tcase_add_test(tc, starttls_injection_in_one_segment);
	tcase_add_test(tc, clean_starttls);
	tcase_add_test(tc, compress_in_one_segment);
	tcase_add_test(tc, authenticate_plain_redacted);
	tcase_add_test(tc, state_table);
	tcase_add_test(tc, state_preauth_and_bye);
	tcase_add_test(tc, pipelining_judged_by_expected_state);
	tcase_add_test(tc, pipelining_failure_resets_expectation);
	tcase_add_test(tc, pairing_out_of_order);
	tcase_add_test(tc, pairing_unanswered_only_on_clean_end);
	tcase_add_test(tc, pairing_limit);
	tcase_add_test(tc, tag_reuse);
	tcase_add_test(tc, capability_tracking);
	tcase_add_test(tc, capability_literal_plus_missing);
	tcase_add_test(tc, starttls_refused_then_cleartext);
	tcase_add_test(tc, starttls_repeated);
	tcase_add_test(tc, compress_refused_replays_held);
	tcase_add_test(tc, compress_client_before_ok);
	tcase_add_test(tc, implicit_tls_port);
	tcase_add_test(tc, gap_in_cleartext_resyncs);
	tcase_add_test(tc, plaintext_after_starttls_client_first);
	tcase_add_test(tc, plaintext_after_starttls_server_first);
	tcase_add_test(tc, plaintext_after_starttls_pipelined);
	tcase_add_test(tc, plaintext_after_starttls_upstream_is_info);
	tcase_add_test(tc, injection_then_handshake_after_ok);
	tcase_add_test(tc, starttls_garbage_after_ok);
	tcase_add_test(tc, plaintext_after_starttls_at_the_end);
	tcase_add_test(tc, plaintext_after_starttls_bound);
	tcase_add_test(tc, starttls_refused_with_pipelined_command);
	tcase_add_test(tc, command_pipelined_behind_logout);
	tcase_add_test(tc, invalid_tag_answered_pairs);
	tcase_add_test(tc, starttls_offered_not_used_is_no_stripping);
	tcase_add_test(tc, starttls_word_overwritten);
	tcase_add_test(tc, unknown_response_names_and_codes);
	tcase_add_test(tc, idle_session_gives_buffers_back);
	tcase_add_test(tc, command_record_text_and_txn);
	tcase_add_test(tc, caps_shared_between_sessions);
	tcase_add_test(tc, event_times);
	tcase_add_test(tc, caps_written_as_array);
	tcase_add_test(tc, caps_set_matches_bytewise);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(session_suite());
}
