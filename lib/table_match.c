/* detour: the rule table, matching (see table.h and docs/internals/table.md,
 * "Matching"): the candidate hosts, then the exact, splat, pattern and regex
 * indexes, each walked in file order and stopped at the best index found so
 * far; applies() filters candidates, with table_ext.c for rules that have an
 * extension. */
#include <stdatomic.h>
#include <string.h>

#include "detour/table.h"
#include "detour/table_match.h"
#include "hash.h"
#include "regex.h"
#include "table_ext.h"
#include "table_hs.h"
#include "table_int.h"

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
		return detour_tbl_applies_ext(s, r);
	s->pend_rule = NONE;
	return true;
}

/* The head of the chain of key (rule index + 1), 0 if none. With a large
 * table the slot, the head rule and its path string are three cache misses
 * in a row; the slot also says where the head's path is (16 bits from the
 * path of its block's first rule, anchors[], a small array that stays in
 * the caches) so that the rule and the string are fetched together, which
 * leaves two. */
static inline uint32_t chain(const struct detour_table *t, uint64_t key)
{
	uint16_t tag = (uint16_t)(key >> 48);

	for (size_t i = slot_home(t, key);; i = slot_next(t, i)) {
		const struct slot *s = &t->slots[i];
		if (s->head == 0)
			return 0;
		if (s->tag == tag) {
			__builtin_prefetch(&t->rules[s->head - 1]);
			if (s->key != KEY_NONE) {
				/* the head's path, and the rule's own (packed) bytes */
				const char *a = t->strs + t->anchors[(s->head - 1) >> ANCHOR_SHIFT];
				__builtin_prefetch(a);
				__builtin_prefetch(a + s->key);
			}
			if (t->rhost)
				__builtin_prefetch(&t->rhost[s->head - 1]);
			return s->head;
		}
	}
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
 * verify accepts and that applies; NONE if none. verify sees the rule r and
 * its host id rh. */
#define WALK(s, key, VERIFY)                                                                       \
	do {                                                                                       \
		for (uint32_t h_ = chain((s)->t, (key)); h_ != 0 && h_ - 1 < (s)->best;            \
		     h_ = chain_next((s)->t, h_ - 1)) {                                            \
			const struct detour_rule *r = &(s)->t->rules[h_ - 1];                      \
			uint32_t rh = rule_host((s)->t, h_ - 1);                                   \
			if ((VERIFY) && applies((s), r)) {                                         \
				take((s), h_ - 1);                                                 \
				break;                                                             \
			}                                                                          \
		}                                                                                  \
	} while (0)

static void probe_exact(struct search *s, const struct hostinfo *h, uint64_t ph)
{
	WALK(s, key_of(ph, h->id, K_EXACT, 0),
	     r->kind == DETOUR_SRC_EXACT && rh == h->id && exact_eq(s->t, r, s->path, s->n));
}

/* Whether regex rule r (ext x) matches the path: its prefix (len bytes, the
 * probe's) and the regex. */
static inline bool regex_ok(const struct search *s, const struct detour_rule *r, size_t len,
                            bool ci)
{
	if (!(r->flags & DETOUR_RULE_EXT))
		return false;
	const struct detour_rule_ext *x = &s->t->exts[ext_find(s->t, tindex(s->t, r))];
	return x->re && x->prefix_len == len && ((x->flags & DETOUR_EXT_CASE_I) != 0) == ci &&
	       prefix_eq(s->path, x->prefix, len, ci) &&
	       detour_re_match(x->re, s->path, s->n, NULL);
}

static void probe_regex(struct search *s, const struct hostinfo *h, uint64_t ph, size_t len,
                        bool ci)
{
	WALK(s, key_of(ph, h->id, ci ? K_REI : K_RE, 0), rh == h->id && regex_ok(s, r, len, ci));
}

/* The prefix is path[0..len), or path + "/" when len == n + 1. */
static void probe_splat(struct search *s, const struct hostinfo *h, uint64_t ph, size_t len)
{
	WALK(s, key_of(ph, h->id, K_SPLAT, 0),
	     r->kind == DETOUR_SRC_SPLAT && rh == h->id && r->path_len == len &&
	             (len <= s->n ? memcmp(tpath(s->t, r), s->path, len) == 0
	                          : memcmp(tpath(s->t, r), s->path, s->n) == 0 &&
	                                    tpath(s->t, r)[s->n] == '/'));
}

static void probe_pattern(struct search *s, const struct hostinfo *h, uint64_t k)
{
	WALK(s, k,
	     r->kind == DETOUR_SRC_PATTERN && rh == h->id &&
	             detour_tbl_pattern_match(s->t, r, s->path, s->n, NULL));
}

/* The patterns of host h whose literal prefix is path[0..i), the first d
 * segments of the path (hash ph): those of nseg segments without a tail, and
 * those with a tail after k segments, d <= k <= nseg. */
static void search_patterns(struct search *s, const struct hostinfo *h, size_t nseg, size_t d,
                            uint64_t ph)
{
	uint64_t b = UINT64_C(1) << bit_of(d);

	if ((h->pat_lits[0] & b) && (d < 63 || deep_has(h, DEEP_LIT, d)) &&
	    (h->pat_segs & (UINT64_C(1) << bit_of(nseg))))
		probe_pattern(s, h, key_of(ph, h->id, K_PAT, pat_extra((uint32_t)nseg, false)));
	if (!(h->pat_lits[1] & b) || (d >= 63 && !deep_has(h, DEEP_LIT_TAIL, d)))
		return;
	/* Tails after k segments, d <= k <= nseg: below 63 by the bit mask,
	 * from 63 on only the counts some rule has (never every k of a path
	 * of thousands of segments). */
	size_t k = d ? d : 1;
	for (; k <= nseg && k < 63 && h->min_pat < s->best; k++)
		if (h->tail_segs & (UINT64_C(1) << k))
			probe_pattern(s, h, key_of(ph, h->id, K_PAT, pat_extra((uint32_t)k, true)));
	if (k > nseg || !(h->tail_segs & (UINT64_C(1) << 63)))
		return;
	for (size_t i = deep_lower(h, DEEP(DEEP_TAIL, k));
	     i < h->ndeep && h->deep[i] <= DEEP(DEEP_TAIL, nseg) && h->min_pat < s->best; i++)
		probe_pattern(
		        s, h,
		        key_of(ph, h->id, K_PAT, pat_extra(h->deep[i] & ((1u << 29) - 1), true)));
}

/* What the vectorscan scan hands back: a rule whose regex may match. */
struct hs_ctx {
	struct search *s;
	const struct hostinfo *const *cand;
	unsigned nc;
};

/* A rule of the vectorscan database that the scan reports: taken when its
 * host is a candidate, PCRE2 confirms the match (the scan's `$` is looser,
 * and prefilter patterns match a superset) and it applies. */
static bool hs_visit(void *ctx, uint32_t i)
{
	struct hs_ctx *c = ctx;
	struct search *s = c->s;
	const struct detour_rule *r = &s->t->rules[i];
	unsigned k = 0;

	uint32_t rh = rule_host(s->t, i);

	while (k < c->nc && c->cand[k]->id != rh)
		k++;
	if (k == c->nc)
		return false;
	const struct detour_rule_ext *x = &s->t->exts[ext_find(s->t, i)];
	if (!detour_re_match(x->re, s->path, s->n, NULL) || !applies(s, r))
		return false;
	take(s, i);
	return true;
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
	if (s->t->hs) {
		struct hs_ctx hc = {s, cand, nc};
		detour_tbl_hs_scan(s->t->hs, s->path, s->n, &s->best, hs_visit, &hc);
	}
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
			hl = detour_fnv_step(hl, (unsigned char)ascii_lower((char)ch));
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
		size_t hl = detour_tbl_request_host(q->host, q->host_len, hb);
		if (hl) {
			const struct hostinfo *h = detour_tbl_host_find(t, hb, hl, false);
			if (h)
				cand[nc++] = h;
			/* "*.example.com" covers a.example.com and a.b.example.com,
			 * not example.com: only suffixes that start at a '.' after
			 * the first byte. */
			for (size_t i = 1; t->any_wild && i < hl; i++) {
				if (hb[i] != '.')
					continue;
				h = detour_tbl_host_find(t, hb + i, hl - i, true);
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
				/* From 63 segments on, search_patterns asks each
				 * host's exact set (deep_has). */
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
	detour_tbl_fill_match(t, r, s.path, s.n, m);
	if (__builtin_expect(r->flags & DETOUR_RULE_EXT, 0)) {
		uint32_t xi = ext_find(t, tindex(t, r));
		m->ext = &t->exts[xi];
		if (s.best_rule != NONE) {
			m->window_end = s.best_end;
			m->cookie = s.best_cookie;
			m->variant = s.best_variant;
		}
		if (t->xi[xi].group != NONE)
			atomic_fetch_add_explicit(&t->xlive[xi].hits, 1, memory_order_relaxed);
	}
	return true;
}

void detour_table_fill_match(const struct detour_table *t, const struct detour_match_req *q,
                             const struct detour_rule *r, struct detour_match *m)
{
	detour_tbl_fill_match(t, r, q->path, q->path_len, m);
	if (r->flags & DETOUR_RULE_EXT)
		m->ext = &t->exts[ext_find(t, tindex(t, r))];
}
