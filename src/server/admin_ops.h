/* detour server: /reload, /stats, /audit, /metrics, /targets and /healthz; the statistics
 * flush.
 * Runs on the admin thread (admin_data.h); see docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_OPS_H
#define DETOUR_ADMIN_OPS_H

#include "admin_data.h"

/* Writes the counters of both published tables to the store (and what
 * else it counts: the store's flush_more). */
void admin_flush_stats(struct admin *a);

struct detour_topk;

/* Asks every worker for a copy of its unmatched-path sketch and merges
 * them into m (TOPK_MERGED entries), sorted. */
void admin_merge_topk(struct admin *a, struct detour_topk *m);

/* {"total": N, "by_status": {"301": n, ...}} of requests counted by
 * status slot (stats.h; slots never hit left out). */
json_t *admin_requests_json(const uint64_t *counts);

/* `audit-keep`: one batch of the audit's prune when it is due; sets
 * a->next_prune_ms (soon again while a batch came back full, so that a
 * long backlog goes in small steps between requests). */
void admin_prune_audit(struct admin *a, uint64_t now_ms);

/* POST /reload: asks for the reload, parks the connection (aconn.waiting). */
void admin_post_reload(struct ctx *x);
/* A parked POST /reload whose reload is done (c->reload.done): audited and
 * answered as before the reload thread (200 with the rules, or 422). */
void admin_reload_answer(struct admin *a, struct aconn *c);
void admin_get_stats(struct ctx *x);
void admin_get_audit(struct ctx *x);
void admin_get_metrics(struct ctx *x);
void admin_get_healthz(struct ctx *x);
/* The health-checked targets of weighted groups and their verdicts. */
void admin_get_targets(struct ctx *x);

#endif
