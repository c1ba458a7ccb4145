/* detour server: the fleet's statistics in Redis, see fleet_stats.h and
 * docs/internals/fleet.md. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "detour/rulefile.h"
#include "detour/topk.h"
#include "fleet_stats.h"
#include "fleet_store_int.h"
#include "log.h"
#include "stats.h"

/* Hits: KEYS = fleet hits, fleet last, fleet rank; ARGV = node hits key,
 * node last key, then id, delta, last triples. The rank (a sorted set of
 * the fleet's ids scored -hits: ascending is most hit first, ties by id as
 * strcmp orders them) is what /metrics reads its top rules from. */
static const char stats_lua[] =
        "for i = 3, #ARGV, 3 do "
        " redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) "
        " redis.call('ZINCRBY', KEYS[3], -tonumber(ARGV[i + 1]), ARGV[i]) "
        " redis.call('HINCRBY', ARGV[1], ARGV[i], ARGV[i + 1]) "
        " local l = tonumber(ARGV[i + 2]) "
        " if l > tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') then "
        "  redis.call('HSET', KEYS[2], ARGV[i], l) end "
        " if l > tonumber(redis.call('HGET', ARGV[2], ARGV[i]) or '0') then "
        "  redis.call('HSET', ARGV[2], ARGV[i], l) end "
        "end "
        "return 1";

void fleet_flush_served(struct fleet *f, struct served *s)
{
	char hk[FLEET_KEY_MAX], lk[FLEET_KEY_MAX], e[600];
	const char **argv = NULL;
	size_t *lens = NULL, argc = 0, cap = 0;
	char(*num)[2][24] = NULL;
	char(*ids)[1024] = NULL;
	uint32_t *sums = NULL;
	size_t *idx = NULL, nd = 0;

	if (s == NULL || s->hits == NULL || s->nrules == 0)
		return;
	pthread_mutex_lock(&f->wlock);
	/* Only the rules counted since they were last written (served_collect). */
	struct served_deltas it;
	struct served_delta d;
	if (served_deltas_begin(&it, s))
		goto out; /* out of memory: pending stays for the next flush */
	while (served_next_delta(&it, &d)) {
		if (BASE_GROW(num, cap, nd + 1) || !(ids = realloc(ids, cap * sizeof(*ids))) ||
		    !(sums = realloc(sums, cap * sizeof(*sums))) ||
		    !(idx = realloc(idx, cap * sizeof(*idx)))) {
			served_deltas_end(&it);
			goto out;
		}
		detour_rule_id(s->rules, detour_ruleset_get(s->rules, d.index), ids[nd],
		               sizeof(ids[nd]));
		snprintf(num[nd][0], sizeof(num[nd][0]), "%u", d.delta);
		snprintf(num[nd][1], sizeof(num[nd][1]), "%u", d.last);
		sums[nd] = d.sum;
		idx[nd] = d.index;
		nd++;
	}
	served_deltas_end(&it);
	if (nd == 0) {
		memset(s->pending, 0, s->twords * sizeof(*s->pending));
		goto out;
	}
	argc = 6 + 2 + 3 * nd;
	argv = calloc(argc, sizeof(*argv));
	lens = calloc(argc, sizeof(*lens));
	if (argv == NULL || lens == NULL)
		goto out;
	fleet_key(&f->l, hk, sizeof(hk), "hits", f->l.node);
	fleet_key(&f->l, lk, sizeof(lk), "last", f->l.node);
	argv[0] = "EVAL";
	argv[1] = stats_lua;
	argv[2] = "3";
	argv[3] = f->l.k_hits;
	argv[4] = f->l.k_last;
	argv[5] = f->l.k_rank;
	argv[6] = hk;
	argv[7] = lk;
	for (size_t k = 0; k < nd; k++) {
		argv[8 + 3 * k] = ids[k];
		argv[9 + 3 * k] = num[k][0];
		argv[10 + 3 * k] = num[k][1];
	}
	for (size_t k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	redisContext *c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c == NULL)
		goto out; /* kept for the next flush */
	redisReply *r = redisCommandArgv(c, (int)argc, argv, lens);
	if (r && r->type == REDIS_REPLY_ERROR) {
		/* Not run: counted at the next flush. */
		log_err("fleet: flushing statistics: %.*s", (int)r->len, r->str);
	} else {
		/* Run, or the reply is lost and it may have run: taken as
		 * counted either way, so that nothing is ever counted twice
		 * (a lost flush loses its window, documented). */
		for (size_t k = 0; k < nd; k++)
			s->flushed[idx[k]] = sums[k];
		memset(s->pending, 0, s->twords * sizeof(*s->pending));
		if (r == NULL)
			fleet_wdrop(f);
	}
	freeReplyObject(r);
out:
	pthread_mutex_unlock(&f->wlock);
	free(argv);
	free(lens);
	free(num);
	free(ids);
	free(sums);
	free(idx);
}

