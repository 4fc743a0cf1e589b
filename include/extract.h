/*
 * extract.h - the evidence export: message data written to a directory.
 *
 * An extraction directory holds one file per object (the exact bytes of
 * one literal that carries message data: a FETCH body section, an APPEND
 * message), a manifest with one JSON record per object, and the decoded
 * attachments of whole messages (mime.h).  docs/extract.md describes the
 * layout, the names and every manifest field.
 *
 * Objects are streamed: extract_data() updates the object's SHA-256 and
 * queues a copy of each chunk for a writer thread, which writes it
 * through a small buffer to the file, so no object is ever held whole in
 * memory (the queue has a fixed size; a call waits while it is full).
 * The manifest is written by that thread too, in the order of the calls.  File names are made here from numbers the
 * caller gives and from the section text reduced to [A-Za-z0-9.-]; every
 * file is created with openat(O_CREAT | O_EXCL | O_NOFOLLOW) relative to
 * the directory, so nothing is written outside it and nothing existing is
 * overwritten (the next free name is taken).
 *
 * Caps (struct imt_limits: max_extract_bytes, max_extract_open) are
 * reported through the finding callback as limit-reached.  A write error
 * (a full disk) stops the extraction: every later call does nothing, and
 * extract_error() gives a message naming the file.  A write error is
 * known to the caller from its next call after the writer met it (calls
 * in between are carried out as they would have been after the error:
 * objects begun after it leave no file and no record).
 *
 * All calls are for one thread, the one that opened x.
 */
#ifndef IMT_EXTRACT_H
#define IMT_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "findings.h"
#include "imt_limits.h"
#include "mime_scan.h"

/*
 * A finding about extraction (a cap hit), for the session it concerns
 * (0 when none).  The report's strings live only during the call.
 */
typedef void (*extract_finding_fn)(void *user, uint64_t session,
				   const struct imt_finding_report *f);

/* What an object is. */
#define EXTRACT_KINDS(X) \
	X(EXTRACT_FETCH, "fetch") \
	X(EXTRACT_APPEND, "append") \
	X(EXTRACT_CATENATE, "catenate")

enum extract_kind {
#define EXTRACT_KIND_ENUM(e, name) e,
	EXTRACT_KINDS(EXTRACT_KIND_ENUM)
#undef EXTRACT_KIND_ENUM
};

/*
 * Why an object is not complete: the "reasons" of its manifest record.
 * Bits of extract_result.reasons, in this order.
 */
#define EXTRACT_REASONS(X) \
	X(EXTRACT_R_GAP, "gap", "bytes of the literal are missing from the capture") \
	X(EXTRACT_R_CAPTURE_END, "capture-end", "the capture ended inside the literal") \
	X(EXTRACT_R_RESET, "reset", "the connection was reset inside the literal") \
	X(EXTRACT_R_ABANDONED, "abandoned", "the parser left the literal (resynchronised or refused)") \
	X(EXTRACT_R_PARTIAL, "partial-fetch", "a partial fetch <origin.length>: a piece of the section") \
	X(EXTRACT_R_LIMIT, "max-extract-bytes", "the total extraction cap cut the file") \
	X(EXTRACT_R_WRITE_ERROR, "write-error", "writing the file failed")

enum extract_reason_bit {
#define EXTRACT_REASON_ENUM(e, name, desc) e##_SHIFT,
	EXTRACT_REASONS(EXTRACT_REASON_ENUM)
#undef EXTRACT_REASON_ENUM
	EXTRACT_R__COUNT
};
#define EXTRACT_REASON_BIT(e) (1u << e##_SHIFT)

/* How the caller ends an object. */
enum extract_end_reason {
	EXTRACT_END_DONE = 0,     /* the literal's last byte was given */
	EXTRACT_END_CAPTURE_END,  /* the capture (or the idle flow) ended first */
	EXTRACT_END_RESET,        /* the connection was reset */
	EXTRACT_END_ABANDONED,    /* the parser dropped the literal */
};

/*
 * What the caller knows when a literal that carries message data starts.
 * Strings need not be NUL-terminated and live only during extract_begin();
 * text from the wire (tag, mailbox, section) goes into the manifest as
 * JSON strings only, never into a file name unreduced.
 */
