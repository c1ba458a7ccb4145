/* detour server: the admin thread, see admin.h. One thread, one epoll loop
 * (loop.c), a handful of connections: requests are parsed with the same
 * strict parser as the redirect path, bodies are read whole by
 * Content-Length (at most 1 MiB), JSON is read and written with jansson.
 *
 * A change (POST /rules, DELETE /rules/ID, POST /maintenance) is answered
 * only after (1) its SQLite transaction committed with synchronous=FULL and
 * (2) the new API table is published to every worker (server_publish waits
 * for their generations). So an acknowledged change is live everywhere and
 * survives kill -9. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "detour/http1.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/topk.h"
#include "loop.h"
#include "maint.h"
#include "server.h"
#include "state.h"
#include "stats.h"
#include "worker.h"

#define ADMIN_BODY_MAX  (1024 * 1024) /* bodies over 1 MiB: 413 */
#define ADMIN_HEAD_MAX  32768
#define ADMIN_CONNS_MAX 64
#define ADMIN_IDLE_MS   30000
#define TOKEN_MAX       256 /* bytes compared, always all of them */
#define TOKENS_MAX      32
#define TOPK_MERGED     256

const char *const admin_change_names[CHG_COUNT] = {"add", "delete", "expire", "maintenance",
                                                   "reload"};

struct token {
	char name[64];
	unsigned char secret[TOKEN_MAX]; /* zero-padded */
	size_t len;
};

struct aconn {
	struct loop_source src;
	struct admin *a;
	struct aconn *prev, *next;
	uint64_t deadline_ms;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool close_after, want_write;
};

struct admin {
	struct server *srv;
	pthread_t thread;
	bool started;
	struct loop *loop;
	struct loop_source listener; /* fd -1: no admin listener */
	struct loop_source wake;
	atomic_bool stop;
	struct aconn conns; /* sentinel */
	unsigned nconns;

	pthread_mutex_t tok_lock;
	bool auth; /* a token file is configured */
	struct token tokens[TOKENS_MAX];
	unsigned ntokens;

