/*
 * gen.c - writes a large, realistic IMAP capture for the benchmark.
 *
 *   gen [-c CONCURRENT | -i IDLE] [-l] [-t] OUT.pcap SIZE_MB SEED
 *
 * A classic pcap (Ethernet, IPv4, TCP with timestamps, 1448-byte segments,
 * correct sequence and acknowledgement numbers and checksums) of many
 * Dovecot-like sessions, CONCURRENT of them (default 50) interleaved at
 * any time, thousands in all: handshake, greeting, CAPABILITY, LOGIN,
 * SELECT (FLAGS, EXISTS, RECENT, UIDVALIDITY, UIDNEXT), then a random mix
 * of UID FETCH of whole messages (literals of 2 KB to 200 KB, sizes
 * log-uniform as real mailboxes are), flag syncs (many small untagged
 * FETCH lines), STORE, SEARCH, IDLE with EXISTS while idling then DONE,
 * pipelined commands, NOOP, and LOGOUT with BYE and FIN on both sides.
 * The clients ACK every second segment, as delayed ACK does.
 *
 * Deterministic: the same SIZE_MB and SEED give the same bytes.  New
 * sessions stop starting once SIZE_MB is reached and the open ones log
 * out after their current command, so the file is a little larger.
 * -l prints one line per session start on standard error (debugging).
 *
 * -t writes the same sessions as IMAPS (port 993) under TLS 1.3
 * TLS_AES_128_GCM_SHA256, and their NSS key log to OUT.pcap.keylog: after
 * the TCP handshake the client sends a ClientHello (random, the suite,
 * supported_versions), the server a ServerHello and one record under its
 * handshake key (EncryptedExtensions, Finished), the client one record
 * (Finished); then every data segment of the plain mode is one
 * application data record under the traffic secrets (AES-128-GCM through
 * libcrypto's EVP, keys and IVs from the secrets by the TLS 1.3 key
 * schedule, RFC 8446 §7.1-7.3).  The secrets and randoms come from their
 * own generator, so the IMAP inside, the packet times and the sessions
 * are those of the plain mode with the same SEED (SIZE_MB counts the
 * plain mode's bytes), byte for byte once decrypted.  Certificates and
 * key exchange are left out: the analyzer needs neither.
 *
 * -i IDLE writes another shape instead, the one of a mail provider's
 * capture: IDLE sessions all open at once (up to 1,000,000), interleaved
 * packet by packet, each going through the handshake, the greeting, LOGIN,
 * SELECT INBOX and IDLE, and then left idling at the end of the file.
 * Eleven packets and about 1.4 KB of file per session; SIZE_MB is not
 * used (the number of sessions sets the size).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#define SEG_MAX     1448            /* MSS with TCP timestamps on 1500 MTU */
#define BODY_MIN    2048
#define BODY_MAX    204800
#define MAX_CONC    1000
#define MAX_IDLE    1000000
#define MAX_TURNS   16
#define POOL_SIZE   (512 * 1024)
#define SERVER_IP   0x0a000001u     /* 10.0.0.1 */

static uint16_t server_port = 143;
#define SERVER_PORT server_port

/* ---- deterministic randomness (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static uint64_t rnd_in(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/* log-uniform in [lo, hi]: many small messages, some large */
static uint32_t rnd_log(uint32_t lo, uint32_t hi)
{
	double u = (double)(rnd() >> 11) / (double)(1ull << 53);
	double v = lo * exp(u * log((double)hi / lo));

	return v > hi ? hi : (uint32_t)v;
}

/* ---- growable byte buffer ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_need(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->len + n > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->p = realloc(b->p, b->cap);
	if (b->p == NULL) {
		perror("gen: realloc");
		exit(1);
	}
}

static void buf_add(struct buf *b, const void *d, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

__attribute__((format(printf, 2, 3)))
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_need(b, 256);
	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if ((size_t)n >= b->cap - b->len) {
		buf_need(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* ---- message text ---- */

static char pool[POOL_SIZE];

static const char *words[] = {
	"the", "meeting", "invoice", "attached", "please", "review", "project",
	"schedule", "tomorrow", "report", "quarterly", "budget", "thanks",
	"regards", "server", "update", "release", "notes", "customer", "order",
	"shipping", "delivery", "account", "password", "reset", "team", "lunch",
	"friday", "agenda", "minutes", "draft", "final", "version", "contract",
	"signed", "payment", "received", "question", "answer", "follow", "up",
	"and", "of", "to", "in", "for", "on", "with", "is", "we", "you", "it",
	"a", "be", "will", "this", "that", "our", "your", "from", "by", "at",
};

static const char *names[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
};

static void pool_init(void)
{
	size_t n = 0, col = 0;
	size_t nw = sizeof(words) / sizeof(words[0]);

	while (n + 16 < POOL_SIZE) {
		const char *w = words[rnd() % nw];
		size_t wl = strlen(w);

		if (col + wl + 1 > 72) {
			pool[n++] = '\r';
			pool[n++] = '\n';
			col = 0;
			if (rnd() % 8 == 0) {
				pool[n++] = '\r';
				pool[n++] = '\n';
			}
			continue;
		}
		if (col > 0)
			pool[n++] = ' ';
		memcpy(pool + n, w, wl);
		n += wl;
		col += wl + (col > 0);
	}
	while (n < POOL_SIZE)
		pool[n++] = '\n';
}

