/*
 * sess_session.h - the engine and the session record, shared by the
 * files that give IMAP elements their meaning (sess_client.c,
 * sess_server.c), keep the state (sess_state.c), write the events
 * (sess_event.c) and run the flows (session.c).
 *
 * The parts with a life of their own are kept in their own modules,
 * each behind its header, and the record only holds them: the stream
 * layers (sess_stream.h), the outstanding commands (sess_pending.h), the
 * capabilities (sess_caps.h), the memory across sessions
 * (sess_memory.h).  What stays here is what the protocol rules share:
 * where the session stands, the selected mailbox, the exchanges in
 * progress and the counters of session_end.
 */
#ifndef IMT_SESS_SESSION_H
#define IMT_SESS_SESSION_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "community_id.h"
#include "event.h"
#include "imt_dir.h"
#include "mem_pool.h"
#include "mem_slab.h"
#include "sess_caps.h"
#include "sess_memory.h"
#include "sess_pending.h"
#include "sess_stream.h"
#include "session.h"

#define SESS_USER_MAX      128
#define SESS_UIDV_SLOTS    32      /* mailboxes whose UIDVALIDITY is remembered */
#define SESS_UIDV_FIRST    1       /* ...in slots that start this many (most
				      sessions select one mailbox) */
#define SESS_UNKNOWN_RESP_SLOTS 8  /* distinct unknown response names reported */
#define SESS_EVENT_POOL    4       /* events being built at once */

/* The session counts these in a byte. */
_Static_assert(SESS_UIDV_SLOTS <= 255 && SESS_UNKNOWN_RESP_SLOTS <= 255,
	       "slot counts must fit in uint8_t");

enum sess_sasl_mech { SESS_SASL_NONE, SESS_SASL_PLAIN, SESS_SASL_LOGIN, SESS_SASL_OTHER };

struct session;
struct sess_x;
struct extract;
struct mime;

/* A mailbox's UIDVALIDITY, remembered by the hash of its name. */
struct sess_uidv {
	uint64_t hash, value;
};

/* Whose a parser's callbacks are: its session and direction. */
struct sess_side {
	struct session *s;
	enum imt_dir d;
};

/* The state of RFC 3501 §3, kept by sess_state.c. */
struct sess_state {
	unsigned now;                    /* ST_ bit, 0 = not known (mid-stream) */
	unsigned expect;                 /* the state once pending commands succeed */
};

/* Longest event prefix: its member names, the session number, two
 * endpoints and the community id. */
#define SESS_EV_PREFIX_MAX (64 + 2 * IP_ENDPOINT_STRLEN + 20 + COMMUNITY_ID_STRLEN)

struct session {
	struct sess_engine *e;
	uint64_t id;
	/* "session":N,"client":"...","server":"...","community_id":"..." of
	 * every event, made by the first event (sess_ev_new) and again once
	 * the session has its number; on the heap at its length, or NULL. */
	char *ev_prefix;
	uint32_t ev_prefix_len;
	uint8_t midstream;
	uint8_t how;                     /* enum tcp_orient */
	struct ip_endpoint cl, sv;
	const char *recognized_by;
	struct tcp_meta first, cur;
	struct sess_stream io;
	struct sess_pending pending;
	struct sess_caps caps;
	struct sess_state st;

	/* Yes/no facts, a byte each: thousands of sessions may be open. */
	uint8_t greeted;                 /* server's first line seen */
	uint8_t client_spoke;
	uint8_t starttls_offered;        /* in this session, before TLS */
	uint8_t starttls_refused;
	uint8_t starttls_stripped;       /* starttls-stripped reported */
	uint8_t idle;                    /* IDLE active */
	uint8_t auth_active;             /* AUTHENTICATE exchange in progress */
	uint8_t logout_sent;
	uint8_t bye_seen;
	uint8_t logout_done;
	uint8_t utf8;
	uint8_t qresync;
	uint8_t gap_seen[IMT_NDIRS];
	uint8_t pending_told;            /* max-pending reported (once) */
	uint8_t read_only;               /* of the selected mailbox */
	uint8_t exists_known;
	uint8_t uidnext_known;
	uint8_t lit_waiting;             /* sync literal announced, no "+" yet */
	uint8_t lit_late;                /* its data went early; a "+" may follow */
	uint8_t auth_mech;               /* enum sess_sasl_mech */
	uint8_t unknown_resp_n;          /* <= SESS_UNKNOWN_RESP_SLOTS */
	uint8_t uidv_cap;                /* slots in uidv, <= SESS_UIDV_SLOTS */
	int auth_step;                   /* client lines sent in the exchange */
	unsigned uidv_next;              /* mailboxes remembered, ever */
	uint64_t *unknown_resp;          /* unknown-response names reported, hashed:
					    SESS_UNKNOWN_RESP_SLOTS from the first (owned) */
	char *user;                      /* owned, or NULL (sess_text_set) */

