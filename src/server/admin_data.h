/* detour server: the data the files of the admin thread share (not for
 * other modules: they use admin.h). Everything here runs on the admin
 * thread, except the tokens (tok_lock) and the maintenance recorder. Each
 * file's functions are declared in its own header:
 *
 *   admin.c        the thread, the listener, connections, routing (admin.h)
 *   admin_auth.c   tokens and the bearer check (admin_auth.h)
 *   admin_guard.c  Host, Origin and Content-Type checks against web pages (admin_guard.h)
 *   admin_http.c   reading query strings and bodies, writing responses (admin_http.h)
 *   admin_rules.c  the API table: build, publish; GET/POST/DELETE /rules
 *                  (admin_rules.h)
 *   admin_maint.c  GET/POST /maintenance, the row's encoding (admin_maint.h)
 *   admin_ops.c    /reload, /stats, /audit, /metrics, /healthz (admin_ops.h)
 *   admin_sqlite.c the store of one node: the SQLite state (admin_sqlite.h)
 *   admin_fleet.c  the store of a fleet: Redis, and GET /fleet (admin_fleet.h)
 *
 * It is not admin.c's private admin_int.h: admin.c includes the headers of
 * the files above, which include this one, so this one includes nothing of
 * admin.c (struct admin_hooks is in admin_hooks.h). See
 * docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_DATA_H
#define DETOUR_ADMIN_DATA_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "admin_hooks.h"
#include "core.h"
#include "detour/http1.h"
#include "log.h"
#include "loop.h"
#include "maint.h"
#include "publish.h"
#include "state.h"
#include "stats.h"

#define ADMIN_BODY_MAX      (1024 * 1024) /* bodies over 1 MiB: 413 */
#define ADMIN_HEAD_MAX      32768
#define ADMIN_CONNS_MAX     64    /* at the cap, an unauthenticated one is evicted (admin.c) */
#define ADMIN_IDLE_MS       30000 /* an authenticated keep-alive connection between requests */
#define ADMIN_BODY_MS       30000 /* a whole body, from its head (absolute) */
#define ADMIN_LINGER_MS     2000  /* reading and dropping what follows a last answer */
#define ADMIN_LINGER_MAX    (4 * 1024 * 1024) /* bytes dropped at most */
#define TOKEN_MAX           256               /* bytes compared, always all of them */
#define TOKENS_MAX          32
#define TOPK_MERGED         256
#define AUDIT_PRUNE_BATCH   500   /* audit records deleted per transaction (admin_ops.c) */
#define AUDIT_PRUNE_NEXT_MS 10    /* from a full batch to the next */
#define AUDIT_PRUNE_MAX_MS  60000 /* between prunes at most */

struct token {
	char name[64];
	unsigned char secret[TOKEN_MAX]; /* zero-padded */
	size_t len;
};

/* The admin listener as admin_guard.c checks a Host or an Origin against it. */
struct admin_guard {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* the listener's address, network order */
	bool any;               /* a wildcard (0.0.0.0 or ::): any IP literal names it */
	unsigned port;
	bool tls;       /* the origin's scheme is https */
	char name[300]; /* "127.0.0.1:8081", "[::1]:8081", for messages */
};

/* One admin connection: whole requests are read into in, whole responses
 * queued in out (both owned, malloc'd). */
struct aconn {
	struct loop_source src;
	struct admin *a;
	struct aconn *prev, *next;
	uint64_t deadline_ms;
	char *in;
	size_t in_len, in_cap;
	char *out; /* grown with BASE_GROW, freed when written out */
	size_t out_len, out_off, out_cap;
	bool close_after, want_write;
	/* A request on it carried a valid token (or none is configured and it
	 * passed admin_guard.c): not evicted when the connections run out. */
	bool authed;
	/* The head in `in` passed the guard and the token: its body may be
	 * read (and grows `in`), then it is dispatched. */
	bool admitted;
	/* Answered for the last time and half-closed (shutdown SHUT_WR): what
	 * the client still sends is read and dropped, so that closing with
	 * unread bytes does not reset the connection under the answer. */
	bool draining;
	size_t drained;
	char who[64]; /* the admitted request's token name, or "local" */
	/* The request being answered is a HEAD: admin_reply() queues the head
	 * a GET would get, Content-Length included, and no body (RFC 9110
	 * §9.3.2); a body would be read as the next answer on the connection. */
	bool head;
	/* POST /reload asked the reload thread and waits for its answer
	 * (admin_reload_answer): nothing more is read or answered on this
	 * connection until then, and it has no deadline. */
	bool waiting;
	struct reload_wait reload;
};

struct ctx;

struct maint_params;
struct maint_page;
struct bbuf;

/* Where the admin keeps what it stores: the API rules, maintenance, the
 * statistics and the audit log. One of two (admin_prepare picks it):
 * admin_sqlite.c, the single node's SQLite state under state-dir (the
 * default), and admin_fleet.c, the fleet's Redis (`state redis://...`).
 * The handlers validate a request and call the store, which answers it;
 * nothing above the store knows which one it is. */
