/*
 * sess_txn.h - transaction records (--transactions): one record per
 * command, written when its tagged result completes it, or at the end
 * of the session for a command that never got one.
 *
 * A record carries what a latency or error-rate panel charts: the tag,
 * command, redacted arguments, status and response code, latency, bytes
 * each way, untagged responses, mailbox, state before and after, and
 * the frames of the command and of its result.  Only a session whose
 * output wants transaction events keeps the arguments (a copy of the
 * command's "args" members, already escaped and redacted), so a run
 * without --transactions pays nothing.
 */
#ifndef IMT_SESS_TXN_H
#define IMT_SESS_TXN_H

#include "imap.h"
#include "sess_pending.h"

struct session;

/* True when the output writes transaction records. */
int sess_txn_wanted(const struct session *s);

/* The client sent el as the command pc (filled already): remembers what
 * its record needs.  redact_from is that of the command event
 * (sess_ev_tokens). */
void sess_txn_begin(struct session *s, struct sess_cmd *pc,
		    const struct imap_element *el, int redact_from);

/* The tagged result el completed pc (taken out of the pending list; its
 * effects on the state applied): writes its record and frees what pc
 * kept for it. */
void sess_txn_result(struct session *s, struct sess_cmd *pc,
		     const struct imap_element *el);

/* The session ends with pc unanswered: writes its record with a null
 * status.  pc stays in the pending list, which frees it. */
void sess_txn_unanswered(struct session *s, const struct sess_cmd *pc);

#endif
