/* detour: detour.conf, the server's settings. One directive a line,
 *     NAME VALUE...
 * '#' starts a comment. Directives are table-driven (lib/config.c); every
 * error names file:line:col. Paths given relative to the config file are
 * resolved against its directory. See docs/config.md. */
#ifndef DETOUR_CONFIG_H
#define DETOUR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"
#include "detour/http1.h"

#define DETOUR_CONF_MAX_LISTEN 16
#define DETOUR_CONF_MAX_RULES 64
#define DETOUR_CONF_PATH_MAX 4096

struct detour_listen {
	char host[256]; /* numeric address, IPv6 without brackets */
	uint16_t port;
	bool ipv6;
};

struct detour_config {
	char file[DETOUR_CONF_PATH_MAX]; /* the config file read, "" for built-in defaults */
	struct detour_listen listen[DETOUR_CONF_MAX_LISTEN];
	unsigned nlisten;
	unsigned workers; /* 0 = auto: one per core */
	char rules[DETOUR_CONF_MAX_RULES][DETOUR_CONF_PATH_MAX];
	unsigned nrules;
	char access_log[DETOUR_CONF_PATH_MAX]; /* "" = off, "-" = standard output */
	char error_log[DETOUR_CONF_PATH_MAX];  /* "" = standard error */
	bool server_header;
	unsigned max_connections;
	struct detour_http1_limits limits;
	unsigned header_timeout_ms;
	unsigned keepalive_timeout_ms;
	/* Operations (docs/admin.md). */
	struct detour_listen admin; /* admin API listener; port 0 = none */
	unsigned admin_line;        /* line of the admin directive in file, for start-up errors */
	char admin_token_file[DETOUR_CONF_PATH_MAX]; /* "" = no token: loopback only, no auth */
	char state_dir[DETOUR_CONF_PATH_MAX]; /* SQLite state (API rules, stats); default "var" */
	char user[64]; /* drop privileges to this user after binding; "" = stay */
	bool stats;    /* per-rule hit counters and the unmatched-path sketch; default on */
	unsigned stats_flush_ms; /* how often counters are written to the state; default 5 s */
};

/* Fills c with the built-in defaults: listen 127.0.0.1:8080, workers auto,
 * rules examples/site.rules, access-log off, 10000 connections, the HTTP/1
 * limits of detour_http1_limits_default(), header timeout 10 s, keep-alive
 * 60 s, no admin listener, state-dir "var", stats on, flushed every 5 s. */
void detour_config_defaults(struct detour_config *c);

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

/* Parses a size "512", "8k", "32K", "1m", "1M", "1g". Returns -1 if malformed. */
int64_t detour_parse_size(const char *s, size_t len);

#endif
