/* detour: the rule model. A rule (struct detour_rule, 12 bytes), its
 * extension (conditions, time window, weighted group, regex source, guard)
 * and the request a rule is evaluated against. The rules-file parser
 * (rulefile.h) fills these, the table (table.h) indexes and matches them, lint
 * (lint.h) and the response builder (respond.h) read them. Everything here is
 * read-only once a ruleset is loaded. See docs/rules.md. */
#ifndef DETOUR_RULE_H
#define DETOUR_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "detour/common.h"
#include "detour/http1.h"
#include "detour/tz.h"

#define DETOUR_MAX_CAPTURES  16    /* placeholders or regex groups of one rule */
#define DETOUR_RULE_LINE_MAX 65536 /* bytes in a rules-file line, ending excluded; more: error */

enum detour_src_kind {
	DETOUR_SRC_EXACT = 0, /* "/old-page" */
	DETOUR_SRC_SPLAT,     /* "/blog/ *" (a splat): the path field holds "/blog/" */
	DETOUR_SRC_PATTERN,   /* "/docs/:version/:page", optionally ending in a splat */
	DETOUR_SRC_REGEX,     /* "~^/p/([0-9]+)$": path holds the PCRE2 pattern without '~'
	                         (a source with case=insensitive keeps its kind; its ext
	                         holds a caseless regex compiled from it) */
};

enum detour_scheme {
	DETOUR_SCHEME_ANY = 0, /* no scheme, or "//host" */
	DETOUR_SCHEME_HTTP,
	DETOUR_SCHEME_HTTPS,
};

enum detour_query_mode {
	DETOUR_QUERY_KEEP = 0, /* default: request query appended ("&" when both have one) */
	DETOUR_QUERY_DROP,     /* only the target's own query */
	DETOUR_QUERY_MERGE,    /* request params, the target's keys replacing same-named ones */
};

#define DETOUR_CACHE_UNSET    (-1) /* no cache= option: no cache headers at all */
#define DETOUR_CACHE_NO_STORE 0    /* cache=no-store */

#define DETOUR_RULE_HOST_WILDCARD 0x01u /* host is "*.example.com" (host holds ".example.com") */
#define DETOUR_RULE_TARGET_VARS   0x02u /* target holds :splat, :name or $N to substitute */
#define DETOUR_RULE_ID_SET        0x04u /* id= was given (otherwise the id is "file:line") */
#define DETOUR_RULE_SPLAT         0x08u /* the source ends in a splat (SPLAT, or PATTERN + tail) */
#define DETOUR_RULE_EXT           0x10u /* the rule has a struct detour_rule_ext (detour_ruleset_ext) */
#define DETOUR_RULE_CACHE         0x20u /* cache= was given (its value: detour_rule_cache) */
#define DETOUR_RULE_PACKED        0x40u /* strings packed (lib/rulepack.h): use the accessors */
#define DETOUR_RULE_PACKED_MAX    192   /* a packed rule's path + target + 2 NULs, at most */

/* One rule: 12 bytes, what matching and answering read. Its position in the
 * ruleset is its index (detour_rule_index: r - the first rule), so it must
 * not be copied where the ruleset's accessors will see it. Its strings are in
 * the ruleset's one string block (rulefile.h: detour_rule_path,
 * detour_rule_target), the path at off and the target right after the path's
 * NUL, both NUL-terminated: an offset survives the block growing or moving
 * where a pointer would not, and takes half the room. A rule with
 * DETOUR_RULE_PACKED (an exact rule of a generated file, most often) keeps
 * only what its strings add to those of the first rule of its block of 16
 * (lib/rulepack.h): read a rule's strings with the accessors, never at off.
 * Its host, id=, cache=, line and file are kept beside it by the ruleset (rulefile.h:
 * detour_ruleset_host, detour_ruleset_rule_id, detour_rule_cache,
 * detour_ruleset_line, detour_ruleset_rule_file). */
