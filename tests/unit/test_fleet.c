/* Unit tests for lib/fleet.c: the `state` URL (redis://, redis-sentinel://,
 * rediss:// and rediss-sentinel:// with tls-name=, userinfo, query parameters) and the
 * Redis encoding of API rules and maintenance. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/fleet.h"

static detour_err parse(const char *s, struct detour_fleet_url *u, char *err)
{
	return detour_fleet_url_parse(s, strlen(s), u, err, 400);
}

static void test_redis_url(void **state)
{
	struct detour_fleet_url u;
	char err[400];

	(void)state;
	assert_int_equal(parse("redis://127.0.0.1:6380/3", &u, err), DETOUR_OK);
	assert_false(u.sentinel);
	assert_int_equal(u.nhosts, 1);
	assert_string_equal(u.hosts[0].host, "127.0.0.1");
	assert_int_equal(u.hosts[0].port, 6380);
	assert_int_equal(u.db, 3);
	assert_int_equal(u.replicas, 0);
	assert_int_equal(u.timeout_ms, 2000);
	assert_string_equal(u.prefix, "detour");
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "");

	assert_int_equal(parse("redis://redis.internal", &u, err), DETOUR_OK);
	assert_string_equal(u.hosts[0].host, "redis.internal");
	assert_int_equal(u.hosts[0].port, 6379);
	assert_int_equal(u.db, 0);

	assert_int_equal(parse("redis://app:s%40cr%3At@[::1]:7000/0?replicas=1&timeout=500&prefix="
	                       "site-a",
	                       &u, err),
	                 DETOUR_OK);
	assert_string_equal(u.user, "app");
	assert_string_equal(u.password, "s@cr:t");
	assert_string_equal(u.hosts[0].host, "::1");
	assert_int_equal(u.hosts[0].port, 7000);
	assert_int_equal(u.replicas, 1);
	assert_int_equal(u.timeout_ms, 500);
	assert_string_equal(u.prefix, "site-a");

	assert_int_equal(parse("redis://:pw@h:1/", &u, err), DETOUR_OK);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "pw");
}

static void test_sentinel_url(void **state)
{
	struct detour_fleet_url u;
	char err[400];

	(void)state;
	assert_int_equal(
	        parse("redis-sentinel://10.0.0.1:26379,10.0.0.2,10.0.0.3:26380/mymaster", &u, err),
	        DETOUR_OK);
	assert_true(u.sentinel);
	assert_int_equal(u.nhosts, 3);
	assert_int_equal(u.hosts[1].port, 26379);
	assert_int_equal(u.hosts[2].port, 26380);
	assert_string_equal(u.name, "mymaster");
	assert_int_equal(u.replicas, 1); /* a sentinel setup has replicas: WAIT 1 */
	assert_int_equal(parse("redis-sentinel://h:1/m?replicas=0&db=2", &u, err), DETOUR_OK);
	assert_int_equal(u.replicas, 0);
	assert_int_equal(u.db, 2);
	assert_int_equal(parse("redis-sentinel://h:1", &u, err), DETOUR_EINVAL);
	assert_non_null(strstr(err, "/NAME"));
}

static void test_bad_urls(void **state)
{
	static const char *const bad[] = {
	        "http://h:1/0",
	        "redis://",
	        "redis://h:0/0",
	        "redis://h:65536/0",
	        "redis://h:1/x",
	        "redis://a,b/0",
	        "redis://::1:6379/0",
	        "redis://user@h/0",
	        "redis://u:%zz@h/0",
	        "redis://u:@h/0",
	        "redis://h/0?replicas=99",
	        "redis://h/0?timeout=10",
	        "redis://h/0?prefix=a b",
	        "redis://h/0?nope=1",
	        "redis-sentinel://h:1,/m",
	        "redis://h%/0",
	};
	struct detour_fleet_url u;
	char err[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i], &u, err) != DETOUR_EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(parse("redis://h/0?tls-name=r.example", &u, err), DETOUR_EINVAL);
	assert_string_equal(err, "tls-name=: only with rediss:// or rediss-sentinel://");
	assert_int_equal(parse("ftp://h/0", &u, err), DETOUR_EINVAL);
	assert_non_null(strstr(err, "rediss://"));
}

