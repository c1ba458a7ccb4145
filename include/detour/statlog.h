/* detour: the encoding of per-rule hit deltas, and their merge.
 *
 * A statistics flush writes the hits counted since the previous flush as ONE
 * blob (one row of the state's stats_log table, one INSERT), not one upsert
 * per rule: with traffic spread over a million rules that is hundreds of
 * thousands of B-tree updates every flush. The log is folded into the keyed
 * stats table only when someone reads the statistics or the log grows past
 * a bound, and then all its deltas are first summed per id in memory
 * (struct detour_statlog_merge) and applied sorted by id, so that every page
 * of the stats table is visited once. See docs/internals/admin.md.
 *
 * A blob is a sequence of records, all integers little-endian:
 *
 *   u32 delta    hits since the previous flush (1 to 2^32 - 1)
 *   u32 last     Unix seconds of the last hit, 0 = unknown
 *   u16 len      bytes of the id, 1 to DETOUR_STATLOG_ID_MAX
 *   len bytes    the rule id (`id=` or "file:line", as detour_rule_id gives it)
 *
 * Pure code: no I/O, no globals (lib/statlog.c). */
#ifndef DETOUR_STATLOG_H
#define DETOUR_STATLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define DETOUR_STATLOG_ID_MAX 1023
#define DETOUR_STATLOG_HEAD   10 /* bytes of a record before its id */

struct detour_statlog_rec {
	const char *id; /* not NUL-terminated: idlen bytes inside the blob */
	size_t idlen;
	uint32_t delta, last;
};

/* Appends one record to b (growing or fixed mode; failure is b's sticky
 * `over`). An id of 0 or more than DETOUR_STATLOG_ID_MAX bytes, or a delta
 * of 0, appends nothing and returns false. */
bool detour_statlog_put(struct bbuf *b, const char *id, size_t idlen, uint32_t delta,
                        uint32_t last);

/* Reads the record at *pos of blob[0..len) into r and advances *pos.
 * Returns 1 for a record, 0 at the end, -1 for a malformed blob (a record
 * cut short, a length of 0 or over the maximum, a delta of 0). */
int detour_statlog_next(const void *blob, size_t len, size_t *pos, struct detour_statlog_rec *r);

/* The deltas of any number of blobs summed per id. */
struct detour_statlog_sum {
	const char *id; /* NUL-terminated, owned by the merge */
	size_t idlen;
	uint64_t hits;
	uint32_t last; /* the latest */
};

struct detour_statlog_merge {
	struct detour_statlog_sum *e; /* n entries, in insertion order until sorted */
	size_t n, cap;
	uint32_t *slot; /* open addressing: entry index + 1, 0 = empty */
	size_t nslots;  /* a power of two, load <= 1/2 */
	char **blocks;  /* the id copies */
	size_t nblocks, blocks_cap, block_used, block_cap;
};

void detour_statlog_merge_init(struct detour_statlog_merge *m);

/* Adds r (its id copied). Returns 0, or -1 when out of memory (m unchanged). */
int detour_statlog_merge_add(struct detour_statlog_merge *m, const struct detour_statlog_rec *r);

/* Adds every record of a blob. Returns 0, -1 when out of memory, -2 when the
 * blob is malformed (the records before the bad one are added). */
int detour_statlog_merge_blob(struct detour_statlog_merge *m, const void *blob, size_t len);

/* Sorts the entries by id in SQLite's BINARY order (memcmp, then the
 * shorter first), the order of the stats table's primary key. After this no
 * more records may be added. */
void detour_statlog_merge_sort(struct detour_statlog_merge *m);

void detour_statlog_merge_free(struct detour_statlog_merge *m);

#endif
