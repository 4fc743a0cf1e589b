/*
 * test_tcp.c - unit tests of the TCP reassembly stage (tcp.h).
 *
 * Segments are built in memory (no pcap); every callback is recorded:
 * each direction's delivered stream is kept as text with gaps written
 * inline as "<gN@O>" (N bytes missing at offset O), and findings as
 * short strings, so tests compare exact streams, offsets and evidence.
 * The recorder also checks on every call that offsets are contiguous.
 */
#include <check.h>

#include "cap_files.h"
#include "check_main.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcp.h"
#include "tcp_int.h"

/* ---- recorder ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (b->len + len + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		ck_assert_ptr_nonnull(b->p);
		b->cap = cap;
	}
	/* An empty buffer's bytes may be NULL. */
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_add(b, tmp, (size_t)n);
}

static const char *buf_str(const struct buf *b)
{
	return b->p ? b->p : "";
}

struct rec;

struct rflow {
	struct rec *r;
	struct tcp_flow_info info;
	struct buf view[2];
	uint64_t pos[2];
	uint64_t ndata[2];
	struct buf log;          /* findings */
	int closed;
	enum tcp_close_reason reason;
	char history[32];
	uint64_t last_frame;
	uint64_t bytes[2], gap_bytes[2], packets[2];
};

#define MAXFLOWS 20000

struct rec {
	struct rflow *f[MAXFLOWS];
	int n;
	struct buf glog;         /* global findings */
	int nglobal;
	int quiet;               /* gaps not written into the view */
	int ignore;              /* on_open returns NULL */
	int stop_after;          /* on_data asks to stop after this many calls */
	struct buf order;        /* data and gaps of both directions, in
				    call order: "C@0 S@0 CG@4 ..." */
};

static void *rec_open(void *user, const struct tcp_flow_info *info)
{
	struct rec *r = user;
	struct rflow *f;

	ck_assert_int_lt(r->n, MAXFLOWS);
	f = calloc(1, sizeof(*f));
	ck_assert_ptr_nonnull(f);
	f->r = r;
	f->info = *info;
	r->f[r->n++] = f;
	return r->ignore ? NULL : f;
}

static int rec_data(void *flow, enum imt_dir dir, const uint8_t *data,
		    size_t len, uint64_t offset, const struct tcp_meta *m)
{
	struct rflow *f = flow;

	(void)m;
	/* Plain tests here: every ck_assert writes to Check's pipe, too slow
	 * for a million calls. */
	if (f->closed || len == 0 || offset != f->pos[dir])
		ck_abort_msg("on_data: closed %d len %zu offset %" PRIu64
			     " expected %" PRIu64, f->closed, len, offset,
			     f->pos[dir]);
	f->pos[dir] += len;
	f->ndata[dir]++;
	buf_add(&f->view[dir], data, len);
	if (!f->r->quiet)
		buf_printf(&f->r->order, "%s@%" PRIu64 " ", dir ? "S" : "C",
			   offset);
	return f->r->stop_after && f->ndata[0] + f->ndata[1] >=
				  (uint64_t)f->r->stop_after;
}

static void rec_gap(void *flow, enum imt_dir dir, uint64_t offset,
		    uint64_t bytes, const struct tcp_meta *m)
{
	struct rflow *f = flow;

	(void)m;
	if (f->closed || bytes == 0 || offset != f->pos[dir])
		ck_abort_msg("on_gap: closed %d bytes %" PRIu64 " offset %" PRIu64
			     " expected %" PRIu64, f->closed, bytes, offset,
			     f->pos[dir]);
	f->pos[dir] += bytes;
	if (!f->r->quiet) {
		buf_printf(&f->view[dir], "<g%" PRIu64 "@%" PRIu64 ">", bytes,
			   offset);
		buf_printf(&f->r->order, "%sG@%" PRIu64 " ", dir ? "S" : "C",
			   offset);
	}
}

static void fmt_finding(struct buf *b, const struct imt_finding_report *f)
{
	buf_printf(b, "%s d%d o%" PRIu64 " f%" PRIu64, imt_finding_info(f->id)->id,
		   f->dir, f->offset, f->frame);
	if (f->other_frame)
		buf_printf(b, " of%" PRIu64, f->other_frame);
	if (f->limit)
		buf_printf(b, " %s=%" PRIu64, f->limit, f->value);
	buf_add(b, ";", 1);
}

static void rec_finding(void *flow, const struct imt_finding_report *rep,
			const struct tcp_meta *m)
{
	struct rflow *f = flow;

	(void)m;
	ck_assert(!f->closed);
	fmt_finding(&f->log, rep);
}

static void rec_close(void *flow, const struct tcp_close_info *ci)
{
	struct rflow *f = flow;

	ck_assert(!f->closed);
	f->closed = 1;
	f->reason = ci->reason;
	f->last_frame = ci->last.frame;
	snprintf(f->history, sizeof(f->history), "%s", ci->history);
	for (int d = 0; d < 2; d++) {
		f->bytes[d] = ci->bytes[d];
		f->gap_bytes[d] = ci->gap_bytes[d];
		f->packets[d] = ci->packets[d];
		/* All data was delivered before on_close (unless the
		 * consumer asked to stop). */
		if (!f->r->stop_after)
			ck_assert_uint_eq(f->pos[d],
					  ci->bytes[d] + ci->gap_bytes[d]);
	}
}

static void rec_global(void *user, const struct imt_finding_report *rep,
		       const struct tcp_meta *m)
{
	struct rec *r = user;

	(void)m;
	r->nglobal++;
	fmt_finding(&r->glog, rep);
}

/* Looks like a server: "* ..." or "+ ...".  A client: "a<digit>". */
static int test_classify(const uint8_t *d, size_t len)
{
	if (len >= 2 && (d[0] == '*' || d[0] == '+') && d[1] == ' ')
		return 1;
	if (len >= 2 && d[0] == 'a' && d[1] >= '0' && d[1] <= '9')
		return 0;
	return -1;
}

static const struct tcp_callbacks rec_cb = {
	.on_open = rec_open, .on_data = rec_data, .on_gap = rec_gap,
	.on_finding = rec_finding, .on_close = rec_close,
	.on_global_finding = rec_global, .classify = test_classify,
};

static const uint16_t imap_ports[] = { 143 };

static struct rec *R;

static struct tcp_reasm *mk(const struct imt_limits *lim, int with_ports)
{
	struct tcp_config cfg = { imap_ports, with_ports ? 1 : 0 };
	struct imt_limits def;
	struct tcp_reasm *t;

	if (lim == NULL) {
		imt_limits_default(&def);
		lim = &def;
	}
	R = calloc(1, sizeof(*R));
	ck_assert_ptr_nonnull(R);
	t = tcp_reasm_new(lim, &cfg, &rec_cb, R);
	ck_assert_ptr_nonnull(t);
	return t;
}

static void rec_free(struct rec *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->f[i]->view[0].p);
		free(r->f[i]->view[1].p);
		free(r->f[i]->log.p);
		free(r->f[i]);
	}
	free(r->glog.p);
	free(r->order.p);
	free(r);
}

static void done(struct tcp_reasm *t)
{
	tcp_reasm_free(t);
	rec_free(R);
	R = NULL;
}

/* ---- segments ---- */

static struct ip_endpoint ep4(uint8_t last, uint16_t port)
{
	struct ip_endpoint e;

	memset(&e, 0, sizeof(e));
	e.family = 4;
	e.addr[0] = 10;
	e.addr[3] = last;
	e.port = port;
	return e;
}

/* The lessor of segments fed (ip_segment.lessor) while this is set. */
static struct cap_reader *feed_lessor;

static void feed(struct tcp_reasm *t, uint64_t frame, int64_t ts,
		 struct ip_endpoint src, struct ip_endpoint dst, uint32_t seq,
		 uint32_t ack, uint8_t flags, const void *data, uint32_t len,
		 uint32_t missing)
{
	struct ip_segment s;

	memset(&s, 0, sizeof(s));
	s.frame = frame;
	s.ts_sec = ts;
	s.src = src;
	s.dst = dst;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.payload = data;
	s.payload_len = len;
	s.payload_missing = missing;
	s.lessor = feed_lessor;
	tcp_reasm_feed(t, &s);
}

/* A connection whose sequence numbers advance as it sends. */
struct conn {
	struct tcp_reasm *t;
	struct ip_endpoint c, s;
	uint32_t cs, ss;         /* next sequence number of each side */
	uint64_t frame;
	int64_t ts;
};

static struct conn conn_mk(struct tcp_reasm *t, uint16_t cport,
			   uint16_t sport, uint32_t cisn, uint32_t sisn)
{
	struct conn x = { t, ep4(1, cport), ep4(2, sport), cisn, sisn, 0, 100 };

	return x;
}

