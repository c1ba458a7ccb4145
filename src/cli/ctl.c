/* detour ctl: a command-line client for the admin API (docs/admin.md). It
 * reads the admin address and the token file from detour.conf, sends one
 * request with libcurl, and prints the answer as text (or as JSON with
 * --json). Exit status: 0 on a 2xx, 1 on an error answer, 2 on bad usage or
 * when the server cannot be reached. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/ascii.h"
#include "base/buf.h"
#include "base/civil.h"
#include "base/value.h"
#include "cli.h"
#include "cli_opts.h"
#include "detour/config.h"
#include "detour/rulefile.h"

static const struct cli_opt optab[] = {
        {"config", 'c', "FILE", "a file name", "detour.conf to read (default ./detour.conf)"},
        {"admin", 'a' + CLI_LONG, "ADDR:PORT", "an address",
         "the admin address, overriding the config"},
        {"token-file", 't' + CLI_LONG, "FILE", "a file name",
         "the token file, overriding the config"},
        {"json", 'j' + CLI_LONG, NULL, NULL, "print the server's JSON answer as it is"},
        {"help", 'h', NULL, NULL, "this text"},
        {0},
};

const struct cli_cmd cli_ctl_cmd = {
        .name = "ctl",
        .usage = "usage: detour ctl [-c FILE] [--json] COMMAND [ARGS]\n"
                 "\n"
                 "Talks to the admin API of a running detour (the `admin` directive of\n"
                 "detour.conf names its address and token file).\n"
                 "\n"
                 "  rules [list] [--origin api|file] [--grep TEXT] [--limit N] [--offset N]\n"
                 "  rules add SOURCE TARGET [STATUS] [OPTION=VALUE...] [--ttl DURATION | "
                 "--until TIME]\n"
                 "  rules delete ID\n"
                 "  maintenance [status]\n"
                 "  maintenance on [TARGET|-] [--status 302|303|307|503] [--page FILE] "
                 "[--allow SOURCE]...\n"
                 "                 [--until TIME | --ttl DURATION]\n"
                 "  maintenance off\n"
                 "  reload\n"
                 "  stats [--top N] [--limit N] [--unused [--since DURATION|TIME]] [--node NAME]\n"
                 "  targets              the health-checked mirrors, up or down\n"
                 "  fleet                the nodes sharing the state (`state redis://`), their\n"
                 "                       state version and lag\n"
                 "  metrics | health | audit [--limit N] [--node NAME]\n"
                 "\n",
        .epilog = "\n"
                  "TIME is RFC 3339 (2026-12-01T00:00:00Z) or HH:MM, the next such local time.\n"
                  "DURATION is 90s, 30m, 48h, 7d or 2w.\n",
        .opts = optab,
        .stop_at_operand = true, /* the command's own options follow it */
};

/* The most of an answer kept: far more than the API ever sends. */
#define RESP_MAX ((size_t)1 << 30)

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct bbuf *r = arg;

	bbuf_put(r, p, size * n);
	return bbuf_ok(r) ? size * n : 0; /* 0: curl stops with an error */
}

struct client {
	char base[300];
	char auth[300]; /* "Authorization: Bearer ..." or "" */
	bool json;
};

/* Sends one request; returns the status (0 when unreachable) and the body
 * (malloc'd, NUL-terminated) in *body. */
