/* Tests for lib/tz.c. The reference is glibc's own reader: with TZ set,
 * localtime_r() fills tm_gmtoff, and detour_tz_offset() must give the same
 * offset at every instant we try, and at both sides of every change glibc
 * shows between 1970 and 2200 (the years after the zone's last transition
 * come from the footer's POSIX TZ string). TZ is only touched here. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detour/tz.h"

static long glibc_offset(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

static void use_glibc_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Scans [from, to) in steps; where glibc's offset changes, bisects to the
 * exact second and checks both sides. Returns the number of changes seen. */
static int compare_range(const struct detour_tz *tz, time_t from, time_t to, time_t step)
{
	int changes = 0;
	long prev = glibc_offset(from);

	assert_int_equal(detour_tz_offset(tz, from), prev);
	for (time_t t = from + step; t < to; t += step) {
		long cur = glibc_offset(t);
		assert_int_equal(detour_tz_offset(tz, t), cur);
		if (cur != prev) {
			time_t lo = t - step, hi = t; /* offset(lo) == prev, offset(hi) == cur */
			while (hi - lo > 1) {
				time_t mid = lo + (hi - lo) / 2;
				if (glibc_offset(mid) == prev)
					lo = mid;
				else
					hi = mid;
			}
			assert_int_equal(detour_tz_offset(tz, lo), glibc_offset(lo));
			assert_int_equal(detour_tz_offset(tz, hi), glibc_offset(hi));
			changes++;
		}
		prev = cur;
	}
	return changes;
}

static const time_t Y1970 = 0, Y2200 = 7258118400; /* 2200-01-01T00:00:00Z */

static void test_zones_match_glibc(void **state)
{
	static const struct {
		const char *name;
		int min_changes; /* DST changes expected in 1970..2200 */
	} zones[] = {
	        {"Europe/Paris", 2 * 220},
	        {"America/New_York", 2 * 225},
	        {"UTC", 0},
	        {"Australia/Lord_Howe", 2 * 210},
	        {"Asia/Kathmandu", 1},
	        {"Australia/Adelaide", 2 * 220},
	        {"America/Sao_Paulo", 2 * 20},
	        {"Europe/Dublin", 2 * 220},
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct detour_tz *tz = NULL;
		struct detour_diag d = {0};
		char env[300];

		assert_int_equal(detour_tz_load(zones[i].name, &tz, &d), DETOUR_OK);
		assert_string_equal(detour_tz_name(tz), zones[i].name);
		snprintf(env, sizeof(env), ":%s", zones[i].name);
		use_glibc_tz(env);
		/* A prime step (about 5 days) lands at every hour of the day over time. */
		int changes = compare_range(tz, Y1970, Y2200, 431957);
		if (changes < zones[i].min_changes)
			fail_msg("%s: %d changes, expected %d or more", zones[i].name, changes,
			         zones[i].min_changes);
		detour_tz_free(tz);
	}
}

/* Exact offsets at known changes, written out (not only "same as glibc"). */
static void test_known_instants(void **state)
{
	static const struct {
		const char *zone;
		time_t t;
		int32_t off;
	} cases[] = {
	        /* Paris: 2024-03-31 02:00 CET -> 03:00 CEST = 01:00:00Z */
	        {"Europe/Paris", 1711846799, 3600},
	        {"Europe/Paris", 1711846800, 7200},
	        /* 2024-10-27 03:00 CEST -> 02:00 CET = 01:00:00Z */
	        {"Europe/Paris", 1729990799, 7200},
	        {"Europe/Paris", 1729990800, 3600},
	        /* 2100-03-28 (last Sunday of March) 01:00:00Z: from the footer */
	        {"Europe/Paris", 4109878799, 3600},
	        {"Europe/Paris", 4109878800, 7200},
	        /* New York: 2024-03-10 02:00 EST = 07:00:00Z; 2024-11-03 02:00 EDT = 06:00:00Z */
	        {"America/New_York", 1710053999, -18000},
	        {"America/New_York", 1710054000, -14400},
	        {"America/New_York", 1730613599, -14400},
	        {"America/New_York", 1730613600, -18000},
	        /* Lord Howe: a half-hour DST. 2024-10-06 02:00 +1030 = 2024-10-05T15:30:00Z */
	        {"Australia/Lord_Howe", 1728142199, 37800},
	        {"Australia/Lord_Howe", 1728142200, 39600},
	        /* 2025-04-06 02:00 +11 -> 01:30 +1030 = 2025-04-05T15:00:00Z */
	        {"Australia/Lord_Howe", 1743865199, 39600},
	        {"Australia/Lord_Howe", 1743865200, 37800},
	        /* Kathmandu: +05:30 until 1986-01-01 00:00 local = 1985-12-31T18:30:00Z, then
	           +05:45 */
	        {"Asia/Kathmandu", 504901799, 19800},
	        {"Asia/Kathmandu", 504901800, 20700},
	        {"Asia/Kathmandu", 4102444800, 20700},
	        {"UTC", 0, 0},
	        {"UTC", 7258118400, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct detour_tz *tz = NULL;
		assert_int_equal(detour_tz_load(cases[i].zone, &tz, NULL), DETOUR_OK);
		if (detour_tz_offset(tz, cases[i].t) != cases[i].off)
			fail_msg("%s at %lld: %d, expected %d", cases[i].zone,
			         (long long)cases[i].t, detour_tz_offset(tz, cases[i].t),
			         cases[i].off);
		detour_tz_free(tz);
	}
}

/* ---- hand-built TZif files ---- */

struct buf {
	unsigned char b[512];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->len + n <= sizeof(b->b));
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static void put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {v >> 24, v >> 16, v >> 8, v};
	put(b, x, 4);
}

