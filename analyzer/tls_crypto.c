/*
 * tls_crypto.c - TLS key schedule and record protection (see tls_int.h).
 *
 * Every primitive is libcrypto's: AEAD and CBC ciphers through
 * EVP_CIPHER, HMAC through EVP_MAC, HKDF and the TLS 1.0-1.2 PRF through
 * EVP_KDF ("HKDF" in expand-only mode under a hand-built HkdfLabel, and
 * "TLS1-PRF").  This file only arranges their inputs the way RFC 5246,
 * RFC 7366, RFC 7905 and RFC 8446 say.
 */
#include "tls_int.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "wire.h"

#define TLS_BLOCK 16

static const struct tls_suite tls_suites[] = {
#define TLS_SUITE_ROW(id, name, t13, prot, ciph, kl, ivl, mac, prf) \
	{ id, name, t13, prot, ciph, kl, ivl, mac, prf },
	TLS_SUITES(TLS_SUITE_ROW)
#undef TLS_SUITE_ROW
};

const struct tls_suite *tls_suite_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(tls_suites) / sizeof(tls_suites[0]); i++)
		if (tls_suites[i].id == id)
			return &tls_suites[i];
	return NULL;
}

size_t tls_md_size(const char *md)
{
	if (strcmp(md, "SHA1") == 0)
		return 20;
	if (strcmp(md, "SHA256") == 0)
		return 32;
	if (strcmp(md, "SHA384") == 0)
		return 48;
	return 0;
}

static void tls_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

/* Runs KDF `name` with params; returns 0 or -1. */
static int tls_kdf(const char *name, const OSSL_PARAM *params,
		   uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	int rc = -1;

	if (kctx != NULL && EVP_KDF_derive(kctx, out, out_len, params) > 0)
		rc = 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

int tls13_expand_label(const char *md, const uint8_t *secret,
		       size_t secret_len, const char *label,
		       uint8_t *out, size_t out_len)
{
	/* struct { uint16 length; opaque label<7..255> = "tls13 " + label;
	 *          opaque context<0..255> = ""; } HkdfLabel; */
	uint8_t info[2 + 1 + 255 + 1];
	size_t ll = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];

	if (ll > 255 - 6 || out_len > 0xffff)
		return -1;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)secret, secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	return tls_kdf("HKDF", params, out, out_len);
}

int tls_prf(const char *md, const uint8_t *secret, size_t secret_len,
	    const char *label, const uint8_t *seed1, size_t seed1_len,
	    const uint8_t *seed2, size_t seed2_len,
	    uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[6];
	size_t np = 0;

	/* The seed parameter may be given several times: TLS1-PRF joins
	 * them, label first. */
	params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
							 (void *)secret, secret_len);
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
							 (void *)label, strlen(label));
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
							 (void *)seed1, seed1_len);
	if (seed2_len > 0)
		params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
								 (void *)seed2, seed2_len);
	params[np] = OSSL_PARAM_construct_end();
	return tls_kdf("TLS1-PRF", params, out, out_len);
}

void tls_cipher_clear(struct tls_cipher *c)
{
	EVP_CIPHER_CTX_free(c->ctx);
	EVP_MAC_CTX_free(c->mac);
	OPENSSL_cleanse(c, sizeof(*c));
}

