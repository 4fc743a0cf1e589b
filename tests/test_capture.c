/*
 * test_capture.c - the capture reader on crafted and real captures.
 *
 * Crafted captures come from tests/crafted/make_captures.py.  The public
 * captures in /work/shared/pcaps/public cannot ship with the project, so
 * their tests are skipped when the files are absent.
 */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "cap_files.h"
#include "capture.h"

#define CAPS "tests/captures/"
#define PUB "/work/shared/pcaps/public/"
#define MAXPKT 256

struct got {
	uint64_t frame;
	int64_t sec;
	uint32_t nsec;
	int nano;
	int linktype;
	uint32_t caplen;
	uint32_t len;
	uint8_t data[128];       /* first bytes of the packet */
	char file[128];
};

struct coll {
	struct got p[MAXPKT];
	size_t n;
	size_t stop_after;       /* 0 = never stop */
};

static int on_packet(void *user, const struct cap_packet *pkt)
{
	struct coll *c = user;

	ck_assert(pkt->caplen <= pkt->len || pkt->len == 0);
	if (c->n < MAXPKT) {
		struct got *g = &c->p[c->n];

		g->frame = pkt->frame;
		g->sec = pkt->ts_sec;
		g->nsec = pkt->ts_nsec;
		g->nano = pkt->ts_nano;
		g->linktype = pkt->linktype;
		g->caplen = pkt->caplen;
		g->len = pkt->len;
		memcpy(g->data, pkt->data,
		       pkt->caplen < sizeof(g->data) ? pkt->caplen : sizeof(g->data));
		snprintf(g->file, sizeof(g->file), "%s", pkt->file);
	}
	c->n++;
	return c->stop_after != 0 && c->n >= c->stop_after;
}

static const struct cap_callbacks cbs = { .on_packet = on_packet };

/* Reads `path` into a fresh collector; returns the reader's result. */
static enum cap_error read_one(const char *filter, const char *path,
			       struct coll *c, char *msg, size_t msgsize,
			       struct cap_stats *st)
{
	struct cap_reader *r = cap_reader_new(filter, &cbs, c);
	enum cap_error err;

	ck_assert_ptr_nonnull(r);
	err = cap_read_file(r, path);
	if (msg != NULL)
		snprintf(msg, msgsize, "%s", cap_reader_errmsg(r));
	if (st != NULL)
		cap_reader_stats(r, st);
	cap_reader_free(r);
	return err;
}

static int exists(const char *path)
{
	return access(path, R_OK) == 0;
}

static size_t slurp(const char *path, uint8_t *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

START_TEST(error_table)
{
	ck_assert_str_eq(cap_error_name(CAP_OK), "ok");
	ck_assert_str_eq(cap_error_name(CAP_ERR_CORRUPT), "corrupt");
	ck_assert_str_eq(cap_error_name(CAP_ERR_LINKTYPE), "linktype");
	ck_assert_str_eq(cap_error_name(CAP_ERR_STOPPED), "stopped");
	ck_assert_str_eq(cap_error_desc(CAP_ERR_FILTER),
			 "the BPF filter expression does not compile");
	ck_assert_str_eq(cap_error_name(CAP_ERR__COUNT), "unknown");
}
END_TEST

START_TEST(pcap_ethernet)
{
	static struct coll c;
	struct cap_stats st;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "eth.pcap", &c, msg, sizeof(msg),
				  &st), CAP_OK);
	ck_assert_str_eq(msg, "");
	ck_assert_uint_eq(c.n, 4);
	ck_assert_uint_eq(c.p[0].frame, 1);
	ck_assert_int_eq(c.p[0].sec, 1700000000);
	ck_assert_uint_eq(c.p[0].nsec, 1001000);
	ck_assert_int_eq(c.p[0].nano, 0);
	ck_assert_int_eq(c.p[0].linktype, CAP_LINK_EN10MB);
	ck_assert_uint_eq(c.p[0].caplen, 111);
	ck_assert_uint_eq(c.p[0].len, 111);
	ck_assert_str_eq(c.p[0].file, CAPS "eth.pcap");
	/* Destination MAC, then the IMAP greeting at offset 54. */
	ck_assert_mem_eq(c.p[0].data, "\x02\0\0\0\0\x01", 6);
	ck_assert_mem_eq(c.p[0].data + 54, "* OK [CAPABILITY", 16);
	ck_assert_uint_eq(c.p[3].frame, 4);
	ck_assert_int_eq(c.p[3].sec, 1700000003);
	ck_assert_uint_eq(c.p[3].nsec, 4004000);
	ck_assert_uint_eq(c.p[3].caplen, 60);
	ck_assert_uint_eq(st.frames, 4);
	ck_assert_uint_eq(st.frames_passed, 4);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.bytes, 111 + 42 + 44 + 60);
}
END_TEST

