/*
 * sess_server.c - what the server's elements mean: the greeting, the
 * capabilities announced, the selected mailbox's numbers, continuation
 * requests, and tagged results paired with their commands, which drive
 * the state and the stream switches.
 *
 * Calls out to the outstanding commands (sess_pending.h), the
 * capabilities (sess_caps.h), the state (sess_state.h), the stream
 * switches (sess_stream.h), the memory across sessions (sess_memory.h)
 * and the events (sess_event.h); nothing calls in but the server
 * parser's callback in session.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dec.h"
#include "hash.h"
#include "mem.h"
#include "sess_event.h"
#include "sess_resp.h"
#include "sess_server.h"
#include "sess_session.h"
#include "sess_state.h"
#include "sess_token.h"
#include "sess_txn.h"

/* ---- helpers ----------------------------------------------------------- */

static int code_is(const struct imap_element *el, const char *name)
{
	size_t n = strlen(name);

	return el->code != NULL && el->code_len == n &&
	       strncasecmp(el->code, name, n) == 0;
}

/* The number that starts a response code's arguments ("4392" of
 * [UIDNEXT 4392]); -1 when there is none or it overflows. */
static int code_number(const char *p, size_t len, uint64_t *v_r)
{
	size_t i = 0;

	while (i < len && p[i] == ' ')
		i++;
	return dec_parse_u64(p + i, dec_span(p + i, len - i), UINT64_MAX, v_r);
}

/* The key of a mailbox among those whose UIDVALIDITY is remembered;
 * never 0 (an empty slot).  A fixed seed: the same capture gives the same
 * findings in every run. */
static uint64_t name_hash(const char *p)
{
	return hash_bytes(0, p, strlen(p)) | 1;
}

static void add_code(struct imt_event *ev, const struct imap_element *el)
{
	if (el->code == NULL)
		return;
	sess_ev_str(ev, "code", el->code, el->code_len, 64);
	if (el->code_args_len > 0)
		sess_ev_str(ev, "code_args", el->code_args, el->code_args_len, 512);
}

/* A finding whose detail is the element's human-readable text. */
static void finding_text(struct session *s, enum imt_finding id,
			      const struct imap_element *el, const char *tag)
{
	sess_finding_n(s, id, IMT_S2C, el->offset, el->text_len > 0 ? el->text : NULL,
		       el->text_len, tag);
}

/* ---- capabilities ------------------------------------------------------ */

/* RFC 3501 §11.1: STARTTLS stripped on the way, shown by evidence, not
 * by a client that merely did not use it.  Reported once per session. */
static void starttls_stripped(struct session *s, uint64_t offset, const char *detail,
			      const char *tag)
{
	if (s->starttls_stripped)
		return;
	s->starttls_stripped = 1;
	sess_finding(s, F_STARTTLS_STRIPPED, IMT_S2C, offset, detail, tag);
}

/* A capability announcement (RFC 3501 §7.2.1, or the CAPABILITY response
 * code of §7.1) replaces what was known.  A server seen offering
 * STARTTLS before TLS is remembered across sessions.  Before TLS, an
 * announcement whose STARTTLS word was overwritten (middleboxes write
 * XXXXXXXA over it) is stripping; so is a pre-login announcement without
 * STARTTLS from a server that offered it in an earlier session (judge:
 * the greeting and untagged announcements, not the capabilities a login
 * result brings, which servers rightly give without STARTTLS). */
static void caps_announced(struct session *s, const char *text, size_t len,
			   uint64_t offset, int judge)
{
	char word[SESS_CAPS_WORD_MAX];
	char detail[SESS_CAPS_WORD_MAX + 96];

	sess_caps_set(&s->caps, &s->e->caps, text, len);
	if (sess_stream_tls(&s->io))
		return;
	if (sess_caps_has(&s->caps, "STARTTLS")) {
		s->starttls_offered = 1;
		sess_memory_tls_offered(&s->e->memory, &s->sv);
	} else if (sess_caps_masked(&s->caps, "STARTTLS", word, sizeof(word))) {
		snprintf(detail, sizeof(detail),
			 "the capability list has %s where STARTTLS belongs", word);
		starttls_stripped(s, offset, detail, NULL);
	} else if (judge && !s->starttls_offered && sess_state_now(s) == ST_NOTAUTH &&
		   sess_memory_tls_was_offered(&s->e->memory, &s->sv)) {
		starttls_stripped(s, offset,
				  "the server offered STARTTLS in an earlier session of the "
				  "capture; this session's capabilities lack it", NULL);
	}
}

