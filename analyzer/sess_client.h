/*
 * sess_client.h - what the client's elements mean (sess_client.c): the
 * entry points the client parser's callbacks lead to.
 */
#ifndef IMT_SESS_CLIENT_H
#define IMT_SESS_CLIENT_H

#include <stdint.h>

#include "imap.h"

struct session;

/* A command, a line of a SASL exchange or IDLE, or an unparsed line. */
void sess_client_element(struct session *s, const struct imap_element *el);

/* A literal was announced (RFC 3501 §4.3, RFC 7888 §3). */
void sess_client_literal_begin(struct session *s, const struct imap_literal *lit);

/* The data of the literal announced last starts at offset. */
void sess_client_literal_data(struct session *s, uint64_t offset);

#endif
