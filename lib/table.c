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
 * Hosts are interned at build: every rule's host pointer is replaced by the
 * table's one copy of that (lower-case) string, so checking a rule's host is
 * a pointer compare. Host id 0 is "any host". */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "detour/respond.h"
#include "detour/table.h"
#include "detour/url.h"
#include "hash.h"
#include "rules_int.h"
#include "ruleset_int.h"

#define NONE      UINT32_MAX
#define HOST_MAX  255 /* longer Host values only meet host-less rules */
#define MAX_CANDS (HOST_MAX / 2 + 3)

/* K_RE: regex sources (and case=insensitive ones, K_REI: their prefix is
 * lower case), keyed by their literal prefix. */
enum { K_EXACT = 1, K_SPLAT = 2, K_PAT = 3, K_RE = 4, K_REI = 5 };

struct hostinfo {
	const char *name; /* interned: every rule of this host points here */
	uint32_t len;
	uint32_t id;
	bool wild;
	uint32_t min_exact, min_splat, min_pat; /* smallest rule index of each kind, NONE if none */
	uint64_t splat_depths;                  /* bit min(d, 63): a splat prefix with d '/' */
	/* Patterns: bit min(n, 63) of pat_segs for a pattern of n segments
	 * without a tail, of tail_segs for one with a tail ("/ *") after n
	 * segments; bit min(d, 63) of pat_lits[tail] for one whose first d
	 * segments are literal (its key's prefix, see pat_prefix). */
	uint64_t pat_segs, tail_segs;
	uint64_t pat_lits[2];
	/* Regex sources: smallest index, and bit min(d, 63) for a literal
	 * prefix with d '/' (bit 0: no prefix, tried on every request);
	 * [0] case-sensitive, [1] caseless. */
	uint32_t min_re;
	uint64_t re_depths[2];
};

/* Table-side state of a rule extension: its group and the mutable
 * counters (atomics: workers and the health prober share the table). */
struct xinfo {
	uint32_t group;            /* index in groups[], NONE when not in a weighted group */
	uint32_t pos;              /* position in its group */
	atomic_bool up;            /* health: the target answers (starts true) */
	atomic_uint_fast64_t hits; /* times the group chose this rule */
	const char *origin;        /* health=: "https://host[:port]" (in origins), else NULL */
};

struct group {
	uint32_t first, n; /* members: gmembers[first .. first + n), rule indexes, file order */
	uint8_t sticky;    /* enum detour_sticky, of the first member */
	char cookie[64];   /* sticky=cookie: the cookie's name */
	atomic_uint_fast64_t ctr; /* draws, for the weighted random choice */
};

struct slot {
	uint32_t tag;    /* high half of the key */
	uint32_t head;   /* first rule index + 1 of the chain; 0: empty slot */
	const char *key; /* the source path of the head rule, see chain() */
};

struct detour_table {
	struct detour_ruleset *rs;
	const struct detour_rule *rules;
	uint32_t nrules;
	struct slot *slots;
	size_t mask;
	struct hostinfo *hosts; /* hosts[0]: rules without a host */
	uint32_t nhosts, hosts_cap;
	uint32_t *hslots; /* host id + 1 */
	size_t hmask;
	bool any_wild;
	bool either; /* @slash either: exact rules ignore one trailing '/' */
	bool any_re; /* some rule is in the regex index */

	/* Extensions (rulefile.h): the ruleset's array, and rule index -> ext
	 * index + 1 by open addressing. */
	const struct detour_rule_ext *exts;
	uint32_t nexts;
	uint32_t *xslots;
	size_t xmask;
	struct xinfo *xi;
	struct group *groups;
	uint32_t ngroups;
	uint32_t *gmembers;
	char *origins;
};

static const char any_host[] = "";

static inline uint64_t key_of(uint64_t h, uint32_t host, unsigned kind, uint32_t extra)
{
	return detour_mix(h, ((uint64_t)host << 32) | ((uint64_t)extra << 2) | kind);
}

static inline uint32_t pat_extra(uint32_t nseg, bool tail)
{
	return nseg << 1 | (uint32_t)tail;
}

static inline uint32_t bit_of(size_t n)
{
	return n < 63 ? (uint32_t)n : 63;
}

/* ------------------------------------------------------------------ hosts */

static uint64_t host_hash(const char *s, size_t n, bool wild)
{
	return detour_mix(detour_fnv(DETOUR_FNV_INIT, s, n), wild);
}

