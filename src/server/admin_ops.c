/* detour server: the admin endpoints that operate the server rather than
 * change rules (admin_ops.h): /reload, /stats, /audit, /metrics, /healthz. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_fleet.h"
#include "admin_http.h"
#include "admin_ops.h"
#include "base/civil.h"
#include "detour/rulefile.h"
#include "detour/topk.h"
#include "fleet_store.h"
#include "health.h"
#include "metrics.h"
#include "stats.h"
#include "worker.h"

void admin_post_reload(struct ctx *x)
{
	struct server *srv = x->a->srv;
	char err[1024], e2[300];
	char detail[1100] = "ok";
	int rc = x->a->hooks.reload(x->a->hooks.arg, err, sizeof(err));

	if (rc)
		snprintf(detail, sizeof(detail), "failed: %s", err);
	else
		atomic_fetch_add(&x->a->srv->counters.changes[CHG_RELOAD], 1);
	if (state_begin(srv->state, e2, sizeof(e2)) == 0) {
		if (state_audit(srv->state, now_sec(), x->who, "reload", detail, e2, sizeof(e2)))
			state_rollback(srv->state);
		else
			state_commit(srv->state, e2, sizeof(e2));
	}
	if (rc) {
		admin_reply_json(x->c, 422,
		                 json_pack("{s:s, s:s}", "error", err, "result",
		                           "the old configuration and rules keep serving"),
		                 NULL);
		return;
	}
	pthread_mutex_lock(&srv->pub.file_lock);
	size_t nr = atomic_load(&srv->pub.file)->nrules;
	pthread_mutex_unlock(&srv->pub.file_lock);
	admin_reply_json(x->c, 200,
	                 json_pack("{s:s, s:I}", "result", "reloaded", "rules", (json_int_t)nr),
	                 NULL);
}

struct stats_out {
	json_t *arr;
};

static void merge_topk(struct admin *a, struct detour_topk *m);

static void stats_row(void *arg, const char *id, int64_t hits, int64_t last)
{
	struct stats_out *o = arg;

	json_array_append_new(o->arr,
	                      json_pack("{s:s, s:I, s:o}", "id", id, "hits", (json_int_t)hits,
	                                "last_hit", admin_json_time(last)));
}

void admin_flush_stats(struct admin *a)
{
	struct fleet *f = a->srv->fleet;

	if (a->srv->state == NULL)
		return;
	pthread_mutex_lock(&a->srv->pub.file_lock);
	struct served *file = atomic_load(&a->srv->pub.file);
	struct served *api = atomic_load(&a->srv->pub.api);
	if (file->touched || (api && api->touched)) {
		/* The rules counted so far: a new period, and once every worker
		 * has finished the loop iteration it was in (the hits it
		 * answered are counted at its end), the old period's marks. */
		served_next_period(file);
		served_next_period(api);
		publish_sync(&a->srv->pub);
		served_collect(file, false);
		served_collect(api, false);
	}
	if (f)
		fleet_flush_served(f, file);
	else
		state_flush_served(a->srv->state, file);
	pthread_mutex_unlock(&a->srv->pub.file_lock);
	if (api && f)
		fleet_flush_served(f, api);
	else if (api)
		state_flush_served(a->srv->state, api);
	if (f && a->srv->conf.stats) {
		/* The fleet's unmatched paths: each node stores its merged sketch
		 * (it lives three flush windows without a refresh). */
		static struct detour_topk_entry me[TOPK_MERGED];
		struct detour_topk m;
		detour_topk_init(&m, me, TOPK_MERGED);
		merge_topk(a, &m);
		fleet_put_topk(f, &m, 3 * a->srv->conf.stats_flush_ms + 1000);
	}
}

/* Asks every worker for a copy of its unmatched-path sketch and merges
 * them into m (TOPK_MERGED entries). */
static void merge_topk(struct admin *a, struct detour_topk *m)
{
	struct server *srv = a->srv;
	unsigned gen = atomic_fetch_add(&srv->pool.topk_gen, 1) + 1;
	uint64_t until = mono_ms() + 1000;

	for (unsigned i = 0; i < srv->pool.n; i++)
		worker_wake(&srv->pool.w[i]);
	for (unsigned i = 0; i < srv->pool.n; i++) {
		struct wstats *st = srv->pool.w[i].cs.st;
		while (atomic_load_explicit(&st->topk_ack, memory_order_acquire) != gen &&
		       mono_ms() < until) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		if (atomic_load_explicit(&st->topk_ack, memory_order_acquire) != gen)
			continue; /* a stuck worker: leave it out */
		struct detour_topk snap = {.e = st->snap_e,
		                           .cap = TOPK_WORKER,
		                           .n = st->snap_n,
		                           .total = st->snap_total};
		detour_topk_merge(m, &snap);
	}
	detour_topk_sort(m);
}

