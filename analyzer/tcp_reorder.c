/*
 * tcp_reorder.c - the reorder window of the TCP stage (see the layout
 * comment at the top of tcp.c).
 *
 * A capture point that merges several queues (or a span port) can show
 * the peer's ACK for a segment before the segment itself.  Believed at
 * once, that ACK would turn the segment's bytes into a gap a few packets
 * before they arrive.  So a packet that ACKs bytes of the peer that the
 * capture has not shown is held back (copied), and so is every later
 * packet of the flow, in capture order, except the ones that bring the
 * missing bytes: those are processed at once.  When the bytes below the
 * ACK are all there, the held packets are processed in capture order
 * and the ACK finds no hole.  When the window closes first (after
 * TCP_REORDER_PACKETS packets or TCP_REORDER_NS of capture time, at the
 * hold caps, at a FIN or RST, when the flow ends), they are processed
 * the same way and the hole becomes a gap exactly as without the window.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

/* The ACK of a packet from side s points past bytes of side !s the
 * capture has not shown, and only their arrival could fill the hole;
 * returns the stream offset it acknowledges, 0 when not. */
static uint64_t tcp_reorder_wants(const struct tcp_flow *f, int s,
				  const struct ip_segment *seg)
{
	const struct tcp_side *sd = &f->s[!s];
	int32_t d;

	if (!f->opened || !(seg->flags & TCPF_ACK) ||
	    (seg->flags & (TCPF_RST | TCPF_FIN)) || !sd->has_base || sd->fin)
		return 0;
	d = tcp_seq_delta(seg->ack, tcp_next_seq(sd));
	if (d <= 0 || d > TCP_MAX_ACK_JUMP)
		return 0;
	/* The ACK of a FIN the capture lost is no hole (tcp_ack). */
	if (d == 1 && sd->held == NULL)
		return 0;
	return sd->off + (uint64_t)d;
}

/* The packet from side s carries bytes at the expected offset of the
 * side waited for. */
static int tcp_reorder_fills(const struct tcp_flow *f, int s,
			     const struct ip_segment *seg)
{
	const struct tcp_side *sd = &f->s[s];
	uint32_t dseq = seg->seq + ((seg->flags & TCPF_SYN) ? 1 : 0);
	uint64_t len = (uint64_t)seg->payload_len + seg->payload_missing;
	int64_t d;

	if (s != f->hold->hole || len == 0 || (seg->flags & TCPF_RST))
		return 0;
	d = tcp_seq_delta(dseq, tcp_next_seq(sd));
	return d <= 0 && (int64_t)len > -d;
}

/* Holds a copy of the packet; -1 when the caps or memory say no. */
static int tcp_reorder_push(struct tcp_reasm *t, struct tcp_flow *f, int s,
			    const struct ip_segment *seg,
			    const struct tcp_meta *m)
{
	size_t size = sizeof(struct tcp_defer) + seg->payload_len;
	struct tcp_defer *q;
	struct tcp_hold *h = f->hold;

	if (BUDGET_EXCEEDED(h->cost, size, t->lim.max_flow_buffer) ||
	    BUDGET_EXCEEDED(t->held_cost, size, t->lim.max_total_buffer))
		return -1;
	q = malloc(size);
	if (q == NULL)
		return -1;
	q->next = NULL;
	q->seg = *seg;
	q->seg.lessor = NULL;
	if (seg->payload_len > 0)
		memcpy(q->data, seg->payload, seg->payload_len);
	q->seg.payload = q->data;
	q->m = *m;
	q->m.lessor = NULL;
	q->side = s;
	q->cost = (uint32_t)size;
	h->cost += size;
	t->held_cost += size;
	if (h->tail != NULL)
		h->tail->next = q;
	else
		h->head = q;
	h->tail = q;
	h->n++;
	return 0;
}

static struct tcp_defer *tcp_reorder_pop(struct tcp_reasm *t,
					 struct tcp_flow *f)
{
	struct tcp_hold *h = f->hold;
	struct tcp_defer *q;

	if (h == NULL)
		return NULL;
	q = h->head;
	if (q != NULL) {
		h->head = q->next;
		h->n--;
		h->cost -= q->cost;
		t->held_cost -= q->cost;
	}
	if (h->head == NULL) {
		/* The last one: the window is closed. */
		free(h);
		f->hold = NULL;
	}
	return q;
}

void tcp_reorder_release(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_defer *q;

	if (f->replaying || f->hold == NULL)
		return;
	f->replaying = 1;
	while ((q = tcp_reorder_pop(t, f)) != NULL) {
		/* A FIN or RST among them may have closed the flow. */
		if (f->list == TL_TOMB)
			(void)tcp_tomb_absorbs(t, f, q->side, &q->seg, &q->m);
		else
			tcp_packet_now(t, f, q->side, &q->seg, &q->m);
		free(q);
	}
	f->replaying = 0;
}

void tcp_reorder_free(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_defer *q;

	while ((q = tcp_reorder_pop(t, f)) != NULL)
		free(q);
}

int tcp_reorder_take(struct tcp_reasm *t, struct tcp_flow *f, int s,
		     const struct ip_segment *seg, const struct tcp_meta *m)
{
	uint64_t upto;

	if (f->replaying)
		return 0;
	if (f->hold == NULL) {
		if ((upto = tcp_reorder_wants(f, s, seg)) == 0)
			return 0;
		f->hold = calloc(1, sizeof(*f->hold));
		if (f->hold == NULL)
			return 0;
		f->hold->hole = !s;
		f->hold->upto = upto;
		f->hold->start_ns = t->now_ns;
		if (tcp_reorder_push(t, f, s, seg, m) == 0)
			return 1;
		free(f->hold);
		f->hold = NULL;
		return 0;
	}
	if (tcp_reorder_fills(f, s, seg)) {
		/* Sent before the packets held back: it goes first.  Its
		 * ACK is not looked at: the bytes of the other side it may
		 * acknowledge are among those held back. */
		struct ip_segment g = *seg;

		g.flags &= (uint8_t)~TCPF_ACK;
		tcp_packet_now(t, f, s, &g, m);
		/* (It may have closed the flow, releasing them all.) */
		if (f->hold != NULL && f->s[f->hold->hole].off >= f->hold->upto)
			tcp_reorder_release(t, f);
		return 1;
	}
	if (!(seg->flags & (TCPF_FIN | TCPF_RST)) &&
	    f->hold->n < TCP_REORDER_PACKETS &&
	    t->now_ns - f->hold->start_ns <= TCP_REORDER_NS &&
	    tcp_reorder_push(t, f, s, seg, m) == 0)
		return 1;
	tcp_reorder_release(t, f);
	return 0;
}
