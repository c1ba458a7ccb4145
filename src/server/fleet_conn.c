/* detour server: connections to the fleet's Redis, see fleet_conn.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "fleet_conn.h"
#include "fleet_tls.h"

void fleet_key(const struct fleet_link *l, char *out, size_t cap, const char *a, const char *b)
{
	snprintf(out, cap, "%s:%s%s%s", l->url.prefix, a, b ? ":" : "", b ? b : "");
}

void fleet_key_of_node(const struct fleet_link *l, char *out, size_t cap, const char *a,
                       const char *node, const char *whole)
{
	if (node)
		fleet_key(l, out, cap, a, node);
	else
		snprintf(out, cap, "%s", whole);
}

int fleet_link_init(struct fleet_link *l, const char *url, const char *node, char *err, size_t cap)
{
	char e[400];

	memset(l, 0, sizeof(*l));
	if (detour_fleet_url_parse(url, strlen(url), &l->url, e, sizeof(e)) != DETOUR_OK) {
		snprintf(err, cap, "state: %s", e);
		return -1;
	}
	snprintf(l->node, sizeof(l->node), "%s", node);
	fleet_key(l, l->k_rules, FLEET_KEY_MAX, "rules", NULL);
	fleet_key(l, l->k_maint, FLEET_KEY_MAX, "maint", NULL);
	fleet_key(l, l->k_version, FLEET_KEY_MAX, "version", NULL);
	fleet_key(l, l->k_seq, FLEET_KEY_MAX, "seq", NULL);
	fleet_key(l, l->k_log, FLEET_KEY_MAX, "log", NULL);
	fleet_key(l, l->k_hits, FLEET_KEY_MAX, "hits", NULL);
	fleet_key(l, l->k_last, FLEET_KEY_MAX, "last", NULL);
	fleet_key(l, l->k_rank, FLEET_KEY_MAX, "rank", NULL);
	fleet_key(l, l->k_nodes, FLEET_KEY_MAX, "nodes", NULL);
	fleet_key(l, l->k_audit, FLEET_KEY_MAX, "audit", NULL);
	fleet_key(l, l->k_audit_node, FLEET_KEY_MAX, "audit", node);
	fleet_key(l, l->k_req, FLEET_KEY_MAX, "req", NULL);
	fleet_key(l, l->k_req_node, FLEET_KEY_MAX, "req", node);
	return 0;
}

const char *fleet_why(redisContext *c, redisReply *r, char *err, size_t cap)
{
	if (r && r->type == REDIS_REPLY_ERROR)
		snprintf(err, cap, "%.*s", (int)r->len, r->str);
	else if (c && c->err)
		snprintf(err, cap, "%s", c->errstr[0] ? c->errstr : "I/O error");
	else if (r == NULL)
		snprintf(err, cap, "no reply");
	else
		snprintf(err, cap, "unexpected reply (type %d)", r->type);
	return err;
}

int64_t fleet_redis_ms(redisContext *c)
{
	redisReply *r = redisCommand(c, "TIME");
	int64_t ms = -1;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING)
		ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
		     strtoll(r->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(r);
	return ms;
}

/* One connection to host:port, over TLS for rediss:// (fleet_tls.c: the
 * same blocking hiredis context, relayed). */
static redisContext *open_one(const struct fleet_link *l, const char *host, unsigned port,
                              unsigned timeout_ms, char *err, size_t cap)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	redisContext *c;

	if (l->url.tls) {
		c = fleet_tls_connect(l->tls, host, port,
		                      l->url.tls_name[0] ? l->url.tls_name : host, timeout_ms, err,
		                      cap);
		if (c)
			redisSetTimeout(c, tv);
		return c;
	}
	c = redisConnectWithTimeout(host, (int)port, tv);

	if (c == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	if (c->err) {
		snprintf(err, cap, "%s", c->errstr);
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	return c;
}

/* The primary's address from the first sentinel that knows it. */
static int ask_sentinels(const struct fleet_link *l, unsigned timeout_ms, char *host, size_t hcap,
                         unsigned *port, char *err, size_t cap)
{
	char e[300] = "no sentinel answered";

	for (unsigned i = 0; i < l->url.nhosts; i++) {
		const struct detour_fleet_host *h = &l->url.hosts[i];
		redisContext *c = open_one(l, h->host, h->port, timeout_ms, e, sizeof(e));
		if (c == NULL)
			continue;
		redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", l->url.name);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			snprintf(host, hcap, "%s", r->element[0]->str);
			*port = (unsigned)strtoul(r->element[1]->str, NULL, 10);
			freeReplyObject(r);
			redisFree(c);
			return 0;
		}
		if (r && r->type == REDIS_REPLY_NIL)
			snprintf(e, sizeof(e), "sentinel %s:%u does not know \"%s\"", h->host,
			         h->port, l->url.name);
		else
			fleet_why(c, r, e, sizeof(e));
		freeReplyObject(r);
		redisFree(c);
	}
	snprintf(err, cap, "sentinels: %s", e);
	return -1;
}

static bool ok_reply(redisContext *c, redisReply *r, char *err, size_t cap, const char *what)
{
	char e[300];

	if (r && r->type != REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return true;
	}
	snprintf(err, cap, "%s: %s", what, fleet_why(c, r, e, sizeof(e)));
	freeReplyObject(r);
	return false;
}

redisContext *fleet_connect(const struct fleet_link *l, unsigned timeout_ms, char *where,
                            size_t wcap, char *err, size_t cap)
{
	char host[256];
	unsigned port;
	redisContext *c;
	redisReply *r;

	if (l->url.sentinel) {
		snprintf(where, wcap, "sentinel %s:%u", l->url.hosts[0].host, l->url.hosts[0].port);
		if (ask_sentinels(l, timeout_ms, host, sizeof(host), &port, err, cap))
			return NULL;
	} else {
		snprintf(host, sizeof(host), "%s", l->url.hosts[0].host);
		port = l->url.hosts[0].port;
	}
	snprintf(where, wcap, "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
	         strchr(host, ':') ? "]" : "", port);
	c = open_one(l, host, port, timeout_ms, err, cap);
	if (c == NULL)
		return NULL;
	if (l->url.password[0]) {
		if (l->url.user[0])
			r = redisCommand(c, "AUTH %s %s", l->url.user, l->url.password);
		else
			r = redisCommand(c, "AUTH %s", l->url.password);
		if (!ok_reply(c, r, err, cap, "AUTH"))
			goto fail;
	}
	if (l->url.db && !ok_reply(c, redisCommand(c, "SELECT %u", l->url.db), err, cap, "SELECT"))
		goto fail;
	/* A sentinel may still name the old primary for a moment after a
	 * failover, and a demoted one refuses writes: only a primary will do. */
	r = redisCommand(c, "ROLE");
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		ok_reply(c, r, err, cap, "ROLE");
		goto fail;
	}
	if (strcmp(r->element[0]->str, "master")) {
		snprintf(err, cap, "%s is a %s, not the primary", where, r->element[0]->str);
		freeReplyObject(r);
		goto fail;
	}
	freeReplyObject(r);
	return c;
fail:
	redisFree(c);
	return NULL;
}
