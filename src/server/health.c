/* detour server: the health prober of mirror groups (see health.h and
 * docs/health.md).
 *
 * One thread, one CURLM. A round adds one HEAD transfer per distinct probe
 * URL, drives them with curl_multi_perform/curl_multi_poll until all are
 * done (each bounded by CURLOPT_TIMEOUT_MS), then applies the results under
 * the lock: rise/fall hysteresis, detour_table_set_healthy(), and the log
 * lines. Between rounds the thread sleeps on a condition variable that
 * health_published() and health_fini() signal.
 *
 * Ownership: the target and group arrays belong to the thread while it
 * runs (and to whoever stops it afterwards); the table pointers tab[] and
 * the dirty flag belong to the lock. A table pointer is only dereferenced
 * under the lock, and health_published() replaces it under the lock before
 * publish_served() frees the old table. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/grow.h"
#include "detour/rulefile.h"
#include "detour/table_explain.h"
#include "health.h"
#include "log.h"
#include "publish.h"
#include "timed.h"

struct target {
	char *url;     /* origin + health path, owned */
	char *id;      /* its rule's id (detour_rule_id), owned */
	unsigned tab;  /* 0: file rules (pub->file), 1: API rules (pub->api) */
	uint32_t rule; /* rule index in that table */
	size_t group;  /* index in groups */
	size_t probe;  /* the target whose transfer answers for this URL (itself or earlier) */
	bool up;       /* the verdict, starts up */
	bool changed;  /* up changed in this round (logged once, by the probing target) */
	unsigned good; /* good probes in a row */
	unsigned bad;  /* bad probes in a row */
	CURL *easy;    /* during a round, when probe == itself */
	CURLcode res;  /* result of the last round */
	long code;     /* HTTP status of the last round, 0 when none */
	char errbuf[CURL_ERROR_SIZE];
	/* The last applied round, under the lock (code and errbuf belong to
	 * the thread during a round): for health_targets(). */
	bool probed;
	long last_code;
	char last_err[CURL_ERROR_SIZE];
};

struct hgroup {
	char *key;        /* "TAB SCHEME KIND HOST PATH", owned: matches a group across reloads */
	char *name;       /* "SOURCE (file:line)" of the first member, owned */
	unsigned members; /* every member of the group, health-checked or not */
	bool all_down;    /* every member down: the table uses all of them */
};

struct health {
	struct publish *pub;  /* the published tables (borrowed) */
	pthread_mutex_t ctl;  /* serialises health_published() and health_fini() */
	pthread_mutex_t lock; /* conf, tab, dirty, and the calls into the tables */
	pthread_cond_t cond;
	struct detour_conf_health conf;
	const struct detour_table *tab[2];
	bool dirty; /* tab changed since the thread last enumerated */
	atomic_bool stop;
	bool running; /* under ctl */
	pthread_t thr;
	CURLM *multi; /* NULL until a table has targets */
	bool curl;    /* curl_global_init and multi done: health_fini undoes them */
	struct target *t;
	size_t n;
	struct hgroup *g;
	size_t ng;
};

/* ---- enumeration ---------------------------------------------------------- */

static void source_text(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf,
                        size_t cap)
{
	size_t hl;
	const char *host = detour_ruleset_host(rs, r, &hl);
	const char *scheme = r->scheme == DETOUR_SCHEME_HTTPS  ? "https://"
	                     : r->scheme == DETOUR_SCHEME_HTTP ? "http://"
	                                                       : "//";

	/* As written: "/download/ *" (no space), "https://old.example.com/a", "~^/p/([0-9]+)$". */
	snprintf(buf, cap, "%s%.*s%s%.*s%s", hl ? scheme : "", (int)hl, host,
	         r->kind == DETOUR_SRC_REGEX ? "~" : "", (int)r->path_len, detour_rule_path(rs, r),
	         r->kind == DETOUR_SRC_SPLAT ? "*" : "");
}

struct enum_ctx {
	struct health *h;
	unsigned tab;
	const struct detour_table *table;
	struct target *t;
	size_t n, cap;
	struct hgroup *g;
	size_t ng, gcap;
	bool oom;
};

