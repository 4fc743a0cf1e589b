/*
 * cap_pcap.c - pcap files through libpcap, for the capture stage (see
 * cap_int.h).
 *
 * pcap (any byte order, microsecond or nanosecond) is opened by libpcap:
 * a plain regular file is handed to it as its FILE, rewound; any other
 * source through a FILE that first replays the peeked bytes and then
 * reads from zlib (cap_src_stream()).
 *
 * A mapped file (cap_map.c) in this machine's byte order, version 2.4,
 * is walked in place: each 16-byte record header is read where it lies
 * and the packet handed on from there, leasable, with no copy (libpcap's
 * fread of every header and packet was a third of the reading thread's
 * work).  The walk takes only records libpcap would hand on unchanged
 * (captured length within the snapshot length and libpcap's sanity
 * bound); at the first other record libpcap reads on from there, so
 * that it decides what such a record is.  The end of the file, and a
 * file cut within a record, are told in libpcap's words.  Records
 * libpcap reads are found again in the
 * mapping and handed on from there, leasable; the first is compared
 * whole and the others at both ends, so that a reader that lost track
 * falls back on libpcap's copy at once.
 *
 * Layout: magics; the walk in place; the packet loop; opening the file
 * with libpcap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cap_int.h"
#include "wire.h"

/* The size of a record header of the pcap file with magic m (16, or 24
 * for the "modified" format), or 0 when m is no pcap magic. */
size_t cap_pcap_magic(const uint8_t *m)
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

/* libpcap's bound on a captured length for most link types (its
 * max_snaplen_for_dlt()); larger records are left to it. */
#define CAP_PCAP_SANE_CAPLEN	262144u

/* Whether the walk in place may read src: a mapped file whose header
 * says this machine's byte order (libpcap swaps some link types' pseudo
 * headers otherwise) and version 2.4 (earlier versions may have the two
 * lengths swapped). */
static int cap_pcap_walkable(const struct cap_src *src)
{
	static const uint32_t magic_us = 0xa1b2c3d4, magic_ns = 0xa1b23c4d;
	uint32_t magic;
	uint16_t major, minor;

	if (src->map == NULL)
		return 0;
	memcpy(&magic, src->peek, 4);
	memcpy(&major, src->peek + 4, 2);
	memcpy(&minor, src->peek + 6, 2);
	return (magic == magic_us || magic == magic_ns) && major == 2 && minor >= 4;
}

/* Whether libpcap hands on a record of captured length caplen as it is. */
static int cap_pcap_sane(uint32_t caplen, uint32_t snap)
{
	return caplen <= snap && caplen <= CAP_PCAP_SANE_CAPLEN;
}

/* Whether the whole record at pos is in the file and plain; sets
 * *caplen_r. */
static int cap_pcap_plain(const uint8_t *base, size_t len, uint64_t pos,
			  uint32_t snap, uint32_t *caplen_r)
{
	if (!WIRE_HAS(len, pos, 16))
		return 0;
	memcpy(caplen_r, base + pos + 8, 4);
	return cap_pcap_sane(*caplen_r, snap) && WIRE_HAS(len, pos + 16, *caplen_r);
}

/* The end of a file that is cut within a record (want bytes of what,
 * got of them) or that shrank (want 0), in libpcap's words. */
static enum cap_error cap_pcap_cut(struct cap_reader *r, struct cap_src *src,
				   const char *what, uint32_t want, size_t got)
{
	char msg[128];

	if (want == 0)
		snprintf(msg, sizeof(msg), "error reading dump file: %s", strerror(EIO));
	else
		snprintf(msg, sizeof(msg), "truncated dump file; tried to read %u %s "
			 "bytes, only got %zu", want, what, got);
	return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s", r->name,
			(unsigned long long)r->st.frames + 1, cap_src_error(src, msg));
}

/*
 * Hands on the records of the mapped file from *pos_r (a record header)
 * where they lie, as long as they are plain (see the top of the file),
 * up to the end of the file; leaves *pos_r at the first record it did
 * not take.  *end_r: the file ended (cleanly, or cut, which is an error
 * in libpcap's words).  libpcap's conversions are kept: the timestamp
 * fields are signed 32-bit numbers, microseconds are scaled to
 * nanoseconds.
 */
