/* detour (private to lib/): the rule-language helpers shared by the parser
 * (ruleopts.c parses options into a struct detour_rule_ext), the table
 * (table_ext.c, table_match.c and table_explain.c evaluate them on candidate
 * rules), lint and respond.c; below all of them, calling none:
 *   regex.c   PCRE2 sources: compile + JIT, literal prefix, match
 *   cond.c    conditions: parse one option value, evaluate on a request
 *   window.c  time windows: RFC 3339 times, days=, hours=, evaluation
 * Nothing here allocates on the request path. */
#ifndef DETOUR_RULES_INT_H
#define DETOUR_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "detour/rule.h"
#include "detour/rulefile.h"

/* ------------------------------------------------------------------ regex */

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

/* ------------------------------------------------------------- conditions */

/* Parses the value v[0..n) of condition option kind (enum detour_cond_kind)
 * into c (arrays go to the arena; a header regex is compiled and appended to
 * *codes via keep(codes_arg, code)). Returns NULL, or an error message with
 * *errat the offset in v to point at. */
const char *detour_cond_parse(struct detour_cond *c, unsigned kind, const char *v, size_t n,
                              struct detour_arena *a, void (*keep)(void *arg, void *code),
                              void *keep_arg, size_t *errat);

/* Whether c holds for q (negation applied). */
bool detour_cond_eval(const struct detour_cond *c, const struct detour_match_req *q);

/* Writes "if-header=X-Beta:1 holds (X-Beta: 1)" style text for explain. */
void detour_cond_describe(const struct detour_cond *c, const struct detour_match_req *q, char *out,
                          size_t cap);

/* The value of the first Cookie pair named name[0..nl) in q's Cookie
 * headers; false when absent. */
bool detour_req_cookie(const struct detour_match_req *q, const char *name, size_t nl,
                       struct detour_slice *val);

/* The request's address as 16 bytes (IPv4 mapped to ::ffff:a.b.c.d); false
 * when unknown. base/cidr.h's cidr_addr_of, under the name table.c uses. */
bool detour_peer_bytes(const struct sockaddr *sa, uint8_t out[16]);

/* ---------------------------------------------------------------- windows */

/* days=sat,sun or mon-fri: sets *mask (bit 0 Sunday). Returns NULL or an
 * error message with *errat. */
const char *detour_days_parse(const char *v, size_t n, uint8_t *mask, size_t *errat);

/* hours=09:00-17:30 (24:00 allowed as an end): seconds of the day. */
const char *detour_hours_parse(const char *v, size_t n, int32_t *from, int32_t *to, size_t *errat);

/* Whether now is inside w; *end gets the end of the current occurrence
 * (until= at the latest; INT64_MAX when unbounded). When outside and next
 * is not NULL, *next gets the next start within 8 days (INT64_MAX if none
 * found), for explain. */
bool detour_window_at(const struct detour_window *w, int64_t now, int64_t *end, int64_t *next);

/* "2026-11-01T09:00:00Z" (UTC, RFC 3339) into out[21+]. */
void detour_time_format(int64_t t, char *out, size_t cap);

#endif