/* Sends from the client (who = 0) or the server (1); returns the frame. */
static uint64_t snd(struct conn *x, int who, uint8_t flags, const char *d)
{
	uint32_t len = d ? (uint32_t)strlen(d) : 0;
	uint32_t *seq = who ? &x->ss : &x->cs;
	uint32_t ack = who ? x->cs : x->ss;

	feed(x->t, ++x->frame, x->ts, who ? x->s : x->c, who ? x->c : x->s,
	     *seq, ack, flags, d, len, 0);
	*seq += len + ((flags & TCPF_SYN) ? 1 : 0) + ((flags & TCPF_FIN) ? 1 : 0);
	return x->frame;
}

/* Sends bytes at an explicit offset from the side's current position
 * without advancing it (for reordering and retransmissions). */
static uint64_t snd_at(struct conn *x, int who, uint32_t rel, uint8_t flags,
		       const char *d)
{
	uint32_t seq = (who ? x->ss : x->cs) + rel;

	feed(x->t, ++x->frame, x->ts, who ? x->s : x->c, who ? x->c : x->s,
	     seq, who ? x->cs : x->ss, flags, d, (uint32_t)strlen(d), 0);
	return x->frame;
}

static void handshake(struct conn *x)
{
	snd(x, 0, TCPF_SYN, NULL);
	snd(x, 1, TCPF_SYN | TCPF_ACK, NULL);
	snd(x, 0, TCPF_ACK, NULL);
}

#define AP (TCPF_ACK | TCPF_PSH)

static const char *view(int i, int dir)
{
	ck_assert_int_lt(i, R->n);
	return buf_str(&R->f[i]->view[dir]);
}

static const char *flog(int i)
{
	ck_assert_int_lt(i, R->n);
	return buf_str(&R->f[i]->log);
}

/* ---- tests ---- */

START_TEST(test_handshake_both_ways)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	struct tcp_stats st;

	handshake(&x);
	ck_assert_int_eq(R->n, 1);
	ck_assert_uint_eq(R->f[0]->info.first.frame, 1);
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_SYN);
	ck_assert_int_eq(R->f[0]->info.midstream, 0);
	ck_assert_uint_eq(R->f[0]->info.client.port, 40000);
	ck_assert_uint_eq(R->f[0]->info.server.port, 143);
	snd(&x, 1, AP, "* OK ready\r\n");
	snd(&x, 0, AP, "a1 LOGIN u p\r\n");
	snd(&x, 1, AP, "a1 OK\r\n");
	snd(&x, 0, AP, "a2 LOGOUT\r\n");
	snd(&x, 1, AP, "* BYE\r\n");
	snd(&x, 1, AP, "a2 OK\r\n");
	snd(&x, 1, TCPF_FIN | TCPF_ACK, NULL);
	ck_assert(!R->f[0]->closed);
	snd(&x, 0, TCPF_FIN | TCPF_ACK, NULL);
	ck_assert(R->f[0]->closed);
	snd(&x, 1, TCPF_ACK, NULL);       /* the last ACK: a tombstone's */
	tcp_reasm_finish(t);
	ck_assert_int_eq(R->n, 1);
	ck_assert_str_eq(view(0, 0), "a1 LOGIN u p\r\na2 LOGOUT\r\n");
	ck_assert_str_eq(view(0, 1), "* OK ready\r\na1 OK\r\n* BYE\r\na2 OK\r\n");
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_FIN);
	ck_assert_str_eq(R->f[0]->history, "ShAdDfF");
	ck_assert_uint_eq(R->f[0]->last_frame, 11);
	ck_assert_uint_eq(R->f[0]->bytes[0], 25);
	ck_assert_uint_eq(R->f[0]->bytes[1], 33);
	ck_assert_uint_eq(R->f[0]->packets[0], 5);
	ck_assert_uint_eq(R->f[0]->packets[1], 6);
	ck_assert_str_eq(flog(0), "");
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_opened, 1);
	ck_assert_uint_eq(st.flows_open, 0);
	ck_assert_uint_eq(st.retransmissions, 0);
	done(t);
}
END_TEST

START_TEST(test_orient_port_midstream)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 7000);

	/* The capture starts with the server talking. */
	snd(&x, 1, AP, "* OK ready\r\n");
	ck_assert_int_eq(R->n, 1);
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_PORT);
	ck_assert_int_eq(R->f[0]->info.midstream, 1);
	ck_assert_uint_eq(R->f[0]->info.client.port, 40000);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 NOOP\r\n");
	ck_assert_str_eq(view(0, 1), "* OK ready\r\n");
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_END);
	ck_assert_str_eq(R->f[0]->history, "dD");
	done(t);
}
END_TEST

START_TEST(test_orient_content)
{
	struct tcp_reasm *t = mk(NULL, 0);
	struct conn x = conn_mk(t, 40000, 1430, 1000, 7000);

	/* Pure ACKs first: counted, not opened. */
	snd(&x, 0, TCPF_ACK, NULL);
	snd(&x, 1, TCPF_ACK, NULL);
	ck_assert_int_eq(R->n, 0);
	snd(&x, 1, AP, "* OK ready\r\n");
	ck_assert_int_eq(R->n, 1);
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_CONTENT);
	ck_assert_int_eq(R->f[0]->info.midstream, 1);
	ck_assert_uint_eq(R->f[0]->info.client.port, 40000);
	ck_assert_uint_eq(R->f[0]->info.first.frame, 1);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 1), "* OK ready\r\n");
	ck_assert_str_eq(view(0, 0), "a1 NOOP\r\n");
	ck_assert_uint_eq(R->f[0]->packets[0], 2);
	ck_assert_uint_eq(R->f[0]->packets[1], 2);
	ck_assert_str_eq(R->f[0]->history, "AadD");
	done(t);

	/* The client speaks first and looks like one. */
	t = mk(NULL, 0);
	x = conn_mk(t, 40000, 1430, 1000, 7000);
	snd(&x, 0, AP, "a1 CAPABILITY\r\n");
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_CONTENT);
	ck_assert_uint_eq(R->f[0]->info.client.port, 40000);
	done(t);

	/* Cannot tell: the first sender is the client. */
	t = mk(NULL, 0);
	x = conn_mk(t, 40000, 1430, 1000, 7000);
	snd(&x, 1, AP, "hello\r\n");
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_FIRST_SENDER);
	ck_assert_uint_eq(R->f[0]->info.client.port, 1430);
	done(t);
}
END_TEST

START_TEST(test_orient_no_classify)
{
	struct tcp_callbacks cb = rec_cb;
	struct tcp_config cfg = { NULL, 0 };
	struct tcp_reasm *t;
	struct conn x;

	R = calloc(1, sizeof(*R));
	cb.classify = NULL;
	t = tcp_reasm_new(NULL, &cfg, &cb, R);
	x = conn_mk(t, 40000, 1430, 1000, 7000);
	snd(&x, 1, AP, "* OK ready\r\n");
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_FIRST_SENDER);
	ck_assert_uint_eq(R->f[0]->info.client.port, 1430);
	done(t);
}
END_TEST

START_TEST(test_orient_synack_only)
{
	struct tcp_reasm *t = mk(NULL, 0);
	struct conn x = conn_mk(t, 40000, 1430, 1000, 5000);

	/* The capture missed the SYN; the SYN-ACK gives both bases. */
	x.cs = 1001;
	snd(&x, 1, TCPF_SYN | TCPF_ACK, NULL);
	ck_assert_int_eq(R->n, 0);
	snd(&x, 0, TCPF_ACK, NULL);
	ck_assert_int_eq(R->n, 1);
	ck_assert_int_eq(R->f[0]->info.how, TCP_BY_SYN);
	ck_assert_int_eq(R->f[0]->info.midstream, 0);
	ck_assert_uint_eq(R->f[0]->info.client.port, 40000);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 NOOP\r\n");
	ck_assert_str_eq(R->f[0]->history, "hAD");
	done(t);
}
END_TEST

START_TEST(test_out_of_order)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	struct tcp_stats st;

	handshake(&x);
	snd_at(&x, 0, 6, TCPF_PSH, "ccc");
	snd_at(&x, 0, 3, TCPF_PSH, "bbb");
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.held_bytes, 6);
	ck_assert_str_eq(view(0, 0), "");
	snd_at(&x, 0, 0, TCPF_PSH, "aaa");
	ck_assert_str_eq(view(0, 0), "aaabbbccc");
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.held_bytes, 0);
	ck_assert_uint_eq(st.held_bytes_peak, 6);
	tcp_reasm_finish(t);
	ck_assert_str_eq(R->f[0]->history, "ShADW");
	ck_assert_str_eq(flog(0), "");
	done(t);
}
END_TEST

