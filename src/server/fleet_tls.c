/* detour server: TLS to the fleet's Redis through a socketpair relay, see
 * fleet_tls.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fleet_tls.h"
#include "log.h"

#define RELAY_BUF 16384 /* one TLS record's plaintext at most */

struct relay {
	struct relay *next;
	pthread_t thread;
	atomic_bool done; /* the thread returned: join it */
	SSL *ssl;
	int tcp;               /* the TLS connection (non-blocking) */
	pthread_mutex_t appmu; /* app's close (the relay) against its shutdown (reap) */
	int app;               /* our end of the socketpair (non-blocking), -1 closed */
	char where[300];
	/* up: from hiredis to Redis; down: from Redis to hiredis */
	unsigned char up[RELAY_BUF], down[RELAY_BUF];
	size_t up_off, up_len, down_off, down_len;
};

struct fleet_tls {
	SSL_CTX *ctx;
	pthread_mutex_t mu;
	struct relay *relays; /* running or done, not joined yet */
};

/* The last OpenSSL error's reason, or fallback. */
static const char *ssl_reason(char *buf, size_t cap, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (r)
		snprintf(buf, cap, "%s", r);
	else if (e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "%s", fallback);
	ERR_clear_error();
	return buf;
}

/* A file that cannot be opened is named with errno's reason, not OpenSSL's
 * "system lib". */
static bool readable(const char *what, unsigned line, const char *path, char *err, size_t cap)
{
	FILE *f = fopen(path, "r");

	if (f) {
		fclose(f);
		return true;
	}
	snprintf(err, cap, "%s (line %u): %s: %s", what, line, path, strerror(errno));
	return false;
}

/* Called by OpenSSL when the server asks for a client certificate
 * (CertificateRequest) and none is set: marks the connection (its app data)
 * and goes on without one. Redis may only ask (tls-auth-clients optional);
 * when it refuses the connection, the mark names the reason. */
static int asked_for_cert(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	SSL_set_app_data(ssl, (void *)1);
	return 0;
}

struct fleet_tls *fleet_tls_new(const struct detour_config *conf, char *err, size_t cap)
{
	struct fleet_tls *t = calloc(1, sizeof(*t));
	char why[256];

