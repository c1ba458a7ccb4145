/* Unit tests for lib/config.c: every directive, every error with its exact
 * "file:line:col: message" text, the defaults, sizes and listen addresses,
 * and loading from a file. Inputs go through guard_copy() so that a read
 * past the end of a config buffer faults. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "base/value.h"
#include "detour/config.h"

#include "config_test.h"

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct detour_config *c = &conf;

	memset(c, 0x5a, sizeof(*c));
	detour_config_defaults(c);
	assert_string_equal(c->file, "");
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].host, "127.0.0.1");
	assert_int_equal(c->listen[0].port, 8080);
	assert_false(c->listen[0].ipv6);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->nrules, 1);
	assert_string_equal(c->rules[0], "examples/site.rules");
	assert_string_equal(c->access_log, "");
	assert_string_equal(c->error_log, "");
	assert_false(c->server_header);
	assert_true(c->http2);
	assert_int_equal(c->max_connections, 10000);
	assert_int_equal(c->limits.max_target, 8192);
	assert_int_equal(c->limits.max_header_bytes, 32768);
	assert_int_equal(c->limits.max_headers, 100);
	assert_int_equal(c->limits.max_body, 1048576);
	assert_true(c->buffer_memory == 32u << 20);
	assert_int_equal(c->header_timeout_ms, 10000);
	assert_int_equal(c->keepalive_timeout_ms, 60000);
	assert_int_equal(c->admin.port, 0);
	assert_string_equal(c->admin_token_file, "");
	assert_string_equal(c->state_dir, "var");
	assert_string_equal(c->user, "");
	assert_true(c->stats);
	assert_int_equal(c->stats_flush_ms, 5000);
	assert_int_equal(c->audit_keep_s, 90 * 86400);
	assert_int_equal(c->audit_keep_max, 100000);
	assert_int_equal(c->audit_keep_line, 0);
}

static void test_empty_and_comments(void **state)
{
	static const char *const texts[] = {
	        "",
	        "\n",
	        "\n\n\r\n",
	        "# only a comment\n",
	        "   # indented comment\n\t\t\n",
	        "#listen 1.2.3.4:5\n",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		parse_ok(texts[i]);
		assert_string_equal(conf.file, "/etc/detour/detour.conf");
		assert_int_equal(conf.nlisten, 1);
		assert_int_equal(conf.listen[0].port, 8080);
		assert_int_equal(conf.nrules, 1);
		assert_string_equal(conf.rules[0], "examples/site.rules");
	}
}

/* ---- every directive, accepted values ----------------------------------- */

struct listen_case {
	const char *in;
	const char *host;
	unsigned port;
	bool ipv6;
};

static const struct listen_case listen_ok[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080, false},
        {"0.0.0.0:1", "0.0.0.0", 1, false},
        {"*:80", "0.0.0.0", 80, false},
        {"localhost:81", "127.0.0.1", 81, false},
        {"8080", "127.0.0.1", 8080, false},
        {"65535", "127.0.0.1", 65535, false},
        {"10.1.2.3:00443", "10.1.2.3", 443, false},
        {"[::1]:9000", "::1", 9000, true},
        {"[::]:80", "::", 80, true},
        {"[2001:db8::7]:65535", "2001:db8::7", 65535, true},
        {"[::ffff:192.0.2.1]:8", "::ffff:192.0.2.1", 8, true},
};

static const char *const listen_bad[] = {
        "",
        "0",
        "65536",
        "123456",
        "-1",
        "80a",
        ":80",
        "1.2.3:80",
        "1.2.3.4:",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:8x",
        "1.2.3.4:123456",
        "example.com:80",
        "256.1.1.1:80",
        "[::1]",
        "[::1]:",
        "[::1]80",
        "[::1:80",
        "[]:80",
        "[zz]:80",
        "[1.2.3.4]:80",
        "::1:80",
        "[::1]:0",
        "[::1]:99999",
        "*",
        "*:",
};

static void test_parse_listen(void **state)
{
	struct detour_listen l;

	for (size_t i = 0; i < sizeof(listen_ok) / sizeof(listen_ok[0]); i++) {
		const struct listen_case *k = &listen_ok[i];
		struct guard g;
		const char *p = guard_copy(&g, k->in, strlen(k->in));
		memset(&l, 0x5a, sizeof(l));
		if (detour_config_parse_listen(p, strlen(k->in), &l) != DETOUR_OK) {
			print_error("listen %s refused\n", k->in);
			fail();
		}
		assert_string_equal(l.host, k->host);
		assert_int_equal(l.port, k->port);
		assert_int_equal(l.ipv6, k->ipv6);
		guard_free(&g);
	}
	for (size_t i = 0; i < sizeof(listen_bad) / sizeof(listen_bad[0]); i++) {
		struct guard g;
		const char *p = guard_copy(&g, listen_bad[i], strlen(listen_bad[i]));
		if (detour_config_parse_listen(p, strlen(listen_bad[i]), &l) != DETOUR_EINVAL) {
			print_error("listen '%s' accepted\n", listen_bad[i]);
			fail();
		}
		guard_free(&g);
	}
	/* 256 bytes or more is refused before any copy. */
	char big[300];
	memset(big, '1', sizeof(big));
	assert_int_equal(detour_config_parse_listen(big, sizeof(big), &l), DETOUR_EINVAL);
}

