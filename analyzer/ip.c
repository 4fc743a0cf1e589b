/*
 * ip.c - link and network layers: packets in, TCP segments out (ip.h).
 *
 * Decoding is a chain of small functions, each handed a pointer into the
 * packet and two lengths: `have`, the bytes present (caplen), and `wire`,
 * the bytes the frame had on the wire.  Each layer trims both to its own
 * length field (so Ethernet padding never becomes payload) and passes the
 * rest on; what the snapshot length cut off ends up as payload_missing.
 *
 * Fragments of IPv4 and IPv6 go through one reassembler.  Each datagram
 * keeps a buffer sized to the highest byte seen and a coverage bitmap;
 * a byte is written only the first time it arrives, so overlapping
 * fragments resolve the same way whatever they carry (first copy wins,
 * as most receiving hosts do) and the cost stays linear in the bytes
 * received.  Memory held is counted (buffer + bitmap + entry) against
 * max_frag_bytes, datagrams against max_frag_datagrams; on a cap the
 * oldest datagram is dropped and reported.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dec.h"
#include "hash.h"
#include "ip.h"
#include "mem.h"
#include "wire.h"

/* Tunnels (IP-in-IP, 6in4) decapsulated inside one another at most. */
#define IP_MAX_DEPTH		4
/* IPv6 extension headers followed before giving up. */
#define IP_MAX_EXTHDRS		16
/* A reassembled datagram cannot be larger than the 16-bit length. */
#define IP_FRAG_MAX_DATAGRAM	65535u
/* Smallest buffer allocated for a datagram. */
#define IP_FRAG_MIN_BUF		512u

#define ETH_IPV4		0x0800
#define ETH_IPV6		0x86DD

/* One datagram being reassembled. */
struct ip_frag {
	struct ip_frag *hnext;   /* hash chain */
	struct ip_frag *older;   /* age list: creation order */
	struct ip_frag *newer;
	uint8_t family;
	uint8_t proto;           /* key part for IPv4, 0 for IPv6 */
	uint8_t l4;              /* protocol of the payload, once known */
	uint8_t have_l4;
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint32_t hash;
	int64_t first_sec;       /* time of the first fragment */
	uint32_t total;          /* payload length, once the last is seen */
	int have_last;
	uint32_t max_end;        /* highest byte written + 1 */
	uint32_t covered;        /* bytes written */
	uint32_t nfrags;
	uint32_t cap;            /* bytes in buf */
	uint8_t *buf;
	uint8_t *map;            /* one bit per byte of buf */
	size_t held;             /* charged to max_frag_bytes */
};

struct ip_decoder {
	struct imt_limits lim;
	struct ip_callbacks cb;
	void *user;
	struct ip_stats st;
	struct ip_frag **buckets;
	uint32_t nbuckets;       /* a power of two */
	struct ip_frag *oldest;
	struct ip_frag *newest;
	uint32_t nfrag;          /* datagrams in progress */
	size_t frag_bytes;       /* memory held by them */
	uint64_t seed;           /* of the fragment table's hash */
};

/* Addresses and protocol of the packet being decoded. */
struct ip_hdr {
	uint8_t family;
	const uint8_t *src;
	const uint8_t *dst;
};

static void ip_network(struct ip_decoder *d, const struct cap_packet *pkt,
		       int version, const uint8_t *p, size_t have,
		       size_t wire, int depth);
static void ip_v6_chain(struct ip_decoder *d, const struct cap_packet *pkt,
			const struct ip_hdr *ih, uint8_t nh, const uint8_t *p,
			size_t have, size_t missing, int depth);

/* ---- findings ----------------------------------------------------- */

