/* Unit tests for lib/table.c: first match in file order across every index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_test.h"
#include "unit.h"

#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/table_explain.h"
#include "detour/table_match.h"

/* The line of the rule matching (host, https, path), 0 for none; m filled. */
static unsigned match(const struct detour_table *t, const char *host, bool https, const char *path,
                      struct detour_match *m)
{
	struct detour_match_req q = {
	        .host = host,
	        .host_len = host ? strlen(host) : 0,
	        .https = https,
	        .path = path,
	        .path_len = strlen(path),
	};
	struct guard g;
	struct detour_match local;
	unsigned line = 0;

	if (m == NULL)
		m = &local;
	/* the path ends at a guard page: the table must not read past it */
	q.path = guard_copy(&g, path, q.path_len);
	if (detour_table_match(t, &q, m)) {
		line = detour_ruleset_line(detour_table_rules(t), m->rule);
		/* slices must point into the request path (or be empty) */
		if (m->splat.p) {
			assert_true(m->splat.p >= q.path &&
			            m->splat.p + m->splat.len <= q.path + q.path_len);
			/* convert to offsets valid after the guard is gone */
			m->splat.p = path + (m->splat.p - q.path);
		}
		for (unsigned i = 0; i < m->ncaps; i++) {
			assert_true(m->caps[i].p >= q.path &&
			            m->caps[i].p + m->caps[i].len <= q.path + q.path_len);
			m->caps[i].p = path + (m->caps[i].p - q.path);
			const char *rp = detour_rule_path(detour_table_rules(t), m->rule);
			assert_true(m->names[i].p > rp &&
			            m->names[i].p + m->names[i].len <= rp + m->rule->path_len);
		}
	}
	guard_free(&g);
	return line;
}

static bool slice_is(struct detour_slice s, const char *want)
{
	return s.p != NULL && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

struct mcase {
	const char *host;
	bool https;
	const char *path;
	unsigned line;     /* 0: no match */
	const char *splat; /* NULL: no splat expected */
};

static void run_cases(const char *rules, const struct mcase *c, size_t n)
{
	struct detour_table *t = build(rules);
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		struct detour_match m;
		unsigned got = match(t, c[i].host, c[i].https, c[i].path, &m);
		bool splat_ok = true;
		if (got && c[i].splat)
			splat_ok = slice_is(m.splat, c[i].splat);
		else if (got)
			splat_ok = m.splat.p == NULL;
		if (got != c[i].line || !splat_ok) {
			print_message("host %s https %d path %s: line %u (want %u) splat %.*s "
			              "(want %s)\n",
			              c[i].host ? c[i].host : "(none)", c[i].https, c[i].path, got,
			              c[i].line, got && m.splat.p ? (int)m.splat.len : 6,
			              got && m.splat.p ? m.splat.p : "(none)",
			              c[i].splat ? c[i].splat : "(none)");
			bad++;
		}
	}
	detour_table_free(t);
	assert_int_equal(bad, 0);
}

#define RUN(rules, cases) run_cases(rules, cases, sizeof(cases) / sizeof(cases[0]))

static void test_exact(void **state)
{
	static const struct mcase c[] = {
	        {NULL, false, "/old-page", 1, NULL},   {"x.example", true, "/old-page", 1, NULL},
	        {NULL, false, "/old-page/", 1, NULL}, /* "@slash either", the default */
	        {NULL, false, "/old-page//", 0, NULL}, {NULL, false, "/a/b/", 2, NULL},
	        {NULL, false, "/old-pag", 0, NULL},    {NULL, false, "/old-pagex", 0, NULL},
	        {NULL, false, "/Old-Page", 0, NULL}, /* paths are case-sensitive */
	        {NULL, false, "/", 3, NULL},           {NULL, false, "/a/b", 2, NULL},
	        {NULL, false, "/a", 0, NULL},          {NULL, false, "", 0, NULL},
	        {NULL, false, "relative", 0, NULL},
	};
	RUN("/old-page /new-page 301\n/a/b /c\n/ /home\n/old-page /unreachable\n", c);
}

/* "@slash strict": the path must be exactly the source; "either" leaves one
 * final '/' out of the comparison, never making "/" and "//" equal. */
