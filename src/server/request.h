/* detour server: one request's answer (request.c). conn.c reads, parses
 * and writes; for each whole request head it calls request_emit, which
 * routes it and renders the response into c->out, and request_error for
 * the errors it finds itself. Nothing here reads or writes a socket. */
#ifndef DETOUR_REQUEST_H
#define DETOUR_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_types.h"

/* Renders the response to a parsed request: parse the target, route it
 * (route.h), respond, account. Returns false when it does not fit behind
 * the responses already queued: flush, then parse it again. */
bool request_emit(struct conn *c, const struct detour_request *req);

/* An error answer (400, 408, 413, 431, 501, ...) for req (NULL: the head
 * was not parsed), without a body for a HEAD, and Connection: close; counted
 * and logged. */
void request_error_head(struct conn *c, int status, const struct detour_request *req, bool head);

/* request_error_head, without a body when req is a HEAD. */
void request_error(struct conn *c, int status, const struct detour_request *req);

#endif
