/* detour (private to lib/): the leaf of the rule-table lint, read top-down:
 *   lint.c         the entry point, the result, next-rule queries
 *   lint_shadow.c  duplicates, conflicts and shadowing
 *   lint_risk.c    windows, weights, cache, method changes, open redirects
 *   lint_chain.c   loops, chains and flattening, over
 *   lint_walk.c    following a rule's targets through the table
 *   lint_rules.c   this leaf: the types every file shares and the helpers
 *                  they all call (strings, findings, rule text, examples)
 * Each file calls only files below it. This header and detour/lint_rules.h
 * (the leaf's public functions) declare only lint_rules.c's functions; the
 * result types are detour/lint_types.h. See detour/lint.h for the contract. */
#ifndef DETOUR_LINT_RULES_INT_H
#define DETOUR_LINT_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"
#include "detour/lint_rules.h"
#include "detour/lint_types.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table.h"

#define PROBE       "lint-probe" /* label put before a wildcard host's suffix */
#define HOST_BUF    256
#define PATH_CAP    (3 * DETOUR_RULE_LINE_MAX + 64)
#define LOC_CAP     (DETOUR_LOCATION_MAX + 1)
#define MAX_CONTEXT 64 /* hosts a host-less rule is also followed on */
#define SHOW_STATES 6  /* states shown of a walk that never ends */

/* ------------------------------------------------------------ text helpers */

/* Messages are built in base/buf.h's byte writer, growing mode, at most
 * LINT_TEXT_MAX bytes: a failure (out of memory) is sticky, every later write
 * is ignored, and it shows once when the text is taken (NULL). A writer
 * starts as LINT_TEXT, which is what bbuf_init(&b, LINT_TEXT_MAX) sets; text
 * goes in with bbuf_put, bbuf_puts and detour_lint_sb_fmt, and comes out
 * with bbuf_take (the caller frees it). */
#define LINT_TEXT_MAX (64u << 20)
#define LINT_TEXT                                                                                  \
	{                                                                                          \
		.p = bbuf_empty_, .max = LINT_TEXT_MAX                                             \
	}

/* Appends printf-style text to b (at most 511 bytes of it). */
void detour_lint_sb_fmt(struct bbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ state */

struct state {
	char host[HOST_BUF]; /* canonical (lower case, no port, no trailing dot) */
	size_t hl;           /* 0: no host (a host-less rule on any host) */
	bool https;
	char *path; /* normalised, PATH_CAP bytes */
	size_t pl;
	char *query; /* LOC_CAP bytes */
	size_t ql;
	bool has_query;
	char *loc; /* the Location that led here (LOC_CAP bytes), state 0: none */
	size_t ll;
	bool loc_abs; /* loc has a scheme */
};

enum wend {
	W_NOT_R = 0, /* the rule does not answer its own example request here */
	W_END,       /* the last Location is not redirected again */
	W_LEAVES,    /* the last Location names a host the table does not serve */
	W_LOOP,      /* state nhops equals state loop_at */
	W_LONG,      /* max_hops redirects and still going */
};

struct walk {
	enum wend end;
	unsigned nhops;   /* redirects issued */
	unsigned loop_at; /* W_LOOP */
	bool via_group;   /* a later hop was a weighted group: no flattening */
	unsigned nmay;    /* hops after the first whose rule applies to some requests */
};

struct hostref {
	const char *name;
	uint16_t len;
	bool wild;
};

/* A pending finding built while walking. */
struct lint {
	const struct detour_table *t;
	const struct detour_ruleset *rs;
	size_t n;
	unsigned max_hops;
	time_t now;
	struct detour_lint_result *out;
	size_t cap;
	bool nomem;

	uint8_t *dead;  /* 1: never answers (duplicate, shadowed): not walked */
	uint32_t *same; /* first rule with the same source + 1, 0: none */
	bool scheme_rules;
	struct hostref *hosts; /* sorted, distinct */
	size_t nhosts;

	struct state *st; /* max_hops + 1 */
	uint32_t *hop;    /* rule of each hop */
	uint64_t *loops;  /* keys of loops already reported */
	size_t nloops, loops_cap;

	uint32_t *splats; /* unconditional splat rules, in file order (regex shadowing) */
	size_t nsplats;
	uint32_t *conds; /* live rules with conditions or a window, in file order */
	size_t nconds;
	uint32_t *gfirst; /* weighted member: first member of its group + 1; else 0 */
	bool *may;        /* per hop: the rule applies only to some requests */

	/* the names of the rule being walked, for the sentinels */
	struct detour_slice names[DETOUR_MAX_CAPTURES + 1];
	unsigned nnames;
};

/* ------------------------------------------------------ lint_rules.c */

/* Appends "file:line" of rule i to b. */
void detour_lint_rule_ref(const struct lint *L, uint32_t i, struct bbuf *b);
/* Adds a finding to L->out with message msg and fix (both taken over: b is
 * emptied; fix may be NULL) and a copy of related rules rel[0..nrel). Returns
 * the finding (owned by L->out), or NULL with L->nomem set. */
struct detour_lint_finding *detour_lint_add(struct lint *L, enum detour_lint_code code,
                                            uint32_t rule, struct bbuf *msg, struct bbuf *fix,
                                            const uint32_t *rel, size_t nrel);
/* r's extension (borrowed from rs), NULL when it has none. */
const struct detour_rule_ext *detour_lint_ext_of(const struct detour_ruleset *rs,
                                                 const struct detour_rule *r);
/* Whether r depends on the request itself (conditions) or the clock (a
 * window): a walk that goes through it "may" redirect. */
bool detour_lint_walk_conditional(const struct detour_ruleset *rs, const struct detour_rule *r);
/* r's weight=, 0: none. */
uint32_t detour_lint_weight_of(const struct detour_ruleset *rs, const struct detour_rule *r);
/* Whether r matches without regard to case. */
bool detour_lint_case_i(const struct detour_ruleset *rs, const struct detour_rule *r);
/* Appends r's conditions, window and weight, as written in a rules file. */
void detour_lint_sb_cond_text(struct bbuf *b, const struct detour_ruleset *rs,
                              const struct detour_rule *r);
/* Whether rule w always applies when its source matches. */
bool detour_lint_unconditional(const struct lint *L, const struct detour_rule *w);
/* An example path r's source matches, written to out (cap bytes), its length
 * in *len. Returns false when none fits. */
bool detour_lint_example_path(const struct detour_ruleset *rs, const struct detour_rule *r,
                              char *out, size_t cap, size_t *len);
/* An example host for r in out (HOST_BUF bytes). Returns its length, 0: r
 * names no host. */
size_t detour_lint_example_host(const struct detour_ruleset *rs, const struct detour_rule *r,
                                char *out);

#endif
