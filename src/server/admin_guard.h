/* detour server: the admin API's defence against web pages (issue 11): the
 * Host must name the listener, an Origin must be the listener's own, a body
 * must be application/json. Runs on the admin thread (admin_data.h); see
 * docs/admin.md ("Browsers") and docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_GUARD_H
#define DETOUR_ADMIN_GUARD_H

#include "admin_data.h"
#include "detour/config.h"

/* Fills g from the admin listener l (borrowed for the call). */
void admin_guard_init(struct admin_guard *g, const struct detour_listen *l);

/* Checks r before anything else, the token included. Returns 0 when r may
 * go on, or the status to refuse it with and its message in msg:
 *   421 a Host that is neither the listener's address (any IP literal for
 *       a wildcard listener) nor localhost, with the listener's port
 *   403 an Origin that is not the listener's own (scheme, host, port)
 *   415 a body (Content-Length over 0) not labelled application/json */
int admin_guard_check(const struct admin_guard *g, const struct detour_request *r, char *msg,
                      size_t cap);

#endif
