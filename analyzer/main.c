/*
 * main.c - imaptrace's command line: reads the captures in order through
 * capture -> ip -> tcp -> session -> output, and maps what happened to
 * the exit status (0 ok, 1 --fail-on tripped, 2 usage, 3 unreadable or
 * corrupt capture).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "dec.h"
#include "ip.h"
#include "output.h"
#include "relay.h"
#include "session.h"
#include "tcp.h"

#define IMAPTRACE_VERSION "0.1.0"

#define EXIT_FAIL_ON 1
#define EXIT_USAGE   2
#define EXIT_CAPTURE 3

#define MAX_PORTS 64

struct pipeline {
	struct ip_decoder *ip;
	struct tcp_reasm *tcp;
	struct sess_engine *eng;
	struct relay *relay;     /* the engine's thread, or NULL */
	/* Flows in their handshake (tcp_stats.flows_waiting), as the reading
	 * thread last saw them: for the engine's thread, which prepares
	 * their sessions' memory while it has nothing else to do. */
	atomic_uint_least64_t flows_coming;
	/* Whether the TCP stage holds flows enough that fetching their
	 * memory ahead pays (on_ahead): with a few, they stay in the cache
	 * and the hints would only cost. */
	int hints;
	struct relay_stats relay_st;
	int threaded;
	struct cap_reader *cap;
	int progress;
	time_t last_progress;
	struct timespec started;
	uint64_t total_size;     /* bytes of all captures; 0: not known */
	int linktype_error;
	char errmsg[512];
	struct tls_keys *keys;   /* --keylog and pcapng DSB secrets */
	uint64_t dsb_lines;      /* key log lines read from DSBs */
};

static void usage(FILE *fp)
{
	fputs(
"usage: imaptrace [options] CAPTURE...      (\"-\" reads standard input)\n"
"\n"
"Reads pcap/pcapng captures (optionally gzip, zstd or lz4 compressed),\n"
"reassembles TCP, parses IMAP in both directions and writes a timeline of\n"
"every session with its protocol violations and security findings.\n"
"\n"
"output:\n"
"  -o FILE               write to FILE instead of standard output\n"
"  -F ndjson|json|text|html|ecs\n"
"                        format (default: text on a terminal, else ndjson);\n"
"                        html: one self-contained report to open in a browser;\n"
"                        ecs: one Elastic Common Schema document per event\n"
"  --color=WHEN          text in colour: auto (a terminal, unless NO_COLOR is\n"
"                        set; the default), always, never\n"
"  --violations-only     only violation events (plus session_start/_end)\n"
"  --summary             one summary per session and the capture totals\n"
"  --transactions        only one record per command: its result, latency,\n"
"                        bytes, state (ndjson, json, ecs)\n"
"  --show-secrets        do not redact passwords and SASL payloads\n"
"  --fail-on SEVERITY    exit 1 if a finding of SEVERITY (info, low, medium,\n"
"                        high) or higher was raised\n"
"input:\n"
"  -f EXPR               BPF filter, as tcpdump takes it\n"
"  -p PORTS              comma-separated IMAP ports (default 143); other ports\n"
"                        are still recognised by content\n"
"  --tls-ports PORTS     implicit-TLS IMAP ports (default 993)\n"
"  --keylog FILE         decrypt TLS with the secrets of an NSS key log\n"
"                        (SSLKEYLOGFILE); may be repeated\n"
"  --decrypted-upstream  the capture was taken behind a TLS-inspecting\n"
"                        appliance: plaintext after STARTTLS is expected\n"
"                        (plaintext-after-starttls becomes info)\n"
"limits (each hit is reported as a limit-reached finding):\n"
"  --max-flows N         TCP flows tracked at once (default 100000)\n"
"  --max-buffer N        out-of-order bytes held per flow direction (default 1048576)\n"
"  --max-total-buffer N  out-of-order bytes held in all (default 16777216)\n"
"  --max-line N          IMAP line length before line-too-long (default 8192)\n"
"  --max-literal N       literal size before literal-too-large (default 1073741824)\n"
"  --max-depth N         parenthesis nesting kept (default 64)\n"
"  --idle-timeout S      seconds before an idle flow is closed (default 600)\n"
"  --brute-force N/S     auth-brute-force after N failures in S seconds (default 5/600)\n"
"output fields:\n"
"  --community-id-seed N seed of the Community ID v1 of every session event\n"
"                        (0 to 65535, default 0)\n"
"evidence export:\n"
"  --extract DIR         write every message literal (FETCH bodies, APPEND\n"
"                        messages) to a file under DIR, with a manifest and\n"
"                        decoded attachments; adds a message event per message\n"
"  --max-extract-bytes N bytes extracted in all (default 17179869184)\n"
"  --max-mime-parts N    MIME parts parsed per message (default 1000)\n"
"  --max-mime-depth N    MIME nesting parsed per message (default 32)\n"
"other:\n"
"  --list-findings       print the catalog of findings (id, category, severity,\n"
"                        RFC, message) as tab-separated lines and exit\n"
"  --threads N           1: one thread; 2 (default with two or more cores): the\n"
"                        IMAP parser, session engine and output on a second\n"
"                        thread (the output is the same)\n"
"  -q                    no progress on standard error\n"
"  -v                    print read statistics on standard error at the end\n"
"  --version, --help\n"
"\n"
"exit status: 0 success, 1 --fail-on tripped, 2 bad usage, 3 a capture could\n"
"not be read or was corrupt (everything read before is still written).\n",
	fp);
}

