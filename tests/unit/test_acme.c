/* Unit tests for lib/acme.c: the CA's documents (problem, directory, order,
 * authorization) including hostile ones, the set of hosts to certify from
 * rules and config, renewal time and backoff. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/acme.h"
#include "detour/config.h"
#include "detour/rulefile.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_problem(void **state)
{
	struct detour_acme_problem p;
	char big[2000];

	assert_int_equal(detour_acme_problem_parse(S("{\"type\":\"urn:ietf:params:acme:error:"
	                                             "badNonce\",\"detail\":\"JWS has an invalid "
	                                             "anti-replay nonce\",\"status\":400}"),
	                                           &p),
	                 DETOUR_OK);
	assert_string_equal(p.type, "urn:ietf:params:acme:error:badNonce");
	assert_string_equal(p.detail, "JWS has an invalid anti-replay nonce");
	assert_int_equal(p.status, 400);
	assert_true(detour_acme_problem_is(&p, "badNonce"));
	assert_false(detour_acme_problem_is(&p, "badNonc"));
	assert_false(detour_acme_problem_is(&p, "rejectedIdentifier"));

	/* members of the wrong type are left empty */
	assert_int_equal(detour_acme_problem_parse(S("{\"type\":7,\"status\":\"x\"}"), &p),
	                 DETOUR_OK);
	assert_string_equal(p.type, "");
	assert_int_equal(p.status, 0);
	assert_int_equal(detour_acme_problem_parse(S("[1]"), &p), DETOUR_EINVAL);
	assert_int_equal(detour_acme_problem_parse(S("not json"), &p), DETOUR_EINVAL);
	assert_int_equal(detour_acme_problem_parse(S("{\"a\":1,\"a\":2}"), &p), DETOUR_EINVAL);

	/* an over-long detail is cut and marked */
	int n = snprintf(big, sizeof(big), "{\"detail\":\"");
	for (int i = 0; i < 1500; i++)
		big[n++] = 'x';
	n += snprintf(big + n, sizeof(big) - (size_t)n, "\"}");
	assert_int_equal(detour_acme_problem_parse(big, (size_t)n, &p), DETOUR_OK);
	assert_int_equal(strlen(p.detail), sizeof(p.detail) - 1);
	assert_string_equal(p.detail + sizeof(p.detail) - 4, "...");
}

static void test_directory(void **state)
{
	struct detour_acme_dir d;

	assert_int_equal(
	        detour_acme_dir_parse(
	                S("{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\","
	                  "\"newOrder\":\"https://ca/order\",\"revokeCert\":\"https://ca/r\","
	                  "\"meta\":{\"termsOfService\":\"data:x\"}}"),
	                &d),
	        DETOUR_OK);
	assert_string_equal(d.new_nonce, "https://ca/nonce");
	assert_string_equal(d.new_account, "https://ca/acct");
	assert_string_equal(d.new_order, "https://ca/order");
	assert_false(d.eab_required);
	assert_int_equal(detour_acme_dir_parse(S("{\"newNonce\":\"https://ca/n\",\"newAccount\":"
	                                         "\"https://ca/a\",\"newOrder\":\"https://ca/o\","
	                                         "\"meta\":{\"externalAccountRequired\":true}}"),
	                                       &d),
	                 DETOUR_OK);
	assert_true(d.eab_required);
	/* http:// is refused (RFC 8555 §6.1), so is a missing or mistyped URL */
	assert_int_equal(detour_acme_dir_parse(S("{\"newNonce\":\"http://ca/n\",\"newAccount\":"
	                                         "\"https://ca/a\",\"newOrder\":\"https://ca/o\"}"),
	                                       &d),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_acme_dir_parse(S("{\"newNonce\":\"https://ca/n\",\"newAccount\":"
	                                         "\"https://ca/a\"}"),
	                                       &d),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_acme_dir_parse(S("{\"newNonce\":\"https://ca/n\",\"newAccount\":"
	                                         "\"https://ca/a\",\"newOrder\":[]}"),
	                                       &d),
	                 DETOUR_EINVAL);
	assert_int_equal(
	        detour_acme_dir_parse(S("{\"newNonce\":\"https://ca/\\u0000n\",\"newAccount\":"
	                                "\"https://ca/a\",\"newOrder\":\"https://ca/o\"}"),
	                              &d),
	        DETOUR_EINVAL);
}

