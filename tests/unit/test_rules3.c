/* Unit tests for the rule-language additions: regex sources and their index,
 * conditions, time windows, weighted groups, status html and words,
 * case=insensitive, the open-redirect guard, and their response headers
 * (lib/rulefile.c, lib/table.c, lib/respond.c, lib/regex.c, lib/cond.c,
 * lib/window.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/http1.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table.h"

static struct detour_table *build(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;
	char msg[512];

	assert_non_null(rs);
	if (detour_ruleset_load_buf(rs, "t.rules", text, strlen(text), &d) != DETOUR_OK)
		fail_msg("load: %s", detour_diag_format(&d, msg, sizeof(msg)));
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	return t;
}

/* The error of loading text, "" when it loads. */
static const char *load_error(const char *text, char *msg, size_t cap)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	msg[0] = '\0';
	if (detour_ruleset_load_buf(rs, "r", text, strlen(text), &d) != DETOUR_OK)
		detour_diag_format(&d, msg, cap);
	detour_ruleset_free(rs);
	return msg;
}

/* A request: "METHOD /path?query" and header lines "Name: value". */
struct treq {
	struct detour_request req;
	struct detour_match_req q;
	struct sockaddr_in6 peer;
	char path[512];
};

static void mkreq(struct treq *r, const char *method, const char *target, const char *const *hdrs,
                  const char *ip, time_t now)
{
	memset(r, 0, sizeof(*r));
	r->req.method = method;
	r->req.method_len = strlen(method);
	r->req.method_id = !strcmp(method, "GET")    ? DETOUR_M_GET
	                   : !strcmp(method, "HEAD") ? DETOUR_M_HEAD
	                   : !strcmp(method, "POST") ? DETOUR_M_POST
	                   : !strcmp(method, "PUT")  ? DETOUR_M_PUT
	                                             : DETOUR_M_OTHER;
	for (unsigned i = 0; hdrs && hdrs[i]; i++) {
		const char *c = strchr(hdrs[i], ':');
		struct detour_header *h = &r->req.headers[r->req.num_headers++];
		h->name = hdrs[i];
		h->name_len = (size_t)(c - hdrs[i]);
		h->value = c + 2;
		h->value_len = strlen(c + 2);
	}
	const char *qm = strchr(target, '?');
	size_t pl = qm ? (size_t)(qm - target) : strlen(target);
	memcpy(r->path, target, pl);
	r->q.path = r->path;
	r->q.path_len = pl;
	if (qm) {
		r->q.query = qm + 1;
		r->q.query_len = strlen(qm + 1);
	}
	r->q.req = &r->req;
	r->q.now = now;
	if (ip) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&r->peer;
		if (strchr(ip, ':')) {
			r->peer.sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, ip, &r->peer.sin6_addr), 1);
		} else {
			v4->sin_family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
		}
		r->q.peer = (const struct sockaddr *)&r->peer;
	}
}

/* The line of the matching rule (0: none) and its Location in loc. */
static unsigned hit(const struct detour_table *t, struct treq *r, char *loc, size_t cap)
{
	struct detour_match m;

	if (loc)
		loc[0] = '\0';
	if (!detour_table_match(t, &r->q, &m))
		return 0;
	if (loc) {
		ssize_t n = detour_respond_location(&m, &r->q, loc, cap - 1);
		assert_true(n >= 0);
		loc[n] = '\0';
	}
	return m.rule->line;
}

static unsigned line_of(const struct detour_table *t, const char *target, const char *const *h,
                        const char *ip, time_t now, char *loc)
{
	struct treq r;

	mkreq(&r, "GET", target, h, ip, now);
	return hit(t, &r, loc, 1024);
}

/* ------------------------------------------------------------------ regex */

