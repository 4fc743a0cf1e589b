/*
 * sess_server.c - what the server's elements mean: the greeting, the
 * capabilities, the selected mailbox's numbers, continuation requests,
 * and tagged results paired with their commands, which drive the state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sess_int.h"

/* ---- outstanding commands ---------------------------------------------- */

struct pending_cmd *pending_find(struct session *s, const char *tag, size_t len)
{
	/* Cheap tests first: up to max-pending entries are scanned for
	 * every command and result.  len <= SESS_TAG_MAX, so t[len] is in
	 * the array. */
	for (size_t i = 0; i < s->npending; i++) {
		const char *t = s->pending[i].tag;

		if (t[len] == '\0' && (len == 0 || t[len - 1] == tag[len - 1]) &&
		    memcmp(t, tag, len) == 0 && strlen(t) == len)
			return &s->pending[i];
	}
	return NULL;
}

void pending_remove(struct session *s, struct pending_cmd *pc)
{
	size_t i = (size_t)(pc - s->pending);

	memmove(&s->pending[i], &s->pending[i + 1],
		(s->npending - i - 1) * sizeof(*pc));
	s->npending--;
}

int pending_has_msn(const struct session *s)
{
	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].msn_fetch)
			return 1;
	return 0;
}

static struct pending_cmd *pending_select(struct session *s)
{
	for (size_t i = s->npending; i-- > 0;)
		if (s->pending[i].cmd == CMD_SELECT || s->pending[i].cmd == CMD_EXAMINE)
			return &s->pending[i];
	return NULL;
}

/* ---- capabilities ------------------------------------------------------- */

int sess_has_cap(const struct session *s, const char *cap)
{
	char key[64];
	size_t n = strlen(cap);

	if (!s->caps_known || n + 3 > sizeof(key))
		return 0;
	/* The list is kept as " CAP1 CAP2 ": a whole name is " NAME ". */
	key[0] = ' ';
	memcpy(key + 1, cap, n);
	key[n + 1] = ' ';
	key[n + 2] = '\0';
	return strstr(s->caps, key) != NULL;
}

void sess_set_caps(struct session *s, const char *text, size_t len, int replace)
{
	size_t o = replace ? 0 : strlen(s->caps);

	if (o == 0)
		s->caps[o++] = ' ';
	for (size_t i = 0; i < len && o + 2 < sizeof(s->caps); i++) {
		char c = text[i];

		if (c == ' ' && s->caps[o - 1] == ' ')
			continue;
		s->caps[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	if (s->caps[o - 1] != ' ')
		s->caps[o++] = ' ';
	s->caps[o] = '\0';
	s->caps_known = 1;
	if (!s->tls && sess_has_cap(s, "STARTTLS")) {
		s->starttls_offered = 1;
		sess_remember_tls_server(s);
	}
}

static void caps_array(struct imt_event *ev, const struct session *s)
{
	const char *p = s->caps;

	event_array(ev, "capabilities");
	while (*p != '\0') {
		const char *e;

		while (*p == ' ')
			p++;
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if (e > p)
			event_string(ev, NULL, p, (size_t)(e - p) < 256 ? (size_t)(e - p) : 256);
		p = e;
	}
	event_close(ev);
}

/* ---- helpers ----------------------------------------------------------- */

static int code_is(const struct imap_element *el, const char *name)
{
	size_t n = strlen(name);

	return el->code != NULL && el->code_len == n &&
	       strncasecmp(el->code, name, n) == 0;
}

static int parse_u64(const char *p, size_t len, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && p[i] == ' ')
		i++;
	if (i == len)
		return -1;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*v_r = v;
	return 0;
}

static uint64_t name_hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h | 1;
}

static void add_code(struct imt_event *ev, const struct imap_element *el)
{
	if (el->code == NULL)
		return;
	ev_str(ev, "code", el->code, el->code_len, 64);
	if (el->code_args_len > 0)
		ev_str(ev, "code_args", el->code_args, el->code_args_len, 512);
}

