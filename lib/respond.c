/* detour: response bytes (see respond.h and docs/rules.md, "Responses").
 *
 * Serving is memcpy of constant pieces chosen by status, the Location built
 * from the rule's target, and two hand-formatted numbers (Content-Length,
 * max-age) plus the Expires date. No snprintf, no allocation, no locale
 * (a page's answer is allocated once, by detour_page_prepare, when the state
 * that serves it is built). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/respond.h"
#include "detour/url.h"

#include "base/buf.h"
#include "base/civil.h"

/* Reason phrases of RFC 9110 §15 (and RFC 6585 §4 for 429, RFC 4918 §11.5
 * for 507). The one table
 * of the project: the server, the checker and the admin API share it. */
const char *detour_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 203:
		return "Non-Authoritative Information";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 300:
		return "Multiple Choices";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 305:
		return "Use Proxy";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	case 507: /* RFC 4918 §11.5 */
		return "Insufficient Storage";
	}
	return "";
}

/* ctx->date is what civil_http_date writes (RFC 9110 §5.6.7). */
_Static_assert(DETOUR_DATE_LEN == CIVIL_HTTP_DATE_LEN, "one IMF-fixdate length");

/* ----------------------------------------------------------------- writer */

/* The writer is base/buf.h's struct bbuf in its fixed mode: the caller's
 * buffer, inline bounds checks, a sticky overflow flag. */

/* Encodes s[0..n) with detour_url_encode straight into w. */
static void put_enc(struct bbuf *w, const char *s, size_t n, enum detour_url_enc mode)
{
	ssize_t k;

	if (w->over)
		return;
	k = detour_url_encode(s, n, mode, w->p + w->len, w->cap - w->len);
	if (k < 0)
		w->over = true;
	else
		w->len += (size_t)k;
}

/* --------------------------------------------------------------- Location */

static inline bool name0(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* The request query, copied as received. The HTTP parser already limits it
 * to visible ASCII; what would still break the header or change the URI's
 * structure (a CTL, space, DEL, non-ASCII, '#') is percent-encoded anyway. */
static void put_req_query(struct bbuf *w, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && (unsigned char)s[j] > 0x20 && (unsigned char)s[j] < 0x7f &&
		       s[j] != '#')
			j++;
		bbuf_put(w, s + i, j - i);
		if (j < n)
			bbuf_put_pct(w, (unsigned char)s[j++]);
		i = j;
	}
}

/* Where a template part is: the encoding of what is substituted there. */
enum sub { SUB_PATH, SUB_QUERY, SUB_AUTH, SUB_RAW };

/* A capture that supplies a whole URL (a target led by $1, allowed only
 * with allow-hosts=, which table.c checks on the result): bytes that could
 * break the header or the HTML are encoded, the URL's structure is kept. */
static void put_raw_safe(struct bbuf *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}'", c))
			bbuf_put_pct(w, c);
		else
			bbuf_putc(w, (char)c);
	}
}

/* Copies template s[0..n) with placeholders substituted. The part (sub)
 * selects the encoding: path (a :name is one segment, :splat and regex
 * groups a path), query (query and fragment), authority (one segment, so
 * nothing can add a path or a second host), or raw. The names are those of
 * the source: the :name captures and, when the source has a splat,
 * "splat"; the longest one that follows a ':' is meant (the same rule the
 * loader checked). A regex source also has $1..$9. */
