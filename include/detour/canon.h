/* detour: canonical URLs and HSTS (docs/https.md). What `https-redirect`,
 * `canonical-host` and `trailing-slash` make of a request's scheme, host and
 * path, and the Strict-Transport-Security line of `hsts`, compiled once from
 * the configuration. The server's route (src/server/route.h), `detour
 * explain` and `detour lint` read it, so the three agree on the one hop.
 * Pure: no I/O; nothing allocates after detour_canon_new. */
#ifndef DETOUR_CANON_H
#define DETOUR_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "detour/common.h"
#include "detour/config.h"
#include "detour/match.h"
#include "detour/rule.h"

#define DETOUR_CANON_SCHEME 0x1u /* http -> https (https-redirect) */
#define DETOUR_CANON_HOST   0x2u /* an alias -> its canonical host (canonical-host) */
#define DETOUR_CANON_SLASH  0x4u /* a trailing slash added or removed (trailing-slash) */

#define DETOUR_CANON_HOST_MAX 255

/* The status of a hop that no rule answers when `https-redirect` is not
 * configured: 308 Permanent Redirect (RFC 9110 §15.4.9). Permanent, because
 * a canonical name or path is; and unlike 301 a client may not turn a POST
 * into a GET (§15.4.2), so a form posted to an alias still arrives. */
#define DETOUR_CANON_DEFAULT_STATUS 308

/* The path that is never canonicalised: ACME HTTP-01 tokens (RFC 8555
 * §8.3) must be answered on the name and scheme the CA asked for. */
#define DETOUR_CANON_ACME_PREFIX "/.well-known/acme-challenge/"

struct detour_canon;

/* Compiles the HTTPS settings of c (hsts, https-redirect, canonical-host,
 * trailing-slash) into *out, new memory (detour_canon_free). *out is NULL
 * when c sets none of them: the server then does no work for them at all.
 * Returns DETOUR_OK or DETOUR_ENOMEM. */
detour_err detour_canon_new(const struct detour_config *c, struct detour_canon **out);

/* Frees k. NULL is a no-op. */
void detour_canon_free(struct detour_canon *k);

/* The prepared "Strict-Transport-Security: max-age=N[; includeSubDomains]
 * [; preload]\r\n" line (RFC 6797 §6.1) and its length in *len; NULL and 0
 * when hsts is not configured. Only for responses to https requests
 * (§7.2: never over plain HTTP). */
const char *detour_canon_hsts(const struct detour_canon *k, size_t *len);

/* Whether a request over https (https true) or plain HTTP can change at
 * all under k: false when k only sends HSTS, or for https requests without
 * canonical-host and trailing-slash. The server reads it once per settings,
 * so that such requests skip detour_canon_apply. */
bool detour_canon_may_change(const struct detour_canon *k, bool https);

/* The https-redirect status, 0 when off. */
int detour_canon_https_status(const struct detour_canon *k);

/* trailing-slash (enum detour_trailing_slash). */
enum detour_trailing_slash detour_canon_slash(const struct detour_canon *k);

/* The canonical host of the alias host[0..len) (lower case, no port, no
 * trailing dot), NUL-terminated, or NULL when it is nobody's alias. */
const char *detour_canon_alias(const struct detour_canon *k, const char *host, size_t len);

/* One request URL as it arrived. path is the normalised path (it starts
 * with '/'; "*" is left alone) in a buffer of path_cap bytes that the
 * caller owns: an added slash is written at path[path_len], so
 * path[0..path_len) is unchanged and needs path_cap > path_len. host is the
 * Host header as received (port, any case, a trailing dot) or NULL. */
struct detour_canon_in {
	bool https;
	const char *host;
	size_t host_len;
	char *path;
	size_t path_len, path_cap;
};

/* The canonical URL of a request. */
struct detour_canon_url {
	unsigned changed; /* DETOUR_CANON_* bits; 0: the URL is canonical already */
	int status;       /* a hop without a rule: the https-redirect status, else 308 */
	bool https;       /* the canonical scheme */
	const char *host; /* the canonical host, lower case, no trailing dots (NUL-terminated) */
	size_t host_len;
	const char *port; /* the request's port, kept when the scheme stays ("8080"), else "" */
	size_t port_len;
	const char *path; /* the canonical path (the caller's buffer) */
	size_t path_len;
	char hostbuf[DETOUR_CANON_HOST_MAX + 1];
};

/* Canonicalises in under k into u (in's path buffer may get a '/' past
 * path_len, see above) and returns u->changed:
 *   - scheme: a plain request goes to https when https-redirect is on;
 *   - host: an alias goes to its canonical host;
 *   - slash: `add` appends '/' to a path whose last segment has no '.'
 *     (so /robots.txt and /logo.png stay files), `remove` strips the
 *     trailing '/'s of any path but "/".
 * Nothing changes for a request without a usable Host (absent, longer than
 * DETOUR_CANON_HOST_MAX) or for paths under DETOUR_CANON_ACME_PREFIX.
 * u borrows from k and in. */
unsigned detour_canon_apply(const struct detour_canon *k, const struct detour_canon_in *in,
                            struct detour_canon_url *u);

/* The origin the hop's Location starts with: "https://host", or
 * "http://host:port" when the scheme stays and the request named a port;
 * "" when only the slash changed (a path-absolute Location keeps the
 * client's own scheme, host and port: right behind a proxy that detour
 * cannot tell about). Writes it into out (not NUL-terminated); returns its
 * length or -1 when cap is too small. */
ssize_t detour_canon_origin(const struct detour_canon_url *u, char *out, size_t cap);

/* A redirect target template for the hop, into out (NUL-terminated):
 *   - target NULL: the canonical URL itself, origin + path, with any '?'
 *     or '#' of the path percent-encoded (the request's query is added by
 *     the response, as a rule's query=keep does);
 *   - a path target ("/store?id=:id"): origin + target (the rule's
 *     placeholders stay for the response to fill);
 *   - any other target (absolute, or led by a capture): target as is.
 * Returns the length, or -1 when it does not fit in cap. */
ssize_t detour_canon_target(const struct detour_canon_url *u, const char *target, size_t tlen,
                            char *out, size_t cap);

/* Room for a hop's target: a rule's target with an origin before it. */
#define DETOUR_CANON_TARGET_MAX (DETOUR_RULE_LINE_MAX + 512)

/* The answer of the hop, given m: what a match against the canonical URL
 * found (m->rule NULL: nothing answered it). rule and target (cap bytes,
 * DETOUR_CANON_TARGET_MAX) are the caller's storage, and m may point into
 * them afterwards, so they live as long as m:
 *   - no rule: m becomes the redirect to the canonical URL itself (u->status,
 *     query=keep, no cache headers); one over DETOUR_LOCATION_MAX becomes a
 *     plain 500 instead;
 *   - a rule with a path target, when the scheme or host changed: m->target
 *     and m->target_len rebased on the canonical origin (placeholders kept),
 *     m->rule still the rule, so that the one redirect names the final URL;
 *   - any other rule (absolute target, 410, or only the slash changed): m
 *     as it is. */
void detour_canon_answer(const struct detour_canon_url *u, struct detour_match *m,
                         struct detour_rule *rule, char *target, size_t cap);

#endif
