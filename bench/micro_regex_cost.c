/* Micro benchmark behind lint's regex-cost classes (docs/lint.md): the cost of
 * a lookup that runs N prefix-less regexes, anchored on "/" only
 * (~^/(xN|yN)/(.*)$) and unanchored (~xN[a-z]+\.php$), for a path no rule
 * matches (an exact rule last).
 *
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/micro_regex_cost.c \
 *      build/libdetour.a $(pkg-config --libs libpcre2-8) -lm -o build/micro_regex_cost
 *   build/micro_regex_cost */
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
	return t.tv_sec + t.tv_nsec / 1e9;
}
static double run(int n, int anchored, const char *path)
{
	char *text = malloc(n * 80 + 100);
	size_t o = 0;
	for (int i = 0; i < n; i++)
		o += sprintf(text + o,
		             anchored ? "~^/(x%d|y%d)/(.*)$ /n/$2 301\n"
		                      : "~x%d[a-z]+\\.php$ /n 301\n",
		             i, i);
	o += sprintf(text + o, "/exact /e 301\n");
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	struct detour_table *t;
	if (detour_ruleset_load_buf(rs, "b", text, o, &d)) {
		char m[600];
		puts(detour_diag_format(&d, m, 600));
		exit(1);
	}
	detour_table_build(rs, &t, &d);
	struct detour_match_req q = {.path = path, .path_len = strlen(path)};
	struct detour_match m;
	int N = 200000;
	double t0 = now();
	for (int i = 0; i < N; i++)
		detour_table_match(t, &q, &m);
	double dt = now() - t0;
	detour_table_free(t);
	free(text);
	return dt / N * 1e9;
}
int main(void)
{
	const char *p = "/some/typical/path/to/a/page-name-here.html";
	int ns[] = {0, 1, 4, 8, 16, 32, 64, 128, 256};
	for (unsigned i = 0; i < sizeof ns / sizeof *ns; i++)
		printf("n=%3d anchored %7.0f ns  unanchored %7.0f ns\n", ns[i], run(ns[i], 1, p),
		       run(ns[i], 0, p));
}