static void ip_report_limit(struct ip_decoder *d, const struct cap_packet *pkt,
			    const char *limit, const char *detail,
			    uint64_t value)
{
	struct imt_finding_report f;

	if (d->cb.on_finding == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.id = F_LIMIT_REACHED;
	f.frame = pkt->frame;
	f.dir = IMT_DIR_NONE;
	f.detail = detail;
	f.limit = limit;
	f.value = value;
	d->cb.on_finding(d->user, &f);
}

/* ---- TCP ---------------------------------------------------------- */

static void ip_endpoint_set(struct ip_endpoint *ep, uint8_t family,
			    const uint8_t *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	/* Fixed sizes: copies the compiler writes out, not calls. */
	if (family == 4)
		memcpy(ep->addr, addr, 4);
	else
		memcpy(ep->addr, addr, 16);
	ep->port = port;
}

static void ip_tcp(struct ip_decoder *d, const struct cap_packet *pkt,
		   const struct ip_hdr *ih, const uint8_t *p, size_t have,
		   size_t missing)
{
	struct ip_segment seg;
	size_t doff;

	/* A header cut by the snapshot length is as unusable as a bad one. */
	if (!WIRE_HAS(have, 0, 20)) {
		d->st.malformed++;
		return;
	}
	doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20 || !WIRE_HAS(have, 0, doff)) {
		d->st.malformed++;
		return;
	}
	memset(&seg, 0, sizeof(seg));
	seg.frame = pkt->frame;
	seg.ts_sec = pkt->ts_sec;
	seg.ts_nsec = pkt->ts_nsec;
	seg.ts_nano = pkt->ts_nano;
	ip_endpoint_set(&seg.src, ih->family, ih->src, wire_be16(p));
	ip_endpoint_set(&seg.dst, ih->family, ih->dst, wire_be16(p + 2));
	seg.seq = wire_be32(p + 4);
	seg.ack = wire_be32(p + 8);
	seg.flags = p[13] & 0x3f;
	seg.window = wire_be16(p + 14);
	seg.payload = p + doff;
	seg.payload_len = (uint32_t)(have - doff);
	seg.payload_missing = (uint32_t)missing;
	/* A reassembled datagram lives in the decoder's buffer, not in
	 * the packet. */
	seg.lessor = (uintptr_t)p >= (uintptr_t)pkt->data &&
		     (uintptr_t)p - (uintptr_t)pkt->data <= pkt->caplen ?
		     pkt->lessor : NULL;
	d->st.tcp_segments++;
	if (d->cb.on_segment != NULL)
		d->cb.on_segment(d->user, &seg);
}

/* Hands an IP payload to its protocol: TCP, a tunnel, or the counter. */
static void ip_transport(struct ip_decoder *d, const struct cap_packet *pkt,
			 const struct ip_hdr *ih, uint8_t proto,
			 const uint8_t *p, size_t have, size_t missing,
			 int depth)
{
	switch (proto) {
	case 6:
		ip_tcp(d, pkt, ih, p, have, missing);
		break;
	case 4:
		ip_network(d, pkt, 4, p, have, have + missing, depth + 1);
		break;
	case 41:
		ip_network(d, pkt, 6, p, have, have + missing, depth + 1);
		break;
	default:
		d->st.non_tcp++;
		break;
	}
}

/* ---- fragment reassembly ------------------------------------------ */

/* The table is keyed by addresses from the wire: seeded, so that crafted
 * fragments cannot all be made to land in one bucket. */
static uint32_t ip_frag_hash(const struct ip_decoder *d, uint8_t family,
			     uint8_t proto, const uint8_t *src,
			     const uint8_t *dst, uint32_t id)
{
	size_t alen = family == 4 ? 4 : 16;
	uint8_t key[2 * 16 + 6];

	memcpy(key, src, alen);
	memcpy(key + alen, dst, alen);
	memcpy(key + 2 * alen, &id, 4);
	key[2 * alen + 4] = proto;
	key[2 * alen + 5] = family;
	return (uint32_t)hash_bytes(d->seed, key, 2 * alen + 6);
}

