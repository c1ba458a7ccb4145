/* detour server: the connections of one worker, see conn.h.
 *
 * Bodies are never kept, only skipped in sync (RFC 9112 §6). detour never
 * needs a body, so the answer is sent as soon as the head is whole; the body
 * is then drained, as nginx's lingering_time does, under an absolute deadline
 * (`timeout header` from the end of the head, not renewed by body bytes) and
 * `limit body` counted over every byte of it, chunk framing included. A body
 * that is malformed, too big or late closes the connection: its answer is
 * already out. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "conn.h"
#include "detour/proxyproto.h"
#include "h2.h"
#include "log.h"
#include "request.h"
#include "tls.h"

#define IN_INITIAL     CONN_IN_INITIAL
#define OUT_INITIAL    CONN_OUT_INITIAL
#define OUT_RESERVE    2048 /* room kept for one more typical response */
#define FREE_CONNS_MAX 1024

static void on_conn_event(struct loop_source *src, unsigned events);
static void proxy_start(struct conn *c);
static void conn_read(struct conn *c);

static void conn_reset(struct conn *c)
{
	c->list = LIST_NONE;
	c->state = ST_HEAD;
	c->close_after = false;
	c->want_write = false;
	c->read_paused = false;
	c->peer_eof = false;
	c->https = false;
	c->tls_rw = false;
	c->unwatched = false;
	c->tls = NULL;
	c->h1 = false;
	c->h2 = NULL;
	c->in_len = 0;
	c->out_len = c->out_off = 0;
	c->peer[0] = '\0';
	c->peer_sa.sa.sa_family = AF_UNSPEC;
}

void conn_set_init(struct conns *cs)
{
	for (int i = 0; i < LIST_COUNT; i++)
		cs->lists[i].next = cs->lists[i].prev = &cs->lists[i];
	budget_init(cs);
}

static void list_unlink(struct conn *c)
{
	if (c->list == LIST_NONE)
		return;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->list = LIST_NONE;
}

void conn_list_move(struct conns *cs, struct conn *c, enum conn_list list)
{
	struct conn *head = &cs->lists[list];

	list_unlink(c);
	c->deadline_ms = cs->now_ms + cs->timeouts_ms[list];
	c->prev = head->prev;
	c->next = head;
	head->prev->next = c;
	head->prev = c;
	c->list = (uint8_t)list;
}

/* A connection is gone (or never was): one fewer, and the owner hears. */
static void conn_closed(struct conns *cs)
{
	cs->nconns--;
	if (cs->closed)
		cs->closed(cs);
}

/* The client's address: binary, for maintenance allow-ip= and the rules'
 * if-ip=; text, for the access log (only when it is on). */
static void set_peer(struct conn *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		c->peer_sa.in = *(const struct sockaddr_in *)(const void *)sa;
	else if (sa->sa_family == AF_INET6)
		c->peer_sa.in6 = *(const struct sockaddr_in6 *)(const void *)sa;
	if (c->cs->alog.buf != NULL) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer,
			          sizeof(c->peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
			          sizeof(c->peer));
	}
}

