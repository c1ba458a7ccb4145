/* detour server: a node following the fleet's change stream (docs/internals/
 * fleet.md). One thread with its own Redis connection loads the whole state
 * (one Lua script: the version, maintenance, every rule and the stream's
 * last id, atomically), then reads the stream with XREAD BLOCK from that id
 * and applies each entry in version order. An entry whose version is not
 * the next one (the node fell behind the stream's trim point, or missed a
 * change) makes it load the whole state again. After each batch it hands a
 * copy of the state (a snapshot) to the admin thread, which builds and
 * publishes the API table (publish.h) exactly as for a change of its own.
 * Connection lost: it says so once, retries with backoff (100 ms doubling
 * to 2 s) and loads the whole state again when Redis is back. Every second
 * it refreshes this node's heartbeat key (PREFIX:node:NAME, 10 s TTL). */
#ifndef DETOUR_FLEET_FOLLOW_H
#define DETOUR_FLEET_FOLLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_conn.h"
#include "state.h"

/* The shared state as one node knows it. */
struct fleet_snap {
	struct api_rule *rules; /* by n (precedence) */
	size_t nrules;
	struct maint_state maint; /* since 0: nothing stored */
	int64_t version;
};

void fleet_snap_free(struct fleet_snap *s);

/* Deep copy; returns 0 or -1 (out of memory). */
int fleet_snap_copy(struct fleet_snap *dst, const struct fleet_snap *src);

struct fleet_follow;

/* What the follower measures, for the metrics and `detour ctl fleet`. */
struct fleet_follow_status {
	bool connected;
	int64_t version;  /* of the last snapshot handed over */
	int64_t lag_ms;   /* the last entry applied: now - its stream id's time */
	uint64_t resyncs; /* whole-state loads after the first */
	uint64_t disconnects;
};

/* Loads the whole state over c. lastid gets the stream's last entry id
 * ("0-0": none). Returns 0, or -1 with err. */
int fleet_follow_load(redisContext *c, const struct fleet_link *l, struct fleet_snap *out,
                      char *lastid, size_t idcap, char *err, size_t cap);

/* A follower for l (borrowed) that writes to wake_fd (an eventfd) when a
 * snapshot is ready. initial: the state loaded at start (its version and
 * lastid), or NULL: load on connecting. */
struct fleet_follow *fleet_follow_new(const struct fleet_link *l, int wake_fd,
                                      const struct fleet_snap *initial, const char *lastid);
/* Before the start: the eventfd to poke. */
void fleet_follow_set_wake(struct fleet_follow *ff, int wake_fd);
int fleet_follow_start(struct fleet_follow *ff, char *err, size_t cap);
void fleet_follow_stop(struct fleet_follow *ff); /* joins and frees; NULL is a no-op */

/* The newest snapshot not taken yet: true and *out filled (owned by the
 * caller), else false. */
bool fleet_follow_take(struct fleet_follow *ff, struct fleet_snap *out);

/* Waits up to ms for a snapshot of at least version (taken or not). */
bool fleet_follow_wait(struct fleet_follow *ff, int64_t version, unsigned ms);

void fleet_follow_status(struct fleet_follow *ff, struct fleet_follow_status *out);

#endif
