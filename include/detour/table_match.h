/* detour: matching a request against a compiled table (lib/table_match.c).
 * Lock-free on a shared table; allocates nothing. See table.h. */
#ifndef DETOUR_TABLE_MATCH_H
#define DETOUR_TABLE_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/match.h"
#include "detour/rule.h"
#include "detour/table.h"

/* Finds the first rule (in file order) matching q. Returns true and fills m,
 * or false when no rule matches. Thread-safe on a shared table. */
bool detour_table_match(const struct detour_table *t, const struct detour_match_req *q,
                        struct detour_match *m);

/* Fills m as detour_table_match fills it for its winner, for rule r (a rule
 * of t) whose source matches q (detour_table_source_matches): m->rule = r,
 * the splat, the captures and their names (re-running r's regex when it has
 * one), m->ext (NULL for a plain rule); window_end INT64_MAX, no cookie,
 * variant 0, since r's window and group are not evaluated. The slices point
 * into q->path and r; borrowed. For callers that follow a rule the table did
 * not choose (lint's walks of conditional rules). */
void detour_table_fill_match(const struct detour_table *t, const struct detour_match_req *q,
                             const struct detour_rule *r, struct detour_match *m);

#endif
