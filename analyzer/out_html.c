/*
 * out_html.c - the html report: one self-contained page (style, script
 * and data inline) that draws an overview, charts and a ladder diagram
 * per session in the browser.
 *
 * Layout of the work:
 *  - every event updates aggregates of fixed size (latency histograms
 *    per command name, activity over time, findings by id, totals), so
 *    the overview and the charts are complete for any capture;
 *  - the ladder rows of each open session are kept (at most
 *    IMT_HTML_LADDER_ROWS each, IMT_HTML_OPEN_ROWS for all open sessions
 *    together); when a session ends its row of the session table and
 *    its ladder are ranked (findings first, then the slowest command) and
 *    only the best IMT_HTML_TABLE_ROWS and IMT_HTML_DETAILS are kept, as
 *    compact JSON text.  Memory is bounded by those limits, never by the
 *    size of the capture.
 *
 * Safety: every string from the capture reaches the page only inside the
 * JSON data blocks, with '<', '>' and '&' written as \u003c, \u003e,
 * \u0026 (nothing can end the block or open a tag), and control
 * characters as \xNN (out_escape_controls).  The script puts them into
 * the page only as text nodes and attribute values, never as markup.  A
 * Content-Security-Policy allows only the page's own script and style,
 * by their SHA-256.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/linkhash.h>
#include <openssl/evp.h>

#include "imt_limits.h"
#include "mem.h"
#include "out_int.h"
#include "sha256.h"

/* The page's script and style (out_html.js, out_html.css), as C
 * strings made by the build. */
#include "out_html_assets.h"

#define LAT_EDGES 22            /* 0.01 ms to 100 s, steps 1-2-5 */
#define LAT_OTHER "(other)"

/* One command name's latency histogram (milliseconds). */
struct lat_row {
	char name[40];
	uint64_t counts[LAT_EDGES + 1];  /* bucket i: below edge i; last: above all */
	uint64_t n;
	double sum, max;
};

/* A session while it is open. */
struct hsess {
	char id[24];
	struct json_object *rows;        /* ladder rows, or NULL once dropped */
	size_t nrows;
	uint64_t rows_left_out;
	double t0;                       /* epoch seconds of the first packet */
	double max_latency;              /* ms */
	int worst;                       /* highest severity, -1 none */
	uint64_t findings;
	struct json_object *start;       /* session_start, read back */
};

/* A kept session table row or ladder, with its rank. */
struct ranked {
	int worst;
	uint64_t findings;
	double max_latency;
	uint64_t id;
	char *json;
};

struct heap {
	struct ranked *v;
	size_t n, cap;
};

struct out_html {
	struct lh_table *open;           /* session id text -> struct hsess */
	size_t open_rows;                /* ladder rows held by open sessions */
	struct heap table, details;
	uint64_t sessions, sessions_detail_dropped;
	double first_ts, last_ts;        /* epoch seconds; first_ts < 0: none */
	char first_ts_text[40], last_ts_text[40];
	/* activity over time: HTML_BUCKETS buckets of bucket_s seconds */
	double bucket_s;
	uint64_t act_cmd[IMT_HTML_TIME_BUCKETS], act_err[IMT_HTML_TIME_BUCKETS],
		 act_find[IMT_HTML_TIME_BUCKETS];
	struct lat_row lat[IMT_HTML_COMMAND_NAMES];
	size_t nlat;
	struct json_object *find_by_id;  /* id -> [count, severity] */
	struct json_object *global;      /* findings of no session (session 0) */
	uint64_t commands, results[4];   /* OK NO BAD other */
};

static const double lat_edges[LAT_EDGES] = {
	0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50,
	100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
};

/* ---- small helpers ----------------------------------------------------- */

/* "2026-11-22T04:36:07.949549Z" -> epoch seconds; -1 if it does not parse. */
static double parse_ts(const char *s)
{
	struct tm tm;
	int year, mon, day, h, m, sec, n = 0;
	double frac = 0, scale = 0.1;

	if (s == NULL ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &h, &m, &sec, &n) != 6)
		return -1;
	if (s[n] == '.')
		for (n++; s[n] >= '0' && s[n] <= '9'; n++, scale /= 10)
			frac += (s[n] - '0') * scale;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	return (double)timegm(&tm) + frac;
}

