/* detour import cloudflare, redirection CSV (lib/import_csv.h). Fields are
 * read as RFC 4180 says (quotes, "" inside quotes, line breaks inside
 * quotes); a record's line is the line it starts on.
 *
 * Cloudflare (developers.cloudflare.com, "Bulk Redirects", "URL redirect
 * parameters"): a source URL without a scheme matches http and https;
 * status 301 by default; the query string is dropped unless
 * preserve_query_string; include_subdomains also matches every subdomain;
 * subpath_matching also matches the paths below the source, and
 * preserve_path_suffix (true by default) appends the rest of the path to
 * the target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ascii.h"
#include "import_csv.h"

#define MAX_FIELDS 16

struct csv {
	const char *s, *e;
	unsigned line;
	char buf[65536 * 2];
	char *f[MAX_FIELDS];
	int nf;
};

/* Reads the next record; returns false at the end. Fields past MAX_FIELDS
 * are dropped; a record too long for buf ends with nf = -1. */
static bool csv_next(struct csv *c, unsigned *first_line)
{
	size_t o = 0;

	while (c->s < c->e && (*c->s == '\n' || *c->s == '\r')) {
		if (*c->s == '\n')
			c->line++;
		c->s++;
	}
	if (c->s >= c->e)
		return false;
	*first_line = c->line;
	c->nf = 0;
	for (;;) {
		bool q = false, over = false;
		if (c->nf < MAX_FIELDS)
			c->f[c->nf] = c->buf + o;
		if (c->s < c->e && *c->s == '"') {
			q = true;
			c->s++;
		}
		while (c->s < c->e) {
			char ch = *c->s;
			if (q && ch == '"') {
				if (c->s + 1 < c->e && c->s[1] == '"') {
					c->s++;
				} else {
					q = false;
					c->s++;
					continue;
				}
			} else if (!q && (ch == ',' || ch == '\n' || ch == '\r')) {
				break;
			}
			if (ch == '\n')
				c->line++;
			if (o + 2 < sizeof(c->buf))
				c->buf[o++] = ch;
			else
				over = true;
			c->s++;
		}
		c->buf[o++] = '\0';
		if (over)
			c->nf = -MAX_FIELDS - 1;
		c->nf++;
		if (c->s < c->e && *c->s == ',') {
			c->s++;
			continue;
		}
		break;
	}
	if (c->nf > MAX_FIELDS)
		c->nf = MAX_FIELDS;
	return true;
}

