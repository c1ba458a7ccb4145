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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme.h"
#include "admin.h"
#include "base/sparse.h"
#include "core.h"
#include "detour/canon.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "health.h"
#include "hsstore.h"
#include "log.h"
#include "maint.h"
#include "privdrop.h"
#include "publish.h"
#include "reloader.h"
#include "server.h"
#include "state.h"
#include "tls.h"
#include "worker.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct detour_table *server_build_table(const struct detour_config *conf, char *err, size_t cap,
                                        struct detour_diags *ds, bool cached)
{
	const char *files[DETOUR_CONF_MAX_RULES];
	struct detour_table *t;
	struct detour_diag d = {0};
	struct hsstore hs;
	const struct detour_hscache *io = cached ? hsstore_init(&hs, conf) : NULL;

	for (unsigned i = 0; i < conf->nrules; i++)
		files[i] = conf->rules[i];
	if (ds)
		memset(ds, 0, sizeof(*ds));
	detour_err e = detour_rules_load_cached(files, conf->nrules, &t, &d, ds, io);

	if (io)
		hsstore_fini(&hs);
	if (e != DETOUR_OK) {
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
	if (fd < 0) {
		log_err("cannot open access log %s: %s", path, strerror(errno));
		return fd;
	}
	/* A FIFO (a log shipper's): a reader that stalls must not stop the
	 * workers; a write that would block drops its lines, counted
	 * (accesslog.h). A file never blocks that way. */
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* publish.h's hooks: around every swap of a rule table. */
static void table_swapped(void *arg)
{
	struct server *srv = arg;

	/* The health prober lets go of the old table and enumerates the new
	 * one before the old one is freed (health.h). */
	health_published(srv->health);
	/* The ACME client recomputes the hosts to certify (acme.h). */
	acme_published(srv->acme, &srv->pub);
}

static void table_retired(void *arg, struct served *old)
{
	struct server *srv = arg;

	served_collect(old, true);    /* no reader holds it */
	admin_flush_served(srv, old); /* the admin's store */
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
	memcpy(set->trusted, conf->trusted_proxies, sizeof(set->trusted));
	set->ntrusted = conf->ntrusted_proxies;
	if (detour_canon_new(conf, &set->canon) != DETOUR_OK) {
		free(set);
		return NULL;
	}
	set->canon_plain = detour_canon_may_change(set->canon, false);
	set->canon_https = detour_canon_may_change(set->canon, true);
	return set;
}

/* The ACME client installs certificates through tls.h (acme_order.h's
 * hooks; arg is srv->tls). */
static int acme_tls_cert(void *arg, const char *host, const char *chain, size_t chain_len,
                         const char *key, size_t key_len, char *err, size_t errlen)
{
	return tls_set_host_cert(arg, host, chain, chain_len, key, key_len, err, errlen);
}

static int acme_tls_alpn(void *arg, const char *host, const char *cert, size_t cert_len,
                         const char *key, size_t key_len)
{
	return tls_set_alpn_challenge(arg, host, cert, cert_len, key, key_len);
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

/* A reload (reloader.h): the copies its build reads, then what it built. */
struct reload_job {
	char *conf_path; /* NULL: the configuration of the start again */
	struct detour_config *nc;
	unsigned nworkers;
	bool stats;
	uint64_t t0;
	struct maint_page *mpg; /* built: the maintenance page, the table, the settings */
	struct served *sv;
	struct settings *set;
};

static void job_discard(void *arg)
{
	struct reload_job *j = arg;

	maint_page_free(j->mpg);
	served_free(j->sv);
	settings_free(j->set);
	free(j->nc);
	free(j->conf_path);
	free(j);
}

/* Under the reloader's lock: nothing of srv is read after this. */
static void *job_prepare(void *arg)
{
	struct server *srv = arg;
	struct reload_job *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->nc = malloc(sizeof(*j->nc))) == NULL ||
	    (srv->conf_path && (j->conf_path = strdup(srv->conf_path)) == NULL)) {
		if (j)
			job_discard(j);
		return NULL;
	}
	if (srv->conf_path == NULL)
		*j->nc = srv->conf;
	j->nworkers = srv->pool.n;
	j->stats = srv->conf.stats;
	j->t0 = mono_ms();
	return j;
}

/* Reads the configuration and the rules files and builds the new table
 * (the regex index compiled or loaded from the cache: seconds to a minute
 * for 10,000 regexes): the workers serve the old table and the admin API
 * answers meanwhile. Reads only the job. */
static int job_build(void *arg, char *err, size_t cap)
{
	struct reload_job *j = arg;
	struct detour_config *nc = j->nc;
	struct detour_diag d = {0};
	struct detour_table *t;

	if (j->conf_path && detour_config_load(nc, j->conf_path, &d) != DETOUR_OK) {
		detour_diag_format(&d, err, cap);
		log_err("reload failed: %s; the old configuration and rules keep serving", err);
		return -1;
	}
	/* The maintenance page is read now: a missing or too large one fails
	 * the reload, and everything keeps its old state. */
	char perr[600];
	if (maint_page_read(nc->maint.line ? nc->maint.page : "", &j->mpg, perr, sizeof(perr))) {
		snprintf(err, cap, "%s:%u: %s", nc->file, nc->maint.line, perr);
		log_err("reload failed: %s; the old configuration and rules keep serving", err);
		return -1;
	}
	struct detour_diags *ds = calloc(1, sizeof(*ds)); /* NULL: the first error only */
	t = server_build_table(nc, err, cap, ds, true);
	if (t == NULL)
		log_diags("reload: ", ds);
	free(ds);
	if (t == NULL) {
		log_err("reload failed: %s; the old rules keep serving", err);
		return -1;
	}
	j->sv = served_new(t, ORIGIN_FILE, j->nworkers, j->stats);
	j->set = j->sv ? settings_of(nc) : NULL;
	if (j->set == NULL) {
		snprintf(err, cap, "out of memory");
		log_err("reload failed: out of memory; the old rules keep serving");
		return -1;
	}
	return 0;
}

/* The swap of a built job, under the file lock (milliseconds). */
static int job_publish(void *arg, void *jarg, char *err, size_t cap, size_t *nrules)
{
	struct server *srv = arg;
	struct reload_job *j = jarg;
	struct detour_config *nc = j->nc;
	const struct settings *cur;
	struct served *sv = j->sv;

	pthread_mutex_lock(&srv->pub.file_lock);
	cur = atomic_load(&srv->pub.set); /* replaced only here */
	if (!same_listen(nc, &srv->conf) || nc->workers != srv->conf.workers ||
	    nc->max_connections != srv->conf.max_connections ||
	    memcmp(&nc->limits, &srv->conf.limits, sizeof(nc->limits)) ||
	    nc->header_timeout_ms != srv->conf.header_timeout_ms ||
	    nc->keepalive_timeout_ms != srv->conf.keepalive_timeout_ms)
		log_warn("reload: listen, workers, max-connections, limit and timeout changes take "
		         "effect at the next restart");
	if (nc->http2 != srv->conf.http2)
		log_warn("reload: turning http2 on or off takes effect at the next restart");
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
	publish_settings(&srv->pub, j->set);
	j->set = NULL;
	/* New health-check settings apply from the prober's next round. */
	health_configure(srv->health, &nc->health);
	if (strcmp(nc->acme.directory, srv->conf.acme.directory) ||
	    strcmp(nc->acme.email, srv->conf.acme.email) ||
	    strcmp(nc->acme.ca_file, srv->conf.acme.ca_file))
		log_warn("reload: acme, acme-email and acme-ca changes take effect at the next "
		         "restart");
	acme_configure(srv->acme, nc); /* canonical-host and acme-hosts */
	*nrules = sv->nrules;
	publish_served(&srv->pub, &srv->pub.file, sv);
	j->sv = NULL;
	/* A changed maintenance directive is a change of maintenance (maint.h). */
	maint_reload(srv->maint, &nc->maint, j->mpg);
	j->mpg = NULL;
	/* The tls-cert pairs (tls.h): a broken pair keeps the old certificates
	 * serving and is logged, the rules above are reloaded all the same. */
	if (srv->tls) {
		char terr[1024];
		if (tls_ctx_reload(srv->tls, nc, terr, sizeof(terr)))
			log_err("reload: %s; the old certificates keep serving", terr);
		else
			log_info("reload: %u certificate%s loaded", nc->ncerts,
			         nc->ncerts == 1 ? "" : "s");
	}
	log_info("reloaded: %zu rules in %llu ms", *nrules,
	         (unsigned long long)(mono_ms() - j->t0));
	pthread_mutex_unlock(&srv->pub.file_lock);
	job_discard(j);
	return 0;
}

static void job_counted(void *arg, int rc)
{
	struct server *srv = arg;

	atomic_fetch_add(rc ? &srv->counters.reloads_failed : &srv->counters.reloads_ok, 1);
}

/* The admin's hooks (admin_hooks.h): POST /reload asks the reload thread. */
static void admin_reload(void *arg, struct reload_wait *w)
{
	struct server *srv = arg;

	reloader_request(srv->reloader, w);
}

static void admin_reload_forget(void *arg, struct reload_wait *w)
{
	struct server *srv = arg;

	reloader_forget(srv->reloader, w);
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

/* After the drop: the worker threads, then the admin thread. Returns 0, or
 * -1 with err (the caller stops and joins them all). */
static int start_threads(struct server *srv, char *err, size_t cap)
{
	for (unsigned i = 0; i < srv->pool.n; i++)
		if (worker_run(&srv->pool.w[i], err, cap))
			return -1;
	return admin_start(srv, err, cap);
}

int server_run(struct detour_config *given, const char *conf_path)
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

	if (srv == NULL) {
		free(given);
		return 1;
	}
	/* srv is calloc'd: the zero parts of the configuration (most of its
	 * megabyte) are not copied, so their pages stay unallocated; the
	 * caller's copy is let go, and only srv's is read from here on. */
	base_copy_sparse(&srv->conf, given, sizeof(*given));
	free(given);
	const struct detour_config *conf = &srv->conf;
	srv->conf_path = conf_path;
	srv->pool.access_fd = -1;
	log_open(conf->error_log);
	struct detour_diags *ds = calloc(1, sizeof(*ds)); /* NULL: the first error only */
	t = server_build_table(conf, err, sizeof(err), ds, true);
	if (t == NULL)
		log_diags("", ds);
	free(ds);
	if (t == NULL) {
		log_err("%s", err);
		free(srv);
		return 1;
	}
	/* Certificates and keys are read now, before privileges are dropped
	 * (privdrop_finish below): a key readable only by root still loads. */
	for (unsigned i = 0; i < conf->nlisten && srv->tls == NULL; i++) {
		if (!conf->listen[i].tls)
			continue;
		srv->tls = tls_ctx_new(conf, err, sizeof(err));
		if (srv->tls == NULL) {
			log_err("%s", err);
			detour_table_free(t);
			free(srv);
			return 1;
		}
	}
	srv->pool.tls = srv->tls;
	srv->pool.n = conf->workers ? conf->workers : ncpu();
	sv = served_new(t, ORIGIN_FILE, srv->pool.n, conf->stats);
	set = settings_of(conf);
	if (sv == NULL || set == NULL || publish_init(&srv->pub, srv->pool.n)) {
		log_err("out of memory");
		served_free(sv);
		settings_free(set);
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
	hooks = (struct admin_hooks){
	        .reload = admin_reload, .reload_forget = admin_reload_forget, .arg = srv};
	srv->health = health_new(&srv->pub, &conf->health, err, sizeof(err));
	if (srv->health == NULL || privdrop_prepare(&srv->conf, &priv, err, sizeof(err)) ||
	    admin_prepare(srv, &priv, &hooks, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	if (conf->acme.line) {
		/* Certificates under state-dir are installed before the first
		 * connection; the thread starts once privileges are dropped. */
		struct acme_tls_hooks th = {
		        .arg = srv->tls,
		        .set_cert = srv->tls ? acme_tls_cert : NULL,
		        .set_alpn = srv->tls ? acme_tls_alpn : NULL,
		};
		srv->acme = acme_new(&srv->conf, &th, err, sizeof(err));
		if (srv->acme == NULL) {
			log_err("%s", err);
			goto out;
		}
		acme_configure(srv->acme, &srv->conf);
		acme_published(srv->acme, &srv->pub);
		acme_load(srv->acme);
		srv->pool.http01 = acme_http01_of(srv->acme);
		/* A handshake for a name without a certificate asks the ACME
		 * client, which orders one when a rule names it (on demand). */
		if (srv->tls)
			tls_on_unknown_host(srv->tls, acme_on_unknown_host, srv->acme);
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
	/* Bind everything, drop, then serve (issue 11: the threads used to
	 * serve as root until the drop). No thread but this one runs until
	 * the workers start below. */
	for (unsigned i = 0; i < srv->pool.n; i++) {
		if (worker_prepare(&srv->pool, i, err, sizeof(err))) {
			log_err("%s", err);
			for (unsigned k = 0; k <= i; k++)
				worker_join(&srv->pool.w[k]); /* no thread: frees */
			goto out;
		}
	}
	/* ---- before the drop ----
	 * Everything that needs root is done here, on this thread alone:
	 * the listeners are bound (workers above, the admin's in
	 * admin_prepare: ports under 1024), the state was opened as the
	 * user, the TLS certificates and private keys were read above
	 * (tls_ctx_new: a key readable by root alone still loads). */
	static const struct reload_ops rops = {.prepare = job_prepare,
	                                       .build = job_build,
	                                       .publish = job_publish,
	                                       .discard = job_discard,
	                                       .counted = job_counted};
	struct reload_ops ro = rops;
	ro.arg = srv;
	if (privdrop_finish(&priv, err, sizeof(err)) ||
	    (srv->reloader = reloader_start(&ro, err, sizeof(err))) == NULL ||
	    start_threads(srv, err, sizeof(err))) {
		log_err("%s", err);
		atomic_store(&srv->pool.stopping, true);
		admin_stop(srv);
		for (unsigned k = 0; k < srv->pool.n; k++) {
			worker_wake(&srv->pool.w[k]);
			worker_join(&srv->pool.w[k]);
		}
		goto out;
	}
	if (srv->acme && acme_start(srv->acme, err, sizeof(err)))
		log_err("%s; no certificate will be obtained or renewed", err);
	/* Starts the mirror prober when a table has health= targets. */
	health_published(srv->health);
	for (unsigned i = 0; i < conf->nlisten; i++)
		log_info("listening on %s%s%s:%u%s", conf->listen[i].ipv6 ? "[" : "",
		         conf->listen[i].host, conf->listen[i].ipv6 ? "]" : "",
		         conf->listen[i].port, conf->listen[i].tls ? " (tls)" : "");
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
			/* Certificates renewed on disk (certbot): reloaded, or
			 * the old ones keep serving (logged). */
			if (srv->tls)
				tls_ctx_poll(srv->tls);
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
			reloader_request(srv->reloader, NULL); /* the reload thread builds it */
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
	/* A reload still building (a long regex compile) is abandoned, one
	 * publishing is waited for (the workers must see it): before the
	 * workers stop. */
	if (reloader_stop(srv->reloader))
		log_info("the reload in progress is abandoned: nothing of it is published");
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
	if (srv->reloader)
		reloader_stop(srv->reloader); /* again: no-op; the error paths */
	admin_stop(srv);                      /* no-op when stopped above or never started */
	health_fini(srv->health); /* after the last publish, before the tables are freed */
	srv->health = NULL;
	acme_free(srv->acme); /* the workers, which read its tokens, are gone */
	srv->acme = NULL;
	free(srv->pool.w);
	sv = atomic_load(&srv->pub.file);
	if (sv && srv->state) {
		served_collect(sv, true); /* the workers are gone */
		state_flush_served(srv->state, sv);
	}
	served_free(sv);
	served_free(atomic_load(&srv->pub.api));
	maint_fini(srv->maint);
	publish_fini(&srv->pub);
	state_close(srv->state);
	tls_ctx_free(srv->tls); /* the workers, and their SSLs, are gone */
	if (srv->pool.access_fd >= 0)
		close(srv->pool.access_fd);
	struct reloader *rl = srv->reloader;
	free(srv);
	if (rl && !reloader_finish(rl, 200)) {
		/* vectorscan's compile cannot be interrupted: its thread still
		 * runs, on copies of its own. Everything else is closed and
		 * flushed; exit without the libraries' destructors, which that
		 * thread may still be using. */
		log_info("exiting without waiting for the abandoned reload's compile");
		_exit(rc);
	}
	return rc;
}
