/* detour server: the admin thread, see admin.h. One thread, one epoll loop
 * (loop.c), a handful of connections: requests are parsed with the same
 * strict parser as the redirect path, admitted on their head alone (the
 * guard against web pages, the token), then bodies are read whole by
 * Content-Length (at most 1 MiB) and routed to the endpoints of
 * admin_rules.c, admin_maint.c and admin_ops.c (admin_data.h lists the
 * files). This file: start-up (admin_prepare), the thread and its
 * timers (expiry, statistics flushes), the listener, connections, routing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "admin_auth.h"
#include "admin_data.h"
#include "admin_fleet.h"
#include "admin_guard.h"
#include "admin_http.h"
#include "admin_maint.h"
#include "admin_ops.h"
#include "admin_rules.h"
#include "admin_sqlite.h"
#include "base/grow.h"
#include "listen.h"
#include "privdrop.h"

/* ---- connections ---------------------------------------------------------- */

static void aconn_close(struct aconn *c)
{
	struct admin *a = c->a;

	if (c->waiting) /* its POST /reload: nobody to answer any more */
		a->hooks.reload_forget(a->hooks.arg, &c->reload);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	loop_del(a->loop, &c->src);
	close(c->src.fd);
	free(c->in);
	free(c->out);
	free(c);
	a->nconns--;
}

/* After the last answer: half-close, then read and drop what the client
 * still sends (a body that was never read) until it closes, ADMIN_LINGER_MS
 * or ADMIN_LINGER_MAX bytes, like nginx's lingering close. Closing with
 * unread bytes would send a reset, which may destroy the answer in the
 * client's buffer before it is read. */
static void aconn_linger(struct aconn *c)
{
	if (shutdown(c->src.fd, SHUT_WR)) {
		aconn_close(c);
		return;
	}
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	c->draining = true;
	c->authed = false; /* evictable */
	c->deadline_ms = mono_ms() + ADMIN_LINGER_MS;
}

static void aconn_drain(struct aconn *c)
{
	char junk[16384];
	ssize_t n = read(c->src.fd, junk, sizeof(junk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (c->drained += (size_t)n) > ADMIN_LINGER_MAX)
		aconn_close(c);
}

static bool aconn_flush(struct aconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->src.fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->want_write)
					loop_mod(c->a->loop, &c->src, LOOP_WRITE);
				c->want_write = true;
				return true;
			}
			aconn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	if (c->want_write)
		loop_mod(c->a->loop, &c->src, LOOP_READ);
	c->want_write = false;
	if (c->close_after && !c->waiting) {
		aconn_linger(c);
		return false;
	}
	return true;
}

/* Queues a whole response. body is copied. */
/* ---- routing ---------------------------------------------------------------- */

static bool path_is(const struct detour_request *r, const char *p)
{
	return r->path_len == strlen(p) && !memcmp(r->path, p, r->path_len);
}

static void method_not_allowed(struct aconn *c, const char *allow)
{
	char h[64];

	snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
	admin_reply_json(c, 405, json_pack("{s:s}", "error", "method not allowed"), h);
}

/* The endpoints behind the token check, by exact path (DELETE /rules/ID
 * aside). GET includes HEAD. */
static const struct route {
	const char *path;
	const char *allow; /* the Allow header of a 405 */
	void (*get)(struct ctx *);
	void (*post)(struct ctx *);
} routes[] = {
        {"/rules", "GET, HEAD, POST", admin_get_rules, admin_post_rules},
        {"/maintenance", "GET, HEAD, POST", admin_get_maintenance, admin_post_maintenance},
        {"/reload", "POST", NULL, admin_post_reload},
        {"/stats", "GET, HEAD", admin_get_stats, NULL},
        {"/metrics", "GET, HEAD", admin_get_metrics, NULL},
        {"/audit", "GET, HEAD", admin_get_audit, NULL},
        {"/targets", "GET, HEAD", admin_get_targets, NULL},
        {"/fleet", "GET, HEAD", admin_get_fleet, NULL},
};

/* Decides on a request from its head alone, before any byte of its body is
 * read (issue 11: 63 connections announcing 1 MiB bodies without a token
 * held 64 MB): web pages first (admin_guard.c), on every endpoint, then the
 * token. Returns true when its body may be read and it be dispatched;
 * false after answering it. */
