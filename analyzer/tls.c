/*
 * tls.c - the TLS stage's record layer and handshake (see tls.h); the
 * hello parser is in tls_hello.c, keys and record protection in
 * tls_crypto.c, the key store in tls_keys.c.
 *
 * Layout: each direction (struct tls_half) frames records in three
 * steps that survive any chunking: the 5-byte header is gathered in
 * `hdr`; the body is taken straight from the caller's buffer when it is
 * whole there, else gathered in `rec`; a body that will not be read
 * (too long, or hit by a gap) is counted through.  A complete record is
 * opened when its direction is protected (1.2: after ChangeCipherSpec;
 * 1.3: after the ServerHello, outer type 23 only), then dispatched by
 * content type.  Handshake bytes go through a second framing of 4-byte
 * message headers across records; the messages the stage reads (the
 * hellos, KeyUpdate) are gathered up to TLS_MAX_HELLO, the others
 * counted through.  Everything a callback sees is decided when a record
 * or message is complete, never in the middle of a chunk, so the output
 * does not depend on how the stream was cut.
 *
 * Keys: TLS 1.3 takes the handshake secrets from the key log at the
 * ServerHello and the application secrets at each side's Finished
 * (KeyUpdate derives the next); TLS 1.0-1.2 derives both directions'
 * keys from the master secret at the ServerHello and switches each
 * direction at its ChangeCipherSpec.
 */
#include "tls.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <openssl/crypto.h>

#include "mem.h"
#include "tls_int.h"
#include "wire.h"

#define TLS_HDR 5

/* Handshake message types read or followed. */
#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2
#define TLS_HS_FINISHED 20
#define TLS_HS_KEY_UPDATE 24

/* RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t tls_hrr_random[TLS_RANDOM_LEN] = {
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02,
	0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* Alert descriptions (RFC 8446 §6, RFC 5246 §7.2). */
#define TLS_ALERTS(X) \
	X(0, "close_notify") X(10, "unexpected_message") X(20, "bad_record_mac") \
	X(22, "record_overflow") X(40, "handshake_failure") X(42, "bad_certificate") \
	X(43, "unsupported_certificate") X(44, "certificate_revoked") \
	X(45, "certificate_expired") X(46, "certificate_unknown") \
	X(47, "illegal_parameter") X(48, "unknown_ca") X(49, "access_denied") \
	X(50, "decode_error") X(51, "decrypt_error") X(70, "protocol_version") \
	X(71, "insufficient_security") X(80, "internal_error") \
	X(86, "inappropriate_fallback") X(90, "user_canceled") \
	X(100, "no_renegotiation") X(109, "missing_extension") \
	X(110, "unsupported_extension") X(112, "unrecognized_name") \
	X(113, "bad_certificate_status_response") X(115, "unknown_psk_identity") \
	X(116, "certificate_required") X(120, "no_application_protocol")

enum tls_skip { TLS_READ = 0, TLS_SKIP_LONG, TLS_SKIP_GAP };

struct tls_half {
	int dead;                /* no longer followed: bytes only counted */
	uint64_t off;            /* stream offset of the next byte */
	/* record framing */
	uint8_t hdr[TLS_HDR];
	size_t hdr_len;
	size_t body_len, body_have;
	uint64_t rec_off;        /* offset of the current record's header */
	enum tls_skip skip;
	uint8_t *rec;            /* body of a record that spans chunks */
	/* handshake message framing */
	uint8_t hs_hdr[4];
	size_t hs_hdr_len;
	uint32_t hs_len, hs_have;
	int hs_keep;
	uint8_t *hs;
	size_t hs_alloc;
	/* protection */
	int prot;                /* records are protected from here on */
	int failed;              /* a record failed authentication */
	int early;               /* 0-RTT records may precede handshake ones */
	int epoch13;             /* 1.3: 1 handshake keys, 2 application */
	struct tls_cipher rx;    /* active when rx.suite != NULL */
	struct tls_cipher next;  /* 1.2: the keys ChangeCipherSpec turns on */
	uint8_t secret[TLS_SECRET_MAX];  /* 1.3: current traffic secret */
	size_t secret_len;
	uint64_t plain_off;
	uint64_t bytes, records, plain_bytes, opaque_bytes;
};

