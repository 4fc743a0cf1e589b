/*
 * sess_extract.c - the evidence export inside the session engine (see
 * sess_extract.h and docs/extract.md, "Wiring").
 *
 * A literal is judged when it is announced, from the element's text read
 * so far: a server "* N FETCH (... ITEM {L}" whose ITEM is a body section
 * (BODY[...], BINARY[...], RFC822, RFC822.HEADER, RFC822.TEXT), a client
 * "tag APPEND mailbox ... {L}" (every literal after the mailbox, at the
 * top level) or a CATENATE TEXT literal.  The object starts at the first
 * data byte (a refused synchronizing literal never has one), takes every
 * byte and gap, and ends when the element holding it is delivered, or
 * when the session ends first.  The partial items a client's FETCH asks
 * for ("BODY.PEEK[]<0.100>") are noted as the command passes, so that
 * the response's "BODY[]<0>" gets the length asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract.h"
#include "mime.h"
#include "sess_event.h"
#include "sess_extract.h"
#include "sess_pending.h"
#include "sess_server.h"
#include "sess_session.h"

/* Objects whose data is complete, waiting for the end of their element. */
#define SESS_X_DONE 8

struct sess_xdir {
	int armed;                       /* the announced literal is message data */
	int begun;                       /* extract_begin was called */
	struct extract_obj *obj;         /* NULL: not extracted (a cap, an error) */
	uint64_t declared, got;          /* bytes given so far, gaps included */
	uint64_t data_offset;
	uint32_t index;                  /* message literals in this element */
	struct extract_meta meta;        /* pointers into the buffers below */
	char command[16];
	char tag[SESS_TAG_MAX + 1];
	char mailbox[SESS_MAILBOX_MAX];
	char section[257];
	struct extract_obj *done[SESS_X_DONE];
	uint64_t done_offset[SESS_X_DONE];
	unsigned ndone;
};

/* Partial fetches the client asked for ("BODY.PEEK[HEADER]<0.100>"),
 * remembered for the responses: the newest few of the session. */
#define SESS_X_PARTIALS 8
#define SESS_X_ITEM_MAX 64

struct sess_xpartial {
	char tag[SESS_TAG_MAX + 1];
	char item[SESS_X_ITEM_MAX];      /* "BODY[HEADER]": ".PEEK" and <> left out */
	size_t item_len;
	uint64_t origin, length;
};

struct sess_x {
	struct sess_xdir dir[IMT_NDIRS];
	struct sess_xpartial partial[SESS_X_PARTIALS];
	uint64_t npartial;               /* ever noted; slot npartial % SESS_X_PARTIALS */
	char client[IP_ENDPOINT_STRLEN], server[IP_ENDPOINT_STRLEN]; /* for meta */
};

struct sess_x *sess_x_new(void)
{
	return calloc(1, sizeof(struct sess_x));
}

void sess_x_free(struct sess_x *x)
{
	free(x);
}

/* Says once on standard error why the extraction stopped. */
static void x_check_error(struct sess_engine *e)
{
	const char *err = extract_error(e->x);

	if (err != NULL && !e->x_told) {
		fprintf(stderr, "imaptrace: %s\n", err);
		e->x_told = 1;
	}
}

/* Ends one object; a whole complete message is summarized and gets its
 * `message` event. */
static void x_end(struct session *s, enum imt_dir d, struct extract_obj *o,
		  enum extract_end_reason why, uint64_t offset)
{
	struct sess_engine *e = s->e;
	struct extract_result res;
	struct mime_summary sum;
	struct imt_event *ev;

	if (o == NULL)
		return;
	e->x_cur = s;
	if (extract_end(o, why, &res) != 0) {
		x_check_error(e);
		return;
	}
	if (!res.whole || !res.complete)
		return;
	memset(&sum, 0, sizeof(sum));
	if (mime_summarize(e->xm, &res, &sum) != 0)
		x_check_error(e);
	ev = sess_ev_new(s, EV_MESSAGE, d, offset);
	if (!ev->muted)
		mime_summary_members(ev, &res, &sum);
	sess_ev_emit(s, ev);
	mime_summary_free(&sum);
}

