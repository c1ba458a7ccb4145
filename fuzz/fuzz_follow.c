/* libFuzzer target for the client-side parsers of detour check: Location
 * resolution, Set-Cookie and the Cookie header, Strict-Transport-Security,
 * Refresh values and meta refresh in HTML. The first byte picks the parser;
 * the rest is the input. Invariants are checked with abort(). */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/cookie.h"
#include "detour/follow.h"
#include "detour/hsts.h"
#include "detour/refresh.h"

static void no_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7F)
			abort(); /* never CR, LF, NUL, space or another control */
	}
}

static void location(const uint8_t *d, size_t n, enum detour_as as)
{
	static const char base[] = "https://u:p@a.example:8443/b/c/d;p?q=1#frag";
	char out[DETOUR_FOLLOW_URL_MAX], again[DETOUR_FOLLOW_URL_MAX];
	size_t len, len2;
	unsigned fl;
	detour_err err = detour_location_resolve(as, base, strlen(base), (const char *)d, n, out,
	                                         sizeof(out), &len, &fl);
	if (err == DETOUR_OK) {
		if (len != strlen(out))
			abort();
		no_ctl(out, len);
		if (strncmp(out, "http://", 7) && strncmp(out, "https://", 8))
			abort();
		/* The result is absolute and stable: resolving it again (as a
		 * command-line URL) gives it back. */
		if (detour_location_resolve(as, NULL, 0, out, len, again, sizeof(again), &len2,
		                            NULL) != DETOUR_OK ||
		    len2 != len || memcmp(out, again, len))
			abort();
		if (detour_origin_of(out, len, again, sizeof(again)) < 0)
			abort();
	} else if (err == DETOUR_EUNSUPPORTED) {
		if (!(fl & DETOUR_LOC_SCHEME) || strlen(out) > n)
			abort();
	} else if (err != DETOUR_EINVAL && err != DETOUR_ETOOBIG) {
		abort();
	}
}

static void cookies(const uint8_t *d, size_t n)
{
	struct detour_cookie_jar *j = detour_cookie_jar_new();
	struct detour_cookie_url u = {"a.example.com", 13, "/x/y", 4, true};
	const char *why = NULL;
	/* several Set-Cookie values separated by '\n' */
	const char *s = (const char *)d;
	for (size_t i = 0; i <= n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		detour_err err = detour_cookie_set(j, &u, s + i, e - i, 1000, &why);
		if (err == DETOUR_EINVAL && !why)
			abort();
		if (err != DETOUR_OK && err != DETOUR_EINVAL)
			abort();
		struct detour_slice nm = detour_cookie_name(s + i, e - i);
		if (nm.len > e - i)
			abort();
		i = e + 1;
		if (!nl)
			break;
	}
	char out[65536];
	for (int ctx = 0; ctx < 3; ctx++) {
		ssize_t h = detour_cookie_header(j, &u, (enum detour_samesite_ctx)ctx, 1001, out,
		                                 sizeof(out));
		if (h < 0 || (size_t)h != strlen(out) || memchr(out, '\n', (size_t)h) ||
		    memchr(out, '\r', (size_t)h))
			abort();
	}
	detour_cookie_jar_free(j);
}

static void sts(const uint8_t *d, size_t n)
{
	int64_t age;
	bool sub;
	if (detour_hsts_parse((const char *)d, n, &age, &sub) == DETOUR_OK &&
	    (age < 0 || age > DETOUR_HSTS_MAX_AGE_CAP))
		abort();
	struct detour_hsts *s = detour_hsts_new();
	struct detour_diag diag;
	if (detour_hsts_load(s, "fuzz", (const char *)d, n, 0, &diag) == DETOUR_OK) {
		char *text;
		size_t len;
		if (detour_hsts_save(s, 0, &text, &len) != DETOUR_OK)
			abort();
		struct detour_hsts *s2 = detour_hsts_new();
		if (detour_hsts_load(s2, "again", text, len, 0, &diag) != DETOUR_OK ||
		    detour_hsts_count(s2) != detour_hsts_count(s))
			abort();
		detour_hsts_free(s2);
		free(text);
	}
	detour_hsts_free(s);
}

static void refresh(const uint8_t *d, size_t n)
{
	struct detour_refresh r;
	const char *s = (const char *)d;
	if (detour_refresh_parse(s, n, &r) == DETOUR_OK && r.url.p &&
	    (r.url.p < s || r.url.p + r.url.len > s + n))
		abort();
	char scratch[4096];
	if (detour_refresh_find_meta(s, n, scratch, sizeof(scratch), &r) == DETOUR_OK && r.url.p &&
	    (r.url.p < scratch || r.url.p + r.url.len > scratch + sizeof(scratch)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0:
		location(d, n, DETOUR_AS_BROWSER);
		break;
	case 1:
		location(d, n, DETOUR_AS_CURL);
		break;
	case 2:
		cookies(d, n);
		break;
	case 3:
		sts(d, n);
		break;
	case 4:
		refresh(d, n);
		break;
	}
	return 0;
}
