/* Unit tests for lib/srcset.c (WHATWG srcset parsing) and lib/cssurl.c
 * (CSS Syntax tokens holding URLs). Every input is read from a guard page:
 * a read past its end faults. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/cssurl.h"
#include "detour/srcset.h"

struct got {
	char s[4096];
	size_t n;
};

static void on_url(void *ud, const char *url, size_t len)
{
	struct got *g = ud;
	g->n += (size_t)snprintf(g->s + g->n, sizeof(g->s) - g->n, "[%.*s]", (int)len, url);
}

static const char *srcset(const char *v)
{
	static struct got g;
	struct guard gd;
	g.n = 0;
	g.s[0] = 0;
	size_t n = detour_srcset_parse(guard_copy(&gd, v, strlen(v)), strlen(v), on_url, &g);
	guard_free(&gd);
	/* The count is the number of candidates handed out. */
	size_t k = 0;
	for (const char *p = g.s; (p = strchr(p, '[')); p++)
		k++;
	assert_int_equal(n, k);
	return g.s;
}

static const char *css(const char *v)
{
	static struct got g;
	struct guard gd;
	g.n = 0;
	g.s[0] = 0;
	detour_cssurl_parse(guard_copy(&gd, v, strlen(v)), strlen(v), on_url, &g);
	guard_free(&gd);
	return g.s;
}

static void test_srcset(void **state)
{
	(void)state;
	assert_string_equal(srcset(""), "");
	assert_string_equal(srcset(" , ,, "), "");
	assert_string_equal(srcset("a.png"), "[a.png]");
	assert_string_equal(srcset("a.png 1x, b.png 2x"), "[a.png][b.png]");
	assert_string_equal(srcset("  a.png 100w,\n\tb.png 200w  "), "[a.png][b.png]");
	/* A URL is everything up to whitespace: commas inside it stay, and
	 * only trailing ones end the candidate. */
	assert_string_equal(srcset("a.png,b.png 2x"), "[a.png,b.png]");
	assert_string_equal(srcset("a.png,,, b.png"), "[a.png][b.png]");
	assert_string_equal(srcset("data:image/png;base64,AAAA 1x, c.png 2x"),
	                    "[data:image/png;base64,AAAA][c.png]");
	/* A comma right after the descriptors, or after whitespace. */
	assert_string_equal(srcset("a.png 1x,b.png 2x"), "[a.png][b.png]");
	assert_string_equal(srcset("a.png ,b.png"), "[a.png][b.png]");
	/* Valid descriptors: floats for x, w with h. */
	assert_string_equal(srcset("a 1.5x, b .5x, c 1e1x, d 0x, e -0x, f 10w 20h"),
	                    "[a][b][c][d][e][f]");
	/* Invalid ones drop their candidate, and only it. */
	assert_string_equal(srcset("a 2q, b 2x"), "[b]");
	assert_string_equal(srcset("a 0w, b 1x 2x, c 10w 1x, d 20h, e 1.x, f -1x, g 1w, h +1x"),
	                    "[g]");
	assert_string_equal(srcset("a 10w 5h 6h, b 0h 10w, c 10W"), "");
	/* Parentheses keep whitespace and commas in one descriptor (an
	 * invalid one here: the candidate is dropped, the next one kept). */
	assert_string_equal(srcset("a (x, y) 1x, b"), "[b]");
	assert_string_equal(srcset("a 1x (unclosed"), "");
	/* Descriptors at the end of the attribute. */
	assert_string_equal(srcset("a 1x"), "[a]");
	assert_string_equal(srcset("a 1x "), "[a]");
}