/* A finding whose detail is the element's human-readable text. */
static void sess_finding_text(struct session *s, enum imt_finding id,
			      const struct imap_element *el, const char *tag)
{
	sess_finding_n(s, id, 1, el->offset, el->text_len > 0 ? el->text : NULL,
		       el->text_len, tag);
}

/* ---- response codes ---------------------------------------------------- */

static void uidvalidity_seen(struct session *s, uint64_t v)
{
	struct pending_cmd *sel = pending_select(s);
	const char *mbox = sel != NULL ? sel->mailbox : s->mailbox;
	uint64_t h;
	char detail[SESS_MAILBOX_MAX + 64];

	if (mbox[0] == '\0')
		return;
	/* INBOX is case-insensitive; other names are compared as sent. */
	h = strcasecmp(mbox, "INBOX") == 0 ? name_hash("INBOX") : name_hash(mbox);
	for (unsigned i = 0; i < SESS_UIDV_SLOTS; i++) {
		if (s->uidv_hash[i] != h)
			continue;
		if (s->uidv_value[i] != v) {
			snprintf(detail, sizeof(detail), "%s: %llu then %llu", mbox,
				 (unsigned long long)s->uidv_value[i],
				 (unsigned long long)v);
			sess_finding(s, F_UIDVALIDITY_CHANGED, 1,
				     imap_parser_offset(s->dir[1].parser), detail, NULL);
			s->uidv_value[i] = v;
		}
		return;
	}
	s->uidv_hash[s->uidv_next % SESS_UIDV_SLOTS] = h;
	s->uidv_value[s->uidv_next % SESS_UIDV_SLOTS] = v;
	s->uidv_next++;
}

