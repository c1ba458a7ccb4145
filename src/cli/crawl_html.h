/* detour crawl: the HTML report. */
#ifndef DETOUR_CLI_CRAWL_HTML_H
#define DETOUR_CLI_CRAWL_HTML_H

#include <stdio.h>

#include "crawl_util.h"

/* Writes the report to f: one self-contained HTML document (no external
 * asset, no script): the summary, the findings by severity with the pages
 * they affect, every redirect chain hop by hop, and the redirect graph as
 * inline SVG drawn by Graphviz's dot (run through a pipe; without dot the
 * report says so instead). Returns 0, or -1 on a write error. */
int crawl_write_html(const struct crawl *C, FILE *f);

#endif
