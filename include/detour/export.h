/* detour: `detour export FORMAT RULES`: a rules file -> another server's
 * redirect configuration (lib/export_*.c). Rules a format cannot express
 * are written as comments (where the format has them) and noted. See
 * docs/import.md ("Export"). */
#ifndef DETOUR_EXPORT_H
#define DETOUR_EXPORT_H

#include "detour/common.h"
#include "detour/rule.h"

struct detour_export;

#define DETOUR_EXPORT_FORMATS "nginx, apache, caddy, netlify, csv"

/* Writes the rules of rs as format into x (export_util.h). DETOUR_EINVAL
 * with d filled for an unknown format; DETOUR_ENOMEM. */
detour_err detour_export_run(const char *format, const struct detour_ruleset *rs,
                             struct detour_export *x, struct detour_diag *d);

#endif
