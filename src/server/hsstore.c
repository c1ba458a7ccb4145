/* detour server: the regex database cache's files, see hsstore.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme_store.h"
#include "hsstore.h"
#include "log.h"

static const char ext[] = ".hsdb";

/* Around the file I/O of a start as root with `user`: the user's effective
 * ids, so that the directory and the files stay theirs after the drop. */
static void become_user(const struct hsstore *s)
{
	if (s->as_user && (setegid(s->gid) || seteuid(s->uid)))
		log_warn("regex index cache: cannot switch to uid %u: %s", (unsigned)s->uid,
		         strerror(errno));
}

static void become_root(const struct hsstore *s)
{
	if (s->as_user && (seteuid(0) || setegid(0)))
		log_err("regex index cache: cannot switch back to root: %s", strerror(errno));
}

static void *tick(void *arg)
{
	struct hsstore *s = arg;
	struct timespec t0, at;
	unsigned n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		uint64_t ms = (uint64_t)s->tick_ms * ++n;
		at.tv_sec = t0.tv_sec + (time_t)(ms / 1000);
		at.tv_nsec = t0.tv_nsec + (long)(ms % 1000) * 1000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &at) != ETIMEDOUT)
			;
		if (!s->stop)
			log_info("regex index: still compiling (%.1f s)", (double)ms / 1000);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void note(void *arg, int kind, const char *msg)
{
	struct hsstore *s = arg;

	if (kind == DETOUR_HSCACHE_COMPILED && s->ticking) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->ticker, NULL);
		s->ticking = false;
	}
	if (kind == DETOUR_HSCACHE_WARN)
		log_warn("%s", msg);
	else
		log_info("%s", msg);
	if (kind == DETOUR_HSCACHE_COMPILING && !s->ticking) {
		s->stop = false;
		s->ticking = pthread_create(&s->ticker, NULL, tick, s) == 0;
	}
}

/* The entry's bytes, or NULL: absent (silently), or unreadable (logged). */
static void *read_entry(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t got = 0;
	char *buf = NULL;

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("regex index cache: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > HSSTORE_MAX) {
		log_warn("regex index cache: %s ignored: not a regular file of at most %zu bytes",
		         path, HSSTORE_MAX);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("regex index cache: cannot read %s: %s", path,
			         n ? strerror(errno) : "shorter than its size");
			free(buf);
			buf = NULL;
			break;
		}
		got += (size_t)n;
	}
	/* Used now: the last to be pruned. */
	if (buf)
		(void)futimens(fd, NULL);
	close(fd);
	*len = got;
	return buf;
}

static void *load(void *arg, const char *hex, size_t *len)
{
	const struct hsstore *s = arg;
	char path[sizeof(s->dir) + DETOUR_HSCACHE_HEX_LEN + sizeof(ext)];

	snprintf(path, sizeof(path), "%s/%s%s", s->dir, hex, ext);
	become_user(s);
	void *buf = read_entry(path, len);
	become_root(s);
	return buf;
}

struct aged {
	char name[DETOUR_HSCACHE_HEX_LEN + sizeof(ext)];
	struct timespec mtime;
};

static int newer_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct aged *)a)->mtime,
	                      *y = &((const struct aged *)b)->mtime;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec > y->tv_sec ? -1 : 1;
	return (x->tv_nsec < y->tv_nsec) - (x->tv_nsec > y->tv_nsec);
}

/* Keeps the HSSTORE_KEEP entries used last (and keep, just written), and
 * removes temporary files a crash left more than an hour ago. */
static void prune(const struct hsstore *s, const char *keep)
{
	DIR *d = opendir(s->dir);
	struct aged *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	time_t now = time(NULL);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		struct stat st;
		bool entry = l == DETOUR_HSCACHE_HEX_LEN - 1 + sizeof(ext) - 1 &&
		             !strcmp(de->d_name + l - (sizeof(ext) - 1), ext);
		bool tmp = de->d_name[0] == '.' && strstr(de->d_name, ext) != NULL;
		if ((!entry && !tmp) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (tmp) {
			if (now - st.st_mtim.tv_sec > 3600)
				(void)unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!strcmp(de->d_name, keep))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct aged *nv = realloc(v, nc * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
			cap = nc;
		}
		memcpy(v[n].name, de->d_name, l + 1);
		v[n++].mtime = st.st_mtim;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), newer_first);
	for (size_t i = HSSTORE_KEEP - 1; i < n; i++)
		if (unlinkat(dirfd(d), v[i].name, 0) == 0)
			log_info("regex index cache: removed %s/%s (not used lately)", s->dir,
			         v[i].name);
	free(v);
	closedir(d);
}

static void store(void *arg, const char *hex, const void *buf, size_t len)
{
	const struct hsstore *s = arg;
	char name[DETOUR_HSCACHE_HEX_LEN + sizeof(ext)], err[DETOUR_CONF_PATH_MAX + 700];

	snprintf(name, sizeof(name), "%s%s", hex, ext);
	become_user(s);
	/* The state directory as state_open makes it (0750), the cache 0700. */
	(void)mkdir(s->state, 0750); /* parents missing: acme_store_mkdir makes them */
	if (acme_store_mkdir(s->dir))
		log_warn("regex index cache: cannot create %s: %s; the database is not kept",
		         s->dir, strerror(errno));
	else if (acme_store_write(s->dir, name, buf, len, err, sizeof(err)))
		log_warn("regex index cache: %s; the database is not kept", err);
	else
		prune(s, name);
	become_root(s);
}

const struct detour_hscache *hsstore_init(struct hsstore *s, const struct detour_config *conf)
{
	memset(s, 0, sizeof(*s));
	if (conf->state_dir[0] == '\0')
		return NULL;
	snprintf(s->state, sizeof(s->state), "%s", conf->state_dir);
	snprintf(s->dir, sizeof(s->dir), "%s/hs-cache", conf->state_dir);
	if (conf->user[0] && geteuid() == 0) {
		struct passwd *pw = getpwnam(conf->user);
		if (pw == NULL)
			return NULL; /* privdrop_prepare says so and stops */
		s->as_user = pw->pw_uid != 0;
		s->uid = pw->pw_uid;
		s->gid = pw->pw_gid;
	}
	const char *env = getenv("DETOUR_HS_TICK_MS");
	s->tick_ms = env && atoi(env) > 0 ? (unsigned)atoi(env) : HSSTORE_TICK_MS;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	s->io = (struct detour_hscache){.load = load, .store = store, .note = note, .arg = s};
	return &s->io;
}

void hsstore_fini(struct hsstore *s)
{
	if (s->io.arg == NULL)
		return;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	s->io.arg = NULL;
}
