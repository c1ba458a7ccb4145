/* detour lint, pass 2 (see lint.c): the choices a rule makes. Time windows
 * against the clock, weighted groups, permanent redirects without cache=,
 * method changes, open redirects, the regexes every request runs. */
#include <stdlib.h>
#include <string.h>

#include "base/civil.h"
#include "detour/table_explain.h"
#include "lint_risk.h"
#include "lint_rules_int.h"
#include "window.h"

/* ---------------------------------------------------------------- choices */

/* Whether window w is open at some time in [a, b) (b - a within 8 days for
 * a recurring window, which repeats every week). */
static bool opens(const struct detour_window *w, int64_t a, int64_t b)
{
	int64_t end, next;

	if (detour_window_at(w, a, &end, &next))
		return true;
	return next < b;
}

/* Time windows against the clock (L->now, which DETOUR_NOW sets in the CLI as
 * it does in the server). A window that never opens or has ended makes the
 * rule dead: it is not walked. */
void detour_lint_check_windows(struct lint *L)
{
	char a[CIVIL_RFC3339_MAX], b[CIVIL_RFC3339_MAX];

	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		const struct detour_rule_ext *x = detour_lint_ext_of(L->rs, r);
		if (x == NULL || !(x->flags & DETOUR_EXT_WINDOW))
			continue;
		const struct detour_window *w = &x->window;
		struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
		bool recurring = w->days || w->hour_from >= 0;
		if (recurring && w->from != DETOUR_TIME_NONE_FROM &&
		    w->until != DETOUR_TIME_NONE_UNTIL && !opens(w, w->from, w->until)) {
			/* the loader refuses from >= until; days=/hours= that never
			 * fall between from= and until= are for lint */
			struct bbuf c = LINT_TEXT;
			detour_lint_sb_cond_text(&c, L->rs, r);
			detour_lint_sb_fmt(&msg, "the time window never opens: %s", bbuf_cstr(&c));
			bbuf_free(&c);
			bbuf_puts(&fix,
			          "widen from=/until= to a day that days=/hours= allow, or remove "
			          "the rule");
			L->dead[i] = 1;
			detour_lint_add(L, DETOUR_LINT_WINDOW_NEVER, (uint32_t)i, &msg, &fix, NULL,
			                0);
		} else if (w->until != DETOUR_TIME_NONE_UNTIL &&
		           (w->until <= (int64_t)L->now ||
		            (recurring && !opens(w, (int64_t)L->now, w->until)))) {
			civil_format_rfc3339(w->until, a);
			civil_format_rfc3339((int64_t)L->now, b);
			if (w->until <= (int64_t)L->now)
				detour_lint_sb_fmt(
				        &msg,
				        "the time window ended at %s (now %s): this rule never "
				        "applies again",
				        a, b);
			else
				detour_lint_sb_fmt(
				        &msg,
				        "the time window has no opening left before until=%s (now "
				        "%s): "
				        "this rule never applies again",
				        a, b);
			bbuf_puts(&fix, "remove the rule, or move until= to the future");
			L->dead[i] = 1;
			detour_lint_add(L, DETOUR_LINT_WINDOW_ENDED, (uint32_t)i, &msg, &fix, NULL,
			                0);
		}
	}
}

/* L->gfirst[i]: the first live weighted rule with rule i's source + 1, for
 * every live weighted rule i (the group's lead; the table answers a group at
 * its first member's place). */
void detour_lint_group_index(struct lint *L)
{
	uint32_t *lead = calloc(L->n + 1, sizeof(*lead)); /* by first same-source rule */

	if (lead == NULL) {
		L->nomem = true;
		return;
	}
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (detour_lint_weight_of(L->rs, r) == 0 || L->dead[i])
			continue;
		uint32_t key = L->same[i] ? L->same[i] - 1 : (uint32_t)i;
		if (lead[key] == 0)
			lead[key] = (uint32_t)i + 1;
		L->gfirst[i] = lead[key];
	}
	free(lead);
}

/* Weighted groups: their weights. When one weight is 10 or
 * more, the weights read as percentages and must total 100; otherwise they
 * are ratios (3 and 1: 75% and 25%). A group of one is no split. */