static const char *dow[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
			     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* appends a message of exactly size bytes: headers, then text lines */
static void add_message(struct buf *b, uint32_t size, const char *user,
			uint32_t uid)
{
	size_t start = b->len, hl, off;
	const char *from = names[rnd() % 16];

	buf_printf(b,
		"Return-Path: <%s@example.com>\r\n"
		"Delivered-To: %s@example.org\r\n"
		"Received: from mx.example.com (mx.example.com [192.0.2.25])\r\n"
		"\tby mail.example.org with LMTP id %08llx\r\n"
		"\tfor <%s@example.org>; %s, %d %s 2024 %02d:%02d:%02d +0000\r\n"
		"Message-ID: <%u.%08llx@example.com>\r\n"
		"Date: %s, %d %s 2024 %02d:%02d:%02d +0000\r\n"
		"From: %c%s <%s@example.com>\r\n"
		"To: %s@example.org\r\n"
		"Subject: Re: %s %s %s\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"\r\n",
		from, user, (unsigned long long)(rnd() & 0xffffffff), user,
		dow[uid % 7], (int)(uid % 28) + 1, mon[uid % 12],
		(int)(uid % 24), (int)(uid % 60), (int)(uid * 7 % 60),
		uid, (unsigned long long)(rnd() & 0xffffffff),
		dow[uid % 7], (int)(uid % 28) + 1, mon[uid % 12],
		(int)(uid % 24), (int)(uid % 60), (int)(uid * 7 % 60),
		from[0] - 32, from + 1, from, user,
		words[rnd() % 12], words[rnd() % 40], words[rnd() % 40]);
	hl = b->len - start;
	if (hl >= size) {		/* cannot happen: size >= 2048 */
		fprintf(stderr, "gen: message headers too long\n");
		exit(1);
	}
	off = rnd() % (POOL_SIZE - BODY_MAX - 16);
	while (pool[off] != '\n')
		off++;
	off++;
	buf_add(b, pool + off, size - hl);
	b->p[b->len - 2] = '\r';
	b->p[b->len - 1] = '\n';
}

/* ---- pcap writing ---- */

static FILE *out;
static uint64_t written;
static uint64_t now_us = 1700000000ull * 1000000;

static void put(const void *p, size_t n)
{
	if (fwrite(p, 1, n, out) != n) {
		perror("gen: write");
		exit(1);
	}
	written += n;
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* one Ethernet/IPv4/TCP frame */
static void put_packet(uint32_t sip, uint16_t sport, uint32_t dip,
		       uint16_t dport, uint32_t seq, uint32_t ack,
		       uint8_t flags, uint16_t ipid, uint32_t tsval,
		       uint32_t tsecr, const uint8_t *data, size_t len)
{
	uint8_t h[16 + 14 + 20 + 40];
	uint8_t *eth = h + 16, *ip = eth + 14, *tcp = ip + 20;
	size_t thl = (flags & F_SYN) ? 40 : 32;
	size_t caplen = 14 + 20 + thl + len;
	uint32_t sum;
	int c2s = dport == SERVER_PORT;

	memset(h, 0, sizeof(h));
	/* record header, little-endian as the file header says */
	uint32_t rec[4] = { (uint32_t)(now_us / 1000000),
			    (uint32_t)(now_us % 1000000),
			    (uint32_t)caplen, (uint32_t)caplen };
	memcpy(h, rec, 16);
	/* Ethernet: server 02:00:00:00:00:01, clients 02:00:00:00:01:xx */
	uint8_t smac[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t cmac[6] = { 2, 0, 0, 0, 1, (uint8_t)(c2s ? sip : dip) };
	memcpy(eth, c2s ? smac : cmac, 6);
	memcpy(eth + 6, c2s ? cmac : smac, 6);
	put_be16(eth + 12, 0x0800);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint32_t)(20 + thl + len));
	put_be16(ip + 4, ipid);
	put_be16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = 6;
	put_be32(ip + 12, sip);
	put_be32(ip + 16, dip);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put_be16(tcp, sport);
	put_be16(tcp + 2, dport);
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, (flags & F_ACK) ? ack : 0);
	tcp[12] = (uint8_t)(thl / 4) << 4;
	tcp[13] = flags;
	put_be16(tcp + 14, (flags & F_SYN) ? 64240 : 501);
	if (flags & F_SYN) {
		uint8_t o[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0,
				  0, 0, 0, 0, 1, 3, 3, 7 };
		put_be32(o + 8, tsval);
		put_be32(o + 12, tsecr);
		memcpy(tcp + 20, o, 20);
	} else {
		uint8_t o[12] = { 1, 1, 8, 10 };
		put_be32(o + 4, tsval);
		put_be32(o + 8, tsecr);
		memcpy(tcp + 20, o, 12);
	}
	sum = csum_add(0, ip + 12, 8);
	sum += 6 + (uint32_t)(thl + len);
	sum = csum_add(sum, tcp, thl);
	sum = csum_add(sum, data, len);
	put_be16(tcp + 16, csum_fold(sum));
	put(h, 16 + 14 + 20 + thl);
	if (len)
		put(data, len);
}

