/* detour server: following the fleet's change stream, see fleet_follow.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/grow.h"
#include "fleet_follow.h"
#include "log.h"
#include "timed.h"

#define XREAD_COUNT   1000
#define BLOCK_MS      1000
#define CMD_MS        (BLOCK_MS + 2000)
#define HEARTBEAT_TTL 10000
#define BACKOFF_MAX   2000

struct fleet_follow {
	const struct fleet_link *l;
	int wake_fd;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a snapshot handed over; stop (monotonic) */
	/* Under mu: the newest snapshot not taken yet, and what was handed. */
	struct fleet_snap pending;
	bool has_pending;
	struct fleet_follow_status st;
	/* Under mu: the socket of the follower's connection (-1: none), shut
	 * down by fleet_follow_stop so that a blocked XREAD returns at once. */
	int sock;
	/* The follower thread's own. */
	struct fleet_snap cur;
	char lastid[64];
	bool loaded; /* cur is the state as of lastid */
	char hb_key[FLEET_KEY_MAX];
};

void fleet_snap_free(struct fleet_snap *s)
{
	state_rules_free(s->rules, s->nrules);
	s->rules = NULL;
	s->nrules = 0;
}

static int rule_copy(struct api_rule *d, const struct api_rule *s)
{
	*d = *s;
	d->id = strdup(s->id);
	d->line = strdup(s->line);
	d->who = strdup(s->who);
	if (d->id && d->line && d->who)
		return 0;
	free(d->id);
	free(d->line);
	free(d->who);
	return -1;
}

int fleet_snap_copy(struct fleet_snap *dst, const struct fleet_snap *src)
{
	*dst = *src;
	dst->rules = NULL;
	dst->nrules = 0;
	if (src->nrules == 0)
		return 0;
	dst->rules = calloc(src->nrules, sizeof(*dst->rules));
	if (dst->rules == NULL)
		return -1;
	for (size_t i = 0; i < src->nrules; i++) {
		if (rule_copy(&dst->rules[i], &src->rules[i])) {
			fleet_snap_free(dst);
			return -1;
		}
		dst->nrules = i + 1;
	}
	return 0;
}

/* ---- decoding --------------------------------------------------------------- */

static int decode_rule(const char *id, const char *v, size_t len, struct api_rule *out)
{
	struct detour_fleet_rule fr;

	if (detour_fleet_rule_decode(v, len, &fr) != DETOUR_OK)
		return -1;
	out->n = fr.n;
	out->created = fr.created;
	out->expires = fr.expires;
	out->id = strdup(id);
	out->line = strndup(fr.line, fr.line_len);
	out->who = strndup(fr.who, fr.who_len);
	if (out->id && out->line && out->who)
		return 0;
	free(out->id);
	free(out->line);
	free(out->who);
	return -1;
}

static int decode_maint(const char *v, size_t len, struct maint_state *m)
{
	struct detour_fleet_maint fm;

	memset(m, 0, sizeof(*m));
	if (len == 0)
		return 0; /* never set */
	if (detour_fleet_maint_decode(v, len, &fm) != DETOUR_OK)
		return -1;
	m->on = fm.on;
	m->status = fm.status;
	m->since = fm.since;
	m->until = fm.until;
	snprintf(m->who, sizeof(m->who), "%.*s", (int)fm.who_len, fm.who);
	snprintf(m->target, sizeof(m->target), "%.*s", (int)fm.target_len, fm.target);
	snprintf(m->allow, sizeof(m->allow), "%.*s", (int)fm.allow_len, fm.allow);
	return 0;
}

static void remove_rule(struct fleet_snap *s, const char *id)
{
	for (size_t i = 0; i < s->nrules; i++) {
		if (strcmp(s->rules[i].id, id))
			continue;
		free(s->rules[i].id);
		free(s->rules[i].line);
		free(s->rules[i].who);
		memmove(&s->rules[i], &s->rules[i + 1], (s->nrules - i - 1) * sizeof(s->rules[0]));
		s->nrules--;
		return;
	}
}

/* Takes r over. */
static int insert_rule(struct fleet_snap *s, struct api_rule *r, size_t *cap)
{
	size_t i = s->nrules;

	remove_rule(s, r->id);
	if (BASE_GROW(s->rules, *cap, s->nrules + 1))
		return -1;
	while (i > 0 && s->rules[i - 1].n > r->n)
		i--;
	if (i > s->nrules)
		i = s->nrules;
	memmove(&s->rules[i + 1], &s->rules[i], (s->nrules - i) * sizeof(s->rules[0]));
	s->rules[i] = *r;
	s->nrules++;
	return 0;
}

