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
#include "log.h"

#define STREAM_MAXLEN 10000 /* MAXLEN ~: a node further behind reloads everything */
#define TOKEN_TTL_MS  3600000

struct fleet {
	struct fleet_link l;
	struct fleet_follow *ff;
	/* The write connection: the admin thread's changes and the flushes of
	 * the admin and the main thread (the retired hook). */
	pthread_mutex_t wlock;
	redisContext *wc;
	char where[300];
	int64_t offset_ms; /* Redis's clock - ours, measured at connect */
	uint64_t ntok;
	_Atomic uint64_t refused, applied, not_applied, reverted;
};

/* One script per change: nothing is written when it runs after its
 * deadline (by Redis's clock: a write stalled in a buffer or a paused
 * primary that runs it after the node answered 503 changes nothing); the
 * rule or maintenance key, the version counter, the stream entry and the
 * change's token change together. Replies {version, id, old value}, or
 * {0, id, ''} when an added id exists / a deleted one does not. */
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
        "redis.call('SET', KEYS[6], v .. ' ' .. id, 'PX', ARGV[6]) "
        "return {v, id, old}";

/* Rules whose expiry passed and maintenance whose until passed, by Redis's
 * clock: deleted / ended with a stream entry each. */
static const char expire_lua[] =
        "redis.replicate_commands() "
        "local now = tonumber(redis.call('TIME')[1]) "
        "local all = redis.call('HGETALL', KEYS[1]) "
        "local k = 0 "
        "for i = 1, #all, 2 do "
        " local e = tonumber(string.match(all[i + 1], '^%d+\\n%d+\\n(%d+)\\n')) "
        " if e and e > 0 and e <= now then "
        "  redis.call('HDEL', KEYS[1], all[i]) "
        "  local v = redis.call('INCR', KEYS[3]) "
        "  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'v', v, 'op', 'expire', "
        "'id', all[i], 'd', '') "
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
        "  k = k + 1 "
        " end "
        "end "
        "return k";

/* Hits: ARGV = node hits key, node last key, then id, delta, last triples. */
static const char stats_lua[] =
        "for i = 3, #ARGV, 3 do "
        " redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) "
        " redis.call('HINCRBY', ARGV[1], ARGV[i], ARGV[i + 1]) "
        " local l = tonumber(ARGV[i + 2]) "
        " if l > tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') then "
        "  redis.call('HSET', KEYS[2], ARGV[i], l) end "
        " if l > tonumber(redis.call('HGET', ARGV[2], ARGV[i]) or '0') then "
        "  redis.call('HSET', ARGV[2], ARGV[i], l) end "
        "end "
        "return 1";

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
	pthread_mutex_init(&f->wlock, NULL);
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
		snprintf(err, cap, "Redis at %s: %s", where, e);
		return -1;
	}
	rc = fleet_follow_load(c, &f->l, out, lastid, sizeof(lastid), e, sizeof(e));
	redisFree(c);
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
	pthread_mutex_destroy(&f->wlock);
	free(f);
}

/* ---- the write connection --------------------------------------------------- */

static void drop(struct fleet *f)
{
	redisFree(f->wc);
	f->wc = NULL;
}

/* Under wlock. Returns the connection, or NULL with err. */
static redisContext *wconn(struct fleet *f, char *err, size_t cap)
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
		drop(f);
		return NULL;
	}
	f->offset_ms = rt - (t0 + t1) / 2;
	return f->wc;
}

