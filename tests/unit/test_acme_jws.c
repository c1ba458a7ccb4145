/* Unit tests for lib/acme_jws.c and lib/acme_cert.c: base64url, the JWK and
 * RFC 7638 thumbprint of a fixed key (expected values computed outside
 * OpenSSL), DER to r||s, a JWS verified by decoding it, the CSR, the RFC 8737
 * challenge certificate and the chain check. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "detour/acme_cert.h"
#include "detour/acme_jws.h"

static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD0o8KlKic+NBtpPE\n"
                              "rI1Tyc83haB6FHs+5Ue8lzqnWXuhRANCAAQfIwwMl7HTzGI/QF2rwcS1A2/EX9PQ\n"
                              "whE/hrQnsdpt3VMjKSlD5aF3dAQI44eNcLCQ/BZC4cv3TP2Ca2V3qwau\n"
                              "-----END PRIVATE KEY-----\n";
static const char key_jwk[] = "{\"crv\":\"P-256\",\"kty\":\"EC\","
                              "\"x\":\"HyMMDJex08xiP0Bdq8HEtQNvxF_T0MIRP4a0J7Habd0\","
                              "\"y\":\"UyMpKUPloXd0BAjjh41wsJD8FkLhy_dM_YJrZXerBq4\"}";
static const char key_thumb[] = "rZ-BU84PTSoAbPEcOM5Rbtd-Eu-5453URiZarDcBzTo";

static EVP_PKEY *fixed_key(void)
{
	EVP_PKEY *k = detour_acme_key_parse(key_pem, sizeof(key_pem) - 1);
	assert_non_null(k);
	return k;
}

/* base64url decoding, for the tests only. */
static size_t unb64(const char *s, size_t len, unsigned char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		const char *p = strchr(al, s[i]);
		assert_non_null(p);
		acc = (acc << 6) | (uint32_t)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

static void test_b64url(void **state)
{
	char out[16];

	assert_int_equal(detour_b64url("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(detour_b64url("f", 1, out, sizeof(out)), 2);
	assert_string_equal(out, "Zg");
	assert_int_equal(detour_b64url("fo", 2, out, sizeof(out)), 3);
	assert_string_equal(out, "Zm8");
	assert_int_equal(detour_b64url("foo", 3, out, sizeof(out)), 4);
	assert_string_equal(out, "Zm9v");
	assert_int_equal(detour_b64url("foobar", 6, out, sizeof(out)), 8);
	assert_string_equal(out, "Zm9vYmFy");
	/* The URL alphabet: 62 and 63 are '-' and '_' (RFC 4648 §5). */
	assert_int_equal(detour_b64url("\xfb\xff", 2, out, sizeof(out)), 3);
	assert_string_equal(out, "-_8");
	assert_int_equal(detour_b64url("foo", 3, out, 4), -1); /* no room for the NUL */
	assert_true(detour_b64url_valid("aZ09-_", 6));
	assert_false(detour_b64url_valid("", 0));
	assert_false(detour_b64url_valid("a/b", 3));
	assert_false(detour_b64url_valid("ab=", 3));
	assert_false(detour_b64url_valid("a.b", 3));
}

static void test_jwk_thumbprint(void **state)
{
	EVP_PKEY *k = fixed_key();
	char jwk[160], th[DETOUR_ACME_THUMB_LEN + 1], ka[128];

	assert_int_equal(detour_acme_jwk(k, jwk, sizeof(jwk)), (int)strlen(key_jwk));
	assert_string_equal(jwk, key_jwk);
	assert_int_equal(detour_acme_jwk(k, jwk, 40), -1);
	assert_int_equal(detour_acme_thumbprint(k, th), 0);
	assert_string_equal(th, key_thumb);
	/* RFC 8555 §8.1: token || '.' || base64url(Thumbprint(accountKey)) */
	assert_int_equal(detour_acme_key_authz("tok_-1", 6, k, ka, sizeof(ka)), 6 + 1 + 43);
	assert_string_equal(ka, "tok_-1.rZ-BU84PTSoAbPEcOM5Rbtd-Eu-5453URiZarDcBzTo");
	assert_int_equal(detour_acme_key_authz("../x", 4, k, ka, sizeof(ka)), -1);
	assert_int_equal(detour_acme_key_authz("tok", 3, k, ka, 40), -1);
	EVP_PKEY_free(k);
}

static void test_sig_raw(void **state)
{
	unsigned char out[64];
	/* r = 0x80 (needs a sign byte: 00 80), s = 0x01 */
	static const unsigned char der[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01};
	static const unsigned char trailing[] = {0x30, 0x08, 0x02, 0x02, 0x00,
	                                         0x80, 0x02, 0x01, 0x01, 0x00};
	static const unsigned char bad_tag[] = {0x30, 0x06, 0x03, 0x01, 0x01, 0x02, 0x01, 0x01};
	unsigned char big[2 + 2 + 34 + 3];

	assert_int_equal(detour_acme_sig_raw(der, sizeof(der), out), 0);
	for (int i = 0; i < 31; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[31], 0x80);
	assert_int_equal(out[63], 0x01);
	assert_int_equal(out[62], 0x00);
	assert_int_equal(detour_acme_sig_raw(trailing, sizeof(trailing), out), -1);
	assert_int_equal(detour_acme_sig_raw(bad_tag, sizeof(bad_tag), out), -1);
	assert_int_equal(detour_acme_sig_raw(der, 1, out), -1);
	/* a 33-byte integer without a zero sign byte is over 32 bytes */
	big[0] = 0x30;
	big[1] = sizeof(big) - 2;
	big[2] = 0x02;
	big[3] = 34;
	memset(big + 4, 0x11, 34);
	big[4 + 34] = 0x02;
	big[5 + 34] = 1;
	big[6 + 34] = 1;
	assert_int_equal(detour_acme_sig_raw(big, sizeof(big), out), -1);
}

/* Checks the ES256 signature of a flattened JWS and returns its protected
 * header (json_decref it). */
static json_t *verify_jws(const char *jws, EVP_PKEY *k, const char *payload)
{
	json_t *j = json_loads(jws, 0, NULL);
	assert_non_null(j);
	const char *p64 = json_string_value(json_object_get(j, "protected"));
	const char *b64 = json_string_value(json_object_get(j, "payload"));
	const char *s64 = json_string_value(json_object_get(j, "signature"));
	assert_non_null(p64);
	assert_non_null(b64);
	assert_non_null(s64);
	assert_int_equal(json_object_size(j), 3);

	unsigned char buf[2048], raw[64];
	size_t n = unb64(b64, strlen(b64), buf);
	assert_int_equal(n, strlen(payload));
	assert_memory_equal(buf, payload, n);
	assert_int_equal(unb64(s64, strlen(s64), raw), 64);

	/* r || s back to DER for OpenSSL's verify */
	ECDSA_SIG *sig = ECDSA_SIG_new();
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	unsigned char *der = NULL;
	int dl = i2d_ECDSA_SIG(sig, &der);
	char input[4096];
	snprintf(input, sizeof(input), "%s.%s", p64, b64);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(
	        EVP_DigestVerify(md, der, (size_t)dl, (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);

	n = unb64(p64, strlen(p64), buf);
	buf[n] = '\0';
	json_t *prot = json_loads((char *)buf, 0, NULL);
	assert_non_null(prot);
	json_decref(j);
	return prot;
}

static void test_jws(void **state)
{
	EVP_PKEY *k = fixed_key();
	char *jws = detour_acme_jws(k, NULL, "n0nce", "https://ca.test/new-acct",
	                            "{\"termsOfServiceAgreed\":true}");
	assert_non_null(jws);
	json_t *prot = verify_jws(jws, k, "{\"termsOfServiceAgreed\":true}");
	assert_string_equal(json_string_value(json_object_get(prot, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(prot, "nonce")), "n0nce");
	assert_string_equal(json_string_value(json_object_get(prot, "url")),
	                    "https://ca.test/new-acct");
	assert_null(json_object_get(prot, "kid"));
	char *jwk = json_dumps(json_object_get(prot, "jwk"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(jwk, key_jwk);
	free(jwk);
	json_decref(prot);
	free(jws);

	/* POST-as-GET with a kid: empty payload, no jwk; a nonce with a quote
	 * is escaped, not injected. */
	jws = detour_acme_jws(k, "https://ca.test/acct/1", "a\"b", "https://ca.test/order/1", "");
	assert_non_null(jws);
	prot = verify_jws(jws, k, "");
	assert_string_equal(json_string_value(json_object_get(prot, "kid")),
	                    "https://ca.test/acct/1");
	assert_string_equal(json_string_value(json_object_get(prot, "nonce")), "a\"b");
	assert_null(json_object_get(prot, "jwk"));
	json_decref(prot);
	free(jws);
	EVP_PKEY_free(k);
}

static void test_keys(void **state)
{
	EVP_PKEY *k = detour_acme_key_new(), *k2;
	size_t len = 0;
	char *pem;

	assert_non_null(k);
	pem = detour_acme_key_pem(k, &len);
	assert_non_null(pem);
	assert_int_equal(strlen(pem), len);
	assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
	k2 = detour_acme_key_parse(pem, len);
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k, k2), 1);
	assert_null(detour_acme_key_parse("junk", 4));
	/* an RSA key is not an ES256 key */
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	size_t rl;
	char *rp = detour_acme_key_pem(rsa, &rl);
	assert_null(detour_acme_key_parse(rp, rl));
	free(rp);
	EVP_PKEY_free(rsa);
	free(pem);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

static void test_csr(void **state)
{
	EVP_PKEY *k = fixed_key();
	const char *names[] = {"www.example.com", "example.com"};
	char *csr = detour_acme_csr(k, names, 2);
	unsigned char der[2048];
	const unsigned char *p = der;

	assert_non_null(csr);
	assert_true(detour_b64url_valid(csr, strlen(csr)));
	size_t n = unb64(csr, strlen(csr), der);
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)n);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name)
			gens = X509V3_EXT_d2i(e);
	}
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	for (int i = 0; i < 2; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), names[i]);
	}
	char cn[64];
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "www.example.com");
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(csr);
	assert_null(detour_acme_csr(k, names, 0));
	EVP_PKEY_free(k);
}