/* The group of rule (creating it with its member count and name). */
static size_t group_of(struct enum_ctx *e, const struct detour_rule *r)
{
	const struct detour_ruleset *rs = detour_table_rules(e->table);
	char *key = NULL;
	size_t i;

	size_t hl;
	const char *host = detour_ruleset_host(rs, r, &hl);
	if (asprintf(&key, "%u %u %u %.*s %.*s", e->tab, r->scheme, r->kind, (int)hl, host,
	             (int)r->path_len, detour_rule_path(rs, r)) < 0) {
		e->oom = true;
		return 0;
	}
	for (i = 0; i < e->ng; i++)
		if (!strcmp(e->g[i].key, key)) {
			free(key);
			return i;
		}
	if (BASE_GROW(e->g, e->gcap, e->ng + 1)) {
		free(key);
		e->oom = true;
		return 0;
	}
	/* Members: as the table grouped them (include/detour/table.h). */
	const struct detour_rule *first = r;
	uint32_t fi, members = 0;
	if (detour_table_group_of(e->table, detour_rule_index(detour_table_rules(e->table), r), &fi,
	                          &members))
		first = detour_ruleset_get(rs, fi);
	char src[600], *name = NULL;
	source_text(rs, first, src, sizeof(src));
	if (asprintf(&name, "%s (%s:%u)", src,
	             detour_ruleset_file(rs, detour_ruleset_rule_file(rs, first)),
	             detour_ruleset_line(rs, first)) < 0) {
		free(key);
		e->oom = true;
		return 0;
	}
	e->g[e->ng] = (struct hgroup){.key = key, .name = name, .members = members ? members : 1};
	return e->ng++;
}

static void on_target(void *arg, uint32_t rule_index, const char *origin, const char *path)
{
	struct enum_ctx *e = arg;
	const struct detour_ruleset *rs = detour_table_rules(e->table);
	struct target *t;

	if (e->oom)
		return;
	if (BASE_GROW(e->t, e->cap, e->n + 1)) {
		e->oom = true;
		return;
	}
	t = &e->t[e->n];
	memset(t, 0, sizeof(*t));
	char id[1100];
	detour_rule_id(rs, detour_ruleset_get(rs, rule_index), id, sizeof(id));
	if (asprintf(&t->url, "%s%s", origin, path) < 0 || (t->id = strdup(id)) == NULL) {
		free(t->url);
		e->oom = true;
		return;
	}
	t->tab = e->tab;
	t->rule = rule_index;
	t->up = true;
	t->group = group_of(e, detour_ruleset_get(rs, rule_index));
	if (e->oom) {
		free(t->url);
		free(t->id);
		return;
	}
	e->n++;
}

static void free_lists(struct target *t, size_t n, struct hgroup *g, size_t ng)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].url);
		free(t[i].id);
	}
	for (size_t i = 0; i < ng; i++) {
		free(g[i].key);
		free(g[i].name);
	}
	free(t);
	free(g);
}

/* Whether every member of group gi is down, from the targets' verdicts
 * (members without health= are always up). */
static bool group_all_down(const struct target *t, size_t n, size_t gi, unsigned members)
{
	unsigned down = 0;

	for (size_t i = 0; i < n; i++)
		if (t[i].group == gi && !t[i].up)
			down++;
	return down >= members;
}

static void group_log(struct hgroup *g, bool all_down)
{
	if (all_down && !g->all_down)
		log_warn("no healthy target in group %s: using all", g->name);
	else if (!all_down && g->all_down)
		log_info("group %s has a healthy target again", g->name);
	g->all_down = all_down;
}

/* Under the lock: enumerates tab[], carries the state of targets (by URL
 * and table) and groups (by key) over from the previous lists, and stores
 * every carried verdict in the new tables. */
static void rebuild(struct health *h)
{
	struct enum_ctx e = {.h = h};

	h->dirty = false;
	for (unsigned k = 0; k < 2 && !e.oom; k++) {
		if (h->tab[k] == NULL)
			continue;
		e.tab = k;
		e.table = h->tab[k];
		detour_table_health_targets(h->tab[k], on_target, &e);
	}
	if (e.oom) {
		log_err("health checks: out of memory; the targets of the new rules are not "
		        "probed");
		free_lists(e.t, e.n, e.g, e.ng);
		e.t = NULL;
		e.g = NULL;
		e.n = e.ng = 0;
	}
	for (size_t i = 0; i < e.n; i++) {
		struct target *t = &e.t[i];
		t->probe = i;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(e.t[j].url, t->url)) {
				t->probe = j;
				break;
			}
		for (size_t j = 0; j < h->n; j++)
			if (h->t[j].tab == t->tab && !strcmp(h->t[j].url, t->url)) {
				t->up = h->t[j].up;
				t->good = h->t[j].good;
				t->bad = h->t[j].bad;
				t->probed = h->t[j].probed;
				t->last_code = h->t[j].last_code;
				memcpy(t->last_err, h->t[j].last_err, sizeof(t->last_err));
				break;
			}
		if (!t->up)
			detour_table_set_healthy(h->tab[t->tab], t->rule, false);
	}
	for (size_t gi = 0; gi < e.ng; gi++) {
		for (size_t j = 0; j < h->ng; j++)
			if (!strcmp(h->g[j].key, e.g[gi].key)) {
				e.g[gi].all_down = h->g[j].all_down;
				break;
			}
		group_log(&e.g[gi], group_all_down(e.t, e.n, gi, e.g[gi].members));
	}
	free_lists(h->t, h->n, h->g, h->ng);
	h->t = e.t;
	h->n = e.n;
	h->g = e.g;
	h->ng = e.ng;
}

