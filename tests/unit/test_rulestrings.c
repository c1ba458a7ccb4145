/* lib/rulefile.c: the ruleset's one string block. Every rule's path and
 * target are at an offset in it, side by side (12-byte rules, issue 10), and
 * cache= is kept beside the rule. Files that slide their strings down in
 * place, files that cannot (a path that grew), a file with an extended rule
 * (kept whole) and lines added one at a time (which grow the block, and may
 * move it) all leave every earlier rule's strings, host, id and cache as
 * they were. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "detour/rulefile.h"

struct want {
	const char *path, *target, *host, *id;
	int32_t cache;
};

static void check(const struct detour_ruleset *rs, size_t i, const struct want *w)
{
	const struct detour_rule *r = detour_ruleset_get(rs, i);

	assert_non_null(r);
	assert_int_equal(detour_rule_index(rs, r), i);
	assert_string_equal(detour_rule_path(rs, r), w->path);
	assert_int_equal(r->path_len, strlen(w->path));
	assert_string_equal(detour_rule_target(rs, r), w->target);
	assert_int_equal(r->target_len, strlen(w->target));
	/* side by side: the target right after the path's NUL */
	assert_ptr_equal(detour_rule_target(rs, r), detour_rule_path(rs, r) + r->path_len + 1);
	assert_string_equal(detour_ruleset_host(rs, r, NULL), w->host);
	assert_string_equal(detour_ruleset_idval(rs, r, NULL), w->id);
	assert_int_equal(detour_rule_cache(rs, r), w->cache);
	assert_int_equal((r->flags & DETOUR_RULE_CACHE) != 0, w->cache != DETOUR_CACHE_UNSET);
}

