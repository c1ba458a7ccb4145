/* detour: the result of matching a request (struct detour_match_req, rule.h)
 * against the rules: the rule that answers, the splat, the captures and what
 * the rule's extension decided. The table fills it (detour_table_match,
 * table.h); the response builder (respond.h), the table's open-redirect
 * guard and lint read it. Types only, so that respond.h needs nothing of the
 * table. */
#ifndef DETOUR_MATCH_H
#define DETOUR_MATCH_H

#include <stdint.h>

#include "detour/common.h"
#include "detour/rule.h"

/* The result: borrowed pointers into the table and into the match_req. */
struct detour_match {
	const struct detour_rule *rule;
	/* The rule's target, NUL-terminated (in its ruleset's strings, or
	 * decoded into text for a packed rule: rulepack.h); canon.c rebases
	 * it, so respond.c reads this, not the rule's. The rule's path:
	 * detour_rule_path(). */
	const char *target;
	uint16_t target_len;
	uint32_t index; /* the rule's index in its ruleset; UINT32_MAX for canon.c's own rule */
	int32_t cache;  /* the rule's cache=: DETOUR_CACHE_UNSET, _NO_STORE or seconds */
	struct detour_slice splat; /* the "*" part, p == NULL if the rule has none */
	unsigned ncaps;            /* :name placeholders, in source order */
	struct detour_slice names[DETOUR_MAX_CAPTURES]; /* names without ':' (point into path) */
	struct detour_slice caps[DETOUR_MAX_CAPTURES];
	/* Set for rules with an extension (NULL / defaults otherwise): */
	const struct detour_rule_ext *ext; /* the rule's extension, NULL if none */
	int64_t window_end; /* end of the rule's current time window (Unix seconds): cache
	                       lifetimes are cut to it; INT64_MAX when no window */
	const char *cookie; /* sticky=cookie: the cookie name to set (NUL-terminated), or NULL */
	unsigned variant;   /* weighted group: position of the chosen rule in its group; the
	                       cookie's value */
	char text[DETOUR_RULE_PACKED_MAX]; /* a packed rule's target, decoded */
};

#endif
