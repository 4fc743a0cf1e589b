/*
 * test_ip.c - link and network decoding, fragments, tunnels, truncation.
 *
 * Crafted captures come from tests/crafted/make_captures.py; other
 * packets are built here byte by byte.  Truncation tests copy each cut
 * into a buffer of exactly that size, so AddressSanitizer catches any
 * read past caplen.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "ip.h"

#define CAPS "tests/captures/"
#define PUB "/work/shared/pcaps/public/"
#define MAXSEG 256

static const char GREETING[] =
	"* OK [CAPABILITY IMAP4rev1] imaptrace test server ready\r\n";
static const char LOGIN[] = "a001 LOGIN alice secret\r\n";
static const char FETCH[] =
	"a002 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])\r\n";

struct seg {
	uint64_t frame;
	int64_t sec;
	uint32_t nsec;
	char src[IP_ENDPOINT_STRLEN];
	char dst[IP_ENDPOINT_STRLEN];
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint32_t len, missing;
	uint8_t payload[256];
};

struct fnd {
	enum imt_finding id;
	uint64_t frame;
	char limit[32];
	char detail[200];
	uint64_t value;
};

struct coll {
	struct seg s[MAXSEG];
	size_t n;
	struct fnd f[16];
	size_t nf;
	struct ip_decoder *d;
	int feed_rc;
};

static void on_segment(void *user, const struct ip_segment *sg)
{
	struct coll *c = user;
	struct seg *s;

	if (c->n >= MAXSEG) {
		c->n++;
		return;
	}
	s = &c->s[c->n++];
	s->frame = sg->frame;
	s->sec = sg->ts_sec;
	s->nsec = sg->ts_nsec;
	ip_endpoint_format(&sg->src, s->src, sizeof(s->src));
	ip_endpoint_format(&sg->dst, s->dst, sizeof(s->dst));
	s->seq = sg->seq;
	s->ack = sg->ack;
	s->flags = sg->flags;
	s->window = sg->window;
	s->len = sg->payload_len;
	s->missing = sg->payload_missing;
	memcpy(s->payload, sg->payload,
	       sg->payload_len < sizeof(s->payload) ? sg->payload_len :
	       sizeof(s->payload));
}

static void on_finding(void *user, const struct imt_finding_report *f)
{
	struct coll *c = user;
	struct fnd *x;

	if (c->nf >= 16) {
		c->nf++;
		return;
	}
	x = &c->f[c->nf++];
	x->id = f->id;
	x->frame = f->frame;
	snprintf(x->limit, sizeof(x->limit), "%s", f->limit ? f->limit : "");
	snprintf(x->detail, sizeof(x->detail), "%s", f->detail ? f->detail : "");
	x->value = f->value;
}

static const struct ip_callbacks icbs = { on_segment, on_finding };

static int on_packet(void *user, const struct cap_packet *pkt)
{
	struct coll *c = user;

	c->feed_rc = ip_decoder_feed(c->d, pkt);
	return 0;
}

static const struct cap_callbacks ccbs = { .on_packet = on_packet };

/* Decodes a whole capture file into c (reset first). */
static void decode_file(const char *path, const struct imt_limits *lim,
			struct coll *c, struct ip_stats *st)
{
	struct cap_reader *r;

	memset(c, 0, sizeof(*c));
	c->d = ip_decoder_new(lim, &icbs, c);
	ck_assert_ptr_nonnull(c->d);
	r = cap_reader_new(NULL, &ccbs, c);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(cap_read_file(r, path), CAP_OK);
	cap_reader_free(r);
	if (st != NULL)
		ip_decoder_stats(c->d, st);
	ip_decoder_free(c->d);
	c->d = NULL;
}

/* Reads the first packet of a capture file into buf. */
static size_t first_packet(const char *path, uint8_t *buf, size_t size,
			   int *linktype_r);

struct grab {
	uint8_t *buf;
	size_t size, len;
	int linktype;
	int done;
};

static int on_grab(void *user, const struct cap_packet *pkt)
{
	struct grab *g = user;

	ck_assert_uint_le(pkt->caplen, g->size);
	memcpy(g->buf, pkt->data, pkt->caplen);
	g->len = pkt->caplen;
	g->linktype = pkt->linktype;
	return 1;
}

static size_t first_packet(const char *path, uint8_t *buf, size_t size,
			   int *linktype_r)
{
	static const struct cap_callbacks gcbs = { .on_packet = on_grab };
	struct grab g = { buf, size, 0, 0, 0 };
	struct cap_reader *r = cap_reader_new(NULL, &gcbs, &g);

	ck_assert_int_eq(cap_read_file(r, path), CAP_ERR_STOPPED);
	cap_reader_free(r);
	*linktype_r = g.linktype;
	return g.len;
}

/* ---- packet builders ------------------------------------------- */

static size_t put_tcp(uint8_t *b, uint32_t seq, size_t optlen,
		      const void *payload, size_t plen)
{
	size_t hl = 20 + optlen;

	memset(b, 0, hl);
	b[0] = 0xc3; b[1] = 0x50;               /* 50000 */
	b[2] = 0x00; b[3] = 143;
	b[4] = seq >> 24; b[5] = seq >> 16; b[6] = seq >> 8; b[7] = seq;
	b[8] = 0; b[9] = 0; b[10] = 0x07; b[11] = 0xd0;   /* ack 2000 */
	b[12] = (uint8_t)((hl / 4) << 4);
	b[13] = TCPF_PSH | TCPF_ACK;
	b[14] = 0x20; b[15] = 0x00;
	if (optlen > 0)
		memset(b + 20, 1, optlen);      /* NOPs */
	memcpy(b + hl, payload, plen);
	return hl + plen;
}