static void put_subst(struct bbuf *w, const char *s, size_t n, const struct detour_match *m,
                      bool has_splat, enum sub sub)
{
	size_t i = 0, lit = 0;
	bool regex = m->rule->kind == DETOUR_SRC_REGEX;

	while (i < n) {
		if (regex && s[i] == '$' && i + 1 < n && s[i + 1] >= '1' && s[i + 1] <= '9') {
			unsigned g = (unsigned)(s[i + 1] - '1');
			struct detour_slice v =
			        g < m->ncaps ? m->caps[g] : (struct detour_slice){"", 0};
			bbuf_put(w, s + lit, i - lit);
			if (sub == SUB_QUERY)
				put_enc(w, v.p, v.len, DETOUR_ENC_QUERY);
			else if (sub == SUB_AUTH)
				put_enc(w, v.p, v.len, DETOUR_ENC_SEGMENT);
			else if (sub == SUB_RAW)
				put_raw_safe(w, v.p, v.len);
			else
				put_enc(w, v.p, v.len, DETOUR_ENC_PATH);
			i += 2;
			lit = i;
			continue;
		}
		if (s[i] != ':' || i + 1 >= n || !name0(s[i + 1])) {
			i++;
			continue;
		}
		const char *rest = s + i + 1;
		size_t rn = n - i - 1, best = 0;
		struct detour_slice val = {NULL, 0};
		bool is_splat = false;
		for (unsigned k = 0; k < m->ncaps; k++) {
			size_t nl = m->names[k].len;
			if (nl > best && nl <= rn && memcmp(rest, m->names[k].p, nl) == 0) {
				best = nl;
				val = m->caps[k];
				is_splat = false;
			}
		}
		if (has_splat && 5 > best && rn >= 5 && memcmp(rest, "splat", 5) == 0) {
			best = 5;
			val = m->splat;
			is_splat = true;
		}
		if (best == 0) {
			i++;
			continue;
		}
		bbuf_put(w, s + lit, i - lit);
		if (sub == SUB_QUERY) {
			put_enc(w, val.p, val.len, DETOUR_ENC_QUERY);
		} else if (sub == SUB_AUTH) {
			put_enc(w, val.p, val.len, DETOUR_ENC_SEGMENT);
		} else if (sub == SUB_RAW) {
			put_raw_safe(w, val.p, val.len);
		} else if (is_splat || regex) {
			put_enc(w, val.p, val.len, DETOUR_ENC_PATH);
		} else {
			put_enc(w, val.p, val.len, DETOUR_ENC_SEGMENT);
		}
		i += 1 + best;
		lit = i;
	}
	bbuf_put(w, s + lit, n - lit);
}

static size_t path_start(const char *t, size_t n)
{
	if (n == 0 || t[0] == '/')
		return 0;
	const char *a = memchr(t, ':', n);
	if (a == NULL || (size_t)(a - t) + 3 > n)
		return 0;
	a += 3;
	while (a < t + n && *a != '/' && *a != '?' && *a != '#')
		a++;
	return (size_t)(a - t);
}