static struct ip_frag *ip_frag_find(struct ip_decoder *d, uint32_t hash,
				    uint8_t family, uint8_t proto,
				    const uint8_t *src, const uint8_t *dst,
				    uint32_t id)
{
	size_t alen = family == 4 ? 4 : 16;
	struct ip_frag *f;

	for (f = d->buckets[hash & (d->nbuckets - 1)]; f; f = f->hnext) {
		if (f->hash == hash && f->family == family &&
		    f->proto == proto && f->id == id &&
		    memcmp(f->src, src, alen) == 0 &&
		    memcmp(f->dst, dst, alen) == 0)
			return f;
	}
	return NULL;
}

/* Takes f out of the table and the age list and uncharges its memory. */
static void ip_frag_unlink(struct ip_decoder *d, struct ip_frag *f)
{
	struct ip_frag **pp = &d->buckets[f->hash & (d->nbuckets - 1)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	if (f->older)
		f->older->newer = f->newer;
	else
		d->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else
		d->newest = f->older;
	d->nfrag--;
	d->frag_bytes -= f->held;
}

static void ip_frag_free(struct ip_frag *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	free(f->map);
	free(f);
}

/* Drops an unfinished datagram, counting and reporting it. */
static void ip_frag_drop(struct ip_decoder *d, const struct cap_packet *pkt,
			 struct ip_frag *f, const char *limit, const char *why)
{
	char detail[160];

	snprintf(detail, sizeof(detail),
		 "dropped an incomplete fragmented IPv%u datagram "
		 "(%u fragments, %u bytes) %s",
		 f->family, f->nfrags, f->covered, why);
	d->st.frag_dropped += f->nfrags;
	ip_frag_unlink(d, f);
	ip_report_limit(d, pkt, limit, detail, f->covered);
	ip_frag_free(f);
}

static void ip_frag_expire(struct ip_decoder *d, const struct cap_packet *pkt)
{
	while (d->oldest != NULL &&
	       pkt->ts_sec - d->oldest->first_sec > (int64_t)d->lim.frag_timeout)
		ip_frag_drop(d, pkt, d->oldest, "frag-timeout",
			     "after the fragment timeout");
}

/*
 * Makes room for `add` more bytes by dropping the oldest datagrams other
 * than `keep`.  Returns 0 when the bytes fit, -1 when they cannot.
 */
static int ip_frag_room(struct ip_decoder *d, const struct cap_packet *pkt,
			const struct ip_frag *keep, size_t add)
{
	while (BUDGET_EXCEEDED(d->frag_bytes, add, d->lim.max_frag_bytes)) {
		struct ip_frag *victim = d->oldest;

		if (victim != NULL && victim == keep)
			victim = victim->newer;
		if (victim == NULL)
			return -1;
		ip_frag_drop(d, pkt, victim, "max-frag-bytes",
			     "to stay within max-frag-bytes");
	}
	return 0;
}

/* Grows f's buffer and bitmap to hold `end` bytes.  Returns 0 or -1. */
static int ip_frag_grow(struct ip_decoder *d, const struct cap_packet *pkt,
			struct ip_frag *f, uint32_t end)
{
	/* The caller checked end <= IP_FRAG_MAX_DATAGRAM: never 0.  The
	 * growth is charged before it is made, so the buffers are
	 * reallocated here rather than through mem_grow(). */
	uint32_t ncap = (uint32_t)mem_grow_cap(f->cap, end, IP_FRAG_MIN_BUF,
					       IP_FRAG_MAX_DATAGRAM);
	size_t oldmap = (f->cap + 7) / 8, newmap, add;
	uint8_t *nbuf, *nmap;

	newmap = (ncap + 7) / 8;
	add = (ncap - f->cap) + (newmap - oldmap);
	if (ip_frag_room(d, pkt, f, add) != 0)
		return -1;
	nbuf = realloc(f->buf, ncap);
	if (nbuf == NULL)
		return -1;
	f->buf = nbuf;
	nmap = realloc(f->map, newmap);
	if (nmap == NULL)
		return -1;
	memset(nmap + oldmap, 0, newmap - oldmap);
	f->map = nmap;
	f->cap = ncap;
	f->held += add;
	d->frag_bytes += add;
	return 0;
}

/* Creates an empty datagram entry, dropping the oldest one when the
 * table is full.  Returns NULL when it cannot. */
static struct ip_frag *ip_frag_new(struct ip_decoder *d,
				   const struct cap_packet *pkt,
				   uint32_t hash, uint8_t family, uint8_t proto,
				   const uint8_t *src, const uint8_t *dst,
				   uint32_t id)
{
	struct ip_frag *f;

	if (d->lim.max_frag_datagrams == 0)
		return NULL;
	if (d->nfrag >= d->lim.max_frag_datagrams)
		ip_frag_drop(d, pkt, d->oldest, "max-frag-datagrams",
			     "to stay within max-frag-datagrams");
	if (ip_frag_room(d, pkt, NULL, sizeof(*f)) != 0)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->hash = hash;
	f->family = family;
	f->proto = proto;
	memcpy(f->src, src, family == 4 ? 4 : 16);
	memcpy(f->dst, dst, family == 4 ? 4 : 16);
	f->id = id;
	f->first_sec = pkt->ts_sec;
	f->held = sizeof(*f);
	f->hnext = d->buckets[hash & (d->nbuckets - 1)];
	d->buckets[hash & (d->nbuckets - 1)] = f;
	f->older = d->newest;
	if (d->newest)
		d->newest->newer = f;
	else
		d->oldest = f;
	d->newest = f;
	d->nfrag++;
	d->frag_bytes += f->held;
	return f;
}

/* Copies the bytes of [off, off + len) that no earlier fragment gave. */
static void ip_frag_fill(struct ip_frag *f, uint32_t off, const uint8_t *p,
			 uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++) {
		uint32_t b = off + i;
		uint8_t bit = (uint8_t)(1u << (b & 7));

		if (f->map[b >> 3] & bit)
			continue;
		f->map[b >> 3] |= bit;
		f->buf[b] = p[i];
		f->covered++;
	}
	if (off + len > f->max_end)
		f->max_end = off + len;
}

