/*
 * cap_int.h - internals of the capture stage shared by its files:
 *
 *   capture.c   the reader object, link types, filters, delivery, files
 *   cap_src.c   byte sources: plain files, decompressed streams, the
 *               peeked prefix
 *   cap_dec.c   gzip, zstd and lz4 (and pipes) decompressed on a thread
 *   cap_pcap.c  pcap through libpcap, packets handed on from the mapping
 *   cap_ng.c    the pcapng block reader
 *   cap_map.c   the mapping of a plain file and the leases on its bytes
 *               (its own header, cap_map.h)
 *   cap_dsb.c   the pre-scan for pcapng Decryption Secrets Blocks
 *
 * Nothing outside the stage includes this.
 */
#ifndef IMT_CAP_INT_H
#define IMT_CAP_INT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <pcap/pcap.h>

#include "cap_map.h"
#include "capture.h"

/* Distinct link types with a compiled filter. */
#define CAP_MAX_FILTERS		16
/* Bytes peeked at the start of a file: a whole pcap file header. */
#define CAP_PEEK		24

/* pcapng (cap_ng.c, cap_dsb.c): largest block accepted (libpcap uses the
 * same bound), section header and Decryption Secrets Block types, and
 * the byte-order magic. */
#define CAP_NG_MAX_BLOCK	(16u << 20)
#define CAP_NG_SHB		0x0A0D0D0Au
#define CAP_NG_DSB		10u
#define CAP_NG_BOM		0x1A2B3C4Du

struct cap_dec;

/* The byte source of one file: a decompressing thread (or a caller's
 * FILE *, read as is, for cap_read_stream()) plus the peeked prefix. */
struct cap_src {
	struct cap_dec *dec;
	FILE *fp;                /* used instead of dec when set */
	FILE *own;               /* a plain regular file: fp, owned */
	struct cap_map *map;     /* own reads this mapping of the file, or NULL */
	uint8_t peek[CAP_PEEK];
	size_t peek_len;
	size_t peek_off;
	int failed;              /* the decompressor reported an error */
	char text[PCAP_ERRBUF_SIZE + 128];  /* cap_src_error()'s result */
};

/* One pcapng interface of the current section. */
struct cap_iface {
	int linktype;            /* canonical CAP_LINK_ value, or the raw one */
	int supported;
	int filter;              /* index in r->filters, -1 = none */
	uint32_t snaplen;
	uint8_t pow2;            /* 1: resolution 2^-exp; 0: 10^-exp */
	uint8_t exp;
	int nano;
	int64_t tsoffset;
};

struct cap_filter {
	int linktype;
	struct bpf_program prog;
};

struct cap_reader {
	char *filter_expr;       /* owned; NULL = no filter */
	struct cap_callbacks cb;
	cap_secrets_fn on_secrets;   /* or NULL */
	int prescan;             /* cap_reader_prescan_secrets() */
	int ahead_off;           /* cap_reader_ahead(r, 0) */
	uint64_t dsb_skip;       /* DSBs of this file the pre-scan handed on */
	void *user;
	struct cap_stats st;
	const char *name;        /* file being read, for messages and packets */
	char errmsg[2048];
	struct cap_filter filters[CAP_MAX_FILTERS];
	int nfilters;
	struct cap_mapper map;   /* the file being read, when mapped */
	/* pcapng state */
	uint8_t *blk;
	size_t blk_cap;
	struct cap_iface *ifs;
	size_t nifs;
	size_t ifs_cap;
	int big;                 /* current section is big-endian */
	int in_section;
	/* A mapped file's blocks are read where they lie in the mapping:
	 * its bytes, and the offset of the block being read. */
	const uint8_t *ng_map;   /* NULL: blocks are copied into blk */
	size_t ng_map_len;
	size_t ng_pos;
	/* Hints run ahead in a mapped file (cap_callbacks.on_ahead): the
	 * blocks after the one being read up to ng_ahead, ng_ahead_n of them,
	 * have been looked at. */
	size_t ng_ahead;
	unsigned ng_ahead_n;
};

