/*
 * cap_map.c - reading a capture file through a memory mapping, and the
 * leases on its bytes (capture.h).
 *
 * A regular file that is not gzip is mapped, and the mapping is the
 * buffer of the stdio stream that libpcap (or the pcapng block reader)
 * reads: the stream's one "read" finds the bytes already in place, so
 * each packet is copied once, by libpcap, straight from the page cache,
 * with no read(2) (which is a third of a bare libpcap read loop's time).
 * The packets of a pcap file are then handed on from the mapping itself
 * (cap_pcap.c), and stages that keep them take leases instead of copies.
 *
 * Layout: the SIGBUS dispatcher and its registry; a mapping's life (open,
 * the stream's read/seek/close, unmapping with the last reference);
 * leases; the work between packets (a waiting writer, pages given back
 * behind the reader, page tables filled ahead, by this thread or another);
 * packets found in the mapping.
 *
 * A file is mapped only under a file lease (fcntl F_SETLEASE): another
 * process that opens it for writing or truncates it waits until the lease
 * is given back, which is when the mapping goes: once the reader closed
 * the file and every cap_lease on it was released.  A writer that wants
 * the file marks the lease as breaking; the reader looks (F_GETLEASE)
 * every few hundred packets, and stops reading when it sees that, with
 * "the file was changed while it was being read", so that the writer
 * waits only as long as the holders of leases keep them.  No byte read
 * while the file lease was held can be a changed one.  The lease's
 * signal is not needed for that and is turned off (below), so the stage
 * needs no SIGIO handler.
 *
 * A page can still vanish: the file cut after the kernel stopped waiting
 * for the lease (its lease-break-time, 45 s by default, when a holder
 * kept a lease that long), a read error of the disk, or a filesystem
 * whose leases do not see every writer (FUSE, network filesystems).
 * Reading it raises SIGBUS.  The kernel sends that to the process, not
 * to an object, and nothing but a handler can let the access go on, so
 * the stage keeps one handler, as thin as it can be: it looks the address
 * up in a registry of fixed slots, one owned by each live mapping, puts
 * a page of zeros there and marks that mapping lost (its reader stops,
 * "the file was changed").  The registry, the handler's previous action
 * and the page size are the stage's only process-wide state, set once or
 * owned slot by slot; everything else belongs to a reader (its cap_mapper)
 * or to a mapping, so two readers can read at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_int.h"
#include "imt_limits.h"
#include "wire.h"

/* Pages of the mapping kept behind the read position: read pages count
 * in the process's resident size until they are given back.  Holders of
 * leases on another thread (the relay) are normally less than
 * IMT_RELAY_QUEUE behind; pages are given back in steps of TRIM_STEP. */
#define CAP_MAP_KEEP		(IMT_RELAY_QUEUE + (1u << 20))
#define CAP_MAP_TRIM_STEP	(1u << 20)
/* Page tables are filled this far ahead of the read position by the
 * reader, and PREFETCH far by cap_prefetch(), a step at a time: a step
 * is short enough for a thread that fills while it has nothing else to
 * do.  A reader that fills for itself has a busy consumer, one that
 * keeps many sessions: it keeps its window small. */
#define CAP_MAP_AHEAD		(2u << 20)
#define CAP_MAP_PREFETCH	(8u << 20)
#define CAP_MAP_FILL_STEP	(1u << 20)
/* Mappings alive at once in the process (the registry's slots); a file
 * opened beyond that is read with read(2). */
#define CAP_BUS_SLOTS		64

/* ---- the SIGBUS dispatcher ------------------------------------------- */

/* One live mapping's entry: written by the mapping's owner, read by the
 * handler.  lo 0: no mapping (set last when registering, first when
 * leaving). */
struct cap_bus_slot {
	atomic_uintptr_t lo, hi;
	atomic_int taken;
	atomic_int lost;         /* a page vanished, or a writer waits */
};

static struct cap_bus_slot cap_bus_slots[CAP_BUS_SLOTS];
static pthread_once_t cap_bus_once = PTHREAD_ONCE_INIT;
static struct sigaction cap_bus_prev;
static uintptr_t cap_bus_page;   /* 0: the handler could not be set */

