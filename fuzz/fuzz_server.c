/* libFuzzer target: the whole server path of one connection, like h2o's
 * fuzz/driver.cc. The input is the byte stream a client sends, cut into
 * separate writes at every "\n--MARK--\n" (h2o's marker), so segmentation
 * is fuzzed too: a head split anywhere, a body arriving after its answer,
 * pipelined requests in one write. Each write goes through a socketpair
 * into the real worker code: worker_prepare (worker.c) without a listener,
 * conn_accepted (conn.c) adopting the server end, and the worker loop's
 * body (publish_enter, loop_run_once with timeout 0, conn_run_ready for
 * the turns owed to pipelined requests past a turn's budget, stats_drain,
 * conn_expire), with request.c, route.h, the access log (to /dev/null) and
 * statistics on, over a small table: exact, splat, placeholder and regex
 * rules, conditions (if-header, if-cookie, if-query, if-lang, if-ip),
 * method=, html pages, query options, packed rules (a block whose rules
 * keep only what they add to its head), a canonical host and a trusted proxy.
 * Maintenance is off. After the last write the client shuts its side.
 *
 * Invariants: the bytes the client reads back are whole responses, and
 * nothing follows "Connection: close" (sockfeed.h); once the client has
 * shut its side, the server closes the connection (nconns is back to 0);
 * nothing leaks (LSan). */
#include "fuzz.h"
#include "sockfeed.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "detour/canon.h"
#include "detour/config.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "publish.h"
#include "worker.h"

static const char rules[] =
        "//old.example.com/*        https://example.com/:splat        301 cache=1d id=host\n"
        "/old-page                  /new-page                         301 id=exact\n"
        "/docs/:version/:page       /documentation/:page?v=:version   302 id=ph\n"
        "/blog/*                    https://blog.example.com/:splat   308 cache=7d\n"
        "/promo                     /contests/november                307 query=drop\n"
        "/gone                      -                                 410\n"
        "/page                      /new-page                         html\n"
        "~^/p/([0-9]+)$             /products/$1                      302\n"
        "~^/u/(?<user>[a-z]+)/(.*)$ /users/:user?rest=$2              301\n"
        "/                          /fr/                              302 if-lang=fr\n"
        "/app                       /app-beta                         307 if-cookie=beta=1 "
        "if-ip=127.0.0.0/8\n"
        "/x                         /mobile                           302 "
        "if-header=User-Agent:~Mobile\n"
        "/q                         /qq                               302 if-query=a=1&b\n"
        "/form                      /new-form                         308 method=POST\n"
        "/keep                      /kept?x=1                         301 query=keep\n"
        "/case                      /lower                            301 case=insensitive\n"
        /* rule 16 heads a block of RULEPACK_BLOCK; the next ones differ from it
         * in a few bytes, so they are packed and every answer from them goes
         * through the decode (lib/rulepack.h), with query=keep too */
        "/r/100                     /target/100                       301\n"
        "/r/101                     /target/101                       301\n"
        "/r/1010                    /target/1010?a=1                  308\n"
        "/r/102                     /target/102#frag                  302\n"
        "/r/103                     /t/103                            307 query=drop\n";

static const char conf_text[] = "workers 1\n"
                                "max-connections 16\n"
                                "limit target 2k\n"
                                "limit header-bytes 8k\n"
                                "limit headers 50\n"
                                "limit body 64k\n"
                                "trusted-proxies 127.0.0.0/8\n"
                                "canonical-host www.example.com example.com\n"
                                "trailing-slash remove\n";

static struct detour_config conf;
static struct publish pub;
static struct pool pool;
static struct worker w;

static void init(void)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;
	struct settings *set = calloc(1, sizeof(*set));
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	detour_config_defaults(&conf);
	CHECK(detour_config_parse(&conf, "fuzz.conf", conf_text, sizeof(conf_text) - 1, &d) ==
	      DETOUR_OK);
	conf.nlisten = 0; /* no listener: connections are adopted */
	CHECK(rs != NULL && set != NULL);
	if (detour_ruleset_load_buf(rs, "fuzz.rules", rules, sizeof(rules) - 1, &d) != DETOUR_OK) {
		detour_diag_format(&d, err, sizeof(err));
		fprintf(stderr, "fuzz_server: rules: %s\n", err);
		abort();
	}
	for (size_t i = 17; i < detour_ruleset_count(rs); i++) /* the block above */
		CHECK(detour_ruleset_get(rs, i)->flags & DETOUR_RULE_PACKED);
	CHECK(detour_table_build(rs, &t, &d) == DETOUR_OK);
	set->server_header = true;
	memcpy(set->trusted, conf.trusted_proxies, sizeof(set->trusted));
	set->ntrusted = conf.ntrusted_proxies;
	CHECK(detour_canon_new(&conf, &set->canon) == DETOUR_OK);
	set->canon_plain = detour_canon_may_change(set->canon, false);
	set->canon_https = detour_canon_may_change(set->canon, true);
	CHECK(publish_init(&pub, 1) == 0);
	atomic_store(&pub.file, served_new(t, ORIGIN_FILE, 1, true));
	atomic_store(&pub.set, set);
	pool.pub = &pub;
	pool.conf = &conf;
	pool.w = &w;
	pool.n = 1;
	pool.max_conns = 16;
	pool.access_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	conf.stats = true;
	if (worker_prepare(&pool, 0, err, sizeof(err))) {
		fprintf(stderr, "fuzz_server: %s\n", err);
		abort();
	}
}

/* One iteration of worker_main's loop (worker.c), without waiting. */
static int step(void)
{
	struct conns *cs = &w.cs;
	int n;

	publish_enter(&pub, 0, &cs->view);
	n = loop_run_once(cs->loop, 0);
	conn_run_ready(cs); /* the turns owed, after the batch (budget.h) */
	if (conn_has_ready(cs))
		n++; /* requests buffered, no event will come for them: go on */
	if (cs->st->ring_n)
		stats_drain(cs->st, &cs->view, 0, (uint32_t)cs->now_sec);
	conn_expire(cs);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *buf;
	int sv[2];
	struct sockaddr_in peer = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(0x7f000001),
	                           .sin_port = htons(40000)};

	if (buf == NULL) {
		init();
		buf = malloc(FEED_OUT_MAX);
		CHECK(buf != NULL);
	}
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	struct feed f = {.fd = sv[0], .out = buf, .step = step};
	step();        /* the clocks: a deadline counts from now */
	w.cs.nconns++; /* as on_accept counts it */
	conn_accepted(&w.cs, sv[1], (struct sockaddr *)&peer, 0);
	feed_run(&f, data, size);
	CHECK(w.cs.nconns == 0); /* the server closed its end */
	feed_check_responses(&f);
	close(sv[0]);
	return 0;
}
