/* detour: time windows (see rules_int.h and docs/rules.md, "Time windows").
 * Times are Unix seconds; calendar arithmetic is done here on day counts
 * (the proleptic Gregorian calendar, as respond.c's dates), never with
 * localtime_r or TZ, so it is thread-safe and lock-free. */
#include <stdio.h>
#include <string.h>

#include "rules_int.h"

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int num(const char *s, size_t n, size_t at, size_t k, unsigned *out)
{
	unsigned v = 0;

	if (at + k > n)
		return -1;
	for (size_t i = at; i < at + k; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* RFC 3339 §5.6:
 *   full-date = date-fullyear "-" date-month "-" date-mday
 *   date-time = full-date "T" full-time
 *   full-time = partial-time time-offset; time-offset = "Z" / time-numoffset
 * A bare full-date means 00:00 UTC of that day (docs/rules.md). */
int detour_parse_time(const char *s, size_t n, int64_t *out)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0, oh, om;
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t off = 0;
	size_t i;

	if (num(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || num(s, n, 5, 2, &mo) || s[7] != '-' ||
	    num(s, n, 8, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	if (n > 10) {
		if ((s[10] != 'T' && s[10] != 't') || num(s, n, 11, 2, &h) || n < 19 ||
		    s[13] != ':' || num(s, n, 14, 2, &mi) || s[16] != ':' || num(s, n, 17, 2, &se))
			return -1;
		if (h > 23 || mi > 59 || se > 60)
			return -1;
		i = 19;
		if (i < n && s[i] == '.') {
			i++;
			size_t f = i;
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			if (i == f)
				return -1;
		}
		if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
			off = 0;
		} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
		           !num(s, n, i + 1, 2, &oh) && s[i + 3] == ':' &&
		           !num(s, n, i + 4, 2, &om) && oh < 24 && om < 60) {
			off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
		} else {
			return -1;
		}
		if (se == 60)
			se = 59; /* a leap second: the second before */
	}
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	return 0;
}

void detour_time_format(int64_t t, char *out, size_t cap)
{
	int64_t z = t >= 0 ? t / 86400 : (t - 86399) / 86400, sod = t - z * 86400;
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned day = doy - (153 * mp + 2) / 5 + 1;
	unsigned month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = (int64_t)yoe + era * 400 + (month <= 2);

	snprintf(out, cap, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)year, month, day,
	         (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
}

static const char day_names[] = "sunmontuewedthufrisat";

static int day_of(const char *s, size_t n)
{
	if (n != 3)
		return -1;
	for (int d = 0; d < 7; d++) {
		bool eq = true;
		for (int k = 0; k < 3; k++) {
			char c = s[k] >= 'A' && s[k] <= 'Z' ? (char)(s[k] + 32) : s[k];
			eq &= c == day_names[3 * d + k];
		}
		if (eq)
			return d;
	}
	return -1;
}

const char *detour_days_parse(const char *v, size_t n, uint8_t *mask, size_t *errat)
{
	size_t i = 0;

	*mask = 0;
	while (i <= n) {
		const char *c = memchr(v + i, ',', n - i);
		size_t e = c ? (size_t)(c - v) : n;
		const char *dash = memchr(v + i, '-', e - i);
		size_t ae = dash ? (size_t)(dash - v) : e;
		int a = day_of(v + i, ae - i), b = a;
		if (a >= 0 && dash)
			b = day_of(dash + 1, e - ae - 1);
		if (a < 0 || b < 0) {
			*errat = a < 0 ? i : ae + 1;
			return "expected days as sun, mon, tue, wed, thu, fri, sat, "
			       "comma-separated, or "
			       "a range such as mon-fri";
		}
		/* A range wraps over the week end: fri-mon is fri, sat, sun, mon. */
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (!c)
			break;
		i = e + 1;
	}
	if (*mask == 0x7f)
		*mask = 0; /* every day */
	return NULL;
}

static int hhmm(const char *s, size_t n, int32_t *out)
{
	unsigned h, m;

	if (n != 5 || s[2] != ':' || num(s, n, 0, 2, &h) || num(s, n, 3, 2, &m) || m > 59 ||
	    h > 24 || (h == 24 && m != 0))
		return -1;
	*out = (int32_t)(h * 3600 + m * 60);
	return 0;
}

const char *detour_hours_parse(const char *v, size_t n, int32_t *from, int32_t *to, size_t *errat)
{
	const char *dash = memchr(v, '-', n);

	if (dash == NULL || hhmm(v, (size_t)(dash - v), from) || *from == 86400) {
		*errat = 0;
		return "expected hours as HH:MM-HH:MM (09:00-17:30; 22:00-06:00 runs over "
		       "midnight)";
	}
	if (hhmm(dash + 1, n - (size_t)(dash - v) - 1, to)) {
		*errat = (size_t)(dash - v) + 1;
		return "expected the end of hours= as HH:MM (24:00 for midnight)";
	}
	if (*from == *to) {
		*errat = 0;
		return "hours= is an empty range (start equals end)";
	}
	return NULL;
}

static int64_t floordiv(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The recurring part at local time lt (seconds): inside? and the local end
 * of the occurrence. */
static bool recurring(const struct detour_window *w, int64_t lt, int64_t *lend)
{
	int64_t day = floordiv(lt, 86400), sod = lt - day * 86400;
	unsigned wd = (unsigned)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
	uint8_t days = w->days ? w->days : 0x7f;
	bool today = days & (1u << wd), yesterday = days & (1u << ((wd + 6) % 7));

	if (w->hour_from < 0) {
		if (!today)
			return false;
		if (w->days == 0) {
			*lend = INT64_MAX;
			return true;
		}
		int64_t e = day + 1;
		for (unsigned k = 1; k < 7 && (days & (1u << ((wd + k) % 7))); k++)
			e++;
		*lend = e * 86400;
		return true;
	}
	if (w->hour_from < w->hour_to) {
		if (!today || sod < w->hour_from || sod >= w->hour_to)
			return false;
		*lend = day * 86400 + w->hour_to;
		return true;
	}
	/* Over midnight: it belongs to the day it starts. */
	if (sod >= w->hour_from && today) {
		*lend = (day + 1) * 86400 + w->hour_to;
		return true;
	}
	if (sod < w->hour_to && yesterday) {
		*lend = day * 86400 + w->hour_to;
		return true;
	}
	return false;
}

static int32_t offset_at(const struct detour_window *w, int64_t t)
{
	return w->tz ? detour_tz_offset(w->tz, (time_t)t) : 0;
}

bool detour_window_at(const struct detour_window *w, int64_t now, int64_t *end, int64_t *next)
{
	bool in = now >= w->from && now < w->until;
	int64_t e = w->until;

	if (in && (w->days || w->hour_from >= 0)) {
		int32_t off = offset_at(w, now);
		int64_t lend;
		in = recurring(w, now + off, &lend);
		/* The local end back to UTC with the offset of now: a DST change
		 * inside the occurrence moves its end by the change. */
		if (in && lend != INT64_MAX && lend - off < e)
			e = lend - off;
	}
	if (in) {
		*end = e;
		return true;
	}
	if (next) {
		*next = INT64_MAX;
		if (now < w->from) {
			*next = w->from; /* the recurring part may start later still */
		}
		if (w->days || w->hour_from >= 0) {
			/* Minute steps over 8 days: explain only. */
			int64_t t0 = floordiv((now > w->from ? now : w->from) + 59, 60) * 60;
			*next = INT64_MAX;
			for (int64_t t = t0; t < t0 + 8 * 86400 && t < w->until; t += 60) {
				int64_t le;
				if (recurring(w, t + offset_at(w, t), &le)) {
					*next = t;
					break;
				}
			}
		}
	}
	return false;
}
