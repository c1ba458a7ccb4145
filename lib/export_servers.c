/* detour export nginx, apache, caddy (lib/export_servers.h).
 *
 * A rule whose options the server cannot express is written as a comment
 * (it does not apply, rather than apply to requests it should not), and a
 * note says why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	bbuf_put(&x->text, r->target_len ? detour_rule_target(rs, r) : "-",
	         r->target_len ? r->target_len : 1);
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
	bbuf_put(&x->text, r->target_len ? detour_rule_target(rs, r) : "-",
	         r->target_len ? r->target_len : 1);
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
	       !(r->query == DETOUR_QUERY_KEEP &&
	         memchr(detour_rule_target(rs, r), '?', r->target_len));
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
					if (x->slash_either && pl > 1 &&
					    detour_rule_path(rs, r)[pl - 1] == '/')
						pl--;
					for (int v = 0;
					     v < (x->slash_either && r->path_len > 1 ? 2 : 1);
					     v++) {
						BBUF_LIT(t, "    ");
						struct bbuf k;
						bbuf_init(&k, 1 << 20);
						bbuf_put(&k, detour_rule_path(rs, r), pl);
						if (v)
							bbuf_putc(&k, '/');
						nginx_str(t, k.p, k.len);
						bbuf_free(&k);
						bbuf_putc(t, ' ');
						nginx_str(t, detour_rule_target(rs, r),
						          r->target_len);
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
			                      : detour_export_path_re(rs, r, x->slash_either, false,
			                                              &re, names);
			if (r->kind == DETOUR_SRC_REGEX)
				detour_export_path_re(rs, r, x->slash_either, false, &re, names);
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
			detour_export_target(rs, r, names, nn, &tg, nginx_put, NULL);
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
				struct bbuf tmp; /* the regex, without its '~' */
				bbuf_init(&tmp, 65536);
				bbuf_put(&tmp, c->value.p + 1, c->value.len - 1);
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
		unsigned pn = detour_export_path_re(rs, r, x->slash_either, true, &re, names);
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
		detour_export_target(rs, r, names, nn, &tg, apache_put, NULL);
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

/* Appends the PCRE re[0..n) as RE2, the syntax of Go's regexp that Caddy's
 * path_regexp and header_regexp compile: named groups "(?<name>" and
 * "(?'name'" become "(?P<name>"; what RE2 lacks (lookaround, atomic groups,
 * possessive quantifiers, back-references, recursion, \K, \G, \Z) makes
 * the rule not exported. Returns NULL, or what RE2 lacks. */
static const char *caddy_re(struct bbuf *b, const char *re, size_t n)
{
	bool quant = false; /* the previous token was a quantifier */
	for (size_t i = 0; i < n; i++) {
		char c = re[i];
		if (c == '\\' && i + 1 < n) {
			char d = re[i + 1];
			if ((d >= '1' && d <= '9') || strchr("gkKGZRX", d))
				return "a regex with a back-reference, \\K, \\G, \\Z, \\R or \\X "
				       "(RE2 has none)";
			bbuf_put(b, re + i, 2);
			i++;
			quant = false;
			continue;
		}
		if (c == '[') {
			/* a class, copied whole: "]" first is a member */
			size_t j = i + 1;
			if (j < n && re[j] == '^')
				j++;
			if (j < n && re[j] == ']')
				j++;
			while (j < n && re[j] != ']')
				j += re[j] == '\\' ? 2 : 1;
			if (j >= n)
				j = n - 1;
			bbuf_put(b, re + i, j - i + 1);
			i = j;
			quant = false;
			continue;
		}
		if (c == '(' && i + 1 < n && re[i + 1] == '?') {
			const char *g = re + i + 2;
			size_t gl = n - i - 2;
			if (gl && (*g == '<' || *g == '\'') && gl > 1 && g[1] != '=' &&
			    g[1] != '!') {
				/* (?<name>...) or (?'name'...) */
				size_t k = 1;
				while (k < gl && g[k] != (*g == '<' ? '>' : '\''))
					k++;
				BBUF_LIT(b, "(?P<");
				bbuf_put(b, g + 1, k - 1);
				bbuf_putc(b, '>');
				i += 2 + k;
				quant = false;
				continue;
			}
			if (gl && strchr("=!<>|R&#+0123456789", *g))
				return "a regex with lookaround, an atomic group, a branch reset, "
				       "recursion or a comment group (RE2 has none)";
			if (gl > 1 && *g == 'P' && (g[1] == '>' || g[1] == '='))
				return "a regex with recursion or a named back-reference (RE2 has "
				       "none)";
		}
		if (c == '+' && quant)
			return "a regex with a possessive quantifier (RE2 has none)";
		quant = c == '*' || c == '+' || c == '}' || (c == '?' && i && re[i - 1] != '(');
		if (c == '?' && i &&
		    (re[i - 1] == '*' || re[i - 1] == '+' || re[i - 1] == '?' || re[i - 1] == '}'))
			quant = false; /* a lazy quantifier ends the quantifier */
		bbuf_putc(b, c);
	}
	return NULL;
}

