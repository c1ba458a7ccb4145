/* detour: the signing half of an ACME client (RFC 8555 §6.2): base64url,
 * the account key as a JWK (RFC 7517) and its RFC 7638 thumbprint, the key
 * authorization of a challenge (RFC 8555 §8.1), and a JWS in the flattened
 * JSON serialization signed with ES256 (RFC 7515, RFC 7518 §3.4). Keys are
 * ECDSA P-256 only. Pure: no I/O, no globals. See docs/internals/acme.md. */
#ifndef DETOUR_ACME_JWS_H
#define DETOUR_ACME_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

/* Length of a thumbprint: base64url of 32 bytes, without padding. */
#define DETOUR_ACME_THUMB_LEN 43

/* base64url of in[0..len) without padding (RFC 7515 §2, RFC 4648 §5) into
 * out (NUL-ended). Returns the length written, or -1 when cap is too small
 * (at least 4 * ceil(len / 3) + 1 is always enough). */
ssize_t detour_b64url(const void *in, size_t len, char *out, size_t cap);

/* Whether s[0..len) is a non-empty run of base64url characters (what RFC
 * 8555 §8.3 and §8.4 allow in a challenge token). */
bool detour_b64url_valid(const char *s, size_t len);

/* The JWK of key's public half (RFC 7518 §6.2.1), exactly
 *   {"crv":"P-256","kty":"EC","x":"...","y":"..."}
 * members in lexicographic order and no white space, which is also the
 * input of its RFC 7638 thumbprint. Returns the length, or -1 (not a P-256
 * key, or cap too small: 128 bytes are enough). */
ssize_t detour_acme_jwk(EVP_PKEY *key, char *out, size_t cap);

/* The RFC 7638 thumbprint of key: base64url(SHA-256(JWK)), 43 characters
 * and a NUL into out. Returns 0 or -1. */
int detour_acme_thumbprint(EVP_PKEY *key, char out[DETOUR_ACME_THUMB_LEN + 1]);

/* The key authorization of a challenge (RFC 8555 §8.1): token "." thumbprint.
 * The token must be base64url (refused otherwise: it ends up in a URL path
 * and a file name). Returns the length, or -1. */
ssize_t detour_acme_key_authz(const char *token, size_t token_len, EVP_PKEY *acct, char *out,
                              size_t cap);

/* An ECDSA-Sig-Value (DER, as OpenSSL signs) as the 64 bytes r || s that
 * JWS ES256 carries (RFC 7518 §3.4: each integer left-padded to 32 bytes).
 * Returns 0, or -1 when der is not one or an integer is over 32 bytes. */
int detour_acme_sig_raw(const unsigned char *der, size_t len, unsigned char out[64]);

/* A JWS signed with key (ES256), in the flattened JSON serialization that
 * ACME requires (RFC 8555 §6.2). The protected header holds alg, nonce and
 * url, and kid (the account URL) when kid is not NULL, else the jwk (only
 * newAccount and revocation by certificate key use it). payload is the JSON
 * text to sign, "" for a POST-as-GET (RFC 8555 §6.3). Returns new memory
 * (free()), NULL on failure. */
char *detour_acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                      const char *payload);

/* A new ECDSA P-256 key, or NULL. */
EVP_PKEY *detour_acme_key_new(void);

/* key as an unencrypted PKCS #8 PEM (new memory, free(); *len its length),
 * or NULL. */
char *detour_acme_key_pem(EVP_PKEY *key, size_t *len);

/* The private key in pem[0..len) when it is an ECDSA P-256 key, else NULL. */
EVP_PKEY *detour_acme_key_parse(const char *pem, size_t len);

#endif
