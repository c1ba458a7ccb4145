/* detour: a prepared HTTP/1.1 response as HTTP/2 fields (RFC 9113 §8.3.2).
 * The server renders every answer once, as the HTTP/1.1 bytes respond.h
 * writes (status line, header lines, body); an HTTP/2 stream sends the same
 * status, fields and body, split here without copying: names are lowered in
 * place (§8.2: upper case is malformed in HTTP/2) and the connection-specific
 * fields are left out (§8.2.2). The HTTP/2 session (src/server/h2.c) turns
 * the fields into HPACK and the body into DATA. */
#ifndef DETOUR_H2RESP_H
#define DETOUR_H2RESP_H

#include <stddef.h>

/* More fields than any response of respond.h has (Date, Server, Location,
 * cache headers, Vary, Set-Cookie, HSTS, Content-Type, Content-Length). */
#define DETOUR_H2_FIELDS_MAX 32

struct detour_h2_field {
	const char *name; /* lower case, inside the response's buffer */
	size_t name_len;
	const char *value; /* leading and trailing whitespace removed */
	size_t value_len;
};

struct detour_h2_resp {
	int status;
	const char *status_digits; /* the 3 digits of the status line, for :status */
	struct detour_h2_field f[DETOUR_H2_FIELDS_MAX];
	unsigned nf;
	const char *body; /* what follows the header section (none for HEAD) */
	size_t body_len;
};

/* Splits buf[0..len), one whole response "HTTP/1.x NNN reason\r\n" fields
 * "\r\n" body, into r. Lowers the field names in buf. Leaves out
 * Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding and Upgrade
 * (RFC 9113 §8.2.2). Returns 0, or -1 when buf is not such a response (no
 * status line, a line without a colon, no end of the header section, more
 * than DETOUR_H2_FIELDS_MAX fields). */
int detour_h2_response(char *buf, size_t len, struct detour_h2_resp *r);

#endif
