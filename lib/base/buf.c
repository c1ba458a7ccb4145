/* detour base: the byte writer (see buf.h and docs/internals/base.md). */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The memory of an empty growing buffer: never written (its cap is 0). */
char bbuf_empty_[1];

static void fail(struct bbuf *b)
{
	if (b->max) {
		if (b->p != bbuf_empty_)
			free(b->p);
		b->p = bbuf_empty_;
		b->cap = 0;
		b->len = 0;
	}
	b->over = true;
}

/* Growing mode: room for n more bytes (plus the NUL byte), or fail. */
static bool reserve(struct bbuf *b, size_t n)
{
	if (b->max == 0 || n > b->max - b->len) {
		fail(b);
		return false;
	}
	size_t need = b->len + n;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 63;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2 + 1;
	if (cap > b->max) /* the inline writers trust cap: it never passes max */
		cap = b->max;
	char *p = realloc(b->p == bbuf_empty_ ? NULL : b->p, cap + 1);
	if (p == NULL) {
		fail(b);
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void bbuf_put_slow(struct bbuf *b, const void *s, size_t n)
{
	if (b->over || !reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void bbuf_putf(struct bbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->over)
		return;
	/* Growing mode has one byte past cap for vsnprintf's NUL; the empty
	 * buffer's memory is shared and never written. */
	size_t avail = b->cap - b->len;
	size_t room = b->p == bbuf_empty_ ? 0 : b->max ? avail + 1 : avail;
	va_start(ap, fmt);
	k = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (k < 0) {
		fail(b);
		return;
	}
	if ((size_t)k < room) {
		b->len += (size_t)k;
		return;
	}
	char *tmp = NULL;
	if (b->max == 0) {
		/* Fixed mode: k bytes may fit exactly, vsnprintf's NUL did not. */
		if ((size_t)k > avail || (tmp = malloc((size_t)k + 1)) == NULL) {
			fail(b);
			return;
		}
	} else if (!reserve(b, (size_t)k)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(tmp ? tmp : b->p + b->len, (size_t)k + 1, fmt, ap);
	va_end(ap);
	if (tmp) {
		memcpy(b->p + b->len, tmp, (size_t)k);
		free(tmp);
	}
	b->len += (size_t)k;
}

const char *bbuf_cstr(struct bbuf *b)
{
	if (b->over || b->p == bbuf_empty_)
		return "";
	b->p[b->len] = '\0';
	return b->p;
}

char *bbuf_take(struct bbuf *b, size_t *len)
{
	char *p;

	if (b->over) {
		b->over = false;
		return NULL;
	}
	if (b->p == bbuf_empty_) {
		p = malloc(1);
		if (p == NULL)
			return NULL;
	} else {
		p = b->p;
	}
	p[b->len] = '\0';
	if (len)
		*len = b->len;
	bbuf_init(b, b->max);
	return p;
}

void bbuf_free(struct bbuf *b)
{
	if (b->max) {
		if (b->p != bbuf_empty_)
			free(b->p);
		bbuf_init(b, b->max);
	} else {
		bbuf_reset(b);
	}
}
