/* detour: detour.conf parser. Table-driven like nginx's command arrays: each
 * directive names its argument count and a setter; the setter reports errors
 * with the column of the offending argument. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config_args.h"
#include "config_https.h"
#include "detour/config.h"
#include "detour/fleet.h"
#include "detour/rulefile.h"

#include "base/cidr.h"
#include "base/civil.h"
#include "base/value.h"

detour_err detour_config_parse_listen(const char *p, size_t len, struct detour_listen *l)
{
	const char *colon;
	size_t hlen;
	char host[256];
	unsigned char tmp[16];
	long port = 0;

	memset(l, 0, sizeof(*l));
	if (len == 0 || len >= sizeof(host))
		return DETOUR_EINVAL;
	if (p[0] == '[') {
		const char *end = memchr(p, ']', len);
		if (end == NULL || end + 1 >= p + len || end[1] != ':')
			return DETOUR_EINVAL;
		hlen = (size_t)(end - p - 1);
		memcpy(host, p + 1, hlen);
		host[hlen] = '\0';
		colon = end + 1;
		if (inet_pton(AF_INET6, host, tmp) != 1)
			return DETOUR_EINVAL;
		l->ipv6 = true;
	} else {
		colon = memrchr(p, ':', len);
		if (colon == NULL) {
			strcpy(host, "127.0.0.1");
			colon = p - 1; /* the whole string is the port */
		} else {
			hlen = (size_t)(colon - p);
			memcpy(host, p, hlen);
			host[hlen] = '\0';
			if (!strcmp(host, "*"))
				strcpy(host, "0.0.0.0");
			else if (!strcmp(host, "localhost"))
				strcpy(host, "127.0.0.1");
			if (inet_pton(AF_INET, host, tmp) != 1)
				return DETOUR_EINVAL;
		}
	}
	const char *d = colon + 1, *end = p + len;
	if (d >= end || end - d > 5)
		return DETOUR_EINVAL;
	for (; d < end; d++) {
		if (*d < '0' || *d > '9')
			return DETOUR_EINVAL;
		port = port * 10 + (*d - '0');
	}
	if (port < 1 || port > 65535)
		return DETOUR_EINVAL;
	strcpy(l->host, host);
	l->port = (uint16_t)port;
	return DETOUR_OK;
}

/* listen ADDR:PORT [tls] [proxy-protocol] */
static detour_err d_listen(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;
	struct detour_listen *l;

	if (!s->listen_seen) {
		c->nlisten = 0;
		s->listen_seen = true;
	}
	if (c->nlisten == DETOUR_CONF_MAX_LISTEN)
		return conf_fail(s, a[0].col, "too many listen addresses (at most 16), at \"%s\"",
		                 a[0].p, a[0].len);
	l = &c->listen[c->nlisten];
	if (detour_config_parse_listen(a[0].p, a[0].len, l) != DETOUR_OK)
		return conf_fail(
		        s, a[0].col,
		        "expected ADDR:PORT (127.0.0.1:8080, [::1]:8080, *:8080 or a port), "
		        "found \"%s\"",
		        a[0].p, a[0].len);
	for (unsigned i = 1; i < n; i++) {
		bool *flag = conf_arg_is(&a[i], "tls")              ? &l->tls
		             : conf_arg_is(&a[i], "proxy-protocol") ? &l->proxy_protocol
		                                                    : NULL;
		if (flag == NULL)
			return conf_fail(s, a[i].col,
			                 "expected tls or proxy-protocol, found \"%s\"", a[i].p,
			                 a[i].len);
		if (*flag)
			return conf_fail(s, a[i].col, "\"%s\" given twice", a[i].p, a[i].len);
		*flag = true;
	}
	for (unsigned i = 0; i < c->nlisten; i++)
		if (c->listen[i].port == l->port && !strcmp(c->listen[i].host, l->host))
			return conf_fail(s, a[0].col, "%s is already listened on", a[0].p,
			                 a[0].len);
	l->line = s->line;
	c->nlisten++;
	return DETOUR_OK;
}

static detour_err d_workers(struct pstate *s, const struct arg *a, unsigned n)
{
	int64_t v;

	if (conf_arg_is(&a[0], "auto")) {
		s->c->workers = 0;
		return DETOUR_OK;
	}
	v = value_size(a[0].p, a[0].len);
	if (v < 1 || v > 256 || (a[0].p[a[0].len - 1] < '0' || a[0].p[a[0].len - 1] > '9'))
		return conf_fail(
		        s, a[0].col,
		        "expected 'auto' or a number of workers from 1 to 256, found \"%s\"",
		        a[0].p, a[0].len);
	s->c->workers = (unsigned)v;
	return DETOUR_OK;
}

static detour_err d_rules(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;

	if (!s->rules_seen) {
		c->nrules = 0;
		s->rules_seen = true;
	}
	if (c->nrules == DETOUR_CONF_MAX_RULES)
		return conf_fail(s, a[0].col, "too many rules files (at most 64), at \"%s\"",
		                 a[0].p, a[0].len);
	if (conf_set_path(s, &a[0], c->rules[c->nrules]) != DETOUR_OK)
		return DETOUR_EINVAL;
	c->nrules++;
	return DETOUR_OK;
}