void detour_lint_check_groups(struct lint *L)
{
	uint64_t *sum = calloc(L->n + 1, sizeof(*sum));
	uint32_t *cnt = calloc(L->n + 1, sizeof(*cnt)), *mx = calloc(L->n + 1, sizeof(*mx));

	if (!sum || !cnt || !mx) {
		L->nomem = true;
		goto out;
	}
	detour_lint_group_index(L);
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		uint32_t wt = detour_lint_weight_of(L->rs, r);
		if (wt == 0 || L->gfirst[i] == 0)
			continue;
		uint32_t g = L->gfirst[i] - 1;
		sum[g] += wt;
		cnt[g]++;
		if (wt > mx[g])
			mx[g] = wt;
	}
	for (size_t g = 0; g < L->n && !L->nomem; g++) {
		if (cnt[g] == 0 || L->gfirst[g] != g + 1)
			continue;
		const struct detour_rule *r = detour_ruleset_get(L->rs, g);
		struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
		char src[256];
		if (cnt[g] == 1) {
			detour_lint_sb_fmt(
			        &msg,
			        "a weighted group of one: no other line has the source %s and a "
			        "weight=, so weight=%u splits nothing (and makes the answer "
			        "private, "
			        "no-store)",
			        detour_lint_source_text(L->rs, r, src, sizeof(src)),
			        (unsigned)mx[g]);
			bbuf_puts(&fix,
			          "add the other variants with the same source, or remove weight=");
			detour_lint_add(L, DETOUR_LINT_WEIGHTS, (uint32_t)g, &msg, &fix, NULL, 0);
		} else if (mx[g] >= 10 && sum[g] != 100) {
			uint32_t *rel = malloc(cnt[g] * sizeof(*rel));
			size_t nr = 0;
			if (rel == NULL) {
				L->nomem = true;
				break;
			}
			detour_lint_sb_fmt(&msg,
			                   "the weights of this group add up to %llu, not 100: ",
			                   (unsigned long long)sum[g]);
			for (size_t i = g; i < L->n; i++) {
				if (L->gfirst[i] != g + 1)
					continue;
				const struct detour_rule *m = detour_ruleset_get(L->rs, i);
				uint32_t wt = detour_lint_weight_of(L->rs, m);
				if (i != g)
					bbuf_puts(&msg, ", ");
				detour_lint_sb_fmt(&msg, "%s gets %u/%llu (%.1f%%)",
				                   m->target_len ? detour_rule_target(L->rs, m)
				                                 : "-",
				                   (unsigned)wt, (unsigned long long)sum[g],
				                   100.0 * wt / (double)sum[g]);
				if (i != g)
					rel[nr++] = (uint32_t)i; /* the other members */
			}
			bbuf_puts(&fix,
			          "make the weights total 100, or use small ratios (3 and 1)");
			detour_lint_add(L, DETOUR_LINT_WEIGHTS, (uint32_t)g, &msg, &fix, rel, nr);
			free(rel);
		}
	}
out:
	free(sum);
	free(cnt);
	free(mx);
}

/* The methods rule r is limited to: a mask of (1 << enum detour_method), or 0
 * when it has no method= condition. */
static unsigned method_mask(const struct detour_rule_ext *x)
{
	unsigned m = ~0u;
	bool any = false;

	for (unsigned i = 0; x && i < x->nconds; i++) {
		if (x->conds[i].kind != DETOUR_COND_METHOD)
			continue;
		any = true;
		m &= x->conds[i].negate ? ~(unsigned)x->conds[i].methods : x->conds[i].methods;
	}
	return any ? m : 0;
}

