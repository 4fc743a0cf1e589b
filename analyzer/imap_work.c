/*
 * imap_work.c - the storage of a line in progress (struct imap_work in
 * imap_int.h): taken at a line's first byte, given back between lines,
 * and kept on a shelf for the next line of any parser (see imap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "imap_int.h"

/* A shelf keeps at most this many lines' storage, each buffer of at most
 * IMAP_SHELF_BUF bytes: enough for the parsers busy at once, so that
 * lines from waiting sessions allocate nothing. */
#define IMAP_SHELF_MAX 64
#define IMAP_SHELF_BUF 4096

/* Frees the buffer *bufp of *alloc elements of elem bytes when it holds
 * more than max bytes, so that the next line allocates its own. */
static void work_drop_over(void *bufp, size_t *alloc, size_t elem, size_t max)
{
	void *buf;

	if (*alloc <= max / elem)
		return;
	memcpy(&buf, bufp, sizeof(buf));
	free(buf);
	buf = NULL;
	memcpy(bufp, &buf, sizeof(buf));
	*alloc = 0;
}

/* Frees a line's storage and w itself. */
void imap_work_free(struct imap_work *w)
{
	imap_toks_free(&w->toks);
	free(w->line);
	free(w->lits);
	free(w->pv);
	free(w);
}

/* A line's storage for p, from its shelf when it has one (the buffers
 * of an earlier line kept), else new.  NULL only when out of memory. */
struct imap_work *imap_work_get(struct imap_parser *p)
{
	struct imap_shelf *sh = p->shelf;
	struct imap_work *w;

	if (sh != NULL && sh->free != NULL) {
		w = sh->free;
		sh->free = w->next;
		sh->n--;
		/* Everything zero but the buffers kept, in one assignment
		 * rather than a copy of the whole, a memset and the copy
		 * back: once for every packet of every session. */
		*w = (struct imap_work){
			.line = w->line, .line_alloc = w->line_alloc,
			.lits = w->lits, .lits_alloc = w->lits_alloc,
			.pv = w->pv, .pv_alloc = w->pv_alloc,
			.toks = { .tok = w->toks.tok, .alloc = w->toks.alloc,
				  .stack = w->toks.stack, .salloc = w->toks.salloc },
		};
	} else if ((w = calloc(1, sizeof(*w))) == NULL) {
		return NULL;
	}
	/* The caps may differ between the parsers that share a shelf; a
	 * kept buffer larger than this parser's cap is never grown. */
	w->toks.max = p->lim->max_tokens;
	w->toks.max_depth = p->lim->max_depth;
	if (w->toks.alloc > w->toks.max || w->toks.salloc > w->toks.max_depth)
		imap_toks_free(&w->toks);
	work_drop_over(&w->line, &w->line_alloc, 1, imap_buf_cap(p));
	work_drop_over(&w->pv, &w->pv_alloc, 1, imap_pv_cap(p));
	w->lit_rec = IMAP_NO_REC;
	return w;
}

/* Gives p's line storage back (to the shelf, which keeps buffers of an
 * ordinary line's size, or to the system): only between lines. */
void imap_work_put(struct imap_parser *p)
{
	struct imap_shelf *sh = p->shelf;
	struct imap_work *w = p->w;

	p->w = NULL;
	if (w == NULL)
		return;
	if (sh == NULL || sh->n >= IMAP_SHELF_MAX) {
		imap_work_free(w);
		return;
	}
	work_drop_over(&w->line, &w->line_alloc, 1, IMAP_SHELF_BUF);
	work_drop_over(&w->pv, &w->pv_alloc, 1, IMAP_SHELF_BUF);
	work_drop_over(&w->lits, &w->lits_alloc, sizeof(*w->lits), IMAP_SHELF_BUF);
	if (w->toks.alloc * sizeof(*w->toks.tok) > IMAP_SHELF_BUF ||
	    w->toks.salloc * sizeof(*w->toks.stack) > IMAP_SHELF_BUF)
		imap_toks_free(&w->toks);
	w->next = sh->free;
	sh->free = w;
	sh->n++;
}

/* True when p is between lines: no line, no literal in progress. */
int imap_between_lines(const struct imap_parser *p)
{
	return p->w == NULL || (!p->w->el_active && p->state != IMAP_S_LITERAL);
}

struct imap_shelf *imap_shelf_new(void)
{
	return calloc(1, sizeof(struct imap_shelf));
}

void imap_shelf_free(struct imap_shelf *sh)
{
	if (sh == NULL)
		return;
	while (sh->free != NULL) {
		struct imap_work *w = sh->free;

		sh->free = w->next;
		imap_work_free(w);
	}
	free(sh);
}

void imap_parser_set_shelf(struct imap_parser *p, struct imap_shelf *sh)
{
	p->shelf = sh;
}