static void test_slash_policy(void **state)
{
	static const struct mcase strict[] = {
	        {NULL, false, "/a", 2, NULL},  {NULL, false, "/a/", 0, NULL},
	        {NULL, false, "/b/", 3, NULL}, {NULL, false, "/b", 0, NULL},
	        {NULL, false, "/", 4, NULL},   {NULL, false, "//", 0, NULL},
	};
	static const struct mcase either[] = {
	        {NULL, false, "/a", 2, NULL},   {NULL, false, "/a/", 2, NULL},
	        {NULL, false, "/b/", 3, NULL},  {NULL, false, "/b", 3, NULL},
	        {NULL, false, "/", 4, NULL},    {NULL, false, "//", 0, NULL},
	        {NULL, false, "/b//", 0, NULL}, {NULL, false, "/c/", 5, NULL},
	        {NULL, false, "/c", 5, NULL},   {NULL, false, "/a//", 0, NULL},
	};
	(void)state;
	RUN("@slash strict\n/a /1\n/b/ /2\n/ /3\n", strict);
	/* the first rule in file order wins among "/c" and "/c/" */
	RUN("@slash either\n/a /1\n/b/ /2\n/ /3\n/c /4\n/c/ /5\n", either);
}

static void test_splat(void **state)
{
	static const struct mcase c[] = {
	        {NULL, false, "/blog", 1, ""},           {NULL, false, "/blog/", 1, ""},
	        {NULL, false, "/blog/a", 1, "a"},        {NULL, false, "/blog/a/b", 1, "a/b"},
	        {NULL, false, "/blog//x", 1, "/x"},      {NULL, false, "/blogx", 3, "blogx"},
	        {NULL, false, "/blo", 3, "blo"},         {NULL, false, "/", 3, ""},
	        {NULL, false, "/docs/v1/x", 2, "x"},     {NULL, false, "/docs/v1", 2, ""},
	        {NULL, false, "/docs/v2", 3, "docs/v2"},
	};
	RUN("/blog/* https://blog.example.com/:splat\n/docs/v1/* /d/:splat\n/* /root/:splat\n", c);
}

static void test_first_match_order(void **state)
{
	/* a splat before an exact rule it covers wins; an exact rule before a
	 * splat that covers it wins; the same for patterns */
	static const struct mcase c[] = {
	        {NULL, false, "/a/x", 1, "x"},  /* splat (1) before exact (2) */
	        {NULL, false, "/a", 1, ""},     /* splat covers its bare prefix */
	        {NULL, false, "/b/x", 3, NULL}, /* exact (3) before splat (4) */
	        {NULL, false, "/b/y", 4, "y"},  /* the splat for the rest */
	        {NULL, false, "/c/x", 5, NULL}, /* pattern (5) before exact (6) */
	        {NULL, false, "/d/x", 7, NULL}, /* exact (7) before pattern (8) */
	        {NULL, false, "/d/y", 8, NULL}, /* pattern for the rest */
	        {NULL, false, "/e/f/g", 9, ""}, /* the deeper splat (9) comes first */
	        {NULL, false, "/e/f/g/h", 9, "h"},
	        {NULL, false, "/e/f", 10, "f"}, /* /e/ * (10) before /e/f/ * (11) */
	        {NULL, false, "/e/f/z", 10, "f/z"},
	        {NULL, false, "/e/g", 10, "g"},
	};
	RUN("/a/* /1\n/a/x /2\n/b/x /3\n/b/* /4\n/c/:n /5\n/c/x /6\n/d/x /7\n/d/:n /8\n"
	    "/e/f/g/* /9\n/e/* /10\n/e/f/* /11\n",
	    c);
}

static void test_splat_depth_order(void **state)
{
	static const struct mcase c[] = {
	        {NULL, false, "/e/f/g", 1, ""},
	        {NULL, false, "/e/f/x", 2, "x"},
	        {NULL, false, "/e/f", 2, ""},
	        {NULL, false, "/e/x", 3, "x"},
	};
	RUN("/e/f/g/* /1\n/e/f/* /2\n/e/* /3\n", c);
}

