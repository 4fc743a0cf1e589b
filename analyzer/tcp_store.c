/*
 * tcp_store.c - where the TCP stage keeps bytes: the AVL tree of bytes
 * that arrived early, and the ring of recently delivered bytes used to
 * spot retransmissions that differ.  See the layout comment at the top
 * of tcp.c.
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tcp_int.h"

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
struct tcp_node *tcp_avl_insert(struct tcp_node *root,
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

struct tcp_node *tcp_avl_pop_min(struct tcp_node *root,
				 struct tcp_node **min_r)
{
	if (root->left == NULL) {
		*min_r = root;
		return root->right;
	}
	root->left = tcp_avl_pop_min(root->left, min_r);
	return tcp_avl_balance(root);
}

struct tcp_node *tcp_avl_min(struct tcp_node *n)
{
	while (n != NULL && n->left != NULL)
		n = n->left;
	return n;
}

/* The piece with the largest offset <= off, or NULL. */
struct tcp_node *tcp_avl_floor(struct tcp_node *n, uint64_t off)
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
struct tcp_node *tcp_avl_after(struct tcp_node *n, uint64_t off)
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

void tcp_node_free(struct tcp_reasm *t, struct tcp_side *sd,
		   struct tcp_node *n)
{
	t->held_cost -= n->cost;
	sd->held_cost -= n->cost;
	if (!n->missing)
		t->st.held_bytes -= n->len;
	free(n);
}

