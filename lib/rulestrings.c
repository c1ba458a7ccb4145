/* detour: a ruleset's string block (see rulestrings.h): the pending rules'
 * strings moved in at the end of a file (rstr_keep), packed against their
 * block's head where that saves (rulepack.h), and read back one rule at a
 * time (detour_rule_strings) or through a plain copy made once
 * (detour_rule_path, detour_rule_target). docs/internals/table.md, "Packed
 * strings". */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "rulepack.h"
#include "rulestrings.h"

/* The packed rules' strings decoded, as the unpacked rules' are: path, NUL,
 * target, NUL at strs + at[i] for packed rule i < n (at[i] unused for the
 * others). One allocation. */
struct rplain {
	size_t n;
	uint32_t *at;
	char strs[];
};

static const struct rplain *plain_copy(const struct detour_ruleset *rs)
{
	struct rplain *p = atomic_load_explicit(&rs->plain, memory_order_acquire), *none = NULL;
	size_t n = rs->n, len = 0;

	if (p)
		return p;
	for (size_t i = 0; i < n; i++)
		if (rs->rules[i].flags & DETOUR_RULE_PACKED)
			len += (size_t)rs->rules[i].path_len + rs->rules[i].target_len + 2;
	/* at[] after the strings, aligned */
	len = (len + 3) & ~(size_t)3;
	p = malloc(sizeof(*p) + len + n * sizeof(uint32_t));
	if (p == NULL) {
		fputs("detour: out of memory decoding rule strings\n", stderr);
		abort();
	}
	p->n = n;
	p->at = (uint32_t *)(void *)(p->strs + len);
	len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = &rs->rules[i];
		if (!(r->flags & DETOUR_RULE_PACKED))
			continue;
		rstr_get(rs, r, p->strs + len);
		p->at[i] = (uint32_t)len;
		len += (size_t)r->path_len + r->target_len + 2;
	}
	/* Another thread may have made one meanwhile: keep the first. */
	if (!atomic_compare_exchange_strong_explicit(&((struct detour_ruleset *)rs)->plain, &none,
	                                             p, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		free(p);
		return none;
	}
	return p;
}

const char *rstr_path(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	if (__builtin_expect(r->flags & DETOUR_RULE_PACKED, 0)) {
		const struct rplain *p = plain_copy(rs);
		return p->strs + p->at[r - rs->rules];
	}
	return rstr_block(rs) + r->off;
}

const char *rstr_get(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf)
{
	if (!(r->flags & DETOUR_RULE_PACKED))
		return rstr_block(rs) + r->off;
	/* packed against its block's head (rulepack.h): path, NUL, target */
	const struct detour_rule *h = &rs->rules[rulepack_head((size_t)(r - rs->rules))];
	const char *hp = rs->strs + h->off;
	rulepack_decode(buf, rs->strs + r->off, hp, hp + h->path_len + 1, r->path_len,
	                r->target_len);
	return buf;
}

/* Whether the pending rules' strings, each rule's path and target side by
 * side in buf at off (the strays elsewhere), are in ascending order, each
 * at or after its place in the compacted block (from buf on), and whether
 * they all fit in buf[0..len]: then each pair can slide down to its place
 * without overwriting one not yet moved. Parsing in place makes it so (a
 * rule's strings are inside its own line, and no longer than the line); a
 * path that grew and went to the arena may not, and a stray's target left in
 * buf could be overwritten by its own path. */
static bool slides(const struct detour_ruleset *rs, const char *buf, size_t len)
{
	size_t end = 0, w = 0, k = 0;

	for (size_t i = rs->pend0; i < rs->n; i++) {
		const struct detour_rule *r = &rs->rules[i];
		size_t n = (size_t)r->path_len + 1 + r->target_len + 1;
		if (k < rs->nstrays && rs->strays[k].rule == i) {
			/* its path, copied from the arena, could overwrite its
			 * target still in buf: copy them all instead */
			if (rstr_inside(rs->strays[k].path, buf, len) ||
			    rstr_inside(rs->strays[k].target, buf, len))
				return false;
			k++;
		} else {
			if (r->off < end || r->off < w)
				return false;
			end = r->off + n;
		}
		w += n;
	}
	return w <= len + 1; /* buf's size: a path that grew may not fit */
}

/* Copies the NUL-terminated s[0..n) that lies in buf[0..len] to the arena;
 * returns where it is now (s itself when it is not in buf), NULL when out
 * of memory. */
static const char *out_of(struct detour_ruleset *rs, const char *s, size_t n, const char *buf,
                          size_t len)
{
	return rstr_inside(s, buf, len) ? detour_arena_strndup(&rs->arena, s, n) : s;
}

/* Called at the end of a file (buf[0..len], a big block not yet adopted,
 * owned) or of an added line (buf NULL: the line's copy, pbuf, is the
 * arena's): the pending rules' strings (in pbuf at off, or strays) join the
 * ruleset's string block, each rule's path then its target, NUL-terminated,
 * at rules[i].off.
 *
 * When none of the file's rules has an extension (whose conditions, regexes
 * and names point anywhere into their line), nothing else of the file is
 * kept: statuses, options, comments, blanks and line ends are not (a million
 * "/r/N /target/N 301" lines: 25 instead of 29 MB), the few hosts and id=
 * values ruleside.h took from buf go to the arena, and buf is freed. For the
 * first strings of the ruleset (one file: the common case) they slide down
 * inside buf itself, which is trimmed to their size and becomes the block,
 * so that no second block of 25 MB is touched (on start-up fresh pages cost
 * more than the copy: docs/internals/table.md, "A million rules, measured").
 * Otherwise (a second file, an added line, strings out of order) they are
 * copied to the end of the block, grown. A file with an extension joins
 * the arena whole. Out of memory: the pending rules are dropped (the load
 * fails and the ruleset is discarded). */
