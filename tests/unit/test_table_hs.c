/* Unit tests for lib/table_hs.c: the regex rules of long prefix chains in
 * one vectorscan database. The oracle: a table of each rule alone (too small
 * for the database, so PCRE2 in the prefix index) says whether the rule
 * matches; the first one in file order must be what the whole table answers. */
#include <pthread.h>
#include <time.h>

#include "rules_test.h"
#include "table_int.h"

/* Exact, splat, placeholder and prefixed regex rules between prefix-less
 * regexes (several chains of DETOUR_TBL_HS_MIN_CHAIN or more: "" and "/",
 * case-sensitive and caseless), some of which vectorscan refuses (a
 * recursion, \K, \G) or takes only in prefilter mode (look-around, a
 * back-reference, an atomic group), conditions that fail after the scan
 * matched, empty matches and anchors. */
static const char *const mixed[] = {
        "/exact/a.php /t/exact-a",
        "~\\.php$ /t/php",
        "~^/(en|fr|de)/product-(\\d+) /t/product/$1/$2",
        "/blog/* /t/blog/:splat",
        "~/(a(?1)?b)/rec$ /t/rec-pcre2",
        "~^/(?<lang>en|fr)/about$ /t/about/:lang",
        "~\\.asp$ /t/asp-post 302 method=POST",
        "~(?<=/look)/(\\d+)$ /t/lookbehind/$1",
        "/c/:id /t/c/:id",
        "~^/(a+)\\1/double$ /t/backref",
        "~/k/a\\Kb$ /t/k-pcre2",
        "~\\.JSP$ /t/jsp case=insensitive",
        "~^/u/(.*)$ /t/u/$1",
        "~^/(?>a+)b/atomic$ /t/atomic",
        "~\\.HTML?$ /t/html-ci case=insensitive",
        "~\\.CFM$ /t/cfm-ci case=insensitive",
        "~/Shop/(\\d+) /t/shop-ci/$1 case=insensitive",
        "~^/caf%C3%A9(/.*)?$ /t/cafe",
        "~\\Gx$ /t/g-pcre2",
        "~^/(en|fr|de)/ /t/lang-any",
        "~\\.php$ /t/php-again",
        "~x*$ /t/empty-match",
        "~^ /t/everything",
};

static const char *const frags[] = {
        "/exact/a.php", "/a.php",     "/en/product-42", "/de/product-7/x",
        "/blog/x.php",  "/blog",      "/ab/rec",        "/aabb/rec",
        "/en/about",    "/fr/about",  "/x.asp",         "/look/12",
        "/c/9.php",     "/aa/double", "/aaaa/double",   "/k/ab",
        "/y.jsp",       "/y.JSP",     "/u/z",           "/aab/atomic",
        "/p.HTM",       "/p.html",    "/x.cfm",         "/Y.Cfm",
        "/a/shop/12",   "/SHOP/3",    "/caf%C3%A9",     "/caf%C3%A9/menu",
        "/x",           "/",          "/it/x",          "/xx",
        "/x.php/",      "/c/",        "/en/",
};

static char *join(const char *const *lines, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	char *s = malloc(len), *p = s;
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s\n", lines[i]);
	return s;
}

/* The line of the first rule of lines[0..n) that alone answers the request. */
static unsigned oracle(struct detour_table **alone, size_t n, const char *method, const char *path)
{
	for (size_t i = 0; i < n; i++) {
		struct treq r;
		mkreq(&r, method, path, NULL, NULL, 0);
		if (hit(alone[i], &r, NULL, 0))
			return (unsigned)i + 1;
	}
	return 0;
}

