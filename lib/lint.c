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

#include "detour/lint.h"
#include "detour/respond.h"
#include "detour/rulefile.h"
#include "detour/url.h"
#include "hash.h"
#include "rules_int.h"

#define PROBE       "lint-probe" /* label put before a wildcard host's suffix */
#define HOST_BUF    256
#define PATH_CAP    (3 * DETOUR_RULE_LINE_MAX + 64)
#define LOC_CAP     (DETOUR_LOCATION_MAX + 1)
#define MAX_CONTEXT 64 /* hosts a host-less rule is also followed on */
#define SHOW_STATES 6  /* states shown of a walk that never ends */

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

/* A growing string; on failure it stays NULL-marked and everything after is
 * ignored (the caller checks ok()). */
struct sb {
	char *p;
	size_t n, cap;
	bool fail;
};

static void sb_put(struct sb *b, const char *s, size_t n)
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

static void sb_str(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_fmt(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sb *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Takes the string out of b (NULL when it failed or is empty and fail). */
static char *sb_take(struct sb *b)
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

/* ------------------------------------------------------------------ state */

struct state {
	char host[HOST_BUF]; /* canonical (lower case, no port, no trailing dot) */
	size_t hl;           /* 0: no host (a host-less rule on any host) */
	bool https;
	char *path; /* normalised, PATH_CAP bytes */
	size_t pl;
	char *query; /* LOC_CAP bytes */
	size_t ql;
	bool has_query;
	char *loc; /* the Location that led here (LOC_CAP bytes), state 0: none */
	size_t ll;
	bool loc_abs; /* loc has a scheme */
};

enum wend {
	W_NOT_R = 0, /* the rule does not answer its own example request here */
	W_END,       /* the last Location is not redirected again */
	W_LEAVES,    /* the last Location names a host the table does not serve */
	W_LOOP,      /* state nhops equals state loop_at */
	W_LONG,      /* max_hops redirects and still going */
};

struct walk {
	enum wend end;
	unsigned nhops;   /* redirects issued */
	unsigned loop_at; /* W_LOOP */
	bool via_group;   /* a later hop was a weighted group: no flattening */
	unsigned nmay;    /* hops after the first whose rule applies to some requests */
};

struct hostref {
	const char *name;
	uint16_t len;
	bool wild;
};

/* A pending finding built while walking. */
struct lint {
	const struct detour_table *t;
	const struct detour_ruleset *rs;
	size_t n;
	unsigned max_hops;
	time_t now;
	struct detour_lint_result *out;
	size_t cap;
	bool nomem;

	uint8_t *dead;  /* 1: never answers (duplicate, shadowed): not walked */
	uint32_t *same; /* first rule with the same source + 1, 0: none */
	bool scheme_rules;
	struct hostref *hosts; /* sorted, distinct */
	size_t nhosts;

	struct state *st; /* max_hops + 1 */
	uint32_t *hop;    /* rule of each hop */
	uint64_t *loops;  /* keys of loops already reported */
	size_t nloops, loops_cap;

	uint32_t *splats; /* unconditional splat rules, in file order (regex shadowing) */
	size_t nsplats;
	uint32_t *conds; /* live rules with conditions or a window, in file order */
	size_t nconds;
	uint32_t *gfirst; /* weighted member: first member of its group + 1; else 0 */
	bool *may;        /* per hop: the rule applies only to some requests */

	/* the names of the rule being walked, for the sentinels */
	struct detour_slice names[DETOUR_MAX_CAPTURES + 1];
	unsigned nnames;
};

static void rule_ref(const struct lint *L, uint32_t i, struct sb *b)
{
	const struct detour_rule *r = detour_ruleset_get(L->rs, i);
	const char *f = detour_ruleset_file(L->rs, r->file);

	sb_fmt(b, "%s:%u", f ? f : "?", (unsigned)r->line);
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
static struct detour_lint_finding *add(struct lint *L, enum detour_lint_code code, uint32_t rule,
                                       struct sb *msg, struct sb *fix, const uint32_t *rel,
                                       size_t nrel)
{
	struct detour_lint_finding *f = push(L, code, rule);
	char *m = sb_take(msg);
	char *x = fix ? sb_take(fix) : NULL;

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

static const struct detour_rule_ext *ext_of(const struct detour_ruleset *rs,
                                            const struct detour_rule *r)
{
	return (r->flags & DETOUR_RULE_EXT) ? detour_ruleset_ext(rs, r) : NULL;
}

bool detour_lint_conditional(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = ext_of(rs, r);

	return x && (x->nconds || (x->flags & (DETOUR_EXT_WINDOW | DETOUR_EXT_CAPTURE_AUTHORITY)));
}

/* Whether r depends on the request itself (conditions) or the clock (a
 * window): a walk that goes through it "may" redirect. */
static bool walk_conditional(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = ext_of(rs, r);

	return x && (x->nconds || (x->flags & DETOUR_EXT_WINDOW));
}

static uint32_t weight_of(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = ext_of(rs, r);

	return x ? x->weight : 0;
}

static bool case_i(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = ext_of(rs, r);

	return x && (x->flags & DETOUR_EXT_CASE_I);
}

static void sb_cond_text(struct sb *b, const struct detour_ruleset *rs, const struct detour_rule *r)
{
	static const char *const dn[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	const struct detour_rule_ext *x = ext_of(rs, r);
	char tb[40];

	if (x == NULL)
		return;
	for (unsigned i = 0; i < x->nconds; i++) {
		if (b->n)
			sb_put(b, " ", 1);
		sb_put(b, x->conds[i].text.p, x->conds[i].text.len);
	}
	if (x->flags & DETOUR_EXT_WINDOW) {
		const struct detour_window *w = &x->window;
		if (w->from != DETOUR_TIME_NONE_FROM) {
			detour_time_format(w->from, tb, sizeof(tb));
			sb_fmt(b, "%sfrom=%s", b->n ? " " : "", tb);
		}
		if (w->until != DETOUR_TIME_NONE_UNTIL) {
			detour_time_format(w->until, tb, sizeof(tb));
			sb_fmt(b, "%suntil=%s", b->n ? " " : "", tb);
		}
		if (w->days) {
			sb_str(b, b->n ? " days=" : "days=");
			bool first = true;
			for (unsigned d = 0; d < 7; d++)
				if (w->days & (1u << d)) {
					sb_fmt(b, "%s%s", first ? "" : ",", dn[d]);
					first = false;
				}
		}
		if (w->hour_from >= 0)
			sb_fmt(b, "%shours=%02d:%02d-%02d:%02d", b->n ? " " : "",
			       (int)(w->hour_from / 3600), (int)(w->hour_from / 60 % 60),
			       (int)(w->hour_to / 3600), (int)(w->hour_to / 60 % 60));
		if (w->tz && (w->days || w->hour_from >= 0))
			sb_fmt(b, " tz=%s", detour_tz_name(w->tz));
	}
	if (x->weight)
		sb_fmt(b, "%sweight=%u", b->n ? " " : "", (unsigned)x->weight);
}

const char *detour_lint_conditions(const struct detour_ruleset *rs, const struct detour_rule *r,
                                   char *buf, size_t cap)
{
	struct sb b = {0};

	if (cap == 0)
		return buf;
	sb_cond_text(&b, rs, r);
	snprintf(buf, cap, "%s", b.p && !b.fail ? b.p : "");
	free(b.p);
	return buf;
}

/* ---------------------------------------------------------------- sources */

static bool same_source(const struct detour_ruleset *rs, const struct detour_rule *a,
                        const struct detour_rule *b)
{
	return case_i(rs, a) == case_i(rs, b) && a->kind == b->kind && a->scheme == b->scheme &&
	       (a->flags & DETOUR_RULE_HOST_WILDCARD) == (b->flags & DETOUR_RULE_HOST_WILDCARD) &&
	       a->host_len == b->host_len && a->path_len == b->path_len &&
	       memcmp(a->host, b->host, a->host_len) == 0 &&
	       memcmp(a->path, b->path, a->path_len) == 0;
}

static uint64_t source_hash(const struct detour_rule *r)
{
	uint64_t h = detour_fnv(DETOUR_FNV_INIT, r->host, r->host_len);
	h = detour_fnv_step(h, 0);
	h = detour_fnv(h, r->path, r->path_len);
	return detour_mix(h, (uint64_t)r->kind << 8 | (uint64_t)r->scheme << 4 |
	                             (r->flags & DETOUR_RULE_HOST_WILDCARD));
}

/* L->same[i] = index + 1 of the first rule with rule i's source, when it is
 * an earlier one. */
static int find_same_sources(struct lint *L)
{
	size_t cap = 16;
	while (cap < L->n * 2)
		cap *= 2;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		size_t k = (size_t)source_hash(r) & (cap - 1);
		for (;; k = (k + 1) & (cap - 1)) {
			if (slots[k] == 0) {
				slots[k] = (uint32_t)i + 1;
				break;
			}
			const struct detour_rule *f = detour_ruleset_get(L->rs, slots[k] - 1);
			if (same_source(L->rs, f, r)) {
				L->same[i] = slots[k];
				break;
			}
		}
	}
	free(slots);
	return 0;
}

/* Whether two rules answer in exactly the same way. */
static bool same_answer(const struct detour_rule *a, const struct detour_rule *b)
{
	return a->status == b->status && a->cache == b->cache && a->query == b->query &&
	       a->target_len == b->target_len && memcmp(a->target, b->target, a->target_len) == 0;
}

/* Whether rule w always applies when its source matches: no condition, no
 * time window, no open-redirect guard, not a member of a weighted group. */
static bool unconditional(const struct lint *L, const struct detour_rule *w)
{
	return !detour_lint_conditional(L->rs, w) && weight_of(L->rs, w) == 0;
}

static void check_duplicates(struct lint *L)
{
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		if (L->same[i] == 0)
			continue;
		uint32_t j = L->same[i] - 1;
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		const struct detour_rule *f = detour_ruleset_get(L->rs, j);
		struct sb msg = {0}, fix = {0};
		/* An earlier rule with an extension (a condition, a window, a
		 * weight) does not always answer: the same source again is a
		 * fallback or a member of its group, not a duplicate. Whether an
		 * unconditional rule shadows it is for check_shadowed. */
		if (!unconditional(L, f) || L->dead[j])
			continue;
		L->dead[i] = 1;
		if (same_answer(f, r)) {
			sb_str(&msg, "duplicate of ");
			rule_ref(L, j, &msg);
			sb_str(&msg, ", which answers first: this line is never used");
			sb_str(&fix, "remove this line");
			add(L, DETOUR_LINT_DUPLICATE, (uint32_t)i, &msg, &fix, &j, 1);
			continue;
		}
		sb_str(&msg, "same source as ");
		rule_ref(L, j, &msg);
		sb_fmt(&msg, ", which answers first (%u %s): this rule (%u %s) is never used",
		       (unsigned)f->status, f->target_len ? f->target : "-", (unsigned)r->status,
		       r->target_len ? r->target : "-");
		sb_str(&fix, "remove one of the two lines, or give them different sources");
		add(L, DETOUR_LINT_CONFLICT, (uint32_t)i, &msg, &fix, &j, 1);
	}
}

/* A source as segments: each literal or a placeholder, then maybe a tail
 * that takes anything (a splat). A splat "/blog/ *" is the literal segment
 * "blog" and a tail; "/ *" is no segment and a tail. */
struct segs {
	struct detour_slice s[4096];
	size_t n;
	bool tail;
	bool overflow;
};

static void split_source(const struct detour_rule *r, struct segs *g)
{
	size_t n = r->path_len;

	g->n = 0;
	g->overflow = false;
	g->tail = (r->flags & DETOUR_RULE_SPLAT) != 0;
	if (r->kind == DETOUR_SRC_SPLAT)
		n--; /* "/blog/" -> "/blog"; "/" -> "" */
	else if (g->tail)
		n -= 2; /* "/u/:id/ *" -> "/u/:id" */
	if (n == 0)
		return;
	size_t i = 1;
	for (;;) {
		const char *e = memchr(r->path + i, '/', n - i);
		size_t end = e ? (size_t)(e - r->path) : n;
		if (g->n == sizeof(g->s) / sizeof(g->s[0])) {
			g->overflow = true;
			return;
		}
		g->s[g->n].p = r->path + i;
		g->s[g->n].len = end - i;
		g->n++;
		if (end == n)
			break;
		i = end + 1;
	}
}

static bool is_ph(struct detour_slice s)
{
	return s.len > 1 && s.p[0] == ':';
}

/* Whether segment w (of a covering rule) takes every value segment r does. */
static bool seg_covers(struct detour_slice w, struct detour_slice r)
{
	if (is_ph(w))
		return is_ph(r) || r.len > 0; /* a placeholder takes any non-empty segment */
	return !is_ph(r) && w.len == r.len && memcmp(w.p, r.p, w.len) == 0;
}

/* Whether every path r's source matches, w's source matches too. */
static bool path_covers(const struct segs *w, const struct segs *r)
{
	if (w->overflow || r->overflow)
		return false;
	if (!w->tail && (r->tail || r->n != w->n))
		return false;
	if (w->tail && r->n < w->n)
		return false;
	for (size_t k = 0; k < w->n; k++)
		if (!seg_covers(w->s[k], r->s[k]))
			return false;
	return true;
}

/* Whether w applies to every host r applies to. */
static bool host_covers(const struct detour_rule *w, const struct detour_rule *r)
{
	bool ww = (w->flags & DETOUR_RULE_HOST_WILDCARD) != 0;

	if (w->host_len == 0)
		return true;
	if (r->host_len == 0)
		return false;
	if (!ww)
		return !(r->flags & DETOUR_RULE_HOST_WILDCARD) && w->host_len == r->host_len &&
		       memcmp(w->host, r->host, w->host_len) == 0;
	/* w is ".example.com": r's host must end with it and be longer, or r
	 * is a wildcard with that suffix or a longer one */
	if (r->host_len < w->host_len)
		return false;
	if (!memcmp(r->host + r->host_len - w->host_len, w->host, w->host_len))
		return r->host_len > w->host_len || (r->flags & DETOUR_RULE_HOST_WILDCARD);
	return false;
}

static bool scheme_covers(const struct detour_rule *w, enum detour_scheme s)
{
	return w->scheme == DETOUR_SCHEME_ANY || w->scheme == s;
}

/* A case-sensitive rule never covers a case=insensitive one. */
static bool case_covers(const struct lint *L, const struct detour_rule *w,
                        const struct detour_rule *r)
{
	return case_i(L->rs, w) || !case_i(L->rs, r);
}

/* The earlier unconditional splat that takes every request regex rule r
 * matches, or NULL. Only what is provable: every match of r starts with its
 * literal prefix (struct detour_rule_ext), so a splat "/p/ *" covers a regex
 * whose prefix starts with "/p/", and "/ *" covers every regex. */
static const struct detour_rule *regex_covering(const struct lint *L, const struct detour_rule *r)
{
	const struct detour_rule_ext *x = ext_of(L->rs, r);

	if (x == NULL || case_i(L->rs, r))
		return NULL;
	for (size_t k = 0; k < L->nsplats && L->splats[k] < r->index; k++) {
		const struct detour_rule *w = detour_ruleset_get(L->rs, L->splats[k]);
		if (w->scheme != DETOUR_SCHEME_ANY || !host_covers(w, r))
			continue;
		if (w->path_len == 1 ||
		    (x->prefix_len >= w->path_len && !memcmp(x->prefix, w->path, w->path_len)))
			return w;
	}
	return NULL;
}

/* The example request of rule r: its host (a wildcard gets a label), and its
 * path with every placeholder replaced by "~name~" and a splat by
 * "~splat~". Returns false for a source that has no example (regex). */
static bool example_path(const struct detour_rule *r, char *out, size_t cap, size_t *len)
{
	size_t o = 0, n = r->path_len;
	const char *p = r->path;

	if (r->kind == DETOUR_SRC_REGEX)
		return false;
	if (r->kind == DETOUR_SRC_EXACT) {
		if (n > cap)
			return false;
		memcpy(out, p, n);
		*len = n;
		return true;
	}
	bool tail = r->kind == DETOUR_SRC_SPLAT || (r->flags & DETOUR_RULE_SPLAT);
	if (r->kind == DETOUR_SRC_PATTERN && tail)
		n -= 1; /* keep the '/' before the '*' */
	for (size_t i = 0; i < n;) {
		if (p[i] == ':' && i > 0 && p[i - 1] == '/') {
			const char *e = memchr(p + i, '/', n - i);
			size_t end = e ? (size_t)(e - p) : n;
			if (o + (end - i) + 2 > cap)
				return false;
			out[o++] = '~';
			memcpy(out + o, p + i + 1, end - i - 1);
			o += end - i - 1;
			out[o++] = '~';
			i = end;
		} else {
			if (o + 1 > cap)
				return false;
			out[o++] = p[i++];
		}
	}
	if (tail) {
		if (o + 7 > cap)
			return false;
		memcpy(out + o, "~splat~", 7);
		o += 7;
	}
	*len = o;
	return true;
}

/* The host an example request of r carries: r's own, a label before a
 * wildcard's suffix, or none. */
static size_t example_host(const struct detour_rule *r, char *out)
{
	if (r->host_len == 0)
		return 0;
	if (r->flags & DETOUR_RULE_HOST_WILDCARD) {
		size_t pl = sizeof(PROBE) - 1;
		if (pl + r->host_len >= HOST_BUF)
			return 0;
		memcpy(out, PROBE, pl);
		memcpy(out + pl, r->host, r->host_len);
		return pl + r->host_len;
	}
	memcpy(out, r->host, r->host_len);
	return r->host_len;
}

/* The earlier unconditional rule that takes every request r would answer
 * with scheme s, or NULL. */
static const struct detour_rule *covering(struct lint *L, const struct detour_rule *r,
                                          enum detour_scheme s, struct segs *rs_, struct segs *ws,
                                          char *path)
{
	char host[HOST_BUF];
	size_t hl = example_host(r, host), pl;
	struct detour_match m;

	if (!example_path(r, path, PATH_CAP, &pl))
		return NULL;
	struct detour_match_req q = {
	        .host = hl ? host : NULL,
	        .host_len = hl,
	        .https = s == DETOUR_SCHEME_HTTPS,
	        .path = path,
	        .path_len = pl,
	        .now = L->now,
	};
	if (!detour_table_match(L->t, &q, &m) || m.rule->index >= r->index)
		return NULL; /* r (or a later rule) answers its own example */
	const struct detour_rule *w = m.rule;
	/* An exact source is one path: the earlier winner covers it. Found with
	 * its own host, w covers r's host as the table judges hosts (a wildcard
	 * r is asked with a label no exact host rule names). */
	if (r->kind == DETOUR_SRC_EXACT) {
		if (unconditional(L, w) && host_covers(w, r) && case_covers(L, w, r))
			return w;
	} else if (w->kind != DETOUR_SRC_REGEX && unconditional(L, w) && host_covers(w, r) &&
	           case_covers(L, w, r)) {
		split_source(w, ws);
		if (path_covers(ws, rs_))
			return w;
	}
	/* The first earlier match does not cover every request of r (it is
	 * narrower, or conditional): look for one that does. */
	for (uint32_t j = 0; j < r->index; j++) {
		const struct detour_rule *c = detour_ruleset_get(L->rs, j);
		if (c->kind == DETOUR_SRC_REGEX || !unconditional(L, c) || !scheme_covers(c, s) ||
		    !host_covers(c, r) || !case_covers(L, c, r))
			continue;
		if (r->kind != DETOUR_SRC_EXACT && c->kind == DETOUR_SRC_EXACT)
			continue;
		split_source(c, ws);
		if (path_covers(ws, rs_))
			return c;
	}
	return NULL;
}

static void check_shadowed(struct lint *L)
{
	struct segs *rsg = malloc(sizeof(*rsg)), *wsg = malloc(sizeof(*wsg));
	char *path = malloc(PATH_CAP);
	char src[256];

	if (!rsg || !wsg || !path) {
		L->nomem = true;
		goto out;
	}
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (L->dead[i])
			continue;
		const struct detour_rule *w;
		if (r->kind == DETOUR_SRC_REGEX) {
			w = regex_covering(L, r);
		} else if (split_source(r, rsg),
		           r->scheme != DETOUR_SCHEME_ANY || !L->scheme_rules) {
			enum detour_scheme s =
			        r->scheme == DETOUR_SCHEME_ANY ? DETOUR_SCHEME_HTTP : r->scheme;
			w = covering(L, r, s, rsg, wsg, path);
		} else {
			w = covering(L, r, DETOUR_SCHEME_HTTP, rsg, wsg, path);
			if (w && !covering(L, r, DETOUR_SCHEME_HTTPS, rsg, wsg, path))
				w = NULL;
		}
		if (w == NULL)
			continue;
		L->dead[i] = 1;
		uint32_t wi = w->index;
		struct sb msg = {0}, fix = {0};
		sb_str(&msg, "never used: ");
		rule_ref(L, wi, &msg);
		sb_fmt(&msg, " (%s) comes first and takes every request this rule matches",
		       detour_lint_source_text(w, src, sizeof(src)));
		sb_str(&fix, "move this rule above ");
		rule_ref(L, wi, &fix);
		sb_str(&fix, ", or remove it");
		add(L, DETOUR_LINT_SHADOWED, (uint32_t)i, &msg, &fix, &wi, 1);
	}
out:
	free(rsg);
	free(wsg);
	free(path);
}

/* ---------------------------------------------------------------- choices */

/* Whether window w is open at some time in [a, b) (b - a within 8 days for
 * a recurring window, which repeats every week). */
static bool opens(const struct detour_window *w, int64_t a, int64_t b)
{
	int64_t end, next;

	if (detour_window_at(w, a, &end, &next))
		return true;
	return next < b;
}

/* Time windows against the clock (L->now, which DETOUR_NOW sets in the CLI as
 * it does in the server). A window that never opens or has ended makes the
 * rule dead: it is not walked. */
static void check_windows(struct lint *L)
{
	char a[40], b[40];

	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		const struct detour_rule_ext *x = ext_of(L->rs, r);
		if (x == NULL || !(x->flags & DETOUR_EXT_WINDOW))
			continue;
		const struct detour_window *w = &x->window;
		struct sb msg = {0}, fix = {0};
		bool recurring = w->days || w->hour_from >= 0;
		if (recurring && w->from != DETOUR_TIME_NONE_FROM &&
		    w->until != DETOUR_TIME_NONE_UNTIL && !opens(w, w->from, w->until)) {
			/* the loader refuses from >= until; days=/hours= that never
			 * fall between from= and until= are for lint */
			struct sb c = {0};
			sb_cond_text(&c, L->rs, r);
			sb_fmt(&msg, "the time window never opens: %s", c.p ? c.p : "");
			free(c.p);
			sb_str(&fix,
			       "widen from=/until= to a day that days=/hours= allow, or remove "
			       "the rule");
			L->dead[i] = 1;
			add(L, DETOUR_LINT_WINDOW_NEVER, (uint32_t)i, &msg, &fix, NULL, 0);
		} else if (w->until != DETOUR_TIME_NONE_UNTIL &&
		           (w->until <= (int64_t)L->now ||
		            (recurring && !opens(w, (int64_t)L->now, w->until)))) {
			detour_time_format(w->until, a, sizeof(a));
			detour_time_format((int64_t)L->now, b, sizeof(b));
			if (w->until <= (int64_t)L->now)
				sb_fmt(&msg,
				       "the time window ended at %s (now %s): this rule never "
				       "applies again",
				       a, b);
			else
				sb_fmt(&msg,
				       "the time window has no opening left before until=%s (now "
				       "%s): "
				       "this rule never applies again",
				       a, b);
			sb_str(&fix, "remove the rule, or move until= to the future");
			L->dead[i] = 1;
			add(L, DETOUR_LINT_WINDOW_ENDED, (uint32_t)i, &msg, &fix, NULL, 0);
		}
	}
}

/* L->gfirst[i]: the first live weighted rule with rule i's source + 1, for
 * every live weighted rule i (the group's lead; the table answers a group at
 * its first member's place). */
static void group_index(struct lint *L)
{
	uint32_t *lead = calloc(L->n + 1, sizeof(*lead)); /* by first same-source rule */

	if (lead == NULL) {
		L->nomem = true;
		return;
	}
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (weight_of(L->rs, r) == 0 || L->dead[i])
			continue;
		uint32_t key = L->same[i] ? L->same[i] - 1 : (uint32_t)i;
		if (lead[key] == 0)
			lead[key] = (uint32_t)i + 1;
		L->gfirst[i] = lead[key];
	}
	free(lead);
}

