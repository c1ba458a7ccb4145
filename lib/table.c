/* detour: the compiled rule table (see table.h and docs/internals/table.md).
 *
 * One open-addressing hash maps a 64-bit key to a chain of rules in file
 * order. Keys:
 *   exact    (host, path)                          -> rules with that source
 *   splat    (host, prefix ending in '/')          -> "prefix*" rules
 *   pattern  (host, segments, tail, first segment) -> placeholder rules
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
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "detour/table.h"
#include "detour/url.h"
#include "hash.h"
#include "ruleset_int.h"

#define NONE      UINT32_MAX
#define HOST_MAX  255 /* longer Host values only meet host-less rules */
#define MAX_CANDS (HOST_MAX / 2 + 3)

enum { K_EXACT = 1, K_SPLAT = 2, K_PAT = 3 };

struct hostinfo {
	const char *name; /* interned: every rule of this host points here */
	uint32_t len;
	uint32_t id;
	bool wild;
	uint32_t min_exact, min_splat, min_pat; /* smallest rule index of each kind, NONE if none */
	uint64_t splat_depths;                  /* bit min(d, 63): a splat prefix with d '/' */
	/* bit min(n, 63): a pattern of n segments without a tail, [0] whose
	 * first segment is literal, [1] a placeholder; tail_segs the same for
	 * patterns with a tail ("/ *") after n segments */
	uint64_t pat_segs[2];
	uint64_t tail_segs[2];
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
};

static const char any_host[] = "";

static inline uint64_t key_of(uint64_t h, uint32_t host, unsigned kind, uint32_t extra)
{
	return detour_mix(h, ((uint64_t)host << 32) | ((uint64_t)extra << 2) | kind);
}