static void put64(struct buf *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

static void header(struct buf *b, char version, uint32_t timecnt, uint32_t typecnt,
                   uint32_t charcnt)
{
	put(b, "TZif", 4);
	put(b, &version, 1);
	put(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
	put32(b, 0); /* isutcnt */
	put32(b, 0); /* isstdcnt */
	put32(b, 0); /* leapcnt */
	put32(b, timecnt);
	put32(b, typecnt);
	put32(b, charcnt);
}

static void type(struct buf *b, int32_t utoff, unsigned char isdst, unsigned char idx)
{
	put32(b, (uint32_t)utoff);
	put(b, &isdst, 1);
	put(b, &idx, 1);
}

/* A version 2 file with one type (offset `off`), no transitions and footer `tz`. */
static void footer_only(struct buf *b, int32_t off, const char *tz)
{
	b->len = 0;
	header(b, '2', 0, 1, 4); /* v1 block, skipped by the reader */
	type(b, off, 0, 0);
	put(b, "ABC", 4);
	header(b, '2', 0, 1, 4);
	type(b, off, 0, 0);
	put(b, "ABC", 4);
	put(b, "\n", 1);
	put(b, tz, strlen(tz));
	put(b, "\n", 1);
}

/* The footer alone against glibc reading the same string from TZ. */
static void test_posix_footers(void **state)
{
	static const char *rules[] = {
	        "CET-1CEST,M3.5.0,M10.5.0/3",
	        "EST5EDT,M3.2.0,M11.1.0",
	        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	        "<+0545>-5:45",
	        "AEST-10AEDT,M10.1.0,M4.1.0/3",
	        "IST-1GMT0,M10.5.0,M3.5.0/1", /* Dublin: negative DST (winter is "daylight") */
	        "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", /* Greenland: negative times */
	        "XXX3YYY2:30,J60/1:30:15,300/23",   /* Julian days, explicit DST offset */
	        "<-01>+1<+00>,M3.5.0/0,M10.5.0/1",
	        "NZST-12NZDT,M9.5.0,M4.1.0/3",
	        "HST10",
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct buf b;
		struct detour_tz *tz = NULL;
		struct detour_diag d = {0};

		footer_only(&b, 0, rules[i]);
		if (detour_tz_parse("x", b.b, b.len, &tz, &d) != DETOUR_OK)
			fail_msg("%s: %s", rules[i], d.msg);
		use_glibc_tz(rules[i]);
		compare_range(tz, Y1970, Y2200, 431957);
		detour_tz_free(tz);
	}
}

/* RFC 8536 §3.3.1: "EST5EDT,0/0,J365/25" is daylight time all year. glibc
 * takes the rule's year from UTC and so shows EST for the last hours of each
 * UTC year; detour takes it from local standard time, which gives EDT always. */
static void test_all_year_dst(void **state)
{
	struct buf b;
	struct detour_tz *tz = NULL;

	footer_only(&b, 0, "EST5EDT,0/0,J365/25");
	assert_int_equal(detour_tz_parse("x", b.b, b.len, &tz, NULL), DETOUR_OK);
	/* 2030-12-31T23:30Z and around 2031-01-01T05:00Z (00:00 EST), every hour of 2031. */
	static const time_t edges[] = {1924990200, 1925010000 - 1, 1925010000, 1925010000 + 1};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		assert_int_equal(detour_tz_offset(tz, edges[i]), -14400);
	for (time_t t = 1924992000; t < 1924992000 + 366 * 86400; t += 3600)
		assert_int_equal(detour_tz_offset(tz, t), -14400);
	detour_tz_free(tz);
}

/* Beyond 2^40 s the footer rule is evaluated 400 Gregorian years (146097
 * days, whole weeks) earlier; the answers must repeat, up to time_t's ends. */
static void test_far_future(void **state)
{
	struct detour_tz *tz = NULL;
	const time_t era = (time_t)146097 * 86400;
	const time_t k = (time_t)1 << 28;

	assert_int_equal(detour_tz_load("Europe/Paris", &tz, NULL), DETOUR_OK);
	/* 2024-03-31T01:00:00Z moved by 2^28 eras (about 10^11 years): still the change to CEST. */
	assert_int_equal(detour_tz_offset(tz, 1711846799 + k * era), 3600);
	assert_int_equal(detour_tz_offset(tz, 1711846800 + k * era), 7200);
	assert_int_equal(detour_tz_offset(tz, 1711846800 - k * era), 561); /* before 1891: type 0 */
	int32_t hi = detour_tz_offset(tz, INT64_MAX), lo = detour_tz_offset(tz, INT64_MIN);
	assert_true(hi == 3600 || hi == 7200);
	assert_int_equal(lo, 561); /* Paris mean time, +00:09:21, type 0 */
	detour_tz_free(tz);
}

/* A version 1 file (32-bit times, no footer) and a v2 file with transitions. */
static void test_hand_built(void **state)
{
	struct buf b = {0};
	struct detour_tz *tz = NULL;

	header(&b, 0, 2, 2, 8);
	put32(&b, 1000);
	put32(&b, 2000);
	put(&b, "\1\0", 2);
	type(&b, 3600, 0, 0);
	type(&b, -1800, 1, 4);
	put(&b, "AAA\0BBB", 8);
	assert_int_equal(detour_tz_parse("v1", b.b, b.len, &tz, NULL), DETOUR_OK);
	static const struct {
		time_t t;
		int32_t off;
	} v1[] = {{-5000000000, 3600}, {999, 3600},     {1000, -1800},     {1999, -1800},
	          {2000, 3600},        {1 << 30, 3600}, {5000000000, 3600}};
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
		assert_int_equal(detour_tz_offset(tz, v1[i].t), v1[i].off);
	detour_tz_free(tz);

	/* v2: 64-bit times beyond 2038, then the footer takes over. */
	b.len = 0;
	header(&b, '2', 0, 1, 4);
	type(&b, 0, 0, 0);
	put(&b, "ABC", 4);
	header(&b, '2', 2, 2, 8);
	put64(&b, -3000000000);
	put64(&b, 3000000000);
	put(&b, "\1\0", 2);
	type(&b, 7200, 0, 0);
	type(&b, 100, 0, 4);
	put(&b, "AAA\0BBB", 8);
	put(&b, "\nABC-5\n", 7);
	assert_int_equal(detour_tz_parse("v2", b.b, b.len, &tz, NULL), DETOUR_OK);
	static const struct {
		time_t t;
		int32_t off;
	} v2[] = {{-3000000001, 7200}, {-3000000000, 100},  {0, 100},
	          {2999999999, 100},   {3000000000, 18000}, {9000000000, 18000}};
	for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++)
		assert_int_equal(detour_tz_offset(tz, v2[i].t), v2[i].off);
	detour_tz_free(tz);

	/* An empty footer: the last type goes on forever. */
	footer_only(&b, -12345, "");
	assert_int_equal(detour_tz_parse("e", b.b, b.len, &tz, NULL), DETOUR_OK);
	assert_int_equal(detour_tz_offset(tz, 4000000000), -12345);
	detour_tz_free(tz);
}

static void test_bad_files(void **state)
{
	struct buf b;
	struct detour_tz *tz = (struct detour_tz *)&b; /* must be reset to NULL */
	struct detour_diag d = {0};

	/* Every truncation of a valid file is refused, and never over-read. */
	footer_only(&b, 3600, "CET-1CEST,M3.5.0,M10.5.0/3");
	for (size_t n = 0; n < b.len; n++) {
		struct guard g;
		const unsigned char *p = (const unsigned char *)guard_copy(&g, b.b, n);
		assert_int_equal(detour_tz_parse("t", p, n, &tz, &d), DETOUR_EINVAL);
		assert_null(tz);
		guard_free(&g);
	}

	static const char *bad_footers[] = {
	        "CET",
	        "CET-1CEST",
	        "CET-1CEST,M3.5.0",
	        "CET-1CEST,M13.5.0,M10.5.0",
	        "CET-1CEST,M3.6.0,M10.5.0",
	        "CET-1CEST,M3.5.7,M10.5.0",
	        "CET-1CEST,J0,J10",
	        "CET-1CEST,366,1",
	        "CET-1CEST,M3.5.0/168,M10.5.0",
	        "CE-1",
	        "<CE>-1",
	        "<CET-1",
	        "CET-25",
	        "CET-1:60",
	        "CET-1 ",
	        "CET-1CEST,M3.5.0,M10.5.0x",
	        "-1",
	};
	for (size_t i = 0; i < sizeof(bad_footers) / sizeof(bad_footers[0]); i++) {
		footer_only(&b, 0, bad_footers[i]);
		if (detour_tz_parse("f", b.b, b.len, &tz, &d) != DETOUR_EINVAL)
			fail_msg("footer \"%s\" accepted", bad_footers[i]);
		assert_string_equal(d.msg, "TZif: bad POSIX TZ string in footer");
		assert_string_equal(d.file, "f");
	}

	/* Field-level faults, each in an otherwise valid file. */
	footer_only(&b, 0, "UTC0");
	struct buf good = b;
	const size_t h2 = 44 + 6 + 4; /* second header */
	static const struct {
		size_t at;
		unsigned char byte;
		const char *msg;
	} faults[] = {
	        {0, 'X', "not a TZif file (no \"TZif\" magic)"},
	        {4, '1', "unknown TZif version 0x31"},
	        {h2 + 4, '5', "unknown TZif version 0x35"},
	        {h2 + 39, 0, "TZif: no local time type"},                /* typecnt 0 */
	        {h2 + 44 + 5, 9, "TZif: bad local time type record"},    /* desigidx >= charcnt */
	        {h2 + 44 + 4, 2, "TZif: bad local time type record"},    /* isdst 2 */
	        {h2 + 44 + 0, 0x80, "TZif: bad local time type record"}, /* utoff -2^31 */
	        {h2 + 23, 1, "TZif: isutcnt/isstdcnt differ from typecnt"}, /* isutcnt 1... */
	};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		b = good;
		b.b[faults[i].at] = faults[i].byte;
		detour_err err = detour_tz_parse("g", b.b, b.len, &tz, &d);
		if (i == sizeof(faults) / sizeof(faults[0]) - 1) {
			/* isutcnt = 1 == typecnt is valid but the block grows by one byte,
			 * so the footer is misread: still refused. */
			assert_int_equal(err, DETOUR_EINVAL);
			continue;
		}
		assert_int_equal(err, DETOUR_EINVAL);
		assert_string_equal(d.msg, faults[i].msg);
	}

	/* Transitions out of order, and a type index out of range. */
	b.len = 0;
	header(&b, 0, 2, 1, 4);
	put32(&b, 2000);
	put32(&b, 2000);
	put(&b, "\0\0", 2);
	type(&b, 0, 0, 0);
	put(&b, "ABC", 4);
	assert_int_equal(detour_tz_parse("o", b.b, b.len, &tz, &d), DETOUR_EINVAL);
	assert_string_equal(d.msg, "TZif: transition times not ascending");
	b.b[44 + 8] = 1;
	b.b[44 + 7] = 0xff; /* 2000 -> 2047: ascending again */
	assert_int_equal(detour_tz_parse("o", b.b, b.len, &tz, &d), DETOUR_EINVAL);
	assert_string_equal(d.msg, "TZif: transition type out of range");

	/* A huge count does not make the reader allocate or read past the end. */
	b = good;
	b.b[h2 + 32] = 0x7f;
	assert_int_equal(detour_tz_parse("h", b.b, b.len, &tz, &d), DETOUR_EINVAL);
	assert_string_equal(d.msg, "TZif: truncated version 2+ data block");
	/* A missing final newline. */
	b = good;
	b.len--;
	assert_int_equal(detour_tz_parse("n", b.b, b.len, &tz, &d), DETOUR_EINVAL);
	assert_string_equal(d.msg, "TZif: missing footer");
}

