/* detour: rule conditions (see cond.h and docs/rules.md, "Conditions").
 * Parsing runs when rules are loaded; evaluation runs on a candidate rule
 * only, reads the parsed request in place and allocates nothing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cond.h"
#include "detour/url.h"
#include "regex.h"

#include "base/ascii.h"
#include "base/cidr.h"

static const struct {
	const char *name;
	enum detour_method id;
} methods[] = {
        {"GET", DETOUR_M_GET},         {"HEAD", DETOUR_M_HEAD},     {"POST", DETOUR_M_POST},
        {"PUT", DETOUR_M_PUT},         {"DELETE", DETOUR_M_DELETE}, {"PATCH", DETOUR_M_PATCH},
        {"OPTIONS", DETOUR_M_OPTIONS}, {"TRACE", DETOUR_M_TRACE},
};

/* Splits v[0..n) at ',' into parts; returns the count, or -1 for an empty
 * part (*errat set). */
static int split_commas(const char *v, size_t n, struct detour_slice *parts, int max, size_t *errat)
{
	int k = 0;
	size_t i = 0;

	for (;;) {
		const char *c = memchr(v + i, ',', n - i);
		size_t e = c ? (size_t)(c - v) : n;
		if (e == i || k == max) {
			*errat = i;
			return -1;
		}
		parts[k].p = v + i;
		parts[k].len = e - i;
		k++;
		if (!c)
			return k;
		i = e + 1;
	}
}

#define MAX_LIST 64

