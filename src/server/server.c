/* detour server: the main thread, the top of src/server. Builds the first
 * table, puts the parts of core.h together (publication, workers,
 * maintenance, health, admin), starts the workers, then only handles
 * signals through a signalfd:
 *   SIGHUP           reload the config and rules; a broken file keeps the old table
 *   SIGUSR1          flush and reopen the logs (logrotate)
 *   SIGUSR2          toggle maintenance mode (maint.c)
 *   SIGTERM, SIGINT  stop accepting, finish in-flight requests, exit 0
 * and, about once a second, looks whether the maintenance file= appeared or
 * disappeared. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "core.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "health.h"
#include "log.h"
#include "maint.h"
#include "privdrop.h"
#include "publish.h"
#include "server.h"
#include "state.h"
#include "worker.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct detour_table *server_build_table(const struct detour_config *conf, char *err, size_t cap,
                                        struct detour_diags *ds)
{
	const char *files[DETOUR_CONF_MAX_RULES];
	struct detour_table *t;
	struct detour_diag d = {0};

	for (unsigned i = 0; i < conf->nrules; i++)
		files[i] = conf->rules[i];
	if (ds)
		memset(ds, 0, sizeof(*ds));
	if (detour_rules_load_all(files, conf->nrules, &t, &d, ds) != DETOUR_OK) {
		detour_diag_format(&d, err, cap);
		if (ds && ds->total > 1) {
			size_t l = strlen(err);
			snprintf(err + l, cap - l, " (and %u more error%s)", ds->total - 1,
			         ds->total == 2 ? "" : "s");
		}
		return NULL;
	}
	return t;
}

/* Every error of a failed load, one log line each (the first
 * DETOUR_DIAGS_MAX, then how many more). */
static void log_diags(const char *what, const struct detour_diags *ds)
{
	char line[1024];

	if (ds == NULL || ds->total < 2)
		return; /* the caller's own line says it */
	for (unsigned i = 0; i < ds->n; i++)
		log_err("%s%s", what, detour_diag_format(&ds->d[i], line, sizeof(line)));
	if (ds->total > ds->n)
		log_err("%s%u more errors", what, ds->total - ds->n);
}

static int open_access_log(const char *path)
{
	int fd;

	if (path[0] == '\0')
		return -1;
	if (!strcmp(path, "-"))
		return dup(1);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		log_err("cannot open access log %s: %s", path, strerror(errno));
	return fd;
}

/* publish.h's hooks: around every swap of a rule table. */
static void table_swapped(void *arg)
{
	struct server *srv = arg;

	/* The health prober lets go of the old table and enumerates the new
	 * one before the old one is freed (health.h). */
	health_published(srv->health);
}

static void table_retired(void *arg, struct served *old)
{
	struct server *srv = arg;

	if (srv->state)
		state_flush_served(srv->state, old);
}

/* The settings of conf that a reload may change (publish.h). NULL when out
 * of memory. */
static struct settings *settings_of(const struct detour_config *conf)
{
	struct settings *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return NULL;
	set->server_header = conf->server_header;
	snprintf(set->access_log, sizeof(set->access_log), "%s", conf->access_log);
	return set;
}

static bool same_listen(const struct detour_config *a, const struct detour_config *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].host, b->listen[i].host) ||
		    a->listen[i].port != b->listen[i].port ||
		    a->listen[i].tls != b->listen[i].tls ||
		    a->listen[i].proxy_protocol != b->listen[i].proxy_protocol)
			return false;
	return true;
}

