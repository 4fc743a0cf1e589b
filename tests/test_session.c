/*
 * test_session.c - the session engine, driven through the callbacks it
 * gives the TCP stage.  Each conversation is fed once in whole chunks
 * and once one byte at a time (same packets, so same frames); the NDJSON
 * written must be identical, and must hold the expected events.  The
 * stream switches (STARTTLS, COMPRESS) are where chunking bugs hide: the
 * parser pauses mid-buffer and the engine takes over the rest.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "session.h"

struct step {
	int dir;                 /* 0 client, 1 server */
	const char *data;
	size_t len;              /* 0 = strlen(data) */
};

/* Runs a conversation; split = 1 feeds every chunk byte by byte.
 * Returns the NDJSON text (caller frees). */
static char *run(const struct step *steps, size_t n, int split)
{
	struct sess_config cfg;
	struct out_options oo = { .format = OUT_NDJSON };
	struct tcp_callbacks cb;
	struct tcp_flow_info info;
	struct tcp_close_info ci;
	uint64_t off[2] = { 0, 0 };
	char *buf = NULL;
	size_t blen = 0;
	FILE *fp = open_memstream(&buf, &blen);
	struct output *out = out_new(fp, &oo);
	struct sess_engine *e;
	void *flow;

	sess_config_default(&cfg);
	e = sess_engine_new(&cfg, out);
	sess_engine_tcp_callbacks(&cb);
	memset(&info, 0, sizeof(info));
	info.client.family = info.server.family = 4;
	memcpy(info.client.addr, "\xc0\x00\x02\x0a", 4);
	memcpy(info.server.addr, "\xc6\x33\x64\x14", 4);
	info.client.port = 50000;
	info.server.port = 143;
	info.how = TCP_BY_SYN;
	info.first.frame = 1;
	info.first.ts_sec = 1767225600;
	flow = cb.on_open(e, &info);
	ck_assert_ptr_nonnull(flow);
	for (size_t i = 0; i < n; i++) {
		size_t len = steps[i].len ? steps[i].len : strlen(steps[i].data);
		struct tcp_meta m = { .frame = i + 2, .ts_sec = 1767225600 + (int64_t)i };
		enum tcp_dir d = steps[i].dir == 0 ? TCP_C2S : TCP_S2C;
		const uint8_t *p = (const uint8_t *)steps[i].data;

		if (!split) {
			cb.on_data(flow, d, p, len, off[steps[i].dir], &m);
		} else {
			for (size_t k = 0; k < len; k++)
				cb.on_data(flow, d, p + k, 1, off[steps[i].dir] + k, &m);
		}
		off[steps[i].dir] += len;
	}
	memset(&ci, 0, sizeof(ci));
	ci.reason = TCP_CLOSE_FIN;
	ci.last.frame = n + 2;
	ci.last.ts_sec = 1767225600 + (int64_t)n;
	ci.bytes[0] = off[0];
	ci.bytes[1] = off[1];
	ci.history = "ShADadFf";
	cb.on_close(flow, &ci);
	out_finish(out);
	out_free(out);
	sess_engine_free(e);
	fclose(fp);
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
static char *run_both(const struct step *steps, size_t n)
{
	char *whole = run(steps, n, 0);
	char *bytes = run(steps, n, 1);

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

#define GREETING "* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE STARTTLS AUTH=PLAIN COMPRESS=DEFLATE] ready\r\n"

START_TEST(plain_session)
{
	static const struct step s[] = {
		{ 1, GREETING, 0 },
		{ 0, "a1 LOGIN alice \"secret pw\"\r\n", 0 },
		{ 1, "a1 OK Logged in\r\n", 0 },
		{ 0, "a2 SELECT INBOX\r\na3 FETCH 1 BODY[]\r\n", 0 },
		{ 1, "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n"
		     "a2 OK [READ-WRITE] done\r\n"
		     "* 1 FETCH (UID 1 BODY[] {27}\r\nA004 OK fake\r\n* BYE fake\r\n)\r\n"
		     "a3 OK done\r\n", 0 },
		{ 0, "a4 IDLE\r\n", 0 },
		{ 1, "+ idling\r\n* 3 EXISTS\r\n", 0 },
		{ 0, "DONE\r\na5 LOGOUT\r\n", 0 },
		{ 1, "a4 OK idle done\r\n* BYE bye\r\na5 OK bye\r\n", 0 },
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
		{ 1, GREETING, 0 },
		{ 0, "a1 STARTTLS\r\na2 CAPABILITY\r\n", 0 },
		{ 1, "a1 OK Begin TLS\r\n", 0 },
		{ 0, "\x16\x03\x01\x00\x05" "hello", 10 },
		{ 1, "\x16\x03\x03\x00\x02hi", 7 },
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
		{ 1, GREETING, 0 },
		{ 0, "a1 STARTTLS\r\n", 0 },
		{ 1, "a1 OK Begin TLS\r\n", 0 },
		{ 0, "\x16\x03\x01\x00\x05" "hello", 10 },
		{ 1, "\x16\x03\x03\x00\x02hi", 7 },
		{ 0, "\x17\x03\x03\x00\x05" "AAAAA", 10 },
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
	s[0] = (struct step){ 1, "* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n", 0 };
	s[1] = (struct step){ 0, "a2 COMPRESS DEFLATE\r\n", 0 };
	s[2] = (struct step){ 1, srv, glen + ns };
	s[3] = (struct step){ 0, (const char *)c1, nc };
	s[4] = (struct step){ 1, (const char *)s2,
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
		{ 1, GREETING, 0 },
		{ 0, "a1 AUTHENTICATE PLAIN\r\n", 0 },
		{ 1, "+ \r\n", 0 },
		{ 0, "AGFsaWNlAHdvbmRlcmxhbmQ=\r\n", 0 },
		{ 1, "a1 OK Logged in\r\n", 0 },
		{ 0, "a2 LOGOUT\r\n", 0 },
		{ 1, "* BYE bye\r\na2 OK bye\r\n", 0 },
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

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_test(tc, plain_session);
	tcase_add_test(tc, starttls_injection_in_one_segment);
	tcase_add_test(tc, clean_starttls);
	tcase_add_test(tc, compress_in_one_segment);
	tcase_add_test(tc, authenticate_plain_redacted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(session_suite());
}
