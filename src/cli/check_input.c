/* detour check: --input (one URL a line, or CSV url[,status[,location]])
 * into chains. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "check_input.h"
#include "check_util.h"

/* One CSV field starting at *p (RFC 4180 quoting); advances *p past the
 * following ',' or to the end. Returns new memory. */
static char *csv_field(const char **p)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	char *out;
	if (*s == '"') {
		size_t cap = strlen(s) + 1, o = 0;
		out = check_xmalloc(cap);
		s++;
		while (*s) {
			if (*s == '"' && s[1] == '"') {
				out[o++] = '"';
				s += 2;
			} else if (*s == '"') {
				s++;
				break;
			} else {
				out[o++] = *s++;
			}
		}
		out[o] = 0;
		while (*s && *s != ',')
			s++;
	} else {
		const char *e = strchr(s, ',');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
			l--;
		out = check_strndup(s, l);
		s = e ? e : s + strlen(s);
	}
	if (*s == ',')
		s++;
	*p = s;
	return out;
}

/* Reads --input: one URL a line, or CSV url[,status[,location]]; '#'
 * comments and blank lines skipped, a header row "url,..." too. */
int check_read_input(const char *path, const struct check_opts *o, struct chain **v, size_t *n,
                     size_t *cap)
{
	size_t len;
	char *buf = check_read_file(path, &len);
	if (!buf) {
		fprintf(stderr, "detour check: %s: %s\n", path, strerror(errno));
		return 2;
	}
	unsigned line = 0;
	for (char *p = buf; p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		line++;
		size_t l = strlen(p);
		while (l && (p[l - 1] == '\r' || p[l - 1] == ' ' || p[l - 1] == '\t'))
			p[--l] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '#') {
			const char *q = p;
			char *url = csv_field(&q);
			char *st = *q ? csv_field(&q) : NULL;
			char *loc = *q ? csv_field(&q) : NULL;
			int status = o->expect_status;
			const char *eloc = o->expect_location;
			bool header = line == 1 && ascii_eq_ci(url, strlen(url), "url");
			if (!header && st && *st) {
				char *end;
				long sv = strtol(st, &end, 10);
				if (*end || sv < 100 || sv > 599) {
					fprintf(stderr, "detour check: %s:%u: bad status '%s'\n",
					        path, line, st);
					free(url);
					free(st);
					free(loc);
					free(buf);
					return 2;
				}
				status = (int)sv;
				eloc = loc && *loc ? loc : NULL;
			}
			if (!header && *url)
				check_add_chain(v, n, cap, url, status, eloc);
			free(url);
			free(st);
			free(loc);
		}
		p = nl ? nl + 1 : NULL;
	}
	free(buf);
	return 0;
}
