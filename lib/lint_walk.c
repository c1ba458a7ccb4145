/* detour lint, pass 3 (see lint.c): following a rule. Its example request
 * is matched with the table the server uses, its Location built with the
 * server's own code and followed as a client would, state after state. */
#include <stdlib.h>
#include <string.h>

#include "detour/respond.h"
#include "detour/url.h"

#include "detour/table_explain.h"
#include "detour/table_match.h"
#include "lint_rules_int.h"
#include "lint_walk.h"

/* ------------------------------------------------------------------ hosts */

static int host_cmp(const void *a, const void *b)
{
	const struct hostref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (int)x->wild - (int)y->wild;
}

int detour_lint_collect_hosts(struct lint *L)
{
	L->hosts = malloc((L->n ? L->n : 1) * sizeof(*L->hosts));
	if (L->hosts == NULL)
		return -1;
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (r->scheme != DETOUR_SCHEME_ANY)
			L->scheme_rules = true;
		size_t hl;
		const char *h = detour_ruleset_host(L->rs, r, &hl);
		if (hl)
			L->hosts[L->nhosts++] = (struct hostref){
			        h, hl, (r->flags & DETOUR_RULE_HOST_WILDCARD) != 0};
	}
	if (L->nhosts) {
		qsort(L->hosts, L->nhosts, sizeof(*L->hosts), host_cmp);
		size_t k = 1;
		for (size_t i = 1; i < L->nhosts; i++)
			if (host_cmp(&L->hosts[i], &L->hosts[k - 1]))
				L->hosts[k++] = L->hosts[i];
		L->nhosts = k;
	}
	return 0;
}

static bool host_known(const struct lint *L, const char *h, size_t n, bool wild)
{
	struct hostref key = {h, (uint16_t)n, wild};
	return n < 65536 && bsearch(&key, L->hosts, L->nhosts, sizeof(*L->hosts), host_cmp) != NULL;
}

/* Whether the table names host h[0..n) (canonical), exactly or through a
 * wildcard: a Location to it comes back to this server. */
static bool host_served(const struct lint *L, const char *h, size_t n)
{
	if (host_known(L, h, n, false))
		return true;
	for (size_t i = 1; i < n; i++)
		if (h[i] == '.' && host_known(L, h + i, n - i, true))
			return true;
	return false;
}

/* ------------------------------------------------------------------- walks */

/* Writes s with every "~name~" of the walked rule's names back as ":name". */
void detour_lint_sb_unsentinel(const struct lint *L, struct bbuf *b, const char *s, size_t n)
{
	size_t lit = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '~')
			continue;
		for (unsigned k = 0; k < L->nnames; k++) {
			size_t nl = L->names[k].len;
			if (i + nl + 2 <= n && s[i + nl + 1] == '~' &&
			    !memcmp(s + i + 1, L->names[k].p, nl)) {
				bbuf_put(b, s + lit, i - lit);
				bbuf_put(b, ":", 1);
				bbuf_put(b, L->names[k].p, nl);
				i += nl + 1;
				lit = i + 1;
				break;
			}
		}
	}
	bbuf_put(b, s + lit, n - lit);
}

void detour_lint_sb_host(struct bbuf *b, const struct state *s)
{
	size_t pl = sizeof(PROBE) - 1;

	bbuf_puts(b, s->https ? "https://" : "http://");
	if (s->hl > pl && !memcmp(s->host, PROBE, pl) && s->host[pl] == '.') {
		bbuf_put(b, "*", 1);
		bbuf_put(b, s->host + pl, s->hl - pl);
	} else {
		bbuf_put(b, s->host, s->hl);
	}
}

/* State k as shown in messages: the path (and query), led by the scheme and
 * host when they are not those of state prev (the state shown before it, -1
 * for none). */
void detour_lint_sb_state(const struct lint *L, struct bbuf *b, unsigned k, int prev)
{
	const struct state *s = &L->st[k], *p = prev >= 0 ? &L->st[prev] : NULL;
	bool show = s->hl && (p == NULL || s->hl != p->hl || s->https != p->https ||
	                      memcmp(s->host, p->host, s->hl));

	if (show)
		detour_lint_sb_host(b, s);
	detour_lint_sb_unsentinel(L, b, s->path, s->pl);
	if (s->has_query) {
		bbuf_put(b, "?", 1);
		detour_lint_sb_unsentinel(L, b, s->query, s->ql);
	}
}

