/*
 * session.c - the session engine's flows: recognising IMAP, feeding the
 * parsers, following the stream switches (STARTTLS, COMPRESS), and
 * opening and closing sessions.  What the elements mean is decided in
 * sess_client.c and sess_server.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sess_int.h"
#include "wire.h"

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

struct sess_engine *sess_engine_new(const struct sess_config *cfg,
				    struct output *out)
{
	struct sess_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->cfg = *cfg;
	e->out = out;
	e->next_id = 1;
	e->zbuf = malloc(SESS_ZBUF);
	e->brute = calloc(SESS_BRUTE_SLOTS, sizeof(*e->brute));
	if (e->zbuf == NULL || e->brute == NULL) {
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
	free(e->zbuf);
	free(e->brute);
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

static void on_element(void *user, const struct imap_element *el)
{
	struct sess_dir *sd = user;

	if (sd->d == 0)
		client_element(sd->s, el);
	else
		server_element(sd->s, el);
}

static void on_literal_begin(void *user, const struct imap_literal *lit)
{
	struct sess_dir *sd = user;

	if (sd->d == 0)
		client_literal_begin(sd->s, lit);
}

static void on_literal_data(void *user, uint64_t offset)
{
	struct sess_dir *sd = user;

	if (sd->d == 0)
		client_literal_data(sd->s, offset);
}

static void on_parser_finding(void *user, const struct imt_finding_report *f)
{
	struct sess_dir *sd = user;
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

/* ---- session life ---------------------------------------------------- */

static struct session *session_new(struct sess_engine *e,
				   const struct tcp_flow_info *info)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->e = e;
	s->cl = info->client;
	s->sv = info->server;
	ip_endpoint_format(&info->client, s->client, sizeof(s->client));
	ip_endpoint_format(&info->server, s->server, sizeof(s->server));
	s->midstream = info->midstream;
	s->how = info->how;
	s->first = info->first;
	s->cur = info->first;
	for (int d = 0; d < 2; d++) {
		s->dir[d].s = s;
		s->dir[d].d = d;
		s->dir[d].parser = imap_parser_new(d == 0 ? IMAP_SIDE_CLIENT :
						   IMAP_SIDE_SERVER,
						   &e->cfg.lim, &parser_cb, &s->dir[d]);
		if (s->dir[d].parser == NULL) {
			imap_parser_free(s->dir[0].parser);
			free(s);
			return NULL;
		}
		if (s->midstream)
			imap_parser_set_midstream(s->dir[d].parser);
	}
	s->state = s->midstream ? 0 : ST_NOTAUTH;
	s->expect_state = s->state;
	return s;
}

static void session_free(struct session *s)
{
	for (int d = 0; d < 2; d++) {
		imap_parser_free(s->dir[d].parser);
		if (s->dir[d].z_init)
			inflateEnd(&s->dir[d].z);
		free(s->dir[d].hold);
	}
	free(s->pending);
	free(s);
}

/* The flow is IMAP: number it and say so. */
static void session_recognized(struct session *s, const char *how)
{
	struct sess_engine *e = s->e;
	struct imt_event *ev;
	struct tcp_meta cur = s->cur;

	s->id = e->next_id++;
	e->sessions++;
	s->recognized_by = how;
	s->cur = s->first;
	ev = ev_new(s, EV_SESSION_START, -1, 0);
	event_cstring(ev, "port_guess", how);
	event_cstring(ev, "orientation", tcp_orient_name(s->how));
	event_bool(ev, "midstream", s->midstream);
	ev_emit(s, ev);
	if (s->midstream)
		sess_finding(s, F_TCP_MIDSTREAM, -1, 0, NULL, NULL);
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
		s->tls = 1;
		s->dir[0].mode = s->dir[1].mode = DIR_TLS;
		s->state = 0;
		ev_emit(s, ev_new(s, EV_TLS, -1, 0));
	}
	return s;
}

/* Content decides for flows on other ports: a server greeting or a
 * client command makes it IMAP; anything else is left alone. */
