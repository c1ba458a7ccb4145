/* detour server: the fleet's shared state in Redis, see fleet_store.h and
 * docs/internals/fleet.md. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/grow.h"
#include "detour/rulefile.h"
#include "detour/topk.h"
#include "fleet_store.h"
#include "fleet_store_int.h"
#include "fleet_tls.h"
#include "log.h"

#define STREAM_MAXLEN 10000 /* MAXLEN ~: a node further behind reloads everything */
#define TOKEN_TTL_MS  3600000

/* One script per change: nothing is written when it runs after its
 * deadline (by Redis's clock: a write stalled in a buffer or a paused
 * primary that runs it after the node answered 503 changes nothing); the
 * rule or maintenance key, the version counter, the stream entry and the
 * change's token change together, with its audit record (the fleet's and
 * the node's: who, what, which node). Replies {version, id, old value}, or
 * {0, id, ''} when an added id exists / a deleted one does not. The token
 * holds "VERSION ID\nOLD": a node that lost the reply learns from it both
 * that the change was applied and what it replaced (to undo it). */
static const char change_lua[] =
        "redis.replicate_commands() "
        "local t = redis.call('TIME') "
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
        "if now > tonumber(ARGV[1]) then "
        " return redis.error_reply('DEADLINE the change reached Redis after its deadline') "
        "end "
        "local op, id, d, old = ARGV[2], ARGV[3], ARGV[4], '' "
        "if op == 'add' then "
        " local n = redis.call('INCR', KEYS[4]) "
        " if id == '' then id = 'api:' .. n end "
        " if redis.call('HEXISTS', KEYS[1], id) == 1 then return {0, id, ''} end "
        " d = n .. '\\n' .. d "
        " redis.call('HSET', KEYS[1], id, d) "
        "elseif op == 'put' then "
        " redis.call('HSET', KEYS[1], id, d) "
        "elseif op == 'del' then "
        " old = redis.call('HGET', KEYS[1], id) "
        " if not old then return {0, id, ''} end "
        " redis.call('HDEL', KEYS[1], id) "
        "elseif op == 'maint' then "
        " old = redis.call('GET', KEYS[2]) or '' "
        " redis.call('SET', KEYS[2], d) "
        "else return redis.error_reply('ERR unknown op') end "
        "local v = redis.call('INCR', KEYS[3]) "
        "redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'v', v, 'op', op, 'id', id, "
        "'d', d) "
        "local det = ARGV[10] "
        "if op ~= 'maint' then "
        " if det ~= '' then det = id .. ' ' .. det else det = id end "
        "end "
        "for k = 7, 8 do "
        " redis.call('XADD', KEYS[k], '*', 'at', t[1], 'node', ARGV[7], "
        "'who', ARGV[8], 'action', ARGV[9], 'detail', det, 'v', v) "
        " if k == 8 and ARGV[11] ~= '0' then redis.call('PEXPIRE', KEYS[k], ARGV[11]) end "
        "end "
        "redis.call('SET', KEYS[6], v .. ' ' .. id .. '\\n' .. old, 'PX', ARGV[6]) "
        "return {v, id, old}";

/* Rules whose expiry passed and maintenance whose until passed, by Redis's
 * clock: deleted / ended with a stream entry and an audit record each
 * (naming the node that ran it: the first one to). */
static const char expire_lua[] =
        "redis.replicate_commands() "
        "local t = redis.call('TIME') "
        "local now = tonumber(t[1]) "
        "local function audit(v, action, detail) "
        " for k = 5, 6 do "
        "  redis.call('XADD', KEYS[k], '*', 'at', t[1], 'node', ARGV[2], "
        "'who', 'detour', 'action', action, 'detail', detail, 'v', v) "
        "  if k == 6 and ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[k], ARGV[3]) end "
        " end "
        "end "
        "local all = redis.call('HGETALL', KEYS[1]) "
        "local k = 0 "
        "for i = 1, #all, 2 do "
        " local e = tonumber(string.match(all[i + 1], '^%d+\\n%d+\\n(%d+)\\n')) "
        " if e and e > 0 and e <= now then "
        "  redis.call('HDEL', KEYS[1], all[i]) "
        "  local v = redis.call('INCR', KEYS[3]) "
        "  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'v', v, 'op', 'expire', "
        "'id', all[i], 'd', '') "
        "  audit(v, 'expire', all[i]) "
        "  k = k + 1 "
        " end "
        "end "
        "local m = redis.call('GET', KEYS[2]) "
        "if m then "
        " local on, st, since, u, rest = string.match(m, "
        "'^(%d)\\n(%d+)\\n(%d+)\\n(%d+)\\n(.*)$') "
        " if on == '1' and tonumber(since) > 0 and tonumber(u) > 0 and tonumber(u) <= now then "
        "  local d = '0\\n' .. st .. '\\n0\\n' .. u .. '\\n' .. rest "
        "  redis.call('SET', KEYS[2], d) "
        "  local v = redis.call('INCR', KEYS[3]) "
        "  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'v', v, 'op', 'maint', "
        "'id', 'maintenance', 'd', d) "
        "  audit(v, 'maintenance', 'api maintenance ended (until reached)') "
        "  k = k + 1 "
        " end "
        "end "
        "return k";

