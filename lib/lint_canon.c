/* detour: lint of the HTTPS settings against the rules (see lint_canon.h
 * and docs/lint.md, "second-hop" and "hsts-preload"). Every question is
 * asked of canon.c and the table, as the server asks them: a target is
 * canonicalised with detour_canon_apply, the plain "/" of a host is
 * followed through the same hop the server folds (detour_table_match,
 * detour_canon_answer, detour_respond_location). */
#include <stdlib.h>
#include <string.h>

#include "detour/canon.h"
#include "detour/lint_canon.h"
#include "detour/lint_rules.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/table_match.h"
#include "detour/url.h"

#include "base/ascii.h"
#include "base/buf.h"
#include "base/grow.h"

#define TEXT_MAX 8192 /* a message or a fix */

struct lc {
	const struct detour_table *t;
	const struct detour_ruleset *rs;
	const struct detour_config *c;
	const struct detour_canon *k;
	struct detour_lint_result *out;
	size_t cap;
	const char **hosts; /* the exact hosts the rules name, sorted, distinct */
	size_t nhosts;
	bool nomem;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int fcmp(const void *a, const void *b)
{
	const struct detour_lint_finding *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	if (x->code != y->code)
		return (int)x->code - (int)y->code;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->message, y->message);
}

/* Adds a finding (message and fix taken over; fix may be NULL). */
static void add(struct lc *L, enum detour_lint_code code, uint32_t rule, const char *file,
                unsigned line, struct bbuf *msg, struct bbuf *fix)
{
	struct detour_lint_result *o = L->out;
	char *m = bbuf_take(msg, NULL), *x = fix ? bbuf_take(fix, NULL) : NULL;

	if (m == NULL || (fix && x == NULL) || BASE_GROW(o->v, L->cap, o->n + 1) != 0) {
		free(m);
		free(x);
		L->nomem = true;
		return;
	}
	struct detour_lint_finding *f = &o->v[o->n++];
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->severity = detour_lint_code_severity(code);
	f->rule = rule;
	f->file = file;
	f->line = line;
	f->message = m;
	f->fix = x;
	if (x && rule != DETOUR_LINT_NO_RULE) {
		f->edit_kind = DETOUR_LINT_EDIT_TARGET;
		f->edit = strdup(x);
		if (f->edit == NULL) {
			f->edit_kind = DETOUR_LINT_EDIT_NONE;
			L->nomem = true;
		}
	}
}

/* Whether host (lower case) is one detour answers: named by a rule's source
 * or by canonical-host. */
static bool served(const struct lc *L, const char *host)
{
	if (bsearch(&host, L->hosts, L->nhosts, sizeof(*L->hosts), str_cmp))
		return true;
	for (unsigned i = 0; i < L->c->ncanon; i++)
		if (!strcmp(L->c->canon[i].canonical, host))
			return true;
	return detour_canon_alias(L->k, host, strlen(host)) != NULL;
}

static int collect_hosts(struct lc *L)
{
	size_t n = detour_ruleset_count(L->rs), k = 0;

	L->hosts = malloc((n ? n : 1) * sizeof(*L->hosts));
	if (L->hosts == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		size_t hl;
		const char *h = detour_ruleset_host(L->rs, r, &hl);
		if (hl && !(r->flags & DETOUR_RULE_HOST_WILDCARD))
			L->hosts[k++] = h;
	}
	qsort(L->hosts, k, sizeof(*L->hosts), str_cmp);
	L->nhosts = 0;
	for (size_t i = 0; i < k; i++)
		if (L->nhosts == 0 || strcmp(L->hosts[L->nhosts - 1], L->hosts[i]))
			L->hosts[L->nhosts++] = L->hosts[i];
	return 0;
}

/* "https-redirect, canonical-host (a -> b), trailing-slash add" */
static void put_steps(struct bbuf *b, const struct lc *L, const struct detour_canon_url *u)
{
	const char *sep = "";

	if (u->changed & DETOUR_CANON_SCHEME) {
		bbuf_puts(b, "https-redirect");
		sep = ", ";
	}
	if (u->changed & DETOUR_CANON_HOST) {
		bbuf_putf(b, "%scanonical-host (%s -> %s)", sep, u->hostbuf, u->host);
		sep = ", ";
	}
	if (u->changed & DETOUR_CANON_SLASH)
		bbuf_putf(b, "%strailing-slash %s", sep,
		          detour_canon_slash(L->k) == DETOUR_SLASH_ADD ? "add" : "remove");
}

/* Whether the last segment of p[0..n) holds a placeholder: its slash is
 * not known before a request fills it. */
static bool last_segment_varies(const char *p, size_t n)
{
	for (size_t i = n; i > 0 && p[i - 1] != '/'; i--)
		if (p[i - 1] == ':' || p[i - 1] == '$')
			return true;
	return false;
}

