/* detour server: HTTP/2 (RFC 9113) on a connection, with libnghttp2. The
 * session sits under conn.c like the HTTP/1.1 parser does: conn.c reads
 * into c->in and writes c->out (through TLS or not); h2.c feeds what was
 * read to nghttp2_session_mem_recv, answers each request stream with the
 * same route and respond code as HTTP/1.1 (request.c), and appends every
 * frame nghttp2_session_mem_send has to c->out, so that all the responses
 * of one read leave in one write. No framing of our own. Limits and abuse
 * handling (concurrent streams, header list size, rapid reset, CONTINUATION
 * floods, SETTINGS timeout, GOAWAY on drain and timeout): see
 * docs/internals/h2.md. Everything runs on the worker owning c. */
#ifndef DETOUR_H2_H
#define DETOUR_H2_H

#include <stdbool.h>

#include "conn_types.h"

/* The client connection preface (RFC 9113 §3.4). */
#define H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

/* Whether c speaks HTTP/2, decided on its first input: on TLS, by ALPN
 * (RFC 9113 §3.2); on a plain connection, by the preface sent with prior
 * knowledge (§3.3), with `http2 on`. Returns 1 (c->h2 is set up), 0
 * (HTTP/1.x: never asked again), -1 (the input so far is a prefix of the
 * preface: wait for more). */
int h2_start(struct conn *c);

/* Feeds c->in to the session (emptying it), answers the requests it
 * completes, and appends what the session has to send to c->out. Sets
 * c->close_after when the session is over (GOAWAY sent, or a fatal error).
 * Returns true when it made progress (input consumed or output queued). */
bool h2_process(struct conn *c);

/* True when no stream is open and nothing waits to be sent: the
 * connection is idle (keep-alive timeout, closed by a drain). */
bool h2_idle(const struct conn *c);

/* Ends the session with GOAWAY: on a drain (SIGTERM), gracefully (NO_ERROR,
 * the streams already begun are finished); on a timeout, at once
 * (NO_ERROR, or SETTINGS_TIMEOUT when the client never acknowledged our
 * SETTINGS, RFC 9113 §6.5.3). Queues the frames in c->out and sets
 * c->close_after once nothing is left. */
void h2_goaway(struct conn *c, bool timeout);

/* Frees c->h2 (closing). */
void h2_free(struct conn *c);

#endif
