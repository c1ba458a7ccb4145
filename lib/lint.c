/* detour: static analysis of a rule table (see lint.h and docs/lint.md).
 *
 * Three passes over the rules, in file order:
 *   1. sources: same-source duplicates and conflicts (a hash of the source),
 *      then shadowing (an earlier rule takes every request this one would);
 *   2. choices: status and cache lifetime;
 *   3. walks: every live rule's source is turned into a request (placeholders
 *      filled with sentinel values "~name~"), matched with the table the
 *      server uses, its Location built with the server's own code, and the
 *      Location followed as a client would, until no rule matches, the walk
 *      leaves the hosts the table serves, or a (host, scheme, path) state
 *      comes back (a loop). The sentinels are put back as ":name" in
 *      messages and in the flattened rule that --fix writes.
 * This file is the entry: it runs the passes (lint_shadow.c, lint_risk.c,
 * lint_chain.c over lint_walk.c), which share the leaf lint_rules.c; none of
 * them calls back up. Nothing here prints; every finding is returned to the
 * caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detour/lint.h"
#include "lint_chain.h"
#include "lint_risk.h"
#include "lint_rules_int.h"
#include "lint_shadow.h"
#include "lint_walk.h"

/* ------------------------------------------------------------------ entry */

static int fcmp(const void *a, const void *b)
{
	const struct detour_lint_finding *x = a, *y = b;

	if (x->rule != y->rule) {
		/* file order is rule order: files are loaded one after another */
		return x->rule < y->rule ? -1 : 1;
	}
	return (int)x->code - (int)y->code;
}

detour_err detour_lint(const struct detour_table *t, const struct detour_lint_opts *opts,
                       struct detour_lint_result *out)
{
	struct lint L = {0};
	detour_err err = DETOUR_OK;

	memset(out, 0, sizeof(*out));
	L.t = t;
	L.rs = detour_table_rules(t);
	L.n = detour_ruleset_count(L.rs);
	L.out = out;
	L.max_hops = opts && opts->max_hops ? opts->max_hops : DETOUR_LINT_MAX_HOPS;
	L.now = opts && opts->now ? opts->now : time(NULL);
	L.dead = calloc(L.n + 1, 1);
	L.same = calloc(L.n + 1, sizeof(*L.same));
	L.gfirst = calloc(L.n + 1, sizeof(*L.gfirst));
	L.st = calloc(L.max_hops + 1, sizeof(*L.st));
	L.hop = calloc(L.max_hops + 1, sizeof(*L.hop));
	L.may = calloc(L.max_hops + 1, sizeof(*L.may));
	if (!L.dead || !L.same || !L.gfirst || !L.st || !L.hop || !L.may)
		goto nomem;
	for (unsigned k = 0; k <= L.max_hops; k++) {
		L.st[k].path = malloc(PATH_CAP);
		L.st[k].query = malloc(LOC_CAP);
		L.st[k].loc = malloc(LOC_CAP);
		if (!L.st[k].path || !L.st[k].query || !L.st[k].loc)
			goto nomem;
	}
	if (detour_lint_collect_hosts(&L) || detour_lint_find_same_sources(&L))
		goto nomem;
	detour_lint_check_windows(&L);
	if (!L.nomem)
		detour_lint_check_duplicates(&L);
	if (!L.nomem && detour_lint_index_rules(&L, true))
		goto nomem;
	if (!L.nomem)
		detour_lint_check_shadowed(&L);
	if (!L.nomem)
		detour_lint_check_groups(&L);
	if (!L.nomem)
		detour_lint_check_choices(&L);
	if (!L.nomem)
		detour_lint_check_regex_cost(&L);
	if (!L.nomem)
		detour_lint_check_regex_pcre2(&L);
	if (!L.nomem && detour_lint_index_rules(&L, false))
		goto nomem;
	if (!L.nomem)
		detour_lint_check_walks(&L);
	if (L.nomem)
		goto nomem;
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), fcmp);
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].severity == DETOUR_LINT_ERROR)
			out->errors++;
		else if (out->v[i].severity == DETOUR_LINT_WARNING)
			out->warnings++;
		else
			out->notes++;
	}
	goto done;
nomem:
	err = DETOUR_ENOMEM;
done:
	if (L.st)
		for (unsigned k = 0; k <= L.max_hops; k++) {
			free(L.st[k].path);
			free(L.st[k].query);
			free(L.st[k].loc);
		}
	free(L.st);
	free(L.hop);
	free(L.may);
	free(L.dead);
	free(L.same);
	free(L.gfirst);
	free(L.splats);
	free(L.conds);
	free(L.hosts);
	free(L.loops);
	return err;
}

void detour_lint_result_fini(struct detour_lint_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].message);
		free(r->v[i].fix);
		free(r->v[i].edit);
		free(r->v[i].related);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int64_t detour_lint_next_rule(const struct detour_table *t, const struct detour_rule *r)
{
	return detour_lint_next_rule_at(t, r, 0, NULL);
}

int64_t detour_lint_next_rule_at(const struct detour_table *t, const struct detour_rule *r,
                                 time_t now, bool *may)
{
	struct lint L = {0};
	struct state st[2];
	char host[HOST_BUF];
	struct walk w;
	int64_t ret = -1;
	bool mayv[2] = {false, false};

	if (may)
		*may = false;
	if (r->target_len == 0)
		return -1;
	L.t = t;
	L.rs = detour_table_rules(t);
	L.n = detour_ruleset_count(L.rs);
	L.max_hops = 1;
	L.now = now ? now : time(NULL);
	uint32_t hop[2];
	memset(st, 0, sizeof(st));
	L.st = st;
	L.hop = hop;
	L.may = mayv;
	for (int k = 0; k < 2; k++) {
		st[k].path = malloc(PATH_CAP);
		st[k].query = malloc(LOC_CAP);
		st[k].loc = malloc(LOC_CAP);
	}
	L.dead = calloc(L.n + 1, 1);
	L.same = calloc(L.n + 1, sizeof(*L.same));
	L.gfirst = calloc(L.n + 1, sizeof(*L.gfirst));
	if (!st[0].path || !st[0].query || !st[0].loc || !st[1].path || !st[1].query ||
	    !st[1].loc || !L.dead || !L.same || !L.gfirst || detour_lint_collect_hosts(&L) ||
	    detour_lint_find_same_sources(&L))
		goto out;
	detour_lint_group_index(&L);
	if (detour_lint_index_rules(&L, false))
		goto out;
	size_t hl = detour_lint_example_host(L.rs, r, host);
	detour_lint_walk(&L, r, host, hl, r->scheme == DETOUR_SCHEME_HTTPS, &w);
	if (w.end != W_NOT_R && w.end != W_LEAVES && w.nhops >= 1) {
		/* the first Location: which rule answers it (a 410 too) */
		struct detour_match m;
		bool group;
		struct detour_match_req q = detour_lint_req_of(&L, &st[1]);
		if (detour_lint_resolve(&L, &q, &m, &mayv[1], &group)) {
			ret = m.index;
			if (may)
				*may = mayv[1];
		}
	}
out:
	for (int k = 0; k < 2; k++) {
		free(st[k].path);
		free(st[k].query);
		free(st[k].loc);
	}
	free(L.dead);
	free(L.same);
	free(L.gfirst);
	free(L.conds);
	free(L.hosts);
	return ret;
}
