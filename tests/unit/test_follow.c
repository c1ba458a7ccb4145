/* Unit tests for lib/follow.c and lib/follow_hdr.c (detour/follow.h;
 * Location resolution is in test_location.c): the next request after each
 * status and method (Fetch HTTP-redirect fetch, RFC 9110 §15.4),
 * Authorization, Origin, Referer, Sec-Fetch-Site, HSTS upgrades, refresh
 * navigations, and curl's behaviour. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/follow.h"
#include "detour/follow_hdr.h"

#define H(n, v)                                                                                    \
	{                                                                                          \
		n, sizeof(n) - 1, v, sizeof(v) - 1                                                 \
	}

/* One status x method case of the next request (Fetch step 12). */
struct mcase {
	enum detour_as as;
	int status;
	const char *method;
	bool body;
	bool custom;
	enum detour_step step;
	const char *want_method;
	bool want_body;
};

static const struct mcase mcases[] = {
        {DETOUR_AS_BROWSER, 301, "POST", true, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_BROWSER, 302, "POST", true, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_BROWSER, 303, "POST", true, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_BROWSER, 307, "POST", true, false, DETOUR_STEP_FOLLOW, "POST", true},
        {DETOUR_AS_BROWSER, 308, "POST", true, false, DETOUR_STEP_FOLLOW, "POST", true},
        {DETOUR_AS_BROWSER, 301, "PUT", true, false, DETOUR_STEP_FOLLOW, "PUT", true},
        {DETOUR_AS_BROWSER, 302, "DELETE", false, false, DETOUR_STEP_FOLLOW, "DELETE", false},
        {DETOUR_AS_BROWSER, 303, "PUT", true, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_BROWSER, 303, "DELETE", false, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_BROWSER, 303, "HEAD", false, false, DETOUR_STEP_FOLLOW, "HEAD", false},
        {DETOUR_AS_BROWSER, 303, "GET", false, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_BROWSER, 301, "HEAD", false, false, DETOUR_STEP_FOLLOW, "HEAD", false},
        {DETOUR_AS_BROWSER, 307, "PATCH", true, false, DETOUR_STEP_FOLLOW, "PATCH", true},
        {DETOUR_AS_BROWSER, 300, "GET", false, false, DETOUR_STEP_DONE, "GET", false},
        {DETOUR_AS_BROWSER, 304, "GET", false, false, DETOUR_STEP_DONE, "GET", false},
        {DETOUR_AS_BROWSER, 305, "GET", false, false, DETOUR_STEP_DONE, "GET", false},
        {DETOUR_AS_BROWSER, 200, "GET", false, false, DETOUR_STEP_DONE, "GET", false},
        /* curl 7.88 */
        {DETOUR_AS_CURL, 301, "POST", true, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_CURL, 301, "POST", true, true, DETOUR_STEP_FOLLOW, "POST", false},
        {DETOUR_AS_CURL, 302, "POST", true, true, DETOUR_STEP_FOLLOW, "POST", false},
        {DETOUR_AS_CURL, 303, "POST", true, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_CURL, 303, "PUT", true, true, DETOUR_STEP_FOLLOW, "PUT", false},
        {DETOUR_AS_CURL, 303, "DELETE", false, true, DETOUR_STEP_FOLLOW, "DELETE", false},
        {DETOUR_AS_CURL, 307, "POST", true, false, DETOUR_STEP_FOLLOW, "POST", true},
        {DETOUR_AS_CURL, 308, "PUT", true, true, DETOUR_STEP_FOLLOW, "PUT", true},
        {DETOUR_AS_CURL, 300, "GET", false, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_CURL, 304, "GET", false, false, DETOUR_STEP_FOLLOW, "GET", false},
        {DETOUR_AS_CURL, 200, "GET", false, false, DETOUR_STEP_DONE, "GET", false},
};

