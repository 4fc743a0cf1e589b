/*
 * scan8.h - scanning text eight bytes at a time.
 *
 * For loops that skip plain text a machine word at a time (the IMAP line
 * scan, the tokenizer, the JSON string writer): tests of all eight bytes
 * of a word at once, and a load of a string's last few bytes that stays
 * inside the string.  These read only bytes the caller has bounds-checked;
 * reading wire data safely is wire.h's business.
 */
#ifndef IMT_SCAN8_H
#define IMT_SCAN8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SCAN8_ONES  0x0101010101010101ull
#define SCAN8_HIGHS 0x8080808080808080ull

/*
 * The high bit of each byte of w that is below c (c at most 0x80), or
 * (scan8_eq) that equals c.  Bits above the lowest one set may be false
 * alarms (a borrow carries on); the lowest one is exact, and 0 means no
 * such byte.
 */
static inline uint64_t scan8_below(uint64_t w, uint8_t c)
{
	return (w - c * SCAN8_ONES) & ~w & SCAN8_HIGHS;
}

static inline uint64_t scan8_eq(uint64_t w, uint8_t c)
{
	return scan8_below(w ^ (c * SCAN8_ONES), 1);
}

/*
 * The r octets at p (1 <= r <= 7) as the low octets of a little-endian
 * word, the rest zero, read without going past p + r and without a call:
 * two overlapping loads, whose common octets are the same.
 */
static inline uint64_t scan8_load_short_le(const unsigned char *p, size_t r)
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
 * masked with it sees only the octets scan8_load_short_le() loaded. */
static inline uint64_t scan8_first_octets(size_t r)
{
	return ((uint64_t)1 << (8 * r)) - 1;
}

#endif
