/* detour server: maintenance mode, see maint.h. One controller (struct
 * maint_ctl, under one mutex) keeps the current state and what each source
 * last said; every change builds a new `struct maint`, publishes it and
 * waits until no worker can see the old one (publish_maint), then frees it. Changes come from the
 * main thread (config, file, signal) and the admin thread (API); the mutex orders them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detour/rulefile.h"
#include "log.h"
#include "maint.h"
#include "publish.h"

const char *const maint_source_names[] = {"none", "config", "file", "signal", "api"};

struct maint_ctl {
	struct publish *pub;
	void (*record)(void *arg, const struct maint_status *st);
	void *record_arg;
	pthread_mutex_t lock;
	struct detour_conf_maint conf; /* the config's directive; line 0 = none */
	bool file_present;
	struct maint_status st;   /* the current state */
	struct maint_params last; /* the last parameters an "on" used (for SIGUSR2) */
	bool have_last;
	/* The bytes of the pages: the config directive's (read at start and
	 * at each reload) and the API's (read at its change). A state built
	 * from the config's parameters uses the first, the API's the second. */
	struct maint_page *conf_page, *api_page;
};

struct maint_page {
	size_t len;
	char bytes[];
};

/* A page that needs no file: what search engines and people see while the
 * site is down (RFC 9110 §15.6.4: 503 is temporary; Retry-After says when
 * to come back). */
const char maint_default_page[] =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n"
        "<title>Down for maintenance</title>\n<h1>Down for maintenance</h1>\n"
        "<p>This site is down for maintenance and will be back soon. Please try again "
        "later.</p>\n</html>\n";

int maint_page_read(const char *path, struct maint_page **out, char *err, size_t cap)
{
	struct maint_page *pg = NULL;
	struct stat sb;
	size_t got = 0;
	int fd;

	*out = NULL;
	if (path[0] == '\0')
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		snprintf(err, cap, "maintenance page %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, cap, "maintenance page %s: not a regular file", path);
		goto fail;
	}
	if (sb.st_size > DETOUR_PAGE_MAX) {
		snprintf(err, cap,
		         "maintenance page %s: %lld bytes, over the %d KiB a page may have", path,
		         (long long)sb.st_size, DETOUR_PAGE_MAX / 1024);
		goto fail;
	}
	pg = malloc(sizeof(*pg) + (size_t)sb.st_size + 1);
	if (pg == NULL) {
		snprintf(err, cap, "maintenance page %s: out of memory", path);
		goto fail;
	}
	/* One byte more than its size: a file that grows while read is cut
	 * at the limit, never read past it. */
	while (got <= (size_t)sb.st_size) {
		ssize_t n = read(fd, pg->bytes + got, (size_t)sb.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, cap, "maintenance page %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)sb.st_size) {
		snprintf(err, cap, "maintenance page %s: changed while read", path);
		goto fail;
	}
	pg->len = got;
	close(fd);
	*out = pg;
	return 0;
fail:
	free(pg);
	if (fd >= 0)
		close(fd);
	return -1;
}

void maint_page_free(struct maint_page *pg)
{
	free(pg);
}

/* Whether a and b hold the same bytes (both NULL: yes). */
static bool page_same(const struct maint_page *a, const struct maint_page *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

struct maint_ctl *maint_new(struct publish *pub)
{
	struct maint_ctl *mc = calloc(1, sizeof(*mc));

	if (mc == NULL)
		return NULL;
	mc->pub = pub;
	pthread_mutex_init(&mc->lock, NULL);
	return mc;
}

void maint_set_recorder(struct maint_ctl *mc,
                        void (*record)(void *arg, const struct maint_status *st), void *arg)
{
	mc->record = record;
	mc->record_arg = arg;
}

static void params_of_conf(struct maint_params *p, const struct detour_conf_maint *cm)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->target, cm->target, sizeof(p->target));
	p->status = cm->status;
	memcpy(p->retry_after, cm->retry_after, sizeof(p->retry_after));
	memcpy(p->page, cm->page, sizeof(p->page));
	memcpy(p->allow_ip, cm->allow_ip, sizeof(p->allow_ip));
	p->nallow_ip = cm->nallow_ip;
	memcpy(p->allow_path, cm->allow_path, sizeof(p->allow_path));
}

static bool file_exists(const char *path)
{
	struct stat sb;

	return path[0] != '\0' && stat(path, &sb) == 0;
}

static void mfree(struct maint *m)
{
	if (m == NULL)
		return;
	detour_table_free(m->target);
	detour_table_free(m->at);
	detour_table_free(m->allow);
	detour_page_free(&m->page);
	free(m);
}

