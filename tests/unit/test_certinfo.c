/* Unit tests for lib/certinfo.c: libcurl's CURLINFO_CERTINFO lines, the
 * "Expire date" formats of its TLS backends, days left and the 14-day rule. */
#include <stdio.h>

#include "unit.h"

#include "detour/certinfo.h"

/* 2026-12-05T07:10:35Z */
#define T0 1796454635LL

struct tcase {
	const char *s;
	int rc;
	int64_t t;
};

static void test_parse_time(void **state)
{
	(void)state;
	static const struct tcase cases[] = {
	        /* OpenSSL's ASN1_TIME_print */
	        {"Dec  5 07:10:35 2026 GMT", 0, T0},
	        {"Dec 5 07:10:35 2026 GMT", 0, T0},
	        {"dec 05 07:10:35 2026 GMT", 0, T0},
	        {"Dec  5 07:10:35.250 2026 GMT", 0, T0},
	        {"Dec  5 07:10:35 2026", 0, T0},
	        {"Jan  1 00:00:00 1970 GMT", 0, 0},
	        {"Feb 29 12:00:00 2028 GMT", 0, 1835438400LL},
	        {"Dec 31 23:59:59 9999 GMT", 0, 253402300799LL},
	        /* curl's own X.509 decoder (GnuTLS, Schannel, ...) */
	        {"2026-12-05 07:10:35 GMT", 0, T0},
	        {"2026-12-05 07:10:35.5 GMT", 0, T0},
	        {"2026-12-05 09:10:35 UTC+0200", 0, T0},
	        {"2026-12-05 06:10:35 UTC-0100", 0, T0},
	        {"2026-12-05T07:10:35Z", 0, T0},
	        /* refused */
	        {"", -1, 0},
	        {"Dex  5 07:10:35 2026 GMT", -1, 0},
	        {"Feb 29 12:00:00 2027 GMT", -1, 0},
	        {"Dec 32 07:10:35 2026 GMT", -1, 0},
	        {"Dec  5 24:10:35 2026 GMT", -1, 0},
	        {"Dec  5 07:10 2026 GMT", -1, 0},
	        {"Dec  5 07:10:35. 2026 GMT", -1, 0},
	        {"Dec  5 07:10:35 26 GMT", -1, 0},
	        {"Dec  5 07:10:35 2026 CET", -1, 0},
	        {"Dec  5 07:10:35 2026 GMT x", -1, 0},
	        {"2026-13-05 07:10:35 GMT", -1, 0},
	        {"2026-12-05", -1, 0},
	        {"2026-12-05 07:10:35 UTC+2", -1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guard g;
		const char *s = guard_copy(&g, cases[i].s, strlen(cases[i].s));
		int64_t t = -7;
		int rc = detour_cert_parse_time(s, strlen(cases[i].s), &t);
		if (rc != cases[i].rc || (rc == 0 && t != cases[i].t))
			fail_msg("%s: rc %d t %lld", cases[i].s, rc, (long long)t);
		guard_free(&g);
	}
}

static void take(struct detour_cert *c, const char *line)
{
	detour_cert_take_line(c, line, strlen(line));
}

static void test_take_lines(void **state)
{
	(void)state;
	struct detour_cert c;
	memset(&c, 0, sizeof(c));
	take(&c, "Subject:CN = sts.test");
	take(&c, "Issuer:CN = detour test CA");
	take(&c, "Serial Number:45b6f729");
	take(&c, "X509v3 Subject Alternative Name:DNS:sts.test, IP Address:127.0.0.1");
	assert_string_equal(c.alt_names, "DNS:sts.test, IP Address:127.0.0.1");
	take(&c, "Start date:Dec  3 07:10:35 2026 GMT");
	assert_false(c.has_expiry);
	take(&c, "Expire date:Dec  5 07:10:35 2026 GMT");
	assert_string_equal(c.subject, "CN = sts.test");
	assert_string_equal(c.issuer, "CN = detour test CA");
	assert_string_equal(c.expire, "Dec  5 07:10:35 2026 GMT");
	assert_true(c.has_expiry);
	assert_int_equal(c.not_after, T0);
	assert_false(detour_cert_take_line(&c, "no colon", 8));
	assert_false(detour_cert_take_line(&c, "Version:2", 9));
	assert_true(detour_cert_take_line(&c, "subject:O = x\r\n", 15));
	assert_string_equal(c.subject, "O = x");
	/* an unparsable date is kept as text, without an expiry */
	take(&c, "Expire date:soon");
	assert_string_equal(c.expire, "soon");
	assert_false(c.has_expiry);
	/* a long value is cut to the field */
	char big[1200];
	memcpy(big, "Issuer:", 7);
	memset(big + 7, 'a', sizeof(big) - 7);
	assert_true(detour_cert_take_line(&c, big, sizeof(big)));
	assert_int_equal(strlen(c.issuer), sizeof(c.issuer) - 1);
}

static void test_days_and_rule(void **state)
{
	(void)state;
	assert_int_equal(detour_cert_days_left(T0, T0 - 30 * 86400), 30);
	assert_int_equal(detour_cert_days_left(T0, T0 - 30 * 86400 + 1), 29);
	assert_int_equal(detour_cert_days_left(T0, T0), 0);
	assert_int_equal(detour_cert_days_left(T0, T0 + 1), -1);
	assert_int_equal(detour_cert_days_left(T0, T0 + 86400), -1);
	assert_int_equal(detour_cert_days_left(T0, T0 + 86401), -2);

	assert_int_equal(detour_cert_expiry(T0, T0 - 14 * 86400), DETOUR_CERT_OK);
	assert_int_equal(detour_cert_expiry(T0, T0 - 14 * 86400 + 1), DETOUR_CERT_SOON);
	assert_int_equal(detour_cert_expiry(T0, T0 - 5 * 86400), DETOUR_CERT_SOON);
	assert_int_equal(detour_cert_expiry(T0, T0), DETOUR_CERT_SOON);
	assert_int_equal(detour_cert_expiry(T0, T0 + 1), DETOUR_CERT_EXPIRED);
	assert_int_equal(detour_cert_expiry(T0, T0 - 365 * 86400), DETOUR_CERT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_time),
	        cmocka_unit_test(test_take_lines),
	        cmocka_unit_test(test_days_and_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
