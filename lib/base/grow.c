/* detour base: growing dynamic arrays (see grow.h). */
#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int base_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	void *p, *np;
	size_t nc;

	if (need <= *cap)
		return 0;
	if (elem == 0 || need > SIZE_MAX / elem)
		return -1;
	nc = *cap < 8 ? 8 : *cap;
	while (nc < need)
		nc = nc > SIZE_MAX / 2 ? need : nc * 2;
	if (nc > SIZE_MAX / elem)
		nc = need;
	memcpy(&p, pp, sizeof(p));
	np = realloc(p, nc * elem);
	if (np == NULL)
		return -1;
	memcpy(pp, &np, sizeof(np));
	*cap = nc;
	return 0;
}