static detour_err log_path(struct pstate *s, const struct arg *a, char *dst)
{
	if (conf_arg_is(&a[0], "off")) {
		dst[0] = '\0';
		return DETOUR_OK;
	}
	if (conf_arg_is(&a[0], "-") || conf_arg_is(&a[0], "stdout")) {
		strcpy(dst, "-");
		return DETOUR_OK;
	}
	return conf_set_path(s, &a[0], dst);
}

/* access-log FILE|-|off [format=combined|json] */
static detour_err d_access_log(struct pstate *s, const struct arg *a, unsigned n)
{
	static const char fm[] = "format=";

	s->c->access_log_format = DETOUR_ALOG_COMBINED;
	if (n == 2) {
		const struct arg *f = &a[1];
		size_t k = sizeof(fm) - 1;
		if (f->len < k || memcmp(f->p, fm, k) != 0)
			return conf_fail(s, f->col,
			                 "expected format=combined or format=json, found \"%s\"",
			                 f->p, f->len);
		struct arg v = {f->p + k, f->len - k, f->col + (unsigned)k};
		if (conf_arg_is(&v, "json"))
			s->c->access_log_format = DETOUR_ALOG_JSON;
		else if (!conf_arg_is(&v, "combined"))
			return conf_fail(
			        s, v.col,
			        "unknown access log format \"%s\" (expected combined or json)", v.p,
			        v.len);
	}
	return log_path(s, a, s->c->access_log);
}

static detour_err d_error_log(struct pstate *s, const struct arg *a, unsigned n)
{
	if (conf_arg_is(&a[0], "stderr")) {
		s->c->error_log[0] = '\0';
		return DETOUR_OK;
	}
	return conf_set_path(s, &a[0], s->c->error_log);
}

static detour_err on_off(struct pstate *s, const struct arg *a, bool *dst)
{
	if (conf_arg_is(&a[0], "on"))
		*dst = true;
	else if (conf_arg_is(&a[0], "off"))
		*dst = false;
	else
		return conf_fail(s, a[0].col, "expected 'on' or 'off', found \"%s\"", a[0].p,
		                 a[0].len);
	return DETOUR_OK;
}

static detour_err d_server_header(struct pstate *s, const struct arg *a, unsigned n)
{
	return on_off(s, a, &s->c->server_header);
}

static detour_err d_http2(struct pstate *s, const struct arg *a, unsigned n)
{
	return on_off(s, a, &s->c->http2);
}

static detour_err d_max_connections(struct pstate *s, const struct arg *a, unsigned n)
{
	int64_t v = value_size(a[0].p, a[0].len);

	if (v < 1 || v > 1000000)
		return conf_fail(s, a[0].col,
		                 "expected a number of connections from 1 to 1000000, found \"%s\"",
		                 a[0].p, a[0].len);
	s->c->max_connections = (unsigned)v;
	return DETOUR_OK;
}

/* Sizes: "limit target 8k" and friends share one setter through a table. */
static detour_err size_arg(struct pstate *s, const struct arg *a, int64_t lo, int64_t hi,
                           int64_t *out)
{
	int64_t v = value_size(a->p, a->len);

	if (v < lo || v > hi) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "expected a size from %lld to %lld bytes (512, 8k, 1m), found \"%%s\"",
		         (long long)lo, (long long)hi);
		return conf_fail(s, a->col, msg, a->p, a->len);
	}
	*out = v;
	return DETOUR_OK;
}

static detour_err d_limit(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_http1_limits *l = &s->c->limits;
	int64_t v;

	if (conf_arg_is(&a[0], "target")) {
		if (size_arg(s, &a[1], 64, 1024 * 1024, &v))
			return DETOUR_EINVAL;
		l->max_target = (size_t)v;
	} else if (conf_arg_is(&a[0], "header-bytes")) {
		if (size_arg(s, &a[1], 1024, 1024 * 1024, &v))
			return DETOUR_EINVAL;
		l->max_header_bytes = (size_t)v;
	} else if (conf_arg_is(&a[0], "headers")) {
		if (size_arg(s, &a[1], 1, DETOUR_HTTP1_MAX_HEADERS_HARD, &v))
			return DETOUR_EINVAL;
		l->max_headers = (unsigned)v;
	} else if (conf_arg_is(&a[0], "body")) {
		if (size_arg(s, &a[1], 0, (int64_t)1 << 40, &v))
			return DETOUR_EINVAL;
		l->max_body = (uint64_t)v;
	} else if (conf_arg_is(&a[0], "buffer-memory")) {
		/* At least a few oversized answers (DETOUR_RESPONSE_MAX, about
		 * 210 KiB) and long heads. */
		if (size_arg(s, &a[1], 1024 * 1024, (int64_t)1 << 40, &v))
			return DETOUR_EINVAL;
		s->c->buffer_memory = (uint64_t)v;
	} else {
		return conf_fail(s, a[0].col,
		                 "expected a limit name (target, header-bytes, headers, body, "
		                 "buffer-memory), found \"%s\"",
		                 a[0].p, a[0].len);
	}
	return DETOUR_OK;
}

