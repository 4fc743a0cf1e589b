/*
 * sess_stream.c - the stream layers and their switches (see
 * sess_stream.h for the layers and where a TLS decryptor goes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sess_event.h"
#include "sess_stream.h"
#include "wire.h"

void sess_stream_init(struct sess_stream *st, struct session *owner,
		      struct imap_parser *c2s, struct imap_parser *s2c,
		      uint8_t *zbuf)
{
	memset(st, 0, sizeof(*st));
	st->owner = owner;
	st->zbuf = zbuf;
	st->dir[IMT_C2S].parser = c2s;
	st->dir[IMT_S2C].parser = s2c;
}

void sess_stream_free(struct sess_stream *st)
{
	for (enum imt_dir d = IMT_C2S; d <= IMT_S2C; d++) {
		struct sess_stream_dir *sd = &st->dir[d];

		imap_parser_free(sd->parser);
		sd->parser = NULL;
		if (sd->z_init)
			inflateEnd(&sd->z);
		sd->z_init = 0;
		free(sd->hold);
		sd->hold = NULL;
	}
}

struct imap_parser *sess_stream_parser(const struct sess_stream *st, enum imt_dir d)
{
	return st->dir[d].parser;
}

int sess_stream_tls(const struct sess_stream *st)
{
	return st->tls;
}

int sess_stream_compressed(const struct sess_stream *st)
{
	return st->compress;
}

void sess_stream_implicit_tls(struct sess_stream *st)
{
	st->tls = 1;
	st->dir[IMT_C2S].tls = st->dir[IMT_S2C].tls = SESS_TLS_OPAQUE;
	sess_ev_emit(st->owner, sess_ev_new(st->owner, EV_TLS, IMT_DIR_NONE, 0));
}

void sess_stream_ignore(struct sess_stream *st)
{
	st->dir[IMT_C2S].lost = st->dir[IMT_S2C].lost = 1;
}

/* ---- the TLS layer ----------------------------------------------------- */

static int looks_like_tls(const uint8_t *data, size_t len)
{
	/* A TLS record (RFC 8446 §5.1): handshake, alert, change cipher spec
	 * or application data, version 3.x.  No IMAP line starts with
	 * 0x14-0x17, so when only one byte has arrived yet, that byte
	 * decides. */
	return len >= 1 && data[0] >= 0x14 && data[0] <= 0x17 &&
	       (len < 2 || data[1] == 0x03);
}

/* TLS records of direction d: counted.  After a STARTTLS, the first
 * bytes must be a TLS record; text there is the STARTTLS command
 * injection pattern (RFC 3501 §11.1, CVE-2011-0411 and kin). */
static void tls_bytes(struct sess_stream *st, enum imt_dir d, const uint8_t *data,
		      size_t len, uint64_t offset)
{
	struct sess_stream_dir *sd = &st->dir[d];

	if (!sd->tls_checked && len > 0) {
		sd->tls_checked = 1;
		if (st->starttls_sent && !looks_like_tls(data, len)) {
			char detail[160];
			size_t n = len < 40 ? len : 40;
			char shown[44];

			for (size_t i = 0; i < n; i++)
				shown[i] = (data[i] >= 0x20 && data[i] < 0x7f) ? (char)data[i] : '.';
			shown[n] = '\0';
			snprintf(detail, sizeof(detail),
				 "%zu plaintext bytes where the TLS handshake should start: \"%s\"",
				 len, shown);
			sess_finding(st->owner, F_STARTTLS_INJECTION, d, offset, detail,
				     st->starttls_tag);
		}
	}
	sd->opaque_bytes += len;
}

/* ---- the DEFLATE layer ------------------------------------------------- */

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

static int inflate_start(struct sess_stream_dir *sd)
{
	memset(&sd->z, 0, sizeof(sd->z));
	if (inflateInit2(&sd->z, -15) != Z_OK)
		return -1;
	sd->z_init = 1;
	sd->zip = SESS_ZIP_INFLATE;
	return 0;
}

