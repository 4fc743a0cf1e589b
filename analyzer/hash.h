/*
 * hash.h - the one hash of the analyzer, for its hash tables.
 *
 * Everything is built on one 64-bit mixer (the MurmurHash3 finalizer, a
 * bijection whose output bits each depend on every input bit): a table
 * keyed by a few machine words mixes them itself with hash_mix64() (the
 * TCP flow table does, per packet), a table keyed by bytes calls
 * hash_bytes().  Tables whose keys come from the wire take a seed that
 * differs from run to run, so that crafted keys cannot be made to share
 * one bucket; the values never reach the output.
 */
#ifndef IMT_HASH_H
#define IMT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A bijective mix of x: every bit of the result depends on every bit of
 * x.  hash_mix64(0) is 0. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * The hash of the n bytes at p (p may be NULL when n is 0) under seed:
 * the same bytes and seed give the same value within a build; the
 * length is hashed too, so "a" and "a\0" differ.  Any value is possible,
 * 0 included.
 */
uint64_t hash_bytes(uint64_t seed, const void *p, size_t n);

/* A seed that differs between runs (and between objects), for a table
 * that lives at `obj`: its address mixed with a constant.  Never used for
 * anything that reaches the output. */
static inline uint64_t hash_seed(const void *obj)
{
	return hash_mix64((uint64_t)(uintptr_t)obj ^ 0x9e3779b97f4a7c15ULL);
}

#endif
