/* detour check: trace redirect chains hop by hop, as a browser (Chromium) or
 * curl follows them. libcurl sends each request with CURLOPT_FOLLOWLOCATION
 * off; lib/follow.c decides the next request. This file is the command line
 * only: the options, the chains they ask for, then check_fetch.c runs them
 * and prints each as it ends. Below it: check_input.c reads --input,
 * check_against.c builds --against, check_fetch.c runs the transfers
 * (check_hop.c: each response; check_out.c: the table or JSON lines), and
 * check_util.c holds the types and helpers they all share. See
 * docs/check.md and docs/internals/cli.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/ascii.h"
#include "check_against.h"
#include "check_fetch.h"
#include "check_input.h"
#include "check_util.h"
#include "cli.h"
#include "cli_opts.h"
#include "cli_util.h"

enum {
	O_DATA_FILE = CLI_LONG,
	O_AS,
	O_MAX_HOPS,
	O_HSTS,
	O_REFRESH,
	O_JSON,
	O_EXPECT,
	O_AGAINST,
	O_CACERT,
	O_RESOLVE,
	O_TIMEOUT,
	O_COLOR,
	O_NO_COLOR,
	O_AT,
	O_INCLUDE,
	O_HTTP11,
	O_HTTP2,
	O_HTTP2_PK,
};

static const struct cli_opt optab[] = {
        {"method", 'X', "M", "a method",
         "method of the first request (default GET, POST with --data)"},
        {"data", 'd', "DATA", "a body", "body of the first request"},
        {"data-file", O_DATA_FILE, "FILE", "a file name",
         "body of the first request, read from FILE"},
        {"header", 'H', "'N: V'", "a header ('Name: value')", "add a request header (repeatable)"},
        {"referer", 'e', "URL", "a URL", "start from a link or form on the page URL"},
        {"as", O_AS, "browser|curl", "browser or curl",
         "follow as Chromium (default) or as curl -L"},
        {"max-hops", O_MAX_HOPS, "N", "a number", "redirects allowed (default 20; 50 as curl)"},
        {"hsts", O_HSTS, "FILE", "a file name",
         "HSTS store to read and update (curl's --hsts format)"},
        {"follow-refresh", O_REFRESH, NULL, NULL,
         "also follow Refresh headers and <meta http-equiv=refresh>"},
        {"json", O_JSON, NULL, NULL, "one JSON object per URL and line"},
        {"include", O_INCLUDE, NULL, NULL,
         "show each response's status line and header fields (as curl -i)"},
        {"input", 'i', "FILE", "a file name", "URLs, one a line, or CSV: url[,status[,location]]"},
        {"parallel", 'P', "N", "a number", "URLs checked at once (default 16)"},
        {"expect", O_EXPECT, "S[,LOC]", "a status",
         "expect status S (and Location LOC) from the first response"},
        {"against", O_AGAINST, "BASE RULES", "a base URL",
         "check a running server against a rules file"},
        {"cacert", O_CACERT, "FILE", "a file name", "trust the CA certificates in FILE"},
        {"resolve", O_RESOLVE, "H:P:ADDR", "HOST:PORT:ADDR",
         "connect to ADDR for host H, port P (repeatable)"},
        {"at", O_AT, "TIME", "an RFC 3339 time",
         "judge certificate expiry at TIME (default: DETOUR_NOW, else now)"},
        {"http1.1", O_HTTP11, NULL, NULL, "HTTP/1.1 only"},
        {"http2", O_HTTP2, NULL, NULL,
         "HTTP/2 over TLS when the server offers it (libcurl's default)"},
        {"http2-prior-knowledge", O_HTTP2_PK, NULL, NULL,
         "HTTP/2 without TLS too, with no upgrade (h2c)"},
        {"timeout", O_TIMEOUT, "SECS", "a number of seconds", "per request (default 30)"},
        {"color", O_COLOR, NULL, NULL, "colour the table (default: on a terminal)"},
        {"no-color", O_NO_COLOR, NULL, NULL, NULL},
        {"quiet", 'q', NULL, NULL, "no progress line"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

const struct cli_cmd cli_check_cmd = {
        .name = "check",
        .usage = "usage: detour check [options] URL...\n"
                 "       detour check [options] --input FILE\n"
                 "       detour check [options] --against BASEURL RULES\n"
                 "\n"
                 "Requests each URL with redirects not followed by the HTTP library, then\n"
                 "computes every next request as Chromium does (WHATWG Fetch, RFC 9110), or as\n"
                 "curl -L does with --as curl, and shows each hop and the findings.\n"
                 "\n",
        .epilog = "\n"
                  "Environment: CURL_CA_BUNDLE, SSL_CERT_FILE (CA bundle, as curl), NO_COLOR,\n"
                  "DETOUR_NOW (the clock of --at).\n"
                  "Exit status: 0 every chain ends in 2xx or as expected, 1 a finding of severity\n"
                  "error, 2 usage or network error. See docs/check.md.\n",
        .opts = optab,
};

/* Parses "STATUS[,LOCATION]". */
static bool parse_expect(const char *s, int *status, const char **loc)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || v < 100 || v > 599 || (*end && *end != ','))
		return false;
	*status = (int)v;
	*loc = *end == ',' && end[1] ? end + 1 : NULL;
	return true;
}

