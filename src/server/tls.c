/* detour server: TLS listeners, see tls.h and docs/internals/tls.md. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/ascii.h"
#include "detour/tlsname.h"
#include "log.h"
#include "tls.h"

/* Mozilla's "intermediate" configuration (server-side TLS, version 5.7):
 * TLS 1.2 and 1.3, these TLS 1.2 suites (OpenSSL's TLS 1.3 default
 * suites are the intermediate ones), these groups. */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:prime256v1:secp384r1"

#define PEM_MAX         (1u << 20) /* a certificate chain or key file: far below */
#define SESSION_CACHE   20480      /* sessions in the shared cache (TLS 1.2 session ids) */
#define SESSION_TIMEOUT 86400      /* 1 day, as Mozilla's intermediate profile */
#define TICKET_ROTATE_S (12 * 3600)
#define TICKET_KEYS     3 /* the current key and two before it: a ticket lives >= 24 h */
#define SID_CTX         "detour"

/* One certificate: its SSL_CTX (cert, chain, key, and the same settings as
 * the base) and the DNS names it serves, NUL-separated, lower case. */
struct cert {
	SSL_CTX *ctx;
	char *names;
	size_t names_len;
};

/* The tls-cert pairs as loaded, immutable: replaced whole by a reload. */
struct certset {
	struct cert *v;
	unsigned n;
};

/* A certificate installed for one host (ACME, acme-tls/1 challenges). */
struct hostcert {
	char host[DETOUR_TLSNAME_MAX + 1];
	SSL_CTX *ctx;
};

struct hostcerts {
	struct hostcert *v;
	unsigned n, cap;
};

/* What a file looked like when loaded: a change of any is a change. */
struct stamp {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

struct ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
};

struct tls_ctx {
	SSL_CTX *base; /* every SSL starts here: session cache and ticket keys */

	pthread_rwlock_t lock; /* files, acme, chal, unknown */
	struct certset *files;
	struct hostcerts acme, chal;
	void (*unknown)(void *arg, const char *host);
	void *unknown_arg;

	/* The pairs last loaded and their files' stamps, for tls_ctx_poll;
	 * reload_lock serialises reloads (SIGHUP, POST /reload, the poll). */
	pthread_mutex_t reload_lock;
	struct detour_conf_cert *pairs;
	unsigned npairs;
	struct stamp *stamps; /* 2 * npairs: cert, key */

	pthread_mutex_t key_lock;
	EVP_CIPHER *aes; /* AES-256-CBC, fetched once (an implicit fetch per ticket is not free) */
	struct ticket_key keys[TICKET_KEYS];
	time_t key_born;

	_Atomic uint64_t hs_ok, hs_failed;
	bool h2; /* `http2 on`: ALPN offers h2 (set at start) */
};

/* ---- errors and files ---- */

/* The reason OpenSSL gives, from its error queue (emptied). */
static void ssl_reason(char *out, size_t cap, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(out, cap, "%s", fallback);
	else
		ERR_error_string_n(e, out, cap);
	ERR_clear_error();
}

/* Reads path whole (at most PEM_MAX) into a NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len, struct stamp *st, char *err, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0 || fstat(fd, &sb)) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)PEM_MAX) {
		snprintf(err, cap, "%s: %s", path,
		         S_ISREG(sb.st_mode) ? "larger than 1 MiB" : "not a regular file");
		goto fail;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		snprintf(err, cap, "%s: out of memory", path);
		goto fail;
	}
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, cap, "%s: %s", path, r < 0 ? strerror(errno) : "short read");
			goto fail;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	if (st)
		*st = (struct stamp){sb.st_dev, sb.st_ino, sb.st_mtim, sb.st_size};
	close(fd);
	return buf;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void stamp_of(const char *path, struct stamp *st)
{
	struct stat sb;

	if (stat(path, &sb))
		*st = (struct stamp){0};
	else
		*st = (struct stamp){sb.st_dev, sb.st_ino, sb.st_mtim, sb.st_size};
}

static bool stamp_eq(const struct stamp *a, const struct stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* ---- callbacks ---- */

