/*
 * relay.h - the TCP stage's consumer on a second thread.
 *
 * A relay stands between the TCP stage and the stage that consumes its
 * callbacks (the session engine).  It gives the TCP stage a set of
 * tcp_callbacks that record each call, with a copy of the bytes and
 * strings it was given (or a lease on the bytes, when they have a lessor:
 * the rule is in capture.h), into a bounded queue; a worker thread replays
 * the calls, in the same order, on the consumer's callbacks.  Reading,
 * IP and TCP then run beside IMAP parsing, the session engine and the
 * output, on two cores, and the consumer sees exactly the calls it
 * would have seen directly: the same bytes at the same offsets (a long
 * run of data may arrive as several consecutive calls, which a streaming
 * consumer cannot tell apart), the same metadata, the same order.
 *
 * What cannot cross the queue at once is the consumer's answer: on_open
 * returns the relay's own handle for the flow, and on_data returns the
 * consumer's "stop" once the worker has seen it (the worker drops the
 * data and gaps of a stopped flow itself, as the TCP stage would have).
 * classify is called directly: it is a pure function of its bytes.
 *
 * Memory is bounded: the queue is a fixed set of chunks, and the TCP
 * side waits when all are full.  Nothing of the consumer may be touched
 * from the feeding thread except after relay_sync().
 */
#ifndef IMT_RELAY_H
#define IMT_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "findings.h"
#include "tcp.h"

struct relay;

/*
 * Starts a relay whose worker calls *inner with inner_user, using at
 * most about queue_bytes of queue.  Returns NULL when out of memory or
 * when the thread cannot be started (the caller then calls the consumer
 * directly).
 */
struct relay *relay_new(const struct tcp_callbacks *inner, void *inner_user,
			size_t queue_bytes);

/* The callbacks to give the TCP stage, with r as their user. */
void relay_tcp_callbacks(const struct relay *r, struct tcp_callbacks *cb_r);

/*
 * Work for the worker while the queue is empty: it calls fn(user), on
 * its thread and outside any lock, until fn returns 0 or a chunk comes,
 * then waits as usual (and tries again after the next chunk).  fn must
 * be safe beside the feeding thread and touch nothing of the consumer.
 * Set it before the first call that queues anything.
 */
void relay_set_idle_work(struct relay *r, int (*fn)(void *user), void *user);

/* A finding from a stage before TCP (capture, ip), replayed as the
 * consumer's on_global_finding in its place in the order. */
void relay_global_finding(struct relay *r, const struct imt_finding_report *f,
			  const struct tcp_meta *m);

/* Waits until the worker has replayed every call made so far.  After it
 * the consumer may be used from the calling thread until the next call
 * into the relay, and every lease the relay took is released. */
void relay_sync(struct relay *r);

struct relay_stats {
	uint64_t chunks;          /* chunks handed to the worker */
	uint64_t feeder_waits;    /* times the feeding side found the queue full */
	double worker_cpu_s;      /* the worker thread's CPU time */
};

/* Replays everything queued and stops the worker; the consumer then
 * belongs to the calling thread again.  Fills *st_r (may be NULL). */
void relay_finish(struct relay *r, struct relay_stats *st_r);

/* Stops the worker if relay_finish() did not, and frees the relay;
 * accepts NULL. */
void relay_free(struct relay *r);

#endif
