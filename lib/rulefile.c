/* detour: the rules file -> a ruleset (see rulefile.h and docs/rules.md).
 *
 * Memory: a file is read with one read() loop into a single "big" arena
 * block (one byte longer than the file) and parsed in place. Every string of
 * a rule (host, normalised path, target, id) is rewritten inside the bytes of
 * its own field and NUL-terminated over the separator that follows it, so
 * parsing allocates nothing per rule. At the end of the file the rules' paths
 * and targets join the ruleset's one string block (rstr_keep, rulestrings.c: for the
 * first file, the file's own block, compacted), and a rule is its struct (12
 * bytes: an offset into the block, no pointers), its line (ruleside.h) and
 * its strings. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "base/grow.h"
#include "detour/rulefile.h"
#include "detour/url.h"
#include "hash.h"
#include "regex.h"
#include "rulelex.h"
#include "ruleopts.h"
#include "ruleset_int.h"
#include "ruleside.h"
#include "rulesrc.h"
#include "rulestrings.h"

#define MAX_FIELDS 64
#define MAX_FILES  65535

_Static_assert(sizeof(struct detour_rule) == 12, "a rule is 12 bytes (rule.h)");

/* ---------------------------------------------------------------- ruleset */

struct detour_ruleset *detour_ruleset_new(void)
{
	struct detour_ruleset *rs = calloc(1, sizeof(*rs));

	if (rs)
		detour_arena_init(&rs->arena);
	return rs;
}

void detour_ruleset_free(struct detour_ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->ncodes; i++)
		detour_re_free(rs->codes[i]);
	for (size_t i = 0; i < rs->ntzs; i++)
		detour_tz_free(rs->tzs[i]);
	free(rs->codes);
	free(rs->tzs);
	free(rs->exts);
	free(rs->caches);
	rstr_fini(rs);
	free(rs->strays);
	rside_fini(&rs->side);
	detour_arena_fini(&rs->arena);
	if (rs->rules_mapped)
		munmap(rs->rules, rs->cap * sizeof(*rs->rules));
	else
		free(rs->rules);
	free(rs->files);
	free(rs);
}

size_t detour_ruleset_count(const struct detour_ruleset *rs)
{
	return rs->n;
}

const struct detour_rule *detour_ruleset_get(const struct detour_ruleset *rs, size_t i)
{
	return i < rs->n ? &rs->rules[i] : NULL;
}

const char *detour_ruleset_strings(const struct detour_ruleset *rs)
{
	return rstr_block(rs);
}

const char *detour_rule_path(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	return rstr_path(rs, r);
}

const char *detour_rule_strings(const struct detour_ruleset *rs, const struct detour_rule *r,
                                char *buf)
{
	return rstr_get(rs, r, buf);
}

const char *detour_rule_target(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	return rstr_path(rs, r) + r->path_len + 1;
}

uint32_t detour_rule_index(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	return (uint32_t)(r - rs->rules);
}

int32_t detour_rule_cache(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	size_t lo = 0, hi = rs->ncaches;

	if (!(r->flags & DETOUR_RULE_CACHE))
		return DETOUR_CACHE_UNSET;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rs->caches[mid].rule < detour_rule_index(rs, r))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->ncaches && rs->caches[lo].rule == detour_rule_index(rs, r)
	               ? rs->caches[lo].secs
	               : DETOUR_CACHE_UNSET;
}

const char *detour_ruleset_file(const struct detour_ruleset *rs, unsigned f)
{
	return f < rs->nfiles ? rs->files[f] : NULL;
}

const struct detour_rule_ext *detour_ruleset_ext(const struct detour_ruleset *rs,
                                                 const struct detour_rule *r)
{
	size_t lo = 0, hi = rs->nexts;

	if (!(r->flags & DETOUR_RULE_EXT))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rs->exts[mid].rule < detour_rule_index(rs, r))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->nexts && rs->exts[lo].rule == detour_rule_index(rs, r) ? &rs->exts[lo]
	                                                                       : NULL;
}

