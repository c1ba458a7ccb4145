/* Unit tests for lib/origin.c: schemeful same site, potentially
 * trustworthy URLs (W3C Secure Contexts §3.2) and Referrer-Policy tokens. */
#include "unit.h"

#include "detour/origin.h"

static void test_origin(void **state)
{
	(void)state;
	assert_true(detour_origin_same_site("https://a.x.test/", 17, "https://b.x.test/", 17));
	assert_false(detour_origin_same_site("http://x.test/", 14, "https://x.test/", 15));
	assert_false(detour_origin_same_site("http://1.2.3.4/", 15, "http://5.2.3.4/", 15));
	assert_true(detour_origin_trustworthy("http://a.localhost/", 19));
	assert_true(detour_origin_trustworthy("http://127.0.0.1:5/", 19));
	assert_true(detour_origin_trustworthy("http://[::1]/", 13));
	assert_false(detour_origin_trustworthy("http://127.example/", 19));
	assert_int_equal(detour_rp_parse("no-referrer, x", 14), DETOUR_RP_NO_REFERRER);
	assert_int_equal(detour_rp_parse("", 0), DETOUR_RP_UNSET);
	assert_string_equal(detour_rp_name(DETOUR_RP_STRICT_ORIGIN), "strict-origin");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_origin),
	};
	return cmocka_run_group_tests_name("origin", tests, NULL, NULL);
}
