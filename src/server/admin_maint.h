/* detour server: GET/POST /maintenance, its row in the state, and
 * maintenance's recorder.
 * Runs on the admin thread (admin_data.h); see docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_MAINT_H
#define DETOUR_ADMIN_MAINT_H

#include "admin_data.h"

/* The stored maintenance row m as maint.c's parameters. */
void admin_maint_row_to_params(const struct maint_state *m, struct maint_params *p);

/* maint.h's recorder (arg: the admin): a change by the config, the file or
 * SIGUSR2 supersedes what the API stored; records it in the state (and its
 * audit). No-op without a state. Runs on the thread that made the change. */
void admin_maint_record(void *arg, const struct maint_status *st);

/* The maintenance that applies now, as GET /maintenance answers it. */
json_t *admin_maint_now_json(struct admin *a);

void admin_get_maintenance(struct ctx *x);
void admin_post_maintenance(struct ctx *x);

#endif
