/*
 * fuzz_pipeline.c - libFuzzer harness for the whole pipeline: the input is
 * the image of a capture file (pcap or pcapng, not gzip), read from memory
 * through cap_read_stream() and pushed through ip -> tcp -> session engine
 * -> output, the way main.c wires them.  The last byte of the input picks
 * the output format (bits 0-1) and, with bit 2 set, tiny limits so that
 * every cap is reachable with a small input.  Output goes to /dev/null.
 *
 * Seeds: tests/fuzz/seeds/fuzz_pipeline/ and, copied by tests/fuzz/run.sh,
 * samples/ and tests/captures/ (pcap and pcapng).  Crashing inputs go to
 * tests/fuzz/regressions/pipeline-*.pcap, replayed through ./imaptrace by
 * tests/e2e/30-hostile.sh (which also takes the whole input as capture:
 * the format/limit byte is the only thing it does not reproduce).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "ip.h"
#include "output.h"
#include "session.h"
#include "tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_pipe {
	struct ip_decoder *ip;
	struct tcp_reasm *tcp;
	struct sess_engine *eng;
};

static void fz_on_segment(void *user, const struct ip_segment *seg)
{
	struct fz_pipe *pl = user;

	tcp_reasm_feed(pl->tcp, seg);
}

static void fz_on_ip_finding(void *user, const struct imt_finding_report *f)
{
	struct fz_pipe *pl = user;

	sess_engine_global_finding(pl->eng, f, 0, 0, 0);
}

static int fz_on_packet(void *user, const struct cap_packet *pkt)
{
	struct fz_pipe *pl = user;

	/* An unsupported link type stops the file, as in main.c. */
	return ip_decoder_feed(pl->ip, pkt) == CAP_ERR_LINKTYPE;
}

static void fz_small_limits(struct imt_limits *l)
{
	l->max_flows = 4;
	l->max_flow_buffer = 512;
	l->max_total_buffer = 1024;
	l->idle_timeout = 5;
	l->max_line = 64;
	l->oversized_arg = 128;
	l->max_depth = 3;
	l->max_tokens = 8;
	l->max_literal = 100;
	l->max_tag = 8;
	l->literal_preview = 4;
	l->max_frag_datagrams = 2;
	l->max_frag_bytes = 256;
	l->frag_timeout = 2;
	l->max_pending = 3;
	l->max_args_text = 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	static const enum out_format formats[4] = {
		OUT_NDJSON, OUT_JSON, OUT_TEXT, OUT_NDJSON
	};
	struct sess_config cfg;
	struct out_options oo;
	struct fz_pipe pl;
	struct ip_callbacks ipcb = { fz_on_segment, fz_on_ip_finding };
	struct cap_callbacks ccb = { .on_packet = fz_on_packet };
	struct tcp_callbacks tcb;
	struct tcp_config tcfg;
	struct cap_reader *cap;
	struct output *out;
	enum cap_error err;
	uint8_t sel = size > 0 ? data[size - 1] : 0;
	FILE *in;

	if (size == 0)
		return 0;
	if (sink == NULL && (sink = fopen("/dev/null", "w")) == NULL)
		return 0;
	in = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (in == NULL)
		return 0;
	sess_config_default(&cfg);
	if (sel & 4)
		fz_small_limits(&cfg.lim);
	memset(&oo, 0, sizeof(oo));
	oo.format = formats[sel & 3];
	oo.violations_only = (sel & 0x18) == 0x08;
	oo.summary = (sel & 0x18) == 0x10;
	memset(&pl, 0, sizeof(pl));
	out = out_new(sink, &oo);
	pl.eng = sess_engine_new(&cfg, out);
	sess_engine_tcp_callbacks(&tcb);
	tcfg.ports = cfg.ports;
	tcfg.nports = cfg.nports;
	pl.tcp = tcp_reasm_new(&cfg.lim, &tcfg, &tcb, pl.eng);
	pl.ip = ip_decoder_new(&cfg.lim, &ipcb, &pl);
	cap = cap_reader_new(NULL, &ccb, &pl);
	if (out == NULL || pl.eng == NULL || pl.tcp == NULL || pl.ip == NULL ||
	    cap == NULL)
		__builtin_trap();
	err = cap_read_stream(cap, in, "fuzz.pcap");
	out_capture(out, "fuzz.pcap", err == CAP_OK ? NULL : cap_reader_errmsg(cap));
	tcp_reasm_finish(pl.tcp);
	sess_engine_totals(pl.eng);
	(void)out_finish(out);
	cap_reader_free(cap);
	ip_decoder_free(pl.ip);
	tcp_reasm_free(pl.tcp);
	sess_engine_free(pl.eng);
	out_free(out);
	fclose(in);
	return 0;
}
