/* Unit tests for lib/statlog.c: the record encoding of a stats flush (exact
 * bytes, round trip, every malformed form refused without reading past the
 * blob) and the merge (sums per id, the latest time, SQLite's BINARY order,
 * many ids through rehashing). */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/statlog.h"

static void test_bytes(void **state)
{
	struct bbuf b;

	bbuf_init(&b, 1 << 20);
	assert_true(detour_statlog_put(&b, "ab", 2, 0x01020304, 0x0a0b0c0d));
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.p,
	                    "\x04\x03\x02\x01\x0d\x0c\x0b\x0a\x02\x00"
	                    "ab",
	                    12);
	/* refused: empty id, delta 0, an id over the maximum */
	assert_false(detour_statlog_put(&b, "x", 0, 1, 1));
	assert_false(detour_statlog_put(&b, "x", 1, 0, 1));
	char big[DETOUR_STATLOG_ID_MAX + 1];
	memset(big, 'i', sizeof(big));
	assert_false(detour_statlog_put(&b, big, sizeof(big), 1, 1));
	assert_true(detour_statlog_put(&b, big, DETOUR_STATLOG_ID_MAX, 7, 0));
	assert_int_equal(b.len, 12 + DETOUR_STATLOG_HEAD + DETOUR_STATLOG_ID_MAX);
	bbuf_free(&b);
}

static void test_round_trip(void **state)
{
	struct bbuf b;
	struct detour_statlog_rec r;
	size_t pos = 0;

	bbuf_init(&b, 1 << 20);
	for (unsigned i = 1; i <= 100; i++) {
		char id[32];
		int n = snprintf(id, sizeof(id), "site.rules:%u", i);
		assert_true(detour_statlog_put(&b, id, (size_t)n, i * 1000u, 1700000000u + i));
	}
	struct guard g;
	const char *p = guard_copy(&g, b.p, b.len);
	for (unsigned i = 1; i <= 100; i++) {
		char id[32];
		int n = snprintf(id, sizeof(id), "site.rules:%u", i);
		assert_int_equal(detour_statlog_next(p, b.len, &pos, &r), 1);
		assert_int_equal(r.idlen, (size_t)n);
		assert_memory_equal(r.id, id, (size_t)n);
		assert_int_equal(r.delta, i * 1000u);
		assert_int_equal(r.last, 1700000000u + i);
	}
	assert_int_equal(detour_statlog_next(p, b.len, &pos, &r), 0);
	assert_int_equal(pos, b.len);
	guard_free(&g);
	bbuf_free(&b);
}

static void test_malformed(void **state)
{
	struct detour_statlog_rec r;
	struct guard g;
	/* every prefix of a good record but the empty one is cut short */
	const char rec[] = "\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00"
	                   "abc";
	for (size_t n = 1; n < sizeof(rec) - 1; n++) {
		size_t pos = 0;
		const char *p = guard_copy(&g, rec, n);
		assert_int_equal(detour_statlog_next(p, n, &pos, &r), -1);
		guard_free(&g);
	}
	size_t pos = 0;
	const char *p = guard_copy(&g, rec, sizeof(rec) - 1);
	assert_int_equal(detour_statlog_next(p, sizeof(rec) - 1, &pos, &r), 1);
	guard_free(&g);
	/* delta 0, length 0, length over the maximum */
	const char *bad[] = {"\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00"
	                     "a",
	                     "\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00"
	                     "a",
	                     "\x01\x00\x00\x00\x02\x00\x00\x00\x00\x04"
	                     "a"};
	for (size_t i = 0; i < 3; i++) {
		pos = 0;
		p = guard_copy(&g, bad[i], 11);
		assert_int_equal(detour_statlog_next(p, 11, &pos, &r), -1);
		guard_free(&g);
	}
	/* a merge takes the good records before a bad one */
	struct detour_statlog_merge m;
	char two[24];
	memcpy(two, rec, 13);
	memcpy(two + 13, bad[0], 11);
	detour_statlog_merge_init(&m);
	assert_int_equal(detour_statlog_merge_blob(&m, two, sizeof(two)), -2);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.e[0].hits, 1);
	detour_statlog_merge_free(&m);
}

/* Version 2: exact bytes of a header and two records sharing a prefix. */
static void test_v2_bytes(void **state)
{
	struct detour_statlog_writer w;
	struct bbuf b;

	bbuf_init(&b, 1 << 20);
	detour_statlog_begin(&w, &b);
	assert_true(detour_statlog_add(&w, "f:12", 4, 3, 200));
	/* last 198: a difference of -2, zigzag 3; delta 300: two bytes */
	assert_true(detour_statlog_add(&w, "f:15", 4, 300, 198));
	assert_false(detour_statlog_add(&w, "x", 0, 1, 1));
	assert_false(detour_statlog_add(&w, "x", 1, 0, 1));
	const char want[] = "\x00\x00\x00\x00\x02"
	                    "\x03\x90\x03\x00\x04"
	                    "f:12"
	                    "\xac\x02\x03\x03\x01"
	                    "5";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.p, want, sizeof(want) - 1);
	bbuf_free(&b);
}