/* Weighted groups: their weights. When one weight is 10 or
 * more, the weights read as percentages and must total 100; otherwise they
 * are ratios (3 and 1: 75% and 25%). A group of one is no split. */
static void check_groups(struct lint *L)
{
	uint64_t *sum = calloc(L->n + 1, sizeof(*sum));
	uint32_t *cnt = calloc(L->n + 1, sizeof(*cnt)), *mx = calloc(L->n + 1, sizeof(*mx));

	if (!sum || !cnt || !mx) {
		L->nomem = true;
		goto out;
	}
	group_index(L);
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		uint32_t wt = weight_of(L->rs, r);
		if (wt == 0 || L->gfirst[i] == 0)
			continue;
		uint32_t g = L->gfirst[i] - 1;
		sum[g] += wt;
		cnt[g]++;
		if (wt > mx[g])
			mx[g] = wt;
	}
	for (size_t g = 0; g < L->n && !L->nomem; g++) {
		if (cnt[g] == 0 || L->gfirst[g] != g + 1)
			continue;
		const struct detour_rule *r = detour_ruleset_get(L->rs, g);
		struct sb msg = {0}, fix = {0};
		char src[256];
		if (cnt[g] == 1) {
			sb_fmt(&msg,
			       "a weighted group of one: no other line has the source %s and a "
			       "weight=, so weight=%u splits nothing (and makes the answer "
			       "private, "
			       "no-store)",
			       detour_lint_source_text(r, src, sizeof(src)), (unsigned)mx[g]);
			sb_str(&fix,
			       "add the other variants with the same source, or remove weight=");
			add(L, DETOUR_LINT_WEIGHTS, (uint32_t)g, &msg, &fix, NULL, 0);
		} else if (mx[g] >= 10 && sum[g] != 100) {
			uint32_t *rel = malloc(cnt[g] * sizeof(*rel));
			size_t nr = 0;
			if (rel == NULL) {
				L->nomem = true;
				break;
			}
			sb_fmt(&msg, "the weights of this group add up to %llu, not 100: ",
			       (unsigned long long)sum[g]);
			for (size_t i = g; i < L->n; i++) {
				if (L->gfirst[i] != g + 1)
					continue;
				const struct detour_rule *m = detour_ruleset_get(L->rs, i);
				uint32_t wt = weight_of(L->rs, m);
				if (i != g)
					sb_str(&msg, ", ");
				sb_fmt(&msg, "%s gets %u/%llu (%.1f%%)",
				       m->target_len ? m->target : "-", (unsigned)wt,
				       (unsigned long long)sum[g], 100.0 * wt / (double)sum[g]);
				if (i != g)
					rel[nr++] = (uint32_t)i; /* the other members */
			}
			sb_str(&fix, "make the weights total 100, or use small ratios (3 and 1)");
			add(L, DETOUR_LINT_WEIGHTS, (uint32_t)g, &msg, &fix, rel, nr);
			free(rel);
		}
	}