static void cap_bus_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)ctx;
	for (unsigned i = 0; i < CAP_BUS_SLOTS; i++) {
		struct cap_bus_slot *s = &cap_bus_slots[i];
		uintptr_t lo = atomic_load(&s->lo);

		if (lo == 0 || a < lo || a >= atomic_load(&s->hi))
			continue;
		/* The file shrank under the mapping: read zeros, say so. */
		if (mmap((void *)(a & ~(cap_bus_page - 1)), cap_bus_page, PROT_READ,
			 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
			atomic_store(&s->lost, 1);
			return;
		}
		break;
	}
	/* Not ours: what would have happened without the handler. */
	sigaction(SIGBUS, &cap_bus_prev, NULL);
	raise(sig);
}

static void cap_bus_install(void)
{
	struct sigaction sa;
	long page = sysconf(_SC_PAGESIZE);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = cap_bus_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (page > 0 && sigaction(SIGBUS, &sa, &cap_bus_prev) == 0)
		cap_bus_page = (uintptr_t)page;
}

/* A free slot, now taken, or NULL. */
static struct cap_bus_slot *cap_bus_claim(void)
{
	for (unsigned i = 0; i < CAP_BUS_SLOTS; i++) {
		int free_slot = 0;

		if (atomic_compare_exchange_strong(&cap_bus_slots[i].taken,
						   &free_slot, 1))
			return &cap_bus_slots[i];
	}
	return NULL;
}

static void cap_bus_enter(struct cap_bus_slot *s, const void *base, size_t len)
{
	atomic_store(&s->lost, 0);
	atomic_store(&s->hi, (uintptr_t)base + len);
	atomic_store(&s->lo, (uintptr_t)base);
}

static void cap_bus_leave(struct cap_bus_slot *s)
{
	atomic_store(&s->lo, 0);
	atomic_store(&s->taken, 0);
}

static int cap_map_fill_step(struct cap_mapper *mp, size_t ahead);

/* ---- a mapping's life --------------------------------------------------- */

struct cap_map {
	const uint8_t *base;
	size_t len;
	size_t off;              /* the stream's position */
	uintptr_t page;
	int fd;
	FILE *fp;                /* the stream over it, until closed */
	struct cap_bus_slot *slot;
	atomic_uint refs;        /* leases, and 1 until the stream is closed */
	atomic_size_t trimmed;   /* pages before this were given back */
	atomic_size_t populated; /* page tables are filled up to here
				    (written under the mapper's lock) */
	atomic_size_t read_pos;  /* the reader's position, for cap_prefetch() */
	size_t direct_pos;       /* a reader walking the mapping: its position */
	int direct;              /* direct_pos is the read position */
	struct cap_mapper *owner;
};

struct cap_lease {
	struct cap_map *map;
	uintptr_t from, to;      /* the bytes it names */
	uintptr_t lo, hi;        /* its file's: the mapping's bounds */
};

int cap_mapper_init(struct cap_mapper *mp)
{
	mp->cur = NULL;
	return pthread_mutex_init(&mp->mu, NULL) == 0 ? 0 : -1;
}

void cap_mapper_destroy(struct cap_mapper *mp)
{
	pthread_mutex_destroy(&mp->mu);
}

/* The last reference went: nothing reads the bytes any more. */
static void cap_map_unmap(struct cap_map *m)
{
	cap_bus_leave(m->slot);
	munmap((void *)m->base, m->len);
	(void)fcntl(m->fd, F_SETLEASE, F_UNLCK);
	close(m->fd);
	free(m);
}

static void cap_map_unref(struct cap_map *m)
{
	if (atomic_fetch_sub(&m->refs, 1) == 1)
		cap_map_unmap(m);
}

int cap_map_lost(const struct cap_map *m)
{
	return atomic_load_explicit(&m->slot->lost, memory_order_relaxed) != 0;
}

int cap_map_shrank(struct cap_map *m)
{
	struct stat st;

	if (!cap_map_lost(m) && fstat(m->fd, &st) == 0 &&
	    (uint64_t)st.st_size < m->len)
		atomic_store(&m->slot->lost, 1);
	return cap_map_lost(m);
}

