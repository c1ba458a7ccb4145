/* detour import apache (lib/import_apache.h).
 *
 * Contexts: directives outside any <VirtualHost> are read as an .htaccess
 * of the document root (RewriteRule patterns match the path without its
 * leading '/'); inside <VirtualHost> they are server context (patterns see
 * the whole path) and apply to its ServerName and ServerAliases; a
 * <Directory> inside one is read as per-directory when it names the
 * DocumentRoot. <IfModule>, <IfDefine> and <IfVersion> are transparent;
 * other blocks (<Location>, <Files>, <If>, ...) cannot be expressed and
 * every redirect inside one is skipped.
 *
 * Apache semantics kept (mod_alias.c, mod_rewrite.c of httpd 2.4):
 *   - Redirect matches a path prefix at a segment boundary and appends the
 *     rest of the path to the target: an exact rule and a splat rule, under
 *     "@slash strict" (every Apache match is exact about a final '/');
 *   - mod_alias appends the request's query unless the target has its own
 *     (query=drop then);
 *   - RewriteRule: a substitution with '?' replaces the query (query=drop)
 *     unless [QSA]; [QSD] or a final '?' drops it; otherwise it is kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ascii.h"
#include "import_apache.h"
#include "import_apache_cond.h"

#define MAX_WORDS 16
#define MAX_HOSTS 16
#define MAX_CONDS 16
#define WORDBUF   8192

struct vhost {
	char *hosts[MAX_HOSTS];
	unsigned nhosts;
	bool https;
	char *docroot;
};

struct state {
	struct detour_import *im;   /* where the current directive writes */
	struct detour_import *main; /* mod_rewrite's rules, and the result */
	struct detour_import alias; /* mod_alias's rules of the current context: Apache runs
	                               mod_rewrite first, whatever the order in the file */
	bool in_vhost;
	struct vhost vh;
	bool per_dir;   /* patterns see the path without its leading '/' */
	int skip_depth; /* > 0: inside a block that cannot be expressed */
	char skip_what[64];
	bool engine_off;
	char base[512]; /* RewriteBase */
	struct detour_apache_cond conds[MAX_CONDS];
	unsigned nconds;
	bool conds_overflow;
	bool conds_unread; /* a RewriteCond of the next rule could not be read */
};

/* One rule being built. */
struct spec {
	bool regex; /* path is a PCRE2 pattern on the whole path */
	bool splat; /* path is a prefix: "PATH/ *" */
	const char *path;
	const char *target; /* "" for 410 */
	unsigned status;
	bool drop_query;
	bool nocase;
	const char *opts; /* conditions, " name=value..." or "" */
};

static void free_conds(struct state *st)
{
	for (unsigned i = 0; i < st->nconds; i++) {
		free(st->conds[i].test);
		free(st->conds[i].pattern);
	}
	st->nconds = 0;
	st->conds_overflow = false;
	st->conds_unread = false;
}

static void free_vhost(struct vhost *v)
{
	for (unsigned i = 0; i < v->nhosts; i++)
		free(v->hosts[i]);
	free(v->docroot);
	memset(v, 0, sizeof(*v));
}

/* Writes one rule (for each host of the virtual host when the source can
 * carry a host). */
static void emit(struct state *st, unsigned line, const struct spec *s)
{
	struct bbuf b;
	unsigned nh = st->in_vhost && !s->regex ? st->vh.nhosts : 0;

	for (unsigned h = 0; h < (nh ? nh : 1); h++) {
		bbuf_init(&b, 3 * 65536);
		if (s->regex) {
			bbuf_putc(&b, '~');
			detour_import_re_put(&b, s->path);
		} else {
			if (nh) {
				bbuf_puts(&b, st->vh.https ? "https://" : "//");
				bbuf_puts(&b, st->vh.hosts[h]);
			}
			bbuf_puts(&b, s->path);
			if (s->splat)
				bbuf_puts(&b, s->path[strlen(s->path) - 1] == '/' ? "*" : "/*");
		}
		bbuf_putc(&b, ' ');
		bbuf_puts(&b, s->target[0] ? s->target : "-");
		bbuf_putf(&b, " %u", s->status);
		if (s->drop_query && s->status != 410)
			BBUF_LIT(&b, " query=drop");
		if (s->nocase)
			BBUF_LIT(&b, " case=insensitive");
		bbuf_puts(&b, s->opts);
		if (s->regex && st->in_vhost && st->vh.nhosts)
			detour_import_host_cond(&b, (const char *const *)st->vh.hosts,
			                        st->vh.nhosts);
		const char *r = bbuf_cstr(&b);
		if (!bbuf_ok(&b))
			st->im->oom = true;
		else
			detour_import_rule(st->im, line, r);
		bbuf_free(&b);
	}
}

