/* detour: heavy hitters in fixed memory (the Space-Saving algorithm of
 * Metwally, Agrawal and El Abbadi, 2005). The server counts the paths that
 * matched no rule with it, so that a user sees which missing pages need a
 * rule, whatever the traffic: memory is cap entries, chosen by the caller.
 *
 * Guarantee: after N additions, every key whose true count is above N / cap
 * is in the summary, and for every entry
 *     count - error <= true count <= count.
 * Keys longer than DETOUR_TOPK_KEY_MAX - 1 bytes are cut to that length (and
 * counted together). No allocation, no globals: the caller owns the entries. */
#ifndef DETOUR_TOPK_H
#define DETOUR_TOPK_H

#include <stddef.h>
#include <stdint.h>

#define DETOUR_TOPK_KEY_MAX 200

struct detour_topk_entry {
	uint64_t hash;
	uint64_t count; /* an over-estimate of the key's count */
	uint64_t error; /* at most this much of count may belong to keys evicted before */
	uint16_t len;
	char key[DETOUR_TOPK_KEY_MAX]; /* NUL-terminated */
};

struct detour_topk {
	struct detour_topk_entry *e; /* borrowed: cap entries */
	unsigned cap, n;
	uint64_t total; /* sum of all counts added */
};

/* Prepares t over caller-owned storage of cap (>= 1) entries. */
void detour_topk_init(struct detour_topk *t, struct detour_topk_entry *entries, unsigned cap);

/* Forgets every key. */
void detour_topk_clear(struct detour_topk *t);

/* Counts key (len bytes, any bytes) count times. When the key is new and the
 * summary is full, it takes the place of the entry with the smallest count,
 * inheriting that count as its error. O(cap). */
void detour_topk_add(struct detour_topk *t, const char *key, size_t len, uint64_t count);

/* Adds every entry of src into dst (counts and errors add up), so that the
 * summaries of several workers merge into one. The guarantee then holds for
 * N = dst->total with dst->cap. */
void detour_topk_merge(struct detour_topk *dst, const struct detour_topk *src);

/* Sorts t's entries by count, largest first (ties by key, so the order is
 * stable across runs). */
void detour_topk_sort(struct detour_topk *t);

#endif
