/*
 * sess_pending.h - a session's outstanding commands and its memory of
 * completed tags, and the statuses that complete them.
 *
 * RFC 3501 §2.2.1: the client gives each command a tag that is unique
 * while the command is outstanding; §2.2.2: the server completes it
 * with a tagged result carrying that tag, in any order (commands may be
 * pipelined, §5.5).  The list keeps the commands oldest first; a tag is
 * remembered (as a hash, never 0) once its command completed, so that a
 * later command reusing it can be told apart from one that collides
 * with an outstanding command.  Plain data: no events, no session.
 */
#ifndef IMT_SESS_PENDING_H
#define IMT_SESS_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "imap_cmd.h"
#include "mem_slab.h"

#define SESS_TAG_MAX       64
#define SESS_NAME_MAX      48
#define SESS_MAILBOX_MAX   256
#define SESS_RECENT_TAGS   256     /* completed tags remembered for tag-reused */
#define SESS_RECENT_FIRST  4       /* ...in a ring that starts this large (a
				      session that logged in, selected and
				      waits completed about three) */

/* The status of a tagged result (RFC 3501 §7.1); anything else is
 * SESS_OTHER.  Indexes the per-status counters. */
enum sess_status { SESS_OK, SESS_NO, SESS_BAD, SESS_OTHER, SESS_NSTATUS };

/* The status named by a result's status word (already upper case). */
enum sess_status sess_status_of(const char *name);
/* "OK", "NO", "BAD" or "other". */
const char *sess_status_name(enum sess_status st);

#define SESS_CMD_INLINE    24      /* "tag\0name\0" kept in the record */

/* What a command's transaction record needs (sess_txn.h), only with
 * --transactions. */
struct sess_cmd_txn {
	char *args;                      /* "args" members (owned), or NULL */
	size_t args_len;
	unsigned state;                  /* the state when it was sent */
	uint64_t s2c;                    /* the server's stream offset then */
	uint64_t untagged;               /* untagged responses before it */
};

/* An outstanding command.  Many sessions wait with one (IDLE), so the
 * record is small: its tag and name are kept together as "tag\0name\0",
 * in the record when they fit (most do), else on the heap; read them
 * with sess_cmd_tag() and sess_cmd_name(). */
struct sess_cmd {
	char *text;                      /* "tag\0name\0" (owned) when longer
					    than SESS_CMD_INLINE, else NULL */
	char in[SESS_CMD_INLINE];        /* "tag\0name\0" otherwise */
	uint64_t frame;
	int64_t ts_sec;
	uint64_t offset;
	char *mailbox;                   /* SELECT/EXAMINE/COPY/APPEND target
					    (owned, < SESS_MAILBOX_MAX), or NULL */
	struct sess_cmd_txn *txn;        /* owned, or NULL */
	uint32_t ts_nsec;
	uint16_t cmd;                    /* enum imap_cmd: 80 bytes in all */
	uint8_t tag_len;                 /* <= SESS_TAG_MAX */
	uint8_t msn_fetch;               /* FETCH/STORE/SEARCH by number */
};

_Static_assert(CMD_UNKNOWN <= UINT16_MAX, "enum imap_cmd must fit in uint16_t");

/* Sets the tag of c (a zeroed or released record) to tag[0..tl) up to
 * its first NUL (tl <= SESS_TAG_MAX) and its name to name, cut to
 * SESS_NAME_MAX - 1 bytes.  Returns 0, or -1 when out of memory (both
 * are then cut to what the record holds). */
int sess_cmd_set_text(struct sess_cmd *c, const char *tag, size_t tl,
		      const char *name);

/* The tag of c (NUL-terminated, sess_cmd_set_text()). */
static inline const char *sess_cmd_tag(const struct sess_cmd *c)
{
	return c->text != NULL ? c->text : c->in;
}

/* The command name of c as the client sent it (NUL-terminated). */
static inline const char *sess_cmd_name(const struct sess_cmd *c)
{
	return sess_cmd_tag(c) + c->tag_len + 1;
}

/* Frees what c owns (its text, mailbox, transaction's args); c may be
 * reused zeroed. */
void sess_cmd_release(struct sess_cmd *c);

/* Both arrays grow as they fill, the list from one command and the
 * tags from a few, and the list is freed whenever the last outstanding
 * command completes: a session that waits costs no command storage.
 * Both come from the slab the functions below are given (the engine's;
 * NULL: the heap), always the same one for a list. */
struct sess_pending {
	struct sess_cmd *cmds;           /* outstanding, oldest first */
	uint32_t *recent;                /* hashes of completed tags (owned) */
	uint64_t nrecent;        /* tags ever remembered (slot = nrecent % SESS_RECENT_TAGS) */
	uint32_t n, cap;                 /* UINT32_MAX at most */
	uint32_t recent_cap;             /* slots allocated, SESS_RECENT_TAGS at most */
};

/* Appends a zeroed command.  When max (0: no limit) commands are
 * outstanding already, the oldest eighth are forgotten (and freed)
 * first and *dropped_r says how many (0 otherwise).  Returns NULL only when out of
 * memory. */
struct sess_cmd *sess_pending_add(struct sess_pending *p, struct mem_slab *sl,
				  size_t max, size_t *dropped_r);

/* The outstanding command tagged tag[0..len) (len <= SESS_TAG_MAX), or
 * NULL. */
struct sess_cmd *sess_pending_find(struct sess_pending *p, const char *tag,
				   size_t len);

/* Takes c (from this list) out of it into *done_r and remembers its tag
 * as completed (out of memory, it is not remembered).  What done_r owns
 * belongs to the caller now (sess_cmd_release()).  Pointers into the list are invalid after
 * it. */
void sess_pending_complete(struct sess_pending *p, struct mem_slab *sl,
			   struct sess_cmd *c, struct sess_cmd *done_r);

/* True when tag belongs to a command that completed (among the last
 * SESS_RECENT_TAGS). */
int sess_pending_tag_completed(const struct sess_pending *p, const char *tag);

/* The newest outstanding command whose command is a or b, or NULL. */
struct sess_cmd *sess_pending_newest_of(struct sess_pending *p, enum imap_cmd a,
					enum imap_cmd b);

/* The newest outstanding command, or NULL. */
struct sess_cmd *sess_pending_newest(struct sess_pending *p);

/* The tag of the only outstanding command, or NULL when there are none
 * or several (an untagged response then answers no one command). */
const char *sess_pending_only_tag(const struct sess_pending *p);

/* True when a command that names messages by number is outstanding. */
int sess_pending_has_msn(const struct sess_pending *p);

/* The number of outstanding commands, and the i-th (oldest first;
 * i < the number). */
size_t sess_pending_count(const struct sess_pending *p);
const struct sess_cmd *sess_pending_at(const struct sess_pending *p, size_t i);

/* Frees the list; the struct may be reused zeroed. */
void sess_pending_free(struct sess_pending *p, struct mem_slab *sl);

#endif