struct fleet *fleet_new(const struct detour_config *conf, char *err, size_t cap)
{
	struct fleet *f = calloc(1, sizeof(*f));
	char node[64];

	if (f == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	if (conf->state_node[0]) {
		snprintf(node, sizeof(node), "%s", conf->state_node);
	} else {
		char h[48] = "localhost";
		gethostname(h, sizeof(h) - 1);
		h[sizeof(h) - 1] = '\0';
		snprintf(node, sizeof(node), "%s:%u", h, (unsigned)conf->listen[0].port);
	}
	if (fleet_link_init(&f->l, conf->state_url, node, err, cap)) {
		free(f);
		return NULL;
	}
	/* rediss://: the CA, certificate and key are read now, before
	 * privileges are dropped (admin_prepare runs before privdrop_finish). */
	if (f->l.url.tls && (f->l.tls = fleet_tls_new(conf, err, cap)) == NULL) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->wlock, NULL);
	f->audit_keep_ms = conf->audit_keep_s * 1000;
	return f;
}

const char *fleet_node(const struct fleet *f)
{
	return f->l.node;
}

struct fleet_follow *fleet_follower(struct fleet *f)
{
	return f->ff;
}

int fleet_load(struct fleet *f, unsigned timeout_ms, struct fleet_snap *out, char *err, size_t cap)
{
	char where[300], e[600], lastid[64];
	redisContext *c = fleet_connect(&f->l, timeout_ms, where, sizeof(where), e, sizeof(e));
	int rc;

	if (c == NULL) {
		fleet_tls_join(f->l.tls); /* the sentinels' relays (below) */
		snprintf(err, cap, "Redis at %s: %s", where, e);
		return -1;
	}
	rc = fleet_follow_load(c, &f->l, out, lastid, sizeof(lastid), e, sizeof(e));
	redisFree(c);
	/* At start, before the drop: the relay threads of this load (and of
	 * the sentinels asked) are joined now, none runs when privileges are
	 * dropped (issue 11: no thread before the drop but this one). */
	fleet_tls_join(f->l.tls);
	if (rc) {
		snprintf(err, cap, "Redis at %s: %s", where, e);
		return -1;
	}
	/* The follower starts from this state at this stream id. */
	f->ff = fleet_follow_new(&f->l, -1, out, lastid);
	if (f->ff == NULL) {
		fleet_snap_free(out);
		snprintf(err, cap, "out of memory");
		return -1;
	}
	return 0;
}

int fleet_start(struct fleet *f, int wake_fd, const struct fleet_snap *initial, char *err,
                size_t cap)
{
	(void)initial;
	if (f->ff == NULL)
		f->ff = fleet_follow_new(&f->l, wake_fd, NULL, NULL);
	if (f->ff == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	fleet_follow_set_wake(f->ff, wake_fd);
	return fleet_follow_start(f->ff, err, cap);
}

void fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	fleet_follow_stop(f->ff);
	redisFree(f->wc);
	fleet_tls_free(f->l.tls); /* after every connection: joins the relays */
	pthread_mutex_destroy(&f->wlock);
	free(f);
}

/* ---- the write connection --------------------------------------------------- */

void fleet_wdrop(struct fleet *f)
{
	redisFree(f->wc);
	f->wc = NULL;
}

/* Under wlock. Returns the connection, or NULL with err. */
redisContext *fleet_wconn(struct fleet *f, char *err, size_t cap)
{
	char e[600];

	if (f->wc)
		return f->wc;
	f->wc = fleet_connect(&f->l, f->l.url.timeout_ms + 500, f->where, sizeof(f->where), e,
	                      sizeof(e));
	if (f->wc == NULL) {
		snprintf(err, cap, "Redis at %.200s: %.300s", f->where, e);
		return NULL;
	}
	int64_t t0 = fleet_wall_ms(), rt = fleet_redis_ms(f->wc), t1 = fleet_wall_ms();
	if (rt < 0) {
		snprintf(err, cap, "Redis at %s: TIME failed", f->where);
		fleet_wdrop(f);
		return NULL;
	}
	f->offset_ms = rt - (t0 + t1) / 2;
	return f->wc;
}

