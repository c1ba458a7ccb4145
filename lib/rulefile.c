/* detour: the rules file -> a ruleset (see rulefile.h and docs/rules.md).
 *
 * Memory: a file is read with one read() loop into a single "big" arena
 * block (one byte longer than the file) and parsed in place. Every string of
 * a rule (host, normalised path, target, id) is rewritten inside the bytes of
 * its own field and NUL-terminated over the separator that follows it, so a
 * rule costs its struct (64 bytes) and no allocation at all; the rules array
 * is sized once from the number of lines. Paths only shrink when normalised
 * (RFC 3986 §6.2.2 never grows them), which is what makes in place safe. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "detour/rulefile.h"
#include "detour/table.h"
#include "detour/url.h"
#include "hash.h"
#include "rules_int.h"
#include "ruleset_int.h"

#define MAX_FIELDS 64
#define MAX_HOST   253 /* RFC 1035 §2.3.4 as written in text */
#define MAX_FILES  65535
#define SCRATCH    (3 * DETOUR_RULE_LINE_MAX) /* normalising may triple a path */
#define MAX_CONDS  32                         /* conditions on one rule */

static const char empty_str[] = "";

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
	detour_arena_fini(&rs->arena);
	if (rs->rules)
		munmap(rs->rules, rs->cap * sizeof(*rs->rules));
	free(rs->files);
	free(rs->ids);
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
		if (rs->exts[mid].rule < r->index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->nexts && rs->exts[lo].rule == r->index ? &rs->exts[lo] : NULL;
}

enum detour_slash detour_ruleset_slash(const struct detour_ruleset *rs)
{
	return (enum detour_slash)rs->slash;
}

/* Keeps a compiled regex so that the ruleset frees it. On failure to grow
 * the list the code is freed at once and *oom set. */
static bool keep_code(struct detour_ruleset *rs, void *code)
{
	if (rs->ncodes == rs->codes_cap) {
		size_t cap = rs->codes_cap ? rs->codes_cap * 2 : 16;
		void **nc = realloc(rs->codes, cap * sizeof(*nc));
		if (nc == NULL) {
			detour_re_free(code);
			return false;
		}
		rs->codes = nc;
		rs->codes_cap = cap;
	}
	rs->codes[rs->ncodes++] = code;
	return true;
}

const char *detour_rule_id(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf,
                           size_t cap)
{
	if (r->flags & DETOUR_RULE_ID_SET) {
		snprintf(buf, cap, "%s", r->id);
	} else {
		const char *f = detour_ruleset_file(rs, r->file);
		snprintf(buf, cap, "%s:%u", f ? f : "?", (unsigned)r->line);
	}
	return buf;
}

int64_t detour_parse_duration(const char *s, size_t len)
{
	const int64_t max = INT64_C(10) * 365 * 86400; /* ten years */
	int64_t v = 0, mult = 1;
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
		i++;
	}
	if (i == 0)
		return -1;
	if (i + 1 == len) {
		switch (s[i]) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		default:
			return -1;
		}
	} else if (i != len) {
		return -1;
	}
	if (v > max / mult)
		return -1;
	return v * mult;
}

/* Resizes the rules array to hold cap rules (rounded up to whole pages).
 * The array is its own mapping, grown and shrunk with mremap: a million
 * rules are never copied (malloc's realloc does copy once its mmap threshold
 * has adapted upwards), and with huge pages the kernel faults it in 2 MiB at
 * a time. */
static detour_err resize_rules(struct detour_ruleset *rs, size_t cap)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (cap * sizeof(*rs->rules) + pg - 1) / pg * pg;
	void *p;

	if (rs->rules)
		p = mremap(rs->rules, rs->cap * sizeof(*rs->rules), bytes, MREMAP_MAYMOVE);
	else
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return DETOUR_ENOMEM;
	detour_mem_hint_huge(p, bytes);
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
	if (rs->nfiles == rs->files_cap) {
		unsigned cap = rs->files_cap ? rs->files_cap * 2 : 4;
		const char **nf = realloc(rs->files, cap * sizeof(*nf));
		if (nf == NULL)
			return DETOUR_ENOMEM;
		rs->files = nf;
		rs->files_cap = cap;
	}
	char *copy = detour_arena_strndup(&rs->arena, name, strlen(name));
	if (copy == NULL)
		return DETOUR_ENOMEM;
	rs->files[rs->nfiles] = copy;
	*out = rs->nfiles++;
	return DETOUR_OK;
}

/* The id table: open addressing over rule indexes + 1. Returns the slot
 * that holds id, or the empty slot where it would go. */
static uint32_t *id_slot(const struct detour_ruleset *rs, const char *id, size_t n)
{
	size_t mask = rs->ids_cap - 1;
	size_t i = (size_t)detour_mix(detour_fnv(DETOUR_FNV_INIT, id, n), 0) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = rs->ids[i];
		if (v == 0)
			return &rs->ids[i];
		const struct detour_rule *r = &rs->rules[v - 1];
		if (r->id_len == n && memcmp(r->id, id, n) == 0)
			return &rs->ids[i];
	}
}

static detour_err id_grow(struct detour_ruleset *rs)
{
	size_t cap = rs->ids_cap ? rs->ids_cap * 2 : 64;
	uint32_t *old = rs->ids;
	size_t oldcap = rs->ids_cap;

	rs->ids = calloc(cap, sizeof(*rs->ids));
	if (rs->ids == NULL) {
		rs->ids = old;
		return DETOUR_ENOMEM;
	}
	rs->ids_cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i]) {
			const struct detour_rule *r = &rs->rules[old[i] - 1];
			*id_slot(rs, r->id, r->id_len) = old[i];
		}
	}
	free(old);
	return DETOUR_OK;
}

/* ----------------------------------------------------------------- parser */

/* Character classes of the rule syntax. */
enum {
	K_NAME0 = 1 << 0, /* [A-Za-z_]: first byte of a placeholder name */
	K_NAME = 1 << 1,  /* [A-Za-z0-9_] */
	K_HOST = 1 << 2,  /* reg-name bytes accepted in a source host */
	K_TCHAR = 1 << 3, /* RFC 9110 §5.6.2 tchar: the bytes of an id */
	K_URI = 1 << 4,   /* any byte RFC 3986 allows somewhere in a URI reference */
	K_HEX = 1 << 5,
};

#define AZ (K_NAME0 | K_NAME | K_HOST | K_TCHAR | K_URI)

