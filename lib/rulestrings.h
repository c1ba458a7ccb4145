/* detour (private to lib/): a ruleset's string block, where every rule's
 * path and target live side by side at rules[i].off, packed against their
 * block's head where that saves (rulepack.h). The rules-file parser
 * (rulefile.c) fills a file's rules with their strings still in the parsed
 * buffer; rstr_keep moves them into the block at the end of the file. The
 * public readers (detour_rule_path, _target, _strings, and
 * detour_ruleset_strings, rulefile.h) are these in rulefile.c.
 * The layout: docs/internals/table.md, "Packed strings". */
#ifndef DETOUR_RULESTRINGS_H
#define DETOUR_RULESTRINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"
#include "rulelex.h"
#include "ruleset_int.h"

/* The block ("" before the first string). */
static inline const char *rstr_block(const struct detour_ruleset *rs)
{
	return rs->strs ? rs->strs : detour_rf_empty;
}

/* Rule r's path, NUL, target, NUL: in the block for a rule that is not
 * packed, else decoded into buf (DETOUR_RULE_PACKED_MAX bytes). */
const char *rstr_get(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf);

/* The same, valid as long as rs: a packed rule's from a plain copy of every
 * packed rule, made by the first call that needs it and published with a
 * compare-and-swap (any thread may call). */
const char *rstr_path(const struct detour_ruleset *rs, const struct detour_rule *r);

/* Whether p points into buf[0..len] (buf NULL: no). */
static inline bool rstr_inside(const char *p, const char *buf, size_t len)
{
	return buf && (uintptr_t)p >= (uintptr_t)buf && (uintptr_t)p <= (uintptr_t)buf + len;
}

/* The pending rules' strings (rs->pend0 on) join the block; e0 is
 * rs->nexts when the file began. buf[0..len] is the file's block (owned,
 * taken over or freed), or NULL for an added line. DETOUR_ENOMEM or
 * DETOUR_ETOOBIG drop the pending rules. */
detour_err rstr_keep(struct detour_ruleset *rs, size_t e0, char *buf, size_t len);

/* Frees the block and the plain copy of the packed rules. */
void rstr_fini(struct detour_ruleset *rs);

#endif
