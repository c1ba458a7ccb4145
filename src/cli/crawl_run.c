/* detour crawl: the frontier. Every URL is a chain of check_fetch.c's
 * engine (the checker's Fetch semantics, cookies, HSTS); this file decides
 * which chain runs next: per origin a queue, robots.txt before anything
 * else of the origin (RFC 9309), at most --per-host chains at once and
 * --rate starts a second per origin (or robots.txt's Crawl-delay when
 * longer), breadth first within an origin, origins in turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "check_fetch.h"
#include "crawl_run.h"
#include "detour/robots.h"
#include "detour/sitemap.h"

#define MAX_SITEMAPS 100 /* sitemap files read, indexes included */

struct job {
	enum crawl_job kind;
	size_t page;   /* JOB_PAGE */
	char *url;     /* JOB_ROBOTS, JOB_SITEMAP */
	size_t origin; /* the queue it came from */
	bool quiet;    /* JOB_SITEMAP: a guessed /sitemap.xml (a 404 is fine) */
};

struct origin {
	char *name; /* "https://host:port" */
	struct detour_robots *robots;
	bool robots_started, robots_done;
	struct job **q;
	size_t qh, qn, qcap;
	int active;
	double next_ok; /* monotonic seconds: the next start allowed */
	double gap;     /* seconds between starts */
	bool seed;      /* a seed's origin: /sitemap.xml is tried */
};

struct frontier {
	struct crawl *C;
	struct crawl_opts *o;
	struct origin * or ;
	size_t nor, capor, rr;
	size_t started_pages, nsitemaps;
	char **seed_sites, **seed_prefixes;
	double t0, last_progress;
	int running;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- scope ---------------------------------------------------------- */

/* The key --scope compares: the site or the host of url, or url itself. */
static void scope_key(const struct crawl_opts *o, const char *url, char *out, size_t cap)
{
	size_t hn;
	const char *h = crawl_host(url, &hn);
	out[0] = 0;
	if (!h)
		return;
	if (o->scope == CRAWL_SCOPE_SITE)
		crawl_site(h, hn, out, cap);
	else
		snprintf(out, cap, "%.*s", (int)hn, h);
	for (char *p = out; *p; p++)
		*p = ascii_lower(*p);
}

static bool in_scope(const struct frontier *F, const char *url)
{
	char k[512];
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return false;
	if (F->o->scope == CRAWL_SCOPE_PREFIX) {
		for (size_t i = 0; i < F->C->nseeds; i++)
			if (!strncmp(url, F->seed_prefixes[i], strlen(F->seed_prefixes[i])))
				return true;
		return false;
	}
	scope_key(F->o, url, k, sizeof(k));
	for (size_t i = 0; i < F->C->nseeds; i++)
		if (!strcmp(k, F->seed_sites[i]))
			return true;
	return false;
}

/* ---- origins and queues ---------------------------------------------- */

static size_t origin_of(struct frontier *F, const char *url)
{
	char name[1024];
	if (!crawl_origin(url, name, sizeof(name)))
		snprintf(name, sizeof(name), "%s", "?");
	for (size_t i = 0; i < F->nor; i++)
		if (!strcmp(F->or [i].name, name))
			return i;
	if (BASE_GROW(F->or, F->capor, F->nor + 1))
		check_oom();
	struct origin *o = &F->or [F->nor];
	memset(o, 0, sizeof(*o));
	o->name = check_strdup(name);
	o->gap = F->o->rate > 0 ? 1.0 / F->o->rate : 0;
	if (F->o->no_robots)
		o->robots_started = o->robots_done = true;
	return F->nor++;
}

static void push(struct frontier *F, struct job *j)
{
	struct origin *o = &F->or [j->origin];
	if (o->qh == o->qn) {
		o->qh = o->qn = 0;
	} else if (o->qh > 4096 && o->qh * 2 > o->qn) {
		memmove(o->q, o->q + o->qh, (o->qn - o->qh) * sizeof(*o->q));
		o->qn -= o->qh;
		o->qh = 0;
	}
	if (BASE_GROW(o->q, o->qcap, o->qn + 1))
		check_oom();
	o->q[o->qn++] = j;
}

static struct job *new_job(struct frontier *F, enum crawl_job kind, const char *url, size_t page)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		check_oom();
	j->kind = kind;
	j->page = page;
	j->url = kind == JOB_PAGE ? NULL : check_strdup(url);
	j->origin = origin_of(F, url);
	return j;
}

