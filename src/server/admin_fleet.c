/* detour server: the admin thread's side of the fleet, see admin_fleet.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_fleet.h"
#include "admin_http.h"
#include "admin_maint.h"
#include "admin_ops.h"
#include "admin_rules.h"
#include "base/buf.h"
#include "detour/rulefile.h"
#include "detour/topk.h"
#include "fleet_stats.h"
#include "fleet_store.h"
#include "metrics.h"

#define MIRROR_MS 1000

/* Maintenance stored by the fleet changed from old to m: make it this
 * node's (the page file is read here, on each node). */
static void follow_maint(struct admin *a, const struct maint_state *old,
                         const struct maint_state *m)
{
	struct maint_params p;
	struct maint_page *pg = NULL;
	char err[512];

	if (old->on == m->on && old->since == m->since && old->until == m->until &&
	    old->status == m->status && !strcmp(old->who, m->who) &&
	    !strcmp(old->target, m->target) && !strcmp(old->allow, m->allow))
		return;
	if (m->since == 0) {
		if (old->since > 0)
			maint_api_expired(a->srv->maint);
		return;
	}
	admin_maint_row_to_params(m, &p);
	if (maint_page_read(p.page, &pg, err, sizeof(err))) {
		log_err("fleet: maintenance: %s; the built-in page answers", err);
		p.page[0] = '\0';
		pg = NULL;
	}
	if (maint_api_set(a->srv->maint, m->on, &p, pg, m->until, m->who, err, sizeof(err)))
		log_err("fleet: maintenance of state version %lld: %s", (long long)a->version, err);
	else
		log_info("fleet: maintenance %s by %s (state version %lld)", m->on ? "on" : "off",
		         m->who, (long long)a->version);
}

static bool anything_expired(const struct fleet_snap *s, int64_t now)
{
	for (size_t i = 0; i < s->nrules; i++)
		if (s->rules[i].expires > 0 && s->rules[i].expires <= now)
			return true;
	return s->maint.on && s->maint.since > 0 && s->maint.until > 0 && s->maint.until <= now;
}

/* Builds and publishes s (taken over) as the API table. */
static void apply(struct admin *a, struct fleet_snap *s)
{
	int64_t now = now_sec(), next;
	struct maint_state old = a->maint;
	bool expired = anything_expired(s, now);
	char err[512];
	struct served *sv = admin_build_api(a->srv, s->rules, s->nrules, &s->maint, now, &next, err,
	                                    sizeof(err));

	if (sv == NULL) {
		log_err("fleet: state version %lld does not build: %s; the previous API table "
		        "keeps serving",
		        (long long)s->version, err);
		fleet_snap_free(s);
		return;
	}
	admin_api_publish(a, sv, s->rules, s->nrules, &s->maint, next);
	a->version = s->version;
	a->mirror_dirty = true;
	follow_maint(a, &old, &a->maint);
	if (expired)
		fleet_expire(a->srv->fleet); /* Redis may not have deleted them yet */
}

static void save_mirror(struct admin *a)
{
	char err[512];

	if (!a->mirror_dirty || a->srv->state == NULL)
		return;
	a->mirror_dirty = false;
	if (state_mirror(a->srv->state, a->rules, a->nrules, &a->maint, a->version, err,
	                 sizeof(err)))
		log_err("fleet: saving the last known state under state-dir: %s", err);
}

