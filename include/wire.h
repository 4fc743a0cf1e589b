/*
 * wire.h - the one idiom for reading bytes that came from the wire.
 *
 * Every length or offset taken from a packet or a protocol stream is
 * checked with WIRE_HAS() before the bytes are touched, and multi-byte
 * fields are read with the width- and order-named getters below, never
 * by casting pointers.  The test is written so that it cannot overflow:
 * "need > have - off", with off <= have checked first.
 */
#ifndef IMT_WIRE_H
#define IMT_WIRE_H

#include <stdint.h>
#include <string.h>
#include <stddef.h>

/* True when [off, off + need) lies inside a buffer of `have` bytes.  A
 * function rather than a bare expression so a constant offset of 0 does
 * not trip -Wtype-limits. */
static inline int wire_has(size_t have, size_t off, size_t need)
{
	return off <= have && need <= have - off;
}

#define WIRE_HAS(have, off, need) \
	wire_has((size_t)(have), (size_t)(off), (size_t)(need))

static inline uint16_t wire_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t wire_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint16_t wire_le16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[1] << 8 | p[0]);
}

static inline uint32_t wire_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | (uint32_t)p[0];
}

/*
 * Eight bytes at a time: the high bit of each byte of w that equals c, or
 * (wire_below8) that is below c, which must be at most 0x80.  Bits above
 * the lowest one set may be false alarms (a borrow carries on); the
 * lowest one is exact, and 0 means no such byte.  For scans that skip
 * plain text a word at a time.
 */
#define WIRE_ONES  0x0101010101010101ull
#define WIRE_HIGHS 0x8080808080808080ull

static inline uint64_t wire_below8(uint64_t w, uint8_t c)
{
	return (w - c * WIRE_ONES) & ~w & WIRE_HIGHS;
}

static inline uint64_t wire_eq8(uint64_t w, uint8_t c)
{
	return wire_below8(w ^ (c * WIRE_ONES), 1);
}

/*
 * Zeroes n bytes through a pointer to memset() the compiler cannot see
 * through.  For a struct of a few hundred bytes GCC writes `rep stosq`
 * in place of the call, which on current x86 costs more than the C
 * library's vector stores; per-line and per-command structs use this.
 */
static inline void wire_zero(void *p, size_t n)
{
	static void *(*const volatile set)(void *, int, size_t) = memset;

	set(p, 0, n);
}

/*
 * The r octets at p (1 <= r <= 7) as the low octets of a little-endian
 * word, the rest zero, read without going past p + r and without a call:
 * two overlapping loads, whose common octets are the same.
 */
static inline uint64_t wire_load_short_le(const unsigned char *p, size_t r)
{
	uint32_t a, b;

	if (r >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + r - 4, 4);
		return (uint64_t)a | ((uint64_t)b << (8 * (r - 4)));
	}
	return (uint64_t)p[0] | ((uint64_t)p[r / 2] << (8 * (r / 2))) |
	       ((uint64_t)p[r - 1] << (8 * (r - 1)));
}

/* Every bit of the first r octets of a word (r < 8): a word test
 * masked with it sees only the octets wire_load_short_le() loaded. */
static inline uint64_t wire_first_octets(size_t r)
{
	return ((uint64_t)1 << (8 * r)) - 1;
}

/*
 * Budget test for counters: true when adding `add` to `used` would pass
 * `max`.  Written as a subtraction so it cannot wrap.
 */
#define BUDGET_EXCEEDED(used, add, max) \
	((used) > (max) || (add) > (max) - (used))

#endif
