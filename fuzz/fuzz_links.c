/* libFuzzer target for lib/links.c (with lib/srcset.c and lib/cssurl.c)
 * and lib/sitemap.c. The first byte chooses: 2 modulo 4, the rest is a style
 * sheet at http://fuzz.test/d/s.css, else even, an HTML page at
 * http://fuzz.test/d/p: every link handed out is an absolute http(s) URL
 * without a fragment, CR, LF, space or NUL; odd, the rest is a sitemap
 * (XML, text or gzip): every loc is non-empty and trimmed. The srcset and
 * CSS parsers also run on the raw bytes: every candidate is a non-empty
 * slice of the input, every CSS value NUL-terminated. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/cssurl.h"
#include "detour/links.h"
#include "detour/sitemap.h"
#include "detour/srcset.h"

static void on_link(void *ud, enum detour_link_kind k, const char *url, size_t len)
{
	(void)ud;
	CHECK((unsigned)k < DETOUR_LINK_COUNT);
	CHECK(strlen(url) == len);
	CHECK(!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8));
	CHECK(!strpbrk(url, "#\r\n "));
}

static void on_loc(void *ud, bool index, const char *loc, size_t len)
{
	(void)ud;
	(void)index;
	CHECK(len > 0 && strlen(loc) == len);
	CHECK(loc[0] != ' ' && loc[len - 1] != ' ' && loc[len - 1] != '\n');
}

static const char *in_start, *in_end;

static void on_candidate(void *ud, const char *url, size_t len)
{
	(void)ud;
	CHECK(len > 0 && url >= in_start && url + len <= in_end);
	CHECK(url[0] != ',' && url[len - 1] != ',');
}

static void on_css(void *ud, const char *url, size_t len)
{
	(void)ud;
	CHECK(strlen(url) <= len && url[len] == 0 && len <= 8192);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *p = (const char *)data + 1;
	if (data[0] % 4 == 2) {
		detour_links_css(p, size - 1, "http://fuzz.test/d/s.css", on_link, NULL);
		in_start = p;
		in_end = p + size - 1;
		detour_srcset_parse(p, size - 1, on_candidate, NULL);
		detour_cssurl_parse(p, size - 1, on_css, NULL);
	} else if (data[0] % 2 == 0)
		detour_links_extract(p, size - 1, "http://fuzz.test/d/p", on_link, NULL);
	else
		detour_sitemap_parse(p, size - 1, on_loc, NULL);
	return 0;
}
