/* detour base: copying without touching zero pages, see sparse.h. */
#include "base/sparse.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PAGE 4096u

static bool all_zero(const unsigned char *p, size_t n)
{
	/* Word by word where aligned; the few bytes around, one by one. */
	while (n && ((uintptr_t)p & (sizeof(uint64_t) - 1))) {
		if (*p++)
			return false;
		n--;
	}
	for (; n >= sizeof(uint64_t); p += sizeof(uint64_t), n -= sizeof(uint64_t)) {
		uint64_t w;
		memcpy(&w, p, sizeof(w));
		if (w)
			return false;
	}
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* The length of the piece of p[0..n) that ends at p's page end (or at n). */
static size_t piece(const unsigned char *p, size_t n)
{
	size_t k = PAGE - (size_t)((uintptr_t)p & (PAGE - 1));

	return k < n ? k : n;
}

void base_copy_sparse(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n) {
		size_t k = piece(d, n);
		if (!all_zero(s, k))
			memcpy(d, s, k);
		d += k;
		s += k;
		n -= k;
	}
}
