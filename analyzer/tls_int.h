/*
 * tls_int.h - what the TLS record layer (tls.c) needs from the key
 * schedule and record protection (tls_crypto.c).  Not a public header:
 * only the tls*.c files and the TLS unit test include it.
 */
#ifndef IMT_TLS_INT_H
#define IMT_TLS_INT_H

#include <stdint.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "tls.h"

enum tls_prot { TLS_P_GCM, TLS_P_CHACHA, TLS_P_CBC };

/*
 * The cipher suites the stage decrypts, one row each: IANA id and name,
 * TLS 1.3 only or not, record protection, the EVP cipher, key and fixed
 * IV lengths (1.2 AEAD: the salt; CBC: 0, the IV is explicit from 1.1 on
 * and comes from the key block, 16 bytes, before), the HMAC digest (CBC),
 * and the PRF / HKDF digest.
 */
#define TLS_SUITES(X) \
	X(0x1301, "TLS_AES_128_GCM_SHA256", 1, TLS_P_GCM, "AES-128-GCM", 16, 12, NULL, "SHA256") \
	X(0x1302, "TLS_AES_256_GCM_SHA384", 1, TLS_P_GCM, "AES-256-GCM", 32, 12, NULL, "SHA384") \
	X(0x1303, "TLS_CHACHA20_POLY1305_SHA256", 1, TLS_P_CHACHA, "ChaCha20-Poly1305", 32, 12, NULL, "SHA256") \
	X(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0, TLS_P_GCM, "AES-128-GCM", 16, 4, NULL, "SHA256") \
	X(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0, TLS_P_GCM, "AES-256-GCM", 32, 4, NULL, "SHA384") \
	X(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0, TLS_P_GCM, "AES-128-GCM", 16, 4, NULL, "SHA256") \
	X(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0, TLS_P_GCM, "AES-256-GCM", 32, 4, NULL, "SHA384") \
	X(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0, TLS_P_GCM, "AES-128-GCM", 16, 4, NULL, "SHA256") \
	X(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0, TLS_P_GCM, "AES-256-GCM", 32, 4, NULL, "SHA384") \
	X(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", 0, TLS_P_GCM, "AES-128-GCM", 16, 4, NULL, "SHA256") \
	X(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", 0, TLS_P_GCM, "AES-256-GCM", 32, 4, NULL, "SHA384") \
	X(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0, TLS_P_CHACHA, "ChaCha20-Poly1305", 32, 12, NULL, "SHA256") \
	X(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0, TLS_P_CHACHA, "ChaCha20-Poly1305", 32, 12, NULL, "SHA256") \
	X(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0, TLS_P_CHACHA, "ChaCha20-Poly1305", 32, 12, NULL, "SHA256") \
	X(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA1", "SHA256") \
	X(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA1", "SHA256") \
	X(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA256", "SHA256") \
	X(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA256", "SHA256") \
	X(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA1", "SHA256") \
	X(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA1", "SHA256") \
	X(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA256", "SHA256") \
	X(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA256", "SHA256") \
	X(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA1", "SHA256") \
	X(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA1", "SHA256") \
	X(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA1", "SHA256") \
	X(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA1", "SHA256") \
	X(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA256", "SHA256") \
	X(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA384", "SHA384") \
	X(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0, TLS_P_CBC, "AES-128-CBC", 16, 0, "SHA256", "SHA256") \
	X(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0, TLS_P_CBC, "AES-256-CBC", 32, 0, "SHA384", "SHA384")

struct tls_suite {
	uint16_t id;
	const char *name;
	int tls13;
	enum tls_prot prot;
	const char *cipher;      /* EVP cipher name */
	uint8_t key_len;
	uint8_t iv_len;          /* fixed IV / salt from the key schedule */
	const char *mac;         /* HMAC digest (CBC), else NULL */
	const char *prf;         /* PRF (1.2) or HKDF (1.3) digest */
};

