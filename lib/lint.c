/* detour: static analysis of a rule table (see lint.h and docs/lint.md).
 *
 * Three passes over the rules, in file order:
 *   1. sources: same-source duplicates and conflicts (a hash of the source),
 *      then shadowing (an earlier rule takes every request this one would);
 *   2. choices: status and cache lifetime;
 *   3. walks: every live rule's source is turned into a request (placeholders
 *      filled with sentinel values "~name~"), matched with the table the
 *      server uses, its Location built with the server's own code, and the
 *      Location followed as a client would, until no rule matches, the walk
 *      leaves the hosts the table serves, or a (host, scheme, path) state
 *      comes back (a loop). The sentinels are put back as ":name" in
 *      messages and in the flattened rule that --fix writes.
 * Nothing here prints; every finding is returned to the caller. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lint_int.h"

static const struct {
	const char *name;
	enum detour_lint_severity sev;
} codes[DETOUR_LINT_CODE_COUNT] = {
        [DETOUR_LINT_LOOP] = {"loop", DETOUR_LINT_ERROR},
        [DETOUR_LINT_SELF] = {"self-redirect", DETOUR_LINT_ERROR},
        [DETOUR_LINT_CHAIN] = {"chain", DETOUR_LINT_WARNING},
        [DETOUR_LINT_TARGET_REDIRECTS] = {"target-redirects", DETOUR_LINT_WARNING},
        [DETOUR_LINT_SHADOWED] = {"shadowed", DETOUR_LINT_WARNING},
        [DETOUR_LINT_DUPLICATE] = {"duplicate", DETOUR_LINT_WARNING},
        [DETOUR_LINT_CONFLICT] = {"conflict", DETOUR_LINT_ERROR},
        [DETOUR_LINT_PERM_NO_CACHE] = {"permanent-no-cache", DETOUR_LINT_WARNING},
        [DETOUR_LINT_METHOD_CHANGE] = {"method-change", DETOUR_LINT_WARNING},
        [DETOUR_LINT_WINDOW_ENDED] = {"window-ended", DETOUR_LINT_WARNING},
        [DETOUR_LINT_WINDOW_NEVER] = {"window-never", DETOUR_LINT_WARNING},
        [DETOUR_LINT_WEIGHTS] = {"weights", DETOUR_LINT_WARNING},
        [DETOUR_LINT_OPEN_REDIRECT] = {"open-redirect", DETOUR_LINT_WARNING},
        [DETOUR_LINT_MAY_LOOP] = {"may-loop", DETOUR_LINT_WARNING},
};

const char *detour_lint_code_name(enum detour_lint_code c)
{
	return (unsigned)c < DETOUR_LINT_CODE_COUNT ? codes[c].name : "unknown";
}

enum detour_lint_severity detour_lint_code_severity(enum detour_lint_code c)
{
	return (unsigned)c < DETOUR_LINT_CODE_COUNT ? codes[c].sev : DETOUR_LINT_ERROR;
}

const char *detour_lint_severity_name(enum detour_lint_severity s)
{
	return s == DETOUR_LINT_ERROR ? "error" : "warning";
}

/* ------------------------------------------------------------ text helpers */

