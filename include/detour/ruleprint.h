/* detour: a rule printed back in the rules-file language, from the loaded
 * model (rule.h), for listings (the admin API's GET /rules, `detour ctl
 * rules list`) that must round-trip: feeding a printed line back gives the
 * same rule. See docs/rules.md. */
#ifndef DETOUR_RULEPRINT_H
#define DETOUR_RULEPRINT_H

#include <stddef.h>

#include "detour/rule.h"

struct bbuf; /* base/buf.h */

/* Writes rule r of rs (both borrowed) as one rules-file line, without a
 * newline, NUL-terminated, into out[0..cap): SOURCE TARGET STATUS, then
 * every option that is not at its default, in the order of docs/rules.md
 * (query, cache, id, conditions as written, from, until, days, hours, tz,
 * weight, sticky, health, delay, case, private, allow-hosts). A regex
 * source keeps its '~', status html is "html", times are RFC 3339 in UTC,
 * lifetimes in the largest whole unit. Parsing the line in a ruleset with
 * the same @slash policy gives a rule equal to r but for its file, line and
 * index. Returns the line's length, or 0 (and out "") when it does not fit:
 * DETOUR_RULE_LINE_MAX * 2 always does. */
size_t detour_rule_format(const struct detour_ruleset *rs, const struct detour_rule *r, char *out,
                          size_t cap);

/* Appends r's source as detour_rule_format writes it (scheme and host, a
 * wildcard host's '*', the path, a splat's '*', a regex's '~') to b. */
void detour_rule_format_source(const struct detour_ruleset *rs, const struct detour_rule *r,
                               struct bbuf *b);

#endif