struct detour_rule {
	uint32_t off; /* the normalised source path (detour_url_normalize_path) at the
	                 ruleset's strings + off; the target template as written (""
	                 for a 410 without target, '-') at off + path_len + 1; with
	                 DETOUR_RULE_PACKED, the packed form of both at off */
	uint16_t path_len, target_len;
	uint16_t status;    /* 301, 302, 303, 307, 308, 410, or 200 for status "html" */
	uint8_t kind : 2;   /* enum detour_src_kind */
	uint8_t scheme : 2; /* enum detour_scheme */
	uint8_t query : 2;  /* enum detour_query_mode */
	uint8_t flags;      /* DETOUR_RULE_* */
};

/* ------------------------------------------------------------------------
 * Rule extensions. A rule that uses any option beyond query=, cache= and id=
 * (or a regex source, case=insensitive, status html) has DETOUR_RULE_EXT set
 * and one struct detour_rule_ext, found with detour_ruleset_ext(). Plain rules
 * stay 12 bytes and cost nothing more. Everything here lives in the ruleset
 * (arena or ruleset-owned objects) and is read-only after loading.
 * ------------------------------------------------------------------------ */

enum detour_cond_kind {
	DETOUR_COND_METHOD = 0, /* method=GET,HEAD */
	DETOUR_COND_HEADER,     /* if-header=Name, Name:value, Name:~regex */
	DETOUR_COND_COOKIE,     /* if-cookie=name, name=value */
	DETOUR_COND_QUERY,      /* if-query=key, key=value, a=1&b (all present, any order) */
	DETOUR_COND_IP,         /* if-ip=CIDR[,CIDR...] (IPv4 and IPv6) */
	DETOUR_COND_LANG,       /* if-lang=fr,de (the client's preferred language) */
};

struct cidr; /* an address range of if-ip=: lib/base/cidr.h */

/* One condition. Strings point into the ruleset and are not NUL-terminated
 * unless said. */
struct detour_cond {
	uint8_t kind;     /* enum detour_cond_kind */
	bool negate;      /* written "NAME=!VALUE": the condition holds when the test fails */
	uint16_t methods; /* METHOD: bit (1 << enum detour_method) for each listed method */
	struct detour_slice name;         /* HEADER: field name; COOKIE: cookie name; QUERY: the
	                                     whole "a=1&b" list (pairs separated by '&') */
	struct detour_slice value;        /* HEADER, COOKIE: the value, p == NULL for "present" */
	const void *re;                   /* HEADER "Name:~regex": a pcre2_code_8 (owned by the
	                                     ruleset), else NULL */
	const struct cidr *cidrs;         /* IP: base/cidr.h ranges */
	const struct detour_slice *langs; /* LANG: lower-case language ranges ("fr", "de-ch") */
	uint16_t n;                       /* IP: number of cidrs; LANG: number of langs */
	uint16_t col;                     /* column of the option in its line (for lint) */
	struct detour_slice text;         /* the option as written ("if-cookie=!beta") */
};

enum detour_sticky {
	DETOUR_STICKY_NONE = 0, /* a weighted random choice per request (the default) */
	DETOUR_STICKY_COOKIE,   /* a cookie names the variant; first visit as NONE */
	DETOUR_STICKY_IP,       /* a hash of the client address */
};

#define DETOUR_TIME_NONE_FROM  INT64_MIN /* no from= */
#define DETOUR_TIME_NONE_UNTIL INT64_MAX /* no until= */

/* A time window: from= <= now < until=, and, when days or hours are given,
 * inside the recurring part (local time of tz, UTC when tz is NULL). An
 * hours range whose end is before its start runs over midnight and belongs
 * to the day it starts. */
struct detour_window {
	int64_t from, until;        /* Unix seconds; DETOUR_TIME_NONE_* when not given */
	uint8_t days;               /* bit d for weekday d (0 = Sunday); 0: every day */
	int32_t hour_from, hour_to; /* seconds since local midnight; -1 when no hours= */
	const struct detour_tz *tz; /* tz=, owned by the ruleset; NULL: UTC */
};

