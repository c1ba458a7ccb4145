/* detour server: the reload thread, see reloader.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reloader.h"

enum phase { IDLE, BUILDING, PUBLISHING };

struct reloader {
	struct reload_ops ops;
	pthread_t thread;
	pthread_mutex_t lock;
	/* Signalled on a request, a stop, the end of a reload and the
	 * thread's end. */
	pthread_cond_t cond;
	bool pending; /* a reload was asked for since the last one started */
	bool stop;
	bool exited; /* the thread returned (joinable without waiting) */
	enum phase phase;
	uint64_t started;            /* reloads started: the last one's ticket */
	struct reload_wait *waiting; /* requesters not answered yet */
};

static void answer_one(struct reload_wait *w, int rc, const char *err, size_t nrules)
{
	void (*wake)(void *) = w->wake;
	void *arg = w->arg;

	w->rc = rc;
	w->nrules = nrules;
	snprintf(w->err, sizeof(w->err), "%s", rc ? err : "");
	/* From here w belongs to its requester again (it may free it). */
	atomic_store_explicit(&w->done, true, memory_order_release);
	if (wake)
		wake(arg);
}

/* Under r->lock: the requesters of reload `ticket`. */
static void answer(struct reloader *r, uint64_t ticket, int rc, const char *err, size_t nrules)
{
	for (struct reload_wait **p = &r->waiting; *p;) {
		struct reload_wait *w = *p;
		if (w->ticket != ticket) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		answer_one(w, rc, err, nrules);
	}
}

static void *run(void *arg)
{
	struct reloader *r = arg;
	char err[1024];

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->pending && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop)
			break;
		r->pending = false;
		uint64_t ticket = ++r->started;
		void *job = r->ops.prepare(r->ops.arg);
		r->phase = BUILDING;
		pthread_mutex_unlock(&r->lock);

		int rc = -1;
		size_t nrules = 0;
		if (job == NULL)
			snprintf(err, sizeof(err), "out of memory");
		else
			rc = r->ops.build(job, err, sizeof(err));

		pthread_mutex_lock(&r->lock);
		if (r->stop) {
			/* Abandoned while it built: nothing of it is published,
			 * and nothing but the job is touched (the server may be
			 * gone). */
			r->phase = IDLE;
			pthread_mutex_unlock(&r->lock);
			if (job)
				r->ops.discard(job);
			pthread_mutex_lock(&r->lock);
			break;
		}
		if (rc == 0) {
			r->phase = PUBLISHING;
			pthread_mutex_unlock(&r->lock);
			rc = r->ops.publish(r->ops.arg, job, err, sizeof(err), &nrules);
			pthread_mutex_lock(&r->lock);
		} else if (job) {
			r->ops.discard(job);
		}
		r->phase = IDLE;
		r->ops.counted(r->ops.arg, rc);
		answer(r, ticket, rc, err, nrules);
		pthread_cond_broadcast(&r->cond); /* a stop waiting for the publish */
	}
	r->exited = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct reloader *reloader_start(const struct reload_ops *ops, char *err, size_t cap)
{
	struct reloader *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, cap, "reload thread: out of memory");
		return NULL;
	}
	r->ops = *ops;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	errno = pthread_create(&r->thread, NULL, run, r);
	if (errno) {
		snprintf(err, cap, "reload thread: pthread_create: %s", strerror(errno));
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

void reloader_request(struct reloader *r, struct reload_wait *w)
{
	pthread_mutex_lock(&r->lock);
	if (w)
		atomic_store(&w->done, false);
	if (r->stop) {
		if (w)
			answer_one(w, -1, "the server is stopping", 0);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	/* The next reload to start serves it: one that runs now may have read
	 * the files before they were changed. */
	r->pending = true;
	if (w) {
		w->ticket = r->started + 1;
		w->next = r->waiting;
		r->waiting = w;
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void reloader_forget(struct reloader *r, struct reload_wait *w)
{
	pthread_mutex_lock(&r->lock);
	for (struct reload_wait **p = &r->waiting; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

bool reloader_stop(struct reloader *r)
{
	bool abandoned;

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	while (r->phase == PUBLISHING)
		pthread_cond_wait(&r->cond, &r->lock);
	abandoned = r->phase == BUILDING;
	r->waiting = NULL;
	pthread_mutex_unlock(&r->lock);
	return abandoned;
}

bool reloader_finish(struct reloader *r, unsigned wait_ms)
{
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	at.tv_sec += wait_ms / 1000;
	at.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	while (!r->exited && pthread_cond_timedwait(&r->cond, &r->lock, &at) != ETIMEDOUT)
		;
	bool exited = r->exited;
	pthread_mutex_unlock(&r->lock);
	if (!exited)
		return false;
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return true;
}