/* The regex of a header condition's value as RE2 ("~" left out). */
static const char *caddy_header_re(struct bbuf *b, const struct detour_cond *c)
{
	struct bbuf tmp;
	bbuf_init(&tmp, 65536);
	bbuf_put(&tmp, c->value.p + 1, c->value.len - 1);
	struct bbuf sp;
	bbuf_init(&sp, 65536);
	detour_import_re_put(&sp, bbuf_cstr(&tmp));
	const char *why = caddy_re(b, sp.p, sp.len);
	bbuf_free(&tmp);
	bbuf_free(&sp);
	return why;
}

/* A query value Caddy compares as detour does: Caddy decodes what detour
 * compares as received, and its Caddyfile and CEL read some bytes. */
static bool caddy_query_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr("%+'\\{}\"", p[i]) || (unsigned char)p[i] <= ' ')
			return false;
	return true;
}

/* The matcher lines of rule r's conditions (one named matcher), into m.
 * Returns NULL, or why the rule cannot be written. Caddy's header
 * matchers keep one entry per field (a map), and its query matcher holds
 * when any of its parameters does: two conditions on one header, and a
 * list of query parameters, are written otherwise or refused. */
static const char *caddy_conds(const struct detour_rule_ext *e, struct bbuf *m, struct bbuf *ex,
                               char *why, size_t cap)
{
	unsigned nq = 0;
	for (unsigned k = 0; e && k < e->nconds; k++)
		if (e->conds[k].kind == DETOUR_COND_QUERY)
			nq += memchr(e->conds[k].name.p, '&', e->conds[k].name.len) ? 2 : 1;
	for (unsigned k = 0; e && k < e->nconds; k++) {
		const struct detour_cond *c = &e->conds[k];
		const char *not = c->negate ? "not " : "";
		const char *v = memchr(c->text.p, '=', c->text.len) + 1;
		size_t vl = c->text.len - (size_t)(v - c->text.p);
		if (*v == '!')
			v++, vl--;
		for (unsigned j = 0; j < k; j++) {
			const struct detour_cond *o = &e->conds[j];
			if (o->kind == c->kind && o->negate == c->negate &&
			    (c->kind == DETOUR_COND_METHOD || c->kind == DETOUR_COND_IP)) {
				snprintf(why, cap,
				         "two %s conditions (Caddy's matcher would take either)",
				         c->kind == DETOUR_COND_IP ? "if-ip=" : "method=");
				return why;
			}
			bool hdr = c->kind == DETOUR_COND_HEADER || c->kind == DETOUR_COND_COOKIE;
			bool ohdr = o->kind == DETOUR_COND_HEADER || o->kind == DETOUR_COND_COOKIE;
			const char *cn = c->kind == DETOUR_COND_COOKIE ? "Cookie" : c->name.p;
			size_t cl = c->kind == DETOUR_COND_COOKIE ? 6 : c->name.len;
			const char *on = o->kind == DETOUR_COND_COOKIE ? "Cookie" : o->name.p;
			size_t ol = o->kind == DETOUR_COND_COOKIE ? 6 : o->name.len;
			if (hdr && ohdr && c->negate == o->negate && cl == ol &&
			    !strncasecmp(cn, on, cl)) {
				snprintf(why, cap,
				         "two conditions on the header %.*s (Caddy's header "
				         "matchers keep one per field)",
				         (int)cl, cn);
				return why;
			}
		}
		/* One parameter in all: the query matcher. More (its parameters
		 * hold when any does, and one matcher set keeps one query
		 * matcher): each a query() call of the one CEL expression. */
		bool to_ex = c->kind == DETOUR_COND_QUERY && nq > 1;
		if (!to_ex)
			BBUF_LIT(m, "\t\t\t");
		switch (c->kind) {
		case DETOUR_COND_METHOD:
			bbuf_putf(m, "%smethod ", not );
			for (size_t q = 0; q < vl; q++)
				bbuf_putc(m, v[q] == ',' ? ' ' : v[q]);
			break;
		case DETOUR_COND_HEADER:
			if (c->value.p == NULL) {
				bbuf_putf(m, "%sheader %.*s *", not, (int)c->name.len, c->name.p);
			} else if (c->re) {
				bbuf_putf(m, "%sheader_regexp %.*s ", not, (int)c->name.len,
				          c->name.p);
				const char *w = caddy_header_re(m, c);
				if (w)
					return w;
			} else if (memchr(c->value.p, '*', c->value.len) ||
			           detour_import_has_blank(c->value.p, c->value.len) ||
			           !c->value.len) {
				/* '*' is a wildcard to Caddy's header matcher */
				bbuf_putf(m, "%sheader_regexp %.*s ^", not, (int)c->name.len,
				          c->name.p);
				detour_import_re_quote(m, c->value.p, c->value.len);
				bbuf_putc(m, '$');
			} else {
				bbuf_putf(m, "%sheader %.*s %.*s", not, (int)c->name.len, c->name.p,
				          (int)c->value.len, c->value.p);
			}
			break;
		case DETOUR_COND_COOKIE:
			bbuf_putf(m, "%sheader_regexp c%u Cookie (^|;\\s*)", not, k);
			detour_import_re_quote(m, c->name.p, c->name.len);
			bbuf_putc(m, '=');
			if (c->value.p) {
				detour_import_re_quote(m, c->value.p, c->value.len);
				BBUF_LIT(m, "(;|$)");
			}
			break;
		case DETOUR_COND_QUERY: {
			const char *p = c->name.p, *end = c->name.p + c->name.len;
			if (!caddy_query_ok(p, c->name.len)) {
				snprintf(why, cap,
				         "the condition %.*s (a query with %%-escapes, '+', quotes "
				         "or "
				         "braces: Caddy decodes what detour compares as received)",
				         (int)c->text.len, c->text.p);
				return why;
			}
			if (to_ex)
				bbuf_putf(ex, "%s%s(", ex->len ? " && " : "", c->negate ? "!" : "");
			else
				bbuf_putf(m, "%squery", not );
			for (bool first = true; p < end; first = false) {
				const char *amp = memchr(p, '&', (size_t)(end - p));
				const char *pe = amp ? amp : end;
				const char *eq = memchr(p, '=', (size_t)(pe - p));
				if (to_ex)
					bbuf_putf(ex, "%squery({'%.*s': '%.*s'})",
					          first ? "" : " && ", (int)((eq ? eq : pe) - p), p,
					          eq ? (int)(pe - eq - 1) : 1, eq ? eq + 1 : "*");
				else
					bbuf_putf(m, " %.*s%s", (int)(pe - p), p, eq ? "" : "=*");
				p = amp ? amp + 1 : end;
			}
			if (to_ex)
				bbuf_putc(ex, ')');
			break;
		}
		case DETOUR_COND_IP:
			bbuf_putf(m, "%sremote_ip ", not );
			for (size_t q = 0; q < vl; q++)
				bbuf_putc(m, v[q] == ',' ? ' ' : v[q]);
			break;
		default:
			break;
		}
		if (!to_ex)
			bbuf_putc(m, '\n');
	}
	return NULL;
}

