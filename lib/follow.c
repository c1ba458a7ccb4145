/* detour: the client side of a redirect: the request state, the next request
 * after a response, HSTS upgrades and refresh navigations (the header fields
 * of each hop are in follow_hdr.c). Step numbers quoted as "Fetch
 * step N" are those of the WHATWG Fetch standard's "HTTP-redirect fetch"
 * algorithm (§4.4); "Chromium" marks what Chromium does where it goes beyond
 * or against the text (net/url_request/redirect_util.cc,
 * net/http/http_response_headers.cc); "curl" marks curl 7.88's lib/http.c
 * (Curl_follow) and lib/urlapi.c. See docs/internals/follow.md. */
#include <string.h>

#include "detour/follow.h"
#include "follow_int.h"

/* ---- the request -------------------------------------------------------- */

/* Fetch Metadata §2.1 "set the Sec-Fetch-Site header", step 4, for one more
 * URL of the request's URL list. */
static void site_add(struct detour_follow_req *r)
{
	if (!r->initiator[0]) {
		r->site = DETOUR_SITE_NONE;
		return;
	}
	if (r->site == DETOUR_SITE_CROSS_SITE)
		return;
	char o[DETOUR_FOLLOW_ORIGIN_MAX];
	set_origin_of(r->url, r->url_len, o, sizeof(o));
	if (!strcmp(o, r->initiator))
		return;
	size_t il = strlen(r->initiator);
	if (!detour_origin_same_site(r->initiator, il, r->url, r->url_len))
		r->site = DETOUR_SITE_CROSS_SITE;
	else
		r->site = DETOUR_SITE_SAME_SITE;
}

detour_err detour_follow_start(struct detour_follow_req *r, const struct detour_follow_opts *o,
                               const char *url, size_t len, unsigned *flags)
{
	size_t n;
	detour_err err;

	memset(r, 0, sizeof(*r));
	r->as = o->as;
	if (o->nheaders > DETOUR_FOLLOW_MAX_USER_HEADERS)
		return DETOUR_EINVAL;
	err = detour_location_resolve(o->as, NULL, 0, url, len, r->url, sizeof(r->url), &n, flags);
	if (err)
		return err;
	r->url_len = n;
	const char *m = o->method ? o->method : (o->body ? "POST" : "GET");
	size_t ml = strlen(m);
	if (ml == 0 || ml >= sizeof(r->method))
		return DETOUR_EINVAL;
	for (size_t i = 0; i < ml; i++) {
		unsigned char c = (unsigned char)m[i];
		if (!ascii_is_tchar(c))
			return DETOUR_EINVAL; /* method = token (RFC 9110 §9.1) */
		r->method[i] = (char)c;
	}
	r->method[ml] = 0;
	if (o->as == DETOUR_AS_BROWSER) {
		/* Fetch "normalize a method": DELETE, GET, HEAD, OPTIONS, POST,
		 * PUT are byte-upper-cased. */
		static const char *const norm[] = {"DELETE",  "GET",  "HEAD",
		                                   "OPTIONS", "POST", "PUT"};
		for (size_t k = 0; k < sizeof(norm) / sizeof(norm[0]); k++)
			if (ascii_eq_ci(r->method, ml, norm[k]))
				strcpy(r->method, norm[k]);
		/* Fetch, new Request(): a GET or HEAD request with a body is a
		 * TypeError. */
		if (o->body && safe_method(r))
			return DETOUR_EINVAL;
	}
	r->body = o->body;
	r->max_redirects = o->max_redirects ? o->max_redirects
	                                    : (o->as == DETOUR_AS_CURL ? DETOUR_FOLLOW_CURL_MAX
	                                                               : DETOUR_FOLLOW_BROWSER_MAX);
	r->hdrs = o->headers;
	r->nhdrs = o->nheaders;
	r->policy = DETOUR_RP_STRICT_ORIGIN_WHEN_CROSS_ORIGIN;
	r->user_activated = true;
	r->curl_post = o->body;
	r->curl_custom = o->curl_custom;
	set_origin_of(r->url, r->url_len, r->first_origin, sizeof(r->first_origin));
	host_of(r->url, r->url_len, r->first_host, sizeof(r->first_host));

	/* The referrer: --referer, else a user Referer header (as a browser
	 * it becomes the referrer and is computed per hop from then on). */
	const char *ref = o->referrer;
	size_t refl = ref ? strlen(ref) : 0;
	for (size_t i = 0; i < r->nhdrs && !ref && o->as == DETOUR_AS_BROWSER; i++)
		if (hdr_is(&r->hdrs[i], "Referer")) {
			ref = r->hdrs[i].value;
			refl = r->hdrs[i].value_len;
			r->dropped |= 1ull << i;
		}
	if (o->as == DETOUR_AS_BROWSER) {
		if (ref) {
			err = detour_location_resolve(DETOUR_AS_BROWSER, NULL, 0, ref, refl,
			                              r->referrer, sizeof(r->referrer), &n, NULL);
			if (err)
				return DETOUR_EINVAL;
		} else if (!safe_method(r)) {
			/* A method other than GET or HEAD comes from a form: by
			 * default one on the start URL's own page. */
			memcpy(r->referrer, r->url, r->url_len + 1);
			char *h = strchr(r->referrer, '#');
			if (h)
				*h = 0;
		}
		if (r->referrer[0])
			set_origin_of(r->referrer, strlen(r->referrer), r->initiator,
			              sizeof(r->initiator));
		r->site = DETOUR_SITE_SAME_ORIGIN;
		site_add(r);
	} else if (ref) {
		/* curl -e URL: sent as given on every request. */
		if (refl >= sizeof(r->referrer))
			return DETOUR_EINVAL;
		memcpy(r->referrer, ref, refl);
		r->referrer[refl] = 0;
	}
	return DETOUR_OK;
}