static void test_order(void **state)
{
	struct detour_acme_order o;

	assert_int_equal(
	        detour_acme_order_parse(
	                S("{\"status\":\"pending\",\"expires\":\"2026-12-10T00:00:00Z\","
	                  "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}],"
	                  "\"authorizations\":[\"https://ca/authz/1\",\"https://ca/authz/2\"],"
	                  "\"finalize\":\"https://ca/finalize/1\"}"),
	                &o),
	        DETOUR_OK);
	assert_int_equal(o.status, DETOUR_ACME_PENDING);
	assert_int_equal(o.nauthz, 2);
	assert_string_equal(o.authz[1], "https://ca/authz/2");
	assert_string_equal(o.finalize, "https://ca/finalize/1");
	assert_string_equal(o.certificate, "");
	assert_string_equal(o.error.type, "");
	detour_acme_order_fini(&o);

	assert_int_equal(
	        detour_acme_order_parse(
	                S("{\"status\":\"invalid\",\"authorizations\":[],\"finalize\":\"https://ca/"
	                  "f\","
	                  "\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
	                  "\"detail\":\"no\"}}"),
	                &o),
	        DETOUR_OK);
	assert_int_equal(o.status, DETOUR_ACME_INVALID);
	assert_true(detour_acme_problem_is(&o.error, "unauthorized"));
	assert_string_equal(o.error.detail, "no");
	detour_acme_order_fini(&o);

	assert_int_equal(detour_acme_order_parse(S("{\"status\":\"valid\",\"authorizations\":[],"
	                                           "\"finalize\":\"https://ca/f\",\"certificate\":"
	                                           "\"https://ca/cert/9\"}"),
	                                         &o),
	                 DETOUR_OK);
	assert_int_equal(o.status, DETOUR_ACME_VALID);
	assert_string_equal(o.certificate, "https://ca/cert/9");
	detour_acme_order_fini(&o);

	/* unknown status, an authorization that is not a URL, no finalize */
	assert_int_equal(detour_acme_order_parse(S("{\"status\":\"odd\",\"authorizations\":[],"
	                                           "\"finalize\":\"https://ca/f\"}"),
	                                         &o),
	                 DETOUR_EINVAL);
	detour_acme_order_fini(&o);
	assert_int_equal(detour_acme_order_parse(S("{\"status\":\"ready\",\"authorizations\":[1],"
	                                           "\"finalize\":\"https://ca/f\"}"),
	                                         &o),
	                 DETOUR_EINVAL);
	detour_acme_order_fini(&o);
	assert_int_equal(
	        detour_acme_order_parse(S("{\"status\":\"ready\",\"authorizations\":[]}"), &o),
	        DETOUR_EINVAL);
	detour_acme_order_fini(&o);
}

static void test_authz(void **state)
{
	struct detour_acme_authz a;

	assert_int_equal(
	        detour_acme_authz_parse(
	                S("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
	                  "\"a.test\"},\"challenges\":["
	                  "{\"type\":\"dns-01\",\"url\":\"https://ca/c/0\",\"token\":\"x\"},"
	                  "{\"type\":\"http-01\",\"url\":\"https://ca/c/1\",\"token\":\"T0k-_\","
	                  "\"status\":\"pending\"},"
	                  "{\"type\":\"tls-alpn-01\",\"url\":\"https://ca/c/2\",\"token\":\"abc\","
	                  "\"status\":\"invalid\",\"error\":{\"type\":\"urn:ietf:params:acme:error:"
	                  "tls\",\"detail\":\"handshake\"}}]}"),
	                &a),
	        DETOUR_OK);
	assert_int_equal(a.status, DETOUR_ACME_PENDING);
	assert_string_equal(a.host, "a.test");
	assert_true(a.chal[DETOUR_ACME_HTTP01].present);
	assert_string_equal(a.chal[DETOUR_ACME_HTTP01].token, "T0k-_");
	assert_string_equal(a.chal[DETOUR_ACME_HTTP01].url, "https://ca/c/1");
	assert_true(a.chal[DETOUR_ACME_TLSALPN01].present);
	assert_int_equal(a.chal[DETOUR_ACME_TLSALPN01].status, DETOUR_ACME_INVALID);
	assert_true(detour_acme_problem_is(&a.chal[DETOUR_ACME_TLSALPN01].error, "tls"));

	/* a token that could climb out of a path is refused */
	assert_int_equal(
	        detour_acme_authz_parse(S("{\"status\":\"pending\",\"identifier\":{\"type\":"
	                                  "\"dns\",\"value\":\"a.test\"},\"challenges\":[{"
	                                  "\"type\":\"http-01\",\"url\":\"https://ca/c\","
	                                  "\"token\":\"../../etc\"}]}"),
	                                &a),
	        DETOUR_EINVAL);
	/* an ip identifier is not detour's */
	assert_int_equal(
	        detour_acme_authz_parse(S("{\"status\":\"pending\",\"identifier\":{\"type\":"
	                                  "\"ip\",\"value\":\"127.0.0.1\"},\"challenges\":[]}"),
	                                &a),
	        DETOUR_EINVAL);
	assert_int_equal(
	        detour_acme_authz_parse(S("{\"status\":\"valid\",\"identifier\":{\"type\":"
	                                  "\"dns\",\"value\":\"a.test\"},\"challenges\":[]}"),
	                                &a),
	        DETOUR_OK);
	assert_int_equal(a.status, DETOUR_ACME_VALID);
	assert_false(a.chal[DETOUR_ACME_HTTP01].present);
	assert_string_equal(detour_acme_status_name(a.status), "valid");
}

struct notes {
	char text[2048];
};

static void note(void *arg, const char *host, const char *why)
{
	struct notes *n = arg;
	size_t l = strlen(n->text);
	snprintf(n->text + l, sizeof(n->text) - l, "%s: %.20s\n", host, why);
}

