/* detour: the HSTS store (RFC 6797). Parses Strict-Transport-Security,
 * notes known HSTS hosts (§8.1), answers whether a host must be upgraded to
 * https (§8.2, §8.3), and reads and writes a text store. The store file has
 * the format of curl's --hsts file, so one file serves both tools:
 *
 *     # comment
 *     [.]HOST "YYYYMMDD HH:MM:SS"
 *
 * one host a line, expiry in UTC, "unlimited" for an entry that never
 * expires, a leading '.' for includeSubDomains. See docs/check.md. The
 * store is a caller-owned heap object; nothing here does I/O. */
#ifndef DETOUR_HSTS_H
#define DETOUR_HSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "detour/common.h"

/* Chromium caps max-age at one year (net/http/http_security_headers.cc). */
#define DETOUR_HSTS_MAX_AGE_CAP (86400 * 365)
#define DETOUR_HSTS_NEVER       ((time_t)INT64_MAX) /* expiry of an "unlimited" entry */

struct detour_hsts;

/* Returns a new empty store, or NULL when out of memory. */
struct detour_hsts *detour_hsts_new(void);

/* Frees s. NULL is a no-op. */
void detour_hsts_free(struct detour_hsts *s);

/* Parses one Strict-Transport-Security value (RFC 6797 §6.1): directives
 * separated by ';', names case-insensitive, each at most once, max-age
 * required (delta-seconds, quoted or not), includeSubDomains without a
 * value, unknown directives ignored. *max_age is clamped to
 * DETOUR_HSTS_MAX_AGE_CAP. Returns DETOUR_OK or DETOUR_EINVAL (the whole
 * field is then ignored, §6.1). */
detour_err detour_hsts_parse(const char *v, size_t len, int64_t *max_age, bool *include_sub);

/* What detour_hsts_note did. */
enum detour_hsts_result {
	DETOUR_HSTS_NOTED,        /* the host is (now) a known HSTS host, expiry updated */
	DETOUR_HSTS_FORGOT,       /* max-age=0: the host is no longer a known HSTS host */
	DETOUR_HSTS_IGNORED_HTTP, /* received over plain http: ignored (§8.1) */
	DETOUR_HSTS_IGNORED_IP,   /* the host is an IP literal: not noted (§8.1) */
	DETOUR_HSTS_INVALID,      /* the value does not parse: ignored (§6.1) */
	DETOUR_HSTS_ENOMEM,
};

/* Processes the first Strict-Transport-Security field of a response from
 * host[0..host_len) (as in the URL: lower case, IPv6 in brackets), received
 * over https when secure, at time now (RFC 6797 §8.1). */
enum detour_hsts_result detour_hsts_note(struct detour_hsts *s, const char *host, size_t host_len,
                                         bool secure, const char *value, size_t len, time_t now);

/* True if host is a known HSTS host at time now: an unexpired entry for the
 * host itself, or for a superdomain whose entry has includeSubDomains
 * (§8.2). IP literals never match. */
bool detour_hsts_match(const struct detour_hsts *s, const char *host, size_t host_len, time_t now);

/* Adds or replaces an entry directly (for tests and the loader). expiry is a
 * time_t or DETOUR_HSTS_NEVER. */
detour_err detour_hsts_add(struct detour_hsts *s, const char *host, size_t host_len, time_t expiry,
                           bool include_sub);

/* Number of entries, expired ones included. */
size_t detour_hsts_count(const struct detour_hsts *s);

/* Reads a store file's text buf[0..len) into s; entries expired at now are
 * dropped. name is used in diagnostics. On a malformed line returns
 * DETOUR_EINVAL with d filled ("name:line:col: ..."); s keeps the lines
 * before it. */
detour_err detour_hsts_load(struct detour_hsts *s, const char *name, const char *buf, size_t len,
                            time_t now, struct detour_diag *d);

/* Writes the unexpired entries, sorted by host, in the store file format.
 * Returns new memory in *out (free() it) holding *out_len bytes plus a NUL,
 * or DETOUR_ENOMEM. */
detour_err detour_hsts_save(const struct detour_hsts *s, time_t now, char **out, size_t *out_len);

#endif