bool fleet_up(struct fleet *f)
{
	struct fleet_follow_status st;

	if (f->ff == NULL)
		return false;
	fleet_follow_status(f->ff, &st);
	return st.connected;
}

redisContext *fleet_wconn_or_unavailable(struct fleet *f, char *err, size_t cap)
{
	char e[600];
	redisContext *c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;

	if (c == NULL)
		snprintf(err, cap, "state store unavailable: %s",
		         fleet_up(f) ? e : "Redis is unreachable (see the error log)");
	return c;
}

static int unavailable(struct fleet *f, char *err, size_t cap, const char *why)
{
	atomic_fetch_add(&f->refused, 1);
	snprintf(err, cap, "state store unavailable: %s; the change was not applied", why);
	log_err("fleet: change refused: %s", why);
	return FLEET_UNAVAILABLE;
}

/* After a lost reply: waits until Redis's clock passed the change's deadline
 * (from then on the script can no longer run it), then looks up its token.
 * Returns 1 applied (*v, id, old: the value it replaced), 0 not applied, -1
 * could not tell. */
static int settle(struct fleet *f, const char *tok, int64_t deadline, int64_t *v, char *id,
                  size_t idcap, char *old, size_t oldcap)
{
	int64_t give_up = fleet_wall_ms() + 2 * (int64_t)f->l.url.timeout_ms + 3000;
	char e[600];

	while (fleet_wall_ms() < give_up) {
		redisContext *c = fleet_wconn(f, e, sizeof(e));
		if (c == NULL) {
			usleep(100000);
			continue;
		}
		int64_t now = fleet_redis_ms(c);
		if (now < 0) {
			fleet_wdrop(f);
			continue;
		}
		if (now <= deadline) {
			usleep((useconds_t)(deadline - now + 1) * 1000);
			continue;
		}
		redisReply *r = redisCommand(c, "GET %s", tok);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			fleet_wdrop(f);
			continue;
		}
		int rc = 0;
		if (r->type == REDIS_REPLY_STRING) {
			char *sp = strchr(r->str, ' '), *nl = strchr(r->str, '\n');
			*v = strtoll(r->str, NULL, 10);
			snprintf(id, idcap, "%.*s",
			         sp ? (int)(nl ? nl - sp - 1 : (int)strlen(sp + 1)) : 0,
			         sp ? sp + 1 : "");
			snprintf(old, oldcap, "%s", nl ? nl + 1 : "");
			rc = 1;
		}
		freeReplyObject(r);
		return rc;
	}
	return -1;
}

/* WAIT for the URL's replicas. Returns 0, or -1 with err. */
static int wait_replicas(struct fleet *f, redisContext *c, char *err, size_t cap)
{
	redisReply *r;

	if (f->l.url.replicas == 0)
		return 0;
	r = redisCommand(c, "WAIT %u %u", f->l.url.replicas, f->l.url.timeout_ms);
	if (r && r->type == REDIS_REPLY_INTEGER && r->integer >= (long long)f->l.url.replicas) {
		freeReplyObject(r);
		return 0;
	}
	if (r && r->type == REDIS_REPLY_INTEGER)
		snprintf(err, cap, "%lld of %u replicas confirmed the change within %u ms (WAIT)",
		         (long long)r->integer, f->l.url.replicas, f->l.url.timeout_ms);
	else
		fleet_why(c, r, err, cap);
	freeReplyObject(r);
	return -1;
}

static int run_change(struct fleet *f, const char *op, const char *id, const char *data,
                      const struct fleet_audit_rec *au, bool undo, int64_t *version, char *out_id,
                      size_t idcap, char *old, size_t oldcap, char *err, size_t cap);

/* A change Redis has but no replica confirmed: undone by its inverse (which
 * is itself WAITed for), so that a failover cannot lose a change that was
 * acknowledged, and none is acknowledged that was not confirmed. old: the
 * value the change replaced (from the script's reply, or from the change's
 * token when the reply was lost). Returns 0 when the undo is on the primary
 * and confirmed, 1 when it is on the primary (so on every node following
 * it) but WAIT did not confirm it either, -1 when it failed (why). */