int tls_cipher_init(struct tls_cipher *c, const struct tls_suite *s,
		    uint16_t version, int etm, const uint8_t *key,
		    const uint8_t *iv, const uint8_t *mac_key)
{
	const EVP_CIPHER *ciph = EVP_get_cipherbyname(s->cipher);
	EVP_MAC *mac = NULL;

	tls_cipher_clear(c);
	if (ciph == NULL || (c->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(c->ctx, ciph, NULL, key, NULL) <= 0)
		goto fail;
	if (s->prot == TLS_P_CBC) {
		c->mac_len = tls_md_size(s->mac);
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (c->mac_len == 0 || mac == NULL ||
		    (c->mac = EVP_MAC_CTX_new(mac)) == NULL)
			goto fail;
		EVP_MAC_free(mac);
		mac = NULL;
		memcpy(c->mac_key, mac_key, c->mac_len);
		EVP_CIPHER_CTX_set_padding(c->ctx, 0);
		/* TLS 1.0 chains the IV from record to record. */
		if (version < TLS_V11)
			memcpy(c->iv, iv, TLS_BLOCK);
	} else {
		memcpy(c->iv, iv, s->iv_len);
	}
	c->suite = s;
	c->version = version;
	c->etm = etm;
	return 0;
fail:
	EVP_MAC_free(mac);
	tls_cipher_clear(c);
	return -1;
}

int tls13_cipher_init(struct tls_cipher *c, const struct tls_suite *s,
		      const uint8_t *secret, size_t secret_len)
{
	uint8_t key[TLS_MAX_KEY], iv[TLS_MAX_IV];
	int rc = -1;

	if (tls13_expand_label(s->prf, secret, secret_len, "key", key, s->key_len) == 0 &&
	    tls13_expand_label(s->prf, secret, secret_len, "iv", iv, s->iv_len) == 0)
		rc = tls_cipher_init(c, s, TLS_V13, 0, key, iv, NULL);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return rc;
}

int tls12_ciphers_init(struct tls_cipher *client, struct tls_cipher *server,
		       const struct tls_suite *s, uint16_t version, int etm,
		       const uint8_t *master, size_t master_len,
		       const uint8_t client_random[TLS_RANDOM_LEN],
		       const uint8_t server_random[TLS_RANDOM_LEN])
{
	/* client MAC key, server MAC key, client key, server key, client
	 * IV, server IV (RFC 5246 §6.3) */
	uint8_t kb[2 * (TLS_MAX_MAC + TLS_MAX_KEY + TLS_MAX_IV)];
	size_t ml = s->prot == TLS_P_CBC ? tls_md_size(s->mac) : 0;
	size_t kl = s->key_len;
	size_t il = s->prot != TLS_P_CBC ? s->iv_len : version < TLS_V11 ? TLS_BLOCK : 0;
	const char *prf = version >= TLS_V12 ? s->prf : "MD5-SHA1";
	int rc = -1;

	if (s->tls13 || tls_prf(prf, master, master_len, "key expansion",
				server_random, TLS_RANDOM_LEN,
				client_random, TLS_RANDOM_LEN,
				kb, 2 * (ml + kl + il)) != 0)
		return -1;
	if (tls_cipher_init(client, s, version, etm, kb + 2 * ml,
			    kb + 2 * ml + 2 * kl, kb) == 0 &&
	    tls_cipher_init(server, s, version, etm, kb + 2 * ml + kl,
			    kb + 2 * ml + 2 * kl + il, kb + ml) == 0)
		rc = 0;
	else
		tls_cipher_clear(client);
	OPENSSL_cleanse(kb, sizeof(kb));
	return rc;
}

/* AEAD open of ct (ct_len bytes, then the tag) under nonce and aad. */
static long tls_aead(struct tls_cipher *c, const uint8_t nonce[12],
		     const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		     size_t ct_len, uint8_t *out)
{
	int n = 0, fin = 0;

	if (EVP_DecryptInit_ex(c->ctx, NULL, NULL, NULL, nonce) <= 0 ||
	    EVP_DecryptUpdate(c->ctx, NULL, &n, aad, (int)aad_len) <= 0 ||
	    EVP_DecryptUpdate(c->ctx, out, &n, ct, (int)ct_len) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, TLS_TAG_LEN,
				(void *)(ct + ct_len)) <= 0 ||
	    EVP_DecryptFinal_ex(c->ctx, out + n, &fin) <= 0)
		return -1;
	return (long)n + fin;
}

/* TLS 1.0-1.2's view of a record for its MAC or AEAD (RFC 5246 §6.2.3):
 * sequence number, type, version and the length of the content. */
static void tls12_pseudo_header(const struct tls_cipher *c, const uint8_t hdr[5],
				size_t len, uint8_t out[13])
{
	tls_be64(out, c->seq);
	out[8] = hdr[0];
	out[9] = hdr[1];
	out[10] = hdr[2];
	out[11] = (uint8_t)(len >> 8);
	out[12] = (uint8_t)len;
}

/* HMAC of the pseudo-header and data under c's MAC key, compared with
 * `want`.  Returns 0 when they match. */
static int tls_mac_check(struct tls_cipher *c, const uint8_t hdr[5],
			 const uint8_t *data, size_t len, const uint8_t *want)
{
	uint8_t pre[13], got[EVP_MAX_MD_SIZE];
	size_t got_len = 0;
	OSSL_PARAM params[2];

	tls12_pseudo_header(c, hdr, len, pre);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)c->suite->mac, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(c->mac, c->mac_key, c->mac_len, params) <= 0 ||
	    EVP_MAC_update(c->mac, pre, sizeof(pre)) <= 0 ||
	    EVP_MAC_update(c->mac, data, len) <= 0 ||
	    EVP_MAC_final(c->mac, got, &got_len, sizeof(got)) <= 0 ||
	    got_len != c->mac_len)
		return -1;
	return CRYPTO_memcmp(got, want, c->mac_len) == 0 ? 0 : -1;
}

