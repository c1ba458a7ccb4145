/* detour server: the per-rule statistics answered from memory (issue 10).
 *
 * The SQLite state keeps the counts as a keyed table (stats) plus a log of
 * the deltas each flush wrote (stats_log); reading them from SQL needs the
 * log folded into the table first, which with traffic over hundreds of
 * thousands of rules cost seconds of CPU at every GET /stats and every
 * /metrics scrape. Here, once the statistics are first read, the log is
 * folded once and every row is loaded into the current tables: each rule's
 * all-time total (served.total), and the rows no current rule has (orphans:
 * the most hit of them and their count). From then on every flush adds what
 * it wrote to the totals (state_flush_served), so a read is a scan of the
 * totals in memory. A table replaced (reload, API change), or a write by a
 * table whose totals are not kept, makes the next read load them again.
 * See docs/internals/admin.md. */
#ifndef DETOUR_STATE_TOTALS_H
#define DETOUR_STATE_TOTALS_H

#include <stdbool.h>
#include <stdint.h>

struct state;
struct served;

/* Lists the rules by hits (most first, then by id), offset and limit as
 * GET /stats takes them, over every id ever counted: the rules of file and
 * api (api may be NULL) and the orphans; loads the totals first when they
 * are not current. The caller holds the tables (file_lock) and flushed them
 * just before. Returns how many ids have a count, or -1 when the answer
 * cannot come from memory (stats off, out of memory, a database error, a
 * page past what is kept: offset + limit over STATE_TOTALS_LIST_MAX, or over
 * the orphans kept when there are more): the caller reads SQL then
 * (state_stats_list). */
int64_t state_totals_list(struct state *st, struct served *file, struct served *api, int64_t offset,
                          int64_t limit,
                          void (*fn)(void *arg, const char *id, int64_t hits, int64_t last),
                          void *arg);

/* Rule i of s's all-time hits and last hit, once state_totals_list found
 * the totals current (same locks). False when they are not. */
bool state_totals_get(struct state *st, const struct served *s, size_t i, int64_t *hits,
                      int64_t *last);

/* After the last flush of a retired API table old: gives its totals to cur,
 * the API table that replaced it (NULL: none), by id; old's ids that cur
 * has not become orphans, and cur's ids that were orphans stop being. So a
 * read after an API change needs no load. Does nothing (the next read then
 * loads) when old's or file's totals are not current, or cur has an id
 * that may be an orphan not kept. The caller holds the tables (file_lock). */
void state_totals_carry(struct state *st, const struct served *old, struct served *cur,
                        const struct served *file);

/* Makes the totals of file and api current (see state_totals_list); 0, or
 * -1 when they cannot be. */
int state_totals_ready(struct state *st, struct served *file, struct served *api);

#define STATE_TOTALS_LIST_MAX 20000 /* offset + limit answered from memory */
#define STATE_ORPHANS_KEPT    10000 /* the most hit orphans kept in memory */

#endif