out:
	free(sum);
	free(cnt);
	free(mx);
}

/* The methods rule r is limited to: a mask of (1 << enum detour_method), or 0
 * when it has no method= condition. */
static unsigned method_mask(const struct detour_rule_ext *x)
{
	unsigned m = ~0u;
	bool any = false;

	for (unsigned i = 0; x && i < x->nconds; i++) {
		if (x->conds[i].kind != DETOUR_COND_METHOD)
			continue;
		any = true;
		m &= x->conds[i].negate ? ~(unsigned)x->conds[i].methods : x->conds[i].methods;
	}
	return any ? m : 0;
}

static void check_choices(struct lint *L)
{
	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		const struct detour_rule_ext *x = ext_of(L->rs, r);
		if (L->dead[i])
			continue;
		if ((r->status == 301 || r->status == 308) && r->cache == DETOUR_CACHE_UNSET) {
			struct sb msg = {0}, fix = {0};
			sb_fmt(&msg,
			       "%u without cache=: browsers keep a permanent redirect with no time "
			       "limit, and it cannot be taken back",
			       (unsigned)r->status);
			sb_fmt(&fix, "add cache=1d (or another lifetime), or use %u while testing",
			       r->status == 301 ? 302u : 307u);
			add(L, DETOUR_LINT_PERM_NO_CACHE, (uint32_t)i, &msg, &fix, NULL, 0);
		}
		unsigned mm = method_mask(x);
		unsigned unsafe = mm & (1u << DETOUR_M_POST | 1u << DETOUR_M_PUT);
		if ((r->status == 301 || r->status == 302) && unsafe) {
			/* RFC 9110 §15.4.2 (301) and §15.4.3 (302): "For historical
			 * reasons, a user agent MAY change the request method from
			 * POST to GET for the subsequent request." 307 and 308
			 * (§15.4.8, §15.4.9) forbid that change. */
			struct sb msg = {0}, fix = {0};
			unsigned to = r->status == 301 ? 308u : 307u;
			sb_fmt(&msg,
			       "%u on a rule for %s%s%s: clients may follow it with a GET and lose "
			       "the request body (RFC 9110 %s)",
			       (unsigned)r->status, (unsafe & 1u << DETOUR_M_POST) ? "POST" : "",
			       unsafe == (1u << DETOUR_M_POST | 1u << DETOUR_M_PUT) ? "/" : "",
			       (unsafe & 1u << DETOUR_M_PUT) ? "PUT" : "",
			       r->status == 301 ? "§15.4.2" : "§15.4.3");
			sb_fmt(&fix, "use %u, which keeps the method and the body", to);
			add(L, DETOUR_LINT_METHOD_CHANGE, (uint32_t)i, &msg, &fix, NULL, 0);
		}
		if (x && (x->flags & DETOUR_EXT_CAPTURE_AUTHORITY) && r->target_len &&
		    r->target[0] != 'h' && r->target[0] != 'H') {
			/* The engine lets this rule load (allow-hosts= is given) and
			 * checks every Location's host, but the scheme comes from the
			 * request too: an allowed host over plain http. */
			struct sb msg = {0}, fix = {0};
			sb_fmt(&msg,
			       "the target starts with a capture: a request chooses the whole "
			       "Location, its scheme too (http:// to an allowed host, no TLS); "
			       "only "
			       "allow-hosts= (%u host%s) limits where visitors go",
			       (unsigned)x->nallow, x->nallow == 1 ? "" : "s");
			sb_str(&fix,
			       "write the scheme in the target (https://$1...) and capture only "
			       "what follows it");
			add(L, DETOUR_LINT_OPEN_REDIRECT, (uint32_t)i, &msg, &fix, NULL, 0);
		}
	}
}

