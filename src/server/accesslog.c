/* detour server: the access log. The combined log format (Apache's
 *   %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i")
 * followed by the matched rule's id and the Location sent, both quoted, "-"
 * when absent. Each worker formats lines into its own buffer and writes
 * whole buffers with one write() to a descriptor opened O_APPEND, so lines of
 * different workers never interleave; buffers are flushed when nearly full,
 * at least once a second, on SIGUSR1 (before the reopen) and at exit.
 * Untrusted bytes are escaped as \xHH (and \" and \\), as nginx does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detour/rulefile.h"
#include "worker.h"

#define ALOG_CAP      (128 * 1024)
#define ALOG_LINE_MAX (32 * 1024) /* a line never needs more; flush before if less is left */

void alog_init(struct worker *w)
{
	if (w->srv->access_fd < 0)
		return;
	w->alog = malloc(ALOG_CAP);
	w->alog_cap = w->alog ? ALOG_CAP : 0;
	w->alog_len = 0;
}

void alog_fini(struct worker *w)
{
	alog_flush(w);
	free(w->alog);
	w->alog = NULL;
}

void alog_flush(struct worker *w)
{
	size_t off = 0;

	if (w->alog == NULL || w->alog_len == 0)
		return;
	while (off < w->alog_len) {
		ssize_t n = write(w->srv->access_fd, w->alog + off, w->alog_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("access log: write: %s (%zu bytes dropped)", strerror(errno),
			        w->alog_len - off);
			break;
		}
		off += (size_t)n;
	}
	w->alog_len = 0;
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

void alog_request(struct worker *w, const struct conn *c, const struct detour_request *req,
                  int status, size_t bytes, const struct detour_match *m, const char *loc,
                  size_t loc_len)
{
	char *p;

	if (w->alog == NULL)
		return;
	if (w->alog_cap - w->alog_len < ALOG_LINE_MAX)
		alog_flush(w);
	p = w->alog + w->alog_len;
	p = put(p, c->peer[0] ? c->peer : "-", c->peer[0] ? strlen(c->peer) : 1);
	p = put(p, " - - [", 6);
	p = put(p, w->log_time, strlen(w->log_time));
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
		const char *id =
		        detour_rule_id(detour_table_rules(w->table), m->rule, idbuf, sizeof(idbuf));
		p = put_esc(p, id, strlen(id), 256);
	} else {
		*p++ = '-';
	}
	p = put(p, "\" \"", 3);
	p = put_esc(p, loc, loc_len, 2048);
	p = put(p, "\"\n", 2);
	w->alog_len = (size_t)(p - w->alog);
}
