/* detour: the compiled rule table. Built once from a ruleset; afterwards its
 * rules and indexes are immutable and shared by every worker thread without
 * locks (a reload builds a new table and swaps a pointer), and the only state
 * that changes is atomic: the health flags of weighted-group targets
 * (detour_table_set_healthy) and the groups' hit and draw counters. Matching
 * allocates nothing and returns the rule that comes first in file order
 * among all rules that match, whatever index found it (exact hash, splat
 * prefixes, placeholder patterns, regex prefixes).
 *
 * This header is table.c's: building and freeing. Matching is declared in
 * table_match.h (table_match.c), groups, health and explanations in
 * table_explain.h (table_explain.c); the files share lib/table_int.h. */
#ifndef DETOUR_TABLE_H
#define DETOUR_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"
#include "detour/match.h"
#include "detour/rule.h"

struct detour_table;

/* Compiles rs into a table. Takes ownership of rs in every case (it is freed
 * on failure). Returns DETOUR_OK and *out, or an error with d filled. */
detour_err detour_table_build(struct detour_ruleset *rs, struct detour_table **out,
                              struct detour_diag *d);

/* Frees t and its ruleset. NULL is a no-op. */
void detour_table_free(struct detour_table *t);

/* The ruleset the table was built from; borrowed. */
const struct detour_ruleset *detour_table_rules(const struct detour_table *t);

#endif
