/* lib/import_netlify.c and the netlify.toml path (toml++ -> JSON ->
 * import_json.c): Netlify's redirects -> rules. */
#include "unit.h"

#include "import_test.h"

static void test_redirects_file(void **state)
{
	(void)state;
	rules_are("netlify", "/a /b\n", "/a /b 301"); /* the default status */
	rules_are("netlify", "/blog/* https://b.example/:splat 302!\n",
	          "/blog/* https://b.example/:splat 302");
	rules_are("netlify", "/d/:v/:p  /e/:p?v=:v  307\n", "/d/:v/:p /e/:p?v=:v 307");
	rules_are("netlify", "/s id=:id ref=mail /t 301\n",
	          "/s /t 301 query=drop if-query=id "
	          "if-query=ref=mail");
	rules_are("netlify", "/ /fr/ 302 Language=fr,de\n", "/ /fr/ 302 if-lang=fr,de");
	rules_are("netlify", "/c /d 302 Cookie=beta\n", "/c /d 302 if-cookie=beta");
	rules_are("netlify", "/x /gone.html 410\n", "/x - 410");
	rules_are("netlify", "https://old.example/* https://new.example/:splat 301!\n",
	          "https://old.example/* https://new.example/:splat 301");
}

static void test_redirects_skips(void **state)
{
	struct conv c;

	(void)state;
	conv(&c, "netlify",
	     "# comment\n"
	     "/api/* https://api.example/:splat 200\n" /* 2 */
	     "/x /y 404\n"                             /* 3 */
	     "/us /usa 302 Country=us\n"               /* 4 */
	     "/m /n 302 Role=admin\n"                  /* 5 */
	     "/q id=:id /r/:id 301\n"                  /* 6 */
	     "/only-source\n"                          /* 7 */
	     "/a/*/b /c 301\n"                         /* 8 */
	     "/t /u 451\n");                           /* 9 */
	skipped(&c, 2, "status 200 is a rewrite");
	skipped(&c, 3, "custom page");
	skipped(&c, 4, "geolocation");
	skipped(&c, 5, "identity");
	skipped(&c, 6, "cannot capture query values");
	skipped(&c, 7, "expected FROM");
	skipped(&c, 8, "does not load");
	skipped(&c, 9, "status 451");
	assert_int_equal(c.im.nskips, 8);
	conv_free(&c);
}

static void test_toml(void **state)
{
	struct conv c;

	(void)state;
	rules_are("netlify-toml",
	          "[build]\npublish = \"p\"\n\n[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\n"
	          "[[redirects]]\n  from = \"/n/*\"\n  to = \"/m/:splat\"\n  status = 307\n"
	          "  force = true\n  query = {k = \"v\"}\n"
	          "  conditions = {Language = [\"en\", \"en-gb\"]}\n",
	          "/a /b 301\n/n/* /m/:splat 307 query=drop if-query=k=v if-lang=en,en-gb");
	conv(&c, "netlify-toml",
	     "[[redirects]]\nfrom = \"/p\"\nto = \"https://x/\"\nstatus = 200\n"
	     "headers = {A = \"b\"}\n");
	skipped(&c, 1, "proxy");
	conv_free(&c);
	/* not TOML: an error, not an empty result */
	struct detour_import im;
	struct detour_diag d;
	detour_import_init(&im, "in");
	assert_int_equal(detour_import_run("netlify-toml", "[[redirects]\n", 13, &im, &d),
	                 DETOUR_EINVAL);
	assert_non_null(strstr(d.msg, "not TOML: 1:"));
	detour_import_fini(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_redirects_file),
	        cmocka_unit_test(test_redirects_skips),
	        cmocka_unit_test(test_toml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
