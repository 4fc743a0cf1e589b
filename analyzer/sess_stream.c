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
#include "sess_plain.h"
#include "sess_stream.h"
#include "wire.h"

#define SESS_TLS_SNI_MAX   255     /* host_name (RFC 6066 §3: a DNS name) */
#define SESS_TLS_ALPN_MAX  8       /* offered ALPN names kept */
#define SESS_TLS_ALPN_LEN  32      /* bytes kept of each */

struct sess_tls {
	struct tls_conn *conn;           /* owned */
	int quiet;                       /* TLS began before any key was known:
					    the records are only followed, to
					    tell later keys from none */
	int ev_pending;                  /* the tls event is still to come */
	int has_tag;
	char after_tag[SESS_TAG_MAX + 1];
	int client_hello;                /* a ClientHello was read */
	uint8_t random[TLS_RANDOM_LEN];  /* its client random */
	char sni[SESS_TLS_SNI_MAX + 1];
	size_t sni_len;                  /* as sent (may pass what is kept) */
	char alpn[SESS_TLS_ALPN_MAX][SESS_TLS_ALPN_LEN];
	size_t alpn_len[SESS_TLS_ALPN_MAX];
	size_t nalpn;
	/* Implicit TLS on another port, before the flow is known to be
	 * IMAP (sess_stream_tls_sniff): what is held for the session. */
	uint64_t sniff_bytes;            /* TLS bytes read so far */
	int ev_meta_set;                 /* the tls event's packet is known */
	struct tcp_meta ev_meta;
	struct sess_sniffed {
		struct imt_finding_report f;
		struct tcp_meta m;
		char detail[128];
	} found[SESS_SNIFF_FINDINGS];
	unsigned nfound;
	uint64_t found_dropped;
	sess_sniff_fn sniff_fn;          /* decides on the first plaintext */
};

void sess_stream_init(struct sess_stream *st, struct session *owner,
		      struct tcp_meta *clock, struct imap_parser *c2s,
		      struct imap_parser *s2c, const struct sess_stream_env *env)
{
	memset(st, 0, sizeof(*st));
	st->owner = owner;
	st->clock = clock;
	st->env = env;
	st->dir[IMT_C2S].parser = c2s;
	st->dir[IMT_S2C].parser = s2c;
}

void sess_stream_free(struct sess_stream *st)
{
	for (enum imt_dir d = IMT_C2S; d <= IMT_S2C; d++) {
		struct sess_stream_dir *sd = &st->dir[d];

		imap_parser_fini(sd->parser);   /* its memory is the session's */
		sd->parser = NULL;
		if (sd->z_init)
			inflateEnd(sd->z);
		sd->z_init = 0;
		free(sd->z);
		sd->z = NULL;
		free(sd->hold.p);
		sd->hold.p = NULL;
		if (sd->pr != NULL) {
			free(sd->pr->marks);
			free(sd->pr->probe.p);
			free(sd->pr);
			sd->pr = NULL;
		}
	}
	free(st->starttls_tag);
	st->starttls_tag = NULL;
	if (st->tl != NULL)
		tls_conn_free(st->tl->conn);
	free(st->tl);
	st->tl = NULL;
}

int sess_stream_keyless(const struct sess_stream *st,
			uint8_t random_r[TLS_RANDOM_LEN])
{
	struct tls_status ts;

	if (st->tl == NULL || !st->tl->client_hello)
		return 0;
	tls_conn_status(st->tl->conn, &ts);
	if (!st->tl->quiet && ts.reason != TLS_R_NO_KEY)
		return 0;
	memcpy(random_r, st->tl->random, TLS_RANDOM_LEN);
	return 1;
}

