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

/* The length limit applies to the final URL, not to the T form the
 * resolution works in (docs/internals/follow.md): a '%' is 3 bytes there and
 * 1 in the result, a byte the browser encodes 5 there and 3 in the result. */
static char *long_ref(char fill, size_t n)
{
	char *r = malloc(n + 2);
	assert_non_null(r);
	r[0] = 'x';
	memset(r + 1, fill, n);
	r[n + 1] = 0;
	return r;
}

/* A result exactly cap - 1 bytes long resolves, and resolving it again (as
 * a command-line URL) gives it back; one byte more is DETOUR_ETOOBIG. */
static void test_resolve_long(void **state)
{
	(void)state;
	static char out[DETOUR_LOCATION_URL_MAX], again[DETOUR_LOCATION_URL_MAX];
	static const enum detour_as as[] = {DETOUR_AS_BROWSER, DETOUR_AS_CURL};
	const size_t prefix = strlen("http://a/b/c/x");
	for (size_t a = 0; a < 2; a++) {
		/* '%' (bare, kept as it is): T form 3 bytes, result 1 */
		size_t m = sizeof(out) - 1 - prefix;
		char *ref = long_ref('%', m);
		size_t n = 0, n2 = 0;
		assert_int_equal(detour_location_resolve(as[a], B, strlen(B), ref, strlen(ref), out,
		                                         sizeof(out), &n, NULL),
		                 DETOUR_OK);
		assert_int_equal(n, sizeof(out) - 1);
		assert_int_equal(strlen(out), n);
		assert_memory_equal(out, "http://a/b/c/x%%", 16);
		assert_int_equal(detour_location_resolve(as[a], NULL, 0, out, n, again,
		                                         sizeof(again), &n2, NULL),
		                 DETOUR_OK);
		assert_int_equal(n2, n);
		assert_memory_equal(again, out, n);
		free(ref);
		ref = long_ref('%', m + 1);
		assert_int_equal(detour_location_resolve(as[a], B, strlen(B), ref, strlen(ref), out,
		                                         sizeof(out), &n, NULL),
		                 DETOUR_ETOOBIG);
		free(ref);
	}

	/* NUL bytes inside (fuzz/regression/follow/crash-4d61...): "%00" in the
	 * result, 5 bytes each in the T form; a base with a fragment, which the
	 * result inherits. */
	static const char bf[] = "https://u:p@a.example:8443/b/c/d;p?q=1#frag";
	/* "x", k NULs, t "y"s: the result is exactly sizeof(out) - 1 bytes */
	size_t rest = sizeof(out) - 1 - strlen("https://u:p@a.example:8443/b/c/x#frag");
	size_t k = (rest - 1) / 3, t = rest - 3 * k;
	char *ref = long_ref(0, k + t);
	memset(ref + 1 + k, 'y', t);
	size_t n = 0, n2 = 0;
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, bf, strlen(bf), ref, 1 + k + t,
	                                         out, sizeof(out), &n, NULL),
	                 DETOUR_OK);
	assert_int_equal(n, sizeof(out) - 1);
	assert_memory_equal(out + n - 5 - t - 3, "%00y", 4);
	assert_memory_equal(out + n - 5, "#frag", 5);
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, NULL, 0, out, n, again,
	                                         sizeof(again), &n2, NULL),
	                 DETOUR_OK);
	assert_int_equal(n2, n);
	assert_memory_equal(again, out, n);
	/* one NUL more: 3 bytes too long once the fragment is inherited */
	free(ref);
	ref = long_ref(0, k + 1 + t);
	memset(ref + 2 + k, 'y', t);
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, bf, strlen(bf), ref, 2 + k + t,
	                                         out, sizeof(out), &n, NULL),
	                 DETOUR_ETOOBIG);
	free(ref);
}

/* The limit is DETOUR_LOCATION_URL_MAX bytes even when out is larger: a
 * longer result could not be resolved again. */
static void test_resolve_long_cap(void **state)
{
	(void)state;
	static char out[DETOUR_LOCATION_URL_MAX + 64];
	const size_t prefix = strlen("http://a/b/c/x");
	char *ref = long_ref('%', DETOUR_LOCATION_URL_MAX - prefix);
	size_t n = 0;
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, B, strlen(B), ref, strlen(ref),
	                                         out, sizeof(out), &n, NULL),
	                 DETOUR_OK);
	assert_int_equal(n, DETOUR_LOCATION_URL_MAX);
	free(ref);
	ref = long_ref('%', DETOUR_LOCATION_URL_MAX - prefix + 1);
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, B, strlen(B), ref, strlen(ref),
	                                         out, sizeof(out), &n, NULL),
	                 DETOUR_ETOOBIG);
	free(ref);
}

/* A result that long is the base of the next hop (a chain of redirects):
 * it parses as a base, whatever the reference. */
static void test_resolve_long_base(void **state)
{
	(void)state;
	static char base[DETOUR_LOCATION_URL_MAX], out[DETOUR_LOCATION_URL_MAX];
	/* "http://a/b/c/x%%%...%", 8191 bytes: 24,535 in the T form */
	size_t bl = sizeof(base) - 1, n = 0;
	memcpy(base, "http://a/b/c/x", 14);
	memset(base + 14, '%', bl - 14);
	base[bl] = 0;
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, base, bl, "../y", 4, out,
	                                         sizeof(out), &n, NULL),
	                 DETOUR_OK);
	assert_string_equal(out, "http://a/b/y");
	assert_int_equal(detour_location_resolve(DETOUR_AS_CURL, base, bl, "y?z", 3, out,
	                                         sizeof(out), &n, NULL),
	                 DETOUR_OK);
	assert_string_equal(out, "http://a/b/c/y?z");
	/* the empty reference gives the base back; a fragment makes it one
	 * byte too long */
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, base, bl, "", 0, out,
	                                         sizeof(out), &n, NULL),
	                 DETOUR_OK);
	assert_int_equal(n, bl);
	assert_memory_equal(out, base, bl);
	assert_int_equal(detour_location_resolve(DETOUR_AS_BROWSER, base, bl, "#", 1, out,
	                                         sizeof(out), &n, NULL),
	                 DETOUR_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_resolve),
	        cmocka_unit_test(test_resolve_small_buffer),
	        cmocka_unit_test(test_resolve_long),
	        cmocka_unit_test(test_resolve_long_cap),
	        cmocka_unit_test(test_resolve_long_base),
	};
	return cmocka_run_group_tests_name("location", tests, NULL, NULL);
}