detour_err rstr_keep(struct detour_ruleset *rs, size_t e0, char *buf, size_t len)
{
	struct rside *sd = &rs->side;
	size_t x0 = rs->pend0, need = 0;
	bool plain = buf && rs->nexts == e0;
	detour_err e = DETOUR_OK;

	for (size_t i = x0; i < rs->n; i++) {
		const struct detour_rule *r = &rs->rules[i];
		plain = plain && !(r->flags & DETOUR_RULE_EXT);
		need += (size_t)r->path_len + 1 + r->target_len + 1;
	}
	if (need > UINT32_MAX - rs->slen) { /* off is 32 bits */
		rs->n = x0;
		e = DETOUR_ETOOBIG;
		goto out;
	}
	/* The hosts and ids out of buf first: the rules' strings move over them. */
	for (uint32_t h = 0; h < sd->nhosts && plain; h++) {
		const char *c = out_of(rs, sd->hosts[h].name, sd->hosts[h].len, buf, len);
		plain = c != NULL;
		sd->hosts[h].name = c ? c : sd->hosts[h].name;
	}
	for (size_t k = 0; k < sd->nids && plain; k++) {
		const char *c = out_of(rs, sd->ids[k].s, sd->ids[k].len, buf, len);
		plain = c != NULL;
		sd->ids[k].s = c ? c : sd->ids[k].s;
	}
	bool slide = plain && rs->strs == NULL && slides(rs, buf, len);
	char *to = buf;
	if (!slide && need > rs->scap - rs->slen) {
		size_t cap = rs->scap ? rs->scap : 4096;
		while (cap < rs->slen + need)
			cap *= 2;
		char *nb =
		        rs->strs ? detour_arena_big_grow(rs->strs, cap) : detour_arena_big_new(cap);
		if (nb == NULL) {
			rs->n = x0; /* no rule without its strings */
			e = DETOUR_ENOMEM;
			goto out;
		}
		rs->strs = nb;
		rs->scap = cap;
	}
	if (!slide)
		to = rs->strs + rs->slen;
	/* Packed against their block's head (rulepack.h) where that saves,
	 * unless a plain copy of the packed rules exists already (it would
	 * not have the new ones). A head comes first, so its strings are
	 * already where its off says: in this batch at to, or in the block. */
	bool pack = atomic_load_explicit(&rs->plain, memory_order_relaxed) == NULL;
	size_t w = 0, k = 0;
	for (size_t i = x0; i < rs->n; i++) {
		struct detour_rule *r = &rs->rules[i];
		size_t pn = (size_t)r->path_len + 1, tn = (size_t)r->target_len + 1, m = 0;
		const char *sp = rs->pbuf + r->off, *st = sp + pn;
		if (k < rs->nstrays && rs->strays[k].rule == i) {
			sp = rs->strays[k].path;
			st = rs->strays[k].target;
			k++;
		}
		if (pack && rulepack_eligible(r, i)) {
			size_t hi = rulepack_head(i);
			const struct detour_rule *h = &rs->rules[hi];
			const char *hp = hi >= x0 ? to + (h->off - rs->slen) : rs->strs + h->off;
			char tmp[DETOUR_RULE_PACKED_MAX]; /* the sources may lie under to + w */
			memcpy(tmp, sp, pn);
			memcpy(tmp + pn, st, tn);
			m = rulepack_encode(to + w, hp, h->path_len, hp + h->path_len + 1,
			                    h->target_len, tmp, r->path_len, tmp + pn,
			                    r->target_len);
			if (m)
				r->flags |= DETOUR_RULE_PACKED;
		}
		if (m == 0) {
			/* to + w <= sp: the path's move leaves the target whole */
			memmove(to + w, sp, pn);
			memmove(to + w + pn, st, tn);
			m = pn + tn;
		}
		r->off = (uint32_t)(rs->slen + w);
		w += m;
	}
	if (slide) {
		/* Trimmed in place (glibc: mremap for a mapped block, a split of
		 * the chunk otherwise); offsets do not care where it lands. */
		char *kept = detour_arena_big_grow(buf, w ? w : 1);
		rs->strs = kept ? kept : buf;
		rs->scap = kept ? (w ? w : 1) : len + 1;
		buf = NULL;
	}
	rs->slen += w;
out:
	if (buf && plain)
		detour_arena_big_free(buf);
	else if (buf)
		detour_arena_big_adopt(&rs->arena, buf);
	rs->pend0 = rs->n;
	rs->nstrays = 0;
	rs->pbuf = NULL;
	rs->plen = 0;
	return e;
}

void rstr_fini(struct detour_ruleset *rs)
{
	detour_arena_big_free(rs->strs);
	free(atomic_load_explicit(&rs->plain, memory_order_acquire));
}
