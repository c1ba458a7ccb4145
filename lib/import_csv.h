/* detour import cloudflare and redirection (CSV): Cloudflare's bulk
 * redirect list CSV and the WordPress Redirection plugin's CSV export. See
 * docs/import.md. */
#ifndef DETOUR_IMPORT_CSV_H
#define DETOUR_IMPORT_CSV_H

#include <stddef.h>

#include "detour/import_out.h"

/* Converts a Cloudflare bulk-redirect CSV (source_url, target_url,
 * status_code, preserve_query_string, include_subdomains,
 * subpath_matching, preserve_path_suffix; a header row optional). */
void detour_import_cloudflare(struct detour_import *im, const char *buf, size_t len);

/* Converts a Redirection CSV export (source, target, regex, code, type,
 * hits, title, status). */
void detour_import_redirection_csv(struct detour_import *im, const char *buf, size_t len);

#endif
