/* Unit tests for lib/url.c: every input goes through guard_copy() so that a
 * read past its end faults. */
#include <stdio.h>
#include <time.h>

#include "unit.h"

#include "detour/url.h"

/* ---- parse ---------------------------------------------------------- */

/* Expected slices: NULL means absent; "" means present and empty. */
struct parse_case {
	const char *in;
	detour_err rc;
	const char *scheme, *userinfo, *host, *port, *path, *query, *fragment;
	bool has_authority;
	int port_num;
};

#define BAD(s)                                                                                     \
	{                                                                                          \
		s, DETOUR_EINVAL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, -1              \
	}

static const struct parse_case parse_cases[] = {
        {"http://a/b/c/d;p?q", 0, "http", NULL, "a", NULL, "/b/c/d;p", "q", NULL, true, -1},
        {"https://user:pw@Example.COM:8443/x/y?a=1&b=2#frag", 0, "https", "user:pw", "Example.COM",
         "8443", "/x/y", "a=1&b=2", "frag", true, 8443},
        {"http://h:/", 0, "http", NULL, "h", "", "/", NULL, NULL, true, -1},
        {"http://h:0", 0, "http", NULL, "h", "0", "", NULL, NULL, true, 0},
        {"http://h:65535", 0, "http", NULL, "h", "65535", "", NULL, NULL, true, 65535},
        {"http://h:00080/", 0, "http", NULL, "h", "00080", "/", NULL, NULL, true, 80},
        {"http://[::1]:8080/p", 0, "http", NULL, "[::1]", "8080", "/p", NULL, NULL, true, 8080},
        {"http://[2001:db8::7]", 0, "http", NULL, "[2001:db8::7]", NULL, "", NULL, NULL, true, -1},
        {"http://[::ffff:192.0.2.1]/", 0, "http", NULL, "[::ffff:192.0.2.1]", NULL, "/", NULL, NULL,
         true, -1},
        {"//[1:2:3:4:5:6:7:8]", 0, NULL, NULL, "[1:2:3:4:5:6:7:8]", NULL, "", NULL, NULL, true, -1},
        {"//[1:2:3:4:5:6:1.2.3.4]", 0, NULL, NULL, "[1:2:3:4:5:6:1.2.3.4]", NULL, "", NULL, NULL,
         true, -1},
        {"//[1:2:3:4:5:6:7::]", 0, NULL, NULL, "[1:2:3:4:5:6:7::]", NULL, "", NULL, NULL, true, -1},
        {"//[::2:3:4:5:6:7:8]", 0, NULL, NULL, "[::2:3:4:5:6:7:8]", NULL, "", NULL, NULL, true, -1},
        {"//[::]", 0, NULL, NULL, "[::]", NULL, "", NULL, NULL, true, -1},
        {"//[v1.fe:x!]", 0, NULL, NULL, "[v1.fe:x!]", NULL, "", NULL, NULL, true, -1},
        {"//[VA.b]", 0, NULL, NULL, "[VA.b]", NULL, "", NULL, NULL, true, -1},
        {"http://192.0.2.1:80", 0, "http", NULL, "192.0.2.1", "80", "", NULL, NULL, true, 80},
        {"http://%65x.com/", 0, "http", NULL, "%65x.com", NULL, "/", NULL, NULL, true, -1},
        {"http://@h", 0, "http", "", "h", NULL, "", NULL, NULL, true, -1},
        {"file:///etc/passwd", 0, "file", NULL, "", NULL, "/etc/passwd", NULL, NULL, true, -1},
        {"mailto:a@b.c", 0, "mailto", NULL, NULL, NULL, "a@b.c", NULL, NULL, false, -1},
        {"urn:isbn:0451450523", 0, "urn", NULL, NULL, NULL, "isbn:0451450523", NULL, NULL, false,
         -1},
        {"a+b-c.d:x", 0, "a+b-c.d", NULL, NULL, NULL, "x", NULL, NULL, false, -1},
        {"g:h", 0, "g", NULL, NULL, NULL, "h", NULL, NULL, false, -1},
        {"http:", 0, "http", NULL, NULL, NULL, "", NULL, NULL, false, -1},
        {"http:g", 0, "http", NULL, NULL, NULL, "g", NULL, NULL, false, -1},
        {"", 0, NULL, NULL, NULL, NULL, "", NULL, NULL, false, -1},
        {"/x?", 0, NULL, NULL, NULL, NULL, "/x", "", NULL, false, -1},
        {"/x#", 0, NULL, NULL, NULL, NULL, "/x", NULL, "", false, -1},
        {"?", 0, NULL, NULL, NULL, NULL, "", "", NULL, false, -1},
        {"#", 0, NULL, NULL, NULL, NULL, "", NULL, "", false, -1},
        {"?y", 0, NULL, NULL, NULL, NULL, "", "y", NULL, false, -1},
        {"#s/../x", 0, NULL, NULL, NULL, NULL, "", NULL, "s/../x", false, -1},
        {"g;x?y#s", 0, NULL, NULL, NULL, NULL, "g;x", "y", "s", false, -1},
        {"./a:b", 0, NULL, NULL, NULL, NULL, "./a:b", NULL, NULL, false, -1},
        {"a/b:c", 0, NULL, NULL, NULL, NULL, "a/b:c", NULL, NULL, false, -1},
        {"/a:b", 0, NULL, NULL, NULL, NULL, "/a:b", NULL, NULL, false, -1},
        {"//g", 0, NULL, NULL, "g", NULL, "", NULL, NULL, true, -1},
        {"//", 0, NULL, NULL, "", NULL, "", NULL, NULL, true, -1},
        {"///x", 0, NULL, NULL, "", NULL, "/x", NULL, NULL, true, -1},
        {"/p%2Fq%7e?q=%41?/#f?/", 0, NULL, NULL, NULL, NULL, "/p%2Fq%7e", "q=%41?/", "f?/", false,
         -1},
        {"/!$&'()*+,;=:@-._~", 0, NULL, NULL, NULL, NULL, "/!$&'()*+,;=:@-._~", NULL, NULL, false,
         -1},
        BAD("1a:b"),
        BAD("-x:y"),
        BAD("a:b c"),
        BAD("/a b"),
        BAD("/a\tb"),
        BAD("/a\\b"),
        BAD("/\"x"),
        BAD("/<x>"),
        BAD("/a^b"),
        BAD("/a`b"),
        BAD("/{x}"),
        BAD("/a|b"),
        BAD("/x\x7f"),
        BAD("/caf\xc3\xa9"),
        BAD("/a%"),
        BAD("/a%4"),
        BAD("/a%zz"),
        BAD("/a%%41"),
        BAD("/x?%g0"),
        BAD("/x#a#b"),
        BAD("/x#%"),
        BAD("/[x]"),
        BAD("http://h:65536/"),
        BAD("http://h:99999999999999999999/"),
        BAD("http://h:8a/"),
        BAD("http://h:-1/"),
        BAD("http://a@b@c/"),
        BAD("http://h[/"),
        BAD("http://a b/"),
        BAD("http://u[@h/"),
        BAD("http://[::1/"),
        BAD("http://[::1]x/"),
        BAD("http://[]/"),
        BAD("http://[:]/"),
        BAD("http://[:::]/"),
        BAD("http://[1::2::3]/"),
        BAD("http://[:1::]/"),
        BAD("http://[1:]/"),
        BAD("http://[12345::]/"),
        BAD("http://[1:2:3:4:5:6:7]/"),
        BAD("http://[1:2:3:4:5:6:7:8:9]/"),
        BAD("http://[1:2:3:4:5:6:7:8::]/"),
        BAD("http://[1:2:3:4:5:6:7:1.2.3.4]/"),
        BAD("http://[1.2.3.4]/"),
        BAD("http://[::1.2.3.256]/"),
        BAD("http://[::01.2.3.4]/"),
        BAD("http://[::1.2.3]/"),
        BAD("http://[::1.2.3.4:5]/"),
        BAD("http://[::1%25eth0]/"),
        BAD("http://[v.x]/"),
        BAD("http://[v1x]/"),
        BAD("http://[v1.]/"),
        BAD("http://[v1./]/"),
        BAD("http://h\r\n/"),
};

