/*
 * extract_writer.c - the evidence export's second thread (extract_writer.h).
 *
 * Two rings: command slots, and the bytes they carry.  Counters only
 * grow (a slot or byte is counter % size), so "full" and "empty" need no
 * flag.  One thread feeds, one handles: the feeder alone moves the heads
 * (chead, bhead), the worker alone the tails (ctail, btail), each a C11
 * atomic read by the other side with acquire and written with release,
 * so a push takes no lock.  The lock and the conditions serve only to
 * sleep and wake: a side that finds nothing to do (the worker) or no room
 * (the feeder) sets its `waits` flag under the lock, looks again, and
 * sleeps; the other side, after moving its counter, takes the lock and
 * signals only when that flag is set.  The worker's side is sequentially
 * consistent (the feeder waiting for room is always seen); a push only
 * releases its counters, and a sleeping worker it overlooks is woken by
 * the next push, sync or wait for room, which all look under the lock.
 * The feeder does not wake a waiting worker for every push but once
 * WRITER_WAKE bytes or WRITER_SLOTS / 4 commands wait (at a sync, or
 * when the feeder itself must wait, at once): the worker is woken about
 * once per WRITER_WAKE bytes rather than once per TCP segment.  The
 * worker hands room back after each bounded batch, once the handler has
 * had the batch's flush; within a batch, consecutive commands of the
 * merging op for one object whose bytes follow each other in the ring
 * reach the handler as one (writer_merge()).
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "extract_writer.h"

#define WRITER_SLOTS 4096u
#define WRITER_MIN   (4u << 10)

struct writer_slot {
	int op;
	void *obj;
	uint64_t arg;
	size_t off, len;
};

struct extract_writer {
	extract_writer_fn fn;
	void *user;
	int merge_op;
	pthread_t thread;
	unsigned char *ring;
	size_t cap, batch, wake;
	struct writer_slot *slots;
	/* Each side's counters on a cache line of their own, so that a
	 * push does not take the line the worker is writing. */
	_Alignas(64) _Atomic uint64_t chead;    /* pushed: the feeder's */
	_Atomic uint64_t bhead;
	uint64_t woken_at, woken_cmd;       /* feeder: bhead, chead when it last woke the worker */
	uint64_t ctail_seen, btail_seen;    /* feeder: the tails when it last read them */
	_Alignas(64) _Atomic uint64_t ctail;    /* handled, given back: the worker's */
	_Atomic uint64_t btail;
	_Alignas(64) atomic_int worker_waits;
	atomic_int feeder_waits, sync_waits;
	atomic_int failed, stop;
	pthread_mutex_t mu;
	pthread_cond_t work;                /* commands queued, or stop */
	pthread_cond_t room;                /* room given back */
	pthread_cond_t idle;                /* every command handled */
	uint64_t full_waits;                /* feeder's */
	uint64_t bytes;                     /* worker's */
};

static void writer_signal(struct extract_writer *w, pthread_cond_t *c)
{
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(c);
	pthread_mutex_unlock(&w->mu);
}

/* Adds to c the commands from `end` on that continue it: the same op and
 * obj, their bytes right after c's in the ring (not across its end).
 * Returns the first command not taken; counts the bytes taken. */
static uint64_t writer_merge(const struct extract_writer *w,
			     struct extract_writer_cmd *c, uint64_t end,
			     uint64_t head, uint64_t *bytes)
{
	for (; end < head && *bytes < w->batch; end++) {
		const struct writer_slot *n = &w->slots[end % WRITER_SLOTS];

		if (n->op != c->op || n->obj != c->obj || w->ring + n->off != c->data + c->len)
			break;
		c->len += n->len;
		c->arg = n->arg;
		*bytes += n->len;
	}
	return end;
}

