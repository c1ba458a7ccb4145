/* detour server: the worker threads. Each owns an epoll loop (loop.h), one
 * SO_REUSEPORT listener per configured address (listen.h), and its
 * connections (conn.h); nothing is shared between workers but the
 * published snapshots (publish.h) and the few atomics of struct pool. */
#ifndef DETOUR_WORKER_H
#define DETOUR_WORKER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conn.h"
#include "detour/config.h"
#include "loop.h"
#include "publish.h"

struct listener {
	struct loop_source src;
	struct worker *w;
	bool active;
};

/* The workers and what they share with the threads that start, stop and
 * ask them (server.c, the admin thread). Set up before the first worker
 * starts; afterwards only the atomics change. */
struct pool {
	struct publish *pub;              /* the snapshots every worker reads */
	const struct detour_config *conf; /* the start-up configuration (listen, limits,
	                                     timeouts, stats): a reload never changes it */
	struct worker *w;                 /* n workers */
	unsigned n;
	unsigned max_conns;    /* per worker */
	int access_fd;         /* -1 when off; reopened in place with dup2() */
	struct tls_ctx *tls;   /* tls.h: the TLS listeners' context, NULL without any */
	atomic_bool stopping;  /* SIGTERM/SIGINT: stop accepting, drain, exit */
	atomic_uint flush_gen; /* bumped to ask every worker to flush its access log */
	atomic_uint topk_gen;  /* bumped to ask workers for a sketch snapshot */

	/* ACME HTTP-01 tokens (acme_http01.h), NULL: none */
	const struct acme_http01 *http01;
};

struct worker {
	struct pool *pool;
	unsigned id;
	pthread_t thread;
	bool started;
	struct listener *listeners;
	unsigned nlisteners;
	struct loop_source wake; /* eventfd: publishers and the main thread ask us to look */
	atomic_uint flush_ack;
	unsigned flush_seen;
	uint64_t drain_deadline_ms;
	uint64_t accept_paused_until_ms;
	unsigned accept_pauses; /* in a row (EMFILE, ENOMEM): logged at the first */
	unsigned max_conns;
	struct conns cs; /* the connections, their clocks, scratch and counters (conn.h) */
};

/* worker.c: prepares worker id of p (p->w[id]): its loop and its
 * listeners, bound here (so before the privilege drop, server.c); no
 * thread yet. Returns 0, or -1 with err (the caller joins the workers
 * prepared so far, this one included). */
int worker_prepare(struct pool *p, unsigned id, char *err, size_t cap);

/* Starts the thread of prepared worker w, which serves from then on.
 * Returns 0, or -1 with err (the caller stops and joins every worker). */
int worker_run(struct worker *w, char *err, size_t cap);

/* Wakes w's loop (an eventfd): it looks at the pool's atomics at once. */
void worker_wake(struct worker *w);

/* Joins w's thread (when it started) and frees what it owns. */
void worker_join(struct worker *w);

/* The last access-log flush w acknowledged (a flush_gen value). */
unsigned worker_flush_ack(const struct worker *w);

#endif
