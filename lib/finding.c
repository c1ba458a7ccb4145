/* detour: finding codes and the cache analysis of a redirect. */
#include <stdio.h>
#include <string.h>

#include "detour/cookie.h"
#include "detour/finding.h"

#include "base/ascii.h"

static const struct {
	const char *code;
	enum detour_severity sev;
	const char *help;
} table[DETOUR_F_COUNT] = {
        [DETOUR_F_LOOP] = {"loop", DETOUR_SEV_ERROR,
                           "the chain comes back to a URL it already requested until the "
                           "redirect limit: browsers show ERR_TOO_MANY_REDIRECTS"},
        [DETOUR_F_TOO_MANY] = {"too-many-redirects", DETOUR_SEV_ERROR,
                               "more redirects than the limit (20 in browsers): the page "
                               "never loads"},
        [DETOUR_F_CHAIN] = {"chain", DETOUR_SEV_WARNING,
                            "more than one redirect: link to the final URL directly, and "
                            "redirect the first URL there in one hop"},
        [DETOUR_F_MIXED] = {"mixed-permanence", DETOUR_SEV_WARNING,
                            "permanent and temporary redirects in one chain: search engines "
                            "and caches see a temporary move"},
        [DETOUR_F_POST_TO_GET] = {"post-to-get", DETOUR_SEV_ERROR,
                                  "a POST through a 301 or 302 becomes a GET and its body is "
                                  "lost: use 308 (or 307) to keep both"},
        [DETOUR_F_DOWNGRADE] = {"https-downgrade", DETOUR_SEV_ERROR,
                                "a redirect from https to http: the request leaves TLS"},
        [DETOUR_F_TEMP_CACHEABLE] = {"temporary-cacheable", DETOUR_SEV_WARNING,
                                     "a temporary redirect with an explicit cache lifetime: "
                                     "browsers keep sending users to the old target after you "
                                     "change it"},
        [DETOUR_F_PERM_NO_LIFETIME] = {"permanent-no-lifetime", DETOUR_SEV_WARNING,
                                       "a permanent redirect without Cache-Control or Expires: "
                                       "Chromium caches it without limit, so it can never be "
                                       "taken back; give it a max-age"},
        [DETOUR_F_NO_LOCATION] = {"location-missing", DETOUR_SEV_ERROR,
                                  "a redirect status without a Location field: browsers show "
                                  "the response body instead of redirecting"},
        [DETOUR_F_EMPTY_LOCATION] = {"location-empty", DETOUR_SEV_ERROR,
                                     "an empty Location field: Chromium and curl do not follow "
                                     "it"},
        [DETOUR_F_RELATIVE_LOCATION] = {"location-relative", DETOUR_SEV_INFO,
                                        "a relative Location (allowed by RFC 9110 §10.2.2), "
                                        "resolved against the request URL"},
        [DETOUR_F_MULTIPLE_LOCATION] = {"location-multiple", DETOUR_SEV_ERROR,
                                        "two different Location fields: Chromium fails with "
                                        "ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION (curl takes the "
                                        "first)"},
        [DETOUR_F_BAD_LOCATION] = {"location-invalid", DETOUR_SEV_ERROR,
                                   "a Location that does not parse as a URL: the redirect fails"},
        [DETOUR_F_LOCATION_CHARS] = {"location-chars", DETOUR_SEV_WARNING,
                                     "characters RFC 3986 does not allow in a URI (space, "
                                     "non-ASCII, controls, '\\', '{', ...): clients repair them "
                                     "differently; percent-encode them on the server"},
        [DETOUR_F_SCHEME] = {"location-scheme", DETOUR_SEV_ERROR,
                             "a redirect to a scheme other than http or https: browsers refuse "
                             "it (Fetch: network error)"},
        [DETOUR_F_USERINFO] = {"location-userinfo", DETOUR_SEV_WARNING,
                               "user:password in the Location: followed, but the credentials "
                               "are visible to everyone on the path"},
        [DETOUR_F_TO_ERROR] = {"redirect-to-error", DETOUR_SEV_ERROR,
                               "the chain redirects to an error page (4xx or 5xx)"},
        [DETOUR_F_FINAL_STATUS] = {"final-status", DETOUR_SEV_ERROR,
                                   "the chain does not end with a 2xx response"},
        [DETOUR_F_HSTS_HTTP] = {"hsts-over-http", DETOUR_SEV_WARNING,
                                "Strict-Transport-Security sent over plain http: ignored by "
                                "every browser (RFC 6797 §8.1); send it over https"},
        [DETOUR_F_HSTS_INVALID] = {"hsts-invalid", DETOUR_SEV_WARNING,
                                   "a Strict-Transport-Security value that does not parse "
                                   "(RFC 6797 §6.1): ignored"},
        [DETOUR_F_NETWORK] = {"network-error", DETOUR_SEV_ERROR,
                              "the request failed before a response (DNS, connection, TLS, "
                              "timeout)"},
        [DETOUR_F_REFRESH] = {"refresh", DETOUR_SEV_INFO,
                              "a Refresh header or <meta http-equiv=refresh> was followed (a "
                              "browser waits for the delay; detour does not)"},
        [DETOUR_F_REFRESH_SELF] = {"refresh-self", DETOUR_SEV_WARNING,
                                   "the page refreshes to itself: a browser reloads it again and "
                                   "again"},
        [DETOUR_F_NOT_FOLLOWED] = {"3xx-not-followed", DETOUR_SEV_WARNING,
                                   "a 3xx that is not a redirect status (300, 304, 305, 306) "
                                   "with a Location: browsers do not follow it, curl -L does"},
        [DETOUR_F_CURL_DIFFERS] = {"curl-differs", DETOUR_SEV_INFO,
                                   "curl -L does something else here than a browser"},
        [DETOUR_F_BROWSER_DIFFERS] = {"browser-differs", DETOUR_SEV_INFO,
                                      "a browser does something else here than curl -L"},
        [DETOUR_F_COOKIE_REJECTED] = {"cookie-rejected", DETOUR_SEV_INFO,
                                      "a Set-Cookie the browser ignores"},
        [DETOUR_F_EXPECT_STATUS] = {"expect-status", DETOUR_SEV_ERROR,
                                    "the first response's status is not the expected one"},
        [DETOUR_F_EXPECT_LOCATION] = {"expect-location", DETOUR_SEV_ERROR,
                                      "the first response's Location is not the expected one"},
        [DETOUR_F_AGAINST] = {"rule-mismatch", DETOUR_SEV_ERROR,
                              "the server's answer differs from what the rules predict"},
        [DETOUR_F_CERT_EXPIRING] = {"cert-expiring", DETOUR_SEV_WARNING,
                                    "the certificate expires within 14 days: renew it (or "
                                    "check that automatic renewal works)"},
        [DETOUR_F_CERT_NAME] = {"cert-name-mismatch", DETOUR_SEV_ERROR,
                                "the certificate does not name the host (RFC 6125): browsers "
                                "refuse the connection; add the host to its subjectAltName"},
        [DETOUR_F_CERT_UNVERIFIED] = {"cert-unverified", DETOUR_SEV_ERROR,
                                      "the certificate does not verify (self-signed, unknown "
                                      "CA, expired, incomplete chain): browsers refuse the "
                                      "connection"},
        [DETOUR_F_BAD_INPUT] = {"input-invalid", DETOUR_SEV_ERROR,
                                "the URL to check is not an absolute http or https URL: no "
                                "request was made"},
};

