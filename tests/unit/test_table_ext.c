/* Unit tests for lib/table_ext.c and lib/table_explain.c: weighted groups
 * and their choice, health-checked targets, group errors, the open-redirect
 * guard at match time, and explain. */
#include "detour/table_explain.h"
#include "detour/table_match.h"
#include "rules_test.h"

/* --------------------------------------------------------- weighted groups */

static void test_groups(void **state)
{
	struct detour_table *t = build("/landing /a 307 weight=3 sticky=cookie id=land\n"
	                               "/landing /b 307 weight=1\n"
	                               "/landing /never\n"
	                               "/dl/* https://m1.example.net/:splat weight=1 health=/ping "
	                               "sticky=ip\n"
	                               "/dl/* https://m2.example.net:8443/:splat weight=1 "
	                               "health=/ping\n");
	unsigned counts[2] = {0, 0};
	struct treq r;
	struct detour_match m;
	const struct detour_ruleset *rs = detour_table_rules(t);

	(void)state;
	for (unsigned i = 0; i < 10000; i++) {
		mkreq(&r, "GET", "/landing", NULL, NULL, 0);
		assert_true(detour_table_match(t, &r.q, &m));
		assert_true(detour_ruleset_line(rs, m.rule) == 1 ||
		            detour_ruleset_line(rs, m.rule) == 2);
		assert_string_equal(m.cookie, "detour-land");
		assert_int_equal(m.variant, detour_ruleset_line(rs, m.rule) - 1);
		counts[detour_ruleset_line(rs, m.rule) - 1]++;
	}
	/* within 2 percentage points of 75/25 */
	assert_true(counts[0] >= 7300 && counts[0] <= 7700);
	assert_int_equal(detour_table_variant_hits(t, 0), counts[0]);
	assert_int_equal(detour_table_variant_hits(t, 1), counts[1]);
	assert_int_equal(detour_table_variant_hits(t, 2), 0);

	/* the cookie keeps the visitor, and no Set-Cookie is needed then */
	static const char *ck1[] = {"Cookie: detour-land=1", NULL};
	for (unsigned i = 0; i < 50; i++) {
		mkreq(&r, "GET", "/landing", ck1, NULL, 0);
		assert_true(detour_table_match(t, &r.q, &m));
		assert_int_equal(detour_ruleset_line(rs, m.rule), 2);
		assert_null(m.cookie);
	}
	/* an unknown variant in the cookie draws again */
	static const char *ck9[] = {"Cookie: detour-land=9", NULL};
	mkreq(&r, "GET", "/landing", ck9, NULL, 0);
	assert_true(detour_table_match(t, &r.q, &m));
	assert_non_null(m.cookie);

	/* sticky=ip: one client, one mirror */
	char loc[1024], first[1024];
	unsigned l1 = line_of(t, "/dl/f", NULL, "192.0.2.7", 0, first);
	assert_int_equal(l1, strstr(first, "m2") ? 5 : 4);
	for (unsigned i = 0; i < 20; i++) {
		line_of(t, "/dl/f", NULL, "192.0.2.7", 0, loc);
		assert_string_equal(loc, first);
	}

	/* health: a down target leaves the group; all down: all are used */
	struct hc {
		unsigned n;
		char origin[2][64];
		uint32_t idx[2];
	} hc = {0};
	(void)rs;
	assert_int_equal(detour_table_health_targets(t, NULL, NULL), 2);
	detour_health_fn fn = NULL;
	(void)fn;
	assert_true(detour_table_healthy(t, 3));
	detour_table_set_healthy(t, 3, false);
	assert_false(detour_table_healthy(t, 3));
	for (unsigned i = 0; i < 20; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		line_of(t, "/dl/x", NULL, ip, 0, loc);
		assert_string_equal(loc, "https://m2.example.net:8443/x");
	}
	detour_table_set_healthy(t, 4, false);
	unsigned seen = 0;
	for (unsigned i = 0; i < 40; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		line_of(t, "/dl/x", NULL, ip, 0, loc);
		seen |= strstr(loc, "m1") ? 1 : 2;
	}
	assert_int_equal(seen, 3);
	detour_table_set_healthy(t, 0, false); /* not a health target: ignored */
	assert_true(detour_table_healthy(t, 2));
	(void)hc;
	detour_table_free(t);
}