static void queue_sitemap(struct frontier *F, const char *url, bool quiet)
{
	if (F->o->no_sitemaps || F->nsitemaps >= MAX_SITEMAPS)
		return;
	F->nsitemaps++;
	struct job *j = new_job(F, JOB_SITEMAP, url, 0);
	j->quiet = quiet;
	push(F, j);
}

/* Queues page i when it is to be fetched and is not yet: in scope (or
 * --external and linked from the scope) and not deeper than --max-depth. */
static void consider(struct frontier *F, size_t i, bool from_scope)
{
	struct crawl_page *p = &F->C->pages[i];
	if (p->queued)
		return;
	if (!p->in_scope && !(F->o->external && from_scope))
		return;
	if (p->depth > F->o->max_depth) {
		p->over_limit = true;
		return;
	}
	p->queued = true;
	p->over_limit = false;
	push(F, new_job(F, JOB_PAGE, p->url, i));
}

/* Lowers page i's depth to d, and with it the depth of what was reached
 * through it: the pages its links name (when they were read: +1) and the
 * end of its redirect chain (+0), queueing those that --max-depth kept
 * back. Responses come back in any order, so a page may be reached first
 * by a longer path; carrying a shorter one on makes every depth the
 * shortest path from a seed or sitemap, whatever the timing. */
struct relax {
	size_t page;
	unsigned depth;
	bool link; /* reached by a link (else the page itself, or a redirect's end) */
};

static void lower_depth(struct frontier *F, size_t i, unsigned d)
{
	struct crawl *C = F->C;
	struct relax *w = NULL;
	size_t n = 0, cap = 0, head = 0;

	if (BASE_GROW(w, cap, 1))
		check_oom();
	w[n++] = (struct relax){i, d, false};
	while (head < n) {
		size_t k = w[head].page;
		unsigned dk = w[head].depth;
		bool link = w[head].link;
		head++;
		struct crawl_page *p = &C->pages[k];
		if (dk >= p->depth)
			continue;
		p->depth = dk;
		if (link)
			consider(F, k, true); /* linked from an extracted page: in scope */
		size_t more = (p->extracted ? p->nout : 0) + 1;
		if (BASE_GROW(w, cap, n + more))
			check_oom();
		p = &C->pages[k];
		for (size_t l = 0; p->extracted && l < p->nout; l++)
			w[n++] = (struct relax){C->links[p->link0 + l].to, dk + 1, true};
		if (p->final != k)
			w[n++] = (struct relax){p->final, dk, false};
	}
	free(w);
}

/* A URL the crawl has come across: from page `from` (SIZE_MAX: a seed or a
 * sitemap) by a link of kind, at depth. Queued when it is to be fetched. */
static size_t discover(struct frontier *F, size_t from, const char *url, size_t n, unsigned depth,
                       enum detour_link_kind kind)
{
	struct crawl *C = F->C;
	size_t before = C->npages;
	size_t i = crawl_page_get(C, url, n);
	struct crawl_page *p = &C->pages[i];
	if (i >= before)
		p->in_scope = in_scope(F, p->url);
	if (from != SIZE_MAX) {
		crawl_add_link(C, from, i, kind);
		p->linked = true;
	}
	lower_depth(F, i, depth);
	consider(F, i, from == SIZE_MAX || C->pages[from].in_scope);
	return i;
}

/* ---- the feed -------------------------------------------------------- */