/* IPv4 header from 192.0.2.10 to 198.51.100.20; fo = flags|offset/8. */
static size_t put_ip4(uint8_t *b, uint16_t id, uint16_t fo, uint8_t proto,
		      const void *data, size_t len)
{
	size_t tot = 20 + len;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8); b[3] = (uint8_t)tot;
	b[4] = (uint8_t)(id >> 8); b[5] = (uint8_t)id;
	b[6] = (uint8_t)(fo >> 8); b[7] = (uint8_t)fo;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, "\xc0\x00\x02\x0a\xc6\x33\x64\x14", 8);
	memcpy(b + 20, data, len);
	return tot;
}

static int feed(struct ip_decoder *d, int linktype, int64_t sec,
		uint64_t frame, const uint8_t *p, size_t caplen, size_t len)
{
	/* An exact-size copy: any read past caplen is an ASan error. */
	uint8_t *copy = malloc(caplen ? caplen : 1);
	struct cap_packet pkt;
	int rc;

	memcpy(copy, p, caplen);
	memset(&pkt, 0, sizeof(pkt));
	pkt.frame = frame;
	pkt.ts_sec = sec;
	pkt.linktype = linktype;
	pkt.data = copy;
	pkt.caplen = (uint32_t)caplen;
	pkt.len = (uint32_t)len;
	pkt.file = "test";
	rc = ip_decoder_feed(d, &pkt);
	free(copy);
	return rc;
}

/* Feeds one IPv4 fragment of the TCP segment in `seg`. */
static void feed_frag4_at(struct ip_decoder *d, int64_t sec, uint64_t frame,
			  uint16_t id, size_t off, const uint8_t *data,
			  size_t len, int more)
{
	uint8_t b[2048];
	size_t n = put_ip4(b, id, (uint16_t)((more ? 0x2000 : 0) | off / 8),
			   6, data, len);

	feed(d, CAP_LINK_IPV4, sec, frame, b, n, n);
}

/* The same for bytes [off, off + len) of the segment `seg`. */
static void feed_frag4(struct ip_decoder *d, int64_t sec, uint64_t frame,
		       uint16_t id, const uint8_t *seg, size_t off,
		       size_t len, int more)
{
	feed_frag4_at(d, sec, frame, id, off, seg + off, len, more);
}

static struct coll *new_coll(const struct imt_limits *lim)
{
	static struct coll c;

	memset(&c, 0, sizeof(c));
	c.d = ip_decoder_new(lim, &icbs, &c);
	ck_assert_ptr_nonnull(c.d);
	return &c;
}

/* ---- link layers from crafted captures ------------------------- */

START_TEST(ethernet_greeting_arp_udp_padding)
{
	static struct coll c;
	struct ip_stats st;

	decode_file(CAPS "eth.pcap", NULL, &c, &st);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.s[0].frame, 1);
	ck_assert_int_eq(c.s[0].sec, 1700000000);
	ck_assert_uint_eq(c.s[0].nsec, 1001000);
	ck_assert_str_eq(c.s[0].src, "198.51.100.20:143");
	ck_assert_str_eq(c.s[0].dst, "192.0.2.10:50000");
	ck_assert_uint_eq(c.s[0].seq, 2000);
	ck_assert_uint_eq(c.s[0].ack, 1000);
	ck_assert_uint_eq(c.s[0].flags, TCPF_PSH | TCPF_ACK);
	ck_assert_uint_eq(c.s[0].window, 8192);
	ck_assert_uint_eq(c.s[0].len, strlen(GREETING));
	ck_assert_mem_eq(c.s[0].payload, GREETING, strlen(GREETING));
	ck_assert_uint_eq(c.s[0].missing, 0);
	/* The bare ACK in a 60-byte frame: the 6 padding bytes are not
	 * payload. */
	ck_assert_uint_eq(c.s[1].frame, 4);
	ck_assert_uint_eq(c.s[1].flags, TCPF_ACK);
	ck_assert_uint_eq(c.s[1].ack, 2058);
	ck_assert_uint_eq(c.s[1].len, 0);
	ck_assert_uint_eq(c.s[1].missing, 0);
	ck_assert_uint_eq(st.tcp_segments, 2);
	ck_assert_uint_eq(st.non_tcp, 2);
	ck_assert_uint_eq(st.malformed, 0);
}
END_TEST

static const struct {
	const char *file;
	int v6;
	size_t n;
} login_cases[] = {
	{ CAPS "vlan.pcap", 0, 1 },
	{ CAPS "qinq.pcap", 0, 1 },
	{ CAPS "sll.pcap", 0, 1 },
	{ CAPS "sll2.pcap", 1, 1 },
	{ CAPS "raw4.pcap", 0, 1 },
	{ CAPS "raw6.pcap", 1, 1 },
	{ CAPS "ipv4_dlt.pcap", 0, 1 },
	{ CAPS "ipv6_dlt.pcap", 1, 1 },
	{ CAPS "null.pcap", 0, 2 },     /* IPv4, then IPv6 (AF 30) */
	{ CAPS "loop.pcap", 0, 2 },     /* IPv4, then IPv6 (AF 24) */
	{ CAPS "ipv4_options.pcap", 0, 1 },
	{ CAPS "ipv6_ext.pcap", 1, 1 },
};