void conn_accepted(struct conns *cs, int fd, const struct sockaddr *sa, uint8_t listener)
{
	struct conn *c = cs->free_conns;

	if (c != NULL) {
		cs->free_conns = c->next;
		cs->nfree--;
	} else {
		c = calloc(1, sizeof(*c));
		if (c != NULL) {
			c->in = malloc(IN_INITIAL);
			c->out = malloc(OUT_INITIAL);
			c->in_cap = IN_INITIAL;
			c->out_cap = OUT_INITIAL;
			c->resp = (struct req_out){&c->out, &c->out_cap, &c->out_len,
			                           &c->close_after};
		}
		if (c == NULL || c->in == NULL || c->out == NULL) {
			log_err("worker %u: out of memory for a connection", cs->id);
			if (c) {
				free(c->in);
				free(c->out);
				free(c);
			}
			close(fd);
			conn_closed(cs);
			return;
		}
	}
	conn_reset(c);
	c->cs = cs;
	budget_adopt(c);
	c->listener = listener;
	c->src.fd = fd;
	c->src.on_event = on_conn_event;
	/* TCP_NODELAY (responses are written whole; Nagle must not hold the
	 * last one) is inherited from the listener (listen_tune). */
	set_peer(c, sa);
	if (cs->tls_listeners >> listener & 1u) {
		/* A TLS listener: the handshake runs on the first reads, within
		 * the header timeout. */
		c->https = true;
		c->tls = tls_conn_new(cs->tls, fd);
	}
	/* A plain connection is read at once: the listener defers the accept
	 * until the first bytes arrived (TCP_DEFER_ACCEPT), so a redirect that
	 * is the only request of its connection is answered and closed with
	 * accept4, read, write and close, and never enters the epoll set
	 * (docs/internals/server.md, "New connections"). */
	bool early = !c->https && !(cs->proxy_listeners >> listener & 1u);
	if (early) {
		unsigned n = cs->nconns;
		c->unwatched = true;
		conn_list_move(cs, c, LIST_ACTIVE);
		conn_read(c);
		if (cs->nconns != n || !c->unwatched)
			return; /* closed, or watched by set_events */
		c->unwatched = false;
		if (loop_add(cs->loop, &c->src, LOOP_READ) == 0)
			return;
		log_err("worker %u: epoll_ctl: %s", cs->id, strerror(errno));
		conn_close(c);
		return;
	}
	if ((c->https && c->tls == NULL) || loop_add(cs->loop, &c->src, LOOP_READ)) {
		log_err("worker %u: %s: %s", cs->id, c->https && !c->tls ? "SSL_new" : "epoll_ctl",
		        strerror(errno));
		if (c->tls)
			tls_conn_free(cs->tls, c->tls);
		c->tls = NULL;
		close(fd);
		c->next = cs->free_conns;
		cs->free_conns = c;
		cs->nfree++;
		conn_closed(cs);
		return;
	}
	/* A new connection must send its first head within the header timeout
	 * (on a proxy-protocol listener, the PROXY header and the first head). */
	conn_list_move(cs, c, LIST_ACTIVE);
	if (cs->proxy_listeners >> listener & 1u)
		proxy_start(c);
}

/* The connection buffers are sized exactly, not with base/grow.h's
 * BASE_GROW (which doubles and never shrinks; docs/internals/base.md, "Not
 * using base"): a buffer grows at most once, to a known worst case (the
 * input to `limit header-bytes` + 1, the output to DETOUR_RESPONSE_MAX),
 * and gives the growth back as soon as it is empty again (the output once
 * flushed, the input once its heads are consumed) and when the connection
 * goes back to the free list, so that a worker's idle connections, kept
 * alive or free, cost IN_INITIAL + OUT_INITIAL each. A buffer at its
 * initial size costs one comparison. */
static void shrink(char **buf, uint32_t *cap, uint32_t want)
{
	char *p;

	if (*cap <= want)
		return;
	p = realloc(*buf, want);
	if (p != NULL) {
		*buf = p;
		*cap = want;
	}
}

void conn_close(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->list != LIST_NONE) {
		c->prev->next = c->next;
		c->next->prev = c->prev;
		c->list = LIST_NONE;
	}
	/* No EPOLL_CTL_DEL: a connection's fd is never shared (no dup, no
	 * fork), so close() takes it out of the epoll set by itself, and the
	 * system call is one of the few a short connection makes. */
	if (c->h2)
		h2_free(c);
	if (c->tls) {
		tls_conn_free(cs->tls, c->tls);
		c->tls = NULL;
	}
	close(c->src.fd);
	c->src.fd = -1;
	budget_forget(c);
	if (cs->nfree < FREE_CONNS_MAX) {
		shrink(&c->in, &c->in_cap, IN_INITIAL);
		shrink(&c->out, &c->out_cap, OUT_INITIAL);
		c->next = cs->free_conns;
		cs->free_conns = c;
		cs->nfree++;
	} else {
		free(c->in);
		free(c->out);
		free(c);
	}
	conn_closed(cs);
}

