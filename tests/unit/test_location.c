/* Unit tests for lib/location.c: Location resolution (RFC 3986 §5.4,
 * WHATWG URL preprocessing, RFC 9110 §10.2.2) as a browser and as curl. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/location.h"

struct rcase {
	enum detour_as as;
	const char *base; /* NULL: absolute only */
	const char *ref;
	detour_err err;
	const char *want;
	unsigned flags; /* flags that must be set */
};

static const char B[] = "http://a/b/c/d;p?q";

static const struct rcase rcases[] = {
        /* RFC 3986 §5.4.1 normal examples */
        {DETOUR_AS_BROWSER, B, "g", DETOUR_OK, "http://a/b/c/g", DETOUR_LOC_RELATIVE},
        {DETOUR_AS_BROWSER, B, "./g", DETOUR_OK, "http://a/b/c/g", 0},
        {DETOUR_AS_BROWSER, B, "g/", DETOUR_OK, "http://a/b/c/g/", 0},
        {DETOUR_AS_BROWSER, B, "/g", DETOUR_OK, "http://a/g", 0},
        {DETOUR_AS_BROWSER, B, "//g", DETOUR_OK, "http://g/", DETOUR_LOC_RELATIVE},
        {DETOUR_AS_BROWSER, B, "?y", DETOUR_OK, "http://a/b/c/d;p?y", 0},
        {DETOUR_AS_BROWSER, B, "g?y", DETOUR_OK, "http://a/b/c/g?y", 0},
        {DETOUR_AS_BROWSER, B, "#s", DETOUR_OK, "http://a/b/c/d;p?q#s", 0},
        {DETOUR_AS_BROWSER, B, "g#s", DETOUR_OK, "http://a/b/c/g#s", 0},
        {DETOUR_AS_BROWSER, B, "g?y#s", DETOUR_OK, "http://a/b/c/g?y#s", 0},
        {DETOUR_AS_BROWSER, B, ";x", DETOUR_OK, "http://a/b/c/;x", 0},
        {DETOUR_AS_BROWSER, B, "g;x", DETOUR_OK, "http://a/b/c/g;x", 0},
        {DETOUR_AS_BROWSER, B, "", DETOUR_OK, "http://a/b/c/d;p?q", 0},
        {DETOUR_AS_BROWSER, B, ".", DETOUR_OK, "http://a/b/c/", 0},
        {DETOUR_AS_BROWSER, B, "./", DETOUR_OK, "http://a/b/c/", 0},
        {DETOUR_AS_BROWSER, B, "..", DETOUR_OK, "http://a/b/", 0},
        {DETOUR_AS_BROWSER, B, "../g", DETOUR_OK, "http://a/b/g", 0},
        {DETOUR_AS_BROWSER, B, "../..", DETOUR_OK, "http://a/", 0},
        {DETOUR_AS_BROWSER, B, "../../g", DETOUR_OK, "http://a/g", 0},
        /* §5.4.2 abnormal examples */
        {DETOUR_AS_BROWSER, B, "../../../g", DETOUR_OK, "http://a/g", 0},
        {DETOUR_AS_BROWSER, B, "/./g", DETOUR_OK, "http://a/g", 0},
        {DETOUR_AS_BROWSER, B, "/../g", DETOUR_OK, "http://a/g", 0},
        {DETOUR_AS_BROWSER, B, "g.", DETOUR_OK, "http://a/b/c/g.", 0},
        {DETOUR_AS_BROWSER, B, "..g", DETOUR_OK, "http://a/b/c/..g", 0},
        {DETOUR_AS_BROWSER, B, "./../g", DETOUR_OK, "http://a/b/g", 0},
        {DETOUR_AS_BROWSER, B, "g/./h", DETOUR_OK, "http://a/b/c/g/h", 0},
        {DETOUR_AS_BROWSER, B, "g;x=1/../y", DETOUR_OK, "http://a/b/c/y", 0},
        {DETOUR_AS_BROWSER, B, "g?y/./x", DETOUR_OK, "http://a/b/c/g?y/./x", 0},
        {DETOUR_AS_BROWSER, B, "g#s/../x", DETOUR_OK, "http://a/b/c/g#s/../x", 0},
        /* "http:g": RFC 3986 strict gives "http:g"; the WHATWG parser (and
         * §5.2.2's non-strict choice) reads it as relative. */
        {DETOUR_AS_BROWSER, B, "http:g", DETOUR_OK, "http://a/b/c/g", 0},
        {DETOUR_AS_BROWSER, B, "g:h", DETOUR_EUNSUPPORTED, "g:h", DETOUR_LOC_SCHEME},
        {DETOUR_AS_BROWSER, B, "mailto:x@y", DETOUR_EUNSUPPORTED, "mailto:x@y", DETOUR_LOC_SCHEME},
        {DETOUR_AS_BROWSER, B, "javascript:alert(1)", DETOUR_EUNSUPPORTED, "javascript:alert(1)",
         DETOUR_LOC_SCHEME},
        /* absolute, canonicalised */
        {DETOUR_AS_BROWSER, B, "HTTPS://Example.COM:443/X", DETOUR_OK, "https://example.com/X", 0},
        {DETOUR_AS_BROWSER, B, "http://h:80", DETOUR_OK, "http://h/", 0},
        {DETOUR_AS_BROWSER, B, "http://h:/p", DETOUR_OK, "http://h/p", 0},
        {DETOUR_AS_BROWSER, B, "//h:8080", DETOUR_OK, "http://h:8080/", 0},
        {DETOUR_AS_BROWSER, B, "https:example.com/x", DETOUR_OK, "https://example.com/x", 0},
        {DETOUR_AS_BROWSER, B, "http://u:pw@h/", DETOUR_OK, "http://u:pw@h/", DETOUR_LOC_USERINFO},
        {DETOUR_AS_BROWSER, B, "http://[::1]:8080/x", DETOUR_OK, "http://[::1]:8080/x", 0},
        /* spaces, non-ASCII, controls, characters RFC 3986 forbids */
        {DETOUR_AS_BROWSER, B, "/a b", DETOUR_OK, "http://a/a%20b", DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/caf\xc3\xa9", DETOUR_OK, "http://a/caf%C3%A9", DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/x?q=a b", DETOUR_OK, "http://a/x?q=a%20b", DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/x?q='\"<>", DETOUR_OK, "http://a/x?q=%27%22%3C%3E",
         DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/a{b}|c^", DETOUR_OK, "http://a/a%7Bb%7D|c^", DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/x?{q}|[]", DETOUR_OK, "http://a/x?{q}|[]", DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/x#a b`", DETOUR_OK, "http://a/x#a%20b%60", DETOUR_LOC_ENCODED},
        {DETOUR_AS_BROWSER, B, "/a%zz", DETOUR_OK, "http://a/a%zz", DETOUR_LOC_BAD_PCT},
        {DETOUR_AS_BROWSER, B, "/a%2Fb%41", DETOUR_OK, "http://a/a%2Fb%41", 0},
        {DETOUR_AS_BROWSER, B, "  /x\t\n/y \r\n", DETOUR_OK, "http://a/x/y", DETOUR_LOC_STRIPPED},
        {DETOUR_AS_BROWSER, B, "\\\\evil.example\\x", DETOUR_OK, "http://evil.example/x",
         DETOUR_LOC_BACKSLASH},
        {DETOUR_AS_BROWSER, B, "/\\evil.example", DETOUR_OK, "http://evil.example/",
         DETOUR_LOC_BACKSLASH},
        {DETOUR_AS_BROWSER, B, "///h/x", DETOUR_OK, "http://h/x", 0},
        {DETOUR_AS_BROWSER, B, "x:y/z", DETOUR_EUNSUPPORTED, "x:y/z", DETOUR_LOC_SCHEME},
        {DETOUR_AS_BROWSER, B, "1x:y", DETOUR_OK, "http://a/b/c/1x:y", 0},
        {DETOUR_AS_BROWSER, B, "http://h\xc3\xa9/", DETOUR_OK, "http://xn--h-bga/", DETOUR_LOC_IDN},
        /* UTS #46 as a browser: mapped (case, fullwidth dot), NFC, nontransitional
         * (ß stays), percent-encoded bytes decoded first; invalid: refused. */
        {DETOUR_AS_BROWSER, B,
         "http://B\xc3\xbc"
         "CHER.example/x",
         DETOUR_OK, "http://xn--bcher-kva.example/x", DETOUR_LOC_IDN},
        {DETOUR_AS_BROWSER, B, "http://fa\xc3\x9f.de/", DETOUR_OK, "http://xn--fa-hia.de/",
         DETOUR_LOC_IDN},
        {DETOUR_AS_BROWSER, B, "http://b%C3%BCcher.example/", DETOUR_OK,
         "http://xn--bcher-kva.example/", DETOUR_LOC_IDN},
        {DETOUR_AS_BROWSER, B,
         "http://u\xcc\x88"
         "ber.example/",
         DETOUR_OK, "http://xn--ber-goa.example/", DETOUR_LOC_IDN},
        {DETOUR_AS_BROWSER, B,
         "http://a\xef\xbc\x8e"
         "example/",
         DETOUR_OK, "http://a.example/", DETOUR_LOC_IDN},
        {DETOUR_AS_BROWSER, B, "http://x%2Fy.example/", DETOUR_EINVAL, NULL, 0},
        {DETOUR_AS_BROWSER, B, "http://a b/", DETOUR_EINVAL, "", 0},
        {DETOUR_AS_BROWSER, B, "http://h:99999/", DETOUR_EINVAL, "", 0},
        {DETOUR_AS_BROWSER, B, "http:///", DETOUR_EINVAL, "", 0},
        /* fragment inheritance, RFC 9110 §10.2.2 */
        {DETOUR_AS_BROWSER, "http://a/b#frag", "/c", DETOUR_OK, "http://a/c#frag",
         DETOUR_LOC_FRAGMENT},
        {DETOUR_AS_BROWSER, "http://a/b#frag", "/c#", DETOUR_OK, "http://a/c#", 0},
        {DETOUR_AS_BROWSER, "http://a/b#frag", "/c#new", DETOUR_OK, "http://a/c#new", 0},
        {DETOUR_AS_BROWSER, "http://a/b#f", "//other/", DETOUR_OK, "http://other/#f",
         DETOUR_LOC_FRAGMENT},
        /* curl: space %20 in the path and '+' in the query, lower-case hex,
         * no fragment inheritance, '\' kept */
        {DETOUR_AS_CURL, B, "/a b?q=c d", DETOUR_OK, "http://a/a%20b?q=c+d", DETOUR_LOC_ENCODED},
        {DETOUR_AS_CURL, B, "/caf\xc3\xa9", DETOUR_OK, "http://a/caf%c3%a9", DETOUR_LOC_ENCODED},
        {DETOUR_AS_CURL, "http://a/b#frag", "/c", DETOUR_OK, "http://a/c", 0},
        {DETOUR_AS_CURL, B, "/a{b}", DETOUR_OK, "http://a/a{b}", 0},
        /* absolute (command line) */
        {DETOUR_AS_BROWSER, NULL, "http://Example.com", DETOUR_OK, "http://example.com/", 0},
        {DETOUR_AS_BROWSER, NULL, "/relative", DETOUR_EINVAL, "", 0},
        {DETOUR_AS_BROWSER, NULL, "ftp://x/", DETOUR_EUNSUPPORTED, "ftp://x/", 0},
};

static void test_resolve(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		char out[DETOUR_LOCATION_URL_MAX];
		size_t n = 99;
		unsigned fl = 0;
		struct guard g;
		char *ref = guard_copy(&g, c->ref, strlen(c->ref));
		detour_err err =
		        detour_location_resolve(c->as, c->base, c->base ? strlen(c->base) : 0, ref,
		                                strlen(c->ref), out, sizeof(out), &n, &fl);
		guard_free(&g);
		if (err != c->err || (err == DETOUR_OK && strcmp(out, c->want)) ||
		    (c->flags & fl) != c->flags) {
			fprintf(stderr,
			        "case %zu: ref '%s': err %d want %d, got '%s' want '%s', "
			        "flags %#x want %#x\n",
			        i, c->ref, err, c->err, out, c->want, fl, c->flags);
			fail();
		}
		if (err == DETOUR_OK || err == DETOUR_EUNSUPPORTED)
			assert_int_equal(n, strlen(out));
		for (size_t k = 0; err == DETOUR_OK && k < n; k++)
			assert_true((unsigned char)out[k] > 0x20 && (unsigned char)out[k] < 0x7f);
	}
}

static void test_resolve_small_buffer(void **state)
{
	(void)state;
	char out[8];
	size_t n;
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, B, strlen(B), "/long/path", 10,
	                                         out, sizeof(out), &n, NULL),
	                 DETOUR_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_resolve),
	        cmocka_unit_test(test_resolve_small_buffer),
	};
	return cmocka_run_group_tests_name("location", tests, NULL, NULL);
}