void detour_lint_sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->fail)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (np == NULL) {
			b->fail = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void detour_lint_sb_str(struct sb *b, const char *s)
{
	detour_lint_sb_put(b, s, strlen(s));
}

void detour_lint_sb_fmt(struct sb *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	detour_lint_sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Takes the string out of b (NULL when it failed or is empty and fail). */
char *detour_lint_sb_take(struct sb *b)
{
	char *p = b->p;

	if (b->fail) {
		free(p);
		p = NULL;
	} else if (p == NULL) {
		p = calloc(1, 1);
	}
	memset(b, 0, sizeof(*b));
	return p;
}

const char *detour_lint_source_text(const struct detour_rule *r, char *buf, size_t cap)
{
	const char *scheme = r->scheme == DETOUR_SCHEME_HTTPS  ? "https:"
	                     : r->scheme == DETOUR_SCHEME_HTTP ? "http:"
	                                                       : "";
	const char *wild = (r->flags & DETOUR_RULE_HOST_WILDCARD) ? "*" : "";

	if (cap == 0)
		return buf;
	if (r->kind == DETOUR_SRC_REGEX && !r->host_len)
		snprintf(buf, cap, "~%s", r->path);
	else if (r->kind == DETOUR_SRC_REGEX)
		snprintf(buf, cap, "%s//%s%s~%s", scheme, wild, r->host, r->path);
	else if (r->host_len)
		snprintf(buf, cap, "%s//%s%s%s%s", scheme, wild, r->host, r->path,
		         r->kind == DETOUR_SRC_SPLAT ? "*" : "");
	else
		snprintf(buf, cap, "%s%s", r->path, r->kind == DETOUR_SRC_SPLAT ? "*" : "");
	return buf;
}

void detour_lint_rule_ref(const struct lint *L, uint32_t i, struct sb *b)
{
	const struct detour_rule *r = detour_ruleset_get(L->rs, i);
	const char *f = detour_ruleset_file(L->rs, r->file);

	detour_lint_sb_fmt(b, "%s:%u", f ? f : "?", (unsigned)r->line);
}

static struct detour_lint_finding *push(struct lint *L, enum detour_lint_code code, uint32_t rule)
{
	struct detour_lint_result *o = L->out;

	if (o->n == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 16;
		struct detour_lint_finding *nv = realloc(o->v, cap * sizeof(*nv));
		if (nv == NULL) {
			L->nomem = true;
			return NULL;
		}
		o->v = nv;
		L->cap = cap;
	}
	const struct detour_rule *r = detour_ruleset_get(L->rs, rule);
	struct detour_lint_finding *f = &o->v[o->n++];
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->severity = codes[code].sev;
	f->rule = rule;
	f->file = detour_ruleset_file(L->rs, r->file);
	f->line = r->line;
	return f;
}

/* Adds a finding with message msg and fix (both taken over, may be NULL on
 * allocation failure) and related rules rel[0..nrel). */
struct detour_lint_finding *detour_lint_add(struct lint *L, enum detour_lint_code code,
                                            uint32_t rule, struct sb *msg, struct sb *fix,
                                            const uint32_t *rel, size_t nrel)
{
	struct detour_lint_finding *f = push(L, code, rule);
	char *m = detour_lint_sb_take(msg);
	char *x = fix ? detour_lint_sb_take(fix) : NULL;

	if (f == NULL || m == NULL || (fix && x == NULL)) {
		free(m);
		free(x);
		if (f)
			L->out->n--;
		L->nomem = true;
		return NULL;
	}
	f->message = m;
	f->fix = x;
	if (nrel) {
		f->related = malloc(nrel * sizeof(*rel));
		if (f->related == NULL) {
			L->nomem = true;
			return f;
		}
		memcpy(f->related, rel, nrel * sizeof(*rel));
		f->nrelated = nrel;
	}
	return f;
}

/* ------------------------------------------------------------ extensions */

const struct detour_rule_ext *detour_lint_ext_of(const struct detour_ruleset *rs,
                                                 const struct detour_rule *r)
{
	return (r->flags & DETOUR_RULE_EXT) ? detour_ruleset_ext(rs, r) : NULL;
}

bool detour_lint_conditional(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x && (x->nconds || (x->flags & (DETOUR_EXT_WINDOW | DETOUR_EXT_CAPTURE_AUTHORITY)));
}

/* Whether r depends on the request itself (conditions) or the clock (a
 * window): a walk that goes through it "may" redirect. */
bool detour_lint_walk_conditional(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x && (x->nconds || (x->flags & DETOUR_EXT_WINDOW));
}

uint32_t detour_lint_weight_of(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x ? x->weight : 0;
}

bool detour_lint_case_i(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);

	return x && (x->flags & DETOUR_EXT_CASE_I);
}

void detour_lint_sb_cond_text(struct sb *b, const struct detour_ruleset *rs,
                              const struct detour_rule *r)
{
	static const char *const dn[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	const struct detour_rule_ext *x = detour_lint_ext_of(rs, r);
	char tb[40];

	if (x == NULL)
		return;
	for (unsigned i = 0; i < x->nconds; i++) {
		if (b->n)
			detour_lint_sb_put(b, " ", 1);
		detour_lint_sb_put(b, x->conds[i].text.p, x->conds[i].text.len);
	}
	if (x->flags & DETOUR_EXT_WINDOW) {
		const struct detour_window *w = &x->window;
		if (w->from != DETOUR_TIME_NONE_FROM) {
			detour_time_format(w->from, tb, sizeof(tb));
			detour_lint_sb_fmt(b, "%sfrom=%s", b->n ? " " : "", tb);
		}
		if (w->until != DETOUR_TIME_NONE_UNTIL) {
			detour_time_format(w->until, tb, sizeof(tb));
			detour_lint_sb_fmt(b, "%suntil=%s", b->n ? " " : "", tb);
		}
		if (w->days) {
			detour_lint_sb_str(b, b->n ? " days=" : "days=");
			bool first = true;
			for (unsigned d = 0; d < 7; d++)
				if (w->days & (1u << d)) {
					detour_lint_sb_fmt(b, "%s%s", first ? "" : ",", dn[d]);
					first = false;
				}
		}
		if (w->hour_from >= 0)
			detour_lint_sb_fmt(b, "%shours=%02d:%02d-%02d:%02d", b->n ? " " : "",
			                   (int)(w->hour_from / 3600),
			                   (int)(w->hour_from / 60 % 60), (int)(w->hour_to / 3600),
			                   (int)(w->hour_to / 60 % 60));
		if (w->tz && (w->days || w->hour_from >= 0))
			detour_lint_sb_fmt(b, " tz=%s", detour_tz_name(w->tz));
	}
	if (x->weight)
		detour_lint_sb_fmt(b, "%sweight=%u", b->n ? " " : "", (unsigned)x->weight);
}

const char *detour_lint_conditions(const struct detour_ruleset *rs, const struct detour_rule *r,
                                   char *buf, size_t cap)
{
	struct sb b = {0};

	if (cap == 0)
		return buf;
	detour_lint_sb_cond_text(&b, rs, r);
	snprintf(buf, cap, "%s", b.p && !b.fail ? b.p : "");
	free(b.p);
	return buf;
}

/* ------------------------------------------------------------------ entry */

static int fcmp(const void *a, const void *b)
{
	const struct detour_lint_finding *x = a, *y = b;

	if (x->rule != y->rule) {
		/* file order is rule order: files are loaded one after another */
		return x->rule < y->rule ? -1 : 1;
	}
	return (int)x->code - (int)y->code;
}

detour_err detour_lint(const struct detour_table *t, const struct detour_lint_opts *opts,
                       struct detour_lint_result *out)
{
	struct lint L = {0};
	detour_err err = DETOUR_OK;

	memset(out, 0, sizeof(*out));
	L.t = t;
	L.rs = detour_table_rules(t);
	L.n = detour_ruleset_count(L.rs);
	L.out = out;
	L.max_hops = opts && opts->max_hops ? opts->max_hops : DETOUR_LINT_MAX_HOPS;
	L.now = opts && opts->now ? opts->now : time(NULL);
	L.dead = calloc(L.n + 1, 1);
	L.same = calloc(L.n + 1, sizeof(*L.same));
	L.gfirst = calloc(L.n + 1, sizeof(*L.gfirst));
	L.st = calloc(L.max_hops + 1, sizeof(*L.st));
	L.hop = calloc(L.max_hops + 1, sizeof(*L.hop));
	L.may = calloc(L.max_hops + 1, sizeof(*L.may));
	if (!L.dead || !L.same || !L.gfirst || !L.st || !L.hop || !L.may)
		goto nomem;
	for (unsigned k = 0; k <= L.max_hops; k++) {
		L.st[k].path = malloc(PATH_CAP);
		L.st[k].query = malloc(LOC_CAP);
		L.st[k].loc = malloc(LOC_CAP);
		if (!L.st[k].path || !L.st[k].query || !L.st[k].loc)
			goto nomem;
	}
	if (detour_lint_collect_hosts(&L) || detour_lint_find_same_sources(&L))
		goto nomem;
	detour_lint_check_windows(&L);
	if (!L.nomem)
		detour_lint_check_duplicates(&L);
	if (!L.nomem && detour_lint_index_rules(&L, true))
		goto nomem;
	if (!L.nomem)
		detour_lint_check_shadowed(&L);
	if (!L.nomem)
		detour_lint_check_groups(&L);
	if (!L.nomem)
		detour_lint_check_choices(&L);
	if (!L.nomem && detour_lint_index_rules(&L, false))
		goto nomem;
	if (!L.nomem)
		detour_lint_check_walks(&L);
	if (L.nomem)
		goto nomem;
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), fcmp);
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].severity == DETOUR_LINT_ERROR)
			out->errors++;
		else
			out->warnings++;
	}
	goto done;
