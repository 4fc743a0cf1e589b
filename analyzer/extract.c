/*
 * extract.c - the extraction directory writer (extract.h).
 *
 * Layout of what is kept per object: the metadata copied at
 * extract_begin() (wire text cut to fixed sizes), an open descriptor of
 * the object's file, a SHA-256 context, the missing ranges (a few; past
 * EXTRACT_MAX_RANGES only a flag) and one write buffer of EXTRACT_BUF
 * bytes.  Data passes through the buffer to the file: a run of chunks
 * that does not fit in what is left of it goes to the file straight from
 * the writer's queue, after the buffer's bytes, in one writev(2).  Missing
 * bytes become a
 * hole (lseek past them), so offsets in the file are the literal's
 * offsets and the file has the declared size even when bytes are lost.
 *
 * A manifest record is built with the event writer (event.h) for its
 * escaping and UTF-8 repair; it is not an event, so no event head is
 * written.  Records are gathered by the writer and go to the manifest,
 * whole, in one write(2) on an O_APPEND descriptor at the end of each of
 * its batches (extract_writer.h: EXTRACT_WRITER_FLUSH).
 *
 * The writing runs on a second thread (extract_writer.h).  The calling
 * thread (the session engine) names each file, so that its name is known
 * at once, and does what decides the content: the caps, the missing
 * ranges, the SHA-256, the MIME scan.  In a directory that held no
 * objects when it was opened no name of this run can be taken, and the
 * writer creates the file under its first name; in any other the caller
 * creates it, trying the next names.  It queues commands with
 * copies of the bytes: OP_OPEN, OP_DATA, OP_GAP, OP_END, and OP_RECORD
 * for the records of mime.c.  The writer thread owns the write buffer,
 * the write(2)s, holes, closing and the manifest: it builds an object's
 * record at OP_END, after the file is closed, from the object, which it
 * then gives back to the free list.  So an object belongs to the caller
 * until extract_end() and to the writer after it; fields marked
 * "writer:" are the writer's throughout.
 *
 * Errors keep their order.  The writer carries out the commands in the
 * order of the calls, so the file system sees the same calls as if they
 * were made at once and the first error is the same; what depends on it
 * (an object's size as written, its write-error reason, whether an
 * object begun after the error keeps its file and record: it does not)
 * is settled on the writer's side, in that order.  An error of the
 * calling thread (creating a file) waits for the writer to finish what
 * was queued before it.  The caller learns of an error at its next call
 * (or at extract_close()), so the `message` events of a few objects
 * ended in between may be written although their records are not.
 * Without the thread (it could not be started), every command is carried
 * out at once on the calling thread.  The writer's side of the commands
 * is extract_wside.c; what the two files share, extract_int.h.
 */
#include "extract.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "event.h"
#include "dec.h"
#include "extract_int.h"
#include "extract_writer.h"
#include "sha256.h"

static int extract_dir_fresh(int dirfd);
static int obj_cmd(struct extract_obj *o, int op, uint64_t arg, const void *p,
		   size_t len);

/* Without the writer thread: carries out c at once, and what the writer
 * would do at the end of its batch. */
static int wr_direct(struct extract *x, const struct extract_writer_cmd *c)
{
	static const struct extract_writer_cmd flush = { .op = EXTRACT_WRITER_FLUSH };
	int rc = extract_wr_cmd(x, c);

	return extract_wr_cmd(x, &flush) != 0 ? -1 : rc;
}

const char *const extract_kind_names[] = {
#define EXTRACT_KIND_NAME(e, name) name,
	EXTRACT_KINDS(EXTRACT_KIND_NAME)
#undef EXTRACT_KIND_NAME
};

const char *const extract_reason_names[] = {
#define EXTRACT_REASON_NAME(e, name, desc) name,
	EXTRACT_REASONS(EXTRACT_REASON_NAME)
#undef EXTRACT_REASON_NAME
};

const char *extract_reason_name(unsigned bit)
{
	if (bit >= EXTRACT_R__COUNT)
		return "unknown";
	return extract_reason_names[bit];
}

/* ---- the directory -------------------------------------------------------- */

