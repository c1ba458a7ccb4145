/* detour explain: which rule answers a request, with what captures, and the
 * exact bytes the server would send; or why nothing matches. Uses the same
 * table and respond code as the server, so the two cannot disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/civil.h"
#include "cli.h"
#include "cli_opts.h"
#include "cli_util.h"
#include "detour/canon.h"
#include "detour/config.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/rules_load.h"
#include "detour/table.h"
#include "detour/table_explain.h"
#include "detour/table_match.h"
#include "detour/url.h"

static const struct cli_opt optab[] = {
        {"config", 'c', "FILE", "a file name", "take the rules files from this configuration"},
        {NULL, 0, "RULES...", NULL, "rules files, in order (instead of a configuration)"},
        {"header", 'H', "'N: V'", "a header ('Name: value')",
         "a request header (conditions: if-header, if-cookie,\n"
         "if-lang); may be repeated"},
        {"ip", 'i' + CLI_LONG, "ADDR", "an address", "the client's address (if-ip=, sticky=ip)"},
        {"at", 'a' + CLI_LONG, "TIME", "a time (RFC 3339)",
         "the clock, RFC 3339 (time windows); default DETOUR_NOW,\n"
         "else now"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

const struct cli_cmd cli_explain_cmd = {
        .name = "explain",
        .usage = "usage: detour explain [-c FILE | RULES...] [-H 'Name: value']... [--ip ADDR]\n"
                 "                      [--at TIME] 'METHOD URL'\n"
                 "\n"
                 "Shows the rule that answers the request (file:line, id), its captures and\n"
                 "the exact response, or why no rule matches. URL is a path (/old?x=1) or an\n"
                 "absolute URL (http://example.com/old); METHOD defaults to GET.\n"
                 "\n",
        .opts = optab,
};

/* What the command line asks for besides the request's headers. */
struct args {
	const char *conf_path; /* -c, or NULL */
	const char *reqarg;    /* 'METHOD URL' */
	const char *at;        /* --at, or NULL */
	int nfiles;            /* rules files given (into conf.rules) */
	struct sockaddr_storage peer;
	bool have_peer;
};

/* -H 'Name: value' into rq. Returns 0, or 2 with the error printed. */
static int add_header(struct detour_request *rq, const char *h)
{
	const char *colon = strchr(h, ':');

	if (colon == NULL || colon == h || rq->num_headers == DETOUR_HTTP1_MAX_HEADERS_HARD) {
		fprintf(stderr, "detour explain: -H takes 'Name: value', found '%s'\n", h);
		return 2;
	}
	struct detour_header *hd = &rq->headers[rq->num_headers++];
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	hd->name = h;
	hd->name_len = (size_t)(colon - h);
	hd->value = v;
	hd->value_len = strlen(v);
	while (hd->value_len && (v[hd->value_len - 1] == ' ' || v[hd->value_len - 1] == '\t'))
		hd->value_len--;
	return 0;
}

/* --ip ADDR. Returns 0, or 2 with the error printed. */
static int set_peer(struct args *a, const char *addr)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->peer;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->peer;

	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
	} else {
		fprintf(stderr, "detour explain: --ip takes an IPv4 or IPv6 address\n");
		return 2;
	}
	a->have_peer = true;
	return 0;
}

/* The options, then the operands: rules files (into conf->rules) and the
 * request, last. Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct args *a, struct detour_config *conf,
                         struct detour_request *rq)
{
	struct cli_parser p;
	int k, rc = 0;

	cli_parse_init(&p, &cli_explain_cmd, argc, argv);
	while (rc == 0 && (k = cli_next(&p)) != CLI_END) {
		switch (k) {
		case 'c':
			a->conf_path = p.arg;
			break;
		case 'H':
			rc = add_header(rq, p.arg);
			break;
		case 'i' + CLI_LONG:
			rc = set_peer(a, p.arg);
			break;
		case 'a' + CLI_LONG:
			a->at = p.arg;
			break;
		case 'h':
			cli_help(&cli_explain_cmd, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (rc)
		return rc;
	for (int i = cli_operand(&p); i < argc - 1; i++) {
		if (a->nfiles == 0)
			conf->nrules = 0;
		if (a->nfiles == DETOUR_CONF_MAX_RULES) {
			fprintf(stderr, "detour explain: too many rules files\n");
			return 2;
		}
		snprintf(conf->rules[conf->nrules++], DETOUR_CONF_PATH_MAX, "%s", argv[i]);
		a->nfiles++;
	}
	if (cli_operand(&p) == argc) {
		cli_help(&cli_explain_cmd, stderr);
		return 2;
	}
	a->reqarg = argv[argc - 1];
	if (a->conf_path && a->nfiles) {
		fprintf(stderr, "detour explain: give either -c FILE or rules files, not both\n");
		return 2;
	}
	return -1;
}

/* Prints line `line` of file `path` (the rule as written), trimmed. */
static void print_source_line(const char *path, unsigned line)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	unsigned n = 0;

	if (f == NULL)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		if (++n == line) {
			buf[strcspn(buf, "\r\n")] = '\0';
			printf("rule      %s\n", buf);
			break;
		}
	}
	fclose(f);
}

