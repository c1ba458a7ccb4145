/* detour: HSTS store (RFC 6797). Entries live in an array sorted by host so
 * that a lookup is a binary search per label of the queried host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/hsts.h"

#include "base/ascii.h"
#include "base/civil.h"
#include "base/grow.h"

#define HOST_MAX 255

struct entry {
	char host[HOST_MAX + 1];
	time_t expiry;
	bool sub;
};

struct detour_hsts {
	struct entry *e;
	size_t n, cap;
};

struct detour_hsts *detour_hsts_new(void)
{
	return calloc(1, sizeof(struct detour_hsts));
}

void detour_hsts_free(struct detour_hsts *s)
{
	if (!s)
		return;
	free(s->e);
	free(s);
}

size_t detour_hsts_count(const struct detour_hsts *s)
{
	return s->n;
}

static inline bool ows(char c)
{
	return c == ' ' || c == '\t';
}

detour_err detour_hsts_parse(const char *v, size_t len, int64_t *max_age, bool *include_sub)
{
	bool seen_age = false, seen_sub = false;
	int64_t age = 0;
	size_t i = 0;

	*max_age = 0;
	*include_sub = false;
	for (;;) {
		/* [ directive ] between ';' separators, with OWS around. */
		while (i < len && ows(v[i]))
			i++;
		if (i < len && v[i] != ';') {
			size_t ns = i;
			while (i < len && ascii_is_tchar((unsigned char)v[i]))
				i++;
			size_t ne = i;
			if (ne == ns)
				return DETOUR_EINVAL;
			while (i < len && ows(v[i]))
				i++;
			const char *val = NULL;
			size_t vl = 0;
			bool has_val = false;
			if (i < len && v[i] == '=') {
				i++;
				while (i < len && ows(v[i]))
					i++;
				has_val = true;
				if (i < len && v[i] == '"') {
					/* quoted-string (RFC 9110 §5.6.4); a
					 * quoted-pair is taken as its byte. */
					i++;
					val = v + i;
					while (i < len && v[i] != '"') {
						if (v[i] == '\\' && i + 1 < len)
							i++;
						i++;
					}
					if (i >= len)
						return DETOUR_EINVAL;
					vl = (size_t)(v + i - val);
					i++;
				} else {
					val = v + i;
					while (i < len && ascii_is_tchar((unsigned char)v[i]))
						i++;
					vl = (size_t)(v + i - val);
					if (vl == 0)
						return DETOUR_EINVAL;
				}
				while (i < len && ows(v[i]))
					i++;
			}
			if (i < len && v[i] != ';')
				return DETOUR_EINVAL;
			if (ascii_eq_ci(v + ns, ne - ns, "max-age")) {
				/* max-age = delta-seconds = 1*DIGIT (§6.1.1) */
				if (seen_age || !has_val || vl == 0)
					return DETOUR_EINVAL;
				seen_age = true;
				age = 0;
				for (size_t k = 0; k < vl; k++) {
					if (val[k] < '0' || val[k] > '9')
						return DETOUR_EINVAL;
					if (age <= DETOUR_HSTS_MAX_AGE_CAP)
						age = age * 10 + (val[k] - '0');
				}
			} else if (ascii_eq_ci(v + ns, ne - ns, "includesubdomains")) {
				/* valueless directive (§6.1.2) */
				if (seen_sub || has_val)
					return DETOUR_EINVAL;
				seen_sub = true;
			}
			/* other directives: ignored (§6.1) */
		}
		if (i >= len)
			break;
		i++; /* ';' */
	}
	/* §6.1.1: max-age is REQUIRED. */
	if (!seen_age)
		return DETOUR_EINVAL;
	*max_age = age > DETOUR_HSTS_MAX_AGE_CAP ? DETOUR_HSTS_MAX_AGE_CAP : age;
	*include_sub = seen_sub;
	return DETOUR_OK;
}

/* An IP literal: "[...]" or a dotted-decimal/numeric IPv4 form (the WHATWG
 * URL parser turns "0x7f.1" into an IPv4 address too: a host whose last
 * label is numeric is an IPv4 address or invalid). RFC 6797 §8.1: not noted. */
