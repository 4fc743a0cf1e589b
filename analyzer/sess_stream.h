/*
 * sess_stream.h - the stream layers of a session: what each direction's
 * bytes go through before the IMAP parser, and the switches that change
 * them (STARTTLS, COMPRESS).
 *
 * A direction's wire bytes pass through up to two layers, outermost
 * first, and what comes out of them is IMAP text for that direction's
 * parser:
 *
 *   wire bytes -> [TLS layer] -> plaintext -> [DEFLATE layer] -> parser
 *
 * The TLS layer starts after a STARTTLS the server accepted (RFC 3501
 * §6.2.1: TLS negotiation begins right after the CRLF of the tagged OK)
 * or, on an implicit-TLS port, with the first byte.  Without keys it
 * counts TLS records opaquely: nothing comes out of it.  With a key store
 * (sess_stream_env) the wire bytes of both directions go, in the
 * order they came, to one tls_conn (tls.h), and the plaintext it
 * decrypts takes the same inner path as cleartext (stream_plain() in
 * sess_stream.c): IMAP inside TLS is parsed by the same parser, and
 * inflated first when COMPRESS is active inside TLS.  Events from that
 * plaintext are stamped with the packet that completed the record, and
 * their offsets count plaintext bytes of the direction.
 *
 * After a STARTTLS, what each direction sends next is probed before it
 * is read (SESS_TLS_PROBE): its bytes are held, unread, until they show
 * what they are.  A TLS record at the start of a line means TLS; any
 * plaintext held before it is the STARTTLS command injection pattern
 * (starttls-injection; the text is parsed so it can be seen).  IMAP
 * text from both sides once the server accepted STARTTLS means the
 * session went on in plaintext (plaintext-after-starttls): a capture
 * taken behind a TLS-inspecting appliance, or a downgrade; both
 * directions are then parsed as cleartext, the one that spoke first
 * first.  A refusal sends the client's held bytes back to plaintext.
 * The look-ahead is bounded: SESS_PROBE_MAX bytes per direction, or the
 * end of the session or a gap, decide with what is held by then.
 * The DEFLATE layer starts after a
 * COMPRESS=DEFLATE the server accepted (RFC 4978 §3: right after the
 * CRLF of the tagged OK, in both directions) and inflates raw DEFLATE.
 *
 * The client and server sides of the engine change the layers only
 * through sess_stream_sent() (the client's STARTTLS or COMPRESS was
 * parsed: its parser pauses, its later bytes wait for the result) and
 * sess_stream_result() (the server's tagged result: the switch happens
 * or the waiting bytes go back to plaintext).  The layers report what
 * they see (STARTTLS injection, a DEFLATE stream that cannot be
 * followed, the tls and compress events) through the engine's events
 * (sess_event.h).  Nothing here knows what an IMAP element means.
 */
#ifndef IMT_SESS_STREAM_H
#define IMT_SESS_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "imap.h"
#include "imt_dir.h"
#include "sess_pending.h"
#include "tcp.h"
#include "tls.h"

#define SESS_HOLD_MAX      65536   /* client bytes held while COMPRESS is pending */
#define SESS_ZBUF          65536   /* inflate output chunk */
#define SESS_PROBE_MAX     4096    /* bytes held per direction after STARTTLS */
#define SESS_PROBE_MARKS   8       /* packets whose time held bytes keep */
#define SESS_SNIFF_MAX     65536   /* TLS bytes read on another port before
				      its plaintext must show IMAP */
#define SESS_SNIFF_FINDINGS 8      /* TLS findings kept until then */

/* The outer layer: what the wire bytes are. */
enum sess_tls_layer {
	SESS_TLS_NONE,     /* cleartext: the wire bytes are the plaintext */
	SESS_TLS_PROBE,    /* after STARTTLS: held until they show TLS or IMAP */
	SESS_TLS_OPAQUE,   /* TLS records: counted, not read */
};

/* The inner layer: what the plaintext is. */
enum sess_zip_layer {
	SESS_ZIP_NONE,     /* IMAP text, fed to the parser */
	SESS_ZIP_HOLD,     /* client after COMPRESS, before the server's result */
	SESS_ZIP_INFLATE,  /* raw DEFLATE, inflated then parsed */
};

