/* detour: the types of a lint result (`detour lint`): the stable codes, their
 * severities, a finding and the result that holds them. Types only, below
 * every lint file: lint_rules.c creates findings, lint.c returns the result
 * (lint.h), the command line prints it. See docs/lint.md. */
#ifndef DETOUR_LINT_TYPES_H
#define DETOUR_LINT_TYPES_H

#include <stddef.h>
#include <stdint.h>

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
	DETOUR_LINT_SECOND_HOP,       /* "second-hop": detour redirects the target again
	                                 (https-redirect, canonical-host, trailing-slash) */
	DETOUR_LINT_HSTS_PRELOAD,     /* "hsts-preload": `hsts ... preload` without what the
	                                 preload list requires */
	DETOUR_LINT_REGEX_COST,       /* "regex-cost": every request runs many regexes
	                                 (no literal prefix to index them by) */
	DETOUR_LINT_REGEX_PCRE2,      /* "regex-pcre2": a regex vectorscan cannot compile stays
	                                 on PCRE2, tried in file order (note) */
	DETOUR_LINT_CODE_COUNT
};

/* The rule of a finding about the configuration, not a rule (lint_canon.h). */
#define DETOUR_LINT_NO_RULE UINT32_MAX

enum detour_lint_severity {
	DETOUR_LINT_NOTE = 0, /* information: not counted in the exit status */
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
	uint32_t rule;    /* index of the rule the finding is about, or DETOUR_LINT_NO_RULE */
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
	size_t errors, warnings, notes;
};

#endif
