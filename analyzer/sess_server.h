/*
 * sess_server.h - what the server's elements mean (sess_server.c): the
 * entry point the server parser's callback leads to.
 */
#ifndef IMT_SESS_SERVER_H
#define IMT_SESS_SERVER_H

#include <stdint.h>

#include "imap.h"

struct session;

/* The greeting, an untagged response, a continuation request or a
 * tagged result. */
void sess_server_element(struct session *s, const struct imap_element *el);

/* The UID of a FETCH response: "UID n" at the top of its item list. */
int sess_server_fetch_uid(const struct imap_element *el, uint64_t *uid_r);

#endif
