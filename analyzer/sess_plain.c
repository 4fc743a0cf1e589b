/*
 * sess_plain.c - the plaintext path of one direction (see sess_plain.h):
 * the DEFLATE layer COMPRESS switches on, then the IMAP parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sess_event.h"
#include "sess_plain.h"
#include "wire.h"

/* Direction d cannot be followed any more: said with a gap event. */
static void dir_lost(struct sess_stream *st, enum imt_dir d, const char *why)
{
	struct sess_stream_dir *sd = &st->dir[d];
	struct imt_event *ev = sess_ev_new(st->owner, EV_GAP, d,
					   imap_parser_offset(sd->parser));

	sd->lost = 1;
	event_u64(ev, "bytes", 0);
	event_cstring(ev, "resync", "none");
	event_cstring(ev, "detail", why);
	sess_ev_emit(st->owner, ev);
}

int sess_inflate_start(struct sess_stream_dir *sd)
{
	/* Allocated when needed: most sessions never compress. */
	if (sd->z == NULL && (sd->z = malloc(sizeof(*sd->z))) == NULL)
		return -1;
	memset(sd->z, 0, sizeof(*sd->z));
	if (inflateInit2(sd->z, -15) != Z_OK)
		return -1;
	sd->z_init = 1;
	sd->zip = SESS_ZIP_INFLATE;
	return 0;
}

static void zip_inflate(struct sess_stream *st, enum imt_dir d,
			const uint8_t *data, size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];
	uint8_t *out = st->env->zbuf;

	sd->z->next_in = (Bytef *)(uintptr_t)data;
	sd->z->avail_in = (uInt)len;
	while (sd->z->avail_in > 0 && !sd->lost) {
		int rc;
		size_t got;

		sd->z->next_out = out;
		sd->z->avail_out = SESS_ZBUF;
		rc = inflate(sd->z, Z_SYNC_FLUSH);
		got = SESS_ZBUF - sd->z->avail_out;
		if (got > 0)
			imap_parser_feed(sd->parser, out, got);
		if (rc == Z_STREAM_END) {
			/* A server may end its stream cleanly at LOGOUT; only
			 * bytes after the end are a problem. */
			if (sd->z->avail_in > 0)
				dir_lost(st, d, "data after the end of the DEFLATE stream");
			else
				sd->lost = 1;
			return;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			dir_lost(st, d, "the DEFLATE stream is corrupt");
			return;
		}
		if (rc == Z_BUF_ERROR && got == 0)
			break;
	}
}

/* Appends data to h, which may hold max bytes.  Returns 0, or -1 (h
 * unchanged) when that would pass max or memory ran out. */
int sess_held_append(struct sess_held *h, const uint8_t *data, size_t len,
		      size_t max)
{
	if (BUDGET_EXCEEDED(h->len, len, max) ||
	    mem_grow(&h->p, &h->cap, h->len + len, 1, 1024, max) != 0)
		return -1;
	memcpy(h->p + h->len, data, len);
	h->len += len;
	return 0;
}

/* Takes the held bytes out of h (the caller frees them). */
struct sess_held sess_held_take(struct sess_held *h)
{
	struct sess_held t = *h;

	h->p = NULL;
	h->len = 0;
	h->cap = 0;
	return t;
}

static void zip_hold(struct sess_stream *st, enum imt_dir d, const uint8_t *data,
		     size_t len)
{
	if (sess_held_append(&st->dir[d].hold, data, len, SESS_HOLD_MAX) != 0)
		dir_lost(st, d, "too much client data while COMPRESS was pending");
}

/*
 * Plaintext of direction d (the wire bytes in cleartext; tomorrow also
 * what a TLS decryptor gives) through the DEFLATE layer to the parser.
 * Returns the bytes taken: all of them, except when the parser paused
 * for a switch, whose layers then take the rest.
 */
size_t sess_plain_feed(struct sess_stream *st, enum imt_dir d,
		       const uint8_t *data, size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];

	switch (sd->zip) {
	case SESS_ZIP_NONE:
		return imap_parser_feed(sd->parser, data, len);
	case SESS_ZIP_HOLD:
		zip_hold(st, d, data, len);
		return len;
	case SESS_ZIP_INFLATE:
		zip_inflate(st, d, data, len);
		return len;
	}
	return len;
}

/* Plaintext of direction d, all of it, through the inner layers: when
 * the parser pauses for a switch, the switched layer takes the rest. */
void sess_plain_all(struct sess_stream *st, enum imt_dir d,
		    const uint8_t *data, size_t len)
{
	while (len > 0 && !st->dir[d].lost) {
		size_t n = sess_plain_feed(st, d, data, len);

		if (n == 0 && st->dir[d].zip == SESS_ZIP_NONE)
			break;   /* paused with no switch: nothing takes it */
		data += n;
		len -= n;
	}
}