static long call(const struct client *cl, const char *method, const char *path, const char *payload,
                 char **body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct bbuf r;
	char url[2400];
	long status = 0;
	CURLcode rc;

	*body = NULL;
	if (c == NULL)
		return 0;
	bbuf_init(&r, RESP_MAX);
	snprintf(url, sizeof(url), "%s%s", cl->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	/* POST /reload is answered when the reload is done: a regex table
	 * compiled without the cache may take more than a minute. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, strcmp(path, "/reload") ? 60L : 600L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (cl->auth[0])
		h = curl_slist_append(h, cl->auth);
	if (payload) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	} else {
		fprintf(stderr, "detour ctl: %s: %s\n", url, curl_easy_strerror(rc));
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	*body = bbuf_take(&r, NULL);
	if (*body == NULL)
		*body = strdup("");
	return status;
}

/* "48h" -> seconds; RFC 3339 or "HH:MM" -> an RFC 3339 string in out. */
static int to_rfc3339(const char *s, char out[64])
{
	int hh, mm;
	char tail;

	if (sscanf(s, "%d:%d%c", &hh, &mm, &tail) == 2 && hh >= 0 && hh < 24 && mm >= 0 &&
	    mm < 60 && strlen(s) <= 5) {
		time_t now = time(NULL);
		struct tm lt;
		localtime_r(&now, &lt);
		lt.tm_hour = hh;
		lt.tm_min = mm;
		lt.tm_sec = 0;
		lt.tm_isdst = -1;
		time_t t = mktime(&lt);
		if (t <= now) {
			lt.tm_mday++;
			lt.tm_isdst = -1;
			t = mktime(&lt);
		}
		civil_format_rfc3339(t, out);
		return 0;
	}
	if (strlen(s) >= 64)
		return -1;
	strcpy(out, s); /* RFC 3339: the server checks it */
	return 0;
}

static int finish(const struct client *cl, long status, char *body, void (*text)(json_t *))
{
	json_error_t e;
	json_t *j;
	int rc = status >= 200 && status < 300 ? 0 : status ? 1 : 2;

	if (status == 0) {
		free(body);
		return 2;
	}
	j = body[0] ? json_loads(body, 0, &e) : NULL;
	if (cl->json || (j == NULL && body[0])) {
		fputs(body, stdout);
	} else if (rc != 0) {
		const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
		fprintf(stderr, "detour ctl: %ld: %s\n", status, msg ? msg : "(no reason given)");
	} else if (j && text) {
		text(j);
	} else if (j) {
		char *s = json_dumps(j, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
	}
	json_decref(j);
	free(body);
	return rc;
}

/* Sends the request, then finishes: the body exists only after the call. */
static int finish_call(const struct client *cl, const char *method, const char *path,
                       const char *payload, char **body, void (*text)(json_t *))
{
	long st = call(cl, method, path, payload, body);

	return finish(cl, st, *body, text);
}

/* POSTs j (taken over) as the JSON body, then finish. */
static int post_json(const struct client *cl, const char *path, json_t *j, void (*text)(json_t *))
{
	char *payload = json_dumps(j, JSON_COMPACT), *body;
	int rc;

	json_decref(j);
	rc = finish_call(cl, "POST", path, payload, &body, text);
	free(payload);
	return rc;
}

static const char *str_or(json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : def;
}

static void print_rules(json_t *j)
{
	size_t i;
	json_t *r;

	printf("%-24s %-6s %-21s %s\n", "ID", "ORIGIN", "EXPIRES", "RULE");
	json_array_foreach(json_object_get(j, "rules"), i, r)
	{
		printf("%-24s %-6s %-21s %s\n", str_or(r, "id", "?"), str_or(r, "origin", "?"),
		       str_or(r, "expires", "-"), str_or(r, "rule", ""));
	}
	printf("(%lld of %lld)\n", (long long)json_array_size(json_object_get(j, "rules")),
	       (long long)json_integer_value(json_object_get(j, "total")));
}

static void print_added(json_t *j)
{
	printf("added %s%s%s\n", str_or(j, "id", "?"),
	       json_is_string(json_object_get(j, "expires")) ? ", expires " : "",
	       str_or(j, "expires", ""));
}

static void print_stats(json_t *j)
{
	size_t i;
	json_t *r, *list = json_object_get(j, "unused");

	if (list) {
		printf("rules not hit since %s:\n", str_or(j, "since", "?"));
		json_array_foreach(list, i, r)
		{
			printf("  %-8lld %-21s %s\n",
			       (long long)json_integer_value(json_object_get(r, "hits")),
			       str_or(r, "last_hit", "never"), str_or(r, "id", "?"));
		}
		return;
	}
	printf("%-10s %-21s %s\n", "HITS", "LAST HIT", "RULE");
	json_array_foreach(json_object_get(j, "rules"), i, r)
	{
		printf("%-10lld %-21s %s\n",
		       (long long)json_integer_value(json_object_get(r, "hits")),
		       str_or(r, "last_hit", "never"), str_or(r, "id", "?"));
	}
	list = json_object_get(j, "unmatched");
	if (list && json_array_size(list)) {
		printf("\nunmatched paths (404), most requested first:\n");
		json_array_foreach(list, i, r)
		{
			printf("  %-10lld %s\n",
			       (long long)json_integer_value(json_object_get(r, "count")),
			       str_or(r, "path", ""));
		}
	}
}

static void print_maint(json_t *j)
{
	if (!json_is_true(json_object_get(j, "on"))) {
		printf("maintenance is off\n");
		return;
	}
	long long status = (long long)json_integer_value(json_object_get(j, "status"));
	const char *page = str_or(j, "page", NULL);
	if (status == 503)
		printf("maintenance is on: 503 with %s%s", page ? "the page " : "the built-in page",
		       page ? page : "");
	else
		printf("maintenance is on: %lld to %s%s%s%s", status, str_or(j, "target", "?"),
		       page ? " (the page " : "", page ? page : "", page ? " there)" : "");
	printf(", since %s, until %s, by %s\n", str_or(j, "since", "?"),
	       str_or(j, "until", "further notice"), str_or(j, "who", "?"));
}

static void print_reload(json_t *j)
{
	printf("reloaded: %lld file rules\n",
	       (long long)json_integer_value(json_object_get(j, "rules")));
}

static void print_audit(json_t *j)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(j, "audit"), i, r)
	{
		if (json_object_get(r, "node")) /* a fleet: the node it was made through */
			printf("%s %-16s %-10s %-12s %s\n", str_or(r, "at", "?"),
			       str_or(r, "node", "?"), str_or(r, "who", "?"),
			       str_or(r, "action", "?"), str_or(r, "detail", ""));
		else
			printf("%s %-10s %-12s %s\n", str_or(r, "at", "?"), str_or(r, "who", "?"),
			       str_or(r, "action", "?"), str_or(r, "detail", ""));
	}
}

static void print_targets(json_t *j)
{
	size_t i;
	json_t *r, *list = json_object_get(j, "targets");

	if (json_array_size(list) == 0) {
		printf("no health-checked targets (health= in a weighted group, docs/health.md)\n");
		return;
	}
	printf("%-5s %-24s %-40s %s\n", "STATE", "RULE", "TARGET", "LAST PROBE");
	json_array_foreach(list, i, r)
	{
		char last[300];
		json_int_t st = json_integer_value(json_object_get(r, "status"));
		if (!json_is_true(json_object_get(r, "probed")))
			snprintf(last, sizeof(last), "not yet");
		else if (json_is_string(json_object_get(r, "error")))
			snprintf(last, sizeof(last), "%s", str_or(r, "error", ""));
		else
			snprintf(last, sizeof(last), "HTTP %lld", (long long)st);
		printf("%-5s %-24s %-40s %s\n",
		       json_is_true(json_object_get(r, "up")) ? "up" : "down",
		       str_or(r, "rule", "?"), str_or(r, "target", "?"), last);
	}
}

static void print_fleet(json_t *j)
{
	size_t i;
	json_t *r, *self = json_object_get(j, "self");

	printf("%-24s %-8s %-8s %s\n", "NODE", "VERSION", "LAG_MS", "SEEN_MS");
	json_array_foreach(json_object_get(j, "nodes"), i, r)
	{
		printf("%-24s %-8lld %-8lld %lld\n", str_or(r, "node", "?"),
		       (long long)json_integer_value(json_object_get(r, "version")),
		       (long long)json_integer_value(json_object_get(r, "lag_ms")),
		       (long long)json_integer_value(json_object_get(r, "seen_ms")));
	}
	if (self && !json_is_true(json_object_get(self, "connected")))
		fprintf(stderr, "this node (%s) is not connected to Redis\n",
		        str_or(self, "node", "?"));
}

/* Appends v percent-encoded (bbuf_put_pct) but for the unreserved
 * characters of RFC 3986 §2.3 and '/' and ':', which a query or a path
 * segment may hold as they are (§3.3, §3.4). */
static void put_pct_value(struct bbuf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ascii_is_alnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    ch == '/' || ch == ':')
			bbuf_putc(b, (char)ch);
		else
			bbuf_put_pct(b, ch);
	}
}

