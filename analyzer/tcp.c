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
 * RST, timeout, eviction and tcp_reasm_finish.
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"
#include "wire.h"

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

/* ---- callbacks and evidence ---- */

static enum tcp_dir tcp_dir_of(const struct tcp_flow *f, int s)
{
	return s == f->client_side ? TCP_C2S : TCP_S2C;
}

static void tcp_hist(struct tcp_flow *f, int s, enum tcp_hist h)
{
	if (f->s[s].hist & (1u << h) || f->nhist >= TCP_HIST_MAX)
		return;
	f->s[s].hist |= (uint16_t)(1u << h);
	f->hist[f->nhist++] = (uint8_t)(h | s << 4);
}

static void tcp_finding(struct tcp_reasm *t, struct tcp_flow *f, int s,
			struct imt_finding_report *rep,
			const struct tcp_meta *m)
{
	rep->dir = s < 0 ? -1 : (int)tcp_dir_of(f, s);
	if (rep->frame == 0)
		rep->frame = m->frame;
	if (f->handle != NULL && t->cb.on_finding != NULL)
		t->cb.on_finding(f->handle, rep, m);
}

static void tcp_report_mismatch(struct tcp_reasm *t, struct tcp_flow *f,
				int s, struct tcp_cur *c, uint64_t at,
				uint64_t other, uint64_t overlap)
{
	struct imt_finding_report rep = {
		.id = F_TCP_OVERLAP_MISMATCH, .other_frame = other,
		.offset = at, .value = overlap,
		.detail = "the first copy was kept",
	};

	if (c->mismatch_told)
		return;
	c->mismatch_told = 1;
	t->st.overlaps_mismatched++;
	tcp_hist(f, s, TH_OVERLAP);
	tcp_finding(t, f, s, &rep, c->m);
}

static void tcp_count_retrans(struct tcp_reasm *t, struct tcp_flow *f, int s,
			      struct tcp_cur *c)
{
	if (c->retrans_counted)
		return;
	c->retrans_counted = 1;
	t->st.retransmissions++;
	tcp_hist(f, s, TH_RETRANS);
}

static void tcp_emit_data(struct tcp_reasm *t, struct tcp_flow *f, int s,
			  const uint8_t *data, uint64_t len, uint64_t frame,
			  struct cap_reader *lessor, const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	uint64_t off = sd->off;
	struct tcp_meta sm;

	if (len == 0)
		return;
	sd->off += len;
	sd->bytes += len;
	if (f->handle == NULL)
		return;
	tcp_recent_add(t, sd, data, len, off, frame, lessor);
	if (lessor != NULL) {
		/* The consumer may keep the bytes instead of copying them. */
		sm = *m;
		sm.lessor = lessor;
		m = &sm;
	}
	if (!f->stopped && t->cb.on_data != NULL &&
	    t->cb.on_data(f->handle, tcp_dir_of(f, s), data, (size_t)len, off, m))
		f->stopped = 1;
}

static void tcp_emit_gap(struct tcp_reasm *t, struct tcp_flow *f, int s,
			 uint64_t len, const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	uint64_t off = sd->off;

	if (len == 0)
		return;
	sd->off += len;
	sd->gap_bytes += len;
	tcp_hist(f, s, TH_GAP);
	if (f->handle != NULL && !f->stopped && t->cb.on_gap != NULL)
		t->cb.on_gap(f->handle, tcp_dir_of(f, s), off, len, m);
}

static void tcp_emit_node(struct tcp_reasm *t, struct tcp_flow *f, int s,
			  const struct tcp_node *n, const struct tcp_meta *m)
{
	if (n->missing)
		tcp_emit_gap(t, f, s, n->len, m);
	else
		tcp_emit_data(t, f, s, n->data + n->skip, n->len, n->frame, 0, m);
}

/* ---- releasing held data ---- */

/* Delivers held pieces that now start at or before the expected offset. */
static void tcp_release(struct tcp_reasm *t, struct tcp_flow *f, int s,
			const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	struct tcp_node *n;

	while ((n = tcp_avl_min(sd->held)) != NULL && n->off <= sd->off) {
		sd->held = tcp_avl_pop_min(sd->held, &n);
		if (n->off + n->len > sd->off) {
			tcp_node_trim(t, n, sd->off - n->off);
			tcp_emit_node(t, f, s, n, m);
		}
		tcp_node_free(t, sd, n);
	}
}

