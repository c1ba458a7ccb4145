/* detour export: shared helpers (lib/export_util.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "detour/rulefile.h"
#include "export_util.h"

#define MAX_NAMES 17

void detour_export_init(struct detour_export *x, const char *file)
{
	memset(x, 0, sizeof(*x));
	x->file = file;
	x->slash_either = true;
	bbuf_init(&x->text, 256u << 20);
}

void detour_export_fini(struct detour_export *x)
{
	for (size_t i = 0; i < x->nnotes; i++)
		free(x->notes[i].why);
	free(x->notes);
	bbuf_free(&x->text);
	memset(x, 0, sizeof(*x));
}

void detour_export_note(struct detour_export *x, unsigned line, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (BASE_GROW(x->notes, x->notes_cap, x->nnotes + 1)) {
		x->oom = true;
		return;
	}
	char *c = strdup(why);
	if (c == NULL) {
		x->oom = true;
		return;
	}
	x->notes[x->nnotes].line = line;
	x->notes[x->nnotes].why = c;
	x->nnotes++;
}

const char *detour_export_lacks(const struct detour_ruleset *rs, const struct detour_rule *r,
                                unsigned mask, char *why, size_t cap)
{
	const struct detour_rule_ext *x = detour_ruleset_ext(rs, r);
	static const unsigned cond_bit[] = {XF_METHOD, XF_HEADER, XF_COOKIE,
	                                    XF_QUERY,  XF_IP,     XF_LANG};

	if (r->kind != DETOUR_SRC_EXACT && r->kind != DETOUR_SRC_SPLAT && !(mask & XF_REGEX)) {
		snprintf(why, cap, "a %s source",
		         r->kind == DETOUR_SRC_REGEX ? "regex" : "pattern");
		return why;
	}
	if (r->scheme != DETOUR_SCHEME_ANY && !(mask & XF_SCHEME)) {
		snprintf(why, cap, "the scheme of the source");
		return why;
	}
	if (r->status != 410) {
		unsigned q = r->query == DETOUR_QUERY_KEEP   ? XF_KEEP
		             : r->query == DETOUR_QUERY_DROP ? XF_DROP
		                                             : XF_MERGE;
		if (!(mask & q)) {
			snprintf(why, cap, "query=%s",
			         q == XF_KEEP   ? "keep"
			         : q == XF_DROP ? "drop"
			                        : "merge");
			return why;
		}
	}
	if (x == NULL)
		return NULL;
	for (unsigned i = 0; i < x->nconds; i++) {
		const struct detour_cond *c = &x->conds[i];
		if (!(mask & cond_bit[c->kind]) || (c->negate && !(mask & XF_NEGATE))) {
			snprintf(why, cap, "the condition %.*s", (int)c->text.len, c->text.p);
			return why;
		}
	}
	if ((x->flags & DETOUR_EXT_WINDOW) && !(mask & XF_WINDOW))
		return snprintf(why, cap, "a time window (from=, until=, days=, hours=)"), why;
	if (x->weight && !(mask & XF_WEIGHT))
		return snprintf(why, cap, "a weighted split (weight=)"), why;
	if ((x->flags & DETOUR_EXT_HTML) && !(mask & XF_HTML))
		return snprintf(why, cap, "status html (a page that redirects)"), why;
	if ((x->flags & DETOUR_EXT_CASE_I) && !(mask & XF_CASE))
		return snprintf(why, cap, "case=insensitive"), why;
	if (x->nallow && !(mask & XF_HOSTS))
		return snprintf(why, cap, "allow-hosts= (the open-redirect guard)"), why;
	return NULL;
}

unsigned detour_export_path_re(const struct detour_ruleset *rs, const struct detour_rule *r,
                               bool slash_either, bool no_slash, struct bbuf *b, char names[][64])
{
	const char *p = detour_rule_path(rs, r), *e = detour_rule_path(rs, r) + r->path_len;
	unsigned n = 0;

	if (r->kind == DETOUR_SRC_REGEX) {
		const char *re = detour_rule_path(rs, r);
		if (no_slash && re[0] == '^' && re[1] == '/') {
			bbuf_putc(b, '^');
			re += 2;
		}
		detour_import_re_put(b, re);
		return 0;
	}
	bbuf_putc(b, '^');
	if (no_slash && p < e && *p == '/')
		p++;
	if (r->kind == DETOUR_SRC_EXACT) {
		size_t len = (size_t)(e - p);
		bool trail = len > 1 && p[len - 1] == '/';
		if (slash_either && trail)
			len--;
		detour_import_re_quote(b, p, len);
		if (slash_either && len > 0 && !(len == 1 && p[0] == '/') &&
		    !(no_slash && len == 0))
			BBUF_LIT(b, "/?");
		bbuf_putc(b, '$');
		return 0;
	}
	if (r->kind == DETOUR_SRC_SPLAT) {
		size_t len = (size_t)(e - p);
		/* "/blog/" -> "^/blog(?:/(?<splat>.*))?$"; "/" -> "^/(?<splat>.*)$" */
		if (len && p[len - 1] == '/')
			len--;
		detour_import_re_quote(b, p, len);
		if (len == 0)
			bbuf_puts(b, no_slash ? "(?<splat>.*)$" : "/(?<splat>.*)$");
		else
			BBUF_LIT(b, "(?:/(?<splat>.*))?$");
		snprintf(names[n++], 64, "splat");
		return n;
	}
	/* a pattern: segments, ":name" -> (?<name>[^/]+), a final "*" -> tail */
	while (p < e) {
		const char *s = p;
		while (p < e && *p != '/')
			p++;
		size_t sl = (size_t)(p - s);
		if (sl && s[0] == ':' && n < MAX_NAMES) {
			snprintf(names[n++], 64, "%.*s", (int)(sl - 1), s + 1);
			bbuf_putf(b, "(?<%.*s>[^/]+)", (int)(sl - 1), s + 1);
		} else if (sl == 1 && s[0] == '*') {
			/* the tail matches "/u/7" as well as "/u/7/a" */
			if (b->len && b->p[b->len - 1] == '/')
				b->len--;
			BBUF_LIT(b, "(?:/(?<splat>.*))?");
			if (n < MAX_NAMES)
				snprintf(names[n++], 64, "splat");
		} else {
			detour_import_re_quote(b, s, sl);
		}
		if (p < e) {
			bbuf_putc(b, '/');
			p++;
		}
	}
	bbuf_putc(b, '$');
	return n;
}

