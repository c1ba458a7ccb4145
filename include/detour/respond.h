/* detour: responses. A matched rule and a request become the exact bytes
 * to write: status line, Location, Date, the cache headers the rule asks for
 * and no others, Content-Type, Content-Length and a short HTML note (none for
 * HEAD). Everything that does not depend on the request is prepared when the
 * table is built; serving copies bytes and substitutes captures. */
#ifndef DETOUR_RESPOND_H
#define DETOUR_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "detour/match.h"
#include "detour/rule.h"

#define DETOUR_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT": base/civil.h's civil_http_date */

struct detour_respond_ctx {
	const char *date;   /* DETOUR_DATE_LEN bytes, IMF-fixdate of now (RFC 9110 §5.6.7) */
	time_t now;         /* the same instant, for Expires */
	bool head;          /* HEAD request: headers only */
	bool close;         /* add "Connection: close" */
	bool keep_alive;    /* add "Connection: keep-alive" (an HTTP/1.0 client asked to keep
	                       the connection; RFC 9112 §9.3 and Appendix C.2.2) */
	bool server_header; /* add "Server: detour" */
	/* Whole header lines ("Retry-After: 120\r\n"), written verbatim before
	 * Content-Type; borrowed; at most 256 bytes (DETOUR_RESPONSE_MAX keeps room);
	 * the caller vouches for them (no CR/LF but the line ends). NULL/0: none.
	 * Used by the server's maintenance mode. */
	const char *extra_headers;
	size_t extra_len;
};

/* The reason phrase of a status ("Temporary Redirect"), "" if unknown. */
const char *detour_reason(int status);

/* Writes the Location value for m (target with captures substituted and
 * percent-encoded, query handled per the rule) into out. Returns its length,
 * or -1 if it does not fit in cap. A 410 rule yields 0. The value never holds
 * CR, LF, NUL or any CTL. */
ssize_t detour_respond_location(const struct detour_match *m, const struct detour_match_req *q,
                                char *out, size_t cap);

/* Writes the whole response for m into out. Returns the number of bytes, or
 * -1 if cap is too small (at most DETOUR_RESPONSE_MAX is ever needed). */
ssize_t detour_respond(const struct detour_match *m, const struct detour_match_req *q,
                       const struct detour_respond_ctx *ctx, char *out, size_t cap);

/* Writes a response without a rule: 404 for no match, or the 4xx/5xx that
 * detour_http1_parse asked for (400, 408, 413, 414, 431, 501, 505) with
 * "Connection: close" when ctx->close. Returns bytes, or -1 if cap is too
 * small. */
ssize_t detour_respond_status(int status, const struct detour_respond_ctx *ctx, char *out,
                              size_t cap);

/* Upper bound of a response's size: the headers (a rule's Vary, cache and
 * Set-Cookie lines included), the Location once in the header and once
 * HTML-escaped (at most 6 bytes a byte) in the body, or twice escaped in the
 * page of status html.
 * Locations are capped at DETOUR_LOCATION_MAX bytes; a longer one is an error
 * the server answers with 500. */
#define DETOUR_LOCATION_MAX 16384
#define DETOUR_RESPONSE_MAX (2048 + 13 * DETOUR_LOCATION_MAX)

/* A prepared answer with a body of its own: the server's maintenance page
 * (503 Service Unavailable with Retry-After, docs/config.md). Everything but
 * the Date is built once by detour_page_prepare, when the state changes;
 * serving copies bytes:
 *   HTTP/1.1 STATUS REASON\r\nDate: ...\r\n[Server: detour\r\n]
 *   [ctx->extra_headers]Cache-Control: no-store\r\n[EXTRA]
 *   Content-Type: text/html; charset=utf-8\r\nContent-Length: N\r\n
 *   [Connection: close|keep-alive\r\n]\r\nBODY (none for HEAD)
 * no-store: the page is an answer of the moment, no cache may keep it. */
struct detour_page {
	char *buf;       /* status line, then header lines, then body; owned */
	size_t line_len; /* "HTTP/1.1 503 Service Unavailable" */
	size_t head_len; /* "Cache-Control: ...Content-Length: N", no final CRLF */
	size_t body_len; /* the page's bytes */
	int status;
};

/* Bytes a page may have: its answer must fit in DETOUR_RESPONSE_MAX, the
 * most a connection's output buffer grows to (src/server/conn.c). */
#define DETOUR_PAGE_MAX (128 * 1024)

/* Prepares pg: status (200 to 599, with a reason phrase), extra header
 * lines written verbatim after Cache-Control (each ended by CRLF, the
 * caller vouches for them; at most 256 bytes), body[0..body_len) copied.
 * Returns 0, or -1 (out of memory, bad status, body over DETOUR_PAGE_MAX)
 * with pg zeroed. */
int detour_page_prepare(struct detour_page *pg, int status, const char *extra, size_t extra_len,
                        const char *body, size_t body_len);

/* Frees what pg holds and zeroes it. A zeroed pg is a no-op. */
void detour_page_free(struct detour_page *pg);

/* Writes pg's answer. Returns bytes, or -1 if cap is too small (at most
 * DETOUR_RESPONSE_MAX is ever needed). */
ssize_t detour_respond_page(const struct detour_page *pg, const struct detour_respond_ctx *ctx,
                            char *out, size_t cap);

/* Lifetime of the cookie that keeps a visitor in a sticky=cookie variant. */
#define DETOUR_STICKY_MAX_AGE_STR "2592000" /* 30 days */

#endif
