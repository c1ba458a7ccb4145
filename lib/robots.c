/* detour: robots.txt (RFC 9309). See include/detour/robots.h and
 * docs/crawl.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "detour/robots.h"

struct rule {
	char *pat; /* normalised (see norm()); a final '$' kept */
	size_t len;
	bool allow;
};

/* The rules of one side: the groups naming the agent, or the "*" ones. */
struct side {
	struct rule *r;
	size_t n, cap;
	double delay;
	bool seen; /* a group of this side exists (even without rules) */
};

struct detour_robots {
	struct side agent, star;
	bool all_set, all_allow; /* detour_robots_new_all */
	char **sitemaps;
	size_t nsitemaps, capsitemaps;
};

static const char hexdig[] = "0123456789ABCDEF";

/* s[0..n) with every percent-encoding's hex digits in upper case and every
 * non-ASCII byte as %XX (§2.2.2: octets outside US-ASCII are compared
 * percent-encoded), into new memory; *out_len its length. NULL when out of
 * memory. */
static char *norm(const char *s, size_t n, size_t *out_len)
{
	char *o = malloc(3 * n + 1);
	size_t k = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && ascii_hexval((unsigned char)s[i + 1]) >= 0 &&
		    ascii_hexval((unsigned char)s[i + 2]) >= 0) {
			o[k++] = '%';
			o[k++] = hexdig[ascii_hexval((unsigned char)s[i + 1])];
			o[k++] = hexdig[ascii_hexval((unsigned char)s[i + 2])];
			i += 2;
		} else if (c >= 0x80) {
			o[k++] = '%';
			o[k++] = hexdig[c >> 4];
			o[k++] = hexdig[c & 15];
		} else {
			o[k++] = (char)c;
		}
	}
	o[k] = 0;
	*out_len = k;
	return o;
}

/* Whether pattern p[0..pn) matches a prefix of s[0..sn) ('*': any bytes; a
 * final '$': the end of s), §2.2.3. Greedy with one backtrack point, so
 * linear in pn * sn at worst, without recursion. */
static bool match(const char *p, size_t pn, const char *s, size_t sn)
{
	bool anchored = pn && p[pn - 1] == '$';
	size_t i = 0, j = 0, star_p = SIZE_MAX, star_s = 0;

	if (anchored)
		pn--;
	while (i < pn || j < sn) {
		if (i < pn && p[i] == '*') {
			star_p = i++;
			star_s = j;
			continue;
		}
		if (i == pn && !anchored)
			return true;
		if (i < pn && j < sn && p[i] == s[j]) {
			i++;
			j++;
			continue;
		}
		if (star_p != SIZE_MAX && star_s < sn) {
			i = star_p + 1;
			j = ++star_s;
			continue;
		}
		return false;
	}
	return true;
}

static int add_rule(struct side *sd, const char *v, size_t vl, bool allow)
{
	if (BASE_GROW(sd->r, sd->cap, sd->n + 1))
		return -1;
	struct rule *r = &sd->r[sd->n];
	r->pat = norm(v, vl, &r->len);
	if (!r->pat)
		return -1;
	r->allow = allow;
	sd->n++;
	return 0;
}

static int add_sitemap(struct detour_robots *rb, const char *v, size_t vl)
{
	if (BASE_GROW(rb->sitemaps, rb->capsitemaps, rb->nsitemaps + 1))
		return -1;
	char *s = malloc(vl + 1);
	if (!s)
		return -1;
	memcpy(s, v, vl);
	s[vl] = 0;
	rb->sitemaps[rb->nsitemaps++] = s;
	return 0;
}

/* Whether a user-agent line's value v[0..vl) names agent: its product token
 * (the leading [A-Za-z_-] bytes, §2.2.1) equals agent without case. */
static bool names_agent(const char *v, size_t vl, const char *agent)
{
	size_t t = 0;
	while (t < vl && (ascii_is_alpha((unsigned char)v[t]) || v[t] == '_' || v[t] == '-'))
		t++;
	return t > 0 && ascii_eq_ci(v, t, agent);
}

static double parse_delay(const char *v, size_t vl)
{
	double d = 0, scale = 0;
	size_t i = 0;
	if (!vl)
		return -1;
	for (; i < vl; i++) {
		unsigned char c = (unsigned char)v[i];
		if (ascii_is_digit(c)) {
			if (scale > 0) {
				d += (c - '0') * scale;
				scale /= 10;
			} else {
				d = d * 10 + (c - '0');
			}
		} else if (c == '.' && scale == 0) {
			scale = 0.1;
		} else {
			return -1;
		}
		if (d > 86400)
			return 86400;
	}
	return d;
}

static bool key_is(const char *k, size_t kl, const char *name)
{
	return ascii_eq_ci(k, kl, name);
}

/* State of the parse: which sides the current group's rules go to. */
struct pstate {
	bool in_agents; /* the record before was a user-agent line */
	bool to_agent, to_star;
};

