/* Unit tests for lib/rulefile.c: the rules file -> ruleset; and
 * lib/rules_load.c: rules files -> table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

#include "base/value.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"
#include "detour/table_match.h"

/* Loads text as "r.rules"; returns the ruleset (caller frees) and fills *e,
 * and the formatted diag into msg. */
static struct detour_ruleset *load(const char *text, size_t len, detour_err *e, char *msg,
                                   size_t cap)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	memset(&d, 0, sizeof(d));
	assert_non_null(rs);
	*e = detour_ruleset_load_buf(rs, "r.rules", text, len, &d);
	msg[0] = '\0';
	if (*e)
		detour_diag_format(&d, msg, cap);
	return rs;
}

static struct detour_ruleset *load_ok(const char *text)
{
	char msg[512];
	detour_err e;
	struct detour_ruleset *rs = load(text, strlen(text), &e, msg, sizeof(msg));

	if (e)
		fail_msg("unexpected error: %s", msg);
	return rs;
}

static int check_error(const char *text, size_t len, const char *want)
{
	char msg[512];
	detour_err e;
	struct detour_ruleset *rs = load(text, len, &e, msg, sizeof(msg));
	int bad = e != DETOUR_EINVAL || strcmp(msg, want) != 0;

	if (bad)
		print_message("input %.*s\n got: %s\nwant: %s\n", (int)len, text, msg, want);
	detour_ruleset_free(rs);
	return bad;
}

static void expect_error(const char *text, size_t len, const char *want)
{
	assert_int_equal(check_error(text, len, want), 0);
}