struct admin_store {
	const char *name; /* "sqlite", "redis" */
	/* admin_prepare (srv->state open): loads the stored API rules and
	 * maintenance into a->rules and a->maint and publishes the API
	 * table, before any worker runs. Returns 0, or -1 with err. */
	int (*load)(struct admin *a, char *err, size_t cap);
	/* admin_start, before the admin thread runs. */
	int (*start)(struct admin *a, char *err, size_t cap);
	/* Every admin loop iteration (the fleet: a snapshot from the
	 * follower; NULL: nothing). */
	void (*poll)(struct admin *a);
	/* a->next_expiry reached: what ran out stops serving now. */
	void (*expire)(struct admin *a);
	/* admin_stop, the admin thread joined. */
	void (*stop)(struct admin *a);
	/* A rule change, validated by the handler: made, audited, answered. */
	void (*add_rule)(struct ctx *x, const char *id, const char *line, int64_t now,
	                 int64_t expires);
	void (*delete_rule)(struct ctx *x, const char *id);
	/* Maintenance m through the API (p, pg: its parameters and page, read
	 * and checked; pg is taken), detail: the audit's words. Answered. */
	void (*set_maint)(struct ctx *x, const struct maint_state *m, const struct maint_params *p,
	                  struct maint_page *pg, const char *detail);
	/* Maintenance changed by the config, its file or a signal (any
	 * thread): recorded and audited. */
	void (*record_maint)(struct admin *a, const struct maint_state *m, const char *detail);
	/* The hits counted in s since its last flush (the admin thread, and
	 * the main thread for a table a reload retires). */
	void (*flush_served)(struct admin *a, struct served *s);
	/* After the tables' flush (the admin thread): what else the store
	 * counts (the fleet: requests, unmatched paths). NULL: nothing. */
	void (*flush_more)(struct admin *a);
	/* GET /stats, the query read (the store reads ?node=). */
	void (*get_stats)(struct ctx *x, int64_t offset, int64_t limit, int64_t since, int64_t top);
	/* One audit record that goes with no change (a reload). */
	void (*audit)(struct admin *a, const char *who, const char *action, const char *detail);
	/* GET /audit: the last limit records, newest first. */
	void (*get_audit)(struct ctx *x, int64_t limit);
	/* `audit-keep`: deletes at most batch of the oldest audit records
	 * older than keep_s seconds (0: none by age) or beyond the newest
	 * keep_max (0: no cap). Returns how many, or -1 (logged); *more:
	 * a batch came back full (there may be more). */
	int64_t (*prune_audit)(struct admin *a, int64_t keep_s, int64_t keep_max, int batch,
	                       bool *more);
	/* /metrics: the store's series (the most hit rules; the fleet's,
	 * ?node= one node's requests). */
	void (*metrics)(struct ctx *x, struct bbuf *b);
};

struct admin {
	struct server *srv;
	const struct admin_store *store; /* never NULL once admin_prepare ran */
	struct admin_hooks hooks;        /* what it calls above itself (server.c) */
	pthread_t thread;
	bool started;
	struct loop *loop;
	struct loop_source listener; /* fd -1: no admin listener */
	struct loop_source wake;
	atomic_bool stop;
	struct aconn conns; /* sentinel */
	unsigned nconns;
	struct admin_guard guard; /* the listener, for the Host and Origin checks */
	unsigned head_ms;         /* `timeout header`: a head, from its first byte (absolute) */

	pthread_mutex_t tok_lock;
	bool auth; /* a token file is configured */
	struct token tokens[TOKENS_MAX];
	unsigned ntokens;

	struct api_rule *rules; /* owned: the API rules of srv->pub.api, precedence order */
	size_t nrules;
	struct maint_state maint; /* the maintenance row as last stored */
	int64_t next_expiry;      /* Unix seconds, 0 = none */
	/* The fleet (admin_fleet.c): the state version of rules and maint,
	 * and the local copy under state-dir to refresh (at most once a
	 * second). */
	int64_t version;
	bool mirror_dirty;
	uint64_t next_mirror_ms;
	uint64_t next_flush_ms;
	uint64_t next_prune_ms; /* the audit's next prune (admin_prune_audit) */
	/* The fleet: the requests by status slot (stats.h) flushed so far. */
	uint64_t req_flushed[STATUS_SLOTS];
	struct detour_request req;
};

/* One request being answered; every pointer is borrowed for the call. */
struct ctx {
	struct admin *a;
	struct aconn *c;
	const struct detour_request *r;
	const char *body;
	size_t body_len;
	const char *who; /* the token's name, or "local" */
};

static inline uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline int64_t now_sec(void)
{
	return (int64_t)time(NULL);
}

#endif
