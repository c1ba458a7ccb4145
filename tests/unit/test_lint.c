/* Unit tests for lib/lint.c: for each finding a small rules file and the
 * exact list of findings (line, code, message), then fixes and edits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_test.h"
#include "unit.h"

#include "detour/lint.h"
#include "detour/rulefile.h"
#include "detour/table.h"

/* "LINE code: message\n" for every finding. */
static char *render(const struct detour_lint_result *res)
{
	size_t cap = 1, n = 0;
	char *out;

	for (size_t i = 0; i < res->n; i++)
		cap += strlen(res->v[i].message) + 64;
	out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	for (size_t i = 0; i < res->n; i++) {
		const struct detour_lint_finding *f = &res->v[i];
		assert_string_equal(f->file, "t.rules");
		n += (size_t)snprintf(out + n, cap - n, "%u %s: %s\n", f->line,
		                      detour_lint_code_name(f->code), f->message);
	}
	return out;
}

struct lcase {
	const char *name;
	const char *rules;
	const char *want; /* render() of the findings */
	size_t errors, warnings;
};

static const struct lcase cases[] = {
        {"clean", "/a /b\n/c https://example.com/d 301 cache=1h\n/gone - 410\n", "", 0, 0},
        {"self", "/a /a\n", "1 self-redirect: redirects to itself: /a -> /a\n", 1, 0},
        {"self with a query", "/a /a?x=1 302\n",
         "1 self-redirect: redirects to itself: /a -> /a?x=1\n", 1, 0},
        {"self splat", "/a/* /a/:splat\n",
         "1 self-redirect: redirects to itself: /a/:splat -> /a/:splat (followed with an "
         "example value for :splat)\n",
         1, 0},
        {"loop of two", "/a /b\n/b /a\n",
         "1 loop: redirect loop: /a -> /b -> /a (t.rules:1, t.rules:2)\n", 1, 0},
        {"loop reported at its first rule", "/b /a\n/x /b\n/a /b\n",
         "1 loop: redirect loop: /b -> /a -> /b (t.rules:1, t.rules:3)\n"
         "2 loop: leads into the redirect loop of t.rules:1: /x -> /b -> /a -> /b\n",
         2, 0},
        {"loop through splat and pattern", "/a/* /b/:splat\n/b/:x /a/:x\n",
         "1 loop: redirect loop: /a/:splat -> /b/:splat -> /a/:splat (t.rules:1, t.rules:2) "
         "(followed with an example value for :splat)\n",
         1, 0},
        {"loop across hosts",
         "https://old.example.com/* https://example.com/:splat 302\n"
         "//example.com/x https://old.example.com/x\n",
         "1 loop: redirect loop: https://old.example.com/x -> https://example.com/x -> "
         "https://old.example.com/x (t.rules:1, t.rules:2)\n",
         1, 0},
        {"never ends", "/g/* /g/a/:splat\n",
         "1 loop: redirects never end: /g/:splat -> /g/a/:splat -> /g/a/a/:splat -> "
         "/g/a/a/a/:splat -> /g/a/a/a/a/:splat -> /g/a/a/a/a/a/:splat -> /g/a/a/a/a/a/a/:splat "
         "-> ... (more than 32 redirects, through t.rules:1) (followed with an example value "
         "for :splat)\n",
         1, 0},
        {"one-hop chain", "/a /b\n/b /c 302\n",
         "1 target-redirects: target /b is redirected again by t.rules:2 to /c; replace with: "
         "/a /c 307\n",
         0, 1},
        {"chain", "/a /b 302\n/b /c\n/c /d?x=1\n",
         "1 chain: /a -> /b -> /c -> /d?x=1: 3 redirects (t.rules:1, t.rules:2, t.rules:3); "
         "replace with: /a /d?x=1 302\n"
         "2 target-redirects: target /c is redirected again by t.rules:3 to /d?x=1; replace "
         "with: /b /d?x=1 307\n",
         0, 2},
        {"chain keeps options", "/a /b 308 cache=1d query=drop\n/b /c 308 cache=no-store\n",
         "1 target-redirects: target /b is redirected again by t.rules:2 to /c; replace with: "
         "/a /c 308 query=drop cache=1d\n",
         0, 1},
        {"chain of placeholders", "/old/:y/:p /mid/:p?y=:y\n/mid/* /new/:splat\n",
         "1 target-redirects: target /mid/:p?y=:y is redirected again by t.rules:2 to "
         "/new/:p?y=:y; replace with: /old/:y/:p /new/:p?y=:y 307 (followed with an example "
         "value for :y and :p)\n",
         0, 1},
        {"chain through a served host", "/a https://example.com/b\n//example.com/b /c\n",
         "1 target-redirects: target https://example.com/b is redirected again by t.rules:2 "
         "to /c; replace with: /a https://example.com/c 307\n",
         0, 1},
        {"leaving the table ends the walk", "/a https://elsewhere.example/b\n/b /c\n", "", 0, 0},
        {"chain on one host only", "/a /b\n//example.com/b /c\n",
         "1 target-redirects: on http://example.com: target /b is redirected again by "
         "t.rules:2 to /c; add before it: //example.com/a /c 307\n",
         0, 1},
        {"a 410 ends the walk", "/a /b\n/b - 410\n", "", 0, 0},
        {"shadowed exact by splat", "/blog/* /new/:splat\n/blog/about /about\n",
         "2 shadowed: never used: t.rules:1 (/blog/*) comes first and takes every request "
         "this rule matches\n",
         0, 1},
        {"shadowed splat by splat", "/a/* https://elsewhere.example/\n/a/b/* /y\n",
         "2 shadowed: never used: t.rules:1 (/a/*) comes first and takes every request this "
         "rule matches\n",
         0, 1},
        {"shadowed by the catch-all", "/* https://elsewhere.example/\n/p/:id /y\n",
         "2 shadowed: never used: t.rules:1 (/*) comes first and takes every request this "
         "rule matches\n",
         0, 1},
        {"shadowed pattern by pattern", "/d/:v/:p /x\n/d/v1/:p /y\n",
         "2 shadowed: never used: t.rules:1 (/d/:v/:p) comes first and takes every request "
         "this rule matches\n",
         0, 1},
        {"shadowed splat by a pattern with a tail",
         "/u/:id/* https://elsewhere.example/\n/u/7/* /y\n",
         "2 shadowed: never used: t.rules:1 (/u/:id/*) comes first and takes every request "
         "this rule matches\n",
         0, 1},
        {"a pattern without a tail does not cover a splat", "/u/:id /x\n/u/7/* /y\n", "", 0, 0},
        {"a placeholder does not take an empty segment", "/a/:x /x\n/a/ /y\n", "", 0, 0},
        {"narrower first is fine", "/blog/about /about\n/blog/* /new/:splat\n", "", 0, 0},
        {"host-less rule shadows a host rule",
         "/a/* https://elsewhere.example/\n//example.com/a/b /y\n",
         "2 shadowed: never used: t.rules:1 (/a/*) comes first and takes every request this "
         "rule matches\n",
         0, 1},
        {"host rule does not shadow a host-less one", "//example.com/a /x\n/a /y\n", "", 0, 0},
        {"wildcard shadows its subdomains",
         "//*.example.com/* https://elsewhere.example/\n//a.example.com/p /y\n",
         "2 shadowed: never used: t.rules:1 (//*.example.com/*) comes first and takes every "
         "request this rule matches\n",
         0, 1},
        {"wildcard shadows a deeper wildcard",
         "//*.example.com/* https://elsewhere.example/\n//*.a.example.com/q/* /y\n",
         "2 shadowed: never used: t.rules:1 (//*.example.com/*) comes first and takes every "
         "request this rule matches\n",
         0, 1},
        {"a wildcard does not cover its own apex",
         "//*.example.com/* https://elsewhere.example/\n//example.com/p /y\n", "", 0, 0},
        {"one scheme does not shadow both",
         "https://example.com/* https://elsewhere.example/\n//example.com/a /y\n", "", 0, 0},
        {"two schemes shadow both",
         "http://example.com/* https://example.com/:splat 302\n"
         "https://example.com/old/* /new 302\n//example.com/old/x /y\n",
         "3 shadowed: never used: t.rules:1 (http://example.com/*) comes first and takes every "
         "request this rule matches\n",
         0, 1},
        {"duplicate", "/x /y\n/x /y\n",
         "2 duplicate: duplicate of t.rules:1, which answers first: this line is never used\n", 0,
         1},
        {"conflict", "/x /y\n/x /z 302\n",
         "2 conflict: same source as t.rules:1, which answers first (307 /y): this rule (302 "
         "/z) is never used\n",
         1, 0},
        {"conflict of options", "/x /y 302\n/x /y 302 cache=1h\n",
         "2 conflict: same source as t.rules:1, which answers first (302 /y): this rule (302 "
         "/y) is never used\n",
         1, 0},
        {"different hosts are not duplicates", "//a.example/x /y\n//b.example/x /y\n", "", 0, 0},
        {"permanent without cache", "/a /b 301\n/c /d 308\n/e /f 301 cache=no-store\n",
         "1 permanent-no-cache: 301 without cache=: browsers keep a permanent redirect with no "
         "time limit, and it cannot be taken back\n"
         "2 permanent-no-cache: 308 without cache=: browsers keep a permanent redirect with no "
         "time limit, and it cannot be taken back\n",
         0, 2},
        {"post 301",
         "/api/* https://api2.example.com/:splat 301 method=POST,PUT cache=1h\n"
         "/form /thanks 302 method=POST\n"
         "/put /p 302 method=PUT\n",
         "1 method-change: 301 on a rule for POST/PUT: clients may follow it with a GET "
         "and lose the request body (RFC 9110 §15.4.2)\n"
         "2 method-change: 302 on a rule for POST: clients may follow it with a GET and "
         "lose the request body (RFC 9110 §15.4.3)\n"
         "3 method-change: 302 on a rule for PUT: clients may follow it with a GET and "
         "lose the request body (RFC 9110 §15.4.3)\n",
         0, 3},
        {"get 302 and post 307 are fine",
         "/a /b 302 method=GET,HEAD\n"
         "/c /d 307 method=POST\n"
         "/e /f 308 method=POST cache=1h\n",
         "", 0, 0},
        {"negated method admits POST", "/a /b 302 method=!GET,HEAD\n",
         "1 method-change: 302 on a rule for POST/PUT: clients may follow it with a GET "
         "and lose the request body (RFC 9110 §15.4.3)\n",
         0, 1},
        {"window ended",
         "/promo /contests/november 307 from=2026-11-01 until=2026-12-01\n"
         "/promo /contests\n",
         "1 window-ended: the time window ended at 2026-12-01T00:00:00Z (now "
         "2027-01-15T08:00:00Z): this rule never applies again\n",
         0, 1},
        {"window open or future",
         "/a /b 307 from=2026-11-01 until=2027-02-01\n"
         "/c /d 307 from=2027-03-01\n",
         "", 0, 0},
        {"window never opens", "/promo /x 307 from=2027-01-18 until=2027-01-19 days=sat\n",
         "1 window-never: the time window never opens: from=2027-01-18T00:00:00Z "
         "until=2027-01-19T00:00:00Z days=sat\n",
         0, 1},
        {"window no opening left", "/promo /x 307 until=2027-01-15T12:00:00Z days=sun\n",
         "1 window-ended: the time window has no opening left before "
         "until=2027-01-15T12:00:00Z (now 2027-01-15T08:00:00Z): this rule never "
         "applies again\n",
         0, 1},
        {"weights percentages",
         "/landing /landing-a 307 weight=60\n"
         "/landing /landing-b 307 weight=30\n",
         "1 weights: the weights of this group add up to 90, not 100: /landing-a gets "
         "60/90 (66.7%), /landing-b gets 30/90 (33.3%)\n",
         0, 1},
        {"weights ok",
         "/l /a 307 weight=50\n"
         "/l /b 307 weight=50\n"
         "/ab /a 307 weight=3\n"
         "/ab /b 307 weight=1\n",
         "", 0, 0},
        {"weights of one", "/solo /solo-a 307 weight=1\n",
         "1 weights: a weighted group of one: no other line has the source /solo and a "
         "weight=, so weight=1 splits nothing (and makes the answer private, no-store)\n",
         0, 1},
        {"open redirect scheme",
         "~^/out/(https?://[^/]+/.*)$ $1 302 allow-hosts=partner.example,shop.example\n"
         "~^/s/([a-z]+)/(.*)$ https://$1.example.com/$2 302 allow-hosts=www.example.com\n",
         "1 open-redirect: the target starts with a capture: a request chooses the "
         "whole Location, its scheme too (http:// to an allowed host, no TLS); only "
         "allow-hosts= (2 hosts) limits where visitors go\n",
         0, 1},
        {"conditional never shadows",
         "/a /b 307 if-cookie=beta\n"
         "/a /c\n"
         "/d/* /e 307 method=POST\n"
         "/d/x /f\n",
         "", 0, 0},
        {"unconditional shadows conditional",
         "/d/* /e\n"
         "/d/x /f 307 if-lang=fr\n",
         "2 shadowed: never used: t.rules:1 (/d/*) comes first and takes every request "
         "this rule matches\n",
         0, 1},
        {"group never shadows",
         "/l /a 307 weight=1\n"
         "/l /b 307 weight=1\n"
         "/l /c\n",
         "", 0, 0},
        {"case insensitive not shadowed by exact",
         "/old /new\n"
         "/old /newer case=insensitive\n",
         "", 0, 0},
        {"regex shadowed by splat",
         "/blog/* /new/:splat\n"
         "~^/blog/([0-9]+)$ /p/$1\n"
         "~^/blogs/(.*)$ /q/$1\n",
         "2 shadowed: never used: t.rules:1 (/blog/*) comes first and takes every "
         "request this rule matches\n",
         0, 1},
        {"regex shadowed by root splat",
         "/* /x\n"
         "~^/a/(.*)$ /q/$1\n",
         "1 self-redirect: redirects to itself: /x -> /x (followed with an example "
         "value for :splat)\n"
         "2 shadowed: never used: t.rules:1 (/*) comes first and takes every request "
         "this rule matches\n",
         1, 1},
        {"regex not shadowed by conditional splat",
         "/blog/* /new/:splat 307 if-cookie=x\n"
         "~^/blog/([0-9]+)$ /p/$1\n",
         "", 0, 0},
        {"may loop",
         "/a /b 307 if-cookie=beta\n"
         "/b /a\n",
         "1 may-loop: redirect loop: /a -> /b -> /a (t.rules:1, t.rules:2); only for "
         "some requests: t.rules:1 applies when if-cookie=beta\n",
         0, 1},
        {"may self", "/self /self 307 if-header=X-Test\n",
         "1 may-loop: redirects to itself: /self -> /self; only for some requests: "
         "t.rules:1 applies when if-header=X-Test\n",
         0, 1},
        {"may chain",
         "/c /d\n"
         "/d /e 307 if-lang=fr\n"
         "/e /f\n",
         "1 chain: /c -> /d -> /e -> /f: 3 redirects (t.rules:1, t.rules:2, t.rules:3); "
         "only for some requests: t.rules:2 applies when if-lang=fr\n"
         "2 target-redirects: target /e is redirected again by t.rules:3 to /f; replace "
         "with: /d /f 307 if-lang=fr\n",
         0, 2},
        {"chain kept conditions",
         "/d /e 307 if-lang=fr\n"
         "/e /f\n",
         "1 target-redirects: target /e is redirected again by t.rules:2 to /f; replace "
         "with: /d /f 307 if-lang=fr\n",
         0, 1},
        {"loop through group",
         "/ab /a 307 weight=3\n"
         "/ab /b 307 weight=1\n"
         "/a /ab\n",
         "1 may-loop: redirect loop: /ab -> /a -> /ab (t.rules:1, t.rules:3); only for "
         "some requests: t.rules:1 applies when weight=3\n",
         0, 1},
        /* regex-cost: prefix-less regexes ("" or "/") are tried on every
         * request; a literal prefix ending in '/' (^/blog/) is indexed */
        {"regex cost: 7 is under the threshold",
         "~\\.a$ /x 302\n~\\.b$ /x 302\n~\\.c$ /x 302\n~\\.d$ /x 302\n~\\.e$ /x 302\n"
         "~\\.f$ /x 302\n~^/(g|h)/ /x 302\n~^/blog/(.*)$ /n/$1 302\n~^/p/[0-9]+$ /q 302\n",
         "", 0, 0},
        /* (no prefix chain of DETOUR_TBL_HS_MIN_CHAIN regexes: none is in
         * the vectorscan database, every one runs alone) */
        {"regex cost: 8, one anchored on '/' only",
         "/first /x 302\n~\\.a$ /x 302\n~\\.b$ /x 302\n~\\.c$ /x 302\n"
         "~\\.d$ /x 302 case=insensitive\n~\\.e$ /x 302 case=insensitive\n"
         "~\\.f$ /x 302 case=insensitive\n~^/(g|h)/ /x 302\n~^/blog/(.*)$ /n/$1 302\n"
         "~^/c$ /x 302\n",
         "2 regex-cost: every request that no earlier rule answers runs 8 regexes (6 "
         "unanchored): none has a literal prefix to index it by; cost class moderate\n",
         0, 1},
        {"regex cost per host: caseless rules of a host and the regexes for every host",
         "//shop.example.com/:a/a /x 302 case=insensitive\n"
         "//shop.example.com/:a/b /x 302 case=insensitive\n"
         "//shop.example.com/:a/c /x 302 case=insensitive\n"
         "//shop.example.com/:a/d /x 302 case=insensitive\n"
         "~\\.e$ /x 302\n~\\.f$ /x 302\n~\\.g$ /x 302\n~\\.h$ /x 302 case=insensitive\n"
         "//other.example.com/:a/i /x 302 case=insensitive\n",
         "1 regex-cost: every request for shop.example.com that no earlier rule answers "
         "runs 8 regexes (4 unanchored): none has a literal prefix to index it by; cost "
         "class moderate\n",
         0, 1},
        /* A chain of 4 or more in the vectorscan database: one scan for all
         * of them, no regex-cost; one it cannot compile is a note. */
        {"regex cost: 9 in the vectorscan database",
         "~\\.a$ /x 302\n~\\.b$ /x 302\n~\\.c$ /x 302\n~\\.d$ /x 302\n~\\.e$ /x 302\n"
         "~\\.f$ /x 302\n~\\.g$ /x 302\n~(a)\\1/b$ /x 302\n~(?<=/x)/h$ /x 302\n",
         "", 0, 0},
        {"regex-pcre2: vectorscan cannot compile it",
         "~\\.a$ /x 302\n~\\.b$ /x 302\n~\\.c$ /x 302\n~/k/a\\Kb$ /x 302\n",
         "4 regex-pcre2: vectorscan cannot compile this regex (\\K at index 4 not supported): "
         "it stays on PCRE2 and is tried on its own, in file order, where the other regexes "
         "of its prefix cost one scan together\n",
         0, 0},
};

