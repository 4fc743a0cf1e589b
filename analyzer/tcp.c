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

#include "wire.h"

/* Zeek-style history letters, in the order of enum tcp_hist. */
#define TCP_HIST_CODES "SHADFRGTOW"
enum tcp_hist {
	TH_SYN, TH_SYNACK, TH_ACK, TH_DATA, TH_FIN, TH_RST, TH_GAP,
	TH_RETRANS, TH_OVERLAP, TH_OOO, TH__COUNT
};
#define TCP_HIST_MAX (2 * TH__COUNT)

/* Recently delivered bytes kept per direction for overlap checks. */
#define TCP_RECENT_MIN 4096u
#define TCP_RECENT_MAX 65536u
/* Delivery records (offset, frame) kept per direction. */
#define TCP_NREC 32
/* Longest life of a tombstone, like TIME_WAIT (2 MSL). */
#define TCP_TOMB_SECS 120
/* An ACK that jumps further than this is taken as bogus, not as loss. */
#define TCP_MAX_ACK_JUMP (1 << 30)
#define TCP_NS_PER_SEC 1000000000LL
#define TCP_INITIAL_BUCKETS 256u

enum tcp_list { TL_TOMB, TL_EMBRYO, TL_OPEN, TL__COUNT };

/* A held piece of one direction's stream.  Pieces never overlap. */
struct tcp_node {
	struct tcp_node *left, *right;
	uint64_t off;            /* stream offset of data[skip] */
	uint64_t frame;          /* packet the bytes came from */
	uint32_t len;            /* bytes still held */
	uint32_t skip;           /* bytes trimmed from the front */
	uint32_t cost;           /* charged against the hold caps */
	int height;
	int missing;             /* snaplen-cut bytes: a gap, no data */
	uint8_t data[];
};

struct tcp_rec {
	uint64_t off, frame;
};

/* Ring of the most recent delivered bytes: [end - fill, end). */
struct tcp_recent {
	uint64_t end;
	uint32_t cap;            /* a power of two */
	uint32_t fill;
	uint32_t nrec, rhead;
	struct tcp_rec rec[TCP_NREC];
	uint8_t buf[];
};

struct tcp_side {
	uint32_t isn;            /* sequence number of stream offset 0 */
	uint32_t syn_seq;        /* of its SYN, when syn */
	uint64_t off;            /* next expected stream offset */
	uint64_t fin_off;        /* stream offset the FIN follows */
	struct tcp_node *held;
	uint64_t held_cost;
	struct tcp_recent *recent;
	uint64_t bytes, gap_bytes, packets;
	unsigned has_base : 1, syn : 1, fin : 1, limit_told : 1,
		 after_close_told : 1;
	uint16_t hist;           /* history letters recorded (bit set) */
};

struct tcp_flow {
	struct tcp_flow *hnext;
	struct tcp_flow *prev, *next;
	struct ip_endpoint ep[2]; /* ep[0] sent the first packet */
	uint64_t hash;
	int64_t last_ns;
	int list;
	unsigned oriented : 1, opened : 1, stopped : 1, saw_syn : 1;
	int client_side;
	enum tcp_orient how;
	struct tcp_meta first, last;
	void *handle;
	struct tcp_side s[2];
	uint8_t hist[TCP_HIST_MAX];
	uint8_t nhist;
};

struct tcp_lru {
	struct tcp_flow *head, *tail;
};

struct tcp_reasm {
	struct imt_limits lim;
	uint16_t *ports;
	size_t nports;
	struct tcp_callbacks cb;
	void *user;
	struct tcp_flow **bucket;
	uint32_t nbucket;        /* a power of two */
	uint32_t nflows;         /* in the table, tombstones included */
	uint64_t seed;
	struct tcp_lru lru[TL__COUNT];
	int64_t now_ns;
	int have_now;
	uint64_t held_cost;
	uint64_t recent_bytes;
	int embryo_evict_told;
	struct tcp_stats st;
};

/* The segment being processed, for evidence and once-only counters. */
struct tcp_cur {
	const struct tcp_meta *m;
	uint64_t frame;
	int retrans_counted;
	int mismatch_told;
};

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

