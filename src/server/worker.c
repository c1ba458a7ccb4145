/* detour server: a worker thread. Owns an epoll loop, one SO_REUSEPORT
 * listener per configured address, its connections and their deadlines.
 * Nothing here is shared with other workers except the read-only table and
 * the few atomics of struct server. */
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

#include "detour/respond.h"
#include "detour/rulefile.h"
#include "worker.h"

#define ACCEPT_BATCH    64
#define LINGER_MS       2000
#define ACCEPT_PAUSE_MS 100

size_t worker_size(void)
{
	return sizeof(struct worker);
}

uint64_t worker_seen_gen(const struct worker *w)
{
	return atomic_load(&w->seen_gen);
}

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

static void list_unlink(struct conn *c)
{
	if (c->list == LIST_NONE)
		return;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->list = LIST_NONE;
}

void worker_list_move(struct worker *w, struct conn *c, enum conn_list list)
{
	struct conn *head = &w->lists[list];

	list_unlink(c);
	c->deadline_ms = w->now_ms + w->timeouts_ms[list];
	c->prev = head->prev;
	c->next = head;
	head->prev->next = c;
	head->prev = c;
	c->list = (uint8_t)list;
}

static void listeners_enable(struct worker *w, bool on)
{
	for (unsigned i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];
		if (l->src.fd < 0 || l->active == on)
			continue;
		if (on ? loop_add(w->loop, &l->src, LOOP_READ) : loop_del(w->loop, &l->src))
			log_err("worker %u: epoll_ctl on listener: %s", w->id, strerror(errno));
		l->active = on;
	}
}

void worker_conn_closed(struct worker *w)
{
	w->nconns--;
	if (!w->draining && w->nconns + 1 == w->max_conns && w->accept_paused_until_ms == 0)
		listeners_enable(w, true);
}

static void on_accept(struct loop_source *src, unsigned events)
{
	struct listener *l = (struct listener *)src;
	struct worker *w = l->w;

	for (int i = 0; i < ACCEPT_BATCH && w->nconns < w->max_conns; i++) {
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
				log_warn("worker %u: accept: %s; pausing accept for %d ms", w->id,
				         strerror(errno), ACCEPT_PAUSE_MS);
				listeners_enable(w, false);
				w->accept_paused_until_ms = w->now_ms + ACCEPT_PAUSE_MS;
				return;
			}
			log_err("worker %u: accept: %s", w->id, strerror(errno));
			return;
		}
		w->nconns++;
		w->accept_listener = (uint8_t)(l - w->listeners);
		conn_accepted(w, fd, (struct sockaddr *)&ss);
	}
	if (w->nconns >= w->max_conns)
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

	if (v == NULL || *v == '\0')
		return;
	if (detour_parse_time(v, strlen(v), &t) != 0) {
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
	w->now_ms = (uint64_t)mono.tv_sec * 1000u + (uint64_t)mono.tv_nsec / 1000000u;
	clock_gettime(CLOCK_REALTIME_COARSE, &real);
	pthread_once(&clock_once, clock_offset_init);
	real.tv_sec += (time_t)clock_offset;
	if (real.tv_sec != w->now_sec) {
		struct tm tm;
		w->now_sec = real.tv_sec;
		detour_http_date(w->now_sec, w->date);
		gmtime_r(&w->now_sec, &tm);
		strftime(w->log_time, sizeof(w->log_time), "%d/%b/%Y:%H:%M:%S +0000", &tm);
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

static void expire(struct worker *w)
{
	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		struct conn *head = &w->lists[list];
		while (head->next != head && head->next->deadline_ms <= w->now_ms) {
			struct conn *c = head->next;
			conn_timeout(c); /* moves or closes c */
		}
	}
}

static int next_timeout(struct worker *w)
{
	uint64_t next = w->now_ms + 1000; /* at least once a second: generations, log flush */

	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		struct conn *head = &w->lists[list];
		if (head->next != head && head->next->deadline_ms < next)
			next = head->next->deadline_ms;
	}
	if (w->accept_paused_until_ms && w->accept_paused_until_ms < next)
		next = w->accept_paused_until_ms;
	return next > w->now_ms ? (int)(next - w->now_ms) : 0;
}

