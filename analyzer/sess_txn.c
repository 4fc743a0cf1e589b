/*
 * sess_txn.c - transaction records (see sess_txn.h).
 *
 * Bytes and untagged responses are counted from the command to its
 * result in each direction: from the command's first byte to where the
 * client stream stood when the result came, and from where the server
 * stream stood when the command came to the end of the result line.
 * Pipelined transactions overlap, as they do on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "sess_event.h"
#include "sess_session.h"
#include "sess_state.h"
#include "sess_token.h"
#include "sess_txn.h"

int sess_txn_wanted(const struct session *s)
{
	return out_wants(s->e->out, EV_TRANSACTION);
}

void sess_txn_begin(struct session *s, struct sess_cmd *pc,
		    const struct imap_element *el, int redact_from)
{
	struct imt_event *ev = &s->e->txn_scratch;
	struct sess_cmd_txn *t;

	/* Out of memory, the record says what it can without it. */
	if ((t = pc->txn = calloc(1, sizeof(*t))) == NULL)
		return;
	t->state = sess_state_now(s);
	t->s2c = imap_parser_offset(sess_parser(s, IMT_S2C));
	t->untagged = s->untagged;
	/* The arguments as the command event writes them (escaped,
	 * redacted, cut) and the mailbox the command names or works in,
	 * kept as members text without the braces. */
	event_begin(ev, EV_TRANSACTION, 0);
	sess_ev_tokens(ev, "args", el, s->e->cfg.lim.max_args_text, redact_from);
	if (pc->mailbox != NULL)
		event_cstring(ev, "mailbox", pc->mailbox);
	else if (s->mailbox != NULL && t->state == ST_SELECTED)
		event_cstring(ev, "mailbox", s->mailbox);
	else
		event_null(ev, "mailbox");
	if (ev->failed || ev->len < 1)
		return;
	t->args = malloc(ev->len - 1);
	if (t->args == NULL)
		return;
	memcpy(t->args, ev->text + 1, ev->len - 1);
	t->args_len = ev->len - 1;
}

static const char *state_name(unsigned st)
{
	return st == 0 ? "unknown" : imap_state_name(st);
}

/* The record of pc; el is its result, or NULL when it has none. */
static void txn_write(struct session *s, const struct sess_cmd *pc,
		      const struct imap_element *el)
{
	static const struct sess_cmd_txn none;
	const struct sess_cmd_txn *t = pc->txn != NULL ? pc->txn : &none;
	struct tcp_meta at = s->cur;
	struct imt_event *ev;
	uint64_t c2s = imap_parser_offset(sess_parser(s, IMT_C2S));
	uint64_t s2c = imap_parser_offset(sess_parser(s, IMT_S2C));

	at.frame = pc->frame;
	at.ts_sec = pc->ts_sec;
	at.ts_nsec = pc->ts_nsec;
	ev = sess_ev_new_at(s, EV_TRANSACTION, IMT_C2S, pc->offset, &at);
	event_cstring(ev, "tag", sess_cmd_tag(pc));
	event_cstring(ev, "command", sess_cmd_name(pc));
	if (t->args != NULL) {
		event_raw(ev, t->args, t->args_len);
	} else {
		event_null(ev, "args");
		event_null(ev, "mailbox");
	}
	if (el != NULL) {
		event_cstring(ev, "status", el->name);
		if (el->code != NULL)
			sess_ev_str(ev, "code", el->code, el->code_len, 64);
		else
			event_null(ev, "code");
		event_ms(ev, "latency_ms", sess_ts_diff_ns(s->cur.ts_sec, s->cur.ts_nsec,
							   pc->ts_sec, pc->ts_nsec));
	} else {
		event_null(ev, "status");
		event_null(ev, "code");
		event_null(ev, "latency_ms");
	}
	event_object(ev, "bytes");
	event_u64(ev, "c2s", c2s > pc->offset ? c2s - pc->offset : 0);
	event_u64(ev, "s2c", s2c > t->s2c ? s2c - t->s2c : 0);
	event_close(ev);
	event_u64(ev, "untagged", s->untagged - t->untagged);
	event_cstring(ev, "state_before", state_name(t->state));
	event_cstring(ev, "state_after", sess_state_name(s));
	event_u64(ev, "command_frame", pc->frame);
	if (el != NULL)
		event_u64(ev, "result_frame", s->cur.frame);
	else
		event_null(ev, "result_frame");
	sess_ev_emit(s, ev);
}

void sess_txn_result(struct session *s, struct sess_cmd *pc,
		     const struct imap_element *el)
{
	txn_write(s, pc, el);
	if (pc->txn != NULL) {
		free(pc->txn->args);
		pc->txn->args = NULL;
	}
}

void sess_txn_unanswered(struct session *s, const struct sess_cmd *pc)
{
	txn_write(s, pc, NULL);
}
