/*
 * cap_map.c - reading a capture file through a memory mapping, for the
 * capture stage (capture.c; see the comment at its top for why).
 *
 * The mapping is the buffer of the stdio stream that libpcap (or the
 * pcapng block reader) reads, so its one "read" finds the bytes already
 * in place.  It is made only under a read lease; a broken lease or a
 * vanished page marks the file as changed, and the reader stops.  One
 * mapped file is read at a time, on one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_int.h"
#include "imt_limits.h"
#include "wire.h"

/* Where the packets up to a frame end: the read position then. */
struct cap_map_mark {
	size_t pos;
	uint64_t frame;
};

/* Pages of the mapping kept behind the read position: read pages count
 * in the process's resident size until they are given back.  Readers of
 * stable packets (a relay to another thread) may be up to about
 * IMT_RELAY_QUEUE behind; pages are given back in steps of TRIM_STEP. */
#define CAP_MAP_KEEP		(IMT_RELAY_QUEUE + (1u << 20))
#define CAP_MAP_TRIM_STEP	(2u << 20)
#define CAP_MAP_MARKS		(CAP_MAP_KEEP / CAP_MAP_TRIM_STEP + 2)

struct cap_map {
	const uint8_t *base;
	size_t len;
	size_t off;
	int fd;
	FILE *fp;                /* the stream over it */
	size_t trimmed;          /* pages before this were given back */
	size_t populated;        /* page tables are filled up to here
				    (under cap_fill_mu) */
	size_t read_pos;         /* the reader's position, for cap_prefetch() */
	/* Stable packets were handed on: they are released before their
	 * pages go, and a broken lease is kept until the file is closed. */
	volatile sig_atomic_t held;
	void (*release)(void *user, uint64_t frame);
	void *release_user;
	struct cap_map_mark marks[CAP_MAP_MARKS];   /* a ring, oldest first */
	unsigned mark_first, nmarks;
};
/* Page tables are filled this far ahead of the read position (twice
 * as far by cap_prefetch()), a step at a time: a step is short enough
 * for a thread that fills while it has nothing else to do. */
#define CAP_MAP_AHEAD		(4u << 20)
#define CAP_MAP_FILL_STEP	(1u << 20)

/* The mapping being read (one at a time: files are read one after the
 * other, on one thread) and whether a page of it vanished. */
static struct cap_map *volatile cap_map_active;
/* Held while filling page tables, and to take the mapping away. */
static pthread_mutex_t cap_fill_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t cap_map_lost;
static size_t cap_page_size;
static struct sigaction cap_old_sigbus;
static int cap_handlers_set;

/* Lease broken: another process is about to write or truncate the file. */
static void cap_sigio(int sig)
{
	struct cap_map *m = cap_map_active;

	(void)sig;
	if (m != NULL) {
		cap_map_lost = 1;
		/* Let the writer go on at once: nothing more is read.  Unless
		 * packets handed on may still be read where they lie: then the
		 * writer waits until the file is closed (the reader stops
		 * before its next packet), so that they stay as they were. */
		if (!m->held)
			(void)fcntl(m->fd, F_SETLEASE, F_UNLCK);
	}
}

static void cap_sigbus(int sig, siginfo_t *si, void *ctx)
{
	struct cap_map *m = cap_map_active;
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)ctx;
	if (m != NULL && a >= (uintptr_t)m->base && a - (uintptr_t)m->base < m->len) {
		void *page = (void *)(a & ~(uintptr_t)(cap_page_size - 1));

		/* The file shrank under the mapping: read zeros, say so. */
		if (mmap(page, cap_page_size, PROT_READ,
			 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
			cap_map_lost = 1;
			return;
		}
	}
	/* Not ours: what would have happened without the handler. */
	sigaction(SIGBUS, &cap_old_sigbus, NULL);
	raise(sig);
}

