/*
 * tls.h - the TLS stage: records in, handshake facts and plaintext out.
 *
 * One tls_conn follows one TCP flow's TLS session in both directions
 * (implicit TLS from the first byte, or after STARTTLS).  Bytes go in,
 * per direction, in any chunking; the stage frames records (across
 * segments, several per segment), reassembles handshake messages across
 * records, reads the ClientHello, ServerHello and HelloRetryRequest,
 * follows ChangeCipherSpec, alerts and TLS 1.3 KeyUpdate, and, when the
 * key store holds the session's secrets, decrypts the records and hands
 * the application data on in order.  Nothing is ever invented: a record
 * that does not authenticate gives a finding, not bytes.
 *
 * Versions and suites: TLS 1.3 (TLS_AES_128_GCM_SHA256,
 * TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256); TLS 1.2 with
 * AES-GCM, ChaCha20-Poly1305 and AES-CBC with HMAC-SHA1/256/384 (both
 * MAC-then-encrypt and encrypt-then-MAC, RFC 7366), whatever the key
 * exchange; TLS 1.0 and 1.1 with the same CBC suites.  All cryptography is
 * OpenSSL's libcrypto (EVP).
 *
 * Memory is bounded per connection: a record is held only when it spans
 * chunks (at most TLS_MAX_CIPHERTEXT + 5 bytes per direction), one
 * plaintext buffer, and the handshake messages the stage reads (hellos,
 * KeyUpdate) up to TLS_MAX_HELLO; other handshake messages are counted
 * through.  Feeding the same bytes whole, one byte at a time or split at
 * any offset gives the same callbacks.
 */
#ifndef IMT_TLS_H
#define IMT_TLS_H

#include <stdint.h>
#include <stddef.h>

#include "findings.h"
#include "tcp.h"

/* Record sizes (RFC 8446 §5.1-5.2, RFC 5246 §6.2). */
#define TLS_MAX_PLAINTEXT   (1u << 14)
#define TLS13_MAX_CIPHERTEXT (TLS_MAX_PLAINTEXT + 256)
#define TLS_MAX_CIPHERTEXT  (TLS_MAX_PLAINTEXT + 2048)
/* Largest ClientHello/ServerHello read; a longer one is counted through
 * and reported (tls-handshake-too-long).  Post-quantum key shares keep
 * real hellos under 2 KiB; 64 KiB leaves room for any sane extension. */
#define TLS_MAX_HELLO       (64u << 10)
/* A handshake message declaring more than this never ends in practice
 * (certificate chains are tens of KiB); it is reported, still counted. */
#define TLS_MAX_HANDSHAKE   (1u << 20)

/* Why a session's records are (not) being decrypted. */
#define TLS_REASONS(X) \
	X(TLS_R_PENDING, "pending", "the handshake has not reached encrypted records yet") \
	X(TLS_R_DECRYPTED, "decrypted", "the records are being decrypted") \
	X(TLS_R_NO_KEY, "no-key", "the key log holds no secret for this session") \
	X(TLS_R_UNSUPPORTED, "unsupported-cipher", "the negotiated cipher suite or compression is not supported") \
	X(TLS_R_NO_HANDSHAKE, "no-handshake", "the handshake is not in the capture") \
	X(TLS_R_AUTH_FAILED, "auth-failed", "a record failed authentication with the logged key") \
	X(TLS_R_NOT_TLS, "not-tls", "the stream stopped looking like TLS records")

enum tls_reason {
#define TLS_REASON_ENUM(e, name, desc) e,
	TLS_REASONS(TLS_REASON_ENUM)
#undef TLS_REASON_ENUM
	TLS_R__COUNT
};

/* Returns the short name of r ("no-key"...), or "unknown". */
const char *tls_reason_name(enum tls_reason r);
/* Returns a one-line description of r. */
const char *tls_reason_desc(enum tls_reason r);

/* "TLS 1.2"... for a version as on the wire, or "unknown version". */
const char *tls_version_name(uint16_t v);
/* The IANA name of a supported cipher suite, or NULL. */
const char *tls_suite_name(uint16_t id);

/* Record content types (RFC 8446 §5.1). */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT              21
#define TLS_CT_HANDSHAKE          22
#define TLS_CT_APPLICATION_DATA   23
#define TLS_CT_HEARTBEAT          24

/* Protocol versions as on the wire. */
#define TLS_V10 0x0301
#define TLS_V11 0x0302
#define TLS_V12 0x0303
#define TLS_V13 0x0304

