/*
 * extract_writer.h - an ordered queue of commands with bytes, handled on
 * a second thread (the evidence export's hashing and writing).
 *
 * The feeding thread pushes commands: an operation number, an object
 * pointer and a number, all the caller's, and optionally bytes, which
 * are copied into the queue.  A worker thread hands each command, in the
 * order pushed, to the handler given at creation.  Memory is fixed: a
 * ring of `bytes` bytes for the data and a ring of command slots; a push
 * waits while the rings are full (back-pressure), never grows them.
 * Bytes of one push may reach the handler as several consecutive
 * commands with the same op, obj and arg (at the ring's end, or when
 * they are more than the ring holds); a push of no bytes is one command
 * of length 0.  The other way round, consecutive pushes of the op given
 * as `merge_op` at creation, for the same obj, whose bytes lie one after
 * the other in the ring, may reach the handler as one command carrying
 * all their bytes and the arg of the last: a handler that writes them
 * out gets them in large runs, straight from the ring.
 *
 * The worker takes the commands in bounded batches.  After each batch,
 * before its room is given back, it calls the handler once more with op
 * EXTRACT_WRITER_FLUSH (no obj, no bytes): what the handler gathers to
 * write in bulk goes out then, so nothing waits once the queue is empty,
 * and extract_writer_sync() returns only after it.
 *
 * The handler's answer: 0, or -1 for an error; the first error is kept
 * and every later push and sync returns -1 (the handler still gets the
 * later commands, to close what is open).  Nothing the handler touches
 * may be read by the feeding thread except after extract_writer_sync().
 */
#ifndef IMT_EXTRACT_WRITER_H
#define IMT_EXTRACT_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* The op of the handler's call after each batch (see above). */
#define EXTRACT_WRITER_FLUSH (-1)

struct extract_writer_cmd {
	int op;
	void *obj;
	uint64_t arg;
	const unsigned char *data;   /* len bytes, living during the call only */
	size_t len;
};

/* Handles one command on the worker thread; returns 0, or -1 (an error). */
typedef int (*extract_writer_fn)(void *user, const struct extract_writer_cmd *c);

struct extract_writer;

/*
 * Starts the worker with a data ring of `bytes` bytes, rounded up to a
 * power of two (at least 4 KiB); pushes of merge_op may be merged (none
 * when it is negative).
 * Returns NULL when out of memory or when the thread cannot be started.
 */
struct extract_writer *extract_writer_new(size_t bytes, int merge_op,
					  extract_writer_fn fn, void *user);

/*
 * Queues a command with a copy of data[0, len) (data may be NULL when len
 * is 0), waiting for room when the queue is full.  Returns 0, or -1 once
 * the handler has failed.
 */
int extract_writer_push(struct extract_writer *w, int op, void *obj,
			uint64_t arg, const void *data, size_t len);

/*
 * Waits until the handler has returned from every command pushed so far.
 * Returns 0, or -1 once the handler has failed.
 */
int extract_writer_sync(struct extract_writer *w);

/* Whether the handler has failed (as far as the worker has got). */
int extract_writer_failed(struct extract_writer *w);

struct extract_writer_stats {
	uint64_t commands;        /* commands handled */
	uint64_t bytes;           /* data bytes handled */
	uint64_t full_waits;      /* pushes that waited for room */
};

/*
 * Handles what is still queued, stops the worker and frees w; fills *st_r
 * when not NULL.  Returns 0, or -1 when the handler has failed.  Accepts
 * NULL (returns 0).
 */
int extract_writer_free(struct extract_writer *w, struct extract_writer_stats *st_r);

#endif