static const struct errcase {
	const char *in;
	const char *want;
} errors[] = {
        /* status */
        {"/a /b 30x", "r.rules:1:7: expected a status (301, 302, 303, 307, 308, 410, temporary, "
                      "permanent, html) or an "
                      "option NAME=VALUE, found \"30x\""},
        {"/a /b 404", "r.rules:1:7: unsupported status 404: expected 301, 302, 303, 307, 308 "
                      "or 410"},
        {"/a /b 3010", "r.rules:1:7: unsupported status 3010: expected 301, 302, 303, 307, "
                       "308 or 410"},
        {"/a /b 301 302", "r.rules:1:11: a second status \"302\" (the status is 301)"},
        {"/a /b id=x 301",
         "r.rules:1:12: the status must come right after the target, found \"301\""},
        /* fields */
        {"/a", "r.rules:1:3: expected a target after the source: a path, an http(s) URL, or "
               "'-' (with status 410)"},
        {"  /a   # comment", "r.rules:1:5: expected a target after the source: a path, an "
                             "http(s) URL, or '-' (with status 410)"},
        {"a /b", "r.rules:1:1: expected a source: a path starting with '/' or a URL "
                 "(https://host/path, http://host/path, //host/path), found \"a\""},
        {"/a b", "r.rules:1:4: expected a target: a path starting with '/', an http:// or "
                 "https:// URL, or '-' (with status 410), found \"b\""},
        {"/a ftp://x/y", "r.rules:1:4: expected a target: a path starting with '/', an "
                         "http:// or https:// URL, or '-' (with status 410), found "
                         "\"ftp://x/y\""},
        {"/a //b/c", "r.rules:1:4: a target starting with \"//\" leaves the scheme to the "
                     "client; write https://host/..."},
        {"/a https:///x", "r.rules:1:12: expected a host in the target URL"},
        {"/a\x01 /b", "r.rules:1:3: unexpected control character 0x01"},
        {"/a /b\rx", "r.rules:1:6: unexpected control character 0x0D"},
        {"/a /b 301\x0b", "r.rules:1:10: unexpected control character 0x0B"},
        /* source path */
        {"/a%zz /b", "r.rules:1:3: invalid percent-escape in the source path: '%' must be "
                     "followed by two hex digits (write %25 for a literal '%')"},
        {"/a?x=1 /b", "r.rules:1:3: '?' in a source: rules match the path only (write %3F for "
                      "a literal '?')"},
        {"/a/b#top /b", "r.rules:1:5: '#' in a source: the fragment is never sent to the "
                        "server (write %23 for a literal '#')"},
        {"/a\x7f /b", "r.rules:1:3: unexpected control character 0x7F in the source path"},
        {"/a /caf\xc3\xa9", "r.rules:1:8: invalid byte 0xC3 in the target: non-ASCII must be "
                            "percent-encoded (UTF-8 bytes as %XX)"},
        {"/a/*/b /c", "r.rules:1:4: a splat \"*\" must be the last segment of the source (as "
                      "in \"/blog/*\")"},
        /* placeholders */
        {"/a/:1x /b", "r.rules:1:4: a placeholder is a whole segment \":name\" (letters, "
                      "digits and '_', not starting with a digit), found \":1x\""},
        {"/a/:x.html /b", "r.rules:1:4: a placeholder is a whole segment \":name\" (letters, "
                          "digits and '_', not starting with a digit), found \":x.html\""},
        {"/a/: /b", "r.rules:1:4: expected a placeholder name after ':'"},
        {"/a/:x/:x /b", "r.rules:1:7: placeholder \":x\" appears twice in the source"},
        {"/a/:splat /b",
         "r.rules:1:4: \":splat\" is reserved for the part matched by a final \"*\""},
        {"/:a/:b/:c/:d/:e/:f/:g/:h/:i/:j/:k/:l/:m/:n/:o/:p/:q /x",
         "r.rules:1:50: more than 16 placeholders in the source"},
        {"/docs/:v /x/:w", "r.rules:1:13: unknown placeholder \":w\" in the target (the "
                           "source defines :v)"},
        {"/docs/:v/* /x/:w?:vv", "r.rules:1:15: unknown placeholder \":w\" in the target "
                                 "(the source defines :v, :splat)"},
        {"/docs /x/:splat", "r.rules:1:10: unknown placeholder \":splat\" in the target (the "
                            "source defines none; write %3A for a literal ':')"},
        {"/a/:b https://u:b@x.example/",
         "r.rules:1:16: a capture in the target's scheme or host can redirect to any site: "
         "name the hosts it may reach with allow-hosts=a.com,b.com (or keep captures in the "
         "path, query or fragment)"},
        {"/a/:b https://:b.example.com/", "r.rules:1:7: invalid target "
                                          "\"https://:b.example.com/\""},
        /* hosts */
        {"https://example.com:8080/a /b", "r.rules:1:20: a port is not allowed in a source "
                                          "host (rules match the request's host without its "
                                          "port), found \":8080\""},
        {"//[::1]:80/a /b", "r.rules:1:8: a port is not allowed in a source host (rules match "
                            "the request's host without its port), found \":80\""},
        {"https://example.com /b", "r.rules:1:20: expected a path after the host (write "
                                   "\"https://example.com/*\" to match every path of the "
                                   "host)"},
        {"https:///a /b", "r.rules:1:9: expected a host name after \"https://\""},
        {"//*./a /b", "r.rules:1:5: expected a host name after \"//*.\""},
        {"//ex*ample.com/a /b", "r.rules:1:5: '*' is only allowed as \"*.\" at the start of a "
                                "host (\"*.example.com\")"},
        {"http://a..b/x /y", "r.rules:1:10: empty label in the source host"},
        {"//u@h/x /y", "r.rules:1:4: user information (\"user@\") is not allowed in a host"},
        {"//h%41/x /y", "r.rules:1:4: invalid character '%' in the source host"},
        {"//[::1/x /y", "r.rules:1:3: expected ']' to close the IP literal in the source host"},
        {"//[::g]/x /y", "r.rules:1:6: invalid character 'g' in an IP literal"},
        {"//[::1]x/x /y", "r.rules:1:8: unexpected \"x\" after the IP literal"},
        {"//h\xc3\xa9/x /y", "r.rules:1:4: invalid byte 0xC3 in the source host: write an "
                             "internationalised name in its xn-- (punycode) form"},
        {"//h\x7f/x /y", "r.rules:1:4: unexpected control character 0x7F in the host"},
        {"//./x /y", "r.rules:1:3: expected a host name after \"//\""},
        {"https://h:/x /y", "r.rules:1:10: a port is not allowed in a source host (rules match "
                            "the request's host without its port), found \":\""},
        /* targets */
        {"/a /b%zz", "r.rules:1:6: invalid percent-escape in the target: '%' must be followed "
                     "by two hex digits (write %25 for a literal '%')"},
        {"/a /b|c", "r.rules:1:6: invalid character '|' in the target (write it "
                    "percent-encoded)"},
        {"/a /b#c#d", "r.rules:1:4: invalid target \"/b#c#d\""},
        /* 410 */
        {"/gone /x 410", "r.rules:1:7: a 410 rule takes '-' as its target (there is nothing "
                         "to redirect to), found \"/x\""},
        {"/gone -", "r.rules:1:7: '-' (no target) needs status 410"},
        {"/gone - 301", "r.rules:1:7: '-' (no target) needs status 410, found 301"},
        /* options */
        {"/a /b 301 foo=1",
         "r.rules:1:11: unknown option \"foo\" (known options: query, cache, id, method, "
         "if-header, "
         "if-cookie, if-query, if-ip, if-lang, from, until, days, hours, tz, weight, sticky, "
         "health, delay, case, private, allow-hosts)"},
        {"/a /b query", "r.rules:1:7: expected a status (301, 302, 303, 307, 308, 410, temporary, "
                        "permanent, html) or an "
                        "option NAME=VALUE, found \"query\""},
        {"/a /b 301 query", "r.rules:1:11: expected an option NAME=VALUE, found \"query\""},
        {"/a /b =x", "r.rules:1:7: expected an option NAME=VALUE, found \"=x\""},
        {"/a /b query=keep cache=1h query=drop",
         "r.rules:1:27: option \"query\" given twice (first at column 7)"},
        {"/a /b query=all", "r.rules:1:13: expected keep, drop or merge for query=, found "
                            "\"all\""},
        {"/a /b query=", "r.rules:1:13: expected keep, drop or merge for query=, found \"\""},
        {"/a /b cache=0", "r.rules:1:13: cache=0 is a zero lifetime: use cache=no-store"},
        {"/a /b cache=0s", "r.rules:1:13: cache=0s is a zero lifetime: use cache=no-store"},
        {"/a /b cache=5M", "r.rules:1:13: expected no-store or a duration (30s, 10m, 1h, 7d, "
                           "2w or seconds) for cache=, found \"5M\""},
        {"/a /b cache=", "r.rules:1:13: expected no-store or a duration (30s, 10m, 1h, 7d, 2w "
                         "or seconds) for cache=, found \"\""},
        {"/a /b cache=600w", "r.rules:1:13: cache lifetime \"600w\" is over 10 years"},
        {"/a /b id=", "r.rules:1:10: expected a name after id="},
        {"/a /b id=a,b", "r.rules:1:11: invalid character ',' in id= (letters, digits and "
                         "!#$%&'*+-.^_`|~)"},
        {"/a /b id=x\n/c /d id=y\n\n/e /f 302 id=x",
         "r.rules:4:14: duplicate id \"x\": already used at r.rules:1"},
        /* case=insensitive builds a regex from the normalised path: its error points at
         * the source, also when the path grew out of the line (fuzz_rulefile's
         * crash-8d72...: column 4657 on a line of 205 bytes) */
        {"/a/:nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn /b case=insensitive",
         "r.rules:1:1: case=insensitive: this source cannot be matched without case "
         "(subpattern name is too long (maximum 32 code units))"},
        {"/\xe9\xe9\xe9/:nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn /b case=insensitive",
         "r.rules:1:1: case=insensitive: this source cannot be matched without case "
         "(subpattern name is too long (maximum 32 code units))"},
        /* lines */
        {"/ok /fine\n# comment\n\n  bad /b", "r.rules:4:3: expected a source: a path "
                                             "starting with '/' or a URL (https://host/path, "
                                             "http://host/path, //host/path), found \"bad\""},
        {"/ok /fine\r\n/x - 302\r\n", "r.rules:2:4: '-' (no target) needs status 410, found "
                                      "302"},
};

static void test_errors(void **state)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		bad += check_error(errors[i].in, strlen(errors[i].in), errors[i].want);
	assert_int_equal(bad, 0);
}

