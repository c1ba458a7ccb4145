/* The statistics answered from memory (src/server/state_totals.c) against a
 * real SQLite state in a temporary directory: the order of a listing (most
 * hits first, ties by id as SQLite's BINARY collation orders them), pages,
 * orphans past those kept (the listing then leaves it to SQL), and an API
 * table's totals carried to the table that replaces it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/rulefile.h"
#include "detour/table.h"
#include "publish.h"
#include "state.h"
#include "state_int.h"
#include "state_totals.h"
#include "unit.h"

static struct served *table_of(const char *name, const char *text, enum served_origin origin)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;

	assert_non_null(rs);
	assert_int_equal(detour_ruleset_load_buf(rs, name, text, strlen(text), &d), 0);
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	struct served *s = served_new(t, origin, 1, true);
	assert_non_null(s);
	return s;
}

/* n hits of rule i counted and flushed, as the workers and the flush do. */
static void count(struct state *st, struct served *s, size_t i, uint32_t n)
{
	atomic_store(&s->hits[i].hits, atomic_load(&s->hits[i].hits) + n);
	atomic_store(&s->hits[i].last, 1700000000u + n);
	s->pending[i / 64] |= (uint64_t)1 << (i % 64);
	state_flush_served(st, s);
}

struct row {
	char id[64];
	int64_t hits;
};

struct rows {
	struct row r[64];
	size_t n;
};

static void collect(void *arg, const char *id, int64_t hits, int64_t last)
{
	struct rows *rs = arg;

	(void)last;
	assert_true(rs->n < 64);
	snprintf(rs->r[rs->n].id, sizeof(rs->r[0].id), "%s", id);
	rs->r[rs->n++].hits = hits;
}

/* Lists offset, limit of file and api: asserts the total and the rows, given
 * as "id=hits id=hits ...". */
static void list_is(struct state *st, struct served *file, struct served *api, int64_t offset,
                    int64_t limit, int64_t total, const char *want)
{
	struct rows rs = {0};
	char got[1024] = "";

	assert_int_equal(state_totals_list(st, file, api, offset, limit, collect, &rs), total);
	for (size_t i = 0; i < rs.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%lld", i ? " " : "",
		         rs.r[i].id, (long long)rs.r[i].hits);
	assert_string_equal(got, want);
}

static struct state *open_state(char *dir)
{
	char err[256];