	if (t == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION)) {
		snprintf(err, cap, "state: TLS: %s", ssl_reason(why, sizeof(why), "out of memory"));
		goto fail;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* SSL_write may return after part of the buffer, and be called again
	 * with the rest at another address (the relay's buffer moves on). */
	SSL_CTX_set_mode(t->ctx,
	                 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (conf->state_ca[0]) {
		if (!readable("state-ca", conf->state_ca_line, conf->state_ca, err, cap))
			goto fail;
		if (!SSL_CTX_load_verify_locations(t->ctx, conf->state_ca, NULL)) {
			snprintf(err, cap, "state-ca (line %u): %s: no PEM CA certificate (%s)",
			         conf->state_ca_line, conf->state_ca,
			         ssl_reason(why, sizeof(why), "unreadable"));
			goto fail;
		}
	} else if (!SSL_CTX_set_default_verify_paths(t->ctx)) {
		snprintf(err, cap, "state: TLS: the system's CA store: %s",
		         ssl_reason(why, sizeof(why), "unreadable"));
		goto fail;
	}
	if (conf->state_cert[0]) {
		unsigned l = conf->state_cert_line;
		if (!readable("state-cert", l, conf->state_cert, err, cap) ||
		    !readable("state-cert", l, conf->state_key, err, cap))
			goto fail;
		if (!SSL_CTX_use_certificate_chain_file(t->ctx, conf->state_cert)) {
			snprintf(err, cap, "state-cert (line %u): %s: no PEM certificate (%s)", l,
			         conf->state_cert, ssl_reason(why, sizeof(why), "unreadable"));
			goto fail;
		}
		if (!SSL_CTX_use_PrivateKey_file(t->ctx, conf->state_key, SSL_FILETYPE_PEM)) {
			/* OpenSSL checks the pair here already when the key loads */
			unsigned long e = ERR_peek_last_error();
			bool mismatch = ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
			ssl_reason(why, sizeof(why), "unreadable");
			if (mismatch)
				snprintf(err, cap,
				         "state-cert (line %u): %s: the key does not match the "
				         "certificate %s (%s)",
				         l, conf->state_key, conf->state_cert, why);
			else
				snprintf(err, cap,
				         "state-cert (line %u): %s: no PEM private key (%s)", l,
				         conf->state_key, why);
			goto fail;
		}
		if (!SSL_CTX_check_private_key(t->ctx)) {
			snprintf(err, cap,
			         "state-cert (line %u): %s: the key does not match the certificate "
			         "%s (%s)",
			         l, conf->state_key, conf->state_cert,
			         ssl_reason(why, sizeof(why), "mismatch"));
			goto fail;
		}
	} else {
		SSL_CTX_set_client_cert_cb(t->ctx, asked_for_cert);
	}
	pthread_mutex_init(&t->mu, NULL);
	return t;
fail:
	SSL_CTX_free(t->ctx);
	free(t);
	return NULL;
}

/* ---- the relay ---------------------------------------------------------- */

/* Moves bytes both ways until one side is closed. Every step is tried until
 * none makes progress; only then does the thread sleep in poll, on exactly
 * what each stuck step waits for: SSL_read's and SSL_write's WANT_READ or
 * WANT_WRITE on the TCP socket, readable or writable on the socketpair.
 * SSL_read is tried whenever the down buffer is empty, so plaintext already
 * decrypted inside OpenSSL (SSL_pending) is never left waiting for a poll
 * the socket will not wake. */
static void relay_run(struct relay *r)
{
	bool app_eof = false, tls_eof = false;
	short rd_want = POLLIN, wr_want = POLLOUT;
	char why[256] = "";

	for (;;) {
		bool progress = true;
		while (progress) {
			progress = false;
			if (!app_eof && r->up_len == 0) {
				ssize_t n = read(r->app, r->up, sizeof(r->up));
				if (n > 0) {
					r->up_off = 0;
					r->up_len = (size_t)n;
					progress = true;
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					app_eof = true; /* redisFree, or a shutdown */
				}
			}
			if (r->up_off < r->up_len && !tls_eof) {
				ERR_clear_error();
				int n = SSL_write(r->ssl, r->up + r->up_off,
				                  (int)(r->up_len - r->up_off));
				if (n > 0) {
					r->up_off += (size_t)n;
					if (r->up_off == r->up_len)
						r->up_off = r->up_len = 0;
					progress = true;
				} else {
					int e = SSL_get_error(r->ssl, n);
					if (e == SSL_ERROR_WANT_READ)
						wr_want = POLLIN;
					else if (e == SSL_ERROR_WANT_WRITE)
						wr_want = POLLOUT;
					else {
						if (e == SSL_ERROR_SSL)
							ssl_reason(why, sizeof(why), "");
						tls_eof = true;
					}
				}
			}
			if (!tls_eof && r->down_off == r->down_len) {
				ERR_clear_error();
				int n = SSL_read(r->ssl, r->down, sizeof(r->down));
				if (n > 0) {
					r->down_off = 0;
					r->down_len = (size_t)n;
					progress = true;
				} else {
					int e = SSL_get_error(r->ssl, n);
					if (e == SSL_ERROR_WANT_READ)
						rd_want = POLLIN;
					else if (e == SSL_ERROR_WANT_WRITE)
						rd_want = POLLOUT;
					else {
						/* close_notify, a reset, or a TLS
						 * error (an alert) */
						if (e == SSL_ERROR_SSL)
							ssl_reason(why, sizeof(why), "");
						tls_eof = true;
					}
				}
			}
			if (r->down_off < r->down_len) {
				ssize_t n = send(r->app, r->down + r->down_off,
				                 r->down_len - r->down_off, MSG_NOSIGNAL);
				if (n > 0) {
					r->down_off += (size_t)n;
					progress = true;
				} else if (errno != EAGAIN && errno != EINTR) {
					app_eof = true; /* hiredis is gone: drop it */
					r->down_off = r->down_len;
				}
			}
		}
		if (app_eof) {
			/* hiredis closed: tell Redis (close_notify, RFC 8446 §6.1),
			 * without waiting for its own. What it wrote before is sent
			 * as far as Redis takes it now; a Redis that takes no more
			 * (stalled) does not keep the relay. */
			if (!tls_eof && r->up_off == r->up_len)
				SSL_shutdown(r->ssl);
			break;
		}
		if (tls_eof && r->down_off == r->down_len)
			break; /* Redis closed (or died): hiredis sees end-of-file */
		struct pollfd p[2] = {{.fd = r->app}, {.fd = r->tcp}};
		if (!app_eof && r->up_len == 0)
			p[0].events |= POLLIN;
		if (r->down_off < r->down_len)
			p[0].events |= POLLOUT;
		if (!tls_eof && r->up_off < r->up_len)
			p[1].events |= wr_want;
		if (!tls_eof && r->down_off == r->down_len) {
			if (SSL_pending(r->ssl) > 0)
				continue; /* decrypted already: no poll would wake */
			p[1].events |= rd_want;
		}
		/* no events wanted: not polled (a hung-up socket would wake
		 * poll at once, again and again) */
		if (p[1].events == 0)
			p[1].fd = -1;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		/* hiredis gone while we do not read its end (the up buffer
		 * waits for a stalled Redis): nothing awaits what is pending */
		if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].events & POLLIN))
			app_eof = true;
	}
	/* Redis gone without close_notify (killed, restarted) is no TLS
	 * matter: the follower reports the lost connection. */
	if (why[0] && !strstr(why, "unexpected eof"))
		log_warn("fleet: TLS to Redis at %s: %s", r->where, why);
	/* hiredis's end reads end-of-file now (if it is still open) */
	pthread_mutex_lock(&r->appmu);
	close(r->app);
	r->app = -1;
	pthread_mutex_unlock(&r->appmu);
	SSL_free(r->ssl);
	r->ssl = NULL;
	close(r->tcp);
	r->tcp = -1;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;

	relay_run(r);
	atomic_store(&r->done, true);
	return NULL;
}