static int revert(struct fleet *f, const char *op, const char *id, const char *old, char *why,
                  size_t cap)
{
	char nid[300];
	int64_t v;
	int rc;

	char detail[64];
	snprintf(detail, sizeof(detail), "(%s) not confirmed by the replicas",
	         !strcmp(op, "del")     ? "delete"
	         : !strcmp(op, "maint") ? "maintenance"
	                                : op);
	struct fleet_audit_rec au = {"detour", "undo", detail};

	if (!strcmp(op, "add"))
		rc = run_change(f, "del", id, "", &au, true, &v, nid, sizeof(nid), NULL, 0, why,
		                cap);
	else
		rc = run_change(f, !strcmp(op, "del") ? "put" : "maint", id, old, &au, true, &v,
		                nid, sizeof(nid), NULL, 0, why, cap);
	/* FLEET_NONE: the added rule is gone already (another node deleted
	 * it): nothing to undo. */
	if (rc == FLEET_OK || rc == FLEET_NONE || rc == FLEET_UNCONFIRMED) {
		atomic_fetch_add(&f->reverted, 1);
		if (rc == FLEET_UNCONFIRMED)
			log_warn("fleet: the unconfirmed change %s %s is undone on the primary; "
			         "the undo is not confirmed by its replicas either",
			         op, id);
		return rc == FLEET_UNCONFIRMED;
	}
	atomic_fetch_add(&f->undo_failed, 1);
	log_err("fleet: undoing the unconfirmed change %s %s failed: %s; it may stay applied "
	        "on the fleet",
	        op, id, why);
	return -1;
}

/* A change that failed: counted and logged as refused, unless it is an
 * undo (its caller reports it). */
static int failed(struct fleet *f, bool undo, char *err, size_t cap, const char *why)
{
	if (undo) {
		snprintf(err, cap, "%s", why);
		return FLEET_UNAVAILABLE;
	}
	return unavailable(f, err, cap, why);
}

/* Under wlock. undo: the inverse of an unconfirmed change (not undone in
 * turn). */