/* A number with three decimals, written as such (not json-c's %.17g). */
static struct json_object *num3(double v)
{
	char buf[48];

	if (!isfinite(v))
		v = 0;
	snprintf(buf, sizeof(buf), "%.3f", v);
	return json_object_new_double_s(v, buf);
}

/* Copies member key of ev into row (as short) when present; strings are
 * made safe for a person's eyes (control characters as \xNN). */
static void copy(struct json_object *row, const char *as, struct json_object *ev,
		 const char *key)
{
	struct json_object *v;
	char esc[4 * IMT_DEFAULT_MAX_ARGS_TEXT + 64];

	if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
		return;
	if (json_object_is_type(v, json_type_string)) {
		out_escape_controls(esc, sizeof(esc), json_object_get_string(v),
				    (size_t)json_object_get_string_len(v));
		json_object_object_add(row, as, json_object_new_string(esc));
	} else {
		json_object_object_add(row, as, json_object_get(v));
	}
}

/* A member of a ladder row: its short name in the page's data, and the
 * event member it copies. */
struct member {
	const char *as, *key;
};

#define ROW_MEMBERS 11

/* The ladder row of each event type that has one: its kind (out_html.js
 * draws by it), whether it is drawn past the row caps (findings, bands:
 * they explain the rest), and the members copied from the event. */
static const struct row_kind {
	const char *k;
	int always;
	struct member m[ROW_MEMBERS];
} row_kinds[EV__COUNT] = {
	[EV_COMMAND] = { "c", 0, { { "tag", "tag" }, { "cmd", "command" }, { "args", "args" },
				   { "args_cut", "args_truncated" }, { "lit", "literals" } } },
	[EV_RESULT] = { "r", 0, { { "tag", "tag" }, { "cmd", "command" }, { "st", "status" },
				  { "code", "code" }, { "ca", "code_args" }, { "text", "text" },
				  { "cf", "command_frame" } } },
	[EV_VIOLATION] = { "v", 1, { { "id", "id" }, { "sev", "severity" }, { "cat", "category" },
				     { "rfc", "rfc" }, { "msg", "message" }, { "detail", "detail" },
				     { "tag", "tag" }, { "other_frame", "other_frame" },
				     { "limit", "limit" }, { "value", "value" } } },
	[EV_GREETING] = { "g", 0, { { "st", "status" }, { "code", "code" }, { "text", "text" } } },
	[EV_CONTINUATION] = { "+", 0, { { "text", "text" }, { "for", "for" }, { "tag", "tag" } } },
	[EV_CLIENT_DATA] = { "d", 0, { { "kind", "kind" }, { "text", "text" } } },
	[EV_STATE] = { "s", 1, { { "from", "from" }, { "to", "to" }, { "cause", "cause" } } },
	[EV_TLS] = { "tls", 1, { { "after", "after_tag" } } },
	[EV_COMPRESS] = { "z", 1, { { "after", "after_tag" }, { "mech", "mechanism" } } },
	[EV_GAP] = { "gap", 1, { { "bytes", "bytes" }, { "resync", "resync" }, { "detail", "detail" } } },
	[EV_MESSAGE] = { "m", 1, { { "path", "path" }, { "subj", "subject" }, { "from", "from" },
				   { "to", "to" }, { "sha", "sha256" }, { "att", "attachments" } } },
};

/* An untagged response as listed under the row it is folded into. */
static const struct member sample_members[] = {
	{ "f", "frame" }, { "name", "name" }, { "num", "number" }, { "code", "code" },
	{ "ca", "code_args" }, { "text", "text" }, { "data", "data" }, { "lit", "literals" },
	{ NULL, NULL },
};

static void copy_members(struct json_object *row, struct json_object *ev,
			 const struct member *m, size_t n)
{
	for (size_t i = 0; i < n && m[i].as != NULL; i++)
		copy(row, m[i].as, ev, m[i].key);
}