void detour_ruleset_collect(struct detour_ruleset *rs, struct detour_diags *ds)
{
	rs->diags = ds;
}

void detour_ruleset_hscache(struct detour_ruleset *rs, const struct detour_hscache *io)
{
	rs->hscache = io;
}

enum detour_slash detour_ruleset_slash(const struct detour_ruleset *rs)
{
	return (enum detour_slash)rs->slash;
}

/* Appends s[0..n) to buf at o, as much of it as leaves room for the NUL
 * (cap > o); returns the new length. */
static size_t id_put(char *buf, size_t cap, size_t o, const char *s, size_t n)
{
	if (n > cap - 1 - o)
		n = cap - 1 - o;
	memcpy(buf + o, s, n);
	return o + n;
}

/* Hand-formatted: a flush writes the id of every rule it counted (up to a
 * million), and snprintf's format parsing was half of its instructions
 * (callgrind, bench/micro_flush.c). Output and truncation are snprintf's. */
const char *detour_rule_id(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf,
                           size_t cap)
{
	size_t o, n;

	if (cap == 0)
		return buf;
	if (r->flags & DETOUR_RULE_ID_SET) {
		const char *s = rside_id(&rs->side, detour_rule_index(rs, r), &n);
		o = id_put(buf, cap, 0, s, n);
	} else {
		const char *f = detour_ruleset_file(rs, detour_ruleset_rule_file(rs, r));
		unsigned line = detour_ruleset_line(rs, r);
		char t[1 + 10]; /* ":" and the line, up to 4294967295 */
		size_t i = sizeof(t);
		do {
			t[--i] = (char)('0' + line % 10);
			line /= 10;
		} while (line);
		t[--i] = ':';
		f = f ? f : "?";
		o = id_put(buf, cap, 0, f, strlen(f));
		o = id_put(buf, cap, o, t + i, sizeof(t) - i);
	}
	buf[o] = '\0';
	return buf;
}

const char *detour_ruleset_host(const struct detour_ruleset *rs, const struct detour_rule *r,
                                size_t *len)
{
	struct rside_host h =
	        rside_host(&rs->side, rside_host_of(&rs->side, detour_rule_index(rs, r)));

	if (len)
		*len = h.len;
	return h.name;
}

uint32_t detour_ruleset_host_id(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	return rside_host_of(&rs->side, detour_rule_index(rs, r));
}

const char *detour_ruleset_idval(const struct detour_ruleset *rs, const struct detour_rule *r,
                                 size_t *len)
{
	size_t n;
	const char *s = rside_id(&rs->side, detour_rule_index(rs, r), &n);

	if (len)
		*len = n;
	return s;
}

unsigned detour_ruleset_line(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	return rside_line(&rs->side, detour_rule_index(rs, r));
}

unsigned detour_ruleset_rule_file(const struct detour_ruleset *rs, const struct detour_rule *r)
{
	return rside_file(&rs->side, detour_rule_index(rs, r));
}

/* Resizes the rules array to hold cap rules (rounded up to whole pages).
 * A large array is its own mapping, grown and shrunk with mremap: a million
 * rules are never copied (malloc's realloc does copy once its mmap threshold
 * has adapted upwards), and with huge pages the kernel faults it in 2 MiB at
 * a time. A small one (under RULES_MAP_MIN) is malloc'd: a mapping of its
 * own would cost an mmap and, at the free, a munmap, which flushes the TLB of
 * every CPU the process runs on (an IPI each), for every ruleset of one line
 * (an API rule checked, an import's rule checked alone). It moves to a
 * mapping once it grows past RULES_MAP_MIN, and stays one. */
#define RULES_MAP_MIN (256u << 10)

