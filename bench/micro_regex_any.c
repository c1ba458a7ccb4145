/* Micro benchmark of a regex table of any shape (bench/gen_regex.py's rules, no common
 * literal prefix): load and build time, then ns per detour_table_match over the paths file
 * (each matched, each a hit), in rounds.
 *
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/micro_regex_any.c \
 *      build/libdetour.a $(pkg-config --libs libpcre2-8 libhs) -lm -pthread -o
 * build/micro_regex_any bench/gen_regex.py 10000 /tmp/any.rules /tmp/any.nginx /tmp/any.paths
 *   build/micro_regex_any /tmp/any.rules /tmp/any.paths [ROUNDS] */
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_match.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: micro_regex_any RULES PATHS [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t;
	struct detour_diag d;
	char msg[600];
	double t0 = now();
	if (detour_ruleset_load_file(rs, argv[1], &d) != DETOUR_OK) {
		fprintf(stderr, "%s\n", detour_diag_format(&d, msg, sizeof(msg)));
		return 1;
	}
	double t1 = now();
	if (detour_table_build(rs, &t, &d) != DETOUR_OK) {
		fprintf(stderr, "%s\n", detour_diag_format(&d, msg, sizeof(msg)));
		return 1;
	}
	double t2 = now();
	FILE *f = fopen(argv[2], "r");
	if (f == NULL) {
		perror(argv[2]);
		return 1;
	}
	size_t np = 0, cap = 1024;
	char **paths = malloc(cap * sizeof(*paths)), line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (np == cap)
			paths = realloc(paths, (cap *= 2) * sizeof(*paths));
		paths[np++] = strdup(line);
	}
	fclose(f);
	printf("load %.3f s, build %.3f s, %zu paths\n", t1 - t0, t2 - t1, np);
	for (int r = 0; r < rounds; r++) {
		size_t hits = 0;
		double s = now();
		for (size_t i = 0; i < np; i++) {
			struct detour_match_req q = {.path = paths[i],
			                             .path_len = strlen(paths[i])};
			struct detour_match m;
			hits += detour_table_match(t, &q, &m);
		}
		double e = now() - s;
		printf("round %d: %.0f ns a match, %zu of %zu hit\n", r, e / (double)np * 1e9, hits,
		       np);
	}
	detour_table_free(t);
	return 0;
}
