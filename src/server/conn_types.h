/* detour server: the types of a worker's connections (struct conn, struct
 * conns), shared by conn.c (I/O, deadlines, the connection's life) and
 * request.c (one request's answer) without their including each other. */
#ifndef DETOUR_CONN_TYPES_H
#define DETOUR_CONN_TYPES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "accesslog.h"
#include "detour/forwarded.h"
#include "detour/http1.h"
#include "detour/http1_body.h"
#include "detour/respond.h"
#include "loop.h"
#include "publish.h"

struct route_hop; /* route.h */
#include "stats.h"

struct conns;
struct acme_http01;
struct tls_ctx; /* tls.h */
struct ssl_st;  /* OpenSSL's SSL */
struct h2;      /* h2.h */

/* Each connection sits in exactly one deadline list. Every list has a single
 * timeout, so appending at the tail keeps it sorted by deadline and expiry
 * only looks at heads: O(1) per event, no heap. */
enum conn_list { LIST_NONE = 0, LIST_ACTIVE, LIST_IDLE, LIST_LINGER, LIST_COUNT };

/* The first sizes of a connection's buffers; what they grow beyond them
 * counts against `limit buffer-memory` (budget.h). */
#define CONN_IN_INITIAL  4096
#define CONN_OUT_INITIAL 8192

/* A link of the worker's ready list (budget.h). */
struct conn_link {
	struct conn_link *prev, *next;
};

/* Where request.c writes an answer (request.h), set up once by its owner:
 * *buf holds *cap bytes, of which the first *len are taken (the responses
 * queued before it); the answer is appended and *len moved past it. A buffer
 * that cannot take an answer while it is empty is grown to
 * DETOUR_RESPONSE_MAX with budget_grow (budget.h), so *buf is malloc'ed, and
 * its growth is counted for the connection exactly as c->in's and c->out's
 * are, whichever buffer it is. *close is set when the answer ends the
 * connection (Connection: close). A connection's own (struct conn.resp)
 * points at its output buffer; an HTTP/2 session's at its render buffer. */
struct req_out {
	char **buf;
	uint32_t *cap;
	uint32_t *len;
	bool *close;
};

enum conn_state {
	ST_HEAD = 0, /* reading request heads */
	ST_BODY,     /* skipping the body of the current request */
	ST_LINGER,   /* response sent, write side shut: discarding input until EOF */
	ST_PROXY,    /* a proxy-protocol listener's: reading the PROXY header first */
};

struct conn {
	struct loop_source src; /* first: the loop hands it back */
	struct conns *cs;
	struct conn *prev, *next;
	uint64_t deadline_ms;
	uint8_t list;     /* enum conn_list */
	uint8_t state;    /* enum conn_state */
	bool close_after; /* close (lingering) once out is flushed */
	bool want_write;  /* registered for LOOP_WRITE */
	bool read_paused; /* output is backed up: not reading */
	bool peer_eof;    /* the client closed its side */
	bool clean_close; /* closing: nothing of the client's is left unread (no linger) */
	bool https;     /* the connection's scheme: a TLS listener, or a PROXY header's (issue 9) */
	bool tls_rw;    /* TLS: a read waits for the socket to be writable */
	bool unwatched; /* not (yet) in the epoll set: answered by the accept's own read */
	bool shed;      /* over the memory budget: closed after this batch (budget.h) */
	bool paused;    /* past the soft memory limit, output backed up: not read (budget.h) */
	bool h1;        /* HTTP/1.x: decided on the first input (h2_start) */
	uint8_t listener; /* index of the listener that accepted it (metrics) */
	char *in;
	uint32_t in_len, in_cap;
	char *out;
	uint32_t out_len, out_off, out_cap;
	struct detour_http1_body body;
	struct req_out resp;    /* &out, &out_cap, &out_len, &close_after: set at calloc */
	struct conn_link ready; /* on cs->ready: owed a turn (budget.h); else unlinked */
	uint32_t held;          /* bytes of in + out beyond their initial sizes, counted */
	struct ssl_st *tls; /* NULL on a plain connection; else reads and writes go through tls.h */
	struct h2 *h2;      /* the HTTP/2 session (h2.h), NULL for HTTP/1.x */
	char peer[INET6_ADDRSTRLEN]; /* for the access log */
	uint64_t req_start_ms;       /* the access log's duration: when the request's
	                                first byte was read (cs->now_ms) */
	/* The client's address, binary (maintenance allow-ip=, the rules' if-ip=). */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer_sa;
};

/* One worker's connections and what answering them needs. The owner sets
 * id, loop, timeouts_ms, limits, st, pathbuf, locbuf, hop, alog and closed,
 * calls conn_set_init, refreshes the clocks and view every loop iteration. */
struct conns {
	unsigned id; /* the worker's: log lines, counter rows */
	struct loop *loop;
	struct conn lists[LIST_COUNT]; /* sentinels of the deadline lists */
	unsigned timeouts_ms[LIST_COUNT];
	unsigned nconns;
	struct conn *free_conns;
	unsigned nfree;
	bool draining;          /* answer with Connection: close, close idle ones */
	uint32_t tls_listeners; /* bit i: listener i speaks TLS (tls, tls.h) */
	struct tls_ctx *tls;    /* the server's TLS context; NULL without TLS listeners */

	/* Clocks: refreshed once per loop iteration. */
	uint64_t now_ms;
	time_t now_sec;
	char date[DETOUR_DATE_LEN + 1];
	char log_time[32]; /* "23/Nov/2026:01:29:58 +0000" */

	/* The snapshots loaded at the top of every loop iteration (publish.h):
	 * file and API rules, maintenance, settings. Nothing of them is held
	 * across iterations. */
	struct view view;
	struct wstats *st;                /* counters (stats.h), read by the admin thread */
	const struct acme_http01 *http01; /* ACME HTTP-01 tokens (acme_http01.h), NULL: none */
	struct alog alog;                 /* access log (accesslog.h) */

	/* Settings copied at start (reload does not change them). */
	struct detour_http1_limits limits;
	uint32_t proxy_listeners; /* bit i: listener i has proxy-protocol */
	bool http2;               /* `http2 on`: h2c with prior knowledge (h2.h) */

	/* Scratch, per request. */
	struct detour_request req;
	char *pathbuf; /* 3 * limits.max_target + 1: normalising may percent-encode */
	char *locbuf;  /* DETOUR_LOCATION_MAX */
	/* The client a trusted proxy named (Forwarded, X-Forwarded-For): the
	 * request's q.peer points at fwd.addr when it did; fwd_peer is its text
	 * for the access log. */
	struct detour_fwd fwd;
	char fwd_peer[INET6_ADDRSTRLEN];
	struct route_hop *hop; /* route.h: canonical-URL hops (view.canon) */

	uint64_t requests; /* served */

	/* Hostile clients (budget.h): the connections owed a turn, run after
	 * each epoll batch; the bytes connection buffers hold beyond their
	 * initial sizes (held), of it those of connections shed but not closed
	 * yet (shed_held), and the soft bound (`limit buffer-memory`; the hard
	 * cap is twice it). */
	struct conn_link ready;
	uint64_t buf_held, buf_shed_held, buf_limit;
	unsigned npaused;       /* connections paused (budget_pause) */
	uint64_t shed_log_ms;   /* when a shed was last logged (one line a second) */
	unsigned shed_unlogged; /* sheds since that line */

	/* Called after a connection closed (nconns already lowered): the
	 * worker takes up accepting again below its cap. */
	void (*closed)(struct conns *cs);
};

#endif
