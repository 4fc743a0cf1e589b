/*
 * capture.c - reading packet capture files (see capture.h).
 *
 * A regular file that is not gzip is mapped into memory, and the mapping
 * is the buffer of the stdio FILE that libpcap reads (fopencookie): the
 * stream's one "read" finds the bytes already in place, so each packet is
 * copied once, by libpcap, straight from the page cache, with no read(2)
 * (which is a third of a bare libpcap read loop's time).  If the mapping
 * cannot be made, the file is read through a stdio FILE with a large
 * buffer.  A file is mapped only under a read lease (fcntl F_SETLEASE):
 * another process that opens it for writing or truncates it then waits
 * while the kernel tells this one (SIGIO); the handler gives the lease
 * back and the reader stops before the next packet, with "the file was
 * changed while it was being read" (exit 3), so no byte of a changed
 * file is handed on.  A file that cannot be leased (open for writing
 * elsewhere, owned by another user) is read with read(2).  Should a page
 * vanish all the same, SIGBUS is caught and a zero page put in its place,
 * with the same result.  Anything else
 * (a gzip file, standard input, a pipe) is
 * read through zlib (gzdopen): zlib decompresses gzip and passes other
 * bytes through unchanged, so pipes need no format guess before they are
 * read.  The first bytes are peeked to choose the format:
 *
 *  - pcap (any byte order, microsecond or nanosecond) is read by libpcap:
 *    a plain regular file is handed to it as its FILE, rewound; any other
 *    source through a FILE made with fopencookie() that first replays the
 *    peeked bytes and then reads from zlib.  (zlib's pass-through and the
 *    cookie each copy every byte once more: a third of the time of a
 *    bare libpcap read on large plain files.)
 *  - pcapng is read by the small block reader below, not by libpcap.
 *    libpcap 1.10 refuses a section whose interfaces have different link
 *    types ("an interface has a type 101 different from the type of the
 *    first interface"), and such files are common (any capture on "any"
 *    written by dumpcap, or one merged from Ethernet and tunnel
 *    interfaces).  The reader handles SHBs of either byte order, IDBs
 *    with if_tsresol and if_tsoffset, EPBs, SPBs and OPBs, and skips
 *    every other block; each length is checked before use.
 *
 * The BPF filter is still libpcap's: one program per link type, compiled
 * on a pcap_open_dead() handle the first time that link type is seen and
 * run with pcap_offline_filter().  Programs are kept for the reader's
 * life, so a filter is compiled once per link type, not once per file.
 *
 * Nothing is allocated per packet: libpcap reuses its buffer, and the
 * pcapng reader reuses one block buffer that grows to the largest block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include <zlib.h>

#include "cap_int.h"
#include "capture.h"
#include "wire.h"

/* Largest pcapng block accepted; libpcap uses the same bound. */
#define CAP_NG_MAX_BLOCK	(16u << 20)
/* Interfaces per pcapng section; more is taken as a corrupt file. */
#define CAP_NG_MAX_IFACES	65536u
/* Distinct link types with a compiled filter. */
#define CAP_MAX_FILTERS		16
/* stdio buffer of a plain file: one read() per 256 KiB, not per 4 KiB. */
#define CAP_READ_BUF		(256 * 1024u)
/* Snapshot length given to pcap_open_dead() for filter compilation. */
#define CAP_DEAD_SNAPLEN	262144
/* Bytes peeked at the start of a file: a whole pcap file header. */
#define CAP_PEEK		24

#define CAP_NG_SHB		0x0A0D0D0Au
#define CAP_NG_IDB		1u
#define CAP_NG_OPB		2u
#define CAP_NG_SPB		3u
#define CAP_NG_EPB		6u
#define CAP_NG_BOM		0x1A2B3C4Du

static const struct {
	const char *name;
	const char *desc;
} cap_error_table[] = {
#define CAP_ERROR_ROW(e, name, desc) { name, desc },
	CAP_ERRORS(CAP_ERROR_ROW)
#undef CAP_ERROR_ROW
};

/* The byte source of one file: zlib (or a caller's FILE *, read as is,
 * for cap_read_stream()) plus the peeked prefix. */
struct cap_src {
	gzFile gz;
	FILE *fp;                /* used instead of gz when set */
	FILE *own;               /* a plain regular file: fp, owned */
	int mapped;              /* own reads a mapping of the file */
	uint8_t peek[CAP_PEEK];
	size_t peek_len;
	size_t peek_off;
	int failed;              /* zlib reported an error */
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
	void *user;
	struct cap_stats st;
	const char *name;        /* file being read, for messages and packets */
	char errmsg[2048];
	struct cap_filter filters[CAP_MAX_FILTERS];
	int nfilters;
	/* pcapng state */
	uint8_t *blk;
	size_t blk_cap;
	struct cap_iface *ifs;
	size_t nifs;
	size_t ifs_cap;
	int big;                 /* current section is big-endian */
	int in_section;
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
	int stable;              /* data points into the file's mapping */
	int delivered_stable;    /* a packet was handed on that way */
};

