/*
 * fuzz_tls.h - shared by the TLS stage's fuzz harness and by
 * tests/test_tls.c: a recorder that writes everything the stage reports
 * as text (so that two runs compare byte for byte), the key store the
 * harness decrypts with, and one fuzz run.
 *
 * Input layout: byte 0 seeds the chunk sizes, byte 1 holds options (bit
 * 0: no keys), the rest is a script of segments, each a 2-byte big-endian
 * header (bit 15: server to client; bits 0-14: length) and its bytes (the
 * last one may be cut short).  The script is fed twice, each segment
 * whole and then in fuzzed chunks, and the two records must agree, since
 * the stage promises the same callbacks however the stream is cut.  The
 * keys are RFC 8448's and those of the key logs in samples/tls/ (read from the
 * repository root), so seeds made from those exchanges decrypt.
 */
#ifndef IMT_FUZZ_TLS_H
#define IMT_FUZZ_TLS_H

#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tls.h"

/* A growing byte buffer; out of memory aborts (tests and fuzzing only). */
struct tlog {
	uint8_t *p;
	size_t len, alloc;
};

static void tlog_add(struct tlog *b, const void *data, size_t len)
{
	if (mem_grow(&b->p, &b->alloc, b->len + len + 1, 1, 256, SIZE_MAX) != 0)
		abort();
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
}

