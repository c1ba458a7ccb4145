/* Micro benchmark of the rule engine: load + build time, memory, and the cost
 * of a match (and of a whole response) for exact, splat and pattern rules,
 * and 20000 pattern rules that share their first segment.
 *
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/micro_table.c build/libdetour.a \
 *      $(pkg-config --libs libpcre2-8) -lm -o build/micro_table
 *   build/micro_table [N]        N exact rules (default 1000000)
 *
 * The rules file is written to $TMPDIR (streamed, so the generator does not
 * inflate the peak RSS) and removed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_match.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS or VmHWM in MB from /proc/self/status. */
static double proc_mb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0) {
			v = strtod(line + strlen(key) + 1, NULL) / 1024.0;
			break;
		}
	}
	fclose(f);
	return v;
}

static struct detour_table *load(const char *path, double *t_load, double *t_build)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t;
	struct detour_diag d;
	char msg[512];
	double t0 = now_s();

	if (detour_ruleset_load_file(rs, path, &d) != DETOUR_OK) {
		fprintf(stderr, "%s\n", detour_diag_format(&d, msg, sizeof(msg)));
		exit(1);
	}
	double t1 = now_s();
	if (detour_table_build(rs, &t, &d) != DETOUR_OK) {
		fprintf(stderr, "%s\n", detour_diag_format(&d, msg, sizeof(msg)));
		exit(1);
	}
	*t_load = t1 - t0;
	*t_build = now_s() - t1;
	return t;
}

static unsigned long rng = 88172645463325252ul;

static unsigned long next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ns per match over reps random requests made by mk(i, buf). */
static double time_match(const struct detour_table *t, unsigned n, unsigned reps,
                         size_t (*mk)(unsigned, char *), bool respond, unsigned *hits)
{
	char(*paths)[64] = malloc((size_t)reps * 64);
	size_t *lens = malloc((size_t)reps * sizeof(size_t));
	static char out[DETOUR_RESPONSE_MAX];
	struct detour_respond_ctx ctx = {.date = "Sun, 06 Nov 1994 08:49:37 GMT", .now = 784111777};
	struct detour_match m;
	struct detour_match_req q = {.host = "www.example.com", .host_len = 15};

	for (unsigned i = 0; i < reps; i++)
		lens[i] = mk((unsigned)(next() % n), paths[i]);
	/* The best of three rounds: the machine is shared, the minimum is the
	 * cost of the code rather than of the neighbours. */
	double best = 1e9;
	for (int round = 0; round < 3; round++) {
		*hits = 0;
		double t0 = now_s();
		for (unsigned i = 0; i < reps; i++) {
			q.path = paths[i];
			q.path_len = lens[i];
			if (detour_table_match(t, &q, &m)) {
				(*hits)++;
				if (respond && detour_respond(&m, &q, &ctx, out, sizeof(out)) < 0)
					abort();
			}
		}
		double dt = now_s() - t0;
		if (dt < best)
			best = dt;
	}
	double dt = best;
	free(paths);
	free(lens);
	return dt * 1e9 / reps;
}

static size_t mk_exact(unsigned i, char *b)
{
	return (size_t)sprintf(b, "/old/path/%06u", i);
}

static size_t mk_miss(unsigned i, char *b)
{
	return (size_t)sprintf(b, "/nope/path/%06u", i);
}

static size_t mk_splat(unsigned i, char *b)
{
	return (size_t)sprintf(b, "/s%u/a/b/c", i);
}

static size_t mk_pattern(unsigned i, char *b)
{
	return (size_t)sprintf(b, "/p%u/v1/page", i);
}

static size_t mk_shared(unsigned i, char *b)
{
	return (size_t)sprintf(b, "/c/%u/item", i);
}

static void write_rules(const char *path, unsigned n, int kind)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		if (kind == 0)
			fprintf(f, "/old/path/%06u /new/path/%06u 301\n", i, i);
		else if (kind == 1)
			fprintf(f, "/s%u/* https://example.com/%u/:splat 308\n", i, i);
		else if (kind == 2)
			fprintf(f, "/p%u/:version/:page /docs/%u/:page?v=:version\n", i, i);
		else
			fprintf(f, "/c/%u/:id /t/%u/:id 301\n", i, i);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512];
	double tl, tb;
	unsigned hits;

	snprintf(path, sizeof(path), "%s/detour-micro-table-%d.rules", tmp, (int)getpid());

	/* 1. n exact rules: load, memory, match */
	write_rules(path, n, 0);
	double rss0 = proc_mb("VmRSS:");
	struct detour_table *t = load(path, &tl, &tb);
	double rss1 = proc_mb("VmRSS:"), hwm = proc_mb("VmHWM:");
	printf("exact rules:        %u\n", n);
	printf("load (parse):       %.3f s\n", tl);
	printf("build (index):      %.3f s\n", tb);
	printf("RSS before / after: %.1f MB / %.1f MB (ruleset + table %.1f MB), peak %.1f MB\n",
	       rss0, rss1, rss1 - rss0, hwm);
	unsigned reps = 1000000;
	double ns = time_match(t, n, reps, mk_exact, false, &hits);
	printf("match, random hit:  %.1f ns (%u/%u hit)\n", ns, hits, reps);
	ns = time_match(t, n, reps, mk_miss, false, &hits);
	printf("match, miss:        %.1f ns (%u hit)\n", ns, hits);
	ns = time_match(t, n, reps, mk_exact, true, &hits);
	printf("match + response:   %.1f ns\n", ns);
	detour_table_free(t);

	/* 2. the same on a table that fits in cache */
	write_rules(path, 1000, 0);
	t = load(path, &tl, &tb);
	ns = time_match(t, 1000, reps, mk_exact, false, &hits);
	printf("1000 exact, hit:    %.1f ns (%u hit)\n", ns, hits);
	ns = time_match(t, 1000, reps, mk_exact, true, &hits);
	printf("1000 exact + resp:  %.1f ns\n", ns);
	detour_table_free(t);

	/* 3. splat and pattern rules */
	unsigned ns_rules = n / 10 ? n / 10 : 1;
	write_rules(path, ns_rules, 1);
	t = load(path, &tl, &tb);
	ns = time_match(t, ns_rules, reps, mk_splat, false, &hits);
	printf("%u splat, hit:  %.1f ns (%u hit), load %.3f s + build %.3f s\n", ns_rules, ns, hits,
	       tl, tb);
	ns = time_match(t, ns_rules, reps, mk_splat, true, &hits);
	printf("splat + response:   %.1f ns\n", ns);
	detour_table_free(t);
	write_rules(path, ns_rules, 2);
	t = load(path, &tl, &tb);
	ns = time_match(t, ns_rules, reps, mk_pattern, false, &hits);
	printf("%u pattern, hit: %.1f ns (%u hit), load %.3f s + build %.3f s\n", ns_rules, ns,
	       hits, tl, tb);
	ns = time_match(t, ns_rules, reps, mk_pattern, true, &hits);
	printf("pattern + response: %.1f ns\n", ns);
	detour_table_free(t);

	/* 4. 20000 pattern rules with a shared first segment ("/c/N/:id"):
	 * one literal prefix each, not one 20000-rule bucket */
	write_rules(path, 20000, 3);
	t = load(path, &tl, &tb);
	ns = time_match(t, 20000, reps / 100, mk_shared, false, &hits);
	printf("20000 pattern rules with a shared first segment, hit: %.1f ns (%u/%u hit)\n", ns,
	       hits, reps / 100);
	detour_table_free(t);
	unlink(path);
	return 0;
}