/* Skips the first hole and delivers what follows it; -1 when nothing
 * is held. */
static int tcp_skip_hole(struct tcp_reasm *t, struct tcp_flow *f, int s,
			 const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	struct tcp_node *n = tcp_avl_min(sd->held);

	if (n == NULL)
		return -1;
	if (n->off > sd->off)
		tcp_emit_gap(t, f, s, n->off - sd->off, m);
	tcp_release(t, f, s, m);
	return 0;
}

/* Moves the expected offset to upto, delivering held data and reporting
 * the holes between. */
static void tcp_flush_to(struct tcp_reasm *t, struct tcp_flow *f, int s,
			 uint64_t upto, const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];

	tcp_release(t, f, s, m);
	while (sd->off < upto) {
		struct tcp_node *n = tcp_avl_min(sd->held);
		uint64_t stop = n != NULL && n->off < upto ? n->off : upto;

		tcp_emit_gap(t, f, s, stop - sd->off, m);
		tcp_release(t, f, s, m);
	}
}

static void tcp_flush_all(struct tcp_reasm *t, struct tcp_flow *f, int s,
			  const struct tcp_meta *m)
{
	while (tcp_skip_hole(t, f, s, m) == 0)
		;
}

/* ---- holding data that arrived early ---- */

static void tcp_hold_piece(struct tcp_reasm *t, struct tcp_side *sd,
			   uint64_t off, const uint8_t *data, uint64_t len,
			   uint64_t frame)
{
	size_t size = sizeof(struct tcp_node) + (data ? (size_t)len : 0);
	struct tcp_node *n = malloc(size);

	/* Out of memory: the piece becomes a hole, reported later. */
	if (n == NULL)
		return;
	memset(n, 0, sizeof(*n));
	n->off = off;
	n->frame = frame;
	n->len = (uint32_t)len;
	n->cost = (uint32_t)size;
	n->height = 1;
	n->missing = data == NULL;
	if (data != NULL) {
		memcpy(n->data, data, (size_t)len);
		t->st.held_bytes += len;
		if (t->st.held_bytes > t->st.held_bytes_peak)
			t->st.held_bytes_peak = t->st.held_bytes;
	}
	sd->held_cost += size;
	t->held_cost += size;
	sd->held = tcp_avl_insert(sd->held, n);
}

/*
 * Holds [from, to) of a segment whose byte at `start` is p[0] (p NULL for
 * snaplen-cut bytes), around the pieces already held: the first copy of
 * every byte wins, and a later copy with other bytes is reported.
 */
static void tcp_hold_range(struct tcp_reasm *t, struct tcp_flow *f, int s,
			   uint64_t start, uint64_t from, uint64_t to,
			   const uint8_t *p, struct tcp_cur *c)
{
	struct tcp_side *sd = &f->s[s];

	while (from < to) {
		struct tcp_node *n = tcp_avl_floor(sd->held, from);
		uint64_t stop;

		if (n != NULL && n->off + n->len > from) {
			stop = tcp_min64(to, n->off + n->len);
			if (p != NULL) {
				tcp_count_retrans(t, f, s, c);
				for (uint64_t o = from; !n->missing && o < stop; o++) {
					if (p[o - start] !=
					    n->data[n->skip + (o - n->off)]) {
						tcp_report_mismatch(t, f, s, c, o,
						    n->frame, stop - from);
						break;
					}
				}
			}
			from = stop;
			continue;
		}
		n = tcp_avl_after(sd->held, from);
		stop = n != NULL && n->off < to ? n->off : to;
		tcp_hold_piece(t, sd, from, p ? p + (from - start) : NULL,
			       stop - from, c->frame);
		from = stop;
	}
}

/* Returns 0 when held, 1 when the per-flow cap leaves no room, 2 when
 * the total cap does. */
