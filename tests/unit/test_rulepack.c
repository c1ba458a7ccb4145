/* lib/rulepack.c and its use by lib/rulefile.c and the table: a generated
 * file's exact rules are kept as the difference from their block's head
 * (16 rules a block), read back whole through the accessors, compared in
 * place by the table and decoded only for the rule that answers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_test.h"
#include "unit.h"

#include "detour/rulefile.h"
#include "detour/ruleprint.h"
#include "detour/table.h"
#include "detour/table_match.h"
#include "rulepack.h"
#include "ruleset_int.h"

static void test_encode_decode(void **state)
{
	static const struct {
		const char *hp, *hq, *p, *q;
		size_t want; /* packed length, 0: not packed */
	} c[] = {
	        {"/r/0", "/target/0", "/r/1", "/target/1", 4},
	        {"/r/0", "/target/0", "/r/12345", "/target/12345", 12},
	        {"/r/0", "/target/0", "/x", "/y", 0},     /* shares 2 bytes: no */
	        {"/abc", "", "/abcd", "", 3},             /* a 410 without target */
	        {"/a/b/c", "/t", "/a/b", "/t/longer", 9}, /* a path shorter than the head's */
	        {"/same", "/same-target", "/same", "/same-target", 2}, /* all shared */
	};
	char out[DETOUR_RULE_PACKED_MAX], dec[DETOUR_RULE_PACKED_MAX], tgt[DETOUR_RULE_PACKED_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t pl = strlen(c[i].p), tl = strlen(c[i].q);
		size_t n = rulepack_encode(out, c[i].hp, strlen(c[i].hp), c[i].hq, strlen(c[i].hq),
		                           c[i].p, pl, c[i].q, tl);
		assert_int_equal(n, c[i].want);
		if (n == 0)
			continue;
		assert_int_equal(rulepack_len(out, pl, tl), n);
		assert_true(n + RULEPACK_MIN_SAVE <= pl + tl + 2);
		rulepack_decode(dec, out, c[i].hp, c[i].hq, pl, tl);
		assert_string_equal(dec, c[i].p);
		assert_string_equal(dec + pl + 1, c[i].q);
		rulepack_target(tgt, out, c[i].hq, pl, tl);
		assert_string_equal(tgt, c[i].q);
		assert_true(rulepack_path_eq(out, c[i].hp, pl, c[i].p));
		char other[64];
		snprintf(other, sizeof(other), "%s", c[i].p);
		other[pl - 1] ^= 1; /* the last byte differs */
		assert_false(rulepack_path_eq(out, c[i].hp, pl, other));
		other[pl - 1] ^= 1;
		other[1] ^= 1; /* a byte of the shared prefix differs */
		assert_false(rulepack_path_eq(out, c[i].hp, pl, other));
	}
}

/* The inline compare and copy, for every length up to 64: exact, and
 * reading nothing outside [0, n) (each source ends at a guard page). */
static void test_eq_cpy(void **state)
{
	char src[64], dst[80];

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)('a' + i % 26);
	for (size_t n = 0; n <= sizeof(src); n++) {
		struct guard ga, gb;
		char *a = guard_copy(&ga, src, n), *b = guard_copy(&gb, src, n);
		assert_true(rulepack_eq(a, b, n));
		for (size_t k = 0; k < n; k++) {
			b[k] ^= 0x20;
			assert_false(rulepack_eq(a, b, n));
			b[k] ^= 0x20;
		}
		memset(dst, '#', sizeof(dst));
		rulepack_cpy(dst + 8, a, n);
		assert_memory_equal(dst + 8, src, n);
		for (size_t k = 0; k < 8; k++)
			assert_int_equal(dst[k], '#');
		for (size_t k = 8 + n; k < sizeof(dst); k++)
			assert_int_equal(dst[k], '#');
		guard_free(&ga);
		guard_free(&gb);
	}
}

/* "/r/N /target/N 301" for N in [from, to), one a line. */
static char *gen(size_t from, size_t to)
{
	size_t cap = (to - from) * 48 + 1, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (size_t i = from; i < to; i++)
		len += (size_t)snprintf(s + len, cap - len, "/r/%zu /target/%zu 301\n", i, i);
	return s;
}

static struct detour_ruleset *load(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	assert_non_null(rs);
	assert_int_equal(detour_ruleset_load_buf(rs, "gen.rules", text, strlen(text), &d),
	                 DETOUR_OK);
	return rs;
}

/* A block's head, in the index type the caller has (the table indexes
 * with uint32_t, the ruleset with size_t). */
static void test_head(void **state)
{
	(void)state;
	assert_int_equal(rulepack_head((size_t)0), 0);
	assert_int_equal(rulepack_head((size_t)RULEPACK_BLOCK - 1), 0);
	assert_int_equal(rulepack_head((size_t)RULEPACK_BLOCK), RULEPACK_BLOCK);
	assert_int_equal(rulepack_head((uint32_t)UINT32_MAX), UINT32_MAX - (RULEPACK_BLOCK - 1));
	assert_true(sizeof(rulepack_head((uint32_t)1)) == sizeof(uint32_t));
	assert_true(rulepack_head((size_t)1 << 40 | 5) == (size_t)1 << 40);
}

