/* detour crawl --history FILE: the temporary redirects of earlier crawls,
 * to tell a temporary redirect that never changes (a permanent one in
 * disguise: a candidate for 301 or 308). */
#ifndef DETOUR_CLI_CRAWL_HISTORY_H
#define DETOUR_CLI_CRAWL_HISTORY_H

#include <stdint.h>

#include "crawl_util.h"

struct crawl_history;

/* Reads FILE (JSON, written by crawl_history_save; a file that does not
 * exist yet is an empty history). Returns new memory, or NULL with the
 * error printed (a file that cannot be read or is not such JSON). */
struct crawl_history *crawl_history_load(const char *path);

/* For URL whose first response is the temporary redirect status -> next
 * in this crawl: the number of crawls in a row, this one included, that
 * got the same status and next URL, and *since the time of the first of
 * them (now when this is the first). Records it for the save. */
unsigned crawl_history_note(struct crawl_history *h, const char *url, int status, const char *next,
                            int64_t now, int64_t *since);

/* Writes the temporary redirects noted in this crawl (only those: a URL
 * that no longer redirects temporarily is forgotten) to FILE, through a
 * temporary file renamed over it. Returns 0, or 2 with the error printed. */
int crawl_history_save(const struct crawl_history *h, const char *path);

/* Frees h; NULL is a no-op. */
void crawl_history_free(struct crawl_history *h);

#endif
