/*
 * cap_dsb.c - the pre-scan for pcapng Decryption Secrets Blocks (see
 * cap_reader_prescan_secrets() in capture.h).
 *
 * A DSB may come after the packets whose TLS sessions its keys open
 * (a capture tool that learns the keys as the sessions go, or a block
 * appended to a finished capture).  On a file that can be read twice,
 * the pre-scan hands every DSB to the reader's on_secrets function before
 * the first packet, walking the block headers only: a block's length
 * leads to the next header, and only DSB bodies are read.  The headers
 * are read through a window of CAP_DSB_WINDOW bytes, one pread() per
 * window: a file of small blocks costs one pass of copies from the page
 * cache (cheaper than mapping it: faulting in every page costs more than
 * copying it), a file of large blocks far less, and the memory used is
 * the window.  Whatever the pre-scan
 * cannot read (a length that makes no sense, a truncated block) ends it
 * quietly: the read that follows reports it as corrupt, where it is.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_int.h"
#include "wire.h"

#define CAP_DSB_WINDOW	(64u << 10)

struct cap_dsb_scan {
	int fd;
	uint64_t size;
	uint8_t win[CAP_DSB_WINDOW];
	uint64_t win_off;        /* file offset of win[0] */
	size_t win_len;
};

/* Points *p_r at len (<= CAP_DSB_WINDOW) bytes of the file at off, read
 * through the window.  Returns 0, or -1 past the end or on a read error. */
static int cap_dsb_at(struct cap_dsb_scan *s, uint64_t off, size_t len,
		      const uint8_t **p_r)
{
	ssize_t got;

	if (off > s->size || len > s->size - off)
		return -1;
	if (off < s->win_off || off - s->win_off + len > s->win_len) {
		got = pread(s->fd, s->win, CAP_DSB_WINDOW, (off_t)off);
		if (got < 0 || (size_t)got < len)
			return -1;
		s->win_off = off;
		s->win_len = (size_t)got;
	}
	*p_r = s->win + (off - s->win_off);
	return 0;
}

/* Hands the DSB whose body (blen bytes) starts at off to on_secrets.
 * Returns 0, or -1 when it cannot be read. */
static int cap_dsb_hand(struct cap_reader *r, struct cap_dsb_scan *s, int big,
			uint64_t off, uint32_t blen)
{
	const uint8_t *h;
	uint32_t type, slen;
	uint8_t *data;

	if (blen < 8 || cap_dsb_at(s, off, 8, &h) != 0)
		return -1;
	type = big ? wire_be32(h) : wire_le32(h);
	slen = big ? wire_be32(h + 4) : wire_le32(h + 4);
	if (slen > blen - 8)
		return -1;
	data = malloc(slen > 0 ? slen : 1);
	if (data == NULL)
		return -1;
	if (pread(s->fd, data, slen, (off_t)(off + 8)) != (ssize_t)slen) {
		free(data);
		return -1;
	}
	r->on_secrets(r->user, type, data, slen);
	free(data);
	return 0;
}

uint64_t cap_dsb_prescan(struct cap_reader *r, const char *path)
{
	struct cap_dsb_scan *s;
	struct stat st;
	uint64_t off = 0, handed = 0;
	int big = 0;

	if (r->on_secrets == NULL || strcmp(path, "-") == 0 ||
	    (s = malloc(sizeof(*s))) == NULL)
		return 0;
	s->win_off = 0;
	s->win_len = 0;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	s->size = (uint64_t)st.st_size;
	for (;;) {
		const uint8_t *h;
		uint32_t type, len;

		if (cap_dsb_at(s, off, 12, &h) != 0)
			break;
		type = wire_le32(h);
		if (type == CAP_NG_SHB) {
			if (wire_le32(h + 8) == CAP_NG_BOM)
				big = 0;
			else if (wire_be32(h + 8) == CAP_NG_BOM)
				big = 1;
			else
				break;
		} else if (off == 0) {
			break;          /* not pcapng (pcap, gzip...) */
		}
		type = big ? wire_be32(h) : wire_le32(h);
		len = big ? wire_be32(h + 4) : wire_le32(h + 4);
		if (len < 12 || len % 4 != 0 || len > CAP_NG_MAX_BLOCK ||
		    len > s->size - off)
			break;
		if (type == CAP_NG_DSB) {
			if (cap_dsb_hand(r, s, big, off + 8, len - 12) != 0)
				break;
			handed++;
		}
		off += len;
	}
out:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return handed;
}