/* ---- response codes ---------------------------------------------------- */

/* RFC 3501 §2.3.1.1: a mailbox's UIDVALIDITY does not change within a
 * session (the UIDs it qualifies would all be void). */
static void uidvalidity_seen(struct session *s, uint64_t v)
{
	struct sess_cmd *sel = sess_pending_newest_of(&s->pending, CMD_SELECT,
						      CMD_EXAMINE);
	const char *mbox = sel != NULL ? sel->mailbox : sess_text(s->mailbox);
	uint64_t h;
	char detail[SESS_MAILBOX_MAX + 64];
	size_t cap;

	if (mbox[0] == '\0')
		return;
	/* INBOX is case-insensitive; other names are compared as sent. */
	h = strcasecmp(mbox, "INBOX") == 0 ? name_hash("INBOX") : name_hash(mbox);
	for (size_t i = 0; i < s->uidv_cap && i < s->uidv_next; i++) {
		if (s->uidv[i].hash != h)
			continue;
		if (s->uidv[i].value != v) {
			snprintf(detail, sizeof(detail), "%s: %llu then %llu", mbox,
				 (unsigned long long)s->uidv[i].value,
				 (unsigned long long)v);
			sess_finding(s, F_UIDVALIDITY_CHANGED, IMT_S2C,
				     imap_parser_offset(sess_parser(s, IMT_S2C)), detail, NULL);
			s->uidv[i].value = v;
		}
		return;
	}
	/* Slots are taken in order until all SESS_UIDV_SLOTS are used, so the
	 * array only grows while uidv_next is below that.  Out of memory,
	 * the mailbox is not remembered. */
	cap = s->uidv_cap;
	if (mem_slab_grow(&s->e->small, &s->uidv, &cap,
			  s->uidv_next % SESS_UIDV_SLOTS + 1, sizeof(*s->uidv),
			  SESS_UIDV_FIRST, SESS_UIDV_SLOTS) != 0)
		return;
	s->uidv_cap = (uint8_t)cap;
	s->uidv[s->uidv_next % SESS_UIDV_SLOTS].hash = h;
	s->uidv[s->uidv_next % SESS_UIDV_SLOTS].value = v;
	s->uidv_next++;
}

/* A response name or code that no RFC or registered extension defines
 * (sess_resp.h): reported once per distinct word and session, for the
 * first SESS_UNKNOWN_RESP_SLOTS words, so that the root cause stands next
 * to what it leads to (a "* n EXPUNGED" before an EXISTS that shrinks). */
static void unknown_response(struct session *s, const struct imap_element *el,
			     const char *what, const char *word, size_t len)
{
	uint64_t h = hash_bytes(0, word, len) | 1;
	char detail[96];

	if (el->line_truncated)
		return;
	for (unsigned i = 0; i < s->unknown_resp_n; i++)
		if (s->unknown_resp[i] == h)
			return;
	if (s->unknown_resp_n >= SESS_UNKNOWN_RESP_SLOTS)
		return;
	/* Most sessions meet none: the slots come with the first. */
	if (s->unknown_resp == NULL)
		s->unknown_resp = mem_slab_get(&s->e->small, SESS_UNKNOWN_RESP_SLOTS *
					       sizeof(*s->unknown_resp));
	if (s->unknown_resp != NULL)
		s->unknown_resp[s->unknown_resp_n++] = h;
	snprintf(detail, sizeof(detail), "%s %.*s", what, (int)(len < 64 ? len : 64), word);
	sess_finding(s, F_UNKNOWN_RESPONSE, IMT_S2C, el->offset, detail,
		     el->kind == IMAP_EL_TAGGED ? NULL : sess_pending_only_tag(&s->pending));
}

