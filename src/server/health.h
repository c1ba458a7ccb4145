/* detour server: health checks of mirror groups (docs/health.md).
 *
 * The members of a weighted group that carry health=/path are probed by one
 * background thread: a HEAD request to the target's origin + path with
 * libcurl's multi interface (no redirects followed, 2xx and 3xx count as
 * up), every `health-check interval=`, each transfer bounded by `timeout=`.
 * `rise=` good probes in a row bring a target up, `fall=` bad ones take it
 * down; the verdict is stored in the table's atomic flag
 * (detour_table_set_healthy), which the workers read when they choose a
 * member. Transitions go to the error log.
 *
 * Threads: the prober never touches a socket of the server and holds its
 * lock only to copy the target list and to set flags, never across a
 * transfer, so neither a worker nor the main thread waits on a probe.
 * health_published() runs after every table swap, before the old table is
 * freed (server.c registers it as publish.h's swapped hook): the prober then forgets the old table
 * and enumerates the new one (keeping the state of targets whose URL is unchanged). The thread runs
 * only while a published table has health targets: health_published() starts and stops it. */
#ifndef DETOUR_HEALTH_H
#define DETOUR_HEALTH_H

#include <stdbool.h>

#include "detour/config.h"

struct health;
struct publish;

/* A prober (stopped) of the tables published in pub (borrowed: it outlives
 * the prober) with the settings of c. Call once in the main thread before
 * any table is published and before other threads start. Returns NULL with
 * the reason in err. */
struct health *health_new(struct publish *pub, const struct detour_conf_health *c, char *err,
                          size_t cap);

/* New settings (reload); they take effect at the next probe round.
 * c is borrowed (copied). No-op when h is NULL. */
void health_configure(struct health *h, const struct detour_conf_health *c);

/* The published tables changed (or were first set): the prober drops every
 * pointer into the tables it knew and enumerates the current ones; the
 * thread is started when they have health targets and stopped when they
 * have none. Called between the pointer swap and the free of the old table
 * (publish.h's swapped hook), from the main or the admin thread (serialised
 * inside). No-op when h is NULL. */
void health_published(struct health *h);

/* One health-checked target as health_targets() shows it; every pointer is
 * borrowed for the call. */
struct health_target {
	const char *rule;  /* its rule's id: id=, else FILE:LINE */
	const char *url;   /* the URL probed: the target's origin and the health= path */
	const char *group; /* the group: "SOURCE (FILE:LINE)" of its first member */
	bool up;           /* the verdict (rise/fall applied); up until probes say otherwise */
	bool probed;       /* a round has been applied since it was enumerated (or carried) */
	long status;       /* the last probe's HTTP status, 0 when it got none */
	const char *error; /* the last probe's failure (libcurl's text), NULL when none */
};

/* Calls fn once for each health-checked target of the published tables, in
 * rule order (file rules, then API rules), under the prober's lock: fn must
 * not call into h, and should be quick (a probe round does not wait on it;
 * the next verdicts do). Lists none while no table has health targets. For
 * GET /metrics (detour_target_up) and GET /targets. No-op when h is NULL. */
void health_targets(struct health *h, void (*fn)(void *arg, const struct health_target *t),
                    void *arg);

/* Stops the thread (when running) and frees h. Call after the admin thread
 * stopped (no more publishes) and before the tables are freed. NULL is a
 * no-op. */
void health_fini(struct health *h);

#endif
