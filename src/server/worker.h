/* detour server: private state of a worker thread, shared by worker.c
 * (thread, listeners, accept, deadlines), conn.c (one connection: read,
 * parse, respond, write) and accesslog.c. */
#ifndef DETOUR_WORKER_H
#define DETOUR_WORKER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "detour/http1.h"
#include "detour/respond.h"
#include "detour/table.h"
#include "loop.h"
#include "publish.h"
#include "stats.h"

/* Each connection sits in exactly one deadline list. Every list has a single
 * timeout, so appending at the tail keeps it sorted by deadline and expiry
 * only looks at heads: O(1) per event, no heap. */
enum conn_list { LIST_NONE = 0, LIST_ACTIVE, LIST_IDLE, LIST_LINGER, LIST_COUNT };

enum conn_state {
	ST_HEAD = 0, /* reading request heads */
	ST_BODY,     /* skipping the body of the current request */
	ST_LINGER,   /* response sent, write side shut: discarding input until EOF */
};

struct conn {
	struct loop_source src; /* first: the loop hands it back */
	struct worker *w;
	struct conn *prev, *next;
	uint64_t deadline_ms;
	uint8_t list;     /* enum conn_list */
	uint8_t state;    /* enum conn_state */
	bool close_after; /* close (lingering) once out is flushed */
	bool want_write;  /* registered for LOOP_WRITE */
	bool read_paused; /* output is backed up: not reading */
	bool peer_eof;    /* the client closed its side */
	uint8_t listener; /* index of the listener that accepted it (metrics) */
	char *in;
	uint32_t in_len, in_cap;
	char *out;
	uint32_t out_len, out_off, out_cap;
	uint32_t out_hold; /* bytes from this offset wait for the current body; HOLD_NONE */
	struct detour_http1_body body;
	char peer[INET6_ADDRSTRLEN]; /* for the access log */
	/* The client's address, binary (maintenance allow-ip=, the rules' if-ip=). */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer_sa;
};

#define HOLD_NONE UINT32_MAX

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
	atomic_bool stopping;  /* SIGTERM/SIGINT: stop accepting, drain, exit */
	atomic_uint flush_gen; /* bumped to ask every worker to flush its access log */
	atomic_uint topk_gen;  /* bumped to ask workers for a sketch snapshot */
};

struct worker {
	struct pool *pool;
	unsigned id;
	pthread_t thread;
	bool started;
	struct loop *loop;
	struct listener *listeners;
	unsigned nlisteners;
	struct loop_source wake; /* eventfd: main thread asks us to look at srv */
	atomic_uint flush_ack;
	unsigned flush_seen;
	bool draining;
	uint64_t drain_deadline_ms;
	uint64_t accept_paused_until_ms;

	/* The snapshots loaded at the top of every loop iteration (publish.h):
	 * file and API rules, maintenance, settings. Nothing of them is held
	 * across iterations. */
	struct view view;
	struct wstats *st;       /* counters (stats.h), read by the admin thread */
	uint8_t accept_listener; /* listener being accepted from */

	struct conn lists[LIST_COUNT]; /* sentinels of the deadline lists */
	unsigned timeouts_ms[LIST_COUNT];
	unsigned nconns, max_conns;
	struct conn *free_conns;
	unsigned nfree;

	/* Clocks: refreshed once per loop iteration. */
	uint64_t now_ms;
	time_t now_sec;
	char date[DETOUR_DATE_LEN + 1];
	char log_time[32]; /* "23/Nov/2026:01:29:58 +0000" */

	/* Settings copied at start (reload does not change them). */
	struct detour_http1_limits limits;

	/* Scratch, per request. */
	struct detour_request req;
	char *pathbuf; /* 3 * limits.max_target + 1: normalising may percent-encode */
	char *locbuf;  /* DETOUR_LOCATION_MAX */

	/* Access log buffer (accesslog.c). */
	char *alog;
	size_t alog_len, alog_cap;

	uint64_t requests; /* served by this worker */
};

/* worker.c: starts worker id of p (p->w[id]): its loop, its listeners and
 * its thread. Returns 0, or -1 with err (the caller stops and joins the
 * workers started so far, this one included). */
int worker_start(struct pool *p, unsigned id, char *err, size_t cap);

/* Wakes w's loop (an eventfd): it looks at the pool's atomics at once. */
void worker_wake(struct worker *w);

/* Joins w's thread (when it started) and frees what it owns. */
void worker_join(struct worker *w);

/* The last access-log flush w acknowledged (a flush_gen value). */
unsigned worker_flush_ack(const struct worker *w);

/* conn.c */
void conn_accepted(struct worker *w, int fd, const struct sockaddr *sa);
void conn_timeout(struct conn *c);
void conn_close(struct conn *c);
void conn_drain(struct conn *c);

/* worker.c */
void worker_list_move(struct worker *w, struct conn *c, enum conn_list list);
void worker_conn_closed(struct worker *w);

/* accesslog.c */
void alog_init(struct worker *w);
void alog_request(struct worker *w, const struct conn *c, const struct detour_request *req,
                  int status, size_t bytes, const struct detour_match *m, const char *loc,
                  size_t loc_len);
void alog_flush(struct worker *w);
void alog_fini(struct worker *w);

#endif