static bool is_ip(const char *h, size_t n)
{
	if (n && h[0] == '[')
		return true;
	size_t k = n;
	if (k && h[k - 1] == '.')
		k--;
	size_t s = k;
	while (s > 0 && h[s - 1] != '.')
		s--;
	if (s == k)
		return false;
	if (k - s >= 2 && h[s] == '0' && (h[s + 1] | 0x20) == 'x')
		return true;
	for (size_t i = s; i < k; i++)
		if (h[i] < '0' || h[i] > '9')
			return false;
	return true;
}

/* Lower-cases host into out without one trailing dot; returns its length or
 * -1 if it is too long or empty. */
static long canon(const char *h, size_t n, char out[HOST_MAX + 1])
{
	if (n && h[n - 1] == '.')
		n--;
	if (n == 0 || n > HOST_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		/* LDH labels (and '_', seen in practice); an IPv6 literal is
		 * refused by the caller. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '[' || c == ']' || c == ':'))
			return -1;
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	out[n] = 0;
	/* no empty label */
	if (out[0] == '.' || out[n - 1] == '.' || strstr(out, ".."))
		return -1;
	return (long)n;
}

/* Binary search; returns the index of host or where it would go. */
static size_t find(const struct detour_hsts *s, const char *host, bool *found)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->e[mid].host, host);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void forget(struct detour_hsts *s, const char *host)
{
	bool found;
	size_t i = find(s, host, &found);
	if (found) {
		memmove(s->e + i, s->e + i + 1, (s->n - i - 1) * sizeof(*s->e));
		s->n--;
	}
}

static detour_err put(struct detour_hsts *s, const char *host, time_t expiry, bool sub)
{
	bool found;
	size_t i = find(s, host, &found);
	if (!found) {
		if (BASE_GROW(s->e, s->cap, s->n + 1) != 0)
			return DETOUR_ENOMEM;
		memmove(s->e + i + 1, s->e + i, (s->n - i) * sizeof(*s->e));
		s->n++;
		strcpy(s->e[i].host, host);
	}
	s->e[i].expiry = expiry;
	s->e[i].sub = sub;
	return DETOUR_OK;
}

detour_err detour_hsts_add(struct detour_hsts *s, const char *host, size_t host_len, time_t expiry,
                           bool include_sub)
{
	char h[HOST_MAX + 1];
	if (canon(host, host_len, h) < 0 || is_ip(h, strlen(h)))
		return DETOUR_EINVAL;
	return put(s, h, expiry, include_sub);
}

enum detour_hsts_result detour_hsts_note(struct detour_hsts *s, const char *host, size_t host_len,
                                         bool secure, const char *value, size_t len, time_t now)
{
	int64_t age;
	bool sub;
	char h[HOST_MAX + 1];

	/* §8.1: "If an HTTP response is received over insecure transport, the
	 * UA MUST ignore any present STS header field(s)." */
	if (!secure)
		return DETOUR_HSTS_IGNORED_HTTP;
	if (detour_hsts_parse(value, len, &age, &sub) != DETOUR_OK)
		return DETOUR_HSTS_INVALID;
	/* §8.1: "if the substring matching the host production ... is an
	 * IP-literal or IPv4address, the UA MUST NOT note this host". */
	if (is_ip(host, host_len))
		return DETOUR_HSTS_IGNORED_IP;
	if (canon(host, host_len, h) < 0)
		return DETOUR_HSTS_INVALID;
	/* §8.1.1: max-age of zero: the UA MUST cease to regard the host as a
	 * known HSTS host; otherwise update (or add) the expiry and the
	 * includeSubDomains flag. */
	if (age == 0) {
		forget(s, h);
		return DETOUR_HSTS_FORGOT;
	}
	if (put(s, h, now + (time_t)age, sub) != DETOUR_OK)
		return DETOUR_HSTS_ENOMEM;
	return DETOUR_HSTS_NOTED;
}

bool detour_hsts_match(const struct detour_hsts *s, const char *host, size_t host_len, time_t now)
{
	char h[HOST_MAX + 1];
	long n = canon(host, host_len, h);
	if (n < 0 || is_ip(h, (size_t)n))
		return false;
	/* §8.2: a congruent match (the host itself), then each superdomain
	 * match whose entry asserts includeSubDomains. An entry for a
	 * superdomain without it does not stop the search upward (Chromium's
	 * TransportSecurityState::GetDynamicSTSState does the same). */
	for (const char *p = h; p;) {
		bool found;
		size_t i = find(s, p, &found);
		if (found && s->e[i].expiry > now && (p == h || s->e[i].sub))
			return true;
		p = strchr(p, '.');
		if (p)
			p++;
	}
	return false;
}

