/* detour: the client side of a redirect, with no I/O: given the request just
 * sent and the response to it, compute the next request exactly as a browser
 * does (WHATWG Fetch, "HTTP-redirect fetch"; RFC 9110 §15.4) or as the curl
 * command line tool does (`--as curl`): the Location through
 * detour_location_resolve (detour/location.h), Authorization removal when the
 * origin changes, Referer and Origin (referrer policy
 * strict-origin-when-cross-origin, Chromium's default; detour/origin.h),
 * Sec-Fetch-* metadata, cookies through a detour_cookie_jar and HSTS upgrades
 * through a detour_hsts store. See docs/internals/follow.md. */
#ifndef DETOUR_FOLLOW_H
#define DETOUR_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "detour/common.h"
#include "detour/cookie.h"
#include "detour/hsts.h"
#include "detour/http1.h" /* struct detour_header */
#include "detour/location.h"
#include "detour/origin.h"

#define DETOUR_FOLLOW_URL_MAX          DETOUR_LOCATION_URL_MAX
#define DETOUR_FOLLOW_ORIGIN_MAX       DETOUR_ORIGIN_MAX
#define DETOUR_FOLLOW_MAX_USER_HEADERS 64
/* Fetch, HTTP-redirect fetch step 7: "If request's redirect count is 20,
 * then return a network error." Chromium's kMaxRedirects is 20 too. */
#define DETOUR_FOLLOW_BROWSER_MAX 20
/* curl's command line tool sets CURLOPT_MAXREDIRS to 50 (DEFAULT_MAXREDIRS). */
#define DETOUR_FOLLOW_CURL_MAX 50

/* The Chromium navigation request profile detour sends as a browser. */
#define DETOUR_BROWSER_UA                                                                          \
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "                  \
	"Chrome/131.0.0.0 Safari/537.36"
#define DETOUR_BROWSER_ACCEPT                                                                      \
	"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/"       \
	"apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
#define DETOUR_BROWSER_ACCEPT_ENCODING "gzip, deflate, br, zstd"
#define DETOUR_BROWSER_ACCEPT_LANGUAGE "en-US,en;q=0.9"

/* Sec-Fetch-Site values (W3C Fetch Metadata §2.1). */
enum detour_fetch_site {
	DETOUR_SITE_NONE = 0,
	DETOUR_SITE_SAME_ORIGIN,
	DETOUR_SITE_SAME_SITE,
	DETOUR_SITE_CROSS_SITE,
};

/* How the first request is made. Every pointer is borrowed and must outlive
 * the detour_follow_req. */
struct detour_follow_opts {
	enum detour_as as;
	const char *method;                  /* NULL: GET, or POST when body */
	bool body;                           /* the caller has a body to send (--data) */
	bool curl_custom;                    /* as curl: the method was given with -X */
	const struct detour_header *headers; /* user headers (--header) */
	size_t nheaders;                     /* <= DETOUR_FOLLOW_MAX_USER_HEADERS */
	const char *referrer;                /* the page the navigation starts from, or NULL */
	unsigned max_redirects;              /* 0: 20 as a browser, 50 as curl */
};

/* The request about to be sent. Caller-owned; about 17 KiB. */
struct detour_follow_req {
	enum detour_as as;
	char method[32];
	char url[DETOUR_FOLLOW_URL_MAX]; /* absolute, canonical, fragment included */
	size_t url_len;
	bool body;          /* the caller's body goes with this request */
	unsigned redirects; /* redirects followed (Fetch: request's redirect count) */
	unsigned max_redirects;
	const struct detour_header *hdrs; /* user headers, borrowed */
	size_t nhdrs;
	uint64_t dropped; /* bit i: user header i is no longer sent */
	/* As a browser (Fetch, Referrer Policy, Fetch Metadata). */
	char referrer[DETOUR_FOLLOW_URL_MAX];     /* request's referrer, "" for no referrer */
	char initiator[DETOUR_FOLLOW_ORIGIN_MAX]; /* request's origin, "" when typed */
	enum detour_rp policy;
	bool origin_null;    /* Origin turned "null" by a cross-origin redirect */
	bool user_activated; /* Sec-Fetch-User: ?1 */
	enum detour_fetch_site site;
	/* As curl: the state of lib/http.c's Curl_follow. */
	bool curl_post;                              /* HTTPREQ_POST: the body is sent */
	bool curl_custom;                            /* CURLOPT_CUSTOMREQUEST holds method */
	char first_origin[DETOUR_FOLLOW_ORIGIN_MAX]; /* also for a user Host header */
	char first_host[256];
};

