/* detour: ACME documents, the hosts to certify, renewal and backoff, see
 * include/detour/acme.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/ascii.h"
#include "base/grow.h"
#include "detour/acme.h"
#include "detour/acme_jws.h"
#include "detour/rulefile.h"

/* Copies the string member name of obj into dst (cap bytes). Returns 0, 1
 * when absent (dst ""), -1 when not a string or too long. */
static int get_str(json_t *obj, const char *name, char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, name);
	size_t l;

	dst[0] = '\0';
	if (v == NULL)
		return 1;
	if (!json_is_string(v))
		return -1;
	l = json_string_length(v);
	if (l >= cap || memchr(json_string_value(v), '\0', l) != NULL)
		return -1;
	memcpy(dst, json_string_value(v), l + 1);
	return 0;
}

/* Like get_str, but a value too long is cut (at a UTF-8 boundary) and
 * marked: for text that is only logged. */
static void get_text(json_t *obj, const char *name, char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	size_t l;

	dst[0] = '\0';
	if (!json_is_string(v))
		return;
	s = json_string_value(v);
	l = strnlen(s, json_string_length(v));
	if (l < cap) {
		memcpy(dst, s, l + 1);
		return;
	}
	l = cap - 4;
	while (l > 0 && ((unsigned char)s[l] & 0xc0) == 0x80)
		l--;
	memcpy(dst, s, l);
	memcpy(dst + l, "...", 4);
}

static json_t *load_object(const char *buf, size_t len)
{
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void problem_of(json_t *o, struct detour_acme_problem *p)
{
	json_t *st = json_object_get(o, "status");

	get_text(o, "type", p->type, sizeof(p->type));
	get_text(o, "detail", p->detail, sizeof(p->detail));
	p->status =
	        json_is_integer(st) && json_integer_value(st) >= 0 && json_integer_value(st) < 1000
	                ? (int)json_integer_value(st)
	                : 0;
}

detour_err detour_acme_problem_parse(const char *buf, size_t len, struct detour_acme_problem *p)
{
	json_t *j = load_object(buf, len);

	memset(p, 0, sizeof(*p));
	if (j == NULL)
		return DETOUR_EINVAL;
	problem_of(j, p);
	json_decref(j);
	return DETOUR_OK;
}

bool detour_acme_problem_is(const struct detour_acme_problem *p, const char *name)
{
	size_t nl = sizeof(DETOUR_ACME_ERR_NS) - 1;

	return !strncmp(p->type, DETOUR_ACME_ERR_NS, nl) && !strcmp(p->type + nl, name);
}

/* RFC 8555 §6.1: ACME is HTTPS only. */
static bool https_url(const char *s)
{
	return !strncmp(s, "https://", 8) && s[8] != '\0' && s[8] != '/';
}

detour_err detour_acme_dir_parse(const char *buf, size_t len, struct detour_acme_dir *d)
{
	json_t *j = load_object(buf, len), *meta;
	detour_err rc = DETOUR_EINVAL;

	memset(d, 0, sizeof(*d));
	if (j == NULL)
		return DETOUR_EINVAL;
	if (get_str(j, "newNonce", d->new_nonce, sizeof(d->new_nonce)) ||
	    get_str(j, "newAccount", d->new_account, sizeof(d->new_account)) ||
	    get_str(j, "newOrder", d->new_order, sizeof(d->new_order)) ||
	    !https_url(d->new_nonce) || !https_url(d->new_account) || !https_url(d->new_order))
		goto done;
	meta = json_object_get(j, "meta");
	d->eab_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
	rc = DETOUR_OK;
done:
	json_decref(j);
	return rc;
}

static const char *const status_names[] = {
        [DETOUR_ACME_UNKNOWN] = "unknown",
        [DETOUR_ACME_PENDING] = "pending",
        [DETOUR_ACME_READY] = "ready",
        [DETOUR_ACME_PROCESSING] = "processing",
        [DETOUR_ACME_VALID] = "valid",
        [DETOUR_ACME_INVALID] = "invalid",
        [DETOUR_ACME_DEACTIVATED] = "deactivated",
        [DETOUR_ACME_EXPIRED] = "expired",
        [DETOUR_ACME_REVOKED] = "revoked",
};

const char *detour_acme_status_name(enum detour_acme_status st)
{
	return (unsigned)st < sizeof(status_names) / sizeof(status_names[0]) ? status_names[st]
	                                                                     : "unknown";
}

static enum detour_acme_status status_of(json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "status"));

	if (s != NULL)
		for (unsigned i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++)
			if (!strcmp(s, status_names[i]))
				return (enum detour_acme_status)i;
	return DETOUR_ACME_UNKNOWN;
}

