/*
 * mem_pool.c - objects of one size cut from 2 MB blocks (see mem_pool.h).
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "mem_pool.h"

struct mem_pool_block {
	struct mem_pool_block *next;
	char pad[16 - sizeof(void *)];   /* objects start 16-aligned */
};

void mem_pool_init(struct mem_pool *p, size_t size)
{
	memset(p, 0, sizeof(*p));
	if (size < sizeof(void *))
		size = sizeof(void *);
	p->size = (size + 15) & ~(size_t)15;
}

/* A block of MEM_POOL_BLOCK bytes aligned on its size, so that the kernel
 * can back it with one huge page: twice the size is mapped and the ends
 * that stick out are unmapped. */
static void *block_map(int huge)
{
	size_t len = 2 * MEM_POOL_BLOCK;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b;
	size_t head;

	if (m == MAP_FAILED)
		return NULL;
	b = (char *)(((uintptr_t)m + MEM_POOL_BLOCK - 1) & ~(uintptr_t)(MEM_POOL_BLOCK - 1));
	head = (size_t)(b - m);
	if (head > 0)
		munmap(m, head);
	if (len - head > MEM_POOL_BLOCK)
		munmap(b + MEM_POOL_BLOCK, len - head - MEM_POOL_BLOCK);
#ifdef MADV_HUGEPAGE
	/* Advice only: without huge pages the block works the same. */
	if (huge)
		(void)madvise(b, MEM_POOL_BLOCK, MADV_HUGEPAGE);
#else
	(void)huge;
#endif
	return b;
}

/* A block from the pool's reserve, or a new one; *huge_r: its pages
 * come whole (a huge page, or a reserve block's, touched already). */
static struct mem_pool_block *block_take(struct mem_pool *p, int *huge_r)
{
	struct mem_reserve *r = p->reserve;
	void *b;

	/* A pool's first block takes pages as they are used (see
	 * mem_pool_get()): only a pool that has objects enough to fill blocks
	 * draws on the reserve. */
	*huge_r = p->blocks != NULL && !p->small;
	if (r == NULL || r->blocks == NULL || !*huge_r)
		return block_map(*huge_r);
	b = r->blocks;
	memcpy(&r->blocks, b, sizeof(void *));
	r->n--;
	memset(b, 0, sizeof(void *));
	return b;
}

int mem_reserve_fill(struct mem_reserve *r, size_t want)
{
	char *b;

	if (r->n >= want || (b = block_map(1)) == NULL)
		return 0;
	/* One write per 4 KB page: one fault for a huge page, or one per
	 * page without. */
	for (size_t at = 0; at < MEM_POOL_BLOCK; at += 4096)
		b[at] = 0;
	memcpy(b, &r->blocks, sizeof(void *));
	r->blocks = b;
	r->n++;
	return 1;
}

void mem_reserve_fini(struct mem_reserve *r)
{
	while (r->blocks != NULL) {
		void *b = r->blocks;

		memcpy(&r->blocks, b, sizeof(void *));
		munmap(b, MEM_POOL_BLOCK);
	}
	r->n = 0;
}

/* Pages of a block without huge pages are backed this many bytes at a
 * time, in one call, instead of one page fault per 4 KB: a fault costs
 * far more than the page (in a virtual machine, several microseconds),
 * and the memory backed ahead of use stays under this much per pool. */
#define MEM_POOL_READY_STEP ((size_t)64 << 10)

/* Backs the pages of the newest block that [obj, obj + size) reaches
 * into, a step at a time. */
static void pool_ready(struct mem_pool *p, char *obj)
{
#ifdef MADV_POPULATE_WRITE
	char *upto = obj + p->size;

	if (upto <= p->ready)
		return;
	upto = p->ready + MEM_POOL_READY_STEP;
	if (upto < obj + p->size)
		upto = obj + p->size;
	if (upto > p->end)
		upto = p->end;
	/* Advice: where the kernel cannot, pages come by faults. */
	(void)madvise(p->ready, (size_t)(upto - p->ready), MADV_POPULATE_WRITE);
	p->ready = upto;
#else
	(void)p;
	(void)obj;
#endif
}

void *mem_pool_get(struct mem_pool *p)
{
	void *obj;

	if (p->free != NULL) {
		obj = p->free;
		memcpy(&p->free, obj, sizeof(void *));
		memset(obj, 0, p->size);
		return obj;
	}
	if (p->size > MEM_POOL_BLOCK - sizeof(struct mem_pool_block))
		return NULL;
	if (p->next == NULL || (size_t)(p->end - p->next) < p->size) {
		/* The first block takes pages as they are touched: a run
		 * with few objects stays small; from the second on, the
		 * objects are many and fill the blocks. */
		int huge;
		struct mem_pool_block *b = block_take(p, &huge);

		if (b == NULL)
			return NULL;
		b->next = p->blocks;
		p->blocks = b;
		p->next = (char *)(b + 1);
		p->end = (char *)b + MEM_POOL_BLOCK;
		p->ready = huge ? p->end : (char *)b;
	}
	/* Fresh mapped memory is zero. */
	obj = p->next;
	pool_ready(p, obj);
	p->next += p->size;
	return obj;
}

size_t mem_pool_per_block(const struct mem_pool *p)
{
	return (MEM_POOL_BLOCK - sizeof(struct mem_pool_block)) / p->size;
}

size_t mem_pool_room(const struct mem_pool *p)
{
	if (p->blocks == NULL)
		return mem_pool_per_block(p);
	return (size_t)(p->end - p->next) / p->size;
}

void mem_pool_put(struct mem_pool *p, void *obj)
{
	if (obj == NULL)
		return;
	memcpy(obj, &p->free, sizeof(void *));
	p->free = obj;
}

void mem_pool_fini(struct mem_pool *p)
{
	while (p->blocks != NULL) {
		struct mem_pool_block *b = p->blocks;

		p->blocks = b->next;
		munmap(b, MEM_POOL_BLOCK);
	}
	memset(p, 0, sizeof(*p));
}