/* A fragment: where it belongs and what it carries. */
struct ip_fragment {
	uint8_t proto;           /* IPv4 key protocol; 0 for IPv6 */
	uint8_t l4;              /* payload protocol (meaningful at offset 0) */
	uint32_t id;
	uint32_t off;
	int more;
	const uint8_t *data;
	size_t len;
	size_t missing;
};

/* Rejects fragments that contradict what the datagram already knows. */
static int ip_frag_consistent(const struct ip_frag *f, uint32_t end,
			      int more)
{
	if (!more) {
		if (f->have_last && f->total != end)
			return 0;
		if (f->max_end > end)
			return 0;
	} else if (f->have_last && end > f->total) {
		return 0;
	}
	return 1;
}

static void ip_frag_add(struct ip_decoder *d, const struct cap_packet *pkt,
			const struct ip_hdr *ih, const struct ip_fragment *fr,
			int depth)
{
	uint32_t hash, end;
	struct ip_frag *f;

	d->st.fragments++;
	/* Bytes the snapshot length cut off cannot be rebuilt. */
	if (fr->missing > 0 ||
	    fr->len > IP_FRAG_MAX_DATAGRAM - fr->off) {
		if (fr->missing == 0)
			d->st.malformed++;
		d->st.frag_dropped++;
		return;
	}
	end = fr->off + (uint32_t)fr->len;
	hash = ip_frag_hash(d, ih->family, fr->proto, ih->src, ih->dst, fr->id);
	f = ip_frag_find(d, hash, ih->family, fr->proto, ih->src, ih->dst,
			 fr->id);
	if (f == NULL) {
		f = ip_frag_new(d, pkt, hash, ih->family, fr->proto, ih->src,
				ih->dst, fr->id);
		if (f == NULL) {
			d->st.frag_dropped++;
			ip_report_limit(d, pkt, d->lim.max_frag_datagrams == 0 ?
					"max-frag-datagrams" : "max-frag-bytes",
					"dropped a fragment: no room for another datagram",
					fr->len);
			return;
		}
	}
	if (!ip_frag_consistent(f, end, fr->more)) {
		d->st.malformed++;
		d->st.frag_dropped++;
		return;
	}
	if (end > f->cap && ip_frag_grow(d, pkt, f, end) != 0) {
		d->st.frag_dropped++;
		ip_frag_drop(d, pkt, f, "max-frag-bytes",
			     "with the fragment that would pass max-frag-bytes");
		return;
	}
	ip_frag_fill(f, fr->off, fr->data, (uint32_t)fr->len);
	f->nfrags++;
	if (fr->off == 0 && !f->have_l4) {
		f->l4 = fr->l4;
		f->have_l4 = 1;
	}
	if (!fr->more) {
		f->have_last = 1;
		f->total = end;
	}
	if (!f->have_last || f->covered != f->total || !f->have_l4)
		return;
	/* Complete.  Unlinked first so that decoding it (a tunnel may hold
	 * fragments too) cannot evict it. */
	ip_frag_unlink(d, f);
	d->st.reassembled++;
	{
		struct ip_hdr inner = { f->family, f->src, f->dst };

		/* Nested fragmentation counts as a level of depth. */
		if (depth >= IP_MAX_DEPTH)
			d->st.malformed++;
		else if (f->family == 6)
			ip_v6_chain(d, pkt, &inner, f->l4, f->buf, f->total,
				    0, depth + 1);
		else
			ip_transport(d, pkt, &inner, f->l4, f->buf, f->total,
				     0, depth + 1);
	}
	ip_frag_free(f);
}

