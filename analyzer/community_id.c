/*
 * community_id.c - Community ID v1 (see community_id.h for the layout of
 * the hashed bytes).  Base64 comes from libcrypto; SHA-1 is computed
 * here: the input is one block of at most 40 bytes, and libcrypto's
 * EVP_Digest() looks the algorithm up and allocates a context on every
 * call, which cost more than the hash for each of tens of thousands of
 * sessions.
 */
#include "community_id.h"

#include <string.h>

#include <openssl/evp.h>

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* One round: t = rol(a, 5) + f + e + k + w, then the registers move
 * down one place (done by naming them in turn in the callers). */
#define SHA1_ROUND(a, b, c, d, e, f, k, w)                        \
	do {                                                      \
		(e) += rol32((a), 5) + (f) + (k) + (w);           \
		(b) = rol32((b), 30);                             \
	} while (0)

/* Word i of the schedule, from a rolling window of sixteen. */
#define SHA1_W(w, i)                                                       \
	((w)[(i) & 15] = rol32((w)[((i) + 13) & 15] ^ (w)[((i) + 8) & 15] ^  \
			       (w)[((i) + 2) & 15] ^ (w)[(i) & 15], 1))

/* One 64-byte block into h (FIPS 180-4, 6.1.2): four loops of twenty
 * rounds, five rounds a step so the registers rotate by name. */
static void sha1_block(uint32_t h[5], const uint8_t *blk)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(blk + 4 * i);
#define F1(b, c, d) (((b) & (c)) | (~(b) & (d)))
#define F2(b, c, d) ((b) ^ (c) ^ (d))
#define F3(b, c, d) (((b) & (c)) | ((b) & (d)) | ((c) & (d)))
#define FIVE(F, k, W)                                                     \
	do {                                                              \
		SHA1_ROUND(a, b, c, d, e, F(b, c, d), k, W(i));           \
		SHA1_ROUND(e, a, b, c, d, F(a, b, c), k, W(i + 1));       \
		SHA1_ROUND(d, e, a, b, c, F(e, a, b), k, W(i + 2));       \
		SHA1_ROUND(c, d, e, a, b, F(d, e, a), k, W(i + 3));       \
		SHA1_ROUND(b, c, d, e, a, F(c, d, e), k, W(i + 4));       \
	} while (0)
#define W0(i) w[i]
#define WN(i) SHA1_W(w, i)
	for (i = 0; i < 15; i += 5)
		FIVE(F1, 0x5a827999, W0);
	/* Round 15 still reads w[15]; 16 to 19 extend the schedule. */
	SHA1_ROUND(a, b, c, d, e, F1(b, c, d), 0x5a827999, w[15]);
	SHA1_ROUND(e, a, b, c, d, F1(a, b, c), 0x5a827999, WN(16));
	SHA1_ROUND(d, e, a, b, c, F1(e, a, b), 0x5a827999, WN(17));
	SHA1_ROUND(c, d, e, a, b, F1(d, e, a), 0x5a827999, WN(18));
	SHA1_ROUND(b, c, d, e, a, F1(c, d, e), 0x5a827999, WN(19));
	for (i = 20; i < 40; i += 5)
		FIVE(F2, 0x6ed9eba1, WN);
	for (; i < 60; i += 5)
		FIVE(F3, 0x8f1bbcdc, WN);
	for (; i < 80; i += 5)
		FIVE(F2, 0xca62c1d6, WN);
#undef WN
#undef W0
#undef FIVE
#undef F3
#undef F2
#undef F1
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void community_id_sha1(const void *data, size_t n, uint8_t md[20])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
			  0xc3d2e1f0 };
	const uint8_t *p = data;
	uint8_t last[128];
	uint64_t bits = (uint64_t)n * 8;
	size_t rest, tail;

	for (; n >= 64; n -= 64, p += 64)
		sha1_block(h, p);
	/* The rest, 0x80, zeros, and the length in bits: one block or two. */
	rest = n;
	tail = rest + 9 <= 64 ? 64 : 128;
	memset(last, 0, tail);
	if (rest > 0)
		memcpy(last, p, rest);
	last[rest] = 0x80;
	for (int i = 0; i < 8; i++)
		last[tail - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, last);
	if (tail == 128)
		sha1_block(h, last + 64);
	for (int i = 0; i < 5; i++) {
		md[4 * i] = (uint8_t)(h[i] >> 24);
		md[4 * i + 1] = (uint8_t)(h[i] >> 16);
		md[4 * i + 2] = (uint8_t)(h[i] >> 8);
		md[4 * i + 3] = (uint8_t)h[i];
	}
}

static size_t cid_addr_len(const struct ip_endpoint *ep)
{
	return ep->family == 4 ? 4 : ep->family == 6 ? 16 : 0;
}

/* The spec orders endpoints as tuples: address bytes first, the port only
 * when the addresses are equal. */
static int cid_endpoint_less(const struct ip_endpoint *x,
			     const struct ip_endpoint *y, size_t alen)
{
	int c = memcmp(x->addr, y->addr, alen);

	return c < 0 || (c == 0 && x->port < y->port);
}

static int cid_has_ports(uint8_t proto)
{
	return proto == COMMUNITY_ID_PROTO_TCP ||
	       proto == COMMUNITY_ID_PROTO_UDP ||
	       proto == COMMUNITY_ID_PROTO_SCTP;
}

size_t community_id_v1(const struct ip_endpoint *a, const struct ip_endpoint *b,
		       uint8_t proto, uint16_t seed, char *buf, size_t size)
{
	/* seed 2 + addresses 2*16 + proto 1 + pad 1 + ports 4 */
	uint8_t in[2 + 32 + 1 + 1 + 4];
	uint8_t md[20];
	size_t alen = cid_addr_len(a), n = 0;

	if (alen == 0 || a->family != b->family || size < COMMUNITY_ID_STRLEN)
		return 0;
	if (!cid_endpoint_less(a, b, alen)) {
		const struct ip_endpoint *t = a;

		a = b;
		b = t;
	}
	in[n++] = (uint8_t)(seed >> 8);
	in[n++] = (uint8_t)seed;
	memcpy(in + n, a->addr, alen);
	n += alen;
	memcpy(in + n, b->addr, alen);
	n += alen;
	in[n++] = proto;
	in[n++] = 0;
	if (cid_has_ports(proto)) {
		in[n++] = (uint8_t)(a->port >> 8);
		in[n++] = (uint8_t)a->port;
		in[n++] = (uint8_t)(b->port >> 8);
		in[n++] = (uint8_t)b->port;
	}
	community_id_sha1(in, n, md);
	memcpy(buf, "1:", 2);
	/* 20 bytes give 28 base64 characters and a NUL. */
	return 2 + (size_t)EVP_EncodeBlock((unsigned char *)buf + 2, md, 20);
}
