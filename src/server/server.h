/* detour server: shared state of `detour serve`.
 *
 * Threads: the main thread owns the configuration, binds nothing itself,
 * handles signals (signalfd) and builds new tables on reload; N worker
 * threads each run their own epoll loop over their own SO_REUSEPORT
 * listeners and connections and never block on each other.
 *
 * The rule table is immutable and published through an atomic pointer.
 * Reclamation uses generations (like haproxy's pattern generations): after
 * publishing a new table the main thread bumps srv->gen and frees the old
 * table once every worker has started a loop iteration at the new
 * generation (worker.c publishes it before loading the table pointer), so no
 * worker can still hold the old one. server_publish() does this for both
 * published tables (file rules, API rules); it may run in the main thread
 * (reload) and the admin thread at once: each waits for its own generation.
 *
 * The admin thread (admin.c) serves the admin API, expires API rules and
 * flushes statistics to the SQLite state (state.c); see
 * docs/internals/admin.md. */
#ifndef DETOUR_SERVER_H
#define DETOUR_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "detour/config.h"
#include "detour/table.h"
#include "log.h"
#include "loop.h"

struct worker;
struct served;
struct state;
struct admin;
struct maint;
struct health;

struct server {
	struct detour_config conf;      /* main thread writes (reload); workers read only
	                                   fields that reload does not change, see reload() */
	const char *conf_path;          /* borrowed; NULL for the built-in defaults */
	_Atomic(struct served *) table; /* file rules, never NULL while workers run */
	_Atomic(struct served *) api;   /* API rules (admin.c), or NULL */
	_Atomic(struct maint *) maint;  /* maintenance (maint.c); NULL while off */
	atomic_uint_fast64_t gen;
	pthread_mutex_t reload_lock; /* one reload at a time: SIGHUP or POST /reload */
	struct state *state;         /* SQLite state, NULL when it could not be opened */
	struct admin *admin;         /* the admin thread, NULL when not running */
	struct health *health;       /* mirror prober (health.c), NULL before server_run made it */
	atomic_uint topk_gen;        /* bumped to ask workers for a sketch snapshot */
	atomic_uint_fast64_t reloads_ok, reloads_failed;
	atomic_bool stopping;  /* SIGTERM/SIGINT: stop accepting, drain, exit */
	atomic_uint flush_gen; /* bumped to ask every worker to flush its access log */
	atomic_bool server_header;
	int access_fd; /* -1 when off; reopened in place with dup2() */
	struct worker *workers;
	unsigned nworkers;
	unsigned max_conns_per_worker;
};

/* Runs the server with conf until SIGTERM/SIGINT. Returns the exit status
 * (0 after a clean drain, 1 when start-up failed, with the reason logged). */
int server_run(const struct detour_config *conf, const char *conf_path);

/* Builds a table from the rules files of conf. Returns NULL with the error
 * formatted into err (file:line:col: message). */
struct detour_table *server_build_table(const struct detour_config *conf, char *err, size_t cap);

/* Publishes s in slot (&srv->table or &srv->api), waits until every worker
 * has moved past the table it replaces, flushes that table's counters to the
 * state and frees it. Returns once no worker can see the old table. */
void server_publish(struct server *srv, _Atomic(struct served *) *slot, struct served *s);

/* Re-reads the configuration and rules files and publishes the new table.
 * Returns 0, or -1 with the reason in err (the old table keeps serving). */
int server_reload(struct server *srv, char *err, size_t cap);

/* Worker side (worker.c). */
int worker_start(struct server *srv, struct worker *w, unsigned id, char *err, size_t cap);
void worker_wake(struct worker *w);
void worker_join(struct worker *w);
uint64_t worker_seen_gen(const struct worker *w);
unsigned worker_flush_ack(const struct worker *w);
size_t worker_size(void);

#endif