static const struct hostinfo *host_find(const struct detour_table *t, const char *s, size_t n,
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
	const struct hostinfo *f = host_find(t, name, n, wild);

	if (f)
		return f->id;
	if (t->nhosts == t->hosts_cap) {
		uint32_t cap = t->hosts_cap * 2;
		struct hostinfo *nh = realloc(t->hosts, cap * sizeof(*nh));
		if (nh == NULL)
			return NONE;
		t->hosts = nh;
		t->hosts_cap = cap;
	}
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
	uint32_t tag = (uint32_t)(key >> 32);
	size_t i = (size_t)key & t->mask;

	while (t->slots[i].head != 0 && t->slots[i].tag != tag)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

static size_t count_slashes(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += s[i] == '/';
	return c;
}

/* The extension index of rule index i, NONE if it has none. */
static inline uint32_t ext_find(const struct detour_table *t, uint32_t i)
{
	size_t k = (size_t)detour_mix(i, 0x5f) & t->xmask;

	for (;; k = (k + 1) & t->xmask) {
		uint32_t v = t->xslots[k];
		if (v == 0)
			return NONE;
		if (t->exts[v - 1].rule == i)
			return v - 1;
	}
}

/* The length of an exact path as hashed: under "@slash either" one final
 * '/' is left out (not from "/" or "//"), so "/a" and "/a/" share a key. */
static inline size_t exact_key_len(const char *p, size_t n, bool either)
{
	return either && n > 2 && p[n - 1] == '/' ? n - 1 : n;
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

/* The key of rule r (whose host has id hid), and its bookkeeping in h. */
static uint64_t rule_key(const struct detour_table *t, const struct detour_rule *r, uint32_t hid,
                         struct hostinfo *h)
{
	uint32_t i = r->index;

	if (r->flags & DETOUR_RULE_EXT) {
		const struct detour_rule_ext *x = &t->exts[ext_find(t, i)];
		if (x->re) {
			bool ci = (x->flags & DETOUR_EXT_CASE_I) != 0;
			size_t d = x->prefix_len ? count_slashes(x->prefix, x->prefix_len) : 0;
			h->min_re = i;
			h->re_depths[ci] |= UINT64_C(1) << bit_of(d);
			return key_of(detour_fnv(DETOUR_FNV_INIT, x->prefix, x->prefix_len), hid,
			              ci ? K_REI : K_RE, 0);
		}
	}
	switch (r->kind) {
	case DETOUR_SRC_EXACT:
		h->min_exact = i;
		return key_of(
		        detour_hash_bytes(r->path, exact_key_len(r->path, r->path_len, t->either)),
		        hid, K_EXACT, 0);
	case DETOUR_SRC_SPLAT:
		h->min_splat = i;
		h->splat_depths |= UINT64_C(1) << bit_of(count_slashes(r->path, r->path_len));
		return key_of(detour_fnv(DETOUR_FNV_INIT, r->path, r->path_len), hid, K_SPLAT, 0);
	default: {
		bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
		size_t nseg = count_slashes(r->path, r->path_len) - tail, nlit;
		size_t pl = pat_prefix(r->path, r->path_len - (tail ? 2u : 0u), &nlit);
		h->min_pat = i;
		if (tail)
			h->tail_segs |= UINT64_C(1) << bit_of(nseg);
		else
			h->pat_segs |= UINT64_C(1) << bit_of(nseg);
		h->pat_lits[tail] |= UINT64_C(1) << bit_of(nlit);
		return key_of(detour_fnv(DETOUR_FNV_INIT, r->path, pl), hid, K_PAT,
		              pat_extra((uint32_t)nseg, tail));
	}
	}
}

/* Interns r's host, points r at the interned copy, and computes r's key.
 * Returns nonzero when out of memory. */
static int prepare(struct detour_table *t, struct detour_rule *r, uint64_t *key)
{
	uint32_t hid = 0;

	if (r->host_len) {
		hid = host_intern(t, r->host, r->host_len,
		                  (r->flags & DETOUR_RULE_HOST_WILDCARD) != 0);
		if (hid == NONE)
			return -1;
	}
	r->host = t->hosts[hid].name;
	*key = rule_key(t, r, hid, &t->hosts[hid]);
	return 0;
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
	const struct detour_rule_ext *xa = &t->exts[ext_find(t, a->index)];
	const struct detour_rule_ext *xb = &t->exts[ext_find(t, b->index)];

	/* Runs before hosts are interned: compare the strings. */
	return a->host_len == b->host_len && memcmp(a->host, b->host, a->host_len) == 0 &&
	       a->scheme == b->scheme && a->kind == b->kind &&
	       (a->flags & DETOUR_RULE_HOST_WILDCARD) == (b->flags & DETOUR_RULE_HOST_WILDCARD) &&
	       a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0 &&
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
	if (t->xslots == NULL || t->xi == NULL)
		return -1;
	for (uint32_t e = 0; e < n; e++) {
		size_t k = (size_t)detour_mix(x[e].rule, 0x5f) & t->xmask;
		while (t->xslots[k])
			k = (k + 1) & t->xmask;
		t->xslots[k] = e + 1;
		t->xi[e].group = NONE;
		atomic_init(&t->xi[e].up, true);
		atomic_init(&t->xi[e].hits, 0);
		if (x[e].weight)
			nw++;
		if (x[e].health)
			olen += origin_len(t->rules[x[e].rule].target,
			                   t->rules[x[e].rule].target_len) +
			        1;
	}
	if (nw == 0)
		return 0;
	t->groups = calloc(nw, sizeof(*t->groups));
	t->gmembers = malloc(nw * sizeof(*t->gmembers));
	t->origins = malloc(olen ? olen : 1);
	if (t->groups == NULL || t->gmembers == NULL || t->origins == NULL)
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
		size_t k = (size_t)detour_mix(detour_fnv(DETOUR_FNV_INIT, r->path, r->path_len),
		                              detour_fnv(DETOUR_FNV_INIT, r->host, r->host_len)) &
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
			t->gmembers[w] = r->index;
			if (r->flags & DETOUR_RULE_ID_SET && r->id_len <= 48)
				snprintf(t->groups[g].cookie, sizeof(t->groups[g].cookie),
				         "detour-%s", r->id);
			else
				snprintf(
				        t->groups[g].cookie, sizeof(t->groups[g].cookie),
				        "detour-%08x",
				        (unsigned)detour_mix(
				                detour_fnv(DETOUR_FNV_INIT, r->path, r->path_len),
				                detour_fnv(DETOUR_FNV_INIT, r->host, r->host_len)));
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
		atomic_init(&t->groups[g].ctr, 0);
	}
	w = 0;
	olen = 0;
	for (uint32_t e = 0; e < n; e++) {
		if (x[e].health) {
			const struct detour_rule *r = &t->rules[x[e].rule];
			size_t ol = origin_len(r->target, r->target_len);
			memcpy(t->origins + olen, r->target, ol);
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
	size_t n = rs->n, cap = 16;

	*out = NULL;
	if (t == NULL)
		goto nomem;
	t->rs = rs;
	t->rules = rs->rules;
	t->nrules = (uint32_t)n;
	while (cap < n * 2)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->mask = cap - 1;
	t->hosts_cap = 8;
	t->hosts = malloc(t->hosts_cap * sizeof(*t->hosts));
	t->hslots = calloc(16, sizeof(*t->hslots));
	t->hmask = 15;
	if (!t->slots || !t->hosts || !t->hslots)
		goto nomem;
	host_intern(t, any_host, 0, false); /* id 0 */
	t->either = rs->slash == DETOUR_SLASH_EITHER;
	t->exts = rs->exts;
	t->nexts = (uint32_t)rs->nexts;
	if (build_ext(t))
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
		__builtin_prefetch(&t->slots[(size_t)ring[j % PF] & t->mask], 1);
	}
	for (size_t i = n; i-- > 0;) {
		uint64_t key = ring[i % PF];
		if (i >= PF) {
			size_t j = i - PF;
			if (prepare(t, &rs->rules[j], &ring[j % PF]))
				goto nomem;
			__builtin_prefetch(&t->slots[(size_t)ring[j % PF] & t->mask], 1);
		}
		struct slot *s = slot_for(t, key);
		s->tag = (uint32_t)(key >> 32);
		rs->rules[i].chain = s->head;
		s->head = (uint32_t)i + 1;
		s->key = rs->rules[i].path;
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
	free(t->slots);
	free(t->hosts);
	free(t->hslots);
	free(t->xslots);
	free(t->xi);
	free(t->groups);
	free(t->gmembers);
	free(t->origins);
	free(t);
}

const struct detour_ruleset *detour_table_rules(const struct detour_table *t)
{
	return t->rs;
}

/* ------------------------------------------------------------------ match */

struct search {
	const struct detour_table *t;
	const struct detour_match_req *q;
	const char *path;
	size_t n;
	uint32_t best; /* smallest matching index so far, NONE if none */
	/* What applies() decided for the rule it accepted last (pending) and
	 * for the rule at best: a group's chosen member (NONE: the rule
	 * itself), the window's end, the cookie to set. */
	uint32_t pend_rule, best_rule;
	int64_t pend_end, best_end;
	const char *pend_cookie, *best_cookie;
	unsigned pend_variant, best_variant;
	time_t now; /* 0 until a window needs it */
};

static void fill_match(const struct detour_table *t, const struct detour_rule *r, const char *path,
                       size_t n, struct detour_match *m);
static bool applies_ext(struct search *s, const struct detour_rule *r);

/* Whether rule r, whose source matches, applies to request q. This is the one
 * place that filters candidates: the scheme, and for a rule with an
 * extension its conditions, time window, open-redirect guard and weighted
 * group. Every index calls it on every rule it finds, in file order, and the
 * first rule for which it is true is that index's answer. A plain rule pays
 * one flag test for all of this. */
static inline bool applies(struct search *s, const struct detour_rule *r)
{
	if (r->scheme != DETOUR_SCHEME_ANY && (r->scheme == DETOUR_SCHEME_HTTPS) != s->q->https)
		return false;
	if (__builtin_expect(r->flags & DETOUR_RULE_EXT, 0))
		return applies_ext(s, r);
	s->pend_rule = NONE;
	return true;
}

/* The head of the chain of key (rule index + 1), 0 if none. With a large
 * table the slot, the head rule and its path string are three cache misses
 * in a row; the slot also holds the head's path pointer so that the rule
 * and the string are fetched together, which leaves two. */
static inline uint32_t chain(const struct detour_table *t, uint64_t key)
{
	uint32_t tag = (uint32_t)(key >> 32);
	size_t i = (size_t)key & t->mask;

	for (;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];
		if (s->head == 0)
			return 0;
		if (s->tag == tag) {
			__builtin_prefetch(&t->rules[s->head - 1]);
			__builtin_prefetch(s->key);
			return s->head;
		}
	}
}

/* Matches pattern rule r against path[0..n). Fills m's captures and splat
 * when m is non-NULL. Segments are compared whole; a ":name" segment takes
 * one non-empty request segment; a tail ("/ *" at the end) takes whatever is
 * left, possibly nothing (as a splat source does). */
static bool pattern_match(const struct detour_rule *r, const char *path, size_t n,
                          struct detour_match *m)
{
	bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
	const char *rp = r->path;
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

static inline void take(struct search *s, uint32_t i)
{
	s->best = i;
	s->best_rule = s->pend_rule;
	if (s->pend_rule != NONE) {
		s->best_end = s->pend_end;
		s->best_cookie = s->pend_cookie;
		s->best_variant = s->pend_variant;
	}
}

/* Walks the chain of key and returns the first rule (below s->best) that
 * verify accepts and that applies; NONE if none. */
#define WALK(s, key, VERIFY)                                                                       \
	do {                                                                                       \
		for (uint32_t h_ = chain((s)->t, (key)); h_ != 0 && h_ - 1 < (s)->best;            \
		     h_ = (s)->t->rules[h_ - 1].chain) {                                           \
			const struct detour_rule *r = &(s)->t->rules[h_ - 1];                      \
			if ((VERIFY) && applies((s), r)) {                                         \
				take((s), h_ - 1);                                                 \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
	} while (0)

/* An exact rule's path against the request's: equal, or under "@slash
 * either" equal once one final '/' is left out of each (see exact_key_len;
 * "/" and "//" stay apart). */
static inline bool exact_eq(const struct detour_rule *r, const char *p, size_t n, bool either)
{
	if (r->path_len == n)
		return memcmp(r->path, p, n) == 0;
	if (!either)
		return false;
	size_t kr = exact_key_len(r->path, r->path_len, true), kp = exact_key_len(p, n, true);
	return kr == kp && memcmp(r->path, p, kr) == 0;
}

static void probe_exact(struct search *s, const struct hostinfo *h, uint64_t ph)
{
	WALK(s, key_of(ph, h->id, K_EXACT, 0),
	     r->kind == DETOUR_SRC_EXACT && r->host == h->name &&
	             exact_eq(r, s->path, s->n, s->t->either));
}

static bool prefix_eq(const char *p, const char *pre, size_t n, bool ci)
{
	if (!ci)
		return memcmp(p, pre, n) == 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != pre[i])
			return false;
	}
	return true;
}

/* Whether regex rule r (ext x) matches the path: its prefix (len bytes, the
 * probe's) and the regex. */
static inline bool regex_ok(const struct search *s, const struct detour_rule *r, size_t len,
                            bool ci)
{
	if (!(r->flags & DETOUR_RULE_EXT))
		return false;
	const struct detour_rule_ext *x = &s->t->exts[ext_find(s->t, r->index)];
	return x->re && x->prefix_len == len && ((x->flags & DETOUR_EXT_CASE_I) != 0) == ci &&
	       prefix_eq(s->path, x->prefix, len, ci) &&
	       detour_re_match(x->re, s->path, s->n, NULL);
}

static void probe_regex(struct search *s, const struct hostinfo *h, uint64_t ph, size_t len,
                        bool ci)
{
	WALK(s, key_of(ph, h->id, ci ? K_REI : K_RE, 0),
	     r->host == h->name && regex_ok(s, r, len, ci));
}

/* The prefix is path[0..len), or path + "/" when len == n + 1. */
static void probe_splat(struct search *s, const struct hostinfo *h, uint64_t ph, size_t len)
{
	WALK(s, key_of(ph, h->id, K_SPLAT, 0),
	     r->kind == DETOUR_SRC_SPLAT && r->host == h->name && r->path_len == len &&
	             (len <= s->n ? memcmp(r->path, s->path, len) == 0
	                          : memcmp(r->path, s->path, s->n) == 0 && r->path[s->n] == '/'));
}

static void probe_pattern(struct search *s, const struct hostinfo *h, uint64_t k)
{
	WALK(s, k,
	     r->kind == DETOUR_SRC_PATTERN && r->host == h->name &&
	             pattern_match(r, s->path, s->n, NULL));
}

/* The patterns of host h whose literal prefix is path[0..i), the first d
 * segments of the path (hash ph): those of nseg segments without a tail, and
 * those with a tail after k segments, d <= k <= nseg. */
static void search_patterns(struct search *s, const struct hostinfo *h, size_t nseg, size_t d,
                            uint64_t ph)
{
	uint64_t b = UINT64_C(1) << bit_of(d);

	if ((h->pat_lits[0] & b) && (h->pat_segs & (UINT64_C(1) << bit_of(nseg))))
		probe_pattern(s, h, key_of(ph, h->id, K_PAT, pat_extra((uint32_t)nseg, false)));
	if (!(h->pat_lits[1] & b))
		return;
	for (size_t k = d ? d : 1; k <= nseg && h->min_pat < s->best; k++)
		if (h->tail_segs & (UINT64_C(1) << bit_of(k)))
			probe_pattern(s, h, key_of(ph, h->id, K_PAT, pat_extra((uint32_t)k, true)));
}

/* The regex index: every candidate's chains for the prefixes of the path
 * that end at a '/' (the FNV of each prefix, as for splats; a lower-case
 * one too when a candidate has caseless rules), and the chain of regexes
 * without a prefix. */
static void search_regex(struct search *s, const struct hostinfo *const *cand, unsigned nc)
{
	uint64_t depths[2] = {0, 0};
	uint32_t minre = NONE;

	for (unsigned c = 0; c < nc; c++) {
		if (cand[c]->min_re < minre)
			minre = cand[c]->min_re;
		depths[0] |= cand[c]->re_depths[0];
		depths[1] |= cand[c]->re_depths[1];
	}
	if (minre >= s->best)
		return;
	for (unsigned c = 0; c < nc; c++)
		for (int ci = 0; ci < 2; ci++)
			if (cand[c]->min_re < s->best && (cand[c]->re_depths[ci] & 1))
				probe_regex(s, cand[c], DETOUR_FNV_INIT, 0, ci);
	if (!((depths[0] | depths[1]) & ~UINT64_C(1)))
		return;
	uint64_t h = DETOUR_FNV_INIT, hl = DETOUR_FNV_INIT;
	size_t depth = 0;
	for (size_t i = 0; i < s->n && minre < s->best; i++) {
		unsigned char ch = (unsigned char)s->path[i];
		h = detour_fnv_step(h, ch);
		if (depths[1])
			hl = detour_fnv_step(hl, ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		if (ch != '/')
			continue;
		depth++;
		uint64_t b = UINT64_C(1) << bit_of(depth);
		for (unsigned c = 0; c < nc; c++) {
			if (cand[c]->min_re >= s->best)
				continue;
			if (cand[c]->re_depths[0] & b)
				probe_regex(s, cand[c], h, i + 1, false);
			if (cand[c]->re_depths[1] & b)
				probe_regex(s, cand[c], hl, i + 1, true);
		}
	}
}

/* Copies the Host value without its port, lower-cased, without a trailing
 * dot, into buf (HOST_MAX bytes). Returns its length, 0 if there is none or it
 * is too long to be a host name. */
static size_t request_host(const char *host, size_t n, char *buf)
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

bool detour_table_match(const struct detour_table *t, const struct detour_match_req *q,
                        struct detour_match *m)
{
	const struct hostinfo *cand[MAX_CANDS];
	unsigned nc = 0;
	char hb[HOST_MAX];
	struct search s = {
	        .t = t, .q = q, .path = q->path, .n = q->path_len, .best = NONE, .best_rule = NONE};

	if (s.n == 0 || s.path[0] != '/')
		return false;

	/* Candidate hosts: the request's, every wildcard that covers it, and
	 * "any host". The order does not matter: the smallest index wins. */
	if (t->nhosts > 1) {
		size_t hl = request_host(q->host, q->host_len, hb);
		if (hl) {
			const struct hostinfo *h = host_find(t, hb, hl, false);
			if (h)
				cand[nc++] = h;
			/* "*.example.com" covers a.example.com and a.b.example.com,
			 * not example.com: only suffixes that start at a '.' after
			 * the first byte. */
			for (size_t i = 1; t->any_wild && i < hl; i++) {
				if (hb[i] != '.')
					continue;
				h = host_find(t, hb + i, hl - i, true);
				if (h && nc < MAX_CANDS - 1)
					cand[nc++] = h;
			}
		}
	}
	cand[nc++] = &t->hosts[0];

	/* Exact sources. */
	uint64_t ph = detour_hash_bytes(s.path, exact_key_len(s.path, s.n, t->either));
	for (unsigned i = 0; i < nc; i++)
		if (cand[i]->min_exact < s.best)
			probe_exact(&s, cand[i], ph);

	/* Splat sources: every prefix that ends at a '/', and path + "/"
	 * ("/blog/ *" matches "/blog"). */
	uint32_t minsp = NONE;
	uint64_t depths = 0;
	for (unsigned i = 0; i < nc; i++) {
		if (cand[i]->min_splat < minsp)
			minsp = cand[i]->min_splat;
		depths |= cand[i]->splat_depths;
	}
	if (minsp < s.best) {
		uint64_t h = DETOUR_FNV_INIT;
		size_t depth = 0;
		for (size_t i = 0; i <= s.n && minsp < s.best; i++) {
			size_t len;
			if (i < s.n) {
				h = detour_fnv_step(h, (unsigned char)s.path[i]);
				if (s.path[i] != '/')
					continue;
				len = i + 1;
			} else {
				if (s.path[s.n - 1] == '/')
					break;
				h = detour_fnv_step(h, '/');
				len = s.n + 1;
			}
			depth++;
			if (!(depths & (UINT64_C(1) << bit_of(depth))))
				continue;
			for (unsigned c = 0; c < nc; c++)
				if (cand[c]->min_splat < s.best &&
				    (cand[c]->splat_depths & (UINT64_C(1) << bit_of(depth))))
					probe_splat(&s, cand[c], h, len);
		}
	}

	/* Placeholder patterns, keyed by segment count, tail and literal
	 * prefix: one FNV pass gives the hash of path[0..i) at every '/' (and
	 * at the end), the prefix of the first d segments. */
	uint32_t minpat = NONE;
	uint64_t lits = 0;
	for (unsigned i = 0; i < nc; i++) {
		if (cand[i]->min_pat < minpat)
			minpat = cand[i]->min_pat;
		lits |= cand[i]->pat_lits[0] | cand[i]->pat_lits[1];
	}
	if (minpat < s.best) {
		size_t nseg = count_slashes(s.path, s.n), d = 0;
		uint64_t h = DETOUR_FNV_INIT;
		for (size_t i = 0; minpat < s.best; i++) {
			if (i == s.n || s.path[i] == '/') {
				if (lits & (UINT64_C(1) << bit_of(d)))
					for (unsigned c = 0; c < nc; c++)
						if (cand[c]->min_pat < s.best)
							search_patterns(&s, cand[c], nseg, d, h);
				if (i == s.n)
					break;
				d++;
			}
			h = detour_fnv_step(h, (unsigned char)s.path[i]);
		}
	}

	/* Regex sources (and case=insensitive ones), by literal prefix: one
	 * more pass over the path, only when the table has any. */
	if (t->any_re)
		search_regex(&s, cand, nc);

	if (s.best == NONE)
		return false;

	const struct detour_rule *r = &t->rules[s.best_rule != NONE ? s.best_rule : s.best];
	fill_match(t, r, s.path, s.n, m);
	if (__builtin_expect(r->flags & DETOUR_RULE_EXT, 0)) {
		uint32_t xi = ext_find(t, r->index);
		m->ext = &t->exts[xi];
		if (s.best_rule != NONE) {
			m->window_end = s.best_end;
			m->cookie = s.best_cookie;
			m->variant = s.best_variant;
		}
		if (t->xi[xi].group != NONE)
			atomic_fetch_add_explicit(&t->xi[xi].hits, 1, memory_order_relaxed);
	}
	return true;
}

/* ------------------------------------------------------------- extensions */

/* Fills m for rule r matching path[0..n): splat, captures, and the defaults
 * of the extension fields. */
static void fill_match(const struct detour_table *t, const struct detour_rule *r, const char *path,
                       size_t n, struct detour_match *m)
{
	m->rule = r;
	m->splat.p = NULL;
	m->splat.len = 0;
	m->ncaps = 0;
	m->ext = NULL;
	m->window_end = INT64_MAX;
	m->cookie = NULL;
	m->variant = 0;
	if (__builtin_expect(r->flags & DETOUR_RULE_EXT, 0)) {
		const struct detour_rule_ext *x = &t->exts[ext_find(t, r->index)];
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
		pattern_match(r, path, n, m);
	}
}

static time_t clock_of(struct search *s)
{
	if (s->now == 0)
		s->now = s->q->now ? s->q->now : time(NULL);
	return s->now;
}

/* The open-redirect guard at match time: the Location this rule would send
 * must be a path on the same host, or an http(s) URL whose host is one of
 * allow-hosts (RFC 3986 §3.2.2; compared without case and trailing dot). */
static bool location_allowed(const struct search *s, const struct detour_rule *r,
                             const struct detour_rule_ext *x)
{
	struct detour_match m;
	char buf[DETOUR_LOCATION_MAX];
	struct detour_url u;

	fill_match(s->t, r, s->path, s->n, &m);
	m.ext = x;
	ssize_t n = detour_respond_location(&m, s->q, buf, sizeof(buf));
	if (n <= 0 || detour_url_parse(buf, (size_t)n, &u) != DETOUR_OK)
		return false;
	if (u.scheme.p == NULL)
		return !u.has_authority && u.path.len > 0 && u.path.p[0] == '/';
	if (!((u.scheme.len == 4 && strncasecmp(u.scheme.p, "http", 4) == 0) ||
	      (u.scheme.len == 5 && strncasecmp(u.scheme.p, "https", 5) == 0)) ||
	    u.host.len == 0 || u.host.len > 253)
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
		if (!detour_window_at(&x->window, clock_of(s), end, NULL))
			return false;
	}
	for (unsigned i = 0; i < x->nconds; i++)
		if (!detour_cond_eval(&x->conds[i], s->q))
			return false;
	if ((x->flags & DETOUR_EXT_CAPTURE_AUTHORITY) && !location_allowed(s, r, x))
		return false;
	return true;
}

enum why { WHY_COOKIE, WHY_IP, WHY_RANDOM, WHY_ONLY };

/* Chooses a member of group g for the request. Eligible members are those
 * whose own window and conditions hold and that are healthy; when none is
 * healthy, those that hold. Returns false when none holds. */
static bool group_choose(struct search *s, const struct group *g, uint32_t *rule, int64_t *end,
                         const char **cookie, unsigned *variant, enum why *why)
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
		if (atomic_load_explicit(&t->xi[xi].up, memory_order_relaxed)) {
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
		if (g->sticky == DETOUR_STICKY_IP && detour_peer_bytes(s->q->peer, a)) {
			draw = detour_mix(detour_fnv(DETOUR_FNV_INIT, (const char *)a, 16),
			                  g->first);
			*why = WHY_IP;
		} else {
			/* A counter through a 64-bit mixer: a uniform sequence with
			 * no per-thread state. */
			uint64_t c = atomic_fetch_add_explicit((atomic_uint_fast64_t *)&g->ctr, 1,
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

static bool applies_ext(struct search *s, const struct detour_rule *r)
{
	const struct detour_table *t = s->t;
	uint32_t xi = ext_find(t, r->index);
	const struct detour_rule_ext *x = &t->exts[xi];

	s->pend_rule = NONE;
	if (t->xi[xi].group != NONE) {
		/* The group answers at its first member's place. */
		enum why why;
		if (t->xi[xi].pos != 0)
			return false;
		return group_choose(s, &t->groups[t->xi[xi].group], &s->pend_rule, &s->pend_end,
		                    &s->pend_cookie, &s->pend_variant, &why);
	}
	if (!member_ok(s, r, x, &s->pend_end))
		return false;
	if (x->flags & DETOUR_EXT_WINDOW) {
		s->pend_rule = r->index;
		s->pend_cookie = NULL;
		s->pend_variant = 0;
	}
	return true;
}

void detour_table_fill_match(const struct detour_table *t, const struct detour_match_req *q,
                             const struct detour_rule *r, struct detour_match *m)
{
	fill_match(t, r, q->path, q->path_len, m);
	if (r->flags & DETOUR_RULE_EXT)
		m->ext = &t->exts[ext_find(t, r->index)];
}

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
	atomic_store_explicit(&t->xi[xi].up, up, memory_order_relaxed);
}

bool detour_table_healthy(const struct detour_table *t, uint32_t rule_index)
{
	uint32_t xi;

	if (t->nexts == 0 || (xi = ext_find(t, rule_index)) == NONE || t->xi[xi].group == NONE)
		return true;
	return atomic_load_explicit(&t->xi[xi].up, memory_order_relaxed);
}

uint64_t detour_table_variant_hits(const struct detour_table *t, uint32_t rule_index)
{
	uint32_t xi;

	if (t->nexts == 0 || (xi = ext_find(t, rule_index)) == NONE || t->xi[xi].group == NONE)
		return 0;
	return atomic_load_explicit(&t->xi[xi].hits, memory_order_relaxed);
}

/* ------------------------------------------------------------ explanations */

bool detour_table_source_matches(const struct detour_table *t, const struct detour_match_req *q,
                                 const struct detour_rule *r)
{
	struct search s = {.t = t, .q = q, .path = q->path, .n = q->path_len, .best = NONE};
	char hb[HOST_MAX];

	if (s.n == 0 || s.path[0] != '/')
		return false;
	if (r->scheme != DETOUR_SCHEME_ANY && (r->scheme == DETOUR_SCHEME_HTTPS) != q->https)
		return false;
	if (r->host_len) {
		size_t hl = request_host(q->host, q->host_len, hb);
		if (r->flags & DETOUR_RULE_HOST_WILDCARD) {
			if (hl <= r->host_len ||
			    memcmp(hb + hl - r->host_len, r->host, r->host_len) != 0)
				return false;
		} else if (hl != r->host_len || memcmp(hb, r->host, hl) != 0) {
			return false;
		}
	}
	if (r->flags & DETOUR_RULE_EXT) {
		const struct detour_rule_ext *x = &t->exts[ext_find(t, r->index)];
		if (x->re) {
			bool ci = (x->flags & DETOUR_EXT_CASE_I) != 0;
			return s.n >= x->prefix_len &&
			       prefix_eq(s.path, x->prefix, x->prefix_len, ci) &&
			       detour_re_match(x->re, s.path, s.n, NULL);
		}
	}
	switch (r->kind) {
	case DETOUR_SRC_EXACT:
		return exact_eq(r, s.path, s.n, t->either);
	case DETOUR_SRC_SPLAT:
		return (s.n >= r->path_len && memcmp(r->path, s.path, r->path_len) == 0) ||
		       (s.n + 1 == r->path_len && memcmp(r->path, s.path, s.n) == 0);
	case DETOUR_SRC_PATTERN:
		return pattern_match(r, s.path, s.n, NULL);
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
	char a[32], b[32];

	if (x->flags & DETOUR_EXT_WINDOW) {
		int64_t end = INT64_MAX, next = INT64_MAX, now = clock_of(s);
		bool in = detour_window_at(&x->window, now, &end, &next);
		detour_time_format(now, a, sizeof(a));
		if (in && end != INT64_MAX) {
			detour_time_format(end, b, sizeof(b));
			linef(fn, arg,
			      "%swindow open at %s, closes %s (cache lifetimes cut to %lld s)",
			      lead, a, b, (long long)(end - now));
		} else if (in) {
			linef(fn, arg, "%swindow open at %s, no end", lead, a);
		} else if (now >= x->window.until) {
			detour_time_format(x->window.until, b, sizeof(b));
			linef(fn, arg, "%swindow closed at %s: it ended %s", lead, a, b);
		} else if (next != INT64_MAX) {
			detour_time_format(next, b, sizeof(b));
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
		bool al = location_allowed(s, r, x);
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
	if (!(r->flags & DETOUR_RULE_EXT) || (xi = ext_find(t, r->index)) == NONE)
		return true;
	if (t->xi[xi].group == NONE)
		return explain_member(&s, r, &t->exts[xi], fn, arg, "");

	const struct group *g = &t->groups[t->xi[xi].group];
	if (t->xi[xi].pos != 0) {
		linef(fn, arg, "group: variant %u of the group led by line %u, which decides",
		      t->xi[xi].pos, t->rules[t->gmembers[g->first]].line);
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
		linef(fn, arg, "variant %u: line %u -> %s, weight %u (%.1f%%)%s", k, mr->line,
		      mr->target, t->exts[mx].weight, 100.0 * t->exts[mx].weight / (double)total,
		      atomic_load_explicit(&t->xi[mx].up, memory_order_relaxed)
		              ? ""
		              : ", unhealthy (left out while others are up)");
		explain_member(&s, mr, &t->exts[mx], fn, arg, lead);
	}
	uint32_t rule;
	int64_t end;
	const char *cookie;
	unsigned variant;
	enum why why = WHY_RANDOM;
	if (!group_choose(&s, g, &rule, &end, &cookie, &variant, &why)) {
		linef(fn, arg, "group: no variant applies");
		return false;
	}
	/* A random draw is made again per request: name the kind of choice
	 * only; cookie, address and "only one" name the variant. */
	if (why == WHY_RANDOM)
		linef(fn, arg, "choice: a weighted random draw, made per request");
	else
		linef(fn, arg, "chosen: variant %u (line %u), %s", variant, t->rules[rule].line,
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