/* Appends "?k=v" to the path in b, or "&k=v" after the first (v
 * percent-encoded). */
static void qadd(struct bbuf *b, const char *k, const char *v)
{
	bbuf_putc(b, memchr(b->p, '?', b->len) ? '&' : '?');
	bbuf_puts(b, k);
	bbuf_putc(b, '=');
	put_pct_value(b, v);
}

/* The request path in b as a C string, or NULL (after saying so) when it
 * did not fit: a cut query would ask for something else. */
static const char *path_of(struct bbuf *b)
{
	bbuf_putc(b, '\0');
	if (!bbuf_ok(b)) {
		fprintf(stderr, "detour ctl: the request path is too long\n");
		return NULL;
	}
	return b->p;
}

static int bad(const char *msg, const char *arg)
{
	fprintf(stderr, "detour ctl: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return 2;
}

/* rules [list] [--origin api|file] [--grep TEXT] [--limit N] [--offset N] */
static int rules_list(struct client *cl, int argc, char **argv)
{
	static const struct cli_opt t[] = {
	        {"origin", 'o' + CLI_LONG, "api|file", "a value", "API or file rules only"},
	        {"grep", 'g' + CLI_LONG, "TEXT", "a value", "rules that contain TEXT"},
	        {"limit", 'l' + CLI_LONG, "N", "a value", "at most N rules"},
	        {"offset", 'O' + CLI_LONG, "N", "a value", "from the Nth rule on"},
	        {0},
	};
	static const struct cli_cmd c = {
	        .name = "ctl", .usage = "usage: detour ctl rules [list] [OPTIONS]\n\n", .opts = t};
	char mem[1300], *body;
	const char *path;
	struct bbuf b;
	struct cli_parser p;
	int k;

	bbuf_fixed(&b, mem, sizeof(mem));
	BBUF_LIT(&b, "/rules");
	cli_parse_init(&p, &c, argc, argv);
	while (argc && (k = cli_next(&p)) != CLI_END) {
		if (k == CLI_BAD)
			return 2;
		const char *name = k == 'o' + CLI_LONG   ? "origin"
		                   : k == 'g' + CLI_LONG ? "q"
		                   : k == 'l' + CLI_LONG ? "limit"
		                                         : "offset";
		qadd(&b, name, p.arg);
	}
	if (argc && cli_operand(&p) < argc)
		return cli_unknown(&c, argv[cli_operand(&p)]);
	if ((path = path_of(&b)) == NULL)
		return 2;
	return finish_call(cl, "GET", path, NULL, &body, print_rules);
}

/* rules add SOURCE TARGET [STATUS] [OPTION=VALUE...] [--ttl DURATION | --until TIME]:
 * the operands, in order, are the rule line. */
static int rules_add(struct client *cl, int argc, char **argv)
{
	static const struct cli_opt t[] = {
	        {"ttl", 't' + CLI_LONG, "DURATION", "a value", "the rule expires after DURATION"},
	        {"until", 'u' + CLI_LONG, "TIME", "a value", "the rule expires at TIME"},
	        {0},
	};
	static const struct cli_cmd c = {
	        .name = "ctl",
	        .usage = "usage: detour ctl rules add SOURCE TARGET [STATUS] [OPTION=VALUE...] "
	                 "[OPTIONS]\n\n",
	        .opts = t,
	};
	char line[DETOUR_RULE_LINE_MAX < 8192 ? DETOUR_RULE_LINE_MAX : 8192] = "", tm[64];
	json_t *j = json_object();
	struct cli_parser p;
	int k;

	cli_parse_init(&p, &c, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 't' + CLI_LONG) {
			json_object_set_new(j, "ttl", json_string(p.arg));
			continue;
		}
		if (k == 'u' + CLI_LONG && to_rfc3339(p.arg, tm) == 0) {
			json_object_set_new(j, "until", json_string(tm));
			continue;
		}
		json_decref(j);
		return k == CLI_BAD ? 2 : bad("bad time", p.arg);
	}
	for (int i = cli_operand(&p); i < argc; i++) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", argv[i]);
	}
	if (line[0] == '\0') {
		json_decref(j);
		return bad("rules add needs SOURCE TARGET [STATUS] [OPTIONS]", NULL);
	}
	json_object_set_new(j, "rule", json_string(line));
	return post_json(cl, "/rules", j, print_added);
}