static int on_client_hello(SSL *s, int *al, void *arg);
static int on_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg);
static int on_ticket_key(SSL *s, unsigned char key_name[16], unsigned char *iv,
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);

/* The settings every SSL_CTX of t has: the base, and each certificate's
 * (SSL_set_SSL_CTX switches the certificate and the callbacks that run
 * after the ClientHello: ALPN). */
static SSL_CTX *ctx_new(struct tls_ctx *t, char *err, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_reason(err, cap, "SSL_CTX_new failed");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) || !SSL_CTX_set_dh_auto(ctx, 1) ||
	    !SSL_CTX_set_session_id_context(ctx, (const unsigned char *)SID_CTX,
	                                    sizeof(SID_CTX) - 1)) {
		ssl_reason(err, cap, "cannot configure an SSL_CTX");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* No renegotiation (TLS 1.2): a write never waits for a read. A peer
	 * closing without close_notify is an end of input, not an error. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                                 SSL_OP_NO_COMPRESSION);
	/* conn.c writes what it can and may move its buffer before retrying. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read what the socket has, not a record header and then its body: a
	 * handshake is about 4 reads instead of 10 (conn.c asks
	 * SSL_has_pending, which sees read-ahead bytes, before waiting). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_app_data(ctx, t);
	SSL_CTX_set_client_hello_cb(ctx, on_client_hello, t);
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, t);
	/* One TLS 1.3 ticket per full handshake is enough to resume. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
	SSL_CTX_set_timeout(ctx, SESSION_TIMEOUT);
	return ctx;
}

/* The DNS names of x as a NUL-separated lower-case list: the
 * subjectAltName dNSNames, or, without any, the last CN (RFC 6125 §6.4.4).
 * Returns the list (malloc) or NULL when the certificate names nothing. */
static char *cert_names(X509 *x, size_t *len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char *out = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
		size_t l = (size_t)ASN1_STRING_length(g->d.dNSName);
		if (l == 0 || l > DETOUR_TLSNAME_MAX + 1 || memchr(p, '\0', l))
			continue;
		if (n + l + 1 > cap) {
			size_t nc = cap ? 2 * cap + l + 1 : 256 + l;
			char *q = realloc(out, nc);
			if (q == NULL)
				break;
			out = q;
			cap = nc;
		}
		for (size_t k = 0; k < l; k++)
			out[n + k] = ascii_lower((char)p[k]);
		out[n + l] = '\0';
		n += l + 1;
	}
	GENERAL_NAMES_free(gens);
	if (n == 0) {
		X509_NAME *sn = X509_get_subject_name(x);
		int idx = -1, last = -1;
		while ((idx = X509_NAME_get_index_by_NID(sn, NID_commonName, idx)) >= 0)
			last = idx;
		if (last >= 0) {
			ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, last));
			const unsigned char *p = ASN1_STRING_get0_data(d);
			size_t l = (size_t)ASN1_STRING_length(d);
			if (l > 0 && l <= DETOUR_TLSNAME_MAX + 1 && !memchr(p, '\0', l) &&
			    (out = malloc(l + 1)) != NULL) {
				for (size_t k = 0; k < l; k++)
					out[k] = ascii_lower((char)p[k]);
				out[l] = '\0';
				n = l + 1;
			}
		}
	}
	if (n == 0) {
		free(out);
		return NULL;
	}
	*len = n;
	return out;
}

/* A certificate SSL_CTX from PEM text: the leaf, then the chain, then the
 * key, which must match the leaf. what names the origin in errors (the
 * file, or "host NAME"). names (may be NULL) receives the leaf's DNS names. */
