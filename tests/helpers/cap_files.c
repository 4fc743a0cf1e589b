/*
 * cap_files.c - pcap files made up for the tests (see cap_files.h).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap_files.h"

#define IMAGE_HDR 24
#define IMAGE_REC 16

const char *tmpfile_with(const void *buf, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/imt_cap_XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
}

/* An image of npkt records of plen bytes, data left zero. */
static uint8_t *image_new(size_t npkt, size_t plen, size_t *size_r)
{
	static const uint8_t hdr[IMAGE_HDR] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0 };
	size_t size = IMAGE_HDR + npkt * (IMAGE_REC + plen);
	uint8_t *img = calloc(1, size);

	ck_assert_ptr_nonnull(img);
	ck_assert_uint_le(plen, 0xffff);
	memcpy(img, hdr, sizeof(hdr));
	for (size_t i = 0; i < npkt; i++) {
		uint8_t *rec = img + IMAGE_HDR + i * (IMAGE_REC + plen);

		rec[8] = rec[12] = (uint8_t)plen;
		rec[9] = rec[13] = (uint8_t)(plen >> 8);
	}
	*size_r = size;
	return img;
}

uint8_t *pcap_image(size_t npkt, size_t plen, size_t *size_r)
{
	uint8_t *img = image_new(npkt, plen, size_r);

	for (size_t i = 0; i < npkt; i++)
		memset(img + IMAGE_HDR + i * (IMAGE_REC + plen) + IMAGE_REC,
		       image_byte(i + 1), plen);
	return img;
}

uint8_t *pcap_image_of(const void *data, size_t len, size_t *size_r)
{
	uint8_t *img = image_new(1, len, size_r);

	memcpy(img + IMAGE_HDR + IMAGE_REC, data, len);
	return img;
}

uint8_t image_byte(uint64_t frame)
{
	return (uint8_t)(((frame - 1) & 0x7f) | 0x80);
}

int all_are(const uint8_t *p, size_t n, uint8_t b)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != b)
			return 0;
	return 1;
}

long mapped_in(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	long rss = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &rss) == 1)
			break;
	}
	fclose(f);
	return rss < 0 ? -1 : rss * 1024;
}
