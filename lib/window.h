/* detour (private to lib/): time windows (window.c): the days= and hours=
 * values (parsed by ruleopts.c; from= and until= are base/civil.h's
 * civil_parse_time) and whether a window is open at a time (the table's
 * table_ext.c and table_explain.c, lint_risk.c). Calendar arithmetic on day
 * counts (base/civil.h), never localtime_r or TZ: thread-safe, lock-free. */
#ifndef DETOUR_WINDOW_H
#define DETOUR_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/rule.h"

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

#endif
