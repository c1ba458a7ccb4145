/* detour import vercel, redirection (JSON), netlify-toml
 * (lib/import_json.h).
 *
 * Vercel (vercel.com/docs, "Project configuration", redirects): source is a
 * path-to-regexp pattern (":name", ":name*", ":name+", ":name?",
 * ":name(regex)", "(regex)"); permanent true (the default) is 308, false
 * 307, statusCode overrides both; has and missing test a header, cookie,
 * host or query parameter (value a regex); the query string is passed on.
 *
 * jansson keeps no positions: the line of each element of "redirects" is
 * found by a scan of the text (json_lines). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ascii.h"
#include "import_json.h"
#include "import_netlify.h"
#include "import_toml.h"

#define MAX_LINES 100000

/* The line of each element of the array under the top-level key "key":
 * lines[i] for element i (0 when unknown). */
static void json_lines(const char *s, size_t n, const char *key, unsigned *lines, size_t max)
{
	unsigned line = 1;
	int depth = 0, arr_depth = -1;
	size_t idx = 0, kl = strlen(key);
	bool want_elem = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n') {
			line++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		if (want_elem && c != ']') {
			if (idx < max)
				lines[idx] = line;
			idx++;
			want_elem = false;
		}
		if (c == '"') {
			size_t st = i + 1;
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			/* a key at depth 1 followed by ':' '[' */
			if (depth == 1 && arr_depth < 0 && i - st == kl &&
			    !memcmp(s + st, key, kl)) {
				size_t j = i + 1;
				while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' ||
				                 s[j] == '\r' || s[j] == ':'))
					line += s[j++] == '\n';
				if (j < n && s[j] == '[') {
					i = j;
					depth++;
					arr_depth = depth;
					want_elem = true;
				}
			}
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (depth == arr_depth)
				arr_depth = -2; /* done */
			depth--;
		} else if (c == ',' && depth == arr_depth)
			want_elem = true;
	}
}

static json_t *load(const char *buf, size_t len, struct detour_diag *d, const char *file)
{
	json_error_t e;
	json_t *j = json_loadb(buf, len, 0, &e);
	if (j == NULL)
		detour_diag_set(d, file, (unsigned)(e.line > 0 ? e.line : 0),
		                (unsigned)(e.column > 0 ? e.column : 0), "not JSON: %s", e.text);
	return j;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void comment(struct detour_import *im, unsigned line, json_t *v)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (t) {
		detour_import_source(im, line, t, strlen(t));
		free(t);
	}
}

/* path-to-regexp -> a detour source. Plain (":name", a final ":name*") when
 * possible, else a regex. *splat names the ":name*" turned into a splat. */
static const char *vercel_source(const char *src, struct bbuf *out, bool *regex, char *splat,
                                 size_t splat_cap)
{
	*regex = false;
	splat[0] = '\0';
	bool simple = true;
	for (const char *p = src; *p; p++)
		if (*p == '(' || *p == '+' || *p == '?' || (*p == '*' && p[1] != '\0'))
			simple = false;
	const char *star = strchr(src, '*');
	if (simple) {
		/* "/blog/:slug", "/docs/:path*" */
		const char *last = strrchr(src, '/');
		if (star && last && last[1] == ':' && star[1] == '\0') {
			snprintf(splat, splat_cap, "%.*s", (int)(star - last - 2), last + 2);
			bbuf_put(out, src, (size_t)(last - src));
			BBUF_LIT(out, "/*");
		} else if (star) {
			return "a '*' that is not a final :name*";
		} else {
			bbuf_puts(out, src);
		}
		return NULL;
	}
	*regex = true;
	BBUF_LIT(out, "^");
	for (const char *p = src; *p;) {
		if (*p == '/' && p[1] == ':') {
			const char *n = p + 2, *e = n;
			while (ascii_is_alnum((unsigned char)*e) || *e == '_')
				e++;
			char re[1024] = "[^/]+";
			if (*e == '(') {
				int depth = 0;
				const char *q = e;
				for (; *q; q++) {
					if (*q == '\\' && q[1]) {
						q++;
						continue;
					}
					depth += *q == '(' ? 1 : *q == ')' ? -1 : 0;
					if (depth == 0)
						break;
				}
				if (*q != ')' || (size_t)(q - e - 1) >= sizeof(re))
					return "an unbalanced ( in the source";
				snprintf(re, sizeof(re), "%.*s", (int)(q - e - 1), e + 1);
				e = q + 1;
			}
			char mod = *e == '*' || *e == '+' || *e == '?' ? *e++ : 0;
			const char *paren = memchr(n, '(', (size_t)(e - n));
			size_t nl = paren ? (size_t)(paren - n) : (size_t)(e - n) - (mod ? 1 : 0);
			if (mod == '*')
				bbuf_putf(out, "(?:/(?<%.*s>%s(?:/%s)*))?", (int)nl, n, re, re);
			else if (mod == '+')
				bbuf_putf(out, "/(?<%.*s>%s(?:/%s)*)", (int)nl, n, re, re);
			else if (mod == '?')
				bbuf_putf(out, "(?:/(?<%.*s>%s))?", (int)nl, n, re);
			else
				bbuf_putf(out, "/(?<%.*s>%s)", (int)nl, n, re);
			p = e;
			continue;
		}
		if (*p == '(') {
			/* an unnamed group: as written */
			bbuf_putc(out, *p++);
			continue;
		}
		if (strchr(".+?*[]{}^$|\\", *p))
			bbuf_putc(out, '\\');
		bbuf_putc(out, *p++);
	}
	BBUF_LIT(out, "$");
	return NULL;
}

