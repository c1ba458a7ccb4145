/* detour: strict, zero-copy, stateless HTTP/1.1 request-head parser (RFC
 * 9112); the streaming body skipper is lib/http1_body.c. The contract is in
 * include/detour/http1.h; the strictness decisions and the limits are in
 * docs/internals/http1.md.
 *
 * The head parser is one forward pass over buf[0..min(len, max_header_bytes)):
 * every rule is checked at the byte that decides it, so a prefix of an input
 * gives either DETOUR_INCOMPLETE or the same answer as the whole input, and a
 * head that does not fit in max_header_bytes is refused without looking at
 * the bytes beyond. Runs of bytes (the target, field values) are classified
 * with one table lookup a byte, or 16 bytes at a time with SSE2. */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "detour/http1.h"
#include "detour/url.h"
#include "http1_int.h"

/* ---- character classes ------------------------------------------------- */

#define CLASS(c)                                                                                   \
	((IS_TCHAR(c) ? CC_TCHAR : 0) | (IS_VCHAR(c) ? CC_TARGET : 0) |                            \
	 (IS_VALUE(c) ? CC_VALUE : 0) | (IS_HEX(c) ? CC_HEX : 0) |                                 \
	 (IS_UNRESERVED(c) || IS_SUBDELIM(c) ? CC_REGNAME : 0) | (IS_QDTEXT(c) ? CC_QDTEXT : 0) |  \
	 (IS_DIGIT(c) ? CC_DIGIT : 0) | (IS_OWS(c) ? CC_OWS : 0))
#define C4(c)  CLASS(c), CLASS((c) + 1), CLASS((c) + 2), CLASS((c) + 3)
#define C16(c) C4(c), C4((c) + 4), C4((c) + 8), C4((c) + 12)
#define C64(c) C16(c), C16((c) + 16), C16((c) + 32), C16((c) + 48)

const uint8_t http1_cc[256] = {C64(0), C64(64), C64(128), C64(192)};

#define LOWER(c) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c))
#define L4(c)    LOWER(c), LOWER((c) + 1), LOWER((c) + 2), LOWER((c) + 3)
#define L16(c)   L4(c), L4((c) + 4), L4((c) + 8), L4((c) + 12)
#define L64(c)   L16(c), L16((c) + 16), L16((c) + 32), L16((c) + 48)

static const uint8_t lc[256] = {L64(0), L64(64), L64(128), L64(192)};

/* a[0..n) equals the lower-case b[0..n), ignoring ASCII case. */
static inline bool ieq(cp a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lc[a[i]] != (unsigned char)b[i])
			return false;
	return true;
}

/* ---- runs of bytes ----------------------------------------------------- */

/* First byte of [p, end) that is not VCHAR (0x21-0x7E), or end. */
static inline cp scan_target(cp p, cp end)
{
#if defined(__SSE2__)
	const __m128i lo = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7E);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* bad when v <= 0x20 or v > 0x7E, unsigned */
		__m128i bad = _mm_or_si128(
		        _mm_cmpeq_epi8(_mm_min_epu8(v, lo), v),
		        _mm_xor_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, hi), hi), _mm_set1_epi8(-1)));
		unsigned m = (unsigned)_mm_movemask_epi8(bad);
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && (http1_cc[*p] & CC_TARGET))
		p++;
	return p;
}

/* First byte of [p, end) that may not appear in a field value (a CTL other
 * than HTAB, or DEL), or end. */
static inline cp scan_value(cp p, cp end)
{
#if defined(__SSE2__)
	const __m128i ctl = _mm_set1_epi8(0x1F), tab = _mm_set1_epi8('\t'),
	              del = _mm_set1_epi8(0x7F);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* bad when (v <= 0x1F unsigned and v != HTAB) or v == DEL */
		__m128i bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab),
		                               _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, del));
		unsigned m = (unsigned)_mm_movemask_epi8(bad);
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && (http1_cc[*p] & CC_VALUE))
		p++;
	return p;
}

/* ---- host and authority (RFC 3986 §3.2.2, RFC 9110 §7.2) ---------------- */

enum port_rule { PORT_OPTIONAL, PORT_REQUIRED };

