/* detour check: trace redirect chains hop by hop, as a browser (Chromium) or
 * curl follows them. libcurl sends each request with CURLOPT_FOLLOWLOCATION
 * off; lib/follow.c decides the next request. This file: the command line,
 * and the helpers every part shares. check_fetch.c runs the transfers on one
 * libcurl multi handle, check_hop.c turns each response into a hop, its
 * findings and the next step, check_input.c reads --input, check_out.c
 * writes the table or JSON lines, check_against.c builds --against. See
 * docs/check.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "cli.h"

/* ---- small string helpers ------------------------------------------------ */

char *check_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *check_strdup(const char *s)
{
	return s ? check_strndup(s, strlen(s)) : NULL;
}

void *check_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q && n) {
		fprintf(stderr, "detour check: out of memory\n");
		exit(2);
	}
	return q;
}

/* ---- findings ---------------------------------------------------------- */

void check_finding(struct chain *c, enum detour_finding f, int hop, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->nf == c->capf) {
		c->capf = c->capf ? c->capf * 2 : 8;
		c->f = check_realloc(c->f, c->capf * sizeof(*c->f));
	}
	c->f[c->nf].code = f;
	c->f[c->nf].hop = hop;
	c->f[c->nf].msg = check_strdup(msg);
	c->nf++;
}

struct hop *check_new_hop(struct chain *c)
{
	if (c->nh == c->caph) {
		c->caph = c->caph ? c->caph * 2 : 4;
		c->h = check_realloc(c->h, c->caph * sizeof(*c->h));
	}
	struct hop *h = &c->h[c->nh++];
	memset(h, 0, sizeof(*h));
	return h;
}

/* ---- the command line -------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: detour check [options] URL...\n"
	        "       detour check [options] --input FILE\n"
	        "       detour check [options] --against BASEURL RULES\n"
	        "\n"
	        "Requests each URL with redirects not followed by the HTTP library, then\n"
	        "computes every next request as Chromium does (WHATWG Fetch, RFC 9110), or as\n"
	        "curl -L does with --as curl, and shows each hop and the findings.\n"
	        "\n"
	        "  -X, --method M          method of the first request (default GET, POST with "
	        "--data)\n"
	        "  -d, --data DATA         body of the first request\n"
	        "      --data-file FILE    body of the first request, read from FILE\n"
	        "  -H, --header 'N: V'     add a request header (repeatable)\n"
	        "  -e, --referer URL       start from a link or form on the page URL\n"
	        "      --as browser|curl   follow as Chromium (default) or as curl -L\n"
	        "      --max-hops N        redirects allowed (default 20; 50 as curl)\n"
	        "      --hsts FILE         HSTS store to read and update (curl's --hsts format)\n"
	        "      --follow-refresh    also follow Refresh headers and <meta "
	        "http-equiv=refresh>\n"
	        "      --json              one JSON object per URL and line\n"
	        "  -i, --input FILE        URLs, one a line, or CSV: url[,status[,location]]\n"
	        "  -P, --parallel N        URLs checked at once (default 16)\n"
	        "      --expect S[,LOC]    expect status S (and Location LOC) from the first "
	        "response\n"
	        "      --against BASE RULES  check a running server against a rules file\n"
	        "      --cacert FILE       trust the CA certificates in FILE\n"
	        "      --resolve H:P:ADDR  connect to ADDR for host H, port P (repeatable)\n"
	        "      --timeout SECS      per request (default 30)\n"
	        "      --color, --no-color colour the table (default: on a terminal)\n"
	        "  -q, --quiet             no progress line\n"
	        "  -h, --help              this text\n"
	        "\n"
	        "Environment: CURL_CA_BUNDLE, SSL_CERT_FILE (CA bundle, as curl), NO_COLOR.\n"
	        "Exit status: 0 every chain ends in 2xx or as expected, 1 a finding of severity\n"
	        "error, 2 usage or network error. See docs/check.md.\n");
}

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

static bool parse_header(const char *s, struct detour_header *h)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return false;
	for (const char *p = s; p < colon; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7F || strchr("\"(),/:;<=>?@[\\]{}", c))
			return false; /* field-name = token (RFC 9110 §5.1) */
	}
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (size_t i = 0; i < vl; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == 0)
			return false;
	h->name = s;
	h->name_len = (size_t)(colon - s);
	h->value = v;
	h->value_len = vl;
	return true;
}

