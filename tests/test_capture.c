/*
 * test_capture.c - the capture reader on crafted and real captures.
 *
 * Crafted captures come from tests/crafted/make_captures.py.  The public
 * captures in /work/shared/pcaps/public cannot ship with the project, so
 * their tests are skipped when the files are absent.
 */
#include <check.h>

#include "check_main.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static const struct cap_callbacks cbs = { on_packet, NULL, NULL };

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

/* Writes len bytes to a temporary file; returns its path (static). */
static const char *tmpfile_with(const void *buf, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/imt_cap_XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
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

/* Tries to cut the file being read when the first packet arrives. */
static const char *shrink_path;

/* A pcap image of npkt packets of plen bytes of 0xab; caller frees. */
static uint8_t *pcap_image(size_t npkt, size_t plen, size_t *size_r)
{
	static const uint8_t hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0 };
	size_t size = 24 + npkt * (16 + plen);
	uint8_t *img = calloc(1, size);

	ck_assert_ptr_nonnull(img);
	memcpy(img, hdr, sizeof(hdr));
	for (size_t i = 0; i < npkt; i++) {
		uint8_t *rec = img + 24 + i * (16 + plen);

		rec[8] = rec[12] = (uint8_t)plen;
		rec[9] = rec[13] = (uint8_t)(plen >> 8);
		memset(rec + 16, 0xab, plen);
	}
	*size_r = size;
	return img;
}

static int shrink_on_packet(void *user, const struct cap_packet *pkt)
{
	size_t *n = user;

	ck_assert_uint_eq(pkt->caplen, 200);
	ck_assert_int_eq(pkt->data[199], 0xab);
	if ((*n)++ == 0) {
		/* Under the reader's lease the cut may wait or fail
		 * (EWOULDBLOCK); either way the reader must stop. */
		(void)!truncate(shrink_path, 100000);
	}
	return 0;
}

START_TEST(file_changed_while_read)
{
	/* A mapped file that another writer opens or cuts under the reader
	 * must end in a clear error, not SIGBUS, and no packet read after
	 * the change may be handed on. */
	struct cap_callbacks cb = { shrink_on_packet, NULL, NULL };
	struct cap_reader *r;
	struct cap_stats st;
	size_t n = 0, size;
	uint8_t *img = pcap_image(20000, 200, &size);

	shrink_path = tmpfile_with(img, size);
	r = cap_reader_new(NULL, &cb, &n);
	ck_assert_int_eq(cap_read_file(r, shrink_path), CAP_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(r), "changed"));
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(r), "frame 2"));
	cap_reader_stats(r, &st);
	ck_assert_uint_eq(n, 1);
	cap_reader_free(r);
	/* Read again, left alone: every packet that is still there. */
	n = 1;   /* no more cutting */
	r = cap_reader_new(NULL, &cb, &n);
	cap_read_file(r, shrink_path);
	cap_reader_stats(r, &st);
	ck_assert_uint_ge(st.frames, 1);
	cap_reader_free(r);
	unlink(shrink_path);
	free(img);
}
END_TEST

/* Counts stable packets and keeps the first one's pointer and bytes. */
struct stable_seen {
	size_t packets, stable, unstable_calls;
	const uint8_t *first;
	uint8_t copy[64];
	size_t first_len;
};

static int stable_on_packet(void *user, const struct cap_packet *pkt)
{
	struct stable_seen *st = user;

	st->packets++;
	st->stable += pkt->stable != 0;
	if (st->packets == 1 && pkt->stable) {
		st->first = pkt->data;
		st->first_len = pkt->caplen < 64 ? pkt->caplen : 64;
		memcpy(st->copy, pkt->data, st->first_len);
	}
	/* Stable data stays put: the first packet is still there. */
	if (st->first != NULL)
		ck_assert_int_eq(memcmp(st->first, st->copy, st->first_len), 0);
	return 0;
}

static void stable_on_unstable(void *user)
{
	struct stable_seen *st = user;

	st->unstable_calls++;
	st->first = NULL;
}

