/* detour: rules files -> a table, the one loader that `detour serve` (start
 * and reload), `detour explain`, `detour lint` and `detour check --against`
 * share, so that all four read rules the same way and report the same
 * located errors. */
#ifndef DETOUR_RULES_LOAD_H
#define DETOUR_RULES_LOAD_H

#include <stddef.h>

#include "detour/common.h"
#include "detour/table.h"

/* Reads the rules files files[0..n) in order into one ruleset (a rule's
 * precedence is its position over all of them) and builds the table. Returns
 * DETOUR_OK and *out (free with detour_table_free), or the first error with
 * *out NULL and d filled: "file:line:col" and what was expected for a syntax
 * error (DETOUR_EINVAL), the file and errno's text when it cannot be read
 * (DETOUR_EIO), "out of memory" (DETOUR_ENOMEM); detour_diag_format writes
 * it as one line. d->file points into files[] or the caller's strings: they
 * must outlive d. n == 0 gives an empty table. */
detour_err detour_rules_load(const char *const *files, size_t n, struct detour_table **out,
                             struct detour_diag *d);

/* As detour_rules_load, but it does not stop at the first error: every
 * line error of every file, and every file that cannot be read, goes into ds
 * (the first DETOUR_DIAGS_MAX kept, all counted); d still gets the first.
 * The table is built only when there was none. `serve -t`, a reload and
 * `lint` report with it. */
detour_err detour_rules_load_all(const char *const *files, size_t n, struct detour_table **out,
                                 struct detour_diag *d, struct detour_diags *ds);

struct detour_hscache;
/* As detour_rules_load_all, with the table's vectorscan database kept
 * between runs through io (detour_ruleset_hscache; NULL: none). `serve`
 * passes its state directory's cache (start and reload); `serve -t`, lint,
 * explain and check never do. */
detour_err detour_rules_load_cached(const char *const *files, size_t n, struct detour_table **out,
                                    struct detour_diag *d, struct detour_diags *ds,
                                    const struct detour_hscache *io);

#endif