static void test_first_match_order(void **state)
{
	size_t n = sizeof(mixed) / sizeof(mixed[0]);
	char *text = join(mixed, n);
	struct detour_table *t = build(text), **alone = calloc(n, sizeof(*alone));
	char loc[1024], loc2[1024], path[256];

	(void)state;
	assert_non_null(alone);
	for (size_t i = 0; i < n; i++) {
		char line[256];
		snprintf(line, sizeof(line), "%s\n", mixed[i]);
		alone[i] = build(line);
		assert_null(alone[i]->hs);
	}
	/* The database holds the prefix-less regexes; the refused ones stay
	 * on PCRE2 with vectorscan's reason. */
	assert_non_null(t->hs);
	size_t refused = 0, owned = detour_tbl_hs_count(t->hs, &refused);
	assert_int_equal(refused, 3);
	assert_int_equal(owned, 16);
	assert_non_null(detour_tbl_hs_why(t->hs, 4)); /* recursion */
	assert_non_null(strstr(detour_tbl_hs_why(t->hs, 10), "\\K"));
	assert_non_null(detour_tbl_hs_why(t->hs, 18)); /* \G */
	assert_null(detour_tbl_hs_why(t->hs, 1));
	assert_true(detour_tbl_hs_owns(t->hs, 1));
	assert_true(detour_tbl_hs_owns(t->hs, 7));   /* look-behind: prefilter */
	assert_true(detour_tbl_hs_owns(t->hs, 9));   /* back-reference: prefilter */
	assert_false(detour_tbl_hs_owns(t->hs, 12)); /* prefix /u/, a chain of one */
	assert_false(detour_tbl_hs_owns(t->hs, 4));

	/* Every fragment and every pair of fragments, GET and POST. */
	size_t nf = sizeof(frags) / sizeof(frags[0]), checked = 0;
	for (size_t a = 0; a < nf; a++)
		for (size_t b = 0; b <= nf; b++)
			for (int post = 0; post < 2; post++) {
				snprintf(path, sizeof(path), "%s%s", frags[a],
				         b < nf ? frags[b] : "");
				const char *m = post ? "POST" : "GET";
				struct treq r;
				mkreq(&r, m, path, NULL, NULL, 0);
				unsigned got = hit(t, &r, loc, sizeof(loc));
				unsigned want = oracle(alone, n, m, path);
				if (got != want)
					fail_msg("%s %s: line %u, want %u", m, path, got, want);
				mkreq(&r, m, path, NULL, NULL, 0);
				assert_int_equal(hit(alone[want - 1], &r, loc2, sizeof(loc2)), 1);
				if (strcmp(loc, loc2) != 0)
					fail_msg("%s %s: Location %s, want %s", m, path, loc, loc2);
				checked++;
			}
	assert_true(checked > 2000);
	for (size_t i = 0; i < n; i++)
		detour_table_free(alone[i]);
	free(alone);
	detour_table_free(t);
	free(text);
}

/* Captures come from PCRE2 running the winner; named groups, caseless
 * rules and the answers of rules vectorscan refused. */
static void test_captures(void **state)
{
	size_t n = sizeof(mixed) / sizeof(mixed[0]);
	char *text = join(mixed, n), loc[1024];
	struct detour_table *t = build(text);
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/exact/a.php", 1, "/t/exact-a"},
	        {"/b/a.php", 2, "/t/php"},
	        {"/fr/product-123/x", 3, "/t/product/fr/123"},
	        {"/blog/a.asp", 4, "/t/blog/a.asp"},
	        {"/ab/rec", 5, "/t/rec-pcre2"},
	        {"/x/aabb/rec", 5, "/t/rec-pcre2"},
	        {"/en/about", 6, "/t/about/en"},
	        {"/look/77", 8, "/t/lookbehind/77"},
	        {"/c/x", 9, "/t/c/x"},
	        {"/aaaa/double", 10, "/t/backref"},
	        {"/aaa/double", 0, "/t/empty-match"}, /* line 22 answers: see below */
	        {"/k/ab", 11, "/t/k-pcre2"},
	        {"/y.Jsp", 12, "/t/jsp"},
	        {"/u/v.asp", 13, "/t/u/v.asp"},
	        {"/aab/atomic", 14, "/t/atomic"},
	        {"/P.Htm", 15, "/t/html-ci"},
	        {"/X.CFM", 16, "/t/cfm-ci"},
	        {"/x/SHOP/55", 17, "/t/shop-ci/55"},
	        {"/caf%C3%A9/menu", 18, "/t/cafe"},
	        {"/de/y", 20, "/t/lang-any"},
	        {"/q", 22, "/t/empty-match"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned want = c[i].line ? c[i].line : 22;
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != want || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, want,
			         c[i].loc);
	}
	detour_table_free(t);
	free(text);
}

