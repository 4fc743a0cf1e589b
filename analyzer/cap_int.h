/*
 * cap_int.h - internals of the capture stage shared by capture.c (file
 * formats, filters, delivery) and cap_map.c (mapped files).  Nothing
 * outside the stage includes this.
 */
#ifndef IMT_CAP_INT_H
#define IMT_CAP_INT_H

#include <stdint.h>
#include <stdio.h>

struct cap_map;

/*
 * A stream that reads fd's `size` bytes through a mapping under a read
 * lease, and owns fd (closing the stream unmaps and closes); or NULL,
 * and fd is still the caller's (no lease: open for writing elsewhere or
 * owned by another user; no mapping; size 0).
 */
FILE *cap_map_open(int fd, uint64_t size);

/* The mapped file being read, or NULL. */
struct cap_map *cap_map_current(void);

/* True once the file being read was changed (lease broken, or a page
 * vanished): nothing read after that may be used. */
int cap_map_changed(void);

/* cap_map_changed(), or the file is now shorter than when it was mapped. */
int cap_map_shrank(void);

/* Called between packets, `frames` read so far: gives back the pages
 * behind the read position and fills the page tables ahead of it. */
void cap_map_trim(uint64_t frames);

/* Packets are handed on from the mapping being read: release(user,
 * frame) is called before the pages of the packets up to `frame` are
 * given back, and a broken lease is kept until the file is closed. */
void cap_map_hold(void (*release)(void *user, uint64_t frame), void *user);

/*
 * The packet libpcap just read as (data, caplen), at its place in the
 * mapping m (its 16-byte record header at pos), or NULL when the bytes
 * there differ (the reader lost track).  whole: compare every byte, else
 * both ends.
 */
const uint8_t *cap_map_packet(const struct cap_map *m, uint64_t pos,
			      const uint8_t *data, uint32_t caplen, int whole);

#endif