static int recognize_by_content(struct session *s, int d, const uint8_t *data,
				size_t len)
{
	int c = imap_classify(data, len);

	if (d == 1 && c == 1 && len >= 2 && data[0] == '*' && data[1] == ' ') {
		session_recognized(s, "content-greeting");
		return 1;
	}
	if (d == 0 && c == 0) {
		session_recognized(s, "content-command");
		return 1;
	}
	s->dir[0].mode = s->dir[1].mode = DIR_IGNORED;
	s->e->ignored_flows++;
	return 0;
}

/* ---- stream switches ------------------------------------------------- */

static int looks_like_tls(const uint8_t *data, size_t len)
{
	/* A TLS record: handshake, alert, change cipher spec or application
	 * data, version 3.x.  No IMAP line starts with 0x14-0x17, so when
	 * only one byte has arrived yet, that byte decides. */
	return len >= 1 && data[0] >= 0x14 && data[0] <= 0x17 &&
	       (len < 2 || data[1] == 0x03);
}

static void dir_tls_bytes(struct session *s, int d, const uint8_t *data,
			  size_t len, uint64_t offset)
{
	struct sess_dir *sd = &s->dir[d];

	if (!sd->tls_checked && len > 0) {
		sd->tls_checked = 1;
		if (s->starttls_sent && !looks_like_tls(data, len)) {
			char detail[160];
			size_t n = len < 40 ? len : 40;
			char shown[44];

			for (size_t i = 0; i < n; i++)
				shown[i] = (data[i] >= 0x20 && data[i] < 0x7f) ? (char)data[i] : '.';
			shown[n] = '\0';
			snprintf(detail, sizeof(detail),
				 "%zu plaintext bytes where the TLS handshake should start: \"%s\"",
				 len, shown);
			sess_finding(s, F_STARTTLS_INJECTION, d, offset, detail, s->starttls_tag);
		}
	}
	sd->opaque_bytes += len;
}

void sess_starttls_sent(struct session *s, const char *tag)
{
	s->starttls_sent = 1;
	s->starttls_wait = 1;
	snprintf(s->starttls_tag, sizeof(s->starttls_tag), "%s", tag);
	s->dir[0].mode = DIR_STARTTLS_WAIT;
}

void sess_compress_sent(struct session *s)
{
	s->dir[0].mode = DIR_HOLD;
}

static int inflate_start(struct sess_dir *sd)
{
	memset(&sd->z, 0, sizeof(sd->z));
	if (inflateInit2(&sd->z, -15) != Z_OK)
		return -1;
	sd->z_init = 1;
	sd->mode = DIR_INFLATE;
	return 0;
}

static void dir_feed(struct session *s, int d, const uint8_t *data, size_t len);

/* The server's result to STARTTLS or COMPRESS arrived: the client's
 * direction leaves its waiting mode. */
void sess_stream_result(struct session *s, int ok)
{
	struct sess_dir *c = &s->dir[0];

	if (s->starttls_wait) {
		/* Even if injected plaintext made the client side parse on,
		 * what follows the server's OK is TLS. */
		s->starttls_wait = 0;
		if (ok || c->mode == DIR_STARTTLS_WAIT)
			c->mode = ok ? DIR_TLS : DIR_PLAIN;
		return;
	}
	if (c->mode == DIR_HOLD) {
		uint8_t *held = c->hold;
		size_t n = c->hold_len;

		c->hold = NULL;
		c->hold_len = 0;
		if (ok) {
			if (inflate_start(c) != 0)
				c->mode = DIR_LOST;
		} else {
			c->mode = DIR_PLAIN;
		}
		if (n > 0)
			dir_feed(s, 0, held, n);
		free(held);
	}
}

