/* detour server: the ACME client's requests (RFC 8555 §6), on the ACME
 * thread only, with one libcurl easy handle (connections reused): the
 * directory, nonces, the account, and signed POSTs (POST-as-GET included)
 * that keep the nonce each answer carries (Replay-Nonce, §6.5) and retry a
 * badNonce refusal with the fresh one (§6.5: "the client SHOULD retry";
 * pebble refuses about 5 % of nonces on purpose). Every failure leaves a
 * one-line reason, with the CA's problem document (RFC 7807) when it sent
 * one, in err. */
#ifndef DETOUR_ACME_CLIENT_H
#define DETOUR_ACME_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "detour/acme.h"

/* An answer. */
struct acme_resp {
	long status; /* HTTP status, 0 when no answer */
	char *body;  /* NUL-ended, new memory (acme_resp_fini) */
	size_t len;
	char location[DETOUR_ACME_URL_MAX]; /* Location, "" when none */
	char ctype[128];                    /* Content-Type, "" when none */
	long retry_after;                   /* Retry-After in seconds, -1 when none */
};

void acme_resp_fini(struct acme_resp *r);

struct acme_client {
	CURL *easy;
	const char *directory;   /* borrowed: the config's */
	const char *ca_file;     /* borrowed: CURLOPT_CAINFO, NULL for the system bundle */
	const char *email;       /* borrowed, "" for none */
	const atomic_bool *stop; /* borrowed: a transfer aborts when it is set */
	EVP_PKEY *key;           /* the account key (borrowed) */
	struct detour_acme_dir dir;
	bool have_dir;
	char nonce[256];               /* the next nonce to use, "" when none */
	char kid[DETOUR_ACME_URL_MAX]; /* the account URL, "" before newAccount */
	/* The last failure. */
	char err[1024];
	struct detour_acme_problem problem; /* type "" when the CA sent none */
	unsigned bad_nonces;                /* badNonce retries, for the log and tests */
	long retry_after; /* Retry-After of the last failed answer (rateLimited, §6.6), -1: none */
};

/* Sets c up (one easy handle). Returns 0, or -1 with c->err. */
int acme_client_init(struct acme_client *c);
void acme_client_fini(struct acme_client *c);

/* Makes sure the directory is read and the account exists (newAccount with
 * termsOfServiceAgreed and the contact; the CA answers 200 with the same
 * account for a key it knows, RFC 8555 §7.3.1). Returns 0 or -1 (c->err). */
int acme_client_account(struct acme_client *c);

/* A signed POST of payload to url (kid when known, else jwk), "" for a
 * POST-as-GET. accept is the Accept header or NULL. Returns 0 for a 2xx
 * answer in r (acme_resp_fini it in every case), -1 otherwise with c->err
 * (and c->problem when the CA sent one). */
int acme_client_post(struct acme_client *c, const char *url, const char *payload,
                     const char *accept, struct acme_resp *r);

#endif
