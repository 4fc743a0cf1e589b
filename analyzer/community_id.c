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

/* One 64-byte block into h (FIPS 180-4, 6.1.2). */
static void sha1_block(uint32_t h[5], const uint8_t *blk)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = be32(blk + 4 * i);
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
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
