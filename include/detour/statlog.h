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
 * Two formats; a reader takes both (a log may hold blobs of an older
 * detour). Version 2, written since issue 10 (its first four bytes are
 * zero, which version 1 never starts with: a delta of 0 is invalid):
 *
 *   u32 0, u8 2       the header
 *   then records:     varint delta       hits since the previous flush (1 to 2^32 - 1)
 *                     varint last        Unix seconds of the last hit (0 = unknown), as
 *                                        the zigzag of its difference to the previous
 *                                        record's (the first's to 0), modulo 2^32
 *                     varint shared      leading bytes of the id equal to the previous id's
 *                     varint more        bytes that follow them (shared + more: 1 to
 *                                        DETOUR_STATLOG_ID_MAX)
 *                     more bytes
 *
 * A varint is LEB128, unsigned, at most 5 bytes, at most 2^32 - 1. A flush
 * writes its rules in table order, so that consecutive ids ("rules:1041",
 * "rules:1057") share all but a few bytes: about 7 bytes a record against
 * 10 plus the whole id in version 1, which is (all integers little-endian)
 *
 *   u32 delta, u32 last, u16 len (1 to DETOUR_STATLOG_ID_MAX), len bytes of id.
 *
 * The id is the rule's `id=` or "file:line", as detour_rule_id gives it.
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
	const char *id; /* not NUL-terminated: idlen bytes, valid until the next record */
	size_t idlen;
	uint32_t delta, last;
};

#define DETOUR_STATLOG_V2_HEAD 5 /* bytes of a version 2 header */

/* Version 2 writer: the previous record, which the next one is coded against. */
struct detour_statlog_writer {
	struct bbuf *b;
	uint32_t last;
	size_t idlen;
	char id[DETOUR_STATLOG_ID_MAX];
};

/* Starts a version 2 blob in b (borrowed until the last detour_statlog_add):
 * writes its header. */
void detour_statlog_begin(struct detour_statlog_writer *w, struct bbuf *b);

/* Appends one record (growing or fixed mode; failure is b's sticky `over`).
 * An id of 0 or more than DETOUR_STATLOG_ID_MAX bytes, or a delta of 0,
 * appends nothing and returns false. */
bool detour_statlog_add(struct detour_statlog_writer *w, const char *id, size_t idlen,
                        uint32_t delta, uint32_t last);

/* Version 1: appends one record to b, as detour_statlog_add does. Kept for
 * the tests and the fuzz target of the reader; detour writes version 2. */
bool detour_statlog_put(struct bbuf *b, const char *id, size_t idlen, uint32_t delta,
                        uint32_t last);

/* Version 1: reads the record at *pos of blob[0..len) into r (r->id points
 * into the blob) and advances *pos. Returns 1 for a record, 0 at the end,
 * -1 for a malformed blob (a record cut short, a length of 0 or over the
 * maximum, a delta of 0). */
int detour_statlog_next(const void *blob, size_t len, size_t *pos, struct detour_statlog_rec *r);

/* A reader of a blob of either version. */
struct detour_statlog_iter {
	const unsigned char *p; /* borrowed: the blob */
	size_t len, pos;        /* pos: the next record's offset */
	int version;            /* 1 or 2 */
	uint32_t last;
	size_t idlen;
	char id[DETOUR_STATLOG_ID_MAX]; /* version 2: the previous record's id */
};

void detour_statlog_iter_init(struct detour_statlog_iter *it, const void *blob, size_t len);

/* Reads the next record into r (r->id valid until the next call). Returns 1
 * for a record, 0 at the end, -1 for a malformed blob (a record cut short, a
 * varint over 5 bytes or 2^32 - 1, a shared part longer than the previous id,
 * an id of 0 or more than the maximum bytes, a delta of 0, a version 2
 * header cut short or of another version); it->pos is then left at the
 * start of the bad record. */
int detour_statlog_iter_next(struct detour_statlog_iter *it, struct detour_statlog_rec *r);

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
	uint64_t *slot; /* open addressing: entry index + 1 in the low half, 0 = empty;
	                 * the high half holds the high half of the id's hash, so that
	                 * a probe reads an entry (and its id) only when they match */
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
