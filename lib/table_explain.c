/* detour: the rule table, health and explanations (see table.h): weighted
 * group membership, health-checked targets and their atomic flags and
 * counters, and the facts detour explain prints about one rule. Calls
 * table_ext.c and table.c below it. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/civil.h"
#include "cond.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_explain.h"
#include "regex.h"
#include "table_ext.h"
#include "table_hs.h"
#include "table_int.h"
#include "window.h"

/* ------------------------------------------------------------------ health */

bool detour_table_group_of(const struct detour_table *t, uint32_t rule_index, uint32_t *first,
                           uint32_t *n)
{
	uint32_t xi;

	if (t->nexts == 0 || rule_index >= t->nrules ||
	    !(t->rules[rule_index].flags & DETOUR_RULE_EXT) ||
	    (xi = ext_find(t, rule_index)) == NONE || t->xi[xi].group == NONE)
		return false;
	const struct group *g = &t->groups[t->xi[xi].group];
	*first = t->gmembers[g->first];
	*n = g->n;
	return true;
}

size_t detour_table_health_targets(const struct detour_table *t, detour_health_fn fn, void *arg)
{
	size_t k = 0;

	for (uint32_t e = 0; e < t->nexts; e++) {
		if (t->xi[e].origin == NULL || t->xi[e].group == NONE)
			continue;
		if (fn)
			fn(arg, t->exts[e].rule, t->xi[e].origin, t->exts[e].health);
		k++;
	}
	return k;
}

void detour_table_set_healthy(const struct detour_table *t, uint32_t rule_index, bool up)
{
	uint32_t xi;

	if (t->nexts == 0 || (xi = ext_find(t, rule_index)) == NONE || t->xi[xi].group == NONE)
		return;
	atomic_store_explicit(&t->xlive[xi].up, up, memory_order_relaxed);
}

bool detour_table_healthy(const struct detour_table *t, uint32_t rule_index)
{
	uint32_t xi;

	if (t->nexts == 0 || (xi = ext_find(t, rule_index)) == NONE || t->xi[xi].group == NONE)
		return true;
	return atomic_load_explicit(&t->xlive[xi].up, memory_order_relaxed);
}

uint64_t detour_table_variant_hits(const struct detour_table *t, uint32_t rule_index)
{
	uint32_t xi;

	if (t->nexts == 0 || (xi = ext_find(t, rule_index)) == NONE || t->xi[xi].group == NONE)
		return 0;
	return atomic_load_explicit(&t->xlive[xi].hits, memory_order_relaxed);
}

/* ------------------------------------------------------------ explanations */

bool detour_table_regex_scanned(const struct detour_table *t, uint32_t rule_index, const char **why)
{
	bool in = detour_tbl_hs_owns(t->hs, rule_index);

	if (why)
		*why = in ? NULL : detour_tbl_hs_why(t->hs, rule_index);
	return in;
}

bool detour_table_source_matches(const struct detour_table *t, const struct detour_match_req *q,
                                 const struct detour_rule *r)
{
	struct search s = {.t = t, .q = q, .path = q->path, .n = q->path_len, .best = NONE};
	char hb[HOST_MAX];

	if (s.n == 0 || s.path[0] != '/')
		return false;
	if (r->scheme != DETOUR_SCHEME_ANY && (r->scheme == DETOUR_SCHEME_HTTPS) != q->https)
		return false;
	size_t rl;
	const char *rhs = detour_ruleset_host(t->rs, r, &rl);
	if (rl) {
		size_t hl = detour_tbl_request_host(q->host, q->host_len, hb);
		if (r->flags & DETOUR_RULE_HOST_WILDCARD) {
			if (hl <= rl || memcmp(hb + hl - rl, rhs, rl) != 0)
				return false;
		} else if (hl != rl || memcmp(hb, rhs, hl) != 0) {
			return false;
		}
	}
	if (r->flags & DETOUR_RULE_EXT) {
		const struct detour_rule_ext *x = &t->exts[ext_find(t, tindex(t, r))];
		if (x->re) {
			bool ci = (x->flags & DETOUR_EXT_CASE_I) != 0;
			return s.n >= x->prefix_len &&
			       prefix_eq(s.path, x->prefix, x->prefix_len, ci) &&
			       detour_re_match(x->re, s.path, s.n, NULL);
		}
	}
	switch (r->kind) {
	case DETOUR_SRC_EXACT:
		return exact_eq(t, r, s.path, s.n);
	case DETOUR_SRC_SPLAT:
		return (s.n >= r->path_len && memcmp(tpath(t, r), s.path, r->path_len) == 0) ||
		       (s.n + 1 == r->path_len && memcmp(tpath(t, r), s.path, s.n) == 0);
	case DETOUR_SRC_PATTERN:
		return detour_tbl_pattern_match(t, r, s.path, s.n, NULL);
	}
	return false;
}