static detour_err d_timeout(struct pstate *s, const struct arg *a, unsigned n)
{
	int64_t secs = value_duration(a[1].p, a[1].len);
	unsigned *dst;

	if (conf_arg_is(&a[0], "header"))
		dst = &s->c->header_timeout_ms;
	else if (conf_arg_is(&a[0], "keepalive"))
		dst = &s->c->keepalive_timeout_ms;
	else
		return conf_fail(s, a[0].col,
		                 "expected a timeout name (header, keepalive), found \"%s\"",
		                 a[0].p, a[0].len);
	if (secs < 1 || secs > 3600)
		return conf_fail(s, a[1].col,
		                 "expected a duration from 1s to 1h (10s, 2m), found \"%s\"",
		                 a[1].p, a[1].len);
	*dst = (unsigned)secs * 1000u;
	return DETOUR_OK;
}

/* admin ADDR:PORT [token-file=FILE] */
static detour_err d_admin(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;
	static const char tf[] = "token-file=";

	if (detour_config_parse_listen(a[0].p, a[0].len, &c->admin) != DETOUR_OK)
		return conf_fail(
		        s, a[0].col,
		        "expected ADDR:PORT (127.0.0.1:8081, [::1]:8081 or a port), found \"%s\"",
		        a[0].p, a[0].len);
	c->admin_line = s->line;
	c->admin_token_file[0] = '\0';
	if (n == 2) {
		struct arg v = a[1];
		if (v.len <= sizeof(tf) - 1 || memcmp(v.p, tf, sizeof(tf) - 1) != 0)
			return conf_fail(s, a[1].col, "expected token-file=FILE, found \"%s\"",
			                 a[1].p, a[1].len);
		v.p += sizeof(tf) - 1;
		v.len -= sizeof(tf) - 1;
		v.col += sizeof(tf) - 1;
		return conf_set_path(s, &v, c->admin_token_file);
	}
	return DETOUR_OK;
}

static detour_err d_state_dir(struct pstate *s, const struct arg *a, unsigned n)
{
	return conf_set_path(s, &a[0], s->c->state_dir);
}

/* state URL [node=NAME]: the fleet's Redis (docs/internals/fleet.md). */
static detour_err d_state(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_fleet_url u;
	char err[400];

	if (a[0].len >= sizeof(s->c->state_url) ||
	    detour_fleet_url_parse(a[0].p, a[0].len, &u, err, sizeof(err)) != DETOUR_OK) {
		if (a[0].len >= sizeof(s->c->state_url))
			snprintf(err, sizeof(err), "URL too long");
		detour_diag_set(s->d, s->name, s->line, a[0].col, "state: %s", err);
		return DETOUR_EINVAL;
	}
	memcpy(s->c->state_url, a[0].p, a[0].len);
	s->c->state_url[a[0].len] = '\0';
	s->c->state_line = s->line;
	s->c->state_node[0] = '\0';
	if (n == 2) {
		if (a[1].len <= 5 || a[1].len - 5 >= sizeof(s->c->state_node) ||
		    memcmp(a[1].p, "node=", 5))
			return conf_fail(s, a[1].col,
			                 "expected node=NAME (at most 63 bytes), found \"%s\"",
			                 a[1].p, a[1].len);
		for (size_t i = 5; i < a[1].len; i++) {
			char ch = a[1].p[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
			      ch == ':'))
				return conf_fail(
				        s, a[1].col,
				        "node=: letters, digits, '-', '_', '.', ':' only, found "
				        "\"%s\"",
				        a[1].p, a[1].len);
		}
		memcpy(s->c->state_node, a[1].p + 5, a[1].len - 5);
		s->c->state_node[a[1].len - 5] = '\0';
	}
	return DETOUR_OK;
}

static detour_err d_user(struct pstate *s, const struct arg *a, unsigned n)
{
	if (a[0].len >= sizeof(s->c->user))
		return conf_fail(s, a[0].col, "user name too long (at most 63 bytes): \"%s\"",
		                 a[0].p, a[0].len);
	for (size_t i = 0; i < a[0].len; i++) {
		char ch = a[0].p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return conf_fail(s, a[0].col, "expected a user name, found \"%s\"", a[0].p,
			                 a[0].len);
	}
	memcpy(s->c->user, a[0].p, a[0].len);
	s->c->user[a[0].len] = '\0';
	return DETOUR_OK;
}

static detour_err d_stats(struct pstate *s, const struct arg *a, unsigned n)
{
	return on_off(s, a, &s->c->stats);
}

static detour_err d_stats_flush(struct pstate *s, const struct arg *a, unsigned n)
{
	int64_t secs = value_duration(a[0].p, a[0].len);

	if (secs < 1 || secs > 3600)
		return conf_fail(s, a[0].col,
		                 "expected a duration from 1s to 1h (5s, 1m), found \"%s\"", a[0].p,
		                 a[0].len);
	s->c->stats_flush_ms = (unsigned)secs * 1000u;
	return DETOUR_OK;
}

/* `audit-keep DURATION|off [MAX-ENTRIES|off]`: the given limits replace
 * both defaults (an omitted count is no count limit). */