const char *cap_error_name(enum cap_error err)
{
	if ((unsigned)err >= CAP_ERR__COUNT)
		return "unknown";
	return cap_error_table[err].name;
}

const char *cap_error_desc(enum cap_error err)
{
	if ((unsigned)err >= CAP_ERR__COUNT)
		return "unknown error";
	return cap_error_table[err].desc;
}

static enum cap_error cap_fail(struct cap_reader *r, enum cap_error err,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum cap_error cap_fail(struct cap_reader *r, enum cap_error err,
			       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

/* ---- link types --------------------------------------------------- */

/*
 * Maps a DLT_ or LINKTYPE_ value to the CAP_LINK_ value the ip stage
 * expects, or -1 when unsupported.  DLT_RAW is 12 on most systems and 14
 * on OpenBSD while files say LINKTYPE_RAW (101); all become CAP_LINK_RAW.
 */
static int cap_link_canonical(int v)
{
	switch (v) {
	case 12:
	case 14:
	case CAP_LINK_RAW:
		return CAP_LINK_RAW;
	case CAP_LINK_NULL:
	case CAP_LINK_EN10MB:
	case CAP_LINK_LOOP:
	case CAP_LINK_LINUX_SLL:
	case CAP_LINK_LINUX_SLL2:
	case CAP_LINK_IPV4:
	case CAP_LINK_IPV6:
		return v;
	}
	if (v == DLT_LOOP)
		return CAP_LINK_LOOP;
	return -1;
}

/* The DLT_ value libpcap's compiler wants for a canonical link type. */
static int cap_link_dlt(int linktype)
{
	if (linktype == CAP_LINK_RAW)
		return DLT_RAW;
	if (linktype == CAP_LINK_LOOP)
		return DLT_LOOP;
	return linktype;
}

static enum cap_error cap_fail_link(struct cap_reader *r, int v,
				    const char *where)
{
	const char *n = pcap_datalink_val_to_name(v);

	if (n == NULL)
		return cap_fail(r, CAP_ERR_LINKTYPE,
				"%s: %sunsupported link-layer type %d",
				r->name, where, v);
	return cap_fail(r, CAP_ERR_LINKTYPE,
			"%s: %sunsupported link-layer type %s (%d)", r->name,
			where, n, v);
}

/* ---- filters ------------------------------------------------------ */

/*
 * Sets *idx_r to the compiled filter for linktype (canonical), compiling
 * it on first use; -1 when the reader has no filter.  Returns CAP_OK,
 * CAP_ERR_FILTER (message from libpcap) or CAP_ERR_NOMEM.
 */
static enum cap_error cap_filter_get(struct cap_reader *r, int linktype,
				     int *idx_r)
{
	pcap_t *dead;
	int i;

	*idx_r = -1;
	if (r->filter_expr == NULL)
		return CAP_OK;
	for (i = 0; i < r->nfilters; i++) {
		if (r->filters[i].linktype == linktype) {
			*idx_r = i;
			return CAP_OK;
		}
	}
	if (r->nfilters == CAP_MAX_FILTERS)
		return cap_fail(r, CAP_ERR_FILTER,
				"%s: more than %d link types to filter",
				r->name, CAP_MAX_FILTERS);
	dead = pcap_open_dead(cap_link_dlt(linktype), CAP_DEAD_SNAPLEN);
	if (dead == NULL)
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	if (pcap_compile(dead, &r->filters[i].prog, r->filter_expr, 1,
			 PCAP_NETMASK_UNKNOWN) != 0) {
		cap_fail(r, CAP_ERR_FILTER, "%s: filter \"%s\": %s", r->name,
			 r->filter_expr, pcap_geterr(dead));
		pcap_close(dead);
		return CAP_ERR_FILTER;
	}
	pcap_close(dead);
	r->filters[i].linktype = linktype;
	r->nfilters++;
	*idx_r = i;
	return CAP_OK;
}

/* Counts a packet, filters it and hands it on.  Returns CAP_OK or
 * CAP_ERR_STOPPED. */
static enum cap_error cap_deliver(struct cap_reader *r,
				  const struct cap_raw *raw)
{
	struct cap_packet pkt;

	r->st.frames++;
	r->st.bytes += raw->caplen;
	if (raw->filter >= 0) {
		struct pcap_pkthdr h;

		memset(&h, 0, sizeof(h));
		h.caplen = raw->caplen;
		h.len = raw->len;
		if (pcap_offline_filter(&r->filters[raw->filter].prog, &h,
					raw->data) == 0)
			return CAP_OK;
	}
	r->st.frames_passed++;
	pkt.frame = r->st.frames;
	pkt.ts_sec = raw->sec;
	pkt.ts_nsec = raw->nsec;
	pkt.ts_nano = raw->nano;
	pkt.linktype = raw->linktype;
	pkt.data = raw->data;
	pkt.caplen = raw->caplen;
	pkt.len = raw->len;
	pkt.file = r->name;
	pkt.stable = raw->stable;
	if (r->cb.on_packet != NULL && r->cb.on_packet(r->user, &pkt) != 0)
		return cap_fail(r, CAP_ERR_STOPPED, "%s: frame %llu: %s",
				r->name, (unsigned long long)pkt.frame,
				cap_error_desc(CAP_ERR_STOPPED));
	return CAP_OK;
}

/* ---- byte source -------------------------------------------------- */

/* Reads up to n bytes; returns the count (short only at end of file), or
 * -1 when zlib fails (src->failed is then set). */
static ssize_t cap_src_read(struct cap_src *src, void *buf, size_t n)
{
	uint8_t *out = buf;
	size_t done = 0;

	if (src->peek_off < src->peek_len) {
		done = src->peek_len - src->peek_off;
		if (done > n)
			done = n;
		memcpy(out, src->peek + src->peek_off, done);
		src->peek_off += done;
	}
	while (done < n) {
		size_t want = n - done;
		int got;

		if (want > (1u << 30))
			want = 1u << 30;
		if (src->fp != NULL) {
			got = (int)fread(out + done, 1, want, src->fp);
			if (got == 0 && ferror(src->fp))
				got = -1;
		} else {
			got = gzread(src->gz, out + done, (unsigned)want);
		}
		if (got < 0) {
			src->failed = 1;
			break;
		}
		if (got == 0)
			break;
		done += (size_t)got;
	}
	/* Bytes read before an error are returned first; zlib's error is
	 * sticky, so the next call reports it. */
	if (done == 0 && src->failed)
		return -1;
	return (ssize_t)done;
}

static ssize_t cap_cookie_read(void *cookie, char *buf, size_t n)
{
	ssize_t got = cap_src_read(cookie, buf, n);

	if (got < 0)
		errno = EIO;
	return got;
}

/* The source outlives the FILE: cap_read_file() closes zlib itself. */
static int cap_cookie_close(void *cookie)
{
	(void)cookie;
	return 0;
}

static const cookie_io_functions_t cap_cookie_io = {
	.read = cap_cookie_read,
	.write = NULL,
	.seek = NULL,
	.close = cap_cookie_close,
};

/* zlib's error code; Z_OK for a FILE * source, which has no zlib. */
static int cap_src_zerr(struct cap_src *src)
{
	int zerr = Z_OK;

	if (src->gz != NULL)
		(void)gzerror(src->gz, &zerr);
	return zerr;
}

/* zlib's error text without the "<fd:N>: " it puts in front. */
static const char *cap_gz_reason(struct cap_src *src)
{
	int zerr;
	const char *z, *sep;

	if (src->gz == NULL)
		return "read error";
	z = gzerror(src->gz, &zerr);

	if (strncmp(z, "<fd:", 4) == 0 && (sep = strstr(z, ">: ")) != NULL)
		return sep + 3;
	return z;
}

/*
 * Text for a read failure: `fallback` (the reader's own words), followed
 * by zlib's reason when zlib saw an error or a gzip stream that ends
 * early.  zlib reports the latter as a soft error (Z_BUF_ERROR) and
 * otherwise just returns end of file.  Lives until the next call.
 */
static const char *cap_src_error(struct cap_src *src, const char *fallback)
{
	int zerr = cap_src_zerr(src);

	if (src->mapped && cap_map_shrank()) {
		snprintf(src->text, sizeof(src->text),
			 "%s (the file was changed while it was being read)", fallback);
		return src->text;
	}
	if (!src->failed && zerr != Z_BUF_ERROR)
		return fallback;
	snprintf(src->text, sizeof(src->text), "%s (gzip: %s)", fallback,
		 cap_gz_reason(src));
	return src->text;
}

/* At a clean end of the capture data: fails when the gzip stream itself
 * was cut (its trailer is missing), because data may be missing too. */
static enum cap_error cap_src_eof(struct cap_reader *r, struct cap_src *src)
{
	int zerr = cap_src_zerr(src);

	if (!src->failed && zerr != Z_BUF_ERROR)
		return CAP_OK;
	return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: gzip: %s",
			r->name, (unsigned long long)r->st.frames + 1,
			cap_gz_reason(src));
}

/* ---- pcap through libpcap ----------------------------------------- */

/* The size of a record header of the pcap file with magic m (16, or 24
 * for the "modified" format), or 0 when m is no pcap magic. */
static size_t cap_pcap_magic(const uint8_t *m)
{
	static const struct {
		uint8_t magic[4];
		size_t hdr;
	} magics[] = {
		{ { 0xa1, 0xb2, 0xc3, 0xd4 }, 16 }, { { 0xd4, 0xc3, 0xb2, 0xa1 }, 16 },
		{ { 0xa1, 0xb2, 0x3c, 0x4d }, 16 }, { { 0x4d, 0x3c, 0xb2, 0xa1 }, 16 },
		{ { 0xa1, 0xb2, 0xcd, 0x34 }, 24 }, { { 0x34, 0xcd, 0xb2, 0xa1 }, 24 },
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (memcmp(m, magics[i].magic, 4) == 0)
			return magics[i].hdr;
	return 0;
}

/* libpcap converts to the requested (nano) precision but does not say
 * what the file had; the magic does. */
static int cap_pcap_is_nano(const uint8_t *m)
{
	return (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d) ||
	       (m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1);
}

static enum cap_error cap_pcap_loop(struct cap_reader *r, pcap_t *p,
				    struct cap_src *src, struct cap_raw *raw)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	enum cap_error err;
	int rc;

	/* In a mapped file each packet's bytes lie in the mapping right
	 * after its 16-byte record header: the packet is handed on from
	 * there, where it stays until the file is closed, instead of from
	 * libpcap's buffer, which the next packet overwrites. */
	struct cap_map *map = src->mapped && r->cb.on_unstable != NULL &&
			      cap_pcap_magic(src->peek) == 16 ? cap_map_current() : NULL;
	uint64_t pos = CAP_PEEK;
	int checked = 0;

	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (src->mapped && (r->st.frames & 511) == 0)
			cap_map_trim(r->st.frames);
		/* The lease was broken, or a page vanished, while this packet
		 * was read: it may hold bytes of the changed file. */
		if (src->mapped && cap_map_changed())
			return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s",
					r->name, (unsigned long long)r->st.frames + 1,
					cap_src_error(src, "read error"));
		raw->sec = h->ts.tv_sec;
		/* With nanosecond precision requested, tv_usec holds ns. */
		raw->nsec = (uint32_t)h->ts.tv_usec;
		raw->data = data;
		raw->caplen = h->caplen;
		raw->len = h->len;
		raw->stable = 0;
		if (map != NULL) {
			const uint8_t *at = cap_map_packet(map, pos, data,
							   h->caplen, !checked);

			checked = 1;
			if (at != NULL) {
				if (!raw->delivered_stable)
					cap_map_hold(r->cb.on_release, r->user);
				raw->data = at;
				raw->stable = 1;
				raw->delivered_stable = 1;
				pos += 16 + (uint64_t)h->caplen;
			} else {
				map = NULL;   /* lost track: libpcap's copy */
			}
		}
		err = cap_deliver(r, raw);
		if (err != CAP_OK)
			return err;
	}
	if (rc == PCAP_ERROR_BREAK)
		return cap_src_eof(r, src);
	return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s", r->name,
			(unsigned long long)r->st.frames + 1,
			cap_src_error(src, pcap_geterr(p)));
}

