/* libFuzzer target for lib/url.c. Asserts output invariants, not only "no
 * crash":
 *  - parse: the slices lie inside the input and recompose it byte for byte;
 *  - normalize_path: output no longer than input, starts with '/', holds no
 *    dot segment, is idempotent, and agrees with resolve's §5.2.4 when the
 *    input has no '%';
 *  - encode: output only 0x21..0x7E, idempotent, never "//" first in PATH
 *    mode, never a scheme or authority, never a query delimiter;
 *  - resolve: the result against a fixed base parses again, absolute. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/url.h"

static const char BASE[] = "http://a/b/c/d;p?q";

static size_t put(char *dst, size_t at, const char *s, size_t n)
{
	memcpy(dst + at, s, n);
	return at + n;
}

static void slice_inside(struct detour_slice s, const char *d, size_t n)
{
	if (!s.p)
		return;
	CHECK(s.p >= d && s.p + s.len <= d + n);
}

static void check_parse(const char *d, size_t n, char *tmp)
{
	struct detour_url u;
	if (detour_url_parse(d, n, &u) != DETOUR_OK)
		return;
	CHECK(u.path.p != NULL);
	slice_inside(u.scheme, d, n);
	slice_inside(u.userinfo, d, n);
	slice_inside(u.host, d, n);
	slice_inside(u.port, d, n);
	slice_inside(u.path, d, n);
	slice_inside(u.query, d, n);
	slice_inside(u.fragment, d, n);
	CHECK(u.port_num >= -1 && u.port_num <= 65535);
	CHECK((u.port_num >= 0) == (u.port.p && u.port.len));
	CHECK(u.has_authority == (u.host.p != NULL));
	/* recomposing every part gives the input back */
	size_t o = 0;
	if (u.scheme.p) {
		o = put(tmp, o, u.scheme.p, u.scheme.len);
		o = put(tmp, o, ":", 1);
	}
	if (u.has_authority) {
		o = put(tmp, o, "//", 2);
		if (u.userinfo.p) {
			o = put(tmp, o, u.userinfo.p, u.userinfo.len);
			o = put(tmp, o, "@", 1);
		}
		o = put(tmp, o, u.host.p, u.host.len);
		if (u.port.p) {
			o = put(tmp, o, ":", 1);
			o = put(tmp, o, u.port.p, u.port.len);
		}
	}
	o = put(tmp, o, u.path.p, u.path.len);
	if (u.query.p) {
		o = put(tmp, o, "?", 1);
		o = put(tmp, o, u.query.p, u.query.len);
	}
	if (u.fragment.p) {
		o = put(tmp, o, "#", 1);
		o = put(tmp, o, u.fragment.p, u.fragment.len);
	}
	CHECK(o == n && memcmp(tmp, d, n) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(d[i] > 0x20 && d[i] < 0x7f);
}