/* ---- IPv4 and IPv6 ------------------------------------------------ */

static void ip_v4(struct ip_decoder *d, const struct cap_packet *pkt,
		  const uint8_t *p, size_t have, size_t wire, int depth)
{
	size_t ihl, tot, end, present;
	struct ip_hdr ih;
	uint16_t fo;

	if (!WIRE_HAS(have, 0, 20) || (p[0] >> 4) != 4) {
		d->st.malformed++;
		return;
	}
	ihl = (size_t)(p[0] & 0x0f) * 4;
	tot = wire_be16(p + 2);
	/* Total length 0 comes from segmentation offload: use the frame. */
	if (tot == 0)
		tot = wire;
	if (ihl < 20 || !WIRE_HAS(have, 0, ihl) || tot < ihl) {
		d->st.malformed++;
		return;
	}
	end = tot < wire ? tot : wire;
	present = end < have ? end : have;
	ih.family = 4;
	ih.src = p + 12;
	ih.dst = p + 16;
	fo = wire_be16(p + 6);
	if ((fo & 0x2000) != 0 || (fo & 0x1fff) != 0) {
		struct ip_fragment fr = {
			.proto = p[9], .l4 = p[9], .id = wire_be16(p + 4),
			.off = (uint32_t)(fo & 0x1fff) * 8,
			.more = (fo & 0x2000) != 0,
			.data = p + ihl, .len = present - ihl,
			.missing = end - present,
		};

		ip_frag_add(d, pkt, &ih, &fr, depth);
		return;
	}
	ip_transport(d, pkt, &ih, p[9], p + ihl, present - ihl, end - present,
		     depth);
}

/* True for the IPv6 extension headers skipped by their length field. */
static int ip_v6_is_exthdr(uint8_t nh)
{
	/* hop-by-hop, routing, destination options, authentication */
	return nh == 0 || nh == 43 || nh == 60 || nh == 51;
}

