/* detour: resolving a Location (or a URL typed on the command line) into the
 * absolute URL a client requests next, as a browser does (the WHATWG URL
 * parser's repairs, then RFC 3986 §5 through detour_url_resolve, then the
 * fragment inheritance of RFC 9110 §10.2.2) or as the curl command line tool
 * does. No I/O, no allocation. See docs/internals/follow.md. */
#ifndef DETOUR_LOCATION_H
#define DETOUR_LOCATION_H

#include <stddef.h>

#include "detour/common.h"

/* The longest URL or reference resolved (the result included). */
#define DETOUR_LOCATION_URL_MAX 8192

/* The client whose behaviour is copied. */
enum detour_as {
	DETOUR_AS_BROWSER = 0, /* Chromium */
	DETOUR_AS_CURL,        /* the curl command line tool (7.88, Debian 12) with -L */
};

/* What resolving a Location (or a command-line URL) ran into. */
#define DETOUR_LOC_RELATIVE  0x001u /* not an absolute URI (RFC 3986 §4.3) */
#define DETOUR_LOC_ENCODED   0x002u /* space, non-ASCII, CTL or a char RFC 3986 forbids */
#define DETOUR_LOC_STRIPPED  0x004u /* tab/CR/LF removed, or C0/space trimmed at the ends */
#define DETOUR_LOC_BACKSLASH 0x008u /* '\' read as '/' (special scheme) */
#define DETOUR_LOC_USERINFO  0x010u /* user:password in the authority */
#define DETOUR_LOC_FRAGMENT  0x020u /* fragment inherited from the request (§10.2.2) */
#define DETOUR_LOC_BAD_PCT   0x040u /* a '%' not followed by two hex digits (sent as is) */
#define DETOUR_LOC_IDN       0x080u /* non-ASCII or %-encoded host: as a browser, to punycode (UTS #46); as curl, %-encoded */
#define DETOUR_LOC_SCHEME    0x100u /* a scheme other than http or https */
#define DETOUR_LOC_ILLEGAL                                                                         \
	(DETOUR_LOC_ENCODED | DETOUR_LOC_STRIPPED | DETOUR_LOC_BACKSLASH | DETOUR_LOC_BAD_PCT |    \
	 DETOUR_LOC_IDN)

/* Resolves ref[0..ref_len) against the absolute URL base (NULL: ref must
 * be absolute, as a URL typed on the command line) and writes the absolute
 * URL a client requests next into out (NUL-terminated): scheme and host
 * lower case, a default port dropped, an empty path made "/". As a browser,
 * the WHATWG URL parser's preprocessing applies first (C0/space trimmed,
 * tab and newlines removed, '\' read as '/', "http:x" with the base's scheme
 * read as relative, any number of slashes before an authority, space,
 * controls, non-ASCII and the characters of each component's percent-encode
 * set encoded as %XX), then RFC 3986 §5.2 through detour_url_resolve, then
 * the fragment is inherited when ref has none (RFC 9110 §10.2.2). As curl, a
 * space is %20 before the query and '+' in it, non-ASCII bytes are %xx and
 * nothing else changes; no fragment is inherited. base and ref are borrowed.
 * *flags (may be NULL) gets DETOUR_LOC_*; out_len may be NULL.
 * Returns DETOUR_OK; DETOUR_EUNSUPPORTED for a scheme other than http(s)
 * (out holds the reference as it was); DETOUR_EINVAL when it cannot be
 * parsed; DETOUR_ETOOBIG when the result (not an intermediate form of it)
 * does not fit in out or is longer than DETOUR_LOCATION_URL_MAX, or when ref
 * or base is longer than that. So a result resolves again (base NULL) to
 * itself, and is a valid base. Uses about 170 KiB of stack. out never holds
 * CR, LF, NUL or a space. */
detour_err detour_location_resolve(enum detour_as as, const char *base, size_t base_len,
                                   const char *ref, size_t ref_len, char *out, size_t cap,
                                   size_t *out_len, unsigned *flags);

#endif
