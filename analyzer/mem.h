/*
 * mem.h - the one way to grow an array, and a zeroing that stays a call.
 *
 * Every growable buffer of the analyzer grows through mem_grow(): the
 * size is doubled from a first capacity and never passes the caller's
 * cap, the byte count is checked for overflow before realloc(), and on
 * failure the old buffer is left as it was.  A cap that is hit is the
 * caller's to report.
 */
#ifndef IMT_MEM_H
#define IMT_MEM_H

#include <stddef.h>
#include <string.h>

/*
 * The capacity, in elements, that an array of capacity cur grows to so
 * that need elements fit: cur itself when they already do; otherwise
 * max(cur, first) (at least 1) doubled until need fits, never past
 * max.  Returns 0 when need > max (no capacity within the cap can hold
 * them); otherwise a value >= need, which is 0 only when need and cur
 * are 0.
 */
size_t mem_grow_cap(size_t cur, size_t need, size_t first, size_t max);

/*
 * Makes the array *ptrp (any object pointer, passed by address, as
 * realloc()'s first argument would be), of capacity *cap_r elements of
 * `size` bytes, hold at least `need` elements, growing it as
 * mem_grow_cap(*cap_r, need, first, max) says.  Returns 0 when the
 * elements fit (*ptrp and *cap_r updated if it grew); -1 when need > max,
 * when the byte count would overflow size_t, or when out of memory: then
 * *ptrp and *cap_r are unchanged and the old array is still valid.
 * New elements are not initialized.  mem_grow_slow() is the same
 * without the inline test for an array that already has room.
 */
int mem_grow_slow(void *ptrp, size_t *cap_r, size_t need, size_t size,
		  size_t first, size_t max);

/* The test that nearly always passes stays inline: the call to grow is
 * made only when the array is full. */
static inline int mem_grow(void *ptrp, size_t *cap_r, size_t need,
			   size_t size, size_t first, size_t max)
{
	if (need <= *cap_r)
		return 0;
	return mem_grow_slow(ptrp, cap_r, need, size, first, max);
}

/*
 * Zeroes n bytes through a pointer to memset() the compiler cannot see
 * through.  For a struct of a few hundred bytes GCC writes `rep stosq`
 * in place of the call, which on current x86 costs more than the C
 * library's vector stores; per-line and per-command structs use this.
 */
static inline void mem_zero(void *p, size_t n)
{
	static void *(*const volatile set)(void *, int, size_t) = memset;

	set(p, 0, n);
}

#endif
