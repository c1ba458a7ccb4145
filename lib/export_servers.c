/* detour export nginx, apache, caddy (lib/export_servers.h).
 *
 * A rule whose options the server cannot express is written as a comment
 * (it does not apply, rather than apply to requests it should not), and a
 * note says why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "detour/rulefile.h"
#include "detour/ruleprint.h"
#include "export_servers.h"

#define MAX_NAMES 17

/* "# FILE:LINE: not exported (why): SOURCE TARGET STATUS" */
static void not_exported(const struct detour_ruleset *rs, const struct detour_rule *r,
                         struct detour_export *x, const char *fmt, const char *why, bool note)
{
	BBUF_LIT(&x->text, "# ");
	bbuf_puts(&x->text, detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r)));
	bbuf_putf(&x->text, ":%u: not exported (%s %s): ", detour_ruleset_line(rs, r), fmt, why);
	detour_rule_format_source(rs, r, &x->text);
	bbuf_putc(&x->text, ' ');
	bbuf_put(&x->text, r->target_len ? r->target : "-", r->target_len ? r->target_len : 1);
	bbuf_putf(&x->text, " %u\n", r->status);
	if (note) /* a host-less rule is written in every server block, noted once */
		detour_export_note(x, detour_ruleset_line(rs, r),
		                   "not exported: %s has no equivalent in %s", why, fmt);
}

static void origin_comment(const struct detour_ruleset *rs, const struct detour_rule *r,
                           struct detour_export *x, const char *indent)
{
	bbuf_puts(&x->text, indent);
	BBUF_LIT(&x->text, "# ");
	bbuf_puts(&x->text, detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r)));
	bbuf_putf(&x->text, ":%u: ", detour_ruleset_line(rs, r));
	detour_rule_format_source(rs, r, &x->text);
	bbuf_putc(&x->text, ' ');
	bbuf_put(&x->text, r->target_len ? r->target : "-", r->target_len ? r->target_len : 1);
	bbuf_putf(&x->text, " %u\n", r->status);
}

static bool same_host(const struct detour_ruleset *rs, const struct detour_rule *a,
                      const struct detour_rule *b)
{
	/* The host number stands for the host and its wildcard (rulefile.h). */
	return detour_ruleset_host_id(rs, a) == detour_ruleset_host_id(rs, b);
}

/* Whether rule r answers in the server block of hr's host: its own rules
 * and the host-less ones (which detour applies to every host). */
static bool applies(const struct detour_ruleset *rs, const struct detour_rule *r,
                    const struct detour_rule *hr)
{
	return detour_ruleset_host_id(rs, r) == 0 || same_host(rs, r, hr);
}

/* The rules' distinct hosts in order of first appearance (index of a rule
 * with each host). */
static size_t hosts_of(const struct detour_ruleset *rs, size_t *first, size_t max)
{
	size_t n = 0, nr = detour_ruleset_count(rs);
	for (size_t i = 0; i < nr && n < max; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = same_host(rs, detour_ruleset_get(rs, first[k]), r);
		if (!seen)
			first[n++] = i;
	}
	return n;
}

static void put_host(const struct detour_ruleset *rs, struct bbuf *b, const struct detour_rule *r)
{
	size_t hl;
	const char *h = detour_ruleset_host(rs, r, &hl);

	if (r->flags & DETOUR_RULE_HOST_WILDCARD)
		bbuf_putc(b, '*');
	bbuf_put(b, h, hl);
}

/* ---- nginx ---- */

static void nginx_put(struct bbuf *b, const char *name, unsigned num, void *arg)
{
	if (name)
		bbuf_putf(b, "$%s", name);
	else
		bbuf_putf(b, "$%u", num);
}

/* A map key or value, quoted for nginx. */
static void nginx_str(struct bbuf *b, const char *s, size_t n)
{
	bbuf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			bbuf_putc(b, '\\');
		bbuf_putc(b, s[i]);
	}
	bbuf_putc(b, '"');
}

#define NGINX_MASK (XF_REGEX | XF_KEEP | XF_DROP | XF_CASE)

static bool nginx_map_rule(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *e = detour_ruleset_ext(rs, r);
	return r->kind == DETOUR_SRC_EXACT && r->status != 410 &&
	       !(r->flags & DETOUR_RULE_TARGET_VARS) && !(e && (e->flags & DETOUR_EXT_CASE_I)) &&
	       !(r->query == DETOUR_QUERY_KEEP && memchr(r->target, '?', r->target_len));
}