static void test_hosts(void **state)
{
	static const char rules[] = "//Old.Example.com/a /b 301\n"
	                            "//old.example.com/c /d 301\n"
	                            "https://shop.example.com/* https://new.example/:splat 308\n"
	                            "//*.brand.example/x /y 302\n"
	                            "//192.0.2.1/p /q 302\n"
	                            "/anyhost /z 302\n";
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	struct detour_acme_hosts h = {0};
	struct notes n = {""};
	static struct detour_config c;

	assert_int_equal(detour_ruleset_load_buf(rs, "t.rules", rules, sizeof(rules) - 1, &d),
	                 DETOUR_OK);
	assert_int_equal(detour_acme_hosts_add_rules(&h, rs, note, &n), 0);
	detour_config_defaults(&c);
	assert_int_equal(detour_config_parse(&c, "t.conf",
	                                     S("acme https://ca.test/dir\n"
	                                       "acme-hosts extra.example.com shop.example.com\n"
	                                       "canonical-host www.example.com example.com\n"),
	                                     &d),
	                 DETOUR_OK);
	assert_int_equal(detour_acme_hosts_add_config(&h, &c, note, &n), 0);
	assert_int_equal(h.n, 5);
	assert_string_equal(h.exact[0], "example.com");
	assert_string_equal(h.exact[1], "extra.example.com");
	assert_string_equal(h.exact[2], "old.example.com");
	assert_string_equal(h.exact[3], "shop.example.com");
	assert_string_equal(h.exact[4], "www.example.com");
	assert_int_equal(h.nsuffix, 1);
	assert_string_equal(h.suffix[0], ".brand.example");
	assert_string_equal(n.text, "*.brand.example: a wildcard needs DNS\n"
	                            "192.0.2.1: an IP address (ACME \n");

	assert_true(detour_acme_hosts_has(&h, "old.example.com"));
	assert_false(detour_acme_hosts_has(&h, "a.brand.example"));
	assert_true(detour_acme_hosts_names(&h, "a.brand.example"));
	assert_true(detour_acme_hosts_names(&h, "a.b.brand.example"));
	assert_false(detour_acme_hosts_names(&h, "brand.example"));
	assert_false(detour_acme_hosts_names(&h, "evil.example"));
	assert_false(detour_acme_hosts_names(&h, ".brand.example"));

	/* direct adds: case, trailing dot, single label, junk */
	assert_int_equal(detour_acme_hosts_add(&h, S("NEW.example.org."), NULL, NULL), 1);
	assert_true(detour_acme_hosts_has(&h, "new.example.org"));
	assert_int_equal(detour_acme_hosts_add(&h, S("new.example.org"), NULL, NULL), 0);
	n.text[0] = '\0';
	assert_int_equal(detour_acme_hosts_add(&h, S("localhost"), note, &n), 0);
	assert_int_equal(detour_acme_hosts_add(&h, S("a..b"), note, &n), 0);
	assert_int_equal(detour_acme_hosts_add(&h, S("-a.b"), note, &n), 0);
	assert_int_equal(detour_acme_hosts_add(&h, S("[::1]"), note, &n), 0);
	assert_string_equal(n.text, "localhost: a single-label name,\n"
	                            "a..b: not a DNS name\n"
	                            "-a.b: not a DNS name\n"
	                            "[::1]: an IP address (ACME \n");
	detour_acme_hosts_free(&h);
	detour_acme_hosts_free(&h); /* idempotent */
	detour_ruleset_free(rs);
}

static void test_timing(void **state)
{
	/* 90 days from 0: two thirds is 60 days, jitter up to 3 days earlier */
	int64_t life = 90 * 86400;
	assert_int_equal(detour_acme_renew_at(0, life, 0), 60 * 86400);
	assert_true(detour_acme_renew_at(0, life, UINT32_MAX) >= 57 * 86400);
	assert_true(detour_acme_renew_at(0, life, UINT32_MAX) <= 60 * 86400);
	assert_int_equal(detour_acme_renew_at(1000, 1030, 0), 1020);
	assert_int_equal(detour_acme_renew_at(1000, 1000, 5), 1000);

	/* 1st failure: base (jittered 3/4..5/4), doubling, capped */
	for (uint32_t r = 0; r < 1000; r += 97) {
		uint64_t a = detour_acme_backoff_ms(1, 1000, 60000, r);
		assert_true(a >= 750 && a < 1250);
		uint64_t b = detour_acme_backoff_ms(3, 1000, 60000, r);
		assert_true(b >= 3000 && b < 5000);
		uint64_t c = detour_acme_backoff_ms(40, 1000, 60000, r * 1000003u);
		assert_true(c >= 45000 && c <= 60000);
	}
	assert_int_equal(detour_acme_backoff_ms(1, 1000, 60000, 0), 750);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_problem), cmocka_unit_test(test_directory),
	        cmocka_unit_test(test_order),   cmocka_unit_test(test_authz),
	        cmocka_unit_test(test_hosts),   cmocka_unit_test(test_timing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
