/* detour server: what the workers see, and how it is replaced.
 *
 * Four immutable snapshots are published through atomic pointers of a
 * `struct publish`: the file rules and the API rules (each a `struct
 * served`: a rule table plus its hit counters), maintenance (a `struct
 * maint` of maint.h, NULL while off) and the runtime settings a reload may
 * change (`struct settings`). A worker is a *reader*: at the top of every
 * loop iteration it publishes the generation it has reached and then loads
 * all four pointers (publish_enter); it holds none across iterations.
 *
 * Reclamation uses generations (like haproxy's pattern generations): a
 * writer swaps a pointer, bumps the generation, wakes every reader and
 * waits until each has reached the new generation; from then on no reader
 * can hold the old snapshot, which is freed. Writers are the main thread
 * (reload, maintenance by the config, file and signal) and the admin thread
 * (API changes, expiry, POST /reload); each waits for its own generation,
 * so they may publish at once.
 *
 * This module calls nobody above it: the reload, the admin API and
 * maintenance call it, and what must happen around a swap (the health
 * prober letting go of the old tables, the old counters flushed to the
 * state) is registered as hooks by server.c. */
#ifndef DETOUR_PUBLISH_H
#define DETOUR_PUBLISH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/config.h"
#include "detour/table.h"

struct maint;        /* maint.h: published here, built and freed by maint.c */
struct detour_canon; /* detour/canon.h: the compiled HTTPS settings, owned by the settings */

/* Per-rule counters of one worker: written by that worker only (relaxed
 * load + store, plain moves on x86-64 and arm64), read by the flush. */
struct rule_hits {
	_Atomic uint32_t hits; /* wraps; the flush takes differences modulo 2^32 */
	_Atomic uint32_t last; /* Unix seconds of the last hit, 0 = never */
};

enum served_origin { ORIGIN_FILE = 0, ORIGIN_API = 1 };

/* A published rule table with one row of hit counters per worker,
 * allocated when the table is built (never on the request path). */
struct served {
	struct detour_table *table; /* owned; NULL for an API table without rules */
	const struct detour_ruleset *rules;
	size_t nrules;
	size_t stride; /* counters per worker (a multiple of 8: rows never share a line) */
	unsigned nworkers;
	struct rule_hits *hits; /* nworkers * stride, NULL when stats are off */
	uint32_t *flushed;      /* under the state lock: hits already written, per rule */
	/* The rules each worker counted, so that a flush visits those and not
	 * every rule: per worker two bitmaps of twords words (nrules bits),
	 * the drains marking the one of period & 1 (stats_drain), the flusher
	 * taking the other (served_collect). NULL when stats are off. */
	_Atomic uint64_t *touched;
	size_t twords;
	atomic_uint period;
	uint64_t *pending; /* the flusher's: rules collected, not yet written (twords words) */
	/* The all-time hits and last hit of each rule (the stats row of its id
	 * plus every delta written since), kept by the SQLite state once the
	 * statistics were read (state_totals.c); NULL before. Under the state
	 * lock; current while total_epoch is the state's epoch. */
	uint64_t *total;
	uint32_t *total_last;
	unsigned total_epoch;
	unsigned kinds[4]; /* rules by enum detour_src_kind (exact, splat, pattern, regex) */
	bool http_rules;   /* a source led by http:// (route_canon's exemption) */
	enum served_origin origin;
};

/* Wraps t (taken over; may be NULL for an empty API table) with counters for
 * nworkers when stats is true. Returns NULL (t freed) when out of memory. */
struct served *served_new(struct detour_table *t, enum served_origin origin, unsigned nworkers,
                          bool stats);

/* Frees s, its table and counters. NULL is a no-op. Callers flush first
 * (state_flush_served) when they want the counts kept. */
void served_free(struct served *s);

/* Starts a new counting period of s: the workers' drains mark the other
 * bitmap from now on. The marks of the period it ends may still be written
 * until every reader has started a new loop iteration (publish_sync). */
void served_next_period(struct served *s);

/* The flusher (one thread at a time for a table) adds the rules marked in
 * the period before the current one to s->pending and clears those marks.
 * Call it after served_next_period and publish_sync, or with all set when
 * no reader can hold s (a retired table, the workers gone): then the marks
 * of both periods are taken. A rule stays pending until a flush writes its
 * delta (state_flush_served, fleet_flush_served clear what they wrote). */
void served_collect(struct served *s, bool all);

/* The rules of s->pending in table order, as a new array of *n indices
 * (free it); NULL with *n = 0 when none is pending, NULL with *n > 0 when
 * out of memory. */
uint32_t *served_pending(const struct served *s, size_t *n);

/* Prefetches what a flush reads for rule i: its counter in every worker's
 * row, its flushed mark and the rule itself (for its id). A flush issues it
 * some rules ahead, so that the misses of a sparse walk over a large table
 * overlap instead of coming one by one. */
