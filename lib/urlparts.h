/* detour (private to lib/): the byte and URL-part helpers of the client side
 * of a redirect, shared by location.c, origin.c, follow.c and follow_hdr.c.
 * Everything here is static inline: each file takes what it uses. The
 * character helpers and the writer are base/ascii.h's and base/buf.h's. */
#ifndef DETOUR_URLPARTS_H
#define DETOUR_URLPARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "detour/common.h" /* struct detour_slice */

#include "base/ascii.h" /* ascii_eq_ci, ascii_lower, ascii_hexval, ascii_is_digit, ascii_is_alpha */
#include "base/buf.h"   /* struct bbuf, the bounded writer */

/* The parts of an absolute URL detour_location_resolve produced (canonical: scheme and
 * host lower case, no default port). detour_url_parse is not used on it
 * because a canonical URL may hold bytes a browser keeps but RFC 3986
 * forbids ('{', '|', a bare '%'). */
struct abs {
	struct detour_slice scheme, userinfo, host, port, path, query, fragment;
	size_t auth_start; /* index after "//" */
	size_t auth_end;   /* index of the path */
};

static inline bool split_abs(const char *u, size_t n, struct abs *a)
{
	memset(a, 0, sizeof(*a));
	const char *colon = memchr(u, ':', n);
	if (!colon || colon == u)
		return false;
	size_t i = (size_t)(colon - u);
	a->scheme = (struct detour_slice){u, i};
	i++;
	if (n - i < 2 || u[i] != '/' || u[i + 1] != '/')
		return false;
	i += 2;
	a->auth_start = i;
	size_t e = i;
	while (e < n && u[e] != '/' && u[e] != '?' && u[e] != '#')
		e++;
	a->auth_end = e;
	size_t h = i;
	for (size_t k = e; k > i; k--)
		if (u[k - 1] == '@') {
			a->userinfo = (struct detour_slice){u + i, k - 1 - i};
			h = k;
			break;
		}
	size_t hp = h;
	if (hp < e && u[hp] == '[') {
		while (hp < e && u[hp] != ']')
			hp++;
		if (hp < e)
			hp++;
	} else {
		while (hp < e && u[hp] != ':')
			hp++;
	}
	a->host = (struct detour_slice){u + h, hp - h};
	if (hp < e && u[hp] == ':')
		a->port = (struct detour_slice){u + hp + 1, e - hp - 1};
	size_t p = e;
	while (p < n && u[p] != '?' && u[p] != '#')
		p++;
	a->path = (struct detour_slice){u + e, p - e};
	if (p < n && u[p] == '?') {
		size_t q = p + 1;
		while (q < n && u[q] != '#')
			q++;
		a->query = (struct detour_slice){u + p + 1, q - p - 1};
		p = q;
	}
	if (p < n)
		a->fragment = (struct detour_slice){u + p + 1, n - p - 1};
	return a->host.len > 0;
}

static inline bool is_https(const struct abs *a)
{
	return ascii_eq_ci(a->scheme.p, a->scheme.len, "https");
}

/* Whether host h is an IP literal: "[...]", or a last label of digits
 * only (so 127.0.0.1, not 127.example). */
static inline bool host_is_ip(struct detour_slice h)
{
	if (h.len && h.p[0] == '[')
		return true;
	size_t s = h.len;
	while (s > 0 && h.p[s - 1] != '.')
		s--;
	if (s == h.len)
		return false;
	for (size_t i = s; i < h.len; i++)
		if (!ascii_is_digit((unsigned char)h.p[i]))
			return false;
	return true;
}

/* Whether a is potentially trustworthy (W3C Secure Contexts §3.2): https,
 * or a host that is localhost, *.localhost, 127.0.0.0/8 or [::1]. */
static inline bool trustworthy_abs(const struct abs *a)
{
	if (is_https(a))
		return true;
	struct detour_slice h = a->host;
	size_t n = h.len;
	if (n && h.p[n - 1] == '.')
		n--;
	if (ascii_eq_ci(h.p, n, "localhost") ||
	    (n > 10 && ascii_eq_ci(h.p + n - 10, 10, ".localhost")))
		return true;
	if (ascii_eq_ci(h.p, h.len, "[::1]"))
		return true;
	return h.len > 4 && !memcmp(h.p, "127.", 4) && host_is_ip(h);
}

#endif