/* Returns the row of suite id, or NULL when it is not supported. */
const struct tls_suite *tls_suite_find(uint16_t id);
/* Returns the output size of digest `md` ("SHA256"...), 0 if unknown. */
size_t tls_md_size(const char *md);

#define TLS_TAG_LEN 16
#define TLS_MAX_KEY 32
#define TLS_MAX_IV 16
#define TLS_MAX_MAC 48

/* One direction's record protection.  Zeroed = inactive. */
struct tls_cipher {
	const struct tls_suite *suite;
	uint16_t version;
	int etm;                 /* CBC: encrypt-then-MAC (RFC 7366) */
	EVP_CIPHER_CTX *ctx;
	EVP_MAC_CTX *mac;        /* CBC: HMAC keyed with mac_key */
	uint8_t iv[TLS_MAX_IV];  /* AEAD: fixed IV; CBC 1.0: the chained IV */
	uint8_t mac_key[TLS_MAX_MAC];
	size_t mac_len;          /* CBC: HMAC key and output size */
	uint64_t seq;
};

/*
 * Keys c for suite s at `version` (for CBC, etm picks the record layout).
 * mac_key is used by CBC suites only.  Returns 0, or -1 when libcrypto
 * refused (c is then left inactive).
 */
int tls_cipher_init(struct tls_cipher *c, const struct tls_suite *s,
		    uint16_t version, int etm, const uint8_t *key,
		    const uint8_t *iv, const uint8_t *mac_key);

/* Keys c from a TLS 1.3 traffic secret (RFC 8446 §7.3).  Returns 0 or -1. */
int tls13_cipher_init(struct tls_cipher *c, const struct tls_suite *s,
		      const uint8_t *secret, size_t secret_len);

/*
 * Opens one protected record: hdr is its 5-byte header, body its len
 * bytes.  Writes the plaintext to out (room for len bytes) and, for TLS
 * 1.3, the inner content type to *type_r (else the header's).  The
 * sequence number advances either way.  Returns the plaintext length,
 * -1 when the record does not authenticate (or cannot be a record of
 * this cipher: too short, not whole blocks, bad padding), or
 * TLS_OPEN_NO_TYPE for a TLS 1.3 record that authenticates but holds
 * only zeros (no content type).
 */
#define TLS_OPEN_NO_TYPE (-2)
long tls_cipher_open(struct tls_cipher *c, const uint8_t hdr[5],
		     const uint8_t *body, size_t len, uint8_t *out,
		     uint8_t *type_r);

/* Frees c's contexts and wipes it; accepts an inactive c. */
void tls_cipher_clear(struct tls_cipher *c);

/* HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.  Returns 0
 * or -1. */
int tls13_expand_label(const char *md, const uint8_t *secret,
		       size_t secret_len, const char *label,
		       uint8_t *out, size_t out_len);

/* The TLS PRF (RFC 5246 §5; "MD5-SHA1" gives the TLS 1.0/1.1 PRF):
 * PRF(secret, label, seed1 + seed2), out_len bytes.  Returns 0 or -1. */
int tls_prf(const char *md, const uint8_t *secret, size_t secret_len,
	    const char *label, const uint8_t *seed1, size_t seed1_len,
	    const uint8_t *seed2, size_t seed2_len,
	    uint8_t *out, size_t out_len);

/*
 * TLS 1.0-1.2: the two directions' ciphers from the master secret
 * (RFC 5246 §6.3).  Returns 0, or -1 (both left inactive).
 */
int tls12_ciphers_init(struct tls_cipher *client, struct tls_cipher *server,
		       const struct tls_suite *s, uint16_t version, int etm,
		       const uint8_t *master, size_t master_len,
		       const uint8_t client_random[TLS_RANDOM_LEN],
		       const uint8_t server_random[TLS_RANDOM_LEN]);

/* tls_hello.c: parses a ClientHello (client) or ServerHello body into
 * *hi.  Returns 0, or -1 when it does not parse (hi then holds what was
 * read before the fault). */
int tls_hello_parse(const uint8_t *p, size_t len, int client,
		    struct tls_hello_info *hi);

#endif