static detour_err d_audit_keep(struct pstate *s, const struct arg *a, unsigned n)
{
	int64_t secs = 0, max = 0;

	if (!(a[0].len == 3 && !memcmp(a[0].p, "off", 3))) {
		secs = value_duration(a[0].p, a[0].len);
		if (secs < 1)
			return conf_fail(
			        s, a[0].col,
			        "expected a duration (90d, 12h, 30s) or 'off', found \"%s\"",
			        a[0].p, a[0].len);
	}
	if (n > 1 && !(a[1].len == 3 && !memcmp(a[1].p, "off", 3))) {
		for (size_t i = 0; i < a[1].len && max >= 0; i++)
			max = a[1].p[i] >= '0' && a[1].p[i] <= '9' && max < 100000000
			              ? max * 10 + (a[1].p[i] - '0')
			              : -1;
		if (max < 1 || max > 100000000)
			return conf_fail(
			        s, a[1].col,
			        "expected a number of audit records from 1 to 100000000, or "
			        "'off', found \"%s\"",
			        a[1].p, a[1].len);
	}
	s->c->audit_keep_s = secs;
	s->c->audit_keep_max = max;
	s->c->audit_keep_line = s->line;
	return DETOUR_OK;
}

/* ---- maintenance and health-check ------------------------------------- */

detour_err detour_conf_cidr_parse(const char *p, size_t len, struct cidr *c)
{
	return cidr_parse(p, len, c) == CIDR_OK ? DETOUR_OK : DETOUR_EINVAL;
}

/* Whether line, parsed alone as a rule, is valid; the rulefile's message
 * goes into d at the column of the value. */
static detour_err check_rule(struct pstate *s, unsigned col, const char *what, const char *line,
                             const char *p, size_t len)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag rd = {0};
	detour_err e;

	if (rs == NULL) {
		detour_diag_set(s->d, s->name, s->line, col, "out of memory");
		return DETOUR_ENOMEM;
	}
	e = detour_ruleset_add_line(rs, "maintenance", 1, line, strlen(line), &rd);
	detour_ruleset_free(rs);
	if (e == DETOUR_OK)
		return DETOUR_OK;
	char val[128];
	snprintf(val, sizeof(val), "%.*s", (int)(len < 100 ? len : 100), p);
	detour_diag_set(s->d, s->name, s->line, col, "%s \"%s\": %s", what, val, rd.msg);
	return DETOUR_EINVAL;
}

static detour_err m_ip_item(struct pstate *s, const struct arg *a)
{
	struct detour_conf_maint *m = &s->c->maint;

	if (m->nallow_ip == DETOUR_CONF_MAX_CIDRS)
		return conf_fail(s, a->col, "too many allow-ip ranges (at most 64), at \"%s\"",
		                 a->p, a->len);
	if (detour_conf_cidr_parse(a->p, a->len, &m->allow_ip[m->nallow_ip]) != DETOUR_OK)
		return conf_fail(
		        s, a->col,
		        "expected an address or a CIDR range (10.0.0.0/8, 2001:db8::/32) with "
		        "no bits past the prefix, found \"%s\"",
		        a->p, a->len);
	m->nallow_ip++;
	return DETOUR_OK;
}

static detour_err m_path_item(struct pstate *s, const struct arg *a)
{
	struct detour_conf_maint *m = &s->c->maint;
	size_t used = strlen(m->allow_path);
	char line[DETOUR_CONF_MAINT_ALLOW_MAX + 16];

	if (used + a->len + 2 > sizeof(m->allow_path))
		return conf_fail(s, a->col, "allow-path sources over 4 KiB in all, at \"%s\"", a->p,
		                 a->len);
	snprintf(line, sizeof(line), "%.*s - 410", (int)a->len, a->p);
	if (check_rule(s, a->col, "allow-path source", line, a->p, a->len) != DETOUR_OK)
		return DETOUR_EINVAL;
	memcpy(m->allow_path + used, a->p, a->len);
	m->allow_path[used + a->len] = '\n';
	m->allow_path[used + a->len + 1] = '\0';
	return DETOUR_OK;
}

/* A maintenance target on this server ("/maintenance.html"), which page=
 * may serve; not "//host" (another host). */
static bool local_target(const char *t)
{
	return t[0] == '/' && t[1] != '/';
}

/* maintenance TARGET|- [status=...] [retry-after=...] [page=...]
 *             [allow-ip=...] [allow-path=...] [file=...] [on|off] */
