/*
 * sess_client.c - what the client's elements mean: commands checked
 * against the state and command tables, credentials found (and
 * redacted), SASL exchanges and IDLE followed, tags tracked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sess_int.h"
#include "mem.h"

static int tag_recent(const struct session *s, uint32_t h)
{
	/* Only the slots written so far: most sessions use a few. */
	uint64_t used = s->nrecent < SESS_RECENT_TAGS ? s->nrecent : SESS_RECENT_TAGS;

	for (uint64_t i = 0; i < used; i++)
		if (s->recent_tags[i] == h)
			return 1;
	return 0;
}

/* Copies the text of top-level argument `idx` (unquoted) into buf. */
static int arg_text(const struct imap_element *el, int idx, char *buf, size_t size)
{
	int top = -1;

	buf[0] = '\0';
	for (size_t i = 0; i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		const char *p;
		size_t n;

		if (t->depth != 0 || t->type == IMAP_TOK_LIST_END)
			continue;
		if (++top != idx)
			continue;
		if (!token_is_atom_like(t))
			return -1;
		n = token_text(el, t, &p);
		if (n >= size)
			n = size - 1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return 0;
	}
	return -1;
}

static int count_args(const struct imap_element *el)
{
	int n = 0;

	for (size_t i = 0; i < el->ntokens; i++)
		if (el->tokens[i].depth == 0 && el->tokens[i].type != IMAP_TOK_LIST_END)
			n++;
	return n + (el->tokens_dropped > 0 ? 1 : 0);
}

/* sequence-set per RFC 3501 §9, or "$" (RFC 5182). */
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

/* Decodes base64 into out; returns the decoded length, or -1. */
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
	if (n >= sizeof(s->user))
		n = sizeof(s->user) - 1;
	memcpy(s->user, p, n);
	s->user[n] = '\0';
}

/* PLAIN: [authzid] NUL authcid NUL passwd; the authcid is the user. */
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

static void sasl_login_user(struct session *s, const char *b64, size_t len)
{
	uint8_t buf[512];
	long n = b64decode(b64, len, buf, sizeof(buf));

	if (n > 0)
		set_user(s, (const char *)buf, (size_t)n);
}

static void cleartext_credentials(struct session *s, const char *how,
				  uint64_t offset, const char *tag)
{
	char detail[200];
	int offered = s->starttls_offered || sess_server_had_tls(s);

	if (s->tls)
		return;
	snprintf(detail, sizeof(detail), "%s without TLS; STARTTLS was %s", how,
		 offered ? "offered by the server" :
		 s->caps_known ? "not offered" : "not seen offered");
	sess_finding(s, F_CLEARTEXT_CREDENTIALS, 0, offset, detail, tag);
	if (offered)
		sess_finding(s, F_STARTTLS_STRIPPED, 0, offset,
			     "the server offers STARTTLS but credentials went in cleartext",
			     tag);
}

static struct pending_cmd *pending_add(struct session *s)
{
	size_t max = s->e->cfg.lim.max_pending;

	if (s->npending >= max && max > 0) {
		struct imt_finding_report f = {
			.id = F_LIMIT_REACHED, .dir = 0, .limit = "max-pending",
			.offset = imap_parser_offset(s->dir[0].parser),
			.value = max,
			.detail = "too many commands without a result; the oldest are forgotten",
		};
		/* The oldest eighth goes at once, so a client that never
		 * waits costs one memmove per max/8 commands, not one per
		 * command; and it is reported once per session, not once
		 * per command. */
		size_t drop = max / 8 > 0 ? max / 8 : 1;

		if (!s->pending_told)
			sess_finding_report(s, &f);
		s->pending_told = 1;
		memmove(s->pending, s->pending + drop,
			(s->npending - drop) * sizeof(*s->pending));
		s->npending -= drop;
	}
	if (s->npending == s->cap_pending) {
		size_t ncap = s->cap_pending ? s->cap_pending * 2 : 8;
		struct pending_cmd *p = realloc(s->pending, ncap * sizeof(*p));

		if (p == NULL)
			return NULL;
		s->pending = p;
		s->cap_pending = ncap;
	}
	mem_zero(&s->pending[s->npending], sizeof(s->pending[0]));
	return &s->pending[s->npending++];
}