static SSL_CTX *ctx_from_pem(struct tls_ctx *t, const char *chain, size_t chain_len,
                             const char *chain_what, const char *key, size_t key_len,
                             const char *key_what, char **names, size_t *names_len, char *err,
                             size_t cap)
{
	char why[256];
	SSL_CTX *ctx = ctx_new(t, err, cap);
	BIO *b = NULL;
	X509 *leaf = NULL, *x;
	EVP_PKEY *pk = NULL;

	if (ctx == NULL)
		return NULL;
	ERR_clear_error();
	b = BIO_new_mem_buf(chain, (int)chain_len);
	leaf = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
	if (leaf == NULL) {
		ssl_reason(why, sizeof(why), "no certificate");
		snprintf(err, cap, "%s: no PEM certificate (%s)", chain_what, why);
		goto fail;
	}
	if (!SSL_CTX_use_certificate(ctx, leaf)) {
		ssl_reason(why, sizeof(why), "unusable certificate");
		snprintf(err, cap, "%s: %s", chain_what, why);
		goto fail;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!SSL_CTX_add0_chain_cert(ctx, x)) {
			X509_free(x);
			ssl_reason(why, sizeof(why), "unusable chain certificate");
			snprintf(err, cap, "%s: %s", chain_what, why);
			goto fail;
		}
	}
	/* The loop ends on "no start line": the end of the file. */
	ERR_clear_error();
	BIO_free(b);
	b = BIO_new_mem_buf(key, (int)key_len);
	pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	if (pk == NULL) {
		ssl_reason(why, sizeof(why), "no key");
		snprintf(err, cap, "%s: no PEM private key (%s)", key_what, why);
		goto fail;
	}
	if (X509_check_private_key(leaf, pk) != 1) {
		EVP_PKEY *cpk = X509_get0_pubkey(leaf);
		ERR_clear_error();
		if (cpk && EVP_PKEY_get_base_id(cpk) != EVP_PKEY_get_base_id(pk))
			snprintf(why, sizeof(why), "an %s key for an %s certificate",
			         EVP_PKEY_get0_type_name(pk), EVP_PKEY_get0_type_name(cpk));
		else
			snprintf(why, sizeof(why), "key values mismatch");
		snprintf(err, cap, "%s: the key does not match the certificate %s (%s)", key_what,
		         chain_what, why);
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey(ctx, pk) || !SSL_CTX_check_private_key(ctx)) {
		ssl_reason(why, sizeof(why), "unusable key");
		snprintf(err, cap, "%s: %s", key_what, why);
		goto fail;
	}
	if (names) {
		*names = cert_names(leaf, names_len);
		if (*names == NULL) {
			snprintf(err, cap, "%s: the certificate names no DNS name", chain_what);
			goto fail;
		}
	}
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
		log_warn("tls: %s: the certificate has expired", chain_what);
	EVP_PKEY_free(pk);
	X509_free(leaf);
	BIO_free(b);
	return ctx;
fail:
	EVP_PKEY_free(pk);
	X509_free(leaf);
	BIO_free(b);
	SSL_CTX_free(ctx);
	return NULL;
}

static void certset_free(struct certset *cs)
{
	if (cs == NULL)
		return;
	for (unsigned i = 0; i < cs->n; i++) {
		SSL_CTX_free(cs->v[i].ctx);
		free(cs->v[i].names);
	}
	free(cs->v);
	free(cs);
}

