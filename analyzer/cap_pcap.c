/*
 * cap_pcap.c - pcap files through libpcap, for the capture stage (see
 * cap_int.h).
 *
 * pcap (any byte order, microsecond or nanosecond) is read by libpcap: a
 * plain regular file is handed to it as its FILE, rewound; any other
 * source through a FILE that first replays the peeked bytes and then
 * reads from zlib (cap_src_stream()).  In a mapped file (cap_map.c) each
 * packet is found again where it lies in the mapping and handed on from
 * there, leasable; the first packet is compared whole and the others at
 * both ends, so that a reader that lost track falls back on libpcap's
 * copy at once.
 *
 * Layout: magics; the packet loop; opening the file with libpcap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cap_int.h"

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