/* A status word of Redirect: 0 when w is not one, -1 when it is one detour
 * cannot answer. */
static int redirect_status(const char *w)
{
	if (!strcasecmp(w, "permanent"))
		return 301;
	if (!strcasecmp(w, "temp"))
		return 302;
	if (!strcasecmp(w, "seeother"))
		return 303;
	if (!strcasecmp(w, "gone"))
		return 410;
	if (ascii_is_digit((unsigned char)w[0])) {
		int v = atoi(w);
		if (v == 301 || v == 302 || v == 303 || v == 307 || v == 308 || v == 410)
			return v;
		return -1;
	}
	return 0;
}

static bool is_url(const char *s)
{
	return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

/* The optional status word w[1] of a Redirect or RedirectMatch: sets
 * *status and returns 2 (the index of the next word), or returns 1 when w[1]
 * is not a status word (or is the last word and !last_ok), or -1 after
 * skipping the line when it names a status detour does not answer. */
static int status_word(struct state *st, unsigned line, char **w, int nw, bool last_ok, int *status)
{
	if (nw < 2)
		return 1;
	int s = redirect_status(w[1]);
	if (s < 0) {
		detour_import_skip(st->im, line,
		                   "status %s: detour answers 301, 302, 303, 307, 308 and 410 only",
		                   w[1]);
		return -1;
	}
	if (s == 0 || (!last_ok && nw < 3))
		return 1;
	*status = s;
	return 2;
}

/* Redirect, RedirectPermanent, RedirectTemp. */
static void do_redirect(struct state *st, unsigned line, char **w, int nw, int fixed)
{
	int i = 1, status = fixed ? fixed : 302;

	if (!fixed && (i = status_word(st, line, w, nw, true, &status)) < 0)
		return;
	const char *path = i < nw ? w[i] : NULL, *target = i + 1 < nw ? w[i + 1] : "";
	if (path == NULL || path[0] != '/') {
		detour_import_skip(st->im, line,
		                   "%s without a URL-path (inside <Location>?): detour needs the "
		                   "path to match",
		                   w[0]);
		return;
	}
	if (status == 410 ? i + 1 < nw : i + 2 != nw || !(is_url(target) || target[0] == '/')) {
		detour_import_skip(st->im, line,
		                   status == 410
		                           ? "a 410 takes no URL"
		                           : "expected a URL-path and an http(s) URL or a path");
		return;
	}
	bool drop = strchr(target, '?') != NULL;
	char t[8192];
	struct spec s = {.path = path,
	                 .target = target,
	                 .status = (unsigned)status,
	                 .drop_query = drop,
	                 .opts = ""};
	size_t pl = strlen(path);
	if (pl > 1 && path[pl - 1] == '/') {
		/* "/a/" matches "/a/..." but not "/a": a regex, not a splat */
		struct bbuf b;
		bbuf_init(&b, 65536);
		BBUF_LIT(&b, "^");
		detour_import_re_quote(&b, path, pl);
		BBUF_LIT(&b, "(.*)$");
		s.regex = true;
		s.path = bbuf_cstr(&b);
		if (status != 410) {
			snprintf(t, sizeof(t), "%s$1", target);
			s.target = t;
		}
		emit(st, line, &s);
		bbuf_free(&b);
		return;
	}
	if (pl > 1)
		emit(st, line, &s); /* the exact path first */
	s.splat = true;
	if (status != 410) {
		/* Apache appends the rest of the path to the target as written,
		 * after its query if it has one ("/b?x=1" + "/c") */
		snprintf(t, sizeof(t), "%s%s:splat", target, pl > 1 ? "/" : "");
		s.target = t;
	}
	emit(st, line, &s);
}

/* Whether target uses "$0" or "%N" (RewriteCond back-references). */
static const char *bad_reference(const char *t)
{
	for (const char *p = t; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (p[0] == '$' && p[1] == '0')
			return "$0 (the whole match) has no equivalent: use a group";
		if (p[0] == '%' && ascii_is_digit((unsigned char)p[1]))
			return "%N (a RewriteCond back-reference) has no equivalent in detour";
		if (p[0] == '$' && p[1] == '{')
			return "${map:key} (RewriteMap) has no equivalent in detour";
	}
	return NULL;
}

static void do_redirect_match(struct state *st, unsigned line, char **w, int nw)
{
	int i, status = 302;

	if ((i = status_word(st, line, w, nw, false, &status)) < 0)
		return;
	if (i >= nw || (status == 410 ? i + 1 != nw : i + 2 != nw)) {
		detour_import_skip(st->im, line, "expected RedirectMatch [status] regex URL");
		return;
	}
	const char *target = status == 410 ? "" : w[i + 1], *bad = bad_reference(target);
	if (bad) {
		detour_import_skip(st->im, line, "%s", bad);
		return;
	}
	struct spec s = {.regex = true,
	                 .path = w[i],
	                 .target = target,
	                 .status = (unsigned)status,
	                 .drop_query = strchr(target, '?') != NULL,
	                 .opts = ""};
	emit(st, line, &s);
}

/* Flags of a RewriteRule. */
struct rflags {
	unsigned status; /* 0: no R */
	bool nc, qsa, qsd, gone;
	const char *bad; /* a flag detour cannot express */
	char badbuf[128];
};

static void parse_flags(const char *f, struct rflags *r)
{
	char buf[1024];
	size_t n = strlen(f);

	memset(r, 0, sizeof(*r));
	if (n < 2 || f[0] != '[' || f[n - 1] != ']' || n - 2 >= sizeof(buf)) {
		r->bad = "the flags are not [FLAG,...]";
		return;
	}
	memcpy(buf, f + 1, n - 2);
	buf[n - 2] = '\0';
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		size_t kl = eq ? (size_t)(eq - t) : strlen(t);
		const char *v = eq ? eq + 1 : "";
#define IS(a) (kl == strlen(a) && !strncasecmp(t, a, kl))
		if (IS("R") || IS("redirect")) {
			int s = !*v                           ? 302
			        : !strcasecmp(v, "permanent") ? 301
			        : !strcasecmp(v, "temp")      ? 302
			        : !strcasecmp(v, "seeother")  ? 303
			                                      : atoi(v);
			if (s == 410) {
				r->gone = true;
			} else if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) {
				snprintf(
				        r->badbuf, sizeof(r->badbuf),
				        "R=%s: detour answers 301, 302, 303, 307, 308 and 410 only",
				        v);
				r->bad = r->badbuf;
			}
			r->status = (unsigned)s;
		} else if (IS("NC") || IS("nocase")) {
			r->nc = true;
		} else if (IS("QSA") || IS("qsappend")) {
			r->qsa = true;
		} else if (IS("QSD") || IS("qsdiscard")) {
			r->qsd = true;
		} else if (IS("G") || IS("gone")) {
			r->gone = true;
		} else if (IS("L") || IS("last") || IS("END") || IS("NE") || IS("noescape") ||
		           IS("NS") || IS("nosubreq") || IS("B") || IS("BNP") || IS("BCTLS") ||
		           IS("BNE") || IS("QSL") || IS("qslast") || IS("DPI") ||
		           IS("discardpath") || IS("NV") || IS("novary") || IS("UnsafeAllow3F")) {
			/* L/END: every detour rule is the last; the others change
			 * escaping or internal passes only */
		} else {
			snprintf(r->badbuf, sizeof(r->badbuf),
			         "flag %.*s (%s) has no equivalent in detour", (int)kl, t,
			         IS("F") || IS("forbidden") ? "403"
			         : IS("P") || IS("proxy")   ? "a proxy is not a redirect"
			         : IS("C") || IS("chain") || IS("S") || IS("skip") || IS("N") ||
			                         IS("next")
			                 ? "rule chaining"
			                 : "it changes the response, not the redirect");
			r->bad = r->badbuf;
		}
#undef IS
	}
}

