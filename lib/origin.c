/* detour: origins, sites and potentially trustworthy URLs (HTML "origin",
 * schemeful "same site", W3C Secure Contexts), and referrer policy tokens
 * (W3C Referrer Policy). See docs/internals/follow.md. */
#include <string.h>

#include "detour/origin.h"
#include "detour/site.h"
#include "urlparts.h"

ssize_t detour_origin_of(const char *url, size_t len, char *out, size_t cap)
{
	struct abs a;
	if (!split_abs(url, len, &a))
		return -1;
	struct bbuf w;
	bbuf_fixed(&w, out, cap);
	bbuf_put(&w, a.scheme.p, a.scheme.len);
	bbuf_put(&w, "://", 3);
	bbuf_put(&w, a.host.p, a.host.len);
	if (a.port.len) {
		bbuf_putc(&w, ':');
		bbuf_put(&w, a.port.p, a.port.len);
	}
	bbuf_putc(&w, 0);
	if (w.over)
		return -1;
	return (ssize_t)w.len - 1;
}

bool detour_origin_same(const char *a, size_t alen, const char *b, size_t blen)
{
	char oa[DETOUR_ORIGIN_MAX], ob[DETOUR_ORIGIN_MAX];
	ssize_t na = detour_origin_of(a, alen, oa, sizeof(oa));
	ssize_t nb = detour_origin_of(b, blen, ob, sizeof(ob));
	return na >= 0 && na == nb && !memcmp(oa, ob, (size_t)na);
}

/* The site of a host: its registrable domain by the public suffix list
 * (site.c); an IP address is itself. */
static struct detour_slice site_of(struct detour_slice h)
{
	if (host_is_ip(h))
		return h;
	return detour_site_of(h.p, h.len);
}

bool detour_origin_same_site(const char *a, size_t alen, const char *b, size_t blen)
{
	struct abs x, y;
	if (!split_abs(a, alen, &x) || !split_abs(b, blen, &y))
		return false;
	if (x.scheme.len != y.scheme.len || memcmp(x.scheme.p, y.scheme.p, x.scheme.len))
		return false;
	struct detour_slice sx = site_of(x.host), sy = site_of(y.host);
	return sx.len == sy.len && !memcmp(sx.p, sy.p, sx.len);
}

bool detour_origin_trustworthy(const char *url, size_t len)
{
	struct abs a;
	return split_abs(url, len, &a) && trustworthy_abs(&a);
}

/* ---- referrer policy ---------------------------------------------------- */

static const char *const rp_names[] = {
        "",
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
};

const char *detour_rp_name(enum detour_rp p)
{
	return (unsigned)p < sizeof(rp_names) / sizeof(rp_names[0]) ? rp_names[p] : "";
}

enum detour_rp detour_rp_parse(const char *v, size_t len)
{
	enum detour_rp out = DETOUR_RP_UNSET;
	for (size_t i = 0; i <= len;) {
		const char *c = memchr(v + i, ',', len - i);
		size_t e = c ? (size_t)(c - v) : len;
		size_t a = i, b = e;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		for (unsigned k = 1; k < sizeof(rp_names) / sizeof(rp_names[0]); k++)
			if (ascii_eq_ci(v + a, b - a, rp_names[k]))
				out = (enum detour_rp)k;
		if (!c)
			break;
		i = e + 1;
	}
	return out;
}