/* ---- sessions ---- */

enum turn_kind { T_DATA, T_SYN, T_SYNACK, T_ACK, T_FIN };

struct turn {
	enum turn_kind kind;
	int s2c;		/* sent by the server */
	uint32_t delay_us;	/* before its first packet */
	struct buf data;
};

struct sess {
	int used;
	uint64_t t_next;
	uint32_t cip;
	uint16_t cport;
	uint32_t seq[2], isn[2];	/* [0] client, [1] server */
	uint16_t ipid[2];
	uint32_t ts0[2];
	char user[16];
	uint32_t tagn;
	char tagp[4];
	uint32_t exists, uidvalidity, uid_base, recent;
	int actions_left;
	int phase;		/* 0 open, 1 logged in, 2 logging out, 3 done */
	struct turn turns[MAX_TURNS];
	int nturns, cur;
	size_t pos;		/* bytes of turns[cur] sent */
	int unacked;		/* segments the receiver has not ACKed */
	int ack_pending;	/* a pure ACK from the receiver comes next */
	/* -t: per direction ([0] client), handshake then traffic keys */
	uint8_t random[32];
	uint8_t secret[4][32];	/* c hs, s hs, c ap, s ap */
	EVP_CIPHER_CTX *ctx[2];
	uint8_t iv[2][12];
	uint64_t rseq[2];
	int app[2];		/* data segments are application data records */
};

static struct sess *sessions;
static int idle_mode;		/* -i: sessions stop once in IDLE */
static int winddown;
static uint64_t nsessions;
static int verbose;

/* ---- -t: TLS 1.3 ---- */

static int tls_mode;
static FILE *keylog;
static uint64_t tls_extra;	/* bytes the plain mode would not write */
static uint64_t tls_rng;	/* secrets and randoms: not rnd()'s stream */

static void die_tls(const char *what)
{
	fprintf(stderr, "gen: %s failed\n", what);
	exit(1);
}

static void tls_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t z = (tls_rng += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(p + i, &z, n - i < 8 ? n - i : 8);
	}
}

