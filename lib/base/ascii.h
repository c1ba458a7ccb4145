/* detour base: ASCII character helpers (see docs/internals/base.md).
 *
 * Locale-free replacements for <ctype.h> (whose results depend on the
 * locale and whose argument must be an unsigned char or EOF): HTTP, URLs,
 * cookies and the config are ASCII protocols. */
#ifndef DETOUR_BASE_ASCII_H
#define DETOUR_BASE_ASCII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Class bits of every byte value (ascii.c): */
#define ASCII_DIGIT 0x01 /* 0-9 */
#define ASCII_ALPHA 0x02 /* A-Z a-z */
#define ASCII_HEX   0x04 /* 0-9 A-F a-f */
#define ASCII_TCHAR 0x08 /* RFC 9110 §5.6.2 tchar */
extern const uint8_t ascii_class[256];

static inline bool ascii_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool ascii_is_alpha(unsigned char c)
{
	return (ascii_class[c] & ASCII_ALPHA) != 0;
}

static inline bool ascii_is_alnum(unsigned char c)
{
	return (ascii_class[c] & (ASCII_ALPHA | ASCII_DIGIT)) != 0;
}

/* RFC 9110 §5.6.2:
 *   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static inline bool ascii_is_tchar(unsigned char c)
{
	return (ascii_class[c] & ASCII_TCHAR) != 0;
}

/* c in lower case if it is an ASCII upper-case letter, else c. */
static inline char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* The value of a hex digit (either case), or -1. */
static inline int ascii_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether a[0..an) and b[0..bn) are equal ignoring ASCII case. */
static inline bool ascii_eq_ci_n(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/* Whether a[0..n) equals the NUL-terminated w ignoring ASCII case. */
static inline bool ascii_eq_ci(const char *a, size_t n, const char *w)
{
	return ascii_eq_ci_n(a, n, w, strlen(w));
}

/* Whether a[0..n) starts with the NUL-terminated w ignoring ASCII case. */
static inline bool ascii_prefix_ci(const char *a, size_t n, const char *w)
{
	size_t k = strlen(w);
	return n >= k && ascii_eq_ci_n(a, k, w, k);
}

#endif
