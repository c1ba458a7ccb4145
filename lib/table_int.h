/* detour (private to lib/): the inside of the rule table, shared by its files:
 *   table.c          build: hosts, keys, chains, extension slots, groups;
 *                    and the source comparisons the other files use
 *   table_ext.c      extensions at match time: windows, conditions, the
 *                    open-redirect guard, weighted groups (applies_ext)
 *   table_match.c    detour_table_match: the indexes, over table_ext.c
 *   table_explain.c  health flags and counters, and explain, over table_ext.c
 * Read top-down: table_match.c and table_explain.c call table_ext.c, which
 * calls table.c; nothing calls upwards. This header holds the structs, the
 * inline helpers and table.c's functions; table_ext.h declares table_ext.c's.
 *
 * Mutability (table.h's contract): struct detour_table and everything it
 * points to is written by detour_table_build and read-only afterwards,
 * shared by every thread without locks, except struct xlive (one per
 * extension: the health flag and the hit counter) and the groups' draw
 * counters (gctr): atomics that workers and the health prober update while
 * others match. */
#ifndef DETOUR_TABLE_INT_H
#define DETOUR_TABLE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "base/ascii.h"
#include "detour/table.h"
#include "hash.h"
#include "rulepack.h"
#include "ruleset_int.h"
#include "table_hs.h"

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
	/* Bit 63 of pat_lits and tail_segs only says "63 or more". Those
	 * counts are also kept here exactly, sorted and without duplicates,
	 * each as DEEP(kind, n), so that a path of thousands of segments
	 * probes only the depths some rule has: the pattern search stays
	 * linear in the path (issue 11). NULL and 0 when no rule is that deep. */
	uint32_t *deep;
	size_t ndeep, deep_cap;
};

/* Kinds of hostinfo.deep: a literal prefix of n segments (pattern without
 * and with a tail), and a tail after n segments. */
enum { DEEP_LIT = 0, DEEP_LIT_TAIL = 1, DEEP_TAIL = 2 };
#define DEEP(kind, n) ((uint32_t)(kind) << 29 | (uint32_t)(n))