static void test_patterns(void **state)
{
	struct detour_table *t =
	        build("/docs/:version/:page /documentation/:page?v=:version\n" /* 1 */
	              "/u/:id/profile /profile/:id\n"                          /* 2 */
	              "/u/:id/* /users/:id/:splat\n"                           /* 3 */
	              "/:lang/about /about?l=:lang\n"                          /* 4 */
	              "/:a/:b/:c/:d /four\n");                                 /* 5 */
	struct detour_match m;

	assert_int_equal(match(t, NULL, false, "/docs/v1/intro", &m), 1);
	assert_int_equal(m.ncaps, 2);
	assert_true(slice_is(m.names[0], "version"));
	assert_true(slice_is(m.caps[0], "v1"));
	assert_true(slice_is(m.names[1], "page"));
	assert_true(slice_is(m.caps[1], "intro"));
	assert_null(m.splat.p);

	assert_int_equal(match(t, NULL, false, "/docs/v1", &m), 0);
	assert_int_equal(match(t, NULL, false, "/docs/v1/", &m), 0); /* empty capture */
	assert_int_equal(match(t, NULL, false, "/docs//intro", &m), 0);
	assert_int_equal(match(t, NULL, false, "/docs/v1/a/b", &m), 5);
	assert_int_equal(m.ncaps, 4);
	assert_true(slice_is(m.caps[3], "b"));
	assert_int_equal(match(t, NULL, false, "/docsx/v1/intro", &m), 0);

	assert_int_equal(match(t, NULL, false, "/u/7/profile", &m), 2);
	assert_true(slice_is(m.caps[0], "7"));
	assert_int_equal(match(t, NULL, false, "/u/7", &m), 3);
	assert_true(slice_is(m.splat, ""));
	assert_true(slice_is(m.caps[0], "7"));
	assert_int_equal(match(t, NULL, false, "/u/7/", &m), 3);
	assert_true(slice_is(m.splat, ""));
	assert_int_equal(match(t, NULL, false, "/u/7/x/y", &m), 3);
	assert_true(slice_is(m.splat, "x/y"));
	assert_int_equal(m.ncaps, 1);
	assert_int_equal(match(t, NULL, false, "/u", &m), 0);
	assert_int_equal(match(t, NULL, false, "/u/", &m), 0);

	assert_int_equal(match(t, NULL, false, "/en/about", &m), 4);
	assert_true(slice_is(m.caps[0], "en"));
	assert_int_equal(match(t, NULL, false, "/en/about/", &m), 0);
	assert_int_equal(match(t, NULL, false, "/u/about", &m), 3); /* 3 comes first */
	detour_table_free(t);
}

static void test_hosts(void **state)
{
	static const struct mcase c[] = {
	        /* host-specific before host-less */
	        {"a.example", false, "/x", 1, NULL},
	        {"b.example", false, "/x", 2, NULL},
	        {NULL, false, "/x", 2, NULL},
	        /* host-less before host-specific */
	        {"a.example", false, "/y", 3, NULL},
	        {"b.example", false, "/y", 3, NULL},
	        /* case, port and trailing dot of the Host header */
	        {"A.Example:8080", false, "/x", 1, NULL},
	        {"a.example.", false, "/x", 1, NULL},
	        {"a.example.:80", false, "/x", 1, NULL},
	        {"a.example..", false, "/x", 2, NULL},
	        {"[::1]:8080", false, "/z", 5, NULL},
	        {"[::1]", false, "/z", 5, NULL},
	        {"::1", false, "/z", 0, NULL},
	        {"", false, "/x", 2, NULL},
	        {"a.example", false, "/other", 0, NULL},
	};
	RUN("//a.example/x /1\n/x /2\n/y /3\n//a.example/y /4\n//[::1]/z /5\n", c);
}

static void test_wildcards(void **state)
{
	static const struct mcase c[] = {
	        {"a.example.com", false, "/w", 1, NULL},
	        {"a.b.example.com", false, "/w", 1, NULL},
	        {"A.B.Example.COM:443", false, "/w", 1, NULL},
	        {"example.com", false, "/w", 3, NULL}, /* not the apex */
	        {"xexample.com", false, "/w", 0, NULL},
	        {"a.example.org", false, "/w", 0, NULL},
	        /* exact host rule later than the wildcard: the wildcard wins */
	        {"x.example.com", false, "/w", 1, NULL},
	        /* an exact host rule earlier than the wildcard wins */
	        {"x.example.com", false, "/v", 4, NULL},
	        {"y.example.com", false, "/v", 5, NULL},
	        /* nested wildcards: the earlier one */
	        {"q.deep.example.com", false, "/n", 6, NULL},
	        {"q.example.com", false, "/n", 7, NULL},
	        {"deep.example.com", false, "/n", 7, NULL},
	        /* splats under wildcards */
	        {"s.example.com", false, "/s/t", 8, "t"},
	        {"example.com", false, "/s/t", 0, NULL},
	};
	RUN("//*.example.com/w /1\n//x.example.com/w /2\n//example.com/w /3\n"
	    "//x.example.com/v /4\n//*.example.com/v /5\n"
	    "//*.deep.example.com/n /6\n//*.example.com/n /7\n"
	    "//*.example.com/s/* /8\n",
	    c);
}

