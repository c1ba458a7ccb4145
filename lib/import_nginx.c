/* detour import nginx (lib/import_nginx.h).
 *
 * The file is read into a tree of directives (words, a block or not, the
 * line). Each server block becomes rules in the order nginx decides
 * (ngx_http_core_module's location search): server-level rewrite and
 * return first, then exact (=) locations, then ^~ prefixes longest first,
 * then regex locations in file order, then the other prefixes longest
 * first. Within a location, rewrite and return run in file order. nginx
 * matches paths exactly about a final '/': "@slash strict". Query strings:
 * return sends its URL as written (query=drop unless it names $args or
 * $request_uri); rewrite appends the request's arguments unless the
 * replacement ends in '?'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "import_nginx.h"

#define MAX_WORDS 32
#define MAX_HOSTS 16
#define MAX_DEPTH 32

struct node {
	unsigned line;
	char **w;
	int nw;
	bool block;
	struct node *kids;
	size_t nkids, cap;
};

struct lexer {
	const char *s, *e;
	unsigned line;
	bool bad;
};

/* The next token: a word (quoted or not) or one of ";{}" (returned as a
 * one-byte word with *punct set). NULL at the end. */
static char *token(struct lexer *lx, bool *punct)
{
	for (;;) {
		while (lx->s < lx->e &&
		       (*lx->s == ' ' || *lx->s == '\t' || *lx->s == '\r' || *lx->s == '\n')) {
			if (*lx->s == '\n')
				lx->line++;
			lx->s++;
		}
		if (lx->s < lx->e && *lx->s == '#') {
			while (lx->s < lx->e && *lx->s != '\n')
				lx->s++;
			continue;
		}
		break;
	}
	if (lx->s >= lx->e)
		return NULL;
	*punct = false;
	if (*lx->s == ';' || *lx->s == '{' || *lx->s == '}') {
		*punct = true;
		return strndup(lx->s++, 1);
	}
	struct bbuf b;
	bbuf_init(&b, 1 << 20);
	char q = 0;
	if (*lx->s == '"' || *lx->s == '\'')
		q = *lx->s++;
	while (lx->s < lx->e) {
		char c = *lx->s;
		if (q && c == q) {
			lx->s++;
			break;
		}
		if (!q && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
		           c == '{' || c == '}'))
			break;
		if (c == '\n')
			lx->line++;
		if (c == '\\' && lx->s + 1 < lx->e && (q || lx->s[1] == '"' || lx->s[1] == '\'')) {
			/* nginx keeps a backslash before anything but a quote */
			if (lx->s[1] == '"' || lx->s[1] == '\'' || lx->s[1] == '\\')
				c = *++lx->s;
		}
		bbuf_putc(&b, c);
		lx->s++;
	}
	char *t = bbuf_take(&b, NULL);
	if (t == NULL)
		lx->bad = true;
	return t;
}

static void free_node(struct node *n)
{
	for (int i = 0; i < n->nw; i++)
		free(n->w[i]);
	free(n->w);
	for (size_t i = 0; i < n->nkids; i++)
		free_node(&n->kids[i]);
	free(n->kids);
}

/* Reads directives into parent until '}' or the end. Returns false on a
 * syntax error (an unbalanced brace, a directive without ';'). */
static bool parse_block(struct lexer *lx, struct node *parent, int depth)
{
	for (;;) {
		struct node n;
		bool punct;
		memset(&n, 0, sizeof(n));
		char *t = token(lx, &punct);
		if (t == NULL)
			return depth == 0 && !lx->bad;
		if (punct && *t == '}') {
			free(t);
			return depth > 0;
		}
		n.line = lx->line;
		n.w = calloc(MAX_WORDS, sizeof(char *));
		if (n.w == NULL) {
			free(t);
			return false;
		}
		while (t && !punct) {
			if (n.nw == MAX_WORDS) {
				free(t);
				free_node(&n);
				return false;
			}
			n.w[n.nw++] = t;
			t = token(lx, &punct);
		}
		if (t == NULL || n.nw == 0 || *t == '}') {
			free(t);
			free_node(&n);
			return false;
		}
		bool block = *t == '{';
		free(t);
		if (block) {
			n.block = true;
			if (depth >= MAX_DEPTH || !parse_block(lx, &n, depth + 1)) {
				free_node(&n);
				return false;
			}
		}
		if (BASE_GROW(parent->kids, parent->cap, parent->nkids + 1)) {
			free_node(&n);
			return false;
		}
		parent->kids[parent->nkids++] = n;
	}
}

