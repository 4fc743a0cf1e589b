/*
 * capture.c - reading packet capture files (see capture.h): the reader
 * object, link types, filters, delivery and the reading of one file.
 *
 * The stage's files (their shared internals are in cap_int.h):
 *   capture.c   this file
 *   cap_src.c   byte sources: plain files, zlib, the peeked prefix
 *   cap_pcap.c  pcap through libpcap
 *   cap_ng.c    the pcapng block reader
 *   cap_map.c   the mapping of a plain file, and leases on its bytes
 *
 * The BPF filter is libpcap's: one program per link type, compiled on a
 * pcap_open_dead() handle the first time that link type is seen and run
 * with pcap_offline_filter().  Programs are kept for the reader's life,
 * so a filter is compiled once per link type, not once per file.
 *
 * Nothing is allocated per packet: libpcap reuses its buffer, packets of
 * a mapped file are handed on from the mapping, and the pcapng reader
 * reuses one block buffer that grows to the largest block.
 *
 * Layout: errors; link types; filters; delivery; files; the reader.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "cap_int.h"

/* Snapshot length given to pcap_open_dead() for filter compilation. */
#define CAP_DEAD_SNAPLEN	262144

/* ---- errors ------------------------------------------------------- */

static const struct {
	const char *name;
	const char *desc;
} cap_error_table[] = {
#define CAP_ERROR_ROW(e, name, desc) { name, desc },
	CAP_ERRORS(CAP_ERROR_ROW)
#undef CAP_ERROR_ROW
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

enum cap_error cap_fail(struct cap_reader *r, enum cap_error err,
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
int cap_link_canonical(int v)
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

enum cap_error cap_fail_link(struct cap_reader *r, int v, const char *where)
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
enum cap_error cap_filter_get(struct cap_reader *r, int linktype,
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
enum cap_error cap_deliver(struct cap_reader *r, const struct cap_raw *raw)
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
	pkt.lessor = raw->leasable ? r : NULL;
	if (r->cb.on_packet != NULL && r->cb.on_packet(r->user, &pkt) != 0)
		return cap_fail(r, CAP_ERR_STOPPED, "%s: frame %llu: %s",
				r->name, (unsigned long long)pkt.frame,
				cap_error_desc(CAP_ERR_STOPPED));
	return CAP_OK;
}

/* ---- files -------------------------------------------------------- */

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
	r->dsb_skip = r->prescan ? cap_dsb_prescan(r, path) : 0;
	err = cap_src_open(r, path, &src);
	if (err == CAP_OK) {
		r->st.files++;
		err = cap_dispatch(r, &src);
	}
	cap_src_close(&src);
	return err;
}

enum cap_error cap_read_stream(struct cap_reader *r, FILE *fp,
			       const char *name)
{
	struct cap_src src;
	enum cap_error err;

	r->errmsg[0] = '\0';
	r->name = name;
	err = cap_src_open_stream(r, fp, &src);
	if (err == CAP_OK) {
		r->st.files++;
		err = cap_dispatch(r, &src);
	}
	return err;
}

/* ---- the reader --------------------------------------------------- */

void cap_reader_on_secrets(struct cap_reader *r, cap_secrets_fn fn)
{
	r->on_secrets = fn;
}

void cap_reader_ahead(struct cap_reader *r, int on)
{
	r->ahead_off = !on;
}

void cap_reader_prescan_secrets(struct cap_reader *r, int on)
{
	r->prescan = on;
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
	if (cap_mapper_init(&r->map) != 0) {
		free(r->filter_expr);
		free(r);
		return NULL;
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
	cap_mapper_destroy(&r->map);
	free(r->filter_expr);
	free(r->blk);
	free(r->ifs);
	free(r);
}
