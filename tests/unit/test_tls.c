/* Unit tests for src/server/tls.c: certificate choice (SNI, wildcards, the
 * default, ACME host certificates, acme-tls/1 challenge certificates, the
 * unknown-host hook), ALPN, reload keeping the old set, and the counters.
 * Handshakes run over a socketpair between tls_conn_read() and an OpenSSL
 * client in the same thread; certificates are made here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "unit.h"

#include "detour/config.h"
#include "tls.h"

/* A self-signed certificate for CN names[0] and the DNS names, PEM in
 * cert/key (malloc). */
static void make_cert(const char *const *names, unsigned n, char **cert, size_t *cl, char **key,
                      size_t *kl)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	char san[512] = "";
	BIO *b;
	BUF_MEM *m;

	assert_non_null(pk);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)rand());
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)names[0], -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	for (unsigned i = 0; i < n; i++)
		snprintf(san + strlen(san), sizeof(san) - strlen(san), "%sDNS:%s", i ? "," : "",
		         names[i]);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);

	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	BIO_get_mem_ptr(b, &m);
	*cert = malloc(m->length + 1);
	memcpy(*cert, m->data, m->length);
	*cl = m->length;
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
	BIO_get_mem_ptr(b, &m);
	*key = malloc(m->length + 1);
	memcpy(*key, m->data, m->length);
	*kl = m->length;
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	fclose(f);
}

struct fx {
	char dir[64];
	struct detour_config *cfg;
	struct tls_ctx *t;
	char *pem[4], *key[4];
	size_t pl[4], kl[4];
	char unknown[256];
	unsigned nunknown;
};