/* A has/missing item as an option; NULL or why not. host: the value goes
 * into *host (a plain source only). */
static const char *has_opt(json_t *h, bool neg, struct bbuf *o, const char **host, bool regex)
{
	const char *type = str(h, "type"), *key = str(h, "key"), *val = str(h, "value");
	const char *bang = neg ? "!" : "";
	bool has_val = json_object_get(h, "value") != NULL;
	if (!strcmp(type, "host")) {
		if (neg || regex || strpbrk(val, "()[]*+?\\|^$"))
			return "a host condition detour cannot express (negated, or on a regex "
			       "source, or a pattern)";
		*host = val;
		return NULL;
	}
	if (!*key)
		return "a has/missing item without a key";
	if (!strcmp(type, "header")) {
		if (has_val)
			bbuf_putf(o, " if-header=%s%s:~^(?:%s)$", bang, key, val);
		else
			bbuf_putf(o, " if-header=%s%s", bang, key);
		return NULL;
	}
	if (!strcmp(type, "cookie") || !strcmp(type, "query")) {
		if (has_val && strpbrk(val, "()[]*+?\\|^$."))
			return "a cookie or query value that is a pattern: detour compares them "
			       "exactly";
		bbuf_putf(o, " if-%s=%s%s%s%s", !strcmp(type, "cookie") ? "cookie" : "query", bang,
		          key, has_val ? "=" : "", has_val ? val : "");
		return NULL;
	}
	return "a has/missing type detour has no condition for";
}

detour_err detour_import_vercel(struct detour_import *im, const char *buf, size_t len,
                                struct detour_diag *d)
{
	json_t *j = load(buf, len, d, im->file);
	if (j == NULL)
		return DETOUR_EINVAL;
	json_t *a = json_is_array(j) ? j : json_object_get(j, "redirects");
	static unsigned lines[MAX_LINES];
	memset(lines, 0, sizeof(lines));
	json_lines(buf, len, "redirects", lines, MAX_LINES);
	size_t i;
	json_t *r;
	json_array_foreach(a, i, r)
	{
		unsigned line = i < MAX_LINES ? lines[i] : 0;
		struct bbuf src, opts, t;
		char splat[256];
		bool regex;
		const char *why, *host = NULL;
		comment(im, line, r);
		const char *source = str(r, "source"), *dest = str(r, "destination");
		if (!*source || !*dest) {
			detour_import_skip(im, line, "a redirect without source or destination");
			continue;
		}
		json_t *sc = json_object_get(r, "statusCode"),
		       *perm = json_object_get(r, "permanent");
		int status = sc                            ? (int)json_integer_value(sc)
		             : perm && json_is_false(perm) ? 307
		                                           : 308;
		if (status != 301 && status != 302 && status != 303 && status != 307 &&
		    status != 308) {
			detour_import_skip(
			        im, line, "statusCode %d is not a redirect detour answers", status);
			continue;
		}
		bbuf_init(&src, 1 << 20);
		bbuf_init(&opts, 1 << 20);
		bbuf_init(&t, 1 << 20);
		why = vercel_source(source, &src, &regex, splat, sizeof(splat));
		for (int m = 0; m < 2 && !why; m++) {
			size_t k;
			json_t *h;
			json_array_foreach(json_object_get(r, m ? "missing" : "has"), k, h)
			{
				if ((why = has_opt(h, m == 1, &opts, &host, regex)))
					break;
			}
		}
		if (!why && json_object_get(r, "locale"))
			why = "locale: detour has no i18n routing (the rule would apply to the "
			      "default locale's paths only)";
		if (why) {
			detour_import_skip(im, line, "%s", why);
		} else {
			/* the destination: ":name*" -> ":name" or ":splat" */
			for (const char *p = dest; *p; p++) {
				if (*p == ':' && splat[0] &&
				    !strncmp(p + 1, splat, strlen(splat)) &&
				    !ascii_is_alnum((unsigned char)p[1 + strlen(splat)]) &&
				    p[1 + strlen(splat)] != '_') {
					BBUF_LIT(&t, ":splat");
					p += strlen(splat);
					if (p[1] == '*' || p[1] == '+' || p[1] == '?')
						p++;
					continue;
				}
				bbuf_putc(&t, *p);
			}
			detour_import_rulef(im, line, "%s%s%s%s %s %d%s", regex ? "~" : "",
			                    host && !regex ? "//" : "", host && !regex ? host : "",
			                    bbuf_cstr(&src), bbuf_cstr(&t), status,
			                    bbuf_cstr(&opts));
		}
		bbuf_free(&src);
		bbuf_free(&opts);
		bbuf_free(&t);
	}
	json_decref(j);
	return im->oom ? DETOUR_ENOMEM : DETOUR_OK;
}