static detour_err resize_rules(struct detour_ruleset *rs, size_t cap)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (cap * sizeof(*rs->rules) + pg - 1) / pg * pg;
	void *p;

	if (!rs->rules_mapped && bytes < RULES_MAP_MIN) {
		p = realloc(rs->rules, bytes);
		if (p == NULL)
			return DETOUR_ENOMEM;
	} else if (rs->rules_mapped) {
		p = mremap(rs->rules, rs->cap * sizeof(*rs->rules), bytes, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return DETOUR_ENOMEM;
		detour_mem_hint_huge(p, bytes);
	} else {
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return DETOUR_ENOMEM;
		detour_mem_hint_huge(p, bytes);
		if (rs->rules) {
			memcpy(p, rs->rules, rs->n * sizeof(*rs->rules));
			free(rs->rules);
		}
		rs->rules_mapped = true;
	}
	rs->rules = p;
	rs->cap = bytes / sizeof(*rs->rules); /* a page holds whole rules */
	return DETOUR_OK;
}

/* Reserves room for extra more rules. */
static detour_err reserve_rules(struct detour_ruleset *rs, size_t extra)
{
	size_t want;

	if (extra > UINT32_MAX - 1 - rs->n)
		return DETOUR_ETOOBIG;
	if (rs->n + extra <= rs->cap)
		return DETOUR_OK;
	want = rs->cap ? rs->cap : 64;
	while (want < rs->n + extra)
		want *= 2;
	return resize_rules(rs, want);
}

/* Index of file name, added (copied into the arena) when new. */
static detour_err file_index(struct detour_ruleset *rs, const char *name, unsigned *out)
{
	for (unsigned i = rs->nfiles; i-- > 0;) {
		if (strcmp(rs->files[i], name) == 0) {
			*out = i;
			return DETOUR_OK;
		}
	}
	if (rs->nfiles >= MAX_FILES)
		return DETOUR_ETOOBIG;
	if (BASE_GROW(rs->files, rs->files_cap, rs->nfiles + 1) != 0)
		return DETOUR_ENOMEM;
	char *copy = detour_arena_strndup(&rs->arena, name, strlen(name));
	if (copy == NULL)
		return DETOUR_ENOMEM;
	rs->files[rs->nfiles] = copy;
	*out = rs->nfiles++;
	return DETOUR_OK;
}

/* ------------------------------------------------------------------ lines */

/* "@slash strict|either": the table-wide trailing-slash policy. It must come
 * before the first rule (it changes how exact rules are indexed), and every
 * file that sets it must agree. */
static detour_err directive(struct pctx *pc, struct field *f, unsigned nf)
{
	char b[64];
	struct detour_ruleset *rs = pc->rs;

	if (!(f[0].n == 6 && memcmp(f[0].p, "@slash", 6) == 0))
		return detour_rf_perr(pc, f[0].p, "unknown directive \"%s\" (known: @slash)",
		                      detour_rf_show(b, f[0].p, f[0].n));
	if (nf != 2)
		return detour_rf_perr(pc, nf < 2 ? f[0].p + f[0].n : f[2].p,
		                      "expected \"@slash strict\" or \"@slash either\"");
	uint8_t v;
	if (f[1].n == 6 && memcmp(f[1].p, "strict", 6) == 0)
		v = DETOUR_SLASH_STRICT;
	else if (f[1].n == 6 && memcmp(f[1].p, "either", 6) == 0)
		v = DETOUR_SLASH_EITHER;
	else
		return detour_rf_perr(pc, f[1].p,
		                      "expected strict or either after @slash, found \"%s\"",
		                      detour_rf_show(b, f[1].p, f[1].n));
	if (rs->slash_set && rs->slash != v)
		return detour_rf_perr(pc, f[1].p, "@slash %s contradicts an earlier @slash %s",
		                      v == DETOUR_SLASH_STRICT ? "strict" : "either",
		                      v == DETOUR_SLASH_STRICT ? "either" : "strict");
	if (!rs->slash_set && rs->n > 0)
		return detour_rf_perr(pc, f[0].p, "@slash must come before the first rule");
	rs->slash = v;
	rs->slash_set = true;
	return DETOUR_OK;
}

/* Parses one line ls[0..le) (no line ending). Appends a rule unless the line
 * is blank or a comment. ls[le - ls] must be writable. */