static void test_methods(void **state)
{
	(void)state;
	static const struct detour_header user[] = {
	        H("Content-Type", "application/json"),
	        H("Content-Language", "en"),
	        H("X-Keep", "1"),
	};
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *c = &mcases[i];
		struct detour_follow_req *r = malloc(sizeof(*r));
		struct detour_follow_opts o = {.as = c->as,
		                               .method = c->method,
		                               .body = c->body,
		                               .curl_custom = c->custom,
		                               .headers = user,
		                               .nheaders = 3};
		assert_int_equal(detour_follow_start(r, &o, "http://a.test/x", 15, NULL),
		                 DETOUR_OK);
		struct detour_header rh[] = {H("Location", "/y")};
		struct detour_follow_resp resp = {c->status, rh, 1};
		struct detour_follow_step st;
		detour_follow_next(r, &resp, &st);
		if (st.step != c->step || strcmp(r->method, c->want_method) ||
		    r->body != c->want_body) {
			fprintf(stderr, "case %zu: %d %s: step %d method %s body %d\n", i,
			        c->status, c->method, st.step, r->method, r->body);
			fail();
		}
		if (st.step == DETOUR_STEP_FOLLOW) {
			assert_string_equal(r->url, "http://a.test/y");
			assert_int_equal(r->redirects, 1);
			/* request-body-header names go with the body (browser);
			 * curl keeps custom headers. */
			bool changed = strcmp(c->method, c->want_method) != 0 ||
			               (c->body && !c->want_body);
			bool ct_dropped = (r->dropped & 1) != 0;
			assert_int_equal(ct_dropped, c->as == DETOUR_AS_BROWSER && changed);
			assert_int_equal((r->dropped >> 2) & 1, 0);
		} else {
			assert_string_equal(r->url, "http://a.test/x");
			assert_int_equal(r->redirects, 0);
		}
		free(r);
	}
}

static struct detour_follow_req *start(enum detour_as as, const char *url, const char *method,
                                       bool body, const struct detour_header *h, size_t nh,
                                       const char *referrer)
{
	struct detour_follow_req *r = malloc(sizeof(*r));
	struct detour_follow_opts o = {.as = as,
	                               .method = method,
	                               .body = body,
	                               .headers = h,
	                               .nheaders = nh,
	                               .referrer = referrer};
	assert_int_equal(detour_follow_start(r, &o, url, strlen(url), NULL), DETOUR_OK);
	return r;
}

static struct detour_follow_step go(struct detour_follow_req *r, int status, const char *loc)
{
	struct detour_header rh[] = {{"Location", 8, loc, strlen(loc)}};
	struct detour_follow_resp resp = {status, rh, loc ? 1 : 0};
	struct detour_follow_step st;
	detour_follow_next(r, &resp, &st);
	return st;
}

/* The value of header name among the built lines, or NULL. */
static const char *hval(const char **lines, ssize_t n, const char *name)
{
	size_t nl = strlen(name);
	for (ssize_t i = 0; i < n; i++)
		if (!strncasecmp(lines[i], name, nl) && lines[i][nl] == ':')
			return lines[i] + nl + 2;
	return NULL;
}

