/* detour: time zones from compiled TZif files (RFC 8536).
 *
 * A zone is read once into three arrays: the transition instants (64-bit,
 * ascending), the UTC offset in effect from each transition on, and the
 * offset before the first one. Instants after the last transition follow the
 * footer's POSIX TZ string (RFC 8536 §3.3), e.g. "CET-1CEST,M3.5.0,M10.5.0/3",
 * which is parsed into a struct posix_rule. detour_tz_offset() is then a binary
 * search or a little calendar arithmetic: no allocation, no global state.
 *
 * Leap-second records ("right/" zones) are skipped: detour counts POSIX time. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detour/tz.h"

#include "base/ascii.h"
#include "base/civil.h"

#define TZ_FILE_MAX     (1u << 20) /* the biggest zone in tzdata is under 4 KiB */
#define TZ_FILE_INITIAL (16u << 10)
#define TZ_NAME_MAX     255

/* One rule date of a POSIX TZ string (POSIX XBD §8.3 "rule"). */
struct posix_date {
	char kind;    /* 'J' Julian day 1..365 without Feb 29, 'n' zero-based day 0..365, 'M' */
	int day;      /* J: 1..365, n: 0..365, M: weekday 0..6 (Sunday 0) */
	int month;    /* M: 1..12 */
	int week;     /* M: 1..5, 5 = the last such weekday of the month */
	int32_t secs; /* local time of day of the change; RFC 8536 §3.3.1 allows -167h..167h */
};

struct posix_rule {
	int32_t std_off; /* seconds east of UTC, i.e. the negated POSIX offset */
	int32_t dst_off;
	bool has_dst;
	struct posix_date start, end; /* DST starts at `start` (standard time), ends at `end` */
};

struct detour_tz {
	char *name;
	size_t n;          /* transitions */
	int64_t *at;       /* n instants, strictly ascending */
	int32_t *off;      /* n offsets in effect from at[i] on */
	int32_t first_off; /* before at[0]: time type 0 (RFC 8536 §3.2) */
	bool has_rule;     /* footer present and not empty */
	struct posix_rule rule;
};

/* ---- calendar (base/civil.h: proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t year_of_days(int64_t z)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(z, &y, &m, &d);
	return y;
}

/* Local seconds since the epoch (in the offset in effect before the change) of
 * rule date r in year y. */
static int64_t date_local(const struct posix_date *r, int64_t y)
{
	int64_t day;

	switch (r->kind) {
	case 'J': /* "Jn: The Julian day n (1 <= n <= 365). Leap days shall not be counted." */
		day = civil_days_from(y, 1, 1) + r->day - 1 + (civil_is_leap(y) && r->day >= 60);
		break;
	case 'n': /* "n: The zero-based Julian day (0 <= n <= 365). Leap days shall be counted" */
		day = civil_days_from(y, 1, 1) + r->day;
		break;
	default: { /* "Mm.n.d: The d'th day (0 <= d <= 6) of week n of month m" (5 = last) */
		int64_t first = civil_days_from(y, r->month, 1);
		int wday = (int)civil_weekday(first);
		int mday = 1 + (r->day - wday + 7) % 7 + 7 * (r->week - 1);
		while (mday > (int)civil_month_days(y, r->month))
			mday -= 7;
		day = first + mday - 1;
		break;
	}
	}
	return day * 86400 + r->secs;
}

/* The Gregorian calendar repeats every 400 years: 146097 days, a whole
 * number of weeks. */
#define ERA_SECS ((int64_t)146097 * 86400)