/* uri-host [ ":" port ]: reg-name (with pct-encoded), IPv4 or IP-literal; a
 * port of at most 5 digits and at most 65535. The host may not be empty; an
 * empty port ("host:") is allowed by RFC 3986 §3.2.3 unless a port is
 * required (authority-form, RFC 9112 §3.2.3). No userinfo (RFC 9110 §4.2.4). */
static bool valid_authority(cp p, size_t n, enum port_rule rule)
{
	size_t i = 0;

	if (n == 0)
		return false;
	if (p[0] == '[') {
		cp close = memchr(p, ']', n);
		if (close == NULL)
			return false;
		size_t in = (size_t)(close - p) - 1;
		if (!detour_url_ip_literal_valid((const char *)p + 1, in))
			return false;
		i = in + 2;
	} else {
		while (i < n) {
			unsigned char c = p[i];
			if (http1_cc[c] & CC_REGNAME) {
				i++;
			} else if (c == '%') {
				if (n - i < 3 || !(http1_cc[p[i + 1]] & CC_HEX) ||
				    !(http1_cc[p[i + 2]] & CC_HEX))
					return false;
				i += 3;
			} else {
				break;
			}
		}
		if (i == 0)
			return false;
	}
	if (i == n)
		return rule == PORT_OPTIONAL;
	if (p[i] != ':')
		return false;
	i++;
	if (n - i > 5 || (rule == PORT_REQUIRED && i == n))
		return false;
	unsigned port = 0;
	for (; i < n; i++) {
		if (!IS_DIGIT(p[i]))
			return false;
		port = port * 10 + (unsigned)(p[i] - '0');
	}
	return port <= 65535;
}

/* ---- request line ------------------------------------------------------ */

static enum detour_method method_id(cp m, size_t n)
{
	/* RFC 9110 §9.1: the method token is case-sensitive. */
	switch (n) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return DETOUR_M_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return DETOUR_M_PUT;
		break;
	case 4:
		if (memcmp(m, "HEAD", 4) == 0)
			return DETOUR_M_HEAD;
		if (memcmp(m, "POST", 4) == 0)
			return DETOUR_M_POST;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return DETOUR_M_PATCH;
		if (memcmp(m, "TRACE", 5) == 0)
			return DETOUR_M_TRACE;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return DETOUR_M_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return DETOUR_M_OPTIONS;
		if (memcmp(m, "CONNECT", 7) == 0)
			return DETOUR_M_CONNECT;
		break;
	}
	return DETOUR_M_OTHER;
}

/* Sorts the (complete) request-target into its form, RFC 9112 §3.2. Sets
 * path, query, host for absolute- and authority-form, and the form flags.
 * Returns false for a target that is no form allowed with this method. */
static bool classify_target(struct detour_request *req)
{
	cp t = (cp)req->target;
	size_t n = req->target_len;
	cp end = t + n, a, q;

	if (req->method_id == DETOUR_M_CONNECT) {
		/* §3.2.3: authority-form = uri-host ":" port, only for CONNECT,
		 * and CONNECT takes no other form. */
		if (!valid_authority(t, n, PORT_REQUIRED))
			return false;
		req->host = req->path = req->target;
		req->host_len = req->path_len = n;
		return true;
	}
	if (t[0] == '/') {
		/* §3.2.1: origin-form = absolute-path [ "?" query ] */
		q = memchr(t, '?', n);
		req->path = (const char *)t;
		if (q == NULL) {
			req->path_len = n;
		} else {
			req->path_len = (size_t)(q - t);
			req->query = (const char *)q + 1;
			req->query_len = (size_t)(end - q) - 1;
		}
		return true;
	}
	if (n == 1 && t[0] == '*') {
		/* §3.2.4: asterisk-form, only for a server-wide OPTIONS. */
		if (req->method_id != DETOUR_M_OPTIONS)
			return false;
		req->asterisk_form = true;
		req->path = req->target;
		req->path_len = 1;
		return true;
	}
	/* §3.2.2: absolute-form; the scheme is case-insensitive (RFC 3986
	 * §3.1). Only http and https are ours to answer. */
	if (n >= 7 && ieq(t, "http://", 7)) {
		a = t + 7;
	} else if (n >= 8 && ieq(t, "https://", 8)) {
		a = t + 8;
		req->https_target = true;
	} else {
		return false;
	}
	q = a;
	while (q < end && *q != '/' && *q != '?')
		q++;
	/* RFC 9110 §4.2.1: an empty host is invalid; §4.2.4: userinfo is an
	 * error (the '@' fails the reg-name). */
	if (!valid_authority(a, (size_t)(q - a), PORT_OPTIONAL))
		return false;
	req->absolute_form = true;
	req->host = (const char *)a;
	req->host_len = (size_t)(q - a);
	if (q == end || *q == '?') {
		/* An empty path is "/" (RFC 9110 §4.2.3). Point at the first
		 * '/' of "://" so that path stays inside the buffer. */
		req->path = (const char *)a - 2;
		req->path_len = 1;
	} else {
		cp s = q;
		while (q < end && *q != '?')
			q++;
		req->path = (const char *)s;
		req->path_len = (size_t)(q - s);
	}
	if (q < end) {
		req->query = (const char *)q + 1;
		req->query_len = (size_t)(end - q) - 1;
	}
	return true;
}