static detour_err parse_line(struct pctx *pc, char *ls, char *end, char **next)
{
	char b[64];
	struct field f[MAX_FIELDS];
	unsigned nf = 0;
	char *p = ls, *le = end;

	/* Fields and the end of the line in one pass: a field ends at any
	 * byte <= ' '; that byte must be a blank or the line ending (LF, or CR
	 * before LF or at the end of the input). */
	pc->ls = ls;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end) {
			le = *next = end;
			break;
		}
		if (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'))) {
			le = p;
			*next = p + (*p == '\r' && p + 1 < end) + 1;
			break;
		}
		if (*p == '#') {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			le = nl ? nl : end;
			*next = nl ? nl + 1 : end;
			if (le > p && le[-1] == '\r')
				le--;
			break;
		}
		if (p - ls >= DETOUR_RULE_LINE_MAX)
			break; /* reported below */
		if (nf == MAX_FIELDS)
			return detour_rf_perr(pc, p, "too many fields (at most %d)", MAX_FIELDS);
		f[nf].p = p;
		while (p < end && (unsigned char)*p > ' ')
			p++;
		f[nf].n = (size_t)(p - f[nf].p);
		nf++;
		if (p < end && *p != ' ' && *p != '\t' && *p != '\n' &&
		    !(*p == '\r' && (p + 1 == end || p[1] == '\n')) &&
		    p - ls < DETOUR_RULE_LINE_MAX)
			return detour_rf_perr(pc, p, "unexpected control character 0x%02X",
			                      (unsigned char)*p);
	}
	if (p - ls >= DETOUR_RULE_LINE_MAX || le - ls > DETOUR_RULE_LINE_MAX) {
		char *nl = memchr(ls, '\n', (size_t)(end - ls));
		le = nl ? nl : end;
		if (le > ls && le[-1] == '\r')
			le--;
		if (le - ls > DETOUR_RULE_LINE_MAX)
			return detour_rf_perr(pc, ls + DETOUR_RULE_LINE_MAX,
			                      "line is longer than %d bytes", DETOUR_RULE_LINE_MAX);
	}
	if (nf == 0)
		return DETOUR_OK;
	if (f[0].p[0] == '@')
		return directive(pc, f, nf);

	/* Copied from a template rather than cleared with memset: for this
	 * size GCC inlines a memset as "rep stos", whose start-up cost on this
	 * machine made the clearing a quarter of parse_line (a million lines:
	 * 15 % of the load's CPU, issue 10); a copy is unrolled loads and
	 * stores. */
	static const struct lineext blank = {
	        .x.window = {.from = DETOUR_TIME_NONE_FROM,
	                     .until = DETOUR_TIME_NONE_UNTIL,
	                     .hour_from = -1,
	                     .hour_to = -1},
	};
	struct lineext lx;
	memcpy(&lx, &blank, offsetof(struct lineext, conds));
	pc->lx = &lx;

	struct detour_rule r = {
	        .status = 307,
	        .query = DETOUR_QUERY_KEEP,
	};
	struct srcinfo si;

	pc->path = pc->target = detour_rf_empty;
	pc->cache = DETOUR_CACHE_UNSET;

	pc->host = detour_rf_empty;
	pc->host_len = 0;
	pc->id = NULL;
	pc->id_len = 0;
	si.ncaps = 0; /* the arrays are filled as far as ncaps says */
	si.splat = false;
	si.regex = false;
	si.ngroups = 0;
	detour_err e;

	if (nf == 1)
		return detour_rf_perr(
		        pc, f[0].p + f[0].n,
		        "expected a target after the source: a path, an http(s) URL, or '-' "
		        "(with status 410)");
	e = detour_rf_parse_source(pc, &f[0], &r, &si);
	if (e)
		return e;

	bool dash = f[1].n == 1 && f[1].p[0] == '-';

	bool have_status = false;
	e = detour_rf_options(pc, &r, f, nf, &have_status);
	if (e)
		return e;

	if (lx.regex || lx.case_i) {
		e = detour_rf_compile_source(pc, &r, &si, f[0].p);
		if (e)
			return e;
	}
	if (!dash) {
		e = detour_rf_parse_target(pc, &f[1], &r, &si);
		if (e)
			return e;
	}
	if (lx.used) {
		e = detour_rf_check_ext(pc, &r, dash, &f[1]);
		if (e)
			return e;
	}

	if (dash && r.status != 410) {
		if (have_status)
			return detour_rf_perr(pc, f[1].p,
			                      "'-' (no target) needs status 410, found %u",
			                      (unsigned)r.status);
		return detour_rf_perr(pc, f[1].p, "'-' (no target) needs status 410");
	}
	if (!dash && r.status == 410)
		return detour_rf_perr(
		        pc, f[1].p,
		        "a 410 rule takes '-' as its target (there is nothing to redirect "
		        "to), found \"%s\"",
		        detour_rf_show(b, pc->target, r.target_len));

	struct detour_ruleset *rs = pc->rs;
	if (r.flags & DETOUR_RULE_ID_SET) {
		uint32_t o = rside_id_find(&rs->side, pc->id, pc->id_len);
		if (o != RSIDE_NONE)
			return detour_rf_perr(pc, pc->id,
			                      "duplicate id \"%s\": already used at %s:%u",
			                      detour_rf_show(b, pc->id, pc->id_len),
			                      rs->files[rside_file(&rs->side, o)],
			                      (unsigned)rside_line(&rs->side, o));
	}
	uint32_t host = rside_host_intern(&rs->side, pc->host, pc->host_len,
	                                  (r.flags & DETOUR_RULE_HOST_WILDCARD) != 0);
	if (host == RSIDE_NONE)
		return DETOUR_ENOMEM;
	e = reserve_rules(rs, 1);
	if (e)
		return e;
	if ((r.flags & DETOUR_RULE_CACHE) &&
	    BASE_GROW(rs->caches, rs->caches_cap, rs->ncaches + 1) != 0)
		return DETOUR_ENOMEM;
	/* Where the strings wait for rstr_keep: the path in the buffer
	 * (off, relative to it) and the target moved right after its NUL
	 * (the bytes between are the rest of the source field and blanks,
	 * which nothing keeps; "" for '-' is a NUL written there); else (a
	 * path that grew into the arena) a stray. */
	const char *pb = rs->pbuf, *dst = pc->path + r.path_len + 1;
	bool stray = !rstr_inside(pc->path, pb, rs->plen) || !rstr_inside(dst, pb, rs->plen) ||
	             !(pc->target == detour_rf_empty ||
	               (rstr_inside(pc->target, pb, rs->plen) && pc->target >= dst));
	if (stray && BASE_GROW(rs->strays, rs->strays_cap, rs->nstrays + 1) != 0)
		return DETOUR_ENOMEM;
	if (lx.used) {
		e = detour_rf_add_ext(pc, &r);
		if (e)
			return e;
	}
	if (rside_add(&rs->side, pc->line, pc->file, host,
	              r.flags & DETOUR_RULE_ID_SET ? pc->id : NULL, pc->id_len) != 0) {
		if (lx.used)
			rs->nexts--; /* detour_rf_add_ext appended it last */
		return DETOUR_ENOMEM;
	}
	if (r.flags & DETOUR_RULE_CACHE)
		rs->caches[rs->ncaches++] =
		        (struct rcache){.rule = (uint32_t)rs->n, .secs = pc->cache};
	if (stray) {
		rs->strays[rs->nstrays++] = (struct rstray){
		        .rule = (uint32_t)rs->n, .path = pc->path, .target = pc->target};
	} else {
		memmove((char *)dst, pc->target, (size_t)r.target_len + 1);
		r.off = (uint32_t)(pc->path - pb);
	}
	rs->rules[rs->n++] = r;
	return DETOUR_OK;
}