static int record(struct detour_robots *rb, struct pstate *st, const char *agent, const char *k,
                  size_t kl, const char *v, size_t vl)
{
	if (key_is(k, kl, "user-agent")) {
		if (!st->in_agents)
			st->to_agent = st->to_star = false; /* a new group (§2.1) */
		st->in_agents = true;
		if (names_agent(v, vl, agent)) {
			st->to_agent = true;
			rb->agent.seen = true;
		} else if (vl == 1 && v[0] == '*') {
			st->to_star = true;
			rb->star.seen = true;
		}
		return 0;
	}
	if (key_is(k, kl, "sitemap"))
		return vl ? add_sitemap(rb, v, vl) : 0; /* not part of any group */
	bool allow = key_is(k, kl, "allow");
	bool delay = key_is(k, kl, "crawl-delay");
	if (!allow && !delay && !key_is(k, kl, "disallow"))
		return 0; /* other records neither end nor start a group */
	st->in_agents = false;
	struct side *sides[2] = {st->to_agent ? &rb->agent : NULL, st->to_star ? &rb->star : NULL};
	for (int i = 0; i < 2; i++) {
		if (!sides[i])
			continue;
		if (delay) {
			double d = parse_delay(v, vl);
			if (d >= 0)
				sides[i]->delay = d;
		} else if (vl && add_rule(sides[i], v, vl, allow)) {
			return -1; /* an empty pattern matches nothing (§2.2.2) */
		}
	}
	return 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

struct detour_robots *detour_robots_parse(const char *txt, size_t len, const char *agent)
{
	struct detour_robots *rb = calloc(1, sizeof(*rb));
	struct pstate st = {0};
	if (!rb)
		return NULL;
	rb->agent.delay = rb->star.delay = -1;
	if (len > DETOUR_ROBOTS_MAX_BYTES)
		len = DETOUR_ROBOTS_MAX_BYTES;
	if (len >= 3 && !memcmp(txt, "\xEF\xBB\xBF", 3)) {
		txt += 3;
		len -= 3;
	}
	const char *p = txt, *end = txt + len;
	while (p < end) {
		const char *e = p;
		while (e < end && *e != '\n' && *e != '\r')
			e++;
		size_t ll = (size_t)(e - p);
		const char *hash = memchr(p, '#', ll);
		if (hash)
			ll = (size_t)(hash - p);
		const char *colon = memchr(p, ':', ll);
		if (colon) {
			const char *k = p, *v = colon + 1;
			size_t kl = (size_t)(colon - p), vl = ll - kl - 1;
			trim(&k, &kl);
			trim(&v, &vl);
			if (record(rb, &st, agent, k, kl, v, vl)) {
				detour_robots_free(rb);
				return NULL;
			}
		}
		p = e < end ? e + 1 : e;
	}
	return rb;
}

struct detour_robots *detour_robots_new_all(bool allow)
{
	struct detour_robots *rb = calloc(1, sizeof(*rb));
	if (!rb)
		return NULL;
	rb->agent.delay = rb->star.delay = -1;
	rb->all_set = true;
	rb->all_allow = allow;
	return rb;
}

static const struct side *chosen(const struct detour_robots *r)
{
	return r->agent.seen ? &r->agent : &r->star;
}

bool detour_robots_allowed(const struct detour_robots *r, const char *path, size_t len)
{
	if (len == 11 && !memcmp(path, "/robots.txt", 11))
		return true;
	if (r->all_set)
		return r->all_allow;
	const struct side *sd = chosen(r);
	if (!sd->n)
		return true;
	size_t sn;
	char *s = norm(path, len, &sn);
	if (!s)
		return false; /* out of memory: fetch nothing rather than too much */
	bool allow = true;
	size_t best = 0;
	bool any = false;
	for (size_t i = 0; i < sd->n; i++) {
		const struct rule *ru = &sd->r[i];
		if (!match(ru->pat, ru->len, s, sn))
			continue;
		/* The most specific (longest) match wins; allow on a tie. */
		if (!any || ru->len > best || (ru->len == best && ru->allow)) {
			best = ru->len;
			allow = ru->allow;
			any = true;
		}
	}
	free(s);
	return allow;
}

double detour_robots_crawl_delay(const struct detour_robots *r)
{
	return chosen(r)->delay;
}

size_t detour_robots_nsitemaps(const struct detour_robots *r)
{
	return r->nsitemaps;
}

const char *detour_robots_sitemap(const struct detour_robots *r, size_t i)
{
	return i < r->nsitemaps ? r->sitemaps[i] : NULL;
}

size_t detour_robots_nrules(const struct detour_robots *r)
{
	return chosen(r)->n;
}

static void side_free(struct side *sd)
{
	for (size_t i = 0; i < sd->n; i++)
		free(sd->r[i].pat);
	free(sd->r);
}

void detour_robots_free(struct detour_robots *r)
{
	if (!r)
		return;
	side_free(&r->agent);
	side_free(&r->star);
	for (size_t i = 0; i < r->nsitemaps; i++)
		free(r->sitemaps[i]);
	free(r->sitemaps);
	free(r);
}