/* Version 2 round trip: ids sharing prefixes or not, times going back
 * and forth, wrapping u32 extremes; every prefix of the blob is refused or
 * read as whole records, never past its end. */
static void test_v2_round_trip(void **state)
{
	struct detour_statlog_writer w;
	struct detour_statlog_iter it;
	struct detour_statlog_rec r;
	struct bbuf b;
	char ids[40][32];
	uint32_t last[40];

	bbuf_init(&b, 1 << 20);
	detour_statlog_begin(&w, &b);
	for (unsigned i = 0; i < 40; i++) {
		snprintf(ids[i], sizeof(ids[i]), i % 7 ? "site.rules:%u" : "id-%u", i * 37);
		last[i] = i % 3 ? 1700000000u + i * 5 : (i % 2 ? 0 : UINT32_MAX - i);
		assert_true(detour_statlog_add(&w, ids[i], strlen(ids[i]),
		                               i % 5 ? i + 1 : UINT32_MAX, last[i]));
	}
	struct guard g;
	const char *p = guard_copy(&g, b.p, b.len);
	detour_statlog_iter_init(&it, p, b.len);
	for (unsigned i = 0; i < 40; i++) {
		assert_int_equal(detour_statlog_iter_next(&it, &r), 1);
		assert_int_equal(r.idlen, strlen(ids[i]));
		assert_memory_equal(r.id, ids[i], r.idlen);
		assert_int_equal(r.delta, i % 5 ? i + 1 : UINT32_MAX);
		assert_int_equal(r.last, last[i]);
	}
	assert_int_equal(detour_statlog_iter_next(&it, &r), 0);
	guard_free(&g);
	for (size_t n = 1; n < b.len; n++) {
		int rc;
		unsigned k = 0;
		p = guard_copy(&g, b.p, n);
		detour_statlog_iter_init(&it, p, n);
		while ((rc = detour_statlog_iter_next(&it, &r)) == 1)
			k++;
		assert_true(k < 40);
		/* the header alone is an empty blob; else a cut is an error
		 * unless it falls between two records */
		assert_true(rc == -1 || n == 5 || it.pos == n);
		guard_free(&g);
	}
	bbuf_free(&b);
}

/* Version 2 refusals: another version, a shared part longer than the
 * previous id, an empty id, an id over the maximum, delta 0, a varint of 6
 * bytes or over 2^32 - 1. */
static void test_v2_malformed(void **state)
{
	static const struct {
		const char *b;
		size_t n;
	} bad[] = {
	        {"\x00\x00\x00\x00\x03\x01\x00\x00\x01"
	         "a",
	         10},
	        {"\x00\x00\x00\x00", 4},
	        {"\x00\x00\x00\x00\x02\x01\x00\x01\x01"
	         "a",
	         10},
	        {"\x00\x00\x00\x00\x02\x01\x00\x00\x00", 9},
	        {"\x00\x00\x00\x00\x02\x01\x00\x00\x80\x08", 10},
	        {"\x00\x00\x00\x00\x02\x00\x00\x00\x01"
	         "a",
	         10},
	        {"\x00\x00\x00\x00\x02\x81\x80\x80\x80\x80\x00\x00\x00\x01"
	         "a",
	         15},
	        {"\x00\x00\x00\x00\x02\xff\xff\xff\xff\x10\x00\x00\x01"
	         "a",
	         14},
	};
	struct detour_statlog_iter it;
	struct detour_statlog_rec r;
	struct guard g;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = guard_copy(&g, bad[i].b, bad[i].n);
		detour_statlog_iter_init(&it, p, bad[i].n);
		assert_int_equal(detour_statlog_iter_next(&it, &r), -1);
		guard_free(&g);
	}
	/* the largest u32 in 5 bytes is fine */
	const char ok[] = "\x00\x00\x00\x00\x02\xff\xff\xff\xff\x0f\x00\x00\x01"
	                  "a";
	const char *p = guard_copy(&g, ok, sizeof(ok) - 1);
	detour_statlog_iter_init(&it, p, sizeof(ok) - 1);
	assert_int_equal(detour_statlog_iter_next(&it, &r), 1);
	assert_int_equal(r.delta, UINT32_MAX);
	assert_int_equal(detour_statlog_iter_next(&it, &r), 0);
	guard_free(&g);
}