void admin_get_stats(struct ctx *x)
{
	struct admin *a = x->a;
	bool bad = false;
	int64_t offset = admin_query_int(x->r, "offset", 0, 0, INT64_MAX / 2, &bad);
	int64_t limit = admin_query_int(x->r, "limit", 100, 1, 10000, &bad);
	int64_t top = admin_query_int(x->r, "top", 20, 0, TOPK_MERGED, &bad);
	char since_s[64];
	int64_t since = 0;
	struct stats_out o = {json_array()};
	json_t *res;

	if (admin_query_get(x->r, "unused_since", since_s, sizeof(since_s)) &&
	    civil_parse_rfc3339(since_s, strlen(since_s), &since))
		bad = true;
	if (bad) {
		json_decref(o.arr);
		admin_reply_error(
		        x->c, 400,
		        "query: offset >= 0, limit 1 to 10000, top 0 to 256, unused_since an RFC "
		        "3339 time");
		return;
	}
	if (a->srv->state == NULL) {
		json_decref(o.arr);
		admin_reply_error(x->c, 503, "no state: statistics are not kept");
		return;
	}
	admin_flush_stats(a);
	if (a->srv->fleet) {
		/* The fleet's counters and unmatched paths (?node=: one
		 * node's), this node's just flushed. */
		admin_fleet_get_stats(x, offset, limit, since, top);
		json_decref(o.arr);
		return;
	}
	if (since > 0) {
		/* Rules of the current tables not hit since `since`. */
		int64_t total = 0;
		char id[1024];
		for (size_t i = 0; i < a->nrules; i++) {
			int64_t h = 0, l = 0;
			state_stats_get(a->srv->state, a->rules[i].id, &h, &l);
			if (l >= since)
				continue;
			if (total >= offset && total < offset + limit)
				json_array_append_new(o.arr,
				                      json_pack("{s:s, s:s, s:I, s:o}", "id",
				                                a->rules[i].id, "origin", "api",
				                                "hits", (json_int_t)h, "last_hit",
				                                admin_json_time(l)));
			total++;
		}
		pthread_mutex_lock(&a->srv->pub.file_lock);
		const struct served *s = atomic_load(&a->srv->pub.file);
		for (size_t i = 0; i < s->nrules; i++) {
			int64_t h = 0, l = 0;
			detour_rule_id(s->rules, detour_ruleset_get(s->rules, i), id, sizeof(id));
			state_stats_get(a->srv->state, id, &h, &l);
			if (l >= since)
				continue;
			if (total >= offset && total < offset + limit)
				json_array_append_new(o.arr, json_pack("{s:s, s:s, s:I, s:o}", "id",
				                                       id, "origin", "file", "hits",
				                                       (json_int_t)h, "last_hit",
				                                       admin_json_time(l)));
			total++;
		}
		pthread_mutex_unlock(&a->srv->pub.file_lock);
		admin_reply_json(x->c, 200,
		                 json_pack("{s:o, s:o, s:I}", "unused", o.arr, "since",
		                           admin_json_time(since), "total", (json_int_t)total),
		                 NULL);
		return;
	}
	int64_t total = state_stats_list(a->srv->state, offset, limit, stats_row, &o);
	res = json_pack("{s:o, s:I, s:b}", "rules", o.arr, "total", (json_int_t)total, "enabled",
	                a->srv->conf.stats);
	if (a->srv->conf.stats) {
		static struct detour_topk_entry me[TOPK_MERGED];
		struct detour_topk m;
		detour_topk_init(&m, me, TOPK_MERGED);
		merge_topk(a, &m);
		admin_json_unmatched(res, &m, top);
	}
	admin_reply_json(x->c, 200, res, NULL);
}

struct audit_out {
	json_t *arr;
};

static void audit_row(void *arg, int64_t at, const char *who, const char *action,
                      const char *detail)
{
	struct audit_out *o = arg;

	json_array_append_new(o->arr, json_pack("{s:o, s:s, s:s, s:s}", "at", admin_json_time(at),
	                                        "who", who, "action", action, "detail", detail));
}

void admin_get_audit(struct ctx *x)
{
	bool bad = false;
	int64_t limit = admin_query_int(x->r, "limit", 100, 1, 10000, &bad);
	struct audit_out o = {json_array()};

	if (bad) {
		json_decref(o.arr);
		admin_reply_error(x->c, 400, "query: limit 1 to 10000");
		return;
	}
	state_audit_list(x->a->srv->state, limit, audit_row, &o);
	admin_reply_json(x->c, 200, json_pack("{s:o}", "audit", o.arr), NULL);
}

void admin_get_metrics(struct ctx *x)
{
	size_t len;
	char *m;

	admin_flush_stats(x->a);
	m = metrics_render(x->a->srv, &len);
	if (m == NULL) {
		admin_reply_error(x->c, 500, "out of memory");
		return;
	}
	admin_reply(x->c, 200, "text/plain; version=0.0.4; charset=utf-8", m, len, NULL);
	free(m);
}

void admin_get_healthz(struct ctx *x)
{
	struct admin *a = x->a;
	size_t nf;

	pthread_mutex_lock(&a->srv->pub.file_lock);
	nf = atomic_load(&a->srv->pub.file)->nrules;
	pthread_mutex_unlock(&a->srv->pub.file_lock);
	admin_reply_json(x->c, 200,
	                 json_pack("{s:s, s:s, s:I, s:I, s:b}", "status", "ok", "version",
	                           DETOUR_VERSION, "file_rules", (json_int_t)nf, "api_rules",
	                           (json_int_t)a->nrules, "maintenance",
	                           atomic_load(&a->srv->pub.maint) != NULL),
	                 NULL);
}

static void target_json(void *arg, const struct health_target *t)
{
	json_array_append_new(
	        arg, json_pack("{s:s, s:s, s:s, s:b, s:b, s:o, s:o}", "rule", t->rule, "target",
	                       t->url, "group", t->group, "up", t->up, "probed", t->probed,
	                       "status", t->status ? json_integer(t->status) : json_null(), "error",
	                       t->error ? json_string(t->error) : json_null()));
}

void admin_get_targets(struct ctx *x)
{
	json_t *arr = json_array();

	health_targets(x->a->srv->health, target_json, arr);
	admin_reply_json(x->c, 200, json_pack("{s:o}", "targets", arr), NULL);
}
