/*
 * sess_stream.c - the stream layers and their switches (see
 * sess_stream.h for the layers and where a TLS decryptor goes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sess_event.h"
#include "sess_stream.h"
#include "wire.h"

void sess_stream_init(struct sess_stream *st, struct session *owner,
		      struct tcp_meta *clock, struct imap_parser *c2s,
		      struct imap_parser *s2c, uint8_t *zbuf)
{
	memset(st, 0, sizeof(*st));
	st->owner = owner;
	st->clock = clock;
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
		free(sd->hold.p);
		sd->hold.p = NULL;
		free(sd->probe.p);
		sd->probe.p = NULL;
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

/* TLS records of direction d: counted.  (A decryptor takes them here.) */
static void tls_bytes(struct sess_stream *st, enum imt_dir d, size_t len)
{
	st->dir[d].opaque_bytes += len;
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

/* Appends data to h, which may hold max bytes.  Returns 0, or -1 (h
 * unchanged) when that would pass max or memory ran out. */
static int held_append(struct sess_held *h, const uint8_t *data, size_t len,
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
static struct sess_held held_take(struct sess_held *h)
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
	if (held_append(&st->dir[d].hold, data, len, SESS_HOLD_MAX) != 0)
		dir_lost(st, d, "too much client data while COMPRESS was pending");
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

/* ---- the probe after STARTTLS ----------------------------------------- */

/* "N plaintext bytes where the TLS handshake should start: "..."" with
 * the first of them, unprintable ones as '.'. */
static void plaintext_detail(char *buf, size_t size, const uint8_t *p, size_t n)
{
	char shown[44];
	size_t k = n < 40 ? n : 40;

	for (size_t i = 0; i < k; i++)
		shown[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
	shown[k] = '\0';
	snprintf(buf, size, "%zu plaintext bytes where the TLS handshake should start: \"%s\"",
		 n, shown);
}

/* Where a TLS record (RFC 8446 §5.1: handshake, alert, change cipher
 * spec or application data, then version 3.x) starts among d's held
 * bytes, at the start of a line: no IMAP line starts with 0x14-0x17.
 * Returns its position, or the number of bytes held when there is none;
 * *wait_r is set when one may start at the last byte held, whose version
 * byte has not come yet (the position returned is then that byte's).
 * Lines looked at once are not looked at again. */
static size_t probe_tls_at(struct sess_stream_dir *sd, int *wait_r)
{
	const uint8_t *p = sd->probe.p;
	size_t n = sd->probe.len;

	*wait_r = 0;
	for (size_t i = sd->probe_scan; i < n; i++) {
		if (i > 0 && p[i - 1] != '\n')
			continue;
		if (p[i] < 0x14 || p[i] > 0x17)
			continue;
		if (i + 1 == n) {
			*wait_r = 1;
			sd->probe_scan = i;
			return i;
		}
		if (p[i + 1] == 0x03)
			return i;
	}
	sd->probe_scan = n;
	return n;
}

/* Whether d's held bytes read as IMAP from that side (a command from the
 * client; a status, untagged or continuation line from the server):
 * 1 yes, 0 no, -1 not known until the first line is complete (unless
 * final, when what is held decides). */
static int probe_is_imap(struct sess_stream_dir *sd, enum imt_dir d, int final)
{
	/* The bytes before probe_nolf have no LF: looked at once. */
	const uint8_t *lf = memchr(sd->probe.p + sd->probe_nolf, '\n',
				   sd->probe.len - sd->probe_nolf);
	size_t n = lf != NULL ? (size_t)(lf - sd->probe.p) + 1 : sd->probe.len;

	if (lf == NULL) {
		sd->probe_nolf = sd->probe.len;
		if (!final)
			return -1;
	}
	return imap_classify(sd->probe.p, n) == (d == IMT_C2S ? 0 : 1);
}

/* A finding about d's held bytes, with the time and offset of the first. */
static void probe_finding(struct sess_stream *st, enum imt_dir d,
			  enum imt_finding id, const char *detail)
{
	struct sess_stream_dir *sd = &st->dir[d];
	struct tcp_meta saved = *st->clock;

	if (sd->nmarks > 0)
		*st->clock = sd->marks[0].m;
	sess_finding(st->owner, id, d, imap_parser_offset(sd->parser), detail,
		     st->starttls_tag);
	*st->clock = saved;
}

/*
 * d is decided: its first `text` held bytes are plaintext, parsed now,
 * and the layer `then` takes the rest.  Each held packet's bytes are
 * read with that packet's time, so the events they give carry it.
 */
static void probe_end(struct sess_stream *st, enum imt_dir d, size_t text,
		      enum sess_tls_layer then)
{
	struct sess_stream_dir *sd = &st->dir[d];
	struct sess_held held = held_take(&sd->probe);
	struct sess_probe_mark marks[SESS_PROBE_MARKS];
	unsigned nm = sd->nmarks;
	struct tcp_meta saved = *st->clock;

	memcpy(marks, sd->marks, nm * sizeof(marks[0]));
	sd->nmarks = 0;
	sd->probe_order = 0;
	sd->probe_scan = 0;
	sd->probe_nolf = 0;
	sd->probe_before_ok = 0;
	sd->tls = text > 0 ? SESS_TLS_NONE : then;
	for (unsigned i = 0; i < nm; i++) {
		size_t from = marks[i].at;
		size_t to = i + 1 < nm ? marks[i + 1].at : held.len;

		*st->clock = marks[i].m;
		if (from < text) {
			size_t cut = to < text ? to : text;

			sess_stream_feed(st, d, held.p + from, cut - from);
			from = cut;
			if (from == text && text < held.len)
				sd->tls = then;
		}
		if (to > from)
			sess_stream_feed(st, d, held.p + from, to - from);
	}
	*st->clock = saved;
	free(held.p);
}

/* A TLS record at `at` follows d's held bytes: TLS from there on.  Text
 * before it is the STARTTLS injection pattern (RFC 3501 §11.1;
 * CVE-2011-0411 and kin): reported, and parsed so it can be seen. */
static void probe_tls(struct sess_stream *st, enum imt_dir d, size_t at)
{
	struct sess_stream_dir *sd = &st->dir[d];
	char detail[160];

	if (at > 0 && sd->probe_before_ok) {
		probe_finding(st, d, F_STARTTLS_INJECTION,
			      "client plaintext after STARTTLS, before the server's answer");
	} else if (at > 0) {
		plaintext_detail(detail, sizeof(detail), sd->probe.p, at);
		probe_finding(st, d, F_STARTTLS_INJECTION, detail);
	}
	probe_end(st, d, at, SESS_TLS_OPAQUE);
}

/* d's held bytes are neither IMAP nor a TLS record: taken as TLS that
 * does not start as TLS should, said once, and counted. */
static void probe_garbage(struct sess_stream *st, enum imt_dir d)
{
	struct sess_stream_dir *sd = &st->dir[d];
	char detail[160];

	plaintext_detail(detail, sizeof(detail), sd->probe.p, sd->probe.len);
	probe_finding(st, d, F_STARTTLS_INJECTION, detail);
	probe_end(st, d, 0, SESS_TLS_OPAQUE);
}

/* The direction whose held bytes came first (of those holding any). */
static enum imt_dir probe_first(const struct sess_stream *st)
{
	uint64_t c = st->dir[IMT_C2S].probe_order, s = st->dir[IMT_S2C].probe_order;

	return s != 0 && (c == 0 || s < c) ? IMT_S2C : IMT_C2S;
}

/* Both sides speak IMAP after the server accepted STARTTLS: the session
 * went on in plaintext (a TLS-inspecting appliance's capture, or a
 * downgrade).  Said once; both directions are cleartext from here on,
 * the held bytes of the side that spoke first parsed first. */
static void probe_plaintext(struct sess_stream *st)
{
	enum imt_dir first = probe_first(st);
	enum imt_dir second = first == IMT_C2S ? IMT_S2C : IMT_C2S;
	const char *detail = first == IMT_S2C ? "the server spoke first, in plaintext" :
			     st->dir[IMT_C2S].probe_before_ok ?
			     "the client sent plaintext right behind STARTTLS, before the server's answer" :
			     "the client spoke first, in plaintext";

	st->tls = 0;
	if (!st->plaintext_after_starttls)
		probe_finding(st, first, F_PLAINTEXT_AFTER_STARTTLS, detail);
	st->plaintext_after_starttls = 1;
	probe_end(st, first, st->dir[first].probe.len, SESS_TLS_NONE);
	if (st->dir[second].tls == SESS_TLS_PROBE)
		probe_end(st, second, st->dir[second].probe.len, SESS_TLS_NONE);
}

/* Looks at d's held bytes after more came: decides d, or the session,
 * when they show enough. */
static void probe_look(struct sess_stream *st, enum imt_dir d)
{
	enum imt_dir o = d == IMT_C2S ? IMT_S2C : IMT_C2S;
	struct sess_stream_dir *sd = &st->dir[d], *od = &st->dir[o];
	int wait;
	size_t at = probe_tls_at(sd, &wait);
	int imap;

	if (wait)
		return;
	if (at < sd->probe.len) {
		probe_tls(st, d, at);
		return;
	}
	imap = probe_is_imap(sd, d, 0);
	if (imap == 0)
		probe_garbage(st, d);
	else if (imap == 1 && st->starttls_ok && od->tls == SESS_TLS_PROBE &&
		 od->probe.len > 0 && probe_is_imap(od, o, 0) == 1)
		probe_plaintext(st);
}

/* d is decided with what it holds: at the end of the session, at a gap,
 * or when SESS_PROBE_MAX bytes did not show enough. */
static void probe_settle(struct sess_stream *st, enum imt_dir d)
{
	struct sess_stream_dir *sd = &st->dir[d];
	const struct sess_stream_dir *od = &st->dir[d == IMT_C2S ? IMT_S2C : IMT_C2S];
	int wait;
	size_t at = probe_tls_at(sd, &wait);

	if (sd->probe.len == 0)
		probe_end(st, d, 0, st->starttls_ok ? SESS_TLS_OPAQUE : SESS_TLS_NONE);
	else if (at < sd->probe.len)
		probe_tls(st, d, at);
	else if (probe_is_imap(sd, d, 1) != 1)
		probe_garbage(st, d);
	else if (d == IMT_C2S && !st->starttls_ok)
		probe_end(st, d, sd->probe.len, SESS_TLS_NONE);  /* no answer yet */
	else if (od->tls != SESS_TLS_OPAQUE)
		probe_plaintext(st);
	else
		probe_garbage(st, d);
}

static void probe_bytes(struct sess_stream *st, enum imt_dir d,
			const uint8_t *data, size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];
	size_t take;

	if (sd->probe.len == 0) {
		sd->probe_order = ++st->probes;
		sd->probe_before_ok = d == IMT_C2S && st->starttls_wait;
		sd->probe_scan = 0;
		sd->probe_nolf = 0;
		sd->nmarks = 0;
	}
	/* Up to the look-ahead's bound; past it, or out of memory, d is
	 * decided with what is held and the decided layers take the rest. */
	take = len < SESS_PROBE_MAX - sd->probe.len ? len : SESS_PROBE_MAX - sd->probe.len;
	if (take > 0 && held_append(&sd->probe, data, take, SESS_PROBE_MAX) != 0)
		take = 0;
	if (take > 0 && (sd->nmarks == 0 ||
			 (sd->nmarks < SESS_PROBE_MARKS &&
			  sd->marks[sd->nmarks - 1].m.frame != st->clock->frame))) {
		sd->marks[sd->nmarks].at = sd->probe.len - take;
		sd->marks[sd->nmarks].m = *st->clock;
		sd->nmarks++;
	}
	if (take < len) {
		probe_settle(st, d);
		sess_stream_feed(st, d, data + take, len - take);
		return;
	}
	probe_look(st, d);
}

/* ---- wire bytes -------------------------------------------------------- */

void sess_stream_feed(struct sess_stream *st, enum imt_dir d,
		      const uint8_t *data, size_t len)
{
	struct sess_stream_dir *sd = &st->dir[d];

	while (len > 0) {
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
		case SESS_TLS_PROBE:
			probe_bytes(st, d, data, len);
			return;
		case SESS_TLS_OPAQUE:
			tls_bytes(st, d, len);
			return;
		}
	}
}

const char *sess_stream_gap(struct sess_stream *st, enum imt_dir d, uint64_t bytes)
{
	struct sess_stream_dir *sd = &st->dir[d];

	if (sd->tls == SESS_TLS_PROBE)
		probe_settle(st, d);
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
	/* The direction that held bytes first is decided first. */
	enum imt_dir first = probe_first(st);
	enum imt_dir second = first == IMT_C2S ? IMT_S2C : IMT_C2S;

	if (st->dir[first].tls == SESS_TLS_PROBE)
		probe_settle(st, first);
	if (st->dir[second].tls == SESS_TLS_PROBE)
		probe_settle(st, second);
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
		st->starttls_wait = 1;
		st->starttls_ok = 0;
		snprintf(st->starttls_tag, sizeof(st->starttls_tag), "%s", tag);
		c->tls = SESS_TLS_PROBE;
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
		/* Accepted: what the client holds and sends next shows
		 * whether TLS follows.  Refused: it is plaintext. */
		st->starttls_wait = 0;
		if (!ok && c->tls == SESS_TLS_PROBE)
			probe_end(st, IMT_C2S, c->probe.len, SESS_TLS_NONE);
		else if (ok && c->tls != SESS_TLS_OPAQUE && c->tls != SESS_TLS_PROBE)
			c->tls = SESS_TLS_PROBE;   /* its plaintext was read already */
		return;
	}
	if (c->zip == SESS_ZIP_HOLD && c->tls == SESS_TLS_NONE && !c->lost) {
		struct sess_held held = held_take(&c->hold);

		if (!ok)
			c->zip = SESS_ZIP_NONE;
		else if (inflate_start(c) != 0)
			c->lost = 1;
		if (held.len > 0)
			sess_stream_feed(st, IMT_C2S, held.p, held.len);
		free(held.p);
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
		st->starttls_ok = 1;
		s2c->tls = SESS_TLS_PROBE;
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