/* Writes the Location into w; the caller checks w->over. */
static void build_location(struct bbuf *w, const struct detour_match *m,
                           const struct detour_match_req *q)
{
	const struct detour_rule *r = m->rule;
	const char *t = m->target;
	size_t n = m->target_len, loc = w->len;
	bool vars = (r->flags & DETOUR_RULE_TARGET_VARS) != 0;
	bool has_splat = (r->flags & DETOUR_RULE_SPLAT) != 0;

	/* target = authority-part path [ "?" query ] [ "#" fragment ] */
	size_t ps = path_start(t, n);
	const char *hash = memchr(t + ps, '#', n - ps);
	size_t fe = hash ? (size_t)(hash - t) : n; /* end of path + query */
	const char *qm = memchr(t + ps, '?', fe - ps);
	size_t pe = qm ? (size_t)(qm - t) : fe; /* end of the path */

	if (m->ext && (m->ext->flags & DETOUR_EXT_CAPTURE_AUTHORITY) && n && t[0] != '/' &&
	    !(t[0] == 'h' || t[0] == 'H')) {
		/* The target starts with a capture: the whole URL comes from the
		 * request (table.c only lets it through to allow-hosts). */
		put_subst(w, t, n, m, has_splat, SUB_RAW);
		if (q && q->query && q->query_len && r->query != DETOUR_QUERY_DROP && !w->over) {
			bbuf_putc(w, memchr(w->p + loc, '?', w->len - loc) ? '&' : '?');
			put_req_query(w, q->query, q->query_len);
		}
		if (!w->over && w->len - loc > DETOUR_LOCATION_MAX)
			w->over = true;
		return;
	}
	if (vars && ps && m->ext && (m->ext->flags & DETOUR_EXT_CAPTURE_AUTHORITY))
		put_subst(w, t, ps, m, has_splat, SUB_AUTH);
	else
		bbuf_put(w, t, ps);
	if (vars) {
		put_subst(w, t + ps, pe - ps, m, has_splat, SUB_PATH);
		/* A path target must not come out as "//host...": that is a
		 * network-path reference to another host (RFC 3986 §4.2), and
		 * "/:splat" with the splat "/evil.example" (request
		 * "/blog//evil.example") or an empty splat before a literal '/'
		 * would make one. The second '/' becomes %2F; the loader
		 * refused templates that start with "//" themselves. */
		if (ps == 0 && !w->over && w->len - loc >= 2 && w->p[loc + 1] == '/') {
			if (w->cap - w->len < 2) {
				w->over = true;
			} else {
				memmove(w->p + loc + 4, w->p + loc + 2, w->len - loc - 2);
				memcpy(w->p + loc + 1, "%2F", 3);
				w->len += 2;
			}
		}
	} else {
		bbuf_put(w, t + ps, pe - ps);
	}

	const char *rq = q ? q->query : NULL;
	size_t rqn = rq ? q->query_len : 0;
	size_t qs = w->len; /* where the target's query lands, after '?' */
	if (qm) {
		bbuf_putc(w, '?');
		qs = w->len;
		if (vars)
			put_subst(w, t + pe + 1, fe - pe - 1, m, has_splat, SUB_QUERY);
		else
			bbuf_put(w, t + pe + 1, fe - pe - 1);
	}
	size_t tqn = w->over ? 0 : w->len - qs; /* bytes of the target's query */

	switch (r->query) {
	case DETOUR_QUERY_KEEP:
		/* The request's query after the target's, joined with '&'. */
		if (rqn) {
			if (!qm)
				bbuf_putc(w, '?');
			else if (tqn)
				bbuf_putc(w, '&');
			put_req_query(w, rq, rqn);
		}
		break;
	case DETOUR_QUERY_DROP:
		break;
	case DETOUR_QUERY_MERGE: {
		/* The target's parameters win: a request parameter whose key the
		 * target's query also has is left out; the others follow the
		 * target's query in their order. Empty parameters ("a&&b") go. */
		bool any = qm != NULL && tqn > 0;
		size_t i = 0;
		while (i < rqn && !w->over) {
			const char *amp = memchr(rq + i, '&', rqn - i);
			size_t e = amp ? (size_t)(amp - rq) : rqn;
			const char *eq = memchr(rq + i, '=', e - i);
			size_t ke = eq ? (size_t)(eq - rq) : e;
			if (e > i && !(qm && detour_url_query_has(w->p + qs, tqn, rq + i, ke - i,
			                                          NULL, 0))) {
				if (any)
					bbuf_putc(w, '&');
				else if (!qm)
					bbuf_putc(w, '?');
				any = true;
				put_req_query(w, rq + i, e - i);
			}
			i = e + 1;
		}
		break;
	}
	}

	if (hash) {
		bbuf_putc(w, '#');
		if (vars)
			put_subst(w, hash + 1, n - fe - 1, m, has_splat, SUB_QUERY);
		else
			bbuf_put(w, hash + 1, n - fe - 1);
	}
	if (!w->over && w->len - loc > DETOUR_LOCATION_MAX)
		w->over = true;
}

ssize_t detour_respond_location(const struct detour_match *m, const struct detour_match_req *q,
                                char *out, size_t cap)
{
	struct bbuf w;
	bbuf_fixed(&w, out, cap);

	if (m->target_len == 0)
		return 0; /* a 410 */
	if (w.cap > DETOUR_LOCATION_MAX)
		w.cap = DETOUR_LOCATION_MAX;
	build_location(&w, m, q);
	return w.over ? -1 : (ssize_t)w.len;
}

/* -------------------------------------------------------------- responses */

/* Bytes each byte adds when HTML-escaped for an attribute value. */
static const unsigned char esc_extra[256] = {
        ['&'] = 4,  /* &amp; */
        ['<'] = 3,  /* &lt; */
        ['>'] = 3,  /* &gt; */
        ['"'] = 5,  /* &quot; */
        ['\''] = 4, /* &#39; */
};