static void test_css(void **state)
{
	(void)state;
	assert_string_equal(css(""), "");
	assert_string_equal(css("a{background:url(a.png)}"), "[a.png]");
	assert_string_equal(css("a{background:URL( \"b c.png\" ) ; x: url('d.png')}"),
	                    "[b c.png][d.png]");
	assert_string_equal(css("a{b:url(  e.png  )}"), "[e.png]");
	/* Empty values are handed out (they name the sheet). */
	assert_string_equal(css("url() url('')"), "[][]");
	/* @import with a string or url(), any case, comments before it. */
	assert_string_equal(css("@import 'x.css'; @IMPORT /* c */ \"y.css\" screen;"
	                        "@import url(z.css);@media print{}"),
	                    "[x.css][y.css][z.css]");
	assert_string_equal(css("@importx 'no.css'; @charset \"utf-8\";"), "");
	/* Comments and strings hide what looks like a url. */
	assert_string_equal(css("/* url(no.png) */ a{content:'url(no2.png)'} "
	                        "b{c:\"\\\"url(no3)\"} url(yes.png)"),
	                    "[yes.png]");
	/* Names that end in url, hashes, dimensions are not url functions;
	 * a delimiter before the name does not matter. */
	assert_string_equal(css("-url(a) xurl(b) #url(c) 1url(d) 1.5url(e) u\\rl(f) +url(g) "
	                        "1%url(h) 1.url(i) url (j)"),
	                    "[f][g][h][i]");
	/* Escapes decoded: hex with its trailing whitespace, a character. */
	assert_string_equal(css("url(a\\20 b\\(c\\29.png) url('\\e9t\\E9 ') url(\\0)"),
	                    "[a b(c).png][\xc3\xa9t\xc3\xa9][\xef\xbf\xbd]");
	assert_string_equal(css("url(\\1F600) url(\\110000x) url(\\d800)"),
	                    "[\xf0\x9f\x98\x80][\xef\xbf\xbdx][\xef\xbf\xbd]");
	/* A line continuation in a string; CR LF after a hex escape. */
	assert_string_equal(css("url('a\\\nb') url('c\\\r\nd') url(e\\41\r\nf)"), "[ab][cd][eAf]");
	/* Bad urls: a quote, a parenthesis, whitespace inside, a
	 * non-printable character, a backslash before a newline. The rest
	 * of a bad url is skipped up to its ')'. */
	assert_string_equal(css("url(a\"b) url(a(b) url(a b) url(a\x01) url(a\\\nb) url(ok)"),
	                    "[ok]");
	assert_string_equal(css("url(a b url(hidden)) url(ok2)"), "[ok2]");
	/* A bad string (an unescaped newline) is not a URL; the newline
	 * ends it, and a later quote opens another string. */
	assert_string_equal(css("url('a\nb) url(ok)"), "[ok]");
	assert_string_equal(css("url('a\nb') url(no)"), "");
	/* EOF ends a url token and a string well. */
	assert_string_equal(css("url(a.png"), "[a.png]");
	assert_string_equal(css("url(  "), "[]");
	assert_string_equal(css("@import 'last.css"), "[last.css]");
	assert_string_equal(css("url(\"q"), "[q]");
	/* NUL becomes U+FFFD. */
	assert_string_equal(css("url(x"), "[x]");
	const char nul[] = "url(a\0b)";
	struct got g = {.n = 0};
	g.s[0] = 0;
	detour_cssurl_parse(nul, sizeof(nul) - 1, on_url, &g);
	assert_string_equal(g.s, "[a\xef\xbf\xbd"
	                         "b]");
	/* <!-- and --> are tokens of their own. */
	assert_string_equal(css("<!--url(a)-->url(b)"), "[a][b]");
	/* Truncated escapes at EOF. */
	assert_string_equal(css("url(a\\"), "");
	assert_string_equal(css("url('a\\"), "[a]");
	assert_string_equal(css("url(\\41"), "[A]");
}

static void test_css_long(void **state)
{
	(void)state;
	/* A value longer than 8 KiB is skipped, the next one kept. */
	size_t n = 9000;
	char *v = malloc(n + 64);
	assert_non_null(v);
	memcpy(v, "url(", 4);
	memset(v + 4, 'a', n);
	strcpy(v + 4 + n, ") url(b)");
	assert_string_equal(css(v), "[b]");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_srcset),
	        cmocka_unit_test(test_css),
	        cmocka_unit_test(test_css_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