static void test_schemes(void **state)
{
	static const struct mcase c[] = {
	        {"h.example", true, "/p", 1, NULL},
	        {"h.example", false, "/p", 2, NULL},
	        {"h.example", true, "/q", 3, NULL},
	        {"h.example", false, "/q", 3, NULL}, /* "//host" is any scheme */
	        {"other", false, "/q", 4, NULL},
	        {"h.example", true, "/r/x", 5, "x"},
	        {"h.example", false, "/r/x", 6, "x"},
	        {"h.example", true, "/t/1", 7, NULL},
	        {"h.example", false, "/t/1", 8, NULL},
	        {"h.example", false, "/only-https", 0, NULL},
	        {"h.example", true, "/only-https", 9, NULL},
	        /* rules with an extension (a window, a weighted group) too */
	        {"h.example", true, "/w", 10, NULL},
	        {"h.example", false, "/w", 11, NULL},
	        {"h.example", true, "/g", 12, NULL},
	        {"h.example", false, "/g", 13, NULL},
	};
	RUN("https://h.example/p /1\nhttp://h.example/p /2\n"
	    "//h.example/q /3\n/q /4\n"
	    "https://h.example/r/* /5\n/r/* /6\n"
	    "https://h.example/t/:n /7\nhttp://h.example/t/:n /8\n"
	    "https://h.example/only-https /9\n"
	    "https://h.example/w /10 302 from=2000-01-01T00:00:00Z\n/w /11\n"
	    "https://h.example/g /12 307 weight=1\n/g /13\n",
	    c);
}

static void test_same_source_chain(void **state)
{
	/* rules with one source stay in file order on their chain; a rule the
	 * scheme filter skips lets the next one through */
	static const struct mcase c[] = {
	        {"h", true, "/same", 1, NULL},  {"h", false, "/same", 2, NULL},
	        {NULL, true, "/same", 2, NULL}, {"h", true, "/s/1", 5, NULL},
	        {"h", false, "/s/1", 4, NULL},  {"h", false, "/x", 6, NULL},
	};
	RUN("https://h/same /1\n/same /2\n/same /3\nhttp://h/s/:x /3b\n/s/:x /4\n"
	    "//h/x /y\n",
	    c);
}

static void test_host_requests_without_host_rules(void **state)
{
	static const struct mcase c[] = {
	        {"whatever.example:99", false, "/a", 1, NULL},
	        {NULL, true, "/a", 1, NULL},
	};
	RUN("/a /b\n", c);
}

static void test_long_host(void **state)
{
	char host[400];

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	memcpy(host + 300, ".example.com", 12);
	struct mcase c[] = {
	        {host, false, "/l", 2, NULL}, /* too long for a host: host-less rules only */
	        {"a.example.com", false, "/l", 1, NULL},
	};
	RUN("//*.example.com/l /1\n/l /2\n", c);
}

static void test_many_dots_host(void **state)
{
	/* a Host with more suffixes than a wildcard lookup keeps */
	char host[256];
	size_t n = 0;

	while (n + 2 < 240) {
		host[n++] = 'a';
		host[n++] = '.';
	}
	memcpy(host + n, "example.com", 12);
	struct mcase c[] = {
	        {host, false, "/m", 1, NULL},
	};
	RUN("//*.example.com/m /1\n/m /2\n", c);
}

static void test_empty_table(void **state)
{
	struct detour_table *t = build("# nothing\n");
	struct detour_match m;

	assert_int_equal(match(t, "h", false, "/", &m), 0);
	assert_int_equal(detour_ruleset_count(detour_table_rules(t)), 0);
	detour_table_free(t);
	detour_table_free(NULL);
}

