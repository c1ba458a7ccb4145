/* detour crawl: the page table, the URL index, links and findings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "crawl_util.h"
#include "detour/site.h"
#include "detour/url.h"

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(0x100000001b3);
	return h ^ (h >> 29);
}

static size_t cut_fragment(const char *url, size_t n)
{
	const char *h = memchr(url, '#', n);
	return h ? (size_t)(h - url) : n;
}

size_t crawl_page_find(const struct crawl *C, const char *url, size_t n)
{
	n = cut_fragment(url, n);
	if (!C->idx.cap)
		return SIZE_MAX;
	size_t m = C->idx.cap - 1;
	for (size_t i = hash(url, n) & m;; i = (i + 1) & m) {
		size_t v = C->idx.slot[i];
		if (!v)
			return SIZE_MAX;
		const char *u = C->pages[v - 1].url;
		if (strlen(u) == n && !memcmp(u, url, n))
			return v - 1;
	}
}

static void index_put(struct crawl_index *x, const char *url, size_t n, size_t page)
{
	size_t m = x->cap - 1;
	size_t i = hash(url, n) & m;
	while (x->slot[i])
		i = (i + 1) & m;
	x->slot[i] = page + 1;
}

/* Keeps the index under half full. */
static void index_grow(struct crawl *C)
{
	if (C->idx.cap && (C->npages + 1) * 2 <= C->idx.cap)
		return;
	struct crawl_index nx;
	nx.cap = C->idx.cap ? C->idx.cap * 2 : 1024;
	nx.slot = calloc(nx.cap, sizeof(*nx.slot));
	if (!nx.slot)
		check_oom();
	for (size_t p = 0; p < C->npages; p++)
		index_put(&nx, C->pages[p].url, strlen(C->pages[p].url), p);
	free(C->idx.slot);
	C->idx = nx;
}

size_t crawl_page_get(struct crawl *C, const char *url, size_t n)
{
	n = cut_fragment(url, n);
	size_t i = crawl_page_find(C, url, n);
	if (i != SIZE_MAX)
		return i;
	index_grow(C);
	if (BASE_GROW(C->pages, C->cappages, C->npages + 1))
		check_oom();
	struct crawl_page *p = &C->pages[C->npages];
	memset(p, 0, sizeof(*p));
	p->url = check_strndup(url, n);
	p->depth = UINT32_MAX;
	p->final = C->npages;
	index_put(&C->idx, url, n, C->npages);
	return C->npages++;
}

void crawl_add_link(struct crawl *C, size_t from, size_t to, enum detour_link_kind kind)
{
	/* The links of one page are added together: a duplicate is among the
	 * last ones. */
	for (size_t i = C->nlinks; i-- > 0 && C->links[i].from == from;)
		if (C->links[i].to == to && C->links[i].kind == kind)
			return;
	if (BASE_GROW(C->links, C->caplinks, C->nlinks + 1))
		check_oom();
	C->links[C->nlinks++] = (struct crawl_link){from, to, kind};
}

struct crawl_finding *crawl_add_finding(struct crawl *C, const char *code, const char *severity,
                                        size_t page, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (BASE_GROW(C->f, C->capf, C->nf + 1))
		check_oom();
	struct crawl_finding *f = &C->f[C->nf++];
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->severity = severity;
	f->page = page;
	f->msg = check_strdup(msg);
	return f;
}

void crawl_free(struct crawl *C)
{
	for (size_t i = 0; i < C->npages; i++) {
		struct crawl_page *p = &C->pages[i];
		if (p->chain) {
			check_chain_free(p->chain);
			free(p->chain->url);
			free(p->chain);
		}
		free(p->url);
		free(p->final_url);
	}
	free(C->pages);
	free(C->idx.slot);
	free(C->links);
	for (size_t i = 0; i < C->nf; i++) {
		free(C->f[i].msg);
		free(C->f[i].target);
		free(C->f[i].pages);
	}
	free(C->f);
	free(C->ref_start);
	free(C->ref_list);
	free(C->order);
	memset(C, 0, sizeof(*C));
}

const char *crawl_host(const char *url, size_t *n)
{
	const char *p = strstr(url, "://");
	if (!p)
		return NULL;
	p += 3;
	size_t l = strcspn(p, "/?#");
	const char *at = memchr(p, '@', l);
	if (at) {
		l -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	size_t h = l;
	if (p[0] == '[') {
		const char *rb = memchr(p, ']', l);
		h = rb ? (size_t)(rb + 1 - p) : l;
	} else {
		const char *c = memchr(p, ':', l);
		if (c)
			h = (size_t)(c - p);
	}
	*n = h;
	return p;
}

size_t crawl_origin(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	if (!p || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return 0;
	size_t l = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
	if (l >= cap)
		return 0;
	memcpy(out, url, l);
	out[l] = 0;
	return l;
}

const char *crawl_site(const char *host, size_t n, char *out, size_t cap)
{
	struct detour_slice s = detour_site_of(host, n);
	snprintf(out, cap, "%.*s", (int)s.len, s.p);
	return out;
}