static int fl_load(struct admin *a, char *err, size_t cap)
{
	struct server *srv = a->srv;
	struct fleet_snap s;
	char e[900];

	srv->fleet = fleet_new(&srv->conf, err, cap);
	if (srv->fleet == NULL)
		return -1;
	if (fleet_load(srv->fleet, 1000, &s, e, sizeof(e)) == 0) {
		log_info("fleet: node %s: state version %lld (%zu API rules) loaded from Redis",
		         fleet_node(srv->fleet), (long long)s.version, s.nrules);
		a->mirror_dirty = true;
	} else {
		/* Serve what we knew last; the follower retries with backoff and
		 * resyncs when Redis answers. */
		memset(&s, 0, sizeof(s));
		if (state_rules_load(srv->state, &s.rules, &s.nrules, err, cap) ||
		    state_maint_get(srv->state, &s.maint, err, cap))
			return -1;
		s.version = state_mirror_version(srv->state);
		log_warn("fleet: %s; serving the last state saved under state-dir (version %lld, "
		         "%zu API rules) until Redis answers; changes are refused meanwhile",
		         e, (long long)s.version, s.nrules);
	}
	int64_t next;
	struct served *sv =
	        admin_build_api(srv, s.rules, s.nrules, &s.maint, now_sec(), &next, err, cap);
	if (sv == NULL) {
		fleet_snap_free(&s);
		return -1;
	}
	atomic_store(&srv->pub.api, sv); /* no worker runs yet */
	a->rules = s.rules;
	a->nrules = s.nrules;
	a->maint = s.maint;
	a->version = s.version;
	a->next_expiry = next;
	save_mirror(a);
	return 0;
}

static int fl_start(struct admin *a, char *err, size_t cap)
{
	return fleet_start(a->srv->fleet, a->wake.fd, NULL, err, cap);
}

static void fl_poll(struct admin *a)
{
	struct fleet_snap s;
	uint64_t now = mono_ms();

	if (fleet_follow_take(fleet_follower(a->srv->fleet), &s))
		apply(a, &s);
	if (a->mirror_dirty && now >= a->next_mirror_ms) {
		save_mirror(a);
		a->next_mirror_ms = now + MIRROR_MS;
	}
}

static void fl_expire(struct admin *a)
{
	struct fleet_snap s = {.rules = a->rules,
	                       .nrules = a->nrules,
	                       .maint = a->maint,
	                       .version = a->version},
	                  c;
	int64_t now = now_sec();

	/* Here and now, by the instant, whether Redis answers or not. */
	if (a->maint.on && a->maint.since > 0 && a->maint.until > 0 && a->maint.until <= now) {
		maint_api_expired(a->srv->maint);
		s.maint.on = false;
		s.maint.since = 0;
		atomic_fetch_add(&a->srv->counters.changes[CHG_MAINTENANCE], 1);
	}
	if (fleet_snap_copy(&c, &s)) {
		a->next_expiry = now + 1;
		return;
	}
	apply(a, &c);
	int k = fleet_expire(a->srv->fleet);
	if (k > 0) {
		atomic_fetch_add(&a->srv->counters.changes[CHG_EXPIRE], (unsigned)k);
		log_info("fleet: %d API change%s expired", k, k == 1 ? "" : "s");
	}
}

static void fl_stop(struct admin *a)
{
	save_mirror(a);
	fleet_free(a->srv->fleet);
	a->srv->fleet = NULL;
}

/* Waits for the follower to hand over version v (our own change) and
 * publishes it, so that the answer goes out once the change is live here. */
static void sync_to(struct admin *a, int64_t v)
{
	struct fleet_follow *ff = fleet_follower(a->srv->fleet);
	struct fleet_snap s;

	if (!fleet_follow_wait(ff, v, 2000))
		log_warn("fleet: state version %lld is in Redis but not back on the stream after "
		         "2 s; it applies here when it is",
		         (long long)v);
	if (fleet_follow_take(ff, &s))
		apply(a, &s);
}

/* One audit record that goes with no change: the fleet's log in Redis;
 * when Redis does not answer, the node's SQLite audit (and the error log). */
static void fl_audit(struct admin *a, const char *who, const char *action, const char *detail)
{
	struct fleet_audit_rec au = {who, action, detail};
	char err[700];

	if (fleet_audit(a->srv->fleet, &au, err, sizeof(err)) == 0)
		return;
	log_err("fleet: audit (%s %s by %s): %s; kept in this node's state-dir", action, detail,
	        who, err);
	if (state_audit_now(a->srv->state, now_sec(), who, action, detail, err, sizeof(err)))
		log_err("fleet: audit: %s", err);
}

