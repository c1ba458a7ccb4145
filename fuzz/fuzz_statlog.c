/* libFuzzer target for lib/statlog.c (the blobs of the stats_log table).
 * Asserts invariants, not only "no crash":
 *  - every record read lies within the input, with a delta and an id length
 *    in range, and the records tile the input up to the end or the error;
 *  - re-encoding the records read gives the same bytes (version 1), or
 *    bytes no longer that read back as the same records (version 2, whose
 *    writer shares the longest prefix);
 *  - the merge sums to the total of the deltas read, has no id twice, and
 *    sorts in SQLite's BINARY order. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/statlog.h"

/* Version 2: the records of data re-encoded, read back, compared. */
static void check_v2(const uint8_t *data, size_t size, size_t upto)
{
	struct detour_statlog_iter a, b;
	struct detour_statlog_rec r, q;
	struct detour_statlog_writer w;
	struct bbuf out;
	static char id[DETOUR_STATLOG_ID_MAX];

	bbuf_init(&out, size + 16);
	detour_statlog_begin(&w, &out);
	detour_statlog_iter_init(&a, data, size);
	while (a.pos < upto && detour_statlog_iter_next(&a, &r) == 1)
		CHECK(detour_statlog_add(&w, r.id, r.idlen, r.delta, r.last));
	CHECK(bbuf_ok(&out) && out.len <= (upto > 5 ? upto : 5));
	detour_statlog_iter_init(&a, data, size);
	detour_statlog_iter_init(&b, out.p, out.len);
	while (a.pos < upto && detour_statlog_iter_next(&a, &r) == 1) {
		memcpy(id, r.id, r.idlen);
		CHECK(detour_statlog_iter_next(&b, &q) == 1);
		CHECK(q.idlen == r.idlen && !memcmp(q.id, id, r.idlen));
		CHECK(q.delta == r.delta && q.last == r.last);
	}
	CHECK(detour_statlog_iter_next(&b, &q) == 0);
	bbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_statlog_iter it;
	struct detour_statlog_rec r;
	struct detour_statlog_merge m;
	struct bbuf b;
	size_t prev;
	uint64_t total = 0, merged = 0;
	int rc;

	detour_statlog_iter_init(&it, data, size);
	prev = it.pos;
	bbuf_init(&b, size + 1);
	while ((rc = detour_statlog_iter_next(&it, &r)) == 1) {
		CHECK(it.pos > prev && it.pos <= size);
		CHECK(r.delta > 0 && r.idlen > 0 && r.idlen <= DETOUR_STATLOG_ID_MAX);
		if (it.version == 1) {
			CHECK(it.pos - prev == DETOUR_STATLOG_HEAD + r.idlen);
			CHECK((const uint8_t *)r.id == data + prev + DETOUR_STATLOG_HEAD);
			CHECK(detour_statlog_put(&b, r.id, r.idlen, r.delta, r.last));
		}
		total += r.delta;
		prev = it.pos;
	}
	CHECK(rc == 0 ? it.pos == size : it.pos == prev || it.pos == 0);
	if (it.version == 1) {
		CHECK(bbuf_ok(&b) && b.len == prev && (prev == 0 || !memcmp(b.p, data, prev)));
	} else if (rc == 0 || prev > DETOUR_STATLOG_V2_HEAD) {
		check_v2(data, size, prev);
	}
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
