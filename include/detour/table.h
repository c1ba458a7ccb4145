/* detour: the compiled rule table. Built once from a ruleset, immutable
 * afterwards, shared read-only by every worker thread; a reload builds a new
 * one and swaps a pointer. Matching allocates nothing and returns the rule
 * that comes first in file order among all rules that match, whatever index
 * found it (exact hash, splat prefixes, placeholder patterns). */
#ifndef DETOUR_TABLE_H
#define DETOUR_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/common.h"
#include "detour/http1.h"
#include "detour/rulefile.h"

#define DETOUR_MAX_CAPTURES 16

struct detour_table;

/* What is matched. host is the Host header as received (port, case and a
 * trailing dot are handled by the table) or NULL; path must already be
 * normalised with detour_url_normalize_path(). req is NULL in explain and
 * lint; later conditions read headers from it. */
struct detour_match_req {
	const char *host;
	size_t host_len;
	bool https;
	const char *path;
	size_t path_len;
	const char *query; /* without '?'; NULL when the request has none */
	size_t query_len;
	const struct detour_request *req;
};

/* The result: borrowed pointers into the table and into the match_req. */
struct detour_match {
	const struct detour_rule *rule;
	struct detour_slice splat; /* the "*" part, p == NULL if the rule has none */
	unsigned ncaps;            /* :name placeholders, in source order */
	struct detour_slice names[DETOUR_MAX_CAPTURES]; /* names without ':' (point into rule->path) */
	struct detour_slice caps[DETOUR_MAX_CAPTURES];
};

/* Compiles rs into a table. Takes ownership of rs in every case (it is freed
 * on failure). Returns DETOUR_OK and *out, or an error with d filled. */
detour_err detour_table_build(struct detour_ruleset *rs, struct detour_table **out,
                              struct detour_diag *d);

/* Frees t and its ruleset. NULL is a no-op. */
void detour_table_free(struct detour_table *t);

/* The ruleset the table was built from; borrowed. */
const struct detour_ruleset *detour_table_rules(const struct detour_table *t);

/* Finds the first rule (in file order) matching q. Returns true and fills m,
 * or false when no rule matches. Thread-safe on a shared table. */
bool detour_table_match(const struct detour_table *t, const struct detour_match_req *q,
                        struct detour_match *m);

#endif