/* Many rules of every kind, checked against a linear scan of the ruleset:
 * the indexes and the obvious definition agree. */
static unsigned linear(const struct detour_ruleset *rs, const char *host, bool https,
                       const char *path)
{
	char h[256];
	size_t hl = 0;

	if (host) {
		hl = strcspn(host, ":");
		memcpy(h, host, hl);
		for (size_t i = 0; i < hl; i++)
			if (h[i] >= 'A' && h[i] <= 'Z')
				h[i] = (char)(h[i] + 32);
	}
	h[hl] = '\0';
	for (size_t i = 0; i < detour_ruleset_count(rs); i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		if (r->scheme == DETOUR_SCHEME_HTTPS && !https)
			continue;
		if (r->scheme == DETOUR_SCHEME_HTTP && https)
			continue;
		size_t rhl;
		const char *rh = detour_ruleset_host(rs, r, &rhl);
		if (rhl) {
			if (r->flags & DETOUR_RULE_HOST_WILDCARD) {
				if (hl <= rhl || strcmp(h + hl - rhl, rh) != 0)
					continue;
			} else if (strcmp(h, rh) != 0) {
				continue;
			}
		}
		size_t pl = strlen(path);
		if (r->kind == DETOUR_SRC_EXACT) {
			size_t rl = r->path_len;
			bool either = detour_ruleset_slash(rs) == DETOUR_SLASH_EITHER;
			if (strcmp(detour_rule_path(rs, r), path) == 0)
				return detour_ruleset_line(rs, r);
			size_t kr = rl > 2 && detour_rule_path(rs, r)[rl - 1] == '/' ? rl - 1 : rl;
			size_t kp = pl > 2 && path[pl - 1] == '/' ? pl - 1 : pl;
			if (either && kr == kp && memcmp(detour_rule_path(rs, r), path, kr) == 0)
				return detour_ruleset_line(rs, r);
		} else if (r->kind == DETOUR_SRC_SPLAT) {
			size_t k = r->path_len;
			if ((pl >= k && memcmp(path, detour_rule_path(rs, r), k) == 0) ||
			    (pl + 1 == k && memcmp(path, detour_rule_path(rs, r), pl) == 0))
				return detour_ruleset_line(rs, r);
		} else {
			/* segment walk */
			const char *a = detour_rule_path(rs, r) + 1, *b = path + 1;
			bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0, ok = true;
			for (;;) {
				size_t al = strcspn(a, "/"), bl = strcspn(b, "/");
				if (tail && a[0] == '*' && a[1] == '\0')
					break;
				if (a[0] == ':') {
					if (bl == 0)
						ok = false;
				} else if (al != bl || memcmp(a, b, al) != 0) {
					ok = false;
				}
				if (!ok)
					break;
				a += al;
				b += bl;
				if (*a == '\0') {
					ok = *b == '\0';
					break;
				}
				if (*b == '\0') {
					/* "/u/:id/ *" matches "/u/7" */
					ok = tail && strcmp(a, "/*") == 0;
					break;
				}
				a++;
				b++;
			}
			if (ok)
				return detour_ruleset_line(rs, r);
		}
	}
	return 0;
}

