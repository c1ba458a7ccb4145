/* Micro benchmark for lib/url.c: ns per call of detour_url_normalize_path()
 * and detour_url_encode() on typical request paths, best of 40 runs of
 * 100000 calls (the best run is the least disturbed by other load).
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/micro_url.c build/libdetour.a \
 *      -o build/micro_url */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "detour/url.h"

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static const char *const paths[] = {
        "/docs/v2/getting-started/install%2Dguide", /* 40 bytes, one escape */
        "/blog/2024/03/some-article-title-here-x",  /* 39 bytes, plain */
        "/a/b/../c/./d/e/f/g/h/i/j/k/l/m/n/o/p/q",  /* 39 bytes, dot segments */
};

int main(void)
{
	char out[256];
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		const char *p = paths[k];
		size_t n = strlen(p);
		double best = 1e18;
		long sum = 0;
		for (int run = 0; run < 40; run++) {
			const int iters = 100000;
			double t0 = now_ns();
			for (int i = 0; i < iters; i++) {
				__asm__ volatile("" : "+r"(p)::"memory");
				sum += detour_url_normalize_path(p, n, out, sizeof(out));
			}
			double d = (now_ns() - t0) / iters;
			if (d < best)
				best = d;
		}
		printf("normalize_path %2zu bytes %-42s %6.1f ns/call\n", n, p, best);
		best = 1e18;
		for (int run = 0; run < 40; run++) {
			const int iters = 100000;
			double t0 = now_ns();
			for (int i = 0; i < iters; i++) {
				__asm__ volatile("" : "+r"(p)::"memory");
				sum += detour_url_encode(p, n, DETOUR_ENC_PATH, out, sizeof(out));
			}
			double d = (now_ns() - t0) / iters;
			if (d < best)
				best = d;
		}
		printf("encode(PATH)   %2zu bytes %-42s %6.1f ns/call\n", n, p, best);
		if (sum == 0)
			return 1;
	}
	return 0;
}
