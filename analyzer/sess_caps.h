/*
 * sess_caps.h - the capabilities a server announced (RFC 3501 §6.1.1,
 * §7.2.1), from a CAPABILITY response or a [CAPABILITY] response code.
 *
 * Kept as upper-case text " CAP1 CAP2 " so that a whole name is found
 * as " NAME ".  Each announcement replaces the one before; after
 * STARTTLS succeeds the list is forgotten (§6.2.1: what was learnt
 * before TLS must not be trusted after it).  Plain data: no events.
 *
 * The sessions to one server hear the same list, and thousands of them
 * may be open at once: each list is kept once, in a store the engine
 * holds, and a session refers to it.
 */
#ifndef IMT_SESS_CAPS_H
#define IMT_SESS_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SESS_CAPS_MAX      2048
#define SESS_CAPS_WORD_MAX 64      /* a capability word quoted in a detail */

/* One list, shared by the sessions that heard it. */
struct sess_caps_text {
	struct sess_caps_text *next;     /* in its store bucket */
	uint64_t hash;
	size_t refs;                     /* sessions that refer to it */
	char *json;                      /* the names as JSON array elements
					    ("CAP1","CAP2"), made when first
					    written (owned), or NULL */
	size_t json_len;
	size_t len;
	char text[];                     /* " CAP1 CAP2 ", upper case */
};

/* The lists in use, by content. */
struct sess_caps_store {
	struct sess_caps_text **slots;
	size_t nslots, n;
	uint64_t seed;
};

/* A session's view: the list it heard last, or none. */
struct sess_caps {
	struct sess_caps_text *t;        /* a reference into the store, or NULL
					    (no announcement seen) */
};

/* An empty store; sess_caps_store_fini() frees every list left in it. */
void sess_caps_store_init(struct sess_caps_store *cs);
void sess_caps_store_fini(struct sess_caps_store *cs);

/* True when the capabilities are known and hold name (upper case). */
int sess_caps_has(const struct sess_caps *c, const char *name);

/* True when an announcement was seen (and not forgotten since). */
int sess_caps_known(const struct sess_caps *c);

/* Replaces the list with the space-separated names in text[0..len),
 * cut at SESS_CAPS_MAX, kept in cs.  Out of memory, nothing is known. */
void sess_caps_set(struct sess_caps *c, struct sess_caps_store *cs,
		   const char *text, size_t len);

/* True when the list holds a word as long as name (upper case) written
 * over with X: all X but for at most two other letters ("XXXXXXXA" where
 * a middlebox blanked STARTTLS).  The word goes to word_r, cut to size. */
int sess_caps_masked(const struct sess_caps *c, const char *name, char *word_r,
		     size_t size);

/* Forgets the list: nothing is known until the next announcement. */
void sess_caps_forget(struct sess_caps *c, struct sess_caps_store *cs);

/* Drops the reference to the list; the struct may be reused zeroed. */
void sess_caps_free(struct sess_caps *c, struct sess_caps_store *cs);
/* Writes the list as an array of strings under key into ev. */
void sess_caps_write(const struct sess_caps *c, struct imt_event *ev,
		     const char *key);

#endif