static bool admit(struct admin *a, struct aconn *c, const struct detour_request *r)
{
	char msg[400];
	int refuse = admin_guard_check(&a->guard, r, msg, sizeof(msg));

	if (refuse == 421)
		c->close_after = true; /* the client may retry on another connection */
	if (refuse == 415) {           /* RFC 9110 §15.5.16: Accept names what would do */
		admin_reply_json(c, 415, json_pack("{s:s}", "error", msg),
		                 "Accept: application/json\r\n");
		return false;
	}
	if (refuse) {
		admin_reply_error(c, refuse, msg);
		return false;
	}
	snprintf(c->who, sizeof(c->who), "local");
	if (path_is(r, "/healthz")) {
		/* No token, so no body: GET and HEAD only. */
		if (r->method_id == DETOUR_M_GET || r->method_id == DETOUR_M_HEAD)
			return true;
		method_not_allowed(c, "GET, HEAD");
		return false;
	}
	if (a->auth) {
		const char *no = admin_authenticate(a, r, c->who, sizeof(c->who));
		if (no) {
			admin_reply_error(c, 401, no);
			return false;
		}
	}
	c->authed = true;
	return true;
}

/* Answers an admitted request whose body (blen bytes) is all there. */
static void dispatch(struct admin *a, struct aconn *c, const struct detour_request *r,
                     const char *body, size_t blen)
{
	struct ctx x = {.a = a, .c = c, .r = r, .body = body, .body_len = blen, .who = c->who};
	enum detour_method m = r->method_id;

	if (path_is(r, "/healthz"))
		return admin_get_healthz(&x);
	if (a->srv->state == NULL)
		return admin_reply_error(c, 503, "no state");
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		if (!path_is(r, rt->path))
			continue;
		if (rt->get && (m == DETOUR_M_GET || m == DETOUR_M_HEAD))
			return rt->get(&x);
		if (rt->post && m == DETOUR_M_POST)
			return rt->post(&x);
		return method_not_allowed(c, rt->allow);
	}
	if (r->path_len > 7 && !memcmp(r->path, "/rules/", 7)) {
		char id[1024];
		if (r->path_len - 7 >= sizeof(id) ||
		    !admin_pct_decode(r->path + 7, r->path_len - 7, id, false))
			return admin_reply_error(c, 400, "bad rule id in the path");
		if (m == DETOUR_M_DELETE)
			return admin_delete_rule(&x, id);
		return method_not_allowed(c, "DELETE");
	}
	admin_reply_error(c, 404, "no such endpoint (see docs/admin.md)");
}

/* ---- the thread and its listener ------------------------------------------- */

static bool aconn_process(struct aconn *c)
{
	struct admin *a = c->a;
	struct detour_http1_limits lim;
	bool moved = false; /* a request was answered or admitted: new deadline */

	detour_http1_limits_default(&lim);
	lim.max_body = ADMIN_BODY_MAX;
	lim.max_header_bytes = ADMIN_HEAD_MAX;
	while (c->in_len > 0 && !c->close_after && !c->waiting) {
		int status = 0;
		detour_err e = detour_http1_parse(c->in, c->in_len, &lim, &a->req, &status);
		const struct detour_request *r = &a->req;

		if (e == DETOUR_INCOMPLETE)
			break;
		/* Every answer to a HEAD, errors included, is a head alone. When
		 * the request does not parse, its first word decides (as on the
		 * redirect path, conn.c). */
		c->head = e == DETOUR_OK ? r->method_id == DETOUR_M_HEAD
		                         : c->in_len >= 5 && !memcmp(c->in, "HEAD ", 5);
		if (e != DETOUR_OK) {
			c->close_after = true;
			admin_reply_error(c, status,
			                  status == 413 ? "body over 1 MiB" : "malformed request");
			break;
		}
		if (r->chunked) {
			c->close_after = true;
			admin_reply_error(c, 411, "send the body with a Content-Length");
			break;
		}
		if (!c->admitted) {
			moved = true;
			/* A refused request's body is never read: the connection
			 * closes after its answer (which says so). */
			c->close_after = r->content_length > 0;
			if (!admit(a, c, r)) {
				if (c->close_after)
					break;
				memmove(c->in, c->in + r->head_len, c->in_len - r->head_len);
				c->in_len -= r->head_len;
				continue;
			}
			c->close_after = false;
			c->admitted = true;
			c->deadline_ms = mono_ms() + ADMIN_BODY_MS;
			/* RFC 9110 §10.1.1: once, and only to a request that may
			 * send its body. */
			if (r->expect_continue && r->content_length > 0 &&
			    c->in_len < r->head_len + (size_t)r->content_length &&
			    c->out_len == 0) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				if (write(c->src.fd, cont, sizeof(cont) - 1) < 0) {
					/* The client will send the body anyway. */
				}
			}
		}
		size_t need = r->head_len + (size_t)r->content_length;
		if (c->in_len < need) {
			/* At most twice the largest request (1 MiB body, 32 KiB head);
			 * glibc maps a block this large, and pages never written
			 * are never resident. */
			if (BASE_GROW(c->in, c->in_cap, need)) {
				c->close_after = true;
				admin_reply_error(c, 500, "out of memory");
			}
			break;
		}
		if (!r->keep_alive)
			c->close_after = true;
		dispatch(a, c, r, c->in + r->head_len, (size_t)r->content_length);
		/* A POST /reload answered at once (the server is stopping). */
		if (c->waiting && atomic_load_explicit(&c->reload.done, memory_order_acquire))
			admin_reload_answer(a, c);
		c->admitted = false;
		memmove(c->in, c->in + need, c->in_len - need);
		c->in_len -= need;
	}
	/* Deadlines are absolute, never renewed by a byte: a head has
	 * `timeout header` (from the previous answer, the connection's start,
	 * or, on an authenticated keep-alive connection, its first byte), a
	 * body ADMIN_BODY_MS from its head. */
	if (moved && !c->admitted)
		c->deadline_ms =
		        mono_ms() + (c->in_len > 0 || !c->authed ? a->head_ms : ADMIN_IDLE_MS);
	if (c->waiting)
		c->deadline_ms = UINT64_MAX; /* until the reload answers */
	if (c->out_len > 0)
		return aconn_flush(c);
	if (c->close_after && !c->waiting) {
		aconn_close(c);
		return false;
	}
	return true;
}

