/* detour server: the ACME thread, see acme.h and docs/internals/acme.md.
 *
 * Ownership: the lock guards the host list (h, nh), the wanted set, the
 * configured hosts, the on-demand queue and the counters; the thread
 * drops it while an order runs (acme_order.c), so metrics, hooks and
 * workers never wait for the network. The client (cl) and the account key
 * belong to the thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "acme.h"
#include "acme_store.h"
#include "base/ascii.h"
#include "base/grow.h"
#include "detour/acme.h"
#include "detour/acme_cert.h"
#include "detour/acme_jws.h"
#include "detour/table.h"
#include "log.h"
#include "timed.h"

#define BACKOFF_BASE_MS 60000ull              /* the first retry after a failure */
#define BACKOFF_MAX_MS  (12ull * 3600 * 1000) /* the longest wait between retries */
#define IDLE_MS         (3600ull * 1000)      /* a look at least once an hour */
#define QUEUE_MAX       32                    /* on-demand names waiting for the thread */
#define OD_WINDOW_MS    (600ull * 1000)       /* on-demand: at most OD_MAX new hosts ... */
#define OD_MAX          20                    /* ... per 10 minutes */
#define REFUSED_LOG_MS  60000ull              /* one "no rule names it" line a minute */

struct host {
	char name[DETOUR_ACME_HOST_MAX];
	bool wanted;    /* named now (rules, config, or accepted on demand) */
	bool on_demand; /* came from a handshake */
	bool loaded;    /* state-dir was looked at */
	bool have_cert;
	int64_t not_before, not_after; /* of the certificate serving, Unix seconds */
	uint64_t next_ms;              /* the next order, wall-clock ms */
	unsigned failures;             /* in a row */
	uint64_t hs_log_ms;            /* no "handshake refused" line before (wall ms) */
};

struct acme {
	const struct detour_config *conf; /* borrowed: start-up configuration */
	struct acme_tls_hooks tls;
	struct acme_http01 *http01;
	char dir[DETOUR_CONF_PATH_MAX + 300]; /* STATE/acme/CA */
	bool http01_ok, alpn_ok;
	uint64_t backoff_base_ms;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct detour_acme_hosts confset; /* canonical-host and acme-hosts */
	struct detour_acme_hosts wanted;  /* confset + the rules' hosts */
	const void *last_file;            /* the file table last enumerated (notes once) */
	bool dirty;                       /* wanted changed since the thread merged it */
	char queue[QUEUE_MAX][DETOUR_ACME_HOST_MAX];
	unsigned nqueue;
	struct host *h;
	size_t nh, hcap;
	unsigned long long ok, failed;
	uint64_t od_window_ms;
	unsigned od_count;
	uint64_t refused_log_ms;

