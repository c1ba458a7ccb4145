/* detour: the PROXY protocol v1 and v2, see proxyproto.h. Section numbers
 * are those of HAProxy's doc/proxy-protocol.txt. */
#include <arpa/inet.h>
#include <string.h>

#include "detour/proxyproto.h"

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_prefix[] = "PROXY ";

#define PP2_TYPE_SSL   0x20
#define PP2_CLIENT_SSL 0x01

/* One address of a version 1 line: s[0..n), of family af, into a. §2.1:
 * IPv4 as exactly four decimal numbers without heading zeroes (glibc's
 * inet_pton refuses those, and anything but four parts), IPv6 in its text
 * form. */
static bool v1_addr(const char *s, size_t n, int af, union detour_proxy_addr *a)
{
	char tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(a, 0, sizeof(*a));
	if (af == AF_INET) {
		a->in.sin_family = AF_INET;
		return inet_pton(AF_INET, tmp, &a->in.sin_addr) == 1;
	}
	a->in6.sin6_family = AF_INET6;
	return inet_pton(AF_INET6, tmp, &a->in6.sin6_addr) == 1;
}

/* A port of a version 1 line: 0..65535 in decimal, no heading zero (§2.1). */
static bool v1_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = htons((uint16_t)v);
	return true;
}

/* The next field of a version 1 line: s[*at..) up to a single space or the
 * end; *at moves past the space. */
static bool v1_field(const char *s, size_t n, size_t *at, const char **f, size_t *flen, bool last)
{
	size_t i = *at;

	*f = s + i;
	while (i < n && s[i] != ' ')
		i++;
	*flen = (size_t)(s + i - *f);
	if (last) {
		*at = i;
		return i == n;
	}
	if (i == n)
		return false;
	*at = i + 1; /* "exactly one space": an empty next field fails */
	return true;
}

/* The line of a version 1 header without its CRLF: s[0..n). */
static detour_err v1_line(const char *s, size_t n, struct detour_proxy *p)
{
	const char *f;
	size_t flen, at = sizeof(v1_prefix) - 1;
	int af;
	uint16_t sport, dport;

	/* "UNKNOWN": the receiver must ignore anything before the CRLF and
	 * use the connection's own addresses. */
	if (n - at >= 7 && !memcmp(s + at, "UNKNOWN", 7) && (n - at == 7 || s[at + 7] == ' ')) {
		p->has_addr = false;
		return DETOUR_OK;
	}
	if (n - at < 5 || memcmp(s + at, "TCP", 3) || (s[at + 3] != '4' && s[at + 3] != '6') ||
	    s[at + 4] != ' ')
		return DETOUR_EINVAL;
	af = s[at + 3] == '4' ? AF_INET : AF_INET6;
	at += 5;
	if (!v1_field(s, n, &at, &f, &flen, false) || !v1_addr(f, flen, af, &p->src) ||
	    !v1_field(s, n, &at, &f, &flen, false) || !v1_addr(f, flen, af, &p->dst) ||
	    !v1_field(s, n, &at, &f, &flen, false) || !v1_port(f, flen, &sport) ||
	    !v1_field(s, n, &at, &f, &flen, true) || !v1_port(f, flen, &dport))
		return DETOUR_EINVAL;
	if (af == AF_INET) {
		p->src.in.sin_port = sport;
		p->dst.in.sin_port = dport;
	} else {
		p->src.in6.sin6_port = sport;
		p->dst.in6.sin6_port = dport;
	}
	p->has_addr = true;
	return DETOUR_OK;
}

/* Version 1 (§2.1): "PROXY " ... CRLF within 107 bytes, US-ASCII. */
static detour_err v1(const char *s, size_t len, struct detour_proxy *p)
{
	size_t n = len < DETOUR_PROXY_V1_MAX ? len : DETOUR_PROXY_V1_MAX;
	size_t pre = sizeof(v1_prefix) - 1;

	if (memcmp(s, v1_prefix, n < pre ? n : pre))
		return DETOUR_EINVAL;
	p->version = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n') {
			/* "must not tolerate a single CR or LF" */
			if (i < pre + 1 || s[i - 1] != '\r')
				return DETOUR_EINVAL;
			p->len = i + 1;
			return v1_line(s, i - 1, p);
		}
		if (ch == '\r' && i + 1 < n && s[i + 1] != '\n')
			return DETOUR_EINVAL;
		if ((ch < 0x20 && ch != '\r') || ch > 0x7e)
			return DETOUR_EINVAL;
	}
	/* "If the CRLF sequence is not found in the first 107 characters, the
	 * receiver should declare the line invalid." */
	if (len >= DETOUR_PROXY_V1_MAX)
		return DETOUR_EINVAL;
	p->len = 0;
	return DETOUR_INCOMPLETE;
}

