/*
 * cap_map.h - the mapping of a plain capture file, for the files of the
 * capture stage (see cap_map.c for how and why; the leases on its bytes
 * are public, in capture.h).  Nothing outside the stage includes this.
 */
#ifndef IMT_CAP_MAP_H
#define IMT_CAP_MAP_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

struct cap_map;

/*
 * What a reader owns of the mapping it reads: the mapping (NULL when
 * none), written by the reading thread only, and the lock under which
 * another thread fills its page tables (cap_prefetch()), which the
 * reading thread takes to let the mapping go.
 */
struct cap_mapper {
	pthread_mutex_t mu;
	struct cap_map *cur;
};

/* 0, or -1 when the lock cannot be made. */
int cap_mapper_init(struct cap_mapper *mp);
void cap_mapper_destroy(struct cap_mapper *mp);

/*
 * A stream that reads fd's `size` bytes through a mapping under a file
 * lease and owns fd: mp->cur is the mapping until the stream is closed;
 * it is unmapped, and fd closed, once the stream is closed and every
 * lease on it released.  NULL, and fd is still the caller's, when it
 * cannot be made (no file lease: open for writing elsewhere or owned by
 * another user; no mapping; size 0; every registry slot taken).
 */
FILE *cap_map_open(struct cap_mapper *mp, int fd, uint64_t size);

/* True once m's file changed or is about to (a page of it vanished, or
 * another process waits to write it): nothing read after that is used. */
int cap_map_lost(const struct cap_map *m);

/* cap_map_lost(), or the file is now shorter than m (then remembered). */
int cap_map_shrank(struct cap_map *m);

/* The mapped bytes of m (*len_r of them), for a reader that walks the
 * mapping itself instead of reading the stream (the pcapng reader). */
const uint8_t *cap_map_bytes(const struct cap_map *m, size_t *len_r);

/* Tells m where such a reader is, for cap_map_step(); from then on the
 * stream's own position is not looked at. */
void cap_map_read_at(struct cap_map *m, size_t pos);
/* Undoes cap_map_read_at(): the stream's position is the read position
 * again (a reader that hands the rest of the file to the stream). */
void cap_map_read_stream(struct cap_map *m);
/*
 * For a reader walking m itself, at pos before its n-th record or block:
 * every 512 of them, tells m where the reader is and steps
 * (cap_map_read_at(), cap_map_step()).  Returns cap_map_lost(): what was
 * read after the file changed is not to be used.
 */
int cap_map_walk(struct cap_map *m, size_t pos, uint64_t n);

/* Called between packets, every few hundred: looks for a writer waiting
 * for the file, gives back the pages behind the read position and fills
 * the page tables ahead of it. */
void cap_map_step(struct cap_map *m);

/*
 * The packet libpcap just read as (data, caplen), at its place in m (its
 * 16-byte record header at pos), or NULL when the bytes there differ (the
 * reader lost track).  whole: compare every byte, else both ends.
 */
const uint8_t *cap_map_packet(const struct cap_map *m, uint64_t pos,
			      const uint8_t *data, uint32_t caplen, int whole);

#endif