static int64_t get_i64(struct json_object *ev, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(ev, key, &v) ? json_object_get_int64(v) : 0;
}

static double get_double(struct json_object *ev, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(ev, key, &v) ? json_object_get_double(v) : 0;
}

static int severity_of(struct json_object *ev)
{
	const char *s = out_get_str(ev, "severity");
	enum imt_severity sev;

	return s != NULL && imt_severity_parse(s, &sev) == 0 ? (int)sev : -1;
}

/* ---- ranking: a min-heap keeps the best `cap` entries ------------------ */

/* Findings first (the worst severity, then how many), then the slowest
 * command, then the earlier session.  Returns <0 when a ranks below b. */
static int rank_cmp(const struct ranked *a, const struct ranked *b)
{
	if (a->worst != b->worst)
		return a->worst < b->worst ? -1 : 1;
	if (a->findings != b->findings)
		return a->findings < b->findings ? -1 : 1;
	if (a->max_latency != b->max_latency)
		return a->max_latency < b->max_latency ? -1 : 1;
	return a->id > b->id ? -1 : a->id < b->id;
}

static void heap_swap(struct heap *h, size_t i, size_t j)
{
	struct ranked t = h->v[i];

	h->v[i] = h->v[j];
	h->v[j] = t;
}

static void heap_down(struct heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && rank_cmp(&h->v[l], &h->v[m]) < 0)
			m = l;
		if (r < h->n && rank_cmp(&h->v[r], &h->v[m]) < 0)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* Keeps e (taking its json) if it ranks among the best cap; returns 1
 * when kept, 0 when e or the entry it replaced was dropped, -1 when out
 * of memory (e dropped). */
static int heap_offer(struct heap *h, size_t cap, struct ranked *e)
{
	if (h->n < cap) {
		if (mem_grow(&h->v, &h->cap, h->n + 1, sizeof(*h->v), 64, cap) != 0) {
			free(e->json);
			return -1;
		}
		h->v[h->n] = *e;
		for (size_t i = h->n++; i > 0 && rank_cmp(&h->v[i], &h->v[(i - 1) / 2]) < 0;
		     i = (i - 1) / 2)
			heap_swap(h, i, (i - 1) / 2);
		return 1;
	}
	if (cap == 0 || rank_cmp(e, &h->v[0]) <= 0) {
		free(e->json);
		return 0;
	}
	free(h->v[0].json);
	h->v[0] = *e;
	heap_down(h, 0);
	return 0;
}

static void heap_free(struct heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].json);
	free(h->v);
}

/* ---- state ------------------------------------------------------------- */

static void hsess_free(struct hsess *s)
{
	if (s == NULL)
		return;
	json_object_put(s->rows);
	json_object_put(s->start);
	free(s);
}

static void open_entry_free(struct lh_entry *e)
{
	free(lh_entry_k(e));
	hsess_free(lh_entry_v(e));
}

struct out_html *out_html_new(void)
{
	struct out_html *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->open = lh_kchar_table_new(64, open_entry_free);
	h->find_by_id = json_object_new_object();
	h->global = json_object_new_array();
	h->first_ts = -1;
	h->bucket_s = 0.001;
	if (h->open == NULL || h->find_by_id == NULL || h->global == NULL) {
		out_html_free(h);
		return NULL;
	}
	return h;
}

void out_html_free(struct out_html *h)
{
	if (h == NULL)
		return;
	if (h->open != NULL)
		lh_table_free(h->open);
	heap_free(&h->table);
	heap_free(&h->details);
	json_object_put(h->find_by_id);
	json_object_put(h->global);
	free(h);
}

/* ---- aggregates -------------------------------------------------------- */

/* Counts one event at time t (epoch seconds) in the activity series
 * (0 commands, 1 errors, 2 findings), doubling the bucket width (and
 * merging neighbours) until the capture's span fits. */