static void expect_slice(const char *in, const char *what, struct detour_slice s, const char *exp,
                         const char *base)
{
	if (!exp) {
		if (s.p) {
			print_error("%s: %s should be absent, got '%.*s'\n", in, what, (int)s.len,
			            s.p);
			fail();
		}
		return;
	}
	if (!s.p) {
		print_error("%s: %s absent, expected '%s'\n", in, what, exp);
		fail();
	}
	if (s.len != strlen(exp) || memcmp(s.p, exp, s.len) != 0) {
		print_error("%s: %s = '%.*s', expected '%s'\n", in, what, (int)s.len, s.p, exp);
		fail();
	}
	/* the slice points into the parsed string */
	assert_true(s.p >= base);
}

static void test_parse(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(parse_cases) / sizeof(parse_cases[0]); k++) {
		const struct parse_case *c = &parse_cases[k];
		size_t n = strlen(c->in);
		struct guard g;
		char *s = guard_copy(&g, c->in, n);
		struct detour_url u;
		detour_err rc = detour_url_parse(s, n, &u);
		if (rc != c->rc) {
			print_error("parse '%s': rc %d, expected %d\n", c->in, rc, c->rc);
			fail();
		}
		if (rc == DETOUR_OK) {
			expect_slice(c->in, "scheme", u.scheme, c->scheme, s);
			expect_slice(c->in, "userinfo", u.userinfo, c->userinfo, s);
			expect_slice(c->in, "host", u.host, c->host, s);
			expect_slice(c->in, "port", u.port, c->port, s);
			expect_slice(c->in, "path", u.path, c->path, s);
			expect_slice(c->in, "query", u.query, c->query, s);
			expect_slice(c->in, "fragment", u.fragment, c->fragment, s);
			assert_int_equal(u.has_authority, c->has_authority);
			assert_int_equal(u.port_num, c->port_num);
			assert_non_null(u.path.p);
		}
		guard_free(&g);
	}
}