static int tcp_hold(struct tcp_reasm *t, struct tcp_flow *f, int s,
		    uint64_t start, const uint8_t *p, uint64_t len,
		    uint64_t miss, struct tcp_cur *c)
{
	struct tcp_side *sd = &f->s[s];
	uint64_t need = len + sizeof(struct tcp_node) +
			(miss ? sizeof(struct tcp_node) : 0);

	if (BUDGET_EXCEEDED(sd->held_cost, need, t->lim.max_flow_buffer))
		return 1;
	if (BUDGET_EXCEEDED(t->held_cost, need, t->lim.max_total_buffer))
		return 2;
	tcp_hist(f, s, TH_OOO);
	tcp_hold_range(t, f, s, start, start, start + len, p, c);
	tcp_hold_range(t, f, s, start, start + len, start + len + miss, NULL, c);
	return 0;
}

static void tcp_limit_buffer(struct tcp_reasm *t, struct tcp_flow *f, int s,
			     int which, const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	struct imt_finding_report rep = {
		.id = F_LIMIT_REACHED, .offset = sd->off, .limit = "max-buffer",
		.value = which == 1 ? t->lim.max_flow_buffer :
				      t->lim.max_total_buffer,
		.detail = which == 1 ?
		    "out-of-order data passed the per-flow hold cap; "
		    "the hole before it was skipped" :
		    "out-of-order data passed the total hold cap; "
		    "the hole before it was skipped",
	};

	if (sd->limit_told)
		return;
	sd->limit_told = 1;
	tcp_finding(t, f, s, &rep, m);
}

/* ---- one segment's payload ---- */

/* Bytes already delivered came again: compare them with what was kept. */
static void tcp_old_bytes(struct tcp_reasm *t, struct tcp_flow *f, int s,
			  uint64_t start, const uint8_t *p, uint64_t len,
			  struct tcp_cur *c)
{
	struct tcp_side *sd = &f->s[s];
	uint64_t at;

	if (len == 0)
		return;
	tcp_count_retrans(t, f, s, c);
	if (tcp_recent_differs(sd->recent, start, p, len, &at))
		tcp_report_mismatch(t, f, s, c, at,
		    tcp_recent_frame(sd->recent, at),
		    tcp_min64(start + len, sd->off) - start);
}

/*
 * Delivers a segment that starts exactly at the expected offset: its own
 * bytes straight from the packet, except where a piece held earlier
 * covers them (first copy wins), and its snaplen-cut tail as a gap unless
 * held bytes fill it.
 */
static void tcp_inorder(struct tcp_reasm *t, struct tcp_flow *f, int s,
			const uint8_t *p, uint64_t len, uint64_t miss,
			struct tcp_cur *c)
{
	struct tcp_side *sd = &f->s[s];
	uint64_t start = sd->off, pe = start + len, end = pe + miss;

	while (sd->off < end) {
		uint64_t at = sd->off, stop;
		struct tcp_node *n = tcp_avl_min(sd->held);

		if (n != NULL && n->off <= at) {
			if (n->off < at)
				tcp_node_trim(t, n, at - n->off);
			stop = tcp_min64(pe, n->off + n->len);
			if (n->missing && at < pe) {
				/* Real bytes beat a snaplen placeholder. */
				tcp_node_trim(t, n, stop - at);
				if (n->len == 0) {
					sd->held = tcp_avl_pop_min(sd->held, &n);
					tcp_node_free(t, sd, n);
				}
				tcp_emit_data(t, f, s, p + (at - start),
					      stop - at, c->frame, c->lessor, c->m);
				continue;
			}
			if (at < pe) {
				tcp_count_retrans(t, f, s, c);
				for (uint64_t o = at; o < stop; o++) {
					if (p[o - start] !=
					    n->data[n->skip + (o - n->off)]) {
						tcp_report_mismatch(t, f, s, c, o,
						    n->frame, stop - at);
						break;
					}
				}
			}
			sd->held = tcp_avl_pop_min(sd->held, &n);
			tcp_emit_node(t, f, s, n, c->m);
			tcp_node_free(t, sd, n);
			continue;
		}
		stop = n != NULL && n->off < end ? n->off : end;
		if (at < pe)
			tcp_emit_data(t, f, s, p + (at - start),
				      tcp_min64(stop, pe) - at, c->frame,
				      c->lessor, c->m);
		else
			tcp_emit_gap(t, f, s, stop - at, c->m);
	}
}