static void x_done_push(struct session *s, enum imt_dir d, struct sess_xdir *xd)
{
	if (xd->ndone == SESS_X_DONE) {
		/* Past the room: the oldest ends now, without a later UID. */
		x_end(s, d, xd->done[0], EXTRACT_END_DONE, xd->done_offset[0]);
		memmove(xd->done, xd->done + 1, (SESS_X_DONE - 1) * sizeof(xd->done[0]));
		memmove(xd->done_offset, xd->done_offset + 1,
			(SESS_X_DONE - 1) * sizeof(xd->done_offset[0]));
		xd->ndone--;
	}
	xd->done[xd->ndone] = xd->obj;
	xd->done_offset[xd->ndone++] = xd->data_offset;
	xd->obj = NULL;
	xd->armed = xd->begun = 0;
}

static void x_begin(struct session *s, struct sess_xdir *xd)
{
	char ts[48];

	sess_ev_ts(s, ts, sizeof(ts));
	xd->meta.first_frame = s->cur.frame;
	xd->meta.ts = ts;
	s->e->x_cur = s;
	xd->obj = extract_begin(s->e->x, &xd->meta);
	xd->meta.ts = NULL;
	xd->begun = 1;
	x_check_error(s->e);
}

/* ---- reading the line so far ------------------------------------------ */

static int is_atom_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.';
}

static int has_prefix(const char *p, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && strncasecmp(p, pre, k) == 0;
}

/* Reads decimal digits at l[*i]; 0 when there are none or too many. */
static int read_number(const char *l, size_t n, size_t *i, uint64_t *v_r)
{
	uint64_t v = 0;
	size_t start = *i;

	while (*i < n && l[*i] >= '0' && l[*i] <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(l[*i] - '0');
		(*i)++;
	}
	*v_r = v;
	return *i > start;
}

/* The data item that ends l[0, n) (trailing spaces left out):
 * "BODY[HEADER.FIELDS (FROM)]<0>", "RFC822".  Returns its start, or n
 * when there is none. */
static size_t last_item(const char *l, size_t n, size_t *end_r)
{
	size_t end = n, i;

	while (end > 0 && l[end - 1] == ' ')
		end--;
	i = end;
	if (i > 0 && l[i - 1] == '>') {
		while (i > 0 && l[i - 1] != '<')
			i--;
		if (i == 0)
			return n;
		i--;
	}
	if (i > 0 && l[i - 1] == ']') {
		while (i > 0 && l[i - 1] != '[')
			i--;
		if (i == 0)
			return n;
		i--;
	}
	while (i > 0 && is_atom_char(l[i - 1]))
		i--;
	if (i == 0 || i == end || (l[i - 1] != ' ' && l[i - 1] != '('))
		return n;
	*end_r = end;
	return i;
}

/* Steps over quoted strings: returns 1 when l[*i] is inside one (or
 * opens it), advancing *i over an escaped byte; *quote is the state. */
static int quoted_byte(const char *l, size_t n, size_t *i, int *quote)
{
	if (*quote) {
		if (l[*i] == '\\' && *i + 1 < n)
			(*i)++;
		else if (l[*i] == '"')
			*quote = 0;
		return 1;
	}
	return 0;
}

/* "UID n" at the top level of the FETCH item list l[from, to). */
static int line_uid(const char *l, size_t from, size_t to, uint64_t *uid_r)
{
	int depth = 0, bracket = 0, quote = 0;

	for (size_t i = from; i < to; i++) {
		char c = l[i];

		if (quoted_byte(l, to, &i, &quote))
			continue;
		if (c == '"')
			quote = 1;
		else if (c == '[')
			bracket = 1;
		else if (c == ']')
			bracket = 0;
		else if (bracket)
			continue;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
		else if (depth == 0 && (i == from || l[i - 1] == ' ') &&
			 to - i > 4 && strncasecmp(l + i, "UID ", 4) == 0) {
			size_t j = i + 4;

			if (read_number(l, to, &j, uid_r))
				return 1;
		}
	}
	return 0;
}