static void dump(const struct lcase *c, const char *got)
{
	fprintf(stderr, "case \"%s\":\n%s", c->name, got);
}

static void test_cases(void **state)
{
	(void)state;
	bool show = getenv("LINT_DUMP") != NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lcase *c = &cases[i];
		struct detour_table *t = build(c->rules);
		struct detour_lint_result res;
		struct detour_lint_opts o = {.now = 1800000000};
		assert_int_equal(detour_lint(t, &o, &res), DETOUR_OK);
		char *got = render(&res);
		if (show)
			dump(c, got);
		if (strcmp(got, c->want) != 0) {
			dump(c, got);
			fail_msg("case \"%s\"", c->name);
		}
		if (res.errors != c->errors || res.warnings != c->warnings)
			fail_msg("case \"%s\": %zu errors, %zu warnings", c->name, res.errors,
			         res.warnings);
		free(got);
		detour_lint_result_fini(&res);
		assert_null(res.v);
		detour_table_free(t);
	}
}

static const struct detour_lint_finding *find(const struct detour_lint_result *res,
                                              enum detour_lint_code code, unsigned line)
{
	for (size_t i = 0; i < res->n; i++)
		if (res->v[i].code == code && res->v[i].line == line)
			return &res->v[i];
	fail_msg("no %s finding at line %u", detour_lint_code_name(code), line);
	return NULL;
}

