/* detour server: the per-rule statistics answered from memory, see
 * state_totals.h and docs/internals/admin.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "detour/rulefile.h"
#include "detour/statlog.h"
#include "hash.h"
#include "log.h"
#include "publish.h"
#include "state_int.h"
#include "state_totals.h"

/* One entry of a ranking: most hits first, then by id (strcmp, as SQLite's
 * BINARY collation orders the stats table's ids). */
struct ranked {
	int64_t hits, last;
	char *id;
};

static bool before(const struct ranked *a, const struct ranked *b)
{
	if (a->hits != b->hits)
		return a->hits > b->hits;
	return strcmp(a->id, b->id) < 0;
}

static int cmp_ranked(const void *a, const void *b)
{
	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/* The cap best entries offered, as a heap whose root is the worst kept. */
struct topn {
	struct ranked *e;
	size_t n, cap;
	bool oom;
};

static void topn_sift(struct topn *t, size_t i)
{
	for (;;) {
		size_t w = i, l = 2 * i + 1, r = l + 1;
		if (l < t->n && before(&t->e[w], &t->e[l]))
			w = l;
		if (r < t->n && before(&t->e[w], &t->e[r]))
			w = r;
		if (w == i)
			return;
		struct ranked x = t->e[i];
		t->e[i] = t->e[w];
		t->e[w] = x;
		i = w;
	}
}

/* Whether an entry of this many hits may enter: checked before its id is
 * written, which costs more than the comparison. */
static bool topn_wants(const struct topn *t, int64_t hits)
{
	return t->cap > 0 && (t->n < t->cap || hits >= t->e[0].hits);
}

static void topn_offer(struct topn *t, int64_t hits, int64_t last, const char *id)
{
	struct ranked c = {hits, last, (char *)id};

	if (t->n == t->cap) {
		if (!before(&c, &t->e[0]))
			return;
		char *dup = strdup(id);
		if (dup == NULL) {
			t->oom = true;
			return;
		}
		free(t->e[0].id);
		t->e[0] = (struct ranked){hits, last, dup};
		topn_sift(t, 0);
		return;
	}
	if (t->e == NULL && (t->e = calloc(t->cap, sizeof(*t->e))) == NULL) {
		t->oom = true;
		return;
	}
	if ((c.id = strdup(id)) == NULL) {
		t->oom = true;
		return;
	}
	/* Up the heap: the new entry climbs while it is worse than its parent. */
	size_t i = t->n++;
	t->e[i] = c;
	while (i > 0 && before(&t->e[(i - 1) / 2], &t->e[i])) {
		struct ranked x = t->e[i];
		t->e[i] = t->e[(i - 1) / 2];
		t->e[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

static void topn_free(struct topn *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].id);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

/* The ids of the current tables, to find the rule of a stats row: open
 * addressing over references (bit 31: the API table; 0 = empty, so a
 * reference is stored plus one) with each id's hash beside it. Built for a
 * load and freed after it: the ids themselves are written again (they are
 * not kept), which is what a probe that meets an equal hash compares. */
#define REF_API 0x80000000u

struct idmap {
	uint32_t *ref, *hash;
	size_t mask;
	const struct served *file, *api;
};

static uint32_t id_hash(const char *id, size_t n)
{
	return (uint32_t)(detour_hash_bytes(id, n) >> 32) | 1u; /* never 0 */
}

static const char *ref_id(const struct idmap *m, uint32_t ref, char *buf, size_t cap)
{
	const struct served *s = ref & REF_API ? m->api : m->file;

	return detour_rule_id(s->rules, detour_ruleset_get(s->rules, ref & ~REF_API), buf, cap);
}

/* The reference of id plus one, or 0 when it is not there (then, when add,
 * stores ref for it). */
static uint32_t idmap_find(struct idmap *m, const char *id, size_t n, bool add, uint32_t ref)
{
	char buf[DETOUR_STATLOG_ID_MAX + 1];
	uint32_t h = id_hash(id, n);

	for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
		if (m->ref[i] == 0) {
			if (add) {
				m->ref[i] = ref + 1;
				m->hash[i] = h;
			}
			return 0;
		}
		if (m->hash[i] == h && !strcmp(ref_id(m, m->ref[i] - 1, buf, sizeof(buf)), id))
			return m->ref[i];
	}
}

static int idmap_build(struct idmap *m, const struct served *file, const struct served *api)
{
	char buf[DETOUR_STATLOG_ID_MAX + 1];
	size_t n = file->nrules + (api ? api->nrules : 0), slots = 16;

	while (slots < 2 * n)
		slots *= 2;
	*m = (struct idmap){.mask = slots - 1, .file = file, .api = api};
	m->ref = calloc(slots, sizeof(*m->ref));
	m->hash = malloc(slots * sizeof(*m->hash));
	if (m->ref == NULL || m->hash == NULL)
		return -1;
	/* The API table first: an id in both (a file rule's id= given to an
	 * API rule too) has its stats row counted once, on the API rule. */
	for (size_t i = 0; api && i < api->nrules; i++) {
		const char *id = ref_id(m, (uint32_t)i | REF_API, buf, sizeof(buf));
		idmap_find(m, id, strlen(id), true, (uint32_t)i | REF_API);
	}
	for (size_t i = 0; i < file->nrules; i++) {
		const char *id = ref_id(m, (uint32_t)i, buf, sizeof(buf));
		idmap_find(m, id, strlen(id), true, (uint32_t)i);
	}
	return 0;
}

static void idmap_free(struct idmap *m)
{
	free(m->ref);
	free(m->hash);
}

/* Whether s's totals are current (a table without rules has none). */
static bool kept(const struct state *st, const struct served *s)
{
	return s == NULL || s->nrules == 0 || (s->total && s->total_epoch == st->epoch);
}

static bool current(const struct state *st, const struct served *file, const struct served *api)
{
	return st->tot_file == file && st->tot_api == api && kept(st, file) && kept(st, api);
}

static int totals_alloc(struct served *s)
{
	if (s == NULL || s->nrules == 0)
		return 0;
	if (s->hits == NULL)
		return -1; /* stats off: nothing is counted, nothing flushed */
	free(s->total);
	free(s->total_last);
	s->total = calloc(s->nrules, sizeof(*s->total));
	s->total_last = calloc(s->nrules, sizeof(*s->total_last));
	return s->total && s->total_last ? 0 : -1;
}

/* Under st->lock: folds the log, reads every stats row into the totals of
 * file and api, keeps the most hit orphans. */
static int load(struct state *st, struct served *file, struct served *api)
{
	struct topn orph = {.cap = STATE_ORPHANS_KEPT};
	struct idmap m = {0};
	sqlite3_stmt *q = NULL;
	int64_t norph = 0, rows = 0;
	int rc = -1;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	st->tot_file = st->tot_api = NULL;
	st->epoch++; /* what was kept is not any more, whatever happens */
	state_fold(st);
	if (st->log_bytes != 0 || totals_alloc(file) || totals_alloc(api) ||
	    idmap_build(&m, file, api) ||
	    sqlite3_prepare_v2(st->db, "SELECT id, hits, last_hit FROM stats", -1, &q, NULL) !=
	            SQLITE_OK)
		goto out;
	int step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		int64_t hits = sqlite3_column_int64(q, 1), last = sqlite3_column_int64(q, 2);
		uint32_t ref = id ? idmap_find(&m, id, n, false, 0) : 0;
		rows++;
		if (ref) {
			struct served *s = (ref - 1) & REF_API ? api : file;
			size_t i = (ref - 1) & ~REF_API;
			s->total[i] = (uint64_t)hits;
			s->total_last[i] = (uint32_t)last;
		} else if (id) {
			norph++;
			if (topn_wants(&orph, hits))
				topn_offer(&orph, hits, last, id);
		}
	}
	if (step != SQLITE_DONE || orph.oom)
		goto out;
	if (orph.n > 1)
		qsort(orph.e, orph.n, sizeof(*orph.e), cmp_ranked);
	for (size_t i = 0; i < st->norph_kept; i++)
		free(st->orph[i].id);
	free(st->orph);
	/* struct ranked and struct state_orphan: the same three fields. */
	st->orph = calloc(orph.n + 1, sizeof(*st->orph));
	if (st->orph == NULL) {
		st->norph_kept = 0;
		goto out;
	}
	for (size_t i = 0; i < orph.n; i++)
		st->orph[i] = (struct state_orphan){orph.e[i].id, orph.e[i].hits, orph.e[i].last};
	st->norph_kept = orph.n;
	st->norph = norph;
	orph.n = 0; /* the ids moved to st->orph */
	st->tot_file = file;
	st->tot_api = api;
	file->total_epoch = st->epoch;
	if (api)
		api->total_epoch = st->epoch;
	rc = 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("stats: %lld totals loaded (%lld of rules no longer served) in %lld ms",
	         (long long)rows, (long long)norph,
	         (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
out:
	sqlite3_finalize(q);
	idmap_free(&m);
	topn_free(&orph);
	return rc;
}

int state_totals_ready(struct state *st, struct served *file, struct served *api)
{
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	if (!current(st, file, api))
		rc = load(st, file, api);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* The index of the kept orphan id, or -1. */
static ssize_t orphan_find(const struct state *st, const char *id)
{
	for (size_t k = 0; k < st->norph_kept; k++)
		if (!strcmp(st->orph[k].id, id))
			return (ssize_t)k;
	return -1;
}

static void orphan_remove(struct state *st, size_t k)
{
	free(st->orph[k].id);
	memmove(&st->orph[k], &st->orph[k + 1], (st->norph_kept - k - 1) * sizeof(*st->orph));
	st->norph_kept--;
	st->norph--;
}

/* Adds an orphan, kept in order while it is among the most hit; -1 when out
 * of memory. */
static int orphan_add(struct state *st, const char *id, int64_t hits, int64_t last)
{
	struct ranked c = {hits, last, (char *)id};
	size_t k = st->norph_kept;

	while (k > 0) {
		struct ranked o = {st->orph[k - 1].hits, 0, st->orph[k - 1].id};
		if (!before(&c, &o))
			break;
		k--;
	}
	st->norph++;
	if (k == STATE_ORPHANS_KEPT)
		return 0; /* counted, not kept */
	char *dup = strdup(id);
	struct state_orphan *o = realloc(st->orph, (st->norph_kept + 1) * sizeof(*o));
	if (dup == NULL || o == NULL) {
		free(dup);
		if (o)
			st->orph = o;
		return -1;
	}
	st->orph = o;
	if (st->norph_kept == STATE_ORPHANS_KEPT)
		free(o[--st->norph_kept].id); /* the least hit kept makes room */
	memmove(&o[k + 1], &o[k], (st->norph_kept - k) * sizeof(*o));
	o[k] = (struct state_orphan){dup, hits, last};
	st->norph_kept++;
	return 0;
}

void state_totals_carry(struct state *st, const struct served *old, struct served *cur,
                        const struct served *file)
{
	char buf[DETOUR_STATLOG_ID_MAX + 1];
	struct idmap m = {0};
	uint8_t *taken = NULL;
	bool ok = false;

	pthread_mutex_lock(&st->lock);
	if (st->tot_api != old || !kept(st, old) || st->tot_file != file || !kept(st, file))
		goto out; /* nothing current to carry: the next read loads */
	if (totals_alloc(cur) || (old->nrules && idmap_build(&m, old, NULL)) ||
	    !(taken = calloc(old->nrules + 1, 1)))
		goto out;
	for (size_t j = 0; cur && j < cur->nrules; j++) {
		const char *id = detour_rule_id(cur->rules, detour_ruleset_get(cur->rules, j), buf,
		                                sizeof(buf));
		uint32_t ref = old->nrules ? idmap_find(&m, id, strlen(id), false, 0) : 0;
		if (ref) {
			cur->total[j] = old->total[ref - 1];
			cur->total_last[j] = old->total_last[ref - 1];
			taken[ref - 1] = 1;
			continue;
		}
		ssize_t k = orphan_find(st, id);
		if (k >= 0) { /* an id counted before, served again */
			cur->total[j] = (uint64_t)st->orph[k].hits;
			cur->total_last[j] = (uint32_t)st->orph[k].last;
			orphan_remove(st, (size_t)k);
		} else if (st->norph > (int64_t)st->norph_kept) {
			goto out; /* maybe an orphan not kept: load */
		}
	}
	for (size_t i = 0; i < old->nrules; i++) {
		if (taken[i] || old->total[i] == 0)
			continue;
		const char *id = detour_rule_id(old->rules, detour_ruleset_get(old->rules, i), buf,
		                                sizeof(buf));
		if (orphan_add(st, id, (int64_t)old->total[i], old->total_last[i]))
			goto out;
	}
	if (cur)
		cur->total_epoch = st->epoch;
	st->tot_api = cur;
	ok = true;
out:
	if (!ok)
		st->epoch++; /* nothing is current (orphans may be half moved): load */
	pthread_mutex_unlock(&st->lock);
	idmap_free(&m);
	free(taken);
}

/* Offers the rules of s with a count to t; returns how many have one. */
static int64_t offer_rules(struct topn *t, const struct served *s)
{
	char buf[DETOUR_STATLOG_ID_MAX + 1];
	int64_t n = 0;

	for (size_t i = 0; s && s->total && i < s->nrules; i++) {
		uint64_t h = s->total[i];
		if (h == 0)
			continue;
		n++;
		if (!topn_wants(t, (int64_t)h))
			continue;
		detour_rule_id(s->rules, detour_ruleset_get(s->rules, i), buf, sizeof(buf));
		topn_offer(t, (int64_t)h, s->total_last[i], buf);
	}
	return n;
}

int64_t state_totals_list(struct state *st, struct served *file, struct served *api, int64_t offset,
                          int64_t limit,
                          void (*fn)(void *arg, const char *id, int64_t hits, int64_t last),
                          void *arg)
{
	if (offset < 0 || limit < 0 || offset > STATE_TOTALS_LIST_MAX ||
	    offset + limit > STATE_TOTALS_LIST_MAX)
		return -1;
	size_t need = (size_t)(offset + limit);
	struct topn t = {.cap = need};
	int64_t total = -1;

	pthread_mutex_lock(&st->lock);
	if (!current(st, file, api) && load(st, file, api))
		goto out;
	if (st->norph > (int64_t)st->norph_kept && need > st->norph_kept)
		goto out; /* orphans past those kept: SQL */
	int64_t ncur = offer_rules(&t, file) + offer_rules(&t, api);
	if (t.oom)
		goto out;
	if (t.n > 1)
		qsort(t.e, t.n, sizeof(*t.e), cmp_ranked);
	/* The rules and the orphans, both in order, merged. */
	size_t i = 0, j = 0;
	for (int64_t k = 0; k < offset + limit; k++) {
		const struct ranked *r;
		struct ranked o = {0};
		if (j < st->norph_kept)
			o = (struct ranked){st->orph[j].hits, st->orph[j].last, st->orph[j].id};
		if (i < t.n && (j == st->norph_kept || before(&t.e[i], &o)))
			r = &t.e[i++];
		else if (j < st->norph_kept)
			r = &o, j++;
		else
			break;
		if (k >= offset)
			fn(arg, r->id, r->hits, r->last);
	}
	total = ncur + st->norph;
out:
	pthread_mutex_unlock(&st->lock);
	topn_free(&t);
	return total;
}

bool state_totals_get(struct state *st, const struct served *s, size_t i, int64_t *hits,
                      int64_t *last)
{
	bool ok = false;

	pthread_mutex_lock(&st->lock);
	if (s && s->total && s->total_epoch == st->epoch && i < s->nrules) {
		*hits = (int64_t)s->total[i];
		*last = s->total_last[i];
		ok = true;
	}
	pthread_mutex_unlock(&st->lock);
	return ok;
}
