/* detour server: the admin API's HTTP and JSON plumbing: responses queued on a
 * connection, query strings, JSON bodies, times.
 * Runs on the admin thread (admin_data.h); see docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_HTTP_H
#define DETOUR_ADMIN_HTTP_H

#include "admin_data.h"
#include "detour/topk.h"

/* Queues a whole response on c (body copied; extra: header lines, each
 * ending in CRLF, or NULL); the head only when c->head, with the
 * Content-Length of body all the same. Out of memory closes c after what
 * is queued. */
void admin_reply(struct aconn *c, int status, const char *ctype, const char *body, size_t len,
                 const char *extra);

/* Queues j (taken over; NULL: an empty body) as the JSON body. */
void admin_reply_json(struct aconn *c, int status, json_t *j, const char *extra);

/* Queues {"error": msg} (with WWW-Authenticate for a 401). */
void admin_reply_error(struct aconn *c, int status, const char *msg);

/* Answers a change the state refused (rolled back: nothing of it is kept):
 * 507 (disk full) or 503 (read-only, I/O error, busy; with Retry-After) or
 * 500, as state_error_status says, with {"error": msg, "cause": "disk
 * full" | "read-only" | ..., "stored": false}. */
void admin_reply_state_error(struct aconn *c, struct state *st, const char *msg);

/* Percent-decodes src[0..len) into dst (cap >= len + 1); '+' is a space
 * when plus. Returns false on a bad escape or a NUL. */
bool admin_pct_decode(const char *src, size_t len, char *dst, bool plus);

/* Finds key in r's query string and decodes its value into buf (cap
 * bytes). Returns buf, or NULL when absent or undecodable. */
const char *admin_query_get(const struct detour_request *r, const char *key, char *buf, size_t cap);

/* The integer value of key in lo..hi, def when absent; *bad set when
 * present but not such an integer. */
int64_t admin_query_int(const struct detour_request *r, const char *key, int64_t def, int64_t lo,
                        int64_t hi, bool *bad);

/* Parses the body as a JSON object whose keys are all in allowed (a NULL
 * terminated list). Returns it (the caller owns it), or NULL after
 * answering 400. */
json_t *admin_body_object(struct ctx *x, const char *const *allowed);

/* "ttl" (a duration) or "until" (RFC 3339) of j into an absolute expiry; 0
 * when neither. Returns 0, or -1 after answering 400. */
int admin_expiry_of(struct ctx *x, json_t *j, int64_t now, int64_t *expires);

/* t as an RFC 3339 string (new reference), or JSON null when t <= 0. */
json_t *admin_json_time(int64_t t);

/* GET /stats?unused_since=: a rule of h hits, last hit at l, is unused when
 * l < since; the unused ones are counted in *total and those numbered in
 * [offset, offset + limit) appended to arr as {id, origin, hits, last_hit}. */
void admin_json_unused(json_t *arr, const char *id, const char *origin, int64_t h, int64_t l,
                       int64_t since, int64_t offset, int64_t limit, int64_t *total);

/* Sets "unmatched" (the first top entries of m: path, count, error) and
 * "unmatched_total" (m->total) in the object res, as GET /stats shows them. */
void admin_json_unmatched(json_t *res, const struct detour_topk *m, int64_t top);

#endif