/* ---- fields with a meaning for framing and routing --------------------- */

/* RFC 9112 §6.3 and RFC 9110 §8.6: Content-Length = 1*DIGIT. No list, no
 * sign, at most 19 digits and at most 2^62. */
static bool parse_content_length(cp v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!IS_DIGIT(v[i]))
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > ((uint64_t)1 << 62))
		return false;
	*out = x;
	return true;
}

/* Runs body once for each element of the comma-separated list v[0..n)
 * (RFC 9110 §5.6.1), with e/elen naming the element, OWS trimmed; empty
 * elements are visited too. */
#define FOR_EACH_ELEMENT(v, n, e, elen, body)                                                      \
	do {                                                                                       \
		cp fe_p_ = (v), fe_end_ = (v) + (n);                                               \
		for (;;) {                                                                         \
			cp fe_c_ = memchr(fe_p_, ',', (size_t)(fe_end_ - fe_p_));                  \
			cp fe_e_ = fe_c_ ? fe_c_ : fe_end_;                                        \
			cp e = fe_p_;                                                              \
			while (e < fe_e_ && IS_OWS(*e))                                            \
				e++;                                                               \
			cp fe_t_ = fe_e_;                                                          \
			while (fe_t_ > e && IS_OWS(fe_t_[-1]))                                     \
				fe_t_--;                                                           \
			size_t elen = (size_t)(fe_t_ - e);                                         \
			body;                                                                      \
			if (fe_c_ == NULL)                                                         \
				break;                                                             \
			fe_p_ = fe_c_ + 1;                                                         \
		}                                                                                  \
	} while (0)

struct framing {
	unsigned hosts;       /* Host fields seen */
	bool cl;              /* a Content-Length field seen */
	bool te;              /* a Transfer-Encoding field seen */
	unsigned te_elems;    /* transfer-coding list elements over all TE fields */
	bool te_other;        /* an element other than "chunked" (or empty) */
	unsigned te_chunked;  /* elements that are "chunked" */
	bool te_last_chunked; /* the final element is "chunked" */
	bool conn_close;
	bool conn_keep_alive;
};

/* Acts on the fields whose meaning the parser owns. Returns false when the
 * request must be refused with 400. */
