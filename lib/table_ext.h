/* detour (private to lib/): what a rule's extension decides at match time
 * (table_ext.c), for table_match.c and table_explain.c. */
#ifndef DETOUR_TABLE_EXT_H
#define DETOUR_TABLE_EXT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "table_int.h"

/* How a weighted group chose (explain names it). */
enum detour_tbl_why { WHY_COOKIE, WHY_IP, WHY_RANDOM, WHY_ONLY };

/* Fills m for rule r matching path[0..n): splat, captures, and the defaults
 * of the extension fields. */
void detour_tbl_fill_match(const struct detour_table *t, const struct detour_rule *r,
                           const char *path, size_t n, struct detour_match *m);

/* The clock of s: the request's, else time() read once per search. */
time_t detour_tbl_clock(struct search *s);

/* The open-redirect guard: whether the Location rule r (extension x) would
 * send for s's request is a path, or names one of x's allow-hosts. */
bool detour_tbl_location_allowed(const struct search *s, const struct detour_rule *r,
                                 const struct detour_rule_ext *x);

/* Chooses a member of group g for s's request among those whose own window
 * and conditions hold and that are healthy (all that hold when none is).
 * Returns false when none holds; else the member's rule index, its window's
 * end, the cookie to set (or NULL), its position and how it was chosen. */
bool detour_tbl_group_choose(struct search *s, const struct group *g, uint32_t *rule, int64_t *end,
                             const char **cookie, unsigned *variant, enum detour_tbl_why *why);

/* applies() for a rule with an extension: its window, conditions, guard and
 * group; fills s->pend_*. */
bool detour_tbl_applies_ext(struct search *s, const struct detour_rule *r);

#endif