static int cmp_stat(const void *a, const void *b)
{
	return strcmp(((const struct fleet_stat *)a)->id, ((const struct fleet_stat *)b)->id);
}

void fleet_stats_free(struct fleet_stat *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].id);
	free(s);
}

int fleet_stats(struct fleet *f, const char *node, struct fleet_stat **out, size_t *n, char *err,
                size_t cap)
{
	char hk[FLEET_KEY_MAX], lk[FLEET_KEY_MAX], e[600];
	redisContext *c;
	redisReply *h = NULL, *l = NULL;
	struct fleet_stat *s = NULL;
	size_t k = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	err[0] = '\0';
	if (node) {
		fleet_key(&f->l, hk, sizeof(hk), "hits", node);
		fleet_key(&f->l, lk, sizeof(lk), "last", node);
	} else {
		snprintf(hk, sizeof(hk), "%s", f->l.k_hits);
		snprintf(lk, sizeof(lk), "%s", f->l.k_last);
	}
	pthread_mutex_lock(&f->wlock);
	c = fleet_wconn_or_unavailable(f, err, cap);
	if (c == NULL) {
		goto out;
	}
	redisAppendCommand(c, "HGETALL %s", hk);
	redisAppendCommand(c, "HGETALL %s", lk);
	if (redisGetReply(c, (void **)&h) != REDIS_OK ||
	    redisGetReply(c, (void **)&l) != REDIS_OK || h->type != REDIS_REPLY_ARRAY ||
	    l->type != REDIS_REPLY_ARRAY) {
		snprintf(err, cap, "state store unavailable: %s",
		         fleet_why(c, h ? l : h, e, sizeof(e)));
		if (c->err)
			fleet_wdrop(f);
		goto out;
	}
	s = calloc(h->elements / 2 + 1, sizeof(*s));
	if (s == NULL)
		goto out;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		s[k].id = strdup(h->element[i]->str);
		s[k].hits = strtoll(h->element[i + 1]->str, NULL, 10);
		if (s[k].id == NULL)
			goto out;
		k++;
	}
	qsort(s, k, sizeof(*s), cmp_stat);
	for (size_t i = 0; i + 1 < l->elements; i += 2) {
		struct fleet_stat key = {.id = l->element[i]->str};
		struct fleet_stat *m = bsearch(&key, s, k, sizeof(*s), cmp_stat);
		if (m)
			m->last = strtoll(l->element[i + 1]->str, NULL, 10);
	}
	*out = s;
	*n = k;
	s = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&f->wlock);
	freeReplyObject(h);
	freeReplyObject(l);
	if (s)
		fleet_stats_free(s, k);
	if (rc && err[0] == '\0')
		snprintf(err, cap, "out of memory");
	return rc;
}

/* The fleet's top rules: KEYS = hits, last, rank; ARGV[1] = how many. The
 * rank is rebuilt from the hits when it does not hold as many ids (a fleet
 * whose counts were written by a detour from before it). Returns id, hits,
 * last triples. */
