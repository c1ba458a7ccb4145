/* detour crawl: the leaf every crawl file stands on: the types of a crawl
 * (pages, links, findings, the options) and the URL index. Above it:
 * crawl_run.c (the frontier fed to check_fetch.c's engine: robots.txt,
 * sitemaps, link extraction), crawl_find.c (findings once the crawl is
 * done), crawl_out.c (JSON, CSV, --suggest-rules), crawl_html.c (the HTML
 * report and its Graphviz SVG), and crawl.c (the command line) on top.
 * Private to src/cli; see docs/crawl.md. */
#ifndef DETOUR_CLI_CRAWL_UTIL_H
#define DETOUR_CLI_CRAWL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check_util.h"
#include "detour/links.h"

enum crawl_scope {
	CRAWL_SCOPE_SITE = 0, /* the seeds' registrable domains (public suffix list) */
	CRAWL_SCOPE_HOST,     /* the seeds' hosts (and ports) */
	CRAWL_SCOPE_PREFIX,   /* URLs under a seed's directory */
};

struct crawl_opts {
	struct check_opts check; /* the engine's options (as detour check) */
	enum crawl_scope scope;
	size_t max_pages;
	unsigned max_depth;
	double rate;       /* requests per second per host, 0: no limit */
	int per_host;      /* chains at once per host */
	bool external;     /* also check links that leave the scope */
	bool no_robots;    /* --ignore-robots */
	bool no_sitemaps;  /* --no-sitemaps */
	bool progress;     /* a progress line on stderr */
	const char *agent; /* robots.txt product token */
};

/* What a URL is to the crawl. */
enum crawl_job {
	JOB_PAGE = 0,
	JOB_ROBOTS,
	JOB_SITEMAP,
};

/* One URL the crawl knows (fragment removed): linked, a seed, in a sitemap,
 * or reached at the end of a redirect chain. */
struct crawl_page {
	char *url;
	unsigned depth;
	bool in_scope;
	bool seed, in_sitemap;
	bool linked;        /* some page links here */
	bool via_redirect;  /* the end of another URL's redirect chain */
	bool robots_denied; /* not fetched: robots.txt disallows it */
	bool over_limit;    /* not fetched: --max-pages or --max-depth */
	bool queued, checked, extracted;
	size_t link0, nout;  /* once extracted: its links are links[link0 .. link0 + nout) */
	struct chain *chain; /* the check of this URL once done */
	size_t final;        /* the page its chain ends at (itself when none) */
	char *final_url;     /* the chain's last URL (may be outside the index) */
	bool html;           /* the final response was text/html */
	bool redirect_only;  /* crawl_find: has its redirect-only finding */
};

/* A link: from page index, to page index, of a kind. */
struct crawl_link {
	size_t from, to;
	enum detour_link_kind kind;
};

/* A finding of the crawl. */
struct crawl_finding {
	const char *code;     /* "link-to-redirect", or a check finding's code */
	const char *severity; /* "error", "warning", "info" */
	size_t page;          /* the URL it is about */
	char *msg;
	char *target;  /* the URL to link to instead, or NULL */
	size_t *pages; /* the pages that link to it (or that hold the link) */
	size_t npages;
};

/* The URL index: page index by URL (open addressing, FNV-1a). */
struct crawl_index {
	size_t *slot; /* page index + 1, 0: empty */
	size_t cap;
};

struct crawl {
	struct crawl_opts *o;
	struct crawl_page *pages;
	size_t npages, cappages;
	struct crawl_index idx;
	struct crawl_link *links;
	size_t nlinks, caplinks;
	struct crawl_finding *f;
	size_t nf, capf;
	char **seeds;
	size_t nseeds;
	size_t pages_fetched, errors, robots_fetched, sitemaps_fetched;
	double seconds; /* the crawl's duration */
	/* crawl_find: the in-scope pages linking to each page (CSR), and
	 * every page index in the order of the URLs (outputs list pages in
	 * it, so two crawls of one site write the same files) */
	size_t *ref_start, *ref_list, ref_pages;
	size_t *order;
};

/* The page for url[0..n) (a fragment is cut off), added when new (depth
 * UINT32_MAX until set). Returns its index. check_oom when out of memory. */
size_t crawl_page_get(struct crawl *C, const char *url, size_t n);

/* The page index of url, or SIZE_MAX. */
size_t crawl_page_find(const struct crawl *C, const char *url, size_t n);

/* Adds a link (duplicates of from, to, kind are kept once). */
void crawl_add_link(struct crawl *C, size_t from, size_t to, enum detour_link_kind kind);

/* Adds a finding (message formatted, copied); returns it to fill pages in. */
struct crawl_finding *crawl_add_finding(struct crawl *C, const char *code, const char *severity,
                                        size_t page, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Frees everything C holds (not C->o). */
void crawl_free(struct crawl *C);

/* The origin of an absolute URL ("https://host:port") into out; its length,
 * or 0 when url is not absolute http(s). */
size_t crawl_origin(const char *url, char *out, size_t cap);

/* The site of a host for --scope site: its registrable domain by the public
 * suffix list (libpsl), the host itself for an IP address or a host that is
 * a public suffix. Into out; returns out. */
const char *crawl_site(const char *host, size_t n, char *out, size_t cap);

/* The host of an absolute URL, borrowed from it: *n bytes at the return,
 * NULL when none. */
const char *crawl_host(const char *url, size_t *n);

#endif
