/* detour: the compiled rule table (see table.h and docs/internals/table.md).
 *
 * One open-addressing hash maps a 64-bit key to a chain of rules in file
 * order. Keys:
 *   exact    (host, path)                          -> rules with that source
 *   splat    (host, prefix ending in '/')          -> "prefix*" rules
 *   pattern  (host, segments, tail, literal prefix) -> placeholder rules
 * A slot keeps only 32 bits of the key (the rest picks the slot), so two keys
 * may share a chain; every rule met on a chain is checked in full, which
 * makes a shared chain slower but never wrong. Chains are built by walking
 * the rules backwards and pushing each on the front, so every chain is in
 * ascending index order and a walk can stop at the first rule that matches
 * or at the first index that cannot beat the best match found so far.
 *
 * This file builds the table (hosts, keys, chains, extensions and groups)
 * and holds the comparisons of a rule's source with a request that the
 * other table files use (see table_int.h for the files).
 *
 * Hosts are interned by the ruleset (ruleside.h): a rule's host is a number,
 * and the table gives each host the same number as its id, so checking a
 * rule's host is an integer compare. Host id 0 is "any host". */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "base/grow.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/url.h"
#include "hash.h"
#include "ruleset_int.h"
#include "table_int.h"

static const char any_host[] = "";

/* ------------------------------------------------------------------ hosts */

static uint64_t host_hash(const char *s, size_t n, bool wild)
{
	return detour_mix(detour_fnv(DETOUR_FNV_INIT, s, n), wild);
}

const struct hostinfo *detour_tbl_host_find(const struct detour_table *t, const char *s, size_t n,
                                            bool wild)
{
	size_t i = (size_t)host_hash(s, n, wild) & t->hmask;

	for (;; i = (i + 1) & t->hmask) {
		uint32_t v = t->hslots[i];
		if (v == 0)
			return NULL;
		const struct hostinfo *h = &t->hosts[v - 1];
		if (h->len == n && h->wild == wild && memcmp(h->name, s, n) == 0)
			return h;
	}
}

static void host_place(struct detour_table *t, uint32_t id)
{
	const struct hostinfo *h = &t->hosts[id];
	size_t i = (size_t)host_hash(h->name, h->len, h->wild) & t->hmask;

	while (t->hslots[i])
		i = (i + 1) & t->hmask;
	t->hslots[i] = id + 1;
}

/* The id of (name, wild), added when new. Returns NONE when out of memory. */
static uint32_t host_intern(struct detour_table *t, const char *name, size_t n, bool wild)
{
	const struct hostinfo *f = detour_tbl_host_find(t, name, n, wild);

	if (f)
		return f->id;
	if (BASE_GROW(t->hosts, t->hosts_cap, (size_t)t->nhosts + 1) != 0)
		return NONE;
	if ((t->nhosts + 1) * 2 > t->hmask + 1) {
		size_t cap = (t->hmask + 1) * 2;
		uint32_t *ns = calloc(cap, sizeof(*ns));
		if (ns == NULL)
			return NONE;
		free(t->hslots);
		t->hslots = ns;
		t->hmask = cap - 1;
		for (uint32_t i = 0; i < t->nhosts; i++)
			host_place(t, i);
	}
	struct hostinfo *h = &t->hosts[t->nhosts];
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->len = (uint32_t)n;
	h->id = t->nhosts;
	h->wild = wild;
	h->min_exact = h->min_splat = h->min_pat = h->min_re = NONE;
	host_place(t, t->nhosts);
	if (wild)
		t->any_wild = true;
	return t->nhosts++;
}

/* ------------------------------------------------------------------ build */

static struct slot *slot_for(const struct detour_table *t, uint64_t key)
{
	uint16_t tag = (uint16_t)(key >> 48);
	size_t i = slot_home(t, key);

	while (t->slots[i].head != 0 && t->slots[i].tag != tag)
		i = slot_next(t, i);
	return &t->slots[i];
}