const char *detour_cond_parse(struct detour_cond *c, unsigned kind, const char *v, size_t n,
                              struct detour_arena *a, void (*keep)(void *arg, void *code),
                              void *keep_arg, size_t *errat)
{
	struct detour_slice parts[MAX_LIST];
	size_t off = 0;
	int np;

	memset(c, 0, sizeof(*c));
	c->kind = (uint8_t)kind;
	*errat = 0;
	if (n && v[0] == '!') {
		c->negate = true;
		v++;
		n--;
		off = 1;
	}
	if (n == 0)
		return "expected a value";
	switch (kind) {
	case DETOUR_COND_METHOD:
		np = split_commas(v, n, parts, MAX_LIST, errat);
		if (np < 0) {
			*errat += off;
			return "empty method in the list";
		}
		for (int i = 0; i < np; i++) {
			size_t k = 0;
			while (k < sizeof(methods) / sizeof(methods[0]) &&
			       !(strlen(methods[k].name) == parts[i].len &&
			         memcmp(methods[k].name, parts[i].p, parts[i].len) == 0))
				k++;
			if (k == sizeof(methods) / sizeof(methods[0])) {
				*errat = off + (size_t)(parts[i].p - v);
				return "unknown method (GET, HEAD, POST, PUT, DELETE, PATCH, "
				       "OPTIONS, "
				       "TRACE; upper case, RFC 9110 §9.1)";
			}
			c->methods |= (uint16_t)(1u << methods[k].id);
		}
		return NULL;
	case DETOUR_COND_HEADER: {
		const char *colon = memchr(v, ':', n);
		size_t nl = colon ? (size_t)(colon - v) : n;
		for (size_t i = 0; i < nl; i++)
			if (!ascii_is_tchar((unsigned char)v[i])) {
				*errat = off + i;
				return "invalid character in a header name (expected Name or "
				       "Name:value)";
			}
		if (nl == 0)
			return "expected a header name before ':'";
		c->name = (struct detour_slice){v, nl};
		if (colon) {
			const char *val = colon + 1;
			size_t vl = n - nl - 1;
			if (vl && val[0] == '~') {
				size_t eo;
				char msg[160];
				void *re = detour_re_compile(val + 1, vl - 1, false, &eo, msg,
				                             sizeof(msg));
				if (re == NULL) {
					*errat = off + nl + 2 + eo;
					return "invalid regex in if-header (see PCRE2 syntax)";
				}
				keep(keep_arg, re);
				c->re = re;
			}
			c->value = (struct detour_slice){val, vl};
		}
		return NULL;
	}
	case DETOUR_COND_COOKIE: {
		const char *eq = memchr(v, '=', n);
		size_t nl = eq ? (size_t)(eq - v) : n;
		for (size_t i = 0; i < nl; i++)
			if (!ascii_is_tchar((unsigned char)v[i])) {
				*errat = off + i;
				return "invalid character in a cookie name";
			}
		if (nl == 0)
			return "expected a cookie name";
		c->name = (struct detour_slice){v, nl};
		if (eq)
			c->value = (struct detour_slice){eq + 1, n - nl - 1};
		return NULL;
	}
	case DETOUR_COND_QUERY:
		for (size_t i = 0; i < n; i++) {
			if (v[i] == '&' && (i == 0 || i + 1 == n || v[i + 1] == '&')) {
				*errat = off + i;
				return "empty parameter in the list (key[=value]&key2[=value])";
			}
			if (v[i] == '=' && (i == 0 || v[i - 1] == '&')) {
				*errat = off + i;
				return "expected a parameter name before '='";
			}
		}
		c->name = (struct detour_slice){v, n};
		return NULL;
	case DETOUR_COND_IP: {
		np = split_commas(v, n, parts, MAX_LIST, errat);
		if (np < 0) {
			*errat += off;
			return "empty address in the list";
		}
		struct cidr *cs = detour_arena_alloc(a, (size_t)np * sizeof(*cs), 8);
		if (cs == NULL)
			return "out of memory";
		for (int i = 0; i < np; i++) {
			int e = cidr_parse(parts[i].p, parts[i].len, &cs[i]);
			if (e != CIDR_OK) {
				*errat = off + (size_t)(parts[i].p - v);
				if (e == CIDR_EHOSTBITS) /* refused, not masked: base/cidr.h */
					return "bits set past the prefix: write the network "
					       "(192.0.2.0/24, not 192.0.2.1/24)";
				return "expected an IPv4 or IPv6 address or CIDR (192.0.2.0/24, "
				       "2001:db8::/32)";
			}
		}
		c->cidrs = cs;
		c->n = (uint16_t)np;
		return NULL;
	}
	case DETOUR_COND_LANG: {
		np = split_commas(v, n, parts, MAX_LIST, errat);
		if (np < 0) {
			*errat += off;
			return "empty language in the list";
		}
		struct detour_slice *ls = detour_arena_alloc(a, (size_t)np * sizeof(*ls), 8);
		if (ls == NULL)
			return "out of memory";
		for (int i = 0; i < np; i++) {
			char *p = detour_arena_strndup(a, parts[i].p, parts[i].len);
			if (p == NULL)
				return "out of memory";
			for (size_t j = 0; j < parts[i].len; j++) {
				char ch = ascii_lower(p[j]);
				if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				      (ch == '-' && j > 0))) {
					*errat = off + (size_t)(parts[i].p - v) + j;
					return "expected a language tag (fr, de-CH; RFC 4647 §2.1)";
				}
				p[j] = ch;
			}
			ls[i] = (struct detour_slice){p, parts[i].len};
		}
		c->langs = ls;
		c->n = (uint16_t)np;
		return NULL;
	}
	}
	return "unknown condition";
}

/* ------------------------------------------------------------- evaluation */

bool detour_req_cookie(const struct detour_match_req *q, const char *name, size_t nl,
                       struct detour_slice *val)
{
	const struct detour_request *r = q->req;

