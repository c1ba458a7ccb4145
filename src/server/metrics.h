/* detour server: GET /metrics, the Prometheus text exposition format
 * (version 0.0.4) of the counters of core.h's server: the workers'
 * statistics, the published tables, maintenance, reloads and API changes,
 * and the most hit rules from the state. */
#ifndef DETOUR_METRICS_H
#define DETOUR_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct bbuf;

#define METRICS_TOP_RULES 10 /* detour_rule_hits_top: the most hit rules */

/* The exposition of srv into a new buffer (free() it); *len gets its
 * length; more(arg, b), when not NULL, adds the admin store's series. NULL
 * when out of memory. Called by the admin thread only (it reads the API
 * table without a lock because only that thread replaces it). */
char *metrics_render(struct server *srv, void (*more)(void *arg, struct bbuf *b), void *arg,
                     size_t *len);

/* detour_rule_hits_top's HELP and TYPE lines, then one row (arg: the
 * struct bbuf; state_stats_list's callback). */
void metrics_top_head(struct bbuf *b);
void metrics_top_row(void *arg, const char *id, int64_t hits, int64_t last);

/* The requests answered by srv's workers by status slot (stats.h:
 * STATUS_SLOTS, the last one "other"), and the slot's name ("301"). */
void metrics_status_counts(struct server *srv, uint64_t *out);
const char *metrics_status_name(unsigned k, char *buf, size_t cap);

#endif
