/* detour: the rules file. One rule per line:
 *     SOURCE TARGET [STATUS] [OPTION=VALUE ...]
 * '#' starts a comment (at the start of a line or after white space).
 * A ruleset is the ordered list of rules read from one or more files; the
 * position of a rule in it is its precedence (first match wins). Strings of
 * every rule live in the ruleset's own arena; a rule is valid as long as its
 * ruleset (or the table that took it over) lives. See docs/rules.md. */
#ifndef DETOUR_RULEFILE_H
#define DETOUR_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"

enum detour_src_kind {
	DETOUR_SRC_EXACT = 0, /* "/old-page" */
	DETOUR_SRC_SPLAT,     /* "/blog/ *" (a splat): the path field holds "/blog/" */
	DETOUR_SRC_PATTERN,   /* "/docs/:version/:page", optionally ending in a splat */
};

enum detour_scheme {
	DETOUR_SCHEME_ANY = 0, /* no scheme, or "//host" */
	DETOUR_SCHEME_HTTP,
	DETOUR_SCHEME_HTTPS,
};

enum detour_query_mode {
	DETOUR_QUERY_KEEP = 0, /* default: request query appended ("&" when both have one) */
	DETOUR_QUERY_DROP,     /* only the target's own query */
	DETOUR_QUERY_MERGE,    /* request params, the target's keys replacing same-named ones */
};

#define DETOUR_CACHE_UNSET (-1) /* no cache= option: no cache headers at all */
#define DETOUR_CACHE_NO_STORE 0 /* cache=no-store */

#define DETOUR_RULE_HOST_WILDCARD 0x01u /* host is "*.example.com" (host holds ".example.com") */
#define DETOUR_RULE_TARGET_VARS 0x02u   /* target holds :splat, :name or $N to substitute */
#define DETOUR_RULE_ID_SET 0x04u        /* id= was given (otherwise the id is "file:line") */
#define DETOUR_RULE_SPLAT 0x08u         /* the source ends in a splat (SPLAT, or PATTERN + tail) */

#define DETOUR_RULE_LINE_MAX 65536 /* bytes in a line, line ending excluded; longer is an error */

/* One rule. All strings are NUL-terminated and live in the ruleset arena. */
struct detour_rule {
	const char *host;   /* lower case, no port; "" for any host */
	const char *path;   /* normalised source path (detour_url_normalize_path) */
	const char *target; /* target template as written; "" for a 410 without target ('-') */
	const char *id;     /* id= value, or "" */
	uint16_t host_len, path_len, target_len, id_len;
	uint32_t index; /* position in the ruleset */
	uint32_t line;  /* line in its file, 1-based */
	uint16_t file;  /* index of its file, see detour_ruleset_file() */
	uint16_t status; /* 301, 302, 303, 307, 308 or 410 */
	int32_t cache;   /* DETOUR_CACHE_UNSET, DETOUR_CACHE_NO_STORE, or max-age seconds */
	uint8_t kind;    /* enum detour_src_kind */
	uint8_t scheme;  /* enum detour_scheme */
	uint8_t query;   /* enum detour_query_mode */
	uint8_t flags;   /* DETOUR_RULE_* */
	uint32_t chain;  /* private to the table: next rule index + 1 with the same key */
};

struct detour_ruleset;

/* Returns a new empty ruleset, or NULL when out of memory. */
struct detour_ruleset *detour_ruleset_new(void);

/* Frees rs and every rule in it. NULL is a no-op. */
void detour_ruleset_free(struct detour_ruleset *rs);

/* Reads the file at path and appends its rules. On any error returns it
 * (DETOUR_EIO with errno's text, DETOUR_EINVAL for a syntax error) and fills
 * d with "file:line:col" and what was expected; the ruleset must then be
 * discarded by the caller (a reload keeps the old table). */
detour_err detour_ruleset_load_file(struct detour_ruleset *rs, const char *path,
                                    struct detour_diag *d);

/* As detour_ruleset_load_file, from memory; name is copied and used in
 * diagnostics and as the rules' file name. */
detour_err detour_ruleset_load_buf(struct detour_ruleset *rs, const char *name, const char *buf,
                                   size_t len, struct detour_diag *d);

/* Parses one rule line (no comment handling beyond a trailing '#') and
 * appends it as if read from name:line. Used by the admin API and tests. */
detour_err detour_ruleset_add_line(struct detour_ruleset *rs, const char *name, unsigned line,
                                   const char *text, size_t len, struct detour_diag *d);

size_t detour_ruleset_count(const struct detour_ruleset *rs);

/* Rule i (0 <= i < count); borrowed. */
const struct detour_rule *detour_ruleset_get(const struct detour_ruleset *rs, size_t i);

/* The name of file index f; borrowed. NULL when f is out of range. */
const char *detour_ruleset_file(const struct detour_ruleset *rs, unsigned f);

/* Writes the rule's id into buf: its id= value, else "file:line". Returns buf. */
const char *detour_rule_id(const struct detour_ruleset *rs, const struct detour_rule *r, char *buf,
                           size_t cap);

/* Parses a lifetime "30s", "10m", "1h", "7d", "2w" or a plain number of seconds. Returns
 * seconds, or -1 when malformed or over 10 years. */
int64_t detour_parse_duration(const char *s, size_t len);

#endif