/* The generated path regex re[0..n) (RE2, from detour_export_path_re) for
 * the request line's target, escaped as sent: a splat or :name stops at the
 * query, which may follow. */
static void caddy_raw_re(struct bbuf *b, const char *re, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i + 1 == n && re[i] == '$') {
			BBUF_LIT(b, "(?:\\?.*)?$");
		} else if (i + 3 <= n && !memcmp(re + i, ".*)", 3)) {
			BBUF_LIT(b, "[^?]*)");
			i += 2;
		} else if (i + 6 <= n && !memcmp(re + i, "[^/]+)", 6)) {
			BBUF_LIT(b, "[^/?]+)");
			i += 5;
		} else {
			bbuf_putc(b, re[i]);
		}
	}
}

/* The matcher set's one expression line (a second one would replace the
 * first): the conjuncts in ex, and more when not NULL. */
static void caddy_expression(struct bbuf *t, const struct bbuf *ex, const char *more)
{
	if (!ex->len && !more)
		return;
	BBUF_LIT(t, "\t\t\texpression ");
	bbuf_put(t, ex->p, ex->len);
	if (more)
		bbuf_putf(t, "%s%s", ex->len ? " && " : "", more);
	bbuf_putc(t, '\n');
}

/* A site address: a host-less block answers every host on port 80; a host
 * with no scheme in its rules is both http:// and https:// (so that an
 * http request gets the rule, as from detour, not Caddy's own redirect to
 * https first). */
