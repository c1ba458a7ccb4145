/* detour server: which rules answer a request. The cascade of
 * docs/config.md and docs/admin.md, in one place:
 *
 *   1. maintenance, unless the client's address (allow-ip) or the path
 *      (allow-path) is allowed: it answers everything, no-store, with its
 *      redirect or its 503 page (Retry-After on the page only); the page's
 *      own path (a local target with page=) gets the page from everyone;
 *   2. the API rules;
 *   3. the file rules;
 *   4. nothing: 404.
 *
 * With any of hsts, https-redirect, canonical-host or trailing-slash set
 * (v->canon), route_canon wraps the cascade: it folds the canonical URL
 * (detour/canon.h) and the rule that answers it into one hop, and adds the
 * HSTS line to answers to https requests (docs/https.md). Without them the
 * server never calls it: one predictable branch in conn.c.
 *
 * Pure: no socket, no clock, no allocation; it reads the snapshots of one
 * loop iteration (publish.h) and nothing else, so it is unit-tested alone
 * (tests/unit/test_route.c). Inline: it runs once per request, and as a call
 * it cost about 40 instructions of the ~1,850 a pipelined request takes
 * (callgrind, bench/RESULTS.md). */
#ifndef DETOUR_ROUTE_H
#define DETOUR_ROUTE_H

#include <stddef.h>
#include <string.h>

#include "detour/canon.h"
#include "detour/rule.h"
#include "detour/table.h"
#include "detour/table_match.h"
#include "maint.h"
#include "publish.h"

enum route {
	ROUTE_NONE = 0, /* no rule: 404 */
	ROUTE_MAINT,    /* the maintenance rule, or its page */
	ROUTE_API,      /* a rule of v->api */
	ROUTE_FILE,     /* a rule of v->file */
	ROUTE_CANON,    /* no rule: the redirect to the canonical URL (route_canon) */
};

#define ROUTE_TARGET_MAX (DETOUR_RULE_LINE_MAX + 512) /* a target with an origin before it */

/* route_canon's scratch, one per worker: what the answer points into lives
 * here until the next request. */
struct route_hop {
	struct detour_canon_url u;
	struct detour_rule rule; /* the canonical redirect's own rule (no rule answers) */
	char target[DETOUR_CANON_TARGET_MAX]; /* the rebased target, or that redirect's */
};

/* What answers q under the snapshots v. Fills m (but for ROUTE_NONE). For
 * ROUTE_MAINT, *page gets the prepared page when maintenance answers with it
 * (the 503, or the page at its local target); it is left alone otherwise.
 * The client's address is q->peer (NULL: never allowed by address). */
static inline enum route route_match(const struct view *v, const struct detour_match_req *q,
                                     struct detour_match *m, const struct detour_page **page)
{
	if (v->maint) {
		enum maint_answer a = maint_match(v->maint, q, q->peer, m);
		if (a != MAINT_PASS) {
			if (a == MAINT_PAGE)
				*page = &v->maint->page;
			return ROUTE_MAINT;
		}
	}
	if (v->api && v->api->table && detour_table_match(v->api->table, q, m))
		return ROUTE_API;
	if (v->file && v->file->table && detour_table_match(v->file->table, q, m))
		return ROUTE_FILE;
	return ROUTE_NONE;
}

/* route_match for a server with v->canon set. q is a request as received;
 * path_cap is the size of the buffer q->path is in (an added slash goes
 * past it). The cascade answers the canonical URL (scheme, host, slash of
 * canon.h), and q is changed to it:
 *   - nothing to change: the cascade as usual;
 *   - a plain request that https-redirect sends to https is first offered
 *     to the rules as it came (when a table has any rule led by "http://"):
 *     a rule led by "http://" answers it as is;
 *   - a rule answers the canonical URL: its answer, with a path target
 *     rebased on the canonical origin (the rule's status: ONE hop);
 *   - nothing answers it: ROUTE_CANON, a redirect to it (the https-redirect
 *     status, else 308), the request's query kept.
 * Answers to https requests get the HSTS line (RFC 6797 §7.2: never over
 * plain HTTP), maintenance's page included. Returns ROUTE_NONE also when a rebased
 * target would not fit (m->rule NULL: the caller answers 500). */
static __attribute__((unused, noinline)) enum route
route_canon(const struct view *v, struct detour_match_req *q, size_t path_cap,
            struct detour_match *m, struct route_hop *h, const struct detour_page **page,
            const char **extra, size_t *extra_len)
{
	size_t hsts_len;
	const char *hsts = q->https ? detour_canon_hsts(v->canon, &hsts_len) : NULL;
	struct detour_canon_in in = {
	        .https = q->https,
	        .host = q->host,
	        .host_len = q->host_len,
	        .path = (char *)q->path, /* the caller's buffer: see path_cap */
	        .path_len = q->path_len,
	        .path_cap = path_cap,
	};
	enum route r;

	if (!(q->https ? v->canon_https : v->canon_plain) ||
	    detour_canon_apply(v->canon, &in, &h->u) == 0) {
		r = route_match(v, q, m, page);
	} else {
		r = ROUTE_NONE;
		if ((h->u.changed & DETOUR_CANON_SCHEME) &&
		    ((v->file && v->file->http_rules) || (v->api && v->api->http_rules))) {
			/* docs/https.md: an http:// rule is the operator's own
			 * answer to plain requests. */
			r = route_match(v, q, m, page);
			if (!((r == ROUTE_API || r == ROUTE_FILE) &&
			      m->rule->scheme == DETOUR_SCHEME_HTTP)) {
				r = ROUTE_NONE;
				*page = NULL;
			}
		}
		if (r == ROUTE_NONE) {
			q->https = h->u.https;
			q->host = h->u.host;
			q->host_len = h->u.host_len;
			q->path = h->u.path;
			q->path_len = h->u.path_len;
			r = route_match(v, q, m, page);
			if (r == ROUTE_NONE) {
				m->rule = NULL;
				r = ROUTE_CANON;
			}
			detour_canon_answer(&h->u, m, &h->rule, h->target, sizeof(h->target));
		}
	}
	if (hsts) {
		/* The only extra header line (maintenance's Retry-After is part
		 * of its prepared page). */
		*extra = hsts;
		*extra_len = hsts_len;
	}
	return r;
}

/* The table whose counters a ROUTE_API or ROUTE_FILE answer counts against;
 * NULL for the others (maintenance is not counted per rule). */
static inline const struct served *route_served(const struct view *v, enum route r)
{
	return r == ROUTE_API ? v->api : r == ROUTE_FILE ? v->file : NULL;
}

#endif