/* CBC decryption of ct into out with iv; TLS 1.0 keeps the last block as
 * the next record's IV.  Returns the plaintext length after the padding
 * is checked and removed, or -1. */
static long tls_cbc(struct tls_cipher *c, const uint8_t *iv,
		    const uint8_t *ct, size_t ct_len, uint8_t *out)
{
	int n = 0, fin = 0;
	size_t pad;

	if (ct_len == 0 || ct_len % TLS_BLOCK != 0 ||
	    EVP_DecryptInit_ex(c->ctx, NULL, NULL, NULL, iv) <= 0 ||
	    EVP_DecryptUpdate(c->ctx, out, &n, ct, (int)ct_len) <= 0 ||
	    EVP_DecryptFinal_ex(c->ctx, out + n, &fin) <= 0)
		return -1;
	if (c->version < TLS_V11)
		memcpy(c->iv, ct + ct_len - TLS_BLOCK, TLS_BLOCK);
	pad = out[ct_len - 1];
	if (pad + 1 > ct_len)
		return -1;
	for (size_t i = ct_len - 1 - pad; i < ct_len; i++)
		if (out[i] != pad)
			return -1;
	return (long)(ct_len - 1 - pad);
}

static long tls_open_cbc(struct tls_cipher *c, const uint8_t hdr[5],
			 const uint8_t *body, size_t len, uint8_t *out)
{
	size_t ivl = c->version >= TLS_V11 ? TLS_BLOCK : 0;
	const uint8_t *iv = ivl != 0 ? body : c->iv;
	long pl;

	if (c->etm) {
		/* MAC over the IV and ciphertext, checked first (RFC 7366). */
		if (!WIRE_HAS(len, 0, c->mac_len + ivl + TLS_BLOCK) ||
		    tls_mac_check(c, hdr, body, len - c->mac_len,
				  body + len - c->mac_len) != 0)
			return -1;
		return tls_cbc(c, iv, body + ivl, len - c->mac_len - ivl, out);
	}
	if (!WIRE_HAS(len, 0, ivl + TLS_BLOCK))
		return -1;
	pl = tls_cbc(c, iv, body + ivl, len - ivl, out);
	if (pl < 0 || (size_t)pl < c->mac_len)
		return -1;
	pl -= (long)c->mac_len;
	return tls_mac_check(c, hdr, out, (size_t)pl, out + pl) == 0 ? pl : -1;
}

long tls_cipher_open(struct tls_cipher *c, const uint8_t hdr[5],
		     const uint8_t *body, size_t len, uint8_t *out,
		     uint8_t *type_r)
{
	uint8_t nonce[12], aad[13];
	size_t ct_len, expl = 0;
	long pl = -1;

	*type_r = hdr[0];
	if (c->suite->prot == TLS_P_CBC) {
		pl = tls_open_cbc(c, hdr, body, len, out);
		c->seq++;
		return pl;
	}
	if (c->suite->tls13 || c->suite->prot == TLS_P_CHACHA) {
		/* nonce = fixed IV XOR the padded sequence number */
		memcpy(nonce, c->iv, 12);
		tls_be64(aad, c->seq);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= aad[i];
	} else {
		/* 1.2 GCM: 4-byte salt + 8-byte explicit nonce (RFC 5288) */
		expl = 8;
		if (!WIRE_HAS(len, 0, expl))
			goto out;
		memcpy(nonce, c->iv, 4);
		memcpy(nonce + 4, body, 8);
	}
	if (!WIRE_HAS(len, expl, TLS_TAG_LEN))
		goto out;
	ct_len = len - expl - TLS_TAG_LEN;
	if (c->suite->tls13) {
		pl = tls_aead(c, nonce, hdr, 5, body, ct_len, out);
		/* TLSInnerPlaintext: content, type, zero padding */
		while (pl > 0 && out[pl - 1] == 0)
			pl--;
		if (pl > 0)
			*type_r = out[--pl];
		else if (pl == 0)
			pl = TLS_OPEN_NO_TYPE;
	} else {
		tls12_pseudo_header(c, hdr, ct_len, aad);
		pl = tls_aead(c, nonce, aad, sizeof(aad), body + expl, ct_len, out);
	}
out:
	c->seq++;
	return pl;
}
