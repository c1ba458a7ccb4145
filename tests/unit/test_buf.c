/* Unit tests for lib/base/buf.c: the fixed mode (exact bytes, sticky
 * overflow at the exact boundary), the growing mode (growth, the hard cap,
 * take and reset), putf in both modes, put_uint and put_pct. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "base/buf.h"

static void test_fixed(void **state)
{
	char mem[8];
	struct bbuf b;

	bbuf_fixed(&b, mem, sizeof(mem));
	bbuf_put(&b, "abc", 3);
	bbuf_putc(&b, '-');
	BBUF_LIT(&b, "de");
	bbuf_put(&b, "", 0);
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 6);
	assert_memory_equal(mem, "abc-de", 6);
	bbuf_puts(&b, "fg"); /* exactly full */
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 8);
	bbuf_putc(&b, 'x'); /* one past */
	assert_false(bbuf_ok(&b));
	assert_int_equal(b.len, 8);
	bbuf_reset(&b);
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
	bbuf_put(&b, "123456789", 9); /* too long: nothing written */
	assert_false(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
	bbuf_put(&b, "1", 1); /* sticky: fits, but the buffer failed */
	assert_false(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
	bbuf_free(&b); /* fixed mode: a reset */
	assert_true(bbuf_ok(&b));
}

static void test_numbers(void **state)
{
	char mem[64];
	struct bbuf b;

	bbuf_fixed(&b, mem, sizeof(mem));
	bbuf_put_uint(&b, 0);
	bbuf_putc(&b, ' ');
	bbuf_put_uint(&b, 1234567890);
	bbuf_putc(&b, ' ');
	bbuf_put_uint(&b, UINT64_MAX);
	bbuf_putc(&b, ' ');
	bbuf_put_pct(&b, ' ');
	bbuf_put_pct(&b, 0xff);
	bbuf_put_pct(&b, 0x0a);
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, strlen("0 1234567890 18446744073709551615 %20%FF%0A"));
	assert_memory_equal(mem, "0 1234567890 18446744073709551615 %20%FF%0A", b.len);
	/* put_uint needs all its digits or writes none */
	bbuf_fixed(&b, mem, 3);
	bbuf_put_uint(&b, 1000);
	assert_false(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
}

static void test_putf_fixed(void **state)
{
	char mem[6];
	struct bbuf b;

	bbuf_fixed(&b, mem, sizeof(mem));
	bbuf_putf(&b, "%d-%s", 12, "ab");
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 5);
	assert_memory_equal(mem, "12-ab", 5);
	bbuf_putf(&b, "%c", 'z'); /* exactly fills: no room for a NUL, still fits */
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 6);
	assert_memory_equal(mem, "12-abz", 6);
	bbuf_reset(&b);
	bbuf_putf(&b, "%s", "1234567"); /* does not fit */
	assert_false(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
	bbuf_reset(&b);
	bbuf_putf(&b, "%s", ""); /* empty */
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
}

static void test_growing(void **state)
{
	struct bbuf b;
	size_t n = 0;

	bbuf_init(&b, 100000);
	assert_string_equal(bbuf_cstr(&b), "");
	bbuf_put(&b, "", 0); /* a write of nothing on the empty buffer */
	for (int i = 0; i < 10000; i++)
		bbuf_putc(&b, (char)('a' + i % 26));
	bbuf_putf(&b, "[%05d]", 42);
	bbuf_puts(&b, "end");
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 10000 + 7 + 3);
	assert_string_equal(bbuf_cstr(&b) + 10000, "[00042]end");
	char *s = bbuf_take(&b, &n);
	assert_non_null(s);
	assert_int_equal(n, 10010);
	assert_int_equal(strlen(s), 10010);
	assert_memory_equal(s, "abcdefghij", 10);
	assert_string_equal(s + 10000, "[00042]end");
	free(s);
	/* after take: empty, same cap */
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 100000);
	s = bbuf_take(&b, &n); /* empty: "" */
	assert_non_null(s);
	assert_int_equal(n, 0);
	assert_string_equal(s, "");
	free(s);
	/* a long putf that needs growth */
	char big[5000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	bbuf_putf(&b, "<%s>", big);
	assert_true(bbuf_ok(&b));
	assert_int_equal(b.len, 5001);
	assert_int_equal(bbuf_cstr(&b)[5000], '>');
	bbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(bbuf_cstr(&b), "");
	bbuf_free(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_growing_cap(void **state)
{
	struct bbuf b;

	bbuf_init(&b, 10);
	bbuf_put(&b, "0123456789", 10); /* exactly the cap */
	assert_true(bbuf_ok(&b));
	assert_string_equal(bbuf_cstr(&b), "0123456789");
	bbuf_putc(&b, 'x'); /* past the cap: fails, memory freed */
	assert_false(bbuf_ok(&b));
	assert_int_equal(b.len, 0);
	assert_string_equal(bbuf_cstr(&b), "");
	bbuf_putc(&b, 'y'); /* sticky */
	assert_false(bbuf_ok(&b));
	assert_null(bbuf_take(&b, NULL)); /* failed: NULL, and the failure cleared */
	assert_true(bbuf_ok(&b));
	bbuf_putf(&b, "%s", "12345678901");
	assert_false(bbuf_ok(&b));
	bbuf_reset(&b);
	bbuf_putf(&b, "%s", "1234567890");
	assert_true(bbuf_ok(&b));
	char *s = bbuf_take(&b, NULL);
	assert_string_equal(s, "1234567890");
	free(s);
	bbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fixed),       cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_putf_fixed),  cmocka_unit_test(test_growing),
	        cmocka_unit_test(test_growing_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
