/*
 * sess_token.h - reading a parsed element's tokens: the text of a token,
 * the top-level arguments of a command, and the tokens written back as
 * readable text (with secrets redacted).  Pure functions of the element;
 * nothing here knows about sessions.
 */
#ifndef IMT_SESS_TOKEN_H
#define IMT_SESS_TOKEN_H

#include <stddef.h>

#include "imap.h"

/* Points *p_r at t's text in el's buffer; returns its length. */
size_t sess_token_text(const struct imap_element *el, const struct imap_token *t,
		       const char **p_r);

/* True for an atom, number, quoted string or literal: a token that
 * stands for one string. */
int sess_token_is_atom_like(const struct imap_token *t);

/* Copies the text of top-level argument idx (unquoted, cut to size - 1)
 * into buf.  Returns 0, or -1 when there is no such argument or it is
 * not a string (buf is then ""). */
int sess_token_arg(const struct imap_element *el, int idx, char *buf, size_t size);

/* The number of top-level arguments, one more when the parser dropped
 * tokens (the line had more than it kept). */
int sess_token_count_args(const struct imap_element *el);

/* Writes tokens [from, to) as readable text into buf (NUL-terminated,
 * cut to size - 1); top-level arguments from redact_from on (-1: none)
 * become "<redacted>".  Returns the full length, which may exceed
 * size - 1 when cut.  size 0 writes nothing and returns 0. */
size_t sess_token_render(const struct imap_element *el, size_t from, size_t to,
			 char *buf, size_t size, int redact_from);

#endif