static int cmp_n(const void *a, const void *b)
{
	const struct api_rule *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

static const char load_lua[] =
        "local v = redis.call('GET', KEYS[1]) or '0' "
        "local m = redis.call('GET', KEYS[2]) or '' "
        "local r = redis.call('HGETALL', KEYS[3]) "
        "local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1) "
        "local id = '0-0' "
        "if #last > 0 then id = last[1][1] end "
        "return {v, m, id, r}";

int fleet_follow_load(redisContext *c, const struct fleet_link *l, struct fleet_snap *out,
                      char *lastid, size_t idcap, char *err, size_t cap)
{
	redisReply *r = redisCommand(c, "EVAL %s 4 %s %s %s %s", load_lua, l->k_version, l->k_maint,
	                             l->k_rules, l->k_log);
	size_t rcap = 0;
	char e[300];

	memset(out, 0, sizeof(*out));
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[2]->type != REDIS_REPLY_STRING || r->element[3]->type != REDIS_REPLY_ARRAY) {
		snprintf(err, cap, "loading the state: %s", fleet_why(c, r, e, sizeof(e)));
		freeReplyObject(r);
		return -1;
	}
	out->version = detour_fleet_int(r->element[0]->str, r->element[0]->len);
	snprintf(lastid, idcap, "%s", r->element[2]->str);
	if (decode_maint(r->element[1]->str, r->element[1]->len, &out->maint))
		log_err("fleet: the stored maintenance does not decode; ignored");
	redisReply *h = r->element[3];
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		struct api_rule ar;
		if (h->element[i]->type != REDIS_REPLY_STRING ||
		    h->element[i + 1]->type != REDIS_REPLY_STRING ||
		    decode_rule(h->element[i]->str, h->element[i + 1]->str, h->element[i + 1]->len,
		                &ar)) {
			log_err("fleet: a stored rule does not decode; skipped");
			continue;
		}
		if (BASE_GROW(out->rules, rcap, out->nrules + 1)) {
			free(ar.id);
			free(ar.line);
			free(ar.who);
			fleet_snap_free(out);
			freeReplyObject(r);
			snprintf(err, cap, "out of memory");
			return -1;
		}
		out->rules[out->nrules++] = ar;
	}
	if (out->nrules)
		qsort(out->rules, out->nrules, sizeof(out->rules[0]), cmp_n);
	freeReplyObject(r);
	if (out->version < 0) {
		fleet_snap_free(out);
		snprintf(err, cap, "loading the state: a bad version counter");
		return -1;
	}
	return 0;
}

/* ---- the thread -------------------------------------------------------------- */

struct fleet_follow *fleet_follow_new(const struct fleet_link *l, int wake_fd,
                                      const struct fleet_snap *initial, const char *lastid)
{
	struct fleet_follow *ff = calloc(1, sizeof(*ff));

	if (ff == NULL)
		return NULL;
	ff->l = l;
	ff->wake_fd = wake_fd;
	ff->sock = -1;
	pthread_mutex_init(&ff->mu, NULL);
	timed_cond_init(&ff->cv);
	fleet_key(l, ff->hb_key, sizeof(ff->hb_key), "node", l->node);
	if (initial) {
		if (fleet_snap_copy(&ff->cur, initial)) {
			fleet_follow_stop(ff);
			return NULL;
		}
		snprintf(ff->lastid, sizeof(ff->lastid), "%s", lastid);
		ff->loaded = true;
		ff->st.version = initial->version;
		ff->st.connected = true;
	}
	return ff;
}

static void handover(struct fleet_follow *ff, int64_t lag)
{
	struct fleet_snap copy;
	uint64_t one = 1;

	if (fleet_snap_copy(&copy, &ff->cur)) {
		log_err("fleet: out of memory handing over version %lld",
		        (long long)ff->cur.version);
		return;
	}
	pthread_mutex_lock(&ff->mu);
	if (ff->has_pending)
		fleet_snap_free(&ff->pending);
	ff->pending = copy;
	ff->has_pending = true;
	ff->st.version = copy.version;
	if (lag >= 0)
		ff->st.lag_ms = lag;
	pthread_cond_broadcast(&ff->cv);
	pthread_mutex_unlock(&ff->mu);
	if (ff->wake_fd >= 0 && write(ff->wake_fd, &one, sizeof(one)) < 0) {
		/* the admin thread looks at least once a second anyway */
	}
}

static void set_connected(struct fleet_follow *ff, bool on)
{
	pthread_mutex_lock(&ff->mu);
	if (ff->st.connected && !on)
		ff->st.disconnects++;
	ff->st.connected = on;
	pthread_mutex_unlock(&ff->mu);
}

/* The connection the follower uses now (NULL: none, before redisFree). */
static void set_conn(struct fleet_follow *ff, redisContext *c)
{
	pthread_mutex_lock(&ff->mu);
	ff->sock = c ? c->fd : -1;
	if (c && atomic_load(&ff->stop))
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&ff->mu);
}

