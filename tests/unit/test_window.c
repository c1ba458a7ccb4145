/* Unit tests for lib/window.c: RFC 3339 times, time windows (from=, until=,
 * days=, hours=, tz=), the cut of cache lifetimes to a window's end, and
 * their errors. */
#include "detour/table_match.h"
#include "rules_test.h"

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
		assert_int_equal(civil_parse_time(c[i].s, strlen(c[i].s), &t), c[i].rc);
		if (c[i].rc == 0)
			assert_int_equal(t, c[i].t);
	}
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
		if (detour_ruleset_line(detour_table_rules(t), m.rule) != want)
			fail_msg("%s: line %u, want %u", c[i].now,
			         detour_ruleset_line(detour_table_rules(t), m.rule), want);
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
	civil_http_date(now, date);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_time),
	        cmocka_unit_test(test_windows),
	        cmocka_unit_test(test_window_cache_cut),
	        cmocka_unit_test(test_window_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
