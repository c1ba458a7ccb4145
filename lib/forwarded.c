/* detour: the client behind trusted proxies, see forwarded.h.
 *
 * RFC 7239 §4:
 *   Forwarded         = 1#forwarded-element
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair    = token "=" value
 *   value             = token / quoted-string
 * §6: node = nodename [ ":" node-port ], nodename = IPv4address /
 * "[" IPv6address "]" / "unknown" / obfnode, obfnode = "_" 1*(ALPHA / DIGIT /
 * "." / "_" / "-"). */
#include <arpa/inet.h>
#include <string.h>

#include "base/ascii.h"
#include "detour/forwarded.h"

#define VALUE_MAX    64 /* an unquoted value longer than this is no address or scheme */
#define ELEMENTS_MAX 32 /* elements of one field line looked at, from its end */

/* The state of a walk from the right. */
struct walk {
	const struct cidr *trusted;
	unsigned n;
	struct detour_fwd *out;
	bool have_trusted; /* out->addr holds the last trusted hop passed */
	bool done;
};

bool detour_fwd_trusted(const struct cidr *trusted, unsigned n, const struct sockaddr *sa)
{
	for (unsigned i = 0; i < n; i++)
		if (cidr_match(&trusted[i], sa))
			return true;
	return false;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_ows(**s))
		(*s)++, (*n)--;
	while (*n > 0 && is_ows((*s)[*n - 1]))
		(*n)--;
}

/* An IPv4 or IPv6 address in s[0..n) (no brackets, no port) into out. */
static bool ip_of(const char *s, size_t n, struct detour_fwd *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(&out->addr, 0, sizeof(out->addr));
	if (memchr(s, ':', n) == NULL) {
		out->addr.in.sin_family = AF_INET;
		if (inet_pton(AF_INET, tmp, &out->addr.in.sin_addr) == 1)
			return true;
	} else {
		out->addr.in6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, tmp, &out->addr.in6.sin6_addr) == 1)
			return true;
	}
	out->addr.sa.sa_family = AF_UNSPEC;
	return false;
}

/* A port after an address: 1 to 5 digits, or RFC 7239's obfport "_..." */
static bool port_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	if (s[0] == '_') {
		for (size_t i = 1; i < n; i++)
			if (!ascii_is_alnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' &&
			    s[i] != '-')
				return false;
		return n > 1;
	}
	unsigned v = 0;
	if (n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 65535;
}

enum node { NODE_BAD = 0, NODE_ADDR, NODE_OTHER };

/* A node: "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:80"
 * (and, leniently, a bare IPv6 address); "unknown" or an obfuscated "_name"
 * is a node without an address. The address goes to a. */
static enum node node_of(const char *s, size_t n, struct detour_fwd *a)
{
	const char *colon;

	if (n == 0)
		return NODE_BAD;
	if (s[0] == '_' || ascii_eq_ci_n(s, n, "unknown", 7))
		return NODE_OTHER;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		size_t rest;
		if (close == NULL || !ip_of(s + 1, (size_t)(close - s - 1), a) ||
		    a->addr.sa.sa_family != AF_INET6)
			return NODE_BAD;
		rest = n - (size_t)(close + 1 - s);
		if (rest == 0)
			return NODE_ADDR;
		return close[1] == ':' && port_ok(close + 2, rest - 1) ? NODE_ADDR : NODE_BAD;
	}
	colon = memchr(s, ':', n);
	if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) == NULL) {
		/* one colon: IPv4 and a port */
		if (!port_ok(colon + 1, n - (size_t)(colon + 1 - s)))
			return NODE_BAD;
		n = (size_t)(colon - s);
		return ip_of(s, n, a) && a->addr.sa.sa_family == AF_INET ? NODE_ADDR : NODE_BAD;
	}
	return ip_of(s, n, a) ? NODE_ADDR : NODE_BAD;
}

static enum detour_fwd_scheme scheme_of(const char *s, size_t n)
{
	/* RFC 3986 §3.1: schemes are case-insensitive. */
	if (ascii_eq_ci_n(s, n, "https", 5))
		return DETOUR_FWD_HTTPS;
	if (ascii_eq_ci_n(s, n, "http", 4))
		return DETOUR_FWD_HTTP;
	return DETOUR_FWD_SCHEME_NONE;
}

