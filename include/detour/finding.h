/* detour: what `detour check` reports about a redirect chain. Each finding
 * has a stable code (documented in docs/check.md; scripts may match on it),
 * a severity and a one-line explanation. Also the cache analysis of one
 * redirect response (RFC 9111). Nothing here allocates. */
#ifndef DETOUR_FINDING_H
#define DETOUR_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "detour/http1.h" /* struct detour_header */

enum detour_severity {
	DETOUR_SEV_INFO = 0,
	DETOUR_SEV_WARNING,
	DETOUR_SEV_ERROR,
};

/* Stable codes; never renumber, only append. */
enum detour_finding {
	DETOUR_F_LOOP = 0,          /* "loop" */
	DETOUR_F_TOO_MANY,          /* "too-many-redirects" */
	DETOUR_F_CHAIN,             /* "chain" */
	DETOUR_F_MIXED,             /* "mixed-permanence" */
	DETOUR_F_POST_TO_GET,       /* "post-to-get" */
	DETOUR_F_DOWNGRADE,         /* "https-downgrade" */
	DETOUR_F_TEMP_CACHEABLE,    /* "temporary-cacheable" */
	DETOUR_F_PERM_NO_LIFETIME,  /* "permanent-no-lifetime" */
	DETOUR_F_NO_LOCATION,       /* "location-missing" */
	DETOUR_F_EMPTY_LOCATION,    /* "location-empty" */
	DETOUR_F_RELATIVE_LOCATION, /* "location-relative" */
	DETOUR_F_MULTIPLE_LOCATION, /* "location-multiple" */
	DETOUR_F_BAD_LOCATION,      /* "location-invalid" */
	DETOUR_F_LOCATION_CHARS,    /* "location-chars" */
	DETOUR_F_SCHEME,            /* "location-scheme" */
	DETOUR_F_USERINFO,          /* "location-userinfo" */
	DETOUR_F_TO_ERROR,          /* "redirect-to-error" */
	DETOUR_F_FINAL_STATUS,      /* "final-status" */
	DETOUR_F_HSTS_HTTP,         /* "hsts-over-http" */
	DETOUR_F_HSTS_INVALID,      /* "hsts-invalid" */
	DETOUR_F_NETWORK,           /* "network-error" */
	DETOUR_F_REFRESH,           /* "refresh" */
	DETOUR_F_REFRESH_SELF,      /* "refresh-self" */
	DETOUR_F_NOT_FOLLOWED,      /* "3xx-not-followed" */
	DETOUR_F_CURL_DIFFERS,      /* "curl-differs" */
	DETOUR_F_BROWSER_DIFFERS,   /* "browser-differs" */
	DETOUR_F_COOKIE_REJECTED,   /* "cookie-rejected" */
	DETOUR_F_EXPECT_STATUS,     /* "expect-status" */
	DETOUR_F_EXPECT_LOCATION,   /* "expect-location" */
	DETOUR_F_AGAINST,           /* "rule-mismatch" */
	DETOUR_F_CERT_EXPIRING,     /* "cert-expiring" */
	DETOUR_F_CERT_NAME,         /* "cert-name-mismatch" */
	DETOUR_F_CERT_UNVERIFIED,   /* "cert-unverified" */
	DETOUR_F_BAD_INPUT,         /* "input-invalid" */
	DETOUR_F_COUNT
};

/* The finding's code ("loop"), never NULL. */
const char *detour_finding_code(enum detour_finding f);

/* Its severity. */
enum detour_severity detour_finding_severity(enum detour_finding f);

/* Its one-line explanation (what it means and what to do). */
const char *detour_finding_help(enum detour_finding f);

/* "info", "warning" or "error". */
const char *detour_severity_name(enum detour_severity s);

/* How a response may be reused from a browser's cache (RFC 9111 §4.2). */
enum detour_cache_kind {
	DETOUR_CACHE_NOT_STORED = 0, /* no-store */
	DETOUR_CACHE_NOT_CACHED,     /* no explicit freshness and no heuristic (302, 303, 307) */
	DETOUR_CACHE_REVALIDATE,     /* no-cache or a zero lifetime: stored, checked each time */
	DETOUR_CACHE_EXPLICIT,       /* max-age or Expires: fresh for lifetime seconds */
	DETOUR_CACHE_HEURISTIC,      /* 301, 308: Chromium keeps it without a limit */
};

struct detour_cache_info {
	enum detour_cache_kind kind;
	int64_t lifetime; /* seconds, for DETOUR_CACHE_EXPLICIT */
	char text[160];   /* a one-line description */
};

/* Analyses the Cache-Control, Expires and Date fields of a response with
 * status received at now, as a private (browser) cache does: no-store,
 * no-cache, max-age (s-maxage is for shared caches only), Expires minus
 * Date, and Chromium's unlimited heuristic lifetime for 300, 301, 308 and
 * 410 without explicit freshness (HttpResponseHeaders::GetFreshnessLifetimes). */
void detour_cache_analyse(int status, const struct detour_header *h, size_t n, time_t now,
                          struct detour_cache_info *out);

#endif
