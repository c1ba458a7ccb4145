/* Unit tests for lib/arena.c (a private lib/ module). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "../../lib/arena.h"

static void test_alloc_alignment_and_reuse(void **state)
{
	struct detour_arena a;
	char *p[1000];

	detour_arena_init(&a);
	assert_int_equal(a.bytes, 0);
	for (int i = 0; i < 1000; i++) {
		size_t align = (size_t)1 << (i % 5); /* 1..16 */
		p[i] = detour_arena_alloc(&a, (size_t)(i % 37) + 1, align);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % align, 0);
		memset(p[i], i & 0xff, (size_t)(i % 37) + 1);
	}
	/* nothing overlaps: every byte still holds what was written */
	for (int i = 0; i < 1000; i++)
		for (size_t k = 0; k < (size_t)(i % 37) + 1; k++)
			assert_int_equal((unsigned char)p[i][k], i & 0xff);
	/* ~19 KB of small requests fit in one 64 KiB block */
	assert_true(a.bytes > DETOUR_ARENA_BLOCK && a.bytes < DETOUR_ARENA_BLOCK + 128);
	detour_arena_fini(&a);
	assert_int_equal(a.bytes, 0);
	assert_null(a.blocks);
}

static void test_big_requests_keep_the_current_block(void **state)
{
	struct detour_arena a;

	detour_arena_init(&a);
	char *small1 = detour_arena_alloc(&a, 10, 1);
	char *big = detour_arena_alloc(&a, DETOUR_ARENA_BLOCK, 8);
	char *small2 = detour_arena_alloc(&a, 10, 1);
	assert_non_null(small1);
	assert_non_null(big);
	assert_non_null(small2);
	/* the small ones share the first block, right after each other */
	assert_ptr_equal(small2, small1 + 10);
	memset(big, 'x', DETOUR_ARENA_BLOCK);
	assert_true(a.bytes >= 2 * DETOUR_ARENA_BLOCK);
	/* a big request first, with no current block */
	detour_arena_fini(&a);
	big = detour_arena_alloc(&a, DETOUR_ARENA_BLOCK / 2, 1);
	assert_non_null(big);
	small1 = detour_arena_alloc(&a, 1, 1);
	assert_non_null(small1);
	detour_arena_fini(&a);
}

static void test_zero_and_strndup(void **state)
{
	struct detour_arena a;

	detour_arena_init(&a);
	char *z1 = detour_arena_alloc(&a, 0, 1);
	char *z2 = detour_arena_alloc(&a, 0, 1);
	assert_non_null(z1);
	assert_non_null(z2);
	assert_ptr_not_equal(z1, z2);
	char *s = detour_arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	char *e = detour_arena_strndup(&a, NULL, 0);
	assert_string_equal(e, "");
	detour_arena_fini(&a);
}

static void test_big_buffers(void **state)
{
	struct detour_arena a;

	detour_arena_init(&a);
	char *b = detour_arena_big_new(16);
	assert_non_null(b);
	memcpy(b, "0123456789abcdef", 16);
	b = detour_arena_big_grow(b, 1 << 20);
	assert_non_null(b);
	assert_memory_equal(b, "0123456789abcdef", 16);
	b[(1 << 20) - 1] = 'z';
	detour_arena_big_adopt(&a, b);
	assert_true(a.bytes >= (1 << 20));
	detour_arena_fini(&a); /* frees the adopted buffer */

	char *c = detour_arena_big_new(100);
	assert_non_null(c);
	detour_arena_big_free(c);
	detour_arena_big_free(NULL);
	assert_null(detour_arena_big_new(SIZE_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_alloc_alignment_and_reuse),
	        cmocka_unit_test(test_big_requests_keep_the_current_block),
	        cmocka_unit_test(test_zero_and_strndup),
	        cmocka_unit_test(test_big_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