static void print_fact(void *arg, const char *line)
{
	printf("%s%s\n", (const char *)arg, line);
}

static void print_rule_ref(const struct detour_table *t, const struct detour_rule *r)
{
	const struct detour_ruleset *rs = detour_table_rules(t);
	char id[512];

	printf("%s:%u (id %s)", detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r)),
	       detour_ruleset_line(rs, r), detour_rule_id(rs, r, id, sizeof(id)));
}

/* Looks for rules that would match with another host, scheme or a toggled
 * trailing slash, and says so. */
static void explain_miss(const struct detour_table *t, const struct detour_match_req *q)
{
	const struct detour_ruleset *rs = detour_table_rules(t);
	size_t count = detour_ruleset_count(rs), tried = 0;
	struct detour_match m;
	char alt[DETOUR_CONF_PATH_MAX + 2];
	bool any = false;

	printf("result    no rule matches; the server answers 404 Not Found\n");
	for (size_t i = 0; i < count && tried < 256; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		struct detour_match_req q2 = *q;
		char host[300];

		size_t rhl;
		const char *rh = detour_ruleset_host(rs, r, &rhl);

		if (rhl == 0 && r->scheme == DETOUR_SCHEME_ANY)
			continue;
		snprintf(host, sizeof(host), "%s%s",
		         (r->flags & DETOUR_RULE_HOST_WILDCARD) ? "x" : "", rh);
		q2.host = rhl ? host : q->host;
		q2.host_len = rhl ? strlen(host) : q->host_len;
		q2.https = r->scheme == DETOUR_SCHEME_HTTPS  ? true
		           : r->scheme == DETOUR_SCHEME_HTTP ? false
		                                             : q->https;
		tried++;
		if (detour_table_match(t, &q2, &m) && m.rule == r) {
			printf("near      ");
			print_rule_ref(t, r);
			printf(" matches this path for %s%s%s, not for this request's %s%.*s\n",
			       r->scheme == DETOUR_SCHEME_HTTPS  ? "https://"
			       : r->scheme == DETOUR_SCHEME_HTTP ? "http://"
			                                         : "host ",
			       (r->flags & DETOUR_RULE_HOST_WILDCARD) ? "*" : "",
			       rhl ? rh : "any host", q->https ? "https://" : "http://",
			       q->host ? (int)q->host_len : (int)sizeof("(no host)") - 1,
			       q->host ? q->host : "(no host)");
			any = true;
		}
	}
	if (q->path_len > 1 && q->path_len < sizeof(alt) - 1) {
		struct detour_match_req q2 = *q;
		memcpy(alt, q->path, q->path_len);
		if (q->path[q->path_len - 1] == '/') {
			q2.path_len = q->path_len - 1;
		} else {
			alt[q->path_len] = '/';
			q2.path_len = q->path_len + 1;
		}
		q2.path = alt;
		if (detour_table_match(t, &q2, &m)) {
			printf("near      ");
			print_rule_ref(t, m.rule);
			printf(" matches %.*s (trailing slash differs)\n", (int)q2.path_len, alt);
			any = true;
		}
	}
	if (!any)
		printf("why       no rule's source covers this path (%zu rules loaded)\n", count);
}

/* The request line of the command: "METHOD URL" or "URL". */
struct target {
	char method[32];
	char *url; /* owned copy of URL */
	struct detour_url u;
	char *path; /* owned: u's path normalised (as the server does) */
	size_t path_len, path_cap;
	bool https;
};

