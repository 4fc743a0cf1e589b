/*
 * community_id.h - Community ID v1 flow hashes.
 *
 * The Community ID (corelight/community-id-spec, version 1) names a flow
 * the same way in every tool that computes it: Zeek, Suricata, Arkime and
 * imaptrace give a TCP connection the same "1:<base64>" string, so their
 * records join on it.  The hash is SHA-1 over
 *
 *     seed (2 bytes, network order) . addr A . addr B . protocol (1 byte)
 *     . 0 (1 byte) . port A (2 bytes) . port B (2 bytes)
 *
 * where endpoint A is the smaller of the two (address compared bytewise,
 * then port), so both directions of a flow give one ID.  Ports are left
 * out for protocols that have none.  ICMP's type/code mapping is not
 * implemented: imaptrace only names TCP flows.
 */
#ifndef IMT_COMMUNITY_ID_H
#define IMT_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#include "ip.h"

/* "1:" + 28 base64 characters + NUL. */
#define COMMUNITY_ID_STRLEN 31

#define COMMUNITY_ID_PROTO_TCP 6
#define COMMUNITY_ID_PROTO_UDP 17
#define COMMUNITY_ID_PROTO_SCTP 132

/* Writes the Community ID of the flow between a and b (either order; both
 * give the same ID) for IP protocol proto into buf (NUL-terminated).
 * Ports are hashed for TCP, UDP and SCTP and left out otherwise.
 * Returns the length written (30), or 0 when a and b are not of one
 * address family (4 or 6), size is below COMMUNITY_ID_STRLEN, or the
 * hash could not be computed. */
size_t community_id_v1(const struct ip_endpoint *a, const struct ip_endpoint *b,
		       uint8_t proto, uint16_t seed, char *buf, size_t size);

/* The SHA-1 digest of data[0..n) into md, through libcrypto.  Returns 0,
 * or -1 when libcrypto could not compute it. */
int community_id_sha1(const void *data, size_t n, uint8_t md[20]);

#endif
