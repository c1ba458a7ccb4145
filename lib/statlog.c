/* detour: per-rule hit deltas as one blob, and their merge (statlog.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "detour/statlog.h"
#include "hash.h"

static void put_le(unsigned char *p, uint32_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le(const unsigned char *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

bool detour_statlog_put(struct bbuf *b, const char *id, size_t idlen, uint32_t delta, uint32_t last)
{
	unsigned char h[DETOUR_STATLOG_HEAD];

	if (idlen == 0 || idlen > DETOUR_STATLOG_ID_MAX || delta == 0)
		return false;
	put_le(h, delta, 4);
	put_le(h + 4, last, 4);
	put_le(h + 8, (uint32_t)idlen, 2);
	bbuf_put(b, h, sizeof(h));
	bbuf_put(b, id, idlen);
	return true;
}

static void put_varint(struct bbuf *b, uint32_t v)
{
	unsigned char t[5];
	unsigned n = 0;

	while (v >= 0x80) {
		t[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (unsigned char)v;
	bbuf_put(b, t, n);
}

/* Reads a varint at *at of p[0..len); -1 when cut short, longer than 5
 * bytes or over 2^32 - 1. */
static int get_varint(const unsigned char *p, size_t len, size_t *at, uint32_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 5; i++) {
		if (*at >= len)
			return -1;
		unsigned char c = p[(*at)++];
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			if (x > UINT32_MAX)
				return -1;
			*v = (uint32_t)x;
			return 0;
		}
	}
	return -1;
}

void detour_statlog_begin(struct detour_statlog_writer *w, struct bbuf *b)
{
	static const unsigned char head[DETOUR_STATLOG_V2_HEAD] = {0, 0, 0, 0, 2};

	w->b = b;
	w->last = 0;
	w->idlen = 0;
	bbuf_put(b, head, sizeof(head));
}

bool detour_statlog_add(struct detour_statlog_writer *w, const char *id, size_t idlen,
                        uint32_t delta, uint32_t last)
{
	size_t shared = 0, max = idlen < w->idlen ? idlen : w->idlen;
	uint32_t d = last - w->last; /* modulo 2^32, zigzag: small either way */

	if (idlen == 0 || idlen > DETOUR_STATLOG_ID_MAX || delta == 0)
		return false;
	/* The shared prefix, eight bytes at a time: ids of one file share
	 * dozens (the file's path). */
	while (shared + 8 <= max) {
		uint64_t x, y;
		memcpy(&x, id + shared, 8);
		memcpy(&y, w->id + shared, 8);
		if (x != y)
			break;
		shared += 8;
	}
	while (shared < max && id[shared] == w->id[shared])
		shared++;
	put_varint(w->b, delta);
	put_varint(w->b, (d << 1) ^ (uint32_t) - (int32_t)(d >> 31));
	put_varint(w->b, (uint32_t)shared);
	put_varint(w->b, (uint32_t)(idlen - shared));
	bbuf_put(w->b, id + shared, idlen - shared);
	memcpy(w->id + shared, id + shared, idlen - shared);
	w->idlen = idlen;
	w->last = last;
	return true;
}

int detour_statlog_next(const void *blob, size_t len, size_t *pos, struct detour_statlog_rec *r)
{
	const unsigned char *p = blob;
	size_t at = *pos;

	if (at >= len)
		return 0;
	if (len - at < DETOUR_STATLOG_HEAD)
		return -1;
	r->delta = get_le(p + at, 4);
	r->last = get_le(p + at + 4, 4);
	r->idlen = get_le(p + at + 8, 2);
	if (r->delta == 0 || r->idlen == 0 || r->idlen > DETOUR_STATLOG_ID_MAX ||
	    len - at - DETOUR_STATLOG_HEAD < r->idlen)
		return -1;
	r->id = (const char *)p + at + DETOUR_STATLOG_HEAD;
	*pos = at + DETOUR_STATLOG_HEAD + r->idlen;
	return 1;
}