static bool known_field(struct detour_request *req, struct framing *f, cp name, size_t nlen, cp v,
                        size_t vlen)
{
	switch (nlen) {
	case 4:
		if (!ieq(name, "host", 4))
			return true;
		/* RFC 9112 §3.2: a request with more than one Host field
		 * (or, in HTTP/1.1, none) or an invalid one gets a 400. */
		if (++f->hosts > 1)
			return false;
		if (vlen == 0) {
			/* An empty Host goes with a target that has no
			 * authority; we take it only with absolute-form. */
			return req->absolute_form;
		}
		if (!valid_authority(v, vlen, PORT_OPTIONAL))
			return false;
		if (!req->absolute_form && req->method_id != DETOUR_M_CONNECT) {
			/* §3.2.2: with absolute-form (and authority-form)
			 * the target names the host and Host is ignored. */
			req->host = (const char *)v;
			req->host_len = vlen;
		}
		return true;
	case 6:
		/* RFC 9110 §10.1.1 */
		if (ieq(name, "expect", 6)) {
			FOR_EACH_ELEMENT(v, vlen, e, elen, {
				if (elen == 12 && ieq(e, "100-continue", 12))
					req->expect_continue = true;
			});
		}
		return true;
	case 10:
		/* RFC 9112 §9.3, §9.6; RFC 9110 §7.6.1 */
		if (ieq(name, "connection", 10)) {
			FOR_EACH_ELEMENT(v, vlen, e, elen, {
				if (elen == 5 && ieq(e, "close", 5))
					f->conn_close = true;
				else if (elen == 10 && ieq(e, "keep-alive", 10))
					f->conn_keep_alive = true;
			});
		}
		return true;
	case 14:
		if (!ieq(name, "content-length", 14))
			return true;
		/* RFC 9112 §6.3 item 5: several or invalid values are
		 * unrecoverable; we refuse duplicates even when equal. */
		if (f->cl || !parse_content_length(v, vlen, &req->content_length))
			return false;
		f->cl = true;
		req->has_content_length = true;
		return true;
	case 17:
		if (!ieq(name, "transfer-encoding", 17))
			return true;
		/* RFC 9112 §6.1: a recipient MUST treat the framing of an
		 * HTTP/1.0 message with Transfer-Encoding as faulty. */
		if (req->minor_version == 0)
			return false;
		f->te = true;
		/* All TE fields form one list (RFC 9110 §5.3). */
		FOR_EACH_ELEMENT(v, vlen, e, elen, {
			f->te_elems++;
			f->te_last_chunked = elen == 7 && ieq(e, "chunked", 7);
			if (f->te_last_chunked)
				f->te_chunked++;
			else
				f->te_other = true;
		});
		return true;
	}
	return true;
}

/* ---- the head parser --------------------------------------------------- */

void detour_http1_limits_default(struct detour_http1_limits *l)
{
	l->max_target = 8 * 1024;
	l->max_header_bytes = 32 * 1024;
	l->max_headers = 100;
	l->max_body = 1024 * 1024;
}

#define BAD()  REFUSE(DETOUR_EINVAL, 400)
#define MORE() goto more

detour_err detour_http1_parse(const char *buf, size_t len, const struct detour_http1_limits *limits,
                              struct detour_request *req, int *status)
{
	struct detour_http1_limits defaults;
	cp start = (cp)buf, p = start, end, s;
	struct framing f = {0};
	unsigned max_headers, n = 0;

	if (limits == NULL) {
		detour_http1_limits_default(&defaults);
		limits = &defaults;
	}
	max_headers = limits->max_headers < DETOUR_HTTP1_MAX_HEADERS_HARD
	                      ? limits->max_headers
	                      : DETOUR_HTTP1_MAX_HEADERS_HARD;
	/* Never look past max_header_bytes: the head must lie within them,
	 * leading empty lines included. */
	end = p + (len < limits->max_header_bytes ? len : limits->max_header_bytes);
	*status = 0;

	req->query = NULL;
	req->query_len = 0;
	req->host = NULL;
	req->host_len = 0;
	req->absolute_form = req->asterisk_form = req->https_target = false;
	req->http2 = false;
	req->has_content_length = req->chunked = req->expect_continue = false;
	req->content_length = 0;
	req->num_headers = 0;
	req->head_len = 0;

	/* RFC 9112 §2.2: ignore empty lines before the request line. */
	while (p < end && *p == '\r') {
		if (end - p < 2)
			MORE();
		if (p[1] != '\n')
			BAD();
		p += 2;
	}

	/* §3: request-line = method SP request-target SP HTTP-version */
	s = p;
	while (p < end && (http1_cc[*p] & CC_TCHAR) && p - s <= DETOUR_HTTP1_MAX_METHOD)
		p++;
	/* RFC 9112 §3: "A server that receives a method longer than any that
	 * it implements SHOULD respond with a 501": decided as soon as that
	 * many token bytes are seen, not after a 10 KB token. */
	if (p - s > DETOUR_HTTP1_MAX_METHOD)
		REFUSE(DETOUR_EUNSUPPORTED, 501);
	if (p == end)
		MORE();
	if (*p != ' ' || p == s)
		BAD();
	req->method = (const char *)s;
	req->method_len = (size_t)(p - s);
	req->method_id = method_id(s, req->method_len);