void detour_follow_cookie_url(const struct detour_follow_req *r, struct detour_cookie_url *u)
{
	struct abs a;
	memset(u, 0, sizeof(*u));
	if (!split_abs(r->url, r->url_len, &a))
		return;
	u->host = a.host.p;
	u->host_len = a.host.len;
	u->path = a.path.p;
	u->path_len = a.path.len;
	/* Chromium treats potentially trustworthy URLs (http://localhost)
	 * as secure for cookies. */
	u->secure = trustworthy_abs(&a);
}

detour_err detour_follow_seed_cookies(struct detour_follow_req *r, struct detour_cookie_jar *jar,
                                      time_t now)
{
	if (r->as != DETOUR_AS_BROWSER || !jar)
		return DETOUR_OK;
	struct detour_cookie_url u;
	detour_follow_cookie_url(r, &u);
	u.path = "/";
	u.path_len = 1;
	for (size_t i = 0; i < r->nhdrs; i++) {
		if (!hdr_is(&r->hdrs[i], "Cookie"))
			continue;
		r->dropped |= 1ull << i;
		const char *v = r->hdrs[i].value;
		size_t n = r->hdrs[i].value_len;
		for (size_t a = 0; a < n;) {
			const char *semi = memchr(v + a, ';', n - a);
			size_t e = semi ? (size_t)(semi - v) : n;
			char sc[DETOUR_COOKIE_MAX_PAIR + 16];
			if (e - a + 8 < sizeof(sc)) {
				memcpy(sc, v + a, e - a);
				memcpy(sc + (e - a), "; Path=/", 8);
				detour_err err =
				        detour_cookie_set(jar, &u, sc, e - a + 8, now, NULL);
				if (err == DETOUR_ENOMEM)
					return err;
			}
			a = e + 1;
		}
	}
	return DETOUR_OK;
}

/* ---- following a response ------------------------------------------------ */