struct extract *extract_open(const char *dir, const struct imt_limits *lim,
			     extract_finding_fn on_finding, void *user,
			     char *err, size_t errsize)
{
	struct extract *x;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsize, "cannot create extraction directory %s: %s",
			 dir, strerror(errno));
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL || (x->dir = strdup(dir)) == NULL) {
		free(x);
		snprintf(err, errsize, "%s: out of memory", dir);
		return NULL;
	}
	if (pthread_mutex_init(&x->mu, NULL) != 0) {
		free(x->dir);
		free(x);
		snprintf(err, errsize, "%s: out of memory", dir);
		return NULL;
	}
	x->lim = *lim;
	x->on_finding = on_finding;
	x->user = user;
	x->manifest_fd = -1;
	x->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->dirfd < 0) {
		snprintf(err, errsize, "cannot use extraction directory %s: %s",
			 dir, strerror(errno));
		goto fail;
	}
	/* Opening the manifest for writing is the test that DIR is
	 * writable; an existing manifest is continued, not replaced. */
	x->manifest_fd = openat(x->dirfd, EXTRACT_MANIFEST,
				O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
				0644);
	if (x->manifest_fd < 0) {
		snprintf(err, errsize, "cannot write in extraction directory %s: %s/%s: %s",
			 dir, dir, EXTRACT_MANIFEST, strerror(errno));
		goto fail;
	}
	/* The writer gets runs of an object's bytes in one command. */
	x->w = extract_writer_new(EXTRACT_QUEUE, OP_DATA, extract_wr_cmd, x);
	x->fresh = x->w != NULL && extract_dir_fresh(x->dirfd);
	return x;
fail:
	if (x->dirfd >= 0)
		close(x->dirfd);
	pthread_mutex_destroy(&x->mu);
	free(x->dir);
	free(x);
	return NULL;
}

int extract_dirfd(const struct extract *x)
{
	return x->dirfd;
}

const char *extract_dirname(const struct extract *x)
{
	return x->dir;
}

const struct imt_limits *extract_limits(const struct extract *x)
{
	return &x->lim;
}

void extract_scan_whole(struct extract *x)
{
	x->scan_whole = 1;
}

const char *extract_error(const struct extract *x)
{
	return atomic_load(&x->failed) ? x->err : NULL;
}

/* Stops the extraction (the writer's side, or the caller's once the
 * writer is idle).  Returns -1. */
int extract_wr_fail(struct extract *x, const char *path, int errnum)
{
	pthread_mutex_lock(&x->mu);
	if (!atomic_load(&x->failed)) {
		char buf[128];

		snprintf(x->err, sizeof(x->err), "%s/%s: %s", x->dir, path,
			 strerror_r(errnum, buf, sizeof(buf)));
		atomic_store(&x->failed, 1);
	}
	pthread_mutex_unlock(&x->mu);
	x->wfailed = 1;
	return -1;
}

void extract_write_behind(struct extract *x)
{
	x->behind = 1;
}

void extract_sync(struct extract *x)
{
	if (x->w != NULL)
		extract_writer_sync(x->w);
}

int extract_fail(struct extract *x, const char *path, int errnum)
{
	/* What was queued before happened before the error. */
	extract_sync(x);
	return extract_wr_fail(x, path, errnum);
}

void extract_report(struct extract *x, uint64_t session,
		    const struct imt_finding_report *f)
{
	if (x->on_finding != NULL)
		x->on_finding(x->user, session, f);
}

static void extract_limit(struct extract *x, uint64_t session, int dir,
			  uint64_t frame, const char *limit, uint64_t value,
			  const char *detail)
{
	struct imt_finding_report f = {
		.id = F_LIMIT_REACHED, .frame = frame, .dir = dir,
		.limit = limit, .value = value, .detail = detail,
	};

	extract_report(x, session, &f);
}

/* Appends whole records (each with its line end), even after an error
 * stopped the extraction (the record of the object that failed says so,
 * if the disk takes it). */
