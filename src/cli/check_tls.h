/* detour check: the certificate of an https hop. libcurl collects the
 * server's chain during the handshake (CURLOPT_CERTINFO); this file takes
 * the leaf into the hop, remembers it per origin for the hops that reuse
 * the connection (libcurl has no CERTINFO for them), and adds the
 * certificate findings, with lib/certinfo.c deciding the expiry rule. */
#ifndef DETOUR_CLI_CHECK_TLS_H
#define DETOUR_CLI_CHECK_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "check_util.h"

/* The certificates seen in a run, by origin ("https://host:port"). */
struct check_tls {
	struct check_tls_seen *v;
	size_t n, cap;
};

/* Takes the leaf certificate of the transfer just done on easy (a CURL *)
 * for the https hop h of URL h->url into h (h->has_cert): from libcurl's
 * CURLINFO_CERTINFO, else, when the connection was reused, the one seen
 * before for the same origin (t may be NULL: no memory of it). A
 * certificate read from libcurl is remembered in t. Returns h->has_cert. */
bool check_tls_take(struct check_tls *t, void *easy, struct hop *h);

/* The cert-expiring finding for hop number hopno of c when its certificate
 * (verified) expires within DETOUR_CERT_SOON_DAYS days of now, or has
 * expired by now (a clock set with --at or DETOUR_NOW), and only once per
 * certificate in a chain. */
void check_tls_expiry(struct chain *c, int hopno, int64_t now);

/* Frees what t holds. */
void check_tls_free(struct check_tls *t);

#endif
