/* detour server: what the files of the admin thread share (not for other
 * modules: they use admin.h). Everything here runs on the admin thread,
 * except the tokens (tok_lock) and the maintenance recorder.
 *
 *   admin.c        the thread, the listener, connections, routing
 *   admin_auth.c   tokens and the bearer check
 *   admin_http.c   reading query strings and bodies, writing responses
 *   admin_rules.c  the API table: build, publish, expiry; GET/POST/DELETE /rules
 *   admin_maint.c  GET/POST /maintenance and its row in the state
 *   admin_ops.c    /reload, /stats, /audit, /metrics, /healthz
 *
 * See docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_INT_H
#define DETOUR_ADMIN_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "admin.h"
#include "core.h"
#include "detour/http1.h"
#include "log.h"
#include "loop.h"
#include "maint.h"
#include "publish.h"
#include "state.h"

#define ADMIN_BODY_MAX  (1024 * 1024) /* bodies over 1 MiB: 413 */
#define ADMIN_HEAD_MAX  32768
#define ADMIN_CONNS_MAX 64
#define ADMIN_IDLE_MS   30000
#define TOKEN_MAX       256 /* bytes compared, always all of them */
#define TOKENS_MAX      32
#define TOPK_MERGED     256

struct token {
	char name[64];
	unsigned char secret[TOKEN_MAX]; /* zero-padded */
	size_t len;
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
};

struct admin {
	struct server *srv;
	struct admin_hooks hooks; /* what it calls above itself (server.c) */
	pthread_t thread;
	bool started;
	struct loop *loop;
	struct loop_source listener; /* fd -1: no admin listener */
	struct loop_source wake;
	atomic_bool stop;
	struct aconn conns; /* sentinel */
	unsigned nconns;

	pthread_mutex_t tok_lock;
	bool auth; /* a token file is configured */
	struct token tokens[TOKENS_MAX];
	unsigned ntokens;

	struct api_rule *rules; /* owned: the API rules of srv->pub.api, precedence order */
	size_t nrules;
	struct maint_state maint; /* the maintenance row as last stored */
	int64_t next_expiry;      /* Unix seconds, 0 = none */
	uint64_t next_flush_ms;
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

/* ---- admin_auth.c ---- */

/* Reads a token file ("NAME TOKEN" or "TOKEN" a line, '#' comments) into
 * out (TOKENS_MAX entries). Returns 0, or -1 with err. */
int admin_load_tokens(const char *path, struct token *out, unsigned *n, char *err, size_t cap);

/* Checks r's "Authorization: Bearer" against the tokens. Returns NULL and
 * the token's name in who, or the message of the 401 to answer. */
const char *admin_authenticate(struct admin *a, const struct detour_request *r, char *who,
                               size_t cap);

/* ---- admin_http.c ---- */

/* Queues a whole response on c (body copied; extra: header lines, each
 * ending in CRLF, or NULL). Out of memory closes c after what is queued. */
void admin_reply(struct aconn *c, int status, const char *ctype, const char *body, size_t len,
                 const char *extra);

/* Queues j (taken over; NULL: an empty body) as the JSON body. */
void admin_reply_json(struct aconn *c, int status, json_t *j, const char *extra);

/* Queues {"error": msg} (with WWW-Authenticate for a 401). */
void admin_reply_error(struct aconn *c, int status, const char *msg);

/* Percent-decodes src[0..len) into dst (cap >= len + 1); '+' is a space
 * when plus. Returns false on a bad escape or a NUL. */
bool admin_pct_decode(const char *src, size_t len, char *dst, bool plus);

/* Finds key in r's query string and decodes its value into buf (cap
 * bytes). Returns buf, or NULL when absent or undecodable. */
const char *admin_query_get(const struct detour_request *r, const char *key, char *buf, size_t cap);

/* The integer value of key in lo..hi, def when absent; *bad set when
 * present but not such an integer. */
int64_t admin_query_int(const struct detour_request *r, const char *key, int64_t def, int64_t lo,
                        int64_t hi, bool *bad);

/* Parses the body as a JSON object whose keys are all in allowed (a NULL
 * terminated list). Returns it (the caller owns it), or NULL after
 * answering 400. */
json_t *admin_body_object(struct ctx *x, const char *const *allowed);

/* "ttl" (a duration) or "until" (RFC 3339) of j into an absolute expiry; 0
 * when neither. Returns 0, or -1 after answering 400. */
int admin_expiry_of(struct ctx *x, json_t *j, int64_t now, int64_t *expires);

/* t as an RFC 3339 string (new reference), or JSON null when t <= 0. */
json_t *admin_json_time(int64_t t);

/* ---- admin_rules.c ---- */

/* Builds the API table from rules (those not expired at now) and m. Returns
 * it (the caller owns it), or NULL with err. *next gets the earliest future
 * expiry of a rule or of m (0 = none). */
struct served *admin_build_api(struct server *srv, const struct api_rule *rules, size_t n,
                               const struct maint_state *m, int64_t now, int64_t *next, char *err,
                               size_t cap);

#define ADMIN_BUILD_FAILED (-2)

/* Inside a transaction of the state: reads the stored rules back, builds
 * the API table with m, commits and publishes it (m is copied into
 * a->maint). Returns 0; ADMIN_BUILD_FAILED when the table does not build;
 * -1 on a state error. On failure err is set and the transaction is over
 * (rolled back, or its commit failed). */
int admin_api_commit(struct admin *a, const struct maint_state *m, int64_t now, char *err,
                     size_t cap);

/* Deletes the rules and the API maintenance whose time ran out (audited)
 * and publishes the table without them. */
void admin_expire(struct admin *a);

void admin_get_rules(struct ctx *x);
void admin_post_rules(struct ctx *x);
void admin_delete_rule(struct ctx *x, const char *id);

/* ---- admin_maint.c ---- */

/* The stored maintenance row m as maint.c's parameters. */
void admin_maint_row_to_params(const struct maint_state *m, struct maint_params *p);

/* maint.h's recorder (arg: the admin): a change by the config, the file or
 * SIGUSR2 supersedes what the API stored; records it in the state (and its
 * audit). No-op without a state. Runs on the thread that made the change. */
void admin_maint_record(void *arg, const struct maint_status *st);

void admin_get_maintenance(struct ctx *x);
void admin_post_maintenance(struct ctx *x);

/* ---- admin_ops.c ---- */

/* Writes the counters of both published tables to the state. */
void admin_flush_stats(struct admin *a);

void admin_post_reload(struct ctx *x);
void admin_get_stats(struct ctx *x);
void admin_get_audit(struct ctx *x);
void admin_get_metrics(struct ctx *x);
void admin_get_healthz(struct ctx *x);

#endif
