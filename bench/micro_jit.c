/* Why PCRE2's JIT was slower than its interpreter on thousands of regex rules
 * (docs/internals/table.md, "PCRE2: JIT or interpreter"): N patterns of
 * bench/gen_regex.py's shapes, each run once on a path none of them matches,
 * the way a table without an index runs them, against the same pattern run N
 * times (its code stays hot), for the JIT (pcre2_match and pcre2_jit_match)
 * and the interpreter. CPU time (CLOCK_PROCESS_CPUTIME_ID), not wall time:
 * the machine may be shared.
 *
 *   cc -std=gnu11 -O2 bench/micro_jit.c $(pkg-config --libs libpcre2-8) -o build/micro_jit
 *   build/micro_jit [N] */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *const shapes[] = {
        "^/(en|fr|de)/product-%d-(\\d+)$",
        "\\.p%d\\.php$",
        "/old-%d/(.*)\\.html$",
        "^/(?:blog|news)/%d-([a-z0-9-]+)$",
        "-p%d\\.aspx$",
        "^/(\\d{4})/(\\d{2})/post-%d$",
        "^/(?<cat>[a-z]+)/item-%d(?:\\.html)?$",
        "/download/file%d\\.(pdf|zip)$",
};

/* ns per regex: each of codes[0..n) once (distinct), or codes[0] n times (same). */
static double run(pcre2_code **codes, int n, int same, int jitmatch, pcre2_match_data *md,
                  const char *path)
{
	size_t len = strlen(path);
	int rounds = 20, hits = 0;
	double t0 = cpu();
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++) {
			pcre2_code *c = codes[same ? 0 : i];
			int rc = jitmatch
			                 ? pcre2_jit_match(c, (PCRE2_SPTR)path, len, 0, 0, md, NULL)
			                 : pcre2_match(c, (PCRE2_SPTR)path, len, 0, 0, md, NULL);
			hits += rc >= 0;
		}
	if (hits)
		printf("(unexpected: %d hits)\n", hits);
	return (cpu() - t0) / rounds / n * 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	pcre2_code **jit = malloc(n * sizeof(*jit)), **interp = malloc(n * sizeof(*interp));
	pcre2_match_data *md = pcre2_match_data_create(17, NULL);
	const char *path = "/some/typical/path/to/a/page-name-here.html";
	size_t jitsize = 0, codesize = 0;
	char pat[128];
	int err;
	PCRE2_SIZE off;

	for (int i = 0; i < n; i++) {
		snprintf(pat, sizeof(pat), shapes[i % 8], i);
		uint32_t o = PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF;
		jit[i] = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, o, &err, &off, NULL);
		interp[i] =
		        pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, o, &err, &off, NULL);
		pcre2_jit_compile(jit[i], PCRE2_JIT_COMPLETE);
		size_t s = 0;
		pcre2_pattern_info(jit[i], PCRE2_INFO_JITSIZE, &s);
		jitsize += s;
		pcre2_pattern_info(interp[i], PCRE2_INFO_SIZE, &s);
		codesize += s;
	}
	printf("%d patterns: JIT machine code %zu KiB in all, interpreter byte code %zu KiB\n", n,
	       jitsize / 1024, codesize / 1024);
	printf("ns per regex          distinct   same\n");
	printf("JIT, pcre2_match      %8.1f %6.1f\n", run(jit, n, 0, 0, md, path),
	       run(jit, n, 1, 0, md, path));
	printf("JIT, pcre2_jit_match  %8.1f %6.1f\n", run(jit, n, 0, 1, md, path),
	       run(jit, n, 1, 1, md, path));
	printf("interpreter           %8.1f %6.1f\n", run(interp, n, 0, 0, md, path),
	       run(interp, n, 1, 0, md, path));
	return 0;
}
