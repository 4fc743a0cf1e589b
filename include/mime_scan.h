/*
 * mime_scan.h - how much of a message a MIME parser may safely be given.
 *
 * A push-style scan of one message: bytes go in, in any chunking, and
 * the result says where the first line is that would pass a cap of
 * struct imt_limits (max_mime_parts, max_mime_depth, max_mime_header,
 * max_mime_headers), or that there is none.  mime.c gives GMime only the
 * bytes before that line.  Memory is fixed when the scan is created (two
 * buffers of max_mime_header bytes and max_mime_depth boundaries); time
 * is linear in the bytes fed, with a look at each open boundary for
 * lines that start with "--".
 *
 * Feeding the same bytes whole, one byte at a time or split at any
 * offset gives the same result.  Content-Type fields are read with
 * GMime's parser, so GMime must be initialised (mime_new() does it).
 */
#ifndef IMT_MIME_SCAN_H
#define IMT_MIME_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "imt_limits.h"

struct mime_scan_result {
	uint64_t cut;            /* bytes the parser may see */
	unsigned limits;         /* 1u << MIME_L_* (mime.h): the cap that set cut */
	uint32_t parts;          /* entities before cut, the message included */
	uint32_t depth;          /* deepest nesting before cut (0: one part) */
	uint64_t body;           /* offset of the message's body: just past
				    the blank line ending its header block
				    (0: that block did not end) */
	int leaf;                /* the message's own Content-Type is neither
				    multipart nor an attached message: with
				    parts == 1, nothing past `body` has
				    structure */
};

struct mime_scan;

/* A scan of a new message under *lim (copied).  NULL when out of memory. */
struct mime_scan *mime_scan_new(const struct imt_limits *lim);

/* Makes s a new scan under the same limits, keeping its buffers. */
void mime_scan_reset(struct mime_scan *s);

/* The next n bytes of the message.  Returns 0 while the scan goes on,
 * 1 once a cap has stopped it (later bytes are not needed and are
 * ignored). */
int mime_scan_feed(struct mime_scan *s, const void *p, size_t n);

/* Stops the scan at the bytes fed so far for the given cap (mime.c: the
 * time cap).  Does nothing once stopped. */
void mime_scan_stop(struct mime_scan *s, unsigned limit_bit);

/* The offset just past the blank line that ends the message's own
 * header block, or 0 while it has not been fed (mime_scan_result.body,
 * known early). */
uint64_t mime_scan_body(const struct mime_scan *s);
/* End of the message: fills *r. */
void mime_scan_finish(struct mime_scan *s, struct mime_scan_result *r);

/* Frees s; accepts NULL. */
void mime_scan_free(struct mime_scan *s);

#endif