static struct chain *chain_for(struct job *j, const char *url)
{
	struct chain *c = calloc(1, sizeof(*c));
	if (!c)
		check_oom();
	c->url = check_strdup(url);
	c->ud = j;
	return c;
}

/* The path and query of an absolute URL, as robots.txt rules see it. */
static const char *path_of(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p += strcspn(p, "/?#");
	return *p ? p : "/";
}

static struct chain *next(void *ud, int *wait_ms)
{
	struct frontier *F = ud;
	double now = now_s(), wait = -1;

	*wait_ms = 0;
	for (size_t k = 0; k < F->nor; k++) {
		size_t oi = (F->rr + k) % F->nor;
		struct origin *o = &F->or [oi];
		if (!o->robots_started) {
			char url[1100];
			o->robots_started = true;
			snprintf(url, sizeof(url), "%s/robots.txt", o->name);
			struct job *j = new_job(F, JOB_ROBOTS, url, 0);
			o->active++;
			F->running++;
			F->rr = oi + 1;
			return chain_for(j, url);
		}
		if (!o->robots_done || o->qh == o->qn || o->active >= F->o->per_host)
			continue;
		if (now < o->next_ok) {
			if (wait < 0 || o->next_ok - now < wait)
				wait = o->next_ok - now;
			continue;
		}
		while (o->qh < o->qn) {
			struct job *j = o->q[o->qh++];
			const char *url = j->url;
			if (j->kind == JOB_PAGE) {
				struct crawl_page *p = &F->C->pages[j->page];
				url = p->url;
				if (o->robots && !detour_robots_allowed(o->robots, path_of(url),
				                                        strlen(path_of(url)))) {
					p->robots_denied = true;
					free(j);
					continue;
				}
				if (F->started_pages >= F->o->max_pages) {
					p->over_limit = true;
					free(j);
					continue;
				}
				F->started_pages++;
			}
			o->active++;
			o->next_ok = now + o->gap;
			F->running++;
			F->rr = oi + 1;
			struct chain *c = chain_for(j, url);
			if (j->kind == JOB_SITEMAP)
				c->page_cap = DETOUR_SITEMAP_MAX_BYTES; /* not a page's 4 MiB */
			return c;
		}
	}
	if (wait >= 0)
		*wait_ms = (int)(wait * 1000) + 1;
	return NULL;
}

/* ---- what came back -------------------------------------------------- */

static const struct hop *last_hop(const struct chain *c)
{
	return c->nh ? &c->h[c->nh - 1] : NULL;
}

static bool ok2xx(const struct chain *c)
{
	const struct hop *h = last_hop(c);
	return h && h->status >= 200 && h->status < 300 && !c->failed && !c->net_error;
}

static void robots_done(struct frontier *F, struct job *j, struct chain *c)
{
	struct origin *o = &F->or [j->origin];
	const struct hop *h = last_hop(c);
	int st = h ? h->status : 0;
	F->C->robots_fetched++;
	/* RFC 9309 §2.3.1: a 2xx is parsed, a 4xx means "unavailable" (no
	 * restriction), a 5xx or no response "unreachable" (nothing may be
	 * crawled); redirects were followed (at most the check's --max-hops,
	 * more than §2.3.1.2's five). */
	if (ok2xx(c))
		o->robots = detour_robots_parse(c->page ? c->page : "", c->page_len, F->o->agent);
	else if (st >= 400 && st < 500)
		o->robots = detour_robots_new_all(true);
	else {
		o->robots = detour_robots_new_all(false);
		fprintf(stderr,
		        "detour crawl: %s: %s: nothing of %s is crawled (RFC 9309 §2.3.1.4)\n",
		        j->url, st ? "server error" : "no response", o->name);
	}
	if (!o->robots)
		check_oom();
	o->robots_done = true;
	double d = detour_robots_crawl_delay(o->robots);
	if (d > o->gap)
		o->gap = d;
	size_t ns = detour_robots_nsitemaps(o->robots);
	for (size_t i = 0; i < ns; i++)
		queue_sitemap(F, detour_robots_sitemap(o->robots, i), false);
	if (!ns && o->seed && detour_robots_allowed(o->robots, "/sitemap.xml", 12)) {
		char url[1100];
		snprintf(url, sizeof(url), "%s/sitemap.xml", o->name);
		queue_sitemap(F, url, true);
	}
}

