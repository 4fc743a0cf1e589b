/*
 * cap_dec.c - compressed and piped captures, decompressed on a thread of
 * their own (see cap_int.h).
 *
 * A source that is not a plain regular file (a gzip, zstd or lz4 file,
 * standard input, a pipe) is read by a thread that decompresses it into
 * a ring of CAP_DEC_CHUNKS chunks of CAP_DEC_CHUNK bytes while the
 * reader analyses the chunks before: the analysis overlaps the
 * decompression instead of waiting for it.  The format is told by the
 * first bytes, never by the file's name: gzip (1f 8b: zlib, one member
 * after another, trailing bytes that are no member ignored, as zlib's
 * gzread does), zstd (28 b5 2f fd: libzstd, frame after frame, skippable
 * frames skipped) and lz4's frame format (04 22 4d 18: liblz4), which is
 * what Wireshark 4.2 and later read; anything else is passed on as it is.
 *
 * Memory is bounded whatever the input says: the ring, one input buffer
 * and the decompressor's window (gzip 32 KiB, lz4 at most a 4 MiB block,
 * zstd at most 2^CAP_DEC_ZSTD_WLOG bytes; a frame asking for more is an
 * error).  Nothing is inflated beyond the ring: the thread waits while
 * the ring is full, so a decompression bomb costs time, not memory.
 *
 * An error (corrupt data, input that ends inside a frame or member, a
 * read error) is kept and reported after every byte decompressed before
 * it has been read: the reader analyses all of that first.
 *
 * Layout: the ring; the three decompressors behind one step function;
 * the thread; the reader's side.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4frame.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "cap_int.h"

/* The ring: chunks decompressed ahead of the reader. */
#define CAP_DEC_CHUNK		(1u << 20)
#define CAP_DEC_CHUNKS		4u
/* Bytes read from the file or pipe at a time. */
#define CAP_DEC_IN		(256u * 1024u)
/* Largest zstd window accepted: 2^27 bytes (128 MiB), zstd's own default
 * limit, which every frame zstd writes without --long=28 or more meets. */
#define CAP_DEC_ZSTD_WLOG	27
/* How long the thread waits for a pipe before it looks whether the
 * reader is gone (milliseconds). */
#define CAP_DEC_POLL_MS		200

enum cap_dec_fmt { CAP_DEC_PLAIN, CAP_DEC_GZIP, CAP_DEC_ZSTD, CAP_DEC_LZ4 };

/* Names in messages; a pipe's read error is a "read" error. */
static const char *const cap_dec_names[] = { "read", "gzip", "zstd", "lz4" };

struct cap_dec {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;                  /* owned */
	/* The ring, under mu: chunks [head, head + count) are full. */
	uint8_t *chunk[CAP_DEC_CHUNKS];
	size_t len[CAP_DEC_CHUNKS];
	unsigned head, count;
	int done;                /* the thread has put its last chunk */
	int stop;                /* the reader is gone: the thread ends */
	/* Written by the thread before done, read by the reader after. */
	enum cap_dec_fmt fmt;
	int failed;              /* corrupt data or a read error */
	int cut;                 /* the input ended inside a frame */
	char why[160];
	/* The reader's: its place in the chunk at head. */
	size_t off;
	/* The thread's: input and the decompressors. */
	uint8_t *in;
	size_t in_len, in_off;
	int in_eof;
	z_stream z;
	int z_init, z_end;       /* inflate set up / at the end of a member */
	ZSTD_DStream *zs;
	size_t zs_hint;          /* 0: between frames */
	LZ4F_dctx *lz;
	size_t lz_hint;
};

/* ---- the ring --------------------------------------------------------- */

/* The thread's chunk to fill (the one after the full ones), waiting while
 * the ring is full; NULL once the reader is gone. */