/* ------------------------------------------------------------------ */
/* Key store: NSS key log lines, looked up by client random.           */

#define TLS_RANDOM_LEN 32
#define TLS_SECRET_MAX 48        /* SHA-384 secrets, the 1.2 master secret */

/* The secrets a key log may give for one session (NSS key log labels). */
#define TLS_SECRETS(X) \
	X(TLS_SEC_MASTER, "CLIENT_RANDOM") \
	X(TLS_SEC_C_HS, "CLIENT_HANDSHAKE_TRAFFIC_SECRET") \
	X(TLS_SEC_S_HS, "SERVER_HANDSHAKE_TRAFFIC_SECRET") \
	X(TLS_SEC_C_AP, "CLIENT_TRAFFIC_SECRET_0") \
	X(TLS_SEC_S_AP, "SERVER_TRAFFIC_SECRET_0")

enum tls_secret {
#define TLS_SECRET_ENUM(e, label) e,
	TLS_SECRETS(TLS_SECRET_ENUM)
#undef TLS_SECRET_ENUM
	TLS_SEC__COUNT
};

struct tls_keys;

/* Creates an empty store; NULL only when out of memory. */
struct tls_keys *tls_keys_new(void);

/* A key log line that was skipped; `why` names the problem. */
typedef void (*tls_keys_warn_fn)(void *user, const char *file,
				 unsigned long line, const char *why);

/*
 * Adds one key log line (without or with its line end).  Comments (#),
 * blank lines and labels other than TLS_SECRETS are ignored; a line of
 * an unknown shape or with hex of the wrong length is skipped and, when
 * warn is not NULL, reported as file:line (file may be any name of the
 * source, such as "pcapng DSB").  A later line for the same client
 * random and label replaces the earlier one.  Returns 1 when a secret
 * was stored, 0 when the line was ignored or skipped, -1 when out of
 * memory.
 */
int tls_keys_add_line(struct tls_keys *k, const char *line, size_t len,
		      const char *file, unsigned long lineno,
		      tls_keys_warn_fn warn, void *user);

/*
 * Reads a whole NSS key log file, line by line (lines longer than 1 KiB
 * are malformed).  Returns the number of secrets stored (>= 0), or -1
 * when the file cannot be read (errno says why) or memory ran out.
 */
long tls_keys_load_file(struct tls_keys *k, const char *path,
			tls_keys_warn_fn warn, void *user);

/*
 * Looks a secret up.  Returns its length (32 or 48) and points *secret_r
 * at it (valid until the store is freed or changed), or 0 when the store
 * has none.
 */
size_t tls_keys_find(const struct tls_keys *k,
		     const uint8_t random[TLS_RANDOM_LEN],
		     enum tls_secret which, const uint8_t **secret_r);

/* Sessions (client randoms) with at least one secret. */
size_t tls_keys_count(const struct tls_keys *k);

/* Frees k, wiping the secrets; accepts NULL. */
void tls_keys_free(struct tls_keys *k);

/* ------------------------------------------------------------------ */
/* The stage.                                                          */

enum tls_dir { TLS_C2S = 0, TLS_S2C = 1 };

#define TLS_HELLO_KINDS(X) \
	X(TLS_HELLO_CLIENT, "client_hello") \
	X(TLS_HELLO_SERVER, "server_hello") \
	X(TLS_HELLO_RETRY, "hello_retry_request")

enum tls_hello_kind {
#define TLS_HELLO_ENUM(e, name) e,
	TLS_HELLO_KINDS(TLS_HELLO_ENUM)
#undef TLS_HELLO_ENUM
};

const char *tls_hello_kind_name(enum tls_hello_kind k);

#define TLS_MAX_LISTED 16        /* versions / ALPN names kept per hello */

/* What a hello said.  Lives only during the callback. */
struct tls_hello_info {
	enum tls_hello_kind kind;
	uint16_t legacy_version;         /* the hello's version field */
	uint16_t version;                /* server: the negotiated version
					    (supported_versions, else the
					    legacy field); client: the highest
					    offered */
	uint8_t random[TLS_RANDOM_LEN];
	uint8_t session_id[32];
	size_t session_id_len;
	/* ClientHello */
	const char *sni;                 /* host_name, or NULL */
	size_t sni_len;
	const char *alpn[TLS_MAX_LISTED];/* offered ALPN names (not NUL-
					    terminated), first TLS_MAX_LISTED */
	size_t alpn_len[TLS_MAX_LISTED];
	size_t nalpn;
	uint16_t versions[TLS_MAX_LISTED];   /* supported_versions, GREASE
						left out */
	size_t nversions;
	int offers_ticket;               /* session_ticket extension */
	int offers_psk;                  /* pre_shared_key extension */
	int offers_early_data;
	/* ServerHello */
	uint16_t cipher_suite;
	const char *cipher_name;         /* IANA name, or NULL if unknown */
	uint8_t compression;
	int resumed;                     /* PSK accepted (1.3), or the
					    client's session id echoed (1.2) */
	int encrypt_then_mac;            /* RFC 7366 extension answered */
};

