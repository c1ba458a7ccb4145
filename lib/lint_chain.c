/* detour lint, pass 3 (see lint.c): what the walks found. Loops, chains
 * and the flattened rule that --fix writes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/rulefile.h"
#include "hash.h"

#include "base/grow.h"
#include "lint_chain.h"
#include "lint_rules_int.h"
#include "lint_walk.h"

static void sb_example_note(const struct lint *L, struct bbuf *b)
{
	if (L->nnames == 0)
		return;
	bbuf_puts(b, " (followed with an example value for ");
	for (unsigned k = 0; k < L->nnames; k++) {
		if (k)
			bbuf_puts(b, k + 1 == L->nnames ? " and " : ", ");
		bbuf_put(b, ":", 1);
		bbuf_put(b, L->names[k].p, L->names[k].len);
	}
	bbuf_puts(b, ")");
}

static bool loop_seen(struct lint *L, uint64_t key)
{
	for (size_t i = 0; i < L->nloops; i++)
		if (L->loops[i] == key)
			return true;
	if (BASE_GROW(L->loops, L->loops_cap, L->nloops + 1) != 0) {
		L->nomem = true;
		return true;
	}
	L->loops[L->nloops++] = key;
	return false;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A key for a set of rules (sorted copy in tmp). */
static uint64_t set_key(const uint32_t *v, size_t n, uint32_t *tmp)
{
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), u32_cmp);
	uint64_t h = DETOUR_FNV_INIT;
	uint32_t last = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		if (tmp[i] == last)
			continue;
		last = tmp[i];
		h = detour_fnv(h, (const char *)&tmp[i], sizeof(tmp[i]));
	}
	return detour_mix(h, 0x6c6f6f70);
}

static void sb_rule_list(const struct lint *L, struct bbuf *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			bbuf_puts(b, ", ");
		detour_lint_rule_ref(L, v[i], b);
	}
}

/* "on https://example.com: " when the walk ran on a host the rule does not
 * name itself (a host-less rule followed on one of the table's hosts). */
static void sb_context(const struct lint *L, struct bbuf *b, const struct detour_rule *r)
{
	if (detour_ruleset_host_id(L->rs, r) == 0 && L->st[0].hl) {
		bbuf_puts(b, "on ");
		detour_lint_sb_host(b, &L->st[0]);
		bbuf_puts(b, ": ");
	}
}

/* "; only some requests: file:line applies when method=POST" for every hop
 * from hop first on whose rule applies to some requests only. */
static void sb_may_note(const struct lint *L, struct bbuf *b, const struct walk *w, unsigned first)
{
	bool any = false;

	for (unsigned k = first; k < w->nhops; k++) {
		bool dup = false;
		if (!L->may[k])
			continue;
		for (unsigned j = first; j < k; j++)
			dup |= L->may[j] && L->hop[j] == L->hop[k];
		if (dup)
			continue;
		const struct detour_rule *h = detour_ruleset_get(L->rs, L->hop[k]);
		bbuf_puts(b, any ? ", " : "; only for some requests: ");
		detour_lint_rule_ref(L, L->hop[k], b);
		bbuf_puts(b, " applies when ");
		struct bbuf c = LINT_TEXT;
		detour_lint_sb_cond_text(&c, L->rs, h);
		bbuf_puts(b, bbuf_cstr(&c));
		bbuf_free(&c);
		any = true;
	}
}