/* Every rule of rs, [0, n), is "/r/(N + base)" -> "/target/(N + base)". */
static void check_all(const struct detour_ruleset *rs, size_t n, size_t base)
{
	char p[32], t[32];

	assert_int_equal(detour_ruleset_count(rs), n);
	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		snprintf(p, sizeof(p), "/r/%zu", i + base);
		snprintf(t, sizeof(t), "/target/%zu", i + base);
		assert_string_equal(detour_rule_path(rs, r), p);
		assert_string_equal(detour_rule_target(rs, r), t);
		assert_ptr_equal(detour_rule_target(rs, r),
		                 detour_rule_path(rs, r) + r->path_len + 1);
	}
}

static void test_file_packed(void **state)
{
	enum { N = 1000 };
	char *text = gen(0, N);
	struct detour_ruleset *rs = load(text);
	size_t packed = 0, plain = 0;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		plain += (size_t)r->path_len + r->target_len + 2;
		if (r->flags & DETOUR_RULE_PACKED) {
			assert_true(i != rulepack_head(i)); /* a head never is */
			packed++;
		}
	}
	/* "/r/1 /target/1" against "/r/0 /target/0" saves 11 of 16 bytes:
	 * every rule but the 63 heads */
	assert_int_equal(packed, N - (N + RULEPACK_BLOCK - 1) / RULEPACK_BLOCK);
	const struct detour_rule *last = detour_ruleset_get(rs, N - 1);
	size_t used = last->off + rulepack_len(detour_ruleset_strings(rs) + last->off,
	                                       last->path_len, last->target_len);
	assert_true(used * 2 < plain);
	check_all(rs, N, 0);
	free(text);
	detour_ruleset_free(rs);
}

static void test_table_packed(void **state)
{
	enum { N = 3000 };
	char *text = gen(0, N);
	struct detour_table *t = build(text);
	struct detour_match m;
	char p[40], want[40];

	(void)state;
	for (size_t i = 0; i < N; i++) {
		struct detour_match_req q = {.path = p};
		q.path_len = (size_t)snprintf(p, sizeof(p), "/r/%zu", i);
		assert_true(detour_table_match(t, &q, &m));
		assert_int_equal(m.index, i);
		snprintf(want, sizeof(want), "/target/%zu", i);
		assert_string_equal(m.target, want);
		assert_int_equal(m.target_len, strlen(want));
	}
	/* misses that share everything but the end with packed rules */
	static const char *const miss[] = {"/r/30000", "/r/", "/r/12x", "/s/12", "/r/1/2"};
	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		struct detour_match_req q = {.path = miss[i], .path_len = strlen(miss[i])};
		assert_false(detour_table_match(t, &q, &m));
	}
	free(text);
	detour_table_free(t);
}

/* @slash either (the default): a packed "/a/" answers "/a" and back;
 * strict: not. */
static void test_slash(void **state)
{
	static const char either[] = "/dir/x0/ /t/0\n/dir/x1/ /t/1/long\n/dir/x2 /t/2/long\n";
	static const char strict[] = "@slash strict\n/dir/x0/ /t/0\n/dir/x1/ /t/1/long\n"
	                             "/dir/x2 /t/2/long\n";
	struct detour_match m;

	(void)state;
	for (int s = 0; s < 2; s++) {
		struct detour_table *t = build(s ? strict : either);
		const struct detour_ruleset *rs = detour_table_rules(t);
		assert_true(detour_ruleset_get(rs, 1)->flags & DETOUR_RULE_PACKED);
		assert_true(detour_ruleset_get(rs, 2)->flags & DETOUR_RULE_PACKED);
		struct detour_match_req q = {.path = "/dir/x1", .path_len = 7};
		assert_int_equal(detour_table_match(t, &q, &m), !s);
		q.path = "/dir/x2/";
		q.path_len = 8;
		assert_int_equal(detour_table_match(t, &q, &m), !s);
		if (!s)
			assert_string_equal(m.target, "/t/2/long");
		q.path = "/dir/x1/";
		assert_true(detour_table_match(t, &q, &m));
		assert_string_equal(m.target, "/t/1/long");
		detour_table_free(t);
	}
}

struct plain_arg {
	const struct detour_ruleset *rs;
	const char *got;
};

static void *plain_thread(void *arg)
{
	struct plain_arg *a = arg;

	a->got = detour_rule_path(a->rs, detour_ruleset_get(a->rs, 5));
	return NULL;
}

