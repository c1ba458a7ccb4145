/* lib/export*.c: rules -> nginx, Apache, Caddy, Netlify, Cloudflare CSV;
 * what a format cannot express is a comment and a note. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/export.h"
#include "detour/rulefile.h"
#include "export_util.h"

struct out {
	struct detour_ruleset *rs;
	struct detour_export x;
};

static void exp_(struct out *o, const char *format, const char *rules, const char *host)
{
	struct detour_diag d;
	memset(&d, 0, sizeof(d));
	o->rs = detour_ruleset_new();
	assert_non_null(o->rs);
	if (detour_ruleset_load_buf(o->rs, "r", rules, strlen(rules), &d) != DETOUR_OK)
		fail_msg("%s", d.msg);
	detour_export_init(&o->x, "r");
	o->x.host = host;
	assert_int_equal(detour_export_run(format, o->rs, &o->x, &d), DETOUR_OK);
	bbuf_putc(&o->x.text, '\0');
}

static void has(const struct out *o, const char *s)
{
	if (strstr(o->x.text.p, s) == NULL)
		fail_msg("no \"%s\" in:\n%s", s, o->x.text.p);
}

static void noted(const struct out *o, unsigned line, const char *s)
{
	for (size_t i = 0; i < o->x.nnotes; i++)
		if (o->x.notes[i].line == line && strstr(o->x.notes[i].why, s))
			return;
	fail_msg("no note \"%s\" for line %u", s, line);
}

static void done(struct out *o)
{
	detour_export_fini(&o->x);
	detour_ruleset_free(o->rs);
}

static const char rules[] = "/a /b 301\n"                            /* 1 */
                            "/blog/* https://b.example/:splat 308\n" /* 2 */
                            "/d/:v/:p /e/:p?v=:v\n"                  /* 3 */
                            "~^/p/([0-9]+)$ /q/$1 302 query=drop\n"  /* 4 */
                            "/g - 410\n"                             /* 5 */
                            "/l /m 302 if-lang=fr\n"                 /* 6 */
                            "//h.example/x /y 302 if-cookie=c=1\n";  /* 7 */

static void test_nginx(void **state)
{
	struct out o;
	(void)state;
	exp_(&o, "nginx", rules, NULL);
	has(&o, "map $uri $detour_0_301_keep {\n    default \"\";\n    \"/a\" \"/b\";\n"
	        "    \"/a/\" \"/b\";\n}\n");
	has(&o,
	    "    if ($detour_0_301_keep) {\n        return 301 $detour_0_301_keep$is_args$args;\n");
	has(&o, "    location ~ \"^/blog(?:/(?<splat>.*))?$\" {\n        return 308 "
	        "\"https://b.example/$splat$is_args$args\";\n");
	has(&o, "    location ~ \"^/d/(?<v>[^/]+)/(?<p>[^/]+)$\" {\n        return 307 "
	        "\"/e/$p?v=$v&$args\";\n");
	has(&o, "    location ~ \"^/p/([0-9]+)$\" {\n        return 302 \"/q/$1\";\n");
	has(&o, "    location ~ \"^/g/?$\" {\n        return 410;\n");
	has(&o, "# r:6: not exported (nginx the condition if-lang=fr): /l /m 302\n");
	has(&o, "server_name h.example;");
	noted(&o, 6, "if-lang=fr");
	noted(&o, 7, "if-cookie=c=1");
	noted(&o, 3, "query=keep with a target query");
	assert_int_equal(o.x.nnotes, 3); /* the host-less rule 6 once, not per server */
	assert_int_equal(o.x.nrules, 5);
	done(&o);
	/* every status has its map's if (308 once fell outside the table) */
	exp_(&o, "nginx", "/x /y 308\n/z /w 307 query=drop\n", NULL);
	has(&o,
	    "    if ($detour_0_308_keep) {\n        return 308 $detour_0_308_keep$is_args$args;\n");
	has(&o, "    if ($detour_0_307_drop) {\n        return 307 $detour_0_307_drop;\n");
	done(&o);
}

static void test_apache(void **state)
{
	struct out o;
	(void)state;
	exp_(&o, "apache", rules, NULL);
	has(&o, "RewriteRule ^a/?$ /b [R=301,L,NE]\n");
	has(&o, "RewriteRule ^blog(?:/(?<splat>.*))?$ https://b.example/$1 [R=308,L,NE]\n");
	has(&o, "RewriteRule ^d/(?<v>[^/]+)/(?<p>[^/]+)$ /e/$2?v=$1 [R=307,L,NE,QSA]\n");
	has(&o, "RewriteRule ^p/([0-9]+)$ /q/$1 [R=302,L,NE,QSD]\n");
	has(&o, "RewriteRule ^g/?$ - [G]\n");
	has(&o,
	    "RewriteCond %{HTTP_HOST} ^h\\.example\\.?(:[0-9]+)?$ [NC]\n"
	    "RewriteCond %{HTTP_COOKIE} (^|;\\s*)c=1(;|$)\nRewriteRule ^x/?$ /y [R=302,L,NE]\n");
	noted(&o, 6, "if-lang=fr");
	assert_int_equal(o.x.nnotes, 1);
	done(&o);
	exp_(&o, "apache", "/a /b%20c 302 method=POST if-ip=10.0.0.0/8,192.0.2.0/24 if-query=!x\n",
	     NULL);
	has(&o, "RewriteCond %{REQUEST_METHOD} ^(POST)$\n"
	        "RewriteCond %{REMOTE_ADDR} -ipmatch 10.0.0.0/8 [OR]\n"
	        "RewriteCond %{REMOTE_ADDR} -ipmatch 192.0.2.0/24\n"
	        "RewriteCond %{QUERY_STRING} !(^|&)x(=|&|$)\n"
	        "RewriteRule ^a/?$ /b\\%20c [R=302,L,NE]\n");
	done(&o);
}

