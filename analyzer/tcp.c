/*
 * tcp.c - TCP stream reassembly: segments in, ordered bytes out (tcp.h).
 *
 * Layout.  Flows live in a hash table keyed by the unordered pair of
 * endpoints (both directions hash alike) with a bucket array doubled by
 * rehash, and on one of three LRU lists ordered by last activity:
 *
 *   TL_TOMB    closed flows (FIN both ways or RST), kept without buffers
 *              so that late retransmissions, ACKs and data after close
 *              do not open spurious midstream flows.  A new SYN (one
 *              whose sequence number differs from the old one) replaces
 *              the tombstone; otherwise it lasts min(idle timeout,
 *              TCP_TOMB_SECS).
 *   TL_EMBRYO  flows not opened yet: only SYNs, SYN-ACKs, RSTs or pure
 *              ACKs with no way to orient them.  Scans and SYN floods stay
 *              here: no callback, no buffer, evicted before real flows.
 *   TL_OPEN    flows handed to the consumer through on_open.
 *
 * Keeping each list in activity order makes idle expiry and eviction
 * O(1): the oldest flow is the head.  Time is the capture's own clock,
 * made monotonic (the largest timestamp seen), so a capture whose clock
 * jumps backwards never expires anything.
 *
 * Per direction ("side": side 0 sent the flow's first packet) we keep
 * the sequence number of stream offset 0 and the next expected stream
 * offset as a 64-bit count; the expected sequence number is derived from
 * them, so streams longer than 4 GB and the 32-bit wrap need nothing
 * special.  Segment positions are turned into stream offsets with the
 * wrap-safe 32-bit difference that the SEQ_ macros use.
 *
 * In-order bytes go from the packet to on_data untouched.  Bytes ahead
 * of the expected offset are copied into an AVL tree of non-overlapping
 * pieces keyed by stream offset (O(log n) per insert, whatever the
 * arrival order); the first copy of any byte wins and a later copy that
 * differs is reported.  To spot mismatching retransmissions of bytes
 * already delivered, each direction keeps the most recently delivered
 * bytes in a ring (grown lazily up to TCP_RECENT_MAX, all rings together
 * within max_total_buffer) and the frames that delivered them.
 *
 * Holes are skipped (on_gap) when the peer ACKs past them, when holding
 * more would pass max_flow_buffer or max_total_buffer (each held piece
 * is charged its bytes plus its node), when both FINs are seen, and at
 * RST, timeout, eviction and tcp_reasm_finish.  An ACK past a hole is
 * believed only after the reorder window (tcp_reorder.c): capture points
 * can show the ACK before the segment, so the packet that carries it
 * waits, with the flow's packets after it, for the missing bytes.
 *
 * Files: tcp.c takes a packet (orientation, SYN, FIN, RST, tombstones,
 * the clock) and holds the public calls; tcp_stream.c places, holds and
 * delivers one direction's bytes; tcp_flow.c keeps the flow table, the
 * lists and a flow's lifetime; tcp_store.c the hold tree and the ring of
 * recent bytes; tcp_reorder.c the reorder window.  tcp_int.h is what they share.
 */
#include "tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "tcp_int.h"

static const char *const orient_names[] = {
#define TCP_ORIENT_NAME(e, name) [e] = name,
	TCP_ORIENTS(TCP_ORIENT_NAME)
#undef TCP_ORIENT_NAME
};

static const char *const close_names[] = {
#define TCP_CLOSE_NAME(e, name) [e] = name,
	TCP_CLOSE_REASONS(TCP_CLOSE_NAME)
#undef TCP_CLOSE_NAME
};

const char *tcp_orient_name(enum tcp_orient o)
{
	if ((size_t)o >= sizeof(orient_names) / sizeof(*orient_names))
		return "?";
	return orient_names[o];
}

const char *tcp_close_reason_name(enum tcp_close_reason r)
{
	if ((size_t)r >= sizeof(close_names) / sizeof(*close_names))
		return "?";
	return close_names[r];
}

/* ---- per packet ---- */

static int tcp_is_imap_port(const struct tcp_reasm *t, uint16_t port)
{
	for (size_t i = 0; i < t->nports; i++)
		if (t->ports[i] == port)
			return 1;
	return 0;
}

static void tcp_orient(struct tcp_reasm *t, struct tcp_flow *f, int s,
		       const struct ip_segment *seg)
{
	int client, r;

	if (f->oriented)
		return;
	if (seg->flags & TCPF_SYN) {
		client = seg->flags & TCPF_ACK ? !s : s;
		f->how = TCP_BY_SYN;
	} else if (tcp_is_imap_port(t, seg->dst.port)) {
		client = s;
		f->how = TCP_BY_PORT;
	} else if (tcp_is_imap_port(t, seg->src.port)) {
		client = !s;
		f->how = TCP_BY_PORT;
	} else if (seg->payload_len > 0) {
		r = t->cb.classify ? t->cb.classify(seg->payload,
						    seg->payload_len) : -1;
		client = r == 1 ? !s : s;
		f->how = r < 0 ? TCP_BY_FIRST_SENDER : TCP_BY_CONTENT;
	} else {
		return;
	}
	f->client_side = client;
	f->oriented = 1;
}

