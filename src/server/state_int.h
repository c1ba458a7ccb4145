/* detour server: the SQLite state (state.c) as the statistics kept in
 * memory (state_totals.c) share it. Private to the two. */
#ifndef DETOUR_STATE_INT_H
#define DETOUR_STATE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A stats row whose id no current rule has (a rule deleted, a file renamed):
 * its total no longer moves. */
struct state_orphan {
	char *id;
	int64_t hits, last;
};

struct state {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *stat_upsert, *stat_get, *log_insert;
	int64_t log_bytes;     /* bytes in stats_log: deltas not yet folded into stats */
	_Atomic int last_code; /* SQLite's (primary) code of the last failure */
	bool readonly;         /* opened read-only: state-dir cannot be written */
	/* The totals kept in memory (state_totals.c), under lock. A table's
	 * totals (served.total) are current while its total_epoch is epoch;
	 * a flush by a table whose totals are not current bumps epoch. */
	unsigned epoch;
	const struct served *tot_file, *tot_api; /* the tables the orphans were taken for */
	struct state_orphan *orph;               /* the most hit orphans, most hit first */
	size_t norph_kept;
	int64_t norph; /* orphans in all */
};

/* Folds the stats log into the stats table (under lock): after it the
 * table holds every delta written, and log_bytes is 0 (unless it failed). */
void state_fold(struct state *st);

#endif