static enum cap_error cap_read_pcap(struct cap_reader *r, struct cap_src *src)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct cap_raw raw;
	enum cap_error err;
	pcap_t *p;
	FILE *f;
	int dlt;

	if (src->peek_len < CAP_PEEK)
		return cap_fail(r, CAP_ERR_CORRUPT,
				"%s: frame %llu: truncated pcap file header",
				r->name, (unsigned long long)r->st.frames + 1);
	memset(&raw, 0, sizeof(raw));
	raw.nano = cap_pcap_is_nano(src->peek);
	if (src->own != NULL && fseeko(src->own, 0, SEEK_SET) == 0) {
		/* libpcap reads (and closes) the file itself. */
		f = src->own;
		src->own = src->fp = NULL;
	} else {
		f = fopencookie(src, "rb", cap_cookie_io);
	}
	if (f == NULL)
		return cap_fail(r, CAP_ERR_NOMEM, "%s: %s", r->name,
				strerror(errno));
	errbuf[0] = '\0';
	p = pcap_fopen_offline_with_tstamp_precision(f,
	    PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL) {
		/* libpcap leaves the FILE open when it fails. */
		fclose(f);
		return cap_fail(r, CAP_ERR_FORMAT, "%s: %s", r->name,
				cap_src_error(src, errbuf));
	}
	dlt = pcap_datalink(p);
	raw.linktype = cap_link_canonical(dlt);
	if (raw.linktype < 0)
		err = cap_fail_link(r, dlt, "");
	else
		err = cap_filter_get(r, raw.linktype, &raw.filter);
	if (err == CAP_OK)
		err = cap_pcap_loop(r, p, src, &raw);
	/* Closing the stream unmaps the file. */
	if (raw.delivered_stable && r->cb.on_unstable != NULL)
		r->cb.on_unstable(r->user);
	pcap_close(p);
	return err;
}

