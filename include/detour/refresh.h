/* detour: declarative refresh (HTML Living Standard, "shared declarative
 * refresh steps", and the `Refresh` response header that feeds the same
 * steps). Parses a refresh value into a delay and an optional URL, and finds
 * the first <meta http-equiv="refresh"> of an HTML document the way the HTML
 * tokenizer sees it. Nothing here allocates. */
#ifndef DETOUR_REFRESH_H
#define DETOUR_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"

/* A parsed refresh. url is borrowed from the input that was parsed (for
 * detour_refresh_find_meta: from the caller's scratch buffer); url.p == NULL
 * means no URL, i.e. the document refreshes itself. */
struct detour_refresh {
	uint32_t delay; /* seconds, clamped to UINT32_MAX */
	struct detour_slice url;
};

/* Runs the shared declarative refresh steps over v[0..len) (a `Refresh`
 * header value or a meta element's content attribute). Returns DETOUR_OK and
 * fills r, or DETOUR_EINVAL where the steps say "return" (no refresh). The
 * URL is the raw string the steps hand to the URL parser: leading and
 * trailing spaces are not trimmed here (the URL parser does that). */
detour_err detour_refresh_parse(const char *v, size_t len, struct detour_refresh *r);

/* Scans the HTML document html[0..len) for the first meta element whose
 * http-equiv attribute is "refresh" (ASCII case-insensitive) and whose
 * content attribute parses with detour_refresh_parse (the HTML standard
 * ignores one that does not, and a later one may still apply). Comments,
 * the raw text of script, style, textarea, title, xmp, iframe, noembed,
 * noframes, noscript (scripting is on in a browser) and template contents
 * are skipped. The content value is written to scratch with character
 * references decoded (numeric ones and amp, lt, gt, quot, apos, nbsp) and r
 * points into scratch (a content value that does not fit in scratch is
 * skipped like one that does not parse). Returns DETOUR_OK, or DETOUR_EINVAL
 * when the document has no such element. */
detour_err detour_refresh_find_meta(const char *html, size_t len, char *scratch, size_t cap,
                                    struct detour_refresh *r);

#endif