static void set_events(struct conn *c, bool want_write)
{
	if (c->want_write == want_write)
		return;
	c->want_write = want_write;
	if (c->unwatched) {
		/* The accept's own read (conn_accepted) could not write it all. */
		c->unwatched = false;
		if (loop_add(c->cs->loop, &c->src, want_write ? LOOP_WRITE : LOOP_READ))
			log_err("worker %u: epoll_ctl: %s", c->cs->id, strerror(errno));
		return;
	}
	/* While output is backed up we stop reading: a client that pipelines
	 * without reading cannot make us buffer without bound. */
	loop_mod(c->cs->loop, &c->src, want_write ? LOOP_WRITE : LOOP_READ);
}

/* The response is on its way and no more requests will be read: shut our
 * side and discard what the client still sends until it closes, so that the
 * kernel does not answer unread input with a RST that could destroy the
 * response before the client reads it (lingering close). */
static void start_linger(struct conn *c)
{
	/* Nothing of the client's is unread (the closing request was the
	 * last bytes it sent, without a body): close at once, as nginx does
	 * when its lingering heuristics see no more data coming. A client
	 * that sends more after its own "Connection: close" may get a RST. */
	if (c->peer_eof) {
		conn_close(c);
		return;
	}
	/* close_notify first (RFC 8446 §6.1; without it OpenSSL also drops
	 * the session from its cache). */
	if (c->tls)
		tls_conn_shutdown(c->tls);
	if (c->clean_close) {
		conn_close(c);
		return;
	}
	shutdown(c->src.fd, SHUT_WR);
	c->state = ST_LINGER;
	c->in_len = 0;
	set_events(c, false);
	conn_list_move(c->cs, c, LIST_LINGER);
}

/* TLS transport (tls.h) under the read and write below: TLS_IO_WANT_* map
 * to EAGAIN (a read that waits for writability registers for it), other
 * failures to EIO. The plain path only branches on c->tls. */
static ssize_t tls_send(struct conn *c, const void *buf, size_t len)
{
	ssize_t n = tls_conn_write(c->tls, buf, len);

	if (n > 0)
		return n;
	errno = n == TLS_IO_WANT_WRITE ? EAGAIN : EIO;
	return -1;
}

static ssize_t tls_recv(struct conn *c, void *buf, size_t len)
{
	ssize_t n = tls_conn_read(c->cs->tls, c->tls, buf, len);

	if (n >= 0)
		return n;
	if (n == TLS_IO_WANT_WRITE) {
		c->tls_rw = true;
		set_events(c, true);
	}
	errno = n == TLS_IO_ERROR ? EIO : EAGAIN;
	return -1;
}

/* c's write backed up (budget.h): past the soft memory limit, a connection
 * holding grown buffers with more than the low-water mark queued is paused;
 * a paused one whose queue went down to it is resumed. A grown output buffer
 * whose queue fits in the initial size gives its growth back now, not once
 * the slow client has read the rest (TLS: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
 * lets the retried write move). */
static void backed_up(struct conn *c)
{
	uint32_t queued = c->out_len - c->out_off;

	if (c->out_cap > OUT_INITIAL && queued <= OUT_INITIAL) {
		memmove(c->out, c->out + c->out_off, queued);
		c->out_off = 0;
		c->out_len = queued;
		budget_shrink(c, &c->out, &c->out_cap, OUT_INITIAL);
	}
	if (queued <= BUDGET_RESUME_LOWAT)
		budget_resume(c);
	else if (!c->paused && c->held > 0 && budget_over(c->cs))
		budget_pause(c);
}