/* Length of the extension header at p (two bytes present) of type nh. */
static size_t ip_v6_exthdr_len(uint8_t nh, const uint8_t *p)
{
	if (nh == 51)
		return ((size_t)p[1] + 2) * 4;
	return ((size_t)p[1] + 1) * 8;
}

/*
 * Walks IPv6 extension headers from p (the bytes after the fixed header,
 * or a reassembled fragmentable part), starting with header type nh, and
 * hands on the transport or the fragment.
 */
static void ip_v6_chain(struct ip_decoder *d, const struct cap_packet *pkt,
			const struct ip_hdr *ih, uint8_t nh, const uint8_t *p,
			size_t have, size_t missing, int depth)
{
	size_t off = 0, hl;
	int n;

	for (n = 0; n < IP_MAX_EXTHDRS; n++) {
		if (nh == 44) {                         /* fragment */
			struct ip_fragment fr;
			uint16_t fo;

			if (!WIRE_HAS(have, off, 8))
				break;
			fo = wire_be16(p + off + 2);
			if ((fo & 0xfff8) == 0 && (fo & 1) == 0) {
				/* Atomic fragment: nothing to rebuild. */
				nh = p[off];
				off += 8;
				continue;
			}
			memset(&fr, 0, sizeof(fr));
			fr.l4 = p[off];
			fr.id = wire_be32(p + off + 4);
			fr.off = fo & 0xfff8;
			fr.more = fo & 1;
			fr.data = p + off + 8;
			fr.len = have - off - 8;
			fr.missing = missing;
			ip_frag_add(d, pkt, ih, &fr, depth);
			return;
		}
		if (!ip_v6_is_exthdr(nh)) {
			ip_transport(d, pkt, ih, nh, p + off, have - off,
				     missing, depth);
			return;
		}
		if (!WIRE_HAS(have, off, 2))
			break;
		hl = ip_v6_exthdr_len(nh, p + off);
		if (!WIRE_HAS(have, off, hl))
			break;
		nh = p[off];
		off += hl;
	}
	/* The chain did not fit, or is absurdly long.  ESP (50) and
	 * no-next-header (59) end it above, as non-TCP. */
	d->st.malformed++;
}

static void ip_v6(struct ip_decoder *d, const struct cap_packet *pkt,
		  const uint8_t *p, size_t have, size_t wire, int depth)
{
	size_t plen, end, present;
	struct ip_hdr ih;

	if (!WIRE_HAS(have, 0, 40) || (p[0] >> 4) != 6) {
		d->st.malformed++;
		return;
	}
	plen = wire_be16(p + 4);
	/* 0 is a jumbogram or segmentation offload: use the frame. */
	end = plen == 0 ? wire : 40 + plen;
	if (end > wire)
		end = wire;
	present = end < have ? end : have;
	ih.family = 6;
	ih.src = p + 8;
	ih.dst = p + 24;
	ip_v6_chain(d, pkt, &ih, p[6], p + 40, present - 40, end - present,
		    depth);
}

static void ip_network(struct ip_decoder *d, const struct cap_packet *pkt,
		       int version, const uint8_t *p, size_t have,
		       size_t wire, int depth)
{
	if (depth > IP_MAX_DEPTH) {
		d->st.malformed++;
		return;
	}
	if (version == 4)
		ip_v4(d, pkt, p, have, wire, depth);
	else if (version == 6)
		ip_v6(d, pkt, p, have, wire, depth);
	else
		d->st.non_tcp++;
}

/* ---- link layer --------------------------------------------------- */

static int ip_ethertype_version(uint16_t type)
{
	if (type == ETH_IPV4)
		return 4;
	if (type == ETH_IPV6)
		return 6;
	return 0;
}

/* Sets *off_r past the Ethernet header and its VLAN tags and returns the
 * IP version (0 = not IP), or -1 when the header does not fit. */