static inline uint32_t pat_extra(uint32_t nseg, bool tail, bool lit)
{
	return nseg << 2 | (uint32_t)tail << 1 | (uint32_t)lit;
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
	h->min_exact = h->min_splat = h->min_pat = NONE;
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

/* The key of rule r (whose host has id hid), and its bookkeeping in h. */
static uint64_t rule_key(const struct detour_rule *r, uint32_t hid, struct hostinfo *h)
{
	uint32_t i = r->index;

	switch (r->kind) {
	case DETOUR_SRC_EXACT:
		h->min_exact = i;
		return key_of(detour_hash_bytes(r->path, r->path_len), hid, K_EXACT, 0);
	case DETOUR_SRC_SPLAT:
		h->min_splat = i;
		h->splat_depths |= UINT64_C(1) << bit_of(count_slashes(r->path, r->path_len));
		return key_of(detour_fnv(DETOUR_FNV_INIT, r->path, r->path_len), hid, K_SPLAT, 0);
	default: {
		bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
		size_t nseg = count_slashes(r->path, r->path_len) - tail;
		const char *s0 = r->path + 1;
		const char *e0 = memchr(s0, '/', r->path_len - 1);
		size_t l0 = e0 ? (size_t)(e0 - s0) : r->path_len - 1u;
		bool lit = !(l0 > 0 && s0[0] == ':');
		h->min_pat = i;
		if (tail)
			h->tail_segs[!lit] |= UINT64_C(1) << bit_of(nseg);
		else
			h->pat_segs[!lit] |= UINT64_C(1) << bit_of(nseg);
		uint64_t hh = lit ? detour_fnv(DETOUR_FNV_INIT, s0, l0) : DETOUR_FNV_INIT;
		return key_of(hh, hid, K_PAT, pat_extra((uint32_t)nseg, tail, lit));
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
	*key = rule_key(r, hid, &t->hosts[hid]);
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
	free(t);
}

const struct detour_ruleset *detour_table_rules(const struct detour_table *t)
{
	return t->rs;
}

/* ------------------------------------------------------------------ match */

/* Whether rule r, whose source matches, applies to request q. This is the one
 * place that filters candidates (the scheme today; conditions, time windows
 * and weighted groups later): every index calls it on every rule it finds,
 * in file order, and the first rule for which it is true is that index's
 * answer. */
static inline bool applies(const struct detour_rule *r, const struct detour_match_req *q)
{
	if (r->scheme != DETOUR_SCHEME_ANY && (r->scheme == DETOUR_SCHEME_HTTPS) != q->https)
		return false;
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

struct search {
	const struct detour_table *t;
	const struct detour_match_req *q;
	const char *path;
	size_t n;
	uint32_t best; /* smallest matching index so far, NONE if none */
};

/* Walks the chain of key and returns the first rule (below s->best) that
 * verify accepts and that applies; NONE if none. */
#define WALK(s, key, VERIFY)                                                                       \
	do {                                                                                       \
		for (uint32_t h_ = chain((s)->t, (key)); h_ != 0 && h_ - 1 < (s)->best;            \
		     h_ = (s)->t->rules[h_ - 1].chain) {                                           \
			const struct detour_rule *r = &(s)->t->rules[h_ - 1];                      \
			if ((VERIFY) && applies(r, (s)->q)) {                                      \
				(s)->best = h_ - 1;                                                \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
	} while (0)

static void probe_exact(struct search *s, const struct hostinfo *h, uint64_t ph)
{
	WALK(s, key_of(ph, h->id, K_EXACT, 0),
	     r->kind == DETOUR_SRC_EXACT && r->host == h->name && r->path_len == s->n &&
	             memcmp(r->path, s->path, s->n) == 0);
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

static void search_patterns(struct search *s, const struct hostinfo *h, size_t nseg, uint64_t h0)
{
	uint64_t b = UINT64_C(1) << bit_of(nseg);

	if (h->pat_segs[0] & b)
		probe_pattern(s, h,
		              key_of(h0, h->id, K_PAT, pat_extra((uint32_t)nseg, false, true)));
	if (h->pat_segs[1] & b)
		probe_pattern(s, h,
		              key_of(DETOUR_FNV_INIT, h->id, K_PAT,
		                     pat_extra((uint32_t)nseg, false, false)));
	if (!(h->tail_segs[0] | h->tail_segs[1]))
		return;
	for (size_t k = 1; k <= nseg && h->min_pat < s->best; k++) {
		b = UINT64_C(1) << bit_of(k);
		if (h->tail_segs[0] & b)
			probe_pattern(s, h,
			              key_of(h0, h->id, K_PAT, pat_extra((uint32_t)k, true, true)));
		if (h->tail_segs[1] & b)
			probe_pattern(s, h,
			              key_of(DETOUR_FNV_INIT, h->id, K_PAT,
			                     pat_extra((uint32_t)k, true, false)));
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
	struct search s = {.t = t, .q = q, .path = q->path, .n = q->path_len, .best = NONE};

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
	uint64_t ph = detour_hash_bytes(s.path, s.n);
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

	/* Placeholder patterns, bucketed by segment count and first segment. */
	bool pats = false;
	for (unsigned i = 0; i < nc; i++)
		pats |= cand[i]->min_pat < s.best;
	if (pats) {
		size_t nseg = count_slashes(s.path, s.n);
		size_t l0 = 0; /* the first segment */
		while (1 + l0 < s.n && s.path[1 + l0] != '/')
			l0++;
		uint64_t h0 = detour_fnv(DETOUR_FNV_INIT, s.path + 1, l0);
		for (unsigned i = 0; i < nc; i++)
			if (cand[i]->min_pat < s.best)
				search_patterns(&s, cand[i], nseg, h0);
	}

	if (s.best == NONE)
		return false;

	const struct detour_rule *r = &t->rules[s.best];
	m->rule = r;
	m->splat.p = NULL;
	m->splat.len = 0;
	m->ncaps = 0;
	if (r->kind == DETOUR_SRC_SPLAT) {
		size_t pl = r->path_len;
		m->splat.p = s.n >= pl ? s.path + pl : s.path + s.n;
		m->splat.len = s.n >= pl ? s.n - pl : 0;
	} else if (r->kind == DETOUR_SRC_PATTERN) {
		pattern_match(r, s.path, s.n, m);
	}
	return true;
}
