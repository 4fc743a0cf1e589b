/*
 * imap_rec.h - feeding the IMAP parser in every chunking and recording
 * what it reports, for the IMAP parser tests.
 *
 * Every callback is written into a textual transcript.  Each case is fed
 * whole, one byte at a time, split in two at every offset and in three
 * at many offsets; all transcripts must be identical (a test fails
 * otherwise), then the whole-feed transcript is checked for what the
 * case is about.
 */
#ifndef IMT_IMAP_REC_H
#define IMT_IMAP_REC_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "imap.h"

struct gapspec {
	size_t pos;              /* after this many input bytes */
	uint64_t bytes;
};

struct opts {
	enum imap_side side;
	struct imt_limits lim;
	int midstream;
	int utf8;
	int auto_mode;
	int show_canon;
	int show_bytes;          /* record the literals' bytes ("LY" lines)
				    and the line text at their start */
	const struct gapspec *gaps;
	size_t ngaps;
	int segments;            /* the bytes after each gap start a TCP
				    segment (imap_parser_segment()) */
	int trim;                /* imap_parser_trim() after every chunk */
	int in_place;            /* the parser in memory the test holds
				    (imap_parser_init/imap_parser_fini) */
	struct imap_shelf *shelf;        /* set on the parser, or NULL */
	int check_idle;          /* after each feed: fail unless the parser
				    holds line storage exactly while a line
				    or a literal is in progress */
};

/* Default limits for side, nothing else set. */
struct opts irec_opts(enum imap_side side);

/* Feeds in, cut at cuts[] (sorted), gaps at their positions; returns
 * the transcript (to free). */
char *irec_run(const struct opts *o, const char *in, size_t len,
	       const size_t *cuts, size_t ncuts);

/* Runs every chunking and fails the test unless all transcripts are
 * the same; returns the whole-feed transcript (to free). */
char *irec_check(const struct opts *o, const char *in, size_t len);
char *irec_check_str(const struct opts *o, const char *in);

/* Occurrences of needle in hay. */
size_t irec_count(const char *hay, const char *needle);

/* Fails the test unless ok; the whole transcript t goes to stderr, as
 * Check cuts long messages. */
void irec_expect(int ok, const char *what, const char *s, const char *t,
		 const char *file, int line);

/* The transcript t has s, has not s, has s n times. */
#define HAS(t, s) irec_expect(strstr((t), (s)) != NULL, "missing", (s), \
			      (t), __FILE__, __LINE__)
#define HASNT(t, s) irec_expect(strstr((t), (s)) == NULL, "unexpected", \
				(s), (t), __FILE__, __LINE__)
#define COUNT(t, s, n) irec_expect(irec_count((t), (s)) == (n), \
				   "wrong count of", (s), (t), __FILE__, \
				   __LINE__)

#endif
