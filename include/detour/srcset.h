/* detour: the image candidates of an HTML srcset attribute (WHATWG HTML,
 * "parse a srcset attribute"), for `detour crawl`: the URLs a browser may
 * fetch for <img srcset> and <source srcset>. */
#ifndef DETOUR_SRCSET_H
#define DETOUR_SRCSET_H

#include <stddef.h>

/* Called for each image candidate in attribute order: url[0..len) is a
 * slice of the attribute (borrowed, not NUL-terminated, never empty), not
 * yet resolved against any base. */
typedef void (*detour_srcset_fn)(void *ud, const char *url, size_t len);

/* Parses v[0..len) (borrowed) as a srcset attribute and calls fn for every
 * image candidate the HTML standard keeps: a candidate whose descriptors
 * are invalid ("2q", "0w", "1x 2x", "100h" without a width) is dropped, as
 * a browser drops it. Returns the number of candidates handed to fn. */
size_t detour_srcset_parse(const char *v, size_t len, detour_srcset_fn fn, void *ud);

#endif
