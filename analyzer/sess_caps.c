/*
 * sess_caps.c - a server's capabilities (see sess_caps.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "scan8.h"
#include "sess_caps.h"

/* The high bit of each byte of w that is a space, exactly. */
static inline uint64_t caps_spaces8(uint64_t w)
{
	uint64_t x = w ^ (' ' * SCAN8_ONES);

	/* A byte is zero when (x & 0x7f) + 0x7f leaves its high bit clear
	 * and x's own high bit is clear. */
	return ~(((x & ~SCAN8_HIGHS) + ~SCAN8_HIGHS) | x) & SCAN8_HIGHS;
}

/* The text of c's list, or NULL. */
static const char *caps_list(const struct sess_caps *c)
{
	return c->t != NULL ? c->t->text : NULL;
}

void sess_caps_store_init(struct sess_caps_store *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->seed = hash_seed(cs);
}

void sess_caps_store_fini(struct sess_caps_store *cs)
{
	for (size_t i = 0; i < cs->nslots; i++) {
		while (cs->slots[i] != NULL) {
			struct sess_caps_text *t = cs->slots[i];

			cs->slots[i] = t->next;
			free(t->json);
			free(t);
		}
	}
	free(cs->slots);
	memset(cs, 0, sizeof(*cs));
}

/* Doubles the buckets once there are as many lists; keeps the old ones
 * when out of memory (the chains just grow longer). */
static void caps_store_grow(struct sess_caps_store *cs)
{
	size_t n = cs->nslots > 0 ? cs->nslots * 2 : 16;
	struct sess_caps_text **slots;

	if (cs->n < cs->nslots || n > SIZE_MAX / sizeof(*slots) ||
	    (slots = calloc(n, sizeof(*slots))) == NULL)
		return;
	for (size_t i = 0; i < cs->nslots; i++) {
		while (cs->slots[i] != NULL) {
			struct sess_caps_text *t = cs->slots[i];

			cs->slots[i] = t->next;
			t->next = slots[t->hash & (n - 1)];
			slots[t->hash & (n - 1)] = t;
		}
	}
	free(cs->slots);
	cs->slots = slots;
	cs->nslots = n;
}

/* A reference to the list text[0..len) in cs, added if new; NULL when out
 * of memory. */
static struct sess_caps_text *caps_intern(struct sess_caps_store *cs,
					  const char *text, size_t len)
{
	uint64_t h = hash_bytes(cs->seed, text, len);
	struct sess_caps_text *t;

	caps_store_grow(cs);
	if (cs->nslots == 0)
		return NULL;
	for (t = cs->slots[h & (cs->nslots - 1)]; t != NULL; t = t->next)
		if (t->hash == h && t->len == len && memcmp(t->text, text, len) == 0) {
			t->refs++;
			return t;
		}
	if ((t = malloc(sizeof(*t) + len + 1)) == NULL)
		return NULL;
	t->hash = h;
	t->refs = 1;
	t->json = NULL;
	t->json_len = 0;
	t->len = len;
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->next = cs->slots[h & (cs->nslots - 1)];
	cs->slots[h & (cs->nslots - 1)] = t;
	cs->n++;
	return t;
}