static uint8_t *cap_dec_free_chunk(struct cap_dec *d)
{
	uint8_t *c = NULL;

	pthread_mutex_lock(&d->mu);
	while (!d->stop && d->count == CAP_DEC_CHUNKS)
		pthread_cond_wait(&d->cv, &d->mu);
	if (!d->stop)
		c = d->chunk[(d->head + d->count) % CAP_DEC_CHUNKS];
	pthread_mutex_unlock(&d->mu);
	return c;
}

static void cap_dec_put(struct cap_dec *d, size_t len, int last)
{
	pthread_mutex_lock(&d->mu);
	if (len > 0) {
		d->len[(d->head + d->count) % CAP_DEC_CHUNKS] = len;
		d->count++;
	}
	if (last)
		d->done = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void cap_dec_fail(struct cap_dec *d, const char *why)
{
	d->failed = 1;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* ---- input ------------------------------------------------------------ */

/* Reads more input after what is left unused.  Returns 1 when bytes came,
 * 0 at the end of the input (in_eof set) or when the reader is gone, -1
 * on a read error (failed set). */
static int cap_dec_fill(struct cap_dec *d)
{
	struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
	ssize_t got;

	if (d->in_off > 0) {
		memmove(d->in, d->in + d->in_off, d->in_len - d->in_off);
		d->in_len -= d->in_off;
		d->in_off = 0;
	}
	if (d->in_len == CAP_DEC_IN) {
		/* Every decompressor takes input while it has room to write. */
		cap_dec_fail(d, "internal error: input not taken");
		return -1;
	}
	for (;;) {
		int stop;

		pthread_mutex_lock(&d->mu);
		stop = d->stop;
		pthread_mutex_unlock(&d->mu);
		if (stop)
			return 0;
		/* A pipe that stays silent must not keep the reader from
		 * closing: wait for it a little at a time. */
		if (poll(&pfd, 1, CAP_DEC_POLL_MS) == 0)
			continue;
		got = read(d->fd, d->in + d->in_len, CAP_DEC_IN - d->in_len);
		if (got > 0) {
			d->in_len += (size_t)got;
			return 1;
		}
		if (got == 0) {
			d->in_eof = 1;
			return 0;
		}
		if (errno != EINTR && errno != EAGAIN) {
			cap_dec_fail(d, strerror(errno));
			return -1;
		}
	}
}

/* ---- the decompressors ---------------------------------------------- */

/* Tells the format from the first bytes (at least 4, or all there are). */
static enum cap_dec_fmt cap_dec_sniff(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return CAP_DEC_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return CAP_DEC_ZSTD;
	if (n >= 4 && p[0] == 0x04 && p[1] == 0x22 && p[2] == 0x4d && p[3] == 0x18)
		return CAP_DEC_LZ4;
	return CAP_DEC_PLAIN;
}

int cap_compressed_magic(const uint8_t *p, size_t n)
{
	return cap_dec_sniff(p, n) != CAP_DEC_PLAIN;
}

static int cap_dec_setup(struct cap_dec *d)
{
	switch (d->fmt) {
	case CAP_DEC_GZIP:
		/* 16 + 15: a gzip header and the largest window. */
		if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK)
			return -1;
		d->z_init = 1;
		return 0;
	case CAP_DEC_ZSTD:
		if ((d->zs = ZSTD_createDStream()) == NULL ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax,
							CAP_DEC_ZSTD_WLOG)))
			return -1;
		return 0;
	case CAP_DEC_LZ4:
		return LZ4F_isError(LZ4F_createDecompressionContext(&d->lz,
			LZ4F_VERSION)) ? -1 : 0;
	case CAP_DEC_PLAIN:
		break;
	}
	return 0;
}

/*
 * One step of the decompressor: takes what it can of the input at in_off
 * and writes at most *out_len bytes to out, setting *out_len to how many.
 * Returns 1 to go on, 0 at the end of the data (the rest of the input,
 * if any, is not read), -1 on corrupt data (failed set).
 */
