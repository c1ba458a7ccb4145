/* lib/ruleside.c: the facts a ruleset keeps beside its 12-byte rules (line,
 * file, host, id=), and their use through the ruleset's accessors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/rulefile.h"
#include "ruleside.h"

/* Lines and files: runs of consecutive lines, a new run at a gap or at a
 * new file, and every rule's line and file read back. */
static void test_runs(void **state)
{
	struct rside s = {0};
	static const unsigned lines[] = {1, 2, 3, 5, 6, 1, 2, 2, 9, 4};
	static const unsigned files[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0};

	(void)state;
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(rside_add(&s, lines[i], files[i], 0, NULL, 0), 0);
	assert_int_equal(s.n, 10);
	/* 1-3 | 5-6 | file 1: 1-2 | 2 (same line again) | 9 | file 0: 4 */
	assert_int_equal(s.nruns, 6);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(rside_line(&s, i), lines[i]);
		assert_int_equal(rside_file(&s, i), files[i]);
		assert_int_equal(rside_host_of(&s, i), 0);
	}
	assert_int_equal(rside_line(&s, 10), 0); /* not recorded */
	assert_int_equal(rside_file(&s, 10), 0);
	assert_null(s.rhost); /* no host: no per-rule host array */
	rside_fini(&s);

	/* a million rules on consecutive lines: one run */
	for (uint32_t i = 0; i < 1000000; i++)
		assert_int_equal(rside_add(&s, i + 1, 0, 0, NULL, 0), 0);
	assert_int_equal(s.nruns, 1);
	assert_int_equal(rside_line(&s, 999999), 1000000);
	rside_fini(&s);
}

/* Hosts: interned by (name, wildcard), number 0 for none; the per-rule
 * array appears with the first host and gives earlier rules host 0. */
static void test_hosts(void **state)
{
	struct rside s = {0};
	char names[300][16];

	(void)state;
	assert_int_equal(rside_host_intern(&s, "", 0, false), 0);
	assert_int_equal(s.nhosts, 0);
	assert_int_equal(rside_add(&s, 1, 0, 0, NULL, 0), 0);
	uint32_t a = rside_host_intern(&s, "a.example", 9, false);
	uint32_t w = rside_host_intern(&s, ".a.example", 10, true);
	uint32_t a2 = rside_host_intern(&s, "a.example", 9, false);
	assert_int_equal(a, 1);
	assert_int_equal(w, 2);
	assert_int_equal(a2, a);
	assert_int_equal(rside_add(&s, 2, 0, a, NULL, 0), 0);
	assert_int_equal(rside_add(&s, 3, 0, 0, NULL, 0), 0);
	assert_int_equal(rside_add(&s, 4, 0, w, NULL, 0), 0);
	assert_non_null(s.rhost);
	assert_int_equal(rside_host_of(&s, 0), 0);
	assert_int_equal(rside_host_of(&s, 1), a);
	assert_int_equal(rside_host_of(&s, 2), 0);
	assert_int_equal(rside_host_of(&s, 3), w);
	assert_int_equal(rside_host_of(&s, 4), 0); /* not recorded */
	struct rside_host h = rside_host(&s, w);
	assert_string_equal(h.name, ".a.example");
	assert_int_equal(h.len, 10);
	assert_true(h.wild);
	h = rside_host(&s, 0);
	assert_string_equal(h.name, "");
	h = rside_host(&s, 99);
	assert_string_equal(h.name, "");
	/* growth of the host hash keeps every number */
	for (int i = 0; i < 300; i++) {
		int n = snprintf(names[i], sizeof(names[i]), "h%d.test", i);
		assert_int_equal(rside_host_intern(&s, names[i], (size_t)n, false), 3 + i);
	}
	for (int i = 0; i < 300; i++)
		assert_int_equal(rside_host_intern(&s, names[i], strlen(names[i]), false), 3 + i);
	assert_int_equal(rside_host_intern(&s, "a.example", 9, false), a);
	rside_fini(&s);
}

/* ids: found by value, read back by rule, "" for a rule without one. */
static void test_ids(void **state)
{
	struct rside s = {0};
	char ids[200][16];

	(void)state;
	assert_int_equal(rside_id_find(&s, "x", 1), RSIDE_NONE);
	for (uint32_t i = 0; i < 400; i++) {
		const char *id = NULL;
		size_t n = 0;
		if (i % 2 == 0) {
			n = (size_t)snprintf(ids[i / 2], sizeof(ids[0]), "id-%u", i);
			id = ids[i / 2];
		}
		assert_int_equal(rside_add(&s, i + 1, 0, 0, id, n), 0);
	}
	for (uint32_t i = 0; i < 400; i++) {
		size_t n;
		const char *id = rside_id(&s, i, &n);
		if (i % 2) {
			assert_string_equal(id, "");
			assert_int_equal(n, 0);
		} else {
			char want[16];
			snprintf(want, sizeof(want), "id-%u", i);
			assert_string_equal(id, want);
			assert_int_equal(n, strlen(want));
			assert_int_equal(rside_id_find(&s, want, n), i);
		}
	}
	assert_int_equal(rside_id_find(&s, "id-1", 4), RSIDE_NONE);
	rside_fini(&s);
}