struct extract_meta {
	uint64_t session;        /* session number of the events */
	const char *client;      /* "ip:port" as in the events (trusted text) */
	const char *server;
	int dir;                 /* 0 = c2s (APPEND), 1 = s2c (FETCH) */
	enum extract_kind kind;
	const char *command;     /* "FETCH", "UID FETCH", "APPEND"... (trusted) */
	const char *tag;         /* the command's tag, or NULL */
	size_t tag_len;
	const char *mailbox;     /* selected (FETCH) or target (APPEND), or NULL */
	size_t mailbox_len;
	int has_msn;
	uint64_t msn;            /* FETCH: the message sequence number */
	int has_uid;
	uint64_t uid;            /* FETCH: UID when known */
	const char *section;     /* FETCH: the data item as the server sent it,
				    "BODY[1.2]<0>", "RFC822"; NULL for APPEND */
	size_t section_len;
	int has_partial_length;  /* the command asked for <origin.length> */
	uint64_t partial_length;
	uint32_t index;          /* literal number within the command or
				    response, from 0 (MULTIAPPEND, several
				    items in one FETCH) */
	uint64_t declared_size;  /* N of {N} */
	uint64_t first_frame;    /* frame of the literal's first data byte */
	const char *ts;          /* its time, RFC 3339 as in the events (trusted) */
};

/* The section text, read (extract_section_parse). */
struct extract_section {
	int whole;               /* BODY[], BODY.PEEK[], RFC822, BINARY[],
				    BINARY.PEEK[] without <origin>: a whole
				    message */
	int partial;             /* ends with <origin> */
	uint64_t origin;
};

/* What extract_end() reports about the finished object.  `path` is
 * relative to the directory and lives until the next extract_end() or
 * extract_close(). */
struct extract_result {
	uint64_t session;
	const char *path;
	uint64_t size;           /* bytes in the file (gaps included) */
	char sha256[65];         /* lower-case hex of the file's bytes */
	int complete;            /* reasons == 0 */
	unsigned reasons;        /* EXTRACT_REASON_BIT()s */
	int whole;               /* a whole message: worth a MIME summary */
	int scanned;             /* scan holds the MIME scan of the bytes as
				    they were written (extract_scan_whole) */
	struct mime_scan_result scan;
	const unsigned char *head;  /* with scan: the first head_len bytes of
				    the file (at most EXTRACT_HEAD; no more
				    than the message's header block when the
				    scan found its end), living as long as
				    path */
	size_t head_len;
};

/* Bytes of a scanned whole message kept in memory for its summary: the
 * header block, when it is not longer. */
#define EXTRACT_HEAD (16u << 10)

struct extract;
struct extract_obj;

/*
 * Opens (creating it, mode 0700, when missing) the extraction directory
 * and its manifest (appended to when it exists).  Copies *lim.  Returns
 * NULL when the directory cannot be used, with a message naming the path
 * in err (errsize bytes, NUL-terminated).
 */
struct extract *extract_open(const char *dir, const struct imt_limits *lim,
			     extract_finding_fn on_finding, void *user,
			     char *err, size_t errsize);

/*
 * Starts an object.  Returns its handle, or NULL when it is not extracted:
 * the total cap was reached before it, max_extract_open objects are
 * already open (each reported as limit-reached, the first time for the
 * total cap), or the extraction stopped on an error.  NULL is accepted by
 * the other object calls, which then do nothing.
 */
struct extract_obj *extract_begin(struct extract *x, const struct extract_meta *m);

/*
 * The next len bytes of the object's literal, which `frame` completed.
 * Written through (at most one write(2) per buffer-full) and hashed.
 * Returns 0, or -1 when the extraction stopped on a write error.
 */
int extract_data(struct extract_obj *o, const void *bytes, size_t len,
		 uint64_t frame);

/*
 * The UID of the message, learnt after the object began (a FETCH response
 * may send UID after the body).  Goes into the manifest record; the file
 * name keeps what was known at extract_begin().  Accepts NULL.
 */
