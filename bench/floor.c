/*
 * floor: the cheapest HTTP/1.1 redirect server we know how to write, as a yardstick for
 * bench/run.sh. One thread, one epoll loop, nonblocking sockets, keep-alive. It does not parse:
 * it counts the "\r\n\r\n" that end request heads (pipelined heads in one read, and heads split
 * over several reads, both count right) and owes one canned 307 per head. Whatever a read batch
 * brought in is answered with a single write. What it costs per request is what the system
 * calls cost; a real server can only add to it.
 *
 * Usage: floor [PORT] [close]   (listens on 127.0.0.1, default port 18089)
 *
 * With "close" (bench/run.sh scenario e, a new connection per request) every response carries
 * "Connection: close" and the connection is closed once it is written. The listener then
 * defers accepting until the request has arrived (TCP_DEFER_ACCEPT) and TCP_NODELAY is set
 * on it, inherited by every accepted socket, so a connection costs accept4, read, write and
 * close, and never enters the epoll set.
 *
 * Not a server to deploy: requests with a body are not understood, and nothing times out.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define COPIES  64 /* canned responses laid end to end: the most one write sends */
#define BODY    "<a href=\"/new\">/new</a>\n"

/* Per connection: responses owed, bytes of the first owed one already sent, how much of
 * "\r\n\r\n" the last read ended in. Indexed by fd, so no allocation after start. */
struct conn {
	uint32_t owed;
	uint32_t off;
	uint8_t match;
};

static struct conn conns[MAX_FDS];
static char copies[COPIES * 256];
static size_t resp_len;
static char inbuf[65536];
static int ep;
static int close_mode;

static void build_response(void)
{
	char one[256];
	int n = snprintf(one, sizeof one,
	                 "HTTP/1.1 307 Temporary Redirect\r\n"
	                 "Location: /new\r\n"
	                 "Date: Mon, 23 Nov 2026 00:00:00 GMT\r\n"
	                 "Content-Type: text/html; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\n"
	                 "%s"
	                 "\r\n" BODY,
	                 sizeof BODY - 1, close_mode ? "Connection: close\r\n" : "");
	resp_len = (size_t)n;
	for (int i = 0; i < COPIES; i++)
		memcpy(copies + (size_t)i * resp_len, one, resp_len);
}

static void drop(int fd)
{
	memset(&conns[fd], 0, sizeof conns[fd]);
	close(fd); /* closing removes the fd from the epoll set */
}

static void watch(int fd, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (epoll_ctl(ep, op, fd, &ev) < 0)
		drop(fd);
}

/* Count complete request heads in buf, carrying a partial terminator over to the next read. */
static uint32_t count_heads(struct conn *c, const char *buf, size_t len)
{
	static const char end[4] = {'\r', '\n', '\r', '\n'};
	uint32_t heads = 0;
	uint8_t m = c->match;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == end[m])
			m++;
		else
			m = buf[i] == '\r'; /* "\r" is the only proper prefix that can restart */
		if (m == 4) {
			heads++;
			m = 0;
		}
	}
	c->match = m;
	return heads;
}

/* Send what is owed, from the canned copies. Returns 0 when all is sent, 1 when the socket is
 * full (caller waits for EPOLLOUT), -1 when the connection is gone. */
static int flush(int fd)
{
	struct conn *c = &conns[fd];
	while (c->owed) {
		size_t want = (size_t)c->owed * resp_len - c->off;
		size_t room = COPIES * resp_len - c->off;
		ssize_t w = write(fd, copies + c->off, want < room ? want : room);
		if (w < 0)
			return errno == EAGAIN ? 1 : -1;
		size_t sent = c->off + (size_t)w;
		c->owed -= (uint32_t)(sent / resp_len);
		c->off = (uint32_t)(sent % resp_len);
		if ((size_t)w < (want < room ? want : room))
			return 1;
	}
	return 0;
}

static void on_readable(int fd)
{
	struct conn *c = &conns[fd];
	ssize_t n;
	do {
		n = read(fd, inbuf, sizeof inbuf);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			drop(fd);
			return;
		}
		if (n > 0)
			c->owed += count_heads(c, inbuf, (size_t)n);
	} while (n == (ssize_t)sizeof inbuf);
	int had = c->owed > 0;
	int r = flush(fd);
	if (r < 0 || (r == 0 && had && close_mode))
		drop(fd);
	else if (r > 0) /* stop reading until the client has taken what it asked for */
		watch(fd, EPOLLOUT, EPOLL_CTL_MOD);
}

/* close mode: read a new connection at once; returns 1 when it is done with (answered and
 * closed, or dropped), 0 when it must wait in the epoll set. */
static int answer_now(int fd)
{
	struct conn *c = &conns[fd];
	ssize_t n = read(fd, inbuf, sizeof inbuf);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		drop(fd);
		return 1;
	}
	if (n > 0)
		c->owed += count_heads(c, inbuf, (size_t)n);
	if (c->owed == 0)
		return 0;
	if (flush(fd) == 0) {
		drop(fd);
		return 1;
	}
	return 0; /* a partial write: not seen on loopback; the loop finishes it */
}

static void on_writable(int fd)
{
	int r = flush(fd);
	if (r < 0)
		drop(fd);
	else if (r == 0)
		watch(fd, EPOLLIN, EPOLL_CTL_MOD);
}

static void on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE: try again on the next wakeup */
		if (fd >= MAX_FDS) {
			close(fd);
			continue;
		}
		if (close_mode) {
			if (!answer_now(fd))
				watch(fd, conns[fd].owed ? EPOLLOUT : EPOLLIN, EPOLL_CTL_ADD);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		watch(fd, EPOLLIN, EPOLL_CTL_ADD);
	}
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 18089;
	close_mode = argc > 2 && !strcmp(argv[2], "close");
	if (port <= 0 || port > 65535 || (argc > 2 && !close_mode)) {
		fprintf(stderr, "usage: floor [PORT] [close]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	build_response();

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (close_mode) {
		setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one);
	}
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
		perror("floor: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("floor: epoll");
		return 1;
	}
	fprintf(stderr, "floor: listening on 127.0.0.1:%d\n", port);

	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno != EINTR) {
			perror("floor: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd)
				on_accept(lfd);
			else if (evs[i].events & EPOLLOUT)
				on_writable(fd);
			else
				on_readable(fd);
		}
	}
}