/* Bytes of s[0..n) once HTML-escaped. */
static size_t esc_len(const char *s, size_t n)
{
	size_t k = n;

	for (size_t i = 0; i < n; i++)
		k += esc_extra[(unsigned char)s[i]];
	return k;
}

static void put_esc(struct bbuf *w, const char *s, size_t n)
{
	size_t lit = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e;
		size_t en;
		switch (s[i]) {
		case '&':
			e = "&amp;";
			en = 5;
			break;
		case '<':
			e = "&lt;";
			en = 4;
			break;
		case '>':
			e = "&gt;";
			en = 4;
			break;
		case '"':
			e = "&quot;";
			en = 6;
			break;
		case '\'':
			e = "&#39;";
			en = 5;
			break;
		default:
			continue;
		}
		bbuf_put(w, s + lit, i - lit);
		bbuf_put(w, e, en);
		lit = i + 1;
	}
	bbuf_put(w, s + lit, n - lit);
}

/* "HTTP/1.1 307 Temporary Redirect\r\nDate: ...\r\n[Server: detour\r\n]" */
static void put_head(struct bbuf *w, int status, const char *reason, size_t rl,
                     const struct detour_respond_ctx *ctx)
{
	char code[3] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
	                (char)('0' + status % 10)};

	BBUF_LIT(w, "HTTP/1.1 ");
	bbuf_put(w, code, 3);
	bbuf_putc(w, ' ');
	bbuf_put(w, reason, rl);
	BBUF_LIT(w, "\r\nDate: ");
	bbuf_put(w, ctx->date, DETOUR_DATE_LEN);
	BBUF_LIT(w, "\r\n");
	if (ctx->server_header)
		BBUF_LIT(w, "Server: detour\r\n");
}

/* Cache headers as the rule asks, and none without cache=: a 302 or 307
 * without explicit freshness is not cacheable (RFC 9111 §4.2.2, RFC 9110
 * §15.4.3, §15.4.8), and 301/308 are heuristically cacheable (RFC 9110
 * §15.4.2, §15.4.9), which is the rule writer's choice to make. */
static void put_cache(struct bbuf *w, int32_t cache, const struct detour_respond_ctx *ctx)
{
	if (cache == DETOUR_CACHE_UNSET)
		return;
	if (cache == DETOUR_CACHE_NO_STORE) {
		BBUF_LIT(w, "Cache-Control: no-store\r\n");
		return;
	}
	char date[DETOUR_DATE_LEN + 1];
	civil_http_date((int64_t)ctx->now + cache, date);
	BBUF_LIT(w, "Cache-Control: max-age=");
	bbuf_put_uint(w, (uint64_t)cache);
	/* Expires for HTTP/1.0 caches; max-age wins where both are
	 * understood (RFC 9111 §5.3). */
	BBUF_LIT(w, "\r\nExpires: ");
	bbuf_put(w, date, DETOUR_DATE_LEN);
	BBUF_LIT(w, "\r\n");
}

/* The headers a rule with an extension adds, after the Location (or the
 * status line for html and 410):
 *   Vary: the request fields its conditions read (RFC 9110 §12.5.5);
 *   Cache-Control: "private" when the answer depends on who asks
 *     (RFC 9111 §5.2.2.7: a shared cache must not store it), "no-store" for
 *     a weighted split without cache=, and a max-age cut to the time left in
 *     the rule's window, with Expires to match;
 *   Set-Cookie: the variant a sticky=cookie group chose (RFC 6265 §4.1). */