START_TEST(login_over_each_link)
{
	static struct coll c;
	struct ip_stats st;
	size_t i;

	decode_file(login_cases[_i].file, NULL, &c, &st);
	ck_assert_uint_eq(c.n, login_cases[_i].n);
	ck_assert_uint_eq(st.malformed, 0);
	for (i = 0; i < c.n; i++) {
		int v6 = login_cases[_i].v6 || i == 1;

		ck_assert_uint_eq(c.s[i].frame, i + 1);
		ck_assert_str_eq(c.s[i].src, v6 ? "[2001:db8::10]:50000" :
				 "192.0.2.10:50000");
		ck_assert_str_eq(c.s[i].dst, v6 ? "[2001:db8:1::20]:143" :
				 "198.51.100.20:143");
		ck_assert_uint_eq(c.s[i].seq, 1000);
		ck_assert_uint_eq(c.s[i].ack, 2000);
		ck_assert_uint_eq(c.s[i].len, strlen(LOGIN));
		ck_assert_mem_eq(c.s[i].payload, LOGIN, strlen(LOGIN));
		ck_assert_uint_eq(c.s[i].missing, 0);
	}
}
END_TEST

START_TEST(tunnels_6in4_and_ipip)
{
	static struct coll c;
	struct ip_stats st;

	decode_file(CAPS "tunnel.pcap", NULL, &c, &st);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.s[0].src, "[2001:db8::10]:50000");
	ck_assert_str_eq(c.s[0].dst, "[2001:db8:1::20]:143");
	ck_assert_mem_eq(c.s[0].payload, LOGIN, strlen(LOGIN));
	ck_assert_str_eq(c.s[1].src, "192.0.2.10:50000");
	ck_assert_uint_eq(c.s[1].len, strlen(FETCH));
	ck_assert_mem_eq(c.s[1].payload, FETCH, strlen(FETCH));
}
END_TEST

START_TEST(ipv4_fragments_in_order)
{
	static struct coll c;
	struct ip_stats st;

	decode_file(CAPS "frag4.pcap", NULL, &c, &st);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.s[0].frame, 3);
	ck_assert_int_eq(c.s[0].sec, 1700000002);
	ck_assert_str_eq(c.s[0].src, "192.0.2.10:50000");
	ck_assert_uint_eq(c.s[0].seq, 1000);
	ck_assert_uint_eq(c.s[0].len, strlen(FETCH));
	ck_assert_mem_eq(c.s[0].payload, FETCH, strlen(FETCH));
	ck_assert_uint_eq(st.fragments, 3);
	ck_assert_uint_eq(st.reassembled, 1);
	ck_assert_uint_eq(st.frag_dropped, 0);
}
END_TEST

START_TEST(ipv4_fragments_out_of_order_overlap)
{
	static struct coll c;
	struct ip_stats st;

	decode_file(CAPS "frag4_ooo.pcap", NULL, &c, &st);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.s[0].frame, 4);
	ck_assert_uint_eq(c.s[0].len, strlen(FETCH));
	/* The forged [16, 40) arrived before [0, 24) and after [24, 48):
	 * only its bytes 16..23 were new, and the first copy wins. */
	ck_assert_mem_eq(c.s[0].payload, "XXXX", 4);
	ck_assert_mem_eq(c.s[0].payload + 4, FETCH + 4, strlen(FETCH) - 4);
	ck_assert_uint_eq(st.fragments, 4);
	ck_assert_uint_eq(st.reassembled, 1);
}
END_TEST

START_TEST(ipv6_fragments)
{
	static struct coll c;
	struct ip_stats st;

	decode_file(CAPS "frag6.pcap", NULL, &c, &st);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.s[0].frame, 3);
	ck_assert_str_eq(c.s[0].src, "[2001:db8::10]:50000");
	ck_assert_str_eq(c.s[0].dst, "[2001:db8:1::20]:143");
	ck_assert_mem_eq(c.s[0].payload, FETCH, strlen(FETCH));
	ck_assert_uint_eq(st.fragments, 3);
	ck_assert_uint_eq(st.reassembled, 1);
}
END_TEST

START_TEST(snaplen_cut_is_missing_not_malformed)
{
	static struct coll c;
	struct ip_stats st;

	decode_file(CAPS "snaplen.pcap", NULL, &c, &st);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.s[0].len, 10);
	ck_assert_mem_eq(c.s[0].payload, "* OK [CAPA", 10);
	ck_assert_uint_eq(c.s[0].missing, strlen(GREETING) - 10);
	/* The second frame ends inside the TCP header. */
	ck_assert_uint_eq(st.tcp_segments, 1);
	ck_assert_uint_eq(st.malformed, 1);
}
END_TEST