static int reload(struct server *srv, const char *conf_path, char *err, size_t cap)
{
	struct detour_config *nc = malloc(sizeof(*nc));
	struct detour_diag d = {0};
	struct detour_table *t;
	struct served *sv;
	struct settings *set;
	const struct settings *cur = atomic_load(&srv->pub.set); /* replaced only here */
	uint64_t t0 = mono_ms();

	if (nc == NULL) {
		snprintf(err, cap, "out of memory");
		log_err("reload failed: out of memory; the old rules keep serving");
		return -1;
	}
	if (conf_path) {
		if (detour_config_load(nc, conf_path, &d) != DETOUR_OK) {
			detour_diag_format(&d, err, cap);
			log_err("reload failed: %s; the old configuration and rules keep serving",
			        err);
			free(nc);
			return -1;
		}
	} else {
		*nc = srv->conf;
	}
	struct detour_diags *ds = calloc(1, sizeof(*ds)); /* NULL: the first error only */
	t = server_build_table(nc, err, cap, ds);
	if (t == NULL)
		log_diags("reload: ", ds);
	free(ds);
	if (t == NULL) {
		log_err("reload failed: %s; the old rules keep serving", err);
		free(nc);
		return -1;
	}
	sv = served_new(t, ORIGIN_FILE, srv->pool.n, srv->conf.stats);
	set = sv ? settings_of(nc) : NULL;
	if (set == NULL) {
		served_free(sv);
		snprintf(err, cap, "out of memory");
		log_err("reload failed: out of memory; the old rules keep serving");
		free(nc);
		return -1;
	}
	if (!same_listen(nc, &srv->conf) || nc->workers != srv->conf.workers ||
	    nc->max_connections != srv->conf.max_connections ||
	    memcmp(&nc->limits, &srv->conf.limits, sizeof(nc->limits)) ||
	    nc->header_timeout_ms != srv->conf.header_timeout_ms ||
	    nc->keepalive_timeout_ms != srv->conf.keepalive_timeout_ms)
		log_warn("reload: listen, workers, max-connections, limit and timeout changes take "
		         "effect at the next restart");
	/* The workers' format is the start-up one (alog_init). */
	if (nc->access_log_format != srv->conf.access_log_format)
		log_warn("reload: a new access log format takes effect at the next restart");
	if ((nc->access_log[0] == '\0') != (cur->access_log[0] == '\0'))
		log_warn("reload: turning the access log on or off takes effect at the next "
		         "restart");
	else if (strcmp(nc->access_log, cur->access_log) && srv->pool.access_fd >= 0) {
		int fd = open_access_log(nc->access_log);
		if (fd >= 0) {
			dup2(fd, srv->pool.access_fd);
			close(fd);
		}
	}
	if (srv->admin)
		admin_reload_tokens(srv->admin, nc);
	/* The workers see the new settings from their next loop iteration. */
	publish_settings(&srv->pub, set);
	/* New health-check settings apply from the prober's next round. */
	health_configure(srv->health, &nc->health);
	publish_served(&srv->pub, &srv->pub.file, sv);
	/* A changed maintenance directive is a change of maintenance (maint.h). */
	maint_reload(srv->maint, &nc->maint);
	log_info("reloaded: %zu rules in %llu ms", detour_ruleset_count(detour_table_rules(t)),
	         (unsigned long long)(mono_ms() - t0));
	free(nc);
	return 0;
}

/* Re-reads the configuration and rules files and publishes the new table;
 * SIGHUP here, POST /reload through the admin's hook. One at a time: the
 * file table's lock is held throughout. Returns 0, or -1 with the reason in
 * err (the old table keeps serving). */
static int server_reload(void *arg, char *err, size_t cap)
{
	struct server *srv = arg;
	int rc;

	pthread_mutex_lock(&srv->pub.file_lock);
	rc = reload(srv, srv->conf_path, err, cap);
	atomic_fetch_add(rc ? &srv->counters.reloads_failed : &srv->counters.reloads_ok, 1);
	pthread_mutex_unlock(&srv->pub.file_lock);
	return rc;
}

