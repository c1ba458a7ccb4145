/* detour base: civil time (see docs/internals/base.md).
 *
 * Unix seconds <-> the proleptic Gregorian calendar, computed on day counts
 * with Howard Hinnant's algorithms ("chrono-Compatible Low-Level Date
 * Algorithms") instead of gmtime_r/timegm: no time zone lock (glibc takes
 * one in gmtime_r), no locale, no year limits, thread-safe.
 *
 * RFC 3339 policy (civil_parse_rfc3339), the one used by the rules files,
 * detour.conf, the admin API, --at and DETOUR_NOW:
 *   YYYY-MM-DD "T" hh:mm:ss [ "." 1*DIGIT ] ( "Z" / "+hh:mm" / "-hh:mm" )
 *   - "t" and "z" are accepted for "T" and "Z" (RFC 3339 §5.6, NOTE);
 *     a space instead of "T" is not;
 *   - the year is 1970 to 9999 (detour's times are Unix times);
 *   - the day must exist (2026-02-29 is refused, 2028-02-29 is not);
 *   - hh 00-23, mm 00-59, ss 00-59: a leap second "60" is refused, as
 *     Unix time has none; the offset's hh 00-23 and mm 00-59;
 *   - a fraction of a second is accepted and ignored (times are seconds).
 * The rules (from=, until=), --at and DETOUR_NOW also take a bare full-date
 * (civil_parse_date), meaning 00:00 UTC of that day; detour.conf's
 * retry-after=, documented as a UTC time, takes only the "Z" offset
 * (civil_parse_rfc3339_utc). */
#ifndef DETOUR_BASE_CIVIL_H
#define DETOUR_BASE_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* a / b rounded towards minus infinity (b > 0): the day of a negative time. */
static inline int64_t civil_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Whether y is a Gregorian leap year. */
static inline bool civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month m (1-12) of year y. */
unsigned civil_month_days(int64_t y, unsigned m);

/* Days since 1970-01-01 of y-m-d (m 1-12, d 1-31; any year, negative too). */
int64_t civil_days_from(int64_t y, unsigned m, unsigned d);

/* The civil date of day z (days since 1970-01-01, any sign). */
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Day of the week of day z: 0 = Sunday .. 6 = Saturday. */
unsigned civil_weekday(int64_t z);

/* Parses s[0..n), an RFC 3339 date-time under the policy above, into Unix
 * seconds. Returns 0, or -1 (out untouched). */
int civil_parse_rfc3339(const char *s, size_t n, int64_t *out);

/* civil_parse_rfc3339 for a value documented as a UTC time (detour.conf's
 * retry-after=): the same policy, and the offset must be "Z" (or "z"). */
int civil_parse_rfc3339_utc(const char *s, size_t n, int64_t *out);

/* Parses s[0..n), an RFC 3339 full-date (YYYY-MM-DD, the day checked, years
 * 1970-9999), into the Unix seconds of its 00:00 UTC. Returns 0 or -1. */
int civil_parse_date(const char *s, size_t n, int64_t *out);

/* A time as the rules (from=, until=), --at and DETOUR_NOW write it: an RFC
 * 3339 date-time under the policy above, or a bare full-date meaning 00:00
 * UTC of that day (civil_parse_date). Returns 0 and *out, or -1. */
int civil_parse_time(const char *s, size_t n, int64_t *out);

/* "2026-11-01T09:00:00Z": t as an RFC 3339 UTC date-time, NUL-terminated.
 * Years past 9999 are written with more digits; before 0, with a '-'. */
#define CIVIL_RFC3339_MAX 32
void civil_format_rfc3339(int64_t t, char out[CIVIL_RFC3339_MAX]);

/* IMF-fixdate, RFC 9110 §5.6.7, e.g. "Sun, 06 Nov 1994 08:49:37 GMT",
 * NUL-terminated. Times before 1970 or after 9999 are clamped (the format
 * has four year digits). */
#define CIVIL_HTTP_DATE_LEN 29
void civil_http_date(int64_t t, char out[CIVIL_HTTP_DATE_LEN + 1]);

/* Whether s[0..n) has the shape of an IMF-fixdate: a day and a month name
 * of the format, day 01-31, hh 00-23, mm 00-59, ss 00-60 (§5.6.7 allows a
 * leap second). Only the shape: the weekday is not checked against the
 * date (no code needs the time of an HTTP-date, only its validity). */
bool civil_is_http_date(const char *s, size_t n);

/* The clock override of `--at` and the DETOUR_NOW variable (docs/rules.md),
 * read by the command line and the server alike: v is the value given, NULL
 * or "" when there is none. Returns 1 with *at the time v names (an RFC 3339
 * date-time under the policy above, or a bare full-date: 00:00 UTC of that
 * day), 0 when there is no override, or -1 when v is not such a time (*at
 * untouched). What to do with an invalid value is the caller's to say. */
int civil_now_override(const char *v, int64_t *at);

#endif