/* Fetch "redirect status": 301, 302, 303, 307 or 308. */
static bool redirect_status(int s)
{
	return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* Request-body-header names (Fetch §2.2.2). */
static bool body_header(const struct detour_header *h)
{
	return hdr_is(h, "Content-Encoding") || hdr_is(h, "Content-Language") ||
	       hdr_is(h, "Content-Location") || hdr_is(h, "Content-Type");
}

/* Finds the Location to follow. Chromium (HttpResponseHeaders::IsRedirect)
 * and curl both take the first non-empty Location field; *any is set when
 * there is a Location field at all, *differ when two fields differ
 * (Chromium's HttpStreamParser fails such a response with
 * ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION; identical copies are fine). */
static struct detour_slice find_location(const struct detour_follow_resp *resp, bool *any,
                                         bool *differ)
{
	struct detour_slice loc = {NULL, 0}, first = {NULL, 0};
	*any = *differ = false;
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct detour_header *h = &resp->headers[i];
		if (!hdr_is(h, "Location"))
			continue;
		if (!*any) {
			first = (struct detour_slice){h->value, h->value_len};
			*any = true;
		} else if (h->value_len != first.len || memcmp(h->value, first.p, first.len)) {
			*differ = true;
		}
		if (!loc.p && h->value_len)
			loc = (struct detour_slice){h->value, h->value_len};
	}
	return loc;
}

/* The Referrer-Policy of a response: every field, the last known token. */
static enum detour_rp response_policy(const struct detour_follow_resp *resp)
{
	enum detour_rp p = DETOUR_RP_UNSET;
	for (size_t i = 0; i < resp->nheaders; i++)
		if (hdr_is(&resp->headers[i], "Referrer-Policy")) {
			enum detour_rp q =
			        detour_rp_parse(resp->headers[i].value, resp->headers[i].value_len);
			if (q != DETOUR_RP_UNSET)
				p = q;
		}
	return p;
}

/* Moves r to next_url and applies the origin-change rules shared by real
 * and internal redirects (Fetch steps 13 and 18, Chromium's Origin rule). */
static void move_to(struct detour_follow_req *r, const char *next, size_t n,
                    struct detour_follow_step *st)
{
	bool cross = !detour_origin_same(r->url, r->url_len, next, n);
	st->cross_origin = cross;
	if (r->as == DETOUR_AS_BROWSER && cross) {
		/* Fetch step 13: "If request's current URL's origin is not
		 * same origin with locationURL's origin, then for each
		 * headerName of CORS non-wildcard request-header name
		 * [`Authorization`], delete headerName from request's header
		 * list." */
		for (size_t i = 0; i < r->nhdrs; i++)
			if (hdr_is(&r->hdrs[i], "Authorization") && !(r->dropped & (1ull << i))) {
				r->dropped |= 1ull << i;
				st->auth_dropped = true;
			}
		/* Chromium RedirectUtil::UpdateHttpRequest: a cross-origin
		 * redirect sets an Origin header to "null" (the redirect-
		 * tainted origin of Fetch, applied on any cross-origin hop). */
		if (!safe_method(r) && !r->origin_null) {
			r->origin_null = true;
			st->origin_nulled = true;
		}
	}
	memcpy(r->url, next, n + 1);
	r->url_len = n;
	/* Fetch step 18: append locationURL to request's URL list. */
	if (r->as == DETOUR_AS_BROWSER)
		site_add(r);
}

void detour_follow_next(struct detour_follow_req *r, const struct detour_follow_resp *resp,
                        struct detour_follow_step *st)
{
	char next[DETOUR_FOLLOW_URL_MAX];
	size_t n = 0;
	bool any, differ;
	int s = resp->status;

	memset(st, 0, sizeof(*st));
	st->location = find_location(resp, &any, &differ);
	bool browser = r->as == DETOUR_AS_BROWSER;

