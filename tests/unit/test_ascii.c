/* Unit tests for lib/base/ascii.h: every byte value against its class
 * written out, eq_ci, lower and hexval. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "base/ascii.h"

static void test_classes(void **state)
{
	for (int c = 0; c < 256; c++) {
		bool digit = c >= '0' && c <= '9';
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool tchar = digit || alpha || (c && c < 128 && strchr("!#$%&'*+-.^_`|~", c));
		assert_int_equal(ascii_is_digit((unsigned char)c), digit);
		assert_int_equal(ascii_is_alpha((unsigned char)c), alpha);
		assert_int_equal(ascii_is_alnum((unsigned char)c), digit || alpha);
		if (ascii_is_tchar((unsigned char)c) != tchar)
			fail_msg("tchar 0x%02x", c);
		int hv = digit                    ? c - '0'
		         : (c >= 'a' && c <= 'f') ? c - 'a' + 10
		         : (c >= 'A' && c <= 'F') ? c - 'A' + 10
		                                  : -1;
		assert_int_equal(ascii_hexval((unsigned char)c), hv);
		char lo = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
		assert_int_equal(ascii_lower((char)c), lo);
	}
	/* separators of §5.6.2 are not tchar */
	for (const char *p = "\"(),/:;<=>?@[\\]{} \t"; *p; p++)
		assert_false(ascii_is_tchar((unsigned char)*p));
}

static void test_eq_ci(void **state)
{
	assert_true(ascii_eq_ci("Content-Type", 12, "content-type"));
	assert_true(ascii_eq_ci("HTTPS", 5, "https"));
	assert_false(ascii_eq_ci("https", 4, "https")); /* length counts */
	assert_false(ascii_eq_ci("https", 5, "http"));
	assert_true(ascii_eq_ci("", 0, ""));
	assert_false(ascii_eq_ci("\xc3\x89", 2, "\xc3\xa9")); /* ASCII only: no É/é */
	assert_false(ascii_eq_ci("[", 1, "{"));               /* '[' | 0x20 is '{' */
	assert_true(ascii_eq_ci_n("AbC", 3, "aBc", 3));
	assert_false(ascii_eq_ci_n("AbC", 3, "aBcd", 4));
	assert_false(ascii_eq_ci_n("@", 1, "`", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_classes),
	        cmocka_unit_test(test_eq_ci),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
