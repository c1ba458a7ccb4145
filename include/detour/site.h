/* detour: sites (HTML "site", RFC 6265bis public suffixes) from the public
 * suffix list, through libpsl's built-in list (Debian builds it from the
 * publicsuffix package, /usr/share/publicsuffix). Used by the checker's
 * same-site decisions (origin.c: Sec-Fetch-Site, SameSite cookies, Referer),
 * cookie Domain attributes (cookie.c) and `detour crawl --scope site`. No
 * allocation. */
#ifndef DETOUR_SITE_H
#define DETOUR_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/common.h"

/* The registrable domain of host[0..n) (lower case ASCII, punycode for
 * IDNs; a trailing dot ignored) as a slice of host: "example.co.uk" for
 * "www.example.co.uk". An IP address (IPv4 dotted, or an IPv6 literal in
 * brackets), a host that is itself a public suffix ("localhost", "co.uk"),
 * and a host too long for a DNS name are their own site. */
struct detour_slice detour_site_of(const char *host, size_t n);

/* Whether name[0..n) (lower case, no trailing dot) is a public suffix by
 * the list (its "*" rule included: an unlisted single label such as "test"
 * is one). An IP address is not. */
bool detour_site_is_public_suffix(const char *name, size_t n);

#endif
