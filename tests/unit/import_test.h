/* Helpers of the import/export unit tests: convert a string, then look
 * for rule lines and skips in the result. */
#ifndef DETOUR_IMPORT_TEST_H
#define DETOUR_IMPORT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/import.h"
#include "detour/rulefile.h"

struct conv {
	char *text;
	struct detour_import im;
};

/* Imports s as format; the result must load as a rules file. */
static inline void conv(struct conv *c, const char *format, const char *s)
{
	struct detour_diag d;
	size_t len;

	memset(&d, 0, sizeof(d));
	detour_import_init(&c->im, "in");
	detour_err e = detour_import_run(format, s, strlen(s), &c->im, &d);
	if (e != DETOUR_OK)
		fail_msg("import %s: %s", format, d.msg);
	c->text = detour_import_text(&c->im, format, &len);
	assert_non_null(c->text);
	struct detour_ruleset *rs = detour_ruleset_new();
	assert_non_null(rs);
	if (detour_ruleset_load_buf(rs, "out", c->text, len, &d) != DETOUR_OK)
		fail_msg("the result does not load: %u: %s\n%s", d.line, d.msg, c->text);
	detour_ruleset_free(rs);
}

static inline void conv_free(struct conv *c)
{
	free(c->text);
	detour_import_fini(&c->im);
}

/* The result has the line (a whole line) l. */
static inline void has_line(const struct conv *c, const char *l)
{
	size_t n = strlen(l);
	for (const char *p = c->text; (p = strstr(p, l)) != NULL; p++)
		if ((p == c->text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
	fail_msg("no line \"%s\" in:\n%s", l, c->text);
}

/* Source line `line` was skipped with a reason containing why. */
static inline void skipped(const struct conv *c, unsigned line, const char *why)
{
	for (size_t i = 0; i < c->im.nskips; i++)
		if (c->im.skips[i].line == line && strstr(c->im.skips[i].why, why))
			return;
	fail_msg("line %u not skipped with \"%s\":\n%s", line, why, c->text);
}

/* A one-rule conversion: the result's rules are exactly want (lines
 * joined by '\n', comments and the header left out). */
static inline void rules_are(const char *format, const char *in, const char *want)
{
	struct conv c;
	char got[8192];
	size_t o = 0;

	conv(&c, format, in);
	for (const char *p = c.text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n && p[0] != '#' && p[0] != '@' && o + n + 2 < sizeof(got)) {
			if (o)
				got[o++] = '\n';
			memcpy(got + o, p, n);
			o += n;
		}
		p += n + (nl != NULL);
	}
	got[o] = '\0';
	if (strcmp(got, want))
		fail_msg("%s: %s\nwant:\n%s\ngot:\n%s", format, in, want, got);
	conv_free(&c);
}

#endif