int extract_manifest_append(struct extract *x, const char *lines, size_t len)
{
	ssize_t k;

	/* One call, so that records are never interleaved or half there
	 * unless the disk filled in the middle of them. */
	do
		k = write(x->manifest_fd, lines, len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return extract_wr_fail(x, EXTRACT_MANIFEST, errno);
	if ((size_t)k != len)
		return extract_wr_fail(x, EXTRACT_MANIFEST, ENOSPC);
	return 0;
}

int extract_manifest_write(struct extract *x, const char *json, size_t len)
{
	struct extract_writer_cmd c = { OP_RECORD, NULL, 0, (const void *)json, len };
	struct extract_writer_cmd e = { OP_RECORD_END, NULL, 0, NULL, 0 };

	if (atomic_load(&x->failed))
		return -1;
	/* The queue may cut the text in pieces: the writer puts them
	 * together and appends the record at OP_RECORD_END. */
	if (x->w != NULL)
		return extract_writer_push(x->w, OP_RECORD, NULL, 0, json, len) != 0 ||
		       extract_writer_push(x->w, OP_RECORD_END, NULL, 0, NULL, 0) != 0 ?
		       -1 : 0;
	return wr_direct(x, &c) != 0 || wr_direct(x, &e) != 0 ? -1 : 0;
}

/* ---- names ---------------------------------------------------------------- */

size_t extract_safe_name(char *buf, size_t n, const char *s, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || (c == '.' && k > 0);

		buf[k++] = ok ? (char)c : '_';
	}
	buf[k] = '\0';
	return k;
}

/* s[0, len) is word, ignoring case. */
static int word_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

void extract_section_parse(const char *s, size_t len, struct extract_section *r)
{
	size_t end = len;

	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return;
	/* "<origin>" after the item: a piece starting at origin. */
	if (end > 0 && s[end - 1] == '>') {
		const char *lt = memrchr(s, '<', end - 1);

		if (lt != NULL &&
		    dec_parse_u64(lt + 1, (size_t)(s + end - 1 - (lt + 1)), UINT64_MAX,
				  &r->origin) == 0) {
			r->partial = 1;
			end = (size_t)(lt - s);
		}
	}
	r->whole = !r->partial &&
		   (word_is(s, end, "BODY[]") || word_is(s, end, "BODY.PEEK[]") ||
		    word_is(s, end, "RFC822") || word_is(s, end, "BINARY[]") ||
		    word_is(s, end, "BINARY.PEEK[]"));
}

int extract_create_file(struct extract *x, const char *name)
{
	return openat(x->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0644);
}

/* Whether DIR holds nothing but a manifest and attachments: no file name
 * of this run can then be taken (each has the run's object number), and
 * the writer creates the files under their first names. */
static int extract_dir_fresh(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), fresh = 1;
	struct dirent *e;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (fresh && (e = readdir(d)) != NULL)
		fresh = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			strcmp(e->d_name, EXTRACT_MANIFEST) == 0 ||
			strcmp(e->d_name, "attachments") == 0;
	closedir(d);
	return fresh;
}

/* Creates the object's file under a fresh name (only names it, without
 * `tries`); returns the descriptor, or -1 with errno set. */