int sess_stream_decrypted(const struct sess_stream *st)
{
	struct tls_status ts;

	if (st->tl == NULL || st->tl->quiet)
		return -1;
	tls_conn_status(st->tl->conn, &ts);
	return ts.decrypted || st->dir[IMT_C2S].decrypted || st->dir[IMT_S2C].decrypted;
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

static int tls_layer_start(struct sess_stream *st, const char *after_tag);

void sess_stream_implicit_tls(struct sess_stream *st)
{
	st->tls = 1;
	st->dir[IMT_C2S].tls = st->dir[IMT_S2C].tls = SESS_TLS_OPAQUE;
	if (tls_layer_start(st, NULL) != 0)
		sess_ev_emit(st->owner, sess_ev_new(st->owner, EV_TLS, IMT_DIR_NONE, 0));
}

int sess_stream_tls_sniff(struct sess_stream *st, const uint8_t *data, size_t len,
			  sess_sniff_fn recognize)
{
	/* A handshake record of any TLS version (RFC 8446 §5.1: the
	 * ClientHello's record may say 0x0301). */
	if (len < 2 || data[0] != TLS_CT_HANDSHAKE || data[1] != 3 ||
	    st->env->keys == NULL || tls_keys_count(st->env->keys) == 0 ||
	    st->tl != NULL)
		return -1;
	st->sniff = SESS_SNIFF_ACTIVE;
	if (tls_layer_start(st, NULL) != 0) {
		sess_stream_sniff_fail(st);
		return -1;
	}
	st->tl->sniff_fn = recognize;
	st->dir[IMT_C2S].tls = st->dir[IMT_S2C].tls = SESS_TLS_OPAQUE;
	return 0;
}

void sess_stream_ignore(struct sess_stream *st)
{
	st->dir[IMT_C2S].lost = st->dir[IMT_S2C].lost = 1;
}

/* ---- the TLS layer ----------------------------------------------------- */

/*
 * With keys, the TLS layer is a tls_conn fed both directions' records in
 * the order they came.  The tls event waits for the handshake: it is
 * written once the stage knows whether the records are decrypted (the
 * first decrypted record, or the reason they are not), or when the
 * layer ends, with what the hellos said.
 */
static void tls_event_flush(struct sess_stream *st, int final);

static void sniff_fed(struct sess_stream *st, size_t len);
static int sniff_recognize(struct sess_stream *st, enum imt_dir d,
			   const uint8_t *data, size_t len);
static void sniff_hold(struct sess_tls *tl, const struct imt_finding_report *f,
		       const struct tcp_meta *m);

/* TLS records of direction d: counted, and decrypted when there are keys. */
static void tls_bytes(struct sess_stream *st, enum imt_dir d,
		      const uint8_t *data, size_t len)
{
	st->dir[d].opaque_bytes += len;
	if (st->tl == NULL || st->tl->conn == NULL)
		return;
	(void)tls_feed(st->tl->conn, d == IMT_C2S ? TLS_C2S : TLS_S2C, data,
		       len, st->clock);
	if (st->sniff == SESS_SNIFF_ACTIVE || st->sniff == SESS_SNIFF_FAILED)
		sniff_fed(st, len);
	else
		tls_event_flush(st, 0);
}

/* ---- decrypted records ------------------------------------------------- */

static enum imt_dir tls_imt_dir(enum tls_dir dir)
{
	return dir == TLS_C2S ? IMT_C2S : IMT_S2C;
}

static void tls_on_plaintext(void *user, enum tls_dir dir, const uint8_t *data,
			     size_t len, const struct tls_record_info *ri,
			     const struct tcp_meta *m)
{
	struct sess_stream *st = user;
	enum imt_dir d = tls_imt_dir(dir);

	(void)ri;
	(void)m;
	if (st->tl->quiet || st->sniff == SESS_SNIFF_FAILED)
		return;
	if (st->sniff == SESS_SNIFF_ACTIVE && !sniff_recognize(st, d, data, len))
		return;
	tls_event_flush(st, 0);
	st->dir[d].decrypted = 1;
	st->layer = "tls";
	sess_plain_all(st, d, data, len);
	st->layer = NULL;
}

/* Application data lost inside TLS: a hole in d's plaintext, said with
 * a gap event, and the parser resynchronises as over a TCP gap. */
static void tls_on_plaintext_gap(void *user, enum tls_dir dir,
				 uint64_t plain_offset, uint64_t bytes,
				 const struct tcp_meta *m)
{
	struct sess_stream *st = user;
	enum imt_dir d = tls_imt_dir(dir);
	struct sess_stream_dir *sd = &st->dir[d];
	struct imt_event *ev;
	const char *resync;

	(void)m;
	if (st->tl->quiet || st->sniff == SESS_SNIFF_FAILED)
		return;
	if (st->sniff == SESS_SNIFF_ACTIVE) {
		st->sniff = SESS_SNIFF_FAILED;   /* no first plaintext to judge */
		return;
	}
	tls_event_flush(st, 0);
	if (sd->lost)
		return;
	st->layer = "tls";
	if (sd->zip != SESS_ZIP_NONE) {
		sd->lost = 1;
		resync = "lost";
	} else {
		resync = imap_parser_gap(sd->parser, bytes) == IMAP_GAP_IN_LITERAL ?
			 "in-literal" : "next-line";
	}
	ev = sess_ev_new(st->owner, EV_GAP, d, plain_offset);
	event_u64(ev, "bytes", bytes);
	event_cstring(ev, "resync", resync);
	event_cstring(ev, "detail", "TLS application data that could not be decrypted");
	sess_ev_emit(st->owner, ev);
	st->layer = NULL;
}

/* The ClientHello's SNI and offered ALPN names are kept for the tls
 * event (the ServerHello's facts are in the stage's status). */
static void tls_on_hello(void *user, enum tls_dir dir,
			 const struct tls_hello_info *hi, const struct tcp_meta *m)
{
	struct sess_stream *st = user;
	struct sess_tls *tl = st->tl;

	(void)dir;
	(void)m;
	if (hi->kind != TLS_HELLO_CLIENT || tl->client_hello)
		return;
	tl->client_hello = 1;
	memcpy(tl->random, hi->random, TLS_RANDOM_LEN);
	if (hi->sni != NULL) {
		size_t n = hi->sni_len < SESS_TLS_SNI_MAX ? hi->sni_len : SESS_TLS_SNI_MAX;

		memcpy(tl->sni, hi->sni, n);
		tl->sni_len = hi->sni_len;
	}
	for (size_t i = 0; i < hi->nalpn && tl->nalpn < SESS_TLS_ALPN_MAX; i++) {
		size_t n = hi->alpn_len[i] < SESS_TLS_ALPN_LEN ? hi->alpn_len[i] :
			   SESS_TLS_ALPN_LEN;

		memcpy(tl->alpn[tl->nalpn], hi->alpn[i], n);
		tl->alpn_len[tl->nalpn++] = n;
	}
}

/* The TLS stage's findings are the session's; their offsets count the
 * direction's TLS bytes. */
static void tls_on_finding(void *user, const struct imt_finding_report *f,
			   const struct tcp_meta *m)
{
	struct sess_stream *st = user;
	const char *layer = st->layer;

	if (st->tl->quiet || st->sniff == SESS_SNIFF_FAILED)
		return;
	if (st->sniff == SESS_SNIFF_ACTIVE) {
		sniff_hold(st->tl, f, m);
		return;
	}
	st->layer = "tls-record";
	sess_finding_report(st->owner, f);
	st->layer = layer;
}

/* ---- implicit TLS on another port ------------------------------------- */

/* A finding of the TLS stage before the flow is known to be IMAP: kept,
 * with its packet, to be written if it is. */
static void sniff_hold(struct sess_tls *tl, const struct imt_finding_report *f,
		       const struct tcp_meta *m)
{
	struct sess_sniffed *h;

	if (tl->nfound == SESS_SNIFF_FINDINGS) {
		tl->found_dropped++;
		return;
	}
	h = &tl->found[tl->nfound++];
	h->f = *f;
	h->m = *m;
	h->detail[0] = '\0';
	if (f->detail != NULL)
		snprintf(h->detail, sizeof(h->detail), "%s", f->detail);
	h->f.detail = f->detail != NULL ? h->detail : NULL;
}

/* The first plaintext of a sniffed flow: the owner says whether it is
 * IMAP.  If so, what was held is written, each with its own packet, and
 * the function returns 1: the plaintext goes on as on a TLS port. */
static int sniff_recognize(struct sess_stream *st, enum imt_dir d,
			   const uint8_t *data, size_t len)
{
	struct sess_tls *tl = st->tl;
	struct tcp_meta now = *st->clock;

	if (!tl->sniff_fn(st->owner, d, data, len)) {
		st->sniff = SESS_SNIFF_FAILED;
		return 0;
	}
	st->sniff = SESS_SNIFF_IMAP;
	st->tls = 1;
	st->layer = "tls-record";
	for (unsigned i = 0; i < tl->nfound; i++) {
		*st->clock = tl->found[i].m;
		sess_finding_report(st->owner, &tl->found[i].f);
	}
	*st->clock = now;
	if (tl->found_dropped > 0)
		sess_finding(st->owner, F_LIMIT_REACHED, IMT_DIR_NONE, 0,
			     "TLS findings before the flow showed IMAP not kept", NULL);
	st->layer = NULL;
	if (tl->ev_meta_set)
		*st->clock = tl->ev_meta;
	tls_event_flush(st, 0);
	*st->clock = now;
	return 1;
}

/* After a chunk was fed to a sniffed flow's TLS stage: the tls event's
 * packet is noted once the stage knows whether it decrypts, and the
 * look-ahead ends when it cannot or read too much without plaintext. */
static void sniff_fed(struct sess_stream *st, size_t len)
{
	struct sess_tls *tl = st->tl;
	struct tls_status ts;

	tl->sniff_bytes += len;
	if (st->sniff == SESS_SNIFF_ACTIVE) {
		tls_conn_status(tl->conn, &ts);
		if ((ts.reason != TLS_R_PENDING && ts.reason != TLS_R_DECRYPTED) ||
		    tl->sniff_bytes > SESS_SNIFF_MAX)
			st->sniff = SESS_SNIFF_FAILED;
		else if (ts.reason != TLS_R_PENDING && !tl->ev_meta_set) {
			tl->ev_meta = *st->clock;
			tl->ev_meta_set = 1;
		}
	}
	if (st->sniff == SESS_SNIFF_FAILED)
		sess_stream_sniff_fail(st);
}

void sess_stream_sniff_fail(struct sess_stream *st)
{
	st->sniff = SESS_SNIFF_FAILED;
	st->tls = 0;
	sess_stream_ignore(st);
	if (st->tl != NULL)
		tls_conn_free(st->tl->conn);
	free(st->tl);
	st->tl = NULL;
}

enum sess_sniff sess_stream_sniff_state(const struct sess_stream *st)
{
	return st->sniff;
}

/* With keys: the TLS layer starts (implicit TLS, or STARTTLS accepted
 * after after_tag), its tls event to come.  Returns 0, or -1 when there
 * are no keys or no memory (said): the tls event is the caller's.  With
 * a key store that is still empty (keys may come later in the capture)
 * the records are followed quietly, output unchanged. */
static int tls_layer_start(struct sess_stream *st, const char *after_tag)
{
	static const struct tls_callbacks cb = {
		.on_plaintext = tls_on_plaintext,
		.on_plaintext_gap = tls_on_plaintext_gap,
		.on_hello = tls_on_hello,
		.on_finding = tls_on_finding,
	};
	struct sess_tls *tl;

	int quiet;

	if (st->env->keys == NULL || st->tl != NULL)
		return -1;
	quiet = tls_keys_count(st->env->keys) == 0;
	tl = calloc(1, sizeof(*tl));
	if (tl == NULL || (tl->conn = tls_conn_new(st->env->keys, &cb, st)) == NULL) {
		free(tl);
		if (!quiet && st->sniff != SESS_SNIFF_ACTIVE)
			sess_finding(st->owner, F_LIMIT_REACHED, IMT_DIR_NONE, 0,
				     "out of memory for the TLS stage", NULL);
		return -1;
	}
	st->tl = tl;
	tl->quiet = quiet;
	if (quiet)
		return -1;
	tl->ev_pending = 1;
	if (after_tag != NULL) {
		tl->has_tag = 1;
		snprintf(tl->after_tag, sizeof(tl->after_tag), "%s", after_tag);
	}
	return 0;
}

/* Writes the tls event once the stage knows whether it decrypts, or
 * (final) when the layer ends: a handshake never seen whole is
 * no-handshake. */
static void tls_event_flush(struct sess_stream *st, int final)
{
	struct sess_tls *tl = st->tl;
	struct tls_status ts;
	struct imt_event *ev;
	const char *layer = st->layer;
	char hex[8];

	if (tl == NULL || !tl->ev_pending)
		return;
	tls_conn_status(tl->conn, &ts);
	if (ts.reason == TLS_R_PENDING && !final)
		return;
	if (ts.reason == TLS_R_PENDING)
		ts.reason = st->plaintext_after_starttls ? TLS_R_NOT_TLS :
			    TLS_R_NO_HANDSHAKE;
	tl->ev_pending = 0;
	st->layer = NULL;
	ev = sess_ev_new(st->owner, EV_TLS, IMT_DIR_NONE, 0);
	if (tl->has_tag)
		event_cstring(ev, "after_tag", tl->after_tag);
	if (ts.version != 0)
		event_cstring(ev, "version", tls_version_name(ts.version));
	if (ts.cipher_suite != 0) {
		const char *name = tls_suite_name(ts.cipher_suite);

		snprintf(hex, sizeof(hex), "0x%04X", ts.cipher_suite);
		event_cstring(ev, "cipher_suite", name != NULL ? name : hex);
	}
	if (tl->sni_len > 0)
		sess_ev_str(ev, "sni", tl->sni, tl->sni_len, SESS_TLS_SNI_MAX);
	if (tl->nalpn > 0) {
		event_array(ev, "alpn");
		for (size_t i = 0; i < tl->nalpn; i++)
			event_string(ev, NULL, tl->alpn[i], tl->alpn_len[i]);
		event_close(ev);
	}
	if (ts.version != 0)
		event_bool(ev, "resumed", ts.resumed);
	event_bool(ev, "decrypted", ts.decrypted);
	if (!ts.decrypted)
		event_cstring(ev, "reason", tls_reason_name(ts.reason));
	sess_ev_emit(st->owner, ev);
	st->layer = layer;
}

/* ---- the probe after STARTTLS ----------------------------------------- */

/* d's look-ahead state, made when the direction first waits for TLS (a
 * direction in SESS_TLS_PROBE always has it).  Returns 0, or -1 when out
 * of memory. */
static int probe_arm(struct sess_stream_dir *sd)
{
	if (sd->pr == NULL && (sd->pr = calloc(1, sizeof(*sd->pr))) == NULL)
		return -1;
	return 0;
}

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
	const uint8_t *p = sd->pr->probe.p;
	size_t n = sd->pr->probe.len;

	*wait_r = 0;
	for (size_t i = sd->pr->probe_scan; i < n; i++) {
		if (i > 0 && p[i - 1] != '\n')
			continue;
		if (p[i] < 0x14 || p[i] > 0x17)
			continue;
		if (i + 1 == n) {
			*wait_r = 1;
			sd->pr->probe_scan = i;
			return i;
		}
		if (p[i + 1] == 0x03)
			return i;
	}
	sd->pr->probe_scan = n;
	return n;
}

