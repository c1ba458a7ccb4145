/* detour server: the access log, see accesslog.h. In the combined format
 * untrusted bytes are escaped as \xHH (and \" and \\), as nginx does; in
 * the json format strings are escaped by base/esc.c's esc_json_str. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "base/buf.h"
#include "base/esc.h"
#include "detour/config.h"
#include "log.h"

#define ALOG_CAP (128 * 1024)
/* A line never needs more (flush before when less is left): json escapes a
 * byte into at most 6, and the fields are cut at 2048 (target, Location),
 * 1024 (User-Agent, Referer), 256 (Host, rule id) and 64 (method) bytes. */
#define ALOG_LINE_MAX (48 * 1024)

void alog_init(struct alog *l, int fd, int format)
{
	l->fd = fd;
	l->format = format;
	l->iso_sec = (time_t)-1;
	l->len = 0;
	atomic_store(&l->dropped, 0);
	l->failing = false;
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
			/* Dropped: whole lines and the rest of a line cut
			 * short (the next ones still start on a line of their
			 * own after any partial write, as far as the file
			 * system allows). */
			uint64_t lines = 0;
			for (const char *p = l->buf + off, *end = l->buf + l->len;
			     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
				lines++;
			atomic_fetch_add_explicit(&l->dropped, lines, memory_order_relaxed);
			if (!l->failing)
				log_err("access log: write: %s; dropping lines until writes work "
				        "again (counted in detour_accesslog_dropped_total)",
				        strerror(errno));
			l->failing = true;
			l->len = 0;
			return;
		}
		off += (size_t)n;
	}
	if (l->failing)
		log_info("access log: writing again (%llu lines dropped so far)",
		         (unsigned long long)atomic_load(&l->dropped));
	l->failing = false;
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

static void combined(struct bbuf *b, const char *log_time, const struct alog_entry *e)
{
	const struct detour_request *req = e->req;

	bbuf_puts(b, e->peer[0] ? e->peer : "-");
	BBUF_LIT(b, " - - [");
	bbuf_puts(b, log_time);
	BBUF_LIT(b, "] \"");
	if (req && req->method) {
		put_esc(b, req->method, req->method_len, 64);
		bbuf_putc(b, ' ');
		put_esc(b, req->target, req->target_len, 2048);
		bbuf_puts(b, req->http2           ? " HTTP/2.0"
		             : req->minor_version ? " HTTP/1.1"
		                                  : " HTTP/1.0");
	} else {
		bbuf_putc(b, '-');
	}
	BBUF_LIT(b, "\" ");
	bbuf_put_uint(b, (uint64_t)e->status);
	bbuf_putc(b, ' ');
	bbuf_put_uint(b, e->bytes);
	BBUF_LIT(b, " \"");
	put_header(b, req, "referer", 7);
	BBUF_LIT(b, "\" \"");
	put_header(b, req, "user-agent", 10);
	BBUF_LIT(b, "\" \"");
	if (e->rule_id)
		put_esc(b, e->rule_id, strlen(e->rule_id), 256);
	else
		bbuf_putc(b, '-');
	BBUF_LIT(b, "\" \"");
	put_esc(b, e->loc, e->loc_len, 2048);
	BBUF_LIT(b, "\"\n");
}

/* ,"key":"s" with s[0..min(n, max)) escaped, or ,"key":null for a NULL s. */
static void jstr(struct bbuf *b, const char *key, size_t klen, const char *s, size_t n, size_t max)
{
	bbuf_put(b, key, klen);
	if (s == NULL) {
		BBUF_LIT(b, "null");
		return;
	}
	bbuf_putc(b, '"');
	esc_json_str(b, s, n < max ? n : max);
	bbuf_putc(b, '"');
}

#define JKEY(k) ",\"" k "\":", sizeof(",\"" k "\":") - 1

static void jheader(struct bbuf *b, const char *key, size_t klen, const struct detour_request *req,
                    const char *name, size_t nlen, size_t max)
{
	int i = req ? detour_http1_find(req, name, nlen, 0) : -1;

	if (i < 0)
		jstr(b, key, klen, NULL, 0, 0);
	else
		jstr(b, key, klen, req->headers[i].value, req->headers[i].value_len, max);
}

/* One JSON object, keys always present and in this order (null when
 * absent): docs/config.md "Access log". Built with the byte writer rather
 * than jansson: the worker's path allocates nothing (jansson allocates a
 * node per value and the dump), see docs/internals/server.md. */
static void json_line(struct alog *l, struct bbuf *b, time_t now, const struct alog_entry *e)
{
	const struct detour_request *req = e->req;
	bool parsed = req && req->method;

	if (now != l->iso_sec) {
		civil_format_rfc3339((int64_t)now, l->iso);
		l->iso_sec = now;
	}
	BBUF_LIT(b, "{\"time\":\"");
	bbuf_puts(b, l->iso);
	bbuf_putc(b, '"');
	jstr(b, JKEY("client"), e->peer[0] ? e->peer : NULL, strlen(e->peer), 64);
	jstr(b, JKEY("method"), parsed ? req->method : NULL, parsed ? req->method_len : 0, 64);
	jstr(b, JKEY("target"), parsed ? req->target : NULL, parsed ? req->target_len : 0, 2048);
	jheader(b, JKEY("host"), req, "host", 4, 256);
	jstr(b, JKEY("scheme"), e->https ? "https" : "http", e->https ? 5 : 4, 8);
	jstr(b, JKEY("protocol"),
	     parsed ? (req->http2           ? "HTTP/2.0"
	               : req->minor_version ? "HTTP/1.1"
	                                    : "HTTP/1.0")
	            : NULL,
	     8, 8);
	bbuf_put(b, JKEY("status"));
	bbuf_put_uint(b, (uint64_t)e->status);
	bbuf_put(b, JKEY("bytes"));
	bbuf_put_uint(b, e->bytes);
	bbuf_put(b, JKEY("duration_ms"));
	bbuf_put_uint(b, e->duration_ms);
	jstr(b, JKEY("rule"), e->rule_id, e->rule_id ? strlen(e->rule_id) : 0, 256);
	jstr(b, JKEY("origin"), e->origin, e->origin ? strlen(e->origin) : 0, 16);
	jstr(b, JKEY("location"), e->loc_len ? e->loc : NULL, e->loc_len, 2048);
	jheader(b, JKEY("user_agent"), req, "user-agent", 10, 1024);
	jheader(b, JKEY("referer"), req, "referer", 7, 1024);
	BBUF_LIT(b, "}\n");
}

void alog_request(struct alog *l, const char *log_time, time_t now, const struct alog_entry *e)
{
	struct bbuf b;

	if (l->buf == NULL)
		return;
	if (l->cap - l->len < ALOG_LINE_MAX)
		alog_flush(l);
	/* ALOG_LINE_MAX is room for the longest line: it always fits. */
	bbuf_fixed(&b, l->buf + l->len, l->cap - l->len);
	if (l->format == DETOUR_ALOG_JSON)
		json_line(l, &b, now, e);
	else
		combined(&b, log_time, e);
	if (bbuf_ok(&b))
		l->len += b.len;
}