/* second-hop: the URL a client asks for next after rule r, canonicalised. */
static void check_target(struct lc *L, const struct detour_rule *r)
{
	const char *t = detour_rule_target(L->rs, r);
	size_t n = r->target_len;
	bool abs = ascii_prefix_ci(t, n, "http://") || ascii_prefix_ci(t, n, "https://");
	struct detour_url u;
	struct detour_canon_url cu;
	char host[DETOUR_CANON_HOST_MAX + 1], path[DETOUR_RULE_LINE_MAX + 2];
	bool https = true;
	size_t hl;

	if (n == 0 || (!abs && t[0] != '/') || detour_url_parse(t, n, &u) != DETOUR_OK)
		return; /* a 410, or a target led by a capture */
	if (abs) {
		detour_url_scheme_is_http(u.scheme.p, u.scheme.len, &https);
		if (u.host.len == 0 || u.host.len > DETOUR_CANON_HOST_MAX)
			return;
		for (size_t i = 0; i < u.host.len; i++)
			host[i] = ascii_lower(u.host.p[i]);
		hl = detour_url_host_canon(host, u.host.len);
		host[hl] = '\0';
		if (memchr(host, ':', hl) || !served(L, host))
			return; /* another server's URL: not detour's to redirect */
	} else {
		/* A path target lands on the canonical origin of the request,
		 * but for an http:// rule, which keeps plain requests plain. */
		https = !(r->scheme == DETOUR_SCHEME_HTTP && L->c->https_redirect);
		size_t rl;
		const char *rh = detour_ruleset_host(L->rs, r, &rl);
		hl = rl && !(r->flags & DETOUR_RULE_HOST_WILDCARD) ? rl : 0;
		memcpy(host, hl ? rh : "", hl);
		host[hl] = '\0';
	}
	size_t pl = u.path.len ? u.path.len : 1;
	memcpy(path, u.path.len ? u.path.p : "/", pl);
	struct detour_canon_in in = {
	        .https = https,
	        .host = hl ? host : "example.invalid",
	        .host_len = hl ? hl : 15,
	        .path = path,
	        .path_len = pl,
	        .path_cap = sizeof(path),
	};
	unsigned ch = detour_canon_apply(L->k, &in, &cu);
	if (!abs)
		ch &= ~DETOUR_CANON_HOST; /* a rule for an alias never answers: moot */
	if (last_segment_varies(path, pl))
		ch &= ~DETOUR_CANON_SLASH;
	if (ch == 0)
		return;
	cu.changed = ch;
	if (!(ch & DETOUR_CANON_SLASH))
		cu.path_len = pl;

	struct bbuf msg, fix;
	bbuf_init(&msg, TEXT_MAX);
	bbuf_init(&fix, TEXT_MAX);
	bbuf_puts(&msg, "the target ");
	bbuf_put(&msg, t, n);
	bbuf_puts(&msg, " is redirected again by ");
	put_steps(&msg, L, &cu);
	bool fixable = abs || hl || !(ch & DETOUR_CANON_SCHEME);
	if (fixable) {
		char *tb = malloc(DETOUR_CANON_TARGET_MAX);
		ssize_t tn =
		        tb ? detour_canon_target(&cu, NULL, 0, tb, DETOUR_CANON_TARGET_MAX) : -1;
		if (tn < 0) {
			fixable = false;
		} else {
			bbuf_put(&fix, tb, (size_t)tn);
			if (u.query.p) {
				bbuf_putc(&fix, '?');
				bbuf_put(&fix, u.query.p, u.query.len);
			}
			if (u.fragment.p) {
				bbuf_putc(&fix, '#');
				bbuf_put(&fix, u.fragment.p, u.fragment.len);
			}
		}
		free(tb);
	}
	if (fixable) {
		bbuf_puts(&msg, ": two hops where one would do; write ");
		bbuf_put(&msg, fix.p, fix.len);
	} else {
		bbuf_puts(&msg, ": two hops where one would do; write an https:// target");
	}
	add(L, DETOUR_LINT_SECOND_HOP, detour_rule_index(L->rs, r),
	    detour_ruleset_file(L->rs, detour_ruleset_rule_file(L->rs, r)),
	    detour_ruleset_line(L->rs, r), &msg, fixable ? &fix : NULL);
	if (!fixable)
		bbuf_free(&fix);
}

static void config_finding(struct lc *L, const char *text)
{
	struct bbuf msg;

	bbuf_init(&msg, TEXT_MAX);
	bbuf_puts(&msg, text);
	add(L, DETOUR_LINT_HSTS_PRELOAD, DETOUR_LINT_NO_RULE, L->c->file, L->c->hsts.line, &msg,
	    NULL);
}

/* The preload list's "redirect from HTTP to HTTPS on the same host": where
 * does plain http://host/ go, folded as the server folds it? */
