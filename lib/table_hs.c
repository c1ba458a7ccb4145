/* detour: the rule table's multi-pattern regex index (see table_hs.h and
 * docs/internals/table.md, "Regex sources").
 *
 * Which rules: a regex source ("~...", so that its PCRE2 pattern is the
 * rule's path) on a chain of the literal-prefix index (same host, wildcard,
 * case and prefix) that holds DETOUR_TBL_HS_MIN_CHAIN regex rules or more.
 * Those chains are the ones a request walks rule by rule, one PCRE2 run
 * each; a chain of one or two rules under a long prefix is cheaper as it is.
 *
 * How: each pattern is compiled as PCRE2 compiles it (bytes, no UTF; dot
 * without newline; caseless for case=insensitive), with
 * HS_FLAG_SINGLEMATCH (one report per pattern is all we need: which rules
 * may match) and HS_FLAG_ALLOWEMPTY (`~x*` matches every path).
 * vectorscan's `$` also matches before a final newline where PCRE2's
 * (DOLLAR_ENDONLY) does not, so a report is a candidate, not a verdict:
 * the caller runs the rule's PCRE2 code before taking it. That also lets a
 * pattern vectorscan cannot match exactly (look-around, atomic groups,
 * possessive quantifiers) in with HS_FLAG_PREFILTER, which makes it match a
 * superset. What it refuses even so (back-references in some positions, \K,
 * \G, conditionals, recursion, patterns too large) stays on PCRE2 in the
 * prefix index, in file order; the reason is kept for lint.
 *
 * Never a missed match: for every pattern in the database vectorscan reports
 * a match whenever PCRE2 finds one (exact or prefilter mode, a superset),
 * so the smallest rule the caller confirms is the smallest that matches. */
#include <hs/hs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "detour/rulefile.h"
#include "hash.h"
#include "table_hs.h"

#define NONE32 UINT32_MAX

struct refusal {
	uint32_t rule;
	char *why;
};

struct detour_tbl_hs {
	hs_database_t *db; /* NULL when every candidate was refused */
	uint64_t serial;   /* unique per database: which one a thread's scratch fits */
	uint32_t *rules;   /* pattern id -> rule index, ascending */
	uint32_t n;
	struct refusal *refused; /* ascending by rule */
	size_t nrefused;
};

static atomic_uint_fast64_t serials = 1;

/* ------------------------------------------------------------- scratch */

/* One scratch space per thread, grown to fit every database it has scanned
 * (hs_alloc_scratch keeps it when it is large enough): the one allocation,
 * at a thread's first scan of a database, freed by a pthread_key destructor
 * when the thread exits. */
struct tls_hs {
	hs_scratch_t *s;
	uint64_t serial; /* the database it was last checked against */
};

static __thread struct tls_hs tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
	struct tls_hs *t = p;

	hs_free_scratch(t->s);
	t->s = NULL;
	t->serial = 0;
}

static void tls_key_make(void)
{
	(void)pthread_key_create(&tls_key, tls_free);
}

static hs_scratch_t *scratch_for(const struct detour_tbl_hs *hs)
{
	if (tls.serial == hs->serial && tls.s)
		return tls.s;
	pthread_once(&tls_once, tls_key_make);
	bool fresh = tls.s == NULL;
	if (hs_alloc_scratch(hs->db, &tls.s) != HS_SUCCESS)
		return NULL; /* tls.s is left as it was */
	if (fresh)
		(void)pthread_setspecific(tls_key, &tls);
	tls.serial = hs->serial;
	return tls.s;
}

/* ------------------------------------------------------------------ build */

static unsigned flags_of(const struct detour_rule_ext *x)
{
	return HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY |
	       ((x->flags & DETOUR_EXT_CASE_I) ? HS_FLAG_CASELESS : 0);
}

/* The chain a regex rule has in the prefix index: host, wildcard, case and
 * literal prefix (two chains that collide here are merely counted together:
 * more rules in the database, never a wrong answer). */
static uint64_t chain_key(const struct detour_ruleset *rs, const struct detour_rule *r,
                          const struct detour_rule_ext *x)
{
	/* The host number stands for the host and its wildcard (rulefile.h). */
	uint64_t h = detour_mix(detour_ruleset_host_id(rs, r), 0x68);

	h = detour_fnv(detour_mix(h, (r->flags & DETOUR_RULE_HOST_WILDCARD) ? 1 : 2), x->prefix,
	               x->prefix_len);
	return detour_mix(h, (x->flags & DETOUR_EXT_CASE_I) ? 3 : 4) | 1; /* 0: empty slot */
}

struct count {
	uint64_t key;
	uint32_t n;
};

static bool candidate(const struct detour_rule *rules, const struct detour_rule_ext *x)
{
	return x->re && rules[x->rule].kind == DETOUR_SRC_REGEX;
}

/* The indexes (in exts) of the candidates: regex rules on chains of
 * DETOUR_TBL_HS_MIN_CHAIN or more. Returns their number, or -1 when out of
 * memory; *out is NULL when 0. */
