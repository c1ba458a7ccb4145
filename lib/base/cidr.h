/* detour base: client address ranges (see docs/internals/base.md).
 *
 * One type for if-ip= (rules), allow-ip= (maintenance, in detour.conf and
 * the admin API) and anything later. A range matches peers of its own
 * family as written:
 *   - an IPv4 range matches an IPv4 peer, and the same peer seen through an
 *     IPv6 socket as the IPv4-mapped address ::ffff:a.b.c.d (RFC 4291
 *     §2.5.5.2); not the IPv4-compatible ::a.b.c.d;
 *   - an IPv6 range matches IPv6 peers only: ::/0 is "every IPv6 client",
 *     not every client, and ::ffff:0:0/96 matches mapped peers of an IPv6
 *     socket but not an IPv4 peer (write 0.0.0.0/0 for those).
 *
 * Host bits policy: a range with bits set past its prefix ("10.0.0.1/8")
 * is refused (CIDR_EHOSTBITS), not masked: it is more likely a typo for
 * "10.0.0.1" or "10.0.0.0/8" than meant as written. */
#ifndef DETOUR_BASE_CIDR_H
#define DETOUR_BASE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

struct cidr {
	uint8_t addr[16]; /* the network, bits past the prefix zero; IPv4 as ::ffff:a.b.c.d */
	uint8_t prefix;   /* as written: 0..32 (IPv4) or 0..128 (IPv6) */
	uint8_t family;   /* 4 or 6: how it was written (an IPv4 /24 covers 96 + 24 bits of addr) */
};

enum {
	CIDR_OK = 0,
	CIDR_EINVAL = -1,   /* not an address, or a bad prefix */
	CIDR_EHOSTBITS = -2 /* bits set past the prefix */
};

/* Parses "10.0.0.0/8", "2001:db8::/32" or a single address ("192.0.2.1",
 * "::1": a full-length prefix) from s[0..n) into c: the address as
 * inet_pton reads it (no spaces, no zone), the prefix 1 to 3 digits, at most
 * 32 or 128. Returns CIDR_OK, CIDR_EINVAL or CIDR_EHOSTBITS. */
int cidr_parse(const char *s, size_t n, struct cidr *c);

/* The 16-byte form of the address of sa (AF_INET as ::ffff:a.b.c.d, or
 * AF_INET6), a key for hashing a client; false for NULL or another family.
 * It does not say which family the peer had: match with cidr_match. */
bool cidr_addr_of(const struct sockaddr *sa, uint8_t out[16]);

/* Whether the address of sa (AF_INET or AF_INET6) lies in c, under the
 * family rules above; false for NULL or another address family. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

/* "10.0.0.0/8", "2001:db8::/32": c as written back, always with a prefix. */
#define CIDR_TEXT_MAX 64
void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX]);

#endif
