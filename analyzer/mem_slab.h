/*
 * mem_slab.h - small objects of many sizes, many alive at once.
 *
 * An open session holds a handful of small allocations (its user and
 * mailbox names, the prefix of its events, its outstanding command, the
 * tags it completed); with tens of thousands of sessions open, malloc()
 * adds 8 to 24 bytes to each and grows a thread's heap a page and a
 * system call at a time.  A slab serves sizes up to MEM_SLAB_MAX from
 * one pool per 16-byte class (mem_pool.h: 2 MB blocks, no header per
 * object, freed objects reused by the next of their class) and larger
 * ones from malloc().  The caller says the size again when it gives an
 * object back.  Not thread-safe: one slab per thread that uses it.
 */
#ifndef IMT_MEM_SLAB_H
#define IMT_MEM_SLAB_H

#include <stddef.h>

#include "mem_pool.h"

#define MEM_SLAB_MAX     256     /* larger objects come from malloc() */
#define MEM_SLAB_CLASSES (MEM_SLAB_MAX / 16)

struct mem_slab {
	struct mem_pool cls[MEM_SLAB_CLASSES];   /* class i: (i + 1) * 16 bytes */
};

/* An empty slab. */
void mem_slab_init(struct mem_slab *sl);

/* Returns every block to the system: objects from malloc() must have
 * been given back before. */
void mem_slab_fini(struct mem_slab *sl);

/* n zeroed bytes (n > 0), aligned on 16 bytes, or NULL when out of
 * memory.  sl NULL: from calloc(). */
void *mem_slab_get(struct mem_slab *sl, size_t n);

/* Gives p (from mem_slab_get(sl, n) with this n, or NULL) back. */
void mem_slab_put(struct mem_slab *sl, void *p, size_t n);

/* mem_grow() (mem.h) for an array from this slab: the same capacities,
 * checks and results; the elements are moved to an object of the new
 * size and the old one is given back. */
int mem_slab_grow(struct mem_slab *sl, void *ptrp, size_t *cap_r, size_t need,
		  size_t size, size_t first, size_t max);

#endif
