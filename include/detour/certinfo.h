/* detour: the facts `detour check` shows about the certificate of an https
 * hop, from libcurl's CURLINFO_CERTINFO lines ("Subject:CN = x", "Issuer:...",
 * "Expire date:Dec  5 07:10:35 2026 GMT"), and the expiry rule. Pure: no
 * libcurl, no clock (the caller passes now). See docs/check.md. */
#ifndef DETOUR_CERTINFO_H
#define DETOUR_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A certificate whose notAfter is less than this many days away gets the
 * cert-expiring warning. */
#define DETOUR_CERT_SOON_DAYS 14

/* The leaf certificate of a TLS connection, as far as check reports it. */
struct detour_cert {
	char subject[512]; /* as libcurl prints it, e.g. "CN = www.example.com" */
	char issuer[512];
	char alt_names[512]; /* "DNS:a.example, IP Address:192.0.2.1", or "" */
	char expire[64];     /* the "Expire date" value as libcurl gave it */
	int64_t not_after;   /* Unix seconds, when has_expiry */
	bool has_expiry;     /* expire parsed */
};

/* Takes one "Name:value" line of a certificate's CURLINFO_CERTINFO list into
 * c: Subject, Issuer, Expire date and X509v3 Subject Alternative Name (names
 * compared without case); other lines are ignored. A value longer than its
 * field is cut (an Expire date is parsed as kept). Returns true when the line
 * was one of the four. */
bool detour_cert_take_line(struct detour_cert *c, const char *line, size_t n);

/* Parses s[0..n), a certificate time as libcurl writes "Expire date":
 *   OpenSSL builds (ASN1_TIME_print): "Dec  5 07:10:35 2026 GMT" (the day
 *     space-padded or not, an optional fraction of a second);
 *   its own X.509 decoder (GnuTLS, Schannel, ...): "2026-12-05 07:10:35 GMT".
 * The time is UTC ("GMT", "UTC" or "Z" may end it). Returns 0 and *out (Unix
 * seconds), or -1. */
int detour_cert_parse_time(const char *s, size_t n, int64_t *out);

/* Whole days from now until not_after, rounded down: 0 in the last day of
 * validity, negative once expired (-1 in the first day after). */
int64_t detour_cert_days_left(int64_t not_after, int64_t now);

/* How a valid certificate's expiry looks at now. */
enum detour_cert_expiry {
	DETOUR_CERT_OK = 0,  /* DETOUR_CERT_SOON_DAYS days or more left */
	DETOUR_CERT_SOON,    /* less than DETOUR_CERT_SOON_DAYS days left */
	DETOUR_CERT_EXPIRED, /* not_after is before now (RFC 5280: notAfter is
	                      * the last second of validity) */
};

/* The 14-day rule: OK, SOON (not_after - now < 14 days) or EXPIRED. */
enum detour_cert_expiry detour_cert_expiry(int64_t not_after, int64_t now);

#endif