static void put_ext_headers(struct bbuf *w, const struct detour_match *m,
                            const struct detour_respond_ctx *ctx)
{
	const struct detour_rule_ext *x = m->ext;
	int64_t cache = m->cache;
	bool priv = (x->flags & DETOUR_EXT_PRIVATE) != 0;

	if (x->vary) {
		BBUF_LIT(w, "Vary: ");
		bbuf_put(w, x->vary, strlen(x->vary));
		BBUF_LIT(w, "\r\n");
	}
	if (x->weight && cache == DETOUR_CACHE_UNSET)
		cache = DETOUR_CACHE_NO_STORE;
	if (cache > 0 && m->window_end != INT64_MAX) {
		int64_t left = m->window_end - (int64_t)ctx->now;
		if (left < cache)
			cache = left > 0 ? left : DETOUR_CACHE_NO_STORE;
	}
	if (cache == DETOUR_CACHE_UNSET) {
		if (priv)
			BBUF_LIT(w, "Cache-Control: private\r\n");
	} else if (cache == DETOUR_CACHE_NO_STORE) {
		if (priv)
			BBUF_LIT(w, "Cache-Control: private, no-store\r\n");
		else
			BBUF_LIT(w, "Cache-Control: no-store\r\n");
	} else {
		char date[DETOUR_DATE_LEN + 1];
		civil_http_date((int64_t)ctx->now + cache, date);
		if (priv)
			BBUF_LIT(w, "Cache-Control: private, max-age=");
		else
			BBUF_LIT(w, "Cache-Control: max-age=");
		bbuf_put_uint(w, (uint64_t)cache);
		BBUF_LIT(w, "\r\nExpires: ");
		bbuf_put(w, date, DETOUR_DATE_LEN);
		BBUF_LIT(w, "\r\n");
	}
	if (m->cookie) {
		BBUF_LIT(w, "Set-Cookie: ");
		bbuf_put(w, m->cookie, strlen(m->cookie));
		bbuf_putc(w, '=');
		bbuf_put_uint(w, m->variant);
		BBUF_LIT(w, "; Path=/; Max-Age=" DETOUR_STICKY_MAX_AGE_STR
		            "; SameSite=Lax; HttpOnly\r\n");
	}
}

static void put_rule_cache(struct bbuf *w, const struct detour_match *m,
                           const struct detour_respond_ctx *ctx)
{
	if (__builtin_expect(m->ext != NULL, 0))
		put_ext_headers(w, m, ctx);
	else
		put_cache(w, m->cache, ctx);
}

/* After Content-Length's value: the Connection line the request calls for
 * and the empty line. */
static void put_end(struct bbuf *w, const struct detour_respond_ctx *ctx)
{
	if (ctx->close)
		BBUF_LIT(w, "\r\nConnection: close\r\n\r\n");
	else if (ctx->keep_alive)
		/* An HTTP/1.0 client keeps the connection only when told
		 * (RFC 9112 §9.3, Appendix C.2.2). */
		BBUF_LIT(w, "\r\nConnection: keep-alive\r\n\r\n");
	else
		BBUF_LIT(w, "\r\n\r\n");
}

static void put_tail(struct bbuf *w, size_t body_len, const struct detour_respond_ctx *ctx)
{
	/* The caller's extra header lines, verbatim. */
	if (ctx->extra_len > 0)
		bbuf_put(w, ctx->extra_headers, ctx->extra_len);
	BBUF_LIT(w, "Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
	bbuf_put_uint(w, body_len);
	put_end(w, ctx);
}

#define DOCTYPE "<!DOCTYPE html>\n<title>"

/* The body of a response without a Location:
 *   <!DOCTYPE html>\n<title>CODE REASON</title>\n<h1>CODE REASON</h1>\n */
static void put_plain_body(struct bbuf *w, const char *code, const char *reason, size_t rl)
{
	BBUF_LIT(w, DOCTYPE);
	bbuf_put(w, code, 3);
	bbuf_putc(w, ' ');
	bbuf_put(w, reason, rl);
	BBUF_LIT(w, "</title>\n<h1>");
	bbuf_put(w, code, 3);
	bbuf_putc(w, ' ');
	bbuf_put(w, reason, rl);
	BBUF_LIT(w, "</h1>\n");
}

static size_t plain_body_len(size_t rl)
{
	return sizeof(DOCTYPE "</title>\n<h1></h1>\n") - 1 + 2 * (4 + rl);
}

static ssize_t respond_plain(int status, const struct detour_match *m,
                             const struct detour_respond_ctx *ctx, char *out, size_t cap)
{
	struct bbuf w;
	bbuf_fixed(&w, out, cap);
	const char *reason = detour_reason(status);
	size_t rl = strlen(reason);
	char code[3] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
	                (char)('0' + status % 10)};

	put_head(&w, status, reason, rl, ctx);
	if (m)
		put_rule_cache(&w, m, ctx);
	put_tail(&w, plain_body_len(rl), ctx);
	if (!ctx->head)
		put_plain_body(&w, code, reason, rl);
	return w.over ? -1 : (ssize_t)w.len;
}