static void test_listen_directive(void **state)
{
	/* The first listen replaces the default; later ones append. */
	parse_ok("listen [::1]:9000\n");
	assert_int_equal(conf.nlisten, 1);
	assert_string_equal(conf.listen[0].host, "::1");
	assert_true(conf.listen[0].ipv6);
	assert_int_equal(conf.listen[0].port, 9000);

	parse_ok("listen 127.0.0.1:1\nlisten *:2\n\tlisten\t3 # comment\n");
	assert_int_equal(conf.nlisten, 3);
	assert_string_equal(conf.listen[0].host, "127.0.0.1");
	assert_int_equal(conf.listen[0].port, 1);
	assert_string_equal(conf.listen[1].host, "0.0.0.0");
	assert_int_equal(conf.listen[1].port, 2);
	assert_string_equal(conf.listen[2].host, "127.0.0.1");
	assert_int_equal(conf.listen[2].port, 3);

	/* 16 addresses are allowed. */
	char text[1024] = "";
	for (int i = 0; i < DETOUR_CONF_MAX_LISTEN; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "listen %d\n", 1000 + i);
	parse_ok(text);
	assert_int_equal(conf.nlisten, 16);
	assert_int_equal(conf.listen[15].port, 1015);
}

static void test_workers(void **state)
{
	static const struct {
		const char *text;
		unsigned workers;
	} cases[] = {
	        {"workers auto\n", 0},  {"workers 1\n", 1},   {"workers 4\n", 4},
	        {"workers 256\n", 256}, {"workers 007\n", 7},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].text);
		assert_int_equal(conf.workers, cases[i].workers);
	}
}

static void test_rules_paths(void **state)
{
	char err[512];

	/* Relative paths are resolved against the config file's directory. */
	parse_ok("rules site.rules\n");
	assert_int_equal(conf.nrules, 1);
	assert_string_equal(conf.rules[0], "/etc/detour/site.rules");

	parse_ok("rules a.rules\nrules /abs/b.rules\nrules sub/c.rules\n");
	assert_int_equal(conf.nrules, 3);
	assert_string_equal(conf.rules[0], "/etc/detour/a.rules");
	assert_string_equal(conf.rules[1], "/abs/b.rules");
	assert_string_equal(conf.rules[2], "/etc/detour/sub/c.rules");

	/* A config named without a directory: paths stay as written. */
	assert_int_equal(parse_named(&conf, "detour.conf", "rules x.rules\n", err, sizeof(err)),
	                 DETOUR_OK);
	assert_string_equal(conf.rules[0], "x.rules");
	assert_string_equal(conf.file, "detour.conf");

	assert_int_equal(parse_named(&conf, "conf/detour.conf", "rules x.rules\naccess-log a.log\n",
	                             err, sizeof(err)),
	                 DETOUR_OK);
	assert_string_equal(conf.rules[0], "conf/x.rules");
	assert_string_equal(conf.access_log, "conf/a.log");

	/* A config in the root directory: "/x.rules", not "//x.rules". */
	assert_int_equal(parse_named(&conf, "/detour.conf", "rules x.rules\n", err, sizeof(err)),
	                 DETOUR_OK);
	assert_string_equal(conf.rules[0], "/x.rules");

	/* 64 rules files are allowed. */
	char *text = malloc(64 * 16);
	assert_non_null(text);
	text[0] = '\0';
	for (int i = 0; i < DETOUR_CONF_MAX_RULES; i++)
		sprintf(text + strlen(text), "rules r%d\n", i);
	parse_ok(text);
	assert_int_equal(conf.nrules, 64);
	assert_string_equal(conf.rules[63], "/etc/detour/r63");
	free(text);
}

static void test_logs_and_flags(void **state)
{
	parse_ok("access-log off\n");
	assert_string_equal(conf.access_log, "");
	parse_ok("access-log -\n");
	assert_string_equal(conf.access_log, "-");
	parse_ok("access-log stdout\n");
	assert_string_equal(conf.access_log, "-");
	parse_ok("access-log logs/access.log\n");
	assert_string_equal(conf.access_log, "/etc/detour/logs/access.log");
	parse_ok("access-log /var/log/a.log\naccess-log off\n");
	assert_string_equal(conf.access_log, "");
	assert_int_equal(conf.access_log_format, DETOUR_ALOG_COMBINED);
	parse_ok("access-log a.log format=json\n");
	assert_string_equal(conf.access_log, "/etc/detour/a.log");
	assert_int_equal(conf.access_log_format, DETOUR_ALOG_JSON);
	parse_ok("access-log - format=combined\n");
	assert_int_equal(conf.access_log_format, DETOUR_ALOG_COMBINED);
	/* the last access-log line decides, its format too */
	parse_ok("access-log a.log format=json\naccess-log b.log\n");
	assert_int_equal(conf.access_log_format, DETOUR_ALOG_COMBINED);

	parse_ok("error-log stderr\n");
	assert_string_equal(conf.error_log, "");
	parse_ok("error-log error.log\n");
	assert_string_equal(conf.error_log, "/etc/detour/error.log");
	parse_ok("error-log /tmp/e.log\nerror-log stderr\n");
	assert_string_equal(conf.error_log, "");

	parse_ok("server-header on\n");
	assert_true(conf.server_header);
	parse_ok("server-header on\nserver-header off\n");
	assert_false(conf.server_header);

	parse_ok("http2 off\n");
	assert_false(conf.http2);
	parse_ok("http2 off\nhttp2 on\n");
	assert_true(conf.http2);

	parse_ok("max-connections 1\n");
	assert_int_equal(conf.max_connections, 1);
	parse_ok("max-connections 1000000\n");
	assert_int_equal(conf.max_connections, 1000000);
	parse_ok("max-connections 2k\n");
	assert_int_equal(conf.max_connections, 2048);
}