struct tls_conn {
	const struct tls_keys *keys;
	struct tls_callbacks cb;
	void *user;
	struct tls_half h[2];
	enum tls_reason reason;
	int have_ch, have_sh, hrr;
	uint8_t client_random[TLS_RANDOM_LEN];
	uint8_t ch_sid[32];
	size_t ch_sid_len;
	int ch_early;
	uint16_t version;        /* negotiated; 0 before the ServerHello */
	uint16_t suite_id;
	const struct tls_suite *suite;
	int resumed;
	int keys_reported;
	uint8_t *plain;          /* TLS_MAX_CIPHERTEXT bytes, once needed */
};

static const char *const tls_reason_names[TLS_R__COUNT] = {
#define TLS_REASON_NAME(e, name, desc) [e] = name,
	TLS_REASONS(TLS_REASON_NAME)
#undef TLS_REASON_NAME
};

static const char *const tls_reason_descs[TLS_R__COUNT] = {
#define TLS_REASON_DESC(e, name, desc) [e] = desc,
	TLS_REASONS(TLS_REASON_DESC)
#undef TLS_REASON_DESC
};

const char *tls_reason_name(enum tls_reason r)
{
	return (size_t)r < TLS_R__COUNT ? tls_reason_names[r] : "unknown";
}

const char *tls_reason_desc(enum tls_reason r)
{
	return (size_t)r < TLS_R__COUNT ? tls_reason_descs[r] : "unknown";
}

const char *tls_hello_kind_name(enum tls_hello_kind k)
{
	static const char *const names[] = {
#define TLS_HELLO_NAME(e, name) [e] = name,
		TLS_HELLO_KINDS(TLS_HELLO_NAME)
#undef TLS_HELLO_NAME
	};

	if ((size_t)k >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[k];
}

static const char *tls_alert_name(uint8_t desc)
{
	switch (desc) {
#define TLS_ALERT_CASE(v, name) case v: return name;
	TLS_ALERTS(TLS_ALERT_CASE)
#undef TLS_ALERT_CASE
	default:
		return "unknown_alert";
	}
}

const char *tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0300: return "SSL 3.0";
	case TLS_V10: return "TLS 1.0";
	case TLS_V11: return "TLS 1.1";
	case TLS_V12: return "TLS 1.2";
	case TLS_V13: return "TLS 1.3";
	default: return "unknown version";
	}
}

const char *tls_suite_name(uint16_t id)
{
	const struct tls_suite *s = tls_suite_find(id);

	return s != NULL ? s->name : NULL;
}

