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
		struct mem_pool_block *b = block_map(p->blocks != NULL && !p->small);

		if (b == NULL)
			return NULL;
		b->next = p->blocks;
		p->blocks = b;
		p->next = (char *)(b + 1);
		p->end = (char *)b + MEM_POOL_BLOCK;
	}
	/* Fresh mapped memory is zero. */
	obj = p->next;
	p->next += p->size;
	return obj;
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