/* Status html: "200 OK" and a page that sends the browser on by itself
 * (HTML's meta refresh, "N; url=URL") with a visible link, for clients that
 * do not follow a 3xx or for a "you are being redirected" page. No Location
 * header: this is not a redirect for HTTP. The URL is HTML-escaped in both
 * places; HEAD gets the headers only. */
static ssize_t respond_html(const struct detour_match *m, const struct detour_match_req *q,
                            const struct detour_respond_ctx *ctx, char *out, size_t cap)
{
	static const char h1[] = "<!DOCTYPE html>\n<title>Redirecting</title>\n"
	                         "<meta http-equiv=\"refresh\" content=\"";
	static const char h2[] = "; url=";
	static const char h3[] = "\">\n<p><a href=\"";
	static const char h4[] = "\">Redirecting</a></p>\n";
	char lb[DETOUR_LOCATION_MAX];
	char dl[12];
	struct bbuf lw;
	bbuf_fixed(&lw, lb, sizeof(lb));
	struct bbuf w;
	bbuf_fixed(&w, out, cap);
	size_t dn = 0;
	uint32_t d = m->ext->delay;

	build_location(&lw, m, q);
	if (lw.over)
		return -1;
	do {
		dl[sizeof(dl) - 1 - dn++] = (char)('0' + d % 10);
		d /= 10;
	} while (d);
	size_t el = esc_len(lb, lw.len);
	size_t body =
	        sizeof(h1) - 1 + dn + sizeof(h2) - 1 + el + sizeof(h3) - 1 + el + sizeof(h4) - 1;
	put_head(&w, 200, "OK", 2, ctx);
	put_rule_cache(&w, m, ctx);
	put_tail(&w, body, ctx);
	if (!ctx->head) {
		bbuf_put(&w, h1, sizeof(h1) - 1);
		bbuf_put(&w, dl + sizeof(dl) - dn, dn);
		bbuf_put(&w, h2, sizeof(h2) - 1);
		put_esc(&w, lb, lw.len);
		bbuf_put(&w, h3, sizeof(h3) - 1);
		put_esc(&w, lb, lw.len);
		bbuf_put(&w, h4, sizeof(h4) - 1);
	}
	return w.over ? -1 : (ssize_t)w.len;
}

ssize_t detour_respond(const struct detour_match *m, const struct detour_match_req *q,
                       const struct detour_respond_ctx *ctx, char *out, size_t cap)
{
	const struct detour_rule *r = m->rule;
	struct bbuf w;
	bbuf_fixed(&w, out, cap);
	const char *reason = detour_reason(r->status);
	size_t rl = strlen(reason);

	if (m->target_len == 0)
		return respond_plain(r->status, m, ctx, out, cap); /* 410 */
	if (m->ext && (m->ext->flags & DETOUR_EXT_HTML))
		return respond_html(m, q, ctx, out, cap);

	put_head(&w, r->status, reason, rl, ctx);
	BBUF_LIT(&w, "Location: ");
	/* The Location is built in place; its length decides the rest. */
	size_t loc = w.len;
	build_location(&w, m, q);
	if (w.over)
		return -1; /* out too small, or the Location over DETOUR_LOCATION_MAX */
	size_t ln = w.len - loc;
	const char *l = out + loc;
	BBUF_LIT(&w, "\r\n");
	put_rule_cache(&w, m, ctx);
	/* RFC 9110 §15.4: "the server SHOULD generate a short hypertext note
	 * with a hyperlink to the different URI(s)". One copy of the URI,
	 * HTML-escaped, keeps the body at most 6 bytes per Location byte. */
	static const char b1[] = "</title>\n<p><a href=\"";
	static const char b2[] = "\">Redirecting</a></p>\n";
	size_t el = esc_len(l, ln);
	size_t body = sizeof(DOCTYPE) - 1 + 4 + rl + sizeof(b1) - 1 + el + sizeof(b2) - 1;
	put_tail(&w, body, ctx);
	if (!ctx->head) {
		char code[3] = {(char)('0' + r->status / 100), (char)('0' + r->status / 10 % 10),
		                (char)('0' + r->status % 10)};
		BBUF_LIT(&w, DOCTYPE);
		bbuf_put(&w, code, 3);
		bbuf_putc(&w, ' ');
		bbuf_put(&w, reason, rl);
		bbuf_put(&w, b1, sizeof(b1) - 1);
		if (el == ln)
			bbuf_put(&w, l, ln); /* the usual case: nothing to escape */
		else
			put_esc(&w, l, ln);
		bbuf_put(&w, b2, sizeof(b2) - 1);
	}
	return w.over ? -1 : (ssize_t)w.len;
}

