/*
 * extract.c - the extraction directory writer (extract.h).
 *
 * Layout of what is kept per object: the metadata copied at
 * extract_begin() (wire text cut to fixed sizes), an open descriptor of
 * the object's file, a SHA-256 context, the missing ranges (a few; past
 * EXTRACT_MAX_RANGES only a flag) and one write buffer of EXTRACT_BUF
 * bytes.  Data passes through the buffer to the file: chunks at least as
 * large as the buffer go straight to write(2).  Missing bytes become a
 * hole (lseek past them), so offsets in the file are the literal's
 * offsets and the file has the declared size even when bytes are lost.
 *
 * A manifest record is built with the event writer (event.h) for its
 * escaping and UTF-8 repair; it is not an event, so no event head is
 * written.  Each record goes to the manifest in one writev(2) on an
 * O_APPEND descriptor.
 */
#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "event.h"
#include "dec.h"
#include "sha256.h"

#define EXTRACT_BUF        (32u << 10)
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

struct extract_range {
	uint64_t start, len;
};

struct extract_obj {
	struct extract *x;
	struct extract_obj *prev, *next;     /* x's open objects */
	int fd;
	int cut;                             /* no more bytes are written */
	int hole_at_end;                     /* the file must be extended */
	struct sha256 hash;
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
	int failed;
	int scan_whole;                      /* extract_scan_whole() */
	/* An ended object's memory and scan, kept for the next one (one
	 * message after another, without a malloc and free of the write
	 * buffer and the scan's buffers each time). */
	struct extract_obj *spare;
	struct mime_scan *spare_scan;
	struct extract_obj *objs;
	struct imt_event rec;                /* manifest record being built */
	char path[EXTRACT_NAME_MAX];
	unsigned char head[EXTRACT_HEAD];    /* extract_result.head */
	char err[512];
};

static const char *const kind_names[] = {
#define EXTRACT_KIND_NAME(e, name) name,
	EXTRACT_KINDS(EXTRACT_KIND_NAME)
#undef EXTRACT_KIND_NAME
};

static const char *const reason_names[] = {
#define EXTRACT_REASON_NAME(e, name, desc) name,
	EXTRACT_REASONS(EXTRACT_REASON_NAME)
#undef EXTRACT_REASON_NAME
};

const char *extract_reason_name(unsigned bit)
{
	if (bit >= EXTRACT_R__COUNT)
		return "unknown";
	return reason_names[bit];
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
	return x;
fail:
	if (x->dirfd >= 0)
		close(x->dirfd);
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
	return x->failed ? x->err : NULL;
}

int extract_fail(struct extract *x, const char *path, int errnum)
{
	if (!x->failed) {
		x->failed = 1;
		snprintf(x->err, sizeof(x->err), "%s/%s: %s", x->dir, path,
			 strerror(errnum));
	}
	return -1;
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

int extract_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t k = write(fd, s, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = ENOSPC;
			return -1;
		}
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Appends a record, even after an error stopped the extraction (the
 * record of the object that failed says so, if the disk takes it). */
static int manifest_append(struct extract *x, const char *json, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)json, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	ssize_t k;

	/* One call, so that a record is never interleaved or half there
	 * unless the disk filled in the middle of it. */
	do
		k = writev(x->manifest_fd, iov, 2);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return extract_fail(x, EXTRACT_MANIFEST, errno);
	if ((size_t)k != len + 1)
		return extract_fail(x, EXTRACT_MANIFEST, ENOSPC);
	return 0;
}

