/* detour: declarative refresh. The steps below are numbered as in the HTML
 * Living Standard, section "shared declarative refresh steps" (used for both
 * <meta http-equiv="refresh" content="..."> and the `Refresh` header). */
#include <string.h>

#include "detour/refresh.h"

#include "base/ascii.h"

/* ASCII whitespace: TAB, LF, FF, CR, SPACE (Infra standard). */
static inline bool infra_ws(unsigned char c)
{
	return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

detour_err detour_refresh_parse(const char *v, size_t len, struct detour_refresh *r)
{
	size_t i = 0;
	uint64_t t = 0;

	r->delay = 0;
	r->url.p = NULL;
	r->url.len = 0;
	/* 3. Skip ASCII whitespace. */
	while (i < len && infra_ws((unsigned char)v[i]))
		i++;
	/* 5. Collect a sequence of ASCII digits: timeString. */
	size_t ts = i;
	while (i < len && ascii_is_digit((unsigned char)v[i])) {
		if (t <= UINT32_MAX)
			t = t * 10 + (uint64_t)(v[i] - '0');
		i++;
	}
	/* 6. If timeString is empty and the next code point is not '.', return. */
	if (i == ts && (i >= len || v[i] != '.'))
		return DETOUR_EINVAL;
	/* 7. time = timeString parsed as a non-negative integer. */
	r->delay = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	/* 8. Collect (and ignore) ASCII digits and '.'. */
	while (i < len && (ascii_is_digit((unsigned char)v[i]) || v[i] == '.'))
		i++;
	/* 10. If not past the end: the next code point must be ';', ',' or ASCII
	 * whitespace, else return; skip whitespace, one ';' or ',', whitespace. */
	if (i < len) {
		unsigned char c = (unsigned char)v[i];
		if (c != ';' && c != ',' && !infra_ws(c))
			return DETOUR_EINVAL;
		while (i < len && infra_ws((unsigned char)v[i]))
			i++;
		if (i < len && (v[i] == ';' || v[i] == ','))
			i++;
		while (i < len && infra_ws((unsigned char)v[i]))
			i++;
	}
	/* 11. If not past the end, the rest holds the URL. */
	if (i < len) {
		/* 11.1 urlString = the rest of the input. */
		size_t u = i;
		size_t j = i;
		/* 11.2-11.7: an optional "url" (any case), whitespace, '=',
		 * whitespace. A "u" not followed by "rl" leaves urlString as
		 * the whole rest ("parse"). */
		if (ascii_lower(v[j]) == 'u') {
			j++;
			if (j < len && ascii_lower(v[j]) == 'r') {
				j++;
				if (j < len && ascii_lower(v[j]) == 'l') {
					j++;
					while (j < len && infra_ws((unsigned char)v[j]))
						j++;
					if (j < len && v[j] == '=') {
						j++;
						while (j < len && infra_ws((unsigned char)v[j]))
							j++;
						goto skip_quotes;
					}
				}
			}
			goto parse;
		}
	skip_quotes:
		/* 11.8 Skip quotes: an opening ' or " is remembered. */
		{
			char quote = 0;
			if (j < len && (v[j] == '\'' || v[j] == '"'))
				quote = v[j++];
			/* 11.9 urlString = the rest from here. */
			u = j;
			size_t end = len;
			/* 11.10 Truncate at the first matching quote. */
			if (quote) {
				const char *q = memchr(v + j, quote, len - j);
				if (q)
					end = (size_t)(q - v);
			}
			r->url.p = v + u;
			r->url.len = end - u;
			return DETOUR_OK;
		}
	parse:
		/* 11.11 Parse: urlString is encoding-parsed by the caller. */
		r->url.p = v + u;
		r->url.len = len - u;
	}
	return DETOUR_OK;
}

/* Whether the byte ending a tag name has been reached. */
static inline bool tag_end(unsigned char c)
{
	return infra_ws(c) || c == '/' || c == '>';
}

/* Finds the end tag "</name" (ASCII case-insensitive, followed by a tag end
 * byte) from i; returns the index after it, or len. */
static size_t skip_to_end_tag(const char *h, size_t len, size_t i, const char *name)
{
	size_t k = strlen(name);
	while (i < len) {
		const char *lt = memchr(h + i, '<', len - i);
		if (!lt)
			return len;
		i = (size_t)(lt - h);
		if (i + 2 + k <= len && h[i + 1] == '/' &&
		    ascii_prefix_ci(h + i + 2, len - i - 2, name) &&
		    (i + 2 + k == len || tag_end((unsigned char)h[i + 2 + k])))
			return i + 2 + k;
		i++;
	}
	return len;
}

/* Decodes character references in v[0..n) into out. The named references
 * known here are the ones that occur in URLs in practice; any other '&' is
 * copied as it is (as the tokenizer does for an unknown name). Returns the
 * length, or -1 if out is too small. */
static long decode_refs(const char *v, size_t n, char *out, size_t cap)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {
	        {"amp;", "&"},         {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"},
	        {"nbsp;", "\xc2\xa0"}, {"amp", "&"}, {"lt", "<"},  {"gt", ">"},     {"quot", "\""},
	};
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		char tmp[4];
		const char *rep = NULL;
		size_t rlen = 0, used = 0;
		if (v[i] == '&' && i + 1 < n && v[i + 1] == '#') {
			size_t j = i + 2;
			int hex = 0;
			uint32_t cp = 0;
			if (j < n && (v[j] == 'x' || v[j] == 'X')) {
				hex = 1;
				j++;
			}
			size_t ds = j;
			for (; j < n; j++) {
				unsigned char c = (unsigned char)v[j];
				int d = -1;
				if (ascii_is_digit(c))
					d = c - '0';
				else if (hex && ascii_hexval(c) >= 0)
					d = ascii_hexval(c);
				if (d < 0)
					break;
				if (cp <= 0x10FFFF)
					cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
			}
			if (j > ds) {
				if (j < n && v[j] == ';')
					j++;
				/* Numeric character reference end state: 0, surrogates
				 * and values over U+10FFFF become U+FFFD. */
				if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
					cp = 0xFFFD;
				if (cp < 0x80) {
					tmp[0] = (char)cp;
					rlen = 1;
				} else if (cp < 0x800) {
					tmp[0] = (char)(0xC0 | (cp >> 6));
					tmp[1] = (char)(0x80 | (cp & 0x3F));
					rlen = 2;
				} else if (cp < 0x10000) {
					tmp[0] = (char)(0xE0 | (cp >> 12));
					tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
					tmp[2] = (char)(0x80 | (cp & 0x3F));
					rlen = 3;
				} else {
					tmp[0] = (char)(0xF0 | (cp >> 18));
					tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
					tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
					tmp[3] = (char)(0x80 | (cp & 0x3F));
					rlen = 4;
				}
				rep = tmp;
				used = j - i;
			}
		} else if (v[i] == '&') {
			for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
				size_t nl = strlen(named[k].name);
				if (n - i - 1 >= nl && !memcmp(v + i + 1, named[k].name, nl)) {
					/* In an attribute value, a reference without ';'
					 * followed by '=' or an alphanumeric is not
					 * decoded (HTML "named character reference
					 * state", historical reasons). */
					if (named[k].name[nl - 1] != ';' && i + 1 + nl < n) {
						unsigned char nx = (unsigned char)v[i + 1 + nl];
						if (nx == '=' || ascii_is_digit(nx) ||
						    ascii_is_alpha(nx))
							break;
					}
					rep = named[k].text;
					rlen = strlen(rep);
					used = 1 + nl;
					break;
				}
			}
		}
		if (!rep) {
			rep = v + i;
			rlen = 1;
			used = 1;
		}
		if (cap - o < rlen)
			return -1;
		memcpy(out + o, rep, rlen);
		o += rlen;
		i += used;
	}
	return (long)o;
}

