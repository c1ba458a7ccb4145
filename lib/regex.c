/* detour: PCRE2 sources (see regex.h and docs/internals/table.md).
 *
 * Patterns are compiled and JIT-compiled when the rules are loaded. A match
 * needs a pcre2_match_data block, which PCRE2 only hands out allocated; the
 * table is shared by every worker, so the block cannot live in it. Each
 * thread therefore gets its own, created on its first regex match and freed
 * by a thread-specific-data destructor when the thread exits: one allocation
 * per thread lifetime, none per request. This thread-local and table_hs.c's
 * vectorscan scratch are the only per-thread state in lib/. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "regex.h"

/* Backtracking limit per match: a pattern like (a+)+$ must not let one
 * request spin; over the limit the regex counts as not matching. */
#define MATCH_LIMIT 100000

struct tls_re {
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static __thread struct tls_re tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
	struct tls_re *t = p;

	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mc);
	t->md = NULL;
	t->mc = NULL;
}

static void tls_key_make(void)
{
	(void)pthread_key_create(&tls_key, tls_free);
}

static struct tls_re *tls_get(void)
{
	if (tls.md)
		return &tls;
	pthread_once(&tls_once, tls_key_make);
	tls.md = pcre2_match_data_create(1 + DETOUR_MAX_CAPTURES, NULL);
	tls.mc = pcre2_match_context_create(NULL);
	if (tls.md == NULL || tls.mc == NULL) {
		tls_free(&tls);
		return NULL;
	}
	pcre2_set_match_limit(tls.mc, MATCH_LIMIT);
	(void)pthread_setspecific(tls_key, &tls);
	return &tls;
}

void *detour_re_compile(const char *pat, size_t n, bool caseless, size_t *erroff, char *msg,
                        size_t cap)
{
	int err;
	PCRE2_SIZE off;
	uint32_t opts = PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UTF;
	pcre2_code *c;

	if (caseless)
		opts |= PCRE2_CASELESS;
	c = pcre2_compile((PCRE2_SPTR)pat, n, opts, &err, &off, NULL);
	if (c == NULL) {
		PCRE2_UCHAR buf[200];
		if (pcre2_get_error_message(err, buf, sizeof(buf)) < 0)
			strcpy((char *)buf, "invalid regex");
		snprintf(msg, cap, "%s", (const char *)buf);
		*erroff = off;
		return NULL;
	}
	uint32_t ng = 0;
	pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &ng);
	if (ng > DETOUR_MAX_CAPTURES) {
		pcre2_code_free(c);
		snprintf(msg, cap, "more than %d capture groups (use (?:...) for grouping only)",
		         DETOUR_MAX_CAPTURES);
		*erroff = 0;
		return NULL;
	}
	/* Without JIT support (some architectures) the interpreter is used:
	 * slower, same answers. */
	(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
	return c;
}

void detour_re_free(void *code)
{
	pcre2_code_free(code);
}

unsigned detour_re_groups(const void *code)
{
	uint32_t ng = 0;

	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ng);
	return ng;
}

void detour_re_names(const void *code, struct detour_slice *names, unsigned ngroups)
{
	uint32_t count = 0, size = 0;
	PCRE2_SPTR table = NULL;

	for (unsigned i = 0; i < ngroups; i++)
		names[i] = (struct detour_slice){"", 0};
	pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
	/* Each entry: group number (2 bytes, big endian), the name, NUL. */
	for (uint32_t i = 0; table && i < count; i++) {
		PCRE2_SPTR e = table + (size_t)i * size;
		unsigned g = (unsigned)e[0] << 8 | e[1];
		if (g >= 1 && g <= ngroups) {
			names[g - 1].p = (const char *)e + 2;
			names[g - 1].len = strlen((const char *)e + 2);
		}
	}
}

static bool quantifier(char c)
{
	return c == '?' || c == '*' || c == '+' || c == '{';
}

size_t detour_re_prefix(const char *pat, size_t n, bool caseless, char *out)
{
	size_t i = 0, k = 0, depth = 0, last = 0;
	bool cls = false;

	/* A '|' outside every group makes the leading '^' bind only the first
	 * alternative: no prefix then. */
	for (size_t j = 0; j < n; j++) {
		char c = pat[j];
		if (c == '\\') {
			j++;
		} else if (cls) {
			cls = c != ']';
		} else if (c == '[') {
			cls = true;
			if (j + 1 < n && pat[j + 1] == ']')
				j++; /* "[]...]": the first ']' is literal */
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth)
				depth--;
		} else if (c == '|' && depth == 0) {
			return 0;
		}
	}
	if (n == 0 || pat[0] != '^')
		return 0;
	for (i = 1; i < n;) {
		char c = pat[i], lit;
		size_t len;
		if (c == '\\') {
			/* An escaped punctuation byte is that byte; letters and
			 * digits are classes, anchors or back references. */
			if (i + 1 >= n)
				break;
			lit = pat[i + 1];
			if ((lit >= 'a' && lit <= 'z') || (lit >= 'A' && lit <= 'Z') ||
			    (lit >= '0' && lit <= '9') || (unsigned char)lit >= 0x80)
				break;
			len = 2;
		} else if (strchr("^$.|?*+()[]{}", c)) {
			break;
		} else {
			lit = c;
			len = 1;
		}
		if (i + len < n && quantifier(pat[i + len]))
			break; /* "a?", "a*", "a{0,1}": the byte may be absent */
		if (caseless && lit >= 'A' && lit <= 'Z')
			lit = (char)(lit + 32);
		out[k++] = lit;
		if (lit == '/')
			last = k;
		i += len;
	}
	if (k == 0 || out[0] != '/')
		return 0;
	return last;
}

bool detour_re_match(const void *code, const char *s, size_t n, size_t *ov)
{
	struct tls_re *t = tls_get();
	int rc;

	if (t == NULL)
		return false;
	/* pcre2_jit_match skips pcre2_match's checks of its arguments (10-20
	 * ns a call, bench/micro_jit.c) and answers
	 * PCRE2_ERROR_JIT_BADOPTION for a code without machine code (no JIT
	 * on this architecture): then the interpreter. Both honour the match
	 * limit of t->mc. */
	rc = pcre2_jit_match(code, (PCRE2_SPTR)s, n, 0, 0, t->md, t->mc);
	if (rc == PCRE2_ERROR_JIT_BADOPTION)
		rc = pcre2_match(code, (PCRE2_SPTR)s, n, 0, 0, t->md, t->mc);
	if (rc < 0)
		return false;
	if (ov) {
		PCRE2_SIZE *v = pcre2_get_ovector_pointer(t->md);
		uint32_t np = pcre2_get_ovector_count(t->md);
		for (uint32_t i = 0; i < 1 + DETOUR_MAX_CAPTURES; i++) {
			bool set = i < np && i < (uint32_t)rc && v[2 * i] != PCRE2_UNSET;
			ov[2 * i] = set ? v[2 * i] : SIZE_MAX;
			ov[2 * i + 1] = set ? v[2 * i + 1] : SIZE_MAX;
		}
	}
	return true;
}