static void activity(struct out_html *h, double t, int series)
{
	uint64_t *s[3] = { h->act_cmd, h->act_err, h->act_find };
	double at = t < h->first_ts ? 0 : t - h->first_ts;
	size_t i;

	while (at / h->bucket_s >= IMT_HTML_TIME_BUCKETS) {
		for (int k = 0; k < 3; k++)
			for (size_t j = 0; j < IMT_HTML_TIME_BUCKETS; j++)
				s[k][j] = j < IMT_HTML_TIME_BUCKETS / 2 ?
					  s[k][2 * j] + s[k][2 * j + 1] : 0;
		h->bucket_s *= 2;
	}
	i = (size_t)(at / h->bucket_s);
	s[series][i < IMT_HTML_TIME_BUCKETS ? i : IMT_HTML_TIME_BUCKETS - 1]++;
}

static void latency(struct out_html *h, const char *name, double ms)
{
	struct lat_row *r = NULL;
	size_t b = 0;

	for (size_t i = 0; i < h->nlat && r == NULL; i++)
		if (strcmp(h->lat[i].name, name) == 0)
			r = &h->lat[i];
	if (r == NULL && h->nlat < IMT_HTML_COMMAND_NAMES - 1 &&
	    strlen(name) < sizeof(r->name)) {
		r = &h->lat[h->nlat++];
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	if (r == NULL) {
		/* names past the cap, or absurdly long ones, share the last row */
		r = &h->lat[IMT_HTML_COMMAND_NAMES - 1];
		snprintf(r->name, sizeof(r->name), "%s", LAT_OTHER);
	}
	while (b < LAT_EDGES && ms >= lat_edges[b])
		b++;
	r->counts[b]++;
	r->n++;
	r->sum += ms;
	if (ms > r->max)
		r->max = ms;
}

static void count_finding(struct out_html *h, struct json_object *ev, int sev)
{
	const char *id = out_get_str(ev, "id");
	struct json_object *c;

	if (id == NULL)
		return;
	if (!json_object_object_get_ex(h->find_by_id, id, &c)) {
		c = json_object_new_array();
		json_object_array_add(c, json_object_new_int64(0));
		json_object_array_add(c, json_object_new_int(sev));
		json_object_object_add(h->find_by_id, id, c);
	}
	json_object_array_put_idx(c, 0, json_object_new_int64(
		json_object_get_int64(json_object_array_get_idx(c, 0)) + 1));
}

/* ---- ladder rows --------------------------------------------------------- */

/* A new ladder row of kind k at the event's time, or NULL when the
 * session's rows are no longer kept (the row is counted as left out). */
static struct json_object *new_row(struct out_html *h, struct hsess *s,
				   const char *k, struct json_object *ev, double t,
				   int always)
{
	struct json_object *row;

	if (s->rows == NULL || (!always && (s->nrows >= IMT_HTML_LADDER_ROWS ||
					    h->open_rows >= IMT_HTML_OPEN_ROWS))) {
		s->rows_left_out++;
		return NULL;
	}
	row = json_object_new_object();
	json_object_object_add(row, "k", json_object_new_string(k));
	json_object_object_add(row, "t", num3((t - s->t0) * 1e3));
	copy(row, "f", ev, "frame");
	copy(row, "dir", ev, "dir");
	copy(row, "o", ev, "offset");
	json_object_array_add(s->rows, row);
	s->nrows++;
	h->open_rows++;
	return row;
}

/* The command row with this tag, looking back a bounded way. */
static struct json_object *command_row(struct hsess *s, const char *tag)
{
	size_t n = s->rows != NULL ? json_object_array_length(s->rows) : 0;

	for (size_t i = n, seen = 0; i > 0 && seen < 256; i--, seen++) {
		struct json_object *r = json_object_array_get_idx(s->rows, i - 1);
		const char *k = out_get_str(r, "k");
		const char *rt = out_get_str(r, "tag");

		if (k != NULL && strcmp(k, "c") == 0 && rt != NULL && strcmp(rt, tag) == 0)
			return r;
	}
	return NULL;
}

/* An untagged response, folded under the command it answers (or under
 * the previous run of untagged responses): a count and a few samples. */
static void fold_response(struct out_html *h, struct hsess *s,
			  struct json_object *ev, double t)
{
	const char *tag = out_get_str(ev, "in_reply_to");
	struct json_object *into = NULL, *sample, *list;
	size_t n;

	if (s->rows == NULL) {
		s->rows_left_out++;
		return;
	}
	if (tag != NULL)
		into = command_row(s, tag);
	n = json_object_array_length(s->rows);
	if (into == NULL && n > 0) {
		struct json_object *last = json_object_array_get_idx(s->rows, n - 1);
		const char *k = out_get_str(last, "k");

		if (k != NULL && strcmp(k, "u") == 0)
			into = last;
	}
	if (into == NULL && (into = new_row(h, s, "u", ev, t, 0)) == NULL)
		return;
	json_object_object_add(into, "n", json_object_new_int64(get_i64(into, "n") + 1));
	if (!json_object_object_get_ex(into, "rs", &list)) {
		list = json_object_new_array();
		json_object_object_add(into, "rs", list);
	}
	if (json_object_array_length(list) >= IMT_HTML_FOLDED_SAMPLES)
		return;
	sample = json_object_new_object();
	copy_members(sample, ev, sample_members, SIZE_MAX);
	json_object_array_add(list, sample);
}

static struct hsess *session_of(struct out_html *h, struct json_object *ev)
{
	const char *id = out_get_str(ev, "session");
	void *v;

	if (id == NULL || !lh_table_lookup_ex(h->open, id, &v))
		return NULL;
	return v;
}

/* A session from its session_start, or from its session_end when the
 * start was not written (--summary): then it has no diagram. */
static void session_start(struct out_html *h, enum imt_event_type type,
			  struct json_object *ev, double t)
{
	const char *id = out_get_str(ev, "session");
	struct hsess *s;
	char *key;

	if (id == NULL || session_of(h, ev) != NULL)
		return;
	s = calloc(1, sizeof(*s));
	key = strdup(id);
	if (s == NULL || key == NULL) {
		free(s);
		free(key);
		return;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->rows = type == EV_SESSION_START ? json_object_new_array() : NULL;
	s->t0 = t;
	s->worst = -1;
	s->start = type == EV_SESSION_START ? json_object_get(ev) : NULL;
	if (lh_table_insert(h->open, key, s) != 0) {
		free(key);
		hsess_free(s);
	}
	h->sessions++;
}

/* The session table's columns: from session_end, its results, and the
 * session's first packet. */
static const struct member end_members[] = {
	{ "id", "session" }, { "client", "client" }, { "server", "server" }, { "user", "user" },
	{ "tls", "tls" }, { "compressed", "compressed" }, { "state", "state" },
	{ "reason", "reason" }, { "cmds", "commands" }, { "unans", "unanswered" },
	{ "bytes", "bytes" }, { "history", "history" }, { NULL, NULL },
};
static const struct member result_members[] = {
	{ "ok", "OK" }, { "no", "NO" }, { "bad", "BAD" }, { "other", "other" }, { NULL, NULL },
};
static const struct member start_members[] = {
	{ "start", "ts" }, { "midstream", "midstream" }, { "by", "port_guess" }, { NULL, NULL },
};

/* The session's table row, from its session_end and what was gathered. */
static struct json_object *table_row(struct hsess *s, struct json_object *end)
{
	struct json_object *row = json_object_new_object();
	struct json_object *vio = json_object_object_get(end, "violations");
	struct json_object *f = json_object_new_array();

	copy_members(row, end, end_members, SIZE_MAX);
	copy_members(row, json_object_object_get(end, "results"), result_members, SIZE_MAX);
	if (s->start != NULL)
		copy_members(row, s->start, start_members, SIZE_MAX);
	json_object_object_add(row, "dur", num3(get_double(end, "duration_ms")));
	for (int i = 0; i < 4; i++)
		json_object_array_add(f, json_object_new_int64(
			get_i64(vio, imt_severity_name((enum imt_severity)i))));
	json_object_object_add(row, "f", f);
	json_object_object_add(row, "maxlat", num3(s->max_latency));
	return row;
}

static char *to_text(struct json_object *o)
{
	const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	return t != NULL ? strdup(t) : NULL;
}

static void session_end(struct out_html *h, struct hsess *s, struct json_object *ev)
{
	struct ranked r = { s->worst, s->findings, s->max_latency, 0, NULL };
	struct json_object *row = table_row(s, ev);

	r.id = (uint64_t)get_i64(ev, "session");
	r.json = to_text(row);
	json_object_put(row);
	if (r.json != NULL)
		heap_offer(&h->table, IMT_HTML_TABLE_ROWS, &r);
	if (s->rows != NULL) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "id", json_object_new_int64((int64_t)r.id));
		json_object_object_add(d, "rows", json_object_get(s->rows));
		json_object_object_add(d, "left_out", json_object_new_int64((int64_t)s->rows_left_out));
		r.json = to_text(d);
		json_object_put(d);
		if (r.json == NULL || heap_offer(&h->details, IMT_HTML_DETAILS, &r) != 1)
			h->sessions_detail_dropped++;
		h->open_rows -= s->nrows;
	}
	lh_table_delete_entry(h->open, lh_table_lookup_entry(h->open, s->id));
}

