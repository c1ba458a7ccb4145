/* detour crawl: the machine-readable outputs and --suggest-rules. */
#ifndef DETOUR_CLI_CRAWL_OUT_H
#define DETOUR_CLI_CRAWL_OUT_H

#include <stdio.h>

#include "crawl_util.h"

/* The crawl as one JSON document (docs/crawl.md, "JSON") on f. Returns 0,
 * or -1 when out of memory or on a write error. */
int crawl_write_json(const struct crawl *C, FILE *f);

/* One CSV row per page fetched (RFC 4180, a header row first). Returns 0 or
 * -1 on a write error. */
int crawl_write_csv(const struct crawl *C, FILE *f);

/* Detour rules that flatten every redirect chain in scope: each hop but
 * the last straight to the chain's end, with that hop's status. Returns the
 * number of rules written. */
size_t crawl_write_rules(const struct crawl *C, FILE *f);

/* A few lines for a terminal: the counts and each finding. */
void crawl_write_text(const struct crawl *C, FILE *f);

/* Counts for the summaries: pages by their first status (0: no response),
 * findings by code. Each returns the number of distinct keys, filling
 * keys[] and counts[] (at most cap, in ascending key order for statuses,
 * severity order for codes). */
size_t crawl_status_counts(const struct crawl *C, int *keys, size_t *counts, size_t cap);
size_t crawl_finding_counts(const struct crawl *C, const char **keys, size_t *counts, size_t cap);

#endif