static void test_load_names(void **state)
{
	static const struct {
		const char *name;
		detour_err err;
	} cases[] = {
	        {"../etc/passwd", DETOUR_EINVAL},
	        {"/etc/localtime", DETOUR_EINVAL},
	        {"Europe/../../x", DETOUR_EINVAL},
	        {"Europe/./Paris", DETOUR_EINVAL},
	        {"", DETOUR_EINVAL},
	        {"Europe/Paris\n", DETOUR_EINVAL},
	        {"Mars/Olympus", DETOUR_EIO},
	        {"Etc/GMT+5", DETOUR_OK},
	        {"Europe/Paris", DETOUR_OK},
	        {"zone.tab", DETOUR_EINVAL}, /* not TZif */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct detour_tz *tz = NULL;
		struct detour_diag d = {0};
		detour_err err = detour_tz_load(cases[i].name, &tz, &d);
		if (err != cases[i].err)
			fail_msg("\"%s\": %s (%s)", cases[i].name, detour_strerror(err), d.msg);
		assert_int_equal(tz == NULL, err != DETOUR_OK);
		detour_tz_free(tz);
	}
	struct detour_tz *tz = NULL;
	assert_int_equal(detour_tz_load("Etc/GMT+5", &tz, NULL), DETOUR_OK);
	assert_int_equal(detour_tz_offset(tz, 1700000000), -18000); /* POSIX sign: west */
	detour_tz_free(tz);

	/* $TZDIR is honoured. */
	setenv("TZDIR", "/nonexistent", 1);
	assert_int_equal(detour_tz_load("UTC", &tz, NULL), DETOUR_EIO);
	unsetenv("TZDIR");
	detour_tz_free(NULL);
}

