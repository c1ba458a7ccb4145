/* detour: CSRs, acme-tls/1 challenge certificates and issued chains, see
 * include/detour/acme_cert.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "detour/acme_cert.h"
#include "detour/acme_jws.h"

/* A subjectAltName extension of dNSNames names[0..n). */
static X509_EXTENSION *san_ext(const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	X509_EXTENSION *ext = NULL;

	if (gens == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (g == NULL || s == NULL ||
		    !ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
out:
	GENERAL_NAMES_free(gens);
	return ext;
}

static X509_NAME *cn_name(const char *cn)
{
	X509_NAME *nm = X509_NAME_new();

	if (nm != NULL && strlen(cn) <= 64 &&
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                                0)) {
		X509_NAME_free(nm);
		return NULL;
	}
	return nm;
}

char *detour_acme_csr(EVP_PKEY *key, const char *const *names, size_t n)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *san = n ? san_ext(names, n) : NULL;
	X509_NAME *nm = n ? cn_name(names[0]) : NULL;
	unsigned char *der = NULL;
	char *out = NULL;
	int dl;

	if (req == NULL || exts == NULL || san == NULL || nm == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, nm) ||
	    !X509_REQ_set_pubkey(req, key) || !sk_X509_EXTENSION_push(exts, san))
		goto done;
	san = NULL; /* owned by exts */
	if (!X509_REQ_add_extensions(req, exts) || !X509_REQ_sign(req, key, EVP_sha256()))
		goto done;
	dl = i2d_X509_REQ(req, &der);
	if (dl <= 0)
		goto done;
	out = malloc((size_t)dl / 3 * 4 + 8);
	if (out != NULL && detour_b64url(der, (size_t)dl, out, (size_t)dl / 3 * 4 + 8) < 0) {
		free(out);
		out = NULL;
	}
done:
	OPENSSL_free(der);
	X509_EXTENSION_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return out;
}

/* RFC 8737 §3: "The extnValue of the id-pe-acmeIdentifier extension is the
 * ASN.1 DER encoding of the Authorization structure", an OCTET STRING of
 * the SHA-256 digest of the key authorization; the extension MUST be
 * critical. */
static X509_EXTENSION *acme_ext(const char *key_authz)
{
	unsigned char v[34];
	ASN1_OBJECT *obj = OBJ_txt2obj(DETOUR_ACME_OID_IDENTIFIER, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;

	v[0] = 0x04; /* OCTET STRING */
	v[1] = 32;
	if (obj != NULL && os != NULL &&
	    EVP_Digest(key_authz, strlen(key_authz), v + 2, NULL, EVP_sha256(), NULL) == 1 &&
	    ASN1_OCTET_STRING_set(os, v, sizeof(v)))
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	return ext;
}

static char *pem_of(X509 *x, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(b);
	return out;
}

char *detour_acme_alpn_cert(EVP_PKEY *key, const char *host, const char *key_authz, int64_t now,
                            size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *nm = cn_name(host);
	X509_EXTENSION *san = san_ext(&host, 1), *id = acme_ext(key_authz);
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	char *out = NULL;

	if (x == NULL || nm == NULL || san == NULL || id == NULL ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto done;
	rnd[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (bn == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &(time_t){(time_t)now}) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 7, 0, &(time_t){(time_t)now}) ||
	    !X509_set_subject_name(x, nm) || !X509_set_issuer_name(x, nm) ||
	    !X509_set_pubkey(x, key) || !X509_add_ext(x, san, -1) || !X509_add_ext(x, id, -1) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto done;
	out = pem_of(x, len);
done:
	BN_free(bn);
	X509_EXTENSION_free(san);
	X509_EXTENSION_free(id);
	X509_NAME_free(nm);
	X509_free(x);
	return out;
}

static int64_t asn1_secs(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

int detour_acme_cert_check(const char *pem, size_t len, const char *host, EVP_PKEY *key,
                           struct detour_acme_certinfo *info, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *leaf = NULL, *x;
	unsigned n = 0;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (leaf == NULL)
			leaf = x;
		else
			X509_free(x);
		n++;
	}
	ERR_clear_error(); /* the end of the input reads as an error */
	if (leaf == NULL) {
		snprintf(err, errlen, "no PEM certificate in the chain");
		goto done;
	}
	info->ncerts = n;
	info->not_before = asn1_secs(X509_get0_notBefore(leaf));
	info->not_after = asn1_secs(X509_get0_notAfter(leaf));
	if (info->not_before < 0 || info->not_after <= info->not_before) {
		snprintf(err, errlen, "the certificate's validity cannot be read");
		goto done;
	}
	BIGNUM *sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
	char *hex = sn ? BN_bn2hex(sn) : NULL;
	snprintf(info->serial, sizeof(info->serial), "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(sn);
	if (host != NULL && X509_check_host(leaf, host, strlen(host), 0, NULL) != 1) {
		snprintf(err, errlen, "the certificate does not name %s", host);
		goto done;
	}
	if (key != NULL && X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "the certificate does not match its key");
		goto done;
	}
	rc = 0;
done:
	X509_free(leaf);
	BIO_free(b);
	return rc;
}