static void check_preload_host(struct lc *L, const char *host, char *loc)
{
	char path[4] = "/";
	struct detour_canon_in in = {false, host, strlen(host), path, 1, sizeof(path)};
	struct detour_canon_url cu;
	struct detour_match_req q = {
	        .host = host, .host_len = in.host_len, .path = "/", .path_len = 1};
	struct detour_match m;
	struct detour_rule rule;
	struct bbuf msg;
	char *tb;

	if (detour_canon_apply(L->k, &in, &cu) == 0)
		return;
	bbuf_init(&msg, TEXT_MAX);
	if (detour_table_match(L->t, &q, &m) && m.rule->scheme == DETOUR_SCHEME_HTTP) {
		bbuf_putf(&msg,
		          "http://%s/ is answered by the http:// rule %s:%u, not redirected to "
		          "https://%s/ (the HSTS preload list requires it)",
		          host, detour_ruleset_file(L->rs, detour_ruleset_rule_file(L->rs, m.rule)),
		          detour_ruleset_line(L->rs, m.rule), host);
		add(L, DETOUR_LINT_HSTS_PRELOAD, DETOUR_LINT_NO_RULE, L->c->file, L->c->hsts.line,
		    &msg, NULL);
		return;
	}
	q.https = cu.https;
	q.host = cu.host;
	q.host_len = cu.host_len;
	if (!detour_table_match(L->t, &q, &m))
		m.rule = NULL;
	tb = malloc(DETOUR_CANON_TARGET_MAX);
	if (tb == NULL) {
		L->nomem = true;
		bbuf_free(&msg);
		return;
	}
	detour_canon_answer(&cu, &m, &rule, tb, DETOUR_CANON_TARGET_MAX);
	ssize_t ln = detour_respond_location(&m, &q, loc, DETOUR_LOCATION_MAX);
	size_t want = 8 + strlen(host);
	if (ln > 0 && (size_t)ln >= want && ascii_prefix_ci(loc, (size_t)ln, "https://") &&
	    ascii_eq_ci_n(loc + 8, strlen(host), host, strlen(host)) &&
	    ((size_t)ln == want || loc[want] == '/' || loc[want] == '?')) {
		free(tb);
		bbuf_free(&msg);
		return;
	}
	bbuf_putf(&msg,
	          "http://%s/ goes to %.*s in one hop; the HSTS preload list requires "
	          "https://%s/ first (the same host)",
	          host, (int)(ln > 0 ? ln : 0), loc, host);
	free(tb);
	add(L, DETOUR_LINT_HSTS_PRELOAD, DETOUR_LINT_NO_RULE, L->c->file, L->c->hsts.line, &msg,
	    NULL);
}

static void check_preload(struct lc *L)
{
	const struct detour_conf_hsts *h = &L->c->hsts;
	char *loc;

	if (!h->line || !h->preload)
		return;
	if (h->max_age_s < DETOUR_HSTS_PRELOAD_MIN_AGE)
		config_finding(L, "hsts preload: max-age is under one year (31536000 s), the "
		                  "least the HSTS preload list takes");
	if (!h->include_subdomains)
		config_finding(L, "hsts preload: include-subdomains is missing; the HSTS preload "
		                  "list requires includeSubDomains");
	if (!L->c->https_redirect) {
		config_finding(L, "hsts preload: no https-redirect; the HSTS preload list requires "
		                  "http:// to redirect to https:// on the same host");
		return;
	}
	loc = malloc(DETOUR_LOCATION_MAX);
	if (loc == NULL) {
		L->nomem = true;
		return;
	}
	for (size_t i = 0; i < L->nhosts && !L->nomem; i++)
		check_preload_host(L, L->hosts[i], loc);
	for (unsigned i = 0; i < L->c->ncanon && !L->nomem; i++) {
		const char *a = L->c->canon[i].aliases;
		while (*a && !L->nomem) {
			const char *nl = strchr(a, '\n');
			char host[DETOUR_CANON_HOST_MAX + 1];
			size_t n = (size_t)(nl - a);
			memcpy(host, a, n);
			host[n] = '\0';
			if (!bsearch(&(const char *){host}, L->hosts, L->nhosts, sizeof(*L->hosts),
			             str_cmp))
				check_preload_host(L, host, loc);
			a = nl + 1;
		}
		if (!bsearch(&(const char *){L->c->canon[i].canonical}, L->hosts, L->nhosts,
		             sizeof(*L->hosts), str_cmp))
			check_preload_host(L, L->c->canon[i].canonical, loc);
	}
	free(loc);
}

detour_err detour_lint_canon(const struct detour_table *t, const struct detour_config *c,
                             struct detour_lint_result *out)
{
	struct lc L = {.t = t, .rs = detour_table_rules(t), .c = c, .out = out, .cap = out->n};
	struct detour_canon *k = NULL;

	if (detour_canon_new(c, &k) != DETOUR_OK)
		return DETOUR_ENOMEM;
	if (k == NULL)
		return DETOUR_OK;
	L.k = k;
	if (collect_hosts(&L) == 0) {
		size_t n = detour_ruleset_count(L.rs);
		for (size_t i = 0; i < n && !L.nomem; i++)
			check_target(&L, detour_ruleset_get(L.rs, i));
		if (!L.nomem)
			check_preload(&L);
	} else {
		L.nomem = true;
	}
	free(L.hosts);
	detour_canon_free(k);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), fcmp);
	out->errors = out->warnings = out->notes = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].severity == DETOUR_LINT_ERROR)
			out->errors++;
		else if (out->v[i].severity == DETOUR_LINT_WARNING)
			out->warnings++;
		else
			out->notes++;
	}
	return L.nomem ? DETOUR_ENOMEM : DETOUR_OK;
}