/* rules delete ID */
static int rules_delete(struct client *cl, int argc, char **argv)
{
	char mem[1300], *body;
	const char *path;
	struct bbuf b;

	if (argc != 2)
		return bad("rules delete needs one ID", NULL);
	bbuf_fixed(&b, mem, sizeof(mem));
	BBUF_LIT(&b, "/rules/");
	put_pct_value(&b, argv[1]);
	if ((path = path_of(&b)) == NULL)
		return 2;
	long st = call(cl, "DELETE", path, NULL, &body);
	if (st == 204 && !cl->json)
		printf("deleted %s\n", argv[1]);
	return finish(cl, st, body, NULL);
}

static int cmd_rules(struct client *cl, int argc, char **argv)
{
	if (argc == 0 || !strcmp(argv[0], "list"))
		return rules_list(cl, argc, argv);
	if (!strcmp(argv[0], "add"))
		return rules_add(cl, argc, argv);
	if (!strcmp(argv[0], "delete") || !strcmp(argv[0], "rm"))
		return rules_delete(cl, argc, argv);
	return bad("unknown rules command", argv[0]);
}

/* maintenance on [TARGET|-] [--status 302|303|307|503] [--page FILE]
 * [--allow SOURCE]... [--until TIME | --ttl DURATION] into j. Returns 0, or 2 with the error
 * printed. */
