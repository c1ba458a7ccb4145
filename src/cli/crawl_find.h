/* detour crawl: the findings of a finished crawl. */
#ifndef DETOUR_CLI_CRAWL_FIND_H
#define DETOUR_CLI_CRAWL_FIND_H

#include "crawl_util.h"

/* Fills C->f from the checked pages and the links, sorted by severity
 * (errors first), code and URL: every check finding of every chain (but
 * final-status, which broken-link says with the linking pages), and
 * link-to-redirect, broken-link, canonical-redirect, mixed-content and
 * redirect-only (docs/crawl.md). */
void crawl_find(struct crawl *C);

/* The pages in scope that link to page i: their number, and the list
 * (borrowed from C, valid until the next crawl_find). */
size_t crawl_referrers(const struct crawl *C, size_t i, const size_t **list);

#endif
