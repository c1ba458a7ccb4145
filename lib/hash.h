/* detour (private to lib/): the hash functions of the rule engine.
 *
 * FNV-1a (64-bit) is used for paths because it is incremental: one pass over
 * a request path yields the hash of every prefix that ends at a '/', which is
 * what the splat lookup probes. FNV's low bits are weak, so every key is
 * passed through a 64-bit finaliser (the murmur3 fmix64 constants) together
 * with the other parts of the key before it picks a slot. */
#ifndef DETOUR_HASH_H
#define DETOUR_HASH_H

#include <stddef.h>
#include <stdint.h>

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
