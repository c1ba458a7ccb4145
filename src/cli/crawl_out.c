/* detour crawl: JSON, CSV, text, and --suggest-rules. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/esc.h"
#include "base/grow.h"
#include "cli_util.h"
#include "crawl_find.h"
#include "crawl_out.h"

size_t crawl_status_counts(const struct crawl *C, int *keys, size_t *counts, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < C->npages; i++) {
		const struct crawl_page *p = &C->pages[i];
		if (!p->checked)
			continue;
		int st = p->chain->nh ? p->chain->h[0].status : 0;
		size_t k = 0;
		while (k < n && keys[k] < st)
			k++;
		if (k < n && keys[k] == st) {
			counts[k]++;
			continue;
		}
		if (n == cap)
			continue;
		memmove(keys + k + 1, keys + k, (n - k) * sizeof(*keys));
		memmove(counts + k + 1, counts + k, (n - k) * sizeof(*counts));
		keys[k] = st;
		counts[k] = 1;
		n++;
	}
	return n;
}

size_t crawl_finding_counts(const struct crawl *C, const char **keys, size_t *counts, size_t cap)
{
	size_t n = 0;
	/* C->f is sorted by severity then code: equal codes are adjacent. */
	for (size_t i = 0; i < C->nf; i++) {
		if (n && !strcmp(keys[n - 1], C->f[i].code)) {
			counts[n - 1]++;
			continue;
		}
		if (n == cap)
			break;
		keys[n] = C->f[i].code;
		counts[n++] = 1;
	}
	return n;
}

static void set(json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v))
		check_oom();
}

static json_t *obj(void)
{
	json_t *o = json_object();
	if (!o)
		check_oom();
	return o;
}

static json_t *arr(void)
{
	json_t *a = json_array();
	if (!a)
		check_oom();
	return a;
}

static void push(json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v))
		check_oom();
}

static json_t *hops_json(const struct chain *c)
{
	json_t *a = arr();
	for (size_t k = 0; k < c->nh; k++) {
		const struct hop *h = &c->h[k];
		json_t *o = obj();
		set(o, "url", cli_json_str(h->url));
		set(o, "status", h->status ? json_integer(h->status) : json_null());
		set(o, "location", cli_json_str(h->loc_resolved));
		set(o, "protocol", cli_json_str(h->status && !h->internal ? h->protocol : NULL));
		set(o, "error", cli_json_str(h->error));
		push(a, o);
	}
	return a;
}

static json_t *summary_json(const struct crawl *C)
{
	json_t *s = obj();
	size_t denied = 0, limited = 0;
	for (size_t i = 0; i < C->npages; i++) {
		denied += C->pages[i].robots_denied;
		limited += C->pages[i].over_limit;
	}
	set(s, "pages_known", json_integer((json_int_t)C->npages));
	set(s, "pages_checked", json_integer((json_int_t)C->pages_fetched));
	set(s, "robots_denied", json_integer((json_int_t)denied));
	set(s, "over_limit", json_integer((json_int_t)limited));
	set(s, "links", json_integer((json_int_t)C->nlinks));
	set(s, "seconds", json_real((double)(long)(C->seconds * 1000) / 1000));
	int keys[128];
	size_t counts[128];
	size_t n = crawl_status_counts(C, keys, counts, 128);
	json_t *st = obj();
	for (size_t k = 0; k < n; k++) {
		char b[16];
		snprintf(b, sizeof(b), "%d", keys[k]);
		set(st, keys[k] ? b : "none", json_integer((json_int_t)counts[k]));
	}
	set(s, "status", st);
	const char *codes[64];
	n = crawl_finding_counts(C, codes, counts, 64);
	json_t *fc = obj();
	for (size_t k = 0; k < n; k++)
		set(fc, codes[k], json_integer((json_int_t)counts[k]));
	set(s, "findings", fc);
	return s;
}

