/* Unit tests for lib/canon.c: compiling the HTTPS settings, the canonical
 * URL of a request (scheme, host, slash), the hop's origin and target, and
 * the prepared HSTS line. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/canon.h"
#include "detour/config.h"

static struct detour_canon *compile(const char *text)
{
	static struct detour_config c;
	struct detour_diag d = {0};
	struct detour_canon *k = NULL;

	detour_config_defaults(&c);
	if (detour_config_parse(&c, "t.conf", text, strlen(text), &d) != DETOUR_OK)
		fail_msg("config: %s", d.msg);
	assert_int_equal(detour_canon_new(&c, &k), DETOUR_OK);
	return k;
}

/* Canonicalises https?/host/path; returns the hop target (origin + path)
 * in a static buffer, "" when nothing changed. */
static const char *canon(const struct detour_canon *k, bool https, const char *host,
                         const char *path, unsigned *changed)
{
	static char pb[256], out[512];
	struct detour_canon_url u;
	struct detour_canon_in in = {
	        .https = https,
	        .host = host,
	        .host_len = host ? strlen(host) : 0,
	        .path = pb,
	        .path_len = strlen(path),
	        .path_cap = sizeof(pb),
	};

	snprintf(pb, sizeof(pb), "%s", path);
	*changed = detour_canon_apply(k, &in, &u);
	/* the request's path is intact */
	assert_memory_equal(pb, path, strlen(path));
	if (*changed == 0)
		return "";
	assert_true(detour_canon_target(&u, NULL, 0, out, sizeof(out)) > 0);
	return out;
}

static void test_none(void **state)
{
	(void)state;
	assert_null(compile("listen 127.0.0.1:80\n"));
	/* trailing-slash keep alone asks nothing */
	assert_null(compile("trailing-slash keep\n"));
	size_t n = 7;
	assert_null(detour_canon_hsts(NULL, &n));
	assert_int_equal(n, 0);
	assert_int_equal(detour_canon_https_status(NULL), 0);
}

static void test_https_redirect(void **state)
{
	struct detour_canon *k = compile("https-redirect\n");
	unsigned ch;

	(void)state;
	assert_int_equal(detour_canon_https_status(k), 308);
	assert_string_equal(canon(k, false, "Example.COM:8080", "/a", &ch),
	                    "https://example.com/a");
	assert_int_equal(ch, DETOUR_CANON_SCHEME);
	/* an https request is canonical already */
	assert_string_equal(canon(k, true, "example.com", "/a", &ch), "");
	assert_int_equal(ch, 0);
	/* ACME HTTP-01 tokens are never redirected */
	assert_string_equal(canon(k, false, "example.com", "/.well-known/acme-challenge/tok", &ch),
	                    "");
	assert_string_equal(canon(k, false, "example.com", "/.well-known/acme-challenge", &ch),
	                    "https://example.com/.well-known/acme-challenge");
	/* no Host, or "OPTIONS *": nothing to build a URL from */
	assert_string_equal(canon(k, false, NULL, "/a", &ch), "");
	assert_string_equal(canon(k, false, "example.com", "*", &ch), "");
	/* IPv6 literal and a trailing dot */
	assert_string_equal(canon(k, false, "[::1]:8080", "/", &ch), "https://[::1]/");
	assert_string_equal(canon(k, false, "example.com.", "/", &ch), "https://example.com/");
	detour_canon_free(k);

	k = compile("https-redirect 301\n");
	struct detour_canon_url u;
	char p[8] = "/";
	struct detour_canon_in in = {false, "a.test", 6, p, 1, sizeof(p)};
	assert_int_equal(detour_canon_apply(k, &in, &u), DETOUR_CANON_SCHEME);
	assert_int_equal(u.status, 301);
	detour_canon_free(k);
}

static void test_canonical_host(void **state)
{
	struct detour_canon *k = compile("canonical-host www.old.test old.test\n"
	                                 "canonical-host b.test c.test a.test\n");
	unsigned ch;

	(void)state;
	assert_string_equal(detour_canon_alias(k, "b.test", 6), "a.test");
	assert_string_equal(detour_canon_alias(k, "c.test", 6), "a.test");
	assert_string_equal(detour_canon_alias(k, "www.old.test", 12), "old.test");
	assert_null(detour_canon_alias(k, "a.test", 6));
	assert_null(detour_canon_alias(k, "b.tes", 5));
	assert_null(detour_canon_alias(k, "b.testx", 7));
	/* the scheme stays, and so does the port */
	assert_string_equal(canon(k, false, "WWW.old.test:8080", "/x", &ch),
	                    "http://old.test:8080/x");
	assert_int_equal(ch, DETOUR_CANON_HOST);
	assert_string_equal(canon(k, true, "c.test.", "/x", &ch), "https://a.test/x");
	assert_string_equal(canon(k, false, "old.test", "/x", &ch), "");
	/* without https-redirect, the hop is a 308 */
	struct detour_canon_url u;
	char p[8] = "/";
	struct detour_canon_in in = {false, "b.test", 6, p, 1, sizeof(p)};
	assert_int_equal(detour_canon_apply(k, &in, &u), DETOUR_CANON_HOST);
	assert_int_equal(u.status, DETOUR_CANON_DEFAULT_STATUS);
	detour_canon_free(k);
}