/* A path offset as an anchor, INT32_MIN when it does not fit. */
static int32_t anchor_of(uint32_t off)
{
	return off <= INT32_MAX ? (int32_t)off : INT32_MIN;
}

/* The prefetch hint of a slot whose head is rule i (struct slot). */
static int16_t key_hint(const struct detour_table *t, uint32_t i)
{
	int32_t a = t->anchors[i >> ANCHOR_SHIFT];
	int64_t d = (int64_t)t->rules[i].off - a;

	return a != INT32_MIN && d > INT16_MIN && d <= INT16_MAX ? (int16_t)d : KEY_NONE;
}

/* The literal prefix of pattern path p[0..rn) (the tail left out): the bytes
 * before the '/' that starts its first placeholder segment, or all rn when it
 * has none ("/c/7/:id" -> "/c/7", "/:a/b" -> ""). *nlit gets the number of
 * literal segments it holds. A placeholder is a segment that starts with ':',
 * as in pattern_match(). */
static size_t pat_prefix(const char *p, size_t rn, size_t *nlit)
{
	size_t i = 0, d = 0;

	while (i < rn) {
		/* p[i] == '/': a segment starts at i + 1 */
		if (i + 1 < rn && p[i + 1] == ':')
			break;
		const char *e = memchr(p + i + 1, '/', rn - i - 1);
		d++;
		i = e ? (size_t)(e - p) : rn;
	}
	*nlit = d;
	return i;
}

/* Records DEEP(kind, n) in h->deep when n >= 63 (see table_int.h). Returns
 * nonzero when out of memory. */
static int deep_add(struct hostinfo *h, unsigned kind, size_t n)
{
	size_t i;

	if (n < 63)
		return 0;
	if (n >= (1u << 29)) /* a path is at most a few KB: cannot happen */
		return -1;
	i = deep_lower(h, DEEP(kind, n));
	if (i < h->ndeep && h->deep[i] == DEEP(kind, n))
		return 0;
	if (BASE_GROW(h->deep, h->deep_cap, h->ndeep + 1) != 0)
		return -1;
	memmove(h->deep + i + 1, h->deep + i, (h->ndeep - i) * sizeof(*h->deep));
	h->deep[i] = DEEP(kind, n);
	h->ndeep++;
	return 0;
}

/* The key of rule r (whose host has id hid), and its bookkeeping in h.
 * *oom is set when recording a deep pattern ran out of memory. */
static uint64_t rule_key(const struct detour_table *t, const struct detour_rule *r, uint32_t hid,
                         struct hostinfo *h, bool *oom)
{
	uint32_t i = tindex(t, r);
	char buf[DETOUR_RULE_PACKED_MAX];
	const char *rp = tpath_of(t, r, buf);

	if (r->flags & DETOUR_RULE_EXT) {
		const struct detour_rule_ext *x = &t->exts[ext_find(t, i)];
		if (x->re) {
			bool ci = (x->flags & DETOUR_EXT_CASE_I) != 0;
			size_t d = x->prefix_len ? count_slashes(x->prefix, x->prefix_len) : 0;
			h->min_re = i;
			if (!detour_tbl_hs_owns(t->hs, i))
				h->re_depths[ci] |= UINT64_C(1) << bit_of(d);
			return key_of(detour_fnv(DETOUR_FNV_INIT, x->prefix, x->prefix_len), hid,
			              ci ? K_REI : K_RE, 0);
		}
	}
	switch (r->kind) {
	case DETOUR_SRC_EXACT:
		h->min_exact = i;
		return key_of(detour_hash_bytes(rp, exact_key_len(rp, r->path_len, t->either)), hid,
		              K_EXACT, 0);
	case DETOUR_SRC_SPLAT:
		h->min_splat = i;
		h->splat_depths |= UINT64_C(1) << bit_of(count_slashes(rp, r->path_len));
		return key_of(detour_fnv(DETOUR_FNV_INIT, rp, r->path_len), hid, K_SPLAT, 0);
	default: {
		bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
		size_t nseg = count_slashes(rp, r->path_len) - tail, nlit;
		size_t pl = pat_prefix(rp, r->path_len - (tail ? 2u : 0u), &nlit);
		h->min_pat = i;
		if (tail)
			h->tail_segs |= UINT64_C(1) << bit_of(nseg);
		else
			h->pat_segs |= UINT64_C(1) << bit_of(nseg);
		h->pat_lits[tail] |= UINT64_C(1) << bit_of(nlit);
		if (deep_add(h, tail ? DEEP_LIT_TAIL : DEEP_LIT, nlit) != 0 ||
		    (tail && deep_add(h, DEEP_TAIL, nseg) != 0))
			*oom = true;
		return key_of(detour_fnv(DETOUR_FNV_INIT, rp, pl), hid, K_PAT,
		              pat_extra((uint32_t)nseg, tail));
	}
	}
}