void detour_lint_check_choices(struct lint *L)
{
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		const struct detour_rule_ext *x = detour_lint_ext_of(L->rs, r);
		if (L->dead[i])
			continue;
		if ((r->status == 301 || r->status == 308) &&
		    detour_rule_cache(L->rs, r) == DETOUR_CACHE_UNSET) {
			struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
			detour_lint_sb_fmt(&msg,
			                   "%u without cache=: browsers keep a permanent redirect "
			                   "with no time "
			                   "limit, and it cannot be taken back",
			                   (unsigned)r->status);
			detour_lint_sb_fmt(
			        &fix, "add cache=1d (or another lifetime), or use %u while testing",
			        r->status == 301 ? 302u : 307u);
			detour_lint_add(L, DETOUR_LINT_PERM_NO_CACHE, (uint32_t)i, &msg, &fix, NULL,
			                0);
		}
		unsigned mm = method_mask(x);
		unsigned unsafe = mm & (1u << DETOUR_M_POST | 1u << DETOUR_M_PUT);
		if ((r->status == 301 || r->status == 302) && unsafe) {
			/* RFC 9110 §15.4.2 (301) and §15.4.3 (302): "For historical
			 * reasons, a user agent MAY change the request method from
			 * POST to GET for the subsequent request." 307 and 308
			 * (§15.4.8, §15.4.9) forbid that change. */
			struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
			unsigned to = r->status == 301 ? 308u : 307u;
			detour_lint_sb_fmt(
			        &msg,
			        "%u on a rule for %s%s%s: clients may follow it with a GET and "
			        "lose "
			        "the request body (RFC 9110 %s)",
			        (unsigned)r->status, (unsafe & 1u << DETOUR_M_POST) ? "POST" : "",
			        unsafe == (1u << DETOUR_M_POST | 1u << DETOUR_M_PUT) ? "/" : "",
			        (unsafe & 1u << DETOUR_M_PUT) ? "PUT" : "",
			        r->status == 301 ? "§15.4.2" : "§15.4.3");
			detour_lint_sb_fmt(&fix, "use %u, which keeps the method and the body", to);
			detour_lint_add(L, DETOUR_LINT_METHOD_CHANGE, (uint32_t)i, &msg, &fix, NULL,
			                0);
		}
		if (x && (x->flags & DETOUR_EXT_CAPTURE_AUTHORITY) && r->target_len &&
		    detour_rule_target(L->rs, r)[0] != 'h' &&
		    detour_rule_target(L->rs, r)[0] != 'H') {
			/* The engine lets this rule load (allow-hosts= is given) and
			 * checks every Location's host, but the scheme comes from the
			 * request too: an allowed host over plain http. */
			struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
			detour_lint_sb_fmt(
			        &msg,
			        "the target starts with a capture: a request chooses the whole "
			        "Location, its scheme too (http:// to an allowed host, no TLS); "
			        "only "
			        "allow-hosts= (%u host%s) limits where visitors go",
			        (unsigned)x->nallow, x->nallow == 1 ? "" : "s");
			bbuf_puts(&fix,
			          "write the scheme in the target (https://$1...) and capture only "
			          "what follows it");
			detour_lint_add(L, DETOUR_LINT_OPEN_REDIRECT, (uint32_t)i, &msg, &fix, NULL,
			                0);
		}
	}
}

/* ------------------------------------------------------------- regex cost */

/* The table indexes a regex by its literal prefix cut after the last '/'
 * (regex.c detour_re_prefix): "^/blog/(.*)$" is tried only for paths under
 * /blog/. A regex without one ("\\.php$", "^/(a|b)/") is tried on every
 * request of its host (its prefix is "" or "/", and every path starts with
 * '/') until an earlier rule has matched: every unmatched request runs all
 * of them. Measured with PCRE2's JIT (docs/lint.md): 30-80 ns a regex on a
 * 45-byte path, where the rest of the lookup costs 10-35 ns. */
#define REGEX_COST_MIN 8 /* from here on the regexes cost more than the rest */

static const char *cost_class(size_t n)
{
	return n >= 128 ? "severe" : n >= 32 ? "high" : "moderate";
}

/* Whether rule i is a live regex tried on every request of its host. */
static bool every_request(const struct lint *L, size_t i)
{
	const struct detour_rule *r = detour_ruleset_get(L->rs, i);
	const struct detour_rule_ext *x;

	/* Regex sources, and case=insensitive rules (compiled to a caseless
	 * regex and indexed like one, with a host). */
	if (L->dead[i] || !(r->flags & DETOUR_RULE_EXT))
		return false;
	x = detour_lint_ext_of(L->rs, r);
	/* Those in the vectorscan database cost one scan for all of them. */
	return x && x->re && x->prefix_len <= 1 &&
	       !detour_table_regex_scanned(L->t, (uint32_t)i, NULL);
}

static int host_cmp(const void *a, const void *b, void *arg)
{
	const struct lint *L = arg;
	const struct detour_rule *x = detour_ruleset_get(L->rs, *(const uint32_t *)a);
	const struct detour_rule *y = detour_ruleset_get(L->rs, *(const uint32_t *)b);
	size_t xl, yl;
	const char *xh = detour_ruleset_host(L->rs, x, &xl),
	           *yh = detour_ruleset_host(L->rs, y, &yl);
	size_t n = xl < yl ? xl : yl;
	int c = memcmp(xh, yh, n);

	if (c == 0)
		c = (xl > yl) - (xl < yl);
	if (c == 0)
		c = (*(const uint32_t *)a > *(const uint32_t *)b) -
		    (*(const uint32_t *)a < *(const uint32_t *)b);
	return c;
}