/* PHP's rawurldecode (Redirection's Red_Regex decodes its pattern so). */
static void url_decode(const char *s, struct bbuf *o)
{
	for (; *s; s++) {
		if (s[0] == '%' && ascii_hexval((unsigned char)s[1]) >= 0 &&
		    ascii_hexval((unsigned char)s[2]) >= 0) {
			bbuf_putc(o, (char)(ascii_hexval((unsigned char)s[1]) * 16 +
			                    ascii_hexval((unsigned char)s[2])));
			s += 2;
		} else {
			bbuf_putc(o, *s);
		}
	}
}

/* A header condition as Redirection tests it (matches/http-header.php,
 * referrer.php, user-agent.php): with regex, Red_Regex: the pattern
 * URL-decoded, unanchored, case-insensitive and dot-all ("@...@si");
 * without, the value compared exactly. */
static void header_cond(struct bbuf *o, bool neg, const char *name, const char *value, bool regex)
{
	const char *bang = neg ? "!" : "";
	if (regex) {
		struct bbuf d;
		bbuf_init(&d, 1 << 16);
		url_decode(value, &d);
		bbuf_putf(o, " if-header=%s%s:~(?is)", bang, name);
		detour_import_re_put(o, bbuf_cstr(&d));
		bbuf_free(&d);
	} else if (!*value || detour_import_has_blank(value, strlen(value))) {
		bbuf_putf(o, " if-header=%s%s:~^", bang, name);
		detour_import_re_quote(o, value, strlen(value));
		bbuf_putc(o, '$');
	} else {
		bbuf_putf(o, " if-header=%s%s:%s", bang, name, value);
	}
}

/* The condition of Redirection match type mt (its data in ad: the plugin's
 * matches/NAME.php get_data()) as detour options appended to o, negated with
 * neg. A "server" match (the request's host) sets host instead when not
 * negated and the source is not a regex. Returns NULL, or why not. */