/* Records that rule i's chain goes on to rule index next - 1. Returns
 * nonzero when out of memory. */
static int link_add(struct detour_table *t, uint32_t i, uint32_t next)
{
	if ((t->nlinks + 1) * 2 > (t->links ? t->lmask + 1 : 0)) {
		size_t cap = t->links ? (t->lmask + 1) * 2 : 64;
		struct link *nl = calloc(cap, sizeof(*nl)), *old = t->links;
		size_t oldcap = old ? t->lmask + 1 : 0;
		if (nl == NULL)
			return -1;
		t->links = nl;
		t->lmask = cap - 1;
		t->nlinks = 0;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].next)
				link_add(t, old[k].rule, old[k].next); /* fits: no growth */
		free(old);
	}
	size_t k = (size_t)detour_mix(i, 0x63) & t->lmask;
	while (t->links[k].next)
		k = (k + 1) & t->lmask;
	t->links[k] = (struct link){.rule = i, .next = next};
	t->nlinks++;
	return 0;
}

/* Computes r's key (its host is the ruleset's host number, which is the
 * table's: see detour_table_build). Returns nonzero when out of memory. */
static int prepare(struct detour_table *t, const struct detour_rule *r, uint64_t *key)
{
	uint32_t hid = rule_host(t, tindex(t, r));
	bool oom = false;

	*key = rule_key(t, r, hid, &t->hosts[hid], &oom);
	return oom ? -1 : 0;
}

/* The origin of an absolute target ("https://h:8080/x" -> "https://h:8080"). */
static size_t origin_len(const char *t, size_t n)
{
	const char *a = memchr(t, ':', n);
	size_t i = a ? (size_t)(a - t) + 3 : n;

	while (i < n && t[i] != '/' && t[i] != '?' && t[i] != '#')
		i++;
	return i;
}

/* Whether rules a and b have the same source (they form one group). */
static bool same_source(const struct detour_table *t, const struct detour_rule *a,
                        const struct detour_rule *b)
{
	const struct detour_rule_ext *xa = &t->exts[ext_find(t, tindex(t, a))];
	const struct detour_rule_ext *xb = &t->exts[ext_find(t, tindex(t, b))];

	/* The host number stands for the host and its wildcard. */
	return rule_host(t, tindex(t, a)) == rule_host(t, tindex(t, b)) && a->scheme == b->scheme &&
	       a->kind == b->kind && a->path_len == b->path_len &&
	       memcmp(tpath(t, a), tpath(t, b), a->path_len) == 0 &&
	       (xa->flags & DETOUR_EXT_CASE_I) == (xb->flags & DETOUR_EXT_CASE_I);
}

/* Extension slots, table-side info, weighted groups and health origins.
 * Returns nonzero when out of memory. */