/* Starts a chain at url. Returns DETOUR_OK, DETOUR_EINVAL (not an absolute
 * http(s) URL that parses, or a bad option), DETOUR_EUNSUPPORTED (another
 * scheme) or DETOUR_ETOOBIG. *flags (may be NULL) gets DETOUR_LOC_*. */
detour_err detour_follow_start(struct detour_follow_req *r, const struct detour_follow_opts *o,
                               const char *url, size_t len, unsigned *flags);

/* As a browser, moves the user's Cookie headers into jar as host-only
 * cookies of r's host with Path=/ (so that they follow the cookie rules from
 * then on, like cookies the browser already had) and stops sending them as
 * headers. As curl, does nothing (curl sends a user Cookie header to the
 * first origin only). */
detour_err detour_follow_seed_cookies(struct detour_follow_req *r, struct detour_cookie_jar *jar,
                                      time_t now);

/* A response, as far as following it goes. headers are borrowed. */
struct detour_follow_resp {
	int status;
	const struct detour_header *headers;
	size_t nheaders;
};

enum detour_step {
	DETOUR_STEP_DONE = 0, /* not a redirect: the chain ends with this response */
	DETOUR_STEP_FOLLOW,   /* r now describes the next request */
	DETOUR_STEP_FAIL,     /* a network error (a browser shows its error page) */
};

/* Why a chain stops (DONE or FAIL) at a response. */
enum detour_stop {
	DETOUR_STOP_NONE = 0,
	DETOUR_STOP_NOT_REDIRECT,      /* DONE: not a redirect status (curl: not 3xx) */
	DETOUR_STOP_NO_LOCATION,       /* DONE: a redirect status without Location */
	DETOUR_STOP_EMPTY_LOCATION,    /* DONE: Location present but empty */
	DETOUR_STOP_MULTIPLE_LOCATION, /* FAIL: two different Location fields */
	DETOUR_STOP_BAD_LOCATION,      /* FAIL: Location does not parse */
	DETOUR_STOP_SCHEME,            /* FAIL: not http or https */
	DETOUR_STOP_TOO_MANY,          /* FAIL: over max_redirects */
};

/* What detour_follow_next decided, and what changed in the request. */
struct detour_follow_step {
	enum detour_step step;
	enum detour_stop stop;
	struct detour_slice location; /* the Location value used (borrowed), p NULL if none */
	unsigned loc_flags;           /* DETOUR_LOC_* */
	bool method_changed;          /* e.g. POST became GET */
	bool body_dropped;            /* the body is not sent again */
	bool body_headers_dropped;    /* Content-Type & co. removed */
	bool auth_dropped;            /* Authorization removed (origin changed) */
	bool origin_nulled;           /* Origin became "null" */
	enum detour_rp new_policy;    /* Referrer-Policy of the response, or UNSET */
	bool cross_origin;            /* the new URL is cross-origin to the old one */
};

/* The response's redirect decision for the request r, per r->as (Fetch
 * HTTP-redirect fetch and RFC 9110 §15.4, or curl's Curl_follow). On
 * DETOUR_STEP_FOLLOW, r is updated in place to the next request (method,
 * URL, body, headers, redirect count, referrer state); otherwise r is left
 * as it was. */
void detour_follow_next(struct detour_follow_req *r, const struct detour_follow_resp *resp,
                        struct detour_follow_step *st);

/* If the host of r's http:// URL is a known HSTS host at now, changes r to
 * the https:// URL (RFC 6797 §8.3: port 80 becomes 443, any other port is
 * kept) as the "307 Internal Redirect" Chromium makes of it: the method and
 * body are kept, the redirect is counted, Authorization is dropped as the
 * origin changes. Returns true if it did; st (may be NULL) is filled as by
 * detour_follow_next. With too many redirects already, returns true with
 * st->step == DETOUR_STEP_FAIL and r unchanged. */
bool detour_follow_hsts(struct detour_follow_req *r, const struct detour_hsts *store, time_t now,
                        struct detour_follow_step *st);

/* Makes r the navigation a document's declarative refresh starts (HTML:
 * "navigate" with historyHandling "replace"): GET to url (resolved against
 * r's URL, fragment inheritance excluded), no body, the document as
 * referrer and initiator under policy (UNSET: keep r's), no user activation.
 * The redirect count goes on (detour counts refreshes against the limit).
 * Returns as detour_location_resolve; flags gets DETOUR_LOC_*. */
detour_err detour_follow_refresh(struct detour_follow_req *r, const char *url, size_t len,
                                 enum detour_rp policy, unsigned *flags);

/* Fills u with r's host, path and cookie security (borrowed from r->url). */
void detour_follow_cookie_url(const struct detour_follow_req *r, struct detour_cookie_url *u);

#endif