/* Joins the relays that ended (all of them with force: their socketpair
 * end is shut down, which they read as end-of-file). A relay closes its
 * descriptors itself when it ends; joining frees its thread's stack. */
static void reap(struct fleet_tls *t, bool all)
{
	pthread_mutex_lock(&t->mu);
	for (struct relay **pp = &t->relays; *pp;) {
		struct relay *r = *pp;
		if (!all && !atomic_load(&r->done)) {
			pp = &r->next;
			continue;
		}
		if (all) {
			pthread_mutex_lock(&r->appmu);
			if (r->app >= 0)
				shutdown(r->app, SHUT_RDWR);
			pthread_mutex_unlock(&r->appmu);
		}
		pthread_join(r->thread, NULL);
		*pp = r->next;
		pthread_mutex_destroy(&r->appmu);
		free(r);
	}
	pthread_mutex_unlock(&t->mu);
}

unsigned fleet_tls_relays(struct fleet_tls *t)
{
	unsigned n = 0;

	pthread_mutex_lock(&t->mu);
	for (struct relay *r = t->relays; r; r = r->next)
		n += !atomic_load(&r->done);
	pthread_mutex_unlock(&t->mu);
	return n;
}

void fleet_tls_join(struct fleet_tls *t)
{
	if (t)
		reap(t, true);
}

void fleet_tls_free(struct fleet_tls *t)
{
	if (t == NULL)
		return;
	reap(t, true);
	pthread_mutex_destroy(&t->mu);
	SSL_CTX_free(t->ctx);
	free(t);
}