/* ---- maps ---- */

struct nmap {
	const struct node *n; /* the map block: w[1] the source variable, w[2] the result */
};

struct ctx {
	struct detour_import *im;
	const char *src;
	size_t len;
	const struct node *maps[64];
	unsigned nmaps;
	/* the server being converted */
	const char *hosts[MAX_HOSTS];
	unsigned nhosts;
	bool https;
};

/* How a location (or the server itself) selects requests. */
enum lkind { L_ALL, L_EXACT, L_PREFIX, L_REGEX };
struct loc {
	enum lkind kind;
	const char *arg; /* path or regex */
	bool nocase;
	unsigned groups;  /* capture groups of a regex location */
	const char *opts; /* conditions of an enclosing if, " name=value..." */
};

static void source_comment(struct ctx *c, const struct node *n)
{
	struct bbuf b;
	bbuf_init(&b, 65536);
	for (int i = 0; i < n->nw; i++) {
		if (i)
			bbuf_putc(&b, ' ');
		bbuf_puts(&b, n->w[i]);
	}
	bbuf_putc(&b, n->block ? '{' : ';');
	detour_import_source(c->im, n->line, b.p, b.len);
	bbuf_free(&b);
}

/* Capture groups of a PCRE2 pattern: '(' not followed by '?' (or "(?<name>",
 * "(?P<", "(?'"), outside a class and unescaped. */
static unsigned count_groups(const char *re)
{
	unsigned n = 0;
	bool cls = false;
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (cls) {
			cls = *p != ']';
			continue;
		}
		if (*p == '[') {
			cls = true;
			if (p[1] == ']')
				p++;
			continue;
		}
		if (*p == '(' &&
		    (p[1] != '?' || p[2] == '<' || p[2] == '\'' || (p[2] == 'P' && p[3] == '<')))
			if (!(p[1] == '?' && p[2] == '<' && (p[3] == '=' || p[3] == '!')))
				n++;
	}
	return n;
}

/* The source of a rule on location l: exact and prefix sources are plain
 * when no extra regex and no whole-path capture is needed. extra: the
 * rewrite regex (or NULL); whole: group 1 must be the path after its '/'.
 * Writes the source into b; returns whether it is a regex. */
static bool put_source(struct ctx *c, struct bbuf *b, const struct loc *l, const char *extra,
                       bool whole)
{
	bool everything = l->kind == L_ALL || (l->kind == L_PREFIX && !strcmp(l->arg, "/"));
	bool regex = extra || (whole && !everything) || l->kind == L_REGEX ||
	             (l->kind == L_PREFIX && !everything);
	if (!regex) {
		if (c->nhosts) {
			bbuf_puts(b, c->https ? "https://" : "//");
			bbuf_puts(b, c->hosts[0]); /* the caller loops over hosts */
		}
		bbuf_puts(b, l->kind == L_EXACT ? l->arg : "/*");
		return false;
	}
	bbuf_putc(b, '~');
	bool within = extra && l->kind == L_PREFIX && extra[0] == '^' &&
	              !strncmp(extra + 1, l->arg, strlen(l->arg));
	if (!whole && ((everything && extra) || within || (!extra && l->kind == L_REGEX))) {
		/* the regex alone says it all */
		if (!extra && l->nocase)
			BBUF_LIT(b, "(?i)");
		detour_import_re_put(b, extra ? extra : l->arg);
		return true;
	}
	struct bbuf r;
	bbuf_init(&r, 1 << 20);
	BBUF_LIT(&r, "^");
	if (whole)
		BBUF_LIT(&r, "(?=/(.*))");
	switch (l->kind) {
	case L_ALL:
		break;
	case L_EXACT:
		BBUF_LIT(&r, "(?=");
		detour_import_re_quote(&r, l->arg, strlen(l->arg));
		BBUF_LIT(&r, "$)");
		break;
	case L_PREFIX:
		if (within)
			break; /* the rewrite's regex already starts with the prefix */
		BBUF_LIT(&r, "(?=");
		detour_import_re_quote(&r, l->arg, strlen(l->arg));
		BBUF_LIT(&r, ")");
		break;
	case L_REGEX:
		bbuf_puts(&r, extra ? "(?=.*?" : "(?:.*?");
		bbuf_puts(&r, l->nocase ? "(?i:" : "(?:");
		bbuf_puts(&r, l->arg);
		BBUF_LIT(&r, "))");
		break;
	}
	if (extra) {
		BBUF_LIT(&r, "(?:.*?)(?:");
		bbuf_puts(&r, extra);
		bbuf_putc(&r, ')');
	}
	detour_import_re_put(b, bbuf_cstr(&r));
	bbuf_free(&r);
	return true;
}

