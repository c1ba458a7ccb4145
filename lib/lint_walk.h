/* detour (private to lib/): following a rule's targets through the table,
 * for lint_chain.c and the next-rule queries of lint.c (lint_walk.c). */
#ifndef DETOUR_LINT_WALK_H
#define DETOUR_LINT_WALK_H

#include <stdbool.h>

#include "lint_rules_int.h"

/* Fills L->hosts (sorted, distinct) and L->scheme_rules. Returns 0, or -1
 * when out of memory. */
int detour_lint_collect_hosts(struct lint *L);
/* Fills L->splats (splats == true) or L->conds (owned by L) with the live
 * rules. Returns 0, or -1 when out of memory. */
int detour_lint_index_rules(struct lint *L, bool splats);
/* Sets L->names to r's placeholder names (borrowed from r). */
void detour_lint_set_names(struct lint *L, const struct detour_rule *r);
/* Follows rule r from its example request on (host, https) into L->st,
 * L->hop and L->may; *w tells how it ended. */
void detour_lint_walk(struct lint *L, const struct detour_rule *r, const char *host, size_t hl,
                      bool https, struct walk *w);
/* The request of state s (pointing into s). */
struct detour_match_req detour_lint_req_of(const struct lint *L, const struct state *s);
/* The rule a client asking q meets in a walk, into *m; *may: it answers only
 * some requests; *group: a weighted group. Returns false when none does. */
bool detour_lint_resolve(struct lint *L, const struct detour_match_req *q, struct detour_match *m,
                         bool *may, bool *group);
/* Appends s[0..n) with every "~name~" of the walked rule as ":name". */
void detour_lint_sb_unsentinel(const struct lint *L, struct bbuf *b, const char *s, size_t n);
/* Appends the scheme and host of s ("*.suffix" for a wildcard probe). */
void detour_lint_sb_host(struct bbuf *b, const struct state *s);
/* Appends state k as shown in messages (host when not that of state prev). */
void detour_lint_sb_state(const struct lint *L, struct bbuf *b, unsigned k, int prev);

#endif
