/* detour server: one request's answer, see request.h: the target
 * normalised, the client a trusted proxy names, the ACME challenge, the
 * route (route.h), the response written into the caller's buffer (struct
 * req_out: the connection's output buffer for HTTP/1.1, h2.c's for a
 * stream), and its accounting (statistics, access log). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "acme_http01.h"
#include "budget.h"
#include "detour/rulefile.h"
#include "detour/url.h"
#include "request.h"
#include "route.h"

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static struct detour_respond_ctx make_ctx(struct conns *cs, bool head, bool close)
{
	struct detour_respond_ctx ctx = {
	        .date = cs->date,
	        .now = cs->now_sec,
	        .head = head,
	        .close = close,
	        .server_header = cs->view.set->server_header,
	};
	return ctx;
}

void request_fail(struct conn *c, int status, const struct detour_request *req, bool head,
                  struct req_out *o)
{
	struct conns *cs = c->cs;
	struct detour_respond_ctx ctx = make_ctx(cs, head, true);
	ssize_t n;

	*o->close = true;
	if (*o->cap - *o->len < 1024)
		return;                 /* no room even for an error: just close */
	if (c->https && cs->view.canon) /* RFC 6797 §7.2: over https only */
		ctx.extra_headers = detour_canon_hsts(cs->view.canon, &ctx.extra_len);
	n = detour_respond_status(status, &ctx, *o->buf + *o->len, *o->cap - *o->len);
	if (n > 0)
		*o->len += (uint32_t)n;
	stats_request(cs->st, status, c->listener);
	if (cs->alog.buf) {
		struct alog_entry e = {.peer = c->peer,
		                       .req = req,
		                       .status = status,
		                       .bytes = n > 0 ? (size_t)n : 0,
		                       .https = c->https,
		                       .duration_ms = cs->now_ms - c->req_start_ms};
		alog_request(&cs->alog, cs->log_time, cs->now_sec, &e);
	}
}

void request_error_head(struct conn *c, int status, const struct detour_request *req, bool head)
{
	request_fail(c, status, req, head, &c->resp);
}

void request_error(struct conn *c, int status, const struct detour_request *req)
{
	request_error_head(c, status, req, req && req->method_id == DETOUR_M_HEAD);
}

/* Grows o's buffer to exactly want bytes (see conn.c's shrink), within the
 * worker's `limit buffer-memory` (budget.h): counted for c, whichever
 * buffer it is. */
static bool grow_out(struct conn *c, struct req_out *o, uint32_t want)
{
	return budget_grow(c, o->buf, o->cap, want);
}

/* The status for an answer that did not fit: 503 (RFC 9110 §15.6.4, a
 * temporary overload) when the buffer could not grow to DETOUR_RESPONSE_MAX
 * (over `limit buffer-memory`, or out of memory), else 500. */
static int out_refused(const struct req_out *o)
{
	return *o->cap < DETOUR_RESPONSE_MAX ? 503 : 500;
}

/* The request's match input: the path normalised into the worker's scratch
 * buffer. Returns false for a path that cannot be normalised (400). */
static bool parse_target(struct conn *c, const struct detour_request *req,
                         struct detour_match_req *q)
{
	struct conns *cs = c->cs;
	ssize_t pl;

	if (req->asterisk_form) {
		/* "OPTIONS *" names no resource, so no rule: 404. */
		pl = 1;
		cs->pathbuf[0] = '*';
	} else {
		pl = detour_url_normalize_path(req->path, req->path_len, cs->pathbuf,
		                               3 * cs->limits.max_target + 1);
	}
	if (pl < 0)
		return false;
	*q = (struct detour_match_req){
	        .host = req->host,
	        .host_len = req->host_len,
	        .https = c->https,
	        .path = cs->pathbuf,
	        .path_len = (size_t)pl,
	        .query = req->query,
	        .query_len = req->query_len,
	        .req = req,
	        .now = cs->now_sec, /* time windows; DETOUR_NOW shifts it (worker.c) */
	        .peer = c->peer_sa.sa.sa_family == AF_UNSPEC ? NULL : &c->peer_sa.sa,
	};
	return true;
}

/* From a trusted proxy only: the client and scheme its Forwarded or
 * X-Forwarded-For / X-Forwarded-Proto fields name replace the connection's
 * for this request (q->peer, q->https; the access log's client). Called only
 * when trusted-proxies is set. */
