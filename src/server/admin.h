/* detour server: the admin thread. It owns the admin API listener (JSON over
 * HTTP/1.1 on its own event loop), builds and publishes the API rule table
 * (on every change and when a ttl or until runs out), flushes statistics to
 * the state every stats-flush, and answers GET /metrics. See docs/admin.md
 * (the API) and docs/internals/admin.md (how). */
#ifndef DETOUR_ADMIN_H
#define DETOUR_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "detour/config.h"

struct server;
struct admin;

/* Privilege drop (`user NAME`): resolved before anything is opened, the
 * state is opened with the user's effective ids, and the real drop
 * (setgroups, setgid, setuid) happens after every socket is bound. */
struct privdrop {
	bool active;
	uid_t uid;
	gid_t gid;
	char user[64];
};

/* Resolves conf->user. Returns 0, or -1 with err (unknown user, not root). */
int privdrop_prepare(const struct detour_config *conf, struct privdrop *p, char *err, size_t cap);

/* Drops to p's user for good. Returns 0 or -1 with err. */
int privdrop_finish(const struct privdrop *p, char *err, size_t cap);

/* Before the workers start: opens the state (as p's user), expires what ran
 * out while we were down, publishes the API table in srv->api, reads the
 * token file and binds the admin listener. Returns 0 or -1 with err. */
int admin_prepare(struct server *srv, const struct privdrop *p, char *err, size_t cap);

/* Starts the admin thread (after the workers). Returns 0 or -1 with err. */
int admin_start(struct server *srv, char *err, size_t cap);

/* Stops the admin thread, flushes statistics and frees the admin. Safe to
 * call when it never started, and more than once. */
void admin_stop(struct server *srv);

/* Reload: reads the token file named by nc again (a broken file keeps the
 * old tokens, logged). */
void admin_reload_tokens(struct admin *a, const struct detour_config *nc);

/* metrics.c: the Prometheus text exposition of srv into a new buffer (free()
 * it); *len gets its length. NULL when out of memory. Called by the admin
 * thread only. */
char *metrics_render(struct server *srv, size_t *len);

/* admin.c, for metrics.c: API changes by kind since start. */
enum admin_change { CHG_ADD = 0, CHG_DELETE, CHG_EXPIRE, CHG_MAINTENANCE, CHG_RELOAD, CHG_COUNT };
extern const char *const admin_change_names[CHG_COUNT];
unsigned long long admin_changes(const struct admin *a, enum admin_change k);

#endif
