/* detour: Space-Saving heavy hitters, see include/detour/topk.h. */
#include <stdlib.h>
#include <string.h>

#include "detour/topk.h"

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

void detour_topk_init(struct detour_topk *t, struct detour_topk_entry *entries, unsigned cap)
{
	t->e = entries;
	t->cap = cap;
	detour_topk_clear(t);
}

void detour_topk_clear(struct detour_topk *t)
{
	t->n = 0;
	t->total = 0;
}

static void add(struct detour_topk *t, const char *key, size_t len, uint64_t count, uint64_t error)
{
	struct detour_topk_entry *e;
	uint64_t h;

	if (len > DETOUR_TOPK_KEY_MAX - 1)
		len = DETOUR_TOPK_KEY_MAX - 1;
	h = fnv1a(key, len);
	t->total += count;
	for (unsigned i = 0; i < t->n; i++) {
		e = &t->e[i];
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
			e->count += count;
			e->error += error;
			return;
		}
	}
	if (t->n < t->cap) {
		e = &t->e[t->n++];
		e->count = count;
		e->error = error;
	} else {
		/* Evict the smallest: the newcomer may have been counted up to
		 * that many times while it was not in the summary. */
		e = &t->e[0];
		for (unsigned i = 1; i < t->n; i++)
			if (t->e[i].count < e->count)
				e = &t->e[i];
		e->error = e->count + error;
		e->count += count;
	}
	e->hash = h;
	e->len = (uint16_t)len;
	memcpy(e->key, key, len);
	e->key[len] = '\0';
}

void detour_topk_add(struct detour_topk *t, const char *key, size_t len, uint64_t count)
{
	if (t->cap == 0 || count == 0)
		return;
	add(t, key, len, count, 0);
}

void detour_topk_merge(struct detour_topk *dst, const struct detour_topk *src)
{
	if (dst->cap == 0)
		return;
	for (unsigned i = 0; i < src->n; i++)
		add(dst, src->e[i].key, src->e[i].len, src->e[i].count, src->e[i].error);
	/* In Space-Saving the counts always sum to the total, so dst->total
	 * has grown by exactly src->total. */
}

static int cmp(const void *a, const void *b)
{
	const struct detour_topk_entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

void detour_topk_sort(struct detour_topk *t)
{
	qsort(t->e, t->n, sizeof(t->e[0]), cmp);
}