	struct api_rule *rules; /* the API rules of srv->api, precedence order */
	size_t nrules;
	struct maint_state maint;
	int64_t next_expiry; /* Unix seconds, 0 = none */
	uint64_t next_flush_ms;
	_Atomic unsigned long long changes[CHG_COUNT];
	struct detour_request req;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t now_sec(void)
{
	return (int64_t)time(NULL);
}

unsigned long long admin_changes(const struct admin *a, enum admin_change k)
{
	return a ? atomic_load(&a->changes[k]) : 0;
}

/* ---- privileges ---------------------------------------------------------- */

int privdrop_prepare(const struct detour_config *conf, struct privdrop *p, char *err, size_t cap)
{
	struct passwd *pw;

	memset(p, 0, sizeof(*p));
	if (conf->user[0] == '\0')
		return 0;
	pw = getpwnam(conf->user);
	if (pw == NULL) {
		snprintf(err, cap, "%s: user %s: no such user", conf->file, conf->user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0; /* already that user: nothing to drop */
		snprintf(err, cap, "%s: user %s: detour must start as root to switch to it",
		         conf->file, conf->user);
		return -1;
	}
	p->active = true;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	snprintf(p->user, sizeof(p->user), "%s", conf->user);
	return 0;
}

int privdrop_finish(const struct privdrop *p, char *err, size_t cap)
{
	if (!p->active)
		return 0;
	/* glibc applies set*id to every thread of the process. */
	if (initgroups(p->user, p->gid) || setgid(p->gid) || setuid(p->uid)) {
		snprintf(err, cap, "cannot switch to user %s: %s", p->user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, cap, "switched to user %s but could regain root", p->user);
		return -1;
	}
	log_info("running as user %s (uid %u)", p->user, (unsigned)p->uid);
	return 0;
}

/* ---- tokens: "NAME TOKEN" or "TOKEN" a line, '#' comments ---------------- */

static int load_tokens(const char *path, struct token *out, unsigned *n, char *err, size_t cap)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	unsigned ln = 0;

	*n = 0;
	if (f == NULL) {
		snprintf(err, cap, "token-file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *name = NULL, *tok, *save = NULL, *extra;
		ln++;
		line[strcspn(line, "\r\n")] = '\0';
		char *first = strtok_r(line, " \t", &save);
		if (first == NULL || first[0] == '#')
			continue;
		tok = strtok_r(NULL, " \t", &save);
		if (tok) {
			name = first;
		} else {
			tok = first;
		}
		extra = strtok_r(NULL, " \t", &save);
		if (extra || strlen(tok) < 16 || strlen(tok) >= TOKEN_MAX ||
		    (name && strlen(name) >= sizeof(out->name))) {
			snprintf(err, cap,
			         "%s:%u: expected \"NAME TOKEN\" or \"TOKEN\", the token 16 to 255 "
			         "bytes",
			         path, ln);
			fclose(f);
			return -1;
		}
		if (*n == TOKENS_MAX) {
			snprintf(err, cap, "%s:%u: too many tokens (at most %d)", path, ln,
			         TOKENS_MAX);
			fclose(f);
			return -1;
		}
		struct token *t = &out[(*n)++];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", name ? name : "admin");
		t->len = strlen(tok);
		memcpy(t->secret, tok, t->len);
	}
	fclose(f);
	if (*n == 0) {
		snprintf(err, cap, "token-file %s: no token in it", path);
		return -1;
	}
	return 0;
}

void admin_reload_tokens(struct admin *a, const struct detour_config *nc)
{
	struct token t[TOKENS_MAX];
	unsigned n = 0;
	char err[512];

	if (a == NULL || !a->auth)
		return;
	if (nc->admin_token_file[0] == '\0') {
		log_warn("reload: removing the admin token-file takes effect at the next restart");
		return;
	}
	if (load_tokens(nc->admin_token_file, t, &n, err, sizeof(err))) {
		log_err("reload: %s; the old admin tokens stay", err);
		return;
	}
	pthread_mutex_lock(&a->tok_lock);
	memcpy(a->tokens, t, sizeof(t));
	a->ntokens = n;
	pthread_mutex_unlock(&a->tok_lock);
}

/* Compares the presented token with every configured one, always all
 * TOKEN_MAX bytes of each, so the time does not depend on where (or
 * whether) a token differs. Returns the index matched or -1. */
static int token_match(struct admin *a, const char *p, size_t len)
{
	unsigned char given[TOKEN_MAX] = {0};
	int found = -1;

	memcpy(given, p, len < TOKEN_MAX ? len : TOKEN_MAX);
	pthread_mutex_lock(&a->tok_lock);
	for (unsigned i = 0; i < a->ntokens; i++) {
		volatile unsigned char d = (unsigned char)((a->tokens[i].len ^ len) != 0);
		for (size_t k = 0; k < TOKEN_MAX; k++)
			d |= given[k] ^ a->tokens[i].secret[k];
		/* Branch-free select of the first match. */
		int hit = (d == 0) & (found < 0);
		found = hit ? (int)i : found;
	}
	pthread_mutex_unlock(&a->tok_lock);
	return found;
}

/* ---- time ---------------------------------------------------------------- */

static void fmt_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *json_time(int64_t t)
{
	char b[32];

	if (t <= 0)
		return json_null();
	fmt_time(t, b);
	return json_string(b);
}

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* RFC 3339 date-time: 2026-11-23T10:00:00Z, with optional fraction and a
 * numeric offset. Returns 0 and *out (Unix seconds), or -1. */
static int parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm = {0};
	size_t len = strlen(s), i = 19;
	int y, mo, d, h, mi, se, off = 0;

	if (len < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return -1;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || se < 0 || se > 60)
		return -1;
	if (s[i] == '.') {
		i++;
		size_t f = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return -1;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		off = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
	} else {
		return -1;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

/* ---- building and publishing the API table ------------------------------- */

/* Builds the API table from rules (those not expired at now) and m. Returns
 * NULL with err. *next gets the earliest future expiry (0 = none). */
static struct served *build_api(struct server *srv, const struct api_rule *rules, size_t n,
                                const struct maint_state *m, int64_t now, int64_t *next, char *err,
                                size_t cap)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d = {0};
	struct served *s;

	*next = 0;
	if (rs == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (rules[i].expires > 0 && rules[i].expires <= now)
			continue;
		if (rules[i].expires > 0 && (*next == 0 || rules[i].expires < *next))
			*next = rules[i].expires;
		/* A ruleset is discarded after an error: try the line alone
		 * first. A rule stored before a change of the rule language is
		 * skipped (and said so); the others keep serving. */
		struct detour_ruleset *one = detour_ruleset_new();
		if (one == NULL)
			goto oom_rs;
		if (detour_ruleset_add_line(one, "api", (unsigned)rules[i].n, rules[i].line,
		                            strlen(rules[i].line), &d) != DETOUR_OK) {
			char b[512];
			log_err("API rule %s is not valid any more and is not served: %s",
			        rules[i].id, detour_diag_format(&d, b, sizeof(b)));
			detour_ruleset_free(one);
			continue;
		}
		detour_ruleset_free(one);
		if (detour_ruleset_add_line(rs, "api", (unsigned)rules[i].n, rules[i].line,
		                            strlen(rules[i].line), &d) != DETOUR_OK) {
			detour_diag_format(&d, err, cap);
			detour_ruleset_free(rs);
			return NULL;
		}
	}
	if (detour_ruleset_count(rs) > 0) {
		if (detour_table_build(rs, &t, &d) != DETOUR_OK) {
			detour_diag_format(&d, err, cap);
			return NULL;
		}
	} else {
		detour_ruleset_free(rs);
	}
	/* Maintenance is published on its own (maint.c); only its end is
	 * watched here. */
	if (m->on && m->since > 0 && m->until > now && (*next == 0 || m->until < *next))
		*next = m->until;
	s = served_new(t, ORIGIN_API, srv->nworkers, srv->conf.stats);
	if (s == NULL)
		goto oom;
	return s;
oom_rs:
	detour_ruleset_free(rs);
oom:
	snprintf(err, cap, "out of memory");
	return NULL;
}

/* Takes over rules (and m's copy) as the admin's current API state and
 * publishes s. */
static void publish(struct admin *a, struct served *s, struct api_rule *rules, size_t n,
                    const struct maint_state *m, int64_t next)
{
	server_publish(a->srv, &a->srv->api, s);
	state_rules_free(a->rules, a->nrules);
	a->rules = rules;
	a->nrules = n;
	a->maint = *m;
	a->next_expiry = next;
}

/* Rules and maintenance whose time ran out: delete them (audited) and
 * publish the table without them. */
static void expire(struct admin *a)
{
	struct state *st = a->srv->state;
	struct api_rule *rules;
	struct maint_state m;
	size_t n;
	int64_t now = now_sec(), next;
	char err[512];
	int k;

	if (state_begin(st, err, sizeof(err)))
		goto fail;
	k = state_rules_expire(st, now, err, sizeof(err));
	if (k < 0 || state_maint_get(st, &m, err, sizeof(err)))
		goto rollback;
	bool maint_ended = false;
	if (m.on && m.since > 0 && m.until > 0 && m.until <= now) {
		/* The API's maintenance ran out: the config and the file decide
		 * again (maint.c); nothing is stored any more. */
		m.on = false;
		m.since = 0;
		if (state_maint_set(st, &m, err, sizeof(err)) ||
		    state_audit(st, now, "detour", "maintenance", "api maintenance ended (until reached)",
		                err, sizeof(err)))
			goto rollback;
		atomic_fetch_add(&a->changes[CHG_MAINTENANCE], 1);
		maint_ended = true;
	}
	if (state_rules_load(st, &rules, &n, err, sizeof(err)))
		goto rollback;
	struct served *s = build_api(a->srv, rules, n, &m, now, &next, err, sizeof(err));
	if (s == NULL) {
		state_rules_free(rules, n);
		goto rollback;
	}
	if (state_commit(st, err, sizeof(err))) {
		served_free(s);
		state_rules_free(rules, n);
		goto fail;
	}
	publish(a, s, rules, n, &m, next);
	if (maint_ended)
		maint_api_expired(a->srv);
	if (k > 0) {
		atomic_fetch_add(&a->changes[CHG_EXPIRE], (unsigned)k);
		log_info("admin: %d API rule%s expired", k, k == 1 ? "" : "s");
	}
	return;
rollback:
	state_rollback(st);
fail:
	log_err("admin: expiring API rules: %s; retrying in 1 s", err);
	a->next_expiry = now + 1;
}

/* ---- HTTP ---------------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static void aconn_close(struct aconn *c)
{
	struct admin *a = c->a;

	c->prev->next = c->next;
	c->next->prev = c->prev;
	loop_del(a->loop, &c->src);
	close(c->src.fd);
	free(c->in);
	free(c->out);
	free(c);
	a->nconns--;
}

static bool aconn_flush(struct aconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->src.fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->want_write)
					loop_mod(c->a->loop, &c->src, LOOP_WRITE);
				c->want_write = true;
				return true;
			}
			aconn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->want_write)
		loop_mod(c->a->loop, &c->src, LOOP_READ);
	c->want_write = false;
	if (c->close_after) {
		aconn_close(c);
		return false;
	}
	return true;
}

/* Queues a whole response. body is copied. */
static void reply(struct aconn *c, int status, const char *ctype, const char *body, size_t len,
                  const char *extra)
{
	char head[512];
	char date[DETOUR_DATE_LEN + 1];
	int hl;
	char *p;

	detour_http_date(time(NULL), date);
	hl = snprintf(head, sizeof(head),
	              "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s%sContent-Length: %zu\r\n"
	              "Cache-Control: no-store\r\n%s\r\n",
	              status, reason(status), date, ctype ? "Content-Type: " : "",
	              ctype ? ctype : "", ctype ? "\r\n" : "", extra ? extra : "", len,
	              c->close_after ? "Connection: close\r\n" : "");
	p = realloc(c->out, c->out_len + (size_t)hl + len);
	if (p == NULL) {
		c->close_after = true;
		return;
	}
	c->out = p;
	memcpy(c->out + c->out_len, head, (size_t)hl);
	memcpy(c->out + c->out_len + hl, body, len);
	c->out_len += (size_t)hl + len;
}

static void reply_json(struct aconn *c, int status, json_t *j, const char *extra)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	if (j && s == NULL) {
		reply(c, 500, NULL, "", 0, NULL);
	} else if (s) {
		size_t n = strlen(s);
		s[n] = '\0';
		char *nl = malloc(n + 1);
		if (nl) {
			memcpy(nl, s, n);
			nl[n] = '\n';
			reply(c, status, "application/json", nl, n + 1, extra);
			free(nl);
		} else {
			reply(c, 500, NULL, "", 0, NULL);
		}
	} else {
		reply(c, status, NULL, "", 0, extra);
	}
	free(s);
	json_decref(j);
}

static void reply_error(struct aconn *c, int status, const char *msg)
{
	reply_json(c, status, json_pack("{s:s}", "error", msg),
	           status == 401 ? "WWW-Authenticate: Bearer realm=\"detour\"\r\n" : NULL);
}

/* Percent-decodes src[0..len) into dst (cap >= len + 1); '+' is a space
 * when plus. Returns false on a bad escape or a NUL. */
static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)(ch | 32);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static bool pct_decode(const char *src, size_t len, char *dst, bool plus)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = src[i];
		if (ch == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return false;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dst[o++] = plus && ch == '+' ? ' ' : ch;
		}
	}
	dst[o] = '\0';
	return true;
}