START_TEST(test_retransmission)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	struct tcp_stats st;

	handshake(&x);
	snd_at(&x, 0, 0, AP, "a1 LOGIN u p\r\n");
	snd(&x, 0, AP, "a1 LOGIN u p\r\n");
	snd(&x, 0, AP, "a2 NOOP\r\n");
	snd_at(&x, 0, (uint32_t)-9, AP, "a2 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 LOGIN u p\r\na2 NOOP\r\n");
	ck_assert_str_eq(flog(0), "");
	ck_assert_str_eq(R->f[0]->history, "ShADT");
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.retransmissions, 2);
	ck_assert_uint_eq(st.overlaps_mismatched, 0);
	done(t);
}
END_TEST

START_TEST(test_overlap_mismatch_delivered)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	struct tcp_stats st;
	uint64_t f1, f2;

	handshake(&x);
	f1 = snd(&x, 0, AP, "a1 LOGIN u p\r\n");
	f2 = snd_at(&x, 0, (uint32_t)-14, AP, "a1 LOGIN x p\r\n");
	ck_assert_uint_eq(f1, 4);
	ck_assert_uint_eq(f2, 5);
	/* Partly old (different), partly new. */
	snd(&x, 0, AP, "abcdef");
	snd_at(&x, 0, (uint32_t)-4, AP, "cdXYgh");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 LOGIN u p\r\nabcdefgh");
	ck_assert_str_eq(flog(0),
	    "tcp-overlap-mismatch d0 o9 f5 of4;"
	    "tcp-overlap-mismatch d0 o18 f7 of6;");
	ck_assert_str_eq(R->f[0]->history, "ShADTO");
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.overlaps_mismatched, 2);
	done(t);
}
END_TEST

/* Delivers the leasable bytes of a one-packet file: the packet holds
 * "a1 LOGIN u p\r\n", a NUL, "abcdef", a NUL. */
static struct conn *leased_conn;
static const uint8_t *leased_at;

static int leased_on_packet(void *user, const struct cap_packet *pkt)
{
	const char *first = (const char *)pkt->data;

	(void)user;
	feed_lessor = pkt->lessor;
	leased_at = pkt->data;
	ck_assert_ptr_nonnull(feed_lessor);
	snd(leased_conn, 0, AP, first);
	snd_at(leased_conn, 0, (uint32_t)-14, AP, "a1 LOGIN x p\r\n");   /* by reference */
	snd(leased_conn, 0, AP, first + 15);
	feed_lessor = NULL;
	return 0;
}

START_TEST(test_overlap_mismatch_leased)
{
	/* Leased data is compared where it lies, even after the file was
	 * read, and copied when the lease is dropped: a retransmission
	 * after tcp_reasm_drop_lease() is compared with the bytes as they
	 * were, though the file is gone. */
	static const char pkt[] = "a1 LOGIN u p\r\n\0abcdef";
	static const struct cap_callbacks ccb = { .on_packet = leased_on_packet };
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	struct cap_reader *cap = cap_reader_new(NULL, &ccb, NULL);
	size_t size;
	uint8_t *img = pcap_image_of(pkt, sizeof(pkt), &size);
	const char *path = tmpfile_with(img, size);

	handshake(&x);
	leased_conn = &x;
	ck_assert_int_eq(cap_read_file(cap, path), CAP_OK);
	cap_reader_free(cap);
	snd_at(&x, 0, (uint32_t)-6, AP, "abXd");                  /* by reference */
	ck_assert_int_ge(mapped_in(leased_at), 0);
	tcp_reasm_drop_lease(t);
	ck_assert_int_eq(mapped_in(leased_at), -1);
	snd_at(&x, 0, (uint32_t)-4, AP, "cdXYgh");                /* from the copy */
	snd_at(&x, 0, (uint32_t)-20, AP, "a1 LOGIN u p\r\nab");  /* the same bytes */
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 LOGIN u p\r\nabcdefgh");
	ck_assert_str_eq(flog(0),
	    "tcp-overlap-mismatch d0 o9 f5 of4;"
	    "tcp-overlap-mismatch d0 o16 f7 of6;"
	    "tcp-overlap-mismatch d0 o18 f8 of6;");
	done(t);
	unlink(path);
	free(img);
}
END_TEST

/* A one-packet pcap file of plen bytes (up to its snapshot length of
 * 256 KiB: more than a delivery's reference can cover). */
static uint8_t *big_image(const uint8_t *data, uint32_t plen, size_t *size_r)
{
	static const uint8_t hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0 };
	uint8_t *img = calloc(1, 24 + 16 + (size_t)plen);

	ck_assert_ptr_nonnull(img);
	memcpy(img, hdr, sizeof(hdr));
	for (int i = 0; i < 4; i++)
		img[24 + 8 + i] = img[24 + 12 + i] = (uint8_t)(plen >> (8 * i));
	memcpy(img + 24 + 16, data, plen);
	*size_r = 24 + 16 + (size_t)plen;
	return img;
}

#define BIG_LEN 70000u
#define BIG_SEG 1000u

static int big_whole;

/* Delivers the packet by reference: BIG_LEN / BIG_SEG segments of
 * BIG_SEG bytes, then, when big_whole is set, the whole packet again as
 * one segment. */
static int big_on_packet(void *user, const struct cap_packet *pkt)
{
	(void)user;
	feed_lessor = pkt->lessor;
	leased_at = pkt->data;
	ck_assert_ptr_nonnull(feed_lessor);
	ck_assert_uint_eq(pkt->caplen, BIG_LEN);
	for (uint32_t i = 0; i < BIG_LEN / BIG_SEG; i++) {
		/* The packet's own bytes, so that they are kept by
		 * reference. */
		feed(leased_conn->t, ++leased_conn->frame, leased_conn->ts,
		     leased_conn->c, leased_conn->s, leased_conn->cs,
		     leased_conn->ss, AP, pkt->data + i * BIG_SEG, BIG_SEG, 0);
		leased_conn->cs += BIG_SEG;
	}
	if (big_whole) {
		feed(leased_conn->t, ++leased_conn->frame, leased_conn->ts,
		     leased_conn->c, leased_conn->s, leased_conn->cs,
		     leased_conn->ss, AP, pkt->data, BIG_LEN, 0);
		leased_conn->cs += BIG_LEN;
	}
	feed_lessor = NULL;
	return 0;
}

/* Retransmits [off, off + len) of the stream big_on_packet() sent, which
 * is now at offset now, with the byte at off + at changed (at >= len:
 * none). */
static void big_resend(struct conn *x, const char *pat, uint64_t now,
		       uint64_t off, uint32_t len, uint32_t at)
{
	char *d = malloc(len + 1);

	ck_assert_ptr_nonnull(d);
	memcpy(d, pat + off % BIG_LEN, len);
	d[len] = '\0';
	if (at < len)
		d[at] = '#';
	snd_at(x, 0, (uint32_t)(off - now), AP, d);
	free(d);
}

START_TEST(test_flow_stamps)
{
	/* A flow keeps its first and last packet's meta in parts: every
	 * value comes back whole, at the ends of its range. */
	static const struct tcp_meta m[] = {
		{ UINT64_MAX, INT64_MIN, 999999999u, 1, NULL },
		{ ((uint64_t)1 << 48) + 1, INT64_MAX, 0, 0, NULL },
		{ 1, -1, UINT32_MAX, 1, NULL },
	};
	struct tcp_flow *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i + 1 < sizeof(m) / sizeof(m[0]); i++) {
		tcp_stamp_set(f, TS_FIRST, &m[i]);
		tcp_stamp_set(f, TS_LAST, &m[i + 1]);
		for (int k = 0; k < 2; k++) {
			struct tcp_meta got = tcp_stamp(f, k ? TS_LAST : TS_FIRST);
			const struct tcp_meta *w = &m[i + (size_t)k];

			ck_assert_uint_eq(got.frame, w->frame);
			ck_assert_int_eq(got.ts_sec, w->ts_sec);
			ck_assert_uint_eq(got.ts_nsec, w->ts_nsec);
			ck_assert_int_eq(got.ts_nano, w->ts_nano);
			ck_assert_ptr_null(got.lessor);
		}
	}
	free(f);
}
END_TEST

/* A flow whose frames count from f0 - 3 (its handshake) and the
 * one-packet file of a pattern it was sent from, by big_on_packet(). */
struct big {
	struct tcp_reasm *t;
	struct conn x;
	char *pat;
	uint8_t *img;
	const char *path;
};

