/* detour: bump arena (see arena.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"

/* Every block, ordinary or big, starts with this header; data follows it,
 * aligned for any type. */
struct detour_arena_blk {
	struct detour_arena_blk *next;
	size_t size; /* data bytes */
	alignas(max_align_t) char data[];
};

static struct detour_arena_blk *blk_of(void *p)
{
	return (struct detour_arena_blk *)((char *)p - offsetof(struct detour_arena_blk, data));
}

static void link_block(struct detour_arena *a, struct detour_arena_blk *b)
{
	b->next = a->blocks;
	a->blocks = b;
	a->bytes += sizeof(*b) + b->size;
}

void detour_arena_init(struct detour_arena *a)
{
	a->blocks = NULL;
	a->cur = NULL;
	a->left = 0;
	a->bytes = 0;
}

void detour_arena_fini(struct detour_arena *a)
{
	struct detour_arena_blk *b = a->blocks;

	while (b) {
		struct detour_arena_blk *next = b->next;
		free(b);
		b = next;
	}
	detour_arena_init(a);
}

void detour_mem_hint_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(pg - 1);

	if (n >= ((size_t)4 << 20) && e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

void *detour_arena_big_new(size_t n)
{
	struct detour_arena_blk *b;

	if (n > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + n);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = n;
	detour_mem_hint_huge(b->data, n);
	return b->data;
}

void *detour_arena_big_grow(void *p, size_t n)
{
	struct detour_arena_blk *b = blk_of(p);

	if (n > SIZE_MAX - sizeof(*b))
		return NULL;
	b = realloc(b, sizeof(*b) + n);
	if (b == NULL)
		return NULL;
	b->size = n;
	detour_mem_hint_huge(b->data, n);
	return b->data;
}

void detour_arena_big_adopt(struct detour_arena *a, void *p)
{
	link_block(a, blk_of(p));
}

void detour_arena_big_free(void *p)
{
	if (p)
		free(blk_of(p));
}

void *detour_arena_alloc(struct detour_arena *a, size_t n, size_t align)
{
	uintptr_t pad;
	char *p;

	if (n == 0)
		n = 1;
	if (n > DETOUR_ARENA_BLOCK / 4) {
		/* A block of its own, linked behind the current one so that the
		 * free space of the current block is not lost. */
		struct detour_arena_blk *b;
		void *d = detour_arena_big_new(n);
		if (d == NULL)
			return NULL;
		b = blk_of(d);
		if (a->blocks) {
			b->next = a->blocks->next;
			a->blocks->next = b;
			a->bytes += sizeof(*b) + b->size;
		} else {
			link_block(a, b);
		}
		return d;
	}
	pad = (align - ((uintptr_t)a->cur & (align - 1))) & (align - 1);
	if (a->cur == NULL || a->left < pad + n) {
		void *d = detour_arena_big_new(DETOUR_ARENA_BLOCK);
		if (d == NULL)
			return NULL;
		link_block(a, blk_of(d));
		a->cur = d;
		a->left = DETOUR_ARENA_BLOCK;
		pad = 0;
	}
	p = a->cur + pad;
	a->cur += pad + n;
	a->left -= pad + n;
	return p;
}

char *detour_arena_strndup(struct detour_arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = detour_arena_alloc(a, n + 1, 1);
	if (p == NULL)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