/* Whether the regex re has a group (?<name>...) or (?P<name>...). */
static bool named_group(const char *re, const char *name, size_t n)
{
	for (const char *p = re; (p = strstr(p, "(?")) != NULL; p += 2) {
		const char *q = p + 2;
		if (*q == 'P')
			q++;
		if (*q == '<' && !strncmp(q + 1, name, n) && q[1 + n] == '>')
			return true;
	}
	return false;
}

/* Rewrites an nginx URL template into a detour target. shift: added to
 * every $N (groups before the ones it refers to); whole: $request_uri and
 * $uri become "/$1". Sets *query_keep when it names $args, $query_string
 * or $request_uri (whose query the rule then keeps), and removes those.
 * Returns NULL or why it cannot be expressed. */
static const char *template(struct ctx *c, const char *t, unsigned shift, bool *whole,
                            const char *whole_put, const char *named, bool *query_keep,
                            struct bbuf *out)
{
	*query_keep = false;
	for (const char *p = t; *p; p++) {
		if (*p != '$') {
			bbuf_putc(out, *p);
			continue;
		}
		const char *v = p + 1;
		bool brace = *v == '{';
		if (brace)
			v++;
		size_t n = 0;
		while (ascii_is_alnum((unsigned char)v[n]) || v[n] == '_')
			n++;
		if (n == 0) {
			bbuf_putc(out, '$');
			continue;
		}
		p = v + n - 1 + (brace && v[n] == '}');
#define V(s) (n == sizeof(s) - 1 && !memcmp(v, s, n))
		if (ascii_is_digit((unsigned char)v[0]) && n == 1) {
			if (v[0] == '0' || v[0] - '0' + shift + *whole > 9)
				return "a $N beyond $9 (or $0) has no equivalent";
			bbuf_putf(out, "$%u", (unsigned)(v[0] - '0') + shift + *whole);
		} else if (V("request_uri") || V("uri") || V("document_uri")) {
			if (!*whole)
				return "$request_uri/$uri: retry with a whole-path group";
			bbuf_puts(out, whole_put);
			if (V("request_uri"))
				*query_keep = true;
		} else if (V("args") || V("query_string")) {
			*query_keep = true;
			/* drop a '?' or '&' written just before */
			if (out->len &&
			    (out->p[out->len - 1] == '?' || out->p[out->len - 1] == '&'))
				out->len--;
		} else if (V("is_args")) {
			*query_keep = true;
		} else if (V("host") || V("http_host") || V("server_name")) {
			if (c->nhosts != 1 || c->hosts[0][0] == '*')
				return "$host in the URL: detour targets name their host (for http "
				       "-> "
				       "https or one canonical name use https-redirect or "
				       "canonical-host in detour.conf)";
			bbuf_puts(out, c->hosts[0]);
		} else if (V("scheme")) {
			return "$scheme in the URL: detour targets name their scheme (for http -> "
			       "https use https-redirect in detour.conf)";
		} else if (named && named_group(named, v, n)) {
			bbuf_putc(out, ':');
			bbuf_put(out, v, n);
		} else {
			static char why[160];
			snprintf(why, sizeof(why), "the variable $%.*s has no equivalent in detour",
			         (int)(n > 60 ? 60 : n), v);
			return why;
		}
#undef V
	}
	return NULL;
}