/* "YYYYMMDD HH:MM:SS" in UTC, as curl writes it (lib/hsts.c). */
static bool parse_date(const char *p, size_t n, time_t *out)
{
	char buf[32];
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = 0;
	if (memchr(p, 0, n))
		return false;
	if (!strcmp(buf, "unlimited")) {
		*out = DETOUR_HSTS_NEVER;
		return true;
	}
	int y, mo, d, hh, mm, ss, used = 0;
	if (sscanf(buf, "%4d%2d%2d %2d:%2d:%2d%n", &y, &mo, &d, &hh, &mm, &ss, &used) != 6 ||
	    (size_t)used != n || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 ||
	    ss > 60 || y < 1970)
		return false;
	/* As timegm did: a day past the month's end runs into the next month,
	 * second 60 into the next minute. */
	*out = (time_t)(civil_days_from(y, (unsigned)mo, (unsigned)d) * 86400 + hh * 3600 +
	                mm * 60 + ss);
	return true;
}

detour_err detour_hsts_load(struct detour_hsts *s, const char *name, const char *buf, size_t len,
                            time_t now, struct detour_diag *d)
{
	unsigned line = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t ls = i, e = nl ? (size_t)(nl - buf) : len;
		size_t a = i;
		line++;
		i = nl ? e + 1 : len;
		if (e > a && buf[e - 1] == '\r')
			e--;
		while (a < e && ows(buf[a]))
			a++;
		while (e > a && ows(buf[e - 1]))
			e--;
		if (a == e || buf[a] == '#')
			continue;
		size_t hs = a;
		while (a < e && !ows(buf[a]))
			a++;
		size_t he = a;
		while (a < e && ows(buf[a]))
			a++;
		bool sub = buf[hs] == '.';
		if (sub)
			hs++;
		if (he == hs) {
			detour_diag_set(d, name, line, (unsigned)(hs - ls) + 1,
			                "expected a host name");
			return DETOUR_EINVAL;
		}
		const char *dp = buf + a;
		size_t dl = e - a;
		if (dl >= 2 && dp[0] == '"' && dp[dl - 1] == '"') {
			dp++;
			dl -= 2;
		}
		time_t exp;
		if (!parse_date(dp, dl, &exp)) {
			detour_diag_set(
			        d, name, line, (unsigned)(a - ls) + 1,
			        "expected an expiry \"YYYYMMDD HH:MM:SS\" or \"unlimited\"");
			return DETOUR_EINVAL;
		}
		if (exp <= now)
			continue;
		detour_err err = detour_hsts_add(s, buf + hs, he - hs, exp, sub);
		if (err == DETOUR_ENOMEM)
			return err;
		if (err) {
			detour_diag_set(d, name, line, (unsigned)(hs - ls) + 1,
			                "not a host name HSTS can apply to");
			return err;
		}
	}
	return DETOUR_OK;
}

detour_err detour_hsts_save(const struct detour_hsts *s, time_t now, char **out, size_t *out_len)
{
	static const char head[] =
	        "# HSTS store written by detour check (the format of curl's --hsts file).\n"
	        "# [.]HOST \"YYYYMMDD HH:MM:SS\": expiry in UTC; a leading '.' means "
	        "includeSubDomains.\n";
	size_t cap = sizeof(head) + s->n * (HOST_MAX + 32);
	char *p = malloc(cap);
	if (!p)
		return DETOUR_ENOMEM;
	size_t o = (size_t)snprintf(p, cap, "%s", head);
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *e = &s->e[i];
		if (e->expiry <= now)
			continue;
		char date[32];
		if (e->expiry == DETOUR_HSTS_NEVER) {
			strcpy(date, "unlimited");
		} else {
			int64_t z = civil_floor_div((int64_t)e->expiry, 86400), y;
			int64_t sod = (int64_t)e->expiry - z * 86400;
			unsigned mo, d;
			civil_from_days(z, &y, &mo, &d);
			snprintf(date, sizeof(date), "%04lld%02u%02u %02u:%02u:%02u", (long long)y,
			         mo, d, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60),
			         (unsigned)(sod % 60));
		}
		o += (size_t)snprintf(p + o, cap - o, "%s%s \"%s\"\n", e->sub ? "." : "", e->host,
		                      date);
	}
	*out = p;
	*out_len = o;
	return DETOUR_OK;
}