static int maint_on(json_t *j, int argc, char **argv)
{
	static const struct cli_opt t[] = {
	        {"status", 's' + CLI_LONG, "302|303|307|503", "a value",
	         "the status to answer with (503: a page, no target)"},
	        {"page", 'p' + CLI_LONG, "FILE", "a file name",
	         "the HTML page the server serves (with 503, or at a\nlocal TARGET)"},
	        {"allow", 'a' + CLI_LONG, "SOURCE", "a value",
	         "a source still served (repeatable)"},
	        {"until", 'u' + CLI_LONG, "TIME", "a value", "maintenance ends at TIME"},
	        {"ttl", 't' + CLI_LONG, "DURATION", "a value", "maintenance ends after DURATION"},
	        {0},
	};
	static const struct cli_cmd c = {
	        .name = "ctl",
	        .usage = "usage: detour ctl maintenance on [TARGET] [OPTIONS]\n\n",
	        .opts = t};
	json_t *allow = json_array();
	struct cli_parser p;
	char tm[64];
	int k;

	json_object_set_new(j, "on", json_true());
	cli_parse_init(&p, &c, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == 's' + CLI_LONG) {
			json_object_set_new(j, "status", json_integer(atoi(p.arg)));
		} else if (k == 'p' + CLI_LONG) {
			/* The server reads it: an absolute path (a missing file
			 * too, so that the server's error names it). */
			char *abs = realpath(p.arg, NULL), cwd[4096];
			if (abs == NULL && p.arg[0] != '/' && getcwd(cwd, sizeof(cwd)))
				json_object_set_new(j, "page", json_sprintf("%s/%s", cwd, p.arg));
			else
				json_object_set_new(j, "page", json_string(abs ? abs : p.arg));
			free(abs);
		} else if (k == 'a' + CLI_LONG) {
			json_array_append_new(allow, json_string(p.arg));
		} else if (k == 't' + CLI_LONG) {
			json_object_set_new(j, "ttl", json_string(p.arg));
		} else if (k == 'u' + CLI_LONG && to_rfc3339(p.arg, tm) == 0) {
			json_object_set_new(j, "until", json_string(tm));
		} else {
			json_decref(allow);
			return k == CLI_BAD ? 2 : bad("bad time", p.arg);
		}
	}
	/* The target: the last operand, as the server takes one. */
	if (cli_operand(&p) < argc)
		json_object_set_new(j, "target", json_string(argv[argc - 1]));
	/* Only what was given: without --allow the server keeps the allow
	 * lists it has (the directive's), as it does for the API. */
	if (json_array_size(allow) > 0)
		json_object_set_new(j, "allow", allow);
	else
		json_decref(allow);
	return 0;
}

static int cmd_maint(struct client *cl, int argc, char **argv)
{
	char *body;
	int rc = 0;

	if (argc == 0 || !strcmp(argv[0], "status"))
		return finish_call(cl, "GET", "/maintenance", NULL, &body, print_maint);
	json_t *j = json_object();
	if (!strcmp(argv[0], "off")) {
		if (argc != 1)
			rc = bad("maintenance off takes no arguments", NULL);
		json_object_set_new(j, "on", json_false());
	} else if (!strcmp(argv[0], "on")) {
		rc = maint_on(j, argc, argv);
	} else {
		rc = bad("expected maintenance on|off|status", argv[0]);
	}
	if (rc) {
		json_decref(j);
		return rc;
	}
	return post_json(cl, "/maintenance", j, print_maint);
}

