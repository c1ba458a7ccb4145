/* Unit tests for lib/links.c (gumbo) and lib/sitemap.c (libxml2, zlib). */
#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>

#include "unit.h"

#include "detour/links.h"
#include "detour/sitemap.h"

struct got {
	char s[4096];
	size_t n;
};

static void on_link(void *ud, enum detour_link_kind k, const char *url, size_t len)
{
	struct got *g = ud;
	assert_int_equal(strlen(url), len);
	g->n += (size_t)snprintf(g->s + g->n, sizeof(g->s) - g->n, "%s %s\n",
	                         detour_link_kind_name(k), url);
}

static const char *links(const char *html, const char *page)
{
	static struct got g;
	g.n = 0;
	g.s[0] = 0;
	assert_int_equal(detour_links_extract(html, strlen(html), page, on_link, &g), DETOUR_OK);
	return g.s;
}

static void test_kinds(void **state)
{
	(void)state;
	const char *html = "<!doctype html><html><head>"
	                   "<link rel=canonical href='/canon'>"
	                   "<link rel='alternate' hreflang=de href='https://de.example.test/seite'>"
	                   "<link rel=alternate type=application/rss+xml href=/feed>"
	                   "<link rel=stylesheet href=/s.css>"
	                   "<meta http-equiv=Refresh content='5; url=/later'>"
	                   "<script src=/app.js></script>"
	                   "</head><body>"
	                   "<a href=\"page2.html#frag\">x</a>"
	                   "<a href='#top'>top</a>"
	                   "<a href='mailto:a@b'>m</a><a href='javascript:void(0)'>j</a>"
	                   "<a>no href</a>"
	                   "<map><area href=/area></map>"
	                   "<img src=' img/a.png '>"
	                   "<iframe src=//other.test/frame></iframe>"
	                   "<form action=/submit method=post></form><form action=''></form>"
	                   "<a href='http://example.test/x y'>space</a>"
	                   "</body></html>";
	assert_string_equal(links(html, "http://example.test/dir/page.html"),
	                    "canonical http://example.test/canon\n"
	                    "alternate https://de.example.test/seite\n"
	                    "stylesheet http://example.test/s.css\n"
	                    "refresh http://example.test/later\n"
	                    "script http://example.test/app.js\n"
	                    "a http://example.test/dir/page2.html\n"
	                    "area http://example.test/area\n"
	                    "img http://example.test/dir/img/a.png\n"
	                    "iframe http://other.test/frame\n"
	                    "form http://example.test/submit\n"
	                    "a http://example.test/x%20y\n");
}

static void test_assets(void **state)
{
	(void)state;
	/* Every srcset candidate of <img> and <picture>'s <source>; url()
	 * and @import in <style> and style attributes, against the
	 * document's base URL. */
	const char *html =
	        "<!doctype html><html><head><base href='/b/'>"
	        "<link rel='preload stylesheet' href=main.css>"
	        "<style>@import 'imp.css'; body{background:url( bg.png )}"
	        "/* url(no.png) */ .x{content:'url(no2.png)'}</style>"
	        "</head><body style=\"background-image:url('body.png')\">"
	        "<picture><source srcset='s-1x.webp 1x, s-2x.webp 2x' type=image/webp>"
	        "<img src=fallback.jpg srcset='i-480.jpg 480w, i-800.jpg 800w, bad.jpg 0w,"
	        "data:image/png;base64,AAAA 3x'></picture>"
	        "<div style='x:url(#frag)'><span style='b:url(\"//cdn.test/s.svg\")'>"
	        "</span></div><img srcset=''>"
	        "<video><source src=v.mp4 srcset=no.mp4></video>"
	        "</body></html>";
	assert_string_equal(links(html, "http://example.test/dir/page"),
	                    "stylesheet http://example.test/b/main.css\n"
	                    "css http://example.test/b/imp.css\n"
	                    "css http://example.test/b/bg.png\n"
	                    "css http://example.test/b/body.png\n"
	                    "srcset http://example.test/b/s-1x.webp\n"
	                    "srcset http://example.test/b/s-2x.webp\n"
	                    "img http://example.test/b/fallback.jpg\n"
	                    "srcset http://example.test/b/i-480.jpg\n"
	                    "srcset http://example.test/b/i-800.jpg\n"
	                    "css http://cdn.test/s.svg\n");
	/* A fetched style sheet: its URLs resolve against its own URL. */
	static struct got g;
	g.n = 0;
	g.s[0] = 0;
	const char *sheet = "@import url(\"../base.css\");\n.a{background:url(img/a.png)}"
	                    ".b{background:url(data:image/gif;base64,R0lG)}";
	assert_int_equal(detour_links_css(sheet, strlen(sheet), "https://example.test/css/site.css",
	                                  on_link, &g),
	                 DETOUR_OK);
	assert_string_equal(g.s, "css https://example.test/base.css\n"
	                         "css https://example.test/css/img/a.png\n");
}

