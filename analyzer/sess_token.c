/*
 * sess_token.c - reading a parsed element's tokens (see sess_token.h).
 */
#include <string.h>

#include "dec.h"
#include "sess_token.h"

size_t sess_token_text(const struct imap_element *el, const struct imap_token *t,
		       const char **p_r)
{
	*p_r = el->buf + t->off;
	return t->len;
}

int sess_token_is_atom_like(const struct imap_token *t)
{
	return t->type == IMAP_TOK_ATOM || t->type == IMAP_TOK_NUMBER ||
	       t->type == IMAP_TOK_QUOTED || t->type == IMAP_TOK_LITERAL;
}

int sess_token_arg(const struct imap_element *el, int idx, char *buf, size_t size)
{
	int top = -1;

	buf[0] = '\0';
	for (size_t i = 0; i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		const char *p;
		size_t n;

		if (t->depth != 0 || t->type == IMAP_TOK_LIST_END)
			continue;
		if (++top != idx)
			continue;
		if (!sess_token_is_atom_like(t))
			return -1;
		n = sess_token_text(el, t, &p);
		if (n >= size)
			n = size - 1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return 0;
	}
	return -1;
}

int sess_token_count_args(const struct imap_element *el)
{
	int n = 0;

	for (size_t i = 0; i < el->ntokens; i++)
		if (el->tokens[i].depth == 0 && el->tokens[i].type != IMAP_TOK_LIST_END)
			n++;
	return n + (el->tokens_dropped > 0 ? 1 : 0);
}

/* Appends n bytes to buf at *o, never past size - 1; counts the full length. */
static void put(char *buf, size_t size, size_t *o, const char *p, size_t n)
{
	if (*o < size) {
		size_t room = size - 1 - *o;

		memcpy(buf + *o, p, n < room ? n : room);
	}
	*o += n;
}

size_t sess_token_render(const struct imap_element *el, size_t from, size_t to,
			 char *buf, size_t size, int redact_from)
{
	size_t o = 0;
	int top = -1;
	int need_space = 0;
	char num[48];

	if (size == 0)
		return 0;
	for (size_t i = from; i < to && i < el->ntokens; i++) {
		const struct imap_token *t = &el->tokens[i];
		const char *p;
		size_t n = sess_token_text(el, t, &p);

		if (t->depth == 0 && t->type != IMAP_TOK_LIST_END)
			top++;
		if (t->type == IMAP_TOK_LIST_END) {
			put(buf, size, &o, ")", 1);
			need_space = 1;
			continue;
		}
		if (need_space)
			put(buf, size, &o, " ", 1);
		need_space = 1;
		if (redact_from >= 0 && top >= redact_from) {
			put(buf, size, &o, "<redacted>", 10);
			if (t->type == IMAP_TOK_LIST && t->num > i)
				i = (size_t)t->num;
			continue;
		}
		switch (t->type) {
		case IMAP_TOK_LIST:
			put(buf, size, &o, "(", 1);
			need_space = 0;
			break;
		case IMAP_TOK_QUOTED:
			put(buf, size, &o, "\"", 1);
			put(buf, size, &o, p, n);
			put(buf, size, &o, "\"", 1);
			break;
		case IMAP_TOK_LITERAL: {
			/* ~{N+}, written backwards from the end of num. */
			char *e = num + sizeof(num), *d = e;
			uint64_t v = t->num;

			*--d = '}';
			if (t->flags & IMAP_TOKF_NONSYNC)
				*--d = '+';
			d = dec_format_u64(d, v);
			*--d = '{';
			if (t->flags & IMAP_TOKF_LITERAL8)
				*--d = '~';
			put(buf, size, &o, d, (size_t)(e - d));
			break;
		}
		default:
			put(buf, size, &o, p, n);
			break;
		}
	}
	buf[o < size ? o : size - 1] = '\0';
	return o;
}
