/* Unit tests for lib/base/sparse.c: a copy that leaves the pages that
 * would only receive zeros untouched. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"

#include "base/sparse.h"

/* The number of pages of p's mapping that have a page of their own: its Rss
 * in /proc/self/smaps (the shared zero page, which reading an untouched page
 * maps, is not counted there; mincore would count it). */
static size_t resident(void *p, size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	size_t kb = SIZE_MAX;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = lo <= (uintptr_t)p && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "Rss: %zu kB", &kb) == 1)
			break;
	}
	fclose(f);
	assert_true(kb != SIZE_MAX);
	(void)n;
	return kb / 4;
}

/* n bytes of fresh anonymous memory in a mapping of their own (between two
 * inaccessible pages, so that the kernel does not merge it with a
 * neighbour). */
static unsigned char *map(size_t n)
{
	unsigned char *p = mmap(NULL, n + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + 4096, n, PROT_READ | PROT_WRITE), 0);
	return p + 4096;
}

static void unmap(unsigned char *p, size_t n)
{
	munmap(p - 4096, n + 2 * 4096);
}

static void test_copy(void **state)
{
	size_t n = 64 * 4096;
	unsigned char *src = calloc(n, 1), *dst = map(n);

	assert_non_null(src);
	src[0] = 1;
	src[4096 * 3 + 100] = 2;
	for (size_t i = 4096 * 20; i < 4096 * 22; i++)
		src[i] = (unsigned char)i;
	src[n - 1] = 9;
	base_copy_sparse(dst, src, n);
	/* pages 0, 3, 20, 21 and the last: nothing else was written */
	assert_int_equal(resident(dst, n), 5);
	assert_memory_equal(dst, src, n);
	unmap(dst, n);

	/* unaligned, and a length that ends inside a page */
	dst = map(n);
	base_copy_sparse(dst + 100, src + 7, n - 200);
	assert_memory_equal(dst + 100, src + 7, n - 200);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(dst[i], 0);
	unmap(dst, n);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