static void status_code(struct session *s, const struct imap_element *el)
{
	uint64_t v;

	if (el->code == NULL)
		return;
	if (code_is(el, "CAPABILITY"))
		sess_set_caps(s, el->code_args, el->code_args_len, 1);
	else if (code_is(el, "ALERT"))
		sess_finding_text(s, F_SERVER_ALERT, el, NULL);
	else if (code_is(el, "UIDVALIDITY") &&
		 parse_u64(el->code_args, el->code_args_len, &v) == 0)
		uidvalidity_seen(s, v);
	else if (code_is(el, "UIDNEXT") &&
		 parse_u64(el->code_args, el->code_args_len, &v) == 0) {
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

static const char *single_pending_tag(const struct session *s)
{
	return s->npending == 1 ? s->pending[0].tag : NULL;
}

/* UID of a FETCH response: "UID n" at the top of its item list. */
static int fetch_uid(const struct imap_element *el, uint64_t *uid_r)
{
	for (size_t i = 0; i + 1 < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		const char *p;

		if (t->depth != 1 || t->type != IMAP_TOK_ATOM)
			continue;
		if (token_text(el, t, &p) == 3 && strncasecmp(p, "UID", 3) == 0 &&
		    el->tokens[i + 1].type == IMAP_TOK_NUMBER) {
			*uid_r = el->tokens[i + 1].num;
			return 1;
		}
	}
	return 0;
}

static void check_fetch(struct session *s, const struct imap_element *el,
			uint64_t *uid_r, int *has_uid_r)
{
	uint64_t n = el->number, uid;
	char detail[128];

	*has_uid_r = 0;
	if (s->exists_known && n > s->exists) {
		snprintf(detail, sizeof(detail), "message %llu of %llu",
			 (unsigned long long)n, (unsigned long long)s->exists);
		sess_finding(s, F_FETCH_OUT_OF_RANGE, 1, el->offset, detail, NULL);
	}
	if (!fetch_uid(el, &uid))
		return;
	*uid_r = uid;
	*has_uid_r = 1;
	if (s->uidnext_known && n <= s->uidnext_msgs && uid >= s->uidnext) {
		snprintf(detail, sizeof(detail), "UID %llu at or above UIDNEXT %llu",
			 (unsigned long long)uid, (unsigned long long)s->uidnext);
		sess_finding(s, F_UID_NOT_ASCENDING, 1, el->offset, detail, NULL);
	} else if (s->last_fetch_msn != 0 && n > s->last_fetch_msn &&
		   uid <= s->last_fetch_uid) {
		snprintf(detail, sizeof(detail),
			 "message %llu has UID %llu, message %llu had UID %llu",
			 (unsigned long long)n, (unsigned long long)uid,
			 (unsigned long long)s->last_fetch_msn,
			 (unsigned long long)s->last_fetch_uid);
		sess_finding(s, F_UID_NOT_ASCENDING, 1, el->offset, detail, NULL);
	}
	s->last_fetch_msn = n;
	s->last_fetch_uid = uid;
}

static void mailbox_numbers(struct session *s, const struct imap_element *el)
{
	char detail[128];

	if (strcmp(el->name, "EXISTS") == 0) {
		if (s->exists_known && el->number < s->exists) {
			snprintf(detail, sizeof(detail), "EXISTS %llu after a count of %llu",
				 (unsigned long long)el->number,
				 (unsigned long long)s->exists);
			sess_finding(s, F_EXISTS_DECREASED, 1, el->offset, detail, NULL);
		}
		s->exists = el->number;
		s->exists_known = 1;
	} else if (strcmp(el->name, "EXPUNGE") == 0) {
		if (s->exists_known && (el->number > s->exists || el->number == 0)) {
			snprintf(detail, sizeof(detail), "message %llu of %llu",
				 (unsigned long long)el->number,
				 (unsigned long long)s->exists);
			sess_finding(s, F_EXPUNGE_OUT_OF_RANGE, 1, el->offset, detail, NULL);
		} else if (s->exists_known) {
			s->exists--;
		}
		if (s->uidnext_msgs > 0 && el->number <= s->uidnext_msgs)
			s->uidnext_msgs--;
		if (pending_has_msn(s))
			sess_finding(s, F_EXPUNGE_DURING_MSN_COMMAND, 1, el->offset, NULL,
				     single_pending_tag(s));
		s->last_fetch_msn = s->last_fetch_uid = 0;
	}
}

static void enabled(struct session *s, const struct imap_element *el)
{
	for (size_t i = 0; i < el->ntokens; i++) {
		const char *p;
		size_t n = token_text(el, &el->tokens[i], &p);

		if (n == 11 && strncasecmp(p, "UTF8=ACCEPT", 11) == 0) {
			s->utf8 = 1;
			imap_parser_set_utf8(s->dir[0].parser, 1);
			imap_parser_set_utf8(s->dir[1].parser, 1);
		} else if (n == 7 && strncasecmp(p, "QRESYNC", 7) == 0) {
			s->qresync = 1;
		}
	}
}

static void emit_response(struct session *s, const struct imap_element *el,
			  int has_uid, uint64_t uid)
{
	struct imt_event *ev = ev_new(s, EV_RESPONSE, 1, el->offset);
	const char *tag = single_pending_tag(s);
	size_t cap = s->e->cfg.lim.max_args_text;

	event_cstring(ev, "name", el->name);
	if (el->has_number)
		event_u64(ev, "number", el->number);
	if (has_uid)
		event_u64(ev, "uid", uid);
	if (el->is_status) {
		add_code(ev, el);
		ev_str(ev, "text", el->text, el->text_len, cap);
	} else if (el->ntokens > 0) {
		ev_tokens(ev, "data", el, cap, -1);
	}
	if (el->literals > 0) {
		event_object(ev, "literals");
		event_u64(ev, "count", el->literals);
		event_u64(ev, "bytes", el->literal_bytes);
		event_close(ev);
	}
	if (tag != NULL)
		event_cstring(ev, "in_reply_to", tag);
	ev_emit(s, ev);
}

static void server_untagged(struct session *s, const struct imap_element *el)
{
	uint64_t uid = 0;
	int has_uid = 0;

	if (strcmp(el->name, "FETCH") == 0 && el->has_number)
		check_fetch(s, el, &uid, &has_uid);
	emit_response(s, el, has_uid, uid);
	if (el->is_status) {
		status_code(s, el);
		if (strcmp(el->name, "BYE") == 0) {
			if (!s->logout_sent)
				sess_finding_text(s, F_UNEXPECTED_BYE, el, NULL);
			s->bye_seen = 1;
			sess_state(s, ST_LOGOUT, "BYE");
		} else if (strcmp(el->name, "BAD") == 0) {
			sess_finding(s, F_SERVER_BAD, 1, el->offset, NULL, NULL);
		}
		return;
	}
	if (strcmp(el->name, "CAPABILITY") == 0) {
		char buf[SESS_CAPS_MAX];
		size_t n = render_tokens(el, 0, el->ntokens, buf, sizeof(buf), -1);

		sess_set_caps(s, buf, n < sizeof(buf) ? n : sizeof(buf) - 1, 1);
	} else if (strcmp(el->name, "ENABLED") == 0) {
		enabled(s, el);
	} else if (strcmp(el->name, "VANISHED") == 0) {
		if (!s->qresync)
			sess_finding(s, F_VANISHED_WITHOUT_QRESYNC, 1, el->offset, NULL, NULL);
		/* Which message numbers went is not said: stop counting. */
		s->exists_known = 0;
		s->uidnext_known = 0;
		s->last_fetch_msn = s->last_fetch_uid = 0;
	} else if (el->has_number) {
		mailbox_numbers(s, el);
	}
}

/* ---- greeting ---------------------------------------------------------- */

static int greeting(struct session *s, const struct imap_element *el)
{
	struct imt_event *ev;

	s->greeted = 1;
	if (s->midstream)
		return 0;
	if (el->kind != IMAP_EL_UNTAGGED || !el->is_status ||
	    (strcmp(el->name, "OK") != 0 && strcmp(el->name, "PREAUTH") != 0 &&
	     strcmp(el->name, "BYE") != 0)) {
		sess_finding(s, F_MISSING_GREETING, 1, el->offset, NULL, NULL);
		return 0;
	}
	status_code(s, el);
	ev = ev_new(s, EV_GREETING, 1, el->offset);
	event_cstring(ev, "status", el->name);
	add_code(ev, el);
	ev_str(ev, "text", el->text, el->text_len, s->e->cfg.lim.max_args_text);
	if (code_is(el, "CAPABILITY"))
		caps_array(ev, s);
	ev_emit(s, ev);
	if (strcmp(el->name, "PREAUTH") == 0) {
		sess_state(s, ST_AUTH, "PREAUTH");
		if (!s->tls)
			sess_finding(s, F_PREAUTH_CLEARTEXT, 1, el->offset, NULL, NULL);
	} else if (strcmp(el->name, "BYE") == 0) {
		s->bye_seen = 1;
		sess_state(s, ST_LOGOUT, "BYE");
	}
	return 1;
}

/* ---- continuation ------------------------------------------------------- */

static void server_continuation(struct session *s, const struct imap_element *el)
{
	struct imt_event *ev = ev_new(s, EV_CONTINUATION, 1, el->offset);
	const char *what = NULL;
	const char *tag = NULL;

	if (s->lit_waiting || s->lit_late) {
		s->lit_waiting = 0;
		s->lit_late = 0;
		what = "literal";
		if (s->npending > 0)
			tag = s->pending[s->npending - 1].tag;
	} else if (s->auth_active) {
		what = "AUTHENTICATE";
		imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_LINE);
	} else if (s->idle) {
		what = "IDLE";
	}
	if (what != NULL && tag == NULL) {
		for (size_t i = s->npending; i-- > 0;)
			if ((s->auth_active && s->pending[i].cmd == CMD_AUTHENTICATE) ||
			    (!s->auth_active && s->pending[i].cmd == CMD_IDLE)) {
				tag = s->pending[i].tag;
				break;
			}
	}
	ev_str(ev, "text", el->text, el->text_len, s->e->cfg.lim.max_args_text);
	if (what != NULL)
		event_cstring(ev, "for", what);
	else
		event_null(ev, "for");
	if (tag != NULL)
		event_cstring(ev, "tag", tag);
	ev_emit(s, ev);
	if (what == NULL && !s->midstream && !s->gap_seen[0] && !s->gap_seen[1])
		sess_finding(s, F_UNEXPECTED_CONTINUATION, 1, el->offset, NULL, NULL);
}

/* ---- tagged results ---------------------------------------------------- */

static int status_index(const char *name)
{
	if (strcmp(name, "OK") == 0) return 0;
	if (strcmp(name, "NO") == 0) return 1;
	if (strcmp(name, "BAD") == 0) return 2;
	return 3;
}

static void result_auth(struct session *s, struct pending_cmd *pc, int st)
{
	if (pc->cmd == CMD_AUTHENTICATE) {
		s->auth_active = 0;
		imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_COMMAND);
	}
	if (st == 0) {
		sess_state(s, ST_AUTH, pc->tag);
	} else if (st == 1) {
		sess_finding(s, F_AUTH_FAILED, 1, imap_parser_offset(s->dir[1].parser),
			     s->user[0] != '\0' ? s->user : NULL, pc->tag);
		sess_brute_failure(s);
	}
}