/* Writes what may be written. Returns false when c was closed. */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = c->tls ? tls_send(c, c->out + c->out_off, c->out_len - c->out_off)
		                   : write(c->src.fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				backed_up(c);
				set_events(c, true);
				return true;
			}
			conn_close(c);
			return false;
		}
		c->out_off += (uint32_t)n;
	}
	c->out_off = c->out_len = 0;
	budget_resume(c);
	budget_shrink(c, &c->out, &c->out_cap, OUT_INITIAL); /* after an oversized answer */
	set_events(c, false);
	if (c->close_after && c->out_len == 0) {
		start_linger(c);
		return c->state == ST_LINGER;
	}
	return true;
}

/* Handles the whole requests in the input buffer, at most *turn of them
 * (budget.h; lowered by each). Returns true if it made progress (a request
 * answered or body bytes skipped). */
static bool process(struct conn *c, unsigned *turn)
{
	struct conns *cs = c->cs;
	struct detour_request *req = &cs->req;
	uint32_t pos = 0;
	bool progress = false;

	/* HTTP/2 (h2.h): decided on the first input, then the session
	 * takes every byte. */
	if (c->h2 == NULL && !c->h1) {
		int k = h2_start(c);
		if (k < 0)
			return false;
		c->h1 = k == 0;
	}
	if (c->h2)
		return h2_process(c);
	while (pos < c->in_len && !c->close_after) {
		int status = 0;
		detour_err e;

		if (c->state == ST_BODY) {
			size_t used = 0;
			e = detour_http1_body_skip(&c->body, c->in + pos, c->in_len - pos, &used,
			                           &status);
			pos += (uint32_t)used;
			progress = progress || used > 0;
			if (e == DETOUR_INCOMPLETE)
				break;
			if (e != DETOUR_OK) {
				/* Malformed or over `limit body`: the answer is
				 * already queued, so no second one; close (state
				 * stays ST_BODY: input is left unread). */
				c->close_after = true;
				break;
			}
			c->state = ST_HEAD;
			continue;
		}
		if (c->out_cap - c->out_len < OUT_RESERVE)
			break; /* flush first */
		if (*turn == 0)
			break; /* the others' turn: conn_run_ready comes back */
		if (c->paused)
			break; /* over the memory budget: once its output drains */
		e = detour_http1_parse(c->in + pos, c->in_len - pos, &cs->limits, req, &status);
		if (e == DETOUR_INCOMPLETE)
			break;
		if (e != DETOUR_OK) {
			/* The head is refused, so req is not whole (but for 413);
			 * a HEAD still gets no body (RFC 9110 §9.3.2). */
			bool head = c->in_len - pos >= 5 && !memcmp(c->in + pos, "HEAD ", 5);
			request_error_head(c, status,
			                   e == DETOUR_ETOOBIG && status == 413 ? req : NULL, head);
			break;
		}
		if (!request_answer(c, req, &c->resp))
			break;
		pos += (uint32_t)req->head_len;
		progress = true;
		(*turn)--;
		if (!c->close_after && (req->chunked || req->content_length > 0)) {
			/* Drain the body by an absolute deadline (see the
			 * top): update_deadline does not renew it. */
			detour_http1_body_init(&c->body, req, &cs->limits);
			c->state = ST_BODY;
			if (c->list != LIST_NONE)
				conn_list_move(cs, c, LIST_ACTIVE);
		}
	}
	if (c->close_after) {
		/* Whether anything is left unread: bytes after the closing
		 * request's head, or its body (not skipped once closing). */
		c->clean_close = pos == c->in_len && c->state == ST_HEAD && req->head_len > 0 &&
		                 !req->chunked && req->content_length == 0;
		c->in_len = 0; /* nothing after a closing response is read */
		return true;
	}
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	if (c->in_len == 0)
		budget_shrink(c, &c->in, &c->in_cap, IN_INITIAL); /* after an oversized head */
	return progress;
}

/* process(), timed for the latency histogram when stats are on: from
 * parsing to the responses queued, one monotonic clock read (vDSO) before
 * and one after a batch; each request of the batch counts the batch time. */
