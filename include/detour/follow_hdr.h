/* detour: what goes on the wire for a hop of a redirect chain, and what a
 * response sets (lib/follow_hdr.c, the other half of detour/follow.h, on
 * top of it): the URL handed to the HTTP library, the header fields, and
 * the cookies and HSTS a response leaves. See docs/internals/follow.md. */
#ifndef DETOUR_FOLLOW_HDR_H
#define DETOUR_FOLLOW_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "detour/common.h"
#include "detour/cookie.h"
#include "detour/follow.h"
#include "detour/hsts.h"

/* Writes the URL to hand to the HTTP library for r into out: without the
 * fragment, and as a browser without user:password (Chromium does not send
 * URL credentials unasked). Returns its length or -1. */
ssize_t detour_follow_wire_url(const struct detour_follow_req *r, char *out, size_t cap);

/* The Cookie same-site context of r (see enum detour_samesite_ctx). */
enum detour_samesite_ctx detour_follow_samesite_ctx(const struct detour_follow_req *r);

/* Builds the header fields to send with r: as a browser the Chromium
 * navigation profile (DETOUR_BROWSER_*, the Sec-Fetch-* and client hints on
 * potentially trustworthy URLs), the user headers that are still sent
 * (replacing a profile field of the same name), Origin, Referer and Cookie
 * from jar (may be NULL); as curl the user headers curl would still send and
 * Referer if one was given. Each field is written as "Name: value" with a NUL
 * into buf, and lines[i] points at it. Host, Content-Length and
 * Transfer-Encoding are left to the HTTP library (a user Host header is sent
 * while the host is the first request's). Returns the number of lines, or -1
 * if buf or lines is too small. */
ssize_t detour_follow_headers(const struct detour_follow_req *r,
                              const struct detour_cookie_jar *jar, time_t now, char *buf,
                              size_t cap, const char **lines, size_t max);

/* What a response did to the jar and the HSTS store. */
struct detour_follow_absorb {
	unsigned cookies_set;        /* stored, replaced or deleted */
	unsigned cookies_ignored;    /* rejected by the user agent */
	const char *cookie_why;      /* the reason for the last one rejected */
	bool sts_present;            /* a Strict-Transport-Security field was there */
	enum detour_hsts_result sts; /* what happened to it */
};

/* Takes a response to r into jar (NULL: keep no cookies) and store (NULL:
 * no HSTS): every Set-Cookie field, and the first Strict-Transport-Security
 * field (RFC 6797 §8.1) when r's URL is https. */
detour_err detour_follow_absorb(const struct detour_follow_req *r,
                                const struct detour_follow_resp *resp,
                                struct detour_cookie_jar *jar, struct detour_hsts *store,
                                time_t now, struct detour_follow_absorb *out);

#endif
