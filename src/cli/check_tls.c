/* detour check: the certificate of an https hop (check_tls.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/civil.h"
#include "base/grow.h"
#include "check_tls.h"
#include "check_util.h"
#include "detour/origin.h"

struct check_tls_seen {
	char origin[DETOUR_ORIGIN_MAX];
	struct detour_cert cert;
};

/* The origin of h's URL into out; false when it has none. */
static bool origin_of(const struct hop *h, char out[DETOUR_ORIGIN_MAX])
{
	return detour_origin_of(h->url, strlen(h->url), out, DETOUR_ORIGIN_MAX) >= 0;
}

static void remember(struct check_tls *t, const struct hop *h)
{
	char o[DETOUR_ORIGIN_MAX];
	if (!t || !origin_of(h, o))
		return;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].origin, o)) {
			t->v[i].cert = h->cert;
			return;
		}
	if (BASE_GROW(t->v, t->cap, t->n + 1))
		check_oom();
	snprintf(t->v[t->n].origin, sizeof(t->v[t->n].origin), "%s", o);
	t->v[t->n].cert = h->cert;
	t->n++;
}

static bool recall(const struct check_tls *t, struct hop *h)
{
	char o[DETOUR_ORIGIN_MAX];
	if (!t || !origin_of(h, o))
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].origin, o)) {
			h->cert = t->v[i].cert;
			return true;
		}
	return false;
}

bool check_tls_take(struct check_tls *t, void *easy, struct hop *h)
{
	struct curl_certinfo *ci = NULL;

	memset(&h->cert, 0, sizeof(h->cert));
	h->has_cert = false;
	if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci &&
	    ci->num_of_certs > 0) {
		/* The chain as the server sent it: the leaf first (RFC 8446
		 * §4.4.2). */
		for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
			detour_cert_take_line(&h->cert, s->data, strlen(s->data));
		h->has_cert = true;
		remember(t, h);
	} else {
		h->has_cert = recall(t, h);
	}
	return h->has_cert;
}

void check_tls_expiry(struct chain *c, int hopno, int64_t now)
{
	const struct hop *h = &c->h[hopno - 1];
	char when[CIVIL_RFC3339_MAX];

	if (!h->has_cert || !h->cert.has_expiry ||
	    detour_cert_expiry(h->cert.not_after, now) == DETOUR_CERT_OK)
		return;
	/* Once per certificate: the hops of a chain on one host share it. */
	for (int i = 0; i < hopno - 1; i++) {
		const struct hop *p = &c->h[i];
		if (p->has_cert && p->cert.not_after == h->cert.not_after &&
		    !strcmp(p->cert.subject, h->cert.subject) &&
		    !strcmp(p->cert.issuer, h->cert.issuer))
			return;
	}
	int64_t days = detour_cert_days_left(h->cert.not_after, now);
	civil_format_rfc3339(h->cert.not_after, when);
	if (days >= 0)
		check_finding(c, DETOUR_F_CERT_EXPIRING, hopno, "%s expires in %lld day%s (%s)",
		              h->cert.subject, (long long)days, days == 1 ? "" : "s", when);
	else
		check_finding(c, DETOUR_F_CERT_EXPIRING, hopno, "%s has expired (%s)",
		              h->cert.subject, when);
}

void check_tls_free(struct check_tls *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
