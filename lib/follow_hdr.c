/* detour: what goes on the wire for a hop of a redirect chain, the other
 * half of detour/follow.h (declared in detour/follow_hdr.h): the URL handed to the HTTP library,
 * the header fields (Chromium's navigation profile with Origin, Referer and Cookie, or curl's short
 * list), and what a response sets (cookies, HSTS). "Chromium" and "curl" mark what those clients
 * do, as in follow.c. See docs/internals/follow.md. */
#include <string.h>

#include "detour/follow_hdr.h"
#include "follow_int.h"

ssize_t detour_follow_wire_url(const struct detour_follow_req *r, char *out, size_t cap)
{
	struct abs a;
	if (!split_abs(r->url, r->url_len, &a))
		return -1;
	struct bbuf w;
	bbuf_fixed(&w, out, cap);
	size_t end = a.fragment.p ? (size_t)(a.fragment.p - 1 - r->url) : r->url_len;
	if (r->as == DETOUR_AS_BROWSER && a.userinfo.p) {
		bbuf_put(&w, r->url, a.auth_start);
		size_t h = (size_t)(a.host.p - r->url);
		bbuf_put(&w, r->url + h, end - h);
	} else {
		bbuf_put(&w, r->url, end);
	}
	bbuf_putc(&w, 0);
	if (w.over)
		return -1;
	return (ssize_t)w.len - 1;
}

enum detour_samesite_ctx detour_follow_samesite_ctx(const struct detour_follow_req *r)
{
	/* RFC 6265bis §5.2.1 for a top-level navigation: no initiator
	 * (typed, bookmark) is same-site; else the initiator's site
	 * decides, with safe methods allowed Lax cookies. */
	if (!r->initiator[0] ||
	    detour_origin_same_site(r->initiator, strlen(r->initiator), r->url, r->url_len))
		return DETOUR_CTX_SAME_SITE;
	return safe_method(r) ? DETOUR_CTX_CROSS_LAX : DETOUR_CTX_CROSS_UNSAFE;
}

/* W3C Referrer Policy §8.3 "determine request's referrer", for a request
 * whose referrer is a URL. Writes the Referer value or "" into out. */
static void referer_value(const struct detour_follow_req *r, char *out, size_t cap)
{
	struct abs ref, cur;
	out[0] = 0;
	if (!r->referrer[0] || !split_abs(r->referrer, strlen(r->referrer), &ref) ||
	    !split_abs(r->url, r->url_len, &cur))
		return;
	/* Steps 4-5: strip for use as a referrer (no credentials, no
	 * fragment); the origin-only form ends after the authority with "/". */
	char full[DETOUR_FOLLOW_URL_MAX], orig[DETOUR_FOLLOW_ORIGIN_MAX + 1];
	struct bbuf w;
	bbuf_fixed(&w, full, sizeof(full));
	size_t end =
	        ref.fragment.p ? (size_t)(ref.fragment.p - 1 - r->referrer) : strlen(r->referrer);
	bbuf_put(&w, r->referrer, ref.auth_start);
	size_t h = (size_t)(ref.host.p - r->referrer);
	bbuf_put(&w, r->referrer + h, end - h);
	bbuf_putc(&w, 0);
	if (w.over)
		return;
	ssize_t ol = detour_origin_of(r->referrer, strlen(r->referrer), orig, sizeof(orig) - 1);
	if (ol < 0)
		return;
	orig[ol] = '/';
	orig[ol + 1] = 0;
	/* Step 6: a referrer URL over 4096 bytes is cut to its origin. */
	const char *url = strlen(full) > 4096 ? orig : full;
	bool same = detour_origin_same(r->referrer, strlen(r->referrer), r->url, r->url_len);
	bool downgrade = trustworthy_abs(&ref) && !trustworthy_abs(&cur);
	const char *v = NULL;
	switch (r->policy) {
	case DETOUR_RP_NO_REFERRER:
		v = NULL;
		break;
	case DETOUR_RP_ORIGIN:
		v = orig;
		break;
	case DETOUR_RP_UNSAFE_URL:
		v = url;
		break;
	case DETOUR_RP_STRICT_ORIGIN:
		v = downgrade ? NULL : orig;
		break;
	case DETOUR_RP_UNSET:
	case DETOUR_RP_STRICT_ORIGIN_WHEN_CROSS_ORIGIN:
		v = same ? url : (downgrade ? NULL : orig);
		break;
	case DETOUR_RP_SAME_ORIGIN:
		v = same ? url : NULL;
		break;
	case DETOUR_RP_ORIGIN_WHEN_CROSS_ORIGIN:
		v = same ? url : orig;
		break;
	case DETOUR_RP_NO_REFERRER_WHEN_DOWNGRADE:
		v = downgrade ? NULL : url;
		break;
	}
	if (v && strlen(v) < cap)
		strcpy(out, v);
}