/* The same wrap-safe difference the SEQ_ macros compare with. */
static int32_t tcp_seq_delta(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static uint32_t tcp_next_seq(const struct tcp_side *sd)
{
	return sd->isn + (uint32_t)sd->off;
}

static uint64_t tcp_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- the hold tree (AVL keyed by stream offset) ---- */

static int tcp_node_height(const struct tcp_node *n)
{
	return n ? n->height : 0;
}

static void tcp_node_fix(struct tcp_node *n)
{
	int l = tcp_node_height(n->left), r = tcp_node_height(n->right);

	n->height = (l > r ? l : r) + 1;
}

static struct tcp_node *tcp_rot_right(struct tcp_node *n)
{
	struct tcp_node *l = n->left;

	n->left = l->right;
	l->right = n;
	tcp_node_fix(n);
	tcp_node_fix(l);
	return l;
}

static struct tcp_node *tcp_rot_left(struct tcp_node *n)
{
	struct tcp_node *r = n->right;

	n->right = r->left;
	r->left = n;
	tcp_node_fix(n);
	tcp_node_fix(r);
	return r;
}

static struct tcp_node *tcp_avl_balance(struct tcp_node *n)
{
	int b;

	tcp_node_fix(n);
	b = tcp_node_height(n->left) - tcp_node_height(n->right);
	if (b > 1) {
		if (tcp_node_height(n->left->left) <
		    tcp_node_height(n->left->right))
			n->left = tcp_rot_left(n->left);
		return tcp_rot_right(n);
	}
	if (b < -1) {
		if (tcp_node_height(n->right->right) <
		    tcp_node_height(n->right->left))
			n->right = tcp_rot_right(n->right);
		return tcp_rot_left(n);
	}
	return n;
}

/* Depth is O(log n), so recursion stays shallow. */
static struct tcp_node *tcp_avl_insert(struct tcp_node *root,
				       struct tcp_node *n)
{
	if (root == NULL)
		return n;
	if (n->off < root->off)
		root->left = tcp_avl_insert(root->left, n);
	else
		root->right = tcp_avl_insert(root->right, n);
	return tcp_avl_balance(root);
}

static struct tcp_node *tcp_avl_pop_min(struct tcp_node *root,
					struct tcp_node **min_r)
{
	if (root->left == NULL) {
		*min_r = root;
		return root->right;
	}
	root->left = tcp_avl_pop_min(root->left, min_r);
	return tcp_avl_balance(root);
}

static struct tcp_node *tcp_avl_min(struct tcp_node *n)
{
	while (n != NULL && n->left != NULL)
		n = n->left;
	return n;
}

/* The piece with the largest offset <= off, or NULL. */
static struct tcp_node *tcp_avl_floor(struct tcp_node *n, uint64_t off)
{
	struct tcp_node *best = NULL;

	while (n != NULL) {
		if (n->off <= off) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* The piece with the smallest offset > off, or NULL. */
static struct tcp_node *tcp_avl_after(struct tcp_node *n, uint64_t off)
{
	struct tcp_node *best = NULL;

	while (n != NULL) {
		if (n->off > off) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static void tcp_node_free(struct tcp_reasm *t, struct tcp_side *sd,
			  struct tcp_node *n)
{
	t->held_cost -= n->cost;
	sd->held_cost -= n->cost;
	if (!n->missing)
		t->st.held_bytes -= n->len;
	free(n);
}

static void tcp_avl_free(struct tcp_reasm *t, struct tcp_side *sd,
			 struct tcp_node *n)
{
	if (n == NULL)
		return;
	tcp_avl_free(t, sd, n->left);
	tcp_avl_free(t, sd, n->right);
	tcp_node_free(t, sd, n);
}

/* Drops the first k bytes of a held piece; it keeps its place in the
 * tree because pieces do not overlap. */
static void tcp_node_trim(struct tcp_reasm *t, struct tcp_node *n, uint64_t k)
{
	n->off += k;
	n->len -= (uint32_t)k;
	n->skip += (uint32_t)k;
	if (!n->missing)
		t->st.held_bytes -= k;
}

/* ---- recently delivered bytes ---- */

static struct tcp_recent *tcp_recent_grow(struct tcp_reasm *t,
					  struct tcp_recent *r, uint32_t want)
{
	uint32_t cap = r ? r->cap : TCP_RECENT_MIN;
	struct tcp_recent *n;

	while (cap < want && cap < TCP_RECENT_MAX)
		cap *= 2;
	if (r != NULL && cap <= r->cap)
		return r;
	if (BUDGET_EXCEEDED(t->recent_bytes, (uint64_t)cap - (r ? r->cap : 0),
			    t->lim.max_total_buffer))
		return r;
	n = malloc(sizeof(*n) + cap);
	if (n == NULL)
		return r;
	if (r == NULL) {
		memset(n, 0, sizeof(*n));
	} else {
		*n = *r;
		/* Re-place the kept bytes by their offsets in the wider ring,
		 * in runs that wrap in neither ring. */
		for (uint64_t o = r->end - r->fill; o < r->end; ) {
			uint32_t from = (uint32_t)(o & (r->cap - 1));
			uint32_t to = (uint32_t)(o & (cap - 1));
			uint64_t k = tcp_min64(r->end - o,
			    tcp_min64(r->cap - from, cap - to));

			memcpy(n->buf + to, r->buf + from, (size_t)k);
			o += k;
		}
		t->recent_bytes -= r->cap;
		free(r);
	}
	n->cap = cap;
	t->recent_bytes += cap;
	return n;
}

static void tcp_recent_add(struct tcp_reasm *t, struct tcp_side *sd,
			   const uint8_t *data, uint64_t len, uint64_t off,
			   uint64_t frame)
{
	struct tcp_recent *r = sd->recent;
	struct tcp_rec *last;

	if (r == NULL || (r->fill + len > r->cap && r->cap < TCP_RECENT_MAX))
		r = sd->recent = tcp_recent_grow(t, r,
		    (uint32_t)tcp_min64((r ? r->fill : 0) + len, TCP_RECENT_MAX));
	if (r == NULL)
		return;
	if (r->end != off)
		r->fill = 0;
	if (len > r->cap) {
		data += len - r->cap;
		off += len - r->cap;
		len = r->cap;
	}
	for (uint64_t i = 0; i < len; ) {
		uint32_t pos = (uint32_t)((off + i) & (r->cap - 1));
		uint64_t n = tcp_min64(len - i, r->cap - pos);

		memcpy(r->buf + pos, data + i, n);
		i += n;
	}
	r->end = off + len;
	r->fill = (uint32_t)tcp_min64((uint64_t)r->fill + len, r->cap);
	last = r->nrec ? &r->rec[(r->rhead + TCP_NREC - 1) % TCP_NREC] : NULL;
	if (last == NULL || last->frame != frame) {
		r->rec[r->rhead] = (struct tcp_rec){ off, frame };
		r->rhead = (r->rhead + 1) % TCP_NREC;
		if (r->nrec < TCP_NREC)
			r->nrec++;
	}
}

/* The frame that delivered the byte at off, or 0 when forgotten. */
static uint64_t tcp_recent_frame(const struct tcp_recent *r, uint64_t off)
{
	for (uint32_t i = 1; r != NULL && i <= r->nrec; i++) {
		const struct tcp_rec *c =
		    &r->rec[(r->rhead + TCP_NREC - i) % TCP_NREC];

		if (c->off <= off)
			return c->frame;
	}
	return 0;
}

/*
 * Compares bytes q[0..len) at stream offset off with what was delivered,
 * as far as the ring remembers.  Returns 1 and the first differing offset
 * in *at_r, or 0.
 */
static int tcp_recent_differs(const struct tcp_recent *r, uint64_t off,
			      const uint8_t *q, uint64_t len, uint64_t *at_r)
{
	uint64_t lo, hi;

	if (r == NULL || r->fill == 0)
		return 0;
	lo = off > r->end - r->fill ? off : r->end - r->fill;
	hi = tcp_min64(off + len, r->end);
	for (uint64_t o = lo; o < hi; o++) {
		if (r->buf[o & (r->cap - 1)] != q[o - off]) {
			*at_r = o;
			return 1;
		}
	}
	return 0;
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
			  const struct tcp_meta *m)
{
	struct tcp_side *sd = &f->s[s];
	uint64_t off = sd->off;

	if (len == 0)
		return;
	sd->off += len;
	sd->bytes += len;
	if (f->handle == NULL)
		return;
	tcp_recent_add(t, sd, data, len, off, frame);
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
		tcp_emit_data(t, f, s, n->data + n->skip, n->len, n->frame, m);
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
					      stop - at, c->frame, c->m);
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
				      tcp_min64(stop, pe) - at, c->frame, c->m);
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

static uint64_t tcp_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t tcp_ep_hash(uint64_t seed, const struct ip_endpoint *ep)
{
	uint64_t a, b;

	memcpy(&a, ep->addr, 8);
	memcpy(&b, ep->addr + 8, 8);
	return tcp_mix(tcp_mix(seed ^ a ^ ((uint64_t)ep->port << 48 |
					   (uint64_t)ep->family << 40)) ^ b);
}

/* Symmetric in its endpoints: both directions land in one bucket. */
static uint64_t tcp_flow_hash(const struct tcp_reasm *t,
			      const struct ip_endpoint *a,
			      const struct ip_endpoint *b)
{
	return tcp_mix(tcp_ep_hash(t->seed, a) ^ tcp_ep_hash(t->seed, b));
}

static int tcp_ep_eq(const struct ip_endpoint *a, const struct ip_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Copies an endpoint with the bytes that carry no meaning zeroed, so
 * that endpoints hash and compare by value. */
static void tcp_ep_norm(struct ip_endpoint *dst, const struct ip_endpoint *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->family = src->family;
	dst->port = src->port;
	memcpy(dst->addr, src->addr, src->family == 4 ? 4 : sizeof(dst->addr));
}

static void tcp_lru_unlink(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_lru *l = &t->lru[f->list];

	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = NULL;
}

static void tcp_lru_append(struct tcp_reasm *t, struct tcp_flow *f, int list)
{
	struct tcp_lru *l = &t->lru[list];

	f->list = list;
	f->prev = l->tail;
	f->next = NULL;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
}

/* Marks activity now and moves the flow to its list's recent end. */
static void tcp_touch(struct tcp_reasm *t, struct tcp_flow *f, int list)
{
	tcp_lru_unlink(t, f);
	f->last_ns = t->now_ns;
	tcp_lru_append(t, f, list);
}

static void tcp_rehash(struct tcp_reasm *t)
{
	uint32_t n = t->nbucket * 2;
	struct tcp_flow **b = calloc(n, sizeof(*b));

	/* Out of memory: longer chains, still correct. */
	if (b == NULL)
		return;
	for (uint32_t i = 0; i < t->nbucket; i++) {
		struct tcp_flow *f = t->bucket[i], *next;

		for (; f != NULL; f = next) {
			next = f->hnext;
			f->hnext = b[f->hash & (n - 1)];
			b[f->hash & (n - 1)] = f;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->nbucket = n;
}

static struct tcp_flow *tcp_lookup(struct tcp_reasm *t,
				   const struct ip_endpoint *src,
				   const struct ip_endpoint *dst, int *side_r)
{
	uint64_t h = tcp_flow_hash(t, src, dst);
	struct tcp_flow *f = t->bucket[h & (t->nbucket - 1)];

	for (; f != NULL; f = f->hnext) {
		if (f->hash != h)
			continue;
		if (tcp_ep_eq(&f->ep[0], src) && tcp_ep_eq(&f->ep[1], dst)) {
			*side_r = 0;
			return f;
		}
		if (tcp_ep_eq(&f->ep[0], dst) && tcp_ep_eq(&f->ep[1], src)) {
			*side_r = 1;
			return f;
		}
	}
	return NULL;
}

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
static void tcp_expire(struct tcp_reasm *t)
{
	for (int l = 0; l < TL__COUNT; l++) {
		int64_t ttl = tcp_ttl_ns(t, l);
		struct tcp_flow *f;

		while (ttl > 0 && (f = t->lru[l].head) != NULL &&
		       t->now_ns - f->last_ns > ttl) {
			if (l == TL_OPEN)
				tcp_close(t, f, TCP_CLOSE_TIMEOUT, &f->last);
			tcp_flow_free(t, f);
		}
	}
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
	struct tcp_cur c = { .m = m, .frame = m->frame };

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
	free(t->bucket);
	free(t->ports);
	free(t);
}
