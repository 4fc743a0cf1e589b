/*
 * community_id.c - Community ID v1 (see community_id.h for the layout of
 * the hashed bytes).  SHA-1 and base64 come from libcrypto.
 */
#include "community_id.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

/* SHA-1 fetched from libcrypto once: EVP_sha1() as the digest would make
 * EVP_Digest() look the algorithm up again on each call, which cost more
 * than the hash itself for each of tens of thousands of sessions. */
static EVP_MD *cid_sha1_md;
static pthread_once_t cid_sha1_once = PTHREAD_ONCE_INIT;

static void cid_sha1_fetch(void)
{
	cid_sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int community_id_sha1(const void *data, size_t n, uint8_t md[20])
{
	unsigned int len = 0;

	pthread_once(&cid_sha1_once, cid_sha1_fetch);
	return cid_sha1_md != NULL &&
	       EVP_Digest(data, n, md, &len, cid_sha1_md, NULL) == 1 && len == 20 ? 0 : -1;
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
	if (community_id_sha1(in, n, md) != 0)
		return 0;
	memcpy(buf, "1:", 2);
	/* 20 bytes give 28 base64 characters and a NUL. */
	return 2 + (size_t)EVP_EncodeBlock((unsigned char *)buf + 2, md, 20);
}