static void fleet_add(struct ctx *x, const char *id, const char *line, int64_t now, int64_t expires)
{
	struct admin *a = x->a;
	struct api_rule *cand = calloc(a->nrules + 1, sizeof(*cand));
	char err[700], nid[300];
	int64_t v, next;
	int rc;

	if (cand == NULL) {
		admin_reply_error(x->c, 500, "out of memory");
		return;
	}
	/* The table with the rule must build here before it goes anywhere. */
	if (a->nrules)
		memcpy(cand, a->rules, a->nrules * sizeof(*cand));
	cand[a->nrules] = (struct api_rule){.n = a->nrules ? a->rules[a->nrules - 1].n + 1 : 1,
	                                    .id = (char *)"new",
	                                    .line = (char *)line,
	                                    .created = now,
	                                    .expires = expires,
	                                    .who = (char *)x->who};
	struct served *sv = admin_build_api(a->srv, cand, a->nrules + 1, &a->maint, now, &next, err,
	                                    sizeof(err));
	free(cand);
	if (sv == NULL) {
		admin_reply_error(x->c, 400, err);
		return;
	}
	served_free(sv);
	rc = fleet_add_rule(a->srv->fleet, id, line, now, expires, x->who, nid, sizeof(nid), &v,
	                    err, sizeof(err));
	if (rc == FLEET_NONE) {
		admin_reply_error(x->c, 409, err);
		return;
	}
	if (rc == FLEET_UNAVAILABLE) {
		admin_reply_error(x->c, 503, err);
		return;
	}
	if (rc) {
		admin_reply_error(x->c, 500, err);
		return;
	}
	sync_to(a, v); /* audited with the change, in Redis */
	atomic_fetch_add(&a->srv->counters.changes[CHG_ADD], 1);
	char loc[400];
	snprintf(loc, sizeof(loc), "Location: /rules/%s\r\n", nid);
	for (size_t i = 0; i < a->nrules; i++)
		if (!strcmp(a->rules[i].id, nid)) {
			admin_reply_json(x->c, 201, admin_api_rule_json(&a->rules[i]), loc);
			return;
		}
	/* Deleted by another node in between, or not back yet. */
	struct api_rule r = {.id = nid,
	                     .line = (char *)line,
	                     .created = now,
	                     .expires = expires,
	                     .who = (char *)x->who};
	admin_reply_json(x->c, 201, admin_api_rule_json(&r), loc);
}

static void fleet_delete(struct ctx *x, const char *id)
{
	struct admin *a = x->a;
	char err[700];
	int64_t v;
	int rc = fleet_delete_rule(a->srv->fleet, id, x->who, &v, err, sizeof(err));

	if (rc == FLEET_NONE) {
		admin_reply_no_api_rule(x, id);
		return;
	}
	if (rc) {
		admin_reply_error(x->c, rc == FLEET_UNAVAILABLE ? 503 : 500, err);
		return;
	}
	sync_to(a, v);
	atomic_fetch_add(&a->srv->counters.changes[CHG_DELETE], 1);
	admin_reply(x->c, 204, NULL, "", 0, NULL);
}

static void fleet_maint(struct ctx *x, const struct maint_state *m, const struct maint_params *p,
                        struct maint_page *pg, const char *detail)
{
	struct admin *a = x->a;
	char err[700];
	int64_t v;
	int rc;