static void tls_report(struct tls_conn *c, enum tls_dir dir, enum imt_finding id,
		       uint64_t offset, uint64_t value, const char *detail,
		       const struct tcp_meta *m)
{
	struct imt_finding_report f;

	if (c->cb.on_finding == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.id = id;
	f.dir = (int)dir;
	f.offset = offset;
	f.value = value;
	f.detail = detail;
	c->cb.on_finding(c->user, &f, m);
}

/*
 * The conn's reason moves on from PENDING to what was learnt first; a
 * missing key or an unsupported suite still shows after decryption had
 * begun (a key log may hold the handshake secrets only), and a failed
 * authentication or a stream that is not TLS is what the user must see,
 * whatever came before.
 */
static void tls_set_reason(struct tls_conn *c, enum tls_reason r)
{
	enum tls_reason cur = c->reason;

	if (cur == TLS_R_AUTH_FAILED || cur == TLS_R_NOT_TLS)
		return;
	if ((r == TLS_R_DECRYPTED || r == TLS_R_NO_HANDSHAKE) && cur != TLS_R_PENDING)
		return;
	if ((r == TLS_R_NO_KEY || r == TLS_R_UNSUPPORTED) &&
	    cur != TLS_R_PENDING && cur != TLS_R_DECRYPTED)
		return;
	c->reason = r;
}

static void tls_keys_missing(struct tls_conn *c, enum tls_dir dir,
			     const char *label, const struct tcp_meta *m)
{
	char detail[96];

	tls_set_reason(c, TLS_R_NO_KEY);
	if (c->keys_reported)
		return;
	c->keys_reported = 1;
	snprintf(detail, sizeof(detail), "no %s for this client random", label);
	tls_report(c, dir, F_TLS_KEYS_MISSING, c->h[dir].rec_off, 0, detail, m);
}

/* ------------------------------------------------------------------ */
/* Keys.                                                               */

/* 1.3: dir's records are protected with the key log's secret `which`
 * from here on. */
static void tls13_epoch(struct tls_conn *c, enum tls_dir dir,
			enum tls_secret which, const struct tcp_meta *m)
{
	static const char *const labels[TLS_SEC__COUNT] = {
#define TLS_SECRET_LABEL(e, label) [e] = label,
		TLS_SECRETS(TLS_SECRET_LABEL)
#undef TLS_SECRET_LABEL
	};
	struct tls_half *h = &c->h[dir];
	const uint8_t *s = NULL;
	size_t sl;

	h->prot = 1;
	h->epoch13 = which == TLS_SEC_C_HS || which == TLS_SEC_S_HS ? 1 : 2;
	tls_cipher_clear(&h->rx);
	OPENSSL_cleanse(h->secret, sizeof(h->secret));
	h->secret_len = 0;
	if (c->suite == NULL)
		return;
	sl = tls_keys_find(c->keys, c->client_random, which, &s);
	if (sl == 0) {
		tls_keys_missing(c, dir, labels[which], m);
		return;
	}
	memcpy(h->secret, s, sl);
	h->secret_len = sl;
	if (tls13_cipher_init(&h->rx, c->suite, s, sl) != 0)
		tls_set_reason(c, TLS_R_UNSUPPORTED);
}

/* 1.3 KeyUpdate: the next traffic secret (RFC 8446 §7.2). */
static void tls13_key_update(struct tls_conn *c, enum tls_dir dir)
{
	struct tls_half *h = &c->h[dir];
	uint8_t next[TLS_SECRET_MAX];

	if (h->secret_len == 0 || c->suite == NULL)
		return;
	if (tls13_expand_label(c->suite->prf, h->secret, h->secret_len,
			       "traffic upd", next, h->secret_len) != 0 ||
	    tls13_cipher_init(&h->rx, c->suite, next, h->secret_len) != 0) {
		tls_cipher_clear(&h->rx);
		tls_set_reason(c, TLS_R_UNSUPPORTED);
	}
	memcpy(h->secret, next, h->secret_len);
	OPENSSL_cleanse(next, sizeof(next));
}

static void tls_setup_keys(struct tls_conn *c, int etm, uint8_t compression,
			   const struct tls_hello_info *hi, const struct tcp_meta *m)
{
	const uint8_t *master = NULL;
	size_t ml;

	if (c->version == TLS_V13) {
		/* Both directions are protected from here, keys or not. */
		c->h[TLS_C2S].early = c->ch_early;
		tls13_epoch(c, TLS_S2C, TLS_SEC_S_HS, m);
		tls13_epoch(c, TLS_C2S, TLS_SEC_C_HS, m);
		if (c->suite == NULL)
			tls_set_reason(c, TLS_R_UNSUPPORTED);
		return;
	}
	if (c->suite == NULL || c->suite->tls13 || compression != 0) {
		tls_set_reason(c, TLS_R_UNSUPPORTED);
		return;
	}
	ml = tls_keys_find(c->keys, c->client_random, TLS_SEC_MASTER, &master);
	if (ml == 0) {
		tls_keys_missing(c, TLS_S2C, "CLIENT_RANDOM (master secret)", m);
		return;
	}
	if (tls12_ciphers_init(&c->h[TLS_C2S].next, &c->h[TLS_S2C].next, c->suite,
			       c->version, etm && c->suite->prot == TLS_P_CBC,
			       master, ml, c->client_random, hi->random) != 0)
		tls_set_reason(c, TLS_R_UNSUPPORTED);
}

/* ------------------------------------------------------------------ */
/* Handshake messages.                                                 */

static void tls_client_hello(struct tls_conn *c, const uint8_t *p, size_t len,
			     const struct tcp_meta *m)
{
	struct tls_hello_info hi;

	memset(&hi, 0, sizeof(hi));
	hi.kind = TLS_HELLO_CLIENT;
	if (tls_hello_parse(p, len, 1, &hi) != 0) {
		tls_report(c, TLS_C2S, F_TLS_MALFORMED, c->h[TLS_C2S].rec_off, 0,
			   "ClientHello does not parse", m);
		return;
	}
	memcpy(c->client_random, hi.random, TLS_RANDOM_LEN);
	memcpy(c->ch_sid, hi.session_id, hi.session_id_len);
	c->ch_sid_len = hi.session_id_len;
	c->ch_early = hi.offers_early_data;
	c->have_ch = 1;
	if (c->cb.on_hello != NULL)
		c->cb.on_hello(c->user, TLS_C2S, &hi, m);
}

static void tls_server_hello(struct tls_conn *c, const uint8_t *p, size_t len,
			     const struct tcp_meta *m)
{
	struct tls_hello_info hi;
	char detail[64];

	memset(&hi, 0, sizeof(hi));
	hi.kind = TLS_HELLO_SERVER;
	if (tls_hello_parse(p, len, 0, &hi) != 0) {
		tls_report(c, TLS_S2C, F_TLS_MALFORMED, c->h[TLS_S2C].rec_off, 0,
			   "ServerHello does not parse", m);
		return;
	}
	c->suite_id = hi.cipher_suite;
	c->suite = tls_suite_find(hi.cipher_suite);
	if (c->suite != NULL && c->suite->tls13 != (hi.version == TLS_V13))
		c->suite = NULL;
	hi.cipher_name = c->suite != NULL ? c->suite->name : NULL;
	if (memcmp(hi.random, tls_hrr_random, TLS_RANDOM_LEN) == 0) {
		hi.kind = TLS_HELLO_RETRY;
		c->hrr = 1;
		if (c->cb.on_hello != NULL)
			c->cb.on_hello(c->user, TLS_S2C, &hi, m);
		return;
	}
	if (hi.version != TLS_V13)
		hi.resumed = c->ch_sid_len != 0 && hi.session_id_len == c->ch_sid_len &&
			     memcmp(hi.session_id, c->ch_sid, c->ch_sid_len) == 0;
	c->have_sh = 1;
	c->version = hi.version;
	c->resumed = hi.resumed;
	if (c->cb.on_hello != NULL)
		c->cb.on_hello(c->user, TLS_S2C, &hi, m);
	if (hi.version < TLS_V12) {
		snprintf(detail, sizeof(detail), "%s negotiated",
			 tls_version_name(hi.version));
		tls_report(c, TLS_S2C, F_TLS_OLD_VERSION, c->h[TLS_S2C].rec_off,
			   hi.version, detail, m);
	}
	if (!c->have_ch) {
		/* No client random: nothing to look the keys up by. */
		tls_set_reason(c, TLS_R_NO_HANDSHAKE);
		c->h[TLS_C2S].prot = c->h[TLS_S2C].prot = c->version == TLS_V13;
		return;
	}
	tls_setup_keys(c, hi.encrypt_then_mac, hi.compression, &hi, m);
}

static void tls_hs_message(struct tls_conn *c, enum tls_dir dir, unsigned type,
			   const uint8_t *p, size_t len, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];

	switch (type) {
	case TLS_HS_CLIENT_HELLO:
		if (dir == TLS_C2S && !c->have_sh && p != NULL)
			tls_client_hello(c, p, len, m);
		break;
	case TLS_HS_SERVER_HELLO:
		if (dir == TLS_S2C && !c->have_sh && p != NULL)
			tls_server_hello(c, p, len, m);
		break;
	case TLS_HS_FINISHED:
		if (c->version == TLS_V13 && h->epoch13 == 1)
			tls13_epoch(c, dir, dir == TLS_C2S ? TLS_SEC_C_AP : TLS_SEC_S_AP, m);
		break;
	case TLS_HS_KEY_UPDATE:
		if (c->version != TLS_V13 || h->epoch13 != 2)
			break;
		if (p == NULL || len != 1 || p[0] > 1)
			tls_report(c, dir, F_TLS_MALFORMED, h->rec_off, 0,
				   "KeyUpdate is not one byte of 0 or 1", m);
		else
			tls13_key_update(c, dir);
		break;
	default:
		break;
	}
}

