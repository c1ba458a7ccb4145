/* detour server: publication of snapshots and the generation wait, see
 * publish.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "detour/canon.h"
#include "detour/rulefile.h"
#include "publish.h"

struct served *served_new(struct detour_table *t, enum served_origin origin, unsigned nworkers,
                          bool stats)
{
	struct served *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		detour_table_free(t);
		return NULL;
	}
	s->table = t;
	s->origin = origin;
	s->nworkers = nworkers;
	if (t != NULL) {
		s->rules = detour_table_rules(t);
		s->nrules = detour_ruleset_count(s->rules);
		for (size_t i = 0; i < s->nrules; i++) {
			const struct detour_rule *r = detour_ruleset_get(s->rules, i);
			unsigned k = r->kind;
			if (k < sizeof(s->kinds) / sizeof(s->kinds[0]))
				s->kinds[k]++;
			s->http_rules |= r->scheme == DETOUR_SCHEME_HTTP;
		}
	}
	s->stride = (s->nrules + 7) & ~(size_t)7; /* 8 x 8 bytes: a cache line per row start */
	if (stats && s->nrules > 0) {
		/* calloc of a large size maps zero pages: untouched rules cost
		 * no resident memory. */
		size_t bytes = (size_t)nworkers * s->stride * sizeof(*s->hits);
		s->hits = calloc((size_t)nworkers * s->stride, sizeof(*s->hits));
		s->flushed = calloc(s->nrules, sizeof(*s->flushed));
		s->twords = (s->nrules + 63) / 64;
		s->touched = calloc((size_t)nworkers * 2 * s->twords, sizeof(*s->touched));
		s->pending = calloc(s->twords, sizeof(*s->pending));
		if (s->hits == NULL || s->flushed == NULL || s->touched == NULL ||
		    s->pending == NULL) {
			served_free(s);
			return NULL;
		}
		/* Transparent huge pages, as for the table's arrays: a million
		 * rules hit at random made every counter update a TLB miss (a
		 * two-dimensional page walk under a hypervisor), 13 % of the
		 * worker's time in stats_drain (perf, issue 10). */
		if (bytes >= ((size_t)4 << 20)) {
			uintptr_t a = ((uintptr_t)s->hits + 4095) & ~(uintptr_t)4095;
			uintptr_t e = ((uintptr_t)s->hits + bytes) & ~(uintptr_t)4095;
			if (e > a)
				(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
		}
	}
	return s;
}

void served_free(struct served *s)
{
	if (s == NULL)
		return;
	detour_table_free(s->table);
	free(s->hits);
	free(s->flushed);
	free(s->touched);
	free(s->total);
	free(s->total_last);
	free(s->pending);
	free(s);
}

void served_next_period(struct served *s)
{
	if (s && s->touched)
		atomic_fetch_add(&s->period, 1);
}

/* Adds the marks of one bitmap to pending and clears them. */
static void take(struct served *s, _Atomic uint64_t *bm)
{
	for (size_t i = 0; i < s->twords; i++) {
		uint64_t w = atomic_load_explicit(&bm[i], memory_order_relaxed);
		if (w) {
			s->pending[i] |= w;
			atomic_store_explicit(&bm[i], 0, memory_order_relaxed);
		}
	}
}

void served_collect(struct served *s, bool all)
{
	if (s == NULL || s->touched == NULL)
		return;
	unsigned old = (atomic_load(&s->period) - 1) & 1;
	for (unsigned w = 0; w < s->nworkers; w++) {
		_Atomic uint64_t *bm = s->touched + (size_t)w * 2 * s->twords;
		take(s, bm + old * s->twords);
		if (all)
			take(s, bm + (old ^ 1) * s->twords);
	}
}

