/* Micro benchmark behind the JSON access log's writer (docs/internals/server.md):
 * one line of fifteen keys through jansson (object, fifteen sets, json_dumpb,
 * decref) and through base/buf.h's fixed byte writer with esc_json_str.
 *
 *   make && cc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/micro_alog_json.c \
 *      build/libdetour.a -ljansson -o build/micro_alog_json
 *   build/micro_alog_json */
#include "base/buf.h"
#include "base/esc.h"
#include <jansson.h>
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
static const char *ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/131.0.0.0 Safari/537.36";
static void js(struct bbuf *b, const char *k, const char *s)
{
	bbuf_puts(b, k);
	bbuf_putc(b, '"');
	esc_json_str(b, s, strlen(s));
	bbuf_putc(b, '"');
}
int main(void)
{
	int N = 1000000;
	char buf[65536];
	size_t tot = 0;
	double t0 = now();
	for (int i = 0; i < N; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "time", json_string("2026-12-03T08:05:12Z"));
		json_object_set_new(o, "client", json_string("127.0.0.1"));
		json_object_set_new(o, "method", json_string("GET"));
		json_object_set_new(o, "target", json_string("/old/page?x=1"));
		json_object_set_new(o, "host", json_string("www.example.com"));
		json_object_set_new(o, "scheme", json_string("https"));
		json_object_set_new(o, "protocol", json_string("HTTP/1.1"));
		json_object_set_new(o, "status", json_integer(301));
		json_object_set_new(o, "bytes", json_integer(238));
		json_object_set_new(o, "duration_ms", json_integer(0));
		json_object_set_new(o, "rule", json_string("site.rules:12"));
		json_object_set_new(o, "origin", json_string("file"));
		json_object_set_new(o, "location",
		                    json_string("https://www.example.com/new/page?x=1"));
		json_object_set_new(o, "user_agent", json_string(ua));
		json_object_set_new(o, "referer", json_null());
		size_t n = json_dumpb(o, buf, sizeof buf, JSON_COMPACT | JSON_PRESERVE_ORDER);
		tot += n;
		json_decref(o);
	}
	double t1 = now();
	for (int i = 0; i < N; i++) {
		struct bbuf b;
		bbuf_fixed(&b, buf, sizeof buf);
		BBUF_LIT(&b, "{");
		js(&b, "\"time\":", "2026-12-03T08:05:12Z");
		js(&b, ",\"client\":", "127.0.0.1");
		js(&b, ",\"method\":", "GET");
		js(&b, ",\"target\":", "/old/page?x=1");
		js(&b, ",\"host\":", "www.example.com");
		js(&b, ",\"scheme\":", "https");
		js(&b, ",\"protocol\":", "HTTP/1.1");
		BBUF_LIT(&b, ",\"status\":");
		bbuf_put_uint(&b, 301);
		BBUF_LIT(&b, ",\"bytes\":");
		bbuf_put_uint(&b, 238);
		BBUF_LIT(&b, ",\"duration_ms\":");
		bbuf_put_uint(&b, 0);
		js(&b, ",\"rule\":", "site.rules:12");
		js(&b, ",\"origin\":", "file");
		js(&b, ",\"location\":", "https://www.example.com/new/page?x=1");
		js(&b, ",\"user_agent\":", ua);
		BBUF_LIT(&b, ",\"referer\":null}\n");
		tot += b.len;
	}
	double t2 = now();
	printf("jansson %.0f ns/line, bbuf %.0f ns/line (%zu)\n", (t1 - t0) / N * 1e9,
	       (t2 - t1) / N * 1e9, tot);
}
