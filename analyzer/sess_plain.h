/*
 * sess_plain.h - the plaintext path of one direction of a session's
 * stream (sess_stream.h): the cleartext wire bytes, or what the TLS layer
 * decrypted, go through the DEFLATE layer (RFC 4978) when COMPRESS is on,
 * then to the direction's IMAP parser.  Also the held-bytes buffers the
 * stream's switches use.  Called by sess_stream.c only; it calls no
 * other part of the engine but events.
 */
#ifndef IMT_SESS_PLAIN_H
#define IMT_SESS_PLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sess_stream.h"

/* Feeds plaintext of direction d through the DEFLATE layer to the
 * parser.  Returns the bytes taken: all of them, except when the parser
 * paused for a switch, whose layers then take the rest. */
size_t sess_plain_feed(struct sess_stream *st, enum imt_dir d,
		       const uint8_t *data, size_t len);
/* All of it: when the parser pauses for a switch, the switched layer
 * takes the rest. */
void sess_plain_all(struct sess_stream *st, enum imt_dir d,
		    const uint8_t *data, size_t len);
/* Starts inflating direction sd; -1 when zlib or memory say no. */
int sess_inflate_start(struct sess_stream_dir *sd);

/* Appends data to h, which may hold max bytes.  Returns 0, or -1 (h
 * unchanged) when that would pass max or memory ran out. */
int sess_held_append(struct sess_held *h, const uint8_t *data, size_t len,
		     size_t max);
/* Takes the held bytes out of h (the caller frees them). */
struct sess_held sess_held_take(struct sess_held *h);

#endif
