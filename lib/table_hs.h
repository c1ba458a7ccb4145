/* detour (private to lib/): the rule table's multi-pattern regex index
 * (table_hs.c), with vectorscan (Hyperscan's maintained fork, Debian's
 * libvectorscan-dev). The regex rules that the literal-prefix index serves
 * badly (many on one prefix, most often "" or "/": `~\.php$`,
 * `~^/(en|fr)/p-(\d+)`) are compiled into ONE block-mode database; one scan
 * of a request path gives the set of those rules whose regex matches, and
 * the caller takes them in file order, confirming each with PCRE2. Built by
 * table.c, scanned by table_match.c, read by table_explain.c (lint); it knows
 * nothing of the table itself (only rules and extensions), so that the table
 * headers and this one include each other in one direction only. See
 * docs/internals/table.md, "Regex sources". */
#ifndef DETOUR_TABLE_HS_H
#define DETOUR_TABLE_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/hscache.h"
#include "detour/rule.h"

/* A chain of the literal-prefix index (same host, case and prefix) with at
 * least this many regex rules goes to the database instead. */
#define DETOUR_TBL_HS_MIN_CHAIN 4

struct detour_tbl_hs;

/* Builds the index for the regex rules among exts[0..nexts) (rules[] gives
 * each one's source and kind, rs its host). Rules vectorscan cannot compile, even in
 * prefilter mode, are left out and their reason kept (detour_tbl_hs_why).
 * Returns NULL with *oom false when no rule qualifies, NULL with *oom true when
 * out of memory. Slow (vectorscan needs about a millisecond a pattern): run
 * at load, never on the request path. The result is read-only and shared by
 * every thread.
 *
 * io (NULL: none) keeps the compiled database between runs: the build looks
 * for it under the key of its patterns (detour_hscache_key) and, found and
 * checked, uses it instead of compiling; otherwise it compiles and stores it.
 * A missing, corrupt or foreign entry only costs the compile; io->note hears
 * which it was and how long it took. */
struct detour_tbl_hs *detour_tbl_hs_build(const struct detour_ruleset *rs,
                                          const struct detour_rule *rules,
                                          const struct detour_rule_ext *exts, size_t nexts,
                                          const struct detour_hscache *io, bool *oom);

void detour_tbl_hs_free(struct detour_tbl_hs *hs);

/* Whether rule index i is in the database (hs may be NULL). */
bool detour_tbl_hs_owns(const struct detour_tbl_hs *hs, uint32_t i);

/* The smallest rule index in the database, UINT32_MAX when none. */
uint32_t detour_tbl_hs_min(const struct detour_tbl_hs *hs);

/* Why rule i, which would be in the database, stays on PCRE2 (vectorscan's
 * message), or NULL when it is in the database or was never a candidate. */
const char *detour_tbl_hs_why(const struct detour_tbl_hs *hs, uint32_t i);

/* Number of rules in the database, and of candidates left on PCRE2. */
size_t detour_tbl_hs_count(const struct detour_tbl_hs *hs, size_t *refused);

/* Called for a rule whose regex the scan says may match, in file order; true
 * when the caller takes it (its bound has then fallen to that rule). */
typedef bool (*detour_tbl_hs_visit)(void *ctx, uint32_t rule);

/* Scans path[0..n) and calls visit on the rules of the database that may
 * match, below *bound (which visit lowers when it takes one), in ascending
 * order, until visit takes one. The scan uses a scratch space private to the
 * calling thread (allocated on its first scan of a database larger than any
 * before, freed when the thread exits). When the scratch cannot be had or the
 * scan fails, every rule below *bound is visited in order instead: slower,
 * same answer. */
void detour_tbl_hs_scan(const struct detour_tbl_hs *hs, const char *path, size_t n,
                        const uint32_t *bound, detour_tbl_hs_visit visit, void *ctx);

#endif
