/* detour server: a worker thread, see worker.h: the loop, the listeners,
 * accept, the clocks and the per-iteration snapshots; the connections are
 * conn.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/civil.h"
#include "budget.h"
#include "detour/respond.h"
#include "listen.h"
#include "log.h"
#include "route.h"
#include "worker.h"

#define ACCEPT_BATCH    64
#define LINGER_MS       2000
#define ACCEPT_PAUSE_MS 100

unsigned worker_flush_ack(const struct worker *w)
{
	return atomic_load(&w->flush_ack);
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake.fd, &one, sizeof(one)) < 0) {
		/* The counter is saturated only if the worker is stuck; it
		 * still wakes up within a second. */
	}
}

static void listeners_enable(struct worker *w, bool on)
{
	for (unsigned i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];
		if (l->src.fd < 0 || l->active == on)
			continue;
		if (on ? loop_add(w->cs.loop, &l->src, LOOP_READ) : loop_del(w->cs.loop, &l->src))
			log_err("worker %u: epoll_ctl on listener: %s", w->id, strerror(errno));
		l->active = on;
	}
}

/* conn.h's closed hook: below the cap again, accept again. */
static void conn_set_closed(struct conns *cs)
{
	struct worker *w = (struct worker *)(void *)((char *)cs - offsetof(struct worker, cs));

	if (!cs->draining && cs->nconns + 1 == w->max_conns && w->accept_paused_until_ms == 0)
		listeners_enable(w, true);
}

static void on_accept(struct loop_source *src, unsigned events)
{
	struct listener *l = (struct listener *)src;
	struct worker *w = l->w;

	for (int i = 0; i < ACCEPT_BATCH && w->cs.nconns < w->max_conns; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd =
		        accept4(src->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors or memory: stop accepting for a
				 * moment instead of spinning on a level-triggered
				 * listener; connections that close free room. */
				if (w->accept_pauses++ == 0) /* once, not every pause */
					log_warn("worker %u: accept: %s; pausing accept for %d ms "
					         "at a time until it works again",
					         w->id, strerror(errno), ACCEPT_PAUSE_MS);
				listeners_enable(w, false);
				w->accept_paused_until_ms = w->cs.now_ms + ACCEPT_PAUSE_MS;
				return;
			}
			log_err("worker %u: accept: %s", w->id, strerror(errno));
			return;
		}
		if (w->accept_pauses) {
			log_info("worker %u: accepting again after %u pauses", w->id,
			         w->accept_pauses);
			w->accept_pauses = 0;
		}
		w->cs.nconns++;
		conn_accepted(&w->cs, fd, (struct sockaddr *)&ss, (uint8_t)(l - w->listeners));
	}
	if (w->cs.nconns >= w->max_conns)
		listeners_enable(w, false); /* at the cap: the kernel queues, we do not crash */
}

/* DETOUR_NOW=<RFC 3339>: the wall clock starts at that instant and runs on
 * (for testing time windows, docs/rules.md). Read once, by the first worker;
 * the offset applies to Date, Expires, windows and the access log. */
static int64_t clock_offset;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

static void clock_offset_init(void)
{
	const char *v = getenv("DETOUR_NOW");
	int64_t t;
	int rc = civil_now_override(v, &t);

	if (rc == 0)
		return;
	if (rc < 0) {
		log_err("DETOUR_NOW=%s is not an RFC 3339 time: ignored, the real clock is used",
		        v);
		return;
	}
	clock_offset = t - (int64_t)time(NULL);
	log_warn("DETOUR_NOW=%s: THE CLOCK IS OVERRIDDEN (offset %lld s from the real time); "
	         "time windows, Date and Expires follow it. Testing only.",
	         v, (long long)clock_offset);
}