START_TEST(pcap_big_endian)
{
	static struct coll c, ref;

	ck_assert_int_eq(read_one(NULL, CAPS "eth_be.pcap", &c, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_int_eq(read_one(NULL, CAPS "eth.pcap", &ref, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.p[0].sec, 1700000000);
	ck_assert_uint_eq(c.p[0].nsec, 1001000);
	ck_assert_uint_eq(c.p[0].caplen, 111);
	ck_assert_mem_eq(c.p[0].data, ref.p[0].data, sizeof(c.p[0].data));
}
END_TEST

START_TEST(pcap_nanosecond)
{
	static struct coll c;

	ck_assert_int_eq(read_one(NULL, CAPS "nano.pcap", &c, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(c.p[0].nano, 1);
	ck_assert_int_eq(c.p[0].sec, 1700000000);
	ck_assert_uint_eq(c.p[0].nsec, 1001001);
	ck_assert_uint_eq(c.p[1].nsec, 2002002);
	ck_assert_int_eq(c.p[2].sec, 1700000002);
	ck_assert_uint_eq(c.p[2].nsec, 3003003);
}
END_TEST

START_TEST(pcap_gzip)
{
	static struct coll c, ref;
	size_t i;

	ck_assert_int_eq(read_one(NULL, CAPS "eth.pcap.gz", &c, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_int_eq(read_one(NULL, CAPS "eth.pcap", &ref, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_uint_eq(c.n, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(c.p[i].frame, ref.p[i].frame);
		ck_assert_int_eq(c.p[i].sec, ref.p[i].sec);
		ck_assert_uint_eq(c.p[i].nsec, ref.p[i].nsec);
		ck_assert_uint_eq(c.p[i].caplen, ref.p[i].caplen);
		ck_assert_mem_eq(c.p[i].data, ref.p[i].data, sizeof(c.p[i].data));
	}
}
END_TEST

/* zstd and lz4 (frame format), told by their magic: the same packets. */
static const char *const compressed_eth[] = {
	CAPS "compressed/eth.pcap.gz",
	CAPS "compressed/eth.pcap.zst",
	CAPS "compressed/eth.pcap.lz4",
};

/* Reads path as standard input (a pipe-like source: nothing seeks). */
static enum cap_error read_stdin(const char *path, struct coll *c,
				 char *msg, size_t msg_len)
{
	int saved = dup(STDIN_FILENO);
	int fd = open(path, O_RDONLY);
	enum cap_error err;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	dup2(fd, STDIN_FILENO);
	close(fd);
	err = read_one(NULL, "-", c, msg, msg_len, NULL);
	dup2(saved, STDIN_FILENO);
	close(saved);
	return err;
}

START_TEST(compressed_formats)
{
	static struct coll c, in, ref;
	const char *path = compressed_eth[_i];
	size_t i;

	ck_assert_int_eq(read_one(NULL, CAPS "eth.pcap", &ref, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_int_eq(read_one(NULL, path, &c, NULL, 0, NULL), CAP_OK);
	ck_assert_int_eq(read_stdin(path, &in, NULL, 0), CAP_OK);
	ck_assert_uint_eq(c.n, ref.n);
	ck_assert_uint_eq(in.n, ref.n);
	for (i = 0; i < ref.n; i++) {
		ck_assert_uint_eq(c.p[i].frame, ref.p[i].frame);
		ck_assert_int_eq(c.p[i].sec, ref.p[i].sec);
		ck_assert_uint_eq(c.p[i].nsec, ref.p[i].nsec);
		ck_assert_uint_eq(c.p[i].caplen, ref.p[i].caplen);
		ck_assert_mem_eq(c.p[i].data, ref.p[i].data, sizeof(c.p[i].data));
		ck_assert_mem_eq(in.p[i].data, ref.p[i].data, sizeof(in.p[i].data));
	}
	ck_assert_str_eq(in.p[0].file, "<stdin>");
}
END_TEST

/*
 * Cut in the middle of a packet, or garbage over a compressed block:
 * corrupt, naming the file, the frame and the decompressor's reason,
 * after every packet before it, from a file and from standard input.
 */
static const struct {
	const char *file;
	size_t packets;          /* read before the error */
	const char *reason;
} compressed_bad[] = {
	{ "cut-session.pcap.gz", 26, "(gzip: unexpected end of file)" },
	{ "cut-session.pcapng.zst", 28, "(zstd: unexpected end of file)" },
	{ "cut-session.pcap.lz4", 25, "(lz4: unexpected end of file)" },
	{ "bad-session.pcapng.zst", 28, "(zstd: Data corruption detected)" },
	{ "bad-session.pcap.lz4", 25, "(lz4: ERROR_decompressionFailed)" },
};

START_TEST(compressed_cut_or_corrupt)
{
	static struct coll c;
	char path[256], msg[512], want[64];

	snprintf(path, sizeof(path), CAPS "compressed/%s", compressed_bad[_i].file);
	snprintf(want, sizeof(want), ": frame %zu: ", compressed_bad[_i].packets + 1);
	for (int from_stdin = 0; from_stdin < 2; from_stdin++) {
		memset(&c, 0, sizeof(c));
		ck_assert_int_eq(from_stdin ? read_stdin(path, &c, msg, sizeof(msg)) :
				 read_one(NULL, path, &c, msg, sizeof(msg), NULL),
				 CAP_ERR_CORRUPT);
		ck_assert_uint_eq(c.n, compressed_bad[_i].packets);
		ck_assert_ptr_nonnull(strstr(msg, from_stdin ? "<stdin>" : path));
		ck_assert_ptr_nonnull(strstr(msg, want));
		ck_assert_ptr_nonnull(strstr(msg, compressed_bad[_i].reason));
	}
}
END_TEST

/* Compressed data that ends before its first byte is no "empty file". */
START_TEST(compressed_cut_before_any_byte)
{
	static uint8_t buf[4096];
	static struct coll c;
	size_t n = slurp(CAPS "compressed/eth.pcap.zst", buf, sizeof(buf));
	const char *p = tmpfile_with(buf, n / 2);
	char msg[512], want[600];

	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_CORRUPT);
	unlink(p);
	ck_assert_uint_eq(c.n, 0);
	snprintf(want, sizeof(want), "%s: frame 1: zstd: unexpected end of file", p);
	ck_assert_str_eq(msg, want);
}
END_TEST

/*
 * A decompression bomb: 256 MiB of zeros in a few KiB of zstd, after
 * bytes that are no capture.  The reader stops at once, and the thread
 * with it, having inflated no more than its ring: memory stays bounded.
 */
START_TEST(compressed_bomb_is_bounded)
{
	static uint8_t zeros[1 << 20], out[1 << 16];
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	struct rusage ru0, ru1;
	const char *p;
	FILE *fp;
	char path[64], msg[512];
	static struct coll c;
	struct timespec t0, t1;

	ck_assert_ptr_nonnull(cc);
	snprintf(path, sizeof(path), "/tmp/imt-bomb-XXXXXX");
	ck_assert_int_ge(mkstemp(path), 0);
	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	memcpy(zeros, "not a capture", 13);
	for (int i = 0; i < 256; i++) {
		ZSTD_inBuffer ib = { zeros, sizeof(zeros), 0 };

		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { out, sizeof(out), 0 };

			ck_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib,
								     ZSTD_e_continue)));
			fwrite(out, 1, ob.pos, fp);
		}
		memset(zeros, 0, 13);
	}
	for (size_t left = 1; left != 0;) {
		ZSTD_inBuffer ib = { NULL, 0, 0 };
		ZSTD_outBuffer ob = { out, sizeof(out), 0 };

		left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
		ck_assert(!ZSTD_isError(left));
		fwrite(out, 1, ob.pos, fp);
	}
	ZSTD_freeCCtx(cc);
	ck_assert_int_lt(ftell(fp), 1 << 20);
	fclose(fp);
	p = path;
	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_FORMAT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru1);
	unlink(p);
	ck_assert_ptr_nonnull(strstr(msg, "unknown magic"));
	/* The ring (4 MiB) and a zstd window, not 256 MiB. */
	ck_assert_int_lt(ru1.ru_maxrss - ru0.ru_maxrss, 32 * 1024);
	/* Stopped, not inflated to the end (which takes far longer). */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
}
END_TEST

/* A zstd frame that asks for a window beyond CAP_DEC_ZSTD_WLOG (2^27)
 * is refused, not allocated: exit 3 naming the reason. */
START_TEST(compressed_window_too_large)
{
	static uint8_t in[4096], out[8192];
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_inBuffer ib = { in, sizeof(in), 0 };
	ZSTD_outBuffer ob = { out, sizeof(out), 0 };
	static struct coll c;
	char msg[512], want[600];
	const char *p;

	ck_assert_ptr_nonnull(cc);
	memcpy(in, "\xd4\xc3\xb2\xa1", 4);
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 28)));
	/* Streamed with no size given: the frame keeps its window. */
	ck_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
	ib.size = ib.pos;
	ck_assert_uint_eq(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end), 0);
	ZSTD_freeCCtx(cc);
	p = tmpfile_with(out, ob.pos);
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_CORRUPT);
	unlink(p);
	snprintf(want, sizeof(want), "%s: frame 1: zstd: Frame requires too much "
		 "memory for decoding", p);
	ck_assert_str_eq(msg, want);
}
END_TEST

/* "-" reads standard input, here a gzip file, so nothing can seek. */
START_TEST(pcap_stdin)
{
	static struct coll c;
	int saved = dup(STDIN_FILENO);
	int fd = open(CAPS "eth.pcap.gz", O_RDONLY);
	enum cap_error err;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	dup2(fd, STDIN_FILENO);
	close(fd);
	err = read_one(NULL, "-", &c, NULL, 0, NULL);
	dup2(saved, STDIN_FILENO);
	close(saved);
	ck_assert_int_eq(err, CAP_OK);
	ck_assert_uint_eq(c.n, 4);
	ck_assert_str_eq(c.p[0].file, "<stdin>");
	ck_assert_mem_eq(c.p[0].data + 54, "* OK [CAPABILITY", 16);
}
END_TEST

START_TEST(frames_continue_across_files)
{
	static struct coll c;
	struct cap_reader *r = cap_reader_new(NULL, &cbs, &c);
	struct cap_stats st;

	ck_assert_int_eq(cap_read_file(r, CAPS "eth.pcap"), CAP_OK);
	ck_assert_int_eq(cap_read_file(r, CAPS "nano.pcap"), CAP_OK);
	ck_assert_int_eq(cap_read_file(r, CAPS "mixed.pcapng"), CAP_OK);
	cap_reader_stats(r, &st);
	cap_reader_free(r);
	ck_assert_uint_eq(c.n, 11);
	ck_assert_uint_eq(c.p[4].frame, 5);
	ck_assert_str_eq(c.p[4].file, CAPS "nano.pcap");
	ck_assert_int_eq(c.p[4].nano, 1);
	ck_assert_uint_eq(c.p[7].frame, 8);
	ck_assert_str_eq(c.p[7].file, CAPS "mixed.pcapng");
	ck_assert_uint_eq(st.files, 3);
	ck_assert_uint_eq(st.frames, 11);
}
END_TEST