static void test_base(void **state)
{
	(void)state;
	/* The first <base href> applies to every link, even one before it. */
	const char *html = "<a href=a1>1</a><base href='https://cdn.test/root/'>"
	                   "<base href='/ignored/'><a href=a2>2</a><img src=/abs.png>";
	assert_string_equal(links(html, "http://example.test/p/q"),
	                    "a https://cdn.test/root/a1\n"
	                    "a https://cdn.test/root/a2\n"
	                    "img https://cdn.test/abs.png\n");
	/* A relative base resolves against the page. */
	assert_string_equal(links("<base href=sub/><a href=x>", "http://e.test/d/p"),
	                    "a http://e.test/d/sub/x\n");
}

static void test_broken_html(void **state)
{
	(void)state;
	/* Tag soup: the parser recovers as a browser does. Text inside
	 * <script> and comments is not markup. */
	const char *html = "<p><a href=/one>one<p><a href=/two>two"
	                   "<!-- <a href=/commented> -->"
	                   "<script>var s = '<a href=/inscript>';</script>"
	                   "<textarea><a href=/intext></textarea>"
	                   "<a href=/three";
	assert_string_equal(links(html, "http://e.test/"), "a http://e.test/one\n"
	                                                   "a http://e.test/two\n");
	assert_string_equal(links("", "http://e.test/"), "");
	/* Character references are decoded. */
	assert_string_equal(links("<a href='/q?a=1&amp;b=2'>", "http://e.test/"),
	                    "a http://e.test/q?a=1&b=2\n");
}

static void on_loc(void *ud, bool index, const char *loc, size_t len)
{
	struct got *g = ud;
	assert_int_equal(strlen(loc), len);
	g->n += (size_t)snprintf(g->s + g->n, sizeof(g->s) - g->n, "%s %s\n",
	                         index ? "index" : "page", loc);
}

static detour_err sitemap(const char *buf, size_t len, struct got *g)
{
	g->n = 0;
	g->s[0] = 0;
	return detour_sitemap_parse(buf, len, on_loc, g);
}

static const char urlset[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
        "  <url><loc> https://e.test/a </loc><lastmod>2026-01-01</lastmod></url>\n"
        "  <url><loc>https://e.test/b?x=1&amp;y=2</loc></url>\n"
        "  <url><priority>1</priority></url>\n"
        "  <other><loc>https://e.test/not</loc></other>\n"
        "</urlset>\n";

static void test_sitemap(void **state)
{
	(void)state;
	struct got g;
	assert_int_equal(sitemap(urlset, strlen(urlset), &g), DETOUR_OK);
	assert_string_equal(g.s, "page https://e.test/a\npage https://e.test/b?x=1&y=2\n");

	const char *idx = "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
	                  "<sitemap><loc>https://e.test/s1.xml</loc></sitemap>"
	                  "<sitemap><loc>https://e.test/s2.xml.gz</loc></sitemap>"
	                  "</sitemapindex>";
	assert_int_equal(sitemap(idx, strlen(idx), &g), DETOUR_OK);
	assert_string_equal(g.s, "index https://e.test/s1.xml\nindex https://e.test/s2.xml.gz\n");

	const char *txt = "https://e.test/1\r\n\nhttps://e.test/2";
	assert_int_equal(sitemap(txt, strlen(txt), &g), DETOUR_OK);
	assert_string_equal(g.s, "page https://e.test/1\npage https://e.test/2\n");

	const char *bad = "<urlset><url><loc>x</loc>";
	assert_int_equal(sitemap(bad, strlen(bad), &g), DETOUR_EINVAL);
	const char *other = "<html><a href=x/></html>";
	assert_int_equal(sitemap(other, strlen(other), &g), DETOUR_EINVAL);
	/* An external entity is never loaded, an internal one not expanded
	 * into <loc>. */
	const char *xxe = "<?xml version='1.0'?><!DOCTYPE u [<!ENTITY x SYSTEM "
	                  "'file:///etc/passwd'>]><urlset><url><loc>&x;</loc></url></urlset>";
	assert_int_equal(sitemap(xxe, strlen(xxe), &g), DETOUR_OK);
	assert_null(strstr(g.s, "root:"));
}

static void test_sitemap_gzip(void **state)
{
	(void)state;
	struct got g;
	unsigned char gz[1024];
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
	                 Z_OK);
	z.next_in = (Bytef *)urlset;
	z.avail_in = (uInt)strlen(urlset);
	z.next_out = gz;
	z.avail_out = sizeof(gz);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = sizeof(gz) - z.avail_out;
	deflateEnd(&z);
	assert_int_equal(sitemap((char *)gz, n, &g), DETOUR_OK);
	assert_string_equal(g.s, "page https://e.test/a\npage https://e.test/b?x=1&y=2\n");
	/* Cut short: corrupt. */
	assert_int_equal(sitemap((char *)gz, n / 2, &g), DETOUR_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kinds),   cmocka_unit_test(test_assets),
	        cmocka_unit_test(test_base),    cmocka_unit_test(test_broken_html),
	        cmocka_unit_test(test_sitemap), cmocka_unit_test(test_sitemap_gzip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
