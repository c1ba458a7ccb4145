/* detour: the `state` URL and the Redis encoding of the fleet, see
 * detour/fleet.h and docs/internals/fleet.md. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/ascii.h"
#include "detour/fleet.h"

static detour_err fail(char *err, size_t cap, const char *msg)
{
	snprintf(err, cap, "%s", msg);
	return DETOUR_EINVAL;
}

int64_t detour_fleet_int(const char *p, size_t len)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!ascii_is_digit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Percent-decodes p[0..len) into out (cap bytes, NUL-terminated): userinfo
 * may hold reserved characters that way (RFC 3986 §2.1). */
static bool pct_copy(const char *p, size_t len, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			if (i + 2 >= len)
				return false;
			int h = ascii_hexval((unsigned char)p[i + 1]),
			    l = ascii_hexval((unsigned char)p[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0 || k + 1 >= cap)
			return false;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return true;
}

static bool parse_port(const char *p, size_t len, unsigned *port)
{
	int64_t v = detour_fleet_int(p, len);

	if (v < 1 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

/* host:port, [v6]:port, or a host alone (default port). */
static bool parse_host(const char *p, size_t len, unsigned defport, struct detour_fleet_host *h)
{
	const char *name = p, *colon = NULL;
	size_t nlen;

	if (len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', len);
		if (close == NULL || close == p + 1)
			return false;
		name = p + 1;
		nlen = (size_t)(close - name);
		if (close + 1 < p + len) {
			if (close[1] != ':')
				return false;
			colon = close + 1;
		}
	} else {
		colon = memchr(p, ':', len);
		nlen = colon ? (size_t)(colon - p) : len;
		if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - p)))
			return false; /* an IPv6 address needs brackets */
	}
	if (nlen == 0 || nlen >= sizeof(h->host))
		return false;
	for (size_t i = 0; i < nlen; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(ascii_is_alnum(c) || c == '.' || c == '-' || c == '_' ||
		      (p[0] == '[' && c == ':')))
			return false;
	}
	memcpy(h->host, name, nlen);
	h->host[nlen] = '\0';
	h->port = defport;
	if (colon)
		return parse_port(colon + 1, (size_t)(p + len - colon - 1), &h->port);
	return true;
}

static detour_err parse_query(const char *q, size_t len, struct detour_fleet_url *u, bool *rset,
                              char *err, size_t cap)
{
	while (len > 0) {
		const char *amp = memchr(q, '&', len);
		size_t l = amp ? (size_t)(amp - q) : len;
		const char *eq = memchr(q, '=', l);
		size_t kl = eq ? (size_t)(eq - q) : l;
		const char *v = eq ? eq + 1 : q + l;
		size_t vl = eq ? l - kl - 1 : 0;
		int64_t n = detour_fleet_int(v, vl);

		if (kl == 8 && !memcmp(q, "replicas", 8)) {
			if (n < 0 || n > 16)
				return fail(err, cap, "replicas=: expected 0 to 16");
			u->replicas = (unsigned)n;
			*rset = true;
		} else if (kl == 7 && !memcmp(q, "timeout", 7)) {
			if (n < 50 || n > 60000)
				return fail(err, cap,
				            "timeout=: expected milliseconds from 50 to 60000");
			u->timeout_ms = (unsigned)n;
		} else if (kl == 2 && !memcmp(q, "db", 2)) {
			if (n < 0 || n > 9999)
				return fail(err, cap, "db=: expected a database number");
			u->db = (unsigned)n;
		} else if (kl == 6 && !memcmp(q, "prefix", 6)) {
			if (vl == 0 || vl >= sizeof(u->prefix))
				return fail(err, cap, "prefix=: expected 1 to 63 characters");
			for (size_t i = 0; i < vl; i++)
				if (!(ascii_is_alnum((unsigned char)v[i]) || v[i] == '-' ||
				      v[i] == '_' || v[i] == '.'))
					return fail(err, cap,
					            "prefix=: letters, digits, '-', '_', '.' only");
			memcpy(u->prefix, v, vl);
			u->prefix[vl] = '\0';
		} else if (kl == 8 && !memcmp(q, "tls-name", 8)) {
			/* the name the certificates must carry instead of the
			 * host connected to (a sentinel answers an address) */
			struct detour_fleet_host h;
			if (vl == 0 || vl >= sizeof(u->tls_name) || v[0] == '[' ||
			    !parse_host(v, vl, 1, &h) || strlen(h.host) != vl)
				return fail(err, cap,
				            "tls-name=: expected a host name or an address");
			memcpy(u->tls_name, v, vl);
			u->tls_name[vl] = '\0';
		} else {
			return fail(err, cap,
			            "unknown query parameter (expected replicas=, timeout=, "
			            "prefix=, db=, tls-name=)");
		}
		if (amp == NULL)
			break;
		len -= l + 1;
		q += l + 1;
	}
	return DETOUR_OK;
}