static const struct {
	const char *file;
	int linktype;
	size_t packets;
} link_cases[] = {
	{ CAPS "vlan.pcap", CAP_LINK_EN10MB, 1 },
	{ CAPS "qinq.pcap", CAP_LINK_EN10MB, 1 },
	{ CAPS "sll.pcap", CAP_LINK_LINUX_SLL, 1 },
	{ CAPS "sll2.pcap", CAP_LINK_LINUX_SLL2, 1 },
	/* LINKTYPE_RAW in the file, DLT_RAW (12) from libpcap. */
	{ CAPS "raw4.pcap", CAP_LINK_RAW, 1 },
	{ CAPS "raw6.pcap", CAP_LINK_RAW, 1 },
	{ CAPS "ipv4_dlt.pcap", CAP_LINK_IPV4, 1 },
	{ CAPS "ipv6_dlt.pcap", CAP_LINK_IPV6, 1 },
	{ CAPS "null.pcap", CAP_LINK_NULL, 2 },
	{ CAPS "loop.pcap", CAP_LINK_LOOP, 2 },
};

START_TEST(link_types)
{
	static struct coll c;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(read_one(NULL, link_cases[_i].file, &c, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_uint_eq(c.n, link_cases[_i].packets);
	ck_assert_int_eq(c.p[0].linktype, link_cases[_i].linktype);
}
END_TEST

START_TEST(unsupported_link_type)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "user0.pcap", &c, msg, sizeof(msg),
				  NULL), CAP_ERR_LINKTYPE);
	ck_assert_uint_eq(c.n, 0);
	/* libpcap 1.10 has no name for USER0. */
	ck_assert_str_eq(msg, CAPS "user0.pcap: unsupported link-layer type 147");
}
END_TEST

START_TEST(unsupported_link_type_named)
{
	static struct coll c;
	uint8_t buf[1024];
	size_t n = slurp(CAPS "user0.pcap", buf, sizeof(buf));
	char msg[512], want[600];
	const char *p;

	buf[20] = 105;          /* DLT_IEEE802_11 */
	p = tmpfile_with(buf, n);
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_LINKTYPE);
	unlink(p);
	ck_assert_uint_eq(c.n, 0);
	snprintf(want, sizeof(want),
		 "%s: unsupported link-layer type IEEE802_11 (105)", p);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(truncated_record)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "truncated.pcap", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_CORRUPT);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.p[1].frame, 2);
	ck_assert_str_eq(msg, CAPS "truncated.pcap: frame 3: truncated dump "
			 "file; tried to read 79 captured bytes, only got 59");
}
END_TEST

START_TEST(truncated_record_header)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "truncated_hdr.pcap", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_CORRUPT);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_ptr_nonnull(strstr(msg, "truncated_hdr.pcap: frame 3: "));
}
END_TEST

START_TEST(garbage_header)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "garbage.pcap", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_FORMAT);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_str_eq(msg, CAPS "garbage.pcap: not a pcap or pcapng "
			 "capture (unknown magic)");
}
END_TEST

START_TEST(empty_and_short_files)
{
	static struct coll c;
	static const uint8_t hdr[] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 };
	char msg[512], want[600];
	const char *p;

	p = tmpfile_with("", 0);
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_FORMAT);
	ck_assert_ptr_nonnull(strstr(msg, "empty file"));
	unlink(p);
	p = tmpfile_with(hdr, sizeof(hdr));
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_CORRUPT);
	snprintf(want, sizeof(want), "%s: frame 1: truncated pcap file header",
		 p);
	ck_assert_str_eq(msg, want);
	unlink(p);
}
END_TEST

START_TEST(missing_file)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "no-such-file.pcap", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_OPEN);
	ck_assert_str_eq(msg, CAPS "no-such-file.pcap: No such file or directory");
}
END_TEST

START_TEST(filter_selects)
{
	static struct coll c;
	struct cap_stats st;

	ck_assert_int_eq(read_one("tcp", CAPS "eth.pcap", &c, NULL, 0, &st),
			 CAP_OK);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.p[0].frame, 1);
	ck_assert_uint_eq(c.p[1].frame, 4);
	ck_assert_uint_eq(st.frames, 4);
	ck_assert_uint_eq(st.frames_passed, 2);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(read_one("udp port 53", CAPS "eth.pcap", &c, NULL, 0,
				  NULL), CAP_OK);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.p[0].frame, 3);
	/* Raw IP files compile for DLT_RAW. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(read_one("dst port 143", CAPS "raw4.pcap", &c, NULL, 0,
				  NULL), CAP_OK);
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

START_TEST(filter_per_interface)
{
	static struct coll c;

	/* Both link types of the pcapng get their own program. */
	ck_assert_int_eq(read_one("src host 192.0.2.10", CAPS "mixed.pcapng",
				  &c, NULL, 0, NULL), CAP_OK);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.p[0].frame, 2);
	ck_assert_int_eq(c.p[0].linktype, CAP_LINK_RAW);
	ck_assert_uint_eq(c.p[1].frame, 3);
	ck_assert_int_eq(c.p[1].linktype, CAP_LINK_EN10MB);
	ck_assert_uint_eq(c.p[2].frame, 4);
}
END_TEST

START_TEST(filter_error)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one("tcp and and", CAPS "eth.pcap", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_FILTER);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_ptr_nonnull(strstr(msg, CAPS "eth.pcap: filter \"tcp and and\": "));
	ck_assert_ptr_nonnull(strstr(msg, "syntax error"));
	ck_assert_int_eq(read_one("tcp and and", CAPS "mixed.pcapng", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_FILTER);
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

START_TEST(pcapng_mixed_link_types)
{
	static struct coll c;
	struct cap_stats st;

	ck_assert_int_eq(read_one(NULL, CAPS "mixed.pcapng", &c, NULL, 0, &st),
			 CAP_OK);
	ck_assert_uint_eq(c.n, 4);
	/* EPB on the Ethernet interface, default microseconds. */
	ck_assert_uint_eq(c.p[0].frame, 1);
	ck_assert_int_eq(c.p[0].linktype, CAP_LINK_EN10MB);
	ck_assert_int_eq(c.p[0].sec, 1700000000);
	ck_assert_uint_eq(c.p[0].nsec, 123456000);
	ck_assert_int_eq(c.p[0].nano, 0);
	ck_assert_mem_eq(c.p[0].data + 54, "* OK", 4);
	/* EPB on the raw interface, if_tsresol 9. */
	ck_assert_int_eq(c.p[1].linktype, CAP_LINK_RAW);
	ck_assert_int_eq(c.p[1].sec, 1700000001);
	ck_assert_uint_eq(c.p[1].nsec, 987654321);
	ck_assert_int_eq(c.p[1].nano, 1);
	ck_assert_uint_eq(c.p[1].caplen, 65);
	ck_assert_mem_eq(c.p[1].data + 40, "a001 LOGIN", 10);
	/* SPB (interface 0, no time), after a skipped unknown block. */
	ck_assert_uint_eq(c.p[2].frame, 3);
	ck_assert_int_eq(c.p[2].linktype, CAP_LINK_EN10MB);
	ck_assert_int_eq(c.p[2].sec, 0);
	ck_assert_uint_eq(c.p[2].caplen, 79);
	ck_assert_uint_eq(c.p[2].len, 79);
	/* OPB on interface 1. */
	ck_assert_int_eq(c.p[3].linktype, CAP_LINK_RAW);
	ck_assert_int_eq(c.p[3].sec, 1700000001);
	ck_assert_uint_eq(c.p[3].nsec, 987655321);
	ck_assert_mem_eq(c.p[3].data + 40, "a002 FETCH", 10);
	ck_assert_uint_eq(st.frames, 4);
}
END_TEST

START_TEST(pcapng_big_endian_pow2)
{
	static struct coll c;

	ck_assert_int_eq(read_one(NULL, CAPS "be.pcapng", &c, NULL, 0, NULL),
			 CAP_OK);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.p[0].linktype, CAP_LINK_EN10MB);
	ck_assert_int_eq(c.p[0].sec, 1700000000);
	ck_assert_uint_eq(c.p[0].nsec, 500000000);
	ck_assert_int_eq(c.p[0].nano, 0);
	ck_assert_uint_eq(c.p[0].caplen, 111);
	ck_assert_mem_eq(c.p[0].data + 54, "* OK", 4);
}
END_TEST

