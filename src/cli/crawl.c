/* detour crawl: walk a site as a polite crawler, check every URL with the
 * checker's engine (check_fetch.c), and report what a whole site shows:
 * links to redirects, chains, loops, broken links, canonical tags that
 * redirect, mixed content. The command line only; crawl_run.c crawls,
 * crawl_find.c finds, crawl_out.c and crawl_html.c write. See
 * docs/crawl.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "cli_opts.h"
#include "cli_util.h"
#include "crawl_find.h"
#include "crawl_html.h"
#include "crawl_out.h"
#include "crawl_run.h"
#include "detour/common.h"

enum {
	O_JSON = CLI_LONG,
	O_CSV,
	O_RULES,
	O_SCOPE,
	O_MAX_PAGES,
	O_MAX_DEPTH,
	O_RATE,
	O_PER_HOST,
	O_EXTERNAL,
	O_NO_ROBOTS,
	O_NO_SITEMAPS,
	O_AGENT,
	O_AS,
	O_MAX_HOPS,
	O_HSTS,
	O_CACERT,
	O_RESOLVE,
	O_TIMEOUT,
	O_HTTP11,
	O_HTTP2,
	O_HISTORY,
};

static const struct cli_opt optab[] = {
        {"output", 'o', "FILE", "a file name", "write the HTML report to FILE"},
        {"json", O_JSON, "FILE", "a file name", "write the crawl as JSON to FILE ('-': stdout)"},
        {"csv", O_CSV, "FILE", "a file name", "write one CSV row per page to FILE ('-': stdout)"},
        {"suggest-rules", O_RULES, "FILE", "a file name",
         "write detour rules that flatten every chain to FILE"},
        {"history", O_HISTORY, "FILE", "a file name",
         "remember temporary redirects in FILE across crawls"},
        {"scope", O_SCOPE, "site|host|prefix", "site, host or prefix",
         "what to crawl: the seeds' sites (default), hosts, or directories"},
        {"max-pages", O_MAX_PAGES, "N", "a number", "pages fetched at most (default 10000)"},
        {"max-depth", O_MAX_DEPTH, "N", "a number",
         "links followed from a seed at most (default 50)"},
        {"rate", O_RATE, "N", "a number",
         "requests started per second and host (default 10; 0: no limit)"},
        {"per-host", O_PER_HOST, "N", "a number", "requests at once per host (default 4)"},
        {"parallel", 'P', "N", "a number", "requests at once in all (default 16)"},
        {"external", O_EXTERNAL, NULL, NULL, "also check links that leave the scope"},
        {"ignore-robots", O_NO_ROBOTS, NULL, NULL, "do not read robots.txt"},
        {"no-sitemaps", O_NO_SITEMAPS, NULL, NULL, "do not read sitemaps"},
        {"robots-agent", O_AGENT, "TOKEN", "a product token",
         "the robots.txt user-agent token obeyed (default detour)"},
        {"header", 'H', "'N: V'", "a header ('Name: value')", "add a request header (repeatable)"},
        {"as", O_AS, "browser|curl", "browser or curl",
         "follow redirects as Chromium (default) or as curl -L"},
        {"max-hops", O_MAX_HOPS, "N", "a number", "redirects allowed per URL (default 20)"},
        {"hsts", O_HSTS, "FILE", "a file name", "HSTS store to read and update"},
        {"cacert", O_CACERT, "FILE", "a file name", "trust the CA certificates in FILE"},
        {"resolve", O_RESOLVE, "H:P:ADDR", "HOST:PORT:ADDR",
         "connect to ADDR for host H, port P (repeatable)"},
        {"timeout", O_TIMEOUT, "SECS", "a number of seconds", "per request (default 30)"},
        {"http1.1", O_HTTP11, NULL, NULL, "HTTP/1.1 only"},
        {"http2", O_HTTP2, NULL, NULL, "HTTP/2 over TLS when offered (libcurl's default)"},
        {"quiet", 'q', NULL, NULL, "no progress line"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

static const struct cli_cmd cmd = {
        .name = "crawl",
        .usage = "usage: detour crawl [options] URL...\n"
                 "\n"
                 "Crawls the site of each URL (robots.txt obeyed, sitemaps read), checks every\n"
                 "URL as detour check does, and reports links to redirects, redirect chains,\n"
                 "loops, broken links, canonical tags that redirect and mixed content.\n"
                 "\n",
        .epilog = "\n"
                  "Without -o, --json or --csv the findings are printed. Exit status: 0 no\n"
                  "finding of severity error, 1 some, 2 usage or network error. See\n"
                  "docs/crawl.md.\n",
        .opts = optab,
};

static const char default_ua[] =
        "Mozilla/5.0 (compatible; detour-crawl/" DETOUR_VERSION "; +https://detour.invalid/)";

struct outputs {
	const char *html, *json, *csv, *rules, *history;
};

static int number(const char *opt, const char *arg, double lo, double hi, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(arg, &end);
	if (end == arg || *end || errno || *v < lo || *v > hi) {
		fprintf(stderr, "detour crawl: bad %s '%s'\n", opt, arg);
		return 2;
	}
	return 0;
}

static int add_header(struct check_opts *c, const char *s)
{
	if (c->nheaders >= DETOUR_FOLLOW_MAX_USER_HEADERS ||
	    !check_parse_header(s, &c->headers[c->nheaders])) {
		fprintf(stderr, "detour crawl: bad --header '%s' (want 'Name: value')\n", s);
		return 2;
	}
	c->nheaders++;
	return 0;
}

static int take(int k, const char *arg, struct crawl_opts *o, struct outputs *out)
{
	struct check_opts *c = &o->check;
	double v;
	int rc = 0;

	switch (k) {
	case 'o':
		out->html = arg;
		break;
	case O_JSON:
		out->json = arg;
		break;
	case O_CSV:
		out->csv = arg;
		break;
	case O_RULES:
		out->rules = arg;
		break;
	case O_HISTORY:
		out->history = arg;
		break;
	case O_SCOPE:
		if (!strcmp(arg, "site"))
			o->scope = CRAWL_SCOPE_SITE;
		else if (!strcmp(arg, "host"))
			o->scope = CRAWL_SCOPE_HOST;
		else if (!strcmp(arg, "prefix"))
			o->scope = CRAWL_SCOPE_PREFIX;
		else {
			fprintf(stderr, "detour crawl: --scope takes site, host or prefix\n");
			rc = 2;
		}
		break;
	case O_MAX_PAGES:
		if (!(rc = number("--max-pages", arg, 1, 1e9, &v)))
			o->max_pages = (size_t)v;
		break;
	case O_MAX_DEPTH:
		if (!(rc = number("--max-depth", arg, 0, 1e6, &v)))
			o->max_depth = (unsigned)v;
		break;
	case O_RATE:
		rc = number("--rate", arg, 0, 1e6, &o->rate);
		break;
	case O_PER_HOST:
		if (!(rc = number("--per-host", arg, 1, 1024, &v)))
			o->per_host = (int)v;
		break;
	case 'P':
		if (!(rc = number("--parallel", arg, 1, 4096, &v)))
			c->parallel = (int)v;
		break;
	case O_EXTERNAL:
		o->external = true;
		break;
	case O_NO_ROBOTS:
		o->no_robots = true;
		break;
	case O_NO_SITEMAPS:
		o->no_sitemaps = true;
		break;
	case O_AGENT:
		o->agent = arg;
		break;
	case 'H':
		rc = add_header(c, arg);
		break;
	case O_AS:
		if (!strcmp(arg, "curl"))
			c->as = DETOUR_AS_CURL;
		else if (!strcmp(arg, "browser"))
			c->as = DETOUR_AS_BROWSER;
		else {
			fprintf(stderr, "detour crawl: --as takes browser or curl\n");
			rc = 2;
		}
		break;
	case O_MAX_HOPS:
		if (!(rc = number("--max-hops", arg, 1, 1000, &v)))
			c->max_hops = (unsigned)v;
		break;
	case O_HSTS:
		c->hsts_file = arg;
		break;
	case O_CACERT:
		c->cacert = arg;
		break;
	case O_RESOLVE:
		if (!check_resolve_ok(arg)) {
			fprintf(stderr, "detour crawl: bad --resolve '%s' (want HOST:PORT:ADDR)\n",
			        arg);
			rc = 2;
		} else if (c->nresolve >= sizeof(c->resolve) / sizeof(c->resolve[0])) {
			fprintf(stderr, "detour crawl: too many --resolve\n");
			rc = 2;
		} else {
			c->resolve[c->nresolve++] = arg;
		}
		break;
	case O_TIMEOUT:
		rc = number("--timeout", arg, 0.001, 3600, &c->timeout);
		break;
	case O_HTTP11:
		c->http_version = CURL_HTTP_VERSION_1_1;
		break;
	case O_HTTP2:
		c->http_version = CURL_HTTP_VERSION_2TLS;
		break;
	case 'q':
		c->quiet = true;
		break;
	default:
		rc = 2;
	}
	return rc;
}

/* Opens FILE for writing ("-": stdout). */
static FILE *open_out(const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "detour crawl: %s: %s\n", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path, int wrc)
{
	int rc = 0;
	if (f == stdout) {
		rc = fflush(f);
	} else {
		rc = fclose(f);
	}
	if (rc || wrc) {
		fprintf(stderr, "detour crawl: cannot write %s\n", path);
		return 2;
	}
	return 0;
}