static int run_change(struct fleet *f, const char *op, const char *id, const char *data,
                      const struct fleet_audit_rec *au, bool undo, int64_t *version, char *out_id,
                      size_t idcap, char *old, size_t oldcap, char *err, size_t cap)
{
	char e[600], tok[FLEET_KEY_MAX], t[128], oldbuf[1];
	redisContext *c = fleet_wconn(f, e, sizeof(e));
	redisReply *r;
	int64_t deadline;
	char dl[32], maxlen[16], ttl[16], keep[24];

	if (old == NULL) {
		old = oldbuf;
		oldcap = sizeof(oldbuf);
	}
	old[0] = '\0';
	if (c == NULL)
		return failed(f, undo, err, cap, e);
	snprintf(t, sizeof(t), "%s:%ld:%llu:%lld", f->l.node, (long)getpid(),
	         (unsigned long long)++f->ntok, (long long)fleet_wall_ms());
	fleet_key(&f->l, tok, sizeof(tok), "tok", t);
	deadline = fleet_wall_ms() + f->offset_ms + f->l.url.timeout_ms;
	snprintf(dl, sizeof(dl), "%lld", (long long)deadline);
	snprintf(maxlen, sizeof(maxlen), "%d", STREAM_MAXLEN);
	snprintf(ttl, sizeof(ttl), "%d", TOKEN_TTL_MS);
	snprintf(keep, sizeof(keep), "%lld", (long long)f->audit_keep_ms);
	const char *argv[] = {"EVAL",
	                      change_lua,
	                      "8",
	                      f->l.k_rules,
	                      f->l.k_maint,
	                      f->l.k_version,
	                      f->l.k_seq,
	                      f->l.k_log,
	                      tok,
	                      f->l.k_audit,
	                      f->l.k_audit_node,
	                      dl,
	                      op,
	                      id,
	                      data,
	                      maxlen,
	                      ttl,
	                      f->l.node,
	                      au->who,
	                      au->action,
	                      au->detail,
	                      keep};
	r = redisCommandArgv(c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER) {
		*version = r->element[0]->integer;
		snprintf(out_id, idcap, "%s",
		         r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : id);
		snprintf(old, oldcap, "%s",
		         r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str : "");
		freeReplyObject(r);
		if (*version == 0)
			return FLEET_NONE;
	} else if (r && r->type == REDIS_REPLY_ERROR) {
		/* Not run (the deadline passed, or a script error): nothing
		 * changed. */
		snprintf(e, sizeof(e), "Redis at %s: %.*s", f->where, (int)r->len, r->str);
		freeReplyObject(r);
		return failed(f, undo, err, cap, e);
	} else {
		/* The reply is lost: the change ran or not, or will still run
		 * until its deadline passes. Settle it. */
		char why[300];
		fleet_why(c, r, why, sizeof(why));
		freeReplyObject(r);
		fleet_wdrop(f);
		log_warn("fleet: no reply to a change from Redis at %s (%s): settling its outcome",
		         f->where, why);
		int s = settle(f, tok, deadline, version, out_id, idcap, old, oldcap);
		if (s == 0) {
			atomic_fetch_add(&f->not_applied, 1);
			snprintf(e, sizeof(e),
			         "Redis at %.200s: %.200s (the change did not reach it)", f->where,
			         why);
			return failed(f, undo, err, cap, e);
		}
		if (s < 0) {
			snprintf(e, sizeof(e),
			         "Redis at %.100s: %.100s, and its outcome could not be settled "
			         "(token %.200s: it "
			         "is applied everywhere or nowhere)",
			         f->where, why, t);
			return failed(f, undo, err, cap, e);
		}
		atomic_fetch_add(&f->applied, 1);
		c = f->wc;
		/* WAIT counts this connection's writes: one of its own first. */
		freeReplyObject(redisCommand(c, "PEXPIRE %s %d", tok, TOKEN_TTL_MS));
	}
	if (wait_replicas(f, f->wc, e, sizeof(e)) == 0)
		return FLEET_OK;
	if (f->wc->err)
		fleet_wdrop(f); /* the undo reconnects */
	if (undo)
		return FLEET_UNCONFIRMED; /* on the primary: the caller says so */
	/* Undone (the value it replaced is known: from the reply, or from the
	 * token after a lost one), or reported: never a 503 for a change that
	 * silently stays. */
	char why[700];
	int u = revert(f, op, out_id, old, why, sizeof(why));
	if (u == 0)
		return unavailable(f, err, cap, e);
	if (u == 1) {
		snprintf(why, sizeof(why),
		         "%.500s; the change was not applied (undone on the primary; the undo is "
		         "not "
		         "confirmed by its replicas either)",
		         e);
		atomic_fetch_add(&f->refused, 1);
		snprintf(err, cap, "state store unavailable: %s", why);
		return FLEET_UNAVAILABLE;
	}
	atomic_fetch_add(&f->refused, 1);
	snprintf(err, cap,
	         "state store unavailable: %.300s; undoing the change failed (%.300s): it may "
	         "stay applied on the fleet (see GET /rules, GET /maintenance)",
	         e, why);
	return FLEET_UNAVAILABLE;
}

static int change(struct fleet *f, const char *op, const char *id, const char *data,
                  const struct fleet_audit_rec *au, int64_t *version, char *out_id, size_t idcap,
                  char *err, size_t cap)
{
	static char old[DETOUR_RULE_LINE_MAX + 300]; /* under wlock */
	int rc;

	if (!fleet_up(f))
		return unavailable(f, err, cap, "Redis is unreachable (see the error log)");
	pthread_mutex_lock(&f->wlock);
	rc = run_change(f, op, id, data, au, false, version, out_id, idcap, old, sizeof(old), err,
	                cap);
	pthread_mutex_unlock(&f->wlock);
	return rc;
}

int fleet_add_rule(struct fleet *f, const char *id, const char *line, int64_t created,
                   int64_t expires, const char *who, char *out_id, size_t idcap, int64_t *version,
                   char *err, size_t cap)
{
	char tail[DETOUR_RULE_LINE_MAX + 200];
	int rc;

	if (detour_fleet_rule_tail(tail, sizeof(tail), created, expires, who, line) < 0) {
		snprintf(err, cap, "the rule does not fit in the fleet's encoding");
		return -1;
	}
	struct fleet_audit_rec au = {who, "add", line};
	rc = change(f, "add", id, tail, &au, version, out_id, idcap, err, cap);
	if (rc == FLEET_NONE)
		snprintf(err, cap, "an API rule with id \"%s\" exists", out_id);
	return rc;
}

int fleet_delete_rule(struct fleet *f, const char *id, const char *who, int64_t *version, char *err,
                      size_t cap)
{
	char out[300];
	struct fleet_audit_rec au = {who, "delete", ""};

	return change(f, "del", id, "", &au, version, out, sizeof(out), err, cap);
}