/* Attribute of interest while reading a meta tag. */
struct attr {
	bool set;
	const char *p;
	size_t n;
};

detour_err detour_refresh_find_meta(const char *h, size_t len, char *scratch, size_t cap,
                                    struct detour_refresh *r)
{
	static const char *const rawtext[] = {"script",   "style",   "textarea", "title",
	                                      "xmp",      "iframe",  "noembed",  "noframes",
	                                      "noscript", "template"};
	size_t i = 0;
	while (i < len) {
		const char *lt = memchr(h + i, '<', len - i);
		if (!lt)
			break;
		i = (size_t)(lt - h) + 1;
		if (i >= len)
			break;
		/* Comments: "<!--" up to "-->" (or the end of the document). */
		if (len - i >= 3 && h[i] == '!' && h[i + 1] == '-' && h[i + 2] == '-') {
			const char *e = memmem(h + i + 3, len - i - 3, "-->", 3);
			i = e ? (size_t)(e - h) + 3 : len;
			continue;
		}
		/* "<!DOCTYPE", "<?xml", end tags: skip to '>'. */
		if (h[i] == '!' || h[i] == '?' || h[i] == '/') {
			const char *gt = memchr(h + i, '>', len - i);
			i = gt ? (size_t)(gt - h) + 1 : len;
			continue;
		}
		bool skipped = false;
		for (size_t k = 0; k < sizeof(rawtext) / sizeof(rawtext[0]); k++) {
			size_t kl = strlen(rawtext[k]);
			if (ascii_prefix_ci(h + i, len - i, rawtext[k]) &&
			    (i + kl == len || tag_end((unsigned char)h[i + kl]))) {
				i = skip_to_end_tag(h, len, i + kl, rawtext[k]);
				skipped = true;
				break;
			}
		}
		if (skipped)
			continue;
		bool is_meta = ascii_prefix_ci(h + i, len - i, "meta") &&
		               (i + 4 == len || tag_end((unsigned char)h[i + 4]));
		/* Skip the tag name. */
		while (i < len && !tag_end((unsigned char)h[i]))
			i++;
		struct attr equiv = {0}, content = {0};
		/* Attributes (HTML tokenizer: before attribute name state and
		 * following); a duplicate attribute is dropped, the first wins. */
		while (i < len) {
			while (i < len && (infra_ws((unsigned char)h[i]) || h[i] == '/'))
				i++;
			if (i >= len || h[i] == '>')
				break;
			size_t ns = i;
			i++; /* a first '=' belongs to the name */
			while (i < len && !infra_ws((unsigned char)h[i]) && h[i] != '/' &&
			       h[i] != '>' && h[i] != '=')
				i++;
			size_t ne = i;
			while (i < len && infra_ws((unsigned char)h[i]))
				i++;
			const char *vp = NULL;
			size_t vn = 0;
			if (i < len && h[i] == '=') {
				i++;
				while (i < len && infra_ws((unsigned char)h[i]))
					i++;
				if (i < len && (h[i] == '"' || h[i] == '\'')) {
					char q = h[i++];
					const char *e = memchr(h + i, q, len - i);
					size_t ve = e ? (size_t)(e - h) : len;
					vp = h + i;
					vn = ve - i;
					i = e ? ve + 1 : len;
				} else {
					size_t vs = i;
					while (i < len && !infra_ws((unsigned char)h[i]) &&
					       h[i] != '>')
						i++;
					vp = h + vs;
					vn = i - vs;
				}
			} else {
				vp = h + ne;
				vn = 0;
			}
			if (!is_meta)
				continue;
			size_t nl = ne - ns;
			if (nl == 10 && ascii_prefix_ci(h + ns, nl, "http-equiv") && !equiv.set)
				equiv = (struct attr){true, vp, vn};
			else if (nl == 7 && ascii_prefix_ci(h + ns, nl, "content") && !content.set)
				content = (struct attr){true, vp, vn};
		}
		if (i < len)
			i++; /* '>' */
		if (!is_meta || !equiv.set || !content.set)
			continue;
		/* The http-equiv value compares after character references are
		 * decoded; "refresh" holds none, so a value with '&' is decoded
		 * first. */
		char ev[16];
		long el = decode_refs(equiv.p, equiv.n, ev, sizeof(ev));
		if (el != 7 || !ascii_prefix_ci(ev, 7, "refresh"))
			continue;
		long cl = decode_refs(content.p, content.n, scratch, cap);
		if (cl < 0)
			continue;
		if (detour_refresh_parse(scratch, (size_t)cl, r) == DETOUR_OK)
			return DETOUR_OK;
	}
	return DETOUR_EINVAL;
}