/* Regex sources have no host; a host's rules before and after them keep
 * their place in file order, and a method= condition is checked after the
 * scan. */
static void test_hosts(void **state)
{
	struct detour_table *t = build("//a.example/x.php /t/a-exact\n"
	                               "~\\.php$ /t/php-post 302 method=POST\n"
	                               "~\\.php$ /t/php\n"
	                               "~\\.asp$ /t/asp\n"
	                               "~\\.jsp$ /t/jsp\n"
	                               "//b.example/y.php /t/b-never\n");
	static const struct {
		const char *host, *path, *loc;
		bool post;
	} c[] = {
	        {"a.example", "/x.php", "/t/a-exact", false},
	        {"A.Example:8080", "/x.php", "/t/a-exact", true},
	        {"b.example", "/x.php", "/t/php", false},
	        {"b.example", "/y.php", "/t/php", false},
	        {"b.example", "/y.php", "/t/php-post", true},
	        {NULL, "/z.jsp", "/t/jsp", false},
	};

	(void)state;
	assert_int_equal(detour_tbl_hs_count(t->hs, NULL), 4);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct treq r;
		char loc[1024];
		mkreq(&r, c[i].post ? "POST" : "GET", c[i].path, NULL, NULL, 0);
		r.q.host = c[i].host;
		r.q.host_len = c[i].host ? strlen(c[i].host) : 0;
		assert_true(hit(t, &r, loc, sizeof(loc)) > 0);
		if (strcmp(loc, c[i].loc) != 0)
			fail_msg("%s %s: %s, want %s", c[i].host, c[i].path, loc, c[i].loc);
	}
	detour_table_free(t);
}

/* The backtracking limit holds on the JIT path (pcre2_jit_match with the
 * match context): (a+)+$ on 40 a's and a '!' gives up, quickly, as no match. */
static void test_backtracking_limit(void **state)
{
	struct detour_table *t = build("~^/(a+)+$ /t/a\n");
	char path[64] = "/";

	(void)state;
	memset(path + 1, 'a', 40);
	strcpy(path + 41, "!");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(line_of(t, path, NULL, NULL, 0, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	path[41] = '\0';
	assert_int_equal(line_of(t, path, NULL, NULL, 0, NULL), 1);
	detour_table_free(t);
}

/* Workers scan at once, each with its own scratch space. */
struct thr {
	const struct detour_table *t;
	int bad;
};

static void *worker(void *p)
{
	struct thr *a = p;
	char path[64];

	for (int i = 0; i < 20000; i++) {
		struct detour_match m;
		unsigned k = (unsigned)(i * 7919) % 1000;
		snprintf(path, sizeof(path), "/x/%u/item-%u.html", k, i);
		struct detour_match_req q = {.path = path, .path_len = strlen(path)};
		if (!detour_table_match(a->t, &q, &m) ||
		    detour_ruleset_line(detour_table_rules(a->t), m.rule) != k + 1)
			a->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	size_t cap = 1 << 16, n = 0;
	char *text = malloc(cap);

	(void)state;
	for (unsigned i = 0; i < 1000; i++)
		n += (size_t)snprintf(text + n, cap - n, "~/%u/item-(\\d+)\\.html$ /i/%u/$1\n", i,
		                      i);
	struct detour_table *t = build(text);
	assert_int_equal(detour_tbl_hs_count(t->hs, NULL), 1000);
	pthread_t th[3];
	struct thr a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = (struct thr){t, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	detour_table_free(t);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_first_match_order),
	        cmocka_unit_test(test_captures),
	        cmocka_unit_test(test_hosts),
	        cmocka_unit_test(test_backtracking_limit),
	        cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