int fleet_set_maint(struct fleet *f, const struct maint_state *m, const char *detail,
                    int64_t *version, char *err, size_t cap)
{
	struct detour_fleet_maint fm = {.on = m->on,
	                                .status = m->status,
	                                .since = m->since,
	                                .until = m->until,
	                                .who = m->who,
	                                .who_len = strlen(m->who),
	                                .target = m->target,
	                                .target_len = strlen(m->target),
	                                .allow = m->allow,
	                                .allow_len = strlen(m->allow)};
	char data[MAINT_TARGET_MAX + MAINT_ALLOW_MAX + 200], out[64];

	if (detour_fleet_maint_encode(data, sizeof(data), &fm) < 0) {
		snprintf(err, cap, "maintenance does not fit in the fleet's encoding");
		return -1;
	}
	struct fleet_audit_rec au = {m->who, "maintenance", detail};
	return change(f, "maint", "maintenance", data, &au, version, out, sizeof(out), err, cap);
}

int fleet_expire(struct fleet *f)
{
	char e[600], maxlen[16], keep[24];
	redisContext *c;
	redisReply *r;
	int k = -1;

	if (!fleet_up(f))
		return -1;
	pthread_mutex_lock(&f->wlock);
	c = fleet_wconn(f, e, sizeof(e));
	if (c) {
		snprintf(maxlen, sizeof(maxlen), "%d", STREAM_MAXLEN);
		snprintf(keep, sizeof(keep), "%lld", (long long)f->audit_keep_ms);
		r = redisCommand(c, "EVAL %s 6 %s %s %s %s %s %s %s %s %s", expire_lua,
		                 f->l.k_rules, f->l.k_maint, f->l.k_version, f->l.k_log,
		                 f->l.k_audit, f->l.k_audit_node, maxlen, f->l.node, keep);
		if (r && r->type == REDIS_REPLY_INTEGER)
			k = (int)r->integer;
		else
			log_err("fleet: expiring: %s", fleet_why(c, r, e, sizeof(e)));
		if (r == NULL)
			fleet_wdrop(f);
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
	return k;
}

int fleet_nodes(struct fleet *f, struct fleet_node **out, size_t *n, char *err, size_t cap)
{
	char e[600], key[FLEET_KEY_MAX];
	redisContext *c;
	redisReply *m = NULL;
	struct fleet_node *v = NULL;
	size_t k = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&f->wlock);
	c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c == NULL) {
		snprintf(err, cap, "state store unavailable");
		goto out;
	}
	m = redisCommand(c, "SMEMBERS %s", f->l.k_nodes);
	if (m == NULL || m->type != REDIS_REPLY_ARRAY) {
		snprintf(err, cap, "state store unavailable: %s", fleet_why(c, m, e, sizeof(e)));
		if (m == NULL)
			fleet_wdrop(f);
		goto out;
	}
	v = calloc(m->elements + 1, sizeof(*v));
	if (v == NULL)
		goto out;
	int64_t now = fleet_wall_ms();
	for (size_t i = 0; i < m->elements; i++) {
		long long ver, lag, at;
		fleet_key(&f->l, key, sizeof(key), "node", m->element[i]->str);
		redisReply *r = redisCommand(c, "GET %s", key);
		if (r && r->type == REDIS_REPLY_STRING &&
		    sscanf(r->str, "%lld %lld %lld", &ver, &lag, &at) == 3) {
			snprintf(v[k].name, sizeof(v[k].name), "%s", m->element[i]->str);
			v[k].version = ver;
			v[k].lag_ms = lag;
			v[k].seen_ms = now - at;
			k++;
		} else if (r && r->type == REDIS_REPLY_NIL) {
			/* its heartbeat expired: gone */
			freeReplyObject(
			        redisCommand(c, "SREM %s %s", f->l.k_nodes, m->element[i]->str));
		}
		freeReplyObject(r);
	}
	*out = v;
	*n = k;
	v = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&f->wlock);
	freeReplyObject(m);
	free(v);
	return rc;
}

void fleet_counts(struct fleet *f, struct fleet_counts *out)
{
	out->refused = atomic_load(&f->refused);
	out->settled_applied = atomic_load(&f->applied);
	out->settled_not_applied = atomic_load(&f->not_applied);
	out->reverted = atomic_load(&f->reverted);
	out->undo_failed = atomic_load(&f->undo_failed);
}