/* Builds a table of one rule (line) into *out. Returns 0, or -1 with d. */
static int one_rule(const char *file, const char *line, struct detour_table **out,
                    struct detour_diag *d)
{
	struct detour_ruleset *rs = detour_ruleset_new();

	if (rs == NULL) {
		detour_diag_set(d, file, 1, 0, "out of memory");
		return -1;
	}
	if (detour_ruleset_add_line(rs, file, 1, line, strlen(line), d) != DETOUR_OK) {
		detour_ruleset_free(rs);
		return -1;
	}
	return detour_table_build(rs, out, d) == DETOUR_OK ? 0 : -1; /* it takes rs */
}

/* Builds the published form of p, with pg the bytes of p->page (NULL:
 * none). NULL with err. */
static struct maint *build(const struct maint_params *p, const struct maint_page *pg, char *err,
                           size_t cap)
{
	struct maint *m = calloc(1, sizeof(*m));
	struct detour_ruleset *ar = detour_ruleset_new();
	struct detour_diag d = {0};
	char line[DETOUR_CONF_MAINT_TARGET_MAX + 64];
	unsigned ln = 0;
	bool page = p->status == 503 || p->page[0] != '\0';
	/* A target on this server, not "//host". */
	bool local = p->target[0] == '/' && p->target[1] != '/';

	if (m == NULL || ar == NULL) {
		snprintf(err, cap, "out of memory");
		goto fail;
	}
	if (p->page[0] && pg == NULL) {
		snprintf(err, cap, "maintenance page %s: not read", p->page);
		goto fail;
	}
	if (p->status != 503 && p->page[0] && !local) {
		snprintf(err, cap,
		         "a page is served at a target on this server (/maintenance.html) or with "
		         "status 503, not at %s",
		         p->target);
		goto fail;
	}
	if (p->status == 503) {
		/* Matches every request; the page answers. */
		m->all_page = true;
		snprintf(line, sizeof(line), "/* - 410");
	} else {
		/* no-store: a cache must never keep the maintenance answer. */
		snprintf(line, sizeof(line), "/* %s %d cache=no-store", p->target, p->status);
	}
	if (one_rule("maintenance", line, &m->target, &d))
		goto bad;
	if (local && p->status != 503) {
		size_t pl = strcspn(p->target, "?#");
		snprintf(line, sizeof(line), "%.*s - 410", (int)pl, p->target);
		if (page) {
			/* The redirect's target is the page, served here. */
			if (one_rule("page", line, &m->at, &d))
				goto bad;
		} else if (detour_ruleset_add_line(ar, "allow", ++ln, line, strlen(line), &d) !=
		           DETOUR_OK) {
			/* A target on this server stays reachable, so it cannot
			 * redirect to itself. */
			goto bad;
		}
	}
	for (const char *s = p->allow_path; *s;) {
		size_t l = strcspn(s, "\n");
		if (l > 0) {
			snprintf(line, sizeof(line), "%.*s - 410", (int)(l < 2048 ? l : 2048), s);
			if (detour_ruleset_add_line(ar, "allow", ++ln, line, strlen(line), &d) !=
			    DETOUR_OK)
				goto bad;
		}
		s += l + (s[l] == '\n');
	}
	if (ln > 0) {
		if (detour_table_build(ar, &m->allow, &d) != DETOUR_OK) {
			ar = NULL;
			goto bad;
		}
	} else {
		detour_ruleset_free(ar);
	}
	ar = NULL;
	memcpy(m->allow_ip, p->allow_ip, sizeof(m->allow_ip));
	m->nallow_ip = p->nallow_ip;
	if (page) {
		/* RFC 9110 §10.2.3: "Retry-After: HTTP-date / delay-seconds",
		 * on the 503 only: on a 3xx it would ask the client to wait
		 * before following the redirect. Google reads 503 with
		 * Retry-After as "come back later", not as a page to index. */
		char extra[64];
		int n = 0;
		if (p->retry_after[0])
			n = snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", p->retry_after);
		if (n < 0 || (size_t)n >= sizeof(extra))
			n = 0;
		if (detour_page_prepare(&m->page, 503, extra, (size_t)n,
		                        pg ? pg->bytes : maint_default_page,
		                        pg ? pg->len : sizeof(maint_default_page) - 1)) {
			snprintf(err, cap, "maintenance page %s: out of memory",
			         p->page[0] ? p->page : "(built in)");
			goto fail;
		}
	}
	return m;
bad:
	detour_diag_format(&d, err, cap);
fail:
	detour_ruleset_free(ar);
	mfree(m);
	return NULL;
}

int maint_check(const struct maint_params *p, const struct maint_page *page, char *err, size_t cap)
{
	struct maint *m = build(p, page, err, cap);

	mfree(m);
	return m ? 0 : -1;
}