/* ---- partial fetches asked for ----------------------------------------- */

/* "<origin.length>" at l[*i]; advances *i past it. */
static int read_partial(const char *l, size_t n, size_t *i, uint64_t *origin,
			uint64_t *length)
{
	size_t j = *i;

	if (j >= n || l[j] != '<')
		return 0;
	j++;
	if (!read_number(l, n, &j, origin) || j >= n || l[j] != '.')
		return 0;
	j++;
	if (!read_number(l, n, &j, length) || j >= n || l[j] != '>')
		return 0;
	*i = j + 1;
	return 1;
}

/* A client "tag FETCH set (... BODY.PEEK[...]<o.l> ...)" (or UID
 * FETCH): each partial item is noted with its tag. */
static void x_note_partials(struct sess_x *x, const struct imap_element *el)
{
	const char *l = el->line;
	size_t n = el->line_len, i = 0;

	if (el->kind != IMAP_EL_COMMAND || l == NULL || memchr(l, '<', n) == NULL)
		return;
	while (i < n && l[i] != ' ')
		i++;
	if (i == 0)
		return;
	if (has_prefix(l + i, n - i, " UID FETCH "))
		i += 11;
	else if (has_prefix(l + i, n - i, " FETCH "))
		i += 7;
	else
		return;
	for (; i < n; i++) {
		static const char *const items[] = { "BODY.PEEK[", "BINARY.PEEK[", "BODY[", "BINARY[" };
		struct sess_xpartial *p;
		const char *close;
		size_t start = i, name = 0, peek = 0, end, k;
		uint64_t origin, length;

		if (l[i - 1] != ' ' && l[i - 1] != '(')
			continue;
		for (k = 0; k < 4 && name == 0; k++)
			if (has_prefix(l + i, n - i, items[k])) {
				name = strcspn(items[k], ".[");
				peek = k < 2 ? 5 : 0;
			}
		if (name == 0)
			continue;
		close = memchr(l + i, ']', n - i);
		if (close == NULL)
			return;
		end = (size_t)(close - l) + 1;
		i = end;
		if (!read_partial(l, n, &i, &origin, &length)) {
			i = end - 1;
			continue;
		}
		p = &x->partial[x->npartial++ % SESS_X_PARTIALS];
		k = el->tag_len < SESS_TAG_MAX ? el->tag_len : SESS_TAG_MAX;
		memcpy(p->tag, l, k);
		p->tag[k] = '\0';
		/* The item as a server answers it: without ".PEEK". */
		p->item_len = 0;
		for (size_t c = start; c < end && p->item_len < SESS_X_ITEM_MAX; c++) {
			if (c >= start + name && c < start + name + peek)
				continue;
			p->item[p->item_len++] = l[c];
		}
		p->origin = origin;
		p->length = length;
		i--;
	}
}

/* The length asked for the response's item[0, len) at origin under one
 * of the outstanding FETCH tags (only: when exactly one): the newest
 * note that matches. */