/* ---- pcapng ------------------------------------------------------- */

static uint16_t cap_ng16(const struct cap_reader *r, const uint8_t *p)
{
	return r->big ? wire_be16(p) : wire_le16(p);
}

static uint32_t cap_ng32(const struct cap_reader *r, const uint8_t *p)
{
	return r->big ? wire_be32(p) : wire_le32(p);
}

static enum cap_error cap_ng_corrupt(struct cap_reader *r, const char *what)
{
	return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s", r->name,
			(unsigned long long)r->st.frames + 1, what);
}

/* Converts a pcapng timestamp in interface units to seconds and ns. */
static void cap_ng_time(const struct cap_iface *ifc, uint64_t ts,
			struct cap_raw *raw)
{
	static const uint64_t p10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
		10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
		100000000000ull, 1000000000000ull, 10000000000000ull,
		100000000000000ull, 1000000000000000ull,
		10000000000000000ull, 100000000000000000ull,
		1000000000000000000ull, 10000000000000000000ull,
	};
	uint64_t sec, frac;
	unsigned b = ifc->exp;

	if (ifc->pow2) {
		sec = b == 0 ? ts : ts >> b;
		frac = b == 0 ? 0 : ts & ((1ull << b) - 1);
		/* frac * 1e9 must fit in 64 bits: keep 34 bits of it. */
		if (b > 34) {
			frac >>= b - 34;
			b = 34;
		}
		raw->nsec = (uint32_t)((frac * 1000000000ull) >> b);
	} else {
		sec = ts / p10[b];
		frac = ts % p10[b];
		raw->nsec = (uint32_t)(b <= 9 ? frac * p10[9 - b] :
				       frac / p10[b - 9]);
	}
	raw->sec = (int64_t)sec + ifc->tsoffset;
	raw->nano = ifc->nano;
}

