/* detour crawl: the findings of a finished crawl. */
#ifndef DETOUR_CLI_CRAWL_FIND_H
#define DETOUR_CLI_CRAWL_FIND_H

#include <stdint.h>

#include "crawl_history.h"
#include "crawl_util.h"

/* Fills C->f from the checked pages and the links, sorted by severity
 * (errors first), code and URL: every check finding of every chain (but
 * final-status, which broken-link says with the linking pages), and
 * link-to-redirect, broken-link, canonical-redirect, mixed-content and
 * redirect-only (docs/crawl.md); with hist (--history, may be NULL) the
 * temporary redirects are noted in it at time now, and those unchanged
 * since an earlier crawl are temporary-stable. */
void crawl_find(struct crawl *C, struct crawl_history *hist, int64_t now);

/* The pages in scope that link to page i: their number, and the list
 * (borrowed from C, valid until the next crawl_find). */
size_t crawl_referrers(const struct crawl *C, size_t i, const size_t **list);

#endif