static void result_select(struct session *s, struct pending_cmd *pc, int st,
			  const struct imap_element *el)
{
	if (st == 0) {
		snprintf(s->mailbox, sizeof(s->mailbox), "%s", pc->mailbox);
		if (pc->cmd == CMD_EXAMINE || code_is(el, "READ-ONLY"))
			s->read_only = 1;
		else if (code_is(el, "READ-WRITE"))
			s->read_only = 0;
		sess_state(s, ST_SELECTED, pc->tag);
		return;
	}
	s->mailbox[0] = '\0';
	s->exists_known = 0;
	if (s->state == ST_SELECTED)
		sess_state(s, ST_AUTH, pc->tag);
}

static int same_mailbox(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0)
		return strcasecmp(b, "INBOX") == 0;
	return strcmp(a, b) == 0;
}

static void check_read_only_write(struct session *s, struct pending_cmd *pc,
				  const struct imap_element *el)
{
	int hit = 0;

	if (!s->read_only || s->state != ST_SELECTED)
		return;
	switch (pc->cmd) {
	case CMD_STORE: case CMD_UID_STORE: case CMD_EXPUNGE: case CMD_UID_EXPUNGE:
		hit = 1;
		break;
	case CMD_COPY: case CMD_MOVE: case CMD_UID_COPY: case CMD_UID_MOVE:
	case CMD_APPEND:
		hit = pc->mailbox[0] != '\0' && same_mailbox(pc->mailbox, s->mailbox);
		break;
	default:
		break;
	}
	if (hit)
		sess_finding(s, F_WRITE_ON_READ_ONLY, 1, el->offset, pc->name, pc->tag);
}

