/*
 * tls_hello.c - reading ClientHello and ServerHello bodies (RFC 8446
 * §4.1.2-4.1.3, RFC 5246 §7.4.1): version, random, session id, cipher
 * suite, and the extensions the TLS stage reports or needs (SNI, ALPN,
 * supported versions, encrypt-then-MAC, tickets, PSK, early data).  Every
 * read goes through one cursor that never passes its end.
 */
#include <string.h>

#include "tls_int.h"
#include "wire.h"

/* Extensions read from the hellos. */
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define TLS_EXT_ETM 22
#define TLS_EXT_SESSION_TICKET 35
#define TLS_EXT_PSK 41
#define TLS_EXT_EARLY_DATA 42
#define TLS_EXT_SUPPORTED_VERSIONS 43

/* ------------------------------------------------------------------ */
/* Reading hello messages: a cursor that never reads past its end.     */

struct tls_rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static const uint8_t *tls_rd_take(struct tls_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || !WIRE_HAS(r->len, r->off, n)) {
		r->bad = 1;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static unsigned tls_rd_u8(struct tls_rd *r)
{
	const uint8_t *q = tls_rd_take(r, 1);

	return q != NULL ? q[0] : 0;
}

static unsigned tls_rd_u16(struct tls_rd *r)
{
	const uint8_t *q = tls_rd_take(r, 2);

	return q != NULL ? wire_be16(q) : 0;
}

/* A sub-cursor over the next n bytes. */
static struct tls_rd tls_rd_sub(struct tls_rd *r, size_t n)
{
	struct tls_rd s = { NULL, 0, 0, 0 };

	s.p = tls_rd_take(r, n);
	s.len = s.p != NULL ? n : 0;
	s.bad = s.p == NULL;
	return s;
}

static int tls_grease(unsigned v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static void tls_ch_ext(struct tls_hello_info *hi, unsigned type, struct tls_rd *e)
{
	struct tls_rd l;

	switch (type) {
	case TLS_EXT_SERVER_NAME:
		l = tls_rd_sub(e, tls_rd_u16(e));
		while (!l.bad && l.off < l.len) {
			unsigned nt = tls_rd_u8(&l), nl = tls_rd_u16(&l);
			const uint8_t *name = tls_rd_take(&l, nl);

			if (name != NULL && nt == 0 && hi->sni == NULL) {
				hi->sni = (const char *)name;
				hi->sni_len = nl;
			}
		}
		e->bad |= l.bad;
		break;
	case TLS_EXT_ALPN:
		l = tls_rd_sub(e, tls_rd_u16(e));
		while (!l.bad && l.off < l.len) {
			unsigned nl = tls_rd_u8(&l);
			const uint8_t *name = tls_rd_take(&l, nl);

			if (name != NULL && hi->nalpn < TLS_MAX_LISTED) {
				hi->alpn[hi->nalpn] = (const char *)name;
				hi->alpn_len[hi->nalpn++] = nl;
			}
		}
		e->bad |= l.bad;
		break;
	case TLS_EXT_SUPPORTED_VERSIONS:
		l = tls_rd_sub(e, tls_rd_u8(e));
		while (!l.bad && l.off < l.len) {
			unsigned v = tls_rd_u16(&l);

			if (!l.bad && !tls_grease(v) && hi->nversions < TLS_MAX_LISTED)
				hi->versions[hi->nversions++] = (uint16_t)v;
			if (!l.bad && !tls_grease(v) && v > hi->version && v <= TLS_V13)
				hi->version = (uint16_t)v;
		}
		e->bad |= l.bad;
		break;
	case TLS_EXT_SESSION_TICKET:
		hi->offers_ticket = 1;
		break;
	case TLS_EXT_PSK:
		hi->offers_psk = 1;
		break;
	case TLS_EXT_EARLY_DATA:
		hi->offers_early_data = 1;
		break;
	default:
		break;
	}
}

static void tls_sh_ext(struct tls_hello_info *hi, unsigned type, struct tls_rd *e)
{
	switch (type) {
	case TLS_EXT_SUPPORTED_VERSIONS:
		hi->version = (uint16_t)tls_rd_u16(e);
		break;
	case TLS_EXT_PSK:
		hi->resumed = 1;
		break;
	case TLS_EXT_ETM:
		hi->encrypt_then_mac = 1;
		break;
	default:
		break;
	}
}

int tls_hello_parse(const uint8_t *p, size_t len, int client,
			   struct tls_hello_info *hi)
{
	struct tls_rd r = { p, len, 0, 0 }, exts;
	const uint8_t *q;
	size_t n;

	hi->legacy_version = (uint16_t)tls_rd_u16(&r);
	hi->version = hi->legacy_version;
	if ((q = tls_rd_take(&r, TLS_RANDOM_LEN)) != NULL)
		memcpy(hi->random, q, TLS_RANDOM_LEN);
	n = tls_rd_u8(&r);
	if (n > sizeof(hi->session_id) || (q = tls_rd_take(&r, n)) == NULL)
		return -1;
	memcpy(hi->session_id, q, n);
	hi->session_id_len = n;
	if (client) {
		tls_rd_take(&r, tls_rd_u16(&r));         /* cipher suites */
		tls_rd_take(&r, tls_rd_u8(&r));          /* compression methods */
	} else {
		hi->cipher_suite = (uint16_t)tls_rd_u16(&r);
		hi->compression = (uint8_t)tls_rd_u8(&r);
	}
	if (r.bad)
		return -1;
	if (r.off == r.len)
		return 0;                               /* no extensions */
	exts = tls_rd_sub(&r, tls_rd_u16(&r));
	while (!exts.bad && exts.off < exts.len) {
		unsigned type = tls_rd_u16(&exts);
		struct tls_rd e = tls_rd_sub(&exts, tls_rd_u16(&exts));

		if (exts.bad)
			break;
		if (client)
			tls_ch_ext(hi, type, &e);
		else
			tls_sh_ext(hi, type, &e);
		exts.bad |= e.bad;
	}
	return r.bad || exts.bad ? -1 : 0;
}

