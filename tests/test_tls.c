/*
 * test_tls.c - the TLS stage: key schedule against published vectors,
 * record framing fed whole, byte by byte and at every split, the key log
 * parser, hostile input, and every real sample of samples/tls/ read end
 * to end through the capture, ip and tcp stages, decrypted with its key
 * log and parsed as IMAP.
 */
#include <check.h>
#include <dirent.h>

#include "check_main.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "capture.h"
#include "imap.h"
#include "ip.h"
#include "tcp.h"
#include "tls.h"
#include "tls_int.h"
#include "fuzz/fuzz_tls.h"

/* ------------------------------------------------------------------ */
/* Helpers.                                                            */

/* Hex with optional spaces into a buffer; returns the length. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			ck_assert_uint_lt(n, cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	ck_assert_int_eq(hi, -1);
	return n;
}

/* ------------------------------------------------------------------ */
/* Published vectors.                                                  */

/*
 * TLS 1.2 PRF with SHA-256, the test vector posted to the IETF TLS list
 * (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html) and
 * used by many implementations' test suites.
 */
START_TEST(test_prf_sha256_vector)
{
	uint8_t secret[16], seed[16], want[100], got[100];

	unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35", secret, sizeof(secret));
	unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c", seed, sizeof(seed));
	unhex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
	      "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
	      "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
	      "87347b66", want, sizeof(want));
	ck_assert_int_eq(tls_prf("SHA256", secret, 16, "test label", seed, 8,
				 seed + 8, 8, got, sizeof(got)), 0);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

/*
 * RFC 8448 §3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256): the
 * traffic secrets, the keys and IVs derived from them, and the records
 * on the wire, as the RFC prints them.
 */
static const char r8448_ch_rec[] =
	"16 03 01 00 c4"
	"01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2"
	"1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01"
	"00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00"
	"0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00"
	"23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e"
	"43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00"
	"03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06"
	"04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c"
	"00 02 40 01";
static const char r8448_sh_rec[] =
	"16 03 03 00 5a 02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c"
	"d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00"
	"2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72"
	"e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";
/* EncryptedExtensions, Certificate, CertificateVerify, Finished */
static const char r8448_flight_rec[] =
	"17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f"
	"45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca"
	"07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd"
	"05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b"
	"d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e"
	"f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c"
	"7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8"
	"bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92"
	"8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70"
	"a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8"
	"94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea"
	"52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f"
	"44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89"
	"f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3"
	"6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1"
	"00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e"
	"1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84"
	"c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c"
	"f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f"
	"c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be"
	"5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6"
	"fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb"
	"56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10"
	"dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38"
	"eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f"
	"60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78"
	"40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3"
	"79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e"
	"75 0e dc 53 37 0d 2b";
static const char r8448_cfin_rec[] =
	"17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0"
	"51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c"
	"ae ac ab 68 67 d7 26 c4 05 46";
/* NewSessionTicket */
static const char r8448_nst_rec[] =
	"17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24"
	"0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a"
	"01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1"
	"70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0"
	"9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15"
	"13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77"
	"f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3"
	"47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74"
	"bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b"
	"3b 6c 67 79 b3 7b f1 59 85 68 4f";
/* application data: 00 01 02 ... 31 each way */
static const char r8448_c_app_rec[] =
	"17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea"
	"42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b"
	"62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
static const char r8448_s_app_rec[] =
	"17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc"
	"32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8"
	"fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
/* close_notify each way */
static const char r8448_c_alert_rec[] =
	"17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
static const char r8448_s_alert_rec[] =
	"17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

START_TEST(test_rfc8448_key_schedule)
{
	static const struct {
		const char *secret, *key, *iv;
	} v[] = {
		{ R8448_S_HS, "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
		  "5d 31 3e b2 67 12 76 ee 13 00 0b 30" },
		{ R8448_C_HS, "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
		  "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f" },
		{ R8448_S_AP, "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56",
		  "cf 78 2b 88 dd 83 54 9a ad f1 e9 84" },
	};
	uint8_t secret[32], want[16], got[16], rec[800], out[800], type;
	struct tls_cipher c;
	size_t n;
	long pl;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(v[i].secret, secret, sizeof(secret));
		n = unhex(v[i].key, want, sizeof(want));
		ck_assert_int_eq(tls13_expand_label("SHA256", secret, 32, "key", got, n), 0);
		ck_assert_mem_eq(got, want, n);
		n = unhex(v[i].iv, want, sizeof(want));
		ck_assert_int_eq(tls13_expand_label("SHA256", secret, 32, "iv", got, n), 0);
		ck_assert_mem_eq(got, want, n);
	}
	/* The server's first encrypted record opens with the derived key:
	 * 657 bytes of handshake, EncryptedExtensions (type 8) first. */
	memset(&c, 0, sizeof(c));
	unhex(R8448_S_HS, secret, sizeof(secret));
	ck_assert_int_eq(tls13_cipher_init(&c, tls_suite_find(0x1301), secret, 32), 0);
	n = unhex(r8448_flight_rec, rec, sizeof(rec));
	ck_assert_uint_eq(n, 679);
	pl = tls_cipher_open(&c, rec, rec + 5, n - 5, out, &type);
	ck_assert_int_eq(pl, 657);
	ck_assert_uint_eq(type, TLS_CT_HANDSHAKE);
	ck_assert_uint_eq(out[0], 8);
	ck_assert_uint_eq(c.seq, 1);
	/* The same record again under sequence number 1 must not open. */
	ck_assert_int_lt(tls_cipher_open(&c, rec, rec + 5, n - 5, out, &type), 0);
	tls_cipher_clear(&c);
}
END_TEST

static struct tls_keys *r8448_keys(int wrong_server_key)
{
	struct tls_keys *k = tls_keys_new();

	ck_assert_ptr_nonnull(k);
	r8448_add_keys(k, wrong_server_key);
	return k;
}

/* One step of a scripted exchange: bytes of one direction. */
struct step {
	enum tls_dir dir;
	uint8_t data[1200];
	size_t len;
};

/* The RFC 8448 exchange in capture order. */
static size_t r8448_script(struct step *st)
{
	const char *c1[] = { r8448_ch_rec };
	const char *s1[] = { r8448_sh_rec, r8448_flight_rec, r8448_nst_rec,
			     r8448_s_app_rec, r8448_s_alert_rec };
	const char *c2[] = { r8448_cfin_rec, r8448_c_app_rec, r8448_c_alert_rec };
	const char **parts[3] = { c1, s1, c2 };
	size_t nparts[3] = { 1, 5, 3 };

	for (int i = 0; i < 3; i++) {
		st[i].dir = i == 1 ? TLS_S2C : TLS_C2S;
		st[i].len = 0;
		for (size_t j = 0; j < nparts[i]; j++)
			st[i].len += unhex(parts[i][j], st[i].data + st[i].len,
					   sizeof(st[i].data) - st[i].len);
	}
	return 3;
}

