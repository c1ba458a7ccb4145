/* detour (private to lib/): the lint pass over sources: duplicates, conflicts
 * and shadowing (lint_shadow.c). */
#ifndef DETOUR_LINT_SHADOW_H
#define DETOUR_LINT_SHADOW_H

#include <stdbool.h>

#include "lint_rules_int.h"

/* Fills L->same. Returns 0, or -1 when out of memory. */
int detour_lint_find_same_sources(struct lint *L);
/* Same-source duplicates and conflicts (marks the later rule dead). */
void detour_lint_check_duplicates(struct lint *L);
/* Rules an earlier rule takes every request of (marked dead). */
void detour_lint_check_shadowed(struct lint *L);

#endif
