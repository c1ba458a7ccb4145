/* Unit tests for lib/regex.c: regex sources ("~..."), their errors, their
 * literal-prefix index in the table, and case=insensitive sources compiled
 * to caseless regexes. */
#include "rules_test.h"

/* ------------------------------------------------------------------ regex */

static void test_regex(void **state)
{
	static const char rules[] = "~^/p/([0-9]+)$ /products/$1 302\n"
	                            "~^/u/(?<user>[a-z]+)/(.*)$ /users/:user?rest=$2\n"
	                            "~^/old/(.*)$ /new/$1\n"
	                            "~\\.php$ /php-gone 410x\n";
	char msg[512], loc[1024];

	(void)state;
	/* "410x" is not a status: the file does not load */
	assert_string_equal(load_error(rules, msg, sizeof(msg)),
	                    "r:4:19: expected a status (301, 302, 303, 307, 308, 410, temporary, "
	                    "permanent, html) or an option NAME=VALUE, found \"410x\"");
	struct detour_table *t = build("~^/p/([0-9]+)$ /products/$1 302\n"
	                               "~^/u/(?<user>[a-z]+)/(.*)$ /users/:user?rest=$2\n"
	                               "~^/old/(.*)$ /new/$1\n"
	                               "~\\.php$ /php-gone\n"
	                               "/p/7 /never\n");
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/p/42", 1, "/products/42"},
	        {"/p/42/", 0, ""},
	        {"/p/x", 0, ""},
	        {"/p/7", 1, "/products/7"}, /* the regex is first in the file */
	        {"/u/ann/a/b", 2, "/users/ann?rest=a/b"},
	        {"/u/ann/a&b=c", 2, "/users/ann?rest=a%26b%3Dc"},
	        {"/old/a/b", 3, "/new/a/b"},
	        {"/old//evil.example", 3, "/new//evil.example"},
	        {"/index.php", 4, "/php-gone"},
	        {"/x/y.php", 4, "/php-gone"},
	        {"/x/y.phpx", 0, ""},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	detour_table_free(t);
}

static void test_regex_errors(void **state)
{
	char msg[512];
	static const struct {
		const char *in, *want;
	} c[] = {
	        {"~^/p/(x /y", "r:1:8: invalid regex: missing closing parenthesis"},
	        {"~ /y", "r:1:2: expected a regex after '~' (as in ~^/p/([0-9]+)$)"},
	        {"~^/p/(x)$ /y/$2",
	         "r:1:14: \"$2\": the regex has 1 capture group ($1 to $9 name them; write %24 "
	         "for a literal '$')"},
	        {"~^/p/(x)$ /y/:nope",
	         "r:1:14: unknown placeholder \":nope\" in the target (the source defines none; "
	         "write %3A for a literal ':')"},
	        {"~^/(.*)$ https://$1/", "r:1:18: a capture in the target's scheme or host can "
	                                 "redirect to any site: name the hosts it may reach with "
	                                 "allow-hosts=a.com,b.com (or keep captures in the path, "
	                                 "query or fragment)"},
	        {"~^/(.*)$ $1", "r:1:10: a capture in the target's scheme or host can redirect "
	                        "to any site: name the hosts it may reach with "
	                        "allow-hosts=a.com,b.com (or keep captures in the path, query or "
	                        "fragment)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_string_equal(load_error(c[i].in, msg, sizeof(msg)), c[i].want);
}

/* The regex index: 10,000 rules, one regex run per request, first match in
 * file order kept whatever the prefix; a linear scan agrees. */
static void test_regex_index(void **state)
{
	size_t cap = 1 << 20, n = 0;
	char *text = malloc(cap), loc[1024], path[64];

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "~^/p/5/(7)$ /first\n");
	for (unsigned i = 0; i < 10000; i++)
		n += (size_t)snprintf(text + n, cap - n, "~^/p/%u/([0-9]+)$ /q/%u/$1\n", i, i);
	n += (size_t)snprintf(text + n, cap - n, "~/z/([0-9]+)$ /unanchored/$1\n");
	n += (size_t)snprintf(text + n, cap - n, "~^/(a|b)/x$ /alt\n");
	struct detour_table *t = build(text);
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/p/5/7", 1, "/first"},
	        {"/p/5/8", 7, "/q/5/8"},
	        {"/p/9999/1", 10001, "/q/9999/1"},
	        {"/p/10000/1", 0, ""},
	        {"/p/1/x", 0, ""},
	        {"/y/z/12", 10002, "/unanchored/12"},
	        {"/b/x", 10003, "/alt"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned got = line_of(t, c[i].path, NULL, NULL, 0, loc);
		if (got != c[i].line || strcmp(loc, c[i].loc) != 0)
			fail_msg("%s: line %u loc %s, want %u %s", c[i].path, got, loc, c[i].line,
			         c[i].loc);
	}
	for (unsigned i = 0; i < 10000; i += 97) {
		snprintf(path, sizeof(path), "/p/%u/%u", i, i * 3);
		assert_int_equal(line_of(t, path, NULL, NULL, 0, NULL), i + 2);
	}
	detour_table_free(t);
	free(text);
}

static void test_case_insensitive(void **state)
{
	char loc[1024];
	struct detour_table *t = build("/Old-Page /new case=insensitive\n"
	                               "/Blog/* /b/:splat case=insensitive\n"
	                               "/u/:id/Photos /p/:id case=insensitive\n"
	                               "/exact /e\n");
	static const struct {
		const char *path;
		unsigned line;
		const char *loc;
	} c[] = {
	        {"/old-page", 1, "/new"},   {"/OLD-PAGE/", 1, "/new"},  {"/blog", 2, "/b/"},
	        {"/BLOG/A/b", 2, "/b/A/b"}, {"/U/7/photos", 3, "/p/7"}, {"/u/7/photos/x", 0, ""},
	        {"/Exact", 0, ""},          {"/exact", 4, "/e"},
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_regex),
	        cmocka_unit_test(test_regex_errors),
	        cmocka_unit_test(test_regex_index),
	        cmocka_unit_test(test_case_insensitive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