static void apply_forwarded(struct conn *c, const struct detour_request *req,
                            struct detour_match_req *q)
{
	struct conns *cs = c->cs;
	const struct settings *set = cs->view.set;

	if (!detour_fwd_trusted(set->trusted, set->ntrusted, q->peer))
		return; /* anyone else's fields are their own words */
	detour_fwd_resolve(req, set->trusted, set->ntrusted, &cs->fwd);
	if (cs->fwd.addr.sa.sa_family != AF_UNSPEC) {
		q->peer = &cs->fwd.addr.sa;
		if (cs->alog.buf)
			inet_ntop(cs->fwd.addr.sa.sa_family,
			          cs->fwd.addr.sa.sa_family == AF_INET
			                  ? (const void *)&cs->fwd.addr.in.sin_addr
			                  : (const void *)&cs->fwd.addr.in6.sin6_addr,
			          cs->fwd_peer, sizeof(cs->fwd_peer));
	}
	if (cs->fwd.scheme != DETOUR_FWD_SCHEME_NONE)
		q->https = cs->fwd.scheme == DETOUR_FWD_HTTPS;
}

/* Counts an answered request: status and listener, the rule's hit or the
 * unmatched path, and the access log line. */
static void account(struct conn *c, const struct detour_request *req,
                    const struct detour_match_req *q, enum route r, const struct detour_match *m,
                    int status, size_t bytes)
{
	struct conns *cs = c->cs;
	const struct detour_match *mp = r != ROUTE_NONE ? m : NULL;

	cs->requests++;
	stats_request(cs->st, status, c->listener);
	if (cs->st->enabled) {
		const struct served *hit = route_served(&cs->view, r);
		if (hit)
			stats_hit(cs->st, &cs->view, r == ROUTE_API, cs->id, m->index,
			          (uint32_t)cs->now_sec);
		else if (!mp)
			detour_topk_add(&cs->st->topk, q->path, q->path_len, 1);
	}
	if (cs->alog.buf) {
		ssize_t ll =
		        mp ? detour_respond_location(mp, q, cs->locbuf, DETOUR_LOCATION_MAX) : 0;
		char idbuf[512];
		/* The id in the ruleset that answered: "api:N" (or its id=) for
		 * an API rule, "maintenance" for the maintenance answer. */
		const struct served *sv = route_served(&cs->view, r);
		const char *id = r == ROUTE_MAINT   ? "maintenance"
		                 : r == ROUTE_CANON ? "canonical"
		                 : sv ? detour_rule_id(detour_table_rules(sv->table), m->rule,
		                                       idbuf, sizeof(idbuf))
		                      : NULL;
		/* By enum route: none, maintenance, API, file, the canonical
		 * redirect (no rule). */
		static const char *const origin[] = {NULL, "maintenance", "api", "file",
		                                     "canonical"};
		_Static_assert(ROUTE_CANON == 4, "origin[] follows enum route");
		/* The client a trusted proxy named, if it did (apply_forwarded). */
		const char *peer = q->peer == &cs->fwd.addr.sa ? cs->fwd_peer : c->peer;
		struct alog_entry e = {.peer = peer,
		                       .req = req,
		                       .status = status,
		                       .bytes = bytes,
		                       .rule_id = id,
		                       .origin = origin[r],
		                       .loc = cs->locbuf,
		                       .loc_len = ll > 0 ? (size_t)ll : 0,
		                       .https = q->https,
		                       .duration_ms = cs->now_ms - c->req_start_ms};
		alog_request(&cs->alog, cs->log_time, cs->now_sec, &e);
	}
}

/* RFC 8555 §8.3: GET /.well-known/acme-challenge/TOKEN on a connection
 * that is not https answers the key authorization of a token the ACME
 * client is validating, before maintenance, rules and https-redirect
 * (acme_http01.h). Returns 0 when the request is not one (it goes on to the
 * rules), 1 when answered at off, -1 when it does not fit behind the
 * responses already queued. */