/* stats [--top N] [--limit N] [--unused [--since DURATION|TIME]] [--node NAME] */
static int cmd_stats(struct client *cl, int argc, char **argv)
{
	static const struct cli_opt t[] = {
	        {"top", 'T' + CLI_LONG, "N", "a value", "the N most requested unmatched paths"},
	        {"limit", 'l' + CLI_LONG, "N", "a value", "at most N rules"},
	        {"unused", 'u' + CLI_LONG, NULL, NULL, "the rules not hit since --since"},
	        {"since", 's' + CLI_LONG, "DURATION|TIME", "a value", "default 30d"},
	        {"node", 'n' + CLI_LONG, "NAME", "a value",
	         "in a fleet: one node's counters, not the fleet's"},
	        {0},
	};
	static const struct cli_cmd c = {
	        .name = "ctl", .usage = "usage: detour ctl stats [OPTIONS]\n\n", .opts = t};
	char mem[700], *body;
	const char *path;
	struct bbuf b;
	bool unused = false;
	const char *since = "30d";
	struct cli_parser p;
	int k;

	bbuf_fixed(&b, mem, sizeof(mem));
	BBUF_LIT(&b, "/stats");
	cli_parse_init(&p, &c, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == CLI_BAD)
			return 2;
		if (k == 'u' + CLI_LONG)
			unused = true;
		else if (k == 's' + CLI_LONG)
			since = p.arg;
		else
			qadd(&b,
			     k == 'T' + CLI_LONG   ? "top"
			     : k == 'n' + CLI_LONG ? "node"
			                           : "limit",
			     p.arg);
	}
	if (cli_operand(&p) < argc)
		return cli_unknown(&c, argv[cli_operand(&p)]);
	if (unused) {
		char tm[64];
		int64_t d = value_duration(since, strlen(since));
		if (d > 0) {
			civil_format_rfc3339((int64_t)time(NULL) - d, tm);
		} else if (to_rfc3339(since, tm)) {
			return bad("bad --since", since);
		}
		qadd(&b, "unused_since", tm);
	}
	if ((path = path_of(&b)) == NULL)
		return 2;
	return finish_call(cl, "GET", path, NULL, &body, print_stats);
}

/* audit [--limit N] [--node NAME] */
static int cmd_audit(struct client *cl, int argc, char **argv)
{
	static const struct cli_opt t[] = {
	        {"limit", 'l' + CLI_LONG, "N", "a value", "the N latest changes"},
	        {"node", 'n' + CLI_LONG, "NAME", "a value",
	         "in a fleet: the changes made through one node"},
	        {0},
	};
	static const struct cli_cmd c = {
	        .name = "ctl",
	        .usage = "usage: detour ctl audit [--limit N] [--node NAME]\n\n",
	        .opts = t};
	char mem[300], num[24], *body;
	const char *path;
	struct bbuf b;
	struct cli_parser p;
	int k;

	bbuf_fixed(&b, mem, sizeof(mem));
	BBUF_LIT(&b, "/audit");
	cli_parse_init(&p, &c, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		if (k == CLI_BAD)
			return 2;
		if (k == 'n' + CLI_LONG) {
			qadd(&b, "node", p.arg);
		} else {
			snprintf(num, sizeof(num), "%d", atoi(p.arg));
			qadd(&b, "limit", num);
		}
	}
	if (cli_operand(&p) < argc)
		return bad("audit takes --limit N and --node NAME", NULL);
	if ((path = path_of(&b)) == NULL)
		return 2;
	return finish_call(cl, "GET", path, NULL, &body, print_audit);
}

static int cmd_metrics(struct client *cl)
{
	char *body;
	long st = call(cl, "GET", "/metrics", NULL, &body);

	if (st != 200)
		return finish(cl, st, body, NULL);
	fputs(body, stdout);
	free(body);
	return 0;
}

/* Runs the command argv[0] with its arguments. */
static int run(struct client *cl, int argc, char **argv)
{
	const char *c = argv[0];
	char *body;

	if (!strcmp(c, "rules"))
		return cmd_rules(cl, argc - 1, argv + 1);
	if (!strcmp(c, "maintenance"))
		return cmd_maint(cl, argc - 1, argv + 1);
	if (!strcmp(c, "stats"))
		return cmd_stats(cl, argc, argv);
	if (!strcmp(c, "audit"))
		return cmd_audit(cl, argc, argv);
	if (!strcmp(c, "reload") && argc == 1)
		return finish_call(cl, "POST", "/reload", "{}", &body, print_reload);
	if (!strcmp(c, "metrics") && argc == 1)
		return cmd_metrics(cl);
	if (!strcmp(c, "targets") && argc == 1)
		return finish_call(cl, "GET", "/targets", NULL, &body, print_targets);
	if (!strcmp(c, "fleet") && argc == 1)
		return finish_call(cl, "GET", "/fleet", NULL, &body, print_fleet);
	if (!strcmp(c, "health") && argc == 1)
		return finish_call(cl, "GET", "/healthz", NULL, &body, NULL);
	cli_help(&cli_ctl_cmd, stderr);
	return 2;
}