int crawl_write_json(const struct crawl *C, FILE *f)
{
	json_t *root = obj(), *seeds = arr(), *pages = arr(), *finds = arr(), *chains = arr();
	for (size_t i = 0; i < C->nseeds; i++)
		push(seeds, cli_json_str(C->seeds[i]));
	set(root, "seeds", seeds);
	set(root, "summary", summary_json(C));
	for (size_t i = 0; i < C->nf; i++) {
		const struct crawl_finding *x = &C->f[i];
		json_t *o = obj(), *pl = arr();
		set(o, "code", json_string(x->code));
		set(o, "severity", json_string(x->severity));
		set(o, "url", cli_json_str(C->pages[x->page].url));
		set(o, "message", cli_json_str(x->msg));
		set(o, "target", cli_json_str(x->target));
		for (size_t k = 0; k < x->npages; k++)
			push(pl, cli_json_str(C->pages[x->pages[k]].url));
		set(o, "pages", pl);
		push(finds, o);
	}
	set(root, "findings", finds);
	for (size_t ko = 0; ko < C->npages; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		const struct chain *c = p->chain;
		const size_t *refs;
		json_t *o = obj();
		set(o, "url", cli_json_str(p->url));
		set(o, "checked", json_boolean(p->checked));
		set(o, "status",
		    c && c->nh && c->h[0].status ? json_integer(c->h[0].status) : json_null());
		set(o, "final_status",
		    c && c->final_status ? json_integer(c->final_status) : json_null());
		set(o, "final_url", cli_json_str(p->final_url));
		set(o, "redirects", json_integer(c ? c->redirects : 0));
		set(o, "depth", p->depth == UINT32_MAX ? json_null() : json_integer(p->depth));
		set(o, "in_scope", json_boolean(p->in_scope));
		set(o, "seed", json_boolean(p->seed));
		set(o, "in_sitemap", json_boolean(p->in_sitemap));
		set(o, "via_redirect", json_boolean(p->via_redirect));
		set(o, "robots_denied", json_boolean(p->robots_denied));
		set(o, "over_limit", json_boolean(p->over_limit));
		set(o, "linked_from", json_integer((json_int_t)crawl_referrers(C, i, &refs)));
		push(pages, o);
		if (c && c->redirects) {
			json_t *ch = obj();
			set(ch, "url", cli_json_str(p->url));
			set(ch, "final_url", cli_json_str(p->final_url));
			set(ch, "final_status",
			    c->final_status ? json_integer(c->final_status) : json_null());
			set(ch, "redirects", json_integer(c->redirects));
			set(ch, "hops", hops_json(c));
			push(chains, ch);
		}
	}
	set(root, "pages", pages);
	set(root, "chains", chains);
	return cli_json_print(root, f);
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break; a quote doubled. */
static void csv_field(FILE *f, const char *s, bool last)
{
	if (!s)
		s = "";
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputs(last ? "\r\n" : ",", f);
}

int crawl_write_csv(const struct crawl *C, FILE *f)
{
	fputs("url,status,final_url,final_status,redirects,depth,linked_from,findings\r\n", f);
	for (size_t ko = 0; ko < C->npages; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		if (!p->checked)
			continue;
		const struct chain *c = p->chain;
		const size_t *refs;
		char st[16] = "", fst[16] = "", red[16], dep[16], lf[24];
		char codes[1024] = "";
		size_t cn = 0;
		if (c->nh && c->h[0].status)
			snprintf(st, sizeof(st), "%d", c->h[0].status);
		if (c->final_status)
			snprintf(fst, sizeof(fst), "%d", c->final_status);
		snprintf(red, sizeof(red), "%d", c->redirects);
		snprintf(dep, sizeof(dep), "%u", p->depth);
		snprintf(lf, sizeof(lf), "%zu", crawl_referrers(C, i, &refs));
		for (size_t k = 0; k < C->nf; k++)
			if (C->f[k].page == i && cn + strlen(C->f[k].code) + 2 < sizeof(codes))
				cn += (size_t)snprintf(codes + cn, sizeof(codes) - cn, "%s%s",
				                       cn ? " " : "", C->f[k].code);
		csv_field(f, p->url, false);
		csv_field(f, st, false);
		csv_field(f, p->final_url, false);
		csv_field(f, fst, false);
		csv_field(f, red, false);
		csv_field(f, dep, false);
		csv_field(f, lf, false);
		csv_field(f, codes, true);
	}
	return ferror(f) ? -1 : 0;
}

/* The rules file's form of url as a SOURCE or TARGET: the path (and query)
 * alone when url is on origin, else the whole URL. */
static void rule_url(FILE *f, const char *url, const char *origin)
{
	size_t n = strlen(origin);
	if (n && !strncmp(url, origin, n) && (url[n] == '/' || url[n] == 0))
		fputs(url[n] ? url + n : "/", f);
	else
		fputs(url, f);
}

/* The path (and query) of url when it is on origin, else NULL. */
static const char *on_origin(const char *url, const char *origin)
{
	size_t n = strlen(origin);
	if (!url || !n || strncmp(url, origin, n) || url[n] != '/')
		return NULL;
	return url + n;
}

/* A prefix a redirect moved: every path under from/ is under to/ now, as
 * one redirect showed (ex_src -> ex_dst). */
struct move {
	char *from, *to;
	const char *ex_src, *ex_dst;
};

/* The move a redirect from path s to path t shows: their common tail
 * starting at a '/' (and more than "/"), the heads before it differing. */
static bool find_move(const char *s, const char *t, struct move *m)
{
	size_t i = strlen(s), j = strlen(t);
	if (strchr(s, '?') || strchr(t, '?'))
		return false;
	while (i > 0 && j > 0 && s[i - 1] == t[j - 1])
		i--, j--;
	while (s[i] && s[i] != '/')
		i++, j++;
	if (!s[i] || !s[i + 1] || i == 0 || (i == j && !strncmp(s, t, i)))
		return false;
	m->from = check_strndup(s, i);
	m->to = check_strndup(t, j);
	return true;
}

/* Rules for the 404s (and 410s) whose path is under a prefix a redirect
 * moved, when the same path under the new prefix was crawled and answers
 * 2xx: the likely target. Returns the number of rules written. */
static size_t write_moved_404s(const struct crawl *C, FILE *f, const char *origin)
{
	struct move *mv = NULL;
	size_t nmv = 0, n = 0;
	for (size_t ko = 0; ko < C->npages; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		const struct chain *c = p->chain;
		const char *s = on_origin(p->url, origin), *t = on_origin(p->final_url, origin);
		struct move m;
		if (!p->checked || !s || !t || !c->redirects || c->failed || c->net_error ||
		    c->final_status < 200 || c->final_status >= 300 || !find_move(s, t, &m))
			continue;
		m.ex_src = s;
		m.ex_dst = t;
		mv = realloc(mv, (nmv + 1) * sizeof(*mv));
		if (!mv)
			check_oom();
		mv[nmv++] = m;
	}
	for (size_t ko = 0; ko < C->npages && nmv; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		const struct chain *c = p->chain;
		const char *s = on_origin(p->url, origin);
		if (!p->checked || !s || c->redirects || c->net_error ||
		    (c->final_status != 404 && c->final_status != 410) || strchr(s, '?'))
			continue;
		for (size_t k = 0; k < nmv; k++) {
			size_t fl = strlen(mv[k].from);
			if (strncmp(s, mv[k].from, fl) || s[fl] != '/')
				continue;
			char cand[8192];
			snprintf(cand, sizeof(cand), "%s%s%s", origin, mv[k].to, s + fl);
			size_t ci = crawl_page_find(C, cand, strlen(cand));
			const struct chain *cc = ci != SIZE_MAX ? C->pages[ci].chain : NULL;
			if (!cc || cc->redirects || cc->final_status < 200 ||
			    cc->final_status >= 300)
				continue;
			const size_t *refs;
			size_t nr = crawl_referrers(C, i, &refs);
			const char *cp = cand + strlen(origin);
			fprintf(f,
			        "# %d linked from %zu page%s: %s/ moved to %s/ (%s -> %s), and %s "
			        "answers %d\n",
			        c->final_status, nr, nr == 1 ? "" : "s", mv[k].from, mv[k].to,
			        mv[k].ex_src, mv[k].ex_dst, cp, cc->final_status);
			fprintf(f, "%s %s 301 cache=1d\n", s, cp);
			n++;
			break;
		}
	}
	for (size_t k = 0; k < nmv; k++) {
		free(mv[k].from);
		free(mv[k].to);
	}
	free(mv);
	return n;
}

/* A redirect to flatten: its URL, its chain's place in URL order, the
 * chain's page and the hop. */
struct cand {
	const char *src;
	size_t rank, page, hop;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int d = strcmp(x->src, y->src);
	return d ? d : (x->rank > y->rank) - (x->rank < y->rank);
}

size_t crawl_write_rules(const struct crawl *C, FILE *f)
{
	char origin[1024] = "";
	size_t n = 0;
	if (C->nseeds)
		crawl_origin(C->seeds[0], origin, sizeof(origin));
	fprintf(f,
	        "# detour crawl --suggest-rules: every redirect chain of %s flattened,\n"
	        "# each redirect of a chain straight to the end of the chain; and each 404\n"
	        "# under a moved prefix sent to the same path under the new one.\n",
	        origin);
	/* Every redirect of every chain to flatten, sorted by its URL (then by
	 * its chain's URL order, so the first chain that has it decides), and
	 * each URL once. */
	struct cand *v = NULL;
	size_t nv = 0, cap = 0;
	for (size_t ko = 0; ko < C->npages; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		const struct chain *c = p->chain;
		if (!p->checked || !p->in_scope || c->redirects < 2 || c->failed || c->net_error ||
		    c->final_status < 200 || c->final_status >= 300 || !p->final_url)
			continue;
		for (size_t k = 0; k + 1 < c->nh; k++) {
			const struct hop *h = &c->h[k];
			if (!h->followed || h->internal || h->refresh)
				continue;
			if (BASE_GROW(v, cap, nv + 1))
				check_oom();
			v[nv++] = (struct cand){h->url, ko, i, k};
		}
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), cmp_cand);
	for (size_t x = 0; x < nv; x++) {
		if (x && !strcmp(v[x].src, v[x - 1].src))
			continue;
		const struct crawl_page *p = &C->pages[v[x].page];
		const struct chain *c = p->chain;
		const struct hop *h = &c->h[v[x].hop];
		char ho[1024];
		if (!crawl_origin(h->url, ho, sizeof(ho)))
			continue;
		if (strchr(h->url, '?')) {
			fprintf(f, "# %s -> %s: a query in the source (not a rule)\n", h->url,
			        p->final_url);
			continue;
		}
		fprintf(f, "# %s, hop %zu of %d\n", p->url, v[x].hop + 1, c->redirects);
		rule_url(f, h->url, origin);
		fputc(' ', f);
		rule_url(f, p->final_url, ho);
		/* A permanent redirect gets a lifetime, as lint asks: a browser
		 * would keep it without a limit otherwise. */
		fprintf(f, " %d%s\n", h->status,
		        h->status == 301 || h->status == 308 ? " cache=1d" : "");
		n++;
	}
	free(v);
	return n + write_moved_404s(C, f, origin);
}

