/*
 * mem_pool.h - objects of one size, many alive at once.
 *
 * A capture can hold tens of thousands of open sessions.  Taken one by
 * one from malloc(), their state costs the allocator's search and a page
 * fault per 4 KB touched; a pool cuts them from 2 MB blocks, each aligned
 * on 2 MB and, from the second block on, marked for transparent huge
 * pages where the kernel offers them (one fault per block), and keeps
 * freed objects on a list for the next.  Memory goes back to the system when the pool is finished.
 */
#ifndef IMT_MEM_POOL_H
#define IMT_MEM_POOL_H

#include <stddef.h>

#define MEM_POOL_BLOCK ((size_t)2 << 20)   /* bytes per block */

/*
 * Blocks made ahead of need, when a thread has nothing else to do, for
 * the pools that draw on it: a pool that takes one pays no page fault
 * (the kernel zeroes a page when it is first touched: with tens of
 * thousands of sessions opening, most of the engine's page faults).
 */
struct mem_reserve {
	void *blocks;         /* linked through their first bytes */
	size_t n;
};

/* Makes one block, its pages touched, when r holds fewer than `want`:
 * returns 1 when it made one (call again), 0 when r has enough or no
 * memory is left. */
int mem_reserve_fill(struct mem_reserve *r, size_t want);

/* Returns the blocks not taken to the system. */
void mem_reserve_fini(struct mem_reserve *r);

struct mem_pool {
	size_t size;          /* object size, a multiple of 16, <= a block */
	struct mem_reserve *reserve;   /* drawn on before a block is mapped,
					  or NULL (set after mem_pool_init()) */
	void *free;           /* freed objects, linked through their first bytes */
	struct mem_pool_block *blocks;
	char *next, *end;     /* unused room in the newest block */
	char *ready;          /* its pages up to here are backed (below) */
	int small;            /* no huge pages: set after mem_pool_init() for a
				 pool whose objects fill few blocks */
};

/* An empty pool of objects of `size` bytes (rounded up to 16; at most
 * MEM_POOL_BLOCK minus a block header). */
void mem_pool_init(struct mem_pool *p, size_t size);

/* A zeroed object aligned on 16 bytes, or NULL when out of memory. */
void *mem_pool_get(struct mem_pool *p);

/* Objects of p one block holds. */
size_t mem_pool_per_block(const struct mem_pool *p);

/* How many objects p gives before it needs a block it does not take from
 * its reserve: the rest of its newest block, or a whole block before its
 * first (which is never drawn from the reserve). */
size_t mem_pool_room(const struct mem_pool *p);

/* Gives obj (from mem_pool_get() on this pool, or NULL) back. */
void mem_pool_put(struct mem_pool *p, void *obj);

/* Returns every block to the system: no object may be in use. */
void mem_pool_fini(struct mem_pool *p);

#endif