static int parse_u32(const char *s, uint32_t *v_r)
{
	uint64_t v;

	if (dec_parse_u64(s, strlen(s), UINT32_MAX, &v) != 0)
		return -1;
	*v_r = (uint32_t)v;
	return 0;
}

/* "N/SECONDS": two unsigned numbers.  Returns 0, or -1. */
static int parse_brute(const char *s, unsigned *n_r, unsigned *secs_r)
{
	const char *slash = strchr(s, '/');
	uint64_t n, secs;

	if (slash == NULL ||
	    dec_parse_u64(s, (size_t)(slash - s), UINT_MAX, &n) != 0 ||
	    dec_parse_u64(slash + 1, strlen(slash + 1), UINT_MAX, &secs) != 0)
		return -1;
	*n_r = (unsigned)n;
	*secs_r = (unsigned)secs;
	return 0;
}

static int parse_ports(const char *s, uint16_t *ports, size_t *n_r)
{
	char buf[512];
	char *save = NULL;
	size_t n = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (n == MAX_PORTS || dec_parse_u64(tok, strlen(tok), 65535, &v) != 0 || v == 0)
			return -1;
		ports[n++] = (uint16_t)v;
	}
	*n_r = n;
	return n > 0 ? 0 : -1;
}

static void on_segment(void *user, const struct ip_segment *seg)
{
	struct pipeline *pl = user;

	tcp_reasm_feed(pl->tcp, seg);
}

static void on_ip_finding(void *user, const struct imt_finding_report *f)
{
	struct pipeline *pl = user;
	static const struct tcp_meta none;

	if (pl->relay != NULL)
		relay_global_finding(pl->relay, f, &none);
	else
		sess_engine_global_finding(pl->eng, f, 0, 0, 0);
}

/* Bytes of the capture files read so far, as near as the reader's
 * counters tell: captured bytes plus the per-packet record header of the
 * format (16 bytes in pcap; pcapng's blocks are larger, so the estimate
 * errs low, and the percentage is held below 100 until the end).  For a
 * gzip file this counts the bytes it inflates to (capture_size()). */
static uint64_t progress_done(const struct cap_stats *cs)
{
	return cs->bytes + 16 * cs->frames + 24 * cs->files;
}

/* The bytes a capture file holds, for the progress line: its size, or
 * for a gzip file the size it inflates to, which the gzip trailer gives
 * (modulo 4 GiB: a trailer that says less than the file's own size has
 * wrapped, and the size is not known).  0 when not known (zstd and lz4
 * files among them). */
static uint64_t capture_size(const char *path)
{
	struct stat st;
	unsigned char magic[4] = { 0 }, isize[4];
	uint64_t size = 0;
	FILE *fp;

	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return 0;
	if (fread(magic, 1, 4, fp) == 4 && cap_compressed_magic(magic, 4) &&
	    (magic[0] != 0x1f || magic[1] != 0x8b)) {
		size = 0;       /* zstd, lz4: no trailer says */
	} else if (magic[0] != 0x1f || magic[1] != 0x8b) {
		size = (uint64_t)st.st_size;
	} else if (st.st_size >= 18 && fseeko(fp, -4, SEEK_END) == 0 &&
		   fread(isize, 1, 4, fp) == 4) {
		size = (uint64_t)isize[0] | (uint64_t)isize[1] << 8 |
		       (uint64_t)isize[2] << 16 | (uint64_t)isize[3] << 24;
		if (size < (uint64_t)st.st_size)
			size = 0;
	}
	fclose(fp);
	return size;
}