static void test_against_linear_scan(void **state)
{
	static const char *hosts[] = {
	        NULL,        "h1.example", "x.h2.example", "H1.EXAMPLE:8443", "y.x.h2.example",
	        "h2.example"};
	static const char *segs[] = {"a", "b", "c", "p1", "p2", ""};
	char *text = malloc(1 << 20), line[256];
	size_t n = 0;
	unsigned seed = 12345;
#define RND(k) ((seed = seed * 1103515245u + 12345u), (seed >> 16) % (k))

	assert_non_null(text);
	for (unsigned i = 0; i < 3000; i++) {
		char src[128];
		size_t sl = 0;
		unsigned kind = RND(4), depth = 1 + RND(3), caps = 0;
		const char *pre[] = {"", "//h1.example", "https://h1.example", "//*.h2.example",
		                     "http://*.h2.example"};
		sl += (size_t)sprintf(src + sl, "%s", pre[RND(5)]);
		for (unsigned d = 0; d < depth; d++) {
			if (kind == 2 && RND(2) && caps < 3)
				sl += (size_t)sprintf(src + sl, "/:v%u", caps++);
			else
				sl += (size_t)sprintf(src + sl, "/%s", segs[RND(5)]);
		}
		if (kind == 1 || (kind == 2 && RND(2)))
			sl += (size_t)sprintf(src + sl, "/*");
		n += (size_t)snprintf(text + n, (1 << 20) - n, "%s /t%u\n", src, i);
	}
	text[n] = '\0';
	struct detour_table *t = build(text);
	const struct detour_ruleset *rs = detour_table_rules(t);
	int bad = 0;
	unsigned hits = 0;
	for (unsigned i = 0; i < 20000; i++) {
		size_t pl = 0;
		unsigned depth = 1 + RND(4);
		for (unsigned d = 0; d < depth; d++)
			pl += (size_t)sprintf(line + pl, "/%s", segs[RND(6)]);
		if (RND(4) == 0)
			pl += (size_t)sprintf(line + pl, "/");
		const char *host = hosts[RND(6)];
		bool https = RND(2);
		unsigned want = linear(rs, host, https, line);
		unsigned got = match(t, host, https, line, NULL);
		hits += got != 0;
		if (want != got && bad++ < 10)
			print_message("%s %s %s: got line %u want %u\n", host ? host : "-",
			              https ? "https" : "http", line, got, want);
	}
	assert_int_equal(bad, 0);
	assert_true(hits > 5000 && hits < 19000); /* both outcomes are exercised */
	detour_table_free(t);
	free(text);
#undef RND
}

/* 20,000 patterns that share their first segment ("/c/N/:id" and other
 * shapes with a literal prefix of 0 to 3 segments, some with a tail), checked
 * against the linear scan: patterns are keyed by their whole literal prefix,
 * and the answer is still the first match in file order. */
static void test_shared_prefix_patterns(void **state)
{
	size_t cap = 20000 * 48, n = 0;
	char *text = malloc(cap), line[128];
	unsigned seed = 777;
#define RND(k) ((seed = seed * 1103515245u + 12345u), (seed >> 16) % (k))

	assert_non_null(text);
	for (unsigned i = 0; i < 20000; i++) {
		unsigned a = RND(500), b = RND(20);
		switch (RND(8)) {
		case 0:
			n += (size_t)snprintf(text + n, cap - n, "/c/%u/:id/* /t%u\n", a, i);
			break;
		case 1:
			n += (size_t)snprintf(text + n, cap - n, "/c/:x/%u /t%u\n", b, i);
			break;
		case 2:
			n += (size_t)snprintf(text + n, cap - n, "/c/%u/%u/:y /t%u\n", a, b, i);
			break;
		case 3:
			n += (size_t)snprintf(text + n, cap - n, "/:a/%u/:b /t%u\n", a, i);
			break;
		case 4:
			n += (size_t)snprintf(text + n, cap - n, "/c/%u//:e /t%u\n", a, i);
			break;
		default:
			n += (size_t)snprintf(text + n, cap - n, "/c/%u/:id /t%u\n", a, i);
			break;
		}
	}
	struct detour_table *t = build(text);
	const struct detour_ruleset *rs = detour_table_rules(t);
	int bad = 0;
	unsigned hits = 0;
	for (unsigned i = 0; i < 4000; i++) {
		unsigned a = RND(520), b = RND(22);
		switch (RND(6)) {
		case 0:
			snprintf(line, sizeof(line), "/c/%u/x", a);
			break;
		case 1:
			snprintf(line, sizeof(line), "/c/%u/%u", a, b);
			break;
		case 2:
			snprintf(line, sizeof(line), "/c/%u/%u/z", a, b);
			break;
		case 3:
			snprintf(line, sizeof(line), "/d/%u/%u%s", a, b, RND(2) ? "/" : "");
			break;
		case 4:
			snprintf(line, sizeof(line), "/c/%u//q", a);
			break;
		default:
			snprintf(line, sizeof(line), "/c/%u/x/y/z", a);
			break;
		}
		unsigned want = linear(rs, NULL, false, line);
		unsigned got = match(t, NULL, false, line, NULL);
		hits += got != 0;
		if (want != got && bad++ < 10)
			print_message("%s: got line %u want %u\n", line, got, want);
	}
	assert_int_equal(bad, 0);
	assert_true(hits > 2000 && hits < 4000); /* both outcomes are exercised */
	/* the first "/c/7/:id" in the file answers "/c/7/x", not a later one */
	unsigned first = 0;
	for (size_t i = 0; i < detour_ruleset_count(rs) && !first; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		if (strcmp(detour_rule_path(rs, r), "/c/7/:id") == 0 ||
		    strcmp(detour_rule_path(rs, r), "/c/7/:id/*") == 0 ||
		    strcmp(detour_rule_path(rs, r), "/:a/7/:b") == 0)
			first = detour_ruleset_line(rs, r);
	}
	assert_int_not_equal(first, 0);
	assert_int_equal(match(t, NULL, false, "/c/7/x", NULL), first);
	detour_table_free(t);
	free(text);
#undef RND
}

