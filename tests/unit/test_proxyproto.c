/* Unit tests for lib/proxyproto.c: valid version 1 and 2 headers, invalid
 * ones (each refused at the byte that breaks it where the format allows),
 * every prefix of a valid header incomplete, TLVs, and no read past the end
 * (guard page). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"

#include "detour/proxyproto.h"

static detour_err parse(const void *s, size_t n, struct detour_proxy *p)
{
	struct guard g;
	char *b = guard_copy(&g, s, n);
	detour_err e = detour_proxy_parse(b, n, p);
	guard_free(&g);
	return e;
}

static void addr_text(const union detour_proxy_addr *a, char *out, size_t cap)
{
	char t[INET6_ADDRSTRLEN];
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, t, sizeof(t));
		snprintf(out, cap, "%s:%u", t, ntohs(a->in.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, t, sizeof(t));
		snprintf(out, cap, "[%s]:%u", t, ntohs(a->in6.sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

/* A valid header: OK with its length, and every prefix INCOMPLETE. */
static void valid(const void *s, size_t n, size_t hlen, const char *src, const char *dst)
{
	struct detour_proxy p;
	char a[80];

	for (size_t k = 0; k < hlen; k++)
		if (parse(s, k, &p) != DETOUR_INCOMPLETE)
			fail_msg("prefix %zu of %zu not incomplete", k, hlen);
	assert_int_equal(parse(s, n, &p), DETOUR_OK);
	assert_int_equal(p.len, hlen);
	if (src == NULL) {
		assert_false(p.has_addr);
		return;
	}
	assert_true(p.has_addr);
	addr_text(&p.src, a, sizeof(a));
	assert_string_equal(a, src);
	addr_text(&p.dst, a, sizeof(a));
	assert_string_equal(a, dst);
}

