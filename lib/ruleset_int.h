/* detour (private to lib/): the inside of a ruleset, shared by the rules-file
 * parser (rulefile.c, rulesrc.c, ruleopts.c and rulelex.c, which fill it) and
 * the table (table*.c, which takes it over). Data only: the functions are in rulefile.h (public)
 * and rulelex.h. */
#ifndef DETOUR_RULESET_INT_H
#define DETOUR_RULESET_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "detour/rule.h"
#include "ruleside.h"

struct detour_ruleset {
	struct detour_arena arena; /* every string of every rule, and the file names */
	struct detour_rule
	        *rules;    /* a rule's index is its position; malloc'd, or mmap'd once large */
	bool rules_mapped; /* rules is a mapping of its own (resize_rules) */
	size_t n, cap;
	/* The string block (a big block, arena.h): each rule's path and target
	 * side by side at rules[i].off. While a file (or an added line) is
	 * parsed in place in pbuf[0..plen], its rules (pend0 on) have their
	 * path at pbuf + off and their target moved right after it; a rule
	 * whose path grew out of pbuf is a stray, its strings' addresses in
	 * strays[] (rule order). At the end of the file (rulefile.c,
	 * rulestrings.c, rstr_keep) the strings join the block, packed where that
	 * saves (rulepack.h). */
	char *strs;
	size_t slen, scap;
	/* The packed rules' strings decoded (detour_rule_path), made by the
	 * first call that needs one and published once (compare-and-swap);
	 * NULL until then. Once it exists no rule added is packed. */
	_Atomic(struct rplain *) plain;
	const char *pbuf;
	size_t plen, pend0;
	struct rstray {
		uint32_t rule;
		const char *path, *target;
	} * strays;
	size_t nstrays, strays_cap;
	/* cache= of the rules that have one (DETOUR_RULE_CACHE), in rule order. */
	struct rcache {
		uint32_t rule;
		int32_t secs;
	} * caches;
	size_t ncaches, caches_cap;
	const char **files; /* malloc'd array of names in the arena */
	unsigned nfiles;
	size_t files_cap;
	struct rside side; /* each rule's line, file, host and id= (ruleside.h) */
	/* For path normalisation and caseless patterns (in the arena):
	 * scratch_cap bytes, sized for the text parsed (ensure_scratch). */
	char *scratch;
	size_t scratch_cap;

	/* Rule extensions (rule.h), in rule order: exts[i].rule ascends.
	 * malloc'd; the arrays they point to live in the arena. */
	struct detour_rule_ext *exts;
	size_t nexts, exts_cap;
	void **codes; /* every pcre2 code compiled for the rules, freed with the ruleset */
	size_t ncodes, codes_cap;
	struct detour_tz **tzs; /* loaded zones, one per name */
	size_t ntzs, tzs_cap;
	uint8_t slash;                        /* enum detour_slash */
	bool slash_set;                       /* an "@slash" line was read */
	struct detour_diags *diags;           /* detour_ruleset_collect: every line error, go on */
	const struct detour_hscache *hscache; /* detour_ruleset_hscache; borrowed, NULL */
};

#endif
