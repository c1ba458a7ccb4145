/* detour export netlify, csv (lib/export_files.h). */
#include <stdio.h>
#include <string.h>

#include "detour/rulefile.h"
#include "detour/ruleprint.h"
#include "export_files.h"

#define NETLIFY_MASK (XF_KEEP | XF_REGEX | XF_SCHEME | XF_LANG | XF_COOKIE | XF_QUERY | XF_DROP)

static void comment_rule(const struct detour_ruleset *rs, const struct detour_rule *r,
                         struct detour_export *x, const char *why)
{
	bbuf_putf(&x->text, "# %s:%u: not exported (%s has no equivalent in Netlify): ",
	          detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r)),
	          detour_ruleset_line(rs, r), why);
	detour_rule_format_source(rs, r, &x->text);
	bbuf_putc(&x->text, ' ');
	bbuf_put(&x->text, r->target_len ? detour_rule_target(rs, r) : "-",
	         r->target_len ? r->target_len : 1);
	bbuf_putf(&x->text, " %u\n", r->status);
	detour_export_note(x, detour_ruleset_line(rs, r),
	                   "not exported: %s has no equivalent in Netlify", why);
}

void detour_export_netlify(const struct detour_ruleset *rs, struct detour_export *x)
{
	size_t nr = detour_ruleset_count(rs);
	char why[512];
	struct bbuf *t = &x->text;

	BBUF_LIT(t, "# A Netlify _redirects file. Every rule is forced (!): detour has no files\n"
	            "# that could shadow a rule.\n");
	for (size_t i = 0; i < nr; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		const struct detour_rule_ext *e = detour_ruleset_ext(rs, r);
		const char *lack = detour_export_lacks(rs, r, NETLIFY_MASK, why, sizeof(why));
		bool has_query = false;
		for (unsigned k = 0; !lack && e && k < e->nconds; k++) {
			const struct detour_cond *c = &e->conds[k];
			if (c->negate || (c->kind == DETOUR_COND_COOKIE && c->value.p))
				lack = (snprintf(why, sizeof(why), "the condition %.*s",
				                 (int)c->text.len, c->text.p),
				        why);
			has_query |= c->kind == DETOUR_COND_QUERY;
		}
		if (!lack && r->kind == DETOUR_SRC_REGEX)
			lack = "a regex source";
		/* Netlify passes the query on, except for rules that match query
		 * parameters */
		if (!lack && r->status != 410 && (r->query == DETOUR_QUERY_DROP) != has_query)
			lack = r->query == DETOUR_QUERY_DROP ? "query=drop"
			                                     : "query=keep with if-query=";
		if (lack) {
			comment_rule(rs, r, x, lack);
			continue;
		}
		x->nrules++;
		for (int s = 0;
		     s < (detour_ruleset_host_id(rs, r) && r->scheme == DETOUR_SCHEME_ANY ? 2 : 1);
		     s++) {
			if (detour_ruleset_host_id(rs, r)) {
				bbuf_puts(t, r->scheme == DETOUR_SCHEME_HTTP || s == 1
				                     ? "http://"
				                     : "https://");
				if (r->flags & DETOUR_RULE_HOST_WILDCARD)
					bbuf_putc(t, '*');
				bbuf_puts(t, detour_ruleset_host(rs, r, NULL));
			}
			bbuf_put(t, detour_rule_path(rs, r), r->path_len);
			if (r->kind == DETOUR_SRC_SPLAT)
				bbuf_putc(t, '*');
			for (unsigned k = 0; e && k < e->nconds; k++)
				if (e->conds[k].kind == DETOUR_COND_QUERY)
					for (const char *p = e->conds[k].name.p,
					                *end = p + e->conds[k].name.len;
					     p < end;) {
						const char *amp = memchr(p, '&', (size_t)(end - p));
						const char *pe = amp ? amp : end;
						bbuf_putf(t, " %.*s", (int)(pe - p), p);
						if (!memchr(p, '=', (size_t)(pe - p)))
							BBUF_LIT(t, "=:any");
						p = amp ? amp + 1 : end;
					}
			bbuf_putc(t, ' ');
			if (r->status == 410)
				BBUF_LIT(t, "/404.html");
			else
				bbuf_put(t, detour_rule_target(rs, r), r->target_len);
			bbuf_putf(t, " %u!", r->status);
			for (unsigned k = 0; e && k < e->nconds; k++) {
				const struct detour_cond *c = &e->conds[k];
				const char *v = memchr(c->text.p, '=', c->text.len) + 1;
				int vl = (int)(c->text.len - (size_t)(v - c->text.p));
				if (c->kind == DETOUR_COND_LANG)
					bbuf_putf(t, " Language=%.*s", vl, v);
				else if (c->kind == DETOUR_COND_COOKIE)
					bbuf_putf(t, " Cookie=%.*s", vl, v);
			}
			bbuf_putc(t, '\n');
		}
	}
	if (!bbuf_ok(t))
		x->oom = true;
}

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void csv_field(struct bbuf *b, const char *s, size_t n)
{
	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n)) {
		bbuf_put(b, s, n);
		return;
	}
	bbuf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			bbuf_putc(b, '"');
		bbuf_putc(b, s[i]);
	}
	bbuf_putc(b, '"');
}