static void *writer_main(void *arg)
{
	static const struct extract_writer_cmd flush = { .op = EXTRACT_WRITER_FLUSH };
	struct extract_writer *w = arg;
	uint64_t tail = atomic_load(&w->ctail);

	for (;;) {
		uint64_t head = atomic_load(&w->chead), end, bytes = 0;
		int bad = 0;

		if (head == tail) {
			if (atomic_load(&w->sync_waits))
				writer_signal(w, &w->idle);
			pthread_mutex_lock(&w->mu);
			atomic_store(&w->worker_waits, 1);
			while ((head = atomic_load(&w->chead)) == tail && !atomic_load(&w->stop))
				pthread_cond_wait(&w->work, &w->mu);
			atomic_store(&w->worker_waits, 0);
			pthread_mutex_unlock(&w->mu);
			if (head == tail)
				break;
		}
		/* A bounded batch, so that room comes back while the rest is
		 * handled. */
		for (end = tail; end < head && bytes < w->batch;) {
			const struct writer_slot *s = &w->slots[end % WRITER_SLOTS];
			struct extract_writer_cmd c = {
				.op = s->op, .obj = s->obj, .arg = s->arg,
				.data = w->ring + s->off, .len = s->len,
			};

			bytes += s->len;
			end++;
			if (s->op == w->merge_op)
				end = writer_merge(w, &c, end, head, &bytes);
			if (w->fn(w->user, &c) != 0)
				bad = 1;
		}
		if (w->fn(w->user, &flush) != 0)
			bad = 1;
		if (bad)
			atomic_store(&w->failed, 1);
		w->bytes += bytes;
		atomic_fetch_add(&w->btail, bytes);
		atomic_store(&w->ctail, end);
		tail = end;
		if (atomic_load(&w->feeder_waits))
			writer_signal(w, &w->room);
	}
	return NULL;
}

/* Frees what extract_writer_new() made; the worker is not running. */
static void writer_destroy(struct extract_writer *w)
{
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->mu);
	free(w->ring);
	free(w->slots);
	free(w);
}

struct extract_writer *extract_writer_new(size_t bytes, int merge_op,
					  extract_writer_fn fn, void *user)
{
	/* aligned_alloc: the struct has cache-line-aligned members. */
	struct extract_writer *w = aligned_alloc(_Alignof(struct extract_writer),
						 sizeof(struct extract_writer));

	if (w == NULL)
		return NULL;
	memset(w, 0, sizeof(*w));
	/* A power of two, so that a position in the ring is a mask away. */
	w->cap = WRITER_MIN;
	while (w->cap < bytes && w->cap <= SIZE_MAX / 4)
		w->cap *= 2;
	w->batch = w->cap / 8;
	w->wake = w->cap / 16;
	w->fn = fn;
	w->user = user;
	w->merge_op = merge_op < 0 ? INT_MIN : merge_op;
	w->ring = malloc(w->cap);
	w->slots = calloc(WRITER_SLOTS, sizeof(*w->slots));
	if (w->ring == NULL || w->slots == NULL || pthread_mutex_init(&w->mu, NULL) != 0) {
		free(w->ring);
		free(w->slots);
		free(w);
		return NULL;
	}
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	pthread_cond_init(&w->idle, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		writer_destroy(w);
		return NULL;
	}
	/* Named for top -H and profilers; a failure changes nothing. */
	(void)pthread_setname_np(w->thread, "imaptrace-xw");
	return w;
}

/* Wakes the worker if it waits and enough is queued for it (or `now`). */
static void writer_wake(struct extract_writer *w, int now)
{
	uint64_t head = atomic_load_explicit(&w->bhead, memory_order_relaxed);
	uint64_t cmd = atomic_load_explicit(&w->chead, memory_order_relaxed);

	if (!atomic_load(&w->worker_waits))
		return;
	if (now || head - w->woken_at >= w->wake || cmd - w->woken_cmd >= WRITER_SLOTS / 4) {
		w->woken_at = head;
		w->woken_cmd = cmd;
		writer_signal(w, &w->work);
	}
}

