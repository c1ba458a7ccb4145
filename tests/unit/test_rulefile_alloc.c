/* Unit tests for how lib/rulefile.c sizes what a ruleset allocates: the
 * rules array (malloc'd while small, its own mapping once past 256 KiB,
 * resize_rules) and the scratch of path normalisation and caseless patterns
 * (sized for the text parsed, ensure_scratch). Under ASan a free() of a
 * mapping, a munmap of a malloc'd array or a write past the scratch fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_match.h"

#define NRULES 30000 /* 30,000 rules of 12 bytes: past the 256 KiB of a mapping */

static void expect_rule(const struct detour_ruleset *rs, unsigned i)
{
	char want[32];
	const struct detour_rule *r = detour_ruleset_get(rs, i);

	assert_non_null(r);
	assert_int_equal(detour_rule_index(rs, r), i);
	snprintf(want, sizeof(want), "/r%u", i);
	assert_string_equal(detour_rule_path(rs, r), want);
	snprintf(want, sizeof(want), "/t%u", i);
	assert_string_equal(detour_rule_target(rs, r), want);
	assert_int_equal(detour_ruleset_line(rs, r), i + 1);
}

static void expect_match(struct detour_table *t, unsigned i)
{
	char path[32], want[32];
	struct detour_match_req q = {.path = path};
	struct detour_match m;

	q.path_len = (size_t)snprintf(path, sizeof(path), "/r%u", i);
	snprintf(want, sizeof(want), "/t%u", i);
	assert_true(detour_table_match(t, &q, &m));
	assert_string_equal(m.target, want);
}

/* Line by line (the API's way): the array starts malloc'd and is moved to a
 * mapping on the way, every rule kept. */
static void test_rules_array_grows_into_a_mapping(void **state)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;
	char line[64];

	assert_non_null(rs);
	for (unsigned i = 0; i < NRULES; i++) {
		int n = snprintf(line, sizeof(line), "/r%u /t%u 301", i, i);
		assert_int_equal(detour_ruleset_add_line(rs, "api", i + 1, line, (size_t)n, &d),
		                 DETOUR_OK);
		if (i == 0 || i == 4000 || i == NRULES - 1)
			expect_rule(rs, 0);
	}
	assert_int_equal(detour_ruleset_count(rs), NRULES);
	for (unsigned i = 0; i < NRULES; i += 997)
		expect_rule(rs, i);
	expect_rule(rs, NRULES - 1);
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	expect_match(t, 0);
	expect_match(t, 8191);
	expect_match(t, NRULES - 1);
	detour_table_free(t);
}

/* A whole file, large and small, and a ruleset of one rule: built and
 * freed with the right call. */
static void test_rules_array_file_and_one_rule(void **state)
{
	size_t cap = (size_t)NRULES * 24, len = 0;
	char *text = malloc(cap);
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	assert_non_null(text);
	assert_non_null(rs);
	for (unsigned i = 0; i < NRULES; i++)
		len += (size_t)snprintf(text + len, cap - len, "/r%u /t%u 301\n", i, i);
	assert_int_equal(detour_ruleset_load_buf(rs, "f", text, len, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), NRULES);
	expect_rule(rs, 0);
	expect_rule(rs, NRULES - 1);
	detour_ruleset_free(rs);

	rs = detour_ruleset_new();
	assert_int_equal(detour_ruleset_load_buf(rs, "f", text, 12, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 1);
	expect_rule(rs, 0);
	detour_ruleset_free(rs);
	free(text);

	assert_int_equal(detour_ruleset_check_line("api", 1, "/r0 /t0 301", 11, &d), DETOUR_OK);
}

/* A line that needs a large scratch after one that needed a small one:
 * a non-ASCII path triples once normalised ("é" is %C3%A9), and its
 * caseless pattern is as long again. */
static void test_scratch_grows_with_the_line(void **state)
{
	static const char tail[] = " /t 301 case=insensitive";
	enum { N = 2000, LONG = 12000 }; /* 4,001 bytes of path, 12,001 once normalised */
	size_t cap = 1 + 2 * LONG + sizeof(tail), n = 0;
	char *line = malloc(cap);
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char msg[256];

	assert_non_null(line);
	assert_non_null(rs);
	assert_int_equal(
	        detour_ruleset_add_line(rs, "api", 1, "/a /b 301 case=insensitive", 26, &d),
	        DETOUR_OK);
	line[n++] = '/';
	for (int i = 0; i < N; i++) {
		memcpy(line + n, "\xC3\xA9", 2);
		n += 2;
	}
	memcpy(line + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	assert_int_equal(detour_ruleset_add_line(rs, "api", 2, line, n, &d), DETOUR_OK);
	const struct detour_rule *r = detour_ruleset_get(rs, 1);
	assert_int_equal(r->path_len, 1 + 6 * N);
	assert_memory_equal(detour_rule_path(rs, r), "/%C3%A9%C3%A9", 13);
	/* Longer than 65,533 bytes once normalised (72,001): refused as
	 * before, not cut short by the scratch. */
	n = 1;
	for (int i = 0; i < LONG; i++) {
		memcpy(line + n, "\xC3\xA9", 2);
		n += 2;
	}
	memcpy(line + n, " /t 301", 7);
	n += 7;
	assert_int_equal(detour_ruleset_add_line(rs, "api", 3, line, n, &d), DETOUR_EINVAL);
	detour_diag_format(&d, msg, sizeof(msg));
	assert_non_null(strstr(msg, "once normalised"));
	/* Bytes a caseless pattern escapes: each doubles. */
	n = 0;
	line[n++] = '/';
	for (int i = 0; i < 3000; i++)
		line[n++] = i & 1 ? '~' : '.';
	memcpy(line + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	assert_int_equal(detour_ruleset_check_line("api", 4, line, n, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 2);
	detour_ruleset_free(rs);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rules_array_grows_into_a_mapping),
	        cmocka_unit_test(test_rules_array_file_and_one_rule),
	        cmocka_unit_test(test_scratch_grows_with_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