/* Substitutes %{REQUEST_URI} (a capture of the whole path, group 1) and
 * %{HTTP_HOST}/%{SERVER_NAME} (a virtual host with one name) in the
 * substitution; renumbers $N when a group is added. Returns NULL or why. */
static const char *subst_vars(struct state *st, const char *sub, char *out, size_t cap,
                              bool *whole_path)
{
	size_t o = 0;

	*whole_path = strstr(sub, "%{REQUEST_URI}") != NULL;
	for (const char *p = sub; *p; p++) {
		char tmp[512];
		const char *put = NULL;
		if (p[0] == '%' && p[1] == '{') {
			const char *e = strchr(p, '}');
			if (e == NULL)
				return "an unterminated %{ in the substitution";
			size_t vl = (size_t)(e - p - 2);
			if (vl == 11 && !strncmp(p + 2, "REQUEST_URI", 11)) {
				put = "/$1"; /* the group holds the path after its '/' */
			} else if ((vl == 9 && !strncmp(p + 2, "HTTP_HOST", 9)) ||
			           (vl == 11 && !strncmp(p + 2, "SERVER_NAME", 11))) {
				if (!st->in_vhost || st->vh.nhosts != 1 ||
				    st->vh.hosts[0][0] == '*')
					return "%{HTTP_HOST} in the substitution: detour targets "
					       "name "
					       "their host (for http -> https use https-redirect "
					       "in "
					       "detour.conf)";
				put = st->vh.hosts[0];
			} else {
				return "a server variable in the substitution has no equivalent";
			}
			p = e;
		} else if (*whole_path && p[0] == '$' && ascii_is_digit((unsigned char)p[1])) {
			snprintf(tmp, sizeof(tmp), "$%d", p[1] - '0' + 1);
			if (p[1] == '9')
				return "$9 with %{REQUEST_URI}: too many groups";
			put = tmp;
			p++;
		}
		size_t n = put ? strlen(put) : 1;
		if (o + n + 1 >= cap)
			return "the substitution is too long";
		memcpy(out + o, put ? put : p, n);
		o += n;
	}
	out[o] = '\0';
	return NULL;
}