static int build_ext(struct detour_table *t)
{
	const struct detour_rule_ext *x = t->exts;
	uint32_t n = t->nexts, nw = 0;
	size_t cap = 16, olen = 0;

	while (cap < (size_t)n * 2)
		cap *= 2;
	t->xslots = calloc(cap, sizeof(*t->xslots));
	t->xmask = cap - 1;
	t->xi = calloc(n ? n : 1, sizeof(*t->xi));
	t->xlive = calloc(n ? n : 1, sizeof(*t->xlive));
	if (t->xslots == NULL || t->xi == NULL || t->xlive == NULL)
		return -1;
	for (uint32_t e = 0; e < n; e++) {
		size_t k = (size_t)detour_mix(x[e].rule, 0x5f) & t->xmask;
		while (t->xslots[k])
			k = (k + 1) & t->xmask;
		t->xslots[k] = e + 1;
		t->xi[e].group = NONE;
		atomic_init(&t->xlive[e].up, true);
		atomic_init(&t->xlive[e].hits, 0);
		if (x[e].weight)
			nw++;
		if (x[e].health)
			olen += origin_len(ttarget(t, &t->rules[x[e].rule]),
			                   t->rules[x[e].rule].target_len) +
			        1;
	}
	if (nw == 0)
		return 0;
	t->groups = calloc(nw, sizeof(*t->groups));
	t->gctr = calloc(nw, sizeof(*t->gctr));
	t->gmembers = malloc(nw * sizeof(*t->gmembers));
	t->origins = malloc(olen ? olen : 1);
	if (t->groups == NULL || t->gctr == NULL || t->gmembers == NULL || t->origins == NULL)
		return -1;

	/* Group of each weighted rule: an open-addressing set of group ids
	 * keyed by the source, then members laid out group after group. */
	size_t gcap = 16;
	while (gcap < (size_t)nw * 2)
		gcap *= 2;
	uint32_t *gs = calloc(gcap, sizeof(*gs)), *gof = malloc(nw * sizeof(*gof));
	if (gs == NULL || gof == NULL) {
		free(gs);
		free(gof);
		return -1;
	}
	uint32_t w = 0;
	for (uint32_t e = 0; e < n; e++) {
		if (!x[e].weight)
			continue;
		const struct detour_rule *r = &t->rules[x[e].rule];
		size_t hl;
		const char *host = detour_ruleset_host(t->rs, r, &hl);
		size_t k = (size_t)detour_mix(detour_fnv(DETOUR_FNV_INIT, tpath(t, r), r->path_len),
		                              detour_fnv(DETOUR_FNV_INIT, host, hl)) &
		           (gcap - 1);
		uint32_t g = NONE;
		for (; gs[k]; k = (k + 1) & (gcap - 1)) {
			const struct group *gg = &t->groups[gs[k] - 1];
			if (same_source(t, &t->rules[t->gmembers[gg->first]], r)) {
				g = gs[k] - 1;
				break;
			}
		}
		if (g == NONE) {
			g = t->ngroups++;
			gs[k] = g + 1;
			t->groups[g].first = w; /* provisional: the first member's slot */
			t->groups[g].sticky = x[e].sticky;
			t->gmembers[w] = tindex(t, r);
			size_t il;
			const char *id = detour_ruleset_idval(t->rs, r, &il);
			if (r->flags & DETOUR_RULE_ID_SET && il <= 48)
				snprintf(t->groups[g].cookie, sizeof(t->groups[g].cookie),
				         "detour-%s", id);
			else
				snprintf(t->groups[g].cookie, sizeof(t->groups[g].cookie),
				         "detour-%08x",
				         (unsigned)detour_mix(
				                 detour_fnv(DETOUR_FNV_INIT, tpath(t, r),
				                            r->path_len),
				                 detour_fnv(DETOUR_FNV_INIT, host, hl)));
		}
		gof[w++] = g;
		t->groups[g].n++;
	}
	/* Offsets, then members in file order. */
	uint32_t off = 0;
	for (uint32_t g = 0; g < t->ngroups; g++) {
		t->groups[g].first = off;
		off += t->groups[g].n;
		t->groups[g].n = 0;
		atomic_init(&t->gctr[g], 0);
	}
	w = 0;
	olen = 0;
	for (uint32_t e = 0; e < n; e++) {
		if (x[e].health) {
			const struct detour_rule *r = &t->rules[x[e].rule];
			size_t ol = origin_len(ttarget(t, r), r->target_len);
			memcpy(t->origins + olen, ttarget(t, r), ol);
			t->origins[olen + ol] = '\0';
			t->xi[e].origin = t->origins + olen;
			olen += ol + 1;
		}
		if (!x[e].weight)
			continue;
		struct group *gg = &t->groups[gof[w++]];
		t->xi[e].group = (uint32_t)(gg - t->groups);
		t->xi[e].pos = gg->n;
		t->gmembers[gg->first + gg->n++] = x[e].rule;
	}
	free(gs);
	free(gof);
	return 0;
}

