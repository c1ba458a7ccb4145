/* libFuzzer target: the admin API's request handling (src/server/admin*.c)
 * over a real connection: a socketpair whose server end admin_adopt()
 * hands to the admin's loop as if accepted, fed and read as sockfeed.h
 * says (writes cut at "\n--MARK--\n"). Everything behind it is real: the
 * guard against web pages (Host, Origin, Content-Type), the bearer token
 * (a token file), the strict HTTP/1.1 parser, bodies by Content-Length,
 * the endpoints (/rules, /maintenance, /stats, /metrics, /audit, /targets,
 * /healthz, /reload refused: the harness loads no rules files, so it
 * answers the error path) and the SQLite state in a directory under
 * /dev/shm (or /tmp), with API tables built and published (no worker
 * reads them). Every input starts from an empty state (setup/teardown:
 * the admin, maintenance and the publication are made and freed per input,
 * the database emptied; the configuration, the file rules and the SQLite
 * connection are made once, see "One SQLite state" below).
 *
 * Invariants: the bytes read back are whole HTTP/1.1 responses, nothing
 * follows "Connection: close" (sockfeed.h); once the client shuts its side
 * the connection is closed (no admin connection left); no crash, no leak. */
#include "fuzz.h"
#include "sockfeed.h"
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "admin_data.h"
#include "admin_guard.h"
#include "detour/canon.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "maint.h"
#include "privdrop.h"
#include "state.h"
#include "state_int.h"

#define TOKEN "fuzz-token-0123456789"

static const char rules[] = "/old /new 301 id=old\n"
                            "/docs/:v/:p /documentation/:p?v=:v 302\n"
                            "~^/p/([0-9]+)$ /products/$1 302\n";

static struct server srv;
static char dir[64];
static char token_path[128];
static struct detour_table *file_table; /* built once, wrapped afresh per input */
static struct detour_listen guard_listen;

/* Answered at once, as the reload thread answers a request made while the
 * server stops. */
static void reload_refused(void *arg, struct reload_wait *w)
{
	w->rc = -1;
	snprintf(w->err, sizeof(w->err), "reload is not fuzzed");
	atomic_store_explicit(&w->done, true, memory_order_release);
}

static void reload_forget(void *arg, struct reload_wait *w)
{
}

/* ------------------------------------------------------------------------
 * One SQLite state for the whole run. Opening one (sqlite3_open, the schema
 * read back, the statements prepared) costs ten times what an input does
 * under ASan, so the target is linked with --wrap=state_open,state_close
 * (Makefile, FUZZ_LDFLAGS_admin): admin_prepare()'s state_open() gets the
 * state kept from the last input, and admin_stop()'s caller's state_close()
 * empties it instead of closing it: every table's rows deleted (the tables
 * read from sqlite_master, so a table added to the schema is emptied too;
 * sqlite_sequence with them, so AUTOINCREMENT starts at 1 again) and the
 * totals kept in memory (state_int.h) forgotten. The next input finds what
 * a first start on an empty state-dir finds.
 * ------------------------------------------------------------------------ */
struct state *__real_state_open(const char *d, char *err, size_t cap);
void __real_state_close(struct state *st);
struct state *__wrap_state_open(const char *d, char *err, size_t cap);
void __wrap_state_close(struct state *st);

/* Every field of struct state is reset below: a new one must be too. */
_Static_assert(sizeof(struct state) == 136,
               "struct state changed: fuzz_admin's state_empty() must reset the new field");

static struct state *kept;
static sqlite3_stmt **empties; /* DELETE FROM each table */
static size_t nempties;

struct state *__wrap_state_open(const char *d, char *err, size_t cap)
{
	if (kept == NULL)
		kept = __real_state_open(d, err, cap);
	return kept;
}