static int x_partial_length(struct session *s, const char *item, size_t len,
			    uint64_t origin, const struct sess_cmd *only,
			    uint64_t *length_r)
{
	struct sess_x *x = s->x;
	uint64_t k = x->npartial < SESS_X_PARTIALS ? x->npartial : SESS_X_PARTIALS;

	for (uint64_t j = 0; j < k; j++) {
		const struct sess_xpartial *p =
			&x->partial[(x->npartial - 1 - j) % SESS_X_PARTIALS];
		int pending = 0;

		if (p->origin != origin || p->item_len != len ||
		    strncasecmp(p->item, item, len) != 0)
			continue;
		if (only != NULL) {
			pending = strcmp(p->tag, sess_cmd_tag(only)) == 0;
		} else {
			for (size_t c = 0; c < sess_pending_count(&s->pending) && !pending; c++) {
				const struct sess_cmd *pc = sess_pending_at(&s->pending, c);

				pending = (pc->cmd == CMD_FETCH || pc->cmd == CMD_UID_FETCH) &&
					  strcmp(p->tag, sess_cmd_tag(pc)) == 0;
			}
		}
		if (pending) {
			*length_r = p->length;
			return 1;
		}
	}
	return 0;
}

/* Server side: "* N FETCH (... ITEM " before the marker. */
static int judge_fetch(struct session *s, struct sess_xdir *xd, const char *l, size_t n)
{
	struct extract_meta *m = &xd->meta;
	size_t i = 2, start, end, k, list;
	uint64_t msn, uid;
	const char *item;
	size_t ilen, fetches = 0;
	const struct sess_cmd *only = NULL;

	if (n < 2 || l[0] != '*' || l[1] != ' ' || !read_number(l, n, &i, &msn) ||
	    n - i < 8 || strncasecmp(l + i, " FETCH (", 8) != 0)
		return 0;
	list = i + 8;
	start = last_item(l, n, &end);
	if (start == n || start < list)
		return 0;
	item = l + start;
	ilen = end - start;
	k = ilen;
	if (!((has_prefix(item, k, "BODY[") || has_prefix(item, k, "BODY.PEEK[") ||
	       has_prefix(item, k, "BINARY[") || has_prefix(item, k, "BINARY.PEEK[")) ||
	      ((has_prefix(item, k, "RFC822") && (k == 6 || item[6] == '<')) ||
	       (has_prefix(item, k, "RFC822.HEADER") && (k == 13 || item[13] == '<')) ||
	       (has_prefix(item, k, "RFC822.TEXT") && (k == 11 || item[11] == '<')))))
		return 0;
	memset(m, 0, sizeof(*m));
	m->kind = EXTRACT_FETCH;
	m->has_msn = 1;
	m->msn = msn;
	m->has_uid = line_uid(l, list, start, &uid);
	m->uid = m->has_uid ? uid : 0;
	if (ilen > sizeof(xd->section) - 1)
		ilen = sizeof(xd->section) - 1;
	memcpy(xd->section, item, ilen);
	m->section = xd->section;
	m->section_len = ilen;
	if (s->mailbox != NULL) {
		m->mailbox = s->mailbox;
		m->mailbox_len = strlen(s->mailbox);
	}
	for (size_t c = 0; c < sess_pending_count(&s->pending); c++) {
		const struct sess_cmd *pc = sess_pending_at(&s->pending, c);

		if (pc->cmd == CMD_FETCH || pc->cmd == CMD_UID_FETCH) {
			fetches++;
			only = pc;
		}
	}
	if (fetches == 1) {
		snprintf(xd->command, sizeof(xd->command), "%s",
			 only->cmd == CMD_FETCH ? "FETCH" : "UID FETCH");
		m->command = xd->command;
		snprintf(xd->tag, sizeof(xd->tag), "%s", sess_cmd_tag(only));
		m->tag = xd->tag;
		m->tag_len = strlen(xd->tag);
	} else {
		m->command = "FETCH";
		only = NULL;
	}
	/* "<origin>": the length is the one the command asked for. */
	if (ilen > 2 && item[ilen - 1] == '>') {
		const char *lt = memrchr(item, '<', ilen);
		size_t j = lt != NULL ? (size_t)(lt - item) + 1 : ilen;
		uint64_t origin, length;

		if (lt != NULL && read_number(item, ilen - 1, &j, &origin) && j == ilen - 1 &&
		    x_partial_length(s, item, (size_t)(lt - item), origin, only, &length)) {
			m->has_partial_length = 1;
			m->partial_length = length;
		}
	}
	return 1;
}