static bool state_eq(const struct state *a, const struct state *b)
{
	return a->hl == b->hl && a->https == b->https && a->pl == b->pl &&
	       !memcmp(a->host, b->host, a->hl) && !memcmp(a->path, b->path, a->pl);
}

/* Parses Location loc into state s (host and scheme inherited from prev for
 * a relative one). Returns 0, or -1 when the client would leave the table:
 * another scheme, a host the table does not serve, or something unparsable. */
static int next_state(const struct lint *L, const struct state *prev, struct state *s)
{
	struct detour_url u;

	if (detour_url_parse(s->loc, s->ll, &u) != DETOUR_OK)
		return -1;
	s->loc_abs = u.scheme.p != NULL;
	if (u.scheme.p) {
		bool https;
		if (!detour_url_scheme_is_http(u.scheme.p, u.scheme.len, &https))
			return -1;
		if (u.host.p == NULL || u.host.len == 0 || u.host.len >= HOST_BUF)
			return -1;
		memcpy(s->host, u.host.p, u.host.len);
		s->hl = detour_url_host_canon(s->host, u.host.len);
		s->https = https;
		if (!host_served(L, s->host, s->hl))
			return -1;
	} else {
		if (u.has_authority)
			return -1;
		memcpy(s->host, prev->host, prev->hl);
		s->hl = prev->hl;
		s->https = prev->https;
	}
	if (u.path.len == 0) {
		s->path[0] = '/';
		s->pl = 1;
	} else {
		if (u.path.p[0] != '/')
			return -1;
		ssize_t n = detour_url_normalize_path(u.path.p, u.path.len, s->path, PATH_CAP);
		if (n < 0)
			return -1;
		s->pl = (size_t)n;
	}
	s->has_query = u.query.p != NULL;
	s->ql = u.query.len;
	if (s->has_query)
		memcpy(s->query, u.query.p, u.query.len);
	return 0;
}

struct detour_match_req detour_lint_req_of(const struct lint *L, const struct state *s)
{
	return (struct detour_match_req){
	        .host = s->hl ? s->host : NULL,
	        .host_len = s->hl,
	        .https = s->https,
	        .path = s->path,
	        .path_len = s->pl,
	        .query = s->has_query ? s->query : NULL,
	        .query_len = s->ql,
	        .now = L->now,
	};
}

/* The rule a client asking q meets, for a walk: the first rule in file order
 * whose source matches and that may apply. A rule with conditions or a window
 * that comes before the table's answer to a bare GET is taken ("may": it
 * answers only some requests); *may is also set when the table's answer has
 * conditions or a window itself. A weighted group is followed through its
 * first member (*group). Returns false when no rule answers. */
bool detour_lint_resolve(struct lint *L, const struct detour_match_req *q, struct detour_match *m,
                         bool *may, bool *group)
{
	bool found = detour_table_match(L->t, q, m);
	uint32_t lim = found ? m->index : UINT32_MAX;

	*may = false;
	*group = false;
	for (size_t k = 0; k < L->nconds && L->conds[k] < lim; k++) {
		const struct detour_rule *c = detour_ruleset_get(L->rs, L->conds[k]);
		if (detour_table_source_matches(L->t, q, c)) {
			detour_table_fill_match(L->t, q, c, m);
			*may = found = true;
			break;
		}
	}
	if (!found)
		return false;
	*may |= detour_lint_walk_conditional(L->rs, m->rule);
	uint32_t gi = L->gfirst ? L->gfirst[m->index] : 0;
	if (gi) {
		*group = *may = true; /* a visitor may get another variant */
		if (gi - 1 != m->index)
			detour_table_fill_match(L->t, q, detour_ruleset_get(L->rs, gi - 1), m);
	}
	return true;
}

