/* libFuzzer target for lib/robots.c. The input is split at its first NUL
 * into a robots.txt and a path. Invariants: a parse never fails (except out
 * of memory), /robots.txt is always allowed, a path the file allows is
 * allowed again (determinism), and an all-allowing file allows the path. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/robots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt = (const char *)data;
	const char *nul = memchr(data, 0, size);
	size_t tl = nul ? (size_t)(nul - txt) : size;
	const char *path = nul ? nul + 1 : "/";
	size_t pl = nul ? size - tl - 1 : 1;

	struct detour_robots *r = detour_robots_parse(txt, tl, "detour");
	if (!r)
		return 0;
	CHECK(detour_robots_allowed(r, "/robots.txt", 11));
	bool a = detour_robots_allowed(r, path, pl);
	CHECK(a == detour_robots_allowed(r, path, pl));
	if (detour_robots_nrules(r) == 0)
		CHECK(a);
	for (size_t i = 0; i < detour_robots_nsitemaps(r); i++)
		CHECK(strlen(detour_robots_sitemap(r, i)) > 0);
	detour_robots_free(r);
	return 0;
}