/* Reports the loop of walk w from rule r. */
static void report_loop(struct lint *L, const struct detour_rule *r, const struct walk *w)
{
	uint32_t *tmp = malloc((w->nhops + 1) * sizeof(*tmp));
	uint32_t *cyc = malloc((w->nhops + 1) * sizeof(*cyc));
	size_t nc = 0;
	unsigned first = 0;
	bool in_cycle = false;

	if (!tmp || !cyc) {
		L->nomem = true;
		goto out;
	}
	if (w->end == W_LOOP) {
		for (unsigned k = w->loop_at; k < w->nhops; k++)
			cyc[nc++] = L->hop[k];
	} else {
		/* never ends: the rules that come back */
		for (unsigned k = 0; k < w->nhops; k++)
			for (unsigned j = 0; j < k; j++)
				if (L->hop[j] == L->hop[k]) {
					bool have = false;
					for (size_t c = 0; c < nc; c++)
						have |= cyc[c] == L->hop[k];
					if (!have)
						cyc[nc++] = L->hop[k];
					break;
				}
	}
	uint32_t mi = UINT32_MAX;
	for (size_t c = 0; c < nc; c++) {
		in_cycle |= cyc[c] == detour_rule_index(L->rs, r);
		if (cyc[c] < mi) {
			mi = cyc[c];
			first = (unsigned)c;
		}
	}
	if (nc == 0) {
		/* max_hops distinct rules in a row: a very long chain */
		struct bbuf msg = LINT_TEXT;
		sb_context(L, &msg, r);
		detour_lint_sb_fmt(&msg, "more than %u redirects in a row: ", L->max_hops);
		for (unsigned k = 0; k <= SHOW_STATES && k <= w->nhops; k++) {
			detour_lint_sb_state(L, &msg, k, (int)k - 1);
			bbuf_puts(&msg, " -> ");
		}
		bbuf_puts(&msg, "...");
		sb_example_note(L, &msg);
		detour_lint_add(L, DETOUR_LINT_CHAIN, detour_rule_index(L->rs, r), &msg, NULL,
		                L->hop, w->nhops);
		goto out;
	}
	bool may = false;
	for (unsigned k = 0; k < w->nhops; k++)
		may |= L->may[k];
	uint64_t key = set_key(cyc, nc, tmp);
	if (!loop_seen(L, key)) {
		struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
		enum detour_lint_code code = DETOUR_LINT_LOOP;
		/* rotate so that the cycle starts at its first rule in file order */
		for (size_t c = 0; c < nc; c++)
			tmp[c] = cyc[(first + c) % nc];
		sb_context(L, &msg, r);
		if (w->end == W_LOOP) {
			unsigned len = w->nhops - w->loop_at;
			unsigned s0 = w->loop_at + first;
			if (len == 1) {
				code = DETOUR_LINT_SELF;
				bbuf_puts(&msg, "redirects to itself: ");
			} else {
				bbuf_puts(&msg, "redirect loop: ");
			}
			int prev = -1;
			for (unsigned c = 0; c <= len; c++) {
				unsigned k = w->loop_at + (s0 - w->loop_at + c) % len;
				if (c)
					bbuf_puts(&msg, " -> ");
				/* the last state is the one the loop arrives at (with the
				 * query of its Location) */
				detour_lint_sb_state(
				        L, &msg, c == len && s0 == w->loop_at ? w->nhops : k, prev);
				prev = (int)k;
			}
			if (code == DETOUR_LINT_LOOP) {
				bbuf_puts(&msg, " (");
				sb_rule_list(L, &msg, tmp, nc);
				bbuf_puts(&msg, ")");
			}
			bbuf_puts(&fix,
			          code == DETOUR_LINT_SELF
			                  ? "point the target somewhere else, or remove the rule"
			                  : "point one of these rules at the final page");
		} else {
			bbuf_puts(&msg, "redirects never end: ");
			for (unsigned k = 0; k <= SHOW_STATES && k <= w->nhops; k++) {
				detour_lint_sb_state(L, &msg, k, (int)k - 1);
				bbuf_puts(&msg, " -> ");
			}
			detour_lint_sb_fmt(&msg, "... (more than %u redirects, through ",
			                   L->max_hops);
			sb_rule_list(L, &msg, tmp, nc);
			bbuf_puts(&msg, ")");
			bbuf_puts(&fix,
			          "make the target of these rules leave what their source matches");
		}
		sb_may_note(L, &msg, w, 0);
		sb_example_note(L, &msg);
		detour_lint_add(L, may ? DETOUR_LINT_MAY_LOOP : code, mi, &msg, &fix, tmp, nc);
	}
	if (!in_cycle) {
		struct bbuf msg = LINT_TEXT;
		sb_context(L, &msg, r);
		bbuf_puts(&msg, "leads into the redirect loop of ");
		detour_lint_rule_ref(L, mi, &msg);
		bbuf_puts(&msg, ": ");
		unsigned last = w->end == W_LOOP
		                        ? w->nhops
		                        : (w->nhops < SHOW_STATES ? w->nhops : SHOW_STATES);
		for (unsigned k = 0; k <= last; k++) {
			if (k)
				bbuf_puts(&msg, " -> ");
			detour_lint_sb_state(L, &msg, k, (int)k - 1);
		}
		if (w->end != W_LOOP)
			bbuf_puts(&msg, " -> ...");
		sb_may_note(L, &msg, w, 0);
		sb_example_note(L, &msg);
		detour_lint_add(L, may ? DETOUR_LINT_MAY_LOOP : DETOUR_LINT_LOOP,
		                detour_rule_index(L->rs, r), &msg, NULL, &mi, 1);
	}
out:
	free(tmp);
	free(cyc);
}