void sess_start_tls(struct session *s, const char *after_tag)
{
	struct imt_event *ev = ev_new(s, EV_TLS, -1, 0);

	event_cstring(ev, "after_tag", after_tag);
	ev_emit(s, ev);
	s->tls = 1;
	s->dir[1].mode = DIR_TLS;
	imap_parser_pause(s->dir[1].parser);
	sess_stream_result(s, 1);
	/* Capabilities learnt before TLS must not be trusted after it. */
	s->caps[0] = '\0';
	s->caps_known = 0;
}

void sess_start_compress(struct session *s, const char *after_tag)
{
	struct imt_event *ev = ev_new(s, EV_COMPRESS, -1, 0);

	event_cstring(ev, "after_tag", after_tag);
	event_cstring(ev, "mechanism", "DEFLATE");
	ev_emit(s, ev);
	s->compress = 1;
	if (inflate_start(&s->dir[1]) != 0)
		s->dir[1].mode = DIR_LOST;
	imap_parser_pause(s->dir[1].parser);
	sess_stream_result(s, 1);
}

static void dir_lost(struct session *s, int d, const char *why)
{
	struct imt_event *ev = ev_new(s, EV_GAP, d, imap_parser_offset(s->dir[d].parser));

	s->dir[d].mode = DIR_LOST;
	event_u64(ev, "bytes", 0);
	event_cstring(ev, "resync", "none");
	event_cstring(ev, "detail", why);
	ev_emit(s, ev);
}

static void dir_inflate(struct session *s, int d, const uint8_t *data, size_t len)
{
	struct sess_dir *sd = &s->dir[d];
	uint8_t *out = s->e->zbuf;

	sd->z.next_in = (Bytef *)(uintptr_t)data;
	sd->z.avail_in = (uInt)len;
	while (sd->z.avail_in > 0 && sd->mode == DIR_INFLATE) {
		int rc;
		size_t got;

		sd->z.next_out = out;
		sd->z.avail_out = SESS_ZBUF;
		rc = inflate(&sd->z, Z_SYNC_FLUSH);
		got = SESS_ZBUF - sd->z.avail_out;
		sd->inflated_bytes += got;
		if (got > 0)
			imap_parser_feed(sd->parser, out, got);
		if (rc == Z_STREAM_END) {
			/* A server may end its stream cleanly at LOGOUT; only
			 * bytes after the end are a problem. */
			if (sd->z.avail_in > 0)
				dir_lost(s, d, "data after the end of the DEFLATE stream");
			else
				sd->mode = DIR_LOST;
			return;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			dir_lost(s, d, "the DEFLATE stream is corrupt");
			return;
		}
		if (rc == Z_BUF_ERROR && got == 0)
			break;
	}
}

static void dir_feed(struct session *s, int d, const uint8_t *data, size_t len)
{
	struct sess_dir *sd = &s->dir[d];

	while (len > 0) {
		uint64_t off = imap_parser_offset(sd->parser);
		size_t n;

		switch (sd->mode) {
		case DIR_PLAIN:
			n = imap_parser_feed(sd->parser, data, len);
			data += n;
			len -= n;
			break;
		case DIR_STARTTLS_WAIT:
			/* The client spoke before the server answered STARTTLS:
			 * a TLS record means it started early; text is the
			 * injection pattern, parsed so it can be seen. */
			if (looks_like_tls(data, len)) {
				sd->mode = DIR_TLS;
				break;
			}
			sess_finding(s, F_STARTTLS_INJECTION, d, off,
				     "client plaintext after STARTTLS, before the server's answer",
				     s->starttls_tag);
			sd->mode = DIR_PLAIN;
			break;
		case DIR_HOLD:
			if (BUDGET_EXCEEDED(sd->hold_len, len, SESS_HOLD_MAX)) {
				dir_lost(s, d, "too much client data while COMPRESS was pending");
				return;
			}
			{
				uint8_t *h = realloc(sd->hold, sd->hold_len + len);

				if (h == NULL) {
					dir_lost(s, d, "out of memory");
					return;
				}
				memcpy(h + sd->hold_len, data, len);
				sd->hold = h;
				sd->hold_len += len;
			}
			return;
		case DIR_INFLATE:
			dir_inflate(s, d, data, len);
			return;
		case DIR_TLS:
			dir_tls_bytes(s, d, data, len, off);
			return;
		case DIR_LOST:
		case DIR_IGNORED:
			sd->opaque_bytes += len;
			return;
		}
	}
}

