/* Unit tests for lib/cond.c: conditions (method=, if-header=, if-cookie=,
 * if-query=, if-ip=, if-lang=) as the table evaluates them, and their
 * errors. */
#include "detour/table_match.h"
#include "rules_test.h"

/* ------------------------------------------------------------- conditions */

static void test_conditions(void **state)
{
	struct detour_table *t = build("/a /post method=POST,PUT\n"
	                               "/a /beta if-cookie=beta=1\n"
	                               "/a /fr if-lang=fr\n"
	                               "/a /hdr if-header=X-Debug:~^on|yes$\n"
	                               "/a /q if-query=utm=x&ref\n"
	                               "/a /lan if-ip=10.0.0.0/8,2001:db8::/32\n"
	                               "/a /not-chrome if-header=!User-Agent:chrome\n"
	                               "/a /rest\n");
	static const struct {
		const char *method, *target, *h1, *h2, *ip;
		unsigned line;
	} c[] = {
	        {"POST", "/a", NULL, NULL, NULL, 1},
	        {"PUT", "/a", NULL, NULL, NULL, 1},
	        {"GET", "/a", "Cookie: x=1; beta=1", NULL, NULL, 2},
	        {"GET", "/a", "Cookie: beta=2", NULL, NULL, 7},
	        {"GET", "/a", "Accept-Language: fr-CH, en;q=0.8", NULL, NULL, 3},
	        {"GET", "/a", "Accept-Language: en, fr;q=0.9", NULL, NULL, 7},
	        {"GET", "/a", "Accept-Language: en;q=0.5, fr;q=0.9", NULL, NULL, 3},
	        {"GET", "/a", "Accept-Language: fr;q=0, de", NULL, NULL, 7},
	        {"GET", "/a", "x-debug: yes", NULL, NULL, 4},
	        {"GET", "/a", "X-Debug: nope", NULL, NULL, 7},
	        {"GET", "/a?ref&utm=x", NULL, NULL, NULL, 5},
	        {"GET", "/a?utm=x", NULL, NULL, NULL, 7},
	        {"GET", "/a?utm=y&ref=1", NULL, NULL, NULL, 7},
	        {"GET", "/a", NULL, NULL, "10.1.2.3", 6},
	        {"GET", "/a", NULL, NULL, "2001:db8::1", 6},
	        {"GET", "/a", NULL, NULL, "::ffff:10.9.9.9", 6},
	        {"GET", "/a", NULL, NULL, "11.0.0.1", 7},
	        {"GET", "/a", "User-Agent: chrome", NULL, NULL, 8},
	        {"HEAD", "/a", "User-Agent: chrome", NULL, NULL, 8},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *h[3] = {c[i].h1, c[i].h2, NULL};
		struct treq r;
		mkreq(&r, c[i].method, c[i].target, c[i].h1 ? h : NULL, c[i].ip, 0);
		unsigned got = hit(t, &r, NULL, 0);
		if (got != c[i].line)
			fail_msg("case %zu %s %s: line %u, want %u", i, c[i].method, c[i].target,
			         got, c[i].line);
	}
	/* no request (lint, check): a GET without headers */
	struct detour_match_req q = {.path = "/a", .path_len = 2};
	struct detour_match m;
	assert_true(detour_table_match(t, &q, &m));
	assert_int_equal(detour_ruleset_line(detour_table_rules(t), m.rule), 7);
	detour_table_free(t);
}

static void test_condition_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"/a /b method=GET,FETCH",
	         "r:1:18: unknown method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE; "
	         "upper case, RFC 9110 §9.1)"},
	        {"/a /b if-ip=10.0.0.0/33",
	         "r:1:13: expected an IPv4 or IPv6 address or CIDR (192.0.2.0/24, 2001:db8::/32)"},
	        {"/a /b if-header=X Y", "r:1:19: expected an option NAME=VALUE, found \"Y\""},
	        {"/a /b if-header=:v", "r:1:17: expected a header name before ':'"},
	        {"/a /b if-lang=fr,,de", "r:1:18: empty language in the list"},
	        {"/a /b if-query=&a",
	         "r:1:16: empty parameter in the list (key[=value]&key2[=value])"},
	        {"/a /b method=GET method=POST",
	         "r:1:18: option \"method\" given twice (first at column 7)"},
	        {"/a /b if-cookie=", "r:1:17: expected a value"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_conditions),
	        cmocka_unit_test(test_condition_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
