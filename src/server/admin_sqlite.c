/* detour server: the admin's store in the single node's SQLite state
 * under state-dir (the default; admin_data.h's struct admin_store, see
 * docs/internals/admin.md). Every change runs in one SQLite transaction
 * that ends by building the new API table; the answer goes out only after
 * the commit (synchronous=FULL) and the publication to every worker
 * (publish_served), so an acknowledged change is live everywhere and
 * survives kill -9. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_http.h"
#include "admin_maint.h"
#include "admin_ops.h"
#include "admin_rules.h"
#include "admin_sqlite.h"
#include "base/buf.h"
#include "detour/rulefile.h"
#include "detour/topk.h"
#include "metrics.h"
#include "state_totals.h"

static int sql_load(struct admin *a, char *err, size_t cap)
{
	struct server *srv = a->srv;
	struct maint_state m;
	struct api_rule *rules = NULL;
	size_t n = 0;
	int64_t next;
	bool ro = state_readonly(srv->state); /* read as stored, nothing expired */

	if (!ro && state_begin(srv->state, err, cap))
		return -1;
	int k = ro ? 0 : state_rules_expire(srv->state, now_sec(), err, cap);
	if (k < 0 || state_maint_get(srv->state, &m, err, cap) ||
	    state_rules_load(srv->state, &rules, &n, err, cap)) {
		if (!ro)
			state_rollback(srv->state);
		return -1;
	}
	if (!ro && state_commit(srv->state, err, cap)) {
		state_rules_free(rules, n);
		return -1;
	}
	struct served *s = admin_build_api(srv, rules, n, &m, now_sec(), &next, err, cap);
	if (s == NULL) {
		state_rules_free(rules, n);
		return -1;
	}
	atomic_store(&srv->pub.api, s); /* no worker runs yet */
	a->rules = rules;
	a->nrules = n;
	a->maint = m;
	a->next_expiry = next;
	return 0;
}

static int sql_start(struct admin *a, char *err, size_t cap)
{
	return 0;
}

static void sql_stop(struct admin *a)
{
}

/* Ends a transaction of the state: reloads the API rules, builds the table
 * with them and m, commits, publishes. Returns 0, ADMIN_BUILD_FAILED (the
 * table does not build: rolled back) or -1 with err. */
static int commit(struct admin *a, const struct maint_state *m, int64_t now, char *err, size_t cap)
{
	struct state *st = a->srv->state;
	struct api_rule *rules = NULL;
	struct maint_state mc = *m; /* m may be &a->maint, which publish() replaces */
	size_t n = 0;
	int64_t next;
	struct served *s;

	if (state_rules_load(st, &rules, &n, err, cap)) {
		state_rollback(st);
		return -1;
	}
	s = admin_build_api(a->srv, rules, n, &mc, now, &next, err, cap);
	if (s == NULL) {
		state_rules_free(rules, n);
		state_rollback(st);
		return ADMIN_BUILD_FAILED;
	}
	if (state_commit(st, err, cap)) {
		served_free(s);
		state_rules_free(rules, n);
		return -1;
	}
	admin_api_publish(a, s, rules, n, &mc, next);
	return 0;
}

/* Rules and maintenance whose time ran out: delete them (audited) and
 * publish the table without them. */
static void sql_expire(struct admin *a)
{
	struct state *st = a->srv->state;
	struct maint_state m;
	int64_t now = now_sec();
	char err[512];
	int k;

	if (state_readonly(st)) {
		/* Nothing can be deleted (state.h): what ran out stops
		 * serving, and the state keeps it until a start that can
		 * write expires it. */
		int64_t next;
		struct served *s = admin_build_api(a->srv, a->rules, a->nrules, &a->maint, now,
		                                   &next, err, sizeof(err));
		if (s == NULL)
			goto fail;
		publish_served(&a->srv->pub, &a->srv->pub.api, s);
		a->next_expiry = next;
		if (a->maint.on && a->maint.since > 0 && a->maint.until > 0 &&
		    a->maint.until <= now) {
			a->maint.on = false;
			maint_api_expired(a->srv->maint);
		}
		return;
	}
	if (state_begin(st, err, sizeof(err)))
		goto fail;
	k = state_rules_expire(st, now, err, sizeof(err));
	if (k < 0 || state_maint_get(st, &m, err, sizeof(err)))
		goto rollback;
	bool maint_ended = false;
	if (m.on && m.since > 0 && m.until > 0 && m.until <= now) {
		/* The API's maintenance ran out: the config and the file decide
		 * again (maint.c); nothing is stored any more. */
		m.on = false;
		m.since = 0;
		if (state_maint_set(st, &m, err, sizeof(err)) ||
		    state_audit(st, now, "detour", "maintenance",
		                "api maintenance ended (until reached)", err, sizeof(err)))
			goto rollback;
		atomic_fetch_add(&a->srv->counters.changes[CHG_MAINTENANCE], 1);
		maint_ended = true;
	}
	if (commit(a, &m, now, err, sizeof(err)))
		goto fail;
	if (maint_ended)
		maint_api_expired(a->srv->maint);
	if (k > 0) {
		atomic_fetch_add(&a->srv->counters.changes[CHG_EXPIRE], (unsigned)k);
		log_info("admin: %d API rule%s expired", k, k == 1 ? "" : "s");
	}
	return;
rollback:
	state_rollback(st);
fail:
	log_err("admin: expiring API rules: %s; retrying in 1 s", err);
	a->next_expiry = now + 1;
}