START_TEST(read_packets_are_stable)
{
	struct cap_callbacks cb = { stable_on_packet, stable_on_unstable, NULL };
	struct stable_seen st;
	struct cap_reader *r;

	/* A plain pcap file: every packet from the mapping, one release. */
	memset(&st, 0, sizeof(st));
	r = cap_reader_new(NULL, &cb, &st);
	ck_assert_int_eq(cap_read_file(r, CAPS "eth.pcap"), CAP_OK);
	ck_assert_uint_gt(st.packets, 0);
	ck_assert_uint_eq(st.stable, st.packets);
	ck_assert_uint_eq(st.unstable_calls, 1);
	/* gzip and pcapng: libpcap's or the block reader's buffer. */
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(cap_read_file(r, CAPS "eth.pcap.gz"), CAP_OK);
	ck_assert_uint_gt(st.packets, 0);
	ck_assert_uint_eq(st.stable, 0);
	ck_assert_uint_eq(st.unstable_calls, 0);
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(cap_read_file(r, CAPS "mixed.pcapng"), CAP_OK);
	ck_assert_uint_eq(st.stable, 0);
	{
		/* A file open for writing elsewhere (a capture still being
		 * written) cannot be leased: it is read with read(2), whole. */
		static uint8_t img[1 << 16];
		size_t n = slurp(CAPS "eth.pcap", img, sizeof(img));
		const char *path = tmpfile_with(img, n);
		int wfd = open(path, O_WRONLY);
		size_t read_packets;

		ck_assert_int_ge(wfd, 0);
		memset(&st, 0, sizeof(st));
		ck_assert_int_eq(cap_read_file(r, path), CAP_OK);
		ck_assert_uint_eq(st.stable, 0);
		read_packets = st.packets;
		close(wfd);
		memset(&st, 0, sizeof(st));
		ck_assert_int_eq(cap_read_file(r, path), CAP_OK);
		ck_assert_uint_eq(st.stable, st.packets);
		ck_assert_uint_eq(st.packets, read_packets);
		unlink(path);
	}
	cap_reader_free(r);
}
END_TEST

/* What a holder of stable packets sees of their release. */
struct release_seen {
	uint64_t frames;          /* packets delivered */
	uint64_t last_release;    /* the last frame released */
	size_t releases, unstable_calls;
	const uint8_t *first;     /* the first packet, held to the end */
	size_t first_len;
	int first_intact_at_end;
	int fd[2];                /* with a writer: its "about to open" pipe */
	pid_t writer;
};

static int release_on_packet(void *user, const struct cap_packet *pkt)
{
	struct release_seen *rs = user;

	ck_assert(pkt->stable);
	ck_assert_int_eq(pkt->data[pkt->caplen - 1], 0xab);
	rs->frames = pkt->frame;
	if (rs->first == NULL) {
		rs->first = pkt->data;
		rs->first_len = pkt->caplen;
	}
	return 0;
}

static void release_on_release(void *user, uint64_t frame)
{
	struct release_seen *rs = user;

	/* Released frames were delivered, and come in order. */
	ck_assert_uint_le(frame, rs->frames);
	ck_assert_uint_gt(frame, rs->last_release);
	rs->last_release = frame;
	rs->releases++;
}

static void release_on_unstable(void *user)
{
	struct release_seen *rs = user;
	size_t i = 0;

	rs->unstable_calls++;
	/* Still readable and unchanged, whatever a writer wants, however
	 * long it has had to do it. */
	if (rs->writer > 0)
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	while (i < rs->first_len && rs->first[i] == 0xab)
		i++;
	rs->first_intact_at_end = i == rs->first_len;
}

START_TEST(stable_packets_are_released_behind_the_reader)
{
	/* 24 MiB of 1000-byte packets: the pages behind the reader are
	 * given back as it goes, each time after their packets' release. */
	struct cap_callbacks cb = { release_on_packet, release_on_unstable,
				    release_on_release };
	struct release_seen rs;
	struct cap_reader *r;
	size_t size, npkt = 24000;
	uint8_t *img = pcap_image(npkt, 1000, &size);
	const char *path = tmpfile_with(img, size);

	memset(&rs, 0, sizeof(rs));
	r = cap_reader_new(NULL, &cb, &rs);
	ck_assert_int_eq(cap_read_file(r, path), CAP_OK);
	ck_assert_uint_eq(rs.frames, npkt);
	ck_assert_uint_ge(rs.releases, 5);
	/* A release is for packets a few MiB behind, never the newest. */
	ck_assert_uint_lt(rs.last_release, npkt - 1000);
	ck_assert_uint_eq(rs.unstable_calls, 1);
	ck_assert(rs.first_intact_at_end);
	cap_reader_free(r);
	unlink(path);
	free(img);
}
END_TEST

/* A helper thread doing cap_prefetch() steps until told to stop. */
static atomic_int prefetch_stop;
static atomic_uint prefetch_steps;