static void tcp_open(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_flow_info info = {
		.client = f->ep[f->client_side],
		.server = f->ep[!f->client_side],
		.how = f->how, .midstream = !f->saw_syn, .first = tcp_stamp(f, TS_FIRST),
	};

	f->opened = 1;
	tcp_touch(t, f, TL_OPEN);
	t->st.flows_opened++;
	t->st.flows_open++;
	if (t->cb.on_open != NULL)
		f->handle = t->cb.on_open(t->user, &info);
}

static void tcp_syn(struct tcp_flow *f, int s, const struct ip_segment *seg)
{
	struct tcp_side *sd = &f->s[s], *peer = &f->s[!s];

	if (!(seg->flags & TCPF_SYN))
		return;
	f->saw_syn = 1;
	if (!sd->syn) {
		sd->syn = 1;
		sd->syn_seq = seg->seq;
		if (!sd->has_base) {
			sd->isn = seg->seq + 1;
			sd->off = 0;
			sd->has_base = 1;
		}
	}
	/* A SYN-ACK tells the client's first sequence number too. */
	if ((seg->flags & TCPF_ACK) && !peer->has_base) {
		peer->isn = seg->ack;
		peer->off = 0;
		peer->has_base = 1;
	}
}

static void tcp_fin(struct tcp_flow *f, int s, const struct ip_segment *seg)
{
	struct tcp_side *sd = &f->s[s];
	uint32_t dseq = seg->seq + ((seg->flags & TCPF_SYN) ? 1 : 0);
	int64_t fo;

	if (sd->fin)
		return;
	if (!sd->has_base) {
		sd->isn = dseq;
		sd->off = 0;
		sd->has_base = 1;
	}
	fo = (int64_t)sd->off + tcp_seq_delta(dseq + seg->payload_len +
					     seg->payload_missing,
					     tcp_next_seq(sd));
	sd->fin = 1;
	sd->fin_off = fo > (int64_t)sd->off ? (uint64_t)fo : sd->off;
}

/* Both sides said FIN: report what is still missing and close. */
static void tcp_fin_close(struct tcp_reasm *t, struct tcp_flow *f,
			  const struct tcp_meta *m)
{
	if (f->opened) {
		for (int s = 0; s < 2; s++) {
			struct tcp_side *sd = &f->s[s];

			tcp_flush_to(t, f, s, sd->fin_off, m);
			/* Held bytes past a FIN were never sent for real. */
			tcp_avl_free(t, sd, sd->held);
			sd->held = NULL;
		}
	}
	tcp_make_tomb(t, f, TCP_CLOSE_FIN, m);
}

static void tcp_rst(struct tcp_reasm *t, struct tcp_flow *f, int s,
		    const struct tcp_meta *m)
{
	struct imt_finding_report rep = {
		.id = F_TCP_RESET, .offset = f->s[s].off,
	};

	if (f->opened) {
		for (int i = 0; i < 2; i++)
			tcp_flush_all(t, f, i, m);
		rep.offset = f->s[s].off;
		tcp_finding(t, f, s, &rep, m);
	}
	tcp_make_tomb(t, f, TCP_CLOSE_RST, m);
}

static void tcp_hist_packet(struct tcp_flow *f, int s,
			    const struct ip_segment *seg)
{
	uint8_t fl = seg->flags;
	int payload = seg->payload_len > 0 || seg->payload_missing > 0;

	if (fl & TCPF_SYN)
		tcp_hist(f, s, fl & TCPF_ACK ? TH_SYNACK : TH_SYN);
	if (payload)
		tcp_hist(f, s, TH_DATA);
	if (fl & TCPF_FIN)
		tcp_hist(f, s, TH_FIN);
	if (fl & TCPF_RST)
		tcp_hist(f, s, TH_RST);
	if ((fl & TCPF_ACK) && !(fl & (TCPF_SYN | TCPF_FIN | TCPF_RST)) &&
	    !payload)
		tcp_hist(f, s, TH_ACK);
}

/* A packet that shows a real exchange, not a bare SYN, SYN-ACK or RST:
 * only such a packet opens a flow, so scans stay cheap and silent. */
static int tcp_substantive(const struct ip_segment *seg)
{
	if (seg->payload_len > 0 || seg->payload_missing > 0)
		return 1;
	return !(seg->flags & (TCPF_SYN | TCPF_RST));
}

