/* detour check: one response of a chain. Splits the captured header block,
 * takes cookies and HSTS from it, reports what the hop shows (cache, STS,
 * Set-Cookie, Vary, Location) and its findings, asks lib/follow.c for the
 * next request (and what the other client would do), follows a declarative
 * refresh, and adds the chain-level findings once the chain has ended. No
 * libcurl here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_hop.h"
#include "check_util.h"
#include "detour/refresh.h"

#include "base/ascii.h"
#include "base/buf.h"

#define RESP_HEADERS_MAX 200

static bool has_finding(const struct chain *c, enum detour_finding f)
{
	for (size_t i = 0; i < c->nf; i++)
		if (c->f[i].code == f)
			return true;
	return false;
}

/* Splits the captured header block into fields (obs-fold lines are
 * appended to the previous field's value as the RFC allows a recipient to). */
static size_t parse_headers(struct chain *c, struct detour_header *out, size_t max)
{
	size_t n = 0;
	char *s = c->hbuf;
	size_t len = c->hlen;
	for (size_t i = 0; i < len;) {
		char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;
		size_t next = nl ? e + 1 : len;
		size_t le = e;
		if (le > i && s[le - 1] == '\r')
			le--;
		if (le == i) {
			i = next;
			continue;
		}
		const char *colon = memchr(s + i, ':', le - i);
		if (colon && n < max) {
			const char *v = colon + 1;
			const char *ve = s + le;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			out[n].name = s + i;
			out[n].name_len = (size_t)(colon - (s + i));
			out[n].value = v;
			out[n].value_len = (size_t)(ve - v);
			n++;
		}
		i = next;
	}
	return n;
}

static const char *first_header(const struct detour_header *h, size_t n, const char *name,
                                size_t *len)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_eq_ci(h[i].name, h[i].name_len, name)) {
			*len = h[i].value_len;
			return h[i].value;
		}
	return NULL;
}

/* --include: the status line and the header block as received, one line
 * each (CRLF and obs-fold line ends as '\n'), for the output to escape. */
static char *response_head(const struct chain *c)
{
	struct bbuf b;
	char *s;

	bbuf_init(&b, SIZE_MAX / 2);
	bbuf_puts(&b, c->sline);
	bbuf_putc(&b, '\n');
	for (size_t i = 0; i < c->hlen;) {
		const char *nl = memchr(c->hbuf + i, '\n', c->hlen - i);
		size_t e = nl ? (size_t)(nl - c->hbuf) : c->hlen;
		size_t le = e > i && c->hbuf[e - 1] == '\r' ? e - 1 : e;
		if (le > i) {
			bbuf_put(&b, c->hbuf + i, le - i);
			bbuf_putc(&b, '\n');
		}
		i = e + 1;
	}
	if ((s = bbuf_take(&b, NULL)) == NULL)
		check_oom();
	return s;
}