detour_err detour_table_build(struct detour_ruleset *rs, struct detour_table **out,
                              struct detour_diag *d)
{
	struct detour_table *t = calloc(1, sizeof(*t));
	size_t n = rs->n;

	*out = NULL;
	if (t == NULL)
		goto nomem;
	t->rs = rs;
	t->rules = rs->rules;
	t->nrules = (uint32_t)n;
	/* At most 0.85 full (issue 10: 9.4 bytes of slots a rule instead of
	 * 12 at 2/3): with linear probing a hit probes 3.8 slots on average, a
	 * miss 22 (2 and 5 at 2/3), 8 bytes each, so a hit stays in one or two
	 * cache lines and a miss reads about three adjacent ones; the 16-bit
	 * tag keeps the other keys' rules from being read. */
	size_t cap = n + n * 3 / 17 + 16;
	if (cap > UINT32_MAX)
		goto nomem;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->nslots = cap;
	t->strs = detour_ruleset_strings(rs);
	t->anchors = malloc(((n >> ANCHOR_SHIFT) + 1) * sizeof(*t->anchors));
	if (t->anchors == NULL)
		goto nomem;
	for (size_t k = 0; k < n; k += (size_t)1 << ANCHOR_SHIFT)
		t->anchors[k >> ANCHOR_SHIFT] = anchor_of(rs->rules[k].off);
	t->hosts_cap = 8;
	t->hosts = malloc(t->hosts_cap * sizeof(*t->hosts));
	t->hslots = calloc(16, sizeof(*t->hslots));
	t->hmask = 15;
	if (!t->slots || !t->hosts || !t->hslots)
		goto nomem;
	host_intern(t, any_host, 0, false); /* id 0 */
	/* The ruleset's hosts in its order, so that a rule's host number
	 * (ruleside.h) is its host's id here too. */
	for (uint32_t h = 1; h < rs->side.nhosts; h++) {
		struct rside_host rh = rside_host(&rs->side, h);
		if (host_intern(t, rh.name, rh.len, rh.wild) != h)
			goto nomem;
	}
	t->rhost = rs->side.rhost;
	t->either = rs->slash == DETOUR_SLASH_EITHER;
	t->exts = rs->exts;
	t->nexts = (uint32_t)rs->nexts;
	if (build_ext(t))
		goto nomem;
	bool oom = false;
	t->hs = detour_tbl_hs_build(rs, t->rules, t->exts, t->nexts, rs->hscache, &oom);
	if (oom)
		goto nomem;

	detour_mem_hint_huge(t->slots, cap * sizeof(*t->slots));

	/* Backwards, so that pushing on the front leaves every chain in file
	 * order and the last write of min_* is the smallest index. The slot of
	 * a rule PF places ahead is prefetched: with a million rules every
	 * insert is a cache miss, and this overlaps them. */
	enum { PF = 16 };
	uint64_t ring[PF];
	for (size_t k = 0; k < PF && k < n; k++) {
		size_t j = n - 1 - k;
		if (prepare(t, &rs->rules[j], &ring[j % PF]))
			goto nomem;
		__builtin_prefetch(&t->slots[slot_home(t, ring[j % PF])], 1);
	}
	for (size_t i = n; i-- > 0;) {
		uint64_t key = ring[i % PF];
		if (i >= PF) {
			size_t j = i - PF;
			if (prepare(t, &rs->rules[j], &ring[j % PF]))
				goto nomem;
			__builtin_prefetch(&t->slots[slot_home(t, ring[j % PF])], 1);
		}
		if (t->hs && detour_tbl_hs_owns(t->hs, (uint32_t)i))
			continue; /* in the vectorscan database, on no chain */
		struct slot *s = slot_for(t, key);
		s->tag = (uint16_t)(key >> 48);
		if (s->head && link_add(t, (uint32_t)i, s->head))
			goto nomem;
		s->head = (uint32_t)i + 1;
		s->key = key_hint(t, (uint32_t)i);
	}
	for (uint32_t h = 0; h < t->nhosts; h++)
		t->any_re |= t->hosts[h].min_re != NONE;
	*out = t;
	return DETOUR_OK;
nomem:
	detour_diag_set(d, NULL, 0, 0, "out of memory building the rule table");
	if (t) {
		t->rs = rs;
		detour_table_free(t);
	} else {
		detour_ruleset_free(rs);
	}
	return DETOUR_ENOMEM;
}

