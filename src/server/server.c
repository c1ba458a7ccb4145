/* detour server: the main thread. Builds the first table, starts the
 * workers, then only handles signals through a signalfd:
 *   SIGHUP           reload the config and rules; a broken file keeps the old table
 *   SIGUSR1          flush and reopen the logs (logrotate)
 *   SIGUSR2          toggle maintenance mode (maint.c)
 * and, about once a second, looks whether the maintenance file= appeared or
 * disappeared.  *   SIGTERM, SIGINT  stop accepting, finish in-flight requests, exit 0 */
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
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "health.h"
#include "maint.h"
#include "server.h"
#include "state.h"
#include "stats.h"
#include "worker.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct detour_table *server_build_table(const struct detour_config *conf, char *err, size_t cap)
{
	const char *files[DETOUR_CONF_MAX_RULES];
	struct detour_table *t;
	struct detour_diag d = {0};

	for (unsigned i = 0; i < conf->nrules; i++)
		files[i] = conf->rules[i];
	if (detour_rules_load(files, conf->nrules, &t, &d) != DETOUR_OK) {
		detour_diag_format(&d, err, cap);
		return NULL;
	}
	return t;
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

void server_publish(struct server *srv, _Atomic(struct served *) *slot, struct served *t)
{
	struct served *old = atomic_exchange(slot, t);
	uint64_t gen = atomic_fetch_add(&srv->gen, 1) + 1;

	/* The health prober lets go of the old table and enumerates the new
	 * one before old is freed below (health.h). */
	health_published(srv);

	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		worker_wake(w);
		while (worker_seen_gen(w) < gen) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (old && srv->state)
		state_flush_served(srv->state, old);
	served_free(old);
}

static bool same_listen(const struct detour_config *a, const struct detour_config *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].host, b->listen[i].host) ||
		    a->listen[i].port != b->listen[i].port)
			return false;
	return true;
}