static void test_long_message_is_cut(void **state)
{
	char line[200], want[256];

	memset(line, 'x', sizeof(line));
	line[0] = '/';
	line[100] = ' ';
	memcpy(line + 101, "/b 3", 4);
	/* the found text is cut to 56 bytes and "..." */
	snprintf(want, sizeof(want),
	         "r.rules:1:105: expected a status (301, 302, 303, 307, 308, 410, temporary, "
	         "permanent, html) or an option "
	         "NAME=VALUE, found \"3%.55s...\"",
	         line + 105);
	expect_error(line, sizeof(line), want);
}

static void test_size_limits(void **state)
{
	char *buf = malloc(70000), want[160];
	size_t n;

	assert_non_null(buf);
	/* 65 fields */
	n = (size_t)sprintf(buf, "/a /b 301");
	for (int i = 0; i < 61; i++) /* 3 + 61 = 64 fields */
		n += (size_t)sprintf(buf + n, " q%d=1", i);
	snprintf(want, sizeof(want), "r.rules:1:%zu: too many fields (at most 64)", n + 2);
	n += (size_t)sprintf(buf + n, " id=x");
	expect_error(buf, n, want);

	/* a host over 253 characters */
	memcpy(buf, "//", 2);
	memset(buf + 2, 'a', 254);
	memcpy(buf + 256, "/x /y", 5);
	expect_error(buf, 261, "r.rules:1:3: the source host is longer than 253 characters");

	/* a path that outgrows a rule's 16-bit length once normalised */
	buf[0] = '/';
	n = 1;
	for (int i = 0; i < 12000; i++) {
		memcpy(buf + n, "\xc3\xa9", 2);
		n += 2;
	}
	memcpy(buf + n, " /x", 3);
	expect_error(buf, n + 3,
	             "r.rules:1:1: the source path is longer than 65533 bytes once normalised");
	free(buf);
}