	/* Stored fleet-wide; every node (this one included) applies it from
	 * the stream, reading the page file itself. */
	maint_page_free(pg);
	rc = fleet_set_maint(a->srv->fleet, m, detail, &v, err, sizeof(err));
	if (rc) {
		admin_reply_error(x->c, rc == FLEET_UNAVAILABLE ? 503 : 500, err);
		return;
	}
	sync_to(a, v);
	atomic_fetch_add(&a->srv->counters.changes[CHG_MAINTENANCE], 1);
	log_info("admin: maintenance %s by %s (fleet)", m->on ? "on" : "off", x->who);
	admin_reply_json(x->c, 200, admin_maint_now_json(a), NULL);
}

/* Maintenance by this node's config, file or signal: this node's alone
 * (the fleet's is what the API stores); audited fleet-wide. */
static void fl_record_maint(struct admin *a, const struct maint_state *m, const char *detail)
{
	atomic_fetch_add(&a->srv->counters.changes[CHG_MAINTENANCE], 1);
	fl_audit(a, m->who, "maintenance", detail);
}

/* ---- GET /stats, GET /fleet ------------------------------------------------- */

static int cmp_hits(const void *a, const void *b)
{
	const struct fleet_stat *x = a, *y = b;

	if (x->hits != y->hits)
		return x->hits > y->hits ? -1 : 1;
	return strcmp(x->id, y->id);
}

static const struct fleet_stat *find(const struct fleet_stat *s, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s[mid].id, id);
		if (c == 0)
			return &s[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void unused_row(json_t *arr, const struct fleet_stat *s, size_t n, const char *id,
                       const char *origin, int64_t since, int64_t offset, int64_t limit,
                       int64_t *total)
{
	const struct fleet_stat *f = find(s, n, id);
	int64_t h = f ? f->hits : 0, l = f ? f->last : 0;

	admin_json_unused(arr, id, origin, h, l, since, offset, limit, total);
}

static void fl_get_stats(struct ctx *x, int64_t offset, int64_t limit, int64_t since, int64_t top)
{
	struct admin *a = x->a;
	char node[64], err[700];
	const char *nd = admin_query_get(x->r, "node", node, sizeof(node));
	struct fleet_stat *s;
	size_t n;
	json_t *arr = json_array();
	int64_t total = 0;

	if (fleet_stats(a->srv->fleet, nd, &s, &n, err, sizeof(err))) {
		json_decref(arr);
		admin_reply_error(x->c, 503, err);
		return;
	}
	if (since > 0) {
		char id[1024];
		for (size_t i = 0; i < a->nrules; i++)
			unused_row(arr, s, n, a->rules[i].id, "api", since, offset, limit, &total);
		pthread_mutex_lock(&a->srv->pub.file_lock);
		const struct served *fs = atomic_load(&a->srv->pub.file);
		for (size_t i = 0; i < fs->nrules; i++) {
			detour_rule_id(fs->rules, detour_ruleset_get(fs->rules, i), id, sizeof(id));
			unused_row(arr, s, n, id, "file", since, offset, limit, &total);
		}
		pthread_mutex_unlock(&a->srv->pub.file_lock);
		fleet_stats_free(s, n);
		admin_reply_json(x->c, 200,
		                 json_pack("{s:o, s:o, s:I, s:s}", "unused", arr, "since",
		                           admin_json_time(since), "total", (json_int_t)total,
		                           "scope", nd ? nd : "fleet"),
		                 NULL);
		return;
	}
	qsort(s, n, sizeof(*s), cmp_hits);
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += s[i].hits;
		if ((int64_t)i >= offset && (int64_t)i < offset + limit)
			json_array_append_new(arr,
			                      json_pack("{s:s, s:I, s:o}", "id", s[i].id, "hits",
			                                (json_int_t)s[i].hits, "last_hit",
			                                admin_json_time(s[i].last)));
	}
	fleet_stats_free(s, n);
	uint64_t req[STATUS_SLOTS];
	const char *names[STATUS_SLOTS];
	char nb[STATUS_SLOTS][16];
	for (unsigned k = 0; k < STATUS_SLOTS; k++)
		names[k] = metrics_status_name(k, nb[k], sizeof(nb[k]));
	if (fleet_requests(a->srv->fleet, nd, names, req, STATUS_SLOTS, err, sizeof(err))) {
		json_decref(arr);
		admin_reply_error(x->c, 503, err);
		return;
	}
	json_t *res =
	        json_pack("{s:o, s:I, s:b, s:s, s:I, s:o}", "rules", arr, "total", (json_int_t)n,
	                  "enabled", a->srv->conf.stats, "scope", nd ? nd : "fleet", "hits_total",
	                  (json_int_t)sum, "requests", admin_requests_json(req));
	if (a->srv->conf.stats) {
		static struct detour_topk_entry me[TOPK_MERGED];
		struct detour_topk m;
		detour_topk_init(&m, me, TOPK_MERGED);
		fleet_get_topk(a->srv->fleet, nd, &m);
		admin_json_unmatched(res, &m, top);
	}
	admin_reply_json(x->c, 200, res, NULL);
}

