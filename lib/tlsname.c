/* detour: server names and ALPN in a ClientHello, certificate name
 * matching; see detour/tlsname.h. */
#include <string.h>

#include "base/ascii.h"
#include "detour/tlsname.h"

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A DNS name as RFC 6066 §3 allows in HostName ("the hostname is
 * represented as a byte string using ASCII encoding without a trailing
 * dot"); we are lenient with one trailing dot and strip it. */
static int copy_host(const uint8_t *p, size_t n, char *out)
{
	size_t label = 0;

	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n > DETOUR_TLSNAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (ascii_is_alnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = ascii_lower((char)c);
	}
	if (label == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int detour_tls_sni_parse(const uint8_t *ext, size_t len, char *out)
{
	size_t list, pos = 2;
	int found = 0;

	if (len < 2)
		return -1;
	list = get16(ext);
	if (list + 2 != len || list == 0)
		return -1;
	while (pos < len) {
		unsigned type, n;
		if (len - pos < 3)
			return -1;
		type = ext[pos];
		n = get16(ext + pos + 1);
		pos += 3;
		if (n > len - pos)
			return -1;
		if (type == 0) {
			/* RFC 6066 §3: at most one name of a type. */
			if (found)
				return -1;
			found = copy_host(ext + pos, n, out);
			if (found < 0)
				return -1;
		}
		pos += n;
	}
	return found;
}

int detour_tls_alpn_parse(const uint8_t *ext, size_t len, unsigned *mask)
{
	size_t list, pos = 2;

	*mask = 0;
	if (len < 2)
		return -1;
	list = get16(ext);
	if (list + 2 != len || list == 0)
		return -1;
	while (pos < len) {
		size_t n = ext[pos++];
		const char *p = (const char *)ext + pos;
		if (n == 0 || n > len - pos)
			return -1;
		if (n == 8 && !memcmp(p, "http/1.1", 8))
			*mask |= DETOUR_ALPN_HTTP11;
		else if (n == 2 && !memcmp(p, "h2", 2))
			*mask |= DETOUR_ALPN_H2;
		else if (n == 10 && !memcmp(p, "acme-tls/1", 10))
			*mask |= DETOUR_ALPN_ACME_TLS;
		pos += n;
	}
	return 0;
}

int detour_tls_name_match_kind(const char *pattern, size_t plen, const char *host, size_t hlen)
{
	const char *dot, *hdot;

	if (plen > 0 && pattern[plen - 1] == '.')
		plen--;
	if (plen == 0 || hlen == 0)
		return 0;
	if (pattern[0] != '*') {
		/* A "*" elsewhere (or a partial-label one) names nothing. */
		if (memchr(pattern, '*', plen))
			return 0;
		return ascii_eq_ci_n(pattern, plen, host, hlen) ? 2 : 0;
	}
	/* "*." then at least two labels: "*.example.com". */
	if (plen < 2 || pattern[1] != '.')
		return 0;
	dot = memchr(pattern + 2, '.', plen - 2);
	if (dot == NULL || dot == pattern + 2 || dot == pattern + plen - 1 ||
	    memchr(pattern + 1, '*', plen - 1))
		return 0;
	/* The wildcard stands for the host's whole first label, non-empty. */
	hdot = memchr(host, '.', hlen);
	if (hdot == NULL || hdot == host)
		return 0;
	return ascii_eq_ci_n(pattern + 1, plen - 1, hdot, hlen - (size_t)(hdot - host)) ? 1 : 0;
}

bool detour_tls_name_match(const char *pattern, size_t plen, const char *host, size_t hlen)
{
	return detour_tls_name_match_kind(pattern, plen, host, hlen) != 0;
}