static void test_parse_nul_and_empty(void **state)
{
	(void)state;
	struct detour_url u;
	struct guard g;
	char *s = guard_copy(&g, "/a\0b", 4);
	assert_int_equal(detour_url_parse(s, 4, &u), DETOUR_EINVAL);
	guard_free(&g);
	/* a zero-length input right before the guard page */
	s = guard_copy(&g, "", 0);
	assert_int_equal(detour_url_parse(s, 0, &u), DETOUR_OK);
	assert_non_null(u.path.p);
	assert_int_equal(u.path.len, 0);
	assert_null(u.scheme.p);
	assert_null(u.query.p);
	guard_free(&g);
	assert_int_equal(detour_url_parse(NULL, 0, &u), DETOUR_OK);
	assert_non_null(u.path.p);
	assert_int_equal(detour_url_parse(NULL, 1, &u), DETOUR_EINVAL);
	/* every byte 0x80..0xFF and every CTL is refused in every part */
	for (int b = 0; b < 256; b++) {
		if (b >= 0x21 && b < 0x7f)
			continue;
		char buf[16] = "http://h/x?y#z";
		for (int pos = 7; pos < 14; pos++) {
			char t[16];
			memcpy(t, buf, 14);
			t[pos] = (char)b;
			s = guard_copy(&g, t, 14);
			assert_int_equal(detour_url_parse(s, 14, &u), DETOUR_EINVAL);
			guard_free(&g);
		}
	}
}

/* ---- normalize_path ------------------------------------------------- */

struct norm_case {
	const char *in;
	const char *out; /* NULL: -1 expected */
};

