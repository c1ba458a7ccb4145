/* detour: the HTTPS directives of detour.conf (lib/config_https.c): what they
 * set, and their errors, exact (with the file name "t.conf"). */
#include <stdio.h>
#include <stdlib.h>

#include "config_test.h"

static void test_https(void **state)
{
	parse_ok("listen 80\nlisten [::]:443 tls proxy-protocol\nlisten 8443 proxy-protocol tls\n"
	         "tls-cert certs/a.pem /etc/keys/a.key\ntls-cert b.pem b.key\n"
	         "trusted-proxies 10.0.0.0/8\n");
	assert_int_equal(conf.nlisten, 3);
	assert_false(conf.listen[0].tls || conf.listen[0].proxy_protocol);
	assert_int_equal(conf.listen[0].line, 1);
	assert_true(conf.listen[1].tls && conf.listen[1].proxy_protocol && conf.listen[1].ipv6);
	assert_true(conf.listen[2].tls && conf.listen[2].proxy_protocol);
	assert_int_equal(conf.listen[2].line, 3);
	assert_int_equal(conf.ncerts, 2);
	assert_string_equal(conf.certs[0].cert, "/etc/detour/certs/a.pem");
	assert_string_equal(conf.certs[0].key, "/etc/keys/a.key");
	assert_int_equal(conf.certs[1].line, 5);
	assert_int_equal(conf.acme.line, 0);
	assert_int_equal(conf.https_redirect, 0);
	assert_int_equal(conf.hsts.line, 0);
	assert_int_equal(conf.trailing_slash, DETOUR_SLASH_KEEP);

	parse_ok("listen 443 tls\nacme https://acme-v02.api.letsencrypt.org/directory\n"
	         "acme-email mailto:ops@new-brand.com\nacme-ca ca.pem\n"
	         "acme-hosts Shop.Example.com a.example\nacme-hosts b.example\n"
	         "hsts max-age=1y include-subdomains preload\nhttps-redirect\n"
	         "canonical-host www.old-brand.com OLD-brand.com\n"
	         "canonical-host x.example y.example z.example\ntrailing-slash remove\n"
	         "trusted-proxies 10.0.0.0/8 ::1\ntrusted-proxies 192.0.2.1\n");
	assert_int_equal(conf.acme.line, 2);
	assert_string_equal(conf.acme.directory, "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(conf.acme.email, "ops@new-brand.com");
	assert_string_equal(conf.acme.ca_file, "/etc/detour/ca.pem");
	assert_string_equal(conf.acme.hosts, "shop.example.com\na.example\nb.example\n");
	assert_int_equal(conf.hsts.line, 7);
	assert_int_equal(conf.hsts.max_age_s, 31536000);
	assert_true(conf.hsts.include_subdomains && conf.hsts.preload);
	assert_int_equal(conf.https_redirect, 308);
	assert_int_equal(conf.https_redirect_line, 8);
	assert_int_equal(conf.ncanon, 2);
	assert_string_equal(conf.canon[0].aliases, "www.old-brand.com\n");
	assert_string_equal(conf.canon[0].canonical, "old-brand.com");
	assert_int_equal(conf.canon[0].line, 9);
	assert_string_equal(conf.canon[1].aliases, "x.example\ny.example\n");
	assert_string_equal(conf.canon[1].canonical, "z.example");
	assert_int_equal(conf.trailing_slash, DETOUR_SLASH_REMOVE);
	assert_int_equal(conf.ntrusted_proxies, 3);
	assert_int_equal(conf.trusted_proxies[0].prefix, 8);

	/* Repeating a canonical host with more aliases is how a long list is
	 * written (8 arguments a line). */
	parse_ok("canonical-host a.example c.example\ncanonical-host b.example c.example\n"
	         "https-redirect 301\nhsts max-age=0\ntrailing-slash add\n");
	assert_int_equal(conf.ncanon, 2);
	assert_int_equal(conf.https_redirect, 301);
	assert_int_equal(conf.hsts.max_age_s, 0);
	assert_false(conf.hsts.include_subdomains || conf.hsts.preload);
	assert_int_equal(conf.trailing_slash, DETOUR_SLASH_ADD);
}

static const struct err_case err_cases[] = {
        /* HTTPS */
        {"tls-cert a.pem\n", "t.conf:1:1: 'tls-cert' takes 2 arguments: tls-cert CERT KEY"},
        {"acme http://ca.example/dir\n",
         "t.conf:1:6: expected the https:// URL of an ACME directory (RFC 8555 requires HTTPS), "
         "found \"http://ca.example/dir\""},
        {"acme https://a/d\nacme https://b/d\n",
         "t.conf:2:6: acme is already set on line 1, at \"https://b/d\""},
        {"acme-email ops\n",
         "t.conf:1:12: expected an email address (ops@example.com), found \"ops\""},
        {"acme-email a@b@c.d\n",
         "t.conf:1:12: expected an email address (ops@example.com), found \"a@b@c.d\""},
        {"acme-email a,b@c.d\n", "t.conf:1:12: expected one email address, found \"a,b@c.d\""},
        {"acme-email ops@example.com\n",
         "t.conf: acme-email, acme-ca and acme-hosts need an acme DIRECTORY-URL"},
        {"acme https://a/d\nacme-hosts *.example.com\n",
         "t.conf:2:12: acme-hosts: wildcard hosts need DNS-01 validation, which detour does not "
         "do, found \"*.example.com\""},
        {"acme https://a/d\nacme-hosts localhost\n",
         "t.conf:2:12: acme-hosts: expected a host name with at least two labels (example.com), "
         "found \"localhost\""},
        {"acme https://a/d\nacme-hosts a.com A.com\n",
         "t.conf:2:18: host \"A.com\" is listed twice"},
        {"acme https://a/d\nacme-hosts a_b.com\n",
         "t.conf:2:12: acme-hosts: expected a host name (letters, digits, '-' and '.'), found "
         "\"a_b.com\""},
        {"acme https://a/d\nacme-hosts -a.com\n",
         "t.conf:2:12: acme-hosts: expected a host name (labels of 1 to 63 bytes, not starting "
         "with '-'), found \"-a.com\""},
        {"acme https://a/d\nacme-hosts a..com\n",
         "t.conf:2:12: acme-hosts: expected a host name (empty label, or a label ending in '-'), "
         "found \"a..com\""},
        {"hsts 1y\n", "t.conf:1:6: expected max-age=DURATION first (max-age=1y), found \"1y\""},
        {"hsts max-age=1mo\n",
         "t.conf:1:14: expected a duration of at most 10 years (0, 1d, 26w, 1y), found \"1mo\""},
        {"hsts max-age=11y\n",
         "t.conf:1:14: expected a duration of at most 10 years (0, 1d, 26w, 1y), found \"11y\""},
        {"hsts max-age=1y preload preload\n", "t.conf:1:25: \"preload\" given twice"},
        {"hsts max-age=1y includeSubDomains\n",
         "t.conf:1:17: expected include-subdomains or preload, found \"includeSubDomains\""},
        {"hsts max-age=1y\nhsts max-age=2y\n",
         "t.conf:2:6: hsts is already set on line 1, at \"max-age=2y\""},
        {"https-redirect 303\n", "t.conf:1:16: expected 301, 302, 307 or 308, found \"303\""},
        {"https-redirect 3080\n", "t.conf:1:16: expected 301, 302, 307 or 308, found \"3080\""},
        {"https-redirect\nhttps-redirect 301\n",
         "t.conf:2:1: https-redirect is already set on line 1"},
        {"canonical-host a.com\n",
         "t.conf:1:1: 'canonical-host' takes 2 arguments: canonical-host ALIAS... CANONICAL"},
        {"canonical-host a.com a.com\n", "t.conf:1:16: \"a.com\" is its own canonical host"},
        {"canonical-host a.com b.com\ncanonical-host c.com a.com\n",
         "t.conf:2:22: \"a.com\" is an alias on line 1: it cannot be canonical too"},
        {"canonical-host a.com b.com\ncanonical-host b.com c.com\n",
         "t.conf:2:16: \"b.com\" is already named by canonical-host on line 1"},
        {"canonical-host a.com b.com\ncanonical-host A.COM c.com\n",
         "t.conf:2:16: \"a.com\" is already named by canonical-host on line 1"},
        {"canonical-host a.com *.b.com\n",
         "t.conf:1:22: canonical-host: wildcard hosts need DNS-01 validation, which detour does "
         "not do, found \"*.b.com\""},
        {"trailing-slash yes\n", "t.conf:1:16: expected add, remove or keep, found \"yes\""},
        {"trusted-proxies 10.0.0.1/8\n",
         "t.conf:1:17: expected an address or CIDR range (10.0.0.0/8, 2001:db8::/32, 192.0.2.1) "
         "without bits past the prefix, found \"10.0.0.1/8\""},
};

/* TLS to the fleet's Redis: state-ca, state-cert (docs/internals/fleet.md). */
static const struct err_case state_tls_errors[] = {
        {"state-ca ca.pem\n", "t.conf:1: state-ca is for TLS to Redis: it needs state "
                              "rediss://... or rediss-sentinel://..."},
        {"state redis://h/0\nstate-cert c.pem c.key\n",
         "t.conf:2: state-cert is for TLS to Redis: it needs state rediss://... or "
         "rediss-sentinel://..."},
        {"state rediss://h/0\nstate-cert c.pem\n",
         "t.conf:2:1: 'state-cert' takes 2 arguments: state-cert CERT KEY"},
        {"state rediss://h/0\nstate-ca a.pem\nstate-ca b.pem\n",
         "t.conf:3:10: state-ca is already set on line 2, at \"b.pem\""},
};

static void test_state_tls(void **state)
{
	parse_ok("state rediss://10.0.0.5:6380/0?tls-name=redis.internal node=a\n"
	         "state-ca certs/redis-ca.pem\nstate-cert /etc/detour/a.pem a.key\n");
	assert_string_equal(conf.state_ca, "/etc/detour/certs/redis-ca.pem");
	assert_int_equal(conf.state_ca_line, 2);
	assert_string_equal(conf.state_cert, "/etc/detour/a.pem");
	assert_string_equal(conf.state_key, "/etc/detour/a.key");
	assert_int_equal(conf.state_cert_line, 3);
	parse_ok("state rediss-sentinel://s1,s2/m\n");
	assert_string_equal(conf.state_ca, "");
	assert_int_equal(conf.state_ca_line, 0);
	assert_int_equal(conf.state_cert_line, 0);
	check_errors(state_tls_errors, sizeof(state_tls_errors) / sizeof(state_tls_errors[0]));
}

static void test_https_errors(void **state)
{
	check_errors(err_cases, sizeof(err_cases) / sizeof(err_cases[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_https),
	        cmocka_unit_test(test_https_errors),
	        cmocka_unit_test(test_state_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