/* The response codes of RFC 3501 §7.1 that the engine follows. */
static void status_code(struct session *s, const struct imap_element *el)
{
	uint64_t v;

	if (el->code == NULL)
		return;
	if (!sess_resp_code_known(el->code, el->code_len))
		unknown_response(s, el, "response code", el->code, el->code_len);
	if (code_is(el, "CAPABILITY"))
		caps_announced(s, el->code_args, el->code_args_len, el->offset,
			       el->kind != IMAP_EL_TAGGED);
	else if (code_is(el, "ALERT"))
		finding_text(s, F_SERVER_ALERT, el, NULL);
	else if (code_is(el, "UIDVALIDITY") &&
		 code_number(el->code_args, el->code_args_len, &v) == 0)
		uidvalidity_seen(s, v);
	else if (code_is(el, "UIDNEXT") &&
		 code_number(el->code_args, el->code_args_len, &v) == 0) {
		s->uidnext = v;
		s->uidnext_known = 1;
		s->uidnext_msgs = s->exists_known ? s->exists : 0;
	} else if (code_is(el, "READ-ONLY")) {
		s->read_only = 1;
	} else if (code_is(el, "READ-WRITE")) {
		s->read_only = 0;
	}
}

/* ---- untagged ---------------------------------------------------------- */

/* UID of a FETCH response: "UID n" at the top of its item list. */
int sess_server_fetch_uid(const struct imap_element *el, uint64_t *uid_r)
{
	for (size_t i = 0; i + 1 < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		const char *p;

		if (t->depth != 1 || t->type != IMAP_TOK_ATOM)
			continue;
		if (sess_token_text(el, t, &p) == 3 && strncasecmp(p, "UID", 3) == 0 &&
		    el->tokens[i + 1].type == IMAP_TOK_NUMBER) {
			*uid_r = el->tokens[i + 1].num;
			return 1;
		}
	}
	return 0;
}

/* RFC 3501 §7.4.2: a FETCH names an existing message; §2.3.1.1: UIDs
 * ascend with message numbers and stay below UIDNEXT. */
static void check_fetch(struct session *s, const struct imap_element *el,
			uint64_t *uid_r, int *has_uid_r)
{
	uint64_t n = el->number, uid;
	char detail[128];

	*has_uid_r = 0;
	if (s->exists_known && n > s->exists) {
		snprintf(detail, sizeof(detail), "message %llu of %llu",
			 (unsigned long long)n, (unsigned long long)s->exists);
		sess_finding(s, F_FETCH_OUT_OF_RANGE, IMT_S2C, el->offset, detail, NULL);
	}
	if (!sess_server_fetch_uid(el, &uid))
		return;
	*uid_r = uid;
	*has_uid_r = 1;
	if (s->uidnext_known && n <= s->uidnext_msgs && uid >= s->uidnext) {
		snprintf(detail, sizeof(detail), "UID %llu at or above UIDNEXT %llu",
			 (unsigned long long)uid, (unsigned long long)s->uidnext);
		sess_finding(s, F_UID_NOT_ASCENDING, IMT_S2C, el->offset, detail, NULL);
	} else if (s->last_fetch_msn != 0 && n > s->last_fetch_msn &&
		   uid <= s->last_fetch_uid) {
		snprintf(detail, sizeof(detail),
			 "message %llu has UID %llu, message %llu had UID %llu",
			 (unsigned long long)n, (unsigned long long)uid,
			 (unsigned long long)s->last_fetch_msn,
			 (unsigned long long)s->last_fetch_uid);
		sess_finding(s, F_UID_NOT_ASCENDING, IMT_S2C, el->offset, detail, NULL);
	}
	s->last_fetch_msn = n;
	s->last_fetch_uid = uid;
}

/* RFC 3501 §7.3.1: EXISTS never goes down (only EXPUNGE lowers the
 * count); §7.4.1: EXPUNGE names an existing message, and is not sent
 * while a command that names messages by number is in progress. */