static void state_empty(struct state *st)
{
	if (empties == NULL) {
		sqlite3_stmt *q;
		CHECK(sqlite3_prepare_v2(st->db,
		                         "SELECT name FROM sqlite_master WHERE type = 'table' "
		                         "ORDER BY name",
		                         -1, &q, NULL) == SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW) {
			char *sql =
			        sqlite3_mprintf("DELETE FROM \"%w\"", sqlite3_column_text(q, 0));
			empties = realloc(empties, (nempties + 1) * sizeof(*empties));
			CHECK(sql != NULL && empties != NULL);
			CHECK(sqlite3_prepare_v2(st->db, sql, -1, &empties[nempties++], NULL) ==
			      SQLITE_OK);
			sqlite3_free(sql);
		}
		sqlite3_finalize(q);
		CHECK(nempties > 0);
	}
	CHECK(sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
	for (size_t i = 0; i < nempties; i++) {
		CHECK(sqlite3_step(empties[i]) == SQLITE_DONE);
		sqlite3_reset(empties[i]);
	}
	CHECK(sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	st->log_bytes = 0;
	atomic_store(&st->last_code, 0);
	CHECK(!st->readonly);
	st->epoch = 0;
	st->tot_file = st->tot_api = NULL;
	for (size_t i = 0; i < st->norph_kept; i++)
		free(st->orph[i].id);
	free(st->orph);
	st->orph = NULL;
	st->norph_kept = 0;
	st->norph = 0;
}

void __wrap_state_close(struct state *st)
{
	if (st == NULL)
		return;
	if (st != kept) {
		__real_state_close(st);
		return;
	}
	state_empty(st);
}

/* At exit: the state is closed for real. */
static void state_gone(void)
{
	for (size_t i = 0; i < nempties; i++)
		sqlite3_finalize(empties[i]);
	free(empties);
	__real_state_close(kept);
	kept = NULL;
}

/* What no input changes, made once: the state directory and its token
 * file, the configuration (never written after start-up, core.h) and the
 * file rules' table. */
static void init_once(void)
{
	char text[512];
	struct detour_diag d;
	struct detour_ruleset *rs = detour_ruleset_new();
	FILE *fp;

	signal(SIGPIPE, SIG_IGN);
	/* tmpfs when there is one: SQLite syncs every change. */
	snprintf(dir, sizeof(dir), "%s/detour-fuzz-admin-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(token_path, sizeof(token_path), "%s/admin.token", dir);
	fp = fopen(token_path, "w");
	CHECK(fp != NULL);
	fprintf(fp, "fuzzer " TOKEN "\n");
	fclose(fp);
	snprintf(text, sizeof(text), "admin 127.0.0.1:8081 token-file=%s\nstate-dir %s\nstats on\n",
	         token_path, dir);
	detour_config_defaults(&srv.conf);
	CHECK(detour_config_parse(&srv.conf, "fuzz.conf", text, strlen(text), &d) == DETOUR_OK);
	guard_listen = srv.conf.admin;
	srv.conf.admin.port = 0; /* no listener: connections are adopted */
	CHECK(rs &&
	      detour_ruleset_load_buf(rs, "fuzz.rules", rules, sizeof(rules) - 1, &d) == DETOUR_OK);
	CHECK(detour_table_build(rs, &file_table, &d) == DETOUR_OK);
}

/* A fresh server for one input, as a start with an empty state-dir makes
 * it: every input starts from the same state, so that a crash replays
 * alone (libFuzzer reproducibility), and the input frees all it allocated
 * (libFuzzer checks for leaks after an input that allocated more than it
 * freed: with a state that grew from input to input, that was most of the
 * time spent). */
static void setup(void)
{
	char err[512];
	struct settings *set = calloc(1, sizeof(*set));
	struct privdrop nodrop = {0};
	struct admin_hooks hooks = {.reload = reload_refused, .reload_forget = reload_forget};

	CHECK(set != NULL);
	CHECK(detour_canon_new(&srv.conf, &set->canon) == DETOUR_OK);
	CHECK(publish_init(&srv.pub, 0) == 0);
	atomic_store(&srv.pub.file, served_new(file_table, ORIGIN_FILE, 0, true));
	atomic_store(&srv.pub.set, set);
	srv.maint = maint_new(&srv.pub);
	CHECK(srv.maint != NULL);
	if (admin_prepare(&srv, &nodrop, &hooks, err, sizeof(err))) {
		fprintf(stderr, "fuzz_admin: %s\n", err);
		abort();
	}
	admin_guard_init(&srv.admin->guard, &guard_listen); /* Host and Origin: 127.0.0.1:8081 */
	srv.admin->loop = loop_new();
	CHECK(srv.admin->loop != NULL);
}

/* Everything setup() made (the state emptied, see above). */
static void teardown(void)
{
	struct served *file = atomic_load(&srv.pub.file);

	admin_stop(&srv);
	served_free(atomic_exchange(&srv.pub.api, NULL));
	file->table = NULL; /* the table stays for the next input */
	served_free(file);
	atomic_store(&srv.pub.file, NULL);
	maint_fini(srv.maint);
	srv.maint = NULL;
	publish_fini(&srv.pub);
	memset(&srv.pub, 0, sizeof(srv.pub));
	state_close(srv.state);
	srv.state = NULL;
	memset(&srv.counters, 0, sizeof(srv.counters));
}

static int step(void)
{
	return loop_run_once(srv.admin->loop, 0);
}

/* At exit: the table, the token and the directory go too. */
static void at_exit(void)
{
	static const char *const db[] = {"detour.db", "detour.db-wal", "detour.db-shm",
	                                 "detour.db-journal"};
	char path[128];

	state_gone();
	detour_table_free(file_table);
	for (size_t i = 0; i < sizeof(db) / sizeof(db[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, db[i]);
		unlink(path);
	}
	unlink(token_path);
	if (rmdir(dir) != 0) {
		/* left behind: only a directory under /dev/shm or /tmp */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *buf;
	int sv[2];

	if (buf == NULL) {
		init_once();
		atexit(at_exit);
		buf = malloc(FEED_OUT_MAX);
		CHECK(buf != NULL);
	}
	setup();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	struct feed f = {.fd = sv[0], .out = buf, .step = step};
	admin_adopt(srv.admin, sv[1]);
	feed_run(&f, data, size);
	CHECK(srv.admin->nconns == 0); /* the server closed its end */
	feed_check_responses(&f);
	close(sv[0]);
	teardown();
	return 0;
}
