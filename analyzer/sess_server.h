/*
 * sess_server.h - what the server's elements mean (sess_server.c): the
 * entry point the server parser's callback leads to.
 */
#ifndef IMT_SESS_SERVER_H
#define IMT_SESS_SERVER_H

#include "imap.h"

struct session;

/* The greeting, an untagged response, a continuation request or a
 * tagged result. */
void sess_server_element(struct session *s, const struct imap_element *el);

#endif