static bool uses_whole(const char *t)
{
	return strstr(t, "$request_uri") || strstr(t, "$uri") || strstr(t, "${request_uri}") ||
	       strstr(t, "$document_uri") || strstr(t, "${uri}");
}

/* Emits one rule per host (a plain source) or one with a Host condition. */
static void emit(struct ctx *c, unsigned line, const struct loc *l, const char *extra,
                 const char *url, unsigned status, bool rewrite, unsigned shift)
{
	bool whole = uses_whole(url), keep = false;
	struct bbuf target;
	const char *why;

	bbuf_init(&target, 1 << 20);
	bool everything = l->kind == L_ALL || (l->kind == L_PREFIX && !strcmp(l->arg, "/"));
	const char *named = extra ? extra : l->kind == L_REGEX ? l->arg : NULL;
	why = status == 410
	              ? NULL
	              : template(c, url, shift, &whole, everything && !extra ? "/:splat" : "/$1",
	                         named, &keep, &target);
	if (why) {
		detour_import_skip(c->im, line, "%s", why);
		bbuf_free(&target);
		return;
	}
	if (rewrite) {
		keep = true;
		if (target.len && target.p[target.len - 1] == '?') {
			target.len--;
			keep = false;
		}
	}
	unsigned nh = c->nhosts ? c->nhosts : 1;
	for (unsigned h = 0; h < nh; h++) {
		struct bbuf b;
		const char *saved = c->hosts[0];
		if (c->nhosts)
			c->hosts[0] = c->hosts[h];
		bbuf_init(&b, 3 << 20);
		bool regex = put_source(c, &b, l, extra, whole);
		c->hosts[0] = saved;
		bbuf_putc(&b, ' ');
		if (status == 410)
			bbuf_putc(&b, '-');
		else
			bbuf_put(&b, target.p, target.len);
		bbuf_putf(&b, " %u", status);
		if (!keep && status != 410)
			BBUF_LIT(&b, " query=drop");
		if (l->nocase && !regex)
			BBUF_LIT(&b, " case=insensitive");
		bbuf_puts(&b, l->opts ? l->opts : "");
		if (regex && c->nhosts)
			detour_import_host_cond(&b, c->hosts, c->nhosts);
		if (bbuf_ok(&b))
			detour_import_rule(c->im, line, bbuf_cstr(&b));
		else
			c->im->oom = true;
		bbuf_free(&b);
		if (regex)
			break; /* one rule with every host in its condition */
	}
	bbuf_free(&target);
}

static const struct node *find_map(struct ctx *c, const char *var)
{
	for (unsigned i = 0; i < c->nmaps; i++)
		if (!strcmp(c->maps[i]->w[2], var))
			return c->maps[i];
	return NULL;
}