/* Client side: "tag APPEND mailbox [flags] [date] " (MULTIAPPEND: more
 * messages after), or a CATENATE "TEXT " inside its list. */
static int judge_append(struct sess_xdir *xd, const char *l, size_t n)
{
	struct extract_meta *m = &xd->meta;
	size_t i = 0, tag_end, mb = 0, mb_len = 0;
	int depth = 0, cat = 0, quote = 0, in_word = 0;
	size_t ws = 0, last_start = 0, last_len = 0;
	enum extract_kind kind;

	while (i < n && l[i] != ' ')
		i++;
	tag_end = i;
	if (i == n || n - i < 8 || strncasecmp(l + i, " APPEND ", 8) != 0 || tag_end == 0)
		return 0;
	i += 8;
	if (i >= n)
		return 0;                /* the literal is the mailbox */
	/* The mailbox: quoted, a literal (its text is not known here) or an atom. */
	if (l[i] == '"') {
		mb = ++i;
		while (i < n && l[i] != '"') {
			if (l[i] == '\\' && i + 1 < n)
				i++;
			i++;
		}
		mb_len = i - mb;
		if (i < n)
			i++;
	} else if (l[i] == '{' || l[i] == '~') {
		while (i < n && l[i] != '}')
			i++;
		if (i < n)
			i++;
	} else {
		mb = i;
		while (i < n && l[i] != ' ')
			i++;
		mb_len = i - mb;
	}
	/* The rest: where does the literal stand, and after which word? */
	for (; i < n; i++) {
		char c = l[i];

		if (quoted_byte(l, n, &i, &quote))
			continue;
		if (c != ' ' && c != '(' && c != ')' && c != '"') {
			if (!in_word)
				ws = i;
			in_word = 1;
			continue;
		}
		if (in_word) {
			last_start = ws;
			last_len = i - ws;
			in_word = 0;
		}
		if (c == '"') {
			quote = 1;
			last_len = 0;
		} else if (c == '(') {
			if (depth == 0)
				cat = last_len == 8 &&
				      strncasecmp(l + last_start, "CATENATE", 8) == 0;
			depth++;
			last_len = 0;
		} else if (c == ')') {
			if (depth > 0)
				depth--;
			last_len = 0;
		}
	}
	if (in_word) {
		last_start = ws;
		last_len = n - ws;
	}
	if (quote)
		return 0;
	if (depth == 0)
		kind = EXTRACT_APPEND;
	else if (depth == 1 && cat && last_len == 4 && strncasecmp(l + last_start, "TEXT", 4) == 0)
		kind = EXTRACT_CATENATE;
	else
		return 0;
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->command = "APPEND";
	if (tag_end > SESS_TAG_MAX)
		tag_end = SESS_TAG_MAX;
	memcpy(xd->tag, l, tag_end);
	m->tag = xd->tag;
	m->tag_len = tag_end;
	if (mb_len > 0) {
		if (mb_len > sizeof(xd->mailbox))
			mb_len = sizeof(xd->mailbox);
		memcpy(xd->mailbox, l + mb, mb_len);
		m->mailbox = xd->mailbox;
		m->mailbox_len = mb_len;
	}
	return 1;
}

/* ---- the parser's literals -------------------------------------------- */

void sess_x_literal_begin(struct session *s, enum imt_dir d,
			  const struct imap_literal *lit)
{
	struct sess_xdir *xd = &s->x->dir[d];
	int yes;

	xd->armed = xd->begun = 0;
	xd->obj = NULL;
	if (lit->line == NULL || s->id == 0)
		return;
	yes = d == IMT_S2C ? judge_fetch(s, xd, lit->line, lit->line_len) :
	      judge_append(xd, lit->line, lit->line_len);
	if (!yes)
		return;
	xd->meta.session = s->id;
	sess_endpoints(s, s->x->client, s->x->server);
	xd->meta.client = s->x->client;
	xd->meta.server = s->x->server;
	xd->meta.dir = d == IMT_S2C;
	xd->meta.index = xd->index++;
	xd->meta.declared_size = lit->size;
	xd->declared = lit->size;
	xd->got = 0;
	xd->data_offset = lit->data_offset;
	xd->armed = 1;
	if (lit->size == 0) {
		x_begin(s, xd);
		x_done_push(s, d, xd);
	}
}

