/* detour server: TLS to the fleet's Redis (rediss://, docs/internals/fleet.md
 * "TLS"). Debian's hiredis 0.14 has no hiredis_ssl and reads and writes its
 * socket itself, so detour makes the TLS connection with OpenSSL and hands
 * hiredis one end of a socketpair (redisConnectFd); a relay thread per
 * connection moves the bytes between the other end and the TLS connection.
 * hiredis's timeouts (redisSetTimeout) act on its end; a close on either side
 * reaches the other: Redis closing or dying gives hiredis end-of-file, and
 * redisFree (or a shutdown of hiredis's end) ends the relay, which sends
 * close_notify and frees its connection and SSL. */
#ifndef DETOUR_FLEET_TLS_H
#define DETOUR_FLEET_TLS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "detour/config.h"

struct fleet_tls;

/* The client context: TLS 1.2 or later, the server's chain verified against
 * conf->state_ca (else the system's store), the client certificate of
 * conf->state_cert and state_key when set. Read now (at start, before
 * privileges are dropped). Returns NULL with err naming the directive, its
 * line, the file and the reason. */
struct fleet_tls *fleet_tls_new(const struct detour_config *conf, char *err, size_t cap);

/* Connects to host:port, does the TLS handshake (SNI and the verified name:
 * name, an address or a host name) and checks that Redis answers over it,
 * all within timeout_ms. Returns a blocking hiredis context relayed to that
 * connection, or NULL with err (the TLS reason: "certificate verify failed:
 * ...", "Redis refused the client certificate ...", ...). */
redisContext *fleet_tls_connect(struct fleet_tls *t, const char *host, unsigned port,
                                const char *name, unsigned timeout_ms, char *err, size_t cap);

/* Relays running now (their connections not closed yet). */
unsigned fleet_tls_relays(struct fleet_tls *t);

/* After every context of t was freed: ends the relays still running (their
 * socketpair end shut down) and joins every relay thread. The start-up load
 * calls it, so that no relay thread is left when privileges are dropped. */
void fleet_tls_join(struct fleet_tls *t);

/* After every context of t was freed: ends the relays still running (they
 * see end-of-file), joins their threads and frees t. */
void fleet_tls_free(struct fleet_tls *t);

#endif