/* Chain-level findings, once the chain has ended. */
void check_conclude(struct chain *c)
{
	const struct check_opts *o = c->o;
	int redirects = 0;
	bool perm = false, temp = false;
	for (size_t i = 0; i < c->nh; i++) {
		const struct hop *h = &c->h[i];
		if (!h->followed || h->internal || h->refresh)
			continue;
		redirects++;
		if (h->status == 301 || h->status == 308)
			perm = true;
		else
			temp = true;
	}
	c->redirects = redirects;
	const struct hop *last = c->nh ? &c->h[c->nh - 1] : NULL;
	c->final_status = last ? last->status : 0;
	if (perm && temp)
		check_finding(c, DETOUR_F_MIXED, 0,
		              "permanent and temporary redirects in one chain");
	bool ok2xx = c->final_status >= 200 && c->final_status < 300 && !c->failed;
	if (redirects >= 2 && ok2xx)
		check_finding(c, DETOUR_F_CHAIN, 0, "%d redirects: link to %s directly", redirects,
		              last->url);
	/* With no hop (an unusable input URL, or a first request that could
	 * not be set up) there is no response to hold an expectation against:
	 * the chain already carries the finding that says why. */
	if (c->expect_status && c->nh) {
		size_t fi = 0;
		while (fi + 1 < c->nh && c->h[fi].internal)
			fi++;
		const struct hop *first = &c->h[fi];
		enum detour_finding fs = c->label ? DETOUR_F_AGAINST : DETOUR_F_EXPECT_STATUS;
		enum detour_finding fl = c->label ? DETOUR_F_AGAINST : DETOUR_F_EXPECT_LOCATION;
		if (first->status != c->expect_status)
			check_finding(c, fs, (int)(first - c->h) + 1, "expected %d, got %d",
			              c->expect_status, first->status);
		if (c->expect_location) {
			char want[DETOUR_FOLLOW_URL_MAX];
			size_t wn;
			const char *got = first->loc_resolved ? first->loc_resolved : "";
			if (detour_location_resolve(o->as, first->url, strlen(first->url),
			                            c->expect_location, strlen(c->expect_location),
			                            want, sizeof(want), &wn, NULL) != DETOUR_OK)
				snprintf(want, sizeof(want), "%s", c->expect_location);
			/* The expectation matches the resolved Location, with or
			 * without an inherited fragment, or the raw value. */
			const char *hash = strchr(got, '#');
			bool ok = !strcmp(got, want) ||
			          (first->loc_raw && !strcmp(first->loc_raw, c->expect_location)) ||
			          (hash && !strchr(want, '#') &&
			           (size_t)(hash - got) == strlen(want) &&
			           !strncmp(got, want, (size_t)(hash - got)));
			if (!ok)
				check_finding(c, fl, (int)(first - c->h) + 1,
				              "expected Location %s, got %s", want,
				              first->loc_raw ? got : "(none)");
		}
		if (c->expect_none && first->loc_raw)
			check_finding(c, fl, (int)(first - c->h) + 1,
			              "expected no Location, got %s", first->loc_raw);
		return;
	}
	if (!last || c->failed || c->net_error)
		return;
	if (c->final_status >= 400 && redirects > 0)
		check_finding(c, DETOUR_F_TO_ERROR, (int)c->nh, "the chain ends with %d %s",
		              c->final_status, last->reason);
	else if (!(c->final_status >= 200 && c->final_status < 300) &&
	         !has_finding(c, DETOUR_F_NO_LOCATION) && !has_finding(c, DETOUR_F_EMPTY_LOCATION))
		check_finding(c, DETOUR_F_FINAL_STATUS, (int)c->nh, "the chain ends with %d %s",
		              c->final_status, last->reason);
}

/* Whether the chain requested method+url before hop index upto. */
static int repeated(const struct chain *c)
{
	for (size_t i = 0; i < c->nh; i++)
		for (size_t j = i + 1; j < c->nh; j++) {
			if (strcmp(c->h[i].method, c->h[j].method))
				continue;
			const char *a = c->h[i].url, *b = c->h[j].url;
			size_t al = strcspn(a, "#"), bl = strcspn(b, "#");
			if (al == bl && !strncmp(a, b, al))
				return (int)i + 1;
		}
	return 0;
}

/* What the other client would do with the same response: a note when the
 * method, body or target differ. */
static void compare_other(struct chain *c, const struct detour_follow_req *before,
                          const struct detour_follow_resp *resp,
                          const struct detour_follow_step *mine, int hop)
{
	struct detour_follow_req *o = check_xmalloc(sizeof(*o));
	memcpy(o, before, sizeof(*o));
	bool browser = before->as == DETOUR_AS_BROWSER;
	o->as = browser ? DETOUR_AS_CURL : DETOUR_AS_BROWSER;
	o->curl_post = before->body;
	o->curl_custom = c->o->method != NULL;
	o->max_redirects = browser ? DETOUR_FOLLOW_CURL_MAX : DETOUR_FOLLOW_BROWSER_MAX;
	struct detour_follow_step st;
	detour_follow_next(o, resp, &st);
	const char *who = browser ? "curl -L" : "a browser";
	enum detour_finding code = browser ? DETOUR_F_CURL_DIFFERS : DETOUR_F_BROWSER_DIFFERS;
	if ((st.step == DETOUR_STEP_FOLLOW) != (mine->step == DETOUR_STEP_FOLLOW)) {
		if (st.step == DETOUR_STEP_FOLLOW)
			check_finding(c, code, hop, "%s follows this %d to %s", who, resp->status,
			              o->url);
		else
			check_finding(c, code, hop, "%s stops at this %d", who, resp->status);
	} else if (st.step == DETOUR_STEP_FOLLOW) {
		if (strcmp(o->method, c->req->method) || o->body != c->req->body)
			check_finding(c, code, hop, "%s sends %s %s a body next", who, o->method,
			              o->body ? "with" : "without");
		else if (strcspn(o->url, "#") != strcspn(c->req->url, "#") ||
		         strncmp(o->url, c->req->url, strcspn(o->url, "#")))
			check_finding(c, code, hop, "%s requests %s next", who, o->url);
	}
	free(o);
}