/* ------------------------------------------------------------------ hosts */

static int host_cmp(const void *a, const void *b)
{
	const struct hostref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (int)x->wild - (int)y->wild;
}

static int collect_hosts(struct lint *L)
{
	L->hosts = malloc((L->n ? L->n : 1) * sizeof(*L->hosts));
	if (L->hosts == NULL)
		return -1;
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (r->scheme != DETOUR_SCHEME_ANY)
			L->scheme_rules = true;
		if (r->host_len)
			L->hosts[L->nhosts++] = (struct hostref){
			        r->host, r->host_len, (r->flags & DETOUR_RULE_HOST_WILDCARD) != 0};
	}
	if (L->nhosts) {
		qsort(L->hosts, L->nhosts, sizeof(*L->hosts), host_cmp);
		size_t k = 1;
		for (size_t i = 1; i < L->nhosts; i++)
			if (host_cmp(&L->hosts[i], &L->hosts[k - 1]))
				L->hosts[k++] = L->hosts[i];
		L->nhosts = k;
	}
	return 0;
}

static bool host_known(const struct lint *L, const char *h, size_t n, bool wild)
{
	struct hostref key = {h, (uint16_t)n, wild};
	return n < 65536 && bsearch(&key, L->hosts, L->nhosts, sizeof(*L->hosts), host_cmp) != NULL;
}

