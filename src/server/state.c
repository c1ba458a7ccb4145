/* detour server: the SQLite state, see state.h. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/grow.h"
#include "detour/rulefile.h"
#include "detour/statlog.h"
#include "log.h"
#include "publish.h"
#include "state.h"
#include "state_int.h"
#include "stats.h"

/* The stats log is folded into the stats table when it holds more than this
 * (and before any read of the statistics from SQL). */
#define STATS_LOG_FOLD (64 << 20)

/* PRAGMA cache_size=-256: the connection's page cache is capped at 256 KiB.
 * SQLite's default (2,000 KiB) keeps every page it touched up to that cap;
 * the audit and the stats log only grow at their end, so under a steady
 * stream of API changes the cache, and the server's RSS, grew by ~30 KiB a
 * minute for the whole 30-minute soak (bench/soak.sh, issue 11). A change
 * touches the last pages of audit and stats_log and the small rules table:
 * 256 KiB holds them, the OS page cache holds the rest. A fold of the
 * stats log runs with the default cache (state_fold). */
#define STATE_CACHE "PRAGMA cache_size=-256;"
#define FOLD_CACHE  "PRAGMA cache_size=-2000;"

/* The tables are created in one transaction: a new state-dir costs one
 * commit (one sync of the WAL) instead of one per table, 7 syncs at the
 * first start instead of 14 (with the 4 of the switch to WAL), and an
 * existing one none (the transaction then writes nothing). */
static const char schema[] = "PRAGMA journal_mode=WAL;" STATE_CACHE "PRAGMA synchronous=FULL;"
                             "PRAGMA foreign_keys=OFF;"
                             "BEGIN;"
                             "CREATE TABLE IF NOT EXISTS rules("
                             " n INTEGER PRIMARY KEY AUTOINCREMENT,"
                             " id TEXT NOT NULL UNIQUE,"
                             " line TEXT NOT NULL,"
                             " created INTEGER NOT NULL,"
                             " expires INTEGER NOT NULL DEFAULT 0,"
                             " who TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS maintenance("
                             " k INTEGER PRIMARY KEY CHECK (k = 1),"
                             " enabled INTEGER NOT NULL,"
                             " target TEXT NOT NULL,"
                             " status INTEGER NOT NULL,"
                             " allow TEXT NOT NULL,"
                             " since INTEGER NOT NULL,"
                             " until INTEGER NOT NULL,"
                             " who TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS audit("
                             " n INTEGER PRIMARY KEY AUTOINCREMENT,"
                             " at INTEGER NOT NULL,"
                             " who TEXT NOT NULL,"
                             " action TEXT NOT NULL,"
                             " detail TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS stats("
                             " id TEXT PRIMARY KEY,"
                             " hits INTEGER NOT NULL,"
                             " last_hit INTEGER NOT NULL) WITHOUT ROWID;"
                             "CREATE INDEX IF NOT EXISTS stats_hits ON stats(hits);"
                             "CREATE TABLE IF NOT EXISTS stats_log("
                             " n INTEGER PRIMARY KEY,"
                             " data BLOB NOT NULL);"

                             "CREATE TABLE IF NOT EXISTS fleet("
                             " k INTEGER PRIMARY KEY CHECK (k = 1),"
                             " version INTEGER NOT NULL);"
                             "COMMIT;";

static int dberr(struct state *st, char *err, size_t cap, const char *what)
{
	int code = sqlite3_extended_errcode(st->db) & 0xff;

	atomic_store(&st->last_code, code);
	snprintf(err, cap, "state: %s: %s", what, sqlite3_errmsg(st->db));
	return -1;
}

int state_error_status(struct state *st, const char **cause)
{
	switch (atomic_load(&st->last_code)) {
	case SQLITE_FULL:
		*cause = "disk full";
		return 507; /* RFC 4918 §11.5: Insufficient Storage */
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		*cause = "read-only";
		return 503;
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		*cause = "I/O error";
		return 503;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		*cause = "busy";
		return 503;
	default:
		*cause = "internal";
		return 500;
	}
}

static int mkdir_p(const char *dir)
{
	char tmp[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, dir, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0750) && errno != EEXIST)
			return -1;
		tmp[i] = '/';
	}
	if (mkdir(tmp, 0750) && errno != EEXIST)
		return -1;
	return 0;
}