/* Whether d's held bytes read as IMAP from that side (a command from the
 * client; a status, untagged or continuation line from the server):
 * 1 yes, 0 no, -1 not known until the first line is complete (unless
 * final, when what is held decides). */
static int probe_is_imap(struct sess_stream_dir *sd, enum imt_dir d, int final)
{
	/* The bytes before probe_nolf have no LF: looked at once. */
	const uint8_t *lf = memchr(sd->pr->probe.p + sd->pr->probe_nolf, '\n',
				   sd->pr->probe.len - sd->pr->probe_nolf);
	size_t n = lf != NULL ? (size_t)(lf - sd->pr->probe.p) + 1 : sd->pr->probe.len;

	if (lf == NULL) {
		sd->pr->probe_nolf = sd->pr->probe.len;
		if (!final)
			return -1;
	}
	return imap_classify(sd->pr->probe.p, n) == (d == IMT_C2S ? 0 : 1);
}

/* A finding about d's held bytes, with the time and offset of the first. */
static void probe_finding(struct sess_stream *st, enum imt_dir d,
			  enum imt_finding id, const char *detail)
{
	struct sess_stream_dir *sd = &st->dir[d];
	struct tcp_meta saved = *st->clock;

	if (sd->pr->nmarks > 0)
		*st->clock = sd->pr->marks[0].m;
	sess_finding(st->owner, id, d, imap_parser_offset(sd->parser), detail,
		     st->starttls_tag != NULL ? st->starttls_tag : "");
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
	struct sess_held held = sess_held_take(&sd->pr->probe);
	struct sess_probe_mark marks[SESS_PROBE_MARKS];
	unsigned nm = sd->pr->nmarks;
	struct tcp_meta saved = *st->clock;

