/* detour server: HTTP-01 tokens, see acme_http01.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acme_http01.h"
#include "base/buf.h"

#define MAX_TOKENS 64
#define TOKEN_MAX  256
#define KA_MAX     320

struct acme_http01 {
	/* Mutable behind a const pointer: the lookup takes the lock too. */
	pthread_mutex_t lock;
	unsigned n;
	struct {
		char token[TOKEN_MAX];
		char ka[KA_MAX];
	} e[MAX_TOKENS];
};

struct acme_http01 *acme_http01_new(void)
{
	struct acme_http01 *h = calloc(1, sizeof(*h));

	if (h != NULL)
		pthread_mutex_init(&h->lock, NULL);
	return h;
}

void acme_http01_free(struct acme_http01 *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int acme_http01_add(struct acme_http01 *h, const char *token, const char *key_authz)
{
	int rc = -1;

	if (strlen(token) >= TOKEN_MAX || strlen(key_authz) >= KA_MAX)
		return -1;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->n; i++)
		if (!strcmp(h->e[i].token, token)) {
			strcpy(h->e[i].ka, key_authz);
			rc = 0;
			goto out;
		}
	if (h->n < MAX_TOKENS) {
		strcpy(h->e[h->n].token, token);
		strcpy(h->e[h->n].ka, key_authz);
		h->n++;
		rc = 0;
	}
out:
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void acme_http01_remove(struct acme_http01 *h, const char *token)
{
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->n; i++)
		if (!strcmp(h->e[i].token, token)) {
			h->e[i] = h->e[--h->n];
			break;
		}
	pthread_mutex_unlock(&h->lock);
}

size_t acme_http01(const struct acme_http01 *h, const char *path, size_t len, char *out, size_t cap)
{
	struct acme_http01 *m = (struct acme_http01 *)h;
	size_t pl = sizeof(ACME_HTTP01_PREFIX) - 1, tl, kl = 0;

	if (h == NULL || len <= pl || memcmp(path, ACME_HTTP01_PREFIX, pl) != 0)
		return 0;
	tl = len - pl;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->n; i++)
		if (strlen(m->e[i].token) == tl && !memcmp(m->e[i].token, path + pl, tl)) {
			kl = strlen(m->e[i].ka);
			if (kl < cap)
				memcpy(out, m->e[i].ka, kl);
			else
				kl = 0;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	return kl;
}

ssize_t acme_http01_respond(const char *key_authz, size_t len, const struct detour_respond_ctx *ctx,
                            char *out, size_t cap)
{
	struct bbuf w;

	bbuf_fixed(&w, out, cap);
	BBUF_LIT(&w, "HTTP/1.1 200 OK\r\nDate: ");
	bbuf_put(&w, ctx->date, DETOUR_DATE_LEN);
	BBUF_LIT(&w, "\r\n");
	if (ctx->server_header)
		BBUF_LIT(&w, "Server: detour\r\n");
	BBUF_LIT(&w, "Cache-Control: no-store\r\nContent-Type: text/plain\r\nContent-Length: ");
	bbuf_put_uint(&w, len);
	if (ctx->close)
		BBUF_LIT(&w, "\r\nConnection: close\r\n\r\n");
	else if (ctx->keep_alive)
		BBUF_LIT(&w, "\r\nConnection: keep-alive\r\n\r\n");
	else
		BBUF_LIT(&w, "\r\n\r\n");
	if (!ctx->head)
		bbuf_put(&w, key_authz, len);
	return bbuf_ok(&w) ? (ssize_t)w.len : -1;
}
