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
 * Pure: no socket, no clock, no allocation; it reads the snapshots of one
 * loop iteration (publish.h) and nothing else, so it is unit-tested alone
 * (tests/unit/test_route.c). Inline: it runs once per request, and as a call
 * it cost about 40 instructions of the ~1,850 a pipelined request takes
 * (callgrind, bench/RESULTS.md). */
#ifndef DETOUR_ROUTE_H
#define DETOUR_ROUTE_H

#include <stddef.h>

#include "detour/table.h"
#include "detour/table_match.h"
#include "maint.h"
#include "publish.h"

enum route {
	ROUTE_NONE = 0, /* no rule: 404 */
	ROUTE_MAINT,    /* the maintenance rule, or its page */
	ROUTE_API,      /* a rule of v->api */
	ROUTE_FILE,     /* a rule of v->file */
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

/* The table whose counters a ROUTE_API or ROUTE_FILE answer counts against;
 * NULL for the others (maintenance is not counted per rule). */
static inline const struct served *route_served(const struct view *v, enum route r)
{
	return r == ROUTE_API ? v->api : r == ROUTE_FILE ? v->file : NULL;
}

#endif
