/* detour server: the fleet's state (fleet_store.c) as its statistics
 * (fleet_stats.c) share it: the write connection and its lock. Private to
 * the two. */
#ifndef DETOUR_FLEET_STORE_INT_H
#define DETOUR_FLEET_STORE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fleet_conn.h"
#include "fleet_follow.h"

struct fleet {
	struct fleet_link l;
	struct fleet_follow *ff;
	/* The write connection: the admin thread's changes and the flushes of
	 * the admin and the main thread (the retired hook). */
	pthread_mutex_t wlock;
	redisContext *wc;
	char where[300];
	int64_t offset_ms; /* Redis's clock - ours, measured at connect */
	uint64_t ntok;
	int64_t audit_keep_ms; /* `audit-keep`'s age: the audit streams' TTL (0: none) */
	_Atomic uint64_t refused, applied, not_applied, reverted, undo_failed;
};

/* Under wlock: the write connection (connecting when needed), or NULL with
 * err; fleet_wdrop closes it after an error. */
redisContext *fleet_wconn(struct fleet *f, char *err, size_t cap);
void fleet_wdrop(struct fleet *f);

/* The follower is connected (else Redis counts as unreachable). */
bool fleet_up(struct fleet *f);

/* Under wlock: the write connection when the fleet is up, or NULL with err
 * "state store unavailable: <why>" (the admin API's 503 reason). */
redisContext *fleet_wconn_or_unavailable(struct fleet *f, char *err, size_t cap);

#endif