/* Whether the table names host h[0..n) (canonical), exactly or through a
 * wildcard: a Location to it comes back to this server. */
static bool host_served(const struct lint *L, const char *h, size_t n)
{
	if (host_known(L, h, n, false))
		return true;
	for (size_t i = 1; i < n; i++)
		if (h[i] == '.' && host_known(L, h + i, n - i, true))
			return true;
	return false;
}

/* ------------------------------------------------------------------- walks */

/* Writes s with every "~name~" of the walked rule's names back as ":name". */
static void sb_unsentinel(const struct lint *L, struct sb *b, const char *s, size_t n)
{
	size_t lit = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '~')
			continue;
		for (unsigned k = 0; k < L->nnames; k++) {
			size_t nl = L->names[k].len;
			if (i + nl + 2 <= n && s[i + nl + 1] == '~' &&
			    !memcmp(s + i + 1, L->names[k].p, nl)) {
				sb_put(b, s + lit, i - lit);
				sb_put(b, ":", 1);
				sb_put(b, L->names[k].p, nl);
				i += nl + 1;
				lit = i + 1;
				break;
			}
		}
	}
	sb_put(b, s + lit, n - lit);
}

static void sb_host(struct sb *b, const struct state *s)
{
	size_t pl = sizeof(PROBE) - 1;

	sb_str(b, s->https ? "https://" : "http://");
	if (s->hl > pl && !memcmp(s->host, PROBE, pl) && s->host[pl] == '.') {
		sb_put(b, "*", 1);
		sb_put(b, s->host + pl, s->hl - pl);
	} else {
		sb_put(b, s->host, s->hl);
	}
}

/* State k as shown in messages: the path (and query), led by the scheme and
 * host when they are not those of state prev (the state shown before it, -1
 * for none). */
static void sb_state(const struct lint *L, struct sb *b, unsigned k, int prev)
{
	const struct state *s = &L->st[k], *p = prev >= 0 ? &L->st[prev] : NULL;
	bool show = s->hl && (p == NULL || s->hl != p->hl || s->https != p->https ||
	                      memcmp(s->host, p->host, s->hl));

	if (show)
		sb_host(b, s);
	sb_unsentinel(L, b, s->path, s->pl);
	if (s->has_query) {
		sb_put(b, "?", 1);
		sb_unsentinel(L, b, s->query, s->ql);
	}
}

static bool state_eq(const struct state *a, const struct state *b)
{
	return a->hl == b->hl && a->https == b->https && a->pl == b->pl &&
	       !memcmp(a->host, b->host, a->hl) && !memcmp(a->path, b->path, a->pl);
}

/* Parses Location loc into state s (host and scheme inherited from prev for
 * a relative one). Returns 0, or -1 when the client would leave the table:
 * another scheme, a host the table does not serve, or something unparsable. */
static int next_state(const struct lint *L, const struct state *prev, struct state *s)
{
	struct detour_url u;

	if (detour_url_parse(s->loc, s->ll, &u) != DETOUR_OK)
		return -1;
	s->loc_abs = u.scheme.p != NULL;
	if (u.scheme.p) {
		bool https = u.scheme.len == 5 && !strncasecmp(u.scheme.p, "https", 5);
		if (!https && !(u.scheme.len == 4 && !strncasecmp(u.scheme.p, "http", 4)))
			return -1;
		if (u.host.p == NULL || u.host.len == 0 || u.host.len >= HOST_BUF)
			return -1;
		memcpy(s->host, u.host.p, u.host.len);
		s->hl = detour_url_host_canon(s->host, u.host.len);
		s->https = https;
		if (!host_served(L, s->host, s->hl))
			return -1;
	} else {
		if (u.has_authority)
			return -1;
		memcpy(s->host, prev->host, prev->hl);
		s->hl = prev->hl;
		s->https = prev->https;
	}
	if (u.path.len == 0) {
		s->path[0] = '/';
		s->pl = 1;
	} else {
		if (u.path.p[0] != '/')
			return -1;
		ssize_t n = detour_url_normalize_path(u.path.p, u.path.len, s->path, PATH_CAP);
		if (n < 0)
			return -1;
		s->pl = (size_t)n;
	}
	s->has_query = u.query.p != NULL;
	s->ql = u.query.len;
	if (s->has_query)
		memcpy(s->query, u.query.p, u.query.len);
	return 0;
}

static struct detour_match_req req_of(const struct lint *L, const struct state *s)
{
	return (struct detour_match_req){
	        .host = s->hl ? s->host : NULL,
	        .host_len = s->hl,
	        .https = s->https,
	        .path = s->path,
	        .path_len = s->pl,
	        .query = s->has_query ? s->query : NULL,
	        .query_len = s->ql,
	        .now = L->now,
	};
}

/* The rule a client asking q meets, for a walk: the first rule in file order
 * whose source matches and that may apply. A rule with conditions or a window
 * that comes before the table's answer to a bare GET is taken ("may": it
 * answers only some requests); *may is also set when the table's answer has
 * conditions or a window itself. A weighted group is followed through its
 * first member (*group). Returns false when no rule answers. */
