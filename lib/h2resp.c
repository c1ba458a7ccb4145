/* detour: a prepared HTTP/1.1 response as HTTP/2 fields, see h2resp.h. */
#include <string.h>

#include "base/ascii.h"
#include "detour/h2resp.h"

/* RFC 9113 §8.2.2: fields that are only about the HTTP/1.1 connection;
 * an HTTP/2 message carrying one is malformed. n is in lower case. */
static int connection_specific(const char *n, size_t len)
{
	switch (len) {
	case 7:
		return !memcmp(n, "upgrade", 7);
	case 10:
		return !memcmp(n, "connection", 10) || !memcmp(n, "keep-alive", 10);
	case 16:
		return !memcmp(n, "proxy-connection", 16);
	case 17:
		return !memcmp(n, "transfer-encoding", 17);
	}
	return 0;
}

int detour_h2_response(char *buf, size_t len, struct detour_h2_resp *r)
{
	char *p = buf, *end = buf + len, *eol;

	r->nf = 0;
	/* "HTTP/1.1 301 Moved Permanently\r\n" */
	if (len < 14 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ' || p[9] < '1' || p[9] > '9' ||
	    !ascii_is_digit(p[10]) || !ascii_is_digit(p[11]) || (p[12] != ' ' && p[12] != '\r'))
		return -1;
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->status_digits = p + 9;
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		return -1;
	p = eol + 1;
	for (;;) {
		char *colon, *v, *ve;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL || eol == p || eol[-1] != '\r')
			return -1;
		if (eol == p + 1)
			break; /* the empty line */
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return -1;
		for (char *q = p; q < colon; q++)
			*q = ascii_lower(*q);
		v = colon + 1;
		ve = eol - 1;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (!connection_specific(p, (size_t)(colon - p))) {
			if (r->nf == DETOUR_H2_FIELDS_MAX)
				return -1;
			r->f[r->nf++] = (struct detour_h2_field){p, (size_t)(colon - p), v,
			                                         (size_t)(ve - v)};
		}
		p = eol + 1;
	}
	r->body = eol + 1;
	r->body_len = (size_t)(end - (eol + 1));
	return 0;
}