/* The target a rule should have to go straight to the end of walk w: the
 * last Location, made absolute when the walk changed host or scheme. */
static void sb_final_target(const struct lint *L, struct bbuf *b, const struct walk *w)
{
	const struct state *f = &L->st[w->nhops], *s0 = &L->st[0];

	if (!f->loc_abs &&
	    (f->hl != s0->hl || f->https != s0->https || memcmp(f->host, s0->host, f->hl))) {
		bbuf_puts(b, f->https ? "https://" : "http://");
		bbuf_put(b, f->host, f->hl);
	}
	detour_lint_sb_unsentinel(L, b, f->loc, f->ll);
}

/* Whether line text loads as one rule. */
static bool loads(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	bool ok;

	if (rs == NULL)
		return false;
	ok = detour_ruleset_add_line(rs, "fix", 1, text, strlen(text), &d) == DETOUR_OK;
	detour_ruleset_free(rs);
	return ok;
}

/* The options of r that a flattened copy keeps: query= and cache=. */
static void sb_options(const struct detour_ruleset *rs, struct bbuf *b, const struct detour_rule *r)
{
	static const struct {
		int32_t secs;
		char unit;
	} units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};

	if (r->query == DETOUR_QUERY_DROP)
		bbuf_puts(b, " query=drop");
	else if (r->query == DETOUR_QUERY_MERGE)
		bbuf_puts(b, " query=merge");
	if (detour_rule_cache(rs, r) == DETOUR_CACHE_NO_STORE) {
		bbuf_puts(b, " cache=no-store");
	} else if (detour_rule_cache(rs, r) > 0) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (detour_rule_cache(rs, r) % units[i].secs == 0) {
				detour_lint_sb_fmt(b, " cache=%d%c",
				                   (int)(detour_rule_cache(rs, r) / units[i].secs),
				                   units[i].unit);
				return;
			}
		}
		detour_lint_sb_fmt(b, " cache=%ds", (int)detour_rule_cache(rs, r));
	}
}