static void show_progress(struct pipeline *pl, int final)
{
	struct cap_stats cs;
	struct tcp_stats ts;
	struct timespec now;
	double secs, done, pct;
	char eta[96] = "";

	cap_reader_stats(pl->cap, &cs);
	tcp_reasm_stats(pl->tcp, &ts);
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - pl->started.tv_sec) +
	       (double)(now.tv_nsec - pl->started.tv_nsec) / 1e9;
	done = (double)progress_done(&cs);
	if (pl->total_size > 0 && secs > 0) {
		pct = final ? 100 : 100 * done / (double)pl->total_size;
		if (pct > 99)
			pct = final ? 100 : 99;
		snprintf(eta, sizeof(eta), "%3.0f%%, %.1f MB/s, %.0f s left, ", pct,
			 done / secs / 1e6,
			 final || done >= (double)pl->total_size ? 0 :
			 ((double)pl->total_size - done) / (done / secs));
	} else if (secs > 0) {
		snprintf(eta, sizeof(eta), "%.1f MB/s, ", done / secs / 1e6);
	}
	fprintf(stderr, "\rimaptrace: %s%llu frames, %.1f MB, %llu flows open   %s",
		eta, (unsigned long long)cs.frames, (double)cs.bytes / 1e6,
		(unsigned long long)ts.flows_open, final ? "\n" : "");
}

/* A key log line that was skipped: said once, with its place. */
static void keylog_warn(void *user, const char *file, unsigned long line,
			const char *why)
{
	(void)user;
	fprintf(stderr, "imaptrace: %s:%lu: %s (line skipped)\n", file, line, why);
}

static int on_packet(void *user, const struct cap_packet *pkt)
{
	struct pipeline *pl = user;

	if (ip_decoder_feed(pl->ip, pkt) == CAP_ERR_LINKTYPE) {
		snprintf(pl->errmsg, sizeof(pl->errmsg),
			 "%s: frame %llu: unsupported link-layer type %d",
			 pkt->file, (unsigned long long)pkt->frame, pkt->linktype);
		pl->linktype_error = 1;
		return 1;
	}
	if ((pkt->frame & 255) == 0) {
		struct tcp_stats ts;
		int hints;

		tcp_reasm_stats(pl->tcp, &ts);
		hints = ts.flows_held >= TCP_HINT_MIN_FLOWS;
		if (hints != pl->hints)
			cap_reader_ahead(pl->cap, hints);
		pl->hints = hints;
		atomic_store_explicit(&pl->flows_coming, ts.flows_waiting,
				      memory_order_relaxed);
	}
	if (pl->progress && (pkt->frame & 0xffff) == 0) {
		time_t now = time(NULL);

		if (now != pl->last_progress) {
			pl->last_progress = now;
			show_progress(pl, 0);
		}
	}
	return 0;
}

/* A packet the reader will hand on a few packets later: the TCP stage
 * fetches its flow's memory ahead (include/tcp.h). */
static void on_ahead(void *user, int linktype, const uint8_t *data, uint32_t caplen)
{
	struct pipeline *pl = user;
	struct ip_endpoint src, dst;

	if (ip_peek_tcp(linktype, data, caplen, &src, &dst))
		tcp_reasm_hint(pl->tcp, &src, &dst);
}

/* A pcapng Decryption Secrets Block: its NSS key log lines join the key
 * store, for the TLS sessions whose handshake comes after it (the
 * engine's thread, if any, is idle while the store changes). */
static void on_secrets(void *user, uint32_t type, const uint8_t *data, size_t len)
{
	struct pipeline *pl = user;
	size_t at = 0;

	if (type != CAP_SECRETS_TLS_KEYLOG || pl->keys == NULL)
		return;
	if (pl->relay != NULL)
		relay_sync(pl->relay);
	while (at < len) {
		const uint8_t *lf = memchr(data + at, '\n', len - at);
		size_t n = lf != NULL ? (size_t)(lf - (data + at)) + 1 : len - at;

		pl->dsb_lines++;
		if (tls_keys_add_line(pl->keys, (const char *)data + at, n,
				      "pcapng Decryption Secrets Block",
				      (unsigned long)pl->dsb_lines, keylog_warn, NULL) < 0)
			fprintf(stderr, "imaptrace: out of memory for TLS keys\n");
		at += n;
	}
}