detour_err detour_acme_order_parse(const char *buf, size_t len, struct detour_acme_order *o)
{
	json_t *j = load_object(buf, len), *az, *err;
	detour_err rc = DETOUR_EINVAL;

	memset(o, 0, sizeof(*o));
	if (j == NULL)
		return DETOUR_EINVAL;
	o->status = status_of(j);
	az = json_object_get(j, "authorizations");
	if (o->status == DETOUR_ACME_UNKNOWN ||
	    get_str(j, "finalize", o->finalize, sizeof(o->finalize)) || !https_url(o->finalize) ||
	    !json_is_array(az) || json_array_size(az) > DETOUR_ACME_MAX_AUTHZ ||
	    get_str(j, "certificate", o->certificate, sizeof(o->certificate)) < 0 ||
	    (o->certificate[0] && !https_url(o->certificate)))
		goto done;
	if (json_array_size(az) > 0) {
		o->authz = calloc(json_array_size(az), sizeof(*o->authz));
		if (o->authz == NULL) {
			rc = DETOUR_ENOMEM;
			goto done;
		}
	}
	for (size_t i = 0; i < json_array_size(az); i++) {
		json_t *u = json_array_get(az, i);
		if (!json_is_string(u) || json_string_length(u) >= DETOUR_ACME_URL_MAX ||
		    strlen(json_string_value(u)) != json_string_length(u) ||
		    !https_url(json_string_value(u)))
			goto done;
		memcpy(o->authz[i], json_string_value(u), json_string_length(u) + 1);
		o->nauthz++;
	}
	err = json_object_get(j, "error");
	if (json_is_object(err))
		problem_of(err, &o->error);
	rc = DETOUR_OK;
done:
	json_decref(j);
	return rc;
}

void detour_acme_order_fini(struct detour_acme_order *o)
{
	free(o->authz);
	o->authz = NULL;
	o->nauthz = 0;
}

detour_err detour_acme_authz_parse(const char *buf, size_t len, struct detour_acme_authz *a)
{
	static const char *const types[DETOUR_ACME_NCHAL] = {"http-01", "tls-alpn-01"};
	json_t *j = load_object(buf, len), *id, *ch;
	detour_err rc = DETOUR_EINVAL;
	char type[16];

	memset(a, 0, sizeof(*a));
	if (j == NULL)
		return DETOUR_EINVAL;
	a->status = status_of(j);
	id = json_object_get(j, "identifier");
	if (a->status == DETOUR_ACME_UNKNOWN || !json_is_object(id) ||
	    get_str(id, "type", type, sizeof(type)) || strcmp(type, "dns") ||
	    get_str(id, "value", a->host, sizeof(a->host)) || a->host[0] == '\0')
		goto done;
	a->wildcard = json_is_true(json_object_get(j, "wildcard"));
	ch = json_object_get(j, "challenges");
	if (!json_is_array(ch))
		goto done;
	for (size_t i = 0; i < json_array_size(ch); i++) {
		json_t *c = json_array_get(ch, i), *err;
		struct detour_acme_challenge *dc = NULL;
		if (!json_is_object(c) || get_str(c, "type", type, sizeof(type)) < 0)
			goto done;
		for (unsigned k = 0; k < DETOUR_ACME_NCHAL; k++)
			if (!strcmp(type, types[k]))
				dc = &a->chal[k];
		if (dc == NULL || dc->present)
			continue; /* a type detour does not answer, or a second one */
		if (get_str(c, "url", dc->url, sizeof(dc->url)) || !https_url(dc->url) ||
		    get_str(c, "token", dc->token, sizeof(dc->token)) ||
		    !detour_b64url_valid(dc->token, strlen(dc->token)))
			goto done;
		dc->status = status_of(c);
		err = json_object_get(c, "error");
		if (json_is_object(err))
			problem_of(err, &dc->error);
		dc->present = true;
	}
	rc = DETOUR_OK;
done:
	json_decref(j);
	return rc;
}