	s = ++p;
	p = scan_target(p, end);
	/* §3: a server receiving a request-target longer than any URI it
	 * wishes to parse MUST respond with 414; decided as soon as that
	 * many bytes are seen. */
	if ((size_t)(p - s) > limits->max_target)
		REFUSE(DETOUR_ETOOBIG, 414);
	if (p == end)
		MORE();
	/* §3: exactly one SP; no whitespace, CTL or non-ASCII in the target
	 * (§3.2 grammar admits only visible ASCII). */
	if (*p != ' ' || p == s)
		BAD();
	req->target = (const char *)s;
	req->target_len = (size_t)(p - s);
	req->path = NULL;
	req->path_len = 0;
	if (!classify_target(req))
		BAD();

	/* §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive,
	 * then CRLF (§2.2: no bare CR or LF). */
	p++;
	if (end - p >= 10 && memcmp(p, "HTTP/1.1\r\n", 10) == 0) {
		req->minor_version = 1;
	} else {
		static const char pat[] = "HTTP/0.0\r\n";
		size_t avail = (size_t)(end - p), k = avail < 10 ? avail : 10;
		for (size_t i = 0; i < k; i++) {
			if (i == 5 || i == 7 ? !IS_DIGIT(p[i]) : p[i] != (unsigned char)pat[i])
				BAD();
		}
		if (k < 10)
			MORE();
		/* RFC 9110 §6.2: a higher minor version of a major version we
		 * implement is processed "as if it were in the highest minor
		 * version ... to which the recipient is conformant": HTTP/1.2
		 * is HTTP/1.1. Other major versions, and HTTP/0.x: 505
		 * (§15.6.6). */
		if (p[5] != '1')
			REFUSE(DETOUR_EUNSUPPORTED, 505);
		req->minor_version = p[7] == '0' ? 0 : 1;
	}
	p += 10;

	/* §5: field-line = field-name ":" OWS field-value OWS, then CRLF */
	for (;;) {
		cp name, colon, v, t;

		if (p == end)
			MORE();
		if (*p == '\r') {
			if (end - p < 2)
				MORE();
			if (p[1] != '\n')
				BAD();
			p += 2;
			break;
		}
		if (n == max_headers)
			REFUSE(DETOUR_ETOOBIG, 431);
		/* A line starting with SP or HTAB is obs-fold (§5.2) and
		 * an LF alone is a bare LF: both fail the empty-name test. */
		name = p;
		while (p < end && (http1_cc[*p] & CC_TCHAR))
			p++;
		if (p == end)
			MORE();
		/* §5.1: no whitespace between field name and colon. */
		if (*p != ':' || p == name)
			BAD();
		colon = p++;
		while (p < end && IS_OWS(*p))
			p++;
		v = p;
		p = scan_value(p, end);
		if (p == end)
			MORE();
		/* A CTL, NUL, DEL or bare LF ends the value: only CRLF may. */
		if (*p != '\r')
			BAD();
		if (end - p < 2)
			MORE();
		if (p[1] != '\n')
			BAD();
		t = p;
		while (t > v && IS_OWS(t[-1]))
			t--;
		req->headers[n].name = (const char *)name;
		req->headers[n].name_len = (size_t)(colon - name);
		req->headers[n].value = (const char *)v;
		req->headers[n].value_len = (size_t)(t - v);
		if (!known_field(req, &f, name, (size_t)(colon - name), v, (size_t)(t - v)))
			BAD();
		n++;
		p += 2;
	}

	req->num_headers = n;
	req->head_len = (size_t)(p - start);

	/* RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400. */
	if (req->minor_version == 1 && f.hosts == 0)
		BAD();
	if (f.te) {
		/* §6.3 item 3: Transfer-Encoding with Content-Length MAY be
		 * rejected as smuggling; we do. */
		if (f.cl)
			BAD();
		/* §6.3 item 4: when chunked is not the final coding the
		 * length cannot be determined: MUST answer 400 and close.
		 * §7.1: chunked MUST NOT be applied more than once: 400.
		 * §6.1: a final chunked after a coding we do not decode
		 * ("gzip, chunked"): 501 (SHOULD). Both close. */
		if (!f.te_last_chunked || f.te_chunked != 1)
			BAD();
		if (f.te_other || f.te_elems != 1)
			REFUSE(DETOUR_EUNSUPPORTED, 501);
		req->chunked = true;
	}
	/* §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with
	 * "keep-alive" (§C.2.2). */
	req->keep_alive = !f.conn_close && (req->minor_version == 1 || f.conn_keep_alive);
	if (req->has_content_length && req->content_length > limits->max_body)
		REFUSE(DETOUR_ETOOBIG, 413);
	return DETOUR_OK;

more:
	if (len > limits->max_header_bytes)
		REFUSE(DETOUR_ETOOBIG, 431);
	return DETOUR_INCOMPLETE;
}