static bool resolve(struct lint *L, const struct detour_match_req *q, struct detour_match *m,
                    bool *may, bool *group)
{
	bool found = detour_table_match(L->t, q, m);
	uint32_t lim = found ? m->rule->index : UINT32_MAX;

	*may = false;
	*group = false;
	for (size_t k = 0; k < L->nconds && L->conds[k] < lim; k++) {
		const struct detour_rule *c = detour_ruleset_get(L->rs, L->conds[k]);
		if (detour_table_source_matches(L->t, q, c)) {
			detour_table_fill_match(L->t, q, c, m);
			*may = found = true;
			break;
		}
	}
	if (!found)
		return false;
	*may |= walk_conditional(L->rs, m->rule);
	uint32_t gi = L->gfirst ? L->gfirst[m->rule->index] : 0;
	if (gi) {
		*group = *may = true; /* a visitor may get another variant */
		if (gi - 1 != m->rule->index)
			detour_table_fill_match(L->t, q, detour_ruleset_get(L->rs, gi - 1), m);
	}
	return true;
}

/* Follows rule r from its example request on (host, https). */
static void walk(struct lint *L, const struct detour_rule *r, const char *host, size_t hl,
                 bool https, struct walk *w)
{
	struct state *s0 = &L->st[0];
	struct detour_match m;

	memset(w, 0, sizeof(*w));
	memcpy(s0->host, host, hl);
	s0->hl = hl;
	s0->https = https;
	s0->has_query = false;
	s0->ql = 0;
	s0->ll = 0;
	s0->loc_abs = false;
	if (!example_path(r, s0->path, PATH_CAP, &s0->pl))
		return;
	for (unsigned k = 0;; k++) {
		struct state *s = &L->st[k];
		struct detour_match_req q = req_of(L, s);
		bool may = false, group = false;
		if (k == 0) {
			/* r answers its own example unless an earlier rule that
			 * always applies takes it (another host's rule, say); r's
			 * own conditions, window and group are assumed to hold */
			bool found = detour_table_match(L->t, &q, &m);
			if (found && m.rule->index < r->index && unconditional(L, m.rule))
				return;
			if (!detour_table_source_matches(L->t, &q, r))
				return;
			if (!found || m.rule != r)
				detour_table_fill_match(L->t, &q, r, &m);
			may = walk_conditional(L->rs, r) || weight_of(L->rs, r);
		} else if (!resolve(L, &q, &m, &may, &group)) {
			w->end = W_END;
			w->nhops = k;
			return;
		}
		L->may[k] = may;
		if (k && may)
			w->nmay++;
		if (k && group)
			w->via_group = true;
		if (m.rule->target_len == 0) {
			/* a 410: the end of the road */
			w->end = k ? W_END : W_NOT_R;
			w->nhops = k;
			return;
		}
		if (k == L->max_hops) {
			w->end = W_LONG;
			w->nhops = k;
			return;
		}
		L->hop[k] = m.rule->index;
		struct state *nx = &L->st[k + 1];
		ssize_t ll = detour_respond_location(&m, &q, nx->loc, LOC_CAP);
		if (ll < 0) {
			/* over DETOUR_LOCATION_MAX: the server answers 500 */
			w->end = k ? W_END : W_NOT_R;
			w->nhops = k;
			return;
		}
		nx->ll = (size_t)ll;
		if (next_state(L, s, nx) < 0) {
			w->end = W_LEAVES;
			w->nhops = k + 1;
			return;
		}
		for (unsigned j = 0; j <= k; j++) {
			if (state_eq(&L->st[j], nx)) {
				w->end = W_LOOP;
				w->nhops = k + 1;
				w->loop_at = j;
				return;
			}
		}
	}
}

/* Fills L->splats (splats == true) or L->conds with the live rules. */
static int index_rules(struct lint *L, bool splats)
{
	uint32_t *v = malloc((L->n + 1) * sizeof(*v));
	size_t nv = 0;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < L->n; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (L->dead[i])
			continue;
		if (splats ? r->kind == DETOUR_SRC_SPLAT && unconditional(L, r)
		           : walk_conditional(L->rs, r))
			v[nv++] = (uint32_t)i;
	}
	if (splats) {
		L->splats = v;
		L->nsplats = nv;
	} else {
		L->conds = v;
		L->nconds = nv;
	}
	return 0;
}

/* The names of r's placeholders, for sb_unsentinel. */
static void set_names(struct lint *L, const struct detour_rule *r)
{
	L->nnames = 0;
	if (r->kind == DETOUR_SRC_PATTERN) {
		for (size_t i = 1; i < r->path_len && L->nnames < DETOUR_MAX_CAPTURES; i++) {
			if (r->path[i] != ':' || r->path[i - 1] != '/')
				continue;
			const char *e = memchr(r->path + i, '/', r->path_len - i);
			size_t end = e ? (size_t)(e - r->path) : r->path_len;
			L->names[L->nnames].p = r->path + i + 1;
			L->names[L->nnames].len = end - i - 1;
			L->nnames++;
			i = end;
		}
	}
	if (r->kind == DETOUR_SRC_SPLAT || (r->flags & DETOUR_RULE_SPLAT)) {
		L->names[L->nnames].p = "splat";
		L->names[L->nnames].len = 5;
		L->nnames++;
	}
}

static void sb_example_note(const struct lint *L, struct sb *b)
{
	if (L->nnames == 0)
		return;
	sb_str(b, " (followed with an example value for ");
	for (unsigned k = 0; k < L->nnames; k++) {
		if (k)
			sb_str(b, k + 1 == L->nnames ? " and " : ", ");
		sb_put(b, ":", 1);
		sb_put(b, L->names[k].p, L->names[k].len);
	}
	sb_str(b, ")");
}

static bool loop_seen(struct lint *L, uint64_t key)
{
	for (size_t i = 0; i < L->nloops; i++)
		if (L->loops[i] == key)
			return true;
	if (L->nloops == L->loops_cap) {
		size_t cap = L->loops_cap ? L->loops_cap * 2 : 8;
		uint64_t *nl = realloc(L->loops, cap * sizeof(*nl));
		if (nl == NULL) {
			L->nomem = true;
			return true;
		}
		L->loops = nl;
		L->loops_cap = cap;
	}
	L->loops[L->nloops++] = key;
	return false;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A key for a set of rules (sorted copy in tmp). */
static uint64_t set_key(const uint32_t *v, size_t n, uint32_t *tmp)
{
	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), u32_cmp);
	uint64_t h = DETOUR_FNV_INIT;
	uint32_t last = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		if (tmp[i] == last)
			continue;
		last = tmp[i];
		h = detour_fnv(h, (const char *)&tmp[i], sizeof(tmp[i]));
	}
	return detour_mix(h, 0x6c6f6f70);
}

static void sb_rule_list(const struct lint *L, struct sb *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_str(b, ", ");
		rule_ref(L, v[i], b);
	}
}

/* "on https://example.com: " when the walk ran on a host the rule does not
 * name itself (a host-less rule followed on one of the table's hosts). */
static void sb_context(const struct lint *L, struct sb *b, const struct detour_rule *r)
{
	if (r->host_len == 0 && L->st[0].hl) {
		sb_str(b, "on ");
		sb_host(b, &L->st[0]);
		sb_str(b, ": ");
	}
}

/* "; only some requests: file:line applies when method=POST" for every hop
 * from hop first on whose rule applies to some requests only. */