static void test_stops(void **state)
{
	(void)state;
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "http://a.test/", NULL, false, NULL, 0, NULL);
	struct detour_follow_step st;
	/* A 3xx without Location is a response, not a redirect. */
	struct detour_follow_resp none = {302, NULL, 0};
	detour_follow_next(r, &none, &st);
	assert_int_equal(st.step, DETOUR_STEP_DONE);
	assert_int_equal(st.stop, DETOUR_STOP_NO_LOCATION);
	st = go(r, 302, "");
	assert_int_equal(st.step, DETOUR_STEP_DONE);
	assert_int_equal(st.stop, DETOUR_STOP_EMPTY_LOCATION);
	st = go(r, 302, "ftp://x/");
	assert_int_equal(st.step, DETOUR_STEP_FAIL);
	assert_int_equal(st.stop, DETOUR_STOP_SCHEME);
	st = go(r, 302, "http://a b/");
	assert_int_equal(st.step, DETOUR_STEP_FAIL);
	assert_int_equal(st.stop, DETOUR_STOP_BAD_LOCATION);
	/* Two identical Location fields: followed; two different: an error
	 * (Chromium); curl takes the first. An empty one is skipped. */
	struct detour_header same[] = {H("Location", "/s"), H("Location", "/s")};
	struct detour_follow_resp rs = {301, same, 2};
	detour_follow_next(r, &rs, &st);
	assert_int_equal(st.step, DETOUR_STEP_FOLLOW);
	assert_string_equal(r->url, "http://a.test/s");
	struct detour_header diff[] = {H("Location", "/d1"), H("Location", "/d2")};
	struct detour_follow_resp rd = {301, diff, 2};
	detour_follow_next(r, &rd, &st);
	assert_int_equal(st.step, DETOUR_STEP_FAIL);
	assert_int_equal(st.stop, DETOUR_STOP_MULTIPLE_LOCATION);
	struct detour_header empty_first[] = {H("Location", ""), H("Location", "/e")};
	struct detour_follow_resp re = {301, empty_first, 2};
	detour_follow_next(r, &re, &st);
	assert_int_equal(st.step, DETOUR_STEP_FAIL); /* they differ */
	free(r);
	r = start(DETOUR_AS_CURL, "http://a.test/", NULL, false, NULL, 0, NULL);
	detour_follow_next(r, &rd, &st);
	assert_int_equal(st.step, DETOUR_STEP_FOLLOW);
	assert_string_equal(r->url, "http://a.test/d1");
	detour_follow_next(r, &re, &st);
	assert_int_equal(st.step, DETOUR_STEP_FOLLOW);
	assert_string_equal(r->url, "http://a.test/e");
	free(r);
}

static void test_limit(void **state)
{
	(void)state;
	/* Fetch step 7: the 21st redirect is a network error. */
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "http://a.test/0", NULL, false, NULL, 0, NULL);
	for (int i = 1; i <= 20; i++) {
		char loc[16];
		snprintf(loc, sizeof(loc), "/%d", i);
		assert_int_equal(go(r, 302, loc).step, DETOUR_STEP_FOLLOW);
	}
	assert_int_equal(r->redirects, 20);
	struct detour_follow_step st = go(r, 302, "/21");
	assert_int_equal(st.step, DETOUR_STEP_FAIL);
	assert_int_equal(st.stop, DETOUR_STOP_TOO_MANY);
	assert_string_equal(r->url, "http://a.test/20");
	free(r);
	r = start(DETOUR_AS_CURL, "http://a.test/0", NULL, false, NULL, 0, NULL);
	for (int i = 1; i <= 50; i++)
		assert_int_equal(go(r, 301, "/x").step, DETOUR_STEP_FOLLOW);
	assert_int_equal(go(r, 301, "/x").stop, DETOUR_STOP_TOO_MANY);
	free(r);
}

static void test_authorization(void **state)
{
	(void)state;
	static const struct detour_header h[] = {H("Authorization", "Bearer t"), H("X-A", "1")};
	const char *lines[64];
	char buf[8192];
	/* Fetch step 13: removed once another origin is seen, for good. */
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "http://a.test/", NULL, false, h, 2, NULL);
	struct detour_follow_step st = go(r, 302, "/same");
	assert_false(st.auth_dropped);
	ssize_t n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Authorization"), "Bearer t");
	st = go(r, 302, "http://a.test:8080/port");
	assert_true(st.auth_dropped);
	assert_true(st.cross_origin);
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Authorization"));
	assert_string_equal(hval(lines, n, "X-A"), "1");
	go(r, 302, "http://a.test/back");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Authorization"));
	free(r);
	/* curl: only to the first origin, and again when back there. */
	r = start(DETOUR_AS_CURL, "http://a.test/", NULL, false, h, 2, NULL);
	go(r, 302, "https://a.test/");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Authorization"));
	go(r, 302, "http://a.test/back");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Authorization"), "Bearer t");
	free(r);
}

