/* detour: strict, zero-copy HTTP/1.1 request parser (RFC 9112).
 *
 * The parser never allocates and never copies: every pointer in a parsed
 * struct detour_request points into the caller's buffer, which must stay
 * unchanged while the request is used. It is stateless: feed it the whole
 * buffered input again after more bytes arrive (picohttpparser's model).
 * Bodies are not kept; struct detour_http1_body skips one in sync so that
 * the next pipelined request is read from the right byte. */
#ifndef DETOUR_HTTP1_H
#define DETOUR_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detour/common.h"

#define DETOUR_HTTP1_MAX_HEADERS_HARD 256 /* the array size; limits.max_headers <= this */
/* The longest method token accepted: twice the longest in IANA's method
 * registry (UPDATEREDIRECTREF, 17 bytes). Longer: 501 (RFC 9112 §3). */
#define DETOUR_HTTP1_MAX_METHOD 32

struct detour_http1_limits {
	size_t max_target;       /* request-target bytes; over it: 414. Default 8 KiB */
	size_t max_header_bytes; /* whole head incl. request line; over it: 431. Default 32 KiB */
	unsigned max_headers;    /* number of header fields; over it: 431. Default 100 */
	uint64_t max_body;       /* body bytes skipped at most; over it: 413. Default 1 MiB */
};

/* Fills l with the defaults above. */
void detour_http1_limits_default(struct detour_http1_limits *l);

struct detour_header {
	const char *name; /* as received; compare case-insensitively */
	size_t name_len;
	const char *value; /* leading and trailing OWS removed */
	size_t value_len;
};

enum detour_method {
	DETOUR_M_OTHER = 0,
	DETOUR_M_GET,
	DETOUR_M_HEAD,
	DETOUR_M_POST,
	DETOUR_M_PUT,
	DETOUR_M_DELETE,
	DETOUR_M_PATCH,
	DETOUR_M_OPTIONS,
	DETOUR_M_CONNECT,
	DETOUR_M_TRACE,
};

struct detour_request {
	const char *method; /* token, case-sensitive (RFC 9110 §9.1) */
	size_t method_len;
	enum detour_method method_id;

	const char *target; /* request-target as received */
	size_t target_len;
	/* origin-form: the target up to '?'; absolute-form: its path, "/" if
	 * empty (then pointing at the first '/' of "://"); asterisk-form: "*";
	 * authority-form: the whole target. Always inside the target. */
	const char *path;
	size_t path_len;
	const char *query; /* after '?', without it; NULL when the target has no '?' */
	size_t query_len;
	bool absolute_form; /* "GET http://h/p HTTP/1.1": host comes from the target */
	bool asterisk_form; /* "OPTIONS * HTTP/1.1" */
	bool https_target;  /* absolute-form with the https scheme */

	int minor_version; /* HTTP/1.<minor>: 0 or 1 (1 for HTTP/2) */
	bool http2;        /* came over HTTP/2 (detour_http1_from_h2) */

	/* Host header, or the authority of an absolute- or authority-form
	 * target; port included; NULL if none (HTTP/1.0 only). */
	const char *host;
	size_t host_len;

	struct detour_header headers[DETOUR_HTTP1_MAX_HEADERS_HARD];
	unsigned num_headers;

	/* Framing (RFC 9112 §6). */
	bool has_content_length;
	uint64_t content_length;
	bool chunked;         /* Transfer-Encoding: chunked */
	bool keep_alive;      /* after this request, per version and Connection */
	bool expect_continue; /* Expect: 100-continue */

	size_t head_len; /* bytes of the request line and header section, final CRLF included */
};

/* Parses one request head from buf[0..len).
 *
 * Returns DETOUR_OK and fills *req (req->head_len = bytes consumed) when a
 * whole head is there; DETOUR_INCOMPLETE when more bytes are needed (and no
 * limit is broken yet); DETOUR_EINVAL or DETOUR_ETOOBIG or
 * DETOUR_EUNSUPPORTED for a request that must be refused, with *status set to
 * the status to answer (the connection is closed after it):
 *   400 malformed (bare CR or LF, CTL or NUL in the target or a value, space
 *       before a colon, obs-fold, both Content-Length and Transfer-Encoding,
 *       duplicate or invalid Content-Length, missing or duplicate Host in
 *       HTTP/1.1, Transfer-Encoding in HTTP/1.0, an invalid Host, a
 *       Transfer-Encoding whose final coding is not "chunked" or that
 *       applies chunked twice: RFC 9112 §6.3 item 4, §7.1)
 *   414 request-target over limits->max_target
 *   431 head over max_header_bytes or more than max_headers fields
 *   501 a coding before the final "chunked" ("gzip, chunked"): we decode none
 *   505 an HTTP version other than 1.0 and 1.1
 *   413 Content-Length over max_body
 * Leading empty lines (CRLF) before the request line are skipped
 * (RFC 9112 §2.2) and counted in head_len (and against max_header_bytes).
 * Never reads past buf[len-1], nor past buf[max_header_bytes-1].
 *
 * Every rule is decided at the byte that breaks it: a prefix of an input
 * gives DETOUR_INCOMPLETE or the same answer as the whole input. buf is
 * borrowed; limits is borrowed (NULL means the defaults); *req is
 * caller-owned and only meaningful after DETOUR_OK or a 413 (for which the
 * whole head is parsed and head_len set, so the caller may log it). Details
 * and the strictness decisions: docs/internals/http1.md. */
detour_err detour_http1_parse(const char *buf, size_t len, const struct detour_http1_limits *limits,
                              struct detour_request *req, int *status);

/* Finds a header by name (case-insensitive, any bytes) among
 * req->headers[from..num_headers) (from < 0 counts as 0); returns its index
 * or -1. */
int detour_http1_find(const struct detour_request *req, const char *name, size_t name_len,
                      int from);

/* The pseudo-header fields of an HTTP/2 request (RFC 9113 §8.3.1); NULL:
 * absent. */
struct detour_h2_pseudo {
	const char *method, *path, *authority;
	size_t method_len, path_len, authority_len;
};

/* HTTP/2: fills req from the pseudo-header fields of a request whose
 * regular fields are already in req->headers[0..num_headers) (names in
 * lower case, values checked by the HTTP/2 library), so that it reads like
 * an HTTP/1.1 request to everything above: method, target = :path, path and
 * query split at '?', asterisk-form for "OPTIONS *", host from :authority or
 * else a Host field (RFC 9113 §8.3.1; none is allowed, as in HTTP/1.0),
 * Content-Length, minor_version 1, keep_alive, http2; no head_len, never
 * chunked. Returns DETOUR_OK, or DETOUR_EINVAL / DETOUR_ETOOBIG with *status:
 * 400 (no :method, an invalid authority or Host, a :path that is not an
 * absolute path or "*" for OPTIONS, an invalid Content-Length), 414 (:path
 * over limits->max_target), 413 (Content-Length over max_body). CONNECT
 * (no :path) is left for the caller to refuse (501). limits NULL: the
 * defaults. Every pointer of req points into p's or the fields' bytes. */
detour_err detour_http1_from_h2(struct detour_request *req, const struct detour_h2_pseudo *p,
                                const struct detour_http1_limits *limits, int *status);

#endif