/* The state this command leads to if it succeeds. */
static void expect_after(struct session *s, enum imap_cmd cmd)
{
	switch (cmd) {
	case CMD_LOGIN: case CMD_AUTHENTICATE:
		s->expect_state = ST_AUTH;
		break;
	case CMD_SELECT: case CMD_EXAMINE:
		s->expect_state = ST_SELECTED;
		break;
	case CMD_CLOSE: case CMD_UNSELECT: case CMD_UNAUTHENTICATE:
		s->expect_state = cmd == CMD_UNAUTHENTICATE ? ST_NOTAUTH : ST_AUTH;
		break;
	default:
		break;
	}
}

static void check_state(struct session *s, const struct imap_element *el,
			enum imap_cmd cmd, const char *tag)
{
	const struct imap_cmd_info *ci = imap_cmd_info(cmd);
	char detail[160];

	/* Pipelined commands are judged by the state the commands before
	 * them lead to when they succeed. */
	if (s->state == 0 || s->state == ST_LOGOUT || (ci->states & s->state) ||
	    (ci->states & s->expect_state))
		return;
	snprintf(detail, sizeof(detail), "%s is not allowed in the %s state",
		 ci->name, imap_state_name(s->state));
	sess_finding(s, F_COMMAND_INVALID_IN_STATE, 0, el->offset, detail, tag);
}

static void check_args(struct session *s, const struct imap_element *el,
		       enum imap_cmd cmd, const char *tag)
{
	const struct imap_cmd_info *ci = imap_cmd_info(cmd);
	int n = count_args(el);
	char detail[160];
	char seq[256];

	/* A cut line has lost arguments: nothing to judge. */
	if (el->line_truncated || el->tokens_dropped > 0)
		return;
	if (n < ci->min_args || (ci->max_args >= 0 && n > ci->max_args)) {
		if (ci->max_args > ci->min_args)
			snprintf(detail, sizeof(detail), "%s takes %d to %d arguments, got %d",
				 ci->name, ci->min_args, ci->max_args, n);
		else
			snprintf(detail, sizeof(detail), "%s takes %d%s argument%s, got %d",
				 ci->name, ci->min_args, ci->max_args < 0 ? " or more" : "",
				 ci->min_args == 1 && ci->max_args == 1 ? "" : "s", n);
		sess_finding(s, F_BAD_ARGUMENTS, 0, el->offset, detail, tag);
		return;
	}
	switch (cmd) {
	case CMD_FETCH: case CMD_STORE: case CMD_COPY: case CMD_MOVE:
	case CMD_UID_FETCH: case CMD_UID_STORE: case CMD_UID_COPY:
	case CMD_UID_MOVE: case CMD_UID_EXPUNGE:
		if (arg_text(el, 0, seq, sizeof(seq)) != 0 || !seqset_valid(seq)) {
			snprintf(detail, sizeof(detail),
				 "%s needs a sequence set as its first argument", ci->name);
			sess_finding(s, F_BAD_ARGUMENTS, 0, el->offset, detail, tag);
		}
		break;
	default:
		break;
	}
}

static void command_effects(struct session *s, const struct imap_element *el,
			    enum imap_cmd cmd, struct pending_cmd *pc)
{
	char buf[SESS_MAILBOX_MAX];