static void csv_init(struct csv *c, const char *buf, size_t len)
{
	c->s = buf;
	c->e = buf + len;
	c->line = 1;
	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		c->s += 3;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* "TRUE", "true", "1" ... ; def when empty. -1 when not a boolean. */
static int boolean(const char *s, int def)
{
	if (*s == '\0')
		return def;
	if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes"))
		return 1;
	if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"))
		return 0;
	return -1;
}

/* A record as one comment line. */
static void record_comment(struct detour_import *im, unsigned line, struct csv *c)
{
	char text[4096];
	size_t o = 0;
	for (int i = 0; i < c->nf && o + 2 < sizeof(text); i++) {
		int k = snprintf(text + o, sizeof(text) - o, "%s%s", i ? "," : "", c->f[i]);
		if (k < 0)
			break;
		o += (size_t)k;
	}
	if (o >= sizeof(text))
		o = sizeof(text) - 1;
	detour_import_source(im, line, text, o);
}

static const char *const cf_cols[] = {
        "source_url",         "target_url",       "status_code",         "preserve_query_string",
        "include_subdomains", "subpath_matching", "preserve_path_suffix"};

void detour_import_cloudflare(struct detour_import *im, const char *buf, size_t len)
{
	static struct csv c;
	int col[7] = {0, 1, 2, 3, 4, 5, 6};
	unsigned line;
	bool first = true;

	csv_init(&c, buf, len);
	while (!im->oom && csv_next(&c, &line)) {
		if (c.nf < 0) {
			detour_import_skip(im, line, "a record too long");
			continue;
		}
		bool header = false;
		for (int i = 0; first && i < c.nf; i++)
			header |= !strcasecmp(trim(c.f[i]), "source_url");
		if (header) {
			/* a header row names the columns */
			for (int k = 0; k < 7; k++) {
				col[k] = -1;
				for (int i = 0; i < c.nf; i++)
					if (!strcasecmp(trim(c.f[i]), cf_cols[k]))
						col[k] = i;
			}
			first = false;
			continue;
		}
		first = false;
		char *v[7];
		for (int k = 0; k < 7; k++)
			v[k] = col[k] >= 0 && col[k] < c.nf ? trim(c.f[col[k]]) : (char *)"";
		record_comment(im, line, &c);
		const char *src = v[0], *dst = v[1];
		int status = *v[2] ? atoi(v[2]) : 301;
		int keepq = boolean(v[3], 0), subs = boolean(v[4], 0), subpath = boolean(v[5], 0),
		    suffix = boolean(v[6], 1);
		if (!*src || !*dst) {
			detour_import_skip(im, line, "a record without a source or target URL");
			continue;
		}
		if (keepq < 0 || subs < 0 || subpath < 0 || suffix < 0) {
			detour_import_skip(im, line, "a flag that is not TRUE or FALSE");
			continue;
		}
		if (status != 301 && status != 302 && status != 307 && status != 308) {
			detour_import_skip(
			        im, line,
			        "status %s: Cloudflare redirects with 301, 302, 307 or 308", v[2]);
			continue;
		}
		/* A target that is an origin alone ("https://example.net", what a
		 * subpath rule keeping the suffix has) has the path "/" (RFC 3986
		 * §6.2.3): written so, the exact rule answers as the subpath one
		 * does for "/a/" and as a detour splat rule "URL/:splat" does. */
		char dbuf[8192];
		const char *auth = strstr(dst, "://");
		if (auth && !strpbrk(auth + 3, "/?#") && strlen(dst) + 2 < sizeof(dbuf)) {
			snprintf(dbuf, sizeof(dbuf), "%s/", dst);
			dst = dbuf;
		}
		const char *scheme = "//", *rest = src;
		if (!strncasecmp(src, "https://", 8)) {
			scheme = "https://";
			rest = src + 8;
		} else if (!strncasecmp(src, "http://", 7)) {
			scheme = "http://";
			rest = src + 7;
		}
		if (strchr(rest, '?') || strchr(rest, '#')) {
			detour_import_skip(im, line, "a source URL with a query or fragment");
			continue;
		}
		const char *slash = strchr(rest, '/');
		char host[1024], path[8192];
		size_t hl = slash ? (size_t)(slash - rest) : strlen(rest);
		if (hl == 0 || hl >= sizeof(host)) {
			detour_import_skip(im, line, "a source URL without a host");
			continue;
		}
		memcpy(host, rest, hl);
		host[hl] = '\0';
		for (char *p = host; *p; p++)
			*p = ascii_lower(*p);
		snprintf(path, sizeof(path), "%s", slash ? slash : "/");
		size_t pl = strlen(path);
		const char *q = keepq ? "" : " query=drop";
		for (int sub = 0; sub <= subs; sub++) {
			const char *star = sub ? "*." : "";
			if (!subpath || pl > 1 || !suffix)
				detour_import_rulef(im, line, "%s%s%s%s %s %d%s", scheme, star,
				                    host, path, dst, status, q);
			if (subpath) {
				while (pl > 1 && path[pl - 1] == '/')
					path[--pl] = '\0';
				size_t dl = strlen(dst);
				bool dslash = dl && dst[dl - 1] == '/';
				if (suffix)
					detour_import_rulef(im, line, "%s%s%s%s/* %s%s:splat %d%s",
					                    scheme, star, host, pl > 1 ? path : "",
					                    dst, dslash ? "" : "/", status, q);
				else
					detour_import_rulef(im, line, "%s%s%s%s/* %s %d%s", scheme,
					                    star, host, pl > 1 ? path : "", dst,
					                    status, q);
			}
		}
	}
}

void detour_import_redirection_csv(struct detour_import *im, const char *buf, size_t len)
{
	static struct csv c;
	unsigned line;

	csv_init(&c, buf, len);
	while (!im->oom && csv_next(&c, &line)) {
		if (c.nf < 0) {
			detour_import_skip(im, line, "a record too long");
			continue;
		}
		if (c.nf >= 2 && !strcmp(trim(c.f[0]), "source") && !strcmp(trim(c.f[1]), "target"))
			continue; /* the header row */
		record_comment(im, line, &c);
		if (c.nf < 2) {
			detour_import_skip(im, line, "expected source,target[,regex,code,...]");
			continue;
		}
		const char *src = trim(c.f[0]), *dst = trim(c.f[1]);
		bool regex = c.nf > 2 ? atoi(trim(c.f[2])) == 1 : strpbrk(src, "()[]$^*") != NULL;
		int code = c.nf > 3 && *trim(c.f[3]) ? atoi(trim(c.f[3])) : 301;
		const char *type = c.nf > 4 ? trim(c.f[4]) : "url";
		const char *state = c.nf > 7 ? trim(c.f[7]) : "active";
		if (!strcmp(state, "disabled")) {
			detour_import_skip(im, line, "the redirect is disabled in Redirection");
			continue;
		}
		if (code > 400 && code < 500) {
			if (code == 410)
				detour_import_rulef(im, line, "%s%s - 410", regex ? "~" : "", src);
			else
				detour_import_skip(im, line,
				                   "error %d: detour answers 410 only among errors",
				                   code);
			continue;
		}
		if (*type && strcmp(type, "url") != 0) {
			detour_import_skip(im, line,
			                   "action type \"%s\": detour redirects to a URL only",
			                   type);
			continue;
		}
		if (!strcmp(dst, "/unknown")) {
			/* fileio/csv.php item_as_csv(): a match type other than
			 * url has no "url" in its data, and is written so. */
			detour_import_skip(
			        im, line,
			        "target /unknown: the plugin's CSV export writes it for a "
			        "redirect with conditions (referrer, agent, cookie...); "
			        "import the JSON export for those");
			continue;
		}
		if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
			detour_import_skip(
			        im, line,
			        "status %d: detour answers 301, 302, 303, 307, 308 and 410", code);
			continue;
		}
		/* Redirection's default query match is "exact" and the request's
		 * query is not passed on */
		const char *qs = regex ? NULL : strchr(src, '?');
		if (qs) {
			detour_import_rulef(im, line, "%.*s %s %d query=drop if-query=%s",
			                    (int)(qs - src), src, dst, code, qs + 1);
			continue;
		}
		if (regex && src[0] != '^') {
			/* Redirection matches its regexes unanchored */
			detour_import_rulef(im, line, "~%s %s %d query=drop", src, dst, code);
			continue;
		}
		detour_import_rulef(im, line, "%s%s %s %d query=drop", regex ? "~" : "", src, dst,
		                    code);
	}
}
