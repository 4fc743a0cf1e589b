/*
 * imt_limits.h - every cap the analyzer enforces, in one place.
 *
 * Each limit bounds memory or time under hostile input.  Hitting one is
 * never silent: the stage that enforces it reports a limit-reached finding
 * naming the limit and what was dropped.  The ones users tune (flows,
 * buffers, line, literal, depth, idle timeout) are command-line options
 * (see imaptrace(1)); the others are changed here.  docs/limits.md says
 * which is which.
 */
#ifndef IMT_LIMITS_H
#define IMT_LIMITS_H

#include <stdint.h>
#include <stddef.h>

/* Flows tracked at once; past it the least recently active flow is evicted. */
#define IMT_DEFAULT_MAX_FLOWS           100000u
/* Out-of-order bytes held for one direction of one flow. */
#define IMT_DEFAULT_MAX_FLOW_BUFFER     (1u << 20)
/* Out-of-order bytes held across all flows. */
#define IMT_DEFAULT_MAX_TOTAL_BUFFER    (16u << 20)
/* Seconds without a packet before a flow is closed as idle. */
#define IMT_DEFAULT_IDLE_TIMEOUT        600u
/* IMAP line length (literals excluded) before line-too-long (RFC 7162 §4). */
#define IMT_DEFAULT_MAX_LINE            8192u
/* Line length that looks like an overflow attempt (oversized-argument). */
#define IMT_DEFAULT_OVERSIZED_ARG       (64u << 10)
/* Parenthesis nesting depth kept by the IMAP parser. */
#define IMT_DEFAULT_MAX_DEPTH           64u
/* Tokens kept per line; later tokens are counted, not stored. */
#define IMT_DEFAULT_MAX_TOKENS          4096u
/* Declared literal size considered insane (literal-too-large). */
#define IMT_DEFAULT_MAX_LITERAL         ((uint64_t)1 << 30)
/* Tag length kept; longer tags are cut (and flagged). */
#define IMT_DEFAULT_MAX_TAG             64u
/* Bytes of a literal kept as a preview for display. */
#define IMT_DEFAULT_LITERAL_PREVIEW     64u
/* IPv4/IPv6 fragment reassembly: datagrams in progress and bytes held. */
#define IMT_DEFAULT_MAX_FRAG_DATAGRAMS  1024u
#define IMT_DEFAULT_MAX_FRAG_BYTES      (4u << 20)
/* Seconds an incomplete fragmented datagram is kept. */
#define IMT_DEFAULT_FRAG_TIMEOUT        30u
/* Commands outstanding (sent, not answered) per session. */
#define IMT_DEFAULT_MAX_PENDING         1024u
/* Characters of arguments/text copied into an event before truncation. */
#define IMT_DEFAULT_MAX_ARGS_TEXT       512u

/* Bytes queued between the TCP stage and the session engine when they run
 * on two threads (--threads 2).  Back-pressure, not a cap: the reading
 * side waits while the queue is full, and nothing is dropped. */
#define IMT_RELAY_QUEUE                 (4u << 20)

struct imt_limits {
	uint32_t max_flows;
	uint32_t max_flow_buffer;
	uint32_t max_total_buffer;
	uint32_t idle_timeout;
	uint32_t max_line;
	uint32_t oversized_arg;
	uint32_t max_depth;
	uint32_t max_tokens;
	uint64_t max_literal;
	uint32_t max_tag;
	uint32_t literal_preview;
	uint32_t max_frag_datagrams;
	uint32_t max_frag_bytes;
	uint32_t frag_timeout;
	uint32_t max_pending;
	uint32_t max_args_text;
};

/* Fills *l with the defaults above. */
void imt_limits_default(struct imt_limits *l);

/*
 * Budget test for counters charged against a cap: true when adding `add`
 * to `used` would pass `max`.  Written as a subtraction so it cannot
 * wrap.
 */
#define BUDGET_EXCEEDED(used, add, max) \
	((used) > (max) || (add) > (max) - (used))

#endif
