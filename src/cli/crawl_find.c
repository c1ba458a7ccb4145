/* detour crawl: findings. Chain findings come from the checker (check_hop.c)
 * unchanged; the crawl adds what only a whole site shows. */
#include <stdlib.h>
#include <string.h>

#include "base/civil.h"
#include "crawl_find.h"
#include "detour/finding.h"

size_t crawl_referrers(const struct crawl *C, size_t i, const size_t **list)
{
	if (i >= C->ref_pages) {
		*list = NULL;
		return 0;
	}
	*list = C->ref_list + C->ref_start[i];
	return C->ref_start[i + 1] - C->ref_start[i];
}

/* Builds the referrer lists: for each page, the distinct in-scope pages
 * with a link to it, in link order. */
static void build_referrers(struct crawl *C)
{
	free(C->ref_start);
	free(C->ref_list);
	C->ref_pages = C->npages;
	size_t *ref_start, *ref_list;
	ref_start = calloc(C->npages + 1, sizeof(size_t));
	ref_list = calloc(C->nlinks + 1, sizeof(size_t));
	size_t *fill = calloc(C->npages + 1, sizeof(size_t));
	if (!ref_start || !ref_list || !fill)
		check_oom();
	for (size_t k = 0; k < C->nlinks; k++)
		ref_start[C->links[k].to + 1]++;
	for (size_t i = 0; i < C->npages; i++)
		ref_start[i + 1] += ref_start[i];
	for (size_t k = 0; k < C->nlinks; k++) {
		const struct crawl_link *l = &C->links[k];
		if (!C->pages[l->from].in_scope)
			continue;
		size_t *v = ref_list + ref_start[l->to];
		size_t n = fill[l->to], j;
		for (j = 0; j < n && v[j] != l->from; j++)
			;
		if (j == n)
			v[fill[l->to]++] = l->from;
	}
	/* Compact: each page's list holds fill[i] entries. */
	size_t w = 0;
	for (size_t i = 0; i < C->npages; i++) {
		size_t s = ref_start[i], n = fill[i];
		memmove(ref_list + w, ref_list + s, n * sizeof(size_t));
		ref_start[i] = w;
		w += n;
	}
	ref_start[C->npages] = w;
	free(fill);
	C->ref_start = ref_start;
	C->ref_list = ref_list;
}

static void with_referrers(struct crawl *C, struct crawl_finding *f, size_t page)
{
	const size_t *v;
	size_t n = crawl_referrers(C, page, &v);
	if (!n)
		return;
	f->pages = check_xmalloc(n * sizeof(size_t));
	memcpy(f->pages, v, n * sizeof(size_t));
	f->npages = n;
}

static void with_page(struct crawl_finding *f, size_t page)
{
	f->pages = check_xmalloc(sizeof(size_t));
	f->pages[0] = page;
	f->npages = 1;
}

static bool final_ok(const struct chain *c)
{
	return c->final_status >= 200 && c->final_status < 300 && !c->failed && !c->net_error;
}

/* The check's findings of page i's chain, with the pages linking to it. */
static void chain_findings(struct crawl *C, size_t i)
{
	const struct chain *c = C->pages[i].chain;
	for (size_t k = 0; k < c->nf; k++) {
		enum detour_finding code = c->f[k].code;
		/* final-status: broken-link below says it with the linking pages.
		 * A relative Location is what RFC 9110 allows, and how curl
		 * would differ is a question for detour check, not a site's. */
		if (code == DETOUR_F_FINAL_STATUS || code == DETOUR_F_RELATIVE_LOCATION ||
		    code == DETOUR_F_CURL_DIFFERS || code == DETOUR_F_BROWSER_DIFFERS)
			continue;
		/* A loop repeats its hops' findings: each once. */
		bool again = false;
		for (size_t e = 0; e < k && !again; e++)
			again = c->f[e].code == code && !strcmp(c->f[e].msg, c->f[k].msg);
		/* A certificate's finding once for the crawl, not once a page. */
		bool cert = code == DETOUR_F_CERT_EXPIRING || code == DETOUR_F_CERT_NAME ||
		            code == DETOUR_F_CERT_UNVERIFIED;
		for (size_t e = 0; cert && e < C->nf && !again; e++)
			again = !strcmp(C->f[e].code, detour_finding_code(code)) &&
			        !strcmp(C->f[e].msg, c->f[k].msg);
		if (again)
			continue;
		struct crawl_finding *f = crawl_add_finding(
		        C, detour_finding_code(code),
		        detour_severity_name(detour_finding_severity(code)), i, "%s", c->f[k].msg);
		with_referrers(C, f, i);
	}
}

