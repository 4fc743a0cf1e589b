/*
 * mem_slab.c - small objects of many sizes (see mem_slab.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "mem_slab.h"

void mem_slab_init(struct mem_slab *sl)
{
	/* Sixteen pools would each hold a partly used huge page. */
	for (size_t i = 0; i < MEM_SLAB_CLASSES; i++) {
		mem_pool_init(&sl->cls[i], (i + 1) * 16);
		sl->cls[i].small = 1;
	}
}

void mem_slab_fini(struct mem_slab *sl)
{
	for (size_t i = 0; i < MEM_SLAB_CLASSES; i++)
		mem_pool_fini(&sl->cls[i]);
}

void *mem_slab_get(struct mem_slab *sl, size_t n)
{
	if (sl == NULL || n == 0 || n > MEM_SLAB_MAX)
		return calloc(1, n > 0 ? n : 1);
	return mem_pool_get(&sl->cls[(n - 1) / 16]);
}

void mem_slab_put(struct mem_slab *sl, void *p, size_t n)
{
	if (sl == NULL || n == 0 || n > MEM_SLAB_MAX)
		free(p);
	else
		mem_pool_put(&sl->cls[(n - 1) / 16], p);
}

int mem_slab_grow(struct mem_slab *sl, void *ptrp, size_t *cap_r, size_t need,
		  size_t size, size_t first, size_t max)
{
	void *old, *p;
	size_t cap;

	if (need <= *cap_r)
		return 0;
	cap = mem_grow_cap(*cap_r, need, first, max);
	if (cap < need || size == 0 || cap > SIZE_MAX / size)
		return -1;
	if ((p = mem_slab_get(sl, cap * size)) == NULL)
		return -1;
	memcpy(&old, ptrp, sizeof(old));
	if (old != NULL && *cap_r > 0)
		memcpy(p, old, *cap_r * size);
	mem_slab_put(sl, old, *cap_r * size);
	memcpy(ptrp, &p, sizeof(p));
	*cap_r = cap;
	return 0;
}