static void test_referer_origin(void **state)
{
	(void)state;
	const char *lines[64];
	char buf[8192];
	ssize_t n;
	/* Typed navigation: no Referer, no Origin, Sec-Fetch-Site: none. */
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "https://a.test/p?q#f", NULL, false, NULL, 0, NULL);
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Referer"));
	assert_null(hval(lines, n, "Origin"));
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "none");
	assert_string_equal(hval(lines, n, "Sec-Fetch-User"), "?1");
	go(r, 302, "https://b.other/");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "none");
	free(r);
	/* A link on https://a.test/page, strict-origin-when-cross-origin. */
	r = start(DETOUR_AS_BROWSER, "https://a.test/x", NULL, false, NULL, 0,
	          "https://u:p@a.test/page?k=v#frag");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Referer"), "https://a.test/page?k=v");
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "same-origin");
	go(r, 301, "https://www.a.test/y");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Referer"), "https://a.test/");
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "same-site");
	go(r, 301, "http://c.other/z");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Referer"));        /* https -> http: none */
	assert_null(hval(lines, n, "Sec-Fetch-Site")); /* not trustworthy */
	assert_null(hval(lines, n, "sec-ch-ua"));
	go(r, 301, "https://a.test/again");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "cross-site"); /* sticky */
	assert_string_equal(hval(lines, n, "Referer"), "https://a.test/page?k=v");
	/* Fetch step 19: a Referrer-Policy on a redirect changes the policy. */
	struct detour_header rp[] = {H("Location", "https://b.other/"),
	                             H("Referrer-Policy", "bogus, unsafe-url")};
	struct detour_follow_resp resp = {302, rp, 2};
	struct detour_follow_step st;
	detour_follow_next(r, &resp, &st);
	assert_int_equal(st.new_policy, DETOUR_RP_UNSAFE_URL);
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Referer"), "https://a.test/page?k=v");
	free(r);
	/* A form POST (default: on the start page): Origin; a cross-origin
	 * 307 makes it "null" (Chromium), and a 303 to GET drops it. */
	r = start(DETOUR_AS_BROWSER, "http://127.0.0.1:8080/form", NULL, true, NULL, 0, NULL);
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Origin"), "http://127.0.0.1:8080");
	assert_string_equal(hval(lines, n, "Referer"), "http://127.0.0.1:8080/form");
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "same-origin");
	st = go(r, 307, "http://127.0.0.1:8081/b");
	assert_true(st.origin_nulled);
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Origin"), "null");
	assert_string_equal(hval(lines, n, "Referer"), "http://127.0.0.1:8080/");
	go(r, 303, "/c");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Origin"));
	assert_string_equal(r->method, "GET");
	free(r);
	/* curl: -e sends the given Referer on every request, no Origin. */
	r = start(DETOUR_AS_CURL, "http://a.test/", "POST", true, NULL, 0, "http://r.test/x");
	go(r, 307, "http://b.test/");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_int_equal(n, 1);
	assert_string_equal(lines[0], "Referer: http://r.test/x");
	free(r);
}

static void test_profile(void **state)
{
	(void)state;
	static const struct detour_header h[] = {H("User-Agent", "mine"), H("X-Extra", "e"),
	                                         H("Host", "vhost.test")};
	const char *lines[64];
	char buf[8192];
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "http://127.0.0.1:9/", NULL, false, h, 3, NULL);
	ssize_t n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	static const char *const want[] = {
	        "Connection: keep-alive",
	        "sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
	        "sec-ch-ua-mobile: ?0",
	        "sec-ch-ua-platform: \"Linux\"",
	        "Upgrade-Insecure-Requests: 1",
	        "User-Agent: mine",
	        "Accept: " DETOUR_BROWSER_ACCEPT,
	        "Sec-Fetch-Site: none",
	        "Sec-Fetch-Mode: navigate",
	        "Sec-Fetch-User: ?1",
	        "Sec-Fetch-Dest: document",
	        "Accept-Encoding: gzip, deflate, br, zstd",
	        "Accept-Language: en-US,en;q=0.9",
	        "X-Extra: e",
	        "Host: vhost.test",
	};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(lines[i], want[i]);
	/* The user Host header only goes to the first host. */
	go(r, 302, "http://other.test/");
	n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Host"));
	assert_int_equal(detour_follow_headers(r, NULL, 0, buf, 64, lines, 64), -1);
	assert_int_equal(detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 3), -1);
	free(r);
}

