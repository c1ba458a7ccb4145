/* detour: the URLs of a style sheet. See include/detour/cssurl.h.
 *
 * A subset of the CSS Syntax Level 3 tokenizer (§4.3, "Tokenizer
 * Algorithms"): enough of it to know where a name, a string, a comment or
 * a url token starts and ends. Preprocessing (§3.3) is done on the fly: CR,
 * FF and CR LF are newlines, NUL becomes U+FFFD. Tokens that cannot hold a
 * URL are skipped without being built. */
#include <stdbool.h>
#include <string.h>

#include "base/ascii.h"
#include "detour/cssurl.h"

#define VALUE_MAX 8192

struct tk {
	const char *s;
	size_t n, i;
	char out[VALUE_MAX + 4]; /* the value being decoded, room for one UTF-8 sequence */
	size_t on;
	bool over;
};

static int peek(const struct tk *t, size_t k)
{
	return t->i + k < t->n ? (unsigned char)t->s[t->i + k] : -1;
}

static bool newline(int c)
{
	return c == '\n' || c == '\r' || c == '\f';
}

/* §4.2 "whitespace": newline, TAB or SPACE. */
static bool space(int c)
{
	return newline(c) || c == '\t' || c == ' ';
}

static bool hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* §4.2 "ident code point": a letter, a digit, "_", "-", or a non-ASCII
 * code point (every byte of a UTF-8 sequence, and NUL, which becomes
 * U+FFFD). */