START_TEST(unsupported_link_type)
{
	struct coll *c = new_coll(NULL);
	uint8_t b[64] = { 0 };

	ck_assert_int_eq(feed(c->d, 147, 0, 1, b, sizeof(b), sizeof(b)),
			 CAP_ERR_LINKTYPE);
	ck_assert_int_eq(feed(c->d, CAP_LINK_EN10MB, 0, 2, b, sizeof(b),
			      sizeof(b)), 0);
	ip_decoder_free(c->d);
}
END_TEST

/* ---- packets built here ---------------------------------------- */

START_TEST(tcp_options_and_truncation_inside_them)
{
	struct coll *c = new_coll(NULL);
	uint8_t t[256], b[300];
	size_t tl = put_tcp(t, 77, 12, "a1 NOOP\r\n", 9);
	size_t n = put_ip4(b, 1, 0x4000, 6, t, tl);
	struct ip_stats st;

	feed(c->d, CAP_LINK_IPV4, 0, 1, b, n, n);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_uint_eq(c->s[0].seq, 77);
	ck_assert_uint_eq(c->s[0].len, 9);
	ck_assert_mem_eq(c->s[0].payload, "a1 NOOP\r\n", 9);
	/* Cut inside the options: malformed, not a segment. */
	feed(c->d, CAP_LINK_IPV4, 0, 2, b, 20 + 25, n);
	ck_assert_uint_eq(c->n, 1);
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.malformed, 1);
	ip_decoder_free(c->d);
}
END_TEST

START_TEST(null_big_endian_host_and_snap)
{
	struct coll *c = new_coll(NULL);
	uint8_t t[128], b[256];
	size_t tl = put_tcp(t, 5, 0, LOGIN, strlen(LOGIN));
	size_t n = put_ip4(b + 4, 1, 0, 6, t, tl);
	static const uint8_t eth_snap[] = {
		2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x00, 0x60,
		0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00,
	};
	uint8_t e[300];

	/* AF_INET written by a big-endian host. */
	memcpy(b, "\0\0\0\2", 4);
	feed(c->d, CAP_LINK_NULL, 0, 1, b, n + 4, n + 4);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_mem_eq(c->s[0].payload, LOGIN, strlen(LOGIN));
	/* 802.3 frame with LLC/SNAP carrying IPv4. */
	memcpy(e, eth_snap, sizeof(eth_snap));
	memcpy(e + sizeof(eth_snap), b + 4, n);
	feed(c->d, CAP_LINK_EN10MB, 0, 2, e, sizeof(eth_snap) + n,
	     sizeof(eth_snap) + n);
	ck_assert_uint_eq(c->n, 2);
	ck_assert_uint_eq(c->s[1].seq, 5);
	ip_decoder_free(c->d);
}
END_TEST

START_TEST(ipv6_esp_nonext_atomic_fragment)
{
	struct coll *c = new_coll(NULL);
	uint8_t b[256], t[128];
	size_t tl = put_tcp(t, 9, 0, LOGIN, strlen(LOGIN));
	struct ip_stats st;

	memset(b, 0, sizeof(b));
	b[0] = 0x60;
	b[8] = 0x20; b[9] = 0x01; b[10] = 0x0d; b[11] = 0xb8; b[23] = 1;
	b[24] = 0x20; b[25] = 0x01; b[26] = 0x0d; b[27] = 0xb8; b[39] = 2;
	/* ESP, then no-next-header with nothing after it. */
	b[5] = 8; b[6] = 50;
	feed(c->d, CAP_LINK_IPV6, 0, 1, b, 48, 48);
	b[5] = 0; b[6] = 59;
	feed(c->d, CAP_LINK_IPV6, 0, 2, b, 40, 40);
	/* Atomic fragment header (offset 0, M clear) before TCP. */
	b[5] = (uint8_t)(8 + tl); b[6] = 44;
	b[40] = 6; b[41] = 0; b[42] = 0; b[43] = 0;
	memcpy(b + 48, t, tl);
	feed(c->d, CAP_LINK_IPV6, 0, 3, b, 48 + tl, 48 + tl);
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.non_tcp, 2);
	ck_assert_uint_eq(st.malformed, 0);
	ck_assert_uint_eq(st.reassembled, 0);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_str_eq(c->s[0].src, "[2001:db8::1]:50000");
	ck_assert_mem_eq(c->s[0].payload, LOGIN, strlen(LOGIN));
	ip_decoder_free(c->d);
}
END_TEST

START_TEST(bad_ipv4_headers)
{
	struct coll *c = new_coll(NULL);
	uint8_t t[128], b[256];
	size_t tl = put_tcp(t, 1, 0, LOGIN, strlen(LOGIN));
	size_t n = put_ip4(b, 1, 0, 6, t, tl);
	struct ip_stats st;

	b[0] = 0x44;                    /* IHL 16 bytes */
	feed(c->d, CAP_LINK_IPV4, 0, 1, b, n, n);
	b[0] = 0x45;
	b[2] = 0; b[3] = 10;            /* total length < IHL */
	feed(c->d, CAP_LINK_IPV4, 0, 2, b, n, n);
	b[0] = 0x65;                    /* version 6 on an IPv4 link */
	feed(c->d, CAP_LINK_IPV4, 0, 3, b, n, n);
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.malformed, 3);
	ck_assert_uint_eq(c->n, 0);
	/* Total length 0 (segmentation offload): the frame decides. */
	b[0] = 0x45;
	b[2] = 0; b[3] = 0;
	feed(c->d, CAP_LINK_IPV4, 0, 4, b, n, n);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_uint_eq(c->s[0].len, strlen(LOGIN));
	ip_decoder_free(c->d);
}
END_TEST

