/* detour: URLs (RFC 3986). Parse a URI reference into borrowed parts,
 * normalise a request path the way the rule table compares paths, resolve a
 * reference against a base, and percent-encode values substituted into a
 * redirect target. No allocation: outputs go to caller-owned buffers. */
#ifndef DETOUR_URL_H
#define DETOUR_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "detour/common.h"

/* A parsed URI reference; every pointer points into the parsed string. A part
 * that is absent has p == NULL (an empty but present part, such as the query
 * of "/x?", has p != NULL and len 0). */
struct detour_url {
	struct detour_slice scheme;   /* without ':' */
	struct detour_slice userinfo; /* without '@' */
	struct detour_slice host;     /* reg-name, IPv4, or IP-literal with its brackets */
	struct detour_slice port;     /* digits, without ':' */
	struct detour_slice path;     /* possibly empty, never NULL after a successful parse */
	struct detour_slice query;    /* without '?' */
	struct detour_slice fragment; /* without '#' */
	bool has_authority;           /* "//" was present */
	int port_num;                 /* parsed port, or -1 */
};

/* Parses s[0..len) as an RFC 3986 URI-reference (s is borrowed, need not be
 * NUL-terminated; *u is caller-owned and its slices point into s). Returns
 * DETOUR_OK, or DETOUR_EINVAL for bytes outside the grammar (CTL, space,
 * non-ASCII, bad percent-encoding, a port over 65535 or not digits, a bad
 * IP-literal, a relative path whose first segment holds ':' without being a
 * scheme such as "1a:b"). Nothing is decoded or case-folded. On error *u is
 * zeroed (port_num -1). An empty port ("h:") is present with len 0 and
 * port_num -1. IPv6 zone identifiers are refused. */
detour_err detour_url_parse(const char *s, size_t len, struct detour_url *u);

/* Normalises an absolute path for rule matching (RFC 3986 §6.2.2):
 * percent-encoded unreserved characters are decoded, other percent-encodings
 * get upper-case hex ("%2f" -> "%2F", never decoded to '/'), visible bytes
 * that are not path characters ('|', '^', '[', '"', ...) and non-ASCII bytes
 * are percent-encoded (so "/a|b" equals "/a%7Cb"), dot segments are removed
 * (§5.2.4). Empty segments are kept ("//x" stays "//x"). in must start with
 * '/'; the caller cuts the query off first. Neither reads nor writes a NUL;
 * out[ret..cap) may hold scratch bytes. Both buffers are borrowed. The output
 * is at most 3 * len bytes; cap >= 3 * len always does, a smaller cap may
 * fail even if the result would fit.
 * Returns the output length, or -1 for a bad '%' escape, a space or control
 * byte, or when out is too small. in and out may not overlap. */
ssize_t detour_url_normalize_path(const char *in, size_t len, char *out, size_t cap);

/* Resolves reference ref against the absolute URI base (RFC 3986 §5.2,
 * strict: a scheme in ref equal to base's is not dropped) and writes the
 * recomposed target URI (§5.3) into out, NUL-terminated. Returns DETOUR_OK,
 * DETOUR_EINVAL if base is not absolute or either does not parse,
 * DETOUR_ETOOBIG if out is too small. *out_len excludes the NUL. out also
 * holds the merged path before its dot segments go, so it may need a few
 * bytes more than the result: cap >= base_len + ref_len + 2 always does.
 * base and ref are borrowed; out is caller-owned. */
detour_err detour_url_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                              char *out, size_t cap, size_t *out_len);

enum detour_url_enc {
	DETOUR_ENC_SEGMENT, /* one path segment: '/', '?', '#' and all but pchar are encoded */
	DETOUR_ENC_PATH,    /* a path tail (a splat): as SEGMENT but '/' is kept */
	DETOUR_ENC_QUERY,   /* a query value: '&', '=', '+', '#' are encoded too */
};

/* Percent-encodes in[0..len) for substitution into a redirect target. Bytes
 * already percent-encoded ("%XX" with valid hex) are kept as they are, so a
 * value taken from a normalised path is not encoded twice; a '%' without two
 * hex digits becomes "%25". CR, LF, NUL, every CTL, space, non-ASCII, '\\',
 * '"', '<', '>', '^', '`', '{', '|', '}', '[', ']', '#' and any byte that
 * could start a new scheme or authority (every ':' before the first '/' in
 * SEGMENT/PATH mode, since "javascript:x" at the start of a Location is a
 * scheme; the second '/' of a leading "//" in PATH mode) are always encoded,
 * as upper-case %HH. SEGMENT and PATH keep sub-delims ('&', '+', '=' too),
 * '@' and later ':'; QUERY keeps "!$'()*,;:@/?". No NUL is written; in is
 * borrowed, out caller-owned. Returns the output length, or -1 if it does
 * not fit in cap. */
ssize_t detour_url_encode(const char *in, size_t len, enum detour_url_enc mode, char *out,
                          size_t cap);

/* True if p[0..n) is what an IP-literal holds between its brackets: an
 * IPv6address or an IPvFuture (RFC 3986 §3.2.2; no zone identifier). The
 * HTTP parser checks Host values with it too. */
bool detour_url_ip_literal_valid(const char *p, size_t n);

/* Whether the query q[0..qn) ("a=1&b", without '?') has a parameter whose
 * name is k[0..kn) and, when v is not NULL, whose value is v[0..vn) ("b"
 * alone has the value ""). Names and values are compared byte for byte, as
 * written (not decoded); any of several parameters with that name counts.
 * For if-query= (cond.c) and query=merge (respond.c). */
bool detour_url_query_has(const char *q, size_t qn, const char *k, size_t kn, const char *v,
                          size_t vn);

/* Whether s[0..n) is the scheme "http" or "https" (without ':'), compared
 * without case (RFC 3986 §3.1); *https, when not NULL, tells which. The
 * schemes a redirect may stay within: the table's open-redirect guard,
 * lint's walks and the checker's Location parser test them. */
bool detour_url_scheme_is_http(const char *s, size_t n, bool *https);

/* Lower-cases an ASCII host name in place and strips one trailing dot. Returns
 * the new length. */
size_t detour_url_host_canon(char *host, size_t len);

#endif
