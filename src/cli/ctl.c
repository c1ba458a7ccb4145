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

#include "cli.h"
#include "detour/config.h"
#include "detour/rulefile.h"

#include "base/buf.h"
#include "base/civil.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: detour ctl [-c FILE] [--json] COMMAND [ARGS]\n"
	           "\n"
	           "Talks to the admin API of a running detour (the `admin` directive of\n"
	           "detour.conf names its address and token file).\n"
	           "\n"
	           "  rules [list] [--origin api|file] [--grep TEXT] [--limit N] [--offset N]\n"
	           "  rules add SOURCE TARGET [STATUS] [OPTION=VALUE...] [--ttl DURATION | --until "
	           "TIME]\n"
	           "  rules delete ID\n"
	           "  maintenance [status]\n"
	           "  maintenance on [TARGET] [--status 302|303|307] [--allow SOURCE]... [--until "
	           "TIME |\n"
	           "                        --ttl DURATION]\n"
	           "  maintenance off\n"
	           "  reload\n"
	           "  stats [--top N] [--limit N] [--unused [--since DURATION|TIME]]\n"
	           "  metrics | health | audit [--limit N]\n"
	           "\n"
	           "  -c, --config FILE   detour.conf to read (default ./detour.conf)\n"
	           "  --admin ADDR:PORT   the admin address, overriding the config\n"
	           "  --token-file FILE   the token file, overriding the config\n"
	           "  --json              print the server's JSON answer as it is\n"
	           "\n"
	           "TIME is RFC 3339 (2026-12-01T00:00:00Z) or HH:MM, the next such local time.\n"
	           "DURATION is 90s, 30m, 48h, 7d or 2w.\n");
}

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
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
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
	printf("maintenance is on: %lld to %s, since %s, until %s, by %s\n",
	       (long long)json_integer_value(json_object_get(j, "status")),
	       str_or(j, "target", "?"), str_or(j, "since", "?"),
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
		printf("%s %-10s %-12s %s\n", str_or(r, "at", "?"), str_or(r, "who", "?"),
		       str_or(r, "action", "?"), str_or(r, "detail", ""));
	}
}

/* Appends "&k=v" to q with v percent-encoded. */
static void qadd(char *q, size_t cap, const char *k, const char *v)
{
	size_t n = strlen(q);

	n += (size_t)snprintf(q + n, cap - n, "%s%s=", n ? "&" : "?", k);
	for (; *v && n + 4 < cap; v++) {
		unsigned char ch = (unsigned char)*v;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    ch == '/' || ch == ':')
			q[n++] = (char)ch;
		else
			n += (size_t)snprintf(q + n, cap - n, "%%%02X", ch);
	}
	q[n] = '\0';
}

static int bad(const char *msg, const char *arg)
{
	fprintf(stderr, "detour ctl: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return 2;
}

static int cmd_rules(struct client *cl, int argc, char **argv)
{
	char *body;

	if (argc == 0 || !strcmp(argv[0], "list")) {
		char q[1200] = "";
		for (int i = argc ? 1 : 0; i < argc; i++) {
			const char *k = argv[i];
			if (i + 1 == argc)
				return bad("option needs a value", k);
			if (!strcmp(k, "--origin"))
				qadd(q, sizeof(q), "origin", argv[++i]);
			else if (!strcmp(k, "--grep"))
				qadd(q, sizeof(q), "q", argv[++i]);
			else if (!strcmp(k, "--limit"))
				qadd(q, sizeof(q), "limit", argv[++i]);
			else if (!strcmp(k, "--offset"))
				qadd(q, sizeof(q), "offset", argv[++i]);
			else
				return bad("unknown option", k);
		}
		char path[1300];
		snprintf(path, sizeof(path), "/rules%s", q);
		return finish_call(cl, "GET", path, NULL, &body, print_rules);
	}
	if (!strcmp(argv[0], "add")) {
		char line[DETOUR_RULE_LINE_MAX < 8192 ? DETOUR_RULE_LINE_MAX : 8192] = "";
		json_t *j = json_object();
		char t[64];
		for (int i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--ttl") || !strcmp(argv[i], "--until")) {
				if (i + 1 == argc) {
					json_decref(j);
					return bad("option needs a value", argv[i]);
				}
				if (argv[i][2] == 't') {
					json_object_set_new(j, "ttl", json_string(argv[++i]));
				} else if (to_rfc3339(argv[++i], t) == 0) {
					json_object_set_new(j, "until", json_string(t));
				} else {
					json_decref(j);
					return bad("bad time", argv[i]);
				}
				continue;
			}
			size_t n = strlen(line);
			snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", argv[i]);
		}
		if (line[0] == '\0') {
			json_decref(j);
			return bad("rules add needs SOURCE TARGET [STATUS] [OPTIONS]", NULL);
		}
		json_object_set_new(j, "rule", json_string(line));
		char *payload = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		long st = call(cl, "POST", "/rules", payload, &body);
		free(payload);
		return finish(cl, st, body, print_added);
	}
	if (!strcmp(argv[0], "delete") || !strcmp(argv[0], "rm")) {
		char path[1200] = "";
		if (argc != 2)
			return bad("rules delete needs one ID", NULL);
		qadd(path, sizeof(path), "x", argv[1]);
		char p2[1300];
		snprintf(p2, sizeof(p2), "/rules/%s", path + 3); /* skip "?x=" */
		long st = call(cl, "DELETE", p2, NULL, &body);
		if (st == 204 && !cl->json)
			printf("deleted %s\n", argv[1]);
		return finish(cl, st, body, NULL);
	}
	return bad("unknown rules command", argv[0]);
}