void detour_table_free(struct detour_table *t)
{
	if (t == NULL)
		return;
	detour_ruleset_free(t->rs);
	detour_tbl_hs_free(t->hs);
	free(t->slots);
	free(t->links);
	free(t->anchors);
	for (uint32_t i = 0; t->hosts && i < t->nhosts; i++)
		free(t->hosts[i].deep);
	free(t->hosts);
	free(t->hslots);
	free(t->xslots);
	free(t->xi);
	free(t->xlive);
	free(t->gctr);
	free(t->groups);
	free(t->gmembers);
	free(t->origins);
	free(t);
}

const struct detour_ruleset *detour_table_rules(const struct detour_table *t)
{
	return t->rs;
}

/* ---------------------------------------------------------------- sources */

bool detour_tbl_pattern_match(const struct detour_table *t, const struct detour_rule *r,
                              const char *path, size_t n, struct detour_match *m)
{
	bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
	const char *rp = tpath(t, r);
	size_t rn = r->path_len - (tail ? 2u : 0u); /* "/a/:x" of "/a/:x/ *" */
	size_t ri = 1, pi = 1;                      /* just after a '/' */
	unsigned nc = 0;

	for (;;) {
		const char *rse = memchr(rp + ri, '/', rn - ri);
		size_t re = rse ? (size_t)(rse - rp) : rn;
		if (pi > n)
			return false; /* the request has fewer segments */
		const char *pse = memchr(path + pi, '/', n - pi);
		size_t pe = pse ? (size_t)(pse - path) : n;
		if (re > ri && rp[ri] == ':') {
			if (pe == pi)
				return false; /* a placeholder takes a non-empty segment */
			if (m) {
				m->names[nc].p = rp + ri + 1;
				m->names[nc].len = re - ri - 1;
				m->caps[nc].p = path + pi;
				m->caps[nc].len = pe - pi;
			}
			nc++;
		} else if (re - ri != pe - pi || memcmp(rp + ri, path + pi, re - ri) != 0) {
			return false;
		}
		ri = re + 1;
		pi = pe + 1;
		if (re == rn)
			break;
	}
	if (!tail) {
		if (pi != n + 1)
			return false; /* the request has more segments */
	} else if (m) {
		m->splat.p = pi <= n ? path + pi : path + n;
		m->splat.len = pi <= n ? n - pi : 0;
	}
	if (m)
		m->ncaps = nc;
	return true;
}

/* Copies the Host value without its port, lower-cased, without a trailing
 * dot, into buf (HOST_MAX bytes). Returns its length, 0 if there is none or it
 * is too long to be a host name. */
size_t detour_tbl_request_host(const char *host, size_t n, char *buf)
{
	size_t k;

	if (host == NULL || n == 0)
		return 0;
	if (host[0] == '[') {
		const char *close = memchr(host, ']', n);
		k = close ? (size_t)(close - host) + 1 : n;
	} else {
		const char *colon = memchr(host, ':', n);
		k = colon ? (size_t)(colon - host) : n;
	}
	if (k == 0 || k > HOST_MAX)
		return 0;
	memcpy(buf, host, k);
	return detour_url_host_canon(buf, k);
}