static void test_line_too_long(void **state)
{
	size_t n = DETOUR_RULE_LINE_MAX + 1;
	char *buf = malloc(n + 20);
	char want[128];

	assert_non_null(buf);
	memcpy(buf, "/ok /x\n/a /", 11);
	memset(buf + 11, 'b', n - 4);
	buf[7 + n] = '\n';
	snprintf(want, sizeof(want), "r.rules:2:%d: line is longer than %d bytes",
	         DETOUR_RULE_LINE_MAX + 1, DETOUR_RULE_LINE_MAX);
	expect_error(buf, 8 + n, want);

	/* exactly the limit is fine */
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	assert_int_equal(detour_ruleset_load_buf(rs, "r", buf + 7, n - 1, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 1);
	assert_int_equal(detour_ruleset_get(rs, 0)->target_len, DETOUR_RULE_LINE_MAX - 3);
	detour_ruleset_free(rs);
	free(buf);
}

static void test_basic_rule(void **state)
{
	struct detour_ruleset *rs = load_ok("/old-page /new-page 301\n");
	const struct detour_rule *r;

	assert_int_equal(detour_ruleset_count(rs), 1);
	r = detour_ruleset_get(rs, 0);
	assert_string_equal(detour_ruleset_host(rs, r, NULL), "");
	assert_string_equal(detour_rule_path(rs, r), "/old-page");
	assert_int_equal(r->path_len, 9);
	assert_string_equal(detour_rule_target(rs, r), "/new-page");
	assert_int_equal(r->target_len, 9);
	assert_string_equal(detour_ruleset_idval(rs, r, NULL), "");
	assert_int_equal(detour_rule_index(rs, r), 0);
	assert_int_equal(detour_ruleset_line(rs, r), 1);
	assert_int_equal(detour_ruleset_rule_file(rs, r), 0);
	assert_int_equal(r->status, 301);
	assert_int_equal(detour_rule_cache(rs, r), DETOUR_CACHE_UNSET);
	assert_int_equal(r->kind, DETOUR_SRC_EXACT);
	assert_int_equal(r->scheme, DETOUR_SCHEME_ANY);
	assert_int_equal(r->query, DETOUR_QUERY_KEEP);
	assert_int_equal(r->flags, 0);
	assert_null(detour_ruleset_get(rs, 1));
	assert_string_equal(detour_ruleset_file(rs, 0), "r.rules");
	/* parsed in place: the strings are the loaded bytes, not copies */
	assert_ptr_equal(detour_rule_target(rs, r), detour_rule_path(rs, r) + 10);
	detour_ruleset_free(rs);

	/* a path that grows when normalised moves out, the target stays */
	rs = load_ok("/\xc3\xa9\xc3\xa9 /x 302\n//H/\xc3\xa9/* /y\n");
	r = detour_ruleset_get(rs, 0);
	assert_string_equal(detour_rule_path(rs, r), "/%C3%A9%C3%A9");
	assert_string_equal(detour_rule_target(rs, r), "/x");
	r = detour_ruleset_get(rs, 1);
	assert_string_equal(detour_ruleset_host(rs, r, NULL), "h");
	assert_string_equal(detour_rule_path(rs, r), "/%C3%A9/");
	assert_string_equal(detour_rule_target(rs, r), "/y");
	assert_null(detour_ruleset_file(rs, 1));
	detour_ruleset_free(rs);
}

/* Each line alone: what the rule holds. */
static const struct okcase {
	const char *in;
	const char *host, *path, *target;
	unsigned kind, scheme, flags, status;
	int cache;
	unsigned query;
} oks[] = {
        {"/a /b", "", "/a", "/b", DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"/a/./b/../c /d 302", "", "/a/c", "/d", DETOUR_SRC_EXACT, 0, 0, 302, -1, 0},
        {"/%7euser/%2f /x 303", "", "/~user/%2F", "/x", DETOUR_SRC_EXACT, 0, 0, 303, -1, 0},
        {"/ /home 308", "", "/", "/home", DETOUR_SRC_EXACT, 0, 0, 308, -1, 0},
        {"/blog/* https://blog.example.com/:splat 308", "", "/blog/",
         "https://blog.example.com/:splat", DETOUR_SRC_SPLAT, 0,
         DETOUR_RULE_SPLAT | DETOUR_RULE_TARGET_VARS, 308, -1, 0},
        {"/* /x", "", "/", "/x", DETOUR_SRC_SPLAT, 0, DETOUR_RULE_SPLAT, 307, -1, 0},
        {"/a/../b/* /x", "", "/b/", "/x", DETOUR_SRC_SPLAT, 0, DETOUR_RULE_SPLAT, 307, -1, 0},
        {"/docs/:version/:page /documentation/:page?v=:version", "", "/docs/:version/:page",
         "/documentation/:page?v=:version", DETOUR_SRC_PATTERN, 0, DETOUR_RULE_TARGET_VARS, 307, -1,
         0},
        {"/u/:id/* /users/:id/:splat 301", "", "/u/:id/*", "/users/:id/:splat", DETOUR_SRC_PATTERN,
         0, DETOUR_RULE_SPLAT | DETOUR_RULE_TARGET_VARS, 301, -1, 0},
        {"/caf\xc3\xa9 /x", "", "/caf%C3%A9", "/x", DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"/a|b/[c] /x", "", "/a%7Cb/%5Bc%5D", "/x", DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"//H/\xc3\xa9\xc3\xa9\xc3\xa9/* /x", "h", "/%C3%A9%C3%A9%C3%A9/", "/x", DETOUR_SRC_SPLAT,
         0, DETOUR_RULE_SPLAT, 307, -1, 0},
        {"/\xc3\xa9/:n/* /x/:n", "", "/%C3%A9/:n/*", "/x/:n", DETOUR_SRC_PATTERN, 0,
         DETOUR_RULE_SPLAT | DETOUR_RULE_TARGET_VARS, 307, -1, 0},
        {"/a/*b /x", "", "/a/*b", "/x", DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"/a/b:c /x", "", "/a/b:c", "/x", DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"https://Old.Example.COM/* https://example.com/:splat 301", "old.example.com", "/",
         "https://example.com/:splat", DETOUR_SRC_SPLAT, DETOUR_SCHEME_HTTPS,
         DETOUR_RULE_SPLAT | DETOUR_RULE_TARGET_VARS, 301, -1, 0},
        {"HTTP://h.example./x /y", "h.example", "/x", "/y", DETOUR_SRC_EXACT, DETOUR_SCHEME_HTTP, 0,
         307, -1, 0},
        {"//*.Example.com/x /y", ".example.com", "/x", "/y", DETOUR_SRC_EXACT, DETOUR_SCHEME_ANY,
         DETOUR_RULE_HOST_WILDCARD, 307, -1, 0},
        {"//[::1]/x /y", "[::1]", "/x", "/y", DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"/gone - 410", "", "/gone", "", DETOUR_SRC_EXACT, 0, 0, 410, -1, 0},
        {"/gone - 410 cache=1h", "", "/gone", "", DETOUR_SRC_EXACT, 0, DETOUR_RULE_CACHE, 410, 3600,
         0},
        {"/a /b cache=no-store", "", "/a", "/b", DETOUR_SRC_EXACT, 0, DETOUR_RULE_CACHE, 307, 0, 0},
        {"/a /b cache=90", "", "/a", "/b", DETOUR_SRC_EXACT, 0, DETOUR_RULE_CACHE, 307, 90, 0},
        {"/a /b cache=2w query=merge", "", "/a", "/b", DETOUR_SRC_EXACT, 0, DETOUR_RULE_CACHE, 307,
         1209600, DETOUR_QUERY_MERGE},
        {"/a /b 301 query=drop", "", "/a", "/b", DETOUR_SRC_EXACT, 0, 0, 301, -1,
         DETOUR_QUERY_DROP},
        {"/a /b query=keep", "", "/a", "/b", DETOUR_SRC_EXACT, 0, 0, 307, -1, DETOUR_QUERY_KEEP},
        {"/a https://x.example/p#frag", "", "/a", "https://x.example/p#frag", DETOUR_SRC_EXACT, 0,
         0, 307, -1, 0},
        {"/a https://x.example:8443/p?t=12:30", "", "/a", "https://x.example:8443/p?t=12:30",
         DETOUR_SRC_EXACT, 0, 0, 307, -1, 0},
        {"/a https://user:pw@x.example/", "", "/a", "https://user:pw@x.example/", DETOUR_SRC_EXACT,
         0, 0, 307, -1, 0},
        {"/p/:page/:pageid /q/:pageid/:page", "", "/p/:page/:pageid", "/q/:pageid/:page",
         DETOUR_SRC_PATTERN, 0, DETOUR_RULE_TARGET_VARS, 307, -1, 0},
        {"/p/:page /q/:pageid", "", "/p/:page", "/q/:pageid", DETOUR_SRC_PATTERN, 0,
         DETOUR_RULE_TARGET_VARS, 307, -1, 0},
        {"\t/tab\t/sep\t301\t", "", "/tab", "/sep", DETOUR_SRC_EXACT, 0, 0, 301, -1, 0},
        {"/c /d#not-a-comment # a comment", "", "/c", "/d#not-a-comment", DETOUR_SRC_EXACT, 0, 0,
         307, -1, 0},
};

static void test_rules(void **state)
{
	for (size_t i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		const struct okcase *c = &oks[i];
		struct detour_ruleset *rs = load_ok(c->in);
		const struct detour_rule *r;
		assert_int_equal(detour_ruleset_count(rs), 1);
		r = detour_ruleset_get(rs, 0);
		if (strcmp(detour_ruleset_host(rs, r, NULL), c->host) ||
		    strcmp(detour_rule_path(rs, r), c->path) ||
		    strcmp(detour_rule_target(rs, r), c->target))
			fail_msg("%s: host \"%s\" path \"%s\" target \"%s\"", c->in,
			         detour_ruleset_host(rs, r, NULL), detour_rule_path(rs, r),
			         detour_rule_target(rs, r));
		assert_int_equal(strlen(detour_ruleset_host(rs, r, NULL)), strlen(c->host));
		assert_int_equal(r->path_len, strlen(c->path));
		assert_int_equal(r->target_len, strlen(c->target));
		if (r->kind != c->kind || r->scheme != c->scheme || r->flags != c->flags ||
		    r->status != c->status || detour_rule_cache(rs, r) != c->cache ||
		    r->query != c->query)
			fail_msg("%s: kind %u scheme %u flags %u status %u cache %d query %u",
			         c->in, r->kind, r->scheme, r->flags, r->status,
			         (int)detour_rule_cache(rs, r), r->query);
		detour_ruleset_free(rs);
	}
}

static void test_file_shape(void **state)
{
	/* BOM, CRLF, comments, blank lines, a last line without a newline */
	const char *text = "\xEF\xBB\xBF/one /1 301\r\n"
	                   "# a comment\r\n"
	                   "\r\n"
	                   "   \t \n"
	                   "/two /2 # trailing comment\n"
	                   "#/not /a rule\n"
	                   "/three /3 id=third";
	struct detour_ruleset *rs = load_ok(text);
	char buf[64];

	assert_int_equal(detour_ruleset_count(rs), 3);
	assert_string_equal(detour_rule_path(rs, detour_ruleset_get(rs, 0)), "/one");
	assert_int_equal(detour_ruleset_line(rs, detour_ruleset_get(rs, 0)), 1);
	assert_int_equal(detour_ruleset_get(rs, 0)->status, 301);
	assert_string_equal(detour_rule_target(rs, detour_ruleset_get(rs, 1)), "/2");
	assert_int_equal(detour_ruleset_line(rs, detour_ruleset_get(rs, 1)), 5);
	assert_int_equal(detour_ruleset_line(rs, detour_ruleset_get(rs, 2)), 7);
	assert_int_equal(detour_rule_index(rs, detour_ruleset_get(rs, 2)), 2);
	assert_string_equal(detour_ruleset_idval(rs, detour_ruleset_get(rs, 2), NULL), "third");
	assert_int_equal(strlen(detour_ruleset_idval(rs, detour_ruleset_get(rs, 2), NULL)), 5);
	assert_int_equal(detour_ruleset_get(rs, 2)->flags, DETOUR_RULE_ID_SET);
	assert_string_equal(detour_rule_id(rs, detour_ruleset_get(rs, 2), buf, sizeof(buf)),
	                    "third");
	assert_string_equal(detour_rule_id(rs, detour_ruleset_get(rs, 1), buf, sizeof(buf)),
	                    "r.rules:5");
	detour_ruleset_free(rs);

	/* empty input, only comments */
	rs = load_ok("");
	assert_int_equal(detour_ruleset_count(rs), 0);
	detour_ruleset_free(rs);
	rs = load_ok("# nothing\n\n");
	assert_int_equal(detour_ruleset_count(rs), 0);
	detour_ruleset_free(rs);
}

static void test_bom_columns(void **state)
{
	/* the BOM is not part of the line: columns start after it */
	expect_error("\xEF\xBB\xBFx /b", 7,
	             "r.rules:1:1: expected a source: a path starting with '/' or a URL "
	             "(https://host/path, http://host/path, //host/path), found \"x\"");
}

static void test_several_buffers(void **state)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char msg[256];

	assert_int_equal(detour_ruleset_load_buf(rs, "a.rules", "/a /1 id=one\n", 13, &d),
	                 DETOUR_OK);
	assert_int_equal(detour_ruleset_load_buf(rs, "b.rules", "/b /2\n/c /3\n", 12, &d),
	                 DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 3);
	assert_int_equal(detour_ruleset_rule_file(rs, detour_ruleset_get(rs, 0)), 0);
	assert_int_equal(detour_ruleset_rule_file(rs, detour_ruleset_get(rs, 2)), 1);
	assert_int_equal(detour_rule_index(rs, detour_ruleset_get(rs, 2)), 2);
	assert_int_equal(detour_ruleset_line(rs, detour_ruleset_get(rs, 2)), 2);
	assert_string_equal(detour_ruleset_file(rs, 1), "b.rules");
	/* ids are unique across files */
	assert_int_equal(detour_ruleset_load_buf(rs, "c.rules", "\n/d /4 id=one", 13, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "c.rules:2:10: duplicate id \"one\": already used at a.rules:1");
	detour_ruleset_free(rs);
}

static void test_many_ids(void **state)
{
	/* enough ids to grow the id table several times */
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char line[64], msg[256];

	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "/p%u /q%u id=rule-%u", i, i, i);
		assert_int_equal(detour_ruleset_add_line(rs, "api", i + 1, line, (size_t)n, &d),
		                 DETOUR_OK);
	}
	assert_int_equal(detour_ruleset_count(rs), 1000);
	assert_int_equal(detour_ruleset_add_line(rs, "api", 1001, "/z /z id=rule-777", 17, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "api:1001:10: duplicate id \"rule-777\": already used at api:778");
	assert_int_equal(detour_ruleset_count(rs), 1000);
	detour_ruleset_free(rs);
}