int cmd_check(int argc, char **argv)
{
	enum {
		O_DATA_FILE = 256,
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
	};
	static const struct option lo[] = {
	        {"method", required_argument, NULL, 'X'},
	        {"data", required_argument, NULL, 'd'},
	        {"data-file", required_argument, NULL, O_DATA_FILE},
	        {"header", required_argument, NULL, 'H'},
	        {"referer", required_argument, NULL, 'e'},
	        {"as", required_argument, NULL, O_AS},
	        {"max-hops", required_argument, NULL, O_MAX_HOPS},
	        {"hsts", required_argument, NULL, O_HSTS},
	        {"follow-refresh", no_argument, NULL, O_REFRESH},
	        {"json", no_argument, NULL, O_JSON},
	        {"input", required_argument, NULL, 'i'},
	        {"parallel", required_argument, NULL, 'P'},
	        {"expect", required_argument, NULL, O_EXPECT},
	        {"against", required_argument, NULL, O_AGAINST},
	        {"cacert", required_argument, NULL, O_CACERT},
	        {"resolve", required_argument, NULL, O_RESOLVE},
	        {"timeout", required_argument, NULL, O_TIMEOUT},
	        {"color", no_argument, NULL, O_COLOR},
	        {"no-color", no_argument, NULL, O_NO_COLOR},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static struct check_opts o;
	memset(&o, 0, sizeof(o));
	o.parallel = 16;
	o.timeout = 30;
	int color = -1;
	const char *input = NULL, *against = NULL, *data_file = NULL;
	char *file_body = NULL;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "X:d:H:e:i:P:qh", lo, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 'X':
			o.method = optarg;
			break;
		case 'd':
			o.body = optarg;
			o.body_len = strlen(optarg);
			o.has_body = true;
			break;
		case O_DATA_FILE:
			data_file = optarg;
			break;
		case 'H':
			if (o.nheaders >= DETOUR_FOLLOW_MAX_USER_HEADERS ||
			    !parse_header(optarg, &o.headers[o.nheaders])) {
				fprintf(stderr,
				        "detour check: bad --header '%s' (want 'Name: value')\n",
				        optarg);
				return 2;
			}
			o.nheaders++;
			break;
		case 'e':
			o.referrer = optarg;
			break;
		case O_AS:
			if (!strcmp(optarg, "curl")) {
				o.as = DETOUR_AS_CURL;
			} else if (!strcmp(optarg, "browser") || !strcmp(optarg, "chromium")) {
				o.as = DETOUR_AS_BROWSER;
			} else {
				fprintf(stderr, "detour check: --as takes browser or curl\n");
				return 2;
			}
			break;
		case O_MAX_HOPS: {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 1000) {
				fprintf(stderr, "detour check: bad --max-hops '%s'\n", optarg);
				return 2;
			}
			o.max_hops = (unsigned)v;
			if (v == 0) {
				fprintf(stderr, "detour check: --max-hops must be at least 1\n");
				return 2;
			}
			break;
		}
		case O_HSTS:
			o.hsts_file = optarg;
			break;
		case O_REFRESH:
			o.follow_refresh = true;
			break;
		case O_JSON:
			o.json = true;
			break;
		case 'i':
			input = optarg;
			break;
		case 'P': {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 4096) {
				fprintf(stderr, "detour check: bad --parallel '%s'\n", optarg);
				return 2;
			}
			o.parallel = (int)v;
			break;
		}
		case O_EXPECT:
			if (!parse_expect(optarg, &o.expect_status, &o.expect_location)) {
				fprintf(stderr,
				        "detour check: bad --expect '%s' (want "
				        "STATUS[,LOCATION])\n",
				        optarg);
				return 2;
			}
			break;
		case O_AGAINST:
			against = optarg;
			break;
		case O_CACERT:
			o.cacert = optarg;
			break;
		case O_RESOLVE:
			if (o.nresolve >= sizeof(o.resolve) / sizeof(o.resolve[0])) {
				fprintf(stderr, "detour check: too many --resolve\n");
				return 2;
			}
			o.resolve[o.nresolve++] = optarg;
			break;
		case O_TIMEOUT:
			o.timeout = strtod(optarg, &end);
			if (*end || o.timeout <= 0 || o.timeout > 3600) {
				fprintf(stderr, "detour check: bad --timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case O_COLOR:
			color = 1;
			break;
		case O_NO_COLOR:
			color = 0;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt)
				fprintf(stderr,
				        "detour check: option -%c needs an argument or is "
				        "unknown\n",
				        optopt);
			else
				fprintf(stderr, "detour check: unknown option '%s'\n",
				        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (data_file) {
		if (o.has_body) {
			fprintf(stderr,
			        "detour check: --data and --data-file exclude each other\n");
			return 2;
		}
		file_body = check_read_file(data_file, &o.body_len);
		if (!file_body) {
			fprintf(stderr, "detour check: %s: %s\n", data_file, strerror(errno));
			return 2;
		}
		o.body = file_body;
		o.has_body = true;
	}
	if (o.as == DETOUR_AS_BROWSER && o.has_body && o.method &&
	    (!strcasecmp(o.method, "GET") || !strcasecmp(o.method, "HEAD"))) {
		fprintf(stderr, "detour check: a browser sends no body with %s\n", o.method);
		free(file_body);
		return 2;
	}
	if (color < 0)
		color = isatty(1) && !getenv("NO_COLOR");
	o.color = color && !o.json;

	struct chain *chains = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	if (against) {
		if (optind + 1 != argc || input) {
			fprintf(stderr,
			        "detour check: --against BASEURL takes one RULES file and no "
			        "URLs\n");
			free(file_body);
			return 2;
		}
		rc = check_against(&o, against, argv[optind], &chains, &n);
	} else {
		for (int i = optind; i < argc; i++)
			check_add_chain(&chains, &n, &cap, argv[i], o.expect_status,
			                o.expect_location);
		if (input)
			rc = check_read_input(input, &o, &chains, &n, &cap);
		if (!rc && n == 0) {
			fprintf(stderr, "detour check: no URL to check\n\n");
			usage(stderr);
			rc = 2;
		}
	}
	if (!rc) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = check_run(&o, chains, n);
		curl_global_cleanup();
	}
	for (size_t i = 0; i < n; i++) {
		check_chain_free(&chains[i]);
		free(chains[i].url);
		free(chains[i].expect_location);
		free(chains[i].label);
	}
	free(chains);
	free(file_body);
	return rc;
}