/* Finds key in the query string; decodes its value into buf. */
static const char *query_get(const struct detour_request *r, const char *key, char *buf, size_t cap)
{
	const char *p = r->query, *end = r->query ? r->query + r->query_len : NULL;
	size_t kl = strlen(key);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		if (eq && (size_t)(eq - p) == kl && !memcmp(p, key, kl) &&
		    (size_t)(e - eq) <= cap && pct_decode(eq + 1, (size_t)(e - eq - 1), buf, true))
			return buf;
		if (!eq && (size_t)(e - p) == kl && !memcmp(p, key, kl)) {
			buf[0] = '\0';
			return buf;
		}
		p = amp ? amp + 1 : end;
	}
	return NULL;
}

static int64_t query_int(const struct detour_request *r, const char *key, int64_t def, int64_t lo,
                         int64_t hi, bool *bad)
{
	char b[32];
	char *end;
	long long v;

	if (query_get(r, key, b, sizeof(b)) == NULL)
		return def;
	errno = 0;
	v = strtoll(b, &end, 10);
	if (b[0] == '\0' || *end || errno || v < lo || v > hi) {
		*bad = true;
		return def;
	}
	return v;
}

/* ---- endpoints ------------------------------------------------------------ */

struct ctx {
	struct admin *a;
	struct aconn *c;
	const struct detour_request *r;
	const char *body;
	size_t body_len;
	const char *who;
};