/* Fixes, edits and related rules. */
static void test_edits(void **state)
{
	(void)state;
	struct detour_lint_result res;
	struct detour_table *t = build("/a /b 302\n"
	                               "/b /c\n"
	                               "/c /d\n"
	                               "/p /q\n"
	                               "//example.com/q /r\n"
	                               "/x/* /y/:splat\n"
	                               "/y/* /z/:splat\n");

	assert_int_equal(detour_lint(t, NULL, &res), DETOUR_OK);
	const struct detour_lint_finding *f = find(&res, DETOUR_LINT_CHAIN, 1);
	assert_string_equal(f->fix, "/a /d 302");
	assert_int_equal(f->edit_kind, DETOUR_LINT_EDIT_TARGET);
	assert_string_equal(f->edit, "/d");
	assert_int_equal(f->nrelated, 2);
	assert_int_equal(f->related[0], 1);
	assert_int_equal(f->related[1], 2);
	assert_int_equal(f->rule, 0);

	f = find(&res, DETOUR_LINT_TARGET_REDIRECTS, 2);
	assert_int_equal(f->edit_kind, DETOUR_LINT_EDIT_TARGET);
	assert_string_equal(f->edit, "/d");

	f = find(&res, DETOUR_LINT_TARGET_REDIRECTS, 4);
	assert_int_equal(f->edit_kind, DETOUR_LINT_EDIT_INSERT);
	assert_string_equal(f->edit, "//example.com/p /r 307");
	assert_string_equal(f->fix, "//example.com/p /r 307");

	f = find(&res, DETOUR_LINT_TARGET_REDIRECTS, 6);
	assert_int_equal(f->edit_kind, DETOUR_LINT_EDIT_TARGET);
	assert_string_equal(f->edit, "/z/:splat");
	assert_int_equal(res.n, 4);
	assert_int_equal(res.errors, 0);
	assert_int_equal(res.warnings, 4);
	detour_lint_result_fini(&res);
	detour_table_free(t);

	/* loop and shadow findings name the rules involved */
	t = build("/a /b\n/b /a\n/b/* /c\n/b/x /d\n");
	assert_int_equal(detour_lint(t, NULL, &res), DETOUR_OK);
	f = find(&res, DETOUR_LINT_LOOP, 1);
	assert_int_equal(f->nrelated, 2);
	assert_int_equal(f->related[0], 0);
	assert_int_equal(f->related[1], 1);
	assert_null(f->edit);
	f = find(&res, DETOUR_LINT_SHADOWED, 4);
	assert_int_equal(f->nrelated, 1);
	assert_int_equal(f->related[0], 2);
	assert_string_equal(f->fix, "move this rule above t.rules:3, or remove it");
	detour_lint_result_fini(&res);
	detour_table_free(t);
}