nomem:
	err = DETOUR_ENOMEM;
done:
	if (L.st)
		for (unsigned k = 0; k <= L.max_hops; k++) {
			free(L.st[k].path);
			free(L.st[k].query);
			free(L.st[k].loc);
		}
	free(L.st);
	free(L.hop);
	free(L.may);
	free(L.dead);
	free(L.same);
	free(L.gfirst);
	free(L.splats);
	free(L.conds);
	free(L.hosts);
	free(L.loops);
	return err;
}

void detour_lint_result_fini(struct detour_lint_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].message);
		free(r->v[i].fix);
		free(r->v[i].edit);
		free(r->v[i].related);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int64_t detour_lint_next_rule(const struct detour_table *t, const struct detour_rule *r)
{
	return detour_lint_next_rule_at(t, r, 0, NULL);
}

int64_t detour_lint_next_rule_at(const struct detour_table *t, const struct detour_rule *r,
                                 time_t now, bool *may)
{
	struct lint L = {0};
	struct state st[2];
	char host[HOST_BUF];
	struct walk w;
	int64_t ret = -1;
	bool mayv[2] = {false, false};

	if (may)
		*may = false;
	if (r->target_len == 0)
		return -1;
	L.t = t;
	L.rs = detour_table_rules(t);
	L.n = detour_ruleset_count(L.rs);
	L.max_hops = 1;
	L.now = now ? now : time(NULL);
	uint32_t hop[2];
	memset(st, 0, sizeof(st));
	L.st = st;
	L.hop = hop;
	L.may = mayv;
	for (int k = 0; k < 2; k++) {
		st[k].path = malloc(PATH_CAP);
		st[k].query = malloc(LOC_CAP);
		st[k].loc = malloc(LOC_CAP);
	}
	L.dead = calloc(L.n + 1, 1);
	L.same = calloc(L.n + 1, sizeof(*L.same));
	L.gfirst = calloc(L.n + 1, sizeof(*L.gfirst));
	if (!st[0].path || !st[0].query || !st[0].loc || !st[1].path || !st[1].query ||
	    !st[1].loc || !L.dead || !L.same || !L.gfirst || detour_lint_collect_hosts(&L) ||
	    detour_lint_find_same_sources(&L))
		goto out;
	detour_lint_group_index(&L);
	if (detour_lint_index_rules(&L, false))
		goto out;
	size_t hl = detour_lint_example_host(r, host);
	detour_lint_walk(&L, r, host, hl, r->scheme == DETOUR_SCHEME_HTTPS, &w);
	if (w.end != W_NOT_R && w.end != W_LEAVES && w.nhops >= 1) {
		/* the first Location: which rule answers it (a 410 too) */
		struct detour_match m;
		bool group;
		struct detour_match_req q = detour_lint_req_of(&L, &st[1]);
		if (detour_lint_resolve(&L, &q, &m, &mayv[1], &group)) {
			ret = m.rule->index;
			if (may)
				*may = mayv[1];
		}
	}
out:
	for (int k = 0; k < 2; k++) {
		free(st[k].path);
		free(st[k].query);
		free(st[k].loc);
	}
	free(L.dead);
	free(L.same);
	free(L.gfirst);
	free(L.conds);
	free(L.hosts);
	return ret;
}