/* Loads every pair of pairs[0..n); stamps (2n) receive the files' stamps. */
static struct certset *certset_load(struct tls_ctx *t, const struct detour_conf_cert *pairs,
                                    unsigned n, struct stamp *stamps, char *err, size_t cap)
{
	struct certset *cs = calloc(1, sizeof(*cs));
	char e[768];

	if (cs == NULL || (n && (cs->v = calloc(n, sizeof(*cs->v))) == NULL)) {
		snprintf(err, cap, "out of memory");
		free(cs);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t cl = 0, kl = 0;
		char *c = read_file(pairs[i].cert, &cl, &stamps[2 * i], e, sizeof(e));
		char *k = c ? read_file(pairs[i].key, &kl, &stamps[2 * i + 1], e, sizeof(e)) : NULL;
		struct cert *ct = &cs->v[cs->n];

		if (k)
			ct->ctx = ctx_from_pem(t, c, cl, pairs[i].cert, k, kl, pairs[i].key,
			                       &ct->names, &ct->names_len, e, sizeof(e));
		if (k) {
			OPENSSL_cleanse(k, kl);
			free(k);
		}
		free(c);
		if (ct->ctx == NULL) {
			if (pairs[i].line)
				snprintf(err, cap, "tls-cert (line %u): %s", pairs[i].line, e);
			else
				snprintf(err, cap, "tls-cert: %s", e);
			certset_free(cs);
			return NULL;
		}
		cs->n++;
	}
	return cs;
}

/* ---- selection ---- */

static SSL_CTX *host_find(const struct hostcerts *h, const char *host)
{
	for (unsigned i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].host, host))
			return h->v[i].ctx;
	return NULL;
}

/* The file certificate for host: an exact name wins over a wildcard, an
 * earlier pair over a later one (RFC 6125 §6.4). */
static SSL_CTX *files_find(const struct certset *cs, const char *host, size_t hl)
{
	SSL_CTX *wild = NULL;

	for (unsigned i = 0; i < cs->n; i++) {
		const struct cert *c = &cs->v[i];
		for (const char *p = c->names; p < c->names + c->names_len; p += strlen(p) + 1) {
			int k = detour_tls_name_match_kind(p, strlen(p), host, hl);
			if (k == 2)
				return c->ctx;
			if (k == 1 && wild == NULL)
				wild = c->ctx;
		}
	}
	return wild;
}

#define SEL_ACME_TLS ((void *)1) /* app data: the acme-tls/1 challenge certificate is served */

/* RFC 6066 §3 and RFC 8737 §3: the certificate is chosen from the
 * ClientHello's server_name and ALPN, before OpenSSL reads them itself. */