static int ip_link_ether(const uint8_t *p, size_t have, size_t *off_r)
{
	size_t off = 12;
	uint16_t type;

	if (!WIRE_HAS(have, off, 2))
		return -1;
	type = wire_be16(p + off);
	/* 802.1Q, 802.1ad and the pre-standard QinQ types, any depth. */
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100 ||
	       type == 0x9200) {
		off += 4;
		if (!WIRE_HAS(have, off, 2))
			return -1;
		type = wire_be16(p + off);
	}
	off += 2;
	/* 802.3 length with LLC/SNAP carrying an Ethertype. */
	if (type < 0x0600) {
		static const uint8_t snap[6] = { 0xaa, 0xaa, 0x03, 0, 0, 0 };

		if (!WIRE_HAS(have, off, 8) || memcmp(p + off, snap, 6) != 0)
			return 0;
		type = wire_be16(p + off + 6);
		off += 8;
	}
	*off_r = off;
	return ip_ethertype_version(type);
}

/* BSD address families used by NULL and LOOP headers. */
static int ip_af_version(uint32_t af)
{
	if (af == 2)
		return 4;
	if (af == 24 || af == 28 || af == 30)  /* AF_INET6: BSDs, macOS */
		return 6;
	return 0;
}

/*
 * Finds the network layer: sets *off_r and returns the IP version, 0 for
 * a non-IP frame, -1 for a frame too short for its link header, or -2 for
 * an unsupported link type.
 */
static int ip_link(int linktype, const uint8_t *p, size_t have,
		   size_t *off_r)
{
	uint32_t af;

	*off_r = 0;
	switch (linktype) {
	case CAP_LINK_EN10MB:
		return ip_link_ether(p, have, off_r);
	case CAP_LINK_LINUX_SLL:
		if (!WIRE_HAS(have, 0, 16))
			return -1;
		*off_r = 16;
		return ip_ethertype_version(wire_be16(p + 14));
	case CAP_LINK_LINUX_SLL2:
		if (!WIRE_HAS(have, 0, 20))
			return -1;
		*off_r = 20;
		return ip_ethertype_version(wire_be16(p));
	case CAP_LINK_RAW:
	case 12:                /* DLT_RAW on most systems */
	case 14:                /* DLT_RAW on OpenBSD */
		if (!WIRE_HAS(have, 0, 1))
			return -1;
		return p[0] >> 4;
	case CAP_LINK_IPV4:
		return 4;
	case CAP_LINK_IPV6:
		return 6;
	case CAP_LINK_NULL:
		if (!WIRE_HAS(have, 0, 4))
			return -1;
		/* Host order of the capturing machine: a family is small, so
		 * high bits set means the other byte order. */
		af = wire_le32(p);
		if (af & 0xffff0000u)
			af = wire_be32(p);
		*off_r = 4;
		return ip_af_version(af);
	case CAP_LINK_LOOP:
		if (!WIRE_HAS(have, 0, 4))
			return -1;
		*off_r = 4;
		return ip_af_version(wire_be32(p));
	}
	return -2;
}

int ip_decoder_feed(struct ip_decoder *d, const struct cap_packet *pkt)
{
	size_t off, have = pkt->caplen, wire = pkt->len;
	int v;

	if (d->oldest != NULL)
		ip_frag_expire(d, pkt);
	/* A file may claim fewer bytes on the wire than it stored. */
	if (wire < have)
		wire = have;
	v = ip_link(pkt->linktype, pkt->data, have, &off);
	if (v == -2)
		return CAP_ERR_LINKTYPE;
	if (v < 0) {
		d->st.malformed++;
		return 0;
	}
	if (v != 4 && v != 6) {
		d->st.non_tcp++;
		return 0;
	}
	if (off > have) {
		d->st.malformed++;
		return 0;
	}
	ip_network(d, pkt, v, pkt->data + off, have - off, wire - off, 0);
	return 0;
}