/* A zone file read whole whatever its size: 20 KiB (past the first 16 KiB
 * read, its buffer grown), and over 1 MiB refused as before. */
static void test_load_sizes(void **state)
{
	char dir[] = "/tmp/detour-tz-XXXXXX", path[64];
	enum { N = 4000 }; /* transitions: 4 + 1 bytes each, 20,000 bytes */
	struct detour_tz *tz = NULL;
	struct detour_diag d = {0};
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Many", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	unsigned char h[44] = "TZif";
	unsigned char cnt[12] = {0, 0, N >> 8, N & 0xff, 0, 0, 0, 2, 0, 0, 0, 8};
	memcpy(h + 32, cnt, sizeof(cnt)); /* timecnt, typecnt, charcnt */
	fwrite(h, 1, sizeof(h), f);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t t = 1000 * (i + 1);
		unsigned char x[4] = {t >> 24, t >> 16, t >> 8, t};
		fwrite(x, 1, 4, f);
	}
	for (int i = 0; i < N; i++)
		fputc(i & 1, f);
	fwrite("\0\0\x0e\x10\0\0" /* +3600 */ "\xff\xff\xf8\xf8\1\4" /* -1800 */, 1, 12, f);
	fwrite("AAA\0BBB", 1, 8, f);
	assert_int_equal(fclose(f), 0);
	setenv("TZDIR", dir, 1);
	assert_int_equal(detour_tz_load("Many", &tz, &d), DETOUR_OK);
	assert_int_equal(detour_tz_offset(tz, 999), 3600);
	assert_int_equal(detour_tz_offset(tz, 1000), 3600);  /* type 0 */
	assert_int_equal(detour_tz_offset(tz, 2000), -1800); /* type 1 */
	assert_int_equal(detour_tz_offset(tz, 1000 * N), -1800);
	detour_tz_free(tz);

	f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 1024 + 1; i++)
		for (int k = 0; k < 1024; k++)
			fputc('x', f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(detour_tz_load("Many", &tz, &d), DETOUR_EINVAL);
	assert_string_equal(d.msg, "time zone Many: file over 1 MiB");
	assert_null(tz);
	unsetenv("TZDIR");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_zones_match_glibc), cmocka_unit_test(test_known_instants),
	        cmocka_unit_test(test_posix_footers),     cmocka_unit_test(test_hand_built),
	        cmocka_unit_test(test_bad_files),         cmocka_unit_test(test_load_names),
	        cmocka_unit_test(test_all_year_dst),      cmocka_unit_test(test_far_future),
	        cmocka_unit_test(test_load_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