/* Applying every TARGET edit gives a table without chains. */
static void test_fixed_table_has_no_chains(void **state)
{
	(void)state;
	const char *lines[] = {"/a /b 302", "/b /c", "/c /d", "/e/* /f/:splat", "/f/* /g/:splat"};
	size_t n = sizeof(lines) / sizeof(lines[0]);
	struct detour_lint_result res;
	char text[1024];
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n", lines[i]);
	struct detour_table *t = build(text);
	assert_int_equal(detour_lint(t, NULL, &res), DETOUR_OK);
	o = 0;
	for (size_t i = 0; i < n; i++) {
		const char *edit = NULL;
		for (size_t k = 0; k < res.n; k++)
			if (res.v[k].line == i + 1 && res.v[k].edit_kind == DETOUR_LINT_EDIT_TARGET)
				edit = res.v[k].edit;
		if (edit) {
			const char *sp = strchr(lines[i], ' ');
			const char *rest = strchr(sp + 1, ' ');
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%.*s %s%s\n",
			                      (int)(sp - lines[i]), lines[i], edit,
			                      rest ? rest : "");
		} else {
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n", lines[i]);
		}
	}
	assert_string_equal(text, "/a /d 302\n/b /d\n/c /d\n/e/* /g/:splat\n/f/* /g/:splat\n");
	detour_lint_result_fini(&res);
	detour_table_free(t);
	t = build(text);
	assert_int_equal(detour_lint(t, NULL, &res), DETOUR_OK);
	assert_int_equal(res.n, 0);
	detour_lint_result_fini(&res);
	detour_table_free(t);
}