/* Fetch §3.1 "append a request `Origin` header" for a navigation (mode
 * "navigate", so only methods other than GET and HEAD carry it). Writes the
 * value or "" into out. */
static void origin_value(const struct detour_follow_req *r, char *out, size_t cap)
{
	out[0] = 0;
	if (safe_method(r) || !r->initiator[0])
		return;
	const char *v = r->origin_null ? "null" : r->initiator;
	struct abs ini, cur;
	if (split_abs(r->initiator, strlen(r->initiator), &ini) &&
	    split_abs(r->url, r->url_len, &cur)) {
		switch (r->policy) {
		case DETOUR_RP_NO_REFERRER:
			v = "null";
			break;
		case DETOUR_RP_NO_REFERRER_WHEN_DOWNGRADE:
		case DETOUR_RP_STRICT_ORIGIN:
		case DETOUR_RP_STRICT_ORIGIN_WHEN_CROSS_ORIGIN:
		case DETOUR_RP_UNSET:
			if (is_https(&ini) && !is_https(&cur))
				v = "null";
			break;
		case DETOUR_RP_SAME_ORIGIN:
			if (!detour_origin_same(r->initiator, strlen(r->initiator), r->url,
			                        r->url_len))
				v = "null";
			break;
		default:
			break;
		}
	}
	if (strlen(v) < cap)
		strcpy(out, v);
}

/* The header lines being built: "Name: value" strings, each NUL-terminated,
 * one after the other in b, with lines[] pointing at them. */
struct hb {
	struct bbuf b;
	const char **lines;
	size_t max, n;
};

static void add_line(struct hb *h, const char *name, size_t nl, const char *val, size_t vl)
{
	size_t at = h->b.len;

	if (h->n >= h->max)
		h->b.over = true;
	bbuf_put(&h->b, name, nl);
	BBUF_LIT(&h->b, ": ");
	bbuf_put(&h->b, val, vl);
	bbuf_putc(&h->b, '\0');
	if (bbuf_ok(&h->b))
		h->lines[h->n++] = h->b.p + at;
}

static bool user_sent(const struct detour_follow_req *r, size_t i)
{
	if (r->dropped & (1ull << i))
		return false;
	const struct detour_header *h = &r->hdrs[i];
	if (hdr_is(h, "Host")) {
		/* A user Host header goes only to the first request's host
		 * (curl's Curl_http_host does this; detour does it in both
		 * modes). */
		char host[256];
		host_of(r->url, r->url_len, host, sizeof(host));
		return !strcmp(host, r->first_host);
	}
	if (r->as == DETOUR_AS_CURL && (hdr_is(h, "Authorization") || hdr_is(h, "Cookie"))) {
		/* curl (since 7.83, CVE-2022-27776): custom Authorization and
		 * Cookie headers go only where host, port and scheme are the
		 * first request's; back there they are sent again. */
		char o[DETOUR_FOLLOW_ORIGIN_MAX];
		set_origin_of(r->url, r->url_len, o, sizeof(o));
		return !strcmp(o, r->first_origin);
	}
	return true;
}

/* Index of the first still-sent user header named name, or -1. */
static long user_header(const struct detour_follow_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (hdr_is(&r->hdrs[i], name) && user_sent(r, i))
			return (long)i;
	return -1;
}

