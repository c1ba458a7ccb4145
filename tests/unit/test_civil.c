/* Unit tests for lib/base/civil.c: days <-> civil dates over leap years,
 * centuries and negative days; the RFC 3339 policy (what is accepted and
 * what is refused, with exact results); RFC 3339 and IMF-fixdate output. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "base/civil.h"

static void test_days(void **state)
{
	static const struct {
		int64_t y;
		unsigned m, d;
		int64_t days;
	} cases[] = {
	        {1970, 1, 1, 0},         {1969, 12, 31, -1},     {2000, 2, 29, 11016},
	        {2000, 3, 1, 11017},     {1900, 3, 1, -25508},   {2026, 11, 1, 20758},
	        {9999, 12, 31, 2932896}, {1600, 2, 29, -135081}, {0, 3, 1, -719468},
	        {2100, 3, 1, 47541},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t y;
		unsigned m, d;
		assert_int_equal(civil_days_from(cases[i].y, cases[i].m, cases[i].d),
		                 cases[i].days);
		civil_from_days(cases[i].days, &y, &m, &d);
		assert_int_equal(y, cases[i].y);
		assert_int_equal(m, cases[i].m);
		assert_int_equal(d, cases[i].d);
	}
	/* a round trip over 800 years, day by day */
	int64_t y0;
	unsigned m0, d0;
	civil_from_days(-150000, &y0, &m0, &d0);
	for (int64_t z = -150000; z < 150000; z++) {
		int64_t y;
		unsigned m, d;
		civil_from_days(z, &y, &m, &d);
		assert_int_equal(civil_days_from(y, m, d), z);
		assert_true(d >= 1 && d <= civil_month_days(y, m));
	}
	assert_int_equal(civil_weekday(0), 4);  /* Thursday */
	assert_int_equal(civil_weekday(-1), 3); /* Wednesday */
	assert_int_equal(civil_weekday(20758), 0);
	assert_true(civil_is_leap(2000));
	assert_false(civil_is_leap(1900));
	assert_true(civil_is_leap(2024));
	assert_false(civil_is_leap(2026));
	assert_int_equal(civil_month_days(2024, 2), 29);
	assert_int_equal(civil_month_days(2100, 2), 28);
	assert_int_equal(civil_month_days(2026, 4), 30);
}

static void test_rfc3339(void **state)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
	        {"1970-01-01T00:00:00Z", 0},
	        {"2026-11-01T09:00:00Z", 1793523600},
	        {"2026-11-01t09:00:00z", 1793523600},
	        {"2026-11-01T09:00:00+01:00", 1793520000},
	        {"2026-11-01T09:00:00-05:30", 1793543400},
	        {"2026-11-01T09:00:00.123456Z", 1793523600},
	        {"2026-11-01T09:00:00.5+00:00", 1793523600},
	        {"2028-02-29T23:59:59Z", 1835481599},
	        {"2000-02-29T00:00:00Z", 951782400},
	        {"9999-12-31T23:59:59Z", INT64_C(253402300799)},
	        {"1970-01-01T00:00:00+01:00", -3600},
	        {"2026-11-01T09:00:00+23:59", 1793437260},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t t = 42;
		if (civil_parse_rfc3339(good[i].s, strlen(good[i].s), &t) != 0)
			fail_msg("refused: %s", good[i].s);
		if (t != good[i].t)
			fail_msg("%s: %lld, expected %lld", good[i].s, (long long)t,
			         (long long)good[i].t);
	}
	static const char *const bad[] = {
	        "",
	        "2026-11-01",           /* a date alone: civil_parse_date */
	        "2026-11-01T09:00:00",  /* no offset */
	        "2026-11-01 09:00:00Z", /* space for T */
	        "2026-11-01T09:00Z",    /* no seconds */
	        "2026-11-01T09:00:60Z", /* leap second */
	        "2026-11-01T24:00:00Z",
	        "2026-11-01T09:60:00Z",
	        "2026-02-29T00:00:00Z", /* not a leap year */
	        "2100-02-29T00:00:00Z", /* not a leap year either */
	        "2026-04-31T00:00:00Z",
	        "2026-13-01T00:00:00Z",
	        "2026-00-01T00:00:00Z",
	        "2026-11-00T00:00:00Z",
	        "1969-12-31T23:59:59Z",  /* before 1970 */
	        "2026-11-01T09:00:00.Z", /* empty fraction */
	        "2026-11-01T09:00:00+0100",
	        "2026-11-01T09:00:00+24:00",
	        "2026-11-01T09:00:00+01:60",
	        "2026-11-01T09:00:00Z ",
	        "2026-11-01T09:00:00ZZ",
	        "+2026-11-01T09:00:00Z",
	        "26-11-01T09:00:00Z",
	        "2026-1-01T09:00:00Z",
	        "2026/11/01T09:00:00Z",
	        "2026-11-01T09:00:00UTC",
	        "2026-11-01T9:00:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t = 42;
		if (civil_parse_rfc3339(bad[i], strlen(bad[i]), &t) != -1 || t != 42)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	/* the length is what counts, not a NUL */
	int64_t t;
	assert_int_equal(civil_parse_rfc3339("2026-11-01T09:00:00Zjunk", 20, &t), 0);
	assert_int_equal(t, 1793523600);
	assert_int_equal(civil_parse_rfc3339("2026-11-01T09:00:00Z", 19, &t), -1);
}