void tcp_packet_now(struct tcp_reasm *t, struct tcp_flow *f, int s,
		    const struct ip_segment *seg, const struct tcp_meta *m)
{
	struct tcp_cur c = { .m = m, .frame = m->frame, .lessor = seg->lessor };

	f->s[s].packets++;
	tcp_stamp_set(f, TS_LAST, m);
	tcp_touch(t, f, f->list);
	tcp_hist_packet(f, s, seg);
	tcp_orient(t, f, s, seg);
	tcp_syn(f, s, seg);
	tcp_shaking_update(t, f);
	if (f->oriented && !f->opened && tcp_substantive(seg))
		tcp_open(t, f);
	if (seg->flags & TCPF_RST) {
		tcp_rst(t, f, s, m);
		return;
	}
	/* The peer's bytes this packet acknowledges were sent before it:
	 * release them first so that both directions keep their order. */
	if (f->opened && (seg->flags & TCPF_ACK))
		tcp_ack(t, f, !s, seg->ack, m);
	if (f->opened && seg->payload_missing > 0)
		tcp_count_truncated(f, s, seg, m);
	if (f->opened && (seg->payload_len > 0 || seg->payload_missing > 0))
		tcp_data(t, f, s, seg, &c);
	if (seg->flags & TCPF_FIN)
		tcp_fin(f, s, seg);
	if (f->s[0].fin && f->s[1].fin)
		tcp_fin_close(t, f, m);
}

/*
 * A packet for a closed flow.  Returns 1 when the tombstone absorbs it
 * (late retransmission, ACK, data after close), 0 when it is a new SYN
 * that starts a new flow on the tuple.
 */
int tcp_tomb_absorbs(struct tcp_reasm *t, struct tcp_flow *f, int s,
		     const struct ip_segment *seg, const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	uint32_t dseq = seg->seq + ((seg->flags & TCPF_SYN) ? 1 : 0);
	uint64_t limit = sd->fin && sd->fin_off > sd->off ? sd->fin_off : sd->off;
	uint32_t len = seg->payload_len + seg->payload_missing;
	char a[IP_ENDPOINT_STRLEN], b[IP_ENDPOINT_STRLEN], detail[200];
	struct imt_finding_report rep = {
		.id = F_TCP_DATA_AFTER_CLOSE, .frame = m->frame,
		.detail = detail, .value = len,
	};

	if ((seg->flags & TCPF_SYN) && !(sd->syn && sd->syn_seq == seg->seq))
		return 0;
	if (len == 0 || sd->after_close_told)
		return 1;
	if (sd->has_base &&
	    SEQ_LEQ(dseq + len, sd->isn + (uint32_t)limit))
		return 1;
	sd->after_close_told = 1;
	if (!f->opened || t->cb.on_global_finding == NULL)
		return 1;
	rep.dir = tcp_dir_of(f, s);
	rep.offset = limit;
	snprintf(detail, sizeof(detail), "%s -> %s after the connection closed",
		 ip_endpoint_format(&seg->src, a, sizeof(a)),
		 ip_endpoint_format(&seg->dst, b, sizeof(b)));
	t->cb.on_global_finding(t->user, &rep, m);
	return 1;
}

/* A SYN that cannot be a retransmission of the flow's own starts a new
 * connection on the tuple. */
