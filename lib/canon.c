/* detour: canonical URLs and HSTS, see canon.h and docs/https.md.
 *
 * The aliases of every canonical-host directive are kept in one sorted
 * array (binary search, lower-case byte order); the HSTS line is written
 * once here, so that serving copies bytes. */
#include <stdlib.h>
#include <string.h>

#include "detour/canon.h"
#include "detour/respond.h"
#include "detour/url.h"

#include "base/ascii.h"
#include "base/buf.h"

struct alias {
	const char *name; /* lower case, NUL-terminated, in k->pool */
	size_t len;
	const char *canonical; /* in k->pool */
};

struct detour_canon {
	int https_status; /* 0: off */
	int hop_status;   /* the status of a hop without a rule */
	enum detour_trailing_slash slash;
	struct alias *aliases; /* sorted by name */
	size_t nalias;
	char *pool; /* the names */
	char hsts[128];
	size_t hsts_len;
};

static int alias_cmp(const void *a, const void *b)
{
	const struct alias *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The HSTS line of RFC 6797 §6.1: "max-age" delta-seconds, then the
 * valueless includeSubDomains and preload (the token the preload list
 * looks for, hstspreload.org). */
static void make_hsts(struct detour_canon *k, const struct detour_conf_hsts *h)
{
	struct bbuf w;

	bbuf_fixed(&w, k->hsts, sizeof(k->hsts));
	BBUF_LIT(&w, "Strict-Transport-Security: max-age=");
	bbuf_put_uint(&w, h->max_age_s);
	if (h->include_subdomains)
		BBUF_LIT(&w, "; includeSubDomains");
	if (h->preload)
		BBUF_LIT(&w, "; preload");
	BBUF_LIT(&w, "\r\n");
	k->hsts_len = w.over ? 0 : w.len;
}

detour_err detour_canon_new(const struct detour_config *c, struct detour_canon **out)
{
	struct detour_canon *k;
	size_t nalias = 0, bytes = 0;

	*out = NULL;
	if (c->hsts.line == 0 && c->https_redirect == 0 && c->ncanon == 0 &&
	    c->trailing_slash == DETOUR_SLASH_KEEP)
		return DETOUR_OK;
	for (unsigned i = 0; i < c->ncanon; i++) {
		for (const char *p = c->canon[i].aliases; *p; p++)
			nalias += *p == '\n';
		bytes += strlen(c->canon[i].aliases) + strlen(c->canon[i].canonical) + 1;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return DETOUR_ENOMEM;
	k->aliases = calloc(nalias ? nalias : 1, sizeof(*k->aliases));
	k->pool = malloc(bytes ? bytes : 1);
	if (k->aliases == NULL || k->pool == NULL) {
		detour_canon_free(k);
		return DETOUR_ENOMEM;
	}
	k->https_status = c->https_redirect;
	k->hop_status = c->https_redirect ? c->https_redirect : DETOUR_CANON_DEFAULT_STATUS;
	k->slash = c->trailing_slash;
	if (c->hsts.line)
		make_hsts(k, &c->hsts);
	char *pool = k->pool;
	for (unsigned i = 0; i < c->ncanon; i++) {
		const struct detour_conf_canon *cc = &c->canon[i];
		size_t cl = strlen(cc->canonical);
		const char *canonical = pool;
		memcpy(pool, cc->canonical, cl + 1);
		pool += cl + 1;
		/* "a\nb\n" -> "a\0b\0", each an alias of canonical. */
		size_t al = strlen(cc->aliases);
		memcpy(pool, cc->aliases, al);
		for (size_t j = 0; j < al;) {
			char *nl = memchr(pool + j, '\n', al - j);
			size_t e = nl ? (size_t)(nl - pool) : al;
			pool[e] = '\0';
			k->aliases[k->nalias++] = (struct alias){pool + j, e - j, canonical};
			j = e + 1;
		}
		pool += al;
	}
	qsort(k->aliases, k->nalias, sizeof(*k->aliases), alias_cmp);
	*out = k;
	return DETOUR_OK;
}

void detour_canon_free(struct detour_canon *k)
{
	if (k == NULL)
		return;
	free(k->aliases);
	free(k->pool);
	free(k);
}

const char *detour_canon_hsts(const struct detour_canon *k, size_t *len)
{
	*len = k && k->hsts_len ? k->hsts_len : 0;
	return *len ? k->hsts : NULL;
}

bool detour_canon_may_change(const struct detour_canon *k, bool https)
{
	return k && ((!https && k->https_status) || k->nalias || k->slash != DETOUR_SLASH_KEEP);
}

int detour_canon_https_status(const struct detour_canon *k)
{
	return k ? k->https_status : 0;
}

enum detour_trailing_slash detour_canon_slash(const struct detour_canon *k)
{
	return k ? k->slash : DETOUR_SLASH_KEEP;
}

const char *detour_canon_alias(const struct detour_canon *k, const char *host, size_t len)
{
	size_t lo = 0, hi = k ? k->nalias : 0;
	struct alias key = {host, len, NULL};

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = alias_cmp(&key, &k->aliases[mid]);
		if (c == 0)
			return k->aliases[mid].canonical;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Splits the Host header into host and port: "[::1]:80", "a.b:8080",
 * "a.b". Returns the host's length, 0 when unusable. */
static size_t split_host(const char *h, size_t n, const char **port, size_t *port_len)
{
	size_t k;

	*port = "";
	*port_len = 0;
	if (h[0] == '[') {
		const char *close = memchr(h, ']', n);
		if (close == NULL)
			return 0;
		k = (size_t)(close - h) + 1;
	} else {
		const char *colon = memchr(h, ':', n);
		k = colon ? (size_t)(colon - h) : n;
	}
	if (k < n && h[k] == ':' && k + 1 < n) {
		*port = h + k + 1;
		*port_len = n - k - 1;
	}
	return k;
}

/* trailing-slash add: a path whose last segment names a file (holds a
 * '.') is left alone: /robots.txt/ would be another resource. */
static bool last_segment_is_file(const char *p, size_t n)
{
	for (size_t i = n; i > 0 && p[i - 1] != '/'; i--)
		if (p[i - 1] == '.')
			return true;
	return false;
}

unsigned detour_canon_apply(const struct detour_canon *k, const struct detour_canon_in *in,
                            struct detour_canon_url *u)
{
	const char *port;
	size_t port_len, hl;

	u->changed = 0;
	u->status = k->hop_status;
	u->https = in->https;
	u->path = in->path;
	u->path_len = in->path_len;
	u->host = u->hostbuf;
	u->host_len = 0;
	u->hostbuf[0] = '\0';
	u->port = "";
	u->port_len = 0;
	/* Nothing can change (hsts alone, or an https request without aliases
	 * and slash rules): the common case with hsts costs no more. */
	if (!detour_canon_may_change(k, in->https))
		return 0;
	if (in->host == NULL || in->host_len == 0 || in->path_len == 0 || in->path[0] != '/')
		return 0;
	/* RFC 8555 §8.3: the CA fetches http://HOST/.well-known/acme-challenge/
	 * TOKEN and follows no redirect to another name; keep it as it came. */
	if (in->path_len >= sizeof(DETOUR_CANON_ACME_PREFIX) - 1 &&
	    !memcmp(in->path, DETOUR_CANON_ACME_PREFIX, sizeof(DETOUR_CANON_ACME_PREFIX) - 1))
		return 0;
	hl = split_host(in->host, in->host_len, &port, &port_len);
	if (hl == 0 || hl > DETOUR_CANON_HOST_MAX)
		return 0;
	for (size_t i = 0; i < hl; i++)
		u->hostbuf[i] = ascii_lower(in->host[i]);
	while (hl > 1 && u->hostbuf[hl - 1] == '.' && u->hostbuf[0] != '[')
		hl--; /* "example.com." names example.com */
	u->hostbuf[hl] = '\0';
	u->host_len = hl;

	if (!in->https && k->https_status) {
		u->https = true;
		u->changed |= DETOUR_CANON_SCHEME;
	} else {
		/* The scheme stays: so does the port the client used. */
		u->port = port;
		u->port_len = port_len;
	}
	const char *c = k->nalias ? detour_canon_alias(k, u->hostbuf, hl) : NULL;
	if (c != NULL) {
		u->host = c;
		u->host_len = strlen(c);
		u->changed |= DETOUR_CANON_HOST;
	}
	if (k->slash == DETOUR_SLASH_ADD) {
		if (in->path[in->path_len - 1] != '/' &&
		    !last_segment_is_file(in->path, in->path_len) && in->path_cap > in->path_len) {
			in->path[in->path_len] = '/';
			u->path_len = in->path_len + 1;
			u->changed |= DETOUR_CANON_SLASH;
		}
	} else if (k->slash == DETOUR_SLASH_REMOVE) {
		size_t n = in->path_len;
		while (n > 1 && in->path[n - 1] == '/')
			n--;
		if (n != in->path_len) {
			u->path_len = n;
			u->changed |= DETOUR_CANON_SLASH;
		}
	}
	return u->changed;
}

static void put_origin(struct bbuf *w, const struct detour_canon_url *u)
{
	if (!(u->changed & (DETOUR_CANON_SCHEME | DETOUR_CANON_HOST)))
		return;
	if (u->https)
		BBUF_LIT(w, "https://");
	else
		BBUF_LIT(w, "http://");
	bbuf_put(w, u->host, u->host_len);
	if (u->port_len) {
		bbuf_putc(w, ':');
		bbuf_put(w, u->port, u->port_len);
	}
}

ssize_t detour_canon_origin(const struct detour_canon_url *u, char *out, size_t cap)
{
	struct bbuf w;

	bbuf_fixed(&w, out, cap);
	put_origin(&w, u);
	return w.over ? -1 : (ssize_t)w.len;
}

ssize_t detour_canon_target(const struct detour_canon_url *u, const char *target, size_t tlen,
                            char *out, size_t cap)
{
	struct bbuf w;

	if (cap == 0)
		return -1;
	bbuf_fixed(&w, out, cap - 1);
	if (target == NULL) {
		put_origin(&w, u);
		/* A normalised path holds neither, but the template's '?' and
		 * '#' split it (respond.c): never let a path byte do that. */
		size_t lit = 0;
		for (size_t i = 0; i < u->path_len; i++) {
			if (u->path[i] != '?' && u->path[i] != '#')
				continue;
			bbuf_put(&w, u->path + lit, i - lit);
			bbuf_put_pct(&w, (unsigned char)u->path[i]);
			lit = i + 1;
		}
		bbuf_put(&w, u->path + lit, u->path_len - lit);
	} else {
		if (tlen > 0 && target[0] == '/')
			put_origin(&w, u);
		bbuf_put(&w, target, tlen);
	}
	if (w.over)
		return -1;
	out[w.len] = '\0';
	return (ssize_t)w.len;
}

void detour_canon_answer(const struct detour_canon_url *u, struct detour_match *m,
                         struct detour_rule *rule, char *target, size_t cap)
{
	const struct detour_rule *r = m->rule;
	ssize_t n;

	if (r == NULL) {
		n = detour_canon_target(u, NULL, 0, target, cap);
		*rule = (struct detour_rule){
		        .status = (uint16_t)u->status,
		        .query = DETOUR_QUERY_KEEP,
		};
		*m = (struct detour_match){.rule = rule,
		                           .index = UINT32_MAX,
		                           .cache = DETOUR_CACHE_UNSET,
		                           .window_end = INT64_MAX};
		if (n < 0 || n > DETOUR_LOCATION_MAX) {
			/* The Location could not be sent anyway (respond.h). */
			rule->status = 500;
			n = 0;
		}
	} else {
		if (m->target_len == 0 || m->target[0] != '/' ||
		    !(u->changed & (DETOUR_CANON_SCHEME | DETOUR_CANON_HOST)))
			return;
		n = detour_canon_target(u, m->target, m->target_len, target, cap);
		if (n < 0 || n > UINT16_MAX)
			return; /* as written: far over DETOUR_LOCATION_MAX anyway */
	}
	m->target = target;
	m->target_len = (uint16_t)n;
}
