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
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detour/hscache.h"
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

/* ---------------------------------------------------------------- compile */

/* The candidates of one build: pattern, flags, what became of each. */
struct cands {
	size_t n;
	const char **pat;
	unsigned *base;   /* flags_of() */
	uint8_t *outcome; /* enum detour_hscache_outcome */
	char **why;       /* vectorscan's message for a refused one; malloc'd */
};

static unsigned flags_now(const struct cands *c, size_t k)
{
	return c->base[k] | (c->outcome[k] == DETOUR_HSCACHE_PREFILTER ? HS_FLAG_PREFILTER : 0);
}

static int refuse_k(struct cands *c, size_t k, const char *why)
{
	char *w = strdup(why && *why ? why : "vectorscan cannot compile it");

	if (w == NULL)
		return -1;
	free(c->why[k]);
	c->why[k] = w;
	c->outcome[k] = DETOUR_HSCACHE_REFUSED;
	return 0;
}

/* Candidate k alone, with vectorscan's parser (hs_expression_info, about
 * 60 us): exact, else prefilter, else refused with the exact mode's
 * message (it names the construct). */
static int precheck(struct cands *c, size_t k)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *e1 = NULL, *e2 = NULL;
	int rc = 0;

	if (hs_expression_info(c->pat[k], c->base[k], &info, &e1) == HS_SUCCESS) {
		c->outcome[k] = DETOUR_HSCACHE_EXACT;
	} else if (hs_expression_info(c->pat[k], c->base[k] | HS_FLAG_PREFILTER, &info, &e2) ==
	           HS_SUCCESS) {
		c->outcome[k] = DETOUR_HSCACHE_PREFILTER;
	} else {
		rc = refuse_k(c, k, e1 ? e1->message : NULL);
	}
	free(info);
	hs_free_compile_error(e1);
	hs_free_compile_error(e2);
	return rc;
}

/* Compiles every candidate not refused into *db (NULL when none is left).
 * Optimistic: the whole set first, exact. hs_compile_multi parses its
 * expressions in order before it builds anything and names the first that
 * fails, so only from that one on are the candidates checked alone (exact,
 * prefilter, refused) and the set compiled again; one that fails later
 * (too large, resource limits) is refused and the rest compiled again. A
 * failure of the set as such leaves them all on PCRE2. Returns 0, or -1 when
 * out of memory. */
static int compile(struct cands *c, hs_database_t **db)
{
	size_t n = c->n, checked = n; /* candidates [checked, n) went through precheck */
	const char **pat = malloc(n * sizeof(*pat));
	unsigned *fl = malloc(n * sizeof(*fl)), *ids = malloc(n * sizeof(*ids));
	size_t *of = malloc(n * sizeof(*of));
	int rc = -1;

	*db = NULL;
	if (pat == NULL || fl == NULL || ids == NULL || of == NULL)
		goto out;
	for (;;) {
		unsigned m = 0;
		for (size_t k = 0; k < n; k++) {
			if (c->outcome[k] == DETOUR_HSCACHE_REFUSED)
				continue;
			pat[m] = c->pat[k];
			fl[m] = flags_now(c, k);
			ids[m] = m;
			of[m++] = k;
		}
		if (m == 0)
			break;
		hs_compile_error_t *err = NULL;
		if (hs_compile_multi(pat, fl, ids, m, HS_MODE_BLOCK, NULL, db, &err) == HS_SUCCESS)
			break;
		*db = NULL;
		if (err == NULL)
			goto out;
		int bad = 0;
		if (err->expression < 0 || (unsigned)err->expression >= m) {
			for (unsigned i = 0; i < m && !bad; i++)
				bad = refuse_k(c, of[i], err->message);
		} else {
			size_t k = of[err->expression];
			uint8_t was = c->outcome[k];
			for (size_t j = k; j < checked && !bad; j++)
				bad = c->outcome[j] == DETOUR_HSCACHE_REFUSED ? 0 : precheck(c, j);
			if (k < checked)
				checked = k;
			/* Passed alone as it was compiled: the set's error is its own. */
			if (!bad && c->outcome[k] == was)
				bad = refuse_k(c, k, err->message);
		}
		hs_free_compile_error(err);
		if (bad)
			goto out;
	}
	rc = 0;
out:
	free(pat);
	free(fl);
	free(ids);
	free(of);
	return rc;
}

