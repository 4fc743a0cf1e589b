/*
 * tcp.h - TCP stream reassembly: segments in, ordered bytes out.
 *
 * Flows are keyed by their 4-tuple.  For each flow the stage decides
 * which side is the client (the SYN's sender; else the side whose port is
 * a configured IMAP port; else by content, through the classify hook),
 * then delivers each direction's bytes in sequence order, exactly once:
 * out-of-order segments are held (within caps) and released in order,
 * retransmissions are dropped, overlaps that carry different bytes are
 * reported (the first copy wins), and holes are reported as gaps after
 * which delivery goes on.  Sequence numbers are compared only through the
 * wrap-safe SEQ_ macros.  Data that arrives in order is passed straight
 * from the packet to the consumer without a copy.  The last delivered
 * bytes of each direction are kept to compare retransmissions with:
 * copied, or under a lease when the segment names a lessor (capture.h);
 * the stage holds one lease at a time, until tcp_reasm_drop_lease().
 */
#ifndef IMT_TCP_H
#define IMT_TCP_H

#include <stdint.h>
#include <stddef.h>

#include "findings.h"
#include "imt_dir.h"
#include "imt_limits.h"
#include "ip.h"

/* Wrap-safe comparisons of 32-bit sequence numbers. */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

/* How the client side was chosen. */
#define TCP_ORIENTS(X) \
	X(TCP_BY_SYN, "syn") \
	X(TCP_BY_PORT, "port") \
	X(TCP_BY_CONTENT, "content") \
	X(TCP_BY_FIRST_SENDER, "first-sender")

enum tcp_orient {
#define TCP_ORIENT_ENUM(e, name) e,
	TCP_ORIENTS(TCP_ORIENT_ENUM)
#undef TCP_ORIENT_ENUM
};

/* Why a flow ended. */
#define TCP_CLOSE_REASONS(X) \
	X(TCP_CLOSE_FIN, "fin") \
	X(TCP_CLOSE_RST, "rst") \
	X(TCP_CLOSE_TIMEOUT, "timeout") \
	X(TCP_CLOSE_END, "end-of-capture") \
	X(TCP_CLOSE_EVICTED, "evicted") \
	X(TCP_CLOSE_REUSED, "port-reused")

enum tcp_close_reason {
#define TCP_CLOSE_ENUM(e, name) e,
	TCP_CLOSE_REASONS(TCP_CLOSE_ENUM)
#undef TCP_CLOSE_ENUM
};

const char *tcp_orient_name(enum tcp_orient o);
const char *tcp_close_reason_name(enum tcp_close_reason r);

/* The packet currently being processed, for evidence and timestamps. */
struct tcp_meta {
	uint64_t frame;
	int64_t ts_sec;
	uint32_t ts_nsec;
	int ts_nano;
	/* on_data only: the lessor of `data` (ip_segment.lessor: capture.h
	 * says how to keep it); NULL everywhere else. */
	struct cap_reader *lessor;
};

/* Facts about a flow, given when it opens (the rule in capture.h). */
struct tcp_flow_info {
	struct ip_endpoint client, server;
	enum tcp_orient how;
	int midstream;           /* no handshake was seen */
	struct tcp_meta first;   /* the flow's first packet */
};

/* Facts about a flow, given when it closes (the rule in capture.h). */
struct tcp_close_info {
	enum tcp_close_reason reason;
	struct tcp_meta last;    /* the packet that closed it (or the last seen) */
	uint64_t bytes[2];       /* payload bytes delivered per direction */
	uint64_t gap_bytes[2];   /* bytes reported missing per direction */
	uint64_t packets[2];
	/*
	 * Zeek-style history: S SYN, H SYN-ACK, A pure ACK, D data, F FIN,
	 * R RST, G gap, T retransmission, O overlap mismatch, W out of order;
	 * upper case for the client, lower case for the server; each letter
	 * once per direction, in order of first occurrence.
	 */
	const char *history;
};