/* Sleeps ms unless asked to stop. */
static void nap(struct fleet_follow *ff, unsigned ms)
{
	struct timespec ts;

	timed_deadline(&ts, ms);
	pthread_mutex_lock(&ff->mu);
	while (!atomic_load(&ff->stop))
		if (pthread_cond_timedwait(&ff->cv, &ff->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&ff->mu);
}

static int64_t id_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

static const char *field(redisReply *f, const char *name, size_t *len)
{
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(f->element[i]->str, name) &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING) {
			*len = f->element[i + 1]->len;
			return f->element[i + 1]->str;
		}
	return NULL;
}

/* Applies one entry to cur. Returns 0, 1 when it is not the next version
 * (reload), -1 when it does not decode (reload). */
static int apply(struct fleet_follow *ff, redisReply *fields, size_t *rcap)
{
	size_t vl = 0, ol = 0, il = 0, dl = 0;
	const char *v = field(fields, "v", &vl), *op = field(fields, "op", &ol),
	           *id = field(fields, "id", &il), *d = field(fields, "d", &dl);
	int64_t ver = v ? detour_fleet_int(v, vl) : -1;

	if (ver < 0 || op == NULL || id == NULL || d == NULL)
		return -1;
	if (ver <= ff->cur.version)
		return 0; /* in the loaded state already */
	if (ver != ff->cur.version + 1)
		return 1;
	if (!strcmp(op, "add") || !strcmp(op, "put")) {
		struct api_rule r;
		if (decode_rule(id, d, dl, &r))
			return -1;
		if (insert_rule(&ff->cur, &r, rcap)) {
			free(r.id);
			free(r.line);
			free(r.who);
			return -1;
		}
	} else if (!strcmp(op, "del") || !strcmp(op, "expire")) {
		remove_rule(&ff->cur, id);
	} else if (!strcmp(op, "maint")) {
		if (decode_maint(d, dl, &ff->cur.maint))
			return -1;
	} else {
		return -1;
	}
	ff->cur.version = ver;
	return 0;
}

static void heartbeat(struct fleet_follow *ff, redisContext *c)
{
	struct fleet_follow_status st;
	char v[128];

	fleet_follow_status(ff, &st);
	snprintf(v, sizeof(v), "%lld %lld %lld", (long long)ff->cur.version, (long long)st.lag_ms,
	         (long long)fleet_wall_ms());
	redisAppendCommand(c, "SET %s %s PX %d", ff->hb_key, v, HEARTBEAT_TTL);
	redisAppendCommand(c, "SADD %s %s", ff->l->k_nodes, ff->l->node);
	for (int i = 0; i < 2; i++) {
		void *r = NULL;
		if (redisGetReply(c, &r) != REDIS_OK)
			return;
		freeReplyObject(r);
	}
}