/* Drops one reference to t (NULL: none); the last frees it. */
static void caps_release(struct sess_caps_store *cs, struct sess_caps_text *t)
{
	struct sess_caps_text **pp;

	if (t == NULL || --t->refs > 0)
		return;
	for (pp = &cs->slots[t->hash & (cs->nslots - 1)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			cs->n--;
			break;
		}
	free(t->json);
	free(t);
}

int sess_caps_has(const struct sess_caps *c, const char *name)
{
	char key[64];
	size_t n = strlen(name);

	if (caps_list(c) == NULL || n + 3 > sizeof(key))
		return 0;
	key[0] = ' ';
	memcpy(key + 1, name, n);
	key[n + 1] = ' ';
	key[n + 2] = '\0';
	return strstr(caps_list(c), key) != NULL;
}

int sess_caps_masked(const struct sess_caps *c, const char *name, char *word_r,
		     size_t size)
{
	size_t n = strlen(name);
	const char *p = caps_list(c);

	if (p == NULL || size == 0)
		return 0;
	while ((p = strchr(p, ' ')) != NULL && p[1] != '\0') {
		const char *w = p + 1, *e = strchr(w, ' ');
		size_t xs = 0;

		p = w;
		if (e == NULL || (size_t)(e - w) != n || strncmp(w, name, n) == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			xs += w[i] == 'X';
		if (xs + 2 < n)
			continue;
		snprintf(word_r, size, "%.*s", (int)n, w);
		return 1;
	}
	return 0;
}

int sess_caps_known(const struct sess_caps *c)
{
	return c->t != NULL;
}

void sess_caps_set(struct sess_caps *c, struct sess_caps_store *cs,
		   const char *text, size_t len)
{
	char list[SESS_CAPS_MAX];
	/* At most len + 3 bytes: a space before, one after and the NUL. */
	size_t room = len < SESS_CAPS_MAX - 3 ? len + 3 : SESS_CAPS_MAX;
	size_t o = 0;
	struct sess_caps_text *t;

	list[o++] = ' ';
	for (size_t i = 0; i < len && o + 2 < room; i++) {
		char ch;

		/* Eight bytes a step while no two spaces meet and all eight
		 * fit (the byte loop below writes while o + 2 < room). */
		while (i + 8 <= len && o + 10 <= room) {
			uint64_t w, sp, t, lower;

			memcpy(&w, text + i, 8);
			sp = caps_spaces8(w);
			if ((sp & (sp << 8)) != 0 || ((sp & 0x80) && list[o - 1] == ' '))
				break;
			/* Exact per byte: t + 0x1f has its high bit from 'a' up,
			 * t + 0x05 from '{' up (t < 0x80: no carry out). */
			t = w & ~SCAN8_HIGHS;
			lower = (t + 0x1f * SCAN8_ONES) & ~(t + 0x05 * SCAN8_ONES) &
				~w & SCAN8_HIGHS;
			w ^= lower >> 2;
			memcpy(list + o, &w, 8);
			o += 8;
			i += 8;
		}
		if (i >= len || o + 2 >= room)
			break;
		ch = text[i];
		if (ch == ' ' && list[o - 1] == ' ')
			continue;
		list[o++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
	}
	if (list[o - 1] != ' ')
		list[o++] = ' ';
	list[o] = '\0';
	t = caps_intern(cs, list, o);
	caps_release(cs, c->t);
	c->t = t;
}

void sess_caps_forget(struct sess_caps *c, struct sess_caps_store *cs)
{
	caps_release(cs, c->t);
	c->t = NULL;
}

void sess_caps_free(struct sess_caps *c, struct sess_caps_store *cs)
{
	sess_caps_forget(c, cs);
}

/* Writes each name of the list p (" CAP1 CAP2 ") as a string element of
 * the array open in ev, cut at 256 bytes. */
static void caps_elements(struct imt_event *ev, const char *p)
{
	while (*p != '\0') {
		const char *e;

		while (*p == ' ')
			p++;
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if (e > p)
			event_string(ev, NULL, p, (size_t)(e - p) < 256 ? (size_t)(e - p) : 256);
		p = e;
	}
}

/* Makes t->json, the elements as caps_elements() writes them: the
 * sessions that heard one list write it many times.  0, or -1 when out
 * of memory. */
static int caps_render(struct sess_caps_text *t)
{
	static const char head[] = "{\"c\":[";
	struct imt_event tmp;
	int rc = -1;

	memset(&tmp, 0, sizeof(tmp));
	event_begin(&tmp, EV_GREETING, 0);
	event_array(&tmp, "c");
	caps_elements(&tmp, t->text);
	if (!tmp.failed && tmp.len >= sizeof(head) - 1 &&
	    (t->json = malloc(tmp.len - (sizeof(head) - 1) + 1)) != NULL) {
		t->json_len = tmp.len - (sizeof(head) - 1);
		memcpy(t->json, tmp.text + sizeof(head) - 1, t->json_len);
		t->json[t->json_len] = '\0';
		rc = 0;
	}
	event_release(&tmp);
	return rc;
}

void sess_caps_write(const struct sess_caps *c, struct imt_event *ev,
		     const char *key)
{
	event_array(ev, key);
	if (c->t != NULL && (c->t->json != NULL || caps_render(c->t) == 0))
		event_raw(ev, c->t->json, c->t->json_len);
	else
		caps_elements(ev, caps_list(c) != NULL ? caps_list(c) : "");
	event_close(ev);
}
