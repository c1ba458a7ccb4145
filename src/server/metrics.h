/* detour server: GET /metrics, the Prometheus text exposition format
 * (version 0.0.4) of the counters of core.h's server: the workers'
 * statistics, the published tables, maintenance, reloads and API changes,
 * and the most hit rules from the state. */
#ifndef DETOUR_METRICS_H
#define DETOUR_METRICS_H

#include <stddef.h>

struct server;

/* The exposition of srv into a new buffer (free() it); *len gets its
 * length. NULL when out of memory. Called by the admin thread only (it
 * reads the API table without a lock because only that thread replaces
 * it). */
char *metrics_render(struct server *srv, size_t *len);

#endif