static void test_add_line(void **state)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char msg[256];

	assert_int_equal(detour_ruleset_add_line(rs, "admin", 7, "/x /y 302 # note\r\n", 18, &d),
	                 DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 1);
	assert_int_equal(detour_ruleset_line(rs, detour_ruleset_get(rs, 0)), 7);
	assert_int_equal(detour_ruleset_get(rs, 0)->status, 302);
	assert_string_equal(detour_ruleset_file(rs, 0), "admin");

	assert_int_equal(detour_ruleset_add_line(rs, "admin", 8, "  # only a comment", 18, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "admin:8:1: expected a rule, found an empty line or a comment");
	assert_int_equal(detour_ruleset_add_line(rs, "admin", 9, "/a /b\n/c /d", 11, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "admin:9:6: expected one line, found a line break");
	assert_int_equal(detour_ruleset_add_line(rs, "admin", 10, "/a /b 999", 9, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "admin:10:7: unsupported status 999: expected 301, 302, 303, 307, 308 "
	                    "or 410");
	assert_int_equal(detour_ruleset_count(rs), 1);
	/* the same name is one file */
	assert_int_equal(detour_ruleset_add_line(rs, "admin", 11, "/b /c", 5, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_rule_file(rs, detour_ruleset_get(rs, 1)), 0);
	detour_ruleset_free(rs);
}

/* A failed line leaves the ruleset as it was: rules, extensions, ids and the
 * @slash policy; lines added afterwards load as if it had never been tried. */
static void test_add_line_untouched(void **state)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char msg[256];

	assert_int_equal(detour_ruleset_add_line(rs, "api", 1, "/a /b id=one", 12, &d), DETOUR_OK);
	/* invalid on its own, after its options were parsed into an extension */
	const char *bad = "/c /d 302 if-cookie=beta id=two delay=3";
	assert_int_equal(detour_ruleset_add_line(rs, "api", 2, bad, strlen(bad), &d),
	                 DETOUR_EINVAL);
	/* valid on its own, refused in rs: the id is taken */
	assert_int_equal(detour_ruleset_add_line(rs, "api", 3, "/e /f id=one", 12, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "api:3:10: duplicate id \"one\": already used at api:1");
	assert_int_equal(detour_ruleset_check_line("api", 3, "/e /f id=one", 12, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_check_line("api", 2, bad, strlen(bad), &d), DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)),
	                    "api:2:33: delay= only applies to status html");
	/* a directive is not a rule, and does not change the policy */
	assert_int_equal(detour_ruleset_add_line(rs, "api", 4, "@slash strict", 13, &d),
	                 DETOUR_EINVAL);
	assert_int_equal(detour_ruleset_slash(rs), DETOUR_SLASH_EITHER);
	assert_int_equal(detour_ruleset_count(rs), 1);
	assert_null(detour_ruleset_ext(rs, detour_ruleset_get(rs, 0)));
	/* the next line takes the next index, its id and its extension */
	assert_int_equal(
	        detour_ruleset_add_line(rs, "api", 5, "/g /h if-cookie=beta id=two", 27, &d),
	        DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 2);
	const struct detour_rule *r = detour_ruleset_get(rs, 1);
	assert_int_equal(detour_rule_index(rs, r), 1);
	assert_int_equal(detour_ruleset_line(rs, r), 5);
	const struct detour_rule_ext *x = detour_ruleset_ext(rs, r);
	assert_non_null(x);
	assert_int_equal(x->rule, 1);
	assert_int_equal(x->nconds, 1);
	struct detour_table *t;
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	detour_table_free(t);
}

/* detour_rules_load_all: every line error of every file, and an unreadable
 * file, in the order found; d holds the first; the cap counts the rest; the
 * valid lines around a bad one are parsed (a later duplicate id is found). */
static void test_rules_load_all(void **state)
{
	char p1[] = "/tmp/detour-test-loadXXXXXX", p2[] = "/tmp/detour-test-loadXXXXXX";
	int f1 = mkstemp(p1), f2 = mkstemp(p2);
	struct detour_table *t = (struct detour_table *)1;
	struct detour_diag d;
	static struct detour_diags ds;
	char msg[512], want[512];
	const char *text1 = "/ok /fine 301 id=a\n/a\n/b /c 999\n\n/d /e 301 id=a\n"
	                    "/f /g 301 bogus=1\n@slash sideways";

	assert_true(f1 >= 0 && f2 >= 0);
	assert_int_equal(write(f1, text1, strlen(text1)), (ssize_t)strlen(text1));
	assert_int_equal(write(f2, "/x\r\n/y /z\n", 10), 10);
	close(f1);
	close(f2);
	const char *files[] = {p1, "/nonexistent/detour.rules", p2};

	memset(&ds, 0, sizeof(ds));
	assert_int_equal(detour_rules_load_all(files, 3, &t, &d, &ds), DETOUR_EINVAL);
	assert_null(t);
	snprintf(want, sizeof(want),
	         "%s:2:3: expected a target after the source: a path, an http(s) URL, or '-' "
	         "(with status 410)",
	         p1);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)), want);
	assert_int_equal(ds.n, 7);
	assert_int_equal(ds.total, 7);
	const char *const lines[] = {
	        "%s:2:3: expected a target after the source: a path, an http(s) URL, or '-' "
	        "(with status 410)",
	        "%s:3:7: unsupported status 999: expected 301, 302, 303, 307, 308 or 410",
	        "%s:5:14: duplicate id \"a\": already used at %s:1",
	        "%s:6:11: unknown option \"bogus\" (known options: query, cache, id, method, "
	        "if-header, if-cookie, if-query, if-ip, if-lang, from, until, days, hours, tz, "
	        "weight, sticky, health, delay, case, private, allow-hosts)",
	        "%s:7:8: expected strict or either after @slash, found \"sideways\"",
	};
	for (unsigned i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), lines[i], p1, p1);
		assert_string_equal(detour_diag_format(&ds.d[i], msg, sizeof(msg)), want);
	}
	snprintf(want, sizeof(want), "/nonexistent/detour.rules: %s", strerror(ENOENT));
	assert_string_equal(detour_diag_format(&ds.d[5], msg, sizeof(msg)), want);
	snprintf(want, sizeof(want),
	         "%s:1:3: expected a target after the source: a path, an http(s) URL, or '-' "
	         "(with status 410)",
	         p2);
	assert_string_equal(detour_diag_format(&ds.d[6], msg, sizeof(msg)), want);

	/* the cap: 25 bad lines, 20 kept, 25 counted */
	f1 = open(p1, O_WRONLY | O_TRUNC);
	assert_true(f1 >= 0);
	for (int i = 0; i < 25; i++)
		assert_int_equal(write(f1, "/a\n", 3), 3);
	close(f1);
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(detour_rules_load_all(files, 1, &t, &d, &ds), DETOUR_EINVAL);
	assert_int_equal(ds.n, DETOUR_DIAGS_MAX);
	assert_int_equal(ds.total, 25);
	assert_int_equal(ds.d[19].line, 20);

	/* without ds: the first error only, as detour_rules_load */
	assert_int_equal(detour_rules_load_all(files, 3, &t, &d, NULL), DETOUR_EINVAL);
	assert_int_equal(d.line, 1);

	/* no error: the table, ds untouched */
	f1 = open(p1, O_WRONLY | O_TRUNC);
	assert_true(f1 >= 0);
	assert_int_equal(write(f1, "/a /b\n", 6), 6);
	close(f1);
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(detour_rules_load_all(files, 1, &t, &d, &ds), DETOUR_OK);
	assert_int_equal(ds.total, 0);
	assert_int_equal(detour_ruleset_count(detour_table_rules(t)), 1);
	detour_table_free(t);
	unlink(p1);
	unlink(p2);
}