static void mailbox_numbers(struct session *s, const struct imap_element *el)
{
	char detail[128];

	if (strcmp(el->name, "EXISTS") == 0) {
		if (s->exists_known && el->number < s->exists) {
			snprintf(detail, sizeof(detail), "EXISTS %llu after a count of %llu",
				 (unsigned long long)el->number,
				 (unsigned long long)s->exists);
			sess_finding(s, F_EXISTS_DECREASED, IMT_S2C, el->offset, detail, NULL);
		}
		s->exists = el->number;
		s->exists_known = 1;
	} else if (strcmp(el->name, "EXPUNGE") == 0) {
		if (s->exists_known && (el->number > s->exists || el->number == 0)) {
			snprintf(detail, sizeof(detail), "message %llu of %llu",
				 (unsigned long long)el->number,
				 (unsigned long long)s->exists);
			sess_finding(s, F_EXPUNGE_OUT_OF_RANGE, IMT_S2C, el->offset, detail, NULL);
		} else if (s->exists_known) {
			s->exists--;
		}
		if (s->uidnext_msgs > 0 && el->number <= s->uidnext_msgs)
			s->uidnext_msgs--;
		/* A result lost in a gap leaves its command outstanding. */
		if (sess_pending_has_msn(&s->pending) && !s->gap_seen[IMT_S2C])
			sess_finding(s, F_EXPUNGE_DURING_MSN_COMMAND, IMT_S2C, el->offset, NULL,
				     sess_pending_only_tag(&s->pending));
		s->last_fetch_msn = s->last_fetch_uid = 0;
	}
}

/* ENABLE (RFC 5161): UTF8=ACCEPT (RFC 6855 §3) lets 8-bit text into
 * both directions; QRESYNC (RFC 7162 §3.2.3) allows VANISHED. */
static void enabled(struct session *s, const struct imap_element *el)
{
	for (size_t i = 0; i < el->ntokens; i++) {
		const char *p;
		size_t n = sess_token_text(el, &el->tokens[i], &p);

		if (n == 11 && strncasecmp(p, "UTF8=ACCEPT", 11) == 0) {
			s->utf8 = 1;
			imap_parser_set_utf8(sess_parser(s, IMT_C2S), 1);
			imap_parser_set_utf8(sess_parser(s, IMT_S2C), 1);
		} else if (n == 7 && strncasecmp(p, "QRESYNC", 7) == 0) {
			s->qresync = 1;
		}
	}
}

static void emit_response(struct session *s, const struct imap_element *el,
			  int has_uid, uint64_t uid)
{
	struct imt_event *ev = sess_ev_new(s, EV_RESPONSE, IMT_S2C, el->offset);
	const char *tag = sess_pending_only_tag(&s->pending);
	size_t cap = s->e->cfg.lim.max_args_text;

	event_cstring(ev, "name", el->name);
	if (el->has_number)
		event_u64(ev, "number", el->number);
	if (has_uid)
		event_u64(ev, "uid", uid);
	if (el->is_status) {
		add_code(ev, el);
		sess_ev_str(ev, "text", el->text, el->text_len, cap);
	} else if (el->ntokens > 0) {
		sess_ev_tokens(ev, "data", el, cap, -1);
	}
	if (el->literals > 0) {
		event_object(ev, "literals");
		event_u64(ev, "count", el->literals);
		event_u64(ev, "bytes", el->literal_bytes);
		event_close(ev);
	}
	if (tag != NULL)
		event_cstring(ev, "in_reply_to", tag);
	sess_ev_emit(s, ev);
}