/* The aggregates: commands, results and their latency, findings. */
static void aggregate(struct out_html *h, struct hsess *s, enum imt_event_type type,
		      struct json_object *ev, double t)
{
	const char *st, *cmd;
	struct json_object *latv;
	double lat;
	int sev, si;

	switch (type) {
	case EV_COMMAND:
		h->commands++;
		activity(h, t, 0);
		break;
	case EV_RESULT:
		st = out_get_str(ev, "status");
		cmd = out_get_str(ev, "command");
		si = out_status_index(st);
		latv = json_object_object_get(ev, "latency_ms");
		lat = latv != NULL ? json_object_get_double(latv) : 0;
		h->results[si]++;
		if (si != 0)
			activity(h, t, 1);
		/* A result that answers no command has no latency. */
		if (cmd == NULL || latv == NULL)
			break;
		latency(h, cmd, lat);
		/* IDLE lasts as long as the user leaves the client open: its
		 * latency says nothing of slowness, so it does not rank. */
		if (s != NULL && strcmp(cmd, "IDLE") != 0 && lat > s->max_latency)
			s->max_latency = lat;
		break;
	case EV_VIOLATION:
		sev = severity_of(ev);
		count_finding(h, ev, sev);
		activity(h, t, 2);
		if (s != NULL) {
			s->findings++;
			if (sev > s->worst)
				s->worst = sev;
		}
		break;
	default:
		break;
	}
}