/* What the command line asks for besides the options of a run. */
struct args {
	const char *input, *against, *data_file, *at;
	int color;       /* -1: on a terminal */
	char *file_body; /* --data-file's bytes (o->body points into it) */
};

/* Takes one option into o or a. Returns 0, or 2 with the error printed. */
static int take_option(int k, const char *arg, struct check_opts *o, struct args *a)
{
	char *end;
	long v;

	switch (k) {
	case 'X':
		o->method = arg;
		return 0;
	case 'd':
		o->body = arg;
		o->body_len = strlen(arg);
		o->has_body = true;
		return 0;
	case O_DATA_FILE:
		a->data_file = arg;
		return 0;
	case 'H':
		if (o->nheaders >= DETOUR_FOLLOW_MAX_USER_HEADERS ||
		    !check_parse_header(arg, &o->headers[o->nheaders])) {
			fprintf(stderr, "detour check: bad --header '%s' (want 'Name: value')\n",
			        arg);
			return 2;
		}
		o->nheaders++;
		return 0;
	case 'e':
		o->referrer = arg;
		return 0;
	case O_AS:
		if (!strcmp(arg, "curl")) {
			o->as = DETOUR_AS_CURL;
		} else if (!strcmp(arg, "browser") || !strcmp(arg, "chromium")) {
			o->as = DETOUR_AS_BROWSER;
		} else {
			fprintf(stderr, "detour check: --as takes browser or curl\n");
			return 2;
		}
		return 0;
	case O_MAX_HOPS:
		v = strtol(arg, &end, 10);
		if (*end || v < 0 || v > 1000) {
			fprintf(stderr, "detour check: bad --max-hops '%s'\n", arg);
			return 2;
		}
		if (v == 0) {
			fprintf(stderr, "detour check: --max-hops must be at least 1\n");
			return 2;
		}
		o->max_hops = (unsigned)v;
		return 0;
	case O_HSTS:
		o->hsts_file = arg;
		return 0;
	case O_REFRESH:
		o->follow_refresh = true;
		return 0;
	case O_JSON:
		o->json = true;
		return 0;
	case O_INCLUDE:
		o->include = true;
		return 0;
	case 'i':
		a->input = arg;
		return 0;
	case 'P':
		v = strtol(arg, &end, 10);
		if (*end || v < 1 || v > 4096) {
			fprintf(stderr, "detour check: bad --parallel '%s'\n", arg);
			return 2;
		}
		o->parallel = (int)v;
		return 0;
	case O_EXPECT:
		if (!parse_expect(arg, &o->expect_status, &o->expect_location)) {
			fprintf(stderr,
			        "detour check: bad --expect '%s' (want STATUS[,LOCATION])\n", arg);
			return 2;
		}
		return 0;
	case O_AGAINST:
		a->against = arg;
		return 0;
	case O_CACERT:
		o->cacert = arg;
		return 0;
	case O_RESOLVE:
		if (!check_resolve_ok(arg)) {
			fprintf(stderr, "detour check: bad --resolve '%s' (want HOST:PORT:ADDR)\n",
			        arg);
			return 2;
		}
		if (o->nresolve >= sizeof(o->resolve) / sizeof(o->resolve[0])) {
			fprintf(stderr, "detour check: too many --resolve\n");
			return 2;
		}
		o->resolve[o->nresolve++] = arg;
		return 0;
	case O_TIMEOUT:
		o->timeout = strtod(arg, &end);
		if (*end || o->timeout <= 0 || o->timeout > 3600) {
			fprintf(stderr, "detour check: bad --timeout '%s'\n", arg);
			return 2;
		}
		return 0;
	case O_HTTP11:
		o->http_version = CURL_HTTP_VERSION_1_1;
		return 0;
	case O_HTTP2:
		o->http_version = CURL_HTTP_VERSION_2TLS;
		return 0;
	case O_HTTP2_PK:
		o->http_version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
		return 0;
	case O_AT:
		a->at = arg;
		return 0;
	case O_COLOR:
		a->color = 1;
		return 0;
	case O_NO_COLOR:
		a->color = 0;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	}
	return 2;
}