static ssize_t cap_map_read(void *cookie, char *buf, size_t n)
{
	struct cap_map *m = cookie;
	size_t k = m->len - m->off < n ? m->len - m->off : n;

	/* The buffer is the mapping itself: the bytes are where stdio
	 * wants them.  Anywhere else in the mapping cannot be written.  At
	 * the end stdio asks again, for its whole buffer: nothing is left. */
	if (k > 0 && buf != (const char *)m->base + m->off) {
		if ((const uint8_t *)buf >= m->base &&
		    (size_t)((const uint8_t *)buf - m->base) < m->len) {
			errno = EIO;
			return -1;
		}
		memcpy(buf, m->base + m->off, k);
	}
	if (cap_map_shrank(m)) {
		errno = EIO;
		return -1;
	}
	m->off += k;
	return (ssize_t)k;
}

static int cap_map_seek(void *cookie, off64_t *pos, int whence)
{
	struct cap_map *m = cookie;
	off64_t to = *pos;

	if (whence == SEEK_CUR)
		to += (off64_t)m->off;
	else if (whence == SEEK_END)
		to += (off64_t)m->len;
	if (to < 0 || (uint64_t)to > m->len)
		return -1;
	m->off = (size_t)to;
	*pos = to;
	return 0;
}

/* The reader is done with the file; the leases on it keep it. */
static int cap_map_close(void *cookie)
{
	struct cap_map *m = cookie;

	/* No page-table fill may be running on it from now on. */
	pthread_mutex_lock(&m->owner->mu);
	if (m->owner->cur == m)
		m->owner->cur = NULL;
	pthread_mutex_unlock(&m->owner->mu);
	m->fp = NULL;
	cap_map_unref(m);
	return 0;
}

static const cookie_io_functions_t cap_map_io = {
	.read = cap_map_read,
	.seek = cap_map_seek,
	.close = cap_map_close,
};