/* Destination options inside the fragmentable part, found after
 * reassembly. */
static size_t put_ip6_frag(uint8_t *b, uint8_t nh, uint16_t off, int more,
			   const uint8_t *data, size_t len)
{
	memset(b, 0, 48);
	b[0] = 0x60;
	b[4] = (uint8_t)((8 + len) >> 8); b[5] = (uint8_t)(8 + len);
	b[6] = 44; b[7] = 64;
	b[8] = 0x20; b[9] = 0x01; b[10] = 0x0d; b[11] = 0xb8; b[23] = 1;
	b[24] = 0x20; b[25] = 0x01; b[26] = 0x0d; b[27] = 0xb8; b[39] = 2;
	b[40] = nh;
	b[42] = (uint8_t)(off >> 8); b[43] = (uint8_t)((off & 0xf8) | more);
	b[44] = 0xde; b[45] = 0xad; b[46] = 0xbe; b[47] = 0xef;
	memcpy(b + 48, data, len);
	return 48 + len;
}

START_TEST(ipv6_fragment_then_destopts)
{
	struct coll *c = new_coll(NULL);
	uint8_t part[128], b[256];
	size_t n, tl;
	struct ip_stats st;

	memset(part, 0, 8);
	part[0] = 6;            /* destination options, 8 bytes, then TCP */
	part[2] = 1;            /* PadN */
	part[3] = 4;
	tl = put_tcp(part + 8, 4242, 0, LOGIN, strlen(LOGIN));
	n = put_ip6_frag(b, 60, 24, 0, part + 24, 8 + tl - 24);
	feed(c->d, CAP_LINK_IPV6, 0, 1, b, n, n);
	n = put_ip6_frag(b, 60, 0, 1, part, 24);
	feed(c->d, CAP_LINK_IPV6, 0, 2, b, n, n);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_uint_eq(c->s[0].frame, 2);
	ck_assert_uint_eq(c->s[0].seq, 4242);
	ck_assert_str_eq(c->s[0].dst, "[2001:db8::2]:143");
	ck_assert_mem_eq(c->s[0].payload, LOGIN, strlen(LOGIN));
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.reassembled, 1);
	ck_assert_uint_eq(st.malformed, 0);
	ip_decoder_free(c->d);
}
END_TEST

/* ---- fragment caps --------------------------------------------- */

static size_t fetch_segment(uint8_t *seg)
{
	return put_tcp(seg, 1000, 0, FETCH, strlen(FETCH));    /* 84 */
}

START_TEST(frag_duplicates_complete_once)
{
	struct coll *c = new_coll(NULL);
	uint8_t seg[128];
	size_t n = fetch_segment(seg);
	struct ip_stats st;

	feed_frag4(c->d, 0, 1, 9, seg, 0, 40, 1);
	feed_frag4(c->d, 0, 2, 9, seg, 0, 40, 1);
	feed_frag4(c->d, 0, 3, 9, seg, 40, n - 40, 0);
	feed_frag4(c->d, 0, 4, 9, seg, 40, n - 40, 0);
	ip_decoder_stats(c->d, &st);
	/* The fourth starts a new datagram that never completes. */
	ck_assert_uint_eq(c->n, 1);
	ck_assert_uint_eq(c->s[0].frame, 3);
	ck_assert_mem_eq(c->s[0].payload, FETCH, strlen(FETCH));
	ck_assert_uint_eq(st.fragments, 4);
	ck_assert_uint_eq(st.reassembled, 1);
	ip_decoder_free(c->d);  /* frees the pending datagram */
}
END_TEST

START_TEST(frag_cap_datagrams_drops_oldest)
{
	struct imt_limits lim;
	struct coll *c;
	uint8_t seg[128];
	size_t n = fetch_segment(seg);
	struct ip_stats st;

	imt_limits_default(&lim);
	lim.max_frag_datagrams = 1;
	c = new_coll(&lim);
	feed_frag4(c->d, 0, 1, 1, seg, 0, 40, 1);       /* A starts */
	feed_frag4(c->d, 0, 2, 2, seg, 0, 40, 1);       /* B evicts A */
	ck_assert_uint_eq(c->nf, 1);
	ck_assert_int_eq(c->f[0].id, F_LIMIT_REACHED);
	ck_assert_uint_eq(c->f[0].frame, 2);
	ck_assert_str_eq(c->f[0].limit, "max-frag-datagrams");
	ck_assert_str_eq(c->f[0].detail,
			 "dropped an incomplete fragmented IPv4 datagram "
			 "(1 fragments, 40 bytes) to stay within "
			 "max-frag-datagrams");
	ck_assert_uint_eq(c->f[0].value, 40);
	feed_frag4(c->d, 0, 3, 2, seg, 40, n - 40, 0);  /* B completes */
	ck_assert_uint_eq(c->n, 1);
	ck_assert_uint_eq(c->s[0].frame, 3);
	ck_assert_mem_eq(c->s[0].payload, FETCH, strlen(FETCH));
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.frag_dropped, 1);
	ck_assert_uint_eq(st.reassembled, 1);
	ip_decoder_free(c->d);
}
END_TEST