static void big_read(struct big *b, uint64_t f0, char first, int period,
		     int whole)
{
	static const struct cap_callbacks ccb = { .on_packet = big_on_packet };
	struct cap_reader *cap = cap_reader_new(NULL, &ccb, NULL);
	size_t size;

	ck_assert_ptr_nonnull(cap);
	b->t = mk(NULL, 1);
	b->x = conn_mk(b->t, 40000, 143, 1000, 5000);
	b->pat = malloc(BIG_LEN + 1);
	ck_assert_ptr_nonnull(b->pat);
	for (uint32_t i = 0; i < BIG_LEN; i++)
		b->pat[i] = (char)(first + (int)(i % (uint32_t)period));
	b->pat[BIG_LEN] = '\0';
	b->img = big_image((const uint8_t *)b->pat, BIG_LEN, &size);
	b->path = tmpfile_with(b->img, size);
	b->x.frame = f0 - 4;
	handshake(&b->x);
	leased_conn = &b->x;
	big_whole = whole;
	ck_assert_int_eq(cap_read_file(cap, b->path), CAP_OK);
	cap_reader_free(cap);
}

static void big_done(struct big *b)
{
	done(b->t);
	unlink(b->path);
	free(b->img);
	free(b->pat);
}

START_TEST(test_refs_at_limits)
{
	/* The references of a direction read from a mapped file: the first
	 * ring of TCP_NREF_FIRST grows to TCP_NREF, the oldest go past that
	 * many or past TCP_RECENT_MAX bytes, frames past 2^48 are told as
	 * 2^48 - 1, and a delivery longer than TCP_RECENT_MAX is kept as its
	 * last TCP_RECENT_MAX bytes. */
	const uint64_t f0 = ((uint64_t)1 << 48) - 10;
	const uint64_t end = 2 * (uint64_t)BIG_LEN, tail = end - TCP_RECENT_MAX;
	struct big b;
	char want[512];

	big_read(&b, f0, 'A', 23, 1);
	/* Segment i came in frame f0 + i; the whole packet in f0 + 70.  Of
	 * the segments, only the last ones are still kept: the whole packet
	 * pushed the others out. */
	big_resend(&b.x, b.pat, end, 69 * BIG_SEG, BIG_SEG, 5);    /* forgotten */
	big_resend(&b.x, b.pat, end, BIG_LEN, 100, 100);           /* the same bytes */
	big_resend(&b.x, b.pat, end, tail - 10, 20, 3);            /* before the kept tail */
	big_resend(&b.x, b.pat, end, tail - 10, 20, 10);           /* its first byte */
	big_resend(&b.x, b.pat, end, end - 1, 1, 0);               /* its last byte */
	tcp_reasm_finish(b.t);
	snprintf(want, sizeof(want),
		 "tcp-overlap-mismatch d0 o%" PRIu64 " f%" PRIu64 " of%" PRIu64 ";"
		 "tcp-overlap-mismatch d0 o%" PRIu64 " f%" PRIu64 " of%" PRIu64 ";",
		 tail, f0 + 74, ((uint64_t)1 << 48) - 1,
		 end - 1, f0 + 75, ((uint64_t)1 << 48) - 1);
	ck_assert_str_eq(flog(0), want);
	ck_assert_uint_eq(R->f[0]->pos[0], end);
	big_done(&b);
}
END_TEST

START_TEST(test_refs_count_and_frames)
{
	/* 70 references of 1000 bytes: TCP_NREF kept, the oldest six gone;
	 * the frame of the first copy told as it was below 2^48 and as
	 * 2^48 - 1 past it. */
	const uint64_t f0 = ((uint64_t)1 << 48) - 10;
	struct big b;
	char want[512];

	big_read(&b, f0, 'a', 19, 0);
	/* Segment i came in frame f0 + i. */
	big_resend(&b.x, b.pat, BIG_LEN, 5 * BIG_SEG, BIG_SEG, 10);  /* forgotten */
	big_resend(&b.x, b.pat, BIG_LEN, 6 * BIG_SEG, BIG_SEG, 10);  /* the oldest kept */
	big_resend(&b.x, b.pat, BIG_LEN, 9 * BIG_SEG, 3 * BIG_SEG, 3 * BIG_SEG); /* the same */
	big_resend(&b.x, b.pat, BIG_LEN, 69 * BIG_SEG + 990, 10, 9); /* the newest */
	tcp_reasm_finish(b.t);
	snprintf(want, sizeof(want),
		 "tcp-overlap-mismatch d0 o%u f%" PRIu64 " of%" PRIu64 ";"
		 "tcp-overlap-mismatch d0 o%u f%" PRIu64 " of%" PRIu64 ";",
		 6 * BIG_SEG + 10, f0 + 71, f0 + 6,
		 BIG_LEN - 1, f0 + 73, ((uint64_t)1 << 48) - 1);
	ck_assert_str_eq(flog(0), want);
	ck_assert_str_eq(R->f[0]->history, "ShADTO");
	/* The flow's first and last packets, frames past 2^48 as they are. */
	ck_assert_uint_eq(R->f[0]->info.first.frame, f0 - 3);
	ck_assert_uint_eq(R->f[0]->last_frame, f0 + 73);
	big_done(&b);
}
END_TEST

START_TEST(test_overlap_mismatch_held)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd_at(&x, 0, 5, TCPF_PSH, "WORLD");          /* frame 4 */
	snd_at(&x, 0, 7, TCPF_PSH, "XLDZZ");          /* frame 5 */
	snd_at(&x, 0, 0, TCPF_PSH, "HELLO");
	ck_assert_str_eq(view(0, 0), "HELLOWORLDZZ");
	ck_assert_str_eq(flog(0), "tcp-overlap-mismatch d0 o7 f5 of4;");
	done(t);

	/* An in-order segment over held bytes: the held copy came first. */
	t = mk(NULL, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	handshake(&x);
	snd_at(&x, 0, 5, TCPF_PSH, "WORLD");          /* frame 4 */
	snd_at(&x, 0, 0, TCPF_PSH, "HELLOWXRLD!");    /* frame 5 */
	ck_assert_str_eq(view(0, 0), "HELLOWORLD!");
	ck_assert_str_eq(flog(0), "tcp-overlap-mismatch d0 o6 f5 of4;");
	tcp_reasm_finish(t);
	ck_assert_str_eq(R->f[0]->history, "ShADWTO");
	done(t);
}
END_TEST

START_TEST(test_gap_by_ack)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd_at(&x, 0, 0, TCPF_PSH, "aaaa");
	snd_at(&x, 0, 8, TCPF_PSH, "cccc");
	ck_assert_str_eq(view(0, 0), "aaaa");
	/* The server got all 12 bytes: 4..8 are lost from the capture. */
	x.cs += 12;
	snd(&x, 1, TCPF_ACK, NULL);
	/* Within the reorder window the bytes may still come. */
	ck_assert_str_eq(view(0, 0), "aaaa");
	/* The window closes with capture time: the ACK is believed. */
	x.ts += 1;
	snd(&x, 1, TCPF_ACK, NULL);
	ck_assert_str_eq(view(0, 0), "aaaa<g4@4>cccc");
	/* Lost at the end with nothing after: the ACK tells too, here
	 * once the window closes with the flow's packet count. */
	x.cs += 5;
	snd(&x, 1, TCPF_ACK, NULL);
	for (unsigned i = 0; i < TCP_REORDER_PACKETS - 1; i++)
		snd(&x, 1, TCPF_ACK, NULL);
	ck_assert_str_eq(view(0, 0), "aaaa<g4@4>cccc");
	snd(&x, 1, TCPF_ACK, NULL);
	ck_assert_str_eq(view(0, 0), "aaaa<g4@4>cccc<g5@12>");
	tcp_reasm_finish(t);
	ck_assert_uint_eq(R->f[0]->gap_bytes[0], 9);
	ck_assert_uint_eq(R->f[0]->bytes[0], 8);
	ck_assert_str_eq(R->f[0]->history, "ShADWaG");
	done(t);
}
END_TEST

START_TEST(test_ack_before_own_data)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd(&x, 1, AP, "* OK\r\n");
	snd_at(&x, 0, 0, AP, "a1 LOG");
	snd_at(&x, 0, 10, AP, " p\r\n");
	x.cs += 14;
	/* The answer ACKs the whole command: the client's bytes (and the
	 * hole) come out before the answer itself. */
	snd(&x, 1, AP, "a1 OK\r\n");
	/* Held back by the reorder window until the flow ends. */
	ck_assert_str_eq(buf_str(&R->order), "S@0 C@0 ");
	tcp_reasm_finish(t);
	ck_assert_str_eq(buf_str(&R->order), "S@0 C@0 CG@6 C@10 S@6 ");
	done(t);
}
END_TEST

