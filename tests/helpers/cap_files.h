/*
 * cap_files.h - pcap files made up for the tests of the stages that read
 * mapped captures and lease their bytes (capture, relay, tcp).
 */
#ifndef IMT_CAP_FILES_H
#define IMT_CAP_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Writes len bytes to a new temporary file; returns its path, which
 * lives until the next call. */
const char *tmpfile_with(const void *buf, size_t len);

/* A pcap image (microseconds, Ethernet) of npkt packets of plen bytes,
 * packet i (from 1) filled with image_byte(i); the caller frees it. */
uint8_t *pcap_image(size_t npkt, size_t plen, size_t *size_r);

/* A pcap image of one packet holding len bytes of data; caller frees. */
uint8_t *pcap_image_of(const void *data, size_t len, size_t *size_r);

/* The byte every packet of frame f holds in a pcap_image(). */
uint8_t image_byte(uint64_t frame);

/* Whether the n bytes at p all equal b. */
int all_are(const uint8_t *p, size_t n, uint8_t b);

/* Bytes of the mapping that holds p that this process has mapped in
 * (its Rss in /proc/self/smaps), or -1 when no mapping holds p. */
long mapped_in(const void *p);

#endif