#define DETOUR_EXT_REGEX  0x0001u /* re is the compiled source */
#define DETOUR_EXT_CASE_I 0x0002u /* case=insensitive */
#define DETOUR_EXT_HTML   0x0004u /* status html: 200 with a meta refresh page */
#define DETOUR_EXT_WINDOW 0x0008u /* window is set (from=, until=, days=, hours=) */
#define DETOUR_EXT_PRIVATE                                                                         \
	0x0010u /* responses carry "Cache-Control: private" (a condition                           \
	           reads the request's headers, cookies, language or                               \
	           address, or a weighted group), unless private=no */
#define DETOUR_EXT_CAPTURE_AUTHORITY                                                               \
	0x0020u /* a capture can reach the Location's scheme or                                    \
	           host: only allow_hosts may come out */

struct detour_rule_ext {
	uint32_t rule;  /* index of the rule it belongs to */
	uint32_t flags; /* DETOUR_EXT_* */

	/* Regex sources (DETOUR_EXT_REGEX). re is a JIT-compiled pcre2_code_8
	 * owned by the ruleset. prefix[0..prefix_len) is the literal text every
	 * match starts with, cut after its last '/' ("/p/7/" for "^/p/7/([0-9]+)$";
	 * lower case when caseless); prefix_len 0: the regex is not anchored or
	 * has no literal '/'-ended start, and is tried on every request of its
	 * host. group_names[i] names group i + 1 (len 0 when unnamed). */
	const void *re;
	const char *prefix;
	uint16_t prefix_len;
	uint16_t ngroups; /* capture groups, at most DETOUR_MAX_CAPTURES (16) */
	const struct detour_slice *group_names;

	/* Conditions (all must hold). */
	const struct detour_cond *conds;
	uint16_t nconds;

	/* The Vary value the conditions call for ("Cookie, Accept-Language"),
	 * NUL-terminated, or NULL. */
	const char *vary;

	struct detour_window window; /* with DETOUR_EXT_WINDOW */

	/* Weighted groups: weight > 0 puts the rule in the group of the rules with
	 * the same source (host, scheme and path) and a weight. sticky and
	 * health are per rule as written; the table uses the first member's
	 * sticky for the group. health: the path (NUL-terminated) to probe on
	 * the target's origin, NULL when none. */
	uint32_t weight;
	uint8_t sticky; /* enum detour_sticky; sticky_set when written */
	bool sticky_set;
	const char *health;

	uint32_t delay; /* status html: delay=N seconds of the meta refresh (default 0) */

	/* allow-hosts=a.com,b.com: the hosts a Location may name (lower case). */
	const struct detour_slice *allow_hosts;
	uint16_t nallow;
};

enum detour_slash {
	DETOUR_SLASH_EITHER = 0, /* default: an exact rule matches with or without one final
	                            '/' ("/a" answers "/a/", "/a/" answers "/a") */
	DETOUR_SLASH_STRICT,     /* the path must be exactly the source */
};

/* A ruleset: the ordered rules of one or more files (rulefile.h). */
struct detour_ruleset;

/* What is matched. host is the Host header as received (port, case and a
 * trailing dot are handled by the table) or NULL; path must already be
 * normalised with detour_url_normalize_path(). req is the parsed request
 * (method, headers) that conditions read; NULL counts as a GET without
 * headers (lint, check). now is the clock that time windows compare with
 * (0: the table reads the real-time clock when a rule has a window); peer is
 * the client's address for if-ip= and sticky=ip (NULL: unknown, if-ip never
 * holds and sticky=ip falls back to a random choice). All borrowed. */
struct detour_match_req {
	const char *host;
	size_t host_len;
	bool https;
	const char *path;
	size_t path_len;
	const char *query; /* without '?'; NULL when the request has none */
	size_t query_len;
	const struct detour_request *req;
	time_t now;                  /* the server's clock (DETOUR_NOW may set it), 0: read it */
	const struct sockaddr *peer; /* AF_INET or AF_INET6, or NULL */
};

#endif