static void server_untagged(struct session *s, const struct imap_element *el)
{
	uint64_t uid = 0;
	int has_uid = 0;

	s->untagged++;
	if (strcmp(el->name, "FETCH") == 0 && el->has_number)
		check_fetch(s, el, &uid, &has_uid);
	emit_response(s, el, has_uid, uid);
	if (el->is_status) {
		status_code(s, el);
		/* RFC 3501 §7.1.5: BYE ends the session; outside LOGOUT it
		 * is the server's own decision. */
		if (strcmp(el->name, "BYE") == 0) {
			if (!s->logout_sent)
				finding_text(s, F_UNEXPECTED_BYE, el, NULL);
			s->bye_seen = 1;
			sess_state_set(s, ST_LOGOUT, "BYE");
		} else if (strcmp(el->name, "BAD") == 0) {
			sess_finding(s, F_SERVER_BAD, IMT_S2C, el->offset, NULL, NULL);
		}
		return;
	}
	if (strcmp(el->name, "CAPABILITY") == 0) {
		char buf[SESS_CAPS_MAX];
		size_t n = sess_token_render(el, 0, el->ntokens, buf, sizeof(buf), -1);

		caps_announced(s, buf, n < sizeof(buf) ? n : sizeof(buf) - 1, el->offset, 1);
	} else if (strcmp(el->name, "ENABLED") == 0) {
		enabled(s, el);
	} else if (strcmp(el->name, "VANISHED") == 0) {
		/* RFC 7162 §3.2.10: only once QRESYNC is enabled. */
		if (!s->qresync)
			sess_finding(s, F_VANISHED_WITHOUT_QRESYNC, IMT_S2C, el->offset, NULL, NULL);
		/* Which message numbers went is not said: stop counting. */
		s->exists_known = 0;
		s->uidnext_known = 0;
		s->last_fetch_msn = s->last_fetch_uid = 0;
	} else if (el->has_number) {
		mailbox_numbers(s, el);
	}
	if (!sess_resp_name_known(el->name, el->has_number))
		unknown_response(s, el, el->has_number ? "untagged numbered response" :
				 "untagged response", el->name, strlen(el->name));
}

/* ---- greeting ---------------------------------------------------------- */

/* RFC 3501 §7.1: the server's first line is an untagged OK (not
 * authenticated), PREAUTH (authenticated, §7.1.4) or BYE (refused).
 * Returns 1 when el was the greeting. */
static int greeting(struct session *s, const struct imap_element *el)
{
	struct imt_event *ev;

	s->greeted = 1;
	if (s->midstream)
		return 0;
	/* After a gap that took the greeting, a later line (a BYE, a
	 * result) is not the greeting, and nothing says it was missing. */
	if (s->gap_seen[IMT_S2C] && el->offset > 0)
		return 0;
	if (el->kind != IMAP_EL_UNTAGGED || !el->is_status ||
	    (strcmp(el->name, "OK") != 0 && strcmp(el->name, "PREAUTH") != 0 &&
	     strcmp(el->name, "BYE") != 0)) {
		sess_finding(s, F_MISSING_GREETING, IMT_S2C, el->offset, NULL, NULL);
		return 0;
	}
	status_code(s, el);
	ev = sess_ev_new(s, EV_GREETING, IMT_S2C, el->offset);
	event_cstring(ev, "status", el->name);
	add_code(ev, el);
	sess_ev_str(ev, "text", el->text, el->text_len, s->e->cfg.lim.max_args_text);
	if (code_is(el, "CAPABILITY"))
		sess_caps_write(&s->caps, ev, "capabilities");
	if (el->partial)
		event_bool(ev, "partial", 1);
	sess_ev_emit(s, ev);
	if (strcmp(el->name, "PREAUTH") == 0) {
		sess_state_set(s, ST_AUTH, "PREAUTH");
		if (!sess_stream_tls(&s->io))
			sess_finding(s, F_PREAUTH_CLEARTEXT, IMT_S2C, el->offset, NULL, NULL);
	} else if (strcmp(el->name, "BYE") == 0) {
		s->bye_seen = 1;
		sess_state_set(s, ST_LOGOUT, "BYE");
	}
	return 1;
}

/* ---- continuation ------------------------------------------------------- */

/* RFC 3501 §7.5: "+" asks for a synchronizing literal's data or the
 * next line of an AUTHENTICATE exchange (§6.2.2); RFC 2177 §3: it also
 * confirms IDLE.  At any other time nothing waits for one. */
