/* libFuzzer target for lib/links.c and lib/sitemap.c. The first byte
 * chooses: even, the rest is an HTML page at http://fuzz.test/d/p: every
 * link handed out is an absolute http(s) URL without a fragment, CR, LF,
 * space or NUL; odd, the rest is a sitemap (XML, text or gzip): every loc
 * is non-empty and trimmed. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/links.h"
#include "detour/sitemap.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *p = (const char *)data + 1;
	if (data[0] % 2 == 0)
		detour_links_extract(p, size - 1, "http://fuzz.test/d/p", on_link, NULL);
	else
		detour_sitemap_parse(p, size - 1, on_loc, NULL);
	return 0;
}
