/* Unit tests for lib/base/cidr.c: parsing (the host bits policy, bad
 * input), matching IPv4, IPv6 and IPv4-mapped peers, and the text form. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"

#include "base/cidr.h"

static void test_match(void **state)
{
	static const struct {
		const char *cidr, *peer;
		bool in;
	} cases[] = {
	        {"10.0.0.0/8", "10.255.1.2", true},
	        {"10.0.0.0/8", "11.0.0.0", false},
	        {"10.0.0.0/8", "::ffff:10.1.2.3", true}, /* IPv4-mapped */
	        {"10.0.0.0/8", "::a01:203", false},      /* IPv4-compatible is not mapped */
	        {"192.0.2.7", "192.0.2.7", true},
	        {"192.0.2.7", "192.0.2.6", false},
	        {"192.0.2.0/25", "192.0.2.127", true},
	        {"192.0.2.0/25", "192.0.2.128", false},
	        {"0.0.0.0/0", "203.0.113.9", true},
	        {"0.0.0.0/0", "::ffff:203.0.113.9", true},
	        {"0.0.0.0/0", "2001:db8::1", false},
	        {"2001:db8::/32", "2001:db8:ffff::1", true},
	        {"2001:db8::/32", "2001:db9::1", false},
	        {"2001:db8::/33", "2001:db8:8000::", false},
	        {"2001:db8::/33", "2001:db8:7fff::", true},
	        {"::1", "::1", true},
	        {"::1", "127.0.0.1", false},
	        {"::/0", "::ffff:1.2.3.4", true},
	        {"::/0", "1.2.3.4", false}, /* an IPv6 range: IPv6 peers only */
	        {"::/0", "2001:db8::1", true},
	        {"::ffff:0:0/96", "198.51.100.1", false},
	        {"::ffff:0:0/96", "::ffff:198.51.100.1", true},
	        {"::ffff:10.0.0.0/104", "10.1.1.1", false},
	        {"0.0.0.0/0", "::a00:1", false}, /* IPv4-compatible */
	        {"fe80::8000:0:0:0/65", "fe80::c000:0:0:1", true},
	        {"fe80::8000:0:0:0/65", "fe80::", false},
	        {"1.2.3.4/31", "1.2.3.5", true},
	        {"1.2.3.4/31", "1.2.3.6", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		struct sockaddr_storage ss = unit_addr(cases[i].peer);
		assert_int_equal(cidr_parse(cases[i].cidr, strlen(cases[i].cidr), &c), CIDR_OK);
		if (cidr_match(&c, (struct sockaddr *)&ss) != cases[i].in)
			fail_msg("%s in %s: expected %d", cases[i].peer, cases[i].cidr,
			         cases[i].in);
	}
	struct cidr c;
	assert_int_equal(cidr_parse("10.0.0.0/8", 10, &c), CIDR_OK);
	assert_false(cidr_match(&c, NULL));
	struct sockaddr_storage un = {.ss_family = AF_UNIX};
	assert_false(cidr_match(&c, (struct sockaddr *)&un));
	uint8_t a[16];
	assert_false(cidr_addr_of((struct sockaddr *)&un, a));
	struct sockaddr_storage v4 = unit_addr("10.1.2.3");
	assert_true(cidr_addr_of((struct sockaddr *)&v4, a));
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
	assert_memory_equal(a, mapped, 16);
}

static void test_parse(void **state)
{
	struct cidr c;

	assert_int_equal(cidr_parse("10.0.0.0/8", 10, &c), CIDR_OK);
	assert_int_equal(c.family, 4);
	assert_int_equal(c.prefix, 8);
	assert_int_equal(cidr_parse("2001:db8::/32", 13, &c), CIDR_OK);
	assert_int_equal(c.family, 6);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse("192.0.2.1", 9, &c), CIDR_OK);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse("::1", 3, &c), CIDR_OK);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("10.0.0.0/8junk", 10, &c), CIDR_OK); /* the length counts */

	/* host bits: refused, with their own code */
	static const char *const hostbits[] = {"10.0.0.1/8", "192.0.2.1/24", "2001:db8::1/32",
	                                       "1.2.3.5/31", "::1/127",      "128.0.0.0/0"};
	for (size_t i = 0; i < sizeof(hostbits) / sizeof(hostbits[0]); i++)
		if (cidr_parse(hostbits[i], strlen(hostbits[i]), &c) != CIDR_EHOSTBITS)
			fail_msg("\"%s\" not refused for its host bits", hostbits[i]);

	static const char *const bad[] = {"",
	                                  "/8",
	                                  "10.0.0.0/",
	                                  "10.0.0.0/33",
	                                  "10.0.0/8",
	                                  "1.2.3.4/8a",
	                                  "::1/1280",
	                                  "::1/129",
	                                  "host/8",
	                                  "10.0.0.0/-1",
	                                  "1.2.3.4 ",
	                                  " 1.2.3.4",
	                                  "10.0.0.0//8",
	                                  "fe80::1%eth0",
	                                  "1.2.3.4/0008",
	                                  "[::1]",
	                                  "::ffff:1.2.3.4.5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i], strlen(bad[i]), &c) != CIDR_EINVAL)
			fail_msg("\"%s\" not refused as malformed", bad[i]);
	char long_addr[80];
	memset(long_addr, '1', sizeof(long_addr));
	assert_int_equal(cidr_parse(long_addr, sizeof(long_addr), &c), CIDR_EINVAL);
}

static void test_format(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"10.0.0.0/8", "10.0.0.0/8"},       {"192.0.2.7", "192.0.2.7/32"},
	        {"2001:db8::/32", "2001:db8::/32"}, {"::1", "::1/128"},
	        {"0.0.0.0/0", "0.0.0.0/0"},         {"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		char b[CIDR_TEXT_MAX];
		assert_int_equal(cidr_parse(cases[i].in, strlen(cases[i].in), &c), CIDR_OK);
		cidr_format(&c, b);
		assert_string_equal(b, cases[i].out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_match),
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