static detour_err d_maintenance(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_conf_maint *m = &s->c->maint;
	char line[DETOUR_CONF_MAINT_TARGET_MAX + 64];
	bool on_seen = false, off_seen = false;
	struct arg v, status_v = {0}, page_v = {0};

	if (m->line != 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "maintenance is already set on line %u, at \"%%s\"",
		         m->line);
		return conf_fail(s, a[0].col, msg, a[0].p, a[0].len);
	}
	memset(m, 0, sizeof(*m));
	if (a[0].len >= sizeof(m->target) || memchr(a[0].p, '=', a[0].len) ||
	    conf_arg_is(&a[0], "on") || conf_arg_is(&a[0], "off"))
		return conf_fail(s, a[0].col,
		                 "expected a target URL or path first, or '-', found \"%s\"",
		                 a[0].p, a[0].len);
	if (conf_arg_is(&a[0], "-")) {
		/* No target: 503 Service Unavailable with a page. */
		m->status = 503;
	} else {
		m->status = 307;
		snprintf(line, sizeof(line), "/* %.*s 307 cache=no-store", (int)a[0].len, a[0].p);
		if (check_rule(s, a[0].col, "maintenance target", line, a[0].p, a[0].len) !=
		    DETOUR_OK)
			return DETOUR_EINVAL;
	}
	memcpy(m->target, a[0].p, a[0].len);
	for (unsigned i = 1; i < n; i++) {
		const struct arg *o = &a[i];
		if (conf_arg_is(o, "on") || conf_arg_is(o, "off")) {
			bool *seen = conf_arg_is(o, "on") ? &on_seen : &off_seen;
			if (on_seen || off_seen)
				return conf_fail(s, o->col, "'on' or 'off' given twice, at \"%s\"",
				                 o->p, o->len);
			*seen = true;
		} else if (conf_key_value(o, "status", &v)) {
			if (!(conf_arg_is(&v, "302") || conf_arg_is(&v, "303") ||
			      conf_arg_is(&v, "307") || conf_arg_is(&v, "503")))
				return conf_fail(
				        s, v.col,
				        "expected status 302, 303, 307 or 503, found \"%s\"", v.p,
				        v.len);
			m->status = (v.p[0] - '0') * 100 + (v.p[1] - '0') * 10 + (v.p[2] - '0');
			status_v = v;
		} else if (conf_key_value(o, "retry-after", &v)) {
			/* An HTTP-date holds spaces, which end an argument: the config
			 * takes a UTC time and writes the header's IMF-fixdate. */
			int64_t at;
			if (v.len <= 10 && value_retry_after(v.p, v.len)) {
				memcpy(m->retry_after, v.p, v.len);
				m->retry_after[v.len] = '\0';
			} else if (civil_parse_rfc3339_utc(v.p, v.len, &at) == 0) {
				civil_http_date(at, m->retry_after);
			} else {
				return conf_fail(
				        s, v.col,
				        "expected seconds or a UTC time (2026-11-23T04:00:00Z) for "
				        "retry-after, found \"%s\"",
				        v.p, v.len);
			}
		} else if (conf_key_value(o, "page", &v)) {
			/* Read by the server (src/server/maint.c) at start and
			 * at each reload, not here. */
			if (conf_set_path(s, &v, m->page) != DETOUR_OK)
				return DETOUR_EINVAL;
			page_v = v;
		} else if (conf_key_value(o, "allow-ip", &v)) {
			if (conf_each_item(s, &v, m_ip_item) != DETOUR_OK)
				return DETOUR_EINVAL;
		} else if (conf_key_value(o, "allow-path", &v)) {
			if (conf_each_item(s, &v, m_path_item) != DETOUR_OK)
				return DETOUR_EINVAL;
		} else if (conf_key_value(o, "file", &v)) {
			if (conf_set_path(s, &v, m->file) != DETOUR_OK)
				return DETOUR_EINVAL;
		} else {
			return conf_fail(
			        s, o->col,
			        "expected status=, retry-after=, page=, allow-ip=, allow-path=, "
			        "file=, on or off, found \"%s\"",
			        o->p, o->len);
		}
	}
	/* 503 has no target, a redirect needs one. */
	if (m->status == 503 && !conf_arg_is(&a[0], "-"))
		return conf_fail(s, status_v.col,
		                 "status 503 answers with a page, not a redirect: write "
		                 "\"maintenance - status=503\", found target \"%s\"",
		                 a[0].p, a[0].len);
	if (m->status != 503 && conf_arg_is(&a[0], "-"))
		return conf_fail(
		        s, status_v.col,
		        "a redirect needs a target: '-' (no target) answers 503, found status "
		        "\"%s\"",
		        status_v.p, status_v.len);
	/* page= with a redirect: served at its target, which must be here. */
	if (m->page[0] && m->status != 503 && !local_target(m->target))
		return conf_fail(
		        s, page_v.col,
		        "page= is served at a target on this server (/maintenance.html) or "
		        "with '-' (503), not at \"%s\"",
		        a[0].p, a[0].len);
	m->on = on_seen || (!off_seen && m->file[0] == '\0');
	m->line = s->line;
	return DETOUR_OK;
}

/* "5s", "2m", "500ms": milliseconds, or -1. */
static int64_t duration_ms(const struct arg *v)
{
	if (v->len > 2 && v->p[v->len - 2] == 'm' && v->p[v->len - 1] == 's') {
		int64_t ms = 0;
		if (v->len - 2 > 7)
			return -1;
		for (size_t i = 0; i < v->len - 2; i++) {
			if (v->p[i] < '0' || v->p[i] > '9')
				return -1;
			ms = ms * 10 + (v->p[i] - '0');
		}
		return ms;
	}
	int64_t secs = value_duration(v->p, v->len);
	return secs < 0 || secs > 86400 ? -1 : secs * 1000;
}