static void sb_may_note(const struct lint *L, struct sb *b, const struct walk *w, unsigned first)
{
	bool any = false;

	for (unsigned k = first; k < w->nhops; k++) {
		bool dup = false;
		if (!L->may[k])
			continue;
		for (unsigned j = first; j < k; j++)
			dup |= L->may[j] && L->hop[j] == L->hop[k];
		if (dup)
			continue;
		const struct detour_rule *h = detour_ruleset_get(L->rs, L->hop[k]);
		sb_str(b, any ? ", " : "; only for some requests: ");
		rule_ref(L, L->hop[k], b);
		sb_str(b, " applies when ");
		struct sb c = {0};
		sb_cond_text(&c, L->rs, h);
		if (c.p)
			sb_str(b, c.p);
		free(c.p);
		any = true;
	}
}

/* Reports the loop of walk w from rule r. */
static void report_loop(struct lint *L, const struct detour_rule *r, const struct walk *w)
{
	uint32_t *tmp = malloc((w->nhops + 1) * sizeof(*tmp));
	uint32_t *cyc = malloc((w->nhops + 1) * sizeof(*cyc));
	size_t nc = 0;
	unsigned first = 0;
	bool in_cycle = false;

	if (!tmp || !cyc) {
		L->nomem = true;
		goto out;
	}
	if (w->end == W_LOOP) {
		for (unsigned k = w->loop_at; k < w->nhops; k++)
			cyc[nc++] = L->hop[k];
	} else {
		/* never ends: the rules that come back */
		for (unsigned k = 0; k < w->nhops; k++)
			for (unsigned j = 0; j < k; j++)
				if (L->hop[j] == L->hop[k]) {
					bool have = false;
					for (size_t c = 0; c < nc; c++)
						have |= cyc[c] == L->hop[k];
					if (!have)
						cyc[nc++] = L->hop[k];
					break;
				}
	}
	uint32_t mi = UINT32_MAX;
	for (size_t c = 0; c < nc; c++) {
		in_cycle |= cyc[c] == r->index;
		if (cyc[c] < mi) {
			mi = cyc[c];
			first = (unsigned)c;
		}
	}
	if (nc == 0) {
		/* max_hops distinct rules in a row: a very long chain */
		struct sb msg = {0};
		sb_context(L, &msg, r);
		sb_fmt(&msg, "more than %u redirects in a row: ", L->max_hops);
		for (unsigned k = 0; k <= SHOW_STATES && k <= w->nhops; k++) {
			sb_state(L, &msg, k, (int)k - 1);
			sb_str(&msg, " -> ");
		}
		sb_str(&msg, "...");
		sb_example_note(L, &msg);
		add(L, DETOUR_LINT_CHAIN, r->index, &msg, NULL, L->hop, w->nhops);
		goto out;
	}
	bool may = false;
	for (unsigned k = 0; k < w->nhops; k++)
		may |= L->may[k];
	uint64_t key = set_key(cyc, nc, tmp);
	if (!loop_seen(L, key)) {
		struct sb msg = {0}, fix = {0};
		enum detour_lint_code code = DETOUR_LINT_LOOP;
		/* rotate so that the cycle starts at its first rule in file order */
		for (size_t c = 0; c < nc; c++)
			tmp[c] = cyc[(first + c) % nc];
		sb_context(L, &msg, r);
		if (w->end == W_LOOP) {
			unsigned len = w->nhops - w->loop_at;
			unsigned s0 = w->loop_at + first;
			if (len == 1) {
				code = DETOUR_LINT_SELF;
				sb_str(&msg, "redirects to itself: ");
			} else {
				sb_str(&msg, "redirect loop: ");
			}
			int prev = -1;
			for (unsigned c = 0; c <= len; c++) {
				unsigned k = w->loop_at + (s0 - w->loop_at + c) % len;
				if (c)
					sb_str(&msg, " -> ");
				/* the last state is the one the loop arrives at (with the
				 * query of its Location) */
				sb_state(L, &msg, c == len && s0 == w->loop_at ? w->nhops : k,
				         prev);
				prev = (int)k;
			}
			if (code == DETOUR_LINT_LOOP) {
				sb_str(&msg, " (");
				sb_rule_list(L, &msg, tmp, nc);
				sb_str(&msg, ")");
			}
			sb_str(&fix, code == DETOUR_LINT_SELF
			                     ? "point the target somewhere else, or remove the rule"
			                     : "point one of these rules at the final page");
		} else {
			sb_str(&msg, "redirects never end: ");
			for (unsigned k = 0; k <= SHOW_STATES && k <= w->nhops; k++) {
				sb_state(L, &msg, k, (int)k - 1);
				sb_str(&msg, " -> ");
			}
			sb_fmt(&msg, "... (more than %u redirects, through ", L->max_hops);
			sb_rule_list(L, &msg, tmp, nc);
			sb_str(&msg, ")");
			sb_str(&fix,
			       "make the target of these rules leave what their source matches");
		}
		sb_may_note(L, &msg, w, 0);
		sb_example_note(L, &msg);
		add(L, may ? DETOUR_LINT_MAY_LOOP : code, mi, &msg, &fix, tmp, nc);
	}
	if (!in_cycle) {
		struct sb msg = {0};
		sb_context(L, &msg, r);
		sb_str(&msg, "leads into the redirect loop of ");
		rule_ref(L, mi, &msg);
		sb_str(&msg, ": ");
		unsigned last = w->end == W_LOOP
		                        ? w->nhops
		                        : (w->nhops < SHOW_STATES ? w->nhops : SHOW_STATES);
		for (unsigned k = 0; k <= last; k++) {
			if (k)
				sb_str(&msg, " -> ");
			sb_state(L, &msg, k, (int)k - 1);
		}
		if (w->end != W_LOOP)
			sb_str(&msg, " -> ...");
		sb_may_note(L, &msg, w, 0);
		sb_example_note(L, &msg);
		add(L, may ? DETOUR_LINT_MAY_LOOP : DETOUR_LINT_LOOP, r->index, &msg, NULL, &mi, 1);
	}
out:
	free(tmp);
	free(cyc);
}

/* The target a rule should have to go straight to the end of walk w: the
 * last Location, made absolute when the walk changed host or scheme. */
static void sb_final_target(const struct lint *L, struct sb *b, const struct walk *w)
{
	const struct state *f = &L->st[w->nhops], *s0 = &L->st[0];

	if (!f->loc_abs &&
	    (f->hl != s0->hl || f->https != s0->https || memcmp(f->host, s0->host, f->hl))) {
		sb_str(b, f->https ? "https://" : "http://");
		sb_put(b, f->host, f->hl);
	}
	sb_unsentinel(L, b, f->loc, f->ll);
}

/* Whether line text loads as one rule. */
static bool loads(const char *text)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_diag d;
	bool ok;

	if (rs == NULL)
		return false;
	ok = detour_ruleset_add_line(rs, "fix", 1, text, strlen(text), &d) == DETOUR_OK;
	detour_ruleset_free(rs);
	return ok;
}

/* The options of r that a flattened copy keeps: query= and cache=. */
static void sb_options(struct sb *b, const struct detour_rule *r)
{
	static const struct {
		int32_t secs;
		char unit;
	} units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};

	if (r->query == DETOUR_QUERY_DROP)
		sb_str(b, " query=drop");
	else if (r->query == DETOUR_QUERY_MERGE)
		sb_str(b, " query=merge");
	if (r->cache == DETOUR_CACHE_NO_STORE) {
		sb_str(b, " cache=no-store");
	} else if (r->cache > 0) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (r->cache % units[i].secs == 0) {
				sb_fmt(b, " cache=%d%c", (int)(r->cache / units[i].secs),
				       units[i].unit);
				return;
			}
		}
		sb_fmt(b, " cache=%ds", (int)r->cache);
	}
}