static int tcp_is_new_syn(const struct tcp_flow *f, int s,
			  const struct ip_segment *seg)
{
	const struct tcp_side *sd = &f->s[s];

	if ((seg->flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN)
		return 0;
	return !(sd->syn && sd->syn_seq == seg->seq);
}

/* One packet of an open or embryonic flow, through the reorder window. */
static void tcp_packet(struct tcp_reasm *t, struct tcp_flow *f, int s,
		       const struct ip_segment *seg, const struct tcp_meta *m)
{
	if (tcp_reorder_take(t, f, s, seg, m))
		return;
	/* The packets released before this one may have closed the flow.
	 * (A new SYN on the tuple then is lost: it would have to follow
	 * both FINs within the window.) */
	if (f->list == TL_TOMB) {
		(void)tcp_tomb_absorbs(t, f, s, seg, m);
		return;
	}
	tcp_packet_now(t, f, s, seg, m);
}

static void tcp_clock(struct tcp_reasm *t, const struct tcp_meta *m)
{
	/* Clamped so that the product cannot overflow. */
	int64_t sec = m->ts_sec > INT64_MAX / TCP_NS_PER_SEC - 1 ?
		      INT64_MAX / TCP_NS_PER_SEC - 1 : m->ts_sec;
	int64_t ns;

	if (sec < -(INT64_MAX / TCP_NS_PER_SEC - 1))
		sec = -(INT64_MAX / TCP_NS_PER_SEC - 1);
	ns = sec * TCP_NS_PER_SEC + (int64_t)(m->ts_nsec % TCP_NS_PER_SEC);
	/* Monotonic: a clock that jumps back expires nothing. */
	if (!t->have_now || ns > t->now_ns) {
		t->now_ns = ns;
		t->have_now = 1;
	}
	tcp_expire(t);
}

void tcp_reasm_feed(struct tcp_reasm *t, const struct ip_segment *seg)
{
	struct tcp_meta m = {
		.frame = seg->frame, .ts_sec = seg->ts_sec,
		.ts_nsec = seg->ts_nsec, .ts_nano = seg->ts_nano,
	};
	struct ip_endpoint src, dst;
	struct tcp_flow *f;
	int s = 0;

	tcp_ep_norm(&src, &seg->src);
	tcp_ep_norm(&dst, &seg->dst);
	tcp_clock(t, &m);
	f = tcp_lookup(t, &src, &dst, &s);
	if (f != NULL && f->list == TL_TOMB) {
		if (tcp_tomb_absorbs(t, f, s, seg, &m))
			return;
		tcp_flow_free(t, f);
		f = NULL;
	} else if (f != NULL && tcp_is_new_syn(f, s, seg)) {
		tcp_close(t, f, TCP_CLOSE_REUSED, &m);
		tcp_flow_free(t, f);
		f = NULL;
	}
	if (f == NULL) {
		/* A RST alone is no connection worth tracking. */
		if (seg->flags & TCPF_RST)
			return;
		f = tcp_flow_new(t, &src, &dst, &m);
		if (f == NULL)
			return;
		s = 0;
	}
	tcp_packet(t, f, s, seg, &m);
}

void tcp_reasm_finish(struct tcp_reasm *t)
{
	struct tcp_flow *f;

	while ((f = t->lru[TL_OPEN].head) != NULL) {
		tcp_close(t, f, TCP_CLOSE_END, NULL);
		tcp_flow_free(t, f);
	}
	for (int l = 0; l < TL__COUNT; l++)
		while ((f = t->lru[l].head) != NULL)
			tcp_flow_free(t, f);
}

struct tcp_reasm *tcp_reasm_new(const struct imt_limits *lim,
				const struct tcp_config *cfg,
				const struct tcp_callbacks *cb, void *user)
{
	struct tcp_reasm *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (lim != NULL)
		t->lim = *lim;
	else
		imt_limits_default(&t->lim);
	if (cb != NULL)
		t->cb = *cb;
	t->user = user;
	mem_pool_init(&t->flow_pool, sizeof(struct tcp_flow));
	mem_pool_init(&t->ref_pool, TCP_NREF_FIRST * sizeof(struct tcp_ref));
	if (cfg != NULL && cfg->nports > 0) {
		t->ports = malloc(cfg->nports * sizeof(*t->ports));
		if (t->ports == NULL)
			goto fail;
		memcpy(t->ports, cfg->ports, cfg->nports * sizeof(*t->ports));
		t->nports = cfg->nports;
	}
	t->nbucket = TCP_INITIAL_BUCKETS;
	t->bucket = calloc(t->nbucket, sizeof(*t->bucket));
	if (t->bucket == NULL)
		goto fail;
	/* Varies per run against crafted collisions; output order never
	 * depends on it (flows are walked through the lists). */
	t->seed = hash_seed(t);
	return t;
fail:
	tcp_reasm_free(t);
	return NULL;
}

void tcp_reasm_drop_lease(struct tcp_reasm *t)
{
	if (t->lease == NULL)
		return;
	for (int l = 0; l < TL__COUNT; l++)
		for (struct tcp_flow *f = t->lru[l].head; f != NULL; f = f->next)
			for (int s = 0; s < 2; s++)
				tcp_recent_unstable(t, &f->s[s]);
	cap_lease_release(t->lease);
	t->lease = NULL;
}

void tcp_reasm_stats(const struct tcp_reasm *t, struct tcp_stats *st_r)
{
	*st_r = t->st;
	st_r->flows_held = t->nflows;
	st_r->flows_waiting = t->nshaking;
}

void tcp_reasm_free(struct tcp_reasm *t)
{
	struct tcp_flow *f;

	if (t == NULL)
		return;
	for (int l = 0; l < TL__COUNT; l++) {
		while ((f = t->lru[l].head) != NULL) {
			t->lru[l].head = f->next;
			tcp_flow_release_buffers(t, f);
		}
	}
	mem_pool_fini(&t->flow_pool);
	mem_pool_fini(&t->ref_pool);
	cap_lease_release(t->lease);
	free(t->bucket);
	free(t->ports);
	free(t);
}
