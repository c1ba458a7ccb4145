/* detour server: the access log, see accesslog.h. Untrusted bytes are
 * escaped as \xHH (and \" and \\), as nginx does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "log.h"

#define ALOG_CAP      (128 * 1024)
#define ALOG_LINE_MAX (32 * 1024) /* a line never needs more; flush before if less is left */

void alog_init(struct alog *l, int fd)
{
	l->fd = fd;
	l->len = 0;
	l->buf = fd >= 0 ? malloc(ALOG_CAP) : NULL;
	l->cap = l->buf ? ALOG_CAP : 0;
}

void alog_fini(struct alog *l)
{
	alog_flush(l);
	free(l->buf);
	l->buf = NULL;
}

void alog_flush(struct alog *l)
{
	size_t off = 0;

	if (l->buf == NULL || l->len == 0)
		return;
	while (off < l->len) {
		ssize_t n = write(l->fd, l->buf + off, l->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("access log: write: %s (%zu bytes dropped)", strerror(errno),
			        l->len - off);
			break;
		}
		off += (size_t)n;
	}
	l->len = 0;
}

static char *put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

/* Appends s quoted-safe; at most max input bytes are logged. */
static char *put_esc(char *p, const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";

	if (s == NULL || len == 0) {
		*p++ = '-';
		return p;
	}
	if (len > max)
		len = max;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		} else {
			*p++ = (char)ch;
		}
	}
	return p;
}

static char *put_uint(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_header(char *p, const struct detour_request *req, const char *name, size_t nlen)
{
	int i = req ? detour_http1_find(req, name, nlen, 0) : -1;

	if (i < 0)
		return put(p, "-", 1);
	return put_esc(p, req->headers[i].value, req->headers[i].value_len, 1024);
}

void alog_request(struct alog *l, const char *log_time, const char *peer,
                  const struct detour_request *req, int status, size_t bytes,
                  const struct detour_ruleset *rules, const struct detour_match *m, const char *loc,
                  size_t loc_len)
{
	char *p;

	if (l->buf == NULL)
		return;
	if (l->cap - l->len < ALOG_LINE_MAX)
		alog_flush(l);
	p = l->buf + l->len;
	p = put(p, peer[0] ? peer : "-", peer[0] ? strlen(peer) : 1);
	p = put(p, " - - [", 6);
	p = put(p, log_time, strlen(log_time));
	p = put(p, "] \"", 3);
	if (req && req->method) {
		p = put_esc(p, req->method, req->method_len, 64);
		*p++ = ' ';
		p = put_esc(p, req->target, req->target_len, 2048);
		p = put(p, req->minor_version ? " HTTP/1.1" : " HTTP/1.0", 9);
	} else {
		*p++ = '-';
	}
	p = put(p, "\" ", 2);
	p = put_uint(p, (uint64_t)status);
	*p++ = ' ';
	p = put_uint(p, bytes);
	p = put(p, " \"", 2);
	p = put_header(p, req, "referer", 7);
	p = put(p, "\" \"", 3);
	p = put_header(p, req, "user-agent", 10);
	p = put(p, "\" \"", 3);
	if (m) {
		char idbuf[512];
		const char *id = detour_rule_id(rules, m->rule, idbuf, sizeof(idbuf));
		p = put_esc(p, id, strlen(id), 256);
	} else {
		*p++ = '-';
	}
	p = put(p, "\" \"", 3);
	p = put_esc(p, loc, loc_len, 2048);
	p = put(p, "\"\n", 2);
	l->len = (size_t)(p - l->buf);
}