static void test_limits_and_timeouts(void **state)
{
	parse_ok("limit target 64\nlimit header-bytes 1k\nlimit headers 1\nlimit body 0\n");
	assert_int_equal(conf.limits.max_target, 64);
	assert_int_equal(conf.limits.max_header_bytes, 1024);
	assert_int_equal(conf.limits.max_headers, 1);
	assert_int_equal(conf.limits.max_body, 0);

	parse_ok("limit header-bytes 1m\nlimit target 1M\nlimit headers 256\nlimit body 1024g\n");
	assert_int_equal(conf.limits.max_target, 1048576);
	assert_int_equal(conf.limits.max_header_bytes, 1048576);
	assert_int_equal(conf.limits.max_headers, 256);
	assert_true(conf.limits.max_body == (uint64_t)1 << 40);

	parse_ok("limit buffer-memory 1m\n");
	assert_true(conf.buffer_memory == 1u << 20);
	parse_ok("limit buffer-memory 2g\n");
	assert_true(conf.buffer_memory == (uint64_t)2 << 30);

	parse_ok("limit target 16K\nlimit header-bytes 64k\nlimit body 10m\n");
	assert_int_equal(conf.limits.max_target, 16384);
	assert_int_equal(conf.limits.max_header_bytes, 65536);
	assert_int_equal(conf.limits.max_headers, 100);
	assert_int_equal(conf.limits.max_body, 10485760);

	/* Equal target and header-bytes are fine. */
	parse_ok("limit target 1k\nlimit header-bytes 1k\n");

	parse_ok("timeout header 1s\ntimeout keepalive 2m\n");
	assert_int_equal(conf.header_timeout_ms, 1000);
	assert_int_equal(conf.keepalive_timeout_ms, 120000);
	parse_ok("timeout header 1h\ntimeout keepalive 30\n");
	assert_int_equal(conf.header_timeout_ms, 3600000);
	assert_int_equal(conf.keepalive_timeout_ms, 30000);
}

static void test_example_conf_shape(void **state)
{
	/* examples/detour.conf as shipped, inline. */
	parse_ok("# detour.conf\r\n"
	         "listen 127.0.0.1:8080\r\n"
	         "workers auto\r\n"
	         "rules site.rules\r\n"
	         "access-log -\r\n"
	         "server-header off\r\n"
	         "max-connections 10000\r\n"
	         "limit target 8k\r\n"
	         "limit header-bytes 32k\r\n"
	         "limit headers 100\r\n"
	         "limit body 1m\r\n"
	         "timeout header 10s\r\n"
	         "timeout keepalive 60s"); /* no final newline */
	assert_int_equal(conf.nlisten, 1);
	assert_int_equal(conf.listen[0].port, 8080);
	assert_string_equal(conf.rules[0], "/etc/detour/site.rules");
	assert_string_equal(conf.access_log, "-");
	assert_int_equal(conf.keepalive_timeout_ms, 60000);
	assert_int_equal(conf.header_timeout_ms, 10000);
}

/* ---- errors: exact text ------------------------------------------------- */

#define LISTEN_EXP       "expected ADDR:PORT (127.0.0.1:8080, [::1]:8080, *:8080 or a port), found "
#define LISTEN_USAGE     "listen ADDR:PORT [tls] [proxy-protocol]"
#define SIZE_EXP(lo, hi) "expected a size from " lo " to " hi " bytes (512, 8k, 1m), found "
#define KNOWN                                                                                      \
	"(known: listen, workers, rules, access-log, error-log, server-header, max-connections, "  \
	"limit, timeout, admin, state-dir, state, user, stats, stats-flush, audit-keep, "          \
	"maintenance, health-check, "                                                              \
	"http2, tls-cert, acme, acme-email, acme-ca, acme-hosts, hsts, https-redirect, "           \
	"canonical-host, trailing-slash, trusted-proxies, state-ca, state-cert)"

#define TARGET_ERR(x)                                                                              \
	"expected a target: a path starting with '/', an http:// or https:// URL, or '-' (with "   \
	"status 410), found \"" x "\""
#define MAINT_USAGE                                                                                \
	"maintenance TARGET|- [status=302|303|307|503] [retry-after=SECONDS|HTTP-date] "           \
	"[page=FILE] [allow-ip=CIDR,...] [allow-path=SOURCE,...] [file=PATH] [on|off]"
#define RA_EXP       "expected seconds or a UTC time (2026-11-23T04:00:00Z) for retry-after, found "
#define HEALTH_USAGE "health-check [interval=5s] [timeout=2s] [rise=2] [fall=3]"

