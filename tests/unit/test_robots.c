/* Unit tests for lib/robots.c: RFC 9309 groups, longest match, wildcards. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/robots.h"

static bool allowed(const struct detour_robots *r, const char *path)
{
	return detour_robots_allowed(r, path, strlen(path));
}

static struct detour_robots *parse(const char *txt)
{
	struct detour_robots *r = detour_robots_parse(txt, strlen(txt), "detour");
	assert_non_null(r);
	return r;
}

static void test_groups(void **state)
{
	(void)state;
	/* The group naming the agent wins over "*", whatever the order. */
	struct detour_robots *r = parse("User-agent: *\n"
	                                "Disallow: /\n"
	                                "\n"
	                                "User-agent: Detour/1.0\n"
	                                "Disallow: /private\n");
	assert_true(allowed(r, "/"));
	assert_true(allowed(r, "/public"));
	assert_false(allowed(r, "/private/x"));
	assert_int_equal(detour_robots_nrules(r), 1);
	detour_robots_free(r);

	/* Another bot's group does not apply; "*" does. */
	r = parse("user-agent: otherbot\ndisallow: /\n\nuser-agent: *\ndisallow: /tmp/\n");
	assert_true(allowed(r, "/"));
	assert_false(allowed(r, "/tmp/a"));
	detour_robots_free(r);

	/* Two user-agent lines form one group; two groups naming the agent
	 * merge (§2.2.1). */
	r = parse("User-agent: a\nUser-agent: detour\nDisallow: /a\n"
	          "User-agent: detour\nDisallow: /b\n");
	assert_false(allowed(r, "/a"));
	assert_false(allowed(r, "/b"));
	assert_true(allowed(r, "/c"));
	detour_robots_free(r);

	/* A group naming the agent but empty allows everything, even if "*"
	 * disallows. */
	r = parse("User-agent: *\nDisallow: /\nUser-agent: detour\nAllow:\n");
	assert_true(allowed(r, "/x"));
	detour_robots_free(r);

	/* Rules before any user-agent line belong to no group. */
	r = parse("Disallow: /\n");
	assert_true(allowed(r, "/x"));
	detour_robots_free(r);

	/* Unknown records do not end a group of user-agent lines. */
	r = parse("User-agent: detour\nfoo: bar\nUser-agent: x\nDisallow: /q\n");
	assert_false(allowed(r, "/q"));
	detour_robots_free(r);
}

static void test_longest_match(void **state)
{
	(void)state;
	struct detour_robots *r = parse("User-agent: *\n"
	                                "Allow: /p\n"
	                                "Disallow: /\n"
	                                "Disallow: /page\n"
	                                "Allow: /page/public\n"
	                                "Allow: /same\n"
	                                "Disallow: /same\n");
	assert_true(allowed(r, "/p"));
	assert_false(allowed(r, "/q"));
	assert_false(allowed(r, "/page/x"));
	assert_true(allowed(r, "/page/public/1"));
	assert_true(allowed(r, "/same")); /* a tie: allow (§2.2.2) */
	assert_true(allowed(r, "/robots.txt"));
	detour_robots_free(r);
}

static void test_wildcards(void **state)
{
	(void)state;
	struct detour_robots *r = parse("User-agent: *\n"
	                                "Disallow: /*.pdf$\n"
	                                "Disallow: /*/secret/\n"
	                                "Disallow: /exact$\n"
	                                "Disallow: /q?*sid=\n"
	                                "Disallow: /lit$x\n");
	assert_false(allowed(r, "/a/b.pdf"));
	assert_true(allowed(r, "/a/b.pdf?x=1"));
	assert_true(allowed(r, "/a.pdfx"));
	assert_false(allowed(r, "/x/y/secret/z"));
	assert_true(allowed(r, "/secret/z"));
	assert_false(allowed(r, "/exact"));
	assert_true(allowed(r, "/exact/"));
	assert_false(allowed(r, "/q?a=1&sid=2"));
	assert_true(allowed(r, "/q?a=1"));
	assert_false(allowed(r, "/lit$x/y")); /* '$' inside is a byte */
	detour_robots_free(r);
}

static void test_encoding(void **state)
{
	(void)state;
	struct detour_robots *r =
	        parse("User-agent: *\nDisallow: /%e2%82%ac\nDisallow: /caf\xC3\xA9\n");
	assert_false(allowed(r, "/%E2%82%AC"));
	assert_false(allowed(r, "/\xE2\x82\xAC/x"));
	assert_false(allowed(r, "/caf%C3%A9"));
	assert_true(allowed(r, "/cafe"));
	detour_robots_free(r);
}

static void test_lines(void **state)
{
	(void)state;
	/* BOM, CR line ends, comments, spaces, case of keys. */
	struct detour_robots *r = parse("\xEF\xBB\xBFuser-AGENT : * # all\r"
	                                "DISALLOW:/a # comment\r\n"
	                                "crawl-delay: 1.5\n"
	                                "Sitemap: https://x.test/sitemap.xml\n"
	                                "no colon line\n"
	                                "Sitemap:   https://x.test/s2.xml.gz  \n");
	assert_false(allowed(r, "/a"));
	assert_true(detour_robots_crawl_delay(r) > 1.49 && detour_robots_crawl_delay(r) < 1.51);
	assert_int_equal(detour_robots_nsitemaps(r), 2);
	assert_string_equal(detour_robots_sitemap(r, 0), "https://x.test/sitemap.xml");
	assert_string_equal(detour_robots_sitemap(r, 1), "https://x.test/s2.xml.gz");
	assert_null(detour_robots_sitemap(r, 2));
	detour_robots_free(r);

	r = parse("");
	assert_true(allowed(r, "/"));
	assert_true(detour_robots_crawl_delay(r) < 0);
	detour_robots_free(r);
}

static void test_all(void **state)
{
	(void)state;
	struct detour_robots *r = detour_robots_new_all(false);
	assert_false(allowed(r, "/"));
	assert_true(allowed(r, "/robots.txt"));
	detour_robots_free(r);
	r = detour_robots_new_all(true);
	assert_true(allowed(r, "/x"));
	detour_robots_free(r);
	detour_robots_free(NULL);
}

/* A pattern of many stars against a long path ends (no exponential
 * backtracking). */
static void test_many_stars(void **state)
{
	(void)state;
	char txt[2200] = "User-agent: *\nDisallow: /";
	size_t n = strlen(txt);
	for (int i = 0; i < 1000; i++) {
		txt[n++] = '*';
		txt[n++] = 'a';
	}
	txt[n++] = 'b';
	txt[n] = 0;
	struct detour_robots *r = parse(txt);
	char path[5002];
	path[0] = '/';
	memset(path + 1, 'a', 5000);
	path[5001] = 0;
	assert_true(allowed(r, path));
	detour_robots_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_groups),     cmocka_unit_test(test_longest_match),
	        cmocka_unit_test(test_wildcards),  cmocka_unit_test(test_encoding),
	        cmocka_unit_test(test_lines),      cmocka_unit_test(test_all),
	        cmocka_unit_test(test_many_stars),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
