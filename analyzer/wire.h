/*
 * wire.h - the one idiom for reading bytes that came from the wire.
 * Internal to the analyzer: stages include it, nothing outside does.
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

#endif