static void sql_add_rule(struct ctx *x, const char *rid, const char *line, int64_t now,
                         int64_t expires)
{
	struct admin *a = x->a;
	struct state *st = a->srv->state;
	char err[600], id[300];
	int64_t row;
	int rc;

	snprintf(id, sizeof(id), "%s", rid);
	if (state_begin(st, err, sizeof(err)))
		goto fail;
	rc = state_rule_insert(st, id[0] ? id : "pending", line, now, expires, x->who, &row, err,
	                       sizeof(err));
	if (rc == 0 && !id[0]) {
		snprintf(id, sizeof(id), "api:%lld", (long long)row);
		rc = state_rule_set_id(st, row, id, err, sizeof(err));
	}
	if (rc == 1) {
		state_rollback(st);
		admin_reply_error(x->c, 409, err);
		return;
	}
	if (rc < 0)
		goto rollback;
	char detail[DETOUR_RULE_LINE_MAX < 2048 ? DETOUR_RULE_LINE_MAX : 2048];
	snprintf(detail, sizeof(detail), "%s %s", id, line);
	if (state_audit(st, now, x->who, "add", detail, err, sizeof(err)))
		goto rollback;
	rc = commit(a, &a->maint, now, err, sizeof(err));
	if (rc == ADMIN_BUILD_FAILED) {
		admin_reply_error(x->c, 400, err);
		return;
	}
	if (rc)
		goto fail;
	atomic_fetch_add(&a->srv->counters.changes[CHG_ADD], 1);
	for (size_t i = 0; i < a->nrules; i++) {
		if (!strcmp(a->rules[i].id, id)) {
			char loc[400];
			snprintf(loc, sizeof(loc), "Location: /rules/%s\r\n", id);
			admin_reply_json(x->c, 201, admin_api_rule_json(&a->rules[i]), loc);
			return;
		}
	}
	admin_reply_error(x->c, 500, "the rule was stored but is not in the table");
	return;
rollback:
	state_rollback(st);
fail:
	log_err("admin: %s", err);
	admin_reply_state_error(x->c, st, err);
}

static void sql_delete_rule(struct ctx *x, const char *id)
{
	struct admin *a = x->a;
	struct state *st = a->srv->state;
	int64_t now = now_sec();
	char err[600];
	int rc;

	if (state_begin(st, err, sizeof(err)))
		goto fail;
	rc = state_rule_delete(st, id, err, sizeof(err));
	if (rc < 0)
		goto rollback;
	if (rc == 0) {
		state_rollback(st);
		admin_reply_no_api_rule(x, id);
		return;
	}
	if (state_audit(st, now, x->who, "delete", id, err, sizeof(err)))
		goto rollback;
	if (commit(a, &a->maint, now, err, sizeof(err)))
		goto fail;
	atomic_fetch_add(&a->srv->counters.changes[CHG_DELETE], 1);
	admin_reply(x->c, 204, NULL, "", 0, NULL);
	return;
rollback:
	state_rollback(st);
fail:
	log_err("admin: %s", err);
	admin_reply_state_error(x->c, st, err);
}

static void sql_set_maint(struct ctx *x, const struct maint_state *m, const struct maint_params *p,
                          struct maint_page *pg, const char *detail)
{
	struct admin *a = x->a;
	struct state *st = a->srv->state;
	int64_t now = m->since;
	char err[600];
	int rc;