static const unsigned char kcls[256] = {
        ['A' ... 'F'] = AZ | K_HEX,
        ['G' ... 'Z'] = AZ,
        ['a' ... 'f'] = AZ | K_HEX,
        ['g' ... 'z'] = AZ,
        ['0' ... '9'] = K_NAME | K_HOST | K_TCHAR | K_URI | K_HEX,
        ['_'] = AZ,
        ['-'] = K_HOST | K_TCHAR | K_URI,
        ['.'] = K_HOST | K_TCHAR | K_URI,
        ['~'] = K_HOST | K_TCHAR | K_URI,
        ['!'] = K_TCHAR | K_URI,
        ['#'] = K_TCHAR | K_URI,
        ['$'] = K_TCHAR | K_URI,
        ['%'] = K_TCHAR | K_URI,
        ['&'] = K_TCHAR | K_URI,
        ['\''] = K_TCHAR | K_URI,
        ['*'] = K_TCHAR | K_URI,
        ['+'] = K_TCHAR | K_URI,
        ['^'] = K_TCHAR,
        ['`'] = K_TCHAR,
        ['|'] = K_TCHAR,
        ['('] = K_URI,
        [')'] = K_URI,
        [','] = K_URI,
        [';'] = K_URI,
        ['='] = K_URI,
        [':'] = K_URI,
        ['@'] = K_URI,
        ['/'] = K_URI,
        ['?'] = K_URI,
        ['['] = K_URI,
        [']'] = K_URI,
};

static inline bool kis(char c, unsigned k)
{
	return (kcls[(unsigned char)c] & k) != 0;
}

struct field {
	char *p;
	size_t n;
};

/* What the options of one line ask for beyond the 64-byte rule. */
struct lineext {
	struct detour_rule_ext x;
	unsigned nconds;
	bool used; /* the rule needs its extension */
	bool case_i, html, private_no, regex, oom;
	const char *delay_at, *sticky_at, *health_at, *tz_at, *allow_at, *days_at, *from_at;
	struct detour_cond conds[MAX_CONDS]; /* last: not cleared per line (nconds says) */
};

/* Where a line is being parsed, for diagnostics. */
struct pctx {
	struct lineext *lx;    /* the current line's extension */
	const char *opt_start; /* the option being parsed ("if-ip=...") */
	struct detour_ruleset *rs;
	const char *fname; /* the caller's name: it outlives the diag */
	unsigned file;
	unsigned line;
	const char *ls; /* first byte of the line: column 1 */
	struct detour_diag *d;
};

/* What the source defines, for checking the target. */
struct srcinfo {
	unsigned ncaps;
	const char *names[DETOUR_MAX_CAPTURES];
	size_t nlen[DETOUR_MAX_CAPTURES];
	bool splat;
	unsigned ngroups; /* regex source: capture groups, for $1..$9 */
	bool regex;
};

static detour_err perr(struct pctx *pc, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Fills the diag with the current line, the column of at (1-based), and the
 * message. Returns DETOUR_EINVAL. */
static detour_err perr(struct pctx *pc, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (pc->d == NULL)
		return DETOUR_EINVAL;
	pc->d->file = pc->fname;
	pc->d->line = pc->line;
	pc->d->col = at ? (unsigned)(at - pc->ls) + 1 : 0;
	va_start(ap, fmt);
	vsnprintf(pc->d->msg, sizeof(pc->d->msg), fmt, ap);
	va_end(ap);
	return DETOUR_EINVAL;
}

/* p[0..n) for a message: at most 60 bytes, "..." when cut. */
static const char *show(char buf[64], const char *p, size_t n)
{
	if (n > 60) {
		memcpy(buf, p, 56);
		memcpy(buf + 56, "...", 4);
	} else {
		memcpy(buf, p, n);
		buf[n] = '\0';
	}
	return buf;
}

static bool prefix_ci(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != pre[i])
			return false;
	}
	return true;
}

/* Explains why s[0..n) was refused, pointing at the first bad byte; what
 * names the part ("source path", "target"). A target must be URI text as
 * written; a source path may hold any visible byte (normalising encodes it)
 * but no control byte or broken '%' escape. Returns DETOUR_EINVAL, with a
 * generic message when no single byte is to blame. */
static detour_err bad_uri(struct pctx *pc, const char *s, size_t n, const char *what, bool target)
{
	char b[64];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return perr(pc, s + i, "unexpected control character 0x%02X in the %s", c,
			            what);
		if (c >= 0x80 && target)
			return perr(
			        pc, s + i,
			        "invalid byte 0x%02X in the %s: non-ASCII must be percent-encoded "
			        "(UTF-8 bytes as %%XX)",
			        c, what);
		if (c == '%') {
			if (n - i < 3 || !kis(s[i + 1], K_HEX) || !kis(s[i + 2], K_HEX))
				return perr(
				        pc, s + i,
				        "invalid percent-escape in the %s: '%%' must be followed "
				        "by two hex digits (write %%25 for a literal '%%')",
				        what);
			i += 2;
			continue;
		}
		if (target && !kis((char)c, K_URI))
			return perr(pc, s + i,
			            "invalid character '%c' in the %s (write it percent-encoded)",
			            c, what);
	}
	return perr(pc, s, "invalid %s \"%s\"", what, show(b, s, n));
}

/* Checks a placeholder segment ":name" at seg[0..n) (seg[0] == ':'). */
static detour_err check_placeholder(struct pctx *pc, const char *seg, size_t n, struct srcinfo *si)
{
	char b[64];
	const char *name = seg + 1;
	size_t nl = n - 1;

	if (nl == 0)
		return perr(pc, seg, "expected a placeholder name after ':'");
	bool ok = kis(name[0], K_NAME0);
	for (size_t i = 1; ok && i < nl; i++)
		ok = kis(name[i], K_NAME);
	if (!ok)
		return perr(pc, seg,
		            "a placeholder is a whole segment \":name\" (letters, digits and '_', "
		            "not starting with a digit), found \"%s\"",
		            show(b, seg, n));
	if (nl == 5 && memcmp(name, "splat", 5) == 0)
		return perr(pc, seg,
		            "\":splat\" is reserved for the part matched by a final \"*\"");
	for (unsigned i = 0; i < si->ncaps; i++) {
		if (si->nlen[i] == nl && memcmp(si->names[i], name, nl) == 0)
			return perr(pc, seg, "placeholder \"%s\" appears twice in the source",
			            show(b, seg, n));
	}
	if (si->ncaps == DETOUR_MAX_CAPTURES)
		return perr(pc, seg, "more than %d placeholders in the source",
		            DETOUR_MAX_CAPTURES);
	si->names[si->ncaps] = name;
	si->nlen[si->ncaps] = nl;
	si->ncaps++;
	return DETOUR_OK;
}