static const char top_lua[] =
        "if redis.call('ZCARD', KEYS[3]) ~= redis.call('HLEN', KEYS[1]) then "
        " redis.call('DEL', KEYS[3]) "
        " local h = redis.call('HGETALL', KEYS[1]) "
        " for i = 1, #h, 2 do redis.call('ZADD', KEYS[3], -tonumber(h[i + 1]), h[i]) end "
        "end "
        "local top = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[1]) - 1) "
        "local out = {} "
        "for _, id in ipairs(top) do "
        " out[#out + 1] = id "
        " out[#out + 1] = redis.call('HGET', KEYS[1], id) or '0' "
        " out[#out + 1] = redis.call('HGET', KEYS[2], id) or '0' "
        "end "
        "return out";

void fleet_stats_top(struct fleet *f, int64_t limit,
                     void (*fn)(void *arg, const char *id, int64_t hits, int64_t last), void *arg)
{
	char e[600], lim[24];
	redisReply *r = NULL;

	/* Not every hit of the fleet (HGETALL of hundreds of thousands of
	 * ids at every scrape): the first `limit` of the rank. */
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	const char *argv[] = {"EVAL", top_lua, "3", f->l.k_hits, f->l.k_last, f->l.k_rank, lim};
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c) {
		r = redisCommandArgv(c, 7, argv, NULL);
		if (r == NULL)
			fleet_wdrop(f);
	}
	pthread_mutex_unlock(&f->wlock);
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 2 < r->elements; i += 3)
		if (r->element[i]->str && r->element[i + 1]->str && r->element[i + 2]->str)
			fn(arg, r->element[i]->str, strtoll(r->element[i + 1]->str, NULL, 10),
			   strtoll(r->element[i + 2]->str, NULL, 10));
	freeReplyObject(r);
}

static const char topk_lua[] = "redis.call('DEL', KEYS[1]) "
                               "for i = 2, #ARGV, 2 do "
                               " redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) "
                               "end "
                               "redis.call('PEXPIRE', KEYS[1], ARGV[1]) "
                               "return 1";

void fleet_put_topk(struct fleet *f, const struct detour_topk *m, unsigned ttl_ms)
{
	size_t argc = 5 + 2 + 2 * (size_t)m->n, k = 0;
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *lens = calloc(argc, sizeof(*lens));
	char(*num)[48] = calloc((size_t)m->n + 2, sizeof(*num));
	char key[FLEET_KEY_MAX], e[600];

	if (argv == NULL || lens == NULL || num == NULL)
		goto out;
	fleet_key(&f->l, key, sizeof(key), "topk", f->l.node);
	argv[k++] = "EVAL";
	argv[k++] = topk_lua;
	argv[k++] = "1";
	argv[k++] = key;
	snprintf(num[0], sizeof(num[0]), "%u", ttl_ms);
	argv[k++] = num[0];
	argv[k++] = "";
	snprintf(num[1], sizeof(num[1]), "%llu 0", (unsigned long long)m->total);
	argv[k++] = num[1];
	for (unsigned i = 0; i < m->n; i++) {
		argv[k++] = m->e[i].key;
		snprintf(num[i + 2], sizeof(num[i + 2]), "%llu %llu",
		         (unsigned long long)m->e[i].count, (unsigned long long)m->e[i].error);
		argv[k++] = num[i + 2];
	}
	for (size_t i = 0; i < k; i++)
		lens[i] = strlen(argv[i]);
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c) {
		redisReply *r = redisCommandArgv(c, (int)k, argv, lens);
		if (r == NULL)
			fleet_wdrop(f);
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
out:
	free(argv);
	free(lens);
	free(num);
}

/* Merges one node's stored sketch into m. */
static void merge_one(redisContext *c, const struct fleet_link *l, const char *node,
                      struct detour_topk *m)
{
	char key[FLEET_KEY_MAX];
	redisReply *r;