void fleet_metrics(struct fleet *f, struct bbuf *b)
{
	struct fleet_follow_status st = {0};
	struct fleet_counts c;

	if (f == NULL)
		return;
	if (f->ff)
		fleet_follow_status(f->ff, &st);
	fleet_counts(f, &c);
	bbuf_putf(b,
	          "# HELP detour_fleet_connected 1 while this node follows the fleet's Redis.\n"
	          "# TYPE detour_fleet_connected gauge\ndetour_fleet_connected %d\n"
	          "# HELP detour_fleet_version The fleet state version this node serves.\n"
	          "# TYPE detour_fleet_version gauge\ndetour_fleet_version %lld\n"
	          "# HELP detour_fleet_lag_ms From a change's stream entry to this node "
	          "applying it (the last one).\n"
	          "# TYPE detour_fleet_lag_ms gauge\ndetour_fleet_lag_ms %lld\n"
	          "# HELP detour_fleet_resyncs_total Whole-state loads after the first "
	          "(reconnects, gaps in the stream).\n"
	          "# TYPE detour_fleet_resyncs_total counter\ndetour_fleet_resyncs_total %llu\n"
	          "# HELP detour_fleet_disconnects_total Connections to Redis lost.\n"
	          "# TYPE detour_fleet_disconnects_total counter\n"
	          "detour_fleet_disconnects_total %llu\n"
	          "# HELP detour_fleet_changes_refused_total API changes answered 503 (not "
	          "applied anywhere).\n"
	          "# TYPE detour_fleet_changes_refused_total counter\n"
	          "detour_fleet_changes_refused_total %llu\n"
	          "# HELP detour_fleet_changes_settled_total Changes whose reply was lost, "
	          "settled by their token.\n"
	          "# TYPE detour_fleet_changes_settled_total counter\n"
	          "detour_fleet_changes_settled_total{outcome=\"applied\"} %llu\n"
	          "detour_fleet_changes_settled_total{outcome=\"not_applied\"} %llu\n"
	          "# HELP detour_fleet_changes_reverted_total Changes undone because no replica "
	          "confirmed them (WAIT).\n"
	          "# TYPE detour_fleet_changes_reverted_total counter\n"
	          "detour_fleet_changes_reverted_total %llu\n"
	          "# HELP detour_fleet_changes_undo_failed_total Unconfirmed changes whose undo "
	          "failed (answered 503 saying so; they may stay applied).\n"
	          "# TYPE detour_fleet_changes_undo_failed_total counter\n"
	          "detour_fleet_changes_undo_failed_total %llu\n",
	          st.connected ? 1 : 0, (long long)st.version, (long long)st.lag_ms,
	          (unsigned long long)st.resyncs, (unsigned long long)st.disconnects,
	          (unsigned long long)c.refused, (unsigned long long)c.settled_applied,
	          (unsigned long long)c.settled_not_applied, (unsigned long long)c.reverted,
	          (unsigned long long)c.undo_failed);
	if (f->l.tls)
		bbuf_putf(b,
		          "# HELP detour_fleet_tls_relays Connections to Redis over TLS open now "
		          "(one relay thread each).\n"
		          "# TYPE detour_fleet_tls_relays gauge\ndetour_fleet_tls_relays %u\n",
		          fleet_tls_relays(f->l.tls));
}

/* ---- the audit log ------------------------------------------------------------ */

static const char audit_lua[] =
        "local t = redis.call('TIME') "
        "for k = 1, 2 do "
        " redis.call('XADD', KEYS[k], '*', 'at', t[1], 'node', ARGV[2], "
        "'who', ARGV[3], 'action', ARGV[4], 'detail', ARGV[5], 'v', '0') "
        " if k == 2 and ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[k], ARGV[1]) end "
        "end "
        "return 1";