ssize_t detour_follow_headers(const struct detour_follow_req *r,
                              const struct detour_cookie_jar *jar, time_t now, char *buf,
                              size_t cap, const char **lines, size_t max)
{
	struct hb b = {.lines = lines, .max = max};
	bbuf_fixed(&b.b, buf, cap);
	uint64_t used = 0;

	if (r->as == DETOUR_AS_CURL) {
		for (size_t i = 0; i < r->nhdrs; i++)
			if (user_sent(r, i))
				add_line(&b, r->hdrs[i].name, r->hdrs[i].name_len, r->hdrs[i].value,
				         r->hdrs[i].value_len);
		if (r->referrer[0] && user_header(r, "Referer") == -1)
			add_line(&b, "Referer", 7, r->referrer, strlen(r->referrer));
		return bbuf_ok(&b.b) ? (ssize_t)b.n : -1;
	}

	bool tw = detour_origin_trustworthy(r->url, r->url_len);
	char origin[DETOUR_FOLLOW_ORIGIN_MAX], referer[DETOUR_FOLLOW_URL_MAX];
	origin_value(r, origin, sizeof(origin));
	referer_value(r, referer, sizeof(referer));
	char ck[16384];
	ck[0] = 0;
	if (jar) {
		struct detour_cookie_url cu;
		detour_follow_cookie_url(r, &cu);
		if (detour_cookie_header(jar, &cu, detour_follow_samesite_ctx(r), now, ck,
		                         sizeof(ck)) < 0)
			return -1;
	}
	static const char *const site_names[] = {"none", "same-origin", "same-site", "cross-site"};
	/* The Chromium navigation request, in Chromium's order. A user
	 * header of the same name takes the field's place; an empty computed
	 * value means no field. */
	const struct {
		const char *name;
		const char *value;
		bool when;
	} prof[] = {
	        {"Connection", "keep-alive", true},
	        {"sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"", tw},
	        {"sec-ch-ua-mobile", "?0", tw},
	        {"sec-ch-ua-platform", "\"Linux\"", tw},
	        {"Origin", origin, origin[0] != 0},
	        {"Upgrade-Insecure-Requests", "1", true},
	        {"User-Agent", DETOUR_BROWSER_UA, true},
	        {"Accept", DETOUR_BROWSER_ACCEPT, true},
	        {"Sec-Fetch-Site", site_names[r->site], tw},
	        {"Sec-Fetch-Mode", "navigate", tw},
	        {"Sec-Fetch-User", "?1", tw && r->user_activated},
	        {"Sec-Fetch-Dest", "document", tw},
	        {"Referer", referer, referer[0] != 0},
	        {"Accept-Encoding", DETOUR_BROWSER_ACCEPT_ENCODING, true},
	        {"Accept-Language", DETOUR_BROWSER_ACCEPT_LANGUAGE, true},
	        {"Cookie", ck, ck[0] != 0},
	};
	for (size_t k = 0; k < sizeof(prof) / sizeof(prof[0]); k++) {
		long u = user_header(r, prof[k].name);
		if (u >= 0) {
			const struct detour_header *h = &r->hdrs[u];
			add_line(&b, h->name, h->name_len, h->value, h->value_len);
			used |= 1ull << u;
		} else if (prof[k].when) {
			add_line(&b, prof[k].name, strlen(prof[k].name), prof[k].value,
			         strlen(prof[k].value));
		}
	}
	for (size_t i = 0; i < r->nhdrs; i++) {
		if ((used & (1ull << i)) || !user_sent(r, i))
			continue;
		add_line(&b, r->hdrs[i].name, r->hdrs[i].name_len, r->hdrs[i].value,
		         r->hdrs[i].value_len);
	}
	return bbuf_ok(&b.b) ? (ssize_t)b.n : -1;
}

detour_err detour_follow_absorb(const struct detour_follow_req *r,
                                const struct detour_follow_resp *resp,
                                struct detour_cookie_jar *jar, struct detour_hsts *store,
                                time_t now, struct detour_follow_absorb *out)
{
	struct abs a;
	memset(out, 0, sizeof(*out));
	if (!split_abs(r->url, r->url_len, &a))
		return DETOUR_EINVAL;
	struct detour_cookie_url cu;
	detour_follow_cookie_url(r, &cu);
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct detour_header *h = &resp->headers[i];
		if (jar && hdr_is(h, "Set-Cookie")) {
			const char *why = NULL;
			detour_err err =
			        detour_cookie_set(jar, &cu, h->value, h->value_len, now, &why);
			if (err == DETOUR_ENOMEM)
				return err;
			if (err) {
				out->cookies_ignored++;
				out->cookie_why = why;
			} else {
				out->cookies_set++;
			}
		} else if (hdr_is(h, "Strict-Transport-Security") && !out->sts_present) {
			/* RFC 6797 §8.1: "If a UA receives more than one STS
			 * header field in an HTTP response message over secure
			 * transport, then the UA MUST process only the first
			 * such header field." */
			out->sts_present = true;
			if (store) {
				out->sts =
				        detour_hsts_note(store, a.host.p, a.host.len, is_https(&a),
				                         h->value, h->value_len, now);
				if (out->sts == DETOUR_HSTS_ENOMEM)
					return DETOUR_ENOMEM;
			} else {
				out->sts =
				        is_https(&a) ? DETOUR_HSTS_NOTED : DETOUR_HSTS_IGNORED_HTTP;
			}
		}
	}
	return DETOUR_OK;
}