/* One finding for the regexes every request to host (NULL: any host) runs:
 * those for every host, all[0..nall), then the host's own, own[0..nown). */
static void report_cost(struct lint *L, const struct detour_rule *hostr, const uint32_t *all,
                        size_t nall, const uint32_t *own, size_t nown)
{
	size_t n = nall + nown, unanchored = 0, hrl = 0;
	const char *hrs = hostr ? detour_ruleset_host(L->rs, hostr, &hrl) : "";
	uint32_t *rel = malloc(n * sizeof(*rel));
	struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;

	if (rel == NULL) {
		L->nomem = true;
		return;
	}
	/* In file order: the first one carries the finding. */
	size_t a = 0, b = 0, k = 0;
	while (a < nall || b < nown)
		rel[k++] = b == nown || (a < nall && all[a] < own[b]) ? all[a++] : own[b++];
	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, rel[i]);
		if (r->kind == DETOUR_SRC_REGEX &&
		    (r->path_len == 0 || detour_rule_path(L->rs, r)[0] != '^'))
			unanchored++;
	}
	detour_lint_sb_fmt(&msg,
	                   "every request%s%.*s that no earlier rule answers runs %zu regexes "
	                   "(%zu unanchored): none has a literal prefix to index it by; cost "
	                   "class %s",
	                   hostr ? " for " : "", (int)hrl, hrs, n, unanchored, cost_class(n));
	bbuf_puts(&fix, "start each pattern with ^ and a literal path ending in '/' "
	                "(~^/blog/(.*)$), or use splat (/blog/*) and placeholder (/p/:id) "
	                "sources, which are looked up by hash");
	detour_lint_add(L, DETOUR_LINT_REGEX_COST, rel[0], &msg, &fix, rel + 1, n - 1);
	free(rel);
}

void detour_lint_check_regex_cost(struct lint *L)
{
	uint32_t *v = malloc((L->n ? L->n : 1) * sizeof(*v));
	size_t nv = 0, nall = 0;

	if (v == NULL) {
		L->nomem = true;
		return;
	}
	for (size_t i = 0; i < L->n; i++)
		if (every_request(L, i))
			v[nv++] = (uint32_t)i;
	/* Grouped by host: those for every host (host "") come first. */
	qsort_r(v, nv, sizeof(*v), host_cmp, L);
	while (nall < nv && detour_ruleset_host_id(L->rs, detour_ruleset_get(L->rs, v[nall])) == 0)
		nall++;
	bool any_host = false;
	for (size_t i = nall; i < nv && !L->nomem;) {
		const struct detour_rule *h = detour_ruleset_get(L->rs, v[i]);
		size_t j = i;
		while (j < nv && detour_ruleset_host_id(L->rs, detour_ruleset_get(L->rs, v[j])) ==
		                         detour_ruleset_host_id(L->rs, h))
			j++;
		if (nall + (j - i) >= REGEX_COST_MIN && j - i > 0) {
			report_cost(L, h, v, nall, v + i, j - i);
			any_host = true;
		}
		i = j;
	}
	/* Requests for any other host run the host-less ones alone. */
	if (!L->nomem && nall >= REGEX_COST_MIN && !any_host)
		report_cost(L, NULL, v, nall, NULL, 0);
	free(v);
}

/* ------------------------------------------------------------ regex-pcre2 */

void detour_lint_check_regex_pcre2(struct lint *L)
{
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const char *why = NULL;
		if (detour_table_regex_scanned(L->t, (uint32_t)i, &why) || why == NULL)
			continue;
		struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
		size_t wl = strlen(why);
		while (wl > 0 && why[wl - 1] == '.')
			wl--;
		detour_lint_sb_fmt(&msg,
		                   "vectorscan cannot compile this regex (%.*s): it stays on PCRE2 "
		                   "and is tried on its own, in file order, where the other "
		                   "regexes of its prefix cost one scan together",
		                   (int)wl, why);
		bbuf_puts(&fix, "rewrite it without that construct (\\K, \\G, recursion, "
		                "subroutine calls), or give it a literal prefix of its own "
		                "(~^/blog/...)");
		detour_lint_add(L, DETOUR_LINT_REGEX_PCRE2, (uint32_t)i, &msg, &fix, NULL, 0);
	}
}
