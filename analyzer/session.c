/*
 * session.c - the session engine's flows: the TCP stage's callbacks,
 * recognising IMAP, opening and closing sessions, and the parsers'
 * callbacks that hand each element to its side.
 *
 * The engine's files and what each may call (no file calls back into one
 * above it; the parsers reach the sides only through the callbacks
 * registered here):
 *
 *   session.c      flows                 -> client, server, stream, state,
 *                                            txn, event, pending, memory, extract
 *   sess_extract.c evidence export                  -> server, event, pending
 *   sess_client.c  client elements       -> pending, caps, stream, state,
 *   sess_server.c  server elements          txn, event, token, memory
 *   sess_txn.c     transaction records              -> state, event, token
 *   sess_stream.c  STARTTLS/COMPRESS/TLS layers     -> event
 *   sess_state.c   RFC 3501 §3 states               -> event
 *   sess_event.c   events and findings              -> token
 *   sess_pending.c outstanding commands, tags       (nothing)
 *   sess_caps.c    capabilities                     (nothing)
 *   sess_memory.c  memory across sessions           (nothing)
 *   sess_token.c   reading tokens                   (nothing)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sess_client.h"
#include "extract.h"
#include "mime.h"
#include "sess_event.h"
#include "sess_extract.h"
#include "sess_server.h"
#include "sess_session.h"
#include "sess_state.h"
#include "sess_txn.h"

void sess_config_default(struct sess_config *cfg)
{
	static const uint16_t imap_ports[] = { 143 };
	static const uint16_t tls_ports[] = { 993 };

	memset(cfg, 0, sizeof(*cfg));
	imt_limits_default(&cfg->lim);
	cfg->ports = imap_ports;
	cfg->nports = 1;
	cfg->tls_ports = tls_ports;
	cfg->ntls_ports = 1;
	cfg->brute_failures = 5;
	cfg->brute_window = 600;
}

/* A session and its two parsers are one object of the engine's pool:
 * one allocation per flow, from memory that huge pages can back. */
#define SESS_ALIGN16(n) (((n) + 15) & ~(size_t)15)

static size_t session_obj_size(void)
{
	return SESS_ALIGN16(sizeof(struct session)) +
	       IMT_NDIRS * SESS_ALIGN16(imap_parser_size());
}

static void *session_parser_mem(struct session *s, enum imt_dir d)
{
	return (char *)s + SESS_ALIGN16(sizeof(struct session)) +
	       (size_t)d * SESS_ALIGN16(imap_parser_size());
}

struct sess_engine *sess_engine_new(const struct sess_config *cfg,
				    struct output *out)
{
	struct sess_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->cfg = *cfg;
	e->out = out;
	e->next_id = 1;
	mem_pool_init(&e->session_pool, session_obj_size());
	e->session_pool.reserve = &e->reserve;
	mem_slab_init(&e->small);
	e->io.zbuf = malloc(SESS_ZBUF);
	e->io.keys = cfg->keys;
	e->lines = imap_shelf_new();
	sess_caps_store_init(&e->caps);
	if (e->io.zbuf == NULL || e->lines == NULL ||
	    sess_memory_init(&e->memory, cfg->brute_failures, cfg->brute_window) != 0) {
		sess_engine_free(e);
		return NULL;
	}
	return e;
}

void sess_engine_free(struct sess_engine *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < SESS_EVENT_POOL; i++)
		event_release(&e->events[i]);
	event_release(&e->event_spill);
	event_release(&e->txn_scratch);
	free(e->io.zbuf);
	free(e->keyless);
	mime_free(e->xm);
	extract_close(e->x, NULL, 0);
	sess_memory_free(&e->memory);
	mem_pool_fini(&e->session_pool);
	mem_reserve_fini(&e->reserve);
	mem_slab_fini(&e->small);
	imap_shelf_free(e->lines);
	sess_caps_store_fini(&e->caps);
	free(e);
}