static void test_slash(void **state)
{
	struct detour_canon *k = compile("trailing-slash add\n");
	unsigned ch;

	(void)state;
	/* only the slash: a path-absolute Location, the client's origin kept */
	assert_string_equal(canon(k, false, "a.test", "/docs", &ch), "/docs/");
	assert_int_equal(ch, DETOUR_CANON_SLASH);
	assert_string_equal(canon(k, false, "a.test", "/docs/", &ch), "");
	assert_string_equal(canon(k, false, "a.test", "/", &ch), "");
	assert_string_equal(canon(k, false, "a.test", "/robots.txt", &ch), "");
	assert_string_equal(canon(k, false, "a.test", "/v1.2/api", &ch), "/v1.2/api/");
	/* no room for the slash: left alone */
	char p[2] = "/a";
	struct detour_canon_url u;
	struct detour_canon_in in = {false, "a.test", 6, p, 2, 2};
	assert_int_equal(detour_canon_apply(k, &in, &u), 0);
	detour_canon_free(k);

	k = compile("trailing-slash remove\n");
	assert_string_equal(canon(k, false, "a.test", "/docs/", &ch), "/docs");
	assert_string_equal(canon(k, false, "a.test", "/docs//", &ch), "/docs");
	assert_string_equal(canon(k, false, "a.test", "/docs", &ch), "");
	assert_string_equal(canon(k, false, "a.test", "/", &ch), "");
	detour_canon_free(k);
}

static void test_all_together(void **state)
{
	struct detour_canon *k = compile("https-redirect 308\n"
	                                 "canonical-host www.old-brand.com old-brand.com\n"
	                                 "trailing-slash remove\n");
	struct detour_canon_url u;
	char p[64] = "/shop/";
	struct detour_canon_in in = {false, "www.old-brand.com", 17, p, 6, sizeof(p)};
	char out[256];

	(void)state;
	assert_int_equal(detour_canon_apply(k, &in, &u),
	                 DETOUR_CANON_SCHEME | DETOUR_CANON_HOST | DETOUR_CANON_SLASH);
	assert_true(u.https);
	assert_string_equal(u.host, "old-brand.com");
	assert_int_equal(u.path_len, 5);
	assert_int_equal(detour_canon_origin(&u, out, sizeof(out)), 21);
	assert_memory_equal(out, "https://old-brand.com", 21);
	/* a path target gets the origin, an absolute one stays */
	assert_int_equal(detour_canon_target(&u, "/store?id=:id", 13, out, sizeof(out)), 34);
	assert_string_equal(out, "https://old-brand.com/store?id=:id");
	assert_int_equal(
	        detour_canon_target(&u, "https://new-brand.com/store", 27, out, sizeof(out)), 27);
	assert_string_equal(out, "https://new-brand.com/store");
	assert_int_equal(detour_canon_target(&u, NULL, 0, out, sizeof(out)), 26);
	assert_string_equal(out, "https://old-brand.com/shop");
	/* too small */
	assert_int_equal(detour_canon_target(&u, NULL, 0, out, 26), -1);
	assert_int_equal(detour_canon_origin(&u, out, 20), -1);
	/* a path byte that would split the template is encoded */
	char q[16] = "/a?b#c";
	struct detour_canon_in in2 = {false, "a.test", 6, q, 6, sizeof(q)};
	assert_int_not_equal(detour_canon_apply(k, &in2, &u), 0);
	assert_true(detour_canon_target(&u, NULL, 0, out, sizeof(out)) > 0);
	assert_string_equal(out, "https://a.test/a%3Fb%23c");
	detour_canon_free(k);
}

static void test_hsts(void **state)
{
	struct detour_canon *k;
	const char *h;
	size_t n;

	(void)state;
	k = compile("hsts max-age=1y include-subdomains preload\n");
	h = detour_canon_hsts(k, &n);
	assert_non_null(h);
	assert_int_equal(n, strlen("Strict-Transport-Security: max-age=31536000; "
	                           "includeSubDomains; preload\r\n"));
	assert_memory_equal(h,
	                    "Strict-Transport-Security: max-age=31536000; includeSubDomains; "
	                    "preload\r\n",
	                    n);
	/* hsts alone changes no URL */
	unsigned ch;
	assert_string_equal(canon(k, false, "a.test", "/a", &ch), "");
	detour_canon_free(k);
	k = compile("hsts max-age=0\n");
	h = detour_canon_hsts(k, &n);
	assert_memory_equal(h, "Strict-Transport-Security: max-age=0\r\n", n);
	detour_canon_free(k);
	k = compile("https-redirect\n");
	assert_null(detour_canon_hsts(k, &n));
	detour_canon_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_none),           cmocka_unit_test(test_https_redirect),
	        cmocka_unit_test(test_canonical_host), cmocka_unit_test(test_slash),
	        cmocka_unit_test(test_all_together),   cmocka_unit_test(test_hsts),
	};
	return cmocka_run_group_tests_name("canon", tests, NULL, NULL);
}