static bool follower_up(struct fleet *f)
{
	struct fleet_follow_status st;

	if (f->ff == NULL)
		return false;
	fleet_follow_status(f->ff, &st);
	return st.connected;
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
 * Returns 1 applied (*v, id), 0 not applied, -1 could not tell. */
static int settle(struct fleet *f, const char *tok, int64_t deadline, int64_t *v, char *id,
                  size_t idcap)
{
	int64_t give_up = fleet_wall_ms() + 2 * (int64_t)f->l.url.timeout_ms + 3000;
	char e[600];

	while (fleet_wall_ms() < give_up) {
		redisContext *c = wconn(f, e, sizeof(e));
		if (c == NULL) {
			usleep(100000);
			continue;
		}
		int64_t now = fleet_redis_ms(c);
		if (now < 0) {
			drop(f);
			continue;
		}
		if (now <= deadline) {
			usleep((useconds_t)(deadline - now + 1) * 1000);
			continue;
		}
		redisReply *r = redisCommand(c, "GET %s", tok);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			drop(f);
			continue;
		}
		int rc = 0;
		if (r->type == REDIS_REPLY_STRING) {
			char *sp = strchr(r->str, ' ');
			*v = strtoll(r->str, NULL, 10);
			snprintf(id, idcap, "%s", sp ? sp + 1 : "");
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
                      int64_t *version, char *out_id, size_t idcap, char *old, size_t oldcap,
                      char *err, size_t cap);

/* A change Redis has but no replica confirmed: undone by its inverse (which
 * is itself WAITed for), so that a failover cannot lose a change that was
 * acknowledged, and none is acknowledged that was not confirmed. */
static void revert(struct fleet *f, const char *op, const char *id, const char *old)
{
	char e[600], nid[300];
	int64_t v;
	int rc;

	if (!strcmp(op, "add"))
		rc = run_change(f, "del", id, "", &v, nid, sizeof(nid), NULL, 0, e, sizeof(e));
	else if (!strcmp(op, "del"))
		rc = run_change(f, "put", id, old, &v, nid, sizeof(nid), NULL, 0, e, sizeof(e));
	else
		rc = run_change(f, "maint", id, old, &v, nid, sizeof(nid), NULL, 0, e, sizeof(e));
	atomic_fetch_add(&f->reverted, 1);
	if (rc != FLEET_OK)
		log_err("fleet: undoing the unconfirmed change %s %s failed: %s", op, id, e);
}

/* Under wlock. */
static int run_change(struct fleet *f, const char *op, const char *id, const char *data,
                      int64_t *version, char *out_id, size_t idcap, char *old, size_t oldcap,
                      char *err, size_t cap)
{
	char e[600], tok[FLEET_KEY_MAX], t[128];
	redisContext *c = wconn(f, e, sizeof(e));
	redisReply *r;
	int64_t deadline;
	char dl[32], maxlen[16], ttl[16];

	if (c == NULL)
		return unavailable(f, err, cap, e);
	snprintf(t, sizeof(t), "%s:%ld:%llu:%lld", f->l.node, (long)getpid(),
	         (unsigned long long)++f->ntok, (long long)fleet_wall_ms());
	fleet_key(&f->l, tok, sizeof(tok), "tok", t);
	deadline = fleet_wall_ms() + f->offset_ms + f->l.url.timeout_ms;
	snprintf(dl, sizeof(dl), "%lld", (long long)deadline);
	snprintf(maxlen, sizeof(maxlen), "%d", STREAM_MAXLEN);
	snprintf(ttl, sizeof(ttl), "%d", TOKEN_TTL_MS);
	const char *argv[] = {
	        "EVAL",     change_lua, "6", f->l.k_rules, f->l.k_maint, f->l.k_version,
	        f->l.k_seq, f->l.k_log, tok, dl,           op,           id,
	        data,       maxlen,     ttl};
	r = redisCommandArgv(c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER) {
		*version = r->element[0]->integer;
		snprintf(out_id, idcap, "%s",
		         r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : id);
		if (old)
			snprintf(old, oldcap, "%s",
			         r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str
			                                                   : "");
		freeReplyObject(r);
		if (*version == 0)
			return FLEET_NONE;
	} else if (r && r->type == REDIS_REPLY_ERROR) {
		/* Not run (the deadline passed, or a script error): nothing
		 * changed. */
		snprintf(e, sizeof(e), "Redis at %s: %.*s", f->where, (int)r->len, r->str);
		freeReplyObject(r);
		return unavailable(f, err, cap, e);
	} else {
		/* The reply is lost: the change ran or not, or will still run
		 * until its deadline passes. Settle it. */
		char why[300];
		fleet_why(c, r, why, sizeof(why));
		freeReplyObject(r);
		drop(f);
		log_warn("fleet: no reply to a change from Redis at %s (%s): settling its outcome",
		         f->where, why);
		int s = settle(f, tok, deadline, version, out_id, idcap);
		if (s == 0) {
			atomic_fetch_add(&f->not_applied, 1);
			snprintf(e, sizeof(e),
			         "Redis at %.200s: %.200s (the change did not reach it)", f->where,
			         why);
			return unavailable(f, err, cap, e);
		}
		if (s < 0) {
			snprintf(e, sizeof(e),
			         "Redis at %.100s: %.100s, and its outcome could not be settled "
			         "(token %.200s: it "
			         "is applied everywhere or nowhere)",
			         f->where, why, t);
			return unavailable(f, err, cap, e);
		}
		atomic_fetch_add(&f->applied, 1);
		/* The value it replaced is not known here: only an add can be
		 * undone should WAIT not confirm it. */
		if (strcmp(op, "add"))
			old = NULL;
		c = f->wc;
		/* WAIT counts this connection's writes: one of its own first. */
		freeReplyObject(redisCommand(c, "PEXPIRE %s %d", tok, TOKEN_TTL_MS));
	}
	if (wait_replicas(f, f->wc, e, sizeof(e))) {
		if ((old || !strcmp(op, "add")) && strcmp(op, "put"))
			revert(f, op, out_id, old ? old : "");
		else
			log_err("fleet: the change %s %s (settled after a lost reply) is on the "
			        "primary but not confirmed by its replicas, and cannot be undone "
			        "here",
			        op, out_id);
		return unavailable(f, err, cap, e);
	}
	return FLEET_OK;
}

static int change(struct fleet *f, const char *op, const char *id, const char *data,
                  int64_t *version, char *out_id, size_t idcap, char *err, size_t cap)
{
	static char old[DETOUR_RULE_LINE_MAX + 300]; /* under wlock */
	int rc;

	if (!follower_up(f))
		return unavailable(f, err, cap, "Redis is unreachable (see the error log)");
	pthread_mutex_lock(&f->wlock);
	rc = run_change(f, op, id, data, version, out_id, idcap, old, sizeof(old), err, cap);
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
	rc = change(f, "add", id, tail, version, out_id, idcap, err, cap);
	if (rc == FLEET_NONE)
		snprintf(err, cap, "an API rule with id \"%s\" exists", out_id);
	return rc;
}

int fleet_delete_rule(struct fleet *f, const char *id, int64_t *version, char *err, size_t cap)
{
	char out[300];

	return change(f, "del", id, "", version, out, sizeof(out), err, cap);
}

int fleet_set_maint(struct fleet *f, const struct maint_state *m, int64_t *version, char *err,
                    size_t cap)
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
	return change(f, "maint", "maintenance", data, version, out, sizeof(out), err, cap);
}

int fleet_expire(struct fleet *f)
{
	char e[600], maxlen[16];
	redisContext *c;
	redisReply *r;
	int k = -1;

	if (!follower_up(f))
		return -1;
	pthread_mutex_lock(&f->wlock);
	c = wconn(f, e, sizeof(e));
	if (c) {
		snprintf(maxlen, sizeof(maxlen), "%d", STREAM_MAXLEN);
		r = redisCommand(c, "EVAL %s 4 %s %s %s %s %s", expire_lua, f->l.k_rules,
		                 f->l.k_maint, f->l.k_version, f->l.k_log, maxlen);
		if (r && r->type == REDIS_REPLY_INTEGER)
			k = (int)r->integer;
		else
			log_err("fleet: expiring: %s", fleet_why(c, r, e, sizeof(e)));
		if (r == NULL)
			drop(f);
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
	return k;
}

/* ---- statistics ---------------------------------------------------------------- */

void fleet_flush_served(struct fleet *f, struct served *s)
{
	char hk[FLEET_KEY_MAX], lk[FLEET_KEY_MAX], e[600];
	const char **argv = NULL;
	size_t *lens = NULL, argc = 0, cap = 0;
	char(*num)[2][24] = NULL;
	char(*ids)[1024] = NULL;
	uint32_t *sums = NULL;
	size_t *idx = NULL, nd = 0;

	if (s == NULL || s->hits == NULL || s->nrules == 0)
		return;
	pthread_mutex_lock(&f->wlock);
	/* Only the rules counted since they were last written (served_collect). */
	size_t nlist;
	uint32_t *list = served_pending(s, &nlist);
	if (list == NULL && nlist)
		goto out; /* out of memory: pending stays for the next flush */
	for (size_t j = 0; j < nlist; j++) {
		if (j + SERVED_PREFETCH_AHEAD < nlist)
			served_prefetch(s, list[j + SERVED_PREFETCH_AHEAD]);
		size_t i = list[j];
		uint32_t last, sum = served_hits(s, i, &last);
		uint32_t delta = sum - s->flushed[i]; /* modulo 2^32 */
		if (delta == 0)
			continue;
		if (BASE_GROW(num, cap, nd + 1) || !(ids = realloc(ids, cap * sizeof(*ids))) ||
		    !(sums = realloc(sums, cap * sizeof(*sums))) ||
		    !(idx = realloc(idx, cap * sizeof(*idx)))) {
			free(list);
			goto out;
		}
		detour_rule_id(s->rules, detour_ruleset_get(s->rules, i), ids[nd], sizeof(ids[nd]));
		snprintf(num[nd][0], sizeof(num[nd][0]), "%u", delta);
		snprintf(num[nd][1], sizeof(num[nd][1]), "%u", last);
		sums[nd] = sum;
		idx[nd] = i;
		nd++;
	}
	free(list);
	if (nd == 0) {
		memset(s->pending, 0, s->twords * sizeof(*s->pending));
		goto out;
	}
	argc = 5 + 2 + 3 * nd;
	argv = calloc(argc, sizeof(*argv));
	lens = calloc(argc, sizeof(*lens));
	if (argv == NULL || lens == NULL)
		goto out;
	fleet_key(&f->l, hk, sizeof(hk), "hits", f->l.node);
	fleet_key(&f->l, lk, sizeof(lk), "last", f->l.node);
	argv[0] = "EVAL";
	argv[1] = stats_lua;
	argv[2] = "2";
	argv[3] = f->l.k_hits;
	argv[4] = f->l.k_last;
	argv[5] = hk;
	argv[6] = lk;
	for (size_t k = 0; k < nd; k++) {
		argv[7 + 3 * k] = ids[k];
		argv[8 + 3 * k] = num[k][0];
		argv[9 + 3 * k] = num[k][1];
	}
	for (size_t k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	redisContext *c = follower_up(f) ? wconn(f, e, sizeof(e)) : NULL;
	if (c == NULL)
		goto out; /* kept for the next flush */
	redisReply *r = redisCommandArgv(c, (int)argc, argv, lens);
	if (r && r->type == REDIS_REPLY_ERROR) {
		/* Not run: counted at the next flush. */
		log_err("fleet: flushing statistics: %.*s", (int)r->len, r->str);
	} else {
		/* Run, or the reply is lost and it may have run: taken as
		 * counted either way, so that nothing is ever counted twice
		 * (a lost flush loses its window, documented). */
		for (size_t k = 0; k < nd; k++)
			s->flushed[idx[k]] = sums[k];
		memset(s->pending, 0, s->twords * sizeof(*s->pending));
		if (r == NULL)
			drop(f);
	}
	freeReplyObject(r);
out:
	pthread_mutex_unlock(&f->wlock);
	free(argv);
	free(lens);
	free(num);
	free(ids);
	free(sums);
	free(idx);
}

static int cmp_stat(const void *a, const void *b)
{
	return strcmp(((const struct fleet_stat *)a)->id, ((const struct fleet_stat *)b)->id);
}

void fleet_stats_free(struct fleet_stat *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].id);
	free(s);
}

int fleet_stats(struct fleet *f, const char *node, struct fleet_stat **out, size_t *n, char *err,
                size_t cap)
{
	char hk[FLEET_KEY_MAX], lk[FLEET_KEY_MAX], e[600];
	redisContext *c;
	redisReply *h = NULL, *l = NULL;
	struct fleet_stat *s = NULL;
	size_t k = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	err[0] = '\0';
	if (node) {
		fleet_key(&f->l, hk, sizeof(hk), "hits", node);
		fleet_key(&f->l, lk, sizeof(lk), "last", node);
	} else {
		snprintf(hk, sizeof(hk), "%s", f->l.k_hits);
		snprintf(lk, sizeof(lk), "%s", f->l.k_last);
	}
	pthread_mutex_lock(&f->wlock);
	c = follower_up(f) ? wconn(f, e, sizeof(e)) : NULL;
	if (c == NULL) {
		snprintf(err, cap, "state store unavailable: %s",
		         follower_up(f) ? e : "Redis is unreachable (see the error log)");
		goto out;
	}
	redisAppendCommand(c, "HGETALL %s", hk);
	redisAppendCommand(c, "HGETALL %s", lk);
	if (redisGetReply(c, (void **)&h) != REDIS_OK ||
	    redisGetReply(c, (void **)&l) != REDIS_OK || h->type != REDIS_REPLY_ARRAY ||
	    l->type != REDIS_REPLY_ARRAY) {
		snprintf(err, cap, "state store unavailable: %s",
		         fleet_why(c, h ? l : h, e, sizeof(e)));
		if (c->err)
			drop(f);
		goto out;
	}
	s = calloc(h->elements / 2 + 1, sizeof(*s));
	if (s == NULL)
		goto out;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		s[k].id = strdup(h->element[i]->str);
		s[k].hits = strtoll(h->element[i + 1]->str, NULL, 10);
		if (s[k].id == NULL)
			goto out;
		k++;
	}
	qsort(s, k, sizeof(*s), cmp_stat);
	for (size_t i = 0; i + 1 < l->elements; i += 2) {
		struct fleet_stat key = {.id = l->element[i]->str};
		struct fleet_stat *m = bsearch(&key, s, k, sizeof(*s), cmp_stat);
		if (m)
			m->last = strtoll(l->element[i + 1]->str, NULL, 10);
	}
	*out = s;
	*n = k;
	s = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&f->wlock);
	freeReplyObject(h);
	freeReplyObject(l);
	if (s)
		fleet_stats_free(s, k);
	if (rc && err[0] == '\0')
		snprintf(err, cap, "out of memory");
	return rc;
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
	c = follower_up(f) ? wconn(f, e, sizeof(e)) : NULL;
	if (c == NULL) {
		snprintf(err, cap, "state store unavailable");
		goto out;
	}
	m = redisCommand(c, "SMEMBERS %s", f->l.k_nodes);
	if (m == NULL || m->type != REDIS_REPLY_ARRAY) {
		snprintf(err, cap, "state store unavailable: %s", fleet_why(c, m, e, sizeof(e)));
		if (m == NULL)
			drop(f);
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
}

