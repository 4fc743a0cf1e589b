/*
 * relay.c - the TCP stage's consumer on a second thread (see relay.h).
 *
 * The queue is a fixed pool of chunks.  The feeding thread appends
 * records to its current chunk and hands the chunk over when the next
 * record does not fit; the worker replays whole chunks and gives them
 * back.  The lock is taken once per chunk (512 KiB), not per record, so
 * the hand-over costs nothing next to the work on either side.
 *
 * Data with a lessor (tcp_meta.lessor) is not copied: the chunk takes a
 * lease on it (capture.h), its record holds a pointer, and the worker
 * releases the lease once it has replayed the chunk.  One lease covers
 * a chunk's data, as long as that lies in one file within
 * RELAY_LEASE_SPAN; data that does not fit starts the next chunk.  The
 * bytes pointed to count against the chunk's room as if they were
 * copied, so the queue stays as far behind the reader, in bytes of data,
 * as it would with copies.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay.h"

#define RELAY_CHUNK        (512u * 1024u)
#define RELAY_MIN_CHUNKS   2u
/* Bytes of the file one chunk's lease may span: they bound the pages the
 * worker may bring back when it reads data the reader has left behind
 * (a chunk's data is normally about its size of the file). */
#define RELAY_LEASE_SPAN   (4u * RELAY_CHUNK)
/* Finding texts are short sentences; a longer one is cut to this. */
#define RELAY_TEXT_MAX     4096u

enum relay_kind { R_OPEN, R_DATA, R_GAP, R_FINDING, R_CLOSE, R_GLOBAL };

/* The relay's handle for one flow, given to the TCP stage. */
struct relay_flow {
	struct relay *relay;
	void *inner;               /* the consumer's handle (worker only) */
	int dropped;               /* the consumer stopped it (worker only) */
	atomic_int stopped;        /* the same, for the feeding thread */
};

struct relay_rec {
	uint32_t kind;
	uint32_t size;             /* the whole record, a multiple of 8 */
	struct relay_flow *flow;
	struct tcp_meta m;
	union {
		struct tcp_flow_info open;
		struct {
			uint64_t offset, len;
			const uint8_t *ref;     /* leased data, or NULL: len bytes follow */
			enum imt_dir dir;
		} data;
		struct {
			uint64_t offset, bytes;
			enum imt_dir dir;
		} gap;
		struct {
			struct imt_finding_report f;
			uint32_t detail_len;     /* detail, limit follow, NUL-ended */
		} finding;
		struct {
			struct tcp_close_info ci;  /* history follows, NUL-ended */
		} close;
	} u;
};

/* Bytes of a record of kind k before what follows it: the header and
 * its kind's part of the union only (a data record's is 64 bytes, not
 * the size of the largest kind). */
#define RELAY_HEAD(part) \
	(offsetof(struct relay_rec, u) + sizeof(((struct relay_rec *)0)->u.part))

static size_t relay_head(enum relay_kind k)
{
	switch (k) {
	case R_OPEN:
		return RELAY_HEAD(open);
	case R_DATA:
		return RELAY_HEAD(data);
	case R_GAP:
		return RELAY_HEAD(gap);
	case R_FINDING:
	case R_GLOBAL:
		return RELAY_HEAD(finding);
	case R_CLOSE:
		break;
	}
	return RELAY_HEAD(close);
}

/* What follows the record's header (bytes, texts). */
static char *relay_payload(struct relay_rec *rec)
{
	return (char *)rec + relay_head((enum relay_kind)rec->kind);
}

struct relay_chunk {
	struct relay_chunk *next;
	size_t used;               /* bytes of records */
	size_t load;               /* used, and the leased bytes they point to */
	struct cap_lease *lease;   /* over the data its records point to */
	uint64_t data[];           /* records, 8-aligned */
};