static void caddy_site(const struct detour_ruleset *rs, struct bbuf *t,
                       const struct detour_rule *hr)
{
	if (!detour_ruleset_host_id(rs, hr)) {
		BBUF_LIT(t, ":80");
		return;
	}
	if (hr->scheme != DETOUR_SCHEME_HTTPS) {
		BBUF_LIT(t, "http://");
		put_host(rs, t, hr);
	}
	if (hr->scheme == DETOUR_SCHEME_ANY)
		BBUF_LIT(t, ", ");
	if (hr->scheme != DETOUR_SCHEME_HTTP) {
		BBUF_LIT(t, "https://");
		put_host(rs, t, hr);
	}
}

void detour_export_caddy(const struct detour_ruleset *rs, struct detour_export *x)
{
	size_t nr = detour_ruleset_count(rs), hosts[256];
	size_t nh = hosts_of(rs, hosts, 256);
	char why[512], names[MAX_NAMES][64];
	struct bbuf *t = &x->text;

	BBUF_LIT(t, "# A Caddyfile (Caddy 2.6 or later): one site per host, the rules in a\n"
	            "# route (file order); a site's other handlers go after the route.\n");
	for (size_t h = 0; h < nh; h++) {
		const struct detour_rule *hr = detour_ruleset_get(rs, hosts[h]);
		bbuf_putc(t, '\n');
		caddy_site(rs, t, hr);
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
			/* The matcher: the path, the scheme, the conditions. */
			struct bbuf m, re;
			bbuf_init(&m, 1 << 20);
			bbuf_init(&re, 1 << 20);
			unsigned nn =
			        detour_export_path_re(rs, r, x->slash_either, false, &re, names);
			if (r->kind == DETOUR_SRC_REGEX)
				nn = detour_export_regex_names(rs, r, names);
			struct bbuf re2;
			bbuf_init(&re2, 1 << 20);
			if (!lack)
				lack = caddy_re(&re2, re.p, re.len);
			const char *ci = e && (e->flags & DETOUR_EXT_CASE_I) ? "(?i)" : "";
			if (r->kind != DETOUR_SRC_REGEX && nn) {
				/* path_regexp sees the path decoded: it matches as
				 * detour does, but "%20", "%2F", "%3F" in a splat
				 * or a :name would reach the Location decoded. The
				 * captures come from the request line instead,
				 * escaped as sent. */
				bbuf_putf(&m, "\t\t\tpath_regexp %s%.*s\n", ci, (int)re2.len,
				          re2.p);
				bbuf_putf(&m, "\t\t\tvars_regexp r%zu {http.request.uri} %s", i,
				          ci);
				caddy_raw_re(&m, re2.p, re2.len);
				bbuf_putc(&m, '\n');
			} else {
				bbuf_putf(&m, "\t\t\tpath_regexp r%zu %s%.*s\n", i, ci,
				          (int)re2.len, re2.p);
			}
			bbuf_free(&re2);
			if (r->scheme == DETOUR_SCHEME_HTTPS)
				BBUF_LIT(&m, "\t\t\tprotocol https\n");
			else if (r->scheme == DETOUR_SCHEME_HTTP)
				BBUF_LIT(&m, "\t\t\tprotocol http\n");
			struct bbuf ex;
			bbuf_init(&ex, 1 << 16);
			if (!lack)
				lack = caddy_conds(e, &m, &ex, why, sizeof(why));
			bbuf_free(&re);
			if (lack) {
				BBUF_LIT(t, "\t\t");
				not_exported(rs, r, x, "caddy", lack, same_host(rs, r, hr));
				bbuf_free(&m);
				bbuf_free(&ex);
				continue;
			}
			x->nrules += same_host(rs, r, hr); /* once, in its own block */
			origin_comment(rs, r, x, "\t\t");
			if (r->status == 410) {
				bbuf_putf(t, "\t\t@r%zu {\n", i);
				bbuf_put(t, m.p, m.len);
				caddy_expression(t, &ex, NULL);
				bbuf_putf(t, "\t\t}\n\t\trespond @r%zu 410\n", i);
				bbuf_free(&m);
				bbuf_free(&ex);
				continue;
			}
			struct caddy_arg a = {i};
			struct bbuf tg;
			bbuf_init(&tg, 1 << 20);
			detour_export_target(rs, r, names, nn, &tg, caddy_put, &a);
			bool tq = memchr(tg.p, '?', tg.len) != NULL;
			if (r->query == DETOUR_QUERY_KEEP) {
				/* The request's query, when it has one: a first
				 * redirect for a non-empty query, then the target
				 * alone ({?query} is Caddy 2.7's). */
				bbuf_putf(t, "\t\t@r%zuq {\n", i);
				bbuf_put(t, m.p, m.len);
				caddy_expression(t, &ex, "{query} != ''");
				BBUF_LIT(t, "\t\t}\n");
				bbuf_putf(t, "\t\tredir @r%zuq ", i);
				bbuf_put(t, tg.p, tg.len);
				bbuf_puts(t, tq ? "&{query}" : "?{query}");
				bbuf_putf(t, " %u\n", r->status);
			}
			bbuf_putf(t, "\t\t@r%zu {\n", i);
			bbuf_put(t, m.p, m.len);
			caddy_expression(t, &ex, NULL);
			bbuf_putf(t, "\t\t}\n\t\tredir @r%zu ", i);
			bbuf_put(t, tg.p, tg.len);
			bbuf_putf(t, " %u\n", r->status);
			bbuf_free(&tg);
			bbuf_free(&m);
			bbuf_free(&ex);
		}
		BBUF_LIT(t, "\t}\n}\n");
	}
	if (!bbuf_ok(t))
		x->oom = true;
}