static int load_client(struct client *cl, const char *conf_path, const char *admin,
                       const char *token_file)
{
	static struct detour_config conf;
	struct detour_diag d = {0};
	char err[1024];
	struct detour_listen l;

	detour_config_defaults(&conf);
	if (conf_path == NULL && access("detour.conf", F_OK) == 0)
		conf_path = "detour.conf";
	if (conf_path && detour_config_load(&conf, conf_path, &d) != DETOUR_OK) {
		fprintf(stderr, "detour ctl: %s\n", detour_diag_format(&d, err, sizeof(err)));
		return 2;
	}
	l = conf.admin;
	if (admin && detour_config_parse_listen(admin, strlen(admin), &l) != DETOUR_OK)
		return bad("--admin: expected ADDR:PORT", admin);
	if (l.port == 0)
		return bad("no admin address: add `admin ADDR:PORT` to detour.conf or give --admin",
		           NULL);
	if (!strcmp(l.host, "0.0.0.0"))
		strcpy(l.host, "127.0.0.1");
	if (!strcmp(l.host, "::"))
		strcpy(l.host, "::1");
	snprintf(cl->base, sizeof(cl->base), "http://%s%s%s:%u", l.ipv6 ? "[" : "", l.host,
	         l.ipv6 ? "]" : "", l.port);
	if (token_file == NULL && conf.admin_token_file[0])
		token_file = conf.admin_token_file;
	if (token_file) {
		FILE *f = fopen(token_file, "re");
		char line[1024];
		cl->auth[0] = '\0';
		if (f == NULL) {
			fprintf(stderr, "detour ctl: token file %s: cannot open\n", token_file);
			return 2;
		}
		while (fgets(line, sizeof(line), f) && !cl->auth[0]) {
			char *save = NULL, *a = strtok_r(line, " \t\r\n", &save);
			char *b = a ? strtok_r(NULL, " \t\r\n", &save) : NULL;
			if (a == NULL || a[0] == '#')
				continue;
			snprintf(cl->auth, sizeof(cl->auth), "Authorization: Bearer %.250s",
			         b ? b : a);
		}
		fclose(f);
	}
	return 0;
}

/* The options before the command. Returns -1 to go on, with the command
 * at argv[*first], or an exit status. */
static int parse_options(int argc, char **argv, struct client *cl, const char **conf,
                         const char **admin, const char **token, int *first)
{
	struct cli_parser p;
	int k;

	cli_parse_init(&p, &cli_ctl_cmd, argc, argv);
	while ((k = cli_next(&p)) != CLI_END) {
		switch (k) {
		case 'c':
			*conf = p.arg;
			break;
		case 'a' + CLI_LONG:
			*admin = p.arg;
			break;
		case 't' + CLI_LONG:
			*token = p.arg;
			break;
		case 'j' + CLI_LONG:
			cl->json = true;
			break;
		case 'h':
			cli_help(&cli_ctl_cmd, stdout);
			return 0;
		default:
			return 2;
		}
	}
	*first = cli_operand(&p);
	if (*first == argc) {
		cli_help(&cli_ctl_cmd, stderr);
		return 2;
	}
	return -1;
}

int cmd_ctl(int argc, char **argv)
{
	struct client cl = {0};
	const char *conf = NULL, *admin = NULL, *token = NULL;
	int first, n = 0, rc;

	rc = parse_options(argc, argv, &cl, &conf, &admin, &token, &first);
	if (rc >= 0)
		return rc;
	/* --json may also follow the command: take it out. */
	char **rest = calloc((size_t)(argc - first) + 1, sizeof(*rest));
	if (rest == NULL)
		return 2;
	for (int k = first; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			cl.json = true;
		else
			rest[n++] = argv[k];
	}
	rc = load_client(&cl, conf, admin, token);
	if (rc == 0) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = run(&cl, n, rest);
		curl_global_cleanup();
	}
	free(rest);
	return rc;
}