static void do_rewrite_rule(struct state *st, unsigned line, char **w, int nw)
{
	struct rflags f;
	struct bbuf opts, re;
	char sub[8192], lit[4096];
	bool whole = false;
	const char *why = NULL;

	if (nw < 3 || nw > 4) {
		detour_import_skip(st->im, line,
		                   "expected RewriteRule PATTERN SUBSTITUTION [FLAGS]");
		goto out;
	}
	parse_flags(nw == 4 ? w[3] : "[]", &f);
	const char *pat = w[1], *s = w[2];
	if (st->engine_off)
		why = "RewriteEngine is off: the rule does nothing";
	else if (f.bad)
		why = f.bad;
	else if (pat[0] == '!')
		why = "a negated pattern (!) has no equivalent";
	else if (!f.status && !f.gone && !is_url(s))
		why = "a rewrite that is not a redirect (no R flag): detour only redirects";
	else if (!f.gone && !strcmp(s, "-"))
		why = "R with substitution '-' redirects to the same URL";
	else if (st->conds_unread)
		why = "a RewriteCond before it could not be read";
	else if (st->conds_overflow)
		why = "more RewriteConds than detour takes on one rule";
	if (why == NULL && !f.gone)
		why = bad_reference(s);
	if (why == NULL && !f.gone)
		why = subst_vars(st, s, sub, sizeof(sub), &whole);
	if (why) {
		detour_import_skip(st->im, line, "%s", why);
		goto out;
	}
	bbuf_init(&opts, 65536);
	for (unsigned i = 0; i < st->nconds && !why; i++) {
		char whybuf[256];
		if (st->conds[i].or_next)
			why = "[OR] between RewriteConds: detour's conditions all hold together";
		else
			why = detour_import_apache_cond(&st->conds[i], &opts, whybuf,
			                                sizeof(whybuf));
		if (why)
			detour_import_skip(st->im, line, "RewriteCond at line %u: %s",
			                   st->conds[i].line, why);
	}
	if (why) {
		bbuf_free(&opts);
		goto out;
	}
	/* The pattern on the whole path. */
	bbuf_init(&re, 65536);
	if (whole)
		BBUF_LIT(&re, "^(?=/(.*))");
	if (st->per_dir && pat[0] == '^') {
		if (!whole)
			bbuf_putc(&re, '^');
		bbuf_putc(&re, '/');
		bbuf_puts(&re, pat + 1);
	} else if (whole) {
		BBUF_LIT(&re, "(?:.*?)(?:");
		bbuf_puts(&re, pat);
		bbuf_putc(&re, ')');
	} else {
		bbuf_puts(&re, pat);
	}
	/* The target: relative substitutions are relative to RewriteBase. */
	char target[8192 + 1024];
	bool drop = f.qsd;
	if (f.gone) {
		target[0] = '\0';
	} else {
		size_t sl = strlen(sub);
		if (sl && sub[sl - 1] == '?') {
			sub[--sl] = '\0';
			drop = true;
		}
		if (strchr(sub, '?') && !f.qsa)
			drop = true;
		if (sub[0] == '/' || is_url(sub))
			snprintf(target, sizeof(target), "%s", sub);
		else
			snprintf(target, sizeof(target), "%s%s%s", st->per_dir ? st->base : "/",
			         st->per_dir && st->base[strlen(st->base) - 1] != '/' ? "/" : "",
			         sub);
	}
	struct spec sp = {.regex = true,
	                  .path = bbuf_cstr(&re),
	                  .target = target,
	                  .status = f.gone     ? 410
	                            : f.status ? f.status
	                                       : 302,
	                  .drop_query = drop,
	                  .nocase = f.nc,
	                  .opts = bbuf_cstr(&opts)};
	/* "^old/page$" is the exact path "/old/page": readable, and it may
	 * carry the virtual host. */
	if (!whole && detour_import_re_literal(sp.path, lit, sizeof(lit)) && lit[0] == '/') {
		sp.regex = false;
		sp.path = lit;
	}
	emit(st, line, &sp);
	bbuf_free(&re);
	bbuf_free(&opts);
out:
	free_conds(st);
}