static int cmp_hits_desc(const void *a, const void *b)
{
	const struct fleet_stat *x = a, *y = b;

	if (x->hits != y->hits)
		return x->hits > y->hits ? -1 : 1;
	return strcmp(x->id, y->id);
}

void fleet_stats_top(struct fleet *f, int64_t limit,
                     void (*fn)(void *arg, const char *id, int64_t hits, int64_t last), void *arg)
{
	struct fleet_stat *s;
	size_t n;
	char err[700];

	if (fleet_stats(f, NULL, &s, &n, err, sizeof(err)))
		return;
	qsort(s, n, sizeof(*s), cmp_hits_desc);
	for (size_t i = 0; i < n && (int64_t)i < limit; i++)
		fn(arg, s[i].id, s[i].hits, s[i].last);
	fleet_stats_free(s, n);
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
	          "detour_fleet_changes_reverted_total %llu\n",
	          st.connected ? 1 : 0, (long long)st.version, (long long)st.lag_ms,
	          (unsigned long long)st.resyncs, (unsigned long long)st.disconnects,
	          (unsigned long long)c.refused, (unsigned long long)c.settled_applied,
	          (unsigned long long)c.settled_not_applied, (unsigned long long)c.reverted);
}

static const char topk_lua[] = "redis.call('DEL', KEYS[1]) "
                               "for i = 2, #ARGV, 2 do "
                               " redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) "
                               "end "
                               "redis.call('PEXPIRE', KEYS[1], ARGV[1]) "
                               "return 1";

