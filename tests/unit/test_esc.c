/* Unit tests for lib/base/esc.c: UTF-8 sequence lengths, the terminal
 * escape (C0, DEL, C1, invalid UTF-8, backslash; printable ASCII and valid
 * UTF-8 kept) and the JSON text pass (raw DEL and C1 become \u escapes). */
#include <stdlib.h>

#include "unit.h"

#include "base/esc.h"

static void test_utf8_len(void **state)
{
	assert_int_equal(utf8_seq_len("a", 1), 1);
	assert_int_equal(utf8_seq_len("", 0), 0);
	assert_int_equal(utf8_seq_len("\xc3\xa9", 2), 2);         /* é */
	assert_int_equal(utf8_seq_len("\xc3", 1), 0);             /* cut */
	assert_int_equal(utf8_seq_len("\xc0\xaf", 2), 0);         /* overlong */
	assert_int_equal(utf8_seq_len("\xe0\x80\xaf", 3), 0);     /* overlong */
	assert_int_equal(utf8_seq_len("\xed\xa0\x80", 3), 0);     /* surrogate */
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 3), 3);     /* € */
	assert_int_equal(utf8_seq_len("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
	assert_int_equal(utf8_seq_len("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
	assert_int_equal(utf8_seq_len("\x80", 1), 0);             /* continuation */
	assert_int_equal(utf8_seq_len("\xff", 1), 0);
	assert_int_equal(utf8_seq_len("\xc3\x28", 2), 0);
}

static void expect_term(const char *in, size_t n, const char *want)
{
	struct bbuf b;
	bbuf_init(&b, 1 << 16);
	esc_term(&b, in, n);
	assert_true(bbuf_ok(&b));
	assert_string_equal(bbuf_cstr(&b), want);
	bbuf_free(&b);
}

#define TERM(in, want) expect_term(in, sizeof(in) - 1, want)

static void test_term(void **state)
{
	TERM("", "");
	TERM("https://example.com/a?b=c#d", "https://example.com/a?b=c#d");
	TERM("Moved \x1b[2J\x1b[H", "Moved \\x1b[2J\\x1b[H");
	/* OSC 52 (clipboard), ended by BEL and by ST (ESC \) */
	TERM("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07");
	TERM("\x1b]52;c;ZXZpbA==\x1b\\", "\\x1b]52;c;ZXZpbA==\\x1b\\\\");
	TERM("a\r\nb\tc", "a\\x0d\\x0ab\\x09c");
	TERM("x\0y", "x\\x00y");
	TERM("\x7f", "\\x7f");
	TERM("a\\b", "a\\\\b");
	/* valid UTF-8 kept; C1 controls (8-bit CSI U+009B) escaped */
	TERM("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	TERM("\xc2\x9b"
	     "31m",
	     "\\xc2\\x9b31m");
	TERM("\xc2\x80\xc2\x9f\xc2\xa0", "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
	/* invalid UTF-8, byte by byte: a raw 8-bit CSI, Latin-1, overlong,
	 * a cut sequence at the end */
	TERM("\x9b"
	     "2J",
	     "\\x9b2J");
	TERM("caf\xe9!", "caf\\xe9!");
	TERM("\xc0\xaf", "\\xc0\\xaf");
	TERM("ok\xe2\x82", "ok\\xe2\\x82");
	TERM("\xed\xa0\x80", "\\xed\\xa0\\x80");
}

static void test_term_fixed_overflow(void **state)
{
	char mem[5];
	struct bbuf b;
	bbuf_fixed(&b, mem, sizeof(mem));
	esc_term(&b, "a\x1b", 2);
	assert_true(bbuf_ok(&b));
	assert_memory_equal(mem, "a\\x1b", 5);
	esc_term(&b, "b", 1);
	assert_false(bbuf_ok(&b));
}

static void expect_json(const char *in, size_t n, const char *want)
{
	struct bbuf b;
	bbuf_init(&b, 1 << 16);
	esc_json_text(&b, in, n);
	assert_true(bbuf_ok(&b));
	assert_string_equal(bbuf_cstr(&b), want);
	bbuf_free(&b);
}

#define JSON(in, want) expect_json(in, sizeof(in) - 1, want)

static void test_json_text(void **state)
{
	JSON("", "");
	JSON("{\"a\":\"b\"}", "{\"a\":\"b\"}");
	JSON("{\"a\":\"\x7f\"}", "{\"a\":\"\\u007f\"}");
	JSON("[\"\xc2\x9b"
	     "2J\",\"\xc2\xa0\xc3\xa9\"]",
	     "[\"\\u009b2J\",\"\xc2\xa0\xc3\xa9\"]");
	JSON("\"\xc2\x80\xc2\x9f\x7f\"", "\"\\u0080\\u009f\\u007f\"");
}

static void expect_jstr(const char *in, size_t n, const char *want)
{
	struct bbuf b;
	bbuf_init(&b, 1 << 16);
	esc_json_str(&b, in, n);
	assert_true(bbuf_ok(&b));
	assert_string_equal(bbuf_cstr(&b), want);
	bbuf_free(&b);
}

#define JSTR(in, want) expect_jstr(in, sizeof(in) - 1, want)

static void test_json_str(void **state)
{
	JSTR("", "");
	JSTR("/a?b=c&d", "/a?b=c&d");
	JSTR("say \"hi\" \\ bye", "say \\\"hi\\\" \\\\ bye");
	JSTR("a\nb\rc\td\be\ff", "a\\nb\\rc\\td\\be\\ff");
	JSTR("\x1b[2J\x00\x7f", "\\u001b[2J\\u0000\\u007f");
	JSTR("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	JSTR("\xc2\x9b"
	     "2J\xc2\xa0",
	     "\\u009b2J\xc2\xa0");
	/* invalid UTF-8: each byte as its Latin-1 character */
	JSTR("caf\xe9", "caf\\u00e9");
	JSTR("\xff\xfe", "\\u00ff\\u00fe");
	JSTR("ok\xe2\x82", "ok\\u00e2\\u0082");
	/* fixed mode, no room: sticky failure, nothing allocated */
	char mem[4];
	struct bbuf b;
	bbuf_fixed(&b, mem, sizeof(mem));
	esc_json_str(&b, "\x01", 1);
	assert_false(bbuf_ok(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_utf8_len),
	        cmocka_unit_test(test_term),
	        cmocka_unit_test(test_term_fixed_overflow),
	        cmocka_unit_test(test_json_text),
	        cmocka_unit_test(test_json_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