int detour_http1_find(const struct detour_request *req, const char *name, size_t name_len, int from)
{
	cp nm = (cp)name;
	for (unsigned i = from < 0 ? 0 : (unsigned)from; i < req->num_headers; i++) {
		const struct detour_header *h = &req->headers[i];
		size_t k;
		if (h->name_len != name_len)
			continue;
		for (k = 0; k < name_len; k++)
			if (lc[(unsigned char)h->name[k]] != lc[nm[k]])
				break;
		if (k == name_len)
			return (int)i;
	}
	return -1;
}

/* ---- HTTP/2 (RFC 9113 §8.3) -------------------------------------------- */

detour_err detour_http1_from_h2(struct detour_request *req, const struct detour_h2_pseudo *p,
                                const struct detour_http1_limits *limits, int *status)
{
	struct detour_http1_limits defaults;
	int h;

	if (limits == NULL) {
		detour_http1_limits_default(&defaults);
		limits = &defaults;
	}
	*status = 400;
	req->query = NULL;
	req->query_len = 0;
	req->absolute_form = req->asterisk_form = req->https_target = false;
	req->minor_version = 1;
	req->http2 = true;
	req->keep_alive = true;
	req->chunked = req->expect_continue = false;
	req->has_content_length = false;
	req->content_length = 0;
	req->head_len = 0;
	if (p->method == NULL || p->method_len == 0)
		return DETOUR_EINVAL;
	req->method = p->method;
	req->method_len = p->method_len;
	req->method_id = method_id((cp)p->method, p->method_len);
	/* §8.3.1: :authority, else Host; both are uri-host [":" port]. */
	h = p->authority ? -1 : detour_http1_find(req, "host", 4, 0);
	req->host = p->authority ? p->authority : h >= 0 ? req->headers[h].value : NULL;
	req->host_len = p->authority ? p->authority_len : h >= 0 ? req->headers[h].value_len : 0;
	if (req->host && !valid_authority((cp)req->host, req->host_len, PORT_OPTIONAL))
		return DETOUR_EINVAL;
	for (int i = detour_http1_find(req, "content-length", 14, 0); i >= 0;
	     i = detour_http1_find(req, "content-length", 14, i + 1)) {
		uint64_t v;
		if (!parse_content_length((cp)req->headers[i].value, req->headers[i].value_len,
		                          &v) ||
		    (req->has_content_length && v != req->content_length))
			return DETOUR_EINVAL;
		req->has_content_length = true;
		req->content_length = v;
	}
	if (req->method_id == DETOUR_M_CONNECT) {
		/* §8.5: no :path; the caller refuses the method (501). */
		req->target = req->path = req->host ? req->host : "";
		req->target_len = req->path_len = req->host_len;
		return DETOUR_OK;
	}
	if (p->path == NULL || p->path_len == 0)
		return DETOUR_EINVAL;
	if (p->path_len > limits->max_target) {
		*status = 414;
		return DETOUR_ETOOBIG;
	}
	/* §8.3.1: an absolute path and optional query, or "*" for OPTIONS;
	 * visible ASCII only, as in an HTTP/1.1 request-target. */
	if (scan_target((cp)p->path, (cp)p->path + p->path_len) != (cp)p->path + p->path_len)
		return DETOUR_EINVAL;
	if (p->path[0] != '/' && !(p->path_len == 1 && p->path[0] == '*'))
		return DETOUR_EINVAL;
	req->target = p->path;
	req->target_len = p->path_len;
	if (!classify_target(req))
		return DETOUR_EINVAL;
	if (req->has_content_length && req->content_length > limits->max_body) {
		*status = 413;
		return DETOUR_ETOOBIG;
	}
	*status = 0;
	return DETOUR_OK;
}
