/*
 * cap_ng.c - the pcapng block reader of the capture stage (see cap_int.h).
 *
 * pcapng is read here, not by libpcap: libpcap 1.10 refuses a section
 * whose interfaces have different link types ("an interface has a type
 * 101 different from the type of the first interface"), and such files
 * are common (any capture on "any" written by dumpcap, or one merged from
 * Ethernet and tunnel interfaces).  The reader handles SHBs of either
 * byte order, IDBs with if_tsresol and if_tsoffset, EPBs, SPBs and OPBs,
 * and skips every other block; each length is checked before use.
 *
 * Layout: byte order and timestamps; interface blocks; packet blocks;
 * section headers; the block loop.  In a mapped file (cap_map.c) blocks
 * are read where they lie in the mapping, and packets handed on from
 * there, leasable, as pcap's are: no byte is copied.  Any other source
 * is read block by block into one buffer that grows to the largest
 * block, and packets are handed on from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_int.h"
#include "mem.h"
#include "wire.h"

/* Interfaces per pcapng section; more is taken as a corrupt file. */
#define CAP_NG_MAX_IFACES	65536u

#define CAP_NG_IDB		1u
#define CAP_NG_OPB		2u
#define CAP_NG_SPB		3u
#define CAP_NG_EPB		6u

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
	if (mem_grow(&r->ifs, &r->ifs_cap, r->nifs + 1, sizeof(*r->ifs), 8,
		     SIZE_MAX) != 0)
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
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
	raw.leasable = r->ng_map != NULL;
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
	raw.leasable = r->ng_map != NULL;
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
	return mem_grow(&r->blk, &r->blk_cap, need, 1, 65536, SIZE_MAX);
}

/*
 * Makes bytes [off, off + n) of the block being read available at
 * (*blk_r)[off]: in the mapping where they lie, else read into r->blk
 * (bytes before off were read there by the earlier calls).  Returns how
 * many of the n there are (fewer at the end of the file), or -1 when
 * the stream failed or memory ran out (*nomem_r set).
 */
static ssize_t cap_ng_take(struct cap_reader *r, struct cap_src *src,
			   size_t off, size_t n, const uint8_t **blk_r,
			   int *nomem_r)
{
	if (r->ng_map != NULL) {
		size_t left = r->ng_map_len - r->ng_pos;

		*blk_r = r->ng_map + r->ng_pos;
		if (left < off)
			return 0;
		return (ssize_t)(left - off < n ? left - off : n);
	}
	if (off + n > r->blk_cap && cap_ng_grow(r, off + n) != 0) {
		*nomem_r = 1;
		return -1;
	}
	*blk_r = r->blk;
	return cap_src_read(src, r->blk + off, n);
}

/*
 * Reads the next block: *blk_r points at it (in the mapping, or in
 * r->blk).  Sets *type_r and *len_r (total block length).  Returns
 * CAP_OK, CAP_OK with *len_r == 0 at a clean end of file, or an error.
 */
static enum cap_error cap_ng_next(struct cap_reader *r, struct cap_src *src,
				  const uint8_t **blk_r, uint32_t *type_r,
				  uint32_t *len_r)
{
	const uint8_t *b;
	ssize_t got;
	uint32_t type, len;
	size_t hlen = 8;
	int nomem = 0;

	*len_r = 0;
	got = cap_ng_take(r, src, 0, 8, &b, &nomem);
	if (got == 0)
		return CAP_OK;
	if (nomem)
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	if (got != 8)
		return cap_ng_corrupt(r, cap_src_error(src,
		    "truncated pcapng block header"));
	type = wire_le32(b);
	if (type == CAP_NG_SHB) {
		/* The byte-order magic tells how to read the length. */
		if (cap_ng_take(r, src, 8, 4, &b, &nomem) != 4)
			return cap_ng_corrupt(r, cap_src_error(src,
			    "truncated pcapng section header"));
		if (wire_le32(b + 8) == CAP_NG_BOM)
			r->big = 0;
		else if (wire_be32(b + 8) == CAP_NG_BOM)
			r->big = 1;
		else
			return cap_ng_corrupt(r, "bad pcapng byte-order magic");
		hlen = 12;
	} else if (!r->in_section) {
		return cap_fail(r, CAP_ERR_FORMAT,
				"%s: pcapng file does not start with a section header",
				r->name);
	}
	type = cap_ng32(r, b);
	len = cap_ng32(r, b + 4);
	if (len < hlen + 4 || len % 4 != 0 || len > CAP_NG_MAX_BLOCK) {
		char what[64];

		snprintf(what, sizeof(what), "bad pcapng block length %u", len);
		return cap_ng_corrupt(r, what);
	}
	got = cap_ng_take(r, src, hlen, len - hlen, &b, &nomem);
	if (nomem)
		return cap_fail(r, CAP_ERR_NOMEM, "%s: out of memory", r->name);
	if (got != (ssize_t)(len - hlen))
		return cap_ng_corrupt(r, cap_src_error(src,
		    "truncated pcapng block"));
	if (cap_ng32(r, b + len - 4) != len)
		return cap_ng_corrupt(r,
		    "pcapng block lengths in header and trailer differ");
	*blk_r = b;
	*type_r = type;
	*len_r = len;
	return CAP_OK;
}