/* Implicit TLS on a port not known for it (sess_stream_tls_sniff). */
enum sess_sniff {
	SESS_SNIFF_NONE,   /* not tried */
	SESS_SNIFF_ACTIVE, /* decrypting until the plaintext shows what it is */
	SESS_SNIFF_IMAP,   /* the plaintext was IMAP: the session goes on */
	SESS_SNIFF_FAILED, /* not IMAP, no key, or nothing readable in time */
};

struct session;

/* Says whether plaintext that came first out of a TLS flow on another
 * port (direction d, n bytes at p, valid during the call) is IMAP; on 1
 * the owner has made the flow its session, on 0 it is left alone. */
typedef int (*sess_sniff_fn)(struct session *owner, enum imt_dir d,
			     const uint8_t *p, size_t n);

/* A switch the client asks for and the server's result decides. */
enum sess_switch { SESS_SWITCH_STARTTLS, SESS_SWITCH_COMPRESS };

/* Bytes kept aside, unread. */
struct sess_held {
	uint8_t *p;
	size_t len, cap;
};

/* Where a packet's bytes start among the held ones, and its time. */
struct sess_probe_mark {
	size_t at;
	struct tcp_meta m;
};

/* The look-ahead of a direction after STARTTLS: only sessions that use
 * STARTTLS have one. */
struct sess_probe {
	struct sess_held probe;          /* bytes in SESS_TLS_PROBE */
	struct sess_probe_mark *marks;   /* SESS_PROBE_MARKS, from the first
					    probe on (owned) */
	unsigned nmarks;
	uint64_t probe_order;            /* when its first held byte came (1, 2) */
	int probe_before_ok;             /* that was before the server's OK */
	size_t probe_scan;               /* held bytes looked at for a TLS record */
	size_t probe_nolf;               /* held bytes known to hold no LF */
};

/* Two per open session: the small fields are a byte each. */
struct sess_stream_dir {
	struct imap_parser *parser;      /* owned */
	z_stream *z;                     /* with COMPRESS only (owned) */
	struct sess_held hold;           /* client bytes in SESS_ZIP_HOLD */
	struct sess_probe *pr;           /* from the first SESS_TLS_PROBE on (owned) */
	uint64_t opaque_bytes;           /* TLS or lost bytes */
	uint8_t tls;                     /* enum sess_tls_layer */
	uint8_t zip;                     /* enum sess_zip_layer */
	uint8_t lost;                    /* not followed any more (or not IMAP) */
	uint8_t z_init;
	uint8_t decrypted;               /* plaintext came out of the TLS layer */
};

struct session;
struct sess_tls;

/* What the streams of an engine share (not owned by them). */
struct sess_stream_env {
	uint8_t *zbuf;                   /* SESS_ZBUF bytes of inflate output */
	const struct tls_keys *keys;     /* the key store TLS records are
					    decrypted with; NULL, or empty when
					    TLS starts: they are only counted */
};

struct sess_stream {
	struct session *owner;           /* whose events these are */
	struct tcp_meta *clock;          /* the packet events are stamped with */
	const struct sess_stream_env *env;
	struct sess_stream_dir dir[IMT_NDIRS];
	uint8_t tls;                     /* TLS active (STARTTLS or implicit) */
	uint8_t compress;                /* COMPRESS took effect */
	uint8_t starttls_wait;           /* STARTTLS sent, result not yet seen */
	uint8_t starttls_ok;             /* the server accepted STARTTLS */
	uint8_t plaintext_after_starttls; /* ...and the session went on in plaintext */
	uint8_t sniff;                   /* enum sess_sniff: implicit TLS on another port */
	uint64_t probes;                 /* directions that held bytes so far */
	char *starttls_tag;              /* at its length (owned), or NULL */
	struct sess_tls *tl;             /* owned: the TLS layer, with keys */
	const char *layer;               /* "layer" of the events being made
					    ("tls", "tls-record"), or NULL */
};

/* Sets st up with the two directions' parsers (ended by sess_stream_free
 * with imap_parser_fini: their memory stays the caller's), the owner's current packet (events are stamped
 * with it; held bytes are read back with the time they came at) and what
 * it shares with the engine's other streams (env, which outlives st).
 * Both directions start as cleartext IMAP. */
void sess_stream_init(struct sess_stream *st, struct session *owner,
		      struct tcp_meta *clock, struct imap_parser *c2s,
		      struct imap_parser *s2c, const struct sess_stream_env *env);