/* The map variable of rule r in host block h: $detour_H_STATUS_Q. */
static void map_var(struct bbuf *b, size_t h, const struct detour_rule *r)
{
	bbuf_putf(b, "$detour_%zu_%u_%s", h, r->status,
	          r->query == DETOUR_QUERY_KEEP ? "keep" : "drop");
}

void detour_export_nginx(const struct detour_ruleset *rs, struct detour_export *x)
{
	size_t nr = detour_ruleset_count(rs), hosts[256];
	size_t nh = hosts_of(rs, hosts, 256);
	char why[512], names[MAX_NAMES][64];
	struct bbuf *t = &x->text;

	BBUF_LIT(t, "# Exact rules are looked up in maps (one per server, status and query\n"
	            "# handling) before any location; the other rules are regex locations in\n"
	            "# file order. Put the maps in the http block.\n");
	/* the maps */
	for (size_t h = 0; h < nh; h++) {
		const struct detour_rule *hr = detour_ruleset_get(rs, hosts[h]);
		static const unsigned st[] = {301, 302, 303, 307, 308};
		for (int s = 0; s < 5; s++)
			for (int q = 0; q < 2; q++) {
				bool any = false;
				for (size_t i = 0; i < nr; i++) {
					const struct detour_rule *r = detour_ruleset_get(rs, i);
					if (!applies(rs, r, hr) || r->status != st[s] ||
					    (r->query == DETOUR_QUERY_KEEP) != (q == 0) ||
					    !nginx_map_rule(rs, r) ||
					    detour_export_lacks(rs, r, NGINX_MASK, why,
					                        sizeof(why)))
						continue;
					if (!any) {
						BBUF_LIT(t, "map $uri ");
						map_var(t, h, r);
						BBUF_LIT(t, " {\n    default \"\";\n");
						any = true;
					}
					size_t pl = r->path_len;
					if (x->slash_either && pl > 1 && r->path[pl - 1] == '/')
						pl--;
					for (int v = 0;
					     v < (x->slash_either && r->path_len > 1 ? 2 : 1);
					     v++) {
						BBUF_LIT(t, "    ");
						struct bbuf k;
						bbuf_init(&k, 1 << 20);
						bbuf_put(&k, r->path, pl);
						if (v)
							bbuf_putc(&k, '/');
						nginx_str(t, k.p, k.len);
						bbuf_free(&k);
						bbuf_putc(t, ' ');
						nginx_str(t, r->target, r->target_len);
						BBUF_LIT(t, ";\n");
					}
				}
				if (any)
					BBUF_LIT(t, "}\n");
			}
	}
	for (size_t h = 0; h < nh; h++) {
		const struct detour_rule *hr = detour_ruleset_get(rs, hosts[h]);
		BBUF_LIT(t, "\nserver {\n    listen 80;\n    server_name ");
		if (detour_ruleset_host_id(rs, hr))
			put_host(rs, t, hr);
		else
			BBUF_LIT(t, "_");
		BBUF_LIT(t, ";\n");
		/* the ifs of the maps, once per variable */
		char seen[32] = {0};
		for (size_t i = 0; i < nr; i++) {
			const struct detour_rule *r = detour_ruleset_get(rs, i);
			if (!applies(rs, r, hr) || !nginx_map_rule(rs, r) ||
			    detour_export_lacks(rs, r, NGINX_MASK, why, sizeof(why)))
				continue;
			int slot = (r->status - 300) * 2 + (r->query == DETOUR_QUERY_KEEP);
			if (slot < 0 || slot >= 32 || seen[slot])
				continue;
			seen[slot] = 1;
			BBUF_LIT(t, "    if (");
			map_var(t, h, r);
			bbuf_putf(t, ") {\n        return %u ", r->status);
			map_var(t, h, r);
			if (r->query == DETOUR_QUERY_KEEP)
				BBUF_LIT(t, "$is_args$args");
			BBUF_LIT(t, ";\n    }\n");
		}
		for (size_t i = 0; i < nr; i++) {
			const struct detour_rule *r = detour_ruleset_get(rs, i);
			if (!applies(rs, r, hr))
				continue;
			const char *lack = detour_export_lacks(rs, r, NGINX_MASK, why, sizeof(why));
			if (lack) {
				BBUF_LIT(t, "    ");
				not_exported(rs, r, x, "nginx", lack, same_host(rs, r, hr));
				continue;
			}
			x->nrules += same_host(rs, r, hr); /* once, in its own block */
			if (r->scheme != DETOUR_SCHEME_ANY && same_host(rs, r, hr))
				detour_export_note(x, detour_ruleset_line(rs, r),
				                   "the scheme of the source is not "
				                   "expressed: put the rule in the "
				                   "server block of that scheme");
			if (nginx_map_rule(rs, r))
				continue; /* in a map */
			const struct detour_rule_ext *e = detour_ruleset_ext(rs, r);
			origin_comment(rs, r, x, "    ");
			struct bbuf re;
			bbuf_init(&re, 1 << 20);
			unsigned nn = r->kind == DETOUR_SRC_REGEX
			                      ? detour_export_regex_names(rs, r, names)
			                      : detour_export_path_re(r, x->slash_either, false,
			                                              &re, names);
			if (r->kind == DETOUR_SRC_REGEX)
				detour_export_path_re(r, x->slash_either, false, &re, names);
			BBUF_LIT(t, "    location ");
			bbuf_puts(t, e && (e->flags & DETOUR_EXT_CASE_I) ? "~* " : "~ ");
			nginx_str(t, re.p, re.len);
			bbuf_free(&re);
			if (r->status == 410) {
				BBUF_LIT(t, " {\n        return 410;\n    }\n");
				continue;
			}
			bbuf_putf(t, " {\n        return %u ", r->status);
			struct bbuf tg;
			bbuf_init(&tg, 1 << 20);
			detour_export_target(r, names, nn, &tg, nginx_put, NULL);
			bool tq = memchr(tg.p, '?', tg.len) != NULL;
			nginx_str(t, tg.p, tg.len);
			bbuf_free(&tg);
			if (r->query == DETOUR_QUERY_KEEP) {
				if (tq && same_host(rs, r, hr))
					detour_export_note(
					        x, detour_ruleset_line(rs, r),
					        "query=keep with a target query: nginx adds "
					        "\"&\" even when the request has no query");
				t->len--; /* inside the quotes */
				bbuf_puts(t, tq ? "&$args\"" : "$is_args$args\"");
			}
			BBUF_LIT(t, ";\n    }\n");
		}
		BBUF_LIT(t, "}\n");
	}
	if (!bbuf_ok(t))
		x->oom = true;
}

