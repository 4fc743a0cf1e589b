/*
 * cap_src.c - the byte sources of the capture stage (see cap_int.h).
 *
 * A regular file that is not compressed is read through a stdio FILE:
 * mapped (cap_map.c) when it can be leased, else with read(2) through a
 * large buffer (a file open for writing elsewhere, owned by another
 * user).  Anything else (a gzip, zstd or lz4 file, standard input, a
 * pipe) is read by a thread of its own (cap_dec.c), which decompresses
 * what its first bytes say is compressed and passes other bytes through
 * unchanged, so pipes need no format guess before they are read.  The
 * first bytes are peeked to choose the capture format; cap_src_stream()
 * gives libpcap a FILE that replays them and then reads on.  (The
 * thread's ring and that cookie each copy every byte once more: a third
 * of the time of a bare libpcap read on large plain files.)
 *
 * Layout: reading; the cookie stream; error texts; opening and closing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_int.h"

/* stdio buffer of a plain file: one read() per 256 KiB, not per 4 KiB. */
#define CAP_READ_BUF		(256 * 1024u)

/* Reads up to n bytes; returns the count (short only at end of file), or
 * -1 when the decompressor fails (src->failed is then set). */
ssize_t cap_src_read(struct cap_src *src, void *buf, size_t n)
{
	uint8_t *out = buf;
	size_t done = 0;

	if (src->peek_off < src->peek_len) {
		done = src->peek_len - src->peek_off;
		if (done > n)
			done = n;
		memcpy(out, src->peek + src->peek_off, done);
		src->peek_off += done;
	}
	while (done < n) {
		size_t want = n - done;
		ssize_t got;

		if (src->fp != NULL) {
			got = (ssize_t)fread(out + done, 1, want, src->fp);
			if (got == 0 && ferror(src->fp))
				got = -1;
		} else {
			got = cap_dec_read(src->dec, out + done, want);
		}
		if (got < 0) {
			src->failed = 1;
			break;
		}
		if (got == 0)
			break;
		done += (size_t)got;
	}
	/* Bytes read before an error are returned first; the error is
	 * sticky, so the next call reports it. */
	if (done == 0 && src->failed)
		return -1;
	return (ssize_t)done;
}

static ssize_t cap_cookie_read(void *cookie, char *buf, size_t n)
{
	ssize_t got = cap_src_read(cookie, buf, n);

	if (got < 0)
		errno = EIO;
	return got;
}

/* The source outlives the FILE: cap_src_close() closes it. */
static int cap_cookie_close(void *cookie)
{
	(void)cookie;
	return 0;
}

static const cookie_io_functions_t cap_cookie_io = {
	.read = cap_cookie_read,
	.write = NULL,
	.seek = NULL,
	.close = cap_cookie_close,
};

FILE *cap_src_stream(struct cap_src *src)
{
	return fopencookie(src, "rb", cap_cookie_io);
}

/* The decompressor's reason for an early end, or NULL (none, or a FILE *
 * source). */
static const char *cap_src_why(struct cap_src *src)
{
	return src->dec != NULL ? cap_dec_error(src->dec) : NULL;
}

/*
 * Text for a read failure: `fallback` (the reader's own words), followed
 * by the decompressor's reason when it saw an error or a stream that
 * ends early ("(gzip: unexpected end of file)").  Lives until the next
 * call.
 */
const char *cap_src_error(struct cap_src *src, const char *fallback)
{
	const char *why = cap_src_why(src);

	if (src->map != NULL && cap_map_shrank(src->map)) {
		snprintf(src->text, sizeof(src->text),
			 "%s (the file was changed while it was being read)", fallback);
		return src->text;
	}
	if (why == NULL)
		return fallback;
	snprintf(src->text, sizeof(src->text), "%s (%s: %s)", fallback,
		 cap_dec_format(src->dec), why);
	return src->text;
}

/* At a clean end of the capture data: fails when the compressed stream
 * itself was cut (its end is missing), because data may be missing too. */
enum cap_error cap_src_eof(struct cap_reader *r, struct cap_src *src)
{
	const char *why = cap_src_why(src);

	if (why == NULL)
		return CAP_OK;
	return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s: %s",
			r->name, (unsigned long long)r->st.frames + 1,
			cap_dec_format(src->dec), why);
}
/* ---- opening ------------------------------------------------------ */

/* Reads the first bytes of a new source into its peek buffer. */
static enum cap_error cap_src_peek(struct cap_reader *r, struct cap_src *src)
{
	ssize_t got;

	got = cap_src_read(src, src->peek, sizeof(src->peek));
	if (got < 0) {
		const char *why = cap_src_why(src);

		return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s%s%s",
				r->name, (unsigned long long)r->st.frames + 1,
				src->dec != NULL ? cap_dec_format(src->dec) : "",
				src->dec != NULL ? ": " : "",
				why != NULL ? why : "read error");
	}
	/* Compressed data that ends or fails before its first byte. */
	if (got == 0 && cap_src_why(src) != NULL)
		return cap_src_eof(r, src);
	src->peek_len = (size_t)got;
	src->peek_off = 0;
	return CAP_OK;
}

/* True for a regular file that does not start with a compressed
 * format's magic. */
static int cap_fd_is_plain_file(int fd, uint64_t *size_r)
{
	struct stat st;
	uint8_t m[4];
	ssize_t n;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	*size_r = (uint64_t)st.st_size;
	n = pread(fd, m, sizeof(m), 0);
	return n < 2 || !cap_compressed_magic(m, (size_t)n);
}

enum cap_error cap_src_open(struct cap_reader *r, const char *path,
			    struct cap_src *src)
{
	uint64_t size = 0;
	int fd;

	memset(src, 0, sizeof(*src));
	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);  /* closing the source must not close fd 0 */
	else
		fd = open(path, O_RDONLY);
	if (fd < 0)
		return cap_fail(r, CAP_ERR_OPEN, "%s: %s", r->name,
				strerror(errno));
	if (cap_fd_is_plain_file(fd, &size)) {
		src->own = cap_map_open(&r->map, fd, size);
		src->map = src->own != NULL ? r->map.cur : NULL;
		/* glibc gives a stream opened on a file a buffer of the size
		 * asked for even with buf NULL. */
		if (src->own == NULL && (src->own = fdopen(fd, "rb")) != NULL)
			setvbuf(src->own, NULL, _IOFBF, CAP_READ_BUF);
		if (src->own == NULL) {
			close(fd);
			return cap_fail(r, CAP_ERR_NOMEM, "%s: %s", r->name,
					strerror(errno));
		}
		src->fp = src->own;
		return cap_src_peek(r, src);
	}
	src->dec = cap_dec_open(fd);
	if (src->dec == NULL) {
		close(fd);
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	}
	return cap_src_peek(r, src);
}
enum cap_error cap_src_open_stream(struct cap_reader *r, FILE *fp,
				   struct cap_src *src)
{
	memset(src, 0, sizeof(*src));
	src->fp = fp;
	return cap_src_peek(r, src);
}

void cap_src_close(struct cap_src *src)
{
	cap_dec_close(src->dec);
	if (src->own != NULL)
		fclose(src->own);
	src->dec = NULL;
	src->own = src->fp = NULL;
	src->map = NULL;
}
