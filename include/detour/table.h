/* detour: the compiled rule table. Built once from a ruleset; afterwards its
 * rules and indexes are immutable and shared by every worker thread without
 * locks (a reload builds a new table and swaps a pointer), and the only state
 * that changes is atomic: the health flags of weighted-group targets
 * (detour_table_set_healthy) and the groups' hit and draw counters. Matching
 * allocates nothing and returns the rule that comes first in file order
 * among all rules that match, whatever index found it (exact hash, splat
 * prefixes, placeholder patterns, regex prefixes). */
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
