/* detour server: the built-in ACME client (RFC 8555), see
 * docs/internals/acme.md. One thread that obtains and renews a certificate
 * per host, one order at a time, and never blocks a worker:
 *  - the hosts: every exact host of a rule source (file and API rules), of
 *    canonical-host and of acme-hosts (lib/acme.c), recomputed whenever a
 *    rule table is published (the swapped hook) or the config is reloaded;
 *    plus hosts a TLS handshake asks for that a wildcard rule names (on
 *    demand, rate-limited);
 *  - at start, certificates and keys already under state-dir are loaded and
 *    installed before the first connection is accepted;
 *  - renewal once two thirds of the lifetime has passed (jittered); a
 *    failure waits an exponential, jittered backoff and is logged with the
 *    CA's problem type and detail; the old certificate keeps serving;
 *  - /metrics: each certificate's expiry, orders by result.
 * Thread-safety: acme_configure, acme_published and acme_metrics from any
 * thread (one lock); acme_on_unknown_host from workers (never blocks);
 * acme_new, acme_start and acme_free on the main thread. */
#ifndef DETOUR_ACME_SERVER_H
#define DETOUR_ACME_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "acme_order.h"
#include "base/buf.h"
#include "detour/config.h"
#include "detour/rulefile.h"
#include "publish.h"

struct acme;

/* The client for conf (borrowed: the server's start-up configuration, which
 * outlives it), installing certificates through tls (copied; its functions
 * may be NULL without TLS listeners). NULL with err when out of memory or
 * the state directory's path does not fit. Nothing is read yet. */
struct acme *acme_new(const struct detour_config *conf, const struct acme_tls_hooks *tls, char *err,
                      size_t errlen);

/* The HTTP-01 answers (for the workers, conn.c). */
const struct acme_http01 *acme_http01_of(const struct acme *a);

/* The hosts that canonical-host and acme-hosts of conf name (start-up and
 * every reload, before its tables are published). */
void acme_configure(struct acme *a, const struct detour_config *conf);

/* publish.h's swapped hook: the rule tables of pub changed; the hosts they
 * name are recomputed and the thread looks at them. */
void acme_published(struct acme *a, struct publish *pub);

/* Loads what state-dir holds for the hosts known now: certificates
 * installed through the hooks, so that they serve from the first
 * connection. Before the workers start. */
void acme_load(struct acme *a);

/* Starts the thread, after privileges are dropped (it writes the files).
 * Returns 0, or -1 with err. */
int acme_start(struct acme *a, char *err, size_t errlen);

/* tls.h's tls_on_unknown_host hook (arg: the struct acme): a handshake
 * named host and no certificate serves it. Queues host for the thread,
 * which starts an order when a rule names it (on demand, rate-limited per
 * host and overall). Never blocks: when the lock is busy or the queue full,
 * the name is dropped (the client's next handshake asks again). */
void acme_on_unknown_host(void *arg, const char *host);

/* Appends the ACME series to b: detour_tls_cert_expiry_seconds{host} and
 * detour_acme_orders_total{result}. */
void acme_metrics(struct acme *a, struct bbuf *b);

/* Stops the thread (an order in flight is abandoned) and frees a. NULL is a
 * no-op. */
void acme_free(struct acme *a);

/* detour serve -t: checks the ACME settings of conf with the rules rs
 * without contacting the CA (the CA bundle, the state directory, an
 * existing account key, the listeners the challenges need) and prints the
 * hosts to certify and those left out to out. Returns 0, or -1 with err. */
int acme_check(const struct detour_config *conf, const struct detour_ruleset *rs, FILE *out,
               char *err, size_t errlen);

#endif