START_TEST(test_ack_before_segment)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd(&x, 1, AP, "* OK\r\n");
	snd_at(&x, 0, 0, AP, "a1 LOG");
	/* The answer (it ACKs the whole command) shows before the
	 * command's second segment, then the client's next command. */
	x.cs += 14;
	snd(&x, 1, AP, "a1 OK\r\n");
	snd(&x, 0, AP, "a2 NOOP\r\n");
	ck_assert_str_eq(buf_str(&R->order), "S@0 C@0 ");
	x.cs -= 14 + 9;
	snd_at(&x, 0, 6, AP, "IN u p\r\n");
	/* No gap: the segment goes first, then what was held, in order. */
	ck_assert_str_eq(buf_str(&R->order), "S@0 C@0 C@6 S@6 C@14 ");
	ck_assert_str_eq(view(0, 0), "a1 LOGIN u p\r\na2 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_uint_eq(R->f[0]->gap_bytes[0], 0);
	ck_assert_uint_eq(R->f[0]->gap_bytes[1], 0);
	done(t);
}
END_TEST

START_TEST(test_gap_by_flow_cap)
{
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct conn x;
	char a[601], b[601];

	imt_limits_default(&lim);
	lim.max_flow_buffer = 1000;
	t = mk(&lim, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	memset(a, 'A', 600);
	memset(b, 'B', 600);
	a[600] = b[600] = '\0';
	handshake(&x);
	snd_at(&x, 0, 100, TCPF_PSH, a);
	ck_assert_str_eq(view(0, 0), "");
	snd_at(&x, 0, 700, TCPF_PSH, b);
	ck_assert_uint_eq(R->f[0]->pos[0], 1300);
	ck_assert_int_eq(strncmp(view(0, 0), "<g100@0>AAA", 11), 0);
	ck_assert_uint_eq(strlen(view(0, 0)), 8 + 1200);
	ck_assert_str_eq(flog(0), "limit-reached d0 o0 f5 max-buffer=1000;");
	done(t);
}
END_TEST

START_TEST(test_gap_by_total_cap)
{
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct conn x, y;
	char a[901];

	imt_limits_default(&lim);
	lim.max_total_buffer = 1000;
	t = mk(&lim, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	y = conn_mk(t, 40001, 143, 3000, 6000);
	y.frame = 100;
	memset(a, 'A', 900);
	a[900] = '\0';
	handshake(&x);
	handshake(&y);
	snd_at(&x, 0, 100, TCPF_PSH, a);
	snd_at(&y, 0, 50, TCPF_PSH, "yyyy");
	ck_assert_str_eq(view(0, 0), "");
	/* x keeps its data held; y cannot hold more and skips its hole. */
	ck_assert_str_eq(view(1, 0), "<g50@0>yyyy");
	ck_assert_str_eq(flog(1), "limit-reached d0 o0 f104 max-buffer=1000;");
	tcp_reasm_finish(t);
	ck_assert_int_eq(strncmp(view(0, 0), "<g100@0>AAA", 11), 0);
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_END);
	done(t);
}
END_TEST

START_TEST(test_gap_at_end)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd_at(&x, 0, 0, TCPF_PSH, "a1 ");
	snd_at(&x, 0, 10, TCPF_PSH, "\r\n");
	snd_at(&x, 0, 20, TCPF_PSH, "a2 X\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 <g7@3>\r\n<g8@12>a2 X\r\n");
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_END);
	ck_assert_uint_eq(R->f[0]->gap_bytes[0], 15);
	/* The stage stays usable. */
	x = conn_mk(t, 40001, 143, 1, 2);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	ck_assert_int_eq(R->n, 2);
	done(t);
}
END_TEST

START_TEST(test_snaplen_missing)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	/* In order: 5 bytes present, 10 cut by the snapshot length. */
	feed(t, 10, 100, x.c, x.s, x.cs, x.ss, AP, "abcde", 5, 10);
	feed(t, 11, 100, x.c, x.s, x.cs + 15, x.ss, AP, "xyz", 3, 0);
	ck_assert_str_eq(view(0, 0), "abcde<g10@5>xyz");
	done(t);

	/* Ahead: a placeholder is held and reported when reached. */
	t = mk(NULL, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	handshake(&x);
	feed(t, 10, 100, x.c, x.s, x.cs + 5, x.ss, TCPF_PSH, "fgh", 3, 2);
	feed(t, 11, 100, x.c, x.s, x.cs + 10, x.ss, TCPF_PSH, "KLM", 3, 0);
	feed(t, 12, 100, x.c, x.s, x.cs, x.ss, TCPF_PSH, "abcde", 5, 0);
	ck_assert_str_eq(view(0, 0), "abcdefgh<g2@8>KLM");
	done(t);

	/* Real bytes in order beat a placeholder for cut bytes. */
	t = mk(NULL, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	handshake(&x);
	feed(t, 10, 100, x.c, x.s, x.cs + 5, x.ss, TCPF_PSH, "fgh", 3, 2);
	feed(t, 11, 100, x.c, x.s, x.cs + 10, x.ss, TCPF_PSH, "KLM", 3, 0);
	feed(t, 12, 100, x.c, x.s, x.cs, x.ss, TCPF_PSH, "abcdefghIJKLM", 13, 0);
	ck_assert_str_eq(view(0, 0), "abcdefghIJKLM");
	ck_assert_str_eq(flog(0), "");
	done(t);
}
END_TEST

START_TEST(test_seq_wrap)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 0xFFFFFFF0u, 0xFFFFFFFEu);

	handshake(&x);
	ck_assert_uint_eq(x.cs, 0xFFFFFFF1u);
	snd_at(&x, 0, 20, TCPF_PSH, "2222222222");   /* seq 0x00000005 */
	snd_at(&x, 0, 0, TCPF_PSH, "0000000000");
	snd_at(&x, 0, 10, TCPF_PSH, "1111111111");   /* crosses 2^32 */
	x.cs += 30;
	snd_at(&x, 0, (uint32_t)-20, TCPF_PSH, "1111111111");
	snd(&x, 1, AP, "* OK wrapped\r\n");          /* server wraps too */
	snd(&x, 1, AP, "* OK again\r\n");
	snd(&x, 0, AP, "a1 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "000000000011111111112222222222a1 NOOP\r\n");
	ck_assert_str_eq(view(0, 1), "* OK wrapped\r\n* OK again\r\n");
	ck_assert_str_eq(flog(0), "");
	ck_assert_uint_eq(R->f[0]->gap_bytes[0], 0);
	ck_assert_uint_eq(R->f[0]->gap_bytes[1], 0);
	done(t);
}
END_TEST

START_TEST(test_offsets_past_4g)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 123, 5000);
	uint64_t step = 4 + (1u << 30);

	/* 5 segments of 4 bytes, each followed by 1 GiB the snapshot cut:
	 * the stream passes 4 GiB and the sequence space wraps. */
	for (int i = 0; i < 5; i++) {
		feed(t, (uint64_t)i + 1, 100, x.c, x.s, x.cs, x.ss, AP, "abcd", 4,
		     1u << 30);
		x.cs += (uint32_t)step;
	}
	snd(&x, 0, AP, "END");
	ck_assert_uint_eq(R->f[0]->pos[0], 5 * step + 3);
	ck_assert_int_eq(strcmp(view(0, 0) + strlen(view(0, 0)) - 3, "END"), 0);
	tcp_reasm_finish(t);
	ck_assert_uint_eq(R->f[0]->bytes[0], 23);
	ck_assert_uint_eq(R->f[0]->gap_bytes[0], 5ull << 30);
	done(t);
}
END_TEST

START_TEST(test_midstream_before_base)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	snd(&x, 0, AP, "a2 NOOP\r\n");
	ck_assert_int_eq(R->f[0]->info.midstream, 1);
	/* Bytes before the first one seen cannot be placed. */
	snd_at(&x, 0, (uint32_t)-20, AP, "a1 LOGIN u p\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a2 NOOP\r\n");
	done(t);
}
END_TEST

START_TEST(test_fin_with_hole)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd_at(&x, 0, 0, TCPF_PSH, "aaaa");
	snd_at(&x, 0, 8, TCPF_PSH, "cccc");
	x.cs += 12;
	snd(&x, 0, TCPF_FIN, NULL);
	ck_assert(!R->f[0]->closed);
	snd(&x, 1, TCPF_FIN, NULL);
	ck_assert(R->f[0]->closed);
	ck_assert_str_eq(view(0, 0), "aaaa<g4@4>cccc");
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_FIN);
	ck_assert_str_eq(R->f[0]->history, "ShADWFfG");
	done(t);
}
END_TEST

START_TEST(test_rst)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	uint32_t cs;

	handshake(&x);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	cs = x.cs;
	snd(&x, 1, TCPF_RST | TCPF_ACK, NULL);
	ck_assert(R->f[0]->closed);
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_RST);
	ck_assert_str_eq(flog(0), "tcp-reset d1 o0 f5;");
	ck_assert_str_eq(R->f[0]->history, "ShADr");
	/* A late retransmission is absorbed: no new midstream flow. */
	snd_at(&x, 0, (uint32_t)-9, AP, "a1 NOOP\r\n");
	ck_assert_int_eq(R->n, 1);
	ck_assert_int_eq(R->nglobal, 0);
	/* New data after the reset is reported once. */
	x.cs = cs;
	snd(&x, 0, AP, "a2 NOOP\r\n");
	snd(&x, 0, AP, "a3 NOOP\r\n");
	ck_assert_int_eq(R->n, 1);
	ck_assert_int_eq(R->nglobal, 1);
	ck_assert_str_eq(buf_str(&R->glog), "tcp-data-after-close d0 o9 f7;");
	tcp_reasm_finish(t);
	done(t);
}
END_TEST