/* The index in h->deep of the first entry >= v (h->ndeep when none). */
static inline size_t deep_lower(const struct hostinfo *h, uint32_t v)
{
	size_t lo = 0, hi = h->ndeep;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->deep[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether h has a pattern of this kind and count. Below 63 the bit masks
 * are exact and answer; from 63 on, h->deep does. */
static inline bool deep_has(const struct hostinfo *h, unsigned kind, size_t n)
{
	size_t i;

	if (h->ndeep == 0 || n >= (1u << 29))
		return false;
	i = deep_lower(h, DEEP(kind, n));
	return i < h->ndeep && h->deep[i] == DEEP(kind, n);
}

/* Table-side facts about a rule extension, fixed at build. */
struct xinfo {
	uint32_t group;     /* index in groups[], NONE when not in a weighted group */
	uint32_t pos;       /* position in its group */
	const char *origin; /* health=: "https://host[:port]" (in origins), else NULL */
};

/* The mutable part of a rule extension: the only per-rule state that changes
 * after build. Atomics, relaxed: workers and the health prober share the
 * table; no other memory is published through them. */
struct xlive {
	atomic_bool up;            /* health: the target answers (starts true) */
	atomic_uint_fast64_t hits; /* times the group chose this rule */
};

struct group {
	uint32_t first, n; /* members: gmembers[first .. first + n), rule indexes, file order */
	uint8_t sticky;    /* enum detour_sticky, of the first member */
	char cookie[64];   /* sticky=cookie: the cookie's name */
};

/* A slot of the rule hash: 8 bytes. key is only a prefetch hint (see
 * chain() in table_match.c): where the head rule's path is, relative to the
 * path of the first rule of its block of ANCHOR_RULES (anchors[]), which
 * lies close by since a file's strings are in rule order; KEY_NONE when it is
 * further away than 16 bits say. */
struct slot {
	uint16_t tag;  /* the top 16 bits of the key */
	int16_t key;   /* the head rule's path - its anchor, or KEY_NONE */
	uint32_t head; /* first rule index + 1 of the chain; 0: empty slot */
};

#define KEY_NONE     INT16_MIN
#define ANCHOR_SHIFT 4 /* 16 rules a block: an anchor is a packed block's head */
_Static_assert(1 << ANCHOR_SHIFT == RULEPACK_BLOCK, "anchors are the packed blocks' heads");

struct link {
	uint32_t rule, next; /* next: rule index + 1, never 0 in a used pair */
};

struct detour_table {
	struct detour_ruleset *rs;
	const struct detour_rule *rules;
	uint32_t nrules;
	/* Chains: the next rule index + 1 on the same key, kept only for the
	 * rules that have one (most keys have a single rule) by open
	 * addressing over (rule, next) pairs; NULL when no two rules share a
	 * key. Read only when a rule on a chain is not the answer. */
	struct link *links;
	size_t lmask, nlinks;
	/* Per rule: the host id (the ruleset's side.rhost, NULL when every rule
	 * is for any host). */
	const uint32_t *rhost;
	/* The rule hash: nslots slots (at most 0.85 full), linear probing from
	 * the slot the low half of the key picks by multiply-shift. */
	struct slot *slots;
	size_t nslots;
	/* The ruleset's string block: rule r's path at strs + r->off, its
	 * target after the path's NUL (tpath, ttarget), or both packed
	 * against the head of its block of 16 (rulepack.h: tpath_of,
	 * exact_eq). anchors[i >> ANCHOR_SHIFT]: the path offset of rule i's
	 * block's first rule, its head (4 bytes for 16 rules: 244 KiB for a
	 * million, which stays in the L2 cache), INT32_MIN past 2 GiB; slot
	 * hints are relative to it. */
	const char *strs;
	int32_t *anchors;
	struct hostinfo *hosts; /* hosts[0]: rules without a host */
	uint32_t nhosts;
	size_t hosts_cap;
	uint32_t *hslots; /* host id + 1 */
	size_t hmask;
	bool any_wild;
	bool either; /* @slash either: exact rules ignore one trailing '/' */
	bool any_re; /* some rule is in the regex index */
	/* The regex rules of long prefix chains, in one vectorscan database
	 * (table_hs.h); those rules are on no chain. NULL when none. */
	struct detour_tbl_hs *hs;

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

	/* Mutable after build, atomics only (see the top of this file). */
	struct xlive *xlive;        /* per extension, as xi */
	atomic_uint_fast64_t *gctr; /* per group: draws, for the weighted random choice */
};

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

/* The index of rule r of t (its position in the ruleset's array). */
static inline uint32_t tindex(const struct detour_table *t, const struct detour_rule *r)
{
	return (uint32_t)(r - t->rules);
}

/* Rule r's path and target (NUL-terminated) in t's string block; r not
 * packed (only exact rules without an extension can be: rulepack.h). */
static inline const char *tpath(const struct detour_table *t, const struct detour_rule *r)
{
	return t->strs + r->off;
}

static inline const char *ttarget(const struct detour_table *t, const struct detour_rule *r)
{
	return t->strs + r->off + r->path_len + 1;
}

/* The path of the head of rule index i's block (never packed); its
 * target follows its NUL. */
static inline const char *thead(const struct detour_table *t, uint32_t i)
{
	int32_t a = t->anchors[i >> ANCHOR_SHIFT];

	return t->strs + (a != INT32_MIN ? (uint32_t)a : t->rules[rulepack_head(i)].off);
}

static inline size_t thead_len(const struct detour_table *t, uint32_t i)
{
	return t->rules[rulepack_head(i)].path_len;
}

/* Rule r's path, packed or not: decoded into buf (DETOUR_RULE_PACKED_MAX
 * bytes) when packed. */
static inline const char *tpath_of(const struct detour_table *t, const struct detour_rule *r,
                                   char *buf)
{
	if (!(r->flags & DETOUR_RULE_PACKED))
		return tpath(t, r);
	rulepack_path(buf, t->strs + r->off, thead(t, tindex(t, r)), r->path_len);
	return buf;
}

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

static inline size_t count_slashes(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += s[i] == '/';
	return c;
}

/* The first slot to probe for key, and the one after slot i. */
static inline size_t slot_home(const struct detour_table *t, uint64_t key)
{
	return (size_t)(((key & 0xffffffffu) * (uint64_t)t->nslots) >> 32);
}

static inline size_t slot_next(const struct detour_table *t, size_t i)
{
	return i + 1 == t->nslots ? 0 : i + 1;
}

/* The rule index + 1 after rule i on its key's chain, 0 at its end. */
static inline uint32_t chain_next(const struct detour_table *t, uint32_t i)
{
	if (t->links == NULL)
		return 0;
	for (size_t k = (size_t)detour_mix(i, 0x63) & t->lmask;; k = (k + 1) & t->lmask) {
		if (t->links[k].next == 0)
			return 0;
		if (t->links[k].rule == i)
			return t->links[k].next;
	}
}

/* The host id of rule index i (0: any host). */
static inline uint32_t rule_host(const struct detour_table *t, uint32_t i)
{
	return t->rhost ? t->rhost[i] : 0;
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

/* An exact rule's path against the request's: equal, or under "@slash
 * either" equal once one final '/' is left out of each (see exact_key_len;
 * "/" and "//" stay apart). */
static inline bool exact_eq(const struct detour_table *t, const struct detour_rule *r,
                            const char *p, size_t n)
{
	char buf[DETOUR_RULE_PACKED_MAX];
	const char *rp;

	if (r->flags & DETOUR_RULE_PACKED) {
		if (r->path_len == n)
			return rulepack_path_eq(t->strs + r->off, thead(t, tindex(t, r)), n, p);
		if (!t->either)
			return false;
		rp = tpath_of(t, r, buf);
	} else {
		rp = tpath(t, r);
		if (r->path_len == n)
			return memcmp(rp, p, n) == 0;
		if (!t->either)
			return false;
	}
	size_t kr = exact_key_len(rp, r->path_len, true), kp = exact_key_len(p, n, true);
	return kr == kp && memcmp(rp, p, kr) == 0;
}

/* Whether p[0..n) equals pre; with ci, p compared without ASCII case with
 * pre, which is lower case. */
static inline bool prefix_eq(const char *p, const char *pre, size_t n, bool ci)
{
	return ci ? ascii_eq_ci_n(p, n, pre, n) : memcmp(p, pre, n) == 0;
}

/* ---------------------------------------------------------------- table.c */

/* The host (s[0..n), wild) of t, NULL when no rule names it. */
const struct hostinfo *detour_tbl_host_find(const struct detour_table *t, const char *s, size_t n,
                                            bool wild);

/* Copies the Host value without its port, lower-cased, without a trailing
 * dot, into buf (HOST_MAX bytes). Returns its length, 0 if there is none or it
 * is too long to be a host name. */
size_t detour_tbl_request_host(const char *host, size_t n, char *buf);

/* Matches pattern rule r against path[0..n). Fills m's captures and splat
 * when m is non-NULL. Segments are compared whole; a ":name" segment takes
 * one non-empty request segment; a tail ("/ *" at the end) takes whatever is
 * left, possibly nothing (as a splat source does). */
bool detour_tbl_pattern_match(const struct detour_table *t, const struct detour_rule *r,
                              const char *path, size_t n, struct detour_match *m);

#endif
