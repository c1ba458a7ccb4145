/* detour: the client behind trusted proxies, from the request's Forwarded
 * (RFC 7239) or X-Forwarded-For / X-Forwarded-Proto header fields.
 *
 * Only for a request whose peer is a trusted proxy (the caller checks,
 * detour_fwd_trusted): from anyone else these fields are the client's own
 * words and must be ignored. Every proxy appends the address it received
 * the request from, so the list is read from the right and each trusted
 * proxy is skipped: the first address that is not a trusted proxy is the
 * client (a client may write anything to the left of it, never to the
 * right). See docs/https.md ("Behind a load balancer") and
 * docs/internals/proxy.md. */
#ifndef DETOUR_FORWARDED_H
#define DETOUR_FORWARDED_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "base/cidr.h"
#include "detour/http1.h"

enum detour_fwd_scheme {
	DETOUR_FWD_SCHEME_NONE = 0, /* not said (or not http/https): the connection's stands */
	DETOUR_FWD_HTTP,
	DETOUR_FWD_HTTPS,
};

enum detour_fwd_from {
	DETOUR_FWD_NONE = 0,  /* none of the fields is present */
	DETOUR_FWD_FORWARDED, /* Forwarded (then X-Forwarded-* are ignored) */
	DETOUR_FWD_X,         /* X-Forwarded-For and/or X-Forwarded-Proto */
};

struct detour_fwd {
	union {
		struct sockaddr sa; /* AF_UNSPEC: no address found; the peer's stands */
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr; /* port 0 */
	enum detour_fwd_scheme scheme;
	enum detour_fwd_from from;
};

/* Whether sa lies in one of trusted[0..n) (cidr_match's family rules);
 * false for NULL. */
bool detour_fwd_trusted(const struct cidr *trusted, unsigned n, const struct sockaddr *sa);

/* The client of req, which came from a trusted proxy, into *out.
 *
 * Forwarded wins when present: all its field lines form one list (RFC 9110
 * §5.3), read from the last element back. An element whose for= is a
 * trusted address is skipped; the first other element is the client's: its
 * for= address (IPv4, or IPv6 in brackets, either with an optional port;
 * "unknown" and obfuscated "_names" give no address) and its proto=. An
 * element that does not parse ends the walk with no scheme. When the walk
 * ends without an untrusted address, the address is the last trusted one
 * passed (none if none: the peer's stands). Without Forwarded, the same walk
 * over X-Forwarded-For's comma-separated addresses, and the scheme from the
 * right-most value of X-Forwarded-Proto. Only "http" and "https"
 * (case-insensitive) set a scheme.
 *
 * req and trusted are borrowed; *out is caller-owned. Reads only the header
 * fields; allocates nothing. */
void detour_fwd_resolve(const struct detour_request *req, const struct cidr *trusted, unsigned n,
                        struct detour_fwd *out);

#endif