void extract_set_uid(struct extract_obj *o, uint64_t uid);

/*
 * Bytes [offset, offset + len) of the object are missing (offset counts
 * from the literal's first byte).  Anything between the bytes written so
 * far and offset is missing too.  The file keeps true offsets: missing
 * bytes are zeros (a hole in the file), hashed as zeros, and the range is
 * listed in the manifest.  Returns 0, or -1 as for extract_data().
 */
int extract_gap(struct extract_obj *o, uint64_t offset, uint64_t len);

/*
 * Ends the object: flushes and closes the file, appends its manifest
 * record (both behind the caller after extract_write_behind()), frees o,
 * and fills *res_r when not NULL (only when it returns 0).  An object ended before its declared size is incomplete for
 * `reason`.  Returns 0, or -1 when o was NULL or the extraction stopped
 * on an error (the record may then be missing).
 */
int extract_end(struct extract_obj *o, enum extract_end_reason reason,
		struct extract_result *res_r);

/* The first error that stopped the extraction ("PATH: strerror"), or NULL. */
const char *extract_error(const struct extract *x);

/*
 * Ends every object still open as EXTRACT_END_CAPTURE_END, closes the
 * manifest and frees x.  Returns 0, or -1 when the extraction stopped on
 * an error: the message naming the path is then copied to err (errsize
 * bytes, NUL-terminated; err may be NULL).  Accepts NULL (returns 0).
 */
int extract_close(struct extract *x, char *err, size_t errsize);

/* Reads a FETCH data item name ("BODY.PEEK[1.2]<0>", "RFC822"). */
void extract_section_parse(const char *s, size_t len, struct extract_section *r);

/*
 * Writes into buf (size n >= 1) a file name piece made from s: the bytes
 * [A-Za-z0-9.-] kept, every other byte '_', at most n - 1 bytes, never
 * starting with '.'.  Returns the length written.
 */
size_t extract_safe_name(char *buf, size_t n, const char *s, size_t len);

/* Name of an end reason bit index, or "unknown". */
const char *extract_reason_name(unsigned bit);

/* ---- for mime.c: the directory and the manifest ------------------------ */

/* The directory's descriptor (O_DIRECTORY), owned by x. */
int extract_dirfd(const struct extract *x);
/* The directory as given to extract_open(), for messages. */
const char *extract_dirname(const struct extract *x);
/* Appends one record (JSON text without the newline) to the manifest,
 * after the records of the objects ended so far (the writer writes it).
 * Returns 0, or -1 when the extraction has stopped on an error. */
int extract_manifest_write(struct extract *x, const char *json, size_t len);
/* Stops the extraction with the message "DIR/path: strerror(errnum)";
 * the first error is kept.  Waits for the writer first (extract_sync).
 * Returns -1. */
int extract_fail(struct extract *x, const char *path, int errnum);
/* Reports a finding through x's callback. */
void extract_report(struct extract *x, uint64_t session,
		    const struct imt_finding_report *f);
/* Writes key: the string s[0, len), or null when s is NULL. */
void extract_json_text(struct imt_event *ev, const char *key, const char *s,
		       size_t len);
/* Writes key: an array of names[b] for each bit b (< n) set in bits. */
void extract_json_names(struct imt_event *ev, const char *key, unsigned bits,
			const char *const *names, unsigned n);
/* The limits x was opened with. */
const struct imt_limits *extract_limits(const struct extract *x);
/* From now on, the bytes of each whole message are fed to a MIME scan
 * (mime_scan.h) as they are written, and extract_result.scan holds its
 * result: the summary then need not read the file to scan it.  GMime
 * must be initialised (mime_new() calls this). */
void extract_scan_whole(struct extract *x);
/* Waits until the writer has written out every object ended so far (its
 * file is complete and closed, its record written), e.g. to read one. */
void extract_sync(struct extract *x);
/* From now on extract_end() does not wait for the writer: the file and
 * the record are written behind the caller, and extract_sync() (which
 * mime.c calls before it reads a file) waits for them.  Without it,
 * extract_end() returns once both are written. */
void extract_write_behind(struct extract *x);

#endif