struct relay {
	struct tcp_callbacks inner;
	void *inner_user;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;       /* a chunk is full, or stop */
	pthread_cond_t room;       /* a chunk is free */
	pthread_cond_t idle;       /* nothing queued, nothing replaying */
	struct relay_chunk *free_list;
	struct relay_chunk *full_head, *full_tail;
	struct relay_chunk *cur;   /* the feeding thread's */
	struct relay_chunk *busy;  /* the one being replayed, or NULL */
	unsigned nchunks;
	int stop;
	int (*idle_fn)(void *user);   /* relay_set_idle_work() */
	void *idle_user;
	struct relay_stats st;
};

static size_t relay_align(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* ---- worker ------------------------------------------------------- */

static void relay_replay_finding(struct relay *r, struct relay_rec *rec,
				 int global)
{
	struct imt_finding_report f = rec->u.finding.f;
	const char *text = relay_payload(rec);

	/* The copied pointers only say whether there was a text. */
	f.detail = f.detail != NULL ? text : NULL;
	text += rec->u.finding.detail_len + 1;
	f.limit = f.limit != NULL ? text : NULL;
	if (global) {
		if (r->inner.on_global_finding != NULL)
			r->inner.on_global_finding(r->inner_user, &f, &rec->m);
	} else if (rec->flow->inner != NULL && r->inner.on_finding != NULL) {
		r->inner.on_finding(rec->flow->inner, &f, &rec->m);
	}
}

static void relay_replay(struct relay *r, struct relay_rec *rec)
{
	struct relay_flow *fl = rec->flow;

	switch ((enum relay_kind)rec->kind) {
	case R_OPEN:
		fl->inner = r->inner.on_open != NULL ?
			    r->inner.on_open(r->inner_user, &rec->u.open) : NULL;
		break;
	case R_DATA:
		if (fl->inner == NULL || fl->dropped || r->inner.on_data == NULL)
			break;
		if (r->inner.on_data(fl->inner, rec->u.data.dir,
				     rec->u.data.ref != NULL ? rec->u.data.ref :
				     (const uint8_t *)relay_payload(rec),
				     (size_t)rec->u.data.len, rec->u.data.offset,
				     &rec->m)) {
			fl->dropped = 1;
			atomic_store_explicit(&fl->stopped, 1, memory_order_relaxed);
		}
		break;
	case R_GAP:
		if (fl->inner != NULL && !fl->dropped && r->inner.on_gap != NULL)
			r->inner.on_gap(fl->inner, rec->u.gap.dir, rec->u.gap.offset,
					rec->u.gap.bytes, &rec->m);
		break;
	case R_FINDING:
		relay_replay_finding(r, rec, 0);
		break;
	case R_GLOBAL:
		relay_replay_finding(r, rec, 1);
		break;
	case R_CLOSE:
		if (rec->u.close.ci.history != NULL)
			rec->u.close.ci.history = relay_payload(rec);
		/* The TCP stage calls nothing of a flow after its close. */
		if (fl->inner != NULL && r->inner.on_close != NULL)
			r->inner.on_close(fl->inner, &rec->u.close.ci);
		free(fl);
		break;
	}
}

/* Records looked at ahead of the one replayed: their memory is fetched
 * in two steps, a record apart (relay_ahead). */
#define RELAY_AHEAD 4

/*
 * The cursor that runs RELAY_AHEAD records ahead of the replay passes
 * rec: fetches its flow's record and the first bytes of its data (which
 * the reading thread touched long ago); the record passed before it
 * (prev) has its flow in the cache by now, and its consumer is told what
 * comes (on_ahead).
 */
static void relay_ahead(const struct relay *r, const struct relay_rec *rec,
			const struct relay_rec *prev)
{
	__builtin_prefetch(rec->flow);
	if (rec->kind == R_DATA && rec->u.data.ref != NULL)
		__builtin_prefetch(rec->u.data.ref);
	/* A global finding has no flow; a flow whose open is not replayed
	 * yet has no consumer. */
	if (prev != NULL && prev->flow != NULL && prev->flow->inner != NULL &&
	    r->inner.on_ahead != NULL)
		r->inner.on_ahead(prev->flow->inner);
}

/* Replays a chunk's records in order, with the cursor ahead. */
static void relay_replay_chunk(struct relay *r, const struct relay_chunk *c)
{
	size_t at = 0, ahead = 0;
	const struct relay_rec *prev = NULL;
	unsigned n = 0;          /* records in [at, ahead) */

	while (at < c->used) {
		struct relay_rec *rec =
			(struct relay_rec *)((unsigned char *)c->data + at);

		for (; n <= RELAY_AHEAD && ahead < c->used; n++) {
			const struct relay_rec *a =
				(const struct relay_rec *)((const unsigned char *)c->data + ahead);

			relay_ahead(r, a, prev);
			prev = a;
			ahead += a->size;
		}
		at += rec->size;
		n--;
		relay_replay(r, rec);
	}
}

static void *relay_worker(void *arg)
{
	struct relay *r = arg;

	for (;;) {
		struct relay_chunk *c;

		pthread_mutex_lock(&r->mu);
		/* Nothing queued: do the feeder's side work meanwhile. */
		while (r->full_head == NULL && !r->stop && r->idle_fn != NULL) {
			int more;

			pthread_mutex_unlock(&r->mu);
			more = r->idle_fn(r->idle_user);
			pthread_mutex_lock(&r->mu);
			if (!more)
				break;
		}
		while (r->full_head == NULL && !r->stop)
			pthread_cond_wait(&r->work, &r->mu);
		c = r->full_head;
		if (c == NULL) {
			struct timespec ts;

			if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
				r->st.worker_cpu_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		r->full_head = c->next;
		if (r->full_head == NULL)
			r->full_tail = NULL;
		r->busy = c;
		pthread_mutex_unlock(&r->mu);

		relay_replay_chunk(r, c);

		cap_lease_release(c->lease);
		c->lease = NULL;
		pthread_mutex_lock(&r->mu);
		c->next = r->free_list;
		r->free_list = c;
		r->busy = NULL;
		pthread_cond_signal(&r->room);
		if (r->full_head == NULL)
			pthread_cond_broadcast(&r->idle);
		pthread_mutex_unlock(&r->mu);
	}
}

/* ---- feeding side ------------------------------------------------- */

void relay_set_idle_work(struct relay *r, int (*fn)(void *user), void *user)
{
	pthread_mutex_lock(&r->mu);
	r->idle_fn = fn;
	r->idle_user = user;
	pthread_mutex_unlock(&r->mu);
}

/* Hands the current chunk to the worker, if it holds anything. */
static void relay_submit(struct relay *r)
{
	struct relay_chunk *c = r->cur;

	if (c == NULL || c->used == 0)
		return;
	r->cur = NULL;
	pthread_mutex_lock(&r->mu);
	c->next = NULL;
	if (r->full_tail != NULL)
		r->full_tail->next = c;
	else
		r->full_head = c;
	r->full_tail = c;
	r->st.chunks++;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
}

/* The current chunk with room for n bytes of records and leased data
 * (at most RELAY_CHUNK): waits for a free chunk when it is full. */
static struct relay_chunk *relay_room(struct relay *r, size_t n)
{
	if (r->cur != NULL && RELAY_CHUNK - r->cur->load < n)
		relay_submit(r);
	if (r->cur == NULL) {
		pthread_mutex_lock(&r->mu);
		if (r->free_list == NULL)
			r->st.feeder_waits++;
		while (r->free_list == NULL)
			pthread_cond_wait(&r->room, &r->mu);
		r->cur = r->free_list;
		r->free_list = r->cur->next;
		pthread_mutex_unlock(&r->mu);
		r->cur->used = r->cur->load = 0;
		r->cur->lease = NULL;
	}
	return r->cur;
}

/* Room for a record of size bytes pointing to ref leased bytes (size +
 * ref at most RELAY_CHUNK). */
static struct relay_rec *relay_reserve(struct relay *r, size_t size, size_t ref)
{
	struct relay_rec *rec;

	relay_room(r, size + ref);
	rec = (struct relay_rec *)((unsigned char *)r->cur->data + r->cur->used);
	r->cur->used += size;
	r->cur->load += size + ref;
	/* Callers set the fields their kind uses; nothing else is read. */
	rec->size = (uint32_t)size;
	return rec;
}

/* A record of `kind` for fl with `extra` bytes after its header and
 * pointing to `ref` leased bytes. */
static struct relay_rec *relay_rec_new(struct relay *r, struct relay_flow *fl,
				       enum relay_kind kind,
				       const struct tcp_meta *m, size_t extra,
				       size_t ref)
{
	struct relay_rec *rec = relay_reserve(r, relay_align(relay_head(kind) + extra),
					      ref);

	rec->kind = kind;
	rec->flow = fl;
	rec->m = m != NULL ? *m : (struct tcp_meta){ 0 };
	return rec;
}

static void *relay_on_open(void *user, const struct tcp_flow_info *info)
{
	struct relay *r = user;
	struct relay_flow *fl = calloc(1, sizeof(*fl));
	struct relay_rec *rec;

	if (fl == NULL)
		return NULL;
	fl->relay = r;
	atomic_init(&fl->stopped, 0);
	rec = relay_rec_new(r, fl, R_OPEN, &info->first, 0, 0);
	rec->u.open = *info;
	return fl;
}

/*
 * Whether the chunk that takes the next data record (of n bytes at data,
 * by reference) holds a lease over them: the current one, stretched, or
 * the next one, with a new lease.  0 when no lease can be had: the record
 * copies the bytes.
 */
static int relay_lease(struct relay *r, struct cap_reader *lessor,
		       const uint8_t *data, size_t n)
{
	struct relay_chunk *c;
	size_t need = relay_align(relay_head(R_DATA)) + n;

	if (r->cur != NULL && r->cur->lease != NULL &&
	    RELAY_CHUNK - r->cur->load >= need &&
	    cap_lease_extend(r->cur->lease, data, n, RELAY_LEASE_SPAN))
		return 1;
	if (r->cur != NULL && r->cur->lease != NULL)
		relay_submit(r);
	c = relay_room(r, need);
	if (c->lease == NULL)
		c->lease = cap_lease_take(lessor, data, n);
	return c->lease != NULL;
}

static int relay_on_data(void *flow, enum imt_dir dir, const uint8_t *data,
			 size_t len, uint64_t offset, const struct tcp_meta *m)
{
	struct relay_flow *fl = flow;
	struct relay *r = fl->relay;
	const size_t room = RELAY_CHUNK - relay_align(relay_head(R_DATA));
	struct cap_reader *lessor = m != NULL ? m->lessor : NULL;

	if (atomic_load_explicit(&fl->stopped, memory_order_relaxed))
		return 1;
	/* A run longer than a chunk goes as consecutive pieces. */
	while (len > 0) {
		size_t n = len < room ? len : room;
		int ref = lessor != NULL && relay_lease(r, lessor, data, n);
		struct relay_rec *rec = relay_rec_new(r, fl, R_DATA, m,
						      ref ? 0 : n, ref ? n : 0);

		rec->u.data.dir = dir;
		rec->u.data.offset = offset;
		rec->u.data.len = n;
		if (ref) {
			rec->u.data.ref = data;
		} else {
			rec->u.data.ref = NULL;
			memcpy(relay_payload(rec), data, n);
		}
		data += n;
		offset += n;
		len -= n;
	}
	return 0;
}

static void relay_on_gap(void *flow, enum imt_dir dir, uint64_t offset,
			 uint64_t bytes, const struct tcp_meta *m)
{
	struct relay_flow *fl = flow;
	struct relay_rec *rec = relay_rec_new(fl->relay, fl, R_GAP, m, 0, 0);

	rec->u.gap.dir = dir;
	rec->u.gap.offset = offset;
	rec->u.gap.bytes = bytes;
}

static size_t relay_text_len(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n < RELAY_TEXT_MAX ? n : RELAY_TEXT_MAX;
}

/* Copies n bytes of s (NULL: none) and a NUL to d; returns past them. */
static char *relay_put_text(char *d, const char *s, size_t n)
{
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d + n + 1;
}

/* A finding record: the report, then its detail and limit texts. */
static void relay_finding(struct relay *r, struct relay_flow *fl,
			  enum relay_kind kind,
			  const struct imt_finding_report *f,
			  const struct tcp_meta *m)
{
	size_t dl = relay_text_len(f->detail), ll = relay_text_len(f->limit);
	struct relay_rec *rec = relay_rec_new(r, fl, kind, m, dl + ll + 2, 0);

	rec->u.finding.f = *f;
	rec->u.finding.detail_len = (uint32_t)dl;
	relay_put_text(relay_put_text(relay_payload(rec), f->detail, dl),
		       f->limit, ll);
}

static void relay_on_finding(void *flow, const struct imt_finding_report *f,
			     const struct tcp_meta *m)
{
	struct relay_flow *fl = flow;

	relay_finding(fl->relay, fl, R_FINDING, f, m);
}

static void relay_on_global(void *user, const struct imt_finding_report *f,
			    const struct tcp_meta *m)
{
	relay_global_finding(user, f, m);
}

void relay_global_finding(struct relay *r, const struct imt_finding_report *f,
			  const struct tcp_meta *m)
{
	relay_finding(r, NULL, R_GLOBAL, f, m);
}

static void relay_on_close(void *flow, const struct tcp_close_info *ci)
{
	struct relay_flow *fl = flow;
	size_t hl = relay_text_len(ci->history);
	struct relay_rec *rec = relay_rec_new(fl->relay, fl, R_CLOSE, &ci->last,
					      hl + 1, 0);

	rec->u.close.ci = *ci;
	relay_put_text(relay_payload(rec), ci->history, hl);
}

void relay_tcp_callbacks(const struct relay *r, struct tcp_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->classify = r->inner.classify;
	cb->on_open = relay_on_open;
	cb->on_data = relay_on_data;
	cb->on_gap = relay_on_gap;
	cb->on_finding = relay_on_finding;
	cb->on_close = relay_on_close;
	cb->on_global_finding = relay_on_global;
}

/* ---- life ----------------------------------------------------------- */

void relay_sync(struct relay *r)
{
	relay_submit(r);
	pthread_mutex_lock(&r->mu);
	while (r->full_head != NULL || r->busy != NULL)
		pthread_cond_wait(&r->idle, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

static void relay_free_chunks(struct relay *r)
{
	struct relay_chunk *c;

	while ((c = r->free_list) != NULL) {
		r->free_list = c->next;
		free(c);
	}
	free(r->cur);
	r->cur = NULL;
}

/* Frees what relay_new() made; the worker is not running. */
static void relay_destroy(struct relay *r)
{
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->room);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	relay_free_chunks(r);
	free(r);
}

struct relay *relay_new(const struct tcp_callbacks *inner, void *inner_user,
			size_t queue_bytes)
{
	struct relay *r = calloc(1, sizeof(*r));
	unsigned n = (unsigned)(queue_bytes / RELAY_CHUNK);

	if (r == NULL)
		return NULL;
	r->inner = *inner;
	r->inner_user = inner_user;
	if (n < RELAY_MIN_CHUNKS)
		n = RELAY_MIN_CHUNKS;
	for (r->nchunks = 0; r->nchunks < n; r->nchunks++) {
		struct relay_chunk *c = malloc(sizeof(*c) + RELAY_CHUNK);

		if (c == NULL)
			break;
		c->next = r->free_list;
		r->free_list = c;
	}
	if (r->nchunks < n || pthread_mutex_init(&r->mu, NULL) != 0) {
		relay_free_chunks(r);
		free(r);
		return NULL;
	}
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->room, NULL);
	pthread_cond_init(&r->idle, NULL);
	if (pthread_create(&r->thread, NULL, relay_worker, r) != 0) {
		relay_destroy(r);
		return NULL;
	}
	/* Named for top -H and profilers; a failure changes nothing. */
	(void)pthread_setname_np(r->thread, "imaptrace-eng");
	return r;
}

/* Stops the worker once everything queued is replayed. */
static void relay_stop(struct relay *r)
{
	if (r->stop)
		return;
	relay_sync(r);
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
}

void relay_finish(struct relay *r, struct relay_stats *st_r)
{
	relay_stop(r);
	if (st_r != NULL)
		*st_r = r->st;
}

void relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	relay_stop(r);
	relay_destroy(r);
}