static bool process_timed(struct conn *c, unsigned *turn)
{
	struct conns *cs = c->cs;
	struct timespec a, b;
	uint64_t r0 = cs->requests;
	bool progress;

	if (!cs->st->enabled)
		return process(c, turn);
	clock_gettime(CLOCK_MONOTONIC, &a);
	progress = process(c, turn);
	if (cs->requests != r0) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		int64_t ns = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
		stats_latency(cs->st, ns > 0 ? (uint64_t)ns / 1000u : 0,
		              (unsigned)(cs->requests - r0));
	}
	return progress;
}

static void update_deadline(struct conn *c, bool progress, bool was_idle)
{
	struct conns *cs = c->cs;

	if (c->list == LIST_NONE || c->state == ST_LINGER)
		return;
	if (c->state == ST_BODY && c->list == LIST_ACTIVE)
		return; /* the body's deadline is absolute */
	if (c->in_len == 0 && c->state == ST_HEAD && c->out_len == 0 && (!c->h2 || h2_idle(c))) {
		conn_list_move(cs, c, LIST_IDLE);
		if (cs->draining)
			start_linger(c);
	} else if (progress || was_idle) {
		conn_list_move(cs, c, LIST_ACTIVE);
	}
}

/* One turn (budget.h) on what is buffered: answer at most TURN_REQUESTS
 * requests, write, move the deadline. A connection with requests left over
 * goes on the ready list. Returns false when c is closed or lingering. */
static bool serve(struct conn *c, bool was_idle)
{
	unsigned turn = TURN_REQUESTS;

	for (;;) {
		bool progress = process_timed(c, &turn);
		uint32_t queued = c->out_len;
		if (!conn_flush(c))
			return false;
		if (c->state == ST_LINGER)
			return false;
		update_deadline(c, progress, was_idle);
		was_idle = false;
		if (c->list == LIST_NONE || c->state == ST_LINGER)
			return false;
		/* Everything went out and requests are still buffered (the
		 * output buffer filled up): answer them now. */
		if (!(progress && queued > 0 && c->out_len == 0 && (c->in_len > 0 || c->h2) &&
		      !c->want_write))
			break;
	}
	/* The turn is over with requests buffered: they are in the
	 * connection, not in the socket, so no event would come back for
	 * them (while output waits, the drain's event does). */
	if (turn == 0 && c->in_len > 0 && !c->want_write)
		budget_ready_push(c);
	return true;
}