static int tls_hs_kept(unsigned type)
{
	return type == TLS_HS_CLIENT_HELLO || type == TLS_HS_SERVER_HELLO ||
	       type == TLS_HS_KEY_UPDATE;
}

/* Starts the message whose 4-byte header was just read. */
static void tls_hs_begin(struct tls_conn *c, enum tls_dir dir,
			 const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];
	unsigned type = h->hs_hdr[0];
	uint32_t len = (uint32_t)h->hs_hdr[1] << 16 | (uint32_t)h->hs_hdr[2] << 8 | h->hs_hdr[3];
	uint32_t cap = tls_hs_kept(type) ? TLS_MAX_HELLO : TLS_MAX_HANDSHAKE;

	h->hs_len = len;
	h->hs_have = 0;
	h->hs_keep = tls_hs_kept(type) && len <= TLS_MAX_HELLO;
	if (len > cap) {
		char detail[80];

		snprintf(detail, sizeof(detail), "handshake message type %u declares %u bytes",
			 type, (unsigned)len);
		tls_report(c, dir, F_TLS_HANDSHAKE_TOO_LONG, h->rec_off, len, detail, m);
	}
	if (h->hs_keep &&
	    mem_grow(&h->hs, &h->hs_alloc, len, 1, 512, TLS_MAX_HELLO) != 0)
		h->hs_keep = 0;          /* out of memory: counted through */
}

