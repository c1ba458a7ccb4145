/* detour lint, pass 1 (see lint.c): rules that never answer. Same-source
 * duplicates and conflicts (a hash of the source), then shadowing (an earlier
 * rule takes every request this one would); the example request of a rule. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#include "detour/table_match.h"
#include "lint_rules_int.h"
#include "lint_shadow.h"

/* ---------------------------------------------------------------- sources */

static bool same_source(const struct detour_ruleset *rs, const struct detour_rule *a,
                        const struct detour_rule *b)
{
	return detour_lint_case_i(rs, a) == detour_lint_case_i(rs, b) && a->kind == b->kind &&
	       a->scheme == b->scheme &&
	       detour_ruleset_host_id(rs, a) == detour_ruleset_host_id(rs, b) &&
	       a->path_len == b->path_len &&
	       memcmp(detour_rule_path(rs, a), detour_rule_path(rs, b), a->path_len) == 0;
}

static uint64_t source_hash(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	uint64_t h = detour_mix(detour_ruleset_host_id(rs, r), 0x5e);
	h = detour_fnv_step(h, 0);
	h = detour_fnv(h, detour_rule_path(rs, r), r->path_len);
	return detour_mix(h, (uint64_t)r->kind << 8 | (uint64_t)r->scheme << 4 |
	                             (r->flags & DETOUR_RULE_HOST_WILDCARD));
}

/* L->same[i] = index + 1 of the first rule with rule i's source, when it is
 * an earlier one. */
int detour_lint_find_same_sources(struct lint *L)
{
	size_t cap = 16;
	while (cap < L->n * 2)
		cap *= 2;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		size_t k = (size_t)source_hash(L->rs, r) & (cap - 1);
		for (;; k = (k + 1) & (cap - 1)) {
			if (slots[k] == 0) {
				slots[k] = (uint32_t)i + 1;
				break;
			}
			const struct detour_rule *f = detour_ruleset_get(L->rs, slots[k] - 1);
			if (same_source(L->rs, f, r)) {
				L->same[i] = slots[k];
				break;
			}
		}
	}
	free(slots);
	return 0;
}

/* Whether two rules answer in exactly the same way. */
static bool same_answer(const struct detour_ruleset *rs, const struct detour_rule *a,
                        const struct detour_rule *b)
{
	return a->status == b->status && detour_rule_cache(rs, a) == detour_rule_cache(rs, b) &&
	       a->query == b->query && a->target_len == b->target_len &&
	       memcmp(detour_rule_target(rs, a), detour_rule_target(rs, b), a->target_len) == 0;
}

void detour_lint_check_duplicates(struct lint *L)
{
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		if (L->same[i] == 0)
			continue;
		uint32_t j = L->same[i] - 1;
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		const struct detour_rule *f = detour_ruleset_get(L->rs, j);
		struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
		/* An earlier rule with an extension (a condition, a window, a
		 * weight) does not always answer: the same source again is a
		 * fallback or a member of its group, not a duplicate. Whether an
		 * unconditional rule shadows it is for check_shadowed. */
		if (!detour_lint_unconditional(L, f) || L->dead[j])
			continue;
		L->dead[i] = 1;
		if (same_answer(L->rs, f, r)) {
			bbuf_puts(&msg, "duplicate of ");
			detour_lint_rule_ref(L, j, &msg);
			bbuf_puts(&msg, ", which answers first: this line is never used");
			bbuf_puts(&fix, "remove this line");
			detour_lint_add(L, DETOUR_LINT_DUPLICATE, (uint32_t)i, &msg, &fix, &j, 1);
			continue;
		}
		bbuf_puts(&msg, "same source as ");
		detour_lint_rule_ref(L, j, &msg);
		detour_lint_sb_fmt(
		        &msg, ", which answers first (%u %s): this rule (%u %s) is never used",
		        (unsigned)f->status, f->target_len ? detour_rule_target(L->rs, f) : "-",
		        (unsigned)r->status, r->target_len ? detour_rule_target(L->rs, r) : "-");
		bbuf_puts(&fix, "remove one of the two lines, or give them different sources");
		detour_lint_add(L, DETOUR_LINT_CONFLICT, (uint32_t)i, &msg, &fix, &j, 1);
	}
}

/* A source as segments: each literal or a placeholder, then maybe a tail
 * that takes anything (a splat). A splat "/blog/ *" is the literal segment
 * "blog" and a tail; "/ *" is no segment and a tail. */