	if (nm > 0)              /* marks may be unallocated then */
		memcpy(marks, sd->pr->marks, nm * sizeof(marks[0]));
	sd->pr->nmarks = 0;
	sd->pr->probe_order = 0;
	sd->pr->probe_scan = 0;
	sd->pr->probe_nolf = 0;
	sd->pr->probe_before_ok = 0;
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

	if (at > 0 && sd->pr->probe_before_ok) {
		probe_finding(st, d, F_STARTTLS_INJECTION,
			      "client plaintext after STARTTLS, before the server's answer");
	} else if (at > 0) {
		plaintext_detail(detail, sizeof(detail), sd->pr->probe.p, at);
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

	plaintext_detail(detail, sizeof(detail), sd->pr->probe.p, sd->pr->probe.len);
	probe_finding(st, d, F_STARTTLS_INJECTION, detail);
	probe_end(st, d, 0, SESS_TLS_OPAQUE);
}

/* The direction whose held bytes came first (of those holding any). */
static enum imt_dir probe_first(const struct sess_stream *st)
{
	const struct sess_probe *cp = st->dir[IMT_C2S].pr, *sp = st->dir[IMT_S2C].pr;
	uint64_t c = cp != NULL ? cp->probe_order : 0, s = sp != NULL ? sp->probe_order : 0;

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
			     st->dir[IMT_C2S].pr->probe_before_ok ?
			     "the client sent plaintext right behind STARTTLS, before the server's answer" :
			     "the client spoke first, in plaintext";

