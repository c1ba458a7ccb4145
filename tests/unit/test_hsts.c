/* Unit tests for lib/hsts.c: RFC 6797 §6.1 parsing, §8.1 noting, §8.2
 * matching, and the store file format (curl's --hsts format). */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "detour/hsts.h"

struct pcase {
	const char *v;
	detour_err err;
	int64_t age;
	bool sub;
};

static const struct pcase pcases[] = {
        {"max-age=31536000", DETOUR_OK, 31536000, false},
        {"max-age=0", DETOUR_OK, 0, false},
        {"max-age=10; includeSubDomains", DETOUR_OK, 10, true},
        {"  MAX-AGE = \"20\" ;INCLUDESUBDOMAINS ; preload", DETOUR_OK, 20, true},
        {";;max-age=5;;", DETOUR_OK, 5, false},
        {"max-age=5; foo=\"a;b\"", DETOUR_OK, 5, false},
        {"max-age=99999999999", DETOUR_OK, DETOUR_HSTS_MAX_AGE_CAP, false},
        {"includeSubDomains", DETOUR_EINVAL, 0, false},
        {"", DETOUR_EINVAL, 0, false},
        {"max-age=5; max-age=6", DETOUR_EINVAL, 0, false},
        {"max-age=5; includeSubDomains; includeSubDomains", DETOUR_EINVAL, 0, false},
        {"max-age=5; includeSubDomains=1", DETOUR_EINVAL, 0, false},
        {"max-age=-1", DETOUR_EINVAL, 0, false},
        {"max-age=1x", DETOUR_EINVAL, 0, false},
        {"max-age=", DETOUR_EINVAL, 0, false},
        {"max-age=\"5", DETOUR_EINVAL, 0, false},
        {"max-age=5 junk", DETOUR_EINVAL, 0, false},
        {"=5", DETOUR_EINVAL, 0, false},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct guard g;
		char *v = guard_copy(&g, c->v, strlen(c->v));
		int64_t age = -7;
		bool sub = true;
		detour_err err = detour_hsts_parse(v, strlen(c->v), &age, &sub);
		if (err != c->err || (!err && (age != c->age || sub != c->sub))) {
			fprintf(stderr, "case %zu '%s': err %d age %lld sub %d\n", i, c->v, err,
			        (long long)age, sub);
			fail();
		}
		guard_free(&g);
	}
}

static void test_note_and_match(void **state)
{
	(void)state;
	struct detour_hsts *s = detour_hsts_new();
	const char *v = "max-age=100; includeSubDomains";
	assert_int_equal(detour_hsts_note(s, "Example.COM.", 12, true, v, strlen(v), 1000),
	                 DETOUR_HSTS_NOTED);
	assert_int_equal(detour_hsts_note(s, "plain.test", 10, false, v, strlen(v), 1000),
	                 DETOUR_HSTS_IGNORED_HTTP);
	assert_int_equal(detour_hsts_note(s, "127.0.0.1", 9, true, v, strlen(v), 1000),
	                 DETOUR_HSTS_IGNORED_IP);
	assert_int_equal(detour_hsts_note(s, "[::1]", 5, true, v, strlen(v), 1000),
	                 DETOUR_HSTS_IGNORED_IP);
	assert_int_equal(detour_hsts_note(s, "x.test", 6, true, "bad", 3, 1000),
	                 DETOUR_HSTS_INVALID);
	assert_int_equal(detour_hsts_note(s, "a.localhost", 11, true, "max-age=50", 10, 1000),
	                 DETOUR_HSTS_NOTED);
	assert_int_equal(detour_hsts_count(s), 2);
	struct {
		const char *host;
		time_t now;
		bool want;
	} m[] = {
	        {"example.com", 1050, true},
	        {"EXAMPLE.com.", 1050, true},
	        {"www.example.com", 1050, true},
	        {"a.b.example.com", 1099, true},
	        {"example.com", 1100, false},
	        {"notexample.com", 1050, false},
	        {"a.localhost", 1049, true},
	        {"b.a.localhost", 1049, false},
	        {"localhost", 1049, false},
	        {"127.0.0.1", 1000, false},
	        {"", 1000, false},
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (detour_hsts_match(s, m[i].host, strlen(m[i].host), m[i].now) != m[i].want) {
			fprintf(stderr, "match %zu %s\n", i, m[i].host);
			fail();
		}
	/* A superdomain entry without includeSubDomains does not stop the
	 * search upward. */
	assert_int_equal(detour_hsts_add(s, "www.example.com", 15, 5000, false), DETOUR_OK);
	assert_true(detour_hsts_match(s, "x.www.example.com", 17, 1050));
	/* max-age=0 forgets (§8.1.1). */
	assert_int_equal(detour_hsts_note(s, "example.com", 11, true, "max-age=0", 9, 1050),
	                 DETOUR_HSTS_FORGOT);
	assert_false(detour_hsts_match(s, "www2.example.com", 16, 1050));
	assert_true(detour_hsts_match(s, "www.example.com", 15, 1050));
	detour_hsts_free(s);
	detour_hsts_free(NULL);
}

static void test_file(void **state)
{
	(void)state;
	struct detour_hsts *s = detour_hsts_new();
	const char *text = "# curl's format\n"
	                   ".sub.test \"20300101 00:00:00\"\n"
	                   "exact.test \"20300102 03:04:05\"\r\n"
	                   "\n"
	                   "old.test \"20000101 00:00:00\"\n"
	                   "forever.test unlimited\n"
	                   "  spaced.test   \"unlimited\"  \n";
	struct detour_diag d = {0};
	assert_int_equal(detour_hsts_load(s, "f", text, strlen(text), 1700000000, &d), DETOUR_OK);
	assert_int_equal(detour_hsts_count(s), 4);
	assert_true(detour_hsts_match(s, "a.sub.test", 10, 1700000000));
	assert_false(detour_hsts_match(s, "a.exact.test", 12, 1700000000));
	assert_false(detour_hsts_match(s, "old.test", 8, 1700000000));
	char *out;
	size_t len;
	assert_int_equal(detour_hsts_save(s, 1700000000, &out, &len), DETOUR_OK);
	const char *want = "exact.test \"20300102 03:04:05\"\n"
	                   "forever.test \"unlimited\"\n"
	                   "spaced.test \"unlimited\"\n"
	                   ".sub.test \"20300101 00:00:00\"\n";
	const char *body = strstr(out, "exact.test");
	assert_non_null(body);
	assert_string_equal(body, want);
	assert_int_equal(len, strlen(out));
	/* a saved store loads back the same */
	struct detour_hsts *s2 = detour_hsts_new();
	assert_int_equal(detour_hsts_load(s2, "g", out, len, 1700000000, &d), DETOUR_OK);
	assert_int_equal(detour_hsts_count(s2), 4);
	free(out);
	detour_hsts_free(s2);
	const char *bad[] = {"host \"2030\"\n", "ok.test \"20300101 00:00:00\"\nbad.test\n",
	                     ". \"unlimited\"\n", "127.0.0.1 unlimited\n"};
	unsigned lines[] = {1, 2, 1, 1};
	for (size_t i = 0; i < 4; i++) {
		memset(&d, 0, sizeof(d));
		assert_int_equal(detour_hsts_load(s, "f", bad[i], strlen(bad[i]), 0, &d),
		                 DETOUR_EINVAL);
		assert_int_equal(d.line, lines[i]);
	}
	detour_hsts_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_note_and_match),
	        cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests_name("hsts", tests, NULL, NULL);
}