static unsigned be16(const unsigned char *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

/* The TLVs of a version 2 header, b[0..n) (§2.2): each a type, a 16-bit
 * length and that many bytes, none past the header. Only PP2_TYPE_SSL's
 * client bits are read. */
static detour_err v2_tlvs(const unsigned char *b, size_t n, struct detour_proxy *p)
{
	size_t at = 0;

	while (at < n) {
		size_t l;
		if (n - at < 3)
			return DETOUR_EINVAL;
		l = be16(b + at + 1);
		if (l > n - at - 3)
			return DETOUR_EINVAL;
		/* struct pp2_tlv_ssl { uint8_t client; uint32_t verify; ... } */
		if (b[at] == PP2_TYPE_SSL && l >= 5 && (b[at + 3] & PP2_CLIENT_SSL))
			p->ssl = true;
		at += 3 + l;
	}
	return DETOUR_OK;
}

/* Version 2 (§2.2): the 12-byte signature, version and command, family and
 * transport, a 16-bit length, then that many bytes. */
static detour_err v2(const unsigned char *b, size_t len, struct detour_proxy *p)
{
	size_t total, need;
	unsigned cmd, fam, proto;

	if (memcmp(b, v2_sig, len < sizeof(v2_sig) ? len : sizeof(v2_sig)))
		return DETOUR_EINVAL;
	p->version = 2;
	/* "the receiver must only accept" version 2; commands other than
	 * LOCAL (0) and PROXY (1) "must" drop the connection. */
	if (len > 12 && ((b[12] >> 4) != 2 || (b[12] & 0x0F) > 1))
		return DETOUR_EINVAL;
	/* Other families than 0..3 and transports than 0..2 "must be
	 * rejected as invalid by receivers". */
	if (len > 13 && ((b[13] >> 4) > 3 || (b[13] & 0x0F) > 2))
		return DETOUR_EINVAL;
	if (len < DETOUR_PROXY_V2_HEAD) {
		p->len = 0;
		return DETOUR_INCOMPLETE;
	}
	total = DETOUR_PROXY_V2_HEAD + be16(b + 14);
	p->len = total;
	cmd = b[12] & 0x0F;
	fam = b[13] >> 4;
	proto = b[13] & 0x0F;
	need = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	/* An address block too short for its family is malformed, whatever
	 * the command (the receiver must not guess where the TLVs start). */
	if (cmd == 1 && proto != 0 && total - DETOUR_PROXY_V2_HEAD < need)
		return DETOUR_EINVAL;
	if (len < total)
		return DETOUR_INCOMPLETE;
	/* LOCAL: "use the real connection endpoints and discard the protocol
	 * block including the family". AF_UNSPEC, or an UNSPEC transport:
	 * "should ignore address information". AF_UNIX: nothing detour can
	 * match an address against. */
	if (cmd == 0 || proto == 0 || fam == 0 || fam == 3) {
		p->has_addr = false;
		return DETOUR_OK;
	}
	const unsigned char *a = b + DETOUR_PROXY_V2_HEAD;
	memset(&p->src, 0, sizeof(p->src));
	memset(&p->dst, 0, sizeof(p->dst));
	if (fam == 1) {
		p->src.in.sin_family = p->dst.in.sin_family = AF_INET;
		memcpy(&p->src.in.sin_addr, a, 4);
		memcpy(&p->dst.in.sin_addr, a + 4, 4);
		memcpy(&p->src.in.sin_port, a + 8, 2);
		memcpy(&p->dst.in.sin_port, a + 10, 2);
	} else {
		p->src.in6.sin6_family = p->dst.in6.sin6_family = AF_INET6;
		memcpy(&p->src.in6.sin6_addr, a, 16);
		memcpy(&p->dst.in6.sin6_addr, a + 16, 16);
		memcpy(&p->src.in6.sin6_port, a + 32, 2);
		memcpy(&p->dst.in6.sin6_port, a + 34, 2);
	}
	p->has_addr = true;
	return v2_tlvs(a + need, total - DETOUR_PROXY_V2_HEAD - need, p);
}

detour_err detour_proxy_parse(const void *buf, size_t len, struct detour_proxy *p)
{
	const unsigned char *b = buf;

	p->len = 0;
	p->version = 0;
	p->has_addr = false;
	p->ssl = false;
	if (len == 0)
		return DETOUR_INCOMPLETE;
	/* §2.2: a receiver that supports both tells them by the first bytes;
	 * "otherwise the protocol is not covered by this specification and
	 * the connection must be dropped". */
	if (b[0] == 'P')
		return v1(buf, len, p);
	if (b[0] == 0x0D)
		return v2(b, len, p);
	return DETOUR_EINVAL;
}