static void server_continuation(struct session *s, const struct imap_element *el)
{
	struct imt_event *ev = sess_ev_new(s, EV_CONTINUATION, IMT_S2C, el->offset);
	const char *what = NULL;
	const char *tag = NULL;

	if (s->lit_waiting || s->lit_late) {
		s->lit_waiting = 0;
		s->lit_late = 0;
		what = "literal";
		if (sess_pending_newest(&s->pending) != NULL)
			tag = sess_cmd_tag(sess_pending_newest(&s->pending));
	} else if (s->auth_active) {
		what = "AUTHENTICATE";
		imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_LINE);
	} else if (s->idle) {
		what = "IDLE";
	}
	if (what != NULL && tag == NULL) {
		enum imap_cmd waiting = s->auth_active ? CMD_AUTHENTICATE : CMD_IDLE;
		const struct sess_cmd *pc = sess_pending_newest_of(&s->pending, waiting,
								   waiting);

		if (pc != NULL)
			tag = sess_cmd_tag(pc);
	}
	sess_ev_str(ev, "text", el->text, el->text_len, s->e->cfg.lim.max_args_text);
	if (what != NULL)
		event_cstring(ev, "for", what);
	else
		event_null(ev, "for");
	if (tag != NULL)
		event_cstring(ev, "tag", tag);
	sess_ev_emit(s, ev);
	if (what == NULL && !s->midstream && !s->gap_seen[IMT_C2S] && !s->gap_seen[IMT_S2C])
		sess_finding(s, F_UNEXPECTED_CONTINUATION, IMT_S2C, el->offset, NULL, NULL);
}

/* ---- tagged results ---------------------------------------------------- */

/* A failed login counts towards auth-brute-force for the client's
 * address, across sessions. */
static void brute_failure(struct session *s)
{
	unsigned count = sess_memory_auth_failure(&s->e->memory, &s->cl, s->cur.ts_sec);
	char detail[128];

	if (count == 0)
		return;
	snprintf(detail, sizeof(detail),
		 "%u authentication failures from this client address within %u s",
		 count, s->e->cfg.brute_window);
	sess_finding(s, F_AUTH_BRUTE_FORCE, IMT_C2S,
		     imap_parser_offset(sess_parser(s, IMT_C2S)), detail, NULL);
}

/* RFC 3501 §6.2.2, §6.2.3: a successful LOGIN or AUTHENTICATE leads to
 * the authenticated state; NO is a refusal. */
static void result_auth(struct session *s, struct sess_cmd *pc, enum sess_status st)
{
	if (pc->cmd == CMD_AUTHENTICATE) {
		s->auth_active = 0;
		imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_COMMAND);
	}
	if (st == SESS_OK) {
		sess_state_set(s, ST_AUTH, sess_cmd_tag(pc));
	} else if (st == SESS_NO) {
		sess_finding(s, F_AUTH_FAILED, IMT_S2C, imap_parser_offset(sess_parser(s, IMT_S2C)),
			     s->user, sess_cmd_tag(pc));
		brute_failure(s);
	}
}

/* RFC 3501 §6.3.1, §6.3.2: SELECT/EXAMINE OK leads to the selected
 * state (EXAMINE and [READ-ONLY] read-only); a failed one leaves no
 * mailbox selected. */
static void result_select(struct session *s, struct sess_cmd *pc, enum sess_status st,
			  const struct imap_element *el)
{
	if (st == SESS_OK) {
		sess_text_set(&s->mailbox, &s->e->small, sess_text(pc->mailbox),
			      strlen(sess_text(pc->mailbox)), SESS_MAILBOX_MAX);
		if (pc->cmd == CMD_EXAMINE || code_is(el, "READ-ONLY"))
			s->read_only = 1;
		else if (code_is(el, "READ-WRITE"))
			s->read_only = 0;
		sess_state_set(s, ST_SELECTED, sess_cmd_tag(pc));
		return;
	}
	sess_text_set(&s->mailbox, &s->e->small, NULL, 0, 0);
	s->exists_known = 0;
	if (sess_state_now(s) == ST_SELECTED)
		sess_state_set(s, ST_AUTH, sess_cmd_tag(pc));
}

static int same_mailbox(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0)
		return strcasecmp(b, "INBOX") == 0;
	return strcmp(a, b) == 0;
}

/* RFC 3501 §6.3.2: a mailbox opened read-only takes no writes; an OK to
 * one is the server's mistake. */