START_TEST(test_rst_with_hole)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd_at(&x, 0, 0, TCPF_PSH, "aaaa");
	snd_at(&x, 0, 8, TCPF_PSH, "cccc");
	snd(&x, 0, TCPF_RST, NULL);
	ck_assert_str_eq(view(0, 0), "aaaa<g4@4>cccc");
	ck_assert_str_eq(flog(0), "tcp-reset d0 o12 f6;");
	done(t);
}
END_TEST

START_TEST(test_data_after_fin)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd(&x, 0, AP, "a2 LOGOUT\r\n");
	snd(&x, 0, TCPF_FIN | TCPF_ACK, NULL);
	x.cs--;                           /* same sequence as the FIN */
	snd(&x, 0, AP, "junk\r\n");
	/* A retransmission from before the FIN is no data after close. */
	snd_at(&x, 0, (uint32_t)-17, AP, "a2 LOGOUT\r\n");
	snd(&x, 0, AP, "more\r\n");
	snd(&x, 1, AP, "* BYE\r\n");
	ck_assert_str_eq(view(0, 0), "a2 LOGOUT\r\n");
	ck_assert_str_eq(view(0, 1), "* BYE\r\n");
	ck_assert_str_eq(flog(0), "tcp-data-after-close d0 o11 f6;");
	tcp_reasm_finish(t);
	ck_assert_str_eq(R->f[0]->history, "ShADFTd");
	done(t);
}
END_TEST

START_TEST(test_reuse_after_close)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd(&x, 1, AP, "* OK one\r\n");
	snd(&x, 0, TCPF_FIN | TCPF_ACK, NULL);
	snd(&x, 1, TCPF_FIN | TCPF_ACK, NULL);
	snd(&x, 0, TCPF_ACK, NULL);
	ck_assert_int_eq(R->n, 1);
	/* The old SYN again: a retransmission, absorbed. */
	feed(t, 50, 100, x.c, x.s, 1000, 0, TCPF_SYN, NULL, 0, 0);
	ck_assert_int_eq(R->n, 1);
	/* A new SYN: a new session on the same tuple. */
	x.cs = 90000;
	x.ss = 70000;
	handshake(&x);
	ck_assert_int_eq(R->n, 2);
	ck_assert_int_eq(R->f[1]->info.midstream, 0);
	snd(&x, 1, AP, "* OK two\r\n");
	tcp_reasm_finish(t);
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_FIN);
	ck_assert_int_eq(R->f[1]->reason, TCP_CLOSE_END);
	ck_assert_str_eq(view(0, 1), "* OK one\r\n");
	ck_assert_str_eq(view(1, 1), "* OK two\r\n");
	ck_assert_str_eq(R->f[1]->history, "ShAd");
	done(t);
}
END_TEST

START_TEST(test_reuse_open_flow)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);

	handshake(&x);
	snd(&x, 1, AP, "* OK one\r\n");
	snd_at(&x, 1, 20, TCPF_PSH, "held");
	x.cs = 90000;
	x.ss = 70000;
	handshake(&x);
	ck_assert_int_eq(R->n, 2);
	ck_assert(R->f[0]->closed);
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_REUSED);
	ck_assert_str_eq(view(0, 1), "* OK one\r\n<g20@10>held");
	ck_assert_uint_eq(R->f[0]->last_frame, 6);
	tcp_reasm_finish(t);
	done(t);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct conn a, b;

	imt_limits_default(&lim);
	lim.idle_timeout = 10;
	t = mk(&lim, 1);
	a = conn_mk(t, 40000, 143, 1000, 5000);
	b = conn_mk(t, 40001, 143, 1000, 5000);
	b.frame = 100;
	snd(&a, 0, AP, "a1 NOOP\r\n");        /* t = 100 */
	/* The clock jumps back by 100 s and runs for 50 s. */
	for (b.ts = 0; b.ts <= 50; b.ts += 10)
		snd(&b, 0, AP, "x");
	ck_assert(!R->f[0]->closed);
	b.ts = 105;
	snd(&b, 0, AP, "x");
	ck_assert(!R->f[0]->closed);
	b.ts = 111;
	snd(&b, 0, AP, "x");
	ck_assert(R->f[0]->closed);
	ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_TIMEOUT);
	ck_assert_uint_eq(R->f[0]->last_frame, 1);
	ck_assert(!R->f[1]->closed);
	/* A packet after the timeout starts a new (midstream) flow. */
	a.ts = 112;
	snd(&a, 0, AP, "a2 NOOP\r\n");
	ck_assert_int_eq(R->n, 3);
	ck_assert_int_eq(R->f[2]->info.midstream, 1);
	ck_assert_str_eq(view(2, 0), "a2 NOOP\r\n");
	tcp_reasm_finish(t);
	done(t);
}
END_TEST

START_TEST(test_tombstone_expires)
{
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct conn x;

	imt_limits_default(&lim);
	lim.idle_timeout = 30;
	t = mk(&lim, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	handshake(&x);
	snd(&x, 0, TCPF_FIN | TCPF_ACK, NULL);
	snd(&x, 1, TCPF_FIN | TCPF_ACK, NULL);
	x.ts = 120;
	snd(&x, 0, TCPF_ACK, NULL);
	ck_assert_int_eq(R->n, 1);
	x.ts = 200;
	snd(&x, 0, AP, "late\r\n");
	ck_assert_int_eq(R->n, 2);
	tcp_reasm_finish(t);
	done(t);
}
END_TEST

START_TEST(test_flow_cap_eviction)
{
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct conn a, b, c;
	struct tcp_stats st;

	imt_limits_default(&lim);
	lim.max_flows = 2;
	t = mk(&lim, 1);
	a = conn_mk(t, 40001, 143, 1000, 5000);
	b = conn_mk(t, 40002, 143, 1000, 5000);
	c = conn_mk(t, 40003, 143, 1000, 5000);
	b.frame = 100;
	c.frame = 200;
	snd(&a, 0, AP, "a1 NOOP\r\n");
	snd(&b, 0, AP, "b1 NOOP\r\n");
	snd(&a, 0, AP, "a2 NOOP\r\n");
	snd(&c, 0, AP, "c1 NOOP\r\n");
	/* b was the least recently active. */
	ck_assert(!R->f[0]->closed);
	ck_assert(R->f[1]->closed);
	ck_assert_int_eq(R->f[1]->reason, TCP_CLOSE_EVICTED);
	ck_assert_uint_eq(R->f[1]->last_frame, 101);
	ck_assert_str_eq(buf_str(&R->glog), "limit-reached d-1 o0 f201 max-flows=2;");
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_evicted, 1);
	ck_assert_uint_eq(st.flows_open, 2);
	tcp_reasm_finish(t);
	done(t);
}
END_TEST

START_TEST(test_syn_only_evicted_first)
{
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct conn a, b, c, d;

	imt_limits_default(&lim);
	lim.max_flows = 3;
	t = mk(&lim, 1);
	a = conn_mk(t, 40001, 143, 1000, 5000);
	b = conn_mk(t, 40002, 143, 1000, 5000);
	c = conn_mk(t, 40003, 143, 1000, 5000);
	d = conn_mk(t, 40004, 143, 1000, 5000);
	snd(&a, 0, AP, "a1 NOOP\r\n");
	snd(&b, 0, AP, "b1 NOOP\r\n");
	snd(&c, 0, TCPF_SYN, NULL);           /* most recent, but only a SYN */
	snd(&d, 0, AP, "d1 NOOP\r\n");
	ck_assert_int_eq(R->n, 3);
	ck_assert(!R->f[0]->closed);
	ck_assert(!R->f[1]->closed);
	ck_assert_int_eq(R->nglobal, 1);
	tcp_reasm_finish(t);
	done(t);
}
END_TEST

/* A stage with the IMAP port and at most max_flows flows. */
static struct tcp_reasm *mk_capped(uint32_t max_flows)
{
	struct imt_limits lim;

	imt_limits_default(&lim);
	lim.max_flows = max_flows;
	return mk(&lim, 1);
}

/* n SYNs to port 143 from host 10.0.0.`host`, each from its own port,
 * frames from frame0 on. */
static void syns(struct tcp_reasm *t, uint64_t frame0, uint8_t host, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		feed(t, frame0 + i, 100, ep4(host, (uint16_t)(1024 + i)), ep4(2, 143),
		     i * 7919u, 0, TCPF_SYN, NULL, 0, 0);
}

