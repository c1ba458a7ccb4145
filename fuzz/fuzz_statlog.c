/* libFuzzer target for lib/statlog.c (the blobs of the stats_log table).
 * Asserts invariants, not only "no crash":
 *  - every record read lies within the input, with a delta and an id length
 *    in range, and the records tile the input up to the end or the error;
 *  - re-encoding the records read gives the same bytes;
 *  - the merge sums to the total of the deltas read, has no id twice, and
 *    sorts in SQLite's BINARY order. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/statlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_statlog_rec r;
	struct detour_statlog_merge m;
	struct bbuf b;
	size_t pos = 0, prev = 0;
	uint64_t total = 0, merged = 0;
	int rc;

	bbuf_init(&b, size + 1);
	while ((rc = detour_statlog_next(data, size, &pos, &r)) == 1) {
		CHECK(pos > prev && pos <= size);
		CHECK(r.delta > 0 && r.idlen > 0 && r.idlen <= DETOUR_STATLOG_ID_MAX);
		CHECK(pos - prev == DETOUR_STATLOG_HEAD + r.idlen);
		CHECK((const uint8_t *)r.id == data + prev + DETOUR_STATLOG_HEAD);
		CHECK(detour_statlog_put(&b, r.id, r.idlen, r.delta, r.last));
		total += r.delta;
		prev = pos;
	}
	CHECK(rc == 0 ? pos == size : pos == prev);
	CHECK(bbuf_ok(&b) && b.len == prev && (prev == 0 || !memcmp(b.p, data, prev)));
	bbuf_free(&b);

	detour_statlog_merge_init(&m);
	rc = detour_statlog_merge_blob(&m, data, size);
	CHECK(rc == 0 || rc == -2);
	detour_statlog_merge_sort(&m);
	for (size_t i = 0; i < m.n; i++) {
		merged += m.e[i].hits;
		if (i > 0) {
			const struct detour_statlog_sum *x = &m.e[i - 1], *y = &m.e[i];
			size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
			int c = memcmp(x->id, y->id, n);
			CHECK(c < 0 || (c == 0 && x->idlen < y->idlen));
		}
	}
	CHECK(merged == total);
	detour_statlog_merge_free(&m);
	return 0;
}