struct segs {
	struct detour_slice s[4096];
	size_t n;
	bool tail;
	bool overflow;
};

static void split_source(const struct detour_ruleset *rs, const struct detour_rule *r,
                         struct segs *g)
{
	size_t n = r->path_len;

	g->n = 0;
	g->overflow = false;
	g->tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
	if (r->kind == DETOUR_SRC_SPLAT)
		n--; /* "/blog/" -> "/blog"; "/" -> "" */
	else if (g->tail)
		n -= 2; /* "/u/:id/ *" -> "/u/:id" */
	if (n == 0)
		return;
	size_t i = 1;
	for (;;) {
		const char *e = memchr(detour_rule_path(rs, r) + i, '/', n - i);
		size_t end = e ? (size_t)(e - detour_rule_path(rs, r)) : n;
		if (g->n == sizeof(g->s) / sizeof(g->s[0])) {
			g->overflow = true;
			return;
		}
		g->s[g->n].p = detour_rule_path(rs, r) + i;
		g->s[g->n].len = end - i;
		g->n++;
		if (end == n)
			break;
		i = end + 1;
	}
}

static bool is_ph(struct detour_slice s)
{
	return s.len > 1 && s.p[0] == ':';
}

/* Whether segment w (of a covering rule) takes every value segment r does. */
static bool seg_covers(struct detour_slice w, struct detour_slice r)
{
	if (is_ph(w))
		return is_ph(r) || r.len > 0; /* a placeholder takes any non-empty segment */
	return !is_ph(r) && w.len == r.len && memcmp(w.p, r.p, w.len) == 0;
}

/* Whether every path r's source matches, w's source matches too. */
static bool path_covers(const struct segs *w, const struct segs *r)
{
	if (w->overflow || r->overflow)
		return false;
	if (!w->tail && (r->tail || r->n != w->n))
		return false;
	if (w->tail && r->n < w->n)
		return false;
	for (size_t k = 0; k < w->n; k++)
		if (!seg_covers(w->s[k], r->s[k]))
			return false;
	return true;
}

/* Whether w applies to every host r applies to. */
static bool host_covers(const struct detour_ruleset *rs, const struct detour_rule *w,
                        const struct detour_rule *r)
{
	bool ww = (w->flags & DETOUR_RULE_HOST_WILDCARD) != 0;
	size_t wl, rl;
	const char *wh = detour_ruleset_host(rs, w, &wl), *rh = detour_ruleset_host(rs, r, &rl);

	if (wl == 0)
		return true;
	if (rl == 0)
		return false;
	if (!ww)
		return !(r->flags & DETOUR_RULE_HOST_WILDCARD) && wl == rl &&
		       memcmp(wh, rh, wl) == 0;
	/* w is ".example.com": r's host must end with it and be longer, or r
	 * is a wildcard with that suffix or a longer one */
	if (rl < wl)
		return false;
	if (!memcmp(rh + rl - wl, wh, wl))
		return rl > wl || (r->flags & DETOUR_RULE_HOST_WILDCARD);
	return false;
}

static bool scheme_covers(const struct detour_rule *w, enum detour_scheme s)
{
	return w->scheme == DETOUR_SCHEME_ANY || w->scheme == s;
}

/* A case-sensitive rule never covers a case=insensitive one. */
static bool case_covers(const struct lint *L, const struct detour_rule *w,
                        const struct detour_rule *r)
{
	return detour_lint_case_i(L->rs, w) || !detour_lint_case_i(L->rs, r);
}

/* The earlier unconditional splat that takes every request regex rule r
 * matches, or NULL. Only what is provable: every match of r starts with its
 * literal prefix (struct detour_rule_ext), so a splat "/p/ *" covers a regex
 * whose prefix starts with "/p/", and "/ *" covers every regex. */
static const struct detour_rule *regex_covering(const struct lint *L, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(L->rs, r);

	if (x == NULL || detour_lint_case_i(L->rs, r))
		return NULL;
	for (size_t k = 0; k < L->nsplats && L->splats[k] < detour_rule_index(L->rs, r); k++) {
		const struct detour_rule *w = detour_ruleset_get(L->rs, L->splats[k]);
		if (w->scheme != DETOUR_SCHEME_ANY || !host_covers(L->rs, w, r))
			continue;
		if (w->path_len == 1 ||
		    (x->prefix_len >= w->path_len &&
		     !memcmp(x->prefix, detour_rule_path(L->rs, w), w->path_len)))
			return w;
	}
	return NULL;
}

