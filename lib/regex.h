/* detour (private to lib/): PCRE2 sources (regex.c), for "~" sources,
 * case=insensitive and if-header=Name:~regex. Used by the parser (ruleopts.c
 * compiles, rulelex.c and rulefile.c free), the table (table_match.c,
 * table_ext.c and table_explain.c match) and cond.c; calls nothing of
 * detour. Nothing here allocates on the request path but the per-thread
 * match data (detour_re_match). */
#ifndef DETOUR_REGEX_H
#define DETOUR_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/rule.h"

/* Compiles pat[0..n) (PCRE2, caseless when asked) and JIT-compiles it.
 * Returns the code (free with detour_re_free), or NULL with *erroff (offset
 * in pat) and msg filled. */
void *detour_re_compile(const char *pat, size_t n, bool caseless, size_t *erroff, char *msg,
                        size_t cap);

void detour_re_free(void *code);

/* Number of capture groups of code. */
unsigned detour_re_groups(const void *code);

/* Fills names[0..ngroups) with the names of groups 1..ngroups (len 0 for an
 * unnamed group); the names point into code. */
void detour_re_names(const void *code, struct detour_slice *names, unsigned ngroups);

/* The literal prefix every match of pat starts with, cut after its last '/'
 * (see struct detour_rule_ext); written to out (at least n bytes), lower case
 * when caseless. Returns its length, 0 when there is none. */
size_t detour_re_prefix(const char *pat, size_t n, bool caseless, char *out);

/* Runs code on s[0..n). Returns true on a match; then, when ov is not NULL,
 * ov[2i], ov[2i + 1] hold the offsets of group i for i <= ngroups (both
 * SIZE_MAX for a group that did not take part). ov holds 2 * (1 +
 * DETOUR_MAX_CAPTURES) entries. Uses a match data block private to the
 * calling thread, created on its first regex match (the one allocation, once
 * per thread, freed when the thread exits); a failure to create it counts as
 * no match. */
bool detour_re_match(const void *code, const char *s, size_t n, size_t *ov);

#endif
