/* lib/import_apache.c: Apache's redirect directives -> rules. Every
 * expected line follows mod_alias's and mod_rewrite's documented (and, in
 * tests/integration/test_import.py, measured) behaviour. */
#include "unit.h"

#include "import_test.h"

static void test_redirect_prefix(void **state)
{
	(void)state;
	/* "Redirect /a /b" also sends /a/x to /b/x: an exact and a splat rule */
	rules_are("apache", "Redirect 301 /old /new\n", "/old /new 301\n/old/* /new/:splat 301");
	rules_are("apache", "Redirect /old http://x.example/new\n",
	          "/old http://x.example/new 302\n/old/* http://x.example/new/:splat 302");
	/* a target with a query: mod_alias does not add the request's */
	rules_are("apache", "RedirectTemp /s /p?x=1\n",
	          "/s /p?x=1 302 query=drop\n/s/* /p?x=1/:splat 302 query=drop");
	rules_are("apache", "RedirectPermanent /d/ /e/\n", "~^/d/(.*)$ /e/$1 301");
	rules_are("apache", "Redirect gone /g\n", "/g - 410\n/g/* - 410");
	rules_are("apache", "Redirect seeother / https://n.example/\n",
	          "/* https://n.example/:splat 303");
}

static void test_redirect_match(void **state)
{
	(void)state;
	rules_are("apache", "RedirectMatch 301 ^/p/([0-9]+)$ /q/$1\n", "~^/p/([0-9]+)$ /q/$1 301");
	rules_are("apache", "RedirectMatch \"^/a b$\" /c\n", "~^/a\\x20b$ /c 302");
}

static void test_rewrite_rule(void **state)
{
	(void)state;
	/* .htaccess: the pattern sees the path without its '/'; literal
	 * patterns become exact rules */
	rules_are("apache", "RewriteRule ^old$ /new [R=301,L]\n", "/old /new 301");
	rules_are("apache", "RewriteRule ^a/(.*)$ /b/$1 [R,L]\n", "~^/a/(.*)$ /b/$1 302");
	rules_are("apache", "RewriteRule ^x$ /y?k=v [R=301]\n", "/x /y?k=v 301 query=drop");
	rules_are("apache", "RewriteRule ^x$ /y?k=v [R=301,QSA]\n", "/x /y?k=v 301");
	rules_are("apache", "RewriteRule ^x$ /y? [R=302]\n", "/x /y 302 query=drop");
	rules_are("apache", "RewriteRule ^x$ /y [R=307,QSD,NC]\n",
	          "/x /y 307 query=drop case=insensitive");
	rules_are("apache", "RewriteRule ^x\\.php$ - [G]\n", "/x.php - 410");
	rules_are("apache", "RewriteBase /sub/\nRewriteRule ^x$ y [R=301]\n", "/x /sub/y 301");
	/* an absolute substitution redirects without R */
	rules_are("apache", "RewriteRule ^x$ https://e.example/ [L]\n",
	          "/x https://e.example/ 302");
}

static void test_rewrite_conds(void **state)
{
	(void)state;
	rules_are("apache",
	          "RewriteCond %{REQUEST_METHOD} ^(GET|HEAD)$\n"
	          "RewriteCond %{HTTP:X-Beta} ^1$ [NC]\n"
	          "RewriteCond %{QUERY_STRING} (^|&)lang=fr(&|$)\n"
	          "RewriteCond %{REMOTE_ADDR} ^10\\.1\\.\n"
	          "RewriteCond %{HTTP_COOKIE} !^a=1$\n"
	          "RewriteRule ^x$ /y [R=302]\n",
	          "/x /y 302 method=GET,HEAD if-header=X-Beta:~(?i)^1$ if-query=lang=fr "
	          "if-ip=10.1.0.0/16 if-cookie=!a=1");
	rules_are("apache",
	          "RewriteCond %{REMOTE_ADDR} -ipmatch 192.0.2.0/24\nRewriteRule ^x$ /y [R=302]\n",
	          "/x /y 302 if-ip=192.0.2.0/24");
	/* mod_rewrite runs before mod_alias whatever the order in the file */
	rules_are("apache", "Redirect 301 /a /b\nRewriteRule ^a$ /c [R=302]\n",
	          "/a /c 302\n/a /b 301\n/a/* /b/:splat 301");
}