/* A state-dir that cannot be written (a read-only file system, a
 * directory the user may not write) but holds a database: it is opened
 * read-only, so that the API rules and maintenance it stored still serve;
 * every change is refused (503, "read-only"). immutable=1: SQLite takes no
 * lock and needs no -shm (a WAL database cannot otherwise be opened where
 * the -shm cannot be created); nothing else writes it meanwhile. */
static struct state *open_readonly(struct state *st, const char *dir, const char *path, int e,
                                   char *err, size_t cap)
{
	char uri[8600], *o = uri;
	static const char hex[] = "0123456789ABCDEF";

	o += snprintf(uri, sizeof(uri), "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f) {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	snprintf(o, sizeof(uri) - (size_t)(o - uri), "?immutable=1");
	if (sqlite3_open_v2(uri, &st->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
	                       "INSERT INTO stats(id, hits, last_hit) VALUES (?1, ?2, ?3) "
	                       "ON CONFLICT(id) DO UPDATE SET hits = hits + ?2, "
	                       "last_hit = max(last_hit, ?3)",
	                       -1, &st->stat_upsert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "SELECT hits, last_hit FROM stats WHERE id = ?1", -1,
	                       &st->stat_get, NULL) != SQLITE_OK) {
		snprintf(err, cap, "state: cannot open %s read-only: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : "out of memory");
		sqlite3_finalize(st->stat_upsert);
		sqlite3_close(st->db);
		free(st);
		return NULL;
	}
	st->readonly = true;
	atomic_store(&st->last_code, SQLITE_READONLY);
	pthread_mutex_init(&st->lock, NULL);
	log_warn("state-dir %s is not writable (%s): the state is read-only; the API rules "
	         "and maintenance it holds serve, changes through the API are refused (503)",
	         dir, strerror(e));
	return st;
}

bool state_readonly(const struct state *st)
{
	return st->readonly;
}

struct state *state_open(const char *dir, char *err, size_t cap)
{
	struct state *st = calloc(1, sizeof(*st));
	char path[4200];

	if (st == NULL) {
		snprintf(err, cap, "state: out of memory");
		return NULL;
	}
	if (mkdir_p(dir)) {
		snprintf(err, cap, "state-dir %s: cannot create: %s", dir, strerror(errno));
		free(st);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/detour.db", dir);
	if (access(dir, W_OK | X_OK)) {
		int e = errno;
		if ((e == EROFS || e == EACCES) && access(path, R_OK) == 0)
			return open_readonly(st, dir, path, e, err, cap);
		snprintf(err, cap, "state-dir %s is not writable by uid %u: %s", dir,
		         (unsigned)geteuid(), strerror(e));
		free(st);
		return NULL;
	}
	if (sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, cap, "state: cannot open %s: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : "out of memory");
		sqlite3_close(st->db);
		free(st);
		return NULL;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
	                       "INSERT INTO stats(id, hits, last_hit) VALUES (?1, ?2, ?3) "
	                       "ON CONFLICT(id) DO UPDATE SET hits = hits + ?2, "
	                       "last_hit = max(last_hit, ?3)",
	                       -1, &st->stat_upsert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "SELECT hits, last_hit FROM stats WHERE id = ?1", -1,
	                       &st->stat_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "INSERT INTO stats_log(data) VALUES (?1)", -1,
	                       &st->log_insert, NULL) != SQLITE_OK) {
		snprintf(err, cap, "state: %s: %s", path, sqlite3_errmsg(st->db));
		sqlite3_finalize(st->stat_upsert);
		sqlite3_finalize(st->stat_get);
		sqlite3_close(st->db);
		free(st);
		return NULL;
	}
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(sum(length(data)), 0) FROM stats_log", -1,
	                       &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			st->log_bytes = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	pthread_mutex_init(&st->lock, NULL);
	return st;
}

void state_close(struct state *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->stat_upsert);
	sqlite3_finalize(st->stat_get);
	sqlite3_finalize(st->log_insert);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	for (size_t i = 0; i < st->norph_kept; i++)
		free(st->orph[i].id);
	free(st->orph);
	free(st);
}

int state_begin(struct state *st, char *err, size_t cap)
{
	if (st->readonly) {
		atomic_store(&st->last_code, SQLITE_READONLY);
		snprintf(err, cap, "state: the state-dir is read-only: nothing can be changed");
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		dberr(st, err, cap, "begin");
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	return 0;
}

int state_commit(struct state *st, char *err, size_t cap)
{
	int rc = 0;

	/* synchronous=FULL: in WAL mode the WAL is synced at every commit,
	 * so the change is on disk when COMMIT returns. */
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = dberr(st, err, cap, "commit");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

void state_rollback(struct state *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
}

/* Runs one statement with text/int64 parameters described by fmt ('t' or
 * 'i'); returns sqlite3_changes or -1. */
static int run(struct state *st, const char *sql, const char *fmt, const void *const *args,
               char *err, size_t cap)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return dberr(st, err, cap, "prepare");
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(s, i + 1, args[i], -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(s, i + 1, *(const int64_t *)args[i]);
	}
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if (rc == SQLITE_CONSTRAINT)
			return -2;
		return dberr(st, err, cap, "write");
	}
	return sqlite3_changes(st->db);
}

int state_rule_insert(struct state *st, const char *id, const char *line, int64_t created,
                      int64_t expires, const char *who, int64_t *n, char *err, size_t cap)
{
	const void *args[] = {id, line, &created, &expires, who};
	int rc = run(
	        st,
	        "INSERT INTO rules(id, line, created, expires, who) VALUES (?1, ?2, ?3, ?4, ?5)",
	        "ttiit", args, err, cap);

	if (rc == -2) {
		snprintf(err, cap, "an API rule with id \"%s\" exists", id);
		return 1;
	}
	if (rc < 0)
		return -1;
	*n = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int state_rule_set_id(struct state *st, int64_t n, const char *id, char *err, size_t cap)
{
	const void *args[] = {id, &n};
	int rc = run(st, "UPDATE rules SET id = ?1 WHERE n = ?2", "ti", args, err, cap);

	if (rc == -2) {
		snprintf(err, cap, "an API rule with id \"%s\" exists", id);
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

int state_rule_delete(struct state *st, const char *id, char *err, size_t cap)
{
	const void *args[] = {id};
	int rc = run(st, "DELETE FROM rules WHERE id = ?1", "t", args, err, cap);

	return rc < 0 ? -1 : rc > 0;
}

int state_audit(struct state *st, int64_t at, const char *who, const char *action,
                const char *detail, char *err, size_t cap)
{
	const void *args[] = {&at, who, action, detail};

	return run(st, "INSERT INTO audit(at, who, action, detail) VALUES (?1, ?2, ?3, ?4)", "ittt",
	           args, err, cap) < 0
	               ? -1
	               : 0;
}

int state_rules_expire(struct state *st, int64_t now, char *err, size_t cap)
{
	const void *args[] = {&now};
	int rc;

	rc = run(st,
	         "INSERT INTO audit(at, who, action, detail) SELECT ?1, 'detour', 'expire', "
	         "id || ' ' || line FROM rules WHERE expires > 0 AND expires <= ?1",
	         "i", args, err, cap);
	if (rc < 0)
		return -1;
	rc = run(st, "DELETE FROM rules WHERE expires > 0 AND expires <= ?1", "i", args, err, cap);
	return rc < 0 ? -1 : rc;
}

static char *dup_col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return strdup(t ? (const char *)t : "");
}

int state_rules_load(struct state *st, struct api_rule **out, size_t *n, char *err, size_t cap)
{
	sqlite3_stmt *s;
	struct api_rule *r = NULL;
	size_t k = 0, c = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT n, id, line, created, expires, who FROM rules ORDER BY n",
	                       -1, &s, NULL) != SQLITE_OK)
		return dberr(st, err, cap, "read rules");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (BASE_GROW(r, c, k + 1))
			break;
		r[k].n = sqlite3_column_int64(s, 0);
		r[k].id = dup_col(s, 1);
		r[k].line = dup_col(s, 2);
		r[k].created = sqlite3_column_int64(s, 3);
		r[k].expires = sqlite3_column_int64(s, 4);
		r[k].who = dup_col(s, 5);
		k++;
		if (!r[k - 1].id || !r[k - 1].line || !r[k - 1].who) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		state_rules_free(r, k);
		snprintf(err, cap, "state: read rules: %s",
		         rc == SQLITE_ROW || rc == SQLITE_NOMEM ? "out of memory"
		                                                : sqlite3_errstr(rc));
		return -1;
	}
	*out = r;
	*n = k;
	return 0;
}

