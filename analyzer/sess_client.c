/*
 * sess_client.c - what the client's elements mean: commands checked
 * against the state and command tables, tags checked against the
 * outstanding and completed ones, credentials found (and redacted),
 * SASL exchanges and IDLE followed, literal synchronisation checked.
 *
 * Calls out to the outstanding commands (sess_pending.h), the
 * capabilities (sess_caps.h), the state (sess_state.h), the stream
 * switches (sess_stream.h), the memory across sessions (sess_memory.h)
 * and the events (sess_event.h); nothing calls in but the client
 * parser's callbacks in session.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sess_client.h"
#include "sess_event.h"
#include "sess_session.h"
#include "sess_state.h"
#include "sess_token.h"
#include "sess_txn.h"

/* sequence-set per RFC 3501 §9, or "$" (RFC 5182 §2.1). */
static int seqset_valid(const char *p)
{
	if (strcmp(p, "$") == 0)
		return 1;
	for (;;) {
		for (int part = 0; part < 2; part++) {
			if (*p == '*') {
				p++;
			} else {
				if (*p < '1' || *p > '9')
					return 0;
				while (*p >= '0' && *p <= '9')
					p++;
			}
			if (part == 0 && *p == ':')
				p++;
			else
				break;
		}
		if (*p == '\0')
			return 1;
		if (*p != ',')
			return 0;
		p++;
	}
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decodes base64 (RFC 4648 §4) into out; returns the decoded length, or
 * -1. */
static long b64decode(const char *in, size_t len, uint8_t *out, size_t size)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int v;

		if (in[i] == '=')
			break;
		v = b64val((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

static void set_user(struct session *s, const char *p, size_t n)
{
	sess_text_set(&s->user, &s->e->small, p, n, SESS_USER_MAX);
}

/* PLAIN (RFC 4616 §2): [authzid] NUL authcid NUL passwd; the authcid is
 * the user. */
static void sasl_plain_user(struct session *s, const char *b64, size_t len)
{
	uint8_t buf[1024];
	long n = b64decode(b64, len, buf, sizeof(buf));
	const uint8_t *nul1, *nul2;

	if (n <= 0)
		return;
	nul1 = memchr(buf, 0, (size_t)n);
	if (nul1 == NULL)
		return;
	nul2 = memchr(nul1 + 1, 0, (size_t)(buf + n - nul1 - 1));
	if (nul2 == NULL)
		return;
	set_user(s, (const char *)nul1 + 1, (size_t)(nul2 - nul1 - 1));
}

/* LOGIN (draft-murchison-sasl-login): the user first, then the password. */
static void sasl_login_user(struct session *s, const char *b64, size_t len)
{
	uint8_t buf[512];
	long n = b64decode(b64, len, buf, sizeof(buf));

	if (n > 0)
		set_user(s, (const char *)buf, (size_t)n);
}

/* RFC 3501 §11.1 (and RFC 8314 §3): a password goes only over TLS.  The
 * detail says what the client had: STARTTLS on offer and not used, an
 * offer stripped on the way (starttls-stripped, reported where the
 * evidence is), or no offer. */
static void cleartext_credentials(struct session *s, const char *how,
				  uint64_t offset, const char *tag)
{
	char detail[200];
	const char *tls;

	if (sess_stream_tls(&s->io))
		return;
	if (s->starttls_stripped)
		tls = "stripped on the way (see starttls-stripped)";
	else if (s->starttls_refused)
		tls = "refused by the server";
	else if (s->starttls_offered)
		tls = "offered by the server and not used by the client";
	else if (sess_memory_tls_was_offered(&s->e->memory, &s->sv))
		tls = "offered by the server in an earlier session, not seen in this one";
	else
		tls = sess_caps_known(&s->caps) ? "not offered" : "not seen offered";
	snprintf(detail, sizeof(detail), "%s without TLS; STARTTLS was %s", how, tls);
	sess_finding(s, F_CLEARTEXT_CREDENTIALS, IMT_C2S, offset, detail, tag);
}

/* The command table's argument counts (imap_cmd.h), and the sequence set
 * that commands on messages start with (RFC 3501 §6.4, §9). */
static void check_args(struct session *s, const struct imap_element *el,
		       enum imap_cmd cmd, const char *tag)
{
	const struct imap_cmd_info *ci = imap_cmd_info(cmd);
	int n = sess_token_count_args(el);
	char detail[160];
	char seq[256];

	/* A cut line has lost arguments: nothing to judge. */
	if (el->line_truncated || el->partial || el->tokens_dropped > 0)
		return;
	if (n < ci->min_args || (ci->max_args >= 0 && n > ci->max_args)) {
		if (ci->max_args > ci->min_args)
			snprintf(detail, sizeof(detail), "%s takes %d to %d arguments, got %d",
				 ci->name, ci->min_args, ci->max_args, n);
		else
			snprintf(detail, sizeof(detail), "%s takes %d%s argument%s, got %d",
				 ci->name, ci->min_args, ci->max_args < 0 ? " or more" : "",
				 ci->min_args == 1 && ci->max_args == 1 ? "" : "s", n);
		sess_finding(s, F_BAD_ARGUMENTS, IMT_C2S, el->offset, detail, tag);
		return;
	}
	switch (cmd) {
	case CMD_FETCH: case CMD_STORE: case CMD_COPY: case CMD_MOVE:
	case CMD_UID_FETCH: case CMD_UID_STORE: case CMD_UID_COPY:
	case CMD_UID_MOVE: case CMD_UID_EXPUNGE:
		if (sess_token_arg(el, 0, seq, sizeof(seq)) != 0 || !seqset_valid(seq)) {
			snprintf(detail, sizeof(detail),
				 "%s needs a sequence set as its first argument", ci->name);
			sess_finding(s, F_BAD_ARGUMENTS, IMT_C2S, el->offset, detail, tag);
		}
		break;
	default:
		break;
	}
}

/* The mailbox a command names, its idx-th argument, kept in pc. */
static void cmd_mailbox(struct sess_cmd *pc, const struct imap_element *el, int idx)
{
	char mb[SESS_MAILBOX_MAX];

	mb[0] = '\0';
	sess_token_arg(el, idx, mb, sizeof(mb));
	sess_text_set(&pc->mailbox, NULL, mb, strlen(mb), sizeof(mb));
}

static void command_effects(struct session *s, const struct imap_element *el,
			    enum imap_cmd cmd, struct sess_cmd *pc)
{
	char buf[SESS_MAILBOX_MAX];

	switch (cmd) {
	case CMD_LOGIN:
		if (sess_token_arg(el, 0, buf, sizeof(buf)) == 0)
			set_user(s, buf, strlen(buf));
		/* RFC 3501 §6.2.3: LOGINDISABLED forbids LOGIN. */
		if (sess_caps_has(&s->caps, "LOGINDISABLED"))
			sess_finding(s, F_LOGIN_DISABLED, IMT_C2S, el->offset, NULL, sess_cmd_tag(pc));
		/* Cut by a gap, it still carried its password. */
		if (sess_token_count_args(el) >= 2 || el->partial)
			cleartext_credentials(s, "LOGIN", el->offset, sess_cmd_tag(pc));
		break;
	case CMD_AUTHENTICATE:
		s->auth_active = 1;
		s->auth_step = 0;
		sess_token_arg(el, 0, buf, sizeof(buf));
		s->auth_mech = strcasecmp(buf, "PLAIN") == 0 ? SESS_SASL_PLAIN :
			       strcasecmp(buf, "LOGIN") == 0 ? SESS_SASL_LOGIN : SESS_SASL_OTHER;
		if (sess_token_arg(el, 1, buf, sizeof(buf)) == 0 && strcmp(buf, "=") != 0) {
			/* SASL-IR (RFC 4959 §3): the first response rides on
			 * the command. */
			s->auth_step = 1;
			if (s->auth_mech == SESS_SASL_PLAIN) {
				sasl_plain_user(s, buf, strlen(buf));
				cleartext_credentials(s, "AUTHENTICATE PLAIN", el->offset, sess_cmd_tag(pc));
			} else if (s->auth_mech == SESS_SASL_LOGIN) {
				sasl_login_user(s, buf, strlen(buf));
			}
		}
		break;
	case CMD_STARTTLS:
		/* RFC 3501 §6.2.1: only when announced, and only once. */
		if (sess_caps_known(&s->caps) && !sess_caps_has(&s->caps, "STARTTLS"))
			sess_finding(s, F_STARTTLS_NOT_ADVERTISED, IMT_C2S, el->offset, NULL,
				     sess_cmd_tag(pc));
		if (sess_stream_tls(&s->io) || s->starttls_refused)
			sess_finding(s, F_STARTTLS_REPEATED, IMT_C2S, el->offset, NULL, sess_cmd_tag(pc));
		sess_stream_sent(&s->io, SESS_SWITCH_STARTTLS, sess_cmd_tag(pc));
		break;
	case CMD_COMPRESS:
		sess_stream_sent(&s->io, SESS_SWITCH_COMPRESS, sess_cmd_tag(pc));
		break;
	case CMD_IDLE:
		/* RFC 2177 §3: until DONE, the client sends only DONE. */
		s->idle = 1;
		imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_LINE);
		break;
	case CMD_LOGOUT:
		s->logout_sent = 1;
		break;
	case CMD_SELECT:
	case CMD_EXAMINE:
		cmd_mailbox(pc, el, 0);
		s->exists_known = 0;
		s->uidnext_known = 0;
		s->last_fetch_msn = s->last_fetch_uid = 0;
		break;
	case CMD_APPEND:
		cmd_mailbox(pc, el, 0);
		break;
	case CMD_COPY: case CMD_MOVE: case CMD_UID_COPY: case CMD_UID_MOVE:
		cmd_mailbox(pc, el, 1);
		break;
	case CMD_FETCH: case CMD_STORE: case CMD_SEARCH:
		pc->msn_fetch = 1;
		s->last_fetch_msn = s->last_fetch_uid = 0;
		break;
	case CMD_UID_FETCH:
		s->last_fetch_msn = s->last_fetch_uid = 0;
		break;
	default:
		break;
	}
}

/* The first argument of cmd written as "<redacted>" (-1: none): a
 * LOGIN's password, an AUTHENTICATE's initial response. */
static int args_redact_from(const struct session *s, enum imap_cmd cmd)
{
	if (!s->e->cfg.show_secrets && (cmd == CMD_LOGIN || cmd == CMD_AUTHENTICATE))
		return 1;
	return -1;
}

static void emit_command(struct session *s, const struct imap_element *el,
			 const char *tag, enum imap_cmd cmd)
{
	struct imt_event *ev = sess_ev_new(s, EV_COMMAND, IMT_C2S, el->offset);

	event_cstring(ev, "tag", tag);
	event_cstring(ev, "command", el->name);
	sess_ev_tokens(ev, "args", el, s->e->cfg.lim.max_args_text,
		       args_redact_from(s, cmd));
	event_object(ev, "literals");
	event_u64(ev, "count", el->literals);
	event_u64(ev, "bytes", el->literal_bytes);
	event_close(ev);
	if (el->partial)
		event_bool(ev, "partial", 1);
	sess_ev_emit(s, ev);
}

/* A new outstanding command; past max-pending the oldest are forgotten,
 * which is said once per session. */
static struct sess_cmd *pending_add(struct session *s)
{
	size_t max = s->e->cfg.lim.max_pending;
	size_t dropped;
	struct sess_cmd *pc = sess_pending_add(&s->pending, &s->e->small, max, &dropped);

	if (dropped > 0 && !s->pending_told) {
		struct imt_finding_report f = {
			.id = F_LIMIT_REACHED, .dir = IMT_C2S, .limit = "max-pending",
			.offset = imap_parser_offset(sess_parser(s, IMT_C2S)),
			.value = max,
			.detail = "too many commands without a result; the oldest are forgotten",
		};

		sess_finding_report(s, &f);
		s->pending_told = 1;
	}
	return pc;
}

/* command-after-logout for el (a command named name, or a line when
 * name is NULL); the detail names the LOGOUT still waiting for its
 * result when the data was pipelined behind it. */
static void after_logout(struct session *s, const struct imap_element *el,
			 const char *name, const char *tag)
{
	const struct sess_cmd *lo = sess_pending_newest_of(&s->pending, CMD_LOGOUT,
							   CMD_LOGOUT);
	char detail[SESS_TAG_MAX + 80];

	if (lo == NULL) {
		sess_finding(s, F_COMMAND_AFTER_LOGOUT, IMT_C2S, el->offset, name, tag);
		return;
	}
	snprintf(detail, sizeof(detail), "%s sent behind LOGOUT %s before its result",
		 name != NULL ? name : "a line", sess_cmd_tag(lo));
	sess_finding(s, F_COMMAND_AFTER_LOGOUT, IMT_C2S, el->offset, detail, tag);
}

static void client_command(struct session *s, const struct imap_element *el)
{
	char tag[SESS_TAG_MAX + 1];
	size_t tl = el->tag_len < SESS_TAG_MAX ? el->tag_len : SESS_TAG_MAX;
	enum imap_cmd cmd = imap_cmd_lookup(el->name, strlen(el->name));
	struct sess_cmd *pc;

	memcpy(tag, el->tag, tl);
	tag[tl] = '\0';
	s->commands++;
	emit_command(s, el, tag, cmd);
	/* RFC 3501 §7.1: the server speaks first.  A greeting the capture
	 * cut may just not have been recognised. */
	if (!s->greeted && !s->midstream && !s->client_spoke &&
	    !s->gap_seen[IMT_S2C])
		sess_finding(s, F_CLIENT_BEFORE_GREETING, IMT_C2S, el->offset, NULL, tag);
	s->client_spoke = 1;
	/* RFC 3501 §6.1.3: nothing after LOGOUT, whether the client waited
	 * for its result or pipelined the command behind it. */
	if (s->logout_sent || s->logout_done || s->bye_seen ||
	    sess_state_now(s) == ST_LOGOUT)
		after_logout(s, el, el->name, tag);
	/* RFC 3501 §2.2.1: a tag is unique among the outstanding commands;
	 * reusing a completed one is allowed but worth noting. */
	if (sess_pending_find(&s->pending, tag, tl) != NULL)
		sess_finding(s, F_DUPLICATE_TAG, IMT_C2S, el->offset, NULL, tag);
	else if (sess_pending_tag_completed(&s->pending, tag))
		sess_finding(s, F_TAG_REUSED, IMT_C2S, el->offset, NULL, tag);
	if (cmd == CMD_UNKNOWN) {
		/* RFC 3501 §6: X-prefixed commands are experimental, not
		 * unknown. */
		if ((el->name[0] | 0x20) != 'x')
			sess_finding(s, F_UNKNOWN_COMMAND, IMT_C2S, el->offset, el->name, tag);
	} else {
		sess_state_check(s, el, cmd, tag);
		check_args(s, el, cmd, tag);
	}
	pc = pending_add(s);
	if (pc == NULL)
		return;
	(void)sess_cmd_set_text(pc, tag, tl, el->name);
	pc->cmd = cmd;
	pc->frame = s->cur.frame;
	pc->ts_sec = s->cur.ts_sec;
	pc->ts_nsec = s->cur.ts_nsec;
	pc->offset = el->offset;
	if (cmd != CMD_UNKNOWN)
		command_effects(s, el, cmd, pc);
	if (sess_txn_wanted(s))
		sess_txn_begin(s, pc, el, args_redact_from(s, cmd));
	sess_state_expect(s, cmd);
}

static void emit_client_data(struct session *s, const struct imap_element *el,
			     const char *kind, int secret)
{
	struct imt_event *ev = sess_ev_new(s, EV_CLIENT_DATA, IMT_C2S, el->offset);

	event_cstring(ev, "kind", kind);
	if (secret && !s->e->cfg.show_secrets) {
		char text[64];

		snprintf(text, sizeof(text), "<redacted %zu bytes>", el->line_len);
		event_cstring(ev, "text", text);
		event_bool(ev, "redacted", 1);
	} else {
		sess_ev_str(ev, "text", el->line, el->line_len, s->e->cfg.lim.max_args_text);
	}
	sess_ev_emit(s, ev);
}

/* A client line of an AUTHENTICATE exchange (RFC 3501 §6.2.2): base64
 * responses, redacted, or "*" to cancel. */
static void client_sasl_line(struct session *s, const struct imap_element *el)
{
	struct sess_cmd *auth = sess_pending_newest_of(&s->pending, CMD_AUTHENTICATE,
						       CMD_AUTHENTICATE);

	imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_COMMAND);
	if (el->line_len == 1 && el->line[0] == '*') {
		emit_client_data(s, el, "sasl-cancel", 0);
		return;
	}
	emit_client_data(s, el, "sasl", 1);
	if (s->auth_mech == SESS_SASL_PLAIN && s->auth_step == 0) {
		sasl_plain_user(s, el->line, el->line_len);
		cleartext_credentials(s, "AUTHENTICATE PLAIN", el->offset,
				      auth != NULL ? sess_cmd_tag(auth) : NULL);
	} else if (s->auth_mech == SESS_SASL_LOGIN && s->auth_step == 0) {
		sasl_login_user(s, el->line, el->line_len);
	} else if (s->auth_mech == SESS_SASL_LOGIN && s->auth_step == 1) {
		cleartext_credentials(s, "AUTHENTICATE LOGIN", el->offset,
				      auth != NULL ? sess_cmd_tag(auth) : NULL);
	}
	s->auth_step++;
}

static void client_line(struct session *s, const struct imap_element *el)
{
	if (s->logout_sent || s->logout_done || s->bye_seen)
		after_logout(s, el, NULL, NULL);
	if (s->idle) {
		/* RFC 2177 §3: DONE ends IDLE; anything else is a violation. */
		if (el->line_len == 4 && strncasecmp(el->line, "DONE", 4) == 0) {
			emit_client_data(s, el, "idle-done", 0);
			s->idle = 0;
			imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_COMMAND);
			return;
		}
		emit_client_data(s, el, "line", 0);
		sess_finding(s, F_COMMAND_DURING_IDLE, IMT_C2S, el->offset, NULL, NULL);
		return;
	}
	if (s->auth_active) {
		client_sasl_line(s, el);
		return;
	}
	imap_parser_set_mode(sess_parser(s, IMT_C2S), IMAP_MODE_COMMAND);
	emit_client_data(s, el, "line", 0);
}

