/* lib/import_json.c: vercel.json and the Redirection plugin's JSON export
 * -> rules; the line of every element. */
#include "unit.h"

#include "import_test.h"

static void test_vercel(void **state)
{
	(void)state;
	rules_are("vercel",
	          "{\"redirects\":[{\"source\":\"/a/:slug\",\"destination\":\"/b/:slug\"}]}",
	          "/a/:slug /b/:slug 308"); /* permanent by default */
	rules_are("vercel",
	          "{\"redirects\":[{\"source\":\"/d/:path*\",\"destination\":\"/e/:path*\","
	          "\"permanent\":false}]}",
	          "/d/* /e/:splat 307");
	rules_are("vercel",
	          "{\"redirects\":[{\"source\":\"/p/:id(\\\\d+)\",\"destination\":\"/q/:id\","
	          "\"statusCode\":301}]}",
	          "~^/p/(?<id>\\d+)$ /q/:id 301");
	rules_are("vercel",
	          "{\"redirects\":[{\"source\":\"/h\",\"destination\":\"/i\","
	          "\"has\":[{\"type\":\"header\",\"key\":\"x-a\",\"value\":\"1|2\"},"
	          "{\"type\":\"host\",\"value\":\"w.example\"},{\"type\":\"query\",\"key\":\"q\"}],"
	          "\"missing\":[{\"type\":\"cookie\",\"key\":\"c\",\"value\":\"v\"}]}]}",
	          "//w.example/h /i 308 if-header=x-a:~^(?:1|2)$ if-query=q if-cookie=!c=v");
	/* a bare array is accepted too */
	rules_are("vercel", "[{\"source\":\"/a\",\"destination\":\"/b\",\"statusCode\":302}]",
	          "/a /b 302");
}

static void test_vercel_lines_and_skips(void **state)
{
	struct conv c;

	(void)state;
	conv(&c, "vercel",
	     "{\n  \"cleanUrls\": true,\n  \"redirects\": [\n"
	     "    {\"source\": \"/a\", \"destination\": \"/b\", \"statusCode\": 200},\n" /* 4 */
	     "    {\"source\": \"/c\", \"destination\": \"/d\", \"locale\": false},\n"   /* 5 */
	     "    {\n      \"source\": \"/e\",\n      \"destination\": \"/f\",\n"        /* 6 */
	     "      \"has\": [{\"type\": \"cookie\", \"key\": \"k\", \"value\": \"(a|b)\"}]\n"
	     "    },\n    {\"source\": \"/g\"}\n  ]\n}\n"); /* 11 */
	skipped(&c, 4, "statusCode 200");
	skipped(&c, 5, "locale");
	skipped(&c, 6, "pattern");
	skipped(&c, 11, "without source or destination");
	conv_free(&c);
	struct detour_import im;
	struct detour_diag d;
	detour_import_init(&im, "in");
	assert_int_equal(detour_import_run("vercel", "{\"redirects\": [", 15, &im, &d),
	                 DETOUR_EINVAL);
	assert_non_null(strstr(d.msg, "not JSON"));
	detour_import_fini(&im);
}

static void test_redirection_json(void **state)
{
	struct conv c;

	(void)state;
	rules_are("redirection",
	          "{\"redirects\":[{\"url\":\"/a\",\"match_type\":\"url\",\"action_type\":\"url\","
	          "\"action_code\":301,\"action_data\":{\"url\":\"/b\"},\"regex\":false,"
	          "\"match_data\":{\"source\":{\"flag_query\":\"pass\",\"flag_case\":true}}},"
	          "{\"url\":\"/g\",\"match_type\":\"url\",\"action_type\":\"error\","
	          "\"action_code\":410,\"regex\":false}]}",
	          "/a /b 301 case=insensitive\n/g - 410");
	conv(&c, "redirection",
	     "{\"redirects\":[\n{\"url\":\"/"
	     "a\",\"match_type\":\"login\",\"action_type\":\"url\"},\n"
	     "{\"url\":\"/b\",\"match_type\":\"url\",\"action_type\":\"nothing\"},\n"
	     "{\"url\":\"/c\",\"match_type\":\"url\",\"enabled\":false}]}");
	skipped(&c, 2, "match type \"login\"");
	skipped(&c, 3, "action type \"nothing\"");
	skipped(&c, 4, "disabled");
	conv_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vercel),
	        cmocka_unit_test(test_vercel_lines_and_skips),
	        cmocka_unit_test(test_redirection_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
