/* detour (private to lib/): packed rule strings. A million generated rules
 * ("/r/417 /target/417 301") repeat most of each path and target in the
 * next rule's; the ruleset's string block (ruleset_int.h) keeps a rule of
 * a block of RULEPACK_BLOCK rules (file order) as the difference from the
 * block's first rule, its head:
 *
 *   [sp] path[sp..pl) [st] target[st..tl)
 *
 * sp and st (one byte each) are the lengths the path and the target share
 * with the head's, pl and tl the rule's path_len and target_len (the rule
 * holds them), so a packed rule needs no NUL. Only exact rules without an
 * extension whose two strings fit DETOUR_RULE_PACKED_MAX bytes (NULs
 * included) and that save RULEPACK_MIN_SAVE bytes or more are packed (flag
 * DETOUR_RULE_PACKED, rule.h); a head never is, so one rule's strings are
 * always the head's plus its own bytes. The table compares a packed path
 * in place (rulepack_path_eq) and decodes a target only for the rule that
 * answers; everything else goes through detour_rule_path and
 * detour_rule_target (rulefile.h), which decode once into a plain copy.
 * See docs/internals/table.md, "Packed strings". */
#ifndef DETOUR_RULEPACK_H
#define DETOUR_RULEPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "detour/rule.h"

#define RULEPACK_BLOCK    16 /* rules a block; rule i's head: rulepack_head(i) */
#define RULEPACK_MIN_SAVE 4  /* bytes a packed rule must save */

/* The index of rule i's block head: the first rule of its block, never
 * packed, against which the others of the block are packed. A macro so
 * that it keeps i's type (the table's hot path indexes with uint32_t). */
#define rulepack_head(i) ((i) & ~(__typeof__(i))(RULEPACK_BLOCK - 1))

/* Whether rule i (r) may be packed: not a head, exact, no extension,
 * strings small enough. */
static inline bool rulepack_eligible(const struct detour_rule *r, size_t i)
{
	return i != rulepack_head(i) && r->kind == DETOUR_SRC_EXACT &&
	       !(r->flags & DETOUR_RULE_EXT) &&
	       (size_t)r->path_len + r->target_len + 2 <= DETOUR_RULE_PACKED_MAX;
}

/* Writes the packed form of path p[0..pl) and target q[0..tl) against the
 * head's hp[0..hpl) and hq[0..hql) to out (at most pl + tl + 2 bytes) and
 * returns its length; 0 (nothing written) when it would not save
 * RULEPACK_MIN_SAVE bytes. pl + tl + 2 <= DETOUR_RULE_PACKED_MAX. */
size_t rulepack_encode(char *out, const char *hp, size_t hpl, const char *hq, size_t hql,
                       const char *p, size_t pl, const char *q, size_t tl);

/* The packed length of rule enc (path pl, target tl bytes). */
static inline size_t rulepack_len(const char *enc, size_t pl, size_t tl)
{
	size_t sp = (unsigned char)enc[0], st = (unsigned char)enc[1 + pl - sp];

	return 2 + pl - sp + tl - st;
}

/* a[0..n) == b[0..n) and a copy of n bytes, inline and with few
 * branches: a packed rule's runs are a few bytes, for which a call to
 * memcmp or memcpy costs more than the work. Loads of 8, 4 or 2 bytes, the
 * last one overlapping the one before; nothing outside [0, n) is read. */
#define RULEPACK_LOAD(T, p)                                                                        \
	({                                                                                         \
		T v_;                                                                              \
		memcpy(&v_, (p), sizeof(T));                                                       \
		v_;                                                                                \
	})

static inline bool rulepack_eq(const char *a, const char *b, size_t n)
{
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (RULEPACK_LOAD(uint64_t, a + i) != RULEPACK_LOAD(uint64_t, b + i))
				return false;
		return RULEPACK_LOAD(uint64_t, a + n - 8) == RULEPACK_LOAD(uint64_t, b + n - 8);
	}
	if (n >= 4)
		return ((RULEPACK_LOAD(uint32_t, a) ^ RULEPACK_LOAD(uint32_t, b)) |
		        (RULEPACK_LOAD(uint32_t, a + n - 4) ^
		         RULEPACK_LOAD(uint32_t, b + n - 4))) == 0;
	if (n >= 2)
		return ((RULEPACK_LOAD(uint16_t, a) ^ RULEPACK_LOAD(uint16_t, b)) |
		        (RULEPACK_LOAD(uint16_t, a + n - 2) ^
		         RULEPACK_LOAD(uint16_t, b + n - 2))) == 0;
	return n == 0 || a[0] == b[0];
}

static inline void rulepack_cpy(char *d, const char *s, size_t n)
{
	if (n >= 8) {
		uint64_t last = RULEPACK_LOAD(uint64_t, s + n - 8);
		for (size_t i = 0; i + 8 < n; i += 8)
			memcpy(d + i, s + i, 8);
		memcpy(d + n - 8, &last, 8);
	} else if (n >= 4) {
		uint32_t x = RULEPACK_LOAD(uint32_t, s), y = RULEPACK_LOAD(uint32_t, s + n - 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else if (n >= 2) {
		uint16_t x = RULEPACK_LOAD(uint16_t, s), y = RULEPACK_LOAD(uint16_t, s + n - 2);
		memcpy(d, &x, 2);
		memcpy(d + n - 2, &y, 2);
	} else if (n) {
		d[0] = s[0];
	}
}

/* Decodes only the path of packed rule enc (pl bytes, head path hp) into
 * out (pl + 1 bytes, NUL included). */
static inline void rulepack_path(char *out, const char *enc, const char *hp, size_t pl)
{
	size_t sp = (unsigned char)enc[0];

	rulepack_cpy(out, hp, sp);
	rulepack_cpy(out + sp, enc + 1, pl - sp);
	out[pl] = '\0';
}

/* Decodes packed rule enc (path pl, target tl bytes; head path hp, head
 * target hq) into out: the path and its NUL, then the target and its NUL
 * (pl + tl + 2 bytes). */
void rulepack_decode(char *out, const char *enc, const char *hp, const char *hq, size_t pl,
                     size_t tl);

/* Whether the path of packed rule enc (pl bytes, head path hp) equals
 * s[0..pl). */
static inline bool rulepack_path_eq(const char *enc, const char *hp, size_t pl, const char *s)
{
	size_t sp = (unsigned char)enc[0];

	return rulepack_eq(hp, s, sp) && rulepack_eq(enc + 1, s + sp, pl - sp);
}

/* Decodes only the target of packed rule enc into out (tl + 1 bytes, NUL
 * included). */
static inline void rulepack_target(char *out, const char *enc, const char *hq, size_t pl, size_t tl)
{
	const char *t = enc + 1 + pl - (unsigned char)enc[0];
	size_t st = (unsigned char)t[0];

	rulepack_cpy(out, hq, st);
	rulepack_cpy(out + st, t + 1, tl - st);
	out[tl] = '\0';
}

#endif
