/* detour (private to lib/): the lint pass over walks: loops, chains and
 * flattening (lint_chain.c). */
#ifndef DETOUR_LINT_CHAIN_H
#define DETOUR_LINT_CHAIN_H

#include <stdbool.h>

#include "lint_rules_int.h"

/* Follows every live rule and reports loops and chains. */
void detour_lint_check_walks(struct lint *L);

#endif