static void result_effects(struct session *s, struct pending_cmd *pc, int st,
			   const struct imap_element *el)
{
	const struct imap_cmd_info *ci;

	if (st != 0)
		s->expect_state = s->state;
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
		if (st == 0) {
			s->mailbox[0] = '\0';
			s->exists_known = 0;
			sess_state(s, ST_AUTH, pc->tag);
		}
		return;
	case CMD_LOGOUT:
		if (st == 0) {
			s->logout_done = 1;
			if (!s->bye_seen)
				sess_finding(s, F_LOGOUT_WITHOUT_BYE, 1, el->offset, NULL, pc->tag);
			sess_state(s, ST_LOGOUT, pc->tag);
		}
		return;
	case CMD_STARTTLS:
		if (st == 0) {
			sess_start_tls(s, pc->tag);
			return;
		}
		s->starttls_refused = 1;
		if (s->starttls_offered)
			sess_finding(s, F_STARTTLS_REFUSED, 1, el->offset, NULL, pc->tag);
		sess_stream_result(s, 0);
		return;
	case CMD_COMPRESS:
		if (st == 0)
			sess_start_compress(s, pc->tag);
		else
			sess_stream_result(s, 0);
		return;
	case CMD_IDLE:
		s->idle = 0;
		imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_COMMAND);
		return;
	default:
		break;
	}
	if (st != 0)
		return;
	check_read_only_write(s, pc, el);
	/* A mid-stream session learns its state from what succeeds. */
	ci = imap_cmd_info(pc->cmd);
	if (s->state == 0 && ci->states == ST_SELECTED)
		sess_state(s, ST_SELECTED, "inferred");
}

