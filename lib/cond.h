/* detour (private to lib/): rule conditions (cond.c): method=, if-header=,
 * if-cookie=, if-query=, if-ip=, if-lang=. Parsed by ruleopts.c when a rule
 * is loaded, evaluated and described by the table (table_ext.c,
 * table_explain.c) on candidate rules only. Evaluation reads the parsed
 * request in place and allocates nothing. */
#ifndef DETOUR_COND_H
#define DETOUR_COND_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "detour/rule.h"

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

#endif