static const struct norm_case norm_cases[] = {
        {"/", "/"},
        {"/a", "/a"},
        {"/a/", "/a/"},
        {"/a/b/../c", "/a/c"},
        {"/a/./b", "/a/b"},
        {"/a/b/..", "/a/"},
        {"/a/b/.", "/a/b/"},
        {"/a/b/../..", "/"},
        {"/..", "/"},
        {"/.", "/"},
        {"/../", "/"},
        {"/./", "/"},
        {"/../../x", "/x"},
        {"/a/../../b/./c/", "/b/c/"},
        {"/%2e%2E/x", "/x"},
        {"/a/%2E", "/a/"},
        {"/a/b/.%2e/c", "/a/c"},
        {"/a/%2e./c", "/c"},
        {"/a/%2E%2e%2E", "/a/..."},
        {"/...", "/..."},
        {"/..a/.b/a.", "/..a/.b/a."},
        {"//", "//"},
        {"//x", "//x"},
        {"//x/..", "//"},
        {"/a//b", "/a//b"},
        {"/a//../b", "/a/b"},
        {"/a%2fb", "/a%2Fb"},
        {"/a%2Fb", "/a%2Fb"},
        {"/%2f/..", "/"},
        {"/%7E", "/~"},
        {"/%7e", "/~"},
        {"/%41%5a%61%7a%30%39%2d%2e%5f", "/AZaz09-._"},
        {"/%41", "/A"},
        {"/%c3%a9", "/%C3%A9"},
        {"/%25", "/%25"},
        {"/%252e", "/%252e"},
        {"/%2525%2e", "/%2525."},
        {"/%20%3f%23%3a%40%26", "/%20%3F%23%3A%40%26"},
        {"/%00", "/%00"},
        {"/!$&'()*+,;=:@-._~", "/!$&'()*+,;=:@-._~"},
        {"/p/:x@y", "/p/:x@y"},
        {"/%", NULL},
        {"/%4", NULL},
        {"/a%zz", NULL},
        {"/a%g1", NULL},
        {"/%%", NULL},
        {"/%%41", NULL},
        {"/?", "/%3F"},
        {"/a?b", "/a%3Fb"},
        {"/a#b", "/a%23b"},
        {"/a b", NULL},
        {"/a\\b", "/a%5Cb"},
        {"/a|b", "/a%7Cb"},
        {"/a%7cb", "/a%7Cb"},
        {"/a^b`c{d}", "/a%5Eb%60c%7Bd%7D"},
        {"/a\"b", "/a%22b"},
        {"/[x]", "/%5Bx%5D"},
        {"/caf\xc3\xa9", "/caf%C3%A9"},
        {"/a\x7f"
         "b",
         NULL},
        {"/a\tb", NULL},
        {"", NULL},
        {"a/b", NULL},
        {"*", NULL},
};

static void test_normalize(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(norm_cases) / sizeof(norm_cases[0]); k++) {
		const struct norm_case *c = &norm_cases[k];
		size_t n = strlen(c->in);
		struct guard g, go;
		char *s = guard_copy(&g, c->in, n);
		/* the output buffer is exactly 3 * len bytes (the most it can
		 * need), also before a guard page */
		static const char zeros[768];
		char *out = guard_copy(&go, zeros, 3 * n);
		ssize_t r = detour_url_normalize_path(s, n, out, 3 * n);
		if (!c->out) {
			if (r != -1) {
				print_error("normalize '%s': got %zd, expected -1\n", c->in, r);
				fail();
			}
		} else {
			if (r < 0 || (size_t)r != strlen(c->out) ||
			    memcmp(out, c->out, (size_t)r)) {
				print_error("normalize '%s': got '%.*s' (%zd), expected '%s'\n",
				            c->in, r < 0 ? 0 : (int)r, out, r, c->out);
				fail();
			}
			/* idempotent */
			char again[128];
			ssize_t r2 =
			        detour_url_normalize_path(out, (size_t)r, again, sizeof(again));
			assert_int_equal(r2, r);
			assert_memory_equal(again, out, (size_t)r);
			/* exact fit, through the bounds-checked loop when r < n:
			 * works unless a segment was written and then removed
			 * (a dot segment); either way nothing lands past cap */
			char exact[128];
			memset(exact, 'Z', sizeof(exact));
			ssize_t re = detour_url_normalize_path(s, n, exact, (size_t)r);
			bool dots =
			        strchr(c->in, '.') || strstr(c->in, "%2e") || strstr(c->in, "%2E");
			if (!dots || re != -1) {
				assert_int_equal(re, r);
				assert_memory_equal(exact, c->out, (size_t)r);
			}
			assert_int_equal(exact[r], 'Z');
			/* too small a buffer: -1, and no write past cap */
			if (r > 0) {
				char small[128];
				memset(small, 'Z', sizeof(small));
				assert_int_equal(
				        detour_url_normalize_path(s, n, small, (size_t)r - 1), -1);
				assert_int_equal(small[r - 1], 'Z');
			}
		}
		guard_free(&go);
		guard_free(&g);
	}
}

