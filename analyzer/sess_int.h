/*
 * sess_int.h - internals shared by the session engine's source files
 * (session.c: flows and stream switches; sess_client.c: commands;
 * sess_server.c: responses; sess_event.c: building events).  Nothing
 * outside the engine includes this.
 */
#ifndef IMT_SESS_INT_H
#define IMT_SESS_INT_H

#include <stdint.h>
#include <zlib.h>

#include "event.h"
#include "findings.h"
#include "imap.h"
#include "imap_cmd.h"
#include "session.h"

#define SESS_TAG_MAX       64
#define SESS_NAME_MAX      48
#define SESS_MAILBOX_MAX   256
#define SESS_USER_MAX      128
#define SESS_CAPS_MAX      2048
#define SESS_RECENT_TAGS   256     /* completed tags remembered for tag-reused */
#define SESS_UIDV_SLOTS    32      /* mailboxes whose UIDVALIDITY is remembered */
#define SESS_HOLD_MAX      65536   /* client bytes held while COMPRESS is pending */
#define SESS_ZBUF          65536   /* inflate output chunk */

/* What a direction's bytes are now. */
enum dir_mode {
	DIR_PLAIN,         /* IMAP text, fed to the parser */
	DIR_STARTTLS_WAIT, /* client after STARTTLS, before the server's result */
	DIR_TLS,           /* TLS records: counted, opaque */
	DIR_HOLD,          /* client after COMPRESS, before the server's result */
	DIR_INFLATE,       /* raw DEFLATE, inflated then parsed */
	DIR_LOST,          /* cannot be followed any more (gap in DEFLATE) */
	DIR_IGNORED,       /* not an IMAP flow */
};

enum sasl_mech { SASL_NONE, SASL_PLAIN, SASL_LOGIN, SASL_OTHER };

struct pending_cmd {
	char tag[SESS_TAG_MAX + 1];
	char name[SESS_NAME_MAX];
	enum imap_cmd cmd;
	uint64_t frame;
	int64_t ts_sec;
	uint32_t ts_nsec;
	uint64_t offset;
	char mailbox[SESS_MAILBOX_MAX];  /* SELECT/EXAMINE/COPY/APPEND target */
	int msn_fetch;                   /* FETCH/STORE/SEARCH by number */
};

struct session;

struct sess_dir {
	struct session *s;
	int d;                           /* 0 = c2s, 1 = s2c */
	struct imap_parser *parser;
	enum dir_mode mode;
	z_stream z;
	int z_init;
	uint64_t wire_bytes;             /* bytes delivered by TCP */
	uint64_t opaque_bytes;           /* TLS or lost bytes */
	uint64_t inflated_bytes;
	uint8_t *hold;
	size_t hold_len;
	int tls_checked;                 /* first TLS bytes looked at */
};

struct session {
	struct sess_engine *e;
	uint64_t id;
	char client[IP_ENDPOINT_STRLEN], server[IP_ENDPOINT_STRLEN];
	/* "session":N,"client":"...","server":"..." of every event, made
	 * once the session has its number (ev_new). */
	char ev_prefix[64 + 2 * IP_ENDPOINT_STRLEN];
	size_t ev_prefix_len;
	uint64_t ev_prefix_id;
	struct ip_endpoint cl, sv;
	int midstream;
	enum tcp_orient how;
	const char *recognized_by;
	struct tcp_meta first, cur;
	struct sess_dir dir[2];

	unsigned state;                  /* ST_ bit, 0 = not known (mid-stream) */
	unsigned expect_state;           /* the state once pending commands succeed */
	int greeted;                     /* server's first line seen */
	int client_spoke;
	char caps[SESS_CAPS_MAX];        /* " CAP1 CAP2 ", upper case */
	int caps_known;
	int starttls_offered;            /* in this session, before TLS */
	int tls;                         /* TLS active (STARTTLS or implicit) */
	int starttls_refused;
	int starttls_sent;
	int starttls_wait;               /* STARTTLS sent, result not yet seen */
	char starttls_tag[SESS_TAG_MAX + 1];
	int compress;                    /* COMPRESS took effect */
	int idle;                        /* IDLE active */
	int auth_active;                 /* AUTHENTICATE exchange in progress */
	enum sasl_mech auth_mech;
	int auth_step;                   /* client lines sent in the exchange */
	int logout_sent;
	int bye_seen;
	int logout_done;
	int utf8;
	int qresync;
	int gap_seen[2];
	char user[SESS_USER_MAX];

	/* Selected mailbox. */
	char mailbox[SESS_MAILBOX_MAX];
	int read_only;
	int exists_known;
	uint64_t exists;
	int uidnext_known;
	uint64_t uidnext;
	uint64_t uidnext_msgs;           /* message count when UIDNEXT was given */
	uint64_t last_fetch_msn, last_fetch_uid;
	uint64_t uidv_hash[SESS_UIDV_SLOTS];
	uint64_t uidv_value[SESS_UIDV_SLOTS];
	unsigned uidv_next;