static void do_rewrite_cond(struct state *st, unsigned line, char **w, int nw)
{
	char ipm[1024];
	if (nw >= 4 && !strcasecmp(w[2], "-ipmatch")) {
		snprintf(ipm, sizeof(ipm), "-ipmatch %s", w[3]);
		w[2] = ipm;
		w[3] = nw == 5 ? w[4] : NULL;
		nw--;
	}
	if (nw < 3 || nw > 4) {
		detour_import_skip(st->im, line, "expected RewriteCond TESTSTRING PATTERN [FLAGS]");
		st->conds_unread = true;
		return;
	}
	if (st->nconds == MAX_CONDS) {
		st->conds_overflow = true;
		return;
	}
	struct detour_apache_cond *c = &st->conds[st->nconds];
	c->line = line;
	c->test = strdup(w[1]);
	c->pattern = strdup(w[2]);
	c->nc = c->or_next = false;
	if (c->test == NULL || c->pattern == NULL) {
		free(c->test);
		free(c->pattern);
		st->im->oom = true;
		return;
	}
	st->nconds++;
	if (nw == 4) {
		const char *f = w[3];
		c->nc = strcasestr(f, "NC") != NULL || strcasestr(f, "nocase") != NULL;
		c->or_next = strcasestr(f, "OR") != NULL || strcasestr(f, "ornext") != NULL;
	}
}