/* Ends the parsers, frees inflate states and held bytes; accepts a zeroed st. */
void sess_stream_free(struct sess_stream *st);

/* The parser of direction d. */
struct imap_parser *sess_stream_parser(const struct sess_stream *st, enum imt_dir d);

/* An implicit-TLS port: both directions are TLS from the first byte, and
 * the tls event says so. */
void sess_stream_implicit_tls(struct sess_stream *st);

/*
 * Implicit TLS on a port that is neither an IMAP nor a TLS port: data
 * (len bytes, the client's first) is looked at, and when it starts a
 * TLS handshake record and the key store holds keys, both directions
 * become TLS, decrypted without a word of output: the first plaintext
 * out of the TLS layer goes to recognize, which decides whether the
 * flow is IMAP.  If it is, the TLS findings and the tls event held so
 * far are written (each with the packet it came with) and the
 * plaintext takes the cleartext path as on a TLS port.  The look-ahead
 * is bounded: no key for the session, a record that cannot be
 * decrypted, a gap, or SESS_SNIFF_MAX TLS bytes without plaintext end
 * it (SESS_SNIFF_FAILED, and the TLS stage is freed).  Returns 0 when
 * sniffing started, -1 when not (not TLS, no keys, no memory).
 */
int sess_stream_tls_sniff(struct sess_stream *st, const uint8_t *data, size_t len,
			  sess_sniff_fn recognize);

/* Where the sniffing of sess_stream_tls_sniff stands. */
enum sess_sniff sess_stream_sniff_state(const struct sess_stream *st);

/* Sniffing gives up (a gap before the flow was known to be IMAP). */
void sess_stream_sniff_fail(struct sess_stream *st);

/* With keys: 1 when the TLS layer was active and its records were
 * decrypted, 0 when it was active and they were not; -1 without keys
 * or TLS (session_end says nothing then). */
int sess_stream_decrypted(const struct sess_stream *st);

/* 1 when the TLS layer could not decrypt for want of keys, with the
 * ClientHello's random in random_r; else 0. */
int sess_stream_keyless(const struct sess_stream *st,
			uint8_t random_r[TLS_RANDOM_LEN]);

/* The flow is not IMAP: nothing is followed any more. */
void sess_stream_ignore(struct sess_stream *st);

/* Wire bytes of direction d, in order, through the layers. */
void sess_stream_feed(struct sess_stream *st, enum imt_dir d,
		      const uint8_t *data, size_t len);

/* The next bytes of direction d start a TCP segment (imap.h:
 * imap_parser_segment()); only a plain IMAP stream uses it. */
void sess_stream_segment(struct sess_stream *st, enum imt_dir d);

/* bytes of direction d are missing.  Returns how reading resumes:
 * "in-literal" or "next-line" (the parser resynchronises), "opaque"
 * (TLS: only counted anyway), "lost" (a DEFLATE stream cannot go on
 * over a hole) or "none" (not followed). */
const char *sess_stream_gap(struct sess_stream *st, enum imt_dir d, uint64_t bytes);

/* The stream ended: bytes still held after a STARTTLS are decided with
 * what there is, and the parsers still reading IMAP text finish (a cut
 * line or literal is reported). */
void sess_stream_finish(struct sess_stream *st);

/* The client's STARTTLS (tag) or COMPRESS was parsed: the client's
 * parser pauses right after that line; its later bytes wait for the
 * server's result.  Nothing happens when that switch is in effect
 * already. */
void sess_stream_sent(struct sess_stream *st, enum sess_switch sw, const char *tag);

/* The server's tagged result to the switch's command (tag).  On OK the
 * server's parser pauses right after the result line and both
 * directions switch, with a tls or compress event (after STARTTLS, to
 * probing: TLS is active until the session proves to go on in
 * plaintext); otherwise the client's waiting bytes are plaintext
 * again. */
void sess_stream_result(struct sess_stream *st, enum sess_switch sw,
			enum sess_status status, const char *tag);

/* True when TLS is active: credentials are protected from here on.  Not
 * after a STARTTLS OK that the session went on from in plaintext. */
int sess_stream_tls(const struct sess_stream *st);

/* True when COMPRESS took effect. */
int sess_stream_compressed(const struct sess_stream *st);

#endif