/* Handshake bytes of one record (plaintext), in order. */
static void tls_hs_feed(struct tls_conn *c, enum tls_dir dir, const uint8_t *p,
			size_t n, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];

	while (n > 0) {
		size_t take;

		if (h->hs_hdr_len < 4) {
			take = 4 - h->hs_hdr_len < n ? 4 - h->hs_hdr_len : n;
			memcpy(h->hs_hdr + h->hs_hdr_len, p, take);
			h->hs_hdr_len += take;
			p += take;
			n -= take;
			if (h->hs_hdr_len < 4)
				break;
			tls_hs_begin(c, dir, m);
		} else {
			take = h->hs_len - h->hs_have < n ? h->hs_len - h->hs_have : n;
			if (h->hs_keep)
				memcpy(h->hs + h->hs_have, p, take);
			h->hs_have += (uint32_t)take;
			p += take;
			n -= take;
		}
		if (h->hs_have == h->hs_len) {
			h->hs_hdr_len = 0;
			tls_hs_message(c, dir, h->hs_hdr[0], h->hs_keep ? h->hs : NULL,
				       h->hs_len, m);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Records.                                                            */

static void tls_ccs(struct tls_conn *c, enum tls_dir dir, const uint8_t *p,
		    size_t len, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];

	if (len != 1 || p[0] != 1)
		tls_report(c, dir, F_TLS_MALFORMED, h->rec_off, len,
			   "ChangeCipherSpec is not the single byte 1", m);
	/* TLS 1.3 sends it for middlebox compatibility only, possibly before
	 * the ServerHello (after a HelloRetryRequest, or with 0-RTT). */
	if (c->version == TLS_V13 || (c->have_ch && !c->have_sh))
		return;
	if (!c->have_sh)
		tls_set_reason(c, TLS_R_NO_HANDSHAKE);
	h->prot = 1;
	h->rx = h->next;
	memset(&h->next, 0, sizeof(h->next));
}

static void tls_alerts(struct tls_conn *c, enum tls_dir dir, const uint8_t *p,
		       size_t len, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];
	char detail[64];

	if (len == 0 || len % 2 != 0) {
		tls_report(c, dir, F_TLS_MALFORMED, h->rec_off, len,
			   "alert record is not level/description pairs", m);
		return;
	}
	for (size_t i = 0; i < len; i += 2) {
		snprintf(detail, sizeof(detail), "%s %s (%u)",
			 p[i] == 2 ? "fatal" : p[i] == 1 ? "warning" : "level?",
			 tls_alert_name(p[i + 1]), p[i + 1]);
		tls_report(c, dir, F_TLS_ALERT, h->rec_off, p[i + 1], detail, m);
	}
}