/* ---- probing ------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One round: a HEAD per distinct URL, all at once, each at most timeout_ms.
 * Runs without the lock. */
static void probe_round(struct health *h, unsigned timeout_ms)
{
	int running = 0;

	for (size_t i = 0; i < h->n; i++) {
		struct target *t = &h->t[i];
		t->res = CURLE_FAILED_INIT;
		t->code = 0;
		t->errbuf[0] = '\0';
		t->easy = NULL;
		if (t->probe != i)
			continue;
		CURL *c = curl_easy_init();
		if (c == NULL)
			continue;
		curl_easy_setopt(c, CURLOPT_URL, t->url);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L); /* HEAD */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_USERAGENT, "detour-health/" DETOUR_VERSION);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)t);
		if (curl_multi_add_handle(h->multi, c) != CURLM_OK) {
			curl_easy_cleanup(c);
			continue;
		}
		t->easy = c;
	}
	for (;;) {
		CURLMsg *m;
		int left;
		if (curl_multi_perform(h->multi, &running) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(h->multi, &left))) {
			struct target *t = NULL;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			t->res = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &t->code);
		}
		if (running == 0 || atomic_load(&h->stop))
			break;
		/* Woken early by curl_multi_wakeup() from health_fini(). */
		curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
	}
	for (size_t i = 0; i < h->n; i++) {
		if (h->t[i].easy == NULL)
			continue;
		curl_multi_remove_handle(h->multi, h->t[i].easy);
		curl_easy_cleanup(h->t[i].easy);
		h->t[i].easy = NULL;
	}
}

/* Under the lock: the round's results through the hysteresis. The flags
 * are stored in the tables only when tab[] still holds the tables the
 * targets were enumerated from (else rebuild() stores them). */
