/* detour: the rules file, everything after a line's target (see
 * docs/rules.md): the STATUS word or number, the options table and the parser
 * of each option (query, cache, id, conditions, windows, weights, sticky,
 * health, delay, case, private, allow-hosts), and the checks and compilation
 * that turn a line's options into a struct detour_rule_ext. Called by
 * parse_line() in rulefile.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "base/ascii.h"
#include "base/civil.h"
#include "base/grow.h"
#include "base/value.h"
#include "cond.h"
#include "detour/ruleopts.h"
#include "detour/url.h"
#include "hash.h"
#include "regex.h"
#include "rulelex.h"
#include "ruleopts.h"
#include "ruleset_int.h"
#include "window.h"

/* ---------------------------------------------------------------- options */

static bool all_digits_(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static detour_err opt_query(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];

	if (n == 4 && memcmp(v, "keep", 4) == 0)
		r->query = DETOUR_QUERY_KEEP;
	else if (n == 4 && memcmp(v, "drop", 4) == 0)
		r->query = DETOUR_QUERY_DROP;
	else if (n == 5 && memcmp(v, "merge", 5) == 0)
		r->query = DETOUR_QUERY_MERGE;
	else
		return detour_rf_perr(pc, v,
		                      "expected keep, drop or merge for query=, found \"%s\"",
		                      detour_rf_show(b, v, n));
	return DETOUR_OK;
}

static detour_err opt_cache(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];
	int64_t secs;

	if (n == 8 && memcmp(v, "no-store", 8) == 0) {
		pc->cache = DETOUR_CACHE_NO_STORE;
		r->flags |= DETOUR_RULE_CACHE;
		return DETOUR_OK;
	}
	secs = value_duration(v, n);
	if (secs == 0)
		return detour_rf_perr(pc, v, "cache=%s is a zero lifetime: use cache=no-store",
		                      detour_rf_show(b, v, n));
	if (secs < 0) {
		size_t i = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9')
			i++;
		if (i > 0 && (i == n || i + 1 == n) && (i == n || strchr("smhdw", v[i])))
			return detour_rf_perr(pc, v, "cache lifetime \"%s\" is over 10 years",
			                      detour_rf_show(b, v, n));
		return detour_rf_perr(
		        pc, v,
		        "expected no-store or a duration (30s, 10m, 1h, 7d, 2w or seconds) for "
		        "cache=, found \"%s\"",
		        detour_rf_show(b, v, n));
	}
	pc->cache = (int32_t)secs;
	r->flags |= DETOUR_RULE_CACHE;
	return DETOUR_OK;
}

static detour_err opt_id(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	if (n == 0)
		return detour_rf_perr(pc, v, "expected a name after id=");
	for (size_t i = 0; i < n; i++) {
		if (!kis(v[i], K_TCHAR))
			return detour_rf_perr(pc, v + i,
			                      "invalid character '%c' in id= (letters, digits and "
			                      "!#$%%&'*+-.^_`|~)",
			                      v[i]);
	}
	v[n] = '\0';
	pc->id = v;
	pc->id_len = n;
	r->flags |= DETOUR_RULE_ID_SET;
	return DETOUR_OK;
}

static void keep_cb(void *arg, void *code)
{
	struct pctx *pc = arg;

	if (!detour_rf_keep_code(pc->rs, code))
		pc->lx->oom = true;
}

/* A condition option: parsed by cond.c into the line's list. */
static detour_err cond_opt(struct pctx *pc, unsigned kind, char *v, size_t n)
{
	struct lineext *lx = pc->lx;
	size_t at;
	const char *msg;

	if (lx->nconds == DETOUR_RF_MAX_CONDS)
		return detour_rf_perr(pc, pc->opt_start, "more than %d conditions on one rule",
		                      DETOUR_RF_MAX_CONDS);
	struct detour_cond *c = &lx->conds[lx->nconds];
	msg = detour_cond_parse(c, kind, v, n, &pc->rs->arena, keep_cb, pc, &at);
	if (lx->oom)
		return DETOUR_ENOMEM;
	if (msg)
		return detour_rf_perr(pc, v + at, "%s", msg);
	c->col = (uint16_t)(pc->opt_start - pc->ls + 1);
	c->text.p = pc->opt_start;
	c->text.len = (size_t)(v + n - pc->opt_start);
	lx->nconds++;
	lx->used = true;
	if (kind != DETOUR_COND_METHOD)
		lx->x.flags |= DETOUR_EXT_PRIVATE; /* the answer depends on who asks */
	return DETOUR_OK;
}

