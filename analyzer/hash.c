/* hash.c - hash_bytes() (hash.h). */
#include "hash.h"

#include <string.h>

#include "scan8.h"

uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = hash_mix64(h ^ w);
	}
	/* The last 1..7 bytes as one word: the length, hashed above, tells
	 * "ab" from "ab\0". */
	if (n > 0)
		h = hash_mix64(h ^ scan8_load_short_le(s, n));
	return hash_mix64(h ^ 0x6a09e667f3bcc909ULL);
}