static void test_regex(void **state)
{
	static const char rules[] = "~^/p/([0-9]+)$ /products/$1 302\n"
	                            "~^/u/(?<user>[a-z]+)/(.*)$ /users/:user?rest=$2\n"
	                            "~^/old/(.*)$ /new/$1\n"
	                            "~\\.php$ /php-gone 410x\n";
	char msg[512], loc[1024];

	(void)state;
	/* "410x" is not a status: the file does not load */
	assert_string_equal(load_error(rules, msg, sizeof(msg)),
	                    "r:4:19: expected a status (301, 302, 303, 307, 308, 410, temporary, "
	                    "permanent, html) or an option NAME=VALUE, found \"410x\"");
	struct detour_table *t = build("~^/p/([0-9]+)$ /products/$1 302\n"
	                               "~^/u/(?<user>[a-z]+)/(.*)$ /users/:user?rest=$2\n"
	                               "~^/old/(.*)$ /new/$1\n"
	                               "~\\.php$ /php-gone\n"
	                               "/p/7 /never\n");
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/p/42", 1, "/products/42"},
	        {"/p/42/", 0, ""},
	        {"/p/x", 0, ""},
	        {"/p/7", 1, "/products/7"}, /* the regex is first in the file */
	        {"/u/ann/a/b", 2, "/users/ann?rest=a/b"},
	        {"/u/ann/a&b=c", 2, "/users/ann?rest=a%26b%3Dc"},
	        {"/old/a/b", 3, "/new/a/b"},
	        {"/old//evil.example", 3, "/new//evil.example"},
	        {"/index.php", 4, "/php-gone"},
	        {"/x/y.php", 4, "/php-gone"},
	        {"/x/y.phpx", 0, ""},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	detour_table_free(t);
}