FILE *cap_map_open(struct cap_mapper *mp, int fd, uint64_t size)
{
	struct cap_bus_slot *slot;
	struct cap_map *m = NULL;
	void *base = MAP_FAILED;
	FILE *fp;

	(void)pthread_once(&cap_bus_once, cap_bus_install);
	if (cap_bus_page == 0 || size == 0 || size > SIZE_MAX)
		return NULL;
	/* No lease, no mapping: a file open for writing elsewhere may be
	 * growing or about to be cut.  The lease's signal (SIGIO, fatal
	 * without a handler) becomes SIGURG, ignored unless handled, before
	 * the lease exists, and then goes to no one: the reader looks for
	 * a breaking lease itself (cap_map_step). */
	if (fcntl(fd, F_SETSIG, SIGURG) != 0 || fcntl(fd, F_SETLEASE, F_RDLCK) != 0)
		return NULL;
	(void)fcntl(fd, F_SETOWN, 0);
	if ((slot = cap_bus_claim()) == NULL)
		goto fail;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (base = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
		goto fail;
	(void)madvise(base, (size_t)size, MADV_SEQUENTIAL);
	m->base = base;
	m->len = (size_t)size;
	m->page = cap_bus_page;
	m->fd = fd;
	m->slot = slot;
	m->owner = mp;
	atomic_init(&m->refs, 1);
	atomic_init(&m->trimmed, 0);
	atomic_init(&m->populated, 0);
	atomic_init(&m->read_pos, 0);
	cap_bus_enter(slot, base, (size_t)size);
	if ((fp = fopencookie(m, "rb", cap_map_io)) == NULL) {
		cap_bus_leave(slot);
		slot = NULL;
		goto fail;
	}
	/* stdio only reads from its buffer; it is filled by cap_map_read. */
	setvbuf(fp, (char *)base, _IOFBF, (size_t)size);
	m->fp = fp;
	pthread_mutex_lock(&mp->mu);
	mp->cur = m;
	pthread_mutex_unlock(&mp->mu);
	/* The first pages' tables at once, not a fault per page until the
	 * first step: most of a small file (one of many rotated ones). */
	while (cap_map_fill_step(mp, CAP_MAP_AHEAD) == 1)
		;
	return fp;
fail:
	if (base != MAP_FAILED)
		munmap(base, (size_t)size);
	free(m);
	if (slot != NULL)
		cap_bus_leave(slot);
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return NULL;
}

const uint8_t *cap_map_bytes(const struct cap_map *m, size_t *len_r)
{
	*len_r = m->len;
	return m->base;
}

void cap_map_read_at(struct cap_map *m, size_t pos)
{
	m->direct = 1;
	m->direct_pos = pos;
}

void cap_map_read_stream(struct cap_map *m)
{
	m->direct = 0;
}

int cap_map_walk(struct cap_map *m, size_t pos, uint64_t n)
{
	if ((n & 511) == 0) {
		cap_map_read_at(m, pos);
		cap_map_step(m);
	}
	return cap_map_lost(m);
}

/* ---- leases ------------------------------------------------------------- */

/* Whether [a, a + len) lies in [lo, hi). */
static int cap_map_in(uintptr_t lo, uintptr_t hi, uintptr_t a, size_t len)
{
	return a >= lo && a <= hi && len <= hi - a;
}

struct cap_lease *cap_lease_take(struct cap_reader *r, const uint8_t *p,
				 size_t len)
{
	/* The reading thread's own field: no lock on this thread. */
	struct cap_map *m = r->map.cur;
	struct cap_lease *l;

	if (m == NULL || !cap_map_in((uintptr_t)m->base, (uintptr_t)m->base + m->len,
				     (uintptr_t)p, len) ||
	    (l = malloc(sizeof(*l))) == NULL)
		return NULL;
	atomic_fetch_add(&m->refs, 1);
	l->map = m;
	l->from = (uintptr_t)p;
	l->to = l->from + len;
	l->lo = (uintptr_t)m->base;
	l->hi = l->lo + m->len;
	return l;
}

int cap_lease_extend(struct cap_lease *l, const uint8_t *p, size_t len,
		     size_t max_span)
{
	uintptr_t a = (uintptr_t)p, from, to;

	/* Called for each piece of data kept: the common case, bytes at or
	 * after the lease's start, in a few compares. */
	if (a >= l->from && a <= l->hi && len <= l->hi - a) {
		to = a + len;
		if (to <= l->to)
			return 1;
		if (to - l->from > max_span)
			return 0;
		l->to = to;
		return 1;
	}
	if (!cap_map_in(l->lo, l->hi, a, len))
		return 0;
	from = a < l->from ? a : l->from;
	to = a + len > l->to ? a + len : l->to;
	if (to - from > max_span)
		return 0;
	l->from = from;
	l->to = to;
	return 1;
}

void cap_lease_release(struct cap_lease *l)
{
	struct cap_map *m;
	uintptr_t b, lo, hi;

	if (l == NULL)
		return;
	m = l->map;
	/* Its pages behind the reader were given back once: reading them
	 * since brought them back, and nothing gives them back again. */
	b = l->lo;
	lo = (l->from - b) & ~(m->page - 1);
	hi = l->to - b;
	if (hi > atomic_load(&m->trimmed))
		hi = atomic_load(&m->trimmed);
	if (lo < hi)
		(void)madvise((void *)(b + lo), hi - lo, MADV_DONTNEED);
	free(l);
	cap_map_unref(m);
}

/* ---- between packets ---------------------------------------------------- */

/*
 * Fills the page tables of one step of mp's mapping, up to `ahead` bytes
 * past the read position: one call costs less than a page fault every 16
 * pages.  Returns 1 after a step, 0 when there is nothing to do.  Safe on
 * any thread beside the reader: the step is claimed under mp->mu, and the
 * mapping cannot be closed meanwhile (closing takes the lock).  Kernels
 * before 5.14 say EINVAL: then the faults stay.
 */
static int cap_map_fill_step(struct cap_mapper *mp, size_t ahead)
{
#ifdef MADV_POPULATE_READ
	struct cap_map *m;
	size_t pos, from, n, done;
	int rc = 0;

	pthread_mutex_lock(&mp->mu);
	m = mp->cur;
	if (m == NULL)
		goto out;
	done = atomic_load_explicit(&m->populated, memory_order_relaxed);
	pos = atomic_load_explicit(&m->read_pos, memory_order_relaxed);
	if (done >= m->len || done >= pos + ahead)
		goto out;
	from = done > pos ? done : (pos & ~(m->page - 1));
	n = m->len - from < CAP_MAP_FILL_STEP ? m->len - from : CAP_MAP_FILL_STEP;
	atomic_store_explicit(&m->populated,
			      madvise((void *)(m->base + from), n, MADV_POPULATE_READ) == 0 ?
			      from + n : m->len, memory_order_relaxed);
	rc = 1;
out:
	pthread_mutex_unlock(&mp->mu);
	return rc;
#else
	(void)mp;
	(void)ahead;
	return 0;
#endif
}

int cap_prefetch(struct cap_reader *r)
{
	/* Further ahead than the reader fills for itself: while this
	 * thread keeps up, the reader never has to. */
	return cap_map_fill_step(&r->map, CAP_MAP_PREFETCH);
}

/*
 * Gives back the pages CAP_MAP_KEEP behind the read position (they stay
 * in the page cache), so that the resident size does not grow with the
 * file; whoever holds a lease on them and reads them brings them back,
 * and they go again with its lease.
 */
void cap_map_step(struct cap_map *m)
{
	off_t at;
	size_t pos, upto, trimmed;

	/* Another process waits to write the file: stop reading, so that
	 * it waits no longer than the holders of leases take. */
	if (!cap_map_lost(m) && fcntl(m->fd, F_GETLEASE) != F_RDLCK)
		atomic_store(&m->slot->lost, 1);
	if (m->direct)
		pos = m->direct_pos;
	else if (m->fp == NULL || (at = ftello(m->fp)) < 0)
		return;
	else
		pos = (size_t)at;
	atomic_store_explicit(&m->read_pos, pos, memory_order_relaxed);
	/* Whatever another thread has not filled yet. */
	if (atomic_load_explicit(&m->populated, memory_order_relaxed) <
	    pos + CAP_MAP_AHEAD / 2)
		while (cap_map_fill_step(m->owner, CAP_MAP_AHEAD) == 1)
			;
	trimmed = atomic_load_explicit(&m->trimmed, memory_order_relaxed);
	upto = pos > CAP_MAP_KEEP ? (pos - CAP_MAP_KEEP) & ~(m->page - 1) : 0;
	if (upto < trimmed + CAP_MAP_TRIM_STEP)
		return;
	if (madvise((void *)(m->base + trimmed), upto - trimmed, MADV_DONTNEED) == 0)
		atomic_store(&m->trimmed, upto);
}

/*
 * The packet libpcap just read as (data, caplen), at its place in the
 * mapping (its record header at pos), or NULL when the bytes there are
 * not the same (the reader lost track).  The first packet is compared
 * whole, the others at both ends: a wrong position shows at once.
 */
const uint8_t *cap_map_packet(const struct cap_map *m, uint64_t pos,
			      const uint8_t *data, uint32_t caplen, int whole)
{
	size_t edge = caplen < 16 ? caplen : 16;
	const uint8_t *at;

	if (!WIRE_HAS(m->len, pos, 16 + (uint64_t)caplen))
		return NULL;
	at = m->base + pos + 16;
	if (whole)
		return memcmp(at, data, caplen) == 0 ? at : NULL;
	if (edge == 16) {
		/* The common case in four word compares, not two calls. */
		uint64_t a[4], b[4];

		memcpy(&a[0], at, 16);
		memcpy(&a[2], at + caplen - 16, 16);
		memcpy(&b[0], data, 16);
		memcpy(&b[2], data + caplen - 16, 16);
		return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
			(a[3] ^ b[3])) == 0 ? at : NULL;
	}
	if (memcmp(at, data, edge) != 0 ||
	    memcmp(at + caplen - edge, data + caplen - edge, edge) != 0)
		return NULL;
	return at;
}