	st->tls = 0;
	if (!st->plaintext_after_starttls)
		probe_finding(st, first, F_PLAINTEXT_AFTER_STARTTLS, detail);
	st->plaintext_after_starttls = 1;
	tls_event_flush(st, 1);
	probe_end(st, first, st->dir[first].pr->probe.len, SESS_TLS_NONE);
	if (st->dir[second].tls == SESS_TLS_PROBE)
		probe_end(st, second, st->dir[second].pr->probe.len, SESS_TLS_NONE);
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
	if (at < sd->pr->probe.len) {
		probe_tls(st, d, at);
		return;
	}
	imap = probe_is_imap(sd, d, 0);
	if (imap == 0)
		probe_garbage(st, d);
	else if (imap == 1 && st->starttls_ok && od->tls == SESS_TLS_PROBE &&
		 od->pr->probe.len > 0 && probe_is_imap(od, o, 0) == 1)
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

	if (sd->pr->probe.len == 0)
		probe_end(st, d, 0, st->starttls_ok ? SESS_TLS_OPAQUE : SESS_TLS_NONE);
	else if (at < sd->pr->probe.len)
		probe_tls(st, d, at);
	else if (probe_is_imap(sd, d, 1) != 1)
		probe_garbage(st, d);
	else if (d == IMT_C2S && !st->starttls_ok)
		probe_end(st, d, sd->pr->probe.len, SESS_TLS_NONE);  /* no answer yet */
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

