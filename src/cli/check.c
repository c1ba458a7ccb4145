/* detour check: trace redirect chains hop by hop, as a browser (Chromium) or
 * curl follows them. libcurl sends each request with CURLOPT_FOLLOWLOCATION
 * off; lib/follow.c decides the next request. Many URLs run concurrently on
 * one libcurl multi handle. Output: a table (colour on a terminal) or JSON
 * lines; check_out.c writes both. See docs/check.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "cli.h"
#include "detour/refresh.h"
#include "detour/respond.h"

#define BODY_CAP         (1u << 20) /* bytes of HTML read for a meta refresh */
#define RESP_HEADERS_MAX 200

/* ---- small string helpers ------------------------------------------------ */

char *check_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *check_strdup(const char *s)
{
	return s ? check_strndup(s, strlen(s)) : NULL;
}

void *check_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q && n) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
	return q;
}

static bool eq_ci(const char *a, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(a, w, n);
}

/* ---- findings ---------------------------------------------------------- */

void check_finding(struct chain *c, enum detour_finding f, int hop, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->nf == c->capf) {
		c->capf = c->capf ? c->capf * 2 : 8;
		c->f = check_realloc(c->f, c->capf * sizeof(*c->f));
	}
	c->f[c->nf].code = f;
	c->f[c->nf].hop = hop;
	c->f[c->nf].msg = check_strdup(msg);
	c->nf++;
}

static bool has_finding(const struct chain *c, enum detour_finding f)
{
	for (size_t i = 0; i < c->nf; i++)
		if (c->f[i].code == f)
			return true;
	return false;
}

static struct hop *new_hop(struct chain *c)
{
	if (c->nh == c->caph) {
		c->caph = c->caph ? c->caph * 2 : 4;
		c->h = check_realloc(c->h, c->caph * sizeof(*c->h));
	}
	struct hop *h = &c->h[c->nh++];
	memset(h, 0, sizeof(*h));
	return h;
}

/* ---- the run ------------------------------------------------------------ */

struct run {
	struct check_opts *o;
	CURLM *multi;
	struct chain *chains;
	size_t n, next_start, next_print, active, done;
	struct detour_hsts *hsts; /* NULL as curl without --hsts */
	struct curl_slist *resolve, *connect_to;
	const char *cainfo;
	bool progress;
	struct timespec last_progress;
	char curl_ua[64];
};

static void chain_free_runtime(struct chain *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	c->easy = NULL;
	curl_slist_free_all(c->slist);
	c->slist = NULL;
	free(c->req);
	c->req = NULL;
	detour_cookie_jar_free(c->jar);
	c->jar = NULL;
	free(c->hbuf);
	c->hbuf = NULL;
	free(c->body);
	c->body = NULL;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct chain *c = ud;
	size_t len = size * n;
	/* A new status line starts a new header block (after 1xx). */
	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		c->hlen = 0;
		c->reason[0] = 0;
		const char *sp = memchr(p, ' ', len);
		if (sp) {
			const char *sp2 = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p));
			if (sp2) {
				size_t rl = len - (size_t)(sp2 + 1 - p);
				while (rl && (sp2[rl] == '\r' || sp2[rl] == '\n' || sp2[rl] == 0))
					rl--;
				const char *r = sp2 + 1;
				rl = len - (size_t)(r - p);
				while (rl && (r[rl - 1] == '\r' || r[rl - 1] == '\n'))
					rl--;
				if (rl >= sizeof(c->reason))
					rl = sizeof(c->reason) - 1;
				memcpy(c->reason, r, rl);
				c->reason[rl] = 0;
			}
		}
		return len;
	}
	if (c->hlen + len + 1 > c->hcap) {
		c->hcap = (c->hlen + len + 1) * 2;
		c->hbuf = check_realloc(c->hbuf, c->hcap);
	}
	memcpy(c->hbuf + c->hlen, p, len);
	c->hlen += len;
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct chain *c = ud;
	size_t len = size * n;
	if (!c->want_body || c->blen >= BODY_CAP)
		return len;
	size_t take = len;
	if (c->blen + take > BODY_CAP)
		take = BODY_CAP - c->blen;
	if (c->blen + take > c->bcap) {
		c->bcap = (c->blen + take) * 2;
		if (c->bcap > BODY_CAP)
			c->bcap = BODY_CAP;
		c->body = check_realloc(c->body, c->bcap);
	}
	memcpy(c->body + c->blen, p, take);
	c->blen += take;
	return len;
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
		if (eq_ci(h[i].name, h[i].name_len, name)) {
			*len = h[i].value_len;
			return h[i].value;
		}
	return NULL;
}