/* Upper bound of the application data in a protected record of body
 * length len that could not be opened. */
static uint64_t tls_plain_bound(const struct tls_half *h, size_t len)
{
	size_t over = TLS_TAG_LEN;
	const struct tls_cipher *x = &h->rx;

	if (x->suite == NULL)
		return len;
	if (x->suite->tls13)
		over = TLS_TAG_LEN + 1;
	else if (x->suite->prot == TLS_P_GCM)
		over = 8 + TLS_TAG_LEN;
	else if (x->suite->prot == TLS_P_CBC)
		over = x->mac_len + 1 + (x->version >= TLS_V11 ? 16 : 0);
	return len > over ? len - over : 0;
}

/* A record that could not be read (too long, or hit by a gap). */
static void tls_record_lost(struct tls_conn *c, enum tls_dir dir,
			    const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];
	int prot = h->prot && !(c->version == TLS_V13 && h->hdr[0] != TLS_CT_APPLICATION_DATA);

	h->records++;
	h->opaque_bytes += TLS_HDR + h->body_len;
	if (h->hdr[0] == TLS_CT_HANDSHAKE || (prot && h->epoch13 == 1))
		h->hs_hdr_len = 0;       /* the message being gathered is gone */
	if (!prot || h->rx.suite == NULL || h->failed)
		return;
	h->rx.seq++;
	if (h->hdr[0] == TLS_CT_APPLICATION_DATA && h->epoch13 != 1 &&
	    c->cb.on_plaintext_gap != NULL)
		c->cb.on_plaintext_gap(c->user, dir, h->plain_off,
				       tls_plain_bound(h, h->body_len), m);
}

static void tls_record(struct tls_conn *c, enum tls_dir dir, const uint8_t *body,
		       size_t len, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];
	uint8_t type = h->hdr[0];
	int prot = h->prot && !(c->version == TLS_V13 && type != TLS_CT_APPLICATION_DATA);
	const uint8_t *p = body;
	long pl = (long)len;

	h->records++;
	if (prot) {
		if (h->rx.suite == NULL || h->failed) {
			h->opaque_bytes += TLS_HDR + len;
			return;
		}
		if (c->plain == NULL && (c->plain = malloc(TLS_MAX_CIPHERTEXT)) == NULL) {
			h->opaque_bytes += TLS_HDR + len;
			return;
		}
		pl = tls_cipher_open(&h->rx, h->hdr, body, len, c->plain, &type);
		if (pl == TLS_OPEN_NO_TYPE) {
			h->opaque_bytes += TLS_HDR + len;
			h->early = 0;
			tls_report(c, dir, F_TLS_MALFORMED, h->rec_off, h->rx.seq - 1,
				   "decrypted record holds no content type", m);
			return;
		}
		if (pl < 0) {
			h->opaque_bytes += TLS_HDR + len;
			if (h->early)
				return;          /* 0-RTT data: not ours to open */
			h->failed = 1;
			tls_set_reason(c, TLS_R_AUTH_FAILED);
			tls_report(c, dir, F_TLS_AUTH_FAILED, h->rec_off, h->rx.seq - 1,
				   "record does not authenticate; later records of this direction are not decrypted", m);
			if (c->cb.on_plaintext_gap != NULL && h->epoch13 != 1)
				c->cb.on_plaintext_gap(c->user, dir, h->plain_off,
						       tls_plain_bound(h, len), m);
			return;
		}
		h->early = 0;
		p = c->plain;
		tls_set_reason(c, TLS_R_DECRYPTED);
	} else if (type == TLS_CT_APPLICATION_DATA) {
		h->opaque_bytes += TLS_HDR + len;
		if (!c->have_sh && !(dir == TLS_C2S && c->ch_early))
			tls_set_reason(c, TLS_R_NO_HANDSHAKE);
		return;
	}
	switch (type) {
	case TLS_CT_CHANGE_CIPHER_SPEC:
		if (!prot)
			tls_ccs(c, dir, p, (size_t)pl, m);
		break;
	case TLS_CT_ALERT:
		tls_alerts(c, dir, p, (size_t)pl, m);
		break;
	case TLS_CT_HANDSHAKE:
		tls_hs_feed(c, dir, p, (size_t)pl, m);
		break;
	case TLS_CT_APPLICATION_DATA: {
		struct tls_record_info ri;

		ri.tls_offset = h->rec_off;
		ri.plain_offset = h->plain_off;
		ri.seq = h->rx.seq - 1;
		ri.version = wire_be16(h->hdr + 1);
		ri.type = type;
		h->plain_off += (uint64_t)pl;
		h->plain_bytes += (uint64_t)pl;
		if (pl > 0 && c->cb.on_plaintext != NULL)
			c->cb.on_plaintext(c->user, dir, p, (size_t)pl, &ri, m);
		break;
	}
	case TLS_CT_HEARTBEAT:
		break;
	default:
		tls_report(c, dir, F_TLS_MALFORMED, h->rec_off, type,
			   "decrypted record has an unknown content type", m);
		break;
	}
}