	if (sd->pr->probe.len == 0) {
		sd->pr->probe_order = ++st->probes;
		sd->pr->probe_before_ok = d == IMT_C2S && st->starttls_wait;
		sd->pr->probe_scan = 0;
		sd->pr->probe_nolf = 0;
		sd->pr->nmarks = 0;
	}
	/* Up to the look-ahead's bound; past it, or out of memory, d is
	 * decided with what is held and the decided layers take the rest. */
	take = len < SESS_PROBE_MAX - sd->pr->probe.len ? len : SESS_PROBE_MAX - sd->pr->probe.len;
	if (take > 0 && sd->pr->marks == NULL &&
	    (sd->pr->marks = malloc(SESS_PROBE_MARKS * sizeof(*sd->pr->marks))) == NULL)
		take = 0;
	if (take > 0 && sess_held_append(&sd->pr->probe, data, take, SESS_PROBE_MAX) != 0)
		take = 0;
	if (take > 0 && (sd->pr->nmarks == 0 ||
			 (sd->pr->nmarks < SESS_PROBE_MARKS &&
			  sd->pr->marks[sd->pr->nmarks - 1].m.frame != st->clock->frame))) {
		sd->pr->marks[sd->pr->nmarks].at = sd->pr->probe.len - take;
		sd->pr->marks[sd->pr->nmarks].m = *st->clock;
		sd->pr->nmarks++;
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
			n = sess_plain_feed(st, d, data, len);
			data += n;
			len -= n;
			break;
		case SESS_TLS_PROBE:
			probe_bytes(st, d, data, len);
			return;
		case SESS_TLS_OPAQUE:
			tls_bytes(st, d, data, len);
			return;
		}
	}
}