static const struct err_case err_cases[] = {
        /* unknown directive, with the known ones listed */
        {"lisen 80\n", "t.conf:1:1: unknown directive \"lisen\" " KNOWN},
        {"\n\n   Listen 80\n", "t.conf:3:4: unknown directive \"Listen\" " KNOWN},
        {"workers 2\nfoo\n", "t.conf:2:1: unknown directive \"foo\" " KNOWN},
        /* argument counts */
        {"listen\n", "t.conf:1:1: 'listen' takes 1 argument: " LISTEN_USAGE},
        {"listen 1 2\n", "t.conf:1:10: expected tls or proxy-protocol, found \"2\""},
        {"listen 1 tls tls\n", "t.conf:1:14: \"tls\" given twice"},
        {"listen 1 tls proxy-protocol x\n", "t.conf:1:1: 'listen' takes 1 argument: " LISTEN_USAGE},
        {"listen 80\nlisten 127.0.0.1:80\n", "t.conf:2:8: 127.0.0.1:80 is already listened on"},
        {"listen 80\nlisten 443 tls\n",
         "t.conf:2: listen 127.0.0.1:443 tls needs certificates: add tls-cert CERT KEY or acme "
         "DIRECTORY-URL"},
        {"listen 80\nlisten 8443 proxy-protocol\n",
         "t.conf:2: listen 127.0.0.1:8443 proxy-protocol needs trusted-proxies: the addresses "
         "of the load balancers that connect to it"},
        {"  workers\n", "t.conf:1:3: 'workers' takes 1 argument: workers auto|N"},
        {"rules a b\n", "t.conf:1:1: 'rules' takes 1 argument: rules FILE"},
        {"access-log\n", "t.conf:1:1: 'access-log' takes 1 argument: access-log FILE|-|off "
                         "[format=combined|json]"},
        {"access-log a.log format=xml\n",
         "t.conf:1:25: unknown access log format \"xml\" (expected combined or json)"},
        {"access-log a.log json\n",
         "t.conf:1:18: expected format=combined or format=json, found \"json\""},
        {"access-log a.log format=\n",
         "t.conf:1:25: unknown access log format \"\" (expected combined or json)"},
        {"error-log a b\n", "t.conf:1:1: 'error-log' takes 1 argument: error-log FILE|stderr"},
        {"server-header\n", "t.conf:1:1: 'server-header' takes 1 argument: server-header on|off"},
        {"max-connections 1 2\n",
         "t.conf:1:1: 'max-connections' takes 1 argument: max-connections N"},
        {"limit target\n", "t.conf:1:1: 'limit' takes 2 arguments: limit "
                           "target|header-bytes|headers|body|buffer-memory SIZE"},
        {"limit target 1k 2k\n", "t.conf:1:1: 'limit' takes 2 arguments: limit "
                                 "target|header-bytes|headers|body|buffer-memory SIZE"},
        {"timeout\n", "t.conf:1:1: 'timeout' takes 2 arguments: timeout header|keepalive DURATION"},
        {"timeout header 1s 2s\n",
         "t.conf:1:1: 'timeout' takes 2 arguments: timeout header|keepalive DURATION"},
        {"limit a b c d e f g h\n", "t.conf:1:1: 'limit' takes 2 arguments: limit "
                                    "target|header-bytes|headers|body|buffer-memory SIZE"},
        {"limit a b c d e f g h i j k\n", "t.conf:1:23: too many arguments, at \"i j k\""},
        /* listen */
        {"listen localhost\n", "t.conf:1:8: " LISTEN_EXP "\"localhost\""},
        {"listen example.com:80\n", "t.conf:1:8: " LISTEN_EXP "\"example.com:80\""},
        {"listen\t\t1.2.3.4:0\n", "t.conf:1:9: " LISTEN_EXP "\"1.2.3.4:0\""},
        {"listen [::1]:65536\n", "t.conf:1:8: " LISTEN_EXP "\"[::1]:65536\""},
        {"listen 80#no-comment-inside-a-word\n",
         "t.conf:1:8: " LISTEN_EXP "\"80#no-comment-inside-a-word\""},
        {"listen 1\nlisten 2\nlisten 3\nlisten 4\nlisten 5\nlisten 6\nlisten 7\nlisten 8\n"
         "listen 9\nlisten 10\nlisten 11\nlisten 12\nlisten 13\nlisten 14\nlisten 15\n"
         "listen 16\nlisten 17\n",
         "t.conf:17:8: too many listen addresses (at most 16), at \"17\""},
        /* workers */
        {"workers 0\n", "t.conf:1:9: expected 'auto' or a number of workers from 1 to 256, found "
                        "\"0\""},
        {"workers 257\n", "t.conf:1:9: expected 'auto' or a number of workers from 1 to 256, "
                          "found \"257\""},
        {"workers 1k\n", "t.conf:1:9: expected 'auto' or a number of workers from 1 to 256, "
                         "found \"1k\""},
        {"workers Auto\n", "t.conf:1:9: expected 'auto' or a number of workers from 1 to 256, "
                           "found \"Auto\""},
        {"workers -2\n", "t.conf:1:9: expected 'auto' or a number of workers from 1 to 256, "
                         "found \"-2\""},
        /* server-header */
        {"server-header yes\n", "t.conf:1:15: expected 'on' or 'off', found \"yes\""},
        {"server-header ON\n", "t.conf:1:15: expected 'on' or 'off', found \"ON\""},
        /* http2 */
        {"http2 yes\n", "t.conf:1:7: expected 'on' or 'off', found \"yes\""},
        {"http2\n", "t.conf:1:1: 'http2' takes 1 argument: http2 on|off"},
        /* max-connections */
        {"max-connections 0\n", "t.conf:1:17: expected a number of connections from 1 to "
                                "1000000, found \"0\""},
        {"max-connections 1000001\n", "t.conf:1:17: expected a number of connections from 1 to "
                                      "1000000, found \"1000001\""},
        {"max-connections many\n", "t.conf:1:17: expected a number of connections from 1 to "
                                   "1000000, found \"many\""},
        {"max-connections 1g\n", "t.conf:1:17: expected a number of connections from 1 to "
                                 "1000000, found \"1g\""},
        /* limit */
        {"limit size 1k\n", "t.conf:1:7: expected a limit name (target, header-bytes, headers, "
                            "body, buffer-memory), found \"size\""},
        {"limit buffer-memory 1023k\n",
         "t.conf:1:21: " SIZE_EXP("1048576", "1099511627776") "\"1023k\""},
        {"limit target 63\n", "t.conf:1:14: " SIZE_EXP("64", "1048576") "\"63\""},
        {"limit target 2m\n", "t.conf:1:14: " SIZE_EXP("64", "1048576") "\"2m\""},
        {"limit target 8kb\n", "t.conf:1:14: " SIZE_EXP("64", "1048576") "\"8kb\""},
        {"limit header-bytes 1023\n", "t.conf:1:20: " SIZE_EXP("1024", "1048576") "\"1023\""},
        {"limit headers 0\n", "t.conf:1:15: " SIZE_EXP("1", "256") "\"0\""},
        {"limit headers 257\n", "t.conf:1:15: " SIZE_EXP("1", "256") "\"257\""},
        {"limit body 1025g\n", "t.conf:1:12: " SIZE_EXP("0", "1099511627776") "\"1025g\""},
        {"limit body -1\n", "t.conf:1:12: " SIZE_EXP("0", "1099511627776") "\"-1\""},
        {"limit body 1.5m\n", "t.conf:1:12: " SIZE_EXP("0", "1099511627776") "\"1.5m\""},
        /* 12 digits times a suffix must not overflow (UBSan checks it) */
        {"limit body 999999999999g\n",
         "t.conf:1:12: " SIZE_EXP("0", "1099511627776") "\"999999999999g\""},
        {"limit body 9999999999999\n",
         "t.conf:1:12: " SIZE_EXP("0", "1099511627776") "\"9999999999999\""},
        {"limit header-bytes 1k\n",
         "t.conf: limit target (8192) is larger than limit header-bytes (1024)"},
        {"limit target 2k\nlimit header-bytes 1k\n",
         "t.conf: limit target (2048) is larger than limit header-bytes (1024)"},
        /* timeout */
        {"timeout read 1s\n", "t.conf:1:9: expected a timeout name (header, keepalive), found "
                              "\"read\""},
        {"timeout header 0s\n", "t.conf:1:16: expected a duration from 1s to 1h (10s, 2m), "
                                "found \"0s\""},
        {"timeout keepalive 2h\n", "t.conf:1:19: expected a duration from 1s to 1h (10s, 2m), "
                                   "found \"2h\""},
        {"timeout keepalive 3601\n", "t.conf:1:19: expected a duration from 1s to 1h (10s, 2m), "
                                     "found \"3601\""},
        {"timeout header soon\n", "t.conf:1:16: expected a duration from 1s to 1h (10s, 2m), "
                                  "found \"soon\""},
        /* admin, state-dir, state, user, stats, stats-flush */
        {"admin\n", "t.conf:1:1: 'admin' takes 1 argument: admin ADDR:PORT [token-file=FILE]"},
        {"admin 1 token-file=a b\n",
         "t.conf:1:1: 'admin' takes 1 argument: admin ADDR:PORT [token-file=FILE]"},
        {"admin example.com:81\n", "t.conf:1:7: expected ADDR:PORT (127.0.0.1:8081, [::1]:8081 "
                                   "or a port), found \"example.com:81\""},
        {"admin 8081 token=x\n", "t.conf:1:12: expected token-file=FILE, found \"token=x\""},
        {"admin 8081 token-file=\n", "t.conf:1:12: expected token-file=FILE, found "
                                     "\"token-file=\""},
        {"state-dir\n", "t.conf:1:1: 'state-dir' takes 1 argument: state-dir DIR"},
        {"state redis://h/0?tls-name=r.example\n",
         "t.conf:1:7: state: tls-name=: only with rediss:// or rediss-sentinel://"},
        {"state redis://h/0 node=a/b\n",
         "t.conf:1:19: node=: letters, digits, '-', '_', '.', ':' only, found \"node=a/b\""},
        {"user a b\n", "t.conf:1:1: 'user' takes 1 argument: user NAME"},
        {"user a/b\n", "t.conf:1:6: expected a user name, found \"a/b\""},
        {"user 0123456789012345678901234567890123456789012345678901234567890123\n",
         "t.conf:1:6: user name too long (at most 63 bytes): "
         "\"0123456789012345678901234567890123456789012345678901234567890123\""},
        {"stats yes\n", "t.conf:1:7: expected 'on' or 'off', found \"yes\""},
        {"stats-flush 0s\n", "t.conf:1:13: expected a duration from 1s to 1h (5s, 1m), found "
                             "\"0s\""},
        {"stats-flush 2h\n", "t.conf:1:13: expected a duration from 1s to 1h (5s, 1m), found "
                             "\"2h\""},
        /* audit-keep */
        {"audit-keep\n",
         "t.conf:1:1: 'audit-keep' takes 1 argument: audit-keep DURATION|off [MAX-ENTRIES|off]"},
        {"audit-keep 90 days\n", "t.conf:1:15: expected a number of audit records from 1 to "
                                 "100000000, or 'off', found \"days\""},
        {"audit-keep forever\n",
         "t.conf:1:12: expected a duration (90d, 12h, 30s) or 'off', found \"forever\""},
        {"audit-keep 0s\n", "t.conf:1:12: expected a duration (90d, 12h, 30s) or 'off', found "
                            "\"0s\""},
        {"audit-keep 1d 0\n", "t.conf:1:15: expected a number of audit records from 1 to "
                              "100000000, or 'off', found \"0\""},
        {"audit-keep 1d 100000001\n", "t.conf:1:15: expected a number of audit records from 1 "
                                      "to 100000000, or 'off', found \"100000001\""},
        {"audit-keep 1d 1 2\n", "t.conf:1:1: 'audit-keep' takes 1 argument: audit-keep "
                                "DURATION|off [MAX-ENTRIES|off]"},
        /* maintenance */
        {"maintenance\n", "t.conf:1:1: 'maintenance' takes 1 argument: " MAINT_USAGE},
        {"maintenance /m a b c d e f g h\n", "t.conf:1:30: too many arguments, at \"h\""},
        {"maintenance status=307\n",
         "t.conf:1:13: expected a target URL or path first, or '-', found \"status=307\""},
        {"maintenance on\n",
         "t.conf:1:13: expected a target URL or path first, or '-', found \"on\""},
        {"maintenance /m\nmaintenance /n\n",
         "t.conf:2:13: maintenance is already set on line 1, at \"/n\""},
        {"maintenance ftp://x/\n",
         "t.conf:1:13: maintenance target \"ftp://x/\": " TARGET_ERR("ftp://x/")},
        {"maintenance - status=307\n",
         "t.conf:1:22: a redirect needs a target: '-' (no target) answers 503, found status "
         "\"307\""},
        {"maintenance /m status=503\n",
         "t.conf:1:23: status 503 answers with a page, not a redirect: write \"maintenance - "
         "status=503\", found target \"/m\""},
        {"maintenance https://s.example/ page=/p.html\n",
         "t.conf:1:37: page= is served at a target on this server (/maintenance.html) or with "
         "'-' (503), not at \"https://s.example/\""},
        {"maintenance /m status=301\n",
         "t.conf:1:23: expected status 302, 303, 307 or 503, found \"301\""},
        {"maintenance /m status=\n", "t.conf:1:16: expected status=, retry-after=, page=, "
                                     "allow-ip=, allow-path=, file=, on or off, "
                                     "found \"status=\""},
        {"maintenance /m retry-after=1.5\n", "t.conf:1:28: " RA_EXP "\"1.5\""},
        {"maintenance /m retry-after=Sun,\n", "t.conf:1:28: " RA_EXP "\"Sun,\""},
        {"maintenance /m retry-after=99999999999\n", "t.conf:1:28: " RA_EXP "\"99999999999\""},
        {"maintenance /m retry-after=2026-02-30T00:00:00Z\n",
         "t.conf:1:28: " RA_EXP "\"2026-02-30T00:00:00Z\""},
        {"maintenance /m retry-after=2026-11-23T04:00:00+01:00\n",
         "t.conf:1:28: " RA_EXP "\"2026-11-23T04:00:00+01:00\""},
        {"maintenance /m allow-ip=10.0.0.0/8,10.0.0.1/8\n",
         "t.conf:1:36: expected an address or a CIDR range (10.0.0.0/8, 2001:db8::/32) with no "
         "bits past the prefix, found \"10.0.0.1/8\""},
        {"maintenance /m allow-ip=::1/129\n",
         "t.conf:1:25: expected an address or a CIDR range (10.0.0.0/8, 2001:db8::/32) with no "
         "bits past the prefix, found \"::1/129\""},
        {"maintenance /m allow-ip=1.2.3.4,,5.6.7.8\n",
         "t.conf:1:33: empty item in the list \"1.2.3.4,,5.6.7.8\""},
        {"maintenance /m allow-ip=\n", "t.conf:1:16: expected status=, retry-after=, page=, "
                                       "allow-ip=, allow-path=, file=, on or off, "
                                       "found \"allow-ip=\""},
        {"maintenance /m on off\n", "t.conf:1:19: 'on' or 'off' given twice, at \"off\""},
        {"maintenance /m soon\n", "t.conf:1:16: expected status=, retry-after=, page=, allow-ip=, "
                                  "allow-path=, file=, on or off, "
                                  "found \"soon\""},
        /* health-check */
        {"health-check\n", "t.conf:1:1: 'health-check' takes 1 argument: " HEALTH_USAGE},
        {"health-check interval=50ms\n",
         "t.conf:1:23: expected an interval from 100ms to 1h (5s, 500ms), found \"50ms\""},
        {"health-check interval=2h\n",
         "t.conf:1:23: expected an interval from 100ms to 1h (5s, 500ms), found \"2h\""},
        {"health-check timeout=61s\n",
         "t.conf:1:22: expected a timeout from 100ms to 60s (2s, 500ms), found \"61s\""},
        {"health-check rise=0\n", "t.conf:1:19: expected a count from 1 to 100, found \"0\""},
        {"health-check fall=2k\n", "t.conf:1:19: expected a count from 1 to 100, found \"2k\""},
        {"health-check every=1s\n",
         "t.conf:1:14: expected interval=, timeout=, rise= or fall=, found \"every=1s\""},
        {"health-check interval=1s timeout=2s\n",
         "t.conf:1:14: health-check timeout (2000 ms) is longer than its interval (1000 ms)"},
        /* bytes that have no place in a config */
        {"listen 80\x01x\n", "t.conf:1:10: control character in \"80\""},
        {"listen a\rb\n", "t.conf:1:9: control character in \"a\""},
        {"workers 1\n\x7f\n", "t.conf:2:1: control character in \"\""},
        {"workers 1\nworkers 2\x0b\n", "t.conf:2:10: control character in \"2\""},
};

