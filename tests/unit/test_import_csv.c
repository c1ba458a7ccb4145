/* lib/import_csv.c: Cloudflare's bulk-redirect CSV and the Redirection
 * plugin's CSV export -> rules. */
#include "unit.h"

#include "import_test.h"

static void test_cloudflare(void **state)
{
	(void)state;
	/* defaults: 301, the query dropped, no subpaths */
	rules_are("cloudflare", "example.com/a,https://example.com/b\n",
	          "//example.com/a https://example.com/b 301 query=drop");
	rules_are("cloudflare", "https://Example.com/a,https://x/,302,TRUE\n",
	          "https://example.com/a https://x/ 302");
	/* subpath matching, the suffix kept (its default) */
	rules_are("cloudflare", "example.com/d,https://d.example/,308,true,false,true\n",
	          "//example.com/d https://d.example/ 308\n//example.com/d/* "
	          "https://d.example/:splat 308");
	/* a target that is an origin alone has the path "/" */
	rules_are("cloudflare", "example.com/e,https://e.example,308,true,false,true,true\n",
	          "//example.com/e https://e.example/ 308\n//example.com/e/* "
	          "https://e.example/:splat 308");
	rules_are("cloudflare", "example.com/f,https://f.example?x=1\n",
	          "//example.com/f https://f.example?x=1 301 query=drop");
	/* include_subdomains: the domain and every subdomain */
	rules_are("cloudflare", "example.com/s,https://s.example/,301,FALSE,TRUE,FALSE,FALSE\n",
	          "//example.com/s https://s.example/ 301 query=drop\n//*.example.com/s "
	          "https://s.example/ 301 query=drop");
	/* a header row names the columns, in any order */
	rules_are("cloudflare",
	          "target_url,source_url,status_code\nhttps://t.example/,a.example/x,307\n",
	          "//a.example/x https://t.example/ 307 query=drop");
	/* RFC 4180 quoting, a line break inside quotes */
	rules_are("cloudflare", "\"a.example/x,y\",\"https://t.example/?a=\"\"q\"\"\"\n", "");
	rules_are("cloudflare", "\"a.example/x,y\",\"https://t.example/?a=1,2\"\n",
	          "//a.example/x,y https://t.example/?a=1,2 301 query=drop");
}

static void test_cloudflare_skips(void **state)
{
	struct conv c;

	(void)state;
	conv(&c, "cloudflare",
	     "a.example/x,https://t/,418\n"       /* 1 */
	     "a.example/y?q=1,https://t/\n"       /* 2 */
	     "/no-host,https://t/\n"              /* 3 */
	     "a.example/z,https://t/,301,maybe\n" /* 4 */
	     "\"a.example/m\nultiline\",\n");     /* 5 */
	skipped(&c, 1, "status 418");
	skipped(&c, 2, "query");
	skipped(&c, 3, "without a host");
	skipped(&c, 4, "TRUE or FALSE");
	skipped(&c, 5, "without a source or target");
	conv_free(&c);
}

static void test_redirection_csv(void **state)
{
	struct conv c;

	(void)state;
	rules_are("redirection",
	          "source,target,regex,code,type,hits,title,status\n"
	          "\"/a\",\"/b\",0,301,\"url\",1,\"\",\"active\"\n"
	          "\"/s?x=1\",\"/t\",0,302,\"url\",0,\"\",\"active\"\n"
	          "\"^/c/(.*)\",\"/d/$1\",1,307,\"url\",0,\"\",\"active\"\n"
	          "\"/g\",\"\",0,410,\"error\",0,\"\",\"active\"\n",
	          "/a /b 301 query=drop\n/s /t 302 query=drop if-query=x=1\n~^/c/(.*) /d/$1 307 "
	          "query=drop\n/g - 410");
	conv(&c, "redirection",
	     "/a,/b,0,301,url,0,,disabled\n/c,,0,404,error,0,,active\n/"
	     "d,,0,301,random,0,,active\n\"/e\",\"/unknown\",0,301,\"url\",0,\"\",\"active\"\n");
	skipped(&c, 1, "disabled");
	skipped(&c, 2, "error 404");
	skipped(&c, 3, "random");
	skipped(&c, 4,
	        "target /unknown: the plugin's CSV export writes it for a redirect with "
	        "conditions");
	conv_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cloudflare),
	        cmocka_unit_test(test_cloudflare_skips),
	        cmocka_unit_test(test_redirection_csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
