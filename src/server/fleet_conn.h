/* detour server: connections to the fleet's Redis (docs/internals/fleet.md).
 * A link is the parsed `state` URL, this node's name and the key names; a
 * connection is a hiredis synchronous context to the primary: found through
 * the sentinels for redis-sentinel:// (SENTINEL get-master-addr-by-name, then
 * ROLE must say master), authenticated (AUTH) and on its database (SELECT).
 * Every thread that talks to Redis has its own connection. */
#ifndef DETOUR_FLEET_CONN_H
#define DETOUR_FLEET_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "detour/fleet.h"

#define FLEET_KEY_MAX 200

struct fleet_tls;

struct fleet_link {
	struct detour_fleet_url url;
	struct fleet_tls *tls; /* rediss://: the client context (fleet_tls.h) */
	char node[64];
	/* PREFIX:rules (hash id -> rule), :maint (string), :version
	 * (counter), :seq (rule numbers), :log (the stream), :hits and
	 * :last (fleet totals), :hits:NODE and :last:NODE, :node:NODE (the
	 * heartbeat), :nodes (a set of node names), :tok:TOKEN. */
	char k_rules[FLEET_KEY_MAX], k_maint[FLEET_KEY_MAX], k_version[FLEET_KEY_MAX],
	        k_seq[FLEET_KEY_MAX], k_log[FLEET_KEY_MAX], k_hits[FLEET_KEY_MAX],
	        k_last[FLEET_KEY_MAX], k_nodes[FLEET_KEY_MAX], k_audit[FLEET_KEY_MAX],
	        k_audit_node[FLEET_KEY_MAX], k_req[FLEET_KEY_MAX], k_req_node[FLEET_KEY_MAX],
	        k_rank[FLEET_KEY_MAX];
};

/* Fills l from the URL of detour.conf and the node's name. Returns 0, or -1
 * with err. */
int fleet_link_init(struct fleet_link *l, const char *url, const char *node, char *err, size_t cap);

/* A key of l's prefix: PREFIX:a[:b]. */
void fleet_key(const struct fleet_link *l, char *out, size_t cap, const char *a, const char *b);

/* The key of one node's a (fleet_key(l, out, cap, a, node)) or, with node
 * NULL, the fleet-wide key whole (l->k_req, l->k_audit). */
void fleet_key_of_node(const struct fleet_link *l, char *out, size_t cap, const char *a,
                       const char *node, const char *whole);

/* Connects to the primary with timeout_ms for connecting and for every
 * command after. where gets "HOST:PORT" of the primary (or of the URL's host
 * when it failed). Returns the context, or NULL with err. */
redisContext *fleet_connect(const struct fleet_link *l, unsigned timeout_ms, char *where,
                            size_t wcap, char *err, size_t cap);

/* The reason of a failed command: the context's error or an error reply.
 * Returns err. */
const char *fleet_why(redisContext *c, redisReply *r, char *err, size_t cap);

/* Redis's clock (TIME) in Unix milliseconds, or -1. */
int64_t fleet_redis_ms(redisContext *c);

static inline int64_t fleet_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
