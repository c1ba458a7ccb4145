/* detour: srcset attributes. See include/detour/srcset.h.
 *
 * The algorithm is WHATWG HTML's "parse a srcset attribute"
 * (https://html.spec.whatwg.org/multipage/images.html#parse-a-srcset-attribute),
 * step by step: the splitting loop, the descriptor tokenizer and the
 * descriptor parser. Only the URLs matter here, but the descriptors are
 * checked all the same, since a candidate with a parse error in them is
 * not an image source and no browser requests it. */
#include <stdbool.h>
#include <string.h>

#include "detour/srcset.h"

/* HTML's ASCII whitespace: TAB, LF, FF, CR, SPACE. */
static bool ws(unsigned char ch)
{
	return ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r' || ch == ' ';
}

static bool digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

/* A "valid non-negative integer" (one or more ASCII digits) in d[0..n),
 * and whether its value is zero. */
static bool valid_uint(const char *d, size_t n, bool *zero)
{
	if (!n)
		return false;
	*zero = true;
	for (size_t i = 0; i < n; i++) {
		if (!digit((unsigned char)d[i]))
			return false;
		if (d[i] != '0')
			*zero = false;
	}
	return true;
}

/* A "valid floating-point number" in d[0..n): an optional "-", digits, a
 * "." and digits (either part may be missing, not both), then optionally
 * "e" or "E", an optional sign and digits. Sets *neg for a value below 0
 * (a "-" before a non-zero mantissa). */
static bool valid_float(const char *d, size_t n, bool *neg)
{
	size_t i = 0, a = 0, b = 0;
	bool minus = false, nonzero = false;
	if (i < n && d[i] == '-')
		minus = true, i++;
	for (; i < n && digit((unsigned char)d[i]); i++, a++)
		nonzero |= d[i] != '0';
	if (i < n && d[i] == '.') {
		i++;
		for (; i < n && digit((unsigned char)d[i]); i++, b++)
			nonzero |= d[i] != '0';
		if (!b)
			return false; /* "1." is not valid */
	}
	if (!a && !b)
		return false;
	if (i < n && (d[i] == 'e' || d[i] == 'E')) {
		i++;
		if (i < n && (d[i] == '-' || d[i] == '+'))
			i++;
		size_t e = 0;
		for (; i < n && digit((unsigned char)d[i]); i++, e++)
			;
		if (!e)
			return false;
	}
	*neg = minus && nonzero;
	return i == n;
}

struct desc {
	bool error, width, density, height;
};

/* The descriptor parser, for one descriptor d[0..n) (step 13). */
static void descriptor(struct desc *s, const char *d, size_t n)
{
	bool zero, neg;
	char last = d[n - 1];
	if (last == 'w' && valid_uint(d, n - 1, &zero)) {
		/* "If width and density are not both absent, then let error be
		 * yes"; a width of 0 is an error too. */
		if (s->width || s->density || zero)
			s->error = true;
		s->width = true;
	} else if (last == 'x' && valid_float(d, n - 1, &neg)) {
		if (s->width || s->density || s->height || neg)
			s->error = true;
		s->density = true;
	} else if (last == 'h' && valid_uint(d, n - 1, &zero)) {
		/* The "future-compat-h" descriptor. */
		if (s->height || s->density || zero)
			s->error = true;
		s->height = true;
	} else {
		s->error = true;
	}
}

size_t detour_srcset_parse(const char *v, size_t len, detour_srcset_fn fn, void *ud)
{
	size_t pos = 0, count = 0;
	for (;;) {
		/* Splitting loop: skip whitespace and commas. */
		while (pos < len && (ws((unsigned char)v[pos]) || v[pos] == ','))
			pos++;
		if (pos >= len)
			return count;
		/* The URL: everything up to whitespace. */
		size_t u = pos;
		while (pos < len && !ws((unsigned char)v[pos]))
			pos++;
		size_t ul = pos - u;
		struct desc s = {0};
		if (v[u + ul - 1] == ',') {
			/* "If url ends with U+002C (,)": remove all trailing
			 * commas, and there are no descriptors. */
			while (ul && v[u + ul - 1] == ',')
				ul--;
		} else {
			/* The descriptor tokenizer. */
			enum { IN_DESC, IN_PARENS, AFTER_DESC } st = IN_DESC;
			while (pos < len && ws((unsigned char)v[pos]))
				pos++;
			size_t d = pos, dn = 0; /* the current descriptor */
			for (;; pos++) {
				if (pos >= len) {
					if (dn)
						descriptor(&s, v + d, dn);
					break;
				}
				unsigned char c = (unsigned char)v[pos];
				if (st == IN_DESC) {
					if (ws(c)) {
						if (dn)
							descriptor(&s, v + d, dn);
						dn = 0;
						st = AFTER_DESC;
					} else if (c == ',') {
						pos++;
						if (dn)
							descriptor(&s, v + d, dn);
						break;
					} else {
						if (!dn)
							d = pos;
						dn++;
						if (c == '(')
							st = IN_PARENS;
					}
				} else if (st == IN_PARENS) {
					/* Whitespace and commas inside parentheses
					 * belong to the descriptor. */
					dn++;
					if (c == ')')
						st = IN_DESC;
				} else if (!ws(c)) {
					/* After a descriptor: anything else starts
					 * the next one ("set position to the
					 * previous character"). */
					st = IN_DESC;
					pos--;
				}
			}
		}
		/* "If future-compat-h is not absent and width is absent, let
		 * error be yes." */
		if (s.height && !s.width)
			s.error = true;
		if (!s.error && ul) {
			fn(ud, v + u, ul);
			count++;
		}
	}
}
