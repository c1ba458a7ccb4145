/* Unit test for detour_respond_ctx.extra_headers (lib/respond.c): the
 * caller's header lines go verbatim right before Content-Type, in redirects,
 * in HEAD answers and in responses without a rule; without them the bytes do
 * not change. (The server's maintenance mode used it for Retry-After, which
 * now goes on its 503 page only: test_respond_page.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_match.h"

#define NOW  784111777
#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"

static const char RA[] = "Retry-After: 120\r\n";

static struct detour_table *build(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;

	assert_non_null(rs);
	assert_int_equal(detour_ruleset_load_buf(rs, "t.rules", text, strlen(text), &d), DETOUR_OK);
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	return t;
}

static void test_extra_in_redirect(void **state)
{
	struct detour_table *t = build("/* https://status.example/ 307 cache=no-store\n");
	struct detour_match_req q = {.path = "/x", .path_len = 2};
	struct detour_match m;
	char out[2048];
	struct detour_respond_ctx ctx = {.date = DATE, .now = NOW};

	assert_true(detour_table_match(t, &q, &m));
	static const char body[] = "<!DOCTYPE html>\n<title>307 Temporary Redirect</title>\n"
	                           "<p><a href=\"https://status.example/\">Redirecting</a></p>\n";
	char want[1024];

	/* Without extra headers: the usual bytes. */
	ssize_t n = detour_respond(&m, &q, &ctx, out, sizeof(out));
	snprintf(want, sizeof(want),
	         "HTTP/1.1 307 Temporary Redirect\r\nDate: " DATE "\r\n"
	         "Location: https://status.example/\r\nCache-Control: no-store\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
	         sizeof(body) - 1, body);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);

	/* With Retry-After: the same bytes plus the line before Content-Type. */
	ctx.extra_headers = RA;
	ctx.extra_len = sizeof(RA) - 1;
	n = detour_respond(&m, &q, &ctx, out, sizeof(out));
	snprintf(want, sizeof(want),
	         "HTTP/1.1 307 Temporary Redirect\r\nDate: " DATE "\r\n"
	         "Location: https://status.example/\r\nCache-Control: no-store\r\n"
	         "Retry-After: 120\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
	         sizeof(body) - 1, body);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);

	/* HEAD with Connection: close: headers only, extra line included. */
	ctx.head = true;
	ctx.close = true;
	n = detour_respond(&m, &q, &ctx, out, sizeof(out));
	snprintf(want, sizeof(want),
	         "HTTP/1.1 307 Temporary Redirect\r\nDate: " DATE "\r\n"
	         "Location: https://status.example/\r\nCache-Control: no-store\r\n"
	         "Retry-After: 120\r\n"
	         "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n",
	         sizeof(body) - 1);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, (size_t)n);

	/* Too small a buffer is still refused, never overrun. */
	ctx.head = false;
	for (size_t cap = 0; cap < (size_t)strlen(want); cap += 7)
		assert_int_equal(detour_respond(&m, &q, &ctx, out, cap), -1);
	detour_table_free(t);
}

static void test_extra_in_status(void **state)
{
	static const char two[] = "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\nX-A: b\r\n";
	struct detour_respond_ctx ctx = {
	        .date = DATE, .now = NOW, .extra_headers = two, .extra_len = sizeof(two) - 1};
	char out[1024];
	static const char want[] =
	        "HTTP/1.1 404 Not Found\r\nDate: " DATE "\r\n"
	        "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\nX-A: b\r\n"
	        "Content-Type: text/html; charset=utf-8\r\nContent-Length: 68\r\n\r\n"
	        "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>404 Not Found</h1>\n";
	ssize_t n = detour_respond_status(404, &ctx, out, sizeof(out));

	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	/* extra_len 0 ignores the pointer. */
	ctx.extra_len = 0;
	n = detour_respond_status(404, &ctx, out, sizeof(out));
	assert_int_equal(n, sizeof(want) - 1 - (sizeof(two) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_extra_in_redirect),
	        cmocka_unit_test(test_extra_in_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
