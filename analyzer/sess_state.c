/*
 * sess_state.c - the session's state and the command table's state rule
 * (see sess_state.h).
 */
#include <stdio.h>

#include "sess_event.h"
#include "sess_session.h"
#include "sess_state.h"

void sess_state_init(struct session *s, unsigned state)
{
	s->st.now = state;
	s->st.expect = state;
}

unsigned sess_state_now(const struct session *s)
{
	return s->st.now;
}

const char *sess_state_name(const struct session *s)
{
	return s->st.now == 0 ? "unknown" : imap_state_name(s->st.now);
}

void sess_state_set(struct session *s, unsigned to, const char *cause)
{
	struct imt_event *ev;

	if (s->st.now == to)
		return;
	ev = sess_ev_new(s, EV_STATE, IMT_DIR_NONE, 0);
	event_cstring(ev, "from", sess_state_name(s));
	event_cstring(ev, "to", imap_state_name(to));
	event_cstring(ev, "cause", cause);
	s->st.now = to;
	s->st.expect = to;
	sess_ev_emit(s, ev);
}

/* The state a command leads to if it succeeds (RFC 3501 §3's diagram:
 * LOGIN/AUTHENTICATE, SELECT/EXAMINE, CLOSE, UNSELECT (RFC 3691),
 * UNAUTHENTICATE (RFC 8437)). */
void sess_state_expect(struct session *s, enum imap_cmd cmd)
{
	switch (cmd) {
	case CMD_LOGIN: case CMD_AUTHENTICATE:
		s->st.expect = ST_AUTH;
		break;
	case CMD_SELECT: case CMD_EXAMINE:
		s->st.expect = ST_SELECTED;
		break;
	case CMD_CLOSE: case CMD_UNSELECT: case CMD_UNAUTHENTICATE:
		s->st.expect = cmd == CMD_UNAUTHENTICATE ? ST_NOTAUTH : ST_AUTH;
		break;
	default:
		break;
	}
}

void sess_state_check(struct session *s, const struct imap_element *el,
		      enum imap_cmd cmd, const char *tag)
{
	const struct imap_cmd_info *ci = imap_cmd_info(cmd);
	char detail[160];

	/* Pipelined commands are judged by the state the commands before
	 * them lead to when they succeed; an unknown or logout state
	 * judges nothing (command-after-logout says more). */
	if (s->st.now == 0 || s->st.now == ST_LOGOUT || (ci->states & s->st.now) ||
	    (ci->states & s->st.expect))
		return;
	snprintf(detail, sizeof(detail), "%s is not allowed in the %s state",
		 ci->name, imap_state_name(s->st.now));
	sess_finding(s, F_COMMAND_INVALID_IN_STATE, IMT_C2S, el->offset, detail, tag);
}

void sess_state_command_failed(struct session *s)
{
	s->st.expect = s->st.now;
}