static const char *stop_text(enum detour_stop s)
{
	switch (s) {
	case DETOUR_STOP_MULTIPLE_LOCATION:
		return "two different Location fields";
	case DETOUR_STOP_BAD_LOCATION:
		return "the Location does not parse";
	case DETOUR_STOP_SCHEME:
		return "not an http or https URL";
	case DETOUR_STOP_TOO_MANY:
		return "too many redirects";
	default:
		return "";
	}
}

/* Looks for a declarative refresh in the response; returns true and fills
 * rf (url borrowed from scratch or the headers) if there is one. */
static bool find_refresh(struct chain *c, const struct detour_header *hd, size_t n,
                         struct detour_refresh *rf, char *scratch, size_t cap, bool *from_meta)
{
	size_t vl;
	/* The Refresh header first: it is processed when the document is
	 * created, before the parser meets any meta element. */
	const char *v = first_header(hd, n, "Refresh", &vl);
	*from_meta = false;
	if (v && detour_refresh_parse(v, vl, rf) == DETOUR_OK)
		return true;
	const char *ct = first_header(hd, n, "Content-Type", &vl);
	if (!c->blen || !ct)
		return false;
	if (!ascii_prefix_ci(ct, vl, "text/html") &&
	    !ascii_prefix_ci(ct, vl, "application/xhtml+xml"))
		return false;
	if (detour_refresh_find_meta(c->body, c->blen, scratch, cap, rf) == DETOUR_OK) {
		*from_meta = true;
		return true;
	}
	return false;
}

/* The names the response's Set-Cookie fields set, comma-separated, into
 * h->cookies (left NULL when there is none). */
static void set_cookie_names(struct hop *h, const struct detour_header *hd, size_t n)
{
	struct bbuf b;
	bool any = false;

	/* No cap of its own: the names are part of the response's header
	 * block, already in memory. */
	bbuf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < n; i++)
		if (ascii_eq_ci(hd[i].name, hd[i].name_len, "Set-Cookie")) {
			struct detour_slice s = detour_cookie_name(hd[i].value, hd[i].value_len);
			if (any)
				bbuf_putc(&b, ',');
			if (s.len)
				bbuf_put(&b, s.p, s.len);
			any = true;
		}
	if (!any)
		return;
	if ((h->cookies = bbuf_take(&b, NULL)) == NULL)
		check_oom();
}

/* What changed for the next request (method, body, Authorization, Origin,
 * Referrer-Policy), "; "-separated, into h->note. */
static void follow_note(struct hop *h, const struct detour_follow_req *r,
                        const struct detour_follow_step *st)
{
	struct bbuf b;

	/* One byte kept for the NUL; a part that does not fit is left out
	 * whole (the parts add up to far less than the note holds). */
	bbuf_fixed(&b, h->note, sizeof(h->note) - 1);
	if (st->method_changed) {
		bbuf_puts(&b, h->method);
		BBUF_LIT(&b, " -> ");
		bbuf_puts(&b, r->method);
		BBUF_LIT(&b, "; ");
	}
	if (st->body_dropped)
		BBUF_LIT(&b, "body dropped; ");
	else if (r->body)
		BBUF_LIT(&b, "body re-sent; ");
	if (st->auth_dropped)
		BBUF_LIT(&b, "Authorization dropped; ");
	if (st->origin_nulled)
		BBUF_LIT(&b, "Origin becomes null; ");
	if (st->new_policy != DETOUR_RP_UNSET) {
		BBUF_LIT(&b, "Referrer-Policy: ");
		bbuf_puts(&b, detour_rp_name(st->new_policy));
		BBUF_LIT(&b, "; ");
	}
	h->note[b.len >= 2 ? b.len - 2 : 0] = '\0'; /* without the last "; " */
}

