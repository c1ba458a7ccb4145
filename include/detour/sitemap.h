/* detour: sitemaps (sitemaps.org protocol 0.9) for `detour crawl`: a
 * <urlset>, a <sitemapindex>, or a text file of one URL a line, gzipped or
 * not. The XML is parsed by libxml2, with no network access and no external
 * entities. */
#ifndef DETOUR_SITEMAP_H
#define DETOUR_SITEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/common.h"

/* The protocol's limit on a sitemap's size, uncompressed: 50 MiB. A larger
 * one is cut there (a gzipped one) or refused. */
#define DETOUR_SITEMAP_MAX_BYTES (50u * 1024u * 1024u)

/* Called for each <loc> (or text line) in document order: loc[0..len),
 * NUL-terminated, whitespace trimmed, borrowed for the call (one with a
 * control byte inside is skipped: no URL has one); index is true
 * for the <sitemap> entries of a sitemap index (more sitemaps to read),
 * false for a page. */
typedef void (*detour_sitemap_fn)(void *ud, bool index, const char *loc, size_t len);

/* Parses buf[0..len) (borrowed; gzip when it starts with the gzip magic
 * 1f 8b) and calls fn for each entry. Returns DETOUR_OK, DETOUR_EINVAL when
 * it is neither well-formed XML with a <urlset> or <sitemapindex> root nor
 * text, or the gzip data is corrupt, DETOUR_ETOOBIG over the size limit,
 * DETOUR_ENOMEM. */
detour_err detour_sitemap_parse(const char *buf, size_t len, detour_sitemap_fn fn, void *ud);

#endif