void served_prefetch(const struct served *s, size_t i);

/* How many rules ahead a flush prefetches. */
#define SERVED_PREFETCH_AHEAD 16

/* Rule i's hits summed over the workers' counters (modulo 2^32), with *last
 * the latest of their last-hit times. s->hits is not NULL and i < s->nrules. */
uint32_t served_hits(const struct served *s, size_t i, uint32_t *last);

/* The settings a reload may change that other threads read. Everything
 * else of detour.conf is read once at start-up (a reload that changes it
 * says so in the log). Immutable once published; replaced only by the
 * reload, under file_lock, so a thread that is not a reader reads them
 * under that lock. */
struct settings {
	bool server_header;                    /* `server-header on`: workers */
	char access_log[DETOUR_CONF_PATH_MAX]; /* the path SIGUSR1 reopens: main thread */
	/* trusted-proxies: peers whose PROXY header (on a proxy-protocol
	 * listener) and Forwarded / X-Forwarded-* fields are believed. */
	struct cidr trusted[DETOUR_CONF_MAX_CIDRS];
	unsigned ntrusted; /* 0: none, and no request looks at those fields */
	/* hsts, https-redirect, canonical-host, trailing-slash compiled
	 * (detour_canon_new), owned; NULL when none is set: workers. */
	struct detour_canon *canon;
	bool canon_plain, canon_https; /* detour_canon_may_change(canon, false / true) */
};

/* Frees set and its canon. NULL is a no-op. */
void settings_free(struct settings *set);

/* What a reader loaded for one loop iteration; every pointer is valid until
 * its next publish_enter(). file and set are never NULL once published. */
struct view {
	const struct served *file;
	const struct served *api;  /* NULL: no API table */
	const struct maint *maint; /* NULL: maintenance off */
	const struct settings *set;
	const struct detour_canon *canon; /* set->canon, loaded once an iteration */
	bool canon_plain, canon_https;    /* set->canon_plain, set->canon_https */
	/* The statistics periods of file and api, loaded after our generation
	 * is published: the bitmaps this iteration's hits are marked in.
	 * A flusher that moves to the next period and then waits for our
	 * next iteration (publish_sync) knows every mark of the old one is
	 * made (stats_drain, served_collect). */
	unsigned file_period, api_period;
};

/* One reader (a worker thread). */
struct publish_reader {
	atomic_uint_fast64_t seen_gen; /* UINT64_MAX: holds nothing (not started, or gone) */
	int wake_fd;                   /* an eventfd the writer pokes; -1 before it exists */
};

struct publish {
	_Atomic(struct served *) file;  /* file rules, never NULL while readers run */
	_Atomic(struct served *) api;   /* API rules, or NULL */
	_Atomic(struct maint *) maint;  /* NULL while off */
	_Atomic(struct settings *) set; /* never NULL while readers run */
	atomic_uint_fast64_t gen;
	struct publish_reader *readers;
	unsigned nreaders;
	/* Threads that are not readers (the admin and main threads) read the
	 * file table and the settings only under file_lock, which the reload
	 * holds while it replaces them. */
	pthread_mutex_t file_lock;
	/* Hooks, set once before any reader starts (NULL: none). swapped runs
	 * after a rule table was swapped and before the old one is freed;
	 * retired gets the old table once no reader holds it, just before it
	 * is freed (to flush its counters). */
	void (*swapped)(void *arg);
	void (*retired)(void *arg, struct served *old);
	void *hook_arg;
};

/* Sets p up for nreaders readers, none started. Returns 0, or -1 when out
 * of memory. */
int publish_init(struct publish *p, unsigned nreaders);

/* Frees the readers and the published settings. Readers have stopped; the
 * rule tables and maintenance are freed by their owners first. */
void publish_fini(struct publish *p);

/* Publishes s in the file slot (&p->file) or the API slot (&p->api), waits
 * until no reader can see the table it replaces, hands that one to the
 * retired hook and frees it. */
void publish_served(struct publish *p, _Atomic(struct served *) *slot, struct served *s);

/* Publishes m as maintenance (NULL: off) and returns the state it replaced
 * once no reader can see it; the caller frees it. */
struct maint *publish_maint(struct publish *p, struct maint *m);

/* Publishes set (taken over) and frees the settings it replaces (and their
 * canon) once no reader can see them. */
void publish_settings(struct publish *p, struct settings *set);

/* Bumps the generation, wakes every reader and returns once each has
 * started a loop iteration after the call (or holds nothing): whatever a
 * reader did in an earlier iteration is then visible to the caller. */
void publish_sync(struct publish *p);

/* Reader side. A reader starts by publish_start (before its thread runs),
 * calls publish_enter at the top of every loop iteration and publish_leave
 * when it stops. */
void publish_start(struct publish *p, unsigned reader, int wake_fd);
void publish_enter(struct publish *p, unsigned reader, struct view *v);
void publish_leave(struct publish *p, unsigned reader);

#endif