static void add_resolve(struct run *R, const char *spec)
{
	R->resolve = curl_slist_append(R->resolve, spec);
}

/* Configures c->easy for the request c->req and adds it to the multi
 * handle. */
static int start_transfer(struct run *R, struct chain *c)
{
	struct check_opts *o = R->o;
	struct detour_follow_req *r = c->req;
	char url[DETOUR_FOLLOW_URL_MAX];
	char lbuf[32768];
	const char *lines[DETOUR_FOLLOW_MAX_USER_HEADERS + 32];

	if (!c->easy)
		c->easy = curl_easy_init();
	else
		curl_easy_reset(c->easy);
	if (!c->easy)
		return -1;
	CURL *e = c->easy;
	curl_slist_free_all(c->slist);
	c->slist = NULL;
	c->hlen = 0;
	c->blen = 0;
	c->reason[0] = 0;
	c->errbuf[0] = 0;
	if (detour_follow_wire_url(r, url, sizeof(url)) < 0)
		return -1;
	ssize_t nl = detour_follow_headers(r, c->jar, time(NULL), lbuf, sizeof(lbuf), lines,
	                                   sizeof(lines) / sizeof(lines[0]));
	if (nl < 0)
		return -1;
	struct hop *h = new_hop(c);
	snprintf(h->method, sizeof(h->method), "%s", r->method);
	h->url = check_strndup(r->url, r->url_len);
	h->body_sent = r->body;
	size_t total = 0;
	for (ssize_t i = 0; i < nl; i++)
		total += strlen(lines[i]) + 1;
	h->req_headers = malloc(total + 1);
	h->req_headers[0] = 0;
	size_t off = 0;
	for (ssize_t i = 0; i < nl; i++) {
		size_t l = strlen(lines[i]);
		memcpy(h->req_headers + off, lines[i], l);
		off += l;
		h->req_headers[off++] = '\n';
		h->req_headers[off] = 0;
	}
	const char *accept_enc = NULL;
	for (ssize_t i = 0; i < nl; i++) {
		/* libcurl writes Accept-Encoding itself so that it can decode
		 * the body it asked for. */
		if (!strncasecmp(lines[i], "Accept-Encoding:", 16)) {
			accept_enc = lines[i] + 17;
			continue;
		}
		c->slist = curl_slist_append(c->slist, lines[i]);
	}
	if (r->as == DETOUR_AS_BROWSER) {
		/* A browser never sends Expect: 100-continue; libcurl would
		 * for a large body. */
		c->slist = curl_slist_append(c->slist, "Expect:");
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING,
		                 accept_enc ? accept_enc : DETOUR_BROWSER_ACCEPT_ENCODING);
	} else {
		curl_easy_setopt(e, CURLOPT_USERAGENT, R->curl_ua);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000));
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (R->cainfo)
		curl_easy_setopt(e, CURLOPT_CAINFO, R->cainfo);
	if (R->resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, R->resolve);
	if (R->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, R->connect_to);
	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (r->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body ? o->body : "");
		if (strcmp(r->method, "POST") || (r->as == DETOUR_AS_CURL && r->curl_custom))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		if (strcmp(r->method, "GET"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	c->want_body = o->follow_refresh && strcmp(r->method, "HEAD");
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if (curl_multi_add_handle(R->multi, e) != CURLM_OK)
		return -1;
	return 0;
}

static void finish(struct run *R, struct chain *c);

/* Applies a known HSTS host before sending, recording Chromium's "307
 * Internal Redirect" hop. Returns false if the chain ended. */
static bool hsts_before_send(struct run *R, struct chain *c)
{
	struct detour_follow_step st;
	struct detour_follow_req *r = c->req;
	char before[DETOUR_FOLLOW_URL_MAX];
	char method[32];
	memcpy(before, r->url, r->url_len + 1);
	snprintf(method, sizeof(method), "%s", r->method);
	if (!detour_follow_hsts(r, R->hsts, time(NULL), &st))
		return true;
	if (r->as == DETOUR_AS_CURL)
		return true; /* curl rewrites the URL silently */
	struct hop *h = new_hop(c);
	snprintf(h->method, sizeof(h->method), "%s", method);
	h->url = check_strdup(before);
	h->internal = true;
	h->status = 307;
	snprintf(h->reason, sizeof(h->reason), "Internal Redirect");
	snprintf(h->note, sizeof(h->note), "Non-Authoritative-Reason: HSTS");
	if (st.step == DETOUR_STEP_FAIL) {
		check_finding(c, DETOUR_F_TOO_MANY, (int)c->nh, "more than %u redirects",
		              r->max_redirects);
		finish(R, c);
		return false;
	}
	h->loc_resolved = check_strndup(r->url, r->url_len);
	if (st.auth_dropped)
		snprintf(h->note + strlen(h->note), sizeof(h->note) - strlen(h->note),
		         "; Authorization dropped");
	return true;
}

static void launch(struct run *R, struct chain *c)
{
	if (!hsts_before_send(R, c))
		return;
	if (start_transfer(R, c) < 0) {
		check_finding(c, DETOUR_F_NETWORK, (int)c->nh, "could not set up the request");
		c->net_error = true;
		finish(R, c);
	}
}

/* Chain-level findings, once the chain has ended. */
static void conclude(struct chain *c)
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
	if (c->expect_status) {
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

static void finish(struct run *R, struct chain *c)
{
	conclude(c);
	chain_free_runtime(c);
	c->done = true;
	R->active--;
	R->done++;
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
	struct detour_follow_req *o = malloc(sizeof(*o));
	if (!o)
		return;
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
	if (!(vl >= 9 && !strncasecmp(ct, "text/html", 9)) &&
	    !(vl >= 21 && !strncasecmp(ct, "application/xhtml+xml", 21)))
		return false;
	if (detour_refresh_find_meta(c->body, c->blen, scratch, cap, rf) == DETOUR_OK) {
		*from_meta = true;
		return true;
	}
	return false;
}

static void set_cookie_names(struct hop *h, const struct detour_header *hd, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (eq_ci(hd[i].name, hd[i].name_len, "Set-Cookie"))
			total += hd[i].value_len + 2;
	if (!total)
		return;
	h->cookies = malloc(total + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (eq_ci(hd[i].name, hd[i].name_len, "Set-Cookie")) {
			struct detour_slice s = detour_cookie_name(hd[i].value, hd[i].value_len);
			if (o)
				h->cookies[o++] = ',';
			memcpy(h->cookies + o, s.p, s.len);
			o += s.len;
		}
	h->cookies[o] = 0;
}

static void done_transfer(struct run *R, struct chain *c, CURLcode res)
{
	struct detour_follow_req *r = c->req;
	struct hop *h = &c->h[c->nh - 1];
	int hopno = (int)c->nh;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	h->ms = (double)(t1.tv_sec - c->t0.tv_sec) * 1e3 +
	        (double)(t1.tv_nsec - c->t0.tv_nsec) / 1e6;
	curl_multi_remove_handle(R->multi, c->easy);
	if (res != CURLE_OK) {
		h->error = check_strdup(c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
		check_finding(c, DETOUR_F_NETWORK, hopno, "%s", h->error);
		c->net_error = true;
		finish(R, c);
		return;
	}
	long code = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	h->status = (int)code;
	snprintf(h->reason, sizeof(h->reason), "%s",
	         c->reason[0] ? c->reason : detour_reason(h->status));
	struct detour_header hd[RESP_HEADERS_MAX];
	size_t nh = parse_headers(c, hd, RESP_HEADERS_MAX);
	struct detour_follow_resp resp = {h->status, hd, nh};
	time_t now = time(NULL);

	/* Cookies and HSTS from this response (every response of a chain,
	 * redirects included, sets them in a browser). */
	struct detour_follow_absorb ab;
	if (detour_follow_absorb(r, &resp, c->jar, R->hsts, now, &ab) != DETOUR_OK) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
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
		} else if (R->hsts) {
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

	struct detour_follow_req *before = malloc(sizeof(*before));
	if (!before) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
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
		                ? " (a non-ASCII host: detour does not convert it to punycode)"
		                : "");
	if (st.loc_flags & DETOUR_LOC_USERINFO)
		check_finding(c, DETOUR_F_USERINFO, hopno, "Location carries user:password");

	switch (st.step) {
	case DETOUR_STEP_FOLLOW:
		h->followed = true;
		h->loc_resolved = check_strndup(r->url, r->url_len);
		{
			char *n = h->note;
			size_t cap = sizeof(h->note), l = 0;
			if (st.method_changed)
				l += (size_t)snprintf(n + l, cap - l, "%s -> %s; ", h->method,
				                      r->method);
			if (st.body_dropped)
				l += (size_t)snprintf(n + l, cap - l, "body dropped; ");
			else if (r->body)
				l += (size_t)snprintf(n + l, cap - l, "body re-sent; ");
			if (st.auth_dropped && l < cap)
				l += (size_t)snprintf(n + l, cap - l, "Authorization dropped; ");
			if (st.origin_nulled && l < cap)
				l += (size_t)snprintf(n + l, cap - l, "Origin becomes null; ");
			if (st.new_policy != DETOUR_RP_UNSET && l < cap)
				l += (size_t)snprintf(n + l, cap - l, "Referrer-Policy: %s; ",
				                      detour_rp_name(st.new_policy));
			if (l >= 2 && l < cap)
				n[l - 2] = 0;
		}
		if (c->o->first_only) {
			finish(R, c);
			return;
		}
		if ((h->status == 301 || h->status == 302) && st.body_dropped)
			check_finding(c, DETOUR_F_POST_TO_GET, hopno,
			              "%s through a %d: the body is dropped; use %d", h->method,
			              h->status, h->status == 301 ? 308 : 307);
		if (was_https && !strncmp(r->url, "http:", 5))
			check_finding(c, DETOUR_F_DOWNGRADE, hopno, "https -> %s", r->url);
		launch(R, c);
		return;
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
		finish(R, c);
		return;
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
				finish(R, c);
				return;
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
				launch(R, c);
				return;
			}
		}
	}
	finish(R, c);
}

static void print_ready(struct run *R)
{
	while (R->next_print < R->n && R->chains[R->next_print].done) {
		struct chain *c = &R->chains[R->next_print];
		if (R->progress)
			fprintf(stderr, "\r\033[K");
		check_print_chain(R->o, c);
		check_chain_free(c);
		R->next_print++;
	}
}

static void progress(struct run *R, bool force)
{
	if (!R->progress)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double dt = (double)(t.tv_sec - R->last_progress.tv_sec) +
	            (double)(t.tv_nsec - R->last_progress.tv_nsec) / 1e9;
	if (!force && dt < 0.1)
		return;
	R->last_progress = t;
	fprintf(stderr, "\r\033[Kchecked %zu/%zu URLs, %zu running", R->done, R->n, R->active);
	fflush(stderr);
}

static void start_chain(struct run *R, struct chain *c)
{
	struct check_opts *o = R->o;
	struct detour_follow_opts fo = {
	        .as = o->as,
	        .method = o->method,
	        .body = o->has_body,
	        .curl_custom = o->method != NULL,
	        .headers = o->headers,
	        .nheaders = o->nheaders,
	        .referrer = o->referrer,
	        .max_redirects = o->max_hops,
	};
	R->active++;
	c->o = o;
	c->req = malloc(sizeof(*c->req));
	if (!c->req) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
	unsigned fl = 0;
	detour_err err = detour_follow_start(c->req, &fo, c->url, strlen(c->url), &fl);
	if (err) {
		check_finding(c, DETOUR_F_BAD_LOCATION, 0, "%s: %s", c->url,
		              err == DETOUR_EUNSUPPORTED ? "not an http or https URL"
		                                         : "not an absolute URL");
		c->failed = true;
		c->bad_input = true;
		finish(R, c);
		return;
	}
	if (o->as == DETOUR_AS_BROWSER) {
		c->jar = detour_cookie_jar_new();
		if (!c->jar || detour_follow_seed_cookies(c->req, c->jar, time(NULL))) {
			fprintf(stderr, "detour check: out of memory\n");
			exit(2);
		}
	}
	launch(R, c);
}

int check_run(struct check_opts *o, struct chain *chains, size_t n)
{
	struct run R;
	memset(&R, 0, sizeof(R));
	R.o = o;
	R.chains = chains;
	R.n = n;
	R.progress = n > 1 && isatty(2) && !o->quiet;
	curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	snprintf(R.curl_ua, sizeof(R.curl_ua), "curl/%s", vi->version);
	/* The CA bundle: --cacert, else CURL_CA_BUNDLE, else SSL_CERT_FILE, as
	 * the curl tool reads them. */
	R.cainfo = o->cacert;
	if (!R.cainfo)
		R.cainfo = getenv("CURL_CA_BUNDLE");
	if (!R.cainfo)
		R.cainfo = getenv("SSL_CERT_FILE");
	for (size_t i = 0; i < o->nresolve; i++)
		add_resolve(&R, o->resolve[i]);
	if (o->connect_to[0])
		R.connect_to = curl_slist_append(NULL, o->connect_to);
	/* A browser always has an HSTS store (kept in memory unless --hsts
	 * names a file); curl has one only with --hsts. */
	if (o->as == DETOUR_AS_BROWSER || o->hsts_file) {
		R.hsts = detour_hsts_new();
		if (!R.hsts)
			return 2;
		if (o->hsts_file) {
			FILE *f = fopen(o->hsts_file, "rb");
			if (f) {
				char *buf = NULL;
				size_t len = 0, cap = 0;
				for (;;) {
					if (len + 4096 > cap) {
						cap = (len + 4096) * 2;
						buf = check_realloc(buf, cap);
					}
					size_t k = fread(buf + len, 1, cap - len, f);
					if (!k)
						break;
					len += k;
				}
				fclose(f);
				struct detour_diag d = {0};
				if (detour_hsts_load(R.hsts, o->hsts_file, buf ? buf : "", len,
				                     time(NULL), &d)) {
					char m[400];
					fprintf(stderr, "detour check: %s\n",
					        detour_diag_format(&d, m, sizeof(m)));
					free(buf);
					detour_hsts_free(R.hsts);
					curl_slist_free_all(R.resolve);
					return 2;
				}
				free(buf);
			} else if (errno != ENOENT) {
				fprintf(stderr, "detour check: %s: %s\n", o->hsts_file,
				        strerror(errno));
				detour_hsts_free(R.hsts);
				curl_slist_free_all(R.resolve);
				return 2;
			}
		}
	}
	R.multi = curl_multi_init();
	curl_multi_setopt(R.multi, CURLMOPT_MAXCONNECTS, (long)o->parallel * 2);
	clock_gettime(CLOCK_MONOTONIC, &R.last_progress);

	while (R.done < R.n) {
		while (R.active < (size_t)o->parallel && R.next_start < R.n)
			start_chain(&R, &chains[R.next_start++]);
		int running = 0;
		curl_multi_perform(R.multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(R.multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct chain *c;
			CURLcode res = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			done_transfer(&R, c, res);
		}
		print_ready(&R);
		progress(&R, false);
		if (R.done < R.n && R.active && running)
			curl_multi_poll(R.multi, NULL, 0, 100, NULL);
	}
	print_ready(&R);
	if (R.progress)
		fprintf(stderr, "\r\033[K");
	curl_multi_cleanup(R.multi);
	curl_slist_free_all(R.resolve);
	curl_slist_free_all(R.connect_to);

	int rc = 0;
	if (R.hsts && o->hsts_file) {
		char *text;
		size_t len;
		if (detour_hsts_save(R.hsts, time(NULL), &text, &len) == DETOUR_OK) {
			char tmp[4096];
			snprintf(tmp, sizeof(tmp), "%s.tmp%ld", o->hsts_file, (long)getpid());
			FILE *f = fopen(tmp, "wb");
			if (!f || fwrite(text, 1, len, f) != len || fclose(f) ||
			    rename(tmp, o->hsts_file)) {
				fprintf(stderr, "detour check: cannot write %s: %s\n", o->hsts_file,
				        strerror(errno));
				rc = 2;
			}
			free(text);
		}
	}
	detour_hsts_free(R.hsts);
	if (rc)
		return rc;
	return o->exit_code;
}

/* ---- the command line -------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: detour check [options] URL...\n"
	        "       detour check [options] --input FILE\n"
	        "       detour check [options] --against BASEURL RULES\n"
	        "\n"
	        "Requests each URL with redirects not followed by the HTTP library, then\n"
	        "computes every next request as Chromium does (WHATWG Fetch, RFC 9110), or as\n"
	        "curl -L does with --as curl, and shows each hop and the findings.\n"
	        "\n"
	        "  -X, --method M          method of the first request (default GET, POST with "
	        "--data)\n"
	        "  -d, --data DATA         body of the first request\n"
	        "      --data-file FILE    body of the first request, read from FILE\n"
	        "  -H, --header 'N: V'     add a request header (repeatable)\n"
	        "  -e, --referer URL       start from a link or form on the page URL\n"
	        "      --as browser|curl   follow as Chromium (default) or as curl -L\n"
	        "      --max-hops N        redirects allowed (default 20; 50 as curl)\n"
	        "      --hsts FILE         HSTS store to read and update (curl's --hsts format)\n"
	        "      --follow-refresh    also follow Refresh headers and <meta "
	        "http-equiv=refresh>\n"
	        "      --json              one JSON object per URL and line\n"
	        "  -i, --input FILE        URLs, one a line, or CSV: url[,status[,location]]\n"
	        "  -P, --parallel N        URLs checked at once (default 16)\n"
	        "      --expect S[,LOC]    expect status S (and Location LOC) from the first "
	        "response\n"
	        "      --against BASE RULES  check a running server against a rules file\n"
	        "      --cacert FILE       trust the CA certificates in FILE\n"
	        "      --resolve H:P:ADDR  connect to ADDR for host H, port P (repeatable)\n"
	        "      --timeout SECS      per request (default 30)\n"
	        "      --color, --no-color colour the table (default: on a terminal)\n"
	        "  -q, --quiet             no progress line\n"
	        "  -h, --help              this text\n"
	        "\n"
	        "Environment: CURL_CA_BUNDLE, SSL_CERT_FILE (CA bundle, as curl), NO_COLOR.\n"
	        "Exit status: 0 every chain ends in 2xx or as expected, 1 a finding of severity\n"
	        "error, 2 usage or network error. See docs/check.md.\n");
}

/* Parses "STATUS[,LOCATION]". */
static bool parse_expect(const char *s, int *status, const char **loc)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || v < 100 || v > 599 || (*end && *end != ','))
		return false;
	*status = (int)v;
	*loc = *end == ',' && end[1] ? end + 1 : NULL;
	return true;
}