/* ---- apache ---- */

static void apache_put(struct bbuf *b, const char *name, unsigned num, void *arg)
{
	bbuf_putf(b, "$%u", num);
}

#define APACHE_MASK                                                                                \
	(XF_REGEX | XF_KEEP | XF_DROP | XF_CASE | XF_METHOD | XF_HEADER | XF_COOKIE | XF_QUERY |   \
	 XF_IP | XF_NEGATE | XF_SCHEME)

/* The conditions of r as RewriteCond lines; returns false (nothing
 * written) when one cannot be written. */
static bool apache_conds(const struct detour_ruleset *rs, const struct detour_rule *r,
                         struct bbuf *b, char *why, size_t cap)
{
	const struct detour_rule_ext *e = detour_ruleset_ext(rs, r);
	if (detour_ruleset_host_id(rs, r)) {
		BBUF_LIT(b, "RewriteCond %{HTTP_HOST} ^");
		if (r->flags & DETOUR_RULE_HOST_WILDCARD)
			BBUF_LIT(b, ".+");
		detour_import_re_quote(b, detour_ruleset_host(rs, r, NULL),
		                       strlen(detour_ruleset_host(rs, r, NULL)));
		BBUF_LIT(b, "\\.?(:[0-9]+)?$ [NC]\n");
	}
	if (r->scheme == DETOUR_SCHEME_HTTPS)
		BBUF_LIT(b, "RewriteCond %{HTTPS} =on\n");
	else if (r->scheme == DETOUR_SCHEME_HTTP)
		BBUF_LIT(b, "RewriteCond %{HTTPS} !=on\n");
	for (unsigned i = 0; e && i < e->nconds; i++) {
		const struct detour_cond *c = &e->conds[i];
		const char *v = memchr(c->text.p, '=', c->text.len);
		size_t vl = c->text.len - (size_t)(v - c->text.p) - 1;
		v++;
		if (*v == '!')
			v++, vl--;
		const char *bang = c->negate ? "!" : "";
		switch (c->kind) {
		case DETOUR_COND_METHOD:
			bbuf_putf(b, "RewriteCond %%{REQUEST_METHOD} %s^(", bang);
			for (size_t k = 0; k < vl; k++)
				bbuf_putc(b, v[k] == ',' ? '|' : v[k]);
			BBUF_LIT(b, ")$\n");
			break;
		case DETOUR_COND_HEADER:
			bbuf_putf(b, "RewriteCond %%{HTTP:%.*s} %s", (int)c->name.len, c->name.p,
			          bang);
			if (c->value.p == NULL) {
				BBUF_LIT(b, ".");
			} else if (c->re) {
				struct bbuf tmp;
				bbuf_init(&tmp, 65536);
				bbuf_put(&tmp, c->value.p, c->value.len);
				detour_import_re_put(b, bbuf_cstr(&tmp));
				bbuf_free(&tmp);
			} else {
				BBUF_LIT(b, "^");
				detour_import_re_quote(b, c->value.p, c->value.len);
				BBUF_LIT(b, "$");
			}
			bbuf_putc(b, '\n');
			break;
		case DETOUR_COND_COOKIE:
			bbuf_putf(b, "RewriteCond %%{HTTP_COOKIE} %s(^|;\\s*)", bang);
			detour_import_re_quote(b, c->name.p, c->name.len);
			bbuf_putc(b, '=');
			if (c->value.p) {
				detour_import_re_quote(b, c->value.p, c->value.len);
				BBUF_LIT(b, "(;|$)");
			}
			bbuf_putc(b, '\n');
			break;
		case DETOUR_COND_QUERY: {
			const char *p = c->name.p, *end = c->name.p + c->name.len;
			if (c->negate && memchr(p, '&', c->name.len)) {
				snprintf(why, cap, "the condition %.*s", (int)c->text.len,
				         c->text.p);
				return false;
			}
			while (p < end) {
				const char *amp = memchr(p, '&', (size_t)(end - p));
				const char *pe = amp ? amp : end;
				bbuf_putf(b, "RewriteCond %%{QUERY_STRING} %s(^|&)", bang);
				detour_import_re_quote(b, p, (size_t)(pe - p));
				bbuf_puts(b, memchr(p, '=', (size_t)(pe - p)) ? "(&|$)\n"
				                                              : "(=|&|$)\n");
				p = amp ? amp + 1 : end;
			}
			break;
		}
		case DETOUR_COND_IP: {
			const char *p = v, *end = v + vl;
			while (p < end) {
				const char *comma = memchr(p, ',', (size_t)(end - p));
				const char *pe = comma ? comma : end;
				bbuf_putf(b, "RewriteCond %%{REMOTE_ADDR} %s-ipmatch %.*s%s\n",
				          bang, (int)(pe - p), p,
				          comma && !c->negate ? " [OR]" : "");
				p = comma ? comma + 1 : end;
			}
			break;
		}
		default:
			snprintf(why, cap, "the condition %.*s", (int)c->text.len, c->text.p);
			return false;
		}
	}
	return true;
}