/* Builds the chain finding of walk w from rule r (the caller adds it). */
static void report_chain(struct lint *L, const struct detour_rule *r, const struct walk *w)
{
	struct bbuf msg = LINT_TEXT, fix = LINT_TEXT, target = LINT_TEXT, line = LINT_TEXT;
	char src[1024];
	bool ctx = detour_ruleset_host_id(L->rs, r) == 0 && L->st[0].hl;
	enum detour_lint_code code =
	        w->nhops == 2 ? DETOUR_LINT_TARGET_REDIRECTS : DETOUR_LINT_CHAIN;

	sb_final_target(L, &target, w);
	if (ctx) {
		/* only on that host: a rule for it goes before this one */
		const struct state *s0 = &L->st[0];
		size_t pl = sizeof(PROBE) - 1;
		bool wild = s0->hl > pl && !memcmp(s0->host, PROBE, pl) && s0->host[pl] == '.';
		bbuf_puts(&line, L->scheme_rules ? (s0->https ? "https://" : "http://") : "//");
		if (wild) {
			bbuf_put(&line, "*", 1);
			bbuf_put(&line, s0->host + pl, s0->hl - pl);
		} else {
			bbuf_put(&line, s0->host, s0->hl);
		}
		bbuf_puts(&line, detour_lint_source_text(L->rs, r, src, sizeof(src)));
	} else {
		bbuf_puts(&line, detour_lint_source_text(L->rs, r, src, sizeof(src)));
	}
	bbuf_puts(&line, " ");
	bbuf_puts(&line, bbuf_cstr(&target));
	detour_lint_sb_fmt(&line, " %u", (unsigned)r->status);
	sb_options(L->rs, &line, r);
	/* the flattened rule keeps r's conditions and window (a weighted member
	 * or an allow-hosts rule is not flattened: see keep below) */
	struct bbuf conds = LINT_TEXT;
	detour_lint_sb_cond_text(&conds, L->rs, r);
	if (conds.len) {
		bbuf_puts(&line, " ");
		bbuf_puts(&line, bbuf_cstr(&conds));
	}
	bbuf_free(&conds);

	sb_context(L, &msg, r);
	bool may = w->nmay > 0;
	if (code == DETOUR_LINT_TARGET_REDIRECTS) {
		bbuf_puts(&msg, "target ");
		detour_lint_sb_state(L, &msg, 1, 0);
		bbuf_puts(&msg, may ? " may be redirected again by " : " is redirected again by ");
		detour_lint_rule_ref(L, L->hop[1], &msg);
		bbuf_puts(&msg, " to ");
		detour_lint_sb_unsentinel(L, &msg, L->st[2].loc, L->st[2].ll);
	} else {
		for (unsigned k = 0; k <= w->nhops; k++) {
			if (k)
				bbuf_puts(&msg, " -> ");
			if (k == w->nhops && w->end == W_LEAVES)
				detour_lint_sb_unsentinel(L, &msg, L->st[k].loc, L->st[k].ll);
			else
				detour_lint_sb_state(L, &msg, k, (int)k - 1);
		}
		detour_lint_sb_fmt(&msg, ": %u redirects (", w->nhops);
		sb_rule_list(L, &msg, L->hop, w->nhops);
		bbuf_puts(&msg, ")");
	}
	/* no single rule replaces the walk */
	bool keep = w->via_group || may || detour_lint_weight_of(L->rs, r) ||
	            (detour_lint_conditional(L->rs, r) && !detour_lint_walk_conditional(L->rs, r));
	if (may)
		sb_may_note(L, &msg, w, 1);
	if (w->via_group) {
		bbuf_puts(&msg, "; a weighted group on the way, first variant followed");
	} else if (!may) {
		bbuf_puts(&msg, ctx ? "; add before it: " : "; replace with: ");
		bbuf_puts(&msg, bbuf_cstr(&line));
	}
	sb_example_note(L, &msg);
	if (!keep)
		bbuf_puts(&fix, bbuf_cstr(&line));
	struct detour_lint_finding *f =
	        detour_lint_add(L, code, detour_rule_index(L->rs, r), &msg, keep ? NULL : &fix,
	                        L->hop + 1, w->nhops - 1);
	if (f && !keep && line.len && loads(bbuf_cstr(&line))) {
		f->edit_kind = ctx ? DETOUR_LINT_EDIT_INSERT : DETOUR_LINT_EDIT_TARGET;
		f->edit = strdup(ctx ? bbuf_cstr(&line) : bbuf_cstr(&target));
		if (f->edit == NULL)
			L->nomem = true;
	}
	bbuf_free(&target);
	bbuf_free(&line);
}

static bool loopish(const struct walk *w)
{
	return w->end == W_LOOP || w->end == W_LONG;
}

void detour_lint_check_walks(struct lint *L)
{
	struct walk w;
	char host[HOST_BUF];

	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (L->dead[i] || r->kind == DETOUR_SRC_REGEX || r->target_len == 0)
			continue;
		detour_lint_set_names(L, r);
		size_t hl = detour_lint_example_host(L->rs, r, host);
		bool any = r->scheme == DETOUR_SCHEME_ANY;
		bool https0 = r->scheme == DETOUR_SCHEME_HTTPS;
		/* contexts: (the rule's host, each scheme it serves), then for a
		 * host-less rule each host the table names */
		size_t nctx = 1 + (detour_ruleset_host_id(L->rs, r) == 0
		                           ? (L->nhosts < MAX_CONTEXT ? L->nhosts : MAX_CONTEXT)
		                           : 0);
		unsigned nsch = any && L->scheme_rules ? 2 : 1;
		bool chain_done = false;
		for (size_t c = 0; c < nctx && !L->nomem; c++) {
			bool stop = false;
			for (unsigned sc = 0; sc < nsch; sc++) {
				bool https = nsch == 2 ? sc == 1 : https0;
				if (c == 0) {
					detour_lint_walk(L, r, host, hl, https, &w);
				} else {
					const struct hostref *h = &L->hosts[c - 1];
					char hb[HOST_BUF];
					size_t n = 0;
					if (h->wild) {
						memcpy(hb, PROBE, sizeof(PROBE) - 1);
						n = sizeof(PROBE) - 1;
					}
					if (n + h->len >= HOST_BUF)
						continue;
					memcpy(hb + n, h->name, h->len);
					detour_lint_walk(L, r, hb, n + h->len, https, &w);
				}
				if (w.end == W_NOT_R)
					continue;
				if (loopish(&w)) {
					report_loop(L, r, &w);
					stop = true;
					break;
				}
				if (w.nhops >= 2 && !chain_done) {
					report_chain(L, r, &w);
					chain_done = true;
				}
			}
			if (stop)
				break;
		}
	}
}
