/* detour server: the admin thread's side of the fleet (`state redis://`):
 * loading the shared state at start (or the last one saved under state-dir
 * when Redis is unreachable), applying the follower's snapshots (build and
 * publish the API table, follow maintenance), expiry at the instant, the
 * rule and maintenance changes through Redis, the statistics and the audit
 * log from the fleet's counters and streams, and GET /fleet. Runs on the admin thread
 * (admin_data.h); see docs/internals/fleet.md. */
#ifndef DETOUR_ADMIN_FLEET_H
#define DETOUR_ADMIN_FLEET_H

#include "admin_data.h"

/* The fleet's store (struct admin_store, admin_data.h): admin_prepare
 * picks it with `state redis://...`. load creates srv->fleet, loads the
 * shared state (or the last one saved under state-dir when Redis is
 * unreachable); start starts the follower; poll applies its snapshots;
 * stop saves the local copy and frees srv->fleet. */
extern const struct admin_store admin_fleet_store;

/* GET /fleet: the nodes, their state version and lag. */
void admin_get_fleet(struct ctx *x);

#endif