/* True (and remembered) when the mapped file is now shorter than it was. */
int cap_map_shrank(void)
{
	struct cap_map *m = cap_map_active;
	struct stat st;

	if (m != NULL && !cap_map_lost && fstat(m->fd, &st) == 0 &&
	    (uint64_t)st.st_size < m->len)
		cap_map_lost = 1;
	return cap_map_lost != 0;
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
	if (cap_map_shrank()) {
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

static int cap_map_close(void *cookie)
{
	struct cap_map *m = cookie;

	pthread_mutex_lock(&cap_fill_mu);
	if (cap_map_active == m)
		cap_map_active = NULL;
	pthread_mutex_unlock(&cap_fill_mu);
	munmap((void *)m->base, m->len);
	(void)fcntl(m->fd, F_SETLEASE, F_UNLCK);
	close(m->fd);
	free(m);
	return 0;
}

static const cookie_io_functions_t cap_map_io = {
	.read = cap_map_read,
	.seek = cap_map_seek,
	.close = cap_map_close,
};

void cap_map_hold(void (*release)(void *user, uint64_t frame), void *user)
{
	struct cap_map *m = cap_map_active;

	if (m == NULL)
		return;
	m->release = release;
	m->release_user = user;
	m->held = 1;
}

/* Notes where the packets up to `frames` end, once per trim step. */
static void cap_map_mark(struct cap_map *m, size_t pos, uint64_t frames)
{
	struct cap_map_mark *last = m->nmarks > 0 ?
		&m->marks[(m->mark_first + m->nmarks - 1) % CAP_MAP_MARKS] : NULL;

	if (last != NULL && pos < last->pos + CAP_MAP_TRIM_STEP)
		return;
	if (m->nmarks == CAP_MAP_MARKS) {
		m->mark_first = (m->mark_first + 1) % CAP_MAP_MARKS;
		m->nmarks--;
	}
	m->marks[(m->mark_first + m->nmarks++) % CAP_MAP_MARKS] =
		(struct cap_map_mark){ pos, frames };
}

/* The newest mark at least CAP_MAP_KEEP behind pos, taken off the ring
 * with the older ones; NULL when there is none. */
static const struct cap_map_mark *cap_map_behind(struct cap_map *m, size_t pos)
{
	const struct cap_map_mark *found = NULL;

	while (m->nmarks > 0 &&
	       m->marks[m->mark_first].pos + CAP_MAP_KEEP <= pos) {
		found = &m->marks[m->mark_first];
		m->mark_first = (m->mark_first + 1) % CAP_MAP_MARKS;
		m->nmarks--;
	}
	return found;
}

/*
 * Fills the page tables of one step of the mapping being read, up to
 * `ahead` bytes past the read position: one call costs less than a page
 * fault every 16 pages.  Returns 1 after a step, 0 when there is nothing
 * to do.  Safe on any thread beside the reader: the step is claimed
 * under cap_fill_mu, and the mapping cannot go away during the call
 * (closing takes the lock).  Kernels before 5.14 say EINVAL: then the
 * faults stay.
 */
static int cap_map_fill_step(size_t ahead)
{
#ifdef MADV_POPULATE_READ
	struct cap_map *m;
	size_t pos, from, n;
	int rc = 0;

	pthread_mutex_lock(&cap_fill_mu);
	m = cap_map_active;
	if (m == NULL || m->populated >= m->len)
		goto out;
	pos = __atomic_load_n(&m->read_pos, __ATOMIC_RELAXED);
	if (m->populated >= pos + ahead)
		goto out;
	from = m->populated > pos ? m->populated : (pos & ~(cap_page_size - 1));
	n = m->len - from < CAP_MAP_FILL_STEP ? m->len - from : CAP_MAP_FILL_STEP;
	__atomic_store_n(&m->populated,
			 madvise((void *)(m->base + from), n, MADV_POPULATE_READ) == 0 ?
			 from + n : m->len, __ATOMIC_RELAXED);
	rc = 1;
out:
	pthread_mutex_unlock(&cap_fill_mu);
	return rc;
#else
	(void)ahead;
	return 0;
#endif
}

int cap_prefetch(void)
{
	/* Further ahead than the reader fills for itself: while this
	 * thread keeps up, the reader never has to. */
	return cap_map_fill_step(2 * CAP_MAP_AHEAD);
}

/*
 * Gives back the pages well behind the read position (they stay in the
 * page cache), so that the resident size does not grow with the file:
 * those of the packets up to a mark CAP_MAP_KEEP behind, once whoever
 * holds the stable packets released them.  `frames` packets were read so
 * far.  Called between packets, every few hundred.
 */
void cap_map_trim(uint64_t frames)
{
	struct cap_map *m = cap_map_active;
	const struct cap_map_mark *mk;
	off_t pos;
	size_t upto;

	if (m == NULL || (pos = ftello(m->fp)) < 0)
		return;
	cap_map_mark(m, (size_t)pos, frames);
	__atomic_store_n(&m->read_pos, (size_t)pos, __ATOMIC_RELAXED);
	/* Whatever another thread has not filled yet. */
	if (__atomic_load_n(&m->populated, __ATOMIC_RELAXED) < (size_t)pos + CAP_MAP_AHEAD / 2)
		while (cap_map_fill_step(CAP_MAP_AHEAD) == 1)
			;
	if ((mk = cap_map_behind(m, (size_t)pos)) == NULL)
		return;
	upto = mk->pos & ~(cap_page_size - 1);
	if (upto <= m->trimmed)
		return;
	if (m->held && m->release != NULL)
		m->release(m->release_user, mk->frame);
	if (madvise((void *)(m->base + m->trimmed), upto - m->trimmed,
		    MADV_DONTNEED) == 0)
		m->trimmed = upto;
}

/* A FILE that reads fd's size bytes through a mapping and owns fd, or
 * NULL (fd is still the caller's). */
FILE *cap_map_open(int fd, uint64_t size)
{
	struct cap_map *m;
	void *base;
	FILE *fp;

	if (size == 0 || size > SIZE_MAX)
		return NULL;
	if (!cap_handlers_set) {
		struct sigaction sa;
		long page = sysconf(_SC_PAGESIZE);

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = cap_sigbus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (page <= 0 || sigaction(SIGBUS, &sa, &cap_old_sigbus) != 0)
			return NULL;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = cap_sigio;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGIO, &sa, NULL) != 0)
			return NULL;
		cap_page_size = (size_t)page;
		cap_handlers_set = 1;
	}
	/* No lease, no mapping: a file open for writing elsewhere may be
	 * growing or about to be cut. */
	if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0)
		return NULL;
	base = MAP_FAILED;
	fp = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (base = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
		goto fail;
	(void)madvise(base, (size_t)size, MADV_SEQUENTIAL);
	m->base = base;
	m->len = (size_t)size;
	m->fd = fd;
	if ((fp = fopencookie(m, "rb", cap_map_io)) == NULL)
		goto fail;
	/* stdio only reads from its buffer; it is filled by cap_map_read. */
	setvbuf(fp, (char *)base, _IOFBF, (size_t)size);
	m->fp = fp;
	cap_map_lost = 0;
	pthread_mutex_lock(&cap_fill_mu);
	cap_map_active = m;
	pthread_mutex_unlock(&cap_fill_mu);
	return fp;
fail:
	if (base != MAP_FAILED)
		munmap(base, (size_t)size);
	free(m);
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return NULL;
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

struct cap_map *cap_map_current(void)
{
	return cap_map_active;
}

int cap_map_changed(void)
{
	return cap_map_lost != 0;
}
