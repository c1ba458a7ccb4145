/* Unit tests for lib/respond.c: Location building and whole responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules_test.h"
#include "unit.h"

#include "base/civil.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_match.h"

#define NOW  784111777 /* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example) */
#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"

static void req(struct detour_match_req *q, const char *path, const char *query)
{
	memset(q, 0, sizeof(*q));
	q->path = path;
	q->path_len = strlen(path);
	q->query = query;
	q->query_len = query ? strlen(query) : 0;
}

/* The Location for one rule and one request; "<-1>" when it fails. */
static const char *location(const char *rule, const char *path, const char *query, char *out,
                            size_t cap)
{
	struct detour_table *t = build(rule);
	struct detour_match_req q;
	struct detour_match m;
	char buf[DETOUR_LOCATION_MAX + 64];

	req(&q, path, query);
	if (!detour_table_match(t, &q, &m))
		fail_msg("%s: no match for %s", rule, path);
	ssize_t n = detour_respond_location(&m, &q, buf, sizeof(buf));
	if (n < 0) {
		snprintf(out, cap, "<-1>");
	} else {
		/* never a CTL, space or DEL in a Location */
		for (ssize_t i = 0; i < n; i++)
			assert_true((unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f);
		snprintf(out, cap, "%.*s", (int)n, buf);
	}
	detour_table_free(t);
	return out;
}

static const struct loccase {
	const char *rule, *path, *query, *want;
} locs[] = {
        /* fixed targets */
        {"/a /b", "/a", NULL, "/b"},
        {"/a https://example.com/new?x=1#top", "/a", NULL, "https://example.com/new?x=1#top"},
        {"/a https://example.com:8443", "/a", NULL, "https://example.com:8443"},
        {"/a https://example.com:8443", "/a", "q=1", "https://example.com:8443?q=1"},
        /* splat */
        {"/blog/* https://blog.example.com/:splat 308", "/blog/a/b", NULL,
         "https://blog.example.com/a/b"},
        {"/blog/* https://blog.example.com/:splat", "/blog", NULL, "https://blog.example.com/"},
        {"/blog/* https://blog.example.com/:splat", "/blog/x%0D%0Ay", NULL,
         "https://blog.example.com/x%0D%0Ay"},
        {"/blog/* /new/:splat", "/blog/a%2Fb/c", NULL, "/new/a%2Fb/c"},
        {"/blog/* /n/:splat", "/blog/a:b/c", NULL, "/n/a%3Ab/c"},
        {"/blog/* /n?p=:splat", "/blog/a/b&c=d", NULL, "/n?p=a/b%26c%3Dd"},
        /* no Location can start with "//" (another host) */
        {"/blog/* /:splat", "/blog//evil.com", NULL, "/%2Fevil.com"},
        {"/blog/* /:splat", "/blog///evil.com", NULL, "/%2F%2Fevil.com"},
        {"/* /:splat", "//evil.com/x", NULL, "/%2Fevil.com/x"},
        {"/x/* /:splat/y", "/x", NULL, "/%2Fy"},
        {"/x/* /:splat", "/x/\\evil.com", NULL, "/%5Cevil.com"},
        {"/x/* https://h.example/:splat", "/x//evil.com", NULL, "https://h.example//evil.com"},
        /* :name */
        {"/docs/:version/:page /documentation/:page?v=:version", "/docs/v1/intro", NULL,
         "/documentation/intro?v=v1"},
        {"/docs/:version/:page /documentation/:page?v=:version", "/docs/v1/intro", "x=1",
         "/documentation/intro?v=v1&x=1"},
        {"/p/:n /q/:n", "/p/a?b#c", NULL, "/q/a%3Fb%23c"},
        {"/p/:n /q?x=:n", "/p/a&b=c+d", NULL, "/q?x=a%26b%3Dc%2Bd"},
        {"/p/:n /q#:n", "/p/a&b", NULL, "/q#a%26b"},
        {"/p/:n /:n", "/p/javascript:alert(1)", NULL, "/javascript%3Aalert(1)"},
        {"/p/:n https://x.example/:n", "/p/%0A", NULL, "https://x.example/%0A"},
        {"/p/:page/:pageid /q/:pageid/:page", "/p/1/2", NULL, "/q/2/1"},
        {"/p/:page /q/:pageid", "/p/7", NULL, "/q/7id"},
        {"/u/:id/* /users/:id/:splat", "/u/7/a/b", NULL, "/users/7/a/b"},
        {"/u/:id/* /users/:id/:splat", "/u/7", NULL, "/users/7/"},
        {"/p/:n https://x.example:8080/:n", "/p/z", NULL, "https://x.example:8080/z"},
        /* query=keep (the default) */
        {"/a /b", "/a", "x=1", "/b?x=1"},
        {"/a /b?t=1", "/a", "x=1", "/b?t=1&x=1"},
        {"/a /b?", "/a", "x=1", "/b?x=1"},
        {"/a /b?", "/a", NULL, "/b?"},
        {"/a /b", "/a", "", "/b"},
        {"/a /b?t=1", "/a", NULL, "/b?t=1"},
        {"/a /b#sec", "/a", "x=1", "/b?x=1#sec"},
        {"/a /b?t=1#sec", "/a", "x=1", "/b?t=1&x=1#sec"},
        {"/a /b", "/a", "a b\x01\xff#\"<>", "/b?a%20b%01%FF%23\"<>"},
        /* query=drop */
        {"/a /b?t=1 query=drop", "/a", "x=1", "/b?t=1"},
        {"/a /b query=drop", "/a", "x=1", "/b"},
        {"/a /b#f query=drop", "/a", "x=1", "/b#f"},
        /* query=merge: the target's keys win */
        {"/a /b?t=1&u=2 query=merge", "/a", "u=9&x=1&t", "/b?t=1&u=2&x=1"},
        {"/a /b query=merge", "/a", "x=1&&y=2&", "/b?x=1&y=2"},
        {"/a /b? query=merge", "/a", "x=1", "/b?x=1"},
        {"/a /b?t=1 query=merge", "/a", NULL, "/b?t=1"},
        {"/a /b?t=1 query=merge", "/a", "t=2&tt=3&=4", "/b?t=1&tt=3&=4"},
        {"/p/:k /b?:k=1 query=merge", "/p/z", "z=2&y=3", "/b?z=1&y=3"},
        {"/a /b?t=1#f query=merge", "/a", "x=1", "/b?t=1&x=1#f"},
};

static void test_locations(void **state)
{
	char got[DETOUR_LOCATION_MAX + 64];
	int bad = 0;

	for (size_t i = 0; i < sizeof(locs) / sizeof(locs[0]); i++) {
		const struct loccase *c = &locs[i];
		location(c->rule, c->path, c->query, got, sizeof(got));
		if (strcmp(got, c->want) != 0) {
			print_message("%s  %s?%s\n  got: %s\n want: %s\n", c->rule, c->path,
			              c->query ? c->query : "(none)", got, c->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_location_limits(void **state)
{
	struct detour_table *t = build("/blog/* /n/:splat\n/gone - 410\n");
	struct detour_match_req q;
	struct detour_match m;
	size_t big = DETOUR_LOCATION_MAX;
	char *path = malloc(big + 16), *out = malloc(DETOUR_RESPONSE_MAX);

	assert_non_null(path);
	assert_non_null(out);
	/* "/n/" + splat is exactly the limit, then one byte over */
	memcpy(path, "/blog/", 6);
	memset(path + 6, 'a', big - 3);
	path[6 + big - 3] = '\0';
	req(&q, path, NULL);
	assert_true(detour_table_match(t, &q, &m));
	assert_int_equal(detour_respond_location(&m, &q, out, DETOUR_RESPONSE_MAX), big);
	assert_int_equal(detour_respond_location(&m, &q, out, big - 1), -1); /* cap */
	path[6 + big - 3] = 'a';
	path[6 + big - 2] = '\0';
	req(&q, path, NULL);
	assert_true(detour_table_match(t, &q, &m));
	assert_int_equal(detour_respond_location(&m, &q, out, DETOUR_RESPONSE_MAX), -1);
	struct detour_respond_ctx ctx = {.date = DATE, .now = NOW};
	assert_int_equal(detour_respond(&m, &q, &ctx, out, DETOUR_RESPONSE_MAX), -1);

	/* the worst case fits DETOUR_RESPONSE_MAX: a Location of '"' (6x escaped) */
	path[6 + big - 3] = '\0';
	req(&q, "/blog/x", NULL);
	q.query = path + 6;
	q.query_len = big - 5; /* "/n/x?" + query = the limit */
	memset(path + 6, '"', big - 5);
	assert_true(detour_table_match(t, &q, &m));
	ctx.server_header = true;
	ctx.close = true;
	assert_int_equal(detour_respond_location(&m, &q, out, DETOUR_RESPONSE_MAX), big);
	ssize_t n = detour_respond(&m, &q, &ctx, out, DETOUR_RESPONSE_MAX);
	assert_true(n > (ssize_t)(7 * big - 100) && n <= DETOUR_RESPONSE_MAX);

	/* a 410 has no Location */
	req(&q, "/gone", NULL);
	assert_true(detour_table_match(t, &q, &m));
	assert_int_equal(detour_respond_location(&m, &q, out, 0), 0);
	detour_table_free(t);
	free(path);
	free(out);
}

/* The whole response for one rule and one request, compared byte for byte,
 * and -1 for every smaller buffer. */
static void expect_response(const char *rule, const char *path, const char *query,
                            const struct detour_respond_ctx *ctx, const char *want)
{
	struct detour_table *t = build(rule);
	struct detour_match_req q;
	struct detour_match m;
	char out[4096];
	size_t wl = strlen(want);

	req(&q, path, query);
	assert_true(detour_table_match(t, &q, &m));
	ssize_t n = detour_respond(&m, &q, ctx, out, sizeof(out));
	if (n != (ssize_t)wl || memcmp(out, want, wl) != 0)
		fail_msg("%s\n got: %.*s\nwant: %s", rule, n < 0 ? 0 : (int)n, out, want);
	for (size_t cap = 0; cap < wl; cap++)
		assert_int_equal(detour_respond(&m, &q, ctx, out, cap), -1);
	detour_table_free(t);
}

static const struct detour_respond_ctx plain = {.date = DATE, .now = NOW};

static void test_redirect_statuses(void **state)
{
	expect_response("/a /b 301", "/a", NULL, &plain,
	                "HTTP/1.1 301 Moved Permanently\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 89\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	expect_response("/a /b 302", "/a", NULL, &plain,
	                "HTTP/1.1 302 Found\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 77\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>302 Found</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	expect_response("/a /b 303", "/a", NULL, &plain,
	                "HTTP/1.1 303 See Other\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 81\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>303 See Other</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	expect_response("/a /b", "/a", NULL, &plain,
	                "HTTP/1.1 307 Temporary Redirect\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 90\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>307 Temporary Redirect</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	expect_response("/a https://example.com/x?a=1 308", "/a", "b=2", &plain,
	                "HTTP/1.1 308 Permanent Redirect\r\n"
	                "Date: " DATE "\r\n"
	                "Location: https://example.com/x?a=1&b=2\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 121\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>308 Permanent Redirect</title>\n"
	                "<p><a href=\"https://example.com/x?a=1&amp;b=2\">Redirecting</a></p>\n");
}

static void test_escaped_body(void **state)
{
	expect_response("/s /s", "/s", "q=\"<x>'&", &plain,
	                "HTTP/1.1 307 Temporary Redirect\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /s?q=\"<x>'&\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 118\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>307 Temporary Redirect</title>\n"
	                "<p><a href=\"/s?q=&quot;&lt;x&gt;&#39;&amp;\">Redirecting</a></p>\n");
}

static void test_head_close_server(void **state)
{
	struct detour_respond_ctx c = {
	        .date = DATE, .now = NOW, .head = true, .close = true, .server_header = true};

	expect_response("/a /b 301", "/a", NULL, &c,
	                "HTTP/1.1 301 Moved Permanently\r\n"
	                "Date: " DATE "\r\n"
	                "Server: detour\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 89\r\n"
	                "Connection: close\r\n"
	                "\r\n");
	c.head = false;
	expect_response("/a /b 301", "/a", NULL, &c,
	                "HTTP/1.1 301 Moved Permanently\r\n"
	                "Date: " DATE "\r\n"
	                "Server: detour\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 89\r\n"
	                "Connection: close\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	/* an HTTP/1.0 client that asked to keep the connection is told so */
	c.close = false;
	c.server_header = false;
	c.keep_alive = true;
	c.head = true;
	expect_response("/a /b 301", "/a", NULL, &c,
	                "HTTP/1.1 301 Moved Permanently\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 89\r\n"
	                "Connection: keep-alive\r\n"
	                "\r\n");
}

static void test_cache_headers(void **state)
{
	expect_response("/a /b 302 cache=no-store", "/a", NULL, &plain,
	                "HTTP/1.1 302 Found\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Cache-Control: no-store\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 77\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>302 Found</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	expect_response("/a /b cache=1h", "/a", NULL, &plain,
	                "HTTP/1.1 307 Temporary Redirect\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Cache-Control: max-age=3600\r\n"
	                "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 90\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>307 Temporary Redirect</title>\n"
	                "<p><a href=\"/b\">Redirecting</a></p>\n");
	struct detour_respond_ctx c = {.date = DATE, .now = NOW, .head = true};
	expect_response("/a /b 308 cache=2w", "/a", NULL, &c,
	                "HTTP/1.1 308 Permanent Redirect\r\n"
	                "Date: " DATE "\r\n"
	                "Location: /b\r\n"
	                "Cache-Control: max-age=1209600\r\n"
	                "Expires: Sun, 20 Nov 1994 08:49:37 GMT\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 90\r\n"
	                "\r\n");
}

static void test_gone(void **state)
{
	expect_response("/gone - 410", "/gone", "x=1", &plain,
	                "HTTP/1.1 410 Gone\r\n"
	                "Date: " DATE "\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 58\r\n"
	                "\r\n"
	                "<!DOCTYPE html>\n<title>410 Gone</title>\n<h1>410 Gone</h1>\n");
	struct detour_respond_ctx c = {
	        .date = DATE, .now = NOW, .head = true, .close = true, .server_header = true};
	expect_response("/gone - 410 cache=1d", "/gone", NULL, &c,
	                "HTTP/1.1 410 Gone\r\n"
	                "Date: " DATE "\r\n"
	                "Server: detour\r\n"
	                "Cache-Control: max-age=86400\r\n"
	                "Expires: Mon, 07 Nov 1994 08:49:37 GMT\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Length: 58\r\n"
	                "Connection: close\r\n"
	                "\r\n");
}

static void expect_status(int status, const struct detour_respond_ctx *ctx, const char *want)
{
	char out[1024];
	size_t wl = strlen(want);
	ssize_t n = detour_respond_status(status, ctx, out, sizeof(out));

	if (n != (ssize_t)wl || memcmp(out, want, wl) != 0)
		fail_msg("%d\n got: %.*s\nwant: %s", status, n < 0 ? 0 : (int)n, out, want);
	for (size_t cap = 0; cap < wl; cap++)
		assert_int_equal(detour_respond_status(status, ctx, out, cap), -1);
}

static void test_status_responses(void **state)
{
	struct detour_respond_ctx c = {.date = DATE, .now = NOW, .close = true};
	char out[1024];

	expect_status(404, &plain,
	              "HTTP/1.1 404 Not Found\r\n"
	              "Date: " DATE "\r\n"
	              "Content-Type: text/html; charset=utf-8\r\n"
	              "Content-Length: 68\r\n"
	              "\r\n"
	              "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>404 Not Found</h1>\n");
	expect_status(
	        400, &c,
	        "HTTP/1.1 400 Bad Request\r\n"
	        "Date: " DATE "\r\n"
	        "Content-Type: text/html; charset=utf-8\r\n"
	        "Content-Length: 72\r\n"
	        "Connection: close\r\n"
	        "\r\n"
	        "<!DOCTYPE html>\n<title>400 Bad Request</title>\n<h1>400 Bad Request</h1>\n");
	c.head = true;
	c.server_header = true;
	expect_status(431, &c,
	              "HTTP/1.1 431 Request Header Fields Too Large\r\n"
	              "Date: " DATE "\r\n"
	              "Server: detour\r\n"
	              "Content-Type: text/html; charset=utf-8\r\n"
	              "Content-Length: 112\r\n"
	              "Connection: close\r\n"
	              "\r\n");
	expect_status(505, &plain,
	              "HTTP/1.1 505 HTTP Version Not Supported\r\n"
	              "Date: " DATE "\r\n"
	              "Content-Type: text/html; charset=utf-8\r\n"
	              "Content-Length: 102\r\n"
	              "\r\n"
	              "<!DOCTYPE html>\n<title>505 HTTP Version Not Supported</title>\n"
	              "<h1>505 HTTP Version Not Supported</h1>\n");
	assert_int_equal(detour_respond_status(99, &plain, out, sizeof(out)), -1);
	assert_int_equal(detour_respond_status(600, &plain, out, sizeof(out)), -1);
	/* an unknown code keeps the grammar: "HTTP/1.1 599 " and an empty reason */
	ssize_t n = detour_respond_status(599, &plain, out, sizeof(out));
	assert_true(n > 0);
	assert_memory_equal(out, "HTTP/1.1 599 \r\nDate: ", 21);
}

static void test_reasons(void **state)
{
	static const struct {
		int code;
		const char *reason;
	} r[] = {
	        {301, "Moved Permanently"},
	        {302, "Found"},
	        {303, "See Other"},
	        {307, "Temporary Redirect"},
	        {308, "Permanent Redirect"},
	        {400, "Bad Request"},
	        {404, "Not Found"},
	        {408, "Request Timeout"},
	        {410, "Gone"},
	        {413, "Content Too Large"},
	        {414, "URI Too Long"},
	        {431, "Request Header Fields Too Large"},
	        {500, "Internal Server Error"},
	        {501, "Not Implemented"},
	        {503, "Service Unavailable"},
	        {505, "HTTP Version Not Supported"},
	        {200, "OK"},
	        {418, ""},
	        {0, ""},
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		assert_string_equal(detour_reason(r[i].code), r[i].reason);
}

static void test_http_date(void **state)
{
	static const struct {
		time_t t;
		const char *want;
	} fixed[] = {
	        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
	        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
	        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
	        {951868800, "Wed, 01 Mar 2000 00:00:00 GMT"},
	        {1709164800, "Thu, 29 Feb 2024 00:00:00 GMT"},
	        {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT"},
	        {4102444799, "Thu, 31 Dec 2099 23:59:59 GMT"},
	        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
	        {253402300800, "Fri, 31 Dec 9999 23:59:59 GMT"}, /* clamped */
	        {-1, "Thu, 01 Jan 1970 00:00:00 GMT"},           /* clamped */
	};
	char out[DETOUR_DATE_LEN + 1], want[64];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		civil_http_date(fixed[i].t, out);
		assert_string_equal(out, fixed[i].want);
	}
	/* agrees with gmtime_r + strftime (C locale) everywhere */
	static const char *wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		time_t t = (time_t)(x % 253402300800ull);
		if (i < 50000)
			t = (time_t)(x % 4200000000ull); /* dense over 1970-2103 */
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want), "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
		         tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		         tm.tm_sec);
		civil_http_date(t, out);
		if (strcmp(out, want) != 0)
			fail_msg("%lld: got %s want %s", (long long)t, out, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_locations),
	        cmocka_unit_test(test_location_limits),
	        cmocka_unit_test(test_redirect_statuses),
	        cmocka_unit_test(test_escaped_body),
	        cmocka_unit_test(test_head_close_server),
	        cmocka_unit_test(test_cache_headers),
	        cmocka_unit_test(test_gone),
	        cmocka_unit_test(test_status_responses),
	        cmocka_unit_test(test_reasons),
	        cmocka_unit_test(test_http_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
