/*
 * sess_pending.c - outstanding commands and completed tags (see
 * sess_pending.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sess_pending.h"
#include "hash.h"
#include "mem.h"

enum sess_status sess_status_of(const char *name)
{
	if (strcmp(name, "OK") == 0) return SESS_OK;
	if (strcmp(name, "NO") == 0) return SESS_NO;
	if (strcmp(name, "BAD") == 0) return SESS_BAD;
	return SESS_OTHER;
}

const char *sess_status_name(enum sess_status st)
{
	static const char *const names[SESS_NSTATUS] = { "OK", "NO", "BAD", "other" };

	return st < SESS_NSTATUS ? names[st] : "other";
}

/* The hash that identifies a tag among the completed ones; never 0, which
 * marks an empty slot.  The seed is fixed: a collision would raise
 * tag-reused, and the same capture must give the same findings in every
 * run. */
static uint32_t tag_hash(const char *tag)
{
	return (uint32_t)hash_bytes(0, tag, strlen(tag)) | 1;
}

int sess_cmd_set_text(struct sess_cmd *c, const char *tag, size_t tl,
		      const char *name)
{
	size_t nl = strnlen(name, SESS_NAME_MAX - 1);
	char *t = c->in;
	int rc = 0;

	tl = strnlen(tag, tl);
	if (tl + nl + 2 > sizeof(c->in)) {
		if ((c->text = malloc(tl + nl + 2)) != NULL) {
			t = c->text;
		} else {
			/* What fits: the tag first, it matches the result. */
			rc = -1;
			if (tl > sizeof(c->in) - 2)
				tl = sizeof(c->in) - 2;
			nl = sizeof(c->in) - 2 - tl;
		}
	}
	memcpy(t, tag, tl);
	t[tl] = '\0';
	memcpy(t + tl + 1, name, nl);
	t[tl + 1 + nl] = '\0';
	c->tag_len = (uint8_t)tl;
	return rc;
}

void sess_cmd_release(struct sess_cmd *c)
{
	free(c->text);
	c->text = NULL;
	free(c->mailbox);
	c->mailbox = NULL;
	if (c->txn != NULL)
		free(c->txn->args);
	free(c->txn);
	c->txn = NULL;
}

struct sess_cmd *sess_pending_add(struct sess_pending *p, struct mem_slab *sl,
				  size_t max, size_t *dropped_r)
{
	*dropped_r = 0;
	if (p->n >= max && max > 0) {
		/* The oldest eighth goes at once, so a client that never
		 * waits costs one memmove per max/8 commands, not one per
		 * command. */
		size_t drop = max / 8 > 0 ? max / 8 : 1;

		for (size_t i = 0; i < drop; i++)
			sess_cmd_release(&p->cmds[i]);
		memmove(p->cmds, p->cmds + drop, (p->n - drop) * sizeof(*p->cmds));
		p->n -= drop;
		*dropped_r = drop;
	}
	size_t cap = p->cap;

	if (mem_slab_grow(sl, &p->cmds, &cap, (size_t)p->n + 1, sizeof(*p->cmds), 1,
			  UINT32_MAX) != 0)
		return NULL;
	p->cap = (uint32_t)cap;
	mem_zero(&p->cmds[p->n], sizeof(p->cmds[0]));
	return &p->cmds[p->n++];
}

struct sess_cmd *sess_pending_find(struct sess_pending *p, const char *tag,
				   size_t len)
{
	/* Cheap tests first: up to max-pending entries are scanned for
	 * every command and result. */
	for (size_t i = 0; i < p->n; i++) {
		const struct sess_cmd *c = &p->cmds[i];

		if (c->tag_len == len && memcmp(sess_cmd_tag(c), tag, len) == 0)
			return &p->cmds[i];
	}
	return NULL;
}

void sess_pending_complete(struct sess_pending *p, struct mem_slab *sl,
			   struct sess_cmd *c, struct sess_cmd *done_r)
{
	size_t i = (size_t)(c - p->cmds), cap;

	*done_r = *c;
	memmove(&p->cmds[i], &p->cmds[i + 1], (p->n - i - 1) * sizeof(*c));
	p->n--;
	if (p->n == 0) {
		/* The session waits for its client: the list is given back. */
		mem_slab_put(sl, p->cmds, p->cap * sizeof(*p->cmds));
		p->cmds = NULL;
		p->cap = 0;
	}
	/* Slots are written in order until the ring is full, so it only
	 * grows while nrecent < SESS_RECENT_TAGS. */
	cap = p->recent_cap;
	if (mem_slab_grow(sl, &p->recent, &cap,
			  (size_t)(p->nrecent % SESS_RECENT_TAGS) + 1, sizeof(*p->recent),
			  SESS_RECENT_FIRST, SESS_RECENT_TAGS) != 0)
		return;
	p->recent_cap = (uint32_t)cap;
	p->recent[p->nrecent++ % SESS_RECENT_TAGS] = tag_hash(sess_cmd_tag(done_r));
}

int sess_pending_tag_completed(const struct sess_pending *p, const char *tag)
{
	/* Only the slots written so far: most sessions use a few. */
	uint64_t used = p->nrecent < SESS_RECENT_TAGS ? p->nrecent : SESS_RECENT_TAGS;
	uint32_t h = tag_hash(tag);

	for (uint64_t i = 0; i < used; i++)
		if (p->recent[i] == h)
			return 1;
	return 0;
}

struct sess_cmd *sess_pending_newest_of(struct sess_pending *p, enum imap_cmd a,
					enum imap_cmd b)
{
	for (size_t i = p->n; i-- > 0;)
		if (p->cmds[i].cmd == a || p->cmds[i].cmd == b)
			return &p->cmds[i];
	return NULL;
}

struct sess_cmd *sess_pending_newest(struct sess_pending *p)
{
	return p->n > 0 ? &p->cmds[p->n - 1] : NULL;
}

const char *sess_pending_only_tag(const struct sess_pending *p)
{
	return p->n == 1 ? sess_cmd_tag(&p->cmds[0]) : NULL;
}

int sess_pending_has_msn(const struct sess_pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->cmds[i].msn_fetch)
			return 1;
	return 0;
}

size_t sess_pending_count(const struct sess_pending *p)
{
	return p->n;
}

const struct sess_cmd *sess_pending_at(const struct sess_pending *p, size_t i)
{
	return &p->cmds[i];
}

void sess_pending_free(struct sess_pending *p, struct mem_slab *sl)
{
	for (size_t i = 0; i < p->n; i++)
		sess_cmd_release(&p->cmds[i]);
	mem_slab_put(sl, p->cmds, p->cap * sizeof(*p->cmds));
	p->cmds = NULL;
	p->n = p->cap = 0;
	mem_slab_put(sl, p->recent, p->recent_cap * sizeof(*p->recent));
	p->recent = NULL;
	p->recent_cap = 0;
	p->nrecent = 0;
}