static void *follow_main(void *arg)
{
	struct fleet_follow *ff = arg;
	redisContext *c = NULL;
	unsigned backoff = 100;
	bool said_down = false, first = !ff->loaded;
	/* Started from the state loaded at start: its first connection goes
	 * on from there. Every later one loads the whole state. */
	bool fresh = ff->loaded;
	uint64_t next_hb = 0;
	size_t rcap = ff->cur.nrules;
	char where[300], err[600];

	while (!atomic_load(&ff->stop)) {
		if (c == NULL) {
			c = fleet_connect(ff->l, CMD_MS, where, sizeof(where), err, sizeof(err));
			if (c == NULL) {
				if (!said_down)
					log_err("fleet: Redis at %s unreachable: %s; serving the "
					        "last state (version %lld), retrying with backoff",
					        where, err, (long long)ff->cur.version);
				said_down = true;
				set_connected(ff, false);
				nap(ff, backoff);
				backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
				continue;
			}
			set_conn(ff, c);
			if (!fresh)
				ff->loaded = false;
			fresh = false;
		}
		if (!ff->loaded) {
			struct fleet_snap s;
			char id[64];
			if (fleet_follow_load(c, ff->l, &s, id, sizeof(id), err, sizeof(err))) {
				if (atomic_load(&ff->stop))
					break;
				log_err("fleet: %s", err);
				set_conn(ff, NULL);
				redisFree(c);
				c = NULL;
				nap(ff, backoff);
				continue;
			}
			fleet_snap_free(&ff->cur);
			ff->cur = s;
			rcap = s.nrules;
			snprintf(ff->lastid, sizeof(ff->lastid), "%s", id);
			ff->loaded = true;
			backoff = 100;
			pthread_mutex_lock(&ff->mu);
			if (!first)
				ff->st.resyncs++;
			pthread_mutex_unlock(&ff->mu);
			if (said_down || !first)
				log_info("fleet: connected to Redis at %s; resynced to state "
				         "version %lld (%zu API rules)",
				         where, (long long)s.version, s.nrules);
			first = false;
			said_down = false;
			set_connected(ff, true);
			handover(ff, -1);
		}
		uint64_t now = (uint64_t)fleet_wall_ms();
		if (now >= next_hb) {
			heartbeat(ff, c);
			next_hb = now + 1000;
		}
		redisReply *r = redisCommand(c, "XREAD COUNT %d BLOCK %d STREAMS %s %s",
		                             XREAD_COUNT, BLOCK_MS, ff->l->k_log, ff->lastid);
		if (r == NULL && atomic_load(&ff->stop)) /* shut down by stop */
			break;
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			log_err("fleet: lost Redis at %s: %s; changes are refused until it is "
			        "back, serving the last state (version %lld)",
			        where, fleet_why(c, r, err, sizeof(err)),
			        (long long)ff->cur.version);
			freeReplyObject(r);
			set_conn(ff, NULL);
			redisFree(c);
			c = NULL;
			said_down = true;
			set_connected(ff, false);
			continue;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
			freeReplyObject(r); /* nil: nothing within BLOCK_MS */
			continue;
		}
		redisReply *entries =
		        r->element[0]->elements == 2 ? r->element[0]->element[1] : NULL;
		int rc = 0;
		int64_t lag = -1;
		for (size_t i = 0; entries && i < entries->elements && rc == 0; i++) {
			redisReply *e = entries->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    e->element[1]->type != REDIS_REPLY_ARRAY) {
				rc = -1;
				break;
			}
			rc = apply(ff, e->element[1], &rcap);
			if (rc == 0) {
				snprintf(ff->lastid, sizeof(ff->lastid), "%s", e->element[0]->str);
				lag = fleet_wall_ms() - id_ms(e->element[0]->str);
			}
		}
		freeReplyObject(r);
		if (rc) {
			log_warn("fleet: %s after state version %lld; loading the whole state",
			         rc > 0 ? "a gap in the change stream (trimmed, or a change missed)"
			                : "an entry of the change stream does not decode",
			         (long long)ff->cur.version);
			ff->loaded = false;
			continue;
		}
		handover(ff, lag < 0 ? 0 : lag);
	}
	set_conn(ff, NULL);
	redisFree(c);
	return NULL;
}

void fleet_follow_set_wake(struct fleet_follow *ff, int wake_fd)
{
	ff->wake_fd = wake_fd;
}

int fleet_follow_start(struct fleet_follow *ff, char *err, size_t cap)
{
	errno = pthread_create(&ff->thread, NULL, follow_main, ff);
	if (errno) {
		snprintf(err, cap, "fleet: pthread_create: %s", strerror(errno));
		return -1;
	}
	ff->started = true;
	return 0;
}

void fleet_follow_stop(struct fleet_follow *ff)
{
	if (ff == NULL)
		return;
	if (ff->started) {
		pthread_mutex_lock(&ff->mu);
		atomic_store(&ff->stop, true);
		pthread_cond_broadcast(&ff->cv);
		if (ff->sock >= 0)
			shutdown(ff->sock, SHUT_RDWR); /* a blocked XREAD returns now */
		pthread_mutex_unlock(&ff->mu);
		pthread_join(ff->thread, NULL);
	}
	if (ff->has_pending)
		fleet_snap_free(&ff->pending);
	fleet_snap_free(&ff->cur);
	pthread_mutex_destroy(&ff->mu);
	pthread_cond_destroy(&ff->cv);
	free(ff);
}

bool fleet_follow_take(struct fleet_follow *ff, struct fleet_snap *out)
{
	bool got;

	pthread_mutex_lock(&ff->mu);
	got = ff->has_pending;
	if (got) {
		*out = ff->pending;
		ff->has_pending = false;
	}
	pthread_mutex_unlock(&ff->mu);
	return got;
}

bool fleet_follow_wait(struct fleet_follow *ff, int64_t version, unsigned ms)
{
	struct timespec ts;
	bool ok;

	timed_deadline(&ts, ms);
	pthread_mutex_lock(&ff->mu);
	while (ff->st.version < version && !atomic_load(&ff->stop))
		if (pthread_cond_timedwait(&ff->cv, &ff->mu, &ts) == ETIMEDOUT)
			break;
	ok = ff->st.version >= version;
	pthread_mutex_unlock(&ff->mu);
	return ok;
}

void fleet_follow_status(struct fleet_follow *ff, struct fleet_follow_status *out)
{
	pthread_mutex_lock(&ff->mu);
	*out = ff->st;
	pthread_mutex_unlock(&ff->mu);
}