static int reload(struct server *srv, const char *conf_path, char *err, size_t cap)
{
	struct detour_config *nc = malloc(sizeof(*nc));
	struct detour_diag d = {0};
	struct detour_table *t;
	struct served *sv;
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
	t = server_build_table(nc, err, cap);
	if (t == NULL) {
		log_err("reload failed: %s; the old rules keep serving", err);
		free(nc);
		return -1;
	}
	sv = served_new(t, ORIGIN_FILE, srv->nworkers, srv->conf.stats);
	if (sv == NULL) {
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
	if ((nc->access_log[0] == '\0') != (srv->conf.access_log[0] == '\0'))
		log_warn("reload: turning the access log on or off takes effect at the next "
		         "restart");
	else if (strcmp(nc->access_log, srv->conf.access_log) && srv->access_fd >= 0) {
		int fd = open_access_log(nc->access_log);
		if (fd >= 0) {
			dup2(fd, srv->access_fd);
			close(fd);
		}
	}
	if (srv->admin)
		admin_reload_tokens(srv->admin, nc);
	atomic_store(&srv->server_header, nc->server_header);
	/* New health-check settings apply from the prober's next round. */
	health_configure(srv, &nc->health);
	srv->conf.health = nc->health;
	server_publish(srv, &srv->table, sv);
	/* A changed maintenance directive is a change of maintenance (maint.h). */
	maint_reload(srv, &nc->maint);
	srv->conf.maint = nc->maint;
	memcpy(srv->conf.rules, nc->rules, sizeof(nc->rules));
	srv->conf.nrules = nc->nrules;
	snprintf(srv->conf.access_log, sizeof(srv->conf.access_log), "%s", nc->access_log);
	srv->conf.server_header = nc->server_header;
	log_info("reloaded: %zu rules in %llu ms", detour_ruleset_count(detour_table_rules(t)),
	         (unsigned long long)(mono_ms() - t0));
	free(nc);
	return 0;
}

int server_reload(struct server *srv, char *err, size_t cap)
{
	int rc;

	pthread_mutex_lock(&srv->reload_lock);
	rc = reload(srv, srv->conf_path, err, cap);
	atomic_fetch_add(rc ? &srv->reloads_failed : &srv->reloads_ok, 1);
	pthread_mutex_unlock(&srv->reload_lock);
	return rc;
}

static void reopen_logs(struct server *srv)
{
	unsigned gen = atomic_fetch_add(&srv->flush_gen, 1) + 1;
	uint64_t until = mono_ms() + 2000;

	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_wake(&srv->workers[i]);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		while (worker_flush_ack(&srv->workers[i]) != gen && mono_ms() < until) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (srv->access_fd >= 0 && strcmp(srv->conf.access_log, "-")) {
		int fd = open_access_log(srv->conf.access_log);
		if (fd >= 0) {
			dup2(fd, srv->access_fd);
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
	struct privdrop priv;
	char err[1024];
	sigset_t set;
	int sfd = -1, rc = 1;
	uint64_t t0 = mono_ms();

	if (srv == NULL)
		return 1;
	srv->conf = *conf;
	srv->conf_path = conf_path;
	srv->access_fd = -1;
	pthread_mutex_init(&srv->reload_lock, NULL);
	log_open(conf->error_log);
	t = server_build_table(conf, err, sizeof(err));
	if (t == NULL) {
		log_err("%s", err);
		free(srv);
		return 1;
	}
	srv->nworkers = conf->workers ? conf->workers : ncpu();
	sv = served_new(t, ORIGIN_FILE, srv->nworkers, conf->stats);
	if (sv == NULL) {
		log_err("out of memory");
		free(srv);
		return 1;
	}
	atomic_store(&srv->table, sv);
	atomic_store(&srv->server_header, conf->server_header);
	srv->access_fd = open_access_log(conf->access_log);
	if (conf->access_log[0] && srv->access_fd < 0)
		goto out;
	/* The state (API rules, maintenance, statistics) is opened as the
	 * `user` and the API table published before any listener exists, so
	 * the first request already sees the API rules. */
	if (health_init(srv, &conf->health, err, sizeof(err)) ||
	    privdrop_prepare(&srv->conf, &priv, err, sizeof(err)) ||
	    admin_prepare(srv, &priv, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	srv->max_conns_per_worker = (conf->max_connections + srv->nworkers - 1) / srv->nworkers;
	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	if (srv->workers == NULL)
		goto out;

	/* Workers inherit this mask: only the signalfd sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		if (worker_start(srv, &srv->workers[i], i, err, sizeof(err))) {
			log_err("%s", err);
			atomic_store(&srv->stopping, true);
			for (unsigned k = 0; k <= i; k++) {
				worker_wake(&srv->workers[k]);
				worker_join(&srv->workers[k]);
			}
			goto out;
		}
	}
	if (admin_start(srv, err, sizeof(err)) || privdrop_finish(&priv, err, sizeof(err))) {
		log_err("%s", err);
		atomic_store(&srv->stopping, true);
		admin_stop(srv);
		for (unsigned k = 0; k < srv->nworkers; k++) {
			worker_wake(&srv->workers[k]);
			worker_join(&srv->workers[k]);
		}
		goto out;
	}
	/* Starts the mirror prober when a table has health= targets. */
	health_published(srv);
	for (unsigned i = 0; i < conf->nlisten; i++)
		log_info("listening on %s%s%s:%u", conf->listen[i].ipv6 ? "[" : "",
		         conf->listen[i].host, conf->listen[i].ipv6 ? "]" : "",
		         conf->listen[i].port);
	log_info("detour %s ready: %zu rules, %u workers, started in %llu ms", DETOUR_VERSION,
	         detour_ruleset_count(detour_table_rules(t)), srv->nworkers,
	         (unsigned long long)(mono_ms() - t0));

	uint64_t next_file_check = mono_ms() + 1000;
	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd pfd = {.fd = sfd, .events = POLLIN};
		/* The maintenance file= is looked at about once a second here,
		 * never on the request path. */
		int pr = poll(&pfd, 1, 1000);
		if (mono_ms() >= next_file_check) {
			maint_poll_file(srv);
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
			maint_toggle(srv);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("%s: finishing in-flight requests, then exiting",
			         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
	atomic_store(&srv->stopping, true);
	/* The admin thread reads the workers' counters and wakes them: it
	 * stops first. */
	admin_stop(srv);
	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_wake(&srv->workers[i]);
	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_join(&srv->workers[i]);
	uint64_t served = 0;
	for (unsigned i = 0; i < srv->nworkers; i++)
		served += srv->workers[i].requests;
	log_info("stopped after %llu requests", (unsigned long long)served);
	rc = 0;
out:
	if (sfd >= 0)
		close(sfd);
	admin_stop(srv);  /* no-op when stopped above or never started */
	health_fini(srv); /* after the last publish, before the tables are freed */
	free(srv->workers);
	sv = atomic_load(&srv->table);
	if (sv && srv->state)
		state_flush_served(srv->state, sv);
	served_free(sv);
	served_free(atomic_load(&srv->api));
	maint_fini(srv);
	state_close(srv->state);
	if (srv->access_fd >= 0)
		close(srv->access_fd);
	free(srv);
	return rc;
}