static void linef(void (*fn)(void *, const char *), void *arg, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void linef(void (*fn)(void *, const char *), void *arg, const char *fmt, ...)
{
	char b[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	fn(arg, b);
}

/* The facts about one rule's own window and conditions. */
static bool explain_member(struct search *s, const struct detour_rule *r,
                           const struct detour_rule_ext *x, void (*fn)(void *, const char *),
                           void *arg, const char *lead)
{
	bool ok = true;
	char a[CIVIL_RFC3339_MAX], b[CIVIL_RFC3339_MAX];

	if (x->flags & DETOUR_EXT_WINDOW) {
		int64_t end = INT64_MAX, next = INT64_MAX, now = detour_tbl_clock(s);
		bool in = detour_window_at(&x->window, now, &end, &next);
		civil_format_rfc3339(now, a);
		if (in && end != INT64_MAX) {
			civil_format_rfc3339(end, b);
			linef(fn, arg,
			      "%swindow open at %s, closes %s (cache lifetimes cut to %lld s)",
			      lead, a, b, (long long)(end - now));
		} else if (in) {
			linef(fn, arg, "%swindow open at %s, no end", lead, a);
		} else if (now >= x->window.until) {
			civil_format_rfc3339(x->window.until, b);
			linef(fn, arg, "%swindow closed at %s: it ended %s", lead, a, b);
		} else if (next != INT64_MAX) {
			civil_format_rfc3339(next, b);
			linef(fn, arg, "%swindow closed at %s: next opens %s", lead, a, b);
		} else {
			linef(fn, arg, "%swindow closed at %s", lead, a);
		}
		ok &= in;
	}
	for (unsigned i = 0; i < x->nconds; i++) {
		char d[300];
		detour_cond_describe(&x->conds[i], s->q, d, sizeof(d));
		linef(fn, arg, "%scondition %s", lead, d);
		ok &= detour_cond_eval(&x->conds[i], s->q);
	}
	if (x->flags & DETOUR_EXT_CAPTURE_AUTHORITY) {
		bool al = detour_tbl_location_allowed(s, r, x);
		linef(fn, arg, "%sallow-hosts: the Location's host %s", lead,
		      al ? "is allowed"
		         : "is not allowed (open-redirect guard): the rule does not apply");
		ok &= al;
	}
	return ok;
}

bool detour_table_explain(const struct detour_table *t, const struct detour_match_req *q,
                          const struct detour_rule *r, void (*fn)(void *arg, const char *line),
                          void *arg)
{
	struct search s = {.t = t, .q = q, .path = q->path, .n = q->path_len, .best = NONE};
	uint32_t xi;

	if (r->scheme != DETOUR_SCHEME_ANY && (r->scheme == DETOUR_SCHEME_HTTPS) != q->https) {
		linef(fn, arg, "scheme: the rule is for %s only",
		      r->scheme == DETOUR_SCHEME_HTTPS ? "https" : "http");
		return false;
	}
	if (!(r->flags & DETOUR_RULE_EXT) || (xi = ext_find(t, tindex(t, r))) == NONE)
		return true;
	if (t->xi[xi].group == NONE)
		return explain_member(&s, r, &t->exts[xi], fn, arg, "");

	const struct group *g = &t->groups[t->xi[xi].group];
	if (t->xi[xi].pos != 0) {
		linef(fn, arg, "group: variant %u of the group led by line %u, which decides",
		      t->xi[xi].pos, detour_ruleset_line(t->rs, &t->rules[t->gmembers[g->first]]));
		return false;
	}
	uint64_t total = 0;
	for (unsigned k = 0; k < g->n; k++)
		total += t->exts[ext_find(t, t->gmembers[g->first + k])].weight;
	linef(fn, arg, "group: %u variants, sticky=%s%s%s%s", g->n,
	      g->sticky == DETOUR_STICKY_COOKIE ? "cookie"
	      : g->sticky == DETOUR_STICKY_IP   ? "ip"
	                                        : "none",
	      g->sticky == DETOUR_STICKY_COOKIE ? " (cookie " : "",
	      g->sticky == DETOUR_STICKY_COOKIE ? g->cookie : "",
	      g->sticky == DETOUR_STICKY_COOKIE ? ")" : "");
	for (unsigned k = 0; k < g->n; k++) {
		uint32_t ri = t->gmembers[g->first + k], mx = ext_find(t, ri);
		const struct detour_rule *mr = &t->rules[ri];
		char lead[64];
		snprintf(lead, sizeof(lead), "  variant %u: ", k);
		linef(fn, arg, "variant %u: line %u -> %s, weight %u (%.1f%%)%s", k,
		      detour_ruleset_line(t->rs, mr), ttarget(t, mr), t->exts[mx].weight,
		      100.0 * t->exts[mx].weight / (double)total,
		      atomic_load_explicit(&t->xlive[mx].up, memory_order_relaxed)
		              ? ""
		              : ", unhealthy (left out while others are up)");
		explain_member(&s, mr, &t->exts[mx], fn, arg, lead);
	}
	uint32_t rule;
	int64_t end;
	const char *cookie;
	unsigned variant;
	enum detour_tbl_why why = WHY_RANDOM;
	if (!detour_tbl_group_choose(&s, g, &rule, &end, &cookie, &variant, &why)) {
		linef(fn, arg, "group: no variant applies");
		return false;
	}
	/* A random draw is made again per request: name the kind of choice
	 * only; cookie, address and "only one" name the variant. */
	if (why == WHY_RANDOM)
		linef(fn, arg, "choice: a weighted random draw, made per request");
	else
		linef(fn, arg, "chosen: variant %u (line %u), %s", variant,
		      detour_ruleset_line(t->rs, &t->rules[rule]),
		      why == WHY_COOKIE ? "named by the visitor's cookie"
		      : why == WHY_IP   ? "by a hash of the client address"
		                        : "the only variant that applies");
	if (cookie)
		linef(fn, arg,
		      "cookie: a Set-Cookie %s=N names the variant drawn, to keep the visitor in "
		      "it",
		      cookie);
	return true;
}