void out_html_event(struct out_html *h, enum imt_event_type type,
		    struct json_object *ev)
{
	const char *ts = out_get_str(ev, "ts");
	double t = parse_ts(ts);
	const struct row_kind *rk = &row_kinds[type < EV__COUNT ? type : EV_SESSION_START];
	struct json_object *row = NULL, *latv;
	struct hsess *s;

	if (t >= 0) {
		if (h->first_ts < 0) {
			h->first_ts = t;
			snprintf(h->first_ts_text, sizeof(h->first_ts_text), "%s", ts);
		}
		if (t >= h->last_ts) {
			h->last_ts = t;
			snprintf(h->last_ts_text, sizeof(h->last_ts_text), "%s", ts);
		}
	}
	s = session_of(h, ev);
	if (type == EV_SESSION_START || (type == EV_SESSION_END && s == NULL)) {
		session_start(h, type, ev, t);
		s = session_of(h, ev);
	}
	aggregate(h, s, type, ev, t);
	if (type == EV_RESPONSE && s != NULL) {
		fold_response(h, s, ev, t);
	} else if (type == EV_SESSION_END && s != NULL) {
		session_end(h, s, ev);
	} else if (type == EV_VIOLATION && s == NULL) {
		/* a finding of no session (a flow or fragment cap) */
		if (json_object_array_length(h->global) < IMT_HTML_LADDER_FINDINGS) {
			row = json_object_new_object();
			copy(row, "f", ev, "frame");
			copy(row, "ts", ev, "ts");
			json_object_array_add(h->global, row);
		}
	} else if (type == EV_VIOLATION && s->findings > IMT_HTML_LADDER_FINDINGS) {
		s->rows_left_out++;
	} else if (rk->k != NULL && s != NULL) {
		row = new_row(h, s, rk->k, ev, t, rk->always);
	}
	if (row != NULL)
		copy_members(row, ev, rk->m, ROW_MEMBERS);
	if (row != NULL && type == EV_RESULT &&
	    (latv = json_object_object_get(ev, "latency_ms")) != NULL)
		json_object_object_add(row, "lat", num3(json_object_get_double(latv)));
	json_object_put(ev);
}