void sess_x_literal_data(struct session *s, enum imt_dir d)
{
	struct sess_xdir *xd = &s->x->dir[d];

	if (xd->armed && !xd->begun)
		x_begin(s, xd);
}

void sess_x_literal_bytes(struct session *s, enum imt_dir d,
			  const uint8_t *p, size_t n)
{
	struct sess_xdir *xd = &s->x->dir[d];

	if (!xd->begun)
		return;
	if (xd->obj != NULL) {
		s->e->x_cur = s;
		if (extract_data(xd->obj, p, n, s->cur.frame) != 0)
			x_check_error(s->e);
	}
	xd->got += n;
	if (xd->got >= xd->declared)
		x_done_push(s, d, xd);
}

/* Ends every object of direction d: the one being read for `why`, the
 * finished ones as done (uid set when known). */
static void x_end_all(struct session *s, enum imt_dir d, enum extract_end_reason why,
		      int has_uid, uint64_t uid)
{
	struct sess_xdir *xd = &s->x->dir[d];

	if (xd->begun) {
		x_end(s, d, xd->obj, why, xd->data_offset);
		xd->obj = NULL;
	}
	xd->armed = xd->begun = 0;
	for (unsigned i = 0; i < xd->ndone; i++) {
		if (has_uid)
			extract_set_uid(xd->done[i], uid);
		x_end(s, d, xd->done[i], EXTRACT_END_DONE, xd->done_offset[i]);
	}
	xd->ndone = 0;
	xd->index = 0;
}

void sess_x_gap(struct session *s, enum imt_dir d, uint64_t bytes, int in_literal)
{
	struct sess_xdir *xd = &s->x->dir[d];
	uint64_t k;

	if (!xd->armed && xd->ndone == 0)
		return;
	if (xd->armed && !xd->begun)
		x_begin(s, xd);
	if (xd->begun) {
		/* Past the literal's end the parser lost its place: the file
		 * still gets its declared length, the rest a hole. */
		k = in_literal && bytes <= xd->declared - xd->got ? bytes :
		    xd->declared - xd->got;
		s->e->x_cur = s;
		if (k > 0 && extract_gap(xd->obj, xd->got, k) != 0)
			x_check_error(s->e);
		xd->got += k;
		if (xd->got >= xd->declared)
			x_done_push(s, d, xd);
	}
	if (!in_literal)
		x_end_all(s, d, EXTRACT_END_ABANDONED, 0, 0);
}

void sess_x_element(struct session *s, enum imt_dir d, const struct imap_element *el)
{
	struct sess_xdir *xd = &s->x->dir[d];
	uint64_t uid = 0;
	int has_uid;

	if (d == IMT_C2S)
		x_note_partials(s->x, el);
	if (!xd->armed && xd->ndone == 0) {
		xd->index = 0;
		return;
	}
	has_uid = d == IMT_S2C && xd->ndone > 0 && sess_server_fetch_uid(el, &uid);
	/* A literal still being read when its element ends was left (a
	 * refused literal was never begun). */
	x_end_all(s, d, EXTRACT_END_ABANDONED, has_uid, uid);
}

void sess_x_session_end(struct session *s, int reset)
{
	for (enum imt_dir d = IMT_C2S; d <= IMT_S2C; d++)
		x_end_all(s, d, reset ? EXTRACT_END_RESET : EXTRACT_END_CAPTURE_END, 0, 0);
}