/* Through the ruleset: what the rules file said comes back per rule. */
static void test_ruleset(void **state)
{
	static const char text[] = "# comment\n"
	                           "/a /b\n"
	                           "//Example.COM/c /d 301 id=c\n"
	                           "\n"
	                           "https://*.example.org/e /f\n"
	                           "//example.com/g /h\n";
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	size_t n;

	(void)state;
	assert_non_null(rs);
	assert_int_equal(detour_ruleset_load_buf(rs, "r.rules", text, sizeof(text) - 1, &d), 0);
	assert_int_equal(detour_ruleset_count(rs), 4);
	static const unsigned lines[] = {2, 3, 5, 6};
	static const char *const hosts[] = {"", "example.com", ".example.org", "example.com"};
	for (size_t i = 0; i < 4; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		assert_int_equal(detour_ruleset_line(rs, r), lines[i]);
		assert_int_equal(detour_ruleset_rule_file(rs, r), 0);
		assert_string_equal(detour_ruleset_host(rs, r, &n), hosts[i]);
		assert_int_equal(n, strlen(hosts[i]));
	}
	const struct detour_rule *r1 = detour_ruleset_get(rs, 1), *r3 = detour_ruleset_get(rs, 3);
	assert_int_equal(detour_ruleset_host_id(rs, detour_ruleset_get(rs, 0)), 0);
	assert_int_equal(detour_ruleset_host_id(rs, r1), detour_ruleset_host_id(rs, r3));
	assert_int_not_equal(detour_ruleset_host_id(rs, r1),
	                     detour_ruleset_host_id(rs, detour_ruleset_get(rs, 2)));
	assert_string_equal(detour_ruleset_idval(rs, r1, &n), "c");
	assert_int_equal(n, 1);
	assert_string_equal(detour_ruleset_idval(rs, r3, NULL), "");
	char buf[64];
	assert_string_equal(detour_rule_id(rs, r1, buf, sizeof(buf)), "c");
	assert_string_equal(detour_rule_id(rs, r3, buf, sizeof(buf)), "r.rules:6");
	/* a duplicate id names the first one's place */
	assert_int_equal(detour_ruleset_add_line(rs, "api", 1, "/x /y id=c", 10, &d),
	                 DETOUR_EINVAL);
	assert_non_null(strstr(d.msg, "already used at r.rules:3"));
	assert_int_equal(sizeof(struct detour_rule), 12);
	detour_ruleset_free(rs);
}

/* detour_rule_id is hand-formatted (no snprintf): the same bytes and the
 * same truncation as snprintf's "%s:%u" and "%s". */
static void test_rule_id(void **state)
{
	static const char text[] = "/a /b\n"
	                           "/c /d id=some-id\n";
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char buf[64], want[64];

	(void)state;
	assert_non_null(rs);
	assert_int_equal(detour_ruleset_load_buf(rs, "dir/r.rules", text, sizeof(text) - 1, &d), 0);
	assert_int_equal(detour_ruleset_add_line(rs, "api", 4294967295u, "/e /f", 5, &d), 0);
	assert_int_equal(detour_ruleset_add_line(rs, "api", 10, "/g /h", 5, &d), 0);
	assert_int_equal(detour_ruleset_add_line(rs, "api", 0, "/i /j", 5, &d), 0);
	const struct detour_rule *plain = detour_ruleset_get(rs, 0),
	                         *idset = detour_ruleset_get(rs, 1),
	                         *big = detour_ruleset_get(rs, 2), *ten = detour_ruleset_get(rs, 3),
	                         *zero = detour_ruleset_get(rs, 4);
	assert_string_equal(detour_rule_id(rs, plain, buf, sizeof(buf)), "dir/r.rules:1");
	assert_string_equal(detour_rule_id(rs, idset, buf, sizeof(buf)), "some-id");
	assert_string_equal(detour_rule_id(rs, big, buf, sizeof(buf)), "api:4294967295");
	assert_string_equal(detour_rule_id(rs, ten, buf, sizeof(buf)), "api:10");
	assert_string_equal(detour_rule_id(rs, zero, buf, sizeof(buf)), "api:0");
	/* Every size from 0 to past the end truncates as snprintf does. */
	const struct detour_rule *all[] = {plain, idset, big, ten, zero};
	for (size_t k = 0; k < 5; k++) {
		const struct detour_rule *r = all[k];
		char full[64];
		detour_rule_id(rs, r, full, sizeof(full));
		for (size_t cap = 0; cap <= strlen(full) + 2; cap++) {
			memset(buf, 'x', sizeof(buf));
			snprintf(want, sizeof(want), "%s", full);
			if (cap)
				want[cap - 1 < strlen(full) ? cap - 1 : strlen(full)] = '\0';
			assert_ptr_equal(detour_rule_id(rs, r, buf, cap), buf);
			if (cap == 0)
				assert_int_equal(buf[0], 'x'); /* nothing written */
			else
				assert_string_equal(buf, want);
			assert_int_equal(buf[cap + 1], 'x'); /* nothing past cap */
		}
	}
	detour_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_runs),    cmocka_unit_test(test_hosts),
	        cmocka_unit_test(test_ids),     cmocka_unit_test(test_ruleset),
	        cmocka_unit_test(test_rule_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