	if (browser && differ) {
		st->step = DETOUR_STEP_FAIL;
		st->stop = DETOUR_STOP_MULTIPLE_LOCATION;
		return;
	}
	/* Fetch "location URL", step 1: a status that is not a redirect
	 * status has none. curl follows any 3xx with a Location (300, 304
	 * too). */
	if (browser ? !redirect_status(s) : (s < 300 || s > 399)) {
		st->step = DETOUR_STEP_DONE;
		st->stop = DETOUR_STOP_NOT_REDIRECT;
		return;
	}
	/* Fetch step 4: "If locationURL is null, then return response." An
	 * empty Location is no Location for Chromium and for curl ("ignore
	 * empty data"). */
	if (!st->location.p) {
		st->step = DETOUR_STEP_DONE;
		st->stop = any ? DETOUR_STOP_EMPTY_LOCATION : DETOUR_STOP_NO_LOCATION;
		return;
	}
	/* Chromium escapes non-ASCII bytes of the Location value before
	 * parsing (EscapeNonASCII); detour_location_resolve encodes them. */
	detour_err err =
	        detour_location_resolve(r->as, r->url, r->url_len, st->location.p, st->location.len,
	                                next, sizeof(next), &n, &st->loc_flags);
	if (err == DETOUR_EUNSUPPORTED) {
		/* Fetch step 6: "If locationURL's scheme is not an HTTP(S)
		 * scheme, then return a network error." */
		st->step = DETOUR_STEP_FAIL;
		st->stop = DETOUR_STOP_SCHEME;
		return;
	}
	if (err) {
		/* Fetch step 5: "If locationURL is failure, then return a
		 * network error." */
		st->step = DETOUR_STEP_FAIL;
		st->stop = DETOUR_STOP_BAD_LOCATION;
		return;
	}
	/* Fetch step 7: "If request's redirect count is 20, then return a
	 * network error." curl: "Maximum (50) redirects followed". */
	if (r->redirects >= r->max_redirects) {
		st->step = DETOUR_STEP_FAIL;
		st->stop = DETOUR_STOP_TOO_MANY;
		return;
	}
	/* Fetch step 8: "Increase request's redirect count by 1." */
	r->redirects++;
	st->step = DETOUR_STEP_FOLLOW;

	if (browser) {
		/* Fetch step 12 (RFC 9110 §15.4.2, §15.4.3, §15.4.4): "If one of
		 * the following is true: internalResponse's status is 301 or
		 * 302 and request's method is `POST`; internalResponse's
		 * status is 303 and request's method is not `GET` or `HEAD`,
		 * then: set request's method to `GET` and request's body to
		 * null; for each headerName of request-body-header name,
		 * delete headerName from request's header list." 307 and 308
		 * keep method and body (RFC 9110 §15.4.8, §15.4.9), and Fetch
		 * step 14 re-extracts the same body. */
		if (((s == 301 || s == 302) && method_is(r, "POST")) ||
		    (s == 303 && !safe_method(r))) {
			strcpy(r->method, "GET");
			st->method_changed = true;
			if (r->body)
				st->body_dropped = true;
			r->body = false;
			for (size_t i = 0; i < r->nhdrs; i++)
				if (body_header(&r->hdrs[i]) && !(r->dropped & (1ull << i))) {
					r->dropped |= 1ull << i;
					st->body_headers_dropped = true;
				}
			/* Chromium also removes Origin when the method
			 * changes; a GET carries none here anyway. */
		}
		move_to(r, next, n, st);
		/* Fetch step 19: "Invoke set request's referrer policy on
		 * redirect on request and internalResponse." */
		st->new_policy = response_policy(resp);
		if (st->new_policy != DETOUR_RP_UNSET)
			r->policy = st->new_policy;
		return;
	}

	/* curl 7.88 Curl_follow(): 301 and 302 switch a POST to GET
	 * ("Switch from POST to GET") unless --post301/--post302; 303
	 * switches anything but GET to GET (a HEAD stays HEAD, as no_body is
	 * kept). The -X method string is sent as it is whatever happens. */
	bool was_post = r->curl_post;
	if (((s == 301 || s == 302) && r->curl_post) || (s == 303 && r->curl_post)) {
		r->curl_post = false;
		r->body = false;
		st->body_dropped = was_post;
		if (!r->curl_custom) {
			strcpy(r->method, "GET");
			st->method_changed = true;
		}
	}
	bool cross = !detour_origin_same(r->url, r->url_len, next, n);
	memcpy(r->url, next, n + 1);
	r->url_len = n;
	st->cross_origin = cross;
}