/* Scans the <VirtualHost> block starting after offset pos for ServerName,
 * ServerAlias, SSLEngine and DocumentRoot. */
static void scan_vhost(struct state *st, const char *buf, size_t len, size_t pos, bool port443)
{
	char *w[MAX_WORDS], wb[WORDBUF];

	free_vhost(&st->vh);
	st->vh.https = port443;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t e = nl ? (size_t)(nl - buf) : len;
		int nw =
		        detour_import_words(buf + pos, e - pos, true, w, MAX_WORDS, wb, sizeof(wb));
		pos = e + 1;
		if (nw < 1)
			continue;
		if (!strcasecmp(w[0], "</VirtualHost>"))
			break;
		if ((!strcasecmp(w[0], "ServerName") || !strcasecmp(w[0], "ServerAlias")))
			for (int i = 1; i < nw && st->vh.nhosts < MAX_HOSTS; i++) {
				char *h = strdup(w[i]);
				if (h == NULL)
					continue;
				/* ServerName may say scheme://host:port */
				char *p = strstr(h, "://");
				if (p) {
					if (!strncasecmp(h, "https", 5))
						st->vh.https = true;
					memmove(h, p + 3, strlen(p + 3) + 1);
				}
				if ((p = strchr(h, ':')) && h[0] != '[')
					*p = '\0';
				for (p = h; *p; p++)
					*p = ascii_lower(*p);
				st->vh.hosts[st->vh.nhosts++] = h;
			}
		if (!strcasecmp(w[0], "SSLEngine") && nw > 1 && !strcasecmp(w[1], "on"))
			st->vh.https = true;
		if (!strcasecmp(w[0], "DocumentRoot") && nw > 1 && !st->vh.docroot)
			st->vh.docroot = strdup(w[1]);
	}
}

static bool same_dir(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	while (al > 1 && a[al - 1] == '/')
		al--;
	while (bl > 1 && b[bl - 1] == '/')
		bl--;
	return al == bl && !memcmp(a, b, al);
}

static bool is_redirect_directive(const char *d)
{
	return !strcasecmp(d, "Redirect") || !strcasecmp(d, "RedirectPermanent") ||
	       !strcasecmp(d, "RedirectTemp") || !strcasecmp(d, "RedirectMatch") ||
	       !strcasecmp(d, "RewriteRule");
}