static void test_alpn_cert(void **state)
{
	EVP_PKEY *k = fixed_key(), *other = detour_acme_key_new();
	const char *ka = "tok.rZ-BU84PTSoAbPEcOM5Rbtd-Eu-5453URiZarDcBzTo";
	size_t len = 0;
	char *pem = detour_acme_alpn_cert(k, "a.example.com", ka, 1800000000, &len);
	struct detour_acme_certinfo info;
	char err[128];

	assert_non_null(pem);
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	assert_int_equal(X509_check_host(x, "a.example.com", 0, 0, NULL), 1);
	ASN1_OBJECT *oid = OBJ_txt2obj(DETOUR_ACME_OID_IDENTIFIER, 1);
	int at = X509_get_ext_by_OBJ(x, oid, -1);
	assert_true(at >= 0);
	X509_EXTENSION *e = X509_get_ext(x, at);
	assert_int_equal(X509_EXTENSION_get_critical(e), 1);
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	unsigned char want[34] = {0x04, 0x20};
	EVP_Digest(ka, strlen(ka), want + 2, NULL, EVP_sha256(), NULL);
	assert_int_equal(ASN1_STRING_length(v), 34);
	assert_memory_equal(ASN1_STRING_get0_data(v), want, 34);
	ASN1_OBJECT_free(oid);
	X509_free(x);

	/* The chain check reads it as a one-certificate chain. */
	assert_int_equal(
	        detour_acme_cert_check(pem, len, "a.example.com", k, &info, err, sizeof(err)), 0);
	assert_int_equal(info.ncerts, 1);
	assert_int_equal(info.not_before, 1800000000 - 86400);
	assert_int_equal(info.not_after, 1800000000 + 7 * 86400);
	assert_true(info.serial[0] != '\0');
	assert_int_equal(
	        detour_acme_cert_check(pem, len, "b.example.com", k, &info, err, sizeof(err)), -1);
	assert_string_equal(err, "the certificate does not name b.example.com");
	assert_int_equal(
	        detour_acme_cert_check(pem, len, "a.example.com", other, &info, err, sizeof(err)),
	        -1);
	assert_string_equal(err, "the certificate does not match its key");
	assert_int_equal(detour_acme_cert_check("nope", 4, NULL, NULL, &info, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "no PEM certificate in the chain");
	free(pem);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_b64url),    cmocka_unit_test(test_jwk_thumbprint),
	        cmocka_unit_test(test_sig_raw),   cmocka_unit_test(test_jws),
	        cmocka_unit_test(test_keys),      cmocka_unit_test(test_csr),
	        cmocka_unit_test(test_alpn_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