static void *prefetch_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&prefetch_stop)) {
		if (cap_prefetch())
			atomic_fetch_add(&prefetch_steps, 1);
		else
			nanosleep(&(struct timespec){ 0, 100 * 1000 }, NULL);
	}
	return NULL;
}

static int prefetch_on_packet(void *user, const struct cap_packet *pkt)
{
	release_on_packet(user, pkt);
	/* The helper fills further ahead than the reader does for itself:
	 * it has something to do as soon as the file is open. */
	for (int i = 0; pkt->frame == 1 && i < 5000 &&
	     atomic_load(&prefetch_steps) == 0; i++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	return 0;
}

START_TEST(another_thread_fills_ahead_of_the_reader)
{
	struct cap_callbacks cb = { prefetch_on_packet, release_on_unstable,
				    release_on_release };
	struct release_seen rs;
	struct cap_reader *r;
	pthread_t th;
	size_t size, npkt = 24000;
	uint8_t *img = pcap_image(npkt, 1000, &size);
	const char *path = tmpfile_with(img, size);

	/* Nothing to fill while no file is read. */
	ck_assert_int_eq(cap_prefetch(), 0);
	memset(&rs, 0, sizeof(rs));
	atomic_store(&prefetch_stop, 0);
	atomic_store(&prefetch_steps, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, prefetch_loop, NULL), 0);
	r = cap_reader_new(NULL, &cb, &rs);
	ck_assert_int_eq(cap_read_file(r, path), CAP_OK);
	atomic_store(&prefetch_stop, 1);
	pthread_join(th, NULL);
	/* Every packet came, intact and in order, beside the helper. */
	ck_assert_uint_eq(rs.frames, npkt);
	ck_assert_uint_ge(rs.releases, 5);
	ck_assert(rs.first_intact_at_end);
	ck_assert_uint_ge(atomic_load(&prefetch_steps), 1);
	/* The file is closed: nothing to fill again. */
	ck_assert_int_eq(cap_prefetch(), 0);
	cap_reader_free(r);
	unlink(path);
	free(img);
}
END_TEST

static int writer_on_packet(void *user, const struct cap_packet *pkt)
{
	struct release_seen *rs = user;

	release_on_packet(user, pkt);
	if (pkt->frame == 1) {
		char c;

		ck_assert_int_eq(pipe(rs->fd), 0);
		rs->writer = fork();
		ck_assert_int_ge(rs->writer, 0);
		if (rs->writer == 0) {
			/* Another process cuts the file: its open waits for
			 * the reader's lease. */
			(void)!write(rs->fd[1], "o", 1);
			_exit(truncate(shrink_path, 100) == 0 ? 0 : 1);
		}
		ck_assert_int_eq(read(rs->fd[0], &c, 1), 1);
		/* Time for the writer to reach the lease. */
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
	return 0;
}

START_TEST(a_writer_waits_for_held_packets)
{
	/* Packets handed on from the mapping stay unchanged until the
	 * reader is done with them: a writer that comes in the middle
	 * stops the read, and is let go only once the file is closed. */
	struct cap_callbacks cb = { writer_on_packet, release_on_unstable, NULL };
	struct release_seen rs;
	struct cap_reader *r;
	size_t size;
	uint8_t *img = pcap_image(20000, 200, &size);
	int status;

	shrink_path = tmpfile_with(img, size);
	memset(&rs, 0, sizeof(rs));
	r = cap_reader_new(NULL, &cb, &rs);
	ck_assert_int_eq(cap_read_file(r, shrink_path), CAP_ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(cap_reader_errmsg(r), "changed"));
	ck_assert_uint_lt(rs.frames, 20000);
	ck_assert_uint_eq(rs.unstable_calls, 1);
	ck_assert(rs.first_intact_at_end);
	/* And then the cut went through. */
	ck_assert_int_eq(waitpid(rs.writer, &status, 0), rs.writer);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(rs.fd[0]);
	close(rs.fd[1]);
	cap_reader_free(r);
	unlink(shrink_path);
	free(img);
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
	tcase_add_test(tc, pcapng_unsupported_interface);
	tcase_add_test(tc, consumer_stops);
	tcase_add_test(tc, another_thread_fills_ahead_of_the_reader);
	tcase_add_test(tc, file_changed_while_read);
	tcase_add_test(tc, read_packets_are_stable);
	tcase_add_test(tc, stable_packets_are_released_behind_the_reader);
	tcase_add_test(tc, a_writer_waits_for_held_packets);
	tcase_add_test(tc, free_null);
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