struct tcp_callbacks {
	/*
	 * A flow opened (its orientation is known).  Returns the consumer's
	 * handle for it, passed to every later callback of this flow, or
	 * NULL to ignore the flow (it is still tracked, but nothing more is
	 * delivered and on_close is not called).
	 */
	void *(*on_open)(void *user, const struct tcp_flow_info *info);
	/*
	 * In-order bytes of one direction; `offset` is the position of
	 * data[0] in that direction's stream (gaps included).  `data`
	 * follows the rule in capture.h, its lessor in m->lessor.
	 * Returns 0 to go on, non-zero to stop delivering this flow's data
	 * (on_close is still called).
	 */
	int (*on_data)(void *flow, enum imt_dir dir, const uint8_t *data,
		       size_t len, uint64_t offset, const struct tcp_meta *m);
	/* `bytes` bytes at `offset` are missing; delivery resumes after them. */
	void (*on_gap)(void *flow, enum imt_dir dir, uint64_t offset,
		       uint64_t bytes, const struct tcp_meta *m);
	/* A finding about this flow (overlap, reset, data after close...). */
	void (*on_finding)(void *flow, const struct imt_finding_report *f,
			   const struct tcp_meta *m);
	/* The flow ended; all its data was delivered before this call. */
	void (*on_close)(void *flow, const struct tcp_close_info *ci);
	/* A finding not tied to a flow (flow cap); `user` is the stage's. */
	void (*on_global_finding)(void *user, const struct imt_finding_report *f,
				  const struct tcp_meta *m);
	/*
	 * Orientation by content, for flows with no SYN and no IMAP port:
	 * called with the first payload of the flow.  Returns 1 when the
	 * bytes look like a server (greeting, untagged or tagged response),
	 * 0 when they look like a client, -1 when it cannot tell (the
	 * sender is then taken as the client).  May be NULL.
	 */
	int (*classify)(const uint8_t *data, size_t len);
	/*
	 * Optional: a callback of this flow comes soon (a stage that queues
	 * callbacks, relay.h, sees it coming): the consumer may fetch the
	 * flow's memory ahead.  Must change nothing that can be seen.
	 */
	void (*on_ahead)(void *flow);
};

struct tcp_config {
	const uint16_t *ports;   /* IMAP server ports */
	size_t nports;
};

struct tcp_reasm;

/* Creates the stage; copies *cfg.  NULL only when out of memory. */
struct tcp_reasm *tcp_reasm_new(const struct imt_limits *lim,
				const struct tcp_config *cfg,
				const struct tcp_callbacks *cb, void *user);

/* Processes one segment (and expires idle flows by its timestamp). */
void tcp_reasm_feed(struct tcp_reasm *t, const struct ip_segment *seg);

/*
 * A packet still to come, between src and dst (ip_peek_tcp()): its
 * flow's memory is fetched ahead, in a pipeline of TCP_HINT_DEPTH steps
 * (the table's bucket, the flow, what the flow points to), one step per
 * hint.  Hints pay when they run that many packets ahead of
 * tcp_reasm_feed(): a capture with tens of thousands of flows open finds
 * each flow out of the cache.  Changes nothing that can be seen.
 */
#define TCP_HINT_DEPTH 3
/* Flows in the table (tcp_stats.flows_held) from which hints pay: fewer
 * stay in the cache. */
#define TCP_HINT_MIN_FLOWS 4096
void tcp_reasm_hint(struct tcp_reasm *t, const struct ip_endpoint *src,
		    const struct ip_endpoint *dst);

/* Copies the bytes the stage keeps under its lease (to compare
 * retransmissions with) and releases the lease: call it once a file is
 * read, so that the file can go.  The stage takes a new lease when it
 * next keeps leasable bytes. */
void tcp_reasm_drop_lease(struct tcp_reasm *t);

/* Ends every open flow (TCP_CLOSE_END), releasing held data as gaps
 * where holes remain.  The stage stays usable. */
void tcp_reasm_finish(struct tcp_reasm *t);

struct tcp_stats {
	uint64_t flows_opened;
	uint64_t flows_open;     /* now */
	uint64_t flows_held;     /* now: in the table, open or not, closed ones
				    kept a while included */
	uint64_t flows_waiting;  /* now: not open, both SYNs seen (a handshake
				    under way: a session to come) */
	uint64_t flows_evicted;
	uint64_t held_bytes;     /* out-of-order bytes held now */
	uint64_t held_bytes_peak;
	uint64_t retransmissions;
	uint64_t overlaps_mismatched;
};
void tcp_reasm_stats(const struct tcp_reasm *t, struct tcp_stats *st_r);

/* Frees everything without callbacks and releases the lease; accepts
 * NULL. */
void tcp_reasm_free(struct tcp_reasm *t);

#endif
