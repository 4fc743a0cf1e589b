/*
 * extract_int.h - what extract.c (the directory, names and objects, on the
 * calling thread) and extract_wside.c (the writer's side: buffers,
 * write(2)s, holes, closing and the manifest records) share.  Nothing
 * outside the evidence export includes this; extract.c's top comment
 * describes the layout and who owns what.
 */
#ifndef IMT_EXTRACT_INT_H
#define IMT_EXTRACT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "extract.h"
#include "extract_writer.h"
#include "sha256.h"

#define EXTRACT_BUF        (32u << 10)
/* Manifest records gathered by the writer past which they are written
 * out before the end of its batch. */
#define EXTRACT_MANIFEST_BATCH (64u << 10)
#define EXTRACT_MAX_RANGES 16
#define EXTRACT_MANIFEST   "manifest.ndjson"
/* Names tried after the first one is taken: NAME-1 ... NAME-999. */
#define EXTRACT_NAME_TRIES 1000
/* Wire text copied into the manifest, cut past these sizes. */
#define EXTRACT_TAG_MAX     64
#define EXTRACT_MAILBOX_MAX 1024
#define EXTRACT_SECTION_MAX 256
/* Characters of the section kept in a file name, and the whole name. */
#define EXTRACT_NAME_SECTION 40
#define EXTRACT_NAME_MAX     128
/* Bytes the writer's queue holds (the caller waits past them). */
#define EXTRACT_QUEUE        (4u << 20)
/* Objects ended but not yet written out, past which the caller waits. */
#define EXTRACT_INFLIGHT     32u

/* The writer's commands. */
enum { OP_OPEN, OP_DATA, OP_GAP, OP_END, OP_RECORD, OP_RECORD_END };

struct extract_range {
	uint64_t start, len;
};

struct extract_obj {
	struct extract *x;
	struct extract_obj *prev, *next;     /* x's open objects, or the free list */
	int fd;                              /* the writer's once OP_OPEN is queued */
	int cut;                             /* no more bytes are written */
	enum extract_end_reason end_reason;
	struct sha256 hash;
	char sha[65];
	uint64_t size;                       /* bytes of the object so far */
	unsigned reasons;
	struct extract_range ranges[EXTRACT_MAX_RANGES];
	unsigned nranges;
	int ranges_cut;
	uint64_t session, msn, uid, partial_length, declared, first_frame,
		 last_frame;
	int dir, has_msn, has_uid, has_partial_length, whole;
	enum extract_kind kind;
	uint32_t index;
	struct extract_section sec;
	struct mime_scan *scan;              /* whole messages, when scanned */
	size_t head_len;                     /* bytes in head */
	char client[64], server[64], command[32], ts[48];
	char tag[EXTRACT_TAG_MAX + 1];
	char mailbox[EXTRACT_MAILBOX_MAX + 1];
	char section[EXTRACT_SECTION_MAX + 1];
	size_t tag_len, mailbox_len, section_len;
	int tag_set, mailbox_set, section_set, mailbox_cut;
	char name[EXTRACT_NAME_MAX];
	/* writer: */
	int dead;                            /* begun after an error: no file */
	int hole_at_end;                     /* the file must be extended */
	uint64_t wsize, wlast_frame;         /* size and last frame as written */
	size_t blen;
	unsigned char buf[EXTRACT_BUF];
	unsigned char head[EXTRACT_HEAD];    /* with scan: the first bytes */
};

struct extract {
	int dirfd;
	int manifest_fd;
	char *dir;
	struct imt_limits lim;
	extract_finding_fn on_finding;
	void *user;
	uint64_t total;                      /* bytes charged to max_extract_bytes */
	uint64_t seq;                        /* objects started */
	uint32_t nopen;
	int exhausted;                       /* the total cap was hit */
	/* Set once (extract_fail, extract_wr_fail), err written before it, under mu. */
	atomic_int failed;
	int wfailed;                         /* writer: an error, in command order */
	struct extract_writer *w;            /* NULL: commands carried out at once */
	pthread_mutex_t mu;                  /* failed and err; free */
	struct extract_obj *free;            /* objects the writer is done with */
	uint32_t nobj;                       /* objects allocated */
	int scan_whole;                      /* extract_scan_whole() */
	int behind;                          /* extract_write_behind() */
	int fresh;                           /* extract_dir_fresh(): the writer creates files */
	/* An ended object's scan, kept for the next one (one message after
	 * another, without a malloc and free of the scan's buffers each
	 * time); objects are kept on the free list for the same reason. */
	struct mime_scan *spare_scan;
	struct extract_obj *objs;
	struct imt_event rec;                /* writer: manifest record being built */
	char *wrec;                          /* writer: a record of mime.c, in pieces */
	size_t wrec_len, wrec_cap;
	char *mbuf;                          /* writer: whole records not yet written */
	size_t mlen, mcap;
	char path[EXTRACT_NAME_MAX];
	unsigned char head[EXTRACT_HEAD];    /* extract_result.head */
	char err[512];
};

extern const char *const extract_kind_names[];
extern const char *const extract_reason_names[];

/* The writer's side (extract_wside.c): one command, carried out on the
 * writer's thread, or on the caller's when there is none. */
int extract_wr_cmd(void *user, const struct extract_writer_cmd *c);

/* The calling side's helpers the writer's side uses (extract.c). */
int extract_wr_fail(struct extract *x, const char *path, int errnum);
int extract_manifest_append(struct extract *x, const char *lines, size_t len);
int extract_create_file(struct extract *x, const char *name);
void extract_obj_give_back(struct extract_obj *o);
unsigned extract_obj_end_reasons(const struct extract_obj *o, uint64_t size,
				 int failed);

#endif