static void page_findings(struct crawl *C, size_t i)
{
	struct crawl_page *p = &C->pages[i];
	const struct chain *c = p->chain;
	const size_t *refs;
	size_t nrefs = crawl_referrers(C, i, &refs);

	chain_findings(C, i);
	if (!c->nh)
		return;
	if (!c->redirects && !c->net_error && c->final_status >= 400) {
		struct crawl_finding *f = crawl_add_finding(
		        C, "broken-link", "error", i, "%d %s, linked from %zu page%s",
		        c->final_status, c->h[c->nh - 1].reason, nrefs, nrefs == 1 ? "" : "s");
		with_referrers(C, f, i);
	}
	/* An internal link to a redirect: one more request, and a page that
	 * ranks under the wrong URL; link to the end of the chain instead. */
	if (c->redirects && final_ok(c) && p->in_scope && nrefs) {
		struct crawl_finding *f = crawl_add_finding(
		        C, "link-to-redirect", "warning", i, "%d redirect%s to %s", c->redirects,
		        c->redirects == 1 ? "" : "s", p->final_url);
		f->target = check_strdup(p->final_url);
		with_referrers(C, f, i);
	}
}

/* The end of a redirect chain that no page links to and no seed or sitemap
 * names (so it was never requested on its own): only reachable through
 * redirects. */
static void unrequested_finals(struct crawl *C)
{
	for (size_t ko = 0; ko < C->npages; ko++) {
		size_t i = C->order[ko];
		const struct crawl_page *p = &C->pages[i];
		if (!p->checked || !p->chain->redirects || p->final == i)
			continue;
		struct crawl_page *fp = &C->pages[p->final];
		if (fp->checked || fp->linked || fp->seed || fp->in_sitemap || !fp->in_scope ||
		    !final_ok(p->chain))
			continue;
		/* Once per final page (from the first chain in URL order). */
		if (fp->redirect_only)
			continue;
		fp->redirect_only = true;
		crawl_add_finding(C, "redirect-only", "info", p->final,
		                  "reached only through redirects (from %s)", p->url);
	}
}

static void link_findings(struct crawl *C)
{
	for (size_t k = 0; k < C->nlinks; k++) {
		const struct crawl_link *l = &C->links[k];
		const struct crawl_page *from = &C->pages[l->from], *to = &C->pages[l->to];
		if (!from->in_scope)
			continue;
		if (l->kind == DETOUR_LINK_CANONICAL && to->checked &&
		    (to->chain->redirects || !final_ok(to->chain))) {
			struct crawl_finding *f;
			if (to->chain->redirects)
				f = crawl_add_finding(C, "canonical-redirect", "error", l->to,
				                      "the canonical URL redirects to %s",
				                      to->final_url ? to->final_url : "?");
			else
				f = crawl_add_finding(C, "canonical-redirect", "error", l->to,
				                      "the canonical URL answers %d",
				                      to->chain->final_status);
			if (to->final_url && to->chain->redirects)
				f->target = check_strdup(to->final_url);
			with_page(f, l->from);
		}
		if (!strncmp(from->url, "https:", 6) && !strncmp(to->url, "http:", 5)) {
			struct crawl_finding *f = crawl_add_finding(
			        C, "mixed-content", "warning", l->to,
			        "an http %s link on an https page", detour_link_kind_name(l->kind));
			with_page(f, l->from);
		}
	}
}

