/* detour server: one ACME order, see acme_order.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme_order.h"
#include "detour/acme_cert.h"
#include "detour/acme_jws.h"
#include "log.h"

#define POLLS    120 /* of an authorization or an order, about two minutes */
#define POLL_MS  1000
#define POLL_MAX 10000 /* a Retry-After above this is capped */

static int fail(struct acme_order_env *env, const char *fmt, const char *a, const char *b)
{
	char msg[sizeof(env->cl->err)];

	snprintf(msg, sizeof(msg), fmt, a, b);
	memcpy(env->cl->err, msg, sizeof(msg));
	return -1;
}

/* Prefixes the client's error with what was being done. */
static int failed(struct acme_order_env *env, const char *what)
{
	char msg[sizeof(env->cl->err)];

	snprintf(msg, sizeof(msg), "%s: %.900s", what, env->cl->err);
	memcpy(env->cl->err, msg, sizeof(msg));
	return -1;
}

static unsigned poll_ms(const struct acme_resp *r)
{
	if (r->retry_after > 0)
		return r->retry_after * 1000 > POLL_MAX ? POLL_MAX
		                                        : (unsigned)r->retry_after * 1000;
	return POLL_MS;
}

/* The problem of an invalid authorization: its challenge's error. */
static void authz_problem(struct acme_order_env *env, const struct detour_acme_authz *az,
                          const char *host)
{
	for (unsigned k = 0; k < DETOUR_ACME_NCHAL; k++) {
		const struct detour_acme_problem *p = &az->chal[k].error;
		if (az->chal[k].present && p->type[0]) {
			env->cl->problem = *p;
			snprintf(env->cl->err, sizeof(env->cl->err),
			         "authorization of %s is invalid: %s: %s", host, p->type,
			         p->detail[0] ? p->detail : "(no detail)");
			return;
		}
	}
	memset(&env->cl->problem, 0, sizeof(env->cl->problem));
	snprintf(env->cl->err, sizeof(env->cl->err),
	         "authorization of %s is %s, without a problem document", host,
	         detour_acme_status_name(az->status));
}

/* Fetches (POST-as-GET, RFC 8555 §6.3) the authorization at url into az. */
static int get_authz(struct acme_order_env *env, const char *url, struct detour_acme_authz *az,
                     unsigned *wait_ms)
{
	struct acme_resp r;
	int rc = -1;

	if (acme_client_post(env->cl, url, "", NULL, &r) == 0) {
		if (detour_acme_authz_parse(r.body, r.len, az) == DETOUR_OK)
			rc = 0;
		else
			fail(env, "authorization %s: not an authorization object%s", url, "");
		*wait_ms = poll_ms(&r);
	} else {
		failed(env, "authorization");
	}
	acme_resp_fini(&r);
	return rc;
}