	if (r == NULL)
		return false;
	for (unsigned h = 0; h < r->num_headers; h++) {
		const struct detour_header *hd = &r->headers[h];
		if (!ascii_eq_ci_n(hd->name, hd->name_len, "cookie", 6))
			continue;
		/* RFC 6265 §4.2.1: cookie-pair *( ";" SP cookie-pair ) */
		const char *v = hd->value;
		size_t n = hd->value_len, i = 0;
		while (i < n) {
			size_t pe = i;
			while (pe < n && v[pe] != ';')
				pe++;
			while (i < pe && (v[i] == ' ' || v[i] == '\t'))
				i++;
			size_t eq = i;
			while (eq < pe && v[eq] != '=')
				eq++;
			size_t ne = eq;
			while (ne > i && (v[ne - 1] == ' ' || v[ne - 1] == '\t'))
				ne--;
			if (ne - i == nl && memcmp(v + i, name, nl) == 0) {
				size_t vs = eq < pe ? eq + 1 : pe, ve = pe;
				while (vs < ve && (v[vs] == ' ' || v[vs] == '\t'))
					vs++;
				while (ve > vs && (v[ve - 1] == ' ' || v[ve - 1] == '\t'))
					ve--;
				/* A quoted value: the quotes are not part of it. */
				if (ve - vs >= 2 && v[vs] == '"' && v[ve - 1] == '"') {
					vs++;
					ve--;
				}
				val->p = v + vs;
				val->len = ve - vs;
				return true;
			}
			i = pe + 1;
		}
	}
	return false;
}

/* RFC 9110 §12.5.4 Accept-Language: the range with the highest q (the first
 * of equal ones; '*' and q=0 left out); the rule's languages match it when
 * equal or a prefix at a '-' ("fr" matches "fr-CH", RFC 4647 §3.3.1). */
static bool lang_best(const struct detour_match_req *q, struct detour_slice *best)
{
	const struct detour_request *r = q->req;
	int bq = 0;

	if (r == NULL)
		return false;
	for (unsigned h = 0; h < r->num_headers; h++) {
		const struct detour_header *hd = &r->headers[h];
		if (!ascii_eq_ci_n(hd->name, hd->name_len, "accept-language", 15))
			continue;
		const char *s = hd->value, *e = s + hd->value_len;
		while (s < e) {
			const char *comma = memchr(s, ',', (size_t)(e - s));
			const char *pe = comma ? comma : e;
			while (s < pe && (*s == ' ' || *s == '\t'))
				s++;
			const char *le = s;
			while (le < pe && *le != ';' && *le != ' ' && *le != '\t')
				le++;
			int qv = 1000;
			const char *qp = memchr(le, ';', (size_t)(pe - le));
			if (qp) {
				qp++;
				while (qp < pe && (*qp == ' ' || *qp == '\t'))
					qp++;
				if (pe - qp >= 3 && (qp[0] == 'q' || qp[0] == 'Q') &&
				    qp[1] == '=') {
					/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0")
					 * ] ) */
					const char *d = qp + 2;
					qv = 0;
					if (d < pe && *d == '1')
						qv = 1000;
					else if (d < pe && *d == '0' && d + 1 < pe && d[1] == '.') {
						int mul = 100;
						for (const char *x = d + 2;
						     x < pe && *x >= '0' && *x <= '9' && mul; x++) {
							qv += (*x - '0') * mul;
							mul /= 10;
						}
					}
				}
			}
			if (le > s && !(le - s == 1 && *s == '*') && qv > bq) {
				bq = qv;
				best->p = s;
				best->len = (size_t)(le - s);
			}
			s = comma ? comma + 1 : e;
		}
	}
	return bq > 0;
}