static void test_hsts_upgrade(void **state)
{
	(void)state;
	struct detour_hsts *s = detour_hsts_new();
	assert_int_equal(detour_hsts_add(s, "secure.test", 11, 2000, true), DETOUR_OK);
	static const struct detour_header h[] = {H("Authorization", "x")};
	struct detour_follow_req *r = start(DETOUR_AS_BROWSER, "http://www.secure.test:8080/p#f",
	                                    "POST", true, h, 1, NULL);
	struct detour_follow_step st;
	assert_false(detour_follow_hsts(r, s, 3000, &st)); /* expired */
	assert_true(detour_follow_hsts(r, s, 1000, &st));
	assert_int_equal(st.step, DETOUR_STEP_FOLLOW);
	assert_string_equal(r->url, "https://www.secure.test:8080/p#f");
	assert_string_equal(r->method, "POST");
	assert_true(r->body);
	assert_true(st.auth_dropped);
	assert_int_equal(r->redirects, 1);
	assert_false(detour_follow_hsts(r, s, 1000, &st)); /* already https */
	free(r);
	r = start(DETOUR_AS_BROWSER, "http://secure.test:80/", NULL, false, NULL, 0, NULL);
	assert_true(detour_follow_hsts(r, s, 1000, NULL));
	assert_string_equal(r->url, "https://secure.test/");
	free(r);
	r = start(DETOUR_AS_BROWSER, "http://secure.test:443/", NULL, false, NULL, 0, NULL);
	assert_true(detour_follow_hsts(r, s, 1000, NULL));
	assert_string_equal(r->url, "https://secure.test/");
	free(r);
	r = start(DETOUR_AS_CURL, "http://secure.test/", NULL, false, NULL, 0, NULL);
	assert_true(detour_follow_hsts(r, s, 1000, NULL));
	assert_int_equal(r->redirects, 0);
	assert_string_equal(r->first_origin, "https://secure.test");
	free(r);
	detour_hsts_free(s);
}

static void test_refresh_nav(void **state)
{
	(void)state;
	const char *lines[64];
	char buf[8192];
	struct detour_follow_req *r = start(DETOUR_AS_BROWSER, "http://127.0.0.1:9/a/page#x",
	                                    "POST", true, NULL, 0, NULL);
	unsigned fl;
	assert_int_equal(detour_follow_refresh(r, "next", 4, DETOUR_RP_UNSET, &fl), DETOUR_OK);
	assert_string_equal(r->url, "http://127.0.0.1:9/a/next");
	assert_string_equal(r->method, "GET");
	assert_false(r->body);
	assert_int_equal(r->redirects, 1);
	ssize_t n = detour_follow_headers(r, NULL, 0, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Referer"), "http://127.0.0.1:9/a/page");
	assert_string_equal(hval(lines, n, "Sec-Fetch-Site"), "same-origin");
	assert_null(hval(lines, n, "Sec-Fetch-User"));
	assert_null(hval(lines, n, "Origin"));
	assert_int_equal(detour_follow_refresh(r, NULL, 0, DETOUR_RP_UNSET, &fl), DETOUR_OK);
	assert_string_equal(r->url, "http://127.0.0.1:9/a/next");
	free(r);
}

static void test_wire_url_and_origin(void **state)
{
	(void)state;
	char out[256];
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "http://u:p@h.test:81/x?y#z", NULL, false, NULL, 0, NULL);
	assert_int_equal(detour_follow_wire_url(r, out, sizeof(out)), 20);
	assert_string_equal(out, "http://h.test:81/x?y");
	r->as = DETOUR_AS_CURL;
	assert_int_equal(detour_follow_wire_url(r, out, sizeof(out)), 24);
	assert_string_equal(out, "http://u:p@h.test:81/x?y");
	assert_int_equal(detour_origin_of(r->url, r->url_len, out, sizeof(out)), 16);
	assert_string_equal(out, "http://h.test:81");
	free(r);
}