static int extract_create(struct extract *x, struct extract_obj *o, int tries)
{
	char base[EXTRACT_NAME_MAX - 16], sec[EXTRACT_NAME_SECTION + 1], id[32];
	const char *ext = o->whole ? "eml" : "part";

	id[0] = '\0';
	if (o->has_uid)
		snprintf(id, sizeof(id), "-uid%" PRIu64, o->uid);
	else if (o->has_msn)
		snprintf(id, sizeof(id), "-msn%" PRIu64, o->msn);
	if (o->section_set && o->section_len > 0)
		extract_safe_name(sec, sizeof(sec), o->section, o->section_len);
	else
		snprintf(sec, sizeof(sec), "%" PRIu32, o->index);
	snprintf(base, sizeof(base), "s%" PRIu64 "-%06" PRIu64 "-%s-%s%s-%s",
		     o->session, x->seq, o->dir == 0 ? "c2s" : "s2c",
		     extract_kind_names[o->kind], id, sec);
	for (unsigned t = 0; t < EXTRACT_NAME_TRIES; t++) {
		int fd;

		if (t == 0)
			snprintf(o->name, sizeof(o->name), "%s.%s", base, ext);
		else
			snprintf(o->name, sizeof(o->name), "%s-%u.%s", base, t, ext);
		if (!tries)
			return -1;
		fd = extract_create_file(x, o->name);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* ---- objects ---------------------------------------------------------------- */

static void copy_text(char *dst, size_t cap, size_t *len_r, int *set_r,
		      int *cut_r, const char *s, size_t len)
{
	*set_r = s != NULL;
	if (s == NULL)
		len = 0;
	if (cut_r != NULL)
		*cut_r = len > cap;
	if (len > cap)
		len = cap;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	*len_r = len;
}

static void copy_trusted(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s != NULL ? s : "");
}

/* Frees a scan, or keeps it as x's spare. */
static void scan_release(struct extract *x, struct mime_scan *sc)
{
	if (sc != NULL && x->spare_scan == NULL)
		x->spare_scan = sc;
	else
		mime_scan_free(sc);
}

/* Gives o back to the free list (either thread; not its scan). */
void extract_obj_give_back(struct extract_obj *o)
{
	struct extract *x = o->x;

	pthread_mutex_lock(&x->mu);
	o->next = x->free;
	x->free = o;
	pthread_mutex_unlock(&x->mu);
}

/* An object from the free list, or a new one: at most EXTRACT_INFLIGHT
 * more than are open, waiting for the writer past that.  NULL when out
 * of memory. */
static struct extract_obj *obj_take(struct extract *x)
{
	struct extract_obj *o;

	for (int waited = 0;; waited = 1) {
		pthread_mutex_lock(&x->mu);
		o = x->free;
		if (o != NULL)
			x->free = o->next;
		pthread_mutex_unlock(&x->mu);
		if (o != NULL || waited || x->nobj < x->nopen + EXTRACT_INFLIGHT)
			break;
		extract_sync(x);
	}
	if (o == NULL && (o = malloc(sizeof(*o))) != NULL)
		x->nobj++;
	return o;
}

struct extract_obj *extract_begin(struct extract *x, const struct extract_meta *m)
{
	struct extract_obj *o;

	if (x == NULL || atomic_load(&x->failed))
		return NULL;
	if (x->exhausted || x->total >= x->lim.max_extract_bytes) {
		if (!x->exhausted) {
			x->exhausted = 1;
			extract_limit(x, m->session, m->dir, m->first_frame,
				      "max-extract-bytes", x->total,
				      "total extraction cap reached: this and later objects are not written");
		}
		return NULL;
	}
	if (x->nopen >= x->lim.max_extract_open) {
		extract_limit(x, m->session, m->dir, m->first_frame,
			      "max-extract-open", x->nopen,
			      "too many objects open at once: this one is not written");
		return NULL;
	}
	o = obj_take(x);
	if (o == NULL) {
		extract_fail(x, "(object)", ENOMEM);
		return NULL;
	}
	/* The buffers are left as they are: only their first blen and
	 * head_len bytes are read. */
	memset(o, 0, offsetof(struct extract_obj, buf));
	o->x = x;
	o->session = m->session;
	o->dir = m->dir != 0;
	o->kind = (unsigned)m->kind <= EXTRACT_CATENATE ? m->kind : EXTRACT_FETCH;
	o->msn = m->msn;
	o->has_msn = m->has_msn;
	o->uid = m->uid;
	o->has_uid = m->has_uid;
	o->partial_length = m->partial_length;
	o->has_partial_length = m->has_partial_length;
	o->index = m->index;
	o->declared = m->declared_size;
	o->first_frame = o->last_frame = m->first_frame;
	copy_trusted(o->client, sizeof(o->client), m->client);
	copy_trusted(o->server, sizeof(o->server), m->server);
	copy_trusted(o->command, sizeof(o->command), m->command);
	copy_trusted(o->ts, sizeof(o->ts), m->ts);
	copy_text(o->tag, EXTRACT_TAG_MAX, &o->tag_len, &o->tag_set, NULL,
		  m->tag, m->tag_len);
	copy_text(o->mailbox, EXTRACT_MAILBOX_MAX, &o->mailbox_len,
		  &o->mailbox_set, &o->mailbox_cut, m->mailbox, m->mailbox_len);
	copy_text(o->section, EXTRACT_SECTION_MAX, &o->section_len,
		  &o->section_set, NULL, m->section, m->section_len);
	extract_section_parse(m->section, m->section_len, &o->sec);
	if (o->sec.partial || o->has_partial_length)
		o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_PARTIAL);
	o->whole = o->kind == EXTRACT_APPEND ||
		   (o->kind == EXTRACT_FETCH && o->sec.whole && !o->has_partial_length);
	if (sha256_init(&o->hash) != 0) {
		extract_obj_give_back(o);
		extract_fail(x, "(object)", ENOMEM);
		return NULL;
	}
	/* Without its scan the summary reads the file instead. */
	if (x->scan_whole && o->whole) {
		o->scan = x->spare_scan;
		x->spare_scan = NULL;
		if (o->scan != NULL)
			mime_scan_reset(o->scan);
		else
			o->scan = mime_scan_new(&x->lim);
	}
	x->seq++;
	/* In a fresh directory the name is the first one and the writer
	 * creates the file; else the file is created here, trying names. */
	o->fd = extract_create(x, o, !x->fresh);
	if (o->fd < 0 && !x->fresh) {
		extract_fail(x, o->name, errno);
		sha256_free(&o->hash);
		scan_release(x, o->scan);
		extract_obj_give_back(o);
		return NULL;
	}
	obj_cmd(o, OP_OPEN, 0, NULL, 0);
	o->next = x->objs;
	if (x->objs != NULL)
		x->objs->prev = o;
	x->objs = o;
	x->nopen++;
	return o;
}