static bool eval(const struct detour_cond *c, const struct detour_match_req *q)
{
	const struct detour_request *r = q->req;

	switch (c->kind) {
	case DETOUR_COND_METHOD: {
		enum detour_method m = r ? r->method_id : DETOUR_M_GET;
		return m != DETOUR_M_OTHER && (c->methods & (1u << m));
	}
	case DETOUR_COND_HEADER:
		if (r == NULL)
			return false;
		for (unsigned h = 0; h < r->num_headers; h++) {
			const struct detour_header *hd = &r->headers[h];
			if (!ascii_eq_ci_n(hd->name, hd->name_len, c->name.p, c->name.len))
				continue;
			if (c->value.p == NULL)
				return true;
			if (c->re) {
				if (detour_re_match(c->re, hd->value, hd->value_len, NULL))
					return true;
			} else if (hd->value_len == c->value.len &&
			           memcmp(hd->value, c->value.p, c->value.len) == 0) {
				return true;
			}
		}
		return false;
	case DETOUR_COND_COOKIE: {
		struct detour_slice v;
		if (!detour_req_cookie(q, c->name.p, c->name.len, &v))
			return false;
		return c->value.p == NULL ||
		       (v.len == c->value.len && memcmp(v.p, c->value.p, v.len) == 0);
	}
	case DETOUR_COND_QUERY: {
		/* Every listed parameter present, in any order. */
		const char *s = c->name.p, *e = s + c->name.len;
		while (s < e) {
			const char *amp = memchr(s, '&', (size_t)(e - s));
			const char *pe = amp ? amp : e;
			const char *eq = memchr(s, '=', (size_t)(pe - s));
			const char *ke = eq ? eq : pe;
			if (!q->query || !detour_url_query_has(q->query, q->query_len, s,
			                                       (size_t)(ke - s), eq ? eq + 1 : NULL,
			                                       eq ? (size_t)(pe - eq - 1) : 0))
				return false;
			s = amp ? amp + 1 : e;
		}
		return true;
	}
	case DETOUR_COND_IP: {
		for (unsigned i = 0; i < c->n; i++)
			if (cidr_match(&c->cidrs[i], q->peer))
				return true;
		return false;
	}
	case DETOUR_COND_LANG: {
		struct detour_slice b;
		if (!lang_best(q, &b))
			return false;
		for (unsigned i = 0; i < c->n; i++) {
			const struct detour_slice *l = &c->langs[i];
			if (b.len < l->len || (b.len > l->len && b.p[l->len] != '-'))
				continue;
			if (ascii_eq_ci_n(b.p, l->len, l->p, l->len))
				return true;
		}
		return false;
	}
	}
	return false;
}

bool detour_cond_eval(const struct detour_cond *c, const struct detour_match_req *q)
{
	return eval(c, q) != c->negate;
}

void detour_cond_describe(const struct detour_cond *c, const struct detour_match_req *q, char *out,
                          size_t cap)
{
	bool raw = eval(c, q), res = raw != c->negate;
	char seen[160] = "";
	struct detour_slice v;

	switch (c->kind) {
	case DETOUR_COND_COOKIE:
		if (detour_req_cookie(q, c->name.p, c->name.len, &v))
			snprintf(seen, sizeof(seen), " (cookie %.*s=%.*s)", (int)c->name.len,
			         c->name.p, (int)(v.len > 60 ? 60 : v.len), v.p);
		else
			snprintf(seen, sizeof(seen), " (no cookie %.*s)", (int)c->name.len,
			         c->name.p);
		break;
	case DETOUR_COND_LANG:
		if (lang_best(q, &v))
			snprintf(seen, sizeof(seen), " (preferred language %.*s)",
			         (int)(v.len > 40 ? 40 : v.len), v.p);
		else
			snprintf(seen, sizeof(seen), " (no acceptable language)");
		break;
	case DETOUR_COND_IP: {
		uint8_t a[16];
		char ip[INET6_ADDRSTRLEN];
		if (!cidr_addr_of(q->peer, a))
			snprintf(seen, sizeof(seen), " (client address unknown)");
		else if (inet_ntop(AF_INET6, a, ip, sizeof(ip)))
			snprintf(seen, sizeof(seen), " (client %s)", ip);
		break;
	}
	case DETOUR_COND_METHOD:
		snprintf(seen, sizeof(seen), " (method %.*s)", q->req ? (int)q->req->method_len : 3,
		         q->req ? q->req->method : "GET");
		break;
	default:
		break;
	}
	(void)raw;
	snprintf(out, cap, "%.*s %s%s", (int)(c->text.len > 120 ? 120 : c->text.len), c->text.p,
	         res ? "holds" : "fails", seen);
}