bool check_response(struct chain *c, struct detour_hsts *hsts)
{
	struct detour_follow_req *r = c->req;
	struct hop *h = &c->h[c->nh - 1];
	int hopno = (int)c->nh;
	struct detour_header hd[RESP_HEADERS_MAX];
	size_t nh = parse_headers(c, hd, RESP_HEADERS_MAX);
	struct detour_follow_resp resp = {h->status, hd, nh};
	time_t now = time(NULL);

	if (c->o->include)
		h->resp_head = response_head(c);

	/* Cookies and HSTS from this response (every response of a chain,
	 * redirects included, sets them in a browser). */
	struct detour_follow_absorb ab;
	if (detour_follow_absorb(r, &resp, c->jar, hsts, now, &ab) != DETOUR_OK)
		check_oom();
	if (ab.cookies_ignored)
		check_finding(c, DETOUR_F_COOKIE_REJECTED, hopno, "%u Set-Cookie ignored: %s",
		              ab.cookies_ignored, ab.cookie_why ? ab.cookie_why : "");
	size_t vl;
	const char *v;
	if ((v = first_header(hd, nh, "Strict-Transport-Security", &vl))) {
		h->sts = check_strndup(v, vl);
		if (ab.sts == DETOUR_HSTS_IGNORED_HTTP) {
			check_finding(c, DETOUR_F_HSTS_HTTP, hopno,
			              "Strict-Transport-Security over http is ignored");
			snprintf(h->sts_note, sizeof(h->sts_note), "ignored: plain http");
		} else if (ab.sts == DETOUR_HSTS_INVALID) {
			check_finding(c, DETOUR_F_HSTS_INVALID, hopno, "cannot parse \"%s\"",
			              h->sts);
			snprintf(h->sts_note, sizeof(h->sts_note), "ignored: does not parse");
		} else if (ab.sts == DETOUR_HSTS_IGNORED_IP) {
			snprintf(h->sts_note, sizeof(h->sts_note), "ignored: IP address host");
		} else if (ab.sts == DETOUR_HSTS_FORGOT) {
			snprintf(h->sts_note, sizeof(h->sts_note), "max-age=0: host forgotten");
		} else if (hsts) {
			snprintf(h->sts_note, sizeof(h->sts_note), "host noted as HSTS");
		}
	}
	set_cookie_names(h, hd, nh);
	if ((v = first_header(hd, nh, "Vary", &vl)))
		h->vary = check_strndup(v, vl);
	if ((v = first_header(hd, nh, "Location", &vl)))
		h->loc_raw = check_strndup(v, vl);
	if (h->status >= 300 && h->status < 400) {
		struct detour_cache_info ci;
		detour_cache_analyse(h->status, hd, nh, now, &ci);
		snprintf(h->cache, sizeof(h->cache), "%s", ci.text);
		if ((h->status == 302 || h->status == 303 || h->status == 307) &&
		    ci.kind == DETOUR_CACHE_EXPLICIT && h->loc_raw)
			check_finding(c, DETOUR_F_TEMP_CACHEABLE, hopno, "a %d %s", h->status,
			              ci.text);
		if ((h->status == 301 || h->status == 308) && ci.kind == DETOUR_CACHE_HEURISTIC &&
		    h->loc_raw)
			check_finding(c, DETOUR_F_PERM_NO_LIFETIME, hopno,
			              "a %d without Cache-Control or Expires", h->status);
	}

	struct detour_follow_req *before = check_xmalloc(sizeof(*before));
	memcpy(before, r, sizeof(*before));
	struct detour_follow_step st;
	detour_follow_next(r, &resp, &st);
	compare_other(c, before, &resp, &st, hopno);
	bool was_https = !strncmp(before->url, "https:", 6);
	free(before);

	if (st.loc_flags & DETOUR_LOC_RELATIVE)
		check_finding(c, DETOUR_F_RELATIVE_LOCATION, hopno, "Location: %s", h->loc_raw);
	if (st.loc_flags & DETOUR_LOC_ILLEGAL)
		check_finding(
		        c, DETOUR_F_LOCATION_CHARS, hopno, "Location: %s%s", h->loc_raw,
		        (st.loc_flags & DETOUR_LOC_IDN)
		                ? (r->as == DETOUR_AS_BROWSER
		                           ? " (a non-ASCII host: its UTS #46 punycode form is requested)"
		                           : " (a non-ASCII host: percent-encoded, as curl sends it)")
		                : "");
	if (st.loc_flags & DETOUR_LOC_USERINFO)
		check_finding(c, DETOUR_F_USERINFO, hopno, "Location carries user:password");

	switch (st.step) {
	case DETOUR_STEP_FOLLOW:
		h->loc_resolved = check_strndup(r->url, r->url_len);
		follow_note(h, r, &st);
		if (c->o->first_only)
			return false; /* --against: the next request is not made */
		h->followed = true;
		if ((h->status == 301 || h->status == 302) && st.body_dropped)
			check_finding(c, DETOUR_F_POST_TO_GET, hopno,
			              "%s through a %d: the body is dropped; use %d", h->method,
			              h->status, h->status == 301 ? 308 : 307);
		if (was_https && !strncmp(r->url, "http:", 5))
			check_finding(c, DETOUR_F_DOWNGRADE, hopno, "https -> %s", r->url);
		return true;
	case DETOUR_STEP_FAIL:
		c->failed = true;
		if (st.stop == DETOUR_STOP_TOO_MANY) {
			int rep = repeated(c);
			if (rep)
				check_finding(c, DETOUR_F_LOOP, hopno,
				              "%s is requested again and again (first at hop %d); "
				              "stopped after %u redirects",
				              c->h[rep - 1].url, rep, r->max_redirects);
			else
				check_finding(c, DETOUR_F_TOO_MANY, hopno, "more than %u redirects",
				              r->max_redirects);
		} else if (st.stop == DETOUR_STOP_MULTIPLE_LOCATION) {
			check_finding(c, DETOUR_F_MULTIPLE_LOCATION, hopno, "%s",
			              stop_text(st.stop));
		} else if (st.stop == DETOUR_STOP_SCHEME) {
			check_finding(c, DETOUR_F_SCHEME, hopno, "Location: %s", h->loc_raw);
		} else {
			check_finding(c, DETOUR_F_BAD_LOCATION, hopno, "Location: %s", h->loc_raw);
		}
		return false;
	case DETOUR_STEP_DONE:
		break;
	}
	if (st.stop == DETOUR_STOP_NO_LOCATION)
		check_finding(c, DETOUR_F_NO_LOCATION, hopno, "%d without Location", h->status);
	else if (st.stop == DETOUR_STOP_EMPTY_LOCATION)
		check_finding(c, DETOUR_F_EMPTY_LOCATION, hopno, "%d with an empty Location",
		              h->status);
	else if (h->status >= 300 && h->status < 400 && h->loc_raw && h->loc_raw[0])
		check_finding(c, DETOUR_F_NOT_FOLLOWED, hopno, "%d with Location: %s", h->status,
		              h->loc_raw);

	/* Declarative refresh. */
	struct detour_refresh rf;
	char scratch[DETOUR_FOLLOW_URL_MAX];
	bool from_meta;
	if (find_refresh(c, hd, nh, &rf, scratch, sizeof(scratch), &from_meta)) {
		h->has_refresh = true;
		h->refresh_delay = rf.delay;
		h->refresh_url = rf.url.p ? check_strndup(rf.url.p, rf.url.len) : NULL;
		h->refresh_meta = from_meta;
		if (c->o->follow_refresh && r->as == DETOUR_AS_BROWSER) {
			if (r->redirects >= r->max_redirects) {
				c->failed = true;
				check_finding(c, repeated(c) ? DETOUR_F_LOOP : DETOUR_F_TOO_MANY,
				              hopno, "more than %u redirects and refreshes",
				              r->max_redirects);
				return false;
			}
			char self[DETOUR_FOLLOW_URL_MAX];
			snprintf(self, sizeof(self), "%s", r->url);
			enum detour_rp pol = DETOUR_RP_UNSET;
			if ((v = first_header(hd, nh, "Referrer-Policy", &vl)))
				pol = detour_rp_parse(v, vl);
			unsigned fl;
			detour_err err = detour_follow_refresh(r, rf.url.p, rf.url.len, pol, &fl);
			if (err) {
				check_finding(c, DETOUR_F_BAD_LOCATION, hopno, "refresh URL: %s",
				              h->refresh_url ? h->refresh_url : "");
			} else if (strcspn(self, "#") == strcspn(r->url, "#") &&
			           !strncmp(self, r->url, strcspn(self, "#"))) {
				check_finding(c, DETOUR_F_REFRESH_SELF, hopno,
				              "%s refreshes to itself every %u s", self, rf.delay);
			} else {
				h->followed = true;
				h->refresh = true;
				h->loc_resolved = check_strndup(r->url, r->url_len);
				check_finding(c, DETOUR_F_REFRESH, hopno,
				              "%s refresh after %u s to %s (followed at once)",
				              from_meta ? "<meta>" : "Refresh header", rf.delay,
				              r->url);
				return true;
			}
		}
	}
	return false;
}
