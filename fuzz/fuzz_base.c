/* libFuzzer target for the parsers of lib/base/ (RFC 3339, CIDR, durations,
 * sizes, Retry-After). Asserts invariants, not only "no crash":
 *  - civil_parse_rfc3339: an accepted time lies in 1970..9999 (its offset may
 *    move it by a day either side), formats back as RFC 3339 UTC, and that
 *    text parses again to the same instant; the _utc variant accepts a
 *    subset, with the same value; a bare date is 00:00 UTC;
 *  - civil_from_days / civil_days_from: inverse of each other;
 *  - cidr_parse: prefix within its family, no bit past the prefix, and
 *    cidr_format's text parses back to the same range;
 *  - value_duration / value_size: -1 or not negative; value_retry_after
 *    takes 1 to 10 digits as delay-seconds, and no more;
 *  - esc_term: the output has no C0/DEL byte, no C1 control and is valid
 *    UTF-8; esc_json_str: the same, and no raw '"' (every one escaped);
 *    esc_json_text leaves nothing a terminal would execute. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cidr.h"
#include "base/civil.h"
#include "base/esc.h"
#include "base/value.h"

static void check_time(const char *d, size_t n)
{
	int64_t t, u, again;
	char text[CIVIL_RFC3339_MAX];

	if (civil_parse_rfc3339(d, n, &t) == 0) {
		CHECK(t >= -86400 && t < INT64_C(253402300800) + 86400);
		civil_format_rfc3339(t, text);
		if (t >= 0 && t < INT64_C(253402300800)) {
			CHECK(civil_parse_rfc3339(text, strlen(text), &again) == 0);
			CHECK(again == t);
		}
		if (civil_parse_rfc3339_utc(d, n, &u) == 0)
			CHECK(u == t);
	} else {
		CHECK(civil_parse_rfc3339_utc(d, n, &u) != 0);
	}
	if (civil_parse_date(d, n, &t) == 0) {
		CHECK(t >= 0 && t % 86400 == 0);
		int64_t y;
		unsigned m, day;
		civil_from_days(t / 86400, &y, &m, &day);
		CHECK(y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && day >= 1);
		CHECK(day <= civil_month_days(y, m));
		CHECK(civil_days_from(y, m, day) == t / 86400);
	}
}

static void check_days(const char *d, size_t n)
{
	int64_t z = 0, y, back;
	unsigned m, day;

	memcpy(&z, d, n < sizeof(z) ? n : sizeof(z));
	z %= INT64_C(100000000); /* about 270,000 years either side */
	civil_from_days(z, &y, &m, &day);
	CHECK(m >= 1 && m <= 12 && day >= 1 && day <= civil_month_days(y, m));
	back = civil_days_from(y, m, day);
	CHECK(back == z);
	CHECK(civil_weekday(z) < 7);
}

static void check_cidr(const char *d, size_t n)
{
	struct cidr c, again;
	char text[CIDR_TEXT_MAX];

	if (cidr_parse(d, n, &c) != CIDR_OK)
		return;
	CHECK(c.family == 4 || c.family == 6);
	CHECK(c.prefix <= (c.family == 4 ? 32 : 128));
	unsigned bits = c.family == 4 ? 96u + c.prefix : c.prefix;
	for (unsigned i = bits; i < 128; i++)
		CHECK(!(c.addr[i / 8] & (0x80u >> (i % 8))));
	cidr_format(&c, text);
	CHECK(cidr_parse(text, strlen(text), &again) == CIDR_OK);
	CHECK(again.family == c.family && again.prefix == c.prefix);
	CHECK(memcmp(again.addr, c.addr, sizeof(c.addr)) == 0);
}

static void check_values(const char *d, size_t n)
{
	int64_t v = value_duration(d, n);
	CHECK(v == -1 || v >= 0);
	v = value_size(d, n);
	CHECK(v == -1 || v >= 0);
	bool digits = n > 0;
	for (size_t i = 0; i < n; i++)
		digits = digits && d[i] >= '0' && d[i] <= '9';
	CHECK(value_retry_after(d, n) == (digits && n <= 10) || !digits);
}

/* Whether s[0..n) is valid UTF-8 with no C0, DEL or C1 control. */
static bool terminal_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F)
			return false;
		size_t k = utf8_seq_len(s + i, n - i);
		if (k == 0 || (k == 2 && c == 0xC2 && (unsigned char)s[i + 1] < 0xA0))
			return false;
		i += k;
	}
	return true;
}

static void check_esc(const char *d, size_t n)
{
	struct bbuf b;

	bbuf_init(&b, 8 * n + 16);
	esc_term(&b, d, n);
	CHECK(bbuf_ok(&b) && b.len <= 4 * n && terminal_safe(b.p, b.len));
	bbuf_reset(&b);
	esc_json_str(&b, d, n);
	CHECK(bbuf_ok(&b) && b.len <= 6 * n && terminal_safe(b.p, b.len));
	for (size_t i = 0; i < b.len; i++) {
		CHECK(b.p[i] != '"'); /* a quote only escaped */
		if (b.p[i] == '\\') {
			CHECK(i + 1 < b.len); /* never a lone '\' */
			i++;
		}
	}
	bbuf_reset(&b);
	/* esc_json_text on any bytes: what it leaves raw is no DEL or C1 */
	esc_json_text(&b, d, n);
	CHECK(bbuf_ok(&b));
	for (size_t i = 0; i < b.len; i++)
		CHECK((unsigned char)b.p[i] != 0x7F &&
		      !((unsigned char)b.p[i] == 0xC2 && i + 1 < b.len &&
		        (unsigned char)b.p[i + 1] >= 0x80 && (unsigned char)b.p[i + 1] < 0xA0));
	bbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy with nothing after it: an over-read is ASan's to find. */
	char *d = malloc(size ? size : 1);
	if (d == NULL)
		return 0;
	memcpy(d, data, size);
	check_time(d, size);
	check_days(d, size);
	check_cidr(d, size);
	check_values(d, size);
	check_esc(d, size);
	free(d);
	return 0;
}