/* health-check [interval=5s] [timeout=2s] [rise=2] [fall=3] */
static detour_err d_health_check(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_conf_health *h = &s->c->health;
	struct arg v;

	for (unsigned i = 0; i < n; i++) {
		int64_t x;
		if (conf_key_value(&a[i], "interval", &v)) {
			x = duration_ms(&v);
			if (x < 100 || x > 3600000)
				return conf_fail(
				        s, v.col,
				        "expected an interval from 100ms to 1h (5s, 500ms), found "
				        "\"%s\"",
				        v.p, v.len);
			h->interval_ms = (unsigned)x;
		} else if (conf_key_value(&a[i], "timeout", &v)) {
			x = duration_ms(&v);
			if (x < 100 || x > 60000)
				return conf_fail(
				        s, v.col,
				        "expected a timeout from 100ms to 60s (2s, 500ms), found "
				        "\"%s\"",
				        v.p, v.len);
			h->timeout_ms = (unsigned)x;
		} else if (conf_key_value(&a[i], "rise", &v) || conf_key_value(&a[i], "fall", &v)) {
			x = value_size(v.p, v.len);
			if (x < 1 || x > 100 || v.p[v.len - 1] < '0' || v.p[v.len - 1] > '9')
				return conf_fail(s, v.col,
				                 "expected a count from 1 to 100, found \"%s\"",
				                 v.p, v.len);
			*(a[i].p[0] == 'r' ? &h->rise : &h->fall) = (unsigned)x;
		} else {
			return conf_fail(
			        s, a[i].col,
			        "expected interval=, timeout=, rise= or fall=, found \"%s\"",
			        a[i].p, a[i].len);
		}
	}
	if (h->timeout_ms > h->interval_ms) {
		detour_diag_set(s->d, s->name, s->line, a[0].col,
		                "health-check timeout (%u ms) is longer than its interval (%u ms)",
		                h->timeout_ms, h->interval_ms);
		return DETOUR_EINVAL;
	}
	return DETOUR_OK;
}