/* A session whose keys came after its handshake: said on stderr. */
static void on_late_keys(void *user, uint64_t session, const char *client,
			 const char *server)
{
	(void)user;
	fprintf(stderr, "imaptrace: session %llu (%s -> %s) was not decrypted: its keys "
		"came in a Decryption Secrets Block after its handshake\n",
		(unsigned long long)session, client, server);
}

/* The engine's thread has nothing queued (it has caught up with the
 * reader, the less busy one then): it fills the page tables of the file
 * ahead of the reader, then prepares memory for the sessions whose
 * handshakes the reader has seen. */
static int on_engine_idle(void *user)
{
	struct pipeline *pl = user;

	return cap_prefetch(pl->cap) ||
	       sess_engine_prepare(pl->eng, atomic_load_explicit(&pl->flows_coming,
								  memory_order_relaxed));
}

static void print_stats(struct pipeline *pl)
{
	struct cap_stats cs;
	struct ip_stats is;
	struct tcp_stats ts;

	cap_reader_stats(pl->cap, &cs);
	ip_decoder_stats(pl->ip, &is);
	tcp_reasm_stats(pl->tcp, &ts);
	fprintf(stderr,
		"imaptrace: %llu files, %llu frames (%llu passed the filter), %llu bytes\n"
		"imaptrace: %llu TCP segments, %llu non-TCP, %llu malformed, "
		"%llu fragments (%llu datagrams rebuilt, %llu dropped)\n"
		"imaptrace: %llu flows, %llu evicted, %llu retransmissions, "
		"%llu overlap mismatches, %llu bytes held at peak\n",
		(unsigned long long)cs.files, (unsigned long long)cs.frames,
		(unsigned long long)cs.frames_passed, (unsigned long long)cs.bytes,
		(unsigned long long)is.tcp_segments, (unsigned long long)is.non_tcp,
		(unsigned long long)is.malformed, (unsigned long long)is.fragments,
		(unsigned long long)is.reassembled, (unsigned long long)is.frag_dropped,
		(unsigned long long)ts.flows_opened, (unsigned long long)ts.flows_evicted,
		(unsigned long long)ts.retransmissions,
		(unsigned long long)ts.overlaps_mismatched,
		(unsigned long long)ts.held_bytes_peak);
	if (pl->threaded) {
		struct timespec cpu;
		double self = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0 ?
			      (double)cpu.tv_sec + cpu.tv_nsec / 1e9 : 0;

		/* Which side bounds the run: the busier thread. */
		fprintf(stderr,
			"imaptrace: 2 threads: reading, IP and TCP %.3f s CPU; "
			"IMAP, sessions, output and page tables ahead %.3f s CPU; "
			"%llu chunks queued, "
			"the reader waited %llu times\n",
			self, pl->relay_st.worker_cpu_s,
			(unsigned long long)pl->relay_st.chunks,
			(unsigned long long)pl->relay_st.feeder_waits);
	}
}

static void list_findings(void)
{
	for (int i = 0; i < F__COUNT; i++) {
		const struct imt_finding_info *fi = imt_finding_info((enum imt_finding)i);

		printf("%s\t%s\t%s\t%s\t%s\n", fi->id, fi->category,
		       imt_severity_name(fi->severity), fi->rfc, fi->message);
	}
}

enum {
	OPT_VIOLATIONS_ONLY = 256, OPT_SUMMARY, OPT_SHOW_SECRETS, OPT_FAIL_ON,
	OPT_MAX_FLOWS, OPT_MAX_BUFFER, OPT_MAX_TOTAL_BUFFER, OPT_MAX_LINE,
	OPT_MAX_LITERAL, OPT_MAX_DEPTH, OPT_IDLE_TIMEOUT, OPT_TLS_PORTS,
	OPT_BRUTE, OPT_VERSION, OPT_HELP, OPT_LIST_FINDINGS, OPT_THREADS,
	OPT_COLOR,
	OPT_DECRYPTED_UPSTREAM, OPT_KEYLOG,
	OPT_COMMUNITY_ID_SEED, OPT_TRANSACTIONS,
	OPT_EXTRACT, OPT_MAX_EXTRACT_BYTES, OPT_MAX_MIME_PARTS, OPT_MAX_MIME_DEPTH,
};