static detour_err port_err(struct pctx *pc, const char *colon, const char *end)
{
	char b[64];

	return perr(pc, colon,
	            "a port is not allowed in a source host (rules match the request's host "
	            "without its port), found \"%s\"",
	            show(b, colon, (size_t)(end - colon)));
}

/* Checks the bytes of a source host h[0..n) (after "*." for a wildcard);
 * fs is the start of the field, for messages. */
static detour_err check_host(struct pctx *pc, const char *h, size_t n, const char *fs)
{
	char b[64];

	if (n && h[0] == '[') {
		const char *close = memchr(h, ']', n);
		if (close == NULL)
			return perr(pc, h,
			            "expected ']' to close the IP literal in the source host");
		for (const char *p = h + 1; p < close; p++) {
			if (!kis(*p, K_HEX) && *p != ':' && *p != '.')
				return perr(pc, p, "invalid character '%c' in an IP literal", *p);
		}
		if (close + 1 < h + n) {
			if (close[1] == ':')
				return port_err(pc, close + 1, h + n);
			return perr(pc, close + 1, "unexpected \"%s\" after the IP literal",
			            show(b, close + 1, (size_t)(h + n - close - 1)));
		}
		return DETOUR_OK;
	}
	if (n == 0 || h[0] == '.')
		return perr(pc, h, "expected a host name after \"%s\"",
		            show(b, fs, (size_t)(h - fs)));
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == ':')
			return port_err(pc, h + i, h + n);
		if (c == '@')
			return perr(pc, h + i,
			            "user information (\"user@\") is not allowed in a host");
		if (c == '*')
			return perr(pc, h + i,
			            "'*' is only allowed as \"*.\" at the start of a host "
			            "(\"*.example.com\")");
		if (c == '.' && i + 1 < n && h[i + 1] == '.')
			return perr(pc, h + i + 1, "empty label in the source host");
		if (!kis(c, K_HOST)) {
			if ((unsigned char)c < 0x20 || c == 0x7f)
				return perr(pc, h + i,
				            "unexpected control character 0x%02X in the host",
				            (unsigned char)c);
			if ((unsigned char)c >= 0x80)
				return perr(pc, h + i,
				            "invalid byte 0x%02X in the source host: write an "
				            "internationalised name in its xn-- (punycode) form",
				            (unsigned char)c);
			return perr(pc, h + i, "invalid character '%c' in the source host", c);
		}
	}
	return DETOUR_OK;
}

/* SOURCE: [scheme://host | //host] path. Rewrites the field in place:
 * host NUL path NUL, and fills r (host, path, kind, scheme, flags) and si. */
static detour_err parse_source(struct pctx *pc, struct field *f, struct detour_rule *r,
                               struct srcinfo *si)
{
	char b[64];
	char *s = f->p, *end = f->p + f->n, *auth = NULL, *path, *h = NULL;
	size_t hn = 0;
	bool wild = false;

	r->scheme = DETOUR_SCHEME_ANY;
	if (s[0] == '~') {
		/* A PCRE2 regex over the normalised request path; compiled once the
		 * options (case=) are known, see finish_ext(). */
		if (f->n == 1)
			return perr(pc, s + 1, "expected a regex after '~' (as in ~^/p/([0-9]+)$)");
		if (f->n - 1 > UINT16_MAX - 2)
			return perr(pc, s, "the regex is longer than %d bytes", UINT16_MAX - 2);
		for (size_t i = 1; i < f->n; i++)
			if ((unsigned char)s[i] >= 0x80)
				return perr(pc, s + i,
				            "non-ASCII byte 0x%02X in a regex: request paths are "
				            "matched normalised, so write it as %%XX",
				            (unsigned char)s[i]);
		s[f->n] = '\0';
		r->kind = DETOUR_SRC_REGEX;
		r->host = empty_str;
		r->host_len = 0;
		r->path = s + 1;
		r->path_len = (uint16_t)(f->n - 1);
		r->flags = 0;
		si->ncaps = 0;
		si->splat = false;
		si->regex = true;
		pc->lx->regex = true;
		pc->lx->used = true;
		return DETOUR_OK;
	}
	if (f->n >= 2 && s[0] == '/' && s[1] == '/') {
		auth = s + 2;
	} else if (s[0] == '/') {
		auth = NULL;
	} else if (prefix_ci(s, f->n, "https://")) {
		r->scheme = DETOUR_SCHEME_HTTPS;
		auth = s + 8;
	} else if (prefix_ci(s, f->n, "http://")) {
		r->scheme = DETOUR_SCHEME_HTTP;
		auth = s + 7;
	} else {
		return perr(pc, s,
		            "expected a source: a path starting with '/' or a URL "
		            "(https://host/path, http://host/path, //host/path), found \"%s\"",
		            show(b, s, f->n));
	}
	if (auth) {
		char *slash = memchr(auth, '/', (size_t)(end - auth));
		char *hend = slash ? slash : end;
		h = auth;
		if (hend - h >= 2 && h[0] == '*' && h[1] == '.') {
			wild = true;
			h++; /* keep the '.': ".example.com" */
		}
		detour_err e = check_host(pc, wild ? h + 1 : h, (size_t)(hend - h - wild), s);
		if (e)
			return e;
		if (hend - h > MAX_HOST)
			return perr(pc, auth, "the source host is longer than %d characters",
			            MAX_HOST);
		if (slash == NULL)
			return perr(pc, end,
			            "expected a path after the host (write \"%s/*\" to match every "
			            "path of the host)",
			            show(b, s, f->n));
		hn = detour_url_host_canon(h, (size_t)(hend - h));
		if (hn == (size_t)wild)
			return perr(pc, auth, "expected a host name after \"%s\"",
			            show(b, s, (size_t)(auth - s)));
		path = slash;
	} else {
		path = s;
	}

	size_t pn = (size_t)(end - path);
	bool splat = pn >= 2 && path[pn - 1] == '*' && path[pn - 2] == '/';
	size_t body = splat ? pn - 1 : pn;