static const char *redir_cond(const char *mt, json_t *ad, bool neg, bool regex_src, struct bbuf *o,
                              char *host, size_t hcap)
{
	const char *bang = neg ? "!" : "";
	bool re = json_is_true(json_object_get(ad, "regex"));
	if (!strcmp(mt, "referrer")) {
		header_cond(o, neg, "Referer", str(ad, "referrer"), re);
	} else if (!strcmp(mt, "agent")) {
		header_cond(o, neg, "User-Agent", str(ad, "agent"), re);
	} else if (!strcmp(mt, "header")) {
		const char *name = str(ad, "name");
		if (!*name || detour_import_has_blank(name, strlen(name)) || strchr(name, ':'))
			return "a header match without a valid header name";
		header_cond(o, neg, name, str(ad, "value"), re);
	} else if (!strcmp(mt, "cookie")) {
		const char *name = str(ad, "name"), *value = str(ad, "value");
		if (re)
			return "a cookie value that is a regex: detour compares cookie values "
			       "exactly";
		if (!*name || detour_import_has_blank(name, strlen(name)) || strchr(name, '=') ||
		    detour_import_has_blank(value, strlen(value)))
			return "a cookie name or value with blanks";
		bbuf_putf(o, " if-cookie=%s%s=%s", bang, name, value);
	} else if (!strcmp(mt, "ip")) {
		/* Exact addresses: each one a whole-length range. */
		json_t *ips = json_object_get(ad, "ip"), *ip;
		size_t k;
		if (!json_array_size(ips))
			return "an IP match without addresses";
		bbuf_putf(o, " if-ip=%s", bang);
		json_array_foreach(ips, k, ip)
		{
			const char *a = json_string_value(ip);
			if (!a || !*a || strpbrk(a, "/, \t"))
				return "an IP match with an entry that is not an address";
			bbuf_putf(o, "%s%s", k ? "," : "", a);
		}
	} else if (!strcmp(mt, "server")) {
		/* "https://example.com": only the host is compared. */
		const char *sv = str(ad, "server"), *h = strstr(sv, "://");
		h = h ? h + 3 : sv;
		size_t hl = strcspn(h, "/:?#");
		if (!hl || hl >= hcap || detour_import_has_blank(h, hl))
			return "a server match without a host";
		if (neg || regex_src) {
			bbuf_putf(o, " if-header=%sHost:~(?i)^", bang);
			detour_import_re_quote(o, h, hl);
			BBUF_LIT(o, "(:[0-9]+)?\\.?$");
		} else {
			for (size_t i = 0; i < hl; i++)
				host[i] = ascii_lower(h[i]);
			host[hl] = '\0';
		}
	} else if (!strcmp(mt, "language")) {
		const char *l = str(ad, "language");
		if (!*l || detour_import_has_blank(l, strlen(l)))
			return "a language match without a list of languages";
		bbuf_putf(o, " if-lang=%s%s", bang, l);
	} else if (!strcmp(mt, "login")) {
		return "match type \"login\": detour does not know who is logged in to WordPress";
	} else if (!strcmp(mt, "role")) {
		return "match type \"role\": detour does not know WordPress users' roles";
	} else if (!strcmp(mt, "page")) {
		return "match type \"page\": detour does not know which WordPress page "
		       "answers 404";
	} else if (!strcmp(mt, "custom")) {
		return "match type \"custom\": a WordPress filter detour cannot run";
	} else {
		return "a match type detour has no condition for";
	}
	return NULL;
}

/* One detour rule for a Redirection redirect: its source (a regex, or a
 * path whose query becomes if-query=), target ("-" for 410), flags and
 * condition. */
static void redir_rule(struct detour_import *im, unsigned line, const char *url, bool regex,
                       const char *host, const char *target, int code, const char *q, bool nc,
                       const char *cond)
{
	const char *qs = regex ? NULL : strchr(url, '?');
	const char *ci = nc ? " case=insensitive" : "";
	if (code == 410)
		q = "";
	if (qs)
		detour_import_rulef(im, line, "%s%s%.*s %s %d%s if-query=%s%s%s", *host ? "//" : "",
		                    host, (int)(qs - url), url, target, code, q, qs + 1, ci, cond);
	else
		detour_import_rulef(im, line, "%s%s%s%s %s %d%s%s%s", regex ? "~" : "",
		                    *host ? "//" : "", host, url, target, code, q, ci, cond);
}

detour_err detour_import_redirection_json(struct detour_import *im, const char *buf, size_t len,
                                          struct detour_diag *d)
{
	json_t *j = load(buf, len, d, im->file);
	if (j == NULL)
		return DETOUR_EINVAL;
	static unsigned lines[MAX_LINES];
	memset(lines, 0, sizeof(lines));
	json_lines(buf, len, "redirects", lines, MAX_LINES);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "redirects"), i, r)
	{
		unsigned line = i < MAX_LINES ? lines[i] : 0;
		comment(im, line, r);
		const char *url = str(r, "url"), *mt = str(r, "match_type"),
		           *at = str(r, "action_type");
		json_t *ad = json_object_get(r, "action_data");
		int code = (int)json_integer_value(json_object_get(r, "action_code"));
		bool regex = json_is_true(json_object_get(r, "regex"));
		json_t *flags = json_object_get(
		        json_object_get(json_object_get(r, "match_data"), "source"), "flag_query");
		const char *fq = json_string_value(flags) ? json_string_value(flags) : "exact";
		bool nc = json_is_true(json_object_get(
		        json_object_get(json_object_get(r, "match_data"), "source"), "flag_case"));
		json_t *en = json_object_get(r, "enabled");
		if (en && json_is_false(en)) {
			detour_import_skip(im, line, "the redirect is disabled in Redirection");
			continue;
		}
		if (code != 410 && strcmp(at, "url") != 0) {
			detour_import_skip(
			        im, line,
			        "action type \"%s\" (status %d): detour redirects to a URL "
			        "or answers 410",
			        at, code);
			continue;
		}
		const char *q = !strcmp(fq, "pass") ? "" : " query=drop";
		if (!*mt || !strcmp(mt, "url")) {
			const char *target =
			        json_is_string(ad) ? json_string_value(ad) : str(ad, "url");
			redir_rule(im, line, url, regex, "", code == 410 ? "-" : target, code, q,
			           nc, "");
			continue;
		}
		/* A conditional match: url_from when the condition holds,
		 * url_notfrom when it does not (matches/from-notfrom.php); an
		 * empty one passes the request on to the next redirect. The
		 * second is a rule after the first, or a negated condition when
		 * it is alone. An error action has no targets: it answers when
		 * the condition holds. */
		const char *from = code == 410 ? "-" : str(ad, "url_from");
		const char *notfrom = code == 410 ? "" : str(ad, "url_notfrom");
		struct bbuf yes, no;
		char host[256] = "", nohost[256] = "";
		bbuf_init(&yes, 1 << 17);
		bbuf_init(&no, 1 << 17);
		const char *why = redir_cond(mt, ad, false, regex, &yes, host, sizeof(host));
		if (!why && !*from && !*notfrom)
			why = "neither a target for a match nor for no match";
		if (!why && *notfrom && !*from)
			why = redir_cond(mt, ad, true, regex, &no, nohost, sizeof(nohost));
		if (why) {
			detour_import_skip(im, line, "%s", why);
		} else {
			if (*from)
				redir_rule(im, line, url, regex, host, from, code, q, nc,
				           bbuf_cstr(&yes));
			if (*notfrom)
				redir_rule(im, line, url, regex, "", notfrom, code, q, nc,
				           bbuf_cstr(&no));
		}
		bbuf_free(&yes);
		bbuf_free(&no);
	}
	json_decref(j);
	return im->oom ? DETOUR_ENOMEM : DETOUR_OK;
}