/*
 * How many of `want` more bytes the total cap lets through; cuts the
 * object (and reports the cap, once) when it is fewer.
 */
static uint64_t obj_budget(struct extract_obj *o, uint64_t want, uint64_t frame)
{
	struct extract *x = o->x;
	uint64_t left = x->total < x->lim.max_extract_bytes ?
			x->lim.max_extract_bytes - x->total : 0;

	if (!BUDGET_EXCEEDED(x->total, want, x->lim.max_extract_bytes))
		return want;
	o->cut = 1;
	o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_LIMIT);
	if (!x->exhausted) {
		x->exhausted = 1;
		extract_limit(x, o->session, o->dir, frame, "max-extract-bytes",
			      x->lim.max_extract_bytes,
			      "total extraction cap reached: this object is cut and later ones are not written");
	}
	return left;
}

int extract_data(struct extract_obj *o, const void *bytes, size_t len,
		 uint64_t frame)
{
	const unsigned char *p = bytes;
	uint64_t n;

	if (o == NULL)
		return 0;
	if (atomic_load(&o->x->failed))
		return -1;
	if (o->cut || len == 0)
		return 0;
	o->last_frame = frame;
	n = obj_budget(o, len, frame);
	len = (size_t)n;
	o->x->total += len;
	o->size += len;
	sha256_update(&o->hash, p, len);
	if (o->scan != NULL) {
		uint64_t body;

		mime_scan_feed(o->scan, p, len);
		/* The summary reads no further than the message's header
		 * block: the copy stops at its end once the scan has seen it. */
		body = mime_scan_body(o->scan);
		if (o->head_len < EXTRACT_HEAD && (body == 0 || o->head_len < body)) {
			size_t want = body != 0 && body < EXTRACT_HEAD ? (size_t)body : EXTRACT_HEAD;
			size_t k = want - o->head_len < len ? want - o->head_len : len;

			memcpy(o->head + o->head_len, p, k);
			o->head_len += k;
		}
	}
	/* Queued even when the cap let nothing through: the writer keeps
	 * the frame. */
	return obj_cmd(o, OP_DATA, frame, p, len);
}

void extract_set_uid(struct extract_obj *o, uint64_t uid)
{
	if (o == NULL)
		return;
	o->uid = uid;
	o->has_uid = 1;
}

int extract_gap(struct extract_obj *o, uint64_t offset, uint64_t len)
{
	struct extract_range *last;
	uint64_t end, miss;

	if (o == NULL)
		return 0;
	if (atomic_load(&o->x->failed))
		return -1;
	o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_GAP);
	/* Incomplete now: it will not be summarized. */
	scan_release(o->x, o->scan);
	o->scan = NULL;
	if (o->cut || BUDGET_EXCEEDED(offset, len, UINT64_MAX))
		return 0;
	end = offset + len;
	if (end <= o->size)
		return 0;
	miss = obj_budget(o, end - o->size, o->last_frame);
	if (miss == 0)
		return 0;
	if (miss > (uint64_t)INT64_MAX)
		return extract_fail(o->x, o->name, EFBIG);
	if (obj_cmd(o, OP_GAP, miss, NULL, 0) != 0)
		return -1;
	sha256_zeros(&o->hash, miss);
	last = o->nranges > 0 ? &o->ranges[o->nranges - 1] : NULL;
	if (last != NULL && last->start + last->len == o->size)
		last->len += miss;
	else if (o->nranges < EXTRACT_MAX_RANGES)
		o->ranges[o->nranges++] = (struct extract_range){ o->size, miss };
	else
		o->ranges_cut = 1;
	o->x->total += miss;
	o->size += miss;
	return 0;
}

static void obj_unlink(struct extract_obj *o)
{
	struct extract *x = o->x;

	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		x->objs = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	x->nopen--;
}

void extract_json_text(struct imt_event *ev, const char *key, const char *s,
		       size_t len)
{
	if (s != NULL)
		event_string(ev, key, s, len);
	else
		event_null(ev, key);
}