	/* Placeholders and '*' are checked on the text as written, so that the
	 * columns are right; the normalised path is scanned again below. The
	 * request's query and fragment never reach the path a rule is compared
	 * with, so a '?' or '#' here could never match. One pass, no memchr:
	 * this runs for every line of a million-line file. */
	si->ncaps = 0;
	for (char *q = path, *pe = path + body; q < pe; q++) {
		if (*q == '?')
			return perr(pc, q,
			            "'?' in a source: rules match the path only (write %%3F for a "
			            "literal '?')");
		if (*q == '#')
			return perr(
			        pc, q,
			        "'#' in a source: the fragment is never sent to the server (write "
			        "%%23 for a literal '#')");
		if (*q != '/' || q + 1 == pe || (q[1] != '*' && q[1] != ':'))
			continue;
		char *seg = q + 1, *se = seg;
		while (se < pe && *se != '/')
			se++;
		if (se - seg == 1 && seg[0] == '*')
			return perr(pc, seg,
			            "a splat \"*\" must be the last segment of the source (as in "
			            "\"/blog/*\")");
		if (seg[0] == ':') {
			detour_err e = check_placeholder(pc, seg, (size_t)(se - seg), si);
			if (e)
				return e;
		}
		q = se - 1;
	}

	ssize_t nl = detour_url_normalize_path(path, body, pc->rs->scratch, SCRATCH);
	if (nl < 0)
		return bad_uri(pc, path, body, "source path", false);
	if ((size_t)nl + 2 > UINT16_MAX)
		return perr(pc, path, "the source path is longer than %d bytes once normalised",
		            UINT16_MAX - 2);

	/* Write host NUL path NUL over the field and the separator after it
	 * (see the file comment): normalising removes dot segments and decodes
	 * %XX of unreserved bytes, so it mostly shrinks, but it encodes raw
	 * non-ASCII and the like ("/café" -> "/caf%C3%A9"), which can grow; a
	 * path that no longer fits goes to the arena. */
	char *w = s;
	if (auth) {
		memmove(w, h, hn);
		w[hn] = '\0';
		r->host = w;
		r->host_len = (uint16_t)hn;
		w += hn + 1;
	} else {
		r->host = empty_str;
		r->host_len = 0;
	}
	/* room: the field and its separator; need: path, a '*' or '/' a splat
	 * may add back, NUL */
	if ((size_t)(w - s) + (size_t)nl + splat + 1 > f->n + 1) {
		w = detour_arena_alloc(&pc->rs->arena, (size_t)nl + 2, 1);
		if (w == NULL)
			return DETOUR_ENOMEM;
	}
	memcpy(w, pc->rs->scratch, (size_t)nl);

	/* Kind and names from the normalised path. */
	si->ncaps = 0;
	for (char *q = w, *pe = w + nl; q + 1 < pe; q++) {
		if (q[0] != '/' || q[1] != ':')
			continue;
		char *se = q + 2;
		while (se < pe && *se != '/')
			se++;
		si->names[si->ncaps] = q + 2;
		si->nlen[si->ncaps] = (size_t)(se - q - 2);
		si->ncaps++;
		q = se - 1;
	}
	if (si->ncaps) {
		r->kind = DETOUR_SRC_PATTERN;
		if (splat)
			w[nl++] = '*';
	} else if (splat) {
		r->kind = DETOUR_SRC_SPLAT;
		if (w[nl - 1] != '/')
			w[nl++] = '/'; /* cannot happen: a path ending in '/' keeps it */
	} else {
		r->kind = DETOUR_SRC_EXACT;
	}
	w[nl] = '\0';
	r->path = w;
	r->path_len = (uint16_t)nl;
	si->splat = splat;
	r->flags =
	        (uint8_t)((wild ? DETOUR_RULE_HOST_WILDCARD : 0) | (splat ? DETOUR_RULE_SPLAT : 0));
	return DETOUR_OK;
}

/* Offset where the path of an absolute target starts (after the authority);
 * 0 for a path target. */
static size_t target_path_start(const char *t, size_t n)
{
	const char *a;

	if (n == 0 || t[0] == '/')
		return 0;
	a = memchr(t, ':', n);
	if (a == NULL || (size_t)(a - t) + 3 > n)
		return 0;
	a += 3; /* "://" */
	while (a < t + n && *a != '/' && *a != '?' && *a != '#')
		a++;
	return (size_t)(a - t);
}

static void list_names(char *buf, size_t cap, const struct srcinfo *si)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i <= si->ncaps; i++) {
		const char *nm;
		int nn;
		if (i < si->ncaps) {
			nm = si->names[i];
			nn = (int)si->nlen[i];
		} else if (si->splat) {
			nm = "splat";
			nn = 5;
		} else {
			break;
		}
		int k = snprintf(buf + o, cap - o, "%s:%.*s", o ? ", " : "", nn, nm);
		if (k < 0 || (size_t)k >= cap - o)
			break;
		o += (size_t)k;
	}
}

/* TARGET: a path, an http(s) URL, or '-'. Sets r->target (in place) and
 * DETOUR_RULE_TARGET_VARS. */