/* The body of the first request, from --data or --data-file, and what a
 * browser would refuse to send. Returns 0, or 2 with the error printed. */
static int take_body(struct check_opts *o, struct args *a)
{
	if (a->data_file) {
		if (o->has_body) {
			fprintf(stderr,
			        "detour check: --data and --data-file exclude each other\n");
			return 2;
		}
		a->file_body = check_read_file(a->data_file, &o->body_len);
		if (!a->file_body) {
			fprintf(stderr, "detour check: %s: %s\n", a->data_file, strerror(errno));
			return 2;
		}
		o->body = a->file_body;
		o->has_body = true;
	}
	if (o->as == DETOUR_AS_BROWSER && o->has_body && o->method &&
	    (ascii_eq_ci(o->method, strlen(o->method), "GET") ||
	     ascii_eq_ci(o->method, strlen(o->method), "HEAD"))) {
		fprintf(stderr, "detour check: a browser sends no body with %s\n", o->method);
		return 2;
	}
	return 0;
}

/* The options into o and a. Returns -1 to go on, with the operands from
 * argv[*first], or an exit status. */
static int parse_options(int argc, char **argv, struct check_opts *o, struct args *a, int *first)
{
	struct cli_parser p;
	int k, rc;

	cli_parse_init(&p, &cli_check_cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 'h') {
			cli_help(&cli_check_cmd, stdout);
			return 0;
		}
		if (k == CLI_BAD)
			return 2;
		if ((rc = take_option(k, p.arg, o, a)))
			return rc;
	}
	*first = cli_operand(&p);
	/* libcurl would fail every https request with "error setting
	 * certificate file": say it once, before any request. */
	if (o->cacert && access(o->cacert, R_OK)) {
		fprintf(stderr, "detour check: --cacert %s: %s\n", o->cacert, strerror(errno));
		return 2;
	}
	if ((rc = take_body(o, a)))
		return rc;
	/* The clock certificate expiry is judged by: --at, else DETOUR_NOW
	 * (as the server reads it), else now. */
	struct cli_clock clock;
	if (cli_clock(a->at, &clock)) {
		fprintf(stderr, "detour check: %s '%s' is not an RFC 3339 time\n", clock.source,
		        clock.value);
		return 2;
	}
	o->now = clock.now;
	if (a->color < 0)
		a->color = isatty(1) && !getenv("NO_COLOR");
	o->color = a->color && !o->json;
	return -1;
}

/* The chains to check: one per rule with --against, else one per URL
 * operand and --input line. Returns 0, or 2 with the error printed. */
static int make_chains(struct check_opts *o, const struct args *a, int nurls, char **urls,
                       struct chain **chains, size_t *n)
{
	size_t cap = 0;
	int rc = 0;

	if (a->against) {
		if (nurls != 1 || a->input) {
			fprintf(stderr, "detour check: --against BASEURL takes one RULES file and "
			                "no URLs\n");
			return 2;
		}
		return check_against(o, a->against, urls[0], chains, n);
	}
	for (int i = 0; i < nurls; i++)
		check_add_chain(chains, n, &cap, urls[i], o->expect_status, o->expect_location);
	if (a->input)
		rc = check_read_input(a->input, o, chains, n, &cap);
	if (!rc && *n == 0) {
		fprintf(stderr, "detour check: no URL to check\n\n");
		cli_help(&cli_check_cmd, stderr);
		rc = 2;
	}
	return rc;
}

/* --against: one line after the chains, what they add up to. */
static void against_summary(const struct check_opts *o, const char *base)
{
	size_t bad = o->nbad - o->nnet;

	printf("against %s: %zu rule%s checked, %zu as the rules predict, %zu mismatched", base,
	       o->nprinted, o->nprinted == 1 ? "" : "s", o->nprinted - o->nbad, bad);
	if (o->nnet)
		printf(", %zu network error%s", o->nnet, o->nnet == 1 ? "" : "s");
	if (o->skipped)
		printf("; %zu skipped", o->skipped);
	printf("\n");
}

int cmd_check(int argc, char **argv)
{
	static struct check_opts o;
	struct args a = {.color = -1};
	struct chain *chains = NULL;
	size_t n = 0;
	int first, rc;

	memset(&o, 0, sizeof(o));
	o.parallel = 16;
	o.timeout = 30;
	rc = parse_options(argc, argv, &o, &a, &first);
	if (rc < 0)
		rc = make_chains(&o, &a, argc - first, argv + first, &chains, &n);
	if (rc == 0) {
		/* Runs the chains and prints each as it ends. */
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = check_run(&o, chains, n);
		curl_global_cleanup();
		if (a.against && !o.json)
			against_summary(&o, a.against);
	}
	check_chains_free(chains, n);
	free(a.file_body);
	return rc;
}
