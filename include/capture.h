/*
 * capture.h - reading packet capture files.
 *
 * The capture stage is the source of the pipeline: it reads pcap
 * (microsecond and nanosecond) and pcapng files through libpcap, from a
 * path or standard input ("-"), optionally gzip-compressed, applies a BPF
 * filter compiled by libpcap, and pushes each packet to its consumer.
 * Several files are read in a row as one capture: frame numbers continue
 * from one file to the next.  Plain files are read through a mapping,
 * and the packets of a pcap file handed on from it: stages that keep
 * them lease them instead of copying (the rule below).
 */
#ifndef IMT_CAPTURE_H
#define IMT_CAPTURE_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

/* Errors: enum, name and description from one table. */
#define CAP_ERRORS(X) \
	X(CAP_OK, "ok", "no error") \
	X(CAP_ERR_OPEN, "open", "the capture file could not be opened") \
	X(CAP_ERR_FORMAT, "format", "the file is not a pcap or pcapng capture") \
	X(CAP_ERR_CORRUPT, "corrupt", "the capture file is corrupt or truncated") \
	X(CAP_ERR_FILTER, "filter", "the BPF filter expression does not compile") \
	X(CAP_ERR_LINKTYPE, "linktype", "the capture's link-layer type is not supported") \
	X(CAP_ERR_NOMEM, "nomem", "out of memory") \
	X(CAP_ERR_STOPPED, "stopped", "the consumer asked to stop")

enum cap_error {
#define CAP_ERROR_ENUM(e, name, desc) e,
	CAP_ERRORS(CAP_ERROR_ENUM)
#undef CAP_ERROR_ENUM
	CAP_ERR__COUNT
};

/* Returns the short name of err ("corrupt"...). */
const char *cap_error_name(enum cap_error err);
/* Returns a one-line description of err. */
const char *cap_error_desc(enum cap_error err);

/* Link-layer types the ip stage decodes (values are libpcap's DLT_). */
#define CAP_LINK_NULL      0    /* BSD loopback, host byte order family */
#define CAP_LINK_EN10MB    1    /* Ethernet */
#define CAP_LINK_RAW       101  /* raw IPv4/IPv6 (LINKTYPE_RAW) */
#define CAP_LINK_LOOP      108  /* OpenBSD loopback, network byte order */
#define CAP_LINK_LINUX_SLL 113
#define CAP_LINK_IPV4      228
#define CAP_LINK_IPV6      229
#define CAP_LINK_LINUX_SLL2 276

/*
 * Packet bytes across the pipeline: the one rule, for every stage.
 *
 * Bytes handed to a callback -- a packet's data here, a segment's payload
 * (ip.h), a stream's bytes (tcp.h), what the relay replays (relay.h) --
 * are valid during the call, and no longer.  A stage that keeps them
 * longer copies them or takes a lease on them.  A lease is an object
 * owned by the reader that names a byte range and keeps it readable and
 * unchanged until its one release, cap_lease_release(), even after the
 * file is read or the reader freed (the file's mapping goes with its
 * last lease).  Bytes can be leased when the callback names their
 * lessor: cap_packet.lessor, carried on as ip_segment.lessor and
 * tcp_meta.lessor; NULL means copy.
 *
 * While a lease is held, another process that wants to write the file
 * waits (and the reader stops at its next look, "the file was changed"):
 * release leases soon after the file is read.  Should the kernel stop
 * waiting (its lease-break-time, 45 s by default), leased bytes of the
 * file may change, or read as zeros where the file was cut.
 */
struct cap_lease;

/* One packet.  `data` follows the rule above. */
struct cap_packet {
	uint64_t frame;          /* 1-based, continuous across files */
	int64_t ts_sec;          /* seconds since the epoch */
	uint32_t ts_nsec;        /* nanoseconds within the second */
	int ts_nano;             /* 1 when the file has nanosecond precision */
	int linktype;            /* DLT_ value of the packet's interface */
	const uint8_t *data;
	uint32_t caplen;         /* bytes present in data */
	uint32_t len;            /* bytes on the wire; len > caplen = snapped */
	const char *file;        /* the file it came from */
	/* The reader that can lease `data` (a mapped file), or NULL. */
	struct cap_reader *lessor;
};

struct cap_callbacks {
	/* Called for each packet that passes the filter.  Returns 0 to
	 * continue, non-zero to stop reading (cap_read_file then returns
	 * CAP_ERR_STOPPED). */
	int (*on_packet)(void *user, const struct cap_packet *pkt);
	/* Optional: a packet that on_packet will get CAP_AHEAD packets
	 * later (fewer near the end), for a reader that sees it already
	 * (a mapped pcap file; in a mapped pcapng file, the enhanced packet
	 * blocks up to CAP_AHEAD blocks on), given before it is checked or
	 * filtered: for hints only, such as fetching memory ahead; nothing
	 * may depend on it.  data lives as long as the file is read.
	 * cap_reader_ahead() turns the calls off and on. */
	void (*on_ahead)(void *user, int linktype, const uint8_t *data,
			 uint32_t caplen);
};

/* How far ahead on_ahead runs: the next stages' hint pipeline's depth. */
#define CAP_AHEAD 3