	switch (cmd) {
	case CMD_LOGIN:
		if (arg_text(el, 0, buf, sizeof(buf)) == 0)
			set_user(s, buf, strlen(buf));
		if (sess_has_cap(s, "LOGINDISABLED"))
			sess_finding(s, F_LOGIN_DISABLED, 0, el->offset, NULL, pc->tag);
		if (count_args(el) >= 2)
			cleartext_credentials(s, "LOGIN", el->offset, pc->tag);
		break;
	case CMD_AUTHENTICATE:
		s->auth_active = 1;
		s->auth_step = 0;
		arg_text(el, 0, buf, sizeof(buf));
		s->auth_mech = strcasecmp(buf, "PLAIN") == 0 ? SASL_PLAIN :
			       strcasecmp(buf, "LOGIN") == 0 ? SASL_LOGIN : SASL_OTHER;
		if (arg_text(el, 1, buf, sizeof(buf)) == 0 && strcmp(buf, "=") != 0) {
			/* SASL-IR: the first response rides on the command. */
			s->auth_step = 1;
			if (s->auth_mech == SASL_PLAIN) {
				sasl_plain_user(s, buf, strlen(buf));
				cleartext_credentials(s, "AUTHENTICATE PLAIN", el->offset, pc->tag);
			} else if (s->auth_mech == SASL_LOGIN) {
				sasl_login_user(s, buf, strlen(buf));
			}
		}
		break;
	case CMD_STARTTLS:
		if (s->caps_known && !sess_has_cap(s, "STARTTLS"))
			sess_finding(s, F_STARTTLS_NOT_ADVERTISED, 0, el->offset, NULL, pc->tag);
		if (s->tls || s->starttls_refused)
			sess_finding(s, F_STARTTLS_REPEATED, 0, el->offset, NULL, pc->tag);
		if (!s->tls) {
			sess_starttls_sent(s, pc->tag);
			imap_parser_pause(s->dir[0].parser);
		}
		break;
	case CMD_COMPRESS:
		if (!s->compress) {
			sess_compress_sent(s);
			imap_parser_pause(s->dir[0].parser);
		}
		break;
	case CMD_IDLE:
		s->idle = 1;
		imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_LINE);
		break;
	case CMD_LOGOUT:
		s->logout_sent = 1;
		break;
	case CMD_SELECT:
	case CMD_EXAMINE:
		arg_text(el, 0, pc->mailbox, sizeof(pc->mailbox));
		s->exists_known = 0;
		s->uidnext_known = 0;
		s->last_fetch_msn = s->last_fetch_uid = 0;
		break;
	case CMD_APPEND:
		arg_text(el, 0, pc->mailbox, sizeof(pc->mailbox));
		break;
	case CMD_COPY: case CMD_MOVE: case CMD_UID_COPY: case CMD_UID_MOVE:
		arg_text(el, 1, pc->mailbox, sizeof(pc->mailbox));
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

static void emit_command(struct session *s, const struct imap_element *el,
			 const char *tag, enum imap_cmd cmd)
{
	struct imt_event *ev = ev_new(s, EV_COMMAND, 0, el->offset);
	int redact = -1;

	if (!s->e->cfg.show_secrets && (cmd == CMD_LOGIN || cmd == CMD_AUTHENTICATE))
		redact = 1;
	event_cstring(ev, "tag", tag);
	event_cstring(ev, "command", el->name);
	ev_tokens(ev, "args", el, s->e->cfg.lim.max_args_text, redact);
	event_object(ev, "literals");
	event_u64(ev, "count", el->literals);
	event_u64(ev, "bytes", el->literal_bytes);
	event_close(ev);
	ev_emit(s, ev);
}

static void client_command(struct session *s, const struct imap_element *el)
{
	char tag[SESS_TAG_MAX + 1];
	size_t tl = el->tag_len < SESS_TAG_MAX ? el->tag_len : SESS_TAG_MAX;
	enum imap_cmd cmd = imap_cmd_lookup(el->name, strlen(el->name));
	struct pending_cmd *pc;
	uint32_t h;

	memcpy(tag, el->tag, tl);
	tag[tl] = '\0';
	s->commands++;
	emit_command(s, el, tag, cmd);
	if (!s->greeted && !s->midstream && !s->client_spoke)
		sess_finding(s, F_CLIENT_BEFORE_GREETING, 0, el->offset, NULL, tag);
	s->client_spoke = 1;
	if (s->logout_done || s->bye_seen || s->state == ST_LOGOUT)
		sess_finding(s, F_COMMAND_AFTER_LOGOUT, 0, el->offset, el->name, tag);
	if (pending_find(s, tag, tl) != NULL)
		sess_finding(s, F_DUPLICATE_TAG, 0, el->offset, NULL, tag);
	else if (tag_recent(s, h = sess_tag_hash(tag)))
		sess_finding(s, F_TAG_REUSED, 0, el->offset, NULL, tag);
	if (cmd == CMD_UNKNOWN) {
		if ((el->name[0] | 0x20) != 'x')
			sess_finding(s, F_UNKNOWN_COMMAND, 0, el->offset, el->name, tag);
	} else {
		check_state(s, el, cmd, tag);
		check_args(s, el, cmd, tag);
	}
	pc = pending_add(s);
	if (pc == NULL)
		return;
	memcpy(pc->tag, tag, tl + 1);
	{
		size_t n = strnlen(el->name, sizeof(pc->name) - 1);

		memcpy(pc->name, el->name, n);
		pc->name[n] = '\0';
	}
	pc->cmd = cmd;
	pc->frame = s->cur.frame;
	pc->ts_sec = s->cur.ts_sec;
	pc->ts_nsec = s->cur.ts_nsec;
	pc->offset = el->offset;
	if (cmd != CMD_UNKNOWN)
		command_effects(s, el, cmd, pc);
	expect_after(s, cmd);
}

static void emit_client_data(struct session *s, const struct imap_element *el,
			     const char *kind, int secret)
{
	struct imt_event *ev = ev_new(s, EV_CLIENT_DATA, 0, el->offset);

	event_cstring(ev, "kind", kind);
	if (secret && !s->e->cfg.show_secrets) {
		char text[64];

		snprintf(text, sizeof(text), "<redacted %zu bytes>", el->line_len);
		event_cstring(ev, "text", text);
		event_bool(ev, "redacted", 1);
	} else {
		ev_str(ev, "text", el->line, el->line_len, s->e->cfg.lim.max_args_text);
	}
	ev_emit(s, ev);
}

static void client_sasl_line(struct session *s, const struct imap_element *el)
{
	struct pending_cmd *auth = NULL;

	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].cmd == CMD_AUTHENTICATE)
			auth = &s->pending[i];
	imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_COMMAND);
	if (el->line_len == 1 && el->line[0] == '*') {
		emit_client_data(s, el, "sasl-cancel", 0);
		return;
	}
	emit_client_data(s, el, "sasl", 1);
	if (s->auth_mech == SASL_PLAIN && s->auth_step == 0) {
		sasl_plain_user(s, el->line, el->line_len);
		cleartext_credentials(s, "AUTHENTICATE PLAIN", el->offset,
				      auth != NULL ? auth->tag : NULL);
	} else if (s->auth_mech == SASL_LOGIN && s->auth_step == 0) {
		sasl_login_user(s, el->line, el->line_len);
	} else if (s->auth_mech == SASL_LOGIN && s->auth_step == 1) {
		cleartext_credentials(s, "AUTHENTICATE LOGIN", el->offset,
				      auth != NULL ? auth->tag : NULL);
	}
	s->auth_step++;
}