	if (state_begin(st, err, sizeof(err)))
		goto fail;
	if (state_maint_set(st, m, err, sizeof(err)) ||
	    state_audit(st, now, x->who, "maintenance", detail, err, sizeof(err)))
		goto rollback;
	rc = commit(a, m, now, err, sizeof(err));
	if (rc == ADMIN_BUILD_FAILED) {
		maint_page_free(pg);
		admin_reply_error(x->c, 400, err);
		return;
	}
	if (rc)
		goto fail;
	/* Stored: now make it the server's maintenance (checked above, so only
	 * running out of memory can fail here). It takes pg. */
	if (maint_api_set(a->srv->maint, m->on, p, pg, m->until, x->who, err, sizeof(err))) {
		log_err("admin: maintenance: %s", err);
		admin_reply_error(x->c, 500, err);
		return;
	}
	atomic_fetch_add(&a->srv->counters.changes[CHG_MAINTENANCE], 1);
	log_info("admin: maintenance %s by %s", m->on ? "on" : "off", x->who);
	admin_reply_json(x->c, 200, admin_maint_now_json(a), NULL);
	return;
rollback:
	state_rollback(st);
fail:
	maint_page_free(pg);
	log_err("admin: %s", err);
	admin_reply_state_error(x->c, st, err);
}

static void sql_record_maint(struct admin *a, const struct maint_state *m, const char *detail)
{
	struct state *st = a->srv->state;
	char err[512];

	if (st == NULL)
		return;
	if (state_begin(st, err, sizeof(err)))
		goto fail;
	if (state_maint_set(st, m, err, sizeof(err)) ||
	    state_audit(st, (int64_t)time(NULL), m->who, "maintenance", detail, err, sizeof(err))) {
		state_rollback(st);
		goto fail;
	}
	if (state_commit(st, err, sizeof(err)))
		goto fail;
	atomic_fetch_add(&a->srv->counters.changes[CHG_MAINTENANCE], 1);
	return;
fail:
	log_err("maintenance: recording the change: %s", err);
}

static void sql_flush_served(struct admin *a, struct served *s)
{
	struct server *srv = a->srv;

	if (srv->state == NULL)
		return;
	state_flush_served(srv->state, s);
	/* An API table retired by a change (the retired hook, on this
	 * thread): its totals go to the table that replaced it. Not when the
	 * file lock is taken (a reload publishing, or this thread's flush):
	 * the next read loads them then. */
	struct served *api = atomic_load(&srv->pub.api);
	if (s->origin == ORIGIN_API && s != api &&
	    pthread_mutex_trylock(&srv->pub.file_lock) == 0) {
		state_totals_carry(srv->state, s, api, atomic_load(&srv->pub.file));
		pthread_mutex_unlock(&srv->pub.file_lock);
	}
}

static void stats_row(void *arg, const char *id, int64_t hits, int64_t last)
{
	json_array_append_new(arg, json_pack("{s:s, s:I, s:o}", "id", id, "hits", (json_int_t)hits,
	                                     "last_hit", admin_json_time(last)));
}

/* A rule not hit since `since` (GET /stats?unused_since=) into arr: rule i
 * of s (its totals in memory), or when they are not kept, the stats row of
 * id. */
static void unused_row(struct admin *a, json_t *arr, const struct served *s, size_t i,
                       const char *id, const char *origin, int64_t since, int64_t offset,
                       int64_t limit, int64_t *total)
{
	int64_t h = 0, l = 0;

	if (!state_totals_get(a->srv->state, s, i, &h, &l))
		state_stats_get(a->srv->state, id, &h, &l);
	admin_json_unused(arr, id, origin, h, l, since, offset, limit, total);
}

/* The rules by hits (state_totals_list, or SQL when it cannot answer). */
static int64_t stats_list(struct admin *a, int64_t offset, int64_t limit,
                          void (*fn)(void *arg, const char *id, int64_t hits, int64_t last),
                          void *arg)
{
	struct server *srv = a->srv;

	pthread_mutex_lock(&srv->pub.file_lock);
	int64_t total = state_totals_list(srv->state, atomic_load(&srv->pub.file),
	                                  atomic_load(&srv->pub.api), offset, limit, fn, arg);
	pthread_mutex_unlock(&srv->pub.file_lock);
	if (total < 0)
		total = state_stats_list(srv->state, offset, limit, fn, arg);
	return total;
}

