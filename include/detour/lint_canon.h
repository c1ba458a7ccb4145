/* detour: lint of the HTTPS settings of a configuration against its rules
 * (`detour lint -c detour.conf`, docs/lint.md): rules whose target detour
 * would canonicalise again (a second hop), and what the HSTS preload list
 * requires and the configuration misses. Uses canon.h, the code the server
 * folds its hops with, so lint and serve agree. Pure: no printing. */
#ifndef DETOUR_LINT_CANON_H
#define DETOUR_LINT_CANON_H

#include "detour/common.h"
#include "detour/config.h"
#include "detour/lint_types.h"
#include "detour/table.h"

/* The HSTS preload list's minimum max-age: one year (hstspreload.org). */
#define DETOUR_HSTS_PRELOAD_MIN_AGE 31536000u

/* Appends to *out (a result of detour_lint, or a zeroed one) the findings
 * about c's hsts, https-redirect, canonical-host and trailing-slash with
 * t's rules, then sorts out->v again and recounts errors and warnings.
 *   second-hop: a rule's target that detour would redirect again (an http://
 *     target on a host detour sends to https, a target on an alias, a path
 *     that trailing-slash changes); its fix is the canonical target;
 *   hsts-preload (with `hsts ... preload`): max-age under a year, no
 *     includeSubDomains, no https-redirect, or a host whose plain "/" does
 *     not go to https on the same host first.
 * Findings about the configuration itself have rule DETOUR_LINT_NO_RULE
 * and name c->file (borrowed: c outlives *out). Returns DETOUR_OK or
 * DETOUR_ENOMEM. */
detour_err detour_lint_canon(const struct detour_table *t, const struct detour_config *c,
                             struct detour_lint_result *out);

#endif
