/*
 * sess_memory.c - memory across sessions (see sess_memory.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sess_memory.h"

int sess_memory_init(struct sess_memory *m, unsigned failures, unsigned window)
{
	memset(m, 0, sizeof(*m));
	m->brute_failures = failures;
	m->brute_window = window;
	m->brute = calloc(SESS_BRUTE_SLOTS, sizeof(*m->brute));
	return m->brute != NULL ? 0 : -1;
}

void sess_memory_free(struct sess_memory *m)
{
	free(m->brute);
	m->brute = NULL;
}

static int same_addr(uint8_t fa, const uint8_t *a, const struct ip_endpoint *ep)
{
	return fa == ep->family && memcmp(a, ep->addr, 16) == 0;
}

void sess_memory_tls_offered(struct sess_memory *m, const struct ip_endpoint *server)
{
	struct sess_tls_server *t;

	if (sess_memory_tls_was_offered(m, server))
		return;
	/* A small ring: old servers fall out first. */
	t = &m->tls_servers[m->ntls_servers++ % SESS_TLS_SERVERS];
	t->family = server->family;
	memcpy(t->addr, server->addr, 16);
	t->port = server->port;
}

int sess_memory_tls_was_offered(const struct sess_memory *m,
				const struct ip_endpoint *server)
{
	unsigned n = m->ntls_servers < SESS_TLS_SERVERS ? m->ntls_servers : SESS_TLS_SERVERS;

	for (unsigned i = 0; i < n; i++)
		if (same_addr(m->tls_servers[i].family, m->tls_servers[i].addr, server) &&
		    m->tls_servers[i].port == server->port)
			return 1;
	return 0;
}

static struct sess_brute_slot *brute_slot(struct sess_memory *m,
					  const struct ip_endpoint *ep)
{
	/* A fixed seed: which addresses share a slot decides findings, and
	 * the same capture must give the same findings in every run. */
	uint64_t h = hash_bytes(0, ep->addr, sizeof(ep->addr));
	struct sess_brute_slot *b;

	/* Open addressing would let one attacker evict another's history;
	 * a direct-mapped table keeps the cost fixed and the memory bounded. */
	b = &m->brute[h % SESS_BRUTE_SLOTS];
	if (!b->used || !same_addr(b->family, b->addr, ep)) {
		memset(b, 0, sizeof(*b));
		b->used = 1;
		b->family = ep->family;
		memcpy(b->addr, ep->addr, 16);
		b->reported_at = INT64_MIN;
	}
	return b;
}

unsigned sess_memory_auth_failure(struct sess_memory *m,
				  const struct ip_endpoint *client, int64_t now)
{
	struct sess_brute_slot *b = brute_slot(m, client);
	unsigned want = m->brute_failures;
	unsigned count = 0;

	if (want == 0 || want > SESS_BRUTE_RING)
		want = want == 0 ? 1 : SESS_BRUTE_RING;
	b->times[b->head] = now;
	b->head = (b->head + 1) % SESS_BRUTE_RING;
	if (b->n < SESS_BRUTE_RING)
		b->n++;
	for (unsigned i = 0; i < b->n; i++)
		if (now - b->times[i] <= (int64_t)m->brute_window && b->times[i] <= now)
			count++;
	if (count < want)
		return 0;
	if (b->reported_at != INT64_MIN && now - b->reported_at <= (int64_t)m->brute_window)
		return 0;
	b->reported_at = now;
	return count;
}