/* A hop's address: a trusted one is passed (remembered, the walk goes
 * on); any other is the client, and the walk ends. */
static void hop(struct walk *w, const struct detour_fwd *a, enum detour_fwd_scheme scheme)
{
	if (detour_fwd_trusted(w->trusted, w->n, &a->addr.sa)) {
		w->out->addr = a->addr;
		w->have_trusted = true;
		w->out->scheme = scheme; /* kept if the walk ends here (all trusted) */
		return;
	}
	w->out->addr = a->addr;
	w->out->scheme = scheme;
	w->done = true;
}

/* The walk ends at a hop without an address: the last trusted one stands. */
static void stop(struct walk *w, enum detour_fwd_scheme scheme)
{
	if (!w->have_trusted)
		w->out->addr.sa.sa_family = AF_UNSPEC;
	w->out->scheme = scheme;
	w->done = true;
}

/* A value (token or quoted-string, §4) from s[0..n) into buf (unescaped).
 * Returns its length, or -1 if malformed or over VALUE_MAX. */
static int value_of(const char *s, size_t n, char buf[VALUE_MAX])
{
	size_t o = 0;

	if (n > 0 && s[0] == '"') {
		size_t i = 1;
		for (; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\' && ++i == n)
				return -1;
			if (o == VALUE_MAX)
				return -1;
			buf[o++] = s[i];
		}
		if (i != n - 1)
			return -1; /* no closing quote, or bytes after it */
		return (int)o;
	}
	if (n == 0 || n > VALUE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_tchar((unsigned char)s[i]))
			return -1;
		buf[o++] = s[i];
	}
	return (int)o;
}

/* The end of the pair or element that starts at s[0..n): the first sep
 * outside a quoted string. */
static size_t span(const char *s, size_t n, char sep)
{
	bool q = false;

	for (size_t i = 0; i < n; i++) {
		if (q && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == sep)
			return i;
	}
	return n;
}

/* One forwarded-element s[0..n), non-empty. */
static void element(struct walk *w, const char *s, size_t n)
{
	struct detour_fwd a = {0};
	enum node node = NODE_OTHER; /* no for=: a hop without an address */
	enum detour_fwd_scheme scheme = DETOUR_FWD_SCHEME_NONE;
	bool seen_for = false, seen_proto = false;

	for (size_t i = 0; i <= n;) {
		size_t e = i + span(s + i, n - i, ';');
		const char *p = s + i, *eq;
		size_t pn = e - i;
		char v[VALUE_MAX];
		int vl;

		i = e + 1;
		trim(&p, &pn);
		if (pn == 0)
			continue; /* [ forwarded-pair ] */
		eq = memchr(p, '=', pn);
		if (eq == NULL || eq == p)
			goto bad;
		for (const char *k = p; k < eq; k++)
			if (!ascii_is_tchar((unsigned char)*k))
				goto bad;
		vl = value_of(eq + 1, pn - (size_t)(eq + 1 - p), v);
		/* §4: "Each parameter MUST NOT occur more than once per
		 * forwarded-element." */
		if (ascii_eq_ci_n(p, (size_t)(eq - p), "for", 3)) {
			if (seen_for || vl < 0)
				goto bad;
			seen_for = true;
			node = node_of(v, (size_t)vl, &a);
			if (node == NODE_BAD)
				goto bad;
		} else if (ascii_eq_ci_n(p, (size_t)(eq - p), "proto", 5)) {
			if (seen_proto)
				goto bad;
			seen_proto = true;
			if (vl > 0)
				scheme = scheme_of(v, (size_t)vl);
		}
		/* Other parameters (by=, host=, extensions) are not used. */
	}
	if (node == NODE_ADDR)
		hop(w, &a, scheme);
	else
		stop(w, scheme); /* §6.2, §6.3: unknown or obfuscated */
	return;
bad:
	stop(w, DETOUR_FWD_SCHEME_NONE);
}

