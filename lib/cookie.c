/* detour: cookie jar. Section numbers are those of RFC 6265bis
 * (draft-ietf-httpbis-rfc6265bis); the algorithms are RFC 6265's, plus what
 * Chromium enforces on top: SameSite, Secure only from secure origins, the
 * __Secure- and __Host- prefixes, SameSite=None only with Secure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/cookie.h"
#include "detour/site.h"
#include "urlparts.h" /* host_is_ip */

#include "base/ascii.h"
#include "base/civil.h"

#include "base/grow.h"

struct cookie {
	char *name, *value, *domain, *path; /* one allocation, name first */
	size_t name_len, value_len, domain_len, path_len;
	time_t expiry; /* INT64_MAX for a session cookie */
	time_t created;
	uint64_t seq; /* creation order, kept on replacement (§5.7 step 23) */
	bool host_only, secure, http_only;
	enum detour_samesite samesite;
};

struct detour_cookie_jar {
	struct cookie *c;
	size_t n, cap;
	uint64_t seq;
};

struct detour_cookie_jar *detour_cookie_jar_new(void)
{
	return calloc(1, sizeof(struct detour_cookie_jar));
}

static void cookie_free(struct cookie *c)
{
	free(c->name);
}

void detour_cookie_jar_free(struct detour_cookie_jar *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		cookie_free(&j->c[i]);
	free(j->c);
	free(j);
}

size_t detour_cookie_count(const struct detour_cookie_jar *j)
{
	return j->n;
}