/* return CODE $mapvar (or a URL around it): one rule per map entry. */
static void emit_map(struct ctx *c, const struct node *n, const struct loc *l, const struct node *m,
                     const char *url, unsigned status, bool cond)
{
	const char *mv = m->w[2];
	const char *in = m->w[1];
	bool by_uri =
	        !strcmp(in, "$uri") || !strcmp(in, "$request_uri") || !strcmp(in, "$document_uri");
	if (!by_uri) {
		detour_import_skip(c->im, n->line,
		                   "map %s %s: detour maps paths ($uri, $request_uri) only", in,
		                   mv);
		return;
	}
	if (l->kind != L_ALL && !(l->kind == L_PREFIX && !strcmp(l->arg, "/"))) {
		detour_import_skip(c->im, n->line,
		                   "a map used inside a location other than / is not converted");
		return;
	}
	const char *at = strstr(url, mv);
	size_t ml = strlen(mv);
	for (int pass = 0; pass < 3; pass++) {
		/* exact keys, then regexes in order, then the default */
		for (size_t i = 0; i < m->nkids; i++) {
			const struct node *e = &m->kids[i];
			if (e->nw != 2 || e->block)
				continue;
			const char *key = e->w[0], *val = e->w[1];
			bool re = key[0] == '~', def = !strcmp(key, "default");
			if (!strcmp(key, "hostnames") || !strcmp(key, "volatile") ||
			    !strcmp(key, "include"))
				continue;
			if ((pass == 0 && (re || def)) || (pass == 1 && !re) || (pass == 2 && !def))
				continue;
			if (def && (cond ? val[0] == '\0' : false))
				continue;
			char u[8192];
			if (at) /* the value in the URL */
				snprintf(u, sizeof(u), "%.*s%s%s", (int)(at - url), url, val,
				         at + ml);
			else /* if ($v) { return 301 /fixed; }: the URL as written */
				snprintf(u, sizeof(u), "%s", url);
			if (val[0] == '\0') {
				detour_import_skip(c->im, e->line,
				                   "an empty map value redirects nowhere");
				continue;
			}
			detour_import_source(c->im, e->line, key, strlen(key));
			if (!re && strchr(key, '?')) {
				detour_import_skip(c->im, e->line,
				                   "a key with a query: detour matches paths, "
				                   "the query with if-query");
				continue;
			}
			struct loc el = *l;
			if (def) {
				el.kind = L_ALL;
			} else if (re) {
				el.kind = L_REGEX;
				el.nocase = key[1] == '*';
				el.arg = key + 1 + el.nocase;
			} else {
				el.kind = L_EXACT;
				el.arg = key;
			}
			emit(c, e->line, &el, NULL, u, status, false, 0);
		}
	}
}

/* The status of "return CODE [URL]" / "return URL"; 0 when not a redirect. */
static unsigned return_status(const struct node *n, const char **url)
{
	if (n->nw == 2 && !ascii_is_digit((unsigned char)n->w[1][0])) {
		*url = n->w[1];
		return 302;
	}
	unsigned s = n->nw >= 2 ? (unsigned)atoi(n->w[1]) : 0;
	*url = n->nw >= 3 ? n->w[2] : "";
	return s;
}

static const char *if_cond(struct ctx *c, const struct node *n, struct bbuf *opts,
                           const struct node **mapvar);

