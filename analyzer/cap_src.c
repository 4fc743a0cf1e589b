/*
 * cap_src.c - the byte sources of the capture stage (see cap_int.h).
 *
 * A regular file that is not gzip is read through a stdio FILE: mapped
 * (cap_map.c) when it can be leased, else with read(2) through a large
 * buffer (a file open for writing elsewhere, owned by another user).
 * Anything else (a gzip file, standard input, a pipe) is read through
 * zlib (gzdopen): zlib decompresses gzip and passes other bytes through
 * unchanged, so pipes need no format guess before they are read.  The
 * first bytes are peeked to choose the format; cap_src_stream() gives
 * libpcap a FILE that replays them and then reads on.  (zlib's
 * pass-through and that cookie each copy every byte once more: a third
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
 * -1 when zlib fails (src->failed is then set). */
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
		int got;

		if (want > (1u << 30))
			want = 1u << 30;
		if (src->fp != NULL) {
			got = (int)fread(out + done, 1, want, src->fp);
			if (got == 0 && ferror(src->fp))
				got = -1;
		} else {
			got = gzread(src->gz, out + done, (unsigned)want);
		}
		if (got < 0) {
			src->failed = 1;
			break;
		}
		if (got == 0)
			break;
		done += (size_t)got;
	}
	/* Bytes read before an error are returned first; zlib's error is
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

/* The source outlives the FILE: cap_src_close() closes zlib itself. */
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

/* zlib's error code; Z_OK for a FILE * source, which has no zlib. */
static int cap_src_zerr(struct cap_src *src)
{
	int zerr = Z_OK;

	if (src->gz != NULL)
		(void)gzerror(src->gz, &zerr);
	return zerr;
}

/* zlib's error text without the "<fd:N>: " it puts in front. */
static const char *cap_gz_reason(struct cap_src *src)
{
	int zerr;
	const char *z, *sep;

	if (src->gz == NULL)
		return "read error";
	z = gzerror(src->gz, &zerr);

	if (strncmp(z, "<fd:", 4) == 0 && (sep = strstr(z, ">: ")) != NULL)
		return sep + 3;
	return z;
}

/*
 * Text for a read failure: `fallback` (the reader's own words), followed
 * by zlib's reason when zlib saw an error or a gzip stream that ends
 * early.  zlib reports the latter as a soft error (Z_BUF_ERROR) and
 * otherwise just returns end of file.  Lives until the next call.
 */
const char *cap_src_error(struct cap_src *src, const char *fallback)
{
	int zerr = cap_src_zerr(src);

	if (src->map != NULL && cap_map_shrank(src->map)) {
		snprintf(src->text, sizeof(src->text),
			 "%s (the file was changed while it was being read)", fallback);
		return src->text;
	}
	if (!src->failed && zerr != Z_BUF_ERROR)
		return fallback;
	snprintf(src->text, sizeof(src->text), "%s (gzip: %s)", fallback,
		 cap_gz_reason(src));
	return src->text;
}

/* At a clean end of the capture data: fails when the gzip stream itself
 * was cut (its trailer is missing), because data may be missing too. */
enum cap_error cap_src_eof(struct cap_reader *r, struct cap_src *src)
{
	int zerr = cap_src_zerr(src);

	if (!src->failed && zerr != Z_BUF_ERROR)
		return CAP_OK;
	return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: gzip: %s",
			r->name, (unsigned long long)r->st.frames + 1,
			cap_gz_reason(src));
}
/* ---- opening ------------------------------------------------------ */

/* Reads the first bytes of a new source into its peek buffer. */
static enum cap_error cap_src_peek(struct cap_reader *r, struct cap_src *src)
{
	ssize_t got;

	got = cap_src_read(src, src->peek, sizeof(src->peek));
	if (got < 0)
		return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s%s",
				r->name, (unsigned long long)r->st.frames + 1,
				src->gz != NULL ? "gzip: " : "",
				cap_gz_reason(src));
	src->peek_len = (size_t)got;
	src->peek_off = 0;
	return CAP_OK;
}

/* True for a regular file that does not start with gzip's magic. */
static int cap_fd_is_plain_file(int fd, uint64_t *size_r)
{
	struct stat st;
	uint8_t m[2];

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	*size_r = (uint64_t)st.st_size;
	return pread(fd, m, 2, 0) != 2 || m[0] != 0x1f || m[1] != 0x8b;
}

enum cap_error cap_src_open(struct cap_reader *r, const char *path,
			    struct cap_src *src)
{
	uint64_t size = 0;
	int fd;

	memset(src, 0, sizeof(*src));
	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);  /* gzclose must not close fd 0 */
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
	src->gz = gzdopen(fd, "rb");
	if (src->gz == NULL) {
		close(fd);
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	}
	gzbuffer(src->gz, 1u << 17);
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
	if (src->gz != NULL)
		gzclose(src->gz);
	if (src->own != NULL)
		fclose(src->own);
	src->gz = NULL;
	src->own = src->fp = NULL;
	src->map = NULL;
}