detour_err detour_import_netlify_toml(struct detour_import *im, const char *buf, size_t len,
                                      struct detour_diag *d)
{
	char err[512];
	char *text = detour_toml_redirects_json(buf, len, err, sizeof(err));
	if (text == NULL) {
		detour_diag_set(d, im->file, 0, 0, "not TOML: %s", err);
		return DETOUR_EINVAL;
	}
	json_t *j = load(text, strlen(text), d, im->file);
	free(text);
	if (j == NULL)
		return DETOUR_EINVAL;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "redirects"), i, r)
	{
		unsigned line = (unsigned)json_integer_value(json_object_get(r, "__line"));
		json_object_del(r, "__line");
		comment(im, line, r);
		const char *q[32], *c[32];
		char qbuf[32][512], cbuf[32][512];
		struct detour_netlify_rule nr = {
		        .line = line,
		        .from = str(r, "from"),
		        .to = str(r, "to"),
		        .status = (int)json_integer_value(json_object_get(r, "status")),
		        .force = json_is_true(json_object_get(r, "force")),
		        .query = q,
		        .conds = c};
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(r, "query"), key, v)
		{
			if (nr.nquery < 32) {
				snprintf(qbuf[nr.nquery], sizeof(qbuf[0]), "%s=%s", key,
				         json_string_value(v) ? json_string_value(v) : "");
				q[nr.nquery] = qbuf[nr.nquery];
				nr.nquery++;
			}
		}
		json_object_foreach(json_object_get(r, "conditions"), key, v)
		{
			if (nr.nconds >= 32)
				break;
			size_t o = (size_t)snprintf(cbuf[nr.nconds], sizeof(cbuf[0]), "%s=", key);
			size_t k;
			json_t *e;
			if (json_is_array(v)) {
				json_array_foreach(v, k, e)
				{
					if (o < sizeof(cbuf[0]))
						o += (size_t)snprintf(
						        cbuf[nr.nconds] + o, sizeof(cbuf[0]) - o,
						        "%s%s", k ? "," : "",
						        json_string_value(e) ? json_string_value(e)
						                             : "");
				}
			} else if (json_is_string(v)) {
				snprintf(cbuf[nr.nconds] + o, sizeof(cbuf[0]) - o, "%s",
				         json_string_value(v));
			}
			c[nr.nconds] = cbuf[nr.nconds];
			nr.nconds++;
		}
		if (json_object_get(r, "headers") || json_object_get(r, "signed")) {
			detour_import_skip(im, line,
			                   "headers/signed: a proxy's options, not a redirect's");
			continue;
		}
		if (!*nr.from || !*nr.to) {
			detour_import_skip(im, line, "a [[redirects]] table without from or to");
			continue;
		}
		detour_import_netlify_rule(im, &nr);
	}
	json_decref(j);
	return im->oom ? DETOUR_ENOMEM : DETOUR_OK;
}
