/* Unit tests for lib/respond.c with rule extensions: the Vary and
 * Cache-Control headers conditions call for, status html, and cookies of
 * sticky groups, and the status words (permanent, temporary). */
#include "detour/table_match.h"
#include "rules_test.h"

/* --------------------------------------------------------------- responses */

static const char *respond(const char *rules, const char *method, const char *target,
                           const char *const *h, char *out, size_t cap)
{
	struct detour_table *t = build(rules);
	struct treq r;
	struct detour_match m;
	time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	char date[DETOUR_DATE_LEN + 1];

	mkreq(&r, method, target, h, NULL, now);
	civil_http_date(now, date);
	struct detour_respond_ctx ctx = {.date = date, .now = now, .head = !strcmp(method, "HEAD")};
	assert_true(detour_table_match(t, &r.q, &m));
	ssize_t n = detour_respond(&m, &r.q, &ctx, out, cap - 1);
	assert_true(n > 0);
	out[n] = '\0';
	detour_table_free(t);
	return out;
}

static void test_responses(void **state)
{
	char out[8192];
	static const char *ck[] = {"Cookie: beta=1", "Accept-Language: fr", NULL};

	(void)state;
	assert_string_equal(
	        respond("/a /b?x='1' html delay=3\n", "GET", "/a", NULL, out, sizeof(out)),
	        "HTTP/1.1 200 OK\r\n"
	        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	        "Content-Type: text/html; charset=utf-8\r\n"
	        "Content-Length: 155\r\n\r\n"
	        "<!DOCTYPE html>\n<title>Redirecting</title>\n"
	        "<meta http-equiv=\"refresh\" content=\"3; url=/b?x=&#39;1&#39;\">\n"
	        "<p><a href=\"/b?x=&#39;1&#39;\">Redirecting</a></p>\n");
	assert_string_equal(respond("/a /b html\n", "HEAD", "/a", NULL, out, sizeof(out)),
	                    "HTTP/1.1 200 OK\r\n"
	                    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                    "Content-Type: text/html; charset=utf-8\r\n"
	                    "Content-Length: 127\r\n\r\n");
	assert_string_equal(respond("/a /b permanent if-cookie=beta if-lang=fr,de cache=1h\n",
	                            "HEAD", "/a", ck, out, sizeof(out)),
	                    "HTTP/1.1 308 Permanent Redirect\r\n"
	                    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                    "Location: /b\r\n"
	                    "Vary: Cookie, Accept-Language\r\n"
	                    "Cache-Control: private, max-age=3600\r\n"
	                    "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n"
	                    "Content-Type: text/html; charset=utf-8\r\n"
	                    "Content-Length: 90\r\n\r\n");
	assert_string_equal(respond("/a /b temporary if-cookie=beta private=no\n", "HEAD", "/a", ck,
	                            out, sizeof(out)),
	                    "HTTP/1.1 307 Temporary Redirect\r\n"
	                    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                    "Location: /b\r\n"
	                    "Vary: Cookie\r\n"
	                    "Content-Type: text/html; charset=utf-8\r\n"
	                    "Content-Length: 90\r\n\r\n");
	assert_string_equal(
	        respond("/a /b weight=1 sticky=cookie\n", "HEAD", "/a", NULL, out, sizeof(out)),
	        "HTTP/1.1 307 Temporary Redirect\r\n"
	        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	        "Location: /b\r\n"
	        "Cache-Control: private, no-store\r\n"
	        "Set-Cookie: detour-f5c0fdb1=0; Path=/; Max-Age=2592000; SameSite=Lax; "
	        "HttpOnly\r\n"
	        "Content-Type: text/html; charset=utf-8\r\n"
	        "Content-Length: 90\r\n\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_responses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