/* Swaps in m (NULL = off) and frees the old state once no worker holds it. */
static void publish(struct maint_ctl *mc, struct maint *m)
{
	mfree(publish_maint(mc->pub, m));
}

/* Makes st the current state (under the lock), pg the bytes of its page.
 * Returns 0, or -1 with err (the old state stays). */
static int apply(struct maint_ctl *mc, const struct maint_status *st, const struct maint_page *pg,
                 char *err, size_t cap)
{
	struct maint *m = NULL;

	if (st->on && (m = build(&st->p, pg, err, cap)) == NULL)
		return -1;
	if (st->on) {
		mc->last = st->p;
		mc->have_last = true;
	}
	bool was = mc->st.on;
	mc->st = *st;
	publish(mc, m);
	if (was != st->on || st->source == MAINT_API)
		log_info("maintenance %s (%s%s%s)", st->on ? "on" : "off",
		         maint_source_names[st->source], st->source == MAINT_API ? ": " : "",
		         st->source == MAINT_API ? st->who : "");
	return 0;
}

/* What the config and the file say, as a change by source. */
static void base_state(struct maint_ctl *mc, struct maint_status *st, enum maint_source source)
{
	memset(st, 0, sizeof(*st));
	st->source = source;
	st->since = (int64_t)time(NULL);
	snprintf(st->who, sizeof(st->who), "%s", maint_source_names[source]);
	if (mc->conf.line == 0)
		return;
	st->on = mc->conf.on || mc->file_present;
	params_of_conf(&st->p, &mc->conf);
}

/* A change that is not the API's supersedes what the API stored. */
static void record(struct maint_ctl *mc, const struct maint_status *st)
{
	if (mc->record)
		mc->record(mc->record_arg, st);
}

int maint_init(struct maint_ctl *mc, const struct detour_conf_maint *cm, bool api_set, bool api_on,
               const struct maint_params *api, int64_t api_since, int64_t api_until,
               const char *api_who, char *err, size_t cap)
{
	struct maint_status st;
	struct maint_page *cpg = NULL, *apg = NULL;
	const struct maint_page *pg;
	int rc;

	/* The pages first: a missing one stops the start, named. */
	if (maint_page_read(cm->line ? cm->page : "", &cpg, err, cap))
		return -1;
	pthread_mutex_lock(&mc->lock);
	maint_page_free(mc->conf_page);
	mc->conf_page = cpg;
	mc->conf = *cm;
	mc->file_present = file_exists(mc->conf.file);
	if (mc->conf.line)
		params_of_conf(&mc->last, &mc->conf), mc->have_last = true;
	base_state(mc, &st, mc->file_present && !mc->conf.on ? MAINT_FILE : MAINT_CONFIG);
	pg = mc->conf_page;
	if (api_set && (api_until == 0 || api_until > (int64_t)time(NULL))) {
		memset(&st, 0, sizeof(st));
		st.on = api_on;
		st.source = MAINT_API;
		if (api_on)
			st.p = *api;
		st.since = api_since;
		st.until = api_until;
		snprintf(st.who, sizeof(st.who), "%s", api_who);
		if (api_on && maint_page_read(api->page, &apg, err, cap)) {
			pthread_mutex_unlock(&mc->lock);
			return -1;
		}
		maint_page_free(mc->api_page);
		mc->api_page = apg;
		pg = apg;
	}
	rc = apply(mc, &st, pg, err, cap);
	pthread_mutex_unlock(&mc->lock);
	return rc;
}

void maint_reload(struct maint_ctl *mc, const struct detour_conf_maint *cm, struct maint_page *page)
{
	struct maint_status st;
	char err[512];
	bool changed, new_bytes;

	pthread_mutex_lock(&mc->lock);
	/* The line number alone does not make a change. */
	struct detour_conf_maint a = mc->conf, b = *cm;
	a.line = a.line ? 1 : 0;
	b.line = b.line ? 1 : 0;
	changed = memcmp(&a, &b, sizeof(a)) != 0;
	new_bytes = !page_same(mc->conf_page, page);
	maint_page_free(mc->conf_page);
	mc->conf_page = page;
	mc->conf = *cm;
	mc->file_present = file_exists(cm->file);
	if (!changed) {
		/* The same directive keeps the state; one made of the config's
		 * parameters shows the page as it is now. */
		if (new_bytes && mc->st.on && mc->st.source != MAINT_API && mc->conf.line &&
		    !strcmp(mc->st.p.page, cm->page)) {
			st = mc->st;
			if (apply(mc, &st, mc->conf_page, err, sizeof(err)))
				log_err("reload: maintenance: %s; maintenance unchanged", err);
			else
				log_info("reload: maintenance page %s re-read", cm->page);
		}
		pthread_mutex_unlock(&mc->lock);
		return;
	}
	if (cm->line)
		params_of_conf(&mc->last, cm), mc->have_last = true;
	base_state(mc, &st, MAINT_CONFIG);
	if (apply(mc, &st, mc->conf_page, err, sizeof(err)))
		log_err("reload: maintenance: %s; maintenance unchanged", err);
	pthread_mutex_unlock(&mc->lock);
	record(mc, &st);
}

