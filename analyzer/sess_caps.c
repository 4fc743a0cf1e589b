/*
 * sess_caps.c - a server's capabilities (see sess_caps.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sess_caps.h"

int sess_caps_has(const struct sess_caps *c, const char *name)
{
	char key[64];
	size_t n = strlen(name);

	if (!c->known || c->list == NULL || n + 3 > sizeof(key))
		return 0;
	key[0] = ' ';
	memcpy(key + 1, name, n);
	key[n + 1] = ' ';
	key[n + 2] = '\0';
	return strstr(c->list, key) != NULL;
}

int sess_caps_masked(const struct sess_caps *c, const char *name, char *word_r,
		     size_t size)
{
	size_t n = strlen(name);
	const char *p = c->list;

	if (!c->known || size == 0)
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
	return c->known;
}

void sess_caps_set(struct sess_caps *c, const char *text, size_t len)
{
	size_t o = 0;

	/* At most len + 3 bytes: a space before, one after and the NUL. */
	if (mem_grow(&c->list, &c->cap, len < SESS_CAPS_MAX - 3 ? len + 3 :
		     SESS_CAPS_MAX, 1, 64, SESS_CAPS_MAX) != 0) {
		sess_caps_forget(c);
		return;
	}
	c->list[o++] = ' ';
	for (size_t i = 0; i < len && o + 2 < c->cap; i++) {
		char ch = text[i];

		if (ch == ' ' && c->list[o - 1] == ' ')
			continue;
		c->list[o++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
	}
	if (c->list[o - 1] != ' ')
		c->list[o++] = ' ';
	c->list[o] = '\0';
	c->known = 1;
}

void sess_caps_forget(struct sess_caps *c)
{
	if (c->list != NULL)
		c->list[0] = '\0';
	c->known = 0;
}

void sess_caps_free(struct sess_caps *c)
{
	free(c->list);
	c->list = NULL;
	c->cap = 0;
	c->known = 0;
}

void sess_caps_write(const struct sess_caps *c, struct imt_event *ev,
		     const char *key)
{
	const char *p = c->list != NULL ? c->list : "";

	event_array(ev, key);
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
	event_close(ev);
}