START_TEST(test_syn_flood)
{
	struct tcp_reasm *t = mk_capped(100);
	struct tcp_stats st;
	struct conn x;

	syns(t, 1, 9, 10000);
	ck_assert_int_eq(R->n, 0);
	ck_assert_int_eq(R->nglobal, 1);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_evicted, 9900);
	ck_assert_uint_eq(st.flows_opened, 0);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	handshake(&x);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 NOOP\r\n");
	done(t);
}
END_TEST

START_TEST(test_ignored_and_stopped)
{
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 1000, 5000);
	struct tcp_stats st;

	R->ignore = 1;
	handshake(&x);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	snd(&x, 1, TCPF_RST, NULL);
	ck_assert_int_eq(R->n, 1);
	ck_assert(!R->f[0]->closed);
	ck_assert_uint_eq(R->f[0]->pos[0], 0);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_opened, 1);
	done(t);

	t = mk(NULL, 1);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	R->stop_after = 1;
	handshake(&x);
	snd(&x, 0, AP, "a1 NOOP\r\n");
	snd(&x, 0, AP, "a2 NOOP\r\n");
	tcp_reasm_finish(t);
	ck_assert_str_eq(view(0, 0), "a1 NOOP\r\n");
	ck_assert(R->f[0]->closed);
	done(t);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(tcp_orient_name(TCP_BY_FIRST_SENDER), "first-sender");
	ck_assert_str_eq(tcp_close_reason_name(TCP_CLOSE_REUSED), "port-reused");
	ck_assert_str_eq(tcp_close_reason_name(TCP_CLOSE_END), "end-of-capture");
	tcp_reasm_free(NULL);
}
END_TEST

/* ---- permutations and volume ---- */

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

struct pseg {
	int who;
	uint32_t rel, len;
};

START_TEST(test_permutations)
{
	enum { N = 4000, MAXSEG = 1000 };
	static char data[2][N];
	static struct pseg segs[MAXSEG];
	int nseg = 0;

	rng_state = 42;
	for (int w = 0; w < 2; w++) {
		for (int i = 0; i < N; i++)
			data[w][i] = (char)('A' + rng() % 26);
		for (uint32_t off = 0; off < N; ) {
			uint32_t len = 1 + rng() % 40;

			if (off + len > N)
				len = N - off;
			segs[nseg++] = (struct pseg){ w, off, len };
			/* Some identical retransmissions and overlaps. */
			if (rng() % 5 == 0 && off >= 10)
				segs[nseg++] = (struct pseg){ w, off - 10, len + 10 };
			off += len;
			ck_assert_int_lt(nseg, MAXSEG - 2);
		}
	}
	for (int round = 0; round < 200; round++) {
		struct tcp_reasm *t = mk(NULL, 1);
		struct conn x = conn_mk(t, 40000, 143, 0xFFFFF000u, 77);

		handshake(&x);
		for (int i = nseg - 1; i > 0; i--) {
			int j = (int)(rng() % (uint32_t)(i + 1));
			struct pseg tmp = segs[i];

			segs[i] = segs[j];
			segs[j] = tmp;
		}
		for (int i = 0; i < nseg; i++) {
			struct pseg *p = &segs[i];

			feed(t, (uint64_t)i + 10, 100, p->who ? x.s : x.c,
			     p->who ? x.c : x.s,
			     (p->who ? x.ss : x.cs) + p->rel, 0, TCPF_PSH,
			     data[p->who] + p->rel, p->len, 0);
		}
		x.cs += N;
		x.ss += N;
		snd(&x, 0, TCPF_FIN, NULL);
		snd(&x, 1, TCPF_FIN, NULL);
		ck_assert_int_eq(R->n, 1);
		ck_assert(R->f[0]->closed);
		ck_assert_int_eq(R->f[0]->reason, TCP_CLOSE_FIN);
		for (int w = 0; w < 2; w++) {
			ck_assert_uint_eq(R->f[0]->view[w].len, N);
			ck_assert_int_eq(memcmp(R->f[0]->view[w].p, data[w], N), 0);
		}
		ck_assert_str_eq(flog(0), "");
		done(t);
	}
}
END_TEST

static void check_pattern(const struct buf *b, size_t n, uint32_t mult)
{
	ck_assert_uint_eq(b->len, n);
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)b->p[i] != (uint8_t)(i * mult % 251))
			ck_abort_msg("byte %zu differs", i);
}

START_TEST(test_million_one_byte)
{
	enum { N = 1000000 };
	struct tcp_reasm *t = mk(NULL, 1);
	struct conn x = conn_mk(t, 40000, 143, 0xFFFF0000u, 5000);
	struct tcp_stats st;

	R->quiet = 1;
	handshake(&x);
	for (uint32_t i = 0; i < N; i++) {
		uint8_t b = (uint8_t)(i * 7u % 251);

		feed(t, i + 10, 100, x.c, x.s, x.cs + i, x.ss, AP, &b, 1, 0);
	}
	tcp_reasm_finish(t);
	check_pattern(&R->f[0]->view[0], N, 7);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.held_bytes_peak, 0);
	done(t);
}
END_TEST

static void feed_order(const uint32_t *order, uint32_t n, uint32_t seglen,
		       const struct imt_limits *lim, int expect_whole)
{
	struct tcp_reasm *t = mk(lim, 1);
	struct conn x = conn_mk(t, 40000, 143, 0x7FFFFF00u, 5000);
	uint8_t *data = malloc((size_t)n * seglen);
	struct tcp_stats st;

	ck_assert_ptr_nonnull(data);
	R->quiet = 1;
	for (size_t i = 0; i < (size_t)n * seglen; i++)
		data[i] = (uint8_t)(i * 13 % 251);
	handshake(&x);
	for (uint32_t i = 0; i < n; i++)
		feed(t, i + 10, 100, x.c, x.s, x.cs + order[i] * seglen, x.ss,
		     TCPF_PSH, data + (size_t)order[i] * seglen, seglen, 0);
	tcp_reasm_finish(t);
	ck_assert_uint_eq(R->f[0]->pos[0], (uint64_t)n * seglen);
	ck_assert_uint_eq(R->f[0]->bytes[0] + R->f[0]->gap_bytes[0],
			  (uint64_t)n * seglen);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.held_bytes, 0);
	if (expect_whole) {
		check_pattern(&R->f[0]->view[0], (size_t)n * seglen, 13);
		ck_assert_str_eq(flog(0), "");
	} else {
		ck_assert_ptr_nonnull(strstr(flog(0), "max-buffer"));
		ck_assert_uint_gt(R->f[0]->gap_bytes[0], 0);
	}
	free(data);
	done(t);
}

START_TEST(test_100k_reversed)
{
	enum { N = 100000 };
	uint32_t *order = malloc(N * sizeof(*order));
	struct imt_limits lim;

	imt_limits_default(&lim);
	lim.max_flow_buffer = lim.max_total_buffer = 64u << 20;
	for (uint32_t i = 0; i < N; i++)
		order[i] = N - 1 - i;
	feed_order(order, N, 10, &lim, 1);
	/* Within the default caps: holes are skipped, nothing is lost twice. */
	feed_order(order, N, 10, NULL, 0);
	free(order);
}
END_TEST

START_TEST(test_100k_random)
{
	enum { N = 100000 };
	uint32_t *order = malloc(N * sizeof(*order));
	struct imt_limits lim;

	imt_limits_default(&lim);
	lim.max_flow_buffer = lim.max_total_buffer = 64u << 20;
	for (uint32_t i = 0; i < N; i++)
		order[i] = i;
	rng_state = 7;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = rng() % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	feed_order(order, N, 10, &lim, 1);
	free(order);
}
END_TEST

/*
 * Random packets on a few tuples with random flags, sequence numbers near
 * each other, snaplen cuts, a clock that jumps both ways and tiny caps.
 * The recorder checks the invariants on every call (contiguous offsets,
 * nothing after close, everything delivered before on_close); the
 * sanitizers check the memory.
 */
/* Everything a run recorded, in one text: each flow's data, findings
 * and close, the global findings and the order of the calls. */
static char *rec_dump(const struct rec *r)
{
	struct buf b = { 0 };

	for (int i = 0; i < r->n; i++) {
		const struct rflow *f = r->f[i];

		buf_printf(&b, "flow %d closed %d reason %d history %s last %llu "
			   "bytes %llu/%llu gaps %llu/%llu packets %llu/%llu\n",
			   i, f->closed, (int)f->reason, f->history,
			   (unsigned long long)f->last_frame,
			   (unsigned long long)f->bytes[0], (unsigned long long)f->bytes[1],
			   (unsigned long long)f->gap_bytes[0],
			   (unsigned long long)f->gap_bytes[1],
			   (unsigned long long)f->packets[0],
			   (unsigned long long)f->packets[1]);
		for (int d = 0; d < 2; d++)
			buf_add(&b, f->view[d].p, f->view[d].len);
		buf_add(&b, f->log.p, f->log.len);
	}
	buf_add(&b, r->glog.p, r->glog.len);
	buf_add(&b, r->order.p, r->order.len);
	buf_add(&b, "", 1);
	return b.p;
}