static void target_free(struct target *tg)
{
	free(tg->path);
	free(tg->url);
}

/* -c FILE, else ./detour.conf when no rules files are given. Returns 0, or
 * 1 with the error printed. */
static int load_config(const struct args *a, struct detour_config *conf)
{
	const char *path = a->conf_path;
	struct detour_diag d = {0};
	char err[1024];

	if (!path && !a->nfiles && access("detour.conf", F_OK) == 0)
		path = "detour.conf";
	if (path && detour_config_load(conf, path, &d) != DETOUR_OK) {
		fprintf(stderr, "detour: %s\n", detour_diag_format(&d, err, sizeof(err)));
		return 1;
	}
	return 0;
}

/* "METHOD URL" or just "URL" into tg: a path or an http(s) URL. Returns 0,
 * 1 when out of memory, or 2 with the error printed. */
static int parse_target(const char *reqarg, struct target *tg)
{
	const char *sp = strchr(reqarg, ' ');
	struct detour_url *u = &tg->u;

	snprintf(tg->method, sizeof(tg->method), "GET");
	if (sp) {
		size_t ml = (size_t)(sp - reqarg);
		if (ml == 0 || ml >= sizeof(tg->method)) {
			fprintf(stderr, "detour explain: bad method in '%s'\n", reqarg);
			return 2;
		}
		memcpy(tg->method, reqarg, ml);
		tg->method[ml] = '\0';
		while (*sp == ' ')
			sp++;
		reqarg = sp;
	}
	if ((tg->url = strdup(reqarg)) == NULL)
		return 1;
	if (detour_url_parse(tg->url, strlen(tg->url), u) != DETOUR_OK ||
	    (u->scheme.p == NULL && (u->path.len == 0 || u->path.p[0] != '/'))) {
		fprintf(stderr,
		        "detour explain: '%s' is not a path (/x?y) or an absolute http(s) URL\n",
		        tg->url);
		return 2;
	}
	tg->https = false;
	if (u->scheme.p && !detour_url_scheme_is_http(u->scheme.p, u->scheme.len, &tg->https)) {
		fprintf(stderr, "detour explain: only http and https URLs are served\n");
		return 2;
	}
	return 0;
}

/* The rules files of conf into *t (detour_rules_load). Returns 0, or 1 with
 * the error printed. */
static int load_rules(const struct detour_config *conf, struct detour_table **t)
{
	const char *files[DETOUR_CONF_MAX_RULES];
	struct detour_diag d = {0};
	char err[1024];

	for (unsigned i = 0; i < conf->nrules; i++)
		files[i] = conf->rules[i];
	if (detour_rules_load(files, conf->nrules, t, &d) != DETOUR_OK) {
		fprintf(stderr, "detour: %s\n", detour_diag_format(&d, err, sizeof(err)));
		return 1;
	}
	return 0;
}

/* tg's path normalised as the server does (an empty path is "/"). Returns 0,
 * or 2 with the error printed. */
static int normalise_path(struct target *tg)
{
	const struct detour_slice *p = &tg->u.path;
	size_t cap = 3 * p->len + 2;
	ssize_t n = -1;

	if ((tg->path = malloc(cap)) != NULL)
		n = p->len ? detour_url_normalize_path(p->p, p->len, tg->path, cap)
		           : (tg->path[0] = '/', 1);
	if (n < 0) {
		fprintf(stderr, "detour explain: the path '%.*s' is not valid (bad %% escape?)\n",
		        (int)p->len, p->p);
		return 2;
	}
	tg->path_len = (size_t)n;
	tg->path_cap = cap;
	return 0;
}

/* rq's method and its id (the conditions and the response read them). */
static void set_method(struct detour_request *rq, const char *method)
{
	static const struct {
		const char *n;
		enum detour_method id;
	} mids[] = {{"GET", DETOUR_M_GET},         {"HEAD", DETOUR_M_HEAD},
	            {"POST", DETOUR_M_POST},       {"PUT", DETOUR_M_PUT},
	            {"DELETE", DETOUR_M_DELETE},   {"PATCH", DETOUR_M_PATCH},
	            {"OPTIONS", DETOUR_M_OPTIONS}, {"TRACE", DETOUR_M_TRACE}};

	rq->method = method;
	rq->method_len = strlen(method);
	rq->method_id = DETOUR_M_OTHER;
	for (size_t k = 0; k < sizeof(mids) / sizeof(mids[0]); k++)
		if (!strcmp(method, mids[k].n))
			rq->method_id = mids[k].id;
}

