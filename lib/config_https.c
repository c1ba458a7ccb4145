/* detour: the HTTPS directives of detour.conf (docs/https.md): tls-cert, acme,
 * acme-email, acme-ca, acme-hosts, hsts, https-redirect, canonical-host,
 * trailing-slash, trusted-proxies, the TLS client side of the fleet's Redis
 * (state-ca, state-cert: docs/internals/fleet.md), and what they need of each
 * other once the whole file is read. The listen flags (tls, proxy-protocol)
 * are config.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ascii.h"
#include "base/cidr.h"
#include "base/value.h"
#include "config_https.h"

/* ---- HTTPS (docs/https.md) -------------------------------------------- */

/* Where a once-only directive was first set: "... is already set on line N". */
static detour_err once(struct pstate *s, const struct arg *a, const char *what, unsigned line)
{
	if (line == 0)
		return DETOUR_OK;
	detour_diag_set(s->d, s->name, s->line, a->col, "%s is already set on line %u, at \"%.*s\"",
	                what, line, (int)a->len, a->p);
	return DETOUR_EINVAL;
}

/* tls-cert CERT KEY */
static detour_err d_tls_cert(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;
	struct detour_conf_cert *ct;

	if (c->ncerts == DETOUR_CONF_MAX_CERTS)
		return conf_fail(s, a[0].col, "too many tls-cert pairs (at most 64), at \"%s\"",
		                 a[0].p, a[0].len);
	ct = &c->certs[c->ncerts];
	if (conf_set_path(s, &a[0], ct->cert) != DETOUR_OK ||
	    conf_set_path(s, &a[1], ct->key) != DETOUR_OK)
		return DETOUR_EINVAL;
	ct->line = s->line;
	c->ncerts++;
	return DETOUR_OK;
}

/* state-ca FILE: the CA bundle Redis's certificate is verified with. */
static detour_err d_state_ca(struct pstate *s, const struct arg *a, unsigned n)
{
	if (once(s, &a[0], "state-ca", s->c->state_ca_line) != DETOUR_OK ||
	    conf_set_path(s, &a[0], s->c->state_ca) != DETOUR_OK)
		return DETOUR_EINVAL;
	s->c->state_ca_line = s->line;
	return DETOUR_OK;
}

/* state-cert CERT KEY: the client certificate shown to Redis. */
static detour_err d_state_cert(struct pstate *s, const struct arg *a, unsigned n)
{
	if (once(s, &a[0], "state-cert", s->c->state_cert_line) != DETOUR_OK ||
	    conf_set_path(s, &a[0], s->c->state_cert) != DETOUR_OK ||
	    conf_set_path(s, &a[1], s->c->state_key) != DETOUR_OK)
		return DETOUR_EINVAL;
	s->c->state_cert_line = s->line;
	return DETOUR_OK;
}

/* A DNS host name as a certificate names it: LDH labels of 1 to 63 bytes,
 * at most 253 bytes, at least two labels (an ACME CA refuses a bare
 * "localhost"-like name anyway, and a TLD-only canonical host is a typo).
 * Copied lower-case into dst (256 bytes). Returns a reason or NULL. */