static void test_operations(void **state)
{
	parse_ok("admin 127.0.0.1:8081\n");
	assert_string_equal(conf.admin.host, "127.0.0.1");
	assert_int_equal(conf.admin.port, 8081);
	assert_int_equal(conf.admin_line, 1);
	assert_string_equal(conf.admin_token_file, "");

	parse_ok("workers 1\n\nadmin [::1]:9 token-file=admin.token\nstate-dir state\n"
	         "user detour\nstats off\nstats-flush 1m\n");
	assert_string_equal(conf.admin.host, "::1");
	assert_true(conf.admin.ipv6);
	assert_int_equal(conf.admin.port, 9);
	assert_int_equal(conf.admin_line, 3);
	assert_string_equal(conf.admin_token_file, "/etc/detour/admin.token");
	assert_string_equal(conf.state_dir, "/etc/detour/state");
	assert_string_equal(conf.user, "detour");
	assert_false(conf.stats);
	assert_int_equal(conf.stats_flush_ms, 60000);

	/* audit-keep: the given limits replace both defaults. */
	parse_ok("workers 1\naudit-keep 30d\n");
	assert_int_equal(conf.audit_keep_s, 30 * 86400);
	assert_int_equal(conf.audit_keep_max, 0);
	assert_int_equal(conf.audit_keep_line, 2);
	parse_ok("audit-keep 2s 500\n");
	assert_int_equal(conf.audit_keep_s, 2);
	assert_int_equal(conf.audit_keep_max, 500);
	parse_ok("audit-keep off\n");
	assert_int_equal(conf.audit_keep_s, 0);
	assert_int_equal(conf.audit_keep_max, 0);
	parse_ok("audit-keep off 1000\n");
	assert_int_equal(conf.audit_keep_s, 0);
	assert_int_equal(conf.audit_keep_max, 1000);
	parse_ok("audit-keep 1w off\n");
	assert_int_equal(conf.audit_keep_s, 7 * 86400);
	assert_int_equal(conf.audit_keep_max, 0);

	/* Absolute paths stay; a later admin line replaces the first whole. */
	parse_ok("admin *:81 token-file=/run/t\nadmin 82\nstate-dir /var/lib/detour\nstats on\n");
	assert_string_equal(conf.admin.host, "127.0.0.1");
	assert_int_equal(conf.admin.port, 82);
	assert_int_equal(conf.admin_line, 2);
	assert_string_equal(conf.admin_token_file, "");
	assert_string_equal(conf.state_dir, "/var/lib/detour");
	assert_true(conf.stats);
	assert_string_equal(conf.state_url, "");

	/* state URL [node=NAME]: kept as written, checked by lib/fleet.c. */
	parse_ok("\nstate redis-sentinel://10.0.0.1,10.0.0.2:26380/m?timeout=500 node=web-1\n");
	assert_string_equal(conf.state_url,
	                    "redis-sentinel://10.0.0.1,10.0.0.2:26380/m?timeout=500");
	assert_string_equal(conf.state_node, "web-1");
	assert_int_equal(conf.state_line, 2);
	parse_ok("state redis://127.0.0.1:6379/0\n");
	assert_string_equal(conf.state_node, "");
}