void detour_export_apache(const struct detour_ruleset *rs, struct detour_export *x)
{
	size_t nr = detour_ruleset_count(rs);
	char why[512], names[MAX_NAMES][64];
	struct bbuf *t = &x->text;

	BBUF_LIT(t, "# An .htaccess for the document root (mod_rewrite; in a <VirtualHost>, add\n"
	            "# a '/' after each pattern's '^').\nRewriteEngine On\n");
	for (size_t i = 0; i < nr; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		const struct detour_rule_ext *e = detour_ruleset_ext(rs, r);
		const char *lack = detour_export_lacks(rs, r, APACHE_MASK, why, sizeof(why));
		struct bbuf conds;
		bbuf_init(&conds, 1 << 20);
		if (!lack && !apache_conds(rs, r, &conds, why, sizeof(why)))
			lack = why;
		if (lack) {
			not_exported(rs, r, x, "apache", lack, true);
			bbuf_free(&conds);
			continue;
		}
		x->nrules++;
		BBUF_LIT(t, "\n");
		origin_comment(rs, r, x, "");
		bbuf_put(t, conds.p, conds.len);
		bbuf_free(&conds);
		unsigned nn =
		        r->kind == DETOUR_SRC_REGEX ? detour_export_regex_names(rs, r, names) : 0;
		BBUF_LIT(t, "RewriteRule ");
		struct bbuf re;
		bbuf_init(&re, 1 << 20);
		unsigned pn = detour_export_path_re(r, x->slash_either, true, &re, names);
		if (r->kind != DETOUR_SRC_REGEX)
			nn = pn;
		/* Apache has no named references: the groups are numbered */
		bbuf_put(t, re.p, re.len);
		bbuf_free(&re);
		bbuf_putc(t, ' ');
		bool nc = e && (e->flags & DETOUR_EXT_CASE_I);
		if (r->status == 410) {
			bbuf_putf(t, "- [G%s]\n", nc ? ",NC" : "");
			continue;
		}
		struct bbuf tg;
		bbuf_init(&tg, 1 << 20);
		detour_export_target(r, names, nn, &tg, apache_put, NULL);
		/* "%N" in a substitution is a RewriteCond reference: escape '%' */
		for (size_t k = 0; k < tg.len; k++) {
			if (tg.p[k] == '%')
				bbuf_putc(t, '\\');
			bbuf_putc(t, tg.p[k]);
		}
		bool tq = memchr(tg.p, '?', tg.len) != NULL;
		bbuf_free(&tg);
		bbuf_putf(t, " [R=%u,L,NE%s%s]\n", r->status, nc ? ",NC" : "",
		          r->query == DETOUR_QUERY_DROP ? ",QSD"
		          : tq                          ? ",QSA"
		                                        : "");
	}
	if (!bbuf_ok(t))
		x->oom = true;
}