static long pick(const struct detour_ruleset *rs, const struct detour_rule *rules,
                 const struct detour_rule_ext *exts, size_t nexts, uint32_t **out)
{
	size_t nre = 0, cap = 16, k = 0;

	*out = NULL;
	for (size_t e = 0; e < nexts; e++)
		nre += candidate(rules, &exts[e]);
	if (nre < DETOUR_TBL_HS_MIN_CHAIN)
		return 0;
	while (cap < nre * 2)
		cap *= 2;
	struct count *c = calloc(cap, sizeof(*c));
	uint32_t *o = malloc(nre * sizeof(*o));
	if (c == NULL || o == NULL) {
		free(c);
		free(o);
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t e = 0; e < nexts; e++) {
			if (!candidate(rules, &exts[e]))
				continue;
			uint64_t key = chain_key(rs, &rules[exts[e].rule], &exts[e]);
			size_t i = (size_t)key & (cap - 1);
			while (c[i].key && c[i].key != key)
				i = (i + 1) & (cap - 1);
			c[i].key = key;
			if (pass == 0)
				c[i].n++;
			else if (c[i].n >= DETOUR_TBL_HS_MIN_CHAIN)
				o[k++] = (uint32_t)e;
		}
	}
	free(c);
	if (k == 0) {
		free(o);
		return 0;
	}
	*out = o;
	return (long)k;
}

static int refuse(struct detour_tbl_hs *hs, uint32_t rule, const char *why)
{
	char *w = strdup(why && *why ? why : "vectorscan cannot compile it");

	if (w == NULL)
		return -1;
	hs->refused[hs->nrefused++] = (struct refusal){rule, w};
	return 0;
}

static int refusal_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct refusal *)a)->rule, y = ((const struct refusal *)b)->rule;

	return (x > y) - (x < y);
}

struct detour_tbl_hs *detour_tbl_hs_build(const struct detour_ruleset *rs,
                                          const struct detour_rule *rules,
                                          const struct detour_rule_ext *exts, size_t nexts,
                                          bool *oom)
{
	uint32_t *pk;
	long np = pick(rs, rules, exts, nexts, &pk);

	*oom = np < 0;
	if (np <= 0)
		return NULL;
	size_t n = (size_t)np;
	struct detour_tbl_hs *hs = calloc(1, sizeof(*hs));
	const char **pat = malloc(n * sizeof(*pat));
	unsigned *fl = malloc(n * sizeof(*fl)), *ids = malloc(n * sizeof(*ids));
	if (hs == NULL || pat == NULL || fl == NULL || ids == NULL)
		goto nomem;
	hs->rules = malloc(n * sizeof(*hs->rules));
	hs->refused = malloc(n * sizeof(*hs->refused));
	if (hs->rules == NULL || hs->refused == NULL)
		goto nomem;

	/* Each pattern alone first (vectorscan's parser only: a tenth of a
	 * millisecond), exact, else in prefilter mode, else refused: a
	 * multi-pattern compile fails as a whole on one bad pattern. */
	for (size_t k = 0; k < n; k++) {
		const struct detour_rule_ext *x = &exts[pk[k]];
		const struct detour_rule *r = &rules[x->rule];
		unsigned f = flags_of(x);
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *err = NULL;
		if (hs_expression_info(r->path, f, &info, &err) != HS_SUCCESS) {
			hs_free_compile_error(err);
			err = NULL;
			f |= HS_FLAG_PREFILTER;
			if (hs_expression_info(r->path, f, &info, &err) != HS_SUCCESS) {
				/* The exact mode's message names the construct. */
				hs_free_compile_error(err);
				err = NULL;
				(void)hs_expression_info(r->path, flags_of(x), &info, &err);
				int rc = refuse(hs, x->rule, err ? err->message : NULL);
				hs_free_compile_error(err);
				if (rc)
					goto nomem;
				continue;
			}
		}
		free(info);
		pat[hs->n] = r->path;
		fl[hs->n] = f;
		ids[hs->n] = hs->n;
		hs->rules[hs->n++] = x->rule;
	}

	/* The whole set; a pattern the parser passed may still fail here
	 * (too large, resource limits): refuse it and compile again. */
	while (hs->n > 0) {
		hs_compile_error_t *err = NULL;
		if (hs_compile_multi(pat, fl, ids, hs->n, HS_MODE_BLOCK, NULL, &hs->db, &err) ==
		    HS_SUCCESS)
			break;
		hs->db = NULL;
		if (err == NULL)
			goto nomem;
		if (err->expression < 0 || (unsigned)err->expression >= hs->n) {
			/* The set as a whole (e.g. too large): all stay on PCRE2. */
			for (uint32_t k = 0; k < hs->n; k++)
				if (refuse(hs, hs->rules[k], err->message)) {
					hs_free_compile_error(err);
					goto nomem;
				}
			hs->n = 0;
		} else {
			size_t bad = (size_t)err->expression;
			if (refuse(hs, hs->rules[bad], err->message)) {
				hs_free_compile_error(err);
				goto nomem;
			}
			hs->n--;
			memmove(pat + bad, pat + bad + 1, (hs->n - bad) * sizeof(*pat));
			memmove(fl + bad, fl + bad + 1, (hs->n - bad) * sizeof(*fl));
			memmove(hs->rules + bad, hs->rules + bad + 1,
			        (hs->n - bad) * sizeof(*hs->rules));
		}
		hs_free_compile_error(err);
	}
	qsort(hs->refused, hs->nrefused, sizeof(*hs->refused), refusal_cmp);
	hs->serial = atomic_fetch_add(&serials, 1);
	free(pk);
	free(pat);
	free(fl);
	free(ids);
	return hs;
nomem:
	*oom = true;
	free(pk);
	free(pat);
	free(fl);
	free(ids);
	detour_tbl_hs_free(hs);
	return NULL;
}