static int write_outputs(const struct crawl *C, const struct outputs *out)
{
	FILE *f;
	int rc = 0;
	if (out->html && (f = open_out(out->html)))
		rc |= close_out(f, out->html, crawl_write_html(C, f));
	else if (out->html)
		rc = 2;
	if (out->json && (f = open_out(out->json)))
		rc |= close_out(f, out->json, crawl_write_json(C, f));
	else if (out->json)
		rc = 2;
	if (out->csv && (f = open_out(out->csv)))
		rc |= close_out(f, out->csv, crawl_write_csv(C, f));
	else if (out->csv)
		rc = 2;
	if (out->rules && (f = open_out(out->rules)))
		rc |= close_out(f, out->rules, (crawl_write_rules(C, f), 0));
	else if (out->rules)
		rc = 2;
	bool to_stdout =
	        (out->json && !strcmp(out->json, "-")) || (out->csv && !strcmp(out->csv, "-")) ||
	        (out->html && !strcmp(out->html, "-")) || (out->rules && !strcmp(out->rules, "-"));
	if (!to_stdout)
		crawl_write_text(C, stdout);
	return rc;
}

int cmd_crawl(int argc, char **argv)
{
	static struct crawl_opts o;
	struct outputs out = {0};
	struct cli_parser p;
	int k, rc = 0;

	memset(&o, 0, sizeof(o));
	o.check.parallel = 16;
	o.check.timeout = 30;
	o.check.page_cap = 4u << 20;
	o.max_pages = 10000;
	o.max_depth = 50;
	o.rate = 10;
	o.per_host = 4;
	o.agent = "detour";
	cli_parse_init(&p, &cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 'h') {
			cli_help(&cmd, stdout);
			return 0;
		}
		if (k == CLI_BAD)
			return 2;
		if ((rc = take(k, p.arg, &o, &out)))
			return rc;
	}
	int first = cli_operand(&p);
	if (first >= argc) {
		fprintf(stderr, "detour crawl: no URL to crawl\n\n");
		cli_help(&cmd, stderr);
		return 2;
	}
	if (o.check.cacert && access(o.check.cacert, R_OK)) {
		fprintf(stderr, "detour crawl: --cacert %s: %s\n", o.check.cacert, strerror(errno));
		return 2;
	}
	bool has_ua = false;
	for (size_t i = 0; i < o.check.nheaders; i++)
		has_ua |= o.check.headers[i].name_len == 10 &&
		          !strncasecmp(o.check.headers[i].name, "User-Agent", 10);
	if (!has_ua && o.check.nheaders < DETOUR_FOLLOW_MAX_USER_HEADERS)
		o.check.headers[o.check.nheaders++] =
		        (struct detour_header){"User-Agent", 10, default_ua, strlen(default_ua)};
	if (!o.check.max_hops)
		o.check.max_hops = o.check.as == DETOUR_AS_CURL ? 50 : 20;
	/* The clock of certificate expiry and --history: DETOUR_NOW, else now. */
	struct cli_clock clock;
	if (cli_clock(NULL, &clock)) {
		fprintf(stderr, "detour crawl: %s '%s' is not an RFC 3339 time\n", clock.source,
		        clock.value);
		return 2;
	}
	o.check.now = clock.now;
	o.progress = isatty(2) && !o.check.quiet;

	struct crawl C;
	memset(&C, 0, sizeof(C));
	C.o = &o;
	C.seeds = argv + first;
	C.nseeds = (size_t)(argc - first);
	for (size_t i = 0; i < C.nseeds; i++) {
		char origin[1024];
		if (!crawl_origin(C.seeds[i], origin, sizeof(origin))) {
			fprintf(stderr, "detour crawl: %s is not an absolute http or https URL\n",
			        C.seeds[i]);
			return 2;
		}
	}
	struct crawl_history *hist = NULL;
	if (out.history && !(hist = crawl_history_load(out.history)))
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = crawl_run(&C);
	curl_global_cleanup();
	crawl_find(&C, hist, (int64_t)o.check.now);
	int wrc = write_outputs(&C, &out);
	if (hist) {
		if (crawl_history_save(hist, out.history))
			wrc = 2;
		crawl_history_free(hist);
	}
	if (!rc && !wrc) {
		for (size_t i = 0; i < C.nf; i++)
			if (!strcmp(C.f[i].severity, "error"))
				rc = 1;
	}
	if (wrc)
		rc = wrc;
	C.seeds = NULL;
	crawl_free(&C);
	return rc;
}