/* A pcapng Decryption Secrets Block, in file order among the packets:
 * its secrets type (CAP_SECRETS_TLS_KEYLOG...) and data, which live only
 * during the call; user is the reader's. */
typedef void (*cap_secrets_fn)(void *user, uint32_t type, const uint8_t *data,
			       size_t len);

/* Decryption Secrets Block types (pcapng, draft-ietf-opsawg-pcapng §4.7). */
#define CAP_SECRETS_TLS_KEYLOG 0x544c534bu   /* "TLSK": NSS key log lines */

struct cap_reader;

/*
 * Creates a reader.  `filter` is a BPF expression or NULL.  Returns NULL
 * only when out of memory.  The filter is compiled per file, for that
 * file's link type, so errors in it surface from cap_read_file().
 */
struct cap_reader *cap_reader_new(const char *filter,
				  const struct cap_callbacks *cb, void *user);

/* Hands the reader's Decryption Secrets Blocks to fn (NULL, the default:
 * they are skipped). */
void cap_reader_on_secrets(struct cap_reader *r, cap_secrets_fn fn);

/*
 * With on (default off): before cap_read_file() reads a regular,
 * uncompressed pcapng file, it walks the file's block headers and hands
 * every Decryption Secrets Block to the on_secrets function, so keys
 * written after the packets they open are known from the first packet;
 * the read then skips those blocks.  Only the headers and the DSBs are
 * read (one pread() per 64 KiB window).  Standard input, compressed
 * files, pcap files and cap_read_stream() are read as before: a DSB is
 * handed on where it comes.
 */
void cap_reader_prescan_secrets(struct cap_reader *r, int on);

/* Turns the on_ahead calls off (on 0) or on again (the default): a
 * consumer with no use for hints now spares the reader the look ahead.
 * Takes effect from the next packet; on the reading thread only (from
 * on_packet, say). */
void cap_reader_ahead(struct cap_reader *r, int on);

/*
 * Reads one whole file ("-" is standard input) and pushes its packets.
 * A gzip, zstd or lz4 (frame format) file, told by its first bytes, is
 * decompressed on a thread of its own while its packets are pushed; so
 * is anything that is not a regular file.  Returns CAP_OK at the end of the file, or an error; on error a message
 * naming the file (and the frame, for corrupt data) is available from
 * cap_reader_errmsg().  Packets before the error were all delivered.
 */
enum cap_error cap_read_file(struct cap_reader *r, const char *path);

/* Whether the n bytes at p start with the magic of a compressed format
 * cap_read_file() decompresses (gzip, zstd, lz4 frame). */
int cap_compressed_magic(const uint8_t *p, size_t n);

/*
 * Like cap_read_file(), from a stream the caller opened (a pipe, or a
 * memory buffer from fmemopen(): the pipeline fuzz harness uses it) and
 * keeps: fp is read from its current position to its end and not closed.
 * The bytes are taken as they are: a compressed stream is not
 * decompressed (cap_read_file() does that).  `name` (not copied, must
 * outlive the call) names the stream in messages and packets.  Returns
 * as cap_read_file() does.
 */
enum cap_error cap_read_stream(struct cap_reader *r, FILE *fp,
			       const char *name);

/*
 * Takes a lease (see the rule above) on [p, p + len), bytes the reader r
 * handed to a callback as leasable: call it during that callback, on the
 * thread reading.  Returns the lease, or NULL (out of memory, or bytes r
 * cannot lease): then copy them.
 */
struct cap_lease *cap_lease_take(struct cap_reader *r, const uint8_t *p,
				 size_t len);

/*
 * Stretches l over [p, p + len) too, leasable bytes of the same reader
 * handed to a callback now, when they lie in l's file and l then spans at
 * most max_span bytes of it: returns 1, else 0 (l is unchanged; take
 * another lease or copy).  The span bounds the pages that reading the
 * leased bytes late may bring back; it costs nothing else.  Only by l's
 * holder, never beside cap_lease_release(l).
 */
int cap_lease_extend(struct cap_lease *l, const uint8_t *p, size_t len,
		     size_t max_span);

/* Releases l (NULL is accepted): its bytes may go.  On any thread. */
void cap_lease_release(struct cap_lease *l);

/*
 * Work for another thread with nothing else to do while r reads a file:
 * fills the page tables of the next part of a mapped file, which the
 * reader would otherwise fill itself (or fault in).  Returns 1 after a
 * step (about a millisecond of work; call again), 0 when there is
 * nothing to do now.  Safe on any thread at any time while r exists,
 * even while no file or an unmapped one is read.
 */
int cap_prefetch(struct cap_reader *r);

/* Returns the message of the last error ("" when none).  Lives until the
 * next call on r. */
const char *cap_reader_errmsg(const struct cap_reader *r);

/* Counters since creation. */
struct cap_stats {
	uint64_t frames;         /* packets read, filtered or not */
	uint64_t frames_passed;  /* packets that passed the filter */
	uint64_t bytes;          /* captured bytes read */
	uint64_t files;
};
void cap_reader_stats(const struct cap_reader *r, struct cap_stats *st_r);

/* Frees r; accepts NULL.  Leases taken from r stay valid until released. */
void cap_reader_free(struct cap_reader *r);

#endif
