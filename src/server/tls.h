/* detour server: TLS listeners (issue 9), OpenSSL 3. A transport under the
 * connection, like h2o's h2o_socket_t: conn.c reads and writes through
 * tls_conn_read()/tls_conn_write() when c->tls is set; the HTTP/1.1 parser
 * and everything above it do not see TLS.
 *
 * One `struct tls_ctx` per server, shared by every worker:
 *  - a base SSL_CTX, made once and never replaced: every SSL is created from
 *    it, so it owns the session cache and the session ticket keys (a key
 *    callback, keys rotated every 12 hours, the previous one still accepted
 *    for decryption), shared by all workers;
 *  - the certificate set: one SSL_CTX per certificate (tls-cert pairs from
 *    files, certificates installed by the ACME client, acme-tls/1 challenge
 *    certificates), under a read-write lock. The ClientHello callback reads
 *    SNI (RFC 6066) and ALPN (RFC 7301) with lib/tlsname.c, picks the
 *    certificate and switches the SSL to its SSL_CTX (SSL_set_SSL_CTX, which
 *    takes a reference: a reload may free the set while handshakes run).
 *
 * Thread-safety: tls_ctx_new/free on the main thread; tls_ctx_reload and
 * tls_ctx_poll on the main thread (SIGHUP, the once-a-second file check) or
 * the admin thread (POST /reload), one at a time (the caller serialises them,
 * see server.c); the ACME hooks from any thread; the tls_conn_* functions on
 * the worker that owns the connection. See docs/internals/tls.md. */
#ifndef DETOUR_TLS_H
#define DETOUR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "detour/config.h"

struct tls_ctx; /* one per server: SSL_CTXs, the certificate set, ticket keys; shared by workers */
struct ssl_st;  /* OpenSSL's SSL: one per TLS connection */

/* Loads every tls-cert pair of cfg (called before privileges are dropped).
 * NULL + err on failure, err names the file and the reason. A cfg without
 * tls-cert pairs (ACME only) gives an empty set. */
struct tls_ctx *tls_ctx_new(const struct detour_config *cfg, char *err, size_t errlen);

/* SIGHUP / file change: reload the tls-cert pairs of cfg; on failure keep the
 * old set, fill err (the file and the reason) and return -1. */
int tls_ctx_reload(struct tls_ctx *t, const struct detour_config *cfg, char *err, size_t errlen);

/* Once a second (server.c): when a certificate or key file of the current
 * set changed on disk (mtime, inode or size), reloads the set from the
 * tls-cert pairs last loaded, logging the outcome. Returns 1 when it
 * reloaded, -1 when the reload failed (the old set keeps serving), 0 when
 * nothing changed. */
int tls_ctx_poll(struct tls_ctx *t);

void tls_ctx_free(struct tls_ctx *t);

/* Handshakes completed and failed (closed before completing), for
 * /metrics. */
void tls_ctx_counts(const struct tls_ctx *t, uint64_t *ok, uint64_t *failed);

/* ACME hooks: thread-safe (called from the ACME thread while workers
 * handshake). */
/* Install or replace the certificate (leaf + intermediates, PEM) and key
 * (PEM) for host (compared in lower case, as SNI names are). Returns 0, or
 * -1 with err. */
int tls_set_host_cert(struct tls_ctx *t, const char *host, const char *chain_pem, size_t chain_len,
                      const char *key_pem, size_t key_len, char *err, size_t errlen);
/* RFC 8737: the acme-tls/1 challenge certificate for host; cert_pem NULL
 * removes it. Returns 0 or -1. */
int tls_set_alpn_challenge(struct tls_ctx *t, const char *host, const char *cert_pem,
                           size_t cert_len, const char *key_pem, size_t key_len);
/* Called on a worker thread, during a handshake, for an SNI name that has no
 * certificate (the handshake then fails with unrecognized_name). Must be
 * cheap and never block. Without a hook, such a name gets the first
 * certificate (as nginx's default server does). */
void tls_on_unknown_host(struct tls_ctx *t, void (*fn)(void *arg, const char *host), void *arg);

/* The transport, on the worker owning the connection. */

/* A server-side SSL on the accepted, non-blocking socket fd; NULL when out
 * of memory. */
struct ssl_st *tls_conn_new(struct tls_ctx *t, int fd);

/* What tls_conn_read/tls_conn_write return besides a byte count. */
enum {
	TLS_IO_EOF = 0,         /* read: the peer closed (close_notify or TCP FIN) */
	TLS_IO_WANT_READ = -1,  /* wait until the socket is readable, then call again */
	TLS_IO_WANT_WRITE = -2, /* wait until the socket is writable, then call again */
	TLS_IO_ERROR = -3,      /* fatal: close the connection */
};

/* Reads up to len bytes of plaintext, running the handshake first while it
 * is not finished (RFC 8446: the first request arrives after it). Returns
 * the byte count, or a TLS_IO_* code. */
ssize_t tls_conn_read(struct tls_ctx *t, struct ssl_st *ssl, void *buf, size_t len);

/* Writes up to len bytes (partial writes allowed; the buffer may move
 * between a TLS_IO_WANT_* and the retry). Returns the count or TLS_IO_*. */
ssize_t tls_conn_write(struct ssl_st *ssl, const void *buf, size_t len);

/* True when decrypted bytes wait inside the SSL: the socket may stay quiet,
 * so the caller reads again without waiting for an event. */
bool tls_conn_pending(const struct ssl_st *ssl);

/* True when ALPN chose h2 (RFC 9113 §3.2) for this connection. */
bool tls_conn_h2(const struct ssl_st *ssl);

/* Sends close_notify without waiting (before a lingering close). */
void tls_conn_shutdown(struct ssl_st *ssl);

/* Frees the SSL; a handshake that never completed counts as failed. */
void tls_conn_free(struct tls_ctx *t, struct ssl_st *ssl);

#endif