static bool upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int hexv(char c)
{
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

static bool unreserved(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static void check_normalize(const char *d, size_t n, char *out, char *again, char *res)
{
	if (n == 0 || d[0] != '/')
		return;
	memset(out + 3 * n, 0x55, 16);
	ssize_t r = detour_url_normalize_path(d, n, out, 3 * n);
	for (size_t i = 3 * n; i < 3 * n + 16; i++) /* nothing written past cap */
		CHECK(out[i] == 0x55);
	/* every path that parses as a bare path is accepted; bytes that are
	 * not path characters are encoded, only bad escapes and CTL/space fail */
	bool bare = false;
	if (n < 2 || d[1] != '/') {
		struct detour_url u;
		bare = detour_url_parse(d, n, &u) == DETOUR_OK && !u.query.p && !u.fragment.p;
		if (bare)
			CHECK(r >= 0);
	}
	bool ctl = false;
	for (size_t i = 0; i < n; i++)
		ctl = ctl || (unsigned char)d[i] <= 0x20 || d[i] == 0x7f;
	if (ctl)
		CHECK(r == -1);
	if (r < 0)
		return;
	size_t m = (size_t)r;
	CHECK(m >= 1 && m <= 3 * n);
	CHECK(out[0] == '/');
	for (size_t i = 0; i < m; i++) {
		CHECK(out[i] > 0x20 && out[i] < 0x7f);
		CHECK(out[i] != '?' && out[i] != '#');
		if (out[i] == '%') /* upper-case hex, and never an unreserved byte */
			CHECK(i + 2 < m && upper_hex(out[i + 1]) && upper_hex(out[i + 2]) &&
			      !unreserved(hexv(out[i + 1]) << 4 | hexv(out[i + 2])));
		/* no "." or ".." segment anywhere */
		if (out[i] == '/' && i + 1 < m && out[i + 1] == '.') {
			CHECK(!(i + 2 == m || out[i + 2] == '/'));
			CHECK(!(out[i + 2] == '.' && (i + 3 == m || out[i + 3] == '/')));
		}
	}
	/* idempotent */
	ssize_t r2 = detour_url_normalize_path(out, m, again, 3 * m);
	CHECK(r2 == r && memcmp(again, out, m) == 0);
	/* an exact fit (the bounds-checked loop when m < n) works unless a
	 * dot segment needed scratch room; it never gives other bytes */
	ssize_t re = detour_url_normalize_path(d, n, again, m);
	CHECK(re == -1 || (re == r && memcmp(again, out, m) == 0));
	if (!memchr(d, '.', n) && !memmem(d, n, "%2e", 3) && !memmem(d, n, "%2E", 3))
		CHECK(re == r);
	/* one byte short never fits */
	CHECK(detour_url_normalize_path(d, n, again, m - 1) == -1);
	/* the one-pass loop agrees with §5.2.4 as resolve runs it */
	if (bare && !memchr(d, '%', n)) {
		size_t rl = 0;
		CHECK(detour_url_resolve("http://h", 8, d, n, res, n + 16, &rl) == DETOUR_OK);
		CHECK(rl == 8 + m && memcmp(res, "http://h", 8) == 0 &&
		      memcmp(res + 8, out, m) == 0);
	}
}

static void check_encode(const char *d, size_t n, char *out, char *again)
{
	size_t cap = 3 * n;
	for (int mode = 0; mode < 3; mode++) {
		ssize_t r = detour_url_encode(d, n, (enum detour_url_enc)mode, out, cap);
		CHECK(r >= 0 && (size_t)r >= n);
		size_t m = (size_t)r;
		for (size_t i = 0; i < m; i++) {
			CHECK(out[i] > 0x20 && out[i] < 0x7f);
			CHECK(out[i] != '#');
			if (mode != DETOUR_ENC_QUERY)
				CHECK(out[i] != '?');
			if (mode == DETOUR_ENC_SEGMENT)
				CHECK(out[i] != '/' && out[i] != ':');
			if (mode == DETOUR_ENC_QUERY)
				CHECK(out[i] != '&' && out[i] != '=' && out[i] != '+');
			if (out[i] == '%')
				CHECK(i + 2 < m);
		}
		if (mode == DETOUR_ENC_PATH)
			CHECK(!(m >= 2 && out[0] == '/' && out[1] == '/'));
		/* encoding again changes nothing */
		ssize_t r2 = detour_url_encode(out, m, (enum detour_url_enc)mode, again, cap);
		CHECK(r2 == r && memcmp(again, out, m) == 0);
		/* a SEGMENT or PATH value alone is a relative path: no scheme,
		 * no authority; a QUERY value is all query */
		struct detour_url u;
		if (mode == DETOUR_ENC_QUERY) {
			again[0] = '?';
			memcpy(again + 1, out, m);
			CHECK(detour_url_parse(again, m + 1, &u) == DETOUR_OK);
			CHECK(u.query.len == m && !u.fragment.p && u.path.len == 0);
		} else {
			CHECK(detour_url_parse(out, m, &u) == DETOUR_OK);
			CHECK(!u.scheme.p && !u.has_authority && u.path.len == m);
		}
		if (m)
			CHECK(detour_url_encode(d, n, (enum detour_url_enc)mode, again, m - 1) ==
			      -1);
	}
}

static void check_resolve(const char *d, size_t n, char *out)
{
	struct detour_url u;
	if (detour_url_parse(d, n, &u) != DETOUR_OK)
		return;
	size_t cap = sizeof(BASE) + n + 2, rl = 0;
	CHECK(detour_url_resolve(BASE, sizeof(BASE) - 1, d, n, out, cap, &rl) == DETOUR_OK);
	CHECK(rl < cap && out[rl] == '\0' && strlen(out) == rl);
	struct detour_url t;
	CHECK(detour_url_parse(out, rl, &t) == DETOUR_OK);
	CHECK(t.scheme.p != NULL);
	/* the fragment is always the reference's */
	CHECK((t.fragment.p != NULL) == (u.fragment.p != NULL));
	if (u.fragment.p)
		CHECK(t.fragment.len == u.fragment.len &&
		      memcmp(t.fragment.p, u.fragment.p, u.fragment.len) == 0);
	/* too small is an error, never a truncated result */
	CHECK(detour_url_resolve(BASE, sizeof(BASE) - 1, d, n, out, rl, &rl) == DETOUR_ETOOBIG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so ASan sees any over-read */
	char *d = malloc(size ? size : 1);
	char *a = malloc(9 * size + 64);
	char *b = malloc(9 * size + 64);
	char *c = malloc(9 * size + 64);
	CHECK(d && a && b && c);
	memcpy(d, data, size);
	check_parse(d, size, a);
	check_normalize(d, size, a, b, c);
	check_encode(d, size, a, b);
	check_resolve(d, size, a);
	free(c);
	free(b);
	free(a);
	free(d);
	return 0;
}