/* Builds the chain finding of walk w from rule r (the caller adds it). */
static void report_chain(struct lint *L, const struct detour_rule *r, const struct walk *w)
{
	struct sb msg = {0}, fix = {0}, target = {0}, line = {0};
	char src[1024];
	bool ctx = r->host_len == 0 && L->st[0].hl;
	enum detour_lint_code code =
	        w->nhops == 2 ? DETOUR_LINT_TARGET_REDIRECTS : DETOUR_LINT_CHAIN;

	sb_final_target(L, &target, w);
	if (ctx) {
		/* only on that host: a rule for it goes before this one */
		const struct state *s0 = &L->st[0];
		size_t pl = sizeof(PROBE) - 1;
		bool wild = s0->hl > pl && !memcmp(s0->host, PROBE, pl) && s0->host[pl] == '.';
		sb_str(&line, L->scheme_rules ? (s0->https ? "https://" : "http://") : "//");
		if (wild) {
			sb_put(&line, "*", 1);
			sb_put(&line, s0->host + pl, s0->hl - pl);
		} else {
			sb_put(&line, s0->host, s0->hl);
		}
		sb_str(&line, detour_lint_source_text(r, src, sizeof(src)));
	} else {
		sb_str(&line, detour_lint_source_text(r, src, sizeof(src)));
	}
	sb_str(&line, " ");
	if (target.p)
		sb_str(&line, target.p);
	sb_fmt(&line, " %u", (unsigned)r->status);
	sb_options(&line, r);
	/* the flattened rule keeps r's conditions and window (a weighted member
	 * or an allow-hosts rule is not flattened: see keep below) */
	struct sb conds = {0};
	sb_cond_text(&conds, L->rs, r);
	if (conds.p && conds.n) {
		sb_str(&line, " ");
		sb_str(&line, conds.p);
	}
	free(conds.p);

	sb_context(L, &msg, r);
	bool may = w->nmay > 0;
	if (code == DETOUR_LINT_TARGET_REDIRECTS) {
		sb_str(&msg, "target ");
		sb_state(L, &msg, 1, 0);
		sb_str(&msg, may ? " may be redirected again by " : " is redirected again by ");
		rule_ref(L, L->hop[1], &msg);
		sb_str(&msg, " to ");
		sb_unsentinel(L, &msg, L->st[2].loc, L->st[2].ll);
	} else {
		for (unsigned k = 0; k <= w->nhops; k++) {
			if (k)
				sb_str(&msg, " -> ");
			if (k == w->nhops && w->end == W_LEAVES)
				sb_unsentinel(L, &msg, L->st[k].loc, L->st[k].ll);
			else
				sb_state(L, &msg, k, (int)k - 1);
		}
		sb_fmt(&msg, ": %u redirects (", w->nhops);
		sb_rule_list(L, &msg, L->hop, w->nhops);
		sb_str(&msg, ")");
	}
	/* no single rule replaces the walk */
	bool keep = w->via_group || may || weight_of(L->rs, r) ||
	            (detour_lint_conditional(L->rs, r) && !walk_conditional(L->rs, r));
	if (may)
		sb_may_note(L, &msg, w, 1);
	if (w->via_group) {
		sb_str(&msg, "; a weighted group on the way, first variant followed");
	} else if (!may) {
		sb_str(&msg, ctx ? "; add before it: " : "; replace with: ");
		if (line.p)
			sb_str(&msg, line.p);
	}
	sb_example_note(L, &msg);
	if (!keep && line.p)
		sb_str(&fix, line.p);
	struct detour_lint_finding *f =
	        add(L, code, r->index, &msg, keep ? NULL : &fix, L->hop + 1, w->nhops - 1);
	if (f && !keep && line.p && loads(line.p)) {
		f->edit_kind = ctx ? DETOUR_LINT_EDIT_INSERT : DETOUR_LINT_EDIT_TARGET;
		f->edit = strdup(ctx ? line.p : (target.p ? target.p : ""));
		if (f->edit == NULL)
			L->nomem = true;
	}
	free(target.p);
	free(line.p);
}

static bool loopish(const struct walk *w)
{
	return w->end == W_LOOP || w->end == W_LONG;
}

static void check_walks(struct lint *L)
{
	struct walk w;
	char host[HOST_BUF];

	for (size_t i = 0; i < L->n && !L->nomem; i++) {
		const struct detour_rule *r = detour_ruleset_get(L->rs, i);
		if (L->dead[i] || r->kind == DETOUR_SRC_REGEX || r->target_len == 0)
			continue;
		set_names(L, r);
		size_t hl = example_host(r, host);
		bool any = r->scheme == DETOUR_SCHEME_ANY;
		bool https0 = r->scheme == DETOUR_SCHEME_HTTPS;
		/* contexts: (the rule's host, each scheme it serves), then for a
		 * host-less rule each host the table names */
		size_t nctx =
		        1 + (r->host_len == 0 ? (L->nhosts < MAX_CONTEXT ? L->nhosts : MAX_CONTEXT)
		                              : 0);
		unsigned nsch = any && L->scheme_rules ? 2 : 1;
		bool chain_done = false;
		for (size_t c = 0; c < nctx && !L->nomem; c++) {
			bool stop = false;
			for (unsigned sc = 0; sc < nsch; sc++) {
				bool https = nsch == 2 ? sc == 1 : https0;
				if (c == 0) {
					walk(L, r, host, hl, https, &w);
				} else {
					const struct hostref *h = &L->hosts[c - 1];
					char hb[HOST_BUF];
					size_t n = 0;
					if (h->wild) {
						memcpy(hb, PROBE, sizeof(PROBE) - 1);
						n = sizeof(PROBE) - 1;
					}
					if (n + h->len >= HOST_BUF)
						continue;
					memcpy(hb + n, h->name, h->len);
					walk(L, r, hb, n + h->len, https, &w);
				}
				if (w.end == W_NOT_R)
					continue;
				if (loopish(&w)) {
					report_loop(L, r, &w);
					stop = true;
					break;
				}
				if (w.nhops >= 2 && !chain_done) {
					report_chain(L, r, &w);
					chain_done = true;
				}
			}
			if (stop)
				break;
		}
	}
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
	if (collect_hosts(&L) || find_same_sources(&L))
		goto nomem;
	check_windows(&L);
	if (!L.nomem)
		check_duplicates(&L);
	if (!L.nomem && index_rules(&L, true))
		goto nomem;
	if (!L.nomem)
		check_shadowed(&L);
	if (!L.nomem)
		check_groups(&L);
	if (!L.nomem)
		check_choices(&L);
	if (!L.nomem && index_rules(&L, false))
		goto nomem;
	if (!L.nomem)
		check_walks(&L);
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
	    !st[1].loc || !L.dead || !L.same || !L.gfirst || collect_hosts(&L) ||
	    find_same_sources(&L))
		goto out;
	group_index(&L);
	if (index_rules(&L, false))
		goto out;
	size_t hl = example_host(r, host);
	walk(&L, r, host, hl, r->scheme == DETOUR_SCHEME_HTTPS, &w);
	if (w.end != W_NOT_R && w.end != W_LEAVES && w.nhops >= 1) {
		/* the first Location: which rule answers it (a 410 too) */
		struct detour_match m;
		bool group;
		struct detour_match_req q = req_of(&L, &st[1]);
		if (resolve(&L, &q, &m, &mayv[1], &group)) {
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
