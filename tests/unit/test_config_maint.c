/* detour: the maintenance and health-check directives of detour.conf and
 * their Retry-After values (lib/config.c), exact (with the file name
 * "t.conf"). */
#include <stdio.h>
#include <stdlib.h>

#include "base/value.h"
#include "config_test.h"

static void test_maintenance(void **state)
{
	/* Defaults: no directive. */
	parse_ok("workers 1\n");
	assert_int_equal(conf.maint.line, 0);
	assert_false(conf.maint.on);
	assert_int_equal(conf.health.interval_ms, 5000);
	assert_int_equal(conf.health.timeout_ms, 2000);
	assert_int_equal(conf.health.rise, 2);
	assert_int_equal(conf.health.fall, 3);

	/* Just a target: on, 307, no Retry-After, nothing allowed. */
	parse_ok("\nmaintenance https://status.example.com/\n");
	assert_int_equal(conf.maint.line, 2);
	assert_true(conf.maint.on);
	assert_string_equal(conf.maint.target, "https://status.example.com/");
	assert_int_equal(conf.maint.status, 307);
	assert_string_equal(conf.maint.retry_after, "");
	assert_int_equal(conf.maint.nallow_ip, 0);
	assert_string_equal(conf.maint.allow_path, "");
	assert_string_equal(conf.maint.file, "");

	/* Everything. */
	parse_ok("maintenance /down.html status=302 retry-after=120 "
	         "allow-ip=10.0.0.0/8,192.0.2.7,2001:db8::/32 allow-path=/health,/api/*,/u/:id "
	         "file=maint.flag\n");
	assert_false(conf.maint.on); /* file= without on: the file decides */
	assert_string_equal(conf.maint.target, "/down.html");
	assert_int_equal(conf.maint.status, 302);
	assert_string_equal(conf.maint.retry_after, "120");
	assert_int_equal(conf.maint.nallow_ip, 3);
	assert_int_equal(conf.maint.allow_ip[0].family, 4);
	assert_int_equal(conf.maint.allow_ip[0].prefix, 8);
	assert_int_equal(conf.maint.allow_ip[1].prefix, 32);
	assert_int_equal(conf.maint.allow_ip[2].family, 6);
	assert_int_equal(conf.maint.allow_ip[2].prefix, 32);
	assert_string_equal(conf.maint.allow_path, "/health\n/api/*\n/u/:id\n");
	assert_string_equal(conf.maint.file, "/etc/detour/maint.flag");

	parse_ok("maintenance /m retry-after=2026-11-23T04:00:00Z status=303\n");
	assert_string_equal(conf.maint.retry_after, "Mon, 23 Nov 2026 04:00:00 GMT");
	assert_int_equal(conf.maint.status, 303);
	parse_ok("maintenance /m file=/run/m on allow-ip=::1 allow-ip=127.0.0.1\n");
	assert_true(conf.maint.on);
	assert_int_equal(conf.maint.status, 307);
	assert_string_equal(conf.maint.file, "/run/m");
	assert_int_equal(conf.maint.nallow_ip, 2);
	parse_ok("maintenance /m off\n");
	assert_false(conf.maint.on);
	assert_string_equal(conf.maint.page, "");

	/* '-': 503 with a page (built in without page=), status=503 optional. */
	parse_ok("maintenance - retry-after=600\n");
	assert_string_equal(conf.maint.target, "-");
	assert_int_equal(conf.maint.status, 503);
	assert_string_equal(conf.maint.retry_after, "600");
	assert_string_equal(conf.maint.page, "");
	assert_true(conf.maint.on);
	parse_ok("maintenance - status=503 page=down.html allow-path=/health off\n");
	assert_int_equal(conf.maint.status, 503);
	assert_string_equal(conf.maint.page, "/etc/detour/down.html");
	assert_string_equal(conf.maint.allow_path, "/health\n");
	assert_false(conf.maint.on);
	/* A redirect to a page on this server that detour serves. */
	parse_ok("maintenance /maintenance.html status=302 page=/srv/m.html\n");
	assert_string_equal(conf.maint.target, "/maintenance.html");
	assert_int_equal(conf.maint.status, 302);
	assert_string_equal(conf.maint.page, "/srv/m.html");

	/* A bad allow-path source: the rule language's own message, located at the
	 * source (its wording belongs to lib/rulefile.c). */
	char err[512];
	assert_int_equal(parse_named(&conf, "t.conf", "maintenance /m allow-path=/ok,ok\n", err,
	                             sizeof(err)),
	                 DETOUR_EINVAL);
	static const char pre[] = "t.conf:1:31: allow-path source \"ok\": ";
	assert_memory_equal(err, pre, sizeof(pre) - 1);
	assert_true(strlen(err) > sizeof(pre) + 10);

	parse_ok("health-check interval=500ms timeout=200ms rise=1 fall=5\n");
	assert_int_equal(conf.health.interval_ms, 500);
	assert_int_equal(conf.health.timeout_ms, 200);
	assert_int_equal(conf.health.rise, 1);
	assert_int_equal(conf.health.fall, 5);
	parse_ok("health-check interval=1m\n");
	assert_int_equal(conf.health.interval_ms, 60000);
	assert_int_equal(conf.health.timeout_ms, 2000);
}

static void test_retry_after(void **state)
{
	static const struct {
		const char *v;
		bool ok;
	} cases[] = {
	        {"0", true},
	        {"120", true},
	        {"9999999999", true},
	        {"99999999999", false},
	        {"", false},
	        {"-1", false},
	        {"12a", false},
	        {"Sun, 06 Nov 1994 08:49:37 GMT", true},
	        {"Wed, 21 Oct 2026 23:59:60 GMT", true},
	        {"Sun, 06 Nov 1994 08:49:37 UTC", false},
	        {"Sun, 6 Nov 1994 08:49:37 GMT", false},
	        {"Sunday, 06-Nov-94 08:49:37 GMT", false}, /* RFC 850: recipients only */
	        {"Sun, 06 Now 1994 08:49:37 GMT", false},
	        {"Sux, 06 Nov 1994 08:49:37 GMT", false},
	        {"Sun, 32 Nov 1994 08:49:37 GMT", false},
	        {"Sun, 06 Nov 1994 24:49:37 GMT", false},
	        {"Sun, 06 Nov 1994 08:49:37 GMTx", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (value_retry_after(cases[i].v, strlen(cases[i].v)) != cases[i].ok)
			fail_msg("\"%s\": expected %s", cases[i].v,
			         cases[i].ok ? "valid" : "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_maintenance),
	        cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
