/* detour import netlify (lib/import_netlify.h). Netlify's documented
 * semantics (docs.netlify.com, "Redirects and rewrites"): the first
 * matching rule wins; the default status is 301; 200 is a rewrite (a proxy),
 * 404 a custom page; ":placeholder" and "*" / ":splat" as in detour; a
 * trailing slash is ignored (detour's "@slash either"); query parameters
 * are passed through, except by a rule that matches query parameters; "!"
 * forces a rule over an existing file (detour has no files: every rule is
 * forced). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ascii.h"
#include "import_netlify.h"

#define MAX_WORDS 32

void detour_import_netlify_rule(struct detour_import *im, const struct detour_netlify_rule *r)
{
	struct bbuf b;
	int status = r->status ? r->status : 301;

	if (status == 200) {
		detour_import_skip(im, r->line,
		                   "status 200 is a rewrite (the target is served under the "
		                   "source's URL), not a redirect");
		return;
	}
	if (status == 404) {
		detour_import_skip(im, r->line, "status 404 serves a custom page, not a redirect");
		return;
	}
	if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308 &&
	    status != 410) {
		detour_import_skip(im, r->line,
		                   "status %d: detour answers 301, 302, 303, 307, 308 and 410 only",
		                   status);
		return;
	}
	bbuf_init(&b, 1 << 20);
	bbuf_puts(&b, r->from);
	bbuf_putc(&b, ' ');
	bbuf_puts(&b, status == 410 ? "-" : r->to);
	bbuf_putf(&b, " %d", status);
	if (r->nquery && status != 410)
		BBUF_LIT(&b, " query=drop");
	for (unsigned i = 0; i < r->nquery; i++) {
		const char *q = r->query[i], *eq = strchr(q, '=');
		if (eq && eq[1] == ':') {
			/* a capture of the value: only when the target does not use it */
			if (strstr(r->to, eq + 1)) {
				detour_import_skip(
				        im, r->line,
				        "the query value %s is used in the target: detour "
				        "cannot capture query values",
				        eq + 1);
				bbuf_free(&b);
				return;
			}
			bbuf_putf(&b, " if-query=%.*s", (int)(eq - q), q);
		} else {
			bbuf_putf(&b, " if-query=%s", q);
		}
	}
	for (unsigned i = 0; i < r->nconds; i++) {
		const char *c = r->conds[i], *eq = strchr(c, '=');
		size_t kl = eq ? (size_t)(eq - c) : strlen(c);
		if (eq && ascii_eq_ci(c, kl, "language")) {
			char lang[512];
			size_t o = 0;
			for (const char *p = eq + 1; *p && o + 1 < sizeof(lang); p++)
				if (*p != ' ')
					lang[o++] = *p;
			lang[o] = '\0';
			bbuf_putf(&b, " if-lang=%s", lang);
		} else if (eq && ascii_eq_ci(c, kl, "cookie") && !strchr(eq + 1, ',')) {
			bbuf_putf(&b, " if-cookie=%s", eq + 1);
		} else {
			detour_import_skip(im, r->line,
			                   "the condition %.*s: detour has no %s condition",
			                   (int)kl, c,
			                   ascii_eq_ci(c, kl, "country") ? "geolocation"
			                   : ascii_eq_ci(c, kl, "role")  ? "identity (JWT role)"
			                                                 : "such");
			bbuf_free(&b);
			return;
		}
	}
	if (bbuf_ok(&b))
		detour_import_rule(im, r->line, bbuf_cstr(&b));
	else
		im->oom = true;
	bbuf_free(&b);
}

static bool is_target(const char *w)
{
	return w[0] == '/' || !strncasecmp(w, "http://", 7) || !strncasecmp(w, "https://", 8);
}

void detour_import_netlify(struct detour_import *im, const char *buf, size_t len)
{
	static char wb[65536 * 2];
	char *w[MAX_WORDS];
	size_t pos = 0;
	unsigned line = 0;

	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		pos = 3;
	while (pos < len && !im->oom) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t e = nl ? (size_t)(nl - buf) : len;
		const char *s = buf + pos;
		size_t n = e - pos;
		pos = nl ? e + 1 : len;
		line++;
		int nw = detour_import_words(s, n, true, w, MAX_WORDS, wb, sizeof(wb));
		if (nw == 0)
			continue;
		detour_import_source(im, line, s, n);
		if (nw < 0 || nw < 2) {
			detour_import_skip(im, line, "expected FROM [key=value...] TO [STATUS[!]]");
			continue;
		}
		struct detour_netlify_rule r = {.line = line, .from = w[0]};
		const char *q[MAX_WORDS], *c[MAX_WORDS];
		int i = 1;
		while (i < nw && !is_target(w[i]) && strchr(w[i], '='))
			q[r.nquery++] = w[i++];
		if (i == nw) {
			detour_import_skip(im, line, "no target (a path or an http(s) URL)");
			continue;
		}
		r.to = w[i++];
		if (i < nw && ascii_is_digit((unsigned char)w[i][0])) {
			char *end;
			r.status = (int)strtol(w[i], &end, 10);
			r.force = *end == '!';
			i++;
		}
		while (i < nw)
			c[r.nconds++] = w[i++];
		r.query = q;
		r.conds = c;
		detour_import_netlify_rule(im, &r);
	}
}