/* The earlier unconditional rule that takes every request r would answer
 * with scheme s, or NULL. */
static const struct detour_rule *covering(struct lint *L, const struct detour_rule *r,
                                          enum detour_scheme s, struct segs *rs_, struct segs *ws,
                                          char *path)
{
	char host[HOST_BUF];
	size_t hl = detour_lint_example_host(L->rs, r, host), pl;
	struct detour_match m;

	if (!detour_lint_example_path(L->rs, r, path, PATH_CAP, &pl))
		return NULL;
	struct detour_match_req q = {
	        .host = hl ? host : NULL,
	        .host_len = hl,
	        .https = s == DETOUR_SCHEME_HTTPS,
	        .path = path,
	        .path_len = pl,
	        .now = L->now,
	};
	if (!detour_table_match(L->t, &q, &m) || m.index >= detour_rule_index(L->rs, r))
		return NULL; /* r (or a later rule) answers its own example */
	const struct detour_rule *w = m.rule;
	/* An exact source is one path: the earlier winner covers it. Found with
	 * its own host, w covers r's host as the table judges hosts (a wildcard
	 * r is asked with a label no exact host rule names). */
	if (r->kind == DETOUR_SRC_EXACT) {
		if (detour_lint_unconditional(L, w) && host_covers(L->rs, w, r) &&
		    case_covers(L, w, r))
			return w;
	} else if (w->kind != DETOUR_SRC_REGEX && detour_lint_unconditional(L, w) &&
	           host_covers(L->rs, w, r) && case_covers(L, w, r)) {
		split_source(L->rs, w, ws);
		if (path_covers(ws, rs_))
			return w;
	}
	/* The first earlier match does not cover every request of r (it is
	 * narrower, or conditional): look for one that does. */
	for (uint32_t j = 0; j < detour_rule_index(L->rs, r); j++) {
		const struct detour_rule *c = detour_ruleset_get(L->rs, j);
		if (c->kind == DETOUR_SRC_REGEX || !detour_lint_unconditional(L, c) ||
		    !scheme_covers(c, s) || !host_covers(L->rs, c, r) || !case_covers(L, c, r))
			continue;
		if (r->kind != DETOUR_SRC_EXACT && c->kind == DETOUR_SRC_EXACT)
			continue;
		split_source(L->rs, c, ws);
		if (path_covers(ws, rs_))
			return c;
	}
	return NULL;
}

void detour_lint_check_shadowed(struct lint *L)
{
	struct segs *rsg = malloc(sizeof(*rsg)), *wsg = malloc(sizeof(*wsg));
	char *path = malloc(PATH_CAP);
	char src[256];

	if (!rsg || !wsg || !path) {
		L->nomem = true;
		goto out;
	}
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (L->dead[i])
			continue;
		const struct detour_rule *w;
		if (r->kind == DETOUR_SRC_REGEX) {
			w = regex_covering(L, r);
		} else if (split_source(L->rs, r, rsg),
		           r->scheme != DETOUR_SCHEME_ANY || !L->scheme_rules) {
			enum detour_scheme s =
			        r->scheme == DETOUR_SCHEME_ANY ? DETOUR_SCHEME_HTTP : r->scheme;
			w = covering(L, r, s, rsg, wsg, path);
		} else {
			w = covering(L, r, DETOUR_SCHEME_HTTP, rsg, wsg, path);
			if (w && !covering(L, r, DETOUR_SCHEME_HTTPS, rsg, wsg, path))
				w = NULL;
		}
		if (w == NULL)
			continue;
		L->dead[i] = 1;
		uint32_t wi = detour_rule_index(L->rs, w);
		struct bbuf msg = LINT_TEXT, fix = LINT_TEXT;
		bbuf_puts(&msg, "never used: ");
		detour_lint_rule_ref(L, wi, &msg);
		detour_lint_sb_fmt(&msg,
		                   " (%s) comes first and takes every request this rule matches",
		                   detour_lint_source_text(L->rs, w, src, sizeof(src)));
		bbuf_puts(&fix, "move this rule above ");
		detour_lint_rule_ref(L, wi, &fix);
		bbuf_puts(&fix, ", or remove it");
		detour_lint_add(L, DETOUR_LINT_SHADOWED, (uint32_t)i, &msg, &fix, &wi, 1);
	}
out:
	free(rsg);
	free(wsg);
	free(path);
}