/* detour_table_fill_match for a rule the table did not choose, and
 * detour_table_group_of. */
static void test_fill_match_and_groups(void **state)
{
	struct detour_table *t = build("/d/:v/:p /x/:p 301 method=POST\n"
	                               "/d/:v/:p /y/:p 301\n"
	                               "~^/r/([0-9]+)$ /z/$1 302\n"
	                               "/g /a 307 weight=1\n"
	                               "/other /b 301\n"
	                               "/g /c 307 weight=3\n"
	                               "/s/* /t/:splat\n");
	const struct detour_ruleset *rs = detour_table_rules(t);
	struct detour_match_req q = {.path = "/d/v1/page", .path_len = 10};
	struct detour_match m;

	/* a GET meets line 2; line 1 (method=POST) filled by hand */
	assert_true(detour_table_match(t, &q, &m));
	assert_int_equal(detour_ruleset_line(detour_table_rules(t), m.rule), 2);
	detour_table_fill_match(t, &q, detour_ruleset_get(rs, 0), &m);
	assert_int_equal(detour_ruleset_line(detour_table_rules(t), m.rule), 1);
	assert_non_null(m.ext);
	assert_int_equal(m.ncaps, 2);
	assert_true(slice_is(m.names[0], "v") && slice_is(m.caps[0], "v1"));
	assert_true(slice_is(m.names[1], "p") && slice_is(m.caps[1], "page"));
	assert_null(m.splat.p);
	assert_true(m.window_end == INT64_MAX && m.cookie == NULL && m.variant == 0);
	q.path = "/r/42";
	q.path_len = 5;
	detour_table_fill_match(t, &q, detour_ruleset_get(rs, 2), &m);
	assert_non_null(m.ext);
	assert_int_equal(m.ncaps, 1);
	assert_true(slice_is(m.caps[0], "42"));
	q.path = "/s/a/b";
	q.path_len = 6;
	detour_table_fill_match(t, &q, detour_ruleset_get(rs, 6), &m);
	assert_null(m.ext);
	assert_true(slice_is(m.splat, "a/b"));
	assert_int_equal(m.ncaps, 0);

	uint32_t first = 99, n = 99;
	assert_true(detour_table_group_of(t, 3, &first, &n));
	assert_int_equal(first, 3);
	assert_int_equal(n, 2);
	first = n = 99;
	assert_true(detour_table_group_of(t, 5, &first, &n));
	assert_int_equal(first, 3);
	assert_int_equal(n, 2);
	assert_false(detour_table_group_of(t, 4, &first, &n));
	assert_false(detour_table_group_of(t, 0, &first, &n));
	assert_false(detour_table_group_of(t, 1000, &first, &n));
	detour_table_free(t);
}

/* Patterns of 63 and more literal segments (where the per-host bit masks
 * saturate) match exactly as the linear scan says, and a path of thousands
 * of segments is searched in one pass: before, every '/' past the 63rd
 * probed every tail count up to the end (0.67 s of CPU for 8,000 slashes;
 * issue 11). The cost is measured in bench/, this checks the answers. */