int ip_peek_tcp(int linktype, const uint8_t *data, size_t caplen,
		struct ip_endpoint *src, struct ip_endpoint *dst)
{
	size_t off, have, ihl;
	const uint8_t *p;
	int v = ip_link(linktype, data, caplen, &off);

	if ((v != 4 && v != 6) || off > caplen)
		return 0;
	p = data + off;
	have = caplen - off;
	if (v == 4) {
		if (!WIRE_HAS(have, 0, 20) || (p[0] >> 4) != 4 || p[9] != 6 ||
		    (wire_be16(p + 6) & 0x3fff) != 0)
			return 0;
		ihl = (size_t)(p[0] & 0x0f) * 4;
		if (ihl < 20 || !WIRE_HAS(have, ihl, 4))
			return 0;
		ip_endpoint_set(src, 4, p + 12, wire_be16(p + ihl));
		ip_endpoint_set(dst, 4, p + 16, wire_be16(p + ihl + 2));
		return 1;
	}
	if (!WIRE_HAS(have, 0, 44) || (p[0] >> 4) != 6 || p[6] != 6)
		return 0;
	ip_endpoint_set(src, 6, p + 8, wire_be16(p + 40));
	ip_endpoint_set(dst, 6, p + 24, wire_be16(p + 42));
	return 1;
}

/* ---- lifecycle ---------------------------------------------------- */

struct ip_decoder *ip_decoder_new(const struct imt_limits *lim,
				  const struct ip_callbacks *cb, void *user)
{
	struct ip_decoder *d = calloc(1, sizeof(*d));
	uint32_t n = 64;

	if (d == NULL)
		return NULL;
	if (lim != NULL)
		d->lim = *lim;
	else
		imt_limits_default(&d->lim);
	if (cb != NULL)
		d->cb = *cb;
	d->user = user;
	d->seed = hash_seed(d);
	while (n < d->lim.max_frag_datagrams && n < (1u << 16))
		n *= 2;
	d->nbuckets = n;
	d->buckets = calloc(n, sizeof(*d->buckets));
	if (d->buckets == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void ip_decoder_stats(const struct ip_decoder *d, struct ip_stats *st_r)
{
	*st_r = d->st;
}

void ip_decoder_free(struct ip_decoder *d)
{
	struct ip_frag *f, *next;

	if (d == NULL)
		return;
	for (f = d->oldest; f != NULL; f = next) {
		next = f->newer;
		ip_frag_free(f);
	}
	free(d->buckets);
	free(d);
}

/* Without inet_ntop() and snprintf() for IPv4, the common case: every
 * session names its two endpoints once. */
char *ip_endpoint_format(const struct ip_endpoint *ep, char *buf, size_t size)
{
	char a[IP_ENDPOINT_STRLEN], num[DEC_U64_MAXLEN];
	char *d = a, *e = num + sizeof(num), *p;
	size_t n;

	if (size == 0)
		return buf;
	if (ep->family == 4) {
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				*d++ = '.';
			p = dec_format_u64(e, ep->addr[i]);
			memcpy(d, p, (size_t)(e - p));
			d += e - p;
		}
	} else if (ep->family == 6 &&
		   inet_ntop(AF_INET6, ep->addr, a + 1, INET6_ADDRSTRLEN) != NULL) {
		a[0] = '[';
		d = a + 1 + strlen(a + 1);
		*d++ = ']';
	} else {
		*d++ = '?';
	}
	*d++ = ':';
	p = dec_format_u64(e, ep->port);
	memcpy(d, p, (size_t)(e - p));
	d += e - p;
	/* Cut to size as snprintf() would. */
	n = (size_t)(d - a);
	if (n > size - 1)
		n = size - 1;
	memcpy(buf, a, n);
	buf[n] = '\0';
	return buf;
}