static void test_apache_header_regex(void **state)
{
	struct out o;
	(void)state;
	exp_(&o, "apache", "/a /b 302 if-header=User-Agent:~Mobile\n", NULL);
	has(&o, "RewriteCond %{HTTP:User-Agent} Mobile\n");
	done(&o);
}

static void test_caddy(void **state)
{
	struct out o;
	(void)state;
	exp_(&o, "caddy", rules, NULL);
	has(&o, ":80 {\n\troute {\n");
	/* The query kept: a first redirect for a non-empty query (Caddy 2.6
	 * has no {?query}); captures from the request line, escaped. */
	has(&o, "\t\t@r1q {\n\t\t\tpath_regexp ^/blog(?:/(?P<splat>.*))?$\n"
	        "\t\t\tvars_regexp r1 {http.request.uri} ^/blog(?:/(?P<splat>[^?]*))?(?:\\?.*)?$\n"
	        "\t\t\texpression {query} != ''\n\t\t}\n"
	        "\t\tredir @r1q https://b.example/{re.r1.splat}?{query} 308\n"
	        "\t\t@r1 {\n\t\t\tpath_regexp ^/blog(?:/(?P<splat>.*))?$\n"
	        "\t\t\tvars_regexp r1 {http.request.uri} ^/blog(?:/(?P<splat>[^?]*))?(?:\\?.*)?$\n"
	        "\t\t}\n\t\tredir @r1 https://b.example/{re.r1.splat} 308\n");
	/* A target query and the request's: "&". */
	has(&o, "\t\tredir @r2q /e/{re.r2.p}?v={re.r2.v}&{query} 307\n");
	has(&o, "\t\tredir @r3 /q/{re.r3.1} 302\n");
	has(&o, "\t\trespond @r4 410\n");
	has(&o, "http://h.example, https://h.example {\n");
	has(&o, "\t\t\theader_regexp c0 Cookie (^|;\\s*)c=1(;|$)\n");
	done(&o);

	exp_(&o, "caddy",
	     "~^/n/(?<id>[0-9]+)$ /m/:id 301\n"                        /* 1 */
	     "~^/(?=x)y /z 301\n"                                      /* 2 */
	     "~^/(a)\\1 /z 301\n"                                      /* 3 */
	     "~^/a++ /z 301\n"                                         /* 4 */
	     "/h /i 302 if-header=X-A:a*b if-header=!X-B:~^v[0-9]+$\n" /* 5 */
	     "/k /l 302 if-query=a=1&b if-query=!c=2\n"                /* 6 */
	     "/o /p 302 if-query=x=%20\n"                              /* 7 */
	     "/q /r 302 if-cookie=a=1 if-cookie=b=2\n"                 /* 8 */
	     "/s /t 302 if-ip=10.0.0.0/8 if-ip=10.1.0.0/16\n"          /* 9 */
	     "https://sec.example/u /v 301\n"                          /* 10 */
	     "http://plain.example/w /x 301\n",                        /* 11 */
	     NULL);
	has(&o, "\t\t\tpath_regexp r0 ^/n/(?P<id>[0-9]+)$\n");
	has(&o, "\t\tredir @r0q /m/{re.r0.id}?{query} 301\n");
	noted(&o, 2, "lookaround");
	noted(&o, 3, "back-reference");
	noted(&o, 4, "possessive");
	has(&o, "\t\t\theader_regexp X-A ^a\\*b$\n\t\t\tnot header_regexp X-B ^v[0-9]+$\n");
	has(&o, "\t\t\texpression (query({'a': '1'}) && query({'b': '*'})) && !(query({'c': "
	        "'2'})) && {query} != ''\n");
	noted(&o, 7, "%-escapes");
	noted(&o, 8, "two conditions on the header Cookie");
	noted(&o, 9, "two if-ip= conditions");
	has(&o, "\nhttps://sec.example {\n");
	has(&o, "\t\t\tprotocol https\n");
	has(&o, "\nhttp://plain.example {\n");
	done(&o);
}

static void test_netlify(void **state)
{
	struct out o;
	(void)state;
	exp_(&o, "netlify", rules, NULL);
	has(&o, "\n/a /b 301!\n/blog/* https://b.example/:splat 308!\n/d/:v/:p /e/:p?v=:v 307!\n");
	has(&o, "/g /404.html 410!\n/l /m 302! Language=fr\n");
	noted(&o, 4, "a regex source");
	noted(&o, 7, "if-cookie=c=1");
	done(&o);
}

static void test_csv(void **state)
{
	struct out o;
	(void)state;
	exp_(&o, "csv", rules, "example.com");
	has(&o, "source_url,target_url,status_code,preserve_query_string,include_subdomains,"
	        "subpath_matching,preserve_path_suffix\n"
	        "example.com/a,https://example.com/b,301,TRUE,FALSE,FALSE,FALSE\n"
	        "example.com/blog,https://b.example,308,TRUE,FALSE,TRUE,TRUE\n");
	noted(&o, 3, "pattern source");
	noted(&o, 5, "status 410");
	done(&o);
	exp_(&o, "csv", "/a /b 301\n", NULL);
	noted(&o, 1, "give --host");
	assert_int_equal(o.x.nrules, 0);
	done(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_nginx),
	        cmocka_unit_test(test_apache),
	        cmocka_unit_test(test_apache_header_regex),
	        cmocka_unit_test(test_caddy),
	        cmocka_unit_test(test_netlify),
	        cmocka_unit_test(test_csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