static void zip_inflate(struct sess_stream *st, enum imt_dir d,
			const uint8_t *data, size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];
	uint8_t *out = st->zbuf;

	sd->z.next_in = (Bytef *)(uintptr_t)data;
	sd->z.avail_in = (uInt)len;
	while (sd->z.avail_in > 0 && !sd->lost) {
		int rc;
		size_t got;

		sd->z.next_out = out;
		sd->z.avail_out = SESS_ZBUF;
		rc = inflate(&sd->z, Z_SYNC_FLUSH);
		got = SESS_ZBUF - sd->z.avail_out;
		if (got > 0)
			imap_parser_feed(sd->parser, out, got);
		if (rc == Z_STREAM_END) {
			/* A server may end its stream cleanly at LOGOUT; only
			 * bytes after the end are a problem. */
			if (sd->z.avail_in > 0)
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

static void zip_hold(struct sess_stream *st, enum imt_dir d, const uint8_t *data,
		     size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];
	uint8_t *h;

	if (BUDGET_EXCEEDED(sd->hold_len, len, SESS_HOLD_MAX)) {
		dir_lost(st, d, "too much client data while COMPRESS was pending");
		return;
	}
	h = realloc(sd->hold, sd->hold_len + len);
	if (h == NULL) {
		dir_lost(st, d, "out of memory");
		return;
	}
	memcpy(h + sd->hold_len, data, len);
	sd->hold = h;
	sd->hold_len += len;
}

/*
 * Plaintext of direction d (the wire bytes in cleartext; tomorrow also
 * what a TLS decryptor gives) through the DEFLATE layer to the parser.
 * Returns the bytes taken: all of them, except when the parser paused
 * for a switch, whose layers then take the rest.
 */
static size_t stream_plain(struct sess_stream *st, enum imt_dir d,
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

/* ---- wire bytes -------------------------------------------------------- */

void sess_stream_feed(struct sess_stream *st, enum imt_dir d,
		      const uint8_t *data, size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];

	while (len > 0) {
		uint64_t off = imap_parser_offset(sd->parser);
		size_t n;

		if (sd->lost) {
			sd->opaque_bytes += len;
			return;
		}
		switch (sd->tls) {
		case SESS_TLS_NONE:
			n = stream_plain(st, d, data, len);
			data += n;
			len -= n;
			break;
		case SESS_TLS_WAIT:
			/* The client spoke before the server answered STARTTLS:
			 * a TLS record means it started early; text is the
			 * injection pattern, parsed so it can be seen. */
			if (looks_like_tls(data, len)) {
				sd->tls = SESS_TLS_OPAQUE;
				break;
			}
			sess_finding(st->owner, F_STARTTLS_INJECTION, d, off,
				     "client plaintext after STARTTLS, before the server's answer",
				     st->starttls_tag);
			sd->tls = SESS_TLS_NONE;
			break;
		case SESS_TLS_OPAQUE:
			tls_bytes(st, d, data, len, off);
			return;
		}
	}
}

const char *sess_stream_gap(struct sess_stream *st, enum imt_dir d, uint64_t bytes)
{
	struct sess_stream_dir *sd = &st->dir[d];

	if (sd->lost)
		return "none";
	if (sd->tls == SESS_TLS_OPAQUE) {
		sd->opaque_bytes += bytes;
		return "opaque";
	}
	if (sd->zip != SESS_ZIP_NONE) {
		/* DEFLATE cannot resume over a hole (RFC 1951: back
		 * references reach 32 KiB back). */
		sd->lost = 1;
		return "lost";
	}
	return imap_parser_gap(sd->parser, bytes) == IMAP_GAP_IN_LITERAL ?
	       "in-literal" : "next-line";
}

void sess_stream_finish(struct sess_stream *st)
{
	for (enum imt_dir d = IMT_C2S; d <= IMT_S2C; d++) {
		const struct sess_stream_dir *sd = &st->dir[d];

		if (!sd->lost && sd->tls != SESS_TLS_OPAQUE && sd->zip == SESS_ZIP_NONE)
			imap_parser_finish(sd->parser);
	}
}

/* ---- switches ---------------------------------------------------------- */

void sess_stream_sent(struct sess_stream *st, enum sess_switch sw, const char *tag)
{
	struct sess_stream_dir *c = &st->dir[IMT_C2S];

	if (sw == SESS_SWITCH_STARTTLS) {
		if (st->tls)
			return;
		st->starttls_sent = 1;
		st->starttls_wait = 1;
		snprintf(st->starttls_tag, sizeof(st->starttls_tag), "%s", tag);
		c->tls = SESS_TLS_WAIT;
	} else {
		if (st->compress)
			return;
		c->zip = SESS_ZIP_HOLD;
	}
	imap_parser_pause(c->parser);
}

/* The server's result to STARTTLS or COMPRESS arrived: the client's
 * direction leaves its waiting layer. */
static void client_result(struct sess_stream *st, int ok)
{
	struct sess_stream_dir *c = &st->dir[IMT_C2S];

	if (st->starttls_wait) {
		/* Even if injected plaintext made the client side parse on,
		 * what follows the server's OK is TLS. */
		st->starttls_wait = 0;
		if (ok)
			c->tls = SESS_TLS_OPAQUE;
		else if (c->tls == SESS_TLS_WAIT)
			c->tls = SESS_TLS_NONE;
		return;
	}
	if (c->zip == SESS_ZIP_HOLD && c->tls == SESS_TLS_NONE && !c->lost) {
		uint8_t *held = c->hold;
		size_t n = c->hold_len;

		c->hold = NULL;
		c->hold_len = 0;
		if (!ok)
			c->zip = SESS_ZIP_NONE;
		else if (inflate_start(c) != 0)
			c->lost = 1;
		if (n > 0)
			sess_stream_feed(st, IMT_C2S, held, n);
		free(held);
	}
}

void sess_stream_result(struct sess_stream *st, enum sess_switch sw,
			enum sess_status status, const char *tag)
{
	struct sess_stream_dir *s2c = &st->dir[IMT_S2C];
	struct imt_event *ev;

	if (status != SESS_OK) {
		client_result(st, 0);
		return;
	}
	if (sw == SESS_SWITCH_STARTTLS) {
		ev = sess_ev_new(st->owner, EV_TLS, IMT_DIR_NONE, 0);
		event_cstring(ev, "after_tag", tag);
		sess_ev_emit(st->owner, ev);
		st->tls = 1;
		s2c->tls = SESS_TLS_OPAQUE;
	} else {
		ev = sess_ev_new(st->owner, EV_COMPRESS, IMT_DIR_NONE, 0);
		event_cstring(ev, "after_tag", tag);
		event_cstring(ev, "mechanism", "DEFLATE");
		sess_ev_emit(st->owner, ev);
		st->compress = 1;
		if (inflate_start(s2c) != 0)
			s2c->lost = 1;
	}
	imap_parser_pause(s2c->parser);
	client_result(st, 1);
}