static void test_skips(void **state)
{
	struct conv c;

	(void)state;
	conv(&c, "apache",
	     "RewriteRule ^a$ /b [L]\n"                                      /* 1 */
	     "RewriteRule ^a$ http://backend/ [P]\n"                         /* 2 */
	     "RewriteCond %{REQUEST_FILENAME} !-f\n"                         /* 3 */
	     "RewriteRule ^b$ /c [R]\n"                                      /* 4 */
	     "RewriteCond %{HTTPS} off\n"                                    /* 5 */
	     "RewriteRule ^c$ /d [R]\n"                                      /* 6 */
	     "RewriteCond %{HTTP_HOST} a [OR]\nRewriteCond %{HTTP_HOST} b\n" /* 7, 8 */
	     "RewriteRule ^d$ /e [R]\n"                                      /* 9 */
	     "RewriteRule ^e$ /%1 [R]\n"                                     /* 10 */
	     "Redirect 300 /f /g\n"                                          /* 11 */
	     "<Location /l>\nRedirect /m\n</Location>\n"                     /* 12-14 */
	     "RewriteRule ^(.*)$ https://%{HTTP_HOST}/$1 [R=301]\n"          /* 15 */
	     "RewriteCond %{TIME_HOUR} ^0\nRewriteRule ^g$ /h [R]\n"         /* 16, 17 */
	     "RewriteRule ^i$ /j [R=301,CO=a:b:c]\n");                       /* 18 */
	skipped(&c, 1, "not a redirect");
	skipped(&c, 2, "proxy");
	skipped(&c, 4, "detour has no files");
	skipped(&c, 6, "https-redirect");
	skipped(&c, 9, "[OR]");
	skipped(&c, 10, "RewriteCond back-reference");
	skipped(&c, 11, "status 300");
	skipped(&c, 13, "<Location>");
	skipped(&c, 15, "https-redirect");
	skipped(&c, 17, "TIME_HOUR");
	skipped(&c, 18, "flag CO");
	assert_int_equal(c.im.nskips, 11);
	assert_int_equal(c.im.nrules, 0);
	/* every source line is named in a comment, every skip too */
	assert_non_null(strstr(c.text, "# in:11: Redirect 300 /f /g\n# skipped: status 300"));
	conv_free(&c);
	conv(&c, "apache", "RewriteCond %{HTTP_HOST}\nRewriteRule ^a$ /b [R]\n");
	skipped(&c, 1, "expected RewriteCond");
	skipped(&c, 2, "a RewriteCond before it could not be read");
	conv_free(&c);
}

static void test_virtual_hosts(void **state)
{
	(void)state;
	rules_are("apache",
	          "<VirtualHost *:443>\n ServerName A.example\n ServerAlias *.b.example\n"
	          " Redirect 308 /x /y\n RewriteEngine on\n RewriteRule ^/z/(.*)$ /w/$1 [R=301]\n"
	          "</VirtualHost>\nRedirect /q /r\n",
	          "~^/z/(.*)$ /w/$1 301 if-header=Host:~(?i)^(a\\.example|[^/]+\\.b\\.example)"
	          "(:[0-9]+)?\\.?$\n"
	          "https://a.example/x /y 308\nhttps://*.b.example/x /y 308\n"
	          "https://a.example/x/* /y/:splat 308\nhttps://*.b.example/x/* /y/:splat 308\n"
	          "/q /r 302\n/q/* /r/:splat 302");
	/* the DocumentRoot's <Directory> is per-directory: no leading '/' */
	rules_are("apache",
	          "<VirtualHost *:80>\nServerName h.example\nDocumentRoot /srv/h\n"
	          "<Directory /srv/h/>\nRewriteRule ^a$ /b [R=301]\n</Directory>\n</VirtualHost>\n",
	          "//h.example/a /b 301");
}

static void test_continuation_and_quotes(void **state)
{
	(void)state;
	rules_are("apache", "Redirect 301 \\\n  /a \\\n  /b\r\n", "/a /b 301\n/a/* /b/:splat 301");
	rules_are("apache", "\xEF\xBB\xBFRedirect 301 '/a' \"/b\" # why\n",
	          "/a /b 301\n/a/* /b/:splat 301");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_redirect_prefix),
	        cmocka_unit_test(test_redirect_match),
	        cmocka_unit_test(test_rewrite_rule),
	        cmocka_unit_test(test_rewrite_conds),
	        cmocka_unit_test(test_skips),
	        cmocka_unit_test(test_virtual_hosts),
	        cmocka_unit_test(test_continuation_and_quotes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