/* ---- connecting ----------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline. 1: ready, 0: timed out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = events};
		if (left <= 0)
			return 0;
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 0;
	}
}

/* A non-blocking TCP connection to host:port by the deadline, or -1. */
static int tcp_connect(const char *host, unsigned port, int64_t deadline, char *err, size_t cap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char ps[8];
	int rc, fd = -1;

	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc) {
		snprintf(err, cap, "%s", gai_strerror(rc));
		return -1;
	}
	snprintf(err, cap, "no address");
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, cap, "socket: %s", strerror(errno));
			continue;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			soerr = errno;
		} else if (!wait_fd(fd, POLLOUT, deadline)) {
			soerr = ETIMEDOUT;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl)) {
			soerr = errno;
		}
		if (soerr == 0)
			break;
		snprintf(err, cap, "%s",
		         soerr == ETIMEDOUT ? "Connection timed out" : strerror(soerr));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		int one = 1; /* a command is one small write: no Nagle delay */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

/* Runs an SSL operation (connect, read, write) on the non-blocking fd until
 * it makes progress or the deadline passes. Returns its result (> 0), or
 * <= 0 with *e its SSL_get_error (or -1: timed out). */
static int ssl_step(SSL *ssl, int fd, int op, void *buf, int len, int64_t deadline, int *e)
{
	for (;;) {
		int n;
		ERR_clear_error();
		n = op == 0   ? SSL_connect(ssl)
		    : op == 1 ? SSL_read(ssl, buf, len)
		              : SSL_write(ssl, buf, len);
		if (n > 0)
			return n;
		*e = SSL_get_error(ssl, n);
		if (*e != SSL_ERROR_WANT_READ && *e != SSL_ERROR_WANT_WRITE)
			return n;
		if (!wait_fd(fd, *e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
			*e = -1;
			return 0;
		}
	}
}

/* Why a handshake or the first exchange failed, in a user's words. */
static void tls_why(SSL *ssl, int e, bool handshake, char *err, size_t cap)
{
	char why[256];
	long vr = SSL_get_verify_result(ssl);

	if (e == -1) {
		snprintf(why, sizeof(why), "%s timed out",
		         handshake ? "the handshake" : "Redis's answer");
	} else if (handshake && vr != X509_V_OK) {
		snprintf(err, cap, "TLS: certificate verify failed: %s (state-ca, ?tls-name=)",
		         X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return;
	} else if (e == SSL_ERROR_SSL) {
		ssl_reason(why, sizeof(why), "error"); /* an alert from Redis, often */
	} else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
		snprintf(why, sizeof(why), "Redis closed the connection");
	} else {
		snprintf(why, sizeof(why), "%s", errno ? strerror(errno) : "connection lost");
	}
	ERR_clear_error();
	/* TLS 1.3: a refused client certificate is known only after the
	 * handshake, at the first read, as an alert (certificate required) or,
	 * when Redis closed with our PING unread, a reset that lost it. */
	if (SSL_get_app_data(ssl) && e != -1)
		snprintf(err, cap,
		         "TLS: Redis refused the connection (%s): it asks for a client certificate "
		         "and none is set (state-cert)",
		         why);
	else
		snprintf(err, cap, "TLS: %s%s", why,
		         handshake || e == -1 ? "" : " (after the handshake)");
}

/* Redis answers a PING over the new connection: one line, +PONG, or -NOAUTH
 * before AUTH. Reading it shows a refused client certificate here (TLS 1.3
 * sends that alert after the handshake) rather than as an end-of-file in
 * hiredis. */
static int probe(SSL *ssl, int fd, int64_t deadline, char *err, size_t cap)
{
	char line[256];
	size_t got = 0;
	int e = 0;

	if (ssl_step(ssl, fd, 2, "PING\r\n", 6, deadline, &e) <= 0) {
		tls_why(ssl, e, false, err, cap);
		return -1;
	}
	while (got < 2 || memcmp(line + got - 2, "\r\n", 2)) {
		int n = ssl_step(ssl, fd, 1, line + got, 1, deadline, &e);
		if (n <= 0) {
			tls_why(ssl, e, false, err, cap);
			return -1;
		}
		if (++got == sizeof(line)) {
			snprintf(err, cap, "TLS: not Redis (no answer to PING)");
			return -1;
		}
	}
	if (line[0] != '+' && line[0] != '-') {
		snprintf(err, cap, "TLS: not Redis (answered PING with \"%.20s\")", line);
		return -1;
	}
	return 0;
}

static bool is_address(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* Starts the relay thread with every signal blocked: the server's signals
 * go to its signalfd, never to a relay. */
static int relay_start(struct fleet_tls *t, struct relay *r)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_init(&r->appmu, NULL);
	rc = pthread_create(&r->thread, NULL, relay_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_mutex_destroy(&r->appmu);
		return rc;
	}
	pthread_mutex_lock(&t->mu);
	r->next = t->relays;
	t->relays = r;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

/* A TCP connection to host:port and the TLS handshake on it, verifying name,
 * by the deadline. Returns the SSL (its fd in *fd), or NULL with err. */
static SSL *tls_open(struct fleet_tls *t, const char *host, unsigned port, const char *name,
                     int64_t deadline, int *fd, char *err, size_t cap)
{
	SSL *ssl;
	int e = 0, rc;

	*fd = tcp_connect(host, port, deadline, err, cap);
	if (*fd < 0)
		return NULL;
	ssl = SSL_new(t->ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, *fd)) {
		snprintf(err, cap, "TLS: out of memory");
		goto fail;
	}
	/* RFC 6125: the name (or the address) the certificate must carry;
	 * SNI only for a name (RFC 6066 §3: no literal addresses). */
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	if (is_address(name)) {
		rc = X509_VERIFY_PARAM_set1_ip_asc(vp, name);
	} else {
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		rc = X509_VERIFY_PARAM_set1_host(vp, name, 0) &&
		     SSL_set_tlsext_host_name(ssl, name);
	}
	if (!rc) {
		snprintf(err, cap, "TLS: cannot verify the name \"%s\"", name);
		goto fail;
	}
	if (ssl_step(ssl, *fd, 0, NULL, 0, deadline, &e) <= 0) {
		tls_why(ssl, e, true, err, cap);
		goto fail;
	}
	return ssl;
fail:
	SSL_free(ssl);
	close(*fd);
	*fd = -1;
	return NULL;
}

redisContext *fleet_tls_connect(struct fleet_tls *t, const char *host, unsigned port,
                                const char *name, unsigned timeout_ms, char *err, size_t cap)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct relay *r;
	redisContext *c;
	int sv[2], rc;

	reap(t, false); /* relays of connections closed since */
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	snprintf(r->where, sizeof(r->where), "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
	         strchr(host, ':') ? "]" : "", port);
	/* OpenSSL writes with write(2): a reset peer raises SIGPIPE, which
	 * this thread may not ignore yet (at start). Blocked, and a pending
	 * one taken, around the exchange; the relays block every signal. */
	sigset_t pipe, old;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	r->ssl = tls_open(t, host, port, name, deadline, &r->tcp, err, cap);
	rc = r->ssl ? probe(r->ssl, r->tcp, deadline, err, cap) : -1;
	struct timespec zero = {0, 0};
	while (sigtimedwait(&pipe, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r->ssl == NULL) {
		free(r);
		return NULL;
	}
	if (rc)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(err, cap, "socketpair: %s", strerror(errno));
		goto fail;
	}
	c = redisConnectFd(sv[0]);
	if (c == NULL || c->err) {
		snprintf(err, cap, "%s", c ? c->errstr : "out of memory");
		redisFree(c); /* closes sv[0] */
		if (c == NULL)
			close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	r->app = sv[1];
	fcntl(r->app, F_SETFL, fcntl(r->app, F_GETFL) | O_NONBLOCK);
	rc = relay_start(t, r);
	if (rc) {
		snprintf(err, cap, "pthread_create: %s", strerror(rc));
		redisFree(c);
		close(r->app);
		goto fail;
	}
	return c;
fail:
	SSL_free(r->ssl);
	close(r->tcp);
	free(r);
	return NULL;
}