static void check_read_only_write(struct session *s, struct sess_cmd *pc,
				  const struct imap_element *el)
{
	int hit = 0;

	if (!s->read_only || sess_state_now(s) != ST_SELECTED)
		return;
	switch (pc->cmd) {
	case CMD_STORE: case CMD_UID_STORE: case CMD_EXPUNGE: case CMD_UID_EXPUNGE:
		hit = 1;
		break;
	case CMD_COPY: case CMD_MOVE: case CMD_UID_COPY: case CMD_UID_MOVE:
	case CMD_APPEND:
		hit = pc->mailbox != NULL &&
		      same_mailbox(pc->mailbox, sess_text(s->mailbox));
		break;
	default:
		break;
	}
	if (hit)
		sess_finding(s, F_WRITE_ON_READ_ONLY, IMT_S2C, el->offset, sess_cmd_name(pc), sess_cmd_tag(pc));
}

static void result_effects(struct session *s, struct sess_cmd *pc, enum sess_status st,
			   const struct imap_element *el)
{
	const struct imap_cmd_info *ci;

	if (st != SESS_OK)
		sess_state_command_failed(s);
	switch (pc->cmd) {
	case CMD_LOGIN:
	case CMD_AUTHENTICATE:
		result_auth(s, pc, st);
		return;
	case CMD_SELECT:
	case CMD_EXAMINE:
		result_select(s, pc, st, el);
		return;
	case CMD_CLOSE:
	case CMD_UNSELECT:
		/* RFC 3501 §6.4.2, RFC 3691 §2: back to authenticated. */
		if (st == SESS_OK) {
			sess_text_set(&s->mailbox, &s->e->small, NULL, 0, 0);
			s->exists_known = 0;
			sess_state_set(s, ST_AUTH, sess_cmd_tag(pc));
		}
		return;
	case CMD_LOGOUT:
		/* RFC 3501 §6.1.3: the server sends BYE before the OK. */
		if (st == SESS_OK) {
			s->logout_done = 1;
			if (!s->bye_seen)
				sess_finding(s, F_LOGOUT_WITHOUT_BYE, IMT_S2C, el->offset, NULL, sess_cmd_tag(pc));
			sess_state_set(s, ST_LOGOUT, sess_cmd_tag(pc));
		} else {
			/* Refused: the session goes on, and so may the client. */
			s->logout_sent = 0;
		}
		return;
	case CMD_STARTTLS:
		/* RFC 3501 §6.2.1: TLS starts right after the OK's CRLF, and
		 * the capabilities learnt before it are forgotten. */
		if (st != SESS_OK) {
			s->starttls_refused = 1;
			if (s->starttls_offered) {
				sess_finding(s, F_STARTTLS_REFUSED, IMT_S2C, el->offset, NULL,
					     sess_cmd_tag(pc));
				/* A server that offers STARTTLS and then refuses
				 * it is what a stripping middlebox looks like. */
				char why[96];

				snprintf(why, sizeof(why), "STARTTLS answered %.16s by a "
					 "server that advertised it", el->name);
				starttls_stripped(s, el->offset, why, sess_cmd_tag(pc));
			}
		}
		sess_stream_result(&s->io, SESS_SWITCH_STARTTLS, st, sess_cmd_tag(pc));
		if (st == SESS_OK)
			sess_caps_forget(&s->caps, &s->e->caps);
		return;
	case CMD_COMPRESS:
		/* RFC 4978 §3: DEFLATE starts right after the OK's CRLF. */
		sess_stream_result(&s->io, SESS_SWITCH_COMPRESS, st, sess_cmd_tag(pc));
		return;
	case CMD_IDLE:
		/* RFC 2177 §3: the tagged result ends IDLE. */
		s->idle = 0;
		imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_COMMAND);
		return;
	default:
		break;
	}
	if (st != SESS_OK)
		return;
	check_read_only_write(s, pc, el);
	/* A mid-stream session learns its state from what succeeds. */
	ci = imap_cmd_info(pc->cmd);
	if (sess_state_now(s) == 0 && ci->states == ST_SELECTED)
		sess_state_set(s, ST_SELECTED, "inferred");
}

/* Why a tagged result pairs with no command: the likeliest cause the
 * session shows. */
static const char *unmatched_reason(const struct session *s)
{
	if (s->midstream)
		return "midstream";
	if (s->gap_seen[IMT_C2S])
		return "gap";
	if (s->pending_told)
		return "max-pending";
	return "unknown-tag";
}

