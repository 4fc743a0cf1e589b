/* mem.c - array growth (mem.h). */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>

size_t mem_grow_cap(size_t cur, size_t need, size_t first, size_t max)
{
	size_t n;

	if (need <= cur)
		return cur;
	if (need > max)
		return 0;
	n = cur > first ? cur : first;
	if (n > max)
		n = max;
	if (n == 0)
		n = 1;
	/* Written so that doubling cannot wrap: past max / 2, max. */
	while (n < need)
		n = n > max / 2 ? max : n * 2;
	return n;
}

int mem_grow_slow(void *ptrp, size_t *cap_r, size_t need, size_t size,
		  size_t first, size_t max)
{
	void *old, *p;
	size_t n;

	if (need <= *cap_r)
		return 0;
	n = mem_grow_cap(*cap_r, need, first, max);
	if (n == 0 || size == 0 || n > SIZE_MAX / size)
		return -1;
	/* The pointer is copied in and out as bytes: *ptrp may be any
	 * object pointer type (as with reallocarr()). */
	memcpy(&old, ptrp, sizeof(old));
	p = realloc(old, n * size);
	if (p == NULL)
		return -1;
	memcpy(ptrp, &p, sizeof(p));
	*cap_r = n;
	return 0;
}