/* The POST /reload requests whose reload is done: answered, and what the
 * client sent after them is served. */
static void reloads_answered(struct admin *a)
{
	for (struct aconn *c = a->conns.next, *n; c != &a->conns; c = n) {
		n = c->next;
		if (!c->waiting || !atomic_load_explicit(&c->reload.done, memory_order_acquire))
			continue;
		admin_reload_answer(a, c);
		c->deadline_ms =
		        mono_ms() + (c->in_len > 0 || !c->authed ? a->head_ms : ADMIN_IDLE_MS);
		aconn_process(c);
	}
}

static void on_aconn(struct loop_source *src, unsigned events)
{
	struct aconn *c = (struct aconn *)src;

	if (c->want_write) {
		if (events & LOOP_WRITE)
			aconn_flush(c);
		return;
	}
	if (c->draining)
		return aconn_drain(c);
	if (c->in_len == c->in_cap) {
		/* Doubles: a head at most until it is admitted, then never
		 * past a whole head and body (aconn_process grew it). */
		if (c->in_cap * 2 >
		            (c->admitted ? ADMIN_HEAD_MAX + ADMIN_BODY_MAX + 1 : ADMIN_HEAD_MAX) ||
		    BASE_GROW(c->in, c->in_cap, c->in_cap + 1)) {
			aconn_close(c);
			return;
		}
	}
	bool fresh = c->in_len == 0;
	ssize_t n = read(c->src.fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		aconn_close(c);
		return;
	}
	/* A new request on an authenticated keep-alive connection: its head
	 * has `timeout header` from this first byte. */
	if (fresh && c->authed)
		c->deadline_ms = mono_ms() + c->a->head_ms;
	c->in_len += (size_t)n;
	aconn_process(c);
}

/* At the cap: the oldest connection that no token vouches for (idle,
 * mid-head, or draining), or NULL. A client without a token can then never
 * keep out one with it (issue 11: 64 idle connections locked everyone out). */
static struct aconn *evictable(struct admin *a)
{
	for (struct aconn *c = a->conns.next; c != &a->conns; c = c->next)
		if (c->deadline_ms != 0 && /* 0: evicted already, closed next iteration */
		    (c->draining || (!c->authed && !c->admitted && c->out_len == 0)))
			return c;
	return NULL;
}

static void on_admin_accept(struct loop_source *src, unsigned events)
{
	struct admin *a = (struct admin *)((char *)src - offsetof(struct admin, listener));

	for (;;) {
		int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (a->nconns >= ADMIN_CONNS_MAX) {
			struct aconn *old = evictable(a);
			if (old == NULL) {
				close(fd);
				continue;
			}
			/* Not freed here: an event of this epoll batch may still
			 * name it. Its deadline passes at once, so the next
			 * iteration's expiry closes it before waiting (the cap is
			 * exceeded by the evicted ones until then). */
			old->deadline_ms = 0;
		}
		admin_adopt(a, fd);
	}
}