static const struct option long_opts[] = {
	{ "violations-only", no_argument, NULL, OPT_VIOLATIONS_ONLY },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "transactions", no_argument, NULL, OPT_TRANSACTIONS },
	{ "show-secrets", no_argument, NULL, OPT_SHOW_SECRETS },
	{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "max-buffer", required_argument, NULL, OPT_MAX_BUFFER },
	{ "max-total-buffer", required_argument, NULL, OPT_MAX_TOTAL_BUFFER },
	{ "max-line", required_argument, NULL, OPT_MAX_LINE },
	{ "max-literal", required_argument, NULL, OPT_MAX_LITERAL },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "extract", required_argument, NULL, OPT_EXTRACT },
	{ "max-extract-bytes", required_argument, NULL, OPT_MAX_EXTRACT_BYTES },
	{ "max-mime-parts", required_argument, NULL, OPT_MAX_MIME_PARTS },
	{ "max-mime-depth", required_argument, NULL, OPT_MAX_MIME_DEPTH },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "tls-ports", required_argument, NULL, OPT_TLS_PORTS },
	{ "decrypted-upstream", no_argument, NULL, OPT_DECRYPTED_UPSTREAM },
	{ "keylog", required_argument, NULL, OPT_KEYLOG },
	{ "brute-force", required_argument, NULL, OPT_BRUTE },
	{ "community-id-seed", required_argument, NULL, OPT_COMMUNITY_ID_SEED },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "colour", required_argument, NULL, OPT_COLOR },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "list-findings", no_argument, NULL, OPT_LIST_FINDINGS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	struct sess_config cfg;
	struct out_options oo;
	int format_set;
	const char *out_path;
	const char *filter;
	const char *extract_dir;
	int fail_on;
	int quiet, verbose;
	int color;               /* -1 auto, 0 never, 1 always */
	uint32_t threads;        /* 1, or 2: the engine on its own thread */
	uint16_t ports[MAX_PORTS], tls_ports[MAX_PORTS];
	struct tls_keys *keys;   /* --keylog files and DSB secrets (always made) */
};

/* --keylog FILE: its secrets join the store.  Returns 0, or -1 when the
 * file cannot be read (said on stderr) or memory ran out. */