void maint_poll_file(struct maint_ctl *mc)
{
	struct maint_status st;
	char err[512];

	pthread_mutex_lock(&mc->lock);
	if (mc->conf.line == 0 || mc->conf.file[0] == '\0' ||
	    file_exists(mc->conf.file) == mc->file_present) {
		pthread_mutex_unlock(&mc->lock);
		return;
	}
	mc->file_present = !mc->file_present;
	log_info("maintenance file %s %s", mc->conf.file,
	         mc->file_present ? "appeared" : "disappeared");
	base_state(mc, &st, MAINT_FILE);
	if (apply(mc, &st, mc->conf_page, err, sizeof(err)))
		log_err("maintenance: %s; maintenance unchanged", err);
	pthread_mutex_unlock(&mc->lock);
	record(mc, &st);
}

bool maint_defaults(struct maint_ctl *mc, struct maint_params *p)
{
	bool ok = true;

	pthread_mutex_lock(&mc->lock);
	if (mc->conf.line)
		params_of_conf(p, &mc->conf);
	else if (mc->have_last)
		*p = mc->last;
	else
		ok = false;
	pthread_mutex_unlock(&mc->lock);
	return ok;
}

void maint_toggle(struct maint_ctl *mc)
{
	struct maint_status st;
	char err[512];

	pthread_mutex_lock(&mc->lock);
	memset(&st, 0, sizeof(st));
	st.source = MAINT_SIGNAL;
	st.since = (int64_t)time(NULL);
	snprintf(st.who, sizeof(st.who), "signal");
	st.on = !mc->st.on;
	if (st.on) {
		/* The config's parameters, else those the API used last. */
		if (!mc->have_last) {
			pthread_mutex_unlock(&mc->lock);
			log_warn("SIGUSR2: no maintenance directive in the config and none set by "
			         "the API: nothing to turn on");
			return;
		}
		if (mc->conf.line)
			params_of_conf(&st.p, &mc->conf);
		else
			st.p = mc->last;
	}
	/* Without a directive, "last" is what the API used. */
	if (apply(mc, &st, mc->conf.line ? mc->conf_page : mc->api_page, err, sizeof(err)))
		log_err("SIGUSR2: maintenance: %s; maintenance unchanged", err);
	pthread_mutex_unlock(&mc->lock);
	record(mc, &st);
}

int maint_api_set(struct maint_ctl *mc, bool on, const struct maint_params *p,
                  struct maint_page *page, int64_t until, const char *who, char *err, size_t cap)
{
	struct maint_status st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.on = on;
	st.source = MAINT_API;
	st.since = (int64_t)time(NULL);
	st.until = on ? until : 0;
	if (on)
		st.p = *p;
	snprintf(st.who, sizeof(st.who), "%s", who);
	pthread_mutex_lock(&mc->lock);
	rc = apply(mc, &st, page, err, cap);
	if (rc == 0 && on) {
		maint_page_free(mc->api_page);
		mc->api_page = page;
		page = NULL;
	}
	pthread_mutex_unlock(&mc->lock);
	maint_page_free(page);
	return rc;
}

void maint_api_expired(struct maint_ctl *mc)
{
	struct maint_status st;
	char err[512];

	pthread_mutex_lock(&mc->lock);
	if (mc->st.source != MAINT_API) {
		pthread_mutex_unlock(&mc->lock);
		return;
	}
	base_state(mc, &st, MAINT_CONFIG);
	if (apply(mc, &st, mc->conf_page, err, sizeof(err)))
		log_err("maintenance: %s; maintenance unchanged", err);
	pthread_mutex_unlock(&mc->lock);
}

void maint_get(struct maint_ctl *mc, struct maint_status *out)
{
	pthread_mutex_lock(&mc->lock);
	*out = mc->st;
	pthread_mutex_unlock(&mc->lock);
}

void maint_fini(struct maint_ctl *mc)
{
	if (mc == NULL)
		return;
	mfree(publish_maint(mc->pub, NULL));
	maint_page_free(mc->conf_page);
	maint_page_free(mc->api_page);
	pthread_mutex_destroy(&mc->lock);
	free(mc);
}