static void test_normalize_no_nul(void **state)
{
	(void)state;
	/* no NUL is read or written; out[r..len) may hold scratch bytes, but
	 * nothing at or past len is touched */
	char out[16];
	memset(out, 'Z', sizeof(out));
	ssize_t r = detour_url_normalize_path("/a/b/../cXXXX", 9, out, sizeof(out));
	assert_int_equal(r, 4);
	assert_memory_equal(out, "/a/c", 4);
	assert_memory_equal(out + 9, "ZZZZZZZ", 7);
	assert_null(memchr(out, 0, sizeof(out)));
}

/* ---- resolve -------------------------------------------------------- */

struct res_case {
	const char *ref;
	const char *out;
};

/* RFC 3986 §5.4.1 and §5.4.2, base "http://a/b/c/d;p?q", every example. */
static const struct res_case rfc_cases[] = {
        {"g:h", "g:h"},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q#s"},
        {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        /* §5.4.2 abnormal examples */
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g#s/./x"},
        {"g#s/../x", "http://a/b/c/g#s/../x"},
        {"http:g", "http:g"}, /* strict parser */
        /* more */
        {"//h/x", "http://h/x"},
        {"//h/x/../y?q#f", "http://h/y?q#f"},
        {"//u@h:81", "http://u@h:81"},
        {"//h:", "http://h:"},
        {"#f", "http://a/b/c/d;p?q#f"},
        {"?", "http://a/b/c/d;p?"},
        {"#", "http://a/b/c/d;p?q#"},
        {"https://x.test/a/./b/../c", "https://x.test/a/c"},
        {"HTTP://A/%7e", "HTTP://A/%7e"},
        {"/", "http://a/"},
        {"/a//b/../c", "http://a/a//c"},
};

static void resolve_ok(const char *base, const char *ref, const char *exp)
{
	size_t bl = strlen(base), rl = strlen(ref);
	struct guard gb, gr;
	char *b = guard_copy(&gb, base, bl);
	char *r = guard_copy(&gr, ref, rl);
	char out[256];
	size_t n = 12345;
	memset(out, 'Z', sizeof(out));
	detour_err rc = detour_url_resolve(b, bl, r, rl, out, sizeof(out), &n);
	if (rc != DETOUR_OK || n != strlen(exp) || strcmp(out, exp) != 0) {
		print_error("resolve '%s' against '%s': rc %d '%s', expected '%s'\n", ref, base, rc,
		            rc ? "" : out, exp);
		fail();
	}
	/* base_len + ref_len + 2 bytes are always enough; so is n + 1 when no
	 * dot segment is removed; n bytes (no room for the NUL) never are */
	char small[256];
	size_t n2 = 0;
	assert_int_equal(detour_url_resolve(b, bl, r, rl, small, bl + rl + 2, &n2), DETOUR_OK);
	assert_int_equal(n2, n);
	assert_string_equal(small, exp);
	if (!strstr(ref, "."))
		assert_int_equal(detour_url_resolve(b, bl, r, rl, small, n + 1, &n2), DETOUR_OK);
	assert_int_equal(detour_url_resolve(b, bl, r, rl, small, n, &n2), DETOUR_ETOOBIG);
	guard_free(&gr);
	guard_free(&gb);
}

static void test_resolve_rfc(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(rfc_cases) / sizeof(rfc_cases[0]); k++)
		resolve_ok("http://a/b/c/d;p?q", rfc_cases[k].ref, rfc_cases[k].out);
}