static detour_err time_opt(struct pctx *pc, char *v, size_t n, int64_t *out)
{
	char b[64];

	if (civil_parse_time(v, n, out) != 0)
		return detour_rf_perr(
		        pc, v,
		        "expected an RFC 3339 time with an offset (2026-11-01T09:00:00+01:00, "
		        "...Z) or a date (2026-11-01, meaning 00:00 UTC), found \"%s\"",
		        detour_rf_show(b, v, n));
	pc->lx->x.flags |= DETOUR_EXT_WINDOW;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_from(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	pc->lx->from_at = v;
	return time_opt(pc, v, n, &pc->lx->x.window.from);
}

static detour_err opt_until(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return time_opt(pc, v, n, &pc->lx->x.window.until);
}

static detour_err opt_days(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	size_t at = 0;
	const char *msg = detour_days_parse(v, n, &pc->lx->x.window.days, &at);

	(void)r;
	if (msg)
		return detour_rf_perr(pc, v + at, "%s", msg);
	pc->lx->days_at = v;
	pc->lx->x.flags |= DETOUR_EXT_WINDOW;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_hours(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	size_t at = 0;
	struct detour_window *w = &pc->lx->x.window;
	const char *msg = detour_hours_parse(v, n, &w->hour_from, &w->hour_to, &at);

	(void)r;
	if (msg)
		return detour_rf_perr(pc, v + at, "%s", msg);
	pc->lx->days_at = v;
	pc->lx->x.flags |= DETOUR_EXT_WINDOW;
	pc->lx->used = true;
	return DETOUR_OK;
}

/* tz=Area/City: loaded once per name per ruleset (TZif, lib/tz.c). */
static detour_err opt_tz(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	struct detour_ruleset *rs = pc->rs;
	struct detour_diag d = {0};
	struct detour_tz *tz = NULL;
	char name[128];

	(void)r;
	if (n == 0 || n >= sizeof(name))
		return detour_rf_perr(pc, v, "expected a time zone name (tz=Europe/Paris, tz=UTC)");
	memcpy(name, v, n);
	name[n] = '\0';
	for (size_t i = 0; i < rs->ntzs; i++) {
		if (strcmp(detour_tz_name(rs->tzs[i]), name) == 0) {
			tz = rs->tzs[i];
			break;
		}
	}
	if (tz == NULL) {
		detour_err e = detour_tz_load(name, &tz, &d);
		if (e == DETOUR_ENOMEM)
			return e;
		if (e)
			return detour_rf_perr(pc, v, "time zone \"%s\": %s", name, d.msg);
		if (BASE_GROW(rs->tzs, rs->tzs_cap, rs->ntzs + 1) != 0) {
			detour_tz_free(tz);
			return DETOUR_ENOMEM;
		}
		rs->tzs[rs->ntzs++] = tz;
	}
	pc->lx->x.window.tz = tz;
	pc->lx->tz_at = v;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_weight(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];
	uint32_t w = 0;

	(void)r;
	for (size_t i = 0; i < n && w <= 1000000; i++) {
		if (v[i] < '0' || v[i] > '9') {
			w = 0;
			break;
		}
		w = w * 10 + (uint32_t)(v[i] - '0');
	}
	if (n == 0 || n > 7 || w == 0 || w > 1000000)
		return detour_rf_perr(pc, v, "expected a weight from 1 to 1000000, found \"%s\"",
		                      detour_rf_show(b, v, n));
	pc->lx->x.weight = w;
	pc->lx->x.flags |= DETOUR_EXT_PRIVATE; /* a split answers people differently */
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_sticky(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];

	(void)r;
	if (n == 6 && memcmp(v, "cookie", 6) == 0)
		pc->lx->x.sticky = DETOUR_STICKY_COOKIE;
	else if (n == 2 && memcmp(v, "ip", 2) == 0)
		pc->lx->x.sticky = DETOUR_STICKY_IP;
	else if (n == 4 && memcmp(v, "none", 4) == 0)
		pc->lx->x.sticky = DETOUR_STICKY_NONE;
	else
		return detour_rf_perr(pc, v,
		                      "expected cookie, ip or none for sticky=, found \"%s\"",
		                      detour_rf_show(b, v, n));
	pc->lx->x.sticky_set = true;
	pc->lx->sticky_at = v;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_health(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	if (n == 0 || v[0] != '/' || (n >= 2 && v[1] == '/'))
		return detour_rf_perr(pc, v, "expected a path for health= (health=/ping)");
	for (size_t i = 0; i < n; i++)
		if (!kis(v[i], K_URI) || v[i] == '#')
			return detour_rf_perr(pc, v + i,
			                      "invalid character '%c' in the health path", v[i]);
	v[n] = '\0';
	pc->lx->x.health = v;
	pc->lx->health_at = v;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_delay(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];
	uint32_t d = 0;

	(void)r;
	if (n == 0 || n > 5 || !all_digits_(v, n))
		return detour_rf_perr(pc, v,
		                      "expected seconds from 0 to 86400 for delay=, found \"%s\"",
		                      detour_rf_show(b, v, n));
	for (size_t i = 0; i < n; i++)
		d = d * 10 + (uint32_t)(v[i] - '0');
	if (d > 86400)
		return detour_rf_perr(pc, v,
		                      "expected seconds from 0 to 86400 for delay=, found \"%s\"",
		                      detour_rf_show(b, v, n));
	pc->lx->x.delay = d;
	pc->lx->delay_at = v;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_case(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];

	(void)r;
	if (n == 11 && memcmp(v, "insensitive", 11) == 0) {
		pc->lx->case_i = true;
		pc->lx->used = true;
	} else if (!(n == 9 && memcmp(v, "sensitive", 9) == 0)) {
		return detour_rf_perr(pc, v,
		                      "expected insensitive or sensitive for case=, found \"%s\"",
		                      detour_rf_show(b, v, n));
	}
	return DETOUR_OK;
}

static detour_err opt_private(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];

	(void)r;
	if (n == 2 && memcmp(v, "no", 2) == 0)
		pc->lx->private_no = true;
	else if (!(n == 3 && memcmp(v, "yes", 3) == 0))
		return detour_rf_perr(pc, v, "expected yes or no for private=, found \"%s\"",
		                      detour_rf_show(b, v, n));
	return DETOUR_OK;
}

/* allow-hosts=a.com,b.com: lower-cased in place. */
static detour_err opt_allow_hosts(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	struct detour_slice hs[64];
	unsigned k = 0;
	size_t i = 0;

	(void)r;
	while (i <= n) {
		char *c = memchr(v + i, ',', n - i);
		size_t e = c ? (size_t)(c - v) : n;
		if (e == i || k == 64)
			return detour_rf_perr(pc, v + i,
			                      "expected host names separated by ',' (at most 64)");
		detour_err err = detour_rf_check_host(pc, v + i, e - i, v);
		if (err)
			return err;
		size_t hl = detour_url_host_canon(v + i, e - i);
		hs[k++] = (struct detour_slice){v + i, hl};
		if (!c)
			break;
		i = e + 1;
	}
	struct detour_slice *a = detour_arena_alloc(&pc->rs->arena, k * sizeof(*a), 8);
	if (a == NULL)
		return DETOUR_ENOMEM;
	memcpy(a, hs, k * sizeof(*a));
	pc->lx->x.allow_hosts = a;
	pc->lx->x.nallow = (uint16_t)k;
	pc->lx->allow_at = v;
	pc->lx->used = true;
	return DETOUR_OK;
}

/* The options, in the order they are listed in messages; repeat: may be
 * given several times (conditions: all must hold). */
static const struct optdef {
	const char *name;
	detour_err (*parse)(struct pctx *pc, struct detour_rule *r, char *v, size_t n);
	bool repeat;
	unsigned cond;     /* a condition: enum detour_cond_kind + 1 (parse is NULL); 0 = not */
	const char *usage; /* for detour-rules(5) (detour help --man rules) */
	const char *doc;   /* scdoc markup, '\n' between lines */
} options[] = {
        {"query", opt_query, false, 0, "query=keep|drop|merge",
         "What happens to the request's query string: *keep* (the default) appends\n"
         "it to the target's, *drop* leaves it out, *merge* adds the parameters the\n"
         "target does not set."},
        {"cache", opt_cache, false, 0, "cache=no-store|DURATION",
         "Cache-Control and Expires; without it a redirect carries no cache\n"
         "headers. Also applies to 410 answers."},
        {"id", opt_id, false, 0, "id=NAME",
         "A stable name for logs, statistics and metrics (otherwise the id is\n"
         "_FILE:LINE_, which changes when lines move)."},
        {"method", NULL, false, DETOUR_COND_METHOD + 1, "method=METHOD,...",
         "The rule answers only these request methods (upper case, RFC 9110\n"
         "section 9.1)."},
        {"if-header", NULL, true, DETOUR_COND_HEADER + 1, "if-header=[!]NAME[:VALUE|:~REGEX]",
         "The request has the header (its name without case), with exactly that\n"
         "value, or one the PCRE2 regex after *~* matches; *!* negates. Repeatable:\n"
         "every condition must hold. Adds the header to Vary."},
        {"if-cookie", NULL, true, DETOUR_COND_COOKIE + 1, "if-cookie=[!]NAME[=VALUE]",
         "The Cookie header has that cookie (with that value); *!* negates.\n"
         "Repeatable. Adds Vary: Cookie."},
        {"if-query", NULL, true, DETOUR_COND_QUERY + 1, "if-query=[!]NAME[=VALUE]&...",
         "The query has every listed parameter (with its value when given), in any\n"
         "order, compared as bytes; *!* negates. Repeatable."},
        {"if-ip", NULL, true, DETOUR_COND_IP + 1, "if-ip=[!]CIDR,...",
         "The client address (the one a trusted proxy names) is in one of the\n"
         "ranges; an IPv4 range also matches ::ffff:a.b.c.d. Repeatable."},
        {"if-lang", NULL, true, DETOUR_COND_LANG + 1, "if-lang=[!]LANG,...",
         "The client's preferred language (highest q in Accept-Language) is one\n"
         "of the list or a sub-tag of one. Repeatable. Adds Vary: Accept-Language."},
        {"from", opt_from, false, 0, "from=TIME",
         "The rule applies from this RFC 3339 time (with an offset) on."},
        {"until", opt_until, false, 0, "until=TIME",
         "The rule applies before this RFC 3339 time; a cache= lifetime is cut\n"
         "to end there."},
        {"days", opt_days, false, 0, "days=DAY,...",
         "Only on these days (sun to sat, ranges like mon-fri), in the zone of\n"
         "*tz=* (UTC without it)."},
        {"hours", opt_hours, false, 0, "hours=HH:MM-HH:MM",
         "Only in this time of day (24:00 allowed as an end; a range that ends\n"
         "before it starts runs over midnight), in the zone of *tz=*."},
        {"tz", opt_tz, false, 0, "tz=AREA/CITY",
         "The zone of *days=* and *hours=*, from the system's zoneinfo."},
        {"weight", opt_weight, false, 0, "weight=N",
         "Lines with the same source and a weight form one group that splits\n"
         "requests between their targets, each by its share (1 to 1,000,000)."},
        {"sticky", opt_sticky, false, 0, "sticky=none|cookie|ip",
         "How a weighted group keeps a visitor on one variant (read from the\n"
         "group's first line): a fresh choice each time, a cookie, or the client\n"
         "address."},
        {"health", opt_health, false, 0, "health=PATH",
         "In a weighted group: the server probes the target's origin at this path\n"
         "(*health-check* in *detour.conf*(5)) and leaves a target that is down out\n"
         "of the split. Not allowed in rules added through the admin API."},
        {"delay", opt_delay, false, 0, "delay=N",
         "With status html: the page redirects after _N_ seconds (default 0, at\n"
         "most 86400)."},
        {"case", opt_case, false, 0, "case=insensitive",
         "The source path matches without regard to ASCII case."},
        {"private", opt_private, false, 0, "private=no",
         "Drop the private of Cache-Control that a rule with conditions gets, so\n"
         "that a shared cache may keep the answer."},
        {"allow-hosts", opt_allow_hosts, false, 0, "allow-hosts=HOST,...",
         "A regex rule whose target takes its host from the request: only these\n"
         "hosts may appear in its Location (without it such a rule does not load)."},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

bool detour_rule_option_doc(size_t i, const char **usage, const char **doc)
{
	if (i >= NOPTIONS)
		return false;
	*usage = options[i].usage;
	*doc = options[i].doc;
	return true;
}

static const char *known_options(char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NOPTIONS && o < cap; i++) {
		int k = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", options[i].name);
		if (k < 0)
			break;
		o += (size_t)k;
	}
	return buf;
}

/* The fields after the target: an optional STATUS (a number or a word), then
 * the options NAME=VALUE, each parsed into r or the line's extension.
 * *have_status tells whether a status was written. */
detour_err detour_rf_options(struct pctx *pc, struct detour_rule *r, struct field *f, unsigned nf,
                             bool *have_status)
{
	char b[64];
	unsigned i = 2;
	detour_err e;

	*have_status = false;
	if (nf > 2 && memchr(f[2].p, '=', f[2].n) == NULL) {
		const char *s = f[2].p;
		size_t n = f[2].n;
		/* Words: temporary = 307, permanent = 308, html = a 200 page with
		 * a meta refresh (docs/rules.md, STATUS). */
		if (n == 9 && memcmp(s, "temporary", 9) == 0) {
			s = "307";
			n = 3;
		} else if (n == 9 && memcmp(s, "permanent", 9) == 0) {
			s = "308";
			n = 3;
		} else if (n == 4 && memcmp(s, "html", 4) == 0) {
			s = "200";
			n = 3;
			pc->lx->html = true;
			pc->lx->used = true;
			pc->lx->x.flags |= DETOUR_EXT_HTML;
		}
		if (!all_digits_(s, n))
			return detour_rf_perr(
			        pc, s,
			        "expected a status (301, 302, 303, 307, 308, 410, temporary, "
			        "permanent, html) or an option NAME=VALUE, found \"%s\"",
			        detour_rf_show(b, s, n));
		unsigned st =
		        n == 3 ? (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'))
		               : 0;
		if (st != 301 && st != 302 && st != 303 && st != 307 && st != 308 && st != 410 &&
		    !(st == 200 && pc->lx->html))
			return detour_rf_perr(
			        pc, s,
			        "unsupported status %s: expected 301, 302, 303, 307, 308 or 410",
			        detour_rf_show(b, s, n));
		r->status = (uint16_t)st;
		*have_status = true;
		i = 3;
	}

	/* Cleared by copy: "= {0}" is inlined as "rep stos", slow to start
	 * for a million lines (issue 10, rulefile.c parse_line). */
	static const unsigned none[NOPTIONS];
	unsigned seen_col[NOPTIONS];
	memcpy(seen_col, none, sizeof(seen_col));
	for (; i < nf; i++) {
		char *s = f[i].p;
		size_t n = f[i].n;
		char *eq = memchr(s, '=', n);
		if (eq == NULL) {
			if (all_digits_(s, n) && *have_status)
				return detour_rf_perr(pc, s,
				                      "a second status \"%s\" (the status is %u)",
				                      detour_rf_show(b, s, n), (unsigned)r->status);
			if (all_digits_(s, n))
				return detour_rf_perr(
				        pc, s,
				        "the status must come right after the target, found \"%s\"",
				        detour_rf_show(b, s, n));
			return detour_rf_perr(pc, s, "expected an option NAME=VALUE, found \"%s\"",
			                      detour_rf_show(b, s, n));
		}
		size_t nn = (size_t)(eq - s);
		size_t k = 0;
		while (k < NOPTIONS &&
		       !(strlen(options[k].name) == nn && memcmp(options[k].name, s, nn) == 0))
			k++;
		if (k == NOPTIONS) {
			char known[320];
			if (nn == 0)
				return detour_rf_perr(pc, s,
				                      "expected an option NAME=VALUE, found \"%s\"",
				                      detour_rf_show(b, s, n));
			return detour_rf_perr(pc, s, "unknown option \"%s\" (known options: %s)",
			                      detour_rf_show(b, s, nn),
			                      known_options(known, sizeof(known)));
		}
		if (seen_col[k] && !options[k].repeat)
			return detour_rf_perr(pc, s,
			                      "option \"%s\" given twice (first at column %u)",
			                      options[k].name, seen_col[k]);
		seen_col[k] = (unsigned)(s - pc->ls) + 1;
		pc->opt_start = s;
		if (options[k].cond)
			e = cond_opt(pc, options[k].cond - 1, eq + 1, (size_t)(s + n - eq - 1));
		else
			e = options[k].parse(pc, r, eq + 1, (size_t)(s + n - eq - 1));
		if (e)
			return e;
	}
	return DETOUR_OK;
}

/* ------------------------------------------------------------- extensions */

/* Appends the regex text of a literal path byte run. */
static size_t re_lit(char *o, const char *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!kis(c, K_NAME) && c != '/' && c != '-' && c != '%')
			o[k++] = '\\';
		o[k++] = c;
	}
	return k;
}

/* The caseless regex of a case=insensitive source (normalised path, kind
 * already known): placeholders become named groups, a splat the group
 * "splat". */
static size_t ci_pattern(const struct detour_rule *r, const char *p, enum detour_slash slash,
                         char *o)
{
	size_t n = r->path_len, k = 0;

	o[k++] = '^';
	if (r->kind == DETOUR_SRC_EXACT) {
		bool either = slash == DETOUR_SLASH_EITHER && n > 1;
		if (either && p[n - 1] == '/')
			n--;
		k += re_lit(o + k, p, n);
		if (either) {
			memcpy(o + k, "/?", 2);
			k += 2;
		}
	} else {
		bool tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
		size_t body = r->kind == DETOUR_SRC_SPLAT ? n - 1 : tail ? n - 2 : n;
		size_t i = 0;
		while (i < body) {
			if (p[i] == ':' && i > 0 && p[i - 1] == '/') {
				size_t j = i + 1;
				while (j < body && p[j] != '/')
					j++;
				k += (size_t)sprintf(o + k, "(?<%.*s>[^/]+)", (int)(j - i - 1),
				                     p + i + 1);
				i = j;
			} else {
				size_t j = i;
				while (j < body && !(p[j] == ':' && j > 0 && p[j - 1] == '/'))
					j++;
				k += re_lit(o + k, p + i, j - i);
				i = j;
			}
		}
		if (r->kind == DETOUR_SRC_SPLAT || tail) {
			static const char sp[] = "(?:/(?<splat>.*))?";
			memcpy(o + k, sp, sizeof(sp) - 1);
			k += sizeof(sp) - 1;
		}
	}
	o[k++] = '$';
	return k;
}

/* Compiles the source as a regex (a "~" source, or case=insensitive); src is
 * the source field in the line. A "~" source's pattern is the field's own
 * bytes, so an error points into it; a case=insensitive source's pattern is
 * built from the normalised path, which may have moved to the arena (a path
 * that grew), so its error points at the field. */
detour_err detour_rf_compile_source(struct pctx *pc, struct detour_rule *r, struct srcinfo *si,
                                    const char *src)
{
	struct lineext *lx = pc->lx;
	struct detour_arena *a = &pc->rs->arena;
	const char *pat = pc->path;
	size_t n = r->path_len, eo;
	char msg[200];

	if (!lx->regex) {
		pat = pc->rs->scratch;
		n = ci_pattern(r, pc->path, (enum detour_slash)pc->rs->slash, pc->rs->scratch);
	}
	void *re = detour_re_compile(pat, n, lx->case_i, &eo, msg, sizeof(msg));
	if (re == NULL) {
		if (lx->regex)
			return detour_rf_perr(pc, pc->path + (eo < n ? eo : n), "invalid regex: %s",
			                      msg);
		return detour_rf_perr(pc, src,
		                      "case=insensitive: this source cannot be matched without "
		                      "case (%s)",
		                      msg);
	}
	if (!detour_rf_keep_code(pc->rs, re))
		return DETOUR_ENOMEM;
	unsigned ng = detour_re_groups(re);
	char *pre = detour_arena_alloc(a, n + 1, 1);
	struct detour_slice *names = detour_arena_alloc(a, (ng ? ng : 1) * sizeof(*names), 8);
	if (pre == NULL || names == NULL)
		return DETOUR_ENOMEM;
	lx->x.prefix_len = (uint16_t)detour_re_prefix(pat, n, lx->case_i, pre);
	lx->x.prefix = pre;
	detour_re_names(re, names, ng);
	lx->x.re = re;
	lx->x.ngroups = (uint16_t)ng;
	lx->x.group_names = names;
	lx->x.flags |= DETOUR_EXT_REGEX | (lx->case_i ? DETOUR_EXT_CASE_I : 0);
	lx->used = true;
	if (lx->regex) {
		si->ngroups = ng;
		si->ncaps = 0;
		for (unsigned g = 0; g < ng; g++) {
			if (names[g].len == 0)
				continue;
			si->names[si->ncaps] = names[g].p;
			si->nlen[si->ncaps] = names[g].len;
			si->ncaps++;
		}
	}
	return DETOUR_OK;
}

/* Checks the options against each other and the target. */
detour_err detour_rf_check_ext(struct pctx *pc, struct detour_rule *r, bool dash,
                               const struct field *tf)
{
	struct lineext *lx = pc->lx;
	struct detour_rule_ext *x = &lx->x;

	if (lx->html && dash)
		return detour_rf_perr(pc, tf->p,
		                      "status html needs a target to send the visitor to");
	if (lx->delay_at && !lx->html)
		return detour_rf_perr(pc, lx->delay_at - 6, "delay= only applies to status html");
	if (x->weight && dash)
		return detour_rf_perr(pc, tf->p,
		                      "a weighted rule needs a target ('-' cannot be a variant)");
	if (lx->sticky_at && !x->weight)
		return detour_rf_perr(
		        pc, lx->sticky_at - 7,
		        "sticky= belongs to a weighted group: add weight=N to the rule");
	if (lx->health_at && !x->weight)
		return detour_rf_perr(
		        pc, lx->health_at - 7,
		        "health= belongs to a weighted group: add weight=N to the rule");
	if (lx->health_at && !(ascii_prefix_ci(pc->target, r->target_len, "http://") ||
	                       ascii_prefix_ci(pc->target, r->target_len, "https://")))
		return detour_rf_perr(
		        pc, tf->p,
		        "health= probes the target's host: the target must be an http(s) URL");
	if (lx->tz_at && !lx->days_at)
		return detour_rf_perr(pc, lx->tz_at - 3,
		                      "tz= applies to days= and hours=: add one of them");
	if (x->window.from != DETOUR_TIME_NONE_FROM && x->window.from >= x->window.until)
		return detour_rf_perr(pc, lx->from_at,
		                      "from= is not before until=: the rule would never apply");
	if (lx->private_no)
		x->flags &= ~DETOUR_EXT_PRIVATE;

	/* Vary: every request field a condition reads (RFC 9110 §12.5.5). */
	char vary[512];
	size_t vn = 0;
	for (unsigned i = 0; i < lx->nconds; i++) {
		const struct detour_cond *c = &lx->conds[i];
		const char *nm;
		size_t nl;
		if (c->kind == DETOUR_COND_HEADER) {
			nm = c->name.p;
			nl = c->name.len;
		} else if (c->kind == DETOUR_COND_COOKIE) {
			nm = "Cookie";
			nl = 6;
		} else if (c->kind == DETOUR_COND_LANG) {
			nm = "Accept-Language";
			nl = 15;
		} else {
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < vn && !dup;) {
			size_t e = j;
			while (e < vn && vary[e] != ',')
				e++;
			dup = ascii_eq_ci_n(vary + j, e - j, nm, nl);
			j = e + 2;
		}
		if (dup)
			continue;
		if (vn + nl + 2 >= sizeof(vary))
			return detour_rf_perr(pc, c->text.p,
			                      "too many header names to list in Vary");
		if (vn) {
			memcpy(vary + vn, ", ", 2);
			vn += 2;
		}
		memcpy(vary + vn, nm, nl);
		vn += nl;
	}
	if (vn) {
		x->vary = detour_arena_strndup(&pc->rs->arena, vary, vn);
		if (x->vary == NULL)
			return DETOUR_ENOMEM;
	}
	return DETOUR_OK;
}

/* Appends the line's extension for rule r (index set) and flags r. */
detour_err detour_rf_add_ext(struct pctx *pc, struct detour_rule *r)
{
	struct detour_ruleset *rs = pc->rs;
	struct lineext *lx = pc->lx;

	if (BASE_GROW(rs->exts, rs->exts_cap, rs->nexts + 1) != 0)
		return DETOUR_ENOMEM;
	if (lx->nconds) {
		struct detour_cond *c = detour_arena_alloc(&rs->arena, lx->nconds * sizeof(*c), 8);
		if (c == NULL)
			return DETOUR_ENOMEM;
		memcpy(c, lx->conds, lx->nconds * sizeof(*c));
		lx->x.conds = c;
		lx->x.nconds = (uint16_t)lx->nconds;
	}
	lx->x.rule = (uint32_t)rs->n; /* r is appended next */
	rs->exts[rs->nexts++] = lx->x;
	r->flags |= DETOUR_RULE_EXT;
	return DETOUR_OK;
}
