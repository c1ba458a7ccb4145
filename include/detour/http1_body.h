/* detour: skipping the body of an HTTP/1.1 request in sync (RFC 9112 §6.3,
 * §7.1), after detour_http1_parse. See docs/internals/http1.md. */
#ifndef DETOUR_HTTP1_BODY_H
#define DETOUR_HTTP1_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/http1.h"

/* Skipping a body, in sync. */
struct detour_http1_body {
	int state;          /* private */
	uint64_t remaining; /* private: bytes left in the current chunk or body */
	uint64_t total;     /* body bytes seen so far, chunk framing included */
	uint64_t max_body;
	size_t line_len; /* private: bytes of the chunk-size line, or of the trailers so far */
};

/* Prepares caller-owned b to skip the body of req (none, Content-Length or
 * chunked); req and limits (NULL: the defaults) are only read during the
 * call. */
void detour_http1_body_init(struct detour_http1_body *b, const struct detour_request *req,
                            const struct detour_http1_limits *limits);

/* True when the request has no body left to skip. */
bool detour_http1_body_done(const struct detour_http1_body *b);

/* Consumes body bytes from buf[0..len). Sets *consumed to the bytes eaten.
 * Returns DETOUR_OK when the body (with chunk extensions and trailers) is
 * complete, DETOUR_INCOMPLETE when all of buf was eaten and more is needed,
 * DETOUR_EINVAL (*status 400) for bad chunked framing, DETOUR_ETOOBIG
 * (*status 413) past max_body. On an error *consumed counts the bytes before
 * the offending one, and the error sticks: later calls return it again and
 * eat nothing. The answer and the bytes eaten do not depend on how the input
 * is split between calls. buf is borrowed. */
detour_err detour_http1_body_skip(struct detour_http1_body *b, const char *buf, size_t len,
                                  size_t *consumed, int *status);

#endif