static const char *host_name(const struct arg *a, char *dst)
{
	size_t label = 0, dots = 0;

	if (a->len == 0 || a->len > 253)
		return "expected a host name of 1 to 253 bytes";
	if (a->p[0] == '*')
		return "wildcard hosts need DNS-01 validation, which detour does not do";
	for (size_t i = 0; i < a->len; i++) {
		char ch = a->p[i];
		if (ch == '.') {
			if (label == 0 || a->p[i - 1] == '-')
				return "expected a host name (empty label, or a label ending in "
				       "'-')";
			dst[i] = '.';
			label = 0;
			dots++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			return "expected a host name (letters, digits, '-' and '.')";
		if ((label == 0 && ch == '-') || ++label > 63)
			return "expected a host name (labels of 1 to 63 bytes, not starting with "
			       "'-')";
		dst[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	if (label == 0 || dots == 0)
		return "expected a host name with at least two labels (example.com)";
	dst[a->len] = '\0';
	return NULL;
}

/* Appends host + '\n' to the list buf (cap bytes), refusing a duplicate. */
static detour_err host_list_add(struct pstate *s, const struct arg *a, char *buf, size_t cap,
                                const char *what)
{
	char h[256];
	const char *why = host_name(a, h);
	size_t used = strlen(buf), hl;

	if (why != NULL) {
		detour_diag_set(s->d, s->name, s->line, a->col, "%s: %s, found \"%.*s\"", what, why,
		                (int)a->len, a->p);
		return DETOUR_EINVAL;
	}
	hl = strlen(h);
	for (const char *p = buf; *p; p = strchr(p, '\n') + 1)
		if (strlen(p) > hl && p[hl] == '\n' && !memcmp(p, h, hl))
			return conf_fail(s, a->col, "host \"%s\" is listed twice", a->p, a->len);
	if (used + hl + 2 > cap)
		return conf_fail(s, a->col, "too many hosts, at \"%s\"", a->p, a->len);
	memcpy(buf + used, h, hl);
	buf[used + hl] = '\n';
	buf[used + hl + 1] = '\0';
	return DETOUR_OK;
}

/* acme URL: the CA's directory (RFC 8555 §7.1.1), reached over HTTPS only
 * (RFC 8555 §6.1). */
static detour_err d_acme(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_conf_acme *ac = &s->c->acme;

	if (once(s, &a[0], "acme", ac->line) != DETOUR_OK)
		return DETOUR_EINVAL;
	if (a[0].len <= 8 || memcmp(a[0].p, "https://", 8) != 0 || a[0].p[8] == '/')
		return conf_fail(
		        s, a[0].col,
		        "expected the https:// URL of an ACME directory (RFC 8555 requires "
		        "HTTPS), found \"%s\"",
		        a[0].p, a[0].len);
	if (a[0].len >= sizeof(ac->directory))
		return conf_fail(s, a[0].col, "URL too long: \"%s\"", a[0].p, a[0].len);
	memcpy(ac->directory, a[0].p, a[0].len);
	ac->directory[a[0].len] = '\0';
	ac->line = s->line;
	return DETOUR_OK;
}

/* acme-email ADDR: the account's contact (a mailto: URL, RFC 8555 §7.3). */
static detour_err d_acme_email(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_conf_acme *ac = &s->c->acme;
	struct arg v = a[0];
	const char *at;

	if (v.len > 7 && !memcmp(v.p, "mailto:", 7)) {
		v.p += 7;
		v.len -= 7;
	}
	at = memchr(v.p, '@', v.len);
	if (at == NULL || at == v.p || at == v.p + v.len - 1 ||
	    memchr(at + 1, '@', (size_t)(v.p + v.len - at - 1)) != NULL ||
	    memchr(at, '.', (size_t)(v.p + v.len - at)) == NULL || v.len >= sizeof(ac->email))
		return conf_fail(s, a[0].col,
		                 "expected an email address (ops@example.com), found \"%s\"",
		                 a[0].p, a[0].len);
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] == ',' || v.p[i] == '<' || v.p[i] == '>' || v.p[i] == '"')
			return conf_fail(s, a[0].col, "expected one email address, found \"%s\"",
			                 a[0].p, a[0].len);
	memcpy(ac->email, v.p, v.len);
	ac->email[v.len] = '\0';
	return DETOUR_OK;
}

static detour_err d_acme_ca(struct pstate *s, const struct arg *a, unsigned n)
{
	return conf_set_path(s, &a[0], s->c->acme.ca_file);
}

/* acme-hosts HOST... (repeatable) */
static detour_err d_acme_hosts(struct pstate *s, const struct arg *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (host_list_add(s, &a[i], s->c->acme.hosts, sizeof(s->c->acme.hosts),
		                  "acme-hosts") != DETOUR_OK)
			return DETOUR_EINVAL;
	return DETOUR_OK;
}

/* hsts max-age=DURATION [include-subdomains] [preload] (RFC 6797 §6.1) */
static detour_err d_hsts(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_conf_hsts *h = &s->c->hsts;
	struct arg v;
	int64_t secs;

	if (once(s, &a[0], "hsts", h->line) != DETOUR_OK)
		return DETOUR_EINVAL;
	if (!conf_key_value(&a[0], "max-age", &v))
		return conf_fail(s, a[0].col,
		                 "expected max-age=DURATION first (max-age=1y), found \"%s\"",
		                 a[0].p, a[0].len);
	secs = value_duration(v.p, v.len);
	if (secs < 0)
		return conf_fail(
		        s, v.col,
		        "expected a duration of at most 10 years (0, 1d, 26w, 1y), found \"%s\"",
		        v.p, v.len);
	h->max_age_s = (uint64_t)secs;
	h->include_subdomains = h->preload = false;
	for (unsigned i = 1; i < n; i++) {
		bool *flag = conf_arg_is(&a[i], "include-subdomains") ? &h->include_subdomains
		             : conf_arg_is(&a[i], "preload")          ? &h->preload
		                                                      : NULL;
		if (flag == NULL)
			return conf_fail(s, a[i].col,
			                 "expected include-subdomains or preload, found \"%s\"",
			                 a[i].p, a[i].len);
		if (*flag)
			return conf_fail(s, a[i].col, "\"%s\" given twice", a[i].p, a[i].len);
		*flag = true;
	}
	h->line = s->line;
	return DETOUR_OK;
}

/* https-redirect [301|302|307|308] */
static detour_err d_https_redirect(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;
	int st = 308;

	if (c->https_redirect_line != 0) {
		detour_diag_set(s->d, s->name, s->line, 1,
		                "https-redirect is already set on line %u", c->https_redirect_line);
		return DETOUR_EINVAL;
	}
	if (n == 1) {
		/* three digits, read in place: the argument is a slice of the
		 * file, not NUL-terminated at its end (atoi read past it) */
		const char *v = a[0].p;
		st = a[0].len == 3 && ascii_is_digit((unsigned char)v[0]) &&
		                     ascii_is_digit((unsigned char)v[1]) &&
		                     ascii_is_digit((unsigned char)v[2])
		             ? (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0')
		             : 0;
		if (st != 301 && st != 302 && st != 307 && st != 308)
			return conf_fail(s, a[0].col, "expected 301, 302, 307 or 308, found \"%s\"",
			                 a[0].p, a[0].len);
	}
	c->https_redirect = st;
	c->https_redirect_line = s->line;
	return DETOUR_OK;
}

/* Whether host (NUL-ended) is in the '\n'-ended list. */
static bool host_listed(const char *list, const char *host)
{
	size_t hl = strlen(host);

	for (const char *p = list; *p; p = strchr(p, '\n') + 1)
		if (strlen(p) > hl && p[hl] == '\n' && !memcmp(p, host, hl))
			return true;
	return false;
}

/* canonical-host ALIAS... CANONICAL (repeatable). An alias names one
 * canonical host, and a canonical host is nobody's alias: one hop, never a
 * chain of canonicalisations. */
static detour_err d_canonical_host(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;
	struct detour_conf_canon *k;
	const struct arg *last = &a[n - 1];
	const char *why;

	if (c->ncanon == DETOUR_CONF_MAX_CANON)
		return conf_fail(s, a[0].col,
		                 "too many canonical-host directives (at most 64), at \"%s\"",
		                 a[0].p, a[0].len);
	k = &c->canon[c->ncanon];
	memset(k, 0, sizeof(*k));
	if ((why = host_name(last, k->canonical)) != NULL) {
		detour_diag_set(s->d, s->name, s->line, last->col,
		                "canonical-host: %s, found \"%.*s\"", why, (int)last->len, last->p);
		return DETOUR_EINVAL;
	}
	for (unsigned i = 0; i < c->ncanon; i++)
		if (host_listed(c->canon[i].aliases, k->canonical)) {
			detour_diag_set(s->d, s->name, s->line, last->col,
			                "\"%s\" is an alias on line %u: it cannot be canonical too",
			                k->canonical, c->canon[i].line);
			return DETOUR_EINVAL;
		}
	for (unsigned j = 0; j + 1 < n; j++) {
		char h[256];
		if ((why = host_name(&a[j], h)) != NULL) {
			detour_diag_set(s->d, s->name, s->line, a[j].col,
			                "canonical-host: %s, found \"%.*s\"", why, (int)a[j].len,
			                a[j].p);
			return DETOUR_EINVAL;
		}
		if (!strcmp(h, k->canonical))
			return conf_fail(s, a[j].col, "\"%s\" is its own canonical host", a[j].p,
			                 a[j].len);
		for (unsigned i = 0; i < c->ncanon; i++)
			if (host_listed(c->canon[i].aliases, h) ||
			    !strcmp(c->canon[i].canonical, h)) {
				detour_diag_set(
				        s->d, s->name, s->line, a[j].col,
				        "\"%s\" is already named by canonical-host on line %u", h,
				        c->canon[i].line);
				return DETOUR_EINVAL;
			}
		if (host_list_add(s, &a[j], k->aliases, sizeof(k->aliases), "canonical-host") !=
		    DETOUR_OK)
			return DETOUR_EINVAL;
	}
	k->line = s->line;
	c->ncanon++;
	return DETOUR_OK;
}

/* trailing-slash add|remove|keep */
static detour_err d_trailing_slash(struct pstate *s, const struct arg *a, unsigned n)
{
	if (conf_arg_is(&a[0], "add"))
		s->c->trailing_slash = DETOUR_SLASH_ADD;
	else if (conf_arg_is(&a[0], "remove"))
		s->c->trailing_slash = DETOUR_SLASH_REMOVE;
	else if (conf_arg_is(&a[0], "keep"))
		s->c->trailing_slash = DETOUR_SLASH_KEEP;
	else
		return conf_fail(s, a[0].col, "expected add, remove or keep, found \"%s\"", a[0].p,
		                 a[0].len);
	return DETOUR_OK;
}

/* trusted-proxies CIDR... (repeatable) */
static detour_err d_trusted_proxies(struct pstate *s, const struct arg *a, unsigned n)
{
	struct detour_config *c = s->c;

	for (unsigned i = 0; i < n; i++) {
		if (c->ntrusted_proxies == DETOUR_CONF_MAX_CIDRS)
			return conf_fail(s, a[i].col,
			                 "too many trusted proxies (at most 64), at \"%s\"", a[i].p,
			                 a[i].len);
		if (cidr_parse(a[i].p, a[i].len, &c->trusted_proxies[c->ntrusted_proxies]) !=
		    CIDR_OK)
			return conf_fail(
			        s, a[i].col,
			        "expected an address or CIDR range (10.0.0.0/8, 2001:db8::/32, "
			        "192.0.2.1) without bits past the prefix, found \"%s\"",
			        a[i].p, a[i].len);
		c->ntrusted_proxies++;
	}
	return DETOUR_OK;
}

/* What one directive alone cannot check, once the whole file is read. */
static detour_err check_https(struct pstate *s)
{
	struct detour_config *c = s->c;

	for (unsigned i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls && c->ncerts == 0 && c->acme.line == 0) {
			detour_diag_set(
			        s->d, s->name, c->listen[i].line, 0,
			        "listen %s:%u tls needs certificates: add tls-cert CERT KEY or "
			        "acme DIRECTORY-URL",
			        c->listen[i].host, c->listen[i].port);
			return DETOUR_EINVAL;
		}
	if (c->acme.line == 0 && (c->acme.email[0] || c->acme.ca_file[0] || c->acme.hosts[0])) {
		detour_diag_set(s->d, s->name, 0, 0,
		                "acme-email, acme-ca and acme-hosts need an acme DIRECTORY-URL");
		return DETOUR_EINVAL;
	}
	return DETOUR_OK;
}

/* A PROXY header is believed only from a peer in trusted-proxies
 * (docs/https.md): a proxy-protocol listener without any would refuse every
 * connection. */
static detour_err check_proxy(struct pstate *s)
{
	struct detour_config *c = s->c;

	for (unsigned i = 0; i < c->nlisten; i++)
		if (c->listen[i].proxy_protocol && c->ntrusted_proxies == 0) {
			detour_diag_set(s->d, s->name, c->listen[i].line, 0,
			                "listen %s:%u proxy-protocol needs trusted-proxies: the "
			                "addresses of the load balancers that connect to it",
			                c->listen[i].host, c->listen[i].port);
			return DETOUR_EINVAL;
		}
	return DETOUR_OK;
}

/* state-ca and state-cert mean TLS to Redis: they need a rediss:// state. */
static detour_err check_state_tls(struct pstate *s)
{
	const struct detour_config *c = s->c;
	unsigned line = c->state_ca_line ? c->state_ca_line : c->state_cert_line;

	if (line == 0 || !strncmp(c->state_url, "rediss://", 9) ||
	    !strncmp(c->state_url, "rediss-sentinel://", 18))
		return DETOUR_OK;
	detour_diag_set(s->d, s->name, line, 0,
	                "%s is for TLS to Redis: it needs state rediss://... or "
	                "rediss-sentinel://...",
	                line == c->state_ca_line ? "state-ca" : "state-cert");
	return DETOUR_EINVAL;
}

const struct conf_directive conf_https_directives[] = {
        {"tls-cert", 2, 2, d_tls_cert, "tls-cert CERT KEY",
         "A PEM certificate (leaf first, then its chain) and its private key;\n"
         "repeatable. SNI picks the certificate whose names match the requested\n"
         "host; the first one serves clients that send no name. Reloaded on SIGHUP\n"
         "and when the files change; a broken pair is reported and the old one\n"
         "keeps serving."},
        {"acme", 1, 1, d_acme, "acme DIRECTORY-URL",
         "Obtain and renew certificates from this ACME CA (RFC 8555) for every exact\n"
         "host named by the rules, *canonical-host* and *acme-hosts*, and on demand\n"
         "for names under a wildcard rule. HTTP-01 on plain listeners, TLS-ALPN-01\n"
         "on TLS listeners. Keys and certificates are kept under *state-dir*\n"
         "(mode 0600); renewal at two thirds of the lifetime, failures retried with\n"
         "exponential backoff and logged with the CA's error."},
        {"acme-email", 1, 1, d_acme_email, "acme-email ADDR",
         "The ACME account's contact address."},
        {"acme-ca", 1, 1, d_acme_ca, "acme-ca FILE",
         "CA bundle trusted for the ACME directory's own TLS (private CAs, tests)."},
        {"acme-hosts", 1, CONF_MAX_ARGS, d_acme_hosts, "acme-hosts HOST...",
         "More hosts to get certificates for; repeatable. No wildcards."},
        {"hsts", 1, 3, d_hsts, "hsts max-age=DURATION [include-subdomains] [preload]",
         "Send Strict-Transport-Security on every response to an https request\n"
         "(over TLS, or one a trusted proxy says was https): redirects, 404s,\n"
         "maintenance answers and errors; never over plain HTTP (RFC 6797 7.2).\n"
         "max-age=1y is 365 days. *detour lint -c* checks what the preload list\n"
         "requires when preload is given."},
        {"https-redirect", 0, 1, d_https_redirect, "https-redirect [301|302|307|308]",
         "Redirect every plain request to https:// + host (no port) + target\n"
         "(default status 308), folded with *canonical-host*, *trailing-slash* and\n"
         "the rule that answers the https URL into a single hop with that rule's\n"
         "status. Works without a TLS listener (behind a balancer, with\n"
         "*trusted-proxies*). Requests for /.well-known/acme-challenge/ and\n"
         "requests that a rule led by http:// matches are not redirected."},
        {"canonical-host", 2, CONF_MAX_ARGS, d_canonical_host, "canonical-host ALIAS... CANONICAL",
         "Requests for an alias go to the canonical host (scheme and port kept\n"
         "unless *https-redirect* changes the scheme); repeatable. Without\n"
         "*https-redirect* such a hop is a 308."},
        {"trailing-slash", 1, 1, d_trailing_slash, "trailing-slash add|remove|keep",
         "Normalise the trailing slash of the path, in the same hop. add leaves a\n"
         "last segment holding a dot alone (/robots.txt); remove leaves /. A hop\n"
         "that only changes the slash has a path-only Location. Default keep."},
        {"trusted-proxies", 1, CONF_MAX_ARGS, d_trusted_proxies, "trusted-proxies CIDR...",
         "Peers whose Forwarded, X-Forwarded-For and X-Forwarded-Proto headers are\n"
         "believed for the client address and scheme, and the only peers a\n"
         "*proxy-protocol* listener accepts; repeatable. The client is the\n"
         "right-most address that is not a trusted proxy; Forwarded wins over\n"
         "X-Forwarded-\\*. From other peers these headers are ignored."},
        {"state-ca", 1, 1, d_state_ca, "state-ca FILE",
         "With *state rediss://*: the PEM CA bundle Redis's certificate (and the\n"
         "sentinels') is verified with, instead of the system's store. The chain\n"
         "and the host name (or address, or *?tls-name=*) are checked; TLS 1.2 or\n"
         "later. Read at start, before privileges are dropped."},
        {"state-cert", 2, 2, d_state_cert, "state-cert CERT KEY",
         "With *state rediss://*: the PEM client certificate (and chain) and its\n"
         "key shown to Redis, which asks for one by default (*tls-auth-clients\n"
         "yes*). Read at start, before privileges are dropped; a bad or mismatched\n"
         "pair stops the start with the reason."},
};
const size_t conf_https_ndirectives =
        sizeof(conf_https_directives) / sizeof(conf_https_directives[0]);

detour_err conf_https_check(struct pstate *s)
{
	if (check_https(s) != DETOUR_OK || check_state_tls(s) != DETOUR_OK)
		return DETOUR_EINVAL;
	return check_proxy(s);
}
