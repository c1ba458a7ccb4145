/* detour server: the parts of a running server, as server.c puts them
 * together, for the modules above the workers that need several of them
 * (the admin thread, the metrics). Data only: no module's functions are
 * declared here, and nothing below (loop, listen, publish, route, the
 * workers, maint, stats, state, health) includes it.
 *
 * Threads: the main thread owns the configuration, binds nothing itself,
 * handles signals (signalfd) and builds new tables on reload; N worker
 * threads each run their own epoll loop over their own SO_REUSEPORT
 * listeners and connections and never block on each other; the admin
 * thread (admin.c) serves the admin API, expires API rules and flushes
 * statistics to the SQLite state (state.c). What the workers read is
 * published as immutable snapshots (publish.h). See docs/internals/. */
#ifndef DETOUR_CORE_H
#define DETOUR_CORE_H

#include <stdatomic.h>

#include "detour/config.h"
#include "publish.h"
#include "worker.h"

struct state;
struct admin;
struct maint_ctl;
struct health;
struct tls_ctx;
struct acme;
struct fleet;
struct reloader;

/* Changes through the admin API (and expiries), by kind, and reloads: for
 * the metrics. Bumped by the admin thread and the reload, read by the
 * metrics. */
enum change { CHG_ADD = 0, CHG_DELETE, CHG_EXPIRE, CHG_MAINTENANCE, CHG_RELOAD, CHG_COUNT };

struct counters {
	_Atomic unsigned long long changes[CHG_COUNT];
	atomic_uint_fast64_t reloads_ok, reloads_failed;
	atomic_uint_fast64_t audit_pruned; /* audit records deleted by `audit-keep` */
};

struct server {
	/* The configuration read at start-up. Never written afterwards: what a
	 * reload may change is published as settings (pub.set), kept by health
	 * and maintenance, or waits for a restart. */
	struct detour_config conf;
	const char *conf_path;   /* borrowed; NULL for the built-in defaults */
	struct publish pub;      /* tables, maintenance and settings the workers see */
	struct pool pool;        /* the workers */
	struct state *state;     /* SQLite state, NULL when it could not be opened */
	struct admin *admin;     /* the admin thread, NULL when not running */
	struct maint_ctl *maint; /* maintenance (maint.c) */
	struct health *health;   /* mirror prober (health.c), NULL before server_run made it */
	struct tls_ctx *tls;     /* TLS listeners (tls.c): certificates, tickets; NULL without */
	struct acme *acme;       /* the ACME client (acme.c), NULL without `acme` */
	struct fleet *fleet;     /* `state redis://...` (fleet_store.h), NULL without */
	struct counters counters;
	/* The reload thread (reloader.h): SIGHUP and POST /reload ask it; it
	 * builds a new table off every other thread and takes pub.file_lock
	 * only for the swap. */
	struct reloader *reloader;
};

#endif