/* The plain copy is made once, whichever thread asks first. */
static void test_threads(void **state)
{
	enum { T = 4 };
	char *text = gen(0, 64);
	struct detour_ruleset *rs = load(text);
	pthread_t th[T];
	struct plain_arg a[T];

	(void)state;
	for (int i = 0; i < T; i++) {
		a[i] = (struct plain_arg){.rs = rs};
		assert_int_equal(pthread_create(&th[i], NULL, plain_thread, &a[i]), 0);
	}
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 1; i < T; i++)
		assert_ptr_equal(a[i].got, a[0].got);
	assert_string_equal(a[0].got, "/r/5");
	check_all(rs, 64, 0);
	free(text);
	detour_ruleset_free(rs);
}

/* A second file's first rules pack against a head of the first file. */
static void test_second_file(void **state)
{
	char *one = gen(0, 10), *two = gen(10, 40);
	struct detour_ruleset *rs = load(one);
	struct detour_diag d;

	(void)state;
	assert_int_equal(detour_ruleset_load_buf(rs, "two.rules", two, strlen(two), &d), DETOUR_OK);
	assert_true(detour_ruleset_get(rs, 12)->flags & DETOUR_RULE_PACKED); /* head: rule 0 */
	assert_false(detour_ruleset_get(rs, 16)->flags & DETOUR_RULE_PACKED);
	check_all(rs, 40, 0);
	free(one);
	free(two);
	detour_ruleset_free(rs);
}

/* Lines added after the plain copy exists are not packed; before, they
 * are; every earlier string stays readable. */
static void test_add_line(void **state)
{
	char *text = gen(0, 20);
	struct detour_ruleset *rs = load(text);
	struct detour_diag d;
	char line[48];

	(void)state;
	snprintf(line, sizeof(line), "/r/20 /target/20 301");
	assert_int_equal(detour_ruleset_add_line(rs, "api", 1, line, strlen(line), &d), DETOUR_OK);
	assert_true(detour_ruleset_get(rs, 20)->flags & DETOUR_RULE_PACKED);
	check_all(rs, 21, 0); /* makes the plain copy */
	snprintf(line, sizeof(line), "/r/21 /target/21 301");
	assert_int_equal(detour_ruleset_add_line(rs, "api", 2, line, strlen(line), &d), DETOUR_OK);
	assert_false(detour_ruleset_get(rs, 21)->flags & DETOUR_RULE_PACKED);
	check_all(rs, 22, 0);
	free(text);
	detour_ruleset_free(rs);
}

/* Printing a rule (the admin API's listing, ctl rules list) decodes it on
 * the stack: the listing of a server's rules makes no plain copy. */
static void test_print_no_copy(void **state)
{
	char *text = gen(0, 100);
	struct detour_ruleset *rs = load(text);
	char out[256], want[64], buf[DETOUR_RULE_PACKED_MAX];

	(void)state;
	for (size_t i = 0; i < 100; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		snprintf(want, sizeof(want), "/r/%zu /target/%zu 301", i, i);
		assert_int_equal(detour_rule_format(rs, r, out, sizeof(out)), strlen(want));
		assert_string_equal(out, want);
		const char *p = detour_rule_strings(rs, r, buf);
		assert_true((p == buf) == ((r->flags & DETOUR_RULE_PACKED) != 0));
		snprintf(want, sizeof(want), "/target/%zu", i);
		assert_string_equal(p + r->path_len + 1, want);
	}
	assert_null(atomic_load(&((struct detour_ruleset *)rs)->plain));
	free(text);
	detour_ruleset_free(rs);
}

/* What is never packed: heads, patterns, splats, regexes, rules with an
 * extension, long strings. */
static void test_not_packed(void **state)
{
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *text = malloc(4096);
	snprintf(
	        text, 4096,
	        "/r/0 /target/0\n/r/:x /target/:x\n/r/* /target/:splat\n~^/r/([0-9]+)$ /target/$1\n"
	        "/r/4 /target/4 method=POST\n/r/5%s /target/5\n/r/6 /target/6\n",
	        big);
	struct detour_ruleset *rs = load(text);

	(void)state;
	for (size_t i = 0; i < 6; i++)
		assert_false(detour_ruleset_get(rs, i)->flags & DETOUR_RULE_PACKED);
	/* this one is: the file has an extension, so it joins the arena
	 * whole, but the block still packs */
	assert_true(detour_ruleset_get(rs, 6)->flags & DETOUR_RULE_PACKED);
	assert_string_equal(detour_rule_path(rs, detour_ruleset_get(rs, 6)), "/r/6");
	assert_string_equal(detour_rule_target(rs, detour_ruleset_get(rs, 6)), "/target/6");
	free(text);
	detour_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_encode_decode), cmocka_unit_test(test_eq_cpy),
	        cmocka_unit_test(test_head),          cmocka_unit_test(test_file_packed),
	        cmocka_unit_test(test_table_packed),  cmocka_unit_test(test_slash),
	        cmocka_unit_test(test_threads),       cmocka_unit_test(test_second_file),
	        cmocka_unit_test(test_add_line),      cmocka_unit_test(test_print_no_copy),
	        cmocka_unit_test(test_not_packed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