static int port_in(uint16_t port, const uint16_t *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/* ---- parser callbacks ------------------------------------------------ */

/* A parser's user pointer is its session with the direction in the low
 * bit (a session's address is even: it holds 8-byte fields), so that
 * the record keeps no pair for each direction. */
static void *side_user(struct session *s, enum imt_dir d)
{
	return (void *)((uintptr_t)s | (uintptr_t)d);
}

static struct sess_side side_of(void *user)
{
	struct sess_side sd = {
		.s = (struct session *)((uintptr_t)user & ~(uintptr_t)1),
		.d = (enum imt_dir)((uintptr_t)user & 1),
	};

	return sd;
}

static void on_element(void *user, const struct imap_element *el)
{
	struct sess_side side = side_of(user), *sd = &side;

	if (sd->s->x != NULL)
		sess_x_element(sd->s, sd->d, el);
	if (sd->d == IMT_C2S)
		sess_client_element(sd->s, el);
	else
		sess_server_element(sd->s, el);
}

static void on_literal_begin(void *user, const struct imap_literal *lit)
{
	struct sess_side side = side_of(user), *sd = &side;

	if (sd->s->x != NULL)
		sess_x_literal_begin(sd->s, sd->d, lit);
	if (sd->d == IMT_C2S)
		sess_client_literal_begin(sd->s, lit);
}

static void on_literal_data(void *user, uint64_t offset)
{
	struct sess_side side = side_of(user), *sd = &side;

	if (sd->s->x != NULL)
		sess_x_literal_data(sd->s, sd->d);
	if (sd->d == IMT_C2S)
		sess_client_literal_data(sd->s, offset);
}

/* Registered only with --extract: without it the parser skips literal
 * data untouched. */
static void on_literal_bytes(void *user, const uint8_t *p, size_t n)
{
	struct sess_side side = side_of(user), *sd = &side;

	sess_x_literal_bytes(sd->s, sd->d, p, n);
}

static void on_parser_finding(void *user, const struct imt_finding_report *f)
{
	struct sess_side side = side_of(user), *sd = &side;
	struct imt_finding_report r = *f;

	r.dir = sd->d;
	sess_finding_report(sd->s, &r);
}

static const struct imap_callbacks parser_cb = {
	.on_element = on_element,
	.on_literal_begin = on_literal_begin,
	.on_literal_data = on_literal_data,
	.on_finding = on_parser_finding,
};

static const struct imap_callbacks parser_cb_extract = {
	.on_element = on_element,
	.on_literal_begin = on_literal_begin,
	.on_literal_data = on_literal_data,
	.on_literal_bytes = on_literal_bytes,
	.on_finding = on_parser_finding,
};

/* ---- session life ---------------------------------------------------- */

static struct session *session_new(struct sess_engine *e,
				   const struct tcp_flow_info *info)
{
	struct session *s = mem_pool_get(&e->session_pool);
	struct imap_parser *parser[IMT_NDIRS];

	if (s == NULL)
		return NULL;
	s->e = e;
	s->cl = info->client;
	s->sv = info->server;
	s->midstream = info->midstream != 0;
	s->how = info->how;
	s->first = info->first;
	s->cur = info->first;
	if (e->x != NULL && (s->x = sess_x_new()) == NULL) {
		mem_pool_put(&e->session_pool, s);
		return NULL;
	}
	for (enum imt_dir d = IMT_C2S; d <= IMT_S2C; d++) {
		parser[d] = imap_parser_init(session_parser_mem(s, d),
					     d == IMT_C2S ? IMAP_SIDE_CLIENT :
					     IMAP_SIDE_SERVER,
					     &e->cfg.lim, e->x != NULL ?
					     &parser_cb_extract : &parser_cb,
					     side_user(s, d));
		imap_parser_set_shelf(parser[d], e->lines);
		if (s->midstream)
			imap_parser_set_midstream(parser[d]);
	}
	sess_stream_init(&s->io, s, &s->cur, parser[IMT_C2S], parser[IMT_S2C], &e->io);
	sess_state_init(s, s->midstream ? 0 : ST_NOTAUTH);
	return s;
}

static void session_free(struct session *s)
{
	sess_stream_free(&s->io);
	sess_pending_free(&s->pending, &s->e->small);
	sess_caps_free(&s->caps, &s->e->caps);
	mem_slab_put(&s->e->small, s->uidv, s->uidv_cap * sizeof(*s->uidv));
	mem_slab_put(&s->e->small, s->unknown_resp,
		     SESS_UNKNOWN_RESP_SLOTS * sizeof(*s->unknown_resp));
	sess_text_set(&s->user, &s->e->small, NULL, 0, 0);
	sess_text_set(&s->mailbox, &s->e->small, NULL, 0, 0);
	sess_ev_forget(s);
	sess_x_free(s->x);
	mem_pool_put(&s->e->session_pool, s);
}

/* The flow is IMAP: number it and say so. */
static void session_recognized(struct session *s, const char *how)
{
	struct sess_engine *e = s->e;
	struct imt_event *ev;
	struct tcp_meta cur = s->cur;

	s->id = e->next_id++;
	/* Events before had no number: their prefix is made again. */
	sess_ev_forget(s);
	e->sessions++;
	s->recognized_by = how;
	s->cur = s->first;
	ev = sess_ev_new(s, EV_SESSION_START, IMT_DIR_NONE, 0);
	event_cstring(ev, "port_guess", how);
	event_cstring(ev, "orientation", tcp_orient_name(s->how));
	event_bool(ev, "midstream", s->midstream);
	sess_ev_emit(s, ev);
	if (s->midstream)
		sess_finding(s, F_TCP_MIDSTREAM, IMT_DIR_NONE, 0, NULL, NULL);
	s->cur = cur;
}

static void *tcp_on_open(void *user, const struct tcp_flow_info *info)
{
	struct sess_engine *e = user;
	struct session *s = session_new(e, info);

	if (s == NULL)
		return NULL;
	if (port_in(info->server.port, e->cfg.ports, e->cfg.nports))
		session_recognized(s, "port");
	else if (port_in(info->server.port, e->cfg.tls_ports, e->cfg.ntls_ports)) {
		session_recognized(s, "tls-port");
		sess_state_init(s, 0);
		sess_stream_implicit_tls(&s->io);
	}
	return s;
}

/* Content decides for flows on other ports: a server greeting or a
 * client command makes it IMAP.  Returns which it was (0 greeting, 1
 * command), or -1. */
static int imap_content(enum imt_dir d, const uint8_t *data, size_t len)
{
	int c = imap_classify(data, len);

	if (d == IMT_S2C && c == 1 && len >= 2 && data[0] == '*' && data[1] == ' ')
		return 0;
	if (d == IMT_C2S && c == 0)
		return 1;
	return -1;
}

/* A flow on another port: IMAP by content, or left alone. */
static int recognize_by_content(struct session *s, enum imt_dir d,
				const uint8_t *data, size_t len)
{
	static const char *const how[] = { "content-greeting", "content-command" };
	int c = imap_content(d, data, len);

	if (c >= 0) {
		session_recognized(s, how[c]);
		return 1;
	}
	sess_stream_ignore(&s->io);
	s->e->ignored_flows++;
	return 0;
}

/* Implicit TLS on another port: the first plaintext out of it decides,
 * by the same rule (sess_stream_tls_sniff).  The session then is one of
 * a TLS port. */
static int recognize_tls_content(struct session *s, enum imt_dir d,
				 const uint8_t *data, size_t len)
{
	static const char *const how[] = { "tls-content-greeting",
					   "tls-content-command" };
	int c = imap_content(d, data, len);

	if (c < 0)
		return 0;
	session_recognized(s, how[c]);
	sess_state_init(s, 0);
	return 1;
}

/* ---- TCP callbacks --------------------------------------------------- */

static int tcp_on_data(void *flow, enum imt_dir dir, const uint8_t *data,
		       size_t len, uint64_t offset, const struct tcp_meta *m)
{
	struct session *s = flow;

	(void)offset;
	s->cur = *m;
	if (s->id == 0) {
		enum sess_sniff sn = sess_stream_sniff_state(&s->io);

		if (sn == SESS_SNIFF_FAILED)
			return 1;
		if (sn == SESS_SNIFF_NONE &&
		    (dir != IMT_C2S || sess_stream_tls_sniff(&s->io, data, len,
							     recognize_tls_content) != 0) &&
		    !recognize_by_content(s, dir, data, len))
			return 1;
	}
	if (s->gap_seen[dir])
		sess_stream_segment(&s->io, dir);
	sess_stream_feed(&s->io, dir, data, len);
	if (s->id == 0 && sess_stream_sniff_state(&s->io) == SESS_SNIFF_FAILED) {
		s->e->ignored_flows++;
		return 1;
	}
	/* A parser between lines has given its line storage back already
	 * (imap_parser_feed): a session that waits, perhaps for hours,
	 * holds none. */
	return 0;
}

static void tcp_on_gap(void *flow, enum imt_dir dir, uint64_t offset,
		       uint64_t bytes, const struct tcp_meta *m)
{
	struct session *s = flow;
	const char *resync;
	struct imt_event *ev;
	char detail[96];

	s->cur = *m;
	if (s->id == 0) {
		if (sess_stream_sniff_state(&s->io) == SESS_SNIFF_ACTIVE) {
			sess_stream_sniff_fail(&s->io);
			s->e->ignored_flows++;
		}
		return;
	}
	s->gap_seen[dir] = 1;
	resync = sess_stream_gap(&s->io, dir, bytes);
	if (s->x != NULL)
		sess_x_gap(s, dir, bytes, strcmp(resync, "in-literal") == 0);
	ev = sess_ev_new(s, EV_GAP, dir, offset);
	event_u64(ev, "bytes", bytes);
	event_cstring(ev, "resync", resync);
	sess_ev_emit(s, ev);
	snprintf(detail, sizeof(detail), "%llu bytes missing", (unsigned long long)bytes);
	sess_finding(s, F_TCP_GAP, dir, offset, detail, NULL);
}

static void tcp_on_finding(void *flow, const struct imt_finding_report *f,
			   const struct tcp_meta *m)
{
	struct session *s = flow;

	s->cur = *m;
	if (s->id == 0)
		return;
	sess_finding_report(s, f);
}

/* A session whose TLS was not decrypted for want of keys is remembered
 * (a ring of the last SESS_KEYLESS_MAX), so that keys coming later can
 * be told apart from keys never given. */
static void remember_keyless(struct session *s)
{
	struct sess_engine *e = s->e;
	struct sess_keyless *k;
	uint8_t random[TLS_RANDOM_LEN];

	if (!sess_stream_keyless(&s->io, random))
		return;
	if (e->keyless == NULL &&
	    (e->keyless = calloc(SESS_KEYLESS_MAX, sizeof(*e->keyless))) == NULL)
		return;
	k = &e->keyless[e->keyless_total % SESS_KEYLESS_MAX];
	e->keyless_total++;
	if (e->nkeyless < SESS_KEYLESS_MAX)
		e->nkeyless++;
	k->id = s->id;
	sess_endpoints(s, k->client, k->server);
	memcpy(k->random, random, TLS_RANDOM_LEN);
}

size_t sess_engine_late_keys(const struct sess_engine *e, sess_late_keys_fn fn,
			     void *user, uint64_t *forgotten_r)
{
	size_t late = 0;
	uint64_t first = e->keyless_total - e->nkeyless;

	if (forgotten_r != NULL)
		*forgotten_r = first;
	if (e->cfg.keys == NULL)
		return 0;
	/* Oldest first: in the order the sessions ended. */
	for (uint64_t i = first; i < e->keyless_total; i++) {
		const struct sess_keyless *k = &e->keyless[i % SESS_KEYLESS_MAX];
		const uint8_t *secret;
		int found = 0;

		for (int w = 0; w < TLS_SEC__COUNT && !found; w++)
			found = tls_keys_find(e->cfg.keys, k->random,
					      (enum tls_secret)w, &secret) > 0;
		if (found) {
			late++;
			fn(user, k->id, k->client, k->server);
		}
	}
	return late;
}

static void session_end(struct session *s, const struct tcp_close_info *ci)
{
	struct imt_event *ev;
	/* RFC 3501 §2.2.2: every command gets a tagged result; one whose
	 * result may lie in a hole of the capture is not reported as
	 * unanswered. */
	int normal = (ci->reason == TCP_CLOSE_FIN || s->logout_done) &&
		     !s->gap_seen[IMT_S2C] && !s->midstream;
	size_t npending;

	if (s->x != NULL)
		sess_x_session_end(s, ci->reason == TCP_CLOSE_RST);
	sess_stream_finish(&s->io);
	remember_keyless(s);
	s->cur = ci->last;
	npending = sess_pending_count(&s->pending);
	if (normal) {
		for (size_t i = 0; i < npending; i++) {
			const struct sess_cmd *pc = sess_pending_at(&s->pending, i);

			sess_finding(s, F_UNANSWERED_COMMAND, IMT_C2S, pc->offset,
				     sess_cmd_name(pc), sess_cmd_tag(pc));
		}
	}
	if (sess_txn_wanted(s))
		for (size_t i = 0; i < npending; i++)
			sess_txn_unanswered(s, sess_pending_at(&s->pending, i));
	ev = sess_ev_new(s, EV_SESSION_END, IMT_DIR_NONE, 0);
	event_cstring(ev, "reason", tcp_close_reason_name(ci->reason));
	event_ms(ev, "duration_ms", sess_ts_diff_ns(ci->last.ts_sec, ci->last.ts_nsec,
						 s->first.ts_sec, s->first.ts_nsec));
	event_cstring(ev, "state", sess_state_name(s));
	if (s->user != NULL)
		event_cstring(ev, "user", s->user);
	else
		event_null(ev, "user");
	event_object(ev, "bytes");
	event_u64(ev, "c2s", ci->bytes[IMT_C2S]);
	event_u64(ev, "s2c", ci->bytes[IMT_S2C]);
	event_close(ev);
	event_object(ev, "missing_bytes");
	event_u64(ev, "c2s", ci->gap_bytes[IMT_C2S]);
	event_u64(ev, "s2c", ci->gap_bytes[IMT_S2C]);
	event_close(ev);
	event_bool(ev, "tls", sess_stream_tls(&s->io));
	event_bool(ev, "compressed", sess_stream_compressed(&s->io));
	if (sess_stream_decrypted(&s->io) >= 0)
		event_bool(ev, "decrypted", sess_stream_decrypted(&s->io));
	event_u64(ev, "commands", s->commands);
	event_object(ev, "results");
	for (enum sess_status st = SESS_OK; st < SESS_NSTATUS; st++)
		event_u64(ev, sess_status_name(st), s->results[st]);
	event_close(ev);
	event_object(ev, "violations");
	for (int i = 0; i < 4; i++)
		event_u64(ev, imt_severity_name((enum imt_severity)i), s->violations[i]);
	event_close(ev);
	event_u64(ev, "unanswered", npending);
	event_cstring(ev, "history", ci->history != NULL ? ci->history : "");
	sess_ev_emit(s, ev);
}

static void tcp_on_close(void *flow, const struct tcp_close_info *ci)
{
	struct session *s = flow;

	if (s->id != 0)
		session_end(s, ci);
	session_free(s);
}

static void tcp_on_global_finding(void *user, const struct imt_finding_report *f,
				  const struct tcp_meta *m)
{
	sess_engine_global_finding(user, f, m->ts_sec, m->ts_nsec, m->ts_nano);
}

int sess_engine_prepare(struct sess_engine *e, uint64_t coming)
{
	size_t per_block = mem_pool_per_block(&e->session_pool);
	size_t room = mem_pool_room(&e->session_pool);
	uint64_t want;

	coming = coming > room ? coming - room : 0;
	want = (coming + per_block - 1) / per_block;
	if (want > SESS_PREPARE_MAX / MEM_POOL_BLOCK)
		want = SESS_PREPARE_MAX / MEM_POOL_BLOCK;
	return mem_reserve_fill(&e->reserve, (size_t)want);
}

/* With tens of thousands of sessions open, each one's object is out of
 * the cache when its data comes; a callback of most kinds reads most of
 * its lines. */
static void tcp_on_ahead(void *flow)
{
	const char *o = flow;
	size_t size = session_obj_size();

	for (size_t at = 0; at < size; at += 64)
		__builtin_prefetch(o + at, 1);
}

void sess_engine_tcp_callbacks(struct tcp_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->on_open = tcp_on_open;
	cb->on_data = tcp_on_data;
	cb->on_gap = tcp_on_gap;
	cb->on_finding = tcp_on_finding;
	cb->on_close = tcp_on_close;
	cb->on_global_finding = tcp_on_global_finding;
	cb->classify = imap_classify;
	cb->on_ahead = tcp_on_ahead;
}

void sess_engine_global_finding(struct sess_engine *e,
				const struct imt_finding_report *f,
				int64_t ts_sec, uint32_t ts_nsec, int ts_nano)
{
	/* A pseudo-session 0 carries findings that belong to no session. */
	struct session s;

	memset(&s, 0, sizeof(s));
	s.e = e;
	s.cur.frame = f->frame;
	s.cur.ts_sec = ts_sec;
	s.cur.ts_nsec = ts_nsec;
	s.cur.ts_nano = ts_nano;
	sess_finding_report(&s, f);
	sess_ev_forget(&s);
}

/* A cap of the extraction hit: a finding of the session it concerns
 * when that session is at hand, else one of no session. */
static void on_extract_finding(void *user, uint64_t session,
			       const struct imt_finding_report *f)
{
	struct sess_engine *e = user;
	struct session *s = e->x_cur;

	if (s != NULL && s->id == session)
		sess_finding_report(s, f);
	else if (s != NULL)
		sess_engine_global_finding(e, f, s->cur.ts_sec, s->cur.ts_nsec,
					   s->cur.ts_nano);
	else
		sess_engine_global_finding(e, f, 0, 0, 0);
}

int sess_engine_extract(struct sess_engine *e, const char *dir,
			char *err, size_t errsize)
{
	e->x = extract_open(dir, &e->cfg.lim, on_extract_finding, e, err, errsize);
	if (e->x == NULL)
		return -1;
	/* Files and records are written behind the engine (docs/extract.md). */
	extract_write_behind(e->x);
	e->xm = mime_new(e->x);
	if (e->xm == NULL) {
		snprintf(err, errsize, "out of memory");
		extract_close(e->x, NULL, 0);
		e->x = NULL;
		return -1;
	}
	return 0;
}

int sess_engine_extract_close(struct sess_engine *e, char *err, size_t errsize)
{
	int r;

	if (e == NULL || e->x == NULL)
		return 0;
	mime_free(e->xm);
	e->xm = NULL;
	r = extract_close(e->x, err, errsize);
	e->x = NULL;
	/* Said on standard error already when it happened. */
	if (r != 0 && e->x_told && err != NULL && errsize > 0)
		err[0] = '\0';
	return r;
}

void sess_engine_totals(struct sess_engine *e)
{
	struct json_object *o = json_object_new_object();

	out_total(e->out, "sessions", json_object_new_int64((int64_t)e->sessions));
	out_total(e->out, "ignored_flows", json_object_new_int64((int64_t)e->ignored_flows));
	for (int i = 0; i < 4; i++)
		json_object_object_add(o, imt_severity_name((enum imt_severity)i),
				       json_object_new_int64((int64_t)e->totals_violations[i]));
	out_total(e->out, "violations", o);
}