static int32_t rule_offset(const struct posix_rule *r, int64_t t)
{
	if (!r->has_dst)
		return r->std_off;
	/* Far instants are folded into 1970..2370 so the arithmetic cannot overflow. */
	if (t > ((int64_t)1 << 40) || t < -((int64_t)1 << 40))
		t -= civil_floor_div(t, ERA_SECS) * ERA_SECS;
	int64_t y = year_of_days(civil_floor_div(t + r->std_off, 86400));
	/* The start is written in standard time, the end in daylight time. */
	int64_t start = date_local(&r->start, y) - r->std_off;
	int64_t end = date_local(&r->end, y) - r->dst_off;
	if (start <= end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	/* Southern hemisphere: DST spans the new year. */
	return t >= end && t < start ? r->std_off : r->dst_off;
}

/* ---- POSIX TZ string ---- */

struct cursor {
	const char *p, *end;
};

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

static int peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

/* std / dst: three or more letters, or "<" [A-Za-z0-9+-]{3,} ">". */
static bool parse_abbr(struct cursor *c)
{
	size_t n = 0;

	if (peek(c) == '<') {
		c->p++;
		while (!at_end(c) && (ascii_is_alpha(peek(c)) || ascii_is_digit(peek(c)) ||
		                      peek(c) == '+' || peek(c) == '-')) {
			c->p++;
			n++;
		}
		if (peek(c) != '>')
			return false;
		c->p++;
		return n >= 3;
	}
	while (!at_end(c) && ascii_is_alpha(peek(c))) {
		c->p++;
		n++;
	}
	return n >= 3;
}

static bool parse_num(struct cursor *c, int max, int *out)
{
	int v = 0, digits = 0;

	while (ascii_is_digit(peek(c))) {
		v = v * 10 + (*c->p++ - '0');
		if (++digits > 3 || v > max)
			return false;
	}
	*out = v;
	return digits > 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; returns seconds, sign applied. */
static bool parse_hms(struct cursor *c, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (peek(c) == '+' || peek(c) == '-')
		sign = *c->p++ == '-' ? -1 : 1;
	if (!parse_num(c, max_h, &h))
		return false;
	if (peek(c) == ':') {
		c->p++;
		if (!parse_num(c, 59, &m))
			return false;
		if (peek(c) == ':') {
			c->p++;
			if (!parse_num(c, 59, &s))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool parse_date(struct cursor *c, struct posix_date *d)
{
	if (peek(c) == 'J') {
		c->p++;
		d->kind = 'J';
		if (!parse_num(c, 365, &d->day) || d->day < 1)
			return false;
	} else if (peek(c) == 'M') {
		c->p++;
		d->kind = 'M';
		if (!parse_num(c, 12, &d->month) || d->month < 1 || peek(c) != '.')
			return false;
		c->p++;
		if (!parse_num(c, 5, &d->week) || d->week < 1 || peek(c) != '.')
			return false;
		c->p++;
		if (!parse_num(c, 6, &d->day))
			return false;
	} else {
		d->kind = 'n';
		if (!parse_num(c, 365, &d->day))
			return false;
	}
	d->secs = 7200; /* "The default, if time is not given, shall be 02:00:00" */
	if (peek(c) == '/') {
		c->p++;
		/* RFC 8536 §3.3.1: "the hours part of its transition times may be signed
		 * and range from -167 through 167" */
		if (!parse_hms(c, 167, &d->secs))
			return false;
	}
	return true;
}

/* Parses a whole footer TZ string; an empty string means "no rule". */
static bool parse_posix(const char *s, size_t len, struct posix_rule *r, bool *has_rule)
{
	struct cursor c = {s, s + len};
	int32_t v;

	memset(r, 0, sizeof(*r));
	*has_rule = len > 0;
	if (len == 0)
		return true;
	/* "std offset": the POSIX offset is west of UTC, ours east. */
	if (!parse_abbr(&c) || !parse_hms(&c, 24, &v))
		return false;
	r->std_off = -v;
	if (at_end(&c))
		return true;
	if (!parse_abbr(&c))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600; /* "If no offset follows dst, ... one hour ahead" */
	if (peek(&c) != ',' && !at_end(&c)) {
		if (!parse_hms(&c, 24, &v))
			return false;
		r->dst_off = -v;
	}
	/* RFC 8536 §3.3: a DST zone's footer carries its rule (no implementation default). */
	if (peek(&c) != ',')
		return false;
	c.p++;
	if (!parse_date(&c, &r->start) || peek(&c) != ',')
		return false;
	c.p++;
	if (!parse_date(&c, &r->end))
		return false;
	return at_end(&c);
}

/* ---- TZif (RFC 8536 §3.1 header, §3.2 data block, §3.3 footer) ---- */

struct header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static detour_err parse_header(const unsigned char *p, size_t len, struct header *h,
                               const char *name, struct detour_diag *d)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0) {
		detour_diag_set(d, name, 0, 0, "not a TZif file (no \"TZif\" magic)");
		return DETOUR_EINVAL;
	}
	h->version = (char)p[4];
	/* RFC 8536 §3.1: version NUL, '2' or '3'; RFC 9636 adds '4'. */
	if (h->version != 0 && (h->version < '2' || h->version > '4')) {
		detour_diag_set(d, name, 0, 0, "unknown TZif version 0x%02x", p[4]);
		return DETOUR_EINVAL;
	}
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return DETOUR_OK;
}

/* Bytes of the data block that follows a header, for 4- or 8-byte times;
 * SIZE_MAX when the counts are absurd (each is at most the file size). */
static size_t block_len(const struct header *h, size_t tsize, size_t file_len)
{
	if (h->isutcnt > file_len || h->isstdcnt > file_len || h->leapcnt > file_len ||
	    h->timecnt > file_len || h->typecnt > file_len || h->charcnt > file_len)
		return SIZE_MAX;
	return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static detour_err fail(struct detour_tz *tz, const char *name, struct detour_diag *d,
                       const char *msg)
{
	detour_diag_set(d, name, 0, 0, "%s", msg);
	detour_tz_free(tz);
	return DETOUR_EINVAL;
}

static detour_err parse_block(struct detour_tz *tz, const char *name, const struct header *h,
                              const unsigned char *p, size_t tsize, struct detour_diag *d)
{
	const unsigned char *times = p, *idx = p + (size_t)h->timecnt * tsize;
	const unsigned char *types = idx + h->timecnt;

	/* RFC 8536 §3.2: "typecnt ... MUST NOT be zero", "charcnt ... MUST NOT be
	 * zero", isutcnt and isstdcnt are zero or typecnt. */
	if (h->typecnt == 0 || h->charcnt == 0)
		return fail(tz, name, d, "TZif: no local time type");
	if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return fail(tz, name, d, "TZif: isutcnt/isstdcnt differ from typecnt");
	for (uint32_t i = 0; i < h->typecnt; i++) {
		const unsigned char *t = types + (size_t)i * 6;
		int32_t utoff = (int32_t)be32(t);
		/* §3.2: "utoff ... MUST NOT be -2**31"; real offsets lie within ±26 h. */
		if (utoff < -93600 || utoff > 93600 || t[4] > 1 || t[5] >= h->charcnt)
			return fail(tz, name, d, "TZif: bad local time type record");
	}
	tz->first_off = (int32_t)be32(types);
	tz->n = h->timecnt;
	if (tz->n > 0) {
		tz->at = malloc(tz->n * sizeof(*tz->at));
		tz->off = malloc(tz->n * sizeof(*tz->off));
		if (tz->at == NULL || tz->off == NULL) {
			detour_tz_free(tz);
			return DETOUR_ENOMEM;
		}
	}
	for (size_t i = 0; i < tz->n; i++) {
		tz->at[i] = tsize == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
		/* §3.2: "transition times ... sorted in strictly ascending order" */
		if (i > 0 && tz->at[i] <= tz->at[i - 1])
			return fail(tz, name, d, "TZif: transition times not ascending");
		if (idx[i] >= h->typecnt)
			return fail(tz, name, d, "TZif: transition type out of range");
		tz->off[i] = (int32_t)be32(types + (size_t)idx[i] * 6);
	}
	return DETOUR_OK;
}

static bool name_is_safe(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/')
		return false;
	for (const char *s = name; *s; s++) {
		char ch = *s;
		if (!(ascii_is_alpha(ch) || ascii_is_digit(ch) || ch == '_' || ch == '+' ||
		      ch == '-' || ch == '/' || ch == '.'))
			return false;
		/* No "." or ".." component: the name stays inside the zoneinfo tree. */
		if (ch == '.' && (s == name || s[-1] == '/'))
			return false;
	}
	return true;
}

detour_err detour_tz_parse(const char *name, const unsigned char *buf, size_t len,
                           struct detour_tz **out, struct detour_diag *d)
{
	struct header h;
	detour_err err;
	size_t tsize = 4, blen;
	const unsigned char *p = buf;

	*out = NULL;
	struct detour_tz *tz = calloc(1, sizeof(*tz));
	if (tz == NULL || (tz->name = strdup(name)) == NULL) {
		free(tz);
		return DETOUR_ENOMEM;
	}
	if ((err = parse_header(p, len, &h, name, d)) != DETOUR_OK) {
		detour_tz_free(tz);
		return err;
	}
	blen = block_len(&h, 4, len);
	if (blen == SIZE_MAX || blen > len - 44)
		return fail(tz, name, d, "TZif: truncated version 1 data block");
	if (h.version != 0) {
		/* §3.1: a version 2+ reader skips the v1 block and reads the second
		 * header, whose data block has 64-bit times. */
		size_t off2 = 44 + blen;
		if ((err = parse_header(p + off2, len - off2, &h, name, d)) != DETOUR_OK) {
			detour_tz_free(tz);
			return err;
		}
		p += off2;
		len -= off2;
		tsize = 8;
		blen = block_len(&h, 8, len);
		if (blen == SIZE_MAX || blen > len - 44)
			return fail(tz, name, d, "TZif: truncated version 2+ data block");
	}
	if ((err = parse_block(tz, name, &h, p + 44, tsize, d)) != DETOUR_OK)
		return err;
	if (h.version != 0) {
		/* §3.3: footer = NL TZ-string NL. */
		const unsigned char *f = p + 44 + blen, *end = p + len, *nl;
		if (f >= end || *f != '\n' ||
		    (nl = memchr(f + 1, '\n', (size_t)(end - f - 1))) == NULL)
			return fail(tz, name, d, "TZif: missing footer");
		if (!parse_posix((const char *)f + 1, (size_t)(nl - f - 1), &tz->rule,
		                 &tz->has_rule))
			return fail(tz, name, d, "TZif: bad POSIX TZ string in footer");
	}
	*out = tz;
	return DETOUR_OK;
}

detour_err detour_tz_load(const char *name, struct detour_tz **out, struct detour_diag *d)
{
	char path[4096];
	const char *dir = getenv("TZDIR");
	unsigned char *buf;
	size_t len = 0;
	int fd, n;

	*out = NULL;
	if (!name_is_safe(name)) {
		detour_diag_set(d, NULL, 0, 0, "time zone name \"%.64s\" is not a zoneinfo name",
		                name);
		return DETOUR_EINVAL;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		detour_diag_set(d, NULL, 0, 0, "time zone path too long");
		return DETOUR_EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		detour_diag_set(d, NULL, 0, 0, "time zone %s: %s", name, strerror(errno));
		return DETOUR_EIO;
	}
	/* 16 KiB first, doubled up to TZ_FILE_MAX: not a 1 MiB buffer (a
	 * mapping of its own in most mallocs, faulted in and unmapped) for
	 * each zone a rules file names. */
	size_t cap = TZ_FILE_INITIAL;
	buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return DETOUR_ENOMEM;
	}
	for (;;) {
		if (len == cap && cap < TZ_FILE_MAX) {
			unsigned char *b = realloc(buf, cap * 2);
			if (b == NULL) {
				free(buf);
				close(fd);
				return DETOUR_ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			detour_diag_set(d, NULL, 0, 0, "time zone %s: %s", name, strerror(errno));
			free(buf);
			close(fd);
			return DETOUR_EIO;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == TZ_FILE_MAX) {
			detour_diag_set(d, NULL, 0, 0, "time zone %s: file over 1 MiB", name);
			free(buf);
			close(fd);
			return DETOUR_EINVAL;
		}
	}
	close(fd);
	detour_err err = detour_tz_parse(name, buf, len, out, d);
	free(buf);
	return err;
}

void detour_tz_free(struct detour_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->at);
	free(tz->off);
	free(tz);
}

int32_t detour_tz_offset(const struct detour_tz *tz, time_t t)
{
	int64_t x = (int64_t)t;

	if (tz->n == 0)
		return tz->has_rule ? rule_offset(&tz->rule, x) : tz->first_off;
	if (x < tz->at[0])
		return tz->first_off;
	if (x >= tz->at[tz->n - 1] && tz->has_rule)
		return rule_offset(&tz->rule, x);
	/* The last transition at or before x. */
	size_t lo = 0, hi = tz->n; /* at[lo] <= x < at[hi] (at[n] = +inf) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->at[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

const char *detour_tz_name(const struct detour_tz *tz)
{
	return tz->name;
}
