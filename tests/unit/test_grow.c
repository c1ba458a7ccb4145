/* Unit tests for lib/base/grow.c: growth from empty, doubling, no-op when
 * big enough, and the overflow checks (the array is left as it was). */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "base/grow.h"

struct item {
	int a;
	char b[12];
};

static void test_grow(void **state)
{
	struct item *v = NULL;
	size_t cap = 0, n = 0;

	for (int i = 0; i < 1000; i++) {
		assert_int_equal(BASE_GROW(v, cap, n + 1), 0);
		assert_true(cap >= n + 1);
		v[n].a = i;
		snprintf(v[n].b, sizeof(v[n].b), "%d", i);
		n++;
	}
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(v[i].a, i);
		char t[12];
		snprintf(t, sizeof(t), "%d", i);
		assert_string_equal(v[i].b, t);
	}
	assert_int_equal(cap, 1024); /* 8, 16, ... 1024 */
	struct item *old = v;
	assert_int_equal(BASE_GROW(v, cap, 10), 0); /* already big enough */
	assert_ptr_equal(v, old);
	assert_int_equal(cap, 1024);
	assert_int_equal(BASE_GROW(v, cap, 5000), 0); /* a jump past double */
	assert_true(cap >= 5000);
	free(v);
}

static void test_first(void **state)
{
	char *s = NULL;
	size_t cap = 0;

	assert_int_equal(BASE_GROW(s, cap, 0), 0); /* nothing needed */
	assert_null(s);
	assert_int_equal(cap, 0);
	assert_int_equal(BASE_GROW(s, cap, 1), 0);
	assert_non_null(s);
	assert_int_equal(cap, 8);
	free(s);
}

static void test_overflow(void **state)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	assert_int_equal(BASE_GROW(v, cap, 4), 0);
	v[0] = 7;
	uint64_t *old = v;
	assert_int_equal(BASE_GROW(v, cap, SIZE_MAX / 4), -1); /* need * 8 overflows */
	assert_int_equal(BASE_GROW(v, cap, SIZE_MAX), -1);
	assert_ptr_equal(v, old);
	assert_int_equal(cap, 8);
	assert_int_equal(v[0], 7);
	assert_int_equal(base_grow(&v, &cap, 9, 0), -1); /* a zero element size */
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_grow),
	        cmocka_unit_test(test_first),
	        cmocka_unit_test(test_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
