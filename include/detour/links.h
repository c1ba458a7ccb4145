/* detour: the links of an HTML page, for `detour crawl`. The page is
 * parsed by gumbo (an HTML5 parser: the tree a browser builds, not a regex
 * over tags), the document's base URL taken from its first <base href>,
 * and each link resolved as a browser resolves it (detour_location_resolve). */
#ifndef DETOUR_LINKS_H
#define DETOUR_LINKS_H

#include <stddef.h>

#include "detour/common.h"

/* Where a link was found. Stable names: detour_link_kind_name. */
enum detour_link_kind {
	DETOUR_LINK_A = 0,      /* <a href> */
	DETOUR_LINK_AREA,       /* <area href> */
	DETOUR_LINK_CANONICAL,  /* <link rel=canonical href> */
	DETOUR_LINK_ALTERNATE,  /* <link rel=alternate hreflang href> */
	DETOUR_LINK_REFRESH,    /* <meta http-equiv=refresh content="N;url=..."> */
	DETOUR_LINK_IFRAME,     /* <iframe src> */
	DETOUR_LINK_IMG,        /* <img src> */
	DETOUR_LINK_SCRIPT,     /* <script src> */
	DETOUR_LINK_FORM,       /* <form action> (a non-empty one) */
	DETOUR_LINK_SRCSET,     /* each candidate of <img srcset>, <source srcset> */
	DETOUR_LINK_STYLESHEET, /* <link rel=stylesheet href> */
	DETOUR_LINK_CSS,        /* url(), @import: style attributes, <style>, style sheets */
	DETOUR_LINK_COUNT
};

/* "a", "area", "canonical", "alternate", "refresh", "iframe", "img",
 * "script", "form", "srcset", "stylesheet", "css". */
const char *detour_link_kind_name(enum detour_link_kind k);

/* Called for each link in document order: url[0..len) is absolute http or
 * https, NUL-terminated, without its fragment (a fragment names no other
 * resource), and valid only during the call. */
typedef void (*detour_link_fn)(void *ud, enum detour_link_kind kind, const char *url, size_t len);

/* Parses html[0..len) (borrowed) as the document at page_url (absolute,
 * NUL-terminated) and calls fn for every link of the kinds above. Links
 * with another scheme (mailto:, javascript:, data:) or that do not resolve
 * are skipped. The base URL is the first <base href> in the document,
 * resolved against page_url (HTML "document base URL"); it applies to every
 * link, even those before it. Returns DETOUR_OK, or DETOUR_ENOMEM. */
detour_err detour_links_extract(const char *html, size_t len, const char *page_url,
                                detour_link_fn fn, void *ud);

/* Calls fn (kind DETOUR_LINK_CSS) for every url() and @import of the style
 * sheet css[0..len) (borrowed) fetched from sheet_url (absolute,
 * NUL-terminated; its URLs resolve against it: CSS Values 4, "relative
 * URLs"). Returns DETOUR_OK, or DETOUR_ENOMEM. */
detour_err detour_links_css(const char *css, size_t len, const char *sheet_url, detour_link_fn fn,
                            void *ud);

#endif