void sess_stream_segment(struct sess_stream *st, enum imt_dir d)
{
	struct sess_stream_dir *sd = &st->dir[d];

	if (sd->tls == SESS_TLS_NONE && sd->zip == SESS_ZIP_NONE && !sd->lost)
		imap_parser_segment(sd->parser);
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
		if (st->tl != NULL) {
			(void)tls_gap(st->tl->conn, d == IMT_C2S ? TLS_C2S : TLS_S2C,
				      bytes, st->clock);
			tls_event_flush(st, 0);
		}
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
	if (st->tl != NULL) {
		(void)tls_finish(st->tl->conn, st->clock);
		tls_event_flush(st, 1);
	}
	for (enum imt_dir d = IMT_C2S; d <= IMT_S2C; d++) {
		const struct sess_stream_dir *sd = &st->dir[d];

		if (!sd->lost && (sd->tls != SESS_TLS_OPAQUE || sd->decrypted) &&
		    sd->zip == SESS_ZIP_NONE)
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
		free(st->starttls_tag);
		st->starttls_tag = strndup(tag, SESS_TAG_MAX);
		c->tls = probe_arm(c) == 0 ? SESS_TLS_PROBE : SESS_TLS_OPAQUE;
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
			probe_end(st, IMT_C2S, c->pr->probe.len, SESS_TLS_NONE);
		else if (ok && c->tls != SESS_TLS_OPAQUE && c->tls != SESS_TLS_PROBE)
			/* its plaintext was read already */
			c->tls = probe_arm(c) == 0 ? SESS_TLS_PROBE : SESS_TLS_OPAQUE;
		return;
	}
	if (c->zip == SESS_ZIP_HOLD && !c->lost &&
	    (c->tls == SESS_TLS_NONE || (c->tls == SESS_TLS_OPAQUE && c->decrypted))) {
		struct sess_held held = sess_held_take(&c->hold);

		if (!ok)
			c->zip = SESS_ZIP_NONE;
		else if (sess_inflate_start(c) != 0)
			c->lost = 1;
		/* Inside TLS the held bytes are plaintext already. */
		if (held.len > 0 && c->tls == SESS_TLS_OPAQUE)
			sess_plain_all(st, IMT_C2S, held.p, held.len);
		else if (held.len > 0)
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
		if (tls_layer_start(st, tag) != 0) {
			ev = sess_ev_new(st->owner, EV_TLS, IMT_DIR_NONE, 0);
			event_cstring(ev, "after_tag", tag);
			sess_ev_emit(st->owner, ev);
		}
		st->tls = 1;
		st->starttls_ok = 1;
		s2c->tls = probe_arm(s2c) == 0 ? SESS_TLS_PROBE : SESS_TLS_OPAQUE;
	} else {
		ev = sess_ev_new(st->owner, EV_COMPRESS, IMT_DIR_NONE, 0);
		event_cstring(ev, "after_tag", tag);
		event_cstring(ev, "mechanism", "DEFLATE");
		sess_ev_emit(st->owner, ev);
		st->compress = 1;
		if (sess_inflate_start(s2c) != 0)
			s2c->lost = 1;
	}
	imap_parser_pause(s2c->parser);
	client_result(st, 1);
}
