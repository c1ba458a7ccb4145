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
#include "detour/table.h"

/* Stable codes (docs/lint.md); never renumber, only append. */
enum detour_lint_code {
	DETOUR_LINT_LOOP = 0,         /* "loop": following the rule never ends (error) */
	DETOUR_LINT_SELF,             /* "self-redirect": the target is the source (error) */
	DETOUR_LINT_CHAIN,            /* "chain": the target is redirected 2+ more times */
	DETOUR_LINT_TARGET_REDIRECTS, /* "target-redirects": redirected once more */
	DETOUR_LINT_SHADOWED,         /* "shadowed": an earlier rule takes all its requests */
	DETOUR_LINT_DUPLICATE,        /* "duplicate": same source, target and options */
	DETOUR_LINT_CONFLICT,         /* "conflict": same source, another answer (error) */
	DETOUR_LINT_PERM_NO_CACHE,    /* "permanent-no-cache": 301/308 without cache= */
	DETOUR_LINT_METHOD_CHANGE,    /* "method-change": 301/302 on a rule for POST/PUT */
	DETOUR_LINT_WINDOW_ENDED,     /* "window-ended": until= is past: never applies again */
	DETOUR_LINT_WINDOW_NEVER,     /* "window-never": from= is not before until= */
	DETOUR_LINT_WEIGHTS,          /* "weights": a weighted group that does not add up */
	DETOUR_LINT_OPEN_REDIRECT,    /* "open-redirect": a request chooses the Location's
	                                 scheme (and host, among allow-hosts) */
	DETOUR_LINT_MAY_LOOP,         /* "may-loop": a loop through a rule with conditions,
	                                 a time window or a weight (only some requests) */
	DETOUR_LINT_CODE_COUNT
};

enum detour_lint_severity {
	DETOUR_LINT_WARNING = 1,
	DETOUR_LINT_ERROR = 2,
};

/* How --fix applies a finding. */
enum detour_lint_edit {
	DETOUR_LINT_EDIT_NONE = 0,
	DETOUR_LINT_EDIT_TARGET, /* replace the TARGET field of the rule's line with edit */
	DETOUR_LINT_EDIT_INSERT, /* insert the rule line edit just before the rule's line */
};

struct detour_lint_finding {
	enum detour_lint_code code;
	enum detour_lint_severity severity;
	uint32_t rule;    /* index of the rule the finding is about */
	const char *file; /* borrowed from the table's ruleset */
	unsigned line;
	char *message; /* one line, no file:line and no code; owned by the result */
	char *fix;     /* the suggested fix as one line of text, or NULL; owned */
	enum detour_lint_edit edit_kind;
	char *edit;        /* see enum detour_lint_edit; NULL for NONE; owned */
	uint32_t *related; /* rule indexes involved, in order (the cycle, the chain's
	                      hops after this rule, the shadowing rule); owned */
	size_t nrelated;
};

struct detour_lint_result {
	struct detour_lint_finding *v; /* sorted by file, line, code */
	size_t n;
	size_t errors, warnings;
};

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

/* The code's stable name ("loop"), never NULL. */
const char *detour_lint_code_name(enum detour_lint_code c);

/* The code's severity. */
enum detour_lint_severity detour_lint_code_severity(enum detour_lint_code c);

/* "warning" or "error". */
const char *detour_lint_severity_name(enum detour_lint_severity s);

/* Writes rule r's SOURCE as it can be written in a rules file
 * (a wildcard host as "*.example.com", a splat as "/blog/" and a star, "/docs/:v/:p") into
 * buf, NUL-terminated and truncated to cap. Returns buf. */
const char *detour_lint_source_text(const struct detour_rule *r, char *buf, size_t cap);

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