/* How a chaos run hints the flows to come (tcp_reasm_hint). */
enum chaos_hints { HINT_NONE, HINT_AHEAD, HINT_GARBAGE };

/*
 * 30,000 random segments over six tuples.  Round 0: all flags.  Round 1:
 * no SYN or RST, so that flows live long and the hold queues and caps
 * get the work.  Returns what the run recorded (rec_dump()).
 */
static char *chaos(int round, enum chaos_hints hints)
{
	static const uint8_t flagset[] = {
		TCPF_SYN, TCPF_SYN | TCPF_ACK, TCPF_ACK, AP, AP, AP, TCPF_PSH,
		TCPF_FIN | TCPF_ACK, TCPF_RST, AP | TCPF_FIN,
	};
	enum { N = 30000, AHEAD = 3 };
	static struct ip_segment segs[N];
	uint8_t payload[300];
	struct imt_limits lim;
	struct tcp_reasm *t;
	struct tcp_stats st;
	int64_t ts = 1000;
	char *dump;

	imt_limits_default(&lim);
	lim.max_flows = round == 0 ? 4 : 16;
	lim.max_flow_buffer = 2000;
	lim.max_total_buffer = 5000;
	lim.idle_timeout = 30;
	t = mk(&lim, 1);
	R->quiet = 1;
	rng_state = 99 + (uint64_t)round;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rng();
	for (uint32_t i = 0; i < N; i++) {
		struct ip_segment *s = &segs[i];
		uint32_t r = rng();
		int who = r & 1, tuple = (int)(r >> 1) % 6;
		struct ip_endpoint c = ep4(1, (uint16_t)(40000 + tuple));
		struct ip_endpoint sv = ep4(2, tuple == 5 ? 1430 : 143);
		uint8_t fl = round == 0 ? flagset[rng() % sizeof(flagset)] :
				 flagset[2 + rng() % 5];
		uint32_t len = rng() % 4 ? rng() % 200 : 0;
		uint32_t miss = rng() % 10 == 0 ? rng() % 100 : 0;
		uint32_t seq = (uint32_t)(who ? 0xFFFFF000u : 1000u) +
			       rng() % 3000;

		ts += (int64_t)(rng() % 5) - (rng() % 50 == 0 ? 60 : 0);
		if (rng() % 500 == 0)
			ts += 40;
		memset(s, 0, sizeof(*s));
		s->frame = i + 1;
		s->ts_sec = ts;
		s->src = who ? sv : c;
		s->dst = who ? c : sv;
		s->seq = seq;
		s->ack = (who ? 1000u : 0xFFFFF000u) + rng() % 3000;
		s->flags = fl;
		s->payload = payload + rng() % 100;
		s->payload_len = len;
		s->payload_missing = miss;
	}
	for (uint32_t i = 0; i < N; i++) {
		if (hints == HINT_AHEAD && i + AHEAD < N)
			tcp_reasm_hint(t, &segs[i + AHEAD].src, &segs[i + AHEAD].dst);
		if (hints == HINT_GARBAGE) {
			struct ip_endpoint a = ep4((uint8_t)rng(), (uint16_t)rng());

			tcp_reasm_hint(t, &a, &segs[i].dst);
		}
		tcp_reasm_feed(t, &segs[i]);
	}
	tcp_reasm_finish(t);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_open, 0);
	ck_assert_uint_eq(st.flows_waiting, 0);
	ck_assert_uint_eq(st.held_bytes, 0);
	ck_assert_uint_gt(st.flows_opened, 10);
	ck_assert_uint_gt(st.retransmissions, 0);
	for (int i = 0; i < R->n; i++)
		ck_assert(R->f[i]->closed);
	dump = rec_dump(R);
	done(t);
	return dump;
}

START_TEST(test_random_chaos)
{
	free(chaos(_i, HINT_NONE));
}
END_TEST

/* Hints fetch memory ahead and change nothing: the packets to come, or
 * endpoints no flow has, the same record as without. */
START_TEST(test_hints_change_nothing)
{
	char *plain = chaos(_i, HINT_NONE);
	char *ahead = chaos(_i, HINT_AHEAD);
	char *garbage = chaos(_i, HINT_GARBAGE);

	ck_assert_uint_gt(strlen(plain), 1000);
	ck_assert_str_eq(ahead, plain);
	ck_assert_str_eq(garbage, plain);
	free(plain);
	free(ahead);
	free(garbage);
}
END_TEST

/* Handshakes under way are counted: SYN-only flows are not (a SYN flood
 * is no sessions to come), a flow that got its SYN-ACK is until it opens;
 * every flow in the table is held. */
START_TEST(test_flows_waiting)
{
	struct tcp_reasm *t = mk_capped(100);
	struct tcp_stats st;
	struct conn x;

	syns(t, 1, 9, 50);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 0);
	ck_assert_uint_eq(st.flows_held, 50);
	x = conn_mk(t, 40000, 143, 1000, 5000);
	x.frame = 1000;
	snd(&x, 0, TCPF_SYN, NULL);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 0);
	snd(&x, 1, TCPF_SYN | TCPF_ACK, NULL);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 1);
	snd(&x, 1, TCPF_SYN | TCPF_ACK, NULL);   /* a retransmitted SYN-ACK */
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 1);
	snd(&x, 0, TCPF_ACK, NULL);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 0);
	ck_assert_uint_eq(st.flows_open, 1);
	ck_assert_uint_eq(st.flows_held, 51);
	syns(t, 2000, 8, 1000);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 0);
	ck_assert_uint_eq(st.flows_held, 100);
	tcp_reasm_finish(t);
	tcp_reasm_stats(t, &st);
	ck_assert_uint_eq(st.flows_waiting, 0);
	done(t);
}
END_TEST

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *c = tcase_create("core");
	TCase *v = tcase_create("volume");

	tcase_add_test(c, test_handshake_both_ways);
	tcase_add_test(c, test_orient_port_midstream);
	tcase_add_test(c, test_orient_content);
	tcase_add_test(c, test_orient_no_classify);
	tcase_add_test(c, test_orient_synack_only);
	tcase_add_test(c, test_out_of_order);
	tcase_add_test(c, test_retransmission);
	tcase_add_test(c, test_overlap_mismatch_delivered);
	tcase_add_test(c, test_overlap_mismatch_held);
	tcase_add_test(c, test_overlap_mismatch_leased);
	tcase_add_test(c, test_refs_at_limits);
	tcase_add_test(c, test_flow_stamps);
	tcase_add_test(c, test_refs_count_and_frames);
	tcase_add_test(c, test_gap_by_ack);
	tcase_add_test(c, test_ack_before_own_data);
	tcase_add_test(c, test_ack_before_segment);
	tcase_add_test(c, test_gap_by_flow_cap);
	tcase_add_test(c, test_gap_by_total_cap);
	tcase_add_test(c, test_gap_at_end);
	tcase_add_test(c, test_snaplen_missing);
	tcase_add_test(c, test_seq_wrap);
	tcase_add_test(c, test_offsets_past_4g);
	tcase_add_test(c, test_midstream_before_base);
	tcase_add_test(c, test_fin_with_hole);
	tcase_add_test(c, test_rst);
	tcase_add_test(c, test_rst_with_hole);
	tcase_add_test(c, test_data_after_fin);
	tcase_add_test(c, test_reuse_after_close);
	tcase_add_test(c, test_reuse_open_flow);
	tcase_add_test(c, test_idle_timeout);
	tcase_add_test(c, test_tombstone_expires);
	tcase_add_test(c, test_flow_cap_eviction);
	tcase_add_test(c, test_syn_only_evicted_first);
	tcase_add_test(c, test_syn_flood);
	tcase_add_test(c, test_ignored_and_stopped);
	tcase_add_test(c, test_names);
	tcase_add_test(c, test_flows_waiting);
	tcase_add_test(v, test_permutations);
	tcase_add_test(v, test_million_one_byte);
	tcase_add_test(v, test_100k_reversed);
	tcase_add_test(v, test_100k_random);
	tcase_add_loop_test(v, test_random_chaos, 0, 2);
	tcase_add_loop_test(v, test_hints_change_nothing, 0, 2);
	/* Correctness only; generous for sanitizer builds. */
	tcase_set_timeout(v, 300);
	suite_add_tcase(s, c);
	suite_add_tcase(s, v);
	return s;
}

int main(void)
{
	return imt_check_main(tcp_suite());
}