__attribute__((format(printf, 2, 3)))
static void tlog_printf(struct tlog *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		tlog_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The log holds plaintext (NUL bytes included): search all of it. */
static int tlog_has(const struct tlog *b, const char *s)
{
	return b->p != NULL && memmem(b->p, b->len, s, strlen(s)) != NULL;
}

static int tlog_same(const struct tlog *a, const struct tlog *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static void tlog_free(struct tlog *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Everything the stage said. */
struct tls_rec {
	struct tlog log;
	struct tlog plain[2];
	int findings[F__COUNT];
	int hellos, resumed, plain_gaps;
	uint16_t sh_version, sh_suite;
	char sni[64];
};

static void tls_rec_plain(void *user, enum tls_dir dir, const uint8_t *data, size_t len,
			  const struct tls_record_info *ri, const struct tcp_meta *m)
{
	struct tls_rec *r = user;

	(void)m;
	tlog_printf(&r->log, "plain %d tls@%llu plain@%llu seq %llu len %zu\n", dir,
		    (unsigned long long)ri->tls_offset, (unsigned long long)ri->plain_offset,
		    (unsigned long long)ri->seq, len);
	if (ri->plain_offset != r->plain[dir].len)
		abort();
	tlog_add(&r->plain[dir], data, len);
	tlog_add(&r->log, data, len);
	tlog_add(&r->log, "\n", 1);
}

static void tls_rec_plain_gap(void *user, enum tls_dir dir, uint64_t off, uint64_t bytes,
			      const struct tcp_meta *m)
{
	struct tls_rec *r = user;

	(void)m;
	r->plain_gaps++;
	tlog_printf(&r->log, "plain-gap %d @%llu %llu\n", dir, (unsigned long long)off,
		    (unsigned long long)bytes);
}

static void tls_rec_hello(void *user, enum tls_dir dir, const struct tls_hello_info *hi,
			  const struct tcp_meta *m)
{
	struct tls_rec *r = user;

	(void)m;
	r->hellos++;
	tlog_printf(&r->log, "hello %d %s v%04x suite %04x resumed %d etm %d sni %.*s alpn",
		    dir, tls_hello_kind_name(hi->kind), hi->version, hi->cipher_suite,
		    hi->resumed, hi->encrypt_then_mac, (int)hi->sni_len,
		    hi->sni != NULL ? hi->sni : "");
	for (size_t i = 0; i < hi->nalpn; i++)
		tlog_printf(&r->log, " %.*s", (int)hi->alpn_len[i], hi->alpn[i]);
	tlog_printf(&r->log, " versions");
	for (size_t i = 0; i < hi->nversions; i++)
		tlog_printf(&r->log, " %04x", hi->versions[i]);
	tlog_add(&r->log, "\n", 1);
	if (hi->kind == TLS_HELLO_CLIENT) {
		snprintf(r->sni, sizeof(r->sni), "%.*s", (int)hi->sni_len,
			 hi->sni != NULL ? hi->sni : "");
	} else if (hi->kind == TLS_HELLO_SERVER) {
		r->sh_version = hi->version;
		r->sh_suite = hi->cipher_suite;
		r->resumed += hi->resumed;
	}
}

static void tls_rec_finding(void *user, const struct imt_finding_report *f,
			    const struct tcp_meta *m)
{
	struct tls_rec *r = user;

	(void)m;
	r->findings[f->id]++;
	tlog_printf(&r->log, "finding %d %s @%llu %llu %s\n", f->dir,
		    imt_finding_info(f->id)->id, (unsigned long long)f->offset,
		    (unsigned long long)f->value, f->detail ? f->detail : "");
}

static const struct tls_callbacks tls_rec_cb = {
	tls_rec_plain, tls_rec_plain_gap, tls_rec_hello, tls_rec_finding
};

static void tls_rec_free(struct tls_rec *r)
{
	tlog_free(&r->log);
	tlog_free(&r->plain[0]);
	tlog_free(&r->plain[1]);
}

/* RFC 8448 §3 ("Simple 1-RTT Handshake"): the client random and the
 * traffic secrets, as the RFC prints them. */
#define R8448_CLIENT_RANDOM \
	"cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
#define R8448_C_HS "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
#define R8448_S_HS "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define R8448_C_AP "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
#define R8448_S_AP "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"

/* Adds RFC 8448's four secrets to k, the server handshake secret
 * damaged (its last hex digit changed) when `wrong`. */
static void r8448_add_keys(struct tls_keys *k, int wrong)
{
	static const char *const s[][2] = {
		{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET", R8448_C_HS },
		{ "SERVER_HANDSHAKE_TRAFFIC_SECRET", R8448_S_HS },
		{ "CLIENT_TRAFFIC_SECRET_0", R8448_C_AP },
		{ "SERVER_TRAFFIC_SECRET_0", R8448_S_AP },
	};
	char line[256];

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		snprintf(line, sizeof(line), "%s %s %s\n", s[i][0], R8448_CLIENT_RANDOM, s[i][1]);
		if (wrong && i == 1)
			line[strlen(line) - 2] ^= 1;
		if (tls_keys_add_line(k, line, strlen(line), "rfc8448", i + 1, NULL, NULL) != 1)
			abort();
	}
}

/* RFC 8448's keys and every key log in samples/tls/, loaded once. */
static const struct tls_keys *fz_tls_keys(void)
{
	static struct tls_keys *k;
	glob_t g;

	if (k != NULL)
		return k;
	if ((k = tls_keys_new()) == NULL)
		abort();
	r8448_add_keys(k, 0);
	if (glob("samples/tls/*.keylog", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			tls_keys_load_file(k, g.gl_pathv[i], NULL, NULL);
		globfree(&g);
	}
	return k;
}

/* Feeds the script once; returns what the stage said. */
static void fz_tls_run(const uint8_t *data, size_t size, int chunked, struct tls_rec *r)
{
	uint8_t seed = data[0], opt = data[1];
	struct tls_conn *c = tls_conn_new(opt & 1 ? NULL : fz_tls_keys(), &tls_rec_cb, r);
	size_t i = 2;

	if (c == NULL)
		abort();
	while (i + 2 <= size) {
		enum tls_dir dir = data[i] & 0x80 ? TLS_S2C : TLS_C2S;
		size_t len = (size_t)(data[i] & 0x7f) << 8 | data[i + 1];

		i += 2;
		if (len > size - i)
			len = size - i;
		for (size_t j = 0; j < len;) {
			size_t k = len - j;

			if (chunked) {
				size_t step = 1 + (size_t)((seed * (i + j + 7)) % 29);

				if (step < k)
					k = step;
			}
			tls_feed(c, dir, data + i + j, k, NULL);
			j += k;
		}
		i += len;
	}
	tls_finish(c, NULL);
	tls_conn_free(c);
}

/* One fuzz input: whole and chunked must agree.  Returns 0. */
static int fz_tls_one(const uint8_t *data, size_t size)
{
	struct tls_rec a, b;

	if (size < 2)
		return 0;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fz_tls_run(data, size, 0, &a);
	fz_tls_run(data, size, 1, &b);
	if (!tlog_same(&a.log, &b.log)) {
		fprintf(stderr, "whole and chunked differ:\n%s\n----\n%s\n",
			(char *)a.log.p, (char *)b.log.p);
		abort();
	}
	tls_rec_free(&a);
	tls_rec_free(&b);
	return 0;
}

#endif