static enum cap_error cap_pcap_walk(struct cap_reader *r, pcap_t *p,
				    struct cap_src *src, struct cap_raw *raw,
				    uint64_t *pos_r, int *end_r)
{
	size_t len;
	const uint8_t *base = cap_map_bytes(src->map, &len);
	uint32_t snap = (uint32_t)pcap_snapshot(p);
	uint64_t pos = *pos_r;
	/* Hints run ahead: the records in [pos, ahead), n of them, have
	 * been shown to on_ahead. */
	uint64_t ahead = pos;
	unsigned n = 0;
	enum cap_error err = CAP_OK;

	*end_r = 0;
	for (;;) {
		int32_t sec, frac;
		uint32_t caplen, wirelen;

		if (ahead < pos) {       /* the look was off */
			ahead = pos;
			n = 0;
		}
		while (r->cb.on_ahead != NULL && !r->ahead_off && n <= CAP_AHEAD &&
		       cap_pcap_plain(base, len, ahead, snap, &caplen)) {
			r->cb.on_ahead(r->user, raw->linktype, base + ahead + 16, caplen);
			ahead += 16 + (uint64_t)caplen;
			n++;
		}

		if (!WIRE_HAS(len, pos, 16)) {
			*end_r = 1;
			if (pos == len && !cap_map_shrank(src->map))
				err = cap_src_eof(r, src);
			else if (pos == len)
				err = cap_pcap_cut(r, src, "", 0, 0);
			else
				err = cap_pcap_cut(r, src, "header", 16, len - (size_t)pos);
			break;
		}
		memcpy(&sec, base + pos, 4);
		memcpy(&frac, base + pos + 4, 4);
		memcpy(&caplen, base + pos + 8, 4);
		memcpy(&wirelen, base + pos + 12, 4);
		if (!cap_pcap_sane(caplen, snap))
			break;
		if (!WIRE_HAS(len, pos + 16, caplen)) {
			*end_r = 1;
			err = cap_pcap_cut(r, src, "captured", caplen, len - (size_t)pos - 16);
			break;
		}
		/* As for libpcap's reads: a packet read after the file
		 * changed is not used. */
		if (cap_map_walk(src->map, (size_t)pos, r->st.frames)) {
			*end_r = 1;
			err = cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s",
				       r->name, (unsigned long long)r->st.frames + 1,
				       cap_src_error(src, "read error"));
			break;
		}
		raw->sec = sec;
		raw->nsec = raw->nano ? (uint32_t)frac : (uint32_t)((int64_t)frac * 1000);
		raw->data = base + pos + 16;
		raw->caplen = caplen;
		raw->len = wirelen;
		raw->leasable = 1;
		pos += 16 + (uint64_t)caplen;
		n -= n > 0;
		err = cap_deliver(r, raw);
		if (err != CAP_OK) {
			*end_r = 1;
			break;
		}
	}
	cap_map_read_stream(src->map);
	*pos_r = pos;
	return err;
}

/*
 * Brings libpcap's stream to the record at pos, after its `frames`
 * records (it has read the file header only): stdio reads this stream
 * into the mapping itself, from its start, so the stream is not sought
 * but read through; this happens only at a record the walk leaves to
 * libpcap, a rare one.
 */
static int cap_pcap_skip(pcap_t *p, uint64_t frames, uint64_t pos)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	FILE *f = pcap_file(p);

	for (uint64_t i = 0; i < frames; i++)
		if (pcap_next_ex(p, &h, &data) != 1)
			return -1;
	return ftello(f) == (off_t)pos ? 0 : -1;
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
	 * there, where it can be leased, instead of from libpcap's buffer,
	 * which the next packet overwrites. */
	struct cap_map *map = src->map != NULL && cap_pcap_magic(src->peek) == 16 ?
			      src->map : NULL;
	uint64_t pos = CAP_PEEK;
	int checked = 0;

	if (cap_pcap_walkable(src)) {
		uint64_t first = r->st.frames;
		int end;

		err = cap_pcap_walk(r, p, src, raw, &pos, &end);
		if (end)
			return err;
		/* libpcap reads on from the first record not taken. */
		if (cap_pcap_skip(p, r->st.frames - first, pos) != 0)
			return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s",
					r->name, (unsigned long long)r->st.frames + 1,
					cap_src_error(src, "read error"));
	}

	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (src->map != NULL && (r->st.frames & 511) == 0)
			cap_map_step(src->map);
		/* A writer waits for the file, or a page vanished, while this
		 * packet was read: it is not used. */
		if (src->map != NULL && cap_map_lost(src->map))
			return cap_fail(r, CAP_ERR_CORRUPT, "%s: frame %llu: %s",
					r->name, (unsigned long long)r->st.frames + 1,
					cap_src_error(src, "read error"));
		raw->sec = h->ts.tv_sec;
		/* With nanosecond precision requested, tv_usec holds ns. */
		raw->nsec = (uint32_t)h->ts.tv_usec;
		raw->data = data;
		raw->caplen = h->caplen;
		raw->len = h->len;
		raw->leasable = 0;
		if (map != NULL) {
			const uint8_t *at = cap_map_packet(map, pos, data,
							   h->caplen, !checked);

			checked = 1;
			if (at != NULL) {
				raw->data = at;
				raw->leasable = 1;
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

enum cap_error cap_read_pcap(struct cap_reader *r, struct cap_src *src)
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
		f = cap_src_stream(src);
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
	/* Closing the stream lets the mapping go, once no lease holds it. */
	pcap_close(p);
	src->map = NULL;
	return err;
}