/* Feeds the script, step `split_step` cut at `split` (0: whole; SIZE_MAX:
 * every step byte by byte), and finishes. */
static void run_script(struct tls_conn *c, const struct step *st, size_t n,
		       size_t split_step, size_t split)
{
	for (size_t i = 0; i < n; i++) {
		if (split == SIZE_MAX) {
			for (size_t j = 0; j < st[i].len; j++)
				tls_feed(c, st[i].dir, st[i].data + j, 1, NULL);
		} else if (i == split_step && split > 0 && split < st[i].len) {
			tls_feed(c, st[i].dir, st[i].data, split, NULL);
			tls_feed(c, st[i].dir, st[i].data + split, st[i].len - split, NULL);
		} else {
			tls_feed(c, st[i].dir, st[i].data, st[i].len, NULL);
		}
	}
	tls_finish(c, NULL);
}

/* The whole RFC 8448 exchange through a fresh conn with keys k (none:
 * NULL), cut as run_script() says: what it reported into *r (zeroed
 * here), its status into *s. */
static void r8448_run(const struct tls_keys *k, size_t split_step, size_t split,
		      struct tls_rec *r, struct tls_status *s)
{
	struct step st[3];
	size_t n = r8448_script(st);
	struct tls_conn *c;

	memset(r, 0, sizeof(*r));
	c = tls_conn_new(k, &tls_rec_cb, r);
	ck_assert_ptr_nonnull(c);
	run_script(c, st, n, split_step, split);
	tls_conn_status(c, s);
	tls_conn_free(c);
}

