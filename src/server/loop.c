/* detour server: epoll backend of loop.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_BATCH 256

struct loop {
	int epfd;
	void (*wake_hook)(void *arg);
	void *wake_arg;
	struct epoll_event events[LOOP_BATCH];
};

void loop_set_wake_hook(struct loop *l, void (*fn)(void *arg), void *arg)
{
	l->wake_hook = fn;
	l->wake_arg = arg;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l);
}

static uint32_t to_epoll(unsigned events)
{
	/* EPOLLRDHUP only with reads: while we wait to write, a half-closed
	 * peer would otherwise wake a level-triggered loop without end. */
	return ((events & LOOP_READ) ? EPOLLIN | EPOLLRDHUP : 0u) |
	       ((events & LOOP_WRITE) ? EPOLLOUT : 0u);
}

int loop_add(struct loop *l, struct loop_source *src, unsigned events)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = src};

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, src->fd, &ev);
}

int loop_mod(struct loop *l, struct loop_source *src, unsigned events)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = src};

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, src->fd, &ev);
}

int loop_del(struct loop *l, struct loop_source *src)
{
	/* Closing the fd would remove it too, but a fd may be shared (dup) or
	 * closed later than its removal; be explicit. */
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, src->fd, NULL);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->events, LOOP_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (l->wake_hook)
		l->wake_hook(l->wake_arg);
	for (int i = 0; i < n; i++) {
		struct loop_source *src = l->events[i].data.ptr;
		uint32_t e = l->events[i].events;
		unsigned ev = 0;

		if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			ev |= LOOP_READ;
		if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			ev |= LOOP_WRITE;
		src->on_event(src, ev);
	}
	return n;
}
