/* detour: a ruleset's per-rule facts kept beside the rules (ruleside.h). */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "hash.h"
#include "ruleside.h"

void rside_fini(struct rside *s)
{
	free(s->runs);
	free(s->rhost);
	free(s->hosts);
	free(s->hslots);
	free(s->ids);
	free(s->islots);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ hosts */

static size_t host_pos(const char *name, size_t len, bool wild, size_t mask)
{
	return (size_t)detour_mix(detour_fnv(DETOUR_FNV_INIT, name, len), wild) & mask;
}

/* The slot of (name, len, wild): the one that holds it, or the empty one
 * where it would go. */
static uint32_t *host_slot(const struct rside *s, const char *name, size_t len, bool wild)
{
	for (size_t i = host_pos(name, len, wild, s->hmask);; i = (i + 1) & s->hmask) {
		uint32_t v = s->hslots[i];
		if (v == 0)
			return &s->hslots[i];
		const struct rside_host *h = &s->hosts[v - 1];
		if (h->len == len && h->wild == wild && memcmp(h->name, name, len) == 0)
			return &s->hslots[i];
	}
}

static int host_rehash(struct rside *s, size_t cap)
{
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	free(s->hslots);
	s->hslots = slots;
	s->hmask = cap - 1;
	for (uint32_t h = 0; h < s->nhosts; h++)
		*host_slot(s, s->hosts[h].name, s->hosts[h].len, s->hosts[h].wild) = h + 1;
	return 0;
}

uint32_t rside_host_intern(struct rside *s, const char *name, size_t len, bool wild)
{
	if (len == 0 && !wild)
		return 0;
	if (s->nhosts == 0) { /* host 0 first */
		if (BASE_GROW(s->hosts, s->hosts_cap, 8) != 0 || host_rehash(s, 16) != 0)
			return RSIDE_NONE;
		s->hosts[0] = (struct rside_host){.name = "", .len = 0, .wild = false};
		s->nhosts = 1;
		*host_slot(s, "", 0, false) = 1;
	}
	uint32_t *slot = host_slot(s, name, len, wild);
	if (*slot)
		return *slot - 1;
	if (s->nhosts == UINT32_MAX - 1 || BASE_GROW(s->hosts, s->hosts_cap, (size_t)s->nhosts + 1))
		return RSIDE_NONE;
	if (((size_t)s->nhosts + 1) * 2 > s->hmask + 1) {
		if (host_rehash(s, (s->hmask + 1) * 2) != 0)
			return RSIDE_NONE;
		slot = host_slot(s, name, len, wild);
	}
	s->hosts[s->nhosts] = (struct rside_host){.name = name, .len = (uint32_t)len, .wild = wild};
	*slot = s->nhosts + 1;
	return s->nhosts++;
}

struct rside_host rside_host(const struct rside *s, uint32_t h)
{
	if (h == 0 || h >= s->nhosts)
		return (struct rside_host){.name = "", .len = 0, .wild = false};
	return s->hosts[h];
}

/* -------------------------------------------------------------------- ids */

static uint32_t *id_slot(const struct rside *s, const char *id, size_t len)
{
	size_t i = (size_t)detour_mix(detour_fnv(DETOUR_FNV_INIT, id, len), 0) & s->imask;

	for (;; i = (i + 1) & s->imask) {
		uint32_t v = s->islots[i];
		if (v == 0)
			return &s->islots[i];
		const struct rside_id *x = &s->ids[v - 1];
		if (x->len == len && memcmp(x->s, id, len) == 0)
			return &s->islots[i];
	}
}

uint32_t rside_id_find(const struct rside *s, const char *id, size_t len)
{
	if (s->nids == 0)
		return RSIDE_NONE;
	uint32_t v = *id_slot(s, id, len);
	return v ? s->ids[v - 1].rule : RSIDE_NONE;
}

static int id_add(struct rside *s, uint32_t rule, const char *id, size_t len)
{
	if (BASE_GROW(s->ids, s->ids_cap, s->nids + 1) != 0)
		return -1;
	if ((s->nids + 1) * 2 > (s->islots ? s->imask + 1 : 0)) {
		size_t cap = s->islots ? (s->imask + 1) * 2 : 64;
		uint32_t *slots = calloc(cap, sizeof(*slots));
		if (slots == NULL)
			return -1;
		free(s->islots);
		s->islots = slots;
		s->imask = cap - 1;
		for (size_t k = 0; k < s->nids; k++)
			*id_slot(s, s->ids[k].s, s->ids[k].len) = (uint32_t)k + 1;
	}
	s->ids[s->nids] = (struct rside_id){.rule = rule, .len = (uint32_t)len, .s = id};
	*id_slot(s, id, len) = (uint32_t)++s->nids;
	return 0;
}

const char *rside_id(const struct rside *s, uint32_t i, size_t *len)
{
	size_t lo = 0, hi = s->nids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ids[mid].rule < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nids && s->ids[lo].rule == i) {
		*len = s->ids[lo].len;
		return s->ids[lo].s;
	}
	*len = 0;
	return "";
}

/* ------------------------------------------------------------------ rules */

int rside_add(struct rside *s, unsigned line, unsigned file, uint32_t host, const char *id,
              size_t id_len)
{
	uint32_t i = s->n;

	const struct rside_run *last = s->nruns ? &s->runs[s->nruns - 1] : NULL;
	bool run = last == NULL || last->file != file || line - last->line != i - last->first;

	if (i == UINT32_MAX)
		return -1;
	if (run && BASE_GROW(s->runs, s->runs_cap, s->nruns + 1) != 0)
		return -1;
	if (host != 0 || s->rhost) {
		size_t old = s->rhost ? s->rhost_cap : 0;
		if (BASE_GROW(s->rhost, s->rhost_cap, (size_t)i + 1) != 0)
			return -1;
		if (old == 0)
			memset(s->rhost, 0,
			       (size_t)i * sizeof(*s->rhost)); /* rules before: host 0 */
	}
	if (id && id_add(s, i, id, id_len) != 0)
		return -1;
	/* Nothing fails from here on. */
	if (run)
		s->runs[s->nruns++] = (struct rside_run){.first = i, .line = line, .file = file};
	if (s->rhost)
		s->rhost[i] = host;
	s->n = i + 1;
	return 0;
}

/* The run of rule i (< s->n): the last whose first rule is <= i. */
static const struct rside_run *run_of(const struct rside *s, uint32_t i)
{
	size_t lo = 0, hi = s->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->runs[mid].first <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &s->runs[lo - 1]; /* runs[0].first == 0 */
}

uint32_t rside_line(const struct rside *s, uint32_t i)
{
	if (i >= s->n)
		return 0;
	const struct rside_run *r = run_of(s, i);
	return r->line + (i - r->first);
}

uint32_t rside_file(const struct rside *s, uint32_t i)
{
	return i < s->n ? run_of(s, i)->file : 0;
}

uint32_t rside_host_of(const struct rside *s, uint32_t i)
{
	return s->rhost && i < s->n ? s->rhost[i] : 0;
}
