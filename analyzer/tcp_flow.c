/*
 * tcp_flow.c - the flows of the TCP stage (see the layout comment at the
 * top of tcp.c): the hash table keyed by the unordered pair of endpoints,
 * the three LRU lists in activity order, and a flow's lifetime: creation,
 * eviction, idle expiry, close and tombstone.
 *
 * Layout: lifetime (buffers released, close, tombstone, expiry,
 * eviction, creation); then the table: hash, lookup, rehash, the lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "tcp_int.h"

/* ---- flows: table, lists, lifetime ---- */

void tcp_flow_release_buffers(struct tcp_reasm *t, struct tcp_flow *f)
{
	/* While they are being released, the loop that releases them owns
	 * the packets held back. */
	if (!f->replaying)
		tcp_reorder_free(t, f);
	for (int s = 0; s < 2; s++) {
		struct tcp_side *sd = &f->s[s];

		tcp_avl_free(t, sd, sd->held);
		sd->held = NULL;
		tcp_recent_free(t, sd);
	}
	free(f->trunc);
	f->trunc = NULL;
}

void tcp_flow_free(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_flow **pp = &t->bucket[f->hash & (t->nbucket - 1)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	tcp_lru_unlink(t, f);
	tcp_flow_release_buffers(t, f);
	t->nflows--;
	mem_pool_put(&t->flow_pool, f);
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

/* Once per flow: how many packets the snapshot length cut. */
static void tcp_tell_truncated(struct tcp_reasm *t, struct tcp_flow *f,
			       const struct tcp_meta *m)
{
	const struct tcp_trunc *c = f->trunc;
	char detail[96];
	struct imt_finding_report rep = { .id = F_TRUNCATED_PACKET, .detail = detail };

	if (c == NULL || c->n == 0)
		return;
	rep.frame = c->frame;
	rep.offset = c->off;
	rep.value = c->n;
	snprintf(detail, sizeof(detail),
		 "%llu packets cut, %llu bytes not captured",
		 (unsigned long long)c->n, (unsigned long long)c->bytes);
	tcp_finding(t, f, c->side, &rep, m);
}

void tcp_count_truncated(struct tcp_flow *f, int s, const struct ip_segment *seg,
			 const struct tcp_meta *m)
{
	struct tcp_trunc *c = f->trunc;

	if (c == NULL) {
		/* Without memory the count is lost, not the analysis. */
		if ((c = f->trunc = calloc(1, sizeof(*c))) == NULL)
			return;
		c->frame = m->frame;
		c->side = s;
		c->off = f->s[s].off;
	}
	c->n++;
	c->bytes += seg->payload_missing;
}

/*
 * Ends a flow: delivers what is held (holes as gaps), then on_close.
 * The flow stays in the table; the caller frees it or makes it a
 * tombstone.
 */
void tcp_close(struct tcp_reasm *t, struct tcp_flow *f,
	       enum tcp_close_reason why, const struct tcp_meta *m)
{
	struct tcp_close_info ci = {
		.reason = why, .last = m != NULL ? *m : tcp_stamp(f, TS_LAST),
	};
	struct tcp_meta last;
	char hist[TCP_HIST_MAX + 1];

	/* The packets held back come first; they may close the flow. */
	tcp_reorder_release(t, f);
	if (m == NULL) {
		last = tcp_stamp(f, TS_LAST);
		m = &last;
	}
	if (f->opened && f->list == TL_OPEN) {
		for (int s = 0; s < 2; s++)
			tcp_flush_all(t, f, s, m);
		tcp_tell_truncated(t, f, m);
		if (f->handle != NULL && t->cb.on_close != NULL) {
			for (int s = 0; s < 2; s++) {
				enum imt_dir d = tcp_dir_of(f, s);

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

void tcp_make_tomb(struct tcp_reasm *t, struct tcp_flow *f,
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

/*
 * Closes the flows idle past their list's time to live.  Each list is in
 * order of last activity and every flow that joins one later is newer,
 * so nothing can be due before the earliest deadline found last time:
 * until then the lists' heads (cold in the cache) are not looked at.
 */
void tcp_expire(struct tcp_reasm *t)
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
				tcp_close(t, f, TCP_CLOSE_TIMEOUT, NULL);
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
		.id = F_LIMIT_REACHED, .dir = IMT_DIR_NONE, .frame = m->frame,
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
		tcp_close(t, f, TCP_CLOSE_EVICTED, NULL);
		tcp_flow_free(t, f);
		t->st.flows_evicted++;
		rep.detail = "the least recently active flow was closed early";
	} else {
		return;
	}
	if (t->cb.on_global_finding != NULL)
		t->cb.on_global_finding(t->user, &rep, m);
}

struct tcp_flow *tcp_flow_new(struct tcp_reasm *t,
			      const struct ip_endpoint *src,
			      const struct ip_endpoint *dst,
			      const struct tcp_meta *m)
{
	uint32_t max = t->lim.max_flows ? t->lim.max_flows : 1;
	struct tcp_flow *f;

	while (t->nflows >= max && t->nflows > 0)
		tcp_evict(t, m);
	f = mem_pool_get(&t->flow_pool);
	if (f == NULL)
		return NULL;
	f->ep[0] = *src;
	f->ep[1] = *dst;
	f->hash = tcp_flow_hash(t, src, dst);
	tcp_stamp_set(f, TS_FIRST, m);
	tcp_stamp_set(f, TS_LAST, m);
	f->hnext = t->bucket[f->hash & (t->nbucket - 1)];
	t->bucket[f->hash & (t->nbucket - 1)] = f;
	t->nflows++;
	f->last_ns = t->now_ns;
	tcp_lru_append(t, f, TL_EMBRYO);
	if (t->nflows > t->nbucket && t->nbucket < (1u << 30))
		tcp_rehash(t);
	return f;
}

/* ---- the table and the lists ---- */

static uint64_t tcp_ep_hash(uint64_t seed, const struct ip_endpoint *ep)
{
	uint64_t a, b, x;

	memcpy(&a, ep->addr, 8);
	memcpy(&b, ep->addr + 8, 8);
	x = seed ^ a ^ ((uint64_t)ep->port << 48 | (uint64_t)ep->family << 40);
	/* An IPv4 address is all in a (b is zero): one round is enough. */
	if (b != 0)
		x = hash_mix64(x) ^ b;
	return hash_mix64(x);
}

/* Symmetric in its endpoints: both directions land in one bucket. */
uint64_t tcp_flow_hash(const struct tcp_reasm *t,
		       const struct ip_endpoint *a,
		       const struct ip_endpoint *b)
{
	return hash_mix64(tcp_ep_hash(t->seed, a) ^ tcp_ep_hash(t->seed, b));
}

static int tcp_ep_eq(const struct ip_endpoint *a, const struct ip_endpoint *b)
{
	uint64_t a0, a1, b0, b1;

	/* Normalized endpoints: all 16 address bytes count. */
	memcpy(&a0, a->addr, 8);
	memcpy(&a1, a->addr + 8, 8);
	memcpy(&b0, b->addr, 8);
	memcpy(&b1, b->addr + 8, 8);
	return a->family == b->family && a->port == b->port &&
	       ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Copies an endpoint with the bytes that carry no meaning zeroed, so
 * that endpoints hash and compare by value. */
void tcp_ep_norm(struct ip_endpoint *dst, const struct ip_endpoint *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->family = src->family;
	dst->port = src->port;
	if (src->family == 4)
		memcpy(dst->addr, src->addr, 4);
	else
		memcpy(dst->addr, src->addr, sizeof(dst->addr));
}

/* Counts f in t->nshaking (on 1) or not (on 0). */
static void tcp_shaking_set(struct tcp_reasm *t, struct tcp_flow *f, unsigned on)
{
	if (on == f->shaking)
		return;
	f->shaking = on;
	if (on)
		t->nshaking++;
	else
		t->nshaking--;
}

void tcp_lru_unlink(struct tcp_reasm *t, struct tcp_flow *f)
{
	struct tcp_lru *l = &t->lru[f->list];

	tcp_shaking_set(t, f, 0);
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

void tcp_lru_append(struct tcp_reasm *t, struct tcp_flow *f, int list)
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
	tcp_shaking_update(t, f);
}

void tcp_shaking_update(struct tcp_reasm *t, struct tcp_flow *f)
{
	tcp_shaking_set(t, f, f->list == TL_EMBRYO && f->s[0].syn && f->s[1].syn);
}

/* Marks activity now and moves the flow to its list's recent end. */
void tcp_touch(struct tcp_reasm *t, struct tcp_flow *f, int list)
{
	tcp_lru_unlink(t, f);
	f->last_ns = t->now_ns;
	tcp_lru_append(t, f, list);
}

void tcp_rehash(struct tcp_reasm *t)
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

/* The first flow of hash h's bucket (NULL for no hint, h 0): the
 * bucket's line is in the cache when this is called (an earlier hint
 * fetched it).  It may be another flow of the bucket: a fetch in vain. */
static struct tcp_flow *tcp_hinted(const struct tcp_reasm *t, uint64_t h)
{
	return h != 0 ? t->bucket[h & (t->nbucket - 1)] : NULL;
}

void tcp_reasm_hint(struct tcp_reasm *t, const struct ip_endpoint *src,
		    const struct ip_endpoint *dst)
{
	uint64_t h = tcp_flow_hash(t, src, dst);
	unsigned at = (t->hint_at + 1) % TCP_HINT_DEPTH;
	struct tcp_flow *f;

	/* Step 1, this packet: its bucket. */
	__builtin_prefetch(&t->bucket[h & (t->nbucket - 1)]);
	/* Step 2, the packet hinted before: its flow, whose lines the
	 * packet's handling reads (the first two: the lookup and the
	 * lists; the sides: the stream state). */
	if ((f = tcp_hinted(t, t->hint[t->hint_at])) != NULL) {
		for (size_t o = 0; o < sizeof(*f); o += 64)
			__builtin_prefetch((const char *)f + o, 1);
		__builtin_prefetch((const char *)f + sizeof(*f) - 1, 1);
	}
	/* Step 3, the packet hinted before that: its flow is in the cache
	 * now; what it points to is fetched, if the flow is the one. */
	f = tcp_hinted(t, t->hint[at]);
	if (f != NULL && f->hash == t->hint[at]) {
		__builtin_prefetch(f->prev, 1);
		__builtin_prefetch(f->next, 1);
		__builtin_prefetch(f->handle);
		for (int s = 0; s < 2; s++) {
			__builtin_prefetch(f->s[s].recent, 1);
			__builtin_prefetch(f->s[s].refs.ring, 1);
		}
	}
	t->hint[at] = h;
	t->hint_at = at;
}

struct tcp_flow *tcp_lookup(struct tcp_reasm *t,
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
