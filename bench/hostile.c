/* bench/hostile.c: the attacking clients of bench/hostile.sh and bench/soak.sh (not part of
 * detour). One epoll thread holds N connections to 127.0.0.1:PORT and keeps them attacking,
 * reconnecting each one the server closes, for SECONDS (0: until SIGTERM or SIGINT):
 *
 *   slowloris  each connection sends a request line, then one more header line every
 *              INTERVAL ms (default 1000), and never ends its head
 *   slowread   each connection writes pipelined "GET PATH" requests whenever its socket takes
 *              them and never reads an answer
 *
 * It prints, at the end, one line of counts: connections opened, closed by the server, bytes
 * sent. Built by the scripts with `cc -O2 bench/hostile.c -o bench/out/bin/hostile`.
 *
 *   hostile PORT slowloris|slowread N [SECONDS [PATH [INTERVAL_MS]]] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct hc {
	int fd;
	uint64_t next_ms; /* slowloris: when the next header line is due */
	bool connected;
};

static volatile sig_atomic_t stop;
static struct sockaddr_in addr;
static int ep;
static bool loris;
static char pipe_buf[65536];
static size_t pipe_len;
static char line[256];
static unsigned long long opened, closed_by_server, sent;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void hc_open(struct hc *h, uint64_t now, unsigned interval)
{
	struct epoll_event ev = {.data.ptr = h};

	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		perror("socket");
		exit(1);
	}
	if (!loris) {
		/* The attacker's own send queue: on loopback it is memory and copying on the
		 * machine under test (autotuned, 4 MiB a connection), which a remote attacker's
		 * would not be. What reaches the server is the same. */
		int sndbuf = 64 * 1024;
		setsockopt(h->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}
	if (connect(h->fd, (struct sockaddr *)&addr, sizeof(addr)) && errno != EINPROGRESS) {
		close(h->fd);
		h->fd = -1; /* tried again on the next tick */
		return;
	}
	opened++;
	h->connected = false;
	/* Spread the header lines over the interval. */
	h->next_ms = now + (unsigned)rand() % (interval ? interval : 1);
	/* slowread: edge-triggered writability only, so a connection the server no longer reads
	 * from costs this process nothing. Both: EPOLLRDHUP to see the server close. */
	ev.events = EPOLLOUT | EPOLLRDHUP | (loris ? 0 : EPOLLET);
	epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev);
}

static void hc_close(struct hc *h)
{
	close(h->fd);
	h->fd = -1;
	closed_by_server++;
}

static bool hc_send(struct hc *h, const char *p, size_t n)
{
	ssize_t w = send(h->fd, p, n, MSG_NOSIGNAL);

	if (w < 0) {
		if (errno == EAGAIN)
			return false;
		hc_close(h);
		return false;
	}
	sent += (unsigned long long)w;
	return (size_t)w == n;
}

int main(int argc, char **argv)
{
	unsigned n, secs = 0, interval = 1000;
	const char *path = "/old";
	struct hc *hs;
	struct epoll_event evs[256];
	uint64_t end;

	if (argc < 4) {
		fprintf(stderr, "usage: hostile PORT slowloris|slowread N [SECONDS [PATH "
		                "[INTERVAL_MS]]]\n");
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	loris = !strcmp(argv[2], "slowloris");
	if (!loris && strcmp(argv[2], "slowread")) {
		fprintf(stderr, "hostile: unknown mode %s\n", argv[2]);
		return 2;
	}
	n = (unsigned)atoi(argv[3]);
	if (argc > 4)
		secs = (unsigned)atoi(argv[4]);
	if (argc > 5)
		path = argv[5];
	if (argc > 6)
		interval = (unsigned)atoi(argv[6]);
	snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\nHost: x\r\n", path);
	{
		char req[512];
		int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
		while (pipe_len + (size_t)rl <= sizeof(pipe_buf)) {
			memcpy(pipe_buf + pipe_len, req, (size_t)rl);
			pipe_len += (size_t)rl;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	hs = calloc(n, sizeof(*hs));
	if (ep < 0 || hs == NULL)
		return 1;
	end = secs ? now_ms() + secs * 1000u : UINT64_MAX;
	for (unsigned i = 0; i < n; i++)
		hc_open(&hs[i], now_ms(), interval);
	while (!stop && now_ms() < end) {
		int k = epoll_wait(ep, evs, 256, 50);
		uint64_t now = now_ms();

		for (int i = 0; i < k; i++) {
			struct hc *h = evs[i].data.ptr;
			if (h->fd < 0)
				continue;
			if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				hc_close(h);
				continue;
			}
			if (!h->connected) {
				h->connected = true;
				if (loris) {
					/* Level-triggered writability is of no use any more. */
					struct epoll_event ev = {.events = EPOLLRDHUP,
					                         .data.ptr = h};
					epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
					hc_send(h, line, strlen(line));
					continue;
				}
			}
			if (!loris)
				while (h->fd >= 0 && hc_send(h, pipe_buf, pipe_len))
					;
		}
		for (unsigned i = 0; i < n; i++) {
			struct hc *h = &hs[i];
			if (h->fd < 0) {
				hc_open(h, now, interval);
				continue;
			}
			if (loris && h->connected && now >= h->next_ms) {
				h->next_ms = now + interval;
				hc_send(h, "X-a: b\r\n", 8);
			}
		}
	}
	printf("opened %llu closed-by-server %llu sent-bytes %llu\n", opened, closed_by_server,
	       sent);
	return 0;
}