static void test_names_and_source_text(void **state)
{
	(void)state;
	static const char *const want[DETOUR_LINT_CODE_COUNT] = {
	        "loop",          "self-redirect", "chain",        "target-redirects",
	        "shadowed",      "duplicate",     "conflict",     "permanent-no-cache",
	        "method-change", "window-ended",  "window-never", "weights",
	        "open-redirect", "may-loop",      "second-hop",   "hsts-preload",
	        "regex-cost",    "regex-pcre2",
	};
	for (int c = 0; c < DETOUR_LINT_CODE_COUNT; c++)
		assert_string_equal(detour_lint_code_name((enum detour_lint_code)c), want[c]);
	assert_string_equal(detour_lint_code_name(DETOUR_LINT_CODE_COUNT), "unknown");
	assert_int_equal(detour_lint_code_severity(DETOUR_LINT_LOOP), DETOUR_LINT_ERROR);
	assert_int_equal(detour_lint_code_severity(DETOUR_LINT_CHAIN), DETOUR_LINT_WARNING);
	assert_string_equal(detour_lint_severity_name(DETOUR_LINT_ERROR), "error");
	assert_string_equal(detour_lint_severity_name(DETOUR_LINT_WARNING), "warning");
	assert_int_equal(detour_lint_code_severity(DETOUR_LINT_REGEX_PCRE2), DETOUR_LINT_NOTE);
	assert_string_equal(detour_lint_severity_name(DETOUR_LINT_NOTE), "note");

	struct detour_table *t = build("/a /b\n/blog/* /x\n/d/:v/:p /y\n/u/:id/* /z\n"
	                               "https://*.example.com/s/* /w\n//example.org/e /v\n"
	                               "http://example.net/* /u\n");
	const struct detour_ruleset *rs = detour_table_rules(t);
	const char *src[] = {"/a",
	                     "/blog/*",
	                     "/d/:v/:p",
	                     "/u/:id/*",
	                     "https://*.example.com/s/*",
	                     "//example.org/e",
	                     "http://example.net/*"};
	char buf[256];
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(
		        detour_lint_source_text(rs, detour_ruleset_get(rs, i), buf, sizeof(buf)),
		        src[i]);
	/* truncated, still NUL-terminated */
	assert_string_equal(detour_lint_source_text(rs, detour_ruleset_get(rs, 1), buf, 4), "/bl");
	detour_table_free(t);
}