static void refresh_clock(struct worker *w)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	w->cs.now_ms = (uint64_t)mono.tv_sec * 1000u + (uint64_t)mono.tv_nsec / 1000000u;
	clock_gettime(CLOCK_REALTIME_COARSE, &real);
	pthread_once(&clock_once, clock_offset_init);
	real.tv_sec += (time_t)clock_offset;
	if (real.tv_sec != w->cs.now_sec) {
		struct tm tm;
		w->cs.now_sec = real.tv_sec;
		civil_http_date(w->cs.now_sec, w->cs.date);
		/* The access log's time is the Common Log Format's (as
		 * Apache and nginx write it), not RFC 3339, so not
		 * base/civil.h's: its one writer is here, once a second,
		 * off the request path (gmtime_r's lock does not matter).
		 * detour never calls setlocale: %b is the C locale's. */
		gmtime_r(&w->cs.now_sec, &tm);
		strftime(w->cs.log_time, sizeof(w->cs.log_time), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	}
}

static void on_loop_wake(void *arg)
{
	refresh_clock(arg);
}

static void on_wake(struct loop_source *src, unsigned events)
{
	uint64_t v;

	if (read(src->fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another wake-up already drained it. */
	}
}

static int next_timeout(struct worker *w)
{
	/* At least once a second: generations, log flush. */
	uint64_t next = conn_next_deadline(&w->cs, w->cs.now_ms + 1000);

	if (conn_has_ready(&w->cs))
		return 0; /* connections are owed a turn: look for events, do not wait */

	if (w->accept_paused_until_ms && w->accept_paused_until_ms < next)
		next = w->accept_paused_until_ms;
	return next > w->cs.now_ms ? (int)(next - w->cs.now_ms) : 0;
}

static void start_drain(struct worker *w)
{
	w->drain_deadline_ms = w->cs.now_ms + w->cs.timeouts_ms[LIST_ACTIVE];
	for (unsigned i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];
		if (l->active)
			loop_del(w->cs.loop, &l->src);
		l->active = false;
		if (l->src.fd >= 0)
			close(l->src.fd);
		l->src.fd = -1;
	}
	conn_drain_all(&w->cs);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *pool = w->pool;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	refresh_clock(w);
	for (;;) {
		/* Our generation, then the snapshots of this iteration. */
		publish_enter(pool->pub, w->id, &w->cs.view);
		atomic_store_explicit(&w->cs.st->conns, w->cs.nconns, memory_order_relaxed);
		stats_topk_snapshot(w->cs.st, atomic_load(&pool->topk_gen));

		if (!w->cs.draining && atomic_load(&pool->stopping))
			start_drain(w);
		if (w->cs.draining && (w->cs.nconns == 0 || w->cs.now_ms >= w->drain_deadline_ms))
			break;
		unsigned fg = atomic_load(&pool->flush_gen);
		if (fg != w->flush_seen) {
			alog_flush(&w->cs.alog);
			w->flush_seen = fg;
			atomic_store(&w->flush_ack, fg);
		}

		/* The clock is refreshed when the wait returns, before the
		 * handlers run (on_loop_wake), and again after them. */
		uint64_t before = w->cs.now_sec;
		int n = loop_run_once(w->cs.loop, next_timeout(w));
		conn_run_ready(&w->cs); /* the turns owed, after the batch (budget.h) */
		/* The hits of this iteration belong to the tables loaded at
		 * its top: count them before the next one may load newer. */
		if (w->cs.st->ring_n)
			stats_drain(w->cs.st, &w->cs.view, w->id, (uint32_t)w->cs.now_sec);
		if (n < 0) {
			log_err("worker %u: epoll_wait: %s", w->id, strerror(errno));
			break;
		}
		refresh_clock(w);
		if ((uint64_t)w->cs.now_sec != before)
			alog_flush(&w->cs.alog); /* at least once a second */
		if (w->accept_paused_until_ms && w->cs.now_ms >= w->accept_paused_until_ms) {
			w->accept_paused_until_ms = 0;
			if (!w->cs.draining && w->cs.nconns < w->max_conns)
				listeners_enable(w, true);
		}
		conn_expire(&w->cs);
	}
	/* Past the drain deadline: whatever is left is cut. */
	conn_close_all(&w->cs);
	alog_flush(&w->cs.alog);
	publish_leave(pool->pub, w->id);
	return NULL;
}