	/* Selected mailbox. */
	char *mailbox;                   /* owned, or NULL (sess_text_set) */
	uint64_t exists;
	uint64_t uidnext;
	uint64_t uidnext_msgs;           /* message count when UIDNEXT was given */
	uint64_t last_fetch_msn, last_fetch_uid;
	struct sess_uidv *uidv;          /* owned; grows to SESS_UIDV_SLOTS */

	/* Literal synchronisation (client side; and lit_waiting, lit_late). */
	uint64_t lit_frame;

	/* Counters for session_end. */
	uint64_t commands;
	uint64_t untagged;               /* untagged responses (transactions) */
	uint64_t results[SESS_NSTATUS];
	uint64_t violations[4];          /* by severity */

	struct sess_x *x;                /* the evidence export, or NULL */
};

#define SESS_KEYLESS_MAX   1024    /* sessions without keys remembered */

/* A session whose TLS could not be decrypted for want of keys. */
struct sess_keyless {
	uint64_t id;
	char client[IP_ENDPOINT_STRLEN], server[IP_ENDPOINT_STRLEN];
	uint8_t random[TLS_RANDOM_LEN];
};

struct sess_engine {
	struct sess_config cfg;
	struct output *out;
	uint64_t next_id;
	uint64_t sessions, ignored_flows;
	uint64_t totals_violations[4];
	struct sess_stream_env io;       /* what the sessions' streams share:
					    the inflate output (owned), the keys */
	struct sess_memory memory;
	struct imt_event events[SESS_EVENT_POOL];  /* reused, text kept */
	unsigned events_busy;
	struct imt_event event_spill;    /* muted: past the pool (a bug) */
	struct sess_keyless *keyless;    /* ring of sessions without keys */
	size_t nkeyless;                 /* in the ring (SESS_KEYLESS_MAX at most) */
	uint64_t keyless_total;          /* ever */
	struct imt_event txn_scratch;    /* a command's args for its transaction */
	struct mem_pool session_pool;    /* open sessions with their parsers */
	struct mem_reserve reserve;      /* its blocks made ahead (prepare) */
	struct mem_slab small;           /* what an open session keeps besides:
					    names, event prefix, commands, tags */
	struct imap_shelf *lines;        /* the parsers' line storage, shared */
	struct sess_caps_store caps;     /* the capability lists sessions heard */
	struct extract *x;               /* --extract, or NULL */
	struct mime *xm;
	struct session *x_cur;           /* whose objects are being handled */
	int x_told;                      /* the extraction's error was printed */
};

/* Sets *dst to the text p[0..n) up to its first NUL, cut to max - 1
 * bytes and NUL-terminated, in storage of its size from the slab sl
 * (owned; NULL: the heap), or to NULL when that text is empty; what *dst
 * held before goes back to sl.  A session keeps its user and mailbox so:
 * most are short, and many sessions are open.  Out of memory, *dst is
 * NULL. */
static inline void sess_text_set(char **dst, struct mem_slab *sl, const char *p,
				 size_t n, size_t max)
{
	if (*dst != NULL)
		mem_slab_put(sl, *dst, strlen(*dst) + 1);
	*dst = NULL;
	if (n >= max)
		n = max > 0 ? max - 1 : 0;
	if (n > 0)
		n = strnlen(p, n);
	if (n == 0)
		return;
	if ((*dst = mem_slab_get(sl, n + 1)) == NULL)
		return;
	memcpy(*dst, p, n);
	(*dst)[n] = '\0';
}

/* The session's endpoints as its events name them ("ip:port"; "" for
 * the record of findings outside any flow, whose endpoints are unset), in
 * buffers of IP_ENDPOINT_STRLEN bytes: made when needed, as a session
 * keeps the addresses alone. */
static inline void sess_endpoints(const struct session *s, char *client, char *server)
{
	client[0] = server[0] = '\0';
	if (s->cl.family != 0)
		ip_endpoint_format(&s->cl, client, IP_ENDPOINT_STRLEN);
	if (s->sv.family != 0)
		ip_endpoint_format(&s->sv, server, IP_ENDPOINT_STRLEN);
}

/* The text t, or "" when it is not set. */
static inline const char *sess_text(const char *t)
{
	return t != NULL ? t : "";
}

/* The parser of direction d. */
static inline struct imap_parser *sess_parser(const struct session *s, enum imt_dir d)
{
	return sess_stream_parser(&s->io, d);
}

#endif