/* Parses the body as a JSON object whose keys are all in allowed. */
static json_t *body_object(struct ctx *x, const char *const *allowed)
{
	json_error_t e;
	json_t *j;
	const char *k;
	json_t *v;
	char msg[300];

	if (x->body_len == 0) {
		reply_error(x->c, 400, "expected a JSON object in the body");
		return NULL;
	}
	j = json_loadb(x->body, x->body_len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		snprintf(msg, sizeof(msg), "invalid JSON at line %d, column %d: %s", e.line,
		         e.column, e.text);
		reply_error(x->c, 400, msg);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		reply_error(x->c, 400, "expected a JSON object in the body");
		return NULL;
	}
	json_object_foreach(j, k, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || !strcmp(k, allowed[i]);
		if (!ok) {
			snprintf(msg, sizeof(msg), "unknown field \"%.100s\"", k);
			reply_error(x->c, 400, msg);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

/* "ttl" (a duration) or "until" (RFC 3339) into an absolute expiry; 0 when
 * neither. Returns -1 after answering 400. */
static int expiry_of(struct ctx *x, json_t *j, int64_t now, int64_t *expires)
{
	json_t *ttl = json_object_get(j, "ttl"), *until = json_object_get(j, "until");

	*expires = 0;
	if (ttl && !json_is_null(ttl) && until && !json_is_null(until)) {
		reply_error(x->c, 400, "give \"ttl\" or \"until\", not both");
		return -1;
	}
	if (ttl && !json_is_null(ttl)) {
		const char *s = json_string_value(ttl);
		int64_t d = s ? detour_parse_duration(s, strlen(s)) : -1;
		if (d <= 0) {
			reply_error(x->c, 400,
			            "\"ttl\": expected a duration such as \"90s\", \"30m\", "
			            "\"48h\" or \"7d\"");
			return -1;
		}
		*expires = now + d;
	} else if (until && !json_is_null(until)) {
		const char *s = json_string_value(until);
		if (s == NULL || parse_rfc3339(s, expires)) {
			reply_error(x->c, 400,
			            "\"until\": expected an RFC 3339 time such as "
			            "\"2026-12-01T00:00:00Z\"");
			return -1;
		}
		if (*expires <= now) {
			reply_error(x->c, 400, "\"until\" is in the past");
			return -1;
		}
	}
	return 0;
}

static json_t *api_rule_json(const struct api_rule *r)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "id", r->id, "rule", r->line, "origin",
	                 "api", "expires", json_time(r->expires), "created", json_time(r->created),
	                 "who", r->who);
}

/* The text of a file rule, rebuilt from its parsed form. */
static void file_rule_text(const struct detour_rule *r, char *out, size_t cap)
{
	static const char *const schemes[] = {"//", "http://", "https://"};
	static const char *const qm[] = {"", " query=drop", " query=merge"};
	char cache[32] = "";
	char id[300] = "";

	if (r->cache == DETOUR_CACHE_NO_STORE)
		snprintf(cache, sizeof(cache), " cache=no-store");
	else if (r->cache > 0)
		snprintf(cache, sizeof(cache), " cache=%ds", (int)r->cache);
	if (r->flags & DETOUR_RULE_ID_SET)
		snprintf(id, sizeof(id), " id=%.280s", r->id);
	snprintf(out, cap, "%s%s%s%s%s %s %u%s%s%s", r->host[0] ? schemes[r->scheme % 3] : "",
	         (r->flags & DETOUR_RULE_HOST_WILDCARD) ? "*" : "", r->host, r->path,
	         r->kind == DETOUR_SRC_SPLAT ? "*" : "", r->target[0] ? r->target : "-",
	         (unsigned)r->status, qm[r->query % 3], cache, id);
}

static void get_rules(struct ctx *x)
{
	struct admin *a = x->a;
	char origin[8] = "", q[512] = "";
	bool bad = false;
	int64_t offset = query_int(x->r, "offset", 0, 0, INT64_MAX / 2, &bad);
	int64_t limit = query_int(x->r, "limit", 100, 1, 1000, &bad);
	int64_t total = 0;
	json_t *arr = json_array();
	char text[DETOUR_RULE_LINE_MAX < 4096 ? DETOUR_RULE_LINE_MAX : 4096], id[1024];

	if (query_get(x->r, "origin", origin, sizeof(origin)) && strcmp(origin, "api") &&
	    strcmp(origin, "file"))
		bad = true;
	query_get(x->r, "q", q, sizeof(q));
	if (bad) {
		json_decref(arr);
		reply_error(
		        x->c, 400,
		        "query: offset >= 0, limit 1 to 1000, origin api or file, q a substring");
		return;
	}
	/* API rules first: they take precedence. */
	if (strcmp(origin, "file")) {
		for (size_t i = 0; i < a->nrules; i++) {
			const struct api_rule *r = &a->rules[i];
			if (q[0] && !strstr(r->line, q) && !strstr(r->id, q))
				continue;
			if (total >= offset && total < offset + limit)
				json_array_append_new(arr, api_rule_json(r));
			total++;
		}
	}
	if (strcmp(origin, "api")) {
		pthread_mutex_lock(&a->srv->reload_lock);
		const struct served *s = atomic_load(&a->srv->table);
		for (size_t i = 0; i < s->nrules; i++) {
			const struct detour_rule *r = detour_ruleset_get(s->rules, i);
			detour_rule_id(s->rules, r, id, sizeof(id));
			file_rule_text(r, text, sizeof(text));
			if (q[0] && !strstr(text, q) && !strstr(id, q))
				continue;
			if (total >= offset && total < offset + limit) {
				char at[1100];
				snprintf(at, sizeof(at), "%s:%u",
				         detour_ruleset_file(s->rules, r->file), (unsigned)r->line);
				json_array_append_new(arr,
				                      json_pack("{s:s, s:s, s:s, s:n, s:s}", "id",
				                                id, "rule", text, "origin", "file",
				                                "expires", "at", at));
			}
			total++;
		}
		pthread_mutex_unlock(&a->srv->reload_lock);
	}
	reply_json(x->c, 200,
	           json_pack("{s:o, s:I, s:I, s:I}", "rules", arr, "total", (json_int_t)total,
	                     "offset", (json_int_t)offset, "limit", (json_int_t)limit),
	           NULL);
}

static void post_rules(struct ctx *x)
{
	static const char *const allowed[] = {"rule", "ttl", "until", NULL};
	struct admin *a = x->a;
	struct state *st = a->srv->state;
	json_t *j = body_object(x, allowed);
	struct detour_ruleset *rs;
	struct detour_diag d = {0};
	struct api_rule *rules = NULL;
	size_t n = 0;
	int64_t now = now_sec(), expires, row, next;
	char err[600], id[300];
	const char *line;
	struct served *s;
	int rc;

	if (j == NULL)
		return;
	line = json_string_value(json_object_get(j, "rule"));
	if (line == NULL) {
		json_decref(j);
		reply_error(x->c, 400, "\"rule\": expected one line of the rule language");
		return;
	}
	if (expiry_of(x, j, now, &expires)) {
		json_decref(j);
		return;
	}
	/* Validate alone first, for a located error message. */
	rs = detour_ruleset_new();
	if (rs == NULL ||
	    detour_ruleset_add_line(rs, "rule", 1, line, strlen(line), &d) != DETOUR_OK) {
		detour_diag_format(&d, err, sizeof(err));
		detour_ruleset_free(rs);
		json_decref(j);
		reply_error(x->c, 400, rs ? err : "out of memory");
		return;
	}
	const struct detour_rule *pr = detour_ruleset_get(rs, 0);
	if (pr->flags & DETOUR_RULE_ID_SET)
		snprintf(id, sizeof(id), "%s", pr->id);
	else
		id[0] = '\0';
	detour_ruleset_free(rs);
	/* id= cannot hold ':' (the rule language), so it never clashes with
	 * the "api:N" ids given here. */

	if (state_begin(st, err, sizeof(err)))
		goto fail;
	rc = state_rule_insert(st, id[0] ? id : "pending", line, now, expires, x->who, &row, err,
	                       sizeof(err));
	if (rc == 0 && !id[0]) {
		snprintf(id, sizeof(id), "api:%lld", (long long)row);
		rc = state_rule_set_id(st, row, id, err, sizeof(err));
	}
	if (rc == 1) {
		state_rollback(st);
		json_decref(j);
		reply_error(x->c, 409, err);
		return;
	}
	if (rc < 0)
		goto rollback;
	char detail[DETOUR_RULE_LINE_MAX < 2048 ? DETOUR_RULE_LINE_MAX : 2048];
	snprintf(detail, sizeof(detail), "%s %s", id, line);
	if (state_audit(st, now, x->who, "add", detail, err, sizeof(err)) ||
	    state_rules_load(st, &rules, &n, err, sizeof(err)))
		goto rollback;
	s = build_api(a->srv, rules, n, &a->maint, now, &next, err, sizeof(err));
	if (s == NULL) {
		state_rules_free(rules, n);
		state_rollback(st);
		json_decref(j);
		reply_error(x->c, 400, err);
		return;
	}
	if (state_commit(st, err, sizeof(err))) {
		served_free(s);
		state_rules_free(rules, n);
		goto fail;
	}
	publish(a, s, rules, n, &a->maint, next);
	atomic_fetch_add(&a->changes[CHG_ADD], 1);
	json_decref(j);
	for (size_t i = 0; i < a->nrules; i++) {
		if (!strcmp(a->rules[i].id, id)) {
			char loc[400];
			snprintf(loc, sizeof(loc), "Location: /rules/%s\r\n", id);
			reply_json(x->c, 201, api_rule_json(&a->rules[i]), loc);
			return;
		}
	}
	reply_error(x->c, 500, "the rule was stored but is not in the table");
	return;
rollback:
	state_rollback(st);
fail:
	json_decref(j);
	log_err("admin: %s", err);
	reply_error(x->c, 500, err);
}

static void delete_rule(struct ctx *x, const char *id)
{
	struct admin *a = x->a;
	struct state *st = a->srv->state;
	struct api_rule *rules = NULL;
	size_t n = 0;
	int64_t now = now_sec(), next;
	char err[600];
	struct served *s;
	int rc;

	if (state_begin(st, err, sizeof(err)))
		goto fail;
	rc = state_rule_delete(st, id, err, sizeof(err));
	if (rc < 0)
		goto rollback;
	if (rc == 0) {
		state_rollback(st);
		/* A file rule is changed in its file. */
		bool file = false;
		pthread_mutex_lock(&a->srv->reload_lock);
		const struct served *fs = atomic_load(&a->srv->table);
		char b[1024];
		for (size_t i = 0; i < fs->nrules && !file; i++)
			file = !strcmp(detour_rule_id(fs->rules, detour_ruleset_get(fs->rules, i),
			                              b, sizeof(b)),
			               id);
		pthread_mutex_unlock(&a->srv->reload_lock);
		if (file)
			reply_error(x->c, 409, "a file rule: change its file and reload");
		else
			reply_error(x->c, 404, "no API rule has this id");
		return;
	}
	if (state_audit(st, now, x->who, "delete", id, err, sizeof(err)) ||
	    state_rules_load(st, &rules, &n, err, sizeof(err)))
		goto rollback;
	s = build_api(a->srv, rules, n, &a->maint, now, &next, err, sizeof(err));
	if (s == NULL) {
		state_rules_free(rules, n);
		goto rollback;
	}
	if (state_commit(st, err, sizeof(err))) {
		served_free(s);
		state_rules_free(rules, n);
		goto fail;
	}
	publish(a, s, rules, n, &a->maint, next);
	atomic_fetch_add(&a->changes[CHG_DELETE], 1);
	reply(x->c, 204, NULL, "", 0, NULL);
	return;
rollback:
	state_rollback(st);
fail:
	log_err("admin: %s", err);
	reply_error(x->c, 500, err);
}

/* ---- maintenance ----------------------------------------------------------
 * The state's maintenance row keeps what the API set last (maint.c decides
 * what applies). Its columns predate Retry-After and allow-ip: those ride in
 * `allow` as lines "@ip CIDR" and "@retry-after VALUE" beside the path
 * sources (a rule source never starts with '@'). since 0 means nothing is
 * stored: a later change by the config, the file or SIGUSR2 superseded it. */

static void cidr_text(const struct detour_conf_cidr *c, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(out, cap, "%s/%u", a, c->prefix);
}

static void row_to_params(const struct maint_state *m, struct maint_params *p)
{
	size_t used = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->target, sizeof(p->target), "%s", m->target);
	p->status = m->status;
	for (const char *s = m->allow; *s;) {
		size_t l = strcspn(s, "\n");
		if (l > 4 && !memcmp(s, "@ip ", 4)) {
			if (p->nallow_ip < DETOUR_CONF_MAX_CIDRS &&
			    detour_conf_cidr_parse(s + 4, l - 4, &p->allow_ip[p->nallow_ip]) ==
			            DETOUR_OK)
				p->nallow_ip++;
		} else if (l > 13 && !memcmp(s, "@retry-after ", 13)) {
			snprintf(p->retry_after, sizeof(p->retry_after), "%.*s", (int)(l - 13), s + 13);
		} else if (l > 0 && used + l + 2 <= sizeof(p->allow_path)) {
			memcpy(p->allow_path + used, s, l);
			used += l;
			p->allow_path[used++] = '\n';
			p->allow_path[used] = '\0';
		}
		s += l + (s[l] == '\n');
	}
}

/* Returns 0, or -1 when it does not fit in the allow column (4 KiB). */
static int params_to_row(const struct maint_params *p, struct maint_state *m)
{
	int n = snprintf(m->allow, sizeof(m->allow), "%s", p->allow_path);
	size_t used = n > 0 ? (size_t)n : 0;

	snprintf(m->target, sizeof(m->target), "%s", p->target);
	m->status = p->status;
	for (unsigned i = 0; i < p->nallow_ip && used < sizeof(m->allow); i++) {
		char c[INET6_ADDRSTRLEN + 8];
		cidr_text(&p->allow_ip[i], c, sizeof(c));
		used += (size_t)snprintf(m->allow + used, sizeof(m->allow) - used, "@ip %s\n", c);
	}
	if (p->retry_after[0] && used < sizeof(m->allow))
		used += (size_t)snprintf(m->allow + used, sizeof(m->allow) - used,
		                         "@retry-after %s\n", p->retry_after);
	return used < sizeof(m->allow) ? 0 : -1;
}