static void tcp_after_close(struct tcp_reasm *t, struct tcp_flow *f, int s,
			    uint64_t off, uint64_t len,
			    const struct tcp_meta *m)
{
	struct imt_finding_report rep = {
		.id = F_TCP_DATA_AFTER_CLOSE, .offset = off, .value = len,
		.detail = "payload beyond the FIN of this direction (not delivered)",
	};

	if (f->s[s].after_close_told)
		return;
	f->s[s].after_close_told = 1;
	tcp_finding(t, f, s, &rep, m);
}

static void tcp_data(struct tcp_reasm *t, struct tcp_flow *f, int s,
		     const struct ip_segment *seg, struct tcp_cur *c)
{
	struct tcp_side *sd = &f->s[s];
	uint32_t dseq = seg->seq + ((seg->flags & TCPF_SYN) ? 1 : 0);
	const uint8_t *p = seg->payload;
	uint64_t len = seg->payload_len, miss = seg->payload_missing;
	uint64_t start, end;
	int64_t so;
	int full;

	if (!sd->has_base) {
		sd->isn = dseq;
		sd->off = 0;
		sd->has_base = 1;
	}
	so = (int64_t)sd->off + tcp_seq_delta(dseq, tcp_next_seq(sd));
	if (so < 0) {
		/* Before the first byte we know of (seen midstream): lost. */
		uint64_t cut = (uint64_t)-so;

		if (cut >= len + miss)
			return;
		if (cut <= len) {
			p += cut;
			len -= cut;
		} else {
			miss -= cut - len;
			len = 0;
		}
		so = 0;
	}
	start = (uint64_t)so;
	end = start + len + miss;
	if (sd->fin && end > sd->fin_off) {
		uint64_t from = start > sd->fin_off ? start : sd->fin_off;

		tcp_after_close(t, f, s, from, end - from, c->m);
		if (start >= sd->fin_off)
			return;
		end = sd->fin_off;
		if (end - start < len) {
			len = end - start;
			miss = 0;
		} else {
			miss = end - start - len;
		}
	}
	for (;;) {
		if (end <= sd->off) {
			tcp_old_bytes(t, f, s, start, p, len, c);
			return;
		}
		if (start <= sd->off) {
			uint64_t k = sd->off - start;

			tcp_old_bytes(t, f, s, start, p, tcp_min64(k, len), c);
			if (k <= len) {
				p += k;
				len -= k;
			} else {
				miss -= k - len;
				len = 0;
			}
			tcp_inorder(t, f, s, p, len, miss, c);
			tcp_release(t, f, s, c->m);
			return;
		}
		if ((full = tcp_hold(t, f, s, start, p, len, miss, c)) == 0)
			return;
		/* No room: skip the first hole, then look at it again. */
		tcp_limit_buffer(t, f, s, full, c->m);
		if (tcp_skip_hole(t, f, s, c->m) < 0)
			tcp_emit_gap(t, f, s, start - sd->off, c->m);
	}
}

/* The peer acknowledged up to `ack`: what the capture lacks below it
 * was received, so it is a gap, not something to wait for. */
static void tcp_ack(struct tcp_reasm *t, struct tcp_flow *f, int s,
		    uint32_t ack, const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	int32_t d;
	uint64_t upto;

	if (!sd->has_base)
		return;
	d = tcp_seq_delta(ack, tcp_next_seq(sd));
	if (d <= 0 || d > TCP_MAX_ACK_JUMP)
		return;
	/* One past everything with nothing held is the ACK of a FIN the
	 * capture lost, not a lost byte. */
	if (d == 1 && sd->held == NULL && !sd->fin)
		return;
	upto = sd->off + (uint64_t)d;
	if (sd->fin && upto > sd->fin_off)
		upto = sd->fin_off;
	tcp_flush_to(t, f, s, upto, m);
}

/* ---- flows: table, lists, lifetime ---- */

