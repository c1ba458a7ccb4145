/* detour: a table's weighted groups, their health flags and counters, and the
 * explanation of why a rule applies or not (lib/table_explain.c). See table.h. */
#ifndef DETOUR_TABLE_EXPLAIN_H
#define DETOUR_TABLE_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/match.h"
#include "detour/rule.h"
#include "detour/table.h"

/* ---------------------------------------------------------- weighted groups
 * Lines with the same source and a weight= form one group; the group sits at
 * its first member's place in file order and answers with one member chosen
 * by weight among those whose conditions and windows hold and that are
 * healthy (all of them when none is healthy). */

/* Called once per member of a weighted group that has health=: the rule's
 * index, the origin of its target ("https://m1.example.net" or with a port;
 * NUL-terminated, lives as long as t) and the health path ("/ping"). */
typedef void (*detour_health_fn)(void *arg, uint32_t rule_index, const char *origin,
                                 const char *health_path);

/* Whether rule_index is a member of a weighted group; then *first gets the
 * index of the group's first member (file order) and *n its number of
 * members (health-checked or not). False for any other rule or index. */
bool detour_table_group_of(const struct detour_table *t, uint32_t rule_index, uint32_t *first,
                           uint32_t *n);

/* Enumerates the health-checked targets of t in file order. Returns how
 * many there are. */
size_t detour_table_health_targets(const struct detour_table *t, detour_health_fn fn, void *arg);

/* Marks the target of rule_index up or down (an atomic flag, safe from any
 * thread while workers match). Every target starts up. Ignored for a rule
 * that is not a group member. */
void detour_table_set_healthy(const struct detour_table *t, uint32_t rule_index, bool up);

/* The flag set above; true for a rule that is not a group member. */
bool detour_table_healthy(const struct detour_table *t, uint32_t rule_index);

/* How many times the group chose rule_index (kept in memory per table, atomic
 * counters, for the metrics). 0 for a rule that is not a group member. */
uint64_t detour_table_variant_hits(const struct detour_table *t, uint32_t rule_index);

/* Whether regex rule rule_index is matched by the table's vectorscan
 * database (one scan a request for all of them, docs/internals/table.md,
 * "Regex sources"). When not, *why (if why is not NULL) gets vectorscan's
 * reason for a rule that would have been in it but that it cannot compile
 * (the rule stays on PCRE2, in file order), else NULL. */
bool detour_table_regex_scanned(const struct detour_table *t, uint32_t rule_index,
                                const char **why);

/* ------------------------------------------------------------ explanations */

/* Whether r's source (host, scheme, path) matches q, whatever its
 * conditions, window or group say. */
bool detour_table_source_matches(const struct detour_table *t, const struct detour_match_req *q,
                                 const struct detour_rule *r);

/* Writes one line per fact that decides whether r applies to q: each
 * condition with its result, the window state and its end, the group's
 * choice and why. fn gets NUL-terminated lines without a newline. Returns
 * whether r applies (as detour_table_match would judge it). */
bool detour_table_explain(const struct detour_table *t, const struct detour_match_req *q,
                          const struct detour_rule *r, void (*fn)(void *arg, const char *line),
                          void *arg);

#endif