/* The rewrite-phase directives of a server or location body, in order. */
static void directives(struct ctx *c, const struct node *body, const struct loc *l)
{
	for (size_t i = 0; i < body->nkids && !c->im->oom; i++) {
		const struct node *n = &body->kids[i];
		const char *d = n->w[0];
		if (!strcmp(d, "return") && !n->block) {
			const char *url;
			unsigned s = return_status(n, &url);
			source_comment(c, n);
			if (s == 410) {
				emit(c, n->line, l, NULL, "", 410, false, 0);
			} else if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
				const struct node *m = NULL;
				for (unsigned k = 0; k < c->nmaps && !m; k++)
					if (strstr(url, c->maps[k]->w[2]))
						m = c->maps[k];
				if (m)
					emit_map(c, n, l, m, url, s, false);
				else
					emit(c, n->line, l, NULL, url, s, false, 0);
			} else {
				detour_import_skip(
				        c->im, n->line,
				        "return %s is not a redirect (detour answers 301, "
				        "302, 303, 307, 308 and 410)",
				        n->nw > 1 ? n->w[1] : "");
			}
			if (!l->opts)
				return; /* nothing after an unconditional return runs */
		} else if (!strcmp(d, "rewrite") && !n->block) {
			source_comment(c, n);
			if (n->nw < 3 || n->nw > 4) {
				detour_import_skip(c->im, n->line,
				                   "expected rewrite REGEX URL [FLAG]");
				continue;
			}
			const char *flag = n->nw == 4 ? n->w[3] : "";
			const char *url = n->w[2];
			unsigned s = !strcmp(flag, "permanent")  ? 301
			             : !strcmp(flag, "redirect") ? 302
			             : (!*flag && (!strncmp(url, "http://", 7) ||
			                           !strncmp(url, "https://", 8)))
			                     ? 302
			                     : 0;
			if (s == 0) {
				detour_import_skip(
				        c->im, n->line,
				        "rewrite %s is an internal rewrite, not a redirect",
				        *flag ? flag : "without a flag");
				continue;
			}
			emit(c, n->line, l, n->w[1], url, s, true,
			     l->kind == L_REGEX ? l->groups : 0);
		} else if (!strcmp(d, "include") && !n->block) {
			source_comment(c, n);
			detour_import_skip(c->im, n->line,
			                   "include is not followed: import %s too, where it "
			                   "belongs in the order",
			                   n->nw > 1 ? n->w[1] : "the file");
		} else if (!strcmp(d, "if") && n->block) {
			struct bbuf opts;
			const struct node *mv = NULL;
			bbuf_init(&opts, 65536);
			bbuf_puts(&opts, l->opts ? l->opts : "");
			source_comment(c, n);
			const char *why = if_cond(c, n, &opts, &mv);
			if (why) {
				detour_import_skip(c->im, n->line, "%s", why);
			} else if (mv) {
				/* if ($new) { return 301 $new; } */
				for (size_t k = 0; k < n->nkids; k++) {
					const struct node *r = &n->kids[k];
					const char *url;
					unsigned s;
					if (strcmp(r->w[0], "return") ||
					    !((s = return_status(r, &url)) >= 301 && s <= 308))
						continue;
					source_comment(c, r);
					emit_map(c, r, l, mv, url, s, true);
				}
			} else {
				struct loc il = *l;
				il.opts = bbuf_cstr(&opts);
				directives(c, n, &il);
			}
			bbuf_free(&opts);
		}
	}
}

/* An if's condition as options (or a map variable tested for non-empty). */
static const char *if_cond(struct ctx *c, const struct node *n, struct bbuf *opts,
                           const struct node **mapvar)
{
	/* words: "if" "($var" "op" "value)" or "($var)" */
	char buf[4096];
	size_t o = 0;
	for (int i = 1; i < n->nw && o + 2 < sizeof(buf); i++) {
		size_t k = strlen(n->w[i]);
		if (o + k + 2 >= sizeof(buf))
			return "an if condition too long";
		if (i > 1)
			buf[o++] = ' ';
		memcpy(buf + o, n->w[i], k);
		o += k;
	}
	buf[o] = '\0';
	if (o < 3 || buf[0] != '(' || buf[o - 1] != ')')
		return "an if condition that is not (...)";
	buf[--o] = '\0';
	while (o > 1 && buf[o - 1] == ' ')
		buf[--o] = '\0';
	char *var = buf + 1, *sp = strchr(var, ' ');
	const char *op = NULL, *val = NULL;
	if (sp) {
		*sp = '\0';
		op = sp + 1;
		char *sp2 = strchr(op, ' ');
		if (sp2 == NULL)
			return "an if condition that is not ($var OP value)";
		*sp2 = '\0';
		val = sp2 + 1;
	}
	if (var[0] != '$')
		return "an if condition on something else than a variable";
	if (op == NULL) {
		*mapvar = find_map(c, var);
		return *mapvar ? NULL : "if ($var) on a variable that is not a map's";
	}
	bool neg = op[0] == '!';
	const char *o2 = op + neg;
	bool re = o2[0] == '~', nc = re && o2[1] == '*';
	if (!(re || !strcmp(o2, "=")))
		return "an if operator detour has no equivalent for (-f, -d, -e, -x)";
	const char *bang = neg ? "!" : "";
	const char *hdr = NULL;
	char hname[128];
	if (!strcmp(var, "$host") || !strcmp(var, "$http_host"))
		hdr = "Host";
	else if (!strncmp(var, "$http_", 6) && strlen(var) < sizeof(hname) + 6) {
		snprintf(hname, sizeof(hname), "%.120s", var + 6);
		for (char *p = hname; *p; p++)
			if (*p == '_')
				*p = '-';
		hdr = hname;
	}
	if (!strcmp(var, "$request_method") && !re) {
		bbuf_putf(opts, " method=%s%s", bang, val);
		return NULL;
	}
	if (!strncmp(var, "$arg_", 5) && !re) {
		bbuf_putf(opts, " if-query=%s%s=%s", bang, var + 5, val);
		return NULL;
	}
	if (!strncmp(var, "$cookie_", 8) && !re) {
		bbuf_putf(opts, " if-cookie=%s%s=%s", bang, var + 8, val);
		return NULL;
	}
	if (!strcmp(var, "$remote_addr") && !re) {
		bbuf_putf(opts, " if-ip=%s%s", bang, val);
		return NULL;
	}
	if (!strcmp(var, "$scheme") || !strcmp(var, "$https"))
		return "a condition on the scheme: for http -> https use https-redirect in "
		       "detour.conf";
	if (hdr == NULL)
		return "an if on a variable detour has no condition for";
	bbuf_putf(opts, " if-header=%s%s:~", bang, hdr);
	if (nc || !strcmp(hdr, "Host"))
		BBUF_LIT(opts, "(?i)"); /* ~*, or $host: nginx lower-cases it */
	if (re) {
		detour_import_re_put(opts, val);
	} else {
		BBUF_LIT(opts, "^");
		detour_import_re_quote(opts, val, strlen(val));
		bbuf_puts(opts, !strcmp(hdr, "Host") ? "(:[0-9]+)?$" : "$");
	}
	return NULL;
}

