/* detour: detour.conf, the server's settings. One directive a line,
 *     NAME VALUE...
 * '#' starts a comment. Directives are table-driven (lib/config.c); every
 * error names file:line:col. Paths given relative to the config file are
 * resolved against its directory. See docs/config.md. */
#ifndef DETOUR_CONFIG_H
#define DETOUR_CONFIG_H

#include <stddef.h>

#include "detour/config_types.h"

/* allow-ip= of maintenance (here and in the admin API): cidr_parse
 * (base/cidr.h) with its errors as a detour_err, the error type of the
 * config. Parses "10.0.0.0/8", "2001:db8::/32" or a single address
 * ("192.0.2.1", "::1": a full-length prefix) into c. DETOUR_EINVAL if
 * malformed, or if bits are set past the prefix ("10.0.0.1/8"). Match a
 * peer with cidr_match. */
detour_err detour_conf_cidr_parse(const char *s, size_t len, struct cidr *c);

/* Fills c with the built-in defaults: listen 127.0.0.1:8080, workers auto,
 * rules examples/site.rules, access-log off, http2 on, 10000 connections, the HTTP/1
 * limits of detour_http1_limits_default(), header timeout 10 s, keep-alive
 * 60 s, no admin listener, state-dir "var", stats on, flushed every 5 s,
 * no maintenance directive, health checks every 5 s with a 2 s timeout,
 * rise 2, fall 3. */
void detour_config_defaults(struct detour_config *c);

/* The i-th directive detour.conf knows, in the order errors list them: its
 * usage ("listen ADDR:PORT [tls] [proxy-protocol]") and what it does (scdoc
 * markup, '\n' between lines), for detour.conf(5): `detour help --man
 * conf` prints them from the parser's own table. Returns false past the
 * last. */
bool detour_config_directive(size_t i, const char **usage, const char **doc);

/* Parses buf as a config file named name (used in diagnostics and to resolve
 * relative paths) over the values already in c. The first listen or rules
 * directive replaces the defaults; later ones append. Returns DETOUR_OK or
 * DETOUR_EINVAL with d filled. */
detour_err detour_config_parse(struct detour_config *c, const char *name, const char *buf,
                               size_t len, struct detour_diag *d);

/* Reads and parses the file at path (defaults first). DETOUR_EIO if it
 * cannot be read. */
detour_err detour_config_load(struct detour_config *c, const char *path, struct detour_diag *d);

/* Parses "127.0.0.1:8080", "[::1]:8080", "*:8080" or "8080" into l. */
detour_err detour_config_parse_listen(const char *s, size_t len, struct detour_listen *l);

#endif