uint32_t *served_pending(const struct served *s, size_t *n)
{
	size_t k = 0;
	uint32_t *list;

	*n = 0;
	for (size_t w = 0; w < s->twords; w++)
		*n += (size_t)__builtin_popcountll(s->pending[w]);
	if (*n == 0 || (list = malloc(*n * sizeof(*list))) == NULL)
		return NULL;
	for (size_t w = 0; w < s->twords; w++)
		for (uint64_t m = s->pending[w]; m; m &= m - 1)
			list[k++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
	return list;
}

void served_prefetch(const struct served *s, size_t i)
{
	for (unsigned w = 0; w < s->nworkers; w++)
		__builtin_prefetch(&s->hits[(size_t)w * s->stride + i]);
	__builtin_prefetch(&s->flushed[i]);
	__builtin_prefetch(detour_ruleset_get(s->rules, i));
}

uint32_t served_hits(const struct served *s, size_t i, uint32_t *last)
{
	uint32_t sum = 0;

	*last = 0;
	for (unsigned w = 0; w < s->nworkers; w++) {
		const struct rule_hits *h = &s->hits[(size_t)w * s->stride + i];
		uint32_t l = atomic_load_explicit(&h->last, memory_order_relaxed);
		sum += atomic_load_explicit(&h->hits, memory_order_relaxed);
		if (l > *last)
			*last = l;
	}
	return sum;
}

void settings_free(struct settings *set)
{
	if (set == NULL)
		return;
	detour_canon_free(set->canon);
	free(set);
}

int publish_init(struct publish *p, unsigned nreaders)
{
	p->readers = calloc(nreaders ? nreaders : 1, sizeof(*p->readers));
	if (p->readers == NULL)
		return -1;
	p->nreaders = nreaders;
	for (unsigned i = 0; i < nreaders; i++) {
		atomic_init(&p->readers[i].seen_gen, UINT64_MAX);
		p->readers[i].wake_fd = -1;
	}
	pthread_mutex_init(&p->file_lock, NULL);
	return 0;
}

void publish_fini(struct publish *p)
{
	settings_free(atomic_exchange(&p->set, NULL));
	free(p->readers);
	p->readers = NULL;
	p->nreaders = 0;
	pthread_mutex_destroy(&p->file_lock);
}

void publish_sync(struct publish *p)
{
	uint64_t gen = atomic_fetch_add(&p->gen, 1) + 1;

	for (unsigned i = 0; i < p->nreaders; i++) {
		struct publish_reader *r = &p->readers[i];
		uint64_t one = 1;

		if (atomic_load(&r->seen_gen) >= gen)
			continue;
		if (r->wake_fd >= 0 && write(r->wake_fd, &one, sizeof(one)) < 0) {
			/* The counter is saturated only if the reader is stuck; it
			 * still wakes up within a second. */
		}
		while (atomic_load(&r->seen_gen) < gen) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

void publish_served(struct publish *p, _Atomic(struct served *) *slot, struct served *s)
{
	struct served *old = atomic_exchange(slot, s);

	/* The health prober lets go of the old table and enumerates the new
	 * one before old is freed below (health.h). */
	if (p->swapped)
		p->swapped(p->hook_arg);
	publish_sync(p);
	if (old && p->retired)
		p->retired(p->hook_arg, old);
	served_free(old);
}

struct maint *publish_maint(struct publish *p, struct maint *m)
{
	struct maint *old = atomic_exchange(&p->maint, m);

	publish_sync(p);
	return old;
}

void publish_settings(struct publish *p, struct settings *set)
{
	struct settings *old = atomic_exchange(&p->set, set);

	publish_sync(p);
	settings_free(old);
}

void publish_start(struct publish *p, unsigned reader, int wake_fd)
{
	struct publish_reader *r = &p->readers[reader];

	r->wake_fd = wake_fd;
	atomic_store(&r->seen_gen, atomic_load(&p->gen));
}

void publish_enter(struct publish *p, unsigned reader, struct view *v)
{
	/* Publish the generation before loading the pointers: once a writer
	 * sees our gen >= G, we load snapshots at least as new as generation
	 * G and hold nothing older. */
	atomic_store(&p->readers[reader].seen_gen, atomic_load(&p->gen));
	v->file = atomic_load(&p->file);
	v->api = atomic_load(&p->api);
	v->maint = atomic_load(&p->maint);
	v->set = atomic_load(&p->set);
	v->canon = v->set ? v->set->canon : NULL;
	if (v->canon) {
		v->canon_plain = v->set->canon_plain;
		v->canon_https = v->set->canon_https;
	}
	v->file_period = v->file ? atomic_load(&v->file->period) : 0;
	v->api_period = v->api ? atomic_load(&v->api->period) : 0;
}

void publish_leave(struct publish *p, unsigned reader)
{
	atomic_store(&p->readers[reader].seen_gen, UINT64_MAX);
}
