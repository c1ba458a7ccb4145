/* detour server: one request's answer (request.c). conn.c reads, parses
 * and writes HTTP/1.1; h2.c drives an HTTP/2 session. Both call
 * request_answer for each whole request, which routes it and renders the
 * HTTP/1.1 response into a buffer the caller names (struct req_out), and
 * request_fail for the errors they find themselves. Nothing here reads or
 * writes a socket. */
#ifndef DETOUR_REQUEST_H
#define DETOUR_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_types.h"

/* Renders the response to a parsed request into o: parse the target, route
 * it (route.h), respond, account. Returns false, with nothing written or
 * counted, when it does not fit behind the responses already in o: flush,
 * then ask again. */
bool request_answer(struct conn *c, const struct detour_request *req, struct req_out *o);

/* An error answer (400, 408, 413, 431, 501, ...) for req (NULL: the head
 * was not parsed) into o, without a body for a HEAD, with Connection: close
 * (o->close set); counted and logged. Nothing is written when less than
 * 1 KiB is free. */
void request_fail(struct conn *c, int status, const struct detour_request *req, bool head,
                  struct req_out *o);

/* request_fail into c's output buffer, c closing after it (HTTP/1.1). */
void request_error_head(struct conn *c, int status, const struct detour_request *req, bool head);

/* request_error_head, without a body when req is a HEAD. */
void request_error(struct conn *c, int status, const struct detour_request *req);

#endif