/* Parses IDB options; returns CAP_OK or CAP_ERR_CORRUPT. */
static enum cap_error cap_ng_idb_options(struct cap_reader *r,
					 struct cap_iface *ifc,
					 const uint8_t *b, size_t len)
{
	size_t off = 8;

	while (WIRE_HAS(len, off, 4)) {
		uint16_t code = cap_ng16(r, b + off);
		uint16_t olen = cap_ng16(r, b + off + 2);
		const uint8_t *v = b + off + 4;

		if (code == 0)
			break;
		if (!WIRE_HAS(len, off + 4, olen))
			return cap_ng_corrupt(r, "pcapng option runs past its block");
		if (code == 9 && olen >= 1) {            /* if_tsresol */
			ifc->pow2 = (v[0] & 0x80) != 0;
			ifc->exp = v[0] & 0x7f;
			if ((ifc->pow2 && ifc->exp > 63) ||
			    (!ifc->pow2 && ifc->exp > 19))
				return cap_ng_corrupt(r, "bad pcapng if_tsresol");
		} else if (code == 14 && olen == 8) {    /* if_tsoffset */
			uint64_t hi = cap_ng32(r, v), lo = cap_ng32(r, v + 4);

			ifc->tsoffset = (int64_t)(hi << 32 | lo);
		}
		off += 4 + (((size_t)olen + 3) & ~(size_t)3);
	}
	return CAP_OK;
}