void fleet_put_topk(struct fleet *f, const struct detour_topk *m, unsigned ttl_ms)
{
	size_t argc = 5 + 2 + 2 * (size_t)m->n, k = 0;
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *lens = calloc(argc, sizeof(*lens));
	char(*num)[48] = calloc((size_t)m->n + 2, sizeof(*num));
	char key[FLEET_KEY_MAX], e[600];

	if (argv == NULL || lens == NULL || num == NULL)
		goto out;
	fleet_key(&f->l, key, sizeof(key), "topk", f->l.node);
	argv[k++] = "EVAL";
	argv[k++] = topk_lua;
	argv[k++] = "1";
	argv[k++] = key;
	snprintf(num[0], sizeof(num[0]), "%u", ttl_ms);
	argv[k++] = num[0];
	argv[k++] = "";
	snprintf(num[1], sizeof(num[1]), "%llu 0", (unsigned long long)m->total);
	argv[k++] = num[1];
	for (unsigned i = 0; i < m->n; i++) {
		argv[k++] = m->e[i].key;
		snprintf(num[i + 2], sizeof(num[i + 2]), "%llu %llu",
		         (unsigned long long)m->e[i].count, (unsigned long long)m->e[i].error);
		argv[k++] = num[i + 2];
	}
	for (size_t i = 0; i < k; i++)
		lens[i] = strlen(argv[i]);
	pthread_mutex_lock(&f->wlock);
	redisContext *c = follower_up(f) ? wconn(f, e, sizeof(e)) : NULL;
	if (c) {
		redisReply *r = redisCommandArgv(c, (int)k, argv, lens);
		if (r == NULL)
			drop(f);
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
out:
	free(argv);
	free(lens);
	free(num);
}

/* Merges one node's stored sketch into m. */
static void merge_one(redisContext *c, const struct fleet_link *l, const char *node,
                      struct detour_topk *m)
{
	char key[FLEET_KEY_MAX];
	redisReply *r;

	fleet_key(l, key, sizeof(key), "topk", node);
	r = redisCommand(c, "HGETALL %s", key);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
		size_t n = r->elements / 2;
		struct detour_topk_entry *e = calloc(n, sizeof(*e));
		struct detour_topk src = {.e = e, .cap = (unsigned)n};
		for (size_t i = 0; e && i + 1 < r->elements; i += 2) {
			unsigned long long cnt = 0, err = 0;
			const char *k = r->element[i]->str;
			if (sscanf(r->element[i + 1]->str, "%llu %llu", &cnt, &err) != 2)
				continue;
			if (k[0] == '\0') {
				src.total = cnt;
				continue;
			}
			size_t kl = strlen(k);
			if (kl >= sizeof(e[0].key))
				kl = sizeof(e[0].key) - 1;
			memcpy(e[src.n].key, k, kl);
			e[src.n].key[kl] = '\0';
			e[src.n].len = (uint16_t)kl;
			e[src.n].count = cnt;
			e[src.n].error = err;
			src.n++;
		}
		if (e)
			detour_topk_merge(m, &src);
		free(e);
	}
	freeReplyObject(r);
}

int fleet_get_topk(struct fleet *f, const char *node, struct detour_topk *m)
{
	char e[600];
	redisContext *c;
	int rc = -1;

	pthread_mutex_lock(&f->wlock);
	c = follower_up(f) ? wconn(f, e, sizeof(e)) : NULL;
	if (c && node) {
		merge_one(c, &f->l, node, m);
		rc = 0;
	} else if (c) {
		redisReply *r = redisCommand(c, "SMEMBERS %s", f->l.k_nodes);
		if (r && r->type == REDIS_REPLY_ARRAY) {
			for (size_t i = 0; i < r->elements; i++)
				merge_one(c, &f->l, r->element[i]->str, m);
			rc = 0;
		}
		freeReplyObject(r);
	}
	pthread_mutex_unlock(&f->wlock);
	detour_topk_sort(m);
	return rc;
}
