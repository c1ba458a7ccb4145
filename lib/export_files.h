/* detour export netlify, csv: rules -> a Netlify _redirects file or a
 * Cloudflare bulk-redirect CSV. See docs/import.md ("Export"). */
#ifndef DETOUR_EXPORT_FILES_H
#define DETOUR_EXPORT_FILES_H

#include "detour/rule.h"
#include "export_util.h"

void detour_export_netlify(const struct detour_ruleset *rs, struct detour_export *x);

/* Cloudflare's columns; a host-less rule takes x->host (else a note). CSV
 * has no comments: what is not exported is only in the notes. */
void detour_export_csv(const struct detour_ruleset *rs, struct detour_export *x);

#endif
