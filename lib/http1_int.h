/* detour: the private part of lib/http1.c that lib/http1_body.c shares: the
 * byte classes of RFC 9110 and RFC 3986 as one table lookup. */
#ifndef DETOUR_HTTP1_INT_H
#define DETOUR_HTTP1_INT_H

#include <stdint.h>

enum {
	CC_TCHAR = 1,    /* token, RFC 9110 §5.6.2 */
	CC_TARGET = 2,   /* request-target byte: VCHAR 0x21-0x7E only */
	CC_VALUE = 4,    /* field-value byte: HTAB SP VCHAR obs-text, RFC 9110 §5.5 */
	CC_HEX = 8,      /* HEXDIG */
	CC_REGNAME = 16, /* unreserved / sub-delims, RFC 3986 §3.2.2 */
	CC_QDTEXT = 32,  /* qdtext, RFC 9110 §5.6.4 */
	CC_DIGIT = 64,   /* DIGIT */
	CC_OWS = 128,    /* SP HTAB */
};

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define IS_HEX(c)   (IS_DIGIT(c) || ((c) >= 'A' && (c) <= 'F') || ((c) >= 'a' && (c) <= 'f'))
#define IS_VCHAR(c) ((c) >= 0x21 && (c) <= 0x7E)
#define IS_TCHAR(c)                                                                                \
	(IS_DIGIT(c) || IS_ALPHA(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||     \
	 (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||      \
	 (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_UNRESERVED(c)                                                                           \
	(IS_DIGIT(c) || IS_ALPHA(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~')
#define IS_SUBDELIM(c)                                                                             \
	((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||      \
	 (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')
#define IS_OWS(c)   ((c) == ' ' || (c) == '\t')
#define IS_VALUE(c) (IS_OWS(c) || IS_VCHAR(c) || (c) >= 0x80)
#define IS_QDTEXT(c)                                                                               \
	(IS_OWS(c) || (c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5B) ||                               \
	 ((c) >= 0x5D && (c) <= 0x7E) || (c) >= 0x80)

typedef const unsigned char *cp;

/* Returns err from a parse function with *status set to st. */
#define REFUSE(err, st)                                                                            \
	do {                                                                                       \
		*status = (st);                                                                    \
		return (err);                                                                      \
	} while (0)

/* The CC_* classes of every byte (lib/http1.c). */
extern const uint8_t http1_cc[256];

#endif
