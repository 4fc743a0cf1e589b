/*
 * tcp_stream.c - one direction's bytes of a TCP flow (see the layout
 * comment at the top of tcp.c): a segment's payload placed against the
 * expected offset, delivered in order, held when early, compared with
 * what was delivered when it comes again; holes skipped when the peer
 * ACKs past them or a cap says so; callbacks and evidence.
 *
 * Layout: callbacks and evidence; releasing held data; holding data that
 * arrived early; one segment's payload and the peer's ACK.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

/* ---- callbacks and evidence ---- */

void tcp_hist(struct tcp_flow *f, int s, enum tcp_hist h)
{
	if (f->s[s].hist & (1u << h) || f->nhist >= TCP_HIST_MAX)
		return;
	f->s[s].hist |= (uint16_t)(1u << h);
	f->hist[f->nhist++] = (uint8_t)(h | s << 4);
}

void tcp_finding(struct tcp_reasm *t, struct tcp_flow *f, int s,
		 struct imt_finding_report *rep,
		 const struct tcp_meta *m)
{
	rep->dir = s < 0 ? IMT_DIR_NONE : tcp_dir_of(f, s);
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
void tcp_flush_to(struct tcp_reasm *t, struct tcp_flow *f, int s,
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

void tcp_flush_all(struct tcp_reasm *t, struct tcp_flow *f, int s,
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
	if (tcp_recent_differs(sd, start, p, len, &at))
		tcp_report_mismatch(t, f, s, c, at,
		    tcp_recent_frame(sd, at),
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

void tcp_data(struct tcp_reasm *t, struct tcp_flow *f, int s,
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
void tcp_ack(struct tcp_reasm *t, struct tcp_flow *f, int s,
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