	atomic_bool stop;
	bool running;
	pthread_t thr;
	struct acme_client cl;
	EVP_PKEY *acct;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t rnd(void)
{
	uint32_t r = 0;

	RAND_bytes((unsigned char *)&r, sizeof(r));
	return r;
}

struct acme *acme_new(const struct detour_config *conf, const struct acme_tls_hooks *tls, char *err,
                      size_t errlen)
{
	struct acme *a = calloc(1, sizeof(*a));
	const char *env = getenv("DETOUR_ACME_BACKOFF_MS");

	if (a == NULL || (a->http01 = acme_http01_new()) == NULL) {
		free(a);
		snprintf(err, errlen, "acme: out of memory");
		return NULL;
	}
	a->conf = conf;
	if (tls)
		a->tls = *tls;
	if (acme_store_dir(conf, a->dir, sizeof(a->dir))) {
		acme_http01_free(a->http01);
		free(a);
		snprintf(err, errlen, "acme: the state directory's path is too long");
		return NULL;
	}
	for (unsigned i = 0; i < conf->nlisten; i++) {
		if (conf->listen[i].tls)
			a->alpn_ok = a->tls.set_alpn != NULL;
		else
			a->http01_ok = true;
	}
	/* A test knob (docs/internals/acme.md): the first retry's wait. */
	a->backoff_base_ms = env && atoll(env) > 0 ? (uint64_t)atoll(env) : BACKOFF_BASE_MS;
	pthread_mutex_init(&a->lock, NULL);
	timed_cond_init(&a->cond);
	a->cl.directory = conf->acme.directory;
	a->cl.ca_file = conf->acme.ca_file;
	a->cl.email = conf->acme.email;
	a->cl.stop = &a->stop;
	return a;
}

const struct acme_http01 *acme_http01_of(const struct acme *a)
{
	return a ? a->http01 : NULL;
}

static void note_log(void *arg, const char *host, const char *why)
{
	log_info("acme: %s: no certificate: %s", host, why);
}

void acme_configure(struct acme *a, const struct detour_config *conf)
{
	struct detour_acme_hosts h = {0};

	if (a == NULL)
		return;
	if (detour_acme_hosts_add_config(&h, conf, note_log, NULL))
		log_err("acme: out of memory reading the configured hosts");
	pthread_mutex_lock(&a->lock);
	detour_acme_hosts_free(&a->confset);
	a->confset = h;
	pthread_mutex_unlock(&a->lock);
}

static int copy_set(struct detour_acme_hosts *dst, const struct detour_acme_hosts *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (detour_acme_hosts_add(dst, src->exact[i], strlen(src->exact[i]), NULL, NULL) <
		    0)
			return -1;
	for (size_t i = 0; i < src->nsuffix; i++) {
		char w[DETOUR_ACME_HOST_MAX + 2];
		snprintf(w, sizeof(w), "*%s", src->suffix[i]);
		if (detour_acme_hosts_add(dst, w, strlen(w), NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

void acme_published(struct acme *a, struct publish *pub)
{
	struct detour_acme_hosts h = {0};
	int rc;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	/* Both writers (the reload and the admin API) call this before they
	 * free the table they replaced, and this lock orders them: a table
	 * loaded here stays alive until we return (publish.h). */
	struct served *file = atomic_load(&pub->file), *api = atomic_load(&pub->api);
	const struct detour_ruleset *frs =
	        file && file->table ? detour_table_rules(file->table) : NULL;
	const struct detour_ruleset *ars =
	        api && api->table ? detour_table_rules(api->table) : NULL;
	bool fresh = file != a->last_file;
	rc = copy_set(&h, &a->confset);
	if (rc == 0)
		rc = detour_acme_hosts_add_rules(&h, frs, fresh ? note_log : NULL, NULL);
	if (rc == 0)
		rc = detour_acme_hosts_add_rules(&h, ars, NULL, NULL);
	if (rc) {
		log_err("acme: out of memory listing the hosts to certify; keeping the old list");
		detour_acme_hosts_free(&h);
	} else {
		a->last_file = file;
		detour_acme_hosts_free(&a->wanted);
		a->wanted = h;
		a->dirty = true;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

void acme_on_unknown_host(void *arg, const char *host)
{
	struct acme *a = arg;
	size_t hl = strlen(host);

	if (a == NULL || hl == 0 || hl >= DETOUR_ACME_HOST_MAX)
		return;
	if (pthread_mutex_trylock(&a->lock) != 0)
		return; /* busy: never make a handshake wait */
	bool queued = false;
	for (unsigned i = 0; i < a->nqueue && !queued; i++)
		queued = !strcasecmp(a->queue[i], host);
	if (!queued && a->nqueue < QUEUE_MAX) {
		char *q = a->queue[a->nqueue++];
		for (size_t i = 0; i <= hl; i++)
			q[i] = ascii_lower(host[i]);
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

/* ---- hosts (under the lock) ------------------------------------------------ */

static struct host *find_host(struct acme *a, const char *name)
{
	for (size_t i = 0; i < a->nh; i++)
		if (!strcmp(a->h[i].name, name))
			return &a->h[i];
	return NULL;
}

static struct host *add_host(struct acme *a, const char *name, uint64_t now)
{
	struct host *h;

	if (BASE_GROW(a->h, a->hcap, a->nh + 1))
		return NULL;
	h = &a->h[a->nh++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->next_ms = now;
	return h;
}

/* The certificate of h under state-dir, if any: checked, installed, and
 * its renewal scheduled. */
static void load_host(struct acme *a, struct host *h, uint64_t now)
{
	char crt[DETOUR_ACME_HOST_MAX + 8], key[DETOUR_ACME_HOST_MAX + 8], err[256];
	struct detour_acme_certinfo info;
	size_t cl = 0, kl = 0;
	char *chain, *kp = NULL;
	EVP_PKEY *k = NULL;

	h->loaded = true;
	snprintf(crt, sizeof(crt), "%s.crt", h->name);
	snprintf(key, sizeof(key), "%s.key", h->name);
	chain = acme_store_read(a->dir, crt, &cl);
	if (chain == NULL)
		return;
	kp = acme_store_read(a->dir, key, &kl);
	k = kp ? detour_acme_key_parse(kp, kl) : NULL;
	if (k == NULL) {
		log_warn("acme: %s: %s/%s is missing or not a P-256 key; ordering a new "
		         "certificate",
		         h->name, a->dir, key);
	} else if (detour_acme_cert_check(chain, cl, h->name, k, &info, err, sizeof(err))) {
		log_warn("acme: %s: %s/%s: %s; ordering a new certificate", h->name, a->dir, crt,
		         err);
	} else if ((uint64_t)info.not_after * 1000 <= now) {
		log_warn("acme: %s: %s/%s expired; ordering a new certificate", h->name, a->dir,
		         crt);
	} else {
		if (a->tls.set_cert &&
		    a->tls.set_cert(a->tls.arg, h->name, chain, cl, kp, kl, err, sizeof(err)))
			log_err("acme: %s: cannot serve %s/%s: %s", h->name, a->dir, crt, err);
		h->have_cert = true;
		h->not_before = info.not_before;
		h->not_after = info.not_after;
		h->next_ms =
		        (uint64_t)detour_acme_renew_at(info.not_before, info.not_after, rnd()) *
		        1000u;
		log_info(
		        "acme: %s: certificate from %s loaded, valid until %lld, renewal in %lld s",
		        h->name, a->dir, (long long)info.not_after,
		        (long long)((int64_t)h->next_ms - (int64_t)now) / 1000);
	}
	EVP_PKEY_free(k);
	free(kp);
	free(chain);
}

/* Brings the host list in line with the wanted set and the on-demand
 * queue. Under the lock. */
static void merge(struct acme *a, uint64_t now)
{
	if (a->dirty) {
		for (size_t i = 0; i < a->nh; i++) {
			struct host *h = &a->h[i];
			h->wanted = h->on_demand ? detour_acme_hosts_names(&a->wanted, h->name)
			                         : detour_acme_hosts_has(&a->wanted, h->name);
		}
		for (size_t i = 0; i < a->wanted.n; i++) {
			struct host *h = find_host(a, a->wanted.exact[i]);
			if (h == NULL && (h = add_host(a, a->wanted.exact[i], now)) == NULL) {
				log_err("acme: out of memory");
				break;
			}
			h->wanted = true;
			h->on_demand = false;
		}
		a->dirty = false;
	}
	for (unsigned i = 0; i < a->nqueue; i++) {
		const char *name = a->queue[i];
		struct host *h = find_host(a, name);
		if (h != NULL && h->wanted) {
			/* Known: its own schedule and backoff decide; say why
			 * the handshake failed, once a minute. */
			if (!h->have_cert && now >= h->hs_log_ms) {
				h->hs_log_ms = now + REFUSED_LOG_MS;
				log_info("acme: %s: handshake refused (unrecognized_name): no "
				         "certificate yet, %s",
				         name,
				         h->failures ? "retrying after a failure" : "ordering");
			}
			continue;
		}
		if (!detour_acme_hosts_names(&a->wanted, name)) {
			if (now >= a->refused_log_ms) {
				log_info("acme: %s: a handshake asked for it, but no rule names "
				         "it: no "
				         "order",
				         name);
				a->refused_log_ms = now + REFUSED_LOG_MS;
			}
			continue;
		}
		if (now >= a->od_window_ms + OD_WINDOW_MS) {
			a->od_window_ms = now;
			a->od_count = 0;
		}
		if (a->od_count >= OD_MAX) {
			log_warn("acme: %s: on-demand order refused: %d on-demand orders in 10 "
			         "minutes already",
			         name, OD_MAX);
			continue;
		}
		if (h == NULL && (h = add_host(a, name, now)) == NULL)
			break;
		a->od_count++;
		h->wanted = true;
		h->on_demand = true;
		log_info("acme: %s: on demand (a handshake asked, a rule names it)", name);
	}
	a->nqueue = 0;
	for (size_t i = 0; i < a->nh; i++)
		if (a->h[i].wanted && !a->h[i].loaded)
			load_host(a, &a->h[i], now);
}

/* ---- the thread ------------------------------------------------------------- */

static bool nap(void *arg, unsigned ms)
{
	struct acme *a = arg;
	struct timespec ts;

	timed_deadline(&ts, ms);
	pthread_mutex_lock(&a->lock);
	if (!atomic_load(&a->stop))
		pthread_cond_timedwait(&a->cond, &a->lock, &ts);
	pthread_mutex_unlock(&a->lock);
	return atomic_load(&a->stop);
}

/* The account key: read from state-dir, or made and stored. */
static int account_key(struct acme *a, char *err, size_t errlen)
{
	size_t len = 0;
	char *pem;

	if (a->acct)
		return 0;
	if (acme_store_mkdir(a->dir)) {
		snprintf(err, errlen, "cannot create %.900s: %s", a->dir, strerror(errno));
		return -1;
	}
	pem = acme_store_read(a->dir, "account.key", &len);
	if (pem != NULL) {
		a->acct = detour_acme_key_parse(pem, len);
		free(pem);
		if (a->acct == NULL) {
			snprintf(err, errlen, "%.900s/account.key is not a P-256 private key",
			         a->dir);
			return -1;
		}
		a->cl.key = a->acct;
		return 0;
	}
	a->acct = detour_acme_key_new();
	pem = a->acct ? detour_acme_key_pem(a->acct, &len) : NULL;
	if (pem == NULL || acme_store_write(a->dir, "account.key", pem, len, err, errlen)) {
		if (pem == NULL)
			snprintf(err, errlen, "cannot make an account key");
		free(pem);
		EVP_PKEY_free(a->acct);
		a->acct = NULL;
		return -1;
	}
	free(pem);
	log_info("acme: new account key in %s/account.key", a->dir);
	a->cl.key = a->acct;
	return 0;
}

/* One order for name, outside the lock. 0 with the certificate stored and
 * installed, -1 with err. */
static int issue(struct acme *a, const char *name, struct detour_acme_certinfo *info, char *err,
                 size_t errlen)
{
	struct acme_order_env env = {
	        .cl = &a->cl,
	        .http01 = a->http01,
	        .tls = &a->tls,
	        .http01_ok = a->http01_ok,
	        .alpn_ok = a->alpn_ok,
	        .nap = nap,
	        .nap_arg = a,
	};
	struct acme_issued is;
	char crt[DETOUR_ACME_HOST_MAX + 8], key[DETOUR_ACME_HOST_MAX + 8], why[256];
	EVP_PKEY *k = NULL;
	int rc = -1;

	a->cl.retry_after = -1; /* this order's, if the CA sends one */
	if (account_key(a, err, errlen))
		return -1;
	unsigned bad0 = a->cl.bad_nonces;
	if (acme_order_run(&env, name, &is)) {
		snprintf(err, errlen, "%s", a->cl.err);
		return -1;
	}
	k = detour_acme_key_parse(is.key, is.key_len);
	if (detour_acme_cert_check(is.chain, is.chain_len, name, k, info, why, sizeof(why))) {
		snprintf(err, errlen, "the CA's certificate is unusable: %s", why);
		goto out;
	}
	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(key, sizeof(key), "%s.key", name);
	/* The key first: a crash between the two leaves a new key beside the
	 * old certificate, which the start-up check refuses (a new order),
	 * never a certificate without its key. */
	if (acme_store_write(a->dir, key, is.key, is.key_len, err, errlen) ||
	    acme_store_write(a->dir, crt, is.chain, is.chain_len, err, errlen))
		goto out;
	if (a->tls.set_cert && a->tls.set_cert(a->tls.arg, name, is.chain, is.chain_len, is.key,
	                                       is.key_len, why, sizeof(why))) {
		snprintf(err, errlen, "stored in %.800s, but the TLS side refused it: %s", a->dir,
		         why);
		goto out;
	}
	log_info("acme: %s: certificate issued (%u in the chain, serial %s), valid until %lld, "
	         "stored in %s/%s; %u badNonce refusals retried",
	         name, info->ncerts, info->serial, (long long)info->not_after, a->dir, crt,
	         a->cl.bad_nonces - bad0);
	rc = 0;
out:
	EVP_PKEY_free(k);
	free(is.chain);
	free(is.key);
	return rc;
}

static void *run(void *arg)
{
	struct acme *a = arg;

	pthread_mutex_lock(&a->lock);
	while (!atomic_load(&a->stop)) {
		uint64_t now = wall_ms(), next = now + IDLE_MS;
		struct host *due = NULL;

		merge(a, now);
		for (size_t i = 0; i < a->nh; i++) {
			struct host *h = &a->h[i];
			if (!h->wanted)
				continue;
			if (h->next_ms <= now && (due == NULL || h->next_ms < due->next_ms))
				due = h;
			if (h->next_ms < next)
				next = h->next_ms;
		}
		if (due == NULL) {
			/* The schedule is in wall time (certificates expire
			 * by it); the wait is its distance, on the monotonic
			 * clock, and the loop looks again when it ends. */
			struct timespec ts;
			timed_deadline(&ts, (unsigned)(next - now));
			pthread_cond_timedwait(&a->cond, &a->lock, &ts);
			continue;
		}
		char name[DETOUR_ACME_HOST_MAX], err[1200];
		struct detour_acme_certinfo info;
		bool renewal = due->have_cert;
		snprintf(name, sizeof(name), "%s", due->name);
		pthread_mutex_unlock(&a->lock);
		log_info("acme: %s: %s", name, renewal ? "renewing" : "ordering a certificate");
		int rc = issue(a, name, &info, err, sizeof(err));
		pthread_mutex_lock(&a->lock);
		struct host *h = find_host(a, name); /* the list may have grown */
		now = wall_ms();
		if (rc == 0) {
			a->ok++;
			if (h) {
				h->have_cert = true;
				h->not_before = info.not_before;
				h->not_after = info.not_after;
				h->failures = 0;
				h->next_ms = (uint64_t)detour_acme_renew_at(info.not_before,
				                                            info.not_after, rnd()) *
				             1000u;
				if (h->next_ms <= now)
					h->next_ms = now + a->backoff_base_ms;
			}
			continue;
		}
		if (atomic_load(&a->stop))
			break;
		a->failed++;
		if (h) {
			h->failures++;
			uint64_t d = detour_acme_backoff_ms(h->failures, a->backoff_base_ms,
			                                    BACKOFF_MAX_MS, rnd());
			/* RFC 8555 §6.6: a rateLimited answer may say when to come
			 * back; never sooner than that (and at most the cap). */
			if (a->cl.retry_after > 0 && (uint64_t)a->cl.retry_after * 1000 > d)
				d = (uint64_t)a->cl.retry_after * 1000 < BACKOFF_MAX_MS
				            ? (uint64_t)a->cl.retry_after * 1000
				            : BACKOFF_MAX_MS;
			h->next_ms = now + d;
			if (h->have_cert && (uint64_t)h->not_after * 1000 > now)
				log_err("acme: %s: %s; attempt %u failed, retrying in %llu s; the "
				        "current certificate (valid until %lld) keeps serving",
				        name, err, h->failures,
				        (unsigned long long)(d + 999) / 1000,
				        (long long)h->not_after);
			else
				log_err("acme: %s: %s; attempt %u failed, retrying in %llu s; "
				        "until "
				        "then its handshakes fail",
				        name, err, h->failures,
				        (unsigned long long)(d + 999) / 1000);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

void acme_load(struct acme *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	merge(a, wall_ms());
	pthread_mutex_unlock(&a->lock);
}

int acme_start(struct acme *a, char *err, size_t errlen)
{
	int e;

	if (acme_client_init(&a->cl)) {
		snprintf(err, errlen, "acme: %s", a->cl.err);
		return -1;
	}
	e = pthread_create(&a->thr, NULL, run, a);
	if (e) {
		snprintf(err, errlen, "acme: cannot start the thread: %s", strerror(e));
		return -1;
	}
	a->running = true;
	log_info("acme: directory %s, state in %s, challenges:%s%s", a->conf->acme.directory,
	         a->dir, a->http01_ok ? " http-01" : "", a->alpn_ok ? " tls-alpn-01" : "");
	return 0;
}

void acme_metrics(struct acme *a, struct bbuf *b)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	bbuf_putf(b, "# HELP detour_tls_cert_expiry_seconds When the ACME certificate of a host "
	             "expires (notAfter, Unix seconds).\n"
	             "# TYPE detour_tls_cert_expiry_seconds gauge\n");
	for (size_t i = 0; i < a->nh; i++)
		if (a->h[i].have_cert) /* names are LDH: nothing to escape in the label */
			bbuf_putf(b, "detour_tls_cert_expiry_seconds{host=\"%s\"} %lld\n",
			          a->h[i].name, (long long)a->h[i].not_after);
	bbuf_putf(b,
	          "# HELP detour_acme_orders_total ACME orders (issuance and renewal), by result.\n"
	          "# TYPE detour_acme_orders_total counter\n"
	          "detour_acme_orders_total{result=\"ok\"} %llu\n"
	          "detour_acme_orders_total{result=\"error\"} %llu\n",
	          a->ok, a->failed);
	pthread_mutex_unlock(&a->lock);
}

void acme_free(struct acme *a)
{
	if (a == NULL)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->lock);
		atomic_store(&a->stop, true);
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thr, NULL);
	}
	acme_client_fini(&a->cl);
	EVP_PKEY_free(a->acct);
	detour_acme_hosts_free(&a->confset);
	detour_acme_hosts_free(&a->wanted);
	free(a->h);
	acme_http01_free(a->http01);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- detour serve -t -------------------------------------------------------- */

struct check_out {
	FILE *out;
};

static void note_print(void *arg, const char *host, const char *why)
{
	struct check_out *c = arg;

	fprintf(c->out, "detour: acme: %s: no certificate: %s\n", host, why);
}

int acme_check(const struct detour_config *conf, const struct detour_ruleset *rs, FILE *out,
               char *err, size_t errlen)
{
	struct detour_acme_hosts h = {0};
	struct check_out co = {out};
	char dir[DETOUR_CONF_PATH_MAX + 300];
	bool plain = false, tls = false, p80 = false, p443 = false;
	int rc = -1;

	if (conf->acme.line == 0)
		return 0;
	if (conf->acme.ca_file[0]) {
		FILE *f = fopen(conf->acme.ca_file, "r");
		X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		if (x == NULL) {
			snprintf(err, errlen, "acme-ca %s: %s", conf->acme.ca_file,
			         f ? "no PEM certificate in it" : strerror(errno));
			return -1;
		}
		X509_free(x);
	}
	if (acme_store_dir(conf, dir, sizeof(dir))) {
		snprintf(err, errlen, "state-dir %s: path too long for the ACME files",
		         conf->state_dir);
		return -1;
	}
	size_t kl = 0;
	char *kp = acme_store_read(dir, "account.key", &kl);
	EVP_PKEY *k = kp ? detour_acme_key_parse(kp, kl) : NULL;
	free(kp);
	if (kp != NULL && k == NULL) {
		snprintf(err, errlen, "%s/account.key is not a P-256 private key", dir);
		return -1;
	}
	EVP_PKEY_free(k);
	for (unsigned i = 0; i < conf->nlisten; i++) {
		if (conf->listen[i].tls)
			tls = true, p443 |= conf->listen[i].port == 443;
		else
			plain = true, p80 |= conf->listen[i].port == 80;
	}
	if (detour_acme_hosts_add_config(&h, conf, note_print, &co) ||
	    detour_acme_hosts_add_rules(&h, rs, note_print, &co)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fprintf(out, "detour: acme: %s, state in %s, challenges:%s%s\n", conf->acme.directory, dir,
	        plain ? " http-01" : "", tls ? " tls-alpn-01" : "");
	if (!p80 && !p443)
		fprintf(out, "detour: acme: note: the CA validates on port 80 (http-01) or 443 "
		             "(tls-alpn-01) and no listener has either: forward one of them to "
		             "detour\n");
	fprintf(out, "detour: acme: %zu host%s to certify%s", h.n, h.n == 1 ? "" : "s",
	        h.n ? ":" : "");
	for (size_t i = 0; i < h.n; i++)
		fprintf(out, " %s", h.exact[i]);
	fputc('\n', out);
	rc = 0;
out:
	detour_acme_hosts_free(&h);
	return rc;
}
