/* lib/tlsname.c: SNI and ALPN extension parsing, RFC 6125 name matching. */
#include "unit.h"

#include "detour/tlsname.h"

static int sni(const char *bytes, size_t len, char *out)
{
	struct guard g;
	int r = detour_tls_sni_parse((const uint8_t *)guard_copy(&g, bytes, len), len, out);
	guard_free(&g);
	return r;
}

static void test_sni(void **state)
{
	char out[DETOUR_TLSNAME_MAX + 1];

	/* list of 14: host_name(0), 11 bytes "Example.COM" */
	assert_int_equal(sni("\x00\x0e\x00\x00\x0b"
	                     "Example.COM",
	                     16, out),
	                 11);
	assert_string_equal(out, "example.com");
	/* a trailing dot is dropped */
	assert_int_equal(sni("\x00\x0f\x00\x00\x0c"
	                     "example.com.",
	                     17, out),
	                 11);
	assert_string_equal(out, "example.com");
	/* an unknown name type is skipped: no host_name */
	assert_int_equal(sni("\x00\x04\x07\x00\x01x", 6, out), 0);
	/* unknown type, then a host name */
	assert_int_equal(sni("\x00\x08\x07\x00\x01x\x00\x00\x01y", 10, out), 1);
	assert_string_equal(out, "y");
	/* two host names: RFC 6066 §3 forbids it */
	assert_int_equal(sni("\x00\x08\x00\x00\x01x\x00\x00\x01y", 10, out), -1);
	/* lengths that do not add up */
	assert_int_equal(sni("\x00\x05\x00\x00\x0bx", 6, out), -1);
	assert_int_equal(sni("\x00\x0e\x00\x00\x0b"
	                     "example.com",
	                     15, out),
	                 -1);
	assert_int_equal(sni("\x00", 1, out), -1);
	assert_int_equal(sni("", 0, out), -1);
	assert_int_equal(sni("\x00\x00", 2, out), -1);
	/* not DNS names: NUL, empty label, space, empty name, IP is LDH */
	assert_int_equal(sni("\x00\x06\x00\x00\x03"
	                     "a\0b",
	                     8, out),
	                 -1);
	assert_int_equal(sni("\x00\x06\x00\x00\x03"
	                     "a..",
	                     8, out),
	                 -1);
	assert_int_equal(sni("\x00\x06\x00\x00\x03"
	                     "a b",
	                     8, out),
	                 -1);
	assert_int_equal(sni("\x00\x03\x00\x00\x00", 5, out), -1);
	assert_int_equal(sni("\x00\x04\x00\x00\x01.", 6, out), -1);
	/* a label of 64 bytes */
	char buf[5 + 64];
	memcpy(buf, "\x00\x43\x00\x00\x40", 5);
	memset(buf + 5, 'a', 64);
	assert_int_equal(sni(buf, sizeof(buf), out), -1);
	buf[1] = 0x42;
	buf[4] = 0x3f;
	assert_int_equal(sni(buf, sizeof(buf) - 1, out), 63);
}

static void test_alpn(void **state)
{
	unsigned m;
	struct guard g;
	const char *v = "\x00\x0c\x02h2\x08http/1.1";

	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)guard_copy(&g, v, 14), 14, &m), 0);
	guard_free(&g);
	assert_int_equal(m, DETOUR_ALPN_H2 | DETOUR_ALPN_HTTP11);
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00\x0b\x0a"
	                                                        "acme-tls/1",
	                                       13, &m),
	                 0);
	assert_int_equal(m, DETOUR_ALPN_ACME_TLS);
	/* unknown names are ignored */
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00\x04\x03spd", 6, &m), 0);
	assert_int_equal(m, 0);
	/* an empty name, an empty list, a name past the end, a short list */
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00\x01\x00", 3, &m), -1);
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00\x00", 2, &m), -1);
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00\x03\x05h2", 5, &m), -1);
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00\x05\x02h2", 5, &m), -1);
	assert_int_equal(detour_tls_alpn_parse((const uint8_t *)"\x00", 1, &m), -1);
}

static int kind(const char *pattern, const char *host)
{
	return detour_tls_name_match_kind(pattern, strlen(pattern), host, strlen(host));
}

static void test_match(void **state)
{
	assert_int_equal(kind("example.com", "example.com"), 2);
	assert_int_equal(kind("EXAMPLE.com", "example.com"), 2);
	assert_int_equal(kind("example.com.", "example.com"), 2);
	assert_int_equal(kind("example.com", "www.example.com"), 0);
	assert_int_equal(kind("*.example.com", "www.example.com"), 1);
	assert_int_equal(kind("*.Example.COM", "www.example.com"), 1);
	/* one label only, never empty, never the bare domain */
	assert_int_equal(kind("*.example.com", "a.b.example.com"), 0);
	assert_int_equal(kind("*.example.com", "example.com"), 0);
	assert_int_equal(kind("*.example.com", ".example.com"), 0);
	/* at least two labels after the wildcard */
	assert_int_equal(kind("*.com", "example.com"), 0);
	assert_int_equal(kind("*", "example"), 0);
	assert_int_equal(kind("*.", "example"), 0);
	/* partial-label and inner wildcards name nothing (RFC 6125 §6.4.3) */
	assert_int_equal(kind("w*.example.com", "www.example.com"), 0);
	assert_int_equal(kind("*w.example.com", "www.example.com"), 0);
	assert_int_equal(kind("www.*.com", "www.example.com"), 0);
	assert_int_equal(kind("*.*.com", "a.b.com"), 0);
	assert_int_equal(kind("*.example.com", "*.example.com"), 1);
	assert_int_equal(kind("", "example.com"), 0);
	assert_int_equal(kind("example.com", ""), 0);
	assert_true(detour_tls_name_match("*.a.b", 5, "x.a.b", 5));
	assert_false(detour_tls_name_match("*.a.b", 5, "a.b", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sni),
	        cmocka_unit_test(test_alpn),
	        cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests_name("tlsname", tests, NULL, NULL);
}