void admin_adopt(struct admin *a, int fd)
{
	struct aconn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL || (c->in = malloc(4096)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->in_cap = 4096;
	c->a = a;
	c->src.fd = fd;
	c->src.on_event = on_aconn;
	c->deadline_ms = mono_ms() + a->head_ms;
	c->next = &a->conns;
	c->prev = a->conns.prev;
	a->conns.prev->next = c;
	a->conns.prev = c;
	a->nconns++;
	if (loop_add(a->loop, &c->src, LOOP_READ))
		aconn_close(c);
}

static void on_admin_wake(struct loop_source *src, unsigned events)
{
	uint64_t v;

	if (read(src->fd, &v, sizeof(v)) < 0) {
		/* drained already */
	}
}

static void *admin_main(void *arg)
{
	struct admin *a = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&a->stop)) {
		uint64_t now = mono_ms();
		int64_t wall = now_sec();
		int timeout = 1000;

		if (a->store->poll)
			a->store->poll(a);
		reloads_answered(a);
		if (a->next_expiry && a->next_expiry <= wall && a->srv->state)
			a->store->expire(a);
		admin_prune_audit(a, now);
		if (a->srv->conf.stats && now >= a->next_flush_ms) {
			admin_flush_stats(a);
			a->next_flush_ms = now + a->srv->conf.stats_flush_ms;
		}
		for (struct aconn *c = a->conns.next, *n; c != &a->conns; c = n) {
			n = c->next;
			if (c->deadline_ms <= now)
				aconn_close(c);
		}
		if (a->next_prune_ms > now && a->next_prune_ms - now < (uint64_t)timeout)
			timeout = (int)(a->next_prune_ms - now);
		if (a->next_expiry) {
			/* Wake at the second the next rule expires: sleep to the
			 * next wall-clock second boundary at most. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ms = (a->next_expiry - ts.tv_sec) * 1000 - ts.tv_nsec / 1000000;
			if (ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms;
		}
		if (loop_run_once(a->loop, timeout) < 0) {
			log_err("admin: epoll_wait: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

static bool is_loopback(const struct detour_listen *l)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (l->ipv6)
		return inet_pton(AF_INET6, l->host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	return inet_pton(AF_INET, l->host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* Declared in admin.h for server.c's reload; defined here, not beside the
 * token file's reader in admin_auth.c, because admin.h declares admin.c's
 * functions only. */
void admin_reload_tokens(struct admin *a, const struct detour_config *nc)
{
	struct token t[TOKENS_MAX];
	unsigned n = 0;
	char err[512];

	if (a == NULL || !a->auth)
		return;
	if (nc->admin_token_file[0] == '\0') {
		log_warn("reload: removing the admin token-file takes effect at the next restart");
		return;
	}
	if (admin_load_tokens(nc->admin_token_file, t, &n, err, sizeof(err))) {
		log_err("reload: %s; the old admin tokens stay", err);
		return;
	}
	pthread_mutex_lock(&a->tok_lock);
	memcpy(a->tokens, t, sizeof(t));
	a->ntokens = n;
	pthread_mutex_unlock(&a->tok_lock);
}

int admin_prepare(struct server *srv, const struct privdrop *p, const struct admin_hooks *hooks,
                  char *err, size_t cap)
{
	const struct detour_config *conf = &srv->conf;
	struct admin *a;
	char e2[512];

	if (conf->admin.port && conf->admin_token_file[0] == '\0' && !is_loopback(&conf->admin)) {
		snprintf(err, cap,
		         "%s:%u: admin %s: without token-file= the admin API listens on loopback "
		         "only (127.0.0.1 or [::1])",
		         conf->file[0] ? conf->file : "detour.conf", conf->admin_line,
		         conf->admin.host);
		return -1;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	a->srv = srv;
	a->hooks = *hooks;
	a->listener.fd = -1;
	a->wake.fd = -1;
	a->conns.next = a->conns.prev = &a->conns;
	admin_guard_init(&a->guard, &conf->admin);
	a->head_ms = conf->header_timeout_ms;
	pthread_mutex_init(&a->tok_lock, NULL);
	srv->admin = a;
	/* The store: the fleet's Redis with `state redis://...`, else the
	 * SQLite state (admin_data.h). */
	a->store = conf->state_url[0] ? &admin_fleet_store : &admin_sqlite_store;
	if (conf->admin_token_file[0]) {
		a->auth = true;
		if (admin_load_tokens(conf->admin_token_file, a->tokens, &a->ntokens, err, cap))
			return -1;
	}
	/* The state is created and opened as the `user`, so that it stays
	 * writable after the drop. */
	if (p->active && (setegid(p->gid) || seteuid(p->uid))) {
		snprintf(err, cap, "cannot switch to user %s: %s", p->user, strerror(errno));
		return -1;
	}
	srv->state = state_open(conf->state_dir, e2, sizeof(e2));
	if (p->active && (seteuid(0) || setegid(0))) {
		snprintf(err, cap, "cannot switch back to root: %s", strerror(errno));
		return -1;
	}
	if (srv->state == NULL) {
		if (conf->admin.port || p->active || conf->state_url[0]) {
			snprintf(err, cap, "%s%s%s", e2, p->active ? " (user " : "",
			         p->active ? p->user : "");
			if (p->active)
				strncat(err, ")", cap - strlen(err) - 1);
			return -1;
		}
		/* Without an admin API the state only keeps statistics. */
		log_warn("%s; statistics are not kept", e2);
	} else if (a->store->load(a, err, cap)) {
		return -1;
	}
	/* Maintenance: the config and its file, then what the API stored
	 * (maint.h: the latest change wins, and the stored one is the latest). */
	struct maint_params mp;
	admin_maint_row_to_params(&a->maint, &mp);
	maint_set_recorder(srv->maint, admin_maint_record, a);
	if (maint_init(srv->maint, &conf->maint, srv->state && a->maint.since > 0, a->maint.on, &mp,
	               a->maint.since, a->maint.until, a->maint.who, err, cap))
		return -1;
	if (conf->admin.port) {
		a->listener.fd = listen_open(&conf->admin, false, 64, "admin ", err, cap);
		if (a->listener.fd < 0)
			return -1;
		a->listener.on_event = on_admin_accept;
	}
	return 0;
}

int admin_start(struct server *srv, char *err, size_t cap)
{
	struct admin *a = srv->admin;

	if (a == NULL)
		return 0;
	a->loop = loop_new();
	a->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->wake.on_event = on_admin_wake;
	if (a->loop == NULL || a->wake.fd < 0 || loop_add(a->loop, &a->wake, LOOP_READ) ||
	    (a->listener.fd >= 0 && loop_add(a->loop, &a->listener, LOOP_READ))) {
		snprintf(err, cap, "admin: %s", strerror(errno));
		return -1;
	}
	a->next_flush_ms = mono_ms() + srv->conf.stats_flush_ms;
	a->next_prune_ms = mono_ms() + 1000; /* what ran out while we were down */
	if (a->store->start(a, err, cap))
		return -1;
	errno = pthread_create(&a->thread, NULL, admin_main, a);
	if (errno) {
		snprintf(err, cap, "admin: pthread_create: %s", strerror(errno));
		return -1;
	}
	a->started = true;
	if (srv->conf.admin.port)
		log_info("admin API on %s%s%s:%u%s", srv->conf.admin.ipv6 ? "[" : "",
		         srv->conf.admin.host, srv->conf.admin.ipv6 ? "]" : "",
		         srv->conf.admin.port, a->auth ? "" : " (loopback, no token)");
	return 0;
}

void admin_flush_served(struct server *srv, struct served *s)
{
	struct admin *a = srv->admin;

	if (a && srv->state)
		a->store->flush_served(a, s);
	else if (srv->state)
		state_flush_served(srv->state, s);
}

void admin_stop(struct server *srv)
{
	struct admin *a = srv->admin;
	uint64_t one = 1;

	if (a == NULL)
		return;
	if (a->started) {
		atomic_store(&a->stop, true);
		if (write(a->wake.fd, &one, sizeof(one)) < 0) {
			/* the thread wakes within a second anyway */
		}
		pthread_join(a->thread, NULL);
	}
	if (srv->state) {
		if (a->started) /* the last counts, before the store lets go */
			admin_flush_stats(a);
		a->store->stop(a);
	}
	/* No thread can change maintenance now (server.c stopped the reload
	 * thread before). */
	maint_set_recorder(srv->maint, NULL, NULL);
	while (a->conns.next != &a->conns)
		aconn_close(a->conns.next);
	if (a->listener.fd >= 0)
		close(a->listener.fd);
	if (a->wake.fd >= 0)
		close(a->wake.fd);
	loop_free(a->loop);
	state_rules_free(a->rules, a->nrules);
	pthread_mutex_destroy(&a->tok_lock);
	srv->admin = NULL;
	free(a);
}
