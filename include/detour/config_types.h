/* detour: the configuration's types (struct detour_config and its parts), in a
 * header of their own at the bottom so that the parser's files (config.c, the
 * directive groups config_*.c) share them without including each other. The
 * functions are in detour/config.h. */
#ifndef DETOUR_CONFIG_TYPES_H
#define DETOUR_CONFIG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "detour/common.h"
#include "detour/http1.h"

#include "base/cidr.h" /* struct cidr: allow-ip= ranges */

#define DETOUR_CONF_MAX_LISTEN 16
#define DETOUR_CONF_MAX_RULES  64
#define DETOUR_CONF_PATH_MAX   4096

struct detour_listen {
	char host[256]; /* numeric address, IPv6 without brackets */
	uint16_t port;
	bool ipv6;
	bool tls;            /* `tls`: connections speak TLS (src/server/tls.c) */
	bool proxy_protocol; /* `proxy-protocol`: each connection opens with a PROXY v1/v2 header */
	unsigned line;       /* of the listen directive; 0 = the built-in default */
};

#define DETOUR_CONF_MAX_CERTS 64
#define DETOUR_CONF_HOSTS_MAX 16384 /* bytes of a '\n'-ended host list */
#define DETOUR_CONF_MAX_CANON 64
#define DETOUR_CONF_URL_MAX   2048

/* tls-cert CERT KEY (repeatable): PEM files, the chain after the leaf in CERT.
 * The first pair serves clients that send no SNI (RFC 6066). */
struct detour_conf_cert {
	char cert[DETOUR_CONF_PATH_MAX];
	char key[DETOUR_CONF_PATH_MAX];
	unsigned line;
};

/* acme URL, acme-email ADDR, acme-ca FILE, acme-hosts HOST... (RFC 8555). */
struct detour_conf_acme {
	unsigned line;                       /* of the acme directive; 0 = no ACME */
	char directory[DETOUR_CONF_URL_MAX]; /* the CA's directory URL (https://) */
	char email[256];                     /* "" = none: the account has no contact */
	char ca_file[DETOUR_CONF_PATH_MAX]; /* CA bundle for the directory's own TLS; "" = system */
	char hosts[DETOUR_CONF_HOSTS_MAX];  /* acme-hosts, lower-case, each ended by '\n' */
};

/* hsts max-age=DURATION [include-subdomains] [preload] (RFC 6797). */
struct detour_conf_hsts {
	unsigned line; /* 0 = no HSTS */
	uint64_t max_age_s;
	bool include_subdomains, preload;
};

/* canonical-host ALIAS... CANONICAL */
struct detour_conf_canon {
	unsigned line;
	char aliases[DETOUR_CONF_HOSTS_MAX / 4]; /* lower-case, each ended by '\n' */
	char canonical[256];                     /* lower-case */
};

enum detour_trailing_slash {
	DETOUR_SLASH_KEEP = 0,
	DETOUR_SLASH_ADD,
	DETOUR_SLASH_REMOVE,
};

#define DETOUR_CONF_MAX_CIDRS        64
#define DETOUR_CONF_MAINT_TARGET_MAX 2048
#define DETOUR_CONF_MAINT_ALLOW_MAX  4096

/* maintenance TARGET|- [status=302|303|307|503] [retry-after=SECONDS|HTTP-date]
 *             [page=FILE] [allow-ip=CIDR,...] [allow-path=SOURCE,...] [file=PATH]
 *             [on|off]
 * (docs/config.md). "-" and status 503 go together: a 503 answer with the
 * page (the built-in one without page=); page= with a redirect serves the
 * page at the target, which is then a path on this server. */
struct detour_conf_maint {
	unsigned line; /* of the directive in the file; 0 = no maintenance directive */
	bool on;       /* `on`, or neither `on`, `off` nor file= given */
	char target[DETOUR_CONF_MAINT_TARGET_MAX]; /* a path, an absolute URL, or "-" (503) */
	int status;           /* 302, 303 or 307 (default with a target); 503 with "-" */
	char retry_after[32]; /* the Retry-After value as written, "" = none */
	struct cidr allow_ip[DETOUR_CONF_MAX_CIDRS]; /* base/cidr.h, cidr_match */
	unsigned nallow_ip;
	char allow_path[DETOUR_CONF_MAINT_ALLOW_MAX]; /* rule sources, each ended by '\n' */
	char file[DETOUR_CONF_PATH_MAX];              /* on while this file exists; "" = none */
	char page[DETOUR_CONF_PATH_MAX]; /* page=, resolved; "" = none (503: the built-in page) */
};