void detour_tbl_hs_free(struct detour_tbl_hs *hs)
{
	if (hs == NULL)
		return;
	hs_free_database(hs->db);
	for (size_t i = 0; i < hs->nrefused; i++)
		free(hs->refused[i].why);
	free(hs->refused);
	free(hs->rules);
	free(hs);
}

/* ----------------------------------------------------------------- lookup */

static bool find(const uint32_t *v, size_t n, size_t stride, uint32_t x, size_t *at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t m = *(const uint32_t *)((const char *)v + mid * stride);
		if (m < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < n && *(const uint32_t *)((const char *)v + lo * stride) == x;
}

bool detour_tbl_hs_owns(const struct detour_tbl_hs *hs, uint32_t i)
{
	size_t at;

	return hs && hs->db && find(hs->rules, hs->n, sizeof(*hs->rules), i, &at);
}

uint32_t detour_tbl_hs_min(const struct detour_tbl_hs *hs)
{
	return hs && hs->db && hs->n ? hs->rules[0] : NONE32;
}

const char *detour_tbl_hs_why(const struct detour_tbl_hs *hs, uint32_t i)
{
	size_t at;

	if (hs == NULL || !find(&hs->refused[0].rule, hs->nrefused, sizeof(*hs->refused), i, &at))
		return NULL;
	return hs->refused[at].why;
}

size_t detour_tbl_hs_count(const struct detour_tbl_hs *hs, size_t *refused)
{
	if (refused)
		*refused = hs ? hs->nrefused : 0;
	return hs && hs->db ? hs->n : 0;
}

/* ------------------------------------------------------------------- scan */

/* Reports come in the order of their end in the path, not of their rule:
 * they are gathered in a batch, sorted, and visited from the smallest; a
 * full batch is visited at once (the bound it leaves drops later reports).
 * SINGLEMATCH: at most one report per pattern. */
#define BATCH 64

struct scan {
	const struct detour_tbl_hs *hs;
	const uint32_t *bound;
	detour_tbl_hs_visit visit;
	void *ctx;
	unsigned n;
	uint32_t id[BATCH];
};

/* Visits the batch in ascending order; true when a rule was taken. */
static bool flush(struct scan *sc)
{
	unsigned n = sc->n;

	sc->n = 0;
	for (unsigned i = 1; i < n; i++) {
		uint32_t v = sc->id[i];
		unsigned j = i;
		for (; j > 0 && sc->id[j - 1] > v; j--)
			sc->id[j] = sc->id[j - 1];
		sc->id[j] = v;
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t r = sc->hs->rules[sc->id[i]];
		if (r >= *sc->bound)
			break;
		if (sc->visit(sc->ctx, r))
			return true;
	}
	return false;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
	struct scan *sc = ctx;

	(void)from;
	(void)to;
	(void)flags;
	if (sc->hs->rules[id] >= *sc->bound)
		return 0;
	sc->id[sc->n++] = id;
	/* Nothing below the first pattern: stop the scan. */
	if (sc->n == BATCH && flush(sc) && *sc->bound <= sc->hs->rules[0])
		return 1;
	return 0;
}

void detour_tbl_hs_scan(const struct detour_tbl_hs *hs, const char *path, size_t n,
                        const uint32_t *bound, detour_tbl_hs_visit visit, void *ctx)
{
	struct scan sc = {.hs = hs, .bound = bound, .visit = visit, .ctx = ctx};
	hs_scratch_t *s;

	if (hs == NULL || hs->db == NULL || hs->n == 0 || hs->rules[0] >= *bound)
		return;
	s = scratch_for(hs);
	if (s != NULL && n <= UINT32_MAX) {
		hs_error_t rc = hs_scan(hs->db, path, (unsigned)n, 0, s, on_match, &sc);
		if (rc == HS_SUCCESS || rc == HS_SCAN_TERMINATED) {
			if (sc.n)
				flush(&sc);
			return;
		}
	}
	/* No scratch, or the scan failed: every rule, in order. */
	for (uint32_t k = 0; k < hs->n && hs->rules[k] < *bound; k++)
		if (visit(ctx, hs->rules[k]))
			return;
}