/* TLS: the same URLs with an s, the default ports unchanged. */
static void test_rediss_url(void **state)
{
	struct detour_fleet_url u;
	char err[400];

	(void)state;
	assert_int_equal(parse("redis://h/0", &u, err), DETOUR_OK);
	assert_false(u.tls);
	assert_int_equal(parse("rediss://app:pw@redis.internal/2", &u, err), DETOUR_OK);
	assert_true(u.tls);
	assert_false(u.sentinel);
	assert_string_equal(u.hosts[0].host, "redis.internal");
	assert_int_equal(u.hosts[0].port, 6379);
	assert_int_equal(u.db, 2);
	assert_string_equal(u.user, "app");
	assert_string_equal(u.tls_name, "");
	assert_int_equal(parse("rediss://[::1]:6380/0?tls-name=redis.internal&replicas=1", &u, err),
	                 DETOUR_OK);
	assert_true(u.tls);
	assert_string_equal(u.hosts[0].host, "::1");
	assert_int_equal(u.hosts[0].port, 6380);
	assert_string_equal(u.tls_name, "redis.internal");
	assert_int_equal(u.replicas, 1);
	assert_int_equal(parse("rediss://127.0.0.1:6380?tls-name=10.0.0.7", &u, err), DETOUR_OK);
	assert_string_equal(u.tls_name, "10.0.0.7");
	assert_int_equal(
	        parse("rediss-sentinel://s1,s2:26380/mymaster?tls-name=r.example", &u, err),
	        DETOUR_OK);
	assert_true(u.tls);
	assert_true(u.sentinel);
	assert_int_equal(u.nhosts, 2);
	assert_int_equal(u.hosts[0].port, 26379);
	assert_int_equal(u.hosts[1].port, 26380);
	assert_string_equal(u.name, "mymaster");
	assert_int_equal(u.replicas, 1);
	assert_string_equal(u.tls_name, "r.example");
}

static void test_rule_codec(void **state)
{
	char out[256], full[300];
	struct detour_fleet_rule r;
	int n;

	(void)state;
	n = detour_fleet_rule_tail(out, sizeof(out), 1700000000, 0, "ops", "/a /b 301");
	assert_int_equal(n, (int)strlen("1700000000\n0\nops\n/a /b 301"));
	snprintf(full, sizeof(full), "42\n%s", out);
	assert_int_equal(detour_fleet_rule_decode(full, strlen(full), &r), DETOUR_OK);
	assert_int_equal(r.n, 42);
	assert_int_equal(r.created, 1700000000);
	assert_int_equal(r.expires, 0);
	assert_int_equal(r.who_len, 3);
	assert_memory_equal(r.who, "ops", 3);
	assert_int_equal(r.line_len, 9);
	assert_memory_equal(r.line, "/a /b 301", 9);
	/* a tab in the line is kept; a newline cannot be encoded */
	assert_true(detour_fleet_rule_tail(out, sizeof(out), 1, 2, "w", "/a\t/b") > 0);
	assert_int_equal(detour_fleet_rule_tail(out, sizeof(out), 1, 2, "w", "/a\n/b"), -1);
	assert_int_equal(detour_fleet_rule_tail(out, sizeof(out), 1, 2, "w\n", "/a"), -1);
	assert_int_equal(detour_fleet_rule_tail(out, 8, 1, 2, "w", "/a /b 301"), -1);
	static const char *const bad[] = {"",        "1\n2\n3\nw\n",    "x\n2\n3\nw\n/a",
	                                  "1\n2\n3", "1\n2\n-3\nw\n/a", "1\n2\n3\nw\n/a\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(detour_fleet_rule_decode(bad[i], strlen(bad[i]), &r),
		                 DETOUR_EINVAL);
}

static void test_maint_codec(void **state)
{
	struct detour_fleet_maint m = {.on = true,
	                               .status = 307,
	                               .since = 100,
	                               .until = 200,
	                               .who = "ops",
	                               .who_len = 3,
	                               .target = "/down.html",
	                               .target_len = 10,
	                               .allow = "/status\n@ip 10.0.0.0/8\n",
	                               .allow_len = 23},
	                          d;
	char out[256];

	(void)state;
	int n = detour_fleet_maint_encode(out, sizeof(out), &m);
	assert_true(n > 0);
	assert_string_equal(out, "1\n307\n100\n200\nops\n/down.html\n/status\n@ip 10.0.0.0/8\n");
	assert_int_equal(detour_fleet_maint_decode(out, (size_t)n, &d), DETOUR_OK);
	assert_true(d.on);
	assert_int_equal(d.status, 307);
	assert_int_equal(d.since, 100);
	assert_int_equal(d.until, 200);
	assert_int_equal(d.target_len, 10);
	assert_memory_equal(d.target, "/down.html", 10);
	assert_int_equal(d.allow_len, 23);
	assert_memory_equal(d.allow, m.allow, 23);
	assert_int_equal(detour_fleet_maint_decode("2\n307\n1\n2\nw\n-\n", 16, &d), DETOUR_EINVAL);
	assert_int_equal(detour_fleet_maint_decode("0\n307\n1\n2\nw", 11, &d), DETOUR_EINVAL);
	assert_int_equal(detour_fleet_maint_decode("0\n307\n1\n2\nw\n-\na\0b", 17, &d),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_fleet_int("123", 3), 123);
	assert_int_equal(detour_fleet_int("", 0), -1);
	assert_int_equal(detour_fleet_int("1-", 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_redis_url),   cmocka_unit_test(test_sentinel_url),
	        cmocka_unit_test(test_bad_urls),    cmocka_unit_test(test_rule_codec),
	        cmocka_unit_test(test_maint_codec), cmocka_unit_test(test_rediss_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