/* ---- hosts ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Inserts s (copied) into the sorted list. 1 added, 0 present, -1 OOM. */
static int list_insert(char ***v, size_t *n, size_t *cap, const char *s)
{
	size_t lo = 0, hi = *n;
	char *dup;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp((*v)[mid], s);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (base_grow(v, cap, *n + 1, sizeof(char *)) || (dup = strdup(s)) == NULL)
		return -1;
	memmove(*v + lo + 1, *v + lo, (*n - lo) * sizeof(char *));
	(*v)[lo] = dup;
	(*n)++;
	return 1;
}

static bool list_has(char *const *v, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof(char *), cmp_str) != NULL;
}

/* A DNS name a CA can validate with HTTP-01 or TLS-ALPN-01: LDH labels of
 * 1 to 63 bytes, two labels at least, a last label that is not numeric
 * (an IPv4 address). NULL or the reason it is not. */
static const char *dns_name(const char *h)
{
	size_t label = 0, labels = 1, len = strlen(h);
	bool alpha_last = false;

	if (len == 0 || len > 253)
		return "not a DNS name";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return "not a DNS name";
			label = 0;
			labels++;
			alpha_last = false;
			continue;
		}
		if (!ascii_is_alnum(c) && c != '-')
			return c == ':' || c == '['
			               ? "an IP address (ACME certificates here are for "
			                 "DNS names)"
			               : "not a DNS name";
		if ((label == 0 && c == '-') || ++label > 63)
			return "not a DNS name";
		if (ascii_is_alpha(c))
			alpha_last = true;
	}
	if (label == 0)
		return "not a DNS name";
	if (!alpha_last)
		return "an IP address (ACME certificates here are for DNS names)";
	if (labels < 2)
		return "a single-label name, which no public CA certifies";
	return NULL;
}

int detour_acme_hosts_add(struct detour_acme_hosts *h, const char *host, size_t len,
                          detour_acme_note_fn note, void *arg)
{
	char buf[DETOUR_ACME_HOST_MAX + 2];
	const char *why;
	bool wild = false;
	int rc;

	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len >= 2 && host[0] == '*' && host[1] == '.') {
		wild = true;
		host += 1; /* keep the dot: the suffix ".example.com" */
		len -= 1;
	}
	if (len == 0 || len > DETOUR_ACME_HOST_MAX - 1) {
		if (note)
			note(arg, "(empty or too long)", "not a DNS name");
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = ascii_lower(host[i]);
	buf[len] = '\0';
	why = dns_name(wild ? buf + 1 : buf);
	if (why != NULL) {
		if (note && !list_has(h->exact, h->n, buf))
			note(arg, buf, why);
		return 0;
	}
	if (wild) {
		rc = list_insert(&h->suffix, &h->nsuffix, &h->scap, buf);
		if (rc == 1 && note) {
			char w[DETOUR_ACME_HOST_MAX + 4];
			snprintf(w, sizeof(w), "*%s", buf);
			note(arg, w,
			     "a wildcard needs DNS-01 validation, which detour does not do; its "
			     "names get certificates on demand, one by one, at their first "
			     "handshake");
		}
		return rc < 0 ? -1 : 0;
	}
	return list_insert(&h->exact, &h->n, &h->cap, buf);
}

