/*
 * tcp_perf.c - speed and memory of the TCP reassembly stage on synthetic
 * traffic built in memory.  Not part of `make check`.
 *
 *   cc -std=c11 -O2 -D_DEFAULT_SOURCE -Iinclude tests/perf/tcp_perf.c \
 *      analyzer/tcp*.c analyzer/ip.c analyzer/hash.c analyzer/mem.c \
 *      analyzer/findings.c analyzer/imt_limits.c -o tcp_perf
 *   ./tcp_perf sessions N     N short IMAP sessions (handshake, 6 data
 *                             segments, FIN both ways), 50 open at a time,
 *                             packets interleaved
 *   ./tcp_perf onebyte N      one flow, N one-byte segments in order
 *   ./tcp_perf reversed N     one flow, N 10-byte segments in reverse order
 *                             (hold caps raised so that all are held)
 *   ./tcp_perf random N       the same in a random order
 *
 * Prints the elapsed time, segments per second, the bytes delivered and
 * the peak resident set size (getrusage ru_maxrss).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tcp.h"

struct counts {
	uint64_t opened, closed, bytes, gaps, findings;
};

static struct counts C;

static void *p_open(void *user, const struct tcp_flow_info *info)
{
	(void)user, (void)info;
	C.opened++;
	return &C;
}

static int p_data(void *flow, enum imt_dir dir, const uint8_t *data,
		  size_t len, uint64_t offset, const struct tcp_meta *m)
{
	(void)flow, (void)dir, (void)data, (void)offset, (void)m;
	C.bytes += len;
	return 0;
}

static void p_gap(void *flow, enum imt_dir dir, uint64_t offset,
		  uint64_t bytes, const struct tcp_meta *m)
{
	(void)flow, (void)dir, (void)offset, (void)m;
	C.gaps += bytes;
}

static void p_finding(void *flow, const struct imt_finding_report *f,
		      const struct tcp_meta *m)
{
	(void)flow, (void)f, (void)m;
	C.findings++;
}

static void p_close(void *flow, const struct tcp_close_info *ci)
{
	(void)flow, (void)ci;
	C.closed++;
}

static void p_global(void *user, const struct imt_finding_report *f,
		     const struct tcp_meta *m)
{
	(void)user, (void)f, (void)m;
	C.findings++;
}

static const struct tcp_callbacks cbs = {
	.on_open = p_open, .on_data = p_data, .on_gap = p_gap, .on_finding = p_finding,
	.on_close = p_close, .on_global_finding = p_global,
};

static uint64_t frame;

static void seg(struct tcp_reasm *t, uint32_t caddr, uint16_t cport, int s2c,
		uint32_t seq, uint32_t ack, uint8_t flags, const void *data,
		uint32_t len)
{
	struct ip_segment g;
	struct ip_endpoint c, s;

	memset(&g, 0, sizeof(g));
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	c.family = s.family = 4;
	memcpy(c.addr, &caddr, 4);
	s.addr[0] = 192;
	s.addr[3] = 1;
	c.port = cport;
	s.port = 143;
	g.frame = ++frame;
	g.ts_sec = 1700000000 + (int64_t)(frame / 1000);
	g.src = s2c ? s : c;
	g.dst = s2c ? c : s;
	g.seq = seq;
	g.ack = ack;
	g.flags = flags;
	g.payload = data;
	g.payload_len = len;
	tcp_reasm_feed(t, &g);
}

/* One step of session i: 13 packets, interleaved across sessions. */
static void session_step(struct tcp_reasm *t, uint32_t i, int step)
{
	static const char *const lines[] = {
		"* OK ready\r\n", "a1 LOGIN u p\r\n", "a1 OK\r\n",
		"a2 LOGOUT\r\n", "* BYE\r\n", "a2 OK\r\n",
	};
	static const int from_server[] = { 1, 0, 1, 0, 1, 1 };
	uint32_t caddr = 0x0a000000u + i / 60000 + 1;
	uint16_t cport = (uint16_t)(1024 + i % 60000);
	uint32_t cisn = i * 2654435761u, sisn = ~cisn;
	/* Sequence numbers after each step, precomputed from the lines. */
	uint32_t cs = cisn + 1, ss = sisn + 1;
	int k;

	for (k = 0; k < step - 3 && k < 6; k++) {
		if (from_server[k])
			ss += (uint32_t)strlen(lines[k]);
		else
			cs += (uint32_t)strlen(lines[k]);
	}
	switch (step) {
	case 0:
		seg(t, caddr, cport, 0, cisn, 0, TCPF_SYN, NULL, 0);
		break;
	case 1:
		seg(t, caddr, cport, 1, sisn, cs, TCPF_SYN | TCPF_ACK, NULL, 0);
		break;
	case 2:
		seg(t, caddr, cport, 0, cs, ss, TCPF_ACK, NULL, 0);
		break;
	case 3: case 4: case 5: case 6: case 7: case 8:
		k = step - 3;
		seg(t, caddr, cport, from_server[k], from_server[k] ? ss : cs,
		    from_server[k] ? cs : ss, TCPF_ACK | TCPF_PSH, lines[k],
		    (uint32_t)strlen(lines[k]));
		break;
	case 9:
		seg(t, caddr, cport, 1, ss, cs, TCPF_FIN | TCPF_ACK, NULL, 0);
		break;
	case 10:
		seg(t, caddr, cport, 0, cs, ss + 1, TCPF_FIN | TCPF_ACK, NULL, 0);
		break;
	case 11:
		seg(t, caddr, cport, 1, ss + 1, cs + 1, TCPF_ACK, NULL, 0);
		break;
	default:
		break;
	}
}

