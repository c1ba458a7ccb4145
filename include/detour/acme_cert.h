/* detour: the X.509 half of an ACME client: the CSR sent to finalize an
 * order (RFC 8555 §7.4), the self-signed acme-tls/1 challenge certificate
 * (RFC 8737 §3), and what the server needs to know of an issued chain
 * (validity, names, key match). ECDSA P-256 keys (acme_jws.h). Pure. */
#ifndef DETOUR_ACME_CERT_H
#define DETOUR_ACME_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* RFC 8737 §3: id-pe-acmeIdentifier. */
#define DETOUR_ACME_OID_IDENTIFIER "1.3.6.1.5.5.7.1.31"

/* A CSR (PKCS #10) for names[0..n) signed by key, DER then base64url, as
 * the finalize request's "csr" member carries it (RFC 8555 §7.4): the
 * names in a subjectAltName extension, the first also as the common name.
 * Returns new memory (free()) or NULL. */
char *detour_acme_csr(EVP_PKEY *key, const char *const *names, size_t n);

/* The acme-tls/1 challenge certificate of RFC 8737 §3 for host: self-signed
 * by key, valid from a day before now to a week after, subjectAltName
 * dNSName host only, and a critical id-pe-acmeIdentifier extension whose
 * value is the DER OCTET STRING of SHA-256(key_authz). PEM, new memory
 * (free(); *len its length), or NULL. */
char *detour_acme_alpn_cert(EVP_PKEY *key, const char *host, const char *key_authz, int64_t now,
                            size_t *len);

/* What a PEM chain (leaf first) says. */
struct detour_acme_certinfo {
	int64_t not_before, not_after; /* the leaf's validity, Unix seconds */
	unsigned ncerts;               /* certificates in the chain */
	char serial[80];               /* the leaf's serial number in hex */
};

/* Reads the chain in pem[0..len): every block must be a certificate. When
 * host is not NULL the leaf must name it (RFC 6125 matching, as a client
 * would), and when key is not NULL the leaf must hold its public half.
 * Returns 0 with info filled, or -1 with the reason in err. */
int detour_acme_cert_check(const char *pem, size_t len, const char *host, EVP_PKEY *key,
                           struct detour_acme_certinfo *info, char *err, size_t errlen);

#endif