static const struct conf_directive directives[] = {
        {"listen", 1, 3, d_listen, "listen ADDR:PORT [tls] [proxy-protocol]",
         "Where to accept connections; repeatable. _[::1]:8080_ for IPv6, _\\*:8080_\n"
         "for every IPv4 address, a bare port for 127.0.0.1. Default 127.0.0.1:8080.\n"
         "*tls*: connections speak TLS 1.2 or 1.3 (certificates from *tls-cert* or\n"
         "*acme*). *proxy-protocol*: every connection must open with a PROXY v1 or\n"
         "v2 header, whose client address is then used; only peers listed in\n"
         "*trusted-proxies* may connect, and a connection without a valid header is\n"
         "closed (counted in /metrics)."},
        {"workers", 1, 1, d_workers, "workers auto|N",
         "Worker threads, each with its own event loop; auto is one per core."},
        {"rules", 1, 1, d_rules, "rules FILE",
         "A rules file (see *detour-rules*(5)); repeatable, read in order."},
        {"access-log", 1, 2, d_access_log, "access-log FILE|-|off [format=combined|json]",
         "The combined log format plus the rule id and the Location, or with\n"
         "*format=json* one JSON object a line (time, client, method, target, host,\n"
         "scheme, protocol, status, bytes, duration_ms, rule, origin, location,\n"
         "user_agent, referer). Default off. A line that cannot be written (a full\n"
         "disk) is dropped and counted in detour_accesslog_dropped_total: workers\n"
         "never wait for the disk."},
        {"error-log", 1, 1, d_error_log, "error-log FILE|stderr",
         "Start-up, reload and error messages."},
        {"server-header", 1, 1, d_server_header, "server-header on|off",
         "Send \"Server: detour\". Default off."},
        {"max-connections", 1, 1, d_max_connections, "max-connections N",
         "Open connections at most (default 10000)."},
        {"limit", 2, 2, d_limit, "limit target|header-bytes|headers|body|buffer-memory SIZE",
         "HTTP limits: 8k, 32k, 100 and 1m by default. *buffer-memory*: per worker, the\n"
         "bytes by which connection buffers may grow beyond their initial 4 KiB and\n"
         "8 KiB (long heads, oversized answers waiting for a slow client): 32m by\n"
         "default, at least 1m. A soft limit: past it, a connection whose output is\n"
         "backed up is paused (not read, no new request parsed) until its output\n"
         "drains (counted in detour\\_connections\\_paused\\_total{reason=\"memory\"}).\n"
         "Past twice it, the hard cap, the connection holding the most is closed\n"
         "(logged, and counted in detour\\_connections\\_shed\\_total{reason=\"memory\"})."},
        {"timeout", 2, 2, d_timeout, "timeout header|keepalive DURATION",
         "10s and 60s by default."},
        {"admin", 1, 2, d_admin, "admin ADDR:PORT [token-file=FILE]",
         "The admin API listener (JSON over HTTP/1.1). The token file holds one\n"
         "token a line, optionally led by a name (\"ops TOKEN\"); tokens are 16 to\n"
         "255 bytes and are compared in constant time. Without a token file the\n"
         "listener must be a loopback address. Against web pages, every request\n"
         "must name the listener (or localhost) in Host (else 421), carry no\n"
         "Origin but the listener's own (else 403), and label a body\n"
         "application/json (else 415); the token is checked right after the\n"
         "head, before any body is read."},
        {"state-dir", 1, 1, d_state_dir, "state-dir DIR",
         "Where the SQLite state lives: API rules, maintenance, audit log and\n"
         "statistics. Default _var_. Created if missing.\n"
         "On a full disk the admin API refuses changes with 507; a state-dir that\n"
         "cannot be written (a read-only file system) is opened read-only: its API\n"
         "rules and maintenance serve, changes get 503. Nothing refused is stored."},
        {"state", 1, 2, d_state, "state URL [node=NAME]",
         "Share the API rules, maintenance, statistics and the audit log of several\n"
         "nodes through Redis: *redis://*[_user_:_password_@]_host_:_port_/_db_ or\n"
         "*redis-sentinel://*_host_:_port_,_host_:_port_/_NAME_, with\n"
         "*?replicas=*_N_ (answer 2xx after WAIT N; 1 with sentinels),\n"
         "*?timeout=*_MS_ (a change's deadline, 2000) and *?prefix=*_P_. A change\n"
         "that cannot be made durable answers 503 and is applied on no node.\n"
         "*rediss://* and *rediss-sentinel://*: over TLS (see *state-ca*,\n"
         "*state-cert*; *?tls-name=*_NAME_ is the name the certificates must carry,\n"
         "by default the host connected to). *state-dir* keeps the\n"
         "last known state, served when Redis is unreachable at start. *node=* names\n"
         "this node (default: the host name)."},
        {"user", 1, 1, d_user, "user NAME",
         "After binding its sockets, switch to this user (start as root). The\n"
         "state dir is created and opened as that user and must be writable by it."},
        {"stats", 1, 1, d_stats, "stats on|off",
         "Per-rule hit counters, the unmatched-path sketch and the latency\n"
         "histogram. Default on."},
        {"stats-flush", 1, 1, d_stats_flush, "stats-flush DURATION",
         "How often counters are written to the state (default 5s); a crash loses\n"
         "at most this window."},
        {"audit-keep", 1, 2, d_audit_keep, "audit-keep DURATION|off [MAX-ENTRIES|off]",
         "How long the audit log (GET /audit) keeps its records: those older than\n"
         "_DURATION_, and the oldest beyond _MAX-ENTRIES_ when it is given, are\n"
         "deleted in the background, a few hundred at a time (in the SQLite state and\n"
         "in the fleet's Redis streams alike). Default *90d 100000*; *off* keeps\n"
         "everything. Pruned records are counted in detour\\_audit\\_pruned\\_total."},
        {"maintenance", 1, 8, d_maintenance,
         "maintenance TARGET|- [status=302|303|307|503] [retry-after=SECONDS|HTTP-date] "
         "[page=FILE] [allow-ip=CIDR,...] [allow-path=SOURCE,...] [file=PATH] [on|off]",
         "Maintenance mode. With a _TARGET_ (a path or an absolute URL), every\n"
         "request gets a redirect there (default 307), Cache-Control: no-store, and\n"
         "no Retry-After (on a 3xx it would mean \"wait before following\", RFC 9110\n"
         "section 10.2.3). With *-*, every request gets 503 Service Unavailable with\n"
         "an HTML page detour serves itself: _FILE_, else a built-in page; with\n"
         "Retry-After when *retry-after=* is given, so that search engines come back\n"
         "later. *page=* beside a _TARGET_ that is a path on this server serves the\n"
         "page at that path, as a 503 with Retry-After. The page is read at start,\n"
         "at each reload and by the admin API, never per request; a missing page or\n"
         "one over 128 KiB is an error naming it (a reload then fails as a whole).\n"
         "*allow-ip=* clients and *allow-path=* paths keep their normal rules.\n"
         "*on* (the default without *file=*) turns it on; *off* only defines what\n"
         "SIGUSR2 turns on; with *file=* it is on while _PATH_ exists. The latest\n"
         "change by the config, the file, SIGUSR2 or the admin API wins."},
        {"health-check", 1, 4, d_health_check,
         "health-check [interval=5s] [timeout=2s] [rise=2] [fall=3]",
         "How the *health=* targets of weighted rule groups are probed (see\n"
         "*detour-rules*(5)): every _interval_ (default 5s), each probe allowed _timeout_\n"
         "(default 2s, at most the interval); a target is up after _rise_ successes in\n"
         "a row (default 2) and down after _fall_ failures (default 3). Durations also\n"
         "take ms. The state shows in /metrics (detour_target_up) and *detour ctl\n"
         "targets*."},
        {"http2", 1, 1, d_http2, "http2 on|off",
         "HTTP/2 (RFC 9113): offered by ALPN (h2) on *tls* listeners and taken with\n"
         "prior knowledge (h2c) on plain ones. Default on."},
};

bool detour_config_directive(size_t i, const char **usage, const char **doc)
{
	const struct conf_directive *d;
	size_t n = sizeof(directives) / sizeof(directives[0]);

	if (i < n)
		d = &directives[i];
	else if (i - n < conf_https_ndirectives)
		d = &conf_https_directives[i - n];
	else
		return false;
	*usage = d->usage;
	*doc = d->doc;
	return true;
}

void detour_config_defaults(struct detour_config *c)
{
	memset(c, 0, sizeof(*c));
	detour_config_parse_listen("127.0.0.1:8080", 14, &c->listen[0]);
	c->nlisten = 1;
	c->workers = 0;
	strcpy(c->rules[0], "examples/site.rules");
	c->nrules = 1;
	c->max_connections = 10000;
	c->http2 = true;
	detour_http1_limits_default(&c->limits);
	c->buffer_memory = 32u << 20;
	c->header_timeout_ms = 10000;
	c->keepalive_timeout_ms = 60000;
	strcpy(c->state_dir, "var");
	c->stats = true;
	c->stats_flush_ms = 5000;
	c->audit_keep_s = 90 * 86400;
	c->audit_keep_max = 100000;
	c->health.interval_ms = 5000;
	c->health.timeout_ms = 2000;
	c->health.rise = 2;
	c->health.fall = 3;
}