static void test_resolve_other_bases(void **state)
{
	(void)state;
	/* base with an authority and an empty path: merge gives "/" + ref */
	resolve_ok("http://a", "g", "http://a/g");
	resolve_ok("http://a", "", "http://a");
	resolve_ok("http://a", "?x", "http://a?x");
	resolve_ok("http://a:8080?q", "./g/../h", "http://a:8080/h");
	/* base without authority */
	resolve_ok("mailto:x@y", "z", "mailto:z");
	resolve_ok("urn:a:b", "#f", "urn:a:b#f");
	resolve_ok("foo:a/b/c", "../d", "foo:a/d");
	resolve_ok("foo:/a/b", "c", "foo:/a/c");
	/* a base fragment is never carried over */
	resolve_ok("http://a/b#frag", "", "http://a/b");
	resolve_ok("http://a/b#frag", "c", "http://a/c");
	resolve_ok("http://[::1]:80/x/y", "z", "http://[::1]:80/x/z");
	resolve_ok("http://u:p@h/", "../../..", "http://u:p@h/");
	/* no authority and a path that would start with "//": "/." keeps the
	 * result a path instead of turning x into a host */
	resolve_ok("t:/a", "t:/.//x", "t:/.//x");
	resolve_ok("t:/a", "/..//x/y", "t:/.//x/y");
	resolve_ok("t:/a/b", "..//x", "t:/.//x");
	resolve_ok("t:/a", "t:/.//:.", "t:/.//:.");
}

static void test_resolve_errors(void **state)
{
	(void)state;
	char out[64];
	size_t n;
	/* base not absolute */
	assert_int_equal(detour_url_resolve("/a/b", 4, "c", 1, out, sizeof(out), &n),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_url_resolve("//a/b", 5, "c", 1, out, sizeof(out), &n),
	                 DETOUR_EINVAL);
	/* either does not parse */
	assert_int_equal(detour_url_resolve("http://a b/", 11, "c", 1, out, sizeof(out), &n),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_url_resolve("http://a/", 9, "c d", 3, out, sizeof(out), &n),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_url_resolve("http://a/", 9, "1:x", 3, out, sizeof(out), &n),
	                 DETOUR_EINVAL);
	assert_int_equal(
	        detour_url_resolve("http://a/", 9, "/\r\nSet-Cookie:x", 15, out, sizeof(out), &n),
	        DETOUR_EINVAL);
	/* too small, including cap 0 */
	assert_int_equal(detour_url_resolve("http://a/", 9, "x", 1, out, 0, &n), DETOUR_ETOOBIG);
	assert_int_equal(detour_url_resolve("http://a/", 9, "x", 1, out, 5, &n), DETOUR_ETOOBIG);
	assert_int_equal(detour_url_resolve("http://a/", 9, "x", 1, out, 11, &n), DETOUR_OK);
	assert_string_equal(out, "http://a/x");
	assert_int_equal(n, 10);
}

/* ---- encode --------------------------------------------------------- */

struct enc_case {
	enum detour_url_enc mode;
	const char *in;
	size_t len; /* 0: strlen */
	const char *out;
};

#define SEG  DETOUR_ENC_SEGMENT
#define PATH DETOUR_ENC_PATH
#define QRY  DETOUR_ENC_QUERY

