/* detour server: the HTTP-01 answers of the ACME client (RFC 8555 §8.3).
 * The ACME thread adds a token with its key authorization before it tells
 * the CA to validate, and removes it once the authorization is final (a CA
 * validates from several vantage points, and pebble fetches each token more
 * than once); workers look tokens up for
 *     GET /.well-known/acme-challenge/TOKEN
 * on connections that are not https, before maintenance, rules and
 * https-redirect (conn.c). A few tokens at a time (one order at a time), a
 * mutex, and the lookup happens only for that path prefix: the request path
 * of every other request pays one memcmp. */
#ifndef DETOUR_ACME_HTTP01_H
#define DETOUR_ACME_HTTP01_H

#include <stddef.h>
#include <sys/types.h>

#include "detour/respond.h"

#define ACME_HTTP01_PREFIX "/.well-known/acme-challenge/"

struct acme_http01;

/* A new, empty table, or NULL when out of memory. */
struct acme_http01 *acme_http01_new(void);
void acme_http01_free(struct acme_http01 *h);

/* Makes token answer key_authz. Returns 0, or -1 when the table is full (64
 * tokens) or either is too long. Any thread. */
int acme_http01_add(struct acme_http01 *h, const char *token, const char *key_authz);

/* Stops answering token. Any thread. */
void acme_http01_remove(struct acme_http01 *h, const char *token);

/* The key authorization of the token in path[0..len) when path is
 * ACME_HTTP01_PREFIX + a known token, copied into out (cap bytes). Returns
 * its length, or 0 when path is not a challenge of h (the request goes on to
 * the rules). h may be NULL (no ACME). Any thread. */
size_t acme_http01(const struct acme_http01 *h, const char *path, size_t len, char *out,
                   size_t cap);

/* The 200 answer carrying key_authz[0..len) as text/plain (RFC 8555 §8.3),
 * uncacheable, into out. Returns its length, or -1 when cap is too small
 * (1024 bytes are enough). */
ssize_t acme_http01_respond(const char *key_authz, size_t len, const struct detour_respond_ctx *ctx,
                            char *out, size_t cap);

#endif