/* ---- TCP callbacks --------------------------------------------------- */

static int tcp_on_data(void *flow, enum tcp_dir dir, const uint8_t *data,
		       size_t len, uint64_t offset, const struct tcp_meta *m)
{
	struct session *s = flow;
	int d = dir == TCP_C2S ? 0 : 1;

	(void)offset;
	s->cur = *m;
	if (s->id == 0 && !recognize_by_content(s, d, data, len))
		return 1;
	s->dir[d].wire_bytes += len;
	dir_feed(s, d, data, len);
	return 0;
}

static void tcp_on_gap(void *flow, enum tcp_dir dir, uint64_t offset,
		       uint64_t bytes, const struct tcp_meta *m)
{
	struct session *s = flow;
	int d = dir == TCP_C2S ? 0 : 1;
	struct sess_dir *sd = &s->dir[d];
	const char *resync = "none";
	struct imt_event *ev;
	char detail[96];

	s->cur = *m;
	if (s->id == 0)
		return;
	s->gap_seen[d] = 1;
	switch (sd->mode) {
	case DIR_PLAIN:
	case DIR_STARTTLS_WAIT:
		resync = imap_parser_gap(sd->parser, bytes) == IMAP_GAP_IN_LITERAL ?
			 "in-literal" : "next-line";
		break;
	case DIR_TLS:
		resync = "opaque";
		sd->opaque_bytes += bytes;
		break;
	case DIR_INFLATE:
	case DIR_HOLD:
		sd->mode = DIR_LOST;
		resync = "lost";
		break;
	default:
		break;
	}
	ev = ev_new(s, EV_GAP, d, offset);
	event_u64(ev, "bytes", bytes);
	event_cstring(ev, "resync", resync);
	ev_emit(s, ev);
	snprintf(detail, sizeof(detail), "%llu bytes missing", (unsigned long long)bytes);
	sess_finding(s, F_TCP_GAP, d, offset, detail, NULL);
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

static void session_end(struct session *s, const struct tcp_close_info *ci)
{
	struct imt_event *ev;
	static const char *const status_names[] = { "OK", "NO", "BAD", "other" };
	/* A command whose result may lie in a hole of the capture is not
	 * reported as unanswered. */
	int normal = (ci->reason == TCP_CLOSE_FIN || s->logout_done) &&
		     !s->gap_seen[1] && !s->midstream;

	for (int d = 0; d < 2; d++)
		if (s->dir[d].mode == DIR_PLAIN || s->dir[d].mode == DIR_STARTTLS_WAIT)
			imap_parser_finish(s->dir[d].parser);
	s->cur = ci->last;
	if (s->npending > 0 && normal) {
		for (size_t i = 0; i < s->npending; i++)
			sess_finding(s, F_UNANSWERED_COMMAND, 0, s->pending[i].offset,
				     s->pending[i].name, s->pending[i].tag);
	}
	ev = ev_new(s, EV_SESSION_END, -1, 0);
	event_cstring(ev, "reason", tcp_close_reason_name(ci->reason));
	event_ms(ev, "duration_ms", ts_diff_ns(ci->last.ts_sec, ci->last.ts_nsec,
					    s->first.ts_sec, s->first.ts_nsec));
	event_cstring(ev, "state", s->state == 0 ? "unknown" : imap_state_name(s->state));
	if (s->user[0] != '\0')
		event_cstring(ev, "user", s->user);
	else
		event_null(ev, "user");
	event_object(ev, "bytes");
	event_u64(ev, "c2s", ci->bytes[0]);
	event_u64(ev, "s2c", ci->bytes[1]);
	event_close(ev);
	event_object(ev, "missing_bytes");
	event_u64(ev, "c2s", ci->gap_bytes[0]);
	event_u64(ev, "s2c", ci->gap_bytes[1]);
	event_close(ev);
	event_bool(ev, "tls", s->tls);
	event_bool(ev, "compressed", s->compress);
	event_u64(ev, "commands", s->commands);
	event_object(ev, "results");
	for (int i = 0; i < 4; i++)
		event_u64(ev, status_names[i], s->results[i]);
	event_close(ev);
	event_object(ev, "violations");
	for (int i = 0; i < 4; i++)
		event_u64(ev, imt_severity_name((enum imt_severity)i), s->violations[i]);
	event_close(ev);
	event_u64(ev, "unanswered", s->npending);
	event_cstring(ev, "history", ci->history != NULL ? ci->history : "");
	ev_emit(s, ev);
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
}

/* ---- cross-session memory ---------------------------------------------- */

static int same_addr(uint8_t fa, const uint8_t *a, const struct ip_endpoint *ep)
{
	return fa == ep->family && memcmp(a, ep->addr, 16) == 0;
}

void sess_remember_tls_server(struct session *s)
{
	struct sess_engine *e = s->e;

	if (sess_server_had_tls(s))
		return;
	/* A small ring: old servers fall out first. */
	struct tls_server *t = &e->tls_servers[e->ntls_servers++ % SESS_TLS_SERVERS];

	t->family = s->sv.family;
	memcpy(t->addr, s->sv.addr, 16);
	t->port = s->sv.port;
}

int sess_server_had_tls(const struct session *s)
{
	const struct sess_engine *e = s->e;
	unsigned n = e->ntls_servers < SESS_TLS_SERVERS ? e->ntls_servers : SESS_TLS_SERVERS;

	for (unsigned i = 0; i < n; i++)
		if (same_addr(e->tls_servers[i].family, e->tls_servers[i].addr, &s->sv) &&
		    e->tls_servers[i].port == s->sv.port)
			return 1;
	return 0;
}

static struct brute_slot *brute_slot(struct sess_engine *e, const struct ip_endpoint *ep)
{
	uint64_t h = 1469598103934665603ULL;
	struct brute_slot *b;

	for (int i = 0; i < 16; i++)
		h = (h ^ ep->addr[i]) * 1099511628211ULL;
	/* Open addressing would let one attacker evict another's history;
	 * a direct-mapped table keeps the cost fixed and the memory bounded. */
	b = &e->brute[h % SESS_BRUTE_SLOTS];
	if (!b->used || !same_addr(b->family, b->addr, ep)) {
		memset(b, 0, sizeof(*b));
		b->used = 1;
		b->family = ep->family;
		memcpy(b->addr, ep->addr, 16);
		b->reported_at = INT64_MIN;
	}
	return b;
}

void sess_brute_failure(struct session *s)
{
	struct sess_engine *e = s->e;
	struct brute_slot *b = brute_slot(e, &s->cl);
	unsigned want = e->cfg.brute_failures;
	int64_t now = s->cur.ts_sec;
	unsigned count = 0;
	char detail[128];

	if (want == 0 || want > 16)
		want = want == 0 ? 1 : 16;
	b->times[b->head] = now;
	b->head = (b->head + 1) % 16;
	if (b->n < 16)
		b->n++;
	for (unsigned i = 0; i < b->n; i++)
		if (now - b->times[i] <= (int64_t)e->cfg.brute_window &&
		    b->times[i] <= now)
			count++;
	if (count < want)
		return;
	if (b->reported_at != INT64_MIN && now - b->reported_at <= (int64_t)e->cfg.brute_window)
		return;
	b->reported_at = now;
	snprintf(detail, sizeof(detail),
		 "%u authentication failures from this client address within %u s",
		 count, e->cfg.brute_window);
	sess_finding(s, F_AUTH_BRUTE_FORCE, 0, imap_parser_offset(s->dir[0].parser),
		     detail, NULL);
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