static int cmd_maint(struct client *cl, int argc, char **argv)
{
	char *body;

	if (argc == 0 || !strcmp(argv[0], "status"))
		return finish_call(cl, "GET", "/maintenance", NULL, &body, print_maint);
	json_t *j = json_object();
	if (!strcmp(argv[0], "off")) {
		if (argc != 1) {
			json_decref(j);
			return bad("maintenance off takes no arguments", NULL);
		}
		json_object_set_new(j, "on", json_false());
	} else if (!strcmp(argv[0], "on")) {
		json_t *allow = json_array();
		char t[64];
		json_object_set_new(j, "on", json_true());
		for (int i = 1; i < argc; i++) {
			const char *k = argv[i];
			if (k[0] != '-') {
				json_object_set_new(j, "target", json_string(k));
				continue;
			}
			if (i + 1 == argc) {
				json_decref(allow);
				json_decref(j);
				return bad("option needs a value", k);
			}
			const char *v = argv[++i];
			if (!strcmp(k, "--status")) {
				json_object_set_new(j, "status", json_integer(atoi(v)));
			} else if (!strcmp(k, "--allow")) {
				json_array_append_new(allow, json_string(v));
			} else if (!strcmp(k, "--ttl")) {
				json_object_set_new(j, "ttl", json_string(v));
			} else if (!strcmp(k, "--until") && to_rfc3339(v, t) == 0) {
				json_object_set_new(j, "until", json_string(t));
			} else {
				json_decref(allow);
				json_decref(j);
				return bad("unknown option or bad value", k);
			}
		}
		json_object_set_new(j, "allow", allow);
	} else {
		json_decref(j);
		return bad("expected maintenance on|off|status", argv[0]);
	}
	char *payload = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	long st = call(cl, "POST", "/maintenance", payload, &body);
	free(payload);
	return finish(cl, st, body, print_maint);
}

static int cmd_stats(struct client *cl, int argc, char **argv)
{
	char q[600] = "", *body;
	bool unused = false;
	const char *since = "30d";

	for (int i = 0; i < argc; i++) {
		const char *k = argv[i];
		if (!strcmp(k, "--unused")) {
			unused = true;
			continue;
		}
		if (i + 1 == argc)
			return bad("option needs a value", k);
		if (!strcmp(k, "--since"))
			since = argv[++i];
		else if (!strcmp(k, "--top"))
			qadd(q, sizeof(q), "top", argv[++i]);
		else if (!strcmp(k, "--limit"))
			qadd(q, sizeof(q), "limit", argv[++i]);
		else
			return bad("unknown option", k);
	}
	if (unused) {
		char t[64];
		int64_t d = detour_parse_duration(since, strlen(since));
		if (d > 0) {
			civil_format_rfc3339((int64_t)time(NULL) - d, t);
		} else if (to_rfc3339(since, t)) {
			return bad("bad --since", since);
		}
		qadd(q, sizeof(q), "unused_since", t);
	}
	char path[700];
	snprintf(path, sizeof(path), "/stats%s", q);
	return finish_call(cl, "GET", path, NULL, &body, print_stats);
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

int cmd_ctl(int argc, char **argv)
{
	struct client cl = {0};
	const char *conf = NULL, *admin = NULL, *token = NULL;
	int i = 1, rc;
	char *body;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			cl.json = true;
			continue;
		}
		if (i + 1 == argc)
			return bad("option needs a value", argv[i]);
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
			conf = argv[++i];
		else if (!strcmp(argv[i], "--admin"))
			admin = argv[++i];
		else if (!strcmp(argv[i], "--token-file"))
			token = argv[++i];
		else
			return bad("unknown option", argv[i]);
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	/* Options may also follow the command: take out the global ones. */
	int n = 0;
	char **rest = calloc((size_t)(argc - i) + 1, sizeof(*rest));
	if (rest == NULL)
		return 2;
	for (int k = i; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			cl.json = true;
		else
			rest[n++] = argv[k];
	}
	rc = load_client(&cl, conf, admin, token);
	if (rc) {
		free(rest);
		return rc;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const char *cmd = rest[0];
	if (!strcmp(cmd, "rules"))
		rc = cmd_rules(&cl, n - 1, rest + 1);
	else if (!strcmp(cmd, "maintenance"))
		rc = cmd_maint(&cl, n - 1, rest + 1);
	else if (!strcmp(cmd, "stats"))
		rc = cmd_stats(&cl, n - 1, rest + 1);
	else if (!strcmp(cmd, "reload") && n == 1)
		rc = finish_call(&cl, "POST", "/reload", "{}", &body, print_reload);
	else if (!strcmp(cmd, "metrics") && n == 1) {
		long st = call(&cl, "GET", "/metrics", NULL, &body);
		if (st == 200) {
			fputs(body, stdout);
			free(body);
			rc = 0;
		} else {
			rc = finish(&cl, st, body, NULL);
		}
	} else if (!strcmp(cmd, "health") && n == 1)
		rc = finish_call(&cl, "GET", "/healthz", NULL, &body, NULL);
	else if (!strcmp(cmd, "audit")) {
		char path[100] = "/audit";
		if (n == 3 && !strcmp(rest[1], "--limit"))
			snprintf(path, sizeof(path), "/audit?limit=%d", atoi(rest[2]));
		else if (n != 1) {
			free(rest);
			curl_global_cleanup();
			return bad("audit takes --limit N", NULL);
		}
		rc = finish_call(&cl, "GET", path, NULL, &body, print_audit);
	} else {
		usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	free(rest);
	return rc;
}