START_TEST(test_rfc8448_stream)
{
	struct step st[3];
	size_t n = r8448_script(st);
	struct tls_keys *k = r8448_keys(0);
	struct tls_rec r, r2;
	struct tls_status s, s2;
	uint8_t want[50];

	for (int i = 0; i < 50; i++)
		want[i] = (uint8_t)i;
	r8448_run(k, 0, 0, &r, &s);
	ck_assert_int_eq(s.decrypted, 1);
	ck_assert_str_eq(tls_reason_name(s.reason), "decrypted");
	ck_assert_uint_eq(s.version, TLS_V13);
	ck_assert_uint_eq(s.cipher_suite, 0x1301);
	ck_assert_uint_eq(r.plain[TLS_C2S].len, 50);
	ck_assert_mem_eq(r.plain[TLS_C2S].p, want, 50);
	ck_assert_uint_eq(r.plain[TLS_S2C].len, 50);
	ck_assert_mem_eq(r.plain[TLS_S2C].p, want, 50);
	ck_assert_str_eq(r.sni, "server");
	ck_assert_int_eq(r.hellos, 2);
	ck_assert_int_eq(r.findings[F_TLS_ALERT], 2);     /* close_notify x2 */
	ck_assert(tlog_has(&r.log, "close_notify"));
	for (int f = 0; f < F__COUNT; f++)
		if (f != F_TLS_ALERT)
			ck_assert_int_eq(r.findings[f], 0);
	ck_assert_uint_eq(s.records[TLS_C2S], 4);
	ck_assert_uint_eq(s.records[TLS_S2C], 5);
	ck_assert_uint_eq(s.opaque_bytes[0] + s.opaque_bytes[1], 0);

	/* Byte by byte, and every split of every step: the same log. */
	r8448_run(k, 0, SIZE_MAX, &r2, &s2);
	ck_assert(tlog_same(&r2.log, &r.log));
	tls_rec_free(&r2);
	for (size_t i = 0; i < n; i++) {
		for (size_t cut = 1; cut < st[i].len; cut++) {
			r8448_run(k, i, cut, &r2, &s2);
			if (!tlog_same(&r2.log, &r.log))
				ck_abort_msg("step %zu cut at %zu differs:\n%s\n---\n%s", i, cut,
					     (char *)r2.log.p, (char *)r.log.p);
			tls_rec_free(&r2);
		}
	}
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST

START_TEST(test_rfc8448_wrong_key)
{
	struct tls_keys *k = r8448_keys(1);
	struct tls_rec r;
	struct tls_status s;

	r8448_run(k, 0, 0, &r, &s);
	ck_assert_int_eq(s.decrypted, 0);
	ck_assert_str_eq(tls_reason_name(s.reason), "auth-failed");
	ck_assert_int_eq(r.findings[F_TLS_AUTH_FAILED], 1);
	/* the server direction invents nothing; the client one is fine */
	ck_assert_uint_eq(r.plain[TLS_S2C].len, 0);
	ck_assert_uint_eq(r.plain[TLS_C2S].len, 50);
	ck_assert_uint_gt(s.opaque_bytes[TLS_S2C], 0);
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST

START_TEST(test_rfc8448_no_keys)
{
	struct tls_keys *k = tls_keys_new();
	struct tls_rec r;
	struct tls_status s;

	r8448_run(k, 0, 0, &r, &s);
	ck_assert_str_eq(tls_reason_name(s.reason), "no-key");
	ck_assert_int_eq(r.findings[F_TLS_KEYS_MISSING], 1);
	ck_assert_int_eq(r.findings[F_TLS_ALERT], 0);     /* alerts are encrypted */
	ck_assert_uint_eq(r.plain[0].len + r.plain[1].len, 0);
	ck_assert_uint_eq(s.opaque_bytes[TLS_S2C], 679 + 227 + 72 + 24);
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST

/* Only the server's half: no ClientHello, nothing to look keys up by. */
START_TEST(test_no_handshake)
{
	struct step st[3];
	struct tls_keys *k = r8448_keys(0);
	struct tls_rec r;
	struct tls_conn *c;
	struct tls_status s;

	r8448_script(st);
	memset(&r, 0, sizeof(r));
	c = tls_conn_new(k, &tls_rec_cb, &r);
	/* the client's last flight alone: application data records */
	tls_feed(c, TLS_C2S, st[2].data, st[2].len, NULL);
	tls_finish(c, NULL);
	tls_conn_status(c, &s);
	ck_assert_str_eq(tls_reason_name(s.reason), "no-handshake");
	ck_assert_uint_eq(r.plain[0].len, 0);
	tls_conn_free(c);
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST

/* A gap inside one record loses that record only. */
START_TEST(test_gap_in_record)
{
	struct step st[3];
	struct tls_keys *k = r8448_keys(0);
	struct tls_rec r;
	struct tls_conn *c;
	size_t app;

	r8448_script(st);
	memset(&r, 0, sizeof(r));
	c = tls_conn_new(k, &tls_rec_cb, &r);
	tls_feed(c, TLS_C2S, st[0].data, st[0].len, NULL);
	tls_feed(c, TLS_S2C, st[1].data, st[1].len, NULL);
	/* client: Finished whole, application data cut by a 30-byte gap,
	 * then the alert */
	tls_feed(c, TLS_C2S, st[2].data, 58 + 20, NULL);
	ck_assert_int_eq(tls_gap(c, TLS_C2S, 30, NULL), 0);
	app = 58 + 72;
	tls_feed(c, TLS_C2S, st[2].data + 58 + 50, app - 58 - 50, NULL);
	tls_feed(c, TLS_C2S, st[2].data + app, st[2].len - app, NULL);
	tls_finish(c, NULL);
	ck_assert_int_eq(r.plain_gaps, 1);
	ck_assert(tlog_has(&r.log, "plain-gap 0 @0 50"));
	ck_assert_uint_eq(r.plain[TLS_C2S].len, 0);
	ck_assert_int_eq(r.findings[F_TLS_ALERT], 2);     /* the next record opened */
	ck_assert_int_eq(r.findings[F_TLS_AUTH_FAILED], 0);
	/* a gap across a record boundary gives the direction up */
	ck_assert_int_eq(tls_gap(c, TLS_S2C, 100, NULL), -1);
	tls_conn_free(c);
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST


/* A HelloRetryRequest, the client's compatibility ChangeCipherSpec
 * before the real ServerHello, then the RFC 8448 exchange. */
START_TEST(test_hello_retry)
{
	struct step st[3];
	size_t n = r8448_script(st);
	struct tls_keys *k = r8448_keys(0);
	struct tls_rec r;
	struct tls_conn *c;
	struct tls_status s;
	/* ServerHello: 0303, the HRR random, empty session id, 1301, no
	 * compression, supported_versions 0304 */
	uint8_t hrr[5 + 4 + 2 + 32 + 1 + 2 + 1 + 2 + 6] = {
		22, 3, 3, 0, 4 + 2 + 32 + 1 + 2 + 1 + 2 + 6,
		2, 0, 0, 2 + 32 + 1 + 2 + 1 + 2 + 6, 3, 3 };
	const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	size_t o = 11;

	o += unhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C",
		   hrr + o, 32);
	o += unhex("00 13 01 00 00 06 00 2b 00 02 03 04", hrr + o, sizeof(hrr) - o);
	ck_assert_uint_eq(o, sizeof(hrr));
	memset(&r, 0, sizeof(r));
	c = tls_conn_new(k, &tls_rec_cb, &r);
	tls_feed(c, TLS_C2S, st[0].data, st[0].len, NULL);
	tls_feed(c, TLS_S2C, hrr, sizeof(hrr), NULL);
	tls_conn_status(c, &s);
	ck_assert_str_eq(tls_reason_name(s.reason), "pending");
	tls_feed(c, TLS_C2S, ccs, sizeof(ccs), NULL);
	tls_feed(c, TLS_C2S, st[0].data, st[0].len, NULL);     /* second ClientHello */
	run_script(c, st + 1, n - 1, 0, 0);
	tls_conn_status(c, &s);
	ck_assert(tlog_has(&r.log, "hello 1 hello_retry_request v0304 suite 1301"));
	ck_assert_int_eq(r.hellos, 4);
	ck_assert_int_eq(s.decrypted, 1);
	ck_assert_uint_eq(r.plain[TLS_C2S].len, 50);
	ck_assert_uint_eq(r.plain[TLS_S2C].len, 50);
	tls_conn_free(c);
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST

/* Seals one TLS 1.3 record (AES-128-GCM) with the traffic secret's key
 * and IV, as a peer would, for the KeyUpdate test. */
static size_t seal13(const uint8_t *secret, uint64_t seq, uint8_t type,
		     const void *data, size_t len, uint8_t *out)
{
	uint8_t key[16], iv[12], inner[256];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	ck_assert_int_eq(tls13_expand_label("SHA256", secret, 32, "key", key, 16), 0);
	ck_assert_int_eq(tls13_expand_label("SHA256", secret, 32, "iv", iv, 12), 0);
	for (int i = 0; i < 8; i++)
		iv[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	memcpy(inner, data, len);
	inner[len] = type;
	out[0] = 23; out[1] = 3; out[2] = 3;
	out[3] = (uint8_t)((len + 1 + 16) >> 8);
	out[4] = (uint8_t)(len + 1 + 16);
	ck_assert(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, iv) > 0);
	ck_assert(EVP_EncryptUpdate(ctx, NULL, &n, out, 5) > 0);
	ck_assert(EVP_EncryptUpdate(ctx, out + 5, &n, inner, (int)len + 1) > 0);
	ck_assert(EVP_EncryptFinal_ex(ctx, out + 5 + n, &fin) > 0);
	ck_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 5 + len + 1) > 0);
	EVP_CIPHER_CTX_free(ctx);
	return 5 + len + 1 + 16;
}

START_TEST(test_key_update)
{
	struct step st[3];
	struct tls_keys *k = r8448_keys(0);
	struct tls_rec r;
	struct tls_conn *c;
	uint8_t ap[32], next[32], rec[300];
	const uint8_t ku[] = { 24, 0, 0, 1, 0 };       /* update_not_requested */
	const char after[] = "A1 NOOP\r\n";
	size_t n;

	r8448_script(st);
	unhex(R8448_C_AP, ap, sizeof(ap));
	ck_assert_int_eq(tls13_expand_label("SHA256", ap, 32, "traffic upd", next, 32), 0);
	memset(&r, 0, sizeof(r));
	c = tls_conn_new(k, &tls_rec_cb, &r);
	tls_feed(c, TLS_C2S, st[0].data, st[0].len, NULL);
	tls_feed(c, TLS_S2C, st[1].data, st[1].len, NULL);
	tls_feed(c, TLS_C2S, st[2].data, 58 + 72, NULL);   /* Finished, data */
	n = seal13(ap, 1, TLS_CT_HANDSHAKE, ku, sizeof(ku), rec);
	tls_feed(c, TLS_C2S, rec, n, NULL);
	n = seal13(next, 0, TLS_CT_APPLICATION_DATA, after, strlen(after), rec);
	tls_feed(c, TLS_C2S, rec, n, NULL);
	/* all zeros inside: authenticated, but no content type */
	n = seal13(next, 1, 0, "\0\0", 2, rec);
	tls_feed(c, TLS_C2S, rec, n, NULL);
	ck_assert_int_eq(r.findings[F_TLS_MALFORMED], 1);
	/* the old key no longer opens anything */
	n = seal13(ap, 2, TLS_CT_APPLICATION_DATA, after, strlen(after), rec);
	tls_feed(c, TLS_C2S, rec, n, NULL);
	tls_finish(c, NULL);
	ck_assert_uint_eq(r.plain[TLS_C2S].len, 50 + strlen(after));
	ck_assert_mem_eq(r.plain[TLS_C2S].p + 50, after, strlen(after));
	ck_assert_int_eq(r.findings[F_TLS_AUTH_FAILED], 1);
	tls_conn_free(c);
	tls_rec_free(&r);
	tls_keys_free(k);
}
END_TEST

/* Every fuzz seed and every kept crash input of the TLS harness: whole
 * and chunked runs agree (fz_tls_one aborts otherwise), no crash. */
START_TEST(test_fuzz_inputs)
{
	static const char *const dirs[] = { "tests/fuzz/seeds/fuzz_tls", "tests/fuzz/regressions" };
	int files = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		ck_assert_msg(d != NULL, "cannot open %s (run from the repository root)", dirs[i]);
		while ((e = readdir(d)) != NULL) {
			char path[512];
			uint8_t *data;
			size_t len;

			if (e->d_name[0] == '.' || (i == 1 && strncmp(e->d_name, "tls-", 4) != 0))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			data = imt_read_file(path, &len);
			ck_assert_msg(data != NULL, "cannot read %s", path);
			fz_tls_one(data, len);
			free(data);
			files++;
		}
		closedir(d);
	}
	ck_assert_int_gt(files, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hostile input.                                                      */

START_TEST(test_record_too_long)
{
	struct tls_rec r;
	struct tls_conn *c = tls_conn_new(NULL, &tls_rec_cb, &r);
	uint8_t *big = calloc(1, 5 + 65535);
	const uint8_t alert[] = { 21, 3, 3, 0, 2, 1, 0 };
	struct tls_status s;

	memset(&r, 0, sizeof(r));
	big[0] = 23;
	big[1] = 3;
	big[2] = 3;
	big[3] = 0xff;
	big[4] = 0xff;
	for (size_t i = 0; i < 5 + 65535; i += 1000)
		tls_feed(c, TLS_S2C, big + i, 5 + 65535 - i < 1000 ? 5 + 65535 - i : 1000, NULL);
	ck_assert_int_eq(tls_feed(c, TLS_S2C, alert, sizeof(alert), NULL), 0);
	tls_finish(c, NULL);
	tls_conn_status(c, &s);
	ck_assert_int_eq(r.findings[F_TLS_RECORD_TOO_LONG], 1);
	ck_assert_int_eq(r.findings[F_TLS_ALERT], 1);     /* framing kept */
	ck_assert_uint_eq(s.records[TLS_S2C], 2);
	ck_assert_uint_eq(s.opaque_bytes[TLS_S2C], 5 + 65535);
	tls_conn_free(c);
	free(big);
	tls_rec_free(&r);
}
END_TEST

START_TEST(test_handshake_never_ends)
{
	struct tls_rec r;
	struct tls_conn *c = tls_conn_new(NULL, &tls_rec_cb, &r);
	uint8_t rec[5 + 4 + 1000];

	memset(&r, 0, sizeof(r));
	memset(rec, 0x41, sizeof(rec));
	rec[0] = 22; rec[1] = 3; rec[2] = 1; rec[3] = (1004 >> 8); rec[4] = 1004 & 0xff;
	rec[5] = 11; rec[6] = 0xff; rec[7] = 0xff; rec[8] = 0xff;  /* 16 MiB certificate */
	for (int i = 0; i < 50; i++) {
		tls_feed(c, TLS_S2C, rec, i == 0 ? sizeof(rec) : 5, NULL);
		if (i > 0)
			tls_feed(c, TLS_S2C, rec + 9, 1000, NULL);
		rec[3] = 1000 >> 8;
		rec[4] = 1000 & 0xff;
	}
	tls_finish(c, NULL);
	ck_assert_int_eq(r.findings[F_TLS_HANDSHAKE_TOO_LONG], 1);
	ck_assert_int_eq(r.findings[F_TLS_TRUNCATED], 1);
	ck_assert(tlog_has(&r.log, "handshake message cut short: 50000 of 16777215"));
	tls_conn_free(c);
	tls_rec_free(&r);
}
END_TEST

/* TLS 1.2 shape: hellos, ChangeCipherSpec, then bytes that are no record. */
START_TEST(test_garbage_after_ccs)
{
	struct step st[3];
	struct tls_rec r;
	struct tls_conn *c;
	/* a TLS 1.2 ServerHello: version 0303, random, empty session id,
	 * suite c02f, no compression, no extensions */
	uint8_t sh[5 + 4 + 38] = { 22, 3, 3, 0, 42, 2, 0, 0, 38, 3, 3 };
	const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
	struct tls_status s;

	r8448_script(st);
	sh[5 + 4 + 2 + 32] = 0;
	sh[5 + 4 + 2 + 33] = 0xc0;
	sh[5 + 4 + 2 + 34] = 0x2f;
	memset(&r, 0, sizeof(r));
	c = tls_conn_new(NULL, &tls_rec_cb, &r);
	tls_feed(c, TLS_C2S, st[0].data, st[0].len, NULL);
	ck_assert_int_eq(tls_feed(c, TLS_S2C, sh, sizeof(sh), NULL), 0);
	ck_assert_int_eq(tls_feed(c, TLS_S2C, ccs, sizeof(ccs), NULL), 0);
	ck_assert_int_eq(tls_feed(c, TLS_S2C, (const uint8_t *)garbage, strlen(garbage), NULL), -1);
	ck_assert_int_eq(tls_feed(c, TLS_S2C, (const uint8_t *)garbage, strlen(garbage), NULL), -1);
	tls_finish(c, NULL);
	tls_conn_status(c, &s);
	ck_assert_int_eq(r.sh_version, TLS_V12);
	ck_assert_int_eq(r.sh_suite, 0xc02f);
	ck_assert_int_eq(r.findings[F_TLS_KEYS_MISSING], 1);
	ck_assert_int_eq(r.findings[F_TLS_MALFORMED], 1);
	ck_assert_str_eq(tls_reason_name(s.reason), "not-tls");
	ck_assert_uint_eq(s.tls_bytes[TLS_S2C], sizeof(sh) + sizeof(ccs) + 2 * strlen(garbage));
	ck_assert_uint_eq(r.plain[0].len + r.plain[1].len, 0);
	tls_conn_free(c);
	tls_rec_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The key log parser.                                                 */

struct warn_log {
	struct tlog text;
	int n;
};

static void collect_warn(void *user, const char *file, unsigned long line, const char *why)
{
	struct warn_log *w = user;

	w->n++;
	tlog_printf(&w->text, "%s:%lu: %s\n", strrchr(file, '/') ? strrchr(file, '/') + 1 : file,
		   line, why);
}

START_TEST(test_keylog_lines)
{
	char path[] = "/tmp/imt-keylog-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp;
	struct tls_keys *k = tls_keys_new();
	struct warn_log w;
	const uint8_t *sec;
	uint8_t random[32];
	char longline[3000];
	long n;

	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	fprintf(fp,
		"# TLS secrets log file\n"                                          /* 1 */
		"\n"                                                                /* 2 */
		"CLIENT_RANDOM " R8448_CLIENT_RANDOM " %s\r\n"                      /* 3 */
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " R8448_CLIENT_RANDOM " " R8448_S_HS "\n" /* 4 */
		"EXPORTER_SECRET " R8448_CLIENT_RANDOM " " R8448_S_HS "\n"          /* 5: ignored */
		"CLIENT_RANDOM abc def\n"                                           /* 6 */
		"GARBAGE\n"                                                         /* 7 */
		"CLIENT_RANDOM " R8448_CLIENT_RANDOM " 0011\n"                      /* 8 */
		"CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " zz%.62s\n"         /* 9 */
		"%s\n"                                                              /* 10 */
		"CLIENT_TRAFFIC_SECRET_0 " R8448_CLIENT_RANDOM " " R8448_C_AP " x\n" /* 11 */
		"  CLIENT_TRAFFIC_SECRET_0\t" R8448_CLIENT_RANDOM " " R8448_C_AP "\n", /* 12 */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		"202122232425262728292a2b2c2d2e2f", R8448_C_AP, longline);
	fclose(fp);
	memset(&w, 0, sizeof(w));
	n = tls_keys_load_file(k, path, collect_warn, &w);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(w.n, 6);
	ck_assert_ptr_nonnull(strstr((char *)w.text.p, ":6: the client random is not 64 hex digits"));
	ck_assert_ptr_nonnull(strstr((char *)w.text.p, ":7: not of the form"));
	ck_assert_ptr_nonnull(strstr((char *)w.text.p, ":8: the master secret is not 96 hex digits"));
	ck_assert_ptr_nonnull(strstr((char *)w.text.p, ":9: not hexadecimal"));
	ck_assert_ptr_nonnull(strstr((char *)w.text.p, ":10: line too long"));
	ck_assert_ptr_nonnull(strstr((char *)w.text.p, ":11: not of the form"));
	/* no secret in any message */
	ck_assert_ptr_null(strstr((char *)w.text.p, "9e40646c"));
	unhex(R8448_CLIENT_RANDOM, random, sizeof(random));
	ck_assert_uint_eq(tls_keys_find(k, random, TLS_SEC_MASTER, &sec), 48);
	ck_assert_uint_eq(sec[47], 0x2f);
	ck_assert_uint_eq(tls_keys_find(k, random, TLS_SEC_S_HS, &sec), 32);
	ck_assert_uint_eq(tls_keys_find(k, random, TLS_SEC_C_AP, &sec), 32);
	ck_assert_uint_eq(tls_keys_find(k, random, TLS_SEC_C_HS, &sec), 0);
	random[0] ^= 1;
	ck_assert_uint_eq(tls_keys_find(k, random, TLS_SEC_MASTER, &sec), 0);
	ck_assert_uint_eq(tls_keys_count(k), 1);
	unlink(path);
	/* unreadable: an error, errno set */
	errno = 0;
	ck_assert_int_eq(tls_keys_load_file(k, path, collect_warn, &w), -1);
	ck_assert_int_eq(errno, ENOENT);
	tlog_free(&w.text);
	tls_keys_free(k);
}
END_TEST

/* Many sessions: the index grows and every one is still found. */
START_TEST(test_keylog_many)
{
	struct tls_keys *k = tls_keys_new();
	char line[256];
	uint8_t random[32];
	const uint8_t *sec;

	for (unsigned i = 0; i < 5000; i++) {
		snprintf(line, sizeof(line), "CLIENT_RANDOM %056x%08x %096x", 0u, i * 2654435761u, i);
		ck_assert_int_eq(tls_keys_add_line(k, line, strlen(line), "x", i, NULL, NULL), 1);
	}
	ck_assert_uint_eq(tls_keys_count(k), 5000);
	for (unsigned i = 0; i < 5000; i++) {
		uint32_t v = i * 2654435761u;

		memset(random, 0, sizeof(random));
		random[28] = (uint8_t)(v >> 24);
		random[29] = (uint8_t)(v >> 16);
		random[30] = (uint8_t)(v >> 8);
		random[31] = (uint8_t)v;
		ck_assert_uint_eq(tls_keys_find(k, random, TLS_SEC_MASTER, &sec), 48);
		ck_assert_uint_eq(sec[47], (uint8_t)i);
	}
	tls_keys_free(k);
}
END_TEST


/* ------------------------------------------------------------------ */
/* The real samples, end to end: capture -> ip -> tcp -> tls -> IMAP.  */

#define SAMPLES "samples/tls/"

/* What a sample must show.  Every flow of it is decrypted (or, for the
 * flows listed in `keyless`, reported without keys), and its decrypted
 * streams parse as IMAP: the client's commands each get a tagged OK. */
struct sample {
	const char *name;
	const char *pcap;        /* NULL: NAME.pcap */
	uint16_t version, suite; /* suite 0: any */
	int starttls;            /* TLS starts after STARTTLS */
	int compress;            /* COMPRESS DEFLATE inside TLS */
	int flows;
	int resumed;             /* flows whose ServerHello resumed */
	int keyless;             /* flows the key log has no keys for */
	int old_version;
	const char *commands;    /* command names every flow sends, ',' */
};

#define CURL_CMDS "CAPABILITY,AUTHENTICATE,SELECT,UID FETCH,LOGOUT"
#define IMAPLIB_CMDS "LOGIN,SELECT,FETCH,NOOP,LOGOUT"

static const struct sample samples[] = {
	{ "curl-tls13-aes128gcm-imaps", NULL, TLS_V13, 0x1301, 0, 0, 1, 0, 0, 0, CURL_CMDS },
	{ "curl-tls13-aes128gcm-imaps", "curl-tls13-aes128gcm-imaps-dsb.pcapng",
	  TLS_V13, 0x1301, 0, 0, 1, 0, 0, 0, CURL_CMDS },
	{ "curl-tls13-aes256gcm-starttls", NULL, TLS_V13, 0x1302, 1, 0, 1, 0, 0, 0, CURL_CMDS },
	{ "curl-tls13-chacha20-imaps", NULL, TLS_V13, 0x1303, 0, 0, 1, 0, 0, 0, CURL_CMDS },
	{ "imaplib-tls13-starttls", NULL, TLS_V13, 0, 1, 0, 1, 0, 0, 0, IMAPLIB_CMDS },
	{ "imaplib-tls13-resumed-imaps", NULL, TLS_V13, 0, 0, 0, 2, 1, 0, 0, IMAPLIB_CMDS },
	{ "curl-tls12-ecdhe-aes128gcm-imaps", NULL, TLS_V12, 0xc02f, 0, 0, 1, 0, 0, 0, CURL_CMDS },
	{ "curl-tls12-ecdhe-chacha20-starttls", NULL, TLS_V12, 0xcca8, 1, 0, 1, 0, 0, 0, CURL_CMDS },
	{ "imaplib-tls12-dhe-aes256gcm-imaps", NULL, TLS_V12, 0x009f, 0, 0, 1, 0, 0, 0, IMAPLIB_CMDS },
	{ "imaplib-tls12-ecdhe-aes256cbc-sha384-etm-imaps", NULL, TLS_V12, 0xc028, 0, 0, 1, 0, 0, 0, IMAPLIB_CMDS },
	{ "imaplib-tls12-ecdhe-aes128cbc-sha1-mte-starttls", NULL, TLS_V12, 0xc013, 1, 0, 1, 0, 0, 0, IMAPLIB_CMDS },
	{ "imaplib-tls12-rsa-aes256cbc-sha256-imaps", NULL, TLS_V12, 0x003d, 0, 0, 1, 0, 0, 0, IMAPLIB_CMDS },
	{ "imaplib-tls12-resumed-imaps", NULL, TLS_V12, 0xc030, 0, 0, 2, 1, 0, 0, IMAPLIB_CMDS },
	{ "imaplib-tls10-ecdhe-aes128cbc-sha-imaps", NULL, TLS_V10, 0xc013, 0, 0, 1, 0, 0, 1, IMAPLIB_CMDS },
	{ "rawimap-tls13-compress-imaps", NULL, TLS_V13, 0, 0, 1, 1, 0, 0, 0,
	  "LOGIN,COMPRESS,SELECT,FETCH,NOOP,LOGOUT" },
	{ "imaplib-tls13-partial-keys-imaps", NULL, TLS_V13, 0, 0, 0, 2, 0, 1, 0, IMAPLIB_CMDS },
};

#define MAX_FLOWS 4
#define MAX_CHUNKS 512

/* One TCP flow: the bytes before TLS (STARTTLS), the TLS bytes in
 * capture order, and what the stage made of them. */
struct flow {
	const struct sample *sm;
	int tls_on[2];
	struct tlog pre[2];
	struct tlog raw[2];       /* TLS bytes per direction */
	struct { int dir; size_t off, len; } chunk[MAX_CHUNKS];
	size_t nchunks;
	struct tls_conn *tls;
	struct tls_rec r;
	struct tls_status st;
};

struct run {
	const struct sample *sm;
	const struct tls_keys *keys;
	struct ip_decoder *ip;
	struct tcp_reasm *tcp;
	struct flow flows[MAX_FLOWS];
	int nflows;
};

static void *s_open(void *user, const struct tcp_flow_info *info)
{
	struct run *rn = user;
	struct flow *f;

	(void)info;
	ck_assert_int_lt(rn->nflows, MAX_FLOWS);
	f = &rn->flows[rn->nflows++];
	memset(f, 0, sizeof(*f));
	f->sm = rn->sm;
	f->tls_on[0] = f->tls_on[1] = !rn->sm->starttls;
	f->tls = tls_conn_new(rn->keys, &tls_rec_cb, &f->r);
	ck_assert_ptr_nonnull(f->tls);
	return f;
}

/* STARTTLS: the TLS bytes start after the client's "STARTTLS" line and
 * after the server's tagged answer to it (Dovecot: "OK Begin TLS"). */
static size_t starttls_cut(struct flow *f, int dir)
{
	const char *p = (const char *)f->pre[dir].p, *q;

	if (p == NULL)
		return 0;
	q = strstr(p, dir == TLS_C2S ? " STARTTLS\r\n" : " OK Begin TLS");
	if (q == NULL || (q = strstr(q, "\r\n")) == NULL)
		return 0;
	return (size_t)(q + 2 - p);
}

static void s_tls_bytes(struct flow *f, int dir, const uint8_t *data, size_t len,
			const struct tcp_meta *m)
{
	if (len == 0)
		return;
	ck_assert_uint_lt(f->nchunks, MAX_CHUNKS);
	f->chunk[f->nchunks].dir = dir;
	f->chunk[f->nchunks].off = f->raw[dir].len;
	f->chunk[f->nchunks++].len = len;
	tlog_add(&f->raw[dir], data, len);
	tls_feed(f->tls, (enum tls_dir)dir, data, len, m);
}

static int s_data(void *flow, enum imt_dir dir, const uint8_t *data, size_t len,
		  uint64_t offset, const struct tcp_meta *m)
{
	struct flow *f = flow;
	size_t cut, had;

	(void)offset;
	if (f->tls_on[dir]) {
		s_tls_bytes(f, dir, data, len, m);
		return 0;
	}
	had = f->pre[dir].len;
	tlog_add(&f->pre[dir], data, len);
	cut = starttls_cut(f, dir);
	if (cut == 0)
		return 0;
	f->tls_on[dir] = 1;
	ck_assert_uint_ge(cut, had);
	s_tls_bytes(f, dir, data + (cut - had), len - (cut - had), m);
	f->pre[dir].len = cut;
	return 0;
}

static void s_gap(void *flow, enum imt_dir dir, uint64_t offset, uint64_t bytes,
		  const struct tcp_meta *m)
{
	(void)flow; (void)dir; (void)offset; (void)bytes; (void)m;
	ck_abort_msg("the samples have no gaps");
}

static void s_tcp_finding(void *flow, const struct imt_finding_report *f,
			  const struct tcp_meta *m)
{
	(void)flow; (void)m;
	/* curl closes with a reset when the server's close_notify and FIN
	 * come after it stopped reading */
	if (f->id != F_TCP_RESET)
		ck_abort_msg("tcp finding %s in a sample", imt_finding_info(f->id)->id);
}

static void s_close(void *flow, const struct tcp_close_info *ci)
{
	struct flow *f = flow;

	(void)ci;
	tls_finish(f->tls, NULL);
	tls_conn_status(f->tls, &f->st);
}

static void s_segment(void *user, const struct ip_segment *seg)
{
	struct run *rn = user;

	tcp_reasm_feed(rn->tcp, seg);
}

static void s_ip_finding(void *user, const struct imt_finding_report *f)
{
	(void)user;
	ck_abort_msg("ip finding %s in a sample", imt_finding_info(f->id)->id);
}

static int s_packet(void *user, const struct cap_packet *pkt)
{
	struct run *rn = user;

	return ip_decoder_feed(rn->ip, pkt) != 0;
}

/* Reads a sample through the capture, ip and tcp stages into rn. */
static void read_sample(struct run *rn, const struct sample *sm, const struct tls_keys *keys)
{
	static const uint16_t ports[] = { 10144, 10993 };
	struct imt_limits lim;
	struct ip_callbacks icb = { s_segment, s_ip_finding };
	struct cap_callbacks ccb = { .on_packet = s_packet };
	struct tcp_callbacks tcb = { .on_open = s_open, .on_data = s_data, .on_gap = s_gap,
				     .on_finding = s_tcp_finding, .on_close = s_close };
	struct tcp_config tcfg = { ports, 2 };
	struct cap_reader *cap;
	char path[256];

	memset(rn, 0, sizeof(*rn));
	rn->sm = sm;
	rn->keys = keys;
	imt_limits_default(&lim);
	rn->ip = ip_decoder_new(&lim, &icb, rn);
	rn->tcp = tcp_reasm_new(&lim, &tcfg, &tcb, rn);
	cap = cap_reader_new(NULL, &ccb, rn);
	ck_assert(rn->ip != NULL && rn->tcp != NULL && cap != NULL);
	snprintf(path, sizeof(path), SAMPLES "%s", sm->pcap);
	if (sm->pcap == NULL)
		snprintf(path, sizeof(path), SAMPLES "%s.pcap", sm->name);
	ck_assert_msg(cap_read_file(cap, path) == CAP_OK, "%s: %s", path,
		      cap_reader_errmsg(cap));
	tcp_reasm_finish(rn->tcp);
	cap_reader_free(cap);
	ip_decoder_free(rn->ip);
	tcp_reasm_free(rn->tcp);
}

static void free_run(struct run *rn)
{
	for (int i = 0; i < rn->nflows; i++) {
		struct flow *f = &rn->flows[i];

		tls_conn_free(f->tls);
		tls_rec_free(&f->r);
		for (int d = 0; d < 2; d++) {
			tlog_free(&f->pre[d]);
			tlog_free(&f->raw[d]);
		}
	}
}

/* The IMAP view of one decrypted direction. */
struct imap_view {
	struct tlog names;        /* ",NAME" per command, in order */
	char tags[64][16];
	int ntags;
	int tagged_ok, tagged_other, untagged, findings;
	int greeting;            /* the first element is "* OK" */
	int elements;
};

static void v_element(void *user, const struct imap_element *el)
{
	struct imap_view *v = user;

	if (v->elements++ == 0)
		v->greeting = el->kind == IMAP_EL_UNTAGGED && strcmp(el->name, "OK") == 0;
	switch (el->kind) {
	case IMAP_EL_COMMAND:
		tlog_printf(&v->names, ",%s", el->name);
		if (v->ntags < 64)
			snprintf(v->tags[v->ntags++], 16, "%.*s", (int)el->tag_len, el->tag);
		break;
	case IMAP_EL_TAGGED:
		if (strcmp(el->name, "OK") == 0)
			v->tagged_ok++;
		else
			v->tagged_other++;
		break;
	case IMAP_EL_UNTAGGED:
		v->untagged++;
		break;
	default:
		break;
	}
}

static void v_finding(void *user, const struct imt_finding_report *f)
{
	struct imap_view *v = user;

	(void)f;
	v->findings++;
}

static void parse_imap(enum imap_side side, const uint8_t *p, size_t len,
		       struct imap_view *v)
{
	struct imt_limits lim;
	struct imap_callbacks cb = { v_element, NULL, NULL, v_finding, NULL };
	struct imap_parser *ip;

	imt_limits_default(&lim);
	ip = imap_parser_new(side, &lim, &cb, v);
	ck_assert_ptr_nonnull(ip);
	ck_assert_uint_eq(imap_parser_feed(ip, p, len), len);
	ck_assert_int_eq(imap_parser_finish(ip), 0);
	imap_parser_free(ip);
}

/* Raw DEFLATE (RFC 4978) of p into out. */
static void inflate_raw(const uint8_t *p, size_t len, struct tlog *out)
{
	z_stream z;
	uint8_t tmp[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, -15), Z_OK);
	z.next_in = (uint8_t *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		rc = inflate(&z, Z_SYNC_FLUSH);
		ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR,
			      "inflate: %d", rc);
		tlog_add(out, tmp, sizeof(tmp) - z.avail_out);
	} while (z.avail_in > 0 && rc == Z_OK);
	ck_assert_uint_eq(z.avail_in, 0);
	inflateEnd(&z);
}

/* The plaintext after the line that starts with `after` (COMPRESS's
 * command line or its tagged OK), inflated, replaces the compressed tail. */
static void decompress_tail(struct tlog *b, const char *after)
{
	const char *p = strstr((const char *)b->p, after), *e;
	struct tlog out;
	size_t keep;

	ck_assert_msg(p != NULL, "no \"%s\" in the decrypted stream", after);
	e = strstr(p, "\r\n");
	ck_assert_ptr_nonnull(e);
	keep = (size_t)(e + 2 - (const char *)b->p);
	memset(&out, 0, sizeof(out));
	tlog_add(&out, b->p, keep);
	inflate_raw(b->p + keep, b->len - keep, &out);
	tlog_free(b);
	*b = out;
}

static void check_flow(const struct sample *sm, struct flow *f, int idx)
{
	struct imap_view cv, sv;
	struct tlog cp, sp;
	char want[128], *tok, *save;

	ck_assert_msg(f->r.hellos >= 2, "%s flow %d: hellos %d", sm->name, idx, f->r.hellos);
	ck_assert_uint_eq(f->st.version, sm->version);
	if (sm->suite != 0)
		ck_assert_uint_eq(f->st.cipher_suite, sm->suite);
	ck_assert_str_eq(f->r.sni, "localhost");
	ck_assert_int_eq(f->r.findings[F_TLS_OLD_VERSION], sm->old_version);
	ck_assert_int_eq(f->r.findings[F_TLS_AUTH_FAILED], 0);
	ck_assert_int_eq(f->r.findings[F_TLS_MALFORMED], 0);
	ck_assert_int_eq(f->r.findings[F_TLS_TRUNCATED], 0);
	if (sm->keyless && idx == sm->flows - 1) {
		ck_assert_str_eq(tls_reason_name(f->st.reason), "no-key");
		ck_assert_int_eq(f->r.findings[F_TLS_KEYS_MISSING], 1);
		ck_assert_uint_eq(f->r.plain[0].len + f->r.plain[1].len, 0);
		return;
	}
	ck_assert_msg(f->st.decrypted, "%s flow %d: %s", sm->name, idx,
		      tls_reason_name(f->st.reason));
	ck_assert_uint_eq(f->st.opaque_bytes[0] + f->st.opaque_bytes[1], 0);
	ck_assert_int_eq(f->r.findings[F_TLS_KEYS_MISSING], 0);
	/* close_notify from the server at least */
	ck_assert_int_ge(f->r.findings[F_TLS_ALERT], 1);
	if (sm->resumed && idx == 1)
		ck_assert_int_eq(f->r.resumed, 1);
	else
		ck_assert_int_eq(f->r.resumed, 0);
	memset(&cp, 0, sizeof(cp));
	memset(&sp, 0, sizeof(sp));
	tlog_add(&cp, f->r.plain[TLS_C2S].p, f->r.plain[TLS_C2S].len);
	tlog_add(&sp, f->r.plain[TLS_S2C].p, f->r.plain[TLS_S2C].len);
	if (sm->compress) {
		decompress_tail(&cp, "c2 COMPRESS DEFLATE");
		decompress_tail(&sp, "c2 OK");
	}
	memset(&cv, 0, sizeof(cv));
	memset(&sv, 0, sizeof(sv));
	parse_imap(IMAP_SIDE_CLIENT, cp.p, cp.len, &cv);
	parse_imap(IMAP_SIDE_SERVER, sp.p, sp.len, &sv);
	/* implicit TLS: the greeting is inside; STARTTLS: it was before */
	ck_assert_int_eq(sv.greeting, !sm->starttls);
	ck_assert_int_eq(cv.findings + sv.findings, 0);
	ck_assert_int_gt(cv.ntags, 3);
	ck_assert_int_eq(sv.tagged_ok, cv.ntags);
	ck_assert_int_eq(sv.tagged_other, 0);
	for (int i = 0; i < cv.ntags; i++) {
		char line[32];

		snprintf(line, sizeof(line), "\r\n%s OK", cv.tags[i]);
		ck_assert_msg(strstr((char *)sp.p, line) != NULL, "%s: no tagged OK for %s",
			      sm->name, cv.tags[i]);
	}
	snprintf(want, sizeof(want), "%s", sm->commands);
	for (tok = strtok_r(want, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char needle[40];

		snprintf(needle, sizeof(needle), ",%s", tok);
		ck_assert_msg(strstr((char *)cv.names.p, needle) != NULL,
			      "%s: command %s not seen in %s", sm->name, tok, (char *)cv.names.p);
	}
	tlog_free(&cv.names);
	tlog_free(&sv.names);
	tlog_free(&cp);
	tlog_free(&sp);
}

START_TEST(test_samples)
{
	const struct sample *sm = &samples[_i];
	struct tls_keys *keys = tls_keys_new();
	struct run rn;
	char path[256];

	snprintf(path, sizeof(path), SAMPLES "%s.keylog", sm->name);
	ck_assert_msg(tls_keys_load_file(keys, path, NULL, NULL) > 0, "%s", path);
	read_sample(&rn, sm, keys);
	ck_assert_int_eq(rn.nflows, sm->flows);
	for (int i = 0; i < rn.nflows; i++) {
		struct flow *f = &rn.flows[i];
		struct tls_rec r2;
		struct tls_conn *c;

		/* IMT_TLS_DUMP=1: show what the stage made of each flow */
		if (getenv("IMT_TLS_DUMP") != NULL)
			fprintf(stderr, "== %s flow %d: %s, c2s %zu plaintext bytes, "
				"s2c %zu\n%s\n", sm->name, i, tls_reason_name(f->st.reason),
				f->r.plain[0].len, f->r.plain[1].len, (char *)f->r.log.p);
		check_flow(sm, f, i);
		/* The same TLS bytes one at a time, in capture order: the same
		 * plaintext, hellos and findings. */
		memset(&r2, 0, sizeof(r2));
		c = tls_conn_new(keys, &tls_rec_cb, &r2);
		for (size_t k = 0; k < f->nchunks; k++)
			for (size_t j = 0; j < f->chunk[k].len; j++)
				tls_feed(c, (enum tls_dir)f->chunk[k].dir,
					 f->raw[f->chunk[k].dir].p + f->chunk[k].off + j, 1, NULL);
		tls_finish(c, NULL);
		ck_assert(tlog_same(&r2.log, &f->r.log));
		tls_conn_free(c);
		tls_rec_free(&r2);
	}
	free_run(&rn);
	tls_keys_free(keys);
}
END_TEST

static void tls_samples_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_samples, 0, (int)(sizeof(samples) / sizeof(samples[0])));
}

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_prf_sha256_vector);
	tcase_add_test(tc, test_rfc8448_key_schedule);
	tcase_add_test(tc, test_rfc8448_stream);
	tcase_add_test(tc, test_rfc8448_wrong_key);
	tcase_add_test(tc, test_rfc8448_no_keys);
	tcase_add_test(tc, test_no_handshake);
	tcase_add_test(tc, test_gap_in_record);
	tcase_add_test(tc, test_hello_retry);
	tcase_add_test(tc, test_key_update);
	tcase_add_test(tc, test_fuzz_inputs);
	tcase_add_test(tc, test_record_too_long);
	tcase_add_test(tc, test_handshake_never_ends);
	tcase_add_test(tc, test_garbage_after_ccs);
	tcase_add_test(tc, test_keylog_lines);
	tcase_add_test(tc, test_keylog_many);
	tls_samples_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(tls_suite());
}