static bool name_cp(int c)
{
	return c >= 0x80 || c == 0 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* §4.2 "non-printable code point". NUL is not one after preprocessing. */
static bool non_printable(int c)
{
	return (c >= 1 && c <= 8) || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f;
}

/* §4.3.8 "check if two code points are a valid escape", at i+k. */
static bool valid_escape(const struct tk *t, size_t k)
{
	int c = peek(t, k + 1);
	return peek(t, k) == '\\' && c != -1 && !newline(c);
}

/* Consumes one newline (CR LF counts as one). */
static void skip_newline(struct tk *t)
{
	if (peek(t, 0) == '\r' && peek(t, 1) == '\n')
		t->i++;
	t->i++;
}

static void put(struct tk *t, const char *b, size_t n)
{
	if (t->on + n > VALUE_MAX) {
		t->over = true;
		return;
	}
	memcpy(t->out + t->on, b, n);
	t->on += n;
}

static void put_cp(struct tk *t, unsigned long cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	put(t, b, n);
}

/* Appends the byte at i (NUL as U+FFFD) and consumes it. */
static void put_byte(struct tk *t)
{
	if (t->s[t->i])
		put(t, t->s + t->i, 1);
	else
		put_cp(t, 0xfffd);
	t->i++;
}

/* §4.3.7 "consume an escaped code point", the backslash already consumed:
 * up to six hex digits and one whitespace after them; zero, a surrogate or
 * a value past U+10FFFF is U+FFFD, and so is EOF. Anything else stands for
 * itself (a byte: the rest of a UTF-8 sequence follows as it is). */
static void consume_escape(struct tk *t)
{
	int c = peek(t, 0);
	if (c == -1) {
		put_cp(t, 0xfffd);
		return;
	}
	if (!hex(c)) {
		put_byte(t);
		return;
	}
	unsigned long cp = 0;
	for (int k = 0; k < 6 && hex(peek(t, 0)); k++) {
		c = peek(t, 0);
		cp = cp * 16 + (unsigned long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
		t->i++;
	}
	if (space(peek(t, 0)))
		skip_newline(t); /* one whitespace; CR LF is one */
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	put_cp(t, cp);
}

/* §4.3.11 "consume an ident sequence" into out. */
static void consume_name(struct tk *t)
{
	t->on = 0;
	t->over = false;
	for (;;) {
		int c = peek(t, 0);
		if (c != -1 && name_cp(c)) {
			put_byte(t);
		} else if (valid_escape(t, 0)) {
			t->i++;
			consume_escape(t);
		} else {
			return;
		}
	}
}

/* §4.3.5 "consume a string token", the opening quote consumed, its value
 * in out. Returns false for a <bad-string-token> (an unescaped newline,
 * left unconsumed). EOF ends a good string. */
static bool consume_string(struct tk *t, int quote)
{
	t->on = 0;
	t->over = false;
	for (;;) {
		int c = peek(t, 0);
		if (c == -1)
			return true;
		if (c == quote) {
			t->i++;
			return true;
		}
		if (newline(c))
			return false;
		if (c == '\\') {
			t->i++;
			c = peek(t, 0);
			if (c == -1)
				continue;
			if (newline(c))
				skip_newline(t); /* an escaped newline is a line continuation */
			else
				consume_escape(t);
			continue;
		}
		put_byte(t);
	}
}

/* §4.3.14 "consume the remnants of a bad url". */
static void bad_url(struct tk *t)
{
	for (;;) {
		int c = peek(t, 0);
		if (c == -1)
			return;
		if (c == ')') {
			t->i++;
			return;
		}
		if (valid_escape(t, 0)) {
			t->i += 2;
			continue; /* the escape's value does not matter here */
		}
		t->i++;
	}
}

/* §4.3.6 "consume a url token", after `url(` and its whitespace. Returns
 * false for a <bad-url-token>. */
static bool consume_url(struct tk *t)
{
	t->on = 0;
	t->over = false;
	for (;;) {
		int c = peek(t, 0);
		if (c == -1)
			return true;
		if (c == ')') {
			t->i++;
			return true;
		}
		if (space(c)) {
			while (space(peek(t, 0)))
				t->i++;
			c = peek(t, 0);
			if (c == -1)
				return true;
			if (c == ')') {
				t->i++;
				return true;
			}
			bad_url(t);
			return false;
		}
		if (c == '"' || c == '\'' || c == '(' || non_printable(c)) {
			bad_url(t);
			return false;
		}
		if (c == '\\') {
			if (!valid_escape(t, 0)) {
				bad_url(t);
				return false;
			}
			t->i++;
			consume_escape(t);
			continue;
		}
		put_byte(t);
	}
}

static void skip_comment(struct tk *t)
{
	t->i += 2;
	const char *e = t->i < t->n ? memmem(t->s + t->i, t->n - t->i, "*/", 2) : NULL;
	t->i = e ? (size_t)(e - t->s) + 2 : t->n;
}

/* Hands out the value in out, unless too long. */
static size_t emit(struct tk *t, detour_cssurl_fn fn, void *ud)
{
	if (t->over)
		return 0;
	t->out[t->on] = 0;
	fn(ud, t->out, t->on);
	return 1;
}

/* §4.3.8 "check if three code points would start an ident sequence", at
 * i+k. */
static bool starts_ident(const struct tk *t, size_t k)
{
	int c = peek(t, k);
	if (c == '-') {
		int d = peek(t, k + 1);
		return (d != -1 && name_cp(d) && !(d >= '0' && d <= '9')) || d == '-' ||
		       valid_escape(t, k + 1);
	}
	if (c == '\\')
		return valid_escape(t, k);
	return c != -1 && name_cp(c) && !(c >= '0' && c <= '9');
}

size_t detour_cssurl_parse(const char *css, size_t len, detour_cssurl_fn fn, void *ud)
{
	struct tk t = {.s = css, .n = len};
	size_t count = 0;
	while (t.i < t.n) {
		int c = peek(&t, 0);
		if (c == '/' && peek(&t, 1) == '*') {
			skip_comment(&t);
		} else if (c == '"' || c == '\'') {
			t.i++;
			consume_string(&t, c);
		} else if (c == '<' && t.n - t.i >= 4 && !memcmp(t.s + t.i, "<!--", 4)) {
			t.i += 4; /* <CDO-token> */
		} else if (c == '#' &&
		           ((peek(&t, 1) != -1 && name_cp(peek(&t, 1))) || valid_escape(&t, 1))) {
			t.i++;
			consume_name(&t); /* a <hash-token>, not a function */
		} else if (c == '@' && starts_ident(&t, 1)) {
			/* §4.3.1: an <at-keyword-token>; @import's prelude may be
			 * a string (a url() is found by the loop). */
			t.i++;
			consume_name(&t);
			if (t.over || !ascii_eq_ci(t.out, t.on, "import"))
				continue;
			for (;;) {
				if (space(peek(&t, 0)))
					t.i++;
				else if (peek(&t, 0) == '/' && peek(&t, 1) == '*')
					skip_comment(&t);
				else
					break;
			}
			c = peek(&t, 0);
			if (c == '"' || c == '\'') {
				t.i++;
				if (consume_string(&t, c))
					count += emit(&t, fn, ud);
			}
		} else if (name_cp(c) || valid_escape(&t, 0)) {
			/* §4.3.4 "consume an ident-like token". Numbers and
			 * dimensions are read as names too: they are never
			 * `url` ("1url(" is a dimension, not a function). */
			consume_name(&t);
			if (t.over || !ascii_eq_ci(t.out, t.on, "url") || peek(&t, 0) != '(')
				continue;
			t.i++;
			while (space(peek(&t, 0)))
				t.i++;
			c = peek(&t, 0);
			if (c == '"' || c == '\'') {
				/* A <function-token> "url" whose argument is a
				 * string. */
				t.i++;
				if (consume_string(&t, c))
					count += emit(&t, fn, ud);
			} else if (consume_url(&t)) {
				count += emit(&t, fn, ud);
			}
		} else {
			t.i++;
		}
	}
	return count;
}