START_TEST(pcapng_bad_block_length)
{
	static struct coll c;
	char msg[512];

	ck_assert_int_eq(read_one(NULL, CAPS "badlen.pcapng", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_CORRUPT);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(msg, CAPS "badlen.pcapng: frame 2: pcapng block "
			 "lengths in header and trailer differ");
}
END_TEST

START_TEST(pcapng_unsupported_interface)
{
	static struct coll c;
	uint8_t buf[1024];
	size_t n = slurp(CAPS "mixed.pcapng", buf, sizeof(buf));
	char msg[512];
	const char *p;

	/* The second IDB (offset 28 + 20) becomes USER0: the first packet
	 * still arrives, the second names interface 1. */
	ck_assert_uint_eq(buf[48], 1);
	ck_assert_uint_eq(buf[56], 101);
	buf[56] = 147;
	buf[57] = 0;
	p = tmpfile_with(buf, n);
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_LINKTYPE);
	unlink(p);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_ptr_nonnull(strstr(msg, ": frame 2: interface 1: unsupported "
				     "link-layer type 147"));
}
END_TEST

/* Every prefix of a pcapng and a pcap file: no crash, packets are a
 * prefix of the full list, and only a cut at a block end is clean. */
static void check_prefixes(const char *file, size_t full_count)
{
	static uint8_t buf[4096];
	size_t n = slurp(file, buf, sizeof(buf)), cut;

	for (cut = 0; cut <= n; cut++) {
		static struct coll c;
		const char *p = tmpfile_with(buf, cut);
		enum cap_error err;
		char msg[512];

		memset(&c, 0, sizeof(c));
		err = read_one(NULL, p, &c, msg, sizeof(msg), NULL);
		unlink(p);
		ck_assert_uint_le(c.n, full_count);
		if (cut == n)
			ck_assert_int_eq(err, CAP_OK);
		if (err != CAP_OK) {
			ck_assert(err == CAP_ERR_CORRUPT || err == CAP_ERR_FORMAT);
			ck_assert_ptr_nonnull(strstr(msg, p));
		}
	}
}

START_TEST(every_prefix)
{
	check_prefixes(CAPS "mixed.pcapng", 4);
	check_prefixes(CAPS "nano.pcap", 3);
	check_prefixes(CAPS "eth.pcap.gz", 4);
	check_prefixes(CAPS "compressed/eth.pcap.zst", 4);
	check_prefixes(CAPS "compressed/eth.pcap.lz4", 4);
}
END_TEST

/* A gzip file cut short fails as corrupt, naming zlib's reason. */
START_TEST(gzip_truncated)
{
	static uint8_t buf[4096];
	static struct coll c;
	size_t n = slurp(CAPS "eth.pcap.gz", buf, sizeof(buf));
	const char *p = tmpfile_with(buf, n - 10);
	char msg[512], want[600];

	/* Cut inside the deflate data: the last record loses 5 bytes. */
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_CORRUPT);
	unlink(p);
	ck_assert_uint_eq(c.n, 3);
	snprintf(want, sizeof(want), "%s: frame 4: truncated dump file; tried "
		 "to read 60 captured bytes, only got 55 (gzip: unexpected "
		 "end of file)", p);
	ck_assert_str_eq(msg, want);
	/* Only the 8-byte trailer missing: every packet, then an error. */
	memset(&c, 0, sizeof(c));
	p = tmpfile_with(buf, n - 8);
	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_CORRUPT);
	unlink(p);
	ck_assert_uint_eq(c.n, 4);
	snprintf(want, sizeof(want), "%s: frame 5: gzip: unexpected end of file",
		 p);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(gzip_garbage)
{
	static const uint8_t bad[] = "\x1f\x8b\x08\x00garbagegarbagegarbage";
	static struct coll c;
	const char *p = tmpfile_with(bad, sizeof(bad) - 1);
	char msg[512], want[600];

	ck_assert_int_eq(read_one(NULL, p, &c, msg, sizeof(msg), NULL),
			 CAP_ERR_CORRUPT);
	unlink(p);
	ck_assert_uint_eq(c.n, 0);
	snprintf(want, sizeof(want), "%s: frame 1: gzip: invalid code lengths set",
		 p);
	ck_assert_str_eq(msg, want);
}
END_TEST

/* One corrupted byte anywhere in a pcapng: never a crash. */
START_TEST(pcapng_byte_flips)
{
	static uint8_t buf[4096];
	size_t n = slurp(CAPS "mixed.pcapng", buf, sizeof(buf)), i;
	static const uint8_t vals[] = { 0x00, 0xff, 0x7f, 0x80 };
	size_t v;

	for (i = 0; i < n; i++) {
		for (v = 0; v < sizeof(vals); v++) {
			static struct coll c;
			uint8_t save = buf[i];
			const char *p;

			buf[i] = vals[v];
			p = tmpfile_with(buf, n);
			buf[i] = save;
			memset(&c, 0, sizeof(c));
			(void)read_one(NULL, p, &c, NULL, 0, NULL);
			unlink(p);
			ck_assert_uint_le(c.n, 4);
		}
	}
}
END_TEST

/* ---- mapped files and leases ------------------------------------ */

/* A reader's view of a mapped file: what came, and what it leased. */
struct seen {
	struct cap_reader *r;
	uint64_t frames;          /* packets delivered */
	size_t leasable;          /* of those, with a lessor */
	struct cap_lease *first;  /* the first packet, leased, or NULL */
	const uint8_t *first_data;
	size_t first_len;
	int intact;               /* every packet held the right bytes */
	uint64_t act_at;          /* frame at which act() runs */
	void (*act)(struct seen *s, const struct cap_packet *pkt);
	int lease_first;          /* take a lease on the first packet */
	char path[64];            /* the file it reads */
	void *arg;                /* for act() */
	pid_t writer;
	int fd[2];
};

static int seen_on_packet(void *user, const struct cap_packet *pkt)
{
	struct seen *s = user;

	s->frames = pkt->frame;
	s->leasable += pkt->lessor != NULL;
	if (pkt->lessor != NULL)
		ck_assert_ptr_eq(pkt->lessor, s->r);
	if (pkt->data[0] != image_byte(pkt->frame) ||
	    pkt->data[pkt->caplen - 1] != image_byte(pkt->frame))
		s->intact = 0;
	if (pkt->frame == 1 && s->lease_first) {
		s->first = cap_lease_take(pkt->lessor, pkt->data, pkt->caplen);
		ck_assert_ptr_nonnull(s->first);
		s->first_data = pkt->data;
		s->first_len = pkt->caplen;
	}
	if (s->act != NULL && pkt->frame == s->act_at)
		s->act(s, pkt);
	return 0;
}

