/* detour: the URLs a style sheet refers to, for `detour crawl`: url()
 * values and @import strings, found by the tokenizer of CSS Syntax Level 3
 * (https://www.w3.org/TR/css-syntax-3/#tokenization), so that comments,
 * strings, escapes and names such as `-url(` or `#url(` are read as a
 * browser reads them. */
#ifndef DETOUR_CSSURL_H
#define DETOUR_CSSURL_H

#include <stddef.h>

/* Called for each URL in source order: url[0..len) is the token's value
 * with its escapes decoded (UTF-8), NUL-terminated, valid only during the
 * call, and not yet resolved against any base. An empty value (url(),
 * url("")) is handed out too: it names the sheet itself. */
typedef void (*detour_cssurl_fn)(void *ud, const char *url, size_t len);

/* Tokenizes css[0..len) (borrowed; a style sheet, the contents of a
 * <style> element or a style attribute) and calls fn for:
 *  - every <url-token> (`url(a.png)`, unquoted),
 *  - every url() function whose argument is a string (`url("a.png")`),
 *  - the string of every `@import "a.css"`.
 * A <bad-url-token> or <bad-string-token> is not a URL and is skipped, as
 * is a value longer than 8 KiB. Returns the number of URLs handed to fn. */
size_t detour_cssurl_parse(const char *css, size_t len, detour_cssurl_fn fn, void *ud);

#endif
