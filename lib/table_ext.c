/* detour: the rule table, extensions at match time (see table_int.h and
 * docs/internals/table.md, "Conditions, windows, groups"): a rule's window,
 * conditions and open-redirect guard, and the choice of a weighted group's
 * member. Called by table_match.c (applies) and table_explain.c; calls only
 * table.c below it. */
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "base/cidr.h"
#include "cond.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/url.h"
#include "hash.h"
#include "regex.h"
#include "table_ext.h"
#include "table_int.h"
#include "window.h"

/* Fills m for rule r matching path[0..n): splat, captures, and the defaults
 * of the extension fields. */
void detour_tbl_fill_match(const struct detour_table *t, const struct detour_rule *r,
                           const char *path, size_t n, struct detour_match *m)
{
	m->rule = r;
	if (r->flags & DETOUR_RULE_PACKED) {
		uint32_t i = tindex(t, r);
		const char *hp = thead(t, i);
		rulepack_target(m->text, t->strs + r->off, hp + thead_len(t, i) + 1, r->path_len,
		                r->target_len);
		m->target = m->text;
	} else {
		m->target = ttarget(t, r);
	}
	m->target_len = r->target_len;
	m->index = tindex(t, r);
	m->cache = __builtin_expect(r->flags & DETOUR_RULE_CACHE, 0) ? detour_rule_cache(t->rs, r)
	                                                             : DETOUR_CACHE_UNSET;
	m->splat.p = NULL;
	m->splat.len = 0;
	m->ncaps = 0;
	m->ext = NULL;
	m->window_end = INT64_MAX;
	m->cookie = NULL;
	m->variant = 0;
	if (__builtin_expect(r->flags & DETOUR_RULE_EXT, 0)) {
		const struct detour_rule_ext *x = &t->exts[ext_find(t, tindex(t, r))];
		if (x->re) {
			size_t ov[2 * (1 + DETOUR_MAX_CAPTURES)];
			bool hit = detour_re_match(x->re, path, n, ov);
			unsigned nc = 0;
			if (r->flags & DETOUR_RULE_SPLAT) {
				m->splat.p = path + n;
				m->splat.len = 0;
			}
			for (unsigned g = 1; g <= x->ngroups; g++) {
				struct detour_slice v = {path + n, 0};
				if (hit && ov[2 * g] != SIZE_MAX)
					v = (struct detour_slice){path + ov[2 * g],
					                          ov[2 * g + 1] - ov[2 * g]};
				const struct detour_slice *nm = &x->group_names[g - 1];
				if (r->kind != DETOUR_SRC_REGEX && nm->len == 5 &&
				    memcmp(nm->p, "splat", 5) == 0) {
					m->splat = v; /* case=insensitive splat */
					continue;
				}
				m->names[nc] = *nm;
				m->caps[nc++] = v;
			}
			m->ncaps = nc;
			return;
		}
	}
	if (r->kind == DETOUR_SRC_SPLAT) {
		size_t pl = r->path_len;
		m->splat.p = n >= pl ? path + pl : path + n;
		m->splat.len = n >= pl ? n - pl : 0;
	} else if (r->kind == DETOUR_SRC_PATTERN) {
		detour_tbl_pattern_match(t, r, path, n, m);
	}
}

time_t detour_tbl_clock(struct search *s)
{
	if (s->now == 0)
		s->now = s->q->now ? s->q->now : time(NULL);
	return s->now;
}

/* The open-redirect guard at match time: the Location this rule would send
 * must be a path on the same host, or an http(s) URL whose host is one of
 * allow-hosts (RFC 3986 §3.2.2; compared without case and trailing dot). */
bool detour_tbl_location_allowed(const struct search *s, const struct detour_rule *r,
                                 const struct detour_rule_ext *x)
{
	struct detour_match m;
	char buf[DETOUR_LOCATION_MAX];
	struct detour_url u;

	detour_tbl_fill_match(s->t, r, s->path, s->n, &m);
	m.ext = x;
	ssize_t n = detour_respond_location(&m, s->q, buf, sizeof(buf));
	if (n <= 0 || detour_url_parse(buf, (size_t)n, &u) != DETOUR_OK)
		return false;
	if (u.scheme.p == NULL)
		return !u.has_authority && u.path.len > 0 && u.path.p[0] == '/';
	if (!detour_url_scheme_is_http(u.scheme.p, u.scheme.len, NULL) || u.host.len == 0 ||
	    u.host.len > 253)
		return false;
	char h[256];
	memcpy(h, u.host.p, u.host.len);
	size_t hl = detour_url_host_canon(h, u.host.len);
	for (unsigned i = 0; i < x->nallow; i++)
		if (x->allow_hosts[i].len == hl && memcmp(x->allow_hosts[i].p, h, hl) == 0)
			return true;
	return false;
}

/* Whether the rule itself (not its group) applies: window, conditions, the
 * guard. *end gets its window's end. */