/* One Forwarded field line, elements from the last back. */
static void forwarded_line(struct walk *w, const char *s, size_t n)
{
	struct {
		const char *p;
		size_t n;
	} el[ELEMENTS_MAX];
	unsigned k = 0, total = 0;

	for (size_t i = 0; i <= n;) {
		size_t e = i + span(s + i, n - i, ',');
		const char *p = s + i;
		size_t pn = e - i;
		i = e + 1;
		trim(&p, &pn);
		if (pn == 0)
			continue; /* RFC 9110 §5.6.1: empty list elements */
		el[k].p = p;
		el[k].n = pn;
		k = (k + 1) % ELEMENTS_MAX;
		total++;
	}
	for (unsigned j = 0; j < total && !w->done; j++) {
		if (j == ELEMENTS_MAX) {
			stop(w, DETOUR_FWD_SCHEME_NONE); /* more trusted hops than kept */
			return;
		}
		k = (k + ELEMENTS_MAX - 1) % ELEMENTS_MAX;
		element(w, el[k].p, el[k].n);
	}
}

/* One X-Forwarded-For field line, addresses from the last back. */
static void xff_line(struct walk *w, const char *s, size_t n)
{
	size_t end = n;

	while (!w->done) {
		size_t b = end;
		while (b > 0 && s[b - 1] != ',')
			b--;
		const char *p = s + b;
		size_t pn = end - b;
		trim(&p, &pn);
		if (pn > 0) {
			struct detour_fwd a = {0};
			if (node_of(p, pn, &a) == NODE_ADDR)
				hop(w, &a, DETOUR_FWD_SCHEME_NONE);
			else
				stop(w, DETOUR_FWD_SCHEME_NONE);
		}
		if (b == 0)
			return;
		end = b - 1;
	}
}

static bool named(const struct detour_header *h, const char *name, size_t n)
{
	return ascii_eq_ci_n(h->name, h->name_len, name, n);
}

void detour_fwd_resolve(const struct detour_request *req, const struct cidr *trusted, unsigned n,
                        struct detour_fwd *out)
{
	struct walk w = {.trusted = trusted, .n = n, .out = out};
	int proto = -1;
	bool fwd = false, xff = false;

	memset(out, 0, sizeof(*out));
	out->addr.sa.sa_family = AF_UNSPEC;
	/* One pass over the fields: are Forwarded, X-Forwarded-For present,
	 * and which is the last X-Forwarded-Proto line. */
	for (unsigned i = 0; i < req->num_headers; i++) {
		const struct detour_header *h = &req->headers[i];
		if (h->name_len == 9 && named(h, "forwarded", 9))
			fwd = true;
		else if (h->name_len == 15 && named(h, "x-forwarded-for", 15))
			xff = true;
		else if (h->name_len == 17 && named(h, "x-forwarded-proto", 17))
			proto = (int)i;
	}
	if (fwd) {
		/* Forwarded wins over X-Forwarded-*: see docs/https.md. */
		out->from = DETOUR_FWD_FORWARDED;
		for (unsigned i = req->num_headers; i-- > 0 && !w.done;)
			if (req->headers[i].name_len == 9 &&
			    named(&req->headers[i], "forwarded", 9))
				forwarded_line(&w, req->headers[i].value,
				               req->headers[i].value_len);
		return;
	}
	if (!xff && proto < 0)
		return;
	out->from = DETOUR_FWD_X;
	for (unsigned i = req->num_headers; xff && i-- > 0 && !w.done;)
		if (req->headers[i].name_len == 15 &&
		    named(&req->headers[i], "x-forwarded-for", 15))
			xff_line(&w, req->headers[i].value, req->headers[i].value_len);
	out->scheme = DETOUR_FWD_SCHEME_NONE;
	if (proto >= 0) {
		/* The right-most value of the last line. */
		const char *v = req->headers[proto].value;
		size_t vn = req->headers[proto].value_len, b = vn;
		while (b > 0 && v[b - 1] != ',')
			b--;
		const char *p = v + b;
		size_t pn = vn - b;
		trim(&p, &pn);
		out->scheme = scheme_of(p, pn);
	}
}
