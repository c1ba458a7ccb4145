/* detour (private to lib/): a bump arena. Memory is taken from big blocks
 * and released all at once by detour_arena_fini(); nothing in an arena is
 * ever moved or freed alone, so pointers into it stay valid for the arena's
 * life. The ruleset keeps every rule string in one (most of them inside the
 * rules file's own bytes, read into a "big" block), which is what makes a
 * million rules cost one allocation per 64 KiB instead of one per string. */
#ifndef DETOUR_ARENA_H
#define DETOUR_ARENA_H

#include <stddef.h>

#define DETOUR_ARENA_BLOCK (64 * 1024) /* size of an ordinary block */

struct detour_arena_blk;

struct detour_arena {
	struct detour_arena_blk *blocks; /* every block, newest first */
	char *cur;                       /* free space of the current ordinary block */
	size_t left;
	size_t bytes; /* bytes held by all blocks, headers included */
};

/* Prepares caller-owned a; no allocation. */
void detour_arena_init(struct detour_arena *a);

/* Frees every block of a and leaves it empty (ready to use again). */
void detour_arena_fini(struct detour_arena *a);

/* Returns n bytes aligned to align (a power of two, at most 16), or NULL when
 * out of memory. Requests over a quarter of a block get a block of their own.
 * The memory is owned by the arena. n == 0 returns a valid unique pointer. */
void *detour_arena_alloc(struct detour_arena *a, size_t n, size_t align);

/* Copies s[0..n) into the arena and NUL-terminates it; NULL when out of
 * memory. */
char *detour_arena_strndup(struct detour_arena *a, const char *s, size_t n);

/* A big buffer that may grow (while it is being filled, e.g. by read()) and
 * then joins an arena without a copy. big_new returns n usable bytes or NULL;
 * big_grow returns the (possibly moved) buffer of n bytes or NULL, leaving the
 * old one valid on failure; big_adopt hands the buffer to a (the arena frees
 * it); big_free discards one that was not adopted. NULL is a no-op for
 * big_free. */
void *detour_arena_big_new(size_t n);
void *detour_arena_big_grow(void *p, size_t n);
void detour_arena_big_adopt(struct detour_arena *a, void *p);
void detour_arena_big_free(void *p);

/* Asks the kernel to back p[0..n) with transparent huge pages when n is
 * large (4 MiB or more): a million rules live in a few hundred MB touched in
 * random order, and with 4 KiB pages both the page faults while loading and
 * the TLB misses while matching cost more than the work itself. A no-op for
 * small ranges or where THP is off; never fails. */
void detour_mem_hint_huge(void *p, size_t n);

#endif