/* Sets s up with a reader, callbacks cb, for a new pcap_image() file of
 * npkt packets of plen bytes, named in s->path. */
static void seen_file(struct seen *s, const struct cap_callbacks *cb,
		      size_t npkt, size_t plen)
{
	size_t size;
	uint8_t *img = pcap_image(npkt, plen, &size);

	memset(s, 0, sizeof(*s));
	s->intact = 1;
	snprintf(s->path, sizeof(s->path), "%s", tmpfile_with(img, size));
	free(img);
	s->r = cap_reader_new(NULL, cb, s);
	ck_assert_ptr_nonnull(s->r);
}

static const struct cap_callbacks seen_cb = { .on_packet = seen_on_packet };

/* Reads s's file, which must stop because it changed, with every packet
 * handed on before intact. */
static void seen_read_changed(struct seen *s)
{
	ck_assert_int_eq(cap_read_file(s->r, s->path), CAP_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(s->r), "changed"));
	ck_assert(s->intact);
}

/* Frees s's reader and removes its file. */
static void seen_done(struct seen *s)
{
	cap_reader_free(s->r);
	unlink(s->path);
}

/* Another writer opens the file without waiting: the reader's lease
 * holds it off, and the reader is told. */
static void open_for_writing(struct seen *s, const struct cap_packet *pkt)
{
	int fd = open(s->path, O_WRONLY | O_NONBLOCK);

	(void)pkt;
	ck_assert_int_lt(fd, 0);
	ck_assert_int_eq(errno, EWOULDBLOCK);
}