static json_t *maint_json(const struct maint_status *m)
{
	json_t *allow = json_array();

	if (!m->on)
		return json_pack("{s:b, s:o}", "on", 0, "allow", allow);
	for (const char *p = m->p.allow_path; *p;) {
		size_t l = strcspn(p, "\n");
		if (l)
			json_array_append_new(allow, json_stringn(p, l));
		p += l + (p[l] == '\n');
	}
	json_t *ips = json_array();
	for (unsigned i = 0; i < m->p.nallow_ip; i++) {
		char c[INET6_ADDRSTRLEN + 8];
		cidr_text(&m->p.allow_ip[i], c, sizeof(c));
		json_array_append_new(ips, json_string(c));
	}
	return json_pack("{s:b, s:s, s:i, s:o, s:o, s:o, s:o, s:s, s:s, s:o}", "on", 1, "target",
	                 m->p.target, "status", m->p.status, "allow", allow, "allow_ip", ips,
	                 "since", json_time(m->since), "until", json_time(m->until), "who", m->who,
	                 "source", maint_source_names[m->source], "retry_after",
	                 m->p.retry_after[0] ? json_string(m->p.retry_after) : json_null());
}

static json_t *maint_now_json(struct admin *a)
{
	struct maint_status ms;

	maint_get(a->srv, &ms);
	return maint_json(&ms);
}

void admin_maint_record(struct server *srv, const struct maint_status *ms)
{
	struct state *st = srv->state;
	struct maint_state m;
	char err[512], detail[64];

	if (st == NULL || srv->admin == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.on = ms->on;
	m.status = 307;
	snprintf(m.who, sizeof(m.who), "%s", ms->who);
	snprintf(detail, sizeof(detail), "%s by %s", ms->on ? "on" : "off",
	         maint_source_names[ms->source]);
	if (state_begin(st, err, sizeof(err)))
		goto fail;
	if (state_maint_set(st, &m, err, sizeof(err)) ||
	    state_audit(st, (int64_t)time(NULL), ms->who, "maintenance", detail, err, sizeof(err))) {
		state_rollback(st);
		goto fail;
	}
	if (state_commit(st, err, sizeof(err)))
		goto fail;
	atomic_fetch_add(&srv->admin->changes[CHG_MAINTENANCE], 1);
	return;
fail:
	log_err("maintenance: recording the change: %s", err);
}

static void post_maintenance(struct ctx *x)
{
	static const char *const allowed[] = {"on",  "target", "status",      "allow", "allow_ip",
	                                      "ttl", "until",  "retry_after", NULL};
	struct admin *a = x->a;
	struct state *st = a->srv->state;
	json_t *j = body_object(x, allowed), *v;
	struct maint_state m;
	struct maint_params p;
	struct api_rule *rules = NULL;
	size_t n = 0, i;
	int64_t now = now_sec(), next;
	char err[600];
	struct served *s;
	const char *bad = NULL;

	if (j == NULL)
		return;
	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	v = json_object_get(j, "on");
	if (!json_is_boolean(v)) {
		json_decref(j);
		reply_error(x->c, 400, "\"on\": expected true or false");
		return;
	}
	m.on = json_is_true(v);
	p.status = 307;
	m.since = now;
	snprintf(m.who, sizeof(m.who), "%s", x->who);
	if (m.on) {
		const char *t = json_string_value(json_object_get(j, "target"));
		if (t == NULL || t[0] == '\0' || strlen(t) >= sizeof(p.target) ||
		    strpbrk(t, " \t\r\n")) {
			json_decref(j);
			reply_error(x->c, 400, "\"target\": expected a URL or a path");
			return;
		}
		snprintf(p.target, sizeof(p.target), "%s", t);
		v = json_object_get(j, "status");
		if (v) {
			json_int_t sc = json_is_integer(v) ? json_integer_value(v) : 0;
			if (sc != 302 && sc != 303 && sc != 307) {
				json_decref(j);
				reply_error(x->c, 400,
				            "\"status\": expected 302, 303 or 307 (temporary)");
				return;
			}
			p.status = (int)sc;
		}
		v = json_object_get(j, "allow");
		if (v) {
			json_t *e;
			size_t used = 0;
			if (!json_is_array(v)) {
				json_decref(j);
				reply_error(x->c, 400,
				            "\"allow\": expected an array of rule sources");
				return;
			}
			json_array_foreach(v, i, e)
			{
				const char *q = json_string_value(e);
				size_t l = q ? strlen(q) : 0;
				if (q == NULL || l == 0 || q[0] == '@' || strpbrk(q, " \t\r\n") ||
				    used + l + 2 > sizeof(p.allow_path)) {
					json_decref(j);
					reply_error(x->c, 400,
					            "\"allow\": expected sources such as "
					            "\"/status\" or "
					            "\"/api/*\" (4 KiB in all)");
					return;
				}
				memcpy(p.allow_path + used, q, l);
				used += l;
				p.allow_path[used++] = '\n';
				p.allow_path[used] = '\0';
			}
		}
		/* allow_ip: client ranges that keep their normal rules. */
		v = json_object_get(j, "allow_ip");
		if (v) {
			json_t *e;
			if (!json_is_array(v) || json_array_size(v) > DETOUR_CONF_MAX_CIDRS)
				bad = "\"allow_ip\": expected an array of at most 64 addresses or CIDR "
				      "ranges";
			json_array_foreach(v, i, e)
			{
				const char *q = json_string_value(e);
				if (bad == NULL &&
				    (q == NULL || detour_conf_cidr_parse(q, strlen(q),
				                                         &p.allow_ip[p.nallow_ip++]) !=
				                          DETOUR_OK))
					bad = "\"allow_ip\": expected addresses or CIDR ranges "
					      "(10.0.0.0/8, 2001:db8::/32) with no bits past the prefix";
			}
		}
		/* retry_after: seconds (a number or digits) or an HTTP-date. */
		v = json_object_get(j, "retry_after");
		if (v && bad == NULL) {
			if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			    json_integer_value(v) <= 9999999999LL)
				snprintf(p.retry_after, sizeof(p.retry_after), "%lld",
				         (long long)json_integer_value(v));
			else if (json_is_string(v) &&
			         detour_retry_after_valid(json_string_value(v), json_string_length(v)))
				snprintf(p.retry_after, sizeof(p.retry_after), "%s",
				         json_string_value(v));
			else
				bad = "\"retry_after\": expected seconds or an HTTP-date (Sun, 06 Nov "
				      "1994 08:49:37 GMT)";
		}
		if (bad) {
			json_decref(j);
			reply_error(x->c, 400, bad);
			return;
		}
		if (expiry_of(x, j, now, &m.until)) {
			json_decref(j);
			return;
		}
		if (maint_check(&p, err, sizeof(err))) {
			json_decref(j);
			reply_error(x->c, 400, err);
			return;
		}
		if (params_to_row(&p, &m)) {
			json_decref(j);
			reply_error(x->c, 400, "\"allow\", \"allow_ip\": over 4 KiB in all");
			return;
		}
	}
	json_decref(j);
	if (state_begin(st, err, sizeof(err)))
		goto fail;
	char detail[MAINT_TARGET_MAX + 64];
	snprintf(detail, sizeof(detail), m.on ? "on %s %d" : "off", p.target, p.status);
	if (state_maint_set(st, &m, err, sizeof(err)) ||
	    state_audit(st, now, x->who, "maintenance", detail, err, sizeof(err)) ||
	    state_rules_load(st, &rules, &n, err, sizeof(err)))
		goto rollback;
	s = build_api(a->srv, rules, n, &m, now, &next, err, sizeof(err));
	if (s == NULL) {
		state_rules_free(rules, n);
		state_rollback(st);
		reply_error(x->c, 400, err);
		return;
	}
	if (state_commit(st, err, sizeof(err))) {
		served_free(s);
		state_rules_free(rules, n);
		goto fail;
	}
	publish(a, s, rules, n, &m, next);
	/* Stored: now make it the server's maintenance (checked above, so only
	 * running out of memory can fail here). */
	if (maint_api_set(a->srv, m.on, &p, m.until, x->who, err, sizeof(err))) {
		log_err("admin: maintenance: %s", err);
		reply_error(x->c, 500, err);
		return;
	}
	atomic_fetch_add(&a->changes[CHG_MAINTENANCE], 1);
	log_info("admin: maintenance %s by %s", m.on ? "on" : "off", x->who);
	reply_json(x->c, 200, maint_now_json(a), NULL);
	return;
rollback:
	state_rollback(st);
fail:
	log_err("admin: %s", err);
	reply_error(x->c, 500, err);
}