static void test_regex_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"~^/p/(x /y", "r:1:8: invalid regex: missing closing parenthesis"},
	        {"~ /y", "r:1:2: expected a regex after '~' (as in ~^/p/([0-9]+)$)"},
	        {"~^/p/(x)$ /y/$2",
	         "r:1:14: \"$2\": the regex has 1 capture group ($1 to $9 name them; write %24 "
	         "for a literal '$')"},
	        {"~^/p/(x)$ /y/:nope",
	         "r:1:14: unknown placeholder \":nope\" in the target (the source defines none; "
	         "write %3A for a literal ':')"},
	        {"~^/(.*)$ https://$1/", "r:1:18: a capture in the target's scheme or host can "
	                                 "redirect to any site: name the hosts it may reach with "
	                                 "allow-hosts=a.com,b.com (or keep captures in the path, "
	                                 "query or fragment)"},
	        {"~^/(.*)$ $1", "r:1:10: a capture in the target's scheme or host can redirect "
	                        "to any site: name the hosts it may reach with "
	                        "allow-hosts=a.com,b.com (or keep captures in the path, query or "
	                        "fragment)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

/* The regex index: 10,000 rules, one regex run per request, first match in
 * file order kept whatever the prefix; a linear scan agrees. */
static void test_regex_index(void **state)
{
	size_t cap = 1 << 20, n = 0;
	char *text = malloc(cap), loc[1024], path[64];

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "~^/p/5/(7)$ /first\n");
	for (unsigned i = 0; i < 10000; i++)
		n += (size_t)snprintf(text + n, cap - n, "~^/p/%u/([0-9]+)$ /q/%u/$1\n", i, i);
	n += (size_t)snprintf(text + n, cap - n, "~/z/([0-9]+)$ /unanchored/$1\n");
	n += (size_t)snprintf(text + n, cap - n, "~^/(a|b)/x$ /alt\n");
	struct detour_table *t = build(text);
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/p/5/7", 1, "/first"},
	        {"/p/5/8", 7, "/q/5/8"},
	        {"/p/9999/1", 10001, "/q/9999/1"},
	        {"/p/10000/1", 0, ""},
	        {"/p/1/x", 0, ""},
	        {"/y/z/12", 10002, "/unanchored/12"},
	        {"/b/x", 10003, "/alt"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	for (unsigned i = 0; i < 10000; i += 97) {
		snprintf(path, sizeof(path), "/p/%u/%u", i, i * 3);
		assert_int_equal(line_of(t, path, NULL, NULL, 0, NULL), i + 2);
	}
	detour_table_free(t);
	free(text);
}

static void test_case_insensitive(void **state)
{
	char loc[1024];
	struct detour_table *t = build("/Old-Page /new case=insensitive\n"
	                               "/Blog/* /b/:splat case=insensitive\n"
	                               "/u/:id/Photos /p/:id case=insensitive\n"
	                               "/exact /e\n");
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/old-page", 1, "/new"},   {"/OLD-PAGE/", 1, "/new"},  {"/blog", 2, "/b/"},
	        {"/BLOG/A/b", 2, "/b/A/b"}, {"/U/7/photos", 3, "/p/7"}, {"/u/7/photos/x", 0, ""},
	        {"/Exact", 0, ""},          {"/exact", 4, "/e"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	detour_table_free(t);
}

/* ------------------------------------------------------------- conditions */

static void test_conditions(void **state)
{
	struct detour_table *t = build("/a /post method=POST,PUT\n"
	                               "/a /beta if-cookie=beta=1\n"
	                               "/a /fr if-lang=fr\n"
	                               "/a /hdr if-header=X-Debug:~^on|yes$\n"
	                               "/a /q if-query=utm=x&ref\n"
	                               "/a /lan if-ip=10.0.0.0/8,2001:db8::/32\n"
	                               "/a /not-chrome if-header=!User-Agent:chrome\n"
	                               "/a /rest\n");
	static const struct {
		const char *method, *target, *h1, *h2, *ip;
		unsigned line;
	} c[] = {
	        {"POST", "/a", NULL, NULL, NULL, 1},
	        {"PUT", "/a", NULL, NULL, NULL, 1},
	        {"GET", "/a", "Cookie: x=1; beta=1", NULL, NULL, 2},
	        {"GET", "/a", "Cookie: beta=2", NULL, NULL, 7},
	        {"GET", "/a", "Accept-Language: fr-CH, en;q=0.8", NULL, NULL, 3},
	        {"GET", "/a", "Accept-Language: en, fr;q=0.9", NULL, NULL, 7},
	        {"GET", "/a", "Accept-Language: en;q=0.5, fr;q=0.9", NULL, NULL, 3},
	        {"GET", "/a", "Accept-Language: fr;q=0, de", NULL, NULL, 7},
	        {"GET", "/a", "x-debug: yes", NULL, NULL, 4},
	        {"GET", "/a", "X-Debug: nope", NULL, NULL, 7},
	        {"GET", "/a?ref&utm=x", NULL, NULL, NULL, 5},
	        {"GET", "/a?utm=x", NULL, NULL, NULL, 7},
	        {"GET", "/a?utm=y&ref=1", NULL, NULL, NULL, 7},
	        {"GET", "/a", NULL, NULL, "10.1.2.3", 6},
	        {"GET", "/a", NULL, NULL, "2001:db8::1", 6},
	        {"GET", "/a", NULL, NULL, "::ffff:10.9.9.9", 6},
	        {"GET", "/a", NULL, NULL, "11.0.0.1", 7},
	        {"GET", "/a", "User-Agent: chrome", NULL, NULL, 8},
	        {"HEAD", "/a", "User-Agent: chrome", NULL, NULL, 8},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *h[3] = {c[i].h1, c[i].h2, NULL};
		struct treq r;
		mkreq(&r, c[i].method, c[i].target, c[i].h1 ? h : NULL, c[i].ip, 0);
		unsigned got = hit(t, &r, NULL, 0);
		if (got != c[i].line)
			fail_msg("case %zu %s %s: line %u, want %u", i, c[i].method, c[i].target,
			         got, c[i].line);
	}
	/* no request (lint, check): a GET without headers */
	struct detour_match_req q = {.path = "/a", .path_len = 2};
	struct detour_match m;
	assert_true(detour_table_match(t, &q, &m));
	assert_int_equal(m.rule->line, 7);
	detour_table_free(t);
}

static void test_condition_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"/a /b method=GET,FETCH",
	         "r:1:18: unknown method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE; "
	         "upper case, RFC 9110 §9.1)"},
	        {"/a /b if-ip=10.0.0.0/33",
	         "r:1:13: expected an IPv4 or IPv6 address or CIDR (192.0.2.0/24, 2001:db8::/32)"},
	        {"/a /b if-header=X Y", "r:1:19: expected an option NAME=VALUE, found \"Y\""},
	        {"/a /b if-header=:v", "r:1:17: expected a header name before ':'"},
	        {"/a /b if-lang=fr,,de", "r:1:18: empty language in the list"},
	        {"/a /b if-query=&a",
	         "r:1:16: empty parameter in the list (key[=value]&key2[=value])"},
	        {"/a /b method=GET method=POST",
	         "r:1:18: option \"method\" given twice (first at column 7)"},
	        {"/a /b if-cookie=", "r:1:17: expected a value"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

/* ---------------------------------------------------------------- windows */

static void test_parse_time(void **state)
{
	static const struct {
		const char *s;
		int rc;
		int64_t t;
	} c[] = {
	        {"2026-11-01", 0, 1793491200},
	        {"2026-11-01T00:00:00Z", 0, 1793491200},
	        {"2026-11-01T01:00:00+01:00", 0, 1793491200},
	        {"2026-10-31T19:00:00.250-05:00", 0, 1793491200},
	        {"1970-01-01T00:00:00Z", 0, 0},
	        {"2024-02-29", 0, 1709164800},
	        {"2026-02-29", -1, 0},
	        {"2026-11-01T24:00:00Z", -1, 0},
	        {"2026-11-01T10:00:00", -1, 0}, /* an offset is required */
	        {"2026-1-01", -1, 0},
	        {"", -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t t = 0;
		assert_int_equal(detour_parse_time(c[i].s, strlen(c[i].s), &t), c[i].rc);
		if (c[i].rc == 0)
			assert_int_equal(t, c[i].t);
	}
}

#define T(s) at(s)
static time_t at(const char *s)
{
	int64_t t;
	assert_int_equal(detour_parse_time(s, strlen(s), &t), 0);
	return (time_t)t;
}

static void test_windows(void **state)
{
	struct detour_table *t = build("/promo /nov from=2026-11-01 until=2026-12-01 cache=30d\n"
	                               "/promo /weekend days=sat,sun cache=7d\n"
	                               "/promo /office days=mon-fri hours=09:00-17:00\n"
	                               "/promo /night hours=22:00-06:00 days=fri\n"
	                               "/promo /none\n");
	static const struct {
		const char *now;
		unsigned line;
		int64_t left; /* seconds to the window's end, -1: no end */
	} c[] = {
	        {"2026-10-31T23:59:59Z", 2, 86401}, /* a Saturday: the weekend ends Monday 00:00 */
	        {"2026-11-01T00:00:00Z", 1, 30 * 86400}, {"2026-11-30T23:00:00Z", 1, 3600},
	        {"2026-12-01T00:00:00Z", 3, 17 * 3600}, /* Tuesday midnight: none; see next */
	        {"2026-12-01T09:00:00Z", 3, 8 * 3600},   {"2026-12-01T17:00:00Z", 5, -1},
	        {"2026-12-04T23:00:00Z", 4, 7 * 3600}, /* Friday night */
	        {"2026-12-05T05:59:59Z", 2, 151201},   /* Saturday: the weekend rule is first */
	        {"2026-12-05T06:00:00Z", 2, 42 * 3600},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct treq r;
		struct detour_match m;
		mkreq(&r, "GET", "/promo", NULL, NULL, T(c[i].now));
		assert_true(detour_table_match(t, &r.q, &m));
		unsigned want = c[i].line;
		if (i == 3)
			want = 5; /* 00:00 Tuesday is outside 09:00-17:00 */
		if (m.rule->line != want)
			fail_msg("%s: line %u, want %u", c[i].now, m.rule->line, want);
		if (i != 3) {
			int64_t left = m.window_end == INT64_MAX ? -1 : m.window_end - T(c[i].now);
			if (left != c[i].left)
				fail_msg("%s: %lld s left, want %lld", c[i].now, (long long)left,
				         (long long)c[i].left);
		}
	}
	detour_table_free(t);

	/* a night over midnight belongs to the day it starts */
	t = build("/n /night hours=22:00-06:00 days=fri\n");
	static const struct {
		const char *now;
		bool in;
		int64_t left;
	} n[] = {
	        {"2026-12-04T21:59:59Z", false, 0}, {"2026-12-04T22:00:00Z", true, 8 * 3600},
	        {"2026-12-05T05:59:59Z", true, 1},  {"2026-12-05T06:00:00Z", false, 0},
	        {"2026-12-05T23:00:00Z", false, 0}, {"2026-12-04T03:00:00Z", false, 0},
	};
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		struct treq r;
		struct detour_match m;
		mkreq(&r, "GET", "/n", NULL, NULL, T(n[i].now));
		bool in = detour_table_match(t, &r.q, &m);
		if (in != n[i].in || (in && m.window_end - T(n[i].now) != n[i].left))
			fail_msg("%s: in %d", n[i].now, in);
	}
	detour_table_free(t);
}

/* max-age and Expires are cut to the window's end. */
static void test_window_cache_cut(void **state)
{
	struct detour_table *t = build("/p /x until=2026-11-01T00:10:00Z cache=1h\n");
	struct treq r;
	struct detour_match m;
	char out[4096], date[DETOUR_DATE_LEN + 1];
	time_t now = T("2026-11-01T00:00:00Z");

	(void)state;
	mkreq(&r, "GET", "/p", NULL, NULL, now);
	assert_true(detour_table_match(t, &r.q, &m));
	detour_http_date(now, date);
	struct detour_respond_ctx ctx = {.date = date, .now = now, .head = true};
	ssize_t n = detour_respond(&m, &r.q, &ctx, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "HTTP/1.1 307 Temporary Redirect\r\n"
	                         "Date: Sun, 01 Nov 2026 00:00:00 GMT\r\n"
	                         "Location: /x\r\n"
	                         "Cache-Control: max-age=600\r\n"
	                         "Expires: Sun, 01 Nov 2026 00:10:00 GMT\r\n"
	                         "Content-Type: text/html; charset=utf-8\r\n"
	                         "Content-Length: 90\r\n\r\n");
	mkreq(&r, "GET", "/p", NULL, NULL, now + 600);
	assert_false(detour_table_match(t, &r.q, &m)); /* the rule is gone, no reload */
	detour_table_free(t);
}

static void test_window_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"/a /b from=2026-12-01 until=2026-11-01",
	         "r:1:12: from= is not before until=: the rule would never apply"},
	        {"/a /b from=tomorrow",
	         "r:1:12: expected an RFC 3339 time with an offset (2026-11-01T09:00:00+01:00, "
	         "...Z) or a date (2026-11-01, meaning 00:00 UTC), found \"tomorrow\""},
	        {"/a /b days=sat,sunday",
	         "r:1:16: expected days as sun, mon, tue, wed, thu, fri, sat, comma-separated, or "
	         "a range such as mon-fri"},
	        {"/a /b hours=9-17",
	         "r:1:13: expected hours as HH:MM-HH:MM (09:00-17:30; 22:00-06:00 runs over "
	         "midnight)"},
	        {"/a /b hours=10:00-10:00", "r:1:13: hours= is an empty range (start equals end)"},
	        {"/a /b tz=UTC", "r:1:7: tz= applies to days= and hours=: add one of them"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

/* --------------------------------------------------------- weighted groups */

static void test_groups(void **state)
{
	struct detour_table *t = build("/landing /a 307 weight=3 sticky=cookie id=land\n"
	                               "/landing /b 307 weight=1\n"
	                               "/landing /never\n"
	                               "/dl/* https://m1.example.net/:splat weight=1 health=/ping "
	                               "sticky=ip\n"
	                               "/dl/* https://m2.example.net:8443/:splat weight=1 "
	                               "health=/ping\n");
	unsigned counts[2] = {0, 0};
	struct treq r;
	struct detour_match m;
	const struct detour_ruleset *rs = detour_table_rules(t);

	(void)state;
	for (unsigned i = 0; i < 10000; i++) {
		mkreq(&r, "GET", "/landing", NULL, NULL, 0);
		assert_true(detour_table_match(t, &r.q, &m));
		assert_true(m.rule->line == 1 || m.rule->line == 2);
		assert_string_equal(m.cookie, "detour-land");
		assert_int_equal(m.variant, m.rule->line - 1);
		counts[m.rule->line - 1]++;
	}
	/* within 2 percentage points of 75/25 */
	assert_true(counts[0] >= 7300 && counts[0] <= 7700);
	assert_int_equal(detour_table_variant_hits(t, 0), counts[0]);
	assert_int_equal(detour_table_variant_hits(t, 1), counts[1]);
	assert_int_equal(detour_table_variant_hits(t, 2), 0);

	/* the cookie keeps the visitor, and no Set-Cookie is needed then */
	static const char *ck1[] = {"Cookie: detour-land=1", NULL};
	for (unsigned i = 0; i < 50; i++) {
		mkreq(&r, "GET", "/landing", ck1, NULL, 0);
		assert_true(detour_table_match(t, &r.q, &m));
		assert_int_equal(m.rule->line, 2);
		assert_null(m.cookie);
	}
	/* an unknown variant in the cookie draws again */
	static const char *ck9[] = {"Cookie: detour-land=9", NULL};
	mkreq(&r, "GET", "/landing", ck9, NULL, 0);
	assert_true(detour_table_match(t, &r.q, &m));
	assert_non_null(m.cookie);

	/* sticky=ip: one client, one mirror */
	char loc[1024], first[1024];
	unsigned l1 = line_of(t, "/dl/f", NULL, "192.0.2.7", 0, first);
	assert_int_equal(l1, strstr(first, "m2") ? 5 : 4);
	for (unsigned i = 0; i < 20; i++) {
		line_of(t, "/dl/f", NULL, "192.0.2.7", 0, loc);
		assert_string_equal(loc, first);
	}

	/* health: a down target leaves the group; all down: all are used */
	struct hc {
		unsigned n;
		char origin[2][64];
		uint32_t idx[2];
	} hc = {0};
	(void)rs;
	assert_int_equal(detour_table_health_targets(t, NULL, NULL), 2);
	detour_health_fn fn = NULL;
	(void)fn;
	assert_true(detour_table_healthy(t, 3));
	detour_table_set_healthy(t, 3, false);
	assert_false(detour_table_healthy(t, 3));
	for (unsigned i = 0; i < 20; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		line_of(t, "/dl/x", NULL, ip, 0, loc);
		assert_string_equal(loc, "https://m2.example.net:8443/x");
	}
	detour_table_set_healthy(t, 4, false);
	unsigned seen = 0;
	for (unsigned i = 0; i < 40; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		line_of(t, "/dl/x", NULL, ip, 0, loc);
		seen |= strstr(loc, "m1") ? 1 : 2;
	}
	assert_int_equal(seen, 3);
	detour_table_set_healthy(t, 0, false); /* not a health target: ignored */
	assert_true(detour_table_healthy(t, 2));
	(void)hc;
	detour_table_free(t);
}

static void health_cb(void *arg, uint32_t idx, const char *origin, const char *path)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%u %s %s;", idx, origin, path);
}

static void test_health_targets(void **state)
{
	struct detour_table *t = build("/x /y\n"
	                               "/dl/* https://m1.example.net/:splat weight=1 health=/ping\n"
	                               "/dl/* http://m2.example.net:81/a weight=2 health=/h?x=1\n"
	                               "/dl/* https://m3.example.net/ weight=2\n");
	char out[256] = "";

	(void)state;
	assert_int_equal(detour_table_health_targets(t, health_cb, out), 2);
	assert_string_equal(out,
	                    "1 https://m1.example.net /ping;2 http://m2.example.net:81 /h?x=1;");
	detour_table_free(t);
}

static void test_group_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"/a /b sticky=cookie",
	         "r:1:7: sticky= belongs to a weighted group: add weight=N to the rule"},
	        {"/a /b weight=0", "r:1:14: expected a weight from 1 to 1000000, found \"0\""},
	        {"/a /b weight=1 health=/p",
	         "r:1:4: health= probes the target's host: the target must be an http(s) URL"},
	        {"/a /b weight=1 sticky=session",
	         "r:1:23: expected cookie, ip or none for sticky=, found \"session\""},
	        {"/a - 410 weight=1",
	         "r:1:4: a weighted rule needs a target ('-' cannot be a variant)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

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
	detour_http_date(now, date);
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

/* The open-redirect guard: a Location whose host comes from a capture must
 * be one of allow-hosts, else the rule does not apply. */
static void test_open_redirect_guard(void **state)
{
	struct detour_table *t =
	        build("~^/go/(https?://[^/]+/.*)$ $1 allow-hosts=a.example,b.example\n"
	              "~^/sub/([a-z]+)/(.*)$ https://$1.example/$2 allow-hosts=www.example\n"
	              "/go/* /refused\n"
	              "/sub/* /refused\n");
	char loc[1024];
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/go/https://a.example/x", 1, "https://a.example/x"},
	        {"/go/http://B.example/x", 1, "http://B.example/x"},
	        {"/go/https://evil.example/x", 3, "/refused"},
	        {"/go/https://a.example.evil.example/", 3, "/refused"},
	        {"/go/https://a.example@evil.example/", 3, "/refused"},
	        {"/sub/www/p", 2, "https://www.example/p"},
	        {"/sub/evil/p", 4, "/refused"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	detour_table_free(t);
}

static void explain_cb(void *arg, const char *line)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 2048 - n, "%s\n", line);
}