/* One authorization, to a final status. */
static int authorize(struct acme_order_env *env, const char *url, const char *host)
{
	struct detour_acme_authz az;
	struct detour_acme_challenge *ch = NULL;
	struct acme_resp r;
	char ka[DETOUR_ACME_TOKEN_MAX + 64], token[DETOUR_ACME_TOKEN_MAX] = "";
	char name[DETOUR_ACME_HOST_MAX] = "";
	char *cert = NULL, *key_pem = NULL;
	size_t cert_len = 0, key_len = 0;
	bool http = false;
	unsigned wait_ms = POLL_MS;
	int rc = -1;

	if (get_authz(env, url, &az, &wait_ms))
		return -1;
	if (az.status == DETOUR_ACME_VALID)
		return 0; /* the CA reuses an earlier authorization (§7.1.4) */
	if (az.status != DETOUR_ACME_PENDING) {
		authz_problem(env, &az, az.host);
		return -1;
	}
	/* HTTP-01 when a plain listener can answer it, else TLS-ALPN-01. */
	if (env->http01_ok && az.chal[DETOUR_ACME_HTTP01].present) {
		ch = &az.chal[DETOUR_ACME_HTTP01];
		http = true;
	} else if (env->alpn_ok && az.chal[DETOUR_ACME_TLSALPN01].present) {
		ch = &az.chal[DETOUR_ACME_TLSALPN01];
	} else {
		return fail(env,
		            "authorization of %s offers no challenge detour can answer (http-01 "
		            "needs a plain listener, tls-alpn-01 a TLS listener)%s",
		            az.host, "");
	}
	if (detour_acme_key_authz(ch->token, strlen(ch->token), env->cl->key, ka, sizeof(ka)) < 0)
		return fail(env, "authorization of %s: cannot compute the key authorization%s",
		            az.host, "");
	/* az is read again while polling: keep what the clean-up needs. */
	snprintf(token, sizeof(token), "%s", ch->token);
	snprintf(name, sizeof(name), "%s", az.host);
	if (http) {
		if (acme_http01_add(env->http01, token, ka)) {
			token[0] = '\0';
			return fail(env, "authorization of %s: too many HTTP-01 tokens at once%s",
			            az.host, "");
		}
	} else {
		EVP_PKEY *k = detour_acme_key_new();
		cert = k ? detour_acme_alpn_cert(k, az.host, ka, (int64_t)time(NULL), &cert_len)
		         : NULL;
		key_pem = cert ? detour_acme_key_pem(k, &key_len) : NULL;
		EVP_PKEY_free(k);
		if (key_pem == NULL ||
		    env->tls->set_alpn(env->tls->arg, az.host, cert, cert_len, key_pem, key_len)) {
			fail(env,
			     "authorization of %s: cannot install the acme-tls/1 certificate%s",
			     az.host, "");
			goto out;
		}
	}
	log_info("acme: %s: answering %s (token %s)", name, http ? "http-01" : "tls-alpn-01",
	         token);
	/* RFC 8555 §7.5.1: the client tells the CA it is ready with an empty
	 * object. */
	char chal_url[DETOUR_ACME_URL_MAX];
	snprintf(chal_url, sizeof(chal_url), "%s", ch->url);
	if (acme_client_post(env->cl, chal_url, "{}", NULL, &r)) {
		acme_resp_fini(&r);
		failed(env, "challenge");
		goto out;
	}
	acme_resp_fini(&r);
	/* Keep answering until the authorization is final: the CA may fetch
	 * the token from several vantage points, more than once. */
	for (unsigned i = 0; i < POLLS; i++) {
		if (env->nap(env->nap_arg, wait_ms)) {
			fail(env, "stopped while %s was being validated%s", az.host, "");
			goto out;
		}
		if (get_authz(env, url, &az, &wait_ms))
			goto out;
		if (az.status == DETOUR_ACME_VALID) {
			rc = 0;
			goto out;
		}
		if (az.status != DETOUR_ACME_PENDING) {
			authz_problem(env, &az, host);
			goto out;
		}
	}
	fail(env, "authorization of %s still pending after two minutes%s", host, "");
out:
	if (http && token[0])
		acme_http01_remove(env->http01, token);
	else if (cert != NULL)
		env->tls->set_alpn(env->tls->arg, name, NULL, 0, NULL, 0);
	free(cert);
	free(key_pem);
	return rc;
}

static int get_order(struct acme_order_env *env, const char *url, struct detour_acme_order *o,
                     unsigned *wait_ms)
{
	struct acme_resp r;
	int rc = -1;

	if (acme_client_post(env->cl, url, "", NULL, &r) == 0) {
		if (detour_acme_order_parse(r.body, r.len, o) == DETOUR_OK)
			rc = 0;
		else
			fail(env, "order %s: not an order object%s", url, "");
		*wait_ms = poll_ms(&r);
	} else {
		failed(env, "order");
	}
	acme_resp_fini(&r);
	return rc;
}

static int order_problem(struct acme_order_env *env, const struct detour_acme_order *o,
                         const char *host)
{
	if (o->error.type[0]) {
		env->cl->problem = o->error;
		snprintf(env->cl->err, sizeof(env->cl->err), "order for %s is %s: %s: %s", host,
		         detour_acme_status_name(o->status), o->error.type,
		         o->error.detail[0] ? o->error.detail : "(no detail)");
	} else {
		snprintf(env->cl->err, sizeof(env->cl->err), "order for %s is %s", host,
		         detour_acme_status_name(o->status));
	}
	return -1;
}