static void test_v1_valid(void **state)
{
	static const struct {
		const char *in, *src, *dst;
		size_t hlen;
	} cases[] = {
	        {"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n",
	         "192.168.0.1:56324", "192.168.0.11:443", 47},
	        {"PROXY TCP6 2001:db8::1 ::1 0 65535\r\n", "[2001:db8::1]:0", "[::1]:65535", 36},
	        {"PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n", "[::ffff:10.0.0.1]:1", "[::1]:2", 36},
	        {"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
	         "255.255.255.255:65535", "255.255.255.255:65535", 56},
	        {"PROXY UNKNOWN\r\nx", NULL, NULL, 15},
	        {"PROXY UNKNOWN anything at all 1 2 3\r\n", NULL, NULL, 37},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		valid(cases[i].in, strlen(cases[i].in), cases[i].hlen, cases[i].src, cases[i].dst);

	/* The spec's worst case: 107 bytes, CRLF included. */
	char big[128];
	snprintf(big, sizeof(big), "PROXY UNKNOWN %s %s 65535 65535\r\n",
	         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(strlen(big), DETOUR_PROXY_V1_MAX);
	valid(big, strlen(big), DETOUR_PROXY_V1_MAX, NULL, NULL);
}

static void test_v1_invalid(void **state)
{
	static const char *const cases[] = {
	        "GET / HTTP/1.1\r\n\r\n",
	        "PROXX TCP4",
	        "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",    /* bare LF */
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX\n", /* bare CR */
	        "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n", /* two spaces */
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n",
	        "PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n", /* heading zero */
	        "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n",
	        "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n",
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
	        "PROXY TCP4 ::1 ::1 1 2\r\n",         /* family mismatch */
	        "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n", /* family mismatch */
	        "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
	        "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
	        "PROXY UNKNOWNX\r\n",
	        "PROXY \r\n",
	        "PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", /* control byte */
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\x80\r\n",
	        "PROXY TCP4 1.2.3.4 1.2.3.4 1 a\r\n",
	        "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n",
	        "PROXY\r\n",
	        "PROXY TCP4 1.2.3.4%eth0 1.2.3.4 1 2\r\n",
	};
	struct detour_proxy p;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (parse(cases[i], strlen(cases[i]), &p) != DETOUR_EINVAL)
			fail_msg("case %zu (%s) not refused", i, cases[i]);

	/* Refused early: the first wrong byte decides. */
	assert_int_equal(parse("G", 1, &p), DETOUR_EINVAL);
	assert_int_equal(parse("PRO", 3, &p), DETOUR_INCOMPLETE);
	assert_int_equal(parse("PROXY\t", 6, &p), DETOUR_EINVAL);
	assert_int_equal(parse("PROXY TCP4 1\x01", 13, &p), DETOUR_EINVAL);
	assert_int_equal(parse("PROXY TCP4 1\r", 13, &p), DETOUR_INCOMPLETE);
	assert_int_equal(parse("PROXY TCP4 1\rx", 14, &p), DETOUR_EINVAL);

	/* No CRLF within 107 bytes. */
	char line[200];
	memset(line, 'a', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	assert_int_equal(parse(line, 106, &p), DETOUR_INCOMPLETE);
	assert_int_equal(parse(line, 107, &p), DETOUR_EINVAL);
	memcpy(line + 106, "\r\n", 2); /* LF as the 108th byte */
	assert_int_equal(parse(line, 108, &p), DETOUR_EINVAL);
	memcpy(line + 105, "\r\n", 2); /* LF as the 107th byte */
	assert_int_equal(parse(line, 108, &p), DETOUR_OK);
	assert_int_equal(p.len, 107);
}

static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* A version 2 header: signature, ver_cmd, fam, then body[0..n). */
static size_t v2(unsigned char *out, unsigned ver_cmd, unsigned fam, const void *body, size_t n)
{
	memcpy(out, sig, 12);
	out[12] = (unsigned char)ver_cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(n >> 8);
	out[15] = (unsigned char)n;
	if (n)
		memcpy(out + 16, body, n);
	return 16 + n;
}

static void test_v2_valid(void **state)
{
	unsigned char b[600];
	size_t n;
	struct detour_proxy p;

	/* TCP over IPv4, what haproxy's send-proxy-v2 writes. */
	static const unsigned char v4[] = {203, 0, 113, 7, 192, 0, 2, 1, 0xa6, 0x52, 0x00, 0x50};
	n = v2(b, 0x21, 0x11, v4, sizeof(v4));
	memcpy(b + n, "GET /", 5);
	valid(b, n + 5, 28, "203.0.113.7:42578", "192.0.2.1:80");
	assert_int_equal(parse(b, n, &p), DETOUR_OK);
	assert_int_equal(p.version, 2);
	assert_false(p.ssl);

	/* TCP over IPv6. */
	unsigned char v6[36] = {0};
	v6[0] = 0x20, v6[1] = 0x01, v6[2] = 0x0d, v6[3] = 0xb8, v6[15] = 1;
	v6[31] = 1;
	v6[32] = 0x01, v6[33] = 0xbb, v6[34] = 0x00, v6[35] = 0x50;
	n = v2(b, 0x21, 0x21, v6, sizeof(v6));
	valid(b, n, 52, "[2001:db8::1]:443", "[::1]:80");

	/* UDP is accepted too (the address is what matters). */
	n = v2(b, 0x21, 0x12, v4, sizeof(v4));
	valid(b, n, 28, "203.0.113.7:42578", "192.0.2.1:80");

	/* LOCAL: the proxy's own connection; its block is skipped, even when
	 * it is not empty and its family is garbage-free but unused. */
	n = v2(b, 0x20, 0x00, NULL, 0);
	valid(b, n, 16, NULL, NULL);
	n = v2(b, 0x20, 0x11, v4, sizeof(v4));
	valid(b, n, 28, NULL, NULL);
	n = v2(b, 0x20, 0x11, v4, 3); /* LOCAL: not looked at */
	valid(b, n, 19, NULL, NULL);

	/* AF_UNSPEC, AF_UNIX: no address; the connection's stands. */
	n = v2(b, 0x21, 0x00, "abc", 3);
	valid(b, n, 19, NULL, NULL);
	unsigned char un[216] = {0};
	n = v2(b, 0x21, 0x31, un, sizeof(un));
	valid(b, n, 232, NULL, NULL);

	/* TLVs skipped; PP2_TYPE_SSL with PP2_CLIENT_SSL read. */
	unsigned char t[64];
	memcpy(t, v4, 12);
	static const unsigned char tlvs[] = {
	        0x04, 0x00, 0x02, 0xaa, 0xbb,            /* NOOP */
	        0x20, 0x00, 0x0b, 0x07, 0,    0,   0, 0, /* SSL: client 7, verify 0 */
	        0x21, 0x00, 0x03, 'T',  'L',  'S',       /*   sub-TLV VERSION */
	        0x02, 0x00, 0x00,                        /* AUTHORITY, empty */
	};
	memcpy(t + 12, tlvs, sizeof(tlvs));
	n = v2(b, 0x21, 0x11, t, 12 + sizeof(tlvs));
	valid(b, n, n, "203.0.113.7:42578", "192.0.2.1:80");
	assert_int_equal(parse(b, n, &p), DETOUR_OK);
	assert_true(p.ssl);
	t[12 + 5 + 3] = 0x06; /* client without PP2_CLIENT_SSL */
	n = v2(b, 0x21, 0x11, t, 12 + sizeof(tlvs));
	assert_int_equal(parse(b, n, &p), DETOUR_OK);
	assert_false(p.ssl);

	/* The total length is known from the 16th byte on. */
	n = v2(b, 0x21, 0x11, v4, sizeof(v4));
	assert_int_equal(parse(b, 15, &p), DETOUR_INCOMPLETE);
	assert_int_equal(p.len, 0);
	assert_int_equal(parse(b, 16, &p), DETOUR_INCOMPLETE);
	assert_int_equal(p.len, 28);
}

static void test_v2_invalid(void **state)
{
	unsigned char b[600];
	size_t n;
	struct detour_proxy p;
	static const unsigned char v4[] = {203, 0, 113, 7, 192, 0, 2, 1, 0xa6, 0x52, 0x00, 0x50};

	/* Signature departures, at the byte. */
	n = v2(b, 0x21, 0x11, v4, sizeof(v4));
	for (size_t k = 1; k < 12; k++) {
		unsigned char c[32];
		memcpy(c, b, n);
		c[k] ^= 0x40;
		assert_int_equal(parse(c, k + 1, &p), DETOUR_EINVAL);
	}
	/* Version 1 or 3, command 2..15. */
	n = v2(b, 0x11, 0x11, v4, sizeof(v4));
	assert_int_equal(parse(b, 13, &p), DETOUR_EINVAL);
	n = v2(b, 0x31, 0x11, v4, sizeof(v4));
	assert_int_equal(parse(b, n, &p), DETOUR_EINVAL);
	n = v2(b, 0x22, 0x11, v4, sizeof(v4));
	assert_int_equal(parse(b, 13, &p), DETOUR_EINVAL);
	n = v2(b, 0x2f, 0x11, v4, sizeof(v4));
	assert_int_equal(parse(b, n, &p), DETOUR_EINVAL);
	/* Family 4, transport 3. */
	n = v2(b, 0x21, 0x41, v4, sizeof(v4));
	assert_int_equal(parse(b, 14, &p), DETOUR_EINVAL);
	n = v2(b, 0x21, 0x13, v4, sizeof(v4));
	assert_int_equal(parse(b, n, &p), DETOUR_EINVAL);
	/* An address block too short for its family: refused from the 16th
	 * byte, without waiting for it. */
	n = v2(b, 0x21, 0x11, v4, 11);
	assert_int_equal(parse(b, 16, &p), DETOUR_EINVAL);
	n = v2(b, 0x21, 0x21, v4, 12);
	assert_int_equal(parse(b, n, &p), DETOUR_EINVAL);
	/* A TLV past the end, or a stray byte after the TLVs. */
	unsigned char t[32];
	memcpy(t, v4, 12);
	memcpy(t + 12, "\x04\x00\x05\xaa", 4);
	n = v2(b, 0x21, 0x11, t, 16);
	assert_int_equal(parse(b, n, &p), DETOUR_EINVAL);
	memcpy(t + 12, "\x04\x00\x00\xaa", 4);
	n = v2(b, 0x21, 0x11, t, 16);
	assert_int_equal(parse(b, n, &p), DETOUR_EINVAL);
	/* Neither 'P' nor CR first. */
	assert_int_equal(parse("\x16\x03\x01", 3, &p), DETOUR_EINVAL); /* a TLS ClientHello */
	assert_int_equal(parse("\n", 1, &p), DETOUR_EINVAL);
	assert_int_equal(parse("", 0, &p), DETOUR_INCOMPLETE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_v1_valid),
	        cmocka_unit_test(test_v1_invalid),
	        cmocka_unit_test(test_v2_valid),
	        cmocka_unit_test(test_v2_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