static void client_line(struct session *s, const struct imap_element *el)
{
	if (s->logout_done || s->bye_seen)
		sess_finding(s, F_COMMAND_AFTER_LOGOUT, 0, el->offset, NULL, NULL);
	if (s->idle) {
		if (el->line_len == 4 && strncasecmp(el->line, "DONE", 4) == 0) {
			emit_client_data(s, el, "idle-done", 0);
			s->idle = 0;
			imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_COMMAND);
			return;
		}
		emit_client_data(s, el, "line", 0);
		sess_finding(s, F_COMMAND_DURING_IDLE, 0, el->offset, NULL, NULL);
		return;
	}
	if (s->auth_active) {
		client_sasl_line(s, el);
		return;
	}
	imap_parser_set_mode(s->dir[0].parser, IMAP_MODE_COMMAND);
	emit_client_data(s, el, "line", 0);
}

void client_element(struct session *s, const struct imap_element *el)
{
	switch (el->kind) {
	case IMAP_EL_COMMAND:
		if (s->idle) {
			/* Only reachable if the mode was not switched in time. */
			sess_finding(s, F_COMMAND_DURING_IDLE, 0, el->offset, el->name, NULL);
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

void client_literal_begin(struct session *s, const struct imap_literal *lit)
{
	if (!lit->nonsync) {
		s->lit_waiting = 1;
		s->lit_frame = s->cur.frame;
		return;
	}
	if (!s->caps_known || sess_has_cap(s, "LITERAL+"))
		return;
	if (sess_has_cap(s, "LITERAL-") && lit->size <= 4096)
		return;
	sess_finding(s, F_NONSYNC_LITERAL_UNADVERTISED, 0, lit->data_offset,
		     sess_has_cap(s, "LITERAL-") ?
		     "non-synchronizing literal over 4096 octets with only LITERAL-" :
		     "the server did not advertise LITERAL+", NULL);
}

void client_literal_data(struct session *s, uint64_t offset)
{
	if (!s->lit_waiting)
		return;
	s->lit_waiting = 0;
	s->lit_late = 1;
	sess_finding(s, F_LITERAL_NOT_SYNCHRONIZED, 0, offset, NULL, NULL);
}