void state_rules_free(struct api_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].id);
		free(r[i].line);
		free(r[i].who);
	}
	free(r);
}

int state_maint_set(struct state *st, const struct maint_state *m, char *err, size_t cap)
{
	int64_t on = m->on, status = m->status;
	const void *args[] = {&on, m->target, &status, m->allow, &m->since, &m->until, m->who};

	return run(st,
	           "INSERT OR REPLACE INTO maintenance(k, enabled, target, status, allow, since, "
	           "until, who) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	           "ititiit", args, err, cap) < 0
	               ? -1
	               : 0;
}

int state_maint_get(struct state *st, struct maint_state *m, char *err, size_t cap)
{
	sqlite3_stmt *s;
	int rc;

	memset(m, 0, sizeof(*m));
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT enabled, target, status, allow, since, until, who FROM "
	                       "maintenance WHERE k = 1",
	                       -1, &s, NULL) != SQLITE_OK)
		return dberr(st, err, cap, "read maintenance");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		m->on = sqlite3_column_int(s, 0) != 0;
		snprintf(m->target, sizeof(m->target), "%s", sqlite3_column_text(s, 1));
		m->status = sqlite3_column_int(s, 2);
		snprintf(m->allow, sizeof(m->allow), "%s", sqlite3_column_text(s, 3));
		m->since = sqlite3_column_int64(s, 4);
		m->until = sqlite3_column_int64(s, 5);
		snprintf(m->who, sizeof(m->who), "%s", sqlite3_column_text(s, 6));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, cap, "read maintenance");
	return 0;
}