START_TEST(frag_cap_bytes)
{
	struct imt_limits lim;
	struct coll *c;
	uint8_t seg[128];
	struct ip_stats st;

	fetch_segment(seg);
	imt_limits_default(&lim);
	lim.max_frag_bytes = 4096;
	c = new_coll(&lim);
	feed_frag4(c->d, 0, 1, 1, seg, 0, 40, 1);
	ck_assert_uint_eq(c->nf, 0);
	/* A fragment near the 64 KiB end needs a 64 KiB buffer. */
	feed_frag4_at(c->d, 0, 2, 1, 60000, seg, 40, 1);
	ck_assert_uint_eq(c->nf, 1);
	ck_assert_str_eq(c->f[0].limit, "max-frag-bytes");
	ck_assert_uint_eq(c->f[0].frame, 2);
	ck_assert_ptr_nonnull(strstr(c->f[0].detail, "(1 fragments, 40 bytes)"));
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.frag_dropped, 2);
	ck_assert_uint_eq(c->n, 0);
	ip_decoder_free(c->d);

	/* A budget too small for any datagram: every fragment dropped. */
	lim.max_frag_bytes = 1;
	c = new_coll(&lim);
	feed_frag4(c->d, 0, 1, 1, seg, 0, 40, 1);
	ck_assert_uint_eq(c->nf, 1);
	ck_assert_str_eq(c->f[0].limit, "max-frag-bytes");
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.frag_dropped, 1);
	ip_decoder_free(c->d);
}
END_TEST

START_TEST(frag_timeout)
{
	struct coll *c = new_coll(NULL);   /* frag_timeout 30 s */
	uint8_t seg[128];
	size_t n = fetch_segment(seg);
	struct ip_stats st;

	feed_frag4(c->d, 100, 1, 5, seg, 0, 40, 1);
	feed_frag4(c->d, 130, 2, 6, seg, 0, 40, 1);     /* 30 s: kept */
	ck_assert_uint_eq(c->nf, 0);
	feed_frag4(c->d, 131, 3, 5, seg, 40, n - 40, 0);
	ck_assert_uint_eq(c->nf, 1);
	ck_assert_str_eq(c->f[0].limit, "frag-timeout");
	ck_assert_uint_eq(c->f[0].frame, 3);
	/* The late last fragment alone does not make a datagram. */
	ck_assert_uint_eq(c->n, 0);
	feed_frag4(c->d, 131, 4, 6, seg, 40, n - 40, 0);
	ck_assert_uint_eq(c->n, 1);
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.frag_dropped, 1);
	ip_decoder_free(c->d);
}
END_TEST

START_TEST(frag_inconsistent_last)
{
	struct coll *c = new_coll(NULL);
	uint8_t seg[128];
	size_t n = fetch_segment(seg);
	struct ip_stats st;

	feed_frag4(c->d, 0, 1, 3, seg, 40, n - 40, 0);  /* ends at 84 */
	feed_frag4(c->d, 0, 2, 3, seg, 40, 8, 0);       /* ends at 48: no */
	feed_frag4(c->d, 0, 3, 3, seg, 0, 40, 1);
	ck_assert_uint_eq(c->n, 1);
	ck_assert_mem_eq(c->s[0].payload, FETCH, strlen(FETCH));
	ip_decoder_stats(c->d, &st);
	ck_assert_uint_eq(st.malformed, 1);
	ip_decoder_free(c->d);
}
END_TEST

/* ---- every truncation ------------------------------------------ */

static const struct {
	const char *file;
	size_t payload;          /* TCP payload length of the full packet */
} cut_cases[] = {
	{ CAPS "eth.pcap", sizeof(GREETING) - 1 },
	{ CAPS "qinq.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "sll.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "sll2.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "null.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "loop.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "raw6.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "ipv4_options.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "ipv6_ext.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "tunnel.pcap", sizeof(LOGIN) - 1 },
	{ CAPS "frag6.pcap", 0 },
};

/*
 * Each cut of the first packet: no crash, and once the headers fit, one
 * segment whose present and missing bytes add up to the whole payload.
 */
START_TEST(every_truncation)
{
	static uint8_t pkt[2048];
	int lt;
	size_t full = first_packet(cut_cases[_i].file, pkt, sizeof(pkt), &lt);
	size_t want = cut_cases[_i].payload, hdr = full - want, cut;

	for (cut = 0; cut <= full; cut++) {
		struct coll *c = new_coll(NULL);
		struct ip_stats st;

		ck_assert_int_eq(feed(c->d, lt, 0, 1, pkt, cut, full), 0);
		ip_decoder_stats(c->d, &st);
		if (want == 0) {
			/* A fragment: never a segment on its own. */
			ck_assert_uint_eq(c->n, 0);
		} else if (cut >= hdr) {
			ck_assert_uint_eq(c->n, 1);
			ck_assert_uint_eq(c->s[0].len, cut - hdr);
			ck_assert_uint_eq(c->s[0].len + c->s[0].missing, want);
			ck_assert_mem_eq(c->s[0].payload, pkt + hdr, cut - hdr);
		} else {
			ck_assert_uint_eq(c->n, 0);
			ck_assert_uint_eq(st.malformed, 1);
		}
		ip_decoder_free(c->d);
	}
}
END_TEST

