/* detour export nginx, apache, caddy: rules -> a web server's
 * configuration. See docs/import.md ("Export"). */
#ifndef DETOUR_EXPORT_SERVERS_H
#define DETOUR_EXPORT_SERVERS_H

#include "detour/rule.h"
#include "export_util.h"

/* nginx: a map per host, status and query handling for the exact rules
 * (with an if/return in the server block), regex locations for the rest. */
void detour_export_nginx(const struct detour_ruleset *rs, struct detour_export *x);

/* apache: an .htaccess of RewriteConds and RewriteRules in file order. */
void detour_export_apache(const struct detour_ruleset *rs, struct detour_export *x);

/* caddy: a Caddyfile with one site block per host, the rules in a route. */
void detour_export_caddy(const struct detour_ruleset *rs, struct detour_export *x);

#endif
