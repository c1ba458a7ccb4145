/* detour base: one byte writer (see docs/internals/base.md).
 *
 * A struct bbuf appends bytes in one of two modes:
 *
 *   fixed    bbuf_fixed(&b, mem, cap): the caller's memory, never more than
 *            cap bytes, no allocation. The request path (respond.c) uses it.
 *   growing  bbuf_init(&b, max): heap memory grown on demand, never more
 *            than max bytes of content (like curl's dynbuf "toobig").
 *            One byte past cap is always allocated, so bbuf_take and
 *            bbuf_cstr can NUL-terminate without growing.
 *
 * Failure is sticky: a write that does not fit (fixed: past cap; growing:
 * past max, or out of memory) sets `over`, and every later write is a no-op,
 * so a sequence of writes is checked once at the end. In growing mode a
 * failure also frees the memory (as curlx_dyn_free does), so `len` is 0.
 *
 * bbuf_put and bbuf_putc are inline and, in fixed mode, compile to a bounds
 * check and a copy: only a write that does not fit calls a function. */
#ifndef DETOUR_BASE_BUF_H
#define DETOUR_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bbuf {
	char *p;
	size_t cap; /* bytes usable at p (growing mode: one more is allocated) */
	size_t len; /* bytes written */
	size_t max; /* growing mode: the hard cap on len; 0 = fixed mode */
	bool over;  /* sticky: a write did not fit or memory ran out */
};

/* Fixed mode over mem[0..cap): nothing is allocated, nothing NUL-terminated. */
static inline void bbuf_fixed(struct bbuf *b, char *mem, size_t cap)
{
	*b = (struct bbuf){mem, cap, 0, 0, false};
}

/* Growing mode, empty, allocating on the first write; max (> 0) is the most
 * content it may hold. Release with bbuf_free (or hand over with bbuf_take). */
extern char bbuf_empty_[1];

static inline void bbuf_init(struct bbuf *b, size_t max)
{
	/* p is never NULL, so that a write of 0 bytes is a valid memcpy. */
	*b = (struct bbuf){bbuf_empty_, 0, 0, max, false};
}

/* The slow path of bbuf_put and bbuf_putc, both modes: grows (growing mode)
 * or sets over. Out of line and cold, so that the inline fast path is one
 * test and a copy: in fixed mode (the request path) a write that does not
 * fit is rare. */
void bbuf_put_slow(struct bbuf *b, const void *s, size_t n) __attribute__((cold));

/* Appends s[0..n); s is not NULL, even when n is 0 (it goes to memcpy). */
static inline void bbuf_put(struct bbuf *b, const void *s, size_t n)
{
	if (b->over || b->cap - b->len < n) {
		bbuf_put_slow(b, s, n);
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Appends one byte. */
static inline void bbuf_putc(struct bbuf *b, char c)
{
	if (b->over || b->len == b->cap) {
		bbuf_put_slow(b, &c, 1);
		return;
	}
	b->p[b->len++] = c;
}

/* Appends the NUL-terminated string s (without its NUL). */
static inline void bbuf_puts(struct bbuf *b, const char *s)
{
	bbuf_put(b, s, strlen(s));
}

/* Appends a string literal without strlen. */
#define BBUF_LIT(b, lit) bbuf_put((b), (lit), sizeof(lit) - 1)

/* Appends v in decimal, without leading zeros ("0" for 0). */
static inline void bbuf_put_uint(struct bbuf *b, uint64_t v)
{
	char t[20];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	bbuf_put(b, t + i, sizeof(t) - i);
}

/* Appends c percent-encoded, "%XX" with upper-case hex (RFC 3986 §2.1:
 * "should use uppercase hexadecimal digits"). */
static inline void bbuf_put_pct(struct bbuf *b, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3] = {'%', hex[c >> 4], hex[c & 15]};
	bbuf_put(b, t, 3);
}

/* Appends printf-style output. In fixed mode the output must fit whole, or
 * nothing of it is kept and over is set. */
void bbuf_putf(struct bbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether every write so far fitted. */
static inline bool bbuf_ok(const struct bbuf *b)
{
	return !b->over;
}

/* Growing mode: hands over the content, a malloc'd NUL-terminated string
 * ("" when nothing was written), and its length in *len (may be NULL); the
 * buffer is empty again (same max). NULL when a write failed or memory ran
 * out; the buffer is then empty and its failure cleared. */
char *bbuf_take(struct bbuf *b, size_t *len);

/* Growing mode: the content as a NUL-terminated string (valid until the
 * next write), "" when empty or failed. */
const char *bbuf_cstr(struct bbuf *b);

/* Forgets the content and the failure; keeps the memory (both modes). */
static inline void bbuf_reset(struct bbuf *b)
{
	b->len = 0;
	b->over = false;
}

/* Growing mode: frees the memory; the buffer is empty and usable again.
 * Fixed mode: the same as bbuf_reset (the memory is the caller's). */
void bbuf_free(struct bbuf *b);

#endif
