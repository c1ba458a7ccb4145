/* detour: the pure parts of TLS server name handling (issue 9): reading the
 * server_name (RFC 6066 §3) and application_layer_protocol_negotiation
 * (RFC 7301 §3.1) extensions of a ClientHello, and matching a requested host
 * name against a certificate's DNS names with the wildcard rules of RFC 6125
 * §6.4. No OpenSSL here: src/server/tls.c hands over the extension bytes and
 * the names it read from the certificate. */
#ifndef DETOUR_TLSNAME_H
#define DETOUR_TLSNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest DNS name (RFC 1035 §2.3.4: 255 octets on the wire, 253 as
 * text without the trailing dot). */
#define DETOUR_TLSNAME_MAX 253

/* The host_name of a server_name extension's data (ext, len):
 *   struct { NameType name_type; select (name_type) { case host_name: HostName; } name; }
 * ServerName; struct { ServerName server_name_list<1..2^16-1> } ServerNameList; Copies it in lower
 * case, without a trailing dot, NUL-terminated, into out (DETOUR_TLSNAME_MAX + 1 bytes). Returns
 * its length; 0 when the list names no host_name; -1 when the extension is malformed or the name is
 * not a DNS name (LDH labels of 1 to 63 bytes, RFC 6066 §3: no IP literal check here, digits are
 * LDH; an empty label, a NUL or any other byte is refused). */
int detour_tls_sni_parse(const uint8_t *ext, size_t len, char *out);

/* Protocols of an ALPN extension a server may care about. */
#define DETOUR_ALPN_HTTP11   0x1u /* "http/1.1" */
#define DETOUR_ALPN_H2       0x2u /* "h2" */
#define DETOUR_ALPN_ACME_TLS 0x4u /* "acme-tls/1", RFC 8737 */

/* The protocols offered by an ALPN extension's data:
 *   opaque ProtocolName<1..2^8-1>;
 *   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
 * Sets *mask to the DETOUR_ALPN_* bits of the names listed (others are
 * ignored). Returns 0, or -1 when malformed (an empty name or list, lengths
 * that do not add up). */
int detour_tls_alpn_parse(const uint8_t *ext, size_t len, unsigned *mask);

/* Whether host (lower case, no trailing dot) is named by the certificate DNS
 * name pattern (any case; one trailing dot ignored). RFC 6125 §6.4.3: a
 * wildcard is only the whole left-most label ("*.example.com"), matches
 * exactly one non-empty label, and needs at least two labels after it
 * ("*.com" and "*" match nothing); a "*" anywhere else, or a partial-label
 * wildcard ("w*.example.com"), matches nothing. */
bool detour_tls_name_match(const char *pattern, size_t plen, const char *host, size_t hlen);

/* 2 for an exact match, 1 for a wildcard match, 0 for none: a caller
 * preferring an exact name over a wildcard across certificates. */
int detour_tls_name_match_kind(const char *pattern, size_t plen, const char *host, size_t hlen);

#endif