/* ------------------------------------------------------------------ build */

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void note(const struct detour_hscache *io, int kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void note(const struct detour_hscache *io, int kind, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (io == NULL || io->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	io->note(io->arg, kind, msg);
}

static int count_cb(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                    void *ctx)
{
	(void)id;
	(void)from;
	(void)to;
	(void)fl;
	(void)ctx;
	return 0;
}

/* The database of a checked cache entry, or NULL with err: it must
 * deserialise (vectorscan checks its version, platform and CRC) and scan. */
static hs_database_t *thaw(const struct detour_hscache_entry *e, char *err, size_t cap)
{
	hs_database_t *db = NULL;
	hs_scratch_t *s = NULL;

	if (e->dblen == 0) {
		snprintf(err, cap, "no database");
		return NULL;
	}
	if (hs_deserialize_database(e->db, e->dblen, &db) != HS_SUCCESS) {
		snprintf(err, cap, "vectorscan refuses the database");
		return NULL;
	}
	if (hs_alloc_scratch(db, &s) != HS_SUCCESS ||
	    hs_scan(db, "/", 1, 0, s, count_cb, NULL) != HS_SUCCESS) {
		snprintf(err, cap, "the database does not scan");
		hs_free_scratch(s);
		hs_free_database(db);
		return NULL;
	}
	hs_free_scratch(s);
	return db;
}

/* Outcomes and messages from a checked entry into c; -1 when out of memory. */
static int outcomes_from(struct cands *c, const struct detour_hscache_entry *e)
{
	const uint8_t *at = e->why;

	for (size_t k = 0; k < c->n; k++) {
		c->outcome[k] = e->outcome[k];
		if (c->outcome[k] != DETOUR_HSCACHE_REFUSED)
			continue;
		size_t len;
		const char *w = detour_hscache_why(&at, &len);
		c->why[k] = strndup(w, len);
		if (c->why[k] == NULL)
			return -1;
	}
	return 0;
}

/* Looks for c's database under key. Returns it (c's outcomes filled), or
 * NULL: none, or one that is ignored (logged) and will be replaced. */
static hs_database_t *cache_load(const struct detour_hscache *io, const uint8_t *key,
                                 const char *hex, struct cands *c, bool *oom)
{
	size_t len = 0;
	void *buf = io->load ? io->load(io->arg, hex, &len) : NULL;
	struct detour_hscache_entry e;
	hs_database_t *db = NULL;
	char err[200];

	if (buf == NULL)
		return NULL;
	if (detour_hscache_unpack(buf, len, key, c->n, &e, err, sizeof(err)) == 0 &&
	    (db = thaw(&e, err, sizeof(err))) != NULL) {
		if (outcomes_from(c, &e)) {
			*oom = true;
			hs_free_database(db);
			db = NULL;
		}
	} else {
		note(io, DETOUR_HSCACHE_WARN,
		     "regex index: cached database %s ignored (%s); compiling", hex, err);
	}
	free(buf);
	return db;
}

static void cache_store(const struct detour_hscache *io, const uint8_t *key, const char *hex,
                        const struct cands *c, const hs_database_t *db)
{
	char *bytes = NULL;
	size_t blen = 0, len = 0;

	if (io->store == NULL || db == NULL ||
	    hs_serialize_database(db, &bytes, &blen) != HS_SUCCESS)
		return;
	void *e = detour_hscache_pack(key, c->outcome, (const char *const *)c->why, c->n, bytes,
	                              blen, &len);
	free(bytes);
	if (e != NULL)
		io->store(io->arg, hex, e, len);
	free(e);
}

static int refusal_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct refusal *)a)->rule, y = ((const struct refusal *)b)->rule;

	return (x > y) - (x < y);
}