/* Follows rule r from its example request on (host, https). */
void detour_lint_walk(struct lint *L, const struct detour_rule *r, const char *host, size_t hl,
                      bool https, struct walk *w)
{
	struct state *s0 = &L->st[0];
	struct detour_match m;

	memset(w, 0, sizeof(*w));
	memcpy(s0->host, host, hl);
	s0->hl = hl;
	s0->https = https;
	s0->has_query = false;
	s0->ql = 0;
	s0->ll = 0;
	s0->loc_abs = false;
	if (!detour_lint_example_path(L->rs, r, s0->path, PATH_CAP, &s0->pl))
		return;
	for (unsigned k = 0;; k++) {
		struct state *s = &L->st[k];
		struct detour_match_req q = detour_lint_req_of(L, s);
		bool may = false, group = false;
		if (k == 0) {
			/* r answers its own example unless an earlier rule that
			 * always applies takes it (another host's rule, say); r's
			 * own conditions, window and group are assumed to hold */
			bool found = detour_table_match(L->t, &q, &m);
			if (found && m.index < detour_rule_index(L->rs, r) &&
			    detour_lint_unconditional(L, m.rule))
				return;
			if (!detour_table_source_matches(L->t, &q, r))
				return;
			if (!found || m.rule != r)
				detour_table_fill_match(L->t, &q, r, &m);
			may = detour_lint_walk_conditional(L->rs, r) ||
			      detour_lint_weight_of(L->rs, r);
		} else if (!detour_lint_resolve(L, &q, &m, &may, &group)) {
			w->end = W_END;
			w->nhops = k;
			return;
		}
		L->may[k] = may;
		if (k && may)
			w->nmay++;
		if (k && group)
			w->via_group = true;
		if (m.rule->target_len == 0) {
			/* a 410: the end of the road */
			w->end = k ? W_END : W_NOT_R;
			w->nhops = k;
			return;
		}
		if (k == L->max_hops) {
			w->end = W_LONG;
			w->nhops = k;
			return;
		}
		L->hop[k] = m.index;
		struct state *nx = &L->st[k + 1];
		ssize_t ll = detour_respond_location(&m, &q, nx->loc, LOC_CAP);
		if (ll < 0) {
			/* over DETOUR_LOCATION_MAX: the server answers 500 */
			w->end = k ? W_END : W_NOT_R;
			w->nhops = k;
			return;
		}
		nx->ll = (size_t)ll;
		if (next_state(L, s, nx) < 0) {
			w->end = W_LEAVES;
			w->nhops = k + 1;
			return;
		}
		for (unsigned j = 0; j <= k; j++) {
			if (state_eq(&L->st[j], nx)) {
				w->end = W_LOOP;
				w->nhops = k + 1;
				w->loop_at = j;
				return;
			}
		}
	}
}

/* Fills L->splats (splats == true) or L->conds with the live rules. */
int detour_lint_index_rules(struct lint *L, bool splats)
{
	uint32_t *v = malloc((L->n + 1) * sizeof(*v));
	size_t nv = 0;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (L->dead[i])
			continue;
		if (splats ? r->kind == DETOUR_SRC_SPLAT && detour_lint_unconditional(L, r)
		           : detour_lint_walk_conditional(L->rs, r))
			v[nv++] = (uint32_t)i;
	}
	if (splats) {
		L->splats = v;
		L->nsplats = nv;
	} else {
		L->conds = v;
		L->nconds = nv;
	}
	return 0;
}

/* The names of r's placeholders, for sb_unsentinel. */
void detour_lint_set_names(struct lint *L, const struct detour_rule *r)
{
	L->nnames = 0;
	if (r->kind == DETOUR_SRC_PATTERN) {
		for (size_t i = 1; i < r->path_len && L->nnames < DETOUR_MAX_CAPTURES; i++) {
			if (detour_rule_path(L->rs, r)[i] != ':' ||
			    detour_rule_path(L->rs, r)[i - 1] != '/')
				continue;
			const char *e =
			        memchr(detour_rule_path(L->rs, r) + i, '/', r->path_len - i);
			size_t end = e ? (size_t)(e - detour_rule_path(L->rs, r)) : r->path_len;
			L->names[L->nnames].p = detour_rule_path(L->rs, r) + i + 1;
			L->names[L->nnames].len = end - i - 1;
			L->nnames++;
			i = end;
		}
	}
	if (r->kind == DETOUR_SRC_SPLAT || (r->flags & DETOUR_RULE_SPLAT)) {
		L->names[L->nnames].p = "splat";
		L->names[L->nnames].len = 5;
		L->nnames++;
	}
}