void detour_export_csv(const struct detour_ruleset *rs, struct detour_export *x)
{
	size_t nr = detour_ruleset_count(rs);
	char why[512];
	struct bbuf *t = &x->text;

	BBUF_LIT(t, "source_url,target_url,status_code,preserve_query_string,include_subdomains,"
	            "subpath_matching,preserve_path_suffix\n");
	for (size_t i = 0; i < nr; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		const char *lack =
		        detour_export_lacks(rs, r, XF_KEEP | XF_DROP | XF_SCHEME, why, sizeof(why));
		if (!lack && r->status != 301 && r->status != 302 && r->status != 307 &&
		    r->status != 308)
			lack = (snprintf(why, sizeof(why), "status %u", r->status), why);
		if (!lack && (r->flags & DETOUR_RULE_HOST_WILDCARD))
			lack = "a wildcard host (include_subdomains also matches the domain "
			       "itself)";
		if (!lack && !detour_ruleset_host_id(rs, r) && !x->host)
			lack = "a rule without a host (give --host)";
		/* a splat: subpath matching, the suffix kept when the target ends
		 * in ":splat" */
		size_t tl = r->target_len;
		bool suffix = false;
		if (!lack && r->kind == DETOUR_SRC_SPLAT) {
			if (tl >= 6 && !memcmp(detour_rule_target(rs, r) + tl - 6, ":splat", 6)) {
				suffix = true;
				tl -= 6;
			}
			if (memmem(detour_rule_target(rs, r), tl, ":splat", 6))
				lack = ":splat inside the target";
		} else if (!lack && (r->flags & DETOUR_RULE_TARGET_VARS)) {
			lack = "a placeholder in the target";
		}
		if (lack) {
			detour_export_note(x, detour_ruleset_line(rs, r),
			                   "not exported: %s has no equivalent in a bulk redirect",
			                   lack);
			continue;
		}
		x->nrules++;
		struct bbuf src;
		bbuf_init(&src, 1 << 20);
		if (r->scheme != DETOUR_SCHEME_ANY)
			bbuf_puts(&src, r->scheme == DETOUR_SCHEME_HTTPS ? "https://" : "http://");
		if (detour_ruleset_host_id(rs, r))
			bbuf_puts(&src, detour_ruleset_host(rs, r, NULL));
		else
			bbuf_puts(&src, x->host);
		size_t pl = r->path_len;
		if (r->kind == DETOUR_SRC_SPLAT && pl > 1)
			pl--; /* "/blog/" -> "/blog" */
		bbuf_put(&src, detour_rule_path(rs, r), pl);
		csv_field(t, src.p, src.len);
		bbuf_free(&src);
		bbuf_putc(t, ',');
		if (suffix && tl > 1 && detour_rule_target(rs, r)[tl - 1] == '/' &&
		    !(tl >= 3 && detour_rule_target(rs, r)[tl - 2] == '/' &&
		      detour_rule_target(rs, r)[tl - 3] == ':'))
			tl--; /* Cloudflare joins the suffix with its own '/' */
		if (detour_rule_target(rs, r)[0] == '/') {
			/* Cloudflare's target is a whole URL */
			struct bbuf u;
			bbuf_init(&u, 1 << 20);
			bbuf_puts(&u, r->scheme == DETOUR_SCHEME_HTTP ? "http://" : "https://");
			if (detour_ruleset_host_id(rs, r))
				bbuf_puts(&u, detour_ruleset_host(rs, r, NULL));
			else
				bbuf_puts(&u, x->host);
			bbuf_put(&u, detour_rule_target(rs, r), tl);
			csv_field(t, u.p, u.len);
			bbuf_free(&u);
			if (r->scheme == DETOUR_SCHEME_ANY)
				detour_export_note(x, detour_ruleset_line(rs, r),
				                   "the path target is written as an https URL: a "
				                   "bulk redirect's target is a whole URL");
		} else {
			csv_field(t, detour_rule_target(rs, r), tl);
		}
		bbuf_putf(t, ",%u,%s,FALSE,%s,%s\n", r->status,
		          r->query == DETOUR_QUERY_KEEP ? "TRUE" : "FALSE",
		          r->kind == DETOUR_SRC_SPLAT ? "TRUE" : "FALSE",
		          suffix ? "TRUE" : "FALSE");
	}
	if (!bbuf_ok(t))
		x->oom = true;
}
