/* Unit tests for lib/site.c (public suffix list) and its use by origin.c
 * (same site) and cookie.c (Domain attributes). */
#include <stdio.h>
#include <time.h>

#include "unit.h"

#include "detour/cookie.h"
#include "detour/origin.h"
#include "detour/site.h"

static void site_is(const char *host, const char *want)
{
	struct detour_slice s = detour_site_of(host, strlen(host));
	char got[300];
	snprintf(got, sizeof(got), "%.*s", (int)s.len, s.p);
	assert_string_equal(got, want);
}

static void test_site_of(void **state)
{
	(void)state;
	site_is("www.example.com", "example.com");
	site_is("a.b.example.co.uk", "example.co.uk"); /* not "co.uk" */
	site_is("user.github.io", "user.github.io");   /* a private suffix */
	site_is("example.com.", "example.com");
	site_is("127.0.0.1", "127.0.0.1");
	site_is("[::1]", "[::1]");
	site_is("localhost", "localhost");
	site_is("co.uk", "co.uk");
	site_is("www.xn--bcher-kva.example", "xn--bcher-kva.example");
}

static void test_public_suffix(void **state)
{
	(void)state;
	assert_true(detour_site_is_public_suffix("com", 3));
	assert_true(detour_site_is_public_suffix("co.uk", 5));
	assert_true(detour_site_is_public_suffix("github.io", 9));
	assert_false(detour_site_is_public_suffix("example.co.uk", 13));
	assert_false(detour_site_is_public_suffix("10.0.0.1", 8));
}

static void test_same_site(void **state)
{
	(void)state;
	const char *a = "https://a.example.co.uk/", *b = "https://b.example.co.uk/x",
	           *c = "https://other.co.uk/", *d = "https://alice.github.io/",
	           *e = "https://bob.github.io/";
	assert_true(detour_origin_same_site(a, strlen(a), b, strlen(b)));
	/* The last two labels would call these one site. */
	assert_false(detour_origin_same_site(a, strlen(a), c, strlen(c)));
	assert_false(detour_origin_same_site(d, strlen(d), e, strlen(e)));
}

static void test_cookie_domain(void **state)
{
	(void)state;
	struct detour_cookie_jar *jar = detour_cookie_jar_new();
	struct detour_cookie_url u = {.host = "www.example.co.uk",
	                              .host_len = 17,
	                              .path = "/",
	                              .path_len = 1,
	                              .secure = true};
	const char *why = NULL;
	const char *sc = "a=1; Domain=co.uk";
	assert_int_not_equal(detour_cookie_set(jar, &u, sc, strlen(sc), time(NULL), &why),
	                     DETOUR_OK);
	sc = "b=2; Domain=example.co.uk";
	assert_int_equal(detour_cookie_set(jar, &u, sc, strlen(sc), time(NULL), &why), DETOUR_OK);
	detour_cookie_jar_free(jar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_site_of),
	        cmocka_unit_test(test_public_suffix),
	        cmocka_unit_test(test_same_site),
	        cmocka_unit_test(test_cookie_domain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