void detour_statlog_iter_init(struct detour_statlog_iter *it, const void *blob, size_t len)
{
	memset(it, 0, offsetof(struct detour_statlog_iter, id));
	it->p = blob;
	it->len = len;
	it->version = 1;
	if (len >= 4 && get_le(it->p, 4) == 0) {
		it->version = 2;
		it->pos = DETOUR_STATLOG_V2_HEAD; /* checked by the first next */
	}
}

int detour_statlog_iter_next(struct detour_statlog_iter *it, struct detour_statlog_rec *r)
{
	uint32_t delta, zz, shared, more;
	size_t at = it->pos;

	if (it->version == 1)
		return detour_statlog_next(it->p, it->len, &it->pos, r);
	if (at == DETOUR_STATLOG_V2_HEAD && (it->len < at || it->p[4] != 2)) {
		it->pos = 0;
		return -1;
	}
	if (at >= it->len)
		return 0;
	if (get_varint(it->p, it->len, &at, &delta) || get_varint(it->p, it->len, &at, &zz) ||
	    get_varint(it->p, it->len, &at, &shared) || get_varint(it->p, it->len, &at, &more) ||
	    delta == 0 || shared > it->idlen || more > DETOUR_STATLOG_ID_MAX - shared ||
	    shared + more == 0 || it->len - at < more)
		return -1;
	memcpy(it->id + shared, it->p + at, more);
	it->idlen = shared + more;
	it->last += (zz >> 1) ^ (uint32_t) - (int32_t)(zz & 1);
	it->pos = at + more;
	r->id = it->id;
	r->idlen = it->idlen;
	r->delta = delta;
	r->last = it->last;
	return 1;
}

void detour_statlog_merge_init(struct detour_statlog_merge *m)
{
	memset(m, 0, sizeof(*m));
}

static uint64_t id_hash(const char *id, size_t n)
{
	return detour_mix(detour_hash_bytes(id, n), 0);
}

#define SLOT_TAG UINT64_C(0xffffffff00000000) /* the hash's high half, in a slot */

/* Doubles the slots (or makes the first 1024) and re-inserts every entry. */
static int rehash(struct detour_statlog_merge *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 1024;
	uint64_t *s = calloc(ns, sizeof(*s));

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t h = id_hash(m->e[i].id, m->e[i].idlen);
		size_t j = h & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (h & SLOT_TAG) | ((uint64_t)i + 1);
	}
	free(m->slot);
	m->slot = s;
	m->nslots = ns;
	return 0;
}

/* A copy of id[0..n) NUL-terminated, from blocks of 64 KiB (or more). */
static char *copy_id(struct detour_statlog_merge *m, const char *id, size_t n)
{
	if (m->nblocks == 0 || m->block_cap - m->block_used < n + 1) {
		size_t cap = 65536;
		if (m->nblocks == m->blocks_cap) {
			size_t bc = m->blocks_cap ? m->blocks_cap * 2 : 16;
			char **b = realloc(m->blocks, bc * sizeof(*b));
			if (b == NULL)
				return NULL;
			m->blocks = b;
			m->blocks_cap = bc;
		}
		char *blk = malloc(cap);
		if (blk == NULL)
			return NULL;
		m->blocks[m->nblocks++] = blk;
		m->block_cap = cap;
		m->block_used = 0;
	}
	char *p = m->blocks[m->nblocks - 1] + m->block_used;
	memcpy(p, id, n);
	p[n] = '\0';
	m->block_used += n + 1;
	return p;
}

