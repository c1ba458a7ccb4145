/* detour: JWS ES256, JWK and thumbprints for ACME, see include/detour/acme_jws.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "detour/acme_jws.h"

static const char b64url_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

ssize_t detour_b64url(const void *in, size_t len, char *out, size_t cap)
{
	const unsigned char *p = in;
	size_t o = 0, need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0) + 1;

	if (cap < need)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t k = len - i;
		if (k > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		if (k > 1)
			out[o++] = b64url_chars[(v >> 6) & 63];
		if (k > 2)
			out[o++] = b64url_chars[v & 63];
	}
	out[o] = '\0';
	return (ssize_t)o;
}

bool detour_b64url_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* The 32-byte big-endian coordinate name (OSSL_PKEY_PARAM_EC_PUB_X/Y) of
 * a P-256 key. */
static int coord(EVP_PKEY *key, const char *name, unsigned char out[32])
{
	BIGNUM *bn = NULL;
	int rc = -1;

	if (EVP_PKEY_get_bn_param(key, name, &bn) == 1 && BN_bn2binpad(bn, out, 32) == 32)
		rc = 0;
	BN_free(bn);
	return rc;
}

static bool is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t gl = 0;

	return key != NULL && EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                      &gl) == 1 &&
	       (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"));
}

ssize_t detour_acme_jwk(EVP_PKEY *key, char *out, size_t cap)
{
	unsigned char x[32], y[32];
	char xs[48], ys[48];
	int n;

	if (!is_p256(key) || coord(key, OSSL_PKEY_PARAM_EC_PUB_X, x) ||
	    coord(key, OSSL_PKEY_PARAM_EC_PUB_Y, y))
		return -1;
	detour_b64url(x, 32, xs, sizeof(xs));
	detour_b64url(y, 32, ys, sizeof(ys));
	/* RFC 7638 §3.2: the required members only, in lexicographic order,
	 * no white space. */
	n = snprintf(out, cap, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs,
	             ys);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int detour_acme_thumbprint(EVP_PKEY *key, char out[DETOUR_ACME_THUMB_LEN + 1])
{
	char jwk[160];
	unsigned char md[32];
	ssize_t n = detour_acme_jwk(key, jwk, sizeof(jwk));

	if (n < 0 || EVP_Digest(jwk, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1)
		return -1;
	return detour_b64url(md, sizeof(md), out, DETOUR_ACME_THUMB_LEN + 1) ==
	                       DETOUR_ACME_THUMB_LEN
	               ? 0
	               : -1;
}

ssize_t detour_acme_key_authz(const char *token, size_t token_len, EVP_PKEY *acct, char *out,
                              size_t cap)
{
	char th[DETOUR_ACME_THUMB_LEN + 1];

	if (!detour_b64url_valid(token, token_len) ||
	    token_len + 1 + DETOUR_ACME_THUMB_LEN >= cap || detour_acme_thumbprint(acct, th))
		return -1;
	memcpy(out, token, token_len);
	out[token_len] = '.';
	memcpy(out + token_len + 1, th, DETOUR_ACME_THUMB_LEN + 1);
	return (ssize_t)(token_len + 1 + DETOUR_ACME_THUMB_LEN);
}

/* One DER INTEGER at *p (end e) as 32 big-endian bytes. */
static int der_int(const unsigned char **p, const unsigned char *e, unsigned char out[32])
{
	const unsigned char *q = *p;
	size_t l;

	if (e - q < 2 || q[0] != 0x02 || q[1] > 33 || q[1] == 0 || (size_t)(e - q - 2) < q[1])
		return -1;
	l = q[1];
	q += 2;
	*p = q + l;
	while (l > 0 && q[0] == 0) { /* the sign byte and any leading zero */
		q++;
		l--;
	}
	if (l > 32)
		return -1;
	memset(out, 0, 32 - l);
	memcpy(out + 32 - l, q, l);
	return 0;
}

int detour_acme_sig_raw(const unsigned char *der, size_t len, unsigned char out[64])
{
	const unsigned char *p = der, *e = der + len;

	/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279);
	 * for P-256 it is under 128 bytes, so the length is one byte. */
	if (len < 2 || p[0] != 0x30 || p[1] != len - 2)
		return -1;
	p += 2;
	if (der_int(&p, e, out) || der_int(&p, e, out + 32) || p != e)
		return -1;
	return 0;
}

/* ES256 over in[0..len): the raw r || s of RFC 7518 §3.4, base64url. */
static int sign_es256(EVP_PKEY *key, const char *in, size_t len, char *out, size_t cap)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80], raw[64];
	size_t dl = sizeof(der);
	int rc = -1;

	if (md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, der, &dl, (const unsigned char *)in, len) == 1 &&
	    detour_acme_sig_raw(der, dl, raw) == 0 && detour_b64url(raw, 64, out, cap) > 0)
		rc = 0;
	EVP_MD_CTX_free(md);
	return rc;
}

char *detour_acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                      const char *payload)
{
	char jwk[160], sig[96];
	json_t *prot = NULL, *jws = NULL, *k = NULL;
	char *ptext = NULL, *p64 = NULL, *b64 = NULL, *input = NULL, *out = NULL;
	size_t pl = strlen(payload), plen;

	if (kid == NULL) {
		if (detour_acme_jwk(key, jwk, sizeof(jwk)) < 0 ||
		    (k = json_loads(jwk, 0, NULL)) == NULL)
			goto done;
	}
	/* RFC 8555 §6.2: alg, nonce, url, and exactly one of jwk and kid. */
	prot = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", nonce, "url", url);
	if (prot == NULL)
		goto done;
	if (kid ? json_object_set_new(prot, "kid", json_string(kid))
	        : json_object_set(prot, "jwk", k))
		goto done;
	ptext = json_dumps(prot, JSON_COMPACT | JSON_SORT_KEYS);
	if (ptext == NULL)
		goto done;
	plen = strlen(ptext);
	p64 = malloc(plen / 3 * 4 + 8);
	b64 = malloc(pl / 3 * 4 + 8);
	input = malloc(plen / 3 * 4 + pl / 3 * 4 + 16);
	if (p64 == NULL || b64 == NULL || input == NULL ||
	    detour_b64url(ptext, plen, p64, plen / 3 * 4 + 8) < 0 ||
	    detour_b64url(payload, pl, b64, pl / 3 * 4 + 8) < 0)
		goto done;
	/* RFC 7515 §5.1: the signing input is ASCII(b64(protected) "." b64(payload)). */
	sprintf(input, "%s.%s", p64, b64);
	if (sign_es256(key, input, strlen(input), sig, sizeof(sig)))
		goto done;
	jws = json_pack("{s:s, s:s, s:s}", "protected", p64, "payload", b64, "signature", sig);
	if (jws != NULL)
		out = json_dumps(jws, JSON_COMPACT);
done:
	json_decref(k);
	json_decref(prot);
	json_decref(jws);
	free(ptext);
	free(p64);
	free(b64);
	free(input);
	return out;
}

EVP_PKEY *detour_acme_key_new(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

char *detour_acme_key_pem(EVP_PKEY *key, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(b);
	return out;
}

EVP_PKEY *detour_acme_key_parse(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (k != NULL && !is_p256(k)) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}