bool detour_follow_hsts(struct detour_follow_req *r, const struct detour_hsts *store, time_t now,
                        struct detour_follow_step *st)
{
	struct detour_follow_step tmp;
	struct abs a;
	if (!st)
		st = &tmp;
	memset(st, 0, sizeof(*st));
	if (!store || !split_abs(r->url, r->url_len, &a) ||
	    !ascii_eq_ci(a.scheme.p, a.scheme.len, "http") ||
	    !detour_hsts_match(store, a.host.p, a.host.len, now))
		return false;
	/* RFC 6797 §8.3: replace the scheme; an explicit port 80 becomes 443
	 * (a canonical URL has none), any other port is kept. Re-resolving
	 * drops a port that is now the default. */
	char up[DETOUR_FOLLOW_URL_MAX + 1];
	size_t n;
	if (r->url_len + 2 > sizeof(up))
		return false;
	memcpy(up, "https", 5);
	memcpy(up + 5, r->url + 4, r->url_len - 4);
	n = r->url_len + 1;
	up[n] = 0;
	char next[DETOUR_FOLLOW_URL_MAX];
	size_t nn;
	if (detour_location_resolve(DETOUR_AS_BROWSER, NULL, 0, up, n, next, sizeof(next), &nn,
	                            NULL))
		return false;
	if (r->as == DETOUR_AS_CURL) {
		/* curl --hsts rewrites the URL before connecting, silently:
		 * no redirect is counted and no header changes. */
		bool first = r->redirects == 0;
		memcpy(r->url, next, nn + 1);
		r->url_len = nn;
		if (first)
			set_origin_of(r->url, r->url_len, r->first_origin, sizeof(r->first_origin));
		st->step = DETOUR_STEP_FOLLOW;
		return true;
	}
	/* Chromium: URLRequestHttpJob answers with a URLRequestRedirectJob,
	 * "307 Internal Redirect" (Non-Authoritative-Reason: HSTS), which is
	 * followed like any 307: counted, method and body kept. */
	if (r->redirects >= r->max_redirects) {
		st->step = DETOUR_STEP_FAIL;
		st->stop = DETOUR_STOP_TOO_MANY;
		return true;
	}
	r->redirects++;
	st->step = DETOUR_STEP_FOLLOW;
	move_to(r, next, nn, st);
	return true;
}

detour_err detour_follow_refresh(struct detour_follow_req *r, const char *url, size_t len,
                                 enum detour_rp policy, unsigned *flags)
{
	char next[DETOUR_FOLLOW_URL_MAX];
	size_t n;
	/* HTML "shared declarative refresh steps", 11.11: urlRecord is the
	 * URL parsed relative to the document (its fragment is its own). */
	char base[DETOUR_FOLLOW_URL_MAX];
	memcpy(base, r->url, r->url_len + 1);
	char *h = strchr(base, '#');
	size_t bl = h ? (size_t)(h - base) : r->url_len;
	if (h)
		*h = 0;
	detour_err err = url ? detour_location_resolve(r->as, base, bl, url, len, next,
	                                               sizeof(next), &n, flags)
	                     : detour_location_resolve(r->as, NULL, 0, base, bl, next, sizeof(next),
	                                               &n, flags);
	if (err)
		return err;
	struct detour_follow_step st;
	memset(&st, 0, sizeof(st));
	/* A new navigation from the document: the document is its referrer
	 * and initiator, under the document's policy. */
	memcpy(r->referrer, base, bl + 1);
	set_origin_of(base, bl, r->initiator, sizeof(r->initiator));
	if (policy != DETOUR_RP_UNSET)
		r->policy = policy;
	strcpy(r->method, "GET");
	r->body = false;
	r->curl_post = false;
	r->curl_custom = false;
	for (size_t i = 0; i < r->nhdrs; i++)
		if (body_header(&r->hdrs[i]))
			r->dropped |= 1ull << i;
	r->user_activated = false;
	r->redirects++;
	move_to(r, next, n, &st);
	/* The URL list of the new navigation is its own. */
	r->origin_null = false;
	r->site = DETOUR_SITE_SAME_ORIGIN;
	site_add(r);
	return DETOUR_OK;
}
