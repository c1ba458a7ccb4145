/* detour server: the admin API's defence against web pages (admin_guard.h).
 *
 * Without a token (the loopback default), any page a local browser opens
 * could use the API (issue 11):
 *   - CSRF: a "simple" cross-origin POST (text/plain, or a body with no
 *     Content-Type) is sent without a CORS preflight, so the page could
 *     turn maintenance on or add rules, reading no answer. Refused: a body
 *     must be application/json (which a page can only send after a
 *     preflight, which this API never answers), and a request whose Origin
 *     is not the listener's own is refused whatever it carries.
 *   - DNS rebinding: the page's own name resolves to 127.0.0.1 after it
 *     loaded, so the browser treats the API as same-origin and lets the
 *     page read /rules, /audit, /stats. The browser then sends the page's
 *     name as Host: refused unless it is the listener's address or
 *     localhost.
 * The checks run before the token's, on every endpoint. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "admin_guard.h"
#include "base/ascii.h"

void admin_guard_init(struct admin_guard *g, const struct detour_listen *l)
{
	static const unsigned char zero[16];

	memset(g, 0, sizeof(*g));
	g->family = l->ipv6 ? AF_INET6 : AF_INET;
	if (inet_pton(g->family, l->host, g->addr) != 1)
		memset(g->addr, 0, sizeof(g->addr));
	g->any = !memcmp(g->addr, zero, l->ipv6 ? 16 : 4);
	g->port = l->port;
	g->tls = l->tls;
	snprintf(g->name, sizeof(g->name), "%s%s%s:%u", l->ipv6 ? "[" : "", l->host,
	         l->ipv6 ? "]" : "", l->port);
}

/* A port as the listener's: digits, no leading zero, equal. */
static bool port_is(const char *p, size_t n, unsigned want)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit((unsigned char)p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v == want;
}

/* Does host[:port] (RFC 9110 §7.2's Host, or an origin's authority) name
 * the listener? "localhost" or the listener's IP literal ("[v6]" for IPv6;
 * any literal of its family for a wildcard listener, either for "::"),
 * with the listener's port; without a port, the scheme's default (80,
 * 443) must be the listener's. A DNS name other than localhost never does:
 * that is what a rebound page sends. */
static bool names_listener(const struct admin_guard *g, const char *v, size_t n)
{
	const char *h = v, *port = NULL;
	size_t hl = n, pl = 0;
	bool bracket = n > 0 && v[0] == '[';
	unsigned char a[16];
	char lit[64];
	int fam;

	if (bracket) {
		const char *e = memchr(v, ']', n);
		if (e == NULL)
			return false;
		h = v + 1;
		hl = (size_t)(e - h);
		size_t rest = n - (size_t)(e + 1 - v);
		if (rest > 0) {
			if (e[1] != ':')
				return false;
			port = e + 2;
			pl = rest - 1;
		}
	} else {
		const char *colon = memchr(v, ':', n);
		if (colon) {
			hl = (size_t)(colon - v);
			port = colon + 1;
			pl = n - hl - 1;
		}
	}
	if (port ? !port_is(port, pl, g->port) : g->port != (g->tls ? 443u : 80u))
		return false;
	if (!bracket && ascii_eq_ci(h, hl, "localhost"))
		return true;
	if (hl == 0 || hl >= sizeof(lit))
		return false;
	memcpy(lit, h, hl);
	lit[hl] = '\0';
	fam = bracket ? AF_INET6 : AF_INET;
	/* inet_pton's IPv4 is four decimal parts only: no "127.1", no
	 * "0x7f.0.0.1", which a resolver might take as names. */
	if (inet_pton(fam, lit, a) != 1)
		return false;
	if (g->any)
		return fam == g->family || g->family == AF_INET6;
	return fam == g->family && !memcmp(a, g->addr, fam == AF_INET6 ? 16 : 4);
}

/* The value for a message: at most 100 bytes, printable ASCII (JSON must
 * be UTF-8, and a log reader's terminal need not see escapes). */
static void shown(char *out, size_t cap, const char *v, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < 100 && o + 1 < cap; i++)
		out[o++] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	out[o] = '\0';
}

/* An Origin (RFC 6454 §7: the serialised origin, or "null") that is the
 * listener's own: http (https with TLS), then host[:port] as above. */
static bool origin_is_own(const struct admin_guard *g, const char *v, size_t n)
{
	const char *scheme = g->tls ? "https://" : "http://";
	size_t sl = strlen(scheme);

	return n > sl && ascii_prefix_ci(v, n, scheme) && names_listener(g, v + sl, n - sl);
}

/* Content-Type's media type is application/json, parameters aside
 * (RFC 9110 §8.3.1: type and subtype are case-insensitive). */
static bool is_json(const char *v, size_t n)
{
	const char *semi = memchr(v, ';', n);
	size_t l = semi ? (size_t)(semi - v) : n;

	while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
		l--;
	return ascii_eq_ci(v, l, "application/json");
}

int admin_guard_check(const struct admin_guard *g, const struct detour_request *r, char *msg,
                      size_t cap)
{
	char b[128];

	/* A request without Host is HTTP/1.0 (the parser refuses it in 1.1):
	 * not a browser's. */
	if (r->host && !names_listener(g, r->host, r->host_len)) {
		shown(b, sizeof(b), r->host, r->host_len);
		snprintf(msg, cap,
		         "Host \"%s\" is not this admin listener (%s or localhost:%u): refused "
		         "against DNS rebinding (docs/admin.md)",
		         b, g->any ? "an address of this machine" : g->name, g->port);
		return 421; /* RFC 9110 §15.5.20: not a target this server answers for */
	}
	for (int i = -1; (i = detour_http1_find(r, "Origin", 6, i + 1)) >= 0;) {
		const struct detour_header *o = &r->headers[i];
		if (!origin_is_own(g, o->value, o->value_len)) {
			shown(b, sizeof(b), o->value, o->value_len);
			snprintf(
			        msg, cap,
			        "Origin \"%s\" is not this admin listener: cross-site requests are "
			        "refused (docs/admin.md)",
			        b);
			return 403;
		}
	}
	if (r->content_length > 0) {
		int i = detour_http1_find(r, "Content-Type", 12, 0);
		if (i < 0 || !is_json(r->headers[i].value, r->headers[i].value_len) ||
		    detour_http1_find(r, "Content-Type", 12, i + 1) >= 0) {
			snprintf(msg, cap, "a request body must be Content-Type: application/json");
			return 415;
		}
	}
	return 0;
}
