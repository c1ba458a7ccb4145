/* Micro benchmark of per-rule statistics on a large table: the worker's cost
 * of counting a hit (stats_hit + stats_drain), and the cost of one flush of
 * the counters to the state (state_flush_served) with K rules hit among N,
 * then of reading the 10 most hit rules as a /metrics scrape does, READS
 * times (default 3), each after one more flush. Single thread, no network:
 * figures that the load of a shared machine disturbs far less than
 * bench/stats.sh, and that callgrind can count exactly.
 *
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -g -Iinclude -Ilib -Isrc/server \
 *      bench/micro_flush.c build/src/server/{state,state_totals,publish,stats,log}.o \
 *      build/libdetour.a $(pkg-config --libs sqlite3 libpcre2-8 libhs libcrypto) \
 *      -lstdc++ -pthread -lm -o build/micro_flush
 *   build/micro_flush [N [K [ROUNDS]]]   defaults: 1000000 rules, 300000 hits a flush, 3 rounds
 *
 * -DMICRO_FLUSH_SQL builds it against a tree from before state_totals.c
 * (953e11f: a read folds the log and asks SQL; leave out state_totals.o),
 * -DMICRO_FLUSH_BEFORE (with -DMICRO_FLUSH_SQL) against one from before the
 * touched bitmaps (3c7fa25), for the figures before and after.
 *
 * K = 300,000 random hits over a million rules (about 260,000 distinct rules) is what a
 * worker answering 60,000 requests/s counts between two flushes (stats-flush 5 s). The rules
 * file (and the state) go to a directory under $TMPDIR whose path is as long as bench/run.sh's
 * (the rule ids are "FILE:LINE"), removed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"
#include "publish.h"
#include "state.h"
#ifndef MICRO_FLUSH_SQL
#include "state_totals.h"
#endif
#include "stats.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: less disturbed by other load */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void top_row(void *arg, const char *id, int64_t hits, int64_t last)
{
	(void)arg, (void)id, (void)hits, (void)last;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long log_bytes(const char *db)
{
	char cmd[4200];
	long n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
	         "sqlite3 %s 'SELECT coalesce(sum(length(data)), 0) FROM stats_log'", db);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%ld", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t k = argc > 2 ? strtoul(argv[2], NULL, 10) : 300000;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096], sub[4200], path[4400], db[4400], err[512];
	struct detour_table *t = NULL;
	struct detour_diag d;

	snprintf(dir, sizeof(dir), "%s/micro_flush.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		return perror("mkdtemp"), 1;
	snprintf(sub, sizeof(sub), "%s/wt/stats/bench/out", dir);
	snprintf(path, sizeof(path), "mkdir -p %s", sub);
	if (system(path))
		return 1;
	snprintf(path, sizeof(path), "%s/rules-%zu.rules", sub, n);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return perror(path), 1;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "/r/%zu /target/%zu 301\n", i, i);
	fclose(f);
	const char *files[] = {path};
	if (detour_rules_load(files, 1, &t, &d) != DETOUR_OK)
		return fprintf(stderr, "load: %s\n", d.msg), 1;
	struct served *s = served_new(t, ORIGIN_FILE, 1, true);
	struct state *st = state_open(dir, err, sizeof(err));
	struct wstats *ws = calloc(1, sizeof(*ws));
	if (s == NULL || st == NULL || ws == NULL)
		return fprintf(stderr, "setup: %s\n", err), 1;
	ws->enabled = true;
	snprintf(db, sizeof(db), "%s/detour.db", dir);
	printf("%zu rules, %zu hits a flush, id like \"%s:%zu\"\n", n, k, path, n);

	enum { EVICT = 64 << 20 };
	char *evict = malloc(EVICT);
	uint64_t total = 0;
	int reads = getenv("READS") ? atoi(getenv("READS")) : 3;
	for (int r = 0; r < rounds + reads; r++) {
		if (r >= rounds && !getenv("NO_FOLD")) {
			/* A /metrics scrape: the 10 most hit rules, after a flush. */
			memset(evict, r, EVICT);
			double t0 = now_s();
#ifdef MICRO_FLUSH_SQL /* built against the code before state_totals.c */
			int64_t nids = state_stats_list(st, 0, 10, top_row, NULL);
#else
			int64_t nids = state_totals_list(st, s, NULL, 0, 10, top_row, NULL);
#endif
			double t1 = now_s();
			printf("read %d (top 10 of %lld ids): %.1f ms\n", r - rounds + 1,
			       (long long)nids, (t1 - t0) * 1e3);
		}
		double t0 = now_s();
		struct view v = {.file = s, .file_period = atomic_load(&s->period)};
		for (size_t i = 0; i < k; i++)
			stats_hit(ws, &v, false, 0, (uint32_t)(next_rand() % n), 1700000000u + r);
		stats_drain(ws, &v, 0, 1700000000u + r);
		/* The flush runs on another thread, long after the counts:
		 * its data is not in this core's caches. */
		memset(evict, r, EVICT);
		double t1 = now_s();
#ifndef MICRO_FLUSH_BEFORE               /* built against the code before the bitmaps */
		served_collect(s, true); /* no other thread */
#endif
		state_flush_served(st, s);
		double t2 = now_s();
		total += k;
		printf("round %d: count %.1f ns/hit, flush %.1f ms, log %ld bytes\n", r + 1,
		       (t1 - t0) * 1e9 / (double)k, (t2 - t1) * 1e3, log_bytes(db));
	}
	int64_t hits = 0, last = 0, sum = 0, msum = 0;
	if (getenv("NO_FOLD"))
		goto out;
	double t3 = now_s();
	state_stats_get(st, "nothing", &hits, &last); /* folds the log */
	double t4 = now_s();
	char id[1200];
	for (size_t i = 0; !getenv("NO_VERIFY") && i < n; i++) {
		detour_rule_id(s->rules, detour_ruleset_get(s->rules, i), id, sizeof(id));
		if (state_stats_get(st, id, &hits, &last) == 1)
			sum += hits;
#ifndef MICRO_FLUSH_SQL
		if (state_totals_get(st, s, i, &hits, &last))
			msum += hits;
#endif
	}
#ifdef MICRO_FLUSH_SQL
	msum = sum;
#endif
	printf("fold %.1f ms; %lld hits stored (%lld in memory) for %llu counted: %s\n",
	       (t4 - t3) * 1e3, (long long)sum, (long long)msum, (unsigned long long)total,
	       (uint64_t)sum == total && msum == sum ? "ok" : "WRONG");
out:
	state_close(st);
	served_free(s);
	free(ws);
	free(evict);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) != 0 ||
	       (!getenv("NO_VERIFY") && ((uint64_t)sum != total || msum != sum));
}
