/* Unit tests for lib/topk.c: exact counts below capacity, eviction of the
 * smallest with its count as the error, the Space-Saving bounds on a skewed
 * stream, key truncation, merging and sorting. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/topk.h"

static const struct detour_topk_entry *find(const struct detour_topk *t, const char *key)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].key, key))
			return &t->e[i];
	return NULL;
}

static void add_s(struct detour_topk *t, const char *key, uint64_t n)
{
	struct guard g;
	const char *p = guard_copy(&g, key, strlen(key));

	detour_topk_add(t, p, strlen(key), n);
	guard_free(&g);
}

static void test_exact_below_cap(void **state)
{
	struct detour_topk_entry e[4];
	struct detour_topk t;

	detour_topk_init(&t, e, 4);
	add_s(&t, "/a", 1);
	add_s(&t, "/b", 2);
	add_s(&t, "/a", 3);
	add_s(&t, "/c", 1);
	add_s(&t, "", 5);   /* the empty key is a key */
	add_s(&t, "/c", 0); /* zero counts nothing */
	assert_int_equal(t.n, 4);
	assert_int_equal(t.total, 12);
	assert_int_equal(find(&t, "/a")->count, 4);
	assert_int_equal(find(&t, "/b")->count, 2);
	assert_int_equal(find(&t, "/c")->count, 1);
	assert_int_equal(find(&t, "")->count, 5);
	for (unsigned i = 0; i < t.n; i++)
		assert_int_equal(t.e[i].error, 0);

	detour_topk_sort(&t);
	static const char *const order[] = {"", "/a", "/b", "/c"};
	for (unsigned i = 0; i < 4; i++)
		assert_string_equal(t.e[i].key, order[i]);

	detour_topk_clear(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.total, 0);
}

static void test_eviction(void **state)
{
	struct detour_topk_entry e[2];
	struct detour_topk t;

	detour_topk_init(&t, e, 2);
	add_s(&t, "/x", 5);
	add_s(&t, "/y", 2);
	add_s(&t, "/z", 1); /* evicts /y (2): /z gets count 3, error 2 */
	assert_int_equal(t.n, 2);
	assert_null(find(&t, "/y"));
	assert_int_equal(find(&t, "/z")->count, 3);
	assert_int_equal(find(&t, "/z")->error, 2);
	assert_int_equal(find(&t, "/x")->count, 5);
	assert_int_equal(find(&t, "/x")->error, 0);
	add_s(&t, "/y", 1); /* evicts /z (3) */
	assert_int_equal(find(&t, "/y")->count, 4);
	assert_int_equal(find(&t, "/y")->error, 3);
	assert_int_equal(t.total, 9);
	/* A summary of one entry keeps the last key with every count. */
	detour_topk_init(&t, e, 1);
	add_s(&t, "/a", 1);
	add_s(&t, "/b", 1);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.e[0].key, "/b");
	assert_int_equal(t.e[0].count, 2);
	assert_int_equal(t.e[0].error, 1);
}

/* A skewed stream: 5 heavy keys and 2000 rare ones, with a capacity of 16.
 * Every key above N/16 must be present, and count - error <= true <= count
 * for every entry. */
static void test_bounds(void **state)
{
	enum { CAP = 16, RARE = 2000 };
	static struct detour_topk_entry e[CAP];
	struct detour_topk t;
	static uint64_t truth[RARE + 5];
	char key[32];
	unsigned seed = 12345;
	uint64_t n = 0;

	detour_topk_init(&t, e, CAP);
	memset(truth, 0, sizeof(truth));
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = (seed >> 8) % 100;
		unsigned k = r < 60 ? r % 5 : 5 + (seed >> 4) % RARE;
		snprintf(key, sizeof(key), "/k%u", k);
		detour_topk_add(&t, key, strlen(key), 1);
		truth[k]++;
		n++;
	}
	assert_int_equal(t.total, n);
	uint64_t sum = 0;
	for (unsigned i = 0; i < t.n; i++) {
		unsigned k = (unsigned)atoi(t.e[i].key + 2);
		assert_true(t.e[i].count >= truth[k]);
		assert_true(t.e[i].count - t.e[i].error <= truth[k]);
		sum += t.e[i].count;
	}
	assert_int_equal(sum, n); /* Space-Saving: counts sum to the total */
	for (unsigned k = 0; k < RARE + 5; k++) {
		if (truth[k] > n / CAP) {
			snprintf(key, sizeof(key), "/k%u", k);
			assert_non_null(find(&t, key));
		}
	}
	for (unsigned k = 0; k < 5; k++) {
		snprintf(key, sizeof(key), "/k%u", k);
		assert_non_null(find(&t, key));
	}
}

static void test_truncation(void **state)
{
	struct detour_topk_entry e[2];
	struct detour_topk t;
	char a[300], b[300];

	memset(a, 'a', sizeof(a));
	memcpy(b, a, sizeof(b));
	b[299] = 'b'; /* differs only past the cut */
	detour_topk_init(&t, e, 2);
	detour_topk_add(&t, a, sizeof(a), 1);
	detour_topk_add(&t, b, sizeof(b), 1);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.e[0].count, 2);
	assert_int_equal(t.e[0].len, DETOUR_TOPK_KEY_MAX - 1);
	assert_int_equal(strlen(t.e[0].key), DETOUR_TOPK_KEY_MAX - 1);
}

static void test_merge(void **state)
{
	struct detour_topk_entry e1[3], e2[3], e3[2];
	struct detour_topk a, b, m;

	detour_topk_init(&a, e1, 3);
	detour_topk_init(&b, e2, 3);
	detour_topk_init(&m, e3, 2);
	add_s(&a, "/x", 10);
	add_s(&a, "/y", 1);
	add_s(&b, "/x", 5);
	add_s(&b, "/z", 7);
	detour_topk_merge(&m, &a);
	detour_topk_merge(&m, &b);
	assert_int_equal(m.total, 23);
	assert_int_equal(m.n, 2);
	/* /y (1) was evicted by /z: /z = 1 + 7 with error 1 */
	assert_int_equal(find(&m, "/x")->count, 15);
	assert_int_equal(find(&m, "/z")->count, 8);
	assert_int_equal(find(&m, "/z")->error, 1);
	detour_topk_sort(&m);
	assert_string_equal(m.e[0].key, "/x");
	assert_string_equal(m.e[1].key, "/z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exact_below_cap), cmocka_unit_test(test_eviction),
	        cmocka_unit_test(test_bounds),          cmocka_unit_test(test_truncation),
	        cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
