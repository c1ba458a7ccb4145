/* detour: packed rule strings (see rulepack.h). */
#include "rulepack.h"

/* The length a[0..an) and b[0..bn) share, at most 255 (one byte). */
static size_t shared(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn, i = 0;

	if (n > 255)
		n = 255;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* eight bytes at a time: the first differing byte is the lowest */
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (size_t)(__builtin_ctzll(x ^ y) >> 3);
	}
#endif
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

size_t rulepack_encode(char *out, const char *hp, size_t hpl, const char *hq, size_t hql,
                       const char *p, size_t pl, const char *q, size_t tl)
{
	size_t sp = shared(hp, hpl, p, pl), st = shared(hq, hql, q, tl), w = 0;

	/* plain: pl + 1 + tl + 1; packed: 1 + pl - sp + 1 + tl - st */
	if (sp + st < RULEPACK_MIN_SAVE)
		return 0;
	out[w++] = (char)sp;
	memmove(out + w, p + sp, pl - sp);
	w += pl - sp;
	out[w++] = (char)st;
	memmove(out + w, q + st, tl - st);
	return w + tl - st;
}

void rulepack_decode(char *out, const char *enc, const char *hp, const char *hq, size_t pl,
                     size_t tl)
{
	rulepack_path(out, enc, hp, pl);
	rulepack_target(out + pl + 1, enc, hq, pl, tl);
}
