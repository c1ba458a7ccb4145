/* Unit tests for lib/finding.c: stable codes and the cache analysis of
 * redirect responses (RFC 9111 §4.2 for a private cache, Chromium's
 * heuristics). */
#include <stdio.h>

#include "unit.h"

#include "detour/finding.h"
#include "detour/respond.h"

#define H(n, v)                                                                                    \
	{                                                                                          \
		n, sizeof(n) - 1, v, sizeof(v) - 1                                                 \
	}

static void test_codes(void **state)
{
	(void)state;
	static const char *const want[DETOUR_F_COUNT] = {"loop",
	                                                 "too-many-redirects",
	                                                 "chain",
	                                                 "mixed-permanence",
	                                                 "post-to-get",
	                                                 "https-downgrade",
	                                                 "temporary-cacheable",
	                                                 "permanent-no-lifetime",
	                                                 "location-missing",
	                                                 "location-empty",
	                                                 "location-relative",
	                                                 "location-multiple",
	                                                 "location-invalid",
	                                                 "location-chars",
	                                                 "location-scheme",
	                                                 "location-userinfo",
	                                                 "redirect-to-error",
	                                                 "final-status",
	                                                 "hsts-over-http",
	                                                 "hsts-invalid",
	                                                 "network-error",
	                                                 "refresh",
	                                                 "refresh-self",
	                                                 "3xx-not-followed",
	                                                 "curl-differs",
	                                                 "browser-differs",
	                                                 "cookie-rejected",
	                                                 "expect-status",
	                                                 "expect-location",
	                                                 "rule-mismatch",
	                                                 "cert-expiring",
	                                                 "cert-name-mismatch",
	                                                 "cert-unverified",
	                                                 "input-invalid"};
	for (int i = 0; i < DETOUR_F_COUNT; i++) {
		assert_string_equal(detour_finding_code((enum detour_finding)i), want[i]);
		assert_true(strlen(detour_finding_help((enum detour_finding)i)) > 10);
	}
	assert_string_equal(detour_finding_code(DETOUR_F_COUNT), "unknown");
	assert_int_equal(detour_finding_severity(DETOUR_F_LOOP), DETOUR_SEV_ERROR);
	assert_int_equal(detour_finding_severity(DETOUR_F_CHAIN), DETOUR_SEV_WARNING);
	assert_int_equal(detour_finding_severity(DETOUR_F_RELATIVE_LOCATION), DETOUR_SEV_INFO);
	assert_int_equal(detour_finding_severity(DETOUR_F_CERT_EXPIRING), DETOUR_SEV_WARNING);
	assert_int_equal(detour_finding_severity(DETOUR_F_CERT_NAME), DETOUR_SEV_ERROR);
	assert_int_equal(detour_finding_severity(DETOUR_F_CERT_UNVERIFIED), DETOUR_SEV_ERROR);
	assert_string_equal(detour_severity_name(DETOUR_SEV_WARNING), "warning");
	assert_string_equal(detour_reason(308), "Permanent Redirect");
	assert_string_equal(detour_reason(299), "");
}

struct ccase {
	int status;
	struct detour_header h[3];
	size_t n;
	enum detour_cache_kind kind;
	int64_t life;
	const char *text;
};

static const struct ccase cc[] = {
        {301,
         {{0}},
         0,
         DETOUR_CACHE_HEURISTIC,
         0,
         "cached heuristically: no Cache-Control or Expires, Chromium keeps a 301 without limit"},
        {308,
         {H("Cache-Control", "max-age=3600")},
         1,
         DETOUR_CACHE_EXPLICIT,
         3600,
         "cached for 1h (max-age)"},
        {302, {{0}}, 0, DETOUR_CACHE_NOT_CACHED, 0, "not cached (302 without explicit freshness)"},
        {307,
         {H("Cache-Control", "public, max-age=86400, s-maxage=5")},
         1,
         DETOUR_CACHE_EXPLICIT,
         86400,
         "cached for 1d (max-age)"},
        {301,
         {H("Cache-Control", "no-store, max-age=60")},
         1,
         DETOUR_CACHE_NOT_STORED,
         0,
         "not stored (no-store)"},
        {301,
         {H("Cache-Control", "no-cache")},
         1,
         DETOUR_CACHE_REVALIDATE,
         0,
         "stored, revalidated on every use (no-cache)"},
        {301,
         {H("Cache-Control", "max-age=0")},
         1,
         DETOUR_CACHE_REVALIDATE,
         0,
         "stored, revalidated on every use (lifetime 0)"},
        {302,
         {H("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
          H("Expires", "Sun, 06 Nov 1994 08:50:07 GMT")},
         2,
         DETOUR_CACHE_EXPLICIT,
         30,
         "cached for 30s (Expires)"},
        {302,
         {H("Expires", "0")},
         1,
         DETOUR_CACHE_REVALIDATE,
         0,
         "stored, revalidated on every use (lifetime 0)"},
        {301,
         {H("cache-control", "max-age=\"120\"")},
         1,
         DETOUR_CACHE_EXPLICIT,
         120,
         "cached for 2m (max-age)"},
        {301,
         {H("Cache-Control", "max-age=abc")},
         1,
         DETOUR_CACHE_REVALIDATE,
         0,
         "stored, revalidated on every use (lifetime 0)"},
};

static void test_cache(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cc) / sizeof(cc[0]); i++) {
		struct detour_cache_info ci;
		detour_cache_analyse(cc[i].status, cc[i].h, cc[i].n, 784111777, &ci);
		if (ci.kind != cc[i].kind || ci.lifetime != cc[i].life ||
		    strcmp(ci.text, cc[i].text)) {
			fprintf(stderr, "case %zu: kind %d life %lld '%s'\n", i, ci.kind,
			        (long long)ci.lifetime, ci.text);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_codes),
	        cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests_name("finding", tests, NULL, NULL);
}