static void test_next_rule(void **state)
{
	(void)state;
	struct detour_table *t = build("/a /b\n/b /c 302\n/c - 410\n/d https://else.example/\n"
	                               "/e /e\n/f/* /b\n");
	const struct detour_ruleset *rs = detour_table_rules(t);
	int64_t want[] = {1, 2, -1, -1, 4, 1};

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(detour_lint_next_rule(t, detour_ruleset_get(rs, i)), want[i]);
	detour_table_free(t);
}

/* Conditions as text, and the next rule of a walk that may be taken. */
static void test_conditions_and_may(void **state)
{
	(void)state;
	struct detour_table *t = build("/a /b 307 if-cookie=x\n/a /c\n/b /d 307 method=GET\n/e /b\n"
	                               "/w /v 307 from=2026-11-01 until=2026-12-01T12:30:00+01:00 "
	                               "days=sat,sun hours=09:00-17:30\n/g /h 307 weight=3\n");
	const struct detour_ruleset *rs = detour_table_rules(t);
	static const char *const want[] = {"if-cookie=x",
	                                   "",
	                                   "method=GET",
	                                   "",
	                                   "from=2026-11-01T00:00:00Z until=2026-12-01T11:30:00Z "
	                                   "days=sun,sat hours=09:00-17:30",
	                                   "weight=3"};
	static const bool cond[] = {true, false, true, false, true, false};
	char buf[256];

	for (size_t i = 0; i < 6; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		assert_string_equal(detour_lint_conditions(rs, r, buf, sizeof(buf)), want[i]);
		assert_int_equal(detour_lint_conditional(rs, r), cond[i]);
	}
	assert_string_equal(detour_lint_conditions(rs, detour_ruleset_get(rs, 0), buf, 4), "if-");
	bool may = true;
	assert_int_equal(detour_lint_next_rule_at(t, detour_ruleset_get(rs, 3), 1800000000, &may),
	                 2);
	assert_true(may);
	assert_int_equal(detour_lint_next_rule_at(t, detour_ruleset_get(rs, 1), 1800000000, &may),
	                 -1);
	assert_false(may);
	/* the conditional rule 0 is followed from its own example: /b is rule 2 */
	assert_int_equal(detour_lint_next_rule_at(t, detour_ruleset_get(rs, 0), 1800000000, &may),
	                 2);
	assert_true(may);
	detour_table_free(t);
}