static enum cap_error cap_ng_idb(struct cap_reader *r, const uint8_t *b,
				 size_t len)
{
	struct cap_iface ifc;
	enum cap_error err;
	int raw_type;

	if (!WIRE_HAS(len, 0, 8))
		return cap_ng_corrupt(r, "pcapng interface block too short");
	if (r->nifs == CAP_NG_MAX_IFACES)
		return cap_ng_corrupt(r, "too many pcapng interfaces");
	memset(&ifc, 0, sizeof(ifc));
	raw_type = cap_ng16(r, b);
	ifc.snaplen = cap_ng32(r, b + 4);
	ifc.exp = 6;
	err = cap_ng_idb_options(r, &ifc, b, len);
	if (err != CAP_OK)
		return err;
	ifc.nano = ifc.pow2 ? ifc.exp > 19 : ifc.exp > 6;
	ifc.linktype = cap_link_canonical(raw_type);
	ifc.supported = ifc.linktype >= 0;
	ifc.filter = -1;
	if (!ifc.supported) {
		/* Reported when a packet arrives: an unused interface of
		 * another type must not stop the file. */
		ifc.linktype = raw_type;
	} else {
		err = cap_filter_get(r, ifc.linktype, &ifc.filter);
		if (err != CAP_OK)
			return err;
	}
	if (r->nifs == r->ifs_cap) {
		size_t ncap = r->ifs_cap ? r->ifs_cap * 2 : 8;
		struct cap_iface *n = realloc(r->ifs, ncap * sizeof(*n));

		if (n == NULL)
			return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory",
					r->name);
		r->ifs = n;
		r->ifs_cap = ncap;
	}
	r->ifs[r->nifs++] = ifc;
	return CAP_OK;
}

/* Checks the interface of a packet block and fills link fields. */
static enum cap_error cap_ng_iface(struct cap_reader *r, uint32_t id,
				   struct cap_raw *raw,
				   const struct cap_iface **ifc_r)
{
	const struct cap_iface *ifc;
	char where[64];

	if (id >= r->nifs)
		return cap_ng_corrupt(r, "packet for an undeclared pcapng interface");
	ifc = &r->ifs[id];
	if (!ifc->supported) {
		snprintf(where, sizeof(where), "frame %llu: interface %u: ",
			 (unsigned long long)r->st.frames + 1, id);
		return cap_fail_link(r, ifc->linktype, where);
	}
	raw->linktype = ifc->linktype;
	raw->filter = ifc->filter;
	*ifc_r = ifc;
	return CAP_OK;
}

/* EPB (type 6) and OPB (type 2): same layout after the interface id. */
static enum cap_error cap_ng_packet(struct cap_reader *r, uint32_t type,
				    const uint8_t *b, size_t len)
{
	const struct cap_iface *ifc;
	struct cap_raw raw;
	enum cap_error err;
	uint32_t id;
	uint64_t ts;

	if (!WIRE_HAS(len, 0, 20))
		return cap_ng_corrupt(r, "pcapng packet block too short");
	id = type == CAP_NG_EPB ? cap_ng32(r, b) : cap_ng16(r, b);
	memset(&raw, 0, sizeof(raw));
	err = cap_ng_iface(r, id, &raw, &ifc);
	if (err != CAP_OK)
		return err;
	raw.caplen = cap_ng32(r, b + 12);
	raw.len = cap_ng32(r, b + 16);
	if (!WIRE_HAS(len, 20, raw.caplen))
		return cap_ng_corrupt(r, "pcapng packet longer than its block");
	ts = (uint64_t)cap_ng32(r, b + 4) << 32 | cap_ng32(r, b + 8);
	cap_ng_time(ifc, ts, &raw);
	raw.data = b + 20;
	return cap_deliver(r, &raw);
}

/* SPB: interface 0, no timestamp, captured length implied. */
static enum cap_error cap_ng_simple(struct cap_reader *r, const uint8_t *b,
				    size_t len)
{
	const struct cap_iface *ifc;
	struct cap_raw raw;
	enum cap_error err;

	if (!WIRE_HAS(len, 0, 4))
		return cap_ng_corrupt(r, "pcapng simple packet block too short");
	memset(&raw, 0, sizeof(raw));
	err = cap_ng_iface(r, 0, &raw, &ifc);
	if (err != CAP_OK)
		return err;
	raw.len = cap_ng32(r, b);
	raw.caplen = raw.len;
	if (raw.caplen > len - 4)
		raw.caplen = (uint32_t)(len - 4);
	if (ifc->snaplen != 0 && raw.caplen > ifc->snaplen)
		raw.caplen = ifc->snaplen;
	raw.nano = ifc->nano;
	raw.data = b + 4;
	return cap_deliver(r, &raw);
}

static enum cap_error cap_ng_shb(struct cap_reader *r, const uint8_t *b,
				 size_t len)
{
	if (!WIRE_HAS(len, 0, 16))
		return cap_ng_corrupt(r, "pcapng section header too short");
	if (cap_ng16(r, b + 4) != 1)
		return cap_fail(r, CAP_ERR_FORMAT,
				"%s: unsupported pcapng version %u.%u", r->name,
				cap_ng16(r, b + 4), cap_ng16(r, b + 6));
	/* Interfaces are numbered per section. */
	r->nifs = 0;
	r->in_section = 1;
	return CAP_OK;
}

