/* libFuzzer target for lib/canon.c. The input is FLAGS HOST '\n' PATH:
 * bit 0 of FLAGS the request's scheme (https), bits 1-2 which of three
 * configurations (trailing-slash add, remove, keep; all with https-redirect
 * and canonical-host). Hosts are limited to what the HTTP parser lets
 * through (an authority's bytes); the path is normalised as the server
 * does. Asserts, not only "no crash":
 *  - the request's path bytes are left as they were;
 *  - nothing changes for an ACME challenge path;
 *  - the hop's target holds only visible ASCII, is absolute (http or https,
 *    the canonical host) when the scheme or host changed, else starts with
 *    '/';
 *  - canonicalising is idempotent: the canonical URL changes no more;
 *  - a rebased rule target keeps the template after the origin. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/canon.h"
#include "detour/config.h"
#include "detour/url.h"

static struct detour_canon *canons[3];

static void init(void)
{
	static const char *confs[3] = {"trailing-slash add\n", "trailing-slash remove\n", ""};
	static struct detour_config c;

	for (int i = 0; i < 3; i++) {
		char text[512];
		struct detour_diag d;
		size_t n = (size_t)snprintf(text, sizeof(text),
		                            "https-redirect 301\n"
		                            "canonical-host www.a.example b.example a.example\n"
		                            "canonical-host old.example new.example\n%s",
		                            confs[i]);
		detour_config_defaults(&c);
		CHECK(detour_config_parse(&c, "f.conf", text, n, &d) == DETOUR_OK);
		CHECK(detour_canon_new(&c, &canons[i]) == DETOUR_OK && canons[i]);
	}
}

/* An authority the HTTP parser would take as a Host: uri-host [":" port]. */
static bool host_ok(const uint8_t *h, size_t n)
{
	char url[512];
	struct detour_url u;

	if (n + 9 > sizeof(url))
		return false;
	for (size_t i = 0; i < n; i++)
		if (h[i] <= 0x20 || h[i] >= 0x7f || strchr("/?#@\"<>\\^`{|}", h[i]))
			return false;
	memcpy(url, "http://", 7);
	memcpy(url + 7, h, n);
	url[7 + n] = '/';
	return detour_url_parse(url, n + 8, &u) == DETOUR_OK && u.host.len > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[8192], copy[8192], out[DETOUR_CANON_TARGET_MAX];
	struct detour_canon_url u, u2;

	if (!canons[0])
		init();
	if (size < 2)
		return 0;
	const struct detour_canon *k = canons[(data[0] >> 1) % 3];
	bool https = data[0] & 1;
	const uint8_t *nl = memchr(data + 1, '\n', size - 1);
	if (nl == NULL)
		return 0;
	const char *host = (const char *)data + 1;
	size_t hl = (size_t)(nl - (data + 1));
	if (!host_ok(data + 1, hl))
		return 0;
	size_t rl = size - hl - 2;
	if (rl * 3 + 2 > sizeof(path))
		return 0;
	ssize_t pl =
	        rl ? detour_url_normalize_path((const char *)nl + 1, rl, path, sizeof(path) - 1)
	           : (path[0] = '/', 1);
	if (pl < 0)
		return 0;
	memcpy(copy, path, (size_t)pl);

	struct detour_canon_in in = {https, host, hl, path, (size_t)pl, sizeof(path)};
	unsigned ch = detour_canon_apply(k, &in, &u);
	CHECK(memcmp(copy, path, (size_t)pl) == 0);
	if ((size_t)pl >= sizeof(DETOUR_CANON_ACME_PREFIX) - 1 &&
	    !memcmp(path, DETOUR_CANON_ACME_PREFIX, sizeof(DETOUR_CANON_ACME_PREFIX) - 1))
		CHECK(ch == 0);
	if (ch == 0)
		return 0;
	CHECK(u.https || !(ch & DETOUR_CANON_SCHEME));
	ssize_t n = detour_canon_target(&u, NULL, 0, out, sizeof(out));
	CHECK(n > 0);
	for (ssize_t i = 0; i < n; i++)
		CHECK(out[i] > 0x20 && out[i] < 0x7f);
	if (ch & (DETOUR_CANON_SCHEME | DETOUR_CANON_HOST)) {
		struct detour_url pu;
		CHECK(detour_url_parse(out, (size_t)n, &pu) == DETOUR_OK);
		CHECK(pu.scheme.p && pu.host.len == u.host_len &&
		      !memcmp(pu.host.p, u.host, u.host_len));
		CHECK(pu.query.p == NULL && pu.fragment.p == NULL);
	} else {
		CHECK(out[0] == '/');
	}

	/* Idempotent: the canonical URL is canonical. */
	char host2[DETOUR_CANON_HOST_MAX + 8], path2[8192];
	size_t h2 = 0;
	memcpy(host2, u.host, u.host_len);
	h2 = u.host_len;
	if (u.port_len) {
		host2[h2++] = ':';
		memcpy(host2 + h2, u.port, u.port_len);
		h2 += u.port_len;
	}
	memcpy(path2, u.path, u.path_len);
	struct detour_canon_in in2 = {u.https, host2, h2, path2, u.path_len, sizeof(path2)};
	CHECK(detour_canon_apply(k, &in2, &u2) == 0);

	/* A path target is rebased on the same origin, the template kept. */
	static const char tmpl[] = "/to/:splat?x=1";
	ssize_t t = detour_canon_target(&u, tmpl, sizeof(tmpl) - 1, out, sizeof(out));
	CHECK(t >= (ssize_t)sizeof(tmpl) - 1);
	CHECK(!memcmp(out + t - (ssize_t)(sizeof(tmpl) - 1), tmpl, sizeof(tmpl) - 1));
	return 0;
}
