/* detour base: civil time (see civil.h). */
#include "base/civil.h"

#include <stdio.h>
#include <string.h>

unsigned civil_month_days(int64_t y, unsigned m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && civil_is_leap(y) ? 29 : days[m - 1];
}

/* Years start in March so that the leap day is the last day of a year; an
 * era is 400 years, 146097 days; day 0 of the count is 0000-03-01, 719468
 * days before 1970-01-01. */
int64_t civil_days_from(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = civil_floor_div(y, 400);
	int64_t yoe = y - era * 400;                                   /* [0, 399] */
	int64_t doy = (153 * (int64_t)((m + 9) % 12) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* The date of day doe of a 400-year era that starts on a March 1st. */
static inline void era_date(unsigned doe, unsigned *yoe, unsigned *m, unsigned *d)
{
	unsigned y = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	unsigned doy = doe - (365 * y + y / 4 - y / 100);                   /* [0, 365] */
	unsigned mp = (5 * doy + 2) / 153;                                  /* March = 0 */
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*yoe = y + (*m <= 2);
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	unsigned yoe;

	z += 719468;
	int64_t era = civil_floor_div(z, 146097);
	era_date((unsigned)(z - era * 146097), &yoe, m, d);
	*y = era * 400 + yoe;
}

unsigned civil_weekday(int64_t z)
{
	return (unsigned)(((z + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
}

/* k digits at s[at..at+k) of s[0..n) into *out. */
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

/* RFC 3339 §5.6: full-date = date-fullyear "-" date-month "-" date-mday */
static int full_date(const char *s, size_t n, int64_t *days)
{
	unsigned y, mo, d;

	if (n < 10 || num(s, n, 0, 4, &y) || s[4] != '-' || num(s, n, 5, 2, &mo) || s[7] != '-' ||
	    num(s, n, 8, 2, &d))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > civil_month_days(y, mo))
		return -1;
	*days = civil_days_from(y, mo, d);
	return 0;
}

int civil_parse_date(const char *s, size_t n, int64_t *out)
{
	int64_t days;

	if (n != 10 || full_date(s, n, &days))
		return -1;
	*out = days * 86400;
	return 0;
}

/* RFC 3339 §5.6:
 *   date-time    = full-date "T" full-time
 *   full-time    = partial-time time-offset
 *   partial-time = time-hour ":" time-minute ":" time-second [time-secfrac]
 *   time-secfrac = "." 1*DIGIT
 *   time-offset  = "Z" / time-numoffset;  time-numoffset = ("+" / "-") time-hour ":" time-minute */
int civil_parse_rfc3339(const char *s, size_t n, int64_t *out)
{
	unsigned h, mi, se, oh, om;
	int64_t days, off;
	size_t i = 19;

	if (full_date(s, n, &days) || n < 20 || (s[10] != 'T' && s[10] != 't') ||
	    num(s, n, 11, 2, &h) || s[13] != ':' || num(s, n, 14, 2, &mi) || s[16] != ':' ||
	    num(s, n, 17, 2, &se))
		return -1;
	if (h > 23 || mi > 59 || se > 59)
		return -1;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return -1;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		off = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && !num(s, n, i + 1, 2, &oh) &&
	           s[i + 3] == ':' && !num(s, n, i + 4, 2, &om) && oh < 24 && om < 60) {
		off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
	} else {
		return -1;
	}
	*out = days * 86400 + h * 3600 + mi * 60 + se - off;
	return 0;
}

int civil_parse_rfc3339_utc(const char *s, size_t n, int64_t *out)
{
	if (n == 0 || (s[n - 1] != 'Z' && s[n - 1] != 'z'))
		return -1;
	return civil_parse_rfc3339(s, n, out);
}

int civil_parse_time(const char *s, size_t n, int64_t *out)
{
	if (n == 10)
		return civil_parse_date(s, n, out);
	return civil_parse_rfc3339(s, n, out);
}

void civil_format_rfc3339(int64_t t, char out[CIVIL_RFC3339_MAX])
{
	int64_t z = civil_floor_div(t, 86400), sod = t - z * 86400, y;
	unsigned m, d;

	civil_from_days(z, &y, &m, &d);
	snprintf(out, CIVIL_RFC3339_MAX, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
	         (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

static const char wdays[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT. The server
 * formats Expires on the request path from every worker: no snprintf. */
void civil_http_date(int64_t s, char out[CIVIL_HTTP_DATE_LEN + 1])
{
	unsigned y, m, d;

	if (s < 0)
		s = 0;
	if (s > INT64_C(253402300799)) /* 9999-12-31T23:59:59Z */
		s = INT64_C(253402300799);
	/* Clamped, the day is not negative: unsigned arithmetic, inlined. */
	uint64_t z = (uint64_t)s / 86400, sod = (uint64_t)s % 86400, zz = z + 719468;
	era_date((unsigned)(zz % 146097), &y, &m, &d);
	y += (unsigned)(zz / 146097) * 400;
	memcpy(out, wdays + 3 * ((z + 4) % 7), 3); /* 1970-01-01 was a Thursday */
	out[3] = ',';
	out[4] = ' ';
	put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months + 3 * (m - 1), 3);
	out[11] = ' ';
	put2(out + 12, y / 100);
	put2(out + 14, y % 100);
	out[16] = ' ';
	put2(out + 17, (unsigned)(sod / 3600));
	out[19] = ':';
	put2(out + 20, (unsigned)(sod / 60 % 60));
	out[22] = ':';
	put2(out + 23, (unsigned)(sod % 60));
	memcpy(out + 25, " GMT", 5); /* with the NUL */
}

bool civil_is_http_date(const char *p, size_t len)
{
	static const char shape[] = "Ddd, 00 Mmm 0000 00:00:00 GMT";

	if (len != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		char k = shape[i], ch = p[i];
		if (k == '0' ? (ch < '0' || ch > '9')
		             : (k != 'D' && k != 'd' && k != 'M' && k != 'm' && ch != k))
			return false;
	}
	bool day = false, mon = false;
	for (int k = 0; k < 7; k++)
		day = day || memcmp(p, wdays + 3 * k, 3) == 0;
	for (int k = 0; k < 12; k++)
		mon = mon || memcmp(p + 8, months + 3 * k, 3) == 0;
	int dd = (p[5] - '0') * 10 + (p[6] - '0'), hh = (p[17] - '0') * 10 + (p[18] - '0');
	int mi = (p[20] - '0') * 10 + (p[21] - '0'), ss = (p[23] - '0') * 10 + (p[24] - '0');
	/* second 60: a leap second, which §5.6.7 allows */
	return day && mon && dd >= 1 && dd <= 31 && hh <= 23 && mi <= 59 && ss <= 60;
}

int civil_now_override(const char *v, int64_t *at)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0)
		return 0;
	if (civil_parse_time(v, n, at))
		return -1;
	return 1;
}