static int by_length_desc(const void *a, const void *b)
{
	const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;
	size_t lx = strlen(x->w[x->nw - 1]), ly = strlen(y->w[y->nw - 1]);
	return lx < ly ? 1 : lx > ly ? -1 : (x->line > y->line) - (x->line < y->line);
}

static void location(struct ctx *c, const struct node *n)
{
	struct loc l = {0};
	if (n->nw == 3 && !strcmp(n->w[1], "=")) {
		l.kind = L_EXACT;
	} else if (n->nw == 3 && (!strcmp(n->w[1], "~") || !strcmp(n->w[1], "~*"))) {
		l.kind = L_REGEX;
		l.nocase = n->w[1][1] == '*';
		l.groups = count_groups(n->w[2]);
	} else if (n->nw == 3 && !strcmp(n->w[1], "^~")) {
		l.kind = L_PREFIX;
	} else if (n->nw == 2 && n->w[1][0] != '@') {
		l.kind = L_PREFIX;
	} else {
		for (size_t i = 0; i < n->nkids; i++)
			if (!strcmp(n->kids[i].w[0], "return") ||
			    !strcmp(n->kids[i].w[0], "rewrite"))
				detour_import_skip(
				        c->im, n->kids[i].line,
				        "inside a named location: not reachable by a path");
		return;
	}
	l.arg = n->w[n->nw - 1];
	directives(c, n, &l);
	/* nested locations */
	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i].w[0], "location") && n->kids[i].block)
			location(c, &n->kids[i]);
}

