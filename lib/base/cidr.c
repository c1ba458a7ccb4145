/* detour base: client address ranges (see cidr.h). */
#include "base/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int cidr_parse(const char *s, size_t n, struct cidr *c)
{
	char buf[64];
	const char *slash = memchr(s, '/', n);
	size_t al = slash ? (size_t)(slash - s) : n;
	unsigned bits = 0, maxb;

	memset(c, 0, sizeof(*c));
	if (al == 0 || al >= sizeof(buf))
		return CIDR_EINVAL;
	memcpy(buf, s, al);
	buf[al] = '\0';
	if (memchr(buf, ':', al)) {
		if (inet_pton(AF_INET6, buf, c->addr) != 1)
			return CIDR_EINVAL;
		c->family = 6;
		maxb = 128;
	} else {
		c->addr[10] = c->addr[11] = 0xff;
		if (inet_pton(AF_INET, buf, c->addr + 12) != 1)
			return CIDR_EINVAL;
		c->family = 4;
		maxb = 32;
	}
	if (slash) {
		size_t i = al + 1;
		if (i == n || n - i > 3)
			return CIDR_EINVAL;
		for (; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return CIDR_EINVAL;
			bits = bits * 10 + (unsigned)(s[i] - '0');
		}
		if (bits > maxb)
			return CIDR_EINVAL;
	} else {
		bits = maxb;
	}
	c->prefix = (uint8_t)bits;
	for (unsigned b = 128 - maxb + bits; b < 128; b++)
		if (c->addr[b / 8] & (0x80u >> (b % 8)))
			return CIDR_EHOSTBITS;
	return CIDR_OK;
}

bool cidr_addr_of(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t a[16];

	if (!cidr_addr_of(sa, a))
		return false;
	if (c->family == 6 ? sa->sa_family != AF_INET6 : memcmp(a, mapped, 12) != 0)
		return false;
	unsigned bits = c->family == 4 ? 96u + c->prefix : c->prefix;
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(c->addr, a, full) != 0)
		return false;
	return rest == 0 || (a[full] & (uint8_t)(0xff00u >> rest)) == c->addr[full];
}

void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX])
{
	char a[INET6_ADDRSTRLEN];

	if (c->family == 4)
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
	snprintf(out, CIDR_TEXT_MAX, "%s/%u", a, c->prefix);
}