static void test_start_errors(void **state)
{
	(void)state;
	struct detour_follow_req *r = malloc(sizeof(*r));
	struct detour_follow_opts o = {.as = DETOUR_AS_BROWSER, .method = "GET", .body = true};
	assert_int_equal(detour_follow_start(r, &o, "http://a/", 9, NULL), DETOUR_EINVAL);
	o.method = "BAD METHOD";
	o.body = false;
	assert_int_equal(detour_follow_start(r, &o, "http://a/", 9, NULL), DETOUR_EINVAL);
	o.method = "post";
	assert_int_equal(detour_follow_start(r, &o, "http://a/", 9, NULL), DETOUR_OK);
	assert_string_equal(r->method, "POST");
	o.method = "patch"; /* not normalised (Fetch) */
	assert_int_equal(detour_follow_start(r, &o, "http://a/", 9, NULL), DETOUR_OK);
	assert_string_equal(r->method, "patch");
	o.as = DETOUR_AS_CURL;
	o.method = "GET";
	o.body = true;
	assert_int_equal(detour_follow_start(r, &o, "http://a/", 9, NULL), DETOUR_OK);
	free(r);
}

static void test_cookies_through_chain(void **state)
{
	(void)state;
	struct detour_cookie_jar *jar = detour_cookie_jar_new();
	static const struct detour_header h[] = {H("Cookie", "sid=1; lang=fr")};
	const char *lines[64];
	char buf[8192];
	struct detour_follow_req *r =
	        start(DETOUR_AS_BROWSER, "http://a.test/", NULL, false, h, 1, NULL);
	assert_int_equal(detour_follow_seed_cookies(r, jar, 100), DETOUR_OK);
	ssize_t n = detour_follow_headers(r, jar, 100, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Cookie"), "sid=1; lang=fr");
	struct detour_header rh[] = {H("Location", "/next"), H("Set-Cookie", "a=b; Path=/next"),
	                             H("Set-Cookie", "bad"), H("Set-Cookie", "s=1; Secure"),
	                             H("Strict-Transport-Security", "max-age=5")};
	struct detour_follow_resp resp = {302, rh, 5};
	struct detour_follow_absorb ab;
	struct detour_hsts *hs = detour_hsts_new();
	assert_int_equal(detour_follow_absorb(r, &resp, jar, hs, 100, &ab), DETOUR_OK);
	assert_int_equal(ab.cookies_set, 2);
	assert_int_equal(ab.cookies_ignored, 1);
	assert_string_equal(ab.cookie_why, "Secure cookie set over an insecure connection");
	assert_true(ab.sts_present);
	assert_int_equal(ab.sts, DETOUR_HSTS_IGNORED_HTTP);
	assert_int_equal(detour_hsts_count(hs), 0);
	struct detour_follow_step st;
	detour_follow_next(r, &resp, &st);
	n = detour_follow_headers(r, jar, 100, buf, sizeof(buf), lines, 64);
	assert_string_equal(hval(lines, n, "Cookie"), "a=b; sid=1; lang=fr; bad");
	go(r, 302, "http://b.test/");
	n = detour_follow_headers(r, jar, 100, buf, sizeof(buf), lines, 64);
	assert_null(hval(lines, n, "Cookie"));
	free(r);
	detour_hsts_free(hs);
	detour_cookie_jar_free(jar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_methods),
	        cmocka_unit_test(test_stops),
	        cmocka_unit_test(test_limit),
	        cmocka_unit_test(test_authorization),
	        cmocka_unit_test(test_referer_origin),
	        cmocka_unit_test(test_profile),
	        cmocka_unit_test(test_hsts_upgrade),
	        cmocka_unit_test(test_refresh_nav),
	        cmocka_unit_test(test_wire_url_and_origin),
	        cmocka_unit_test(test_start_errors),
	        cmocka_unit_test(test_cookies_through_chain),
	};
	return cmocka_run_group_tests_name("follow", tests, NULL, NULL);
}
