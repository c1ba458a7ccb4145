/* detour server: the API rules: the API table's build and publication;
 * GET/POST/DELETE /rules (validated here, made by the admin's store).
 * Runs on the admin thread (admin_data.h); see docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_RULES_H
#define DETOUR_ADMIN_RULES_H

#include "admin_data.h"

/* Builds the API table from rules (those not expired at now) and m. Returns
 * it (the caller owns it), or NULL with err. *next gets the earliest future
 * expiry of a rule or of m (0 = none). */
struct served *admin_build_api(struct server *srv, const struct api_rule *rules, size_t n,
                               const struct maint_state *m, int64_t now, int64_t *next, char *err,
                               size_t cap);

#define ADMIN_BUILD_FAILED (-2)

/* Takes over rules (and m's copy) as the admin's current API state and
 * publishes s (built from them by admin_build_api with next). */
void admin_api_publish(struct admin *a, struct served *s, struct api_rule *rules, size_t n,
                       const struct maint_state *m, int64_t next);

/* An API rule as GET /rules and POST /rules answer it. */
json_t *admin_api_rule_json(const struct api_rule *r);

void admin_get_rules(struct ctx *x);
void admin_post_rules(struct ctx *x);
void admin_delete_rule(struct ctx *x, const char *id);

/* Answers a DELETE of id that no API rule has: 409 when a file rule has
 * that id (it is changed in its file), else 404. */
void admin_reply_no_api_rule(struct ctx *x, const char *id);

#endif