int extract_manifest_write(struct extract *x, const char *json, size_t len)
{
	if (x->failed)
		return -1;
	return manifest_append(x, json, len);
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

/* Creates the object's file under a fresh name; returns the descriptor,
 * or -1 with errno set. */
static int extract_create(struct extract *x, struct extract_obj *o)
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
		     kind_names[o->kind], id, sec);
	for (unsigned t = 0; t < EXTRACT_NAME_TRIES; t++) {
		int fd;

		if (t == 0)
			snprintf(o->name, sizeof(o->name), "%s.%s", base, ext);
		else
			snprintf(o->name, sizeof(o->name), "%s-%u.%s", base, t, ext);
		fd = openat(x->dirfd, o->name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
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

/* Frees o and its scan, or keeps them as x's spares. */
static void obj_release(struct extract_obj *o)
{
	struct extract *x = o->x;

	scan_release(x, o->scan);
	if (x->spare == NULL)
		x->spare = o;
	else
		free(o);
}

struct extract_obj *extract_begin(struct extract *x, const struct extract_meta *m)
{
	struct extract_obj *o;

	if (x == NULL || x->failed)
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
	o = x->spare != NULL ? x->spare : malloc(sizeof(*o));
	x->spare = NULL;
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
		free(o);
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
	o->fd = extract_create(x, o);
	if (o->fd < 0) {
		extract_fail(x, o->name, errno);
		sha256_free(&o->hash);
		obj_release(o);
		return NULL;
	}
	o->next = x->objs;
	if (x->objs != NULL)
		x->objs->prev = o;
	x->objs = o;
	x->nopen++;
	return o;
}

static int obj_flush(struct extract_obj *o)
{
	if (o->blen == 0)
		return 0;
	if (extract_write_all(o->fd, o->buf, o->blen) != 0)
		return extract_fail(o->x, o->name, errno);
	o->blen = 0;
	return 0;
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
	if (o->x->failed)
		return -1;
	if (o->cut || len == 0)
		return 0;
	o->last_frame = frame;
	n = obj_budget(o, len, frame);
	len = (size_t)n;
	o->x->total += len;
	o->size += len;
	o->hole_at_end = 0;
	sha256_update(&o->hash, p, len);
	if (o->scan != NULL) {
		if (o->head_len < EXTRACT_HEAD) {
			size_t k = EXTRACT_HEAD - o->head_len < len ?
				   EXTRACT_HEAD - o->head_len : len;

			memcpy(o->head + o->head_len, p, k);
			o->head_len += k;
		}
		mime_scan_feed(o->scan, p, len);
	}
	if (o->blen == 0 && len >= EXTRACT_BUF) {
		if (extract_write_all(o->fd, p, len) != 0)
			return extract_fail(o->x, o->name, errno);
		return 0;
	}
	while (len > 0) {
		size_t k = EXTRACT_BUF - o->blen;

		if (k > len)
			k = len;
		memcpy(o->buf + o->blen, p, k);
		o->blen += k;
		p += k;
		len -= k;
		if (o->blen == EXTRACT_BUF && obj_flush(o) != 0)
			return -1;
	}
	return 0;
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
	if (o->x->failed)
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
	if (obj_flush(o) != 0)
		return -1;
	if (miss > (uint64_t)INT64_MAX)
		return extract_fail(o->x, o->name, EFBIG);
	if (lseek(o->fd, (off_t)miss, SEEK_CUR) == (off_t)-1)
		return extract_fail(o->x, o->name, errno);
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
	o->hole_at_end = 1;
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

/* The manifest record of o (docs/extract.md, docs/extract-manifest.schema.json). */
static int obj_record(struct extract_obj *o, const char *sha)
{
	struct imt_event *ev = &o->x->rec;

	/* Not an event: the type given here is never written. */
	event_begin(ev, EV_SESSION_START, 0);
	event_ascii(ev, "record", "object", 6);
	event_cstring(ev, "path", o->name);
	event_u64(ev, "session", o->session);
	event_cstring(ev, "client", o->client);
	event_cstring(ev, "server", o->server);
	event_ascii(ev, "dir", o->dir == 0 ? "c2s" : "s2c", 3);
	event_cstring(ev, "kind", kind_names[o->kind]);
	event_cstring(ev, "command", o->command);
	extract_json_text(ev, "tag", o->tag_set ? o->tag : NULL, o->tag_len);
	extract_json_text(ev, "mailbox", o->mailbox_set ? o->mailbox : NULL,
			  o->mailbox_len);
	if (o->mailbox_cut)
		event_bool(ev, "mailbox_truncated", 1);
	if (o->has_msn)
		event_u64(ev, "msn", o->msn);
	else
		event_null(ev, "msn");
	if (o->has_uid)
		event_u64(ev, "uid", o->uid);
	else
		event_null(ev, "uid");
	extract_json_text(ev, "section", o->section_set ? o->section : NULL,
			  o->section_len);
	event_u64(ev, "index", o->index);
	if (o->sec.partial || o->has_partial_length) {
		event_object(ev, "partial");
		event_u64(ev, "origin", o->sec.origin);
		if (o->has_partial_length)
			event_u64(ev, "length", o->partial_length);
		else
			event_null(ev, "length");
		event_close(ev);
	} else {
		event_null(ev, "partial");
	}
	event_bool(ev, "whole_message", o->whole);
	event_u64(ev, "first_frame", o->first_frame);
	event_u64(ev, "last_frame", o->last_frame);
	event_cstring(ev, "ts", o->ts);
	event_u64(ev, "declared_size", o->declared);
	event_u64(ev, "size", o->size);
	event_ascii(ev, "sha256", sha, 64);
	event_bool(ev, "complete", o->reasons == 0);
	extract_json_names(ev, "reasons", o->reasons, reason_names, EXTRACT_R__COUNT);
	event_array(ev, "missing");
	for (unsigned i = 0; i < o->nranges; i++) {
		event_object(ev, NULL);
		event_u64(ev, "offset", o->ranges[i].start);
		event_u64(ev, "length", o->ranges[i].len);
		event_close(ev);
	}
	event_close(ev);
	event_bool(ev, "missing_truncated", o->ranges_cut);
	if (event_end(ev) != 0)
		return extract_fail(o->x, EXTRACT_MANIFEST, ENOMEM);
	return manifest_append(o->x, ev->text, ev->len);
}

int extract_end(struct extract_obj *o, enum extract_end_reason reason,
		struct extract_result *res_r)
{
	struct extract *x;
	char sha[65];
	int rc = 0;

	if (o == NULL)
		return -1;
	x = o->x;
	obj_unlink(o);
	if (!x->failed && obj_flush(o) == 0 && o->hole_at_end &&
	    ftruncate(o->fd, (off_t)o->size) != 0)
		extract_fail(x, o->name, errno);
	if (close(o->fd) != 0 && !x->failed)
		extract_fail(x, o->name, errno);
	if (o->size < o->declared && !o->cut && !x->failed) {
		/* The literal stopped early; why is the caller's word.  (After
		 * a write error the bytes stopped here, whatever the caller
		 * says: write-error alone.) */
		switch (reason) {
		case EXTRACT_END_CAPTURE_END:
			o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_CAPTURE_END);
			break;
		case EXTRACT_END_RESET:
			o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_RESET);
			break;
		default:
			o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_ABANDONED);
			break;
		}
	}
	if (x->failed)
		o->reasons |= EXTRACT_REASON_BIT(EXTRACT_R_WRITE_ERROR);
	sha256_final_hex(&o->hash, sha);
	if (obj_record(o, sha) != 0 || x->failed)
		rc = -1;
	if (rc == 0 && res_r != NULL) {
		memcpy(x->path, o->name, sizeof(x->path));
		res_r->session = o->session;
		res_r->path = x->path;
		res_r->size = o->size;
		memcpy(res_r->sha256, sha, sizeof(sha));
		res_r->reasons = o->reasons;
		res_r->complete = o->reasons == 0;
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
	obj_release(o);
	return rc;
}

int extract_close(struct extract *x, char *err, size_t errsize)
{
	int rc;

	if (x == NULL)
		return 0;
	while (x->objs != NULL)
		extract_end(x->objs, EXTRACT_END_CAPTURE_END, NULL);
	if (x->manifest_fd >= 0 && close(x->manifest_fd) != 0)
		extract_fail(x, EXTRACT_MANIFEST, errno);
	close(x->dirfd);
	rc = x->failed ? -1 : 0;
	if (rc != 0 && err != NULL && errsize > 0)
		snprintf(err, errsize, "%s", x->err);
	event_release(&x->rec);
	mime_scan_free(x->spare_scan);
	free(x->spare);
	free(x->dir);
	free(x);
	return rc;
}