/* Every byte of a packet set to each of a few values: no crash. */
START_TEST(every_byte_mutated)
{
	static uint8_t pkt[2048];
	static const uint8_t vals[] = { 0x00, 0xff, 0x0f, 0x40, 0x60, 0x2c };
	int lt;
	size_t full = first_packet(cut_cases[_i].file, pkt, sizeof(pkt), &lt);
	size_t i, v;

	for (i = 0; i < full; i++) {
		for (v = 0; v < sizeof(vals); v++) {
			struct coll *c = new_coll(NULL);
			uint8_t save = pkt[i];

			pkt[i] = vals[v];
			feed(c->d, lt, 0, 1, pkt, full, full);
			pkt[i] = save;
			ck_assert_uint_le(c->n, 1);
			if (c->n == 1)
				ck_assert_uint_le(c->s[0].len, full);
			ip_decoder_free(c->d);
		}
	}
}
END_TEST

/*
 * ip_peek_tcp() against the decoder, on every cut and every mutated
 * byte of each packet: whenever both give endpoints they are the same
 * (an exact-size copy: a read past caplen is an ASan error), and a whole
 * plain TCP packet is always peeked (a tunnel's outer header or an IPv6
 * extension header is not: the peek reads only plain TCP).
 */
static int peek_check(int lt, const uint8_t *pkt, size_t cut, size_t full)
{
	uint8_t *copy = malloc(cut ? cut : 1);
	struct ip_endpoint src, dst;
	char s[IP_ENDPOINT_STRLEN], d[IP_ENDPOINT_STRLEN];
	struct coll *c = new_coll(NULL);
	int peeked;

	memcpy(copy, pkt, cut);
	peeked = ip_peek_tcp(lt, copy, cut, &src, &dst);
	free(copy);
	feed(c->d, lt, 0, 1, pkt, cut, full);
	if (peeked && c->n == 1) {
		ck_assert_str_eq(ip_endpoint_format(&src, s, sizeof(s)), c->s[0].src);
		ck_assert_str_eq(ip_endpoint_format(&dst, d, sizeof(d)), c->s[0].dst);
	}
	ip_decoder_free(c->d);
	return peeked;
}

START_TEST(peek_agrees_with_the_decoder)
{
	static uint8_t pkt[2048];
	static const uint8_t vals[] = { 0x00, 0xff, 0x0f, 0x40, 0x60, 0x2c, 0x06 };
	int lt;
	size_t full = first_packet(cut_cases[_i].file, pkt, sizeof(pkt), &lt);
	const char *f = cut_cases[_i].file;
	int plain = strstr(f, "tunnel") == NULL && strstr(f, "ext") == NULL &&
		    strstr(f, "frag") == NULL;

	ck_assert_int_eq(peek_check(lt, pkt, full, full), plain);
	for (size_t cut = 0; cut < full; cut++)
		peek_check(lt, pkt, cut, full);
	for (size_t i = 0; i < full; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t save = pkt[i];

			pkt[i] = vals[v];
			peek_check(lt, pkt, full, full);
			pkt[i] = save;
		}
	}
}
END_TEST

/* ---- endpoint format ------------------------------------------- */

START_TEST(endpoint_format)
{
	struct ip_endpoint ep;
	char buf[IP_ENDPOINT_STRLEN], small[8];

	memset(&ep, 0, sizeof(ep));
	ep.family = 4;
	memcpy(ep.addr, "\x0a\x00\x00\x01", 4);
	ep.port = 993;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)),
			 "10.0.0.1:993");
	ep.family = 6;
	memset(ep.addr, 0, 16);
	ep.addr[0] = 0xfe; ep.addr[1] = 0x80; ep.addr[15] = 1;
	ep.port = 143;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)),
			 "[fe80::1]:143");
	memset(ep.addr, 0xff, 16);
	ep.port = 65535;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)),
			 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ep.family = 0;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)), "?:65535");
	ep.family = 4;
	ck_assert_str_eq(ip_endpoint_format(&ep, small, sizeof(small)),
			 "255.255");
	/* Every digit count of an octet and of a port, against
	 * inet_ntop() and snprintf(). */
	for (unsigned v = 0; v < 256; v++) {
		char want[IP_ENDPOINT_STRLEN], a[INET_ADDRSTRLEN];
		unsigned port = v * 257 + (v & 3);

		ep.family = 4;
		ep.addr[0] = (uint8_t)v;
		ep.addr[1] = (uint8_t)(255 - v);
		ep.addr[2] = (uint8_t)(v / 3);
		ep.addr[3] = (uint8_t)(v * 7);
		ep.port = (uint16_t)port;
		ck_assert_ptr_nonnull(inet_ntop(AF_INET, ep.addr, a, sizeof(a)));
		snprintf(want, sizeof(want), "%s:%u", a, (unsigned)ep.port);
		ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)), want);
	}
	memset(ep.addr, 0, 16);
	ep.port = 0;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)), "0.0.0.0:0");
	memset(ep.addr, 0xff, 4);
	ep.port = 65535;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)),
			 "255.255.255.255:65535");
	/* Cut as snprintf() cuts: size - 1 characters and the NUL. */
	ck_assert_str_eq(ip_endpoint_format(&ep, small, 1), "");
	ck_assert_str_eq(ip_endpoint_format(&ep, small, 2), "2");
	ep.family = 6;
	memset(ep.addr, 0, 16);
	ep.addr[10] = ep.addr[11] = 0xff;
	memcpy(ep.addr + 12, "\xc0\x00\x02\x01", 4);
	ep.port = 7;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)),
			 "[::ffff:192.0.2.1]:7");
	ck_assert_str_eq(ip_endpoint_format(&ep, small, sizeof(small)),
			 "[::ffff");
	ip_decoder_free(NULL);
}
END_TEST