static int cap_dec_step(struct cap_dec *d, uint8_t *out, size_t *out_len)
{
	const uint8_t *in = d->in + d->in_off;
	size_t avail = d->in_len - d->in_off, room = *out_len;

	*out_len = 0;
	switch (d->fmt) {
	case CAP_DEC_PLAIN: {
		size_t n = avail < room ? avail : room;

		memcpy(out, in, n);
		d->in_off += n;
		*out_len = n;
		return 1;
	}
	case CAP_DEC_GZIP: {
		int rc;

		if (d->z_end) {
			/* After a member: another one, or trailing bytes that
			 * end the data, as for zlib's gzread. */
			if (avail < 2 && !d->in_eof)
				return 1;
			if (avail < 2 || in[0] != 0x1f || in[1] != 0x8b)
				return 0;
			inflateReset(&d->z);
			d->z_end = 0;
		}
		d->z.next_in = (Bytef *)in;
		d->z.avail_in = (uInt)avail;
		d->z.next_out = out;
		d->z.avail_out = (uInt)room;
		rc = inflate(&d->z, Z_NO_FLUSH);
		d->in_off += avail - d->z.avail_in;
		*out_len = room - d->z.avail_out;
		if (rc == Z_STREAM_END) {
			d->z_end = 1;
			return 1;
		}
		if (rc == Z_OK || rc == Z_BUF_ERROR)
			return 1;
		cap_dec_fail(d, rc == Z_MEM_ERROR ? "out of memory" :
			     d->z.msg != NULL ? d->z.msg : "compressed data error");
		return -1;
	}
	case CAP_DEC_ZSTD: {
		ZSTD_inBuffer ib = { in, avail, 0 };
		ZSTD_outBuffer ob = { out, room, 0 };
		size_t rc = ZSTD_decompressStream(d->zs, &ob, &ib);

		d->in_off += ib.pos;
		*out_len = ob.pos;
		if (ZSTD_isError(rc)) {
			cap_dec_fail(d, ZSTD_getErrorName(rc));
			return -1;
		}
		/* Called again with nothing to do after a frame, it asks
		 * for the next frame's header: not a frame begun. */
		if (ib.pos > 0 || ob.pos > 0)
			d->zs_hint = rc;
		return 1;
	}
	case CAP_DEC_LZ4: {
		size_t ol = room, il = avail;
		size_t rc = LZ4F_decompress(d->lz, out, &ol, in, &il, NULL);

		d->in_off += il;
		*out_len = ol;
		if (LZ4F_isError(rc)) {
			cap_dec_fail(d, LZ4F_getErrorName(rc));
			return -1;
		}
		if (il > 0 || ol > 0)
			d->lz_hint = rc;
		return 1;
	}
	}
	return 0;
}

/* Whether the input may end here: not inside a gzip member or a zstd or
 * lz4 frame. */
static int cap_dec_at_boundary(const struct cap_dec *d)
{
	switch (d->fmt) {
	case CAP_DEC_GZIP:
		return d->z_end;
	case CAP_DEC_ZSTD:
		return d->zs_hint == 0;
	case CAP_DEC_LZ4:
		return d->lz_hint == 0;
	case CAP_DEC_PLAIN:
		break;
	}
	return 1;
}

/* ---- the thread ------------------------------------------------------- */

/* Fills chunks until the data ends, fails or the reader goes. */
static void cap_dec_run(struct cap_dec *d)
{
	uint8_t *c = NULL;
	size_t used = 0;

	/* Enough bytes to tell the format, or all there are. */
	while (!d->in_eof && d->in_len < 4)
		if (cap_dec_fill(d) <= 0 && !d->in_eof)
			return;
	d->fmt = cap_dec_sniff(d->in, d->in_len);
	if (cap_dec_setup(d) != 0) {
		cap_dec_fail(d, "out of memory");
		return;
	}
	for (;;) {
		size_t n, before = d->in_off;
		int rc;

		if (c == NULL && (c = cap_dec_free_chunk(d)) == NULL)
			return;
		n = CAP_DEC_CHUNK - used;
		rc = cap_dec_step(d, c + used, &n);
		used += n;
		if (rc <= 0)
			break;
		if (used == CAP_DEC_CHUNK) {
			cap_dec_put(d, used, 0);
			c = NULL;
			used = 0;
			continue;
		}
		if (n > 0 || d->in_off != before)
			continue;
		/* No progress: the decompressor needs more input. */
		if (d->in_eof) {
			if (!cap_dec_at_boundary(d)) {
				d->cut = 1;
				snprintf(d->why, sizeof(d->why), "unexpected end of file");
			}
			break;
		}
		rc = cap_dec_fill(d);
		if (rc < 0)
			break;
		if (rc == 0 && !d->in_eof)
			return;     /* the reader is gone */
	}
	/* What was decompressed before the end or the error is read first. */
	if (c != NULL && used > 0)
		cap_dec_put(d, used, 0);
}