static void test_utc(void **state)
{
	int64_t t = 42;

	assert_int_equal(civil_parse_rfc3339_utc("2026-11-01T09:00:00Z", 20, &t), 0);
	assert_int_equal(t, 1793523600);
	assert_int_equal(civil_parse_rfc3339_utc("2026-11-01T09:00:00.25z", 23, &t), 0);
	assert_int_equal(t, 1793523600);
	t = 42;
	assert_int_equal(civil_parse_rfc3339_utc("2026-11-01T09:00:00+00:00", 25, &t), -1);
	assert_int_equal(civil_parse_rfc3339_utc("2026-11-01T09:00:00+01:00", 25, &t), -1);
	assert_int_equal(civil_parse_rfc3339_utc("2026-02-30T09:00:00Z", 20, &t), -1);
	assert_int_equal(civil_parse_rfc3339_utc("", 0, &t), -1);
	assert_int_equal(civil_parse_rfc3339_utc("Z", 1, &t), -1);
	assert_int_equal(t, 42);
}

static void test_date(void **state)
{
	int64_t t = 42;

	assert_int_equal(civil_parse_date("2026-11-01", 10, &t), 0);
	assert_int_equal(t, 1793491200);
	assert_int_equal(civil_parse_date("2024-02-29", 10, &t), 0);
	assert_int_equal(t, 1709164800);
	t = 42;
	assert_int_equal(civil_parse_date("2026-02-29", 10, &t), -1);
	assert_int_equal(civil_parse_date("1969-12-31", 10, &t), -1);
	assert_int_equal(civil_parse_date("2026-11-01T", 11, &t), -1);
	assert_int_equal(civil_parse_date("2026-11-1", 9, &t), -1);
	assert_int_equal(t, 42);
}

static void test_format(void **state)
{
	char b[CIVIL_RFC3339_MAX];

	civil_format_rfc3339(0, b);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	civil_format_rfc3339(1793523600, b);
	assert_string_equal(b, "2026-11-01T09:00:00Z");
	civil_format_rfc3339(-1, b);
	assert_string_equal(b, "1969-12-31T23:59:59Z");
	civil_format_rfc3339(951868799, b);
	assert_string_equal(b, "2000-02-29T23:59:59Z");

	char h[CIVIL_HTTP_DATE_LEN + 1];
	civil_http_date(784111777, h);
	assert_string_equal(h, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 9110's example */
	civil_http_date(0, h);
	assert_string_equal(h, "Thu, 01 Jan 1970 00:00:00 GMT");
	civil_http_date(-5, h); /* clamped */
	assert_string_equal(h, "Thu, 01 Jan 1970 00:00:00 GMT");
	civil_http_date(INT64_C(253402300799), h);
	assert_string_equal(h, "Fri, 31 Dec 9999 23:59:59 GMT");
	civil_http_date(INT64_MAX, h); /* clamped */
	assert_string_equal(h, "Fri, 31 Dec 9999 23:59:59 GMT");
	civil_http_date(951782400, h);
	assert_string_equal(h, "Tue, 29 Feb 2000 00:00:00 GMT");
}

static void test_http_date_shape(void **state)
{
	assert_true(civil_is_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29));
	assert_true(civil_is_http_date("Mon, 31 Dec 2029 23:59:60 GMT", 29)); /* leap second */
	assert_false(civil_is_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 28));
	assert_false(civil_is_http_date("sun, 06 Nov 1994 08:49:37 GMT", 29));
	assert_false(civil_is_http_date("Sun, 06 nov 1994 08:49:37 GMT", 29));
	assert_false(civil_is_http_date("Sun, 00 Nov 1994 08:49:37 GMT", 29));
	assert_false(civil_is_http_date("Sun, 32 Nov 1994 08:49:37 GMT", 29));
	assert_false(civil_is_http_date("Sun, 06 Nov 1994 24:49:37 GMT", 29));
	assert_false(civil_is_http_date("Sun, 06 Nov 1994 08:60:37 GMT", 29));
	assert_false(civil_is_http_date("Sun, 06 Nov 1994 08:49:61 GMT", 29));
	assert_false(civil_is_http_date("Sun, 06 Nov 1994 08:49:37 UTC", 29));
	assert_false(civil_is_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30)); /* RFC 850 */
	assert_false(civil_is_http_date("Sun Nov  6 08:49:37 1994", 24));       /* asctime */
}

static void test_now_override(void **state)
{
	int64_t t = 42;

	assert_int_equal(civil_now_override(NULL, &t), 0);
	assert_int_equal(civil_now_override("", &t), 0);
	assert_int_equal(t, 42);
	assert_int_equal(civil_now_override("2026-11-01T09:00:00Z", &t), 1);
	assert_int_equal(t, 1793523600);
	assert_int_equal(civil_now_override("2026-11-01T10:00:00+01:00", &t), 1);
	assert_int_equal(t, 1793523600);
	assert_int_equal(civil_now_override("2026-11-01", &t), 1); /* 00:00 UTC */
	assert_int_equal(t, 1793491200);
	t = 42;
	assert_int_equal(civil_now_override("tomorrow", &t), -1);
	assert_int_equal(civil_now_override("2026-02-29", &t), -1);
	assert_int_equal(civil_now_override("2026-11-01 09:00:00Z", &t), -1);
	assert_int_equal(civil_now_override("1969-12-31T23:59:59Z", &t), -1);
	assert_int_equal(t, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_days),         cmocka_unit_test(test_rfc3339),
	        cmocka_unit_test(test_date),         cmocka_unit_test(test_utc),
	        cmocka_unit_test(test_format),       cmocka_unit_test(test_http_date_shape),
	        cmocka_unit_test(test_now_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