/* health-check interval=5s timeout=2s rise=2 fall=3 (docs/config.md). */
struct detour_conf_health {
	unsigned interval_ms, timeout_ms;
	unsigned rise, fall; /* probes in a row that bring a target up / take it down */
};

/* access-log FILE [format=combined|json] */
enum detour_alog_format {
	DETOUR_ALOG_COMBINED = 0, /* Apache's combined format + rule id and Location */
	DETOUR_ALOG_JSON,         /* one JSON object a line (docs/config.md) */
};

struct detour_config {
	char file[DETOUR_CONF_PATH_MAX]; /* the config file read, "" for built-in defaults */
	struct detour_listen listen[DETOUR_CONF_MAX_LISTEN];
	unsigned nlisten;
	unsigned workers; /* 0 = auto: one per core */
	char rules[DETOUR_CONF_MAX_RULES][DETOUR_CONF_PATH_MAX];
	unsigned nrules;
	char access_log[DETOUR_CONF_PATH_MAX]; /* "" = off, "-" = standard output */
	uint8_t access_log_format;             /* enum detour_alog_format */
	char error_log[DETOUR_CONF_PATH_MAX];  /* "" = standard error */
	bool server_header;
	bool http2; /* h2 by ALPN on TLS listeners, h2c with prior knowledge on plain ones */
	unsigned max_connections;
	struct detour_http1_limits limits;
	uint64_t buffer_memory; /* per worker: connection buffers beyond their initial sizes */
	unsigned header_timeout_ms;
	unsigned keepalive_timeout_ms;
	/* Operations (docs/admin.md). */
	struct detour_listen admin; /* admin API listener; port 0 = none */
	unsigned admin_line;        /* line of the admin directive in file, for start-up errors */
	char admin_token_file[DETOUR_CONF_PATH_MAX]; /* "" = no token: loopback only, no auth */
	char state_dir[DETOUR_CONF_PATH_MAX]; /* SQLite state (API rules, stats); default "var" */
	/* `state URL [node=NAME]`: the fleet's Redis (detour/fleet.h); "" = the
	 * SQLite state alone. state_dir keeps the last known state then. */
	char state_url[DETOUR_CONF_URL_MAX];
	char state_node[64]; /* "" = HOSTNAME:PORT of the first listener */
	unsigned state_line;
	/* TLS to that Redis (rediss://, src/server/fleet_tls.c): `state-ca FILE`
	 * ("" = the system's store), `state-cert CERT KEY` ("" = none). */
	char state_ca[DETOUR_CONF_PATH_MAX];
	unsigned state_ca_line;
	char state_cert[DETOUR_CONF_PATH_MAX], state_key[DETOUR_CONF_PATH_MAX];
	unsigned state_cert_line;
	char user[64]; /* drop privileges to this user after binding; "" = stay */
	bool stats;    /* per-rule hit counters and the unmatched-path sketch; default on */
	unsigned stats_flush_ms; /* how often counters are written to the state; default 5 s */
	/* `audit-keep DURATION|off [MAX-ENTRIES]`: audit records older than
	 * audit_keep_s seconds, and the oldest beyond audit_keep_max, are
	 * pruned (0 = no such limit); default 90 days, 100,000 records. */
	int64_t audit_keep_s;
	int64_t audit_keep_max;
	unsigned audit_keep_line;         /* of the directive, 0 = the default */
	struct detour_conf_maint maint;   /* maintenance mode (src/server/maint.c) */
	struct detour_conf_health health; /* mirror probes (src/server/health.c) */
	/* HTTPS (docs/https.md). */
	struct detour_conf_cert certs[DETOUR_CONF_MAX_CERTS];
	unsigned ncerts;
	struct detour_conf_acme acme;
	struct detour_conf_hsts hsts;
	int https_redirect;           /* 301, 302, 307 or 308; 0 = off */
	unsigned https_redirect_line; /* of the directive, 0 = none */
	struct detour_conf_canon canon[DETOUR_CONF_MAX_CANON];
	unsigned ncanon;
	enum detour_trailing_slash trailing_slash;          /* default keep */
	struct cidr trusted_proxies[DETOUR_CONF_MAX_CIDRS]; /* base/cidr.h */
	unsigned ntrusted_proxies;
};

#endif