int acme_order_run(struct acme_order_env *env, const char *host, struct acme_issued *out)
{
	struct detour_acme_order o = {0};
	struct acme_resp r = {0};
	char order_url[DETOUR_ACME_URL_MAX], *payload = NULL, *csr = NULL;
	EVP_PKEY *key = NULL;
	json_t *j;
	unsigned wait_ms = POLL_MS;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&env->cl->problem, 0, sizeof(env->cl->problem));
	/* RFC 8555 §7.4: newOrder with the identifiers. */
	j = json_pack("{s:[{s:s,s:s}]}", "identifiers", "type", "dns", "value", host);
	payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (payload == NULL)
		return fail(env, "out of memory%s%s", "", "");
	if (acme_client_account(env->cl)) {
		free(payload);
		return -1;
	}
	if (acme_client_post(env->cl, env->cl->dir.new_order, payload, NULL, &r)) {
		failed(env, "newOrder");
		goto out;
	}
	if (r.location[0] == '\0' || detour_acme_order_parse(r.body, r.len, &o) != DETOUR_OK) {
		fail(env, "newOrder for %s: no order URL or not an order object%s", host, "");
		goto out;
	}
	snprintf(order_url, sizeof(order_url), "%s", r.location);
	acme_resp_fini(&r);
	for (size_t i = 0; i < o.nauthz; i++)
		if (authorize(env, o.authz[i], host))
			goto out;
	/* Every authorization is valid: the order is ready (or soon). */
	for (unsigned i = 0; o.status == DETOUR_ACME_PENDING && i < POLLS; i++) {
		detour_acme_order_fini(&o);
		if (get_order(env, order_url, &o, &wait_ms))
			goto out;
		if (o.status == DETOUR_ACME_PENDING && env->nap(env->nap_arg, wait_ms)) {
			fail(env, "stopped%s%s", "", "");
			goto out;
		}
	}
	if (o.status == DETOUR_ACME_READY) {
		const char *names[1] = {host};
		char fin[DETOUR_ACME_URL_MAX];
		key = detour_acme_key_new();
		csr = key ? detour_acme_csr(key, names, 1) : NULL;
		free(payload);
		j = csr ? json_pack("{s:s}", "csr", csr) : NULL;
		payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (payload == NULL) {
			fail(env, "cannot make the key and CSR for %s%s", host, "");
			goto out;
		}
		snprintf(fin, sizeof(fin), "%s", o.finalize);
		if (acme_client_post(env->cl, fin, payload, NULL, &r)) {
			failed(env, "finalize");
			goto out;
		}
		detour_acme_order_fini(&o);
		if (detour_acme_order_parse(r.body, r.len, &o) != DETOUR_OK) {
			fail(env, "finalize for %s: not an order object%s", host, "");
			goto out;
		}
		wait_ms = poll_ms(&r);
		acme_resp_fini(&r);
	}
	/* RFC 8555 §7.4: processing until the CA has issued. */
	for (unsigned i = 0; o.status == DETOUR_ACME_PROCESSING && i < POLLS; i++) {
		if (env->nap(env->nap_arg, wait_ms)) {
			fail(env, "stopped%s%s", "", "");
			goto out;
		}
		detour_acme_order_fini(&o);
		if (get_order(env, order_url, &o, &wait_ms))
			goto out;
	}
	if (o.status != DETOUR_ACME_VALID || o.certificate[0] == '\0' || key == NULL) {
		order_problem(env, &o, host);
		goto out;
	}
	/* RFC 8555 §7.4.2: the whole chain, leaf first. */
	char cert_url[DETOUR_ACME_URL_MAX];
	snprintf(cert_url, sizeof(cert_url), "%s", o.certificate);
	if (acme_client_post(env->cl, cert_url, "", "application/pem-certificate-chain", &r)) {
		failed(env, "certificate download");
		goto out;
	}
	out->key = detour_acme_key_pem(key, &out->key_len);
	if (out->key == NULL) {
		fail(env, "out of memory%s%s", "", "");
		goto out;
	}
	out->chain = r.body;
	out->chain_len = r.len;
	r.body = NULL;
	rc = 0;
out:
	acme_resp_fini(&r);
	detour_acme_order_fini(&o);
	EVP_PKEY_free(key);
	free(csr);
	free(payload);
	if (rc) {
		free(out->key);
		out->key = NULL;
	}
	return rc;
}