static detour_err parse_target(struct pctx *pc, struct field *f, struct detour_rule *r,
                               const struct srcinfo *si)
{
	char b[64];
	char *s = f->p;
	size_t n = f->n;
	struct detour_url u;
	bool abs = false;
	/* A target that starts with a capture takes its scheme and host from
	 * the request: only with allow-hosts= (the open-redirect guard). */
	bool lead = (si->regex && n >= 2 && s[0] == '$' && s[1] >= '1' && s[1] <= '9') ||
	            (n >= 2 && s[0] == ':' && kis(s[1], K_NAME0));

	if (n == 1 && s[0] == '-') {
		r->target = empty_str;
		r->target_len = 0;
		return DETOUR_OK;
	}
	if (lead) {
		for (size_t i = 0; i < n; i++)
			if (!kis(s[i], K_URI))
				return bad_uri(pc, s, n, "target", true);
	} else if (s[0] == '/') {
		if (n >= 2 && s[1] == '/')
			return perr(
			        pc, s,
			        "a target starting with \"//\" leaves the scheme to the client; "
			        "write https://host/...");
	} else if (prefix_ci(s, n, "https://") || prefix_ci(s, n, "http://")) {
		abs = true;
	} else {
		return perr(pc, s,
		            "expected a target: a path starting with '/', an http:// or https:// "
		            "URL, or '-' (with status 410), found \"%s\"",
		            show(b, s, n));
	}
	if (!lead && detour_url_parse(s, n, &u) != DETOUR_OK)
		return bad_uri(pc, s, n, "target", true);
	if (abs && u.host.len == 0)
		return perr(pc, s + (u.scheme.len + 3), "expected a host in the target URL");

	/* Placeholders: ':' then a name. The longest name the source defines
	 * that starts there is the one meant (":pageid" is :pageid when the
	 * source has both :page and :pageid, :page then "id" when it has only
	 * :page); a ':' before something that is not a name stays literal. */
	size_t ps = lead ? n : target_path_start(s, n);
	bool vars = false, auth_caps = false;
	const char *auth_at = s;
	for (size_t i = 0; i + 1 < n; i++) {
		if (si->regex && s[i] == '$' && s[i + 1] >= '0' && s[i + 1] <= '9') {
			/* $1..$9: a group of the regex source. */
			unsigned g = (unsigned)(s[i + 1] - '0');
			if (g == 0 || g > si->ngroups)
				return perr(
				        pc, s + i,
				        "\"$%u\": the regex has %u capture group%s ($1 to $9 name "
				        "them; write %%24 for a literal '$')",
				        g, si->ngroups, si->ngroups == 1 ? "" : "s");
			vars = true;
			if (i < ps && !auth_caps)
				auth_at = s + i;
			auth_caps |= i < ps;
			i++;
			continue;
		}
		if (s[i] != ':' || !kis(s[i + 1], K_NAME0))
			continue;
		size_t j = i + 1;
		while (j < n && kis(s[j], K_NAME))
			j++;
		size_t idl = j - i - 1, best = 0;
		for (unsigned k = 0; k <= si->ncaps; k++) {
			const char *nm = k < si->ncaps ? si->names[k] : "splat";
			size_t nn = k < si->ncaps ? si->nlen[k] : 5;
			if (k == si->ncaps && !si->splat)
				break;
			if (nn <= idl && nn > best && memcmp(s + i + 1, nm, nn) == 0)
				best = nn;
		}
		if (i < ps && best) {
			if (!auth_caps)
				auth_at = s + i;
			auth_caps = true;
		} else if (i < ps) {
			continue; /* "user:pass@", literal */
		}
		if (best == 0) {
			char names[160];
			list_names(names, sizeof(names), si);
			return perr(pc, s + i, "unknown placeholder \"%s\" in the target (%s%s)",
			            show(b, s + i, j - i),
			            names[0] ? "the source defines " : "the source defines none",
			            names[0] ? names : "; write %3A for a literal ':'");
		}
		vars = true;
		i += best;
	}
	if (auth_caps) {
		/* Open-redirect guard: a capture that can reach the scheme or
		 * host could send the client anywhere. */
		if (pc->lx->x.nallow == 0)
			return perr(
			        pc, auth_at,
			        "a capture in the target's scheme or host can redirect to any "
			        "site: name the hosts it may reach with allow-hosts=a.com,b.com "
			        "(or keep captures in the path, query or fragment)");
		pc->lx->x.flags |= DETOUR_EXT_CAPTURE_AUTHORITY;
		pc->lx->used = true;
	}
	if (vars)
		r->flags |= DETOUR_RULE_TARGET_VARS;
	s[n] = '\0';
	r->target = s;
	r->target_len = (uint16_t)n;
	return DETOUR_OK;
}

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
		return perr(pc, v, "expected keep, drop or merge for query=, found \"%s\"",
		            show(b, v, n));
	return DETOUR_OK;
}

static detour_err opt_cache(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	char b[64];
	int64_t secs;

	if (n == 8 && memcmp(v, "no-store", 8) == 0) {
		r->cache = DETOUR_CACHE_NO_STORE;
		return DETOUR_OK;
	}
	secs = detour_parse_duration(v, n);
	if (secs == 0)
		return perr(pc, v, "cache=%s is a zero lifetime: use cache=no-store",
		            show(b, v, n));
	if (secs < 0) {
		size_t i = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9')
			i++;
		if (i > 0 && (i == n || i + 1 == n) && (i == n || strchr("smhdw", v[i])))
			return perr(pc, v, "cache lifetime \"%s\" is over 10 years", show(b, v, n));
		return perr(pc, v,
		            "expected no-store or a duration (30s, 10m, 1h, 7d, 2w or seconds) for "
		            "cache=, found \"%s\"",
		            show(b, v, n));
	}
	r->cache = (int32_t)secs;
	return DETOUR_OK;
}

static detour_err opt_id(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	if (n == 0)
		return perr(pc, v, "expected a name after id=");
	for (size_t i = 0; i < n; i++) {
		if (!kis(v[i], K_TCHAR))
			return perr(pc, v + i,
			            "invalid character '%c' in id= (letters, digits and "
			            "!#$%%&'*+-.^_`|~)",
			            v[i]);
	}
	v[n] = '\0';
	r->id = v;
	r->id_len = (uint16_t)n;
	r->flags |= DETOUR_RULE_ID_SET;
	return DETOUR_OK;
}

static void keep_cb(void *arg, void *code)
{
	struct pctx *pc = arg;

	if (!keep_code(pc->rs, code))
		pc->lx->oom = true;
}

/* A condition option: parsed by cond.c into the line's list. */
static detour_err cond_opt(struct pctx *pc, unsigned kind, char *v, size_t n)
{
	struct lineext *lx = pc->lx;
	size_t at;
	const char *msg;

	if (lx->nconds == MAX_CONDS)
		return perr(pc, pc->opt_start, "more than %d conditions on one rule", MAX_CONDS);
	struct detour_cond *c = &lx->conds[lx->nconds];
	msg = detour_cond_parse(c, kind, v, n, &pc->rs->arena, keep_cb, pc, &at);
	if (lx->oom)
		return DETOUR_ENOMEM;
	if (msg)
		return perr(pc, v + at, "%s", msg);
	c->col = (uint16_t)(pc->opt_start - pc->ls + 1);
	c->text.p = pc->opt_start;
	c->text.len = (size_t)(v + n - pc->opt_start);
	lx->nconds++;
	lx->used = true;
	if (kind != DETOUR_COND_METHOD)
		lx->x.flags |= DETOUR_EXT_PRIVATE; /* the answer depends on who asks */
	return DETOUR_OK;
}

