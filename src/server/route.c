/* detour server: the routing cascade, see route.h. */
#include "route.h"
#include "maint.h"

enum route route_match(const struct view *v, const struct detour_match_req *q,
                       struct detour_match *m, const char **extra, size_t *extra_len)
{
	if (v->maint && maint_match(v->maint, q, q->peer, m)) {
		*extra = v->maint->extra;
		*extra_len = v->maint->extra_len;
		return ROUTE_MAINT;
	}
	if (v->api && v->api->table && detour_table_match(v->api->table, q, m))
		return ROUTE_API;
	if (v->file && v->file->table && detour_table_match(v->file->table, q, m))
		return ROUTE_FILE;
	return ROUTE_NONE;
}

const struct served *route_served(const struct view *v, enum route r)
{
	return r == ROUTE_API ? v->api : r == ROUTE_FILE ? v->file : NULL;
}
