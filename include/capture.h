/*
 * capture.h - reading packet capture files.
 *
 * The capture stage is the source of the pipeline: it reads pcap
 * (microsecond and nanosecond) and pcapng files through libpcap, from a
 * path or standard input ("-"), optionally gzip-compressed, applies a BPF
 * filter compiled by libpcap, and pushes each packet to its consumer.
 * Several files are read in a row as one capture: frame numbers continue
 * from one file to the next.
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

/* One packet.  `data` lives only during the callback. */
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
	/* data lies in memory that stays readable and unchanged until
	 * on_unstable() is called (a mapped file; never without an
	 * on_unstable callback; if the file is about to change, whoever
	 * changes it waits until then); 0: only during the call. */
	int stable;
};

struct cap_callbacks {
	/* Called for each packet that passes the filter.  Returns 0 to
	 * continue, non-zero to stop reading (cap_read_file then returns
	 * CAP_ERR_STOPPED). */
	int (*on_packet)(void *user, const struct cap_packet *pkt);
	/* The stable data of the packets delivered so far is about to go
	 * away (the file is done): whoever kept pointers to it copies what
	 * it still needs now.  May be NULL. */
	void (*on_unstable)(void *user);
	/* The pages of the stable data of the packets up to `frame` are
	 * about to leave memory (a mapped file is read in a bounded resident
	 * size).  The data stays readable and unchanged until on_unstable(),
	 * but a page read after this comes back and stays resident until
	 * then: whoever is still about to read it (another thread) should
	 * be done with it first.  May be NULL. */
	void (*on_release)(void *user, uint64_t frame);
};

struct cap_reader;

/*
 * Creates a reader.  `filter` is a BPF expression or NULL.  Returns NULL
 * only when out of memory.  The filter is compiled per file, for that
 * file's link type, so errors in it surface from cap_read_file().
 */
struct cap_reader *cap_reader_new(const char *filter,
				  const struct cap_callbacks *cb, void *user);

/*
 * Reads one whole file ("-" is standard input) and pushes its packets.
 * Returns CAP_OK at the end of the file, or an error; on error a message
 * naming the file (and the frame, for corrupt data) is available from
 * cap_reader_errmsg().  Packets before the error were all delivered.
 */
enum cap_error cap_read_file(struct cap_reader *r, const char *path);

/*
 * Like cap_read_file(), from a stream the caller opened (a pipe, or a
 * memory buffer from fmemopen(): the pipeline fuzz harness uses it) and
 * keeps: fp is read from its current position to its end and not closed.
 * The bytes are taken as they are: a gzip-compressed stream is not
 * decompressed (cap_read_file() does that).  `name` (not copied, must
 * outlive the call) names the stream in messages and packets.  Returns
 * as cap_read_file() does.
 */
enum cap_error cap_read_stream(struct cap_reader *r, FILE *fp,
			       const char *name);

/*
 * Work for another thread with nothing else to do while a file is read:
 * fills the page tables of the next part of a mapped file, which the
 * reader would otherwise fill itself (or fault in).  Returns 1 after a
 * step (about a millisecond of work; call again), 0 when there is
 * nothing to do now.  Safe on any thread at any time, even while no
 * file or an unmapped one is read.
 */
int cap_prefetch(void);

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

/* Frees r; accepts NULL. */
void cap_reader_free(struct cap_reader *r);

#endif
