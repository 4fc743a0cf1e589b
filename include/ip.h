/*
 * ip.h - the link and network layers: packets in, TCP segments out.
 *
 * Decodes the link types listed in capture.h (Ethernet with 802.1Q and
 * QinQ tags, Linux SLL and SLL2, raw IP, NULL/LOOP), IPv4 with options
 * and fragments (reassembled within caps), IPv6 with extension headers
 * (and IPv6 fragments), IP-in-IP / 6in4 tunnels, and hands every TCP
 * segment to its consumer.  Every header field is bounds-checked with
 * WIRE_HAS() before use; malformed packets are counted, never fatal.
 */
#ifndef IMT_IP_H
#define IMT_IP_H

#include <stdint.h>
#include <stddef.h>

#include "capture.h"
#include "findings.h"
#include "imt_limits.h"

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20

/* A TCP endpoint.  Addresses are kept in network order; IPv4 uses the
 * first 4 bytes of addr. */
struct ip_endpoint {
	uint8_t family;          /* 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
};

/* One TCP segment.  `payload` follows the rule in capture.h. */
struct ip_segment {
	uint64_t frame;
	int64_t ts_sec;
	uint32_t ts_nsec;
	int ts_nano;
	struct ip_endpoint src, dst;
	uint32_t seq, ack;
	uint8_t flags;           /* TCPF_ bits */
	uint16_t window;
	const uint8_t *payload;
	uint32_t payload_len;    /* payload bytes present */
	uint32_t payload_missing;/* payload bytes the snapshot length cut off;
				    they follow the present ones in sequence space */
	/* The packet's lessor when payload lies in the packet's data
	 * (cap_packet.lessor); NULL for rebuilt datagrams. */
	struct cap_reader *lessor;
};

struct ip_callbacks {
	void (*on_segment)(void *user, const struct ip_segment *seg);
	/* limit-reached (fragments) and other findings not tied to a flow. */
	void (*on_finding)(void *user, const struct imt_finding_report *f);
};

struct ip_decoder;

/* Creates a decoder; NULL only when out of memory. */
struct ip_decoder *ip_decoder_new(const struct imt_limits *lim,
				  const struct ip_callbacks *cb, void *user);

/*
 * Decodes one packet and pushes the TCP segment in it, if any (for a
 * fragment, when its datagram completes).  Returns 0, or CAP_ERR_LINKTYPE
 * when the packet's link type is not supported (the caller reports it
 * once and may stop).
 */
int ip_decoder_feed(struct ip_decoder *d, const struct cap_packet *pkt);

/*
 * The endpoints of a packet that is plainly TCP (over IPv4 not
 * fragmented, or IPv6 without extension headers), read from its headers
 * without decoding it: for hints about packets still to come, such as
 * which flow's memory to fetch ahead.  Counts nothing and tells nothing;
 * returns 1 and sets *src and *dst (normalized: unused bytes zero), or 0
 * for any other packet.
 */
int ip_peek_tcp(int linktype, const uint8_t *data, size_t caplen,
		struct ip_endpoint *src, struct ip_endpoint *dst);

/* Counters. */
struct ip_stats {
	uint64_t tcp_segments;
	uint64_t non_tcp;        /* UDP, ARP, ICMP, ... */
	uint64_t malformed;      /* headers that did not fit or did not parse */
	uint64_t fragments;
	uint64_t reassembled;    /* datagrams rebuilt from fragments */
	uint64_t frag_dropped;   /* fragments dropped by a cap or a timeout */
};
void ip_decoder_stats(const struct ip_decoder *d, struct ip_stats *st_r);

/* Frees d and any fragments it holds; accepts NULL. */
void ip_decoder_free(struct ip_decoder *d);

/* Formats an endpoint as "ip:port" ("[v6]:port" for IPv6) into buf of at
 * least IP_ENDPOINT_STRLEN bytes; returns buf. */
#define IP_ENDPOINT_STRLEN 64
char *ip_endpoint_format(const struct ip_endpoint *ep, char *buf, size_t size);

#endif
