/* detour: the PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy's
 * doc/proxy-protocol.txt defines them: the header a load balancer sends
 * first on a connection, before any byte of the client's, to say whose
 * connection it relays.
 *
 * The parser never allocates and keeps no state: feed it every byte of the
 * connection received so far, again after more arrive (like http1.h). Until
 * it says DETOUR_OK or DETOUR_EINVAL, every byte fed belongs to the header,
 * so a caller may consume them from the socket without reading into what
 * follows (the TLS handshake or the first request). See
 * docs/internals/proxy.md. */
#ifndef DETOUR_PROXYPROTO_H
#define DETOUR_PROXYPROTO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "detour/common.h"

/* The longest version 1 line, CRLF included (the spec's worst case). */
#define DETOUR_PROXY_V1_MAX 107
/* The fixed part of a version 2 header; its length field says the rest. */
#define DETOUR_PROXY_V2_HEAD 16

union detour_proxy_addr {
	struct sockaddr sa; /* sa_family AF_INET or AF_INET6; port in network order */
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct detour_proxy {
	/* DETOUR_OK: the header's length in bytes. DETOUR_INCOMPLETE: the
	 * whole header's length once it is known (a version 2 header after
	 * its 16th byte), else 0. */
	size_t len;
	int version; /* 1 or 2; 0 while not known yet */
	/* src (the client) and dst (the address it connected to) are set:
	 * false for version 2's LOCAL command (the proxy's own health check),
	 * version 1's UNKNOWN, and version 2's AF_UNSPEC and AF_UNIX families.
	 * The connection's own addresses stand then. */
	bool has_addr;
	union detour_proxy_addr src, dst;
	/* Version 2: a PP2_TYPE_SSL TLV with PP2_CLIENT_SSL: the client's
	 * connection to the proxy used TLS. Every other TLV is skipped. */
	bool ssl;
};

/* Parses the PROXY header at the start of buf[0..len). Returns
 *   DETOUR_OK          a whole valid header; *p filled, p->len its bytes
 *                      (what follows them is the client's);
 *   DETOUR_INCOMPLETE  buf is a valid beginning of a header: feed more bytes
 *                      (p->len: the total once known, else 0);
 *   DETOUR_EINVAL      not a PROXY header, or a malformed one: the
 *                      connection must be closed. Decided at the byte that
 *                      breaks it where the format allows: a first byte that
 *                      is neither 'P' nor CR, a byte that departs from the
 *                      signature or the "PROXY " prefix, a control byte in a
 *                      version 1 line, no CRLF in its first 107 bytes, a
 *                      version or command other than 2 and LOCAL/PROXY, an
 *                      unassigned family or transport, an address block
 *                      shorter than its family needs, a TLV running past the
 *                      header.
 * A prefix of an input gives DETOUR_INCOMPLETE or the answer of the whole
 * input. Never reads past buf[len-1]. buf is borrowed; *p is caller-owned
 * and meaningful after DETOUR_OK (p->len also after DETOUR_INCOMPLETE). */
detour_err detour_proxy_parse(const void *buf, size_t len, struct detour_proxy *p);

#endif