detour_err detour_fleet_url_parse(const char *s, size_t len, struct detour_fleet_url *u, char *err,
                                  size_t cap)
{
	/* rediss:// and rediss-sentinel://: TLS to Redis (and to the sentinels),
	 * made by detour itself (src/server/fleet_tls.c), not by hiredis. */
	static const struct {
		const char *scheme;
		bool sentinel, tls;
	} schemes[] = {{"redis://", false, false},
	               {"rediss://", false, true},
	               {"redis-sentinel://", true, false},
	               {"rediss-sentinel://", true, true}};
	const char *p = NULL, *end = s + len, *slash, *at, *q;
	bool rset = false;
	unsigned defport;

	memset(u, 0, sizeof(*u));
	u->timeout_ms = 2000;
	strcpy(u->prefix, "detour");
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && p == NULL; i++) {
		size_t sl = strlen(schemes[i].scheme);
		if (len >= sl && !memcmp(s, schemes[i].scheme, sl)) {
			p = s + sl;
			u->sentinel = schemes[i].sentinel;
			u->tls = schemes[i].tls;
		}
	}
	if (p == NULL)
		return fail(err, cap,
		            "expected redis://[user:password@]host:port/db or "
		            "redis-sentinel://host:port,host:port/name (rediss://, "
		            "rediss-sentinel:// for TLS)");
	defport = u->sentinel ? 26379 : 6379;
	q = memchr(p, '?', (size_t)(end - p));
	if (q == NULL)
		q = end;
	slash = memchr(p, '/', (size_t)(q - p));
	if (slash == NULL)
		slash = q;
	/* userinfo: up to the last '@' before the path (a password may hold
	 * '@' only percent-encoded, but be lenient). */
	at = NULL;
	for (const char *c = p; c < slash; c++)
		if (*c == '@')
			at = c;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			return fail(err, cap, "userinfo: expected user:password@ or :password@");
		if (!pct_copy(p, (size_t)(colon - p), u->user, sizeof(u->user)) ||
		    !pct_copy(colon + 1, (size_t)(at - colon - 1), u->password,
		              sizeof(u->password)) ||
		    u->password[0] == '\0')
			return fail(err, cap, "userinfo: bad user or password");
		p = at + 1;
	}
	while (p < slash) {
		const char *comma = memchr(p, ',', (size_t)(slash - p));
		const char *he = comma ? comma : slash;
		if (u->nhosts == DETOUR_FLEET_HOSTS_MAX)
			return fail(err, cap, "too many hosts (at most 8)");
		if (!parse_host(p, (size_t)(he - p), defport, &u->hosts[u->nhosts]))
			return fail(err, cap, "expected host:port ([::1]:6379 for IPv6)");
		u->nhosts++;
		p = comma ? comma + 1 : slash;
		if (comma && p == slash)
			return fail(err, cap, "expected host:port after ','");
	}
	if (u->nhosts == 0)
		return fail(err, cap, "expected a host");
	if (!u->sentinel && u->nhosts > 1)
		return fail(err, cap,
		            "redis:// names one host; several sentinels go in redis-sentinel://");
	if (u->sentinel) {
		size_t nl = slash < q ? (size_t)(q - slash - 1) : 0;
		if (nl == 0 || nl >= sizeof(u->name))
			return fail(err, cap,
			            "redis-sentinel://: expected /NAME, the primary's name");
		memcpy(u->name, slash + 1, nl);
		u->name[nl] = '\0';
		for (size_t i = 0; i < nl; i++)
			if (!(ascii_is_alnum((unsigned char)u->name[i]) || u->name[i] == '-' ||
			      u->name[i] == '_' || u->name[i] == '.'))
				return fail(err, cap, "redis-sentinel://: bad primary name");
	} else if (slash < q && q - slash > 1) {
		int64_t db = detour_fleet_int(slash + 1, (size_t)(q - slash - 1));
		if (db < 0 || db > 9999)
			return fail(err, cap, "expected /DB, a database number");
		u->db = (unsigned)db;
	}
	if (q < end && parse_query(q + 1, (size_t)(end - q - 1), u, &rset, err, cap))
		return DETOUR_EINVAL;
	if (u->tls_name[0] && !u->tls)
		return fail(err, cap, "tls-name=: only with rediss:// or rediss-sentinel://");
	if (!rset && u->sentinel)
		u->replicas = 1;
	return DETOUR_OK;
}

