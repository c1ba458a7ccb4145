/* detour base: escaping text for terminals and JSON (see esc.h). */
#include "base/esc.h"

static const char hex[] = "0123456789abcdef";

size_t utf8_seq_len(const void *s_, size_t n)
{
	const unsigned char *s = s_;
	size_t k;
	unsigned c, min, cp;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	cp = c & (0x3Fu >> (k - 1));
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

static void put_hex(struct bbuf *b, unsigned char c)
{
	char t[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
	bbuf_put(b, t, 4);
}

void esc_term(struct bbuf *b, const void *s_, size_t n)
{
	const unsigned char *s = s_;

	for (size_t i = 0; i < n;) {
		size_t start = i;
		/* The run of bytes written as they are. */
		while (i < n) {
			unsigned char c = s[i];
			if (c >= 0x20 && c < 0x7F && c != '\\') {
				i++;
				continue;
			}
			if (c < 0x80)
				break;
			size_t k = utf8_seq_len(s + i, n - i);
			if (k == 0 || (k == 2 && c == 0xC2 && s[i + 1] < 0xA0))
				break; /* not UTF-8, or a C1 control */
			i += k;
		}
		if (i > start)
			bbuf_put(b, s + start, i - start);
		if (i == n)
			break;
		unsigned char c = s[i];
		if (c == '\\') {
			BBUF_LIT(b, "\\\\");
			i++;
		} else if (c == 0xC2 && utf8_seq_len(s + i, n - i) == 2) {
			put_hex(b, c); /* a C1 control: both bytes */
			put_hex(b, s[i + 1]);
			i += 2;
		} else {
			put_hex(b, c);
			i++;
		}
	}
}

void esc_json_text(struct bbuf *b, const void *j_, size_t n)
{
	const unsigned char *j = j_;
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (j[i] == 0x7F)
			v = 0x7F;
		else if (j[i] == 0xC2 && i + 1 < n && j[i + 1] >= 0x80 && j[i + 1] < 0xA0)
			v = j[i + 1];
		else
			continue;
		bbuf_put(b, j + start, i - start);
		char t[6] = {'\\', 'u', '0', '0', hex[v >> 4], hex[v & 15]};
		bbuf_put(b, t, 6);
		i += v == 0x7F ? 0 : 1;
		start = i + 1;
	}
	bbuf_put(b, j + start, n - start);
}

void esc_json_str(struct bbuf *b, const void *s_, size_t n)
{
	const unsigned char *s = s_;
	size_t start = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = 1;
		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_seq_len(s + i, n - i);
			if (k > 1 && !(c == 0xC2 && s[i + 1] < 0xA0)) {
				i += k;
				continue; /* valid UTF-8, not a C1 control */
			}
		}
		bbuf_put(b, s + start, i - start);
		unsigned v = c;
		if (k == 2)
			v = s[i + 1]; /* a C1 control: U+0080..U+009F */
		else
			k = 1;
		switch (v) {
		case '"':
			BBUF_LIT(b, "\\\"");
			break;
		case '\\':
			BBUF_LIT(b, "\\\\");
			break;
		case '\n':
			BBUF_LIT(b, "\\n");
			break;
		case '\r':
			BBUF_LIT(b, "\\r");
			break;
		case '\t':
			BBUF_LIT(b, "\\t");
			break;
		case '\b':
			BBUF_LIT(b, "\\b");
			break;
		case '\f':
			BBUF_LIT(b, "\\f");
			break;
		default: {
			char t[6] = {'\\', 'u', '0', '0', hex[v >> 4], hex[v & 15]};
			bbuf_put(b, t, 6);
		}
		}
		i += k;
		start = i;
	}
	bbuf_put(b, s + start, n - start);
}