static const struct enc_case enc_cases[] = {
        {SEG, "abc-._~XYZ019", 0, "abc-._~XYZ019"},
        {PATH, "abc-._~XYZ019", 0, "abc-._~XYZ019"},
        {QRY, "abc-._~XYZ019", 0, "abc-._~XYZ019"},
        {SEG, "a\r\nb", 0, "a%0D%0Ab"},
        {PATH, "a\r\nSet-Cookie: x", 0, "a%0D%0ASet-Cookie%3A%20x"},
        {QRY, "a\r\nb", 0, "a%0D%0Ab"},
        {SEG, "a\0b", 3, "a%00b"},
        {PATH, "a\0b", 3, "a%00b"},
        {QRY, "a\0b", 3, "a%00b"},
        {SEG, "a b", 0, "a%20b"},
        {QRY, "a b", 0, "a%20b"},
        {SEG, "caf\xc3\xa9", 0, "caf%C3%A9"},
        {PATH, "caf\xc3\xa9", 0, "caf%C3%A9"},
        {QRY, "\xff\x80", 0, "%FF%80"},
        {SEG, "\t\x1f\x7f", 0, "%09%1F%7F"},
        {SEG, "\"<>\\^`{|}", 0, "%22%3C%3E%5C%5E%60%7B%7C%7D"},
        {PATH, "\"<>\\^`{|}", 0, "%22%3C%3E%5C%5E%60%7B%7C%7D"},
        {QRY, "\"<>\\^`{|}", 0, "%22%3C%3E%5C%5E%60%7B%7C%7D"},
        {PATH, "//evil.com", 0, "/%2Fevil.com"},
        {PATH, "///evil.com", 0, "/%2F/evil.com"},
        {PATH, "/\\evil.com", 0, "/%5Cevil.com"},
        {SEG, "//evil.com", 0, "%2F%2Fevil.com"},
        {QRY, "//evil.com", 0, "//evil.com"},
        {PATH, "/a//b", 0, "/a//b"},
        {PATH, "a/b/c", 0, "a/b/c"},
        {PATH, "/", 0, "/"},
        {SEG, "a/b", 0, "a%2Fb"},
        {SEG, ":javascript", 0, "%3Ajavascript"},
        {PATH, ":javascript", 0, "%3Ajavascript"},
        {QRY, ":javascript", 0, ":javascript"},
        {SEG, "javascript:alert(1)", 0, "javascript%3Aalert(1)"},
        {PATH, "javascript:alert(1)", 0, "javascript%3Aalert(1)"},
        {PATH, "a:b/c:d", 0, "a%3Ab/c:d"},
        {PATH, "/a:b", 0, "/a:b"},
        {SEG, "%41", 0, "%41"},
        {PATH, "%41", 0, "%41"},
        {QRY, "%41", 0, "%41"},
        {SEG, "%2f%2F", 0, "%2f%2F"},
        {SEG, "%zz", 0, "%25zz"},
        {PATH, "%zz", 0, "%25zz"},
        {QRY, "%zz", 0, "%25zz"},
        {SEG, "%", 0, "%25"},
        {SEG, "%4", 0, "%254"},
        {SEG, "%%41", 0, "%25%41"},
        {SEG, "100%", 0, "100%25"},
        {SEG, "a?b#c[d]", 0, "a%3Fb%23c%5Bd%5D"},
        {PATH, "a?b#c[d]", 0, "a%3Fb%23c%5Bd%5D"},
        {QRY, "a?b#c[d]", 0, "a?b%23c%5Bd%5D"},
        {SEG, "!$'()*,;=@&+", 0, "!$'()*,;=@&+"},
        {PATH, "!$'()*,;=@&+", 0, "!$'()*,;=@&+"},
        {QRY, "!$'()*,;:@/?", 0, "!$'()*,;:@/?"},
        {QRY, "a=1&b=2+3", 0, "a%3D1%26b%3D2%2B3"},
        {SEG, "", 0, ""},
};

static void test_encode(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(enc_cases) / sizeof(enc_cases[0]); k++) {
		const struct enc_case *c = &enc_cases[k];
		size_t n = c->len ? c->len : strlen(c->in);
		size_t el = strlen(c->out);
		struct guard g;
		char *s = guard_copy(&g, c->in, n);
		char out[128];
		memset(out, 'Z', sizeof(out));
		ssize_t r = detour_url_encode(s, n, c->mode, out, sizeof(out));
		if (r < 0 || (size_t)r != el || memcmp(out, c->out, el) != 0) {
			print_error("encode #%zu mode %d: got '%.*s' (%zd), expected '%s'\n", k,
			            c->mode, r < 0 ? 0 : (int)r, out, r, c->out);
			fail();
		}
		assert_int_equal(out[el], 'Z'); /* no NUL written */
		/* exact fit works; one byte less fails, without writing past cap */
		char small[128];
		assert_int_equal(detour_url_encode(s, n, c->mode, small, el), (ssize_t)el);
		if (el) {
			memset(small, 'Z', sizeof(small));
			assert_int_equal(detour_url_encode(s, n, c->mode, small, el - 1), -1);
			assert_int_equal(small[el - 1], 'Z');
		}
		guard_free(&g);
	}
}

