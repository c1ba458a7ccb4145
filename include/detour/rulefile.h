/* detour: the rules file. One rule per line:
 *     SOURCE TARGET [STATUS] [OPTION=VALUE ...]
 * '#' starts a comment (at the start of a line or after white space).
 * A ruleset is the ordered list of rules read from one or more files; the
 * position of a rule in it is its precedence (first match wins). Strings of
 * every rule live in the ruleset's own arena; a rule is valid as long as its
 * ruleset (or the table that took it over) lives. See docs/rules.md. */
#ifndef DETOUR_RULEFILE_H
#define DETOUR_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"
#include "detour/rule.h"

/* The extension of r (a rule of rs), NULL when r has no DETOUR_RULE_EXT.
 * Borrowed; lives as long as rs. O(log n) in the number of extended rules. */
const struct detour_rule_ext *detour_ruleset_ext(const struct detour_ruleset *rs,
                                                 const struct detour_rule *r);

/* The table-wide trailing-slash policy, set by an "@slash strict|either"
 * line in a rules file (docs/rules.md); DETOUR_SLASH_EITHER by default. */
enum detour_slash detour_ruleset_slash(const struct detour_ruleset *rs);

/* Returns a new empty ruleset, or NULL when out of memory. */
struct detour_ruleset *detour_ruleset_new(void);

/* Frees rs and every rule in it. NULL is a no-op. */
void detour_ruleset_free(struct detour_ruleset *rs);

/* Reads the file at path and appends its rules. On any error returns it
 * (DETOUR_EIO with errno's text, DETOUR_EINVAL for a syntax error) and fills
 * d with "file:line:col" and what was expected; the ruleset must then be
 * discarded by the caller (a reload keeps the old table). */
detour_err detour_ruleset_load_file(struct detour_ruleset *rs, const char *path,
                                    struct detour_diag *d);

/* Makes the loads into rs (detour_ruleset_load_file, _load_buf) go on
 * after a line with a syntax error, as compilers do: the error is added to
 * ds, the line is skipped, and the next line is read. The load still fails
 * (DETOUR_EINVAL, d holding the file's first error) when any line did, so
 * the ruleset is for reporting only: the caller discards it. Errors that
 * are not a line's (out of memory, too many rules) still stop the load and
 * are not added. NULL ds: stop at the first error (the default). */
void detour_ruleset_collect(struct detour_ruleset *rs, struct detour_diags *ds);

struct detour_hscache;
/* Makes the table built from rs (detour_table_build) keep its vectorscan
 * database between runs through io (detour/hscache.h), borrowed: it must
 * outlive the build. NULL (the default): always compile. */
void detour_ruleset_hscache(struct detour_ruleset *rs, const struct detour_hscache *io);

/* As detour_ruleset_load_file, from memory; name is copied and used in
 * diagnostics and as the rules' file name. */
detour_err detour_ruleset_load_buf(struct detour_ruleset *rs, const char *name, const char *buf,
                                   size_t len, struct detour_diag *d);

/* Parses one rule line (no comment handling beyond a trailing '#') and
 * appends it as if read from name:line. On any error (d filled) rs is left
 * as it was: no rule, extension or id is added and the @slash policy is
 * unchanged, so the caller may skip the line and go on adding others (the
 * admin API does, to serve the valid stored rules). An error may come from
 * the line itself or from rs (an id= already used, "@slash" after rules);
 * detour_ruleset_check_line tells them apart. Used by the admin API and tests. */
detour_err detour_ruleset_add_line(struct detour_ruleset *rs, const char *name, unsigned line,
                                   const char *text, size_t len, struct detour_diag *d);

/* Checks one rule line on its own, as detour_ruleset_add_line into an empty
 * ruleset would, and keeps nothing. Returns DETOUR_OK when the line is a
 * valid rule by itself, else the error with d filled (file name and line as
 * given). */
detour_err detour_ruleset_check_line(const char *name, unsigned line, const char *text, size_t len,
                                     struct detour_diag *d);

size_t detour_ruleset_count(const struct detour_ruleset *rs);

/* The ruleset's string block: every rule's path and target (struct
 * detour_rule's off), packed for rules with DETOUR_RULE_PACKED (rule.h).
 * Borrowed; it may move while rules are added. */
const char *detour_ruleset_strings(const struct detour_ruleset *rs);

/* r's normalised source path and its target template, NUL-terminated
 * (path_len and target_len bytes), the target right after the path's NUL;
 * r a rule of rs (not a copy). Borrowed: valid while rs is, except that a
 * rule added later may move the strings of rules without
 * DETOUR_RULE_PACKED. A packed rule's strings come from a plain copy of
 * every packed rule, made (thread-safely) by the first call for one; the
 * table reads packed rules in place instead. Aborts when the copy cannot
 * be allocated. */
const char *detour_rule_path(const struct detour_ruleset *rs, const struct detour_rule *r);
const char *detour_rule_target(const struct detour_ruleset *rs, const struct detour_rule *r);

/* r's path, NUL-terminated, its target after the NUL, as detour_rule_path,
 * but a packed rule's decoded into buf (DETOUR_RULE_PACKED_MAX bytes) and
 * valid while buf is: never makes the plain copy. For readers that need
 * one rule's strings at a time (printing a rule: the admin API's listing). */
const char *detour_rule_strings(const struct detour_ruleset *rs, const struct detour_rule *r,
                                char *buf);

/* The index of r, a rule of rs (not a copy): its position. */
uint32_t detour_rule_index(const struct detour_ruleset *rs, const struct detour_rule *r);

/* r's cache= (DETOUR_CACHE_UNSET without one, DETOUR_CACHE_NO_STORE, or
 * max-age seconds). O(log n) in the rules with cache=, O(1) for the others. */
int32_t detour_rule_cache(const struct detour_ruleset *rs, const struct detour_rule *r);

/* Rule i (0 <= i < count); borrowed. */
const struct detour_rule *detour_ruleset_get(const struct detour_ruleset *rs, size_t i);

/* The name of file index f; borrowed. NULL when f is out of range. */
const char *detour_ruleset_file(const struct detour_ruleset *rs, unsigned f);

/* The host of r (a rule of rs), lower case and NUL-terminated: "" for any
 * host, ".example.com" for "*.example.com" (DETOUR_RULE_HOST_WILDCARD).
 * *len (when len is non-NULL) gets its length. Borrowed. */
const char *detour_ruleset_host(const struct detour_ruleset *rs, const struct detour_rule *r,
                                size_t *len);

/* The number of r's host in rs: 0 for any host; rules of the same host (and
 * wildcard) share one. */
uint32_t detour_ruleset_host_id(const struct detour_ruleset *rs, const struct detour_rule *r);

/* r's id= value, NUL-terminated, "" when it has none; *len (when len is
 * non-NULL) gets its length. Borrowed. */
const char *detour_ruleset_idval(const struct detour_ruleset *rs, const struct detour_rule *r,
                                 size_t *len);

/* The line of r in its file (1-based), 0 for a rule not in rs. */
unsigned detour_ruleset_line(const struct detour_ruleset *rs, const struct detour_rule *r);

/* The index of r's file (detour_ruleset_file), 0 for a rule not in rs. */
unsigned detour_ruleset_rule_file(const struct detour_ruleset *rs, const struct detour_rule *r);

/* Writes the rule's id into buf: its id= value, else "file:line". Returns buf. */
const char *detour_rule_id(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf,
                           size_t cap);

#endif