	/* Literal synchronisation (client side). */
	int lit_waiting;                 /* sync literal announced, no "+" yet */
	int lit_late;                    /* its data went early; a "+" may follow */
	uint64_t lit_frame;

	/* Outstanding commands, oldest first. */
	struct pending_cmd *pending;
	size_t npending, cap_pending;
	int pending_told;                /* max-pending reported (once) */
	uint32_t recent_tags[SESS_RECENT_TAGS];
	uint64_t nrecent;        /* tags ever remembered (slot = nrecent % SESS_RECENT_TAGS) */

	/* Counters for session_end. */
	uint64_t commands;
	uint64_t results[4];             /* OK, NO, BAD, other */
	uint64_t violations[4];          /* by severity */
};

struct brute_slot {
	uint8_t family;
	uint8_t addr[16];
	int64_t times[16];               /* failure times, ring */
	unsigned n, head;
	int64_t reported_at;
	int used;
};

struct tls_server {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

#define SESS_BRUTE_SLOTS 1024
#define SESS_EVENT_POOL  4       /* events being built at once */
#define SESS_TLS_SERVERS 256

struct sess_engine {
	struct sess_config cfg;
	struct output *out;
	uint64_t next_id;
	uint64_t sessions, ignored_flows;
	uint64_t totals_violations[4];
	uint8_t *zbuf;
	struct brute_slot *brute;
	struct tls_server tls_servers[SESS_TLS_SERVERS];
	unsigned ntls_servers;
	struct imt_event events[SESS_EVENT_POOL];  /* reused, text kept */
	unsigned events_busy;
	struct imt_event event_spill;    /* muted: past the pool (a bug) */
};

/* sess_event.c */
/* Starts an event of the session with the common fields (ts, session,
 * client, server, type, frame, and dir/offset when dir >= 0); muted when
 * the output does not want the type.  Never NULL. */
struct imt_event *ev_new(struct session *s, enum imt_event_type type, int dir,
			 uint64_t offset);
/* Ends ev and hands it to the output; ev is free again. */
void ev_emit(struct session *s, struct imt_event *ev);
/* p[0..len) cut at cap bytes, with "<key>_truncated": true when cut. */
void ev_str(struct imt_event *ev, const char *key, const char *p, size_t len,
	    size_t cap);
void ev_truncated(struct imt_event *ev, const char *key);
size_t ev_ts(char *buf, size_t size, int64_t sec, uint32_t nsec, int nano);
void sess_finding(struct session *s, enum imt_finding id, int dir,
		  uint64_t offset, const char *detail, const char *tag);
void sess_finding_n(struct session *s, enum imt_finding id, int dir,
		    uint64_t offset, const char *detail, size_t detail_len,
		    const char *tag);
void sess_finding_report(struct session *s, const struct imt_finding_report *f);
void sess_state(struct session *s, unsigned to, const char *cause);
/* Renders el's tokens as readable text into ev[key], cut at cap, with
 * "<key>_truncated" when anything was cut; top-level arguments from
 * redact_from on (-1: none) become "<redacted>". */
void ev_tokens(struct imt_event *ev, const char *key,
	       const struct imap_element *el, size_t cap, int redact_from);
/* The hash that identifies a tag in the recently completed tags; never 0. */
uint32_t sess_tag_hash(const char *tag);
size_t render_tokens(const struct imap_element *el, size_t from, size_t to,
		     char *buf, size_t size, int redact_from);
/* (s1, n1) - (s0, n0) in nanoseconds. */
int64_t ts_diff_ns(int64_t s1, uint32_t n1, int64_t s0, uint32_t n0);

/* sess_client.c */
void client_element(struct session *s, const struct imap_element *el);
void client_literal_begin(struct session *s, const struct imap_literal *lit);
void client_literal_data(struct session *s, uint64_t offset);

/* sess_server.c */
void server_element(struct session *s, const struct imap_element *el);
int sess_has_cap(const struct session *s, const char *cap);
void sess_set_caps(struct session *s, const char *text, size_t len, int replace);
struct pending_cmd *pending_find(struct session *s, const char *tag, size_t len);
void pending_remove(struct session *s, struct pending_cmd *pc);
int pending_has_msn(const struct session *s);

/* session.c */
void sess_start_tls(struct session *s, const char *after_tag);
void sess_start_compress(struct session *s, const char *after_tag);
void sess_starttls_sent(struct session *s, const char *tag);
void sess_compress_sent(struct session *s);
void sess_stream_result(struct session *s, int ok);
void sess_brute_failure(struct session *s);
void sess_remember_tls_server(struct session *s);
int sess_server_had_tls(const struct session *s);

/* Helpers. */
int token_is_atom_like(const struct imap_token *t);
size_t token_text(const struct imap_element *el, const struct imap_token *t,
		  const char **p_r);

#endif
