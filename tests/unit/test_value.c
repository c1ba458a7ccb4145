/* Unit tests for lib/base/value.c: durations, sizes and Retry-After values,
 * exact results and refusals (units, bounds, overflow). */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "base/value.h"

static int64_t dur(const char *s)
{
	return value_duration(s, strlen(s));
}

static int64_t size(const char *s)
{
	return value_size(s, strlen(s));
}

static bool ra(const char *s)
{
	return value_retry_after(s, strlen(s));
}

static void test_duration(void **state)
{
	assert_int_equal(dur("0"), 0);
	assert_int_equal(dur("30"), 30);
	assert_int_equal(dur("30s"), 30);
	assert_int_equal(dur("10m"), 600);
	assert_int_equal(dur("1h"), 3600);
	assert_int_equal(dur("7d"), 604800);
	assert_int_equal(dur("2w"), 1209600);
	assert_int_equal(dur("0005m"), 300);
	assert_int_equal(dur("315360000"), 315360000); /* ten years exactly */
	assert_int_equal(dur("3650d"), 315360000);
	assert_int_equal(dur("1y"), 365 * 86400); /* HSTS's max-age=1y */
	assert_int_equal(dur("10y"), 315360000);
	assert_int_equal(dur("11y"), -1);
	assert_int_equal(dur("315360001"), -1);
	assert_int_equal(dur("3651d"), -1);
	assert_int_equal(dur("99999999999999999999999"), -1); /* no overflow */
	static const char *const bad[] = {"",   "s",  "1Y", "1M",  "1H",  "1.5h", "-1",
	                                  "+1", " 1", "1 ", "1hh", "1h1", "1ms",  "h1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dur(bad[i]) != -1)
			fail_msg("duration \"%s\" accepted", bad[i]);
	assert_int_equal(value_duration("12h", 2), 12); /* the length counts */
}

static void test_size(void **state)
{
	assert_int_equal(size("0"), 0);
	assert_int_equal(size("512"), 512);
	assert_int_equal(size("8k"), 8192);
	assert_int_equal(size("32K"), 32768);
	assert_int_equal(size("1m"), 1048576);
	assert_int_equal(size("1M"), 1048576);
	assert_int_equal(size("1g"), 1073741824);
	assert_int_equal(size("1G"), 1073741824);
	assert_int_equal(size("999999999999"), 999999999999);
	assert_int_equal(size("8589934591g"), INT64_C(8589934591) * 1073741824); /* the largest */
	assert_int_equal(size("8589934592g"), -1); /* 2^63: over INT64_MAX */
	assert_int_equal(size("999999999999g"), -1);
	static const char *const bad[] = {"",   "k",  "1kb",           "1t", "1.5k", "-1",
	                                  " 1", "1 ", "1000000000000", "k1", "1kk"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (size(bad[i]) != -1)
			fail_msg("size \"%s\" accepted", bad[i]);
}

static void test_retry_after(void **state)
{
	assert_true(ra("0"));
	assert_true(ra("120"));
	assert_true(ra("9999999999"));
	assert_false(ra("10000000000")); /* 11 digits */
	assert_false(ra(""));
	assert_false(ra("-1"));
	assert_false(ra("1s"));
	assert_false(ra("1.5"));
	assert_true(ra("Sun, 06 Nov 1994 08:49:37 GMT"));
	assert_true(ra("Wed, 01 Dec 2027 00:00:60 GMT"));
	assert_false(ra("Sun, 06 Nov 1994 08:49:37 UTC"));
	assert_false(ra("Sunday, 06-Nov-94 08:49:37 GMT"));
	assert_false(ra("Sun, 6 Nov 1994 08:49:37 GMT"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_duration),
	        cmocka_unit_test(test_size),
	        cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
