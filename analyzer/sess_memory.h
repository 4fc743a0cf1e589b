/*
 * sess_memory.h - what the engine remembers across sessions: servers
 * seen offering STARTTLS (so that a later session whose pre-login
 * capabilities lack it shows a stripped STARTTLS),
 * and recent authentication failures per client address (for
 * auth-brute-force).  Both are bounded: a ring of servers and a
 * direct-mapped table of addresses.  Plain data: no events.
 */
#ifndef IMT_SESS_MEMORY_H
#define IMT_SESS_MEMORY_H

#include <stdint.h>

#include "ip.h"

#define SESS_BRUTE_SLOTS 1024
#define SESS_TLS_SERVERS 256
#define SESS_BRUTE_RING  16      /* failure times kept per address */

struct sess_brute_slot {
	uint8_t family;
	uint8_t addr[16];
	int64_t times[SESS_BRUTE_RING];  /* failure times, ring */
	unsigned n, head;
	int64_t reported_at;
	int used;
};

struct sess_tls_server {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

struct sess_memory {
	unsigned brute_failures;         /* auth-brute-force: this many failures... */
	unsigned brute_window;           /* ...within this many seconds */
	struct sess_brute_slot *brute;
	struct sess_tls_server tls_servers[SESS_TLS_SERVERS];
	unsigned ntls_servers;
};

/* Sets m up for the given brute-force rule.  Returns 0, or -1 when out of
 * memory. */
int sess_memory_init(struct sess_memory *m, unsigned failures, unsigned window);

/* Remembers that server offered STARTTLS (once per server). */
void sess_memory_tls_offered(struct sess_memory *m, const struct ip_endpoint *server);

/* True when server was seen offering STARTTLS (among the last
 * SESS_TLS_SERVERS remembered). */
int sess_memory_tls_was_offered(const struct sess_memory *m,
				const struct ip_endpoint *server);

/* Counts an authentication failure of client at time now (seconds).
 * Returns the number of failures within the window when they reach the
 * rule and it was not reported within the window already, else 0. */
unsigned sess_memory_auth_failure(struct sess_memory *m,
				  const struct ip_endpoint *client, int64_t now);

/* Frees what init allocated; accepts a zeroed struct. */
void sess_memory_free(struct sess_memory *m);

#endif
