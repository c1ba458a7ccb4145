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

/* Stops the thread (when running) and frees h. Call after the admin thread
 * stopped (no more publishes) and before the tables are freed. NULL is a
 * no-op. */
void health_fini(struct health *h);

#endif
