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

/* One Redirection redirect of match type mt with action_data ad (JSON). */
static void redir(const char *mt, const char *ad, const char *want)
{
	char in[2048];
	snprintf(in, sizeof(in),
	         "{\"redirects\":[{\"url\":\"/a\",\"match_type\":\"%s\",\"action_type\":"
	         "\"url\",\"action_code\":302,\"regex\":false,\"action_data\":%s}]}",
	         mt, ad);
	rules_are("redirection", in, want);
}

static void test_redirection_match_types(void **state)
{
	struct conv c;

	(void)state;
	/* Both targets: the condition's rule, then the other as a fallback;
	 * one target alone: the condition, negated for url_notfrom. */
	redir("referrer",
	      "{\"referrer\":\"https://news.example/\",\"regex\":false,"
	      "\"url_from\":\"/from-news\",\"url_notfrom\":\"/b\"}",
	      "/a /from-news 302 query=drop if-header=Referer:https://news.example/\n"
	      "/a /b 302 query=drop");
	redir("referrer",
	      "{\"referrer\":\"google\\\\.\",\"regex\":true,\"url_from\":\"\","
	      "\"url_notfrom\":\"/b\"}",
	      "/a /b 302 query=drop if-header=!Referer:~(?is)google\\.");
	redir("agent",
	      "{\"agent\":\"iPhone|Android%20Mobile\",\"regex\":true,"
	      "\"url_from\":\"/m\",\"url_notfrom\":\"\"}",
	      "/a /m 302 query=drop if-header=User-Agent:~(?is)iPhone|Android\\x20Mobile");
	redir("agent", "{\"agent\":\"Mozilla/5.0 (X11)\",\"regex\":false,\"url_from\":\"/x\"}",
	      "/a /x 302 query=drop if-header=User-Agent:~^Mozilla/5\\.0\\x20\\(X11\\)$");
	redir("header",
	      "{\"name\":\"X-Beta\",\"value\":\"1\",\"regex\":false,"
	      "\"url_from\":\"/beta\",\"url_notfrom\":\"\"}",
	      "/a /beta 302 query=drop if-header=X-Beta:1");
	redir("cookie",
	      "{\"name\":\"lang\",\"value\":\"fr\",\"regex\":false,"
	      "\"url_from\":\"/fr/\",\"url_notfrom\":\"/en/\"}",
	      "/a /fr/ 302 query=drop if-cookie=lang=fr\n/a /en/ 302 query=drop");
	redir("ip",
	      "{\"ip\":[\"192.0.2.7\",\"2001:db8::1\"],\"url_from\":\"\","
	      "\"url_notfrom\":\"/outside\"}",
	      "/a /outside 302 query=drop if-ip=!192.0.2.7,2001:db8::1");
	redir("server",
	      "{\"server\":\"https://Old.Example.com\",\"url_from\":\"/moved\","
	      "\"url_notfrom\":\"/here\"}",
	      "//old.example.com/a /moved 302 query=drop\n/a /here 302 query=drop");
	redir("server", "{\"server\":\"http://old.example.com\",\"url_notfrom\":\"/x\"}",
	      "/a /x 302 query=drop if-header=!Host:~(?i)^old\\.example\\.com(:[0-9]+)?\\.?$");
	redir("language", "{\"language\":\"fr,de\",\"url_from\":\"/eu\",\"url_notfrom\":\"\"}",
	      "/a /eu 302 query=drop if-lang=fr,de");
	/* A regex source with a server match: a Host condition. */
	rules_are("redirection",
	          "{\"redirects\":[{\"url\":\"^/p/(\\\\d+)$\",\"match_type\":\"server\","
	          "\"action_type\":\"url\",\"action_code\":301,\"regex\":true,"
	          "\"match_data\":{\"source\":{\"flag_query\":\"pass\"}},"
	          "\"action_data\":{\"server\":\"https://a.example\",\"url_from\":\"/q/$1\"}}]}",
	          "~^/p/(\\d+)$ /q/$1 301 if-header=Host:~(?i)^a\\.example(:[0-9]+)?\\.?$");
	/* An error action: no targets, 410 when the condition holds. */
	rules_are("redirection",
	          "{\"redirects\":[{\"url\":\"/g\",\"match_type\":\"agent\","
	          "\"action_type\":\"error\",\"action_code\":410,\"regex\":false,"
	          "\"action_data\":{\"agent\":\"bot\",\"regex\":true}}]}",
	          "/g - 410 if-header=User-Agent:~(?is)bot");
	/* What cannot be expressed. */
	conv(&c, "redirection",
	     "{\"redirects\":[\n"
	     "{\"url\":\"/a\",\"match_type\":\"login\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"logged_in\":\"/x\",\"logged_out\":\"\"}},\n"
	     "{\"url\":\"/b\",\"match_type\":\"role\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"role\":\"editor\",\"url_from\":\"/x\"}},\n"
	     "{\"url\":\"/c\",\"match_type\":\"page\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"page\":\"404\",\"url\":\"/x\"}},\n"
	     "{\"url\":\"/d\",\"match_type\":\"custom\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"filter\":\"f\",\"url_from\":\"/x\"}},\n"
	     "{\"url\":\"/e\",\"match_type\":\"cookie\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"name\":\"c\",\"value\":\"^a\","
	     "\"regex\":true,\"url_from\":\"/x\"}},\n"
	     "{\"url\":\"/f\",\"match_type\":\"referrer\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"referrer\":\"r\",\"url_from\":\"\","
	     "\"url_notfrom\":\"\"}},\n"
	     "{\"url\":\"/g\",\"match_type\":\"ip\",\"action_type\":\"url\","
	     "\"action_code\":302,\"action_data\":{\"ip\":[],\"url_from\":\"/x\"}}]}");
	skipped(&c, 2, "match type \"login\": detour does not know who is logged in");
	skipped(&c, 3, "match type \"role\"");
	skipped(&c, 4, "match type \"page\"");
	skipped(&c, 5, "match type \"custom\"");
	skipped(&c, 6, "a cookie value that is a regex");
	skipped(&c, 7, "neither a target for a match nor for no match");
	skipped(&c, 8, "an IP match without addresses");
	assert_int_equal(c.im.nskips, 7);
	conv_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vercel),
	        cmocka_unit_test(test_vercel_lines_and_skips),
	        cmocka_unit_test(test_redirection_json),
	        cmocka_unit_test(test_redirection_match_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