static void test_explain(void **state)
{
	struct detour_table *t = build("/a /b if-cookie=beta until=2026-12-01\n"
	                               "/a /c weight=1 sticky=cookie\n"
	                               "/a /d weight=3\n");
	const struct detour_ruleset *rs = detour_table_rules(t);
	static const char *ck[] = {"Cookie: detour-a5a5d5b0=1", NULL};
	struct treq r;
	char out[2048] = "";

	(void)state;
	mkreq(&r, "GET", "/a", NULL, NULL, T("2026-11-30T00:00:00Z"));
	assert_true(detour_table_source_matches(t, &r.q, detour_ruleset_get(rs, 0)));
	assert_false(detour_table_explain(t, &r.q, detour_ruleset_get(rs, 0), explain_cb, out));
	assert_string_equal(out, "window open at 2026-11-30T00:00:00Z, closes 2026-12-01T00:00:00Z "
	                         "(cache lifetimes cut to 86400 s)\n"
	                         "condition if-cookie=beta fails (no cookie beta)\n");
	out[0] = '\0';
	mkreq(&r, "GET", "/a", ck, NULL, T("2026-11-30T00:00:00Z"));
	assert_true(detour_table_explain(t, &r.q, detour_ruleset_get(rs, 1), explain_cb, out));
	assert_non_null(strstr(out, "group: 2 variants, sticky=cookie (cookie detour-"));
	assert_non_null(strstr(out, "variant 1: line 3 -> /d, weight 3 (75.0%)\n"));
	detour_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_regex),
	        cmocka_unit_test(test_regex_errors),
	        cmocka_unit_test(test_regex_index),
	        cmocka_unit_test(test_case_insensitive),
	        cmocka_unit_test(test_conditions),
	        cmocka_unit_test(test_condition_errors),
	        cmocka_unit_test(test_parse_time),
	        cmocka_unit_test(test_windows),
	        cmocka_unit_test(test_window_cache_cut),
	        cmocka_unit_test(test_window_errors),
	        cmocka_unit_test(test_groups),
	        cmocka_unit_test(test_health_targets),
	        cmocka_unit_test(test_group_errors),
	        cmocka_unit_test(test_responses),
	        cmocka_unit_test(test_open_redirect_guard),
	        cmocka_unit_test(test_explain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