/* Every single byte, in every mode: output only in 0x21..0x7E, and exactly
 * one of "kept" or "%HH". */
static void test_encode_all_bytes(void **state)
{
	(void)state;
	static const char keep_seg[] = "!$&'()*+,;=@-._~";
	static const char keep_qry[] = "!$'()*,;:@/?-._~";
	for (int m = 0; m < 3; m++) {
		for (int b = 0; b < 256; b++) {
			char in[2] = {'x', (char)b};
			char out[8];
			ssize_t r =
			        detour_url_encode(in, 2, (enum detour_url_enc)m, out, sizeof(out));
			bool alnum = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
			             (b >= 'a' && b <= 'z');
			bool kept;
			if (m == QRY)
				kept = alnum || (b && strchr(keep_qry, b));
			else
				kept = alnum || (b && strchr(keep_seg, b)) ||
				       (m == PATH && b == '/');
			if (kept) {
				assert_int_equal(r, 2);
				assert_int_equal((unsigned char)out[1], b);
			} else {
				char exp[4];
				snprintf(exp, sizeof(exp), "%%%02X", b);
				assert_int_equal(r, 4);
				assert_memory_equal(out + 1, exp, 3);
			}
		}
	}
}

/* ---- host_canon ----------------------------------------------------- */

static void test_host_canon(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"Example.COM", "example.com"},
	        {"example.com.", "example.com"},
	        {"A.B.", "a.b"},
	        {"a..", "a."},
	        {".", ""},
	        {"", ""},
	        {"[::FFFF:1]", "[::ffff:1]"},
	        {"xn--Caf-DMA.Test", "xn--caf-dma.test"},
	        {"@[\\]^_`{", "@[\\]^_`{"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t n = strlen(cases[k].in);
		struct guard g;
		char *s = guard_copy(&g, cases[k].in, n);
		size_t r = detour_url_host_canon(s, n);
		assert_int_equal(r, strlen(cases[k].out));
		assert_memory_equal(s, cases[k].out, r);
		guard_free(&g);
	}
	/* bytes >= 0x80 are left alone */
	char h[3] = {(char)0xC3, (char)0x89, 'A'};
	assert_int_equal(detour_url_host_canon(h, 3), 3);
	assert_memory_equal(h,
	                    "\xc3\x89"
	                    "a",
	                    3);
}

/* ---- speed ---------------------------------------------------------- */

static void test_normalize_speed(void **state)
{
	(void)state;
	/* a typical 40-byte request path */
	static const char p[] = "/docs/v2/getting-started/install%2Dguide";
	size_t n = sizeof(p) - 1;
	assert_int_equal(n, 40);
	char out[64];
	const int iters = 20000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ssize_t sum = 0;
	for (int k = 0; k < iters; k++) {
		__asm__ volatile("" : : "r"(p) : "memory");
		sum += detour_url_normalize_path(p, n, out, sizeof(out));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(sum, (ssize_t)iters * 38);
	assert_memory_equal(out, "/docs/v2/getting-started/install-guide", 38);
	double ns =
	        ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / iters;
	/* informational only (this build has sanitizers on): bench/micro_url.c
	 * measures the optimised build */
	print_message("normalize_path: %.1f ns/call on a 40-byte path\n", ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_parse_nul_and_empty),
	        cmocka_unit_test(test_normalize),
	        cmocka_unit_test(test_normalize_no_nul),
	        cmocka_unit_test(test_resolve_rfc),
	        cmocka_unit_test(test_resolve_other_bases),
	        cmocka_unit_test(test_resolve_errors),
	        cmocka_unit_test(test_encode),
	        cmocka_unit_test(test_encode_all_bytes),
	        cmocka_unit_test(test_host_canon),
	        cmocka_unit_test(test_normalize_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
