/* Unit tests for lib/lint_canon.c: second hops (a target detour would
 * canonicalise again) and the HSTS preload requirements, each with a small
 * configuration and rules file and the exact findings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_test.h"
#include "unit.h"

#include "detour/config.h"
#include "detour/lint.h"
#include "detour/lint_canon.h"
#include "detour/lint_rules.h"

/* "FILE:LINE code: message [fix: F]\n" for every finding of conf + rules. */
static char *lint(const char *conf, const char *rules, struct detour_lint_result *res)
{
	static struct detour_config c;
	struct detour_diag d = {0};
	struct detour_table *t = build(rules);
	size_t cap = 1, n = 0;
	char *out;

	detour_config_defaults(&c);
	if (detour_config_parse(&c, "t.conf", conf, strlen(conf), &d) != DETOUR_OK)
		fail_msg("config: %s", d.msg);
	snprintf(c.file, sizeof(c.file), "t.conf");
	memset(res, 0, sizeof(*res));
	assert_int_equal(detour_lint_canon(t, &c, res), DETOUR_OK);
	for (size_t i = 0; i < res->n; i++)
		cap += strlen(res->v[i].message) + (res->v[i].fix ? strlen(res->v[i].fix) : 0) + 64;
	out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	for (size_t i = 0; i < res->n; i++) {
		const struct detour_lint_finding *f = &res->v[i];
		n += (size_t)snprintf(out + n, cap - n, "%s:%u %s: %s%s%s\n", f->file, f->line,
		                      detour_lint_code_name(f->code), f->message,
		                      f->fix ? " | fix: " : "", f->fix ? f->fix : "");
		if (f->rule == DETOUR_LINT_NO_RULE)
			assert_int_equal(f->edit_kind, DETOUR_LINT_EDIT_NONE);
		else if (f->fix)
			assert_string_equal(f->edit, f->fix);
	}
	detour_table_free(t);
	return out;
}

static void expect(const char *conf, const char *rules, const char *want, size_t warnings)
{
	struct detour_lint_result res;
	char *got = lint(conf, rules, &res);

	if (strcmp(got, want))
		fail_msg("got:\n%s\nwant:\n%s", got, want);
	assert_int_equal(res.warnings, warnings);
	assert_int_equal(res.errors, 0);
	free(got);
	detour_lint_result_fini(&res);
}

static void test_nothing_configured(void **state)
{
	(void)state;
	expect("", "/a http://x.example/b 301\n", "", 0);
	/* a clean configuration */
	expect("https-redirect\ncanonical-host www.a.example a.example\n",
	       "//a.example/x https://a.example/y 301\n/z https://other.example/w 302\n", "", 0);
}

static void test_second_hop(void **state)
{
	(void)state;
	expect("https-redirect\ncanonical-host www.a.example a.example\ntrailing-slash add\n",
	       "//a.example/1 http://a.example/one/ 301\n"
	       "//a.example/2 https://www.a.example/two/?q=1#f 301\n"
	       "//a.example/3 /three 302\n"
	       "http://a.example/4 /four/ 302\n"
	       "//a.example/5 http://elsewhere.example/five 302\n"
	       "//a.example/6/:name /files/:name 302\n"
	       "//a.example/7 /style.css 302\n"
	       "/8 - 410\n",
	       "t.rules:1 second-hop: the target http://a.example/one/ is redirected again by "
	       "https-redirect: two hops where one would do; write https://a.example/one/ | fix: "
	       "https://a.example/one/\n"
	       "t.rules:2 second-hop: the target https://www.a.example/two/?q=1#f is redirected "
	       "again by canonical-host (www.a.example -> a.example): two hops where one would do; "
	       "write https://a.example/two/?q=1#f | fix: https://a.example/two/?q=1#f\n"
	       "t.rules:3 second-hop: the target /three is redirected again by trailing-slash "
	       "add: two hops where one would do; write /three/ | fix: /three/\n"
	       "t.rules:4 second-hop: the target /four/ is redirected again by https-redirect: "
	       "two hops where one would do; write https://a.example/four/ | fix: "
	       "https://a.example/four/\n",
	       4);
	/* an http:// rule for a wildcard host: no one host to write */
	expect("https-redirect\n", "http://*.a.example/x /y 302\n",
	       "t.rules:1 second-hop: the target /y is redirected again by https-redirect: two "
	       "hops where one would do; write an https:// target\n",
	       1);
}

static void test_preload(void **state)
{
	(void)state;
	/* without preload, nothing is asked */
	expect("hsts max-age=1d\n", "//a.example/x /y 302\n", "", 0);
	expect("hsts max-age=26w preload\n", "//a.example/x /y 302\n",
	       "t.conf:1 hsts-preload: hsts preload: include-subdomains is missing; the HSTS "
	       "preload list requires includeSubDomains\n"
	       "t.conf:1 hsts-preload: hsts preload: max-age is under one year (31536000 s), the "
	       "least the HSTS preload list takes\n"
	       "t.conf:1 hsts-preload: hsts preload: no https-redirect; the HSTS preload list "
	       "requires http:// to redirect to https:// on the same host\n",
	       3);
	/* all there: https://HOST/ first on every host */
	expect("hsts max-age=1y include-subdomains preload\nhttps-redirect\n",
	       "//a.example/x /y 302\n//b.example/ /home 302\n", "", 0);
	/* an alias (or a rule for "/") goes to another host in one hop; an
	 * http:// rule keeps "/" plain */
	expect("hsts max-age=2y include-subdomains preload\nhttps-redirect\n"
	       "canonical-host a.example www.a.example\n",
	       "//www.a.example/x /y 302\n//b.example/ https://c.example/ 301\n"
	       "http://d.example/ /plain 302\n",
	       "t.rules:3 second-hop: the target /plain is redirected again by https-redirect: two "
	       "hops where one would do; write https://d.example/plain | fix: "
	       "https://d.example/plain\n"
	       "t.conf:1 hsts-preload: http://a.example/ goes to https://www.a.example/ in one "
	       "hop; "
	       "the HSTS preload list requires https://a.example/ first (the same host)\n"
	       "t.conf:1 hsts-preload: http://b.example/ goes to https://c.example/ in one hop; "
	       "the HSTS preload list requires https://b.example/ first (the same host)\n"
	       "t.conf:1 hsts-preload: http://d.example/ is answered by the http:// rule "
	       "t.rules:3, not redirected to https://d.example/ (the HSTS preload list requires "
	       "it)\n",
	       4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_nothing_configured),
	        cmocka_unit_test(test_second_hop),
	        cmocka_unit_test(test_preload),
	};
	return cmocka_run_group_tests_name("lint_canon", tests, NULL, NULL);
}
