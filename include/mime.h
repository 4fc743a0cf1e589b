/*
 * mime.h - the summary of an extracted whole message, on GMime 3.
 *
 * After extract_end() has written a whole message (extract_result.whole
 * and .complete), mime_summarize() parses it with GMime: a single-part
 * message that is not an attachment only from its header block (kept in
 * memory as it was written, extract_result.head), any other from its
 * file in the extraction directory through the file descriptor (the
 * content stays on disk), and gives the header fields a
 * reader wants (From, To, Cc, Subject, Date, Message-ID, decoded to
 * UTF-8 and cut to MIME_TEXT_MAX bytes), the top-level content type and
 * the attachments.  Each attachment is decoded as a stream, hashed and
 * written once under DIR/attachments/<sha256>; the file name it declares
 * is only reported, never used.
 *
 * Hostile MIME stays bounded: a linear scan (mime_scan.h), run by
 * extract.c on the bytes as they are written (or over the file when it
 * did not run), measures parts, nesting and header sizes and, when a cap
 * is passed, gives GMime only the bytes before the offending line (struct
 * imt_limits: max_mime_parts, max_mime_depth, max_mime_header,
 * max_mime_headers, mime_time_ms).  Each cap hit is reported through the
 * extraction's finding callback as limit-reached and recorded in the
 * summary.  docs/extract.md lists the fields and the caps.
 */
#ifndef IMT_MIME_H
#define IMT_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "extract.h"

/* Bytes kept of each header text and declared file name. */
#define MIME_TEXT_MAX 1024

/* The caps a message can hit: bits of mime_summary.limits. */
#define MIME_LIMITS(X) \
	X(MIME_L_PARTS, "max-mime-parts") \
	X(MIME_L_DEPTH, "max-mime-depth") \
	X(MIME_L_HEADER, "max-mime-header") \
	X(MIME_L_HEADERS, "max-mime-headers") \
	X(MIME_L_TIME, "mime-time")

enum mime_limit_bit {
#define MIME_LIMIT_ENUM(e, name) e,
	MIME_LIMITS(MIME_LIMIT_ENUM)
#undef MIME_LIMIT_ENUM
	MIME_L__COUNT
};

struct mime_attachment {
	char *part;              /* GMime part path, "2" or "1.3" */
	char *filename;          /* as declared, control characters made '_',
				    cut; NULL when none is declared */
	char *content_type;      /* "type/subtype" */
	uint64_t size;           /* decoded bytes */
	char sha256[65];
	char path[80];           /* "attachments/<sha256>", relative to DIR */
	int complete;            /* 0 when the time cap stopped the decoding */
};

struct mime_summary {
	char *from, *to, *cc;    /* decoded address lists, or NULL */
	char *subject, *date, *message_id;
	char *content_type;      /* top-level "type/subtype" */
	struct mime_attachment *att;
	size_t natt;
	uint32_t parts;          /* MIME entities parsed, the message included */
	uint32_t depth;          /* deepest nesting seen (0: a single part) */
	uint32_t warnings;       /* problems GMime's parser reported */
	unsigned limits;         /* 1u << MIME_L_*: caps hit */
	uint64_t size;           /* bytes of the message file */
	uint64_t parsed;         /* of them given to the parser */
};

struct mime;

/*
 * Prepares summaries for the extraction x (not owned; it must outlive
 * the result); initialises GMime on first use.  NULL only when out of
 * memory.
 */
struct mime *mime_new(struct extract *x);

/*
 * Summarizes the message file obj->path (relative to the extraction
 * directory), writes its attachments and appends a "message" record to
 * the manifest.  Fills *s (free it with mime_summary_free()).  Returns 0;
 * -1 when the file could not be read or the extraction stopped on a write
 * error (extract_error() says which file), *s then holds what was found.
 */
int mime_summarize(struct mime *m, const struct extract_result *obj,
		   struct mime_summary *s);

/*
 * Writes the summary's fields into an event being built (the `message`
 * event of docs/extract.md): path, sha256, from ... content_type,
 * attachments, parts, limits (not session: the event's head has it).
 * obj is the object the summary is of.
 */
void mime_summary_members(struct imt_event *ev, const struct extract_result *obj,
			  const struct mime_summary *s);

/* Frees what *s holds and empties it.  Accepts an empty summary. */
void mime_summary_free(struct mime_summary *s);

/* Whether a plain header block (printable ASCII, each field once, no
 * encoded words) of a header-only message is read through GMime's field
 * parsers alone instead of a whole GMimeMessage: on by default; the
 * summary is the same either way (tests compare the two). */
void mime_set_fast(struct mime *m, int on);

/* Frees m (GMime itself stays initialised for the process).  Accepts NULL. */
void mime_free(struct mime *m);

/* Name of a MIME_L_* bit index (the limit's option name), or "unknown". */
const char *mime_limit_name(unsigned bit);

#endif