/* Decryption Secrets Block: secrets type, length, data (padded). */
static enum cap_error cap_ng_dsb(struct cap_reader *r, const uint8_t *b, size_t len)
{
	uint32_t type, slen;

	if (len < 8)
		return cap_ng_corrupt(r, "pcapng Decryption Secrets Block too short");
	type = cap_ng32(r, b);
	slen = cap_ng32(r, b + 4);
	if (slen > len - 8)
		return cap_ng_corrupt(r, "pcapng Decryption Secrets Block longer than its block");
	if (r->dsb_skip > 0) {
		r->dsb_skip--;          /* handed on by the pre-scan already */
		return CAP_OK;
	}
	if (r->on_secrets != NULL)
		r->on_secrets(r->user, type, b + 8, slen);
	return CAP_OK;
}

/*
 * Shows on_ahead the packets of the enhanced packet blocks up to
 * CAP_AHEAD blocks after the one being read, which ends at next.  The
 * look stops at a block that changes the interfaces (a section header,
 * an interface block: what follows is not known yet) or at a damaged
 * one, and goes on once the reader has passed it; the reader checks
 * every block again as it reads it.
 */
static void cap_ng_ahead(struct cap_reader *r, size_t next)
{
	if (r->ng_ahead < next) {
		r->ng_ahead = next;
		r->ng_ahead_n = 0;
	}
	while (r->ng_ahead_n < CAP_AHEAD && WIRE_HAS(r->ng_map_len, r->ng_ahead, 12)) {
		const uint8_t *b = r->ng_map + r->ng_ahead;
		uint32_t type = cap_ng32(r, b), len = cap_ng32(r, b + 4), id, caplen;

		if (type == CAP_NG_SHB || type == CAP_NG_IDB || len < 12 || len % 4 != 0 ||
		    !WIRE_HAS(r->ng_map_len, r->ng_ahead, len))
			return;
		if (type == CAP_NG_EPB && len >= 32) {
			id = cap_ng32(r, b + 8);
			caplen = cap_ng32(r, b + 20);
			if (id < r->nifs && r->ifs[id].supported && WIRE_HAS(len - 12, 20, caplen))
				r->cb.on_ahead(r->user, r->ifs[id].linktype, b + 28, caplen);
		}
		r->ng_ahead += len;
		r->ng_ahead_n++;
	}
}

enum cap_error cap_read_pcapng(struct cap_reader *r, struct cap_src *src)
{
	enum cap_error err;
	uint32_t type, len;
	uint64_t nblocks = 0;

	r->nifs = 0;
	r->in_section = 0;
	r->ng_map = NULL;
	r->ng_pos = 0;
	r->ng_ahead = 0;
	r->ng_ahead_n = 0;
	if (src->map != NULL)
		r->ng_map = cap_map_bytes(src->map, &r->ng_map_len);
	for (;;) {
		const uint8_t *blk, *body;
		size_t blen;

		err = cap_ng_next(r, src, &blk, &type, &len);
		if (err != CAP_OK)
			break;
		if (len == 0) {
			err = cap_src_eof(r, src);
			break;
		}
		/* As for pcap: a block read after the file changed is not used. */
		if (src->map != NULL && cap_map_walk(src->map, r->ng_pos, ++nblocks)) {
			err = cap_ng_corrupt(r, cap_src_error(src, "read error"));
			break;
		}
		if (r->ng_map != NULL && r->cb.on_ahead != NULL && !r->ahead_off)
			cap_ng_ahead(r, r->ng_pos + len);
		body = blk + 8;
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
		case CAP_NG_DSB:
			err = cap_ng_dsb(r, body, blen);
			break;
		default:
			/* NRB, ISB, custom blocks: nothing to use. */
			break;
		}
		if (err != CAP_OK)
			break;
		r->ng_pos += len;
		r->ng_ahead_n -= r->ng_ahead_n > 0;
	}
	r->ng_map = NULL;
	return err;
}
