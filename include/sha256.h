/*
 * sha256.h - SHA-256 of a stream, through libcrypto's EVP interface.
 *
 * The evidence export hashes every extracted object and every decoded
 * attachment as its bytes go by; this is the one place that does it.
 */
#ifndef IMT_SHA256_H
#define IMT_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32

struct sha256 {
	void *ctx;               /* EVP_MD_CTX, owned */
};

/* Starts a hash.  Returns 0, or -1 when out of memory (h is then empty
 * and the other calls do nothing). */
int sha256_init(struct sha256 *h);
/* Adds n bytes. */
void sha256_update(struct sha256 *h, const void *p, size_t n);
/* Adds n zero bytes (the missing bytes of a gap). */
void sha256_zeros(struct sha256 *h, unsigned long long n);
/* Writes the 32-byte digest to md and frees the context.  An empty h
 * gives 32 zero bytes. */
void sha256_final(struct sha256 *h, unsigned char md[SHA256_LEN]);
/* Writes the digest as 64 lower-case hex digits and a NUL to hex, and
 * frees the context.  An empty h gives 64 zeros' worth of "0". */
void sha256_final_hex(struct sha256 *h, char hex[65]);
/* Frees the context without a result.  Accepts an empty h. */
void sha256_free(struct sha256 *h);

#endif