/* max_hops bounds every walk; a walk of distinct rules longer than it is a
 * chain, not a loop. */
static void test_max_hops(void **state)
{
	(void)state;
	char text[4096];
	size_t o = 0;
	struct detour_lint_result res;
	struct detour_lint_opts opts = {.max_hops = 4};

	for (int i = 0; i < 6; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "/p%d /p%d 302\n", i, i + 1);
	struct detour_table *t = build(text);
	assert_int_equal(detour_lint(t, &opts, &res), DETOUR_OK);
	const struct detour_lint_finding *f = find(&res, DETOUR_LINT_CHAIN, 1);
	assert_string_equal(f->message,
	                    "more than 4 redirects in a row: /p0 -> /p1 -> /p2 -> /p3 -> "
	                    "/p4 -> ...");
	assert_null(f->fix);
	f = find(&res, DETOUR_LINT_CHAIN, 2);
	assert_string_equal(f->message,
	                    "more than 4 redirects in a row: /p1 -> /p2 -> /p3 -> /p4 -> "
	                    "/p5 -> ...");
	f = find(&res, DETOUR_LINT_CHAIN, 3);
	assert_string_equal(f->message,
	                    "/p2 -> /p3 -> /p4 -> /p5 -> /p6: 4 redirects (t.rules:3, t.rules:4, "
	                    "t.rules:5, t.rules:6); replace with: /p2 /p6 302");
	assert_string_equal(f->edit, "/p6");
	assert_int_equal(res.errors, 0);
	detour_lint_result_fini(&res);
	detour_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cases),
	        cmocka_unit_test(test_edits),
	        cmocka_unit_test(test_fixed_table_has_no_chains),
	        cmocka_unit_test(test_names_and_source_text),
	        cmocka_unit_test(test_next_rule),
	        cmocka_unit_test(test_max_hops),
	        cmocka_unit_test(test_conditions_and_may),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