/* pair i of the fixture to files DIR/i.pem and DIR/i.key, as tls-cert i. */
static void add_pair(struct fx *f, unsigned i, const char *pem, size_t pl, const char *key,
                     size_t kl)
{
	struct detour_conf_cert *c = &f->cfg->certs[i];

	snprintf(c->cert, sizeof(c->cert), "%s/%u.pem", f->dir, i);
	snprintf(c->key, sizeof(c->key), "%s/%u.key", f->dir, i);
	c->line = 10 + i;
	write_file(c->cert, pem, pl);
	write_file(c->key, key, kl);
	if (f->cfg->ncerts <= i)
		f->cfg->ncerts = i + 1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static const char *const n0[] = {"a.test", "*.wild.test"};
	static const char *const n1[] = {"b.test", "exact.wild.test"};
	static const char *const n2[] = {"acme.test"};
	static const char *const n3[] = {"acme.test", "challenge"};
	char err[1024];

	snprintf(f->dir, sizeof(f->dir), "/tmp/detour-test-tls-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cfg = calloc(1, sizeof(*f->cfg));
	make_cert(n0, 2, &f->pem[0], &f->pl[0], &f->key[0], &f->kl[0]);
	make_cert(n1, 2, &f->pem[1], &f->pl[1], &f->key[1], &f->kl[1]);
	make_cert(n2, 1, &f->pem[2], &f->pl[2], &f->key[2], &f->kl[2]);
	make_cert(n3, 2, &f->pem[3], &f->pl[3], &f->key[3], &f->kl[3]);
	add_pair(f, 0, f->pem[0], f->pl[0], f->key[0], f->kl[0]);
	add_pair(f, 1, f->pem[1], f->pl[1], f->key[1], f->kl[1]);
	f->t = tls_ctx_new(f->cfg, err, sizeof(err));
	if (f->t == NULL)
		fail_msg("tls_ctx_new: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	tls_ctx_free(f->t);
	for (int i = 0; i < 4; i++) {
		free(f->pem[i]);
		free(f->key[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->cfg);
	free(f);
	return 0;
}

struct hs {
	bool ok;
	char cn[256];
	char alpn[32];
};

/* One handshake: the client sends sni (NULL: none) and alpn (wire format,
 * NULL: none). */
static struct hs handshake(struct tls_ctx *t, const char *sni, const char *alpn, size_t alpn_len)
{
	struct hs r = {0};
	int sv[2];
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *c;
	struct ssl_st *s;
	bool cdone = false, sdone = false;
	char buf[64];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	s = tls_conn_new(t, sv[0]);
	assert_non_null(s);
	c = SSL_new(cctx);
	SSL_set_fd(c, sv[1]);
	SSL_set_connect_state(c);
	if (sni)
		SSL_set_tlsext_host_name(c, sni);
	if (alpn)
		SSL_set_alpn_protos(c, (const unsigned char *)alpn, (unsigned)alpn_len);
	for (int i = 0; i < 100 && !(cdone && sdone); i++) {
		if (!cdone) {
			int rc = SSL_do_handshake(c);
			if (rc == 1)
				cdone = true;
			else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			ssize_t n = tls_conn_read(t, s, buf, sizeof(buf));
			if (n == TLS_IO_ERROR)
				break;
			if (SSL_is_init_finished(s))
				sdone = true;
		}
	}
	ERR_clear_error();
	r.ok = cdone && sdone;
	if (r.ok) {
		X509 *x = SSL_get1_peer_certificate(c);
		const unsigned char *p;
		unsigned l;
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, r.cn,
		                          sizeof(r.cn));
		X509_free(x);
		SSL_get0_alpn_selected(c, &p, &l);
		if (l)
			memcpy(r.alpn, p, l);
		r.alpn[l] = '\0';
		/* and a byte through the transport */
		assert_int_equal(tls_conn_write(s, "x", 1), 1);
		assert_int_equal(SSL_read(c, buf, sizeof(buf)), 1);
		assert_int_equal(SSL_write(c, "yz", 2), 2);
		assert_int_equal(tls_conn_read(t, s, buf, sizeof(buf)), 2);
		assert_false(tls_conn_pending(s));
	}
	tls_conn_free(t, s);
	SSL_free(c);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	return r;
}

#define HTTP11 "\x08http/1.1"
#define H2     "\x02h2"
#define ACME                                                                                       \
	"\x0a"                                                                                     \
	"acme-tls/1"

static void test_sni(void **state)
{
	struct fx *f = *state;
	struct hs r;
	uint64_t ok, failed;

	r = handshake(f->t, "a.test", HTTP11, 9);
	assert_true(r.ok);
	assert_string_equal(r.cn, "a.test");
	assert_string_equal(r.alpn, "http/1.1");
	r = handshake(f->t, "B.TEST", NULL, 0);
	assert_true(r.ok);
	assert_string_equal(r.cn, "b.test");
	assert_string_equal(r.alpn, "");
	/* a wildcard of the first pair, but an exact name of the second wins */
	r = handshake(f->t, "x.wild.test", NULL, 0);
	assert_string_equal(r.cn, "a.test");
	r = handshake(f->t, "exact.wild.test", NULL, 0);
	assert_string_equal(r.cn, "b.test");
	/* no SNI, unknown name (no hook): the first pair */
	r = handshake(f->t, NULL, NULL, 0);
	assert_string_equal(r.cn, "a.test");
	r = handshake(f->t, "nothing.test", NULL, 0);
	assert_true(r.ok);
	assert_string_equal(r.cn, "a.test");
	/* RFC 7301 §3.2: no protocol in common */
	r = handshake(f->t, "a.test", H2, 3);
	assert_false(r.ok);
	r = handshake(f->t, "a.test", H2 HTTP11, 12);
	assert_true(r.ok);
	assert_string_equal(r.alpn, "http/1.1");
	tls_ctx_counts(f->t, &ok, &failed);
	assert_int_equal(ok, 7);
	assert_int_equal(failed, 1);
}

static void on_unknown(void *arg, const char *host)
{
	struct fx *f = arg;

	snprintf(f->unknown, sizeof(f->unknown), "%s", host);
	f->nunknown++;
}

static void test_acme_hooks(void **state)
{
	struct fx *f = *state;
	struct hs r;
	char err[512];

	/* With the hook: an uncovered name fails (unrecognized_name) and is
	 * reported; no SNI still gets the first pair. */
	tls_on_unknown_host(f->t, on_unknown, f);
	r = handshake(f->t, "acme.test", HTTP11, 9);
	assert_false(r.ok);
	assert_int_equal(f->nunknown, 1);
	assert_string_equal(f->unknown, "acme.test");
	r = handshake(f->t, NULL, HTTP11, 9);
	assert_true(r.ok);
	assert_int_equal(f->nunknown, 1);
	/* An ACME certificate for the host serves it. */
	assert_int_equal(tls_set_host_cert(f->t, "acme.test", f->pem[2], f->pl[2], f->key[2],
	                                   f->kl[2], err, sizeof(err)),
	                 0);
	r = handshake(f->t, "acme.test", HTTP11, 9);
	assert_true(r.ok);
	assert_string_equal(r.cn, "acme.test");
	/* A file pair wins over an ACME certificate for the same name. */
	assert_int_equal(tls_set_host_cert(f->t, "a.test", f->pem[2], f->pl[2], f->key[2], f->kl[2],
	                                   err, sizeof(err)),
	                 0);
	r = handshake(f->t, "a.test", NULL, 0);
	assert_string_equal(r.cn, "a.test");
	/* A mismatched pair is refused with the reason. */
	assert_int_equal(tls_set_host_cert(f->t, "acme.test", f->pem[2], f->pl[2], f->key[1],
	                                   f->kl[1], err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "host acme.test: the key does not match"));
	/* RFC 8737: acme-tls/1 gets the challenge certificate, and only that
	 * protocol; other handshakes keep the ACME certificate. */
	assert_int_equal(
	        tls_set_alpn_challenge(f->t, "acme.test", f->pem[3], f->pl[3], f->key[3], f->kl[3]),
	        0);
	r = handshake(f->t, "acme.test", ACME, 11);
	assert_true(r.ok);
	assert_string_equal(r.cn, "acme.test");
	assert_string_equal(r.alpn, "acme-tls/1");
	r = handshake(f->t, "acme.test", HTTP11, 9);
	assert_true(r.ok);
	assert_string_equal(r.alpn, "http/1.1");
	assert_int_equal(tls_set_alpn_challenge(f->t, "acme.test", NULL, 0, NULL, 0), 0);
	r = handshake(f->t, "acme.test", ACME, 11);
	assert_false(r.ok); /* no challenge: no_application_protocol */
	/* acme-tls/1 for a name without a challenge but with a file pair */
	r = handshake(f->t, "b.test", ACME HTTP11, 20);
	assert_true(r.ok);
	assert_string_equal(r.alpn, "http/1.1");
}

static void test_reload(void **state)
{
	struct fx *f = *state;
	char err[1024], want[512];
	struct hs r;

	/* b's key under a's certificate: refused, the old set serves */
	add_pair(f, 0, f->pem[0], f->pl[0], f->key[1], f->kl[1]);
	assert_int_equal(tls_ctx_reload(f->t, f->cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "tls-cert (line 10): %s/0.key: the key does not match",
	         f->dir);
	assert_non_null(strstr(err, want));
	r = handshake(f->t, "a.test", NULL, 0);
	assert_string_equal(r.cn, "a.test");
	/* not PEM at all */
	add_pair(f, 1, "junk\n", 5, f->key[1], f->kl[1]);
	add_pair(f, 0, f->pem[0], f->pl[0], f->key[0], f->kl[0]);
	assert_int_equal(tls_ctx_reload(f->t, f->cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1.pem: no PEM certificate"));
	/* a good set of one pair: b.test now gets the default */
	f->cfg->ncerts = 1;
	assert_int_equal(tls_ctx_reload(f->t, f->cfg, err, sizeof(err)), 0);
	r = handshake(f->t, "b.test", NULL, 0);
	assert_string_equal(r.cn, "a.test");
	/* the poll sees a changed file */
	assert_int_equal(tls_ctx_poll(f->t), 0);
	add_pair(f, 0, f->pem[1], f->pl[1], f->key[1], f->kl[1]);
	f->cfg->ncerts = 1;
	assert_int_equal(tls_ctx_poll(f->t), 1);
	r = handshake(f->t, "zzz.test", NULL, 0);
	assert_string_equal(r.cn, "b.test");
	assert_int_equal(tls_ctx_poll(f->t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_sni, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_acme_hooks, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	};
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