/* s for a terminal: controls escaped (base/esc.h). */
static void pe(FILE *f, const char *s)
{
	struct bbuf b;
	bbuf_init(&b, 1 << 20);
	esc_term(&b, s, strlen(s));
	if (!bbuf_ok(&b))
		check_oom();
	fputs(bbuf_cstr(&b), f);
	bbuf_free(&b);
}

void crawl_write_text(const struct crawl *C, FILE *f)
{
	int keys[128];
	size_t counts[128];
	size_t n = crawl_status_counts(C, keys, counts, 128);
	fprintf(f, "crawled %zu pages (%zu URLs known, %zu links) in %.1f s", C->pages_fetched,
	        C->npages, C->nlinks, C->seconds);
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%s%zu %s%d", k ? ", " : ": ", counts[k], keys[k] ? "" : "no response ",
		        keys[k]);
	fputc('\n', f);
	for (size_t i = 0; i < C->nf; i++) {
		const struct crawl_finding *x = &C->f[i];
		fprintf(f, "%-7s %s ", x->severity, x->code);
		pe(f, C->pages[x->page].url);
		fputs(": ", f);
		pe(f, x->msg);
		if (x->npages) {
			fputs(" (from ", f);
			pe(f, C->pages[x->pages[0]].url);
			fputs(x->npages > 1 ? " and more)" : ")", f);
		}
		fputc('\n', f);
	}
}