static int load_keylog(struct cli *cli, const char *path)
{
	if (tls_keys_load_file(cli->keys, path, keylog_warn, NULL) < 0) {
		fprintf(stderr, "imaptrace: --keylog %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int bad_value(const char *opt, const char *val)
{
	fprintf(stderr, "imaptrace: invalid value for %s: '%s'\n", opt, val);
	return -1;
}

static int parse_limit(int c, const char *v, struct imt_limits *l)
{
	uint64_t big;

	switch (c) {
	case OPT_MAX_FLOWS:
		return parse_u32(v, &l->max_flows) == 0 && l->max_flows > 0 ? 0 :
		       bad_value("--max-flows", v);
	case OPT_MAX_BUFFER:
		return parse_u32(v, &l->max_flow_buffer) == 0 ? 0 : bad_value("--max-buffer", v);
	case OPT_MAX_TOTAL_BUFFER:
		return parse_u32(v, &l->max_total_buffer) == 0 ? 0 :
		       bad_value("--max-total-buffer", v);
	case OPT_MAX_LINE:
		return parse_u32(v, &l->max_line) == 0 && l->max_line >= 64 ? 0 :
		       bad_value("--max-line (at least 64)", v);
	case OPT_MAX_LITERAL:
		if (dec_parse_u64(v, strlen(v), UINT64_MAX, &big) != 0)
			return bad_value("--max-literal", v);
		l->max_literal = big;
		return 0;
	case OPT_MAX_DEPTH:
		return parse_u32(v, &l->max_depth) == 0 && l->max_depth > 0 &&
		       l->max_depth <= 65535 ? 0 : bad_value("--max-depth (1 to 65535)", v);
	case OPT_IDLE_TIMEOUT:
		return parse_u32(v, &l->idle_timeout) == 0 ? 0 : bad_value("--idle-timeout", v);
	case OPT_MAX_EXTRACT_BYTES:
		if (dec_parse_u64(v, strlen(v), UINT64_MAX, &big) != 0)
			return bad_value("--max-extract-bytes", v);
		l->max_extract_bytes = big;
		return 0;
	case OPT_MAX_MIME_PARTS:
		return parse_u32(v, &l->max_mime_parts) == 0 && l->max_mime_parts > 0 ? 0 :
		       bad_value("--max-mime-parts (at least 1)", v);
	case OPT_MAX_MIME_DEPTH:
		return parse_u32(v, &l->max_mime_depth) == 0 && l->max_mime_depth > 0 ? 0 :
		       bad_value("--max-mime-depth (at least 1)", v);
	}
	return -1;
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	int c;
	size_t n;
	enum imt_severity sev;

	while ((c = getopt_long(argc, argv, "o:F:f:p:qv", long_opts, NULL)) != -1) {
		switch (c) {
		case 'o': cli->out_path = optarg; break;
		case 'F':
			if (out_format_parse(optarg, &cli->oo.format) != 0)
				return bad_value("-F", optarg);
			cli->format_set = 1;
			break;
		case 'f': cli->filter = optarg; break;
		case OPT_EXTRACT: cli->extract_dir = optarg; break;
		case 'p':
			if (parse_ports(optarg, cli->ports, &n) != 0)
				return bad_value("-p", optarg);
			cli->cfg.ports = cli->ports;
			cli->cfg.nports = n;
			break;
		case OPT_TLS_PORTS:
			if (parse_ports(optarg, cli->tls_ports, &n) != 0)
				return bad_value("--tls-ports", optarg);
			cli->cfg.tls_ports = cli->tls_ports;
			cli->cfg.ntls_ports = n;
			break;
		case 'q': cli->quiet = 1; break;
		case 'v': cli->verbose = 1; break;
		case OPT_VIOLATIONS_ONLY: cli->oo.violations_only = 1; break;
		case OPT_SUMMARY: cli->oo.summary = 1; break;
		case OPT_TRANSACTIONS: cli->oo.transactions = 1; break;
		case OPT_SHOW_SECRETS: cli->cfg.show_secrets = 1; break;
		case OPT_DECRYPTED_UPSTREAM: cli->cfg.decrypted_upstream = 1; break;
		case OPT_KEYLOG:
			if (load_keylog(cli, optarg) != 0)
				return -1;
			break;
		case OPT_FAIL_ON:
			if (imt_severity_parse(optarg, &sev) != 0)
				return bad_value("--fail-on", optarg);
			cli->fail_on = (int)sev;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0)
				cli->color = -1;
			else if (strcmp(optarg, "always") == 0)
				cli->color = 1;
			else if (strcmp(optarg, "never") == 0)
				cli->color = 0;
			else
				return bad_value("--color (auto, always, never)", optarg);
			break;
		case OPT_THREADS:
			if (parse_u32(optarg, &cli->threads) != 0 || cli->threads < 1 ||
			    cli->threads > 2)
				return bad_value("--threads (1 or 2)", optarg);
			break;
		case OPT_BRUTE:
			if (parse_brute(optarg, &cli->cfg.brute_failures,
					&cli->cfg.brute_window) != 0 ||
			    cli->cfg.brute_failures == 0 || cli->cfg.brute_failures > 16)
				return bad_value("--brute-force (N/SECONDS, N from 1 to 16)", optarg);
			break;
		case OPT_COMMUNITY_ID_SEED: {
			uint64_t seed;

			if (dec_parse_u64(optarg, strlen(optarg), UINT16_MAX, &seed) != 0)
				return bad_value("--community-id-seed (0 to 65535)", optarg);
			cli->cfg.community_id_seed = (uint16_t)seed;
			break;
		}
		case OPT_VERSION:
			printf("imaptrace %s\n", IMAPTRACE_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_LIST_FINDINGS:
			list_findings();
			exit(0);
		case '?':
			return -1;
		default:
			if (parse_limit(c, optarg, &cli->cfg.lim) != 0)
				return -1;
			break;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "imaptrace: no capture given\n");
		return -1;
	}
	return 0;
}

static int run(struct cli *cli, char **files, int nfiles, FILE *out_fp)
{
	struct pipeline pl;
	struct output *out;
	struct ip_callbacks ipcb = { on_segment, on_ip_finding };
	struct tcp_callbacks tcb;
	struct cap_callbacks ccb = { .on_packet = on_packet, .on_ahead = on_ahead };
	struct tcp_config tcfg = { cli->cfg.ports, cli->cfg.nports };
	void *tcp_user;
	int status = 0;

	memset(&pl, 0, sizeof(pl));
	pl.keys = cli->keys;
	pl.progress = !cli->quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &pl.started);
	/* The size is known when it is known for every capture. */
	for (int i = 0; i < nfiles; i++) {
		uint64_t size = pl.progress ? capture_size(files[i]) : 0;

		if (size == 0) {
			pl.total_size = 0;
			break;
		}
		pl.total_size += size;
	}
	out = out_new(out_fp, &cli->oo);
	pl.eng = out != NULL ? sess_engine_new(&cli->cfg, out) : NULL;
	if (pl.eng != NULL && cli->extract_dir != NULL) {
		char err[1280];

		if (sess_engine_extract(pl.eng, cli->extract_dir, err, sizeof(err)) != 0) {
			fprintf(stderr, "imaptrace: %s\n", err);
			exit(EXIT_USAGE);
		}
	}
	sess_engine_tcp_callbacks(&tcb);
	tcp_user = pl.eng;
	/* Two threads: reading, IP and TCP on this one, the engine and the
	 * output on the relay's (the same output, see relay.h).  If the
	 * thread cannot start, everything runs here. */
	if (pl.eng != NULL && cli->threads > 1 &&
	    (pl.relay = relay_new(&tcb, pl.eng, IMT_RELAY_QUEUE)) != NULL) {
		relay_tcp_callbacks(pl.relay, &tcb);
		tcp_user = pl.relay;
	}
	pl.tcp = pl.eng != NULL ? tcp_reasm_new(&cli->cfg.lim, &tcfg, &tcb, tcp_user) : NULL;
	pl.ip = ip_decoder_new(&cli->cfg.lim, &ipcb, &pl);
	pl.cap = cap_reader_new(cli->filter, &ccb, &pl);
	if (out == NULL || pl.eng == NULL || pl.tcp == NULL || pl.ip == NULL ||
	    pl.cap == NULL) {
		fprintf(stderr, "imaptrace: out of memory\n");
		exit(EXIT_CAPTURE);
	}
	cap_reader_on_secrets(pl.cap, on_secrets);
	cap_reader_prescan_secrets(pl.cap, 1);
	/* No hints until the TCP stage holds flows enough (on_packet). */
	cap_reader_ahead(pl.cap, 0);
	if (pl.relay != NULL)
		relay_set_idle_work(pl.relay, on_engine_idle, &pl);
	for (int i = 0; i < nfiles; i++) {
		enum cap_error err = cap_read_file(pl.cap, files[i]);
		const char *msg = NULL;

		if (err == CAP_ERR_STOPPED && pl.linktype_error)
			msg = pl.errmsg;
		else if (err != CAP_OK)
			msg = cap_reader_errmsg(pl.cap);
		/* The file's leases go (the engine's thread releases those of
		 * what it replays, without the reader waiting for it: it reads
		 * on into the next file), and with the last one the file.  The
		 * engine thread does not touch the list of captures.  After
		 * the last file only the packets the flows still hold back can
		 * be compared with the bytes kept under the lease, so it stays
		 * until the flows are closed: copying every open flow's recent
		 * bytes out of the mapping then would bring pages the reader
		 * gave back into memory for nothing. */
		if (i + 1 < nfiles)
			tcp_reasm_drop_lease(pl.tcp);
		out_capture(out, files[i], msg);
		if (msg == NULL)
			continue;
		fprintf(stderr, "imaptrace: %s\n", msg);
		if (err == CAP_ERR_FILTER) {
			status = EXIT_USAGE;
			break;
		}
		status = EXIT_CAPTURE;
	}
	/* Whatever was read is analysed to the end and written out. */
	tcp_reasm_finish(pl.tcp);
	tcp_reasm_drop_lease(pl.tcp);
	if (pl.relay != NULL) {
		relay_finish(pl.relay, &pl.relay_st);
		relay_free(pl.relay);
		pl.relay = NULL;
		pl.threaded = 1;
	}
	{
		char err[1280];

		/* The analysis is written even when the export failed. */
		err[0] = '\0';
		if (sess_engine_extract_close(pl.eng, err, sizeof(err)) != 0) {
			if (err[0] != '\0')
				fprintf(stderr, "imaptrace: %s\n", err);
			status = EXIT_CAPTURE;
		}
	}
	sess_engine_totals(pl.eng);
	{
		uint64_t forgotten = 0;

		sess_engine_late_keys(pl.eng, on_late_keys, NULL, &forgotten);
		if (forgotten > 0 && pl.dsb_lines > 0)
			fprintf(stderr, "imaptrace: %llu more sessions were not decrypted for "
				"want of keys (not checked against keys that came later)\n",
				(unsigned long long)forgotten);
	}
	{
		struct cap_stats cs;

		cap_reader_stats(pl.cap, &cs);
		out_read_stats(out, cs.frames, cs.bytes);
	}
	if (out_finish(out) != 0) {
		fprintf(stderr, "imaptrace: writing the output: %s\n", strerror(errno));
		status = EXIT_CAPTURE;
	}
	if (pl.progress)
		show_progress(&pl, 1);
	if (cli->verbose)
		print_stats(&pl);
	if (status == 0 && cli->fail_on >= 0 && out_max_severity(out) >= cli->fail_on)
		status = EXIT_FAIL_ON;
	cap_reader_free(pl.cap);
	ip_decoder_free(pl.ip);
	tcp_reasm_free(pl.tcp);
	sess_engine_free(pl.eng);
	out_free(out);
	return status;
}

/* Transaction records are machine records: one selection at a time,
 * in a machine format.  Returns 0, or -1 after saying why. */
static int check_selection(const struct cli *cli)
{
	if (!cli->oo.transactions)
		return 0;
	if (cli->oo.summary || cli->oo.violations_only) {
		fprintf(stderr, "imaptrace: --transactions cannot be combined with "
			"--summary or --violations-only\n");
		return -1;
	}
	if (cli->format_set &&
	    (cli->oo.format == OUT_TEXT || cli->oo.format == OUT_HTML)) {
		fprintf(stderr, "imaptrace: --transactions is written in the ndjson, "
			"json and ecs formats only\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli;
	FILE *out_fp = stdout;
	int status;

	memset(&cli, 0, sizeof(cli));
	sess_config_default(&cli.cfg);
	/* Keys come from --keylog and from pcapng Decryption Secrets Blocks;
	 * while the store is empty TLS is only counted. */
	cli.keys = tls_keys_new();
	if (cli.keys == NULL) {
		fprintf(stderr, "imaptrace: out of memory\n");
		return EXIT_CAPTURE;
	}
	cli.cfg.keys = cli.keys;
	cli.fail_on = -1;
	cli.color = -1;
	cli.threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
	if (parse_args(argc, argv, &cli) != 0 || check_selection(&cli) != 0) {
		fprintf(stderr, "Try 'imaptrace --help'.\n");
		tls_keys_free(cli.keys);
		return EXIT_USAGE;
	}
	if (cli.out_path != NULL && strcmp(cli.out_path, "-") != 0) {
		out_fp = fopen(cli.out_path, "w");
		if (out_fp == NULL) {
			fprintf(stderr, "imaptrace: %s: %s\n", cli.out_path, strerror(errno));
			tls_keys_free(cli.keys);
			return EXIT_USAGE;
		}
	}
	if (!cli.format_set)
		cli.oo.format = isatty(fileno(out_fp)) && !cli.oo.transactions ?
				OUT_TEXT : OUT_NDJSON;
	/* Colour only where a person reads it: a terminal (NO_COLOR, set and
	 * not empty, turns the automatic choice off; --color=always wins). */
	if (cli.color < 0)
		cli.color = isatty(fileno(out_fp)) &&
			    (getenv("NO_COLOR") == NULL || *getenv("NO_COLOR") == '\0');
	cli.oo.color = cli.oo.format == OUT_TEXT && cli.color;
	setvbuf(out_fp, NULL, _IOFBF, 1 << 20);
	status = run(&cli, argv + optind, argc - optind, out_fp);
	tls_keys_free(cli.keys);
	if (out_fp != stdout && fclose(out_fp) != 0) {
		fprintf(stderr, "imaptrace: %s: %s\n", cli.out_path, strerror(errno));
		status = EXIT_CAPTURE;
	}
	return status;
}