int worker_prepare(struct pool *p, unsigned id, char *err, size_t cap)
{
	const struct detour_config *conf = p->conf;
	struct worker *w = &p->w[id];

	memset(w, 0, sizeof(*w));
	w->pool = p;
	w->id = id;
	w->cs.limits = conf->limits;
	w->cs.http2 = conf->http2;
	w->max_conns = p->max_conns;
	w->cs.timeouts_ms[LIST_ACTIVE] = conf->header_timeout_ms;
	w->cs.timeouts_ms[LIST_IDLE] = conf->keepalive_timeout_ms;
	w->cs.timeouts_ms[LIST_LINGER] = LINGER_MS;
	w->cs.buf_limit = conf->buffer_memory;
	w->cs.id = id;
	w->cs.closed = conn_set_closed;
	w->cs.tls = p->tls;
	conn_set_init(&w->cs);
	w->wake.fd = -1;
	w->cs.loop = loop_new();
	if (w->cs.loop)
		loop_set_wake_hook(w->cs.loop, on_loop_wake, w);
	w->cs.pathbuf = malloc(3 * w->cs.limits.max_target + 1); /* normalising may encode */
	w->cs.locbuf = malloc(DETOUR_LOCATION_MAX);
	w->cs.hop = malloc(sizeof(*w->cs.hop));
	w->listeners = calloc(conf->nlisten, sizeof(*w->listeners));
	w->cs.st = calloc(1, sizeof(*w->cs.st));
	w->cs.http01 = p->http01;
	if (!w->cs.loop || !w->cs.pathbuf || !w->cs.locbuf || !w->cs.hop || !w->listeners ||
	    !w->cs.st) {
		snprintf(err, cap, "worker %u: out of memory", id);
		return -1;
	}
	w->cs.st->enabled = conf->stats;
	detour_topk_init(&w->cs.st->topk, w->cs.st->topk_e, TOPK_WORKER);
	alog_init(&w->cs.alog, p->access_fd, conf->access_log_format);
	w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->wake.on_event = on_wake;
	if (w->wake.fd < 0 || loop_add(w->cs.loop, &w->wake, LOOP_READ)) {
		snprintf(err, cap, "worker %u: eventfd: %s", id, strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < conf->nlisten; i++) {
		struct listener *l = &w->listeners[i];
		l->w = w;
		l->src.on_event = on_accept;
		l->src.fd = listen_open(&conf->listen[i], true, 4096, "", err, cap);
		if (conf->listen[i].tls)
			w->cs.tls_listeners |= 1u << i;
		if (conf->listen[i].proxy_protocol)
			w->cs.proxy_listeners |= 1u << i;
		w->nlisteners++;
		if (l->src.fd < 0)
			return -1;
		listen_tune(l->src.fd);
		/* Inherited by the accepted sockets (budget.h): a client that
		 * does not read cannot make the kernel queue megabytes. */
		int lowat = BUDGET_NOTSENT_LOWAT;
		setsockopt(l->src.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
	}
	publish_start(p->pub, id, w->wake.fd);
	listeners_enable(w, true);
	return 0;
}

int worker_run(struct worker *w, char *err, size_t cap)
{
	errno = pthread_create(&w->thread, NULL, worker_main, w);
	if (errno) {
		snprintf(err, cap, "worker %u: pthread_create: %s", w->id, strerror(errno));
		return -1;
	}
	w->started = true;
	return 0;
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	for (unsigned i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].src.fd >= 0)
			close(w->listeners[i].src.fd);
	/* A worker that never ran holds nothing: publishers stop waiting for it. */
	publish_leave(w->pool->pub, w->id);
	conn_close_all(&w->cs); /* only the free list is left after the thread */
	alog_fini(&w->cs.alog);
	if (w->wake.fd >= 0)
		close(w->wake.fd);
	loop_free(w->cs.loop);
	free(w->listeners);
	free(w->cs.pathbuf);
	free(w->cs.locbuf);
	free(w->cs.hop);
	free(w->cs.st);
	w->cs.st = NULL;
}