static void on_loc(void *ud, bool index, const char *loc, size_t len)
{
	struct frontier *F = ud;
	if (index) {
		queue_sitemap(F, loc, false);
		return;
	}
	/* sitemaps.org: the URLs of a sitemap are on its own host; the scope
	 * decides here. */
	if (!in_scope(F, loc))
		return;
	size_t i = discover(F, SIZE_MAX, loc, len, 0, DETOUR_LINK_A);
	F->C->pages[i].in_sitemap = true;
}

static void sitemap_done(struct frontier *F, struct job *j, struct chain *c)
{
	F->C->sitemaps_fetched++;
	if (!ok2xx(c)) {
		if (!j->quiet)
			fprintf(stderr, "detour crawl: sitemap %s: %s\n", j->url,
			        last_hop(c) && last_hop(c)->status ? "not found" : "no response");
		return;
	}
	if (detour_sitemap_parse(c->page ? c->page : "", c->page_len, on_loc, F) != DETOUR_OK &&
	    !j->quiet)
		fprintf(stderr, "detour crawl: sitemap %s: not a sitemap\n", j->url);
}

struct extract {
	struct frontier *F;
	size_t from;
	unsigned depth;
};

static void on_link(void *ud, enum detour_link_kind kind, const char *url, size_t len)
{
	struct extract *x = ud;
	discover(x->F, x->from, url, len, x->depth + 1, kind);
}

