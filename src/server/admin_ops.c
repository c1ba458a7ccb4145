/* detour server: the admin endpoints that operate the server rather than
 * change rules (admin_ops.h): /reload, /stats, /audit, /metrics, /healthz. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_http.h"
#include "admin_ops.h"
#include "base/civil.h"
#include "detour/rulefile.h"
#include "detour/topk.h"
#include "health.h"
#include "metrics.h"
#include "stats.h"
#include "worker.h"

/* The reload thread's answer: the admin thread reads it at its next loop
 * iteration (admin.c). */
static void reload_wake(void *arg)
{
	struct admin *a = arg;
	uint64_t one = 1;

	if (write(a->wake.fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the thread is awake already */
	}
}

/* POST /reload asks the reload thread (reloader.h) and parks the
 * connection: the admin thread serves every other request while the new
 * table builds (a regex compile may take a minute), and answers this one
 * when the reload is done (admin_reload_answer). A request made while a
 * reload runs is served by the next one (reloader.h: coalesced). */
void admin_post_reload(struct ctx *x)
{
	struct aconn *c = x->c;

	memset(&c->reload, 0, sizeof(c->reload));
	c->reload.wake = reload_wake;
	c->reload.arg = x->a;
	c->waiting = true;
	x->a->hooks.reload(x->a->hooks.arg, &c->reload);
}

void admin_reload_answer(struct admin *a, struct aconn *c)
{
	const struct reload_wait *w = &c->reload;
	char detail[1100] = "ok";

	c->waiting = false;
	if (w->rc)
		snprintf(detail, sizeof(detail), "failed: %s", w->err);
	else
		atomic_fetch_add(&a->srv->counters.changes[CHG_RELOAD], 1);
	a->store->audit(a, c->who, "reload", detail);
	if (w->rc) {
		admin_reply_json(c, 422,
		                 json_pack("{s:s, s:s}", "error", w->err, "result",
		                           "the old configuration and rules keep serving"),
		                 NULL);
		return;
	}
	admin_reply_json(
	        c, 200,
	        json_pack("{s:s, s:I}", "result", "reloaded", "rules", (json_int_t)w->nrules),
	        NULL);
}

void admin_flush_stats(struct admin *a)
{
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
	a->store->flush_served(a, file);
	pthread_mutex_unlock(&a->srv->pub.file_lock);
	if (api)
		a->store->flush_served(a, api);
	if (a->store->flush_more)
		a->store->flush_more(a);
}

/* Asks every worker for a copy of its unmatched-path sketch and merges
 * them into m (TOPK_MERGED entries). */
void admin_merge_topk(struct admin *a, struct detour_topk *m)
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

	if (admin_query_get(x->r, "unused_since", since_s, sizeof(since_s)) &&
	    civil_parse_rfc3339(since_s, strlen(since_s), &since))
		bad = true;
	if (bad) {
		admin_reply_error(
		        x->c, 400,
		        "query: offset >= 0, limit 1 to 10000, top 0 to 256, unused_since an RFC "
		        "3339 time");
		return;
	}
	if (a->srv->state == NULL) {
		admin_reply_error(x->c, 503, "no state: statistics are not kept");
		return;
	}
	admin_flush_stats(a);
	a->store->get_stats(x, offset, limit, since, top);
}

void admin_get_audit(struct ctx *x)
{
	bool bad = false;
	int64_t limit = admin_query_int(x->r, "limit", 100, 1, 10000, &bad);

	if (bad) {
		admin_reply_error(x->c, 400, "query: limit 1 to 10000");
		return;
	}
	x->a->store->get_audit(x, limit);
}

void admin_prune_audit(struct admin *a, uint64_t now_ms)
{
	const struct detour_config *c = &a->srv->conf;
	/* Between prunes: a second with a cap on the count (a prune that finds
	 * nothing is a few microseconds: a lookup of the newest number), else
	 * a quarter of the age kept, from 1 s to a minute. */
	uint64_t every = c->audit_keep_max ? 1000 : (uint64_t)c->audit_keep_s * 250;

	if (every < 1000)
		every = 1000;
	if (every > AUDIT_PRUNE_MAX_MS)
		every = AUDIT_PRUNE_MAX_MS;
	if ((c->audit_keep_s == 0 && c->audit_keep_max == 0) || a->srv->state == NULL ||
	    a->store->prune_audit == NULL) {
		a->next_prune_ms = UINT64_MAX;
		return;
	}
	if (now_ms < a->next_prune_ms)
		return;
	bool more = false;
	int64_t k = a->store->prune_audit(a, c->audit_keep_s, c->audit_keep_max, AUDIT_PRUNE_BATCH,
	                                  &more);
	if (k > 0)
		atomic_fetch_add(&a->srv->counters.audit_pruned, (uint64_t)k);
	/* A full batch: the next one right after this loop iteration's
	 * requests. */
	a->next_prune_ms = now_ms + (more ? AUDIT_PRUNE_NEXT_MS : every);
}

static void store_metrics(void *arg, struct bbuf *b)
{
	struct ctx *x = arg;

	x->a->store->metrics(x, b);
}

json_t *admin_requests_json(const uint64_t *counts)
{
	json_t *by = json_object();
	uint64_t total = 0;
	char name[16];

	for (unsigned k = 0; k < STATUS_SLOTS; k++) {
		total += counts[k];
		if (counts[k])
			json_object_set_new(by, metrics_status_name(k, name, sizeof(name)),
			                    json_integer((json_int_t)counts[k]));
	}
	return json_pack("{s:I, s:o}", "total", (json_int_t)total, "by_status", by);
}

void admin_get_metrics(struct ctx *x)
{
	size_t len;
	char *m;

	admin_flush_stats(x->a);
	m = metrics_render(x->a->srv, store_metrics, x, &len);
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