static void tcp_flow_release_buffers(struct tcp_reasm *t, struct tcp_flow *f)
{
	for (int s = 0; s < 2; s++) {
		struct tcp_side *sd = &f->s[s];

		tcp_avl_free(t, sd, sd->held);
		sd->held = NULL;
		if (sd->recent != NULL) {
			t->recent_bytes -= sd->recent->cap;
			free(sd->recent);
			sd->recent = NULL;
		}
	}
}

static void tcp_flow_free(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_flow **pp = &t->bucket[f->hash & (t->nbucket - 1)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	tcp_lru_unlink(t, f);
	tcp_flow_release_buffers(t, f);
	t->nflows--;
	free(f);
}

static void tcp_history(const struct tcp_flow *f, char *buf)
{
	size_t i;

	for (i = 0; i < f->nhist; i++) {
		int s = f->hist[i] >> 4;
		char ch = TCP_HIST_CODES[f->hist[i] & 15];

		buf[i] = s == f->client_side ? ch : (char)(ch - 'A' + 'a');
	}
	buf[i] = '\0';
}

/*
 * Ends a flow: delivers what is held (holes as gaps), then on_close.
 * The flow stays in the table; the caller frees it or makes it a
 * tombstone.
 */
static void tcp_close(struct tcp_reasm *t, struct tcp_flow *f,
		      enum tcp_close_reason why, const struct tcp_meta *m)
{
	struct tcp_close_info ci = { .reason = why, .last = *m };
	char hist[TCP_HIST_MAX + 1];

	if (f->opened && f->list == TL_OPEN) {
		for (int s = 0; s < 2; s++)
			tcp_flush_all(t, f, s, m);
		if (f->handle != NULL && t->cb.on_close != NULL) {
			for (int s = 0; s < 2; s++) {
				enum tcp_dir d = tcp_dir_of(f, s);

				ci.bytes[d] = f->s[s].bytes;
				ci.gap_bytes[d] = f->s[s].gap_bytes;
				ci.packets[d] = f->s[s].packets;
			}
			tcp_history(f, hist);
			ci.history = hist;
			t->cb.on_close(f->handle, &ci);
		}
		t->st.flows_open--;
	}
	f->handle = NULL;
	tcp_flow_release_buffers(t, f);
}

static void tcp_make_tomb(struct tcp_reasm *t, struct tcp_flow *f,
			  enum tcp_close_reason why, const struct tcp_meta *m)
{
	tcp_close(t, f, why, m);
	tcp_touch(t, f, TL_TOMB);
}

static int64_t tcp_ttl_ns(const struct tcp_reasm *t, int list)
{
	int64_t idle = t->lim.idle_timeout;

	if (list == TL_TOMB && (idle == 0 || idle > TCP_TOMB_SECS))
		idle = TCP_TOMB_SECS;
	return idle * TCP_NS_PER_SEC;
}

/* Closes flows idle longer than their time to live (0: never). */
/*
 * Closes the flows idle past their list's time to live.  Each list is in
 * order of last activity and every flow that joins one later is newer,
 * so nothing can be due before the earliest deadline found last time:
 * until then the lists' heads (cold in the cache) are not looked at.
 */
static void tcp_expire(struct tcp_reasm *t)
{
	int64_t next = INT64_MAX;

	if (t->expire_known && t->now_ns <= t->expire_at)
		return;
	for (int l = 0; l < TL__COUNT; l++) {
		int64_t ttl = tcp_ttl_ns(t, l), from;
		struct tcp_flow *f;

		if (ttl <= 0)
			continue;
		while ((f = t->lru[l].head) != NULL &&
		       t->now_ns - f->last_ns > ttl) {
			if (l == TL_OPEN)
				tcp_close(t, f, TCP_CLOSE_TIMEOUT, &f->last);
			tcp_flow_free(t, f);
		}
		from = f != NULL ? f->last_ns : t->now_ns;
		if (from <= INT64_MAX - ttl && from + ttl < next)
			next = from + ttl;
	}
	t->expire_at = next;
	t->expire_known = 1;
}

/* Frees one flow to make room: a tombstone, else a flow never opened,
 * else the least recently active open flow. */
static void tcp_evict(struct tcp_reasm *t, const struct tcp_meta *m)
{
	struct imt_finding_report rep = {
		.id = F_LIMIT_REACHED, .dir = -1, .frame = m->frame,
		.limit = "max-flows", .value = t->lim.max_flows,
	};
	struct tcp_flow *f;

	if ((f = t->lru[TL_TOMB].head) != NULL) {
		tcp_flow_free(t, f);
		return;
	}
	if ((f = t->lru[TL_EMBRYO].head) != NULL) {
		tcp_flow_free(t, f);
		t->st.flows_evicted++;
		if (t->embryo_evict_told)
			return;
		t->embryo_evict_told = 1;
		rep.detail = "flows that never got past SYN "
			     "(a scan or a flood?) were dropped";
	} else if ((f = t->lru[TL_OPEN].head) != NULL) {
		tcp_close(t, f, TCP_CLOSE_EVICTED, &f->last);
		tcp_flow_free(t, f);
		t->st.flows_evicted++;
		rep.detail = "the least recently active flow was closed early";
	} else {
		return;
	}
	if (t->cb.on_global_finding != NULL)
		t->cb.on_global_finding(t->user, &rep, m);
}

static struct tcp_flow *tcp_flow_new(struct tcp_reasm *t,
				     const struct ip_endpoint *src,
				     const struct ip_endpoint *dst,
				     const struct tcp_meta *m)
{
	uint32_t max = t->lim.max_flows ? t->lim.max_flows : 1;
	struct tcp_flow *f;

	while (t->nflows >= max && t->nflows > 0)
		tcp_evict(t, m);
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->ep[0] = *src;
	f->ep[1] = *dst;
	f->hash = tcp_flow_hash(t, src, dst);
	f->first = f->last = *m;
	f->hnext = t->bucket[f->hash & (t->nbucket - 1)];
	t->bucket[f->hash & (t->nbucket - 1)] = f;
	t->nflows++;
	f->last_ns = t->now_ns;
	tcp_lru_append(t, f, TL_EMBRYO);
	if (t->nflows > t->nbucket && t->nbucket < (1u << 30))
		tcp_rehash(t);
	return f;
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
		.how = f->how, .midstream = !f->saw_syn, .first = f->first,
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

static void tcp_packet(struct tcp_reasm *t, struct tcp_flow *f, int s,
		       const struct ip_segment *seg, const struct tcp_meta *m)
{
	struct tcp_cur c = { .m = m, .frame = m->frame, .lessor = seg->lessor };

	f->s[s].packets++;
	f->last = *m;
	tcp_touch(t, f, f->list);
	tcp_hist_packet(f, s, seg);
	tcp_orient(t, f, s, seg);
	tcp_syn(f, s, seg);
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
	if (f->opened && (seg->payload_len > 0 || seg->payload_missing > 0))
		tcp_data(t, f, s, seg, &c);
	if (seg->flags & TCPF_FIN)
		tcp_fin(f, s, seg);
	if (f->s[0].fin && f->s[1].fin)
		tcp_fin_close(t, f, m);
}

static char *tcp_ep_format(const struct ip_endpoint *ep, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ep->family == 6 ? AF_INET6 : AF_INET, ep->addr, a, sizeof(a));
	snprintf(buf, n, ep->family == 6 ? "[%s]:%u" : "%s:%u", a,
		 (unsigned)ep->port);
	return buf;
}

/*
 * A packet for a closed flow.  Returns 1 when the tombstone absorbs it
 * (late retransmission, ACK, data after close), 0 when it is a new SYN
 * that starts a new flow on the tuple.
 */
static int tcp_tomb_absorbs(struct tcp_reasm *t, struct tcp_flow *f, int s,
			    const struct ip_segment *seg,
			    const struct tcp_meta *m)
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
	rep.dir = (int)tcp_dir_of(f, s);
	rep.offset = limit;
	snprintf(detail, sizeof(detail), "%s -> %s after the connection closed",
		 tcp_ep_format(&seg->src, a, sizeof(a)),
		 tcp_ep_format(&seg->dst, b, sizeof(b)));
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
		tcp_close(t, f, TCP_CLOSE_END, &f->last);
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
	t->seed = tcp_mix((uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ULL);
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
			free(f);
		}
	}
	cap_lease_release(t->lease);
	free(t->bucket);
	free(t->ports);
	free(t);
}
