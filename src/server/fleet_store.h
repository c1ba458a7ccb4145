/* detour server: the fleet's shared state in Redis (`state redis://...`),
 * see docs/internals/fleet.md. The admin thread calls it instead of the
 * SQLite state for what the fleet shares: API rule and maintenance changes
 * (one Lua script each: the key, the version counter and the stream entry
 * change together, or not at all when the change's deadline passed), the
 * statistics (increments) and the list of nodes. A follower thread
 * (fleet_follow.h) applies every node's changes here. The SQLite state stays
 * under state-dir for the audit and the last known state. */
#ifndef DETOUR_FLEET_STORE_H
#define DETOUR_FLEET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/config.h"
#include "fleet_follow.h"
#include "publish.h"

struct fleet;

/* The outcome of a change. */
enum fleet_rc {
	FLEET_OK = 0,
	FLEET_NONE = 1,         /* add: the id exists; delete: no such rule */
	FLEET_UNAVAILABLE = -3, /* not made durable and applied nowhere: 503 */
	FLEET_UNCONFIRMED = 2,  /* an undo on the primary that WAIT did not confirm (internal) */
};

/* From conf (state_url, state_node; the node's name defaults to
 * HOSTNAME:PORT of the first listener). Returns NULL with err. */
struct fleet *fleet_new(const struct detour_config *conf, char *err, size_t cap);

/* Start-up: connects (timeout_ms) and loads the whole state into out.
 * Returns 0, or -1 with err (Redis unreachable). */
int fleet_load(struct fleet *f, unsigned timeout_ms, struct fleet_snap *out, char *err, size_t cap);

/* Starts following the stream from initial (the state fleet_load gave, or
 * NULL: the follower loads it when it connects). wake_fd: an eventfd the
 * follower pokes when a snapshot is ready. */
int fleet_start(struct fleet *f, int wake_fd, const struct fleet_snap *initial, char *err,
                size_t cap);

/* Stops the follower and frees f. NULL is a no-op. */
void fleet_free(struct fleet *f);

const char *fleet_node(const struct fleet *f);
struct fleet_follow *fleet_follower(struct fleet *f);

/* Changes. version gets the state version the change made. err: the reason
 * (for FLEET_UNAVAILABLE: "state store unavailable: ..."). */
int fleet_add_rule(struct fleet *f, const char *id, const char *line, int64_t created,
                   int64_t expires, const char *who, char *out_id, size_t idcap, int64_t *version,
                   char *err, size_t cap);
int fleet_delete_rule(struct fleet *f, const char *id, int64_t *version, char *err, size_t cap);
int fleet_set_maint(struct fleet *f, const struct maint_state *m, int64_t *version, char *err,
                    size_t cap);

/* Deletes the rules and ends the maintenance whose time ran out by Redis's
 * clock (idempotent: every node may call it). Returns the number of
 * changes, or -1. */
int fleet_expire(struct fleet *f);

/* Adds the hits counted since the last flush of s to the node's and the
 * fleet's counters (one script, one round trip). */
void fleet_flush_served(struct fleet *f, struct served *s);

struct fleet_stat {
	char *id;
	int64_t hits, last;
};

/* The counters of the fleet (node NULL) or one node, sorted by id. Returns
 * 0, or -1 with err. */
int fleet_stats(struct fleet *f, const char *node, struct fleet_stat **out, size_t *n, char *err,
                size_t cap);
void fleet_stats_free(struct fleet_stat *s, size_t n);

/* The nodes that sent a heartbeat within its TTL. */
struct fleet_node {
	char name[64];
	int64_t version, lag_ms, seen_ms; /* seen: ms since its last heartbeat */
};

int fleet_nodes(struct fleet *f, struct fleet_node **out, size_t *n, char *err, size_t cap);

/* The fleet's most hit rules (totals), most hits first, at most limit:
 * state_stats_list's callback. Nothing when Redis does not answer. */
void fleet_stats_top(struct fleet *f, int64_t limit,
                     void (*fn)(void *arg, const char *id, int64_t hits, int64_t last), void *arg);

struct detour_topk;

/* Replaces this node's unmatched-path sketch in Redis by m (PREFIX:topk:NODE,
 * a hash path -> "COUNT ERROR", field "" the total; it expires after ttl_ms
 * without a refresh). */
void fleet_put_topk(struct fleet *f, const struct detour_topk *m, unsigned ttl_ms);

/* Merges the stored sketches of every node (node NULL) or of one into m
 * (detour_topk_merge: counts and errors add up). Returns 0, or -1. */
int fleet_get_topk(struct fleet *f, const char *node, struct detour_topk *m);

struct bbuf;

/* The detour_fleet_* series of /metrics. */
void fleet_metrics(struct fleet *f, struct bbuf *b);

/* Changes refused with 503, outcomes settled after a lost reply, undone
 * after WAIT did not confirm them, and those whose undo failed. */
struct fleet_counts {
	uint64_t refused, settled_applied, settled_not_applied, reverted, undo_failed;
};

void fleet_counts(struct fleet *f, struct fleet_counts *out);

#endif
