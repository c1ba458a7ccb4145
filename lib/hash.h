/* detour (private to lib/): the hash functions of the rule engine.
 *
 * FNV-1a (64-bit) is used for splat prefixes because it is incremental: one
 * pass over a request path yields the hash of every prefix that ends at a
 * '/', which is what the splat lookup probes. Whole paths (exact rules) use
 * detour_hash_bytes(), which takes 8 bytes a step. Either way every key is
 * passed through a 64-bit finaliser (the murmur3 fmix64 constants) together
 * with the other parts of the key before it picks a slot. */
#ifndef DETOUR_HASH_H
#define DETOUR_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DETOUR_FNV_INIT  UINT64_C(0xcbf29ce484222325)
#define DETOUR_FNV_PRIME UINT64_C(0x100000001b3)

static inline uint64_t detour_fnv_step(uint64_t h, unsigned char c)
{
	return (h ^ c) * DETOUR_FNV_PRIME;
}

static inline uint64_t detour_fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = detour_fnv_step(h, (unsigned char)s[i]);
	return h;
}

/* A whole-string hash, 8 bytes a step (FNV takes one): the exact-path
 * lookup hashes every request path and does not need prefixes. The last 1
 * to 8 bytes are read as two overlapping 4-byte words (or three bytes for a
 * tail under 4), with the length in the seed, so no byte past s[n - 1] is
 * read. Only the table's low and high bits are used, after detour_mix(). */
static inline uint64_t detour_hash_bytes(const char *s, size_t n)
{
	const uint64_t k = UINT64_C(0xbf58476d1ce4e5b9);
	uint64_t h = UINT64_C(0x243f6a8885a308d3) ^ ((uint64_t)n * UINT64_C(0x9e3779b97f4a7c15));
	uint64_t w;

	while (n > 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * k;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		w = (uint64_t)a << 32 | b;
	} else if (n > 0) {
		w = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n >> 1] << 8 |
		    (unsigned char)s[n - 1];
	} else {
		w = 0;
	}
	h = (h ^ w) * k;
	return h ^ (h >> 31);
}

/* Mixes a, b into a well-distributed 64-bit value. */
static inline uint64_t detour_mix(uint64_t a, uint64_t b)
{
	uint64_t h = a ^ (b * UINT64_C(0x9e3779b97f4a7c15));
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

#endif