/* HKDF-Expand-Label(secret, label, "", len) with SHA-256 (RFC 8446 §7.1) */
static void expand_label(const uint8_t *secret, const char *label,
			 uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t ll = 6 + strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM pr[5];

	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)ll;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, ll - 6);
	n += ll;
	info[n++] = 0;		/* empty context */
	pr[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	pr[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	pr[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)(uintptr_t)secret, 32);
	pr[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	pr[4] = OSSL_PARAM_construct_end();
	if (k == NULL || EVP_KDF_derive(k, out, len, pr) != 1)
		die_tls("HKDF-Expand-Label");
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
}

/* direction d protects its records with secret from here on */
static void tls_keys(struct sess *s, int d, const uint8_t *secret)
{
	uint8_t key[16];

	expand_label(secret, "key", key, sizeof(key));
	expand_label(secret, "iv", s->iv[d], sizeof(s->iv[d]));
	if (s->ctx[d] == NULL && (s->ctx[d] = EVP_CIPHER_CTX_new()) == NULL)
		die_tls("EVP_CIPHER_CTX_new");
	if (EVP_EncryptInit_ex(s->ctx[d], EVP_aes_128_gcm(), NULL, key, NULL) != 1)
		die_tls("EVP_EncryptInit_ex");
	s->rseq[d] = 0;
}

/* one TLSCiphertext of content type ct around p[0..n) into out; returns
 * its length, n + 22 (RFC 8446 §5.2) */
static size_t tls_seal(struct sess *s, int d, uint8_t ct, const uint8_t *p,
		       size_t n, uint8_t *out)
{
	uint8_t nonce[12];
	size_t len = n + 1 + 16;
	int got;

	memcpy(nonce, s->iv[d], 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(s->rseq[d] >> (56 - 8 * i));
	s->rseq[d]++;
	out[0] = 23;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	if (EVP_EncryptInit_ex(s->ctx[d], NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(s->ctx[d], NULL, &got, out, 5) != 1 ||
	    EVP_EncryptUpdate(s->ctx[d], out + 5, &got, p, (int)n) != 1 ||
	    EVP_EncryptUpdate(s->ctx[d], out + 5 + n, &got, &ct, 1) != 1 ||
	    EVP_EncryptFinal_ex(s->ctx[d], out + 5 + n + 1, &got) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx[d], EVP_CTRL_GCM_GET_TAG, 16,
				out + 5 + n + 1) != 1)
		die_tls("AES-128-GCM");
	return 5 + len;
}

static void keylog_line(const char *label, const uint8_t *random,
			const uint8_t *secret)
{
	fprintf(keylog, "%s ", label);
	for (int i = 0; i < 32; i++)
		fprintf(keylog, "%02x", random[i]);
	fputc(' ', keylog);
	for (int i = 0; i < 32; i++)
		fprintf(keylog, "%02x", secret[i]);
	fputc('\n', keylog);
}

/* the session's randoms and secrets, logged */
static void tls_session(struct sess *s)
{
	static const char *labels[4] = {
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
	};

	s->app[0] = s->app[1] = 0;
	tls_bytes(s->random, 32);
	for (int i = 0; i < 4; i++) {
		tls_bytes(s->secret[i], 32);
		keylog_line(labels[i], s->random, s->secret[i]);
	}
}

static void emit(struct sess *s, int from_server, uint8_t flags,
		 const uint8_t *data, size_t len);

/* a hello record into m: handshake type ht, record version rv (0x01 for
 * a ClientHello, as clients send), the random, then tail; returns its
 * length */
static size_t hello(uint8_t *m, uint8_t ht, uint8_t rv, const uint8_t *random,
		    const uint8_t *tail, size_t tail_len)
{
	size_t n = 11;

	memcpy(m, "\x16\x03\x00\x00\x00\x00\x00\x00\x00\x03\x03", 11);
	m[2] = rv;
	m[5] = ht;
	memcpy(m + n, random, 32);
	n += 32;
	memcpy(m + n, tail, tail_len);
	n += tail_len;
	m[3] = (uint8_t)((n - 5) >> 8);
	m[4] = (uint8_t)(n - 5);
	m[7] = (uint8_t)((n - 9) >> 8);
	m[8] = (uint8_t)(n - 9);
	return n;
}

/* right after the TCP handshake: ClientHello; ServerHello and the
 * server's encrypted EncryptedExtensions and Finished; the client's
 * Finished.  Then both directions use their traffic secrets. */
static void tls_handshake(struct sess *s)
{
	/* session id, TLS_AES_128_GCM_SHA256, null compression,
	 * supported_versions: TLS 1.3 */
	static const uint8_t ch_tail[] = {
		0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00,
		0x00, 0x07, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04,
	};
	static const uint8_t sh_tail[] = {
		0x00, 0x13, 0x01, 0x00,
		0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,
	};
	uint8_t m[512], inner[64], srandom[32];
	uint8_t fin[36] = { 20, 0, 0, 32 };
	size_t n, start;
	uint64_t before = written;

	n = hello(m, 1, 1, s->random, ch_tail, sizeof(ch_tail));
	emit(s, 0, F_ACK | F_PSH, m, n);

	/* ServerHello, then EncryptedExtensions + Finished under the
	 * server's handshake secret */
	tls_bytes(srandom, 32);
	n = hello(m, 2, 3, srandom, sh_tail, sizeof(sh_tail));
	memcpy(inner, "\x08\x00\x00\x02\x00\x00", 6);	/* EncryptedExtensions */
	start = 6;
	tls_bytes(fin + 4, 32);
	memcpy(inner + start, fin, sizeof(fin));
	start += sizeof(fin);
	tls_keys(s, 1, s->secret[1]);
	n += tls_seal(s, 1, 22, inner, start, m + n);
	emit(s, 1, F_ACK | F_PSH, m, n);
	tls_keys(s, 1, s->secret[3]);
	s->app[1] = 1;

	/* the client's Finished under its handshake secret */
	tls_keys(s, 0, s->secret[0]);
	tls_bytes(fin + 4, 32);
	n = tls_seal(s, 0, 22, fin, sizeof(fin), m);
	emit(s, 0, F_ACK | F_PSH, m, n);
	tls_keys(s, 0, s->secret[2]);
	s->app[0] = 1;
	tls_extra += written - before;
}

static struct turn *turn_add(struct sess *s, enum turn_kind k, int s2c,
			     uint32_t delay_us)
{
	struct turn *t;

	if (s->nturns == MAX_TURNS) {
		fprintf(stderr, "gen: too many turns\n");
		exit(1);
	}
	t = &s->turns[s->nturns++];
	t->kind = k;
	t->s2c = s2c;
	t->delay_us = delay_us;
	t->data.len = 0;
	return t;
}

static uint32_t client_think(void)
{
	return (uint32_t)rnd_in(200, 3000);
}

static uint32_t server_work(void)
{
	return (uint32_t)rnd_in(100, 2000);
}

static const char *next_tag(struct sess *s, char *tag)
{
	snprintf(tag, 16, "%s%u", s->tagp, ++s->tagn);
	return tag;
}

static uint32_t pick_msn(struct sess *s)
{
	return (uint32_t)rnd_in(1, s->exists);
}

#define CAPS_PRE "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ " \
		 "STARTTLS AUTH=PLAIN AUTH=LOGIN"
#define CAPS_POST "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT " \
	"SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT " \
	"MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS " \
	"LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES " \
	"WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY " \
	"PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"

static const char *flagsets[] = {
	"\\Seen", "", "\\Seen \\Answered", "\\Seen \\Flagged", "\\Flagged",
};

static void fetch_body_cmd(struct sess *s, struct buf *c, struct buf *r)
{
	char tag[16];
	uint32_t msn = pick_msn(s), uid = s->uid_base + msn;
	uint32_t size = rnd_log(BODY_MIN, BODY_MAX);

	next_tag(s, tag);
	buf_printf(c, "%s UID FETCH %u (UID RFC822.SIZE FLAGS BODY.PEEK[])\r\n",
		   tag, uid);
	buf_printf(r, "* %u FETCH (UID %u RFC822.SIZE %u FLAGS (%s) BODY[] {%u}\r\n",
		   msn, uid, size, flagsets[rnd() % 5], size);
	add_message(r, size, s->user, uid);
	buf_printf(r, ")\r\n%s OK Fetch completed (0.%03d + 0.000 + 0.%03d secs).\r\n",
		   tag, (int)rnd_in(1, 9), (int)rnd_in(0, 5));
}

static void store_cmd(struct sess *s, struct buf *c, struct buf *r)
{
	char tag[16];
	uint32_t msn = pick_msn(s), uid = s->uid_base + msn;
	int silent = rnd() % 3 == 0;
	const char *fl = rnd() % 2 ? "\\Seen" : "\\Flagged";

	next_tag(s, tag);
	buf_printf(c, "%s UID STORE %u +FLAGS%s (%s)\r\n", tag, uid,
		   silent ? ".SILENT" : "", fl);
	if (!silent)
		buf_printf(r, "* %u FETCH (UID %u FLAGS (%s \\Seen))\r\n",
			   msn, uid, fl[1] == 'S' ? "\\Answered" : fl);
	buf_printf(r, "%s OK Store completed (0.001 + 0.000 secs).\r\n", tag);
}

/* the handshake and the greeting */
static void plan_greeting(struct sess *s)
{
	struct turn *r;

	turn_add(s, T_SYN, 0, 0);
	turn_add(s, T_SYNACK, 1, 50);
	turn_add(s, T_ACK, 0, 60);
	r = turn_add(s, T_DATA, 1, 300);
	buf_printf(&r->data, "* OK [CAPABILITY " CAPS_PRE
		   "] Dovecot (Debian) ready.\r\n");
}

/* the client's LOGIN; its tag goes to tag */
static void plan_login(struct sess *s, char *tag)
{
	struct turn *c = turn_add(s, T_DATA, 0, client_think());

	buf_printf(&c->data, "%s LOGIN %s \"pw-%08llx\"\r\n",
		   next_tag(s, tag), s->user,
		   (unsigned long long)(rnd() & 0xffffffff));
}

/* -i: the turns from the handshake to IDLE, after which the session
 * stays open and silent (phase 4) */
static void plan_idle(struct sess *s)
{
	struct turn *c, *r;
	char tag[16];

	plan_greeting(s);
	plan_login(s, tag);
	r = turn_add(s, T_DATA, 1, server_work());
	buf_printf(&r->data, "%s OK Logged in\r\n", tag);
	c = turn_add(s, T_DATA, 0, client_think());
	buf_printf(&c->data, "%s SELECT INBOX\r\n", next_tag(s, tag));
	r = turn_add(s, T_DATA, 1, server_work());
	buf_printf(&r->data,
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		"* %u EXISTS\r\n* %u RECENT\r\n"
		"* OK [UIDVALIDITY %u] UIDs valid\r\n"
		"* OK [UIDNEXT %u] Predicted next UID\r\n"
		"%s OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n",
		s->exists, s->recent, s->uidvalidity,
		s->uid_base + s->exists + 1, tag);
	c = turn_add(s, T_DATA, 0, client_think());
	buf_printf(&c->data, "%s IDLE\r\n", next_tag(s, tag));
	r = turn_add(s, T_DATA, 1, server_work());
	buf_printf(&r->data, "+ idling\r\n");
	s->phase = 4;
}

/* plans the turns of the session's next step */
static void plan(struct sess *s)
{
	struct turn *c, *r;
	char tag[16];

	s->nturns = 0;
	s->cur = 0;
	s->pos = 0;
	if (s->phase == 0 && idle_mode) {
		plan_idle(s);
		return;
	}
	if (s->phase == 0) {
		plan_greeting(s);
		c = turn_add(s, T_DATA, 0, client_think());
		buf_printf(&c->data, "%s CAPABILITY\r\n", next_tag(s, tag));
		r = turn_add(s, T_DATA, 1, server_work());
		buf_printf(&r->data, "* CAPABILITY " CAPS_PRE "\r\n%s OK "
			   "Pre-login capabilities listed, post-login "
			   "capabilities have more.\r\n", tag);
		plan_login(s, tag);
		r = turn_add(s, T_DATA, 1, (uint32_t)rnd_in(2000, 20000));
		buf_printf(&r->data, "%s OK [CAPABILITY " CAPS_POST
			   "] Logged in\r\n", tag);
		c = turn_add(s, T_DATA, 0, client_think());
		buf_printf(&c->data, "%s SELECT INBOX\r\n", next_tag(s, tag));
		r = turn_add(s, T_DATA, 1, server_work());
		buf_printf(&r->data,
			"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
			"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
			"\\Seen \\Draft \\*)] Flags permitted.\r\n"
			"* %u EXISTS\r\n* %u RECENT\r\n"
			"* OK [UNSEEN %u] First unseen.\r\n"
			"* OK [UIDVALIDITY %u] UIDs valid\r\n"
			"* OK [UIDNEXT %u] Predicted next UID\r\n"
			"%s OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n",
			s->exists, s->recent, (uint32_t)rnd_in(1, s->exists),
			s->uidvalidity, s->uid_base + s->exists + 1, tag);
		s->phase = 1;
		return;
	}
	if (s->phase == 2) {
		turn_add(s, T_FIN, 1, 100);
		turn_add(s, T_FIN, 0, 80);
		turn_add(s, T_ACK, 1, 40);
		s->phase = 3;
		return;
	}
	if (s->actions_left-- <= 0 || winddown) {
		c = turn_add(s, T_DATA, 0, client_think());
		buf_printf(&c->data, "%s LOGOUT\r\n", next_tag(s, tag));
		r = turn_add(s, T_DATA, 1, server_work());
		buf_printf(&r->data, "* BYE Logging out\r\n%s OK Logout "
			   "completed (0.001 + 0.000 secs).\r\n", tag);
		s->phase = 2;
		return;
	}
	uint64_t a = rnd() % 100;

	c = turn_add(s, T_DATA, 0, client_think());
	r = turn_add(s, T_DATA, 1, server_work());
	if (a < 45) {				/* one message */
		fetch_body_cmd(s, &c->data, &r->data);
	} else if (a < 55) {			/* pipelined messages */
		int n = (int)rnd_in(2, 5);

		for (int i = 0; i < n; i++) {
			struct buf rb = { 0 };

			fetch_body_cmd(s, &c->data, i == 0 ? &r->data : &rb);
			if (i > 0) {
				struct turn *t = turn_add(s, T_DATA, 1, 200);

				buf_add(&t->data, rb.p, rb.len);
				free(rb.p);
			}
		}
	} else if (a < 63) {			/* flag sync of recent mail */
		uint32_t n = (uint32_t)rnd_in(5, s->exists < 300 ? s->exists : 300);
		uint32_t first = s->exists - n + 1;

		buf_printf(&c->data, "%s UID FETCH %u:* (UID FLAGS)\r\n",
			   next_tag(s, tag), s->uid_base + first);
		for (uint32_t m = first; m <= s->exists; m++)
			buf_printf(&r->data, "* %u FETCH (UID %u FLAGS (%s))\r\n",
				   m, s->uid_base + m, flagsets[rnd() % 5]);
		buf_printf(&r->data, "%s OK Fetch completed (0.002 + 0.000 + 0.001 secs).\r\n",
			   tag);
	} else if (a < 75) {			/* STORE */
		store_cmd(s, &c->data, &r->data);
	} else if (a < 82) {			/* pipelined STOREs and NOOP */
		int n = (int)rnd_in(2, 4);

		for (int i = 0; i < n; i++)
			store_cmd(s, &c->data, &r->data);
		buf_printf(&c->data, "%s NOOP\r\n", next_tag(s, tag));
		buf_printf(&r->data, "%s OK NOOP completed (0.001 + 0.000 secs).\r\n",
			   tag);
	} else if (a < 90) {			/* SEARCH */
		int n = (int)rnd_in(0, 40);

		buf_printf(&c->data, "%s UID SEARCH UNSEEN\r\n", next_tag(s, tag));
		buf_printf(&r->data, "* SEARCH");
		for (int i = 0; i < n; i++)
			buf_printf(&r->data, " %u", s->uid_base +
				   (uint32_t)(s->exists * (uint64_t)(i + 1) / (n + 1)) + 1);
		buf_printf(&r->data, "\r\n%s OK Search completed (0.%03d + 0.000 secs).\r\n",
			   tag, (int)rnd_in(1, 20));
	} else if (a < 96) {			/* IDLE, new mail, DONE */
		struct turn *t;
		uint32_t wait_s = (uint32_t)rnd_in(1, 20);

		buf_printf(&c->data, "%s IDLE\r\n", next_tag(s, tag));
		buf_printf(&r->data, "+ idling\r\n");
		t = turn_add(s, T_DATA, 1, wait_s * 1000000);
		s->exists++;
		s->recent++;
		buf_printf(&t->data, "* %u EXISTS\r\n* %u RECENT\r\n", s->exists,
			   s->recent);
		t = turn_add(s, T_DATA, 0, (uint32_t)rnd_in(1000, 30000));
		buf_printf(&t->data, "DONE\r\n");
		t = turn_add(s, T_DATA, 1, server_work());
		buf_printf(&t->data, "%s OK Idle completed (%u.%03d + %u.%03d + 0.001 secs).\r\n",
			   tag, wait_s, (int)rnd_in(0, 999), wait_s,
			   (int)rnd_in(0, 999));
	} else {				/* NOOP */
		buf_printf(&c->data, "%s NOOP\r\n", next_tag(s, tag));
		buf_printf(&r->data, "%s OK NOOP completed (0.001 + 0.000 secs).\r\n",
			   tag);
	}
}

static void sess_start(struct sess *s, uint64_t n)
{
	static const char *tp[] = { "a", "A", "", "OMMJ", "x" };
	uint32_t k = (uint32_t)(n % 1000);

	s->used = 1;
	s->cip = 0x0a010000u | (k / 250) << 8 | (k % 250 + 1);
	s->cport = (uint16_t)(32768 + (n / 1000) % 28000);
	s->isn[0] = (uint32_t)rnd();
	s->isn[1] = (uint32_t)rnd();
	s->seq[0] = s->isn[0];
	s->seq[1] = s->isn[1];
	s->ipid[0] = (uint16_t)rnd();
	s->ipid[1] = (uint16_t)rnd();
	s->ts0[0] = (uint32_t)rnd();
	s->ts0[1] = (uint32_t)rnd();
	snprintf(s->user, sizeof(s->user), "%s%u", names[rnd() % 16],
		 (unsigned)(n % 997));
	snprintf(s->tagp, sizeof(s->tagp), "%s", tp[rnd() % 5]);
	s->tagn = 0;
	s->exists = rnd_log(20, 5000);
	s->recent = 0;
	s->uidvalidity = 1700000000u + (uint32_t)(rnd() % 1000000);
	s->uid_base = (uint32_t)rnd_in(0, 20000);
	s->actions_left = (int)rnd_in(2, 12);
	s->phase = 0;
	s->unacked = 0;
	s->ack_pending = 0;
	s->t_next = now_us + rnd_in(0, 5000);
	if (tls_mode)
		tls_session(s);
	plan(s);
	if (verbose)
		fprintf(stderr, "session %llu %u.%u.%u.%u:%u\n",
			(unsigned long long)n, s->cip >> 24, (s->cip >> 16) & 255,
			(s->cip >> 8) & 255, s->cip & 255, s->cport);
}

static void emit(struct sess *s, int from_server, uint8_t flags,
		 const uint8_t *data, size_t len)
{
	int d = from_server;
	uint32_t ms = (uint32_t)(now_us / 1000);
	static uint8_t rec[SEG_MAX + 64];

	/* -t: the segment's bytes are one application data record */
	if (tls_mode && len > 0 && s->app[d]) {
		size_t n = tls_seal(s, d, 23, data, len, rec);

		tls_extra += n - len;
		data = rec;
		len = n;
	}

	if (d)
		put_packet(SERVER_IP, SERVER_PORT, s->cip, s->cport, s->seq[1],
			   s->seq[0], flags, s->ipid[1]++, s->ts0[1] + ms,
			   s->ts0[0] + ms, data, len);
	else
		put_packet(s->cip, s->cport, SERVER_IP, SERVER_PORT, s->seq[0],
			   s->seq[1], flags, s->ipid[0]++, s->ts0[0] + ms,
			   s->ts0[1] + ms, data, len);
	s->seq[d] += (uint32_t)len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
}

/* sends the session's next packet and schedules the one after */
static void step(struct sess *s)
{
	struct turn *t = &s->turns[s->cur];

	if (s->ack_pending) {
		emit(s, !t->s2c, F_ACK, NULL, 0);
		s->ack_pending = 0;
		s->unacked = 0;
	} else {
		switch (t->kind) {
		case T_SYN:
			emit(s, 0, F_SYN, NULL, 0);
			break;
		case T_SYNACK:
			emit(s, 1, F_SYN | F_ACK, NULL, 0);
			break;
		case T_ACK:
			emit(s, t->s2c, F_ACK, NULL, 0);
			if (tls_mode && s->cur == 2 && s->turns[0].kind == T_SYN)
				tls_handshake(s);
			break;
		case T_FIN:
			emit(s, t->s2c, F_FIN | F_ACK, NULL, 0);
			break;
		case T_DATA: {
			size_t n = t->data.len - s->pos;

			if (n > SEG_MAX)
				n = SEG_MAX;
			emit(s, t->s2c, F_ACK | (s->pos + n == t->data.len ? F_PSH : 0),
			     t->data.p + s->pos, n);
			s->pos += n;
			if (++s->unacked == 2 && s->pos < t->data.len) {
				s->ack_pending = 1;
				s->t_next = now_us + rnd_in(10, 60);
				return;
			}
			if (s->pos < t->data.len) {
				s->t_next = now_us + rnd_in(8, 40);
				return;
			}
			break;
		}
		}
		/* the turn is over: the receiver ACKs now unless its own data
		 * comes soon enough to carry the ACK */
		if (t->kind == T_DATA) {
			struct turn *nx = s->cur + 1 < s->nturns ? t + 1 : NULL;

			if (nx == NULL || nx->s2c == t->s2c || nx->delay_us > 40000) {
				s->ack_pending = 1;
				s->t_next = now_us + rnd_in(20, 200);
				return;
			}
		}
		s->unacked = 0;
		s->cur++;
		s->pos = 0;
		if (s->cur < s->nturns) {
			s->t_next = now_us + s->turns[s->cur].delay_us;
			return;
		}
	}
	/* after a pure ACK the turn it answered is over */
	if (s->cur < s->nturns && s->pos > 0 &&
	    s->pos == s->turns[s->cur].data.len) {
		s->cur++;
		s->pos = 0;
		if (s->cur < s->nturns) {
			s->t_next = now_us + s->turns[s->cur].delay_us;
			return;
		}
	} else if (s->cur < s->nturns) {
		s->t_next = now_us + rnd_in(8, 40);
		return;
	}
	if (s->phase == 3 || s->phase == 4) {
		s->used = 0;
		return;
	}
	plan(s);
	s->t_next = now_us + s->turns[0].delay_us;
}

static void usage(void)
{
	fprintf(stderr, "usage: gen [-c CONCURRENT | -i IDLE] [-l] [-t] OUT.pcap SIZE_MB SEED\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int conc = 50, ai = 1;
	uint64_t target;
	char *end;
	static char obuf[1 << 20];

	while (ai < argc && argv[ai][0] == '-' && argv[ai][1] != '\0') {
		if (strcmp(argv[ai], "-c") == 0 && ai + 1 < argc) {
			conc = atoi(argv[ai + 1]);
			ai += 2;
		} else if (strcmp(argv[ai], "-i") == 0 && ai + 1 < argc) {
			conc = atoi(argv[ai + 1]);
			idle_mode = 1;
			ai += 2;
		} else if (strcmp(argv[ai], "-l") == 0) {
			verbose = 1;
			ai++;
		} else if (strcmp(argv[ai], "-t") == 0) {
			tls_mode = 1;
			server_port = 993;
			ai++;
		} else {
			usage();
		}
	}
	if (argc - ai != 3 || conc < 1 || conc > (idle_mode ? MAX_IDLE : MAX_CONC))
		usage();
	errno = 0;
	target = strtoull(argv[ai + 1], &end, 10);
	if (errno || *end || target == 0 || target > 1000000)
		usage();
	target *= 1000000;
	rng_state = strtoull(argv[ai + 2], &end, 10);
	if (*end)
		usage();
	rnd();
	tls_rng = rng_state ^ 0x544c5331332d6b65ull;
	pool_init();
	if (tls_mode) {
		char path[4096];

		snprintf(path, sizeof(path), "%s.keylog", argv[ai]);
		if ((keylog = fopen(path, "w")) == NULL) {
			perror(path);
			return 1;
		}
	}

	out = fopen(argv[ai], "wb");
	if (out == NULL) {
		perror(argv[ai]);
		return 1;
	}
	setvbuf(out, obuf, _IOFBF, sizeof(obuf));
	/* classic pcap, microseconds, little-endian, Ethernet */
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1 };
	put(gh, sizeof(gh));

	sessions = calloc((size_t)conc, sizeof(*sessions));
	if (sessions == NULL) {
		perror("gen: calloc");
		return 1;
	}
	for (int i = 0; i < conc; i++)
		sess_start(&sessions[i], nsessions++);
	/* -i: round robin, one packet per session and turn, so that every
	 * session is open at once; none starts after the first ones */
	for (int left = conc; idle_mode && left > 0;) {
		left = 0;
		for (int i = 0; i < conc; i++) {
			if (!sessions[i].used)
				continue;
			now_us += 2;
			step(&sessions[i]);
			left += sessions[i].used;
		}
	}
	for (;;) {
		struct sess *s = NULL;

		for (int i = 0; i < conc; i++)
			if (sessions[i].used &&
			    (s == NULL || sessions[i].t_next < s->t_next))
				s = &sessions[i];
		if (s == NULL)
			break;
		if (s->t_next > now_us)
			now_us = s->t_next;
		step(s);
		if (written - tls_extra >= target)
			winddown = 1;
		if (!s->used && !winddown)
			sess_start(s, nsessions++);
	}
	if (fclose(out) != 0) {
		perror(argv[ai]);
		return 1;
	}
	if (keylog != NULL && fclose(keylog) != 0) {
		perror("key log");
		return 1;
	}
	for (int i = 0; i < conc; i++) {
		for (int j = 0; j < MAX_TURNS; j++)
			free(sessions[i].turns[j].data.p);
		EVP_CIPHER_CTX_free(sessions[i].ctx[0]);
		EVP_CIPHER_CTX_free(sessions[i].ctx[1]);
	}
	free(sessions);
	fprintf(stderr, "gen: %s: %.1f MB, %llu sessions\n", argv[ai],
		(double)written / 1e6, (unsigned long long)nsessions);
	return 0;
}