/* ---- public captures ------------------------------------------- */

START_TEST(public_6in4)
{
	static struct coll c;
	struct ip_stats st;
	size_t i;

	if (access(PUB "nDPI__6in4tunnel.pcap", R_OK) != 0)
		return;
	decode_file(PUB "nDPI__6in4tunnel.pcap", NULL, &c, &st);
	/* tshark: 75 TCP segments outside ICMP errors, 52 other frames. */
	ck_assert_uint_eq(st.tcp_segments, 75);
	ck_assert_uint_eq(st.non_tcp, 52);
	ck_assert_uint_eq(st.malformed, 0);
	for (i = 0; i < c.n && c.s[i].frame != 62; i++)
		;
	ck_assert_uint_lt(i, c.n);
	ck_assert_str_eq(c.s[i].src, "[2604:a880:1:20::224:b001]:993");
	ck_assert_str_eq(c.s[i].dst,
			 "[2001:470:1f17:13f:6d69:c72:7313:616f]:56381");
	ck_assert_uint_eq(c.s[i].seq, 3969384557u);
	ck_assert_uint_eq(c.s[i].ack, 3390684421u);
	ck_assert_uint_eq(c.s[i].flags, TCPF_PSH | TCPF_ACK);
	ck_assert_uint_eq(c.s[i].window, 69);
	ck_assert_uint_eq(c.s[i].len, 46);
	ck_assert_mem_eq(c.s[i].payload, "\x17\x03\x03\x00\x29", 5);
}
END_TEST

START_TEST(public_nanosecond_fetch)
{
	static struct coll c;
	struct ip_stats st;

	if (access(PUB "protolens__imap_fetch.pcap", R_OK) != 0)
		return;
	decode_file(PUB "protolens__imap_fetch.pcap", NULL, &c, &st);
	ck_assert_uint_eq(st.tcp_segments, 62);
	ck_assert_uint_eq(c.s[3].frame, 4);
	ck_assert_int_eq(c.s[3].sec, 5);
	ck_assert_str_eq(c.s[3].src, "1.99.0.23:143");
	ck_assert_str_eq(c.s[3].dst, "1.7.0.1:40279");
	ck_assert_uint_eq(c.s[3].seq, 2701206827u);
	ck_assert_uint_eq(c.s[3].len, 165);
	ck_assert_mem_eq(c.s[3].payload, "* OK [CAPABILITY IMAP4REV1", 26);
}
END_TEST

static Suite *ip_suite(void)
{
	Suite *s = suite_create("ip");
	TCase *tc = tcase_create("decode");
	TCase *fr = tcase_create("fragments");
	TCase *cut = tcase_create("truncation");
	TCase *pub = tcase_create("public");

	tcase_add_test(tc, ethernet_greeting_arp_udp_padding);
	tcase_add_loop_test(tc, login_over_each_link, 0,
			    sizeof(login_cases) / sizeof(login_cases[0]));
	tcase_add_test(tc, tunnels_6in4_and_ipip);
	tcase_add_test(tc, snaplen_cut_is_missing_not_malformed);
	tcase_add_test(tc, unsupported_link_type);
	tcase_add_test(tc, tcp_options_and_truncation_inside_them);
	tcase_add_test(tc, null_big_endian_host_and_snap);
	tcase_add_test(tc, ipv6_esp_nonext_atomic_fragment);
	tcase_add_test(tc, bad_ipv4_headers);
	tcase_add_test(tc, endpoint_format);
	suite_add_tcase(s, tc);
	tcase_add_test(fr, ipv4_fragments_in_order);
	tcase_add_test(fr, ipv4_fragments_out_of_order_overlap);
	tcase_add_test(fr, ipv6_fragments);
	tcase_add_test(fr, ipv6_fragment_then_destopts);
	tcase_add_test(fr, frag_duplicates_complete_once);
	tcase_add_test(fr, frag_cap_datagrams_drops_oldest);
	tcase_add_test(fr, frag_cap_bytes);
	tcase_add_test(fr, frag_timeout);
	tcase_add_test(fr, frag_inconsistent_last);
	suite_add_tcase(s, fr);
	tcase_add_loop_test(cut, every_truncation, 0,
			    sizeof(cut_cases) / sizeof(cut_cases[0]));
	tcase_add_loop_test(cut, every_byte_mutated, 0,
			    sizeof(cut_cases) / sizeof(cut_cases[0]));
	tcase_add_loop_test(cut, peek_agrees_with_the_decoder, 0,
			    sizeof(cut_cases) / sizeof(cut_cases[0]));
	tcase_set_timeout(cut, 120);
	suite_add_tcase(s, cut);
	tcase_add_test(pub, public_6in4);
	tcase_add_test(pub, public_nanosecond_fetch);
	suite_add_tcase(s, pub);
	return s;
}

int main(void)
{
	return imt_check_main(ip_suite());
}
