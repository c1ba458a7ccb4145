/* detour: lint's vocabulary (lint_rules.c, the leaf of the lint): the
 * names and severities of the codes, a rule's source as written, and the
 * options that decide when a rule applies. Used by the lint passes and by
 * the command line that prints findings and the redirect graph. */
#ifndef DETOUR_LINT_RULES_H
#define DETOUR_LINT_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/lint_types.h"
#include "detour/rule.h"

/* The code's stable name ("loop"), never NULL. */
const char *detour_lint_code_name(enum detour_lint_code c);

/* The code's severity. */
enum detour_lint_severity detour_lint_code_severity(enum detour_lint_code c);

/* "warning" or "error". */
const char *detour_lint_severity_name(enum detour_lint_severity s);

/* Writes rule r's SOURCE as it can be written in a rules file
 * (a wildcard host as "*.example.com", a splat as "/blog/" and a star, "/docs/:v/:p") into
 * buf, NUL-terminated and truncated to cap. Returns buf. */
const char *detour_lint_source_text(const struct detour_ruleset *rs, const struct detour_rule *r,
                                    char *buf, size_t cap);

/* Whether r applies only to some requests of its source: it has a condition
 * (method=, if-*=), a time window, or an open-redirect guard (allow-hosts
 * with captures in the scheme or host). A member of a weighted group is not
 * conditional by this test (see detour_lint_conditions). */
bool detour_lint_conditional(const struct detour_ruleset *rs, const struct detour_rule *r);

/* Writes the options that decide when r applies, as written ("method=POST
 * if-cookie=beta from=2026-11-01T00:00:00Z weight=3"; the window's from and
 * until in UTC, days=/hours=/tz= summed up as "days/hours"), space-separated,
 * into buf (NUL-terminated, truncated to cap); "" when none. Returns buf. */
const char *detour_lint_conditions(const struct detour_ruleset *rs, const struct detour_rule *r,
                                   char *buf, size_t cap);

#endif
