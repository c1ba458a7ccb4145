/* detour server: timed waits of the background threads (the health prober,
 * the ACME client) on a condition variable that runs on CLOCK_MONOTONIC, so
 * that a step of the wall clock neither stretches nor cuts a wait. */
#ifndef DETOUR_TIMED_H
#define DETOUR_TIMED_H

#include <pthread.h>
#include <time.h>

/* Initialises c to time its waits on CLOCK_MONOTONIC. */
static inline void timed_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

/* The absolute time ms from now, for pthread_cond_timedwait on such a c. */
static inline void timed_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

#endif