static void apply(struct health *h)
{
	const struct detour_conf_health *c = &h->conf;

	/* First every verdict and flag, then the log lines: whoever reads a
	 * line finds the tables already changed. */
	for (size_t i = 0; i < h->n; i++) {
		struct target *t = &h->t[i];
		t->changed = false;
		if (t->probe != i) {
			const struct target *p = &h->t[t->probe];
			t->up = p->up;
			t->good = p->good;
			t->bad = p->bad;
			t->probed = p->probed;
			t->last_code = p->last_code;
			memcpy(t->last_err, p->last_err, sizeof(t->last_err));
		} else if (t->res == CURLE_OK && t->code >= 200 && t->code < 400) {
			/* 2xx and 3xx are up: a mirror may redirect its probe path. */
			t->bad = 0;
			t->good++;
			if (!t->up && t->good >= c->rise)
				t->up = t->changed = true;
		} else {
			t->good = 0;
			t->bad++;
			if (t->up && t->bad >= c->fall) {
				t->up = false;
				t->changed = true;
			}
		}
		if (t->probe == i) {
			t->probed = true;
			t->last_code = t->res == CURLE_OK ? t->code : 0;
			snprintf(t->last_err, sizeof(t->last_err), "%s",
			         t->res == CURLE_OK ? ""
			         : t->errbuf[0]     ? t->errbuf
			                            : curl_easy_strerror(t->res));
		}
		if (!h->dirty)
			detour_table_set_healthy(h->tab[t->tab], t->rule, t->up);
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct target *t = &h->t[i];
		if (!t->changed)
			continue;
		if (t->up)
			log_info("mirror %s up", t->url);
		else if (t->res == CURLE_OK)
			log_warn("mirror %s down (HTTP %ld)", t->url, t->code);
		else
			log_warn("mirror %s down (%s)", t->url,
			         t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
	}
	for (size_t gi = 0; gi < h->ng; gi++)
		group_log(&h->g[gi], group_all_down(h->t, h->n, gi, h->g[gi].members));
}

static void *run(void *arg)
{
	struct health *h = arg;
	struct timespec next;

	pthread_mutex_lock(&h->lock);
	while (!atomic_load(&h->stop)) {
		if (h->dirty)
			rebuild(h);
		unsigned timeout_ms = h->conf.timeout_ms, interval_ms = h->conf.interval_ms;
		timed_deadline(&next, interval_ms);
		pthread_mutex_unlock(&h->lock);
		probe_round(h, timeout_ms);
		pthread_mutex_lock(&h->lock);
		if (atomic_load(&h->stop))
			break;
		apply(h);
		/* Sleep until the next round; a table swap (dirty) or a stop
		 * ends the sleep early. */
		while (!atomic_load(&h->stop) && !h->dirty &&
		       pthread_cond_timedwait(&h->cond, &h->lock, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

struct health *health_new(struct publish *pub, const struct detour_conf_health *c, char *err,
                          size_t cap)
{
	struct health *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	/* libcurl (and through it OpenSSL, which reads its configuration) is
	 * initialised when a table first has targets (health_published), not
	 * here: a server without health= never needs it, and its start-up
	 * and memory do not pay for it (issue 10). */
	h->pub = pub;
	h->conf = *c;
	pthread_mutex_init(&h->ctl, NULL);
	pthread_mutex_init(&h->lock, NULL);
	timed_cond_init(&h->cond);
	return h;
}

void health_configure(struct health *h, const struct detour_conf_health *c)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->conf = *c;
	pthread_mutex_unlock(&h->lock);
}

/* Under ctl: stops and joins the thread. */
static void stop_thread(struct health *h)
{
	pthread_mutex_lock(&h->lock);
	atomic_store(&h->stop, true);
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
	pthread_join(h->thr, NULL);
	h->running = false;
}

void health_published(struct health *h)
{
	size_t n = 0;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->ctl);
	pthread_mutex_lock(&h->lock);
	for (unsigned k = 0; k < 2; k++) {
		struct served *s = atomic_load(k ? &h->pub->api : &h->pub->file);
		h->tab[k] = s ? s->table : NULL;
		if (h->tab[k])
			n += detour_table_health_targets(h->tab[k], NULL, NULL);
	}
	h->dirty = true;
	unsigned interval_ms = h->conf.interval_ms;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (n > 0 && !h->running && h->multi == NULL) {
		/* libcurl 7.84 and later initialise safely while other threads
		 * run (Debian's is built "threadsafe"). */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			log_err("health checks: cannot initialise libcurl; every target counts as "
			        "up");
		else if ((h->multi = curl_multi_init()) == NULL)
			curl_global_cleanup();
		else
			h->curl = true;
		if (h->multi == NULL)
			n = 0; /* no thread: the targets count as up */
	}
	if (n > 0 && !h->running) {
		atomic_store(&h->stop, false);
		int e = pthread_create(&h->thr, NULL, run, h);
		if (e)
			log_err("health checks: cannot start the thread: %s; every target counts "
			        "as up",
			        strerror(e));
		else
			h->running = true;
	} else if (n == 0 && h->running) {
		stop_thread(h);
	}
	if (n == 0) {
		/* No thread will rebuild: forget the old targets, so that
		 * health_targets() lists none. */
		pthread_mutex_lock(&h->lock);
		free_lists(h->t, h->n, h->g, h->ng);
		h->t = NULL;
		h->g = NULL;
		h->n = h->ng = 0;
		pthread_mutex_unlock(&h->lock);
	}
	if (n > 0 && h->running)
		log_info("health checks: %zu targets, every %u ms", n, interval_ms);
	pthread_mutex_unlock(&h->ctl);
}

void health_targets(struct health *h, void (*fn)(void *arg, const struct health_target *t),
                    void *arg)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++) {
		const struct target *t = &h->t[i];
		struct health_target v = {
		        .rule = t->id,
		        .url = t->url,
		        .group = h->g[t->group].name,
		        .up = t->up,
		        .probed = t->probed,
		        .status = t->last_code,
		        .error = t->last_err[0] ? t->last_err : NULL,
		};
		fn(arg, &v);
	}
	pthread_mutex_unlock(&h->lock);
}

void health_fini(struct health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->ctl);
	if (h->running)
		stop_thread(h);
	pthread_mutex_unlock(&h->ctl);
	free_lists(h->t, h->n, h->g, h->ng);
	if (h->curl) {
		curl_multi_cleanup(h->multi);
		curl_global_cleanup();
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->ctl);
	free(h);
}
