/* Unit tests for lib/hscache.c (the regex index's database cache: key and
 * entry format) and its use by the table build (lib/table_hs.c): a table
 * built from a cached database answers as one compiled afresh, and a
 * corrupt or foreign entry is ignored, said, and replaced. */
#include "rules_test.h"
#include "table_int.h"

#include "detour/hscache.h"

static void pkey(const char *const *p, const unsigned *f, size_t n, uint8_t *k)
{
	assert_int_equal(detour_hscache_key(p, f, n, k), 0);
}

static void test_key(void **state)
{
	const char *a[] = {"\\.php$", "^/(en|fr)/x"}, *b[] = {"\\.php$", "^/(en|fr)/y"},
	           *c[] = {"^/(en|fr)/x", "\\.php$"}, *d[] = {"ab"}, *e[] = {"a", "b"};
	unsigned f0[] = {8 | 16, 8 | 16}, f1[] = {8 | 16, 8 | 16 | 1}, fd[] = {0}, fe[] = {0, 0};
	uint8_t k[7][DETOUR_HSCACHE_KEY_LEN], again[DETOUR_HSCACHE_KEY_LEN];
	char hex[DETOUR_HSCACHE_HEX_LEN];

	(void)state;
	pkey(a, f0, 2, k[0]);
	pkey(a, f0, 2, again);
	assert_memory_equal(k[0], again, sizeof(again)); /* deterministic */
	pkey(b, f0, 2, k[1]);                            /* one byte of a pattern */
	pkey(c, f0, 2, k[2]);                            /* the order (ids) */
	pkey(a, f1, 2, k[3]);                            /* one pattern's flags */
	pkey(a, f0, 1, k[4]);                            /* the count */
	pkey(d, fd, 1, k[5]);                            /* "ab" is not "a", "b" */
	pkey(e, fe, 2, k[6]);
	for (int i = 0; i < 7; i++)
		for (int j = i + 1; j < 7; j++)
			assert_memory_not_equal(k[i], k[j], DETOUR_HSCACHE_KEY_LEN);
	detour_hscache_hex(k[0], hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
	/* No patterns is a key too (never used: no database then). */
	assert_int_equal(detour_hscache_key(NULL, NULL, 0, again), 0);
}

static void test_format(void **state)
{
	uint8_t key[DETOUR_HSCACHE_KEY_LEN], other[DETOUR_HSCACHE_KEY_LEN];
	const uint8_t out[] = {DETOUR_HSCACHE_EXACT, DETOUR_HSCACHE_REFUSED,
	                       DETOUR_HSCACHE_PREFILTER, DETOUR_HSCACHE_REFUSED};
	const char *why[] = {NULL, "\\K is not supported", NULL, NULL};
	const char db[] = "not really a database";
	struct detour_hscache_entry e;
	char err[200];
	size_t len, n;

	(void)state;
	memset(key, 0xab, sizeof(key));
	memset(other, 0xab, sizeof(other));
	other[31] ^= 1;
	uint8_t *buf = detour_hscache_pack(key, out, why, 4, db, sizeof(db), &len);
	assert_non_null(buf);
	/* magic 8, key 32, count 4, outcomes 4, messages 2+19 and 2+0, dblen 8,
	 * db, sha256 32 */
	assert_int_equal(len, 8 + 32 + 4 + 4 + 21 + 2 + 8 + sizeof(db) + 32);
	assert_memory_equal(buf, "DTRHSDB1", 8);
	assert_int_equal(detour_hscache_unpack(buf, len, key, 4, &e, err, sizeof(err)), 0);
	assert_memory_equal(e.outcome, out, 4);
	assert_int_equal(e.dblen, sizeof(db));
	assert_memory_equal(e.db, db, sizeof(db));
	const uint8_t *at = e.why;
	const char *w = detour_hscache_why(&at, &n);
	assert_int_equal(n, strlen(why[1]));
	assert_memory_equal(w, why[1], n);
	detour_hscache_why(&at, &n);
	assert_int_equal(n, 0);

	/* Everything that is checked, each with its reason. */
	struct {
		size_t len;
		const uint8_t *key;
		size_t ncand;
		const char *why;
	} bad[] = {
	        {20, key, 4, "too short"},
	        {len, other, 4, "another key"},
	        {len, key, 5, "another number"},
	        {len - 1, key, 4, "wrong length"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(detour_hscache_unpack(buf, bad[i].len, bad[i].key, bad[i].ncand,
		                                       &e, err, sizeof(err)),
		                 -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: %s", i, err);
	}
	/* Any one byte changed is caught: each flipped in turn. */
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x20;
		assert_int_equal(detour_hscache_unpack(buf, len, key, 4, &e, err, sizeof(err)), -1);
		buf[i] ^= 0x20;
	}
	buf[0] = 'X';
	assert_int_equal(detour_hscache_unpack(buf, len, key, 4, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a detour"));
	free(buf);

	/* An entry of no candidates and no database still round-trips. */
	buf = detour_hscache_pack(key, NULL, NULL, 0, NULL, 0, &len);
	assert_non_null(buf);
	assert_int_equal(detour_hscache_unpack(buf, len, key, 0, &e, err, sizeof(err)), 0);
	assert_int_equal(e.dblen, 0);
	free(buf);
}

/* ---------------------------------------------- the table build and a cache */

/* An in-memory cache of one entry, and what the build said. */
struct mem {
	void *buf;
	size_t len;
	char hex[DETOUR_HSCACHE_HEX_LEN];
	unsigned loads, stores, warns, compiling, compiled;
	char last[600];
};

static void *mem_load(void *arg, const char *hex, size_t *len)
{
	struct mem *m = arg;
	void *copy;

	m->loads++;
	if (m->buf == NULL || strcmp(hex, m->hex))
		return NULL;
	copy = malloc(m->len);
	assert_non_null(copy);
	memcpy(copy, m->buf, m->len);
	*len = m->len;
	return copy;
}

static void mem_store(void *arg, const char *hex, const void *buf, size_t len)
{
	struct mem *m = arg;

	m->stores++;
	free(m->buf);
	m->buf = malloc(len);
	assert_non_null(m->buf);
	memcpy(m->buf, buf, len);
	m->len = len;
	snprintf(m->hex, sizeof(m->hex), "%s", hex);
}

static void mem_note(void *arg, int kind, const char *msg)
{
	struct mem *m = arg;

	m->warns += kind == DETOUR_HSCACHE_WARN;
	m->compiling += kind == DETOUR_HSCACHE_COMPILING;
	m->compiled += kind == DETOUR_HSCACHE_COMPILED;
	/* Each compile is announced, then its end said once. */
	assert_true(m->compiled == m->compiling ||
	            (kind == DETOUR_HSCACHE_COMPILING && m->compiled + 1 == m->compiling));
	snprintf(m->last, sizeof(m->last), "%s", msg);
}

static struct detour_table *build_cached(const char *text, const struct detour_hscache *io)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	struct detour_table *t = NULL;
	struct detour_diag d;

	assert_non_null(rs);
	assert_int_equal(detour_ruleset_load_buf(rs, "t.rules", text, strlen(text), &d), DETOUR_OK);
	detour_ruleset_hscache(rs, io);
	assert_int_equal(detour_table_build(rs, &t, &d), DETOUR_OK);
	return t;
}

/* Prefix-less regexes (a chain of 8), two that vectorscan refuses
 * (recursion, \K), two it takes in prefilter mode (look-behind, a
 * back-reference), and a chain of 4 caseless ones. */
static const char rules[] = "/exact /t/exact\n"
                            "~\\.php$ /t/php\n"
                            "~/(en|fr|de)/product-(\\d+) /t/product/$1/$2\n"
                            "~/(a(?1)?b)/rec$ /t/rec\n"
                            "~(?<=/look)/(\\d+)$ /t/lookbehind/$1\n"
                            "~/(a+)\\1/double$ /t/backref\n"
                            "~/k/a\\Kb$ /t/k\n"
                            "~\\.JSP$ /t/jsp case=insensitive\n"
                            "~\\.HTML?$ /t/html case=insensitive\n"
                            "~\\.CFM$ /t/cfm case=insensitive\n"
                            "~\\.PHTML$ /t/phtml case=insensitive\n"
                            "~\\.asp$ /t/asp\n"
                            "~x*$ /t/empty\n";

static const char *const paths[] = {"/exact",   "/a.php",       "/en/product-42", "/ab/rec",
                                    "/look/12", "/aa/double",   "/k/ab",          "/y.jsp",
                                    "/p.HTM",   "/x.Cfm",       "/q.phtml",       "/z.asp",
                                    "/nothing", "/aaaa/double", "/aab/double"};

static void same_answers(const struct detour_table *a, const struct detour_table *b)
{
	char la[512], lb[512];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct treq r;
		mkreq(&r, "GET", paths[i], NULL, NULL, 0);
		unsigned x = hit(a, &r, la, sizeof(la));
		mkreq(&r, "GET", paths[i], NULL, NULL, 0);
		unsigned y = hit(b, &r, lb, sizeof(lb));
		if (x != y || (x && strcmp(la, lb)))
			fail_msg("%s: line %u %s, cached line %u %s", paths[i], x, la, y, lb);
	}
	for (uint32_t i = 0; i < a->nrules; i++) {
		assert_int_equal(detour_tbl_hs_owns(a->hs, i), detour_tbl_hs_owns(b->hs, i));
		const char *wa = detour_tbl_hs_why(a->hs, i), *wb = detour_tbl_hs_why(b->hs, i);
		assert_true((wa == NULL) == (wb == NULL));
		if (wa)
			assert_string_equal(wa, wb);
	}
}

static void test_table_cached(void **state)
{
	struct mem m = {0};
	struct detour_hscache io = {mem_load, mem_store, mem_note, &m};

	(void)state;
	struct detour_table *plain = build(rules);
	size_t refused;
	assert_int_equal(detour_tbl_hs_count(plain->hs, &refused), 10);
	assert_int_equal(refused, 2);

	/* First: compiled and stored. */
	struct detour_table *first = build_cached(rules, &io);
	assert_int_equal(m.loads, 1);
	assert_int_equal(m.stores, 1);
	assert_non_null(strstr(m.last, "compiled"));
	assert_int_equal(m.compiling, 1);
	assert_int_equal(m.compiled, 1);
	same_answers(plain, first);

	/* Second: loaded, nothing stored. */
	struct detour_table *second = build_cached(rules, &io);
	assert_int_equal(m.stores, 1);
	assert_int_equal(m.warns, 0);
	assert_non_null(strstr(m.last, "loaded from the cached database"));
	assert_int_equal(m.compiling, 1);
	same_answers(plain, second);

	/* The same patterns after other rules (indexes move): same key. */
	char moved[sizeof(rules) + 64];
	snprintf(moved, sizeof(moved), "/a /b\n/c /d\n%s", rules);
	struct detour_table *shifted = build_cached(moved, &io);
	assert_non_null(strstr(m.last, "loaded"));
	assert_int_equal(m.stores, 1);
	struct detour_table *shifted_plain = build(moved);
	same_answers(shifted_plain, shifted);

	/* A byte of the database flipped: ignored, said, compiled, replaced. */
	((uint8_t *)m.buf)[m.len / 2] ^= 0xff;
	struct detour_table *third = build_cached(rules, &io);
	assert_int_equal(m.warns, 1);
	assert_int_equal(m.stores, 2);
	assert_non_null(strstr(m.last, "compiled"));
	same_answers(plain, third);

	/* A foreign entry under the right name (another set's): ignored. */
	struct mem other = {0};
	struct detour_hscache oio = {mem_load, mem_store, mem_note, &other};
	detour_table_free(build_cached("~\\.a$ /1\n~\\.b$ /2\n~\\.c$ /3\n~\\.d$ /4\n", &oio));
	assert_int_equal(other.stores, 1);
	free(m.buf);
	m.buf = other.buf;
	m.len = other.len;
	struct detour_table *fourth = build_cached(rules, &io);
	assert_int_equal(m.warns, 2);
	same_answers(plain, fourth);

	/* Truncated to nothing useful: ignored too. */
	m.len = 10;
	struct detour_table *fifth = build_cached(rules, &io);
	assert_int_equal(m.warns, 3);
	same_answers(plain, fifth);

	detour_table_free(plain);
	detour_table_free(first);
	detour_table_free(second);
	detour_table_free(shifted);
	detour_table_free(shifted_plain);
	detour_table_free(third);
	detour_table_free(fourth);
	detour_table_free(fifth);
	free(m.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key),
	        cmocka_unit_test(test_format),
	        cmocka_unit_test(test_table_cached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