static void post_reload(struct ctx *x)
{
	struct server *srv = x->a->srv;
	char err[1024], e2[300];
	char detail[1100] = "ok";
	int rc = server_reload(srv, err, sizeof(err));

	if (rc)
		snprintf(detail, sizeof(detail), "failed: %s", err);
	else
		atomic_fetch_add(&x->a->changes[CHG_RELOAD], 1);
	if (state_begin(srv->state, e2, sizeof(e2)) == 0) {
		if (state_audit(srv->state, now_sec(), x->who, "reload", detail, e2, sizeof(e2)))
			state_rollback(srv->state);
		else
			state_commit(srv->state, e2, sizeof(e2));
	}
	if (rc) {
		reply_json(x->c, 422,
		           json_pack("{s:s, s:s}", "error", err, "result",
		                     "the old configuration and rules keep serving"),
		           NULL);
		return;
	}
	pthread_mutex_lock(&srv->reload_lock);
	size_t nr = atomic_load(&srv->table)->nrules;
	pthread_mutex_unlock(&srv->reload_lock);
	reply_json(x->c, 200,
	           json_pack("{s:s, s:I}", "result", "reloaded", "rules", (json_int_t)nr), NULL);
}

struct stats_out {
	json_t *arr;
};

static void stats_row(void *arg, const char *id, int64_t hits, int64_t last)
{
	struct stats_out *o = arg;

	json_array_append_new(o->arr, json_pack("{s:s, s:I, s:o}", "id", id, "hits",
	                                        (json_int_t)hits, "last_hit", json_time(last)));
}

static void flush_stats(struct admin *a)
{
	if (a->srv->state == NULL)
		return;
	pthread_mutex_lock(&a->srv->reload_lock);
	state_flush_served(a->srv->state, atomic_load(&a->srv->table));
	pthread_mutex_unlock(&a->srv->reload_lock);
	struct served *api = atomic_load(&a->srv->api);
	if (api)
		state_flush_served(a->srv->state, api);
}

/* Asks every worker for a copy of its unmatched-path sketch and merges
 * them into m (TOPK_MERGED entries). */
static void merge_topk(struct admin *a, struct detour_topk *m)
{
	struct server *srv = a->srv;
	unsigned gen = atomic_fetch_add(&srv->topk_gen, 1) + 1;
	uint64_t until = mono_ms() + 1000;

	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_wake(&srv->workers[i]);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct wstats *st = srv->workers[i].st;
		while (atomic_load_explicit(&st->topk_ack, memory_order_acquire) != gen &&
		       mono_ms() < until) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		if (atomic_load_explicit(&st->topk_ack, memory_order_acquire) != gen)
			continue; /* a stuck worker: leave it out */
		struct detour_topk snap = {.e = st->snap_e,
		                           .cap = TOPK_WORKER,
		                           .n = st->snap_n,
		                           .total = st->snap_total};
		detour_topk_merge(m, &snap);
	}
	detour_topk_sort(m);
}

static void get_stats(struct ctx *x)
{
	struct admin *a = x->a;
	bool bad = false;
	int64_t offset = query_int(x->r, "offset", 0, 0, INT64_MAX / 2, &bad);
	int64_t limit = query_int(x->r, "limit", 100, 1, 10000, &bad);
	int64_t top = query_int(x->r, "top", 20, 0, TOPK_MERGED, &bad);
	char since_s[64];
	int64_t since = 0;
	struct stats_out o = {json_array()};
	json_t *res;

	if (query_get(x->r, "unused_since", since_s, sizeof(since_s)) &&
	    parse_rfc3339(since_s, &since))
		bad = true;
	if (bad) {
		json_decref(o.arr);
		reply_error(
		        x->c, 400,
		        "query: offset >= 0, limit 1 to 10000, top 0 to 256, unused_since an RFC "
		        "3339 time");
		return;
	}
	if (a->srv->state == NULL) {
		json_decref(o.arr);
		reply_error(x->c, 503, "no state: statistics are not kept");
		return;
	}
	flush_stats(a);
	if (since > 0) {
		/* Rules of the current tables not hit since `since`. */
		int64_t total = 0;
		char id[1024];
		for (size_t i = 0; i < a->nrules; i++) {
			int64_t h = 0, l = 0;
			state_stats_get(a->srv->state, a->rules[i].id, &h, &l);
			if (l >= since)
				continue;
			if (total >= offset && total < offset + limit)
				json_array_append_new(o.arr, json_pack("{s:s, s:s, s:I, s:o}", "id",
				                                       a->rules[i].id, "origin",
				                                       "api", "hits", (json_int_t)h,
				                                       "last_hit", json_time(l)));
			total++;
		}
		pthread_mutex_lock(&a->srv->reload_lock);
		const struct served *s = atomic_load(&a->srv->table);
		for (size_t i = 0; i < s->nrules; i++) {
			int64_t h = 0, l = 0;
			detour_rule_id(s->rules, detour_ruleset_get(s->rules, i), id, sizeof(id));
			state_stats_get(a->srv->state, id, &h, &l);
			if (l >= since)
				continue;
			if (total >= offset && total < offset + limit)
				json_array_append_new(o.arr, json_pack("{s:s, s:s, s:I, s:o}", "id",
				                                       id, "origin", "file", "hits",
				                                       (json_int_t)h, "last_hit",
				                                       json_time(l)));
			total++;
		}
		pthread_mutex_unlock(&a->srv->reload_lock);
		reply_json(x->c, 200,
		           json_pack("{s:o, s:o, s:I}", "unused", o.arr, "since", json_time(since),
		                     "total", (json_int_t)total),
		           NULL);
		return;
	}
	int64_t total = state_stats_list(a->srv->state, offset, limit, stats_row, &o);
	res = json_pack("{s:o, s:I, s:b}", "rules", o.arr, "total", (json_int_t)total, "enabled",
	                a->srv->conf.stats);
	if (a->srv->conf.stats) {
		static struct detour_topk_entry me[TOPK_MERGED];
		struct detour_topk m;
		json_t *um = json_array();
		detour_topk_init(&m, me, TOPK_MERGED);
		merge_topk(a, &m);
		for (unsigned i = 0; i < m.n && (int64_t)i < top; i++)
			json_array_append_new(um, json_pack("{s:s, s:I, s:I}", "path", m.e[i].key,
			                                    "count", (json_int_t)m.e[i].count,
			                                    "error", (json_int_t)m.e[i].error));
		json_object_set_new(res, "unmatched", um);
		json_object_set_new(res, "unmatched_total", json_integer((json_int_t)m.total));
	}
	reply_json(x->c, 200, res, NULL);
}

struct audit_out {
	json_t *arr;
};

static void audit_row(void *arg, int64_t at, const char *who, const char *action,
                      const char *detail)
{
	struct audit_out *o = arg;

	json_array_append_new(o->arr, json_pack("{s:o, s:s, s:s, s:s}", "at", json_time(at), "who",
	                                        who, "action", action, "detail", detail));
}