static bool parse_header(const char *s, struct detour_header *h)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return false;
	for (const char *p = s; p < colon; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7F || strchr("\"(),/:;<=>?@[\\]{}", c))
			return false; /* field-name = token (RFC 9110 §5.1) */
	}
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (size_t i = 0; i < vl; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == 0)
			return false;
	h->name = s;
	h->name_len = (size_t)(colon - s);
	h->value = v;
	h->value_len = vl;
	return true;
}

int cmd_check(int argc, char **argv)
{
	enum {
		O_DATA_FILE = 256,
		O_AS,
		O_MAX_HOPS,
		O_HSTS,
		O_REFRESH,
		O_JSON,
		O_EXPECT,
		O_AGAINST,
		O_CACERT,
		O_RESOLVE,
		O_TIMEOUT,
		O_COLOR,
		O_NO_COLOR,
	};
	static const struct option lo[] = {
	        {"method", required_argument, NULL, 'X'},
	        {"data", required_argument, NULL, 'd'},
	        {"data-file", required_argument, NULL, O_DATA_FILE},
	        {"header", required_argument, NULL, 'H'},
	        {"referer", required_argument, NULL, 'e'},
	        {"as", required_argument, NULL, O_AS},
	        {"max-hops", required_argument, NULL, O_MAX_HOPS},
	        {"hsts", required_argument, NULL, O_HSTS},
	        {"follow-refresh", no_argument, NULL, O_REFRESH},
	        {"json", no_argument, NULL, O_JSON},
	        {"input", required_argument, NULL, 'i'},
	        {"parallel", required_argument, NULL, 'P'},
	        {"expect", required_argument, NULL, O_EXPECT},
	        {"against", required_argument, NULL, O_AGAINST},
	        {"cacert", required_argument, NULL, O_CACERT},
	        {"resolve", required_argument, NULL, O_RESOLVE},
	        {"timeout", required_argument, NULL, O_TIMEOUT},
	        {"color", no_argument, NULL, O_COLOR},
	        {"no-color", no_argument, NULL, O_NO_COLOR},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static struct check_opts o;
	memset(&o, 0, sizeof(o));
	o.parallel = 16;
	o.timeout = 30;
	int color = -1;
	const char *input = NULL, *against = NULL, *data_file = NULL;
	char *file_body = NULL;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "X:d:H:e:i:P:qh", lo, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 'X':
			o.method = optarg;
			break;
		case 'd':
			o.body = optarg;
			o.body_len = strlen(optarg);
			o.has_body = true;
			break;
		case O_DATA_FILE:
			data_file = optarg;
			break;
		case 'H':
			if (o.nheaders >= DETOUR_FOLLOW_MAX_USER_HEADERS ||
			    !parse_header(optarg, &o.headers[o.nheaders])) {
				fprintf(stderr,
				        "detour check: bad --header '%s' (want 'Name: value')\n",
				        optarg);
				return 2;
			}
			o.nheaders++;
			break;
		case 'e':
			o.referrer = optarg;
			break;
		case O_AS:
			if (!strcmp(optarg, "curl")) {
				o.as = DETOUR_AS_CURL;
			} else if (!strcmp(optarg, "browser") || !strcmp(optarg, "chromium")) {
				o.as = DETOUR_AS_BROWSER;
			} else {
				fprintf(stderr, "detour check: --as takes browser or curl\n");
				return 2;
			}
			break;
		case O_MAX_HOPS: {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 1000) {
				fprintf(stderr, "detour check: bad --max-hops '%s'\n", optarg);
				return 2;
			}
			o.max_hops = (unsigned)v;
			if (v == 0) {
				fprintf(stderr, "detour check: --max-hops must be at least 1\n");
				return 2;
			}
			break;
		}
		case O_HSTS:
			o.hsts_file = optarg;
			break;
		case O_REFRESH:
			o.follow_refresh = true;
			break;
		case O_JSON:
			o.json = true;
			break;
		case 'i':
			input = optarg;
			break;
		case 'P': {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 4096) {
				fprintf(stderr, "detour check: bad --parallel '%s'\n", optarg);
				return 2;
			}
			o.parallel = (int)v;
			break;
		}
		case O_EXPECT:
			if (!parse_expect(optarg, &o.expect_status, &o.expect_location)) {
				fprintf(stderr,
				        "detour check: bad --expect '%s' (want "
				        "STATUS[,LOCATION])\n",
				        optarg);
				return 2;
			}
			break;
		case O_AGAINST:
			against = optarg;
			break;
		case O_CACERT:
			o.cacert = optarg;
			break;
		case O_RESOLVE:
			if (o.nresolve >= sizeof(o.resolve) / sizeof(o.resolve[0])) {
				fprintf(stderr, "detour check: too many --resolve\n");
				return 2;
			}
			o.resolve[o.nresolve++] = optarg;
			break;
		case O_TIMEOUT:
			o.timeout = strtod(optarg, &end);
			if (*end || o.timeout <= 0 || o.timeout > 3600) {
				fprintf(stderr, "detour check: bad --timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case O_COLOR:
			color = 1;
			break;
		case O_NO_COLOR:
			color = 0;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt)
				fprintf(stderr,
				        "detour check: option -%c needs an argument or is "
				        "unknown\n",
				        optopt);
			else
				fprintf(stderr, "detour check: unknown option '%s'\n",
				        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (data_file) {
		if (o.has_body) {
			fprintf(stderr,
			        "detour check: --data and --data-file exclude each other\n");
			return 2;
		}
		file_body = check_read_file(data_file, &o.body_len);
		if (!file_body) {
			fprintf(stderr, "detour check: %s: %s\n", data_file, strerror(errno));
			return 2;
		}
		o.body = file_body;
		o.has_body = true;
	}
	if (o.as == DETOUR_AS_BROWSER && o.has_body && o.method &&
	    (!strcasecmp(o.method, "GET") || !strcasecmp(o.method, "HEAD"))) {
		fprintf(stderr, "detour check: a browser sends no body with %s\n", o.method);
		free(file_body);
		return 2;
	}
	if (color < 0)
		color = isatty(1) && !getenv("NO_COLOR");
	o.color = color && !o.json;

	struct chain *chains = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	if (against) {
		if (optind + 1 != argc || input) {
			fprintf(stderr,
			        "detour check: --against BASEURL takes one RULES file and no "
			        "URLs\n");
			free(file_body);
			return 2;
		}
		rc = check_against(&o, against, argv[optind], &chains, &n);
	} else {
		for (int i = optind; i < argc; i++)
			check_add_chain(&chains, &n, &cap, argv[i], o.expect_status,
			                o.expect_location);
		if (input)
			rc = check_read_input(input, &o, &chains, &n, &cap);
		if (!rc && n == 0) {
			fprintf(stderr, "detour check: no URL to check\n\n");
			usage(stderr);
			rc = 2;
		}
	}
	if (!rc) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = check_run(&o, chains, n);
		curl_global_cleanup();
	}
	for (size_t i = 0; i < n; i++) {
		check_chain_free(&chains[i]);
		free(chains[i].url);
		free(chains[i].expect_location);
		free(chains[i].label);
	}
	free(chains);
	free(file_body);
	return rc;
}