ssize_t detour_respond_status(int status, const struct detour_respond_ctx *ctx, char *out,
                              size_t cap)
{
	if (status < 100 || status > 599)
		return -1;
	return respond_plain(status, NULL, ctx, out, cap);
}

/* ------------------------------------------------------------------ pages */

/* Room for the headers of a page's answer beside its body. */
_Static_assert(DETOUR_PAGE_MAX + 1024 <= DETOUR_RESPONSE_MAX, "a page's answer fits");

#define PAGE_EXTRA_MAX 256

int detour_page_prepare(struct detour_page *pg, int status, const char *extra, size_t extra_len,
                        const char *body, size_t body_len)
{
	static const char cc[] = "Cache-Control: no-store\r\n";
	static const char ct[] = "Content-Type: text/html; charset=utf-8\r\nContent-Length: ";
	const char *reason = status >= 200 && status <= 599 ? detour_reason(status) : "";
	size_t rl = strlen(reason);
	size_t cap = 13 + rl + sizeof(cc) + extra_len + sizeof(ct) + 20 + body_len;
	struct bbuf w;

	memset(pg, 0, sizeof(*pg));
	if (rl == 0 || extra_len > PAGE_EXTRA_MAX || body_len > DETOUR_PAGE_MAX)
		return -1;
	if ((pg->buf = malloc(cap)) == NULL)
		return -1;
	bbuf_fixed(&w, pg->buf, cap);
	BBUF_LIT(&w, "HTTP/1.1 ");
	bbuf_put_uint(&w, (uint64_t)status);
	bbuf_putc(&w, ' ');
	bbuf_put(&w, reason, rl);
	pg->line_len = w.len;
	BBUF_LIT(&w, cc);
	if (extra_len > 0)
		bbuf_put(&w, extra, extra_len);
	BBUF_LIT(&w, ct);
	bbuf_put_uint(&w, body_len);
	pg->head_len = w.len - pg->line_len;
	if (body_len > 0)
		bbuf_put(&w, body, body_len);
	pg->body_len = body_len;
	pg->status = status;
	return w.over ? (detour_page_free(pg), -1) : 0;
}

void detour_page_free(struct detour_page *pg)
{
	free(pg->buf);
	memset(pg, 0, sizeof(*pg));
}

ssize_t detour_respond_page(const struct detour_page *pg, const struct detour_respond_ctx *ctx,
                            char *out, size_t cap)
{
	const char *p = pg->buf;
	struct bbuf w;

	bbuf_fixed(&w, out, cap);
	bbuf_put(&w, p, pg->line_len);
	BBUF_LIT(&w, "\r\nDate: ");
	bbuf_put(&w, ctx->date, DETOUR_DATE_LEN);
	BBUF_LIT(&w, "\r\n");
	if (ctx->server_header)
		BBUF_LIT(&w, "Server: detour\r\n");
	if (ctx->extra_len > 0)
		bbuf_put(&w, ctx->extra_headers, ctx->extra_len);
	bbuf_put(&w, p + pg->line_len, pg->head_len);
	put_end(&w, ctx);
	if (!ctx->head)
		bbuf_put(&w, p + pg->line_len + pg->head_len, pg->body_len);
	return w.over ? -1 : (ssize_t)w.len;
}