/* The record header is complete: check it and decide how to read the body. */
static void tls_header(struct tls_conn *c, enum tls_dir dir, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];
	uint8_t type = h->hdr[0];
	size_t len = wire_be16(h->hdr + 3);
	size_t max = c->version == TLS_V13 ? TLS13_MAX_CIPHERTEXT : TLS_MAX_CIPHERTEXT;
	char detail[96];

	h->body_len = len;
	h->body_have = 0;
	h->skip = TLS_READ;
	if (type < TLS_CT_CHANGE_CIPHER_SPEC || type > TLS_CT_HEARTBEAT || h->hdr[1] != 3) {
		snprintf(detail, sizeof(detail),
			 "not a TLS record header (content type %u, version 0x%02x%02x)",
			 type, h->hdr[1], h->hdr[2]);
		tls_report(c, dir, F_TLS_MALFORMED, h->rec_off, type, detail, m);
		tls_set_reason(c, TLS_R_NOT_TLS);
		h->dead = 1;
		return;
	}
	if (len > max) {
		snprintf(detail, sizeof(detail), "record of %zu bytes; at most %zu allowed",
			 len, max);
		tls_report(c, dir, F_TLS_RECORD_TOO_LONG, h->rec_off, len, detail, m);
		h->skip = TLS_SKIP_LONG;
	}
}

static void tls_record_done(struct tls_half *h)
{
	h->hdr_len = 0;
	h->body_len = h->body_have = 0;
	h->skip = TLS_READ;
}

int tls_feed(struct tls_conn *c, enum tls_dir dir, const uint8_t *data,
	     size_t len, const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];

	h->bytes += len;
	while (len > 0 && !h->dead) {
		size_t take;

		if (h->hdr_len < TLS_HDR) {
			if (h->hdr_len == 0)
				h->rec_off = h->off;
			take = TLS_HDR - h->hdr_len < len ? TLS_HDR - h->hdr_len : len;
			memcpy(h->hdr + h->hdr_len, data, take);
			h->hdr_len += take;
			data += take;
			len -= take;
			h->off += take;
			if (h->hdr_len < TLS_HDR)
				break;
			tls_header(c, dir, m);
			if (h->dead || h->body_len > 0)
				continue;
			tls_record(c, dir, data, 0, m);
			tls_record_done(h);
			continue;
		}
		take = h->body_len - h->body_have < len ? h->body_len - h->body_have : len;
		if (h->skip == TLS_READ && h->body_have == 0 && take == h->body_len) {
			/* whole in the caller's buffer: no copy */
			h->off += take;
			tls_record(c, dir, data, take, m);
			tls_record_done(h);
			data += take;
			len -= take;
			continue;
		}
		if (h->skip == TLS_READ) {
			if (h->rec == NULL && (h->rec = malloc(TLS_MAX_CIPHERTEXT)) == NULL) {
				h->skip = TLS_SKIP_GAP;   /* cannot hold it: lost */
			} else {
				memcpy(h->rec + h->body_have, data, take);
			}
		}
		h->body_have += take;
		h->off += take;
		data += take;
		len -= take;
		if (h->body_have < h->body_len)
			break;
		if (h->skip == TLS_READ)
			tls_record(c, dir, h->rec, h->body_len, m);
		else
			tls_record_lost(c, dir, m);
		tls_record_done(h);
	}
	if (h->dead) {
		h->off += len;
		return -1;
	}
	return 0;
}

int tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t bytes,
	    const struct tcp_meta *m)
{
	struct tls_half *h = &c->h[dir];

	if (h->dead) {
		h->off += bytes;
		return -1;
	}
	if (h->hdr_len == TLS_HDR && bytes <= h->body_len - h->body_have) {
		h->skip = TLS_SKIP_GAP;
		h->body_have += (size_t)bytes;
		h->off += bytes;
		if (h->body_have == h->body_len) {
			tls_record_lost(c, dir, m);
			tls_record_done(h);
		}
		return 0;
	}
	/* The record boundaries are lost with the bytes. */
	h->off += bytes;
	h->dead = 1;
	if (h->prot && h->rx.suite != NULL && !h->failed && c->cb.on_plaintext_gap != NULL)
		c->cb.on_plaintext_gap(c->user, dir, h->plain_off, bytes, m);
	return -1;
}

int tls_finish(struct tls_conn *c, const struct tcp_meta *m)
{
	int pending = 0;
	char detail[96];

	for (int d = 0; d < 2; d++) {
		struct tls_half *h = &c->h[d];

		if (h->dead)
			continue;
		if (h->hdr_len > 0) {
			pending = 1;
			snprintf(detail, sizeof(detail), "record cut short: %zu of %zu bytes",
				 h->hdr_len < TLS_HDR ? h->hdr_len : TLS_HDR + h->body_have,
				 h->hdr_len < TLS_HDR ? (size_t)TLS_HDR : TLS_HDR + h->body_len);
			tls_report(c, (enum tls_dir)d, F_TLS_TRUNCATED, h->rec_off,
				   h->body_len, detail, m);
		} else if (h->hs_hdr_len > 0) {
			snprintf(detail, sizeof(detail),
				 "handshake message cut short: %u of %u bytes",
				 (unsigned)h->hs_have,
				 h->hs_hdr_len < 4 ? 4u : (unsigned)h->hs_len);
			tls_report(c, (enum tls_dir)d, F_TLS_TRUNCATED, h->rec_off,
				   h->hs_len, detail, m);
		}
		h->dead = 1;
	}
	return pending;
}

struct tls_conn *tls_conn_new(const struct tls_keys *keys,
			      const struct tls_callbacks *cb, void *user)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->keys = keys;
	if (cb != NULL)
		c->cb = *cb;
	c->user = user;
	c->reason = TLS_R_PENDING;
	return c;
}

void tls_conn_status(const struct tls_conn *c, struct tls_status *st_r)
{
	memset(st_r, 0, sizeof(*st_r));
	st_r->reason = c->reason;
	st_r->decrypted = c->reason == TLS_R_DECRYPTED;
	st_r->version = c->version;
	st_r->cipher_suite = c->have_sh ? c->suite_id : 0;
	st_r->resumed = c->resumed;
	for (int d = 0; d < 2; d++) {
		st_r->tls_bytes[d] = c->h[d].bytes;
		st_r->records[d] = c->h[d].records;
		st_r->plain_bytes[d] = c->h[d].plain_bytes;
		st_r->opaque_bytes[d] = c->h[d].opaque_bytes;
	}
}

void tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	for (int d = 0; d < 2; d++) {
		struct tls_half *h = &c->h[d];

		tls_cipher_clear(&h->rx);
		tls_cipher_clear(&h->next);
		OPENSSL_cleanse(h->secret, sizeof(h->secret));
		if (h->rec != NULL)
			OPENSSL_cleanse(h->rec, TLS_MAX_CIPHERTEXT);
		free(h->rec);
		free(h->hs);
	}
	if (c->plain != NULL)
		OPENSSL_cleanse(c->plain, TLS_MAX_CIPHERTEXT);
	free(c->plain);
	free(c);
}
