/* Unit tests for lib/forwarded.c: X-Forwarded-For walked from the right
 * past trusted proxies, X-Forwarded-Proto's right-most value, Forwarded
 * (RFC 7239) elements, quoted strings, IPv6 in brackets with ports,
 * obfuscated and unknown nodes, malformed elements, several field lines,
 * and Forwarded's precedence over X-Forwarded-*. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"

#include "base/cidr.h"
#include "detour/forwarded.h"
#include "detour/http1.h"

static struct cidr trusted[3];

static int setup(void **state)
{
	assert_int_equal(cidr_parse("127.0.0.0/8", 11, &trusted[0]), CIDR_OK);
	assert_int_equal(cidr_parse("10.0.0.0/8", 10, &trusted[1]), CIDR_OK);
	assert_int_equal(cidr_parse("2001:db8:1::/48", 15, &trusted[2]), CIDR_OK);
	return 0;
}

/* Resolves the header lines hdrs ("Name: value\r\n"...) and formats the
 * answer as "ADDR SCHEME FROM" ("-" for none). */
static void resolve(const char *hdrs, char *out, size_t cap)
{
	static struct detour_request req;
	char raw[2048];
	int status = 0;
	struct detour_fwd f;
	char a[INET6_ADDRSTRLEN] = "-";
	static const char *const schemes[] = {"-", "http", "https"};
	static const char *const froms[] = {"none", "forwarded", "x"};

	snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", hdrs);
	struct guard g;
	char *b = guard_copy(&g, raw, strlen(raw));
	assert_int_equal(detour_http1_parse(b, strlen(raw), NULL, &req, &status), DETOUR_OK);
	detour_fwd_resolve(&req, trusted, 3, &f);
	guard_free(&g);
	if (f.addr.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &f.addr.in.sin_addr, a, sizeof(a));
	else if (f.addr.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &f.addr.in6.sin6_addr, a, sizeof(a));
	else
		assert_int_equal(f.addr.sa.sa_family, AF_UNSPEC);
	snprintf(out, cap, "%s %s %s", a, schemes[f.scheme], froms[f.from]);
}

struct tcase {
	const char *hdrs, *want;
};

static void run(const struct tcase *c, size_t n)
{
	char got[128];
	for (size_t i = 0; i < n; i++) {
		resolve(c[i].hdrs, got, sizeof(got));
		if (strcmp(got, c[i].want))
			fail_msg("case %zu: %s: got \"%s\", want \"%s\"", i, c[i].hdrs, got,
			         c[i].want);
	}
}