static void emit_result(struct session *s, const struct imap_element *el,
			const char *tag, struct sess_cmd *pc)
{
	struct imt_event *ev = sess_ev_new(s, EV_RESULT, IMT_S2C, el->offset);

	event_cstring(ev, "tag", tag);
	if (pc != NULL)
		event_cstring(ev, "command", sess_cmd_name(pc));
	else
		event_null(ev, "command");
	event_cstring(ev, "status", el->name);
	add_code(ev, el);
	sess_ev_str(ev, "text", el->text, el->text_len, s->e->cfg.lim.max_args_text);
	if (pc != NULL) {
		event_ms(ev, "latency_ms", sess_ts_diff_ns(s->cur.ts_sec, s->cur.ts_nsec,
						   pc->ts_sec, pc->ts_nsec));
		event_u64(ev, "command_frame", pc->frame);
	} else {
		event_cstring(ev, "unmatched", unmatched_reason(s));
	}
	if (el->partial)
		event_bool(ev, "partial", 1);
	sess_ev_emit(s, ev);
}

/* RFC 3501 §2.2.2, §7.1: a tagged OK, NO or BAD completes the
 * outstanding command with that tag, in whatever order they complete;
 * its effects (state, stream switches) follow its status. */
static void server_tagged(struct session *s, const struct imap_element *el)
{
	char tag[SESS_TAG_MAX + 1];
	size_t tl = el->tag_len < SESS_TAG_MAX ? el->tag_len : SESS_TAG_MAX;
	struct sess_cmd *pc;
	enum sess_status st = sess_status_of(el->name);

	memcpy(tag, el->tag, tl);
	tag[tl] = '\0';
	pc = sess_pending_find(&s->pending, tag, tl);
	if (pc == NULL && s->lit_waiting && st != SESS_OK &&
	    imap_parser_cancel_literal(sess_parser(s, IMT_C2S))) {
		/* The server refused the client's synchronizing literal: the
		 * command it belongs to is complete now, without its data. */
		s->lit_waiting = 0;
		pc = sess_pending_find(&s->pending, tag, tl);
	}
	s->results[st]++;
	emit_result(s, el, tag, pc);
	if (st == SESS_OTHER)
		sess_finding(s, F_BAD_STATUS, IMT_S2C, el->offset, el->name, tag);
	else if (st == SESS_BAD)
		finding_text(s, F_SERVER_BAD, el, tag);
	status_code(s, el);
	if (pc == NULL) {
		/* A tag no client may use (RFC 3501 §9) that no command used
		 * either: the line itself is wrong. */
		if (el->tag_invalid)
			sess_finding(s, F_SYNTAX_ERROR, IMT_S2C, el->offset,
				     "a tagged result with an invalid tag that no command used",
				     tag);
		else if (!s->midstream && !s->gap_seen[IMT_C2S] && !s->gap_seen[IMT_S2C])
			sess_finding(s, F_UNKNOWN_TAG_RESULT, IMT_S2C, el->offset, NULL, tag);
		return;
	}
	{
		struct sess_cmd done;

		sess_pending_complete(&s->pending, &s->e->small, pc, &done);
		if (done.cmd != CMD_UNKNOWN)
			result_effects(s, &done, st, el);
		if (sess_txn_wanted(s))
			sess_txn_result(s, &done, el);
		sess_cmd_release(&done);
	}
}

void sess_server_element(struct session *s, const struct imap_element *el)
{
	if (!s->greeted && greeting(s, el))
		return;
	/* RFC 3501 §7.1.5: after BYE only the LOGOUT's tagged OK may come. */
	if (s->bye_seen && !(el->kind == IMAP_EL_TAGGED && s->logout_sent &&
			     !s->logout_done)) {
		if (!s->logout_done || el->kind != IMAP_EL_UNPARSED)
			sess_finding(s, F_DATA_AFTER_BYE, IMT_S2C, el->offset, el->name, NULL);
	}
	switch (el->kind) {
	case IMAP_EL_UNTAGGED:
		server_untagged(s, el);
		break;
	case IMAP_EL_CONTINUATION:
		server_continuation(s, el);
		break;
	case IMAP_EL_TAGGED:
		server_tagged(s, el);
		break;
	default:
		break;
	}
}