/* A scratch for lines out of len bytes of text (rulelex.h): the most any
 * line needs, but no more than 6 * len + slack, so that a ruleset of one
 * short line (an API rule, a line checked alone) does not take 192 KiB. A
 * larger text later gets a larger one (the old stays in the arena). */
static detour_err ensure_scratch(struct detour_ruleset *rs, size_t len)
{
	size_t need = DETOUR_RF_SCRATCH;

	if (len < (DETOUR_RF_SCRATCH - DETOUR_RF_SCRATCH_SLACK) / 6)
		need = 6 * len + DETOUR_RF_SCRATCH_SLACK;
	if (rs->scratch && rs->scratch_cap >= need)
		return DETOUR_OK;
	if (rs->scratch && need < 2 * rs->scratch_cap)
		need = 2 * rs->scratch_cap < DETOUR_RF_SCRATCH ? 2 * rs->scratch_cap
		                                               : DETOUR_RF_SCRATCH;
	char *s = detour_arena_alloc(&rs->arena, need, 1);
	if (s == NULL)
		return DETOUR_ENOMEM;
	rs->scratch = s;
	rs->scratch_cap = need;
	return DETOUR_OK;
}

static detour_err nomem(struct detour_diag *d, const char *name)
{
	detour_diag_set(d, name, 0, 0, "out of memory");
	return DETOUR_ENOMEM;
}