/* detour_rules_load: files in order into one table; the first error. */
static void test_rules_load(void **state)
{
	char p1[] = "/tmp/detour-test-loadXXXXXX", p2[] = "/tmp/detour-test-loadXXXXXX";
	int f1 = mkstemp(p1), f2 = mkstemp(p2);
	struct detour_table *t = (struct detour_table *)1;
	struct detour_diag d;
	char msg[512], want[512];

	assert_true(f1 >= 0 && f2 >= 0);
	assert_int_equal(write(f1, "/a /b 301\n", 10), 10);
	assert_int_equal(write(f2, "/c /d\n/a /x\n", 12), 12);
	close(f1);
	close(f2);
	const char *files[] = {p1, p2, "/nonexistent/detour.rules"};

	assert_int_equal(detour_rules_load(files, 2, &t, &d), DETOUR_OK);
	const struct detour_ruleset *rs = detour_table_rules(t);
	assert_int_equal(detour_ruleset_count(rs), 3);
	assert_string_equal(
	        detour_ruleset_file(rs, detour_ruleset_rule_file(rs, detour_ruleset_get(rs, 2))),
	        p2);
	struct detour_match_req q = {.path = "/a", .path_len = 2};
	struct detour_match m;
	assert_true(detour_table_match(t, &q, &m));
	assert_string_equal(m.target, "/b"); /* the first file comes first */
	detour_table_free(t);

	assert_int_equal(detour_rules_load(files, 3, &t, &d), DETOUR_EIO);
	assert_null(t);
	snprintf(want, sizeof(want), "/nonexistent/detour.rules: %s", strerror(ENOENT));
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)), want);

	f2 = open(p2, O_WRONLY | O_TRUNC);
	assert_true(f2 >= 0);
	assert_int_equal(write(f2, "/c /d 999\n", 10), 10);
	close(f2);
	assert_int_equal(detour_rules_load(files, 2, &t, &d), DETOUR_EINVAL);
	assert_null(t);
	snprintf(want, sizeof(want),
	         "%s:1:7: unsupported status 999: expected 301, 302, 303, 307, 308 or 410", p2);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)), want);

	assert_int_equal(detour_rules_load(NULL, 0, &t, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(detour_table_rules(t)), 0);
	detour_table_free(t);
	unlink(p1);
	unlink(p2);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/detour-test-rulesXXXXXX";
	int fd = mkstemp(path);
	struct detour_ruleset *rs;
	struct detour_diag d;
	char msg[512], want[512];
	const char *text = "/from /to 301\n/bad /x 999\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	rs = detour_ruleset_new();
	assert_int_equal(detour_ruleset_load_file(rs, path, &d), DETOUR_EINVAL);
	snprintf(want, sizeof(want),
	         "%s:2:9: unsupported status 999: expected 301, 302, 303, 307, 308 or 410", path);
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)), want);
	detour_ruleset_free(rs);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, 14), 14);
	close(fd);
	rs = detour_ruleset_new();
	assert_int_equal(detour_ruleset_load_file(rs, path, &d), DETOUR_OK);
	assert_int_equal(detour_ruleset_count(rs), 1);
	assert_string_equal(detour_rule_target(rs, detour_ruleset_get(rs, 0)), "/to");
	detour_ruleset_free(rs);
	unlink(path);

	rs = detour_ruleset_new();
	assert_int_equal(detour_ruleset_load_file(rs, "/nonexistent/detour.rules", &d), DETOUR_EIO);
	snprintf(want, sizeof(want), "/nonexistent/detour.rules: %s", strerror(ENOENT));
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)), want);
	assert_int_equal(detour_ruleset_load_file(rs, "/tmp", &d), DETOUR_EIO);
	snprintf(want, sizeof(want), "/tmp: %s", strerror(EISDIR));
	assert_string_equal(detour_diag_format(&d, msg, sizeof(msg)), want);
	detour_ruleset_free(rs);
}