static int cap_ng_grow(struct cap_reader *r, size_t need)
{
	size_t ncap = r->blk_cap ? r->blk_cap : 65536;
	uint8_t *n;

	while (ncap < need)
		ncap *= 2;
	n = realloc(r->blk, ncap);
	if (n == NULL)
		return -1;
	r->blk = n;
	r->blk_cap = ncap;
	return 0;
}

/*
 * Reads the next block into r->blk.  Sets *type_r and *len_r (total block
 * length).  Returns CAP_OK, CAP_OK with *len_r == 0 at a clean end of
 * file, or an error.
 */
static enum cap_error cap_ng_next(struct cap_reader *r, struct cap_src *src,
				  uint32_t *type_r, uint32_t *len_r)
{
	uint8_t hdr[12];
	ssize_t got;
	uint32_t type, len;
	size_t hlen = 8;

	*len_r = 0;
	got = cap_src_read(src, hdr, 8);
	if (got == 0)
		return CAP_OK;
	if (got != 8)
		return cap_ng_corrupt(r, cap_src_error(src,
		    "truncated pcapng block header"));
	type = wire_le32(hdr);
	if (type == CAP_NG_SHB) {
		/* The byte-order magic tells how to read the length. */
		if (cap_src_read(src, hdr + 8, 4) != 4)
			return cap_ng_corrupt(r, cap_src_error(src,
			    "truncated pcapng section header"));
		if (wire_le32(hdr + 8) == CAP_NG_BOM)
			r->big = 0;
		else if (wire_be32(hdr + 8) == CAP_NG_BOM)
			r->big = 1;
		else
			return cap_ng_corrupt(r, "bad pcapng byte-order magic");
		hlen = 12;
	} else if (!r->in_section) {
		return cap_fail(r, CAP_ERR_FORMAT,
				"%s: pcapng file does not start with a section header",
				r->name);
	}
	type = cap_ng32(r, hdr);
	len = cap_ng32(r, hdr + 4);
	if (len < hlen + 4 || len % 4 != 0 || len > CAP_NG_MAX_BLOCK) {
		char what[64];

		snprintf(what, sizeof(what), "bad pcapng block length %u", len);
		return cap_ng_corrupt(r, what);
	}
	if (len > r->blk_cap && cap_ng_grow(r, len) != 0)
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	memcpy(r->blk, hdr, hlen);
	got = cap_src_read(src, r->blk + hlen, len - hlen);
	if (got != (ssize_t)(len - hlen))
		return cap_ng_corrupt(r, cap_src_error(src,
		    "truncated pcapng block"));
	if (cap_ng32(r, r->blk + len - 4) != len)
		return cap_ng_corrupt(r,
		    "pcapng block lengths in header and trailer differ");
	*type_r = type;
	*len_r = len;
	return CAP_OK;
}

static enum cap_error cap_read_pcapng(struct cap_reader *r,
				      struct cap_src *src)
{
	enum cap_error err;
	uint32_t type, len;
	uint64_t nblocks = 0;

	r->nifs = 0;
	r->in_section = 0;
	for (;;) {
		const uint8_t *body;
		size_t blen;

		err = cap_ng_next(r, src, &type, &len);
		if (err != CAP_OK)
			return err;
		if (len == 0)
			return cap_src_eof(r, src);
		if (src->mapped && (++nblocks & 511) == 0)
			cap_map_trim(r->st.frames);
		/* As for pcap: a block read after the file changed is not used. */
		if (src->mapped && cap_map_changed())
			return cap_ng_corrupt(r, cap_src_error(src, "read error"));
		body = r->blk + 8;
		blen = len - 12;
		switch (type) {
		case CAP_NG_SHB:
			err = cap_ng_shb(r, body, blen);
			break;
		case CAP_NG_IDB:
			err = cap_ng_idb(r, body, blen);
			break;
		case CAP_NG_EPB:
		case CAP_NG_OPB:
			err = cap_ng_packet(r, type, body, blen);
			break;
		case CAP_NG_SPB:
			err = cap_ng_simple(r, body, blen);
			break;
		default:
			/* NRB, ISB, DSB, custom blocks: nothing to use. */
			break;
		}
		if (err != CAP_OK)
			return err;
	}
}

/* ---- files -------------------------------------------------------- */

/* Reads the first bytes of a new source into its peek buffer. */
static enum cap_error cap_src_peek(struct cap_reader *r, struct cap_src *src)
{
	ssize_t got;