/* The head of m's weighted group (the group answers at its place), or
 * m's rule. */
static const struct detour_rule *group_head(const struct detour_ruleset *rs,
                                            const struct detour_match *m)
{
	for (size_t i = 0; m->ext && m->ext->weight && i < m->index; i++) {
		const struct detour_rule *er = detour_ruleset_get(rs, i);
		const struct detour_rule_ext *ex = detour_ruleset_ext(rs, er);
		if (ex && ex->weight && er->kind == m->rule->kind &&
		    er->path_len == m->rule->path_len &&
		    detour_ruleset_host_id(rs, er) == detour_ruleset_host_id(rs, m->rule) &&
		    er->scheme == m->rule->scheme &&
		    !memcmp(detour_rule_path(rs, er), detour_rule_path(rs, m->rule), er->path_len))
			return er;
	}
	return m->rule;
}

/* Earlier rules whose source matches but that do not apply (a condition, a
 * window, the guard): says why. */
static void print_skipped(const struct detour_table *t, const struct detour_match_req *q,
                          const struct detour_match *m, const struct detour_rule *head)
{
	const struct detour_ruleset *rs = detour_table_rules(t);

	for (size_t i = 0; i < detour_ruleset_count(rs); i++) {
		const struct detour_rule *er = detour_ruleset_get(rs, i);
		if (detour_rule_index(rs, er) >= m->index && !(er->flags & DETOUR_RULE_EXT))
			break;
		if (detour_rule_index(rs, er) == m->index || er == head ||
		    !detour_table_source_matches(t, q, er))
			continue;
		if (detour_rule_index(rs, er) > m->index)
			break;
		printf("skipped   ");
		print_rule_ref(t, er);
		printf(": its source matches, but\n");
		detour_table_explain(t, q, er, print_fact, "          ");
	}
}

static void print_captures(const struct detour_match *m)
{
	if (m->splat.p)
		printf("capture   splat = \"%.*s\"\n", (int)m->splat.len, m->splat.p);
	for (unsigned i = 0; i < m->ncaps; i++) {
		if (m->rule->kind == DETOUR_SRC_REGEX) /* $1 and its name, if any */
			printf("capture   $%u%s%.*s = \"%.*s\"\n", i + 1,
			       m->names[i].len ? " :" : "", (int)m->names[i].len, m->names[i].p,
			       (int)m->caps[i].len, m->caps[i].p);
		else
			printf("capture   %.*s = \"%.*s\"\n", (int)m->names[i].len, m->names[i].p,
			       (int)m->caps[i].len, m->caps[i].p);
	}
}

/* The lines of a match (skipped rules, the rule, why, captures, Location)
 * and its response in out (DETOUR_RESPONSE_MAX bytes). Returns the
 * response's length. */
static ssize_t explain_match(const struct detour_table *t, const struct detour_match_req *q,
                             const struct detour_match *m, const struct detour_respond_ctx *ctx,
                             char *out)
{
	const struct detour_ruleset *rs = detour_table_rules(t);
	const struct detour_rule *head = group_head(rs, m);

	print_skipped(t, q, m, head);
	printf("match     ");
	print_rule_ref(t, m->rule);
	printf("\n");
	print_source_line(detour_ruleset_file(rs, detour_ruleset_rule_file(rs, m->rule)),
	                  detour_ruleset_line(rs, m->rule));
	if (m->ext) {
		detour_table_explain(t, q, head, print_fact, "why       ");
		if (m->ext->weight)
			printf("variant   %u (line %u)%s\n", m->variant,
			       detour_ruleset_line(rs, m->rule),
			       m->cookie ? ", with Set-Cookie" : "");
	}
	print_captures(m);
	ssize_t ll = detour_respond_location(m, q, out, DETOUR_RESPONSE_MAX);
	if (ll > 0)
		printf("location  %.*s\n", (int)ll, out);
	ssize_t n = detour_respond(m, q, ctx, out, DETOUR_RESPONSE_MAX);
	if (n < 0) {
		printf("result    the Location would exceed %d bytes: the server answers "
		       "500\n",
		       DETOUR_LOCATION_MAX);
		n = detour_respond_status(500, ctx, out, DETOUR_RESPONSE_MAX);
	}
	return n;
}

