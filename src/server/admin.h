/* detour server: the admin thread. It owns the admin API listener (JSON over
 * HTTP/1.1 on its own event loop), builds and publishes the API rule table
 * (on every change and when a ttl or until runs out), flushes statistics to
 * the state every stats-flush, and answers GET /metrics. See docs/admin.md
 * (the API) and docs/internals/admin.md (how). */
#ifndef DETOUR_ADMIN_H
#define DETOUR_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "admin_hooks.h"
#include "detour/config.h"

struct server;
struct admin;
struct served;

struct privdrop;

/* Before the workers start: opens the state (as p's user), expires what ran
 * out while we were down, publishes the API table (srv->pub.api), sets up
 * maintenance (srv->maint) with what the state stored and registers its
 * recorder, reads the token file and binds the admin listener. hooks is
 * copied. Returns 0 or -1 with err. */
int admin_prepare(struct server *srv, const struct privdrop *p, const struct admin_hooks *hooks,
                  char *err, size_t cap);

/* Starts the admin thread (after the workers). Returns 0 or -1 with err. */
int admin_start(struct server *srv, char *err, size_t cap);

/* Stops the admin thread, flushes statistics and frees the admin. Safe to
 * call when it never started, and more than once. */
void admin_stop(struct server *srv);

/* The hits counted in s (a table a reload retires) since its last flush,
 * to the admin's store (the main thread). */
void admin_flush_served(struct server *srv, struct served *s);

/* A connection the admin API serves from now on, as if accepted on its
 * listener: fd (non-blocking, taken over) is read on a's loop. The
 * accept path's, and fuzz/fuzz_admin.c's way in (a socketpair). */
void admin_adopt(struct admin *a, int fd);

/* Reload: reads the token file named by nc again (a broken file keeps the
 * old tokens, logged). */
void admin_reload_tokens(struct admin *a, const struct detour_config *nc);

#endif