	strcpy(dir, "/tmp/test_state_totals.XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct state *st = state_open(dir, err, sizeof(err));
	assert_non_null(st);
	return st;
}

static void close_state(struct state *st, char *dir)
{
	char cmd[300];

	state_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Ties by id in strcmp order ("f:10" before "f:2"), pages of the same order. */
static void test_order_and_pages(void **state)
{
	char dir[64], text[512] = "";
	struct state *st = open_state(dir);
	struct rows rs = {0};

	(void)state;
	for (int i = 0; i < 12; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "/r%d /t%d\n", i, i);
	struct served *f = table_of("f", text, ORIGIN_FILE);
	static const uint32_t hits[12] = {3, 1, 3, 2, 1, 5, 3, 1, 2, 2, 3, 1};
	for (size_t i = 0; i < 12; i++)
		count(st, f, i, hits[i]);
	list_is(st, f, NULL, 0, 100, 12,
	        "f:6=5 f:1=3 f:11=3 f:3=3 f:7=3 f:10=2 f:4=2 f:9=2 f:12=1 f:2=1 f:5=1 f:8=1");
	/* More hits after the load: the flush adds them, no new load. */
	unsigned epoch = st->epoch;
	count(st, f, 11, 10); /* f:12: 11 */
	list_is(st, f, NULL, 0, 2, 12, "f:12=11 f:6=5");
	assert_int_equal(st->epoch, epoch);
	list_is(st, f, NULL, 3, 2, 12, "f:11=3 f:3=3");
	/* Past what memory answers: -1 (the caller asks SQL). */
	assert_int_equal(state_totals_list(st, f, NULL, STATE_TOTALS_LIST_MAX, 1, collect, &rs),
	                 -1);
	int64_t h = 0, l = 0;
	assert_true(state_totals_get(st, f, 5, &h, &l));
	assert_int_equal(h, 5);
	served_free(f);
	close_state(st, dir);
}

/* More orphans than kept: the first pages come from memory, a page past
 * the orphans kept does not. */
static void test_orphans_past_those_kept(void **state)
{
	char dir[64];
	struct state *st = open_state(dir);
	size_t n = STATE_ORPHANS_KEPT + 50, cap = n * 16 + 1, len = 0;
	char *text = malloc(cap);
	struct rows rs = {0};

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "/o%zu /t\n", i);
	struct served *old = table_of("old", text, ORIGIN_FILE);
	for (size_t i = 0; i < n; i++) {
		atomic_store(&old->hits[i].hits, 1 + (i == 7 ? 100 : 0));
		atomic_store(&old->hits[i].last, 1700000000u);
		old->pending[i / 64] |= (uint64_t)1 << (i % 64);
	}
	state_flush_served(st, old);
	served_free(old);
	free(text);
	struct served *f = table_of("new", "/a /b\n", ORIGIN_FILE);
	count(st, f, 0, 50);
	list_is(st, f, NULL, 0, 3, (int64_t)n + 1, "old:8=101 new:1=50 old:1=1");
	assert_int_equal(st->norph, (int64_t)n);
	assert_int_equal(st->norph_kept, STATE_ORPHANS_KEPT);
	assert_int_equal(state_totals_list(st, f, NULL, STATE_ORPHANS_KEPT, 1, collect, &rs), -1);
	served_free(f);
	close_state(st, dir);
}

/* An API table replaced: kept ids keep their totals, a deleted one becomes
 * an orphan, one counted before comes back from the orphans; no load. */
static void test_carry(void **state)
{
	char dir[64];
	struct state *st = open_state(dir);

	(void)state;
	struct served *f = table_of("f", "/a /b\n", ORIGIN_FILE);
	struct served *a = table_of("api", "/p /q id=p\n/r /s id=r\n", ORIGIN_API);
	count(st, f, 0, 1);
	count(st, a, 0, 7);
	count(st, a, 1, 4);
	list_is(st, f, a, 0, 10, 3, "p=7 r=4 f:1=1");
	unsigned epoch = st->epoch;
	/* r deleted, x added */
	struct served *b = table_of("api", "/p /q id=p\n/x /y id=x\n", ORIGIN_API);
	count(st, a, 0, 1); /* the retired table's last flush */
	state_totals_carry(st, a, b, f);
	served_free(a);
	assert_int_equal(st->epoch, epoch);
	assert_ptr_equal(st->tot_api, b);
	count(st, b, 1, 2);
	list_is(st, f, b, 0, 10, 4, "p=8 r=4 x=2 f:1=1");
	/* r comes back: its total from the orphans */
	struct served *c = table_of("api", "/r /s id=r\n", ORIGIN_API);
	state_totals_carry(st, b, c, f);
	served_free(b);
	count(st, c, 0, 1);
	list_is(st, f, c, 0, 10, 4, "p=8 r=5 x=2 f:1=1");
	assert_int_equal(st->epoch, epoch);
	assert_int_equal(st->norph, 2); /* p and x */
	/* What SQL says after a fold is the same. */
	int64_t h = 0, l = 0;
	assert_int_equal(state_stats_get(st, "r", &h, &l), 1);
	assert_int_equal(h, 5);
	assert_int_equal(state_stats_get(st, "p", &h, &l), 1);
	assert_int_equal(h, 8);
	served_free(c);
	served_free(f);
	close_state(st, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_and_pages),
	        cmocka_unit_test(test_orphans_past_those_kept),
	        cmocka_unit_test(test_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