/* The canonical-URL steps (docs/https.md) for q, folded into one hop. The
 * hop's own storage: the rebased rule and its target. */
struct hop {
	struct detour_canon_url u;
	struct detour_rule rule;
	char target[DETOUR_CANON_TARGET_MAX];
};

/* Prints each step that canon applies to q; changes q to the canonical URL
 * (the path in tg's buffer) and returns the changes, 0 when the request is
 * answered as it came. */
static unsigned explain_canon(const struct detour_canon *k, const struct detour_config *conf,
                              const struct detour_table *t, struct target *tg,
                              struct detour_match_req *q, struct hop *h)
{
	struct detour_canon_in in = {
	        .https = q->https,
	        .host = q->host,
	        .host_len = q->host_len,
	        .path = tg->path,
	        .path_len = tg->path_len,
	        .path_cap = tg->path_cap,
	};
	struct detour_match m;
	unsigned ch = detour_canon_apply(k, &in, &h->u);
	const struct detour_canon_url *u = &h->u;

	if (ch == 0) {
		if (q->path_len >= sizeof(DETOUR_CANON_ACME_PREFIX) - 1 &&
		    !memcmp(q->path, DETOUR_CANON_ACME_PREFIX,
		            sizeof(DETOUR_CANON_ACME_PREFIX) - 1))
			printf("canonical an ACME challenge path: never redirected "
			       "(https-redirect, "
			       "canonical-host and trailing-slash skip it)\n");
		return 0;
	}
	if ((ch & DETOUR_CANON_SCHEME) && detour_table_match(t, q, &m) &&
	    m.rule->scheme == DETOUR_SCHEME_HTTP) {
		printf("scheme    stays http: ");
		print_rule_ref(t, m.rule);
		printf(" is led by http://, it answers plain requests as they come\n");
		return 0;
	}
	if (ch & DETOUR_CANON_SCHEME)
		printf("scheme    http -> https (https-redirect %d, %s:%u)\n",
		       detour_canon_https_status(k), conf->file, conf->https_redirect_line);
	if (ch & DETOUR_CANON_HOST) {
		unsigned line = 0;
		for (unsigned i = 0; i < conf->ncanon; i++)
			if (!strcmp(conf->canon[i].canonical, u->host))
				line = conf->canon[i].line;
		printf("host      %s -> %s (canonical-host, %s:%u)\n", u->hostbuf, u->host,
		       conf->file, line);
	}
	if (ch & DETOUR_CANON_SLASH)
		printf("slash     %.*s -> %.*s (trailing-slash %s)\n", (int)q->path_len, q->path,
		       (int)u->path_len, u->path,
		       detour_canon_slash(k) == DETOUR_SLASH_ADD ? "add" : "remove");
	q->https = u->https;
	q->host = u->host;
	q->host_len = u->host_len;
	q->path = u->path;
	q->path_len = u->path_len;
	{
		char origin[512];
		ssize_t on = detour_canon_origin(u, origin, sizeof(origin));
		printf("canonical %.*s%.*s%s%.*s%s\n", (int)(on > 0 ? on : 0), origin,
		       (int)u->path_len, u->path, q->query ? "?" : "", (int)q->query_len,
		       q->query ? q->query : "",
		       on > 0 ? "" : " (only the path: the client's scheme and host stay)");
	}
	return ch;
}

/* Matches tg against t at the clock's time and prints the explanation, then
 * the exact response. Returns 0, or 1 when out of memory. */