void extract_json_names(struct imt_event *ev, const char *key, unsigned bits,
			const char *const *names, unsigned n)
{
	event_array(ev, key);
	for (unsigned b = 0; b < n; b++)
		if (bits & (1u << b))
			event_cstring(ev, NULL, names[b]);
	event_close(ev);
}

/* The reasons of an object ending: those of the caller's side, and those
 * that depend on what was written (writer). */
unsigned extract_obj_end_reasons(const struct extract_obj *o, uint64_t size,
				int failed)
{
	unsigned r = o->reasons;

	if (size < o->declared && !o->cut && !failed) {
		/* The literal stopped early; why is the caller's word.  (After
		 * a write error the bytes stopped here, whatever the caller
		 * says: write-error alone.) */
		switch (o->end_reason) {
		case EXTRACT_END_CAPTURE_END:
			r |= EXTRACT_REASON_BIT(EXTRACT_R_CAPTURE_END);
			break;
		case EXTRACT_END_RESET:
			r |= EXTRACT_REASON_BIT(EXTRACT_R_RESET);
			break;
		default:
			r |= EXTRACT_REASON_BIT(EXTRACT_R_ABANDONED);
			break;
		}
	}
	if (failed)
		r |= EXTRACT_REASON_BIT(EXTRACT_R_WRITE_ERROR);
	return r;
}

int extract_end(struct extract_obj *o, enum extract_end_reason reason,
		struct extract_result *res_r)
{
	struct extract *x;
	int failed;

	if (o == NULL)
		return -1;
	x = o->x;
	obj_unlink(o);
	o->end_reason = reason;
	sha256_final_hex(&o->hash, o->sha);
	failed = atomic_load(&x->failed);
	if (!failed && res_r != NULL) {
		unsigned reasons = extract_obj_end_reasons(o, o->size, 0);

		memcpy(x->path, o->name, sizeof(x->path));
		res_r->session = o->session;
		res_r->path = x->path;
		res_r->size = o->size;
		memcpy(res_r->sha256, o->sha, sizeof(o->sha));
		res_r->reasons = reasons;
		res_r->complete = reasons == 0;
		res_r->whole = o->whole;
		res_r->scanned = o->scan != NULL;
		res_r->head = NULL;
		res_r->head_len = 0;
		if (o->scan != NULL) {
			mime_scan_finish(o->scan, &res_r->scan);
			memcpy(x->head, o->head, o->head_len);
			res_r->head = x->head;
			res_r->head_len = o->head_len;
		}
	}
	scan_release(x, o->scan);
	o->scan = NULL;
	/* The object is the writer's from here: it closes the file, writes
	 * the record and gives the object back. */
	obj_cmd(o, OP_END, 0, NULL, 0);
	if (!x->behind) {
		extract_sync(x);
		failed = atomic_load(&x->failed);
	}
	return failed ? -1 : 0;
}

/* Hands a command to the writer.  Returns 0, or -1 once the writer has
 * met an error. */
static int obj_cmd(struct extract_obj *o, int op, uint64_t arg, const void *p,
		   size_t len)
{
	struct extract *x = o->x;
	struct extract_writer_cmd c = { op, o, arg, p, len };

	if (x->w != NULL)
		return extract_writer_push(x->w, op, o, arg, p, len);
	return wr_direct(x, &c);
}

int extract_close(struct extract *x, char *err, size_t errsize)
{
	int rc;

	if (x == NULL)
		return 0;
	while (x->objs != NULL)
		extract_end(x->objs, EXTRACT_END_CAPTURE_END, NULL);
	extract_writer_free(x->w, NULL);
	x->w = NULL;
	if (x->manifest_fd >= 0 && close(x->manifest_fd) != 0)
		extract_wr_fail(x, EXTRACT_MANIFEST, errno);
	close(x->dirfd);
	rc = atomic_load(&x->failed) ? -1 : 0;
	if (rc != 0 && err != NULL && errsize > 0)
		snprintf(err, errsize, "%s", x->err);
	event_release(&x->rec);
	free(x->wrec);
	free(x->mbuf);
	mime_scan_free(x->spare_scan);
	while (x->free != NULL) {
		struct extract_obj *o = x->free;

		x->free = o->next;
		free(o);
	}
	pthread_mutex_destroy(&x->mu);
	free(x->dir);
	free(x);
	return rc;
}