int detour_fleet_rule_tail(char *out, size_t cap, int64_t created, int64_t expires, const char *who,
                           const char *line)
{
	int n;

	if (strchr(who, '\n') || strchr(line, '\n'))
		return -1;
	n = snprintf(out, cap, "%" PRId64 "\n%" PRId64 "\n%s\n%s", created, expires, who, line);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The next '\n'-ended field of [*p, end) as an int64 (>= 0). */
static bool next_int(const char **p, const char *end, int64_t *v)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL)
		return false;
	*v = detour_fleet_int(*p, (size_t)(nl - *p));
	*p = nl + 1;
	return *v >= 0;
}

static bool next_str(const char **p, const char *end, const char **s, size_t *l)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL)
		return false;
	*s = *p;
	*l = (size_t)(nl - *p);
	*p = nl + 1;
	return true;
}

detour_err detour_fleet_rule_decode(const char *p, size_t len, struct detour_fleet_rule *r)
{
	const char *end = p + len;

	memset(r, 0, sizeof(*r));
	if (memchr(p, '\0', len))
		return DETOUR_EINVAL; /* never written: the fields are C strings */
	if (!next_int(&p, end, &r->n) || !next_int(&p, end, &r->created) ||
	    !next_int(&p, end, &r->expires) || !next_str(&p, end, &r->who, &r->who_len))
		return DETOUR_EINVAL;
	r->line = p;
	r->line_len = (size_t)(end - p);
	if (r->line_len == 0 || memchr(p, '\n', r->line_len))
		return DETOUR_EINVAL;
	return DETOUR_OK;
}

int detour_fleet_maint_encode(char *out, size_t cap, const struct detour_fleet_maint *m)
{
	int n;

	if (memchr(m->who, '\n', m->who_len) || memchr(m->target, '\n', m->target_len) ||
	    m->status < 0 || m->since < 0 || m->until < 0)
		return -1;
	n = snprintf(out, cap, "%d\n%d\n%" PRId64 "\n%" PRId64 "\n%.*s\n%.*s\n%.*s", m->on ? 1 : 0,
	             m->status, m->since, m->until, (int)m->who_len, m->who, (int)m->target_len,
	             m->target, (int)m->allow_len, m->allow);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

detour_err detour_fleet_maint_decode(const char *p, size_t len, struct detour_fleet_maint *m)
{
	const char *end = p + len;
	int64_t on, status;

	memset(m, 0, sizeof(*m));
	if (memchr(p, '\0', len))
		return DETOUR_EINVAL;
	if (!next_int(&p, end, &on) || on > 1 || !next_int(&p, end, &status) || status > 999 ||
	    !next_int(&p, end, &m->since) || !next_int(&p, end, &m->until) ||
	    !next_str(&p, end, &m->who, &m->who_len) ||
	    !next_str(&p, end, &m->target, &m->target_len))
		return DETOUR_EINVAL;
	m->on = on == 1;
	m->status = (int)status;
	m->allow = p;
	m->allow_len = (size_t)(end - p);
	return DETOUR_OK;
}