static void test_xff(void **state)
{
	static const struct tcase cases[] = {
	        {"", "- - none"},
	        {"X-Forwarded-For: 203.0.113.7\r\n", "203.0.113.7 - x"},
	        {"X-Forwarded-For: 203.0.113.7, 10.0.0.2\r\n", "203.0.113.7 - x"},
	        /* whatever the client wrote on the left is not looked at */
	        {"X-Forwarded-For: 10.9.9.9, 203.0.113.7, 10.0.0.2\r\n", "203.0.113.7 - x"},
	        {"X-Forwarded-For: garbage, 203.0.113.7\r\n", "203.0.113.7 - x"},
	        /* every hop trusted: the left-most */
	        {"X-Forwarded-For: 10.0.0.1,10.0.0.2 , 127.0.0.1\r\n", "10.0.0.1 - x"},
	        /* a hop without an address ends the walk at the last trusted one */
	        {"X-Forwarded-For: 203.0.113.7, unknown, 10.0.0.2\r\n", "10.0.0.2 - x"},
	        {"X-Forwarded-For: unknown\r\n", "- - x"},
	        {"X-Forwarded-For: 1.2.3\r\n", "- - x"},
	        {"X-Forwarded-For: \r\n", "- - x"},
	        {"X-Forwarded-For: ,, 203.0.113.7,\r\n", "203.0.113.7 - x"},
	        /* ports, brackets, IPv6, mapped IPv4 */
	        {"X-Forwarded-For: 203.0.113.7:4711\r\n", "203.0.113.7 - x"},
	        {"X-Forwarded-For: [2001:db8::7]:4711, [2001:db8:1::9]\r\n", "2001:db8::7 - x"},
	        {"X-Forwarded-For: 2001:db8::7, 2001:db8:1::9\r\n", "2001:db8::7 - x"},
	        {"X-Forwarded-For: 203.0.113.7, ::ffff:10.1.1.1\r\n", "203.0.113.7 - x"},
	        {"X-Forwarded-For: [2001:db8::7\r\n", "- - x"},
	        {"X-Forwarded-For: 203.0.113.7:99999\r\n", "- - x"},
	        /* several lines are one list, in order */
	        {"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 10.0.0.2\r\n",
	         "203.0.113.7 - x"},
	        {"X-Forwarded-For: 198.51.100.1\r\nx-forwarded-for: 203.0.113.7, 10.0.0.2\r\n",
	         "203.0.113.7 - x"},
	        /* X-Forwarded-Proto: its right-most value */
	        {"X-Forwarded-Proto: https\r\n", "- https x"},
	        {"X-Forwarded-Proto: HTTPS\r\nX-Forwarded-For: 203.0.113.7\r\n",
	         "203.0.113.7 https x"},
	        {"X-Forwarded-Proto: https, http\r\n", "- http x"},
	        {"X-Forwarded-Proto: http\r\nX-Forwarded-Proto: https \r\n", "- https x"},
	        {"X-Forwarded-Proto: ftp\r\n", "- - x"},
	        {"X-Forwarded-Proto: \r\n", "- - x"},
	};
	run(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_forwarded(void **state)
{
	static const struct tcase cases[] = {
	        {"Forwarded: for=203.0.113.7\r\n", "203.0.113.7 - forwarded"},
	        {"Forwarded: for=203.0.113.7;proto=https\r\n", "203.0.113.7 https forwarded"},
	        {"Forwarded: For=\"203.0.113.7:4711\";Proto=HTTP;by=10.0.0.1\r\n",
	         "203.0.113.7 http forwarded"},
	        /* RFC 7239 §4's examples */
	        {"Forwarded: for=\"_gazonk\"\r\n", "- - forwarded"},
	        {"Forwarded: For=\"[2001:db8:cafe::17]:4711\"\r\n",
	         "2001:db8:cafe::17 - forwarded"},
	        {"Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43\r\n",
	         "192.0.2.60 http forwarded"},
	        {"Forwarded: for=192.0.2.43, for=198.51.100.17\r\n", "198.51.100.17 - forwarded"},
	        /* a chain: trusted hops skipped, the client's own proto */
	        {"Forwarded: for=203.0.113.7;proto=https, for=10.0.0.5;proto=http\r\n",
	         "203.0.113.7 https forwarded"},
	        {"Forwarded: for=10.0.0.9;proto=https, for=10.0.0.5;proto=http\r\n",
	         "10.0.0.9 https forwarded"},
	        {"Forwarded: for=\"[2001:db8::7]\";proto=https, for=\"[2001:db8:1::1]:80\"\r\n",
	         "2001:db8::7 https forwarded"},
	        /* obfuscated and unknown: no address, the last trusted stands */
	        {"Forwarded: for=_hidden;proto=https, for=10.0.0.5\r\n",
	         "10.0.0.5 https forwarded"},
	        {"Forwarded: for=_hidden;proto=https\r\n", "- https forwarded"},
	        {"Forwarded: for=unknown\r\n", "- - forwarded"},
	        {"Forwarded: for=\"203.0.113.7:_port\"\r\n", "203.0.113.7 - forwarded"},
	        {"Forwarded: proto=https\r\n", "- https forwarded"},
	        /* a quoted-pair */
	        {"Forwarded: for=\"203.0.113.\\7\"\r\n", "203.0.113.7 - forwarded"},
	        /* several lines, and empty elements */
	        {"Forwarded: for=198.51.100.1\r\nForwarded: for=203.0.113.7, for=10.0.0.2\r\n",
	         "203.0.113.7 - forwarded"},
	        {"Forwarded: for=203.0.113.7;proto=https\r\nForwarded: ,for=10.0.0.2, \r\n",
	         "203.0.113.7 https forwarded"},
	        {"Forwarded: ;;for=203.0.113.7;;\r\n", "203.0.113.7 - forwarded"},
	        /* a comma or semicolon inside a quoted string splits nothing */
	        {"Forwarded: for=203.0.113.7;ext=\"a, for=10.0.0.1;b\"\r\n",
	         "203.0.113.7 - forwarded"},
	        /* malformed right-most elements end the walk without an address */
	        {"Forwarded: for=[2001:db8::1]\r\n", "- - forwarded"}, /* brackets need quotes */
	        {"Forwarded: for=203.0.113.7;for=198.51.100.1\r\n", "- - forwarded"},
	        {"Forwarded: for=203.0.113.7;proto=https;proto=http\r\n", "- - forwarded"},
	        {"Forwarded: for=\"203.0.113.7\r\n", "- - forwarded"},
	        {"Forwarded: for=\"203.0.113.7\"x\r\n", "- - forwarded"},
	        {"Forwarded: for=\r\n", "- - forwarded"},
	        {"Forwarded: for\r\n", "- - forwarded"},
	        {"Forwarded: =x\r\n", "- - forwarded"},
	        {"Forwarded: f(r=x\r\n", "- - forwarded"},
	        {"Forwarded: for=\"1.2.3.4.5\"\r\n", "- - forwarded"},
	        {"Forwarded: for=\"[1.2.3.4]\"\r\n", "- - forwarded"},
	        {"Forwarded: for=\"[2001:db8::1]x\"\r\n", "- - forwarded"},
	        {"Forwarded: for=\"2001:db8::1\"\r\n", "2001:db8::1 - forwarded"}, /* lenient */
	        /* but malformed ones on the left, behind the client, do not matter */
	        {"Forwarded: for=\"\r\nForwarded: for=203.0.113.7\r\n", "203.0.113.7 - forwarded"},
	        {"Forwarded: garbage, for=203.0.113.7\r\n", "203.0.113.7 - forwarded"},
	        {"Forwarded: for=203.0.113.7, garbage, for=10.0.0.1\r\n", "10.0.0.1 - forwarded"},
	        /* Forwarded wins over X-Forwarded-*, even when it says nothing */
	        {"X-Forwarded-For: 198.51.100.9\r\nForwarded: for=203.0.113.7\r\n"
	         "X-Forwarded-Proto: https\r\n",
	         "203.0.113.7 - forwarded"},
	        {"X-Forwarded-For: 198.51.100.9\r\nForwarded: \r\n", "- - forwarded"},
	};
	run(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_many(void **state)
{
	/* More trusted hops in one line than are kept: the walk stops at the
	 * last trusted one it looked at, not at a client's spoof beyond. */
	char h[4096] = "Forwarded: for=198.51.100.1";
	for (int i = 0; i < 40; i++)
		strcat(h, ", for=10.0.0.1");
	strcat(h, "\r\n");
	char got[128];
	resolve(h, got, sizeof(got));
	assert_string_equal(got, "10.0.0.1 - forwarded");

	/* Forty trusted hops in X-Forwarded-For (no limit there). */
	strcpy(h, "X-Forwarded-For: 198.51.100.1");
	for (int i = 0; i < 40; i++)
		strcat(h, ", 10.0.0.1");
	strcat(h, "\r\n");
	resolve(h, got, sizeof(got));
	assert_string_equal(got, "198.51.100.1 - x");
}

static void test_trusted(void **state)
{
	struct sockaddr_storage a = unit_addr("10.1.2.3"), b = unit_addr("203.0.113.7"),
	                        c = unit_addr("::ffff:127.0.0.1"), d = unit_addr("2001:db8:1::5");
	assert_true(detour_fwd_trusted(trusted, 3, (struct sockaddr *)&a));
	assert_false(detour_fwd_trusted(trusted, 3, (struct sockaddr *)&b));
	assert_true(detour_fwd_trusted(trusted, 3, (struct sockaddr *)&c));
	assert_true(detour_fwd_trusted(trusted, 3, (struct sockaddr *)&d));
	assert_false(detour_fwd_trusted(trusted, 0, (struct sockaddr *)&a));
	assert_false(detour_fwd_trusted(trusted, 3, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_xff),
	        cmocka_unit_test(test_forwarded),
	        cmocka_unit_test(test_many),
	        cmocka_unit_test(test_trusted),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