void tcp_avl_free(struct tcp_reasm *t, struct tcp_side *sd,
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
void tcp_node_trim(struct tcp_reasm *t, struct tcp_node *n, uint64_t k)
{
	n->off += k;
	n->len -= (uint32_t)k;
	n->skip += (uint32_t)k;
	if (!n->missing)
		t->st.held_bytes -= k;
}

/* ---- recently delivered bytes ---- */

/* Frees a ring of cap entries that tcp_ring_grow() made (NULL is
 * accepted). */
static void tcp_ring_free(void *ring, uint32_t cap, uint32_t first,
			  struct mem_pool *pool)
{
	if (pool != NULL && cap == first)
		mem_pool_put(pool, ring);
	else
		free(ring);
}

/* A ring of cap entries of `size` bytes, n of them in use ending before
 * *head, made twice as large (first entries when empty, never past max)
 * with the entries kept in order at its start.  A ring of first entries
 * comes from pool when there is one (objects of first * size bytes),
 * larger ones from malloc().  Returns 0, or -1 when it is at max or out
 * of memory (the ring is unchanged). */
static int tcp_ring_grow(void *ringp, uint8_t *cap, uint8_t *head,
			 uint32_t n, size_t size, uint32_t first, uint32_t max,
			 struct mem_pool *pool)
{
	uint8_t *old = *(uint8_t **)ringp, *nw;
	uint32_t ncap = *cap ? *cap * 2u : first;

	if (*cap >= max || ncap > max)
		return -1;
	nw = pool != NULL && ncap == first ? mem_pool_get(pool) :
	    malloc((size_t)ncap * size);
	if (nw == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		memcpy(nw + (size_t)i * size,
		       old + (size_t)((*head + *cap - n + i) % *cap) * size, size);
	tcp_ring_free(old, *cap, first, pool);
	*(uint8_t **)ringp = nw;
	*cap = (uint8_t)ncap;
	*head = (uint8_t)(n % ncap);
	return 0;
}

static void tcp_recent_put(struct tcp_reasm *t, struct tcp_recent *r)
{
	t->recent_bytes -= r->cap;
	free(r);
}

/* r (NULL: none yet) with room for want bytes (> 0), or r as it is when
 * the budget or the memory is short. */
static struct tcp_recent *tcp_recent_grow(struct tcp_reasm *t,
					  struct tcp_recent *r, uint32_t want)
{
	/* Powers of two from TCP_RECENT_MIN up to TCP_RECENT_MAX, as the
	 * ring masks offsets: a ring already that large stays as it is. */
	uint64_t need = tcp_min64(want, TCP_RECENT_MAX);
	uint32_t cap = (uint32_t)mem_grow_cap(r ? r->cap : 0, (size_t)need,
					      TCP_RECENT_MIN, TCP_RECENT_MAX);
	struct tcp_recent *n;

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
		tcp_recent_put(t, r);
	}
	n->cap = cap;
	t->recent_bytes += cap;
	return n;
}

/* Remembers that [off, off + len) was delivered by frame. */
static void tcp_recent_rec(struct tcp_recent *r, uint64_t off, uint64_t frame)
{
	struct tcp_rec *last = r->nrec ? &r->rec[(r->rhead + r->rec_cap - 1) % r->rec_cap] : NULL;

	if (last == NULL || last->frame != frame) {
		/* A full ring grows while it can, else the oldest goes. */
		if (r->nrec == r->rec_cap &&
		    tcp_ring_grow(&r->rec, &r->rec_cap, &r->rhead, r->nrec,
				  sizeof(*r->rec), TCP_NLIST_FIRST, TCP_NREC, NULL) != 0 &&
		    r->rec_cap == 0)
			return;
		r->rec[r->rhead] = (struct tcp_rec){ off, frame };
		r->rhead = (uint8_t)((r->rhead + 1) % r->rec_cap);
		if (r->nrec < r->rec_cap)
			r->nrec++;
	}
}

/* The i-th newest reference of rf (0: the newest; i < rf->n). */
static inline const struct tcp_ref *tcp_refs_at(const struct tcp_refs *rf,
						uint32_t i)
{
	return &rf->ring[(rf->head + rf->cap - 1 - i) % rf->cap];
}

/* Leased data is kept by reference: no copy; the oldest references go
 * once there are TCP_NREF or they cover more than TCP_RECENT_MAX. */
static void tcp_recent_ref(struct tcp_reasm *t, struct tcp_refs *rf,
			   const uint8_t *data, uint64_t len, uint64_t off,
			   uint64_t frame)
{
	if (len == 0)
		return;
	if (len > TCP_RECENT_MAX) {
		data += len - TCP_RECENT_MAX;
		off += len - TCP_RECENT_MAX;
		len = TCP_RECENT_MAX;
	}
	if (frame >> 48)
		frame = ((uint64_t)1 << 48) - 1;
	if (rf->n == rf->cap)
		(void)tcp_ring_grow(&rf->ring, &rf->cap, &rf->head, rf->n,
				    sizeof(*rf->ring), TCP_NREF_FIRST, TCP_NREF,
				    &t->ref_pool);
	while (rf->n > 0 && (rf->n == rf->cap ||
			     rf->bytes + len > TCP_RECENT_MAX)) {
		rf->bytes -= (uint32_t)tcp_ref_len(tcp_refs_at(rf, rf->n - 1u));
		rf->n--;
	}
	rf->ring[rf->head] = (struct tcp_ref){
		.off = off, .p = data, .frame_lo = (uint32_t)frame,
		.frame_hi = (uint16_t)(frame >> 32), .len_m1 = (uint16_t)(len - 1),
	};
	rf->head = (uint8_t)((rf->head + 1) % rf->cap);
	rf->n++;
	rf->bytes += (uint32_t)len;
}

/* Copies [off, off + len) into the ring (growing it within the budget). */
static void tcp_recent_copy(struct tcp_reasm *t, struct tcp_side *sd,
			    const uint8_t *data, uint64_t len, uint64_t off)
{
	struct tcp_recent *r = sd->recent;

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
}

void tcp_recent_add(struct tcp_reasm *t, struct tcp_side *sd,
		    const uint8_t *data, uint64_t len, uint64_t off,
		    uint64_t frame, struct cap_reader *lessor)
{
	struct tcp_refs *rf = &sd->refs;

	/* By reference under the stage's one lease; bytes it cannot cover
	 * (another file's, until tcp_reasm_drop_lease()) are copied. */
	if (lessor != NULL &&
	    (t->lease != NULL ? cap_lease_extend(t->lease, data, (size_t)len, SIZE_MAX) :
	     (t->lease = cap_lease_take(lessor, data, (size_t)len)) != NULL)) {
		/* Bytes by reference need no ring of bytes. */
		if (rf->n == 0 && rf->cap == 0 &&
		    tcp_ring_grow(&rf->ring, &rf->cap, &rf->head, 0,
				  sizeof(*rf->ring), TCP_NREF_FIRST, TCP_NREF,
				  &t->ref_pool) != 0) {
			tcp_recent_copy(t, sd, data, len, off);
		} else {
			tcp_recent_ref(t, rf, data, len, off, frame);
			return;
		}
	} else {
		tcp_recent_copy(t, sd, data, len, off);
	}
	if (sd->recent != NULL)
		tcp_recent_rec(sd->recent, off, frame);
}

void tcp_recent_unstable(struct tcp_reasm *t, struct tcp_side *sd)
{
	struct tcp_refs *rf = &sd->refs;
	struct tcp_ref refs[TCP_NREF];
	uint32_t n;

	if (rf->n == 0)
		return;
	n = rf->n;
	for (uint32_t i = 0; i < n; i++)
		refs[i] = *tcp_refs_at(rf, n - 1 - i);
	rf->n = 0;
	rf->bytes = 0;
	/* Oldest first, so that the ring ends with the newest bytes and the
	 * frame records stay in offset order.  The ring may move as it
	 * grows. */
	for (uint32_t i = 0; i < n; i++) {
		tcp_recent_copy(t, sd, refs[i].p, tcp_ref_len(&refs[i]), refs[i].off);
		if (sd->recent != NULL)
			tcp_recent_rec(sd->recent, refs[i].off, tcp_ref_frame(&refs[i]));
	}
}

void tcp_recent_free(struct tcp_reasm *t, struct tcp_side *sd)
{
	struct tcp_recent *r = sd->recent;

	tcp_ring_free(sd->refs.ring, sd->refs.cap, TCP_NREF_FIRST, &t->ref_pool);
	memset(&sd->refs, 0, sizeof(sd->refs));
	if (r == NULL)
		return;
	free(r->rec);
	tcp_recent_put(t, r);
	sd->recent = NULL;
}

/* The frame that delivered the byte at off, or 0 when forgotten. */
uint64_t tcp_recent_frame(const struct tcp_side *sd, uint64_t off)
{
	const struct tcp_recent *r = sd->recent;

	for (uint32_t i = 0; i < sd->refs.n; i++) {
		const struct tcp_ref *f = tcp_refs_at(&sd->refs, i);

		if (f->off <= off && off - f->off < tcp_ref_len(f))
			return tcp_ref_frame(f);
	}
	for (uint32_t i = 1; r != NULL && i <= r->nrec; i++) {
		const struct tcp_rec *c =
		    &r->rec[(r->rhead + r->rec_cap - i) % r->rec_cap];

		if (c->off <= off)
			return c->frame;
	}
	return 0;
}

/*
 * Compares bytes q[0..len) at stream offset off with what was delivered,
 * as far as the ring and the references remember.  Returns 1 and the
 * first differing offset in *at_r, or 0.
 */
int tcp_recent_differs(const struct tcp_side *sd, uint64_t off,
		       const uint8_t *q, uint64_t len, uint64_t *at_r)
{
	const struct tcp_recent *r = sd->recent;
	uint64_t first = UINT64_MAX, lo, hi;

	if (r != NULL && r->fill > 0) {
		lo = off > r->end - r->fill ? off : r->end - r->fill;
		hi = tcp_min64(off + len, r->end);
		for (uint64_t o = lo; o < hi; o++) {
			if (r->buf[o & (r->cap - 1)] != q[o - off]) {
				first = o;
				break;
			}
		}
	}
	for (uint32_t i = 0; i < sd->refs.n; i++) {
		const struct tcp_ref *f = tcp_refs_at(&sd->refs, i);

		lo = off > f->off ? off : f->off;
		hi = tcp_min64(tcp_min64(off + len, f->off + tcp_ref_len(f)), first);
		for (uint64_t o = lo; o < hi; o++) {
			if (f->p[o - f->off] != q[o - off]) {
				first = o;
				break;
			}
		}
	}
	if (first == UINT64_MAX)
		return 0;
	*at_r = first;
	return 1;
}