int fleet_audit(struct fleet *f, const struct fleet_audit_rec *au, char *err, size_t cap)
{
	char e[600], keep[24];
	int rc = -1;

	snprintf(keep, sizeof(keep), "%lld", (long long)f->audit_keep_ms);
	const char *argv[] = {"EVAL", audit_lua, "2",     f->l.k_audit, f->l.k_audit_node,
	                      keep,   f->l.node, au->who, au->action,   au->detail};
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_up(f) ? fleet_wconn(f, e, sizeof(e)) : NULL;
	if (c == NULL) {
		snprintf(err, cap, "%s", fleet_up(f) ? e : "Redis is unreachable");
	} else {
		redisReply *r =
		        redisCommandArgv(c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
		if (r && r->type == REDIS_REPLY_INTEGER)
			rc = 0;
		else
			fleet_why(c, r, err, cap);
		if (r == NULL)
			fleet_wdrop(f);
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
	return rc;
}

/* `audit-keep` on the fleet's stream and this node's: per stream, of its
 * batch oldest entries, those older than ARGV[1] ms by Redis's clock (an
 * entry's id is its XADD time) or beyond the newest ARGV[2] (0: neither
 * limit), trimmed exactly (XTRIM MINID past the last of them). A node's
 * stream that nobody writes any more (a node gone) expires as a whole:
 * every XADD to it sets its TTL to the age kept (the fleet's is pruned by
 * every node that runs). Replies {deleted, full}, full 1
 * when a batch was all deleted (there may be more). */
static const char prune_lua[] =
        "local t = redis.call('TIME') "
        "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
        "local keep, max, b = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) "
        "local total, full = 0, 0 "
        "for k = 1, #KEYS do "
        " local over = 0 "
        " if max > 0 then over = redis.call('XLEN', KEYS[k]) - max end "
        " local r = redis.call('XRANGE', KEYS[k], '-', '+', 'COUNT', b) "
        " local last, d = nil, 0 "
        " for i = 1, #r do "
        "  local ms = tonumber(string.match(r[i][1], '^(%d+)')) "
        "  if i <= over or (keep > 0 and ms < now - keep) then last, d = r[i][1], i "
        "  else break end "
        " end "
        " if last then "
        "  local ms, seq = string.match(last, '^(%d+)-(%d+)$') "
        "  total = total + redis.call('XTRIM', KEYS[k], 'MINID', ms .. '-' .. (tonumber(seq) + 1)) "
        "  if d == b then full = 1 end "
        " end "
        "end "
        "return {total, full}";

int64_t fleet_audit_prune(struct fleet *f, int64_t keep_s, int64_t keep_max, int batch, bool *full)
{
	char e[600], keep[24], max[24], b[16];
	int64_t k = -1;

	*full = false;
	if (!fleet_up(f))
		return 0; /* Redis is away: the next prune, once it is back */
	snprintf(keep, sizeof(keep), "%lld", (long long)keep_s * 1000);
	snprintf(max, sizeof(max), "%lld", (long long)keep_max);
	snprintf(b, sizeof(b), "%d", batch);
	const char *argv[] = {"EVAL", prune_lua, "2", f->l.k_audit, f->l.k_audit_node,
	                      keep,   max,       b};
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_wconn(f, e, sizeof(e));
	if (c) {
		redisReply *r =
		        redisCommandArgv(c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_INTEGER &&
		    r->element[1]->type == REDIS_REPLY_INTEGER) {
			k = r->element[0]->integer;
			*full = r->element[1]->integer != 0;
		} else {
			log_err("fleet: audit-keep: %s; retrying later",
			        fleet_why(c, r, e, sizeof(e)));
		}
		if (r == NULL)
			fleet_wdrop(f);
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
	return k;
}

static const char *field(const redisReply *kv, const char *name)
{
	for (size_t i = 0; i + 1 < kv->elements; i += 2)
		if (kv->element[i]->type == REDIS_REPLY_STRING &&
		    kv->element[i + 1]->type == REDIS_REPLY_STRING &&
		    !strcmp(kv->element[i]->str, name))
			return kv->element[i + 1]->str;
	return "";
}

int fleet_audit_list(struct fleet *f, const char *node, int64_t limit,
                     void (*fn)(void *arg, int64_t at, const char *node, const char *who,
                                const char *action, const char *detail),
                     void *arg, char *err, size_t cap)
{
	char key[FLEET_KEY_MAX], e[600];
	int rc = -1;

	fleet_key_of_node(&f->l, key, sizeof(key), "audit", node, f->l.k_audit);
	pthread_mutex_lock(&f->wlock);
	redisContext *c = fleet_wconn_or_unavailable(f, err, cap);
	if (c == NULL) {
		pthread_mutex_unlock(&f->wlock);
		return -1;
	}
	redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT %lld", key, (long long)limit);
	if (r && r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *en = r->element[i];
			if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
			    en->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			const redisReply *kv = en->element[1];
			fn(arg, strtoll(field(kv, "at"), NULL, 10), field(kv, "node"),
			   field(kv, "who"), field(kv, "action"), field(kv, "detail"));
		}
		rc = 0;
	} else {
		snprintf(err, cap, "state store unavailable: %s", fleet_why(c, r, e, sizeof(e)));
		if (r == NULL)
			fleet_wdrop(f);
	}
	freeReplyObject(r);
	pthread_mutex_unlock(&f->wlock);
	return rc;
}
