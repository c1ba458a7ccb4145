/* Unit tests for lib/cookie.c: Set-Cookie parsing and storage (RFC 6265bis
 * §5.6, §5.7), the Cookie header (§5.8.3), SameSite contexts, dates. */
#include <stdio.h>

#include "unit.h"

#include "detour/cookie.h"

static const struct detour_cookie_url HTTP_A = {"a.example.com", 13, "/dir/page", 9, false};
static const struct detour_cookie_url HTTPS_A = {"a.example.com", 13, "/dir/page", 9, true};

struct scase {
	const char *set;
	const struct detour_cookie_url *from;
	detour_err err;
	/* the Cookie header then sent to to, in context ctx */
	struct detour_cookie_url to;
	enum detour_samesite_ctx ctx;
	const char *want;
};

static const struct scase cases[] = {
        {"a=1", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir/x", 6, false}, 0, "a=1"},
        /* default path is the directory of the request path */
        {"a=1", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/other", 6, false}, 0, ""},
        {"a=1; Path=/", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/other", 6, false}, 0, "a=1"},
        {"a=1; Path=rel", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir", 4, false}, 0, "a=1"},
        {"a=1; Path=/dirx", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir", 4, false}, 0, ""},
        /* host-only vs Domain */
        {"a=1; Path=/", &HTTP_A, DETOUR_OK, {"b.a.example.com", 15, "/", 1, false}, 0, ""},
        {"a=1; Path=/; Domain=.Example.com",
         &HTTP_A,
         DETOUR_OK,
         {"b.example.com", 13, "/", 1, false},
         0,
         "a=1"},
        {"a=1; Domain=other.com",
         &HTTP_A,
         DETOUR_EINVAL,
         {"a.example.com", 13, "/", 1, false},
         0,
         ""},
        {"a=1; Domain=com", &HTTP_A, DETOUR_EINVAL, {"a.example.com", 13, "/", 1, false}, 0, ""},
        {"a=1; Domain=; Path=/",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/", 1, false},
         0,
         "a=1"},
        /* Secure */
        {"a=1; Secure", &HTTP_A, DETOUR_EINVAL, {"a.example.com", 13, "/dir/", 5, true}, 0, ""},
        {"a=1; Secure", &HTTPS_A, DETOUR_OK, {"a.example.com", 13, "/dir/", 5, false}, 0, ""},
        {"a=1; Secure", &HTTPS_A, DETOUR_OK, {"a.example.com", 13, "/dir/", 5, true}, 0, "a=1"},
        /* prefixes */
        {"__Secure-a=1", &HTTPS_A, DETOUR_EINVAL, {"a.example.com", 13, "/", 1, true}, 0, ""},
        {"__Host-a=1; Secure; Path=/",
         &HTTPS_A,
         DETOUR_OK,
         {"a.example.com", 13, "/", 1, true},
         0,
         "__Host-a=1"},
        {"__host-a=1; Secure; Path=/; Domain=example.com",
         &HTTPS_A,
         DETOUR_EINVAL,
         {"a.example.com", 13, "/", 1, true},
         0,
         ""},
        /* SameSite */
        {"a=1; SameSite=None",
         &HTTPS_A,
         DETOUR_EINVAL,
         {"a.example.com", 13, "/dir/", 5, true},
         0,
         ""},
        {"a=1; SameSite=None; Secure",
         &HTTPS_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, true},
         DETOUR_CTX_CROSS_UNSAFE,
         "a=1"},
        {"a=1; SameSite=Strict",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, false},
         DETOUR_CTX_CROSS_LAX,
         ""},
        {"a=1; SameSite=Lax",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, false},
         DETOUR_CTX_CROSS_LAX,
         "a=1"},
        {"a=1; SameSite=Lax",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, false},
         DETOUR_CTX_CROSS_UNSAFE,
         ""},
        /* Lax by default, with Lax-allowing-unsafe for a fresh cookie */
        {"a=1; SameSite=bogus",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, false},
         DETOUR_CTX_CROSS_UNSAFE,
         "a=1"},
        /* expiry */
        {"a=1; Max-Age=0", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir/", 5, false}, 0, ""},
        {"a=1; Max-Age=-5", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir/", 5, false}, 0, ""},
        {"a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, false},
         0,
         ""},
        {"a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=60",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/dir/", 5, false},
         0,
         "a=1"},
        {"a=1; Max-Age=1x", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir/", 5, false}, 0, "a=1"},
        /* names and values */
        {"  spaced  =  v w  ; Path=/",
         &HTTP_A,
         DETOUR_OK,
         {"a.example.com", 13, "/", 1, false},
         0,
         "spaced=v w"},
        {"novalue", &HTTP_A, DETOUR_OK, {"a.example.com", 13, "/dir/", 5, false}, 0, "novalue"},
        {"=", &HTTP_A, DETOUR_EINVAL, {"a.example.com", 13, "/dir/", 5, false}, 0, ""},
        {"a=1\x01", &HTTP_A, DETOUR_EINVAL, {"a.example.com", 13, "/dir/", 5, false}, 0, ""},
        /* IP hosts: Domain must be the host itself */
        {"a=1; Domain=0.0.1",
         &(struct detour_cookie_url){"10.0.0.1", 8, "/", 1, false},
         DETOUR_EINVAL,
         {"10.0.0.1", 8, "/", 1, false},
         0,
         ""},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scase *c = &cases[i];
		struct detour_cookie_jar *j = detour_cookie_jar_new();
		struct guard g;
		char *v = guard_copy(&g, c->set, strlen(c->set));
		const char *why = NULL;
		detour_err err = detour_cookie_set(j, c->from, v, strlen(c->set), 1700000000, &why);
		guard_free(&g);
		char out[256];
		ssize_t n = detour_cookie_header(j, &c->to, c->ctx, 1700000010, out, sizeof(out));
		if (err != c->err || n < 0 || strcmp(out, c->want) || (err && !why)) {
			fprintf(stderr, "case %zu '%s': err %d why %s got '%s' want '%s'\n", i,
			        c->set, err, why ? why : "-", n < 0 ? "(-1)" : out, c->want);
			fail();
		}
		detour_cookie_jar_free(j);
	}
}

static void test_order_replace_and_lax_window(void **state)
{
	(void)state;
	struct detour_cookie_jar *j = detour_cookie_jar_new();
	struct detour_cookie_url u = {"h.test", 6, "/a/b/c", 6, false};
	const char *sets[] = {"x=1; Path=/", "y=2; Path=/a/b", "z=3; Path=/a", "x=9; Path=/",
	                      "w=4; Path=/a"};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(
		        detour_cookie_set(j, &u, sets[i], strlen(sets[i]), 100 + (time_t)i, NULL),
		        DETOUR_OK);
	assert_int_equal(detour_cookie_count(j), 4);
	char out[128];
	/* longer paths first; same length: earlier creation (x keeps its
	 * place on replacement) */
	assert_int_equal(detour_cookie_header(j, &u, DETOUR_CTX_SAME_SITE, 110, out, sizeof(out)),
	                 18);
	assert_string_equal(out, "y=2; z=3; w=4; x=9");
	/* Lax-allowing-unsafe lasts 120 s */
	assert_int_equal(
	        detour_cookie_header(j, &u, DETOUR_CTX_CROSS_UNSAFE, 300, out, sizeof(out)), 0);
	assert_int_equal(detour_cookie_header(j, &u, DETOUR_CTX_SAME_SITE, 110, out, 5), -1);
	/* deletion by an expired replacement */
	assert_int_equal(detour_cookie_set(j, &u, "y=; Path=/a/b; Max-Age=0", 24, 111, NULL),
	                 DETOUR_OK);
	assert_int_equal(detour_cookie_count(j), 3);
	/* an insecure origin cannot overwrite a Secure cookie */
	struct detour_cookie_url s = {"h.test", 6, "/", 1, true};
	assert_int_equal(detour_cookie_set(j, &s, "sec=1; Secure; Path=/", 21, 112, NULL),
	                 DETOUR_OK);
	const char *why;
	assert_int_equal(detour_cookie_set(j, &u, "sec=2; Path=/", 13, 113, &why), DETOUR_EINVAL);
	struct detour_slice nm = detour_cookie_name(" sid = 1; Path=/", 16);
	assert_int_equal(nm.len, 3);
	assert_memory_equal(nm.p, "sid", 3);
	detour_cookie_jar_free(j);
	detour_cookie_jar_free(NULL);
}

static void test_dates(void **state)
{
	(void)state;
	struct {
		const char *s;
		bool ok;
		time_t t;
	} d[] = {
	        {"Sun, 06 Nov 1994 08:49:37 GMT", true, 784111777},
	        {"Sunday, 06-Nov-94 08:49:37 GMT", true, 784111777},
	        {"Sun Nov  6 08:49:37 1994", true, 784111777},
	        {"06 nov 1994 8:49:37", true, 784111777},
	        {"Thu, 01 Jan 1970 00:00:00 GMT", true, 0},
	        {"Fri, 31 Dec 2060 23:59:59 GMT", true, 2871763199},
	        {"Sun, 06 Nov 1994", false, 0},
	        {"32 Nov 1994 08:49:37", false, 0},
	        {"06 Nov 1600 08:49:37", false, 0},
	        {"06 Nov 1994 24:00:00", false, 0},
	        {"", false, 0},
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		time_t t = -1;
		bool ok = detour_cookie_parse_date(d[i].s, strlen(d[i].s), &t);
		if (ok != d[i].ok || (ok && t != d[i].t)) {
			fprintf(stderr, "date %zu '%s': %d %lld\n", i, d[i].s, ok, (long long)t);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cases),
	        cmocka_unit_test(test_order_replace_and_lax_window),
	        cmocka_unit_test(test_dates),
	};
	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