START_TEST(file_changed_while_read)
{
	/* A writer that wants a mapped file makes the reader stop with a
	 * clear error; every packet handed on is the file's, unchanged. */
	struct seen s;
	int fd;

	seen_file(&s, &seen_cb, 20000, 200);
	s.act = open_for_writing;
	s.act_at = 10;
	seen_read_changed(&s);
	/* It looks every 512 packets. */
	ck_assert_uint_le(s.frames, 512);
	/* The file is let go at once: no lease was held. */
	fd = open(s.path, O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* Read again, left alone: all of it (frames go on counting). */
	s.act = NULL;
	fd = (int)s.frames;
	ck_assert_int_eq(cap_read_file(s.r, s.path), CAP_OK);
	ck_assert_uint_eq(s.frames - (uint64_t)fd, 20000);
	seen_done(&s);
}
END_TEST

START_TEST(read_packets_are_leasable)
{
	struct seen s;
	static struct coll c;
	FILE *fp;
	int wfd, fd;

	/* A plain pcap file: every packet from the mapping. */
	seen_file(&s, &seen_cb, 50, 100);
	ck_assert_int_eq(cap_read_file(s.r, s.path), CAP_OK);
	ck_assert_uint_eq(s.frames, 50);
	ck_assert_uint_eq(s.leasable, 50);
	ck_assert(s.intact);
	/* A file open for writing elsewhere (a capture still being
	 * written) cannot be leased: it is read with read(2), whole. */
	wfd = open(s.path, O_WRONLY);
	ck_assert_int_ge(wfd, 0);
	s.leasable = 0;
	ck_assert_int_eq(cap_read_file(s.r, s.path), CAP_OK);
	ck_assert_uint_eq(s.frames, 100);
	ck_assert_uint_eq(s.leasable, 0);
	close(wfd);
	ck_assert_int_eq(cap_read_file(s.r, s.path), CAP_OK);
	ck_assert_uint_eq(s.leasable, 50);
	/* gzip: zlib's buffer. */
	s.leasable = 0;
	ck_assert_int_eq(cap_read_file(s.r, CAPS "eth.pcap.gz"), CAP_OK);
	ck_assert_uint_eq(s.leasable, 0);
	/* pcapng mapped: every packet from the mapping, as for pcap; read
	 * from a stream: from the block reader's buffer. */
	fd = (int)s.frames;
	ck_assert_int_eq(cap_read_file(s.r, CAPS "mixed.pcapng"), CAP_OK);
	ck_assert_uint_gt(s.frames, (uint64_t)fd);
	ck_assert_uint_eq(s.leasable, s.frames - (uint64_t)fd);
	s.leasable = 0;
	fp = fopen(CAPS "mixed.pcapng", "rb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(cap_read_stream(s.r, fp, "mixed.pcapng"), CAP_OK);
	fclose(fp);
	ck_assert_uint_eq(s.leasable, 0);
	/* The same packets, mapped or not. */
	ck_assert_int_eq(read_one(NULL, s.path, &c, NULL, 0, NULL), CAP_OK);
	ck_assert_uint_eq(c.n, 50);
	ck_assert_int_eq(c.p[49].data[0], image_byte(50));
	seen_done(&s);
}
END_TEST

/* One lease from frame 1 on, stretched while it spans at most a MiB,
 * and one on the last packet. */
static struct cap_lease *span_lease, *late_lease;
static uint64_t span_refused_at;

static int span_on_packet(void *user, const struct cap_packet *pkt)
{
	struct seen *s = user;
	static uint8_t elsewhere[64];

	seen_on_packet(user, pkt);
	if (pkt->frame == 1) {
		span_lease = cap_lease_take(pkt->lessor, pkt->data, pkt->caplen);
		ck_assert_ptr_nonnull(span_lease);
		s->first_data = pkt->data;
		/* Bytes the reader did not hand on cannot be leased. */
		ck_assert_ptr_null(cap_lease_take(pkt->lessor, elsewhere, 1));
		ck_assert_int_eq(cap_lease_extend(span_lease, elsewhere, 1, SIZE_MAX), 0);
		return 0;
	}
	if (span_refused_at == 0 &&
	    !cap_lease_extend(span_lease, pkt->data, pkt->caplen, 1u << 20))
		span_refused_at = pkt->frame;
	if (pkt->frame == s->act_at)
		late_lease = cap_lease_take(pkt->lessor, pkt->data, pkt->caplen);
	return 0;
}

START_TEST(a_lease_outlives_the_file_and_the_reader)
{
	/* Leased bytes stay readable after the file is read and after the
	 * reader is freed; the file is held until the last lease goes, and
	 * a lease gives back the pages that reading it late brought back. */
	static const struct cap_callbacks cb = { .on_packet = span_on_packet };
	struct seen s;
	size_t npkt = 40000, plen = 1000, nspan;
	long rss0, rss1, rss2;
	int fd;

	seen_file(&s, &cb, npkt, plen);
	s.act_at = npkt;
	span_lease = late_lease = NULL;
	span_refused_at = 0;
	ck_assert_int_eq(cap_read_file(s.r, s.path), CAP_OK);
	ck_assert_uint_eq(s.frames, npkt);
	ck_assert(s.intact);
	/* A MiB holds the data of 1,032 packets of 1,000 bytes after
	 * 16-byte record headers, from the first packet's data on. */
	ck_assert_uint_eq(span_refused_at, 1033);
	ck_assert_ptr_nonnull(late_lease);
	cap_reader_free(s.r);
	/* Still held: a writer is kept waiting. */
	fd = open(s.path, O_WRONLY | O_NONBLOCK);
	ck_assert_int_lt(fd, 0);
	/* The pages behind the reader were given back as it read. */
	rss0 = mapped_in(s.first_data);
	ck_assert_int_ge(rss0, 0);
	ck_assert_int_lt(rss0, 20l << 20);
	/* The leased MiB, read now, comes back, unchanged... */
	nspan = span_refused_at - 1;
	for (size_t i = 0; i < nspan; i++)
		ck_assert(all_are(s.first_data + i * (16 + plen), plen,
				  image_byte(i + 1)));
	rss1 = mapped_in(s.first_data);
	ck_assert_int_ge(rss1 - rss0, 900l << 10);
	/* ...and goes again with its lease; the other keeps the file. */
	cap_lease_release(span_lease);
	rss2 = mapped_in(s.first_data);
	ck_assert_int_ge(rss2, 0);
	ck_assert_int_ge(rss1 - rss2, 900l << 10);
	fd = open(s.path, O_WRONLY | O_NONBLOCK);
	ck_assert_int_lt(fd, 0);
	/* The last lease: the mapping and the file go. */
	cap_lease_release(late_lease);
	cap_lease_release(NULL);
	ck_assert_int_eq(mapped_in(s.first_data), -1);
	fd = open(s.path, O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(s.path);
}
END_TEST

/* A helper thread doing cap_prefetch() steps for one reader until told
 * to stop. */
struct prefetcher {
	struct cap_reader *r;
	pthread_t th;
	atomic_int stop;
	atomic_uint steps;
};

static void *prefetch_loop(void *arg)
{
	struct prefetcher *pf = arg;

	while (!atomic_load(&pf->stop)) {
		if (cap_prefetch(pf->r))
			atomic_fetch_add(&pf->steps, 1);
		else
			nanosleep(&(struct timespec){ 0, 100 * 1000 }, NULL);
	}
	return NULL;
}

static void prefetch_start(struct prefetcher *pf, struct cap_reader *r)
{
	pf->r = r;
	atomic_store(&pf->stop, 0);
	atomic_store(&pf->steps, 0);
	ck_assert_int_eq(pthread_create(&pf->th, NULL, prefetch_loop, pf), 0);
}

static void prefetch_stop(struct prefetcher *pf)
{
	atomic_store(&pf->stop, 1);
	pthread_join(pf->th, NULL);
}

/* The helper fills further ahead than the reader does for itself: it has
 * something to do as soon as the file is open. */
static void wait_for_prefetch(struct seen *s, const struct cap_packet *pkt)
{
	struct prefetcher *pf = s->arg;

	(void)pkt;
	for (int i = 0; i < 5000 && atomic_load(&pf->steps) == 0; i++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
}

START_TEST(another_thread_fills_ahead_of_the_reader)
{
	struct seen s;
	struct prefetcher pf;
	size_t npkt = 24000;

	seen_file(&s, &seen_cb, npkt, 1000);
	/* Nothing to fill while no file is read. */
	ck_assert_int_eq(cap_prefetch(s.r), 0);
	prefetch_start(&pf, s.r);
	s.act = wait_for_prefetch;
	s.act_at = 1;
	s.lease_first = 1;
	s.arg = &pf;
	ck_assert_int_eq(cap_read_file(s.r, s.path), CAP_OK);
	prefetch_stop(&pf);
	/* Every packet came, intact and in order, beside the helper. */
	ck_assert_uint_eq(s.frames, npkt);
	ck_assert(s.intact);
	ck_assert_uint_ge(atomic_load(&pf.steps), 1);
	ck_assert(all_are(s.first_data, 1000, image_byte(1)));
	/* The file is closed: nothing to fill again. */
	ck_assert_int_eq(cap_prefetch(s.r), 0);
	cap_lease_release(s.first);
	seen_done(&s);
}
END_TEST

/* Whether a file lease of this process is breaking: a writer waits. */
static int lease_breaking(void)
{
	FILE *f = fopen("/proc/locks", "r");
	char line[256], pid[32];
	int found = 0;

	ck_assert_ptr_nonnull(f);
	snprintf(pid, sizeof(pid), " %d ", (int)getpid());
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "LEASE") != NULL && strstr(line, "BREAKING") != NULL &&
			strstr(line, pid) != NULL;
	fclose(f);
	return found;
}

/* Another process cuts the file: its truncate waits for the lease. */
static void start_writer(struct seen *s, const struct cap_packet *pkt)
{
	char c;

	(void)pkt;
	ck_assert_int_eq(pipe(s->fd), 0);
	s->writer = fork();
	ck_assert_int_ge(s->writer, 0);
	if (s->writer == 0) {
		(void)!write(s->fd[1], "o", 1);
		_exit(truncate(s->path, 100) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(read(s->fd[0], &c, 1), 1);
	/* The writer reached the lease once the kernel says it is breaking
	 * (within 5 s, however busy the machine). */
	for (int i = 0; i < 5000 && !lease_breaking(); i++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	ck_assert(lease_breaking());
}

START_TEST(a_writer_waits_for_held_leases)
{
	/* Leased bytes stay unchanged until they are released: a writer
	 * that comes in the middle stops the read, and is let go only once
	 * the last lease goes. */
	struct seen s;
	int status;

	seen_file(&s, &seen_cb, 20000, 200);
	s.lease_first = 1;
	s.act = start_writer;
	s.act_at = 2;
	seen_read_changed(&s);
	ck_assert_uint_lt(s.frames, 20000);
	/* The writer still waits, however long it has had. */
	nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	ck_assert_int_eq(waitpid(s.writer, &status, WNOHANG), 0);
	ck_assert(all_are(s.first_data, s.first_len, image_byte(1)));
	cap_lease_release(s.first);
	/* And then the cut went through. */
	ck_assert_int_eq(waitpid(s.writer, &status, 0), s.writer);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(s.fd[0]);
	close(s.fd[1]);
	seen_done(&s);
}
END_TEST

/* Two readers, each on its own thread with its own prefetching helper;
 * reader 0's file gets a writer half way. */
struct duo {
	struct seen s;
	struct prefetcher pf;
	enum cap_error err;
};

static void *duo_read(void *arg)
{
	struct duo *d = arg;

	prefetch_start(&d->pf, d->s.r);
	d->err = cap_read_file(d->s.r, d->s.path);
	prefetch_stop(&d->pf);
	return NULL;
}

START_TEST(two_readers_at_once)
{
	/* Each reader has its own mapping, lock and flags: one reader's
	 * writer stops that reader only, and both hand on their own bytes,
	 * each with its own leases, from two threads at once. */
	struct duo d[2];
	pthread_t th[2];
	size_t npkt = 30000;

	for (int i = 0; i < 2; i++) {
		seen_file(&d[i].s, &seen_cb, npkt, 1000 + (size_t)i * 100);
		d[i].s.lease_first = 1;
	}
	d[0].s.act = open_for_writing;
	d[0].s.act_at = 15000;
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, duo_read, &d[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(d[0].err, CAP_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(d[0].s.r), "changed"));
	ck_assert_uint_lt(d[0].s.frames, 15000 + 512);
	ck_assert_int_eq(d[1].err, CAP_OK);
	ck_assert_uint_eq(d[1].s.frames, npkt);
	for (int i = 0; i < 2; i++) {
		ck_assert(d[i].s.intact);
		ck_assert_uint_eq(d[i].s.leasable, d[i].s.frames);
		ck_assert_uint_eq(d[i].s.first_len, 1000 + (size_t)i * 100);
		ck_assert(all_are(d[i].s.first_data, d[i].s.first_len, image_byte(1)));
		cap_lease_release(d[i].s.first);
		seen_done(&d[i].s);
	}
}
END_TEST

/* Reader 1 runs inside reader 0's callback; during its own, a page of
 * reader 0's mapping vanishes (SIGBUS at that address, as the kernel
 * sends it when a mapped file was cut). */
static struct seen vanish[2];

static void vanish_page(struct seen *s, const struct cap_packet *pkt)
{
	siginfo_t si;

	(void)s;
	(void)pkt;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = (void *)vanish[0].first_data;
	ck_assert_int_eq(syscall(SYS_rt_tgsigqueueinfo, getpid(),
				 (pid_t)syscall(SYS_gettid), SIGBUS, &si), 0);
}

static void read_the_other(struct seen *s, const struct cap_packet *pkt)
{
	(void)s;
	(void)pkt;
	ck_assert_int_eq(cap_read_file(vanish[1].r, vanish[1].path), CAP_OK);
}

START_TEST(a_vanished_page_stops_its_reader_only)
{
	for (int i = 0; i < 2; i++) {
		seen_file(&vanish[i], &seen_cb, 3000, 500);
		vanish[i].lease_first = 1;
	}
	vanish[0].act = read_the_other;
	vanish[0].act_at = 1;
	vanish[1].act = vanish_page;
	vanish[1].act_at = 100;
	ck_assert_int_eq(cap_read_file(vanish[0].r, vanish[0].path), CAP_ERR_CORRUPT);
	/* The page reads zeros, its reader stopped before the next packet;
	 * the other read its whole file, unharmed. */
	ck_assert_int_eq(vanish[0].first_data[0], 0);
	ck_assert_uint_eq(vanish[0].frames, 1);
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(vanish[0].r), "frame 2"));
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(vanish[0].r), "changed"));
	ck_assert_uint_eq(vanish[1].frames, 3000);
	ck_assert(vanish[1].intact);
	ck_assert(all_are(vanish[1].first_data, 500, image_byte(1)));
	for (int i = 0; i < 2; i++) {
		cap_lease_release(vanish[i].first);
		seen_done(&vanish[i]);
	}
}
END_TEST

START_TEST(consumer_stops)
{
	static struct coll c;
	char msg[512];
	struct cap_stats st;

	c.stop_after = 2;
	ck_assert_int_eq(read_one(NULL, CAPS "eth.pcap", &c, msg, sizeof(msg),
				  &st), CAP_ERR_STOPPED);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(st.frames, 2);
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	ck_assert_int_eq(read_one(NULL, CAPS "mixed.pcapng", &c, msg,
				  sizeof(msg), &st), CAP_ERR_STOPPED);
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

START_TEST(free_null)
{
	cap_reader_free(NULL);
}
END_TEST

/* ---- public captures -------------------------------------------- */

/* ---- packets shown ahead --------------------------------------------- */

#define AHEAD_MAX 4096

struct ahead_log {
	const uint8_t *hint[AHEAD_MAX];
	uint32_t hint_len[AHEAD_MAX];
	int hint_lt[AHEAD_MAX];
	size_t hint_at[AHEAD_MAX];     /* packets delivered before the hint */
	size_t nhint;
	const uint8_t *pkt[AHEAD_MAX];
	uint32_t pkt_len[AHEAD_MAX];
	int pkt_lt[AHEAD_MAX];
	size_t npkt;
};

static int ahead_packet(void *user, const struct cap_packet *pkt)
{
	struct ahead_log *a = user;

	ck_assert_uint_lt(a->npkt, AHEAD_MAX);
	a->pkt[a->npkt] = pkt->data;
	a->pkt_len[a->npkt] = pkt->caplen;
	a->pkt_lt[a->npkt++] = pkt->linktype;
	return 0;
}

static void ahead_hint(void *user, int linktype, const uint8_t *data, uint32_t caplen)
{
	struct ahead_log *a = user;

	ck_assert_uint_lt(a->nhint, AHEAD_MAX);
	a->hint[a->nhint] = data;
	a->hint_len[a->nhint] = caplen;
	a->hint_lt[a->nhint] = linktype;
	a->hint_at[a->nhint++] = a->npkt;
}

/*
 * on_ahead, for mapped pcap and pcapng files: each packet it shows is
 * the one on_packet gets 1 to CAP_AHEAD + 1 packets later (the same
 * place in the mapping, length and link type), and in a file of one
 * interface it shows all but the first (pcapng: it does not look past
 * an interface block it has not read, so the small files of several
 * show few); turned off (cap_reader_ahead()), it shows none.
 */
static const char *const ahead_files[] = {
	"samples/dovecot-imaplib-session.pcap", CAPS "mixed.pcapng",
	CAPS "be.pcapng", CAPS "eth.pcap",
};

START_TEST(packets_are_shown_ahead)
{
	static const struct cap_callbacks cb = { .on_packet = ahead_packet,
						 .on_ahead = ahead_hint };
	static struct ahead_log a;
	struct cap_reader *r;

	memset(&a, 0, sizeof(a));
	r = cap_reader_new(NULL, &cb, &a);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(cap_read_file(r, ahead_files[_i]), CAP_OK);
	cap_reader_free(r);
	ck_assert_uint_gt(a.npkt, 0);
	if (a.npkt >= 20)
		ck_assert_uint_ge(a.nhint, a.npkt - CAP_AHEAD);

	for (size_t k = 0; k < a.nhint; k++) {
		size_t lo = a.hint_at[k], hi = lo + CAP_AHEAD, j;

		for (j = lo; j <= hi && j < a.npkt; j++)
			if (a.pkt[j] == a.hint[k])
				break;
		ck_assert_msg(j <= hi && j < a.npkt, "hint %zu: no packet %zu to %zu at it",
			      k, lo + 1, hi + 1);
		ck_assert_uint_eq(a.pkt_len[j], a.hint_len[k]);
		ck_assert_int_eq(a.pkt_lt[j], a.hint_lt[k]);
	}

	/* Turned off, the reader shows nothing ahead. */
	memset(&a, 0, sizeof(a));
	r = cap_reader_new(NULL, &cb, &a);
	ck_assert_ptr_nonnull(r);
	cap_reader_ahead(r, 0);
	ck_assert_int_eq(cap_read_file(r, ahead_files[_i]), CAP_OK);
	cap_reader_free(r);
	ck_assert_uint_gt(a.npkt, 0);
	ck_assert_uint_eq(a.nhint, 0);
}
END_TEST

START_TEST(public_corrupt_peafowl)
{
	static struct coll c;
	char msg[512];

	if (!exists(PUB "peafowl__imap.cap"))
		return;
	ck_assert_int_eq(read_one(NULL, PUB "peafowl__imap.cap", &c, msg,
				  sizeof(msg), NULL), CAP_ERR_CORRUPT);
	/* tshark reads 8 packets; the 9th record header is garbage. */
	ck_assert_uint_eq(c.n, 8);
	ck_assert_int_eq(c.p[7].sec, 942357327);
	ck_assert_uint_eq(c.p[7].nsec, 548831000);
	ck_assert_ptr_nonnull(strstr(msg, PUB "peafowl__imap.cap: frame 9: "));
}
END_TEST

START_TEST(public_nanosecond_pcap)
{
	static struct coll c;

	if (!exists(PUB "protolens__imap_fetch.pcap"))
		return;
	ck_assert_int_eq(read_one(NULL, PUB "protolens__imap_fetch.pcap", &c,
				  NULL, 0, NULL), CAP_OK);
	ck_assert_uint_eq(c.n, 62);
	ck_assert_int_eq(c.p[0].nano, 1);
	ck_assert_int_eq(c.p[0].sec, 5);
	ck_assert_uint_eq(c.p[0].nsec, 433134545);
	ck_assert_uint_eq(c.p[0].caplen, 74);
	ck_assert_int_eq(c.p[61].sec, 5);
	ck_assert_uint_eq(c.p[61].nsec, 434493260);
	ck_assert_uint_eq(c.p[61].caplen, 70);
}
END_TEST

START_TEST(public_pcapng)
{
	static struct coll c;

	if (!exists(PUB "nDPI__imaps.pcap"))
		return;
	ck_assert_int_eq(read_one(NULL, PUB "nDPI__imaps.pcap", &c, NULL, 0,
				  NULL), CAP_OK);
	ck_assert_uint_eq(c.n, 28);
	ck_assert_int_eq(c.p[0].linktype, CAP_LINK_EN10MB);
	ck_assert_int_eq(c.p[0].nano, 0);
	ck_assert_int_eq(c.p[0].sec, 1590857744);
	ck_assert_uint_eq(c.p[0].nsec, 659641000);
	ck_assert_uint_eq(c.p[0].caplen, 78);
	ck_assert_int_eq(c.p[27].sec, 1610477173);
	ck_assert_uint_eq(c.p[27].nsec, 366841000);
	ck_assert_uint_eq(c.p[27].caplen, 1454);
}
END_TEST

START_TEST(public_6in4_count)
{
	static struct coll c;
	struct cap_stats st;

	if (!exists(PUB "nDPI__6in4tunnel.pcap"))
		return;
	ck_assert_int_eq(read_one(NULL, PUB "nDPI__6in4tunnel.pcap", &c, NULL,
				  0, &st), CAP_OK);
	ck_assert_uint_eq(st.frames, 127);
	ck_assert_uint_eq(st.bytes, 40293);
}
END_TEST

/* Decryption Secrets Blocks: the sample with its DSB first, and the same
 * blocks with the DSB moved after the packets.  With the pre-scan the
 * keys come before the first packet either way, once; without it, where
 * the block is. */
struct dsb_seen {
	struct coll c;           /* first: on_packet's user */
	int calls;
	size_t at;               /* packets read when the secrets came */
	size_t len;
};

static void on_dsb(void *user, uint32_t type, const uint8_t *data, size_t len)
{
	struct dsb_seen *d = user;

	ck_assert_uint_eq(type, CAP_SECRETS_TLS_KEYLOG);
	ck_assert_uint_ge(len, 16);
	ck_assert(memcmp(data, "SERVER_", 7) == 0 || memcmp(data, "CLIENT_", 7) == 0);
	d->calls++;
	d->at = d->c.n;
	d->len = len;
}

static void read_dsb(const char *path, int prescan, struct dsb_seen *d)
{
	struct cap_reader *r = cap_reader_new(NULL, &cbs, d);

	memset(d, 0, sizeof(*d));
	ck_assert_ptr_nonnull(r);
	cap_reader_on_secrets(r, on_dsb);
	cap_reader_prescan_secrets(r, prescan);
	ck_assert_int_eq(cap_read_file(r, path), CAP_OK);
	cap_reader_free(r);
}

START_TEST(pcapng_secrets_prescan)
{
	static uint8_t buf[65536], moved[65536];
	static struct dsb_seen d;
	const char *dsb = "samples/tls/curl-tls13-aes128gcm-imaps-dsb.pcapng";
	size_t n = slurp(dsb, buf, sizeof(buf)), at = 0, m = 0, dat = 0, dlen = 0;
	size_t packets, secrets;
	const char *late;

	/* The sample as written (DSB before the packets). */
	read_dsb(dsb, 0, &d);
	packets = d.c.n;
	secrets = d.len;
	ck_assert_int_eq(d.calls, 1);
	ck_assert_uint_eq(d.at, 0);
	read_dsb(dsb, 1, &d);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_uint_eq(d.at, 0);
	ck_assert_uint_eq(d.c.n, packets);
	/* The DSB (type 10) moved to the end. */
	while (at + 8 <= n) {
		uint32_t type, len;

		memcpy(&type, buf + at, 4);
		memcpy(&len, buf + at + 4, 4);
		ck_assert(len >= 12 && at + len <= n);
		if (type == 10) {
			dat = at;
			dlen = len;
		} else {
			memcpy(moved + m, buf + at, len);
			m += len;
		}
		at += len;
	}
	ck_assert_uint_gt(dlen, 0);
	memcpy(moved + m, buf + dat, dlen);
	late = tmpfile_with(moved, m + dlen);
	read_dsb(late, 0, &d);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_uint_eq(d.at, packets);
	read_dsb(late, 1, &d);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_uint_eq(d.at, 0);
	ck_assert_uint_eq(d.len, secrets);
	ck_assert_uint_eq(d.c.n, packets);
	/* Cut inside the DSB: the pre-scan hands nothing on, the read
	 * reports the truncation where it is. */
	late = tmpfile_with(moved, m + dlen - 4);
	{
		struct cap_reader *r = cap_reader_new(NULL, &cbs, &d);

		memset(&d, 0, sizeof(d));
		cap_reader_on_secrets(r, on_dsb);
		cap_reader_prescan_secrets(r, 1);
		ck_assert_int_eq(cap_read_file(r, late), CAP_ERR_CORRUPT);
		ck_assert_int_eq(d.calls, 0);
		ck_assert_uint_eq(d.c.n, packets);
		cap_reader_free(r);
	}
}
END_TEST

static Suite *capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc = tcase_create("crafted");
	TCase *slow = tcase_create("robustness");
	TCase *pub = tcase_create("public");

	tcase_add_test(tc, error_table);
	tcase_add_test(tc, pcap_ethernet);
	tcase_add_test(tc, pcap_big_endian);
	tcase_add_test(tc, pcap_nanosecond);
	tcase_add_test(tc, pcap_gzip);
	tcase_add_test(tc, pcap_stdin);
	tcase_add_loop_test(tc, compressed_formats, 0,
			    sizeof(compressed_eth) / sizeof(compressed_eth[0]));
	tcase_add_loop_test(tc, compressed_cut_or_corrupt, 0,
			    sizeof(compressed_bad) / sizeof(compressed_bad[0]));
	tcase_add_test(tc, compressed_cut_before_any_byte);
	tcase_add_test(tc, compressed_bomb_is_bounded);
	tcase_add_test(tc, compressed_window_too_large);
	tcase_add_test(tc, frames_continue_across_files);
	tcase_add_loop_test(tc, link_types, 0,
			    sizeof(link_cases) / sizeof(link_cases[0]));
	tcase_add_test(tc, unsupported_link_type);
	tcase_add_test(tc, unsupported_link_type_named);
	tcase_add_test(tc, truncated_record);
	tcase_add_test(tc, truncated_record_header);
	tcase_add_test(tc, garbage_header);
	tcase_add_test(tc, empty_and_short_files);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, filter_selects);
	tcase_add_test(tc, filter_per_interface);
	tcase_add_test(tc, filter_error);
	tcase_add_test(tc, pcapng_mixed_link_types);
	tcase_add_test(tc, pcapng_big_endian_pow2);
	tcase_add_test(tc, pcapng_bad_block_length);
	tcase_add_test(tc, pcapng_secrets_prescan);
	tcase_add_test(tc, pcapng_unsupported_interface);
	tcase_add_test(tc, consumer_stops);
	tcase_add_test(tc, another_thread_fills_ahead_of_the_reader);
	tcase_add_test(tc, file_changed_while_read);
	tcase_add_test(tc, read_packets_are_leasable);
	tcase_add_test(tc, a_lease_outlives_the_file_and_the_reader);
	tcase_add_test(tc, a_writer_waits_for_held_leases);
	tcase_add_test(tc, two_readers_at_once);
	tcase_add_test(tc, a_vanished_page_stops_its_reader_only);
	tcase_add_test(tc, free_null);
	tcase_add_loop_test(tc, packets_are_shown_ahead, 0,
			    sizeof(ahead_files) / sizeof(ahead_files[0]));
	suite_add_tcase(s, tc);
	tcase_add_test(slow, every_prefix);
	tcase_add_test(slow, gzip_truncated);
	tcase_add_test(slow, gzip_garbage);
	tcase_add_test(slow, pcapng_byte_flips);
	tcase_set_timeout(slow, 120);
	suite_add_tcase(s, slow);
	tcase_add_test(pub, public_corrupt_peafowl);
	tcase_add_test(pub, public_nanosecond_pcap);
	tcase_add_test(pub, public_pcapng);
	tcase_add_test(pub, public_6in4_count);
	suite_add_tcase(s, pub);
	return s;
}

int main(void)
{
	return imt_check_main(capture_suite());
}