/* Where a piece of plaintext came from.  Lives only during the callback. */
struct tls_record_info {
	uint64_t tls_offset;     /* offset of the record's first header byte
				    in this direction's TLS stream (the bytes
				    given to tls_feed and tls_gap) */
	uint64_t plain_offset;   /* offset of the first plaintext byte in
				    this direction's application data */
	uint64_t seq;            /* the record's sequence number */
	uint16_t version;        /* record header version */
	uint8_t type;            /* inner content type (23) */
};

struct tls_callbacks {
	/* Application data, decrypted and authenticated, in order. */
	void (*on_plaintext)(void *user, enum tls_dir dir, const uint8_t *data,
			     size_t len, const struct tls_record_info *ri,
			     const struct tcp_meta *m);
	/* `bytes` of application data (at most; TLS 1.3 padding is counted
	 * in) are lost at plain_offset: a record that could not be read
	 * (gap, failed authentication, too long) after decryption began. */
	void (*on_plaintext_gap)(void *user, enum tls_dir dir,
				 uint64_t plain_offset, uint64_t bytes,
				 const struct tcp_meta *m);
	/* A ClientHello, ServerHello or HelloRetryRequest was read. */
	void (*on_hello)(void *user, enum tls_dir dir,
			 const struct tls_hello_info *hi,
			 const struct tcp_meta *m);
	/* tls-* findings and limit-reached; f->offset is the TLS stream
	 * offset of the record concerned; frame is 0 (the caller knows). */
	void (*on_finding)(void *user, const struct imt_finding_report *f,
			   const struct tcp_meta *m);
};

struct tls_conn;

/* Creates the stage for one flow.  keys may be NULL (nothing can be
 * decrypted) and must outlive the conn; *cb is copied.  NULL only when
 * out of memory. */
struct tls_conn *tls_conn_new(const struct tls_keys *keys,
			      const struct tls_callbacks *cb, void *user);

/*
 * Reads len bytes that follow the previous ones in direction dir.
 * Everything complete inside this call is delivered before it returns;
 * m (may be NULL) is handed to those callbacks.  Callbacks must not feed
 * or free the conn.  Returns 0 while the direction is still followed, -1
 * once it no longer is (not TLS, or desynchronised by a gap): later bytes
 * are only counted.
 */
int tls_feed(struct tls_conn *c, enum tls_dir dir, const uint8_t *data,
	     size_t len, const struct tcp_meta *m);

/*
 * `bytes` bytes of direction dir are missing at the current position.
 * When they fall inside the body of the record being read, that record
 * is lost (on_plaintext_gap if it carried application data) and the
 * records after it are still read; returns 0.  Otherwise the record
 * boundaries are lost: the direction is given up (if it was being
 * decrypted, on_plaintext_gap says so, with the gap's size: the rest of
 * the stream is lost too), returns -1.
 */
int tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t bytes,
	    const struct tcp_meta *m);

/*
 * End of both directions.  Reports a record or handshake message cut
 * short (tls-truncated).  Returns 1 if bytes of an incomplete record were
 * pending, else 0.
 */
int tls_finish(struct tls_conn *c, const struct tcp_meta *m);

struct tls_status {
	int decrypted;           /* reason == TLS_R_DECRYPTED */
	enum tls_reason reason;
	uint16_t version;        /* negotiated, 0 until the ServerHello */
	uint16_t cipher_suite;   /* 0 until the ServerHello */
	int resumed;
	uint64_t tls_bytes[2];   /* bytes fed per direction (gaps excluded) */
	uint64_t records[2];     /* records read per direction */
	uint64_t plain_bytes[2]; /* application data delivered */
	uint64_t opaque_bytes[2];/* record bytes that were not decrypted */
};

/* Fills *st_r. */
void tls_conn_status(const struct tls_conn *c, struct tls_status *st_r);

/* Frees c, wiping the keys it derived; accepts NULL. */
void tls_conn_free(struct tls_conn *c);

#endif
