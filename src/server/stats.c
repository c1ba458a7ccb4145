/* detour server: the workers' counters, see stats.h. */
#include <stdlib.h>
#include <string.h>

#include "stats.h"

const int stats_statuses[STATUS_SLOTS - 1] = {301, 302, 303, 307, 308, 400, 404, 408, 410,
                                              413, 414, 431, 500, 501, 505, 200, 503};

const uint32_t stats_lat_bounds_us[LAT_BUCKETS - 1] = {
        10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000,
};

static struct rule_hits *hits_of(const struct served *s, unsigned wid, uint32_t index)
{
	if (s == NULL || s->hits == NULL || index >= s->nrules)
		return NULL;
	return &s->hits[(size_t)wid * s->stride + index];
}

void stats_drain(struct wstats *st, const struct served *file, const struct served *api,
                 unsigned wid, uint32_t now)
{
	unsigned n = st->ring_n;

	for (unsigned i = 0; i < n; i++) {
		uint32_t e = st->ring[i];
		struct rule_hits *h = hits_of(e & HIT_API ? api : file, wid, e & ~HIT_API);
		if (h)
			__builtin_prefetch(h, 1);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t e = st->ring[i];
		struct rule_hits *h = hits_of(e & HIT_API ? api : file, wid, e & ~HIT_API);
		if (h == NULL)
			continue;
		atomic_store_explicit(&h->hits,
		                      atomic_load_explicit(&h->hits, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		atomic_store_explicit(&h->last, now, memory_order_relaxed);
	}
	st->ring_n = 0;
}

void stats_latency(struct wstats *st, uint64_t us, unsigned n)
{
	unsigned b = 0;

	while (b < LAT_BUCKETS - 1 && us > stats_lat_bounds_us[b])
		b++;
	stats_add64(&st->lat[b], n);
	stats_add64(&st->lat_sum_us, us * n);
	stats_add64(&st->lat_count, n);
}

void stats_topk_snapshot(struct wstats *st, unsigned gen)
{
	if (gen == st->topk_seen)
		return;
	st->topk_seen = gen;
	memcpy(st->snap_e, st->topk_e, st->topk.n * sizeof(st->topk_e[0]));
	st->snap_n = st->topk.n;
	st->snap_total = st->topk.total;
	/* Release: the admin thread reads snap_* after it sees the ack. */
	atomic_store_explicit(&st->topk_ack, gen, memory_order_release);
}
