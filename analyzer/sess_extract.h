/*
 * sess_extract.h - the evidence export inside the session engine: which
 * literals carry message data (FETCH body sections, APPEND and CATENATE
 * messages), what is known about each (extract_meta), streaming their
 * bytes and gaps to extract.h, ending the objects and writing the
 * `message` event of each whole message (mime.h).  docs/extract.md,
 * "Wiring", gives the order of the calls.
 *
 * Nothing here runs when the engine has no extraction: the session then
 * has no sess_x record and the parsers no literal-bytes callback.
 */
#ifndef IMT_SESS_EXTRACT_H
#define IMT_SESS_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "imt_dir.h"

struct session;
struct sess_x;

/* The per-session record (NULL when out of memory); freed by
 * sess_x_free (accepts NULL). */
struct sess_x *sess_x_new(void);
void sess_x_free(struct sess_x *x);

/* The parser of direction d announced a literal / read its first data
 * byte / read n more of its bytes. */
void sess_x_literal_begin(struct session *s, enum imt_dir d,
			  const struct imap_literal *lit);
void sess_x_literal_data(struct session *s, enum imt_dir d);
void sess_x_literal_bytes(struct session *s, enum imt_dir d,
			  const uint8_t *p, size_t n);

/* bytes of direction d are missing; in_literal when the parser stayed in
 * step inside the literal's data. */
void sess_x_gap(struct session *s, enum imt_dir d, uint64_t bytes, int in_literal);

/* An element of direction d was delivered: the objects of its literals
 * end (before the element's own events). */
void sess_x_element(struct session *s, enum imt_dir d,
		    const struct imap_element *el);

/* The session ends (reset: by RST): every object still open ends. */
void sess_x_session_end(struct session *s, int reset);

#endif
