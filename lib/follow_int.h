/* detour (private to lib/): helpers on a detour_follow_req shared by
 * follow.c (the next request) and follow_hdr.c (what goes on the wire). */
#ifndef DETOUR_FOLLOW_INT_H
#define DETOUR_FOLLOW_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "detour/follow.h"
#include "urlparts.h"

static inline bool method_is(const struct detour_follow_req *r, const char *m)
{
	return !strcmp(r->method, m);
}

static inline bool safe_method(const struct detour_follow_req *r)
{
	return method_is(r, "GET") || method_is(r, "HEAD");
}

/* The user header i's name equals w (case-insensitive). */
static inline bool hdr_is(const struct detour_header *h, const char *w)
{
	return ascii_eq_ci(h->name, h->name_len, w);
}

static inline void set_origin_of(const char *url, size_t len, char *out, size_t cap)
{
	if (detour_origin_of(url, len, out, cap) < 0)
		out[0] = 0;
}

static inline void host_of(const char *url, size_t len, char *out, size_t cap)
{
	struct abs a;
	out[0] = 0;
	if (split_abs(url, len, &a) && a.host.len < cap) {
		memcpy(out, a.host.p, a.host.len);
		out[a.host.len] = 0;
	}
}

#endif