static void test_deep_patterns(void **state)
{
	static const unsigned depths[] = {62, 63, 64, 65, 100};
	const size_t nd = sizeof(depths) / sizeof(depths[0]);
	char *text = malloc(64 * 1024), *path = malloc(16 * 1024);
	size_t n = 0;

	/* rule 2i+1: D segments "t<D>", a placeholder, a tail; rule 2i+2: D
	 * segments "e<D>" and a placeholder */
	for (size_t i = 0; i < nd; i++) {
		for (unsigned k = 0; k < depths[i]; k++)
			n += (size_t)sprintf(text + n, "/t%u", depths[i]);
		n += (size_t)sprintf(text + n, "/:x/* /tail%u/:x/:splat\n", depths[i]);
		for (unsigned k = 0; k < depths[i]; k++)
			n += (size_t)sprintf(text + n, "/e%u", depths[i]);
		n += (size_t)sprintf(text + n, "/:x /exact%u/:x\n", depths[i]);
	}
	struct detour_table *t = build(text);
	const struct detour_ruleset *rs = detour_table_rules(t);
	struct detour_match m;

	/* for each rule's segment name, every depth from 1 to 130 segments,
	 * with and without more segments after the placeholder */
	for (size_t i = 0; i < 2 * nd; i++) {
		for (unsigned len = 1; len <= 130; len++) {
			size_t pn = 0;
			for (unsigned k = 0; k + 1 < len; k++)
				pn += (size_t)sprintf(path + pn, "/%c%u", i % 2 ? 'e' : 't',
				                      depths[i / 2]);
			pn += (size_t)sprintf(path + pn, "/v");
			assert_int_equal(match(t, NULL, false, path, &m),
			                 linear(rs, NULL, false, path));
			sprintf(path + pn, "/more/segs");
			assert_int_equal(match(t, NULL, false, path, &m),
			                 linear(rs, NULL, false, path));
		}
	}
	n = 0;
	for (unsigned k = 0; k < 63; k++)
		n += (size_t)sprintf(path + n, "/t63");
	sprintf(path + n, "/v/w/x");
	assert_int_equal(match(t, NULL, false, path, &m), 3);
	assert_true(slice_is(m.caps[0], "v"));
	assert_true(slice_is(m.splat, "w/x"));
	n = 0;
	for (unsigned k = 0; k < 100; k++)
		n += (size_t)sprintf(path + n, "/e100");
	sprintf(path + n, "/v");
	assert_int_equal(match(t, NULL, false, path, &m), 10);
	assert_true(slice_is(m.caps[0], "v"));
	/* 8,000 slashes: no match, one pass */
	memset(path, '/', 8000);
	path[8000] = '\0';
	assert_int_equal(match(t, NULL, false, path, &m), 0);
	detour_table_free(t);
	free(path);
	free(text);
}

static void test_scale(void **state)
{
	/* 100k exact rules and a few splats: every rule finds itself */
	size_t cap = 100000 * 40, n = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	for (unsigned i = 0; i < 100000; i++)
		n += (size_t)snprintf(text + n, cap - n, "/old/path/%u /new/path/%u 301\n", i, i);
	n += (size_t)snprintf(text + n, cap - n, "/old/* /fallback\n");
	struct detour_table *t = build(text);
	char p[64];
	for (unsigned i = 0; i < 100000; i += 7) {
		snprintf(p, sizeof(p), "/old/path/%u", i);
		assert_int_equal(match(t, NULL, false, p, NULL), i + 1);
	}
	assert_int_equal(match(t, NULL, false, "/old/path/100000", NULL), 100001);
	assert_int_equal(match(t, NULL, false, "/new/path/1", NULL), 0);
	detour_table_free(t);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exact),
	        cmocka_unit_test(test_slash_policy),
	        cmocka_unit_test(test_splat),
	        cmocka_unit_test(test_first_match_order),
	        cmocka_unit_test(test_splat_depth_order),
	        cmocka_unit_test(test_patterns),
	        cmocka_unit_test(test_hosts),
	        cmocka_unit_test(test_wildcards),
	        cmocka_unit_test(test_schemes),
	        cmocka_unit_test(test_same_source_chain),
	        cmocka_unit_test(test_host_requests_without_host_rules),
	        cmocka_unit_test(test_long_host),
	        cmocka_unit_test(test_many_dots_host),
	        cmocka_unit_test(test_empty_table),
	        cmocka_unit_test(test_against_linear_scan),
	        cmocka_unit_test(test_shared_prefix_patterns),
	        cmocka_unit_test(test_fill_match_and_groups),
	        cmocka_unit_test(test_deep_patterns),
	        cmocka_unit_test(test_scale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