static void fl_flush_served(struct admin *a, struct served *s)
{
	if (a->srv->fleet) /* NULL: stopped */
		fleet_flush_served(a->srv->fleet, s);
}

/* After the tables: the requests by status (increments) and the node's
 * unmatched-path sketch (it lives three flush windows without a refresh). */
static void fl_flush_more(struct admin *a)
{
	uint64_t now[STATUS_SLOTS];
	const char *names[STATUS_SLOTS];
	char nb[STATUS_SLOTS][16];

	if (a->srv->fleet == NULL)
		return;
	for (unsigned k = 0; k < STATUS_SLOTS; k++)
		names[k] = metrics_status_name(k, nb[k], sizeof(nb[k]));
	metrics_status_counts(a->srv, now);
	fleet_flush_requests(a->srv->fleet, names, now, a->req_flushed, STATUS_SLOTS);
	if (a->srv->conf.stats) {
		static struct detour_topk_entry me[TOPK_MERGED];
		struct detour_topk m;
		detour_topk_init(&m, me, TOPK_MERGED);
		admin_merge_topk(a, &m);
		fleet_put_topk(a->srv->fleet, &m, 3 * a->srv->conf.stats_flush_ms + 1000);
	}
}

static void audit_row(void *arg, int64_t at, const char *node, const char *who, const char *action,
                      const char *detail)
{
	json_array_append_new(arg, json_pack("{s:o, s:s, s:s, s:s, s:s}", "at", admin_json_time(at),
	                                     "node", node, "who", who, "action", action, "detail",
	                                     detail));
}

/* GET /audit: the fleet's log (?node= one node's), newest first. */
static void fl_get_audit(struct ctx *x, int64_t limit)
{
	char node[64], err[700];
	const char *nd = admin_query_get(x->r, "node", node, sizeof(node));
	json_t *arr = json_array();

	if (fleet_audit_list(x->a->srv->fleet, nd, limit, audit_row, arr, err, sizeof(err))) {
		json_decref(arr);
		admin_reply_error(x->c, 503, err);
		return;
	}
	admin_reply_json(x->c, 200,
	                 json_pack("{s:o, s:s}", "audit", arr, "scope", nd ? nd : "fleet"), NULL);
}

/* `audit-keep`: the fleet's stream and this node's in Redis, and the
 * records this node kept in its SQLite state while Redis was away. */
static int64_t fl_prune_audit(struct admin *a, int64_t keep_s, int64_t keep_max, int batch,
                              bool *more)
{
	char err[300];
	int64_t k = fleet_audit_prune(a->srv->fleet, keep_s, keep_max, batch, more);
	int l = state_audit_prune(a->srv->state, keep_s ? now_sec() - keep_s : 0, keep_max, batch,
	                          err, sizeof(err));

	if (l < 0)
		log_err("admin: audit-keep: %s; retrying later", err);
	if (l == batch)
		*more = true;
	if (k < 0 && l < 0)
		return -1;
	return (k > 0 ? k : 0) + (l > 0 ? l : 0);
}

