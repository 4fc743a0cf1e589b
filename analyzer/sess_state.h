/*
 * sess_state.h - the session's state (RFC 3501 §3): not authenticated,
 * authenticated, selected, logout; unknown for a session picked up
 * mid-stream until something shows it.
 *
 * Commands are judged against the state the session will be in once the
 * commands before them succeed (pipelining, RFC 3501 §5.5): a SELECT
 * sent right behind a LOGIN is not out of state.  The state itself
 * changes only on what the server says (a tagged OK, PREAUTH, BYE), and
 * each change is a state event.
 */
#ifndef IMT_SESS_STATE_H
#define IMT_SESS_STATE_H

#include "imap.h"
#include "imap_cmd.h"

struct session;

/* Sets the state without an event (a session's start): ST_NOTAUTH, or 0
 * when not known. */
void sess_state_init(struct session *s, unsigned state);

/* The state: an ST_ bit, or 0 when not known. */
unsigned sess_state_now(const struct session *s);

/* The state's name, "unknown" when not known. */
const char *sess_state_name(const struct session *s);

/* The state becomes to, for cause (a tag, "PREAUTH", "BYE",
 * "inferred"); a state event says so unless it already was. */
void sess_state_set(struct session *s, unsigned to, const char *cause);

/* The client sent cmd (el, tag; not CMD_UNKNOWN): command-invalid-in-
 * state when neither the state nor the one expected after the pending
 * commands allows it (RFC 3501 §3, §6). */
void sess_state_check(struct session *s, const struct imap_element *el,
		      enum imap_cmd cmd, const char *tag);

/* cmd is pending now: the state expected once it succeeds. */
void sess_state_expect(struct session *s, enum imap_cmd cmd);

/* A command failed: no state change is expected from the pending ones
 * any more than from the state itself. */
void sess_state_command_failed(struct session *s);

#endif
