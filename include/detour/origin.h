/* detour: origins (scheme, host, port), schemeful sites, potentially
 * trustworthy URLs, and referrer policies: what the client side of a redirect
 * asks of two URLs when it decides Authorization, Origin, Referer,
 * Sec-Fetch-Site and cookie context. No I/O, no allocation; every pointer is
 * borrowed. See docs/internals/follow.md. */
#ifndef DETOUR_ORIGIN_H
#define DETOUR_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The buffer size detour uses for an origin, NUL included; an origin that
 * does not fit is no origin (detour_origin_same returns false). */
#define DETOUR_ORIGIN_MAX 300

/* Referrer policies (W3C Referrer Policy §3). */
enum detour_rp {
	DETOUR_RP_UNSET = 0, /* no valid token: keep the current policy */
	DETOUR_RP_NO_REFERRER,
	DETOUR_RP_NO_REFERRER_WHEN_DOWNGRADE,
	DETOUR_RP_SAME_ORIGIN,
	DETOUR_RP_ORIGIN,
	DETOUR_RP_STRICT_ORIGIN,
	DETOUR_RP_ORIGIN_WHEN_CROSS_ORIGIN,
	DETOUR_RP_STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
	DETOUR_RP_UNSAFE_URL,
};

/* The policy's token, "" for DETOUR_RP_UNSET. */
const char *detour_rp_name(enum detour_rp p);

/* Parses a Referrer-Policy value (a comma-separated list: the last token
 * this user agent knows wins, W3C Referrer Policy §8.1). */
enum detour_rp detour_rp_parse(const char *v, size_t len);

/* Writes the origin of the absolute URL url ("https://host[:port]", the
 * port only when not the default) into out, NUL-terminated; returns its
 * length, or -1 (not an absolute URL, or out too small). url is borrowed;
 * url, like every URL given to this module, is one detour_location_resolve
 * produced (canonical: scheme and host lower case, no default port). */
ssize_t detour_origin_of(const char *url, size_t len, char *out, size_t cap);

/* Whether two absolute URLs are same origin (scheme, host, port). */
bool detour_origin_same(const char *a, size_t alen, const char *b, size_t blen);

/* Whether two absolute URLs are same site (schemeful: same scheme and same
 * registrable domain, approximated as the last two labels of a host name;
 * an IP address is its own site). */
bool detour_origin_same_site(const char *a, size_t alen, const char *b, size_t blen);

/* Whether url is potentially trustworthy (W3C Secure Contexts §3.2): https,
 * or a host that is localhost, *.localhost, 127.0.0.0/8 or [::1]. */
bool detour_origin_trustworthy(const char *url, size_t len);

#endif