static void test_cidr(void **state)
{
	static const struct {
		const char *cidr, *peer;
		bool in;
	} cases[] = {
	        {"10.0.0.0/8", "10.255.1.2", true},
	        {"10.0.0.0/8", "11.0.0.0", false},
	        {"10.0.0.0/8", "::ffff:10.1.2.3", true}, /* IPv4-mapped */
	        {"10.0.0.0/8", "::a01:203", false},      /* IPv4-compatible is not mapped */
	        {"192.0.2.7", "192.0.2.7", true},
	        {"192.0.2.7", "192.0.2.6", false},
	        {"192.0.2.0/25", "192.0.2.127", true},
	        {"192.0.2.0/25", "192.0.2.128", false},
	        {"0.0.0.0/0", "203.0.113.9", true},
	        {"0.0.0.0/0", "2001:db8::1", false},
	        {"2001:db8::/32", "2001:db8:ffff::1", true},
	        {"2001:db8::/32", "2001:db9::1", false},
	        {"2001:db8::/33", "2001:db8:8000::", false},
	        {"2001:db8::/33", "2001:db8:7fff::", true},
	        {"::1", "::1", true},
	        {"::1", "127.0.0.1", false},
	        {"::/0", "::ffff:1.2.3.4", true},
	        {"fe80::8000:0:0:0/65", "fe80::c000:0:0:1", true},
	        {"fe80::8000:0:0:0/65", "fe80::", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		struct sockaddr_storage ss = unit_addr(cases[i].peer);
		assert_int_equal(detour_conf_cidr_parse(cases[i].cidr, strlen(cases[i].cidr), &c),
		                 DETOUR_OK);
		if (cidr_match(&c, (struct sockaddr *)&ss) != cases[i].in)
			fail_msg("%s in %s: expected %d", cases[i].peer, cases[i].cidr,
			         cases[i].in);
	}
	static const char *const bad[] = {"",
	                                  "/8",
	                                  "10.0.0.0/",
	                                  "10.0.0.0/33",
	                                  "10.0.0.1/8",
	                                  "10.0.0/8",
	                                  "1.2.3.4/8a",
	                                  "::1/1280",
	                                  "2001:db8::1/32",
	                                  "host/8",
	                                  "10.0.0.0/-1",
	                                  "1.2.3.4 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cidr c;
		if (detour_conf_cidr_parse(bad[i], strlen(bad[i]), &c) != DETOUR_EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	struct cidr c;
	assert_int_equal(detour_conf_cidr_parse("10.0.0.0/8", 10, &c), DETOUR_OK);
	assert_false(cidr_match(&c, NULL));
}

static void test_errors(void **state)
{
	check_errors(err_cases, sizeof(err_cases) / sizeof(err_cases[0]));
}

static void test_error_nul_and_long(void **state)
{
	char err[512];
	struct detour_diag d = {0};
	static const char with_nul[] = "workers 1\nlisten 8\0\n";

	detour_config_defaults(&conf);
	assert_int_equal(detour_config_parse(&conf, "t.conf", with_nul, sizeof(with_nul) - 1, &d),
	                 DETOUR_EINVAL);
	assert_string_equal(detour_diag_format(&d, err, sizeof(err)),
	                    "t.conf:2: NUL byte in the file");

	/* A path that does not fit in DETOUR_CONF_PATH_MAX once resolved. */
	char *text = malloc(DETOUR_CONF_PATH_MAX + 64);
	assert_non_null(text);
	strcpy(text, "rules ");
	memset(text + 6, 'a', DETOUR_CONF_PATH_MAX - 2); /* "/d/" + this is over the max */
	strcpy(text + 6 + DETOUR_CONF_PATH_MAX - 2, "\n");
	assert_int_equal(parse_named(&conf, "/d/t.conf", text, err, sizeof(err)), DETOUR_EINVAL);
	char expect[512] = "/d/t.conf:1:7: path too long: \"";
	memset(expect + strlen(expect), 'a', 127);
	strcpy(expect + strlen(expect), "\"");
	assert_string_equal(err, expect);
	/* The same path is fine when nothing is prepended. */
	assert_int_equal(parse_named(&conf, "t.conf", text, err, sizeof(err)), DETOUR_OK);
	assert_int_equal(strlen(conf.rules[0]), DETOUR_CONF_PATH_MAX - 2);
	free(text);

	/* 65 rules files: the 65th is refused. */
	text = malloc(65 * 16);
	assert_non_null(text);
	text[0] = '\0';
	for (int i = 0; i < 65; i++)
		sprintf(text + strlen(text), "rules r%d\n", i);
	assert_int_equal(parse_named(&conf, "t.conf", text, err, sizeof(err)), DETOUR_EINVAL);
	assert_string_equal(err, "t.conf:65:7: too many rules files (at most 64), at \"r64\"");
	free(text);

	/* An unknown directive longer than 60 bytes is cut in the message. */
	char lng[128];
	memset(lng, 'x', 80);
	strcpy(lng + 80, " 1\n");
	assert_int_equal(parse_named(&conf, "t.conf", lng, err, sizeof(err)), DETOUR_EINVAL);
	char exp2[512] = "t.conf:1:1: unknown directive \"";
	memset(exp2 + strlen(exp2), 'x', 60);
	strcpy(exp2 + strlen(exp2), "\" " KNOWN);
	assert_string_equal(err, exp2);
}

/* An error leaves the diag's file pointing at the name given. */
static void test_error_stops_at_first(void **state)
{
	char err[512];

	assert_int_equal(parse_named(&conf, "t.conf", "workers 0\nlisten x\n", err, sizeof(err)),
	                 DETOUR_EINVAL);
	assert_string_equal(err, "t.conf:1:9: expected 'auto' or a number of workers from 1 to "
	                         "256, found \"0\"");
}

/* ---- sizes -------------------------------------------------------------- */

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		int64_t v;
	} cases[] = {
	        {"0", 0},
	        {"512", 512},
	        {"8k", 8192},
	        {"32K", 32768},
	        {"1m", 1048576},
	        {"1M", 1048576},
	        {"1g", 1073741824},
	        {"2G", 2147483648},
	        {"000000000001", 1},
	        {"999999999999", 999999999999},
	        {"999999999k", INT64_C(999999999) * 1024},
	        {"", -1},
	        {"k", -1},
	        {"m", -1},
	        {"1x", -1},
	        {"1kk", -1},
	        {"-1", -1},
	        {"+1", -1},
	        {" 1", -1},
	        {"1.5k", -1},
	        {"1t", -1},
	        {"0x10", -1},
	        {"9999999999999", -1},
	        /* too large to represent: refused, never an overflow */
	        {"999999999999g", -1},
	        {"999999999999m", INT64_C(999999999999) * 1048576},
	        {"99999999999g", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guard g;
		size_t n = strlen(cases[i].in);
		const char *p = guard_copy(&g, cases[i].in, n);
		int64_t v = value_size(p, n);
		if (v != cases[i].v) {
			print_error("parse_size(\"%s\") = %lld, expected %lld\n", cases[i].in,
			            (long long)v, (long long)cases[i].v);
			fail();
		}
		guard_free(&g);
	}
}

/* ---- loading a file ----------------------------------------------------- */

static void test_load(void **state)
{
	char dir[] = "/tmp/detour-test-config-XXXXXX";
	char path[256], err[512];
	struct detour_diag d = {0};
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/detour.conf", dir);

	/* Missing file: EIO, defaults in place. */
	memset(&conf, 0x5a, sizeof(conf));
	assert_int_equal(detour_config_load(&conf, path, &d), DETOUR_EIO);
	char expect[512];
	snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
	assert_string_equal(detour_diag_format(&d, err, sizeof(err)), expect);
	assert_int_equal(conf.listen[0].port, 8080);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("listen 127.0.0.1:9999\nrules r.rules\nworkers 3\ntimeout header 5s\n", f);
	fclose(f);
	memset(&conf, 0x5a, sizeof(conf));
	assert_int_equal(detour_config_load(&conf, path, &d), DETOUR_OK);
	assert_string_equal(conf.file, path);
	assert_int_equal(conf.nlisten, 1);
	assert_int_equal(conf.listen[0].port, 9999);
	assert_int_equal(conf.workers, 3);
	assert_int_equal(conf.header_timeout_ms, 5000);
	assert_int_equal(conf.keepalive_timeout_ms, 60000); /* default filled first */
	assert_int_equal(conf.max_connections, 10000);
	char rules[300];
	snprintf(rules, sizeof(rules), "%s/r.rules", dir);
	assert_string_equal(conf.rules[0], rules);

	/* A syntax error in a file names the file as given. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# c\nlisten 127.0.0.1:9999\n\nworkers many\n", f);
	fclose(f);
	assert_int_equal(detour_config_load(&conf, path, &d), DETOUR_EINVAL);
	snprintf(expect, sizeof(expect),
	         "%s:4:9: expected 'auto' or a number of workers from 1 to 256, found \"many\"",
	         path);
	assert_string_equal(detour_diag_format(&d, err, sizeof(err)), expect);

	/* An empty file gives the defaults. */
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(detour_config_load(&conf, path, &d), DETOUR_OK);
	assert_int_equal(conf.listen[0].port, 8080);
	assert_string_equal(conf.rules[0], "examples/site.rules");

	/* A directory cannot be read. */
	assert_int_equal(detour_config_load(&conf, dir, &d), DETOUR_EIO);
	snprintf(expect, sizeof(expect), "%s: cannot read: Is a directory", dir);
	assert_string_equal(detour_diag_format(&d, err, sizeof(err)), expect);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_empty_and_comments),
	        cmocka_unit_test(test_parse_listen),
	        cmocka_unit_test(test_listen_directive),
	        cmocka_unit_test(test_workers),
	        cmocka_unit_test(test_rules_paths),
	        cmocka_unit_test(test_logs_and_flags),
	        cmocka_unit_test(test_limits_and_timeouts),
	        cmocka_unit_test(test_example_conf_shape),
	        cmocka_unit_test(test_operations),
	        cmocka_unit_test(test_cidr),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_error_nul_and_long),
	        cmocka_unit_test(test_error_stops_at_first),
	        cmocka_unit_test(test_parse_size),
	        cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