/* Waits for room for one command (and a byte, when need_byte). */
static void writer_room(struct extract_writer *w, int need_byte)
{
	pthread_mutex_lock(&w->mu);
	w->full_waits++;
	atomic_store(&w->feeder_waits, 1);
	for (;;) {
		int full = atomic_load(&w->chead) - atomic_load(&w->ctail) >= WRITER_SLOTS ||
			   (need_byte && atomic_load(&w->bhead) - atomic_load(&w->btail) >= w->cap);

		if (!full)
			break;
		if (atomic_load(&w->worker_waits))
			pthread_cond_broadcast(&w->work);
		pthread_cond_wait(&w->room, &w->mu);
	}
	atomic_store(&w->feeder_waits, 0);
	pthread_mutex_unlock(&w->mu);
}

int extract_writer_push(struct extract_writer *w, int op, void *obj,
			uint64_t arg, const void *data, size_t len)
{
	const unsigned char *p = data;

	do {
		uint64_t chead = atomic_load_explicit(&w->chead, memory_order_relaxed);
		uint64_t bhead = atomic_load_explicit(&w->bhead, memory_order_relaxed);
		size_t free_bytes = w->cap - (size_t)(bhead - w->btail_seen);
		size_t off = (size_t)bhead & (w->cap - 1), k = len;

		/* The tails are read again only when the room last seen is too
		 * small: their cache line is the worker's. */
		if (chead - w->ctail_seen >= WRITER_SLOTS || free_bytes < len) {
			w->ctail_seen = atomic_load(&w->ctail);
			w->btail_seen = atomic_load(&w->btail);
			free_bytes = w->cap - (size_t)(bhead - w->btail_seen);
		}
		if (chead - w->ctail_seen >= WRITER_SLOTS || (len > 0 && free_bytes == 0)) {
			writer_room(w, len > 0);
			continue;
		}
		if (k > free_bytes)
			k = free_bytes;
		if (k > w->cap - off)
			k = w->cap - off;
		if (k > 0)
			memcpy(w->ring + off, p, k);
		w->slots[chead % WRITER_SLOTS] = (struct writer_slot){ op, obj, arg, off, k };
		/* Release, not sequentially consistent: should the worker's
		 * going to sleep be missed here, the next push, a sync or a
		 * wait for room (each of which looks under the lock) wakes
		 * it; nothing waits on the feeder's side without looking. */
		atomic_store_explicit(&w->bhead, bhead + k, memory_order_release);
		atomic_store_explicit(&w->chead, chead + 1, memory_order_release);
		p += k;
		len -= k;
		writer_wake(w, 0);
	} while (len > 0);
	return atomic_load(&w->failed) ? -1 : 0;
}

int extract_writer_sync(struct extract_writer *w)
{
	uint64_t head = atomic_load_explicit(&w->chead, memory_order_relaxed);

	if (atomic_load(&w->ctail) != head) {
		pthread_mutex_lock(&w->mu);
		atomic_fetch_add(&w->sync_waits, 1);
		while (atomic_load(&w->ctail) != head) {
			if (atomic_load(&w->worker_waits))
				pthread_cond_broadcast(&w->work);
			pthread_cond_wait(&w->idle, &w->mu);
		}
		atomic_fetch_sub(&w->sync_waits, 1);
		pthread_mutex_unlock(&w->mu);
	}
	return atomic_load(&w->failed) ? -1 : 0;
}

int extract_writer_failed(struct extract_writer *w)
{
	return atomic_load(&w->failed);
}

int extract_writer_free(struct extract_writer *w, struct extract_writer_stats *st_r)
{
	int rc;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, 1);
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	rc = atomic_load(&w->failed) ? -1 : 0;
	if (st_r != NULL) {
		st_r->commands = atomic_load(&w->ctail);
		st_r->bytes = w->bytes;
		st_r->full_waits = w->full_waits;
	}
	writer_destroy(w);
	return rc;
}
