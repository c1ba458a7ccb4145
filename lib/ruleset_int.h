/* detour (private to lib/): the inside of a ruleset, shared by the rules-file
 * parser (rulefile.c, rulesrc.c and ruleopts.c, which fill it) and table.c
 * (which takes it over and may rewrite a rule's host pointer to an interned
 * copy of the same string); then the parser's own shared part. */
#ifndef DETOUR_RULESET_INT_H
#define DETOUR_RULESET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "detour/rulefile.h"
#include "detour/table.h"

struct detour_ruleset {
	struct detour_arena arena; /* every string of every rule, and the file names */
	struct detour_rule *rules; /* malloc'd array, rules[i].index == i */
	size_t n, cap;
	const char **files; /* malloc'd array of names in the arena */
	unsigned nfiles;
	size_t files_cap;
	uint32_t *ids; /* open addressing over rules with id=: rule index + 1, 0 = empty */
	size_t ids_cap, ids_n;
	char *scratch; /* DETOUR_RULE_LINE_MAX bytes for path normalisation (in the arena) */

	/* Rule extensions (rulefile.h), in rule order: exts[i].rule ascends.
	 * malloc'd; the arrays they point to live in the arena. */
	struct detour_rule_ext *exts;
	size_t nexts, exts_cap;
	void **codes; /* every pcre2 code compiled for the rules, freed with the ruleset */
	size_t ncodes, codes_cap;
	struct detour_tz **tzs; /* loaded zones, one per name */
	size_t ntzs, tzs_cap;
	uint8_t slash;  /* enum detour_slash */
	bool slash_set; /* an "@slash" line was read */
};

/* ------------------------------------------------------------------ parser
 * Shared by the three parts of the rules-file parser only: rulefile.c (the
 * ruleset API, files and lines), rulesrc.c (SOURCE and TARGET) and
 * ruleopts.c (STATUS, options, extensions). */

#define DETOUR_RF_SCRATCH   (3 * DETOUR_RULE_LINE_MAX) /* normalising may triple a path */
#define DETOUR_RF_MAX_CONDS 32                         /* conditions on one rule */

/* Character classes of the rule syntax. */
enum {
	K_NAME0 = 1 << 0, /* [A-Za-z_]: first byte of a placeholder name */
	K_NAME = 1 << 1,  /* [A-Za-z0-9_] */
	K_HOST = 1 << 2,  /* reg-name bytes accepted in a source host */
	K_TCHAR = 1 << 3, /* RFC 9110 §5.6.2 tchar: the bytes of an id */
	K_URI = 1 << 4,   /* any byte RFC 3986 allows somewhere in a URI reference */
	K_HEX = 1 << 5,
};

extern const unsigned char detour_rf_kcls[256];

static inline bool kis(char c, unsigned k)
{
	return (detour_rf_kcls[(unsigned char)c] & k) != 0;
}

extern const char detour_rf_empty[]; /* "": the host, target or id of a rule without one */

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
	/* last: not cleared per line (nconds says) */
	struct detour_cond conds[DETOUR_RF_MAX_CONDS];
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

/* Fills the diag with the current line, the column of at (1-based), and the
 * message. Returns DETOUR_EINVAL. */
detour_err detour_rf_perr(struct pctx *pc, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* p[0..n) for a message: at most 60 bytes, "..." when cut. Returns buf. */
const char *detour_rf_show(char buf[64], const char *p, size_t n);

/* Whether s[0..n) starts with pre (lower case), ignoring ASCII case. */
bool detour_rf_prefix_ci(const char *s, size_t n, const char *pre);

/* Checks the host name h[0..n) of a source (or of allow-hosts=; fs is the
 * field, for messages). Returns DETOUR_OK or DETOUR_EINVAL (diag filled). */
detour_err detour_rf_check_host(struct pctx *pc, const char *h, size_t n, const char *fs);

/* Keeps a compiled regex so that the ruleset frees it. On failure to grow
 * the list the code is freed at once and false returned. */
bool detour_rf_keep_code(struct detour_ruleset *rs, void *code);

/* rulesrc.c: SOURCE into r and si, TARGET into r (both in place). */
detour_err detour_rf_parse_source(struct pctx *pc, struct field *f, struct detour_rule *r,
                                  struct srcinfo *si);
detour_err detour_rf_parse_target(struct pctx *pc, struct field *f, struct detour_rule *r,
                                  const struct srcinfo *si);

/* ruleopts.c: fields f[2..nf) (status, options) into r and pc->lx. */
detour_err detour_rf_options(struct pctx *pc, struct detour_rule *r, struct field *f, unsigned nf,
                             bool *have_status);
/* Compiles the source as a regex (a "~" source, or case=insensitive). */
detour_err detour_rf_compile_source(struct pctx *pc, struct detour_rule *r, struct srcinfo *si);
/* Checks the options against each other and the target (tf). */
detour_err detour_rf_check_ext(struct pctx *pc, struct detour_rule *r, bool dash,
                               const struct field *tf);
/* Appends the line's extension for rule r (index set) and flags r. */
detour_err detour_rf_add_ext(struct pctx *pc, struct detour_rule *r);

#endif