unsigned detour_export_regex_names(const struct detour_ruleset *rs, const struct detour_rule *r,
                                   char names[][64])
{
	const struct detour_rule_ext *x = detour_ruleset_ext(rs, r);
	unsigned n = 0;
	if (x == NULL || r->kind != DETOUR_SRC_REGEX)
		return 0;
	for (unsigned i = 0; i < x->ngroups && i < MAX_NAMES; i++) {
		const struct detour_slice *g = x->group_names ? &x->group_names[i] : NULL;
		snprintf(names[n++], 64, "%.*s", g ? (int)g->len : 0, g ? g->p : "");
	}
	return n;
}

void detour_export_target(const struct detour_ruleset *rs, const struct detour_rule *r,
                          char names[][64], unsigned nnames, struct bbuf *b,
                          detour_export_put_fn put, void *arg)
{
	const char *t = detour_rule_target(rs, r), *e = detour_rule_target(rs, r) + r->target_len;

	while (t < e) {
		if (*t == '$' && t + 1 < e && t[1] >= '1' && t[1] <= '9' &&
		    r->kind == DETOUR_SRC_REGEX) {
			put(b, NULL, (unsigned)(t[1] - '0'), arg);
			t += 2;
			continue;
		}
		if (*t == ':' && t + 1 < e &&
		    (ascii_is_alpha((unsigned char)t[1]) || t[1] == '_')) {
			/* the longest name the source defines */
			size_t best = 0;
			unsigned which = 0;
			for (unsigned i = 0; i < nnames; i++) {
				size_t l = strlen(names[i]);
				if (l && l > best && (size_t)(e - t - 1) >= l &&
				    !memcmp(t + 1, names[i], l)) {
					best = l;
					which = i;
				}
			}
			if (best) {
				put(b, names[which], which + 1, arg);
				t += 1 + best;
				continue;
			}
		}
		bbuf_putc(b, *t++);
	}
}
