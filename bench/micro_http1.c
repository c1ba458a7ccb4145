/* Micro benchmark for lib/http1.c: ns per detour_http1_parse() of a typical
 * browser GET (300 bytes, 6 fields), 10 million parses, reported as
 * the mean over all of them and the best of 100 slices of 100000 (the best
 * slice is the least disturbed by other load on a shared machine).
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/micro_http1.c \
 *       build/libdetour.a -o build/micro_http1 && build/micro_http1 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "detour/http1.h"

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static const char get[] =
        "GET /blog/2024/06/some-article-title?utm_source=newsletter HTTP/1.1\r\n"
        "Host: www.example.com\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0\r\n"
        "Accept: text/html,*/*;q=0.8\r\n"
        "Accept-Language: en-US,en;q=0.5\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Connection: keep-alive\r\n"
        "\r\n";

int main(void)
{
	static struct detour_request req;
	struct detour_http1_limits l;
	const char *p = get;
	size_t n = sizeof(get) - 1, sum = 0;
	const int slices = 100, per = 100000;
	double best = 1e18, all = 0;
	int st;

	detour_http1_limits_default(&l);
	if (detour_http1_parse(p, n, &l, &req, &st) != DETOUR_OK || req.head_len != n) {
		fprintf(stderr, "micro_http1: the sample does not parse\n");
		return 1;
	}
	for (int s = 0; s < slices; s++) {
		double t0 = now_ns();
		for (int i = 0; i < per; i++) {
			__asm__ volatile("" : "+r"(p)::"memory");
			detour_http1_parse(p, n, &l, &req, &st);
			sum += req.head_len;
		}
		double d = now_ns() - t0;
		all += d;
		if (d / per < best)
			best = d / per;
	}
	if (sum != (size_t)slices * per * n)
		return 1;
	printf("http1_parse %zu bytes, %u fields: %.1f ns/parse mean over %d, best slice %.1f "
	       "ns/parse (%.2f ns/byte)\n",
	       n, req.num_headers, all / ((double)slices * per), slices * per, best, best / n);
	return 0;
}