/* Folds the stats log into the stats table, under st->lock: every blob's
 * deltas summed per id in memory, applied in the order of the table's key
 * (one visit per page), and the log emptied, all in one transaction, so a
 * crash leaves either the log or its sum in the table, never both. A
 * malformed blob (not written by this code) is dropped after its good
 * records. On failure (out of memory, a database error) the log stays. */
void state_fold(struct state *st)
{
	struct detour_statlog_merge m;
	sqlite3_stmt *q;
	bool ok = true;

	if (st->log_bytes == 0)
		return;
	/* A fold may upsert a million rows (and as many random updates of the
	 * stats_hits index): it runs with SQLite's default page cache, given
	 * back when it is done (lowering cache_size frees the pages over it). */
	if (sqlite3_exec(st->db, FOLD_CACHE "PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE", NULL,
	                 NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(st->db, "PRAGMA synchronous=FULL;" STATE_CACHE, NULL, NULL, NULL);
		return;
	}
	detour_statlog_merge_init(&m);
	if (sqlite3_prepare_v2(st->db, "SELECT data FROM stats_log", -1, &q, NULL) != SQLITE_OK) {
		ok = false;
	} else {
		int rc;
		while (ok && (rc = sqlite3_step(q)) == SQLITE_ROW) {
			const void *b = sqlite3_column_blob(q, 0);
			int n = sqlite3_column_bytes(q, 0);
			if (n > 0 && detour_statlog_merge_blob(&m, b, (size_t)n) == -1)
				ok = false;
		}
		if (ok && rc != SQLITE_DONE)
			ok = false;
		sqlite3_finalize(q);
	}
	if (ok) {
		detour_statlog_merge_sort(&m);
		for (size_t i = 0; ok && i < m.n; i++) {
			sqlite3_bind_text(st->stat_upsert, 1, m.e[i].id, (int)m.e[i].idlen,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(st->stat_upsert, 2, (sqlite3_int64)m.e[i].hits);
			sqlite3_bind_int64(st->stat_upsert, 3, m.e[i].last);
			ok = sqlite3_step(st->stat_upsert) == SQLITE_DONE;
			sqlite3_reset(st->stat_upsert);
		}
		sqlite3_clear_bindings(st->stat_upsert);
	}
	if (ok)
		ok = sqlite3_exec(st->db, "DELETE FROM stats_log", NULL, NULL, NULL) == SQLITE_OK;
	if (ok && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		st->log_bytes = 0;
	else
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(st->db, "PRAGMA synchronous=FULL;" STATE_CACHE, NULL, NULL, NULL);
	detour_statlog_merge_free(&m);
}

int state_mirror(struct state *st, const struct api_rule *r, size_t n, const struct maint_state *m,
                 int64_t version, char *err, size_t cap)
{
	const void *vargs[] = {&version};
	int rc;

	/* A copy, not the record (Redis is): no sync of its own, like the
	 * statistics; a crash of the machine may lose the last seconds. */
	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	if (state_begin(st, err, cap))
		goto out;
	if (run(st, "DELETE FROM rules", "", NULL, err, cap) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const void *args[] = {&r[i].n,       r[i].id,       r[i].line,
		                      &r[i].created, &r[i].expires, r[i].who};
		if (run(st,
		        "INSERT INTO rules(n, id, line, created, expires, who) VALUES (?1, ?2, ?3, "
		        "?4, ?5, ?6)",
		        "ittiit", args, err, cap) < 0)
			goto fail;
	}
	if (state_maint_set(st, m, err, cap) ||
	    run(st, "INSERT OR REPLACE INTO fleet(k, version) VALUES (1, ?1)", "i", vargs, err,
	        cap) < 0)
		goto fail;
	rc = state_commit(st, err, cap);
	goto done;
fail:
	state_rollback(st);
out:
	rc = -1;
done:
	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int state_audit_now(struct state *st, int64_t at, const char *who, const char *action,
                    const char *detail, char *err, size_t cap)
{
	int rc = -1;

	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	if (state_begin(st, err, cap) == 0) {
		if (state_audit(st, at, who, action, detail, err, cap))
			state_rollback(st);
		else
			rc = state_commit(st, err, cap);
	}
	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int64_t state_mirror_version(struct state *st)
{
	sqlite3_stmt *s;
	int64_t v = 0;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, "SELECT version FROM fleet WHERE k = 1", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&st->lock);
	return v;
}

void state_flush_served(struct state *st, struct served *s)
{
	char id[DETOUR_STATLOG_ID_MAX + 1];
	struct detour_statlog_writer w;
	struct bbuf b;
	uint32_t *done = NULL; /* (index, sum, last) written in this blob */
	size_t ndone = 0, cap = 0;

	if (s->hits == NULL || s->nrules == 0 || st->readonly)
		return;
	bbuf_init(&b, (size_t)1 << 30);
	pthread_mutex_lock(&st->lock);
	detour_statlog_begin(&w, &b);
	/* Only the rules counted since they were last written (served_collect),
	 * in table order: consecutive ids share their file name. */
	struct served_deltas it;
	struct served_delta d;
	if (served_deltas_begin(&it, s))
		b.over = true; /* out of memory: pending stays for the next flush */
	while (bbuf_ok(&b) && served_next_delta(&it, &d)) {
		if (BASE_GROW(done, cap, ndone + 3)) {
			b.over = true;
			break;
		}
		detour_rule_id(s->rules, detour_ruleset_get(s->rules, d.index), id, sizeof(id));
		if (!detour_statlog_add(&w, id, strlen(id), d.delta, d.last))
			continue;
		done[ndone++] = (uint32_t)d.index;
		done[ndone++] = d.sum;
		done[ndone++] = d.last;
	}
	served_deltas_end(&it);
	/* One statement per flush: the whole delta as one blob. Statistics may
	 * lose the last flush window on a crash (documented), so the insert is
	 * not synced on its own (synchronous=NORMAL). On failure the rules stay
	 * pending, written by the next flush. */
	bool ok = bbuf_ok(&b);
	if (ndone && ok) {
		sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
		sqlite3_bind_blob(st->log_insert, 1, b.p, (int)b.len, SQLITE_STATIC);
		ok = sqlite3_step(st->log_insert) == SQLITE_DONE;
		if (ok) {
			/* The totals kept in memory (state_totals.c) take the
			 * same deltas as the log, so they stay the stats table
			 * plus the log. A table whose totals are not kept (not
			 * loaded yet, or retired) makes every kept total stale:
			 * they are loaded again at the next read. */
			bool kept = s->total && s->total_epoch == st->epoch;
			for (size_t k = 0; k < ndone; k += 3) {
				uint32_t i = done[k];
				if (kept) {
					s->total[i] += (uint32_t)(done[k + 1] - s->flushed[i]);
					if (done[k + 2] > s->total_last[i])
						s->total_last[i] = done[k + 2];
				}
				s->flushed[i] = done[k + 1];
			}
			if (!kept)
				st->epoch++;
			st->log_bytes += (int64_t)b.len;
		}
		sqlite3_reset(st->log_insert);
		sqlite3_clear_bindings(st->log_insert);
		sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	}
	if (ok)
		memset(s->pending, 0, s->twords * sizeof(*s->pending));
	if (st->log_bytes > STATS_LOG_FOLD)
		state_fold(st);
	pthread_mutex_unlock(&st->lock);
	free(done);
	bbuf_free(&b);
}

int state_stats_get(struct state *st, const char *id, int64_t *hits, int64_t *last)
{
	int found = 0;

	pthread_mutex_lock(&st->lock);
	state_fold(st);
	sqlite3_bind_text(st->stat_get, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st->stat_get) == SQLITE_ROW) {
		*hits = sqlite3_column_int64(st->stat_get, 0);
		*last = sqlite3_column_int64(st->stat_get, 1);
		found = 1;
	}
	sqlite3_reset(st->stat_get);
	pthread_mutex_unlock(&st->lock);
	return found;
}

int64_t state_stats_list(struct state *st, int64_t offset, int64_t limit,
                         void (*fn)(void *arg, const char *id, int64_t hits, int64_t last),
                         void *arg)
{
	sqlite3_stmt *s;
	int64_t total = 0;

	pthread_mutex_lock(&st->lock);
	state_fold(st);
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM stats", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			total = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT id, hits, last_hit FROM stats ORDER BY hits DESC, id "
	                       "LIMIT ?1 OFFSET ?2",
	                       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, limit);
		sqlite3_bind_int64(s, 2, offset);
		while (sqlite3_step(s) == SQLITE_ROW)
			fn(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			   sqlite3_column_int64(s, 2));
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&st->lock);
	return total;
}

int state_audit_prune(struct state *st, int64_t cutoff, int64_t keep_max, int batch, char *err,
                      size_t cap)
{
	sqlite3_stmt *q;
	int rc = -1;

	if (st->readonly)
		return 0;
	/* A prune that a crash loses is made again by the next one: no sync
	 * of its own (the WAL is synced by the next change's commit). */
	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	if (state_begin(st, err, cap))
		goto out;
	/* The batch oldest rows by number (a rowid range: cost in the batch,
	 * not in the table), of which those older than cutoff or numbered
	 * keep_max or more below the newest. Freed pages go to the database's
	 * freelist, which the next inserts use before the file grows. */
	if (sqlite3_prepare_v2(st->db,
	                       "DELETE FROM audit WHERE n IN (SELECT n FROM (SELECT n, at FROM "
	                       "audit ORDER BY n LIMIT ?1) WHERE at < ?2 OR n <= ?3 - ?4)",
	                       -1, &q, NULL) != SQLITE_OK) {
		dberr(st, err, cap, "prune the audit");
		state_rollback(st);
		goto out;
	}
	int64_t top = 0;
	if (keep_max > 0) {
		sqlite3_stmt *m;
		if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(n), 0) FROM audit", -1, &m,
		                       NULL) == SQLITE_OK) {
			if (sqlite3_step(m) == SQLITE_ROW)
				top = sqlite3_column_int64(m, 0);
			sqlite3_finalize(m);
		}
	}
	sqlite3_bind_int(q, 1, batch);
	sqlite3_bind_int64(q, 2, cutoff);
	sqlite3_bind_int64(q, 3, top);
	sqlite3_bind_int64(q, 4, keep_max > 0 ? keep_max : top + 1);
	if (sqlite3_step(q) != SQLITE_DONE) {
		dberr(st, err, cap, "prune the audit");
		sqlite3_finalize(q);
		state_rollback(st);
		goto out;
	}
	sqlite3_finalize(q);
	int k = sqlite3_changes(st->db);
	if (state_commit(st, err, cap) == 0)
		rc = k;
out:
	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

void state_audit_list(struct state *st, int64_t limit,
                      void (*fn)(void *arg, int64_t at, const char *who, const char *action,
                                 const char *detail),
                      void *arg)
{
	sqlite3_stmt *s;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT at, who, action, detail FROM audit ORDER BY n DESC LIMIT ?1",
	                       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, limit);
		while (sqlite3_step(s) == SQLITE_ROW)
			fn(arg, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
			   (const char *)sqlite3_column_text(s, 2),
			   (const char *)sqlite3_column_text(s, 3));
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&st->lock);
}