/* /metrics: the fleet's most hit rules, its requests by status (?node=
 * one node's: a node label), the detour_fleet_* series. */
static void fl_metrics(struct ctx *x, struct bbuf *b)
{
	struct fleet *f = x->a->srv->fleet;
	uint64_t req[STATUS_SLOTS];
	const char *names[STATUS_SLOTS];
	char nb[STATUS_SLOTS][16], node[64], err[700];
	const char *nd = admin_query_get(x->r, "node", node, sizeof(node));

	metrics_top_head(b);
	fleet_stats_top(f, METRICS_TOP_RULES, metrics_top_row, b);
	for (unsigned k = 0; k < STATUS_SLOTS; k++)
		names[k] = metrics_status_name(k, nb[k], sizeof(nb[k]));
	if (fleet_requests(f, nd, names, req, STATUS_SLOTS, err, sizeof(err)) == 0) {
		bbuf_putf(b, "# HELP detour_fleet_requests_total Requests answered by the fleet "
		             "(node=: by one node), by status, as of each node's last flush.\n"
		             "# TYPE detour_fleet_requests_total counter\n");
		for (unsigned k = 0; k < STATUS_SLOTS; k++) {
			BBUF_LIT(b, "detour_fleet_requests_total{");
			if (nd) {
				BBUF_LIT(b, "node=\"");
				for (const char *p = nd; *p; p++) /* a label value (metrics.c) */
					if (*p == '"' || *p == '\\' || *p == '\n')
						bbuf_putc(b, '_');
					else
						bbuf_putc(b, *p);
				BBUF_LIT(b, "\",");
			}
			bbuf_putf(b, "status=\"%s\"} %llu\n", names[k], (unsigned long long)req[k]);
		}
	}
	fleet_metrics(f, b);
}

const struct admin_store admin_fleet_store = {
        .name = "redis",
        .load = fl_load,
        .start = fl_start,
        .poll = fl_poll,
        .expire = fl_expire,
        .stop = fl_stop,
        .add_rule = fleet_add,
        .delete_rule = fleet_delete,
        .set_maint = fleet_maint,
        .record_maint = fl_record_maint,
        .flush_served = fl_flush_served,
        .flush_more = fl_flush_more,
        .get_stats = fl_get_stats,
        .audit = fl_audit,
        .get_audit = fl_get_audit,
        .prune_audit = fl_prune_audit,
        .metrics = fl_metrics,
};

void admin_get_fleet(struct ctx *x)
{
	struct admin *a = x->a;
	struct fleet_node *nodes;
	struct fleet_follow_status st;
	size_t n;
	char err[700];

	if (a->srv->fleet == NULL) {
		admin_reply_error(x->c, 404, "no fleet: detour.conf has no `state redis://...`");
		return;
	}
	fleet_follow_status(fleet_follower(a->srv->fleet), &st);
	json_t *self =
	        json_pack("{s:s, s:b, s:I, s:I, s:I}", "node", fleet_node(a->srv->fleet),
	                  "connected", st.connected, "version", (json_int_t)a->version, "lag_ms",
	                  (json_int_t)st.lag_ms, "resyncs", (json_int_t)st.resyncs);
	if (fleet_nodes(a->srv->fleet, &nodes, &n, err, sizeof(err))) {
		admin_reply_json(x->c, 503, json_pack("{s:s, s:o}", "error", err, "self", self),
		                 NULL);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I}", "node", nodes[i].name,
		                                     "version", (json_int_t)nodes[i].version,
		                                     "lag_ms", (json_int_t)nodes[i].lag_ms,
		                                     "seen_ms", (json_int_t)nodes[i].seen_ms));
	free(nodes);
	admin_reply_json(x->c, 200, json_pack("{s:o, s:o}", "self", self, "nodes", arr), NULL);
}