/* Parses buf[0..len) (writable, buf[len] too) as the file name. */
static detour_err parse_buffer(struct detour_ruleset *rs, const char *name, char *buf, size_t len,
                               struct detour_diag *d)
{
	struct pctx pc = {.rs = rs, .fname = name, .d = d};
	char *p = buf, *end = buf + len;
	struct detour_diag ld; /* collecting: the current line's error */
	bool failed = false;
	detour_err e;

	if (rs->diags)
		pc.d = &ld;
	rs->pbuf = buf;
	rs->plen = len;
	if (file_index(rs, name, &pc.file) || ensure_scratch(rs, len))
		return nomem(d, name);
	/* A UTF-8 byte order mark is not part of the first line. */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	for (pc.line = 1; p < end; pc.line++) {
		char *next;
		/* Collecting: where the line ends, found before parse_line
		 * NUL-terminates the strings of the line in place. */
		char *nl = rs->diags ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		e = parse_line(&pc, p, end, &next);
		if (e == DETOUR_ETOOBIG) {
			detour_diag_set(d, name, pc.line, 0, "too many rules");
			return e;
		}
		if (e == DETOUR_ENOMEM)
			return nomem(d, name);
		if (e == DETOUR_EINVAL && rs->diags) {
			/* Record, skip the rest of the line, go on. parse_line
			 * changed nothing in rs for this line (it appends last). */
			detour_diags_add(rs->diags, &ld);
			if (!failed && d)
				*d = ld;
			failed = true;
			p = nl ? nl + 1 : end;
			continue;
		}
		if (e)
			return e;
		p = next;
	}
	if (failed)
		return DETOUR_EINVAL;
	/* Give back what doubling over-reserved (a failure keeps it all). */
	if (rs->rules && rs->cap > rs->n + 64)
		(void)resize_rules(rs, rs->n + 1);
	return DETOUR_OK;
}

/* The result of a load: the parse's error e, else rstr_keep's k. */
static detour_err kept(detour_err k, detour_err e, const char *name, struct detour_diag *d)
{
	if (e || !k)
		return e;
	if (k == DETOUR_ETOOBIG) {
		detour_diag_set(d, name, 0, 0, "too many rules");
		return k;
	}
	return nomem(d, name);
}

detour_err detour_ruleset_load_buf(struct detour_ruleset *rs, const char *name, const char *buf,
                                   size_t len, struct detour_diag *d)
{
	char *copy = detour_arena_big_new(len + 1);
	size_t e0 = rs->nexts;

	if (copy == NULL)
		return nomem(d, name);
	if (len)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	detour_err e = parse_buffer(rs, name, copy, len, d);
	return kept(rstr_keep(rs, e0, copy, len), e, name, d);
}