static void start_drain(struct worker *w)
{
	struct conn *head;

	w->draining = true;
	w->drain_deadline_ms = w->now_ms + w->timeouts_ms[LIST_ACTIVE];
	for (unsigned i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];
		if (l->active)
			loop_del(w->loop, &l->src);
		l->active = false;
		if (l->src.fd >= 0)
			close(l->src.fd);
		l->src.fd = -1;
	}
	/* Idle keep-alive connections have nothing in flight: close them now.
	 * Others finish their current request with "Connection: close". */
	head = &w->lists[LIST_IDLE];
	while (head->next != head)
		conn_close(head->next);
	head = &w->lists[LIST_ACTIVE];
	for (struct conn *c = head->next, *n; c != head; c = n) {
		n = c->next;
		conn_drain(c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	refresh_clock(w);
	for (;;) {
		/* Publish the generation before loading the table: once the
		 * main thread sees our gen >= G, we load a table at least as
		 * new as generation G and hold nothing older. */
		atomic_store(&w->seen_gen, atomic_load(&srv->gen));
		w->cur = atomic_load(&srv->table);
		w->table = w->cur->table;
		w->api = atomic_load(&srv->api);
		w->maint = atomic_load(&srv->maint);
		atomic_store_explicit(&w->st->conns, w->nconns, memory_order_relaxed);
		stats_topk_snapshot(w->st, atomic_load(&srv->topk_gen));

		if (!w->draining && atomic_load(&srv->stopping))
			start_drain(w);
		if (w->draining && (w->nconns == 0 || w->now_ms >= w->drain_deadline_ms))
			break;
		unsigned fg = atomic_load(&srv->flush_gen);
		if (fg != w->flush_seen) {
			alog_flush(w);
			w->flush_seen = fg;
			atomic_store(&w->flush_ack, fg);
		}

		/* The clock is refreshed when the wait returns, before the
		 * handlers run (on_loop_wake), and again after them. */
		uint64_t before = w->now_sec;
		int n = loop_run_once(w->loop, next_timeout(w));
		/* The hits of this iteration belong to the tables loaded at
		 * its top: count them before the next one may load newer. */
		if (w->st->ring_n)
			stats_drain(w->st, w->cur, w->api, w->id, (uint32_t)w->now_sec);
		if (n < 0) {
			log_err("worker %u: epoll_wait: %s", w->id, strerror(errno));
			break;
		}
		refresh_clock(w);
		if ((uint64_t)w->now_sec != before)
			alog_flush(w); /* at least once a second */
		if (w->accept_paused_until_ms && w->now_ms >= w->accept_paused_until_ms) {
			w->accept_paused_until_ms = 0;
			if (!w->draining && w->nconns < w->max_conns)
				listeners_enable(w, true);
		}
		expire(w);
	}
	/* Past the drain deadline: whatever is left is cut. */
	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		struct conn *head = &w->lists[list];
		while (head->next != head)
			conn_close(head->next);
	}
	alog_flush(w);
	atomic_store(&w->seen_gen, UINT64_MAX);
	return NULL;
}

int server_listen(const struct detour_listen *ln, bool reuseport, int backlog, const char *what,
                  char *err, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	int fd = socket(ln->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                0);

	memset(&ss, 0, sizeof(ss));
	if (ln->ipv6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(ln->port);
		inet_pton(AF_INET6, ln->host, &a->sin6_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(ln->port);
		inet_pton(AF_INET, ln->host, &a->sin_addr);
		sl = sizeof(*a);
	}
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    (ln->ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, backlog)) {
		snprintf(err, cap, "cannot listen on %s%s%s%s:%u: %s", what, ln->ipv6 ? "[" : "",
		         ln->host, ln->ipv6 ? "]" : "", ln->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int worker_start(struct server *srv, struct worker *w, unsigned id, char *err, size_t cap)
{
	const struct detour_config *conf = &srv->conf;

	memset(w, 0, sizeof(*w));
	w->srv = srv;
	w->id = id;
	w->limits = conf->limits;
	w->max_conns = srv->max_conns_per_worker;
	w->timeouts_ms[LIST_ACTIVE] = conf->header_timeout_ms;
	w->timeouts_ms[LIST_IDLE] = conf->keepalive_timeout_ms;
	w->timeouts_ms[LIST_LINGER] = LINGER_MS;
	for (int i = 0; i < LIST_COUNT; i++)
		w->lists[i].next = w->lists[i].prev = &w->lists[i];
	w->wake.fd = -1;
	w->loop = loop_new();
	if (w->loop)
		loop_set_wake_hook(w->loop, on_loop_wake, w);
	w->pathbuf = malloc(3 * w->limits.max_target + 1); /* normalising may encode */
	w->locbuf = malloc(DETOUR_LOCATION_MAX);
	w->listeners = calloc(conf->nlisten, sizeof(*w->listeners));
	w->st = calloc(1, sizeof(*w->st));
	if (!w->loop || !w->pathbuf || !w->locbuf || !w->listeners || !w->st) {
		snprintf(err, cap, "worker %u: out of memory", id);
		return -1;
	}
	w->st->enabled = conf->stats;
	detour_topk_init(&w->st->topk, w->st->topk_e, TOPK_WORKER);
	alog_init(w);
	w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->wake.on_event = on_wake;
	if (w->wake.fd < 0 || loop_add(w->loop, &w->wake, LOOP_READ)) {
		snprintf(err, cap, "worker %u: eventfd: %s", id, strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < conf->nlisten; i++) {
		struct listener *l = &w->listeners[i];
		l->w = w;
		l->src.on_event = on_accept;
		l->src.fd = server_listen(&conf->listen[i], true, 4096, "", err, cap);
		w->nlisteners++;
		if (l->src.fd < 0)
			return -1;
	}
	atomic_store(&w->seen_gen, atomic_load(&srv->gen));
	listeners_enable(w, true);
	errno = pthread_create(&w->thread, NULL, worker_main, w);
	if (errno) {
		snprintf(err, cap, "worker %u: pthread_create: %s", id, strerror(errno));
		return -1;
	}
	w->started = true;
	return 0;
}

void worker_join(struct worker *w)
{
	struct conn *c;

	if (w->started)
		pthread_join(w->thread, NULL);
	for (unsigned i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].src.fd >= 0)
			close(w->listeners[i].src.fd);
	while ((c = w->free_conns) != NULL) {
		w->free_conns = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
	if (w->alog)
		alog_fini(w);
	if (w->wake.fd >= 0)
		close(w->wake.fd);
	loop_free(w->loop);
	free(w->listeners);
	free(w->pathbuf);
	free(w->locbuf);
	free(w->st);
	w->st = NULL;
}
