/* detour: static analysis of a whole rule table (`detour lint`). Finds
 * redirect loops and chains by following every rule's target through the
 * same table the server matches with (detour_table_match and
 * detour_respond_location, so lint and serve cannot disagree), rules that an
 * earlier rule shadows, duplicate and conflicting sources, and risky choices
 * of status and cache lifetime. Pure: no printing, no files; the caller owns
 * the result. The exact rules of every check are in docs/lint.md. */
#ifndef DETOUR_LINT_H
#define DETOUR_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "detour/common.h"
#include "detour/lint_rules.h"
#include "detour/lint_types.h"
#include "detour/table.h"

struct detour_lint_opts {
	time_t now;        /* the clock for time windows; 0: time(NULL) */
	unsigned max_hops; /* redirects followed from one rule before calling it a loop; 0: 32 */
};

#define DETOUR_LINT_MAX_HOPS 32

/* Analyses every rule of t (borrowed, read-only; t may be shared with
 * running workers). Fills *out, which the caller releases with
 * detour_lint_result_fini (also after an error). opts may be NULL.
 * Returns DETOUR_OK or DETOUR_ENOMEM. */
detour_err detour_lint(const struct detour_table *t, const struct detour_lint_opts *opts,
                       struct detour_lint_result *out);

/* Frees everything *r owns and zeroes it. */
void detour_lint_result_fini(struct detour_lint_result *r);

/* The rule index that the first request r answers would go to next: the
 * rule matching r's target (followed with example values for placeholders),
 * or -1 when the target is not redirected again by t (or r is a 410). For
 * drawing the redirect graph. */
int64_t detour_lint_next_rule(const struct detour_table *t, const struct detour_rule *r);

/* As detour_lint_next_rule with the clock now (0: time(NULL)); *may (may be
 * NULL) is set when the next rule applies only to some requests (it has
 * conditions or a time window and comes before the rule that always answers
 * there). */
int64_t detour_lint_next_rule_at(const struct detour_table *t, const struct detour_rule *r,
                                 time_t now, bool *may);

#endif
