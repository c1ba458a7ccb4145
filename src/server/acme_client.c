/* detour server: the ACME client's requests, see acme_client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acme_client.h"
#include "base/buf.h"
#include "detour/acme_jws.h"

#define BODY_MAX      (1u << 20) /* a chain or an order: far below */
#define TIMEOUT_S     30
#define NONCE_RETRIES 20
#define USER_AGENT    "detour/" DETOUR_VERSION

void acme_resp_fini(struct acme_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

struct xfer {
	struct acme_client *c;
	struct acme_resp *r;
	struct bbuf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	bbuf_put(&x->body, p, size * n);
	return bbuf_ok(&x->body) ? size * n : 0; /* over BODY_MAX: abort */
}

/* Copies the value of header line p[0..n) named name into dst, trimmed. */
static bool header(const char *p, size_t n, const char *name, char *dst, size_t cap)
{
	size_t nl = strlen(name), vl;

	if (n <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return false;
	p += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	vl = n < cap ? n : 0; /* too long: dropped, not cut */
	memcpy(dst, p, vl);
	dst[vl] = '\0';
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	char ra[32];

	/* RFC 8555 §6.5: every answer to a POST carries a fresh nonce, errors
	 * included; keep the newest. */
	if (!header(p, len, "Replay-Nonce", x->c->nonce, sizeof(x->c->nonce)) &&
	    !header(p, len, "Location", x->r->location, sizeof(x->r->location)) &&
	    !header(p, len, "Content-Type", x->r->ctype, sizeof(x->r->ctype)) &&
	    header(p, len, "Retry-After", ra, sizeof(ra)))
		x->r->retry_after = ra[0] >= '0' && ra[0] <= '9' ? atol(ra) : -1;
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct acme_client *cl = arg;

	return cl->stop && atomic_load(cl->stop) ? 1 : 0; /* non-zero aborts */
}

int acme_client_init(struct acme_client *c)
{
	c->easy = curl_easy_init();
	if (c->easy == NULL) {
		snprintf(c->err, sizeof(c->err), "cannot create a libcurl handle");
		return -1;
	}
	return 0;
}

void acme_client_fini(struct acme_client *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	c->easy = NULL;
}

/* One request: GET (body NULL, head false), HEAD (head true) or POST. 0
 * when an answer came (any status), -1 with c->err when none. */
static int request(struct acme_client *c, const char *url, const char *body, bool head,
                   const char *accept, struct acme_resp *r)
{
	struct xfer x = {c, r, {0}};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *e = c->easy;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	bbuf_init(&x.body, BODY_MAX);
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	if (c->ca_file && c->ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (head)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		/* RFC 8555 §6.2: the JWS goes as application/jose+json. */
		hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	}
	if (accept != NULL) {
		char line[160];
		snprintf(line, sizeof(line), "Accept: %s", accept);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (hdrs)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(e);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(c->err, sizeof(c->err), "%s: %s", url,
		         errbuf[0] ? errbuf : curl_easy_strerror(rc));
		bbuf_free(&x.body);
		return -1;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = bbuf_take(&x.body, &r->len);
	if (r->body == NULL) {
		r->body = strdup("");
		r->len = 0;
		if (r->body == NULL) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
	}
	return 0;
}

/* A non-2xx answer: the problem document if there is one, into c->err. */
static void failed(struct acme_client *c, const char *what, const struct acme_resp *r)
{
	memset(&c->problem, 0, sizeof(c->problem));
	c->retry_after = r->retry_after;
	if (detour_acme_problem_parse(r->body, r->len, &c->problem) == DETOUR_OK &&
	    c->problem.type[0])
		snprintf(c->err, sizeof(c->err), "%s: HTTP %ld, %s: %s", what, r->status,
		         c->problem.type, c->problem.detail[0] ? c->problem.detail : "(no detail)");
	else
		snprintf(c->err, sizeof(c->err), "%s: HTTP %ld without a problem document", what,
		         r->status);
}

static int directory(struct acme_client *c)
{
	struct acme_resp r;

	if (c->have_dir)
		return 0;
	if (request(c, c->directory, NULL, false, NULL, &r))
		return -1;
	if (r.status != 200) {
		failed(c, "directory", &r);
	} else if (detour_acme_dir_parse(r.body, r.len, &c->dir) != DETOUR_OK) {
		snprintf(c->err, sizeof(c->err),
		         "directory %s: not an ACME directory (newNonce, newAccount and newOrder "
		         "https:// URLs)",
		         c->directory);
	} else if (c->dir.eab_required) {
		snprintf(c->err, sizeof(c->err),
		         "directory %s: the CA requires external account binding, which detour "
		         "does not do",
		         c->directory);
	} else {
		c->have_dir = true;
	}
	acme_resp_fini(&r);
	return c->have_dir ? 0 : -1;
}

/* RFC 8555 §7.2: HEAD newNonce. */
static int new_nonce(struct acme_client *c)
{
	struct acme_resp r;
	int rc = -1;

	if (request(c, c->dir.new_nonce, NULL, true, NULL, &r))
		return -1;
	if (c->nonce[0] && (r.status == 200 || r.status == 204))
		rc = 0;
	else
		snprintf(c->err, sizeof(c->err), "newNonce: HTTP %ld without a Replay-Nonce",
		         r.status);
	acme_resp_fini(&r);
	return rc;
}

static int post(struct acme_client *c, const char *url, const char *payload, const char *accept,
                bool use_kid, struct acme_resp *r)
{
	memset(r, 0, sizeof(*r));
	for (unsigned attempt = 0;; attempt++) {
		char nonce[sizeof(c->nonce)];
		char *jws;
		int rc;

		if (c->nonce[0] == '\0' && new_nonce(c))
			return -1;
		/* A nonce is used once (§6.5): take it. */
		memcpy(nonce, c->nonce, sizeof(nonce));
		c->nonce[0] = '\0';
		jws = detour_acme_jws(c->key, use_kid ? c->kid : NULL, nonce, url, payload);
		if (jws == NULL) {
			snprintf(c->err, sizeof(c->err), "cannot sign the request to %s", url);
			return -1;
		}
		rc = request(c, url, jws, false, accept, r);
		free(jws);
		if (rc)
			return -1;
		if (r->status >= 200 && r->status < 300)
			return 0;
		failed(c, url, r);
		/* RFC 8555 §6.5: "When a server rejects a request because its
		 * nonce value was unacceptable (or not present), it MUST provide
		 * HTTP status code 400 (Bad Request), and indicate the ACME error
		 * type urn:ietf:params:acme:error:badNonce. An error response
		 * with the badNonce error type MUST include a Replay-Nonce header
		 * field with a fresh nonce that the server will accept in a retry
		 * of the original query". */
		if (!detour_acme_problem_is(&c->problem, "badNonce") ||
		    attempt + 1 >= NONCE_RETRIES)
			return -1;
		c->bad_nonces++;
		acme_resp_fini(r);
	}
}

int acme_client_account(struct acme_client *c)
{
	struct acme_resp r;
	char mailto[300];
	json_t *j;
	char *payload;
	int rc;

	if (directory(c))
		return -1;
	if (c->kid[0])
		return 0;
	/* RFC 8555 §7.3: contact as mailto: URLs; the terms are agreed to by
	 * whoever configured the CA. */
	j = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (j && c->email && c->email[0]) {
		snprintf(mailto, sizeof(mailto), "mailto:%s", c->email);
		json_object_set_new(j, "contact", json_pack("[s]", mailto));
	}
	payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (payload == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	rc = post(c, c->dir.new_account, payload, NULL, false, &r);
	free(payload);
	if (rc == 0 && r.location[0] == '\0') {
		snprintf(c->err, sizeof(c->err), "newAccount: HTTP %ld without the account URL",
		         r.status);
		rc = -1;
	} else if (rc == 0) {
		snprintf(c->kid, sizeof(c->kid), "%s", r.location);
	} else {
		char e[sizeof(c->err)];
		memcpy(e, c->err, sizeof(e));
		snprintf(c->err, sizeof(c->err), "newAccount: %.1000s", e);
	}
	acme_resp_fini(&r);
	return rc;
}

int acme_client_post(struct acme_client *c, const char *url, const char *payload,
                     const char *accept, struct acme_resp *r)
{
	memset(r, 0, sizeof(*r));
	if (acme_client_account(c))
		return -1;
	return post(c, url, payload, accept, true, r);
}
