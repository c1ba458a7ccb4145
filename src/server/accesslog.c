/* detour server: the access log, see accesslog.h. Untrusted bytes are
 * escaped as \xHH (and \" and \\), as nginx does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "base/buf.h"
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

/* Appends s quoted-safe; at most max input bytes are logged. */
static void put_esc(struct bbuf *b, const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";

	if (s == NULL || len == 0) {
		bbuf_putc(b, '-');
		return;
	}
	if (len > max)
		len = max;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			bbuf_put(b, e, 2);
		} else if (ch < 0x20 || ch >= 0x7f) {
			char e[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
			bbuf_put(b, e, 4);
		} else {
			bbuf_putc(b, (char)ch);
		}
	}
}

static void put_header(struct bbuf *b, const struct detour_request *req, const char *name,
                       size_t nlen)
{
	int i = req ? detour_http1_find(req, name, nlen, 0) : -1;

	if (i < 0)
		bbuf_putc(b, '-');
	else
		put_esc(b, req->headers[i].value, req->headers[i].value_len, 1024);
}

void alog_request(struct alog *l, const char *log_time, const char *peer,
                  const struct detour_request *req, int status, size_t bytes, const char *rule_id,
                  const char *loc, size_t loc_len)
{
	struct bbuf b;

	if (l->buf == NULL)
		return;
	if (l->cap - l->len < ALOG_LINE_MAX)
		alog_flush(l);
	/* ALOG_LINE_MAX is room for the longest line: it always fits. */
	bbuf_fixed(&b, l->buf + l->len, l->cap - l->len);
	bbuf_puts(&b, peer[0] ? peer : "-");
	BBUF_LIT(&b, " - - [");
	bbuf_puts(&b, log_time);
	BBUF_LIT(&b, "] \"");
	if (req && req->method) {
		put_esc(&b, req->method, req->method_len, 64);
		bbuf_putc(&b, ' ');
		put_esc(&b, req->target, req->target_len, 2048);
		bbuf_puts(&b, req->minor_version ? " HTTP/1.1" : " HTTP/1.0");
	} else {
		bbuf_putc(&b, '-');
	}
	BBUF_LIT(&b, "\" ");
	bbuf_put_uint(&b, (uint64_t)status);
	bbuf_putc(&b, ' ');
	bbuf_put_uint(&b, bytes);
	BBUF_LIT(&b, " \"");
	put_header(&b, req, "referer", 7);
	BBUF_LIT(&b, "\" \"");
	put_header(&b, req, "user-agent", 10);
	BBUF_LIT(&b, "\" \"");
	if (rule_id)
		put_esc(&b, rule_id, strlen(rule_id), 256);
	else
		bbuf_putc(&b, '-');
	BBUF_LIT(&b, "\" \"");
	put_esc(&b, loc, loc_len, 2048);
	BBUF_LIT(&b, "\"\n");
	if (bbuf_ok(&b))
		l->len += b.len;
}
