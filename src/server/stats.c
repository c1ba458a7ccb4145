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

/* The bitmap of period per of worker wid in s (served_collect). The period
 * is the one loaded with s at the top of the iteration (struct view), not
 * the current one: a flusher that moved on after the iteration began takes
 * the old period's bitmap once the worker's next iteration starts, and
 * must find this iteration's marks there. */
static _Atomic uint64_t *touched_of(const struct served *s, unsigned per, unsigned wid)
{
	if (s == NULL || s->touched == NULL)
		return NULL;
	return s->touched + ((size_t)wid * 2 + (per & 1)) * s->twords;
}

void stats_drain(struct wstats *st, const struct view *v, unsigned wid, uint32_t now)
{
	const struct served *file = v->file, *api = v->api;
	_Atomic uint64_t *tf = touched_of(file, v->file_period, wid),
	                 *ta = touched_of(api, v->api_period, wid);
	unsigned n = st->ring_n;

	for (unsigned i = 0; i < n; i++) {
		uint32_t e = st->ring[i];
		struct rule_hits *h = hits_of(e & HIT_API ? api : file, wid, e & ~HIT_API);
		if (h)
			__builtin_prefetch(h, 1);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t e = st->ring[i], index = e & ~HIT_API;
		struct rule_hits *h = hits_of(e & HIT_API ? api : file, wid, index);
		if (h == NULL)
			continue;
		atomic_store_explicit(&h->hits,
		                      atomic_load_explicit(&h->hits, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		atomic_store_explicit(&h->last, now, memory_order_relaxed);
		/* Marked for the flush, which visits only the rules marked:
		 * the bitmap (nrules / 8 bytes) stays in cache where the
		 * counters (8 bytes a rule) do not. Only this worker writes
		 * it in this period; the flusher clears it in the next. */
		_Atomic uint64_t *w = (e & HIT_API ? ta : tf) + index / 64;
		uint64_t bit = (uint64_t)1 << (index % 64),
		         word = atomic_load_explicit(w, memory_order_relaxed);
		if (!(word & bit))
			atomic_store_explicit(w, word | bit, memory_order_relaxed);
	}
	st->ring_n = 0;
}

int served_deltas_begin(struct served_deltas *it, struct served *s)
{
	*it = (struct served_deltas){.s = s};
	it->list = served_pending(s, &it->n);
	return it->list == NULL && it->n ? -1 : 0;
}

bool served_next_delta(struct served_deltas *it, struct served_delta *d)
{
	const struct served *s = it->s;

	while (it->j < it->n) {
		size_t j = it->j++;
		if (j + SERVED_PREFETCH_AHEAD < it->n)
			served_prefetch(s, it->list[j + SERVED_PREFETCH_AHEAD]);
		d->index = it->list[j];
		d->sum = served_hits(s, d->index, &d->last);
		d->delta = d->sum - s->flushed[d->index]; /* modulo 2^32 */
		if (d->delta)
			return true;
	}
	return false;
}

void served_deltas_end(struct served_deltas *it)
{
	free(it->list);
	it->list = NULL;
	it->n = it->j = 0;
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
