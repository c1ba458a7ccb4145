/* detour: what the two harnesses that drive a real connection share
 * (fuzz_server.c: a redirect-port connection through the worker;
 * fuzz_admin.c: an admin API connection). Like h2o's fuzz/driver.cc, the
 * input is what a client sends, cut into separate writes at every
 * "\n--MARK--\n", written into one end of a socketpair whose other end the
 * server adopted; the caller's step() runs one loop iteration without
 * waiting. After the last write the client shuts its side and reads until
 * the server has nothing more to say.
 *
 * check_responses(): the bytes read back are whole HTTP/1.1 responses, each
 * a status line with a reason phrase and a head ending in CRLF CRLF and Content-Length body bytes
 * (none for a HEAD's answer or a 100 Continue), and nothing follows one that says "Connection:
 * close". */
#ifndef DETOUR_FUZZ_SOCKFEED_H
#define DETOUR_FUZZ_SOCKFEED_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#define FEED_MARKER     "\n--MARK--\n"
#define FEED_MAX_WRITES 64
#define FEED_OUT_MAX    (4u << 20)

struct feed {
	int fd; /* the client's end */
	char *out;
	size_t len;
	bool eof;
	bool wrapped; /* more than FEED_OUT_MAX bytes came: not checked */
	int (*step)(void);
};

/* Reads what the server sent so far. */
static void feed_drain(struct feed *f)
{
	while (!f->eof) {
		if (f->len == FEED_OUT_MAX) {
			f->len = 0; /* a flood of answers: keep reading */
			f->wrapped = true;
		}
		ssize_t n = read(f->fd, f->out + f->len, FEED_OUT_MAX - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			f->eof = true;
			return;
		}
		f->len += (size_t)n;
	}
}

/* Runs the loop until it has nothing more to do, reading as it goes. */
static void feed_settle(struct feed *f)
{
	for (int i = 0; i < 1000; i++) {
		int n = f->step();
		size_t before = f->len;
		feed_drain(f);
		if (n == 0 && f->len == before)
			return;
	}
}

/* Writes the input, write by write, then shuts the client's side. */
static void feed_run(struct feed *f, const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *end = in + size;

	feed_settle(f);
	for (int i = 0; in < end && !f->eof; i++) {
		const char *m = i < FEED_MAX_WRITES - 1
		                        ? memmem(in, (size_t)(end - in), FEED_MARKER,
		                                 sizeof(FEED_MARKER) - 1)
		                        : NULL;
		const char *stop = m ? m : end;
		for (int stalls = 0; in < stop && !f->eof;) {
			ssize_t n = write(f->fd, in, (size_t)(stop - in));
			if (n < 0 && errno == EAGAIN) {
				/* The socket is full: the server reads, or has
				 * stopped reading (its output backed up, a closing
				 * connection): let it run, then try again. */
				if (++stalls > 100)
					break;
				feed_settle(f);
				continue;
			}
			if (n <= 0)
				break; /* the server closed */
			in += n;
			feed_settle(f);
		}
		if (m == NULL)
			break;
		in = m + sizeof(FEED_MARKER) - 1;
	}
	shutdown(f->fd, SHUT_WR);
	feed_settle(f);
	if (getenv("FUZZ_SHOW")) /* what the client read, for a look */
		fwrite(f->out, 1, f->len, stderr);
}

static const char *feed_find(const char *p, const char *end, const char *s)
{
	return memmem(p, (size_t)(end - p), s, strlen(s));
}

/* HTTP/2 (h2c by prior knowledge, RFC 9113 §3.3): the bytes read are whole
 * frames (§4.1: a 9-byte header, then length bytes), the first the server's
 * SETTINGS on stream 0 (§3.4), every SETTINGS payload a multiple of 6
 * (§6.5), only the frame types of §6 and no reserved stream-id bit set. */
static void feed_check_h2(const unsigned char *p, const unsigned char *end)
{
	bool first = true;

	while (p < end) {
		CHECK(end - p >= 9);
		size_t len = (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
		unsigned type = p[3];
		uint32_t sid =
		        (uint32_t)p[5] << 24 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
		CHECK(type <= 0x9 && !(sid & 0x80000000u));
		CHECK((size_t)(end - p) - 9 >= len);
		if (type == 0x4)
			CHECK(sid == 0 && len % 6 == 0);
		if (first)
			CHECK(type == 0x4 && !(p[4] & 0x1));
		first = false;
		p += 9 + len;
	}
}

/* The bytes read are whole responses, and nothing follows a close. */
static void feed_check_responses(const struct feed *f)
{
	const char *p = f->out, *end = f->out + f->len;

	if (f->wrapped)
		return;
	/* A connection that began with the HTTP/2 preface is answered in
	 * frames, starting with the server's SETTINGS (type 4, stream 0). */
	if (end - p >= 9 && p[3] == 0x4 && !memcmp(p + 5, "\0\0\0\0", 4)) {
		feed_check_h2((const unsigned char *)p, (const unsigned char *)end);
		return;
	}
	while (p < end) {
		CHECK((size_t)(end - p) >= 9 && memcmp(p, "HTTP/1.1 ", 9) == 0);
		const char *he = feed_find(p, end, "\r\n\r\n");
		CHECK(he != NULL);
		/* "HTTP/1.1 DDD Reason": a status and a reason phrase (RFC 9112
		 * §4 allows an empty one; detour always sends its own). */
		CHECK(he - p > 14 && p[9] >= '1' && p[9] <= '5' && p[12] == ' ' && p[13] != '\r');
		he += 4;
		const char *cl = feed_find(p, he, "\r\nContent-Length: ");
		long body = cl ? strtol(cl + 18, NULL, 10) : 0;
		bool close = feed_find(p, he, "\r\nConnection: close\r\n") != NULL;
		CHECK(body >= 0);
		/* A HEAD's answer has a Content-Length and no body: the next
		 * response (or the end) follows the head at once. */
		if (body > 0 && (he == end || (end - he >= 9 && !memcmp(he, "HTTP/1.1 ", 9))))
			body = 0;
		CHECK(end - he >= body);
		p = he + body;
		if (close)
			CHECK(p == end);
	}
}

#endif