/* Rule i of a and of b have the same strings: path, target, host, id=. */
static void same_strings(const struct detour_ruleset *a, const struct detour_ruleset *b)
{
	assert_int_equal(detour_ruleset_count(a), detour_ruleset_count(b));
	for (size_t i = 0; i < detour_ruleset_count(a); i++) {
		const struct detour_rule *x = detour_ruleset_get(a, i),
		                         *y = detour_ruleset_get(b, i);
		assert_int_equal(x->path_len, y->path_len);
		assert_int_equal(x->target_len, y->target_len);
		assert_memory_equal(detour_rule_path(a, x), detour_rule_path(b, y),
		                    x->path_len + 1u);
		assert_memory_equal(detour_rule_target(a, x), detour_rule_target(b, y),
		                    x->target_len + 1u);
		assert_string_equal(detour_ruleset_host(a, x, NULL),
		                    detour_ruleset_host(b, y, NULL));
		assert_string_equal(detour_ruleset_idval(a, x, NULL),
		                    detour_ruleset_idval(b, y, NULL));
		assert_int_equal(detour_ruleset_line(a, x), detour_ruleset_line(b, y));
	}
}

/* A file's strings slide down inside its own block (rstr_keep): every
 * rule keeps its path, target, host and id= exactly, whether the file is a
 * small heap block or a big mapped one (over glibc's mmap threshold), with
 * hosts interned by an earlier file, paths that grow when normalised (they
 * live in the arena), comments, blank lines and CRLF. Checked against the
 * same lines added one by one (each its own copy). */