/* merge_add with the id's hash h already computed. */
static int add_hashed(struct detour_statlog_merge *m, const struct detour_statlog_rec *r,
                      uint64_t h)
{
	if (m->nslots == 0 || (m->n + 1) * 2 > m->nslots) {
		if (rehash(m))
			return -1;
	}
	size_t j = h & (m->nslots - 1);
	for (; m->slot[j]; j = (j + 1) & (m->nslots - 1)) {
		if ((m->slot[j] & SLOT_TAG) != (h & SLOT_TAG))
			continue; /* another id: neither it nor its entry is read */
		struct detour_statlog_sum *e = &m->e[(uint32_t)m->slot[j] - 1];
		if (e->idlen == r->idlen && !memcmp(e->id, r->id, r->idlen)) {
			e->hits += r->delta;
			if (r->last > e->last)
				e->last = r->last;
			return 0;
		}
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct detour_statlog_sum *e = realloc(m->e, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		m->e = e;
		m->cap = cap;
	}
	char *id = copy_id(m, r->id, r->idlen);
	if (id == NULL)
		return -1;
	m->e[m->n] = (struct detour_statlog_sum){id, r->idlen, r->delta, r->last};
	m->slot[j] = (h & SLOT_TAG) | (uint64_t)++m->n;
	return 0;
}

int detour_statlog_merge_add(struct detour_statlog_merge *m, const struct detour_statlog_rec *r)
{
	return add_hashed(m, r, id_hash(r->id, r->idlen));
}

/* Records merged a batch at a time: a fold of a large log is bound by the
 * cache misses of the map (its slot, its entry, the entry's id: three a
 * record, one after the other). For a batch, every record's slot is
 * prefetched, then the entry of the slot that matches its hash, then that
 * entry's id, so the misses of the batch overlap; the adds that follow find
 * them in cache. The prefetches are hints only: the adds probe as always. */
#define MERGE_BATCH 16

int detour_statlog_merge_blob(struct detour_statlog_merge *m, const void *blob, size_t len)
{
	static _Thread_local char ids[MERGE_BATCH][DETOUR_STATLOG_ID_MAX];
	struct detour_statlog_rec b[MERGE_BATCH];
	uint64_t h[MERGE_BATCH];
	uint32_t cand[MERGE_BATCH];
	struct detour_statlog_iter it;
	int rc = 1;

	detour_statlog_iter_init(&it, blob, len);
	while (rc == 1) {
		size_t n = 0;
		while (n < MERGE_BATCH && (rc = detour_statlog_iter_next(&it, &b[n])) == 1) {
			memcpy(ids[n], b[n].id, b[n].idlen); /* the iterator reuses its buffer */
			b[n].id = ids[n];
			n++;
		}
		if (n && (m->nslots == 0 || (m->n + n + 1) * 2 > m->nslots) && rehash(m))
			return -1;
		for (size_t k = 0; k < n; k++) {
			h[k] = id_hash(b[k].id, b[k].idlen);
			__builtin_prefetch(&m->slot[h[k] & (m->nslots - 1)]);
		}
		for (size_t k = 0; k < n; k++) {
			size_t j = h[k] & (m->nslots - 1);
			while (m->slot[j] && (m->slot[j] & SLOT_TAG) != (h[k] & SLOT_TAG))
				j = (j + 1) & (m->nslots - 1);
			cand[k] = (uint32_t)m->slot[j];
			if (cand[k])
				__builtin_prefetch(&m->e[cand[k] - 1]);
		}
		for (size_t k = 0; k < n; k++)
			if (cand[k])
				__builtin_prefetch(m->e[cand[k] - 1].id);
		for (size_t k = 0; k < n; k++)
			if (add_hashed(m, &b[k], h[k]))
				return -1;
	}
	return rc < 0 ? -2 : 0;
}

static int cmp_sum(const void *a, const void *b)
{
	const struct detour_statlog_sum *x = a, *y = b;
	size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
	int c = memcmp(x->id, y->id, n);

	if (c)
		return c;
	return (x->idlen > y->idlen) - (x->idlen < y->idlen);
}

void detour_statlog_merge_sort(struct detour_statlog_merge *m)
{
	if (m->n > 1)
		qsort(m->e, m->n, sizeof(m->e[0]), cmp_sum);
	free(m->slot); /* the order no longer matches the slots */
	m->slot = NULL;
	m->nslots = 0;
}

void detour_statlog_merge_free(struct detour_statlog_merge *m)
{
	for (size_t i = 0; i < m->nblocks; i++)
		free(m->blocks[i]);
	free(m->blocks);
	free(m->e);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