static bool member_ok(struct search *s, const struct detour_rule *r,
                      const struct detour_rule_ext *x, int64_t *end)
{
	*end = INT64_MAX;
	if (x->flags & DETOUR_EXT_WINDOW) {
		if (!detour_window_at(&x->window, detour_tbl_clock(s), end, NULL))
			return false;
	}
	for (unsigned i = 0; i < x->nconds; i++)
		if (!detour_cond_eval(&x->conds[i], s->q))
			return false;
	if ((x->flags & DETOUR_EXT_CAPTURE_AUTHORITY) && !detour_tbl_location_allowed(s, r, x))
		return false;
	return true;
}

/* Chooses a member of group g for the request. Eligible members are those
 * whose own window and conditions hold and that are healthy; when none is
 * healthy, those that hold. Returns false when none holds. */
bool detour_tbl_group_choose(struct search *s, const struct group *g, uint32_t *rule, int64_t *end,
                             const char **cookie, unsigned *variant, enum detour_tbl_why *why)
{
	const struct detour_table *t = s->t;
	uint64_t total = 0, total_up = 0;
	uint64_t okmask = 0, upmask = 0; /* the first 64 members */
	int64_t ends[64];
	unsigned n = g->n < 64 ? g->n : 64;

	for (unsigned k = 0; k < n; k++) {
		uint32_t ri = t->gmembers[g->first + k], xi = ext_find(t, ri);
		const struct detour_rule *r = &t->rules[ri];
		if (r->scheme != DETOUR_SCHEME_ANY &&
		    (r->scheme == DETOUR_SCHEME_HTTPS) != s->q->https)
			continue;
		if (!member_ok(s, r, &t->exts[xi], &ends[k]))
			continue;
		okmask |= UINT64_C(1) << k;
		total += t->exts[xi].weight;
		if (atomic_load_explicit(&t->xlive[xi].up, memory_order_relaxed)) {
			upmask |= UINT64_C(1) << k;
			total_up += t->exts[xi].weight;
		}
	}
	if (!okmask)
		return false;
	/* "if none is healthy the group uses all" */
	uint64_t elig = upmask ? upmask : okmask;
	uint64_t sum = upmask ? total_up : total;
	unsigned pick = n;

	*cookie = NULL;
	if (g->sticky == DETOUR_STICKY_COOKIE) {
		struct detour_slice v;
		if (detour_req_cookie(s->q, g->cookie, strlen(g->cookie), &v) && v.len > 0 &&
		    v.len <= 2) {
			unsigned k = 0;
			for (size_t i = 0; i < v.len; i++)
				k = v.p[i] >= '0' && v.p[i] <= '9'
				            ? k * 10 + (unsigned)(v.p[i] - '0')
				            : 999;
			if (k < n && (elig & (UINT64_C(1) << k))) {
				pick = k;
				*why = WHY_COOKIE;
			}
		}
	}
	if (pick == n) {
		uint64_t draw;
		uint8_t a[16];
		if (g->sticky == DETOUR_STICKY_IP && cidr_addr_of(s->q->peer, a)) {
			draw = detour_mix(detour_fnv(DETOUR_FNV_INIT, (const char *)a, 16),
			                  g->first);
			*why = WHY_IP;
		} else {
			/* A counter through a 64-bit mixer: a uniform sequence with
			 * no per-thread state. */
			uint64_t c = atomic_fetch_add_explicit(&t->gctr[g - t->groups], 1,
			                                       memory_order_relaxed);
			draw = detour_mix(c, UINT64_C(0x9e3779b97f4a7c15) ^ g->first);
			*why = WHY_RANDOM;
		}
		uint64_t x = draw % sum;
		for (unsigned k = 0; k < n; k++) {
			if (!(elig & (UINT64_C(1) << k)))
				continue;
			uint64_t w = t->exts[ext_find(t, t->gmembers[g->first + k])].weight;
			if (x < w) {
				pick = k;
				break;
			}
			x -= w;
		}
		if (g->sticky == DETOUR_STICKY_COOKIE)
			*cookie = g->cookie;
	}
	if (__builtin_popcountll(elig) == 1 && *why == WHY_RANDOM)
		*why = WHY_ONLY;
	*rule = t->gmembers[g->first + pick];
	*end = ends[pick];
	*variant = pick;
	return true;
}

bool detour_tbl_applies_ext(struct search *s, const struct detour_rule *r)
{
	const struct detour_table *t = s->t;
	uint32_t xi = ext_find(t, tindex(t, r));
	const struct detour_rule_ext *x = &t->exts[xi];

	s->pend_rule = NONE;
	if (t->xi[xi].group != NONE) {
		/* The group answers at its first member's place. */
		enum detour_tbl_why why;
		if (t->xi[xi].pos != 0)
			return false;
		return detour_tbl_group_choose(s, &t->groups[t->xi[xi].group], &s->pend_rule,
		                               &s->pend_end, &s->pend_cookie, &s->pend_variant,
		                               &why);
	}
	if (!member_ok(s, r, x, &s->pend_end))
		return false;
	if (x->flags & DETOUR_EXT_WINDOW) {
		s->pend_rule = tindex(t, r);
		s->pend_cookie = NULL;
		s->pend_variant = 0;
	}
	return true;
}