static int explain(const struct detour_table *t, struct target *tg, struct detour_request *rq,
                   const struct args *a, const struct cli_clock *clock,
                   const struct detour_config *conf)
{
	const struct detour_url *u = &tg->u;
	/* The Host header carries the port as sent. */
	size_t hostlen = u->host.len + (u->port.p ? u->port.len + 1 : 0);
	struct detour_match_req q = {
	        .host = u->host.p,
	        .host_len = u->host.p ? hostlen : 0,
	        .https = tg->https,
	        .path = tg->path,
	        .path_len = tg->path_len,
	        .query = u->query.p,
	        .query_len = u->query.len,
	        .req = rq,
	        .peer = a->have_peer ? (const struct sockaddr *)&a->peer : NULL,
	        .now = clock->now,
	};
	char date[DETOUR_DATE_LEN + 1];
	struct detour_match m;
	ssize_t n;

	set_method(rq, tg->method);
	civil_http_date(clock->now, date);
	printf("request   %s %s\n", tg->method, tg->url);
	if (clock->source)
		printf("clock     %s (%s)\n", date, clock->source);
	if (tg->path_len != u->path.len || memcmp(tg->path, u->path.p, tg->path_len))
		printf("path      %.*s (normalised)\n", (int)tg->path_len, tg->path);

	struct detour_respond_ctx ctx = {
	        .date = date,
	        .now = clock->now,
	        .head = !strcmp(tg->method, "HEAD"),
	        .close = false,
	        .server_header = conf->server_header,
	};
	struct detour_canon *k = NULL;
	struct hop *h = malloc(sizeof(*h));
	char *out = malloc(DETOUR_RESPONSE_MAX);
	unsigned ch = 0;
	size_t hsts_len = 0;
	const char *hsts;

	if (out == NULL || h == NULL || detour_canon_new(conf, &k) != DETOUR_OK) {
		free(out);
		free(h);
		return 1;
	}
	bool https = q.https; /* as the request came */
	if (k)
		ch = explain_canon(k, conf, t, tg, &q, h);
	hsts = detour_canon_hsts(k, &hsts_len);
	if (hsts && https) {
		/* RFC 6797 §7.2: over https only */
		ctx.extra_headers = hsts;
		ctx.extra_len = hsts_len;
		printf("hsts      %.*s (https requests only)\n", (int)hsts_len - 2, hsts);
	} else if (hsts) {
		printf("hsts      not sent: a plain http request (RFC 6797 §7.2)\n");
	}
	bool found = detour_table_match(t, &q, &m);
	if (ch) {
		if (!found)
			m.rule = NULL;
		detour_canon_answer(&h->u, &m, &h->rule, h->target, sizeof(h->target));
		if (found)
			printf("hop       one redirect: the rule answers the canonical URL, with "
			       "its "
			       "status %d\n",
			       m.rule->status);
		else
			printf("hop       one redirect: no rule answers the canonical URL; %d "
			       "(%s)\n",
			       m.rule->status,
			       detour_canon_https_status(k) ? "the https-redirect status"
			                                    : "308: permanent, method kept");
	}
	if (found) {
		n = explain_match(t, &q, &m, &ctx, out);
	} else if (ch) {
		ssize_t ll = detour_respond_location(&m, &q, out, DETOUR_RESPONSE_MAX);
		if (ll > 0)
			printf("location  %.*s\n", (int)ll, out);
		n = detour_respond(&m, &q, &ctx, out, DETOUR_RESPONSE_MAX);
	} else {
		explain_miss(t, &q);
		n = detour_respond_status(404, &ctx, out, DETOUR_RESPONSE_MAX);
	}
	if (n > 0) {
		printf("\n");
		fwrite(out, 1, (size_t)n, stdout);
		if (out[n - 1] != '\n')
			printf("\n");
	}
	free(out);
	free(h);
	detour_canon_free(k);
	return 0;
}

/* options -> configuration -> the request -> rules -> clock -> explain */
int cmd_explain(int argc, char **argv)
{
	static struct detour_config conf;
	/* The request the conditions read: method, -H headers, --ip. */
	static struct detour_request rq;
	struct args a = {0};
	struct target tg = {0};
	struct detour_table *t = NULL;
	struct cli_clock clock;
	int rc;

	detour_config_defaults(&conf);
	if ((rc = parse_options(argc, argv, &a, &conf, &rq)) >= 0)
		return rc;
	rc = load_config(&a, &conf);
	if (rc == 0)
		rc = parse_target(a.reqarg, &tg);
	if (rc == 0)
		rc = load_rules(&conf, &t);
	if (rc == 0)
		rc = normalise_path(&tg);
	/* The clock: --at, else DETOUR_NOW (as the server reads it), else now. */
	if (rc == 0 && cli_clock(a.at, &clock)) {
		fprintf(stderr, "detour explain: '%s' is not an RFC 3339 time\n", clock.value);
		rc = 2;
	}
	if (rc == 0)
		rc = explain(t, &tg, &rq, &a, &clock, &conf);
	target_free(&tg);
	detour_table_free(t);
	return rc;
}