/* ---- caddy ---- */

struct caddy_arg {
	size_t id;
};

static void caddy_put(struct bbuf *b, const char *name, unsigned num, void *arg)
{
	const struct caddy_arg *a = arg;
	if (name && *name)
		bbuf_putf(b, "{re.r%zu.%s}", a->id, name);
	else
		bbuf_putf(b, "{re.r%zu.%u}", a->id, num);
}

#define CADDY_MASK                                                                                 \
	(XF_REGEX | XF_KEEP | XF_DROP | XF_CASE | XF_METHOD | XF_HEADER | XF_COOKIE | XF_QUERY |   \
	 XF_IP | XF_NEGATE | XF_SCHEME)

void detour_export_caddy(const struct detour_ruleset *rs, struct detour_export *x)
{
	size_t nr = detour_ruleset_count(rs), hosts[256];
	size_t nh = hosts_of(rs, hosts, 256);
	char why[512], names[MAX_NAMES][64];
	struct bbuf *t = &x->text;

	BBUF_LIT(t, "# A Caddyfile: one site per host, the rules in a route (file order).\n");
	for (size_t h = 0; h < nh; h++) {
		const struct detour_rule *hr = detour_ruleset_get(rs, hosts[h]);
		bbuf_putc(t, '\n');
		if (detour_ruleset_host_id(rs, hr)) {
			bbuf_puts(t, hr->scheme == DETOUR_SCHEME_HTTP ? "http://" : "");
			put_host(rs, t, hr);
		} else {
			BBUF_LIT(t, ":80");
		}
		BBUF_LIT(t, " {\n\troute {\n");
		for (size_t i = 0; i < nr; i++) {
			const struct detour_rule *r = detour_ruleset_get(rs, i);
			if (!applies(rs, r, hr))
				continue;
			const struct detour_rule_ext *e = detour_ruleset_ext(rs, r);
			const char *lack = detour_export_lacks(rs, r, CADDY_MASK, why, sizeof(why));
			for (unsigned k = 0; !lack && e && k < e->nconds; k++)
				if (e->conds[k].kind == DETOUR_COND_LANG)
					lack = "if-lang=";
			if (lack) {
				BBUF_LIT(t, "\t\t");
				not_exported(rs, r, x, "caddy", lack, same_host(rs, r, hr));
				continue;
			}
			x->nrules += same_host(rs, r, hr); /* once, in its own block */
			origin_comment(rs, r, x, "\t\t");
			struct bbuf re;
			bbuf_init(&re, 1 << 20);
			unsigned nn = detour_export_path_re(r, x->slash_either, false, &re, names);
			if (r->kind == DETOUR_SRC_REGEX)
				nn = detour_export_regex_names(rs, r, names);
			bbuf_putf(t, "\t\t@r%zu {\n\t\t\tpath_regexp r%zu ", i, i);
			if (e && (e->flags & DETOUR_EXT_CASE_I))
				BBUF_LIT(t, "(?i)");
			bbuf_put(t, re.p, re.len);
			bbuf_putc(t, '\n');
			bbuf_free(&re);
			if (r->scheme == DETOUR_SCHEME_HTTPS)
				BBUF_LIT(t, "\t\t\tprotocol https\n");
			for (unsigned k = 0; e && k < e->nconds; k++) {
				const struct detour_cond *c = &e->conds[k];
				const char *not = c->negate ? "not " : "";
				const char *v = memchr(c->text.p, '=', c->text.len) + 1;
				size_t vl = c->text.len - (size_t)(v - c->text.p);
				if (*v == '!')
					v++, vl--;
				BBUF_LIT(t, "\t\t\t");
				switch (c->kind) {
				case DETOUR_COND_METHOD:
					bbuf_putf(t, "%smethod ", not );
					for (size_t q = 0; q < vl; q++)
						bbuf_putc(t, v[q] == ',' ? ' ' : v[q]);
					break;
				case DETOUR_COND_HEADER:
					if (c->value.p == NULL)
						bbuf_putf(t, "%sheader %.*s *", not,
						          (int)c->name.len, c->name.p);
					else
						bbuf_putf(t, "%sheader%s %.*s %.*s", not,
						          c->re ? "_regexp" : "", (int)c->name.len,
						          c->name.p, (int)c->value.len, c->value.p);
					break;
				case DETOUR_COND_COOKIE:
					bbuf_putf(t,
					          "%sheader_regexp c%u Cookie (^|;\\s*)%.*s=%.*s%s",
					          not, k, (int)c->name.len, c->name.p,
					          c->value.p ? (int)c->value.len : 0,
					          c->value.p ? c->value.p : "",
					          c->value.p ? "(;|$)" : "");
					break;
				case DETOUR_COND_QUERY:
					bbuf_putf(t, "%squery", not );
					for (const char *p = c->name.p,
					                *end = c->name.p + c->name.len;
					     p < end;) {
						const char *amp = memchr(p, '&', (size_t)(end - p));
						const char *pe = amp ? amp : end;
						bool eq = memchr(p, '=', (size_t)(pe - p)) != NULL;
						bbuf_putf(t, " %.*s%s", (int)(pe - p), p,
						          eq ? "" : "=*");
						p = amp ? amp + 1 : end;
					}
					break;
				case DETOUR_COND_IP:
					bbuf_putf(t, "%sremote_ip ", not );
					for (size_t q = 0; q < vl; q++)
						bbuf_putc(t, v[q] == ',' ? ' ' : v[q]);
					break;
				default:
					break;
				}
				bbuf_putc(t, '\n');
			}
			BBUF_LIT(t, "\t\t}\n");
			if (r->status == 410) {
				bbuf_putf(t, "\t\trespond @r%zu 410\n", i);
				continue;
			}
			bbuf_putf(t, "\t\tredir @r%zu ", i);
			struct caddy_arg a = {i};
			struct bbuf tg;
			bbuf_init(&tg, 1 << 20);
			detour_export_target(r, names, nn, &tg, caddy_put, &a);
			bool tq = memchr(tg.p, '?', tg.len) != NULL;
			bbuf_put(t, tg.p, tg.len);
			bbuf_free(&tg);
			if (r->query == DETOUR_QUERY_KEEP) {
				/* {?query} is "?" and the query, or nothing */
				bbuf_puts(t, tq ? "&{query}" : "{?query}");
				if (tq && same_host(rs, r, hr))
					detour_export_note(
					        x, detour_ruleset_line(rs, r),
					        "query=keep with a target query: Caddy adds "
					        "\"&\" even when the request has no query");
			}
			bbuf_putf(t, " %u\n", r->status);
		}
		BBUF_LIT(t, "\t}\n}\n");
	}
	if (!bbuf_ok(t))
		x->oom = true;
}