static void get_audit(struct ctx *x)
{
	bool bad = false;
	int64_t limit = query_int(x->r, "limit", 100, 1, 10000, &bad);
	struct audit_out o = {json_array()};

	if (bad) {
		json_decref(o.arr);
		reply_error(x->c, 400, "query: limit 1 to 10000");
		return;
	}
	state_audit_list(x->a->srv->state, limit, audit_row, &o);
	reply_json(x->c, 200, json_pack("{s:o}", "audit", o.arr), NULL);
}

static void get_metrics(struct ctx *x)
{
	size_t len;
	char *m;

	flush_stats(x->a);
	m = metrics_render(x->a->srv, &len);
	if (m == NULL) {
		reply_error(x->c, 500, "out of memory");
		return;
	}
	reply(x->c, 200, "text/plain; version=0.0.4; charset=utf-8", m, len, NULL);
	free(m);
}

static void get_healthz(struct ctx *x)
{
	struct admin *a = x->a;
	size_t nf;

	pthread_mutex_lock(&a->srv->reload_lock);
	nf = atomic_load(&a->srv->table)->nrules;
	pthread_mutex_unlock(&a->srv->reload_lock);
	reply_json(x->c, 200,
	           json_pack("{s:s, s:s, s:I, s:I, s:b}", "status", "ok", "version", DETOUR_VERSION,
	                     "file_rules", (json_int_t)nf, "api_rules", (json_int_t)a->nrules,
	                     "maintenance", atomic_load(&a->srv->maint) != NULL),
	           NULL);
}

static bool path_is(const struct detour_request *r, const char *p)
{
	return r->path_len == strlen(p) && !memcmp(r->path, p, r->path_len);
}

static void method_not_allowed(struct aconn *c, const char *allow)
{
	char h[64];

	snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
	reply_json(c, 405, json_pack("{s:s}", "error", "method not allowed"), h);
}

static void dispatch(struct admin *a, struct aconn *c, const struct detour_request *r,
                     const char *body, size_t blen)
{
	struct ctx x = {.a = a, .c = c, .r = r, .body = body, .body_len = blen, .who = "local"};
	char who[64];
	enum detour_method m = r->method_id;

	if (path_is(r, "/healthz")) {
		if (m != DETOUR_M_GET && m != DETOUR_M_HEAD)
			return method_not_allowed(c, "GET, HEAD");
		return get_healthz(&x);
	}
	if (a->auth) {
		int i = detour_http1_find(r, "Authorization", 13, 0);
		const char *v = i >= 0 ? r->headers[i].value : "";
		size_t vl = i >= 0 ? r->headers[i].value_len : 0;
		int t = -1;
		/* RFC 6750 §2.1: "Bearer" b64token; the scheme is case-insensitive. */
		if (vl > 7 && !strncasecmp(v, "Bearer ", 7))
			t = token_match(a, v + 7, vl - 7);
		else
			token_match(a, "", 0); /* the same work either way */
		if (t < 0)
			return reply_error(c, 401, i < 0 ? "missing bearer token" : "wrong token");
		pthread_mutex_lock(&a->tok_lock);
		snprintf(who, sizeof(who), "%s", a->tokens[t].name);
		pthread_mutex_unlock(&a->tok_lock);
		x.who = who;
	}
	if (a->srv->state == NULL)
		return reply_error(c, 503, "no state");
	if (path_is(r, "/rules")) {
		if (m == DETOUR_M_GET || m == DETOUR_M_HEAD)
			return get_rules(&x);
		if (m == DETOUR_M_POST)
			return post_rules(&x);
		return method_not_allowed(c, "GET, HEAD, POST");
	}
	if (r->path_len > 7 && !memcmp(r->path, "/rules/", 7)) {
		char id[1024];
		if (r->path_len - 7 >= sizeof(id) ||
		    !pct_decode(r->path + 7, r->path_len - 7, id, false))
			return reply_error(c, 400, "bad rule id in the path");
		if (m == DETOUR_M_DELETE)
			return delete_rule(&x, id);
		return method_not_allowed(c, "DELETE");
	}
	if (path_is(r, "/maintenance")) {
		if (m == DETOUR_M_GET || m == DETOUR_M_HEAD)
			return reply_json(c, 200, maint_now_json(a), NULL);
		if (m == DETOUR_M_POST)
			return post_maintenance(&x);
		return method_not_allowed(c, "GET, HEAD, POST");
	}
	if (path_is(r, "/reload")) {
		if (m == DETOUR_M_POST)
			return post_reload(&x);
		return method_not_allowed(c, "POST");
	}
	if (path_is(r, "/stats")) {
		if (m == DETOUR_M_GET || m == DETOUR_M_HEAD)
			return get_stats(&x);
		return method_not_allowed(c, "GET, HEAD");
	}
	if (path_is(r, "/metrics")) {
		if (m == DETOUR_M_GET || m == DETOUR_M_HEAD)
			return get_metrics(&x);
		return method_not_allowed(c, "GET, HEAD");
	}
	if (path_is(r, "/audit")) {
		if (m == DETOUR_M_GET || m == DETOUR_M_HEAD)
			return get_audit(&x);
		return method_not_allowed(c, "GET, HEAD");
	}
	reply_error(c, 404, "no such endpoint (see docs/admin.md)");
}

/* Handles whole requests in c->in. Returns false when c was closed. */
static bool aconn_process(struct aconn *c)
{
	struct admin *a = c->a;
	struct detour_http1_limits lim;

	detour_http1_limits_default(&lim);
	lim.max_body = ADMIN_BODY_MAX;
	lim.max_header_bytes = ADMIN_HEAD_MAX;
	while (c->in_len > 0 && !c->close_after) {
		int status = 0;
		detour_err e = detour_http1_parse(c->in, c->in_len, &lim, &a->req, &status);
		const struct detour_request *r = &a->req;

		if (e == DETOUR_INCOMPLETE)
			break;
		if (e != DETOUR_OK) {
			c->close_after = true;
			reply_error(c, status,
			            status == 413 ? "body over 1 MiB" : "malformed request");
			break;
		}
		if (r->chunked) {
			c->close_after = true;
			reply_error(c, 411, "send the body with a Content-Length");
			break;
		}
		size_t need = r->head_len + (size_t)r->content_length;
		if (c->in_len < need) {
			if (need > c->in_cap) {
				char *p = realloc(c->in, need);
				if (p == NULL) {
					c->close_after = true;
					reply_error(c, 500, "out of memory");
					break;
				}
				c->in = p;
				c->in_cap = need;
			}
			/* RFC 9110 §10.1.1 */
			if (r->expect_continue && c->out_len == 0) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				if (write(c->src.fd, cont, sizeof(cont) - 1) < 0) {
					/* The client will send the body anyway. */
				}
			}
			break;
		}
		if (!r->keep_alive)
			c->close_after = true;
		dispatch(a, c, r, c->in + r->head_len, (size_t)r->content_length);
		memmove(c->in, c->in + need, c->in_len - need);
		c->in_len -= need;
	}
	c->deadline_ms = mono_ms() + ADMIN_IDLE_MS;
	if (c->out_len > 0)
		return aconn_flush(c);
	if (c->close_after) {
		aconn_close(c);
		return false;
	}
	return true;
}