static detour_err opt_method(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return cond_opt(pc, DETOUR_COND_METHOD, v, n);
}

static detour_err opt_if_header(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return cond_opt(pc, DETOUR_COND_HEADER, v, n);
}

static detour_err opt_if_cookie(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return cond_opt(pc, DETOUR_COND_COOKIE, v, n);
}

static detour_err opt_if_query(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return cond_opt(pc, DETOUR_COND_QUERY, v, n);
}

static detour_err opt_if_ip(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return cond_opt(pc, DETOUR_COND_IP, v, n);
}

static detour_err opt_if_lang(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	return cond_opt(pc, DETOUR_COND_LANG, v, n);
}

static detour_err time_opt(struct pctx *pc, char *v, size_t n, int64_t *out)
{
	char b[64];

	if (detour_parse_time(v, n, out) != 0)
		return perr(pc, v,
		            "expected an RFC 3339 time with an offset (2026-11-01T09:00:00+01:00, "
		            "...Z) or a date (2026-11-01, meaning 00:00 UTC), found \"%s\"",
		            show(b, v, n));
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
		return perr(pc, v + at, "%s", msg);
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
		return perr(pc, v + at, "%s", msg);
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
		return perr(pc, v, "expected a time zone name (tz=Europe/Paris, tz=UTC)");
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
			return perr(pc, v, "time zone \"%s\": %s", name, d.msg);
		if (rs->ntzs == rs->tzs_cap) {
			size_t cap = rs->tzs_cap ? rs->tzs_cap * 2 : 4;
			struct detour_tz **nt = realloc(rs->tzs, cap * sizeof(*nt));
			if (nt == NULL) {
				detour_tz_free(tz);
				return DETOUR_ENOMEM;
			}
			rs->tzs = nt;
			rs->tzs_cap = cap;
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
		return perr(pc, v, "expected a weight from 1 to 1000000, found \"%s\"",
		            show(b, v, n));
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
		return perr(pc, v, "expected cookie, ip or none for sticky=, found \"%s\"",
		            show(b, v, n));
	pc->lx->x.sticky_set = true;
	pc->lx->sticky_at = v;
	pc->lx->used = true;
	return DETOUR_OK;
}

static detour_err opt_health(struct pctx *pc, struct detour_rule *r, char *v, size_t n)
{
	(void)r;
	if (n == 0 || v[0] != '/' || (n >= 2 && v[1] == '/'))
		return perr(pc, v, "expected a path for health= (health=/ping)");
	for (size_t i = 0; i < n; i++)
		if (!kis(v[i], K_URI) || v[i] == '#')
			return perr(pc, v + i, "invalid character '%c' in the health path", v[i]);
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
		return perr(pc, v, "expected seconds from 0 to 86400 for delay=, found \"%s\"",
		            show(b, v, n));
	for (size_t i = 0; i < n; i++)
		d = d * 10 + (uint32_t)(v[i] - '0');
	if (d > 86400)
		return perr(pc, v, "expected seconds from 0 to 86400 for delay=, found \"%s\"",
		            show(b, v, n));
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
		return perr(pc, v, "expected insensitive or sensitive for case=, found \"%s\"",
		            show(b, v, n));
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
		return perr(pc, v, "expected yes or no for private=, found \"%s\"", show(b, v, n));
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
			return perr(pc, v + i, "expected host names separated by ',' (at most 64)");
		detour_err err = check_host(pc, v + i, e - i, v);
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
} options[] = {
        {"query", opt_query, false},
        {"cache", opt_cache, false},
        {"id", opt_id, false},
        {"method", opt_method, false},
        {"if-header", opt_if_header, true},
        {"if-cookie", opt_if_cookie, true},
        {"if-query", opt_if_query, true},
        {"if-ip", opt_if_ip, true},
        {"if-lang", opt_if_lang, true},
        {"from", opt_from, false},
        {"until", opt_until, false},
        {"days", opt_days, false},
        {"hours", opt_hours, false},
        {"tz", opt_tz, false},
        {"weight", opt_weight, false},
        {"sticky", opt_sticky, false},
        {"health", opt_health, false},
        {"delay", opt_delay, false},
        {"case", opt_case, false},
        {"private", opt_private, false},
        {"allow-hosts", opt_allow_hosts, false},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

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

/* ------------------------------------------------------------- extensions */

/* "@slash strict|either": the table-wide trailing-slash policy. It must come
 * before the first rule (it changes how exact rules are indexed), and every
 * file that sets it must agree. */
static detour_err directive(struct pctx *pc, struct field *f, unsigned nf)
{
	char b[64];
	struct detour_ruleset *rs = pc->rs;

	if (!(f[0].n == 6 && memcmp(f[0].p, "@slash", 6) == 0))
		return perr(pc, f[0].p, "unknown directive \"%s\" (known: @slash)",
		            show(b, f[0].p, f[0].n));
	if (nf != 2)
		return perr(pc, nf < 2 ? f[0].p + f[0].n : f[2].p,
		            "expected \"@slash strict\" or \"@slash either\"");
	uint8_t v;
	if (f[1].n == 6 && memcmp(f[1].p, "strict", 6) == 0)
		v = DETOUR_SLASH_STRICT;
	else if (f[1].n == 6 && memcmp(f[1].p, "either", 6) == 0)
		v = DETOUR_SLASH_EITHER;
	else
		return perr(pc, f[1].p, "expected strict or either after @slash, found \"%s\"",
		            show(b, f[1].p, f[1].n));
	if (rs->slash_set && rs->slash != v)
		return perr(pc, f[1].p, "@slash %s contradicts an earlier @slash %s",
		            v == DETOUR_SLASH_STRICT ? "strict" : "either",
		            v == DETOUR_SLASH_STRICT ? "either" : "strict");
	if (!rs->slash_set && rs->n > 0)
		return perr(pc, f[0].p, "@slash must come before the first rule");
	rs->slash = v;
	rs->slash_set = true;
	return DETOUR_OK;
}

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
static size_t ci_pattern(const struct detour_rule *r, enum detour_slash slash, char *o)
{
	const char *p = r->path;
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

/* Compiles the source as a regex (a "~" source, or case=insensitive). */
static detour_err compile_source(struct pctx *pc, struct detour_rule *r, struct srcinfo *si)
{
	struct lineext *lx = pc->lx;
	struct detour_arena *a = &pc->rs->arena;
	const char *pat = r->path;
	size_t n = r->path_len, eo;
	char msg[200];

	if (!lx->regex) {
		pat = pc->rs->scratch;
		n = ci_pattern(r, (enum detour_slash)pc->rs->slash, pc->rs->scratch);
	}
	void *re = detour_re_compile(pat, n, lx->case_i, &eo, msg, sizeof(msg));
	if (re == NULL) {
		if (lx->regex)
			return perr(pc, r->path + (eo < n ? eo : n), "invalid regex: %s", msg);
		return perr(pc, r->path,
		            "case=insensitive: this source cannot be matched without "
		            "case (%s)",
		            msg);
	}
	if (!keep_code(pc->rs, re))
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
static detour_err check_ext(struct pctx *pc, struct detour_rule *r, bool dash,
                            const struct field *tf)
{
	struct lineext *lx = pc->lx;
	struct detour_rule_ext *x = &lx->x;

	if (lx->html && dash)
		return perr(pc, tf->p, "status html needs a target to send the visitor to");
	if (lx->delay_at && !lx->html)
		return perr(pc, lx->delay_at - 6, "delay= only applies to status html");
	if (x->weight && dash)
		return perr(pc, tf->p, "a weighted rule needs a target ('-' cannot be a variant)");
	if (lx->sticky_at && !x->weight)
		return perr(pc, lx->sticky_at - 7,
		            "sticky= belongs to a weighted group: add weight=N to the rule");
	if (lx->health_at && !x->weight)
		return perr(pc, lx->health_at - 7,
		            "health= belongs to a weighted group: add weight=N to the rule");
	if (lx->health_at && !(prefix_ci(r->target, r->target_len, "http://") ||
	                       prefix_ci(r->target, r->target_len, "https://")))
		return perr(pc, tf->p,
		            "health= probes the target's host: the target must be an http(s) URL");
	if (lx->tz_at && !lx->days_at)
		return perr(pc, lx->tz_at - 3, "tz= applies to days= and hours=: add one of them");
	if (x->window.from != DETOUR_TIME_NONE_FROM && x->window.from >= x->window.until)
		return perr(pc, lx->from_at,
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
			dup = e - j == nl && strncasecmp(vary + j, nm, nl) == 0;
			j = e + 2;
		}
		if (dup)
			continue;
		if (vn + nl + 2 >= sizeof(vary))
			return perr(pc, c->text.p, "too many header names to list in Vary");
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
static detour_err add_ext(struct pctx *pc, struct detour_rule *r)
{
	struct detour_ruleset *rs = pc->rs;
	struct lineext *lx = pc->lx;

	if (rs->nexts == rs->exts_cap) {
		size_t cap = rs->exts_cap ? rs->exts_cap * 2 : 16;
		struct detour_rule_ext *ne = realloc(rs->exts, cap * sizeof(*ne));
		if (ne == NULL)
			return DETOUR_ENOMEM;
		rs->exts = ne;
		rs->exts_cap = cap;
	}
	if (lx->nconds) {
		struct detour_cond *c = detour_arena_alloc(&rs->arena, lx->nconds * sizeof(*c), 8);
		if (c == NULL)
			return DETOUR_ENOMEM;
		memcpy(c, lx->conds, lx->nconds * sizeof(*c));
		lx->x.conds = c;
		lx->x.nconds = (uint16_t)lx->nconds;
	}
	lx->x.rule = r->index;
	rs->exts[rs->nexts++] = lx->x;
	r->flags |= DETOUR_RULE_EXT;
	return DETOUR_OK;
}

/* ------------------------------------------------------------------ lines */

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
			return perr(pc, p, "too many fields (at most %d)", MAX_FIELDS);
		f[nf].p = p;
		while (p < end && (unsigned char)*p > ' ')
			p++;
		f[nf].n = (size_t)(p - f[nf].p);
		nf++;
		if (p < end && *p != ' ' && *p != '\t' && *p != '\n' &&
		    !(*p == '\r' && (p + 1 == end || p[1] == '\n')) &&
		    p - ls < DETOUR_RULE_LINE_MAX)
			return perr(pc, p, "unexpected control character 0x%02X",
			            (unsigned char)*p);
	}
	if (p - ls >= DETOUR_RULE_LINE_MAX || le - ls > DETOUR_RULE_LINE_MAX) {
		char *nl = memchr(ls, '\n', (size_t)(end - ls));
		le = nl ? nl : end;
		if (le > ls && le[-1] == '\r')
			le--;
		if (le - ls > DETOUR_RULE_LINE_MAX)
			return perr(pc, ls + DETOUR_RULE_LINE_MAX, "line is longer than %d bytes",
			            DETOUR_RULE_LINE_MAX);
	}
	if (nf == 0)
		return DETOUR_OK;
	if (f[0].p[0] == '@')
		return directive(pc, f, nf);

	struct lineext lx;
	memset(&lx, 0, offsetof(struct lineext, conds));
	lx.x.window.from = DETOUR_TIME_NONE_FROM;
	lx.x.window.until = DETOUR_TIME_NONE_UNTIL;
	lx.x.window.hour_from = lx.x.window.hour_to = -1;
	pc->lx = &lx;

	struct detour_rule r = {
	        .host = empty_str,
	        .target = empty_str,
	        .id = empty_str,
	        .line = pc->line,
	        .file = (uint16_t)pc->file,
	        .status = 307,
	        .cache = DETOUR_CACHE_UNSET,
	        .query = DETOUR_QUERY_KEEP,
	};
	struct srcinfo si;

	si.ncaps = 0; /* the arrays are filled as far as ncaps says */
	si.splat = false;
	si.regex = false;
	si.ngroups = 0;
	detour_err e;

	if (nf == 1)
		return perr(pc, f[0].p + f[0].n,
		            "expected a target after the source: a path, an http(s) URL, or '-' "
		            "(with status 410)");
	e = parse_source(pc, &f[0], &r, &si);
	if (e)
		return e;

	bool dash = f[1].n == 1 && f[1].p[0] == '-';

	unsigned i = 2;
	bool have_status = false;
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
			lx.html = true;
			lx.used = true;
			lx.x.flags |= DETOUR_EXT_HTML;
		}
		if (!all_digits_(s, n))
			return perr(pc, s,
			            "expected a status (301, 302, 303, 307, 308, 410, temporary, "
			            "permanent, html) or an option NAME=VALUE, found \"%s\"",
			            show(b, s, n));
		unsigned st =
		        n == 3 ? (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'))
		               : 0;
		if (st != 301 && st != 302 && st != 303 && st != 307 && st != 308 && st != 410 &&
		    !(st == 200 && lx.html))
			return perr(
			        pc, s,
			        "unsupported status %s: expected 301, 302, 303, 307, 308 or 410",
			        show(b, s, n));
		r.status = (uint16_t)st;
		have_status = true;
		i = 3;
	}

	unsigned seen_col[NOPTIONS] = {0};
	for (; i < nf; i++) {
		char *s = f[i].p;
		size_t n = f[i].n;
		char *eq = memchr(s, '=', n);
		if (eq == NULL) {
			if (all_digits_(s, n) && have_status)
				return perr(pc, s, "a second status \"%s\" (the status is %u)",
				            show(b, s, n), (unsigned)r.status);
			if (all_digits_(s, n))
				return perr(
				        pc, s,
				        "the status must come right after the target, found \"%s\"",
				        show(b, s, n));
			return perr(pc, s, "expected an option NAME=VALUE, found \"%s\"",
			            show(b, s, n));
		}
		size_t nn = (size_t)(eq - s);
		size_t k = 0;
		while (k < NOPTIONS &&
		       !(strlen(options[k].name) == nn && memcmp(options[k].name, s, nn) == 0))
			k++;
		if (k == NOPTIONS) {
			char known[320];
			if (nn == 0)
				return perr(pc, s, "expected an option NAME=VALUE, found \"%s\"",
				            show(b, s, n));
			return perr(pc, s, "unknown option \"%s\" (known options: %s)",
			            show(b, s, nn), known_options(known, sizeof(known)));
		}
		if (seen_col[k] && !options[k].repeat)
			return perr(pc, s, "option \"%s\" given twice (first at column %u)",
			            options[k].name, seen_col[k]);
		seen_col[k] = (unsigned)(s - ls) + 1;
		pc->opt_start = s;
		e = options[k].parse(pc, &r, eq + 1, (size_t)(s + n - eq - 1));
		if (e)
			return e;
	}

	if (lx.regex || lx.case_i) {
		e = compile_source(pc, &r, &si);
		if (e)
			return e;
	}
	if (!dash) {
		e = parse_target(pc, &f[1], &r, &si);
		if (e)
			return e;
	}
	if (lx.used) {
		e = check_ext(pc, &r, dash, &f[1]);
		if (e)
			return e;
	}

	if (dash && r.status != 410) {
		if (have_status)
			return perr(pc, f[1].p, "'-' (no target) needs status 410, found %u",
			            (unsigned)r.status);
		return perr(pc, f[1].p, "'-' (no target) needs status 410");
	}
	if (!dash && r.status == 410)
		return perr(pc, f[1].p,
		            "a 410 rule takes '-' as its target (there is nothing to redirect "
		            "to), found \"%s\"",
		            show(b, r.target, r.target_len));

	struct detour_ruleset *rs = pc->rs;
	uint32_t *slot = NULL;
	if (r.flags & DETOUR_RULE_ID_SET) {
		if (rs->ids_n * 2 >= rs->ids_cap && id_grow(rs))
			return DETOUR_ENOMEM;
		slot = id_slot(rs, r.id, r.id_len);
		if (*slot) {
			const struct detour_rule *o = &rs->rules[*slot - 1];
			return perr(pc, r.id, "duplicate id \"%s\": already used at %s:%u",
			            show(b, r.id, r.id_len), rs->files[o->file], (unsigned)o->line);
		}
	}
	e = reserve_rules(rs, 1);
	if (e)
		return e;
	r.index = (uint32_t)rs->n;
	if (lx.used) {
		e = add_ext(pc, &r);
		if (e)
			return e;
	}
	rs->rules[rs->n++] = r;
	if (slot) {
		*slot = r.index + 1;
		rs->ids_n++;
	}
	return DETOUR_OK;
}

static detour_err ensure_scratch(struct detour_ruleset *rs)
{
	if (rs->scratch == NULL)
		rs->scratch = detour_arena_alloc(&rs->arena, SCRATCH, 1);
	return rs->scratch ? DETOUR_OK : DETOUR_ENOMEM;
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
	detour_err e;

	if (file_index(rs, name, &pc.file) || ensure_scratch(rs))
		return nomem(d, name);
	/* A UTF-8 byte order mark is not part of the first line. */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	for (pc.line = 1; p < end; pc.line++) {
		char *next;
		e = parse_line(&pc, p, end, &next);
		if (e == DETOUR_ETOOBIG) {
			detour_diag_set(d, name, pc.line, 0, "too many rules");
			return e;
		}
		if (e == DETOUR_ENOMEM)
			return nomem(d, name);
		if (e)
			return e;
		p = next;
	}
	/* Give back what doubling over-reserved (a failure keeps it all). */
	if (rs->rules && rs->cap > rs->n + 64)
		(void)resize_rules(rs, rs->n + 1);
	return DETOUR_OK;
}

detour_err detour_ruleset_load_buf(struct detour_ruleset *rs, const char *name, const char *buf,
                                   size_t len, struct detour_diag *d)
{
	char *copy = detour_arena_big_new(len + 1);

	if (copy == NULL)
		return nomem(d, name);
	detour_arena_big_adopt(&rs->arena, copy);
	if (len)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	return parse_buffer(rs, name, copy, len, d);
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
	detour_arena_big_adopt(&rs->arena, buf);
	return parse_buffer(rs, path, buf, len, d);
}

detour_err detour_ruleset_add_line(struct detour_ruleset *rs, const char *name, unsigned line,
                                   const char *text, size_t len, struct detour_diag *d)
{
	struct pctx pc = {.rs = rs, .fname = name, .line = line, .d = d};
	size_t n0 = rs->n;
	char *copy;
	detour_err e;

	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	if (file_index(rs, name, &pc.file) || ensure_scratch(rs))
		return nomem(d, name);
	copy = detour_arena_strndup(&rs->arena, text, len);
	if (copy == NULL)
		return nomem(d, name);
	pc.ls = copy;
	for (size_t i = 0; i < len; i++) {
		if (copy[i] == '\n' || copy[i] == '\r')
			return perr(&pc, copy + i, "expected one line, found a line break");
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
		return perr(&pc, copy, "expected a rule, found an empty line or a comment");
	return DETOUR_OK;
}