/* ---- writing the page ---------------------------------------------------- */

/* Writes JSON text for a <script type="application/json"> block: '<',
 * '>' and '&' (which JSON allows only inside strings) as \u00XX, so that
 * no "</script" or "<!--" can appear in it. */
static void put_json(FILE *fp, const char *t)
{
	for (; *t != '\0'; t++) {
		if (*t == '<')
			fputs("\\u003c", fp);
		else if (*t == '>')
			fputs("\\u003e", fp);
		else if (*t == '&')
			fputs("\\u0026", fp);
		else
			putc(*t, fp);
	}
}

/* 'sha256-BASE64' of s, for the Content-Security-Policy (44 base64
 * characters for the 32-byte digest). */
static void csp_hash(const char *s, char out[64])
{
	struct sha256 h;
	unsigned char md[SHA256_LEN];
	size_t n;

	sha256_init(&h);
	sha256_update(&h, s, strlen(s));
	sha256_final(&h, md);
	n = (size_t)sprintf(out, "'sha256-");
	n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, md, SHA256_LEN);
	out[n++] = '\'';
	out[n] = '\0';
}

static int by_id(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_rank_desc(const void *a, const void *b)
{
	return -rank_cmp(a, b);
}

static struct json_object *u64s(const uint64_t *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64((int64_t)v[i]));
	return a;
}

/* The overview, the aggregates and the limits as one JSON object. */
static struct json_object *summary(struct output *o, struct out_html *h)
{
	struct json_object *d = json_object_new_object(), *a, *lim;
	size_t nb = IMT_HTML_TIME_BUCKETS;