static void run_sessions(struct tcp_reasm *t, uint32_t n)
{
	/* Batches of 50 sessions in lockstep: 50 open at once, their
	 * packets interleaved. */
	enum { OPEN = 50, STEPS = 12 };

	for (uint32_t base = 0; base < n; base += OPEN)
		for (int step = 0; step < STEPS; step++)
			for (uint32_t i = base; i < base + OPEN && i < n; i++)
				session_step(t, i, step);
}

static void run_stream(struct tcp_reasm *t, uint32_t n, uint32_t seglen,
		       int order)
{
	uint32_t *idx = malloc((size_t)n * sizeof(*idx));
	uint8_t *data = malloc((size_t)n * seglen);
	uint32_t isn = 0xFFFF0000u, rnd = 12345;

	if (idx == NULL || data == NULL) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < (size_t)n * seglen; i++)
		data[i] = (uint8_t)i;
	for (uint32_t i = 0; i < n; i++)
		idx[i] = order == 1 ? n - 1 - i : i;
	if (order == 2) {
		for (uint32_t i = n - 1; i > 0; i--) {
			uint32_t j, tmp;

			rnd = rnd * 1103515245u + 12345u;
			j = (rnd >> 8) % (i + 1);
			tmp = idx[i];
			idx[i] = idx[j];
			idx[j] = tmp;
		}
	}
	seg(t, 0x0a000001u, 40000, 0, isn - 1, 0, TCPF_SYN, NULL, 0);
	seg(t, 0x0a000001u, 40000, 1, 777, isn, TCPF_SYN | TCPF_ACK, NULL, 0);
	seg(t, 0x0a000001u, 40000, 0, isn, 778, TCPF_ACK, NULL, 0);
	for (uint32_t i = 0; i < n; i++)
		seg(t, 0x0a000001u, 40000, 0, isn + idx[i] * seglen, 778,
		    TCPF_PSH, data + (size_t)idx[i] * seglen, seglen);
	tcp_reasm_finish(t);
	free(idx);
	free(data);
}

int main(int argc, char **argv)
{
	struct imt_limits lim;
	struct tcp_config cfg = { NULL, 0 };
	static const uint16_t port = 143;
	struct tcp_reasm *t;
	struct timespec a, b;
	struct rusage ru;
	struct tcp_stats st;
	uint32_t n;
	double secs;

	if (argc != 3) {
		fprintf(stderr, "usage: %s sessions|onebyte|reversed|random N\n",
			argv[0]);
		return 2;
	}
	n = (uint32_t)strtoul(argv[2], NULL, 10);
	imt_limits_default(&lim);
	if (strcmp(argv[1], "reversed") == 0 || strcmp(argv[1], "random") == 0)
		lim.max_flow_buffer = lim.max_total_buffer = 1u << 30;
	cfg.ports = &port;
	cfg.nports = 1;
	t = tcp_reasm_new(&lim, &cfg, &cbs, NULL);
	if (t == NULL)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (strcmp(argv[1], "sessions") == 0) {
		run_sessions(t, n);
		tcp_reasm_finish(t);
	} else if (strcmp(argv[1], "onebyte") == 0) {
		run_stream(t, n, 1, 0);
	} else if (strcmp(argv[1], "reversed") == 0) {
		run_stream(t, n, 10, 1);
	} else if (strcmp(argv[1], "random") == 0) {
		run_stream(t, n, 10, 2);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	tcp_reasm_stats(t, &st);
	tcp_reasm_free(t);
	getrusage(RUSAGE_SELF, &ru);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%s %u: %.3f s, %.0f segments/s, %llu packets, flows %llu opened "
	       "%llu closed, %llu bytes delivered, %llu gap bytes, "
	       "held peak %llu, %llu findings, peak RSS %ld KiB\n",
	       argv[1], n, secs, (double)frame / secs,
	       (unsigned long long)frame, (unsigned long long)C.opened,
	       (unsigned long long)C.closed, (unsigned long long)C.bytes,
	       (unsigned long long)C.gaps,
	       (unsigned long long)st.held_bytes_peak,
	       (unsigned long long)C.findings, ru.ru_maxrss);
	return 0;
}
