/* detour crawl: the crawl itself, fed to check_fetch.c's engine. */
#ifndef DETOUR_CLI_CRAWL_RUN_H
#define DETOUR_CLI_CRAWL_RUN_H

#include "crawl_util.h"

/* Crawls from C->seeds with C->o: robots.txt per origin first, sitemaps
 * (from robots.txt, else /sitemap.xml of a seed's origin) as more seeds,
 * then pages breadth first, each checked as `detour check` checks a URL;
 * the links of every HTML page in scope are followed. Fills C's pages and
 * links. Returns 0, or the engine's exit status (2: the HSTS store). */
int crawl_run(struct crawl *C);

#endif
