/*
 * sess_resp.h - which untagged response names and response codes are
 * defined or exempt, for unknown-response: the parser's table of defined
 * names (imap_names.h) plus the experimental X names.
 */
#ifndef IMT_SESS_RESP_H
#define IMT_SESS_RESP_H

#include <stddef.h>

/* True when an untagged response named name (upper case; numbered: it
 * starts with a message number) is defined or exempt: imap_names.h's
 * tables, or a name starting with X (experimental, RFC 3501 §9 x-command's
 * counterpart). */
int sess_resp_name_known(const char *name, int numbered);

/* True when the response code code[0..len) is defined or exempt (any
 * case; a code starting with X is experimental). */
int sess_resp_code_known(const char *code, size_t len);

#endif