static void conn_read(struct conn *c)
{
	struct conns *cs = c->cs;
	bool was_idle = c->list == LIST_IDLE;
	ssize_t n;

	if (c->state == ST_LINGER) {
		char sink[4096];
		n = read(c->src.fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
again:
	if (c->in_len == c->in_cap) {
		/* A head bigger than the first buffer: grow once, exactly to
		 * the limit (see shrink). */
		uint32_t want = (uint32_t)cs->limits.max_header_bytes + 1;
		if (want <= c->in_cap) {
			request_error(c, 431, NULL);
			conn_flush(c);
			return;
		}
		if (!budget_grow(c, &c->in, &c->in_cap, want)) {
			/* Over `limit buffer-memory` (or out of memory):
			 * RFC 9110 §15.6.4, a temporary overload. */
			request_error(c, 503, NULL);
			conn_flush(c);
			return;
		}
	}
	n = c->tls ? tls_recv(c, c->in + c->in_len, c->in_cap - c->in_len)
	           : read(c->src.fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF or error: nothing more will come. A response still
		 * queued is sent; then the connection closes. */
		c->peer_eof = true;
		if (n == 0 && c->out_len > c->out_off) {
			c->close_after = true;
			c->in_len = 0;
			conn_flush(c);
			return;
		}
		conn_close(c);
		return;
	}
	if (c->in_len == 0)
		c->req_start_ms = cs->now_ms;
	c->in_len += (uint32_t)n;
	if (!serve(c, was_idle))
		return;
	/* TLS: a record bigger than the room left waits decrypted inside the
	 * SSL, and the socket may stay quiet: read it now (or on the turn the
	 * ready list owes). */
	if (c->tls && !c->want_write && !c->paused && c->ready.next == NULL &&
	    tls_conn_pending(c->tls))
		goto again;
}

/* The PROXY protocol on a proxy-protocol listener. The header is read
 * before anything else, and no byte past it: recv(MSG_PEEK) shows what has
 * arrived, and only the bytes the parser says are the header's are then
 * read, so that what follows (a TLS handshake, the first request) stays in
 * the socket for the next layer. Every byte fed to the parser before it
 * says DETOUR_OK belongs to the header (proxyproto.h), so a header split
 * across segments is consumed as it comes, and level-triggered epoll does
 * not wake again for bytes merely peeked. */

/* The longest header accepted: the connection's first input buffer. The
 * spec bounds version 1 at 107 bytes; version 2's TLVs from the usual load
 * balancers (AWS, GCP, haproxy) take a few hundred. */
#define PROXY_HDR_MAX IN_INITIAL

static void proxy_refuse(struct conn *c, enum proxy_err why)
{
	stats_add64(&c->cs->st->proxy_errors[why], 1);
	conn_close(c);
}

/* A new connection on a proxy-protocol listener: only a trusted peer may
 * speak for another (docs/https.md). */
static void proxy_start(struct conn *c)
{
	const struct settings *set = c->cs->view.set;

	if (!detour_fwd_trusted(set->trusted, set->ntrusted, &c->peer_sa.sa)) {
		proxy_refuse(c, PROXY_ERR_UNTRUSTED);
		return;
	}
	c->state = ST_PROXY;
}

static void proxy_read(struct conn *c)
{
	struct detour_proxy p;
	detour_err e;
	ssize_t n;
	size_t take;

	n = recv(c->src.fd, c->in + c->in_len, PROXY_HDR_MAX - c->in_len, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		proxy_refuse(c, PROXY_ERR_INCOMPLETE); /* closed (or reset) before it */
		return;
	}
	e = detour_proxy_parse(c->in, c->in_len + (size_t)n, &p);
	if (e == DETOUR_EINVAL || (e == DETOUR_INCOMPLETE && p.len > PROXY_HDR_MAX) ||
	    (e == DETOUR_INCOMPLETE && c->in_len + (size_t)n == PROXY_HDR_MAX)) {
		proxy_refuse(c, PROXY_ERR_INVALID);
		return;
	}
	take = e == DETOUR_OK ? p.len - c->in_len : (size_t)n;
	/* The bytes were peeked: this read gets exactly them. */
	if (recv(c->src.fd, c->in + c->in_len, take, 0) != (ssize_t)take) {
		proxy_refuse(c, PROXY_ERR_INCOMPLETE);
		return;
	}
	c->in_len += (uint32_t)take;
	if (e == DETOUR_INCOMPLETE)
		return;
	/* The header's source replaces the peer, for every request of the
	 * connection; LOCAL and UNKNOWN keep the connection's own (the proxy's
	 * health checks). PP2_CLIENT_SSL: the client spoke TLS to the proxy. */
	if (p.has_addr)
		set_peer(c, &p.src.sa);
	if (p.ssl)
		c->https = true;
	c->in_len = 0;
	c->state = ST_HEAD;
}

/* A turn on what is buffered (serve), then on what waits decrypted inside
 * the SSL. */
static void serve_buffered(struct conn *c)
{
	if (!serve(c, false))
		return;
	if (c->tls && !c->want_write && !c->paused && c->ready.next == NULL &&
	    tls_conn_pending(c->tls))
		conn_read(c);
}

static void on_conn_event(struct loop_source *src, unsigned events)
{
	struct conn *c = (struct conn *)src;

	if (c->shed)
		return; /* over the memory budget: conn_run_ready closes it */
	if (c->tls_rw && (events & LOOP_WRITE)) {
		/* The TLS read (a handshake flight) waited for the socket. */
		c->tls_rw = false;
		set_events(c, false);
		conn_read(c);
		return;
	}
	if (c->state == ST_PROXY) {
		if (events & LOOP_READ)
			proxy_read(c);
		return;
	}

	if (c->want_write && (events & LOOP_WRITE)) {
		if (!conn_flush(c))
			return;
		if (c->state == ST_LINGER || c->want_write)
			return;
		/* Drained: answer what was buffered meanwhile (a body
		 * keeps its absolute deadline). */
		if (c->state != ST_BODY)
			conn_list_move(c->cs, c, LIST_ACTIVE);
		if (c->in_len > 0 || c->state == ST_BODY || c->h2)
			serve_buffered(c);
		else
			update_deadline(c, true, false);
		return;
	}
	/* Owed a turn (budget.h): it comes after the batch, and the socket
	 * is not read before the buffered requests are answered. */
	if (!c->want_write && !c->paused && (events & LOOP_READ) && c->ready.next == NULL)
		conn_read(c);
}

bool conn_has_ready(const struct conns *cs)
{
	return !budget_ready_empty(cs);
}

void conn_run_ready(struct conns *cs)
{
	struct conn_link turn;
	struct conn *c;

	/* The connections queued before this pass get one turn each; those
	 * that queue again wait for the next iteration's batch. */
	budget_ready_take(cs, &turn);
	while ((c = budget_ready_pop(&turn)) != NULL) {
		if (c->shed)
			conn_close(c);
		else
			serve_buffered(c);
	}
}

static void conn_timeout(struct conn *c)
{
	if (c->state == ST_PROXY) {
		proxy_refuse(c, PROXY_ERR_INCOMPLETE); /* no header within the header timeout */
		return;
	}
	if (c->h2) {
		/* GOAWAY, then close: it must leave the list it expired in. */
		h2_goaway(c, true);
		if (conn_flush(c) && c->state != ST_LINGER)
			conn_close(c);
		return;
	}
	if (c->list == LIST_ACTIVE && c->state == ST_HEAD && c->in_len > 0 && c->out_len == 0) {
		/* RFC 9110 §15.5.9: 408, then close. */
		request_error(c, 408, NULL);
		if (!conn_flush(c))
			return;
		if (c->list == LIST_ACTIVE)
			conn_close(c); /* could not even start writing it */
		return;
	}
	conn_close(c);
}

static void conn_drain(struct conn *c)
{
	if (c->h2) {
		h2_goaway(c, false); /* RFC 9113 §6.8: graceful */
		conn_flush(c);
		return;
	}
	if (c->state == ST_HEAD && c->in_len == 0 && c->out_len == 0)
		start_linger(c);
}

void conn_expire(struct conns *cs)
{
	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		struct conn *head = &cs->lists[list];
		while (head->next != head && head->next->deadline_ms <= cs->now_ms) {
			struct conn *c = head->next;
			conn_timeout(c); /* moves or closes c */
		}
	}
}

uint64_t conn_next_deadline(const struct conns *cs, uint64_t next)
{
	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		const struct conn *head = &cs->lists[list];
		if (head->next != head && head->next->deadline_ms < next)
			next = head->next->deadline_ms;
	}
	return next;
}

void conn_drain_all(struct conns *cs)
{
	struct conn *head;

	cs->draining = true;
	/* Idle keep-alive connections have nothing in flight: close them now.
	 * Others finish their current request with "Connection: close". */
	head = &cs->lists[LIST_IDLE];
	while (head->next != head) {
		if (head->next->h2)
			conn_list_move(cs, head->next, LIST_ACTIVE); /* GOAWAY first, below */
		else
			conn_close(head->next);
	}
	head = &cs->lists[LIST_ACTIVE];
	for (struct conn *c = head->next, *n; c != head; c = n) {
		n = c->next;
		conn_drain(c);
	}
}

void conn_close_all(struct conns *cs)
{
	struct conn *c;

	for (int list = LIST_ACTIVE; list < LIST_COUNT; list++) {
		struct conn *head = &cs->lists[list];
		while (head->next != head)
			conn_close(head->next);
	}
	while ((c = cs->free_conns) != NULL) {
		cs->free_conns = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
	cs->nfree = 0;
}
