/* detour server: /reload, /stats, /audit, /metrics, /targets and /healthz; the statistics
 * flush.
 * Runs on the admin thread (admin_data.h); see docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_OPS_H
#define DETOUR_ADMIN_OPS_H

#include "admin_data.h"

/* Writes the counters of both published tables to the state. */
void admin_flush_stats(struct admin *a);

void admin_post_reload(struct ctx *x);
void admin_get_stats(struct ctx *x);
void admin_get_audit(struct ctx *x);
void admin_get_metrics(struct ctx *x);
void admin_get_healthz(struct ctx *x);
/* The health-checked targets of weighted groups and their verdicts. */
void admin_get_targets(struct ctx *x);

#endif