	got = cap_src_read(src, src->peek, sizeof(src->peek));
	if (got < 0)
		return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s%s",
				r->name, (unsigned long long)r->st.frames + 1,
				src->gz != NULL ? "gzip: " : "",
				cap_gz_reason(src));
	src->peek_len = (size_t)got;
	src->peek_off = 0;
	return CAP_OK;
}

/* True for a regular file that does not start with gzip's magic. */
static int cap_fd_is_plain_file(int fd, uint64_t *size_r)
{
	struct stat st;
	uint8_t m[2];

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	*size_r = (uint64_t)st.st_size;
	return pread(fd, m, 2, 0) != 2 || m[0] != 0x1f || m[1] != 0x8b;
}

static enum cap_error cap_open_src(struct cap_reader *r, const char *path,
				   struct cap_src *src)
{
	uint64_t size = 0;
	int fd;

	memset(src, 0, sizeof(*src));
	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);  /* gzclose must not close fd 0 */
	else
		fd = open(path, O_RDONLY);
	if (fd < 0)
		return cap_fail(r, CAP_ERR_OPEN, "%s: %s", r->name,
				strerror(errno));
	if (cap_fd_is_plain_file(fd, &size)) {
		src->own = cap_map_open(fd, size);
		src->mapped = src->own != NULL;
		/* glibc gives a stream opened on a file a buffer of the size
		 * asked for even with buf NULL. */
		if (src->own == NULL && (src->own = fdopen(fd, "rb")) != NULL)
			setvbuf(src->own, NULL, _IOFBF, CAP_READ_BUF);
		if (src->own == NULL) {
			close(fd);
			return cap_fail(r, CAP_ERR_NOMEM, "%s: %s", r->name,
					strerror(errno));
		}
		src->fp = src->own;
		return cap_src_peek(r, src);
	}
	src->gz = gzdopen(fd, "rb");
	if (src->gz == NULL) {
		close(fd);
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	}
	gzbuffer(src->gz, 1u << 17);
	return cap_src_peek(r, src);
}

static enum cap_error cap_dispatch(struct cap_reader *r, struct cap_src *src)
{
	static const uint8_t ng_magic[4] = { 0x0a, 0x0d, 0x0d, 0x0a };

	if (src->peek_len == 0)
		return cap_fail(r, CAP_ERR_FORMAT,
				"%s: empty file, not a pcap or pcapng capture",
				r->name);
	if (src->peek_len >= 4 && memcmp(src->peek, ng_magic, 4) == 0)
		return cap_read_pcapng(r, src);
	if (src->peek_len >= 4 && cap_pcap_magic(src->peek))
		return cap_read_pcap(r, src);
	return cap_fail(r, CAP_ERR_FORMAT,
			"%s: not a pcap or pcapng capture (unknown magic)",
			r->name);
}

enum cap_error cap_read_file(struct cap_reader *r, const char *path)
{
	struct cap_src src;
	enum cap_error err;

	r->errmsg[0] = '\0';
	/* Standard input is named "<stdin>" in messages and packets. */
	r->name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	err = cap_open_src(r, path, &src);
	if (err == CAP_OK) {
		r->st.files++;
		err = cap_dispatch(r, &src);
	}
	if (src.gz != NULL)
		gzclose(src.gz);
	if (src.own != NULL)
		fclose(src.own);
	return err;
}

enum cap_error cap_read_stream(struct cap_reader *r, FILE *fp,
			       const char *name)
{
	struct cap_src src;
	enum cap_error err;

	r->errmsg[0] = '\0';
	r->name = name;
	memset(&src, 0, sizeof(src));
	src.fp = fp;
	err = cap_src_peek(r, &src);
	if (err == CAP_OK) {
		r->st.files++;
		err = cap_dispatch(r, &src);
	}
	return err;
}

struct cap_reader *cap_reader_new(const char *filter,
				  const struct cap_callbacks *cb, void *user)
{
	struct cap_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (filter != NULL && filter[0] != '\0') {
		r->filter_expr = strdup(filter);
		if (r->filter_expr == NULL) {
			free(r);
			return NULL;
		}
	}
	if (cb != NULL)
		r->cb = *cb;
	r->user = user;
	r->name = "";
	return r;
}

const char *cap_reader_errmsg(const struct cap_reader *r)
{
	return r->errmsg;
}

void cap_reader_stats(const struct cap_reader *r, struct cap_stats *st_r)
{
	*st_r = r->st;
}

void cap_reader_free(struct cap_reader *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfilters; i++)
		pcap_freecode(&r->filters[i].prog);
	free(r->filter_expr);
	free(r->blk);
	free(r->ifs);
	free(r);
}