/* A packet as the two readers hand it to cap_deliver(). */
struct cap_raw {
	int linktype;
	int filter;
	int64_t sec;
	uint32_t nsec;
	int nano;
	const uint8_t *data;
	uint32_t caplen;
	uint32_t len;
	int leasable;            /* data lies in the mapping being read */
};

/* ---- capture.c ---- */

/* Sets the reader's message; returns err. */
enum cap_error cap_fail(struct cap_reader *r, enum cap_error err,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* CAP_ERR_LINKTYPE, naming link type v; `where` prefixes the reason. */
enum cap_error cap_fail_link(struct cap_reader *r, int v, const char *where);
/* The CAP_LINK_ value of a DLT_ or LINKTYPE_ value, or -1. */
int cap_link_canonical(int v);
/* Sets *idx_r to linktype's compiled filter (-1: none); CAP_OK, or
 * CAP_ERR_FILTER / CAP_ERR_NOMEM with the message set. */
enum cap_error cap_filter_get(struct cap_reader *r, int linktype,
			      int *idx_r);
/* Counts, filters and hands on a packet: CAP_OK or CAP_ERR_STOPPED. */
enum cap_error cap_deliver(struct cap_reader *r, const struct cap_raw *raw);

/* ---- cap_src.c ---- */

/* Opens path ("-": standard input) as src and peeks at its first bytes. */
enum cap_error cap_src_open(struct cap_reader *r, const char *path,
			    struct cap_src *src);
/* src reads fp as it is (not closed); peeks at its first bytes. */
enum cap_error cap_src_open_stream(struct cap_reader *r, FILE *fp,
				   struct cap_src *src);
/* Closes what cap_src_open() opened. */
void cap_src_close(struct cap_src *src);
/* Up to n bytes; the count (short only at the end), or -1 (the
 * decompressor failed). */
ssize_t cap_src_read(struct cap_src *src, void *buf, size_t n);
/* A FILE that reads src from the start, peeked bytes first; closing it
 * leaves src open.  NULL when out of memory. */
FILE *cap_src_stream(struct cap_src *src);
/* `fallback` with the cause of a read failure added; lives in src until
 * the next call. */
const char *cap_src_error(struct cap_src *src, const char *fallback);
/* At a clean end of the data: CAP_OK, or CAP_ERR_CORRUPT when the
 * compressed stream itself was cut or corrupt. */
enum cap_error cap_src_eof(struct cap_reader *r, struct cap_src *src);

/* ---- cap_dec.c ---- */

/* A thread that reads fd (owned from now on) and decompresses it if its
 * first bytes say gzip, zstd or lz4, else passes it on; NULL when out of
 * memory (fd is then still the caller's). */
struct cap_dec *cap_dec_open(int fd);
/* Up to n bytes, waiting for the thread: the count (short only at the
 * end of the data), or -1 once the data is used up and the thread
 * failed (corrupt data, a read error). */
ssize_t cap_dec_read(struct cap_dec *d, uint8_t *buf, size_t n);
/* Why the data ended early ("unexpected end of file" when the input ends
 * inside a frame, the decompressor's reason for corrupt data), once
 * every byte before was read; NULL otherwise. */
const char *cap_dec_error(struct cap_dec *d);
/* "gzip", "zstd", "lz4", or "read" for data passed on as it is. */
const char *cap_dec_format(const struct cap_dec *d);
/* Stops the thread and frees d; closes its fd.  Accepts NULL. */
void cap_dec_close(struct cap_dec *d);

/* ---- cap_pcap.c ---- */

/* The record header size of the pcap magic m (16 or 24), or 0. */
size_t cap_pcap_magic(const uint8_t *m);
enum cap_error cap_read_pcap(struct cap_reader *r, struct cap_src *src);

/* ---- cap_ng.c ---- */

enum cap_error cap_read_pcapng(struct cap_reader *r, struct cap_src *src);

/* ---- cap_dsb.c ---- */

/* Hands every Decryption Secrets Block of the regular pcapng file at
 * path to r->on_secrets, walking its block headers.  Returns how many
 * (0 for standard input, anything but a regular pcapng file, or without
 * on_secrets); stops quietly where the file cannot be read. */
uint64_t cap_dsb_prescan(struct cap_reader *r, const char *path);

#endif