static inline bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *n)
{
	while (*n && wsp(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && wsp((*p)[*n - 1]))
		(*n)--;
}

struct detour_slice detour_cookie_name(const char *v, size_t len)
{
	const char *semi = memchr(v, ';', len);
	size_t n = semi ? (size_t)(semi - v) : len;
	const char *eq = memchr(v, '=', n);
	struct detour_slice s = {v, 0};
	if (!eq)
		return s;
	s.len = (size_t)(eq - v);
	trim(&s.p, &s.len);
	return s;
}

/* §5.6.1.1: delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E */
static inline bool date_delim(unsigned char c)
{
	return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
	       (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* Reads 1*max DIGIT at t[*i]; returns the value or -1. */
static int digits(const char *t, size_t n, size_t *i, size_t min, size_t max)
{
	size_t s = *i;
	int v = 0;
	while (*i < n && ascii_is_digit((unsigned char)t[*i]) && *i - s < max)
		v = v * 10 + (t[(*i)++] - '0');
	if (*i - s < min)
		return -1;
	return v;
}

bool detour_cookie_parse_date(const char *s, size_t len, time_t *out)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int hour = -1, min = -1, sec = -1, day = -1, month = -1, year = -1;
	size_t i = 0;
	while (i < len) {
		while (i < len && date_delim((unsigned char)s[i]))
			i++;
		size_t ts = i;
		while (i < len && !date_delim((unsigned char)s[i]))
			i++;
		const char *t = s + ts;
		size_t n = i - ts;
		if (!n)
			continue;
		size_t k = 0;
		/* time = hms-time ( non-digit *OCTET ); hms-time = 1*2DIGIT ":" 1*2DIGIT ":"
		 * 1*2DIGIT.
		 * ':' is a delimiter, so the token is only the hour; look at the raw
		 * bytes instead. */
		if (hour < 0) {
			size_t j = ts;
			int h = digits(s, len, &j, 1, 2);
			if (h >= 0 && j < len && s[j] == ':') {
				j++;
				int m = digits(s, len, &j, 1, 2);
				if (m >= 0 && j < len && s[j] == ':') {
					j++;
					int sc = digits(s, len, &j, 1, 2);
					if (sc >= 0 &&
					    (j == len || !ascii_is_digit((unsigned char)s[j]))) {
						hour = h;
						min = m;
						sec = sc;
						while (j < len && !date_delim((unsigned char)s[j]))
							j++;
						i = j;
						continue;
					}
				}
			}
		}
		/* day-of-month = 1*2DIGIT ( non-digit *OCTET ) */
		k = 0;
		if (day < 0) {
			int d = digits(t, n, &k, 1, 2);
			if (d >= 0 && (k == n || !ascii_is_digit((unsigned char)t[k]))) {
				day = d;
				continue;
			}
		}
		/* month = ( "jan" / ... ) *OCTET */
		if (month < 0 && n >= 3) {
			char m3[3] = {ascii_lower(t[0]), ascii_lower(t[1]), ascii_lower(t[2])};
			for (int m = 0; m < 12; m++)
				if (!memcmp(months + 3 * m, m3, 3)) {
					month = m;
					break;
				}
			if (month >= 0)
				continue;
		}
		/* year = 2*4DIGIT ( non-digit *OCTET ) */
		k = 0;
		if (year < 0) {
			int y = digits(t, n, &k, 2, 4);
			if (y >= 0 && (k == n || !ascii_is_digit((unsigned char)t[k]))) {
				year = y;
				continue;
			}
		}
	}
	/* Steps 3-5 of the algorithm: two-digit years, then validation. */
	if (year >= 70 && year <= 99)
		year += 1900;
	else if (year >= 0 && year <= 69)
		year += 2000;
	if (day < 1 || day > 31 || month < 0 || year < 1601 || hour < 0 || hour > 23 || min > 59 ||
	    sec > 59)
		return false;
	/* Days from the civil date (base/civil.h), so that no year limit of
	 * timegm matters. */
	int64_t days = civil_days_from(year, (unsigned)month + 1, (unsigned)day);
	*out = (time_t)(days * 86400 + hour * 3600 + min * 60 + sec);
	return true;
}

/* §5.1.3 domain-match: host equals domain, or host ends with "." + domain
 * and host is not an IP address. */
static bool domain_match(const char *host, size_t hn, const char *dom, size_t dn)
{
	if (hn == dn)
		return !memcmp(host, dom, hn);
	return hn > dn && host[hn - dn - 1] == '.' && !memcmp(host + hn - dn, dom, dn) &&
	       !host_is_ip((struct detour_slice){host, hn});
}

/* §5.1.4 path-match */
static bool path_match(const char *rp, size_t rn, const char *cp, size_t cn)
{
	if (rn < cn || memcmp(rp, cp, cn))
		return false;
	return rn == cn || cp[cn - 1] == '/' || rp[cn] == '/';
}

/* §5.1.4 default-path of a request path */
static size_t default_path(const char *p, size_t n)
{
	if (n == 0 || p[0] != '/')
		return 0; /* "/" */
	size_t k = n;
	while (k > 0 && p[k - 1] != '/')
		k--;
	k--; /* index of the rightmost '/' */
	return k == 0 ? 0 : k;
}

static detour_err fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return DETOUR_EINVAL;
}

/* Attribute values found while parsing (§5.6 steps for the attributes). */
struct attrs {
	bool has_expires, has_max_age, secure, http_only;
	time_t expires;
	int64_t max_age;
	const char *domain;
	size_t domain_len;
	bool has_domain;
	const char *path;
	size_t path_len;
	bool has_path;
	enum detour_samesite samesite;
};

static void parse_attr(const char *a, size_t n, struct attrs *at)
{
	const char *eq = memchr(a, '=', n);
	const char *name = a, *val = "";
	size_t nl = n, vl = 0;
	if (eq) {
		nl = (size_t)(eq - a);
		val = eq + 1;
		vl = n - nl - 1;
	}
	trim(&name, &nl);
	trim(&val, &vl);
	/* §5.6 step 3.9 (6265bis): an attribute value over 1024 bytes is
	 * ignored. */
	if (vl > DETOUR_COOKIE_MAX_ATTR)
		return;
	if (ascii_eq_ci(name, nl, "expires")) {
		time_t t;
		if (detour_cookie_parse_date(val, vl, &t)) {
			at->has_expires = true;
			at->expires = t;
		}
	} else if (ascii_eq_ci(name, nl, "max-age")) {
		/* §5.6.2: first char a DIGIT or '-', the rest DIGITs. */
		if (!vl || !(ascii_is_digit((unsigned char)val[0]) || val[0] == '-'))
			return;
		int64_t v = 0;
		for (size_t i = val[0] == '-' ? 1 : 0; i < vl; i++) {
			if (!ascii_is_digit((unsigned char)val[i]))
				return;
			if (v < INT64_MAX / 20)
				v = v * 10 + (val[i] - '0');
		}
		if (val[0] == '-' && vl == 1)
			return;
		at->has_max_age = true;
		at->max_age = val[0] == '-' ? -v : v;
	} else if (ascii_eq_ci(name, nl, "domain")) {
		/* §5.6.3: an empty value: ignore the attribute; drop one
		 * leading '.'. */
		if (!vl)
			return;
		if (val[0] == '.') {
			val++;
			vl--;
		}
		at->has_domain = true;
		at->domain = val;
		at->domain_len = vl;
	} else if (ascii_eq_ci(name, nl, "path")) {
		/* §5.6.4: empty or not starting with '/': the default path. */
		if (!vl || val[0] != '/') {
			at->has_path = false;
			return;
		}
		at->has_path = true;
		at->path = val;
		at->path_len = vl;
	} else if (ascii_eq_ci(name, nl, "secure")) {
		at->secure = true;
	} else if (ascii_eq_ci(name, nl, "httponly")) {
		at->http_only = true;
	} else if (ascii_eq_ci(name, nl, "samesite")) {
		/* §5.6.7: an unknown value leaves the default enforcement. */
		if (ascii_eq_ci(val, vl, "strict"))
			at->samesite = DETOUR_SAMESITE_STRICT;
		else if (ascii_eq_ci(val, vl, "lax"))
			at->samesite = DETOUR_SAMESITE_LAX;
		else if (ascii_eq_ci(val, vl, "none"))
			at->samesite = DETOUR_SAMESITE_NONE;
		else
			at->samesite = DETOUR_SAMESITE_DEFAULT;
	}
}

static void drop(struct detour_cookie_jar *j, size_t i)
{
	cookie_free(&j->c[i]);
	memmove(j->c + i, j->c + i + 1, (j->n - i - 1) * sizeof(*j->c));
	j->n--;
}

detour_err detour_cookie_set(struct detour_cookie_jar *j, const struct detour_cookie_url *u,
                             const char *v, size_t len, time_t now, const char **why)
{
	struct attrs at = {0};
	char dom[256];
	size_t dn;

	/* §5.6 step 1: a CTL other than HTAB in the string: ignore it. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(why, "control character in Set-Cookie");
	}
	/* Steps 2-4: name-value-pair up to the first ';'. Without '=', the
	 * name is empty and the whole pair is the value (6265bis). */
	const char *semi = memchr(v, ';', len);
	size_t pl = semi ? (size_t)(semi - v) : len;
	const char *name = v, *val;
	size_t nl, vl;
	const char *eq = memchr(v, '=', pl);
	if (eq) {
		nl = (size_t)(eq - v);
		val = eq + 1;
		vl = pl - nl - 1;
	} else {
		nl = 0;
		val = v;
		vl = pl;
	}
	trim(&name, &nl);
	trim(&val, &vl);
	/* Steps 6-7: both empty, or name + value over 4096: ignore. */
	if (nl == 0 && vl == 0)
		return fail(why, "empty cookie name and value");
	if (nl + vl > DETOUR_COOKIE_MAX_PAIR)
		return fail(why, "cookie name and value over 4096 bytes");
	/* Attributes, each up to the next ';'. The last of each kind wins. */
	for (size_t i = pl; i < len;) {
		i++; /* ';' */
		const char *e = memchr(v + i, ';', len - i);
		size_t ae = e ? (size_t)(e - v) : len;
		parse_attr(v + i, ae - i, &at);
		i = ae;
	}

	/* §5.7 storage model. Step 3: Max-Age wins over Expires. */
	time_t expiry = (time_t)INT64_MAX;
	if (at.has_max_age) {
		int64_t a = at.max_age > DETOUR_COOKIE_MAX_AGE ? DETOUR_COOKIE_MAX_AGE : at.max_age;
		expiry = a <= 0 ? (time_t)INT64_MIN : now + (time_t)a;
	} else if (at.has_expires) {
		expiry = at.expires;
		if (expiry > now + DETOUR_COOKIE_MAX_AGE)
			expiry = now + DETOUR_COOKIE_MAX_AGE;
	}
	/* Steps 4-6: the domain attribute, lower-cased; a public suffix (by
	 * the public suffix list, site.c) is accepted only when it is the
	 * host itself, and then makes a host-only cookie. */
	bool host_only = true;
	if (at.has_domain) {
		if (at.domain_len >= sizeof(dom))
			return fail(why, "Domain attribute too long");
		for (size_t i = 0; i < at.domain_len; i++)
			dom[i] = ascii_lower(at.domain[i]);
		dn = at.domain_len;
		bool suffix = detour_site_is_public_suffix(dom, dn);
		if (suffix) {
			if (dn != u->host_len || memcmp(dom, u->host, dn))
				return fail(why, "Domain attribute is a public suffix");
		} else if (!domain_match(u->host, u->host_len, dom, dn)) {
			return fail(why, "Domain attribute does not match the host");
		} else {
			host_only = false;
		}
	}
	if (host_only) {
		if (u->host_len >= sizeof(dom))
			return fail(why, "host too long");
		memcpy(dom, u->host, u->host_len);
		dn = u->host_len;
	}
	/* Step 7: the path attribute or the default path. */
	const char *path = "/";
	size_t pathl = 1;
	if (at.has_path) {
		path = at.path;
		pathl = at.path_len;
	} else {
		size_t k = default_path(u->path, u->path_len);
		if (k) {
			path = u->path;
			pathl = k;
		}
	}
	/* Step 8: a Secure cookie only from a secure origin (Chromium's
	 * "strict secure cookies"). */
	if (at.secure && !u->secure)
		return fail(why, "Secure cookie set over an insecure connection");
	/* SameSite=None requires Secure (Chromium since M80). */
	if (at.samesite == DETOUR_SAMESITE_NONE && !at.secure)
		return fail(why, "SameSite=None without Secure");
	/* §4.1.3 prefixes, compared case-insensitively (6265bis). */
	if (ascii_prefix_ci(name, nl, "__Secure-") && !(at.secure && u->secure))
		return fail(why, "__Secure- cookie without Secure");
	if (ascii_prefix_ci(name, nl, "__Host-") &&
	    !(at.secure && u->secure && host_only && at.has_path && pathl == 1))
		return fail(why, "__Host- cookie without Secure, Path=/ or with Domain");
	/* Step 16 (6265bis): an insecure origin may not overwrite or shadow a
	 * Secure cookie of the same name whose domain domain-matches either
	 * way and whose path path-matches the new one. */
	if (!u->secure) {
		for (size_t i = 0; i < j->n; i++) {
			struct cookie *c = &j->c[i];
			if (c->secure && c->name_len == nl && !memcmp(c->name, name, nl) &&
			    (domain_match(dom, dn, c->domain, c->domain_len) ||
			     domain_match(c->domain, c->domain_len, dom, dn)) &&
			    path_match(path, pathl, c->path, c->path_len))
				return fail(why, "would overwrite a Secure cookie from an insecure "
				                 "origin");
		}
	}
	/* Steps 22-23: replace the cookie with the same name, domain,
	 * host-only flag and path, keeping its creation order. */
	uint64_t seq = ++j->seq;
	time_t created = now;
	for (size_t i = 0; i < j->n; i++) {
		struct cookie *c = &j->c[i];
		if (c->name_len == nl && !memcmp(c->name, name, nl) && c->domain_len == dn &&
		    !memcmp(c->domain, dom, dn) && c->host_only == host_only &&
		    c->path_len == pathl && !memcmp(c->path, path, pathl)) {
			seq = c->seq;
			created = c->created;
			drop(j, i);
			break;
		}
	}
	/* Step 24: an expired cookie only deletes. Expired ones go too. */
	for (size_t i = 0; i < j->n;)
		if (j->c[i].expiry <= now)
			drop(j, i);
		else
			i++;
	if (expiry <= now)
		return DETOUR_OK;
	if (j->n >= DETOUR_COOKIE_MAX_COUNT) {
		size_t old = 0;
		for (size_t i = 1; i < j->n; i++)
			if (j->c[i].seq < j->c[old].seq)
				old = i;
		drop(j, old);
	}
	if (BASE_GROW(j->c, j->cap, j->n + 1) != 0)
		return DETOUR_ENOMEM;
	char *mem = malloc(nl + vl + dn + pathl + 4);
	if (!mem)
		return DETOUR_ENOMEM;
	struct cookie *c = &j->c[j->n++];
	memset(c, 0, sizeof(*c));
	c->name = mem;
	memcpy(c->name, name, nl);
	c->name[nl] = 0;
	c->value = c->name + nl + 1;
	memcpy(c->value, val, vl);
	c->value[vl] = 0;
	c->domain = c->value + vl + 1;
	memcpy(c->domain, dom, dn);
	c->domain[dn] = 0;
	c->path = c->domain + dn + 1;
	memcpy(c->path, path, pathl);
	c->path[pathl] = 0;
	c->name_len = nl;
	c->value_len = vl;
	c->domain_len = dn;
	c->path_len = pathl;
	c->expiry = expiry;
	c->created = created;
	c->seq = seq;
	c->host_only = host_only;
	c->secure = at.secure;
	c->http_only = at.http_only;
	c->samesite = at.samesite;
	return DETOUR_OK;
}

static bool samesite_ok(const struct cookie *c, enum detour_samesite_ctx ctx, time_t now)
{
	if (ctx == DETOUR_CTX_SAME_SITE)
		return true;
	switch (c->samesite) {
	case DETOUR_SAMESITE_NONE:
		return true;
	case DETOUR_SAMESITE_STRICT:
		return false;
	case DETOUR_SAMESITE_LAX:
		return ctx == DETOUR_CTX_CROSS_LAX;
	case DETOUR_SAMESITE_DEFAULT:
		/* Lax by default; Chromium's "Lax-allowing-unsafe": a cookie
		 * at most two minutes old is sent on a cross-site top-level
		 * POST too. */
		return ctx == DETOUR_CTX_CROSS_LAX ||
		       now - c->created <= DETOUR_COOKIE_LAX_UNSAFE_SECS;
	}
	return false;
}

ssize_t detour_cookie_header(const struct detour_cookie_jar *j, const struct detour_cookie_url *u,
                             enum detour_samesite_ctx ctx, time_t now, char *out, size_t cap)
{
	const struct cookie *pick[256];
	size_t np = 0;
	/* §5.8.3 step 1: the cookies that match. */
	for (size_t i = 0; i < j->n && np < sizeof(pick) / sizeof(pick[0]); i++) {
		const struct cookie *c = &j->c[i];
		if (c->expiry <= now)
			continue;
		if (c->host_only ? !(c->domain_len == u->host_len &&
		                     !memcmp(c->domain, u->host, u->host_len))
		                 : !domain_match(u->host, u->host_len, c->domain, c->domain_len))
			continue;
		if (!path_match(u->path, u->path_len, c->path, c->path_len))
			continue;
		if (c->secure && !u->secure)
			continue;
		if (!samesite_ok(c, ctx, now))
			continue;
		pick[np++] = c;
	}
	/* Step 2: longer paths first, then earlier creation. Insertion sort:
	 * the list is short. */
	for (size_t i = 1; i < np; i++) {
		const struct cookie *k = pick[i];
		size_t m = i;
		while (m > 0 &&
		       (pick[m - 1]->path_len < k->path_len ||
		        (pick[m - 1]->path_len == k->path_len && pick[m - 1]->seq > k->seq))) {
			pick[m] = pick[m - 1];
			m--;
		}
		pick[m] = k;
	}
	/* Step 4: serialise; a cookie with an empty name is its value only. */
	size_t o = 0;
	for (size_t i = 0; i < np; i++) {
		const struct cookie *c = pick[i];
		size_t need = (i ? 2 : 0) + c->name_len + (c->name_len ? 1 : 0) + c->value_len;
		if (cap - o < need + 1)
			return -1;
		if (i) {
			memcpy(out + o, "; ", 2);
			o += 2;
		}
		if (c->name_len) {
			memcpy(out + o, c->name, c->name_len);
			o += c->name_len;
			out[o++] = '=';
		}
		memcpy(out + o, c->value, c->value_len);
		o += c->value_len;
	}
	if (cap == 0)
		return -1;
	out[o] = 0;
	return (ssize_t)o;
}
