/*
 * extract_wside.c - the writer's side of the evidence export
 * (extract_int.h): an object's bytes through its write buffer into its
 * file, the holes of missing bytes, closing, and the manifest records,
 * in the order the calling thread queued them (extract.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "extract_int.h"
#include "fd_write.h"

/* ---- the manifest ----------------------------------------------------------- */

/* Writes out the records gathered (whole records, in one call). */
static int manifest_flush(struct extract *x)
{
	int rc = 0;

	/* Even after an error: the record of the object that failed says
	 * so, if the disk takes it. */
	if (x->mlen > 0)
		rc = extract_manifest_append(x, x->mbuf, x->mlen);
	x->mlen = 0;
	return rc;
}

/* Adds a record and its line end to those gathered; they go out at the
 * end of the writer's batch (EXTRACT_WRITER_FLUSH) or once
 * EXTRACT_MANIFEST_BATCH bytes wait. */
static int manifest_add(struct extract *x, const char *json, size_t len)
{
	if (len >= x->mcap - x->mlen) {
		size_t cap = x->mcap * 2 > x->mlen + len + 1 ? x->mcap * 2 : x->mlen + len + 1;
		char *t = realloc(x->mbuf, cap);

		if (t == NULL) {
			manifest_flush(x);
			return extract_wr_fail(x, EXTRACT_MANIFEST, ENOMEM);
		}
		x->mbuf = t;
		x->mcap = cap;
	}
	memcpy(x->mbuf + x->mlen, json, len);
	x->mbuf[x->mlen + len] = '\n';
	x->mlen += len + 1;
	return x->mlen >= EXTRACT_MANIFEST_BATCH ? manifest_flush(x) : 0;
}

/* The manifest record of o (docs/extract.md, docs/extract-manifest.schema.json). */
static int obj_record(struct extract_obj *o)
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
	event_cstring(ev, "kind", extract_kind_names[o->kind]);
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
	event_u64(ev, "last_frame", o->wlast_frame);
	event_cstring(ev, "ts", o->ts);
	event_u64(ev, "declared_size", o->declared);
	event_u64(ev, "size", o->wsize);
	event_ascii(ev, "sha256", o->sha, 64);
	event_bool(ev, "complete", o->reasons == 0);
	extract_json_names(ev, "reasons", o->reasons, extract_reason_names, EXTRACT_R__COUNT);
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
		return extract_wr_fail(o->x, EXTRACT_MANIFEST, ENOMEM);
	return manifest_add(o->x, ev->text, ev->len);
}

/* ---- the writer's side ------------------------------------------------------ */

static int obj_flush(struct extract_obj *o)
{
	if (o->blen == 0)
		return 0;
	if (fd_write_all(o->fd, o->buf, o->blen) != 0)
		return extract_wr_fail(o->x, o->name, errno);
	o->blen = 0;
	return 0;
}

static void writer_data(struct extract_obj *o, const unsigned char *p, size_t len,
			uint64_t frame)
{
	struct iovec iov[2] = {
		{ .iov_base = o->buf, .iov_len = o->blen },
		{ .iov_base = (void *)p, .iov_len = len },
	};

	o->wlast_frame = frame;
	o->wsize += len;
	o->hole_at_end = 0;
	if (len < EXTRACT_BUF - o->blen) {
		memcpy(o->buf + o->blen, p, len);
		o->blen += len;
		return;
	}
	/* A buffer's worth or more: what the buffer holds and these bytes
	 * (from the queue's ring, often many pushes merged) in one call,
	 * without copying them. */
	if (fd_writev_all(o->fd, iov, 2) != 0) {
		extract_wr_fail(o->x, o->name, errno);
		return;
	}
	o->blen = 0;
}

static void writer_gap(struct extract_obj *o, uint64_t miss)
{
	if (obj_flush(o) != 0)
		return;
	if (lseek(o->fd, (off_t)miss, SEEK_CUR) == (off_t)-1) {
		extract_wr_fail(o->x, o->name, errno);
		return;
	}
	o->wsize += miss;
	o->hole_at_end = 1;
}

/* Closes the file, appends the record, gives the object back. */
static void writer_end(struct extract *x, struct extract_obj *o)
{
	if (o->dead) {
		/* Begun after the error: as if never begun (a file the engine
		 * created is removed; one that could not be created is not
		 * ours). */
		if (o->fd >= 0) {
			close(o->fd);
			unlinkat(x->dirfd, o->name, 0);
		}
		extract_obj_give_back(o);
		return;
	}
	if (!x->wfailed && obj_flush(o) == 0 && o->hole_at_end &&
	    ftruncate(o->fd, (off_t)o->wsize) != 0)
		extract_wr_fail(x, o->name, errno);
	if (close(o->fd) != 0 && !x->wfailed)
		extract_wr_fail(x, o->name, errno);
	o->reasons = extract_obj_end_reasons(o, o->wsize, x->wfailed);
	obj_record(o);
	extract_obj_give_back(o);
}

/* A piece of a record of mime.c. */
static void writer_record(struct extract *x, const unsigned char *p, size_t len)
{
	if (len > x->wrec_cap - x->wrec_len) {
		size_t cap = x->wrec_cap * 2 > x->wrec_len + len ?
			     x->wrec_cap * 2 : x->wrec_len + len;
		char *t = realloc(x->wrec, cap);

		if (t == NULL) {
			extract_wr_fail(x, EXTRACT_MANIFEST, ENOMEM);
			return;
		}
		x->wrec = t;
		x->wrec_cap = cap;
	}
	memcpy(x->wrec + x->wrec_len, p, len);
	x->wrec_len += len;
}

/* One command, on the writer's thread (or the caller's without it).
 * After an error only OP_END does anything: it closes the file and
 * writes the record that says so. */
int extract_wr_cmd(void *user, const struct extract_writer_cmd *c)
{
	struct extract *x = user;
	struct extract_obj *o = c->obj;

	switch (c->op) {
	case OP_OPEN:
		o->dead = x->wfailed;
		o->hole_at_end = 0;
		o->wsize = 0;
		o->wlast_frame = o->first_frame;
		o->blen = 0;
		if (!o->dead && o->fd < 0 && (o->fd = extract_create_file(x, o->name)) < 0) {
			/* An existing name too: something else writes in DIR. */
			extract_wr_fail(x, o->name, errno);
			o->dead = 1;
		}
		break;
	case OP_DATA:
		if (!o->dead && !x->wfailed)
			writer_data(o, c->data, c->len, c->arg);
		break;
	case OP_GAP:
		if (!o->dead && !x->wfailed)
			writer_gap(o, c->arg);
		break;
	case OP_END:
		writer_end(x, o);
		break;
	case OP_RECORD:
		if (!x->wfailed)
			writer_record(x, c->data, c->len);
		break;
	case OP_RECORD_END:
		if (!x->wfailed)
			manifest_add(x, x->wrec, x->wrec_len);
		x->wrec_len = 0;
		break;
	case EXTRACT_WRITER_FLUSH:
		manifest_flush(x);
		break;
	}
	return x->wfailed ? -1 : 0;
}
