/* detour: a cookie jar for one redirect chain, as a browser keeps it
 * (RFC 6265bis, which RFC 6265 grows into and Chromium follows): parse
 * Set-Cookie (§5.6), store with domain, path, secure, expiry and SameSite
 * (§5.7), and write the Cookie header for a request (§5.8.3). The jar is a
 * caller-owned heap object; cookie strings are copied into it. detour ships
 * no public suffix list: a Domain attribute naming a single label ("com",
 * "localhost") counts as a public suffix. */
#ifndef DETOUR_COOKIE_H
#define DETOUR_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "detour/common.h"

#define DETOUR_COOKIE_MAX_PAIR        4096          /* name + value, RFC 6265bis §5.6 */
#define DETOUR_COOKIE_MAX_ATTR        1024          /* attribute value */
#define DETOUR_COOKIE_MAX_AGE         (400 * 86400) /* lifetime cap, RFC 6265bis §5.6.1 */
#define DETOUR_COOKIE_MAX_COUNT       3000          /* the oldest cookie goes beyond this */
#define DETOUR_COOKIE_LAX_UNSAFE_SECS 120           /* Chromium's Lax-allowing-unsafe window */

/* The cookie's SameSite attribute. */
enum detour_samesite {
	DETOUR_SAMESITE_DEFAULT = 0, /* absent or unknown: Lax, with Lax-allowing-unsafe */
	DETOUR_SAMESITE_STRICT,
	DETOUR_SAMESITE_LAX,
	DETOUR_SAMESITE_NONE,
};

/* The request's same-site context (RFC 6265bis §5.2), for a top-level
 * navigation: same-site when it has no initiator (typed, bookmark) or the
 * initiator is same-site with the URL; otherwise lax (safe method: GET,
 * HEAD) or cross (any other method). */
enum detour_samesite_ctx {
	DETOUR_CTX_SAME_SITE = 0,
	DETOUR_CTX_CROSS_LAX,
	DETOUR_CTX_CROSS_UNSAFE,
};

/* Where a request goes, as far as cookies care: host lower case (IPv6 in
 * brackets), path (the URL's path, never empty for http(s)), and whether the
 * URL is secure for cookies (https, or a potentially trustworthy host such as
 * localhost, as Chromium treats it). */
struct detour_cookie_url {
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
	bool secure;
};

struct detour_cookie_jar;

/* Returns a new empty jar, or NULL when out of memory. */
struct detour_cookie_jar *detour_cookie_jar_new(void);

/* Frees j. NULL is a no-op. */
void detour_cookie_jar_free(struct detour_cookie_jar *j);

/* Number of cookies held (expired ones included until the next write). */
size_t detour_cookie_count(const struct detour_cookie_jar *j);

/* Processes one Set-Cookie value v[0..len) received in a response to u at
 * time now. Returns DETOUR_OK when the cookie was stored, replaced or (with
 * an expiry in the past) deleted; DETOUR_EINVAL when the user agent ignores
 * it, with *why (if non-NULL) set to a static reason; DETOUR_ENOMEM. */
detour_err detour_cookie_set(struct detour_cookie_jar *j, const struct detour_cookie_url *u,
                             const char *v, size_t len, time_t now, const char **why);

/* Writes the Cookie header value for a request to u in context ctx at time
 * now into out (NUL-terminated): the matching cookies, longest path first,
 * then oldest first, as "name=value; name2=value2". Returns its length (0:
 * send no Cookie header), or -1 if it does not fit in cap. */
ssize_t detour_cookie_header(const struct detour_cookie_jar *j, const struct detour_cookie_url *u,
                             enum detour_samesite_ctx ctx, time_t now, char *out, size_t cap);

/* The cookie name of a Set-Cookie value (RFC 6265bis §5.6 steps 1-4: the
 * part before '=' of the first pair, trimmed; empty when the pair has no
 * '='). Borrowed from v. */
struct detour_slice detour_cookie_name(const char *v, size_t len);

/* Parses a cookie-date (RFC 6265bis §5.6.1.1). Returns true and *t. */
bool detour_cookie_parse_date(const char *s, size_t len, time_t *t);

#endif