/* The merge reads both versions: a log written before and after an
 * upgrade sums per id. */
static void test_merge_v1_v2(void **state)
{
	struct detour_statlog_writer w;
	struct detour_statlog_merge m;
	struct bbuf b1, b2;

	bbuf_init(&b1, 1 << 20);
	bbuf_init(&b2, 1 << 20);
	assert_true(detour_statlog_put(&b1, "r:1", 3, 5, 100));
	assert_true(detour_statlog_put(&b1, "r:2", 3, 1, 100));
	detour_statlog_begin(&w, &b2);
	assert_true(detour_statlog_add(&w, "r:1", 3, 7, 120));
	assert_true(detour_statlog_add(&w, "r:10", 4, 2, 90));
	detour_statlog_merge_init(&m);
	assert_int_equal(detour_statlog_merge_blob(&m, b1.p, b1.len), 0);
	assert_int_equal(detour_statlog_merge_blob(&m, b2.p, b2.len), 0);
	detour_statlog_merge_sort(&m);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.e[0].id, "r:1");
	assert_int_equal(m.e[0].hits, 12);
	assert_int_equal(m.e[0].last, 120);
	assert_string_equal(m.e[1].id, "r:10");
	assert_int_equal(m.e[1].hits, 2);
	assert_string_equal(m.e[2].id, "r:2");
	detour_statlog_merge_free(&m);
	bbuf_free(&b1);
	bbuf_free(&b2);
}

static void add(struct bbuf *b, const char *id, uint32_t d, uint32_t last)
{
	assert_true(detour_statlog_put(b, id, strlen(id), d, last));
}

static void test_merge(void **state)
{
	struct detour_statlog_merge m;
	struct bbuf b1, b2;

	bbuf_init(&b1, 1 << 20);
	bbuf_init(&b2, 1 << 20);
	add(&b1, "b", 4, 100);
	add(&b1, "ab", 1, 50);
	add(&b1, "a", 2, 70);
	add(&b2, "b", 0xffffffffu, 90); /* a whole u32 delta: sums are 64-bit */
	add(&b2, "a", 3, 80);
	add(&b2, "a\xff", 1, 1);
	detour_statlog_merge_init(&m);
	assert_int_equal(detour_statlog_merge_blob(&m, b1.p, b1.len), 0);
	assert_int_equal(detour_statlog_merge_blob(&m, b2.p, b2.len), 0);
	assert_int_equal(m.n, 4);
	detour_statlog_merge_sort(&m);
	/* BINARY order: memcmp, then the shorter first; bytes are unsigned */
	assert_string_equal(m.e[0].id, "a");
	assert_int_equal(m.e[0].hits, 5);
	assert_int_equal(m.e[0].last, 80);
	assert_string_equal(m.e[1].id, "ab");
	assert_string_equal(m.e[2].id, "a\xff");
	assert_string_equal(m.e[3].id, "b");
	assert_int_equal(m.e[3].hits, UINT64_C(0xffffffff) + 4);
	assert_int_equal(m.e[3].last, 100);
	detour_statlog_merge_free(&m);
	bbuf_free(&b1);
	bbuf_free(&b2);
}

static void test_merge_many(void **state)
{
	struct detour_statlog_merge m;
	struct bbuf b;
	enum { N = 50000 };

	bbuf_init(&b, 1 << 26);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < N; i++) {
			char id[32];
			snprintf(id, sizeof(id), "f:%u", i);
			add(&b, id, i + 1, round);
		}
	assert_true(bbuf_ok(&b));
	detour_statlog_merge_init(&m);
	assert_int_equal(detour_statlog_merge_blob(&m, b.p, b.len), 0);
	assert_int_equal(m.n, N);
	uint64_t total = 0;
	for (size_t i = 0; i < m.n; i++) {
		unsigned k;
		assert_int_equal(sscanf(m.e[i].id, "f:%u", &k), 1);
		assert_int_equal(m.e[i].hits, 3 * (uint64_t)(k + 1));
		assert_int_equal(m.e[i].last, 2);
		total += m.e[i].hits;
	}
	assert_int_equal(total, 3 * (uint64_t)N * (N + 1) / 2);
	detour_statlog_merge_sort(&m);
	for (size_t i = 1; i < m.n; i++)
		assert_true(strcmp(m.e[i - 1].id, m.e[i].id) < 0);
	detour_statlog_merge_free(&m);
	bbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bytes),         cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_malformed),     cmocka_unit_test(test_merge),
	        cmocka_unit_test(test_merge_many),    cmocka_unit_test(test_v2_bytes),
	        cmocka_unit_test(test_v2_round_trip), cmocka_unit_test(test_v2_malformed),
	        cmocka_unit_test(test_merge_v1_v2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