/* hs from c and db (taken over): rules[] and refusals in ascending order. */
static void assemble(struct detour_tbl_hs *hs, struct cands *c, const uint32_t *rule_of,
                     hs_database_t *db)
{
	hs->db = db;
	for (size_t k = 0; k < c->n; k++) {
		if (c->outcome[k] != DETOUR_HSCACHE_REFUSED) {
			hs->rules[hs->n++] = rule_of[k];
			continue;
		}
		hs->refused[hs->nrefused++] = (struct refusal){rule_of[k], c->why[k]};
		c->why[k] = NULL;
	}
	if (db == NULL)
		hs->n = 0;
	qsort(hs->refused, hs->nrefused, sizeof(*hs->refused), refusal_cmp);
	hs->serial = atomic_fetch_add(&serials, 1);
}

struct detour_tbl_hs *detour_tbl_hs_build(const struct detour_ruleset *rs,
                                          const struct detour_rule *rules,
                                          const struct detour_rule_ext *exts, size_t nexts,
                                          const struct detour_hscache *io, bool *oom)
{
	uint32_t *pk;
	long np = pick(rs, rules, exts, nexts, &pk);
	struct timespec t0;
	uint8_t key[DETOUR_HSCACHE_KEY_LEN];
	char hex[DETOUR_HSCACHE_HEX_LEN];
	hs_database_t *db = NULL;

	*oom = np < 0;
	if (np <= 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t n = (size_t)np;
	struct cands c = {.n = n};
	struct detour_tbl_hs *hs = calloc(1, sizeof(*hs));
	uint32_t *rule_of = malloc(n * sizeof(*rule_of));
	c.pat = malloc(n * sizeof(*c.pat));
	c.base = malloc(n * sizeof(*c.base));
	c.outcome = calloc(n, 1);
	c.why = calloc(n, sizeof(*c.why));
	if (hs == NULL || rule_of == NULL || !c.pat || !c.base || !c.outcome || !c.why)
		goto nomem;
	hs->rules = malloc(n * sizeof(*hs->rules));
	hs->refused = malloc(n * sizeof(*hs->refused));
	if (hs->rules == NULL || hs->refused == NULL)
		goto nomem;
	for (size_t k = 0; k < n; k++) {
		const struct detour_rule_ext *x = &exts[pk[k]];
		rule_of[k] = x->rule;
		c.pat[k] = detour_rule_path(rs, &rules[x->rule]);
		c.base[k] = flags_of(x);
	}

	if (io && detour_hscache_key(c.pat, c.base, n, key) == 0) {
		detour_hscache_hex(key, hex);
		db = cache_load(io, key, hex, &c, oom);
		if (*oom)
			goto nomem;
		if (db) {
			note(io, DETOUR_HSCACHE_INFO,
			     "regex index: %zu patterns loaded from the cached database %.16s in "
			     "%.0f ms",
			     n, hex, ms_since(&t0));
			goto done;
		}
	} else {
		io = NULL; /* no key (no platform): no cache */
	}
	if (io)
		note(io, DETOUR_HSCACHE_COMPILING,
		     "regex index: compiling %zu patterns with vectorscan (about 1 ms each)", n);
	int crc = compile(&c, &db);
	if (io && crc) {
		note(io, DETOUR_HSCACHE_COMPILED, "regex index: out of memory compiling");
	} else if (io) {
		size_t in = 0, pre = 0;
		for (size_t k = 0; k < n; k++) {
			in += c.outcome[k] != DETOUR_HSCACHE_REFUSED;
			pre += c.outcome[k] == DETOUR_HSCACHE_PREFILTER;
		}
		note(io, DETOUR_HSCACHE_COMPILED,
		     "regex index: %zu patterns compiled in %.0f ms (%zu prefilter, %zu left "
		     "on PCRE2); caching it as %.16s",
		     in, ms_since(&t0), pre, n - in, hex);
		cache_store(io, key, hex, &c, db);
	}
	if (crc)
		goto nomem;
done:
	assemble(hs, &c, rule_of, db);
	for (size_t k = 0; k < n; k++)
		free(c.why[k]);
	free(c.why);
	free(c.outcome);
	free(c.base);
	free(c.pat);
	free(rule_of);
	free(pk);
	return hs;
nomem:
	*oom = true;
	hs_free_database(db);
	for (size_t k = 0; c.why && k < n; k++)
		free(c.why[k]);
	free(c.why);
	free(c.outcome);
	free(c.base);
	free(c.pat);
	free(rule_of);
	free(pk);
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
