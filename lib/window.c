/* detour: time windows (see window.h and docs/rules.md, "Time windows").
 * Times are Unix seconds; calendar arithmetic is done here on day counts
 * (base/civil.h, the proleptic Gregorian calendar), never with localtime_r
 * or TZ, so it is thread-safe and lock-free. */
#include <string.h>

#include "window.h"

#include "base/ascii.h"
#include "base/civil.h"

static const char day_names[] = "sunmontuewedthufrisat";

static int day_of(const char *s, size_t n)
{
	if (n != 3)
		return -1;
	for (int d = 0; d < 7; d++)
		if (ascii_eq_ci_n(s, 3, day_names + 3 * d, 3))
			return d;
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
	if (n != 5 || s[2] != ':')
		return -1;
	for (size_t i = 0; i < 5; i++)
		if (i != 2 && !ascii_is_digit((unsigned char)s[i]))
			return -1;
	unsigned h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	unsigned m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
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

/* The recurring part at local time lt (seconds): inside? and the local end
 * of the occurrence. */
static bool recurring(const struct detour_window *w, int64_t lt, int64_t *lend)
{
	int64_t day = civil_floor_div(lt, 86400), sod = lt - day * 86400;
	unsigned wd = civil_weekday(day); /* 0 = Sunday */
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
			int64_t t0 = civil_floor_div((now > w->from ? now : w->from) + 59, 60) * 60;
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