const char *detour_finding_code(enum detour_finding f)
{
	return (unsigned)f < DETOUR_F_COUNT ? table[f].code : "unknown";
}

enum detour_severity detour_finding_severity(enum detour_finding f)
{
	return (unsigned)f < DETOUR_F_COUNT ? table[f].sev : DETOUR_SEV_ERROR;
}

const char *detour_finding_help(enum detour_finding f)
{
	return (unsigned)f < DETOUR_F_COUNT ? table[f].help : "";
}

const char *detour_severity_name(enum detour_severity s)
{
	switch (s) {
	case DETOUR_SEV_INFO:
		return "info";
	case DETOUR_SEV_WARNING:
		return "warning";
	case DETOUR_SEV_ERROR:
		return "error";
	}
	return "error";
}

/* Reads delta-seconds (RFC 9111 §1.2.2); -1 if malformed; caps at 2^31. */
static int64_t delta(const char *p, size_t n)
{
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (!n)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v < 2147483648LL)
			v = v * 10 + (p[i] - '0');
	}
	return v > 2147483648LL ? 2147483648LL : v;
}

static void human(int64_t s, char *out, size_t cap)
{
	if (s % 86400 == 0 && s >= 86400)
		snprintf(out, cap, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0 && s >= 3600)
		snprintf(out, cap, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0 && s >= 60)
		snprintf(out, cap, "%lldm", (long long)(s / 60));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

void detour_cache_analyse(int status, const struct detour_header *h, size_t n, time_t now,
                          struct detour_cache_info *out)
{
	bool no_store = false, no_cache = false, has_age = false, has_expires = false;
	bool has_date = false, bad_expires = false;
	int64_t max_age = 0;
	time_t expires = 0, date = now;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (ascii_eq_ci(h[i].name, h[i].name_len, "cache-control")) {
			/* Cache-Control = #cache-directive (RFC 9111 §5.2) */
			const char *v = h[i].value;
			size_t vl = h[i].value_len;
			for (size_t a = 0; a < vl;) {
				const char *c = memchr(v + a, ',', vl - a);
				size_t e = c ? (size_t)(c - v) : vl;
				size_t s = a, t = e;
				while (s < t && (v[s] == ' ' || v[s] == '\t'))
					s++;
				while (t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'))
					t--;
				const char *eq = memchr(v + s, '=', t - s);
				size_t nl = eq ? (size_t)(eq - v) - s : t - s;
				if (ascii_eq_ci(v + s, nl, "no-store")) {
					no_store = true;
				} else if (ascii_eq_ci(v + s, nl, "no-cache")) {
					no_cache = true;
				} else if (ascii_eq_ci(v + s, nl, "max-age") && eq && !has_age) {
					/* §4.2.1: the first max-age counts; an
					 * invalid one makes the response stale. */
					int64_t d = delta(eq + 1, (size_t)(v + t - eq - 1));
					has_age = true;
					max_age = d < 0 ? 0 : d;
				}
				a = e + 1;
			}
		} else if (ascii_eq_ci(h[i].name, h[i].name_len, "expires") && !has_expires) {
			has_expires = true;
			/* RFC 9111 §5.3: an invalid date means "already
			 * expired". */
			if (!detour_cookie_parse_date(h[i].value, h[i].value_len, &expires))
				bad_expires = true;
		} else if (ascii_eq_ci(h[i].name, h[i].name_len, "date") && !has_date) {
			has_date = detour_cookie_parse_date(h[i].value, h[i].value_len, &date);
			if (!has_date)
				date = now;
		}
	}
	char life[32];
	if (no_store) {
		out->kind = DETOUR_CACHE_NOT_STORED;
		snprintf(out->text, sizeof(out->text), "not stored (no-store)");
		return;
	}
	if (has_age || has_expires) {
		/* §4.2.1: max-age, else Expires minus Date. */
		int64_t l = has_age ? max_age : (bad_expires ? 0 : (int64_t)(expires - date));
		if (l < 0)
			l = 0;
		if (no_cache || l == 0) {
			out->kind = DETOUR_CACHE_REVALIDATE;
			snprintf(out->text, sizeof(out->text),
			         "stored, revalidated on every use (%s)",
			         no_cache ? "no-cache" : "lifetime 0");
			return;
		}
		out->kind = DETOUR_CACHE_EXPLICIT;
		out->lifetime = l;
		human(l, life, sizeof(life));
		snprintf(out->text, sizeof(out->text), "cached for %s (%s)", life,
		         has_age ? "max-age" : "Expires");
		return;
	}
	if (no_cache) {
		out->kind = DETOUR_CACHE_REVALIDATE;
		snprintf(out->text, sizeof(out->text),
		         "stored, revalidated on every use (no-cache)");
		return;
	}
	if (status == 300 || status == 301 || status == 308 || status == 410) {
		out->kind = DETOUR_CACHE_HEURISTIC;
		snprintf(out->text, sizeof(out->text),
		         "cached heuristically: no Cache-Control or Expires, Chromium keeps a %d "
		         "without limit",
		         status);
		return;
	}
	out->kind = DETOUR_CACHE_NOT_CACHED;
	snprintf(out->text, sizeof(out->text), "not cached (%d without explicit freshness)",
	         status);
}
