/* detour server: the admin thread's side of the fleet (`state redis://`):
 * loading the shared state at start (or the last one saved under state-dir
 * when Redis is unreachable), applying the follower's snapshots (build and
 * publish the API table, follow maintenance), expiry at the instant, the
 * rule and maintenance changes through Redis, GET /stats from the fleet's
 * counters and GET /fleet. Runs on the admin thread (admin_data.h); see
 * docs/internals/fleet.md. */
#ifndef DETOUR_ADMIN_FLEET_H
#define DETOUR_ADMIN_FLEET_H

#include "admin_data.h"

/* admin_prepare with `state URL`: srv->state is open. Creates srv->fleet,
 * loads the state, publishes the API table and makes the fleet the admin's
 * store (admin_data.h: the changes go to Redis). Returns 0 or -1 with err. */
int admin_fleet_prepare(struct admin *a, char *err, size_t cap);

/* admin_start: starts the follower (it pokes the admin's wake eventfd). */
int admin_fleet_start(struct admin *a, char *err, size_t cap);

/* Every admin loop iteration: applies a new snapshot, saves the local copy. */
void admin_fleet_poll(struct admin *a);

/* next_expiry reached: rebuilds without what ran out, here and now, and
 * asks Redis to delete it (every node does; it is idempotent). */
void admin_fleet_expire(struct admin *a);

/* admin_stop: saves the local copy, stops the follower, frees srv->fleet. */
void admin_fleet_stop(struct admin *a);

/* GET /stats from the fleet's counters and unmatched-path sketches (?node=
 * one node's); top: unmatched paths listed. */
void admin_fleet_get_stats(struct ctx *x, int64_t offset, int64_t limit, int64_t since,
                           int64_t top);

/* GET /fleet: the nodes, their state version and lag. */
void admin_get_fleet(struct ctx *x);

#endif