static void test_strings_kept(void **state)
{
	static const char *const shapes[] = {
	        "/r/%u /target/%u 301",
	        "https://example.com/p/%u https://new.example/%u?x=1 302 id=p%u",
	        "/caf\xc3\xa9/%u/\xc3\xbc /t/%u 301",
	        "/a/./b/../c%%7E%u /d/%u 308 query=keep",
	        "# a comment %u",
	        "",
	        "https://*.example.org/x/%u /y/%u 301 id=x%u\r",
	        "/blog/%u/* /new/%u/:splat 301",
	        "//shop.test/u/%u/:id /users/:id 302 cache=60",
	};
	for (unsigned big = 0; big < 2; big++) {
		unsigned n = big ? 200000 : 300, line = 0;
		size_t cap = (size_t)n * 80, len = 0;
		char *text = malloc(cap), one[160];
		struct detour_ruleset *a = detour_ruleset_new(), *b = detour_ruleset_new();
		struct detour_diag d;

		assert_non_null(text);
		/* an earlier file names the hosts first: their strings are not in
		 * the second file's block */
		assert_int_equal(
		        detour_ruleset_load_buf(a, "0.rules", "https://example.com/0 /0\n", 25, &d),
		        DETOUR_OK);
		assert_int_equal(detour_ruleset_add_line(b, "0.rules", 1,
		                                         "https://example.com/0 /0", 24, &d),
		                 DETOUR_OK);
		for (unsigned i = 0; i < n; i++) {
			int k = snprintf(one, sizeof(one), shapes[i % 9], i, i, i);
			size_t l = (size_t)k;
			memcpy(text + len, one, l);
			len += l;
			text[len++] = '\n';
			line++;
			if (one[0] == '\0' || one[0] == '#')
				continue;
			if (l && one[l - 1] == '\r')
				l--;
			assert_int_equal(detour_ruleset_add_line(b, "1.rules", line, one, l, &d),
			                 DETOUR_OK);
		}
		assert_int_equal(detour_ruleset_load_buf(a, "1.rules", text, len, &d), DETOUR_OK);
		same_strings(a, b);
		/* the rules' strings side by side in the block: a path's NUL is
		 * followed by its target */
		const struct detour_rule *r = detour_ruleset_get(a, 1);
		assert_ptr_equal(detour_rule_target(a, r),
		                 detour_rule_path(a, r) + r->path_len + 1);
		detour_ruleset_free(a);
		detour_ruleset_free(b);
		free(text);
	}
}

static void test_load_pipe(void **state)
{
	/* a file whose size fstat does not know: the read loop grows */
	int p[2];
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	char path[64];
	size_t n = 0;
	char *text = malloc(200000);

	assert_non_null(text);
	for (unsigned i = 0; n < 150000; i++)
		n += (size_t)sprintf(text + n, "/p%u /q%u\n", i, i);
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		size_t o = 0;
		while (o < n) {
			ssize_t k = write(p[1], text + o, n - o);
			if (k <= 0)
				break;
			o += (size_t)k;
		}
		/* The child owns copies of both; free them so that Valgrind,
		 * which follows the fork, sees no leak. */
		free(text);
		detour_ruleset_free(rs);
		_exit(o == n ? 0 : 1);
	}
	close(p[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
	assert_int_equal(detour_ruleset_load_file(rs, path, &d), DETOUR_OK);
	close(p[0]);
	assert_true(detour_ruleset_count(rs) > 10000);
	const struct detour_rule *last = detour_ruleset_get(rs, detour_ruleset_count(rs) - 1);
	char want[32];
	snprintf(want, sizeof(want), "/p%zu", detour_ruleset_count(rs) - 1);
	assert_string_equal(detour_rule_path(rs, last), want);
	detour_ruleset_free(rs);
	free(text);
}

static const struct durcase {
	const char *in;
	int64_t want;
} durations[] = {
        {"30s", 30},       {"10m", 600},
        {"1h", 3600},      {"7d", 604800},
        {"2w", 1209600},   {"45", 45},
        {"0", 0},          {"0s", 0},
        {"007", 7},        {"", -1},
        {"s", -1},         {"1x", -1},
        {"1hh", -1},       {"-1", -1},
        {"1.5h", -1},      {" 1h", -1},
        {"1H", -1},        {"3650d", 315360000},
        {"3651d", -1},     {"315360000", 315360000},
        {"315360001", -1}, {"521w", 315100800},
        {"522w", -1},      {"99999999999999999999999", -1},
};

static void test_duration(void **state)
{
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		int64_t got = value_duration(durations[i].in, strlen(durations[i].in));
		if (got != durations[i].want)
			fail_msg("\"%s\": got %lld want %lld", durations[i].in, (long long)got,
			         (long long)durations[i].want);
	}
	/* length-bounded: the bytes after len are not read */
	assert_int_equal(value_duration("12h", 2), 12);
}

static void test_guarded_input(void **state)
{
	/* the loader copies its input: the caller's bytes end at a guard page */
	struct guard g;
	const char *text = "/a /b 301 id=x cache=1h";
	char *p = guard_copy(&g, text, strlen(text));
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;

	assert_int_equal(detour_ruleset_load_buf(rs, "g", p, strlen(text), &d), DETOUR_OK);
	assert_int_equal(detour_rule_cache(rs, detour_ruleset_get(rs, 0)), 3600);
	assert_int_equal(detour_ruleset_add_line(rs, "g", 2, p, 5, &d), DETOUR_OK);
	assert_string_equal(detour_rule_target(rs, detour_ruleset_get(rs, 1)), "/b");
	detour_ruleset_free(rs);
	guard_free(&g);
	detour_ruleset_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_errors),          cmocka_unit_test(test_long_message_is_cut),
	        cmocka_unit_test(test_line_too_long),   cmocka_unit_test(test_basic_rule),
	        cmocka_unit_test(test_size_limits),     cmocka_unit_test(test_rules),
	        cmocka_unit_test(test_file_shape),      cmocka_unit_test(test_bom_columns),
	        cmocka_unit_test(test_several_buffers), cmocka_unit_test(test_many_ids),
	        cmocka_unit_test(test_add_line),        cmocka_unit_test(test_add_line_untouched),
	        cmocka_unit_test(test_rules_load),      cmocka_unit_test(test_rules_load_all),
	        cmocka_unit_test(test_load_file),       cmocka_unit_test(test_load_pipe),
	        cmocka_unit_test(test_strings_kept),    cmocka_unit_test(test_duration),
	        cmocka_unit_test(test_guarded_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