static int on_client_hello(SSL *s, int *al, void *arg)
{
	struct tls_ctx *t = arg;
	const unsigned char *p;
	size_t len;
	char host[DETOUR_TLSNAME_MAX + 1];
	int hl = 0;
	unsigned alpn = 0;
	SSL_CTX *ctx = NULL;
	void (*unknown)(void *, const char *) = NULL;
	void *unknown_arg = NULL;
	bool acme = false;

	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len)) {
		hl = detour_tls_sni_parse(p, len, host);
		if (hl < 0) {
			*al = SSL_AD_UNRECOGNIZED_NAME;
			return SSL_CLIENT_HELLO_ERROR;
		}
	}
	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
	                              &len) &&
	    detour_tls_alpn_parse(p, len, &alpn) < 0) {
		*al = SSL_AD_DECODE_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	pthread_rwlock_rdlock(&t->lock);
	if (hl > 0 && (alpn & DETOUR_ALPN_ACME_TLS)) {
		ctx = host_find(&t->chal, host);
		acme = ctx != NULL;
	}
	if (ctx == NULL && hl > 0) {
		ctx = files_find(t->files, host, (size_t)hl);
		if (ctx == NULL)
			ctx = host_find(&t->acme, host);
	}
	unknown = t->unknown;
	unknown_arg = t->unknown_arg;
	/* No SNI, or a name nothing covers and nobody issues for: the first
	 * pair (the default). */
	if (ctx == NULL && (hl == 0 || unknown == NULL) && t->files->n > 0)
		ctx = t->files->v[0].ctx;
	if (ctx)
		SSL_set_SSL_CTX(s, ctx); /* takes a reference */
	pthread_rwlock_unlock(&t->lock);
	if (ctx == NULL) {
		if (hl > 0 && unknown)
			unknown(unknown_arg, host);
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_CLIENT_HELLO_ERROR;
	}
	SSL_set_app_data(s, acme ? SEL_ACME_TLS : NULL);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* The protocol want[0..wl) in the client's ALPN list in[0..inlen): points
 * *out at it and returns true. */
static bool alpn_find(const unsigned char *in, unsigned inlen, const char *want, unsigned wl,
                      const unsigned char **out, unsigned char *outlen)
{
	for (unsigned i = 0; i < inlen;) {
		unsigned l = in[i++];
		if (l > inlen - i)
			break;
		if (l == wl && !memcmp(in + i, want, wl)) {
			*out = in + i;
			*outlen = (unsigned char)l;
			return true;
		}
		i += l;
	}
	return false;
}

/* RFC 7301 §3.2: the server picks; ours are h2 (with `http2 on`; RFC 9113
 * §3.2), then http/1.1, whatever the client's order. None of ours is a
 * fatal no_application_protocol alert. A challenge handshake speaks only
 * acme-tls/1 (RFC 8737 §3). */
static int on_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg)
{
	const struct tls_ctx *t = arg;

	if (SSL_get_app_data(s) == SEL_ACME_TLS)
		return alpn_find(in, inlen, "acme-tls/1", 10, out, outlen)
		               ? SSL_TLSEXT_ERR_OK
		               : SSL_TLSEXT_ERR_ALERT_FATAL;
	if ((t->h2 && alpn_find(in, inlen, "h2", 2, out, outlen)) ||
	    alpn_find(in, inlen, "http/1.1", 8, out, outlen))
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

bool tls_conn_h2(const struct ssl_st *ssl)
{
	const unsigned char *p;
	unsigned len;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == 2 && !memcmp(p, "h2", 2);
}

/* ---- session tickets ---- */

static int key_new(struct ticket_key *k)
{
	return RAND_bytes(k->name, sizeof(k->name)) == 1 &&
	                       RAND_bytes(k->aes, sizeof(k->aes)) == 1 &&
	                       RAND_bytes(k->hmac, sizeof(k->hmac)) == 1
	               ? 0
	               : -1;
}

/* Under key_lock: the newest key ages out after TICKET_ROTATE_S. */
static void keys_rotate(struct tls_ctx *t, time_t now)
{
	struct ticket_key k;

	if (now - t->key_born < TICKET_ROTATE_S || key_new(&k))
		return;
	memmove(&t->keys[1], &t->keys[0], (TICKET_KEYS - 1) * sizeof(t->keys[0]));
	t->keys[0] = k;
	t->key_born = now;
}

/* OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb):
 * AES-256-CBC with HMAC-SHA256, keys shared by every worker (one base
 * SSL_CTX owns the tickets), rotated every 12 hours, the two previous keys
 * still decrypting. Returns 1 (ticket made), 2 (a known key: resume and
 * issue a new ticket), 0 (unknown key: full handshake), -1.
 *
 * Every resumption gets a new ticket, with the current key: an OpenSSL
 * TLS 1.3 server sends none after a resumption unless the callback asks
 * for renewal, and clients use a TLS 1.3 ticket once (RFC 8446 §C.4), so
 * without it every other connection of a client would be a full handshake
 * (a signature more: measured with wrk, which resumes). */
static int on_ticket_key(SSL *s, unsigned char key_name[16], unsigned char *iv,
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_ctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
	struct ticket_key k;
	int found = -1;
	OSSL_PARAM params[3];

	pthread_mutex_lock(&t->key_lock);
	keys_rotate(t, time(NULL));
	if (enc) {
		k = t->keys[0];
		found = 0;
	} else {
		for (int i = 0; i < TICKET_KEYS; i++)
			if (!memcmp(key_name, t->keys[i].name, 16)) {
				k = t->keys[i];
				found = i;
				break;
			}
	}
	pthread_mutex_unlock(&t->key_lock);
	if (found < 0)
		return 0;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (enc) {
		memcpy(key_name, k.name, 16);
		if (RAND_bytes(iv, 16) != 1 || !EVP_EncryptInit_ex(cctx, t->aes, NULL, k.aes, iv) ||
		    !EVP_MAC_CTX_set_params(hctx, params))
			found = -2;
	} else if (!EVP_DecryptInit_ex(cctx, t->aes, NULL, k.aes, iv) ||
	           !EVP_MAC_CTX_set_params(hctx, params)) {
		found = -2;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	if (found == -2)
		return -1;
	return enc ? 1 : 2;
}

/* ---- the context ---- */

struct tls_ctx *tls_ctx_new(const struct detour_config *cfg, char *err, size_t errlen)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_rwlock_init(&t->lock, NULL);
	pthread_mutex_init(&t->reload_lock, NULL);
	pthread_mutex_init(&t->key_lock, NULL);
	for (int i = 0; i < TICKET_KEYS; i++)
		if (key_new(&t->keys[i])) {
			snprintf(err, errlen, "cannot make session ticket keys");
			goto fail;
		}
	t->key_born = time(NULL);
	t->h2 = cfg->http2;
	t->aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (t->aes == NULL) {
		ssl_reason(err, errlen, "no AES-256-CBC for session tickets");
		goto fail;
	}
	t->base = ctx_new(t, err, errlen);
	if (t->base == NULL)
		goto fail;
	SSL_CTX_set_session_cache_mode(t->base, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(t->base, SESSION_CACHE);
	if (tls_ctx_reload(t, cfg, err, errlen))
		goto fail;
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

int tls_ctx_reload(struct tls_ctx *t, const struct detour_config *cfg, char *err, size_t errlen)
{
	unsigned n = cfg->ncerts;
	struct detour_conf_cert *pairs = calloc(n ? n : 1, sizeof(*pairs));
	struct stamp *stamps = calloc(n ? 2 * n : 1, sizeof(*stamps));
	struct certset *cs = NULL, *old;

	if (pairs == NULL || stamps == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(pairs, cfg->certs, n * sizeof(*pairs));
	pthread_mutex_lock(&t->reload_lock);
	cs = certset_load(t, pairs, n, stamps, err, errlen);
	if (cs == NULL) {
		/* Do not try again until the files change again (tls_ctx_poll);
		 * the pairs stay those of the set that serves. */
		if (t->npairs == n && !memcmp(t->pairs, pairs, n * sizeof(*pairs)))
			for (unsigned i = 0; i < 2 * n; i++)
				stamp_of(i % 2 ? pairs[i / 2].key : pairs[i / 2].cert,
				         &t->stamps[i]);
		pthread_mutex_unlock(&t->reload_lock);
		goto fail;
	}
	pthread_rwlock_wrlock(&t->lock);
	old = t->files;
	t->files = cs;
	pthread_rwlock_unlock(&t->lock);
	/* Handshakes that picked an old certificate hold its SSL_CTX. */
	certset_free(old);
	free(t->pairs);
	free(t->stamps);
	t->pairs = pairs;
	t->stamps = stamps;
	t->npairs = n;
	pthread_mutex_unlock(&t->reload_lock);
	return 0;
fail:
	free(pairs);
	free(stamps);
	return -1;
}

int tls_ctx_poll(struct tls_ctx *t)
{
	struct detour_config *cfg;
	bool changed = false;
	char err[1024];
	int rc;

	pthread_mutex_lock(&t->reload_lock);
	for (unsigned i = 0; i < 2 * t->npairs && !changed; i++) {
		struct stamp st;
		stamp_of(i % 2 ? t->pairs[i / 2].key : t->pairs[i / 2].cert, &st);
		changed = !stamp_eq(&st, &t->stamps[i]);
	}
	if (!changed) {
		pthread_mutex_unlock(&t->reload_lock);
		return 0;
	}
	/* tls_ctx_reload reads only certs and ncerts. */
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		pthread_mutex_unlock(&t->reload_lock);
		return -1;
	}
	cfg->ncerts = t->npairs;
	memcpy(cfg->certs, t->pairs, t->npairs * sizeof(*t->pairs));
	pthread_mutex_unlock(&t->reload_lock);
	rc = tls_ctx_reload(t, cfg, err, sizeof(err));
	if (rc)
		log_err("tls: a certificate file changed, reload failed: %s; the old certificates "
		        "keep serving",
		        err);
	else
		log_info("tls: a certificate file changed: %u certificate%s reloaded", cfg->ncerts,
		         cfg->ncerts == 1 ? "" : "s");
	free(cfg);
	return rc ? -1 : 1;
}

static void hostcerts_free(struct hostcerts *h)
{
	for (unsigned i = 0; i < h->n; i++)
		SSL_CTX_free(h->v[i].ctx);
	free(h->v);
	*h = (struct hostcerts){0};
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	certset_free(t->files);
	hostcerts_free(&t->acme);
	hostcerts_free(&t->chal);
	SSL_CTX_free(t->base);
	EVP_CIPHER_free(t->aes);
	free(t->pairs);
	free(t->stamps);
	OPENSSL_cleanse(t->keys, sizeof(t->keys));
	pthread_rwlock_destroy(&t->lock);
	pthread_mutex_destroy(&t->reload_lock);
	pthread_mutex_destroy(&t->key_lock);
	free(t);
}

void tls_ctx_counts(const struct tls_ctx *t, uint64_t *ok, uint64_t *failed)
{
	*ok = atomic_load_explicit(&t->hs_ok, memory_order_relaxed);
	*failed = atomic_load_explicit(&t->hs_failed, memory_order_relaxed);
}

/* ---- ACME hooks ---- */

/* Replaces (ctx != NULL) or removes host's entry of h; takes ctx over.
 * Called with t->lock held for writing. Returns 0 or -1 (out of memory). */
static int hostcerts_put(struct hostcerts *h, const char *host, SSL_CTX *ctx, SSL_CTX **old)
{
	*old = NULL;
	for (unsigned i = 0; i < h->n; i++)
		if (ascii_eq_ci_n(h->v[i].host, strlen(h->v[i].host), host, strlen(host))) {
			*old = h->v[i].ctx;
			if (ctx)
				h->v[i].ctx = ctx;
			else
				h->v[i] = h->v[--h->n];
			return 0;
		}
	if (ctx == NULL)
		return 0;
	if (h->n == h->cap) {
		unsigned nc = h->cap ? 2 * h->cap : 8;
		struct hostcert *v = realloc(h->v, nc * sizeof(*v));
		if (v == NULL)
			return -1;
		h->v = v;
		h->cap = nc;
	}
	/* SNI names are compared in lower case (tlsname.h). */
	for (size_t i = 0; i <= strlen(host); i++)
		h->v[h->n].host[i] = ascii_lower(host[i]);
	h->v[h->n++].ctx = ctx;
	return 0;
}

static int install(struct tls_ctx *t, struct hostcerts *h, const char *host, SSL_CTX *ctx,
                   char *err, size_t errlen)
{
	SSL_CTX *old;
	int rc;

	if (strlen(host) > DETOUR_TLSNAME_MAX) {
		snprintf(err, errlen, "host %s: name too long", host);
		SSL_CTX_free(ctx);
		return -1;
	}
	pthread_rwlock_wrlock(&t->lock);
	rc = hostcerts_put(h, host, ctx, &old);
	pthread_rwlock_unlock(&t->lock);
	if (rc) {
		snprintf(err, errlen, "host %s: out of memory", host);
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_free(old); /* NULL is a no-op; running handshakes hold their reference */
	return 0;
}

int tls_set_host_cert(struct tls_ctx *t, const char *host, const char *chain_pem, size_t chain_len,
                      const char *key_pem, size_t key_len, char *err, size_t errlen)
{
	char what[DETOUR_TLSNAME_MAX + 16];
	SSL_CTX *ctx;

	snprintf(what, sizeof(what), "host %s", host);
	ctx = ctx_from_pem(t, chain_pem, chain_len, what, key_pem, key_len, what, NULL, NULL, err,
	                   errlen);
	if (ctx == NULL)
		return -1;
	return install(t, &t->acme, host, ctx, err, errlen);
}

int tls_set_alpn_challenge(struct tls_ctx *t, const char *host, const char *cert_pem,
                           size_t cert_len, const char *key_pem, size_t key_len)
{
	char err[512], what[DETOUR_TLSNAME_MAX + 16];
	SSL_CTX *ctx = NULL;

	snprintf(what, sizeof(what), "acme-tls/1 %s", host);
	if (cert_pem != NULL) {
		ctx = ctx_from_pem(t, cert_pem, cert_len, what, key_pem, key_len, what, NULL, NULL,
		                   err, sizeof(err));
		if (ctx == NULL) {
			log_err("tls: %s", err);
			return -1;
		}
	}
	if (install(t, &t->chal, host, ctx, err, sizeof(err))) {
		log_err("tls: %s", err);
		return -1;
	}
	return 0;
}

void tls_on_unknown_host(struct tls_ctx *t, void (*fn)(void *arg, const char *host), void *arg)
{
	pthread_rwlock_wrlock(&t->lock);
	t->unknown = fn;
	t->unknown_arg = arg;
	pthread_rwlock_unlock(&t->lock);
}

/* ---- the transport ---- */

struct ssl_st *tls_conn_new(struct tls_ctx *t, int fd)
{
	SSL *s = SSL_new(t->base);

	if (s == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if (!SSL_set_fd(s, fd)) {
		ERR_clear_error();
		SSL_free(s);
		return NULL;
	}
	SSL_set_accept_state(s);
	return s;
}

/* SSL_get_error() as a TLS_IO_* code; the error queue is left empty (it is
 * per thread, and a leftover entry would misreport the next call). */
static ssize_t io_error(SSL *s, int r)
{
	int e = SSL_get_error(s, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_EOF;
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN || errno == EINTR) {
			ERR_clear_error();
			return TLS_IO_WANT_READ;
		}
		break;
	default:
		break;
	}
	ERR_clear_error();
	return TLS_IO_ERROR;
}

ssize_t tls_conn_read(struct tls_ctx *t, struct ssl_st *ssl, void *buf, size_t len)
{
	int r;

	if (!SSL_is_init_finished(ssl)) {
		r = SSL_do_handshake(ssl);
		if (r != 1)
			return io_error(ssl, r);
		atomic_fetch_add_explicit(&t->hs_ok, 1, memory_order_relaxed);
	}
	r = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return r > 0 ? r : io_error(ssl, r);
}

ssize_t tls_conn_write(struct ssl_st *ssl, const void *buf, size_t len)
{
	int r = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

	if (r > 0)
		return r;
	r = (int)io_error(ssl, r);
	/* Renegotiation is off: a write waiting for a read cannot happen
	 * once the handshake is done; wait for the socket instead. */
	return r == TLS_IO_WANT_READ ? TLS_IO_WANT_WRITE : r == TLS_IO_EOF ? TLS_IO_ERROR : r;
}

bool tls_conn_pending(const struct ssl_st *ssl)
{
	return SSL_has_pending(ssl) != 0;
}

void tls_conn_shutdown(struct ssl_st *ssl)
{
	if (SSL_is_init_finished(ssl) && SSL_shutdown(ssl) < 0)
		ERR_clear_error();
}

void tls_conn_free(struct tls_ctx *t, struct ssl_st *ssl)
{
	if (!SSL_is_init_finished(ssl))
		atomic_fetch_add_explicit(&t->hs_failed, 1, memory_order_relaxed);
	else
		/* Keep the session in the cache (TLS 1.2 session ids): a
		 * connection closed without close_notify would drop it. */
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(ssl);
}