static int answer_http01(struct conn *c, const struct detour_request *req,
                         const struct detour_respond_ctx *ctx, struct req_out *o, uint32_t off)
{
	struct conns *cs = c->cs;
	char ka[512];
	size_t kl;
	ssize_t n;

	if (c->https || cs->http01 == NULL ||
	    (req->method_id != DETOUR_M_GET && req->method_id != DETOUR_M_HEAD))
		return 0;
	kl = acme_http01(cs->http01, req->path, req->path_len, ka, sizeof(ka));
	if (kl == 0)
		return 0;
	n = acme_http01_respond(ka, kl, ctx, *o->buf + off, *o->cap - off);
	if (n < 0)
		return -1;
	*o->len = off + (uint32_t)n;
	if (ctx->close)
		*o->close = true;
	cs->requests++;
	stats_request(cs->st, 200, c->listener);
	if (cs->alog.buf) {
		struct alog_entry e = {.peer = c->peer,
		                       .req = req,
		                       .status = 200,
		                       .bytes = (size_t)n,
		                       .rule_id = "acme-challenge",
		                       .origin = "acme",
		                       .duration_ms = cs->now_ms - c->req_start_ms};
		alog_request(&cs->alog, cs->log_time, cs->now_sec, &e);
	}
	return 1;
}

bool request_answer(struct conn *c, const struct detour_request *req, struct req_out *o)
{
	struct conns *cs = c->cs;
	bool head = req->method_id == DETOUR_M_HEAD;
	bool close = !req->keep_alive || cs->draining;
	struct detour_respond_ctx ctx = make_ctx(cs, head, close);
	struct detour_match_req q;
	struct detour_match m;
	const struct detour_page *page = NULL;
	enum route r;
	uint32_t off = *o->len;
	int status;
	ssize_t n;

	ctx.keep_alive = !close && req->minor_version == 0;

	/* RFC 9110 §10.1.1: a server that will read the body sends 100
	 * (Continue) to a client that waits for it. */
	if (req->expect_continue && req->minor_version == 1 &&
	    (req->chunked || req->content_length > 0)) {
		memcpy(*o->buf + off, continue_100, sizeof(continue_100) - 1);
		off += sizeof(continue_100) - 1;
	}
	if (req->method_id == DETOUR_M_CONNECT) {
		/* Not a proxy: RFC 9110 §15.6.2, 501 for a method the server
		 * does not support for any resource. */
		request_fail(c, 501, req, head, o);
		return true;
	}
	switch (answer_http01(c, req, &ctx, o, off)) {
	case 1:
		return true;
	case -1:
		return false;
	}
	if (!parse_target(c, req, &q)) {
		request_fail(c, 400, req, head, o);
		return true;
	}
	if (cs->view.set->ntrusted)
		apply_forwarded(c, req, &q);
	if (__builtin_expect(cs->view.canon != NULL, 0))
		r = route_canon(&cs->view, &q, 3 * cs->limits.max_target + 1, &m, cs->hop, &page,
		                &ctx.extra_headers, &ctx.extra_len);
	else
		r = route_match(&cs->view, &q, &m, &page);
	if (page) {
		/* Maintenance's page: prepared bytes (respond.h). */
		status = page->status;
		n = detour_respond_page(page, &ctx, *o->buf + off, *o->cap - off);
		if (n < 0) {
			if (*o->len > 0)
				return false;
			if (grow_out(c, o, DETOUR_RESPONSE_MAX))
				n = detour_respond_page(page, &ctx, *o->buf + off, *o->cap - off);
			if (n < 0) {
				request_fail(c, out_refused(o), req, head, o);
				return true;
			}
		}
	} else if (r != ROUTE_NONE) {
		status = m.rule->status;
		n = detour_respond(&m, &q, &ctx, *o->buf + off, *o->cap - off);
		if (n < 0) {
			if (*o->len > 0)
				return false;
			if (grow_out(c, o, DETOUR_RESPONSE_MAX))
				n = detour_respond(&m, &q, &ctx, *o->buf + off, *o->cap - off);
			if (n < 0) {
				/* The Location would be over DETOUR_LOCATION_MAX,
				 * or the buffer could not grow. */
				request_fail(c, out_refused(o), req, head, o);
				return true;
			}
		}
	} else {
		status = 404;
		n = detour_respond_status(404, &ctx, *o->buf + off, *o->cap - off);
		if (n < 0)
			return false;
	}
	*o->len = off + (uint32_t)n;
	if (close)
		*o->close = true;
	account(c, req, &q, r, &m, status, (size_t)n);
	return true;
}