void sess_client_element(struct session *s, const struct imap_element *el)
{
	switch (el->kind) {
	case IMAP_EL_COMMAND:
		if (s->idle) {
			/* Only reachable if the mode was not switched in time. */
			sess_finding(s, F_COMMAND_DURING_IDLE, IMT_C2S, el->offset, el->name,
				     NULL);
		}
		client_command(s, el);
		break;
	case IMAP_EL_CLIENT_LINE:
		client_line(s, el);
		break;
	case IMAP_EL_UNPARSED:
		emit_client_data(s, el, "unparsed", 0);
		break;
	default:
		break;
	}
}

void sess_client_literal_begin(struct session *s, const struct imap_literal *lit)
{
	/* RFC 3501 §7.5: a synchronizing literal's data waits for "+". */
	if (!lit->nonsync) {
		s->lit_waiting = 1;
		s->lit_frame = s->cur.frame;
		return;
	}
	/* RFC 7888 §4: {N+} needs LITERAL+, or LITERAL- and N <= 4096. */
	if (!sess_caps_known(&s->caps) || sess_caps_has(&s->caps, "LITERAL+"))
		return;
	if (sess_caps_has(&s->caps, "LITERAL-") && lit->size <= 4096)
		return;
	sess_finding(s, F_NONSYNC_LITERAL_UNADVERTISED, IMT_C2S, lit->data_offset,
		     sess_caps_has(&s->caps, "LITERAL-") ?
		     "non-synchronizing literal over 4096 octets with only LITERAL-" :
		     "the server did not advertise LITERAL+", NULL);
}

void sess_client_literal_data(struct session *s, uint64_t offset)
{
	if (!s->lit_waiting)
		return;
	s->lit_waiting = 0;
	s->lit_late = 1;
	sess_finding(s, F_LITERAL_NOT_SYNCHRONIZED, IMT_C2S, offset, NULL, NULL);
}