/* The media type's length in type, without parameters. */
static size_t essence(const char *type)
{
	size_t n = strcspn(type, ";");
	while (n && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	return n;
}

static bool is_html(const char *type)
{
	size_t n = essence(type);
	return ascii_eq_ci(type, n, "text/html") || ascii_eq_ci(type, n, "application/xhtml+xml");
}

static void page_done(struct frontier *F, struct job *j, struct chain *c)
{
	struct crawl *C = F->C;
	struct crawl_page *p = &C->pages[j->page];
	const struct hop *h = last_hop(c);

	p->chain = c;
	p->checked = true;
	C->pages_fetched++;
	if (c->net_error || c->failed || !h || h->status >= 400)
		C->errors++;
	if (h && h->url) {
		p->final_url = check_strdup(h->url);
		char *hash = strchr(p->final_url, '#');
		if (hash)
			*hash = 0;
	}
	size_t fi = j->page;
	if (c->redirects > 0 && p->final_url && !c->failed && !c->net_error) {
		/* The end of the chain (not of a loop) is a page of its own,
		 * reached only through this redirect so far. */
		unsigned d = p->depth;
		size_t before = C->npages;
		fi = crawl_page_get(C, p->final_url, strlen(p->final_url));
		p = &C->pages[j->page]; /* the table may have moved */
		struct crawl_page *fp = &C->pages[fi];
		if (fi >= before)
			fp->in_scope = in_scope(F, fp->url);
		fp->via_redirect = true;
		p->final = fi;
		lower_depth(F, fi, d);
		p = &C->pages[j->page];
	}
	struct crawl_page *fp = &C->pages[fi];
	p->html = is_html(c->page_type);
	bool css = ascii_eq_ci(c->page_type, essence(c->page_type), "text/css");
	if (ok2xx(c) && (p->html || css) && fp->in_scope && !fp->extracted && c->page) {
		/* The links of the chain's end (its own depth: the shortest
		 * way there so far), together in C->links. A style sheet's
		 * url()s and @imports (its images, fonts, other sheets)
		 * resolve against the sheet's own URL. */
		fp->extracted = true;
		fp->link0 = C->nlinks;
		struct extract x = {F, fi, fp->depth};
		detour_err e =
		        p->html ? detour_links_extract(c->page, c->page_len, fp->url, on_link, &x)
		                : detour_links_css(c->page, c->page_len, fp->url, on_link, &x);
		if (e != DETOUR_OK)
			check_oom();
		fp = &C->pages[fi]; /* the table may have moved */
		fp->nout = C->nlinks - fp->link0;
	}
	/* What the report does not need: the body and the request lines. */
	free(c->page);
	c->page = NULL;
	for (size_t i = 0; i < c->nh; i++) {
		free(c->h[i].req_headers);
		c->h[i].req_headers = NULL;
	}
}

static void progress(struct frontier *F, bool force)
{
	if (!F->o->progress)
		return;
	double t = now_s();
	if (!force && t - F->last_progress < 0.2)
		return;
	F->last_progress = t;
	size_t queued = 0;
	for (size_t i = 0; i < F->nor; i++)
		queued += F->or [i].qn - F->or [i].qh;
	double dt = t - F->t0;
	fprintf(stderr, "\r\033[Kcrawled %zu pages, %zu queued, %zu errors, %.1f pages/s",
	        F->C->pages_fetched, queued, F->C->errors,
	        dt > 0 ? (double)F->C->pages_fetched / dt : 0.0);
	fflush(stderr);
}

static void done(void *ud, struct chain *c)
{
	struct frontier *F = ud;
	struct job *j = c->ud;
	F->or [j->origin].active--;
	F->running--;
	switch (j->kind) {
	case JOB_ROBOTS:
		robots_done(F, j, c);
		break;
	case JOB_SITEMAP:
		sitemap_done(F, j, c);
		break;
	case JOB_PAGE:
		page_done(F, j, c);
		break;
	}
	if (j->kind != JOB_PAGE) {
		check_chain_free(c);
		free(c->url);
		free(c);
	}
	free(j->url);
	free(j);
}

static void tick(void *ud)
{
	progress(ud, false);
}

/* ---- the run --------------------------------------------------------- */

int crawl_run(struct crawl *C)
{
	struct frontier F;
	memset(&F, 0, sizeof(F));
	F.C = C;
	F.o = C->o;
	F.seed_sites = calloc(C->nseeds + 1, sizeof(char *));
	F.seed_prefixes = calloc(C->nseeds + 1, sizeof(char *));
	if (!F.seed_sites || !F.seed_prefixes)
		check_oom();
	for (size_t i = 0; i < C->nseeds; i++) {
		char k[512];
		scope_key(F.o, C->seeds[i], k, sizeof(k));
		F.seed_sites[i] = check_strdup(k);
		/* --scope prefix: the seed up to the last '/' of its path. */
		const char *s = C->seeds[i];
		size_t n = strcspn(s, "?#");
		while (n && s[n - 1] != '/')
			n--;
		F.seed_prefixes[i] = check_strndup(s, n);
	}
	for (size_t i = 0; i < C->nseeds; i++) {
		size_t pi =
		        discover(&F, SIZE_MAX, C->seeds[i], strlen(C->seeds[i]), 0, DETOUR_LINK_A);
		C->pages[pi].seed = true;
		F.or [origin_of(&F, C->seeds[i])].seed = true;
	}
	F.t0 = now_s();
	struct check_feed feed = {&F, next, done, tick};
	int rc = check_run_feed(&F.o->check, &feed);
	C->seconds = now_s() - F.t0;
	if (F.o->progress) {
		progress(&F, true);
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < F.nor; i++) {
		struct origin *o = &F.or [i];
		for (size_t k = o->qh; k < o->qn; k++) {
			free(o->q[k]->url);
			free(o->q[k]);
		}
		free(o->q);
		free(o->name);
		detour_robots_free(o->robots);
	}
	free(F.or);
	for (size_t i = 0; i < C->nseeds; i++) {
		free(F.seed_sites[i]);
		free(F.seed_prefixes[i]);
	}
	free(F.seed_sites);
	free(F.seed_prefixes);
	return rc;
}