static void emit_result(struct session *s, const struct imap_element *el,
			const char *tag, struct pending_cmd *pc)
{
	struct imt_event *ev = ev_new(s, EV_RESULT, 1, el->offset);

	event_cstring(ev, "tag", tag);
	if (pc != NULL)
		event_cstring(ev, "command", pc->name);
	else
		event_null(ev, "command");
	event_cstring(ev, "status", el->name);
	add_code(ev, el);
	ev_str(ev, "text", el->text, el->text_len, s->e->cfg.lim.max_args_text);
	if (pc != NULL) {
		event_ms(ev, "latency_ms", ts_diff_ns(s->cur.ts_sec, s->cur.ts_nsec,
						   pc->ts_sec, pc->ts_nsec));
		event_u64(ev, "command_frame", pc->frame);
	}
	ev_emit(s, ev);
}

static void remember_tag(struct session *s, const char *tag)
{
	s->recent_tags[s->nrecent++ % SESS_RECENT_TAGS] = sess_tag_hash(tag);
}

static void server_tagged(struct session *s, const struct imap_element *el)
{
	char tag[SESS_TAG_MAX + 1];
	size_t tl = el->tag_len < SESS_TAG_MAX ? el->tag_len : SESS_TAG_MAX;
	struct pending_cmd *pc;
	int st = status_index(el->name);

	memcpy(tag, el->tag, tl);
	tag[tl] = '\0';
	pc = pending_find(s, tag, tl);
	if (pc == NULL && s->lit_waiting && st != 0 &&
	    imap_parser_cancel_literal(s->dir[0].parser)) {
		/* The server refused the client's synchronizing literal: the
		 * command it belongs to is complete now, without its data. */
		s->lit_waiting = 0;
		pc = pending_find(s, tag, tl);
	}
	s->results[st]++;
	emit_result(s, el, tag, pc);
	if (st == 3)
		sess_finding(s, F_BAD_STATUS, 1, el->offset, el->name, tag);
	else if (st == 2)
		sess_finding_text(s, F_SERVER_BAD, el, tag);
	status_code(s, el);
	if (pc == NULL) {
		if (!s->midstream && !s->gap_seen[0] && !s->gap_seen[1])
			sess_finding(s, F_UNKNOWN_TAG_RESULT, 1, el->offset, NULL, tag);
		return;
	}
	{
		struct pending_cmd done = *pc;

		pending_remove(s, pc);
		remember_tag(s, done.tag);
		if (done.cmd != CMD_UNKNOWN)
			result_effects(s, &done, st, el);
	}
}

void server_element(struct session *s, const struct imap_element *el)
{
	if (!s->greeted && greeting(s, el))
		return;
	if (s->bye_seen && !(el->kind == IMAP_EL_TAGGED && s->logout_sent &&
			     !s->logout_done)) {
		if (!s->logout_done || el->kind != IMAP_EL_UNPARSED)
			sess_finding(s, F_DATA_AFTER_BYE, 1, el->offset, el->name, NULL);
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