static void sql_get_stats(struct ctx *x, int64_t offset, int64_t limit, int64_t since, int64_t top)
{
	struct admin *a = x->a;
	json_t *arr = json_array(), *res;

	if (since > 0) {
		/* Rules of the current tables not hit since `since`. */
		int64_t total = 0;
		char id[1024];
		pthread_mutex_lock(&a->srv->pub.file_lock);
		struct served *s = atomic_load(&a->srv->pub.file),
		              *api = atomic_load(&a->srv->pub.api);
		state_totals_ready(a->srv->state, s, api);
		/* The API table holds a->rules in their order, less those it
		 * skipped (expired, or no longer valid): those are read from SQL. */
		for (size_t i = 0, j = 0; i < a->nrules; i++) {
			bool in = api && j < api->nrules &&
			          !strcmp(detour_rule_id(api->rules,
			                                 detour_ruleset_get(api->rules, j), id,
			                                 sizeof(id)),
			                  a->rules[i].id);
			unused_row(a, arr, in ? api : NULL, j, a->rules[i].id, "api", since, offset,
			           limit, &total);
			j += in;
		}
		for (size_t i = 0; i < s->nrules; i++) {
			detour_rule_id(s->rules, detour_ruleset_get(s->rules, i), id, sizeof(id));
			unused_row(a, arr, s, i, id, "file", since, offset, limit, &total);
		}
		pthread_mutex_unlock(&a->srv->pub.file_lock);
		admin_reply_json(x->c, 200,
		                 json_pack("{s:o, s:o, s:I}", "unused", arr, "since",
		                           admin_json_time(since), "total", (json_int_t)total),
		                 NULL);
		return;
	}
	int64_t total = stats_list(a, offset, limit, stats_row, arr);
	uint64_t req[STATUS_SLOTS];
	metrics_status_counts(a->srv, req); /* this node's, since it started */
	res = json_pack("{s:o, s:I, s:b, s:o}", "rules", arr, "total", (json_int_t)total, "enabled",
	                a->srv->conf.stats, "requests", admin_requests_json(req));
	if (a->srv->conf.stats) {
		static struct detour_topk_entry me[TOPK_MERGED];
		struct detour_topk m;
		detour_topk_init(&m, me, TOPK_MERGED);
		admin_merge_topk(a, &m);
		admin_json_unmatched(res, &m, top);
	}
	admin_reply_json(x->c, 200, res, NULL);
}

static void sql_audit(struct admin *a, const char *who, const char *action, const char *detail)
{
	struct state *st = a->srv->state;
	char err[300];

	if (st == NULL || state_begin(st, err, sizeof(err)))
		return;
	if (state_audit(st, now_sec(), who, action, detail, err, sizeof(err)))
		state_rollback(st);
	else
		state_commit(st, err, sizeof(err));
}

static void audit_row(void *arg, int64_t at, const char *who, const char *action,
                      const char *detail)
{
	json_array_append_new(arg, json_pack("{s:o, s:s, s:s, s:s}", "at", admin_json_time(at),
	                                     "who", who, "action", action, "detail", detail));
}

static void sql_get_audit(struct ctx *x, int64_t limit)
{
	json_t *arr = json_array();

	state_audit_list(x->a->srv->state, limit, audit_row, arr);
	admin_reply_json(x->c, 200, json_pack("{s:o}", "audit", arr), NULL);
}

static int64_t sql_prune_audit(struct admin *a, int64_t keep_s, int64_t keep_max, int batch,
                               bool *more)
{
	char err[300];
	int k = state_audit_prune(a->srv->state, keep_s ? now_sec() - keep_s : 0, keep_max, batch,
	                          err, sizeof(err));

	if (k < 0)
		log_err("admin: audit-keep: %s; retrying later", err);
	*more = k == batch;
	return k;
}

static void sql_metrics(struct ctx *x, struct bbuf *b)
{
	struct admin *a = x->a;

	if (a->srv->state == NULL)
		return;
	metrics_top_head(b);
	stats_list(a, 0, METRICS_TOP_RULES, metrics_top_row, b);
}

const struct admin_store admin_sqlite_store = {
        .name = "sqlite",
        .load = sql_load,
        .start = sql_start,
        .poll = NULL,
        .expire = sql_expire,
        .stop = sql_stop,
        .add_rule = sql_add_rule,
        .delete_rule = sql_delete_rule,
        .set_maint = sql_set_maint,
        .record_maint = sql_record_maint,
        .flush_served = sql_flush_served,
        .flush_more = NULL,
        .get_stats = sql_get_stats,
        .audit = sql_audit,
        .get_audit = sql_get_audit,
        .prune_audit = sql_prune_audit,
        .metrics = sql_metrics,
};