static detour_err parse_line(struct pstate *s, const char *p, size_t len)
{
	struct arg a[CONF_MAX_ARGS + 1];
	unsigned n = 0;
	size_t i = 0;

	while (i < len) {
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == len || p[i] == '#')
			break;
		if (n == CONF_MAX_ARGS + 1)
			return conf_fail(s, (unsigned)i + 1, "too many arguments, at \"%s\"", p + i,
			                 len - i);
		a[n].p = p + i;
		a[n].col = (unsigned)i + 1;
		while (i < len && p[i] != ' ' && p[i] != '\t') {
			unsigned char ch = (unsigned char)p[i];
			if (ch < 0x20 || ch == 0x7f)
				return conf_fail(s, (unsigned)i + 1, "control character in \"%s\"",
				                 a[n].p, (size_t)(p + i - a[n].p));
			i++;
		}
		a[n].len = (size_t)(p + i - a[n].p);
		n++;
	}
	if (n == 0)
		return DETOUR_OK;
	/* The core directives, then the HTTPS group (config_https.c), in the
	 * order the error below lists them. */
	static const struct {
		const struct conf_directive *d;
		size_t n;
	} groups[] = {{directives, sizeof(directives) / sizeof(directives[0])},
	              {conf_https_directives, 0}};
	char known[512] = "";
	for (size_t g = 0; g < 2; g++) {
		size_t nd = g == 0 ? groups[g].n : conf_https_ndirectives;
		for (size_t k = 0; k < nd; k++) {
			const struct conf_directive *dv = &groups[g].d[k];
			if (!conf_arg_is(&a[0], dv->name)) {
				strcat(known, known[0] ? ", " : "");
				strcat(known, dv->name);
				continue;
			}
			if (n - 1 < dv->min_args || n - 1 > dv->max_args) {
				detour_diag_set(s->d, s->name, s->line, a[0].col,
				                "'%s' takes %u argument%s: %s", dv->name,
				                dv->min_args, dv->min_args == 1 ? "" : "s",
				                dv->usage);
				return DETOUR_EINVAL;
			}
			return dv->set(s, a + 1, n - 1);
		}
	}
	char word[64];
	snprintf(word, sizeof(word), "%.*s", (int)(a[0].len < 60 ? a[0].len : 60), a[0].p);
	detour_diag_set(s->d, s->name, s->line, a[0].col, "unknown directive \"%s\" (known: %s)",
	                word, known);
	return DETOUR_EINVAL;
}

detour_err detour_config_parse(struct detour_config *c, const char *name, const char *buf,
                               size_t len, struct detour_diag *d)
{
	struct pstate s = {.c = c, .name = name, .d = d};
	const char *slash = strrchr(name, '/');
	size_t off = 0;

	if (slash != NULL && (size_t)(slash - name) < sizeof(s.dir))
		snprintf(s.dir, sizeof(s.dir), "%.*s", (int)(slash - name), name);
	if (slash == name)
		strcpy(s.dir, "/");
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t l = end - off;

		s.line++;
		if (l > 0 && buf[off + l - 1] == '\r')
			l--;
		if (memchr(buf + off, '\0', l) != NULL) {
			detour_diag_set(d, name, s.line, 0, "NUL byte in the file");
			return DETOUR_EINVAL;
		}
		if (parse_line(&s, buf + off, l) != DETOUR_OK)
			return DETOUR_EINVAL;
		off = end + 1;
	}
	if (c->limits.max_target > c->limits.max_header_bytes) {
		detour_diag_set(d, name, 0, 0,
		                "limit target (%zu) is larger than limit header-bytes (%zu)",
		                c->limits.max_target, c->limits.max_header_bytes);
		return DETOUR_EINVAL;
	}
	if (conf_https_check(&s) != DETOUR_OK)
		return DETOUR_EINVAL;
	snprintf(c->file, sizeof(c->file), "%s", name);
	return DETOUR_OK;
}

detour_err detour_config_load(struct detour_config *c, const char *path, struct detour_diag *d)
{
	char *buf;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	detour_err err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	detour_config_defaults(c);
	if (fd < 0) {
		detour_diag_set(d, path, 0, 0, "cannot open: %s", strerror(errno));
		return DETOUR_EIO;
	}
	if (fstat(fd, &st) != 0 || st.st_size > 16 * 1024 * 1024) {
		detour_diag_set(d, path, 0, 0, "cannot read: %s",
		                st.st_size > 16 * 1024 * 1024 ? "file over 16 MiB"
		                                              : strerror(errno));
		close(fd);
		return DETOUR_EIO;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		detour_diag_set(d, path, 0, 0, "out of memory");
		return DETOUR_ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			detour_diag_set(d, path, 0, 0, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return DETOUR_EIO;
		}
		got += (size_t)n;
	}
	close(fd);
	err = detour_config_parse(c, path, buf, got, d);
	free(buf);
	return err;
}
