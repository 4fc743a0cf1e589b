/*
 * sha256.h - SHA-256 (FIPS 180-4) of a buffer, for the hashes of the html
 * report's inline script and style in its Content-Security-Policy.
 */
#ifndef IMT_SHA256_H
#define IMT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* Writes the digest of the len bytes at p to out. */
void sha256(const void *p, size_t len, uint8_t out[SHA256_LEN]);

#endif
