/* detour (private to lib/): the lint pass over risky choices: windows,
 * weighted groups, cache, method changes and open redirects (lint_risk.c). */
#ifndef DETOUR_LINT_RISK_H
#define DETOUR_LINT_RISK_H

#include <stdbool.h>

#include "lint_rules_int.h"

/* Windows that never open or have ended (marked dead). */
void detour_lint_check_windows(struct lint *L);
/* Fills L->gfirst. Sets L->nomem when out of memory. */
void detour_lint_group_index(struct lint *L);
/* Weighted groups of one, and percentages that do not total 100. */
void detour_lint_check_groups(struct lint *L);
/* permanent-no-cache, method-change and open-redirect. */
void detour_lint_check_choices(struct lint *L);
/* regex-cost: the regexes every request of a host runs. Sets L->nomem when
 * out of memory. */
void detour_lint_check_regex_cost(struct lint *L);

/* regex-pcre2: the regexes the table's vectorscan database would hold but
 * that vectorscan cannot compile (a note each, with its reason). Sets
 * L->nomem when out of memory. */
void detour_lint_check_regex_pcre2(struct lint *L);

#endif