detour_err detour_ruleset_load_file(struct detour_ruleset *rs, const char *path,
                                    struct detour_diag *d)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		detour_diag_set(d, path, 0, 0, "%s", strerror(errno));
		return DETOUR_EIO;
	}
	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		detour_diag_set(d, path, 0, 0, "%s", strerror(err));
		return DETOUR_EIO;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		detour_diag_set(d, path, 0, 0, "%s", strerror(EISDIR));
		return DETOUR_EIO;
	}
	/* One read loop into one block: the file's size plus the byte that
	 * terminates the last string (a pipe grows the block as it goes). */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 64 * 1024;
	buf = detour_arena_big_new(cap);
	if (buf == NULL) {
		close(fd);
		return nomem(d, path);
	}
	for (;;) {
		if (len == cap) {
			char *nb = detour_arena_big_grow(buf, cap * 2);
			if (nb == NULL) {
				detour_arena_big_free(buf);
				close(fd);
				return nomem(d, path);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0) {
			int err = errno;
			if (err == EINTR)
				continue;
			detour_arena_big_free(buf);
			close(fd);
			detour_diag_set(d, path, 0, 0, "%s", strerror(err));
			return DETOUR_EIO;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	size_t e0 = rs->nexts;
	detour_err e = parse_buffer(rs, path, buf, len, d);
	return kept(rstr_keep(rs, e0, buf, len), e, path, d);
}

/* A line's parse changes rs only when the rule is appended (parse_line adds
 * the rule, its extension and its id last, after every check), except for an
 * "@slash" directive, which is not a rule: add_line restores the policy. What
 * a failed line leaves behind (its file name, its copy in the arena, regexes
 * and zones it compiled) is owned by rs and changes no rule. */
static detour_err add_line(struct detour_ruleset *rs, const char *name, unsigned line,
                           const char *text, size_t len, struct detour_diag *d)
{
	struct pctx pc = {.rs = rs, .fname = name, .line = line, .d = d};
	size_t n0 = rs->n, e0 = rs->nexts;
	char *copy;
	detour_err e;

	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	if (file_index(rs, name, &pc.file) || ensure_scratch(rs, len))
		return nomem(d, name);
	copy = detour_arena_strndup(&rs->arena, text, len);
	if (copy == NULL)
		return nomem(d, name);
	pc.ls = copy;
	rs->pbuf = copy;
	rs->plen = len;
	for (size_t i = 0; i < len; i++) {
		if (copy[i] == '\n' || copy[i] == '\r')
			return detour_rf_perr(&pc, copy + i,
			                      "expected one line, found a line break");
	}
	char *next;
	e = parse_line(&pc, copy, copy + len, &next);
	if (e == DETOUR_ETOOBIG) {
		detour_diag_set(d, name, line, 0, "too many rules");
		return e;
	}
	if (e == DETOUR_ENOMEM)
		return nomem(d, name);
	if (e)
		return e;
	if (rs->n == n0)
		return detour_rf_perr(&pc, copy,
		                      "expected a rule, found an empty line or a comment");
	return kept(rstr_keep(rs, e0, NULL, 0), DETOUR_OK, name, d);
}

detour_err detour_ruleset_add_line(struct detour_ruleset *rs, const char *name, unsigned line,
                                   const char *text, size_t len, struct detour_diag *d)
{
	uint8_t slash = rs->slash;
	bool slash_set = rs->slash_set;
	detour_err e = add_line(rs, name, line, text, len, d);

	if (e != DETOUR_OK) {
		rs->slash = slash;
		rs->slash_set = slash_set;
	}
	return e;
}

detour_err detour_ruleset_check_line(const char *name, unsigned line, const char *text, size_t len,
                                     struct detour_diag *d)
{
	struct detour_ruleset *rs = detour_ruleset_new();
	detour_err e;

	if (rs == NULL)
		return nomem(d, name);
	e = detour_ruleset_add_line(rs, name, line, text, len, d);
	detour_ruleset_free(rs);
	return e;
}