static void server(struct ctx *c, const struct node *s)
{
	char *names[MAX_HOSTS];
	unsigned nn = 0;
	const struct node **locs = calloc(s->nkids + 1, sizeof(*locs));
	size_t nl = 0;

	if (locs == NULL) {
		c->im->oom = true;
		return;
	}
	c->nhosts = 0;
	c->https = false;
	for (size_t i = 0; i < s->nkids; i++) {
		const struct node *n = &s->kids[i];
		if (!strcmp(n->w[0], "server_name"))
			for (int k = 1; k < n->nw && nn < MAX_HOSTS; k++) {
				const char *h = n->w[k];
				if (!strcmp(h, "_") || !strcmp(h, "\"\"") || h[0] == '\0' ||
				    h[0] == '~' || strchr(h, '$'))
					continue;
				if (h[0] == '.' && nn + 2 <= MAX_HOSTS) {
					names[nn++] = strdup(h + 1);
					char w[512];
					snprintf(w, sizeof(w), "*%s", h);
					names[nn++] = strdup(w);
					continue;
				}
				names[nn++] = strdup(h);
			}
		if (!strcmp(n->w[0], "listen"))
			for (int k = 1; k < n->nw; k++)
				if (!strcmp(n->w[k], "ssl") || !strcmp(n->w[k], "quic"))
					c->https = true;
	}
	for (unsigned i = 0; i < nn; i++) {
		if (names[i] == NULL) {
			c->im->oom = true;
			goto out;
		}
		for (char *p = names[i]; *p; p++)
			*p = ascii_lower(*p);
		c->hosts[c->nhosts++] = names[i];
	}
	struct loc all = {.kind = L_ALL};
	directives(c, s, &all);
	for (int pass = 0; pass < 4; pass++) {
		nl = 0;
		for (size_t i = 0; i < s->nkids; i++) {
			const struct node *n = &s->kids[i];
			if (strcmp(n->w[0], "location") || !n->block || n->nw < 2)
				continue;
			const char *m = n->nw == 3 ? n->w[1] : "";
			int p = !strcmp(m, "=")                       ? 0
			        : !strcmp(m, "^~")                    ? 1
			        : !strcmp(m, "~") || !strcmp(m, "~*") ? 2
			                                              : 3;
			if (p == pass)
				locs[nl++] = n;
		}
		if (pass == 1 || pass == 3)
			qsort(locs, nl, sizeof(*locs), by_length_desc);
		for (size_t i = 0; i < nl; i++)
			location(c, locs[i]);
	}
out:
	for (unsigned i = 0; i < nn; i++)
		free(names[i]);
	c->nhosts = 0;
	free(locs);
}

/* Collects maps and converts servers, at any depth (http { server {} }, or
 * a file of server blocks as in sites-available/). */
static void walk(struct ctx *c, const struct node *n, int pass)
{
	for (size_t i = 0; i < n->nkids && !c->im->oom; i++) {
		const struct node *k = &n->kids[i];
		if (pass == 0 && !strcmp(k->w[0], "map") && k->block && k->nw == 3) {
			if (c->nmaps < sizeof(c->maps) / sizeof(c->maps[0]))
				c->maps[c->nmaps++] = k;
		} else if (pass == 1 && !strcmp(k->w[0], "server") && k->block) {
			server(c, k);
		} else if (pass == 1 && !k->block && !strcmp(k->w[0], "include")) {
			detour_import_skip(
			        c->im, k->line,
			        "include is not followed: import %s too (its server and map "
			        "blocks)",
			        k->nw > 1 ? k->w[1] : "the file");
		} else if (k->block && strcmp(k->w[0], "server") && strcmp(k->w[0], "map") &&
		           strcmp(k->w[0], "location")) {
			walk(c, k, pass);
		} else if (pass == 1 && n->nkids &&
		           (!strcmp(k->w[0], "return") || !strcmp(k->w[0], "rewrite"))) {
			/* a bare list of directives (a server block's inside) */
		}
	}
}

void detour_import_nginx(struct detour_import *im, const char *buf, size_t len)
{
	struct lexer lx = {buf, buf + len, 1, false};
	struct node root;
	struct ctx c;

	memset(&root, 0, sizeof(root));
	memset(&c, 0, sizeof(c));
	c.im = im;
	c.src = buf;
	c.len = len;
	im->slash_strict = true;
	if (!parse_block(&lx, &root, 0)) {
		detour_import_skip(im, lx.line,
		                   "the file cannot be read as an nginx configuration (an "
		                   "unbalanced brace or a directive without ';')");
		free_node(&root);
		return;
	}
	/* A file with no server block is read as the inside of one. */
	bool has_server = false;
	for (size_t i = 0; i < root.nkids; i++)
		has_server |=
		        !strcmp(root.kids[i].w[0], "server") || !strcmp(root.kids[i].w[0], "http");
	walk(&c, &root, 0);
	if (has_server) {
		walk(&c, &root, 1);
	} else {
		struct node s = root;
		s.w = NULL;
		s.nw = 0;
		server(&c, &s);
	}
	free_node(&root);
}