static void health_cb(void *arg, uint32_t idx, const char *origin, const char *path)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%u %s %s;", idx, origin, path);
}

static void test_health_targets(void **state)
{
	struct detour_table *t = build("/x /y\n"
	                               "/dl/* https://m1.example.net/:splat weight=1 health=/ping\n"
	                               "/dl/* http://m2.example.net:81/a weight=2 health=/h?x=1\n"
	                               "/dl/* https://m3.example.net/ weight=2\n");
	char out[256] = "";

	(void)state;
	assert_int_equal(detour_table_health_targets(t, health_cb, out), 2);
	assert_string_equal(out,
	                    "1 https://m1.example.net /ping;2 http://m2.example.net:81 /h?x=1;");
	detour_table_free(t);
}

static void test_group_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"/a /b sticky=cookie",
	         "r:1:7: sticky= belongs to a weighted group: add weight=N to the rule"},
	        {"/a /b weight=0", "r:1:14: expected a weight from 1 to 1000000, found \"0\""},
	        {"/a /b weight=1 health=/p",
	         "r:1:4: health= probes the target's host: the target must be an http(s) URL"},
	        {"/a /b weight=1 sticky=session",
	         "r:1:23: expected cookie, ip or none for sticky=, found \"session\""},
	        {"/a - 410 weight=1",
	         "r:1:4: a weighted rule needs a target ('-' cannot be a variant)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

/* The open-redirect guard: a Location whose host comes from a capture must
 * be one of allow-hosts, else the rule does not apply. */
static void test_open_redirect_guard(void **state)
{
	struct detour_table *t =
	        build("~^/go/(https?://[^/]+/.*)$ $1 allow-hosts=a.example,b.example\n"
	              "~^/sub/([a-z]+)/(.*)$ https://$1.example/$2 allow-hosts=www.example\n"
	              "/go/* /refused\n"
	              "/sub/* /refused\n");
	char loc[1024];
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/go/https://a.example/x", 1, "https://a.example/x"},
	        {"/go/http://B.example/x", 1, "http://B.example/x"},
	        {"/go/https://evil.example/x", 3, "/refused"},
	        {"/go/https://a.example.evil.example/", 3, "/refused"},
	        {"/go/https://a.example@evil.example/", 3, "/refused"},
	        {"/sub/www/p", 2, "https://www.example/p"},
	        {"/sub/evil/p", 4, "/refused"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	detour_table_free(t);
}

static void explain_cb(void *arg, const char *line)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 2048 - n, "%s\n", line);
}

static void test_explain(void **state)
{
	struct detour_table *t = build("/a /b if-cookie=beta until=2026-12-01\n"
	                               "/a /c weight=1 sticky=cookie\n"
	                               "/a /d weight=3\n");
	const struct detour_ruleset *rs = detour_table_rules(t);
	static const char *ck[] = {"Cookie: detour-a5a5d5b0=1", NULL};
	struct treq r;
	char out[2048] = "";

	(void)state;
	mkreq(&r, "GET", "/a", NULL, NULL, T("2026-11-30T00:00:00Z"));
	assert_true(detour_table_source_matches(t, &r.q, detour_ruleset_get(rs, 0)));
	assert_false(detour_table_explain(t, &r.q, detour_ruleset_get(rs, 0), explain_cb, out));
	assert_string_equal(out, "window open at 2026-11-30T00:00:00Z, closes 2026-12-01T00:00:00Z "
	                         "(cache lifetimes cut to 86400 s)\n"
	                         "condition if-cookie=beta fails (no cookie beta)\n");
	out[0] = '\0';
	mkreq(&r, "GET", "/a", ck, NULL, T("2026-11-30T00:00:00Z"));
	assert_true(detour_table_explain(t, &r.q, detour_ruleset_get(rs, 1), explain_cb, out));
	assert_non_null(strstr(out, "group: 2 variants, sticky=cookie (cookie detour-"));
	assert_non_null(strstr(out, "variant 1: line 3 -> /d, weight 3 (75.0%)\n"));
	detour_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_groups),       cmocka_unit_test(test_health_targets),
	        cmocka_unit_test(test_group_errors), cmocka_unit_test(test_open_redirect_guard),
	        cmocka_unit_test(test_explain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
