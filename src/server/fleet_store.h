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

/* An audit record: who asked, the action ("add", "delete", "maintenance",
 * "reload", ...), what (for a rule change: after its id). */
struct fleet_audit_rec {
	const char *who, *action, *detail;
};

/* Changes, each written with its audit record (PREFIX:audit, the fleet's,
 * and PREFIX:audit:NODE, the node's: streams of at, node, who, action,
 * detail, v). version gets the state version the change made. err: the reason
 * (for FLEET_UNAVAILABLE: "state store unavailable: ..."). */
int fleet_add_rule(struct fleet *f, const char *id, const char *line, int64_t created,
                   int64_t expires, const char *who, char *out_id, size_t idcap, int64_t *version,
                   char *err, size_t cap);
int fleet_delete_rule(struct fleet *f, const char *id, const char *who, int64_t *version, char *err,
                      size_t cap);
int fleet_set_maint(struct fleet *f, const struct maint_state *m, const char *detail,
                    int64_t *version, char *err, size_t cap);

/* An audit record that goes with no change (a reload, maintenance by the
 * node's config or signal). Returns 0, or -1 with err (Redis unreachable). */
int fleet_audit(struct fleet *f, const struct fleet_audit_rec *au, char *err, size_t cap);

/* The last limit audit records of the fleet (node NULL) or of one node,
 * newest first. Returns 0, or -1 with err. */
int fleet_audit_list(struct fleet *f, const char *node, int64_t limit,
                     void (*fn)(void *arg, int64_t at, const char *node, const char *who,
                                const char *action, const char *detail),
                     void *arg, char *err, size_t cap);

/* Deletes the rules and ends the maintenance whose time ran out by Redis's
 * clock (idempotent: every node may call it). Returns the number of
 * changes, or -1. */
int fleet_expire(struct fleet *f);

/* `audit-keep`: one batch of the prune of the fleet's audit stream and
 * this node's (fleet_store.c, prune_lua). Returns the records deleted
 * (*full: a batch came back full, there may be more), 0 while Redis is
 * unreachable, -1 on an error (logged). */
int64_t fleet_audit_prune(struct fleet *f, int64_t keep_s, int64_t keep_max, int batch, bool *full);

/* The nodes that sent a heartbeat within its TTL. */
struct fleet_node {
	char name[64];
	int64_t version, lag_ms, seen_ms; /* seen: ms since its last heartbeat */
};

int fleet_nodes(struct fleet *f, struct fleet_node **out, size_t *n, char *err, size_t cap);

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
