/* detour server: a small event loop over epoll, one per worker thread (like
 * redis's ae.c, without its timers: timeouts live in the worker's deadline
 * lists, see worker.c). Level-triggered, so a handler may read once per
 * wake-up and be called again while data remains: a request costs one read. */
#ifndef DETOUR_LOOP_H
#define DETOUR_LOOP_H

#include <stdint.h>

#define LOOP_READ  0x1u
#define LOOP_WRITE 0x2u

struct loop;

/* Every registered object starts with this; the loop calls on_event with the
 * events that fired (LOOP_READ / LOOP_WRITE, errors and hang-ups reported as
 * both). */
struct loop_source {
	int fd;
	void (*on_event)(struct loop_source *src, unsigned events);
};

/* Returns a new loop, or NULL with errno set. */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Register, change or remove src->fd. Return 0 or -1 with errno. */
int loop_add(struct loop *l, struct loop_source *src, unsigned events);
int loop_mod(struct loop *l, struct loop_source *src, unsigned events);
int loop_del(struct loop *l, struct loop_source *src);

/* Waits up to timeout_ms (-1: forever) and dispatches what fired. Returns the
 * number of events dispatched, or -1 with errno (EINTR is returned as 0). */
int loop_run_once(struct loop *l, int timeout_ms);

/* Makes loop_run_once call fn(arg) as soon as the wait returns, before any
 * handler runs. The worker refreshes its clock there: a deadline that a
 * handler sets must count from the wake-up, not from before a wait that may
 * have lasted a second. fn and arg are borrowed. */
void loop_set_wake_hook(struct loop *l, void (*fn)(void *arg), void *arg);

#endif