static void test_one_block(void **state)
{
	static const struct want fixed[] = {
	        /* 1: a path that grows when normalised (to the arena): copied */
	        {"/%C3%A9%C3%A9%C3%A9", "/x", "", "", DETOUR_CACHE_UNSET},
	        {"/one", "/1", "h.example", "first", 60},
	        /* 2: slides in place, but the block is not empty: appended */
	        {"/a", "/b", "", "", DETOUR_CACHE_UNSET},
	        {"/gone", "", "", "g", DETOUR_CACHE_NO_STORE},
	        {"/c/", "https://x.example/:splat", ".w.example", "", 3600},
	        /* 3: an extended rule: the file joins the arena whole */
	        {"/post", "/p", "", "", DETOUR_CACHE_UNSET},
	        {"/after", "/q", "", "", 7200},
	};
	static const char f1[] = "/\xc3\xa9\xc3\xa9\xc3\xa9 /x\n"
	                         "//H.example/one /1 301 id=first cache=60\n";
	static const char f2[] = "# two\n/a /b\n\n/gone - 410 id=g cache=no-store\n"
	                         "//*.w.example/c/* https://x.example/:splat cache=1h\n";
	static const char f3[] = "/post /p method=POST\n/after /q cache=2h\n";
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char line[64], p[32], t[32];

	(void)state;
	assert_non_null(rs);
	assert_int_equal(sizeof(struct detour_rule), 12);
	assert_int_equal(detour_ruleset_load_buf(rs, "1", f1, sizeof(f1) - 1, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_load_buf(rs, "2", f2, sizeof(f2) - 1, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_load_buf(rs, "3", f3, sizeof(f3) - 1, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 7);
	for (size_t i = 0; i < 7; i++)
		check(rs, i, &fixed[i]);
	/* a failed line adds nothing, strings included */
	assert_int_equal(detour_ruleset_add_line(rs, "api", 1, "/x /y 999", 9, &d), DETOUR_EINVAL);
	assert_int_equal(detour_ruleset_count(rs), 7);
	/* 5,000 lines: the block grows (and moves) many times */
	for (unsigned k = 0; k < 5000; k++) {
		int n = snprintf(line, sizeof(line), "/api/%u /to/%u%s", k, k,
		                 k % 7 == 0 ? " cache=30" : "");
		assert_int_equal(detour_ruleset_add_line(rs, "api", k + 2, line, (size_t)n, &d),
		                 DETOUR_OK);
	}
	assert_int_equal(detour_ruleset_count(rs), 5007);
	for (size_t i = 0; i < 7; i++)
		check(rs, i, &fixed[i]);
	for (unsigned k = 0; k < 5000; k++) {
		snprintf(p, sizeof(p), "/api/%u", k);
		snprintf(t, sizeof(t), "/to/%u", k);
		struct want w = {p, t, "", "", k % 7 == 0 ? 30 : DETOUR_CACHE_UNSET};
		check(rs, 7 + k, &w);
	}
	detour_ruleset_free(rs);
}

/* A first file whose strings cannot slide: its last path grows (each byte
 * becomes %XX, in the arena) past the end of the file's own block. They are
 * copied instead (found by fuzz_rulefile). */
static void test_grown_last(void **state)
{
	char f[128], want[256];
	size_t o = 0, w = 0;
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	(void)state;
	o += (size_t)sprintf(f, "/x /y\n/");
	w += (size_t)sprintf(want, "/");
	for (int i = 0; i < 40; i++) {
		f[o++] = (char)0xdf;
		w += (size_t)sprintf(want + w, "%%DF");
	}
	o += (size_t)sprintf(f + o, " - 410\n");
	assert_int_equal(detour_ruleset_load_buf(rs, "g", f, o, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 2);
	check(rs, 0, &(struct want){"/x", "/y", "", "", DETOUR_CACHE_UNSET});
	check(rs, 1, &(struct want){want, "", "", "", DETOUR_CACHE_UNSET});
	detour_ruleset_free(rs);
	/* a grown path whose target is still in the file's block, where the
	 * path would be slid to (found by fuzz_rulefile) */
	static const char g[] = "//[:21]/z /w\n/caf\xc3\xff\xff\xa9 /cafe 301\n/* /roots:splat\n";
	rs = detour_ruleset_new();
	assert_int_equal(detour_ruleset_load_buf(rs, "g", g, sizeof(g) - 1, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 3);
	check(rs, 0, &(struct want){"/z", "/w", "[:21]", "", DETOUR_CACHE_UNSET});
	check(rs, 1, &(struct want){"/caf%C3%FF%FF%A9", "/cafe", "", "", DETOUR_CACHE_UNSET});
	check(rs, 2, &(struct want){"/", "/roots:splat", "", "", DETOUR_CACHE_UNSET});
	detour_ruleset_free(rs);
}

/* The common case: the first file's strings slide down inside its own
 * block, each target moved next to its path while the line was parsed (a
 * 410's "" is a NUL written there); hosts and ids were copied out first. */
static void test_slide_first(void **state)
{
	static const struct want w[] = {
	        {"/gone", "", "", "g1", DETOUR_CACHE_UNSET},
	        {"/a/b", "/c", "h.example", "", 60},
	        {"/d", "https://e.example/f?x=1", ".w.example", "last", DETOUR_CACHE_NO_STORE},
	};
	static const char f[] = "# comment\n/gone   -   410 id=g1\n\n"
	                        "  //H.Example/a/./b /c 301 cache=1m\r\n"
	                        "//*.w.example/d\thttps://e.example/f?x=1 id=last cache=no-store";
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	(void)state;
	assert_int_equal(detour_ruleset_load_buf(rs, "s", f, sizeof(f) - 1, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 3);
	for (size_t i = 0; i < 3; i++)
		check(rs, i, &w[i]);
	/* compacted: the three pairs and nothing else */
	assert_ptr_equal(detour_rule_path(rs, detour_ruleset_get(rs, 0)),
	                 detour_ruleset_strings(rs));
	assert_ptr_equal(detour_rule_path(rs, detour_ruleset_get(rs, 2)),
	                 detour_ruleset_strings(rs) + 6 + 1 + 5 + 3);
	detour_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_one_block),
	        cmocka_unit_test(test_grown_last),
	        cmocka_unit_test(test_slide_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
