/* detour server: one ACME order for one host, on the ACME thread (RFC 8555
 * §7.4): newOrder, each authorization, its challenge (HTTP-01 answered by
 * the token table, TLS-ALPN-01 by a challenge certificate the TLS side
 * serves for acme-tls/1), polling until the authorization is final, finalize
 * with a CSR of a new P-256 key, polling the order, and the download of the
 * whole chain. Blocking, but only the ACME thread waits: workers keep
 * serving. */
#ifndef DETOUR_ACME_ORDER_H
#define DETOUR_ACME_ORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "acme_client.h"
#include "acme_http01.h"

/* How the TLS side installs certificates (tls.h's ACME hooks, wired by
 * server.c). set_cert and set_alpn are NULL without TLS listeners. */
struct acme_tls_hooks {
	void *arg;
	int (*set_cert)(void *arg, const char *host, const char *chain_pem, size_t chain_len,
	                const char *key_pem, size_t key_len, char *err, size_t errlen);
	int (*set_alpn)(void *arg, const char *host, const char *cert_pem, size_t cert_len,
	                const char *key_pem, size_t key_len);
};

struct acme_order_env {
	struct acme_client *cl;
	struct acme_http01 *http01; /* HTTP-01 answers */
	const struct acme_tls_hooks *tls;
	bool http01_ok; /* a plain listener exists: HTTP-01 can be answered */
	bool alpn_ok;   /* a TLS listener and the hook exist: TLS-ALPN-01 can */
	/* Waits up to ms, or less when the thread is asked to stop or look;
	 * returns true when it must stop. */
	bool (*nap)(void *arg, unsigned ms);
	void *nap_arg;
};

/* What an order brought: new memory, free() both. */
struct acme_issued {
	char *chain; /* PEM, leaf first, as the CA sent it */
	size_t chain_len;
	char *key; /* PEM (PKCS #8) */
	size_t key_len;
};

/* Orders a certificate for host. Returns 0 with out filled, or -1 with the
 * reason in env->cl->err (the CA's problem type and detail when it sent
 * one) and env->cl->problem. */
int acme_order_run(struct acme_order_env *env, const char *host, struct acme_issued *out);

#endif
