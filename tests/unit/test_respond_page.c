/* Unit tests for detour_page_prepare / detour_respond_page (lib/respond.c):
 * a prepared answer with a body of its own, the server's 503 maintenance
 * page. Exact bytes for GET, HEAD, Connection: close and keep-alive, the
 * Server header, a caller's extra lines; the limits (page size, status,
 * extra lines) and a too small output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/respond.h"

#define NOW  784111777
#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"

static const char PAGE[] = "<!DOCTYPE html>\n<title>Down</title>\n<p>Back at 4:00.</p>\n";
static const char RA[] = "Retry-After: 120\r\n";

static void test_page_bytes(void **state)
{
	struct detour_page pg;
	struct detour_respond_ctx ctx = {.date = DATE, .now = NOW};
	char out[2048], want[2048];
	ssize_t n;

	assert_int_equal(detour_page_prepare(&pg, 503, RA, sizeof(RA) - 1, PAGE, sizeof(PAGE) - 1),
	                 0);
	assert_int_equal(pg.status, 503);
	assert_int_equal(pg.body_len, sizeof(PAGE) - 1);

	/* GET, keep-alive (HTTP/1.1): no Connection line. */
	n = detour_respond_page(&pg, &ctx, out, sizeof(out));
	snprintf(want, sizeof(want),
	         "HTTP/1.1 503 Service Unavailable\r\nDate: " DATE "\r\n"
	         "Cache-Control: no-store\r\nRetry-After: 120\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
	         sizeof(PAGE) - 1, PAGE);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);

	/* HEAD with close and the Server header: the same head, no body. */
	ctx.head = true;
	ctx.close = true;
	ctx.server_header = true;
	n = detour_respond_page(&pg, &ctx, out, sizeof(out));
	snprintf(want, sizeof(want),
	         "HTTP/1.1 503 Service Unavailable\r\nDate: " DATE "\r\nServer: detour\r\n"
	         "Cache-Control: no-store\r\nRetry-After: 120\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n",
	         sizeof(PAGE) - 1);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);

	/* HTTP/1.0 keep-alive, and the caller's own lines before the page's. */
	static const char x[] = "X-A: b\r\n";
	ctx = (struct detour_respond_ctx){.date = DATE,
	                                  .now = NOW,
	                                  .keep_alive = true,
	                                  .extra_headers = x,
	                                  .extra_len = sizeof(x) - 1};
	n = detour_respond_page(&pg, &ctx, out, sizeof(out));
	snprintf(want, sizeof(want),
	         "HTTP/1.1 503 Service Unavailable\r\nDate: " DATE "\r\nX-A: b\r\n"
	         "Cache-Control: no-store\r\nRetry-After: 120\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
	         "Connection: keep-alive\r\n\r\n%s",
	         sizeof(PAGE) - 1, PAGE);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);

	/* Too small: -1, for every size short of the answer. */
	for (size_t cap = 0; cap < (size_t)n; cap += 7)
		assert_int_equal(detour_respond_page(&pg, &ctx, out, cap), -1);
	detour_page_free(&pg);
	assert_null(pg.buf);
	detour_page_free(&pg); /* zeroed: a no-op */
}

static void test_page_without_extra(void **state)
{
	struct detour_page pg;
	struct detour_respond_ctx ctx = {.date = DATE, .now = NOW};
	char out[512];
	static const char want[] = "HTTP/1.1 503 Service Unavailable\r\nDate: " DATE "\r\n"
	                           "Cache-Control: no-store\r\n"
	                           "Content-Type: text/html; charset=utf-8\r\n"
	                           "Content-Length: 0\r\n\r\n";

	/* No Retry-After, an empty page. */
	assert_int_equal(detour_page_prepare(&pg, 503, NULL, 0, NULL, 0), 0);
	ssize_t n = detour_respond_page(&pg, &ctx, out, sizeof(out));
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, (size_t)n);
	detour_page_free(&pg);
}

static void test_page_limits(void **state)
{
	struct detour_page pg;
	struct detour_respond_ctx ctx = {.date = DATE, .now = NOW};
	char *big = malloc(DETOUR_PAGE_MAX + 1), *out = malloc(DETOUR_RESPONSE_MAX);
	char extra[300];

	assert_non_null(big);
	assert_non_null(out);
	memset(big, 'a', DETOUR_PAGE_MAX + 1);
	/* The largest page fits in DETOUR_RESPONSE_MAX with every header. */
	assert_int_equal(detour_page_prepare(&pg, 503, RA, sizeof(RA) - 1, big, DETOUR_PAGE_MAX),
	                 0);
	ctx.close = ctx.server_header = true;
	ssize_t n = detour_respond_page(&pg, &ctx, out, DETOUR_RESPONSE_MAX);
	assert_true(n > DETOUR_PAGE_MAX);
	assert_memory_equal(out + n - DETOUR_PAGE_MAX, big, DETOUR_PAGE_MAX);
	detour_page_free(&pg);
	/* One byte more, an unknown status, a status out of range, too many
	 * extra bytes: refused, pg zeroed. */
	assert_int_equal(detour_page_prepare(&pg, 503, NULL, 0, big, DETOUR_PAGE_MAX + 1), -1);
	assert_null(pg.buf);
	assert_int_equal(detour_page_prepare(&pg, 599, NULL, 0, "x", 1), -1);
	assert_int_equal(detour_page_prepare(&pg, 42, NULL, 0, "x", 1), -1);
	assert_int_equal(detour_page_prepare(&pg, 1503, NULL, 0, "x", 1), -1);
	memset(extra, 'x', sizeof(extra));
	assert_int_equal(detour_page_prepare(&pg, 503, extra, sizeof(extra), "x", 1), -1);
	assert_null(pg.buf);
	/* Other statuses work too (200 for a page of its own). */
	assert_int_equal(detour_page_prepare(&pg, 200, NULL, 0, "x", 1), 0);
	n = detour_respond_page(&pg, &ctx, out, DETOUR_RESPONSE_MAX);
	assert_true(n > 15);
	assert_memory_equal(out, "HTTP/1.1 200 OK\r\n", 17);
	detour_page_free(&pg);
	free(big);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_page_bytes),
	        cmocka_unit_test(test_page_without_extra),
	        cmocka_unit_test(test_page_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