int detour_acme_hosts_add_rules(struct detour_acme_hosts *h, const struct detour_ruleset *rs,
                                detour_acme_note_fn note, void *arg)
{
	size_t n = rs ? detour_ruleset_count(rs) : 0;

	for (size_t i = 0; i < n; i++) {
		const struct detour_rule *r = detour_ruleset_get(rs, i);
		char buf[DETOUR_ACME_HOST_MAX + 2];
		size_t hl;
		const char *host = detour_ruleset_host(rs, r, &hl);
		if (hl == 0)
			continue; /* any host: names none */
		if (r->flags & DETOUR_RULE_HOST_WILDCARD) {
			if (hl + 1 >= sizeof(buf))
				continue;
			buf[0] = '*';
			memcpy(buf + 1, host, hl); /* host holds ".example.com" */
			if (detour_acme_hosts_add(h, buf, hl + 1u, note, arg) < 0)
				return -1;
		} else if (detour_acme_hosts_add(h, host, hl, note, arg) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Adds each host of a '\n'-ended list. */
static int add_list(struct detour_acme_hosts *h, const char *list, detour_acme_note_fn note,
                    void *arg)
{
	for (const char *p = list, *e; *p; p = e + 1) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (detour_acme_hosts_add(h, p, (size_t)(e - p), note, arg) < 0)
			return -1;
		if (*e == '\0')
			break;
	}
	return 0;
}

int detour_acme_hosts_add_config(struct detour_acme_hosts *h, const struct detour_config *c,
                                 detour_acme_note_fn note, void *arg)
{
	for (unsigned i = 0; i < c->ncanon; i++)
		if (add_list(h, c->canon[i].aliases, note, arg) ||
		    detour_acme_hosts_add(h, c->canon[i].canonical, strlen(c->canon[i].canonical),
		                          note, arg) < 0)
			return -1;
	return add_list(h, c->acme.hosts, note, arg);
}

bool detour_acme_hosts_has(const struct detour_acme_hosts *h, const char *host)
{
	return list_has(h->exact, h->n, host);
}

bool detour_acme_hosts_names(const struct detour_acme_hosts *h, const char *host)
{
	size_t hl = strlen(host);

	if (detour_acme_hosts_has(h, host))
		return true;
	/* "*.example.com" names a.example.com and a.b.example.com, not
	 * example.com (docs/rules.md): try every suffix after a dot. */
	for (size_t i = 1; i < hl; i++)
		if (host[i] == '.' && host[i - 1] != '.' &&
		    list_has(h->suffix, h->nsuffix, host + i))
			return true;
	return false;
}

void detour_acme_hosts_free(struct detour_acme_hosts *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->exact[i]);
	for (size_t i = 0; i < h->nsuffix; i++)
		free(h->suffix[i]);
	free(h->exact);
	free(h->suffix);
	memset(h, 0, sizeof(*h));
}

/* ---- timing --------------------------------------------------------------- */

int64_t detour_acme_renew_at(int64_t not_before, int64_t not_after, uint32_t rnd)
{
	int64_t life = not_after - not_before;

	if (life <= 0)
		return not_before;
	return not_before + life / 3 * 2 + (life % 3) * 2 / 3 -
	       (int64_t)(rnd % (uint64_t)(life / 30 + 1));
}

uint64_t detour_acme_backoff_ms(unsigned failures, uint64_t base_ms, uint64_t max_ms, uint32_t rnd)
{
	uint64_t d = base_ms;

	for (unsigned i = 1; i < failures && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* Jitter: d * (3/4 + [0, 1/2)). */
	d = d / 4 * 3 + (d / 2 ? rnd % (d / 2) : 0);
	return d > max_ms ? max_ms : d;
}