static void on_aconn(struct loop_source *src, unsigned events)
{
	struct aconn *c = (struct aconn *)src;

	if (c->want_write) {
		if (events & LOOP_WRITE)
			aconn_flush(c);
		return;
	}
	if (c->in_len == c->in_cap) {
		size_t nc = c->in_cap * 2;
		char *p = nc <= ADMIN_HEAD_MAX + ADMIN_BODY_MAX + 1 ? realloc(c->in, nc) : NULL;
		if (p == NULL) {
			aconn_close(c);
			return;
		}
		c->in = p;
		c->in_cap = nc;
	}
	ssize_t n = read(c->src.fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		aconn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	aconn_process(c);
}

static void on_admin_accept(struct loop_source *src, unsigned events)
{
	struct admin *a = (struct admin *)((char *)src - offsetof(struct admin, listener));

	for (;;) {
		int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (a->nconns >= ADMIN_CONNS_MAX) {
			close(fd);
			continue;
		}
		struct aconn *c = calloc(1, sizeof(*c));
		if (c == NULL || (c->in = malloc(4096)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->in_cap = 4096;
		c->a = a;
		c->src.fd = fd;
		c->src.on_event = on_aconn;
		c->deadline_ms = mono_ms() + ADMIN_IDLE_MS;
		c->next = &a->conns;
		c->prev = a->conns.prev;
		a->conns.prev->next = c;
		a->conns.prev = c;
		a->nconns++;
		if (loop_add(a->loop, &c->src, LOOP_READ))
			aconn_close(c);
	}
}

static void on_admin_wake(struct loop_source *src, unsigned events)
{
	uint64_t v;

	if (read(src->fd, &v, sizeof(v)) < 0) {
		/* drained already */
	}
}

static void *admin_main(void *arg)
{
	struct admin *a = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&a->stop)) {
		uint64_t now = mono_ms();
		int64_t wall = now_sec();
		int timeout = 1000;

		if (a->next_expiry && a->next_expiry <= wall && a->srv->state)
			expire(a);
		if (a->srv->conf.stats && now >= a->next_flush_ms) {
			flush_stats(a);
			a->next_flush_ms = now + a->srv->conf.stats_flush_ms;
		}
		for (struct aconn *c = a->conns.next, *n; c != &a->conns; c = n) {
			n = c->next;
			if (c->deadline_ms <= now)
				aconn_close(c);
		}
		if (a->next_expiry) {
			/* Wake at the second the next rule expires: sleep to the
			 * next wall-clock second boundary at most. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ms = (a->next_expiry - ts.tv_sec) * 1000 - ts.tv_nsec / 1000000;
			if (ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms;
		}
		if (loop_run_once(a->loop, timeout) < 0) {
			log_err("admin: epoll_wait: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

static bool is_loopback(const struct detour_listen *l)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (l->ipv6)
		return inet_pton(AF_INET6, l->host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	return inet_pton(AF_INET, l->host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static int bind_admin(const struct detour_listen *ln, char *err, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	int fd = socket(ln->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                0);

	memset(&ss, 0, sizeof(ss));
	if (ln->ipv6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ln->port);
		inet_pton(AF_INET6, ln->host, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(ln->port);
		inet_pton(AF_INET, ln->host, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ln->ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
		snprintf(err, cap, "cannot listen on admin %s%s%s:%u: %s", ln->ipv6 ? "[" : "",
		         ln->host, ln->ipv6 ? "]" : "", ln->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int admin_prepare(struct server *srv, const struct privdrop *p, char *err, size_t cap)
{
	const struct detour_config *conf = &srv->conf;
	struct admin *a;
	struct api_rule *rules = NULL;
	size_t n = 0;
	int64_t next;
	char e2[512];

	if (conf->admin.port && conf->admin_token_file[0] == '\0' && !is_loopback(&conf->admin)) {
		snprintf(err, cap,
		         "%s:%u: admin %s: without token-file= the admin API listens on loopback "
		         "only (127.0.0.1 or [::1])",
		         conf->file[0] ? conf->file : "detour.conf", conf->admin_line,
		         conf->admin.host);
		return -1;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	a->srv = srv;
	a->listener.fd = -1;
	a->wake.fd = -1;
	a->conns.next = a->conns.prev = &a->conns;
	pthread_mutex_init(&a->tok_lock, NULL);
	srv->admin = a;
	if (conf->admin_token_file[0]) {
		a->auth = true;
		if (load_tokens(conf->admin_token_file, a->tokens, &a->ntokens, err, cap))
			return -1;
	}
	/* The state is created and opened as the `user`, so that it stays
	 * writable after the drop. */
	if (p->active && (setegid(p->gid) || seteuid(p->uid))) {
		snprintf(err, cap, "cannot switch to user %s: %s", p->user, strerror(errno));
		return -1;
	}
	srv->state = state_open(conf->state_dir, e2, sizeof(e2));
	if (p->active && (seteuid(0) || setegid(0))) {
		snprintf(err, cap, "cannot switch back to root: %s", strerror(errno));
		return -1;
	}
	if (srv->state == NULL) {
		if (conf->admin.port || p->active) {
			snprintf(err, cap, "%s%s%s", e2, p->active ? " (user " : "",
			         p->active ? p->user : "");
			if (p->active)
				strncat(err, ")", cap - strlen(err) - 1);
			return -1;
		}
		/* Without an admin API the state only keeps statistics. */
		log_warn("%s; statistics are not kept", e2);
	} else {
		if (state_begin(srv->state, err, cap))
			return -1;
		struct maint_state m;
		int k = state_rules_expire(srv->state, now_sec(), err, cap);
		if (k < 0 || state_maint_get(srv->state, &m, err, cap) ||
		    state_rules_load(srv->state, &rules, &n, err, cap)) {
			state_rollback(srv->state);
			return -1;
		}
		if (state_commit(srv->state, err, cap)) {
			state_rules_free(rules, n);
			return -1;
		}
		struct served *s = build_api(srv, rules, n, &m, now_sec(), &next, err, cap);
		if (s == NULL) {
			state_rules_free(rules, n);
			return -1;
		}
		atomic_store(&srv->api, s); /* no worker runs yet */
		a->rules = rules;
		a->nrules = n;
		a->maint = m;
		a->next_expiry = next;
	}
	/* Maintenance: the config and its file, then what the API stored
	 * (maint.h: the latest change wins, and the stored one is the latest). */
	struct maint_params mp;
	row_to_params(&a->maint, &mp);
	if (maint_init(srv, srv->state && a->maint.since > 0, a->maint.on, &mp, a->maint.since,
	               a->maint.until, a->maint.who, err, cap))
		return -1;
	if (conf->admin.port) {
		a->listener.fd = bind_admin(&conf->admin, err, cap);
		if (a->listener.fd < 0)
			return -1;
		a->listener.on_event = on_admin_accept;
	}
	return 0;
}

int admin_start(struct server *srv, char *err, size_t cap)
{
	struct admin *a = srv->admin;

	if (a == NULL)
		return 0;
	a->loop = loop_new();
	a->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->wake.on_event = on_admin_wake;
	if (a->loop == NULL || a->wake.fd < 0 || loop_add(a->loop, &a->wake, LOOP_READ) ||
	    (a->listener.fd >= 0 && loop_add(a->loop, &a->listener, LOOP_READ))) {
		snprintf(err, cap, "admin: %s", strerror(errno));
		return -1;
	}
	a->next_flush_ms = mono_ms() + srv->conf.stats_flush_ms;
	errno = pthread_create(&a->thread, NULL, admin_main, a);
	if (errno) {
		snprintf(err, cap, "admin: pthread_create: %s", strerror(errno));
		return -1;
	}
	a->started = true;
	if (srv->conf.admin.port)
		log_info("admin API on %s%s%s:%u%s", srv->conf.admin.ipv6 ? "[" : "",
		         srv->conf.admin.host, srv->conf.admin.ipv6 ? "]" : "",
		         srv->conf.admin.port, a->auth ? "" : " (loopback, no token)");
	return 0;
}

void admin_stop(struct server *srv)
{
	struct admin *a = srv->admin;
	uint64_t one = 1;

	if (a == NULL)
		return;
	if (a->started) {
		atomic_store(&a->stop, true);
		if (write(a->wake.fd, &one, sizeof(one)) < 0) {
			/* the thread wakes within a second anyway */
		}
		pthread_join(a->thread, NULL);
	}
	while (a->conns.next != &a->conns)
		aconn_close(a->conns.next);
	if (a->listener.fd >= 0)
		close(a->listener.fd);
	if (a->wake.fd >= 0)
		close(a->wake.fd);
	loop_free(a->loop);
	state_rules_free(a->rules, a->nrules);
	pthread_mutex_destroy(&a->tok_lock);
	srv->admin = NULL;
	free(a);
}