static void *cap_dec_main(void *arg)
{
	struct cap_dec *d = arg;

	cap_dec_run(d);
	cap_dec_put(d, 0, 1);
	return NULL;
}

/* ---- the reader's side ------------------------------------------------ */

struct cap_dec *cap_dec_open(int fd)
{
	struct cap_dec *d = calloc(1, sizeof(*d));
	unsigned i;

	if (d == NULL)
		return NULL;
	d->fd = fd;
	if ((d->in = malloc(CAP_DEC_IN)) == NULL)
		goto fail;
	for (i = 0; i < CAP_DEC_CHUNKS; i++)
		if ((d->chunk[i] = malloc(CAP_DEC_CHUNK)) == NULL)
			goto fail;
	if (pthread_mutex_init(&d->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&d->cv, NULL) != 0) {
		pthread_mutex_destroy(&d->mu);
		goto fail;
	}
	if (pthread_create(&d->thread, NULL, cap_dec_main, d) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		goto fail;
	}
	return d;
fail:
	for (i = 0; i < CAP_DEC_CHUNKS; i++)
		free(d->chunk[i]);
	free(d->in);
	free(d);
	return NULL;
}

ssize_t cap_dec_read(struct cap_dec *d, uint8_t *buf, size_t n)
{
	size_t done = 0;
	int failed;

	pthread_mutex_lock(&d->mu);
	while (done < n) {
		size_t k;

		if (d->count == 0) {
			if (d->done)
				break;
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		/* Copied outside the lock: the thread never writes a full
		 * chunk. */
		k = d->len[d->head] - d->off;
		if (k > n - done)
			k = n - done;
		pthread_mutex_unlock(&d->mu);
		memcpy(buf + done, d->chunk[d->head] + d->off, k);
		done += k;
		d->off += k;
		pthread_mutex_lock(&d->mu);
		if (d->off == d->len[d->head]) {
			d->head = (d->head + 1) % CAP_DEC_CHUNKS;
			d->count--;
			d->off = 0;
			pthread_cond_broadcast(&d->cv);
		}
	}
	/* The thread's error is read once it has put its last chunk. */
	failed = d->done && d->count == 0 && d->failed;
	pthread_mutex_unlock(&d->mu);
	if (done == 0 && failed)
		return -1;
	return (ssize_t)done;
}

const char *cap_dec_format(const struct cap_dec *d)
{
	return cap_dec_names[d->fmt];
}

const char *cap_dec_error(struct cap_dec *d)
{
	int ready;

	/* Only once every byte before it was read. */
	pthread_mutex_lock(&d->mu);
	ready = d->count == 0 && d->done;
	pthread_mutex_unlock(&d->mu);
	if (!ready || (!d->failed && !d->cut))
		return NULL;
	return d->why;
}

void cap_dec_close(struct cap_dec *d)
{
	unsigned i;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	if (d->z_init)
		inflateEnd(&d->z);
	ZSTD_freeDStream(d->zs);
	if (d->lz != NULL)
		LZ4F_freeDecompressionContext(d->lz);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	for (i = 0; i < CAP_DEC_CHUNKS; i++)
		free(d->chunk[i]);
	free(d->in);
	close(d->fd);
	free(d);
}
