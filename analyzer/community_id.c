/*
 * community_id.c - Community ID v1 (see community_id.h for the layout of
 * the hashed bytes).  SHA-1 and base64 come from libcrypto.
 */
#include "community_id.h"

#include <string.h>

#include <openssl/evp.h>

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
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
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
	if (EVP_Digest(in, n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return 0;
	memcpy(buf, "1:", 2);
	/* 20 bytes give 28 base64 characters and a NUL. */
	return 2 + (size_t)EVP_EncodeBlock((unsigned char *)buf + 2, md, 20);
}
