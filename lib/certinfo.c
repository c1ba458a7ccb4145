/* detour: the certificate facts of an https hop (detour/certinfo.h). */
#include <string.h>

#include "detour/certinfo.h"

#include "base/ascii.h"
#include "base/civil.h"

/* Copies v[0..n) into out (cap bytes), cut and NUL-terminated. */
static void copy_field(char *out, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

bool detour_cert_take_line(struct detour_cert *c, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	if (!colon)
		return false;
	size_t kl = (size_t)(colon - line);
	const char *v = colon + 1;
	size_t vl = n - kl - 1;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (ascii_eq_ci(line, kl, "Subject")) {
		copy_field(c->subject, sizeof(c->subject), v, vl);
	} else if (ascii_eq_ci(line, kl, "Issuer")) {
		copy_field(c->issuer, sizeof(c->issuer), v, vl);
	} else if (ascii_eq_ci(line, kl, "X509v3 Subject Alternative Name")) {
		copy_field(c->alt_names, sizeof(c->alt_names), v, vl);
	} else if (ascii_eq_ci(line, kl, "Expire date")) {
		/* Parsed as kept, so that the text shown and the time agree. */
		copy_field(c->expire, sizeof(c->expire), v, vl);
		c->has_expiry =
		        detour_cert_parse_time(c->expire, strlen(c->expire), &c->not_after) == 0;
	} else {
		return false;
	}
	return true;
}

/* A cursor over the text being parsed. */
struct cur {
	const char *p, *end;
};

static void spaces(struct cur *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* Exactly w digits (w > 0) into *v; false if not there. */
static bool digits(struct cur *c, int w, unsigned *v)
{
	unsigned x = 0;
	if (c->end - c->p < w)
		return false;
	for (int i = 0; i < w; i++) {
		if (!ascii_is_digit((unsigned char)c->p[i]))
			return false;
		x = x * 10 + (unsigned)(c->p[i] - '0');
	}
	c->p += w;
	*v = x;
	return true;
}

/* One or two digits (a space-padded or bare day of the month). */
static bool day_digits(struct cur *c, unsigned *v)
{
	if (digits(c, 2, v))
		return true;
	return digits(c, 1, v);
}

static bool lit(struct cur *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* hh:mm:ss[.fraction] (the fraction ignored). */
static bool clock_time(struct cur *c, unsigned *h, unsigned *mi, unsigned *s)
{
	if (!digits(c, 2, h) || !lit(c, ':') || !digits(c, 2, mi) || !lit(c, ':') ||
	    !digits(c, 2, s))
		return false;
	if (lit(c, '.')) {
		if (c->p >= c->end || !ascii_is_digit((unsigned char)*c->p))
			return false;
		while (c->p < c->end && ascii_is_digit((unsigned char)*c->p))
			c->p++;
	}
	return *h <= 23 && *mi <= 59 && *s <= 60;
}

/* The zone after the time: "GMT", "Z", "UTC", or "UTC+hhmm"/"UTC-hhmm" (curl's
 * decoder for a GeneralizedTime with an offset), or nothing. *off gets the
 * offset east of UTC in seconds. */
static bool zone(struct cur *c, int64_t *off)
{
	*off = 0;
	spaces(c);
	size_t n = (size_t)(c->end - c->p);
	if (n == 0)
		return true;
	if (ascii_eq_ci(c->p, n, "GMT") || ascii_eq_ci(c->p, n, "Z") ||
	    ascii_eq_ci(c->p, n, "UTC")) {
		c->p = c->end;
		return true;
	}
	if (n == 8 && ascii_prefix_ci(c->p, n, "UTC") && (c->p[3] == '+' || c->p[3] == '-')) {
		struct cur d = {c->p + 4, c->end};
		unsigned h, m;
		if (!digits(&d, 2, &h) || !digits(&d, 2, &m) || h > 23 || m > 59)
			return false;
		*off = (int64_t)(h * 3600 + m * 60) * (c->p[3] == '-' ? -1 : 1);
		c->p = c->end;
		return true;
	}
	return false;
}

static int finish(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
                  int64_t off, int64_t *out)
{
	if (mo < 1 || mo > 12 || d < 1 || d > civil_month_days(y, mo))
		return -1;
	*out = civil_days_from(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	return 0;
}

int detour_cert_parse_time(const char *s, size_t n, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct cur c = {s, s + n};
	unsigned y, mo = 0, d, h, mi, sec;
	int64_t off;

	spaces(&c);
	if (c.p < c.end && ascii_is_digit((unsigned char)*c.p)) {
		/* "2026-12-05 07:10:35 GMT" */
		if (!digits(&c, 4, &y) || !lit(&c, '-') || !digits(&c, 2, &mo) || !lit(&c, '-') ||
		    !digits(&c, 2, &d))
			return -1;
		if (!lit(&c, ' ') && !lit(&c, 'T'))
			return -1;
		if (!clock_time(&c, &h, &mi, &sec) || !zone(&c, &off))
			return -1;
		return finish(y, mo, d, h, mi, sec, off, out);
	}
	/* "Dec  5 07:10:35 2026 GMT" */
	if (c.end - c.p < 3)
		return -1;
	for (unsigned k = 0; k < 12; k++)
		if (ascii_eq_ci_n(c.p, 3, months + 3 * k, 3))
			mo = k + 1;
	if (!mo)
		return -1;
	c.p += 3;
	if (!lit(&c, ' '))
		return -1;
	spaces(&c);
	if (!day_digits(&c, &d) || !lit(&c, ' '))
		return -1;
	if (!clock_time(&c, &h, &mi, &sec) || !lit(&c, ' '))
		return -1;
	spaces(&c);
	if (!digits(&c, 4, &y) || !zone(&c, &off))
		return -1;
	return finish(y, mo, d, h, mi, sec, off, out);
}

int64_t detour_cert_days_left(int64_t not_after, int64_t now)
{
	return civil_floor_div(not_after - now, 86400);
}

enum detour_cert_expiry detour_cert_expiry(int64_t not_after, int64_t now)
{
	/* RFC 5280 §4.1.2.5: notAfter is the last second of validity. */
	if (not_after < now)
		return DETOUR_CERT_EXPIRED;
	if (not_after - now < (int64_t)DETOUR_CERT_SOON_DAYS * 86400)
		return DETOUR_CERT_SOON;
	return DETOUR_CERT_OK;
}