static void directive(struct state *st, unsigned line, const char *text, size_t n, char **w, int nw,
                      const char *buf, size_t len, size_t next)
{
	const char *d = w[0];

	if (d[0] == '<') {
		bool close = d[1] == '/';
		const char *name = d + 1 + close;
		size_t nl = strcspn(name, "> \t");
		if (st->skip_depth > 0) {
			st->skip_depth += close ? -1 : 1;
			return;
		}
		if ((nl == 8 && !strncasecmp(name, "IfModule", 8)) ||
		    (nl == 8 && !strncasecmp(name, "IfDefine", 8)) ||
		    (nl == 9 && !strncasecmp(name, "IfVersion", 9)))
			return; /* transparent */
		if (nl == 11 && !strncasecmp(name, "VirtualHost", 11)) {
			detour_import_append(st->main, &st->alias);
			if (close) {
				st->in_vhost = false;
				st->per_dir = true;
				free_vhost(&st->vh);
				st->base[0] = '/', st->base[1] = '\0';
				st->engine_off = false;
			} else {
				bool p443 = nw > 1 && strstr(w[1], ":443") != NULL;
				scan_vhost(st, buf, len, next, p443);
				st->in_vhost = true;
				st->per_dir = false;
				st->engine_off = false;
			}
			free_conds(st);
			return;
		}
		if (nl == 9 && !strncasecmp(name, "Directory", 9) && st->in_vhost) {
			if (close) {
				st->per_dir = false;
				return;
			}
			char dir[1024];
			snprintf(dir, sizeof(dir), "%s", nw > 1 ? w[1] : "");
			size_t dl = strlen(dir);
			if (dl && dir[dl - 1] == '>')
				dir[dl - 1] = '\0';
			if (st->vh.docroot && same_dir(dir, st->vh.docroot)) {
				st->per_dir = true;
				return;
			}
		}
		if (close)
			return;
		st->skip_depth = 1;
		snprintf(st->skip_what, sizeof(st->skip_what), "<%.*s>", (int)nl, name);
		return;
	}
	if (st->skip_depth > 0) {
		if (is_redirect_directive(d)) {
			detour_import_source(st->im, line, text, n);
			detour_import_skip(st->im, line,
			                   "inside a block detour cannot express (%s): it would "
			                   "apply to every request",
			                   st->skip_what);
		}
		return;
	}
	if (!strcasecmp(d, "RewriteEngine")) {
		st->engine_off = nw > 1 && !strcasecmp(w[1], "off");
		return;
	}
	if (!strcasecmp(d, "RewriteBase")) {
		snprintf(st->base, sizeof(st->base), "%s", nw > 1 ? w[1] : "/");
		return;
	}
	if (!strcasecmp(d, "RewriteCond")) {
		detour_import_source(st->im, line, text, n);
		do_rewrite_cond(st, line, w, nw);
		return;
	}
	if (!is_redirect_directive(d))
		return;
	st->im = strcasecmp(d, "RewriteRule") ? &st->alias : st->main;
	detour_import_source(st->im, line, text, n);
	if (!strcasecmp(d, "Redirect"))
		do_redirect(st, line, w, nw, 0);
	else if (!strcasecmp(d, "RedirectPermanent"))
		do_redirect(st, line, w, nw, 301);
	else if (!strcasecmp(d, "RedirectTemp"))
		do_redirect(st, line, w, nw, 302);
	else if (!strcasecmp(d, "RedirectMatch"))
		do_redirect_match(st, line, w, nw);
	else
		do_rewrite_rule(st, line, w, nw);
	st->im = st->main;
}

void detour_import_apache(struct detour_import *im, const char *buf, size_t len)
{
	static char wb[WORDBUF], joined[WORDBUF];
	char *w[MAX_WORDS];
	struct state st;
	size_t pos = 0;
	unsigned line = 0;

	memset(&st, 0, sizeof(st));
	st.im = st.main = im;
	detour_import_init(&st.alias, im->file);
	st.per_dir = true;
	st.base[0] = '/';
	im->slash_strict = true;
	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		pos = 3;
	while (pos < len && !im->oom) {
		/* one logical line: a '\' at the end continues it */
		unsigned first = line + 1;
		size_t jl = 0;
		bool too_long = false;
		for (;;) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			size_t e = nl ? (size_t)(nl - buf) : len, le = e;
			line++;
			if (le > pos && buf[le - 1] == '\r')
				le--;
			bool cont = le > pos && buf[le - 1] == '\\';
			if (cont)
				le--;
			if (jl + (le - pos) + 1 >= sizeof(joined))
				too_long = true;
			else {
				memcpy(joined + jl, buf + pos, le - pos);
				jl += le - pos;
			}
			pos = nl ? e + 1 : len;
			if (!cont || pos >= len)
				break;
		}
		joined[jl] = '\0';
		int nw = too_long ? -1
		                  : detour_import_words(joined, jl, true, w, MAX_WORDS, wb,
		                                        sizeof(wb));
		if (nw == 0)
			continue;
		if (nw < 0) {
			detour_import_source(im, first, joined, jl);
			detour_import_skip(im, first,
			                   "cannot read the line (an unclosed quote, or too long)");
			continue;
		}
		directive(&st, first, joined, jl, w, nw, buf, len, pos);
	}
	if (st.nconds) {
		detour_import_skip(im, st.conds[0].line,
		                   "RewriteCond without a RewriteRule after it");
	}
	detour_import_append(im, &st.alias);
	detour_import_fini(&st.alias);
	free_conds(&st);
	free_vhost(&st.vh);
}
