/* libFuzzer target: the admin API's request handling (src/server/admin*.c)
 * over a real connection: a socketpair whose server end admin_adopt()
 * hands to the admin's loop as if accepted, fed and read as sockfeed.h
 * says (writes cut at "\n--MARK--\n"). Everything behind it is real: the
 * guard against web pages (Host, Origin, Content-Type), the bearer token
 * (a token file), the strict HTTP/1.1 parser, bodies by Content-Length,
 * the endpoints (/rules, /maintenance, /stats, /metrics, /audit, /targets,
 * /healthz, /reload refused: the harness loads no rules files, so it
 * answers the error path) and the SQLite state in a fresh
 * directory under /dev/shm (or /tmp), with API tables built and published (no worker
 * reads them). The state grows over a run; it is emptied every 256 inputs.
 *
 * Invariants: the bytes read back are whole HTTP/1.1 responses, nothing
 * follows "Connection: close" (sockfeed.h); once the client shuts its side
 * the connection is closed (no admin connection left); no crash, no leak. */
#include "fuzz.h"
#include "sockfeed.h"
#include <fcntl.h>
#include <signal.h>
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

#define TOKEN "fuzz-token-0123456789"

static const char rules[] = "/old /new 301 id=old\n"
                            "/docs/:v/:p /documentation/:p?v=:v 302\n"
                            "~^/p/([0-9]+)$ /products/$1 302\n";

static struct server srv;
static char dir[64];

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

static void setup(void)
{
	char path[128], text[512], err[512];
	struct detour_diag d;
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct settings *set = calloc(1, sizeof(*set));
	struct privdrop nodrop = {0};
	struct admin_hooks hooks = {.reload = reload_refused, .reload_forget = reload_forget};
	struct detour_listen l;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/admin.token", dir);
	fp = fopen(path, "w");
	CHECK(fp != NULL);
	fprintf(fp, "fuzzer " TOKEN "\n");
	fclose(fp);
	snprintf(text, sizeof(text), "admin 127.0.0.1:8081 token-file=%s\nstate-dir %s\nstats on\n",
	         path, dir);
	detour_config_defaults(&srv.conf);
	CHECK(detour_config_parse(&srv.conf, "fuzz.conf", text, strlen(text), &d) == DETOUR_OK);
	l = srv.conf.admin;
	srv.conf.admin.port = 0; /* no listener: connections are adopted */
	CHECK(rs && set &&
	      detour_ruleset_load_buf(rs, "fuzz.rules", rules, sizeof(rules) - 1, &d) == DETOUR_OK);
	CHECK(detour_table_build(rs, &t, &d) == DETOUR_OK);
	CHECK(detour_canon_new(&srv.conf, &set->canon) == DETOUR_OK);
	CHECK(publish_init(&srv.pub, 0) == 0);
	atomic_store(&srv.pub.file, served_new(t, ORIGIN_FILE, 0, true));
	atomic_store(&srv.pub.set, set);
	srv.maint = maint_new(&srv.pub);
	CHECK(srv.maint != NULL);
	if (admin_prepare(&srv, &nodrop, &hooks, err, sizeof(err))) {
		fprintf(stderr, "fuzz_admin: %s\n", err);
		abort();
	}
	admin_guard_init(&srv.admin->guard, &l); /* Host and Origin: 127.0.0.1:8081 */
	srv.admin->loop = loop_new();
	CHECK(srv.admin->loop != NULL);
}

/* Everything setup() made, and the state directory's files. */
static void teardown(void)
{
	admin_stop(&srv);
	served_free(atomic_load(&srv.pub.api));
	served_free(atomic_load(&srv.pub.file));
	maint_fini(srv.maint);
	publish_fini(&srv.pub);
	state_close(srv.state);
	memset(&srv, 0, sizeof(srv));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
	CHECK(system(cmd) == 0);
}

/* At exit: the state directory goes too. */
static void remove_dir(void)
{
	char cmd[128];

	if (srv.admin)
		teardown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		/* left behind: only a directory under /dev/shm or /tmp */
	}
}

static int step(void)
{
	return loop_run_once(srv.admin->loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *buf;
	static unsigned runs;
	int sv[2];

	if (buf == NULL) {
		signal(SIGPIPE, SIG_IGN);
		/* tmpfs when there is one: SQLite syncs every change. */
		snprintf(dir, sizeof(dir), "%s/detour-fuzz-admin-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		CHECK(mkdtemp(dir) != NULL);
		atexit(remove_dir);
		buf = malloc(FEED_OUT_MAX);
		CHECK(buf != NULL);
	}
	if (srv.admin == NULL)
		setup();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	struct feed f = {.fd = sv[0], .out = buf, .step = step};
	admin_adopt(srv.admin, sv[1]);
	feed_run(&f, data, size);
	CHECK(srv.admin->nconns == 0); /* the server closed its end */
	feed_check_responses(&f);
	close(sv[0]);
	if (++runs % 256 == 0)
		teardown();
	return 0;
}