	json_object_object_add(d, "captures", json_object_get(o->captures));
	json_object_object_add(d, "frames", json_object_new_int64((int64_t)o->frames));
	json_object_object_add(d, "bytes", json_object_new_int64((int64_t)o->bytes));
	if (h->first_ts >= 0) {
		json_object_object_add(d, "first", json_object_new_string(h->first_ts_text));
		json_object_object_add(d, "last", json_object_new_string(h->last_ts_text));
		json_object_object_add(d, "span_s", num3(h->last_ts - h->first_ts));
	}
	json_object_object_add(d, "totals", json_object_get(o->totals));
	json_object_object_add(d, "sessions", json_object_new_int64((int64_t)h->sessions));
	json_object_object_add(d, "commands", json_object_new_int64((int64_t)h->commands));
	json_object_object_add(d, "results", u64s(h->results, 4));
	while (nb > 1 && h->act_cmd[nb - 1] == 0 && h->act_err[nb - 1] == 0 &&
	       h->act_find[nb - 1] == 0)
		nb--;
	a = json_object_new_object();
	json_object_object_add(a, "bucket_s", json_object_new_double(h->bucket_s));
	json_object_object_add(a, "cmd", u64s(h->act_cmd, nb));
	json_object_object_add(a, "err", u64s(h->act_err, nb));
	json_object_object_add(a, "find", u64s(h->act_find, nb));
	json_object_object_add(d, "activity", a);
	a = json_object_new_array();
	for (size_t i = 0; i < LAT_EDGES; i++)
		json_object_array_add(a, json_object_new_double(lat_edges[i]));
	json_object_object_add(d, "lat_edges", a);
	a = json_object_new_array();
	for (size_t i = 0; i < IMT_HTML_COMMAND_NAMES; i++) {
		struct lat_row *r = &h->lat[i];
		struct json_object *x;
		char esc[4 * sizeof(r->name)];

		if (r->n == 0)
			continue;
		x = json_object_new_object();
		out_escape_controls(esc, sizeof(esc), r->name, strlen(r->name));
		json_object_object_add(x, "name", json_object_new_string(esc));
		json_object_object_add(x, "n", json_object_new_int64((int64_t)r->n));
		json_object_object_add(x, "mean", num3(r->sum / (double)r->n));
		json_object_object_add(x, "max", num3(r->max));
		json_object_object_add(x, "counts", u64s(r->counts, LAT_EDGES + 1));
		json_object_array_add(a, x);
	}
	json_object_object_add(d, "latency", a);
	json_object_object_add(d, "findings", json_object_get(h->find_by_id));
	json_object_object_add(d, "global_findings", json_object_get(h->global));
	lim = json_object_new_object();
	json_object_object_add(lim, "table_rows", json_object_new_int(IMT_HTML_TABLE_ROWS));
	json_object_object_add(lim, "details", json_object_new_int(IMT_HTML_DETAILS));
	json_object_object_add(lim, "ladder_rows", json_object_new_int(IMT_HTML_LADDER_ROWS));
	json_object_object_add(lim, "open_rows", json_object_new_int(IMT_HTML_OPEN_ROWS));
	json_object_object_add(lim, "details_left_out",
			       json_object_new_int64((int64_t)h->sessions_detail_dropped));
	json_object_object_add(d, "limits", lim);
	return d;
}

/* Writes the kept entries of hp (by session number) as a JSON array. */
static void put_kept(FILE *fp, struct heap *hp, int (*order)(const void *, const void *))
{
	if (hp->n > 1)
		qsort(hp->v, hp->n, sizeof(hp->v[0]), order);
	putc('[', fp);
	for (size_t i = 0; i < hp->n; i++) {
		if (i > 0)
			putc(',', fp);
		put_json(fp, hp->v[i].json);
	}
	putc(']', fp);
}

int out_html_finish(struct output *o)
{
	struct out_html *h = o->html;
	struct json_object *d;
	struct lh_entry *e, *tmp;
	char script_hash[64], style_hash[64];
	const char *t;

	/* Sessions the engine did not end (it ends all; this is a guard). */
	lh_foreach_safe(h->open, e, tmp) {
		struct hsess *s = lh_entry_v(e);

		h->open_rows -= s->nrows;
		h->sessions_detail_dropped++;
		lh_table_delete_entry(h->open, e);
	}
	csp_hash(out_html_js, script_hash);
	csp_hash(out_html_css, style_hash);
	fprintf(o->fp,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		"script-src %s; style-src %s; img-src 'none'; base-uri 'none'; "
		"form-action 'none'\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<meta name=\"generator\" content=\"imaptrace\">\n"
		"<title>imaptrace report</title>\n<style>%s</style>\n</head>\n<body>\n"
		"<noscript><p>This report draws its tables and diagrams with its own "
		"inline script: allow scripts for this file to see it.</p></noscript>\n"
		"<main id=\"app\"></main>\n"
		"<script type=\"application/json\" id=\"imt-summary\">",
		script_hash, style_hash, out_html_css);
	d = summary(o, h);
	t = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	put_json(o->fp, t != NULL ? t : "{}");
	json_object_put(d);
	fputs("</script>\n<script type=\"application/json\" id=\"imt-sessions\">", o->fp);
	put_kept(o->fp, &h->table, by_id);
	fputs("</script>\n<script type=\"application/json\" id=\"imt-details\">", o->fp);
	put_kept(o->fp, &h->details, by_rank_desc);
	fprintf(o->fp, "</script>\n<script>%s</script>\n</body>\n</html>\n", out_html_js);
	return t != NULL && !ferror(o->fp) ? 0 : -1;
}
