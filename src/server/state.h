/* detour server: the persistent state in SQLite (WAL mode) under state-dir:
 * rules added through the admin API, the maintenance state, the audit log
 * and per-rule statistics. One connection, one mutex: the admin thread
 * writes rules and flushes statistics; the main thread flushes the counters
 * of a table that a reload retires. Rule and maintenance changes commit with
 * synchronous=FULL, so an acknowledged change survives kill -9 and a power
 * loss. See docs/internals/admin.md for the schema. */
#ifndef DETOUR_STATE_H
#define DETOUR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state;
struct served;

struct api_rule {
	int64_t n;       /* row number: precedence among API rules (lower first) */
	char *id;        /* "api:N" or the rule's id= */
	char *line;      /* the rule as given, in the rule language */
	int64_t created; /* Unix seconds */
	int64_t expires; /* Unix seconds, 0 = never */
	char *who;       /* token name */
};

#define MAINT_TARGET_MAX 2048
#define MAINT_ALLOW_MAX  4096

struct maint_state {
	bool on;
	char target[MAINT_TARGET_MAX];
	int status;
	char allow[MAINT_ALLOW_MAX]; /* sources separated by '\n' */
	int64_t since, until;        /* Unix seconds; until 0 = none */
	char who[64];
};

/* The HTTP status for the last failure of st (a change that was refused,
 * so rolled back: nothing of it is kept): 507 when the disk is full, 503
 * when the state is read-only, failing I/O or busy, else 500; *cause says
 * which in a word ("disk full", "read-only", "I/O error", "busy",
 * "internal"). */
int state_error_status(struct state *st, const char **cause);

/* Opens (creating dir and the database if needed) the state. Returns NULL
 * with the reason in err. A dir that cannot be written but holds a
 * database opens it read-only (state_readonly): what it stored is read,
 * every state_begin fails (state_error_status: 503). */
struct state *state_open(const char *dir, char *err, size_t cap);
void state_close(struct state *st);

/* The state was opened read-only (see state_open). */
bool state_readonly(const struct state *st);

/* Transactions for rule and maintenance changes: begin locks the state,
 * commit (durable on return) and rollback unlock it. Return 0 or -1 (err). */
int state_begin(struct state *st, char *err, size_t cap);
int state_commit(struct state *st, char *err, size_t cap);
void state_rollback(struct state *st);

/* Inside a transaction. */
int state_rule_insert(struct state *st, const char *id, const char *line, int64_t created,
                      int64_t expires, const char *who, int64_t *n, char *err, size_t cap);
/* Sets the id of row n (an id= rule keeps its own; others get "api:N").
 * Returns 0, 1 when another API rule already has that id, -1 on error. */
int state_rule_set_id(struct state *st, int64_t n, const char *id, char *err, size_t cap);
/* Returns 1 when the rule was deleted, 0 when no API rule has that id, -1. */
int state_rule_delete(struct state *st, const char *id, char *err, size_t cap);
/* Deletes rules that expired at or before now, recording each in the audit.
 * Returns the number deleted, or -1. */
int state_rules_expire(struct state *st, int64_t now, char *err, size_t cap);
int state_maint_set(struct state *st, const struct maint_state *m, char *err, size_t cap);
int state_audit(struct state *st, int64_t at, const char *who, const char *action,
                const char *detail, char *err, size_t cap);

/* Reads every API rule in precedence order into a new array (free with
 * state_rules_free). Works inside or outside a transaction. */
int state_rules_load(struct state *st, struct api_rule **out, size_t *n, char *err, size_t cap);
void state_rules_free(struct api_rule *r, size_t n);
int state_maint_get(struct state *st, struct maint_state *m, char *err, size_t cap);

/* The fleet (fleet_store.h): replaces the stored API rules and maintenance
 * by the fleet's state of that version, the last known state a node serves
 * when Redis is unreachable at start. One transaction; not audited. */
int state_mirror(struct state *st, const struct api_rule *r, size_t n, const struct maint_state *m,
                 int64_t version, char *err, size_t cap);

/* One audit record in its own transaction without a sync of its own (the
 * fleet: the change's record is Redis; this is the node's log of what was
 * asked through it). */
int state_audit_now(struct state *st, int64_t at, const char *who, const char *action,
                    const char *detail, char *err, size_t cap);

/* The fleet's state version of the last state_mirror, 0 = none. */
int64_t state_mirror_version(struct state *st);

/* Writes the hits counted since the last flush of s (all workers summed) to
 * the stats table, in one transaction. */
void state_flush_served(struct state *st, struct served *s);

/* Statistics of one rule id: returns 1 and fills hits and last (0 = never),
 * or 0 when it was never counted. */
int state_stats_get(struct state *st, const char *id, int64_t *hits, int64_t *last);

/* Calls fn for the counted rules, most hits first, from offset, at most
 * limit; returns the number of rows in the table. */
int64_t state_stats_list(struct state *st, int64_t offset, int64_t limit,
                         void (*fn)(void *arg, const char *id, int64_t hits, int64_t last),
                         void *arg);

/* Deletes at most batch of the oldest audit records: those before cutoff
 * (Unix seconds; 0 = none by time) and, with keep_max > 0, those numbered
 * keep_max or more below the newest. In its own transaction (the lock held
 * for that batch only). Returns how many were deleted (batch: there may be
 * more), or -1 with err. */
int state_audit_prune(struct state *st, int64_t cutoff, int64_t keep_max, int batch, char *err,
                      size_t cap);

/* Calls fn for the last limit audit records, newest first. */
void state_audit_list(struct state *st, int64_t limit,
                      void (*fn)(void *arg, int64_t at, const char *who, const char *action,
                                 const char *detail),
                      void *arg);

#endif