	fleet_key(l, key, sizeof(key), "topk", node);
	r = redisCommand(c, "HGETALL %s", key);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
		size_t n = r->elements / 2;
		struct detour_topk_entry *e = calloc(n, sizeof(*e));
		struct detour_topk src = {.e = e, .cap = (unsigned)n};
		for (size_t i = 0; e && i + 1 < r->elements; i += 2) {
			unsigned long long cnt = 0, err = 0;
			const char *k = r->element[i]->str;
			if (sscanf(r->element[i + 1]->str, "%llu %llu", &cnt, &err) != 2)
				continue;
			if (k[0] == '\0') {
				src.total = cnt;
				continue;
			}
			size_t kl = strlen(k);
			if (kl >= sizeof(e[0].key))
				kl = sizeof(e[0].key) - 1;
			memcpy(e[src.n].key, k, kl);
			e[src.n].key[kl] = '\0';
			e[src.n].len = (uint16_t)kl;
			e[src.n].count = cnt;
			e[src.n].error = err;
			src.n++;
		}
		if (e)
			detour_topk_merge(m, &src);
		free(e);
	}
	freeReplyObject(r);
}

int fleet_get_topk(struct fleet *f, const char *node, struct detour_topk *m)
{
	char e[600];
	redisContext *c;
	int rc = -1;

	pthread_mutex_lock(&f->wlock);
	c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c && node) {
		merge_one(c, &f->l, node, m);
		rc = 0;
	} else if (c) {
		redisReply *r = redisCommand(c, "SMEMBERS %s", f->l.k_nodes);
		if (r && r->type == REDIS_REPLY_ARRAY) {
			for (size_t i = 0; i < r->elements; i++)
				merge_one(c, &f->l, r->element[i]->str, m);
			rc = 0;
		}
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
	detour_topk_sort(m);
	return rc;
}

/* Requests: ARGV = node key, then name, delta pairs. */
static const char req_lua[] = "for i = 2, #ARGV, 2 do "
                              " redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) "
                              " redis.call('HINCRBY', ARGV[1], ARGV[i], ARGV[i + 1]) "
                              "end "
                              "return 1";

void fleet_flush_requests(struct fleet *f, const char *const *names, const uint64_t *now,
                          uint64_t *flushed, unsigned n)
{
	const char *argv[5 + 2 * 64];
	char num[64][24], e[600];
	int argc = 5;
	unsigned k;

	if (n > 64)
		n = 64;
	argv[0] = "EVAL";
	argv[1] = req_lua;
	argv[2] = "1";
	argv[3] = f->l.k_req;
	argv[4] = f->l.k_req_node;
	for (k = 0; k < n; k++) {
		if (now[k] == flushed[k])
			continue;
		snprintf(num[k], sizeof(num[k]), "%llu", (unsigned long long)(now[k] - flushed[k]));
		argv[argc++] = names[k];
		argv[argc++] = num[k];
	}
	if (argc == 5)
		return;
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c) {
		redisReply *r = redisCommandArgv(c, argc, argv, NULL);
		if (r && r->type == REDIS_REPLY_ERROR) {
			log_err("fleet: flushing request counts: %.*s", (int)r->len, r->str);
		} else {
			for (k = 0; k < n; k++) /* run, or maybe: counted */
				flushed[k] = now[k];
			if (r == NULL)
				fleet_wdrop(f);
		}
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
}

int fleet_requests(struct fleet *f, const char *node, const char *const *names, uint64_t *out,
                   unsigned n, char *err, size_t cap)
{
	char key[FLEET_KEY_MAX], e[600];
	int rc = -1;

	memset(out, 0, n * sizeof(*out));
	fleet_key_of_node(&f->l, key, sizeof(key), "req", node, f->l.k_req);
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_wconn_or_unavailable(f, err, cap);
	if (c == NULL) {
		goto out;
	}
	redisReply *r = redisCommand(c, "HGETALL %s", key);
	if (r && r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < r->elements; i += 2)
			for (unsigned k = 0; k < n; k++)
				if (!strcmp(r->element[i]->str, names[k]))
					out[k] = strtoull(r->element[i + 1]->str, NULL, 10);
		rc = 0;
	} else {
		snprintf(err, cap, "state store unavailable: %s", fleet_why(c, r, e, sizeof(e)));
		if (r == NULL)
			fleet_wdrop(f);
	}
	freeReplyObject(r);
out:
	pthread_mutex_unlock(&f->wlock);
	return rc;
}