/* --history: a temporary redirect (the first response of a URL in scope)
 * with the same status and target as in the crawls before: a permanent
 * redirect in disguise, a candidate for 301 or 308 (RFC 9110 §15.4). */
static void history_findings(struct crawl *C, struct crawl_history *hist, int64_t now)
{
	for (size_t i = 0; i < C->npages; i++) {
		const struct crawl_page *p = &C->pages[i];
		if (!p->checked || !p->in_scope || !p->chain->nh || p->chain->failed ||
		    p->chain->net_error)
			continue; /* a loop is no candidate */
		const struct chain *c = p->chain;
		size_t k = 0;
		while (k + 1 < c->nh && c->h[k].internal)
			k++;
		const struct hop *h = &c->h[k];
		if (!(h->status == 302 || h->status == 303 || h->status == 307) || !h->followed ||
		    !h->loc_resolved)
			continue;
		int64_t since;
		unsigned n =
		        crawl_history_note(hist, p->url, h->status, h->loc_resolved, now, &since);
		if (n < 2)
			continue;
		char ts[CIVIL_RFC3339_MAX];
		civil_format_rfc3339(since, ts);
		struct crawl_finding *f = crawl_add_finding(
		        C, "temporary-stable", "info", i,
		        "%d to %s in each of the last %u crawls (since %s): if it is for good, "
		        "make it a %d",
		        h->status, h->loc_resolved, n, ts, h->status == 307 ? 308 : 301);
		f->target = check_strdup(h->loc_resolved);
		with_referrers(C, f, i);
	}
}

static int sev_rank(const char *s)
{
	return !strcmp(s, "error") ? 0 : !strcmp(s, "warning") ? 1 : 2;
}

static const struct crawl *sort_crawl;

static int cmp_finding(const void *a, const void *b)
{
	const struct crawl_finding *x = a, *y = b;
	int d = sev_rank(x->severity) - sev_rank(y->severity);
	if (d)
		return d;
	if ((d = strcmp(x->code, y->code)))
		return d;
	if ((d = strcmp(sort_crawl->pages[x->page].url, sort_crawl->pages[y->page].url)))
		return d;
	size_t px = x->npages ? x->pages[0] : 0, py = y->npages ? y->pages[0] : 0;
	return strcmp(sort_crawl->pages[px].url, sort_crawl->pages[py].url);
}

static int cmp_page(const void *a, const void *b)
{
	return strcmp(sort_crawl->pages[*(const size_t *)a].url,
	              sort_crawl->pages[*(const size_t *)b].url);
}

void crawl_find(struct crawl *C, struct crawl_history *hist, int64_t now)
{
	sort_crawl = C;
	free(C->order);
	C->order = check_xmalloc((C->npages + 1) * sizeof(size_t));
	for (size_t i = 0; i < C->npages; i++)
		C->order[i] = i;
	if (C->npages > 1)
		qsort(C->order, C->npages, sizeof(size_t), cmp_page);
	build_referrers(C);
	for (size_t i = 0; i < C->npages; i++)
		if (C->pages[i].checked)
			page_findings(C, i);
	unrequested_finals(C);
	link_findings(C);
	if (hist)
		history_findings(C, hist, now);
	/* The same report whatever order the responses came in: each
	 * finding's pages by URL, the findings by severity, code, URL. */
	sort_crawl = C;
	for (size_t i = 0; i < C->nf; i++)
		if (C->f[i].npages > 1)
			qsort(C->f[i].pages, C->f[i].npages, sizeof(size_t), cmp_page);
	if (C->nf > 1)
		qsort(C->f, C->nf, sizeof(*C->f), cmp_finding);
}
