/* detour (private to lib/): the leaf of the rules-file parser (rulelex.c),
 * below rulefile.c (the ruleset API, files and lines), rulesrc.c (SOURCE and
 * TARGET) and ruleopts.c (STATUS, options, extensions): the types the three
 * share while parsing a line, and the helpers they all call. Declares only
 * rulelex.c's functions; rulelex.c calls none of the three. */
#ifndef DETOUR_RULELEX_H
#define DETOUR_RULELEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"
#include "detour/rule.h"
#include "ruleset_int.h"

/* The scratch a line needs at most: normalising may triple a path, and the
 * caseless pattern of a normalised path (ci_pattern, ruleopts.c) doubles
 * its literal bytes (a backslash each) and writes 12 bytes for a 3-byte
 * placeholder "/:x", plus 21 of anchors and splat group. So a line of L
 * bytes needs at most 6 * L + DETOUR_RF_SCRATCH_SLACK, and no line (at most
 * DETOUR_RULE_LINE_MAX bytes, its normalised path at most UINT16_MAX)
 * needs more than DETOUR_RF_SCRATCH. */
#define DETOUR_RF_SCRATCH       (3 * DETOUR_RULE_LINE_MAX)
#define DETOUR_RF_SCRATCH_SLACK 64
#define DETOUR_RF_MAX_CONDS     32 /* conditions on one rule */

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
	/* The current rule's host and id= (kept beside the rule, ruleside.h). */
	const char *host; /* lower case; ".example.com" for "*.example.com" */
	size_t host_len;
	const char *id; /* NULL when no id= */
	size_t id_len;
	/* The current rule's strings until it is appended (the rule itself
	 * holds an offset into the ruleset's string block) and its cache=. */
	const char *path, *target;
	int32_t cache;
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

/* Checks the host name h[0..n) of a source (or of allow-hosts=; fs is the
 * field, for messages). Returns DETOUR_OK or DETOUR_EINVAL (diag filled). */
detour_err detour_rf_check_host(struct pctx *pc, const char *h, size_t n, const char *fs);

/* Keeps a compiled regex so that the ruleset frees it. On failure to grow
 * the list the code is freed at once and false returned. */
bool detour_rf_keep_code(struct detour_ruleset *rs, void *code);

#endif
