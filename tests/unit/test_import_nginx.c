/* lib/import_nginx.c: nginx's return, rewrite, locations, if and map ->
 * rules, in the order nginx decides. */
#include "unit.h"

#include "import_test.h"

static void test_locations(void **state)
{
	(void)state;
	/* return sends its URL as written: the request's query is dropped */
	rules_are("nginx", "location = /a { return 301 /b; }", "/a /b 301 query=drop");
	rules_are("nginx", "location = /a { return 302 /b$is_args$args; }", "/a /b 302");
	rules_are("nginx", "location = /a { return /b; }", "/a /b 302 query=drop");
	rules_are("nginx", "location / { return 308 https://n.example$request_uri; }",
	          "/* https://n.example/:splat 308");
	/* a prefix is a string prefix, not a segment */
	rules_are("nginx", "location /shop { return 301 /store; }",
	          "~^(?=/shop) /store 301 query=drop");
	rules_are("nginx", "location ~* \\.asp$ { return 410; }", "~(?i)\\.asp$ - 410");
	rules_are("nginx", "location ~ ^/p/(\\d+)$ { return 301 /q/$1; }",
	          "~^/p/(\\d+)$ /q/$1 301 query=drop");
}

static void test_order(void **state)
{
	(void)state;
	/* server-level first, then =, ^~ (longest first), regexes in order,
	 * prefixes (longest first) */
	rules_are("nginx",
	          "server {\n"
	          " location /a { return 301 /1; }\n"
	          " location /a/b { return 301 /2; }\n"
	          " location ~ x { return 301 /3; }\n"
	          " location ^~ /c { return 301 /4; }\n"
	          " location = /e { return 301 /5; }\n"
	          " rewrite ^/r$ /6 permanent;\n"
	          "}\n",
	          "~^/r$ /6 301\n/e /5 301 query=drop\n~^(?=/c) /4 301 query=drop\n"
	          "~x /3 301 query=drop\n~^(?=/a/b) /2 301 query=drop\n~^(?=/a) /1 301 query=drop");
}

static void test_rewrite(void **state)
{
	(void)state;
	rules_are("nginx", "rewrite ^/a/(.*)$ /b/$1 permanent;", "~^/a/(.*)$ /b/$1 301");
	rules_are("nginx", "rewrite ^/a$ /b?x=1? redirect;", "~^/a$ /b?x=1 302 query=drop");
	rules_are("nginx", "rewrite ^/a$ https://e.example/;", "~^/a$ https://e.example/ 302");
	/* inside a prefix location that the regex does not already name */
	rules_are("nginx", "location /d/ { rewrite ^(.*)\\.htm$ /new$1.html permanent; }",
	          "~^(?=/d/)(?:.*?)(?:^(.*)\\.htm$) /new$1.html 301");
}

static void test_server_names_and_if(void **state)
{
	(void)state;
	rules_are("nginx",
	          "server { listen 443 ssl; server_name a.example .b.example;\n"
	          " location = /x { return 301 /y; } }",
	          "https://a.example/x /y 301 query=drop\nhttps://b.example/x /y 301 query=drop\n"
	          "https://*.b.example/x /y 301 query=drop");
	rules_are("nginx",
	          "server { server_name old.example; return 301 https://new.example$request_uri; }",
	          "//old.example/* https://new.example/:splat 301");
	rules_are("nginx",
	          "location = /x { if ($http_x_beta = \"1\") { return 302 /beta; } "
	          "if ($request_method = POST) { return 307 /post; } return 301 /y; }",
	          "/x /beta 302 query=drop if-header=x-beta:~^1$\n/x /post 307 query=drop "
	          "method=POST\n/x /y 301 query=drop");
}

static void test_map(void **state)
{
	(void)state;
	rules_are("nginx",
	          "map $uri $new { default \"\"; ~^/r/(?<id>\\d+)$ /q/$id; /a /b; }\n"
	          "server { if ($new) { return 301 $new; } }",
	          "/a /b 301 query=drop\n~^/r/(?<id>\\d+)$ /q/:id 301 query=drop");
	/* the if tests the variable, the return does not use it (a fuzz find) */
	rules_are("nginx", "map $uri $m { /a 1; }\nserver { if ($m) { return 301 /fixed; } }",
	          "/a /fixed 301 query=drop");
}

static void test_skips(void **state)
{
	struct conv c;

	(void)state;
	conv(&c, "nginx",
	     "server {\n"                                                        /* 1 */
	     " location /api/ { proxy_pass http://b; }\n"                        /* 2 */
	     " location /i { rewrite ^/i/(.*)$ /p/$1 last; }\n"                  /* 3 */
	     " location = /f { return 403; }\n"                                  /* 4 */
	     " location = /s { return 301 $scheme://x$uri; }\n"                  /* 5 */
	     " location = /v { return 301 /v?$cookie_a; }\n"                     /* 6 */
	     " location = /h { if (-f $request_filename) { return 301 /z; } }\n" /* 7 */
	     " location @n { return 302 /; }\n"                                  /* 8 */
	     "}\n");
	skipped(&c, 3, "internal rewrite");
	skipped(&c, 4, "return 403 is not a redirect");
	skipped(&c, 5, "$scheme");
	skipped(&c, 6, "$cookie_a");
	skipped(&c, 7, "if");
	skipped(&c, 8, "named location");
	assert_int_equal(c.im.nskips, 6);
	conv_free(&c);
	conv(&c, "nginx", "include conf.d/*.conf;\nserver {\n include r.conf;\n}\n");
	skipped(&c, 1, "include is not followed: import conf.d/*.conf");
	skipped(&c, 3, "include is not followed: import r.conf");
	conv_free(&c);
	conv(&c, "nginx", "server { location / { return 301 /x; }");
	skipped(&c, 1, "cannot be read");
	conv_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_locations), cmocka_unit_test(test_order),
	        cmocka_unit_test(test_rewrite),   cmocka_unit_test(test_server_names_and_if),
	        cmocka_unit_test(test_map),       cmocka_unit_test(test_skips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