static void reopen_logs(struct server *srv)
{
	struct pool *pool = &srv->pool;
	unsigned gen = atomic_fetch_add(&pool->flush_gen, 1) + 1;
	uint64_t until = mono_ms() + 2000;
	char path[DETOUR_CONF_PATH_MAX];

	/* The main thread is no reader of the snapshots: a reload (maybe
	 * POST /reload on the admin thread) replaces the settings under the
	 * file lock, so they are read under it. */
	pthread_mutex_lock(&srv->pub.file_lock);
	snprintf(path, sizeof(path), "%s", atomic_load(&srv->pub.set)->access_log);
	pthread_mutex_unlock(&srv->pub.file_lock);

	for (unsigned i = 0; i < pool->n; i++)
		worker_wake(&pool->w[i]);
	for (unsigned i = 0; i < pool->n; i++) {
		while (worker_flush_ack(&pool->w[i]) != gen && mono_ms() < until) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (pool->access_fd >= 0 && strcmp(path, "-")) {
		int fd = open_access_log(path);
		if (fd >= 0) {
			dup2(fd, pool->access_fd);
			close(fd);
		}
	}
	log_reopen();
	log_info("logs reopened");
}

static unsigned ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

int server_run(const struct detour_config *conf, const char *conf_path)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct detour_table *t;
	struct served *sv;
	struct settings *set;
	struct privdrop priv;
	struct admin_hooks hooks;
	char err[1024];
	sigset_t set_mask;
	int sfd = -1, rc = 1;
	uint64_t t0 = mono_ms();

	if (srv == NULL)
		return 1;
	srv->conf = *conf;
	srv->conf_path = conf_path;
	srv->pool.access_fd = -1;
	log_open(conf->error_log);
	struct detour_diags *ds = calloc(1, sizeof(*ds)); /* NULL: the first error only */
	t = server_build_table(conf, err, sizeof(err), ds);
	if (t == NULL)
		log_diags("", ds);
	free(ds);
	if (t == NULL) {
		log_err("%s", err);
		free(srv);
		return 1;
	}
	srv->pool.n = conf->workers ? conf->workers : ncpu();
	sv = served_new(t, ORIGIN_FILE, srv->pool.n, conf->stats);
	set = settings_of(conf);
	if (sv == NULL || set == NULL || publish_init(&srv->pub, srv->pool.n)) {
		log_err("out of memory");
		served_free(sv);
		free(set);
		free(srv);
		return 1;
	}
	srv->pub.swapped = table_swapped;
	srv->pub.retired = table_retired;
	srv->pub.hook_arg = srv;
	atomic_store(&srv->pub.file, sv); /* no reader yet */
	atomic_store(&srv->pub.set, set);
	srv->maint = maint_new(&srv->pub);
	if (srv->maint == NULL) {
		log_err("out of memory");
		goto out;
	}
	srv->pool.access_fd = open_access_log(conf->access_log);
	if (conf->access_log[0] && srv->pool.access_fd < 0)
		goto out;
	/* The state (API rules, maintenance, statistics) is opened as the
	 * `user` and the API table published before any listener exists, so
	 * the first request already sees the API rules. */
	hooks = (struct admin_hooks){.reload = server_reload, .arg = srv};
	srv->health = health_new(&srv->pub, &conf->health, err, sizeof(err));
	if (srv->health == NULL || privdrop_prepare(&srv->conf, &priv, err, sizeof(err)) ||
	    admin_prepare(srv, &priv, &hooks, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	srv->pool.pub = &srv->pub;
	srv->pool.conf = &srv->conf;
	srv->pool.max_conns = (conf->max_connections + srv->pool.n - 1) / srv->pool.n;
	srv->pool.w = calloc(srv->pool.n, sizeof(*srv->pool.w));
	if (srv->pool.w == NULL)
		goto out;

	/* Workers inherit this mask: only the signalfd sees these signals. */
	sigemptyset(&set_mask);
	sigaddset(&set_mask, SIGHUP);
	sigaddset(&set_mask, SIGUSR1);
	sigaddset(&set_mask, SIGUSR2);
	sigaddset(&set_mask, SIGTERM);
	sigaddset(&set_mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set_mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set_mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < srv->pool.n; i++) {
		if (worker_start(&srv->pool, i, err, sizeof(err))) {
			log_err("%s", err);
			atomic_store(&srv->pool.stopping, true);
			for (unsigned k = 0; k <= i; k++) {
				worker_wake(&srv->pool.w[k]);
				worker_join(&srv->pool.w[k]);
			}
			goto out;
		}
	}
	if (admin_start(srv, err, sizeof(err)) || privdrop_finish(&priv, err, sizeof(err))) {
		log_err("%s", err);
		atomic_store(&srv->pool.stopping, true);
		admin_stop(srv);
		for (unsigned k = 0; k < srv->pool.n; k++) {
			worker_wake(&srv->pool.w[k]);
			worker_join(&srv->pool.w[k]);
		}
		goto out;
	}
	/* Starts the mirror prober when a table has health= targets. */
	health_published(srv->health);
	for (unsigned i = 0; i < conf->nlisten; i++)
		log_info("listening on %s%s%s:%u", conf->listen[i].ipv6 ? "[" : "",
		         conf->listen[i].host, conf->listen[i].ipv6 ? "]" : "",
		         conf->listen[i].port);
	log_info("detour %s ready: %zu rules, %u workers, started in %llu ms", DETOUR_VERSION,
	         detour_ruleset_count(detour_table_rules(t)), srv->pool.n,
	         (unsigned long long)(mono_ms() - t0));

	uint64_t next_file_check = mono_ms() + 1000;
	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd pfd = {.fd = sfd, .events = POLLIN};
		/* The maintenance file= is looked at about once a second here,
		 * never on the request path. */
		int pr = poll(&pfd, 1, 1000);
		if (mono_ms() >= next_file_check) {
			maint_poll_file(srv->maint);
			next_file_check = mono_ms() + 1000;
		}
		if (pr <= 0) {
			if (pr < 0 && errno != EINTR) {
				log_err("poll: %s", strerror(errno));
				break;
			}
			continue;
		}
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			log_err("signalfd read: %s", n < 0 ? strerror(errno) : "short read");
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			server_reload(srv, err, sizeof(err));
		} else if (si.ssi_signo == SIGUSR1) {
			reopen_logs(srv);
		} else if (si.ssi_signo == SIGUSR2) {
			maint_toggle(srv->maint);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("%s: finishing in-flight requests, then exiting",
			         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
	atomic_store(&srv->pool.stopping, true);
	/* The admin thread reads the workers' counters and wakes them: it
	 * stops first. */
	admin_stop(srv);
	for (unsigned i = 0; i < srv->pool.n; i++)
		worker_wake(&srv->pool.w[i]);
	for (unsigned i = 0; i < srv->pool.n; i++)
		worker_join(&srv->pool.w[i]);
	uint64_t served = 0;
	for (unsigned i = 0; i < srv->pool.n; i++)
		served += srv->pool.w[i].cs.requests;
	log_info("stopped after %llu requests", (unsigned long long)served);
	rc = 0;
out:
	if (sfd >= 0)
		close(sfd);
	admin_stop(srv);          /* no-op when stopped above or never started */
	health_fini(srv->health); /* after the last publish, before the tables are freed */
	srv->health = NULL;
	free(srv->pool.w);
	sv = atomic_load(&srv->pub.file);
	if (sv && srv->state)
		state_flush_served(srv->state, sv);
	served_free(sv);
	served_free(atomic_load(&srv->pub.api));
	maint_fini(srv->maint);
	publish_fini(&srv->pub);
	state_close(srv->state);
	if (srv->pool.access_fd >= 0)
		close(srv->pool.access_fd);
	free(srv);
	return rc;
}
