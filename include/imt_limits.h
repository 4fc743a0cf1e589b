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

/* Evidence export (--extract DIR, docs/extract.md).  Bytes written to
 * extracted objects in all (--max-extract-bytes); past it the object being
 * written is cut and no later object is started. */
#define IMT_DEFAULT_MAX_EXTRACT_BYTES   ((uint64_t)16 << 30)
/* Objects being written at once: each holds a file descriptor and a
 * write buffer.  Past it a new object is not extracted. */
#define IMT_DEFAULT_MAX_EXTRACT_OPEN    256u
/* MIME parts summarized per message (--max-mime-parts); the rest of the
 * message is not parsed. */
#define IMT_DEFAULT_MAX_MIME_PARTS      1000u
/* Nesting of multiparts and attached messages (--max-mime-depth); the
 * part that would go deeper and everything after it is not parsed. */
#define IMT_DEFAULT_MAX_MIME_DEPTH      32u
/* One header field, folded lines joined; a longer one ends the parse. */
#define IMT_DEFAULT_MAX_MIME_HEADER     (64u << 10)
/* Header bytes of all parts of one message together. */
#define IMT_DEFAULT_MAX_MIME_HEADERS    (1u << 20)
/* Milliseconds of work on one message's MIME before the rest is skipped
 * (a safety net: every step is linear in the message size). */
#define IMT_DEFAULT_MIME_TIME_MS        10000u

/* Bytes queued between the TCP stage and the session engine when they run
 * on two threads (--threads 2).  Back-pressure, not a cap: the reading
 * side waits while the queue is full, and nothing is dropped. */
#define IMT_RELAY_QUEUE                 (4u << 20)

/* The html report (-F html): what it keeps beyond its fixed-size
 * aggregates.  Rows of the session table, and sessions drawn as a ladder,
 * chosen by rank (findings first, then the slowest command); ladder rows
 * per session and for all open sessions together; findings drawn per
 * session; command names with their own latency row (the rest share one);
 * buckets of the activity chart; untagged responses shown per fold. */
#define IMT_HTML_TABLE_ROWS             5000u
#define IMT_HTML_DETAILS                100u
#define IMT_HTML_LADDER_ROWS            600u
#define IMT_HTML_OPEN_ROWS              200000u
#define IMT_HTML_LADDER_FINDINGS        200u
#define IMT_HTML_COMMAND_NAMES          40u
#define IMT_HTML_TIME_BUCKETS           120u
#define IMT_HTML_FOLDED_SAMPLES         8u

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
	uint64_t max_extract_bytes;
	uint32_t max_extract_open;
	uint32_t max_mime_parts;
	uint32_t max_mime_depth;
	uint32_t max_mime_header;
	uint32_t max_mime_headers;
	uint32_t mime_time_ms;
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
