/* Unit tests for src/server/acme_http01.c: tokens added, looked up only
 * under /.well-known/acme-challenge/, replaced, removed; the table's bound;
 * the 200 text/plain answer, its HEAD form and Connection headers. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "acme_http01.h"

#define P ACME_HTTP01_PREFIX

static size_t look(const struct acme_http01 *h, const char *path, char *out, size_t cap)
{
	struct guard g;
	const char *p = guard_copy(&g, path, strlen(path));
	size_t n = acme_http01(h, p, strlen(path), out, cap);

	guard_free(&g);
	return n;
}

static void test_tokens(void **state)
{
	struct acme_http01 *h = acme_http01_new();
	char out[512];

	assert_non_null(h);
	assert_int_equal(look(NULL, P "tok", out, sizeof(out)), 0);
	assert_int_equal(look(h, P "tok", out, sizeof(out)), 0);
	assert_int_equal(acme_http01_add(h, "tok", "tok.THUMB"), 0);
	assert_int_equal(look(h, P "tok", out, sizeof(out)), 9);
	assert_memory_equal(out, "tok.THUMB", 9);
	/* exact token only, and only under the prefix */
	assert_int_equal(look(h, P "to", out, sizeof(out)), 0);
	assert_int_equal(look(h, P "tok2", out, sizeof(out)), 0);
	assert_int_equal(look(h, P, out, sizeof(out)), 0);
	assert_int_equal(look(h, "/tok", out, sizeof(out)), 0);
	assert_int_equal(look(h, "/.well-known/acme-challengetok", out, sizeof(out)), 0);
	assert_int_equal(look(h, "/.well-known/ACME-challenge/tok", out, sizeof(out)), 0);
	/* too small an output: not answered */
	assert_int_equal(look(h, P "tok", out, 9), 0);
	/* replaced, then removed */
	assert_int_equal(acme_http01_add(h, "tok", "tok.OTHER"), 0);
	assert_int_equal(look(h, P "tok", out, sizeof(out)), 9);
	assert_memory_equal(out, "tok.OTHER", 9);
	acme_http01_remove(h, "tok");
	assert_int_equal(look(h, P "tok", out, sizeof(out)), 0);
	acme_http01_remove(h, "tok"); /* absent: no-op */

	/* bounded: 64 tokens */
	char t[16];
	for (int i = 0; i < 64; i++) {
		snprintf(t, sizeof(t), "t%d", i);
		assert_int_equal(acme_http01_add(h, t, "ka"), 0);
	}
	assert_int_equal(acme_http01_add(h, "t64", "ka"), -1);
	acme_http01_remove(h, "t10");
	assert_int_equal(acme_http01_add(h, "t64", "ka"), 0);
	assert_int_equal(look(h, P "t63", out, sizeof(out)), 2);
	assert_int_equal(look(h, P "t10", out, sizeof(out)), 0);
	char big[400];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(acme_http01_add(h, big, "ka"), -1);
	assert_int_equal(acme_http01_add(h, "x", big), -1);
	acme_http01_free(h);
	acme_http01_free(NULL);
}

static void test_respond(void **state)
{
	char out[1024];
	struct detour_respond_ctx ctx = {.date = "Thu, 03 Dec 2026 07:00:00 GMT"};
	ssize_t n = acme_http01_respond("tok.KA", 6, &ctx, out, sizeof(out));
	static const char want[] = "HTTP/1.1 200 OK\r\n"
	                           "Date: Thu, 03 Dec 2026 07:00:00 GMT\r\n"
	                           "Cache-Control: no-store\r\n"
	                           "Content-Type: text/plain\r\n"
	                           "Content-Length: 6\r\n"
	                           "\r\n"
	                           "tok.KA";

	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);

	ctx.head = true;
	ctx.close = true;
	ctx.server_header = true;
	n = acme_http01_respond("tok.KA", 6, &ctx, out, sizeof(out));
	static const char want_head[] = "HTTP/1.1 200 OK\r\n"
	                                "Date: Thu, 03 Dec 2026 07:00:00 GMT\r\n"
	                                "Server: detour\r\n"
	                                "Cache-Control: no-store\r\n"
	                                "Content-Type: text/plain\r\n"
	                                "Content-Length: 6\r\n"
	                                "Connection: close\r\n"
	                                "\r\n";
	assert_int_equal(n, sizeof(want_head) - 1);
	assert_memory_equal(out, want_head, sizeof(want_head) - 1);
	assert_int_equal(acme_http01_respond("tok.KA", 6, &ctx, out, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_tokens),
	        cmocka_unit_test(test_respond),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
