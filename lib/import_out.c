/* detour: the result of `detour import` (include/detour/import_out.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "detour/import_out.h"
#include "detour/rulefile.h"

#define TEXT_MAX    (64u << 20) /* the rules file written, at most */
#define COMMENT_CUT 200         /* bytes of a source line shown in its comment */

void detour_import_init(struct detour_import *im, const char *file)
{
	memset(im, 0, sizeof(*im));
	im->file = file;
	bbuf_init(&im->text, TEXT_MAX);
}

void detour_import_fini(struct detour_import *im)
{
	for (size_t i = 0; i < im->nskips; i++)
		free(im->skips[i].why);
	free(im->skips);
	bbuf_free(&im->text);
	memset(im, 0, sizeof(*im));
}

/* s[0..n) on one comment line: blanks squeezed, controls as '?', cut. */
static void put_oneline(struct bbuf *b, const char *s, size_t n, size_t cut)
{
	size_t w = 0;
	bool blank = false;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < n && w < cut; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			blank = true;
			continue;
		}
		if (blank)
			bbuf_putc(b, ' '), w++;
		blank = false;
		bbuf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
		w++;
	}
	if (w >= cut && n > cut)
		BBUF_LIT(b, "...");
}

static void check(struct detour_import *im)
{
	if (!bbuf_ok(&im->text))
		im->oom = true;
}

void detour_import_source(struct detour_import *im, unsigned line, const char *text, size_t len)
{
	bbuf_putf(&im->text, "# %s:%u: ", im->file, line);
	put_oneline(&im->text, text, len, COMMENT_CUT);
	bbuf_putc(&im->text, '\n');
	check(im);
}

bool detour_import_rule(struct detour_import *im, unsigned line, const char *rule)
{
	struct detour_diag d;
	size_t n = strlen(rule);

	memset(&d, 0, sizeof(d));
	detour_err e = detour_ruleset_check_line(im->file, line, rule, n, &d);
	if (e == DETOUR_ENOMEM) {
		im->oom = true;
		return false;
	}
	if (e != DETOUR_OK) {
		detour_import_skip(im, line, "the converted rule does not load (%s): %.300s", d.msg,
		                   rule);
		return false;
	}
	bbuf_put(&im->text, rule, n);
	bbuf_putc(&im->text, '\n');
	check(im);
	im->nrules++;
	return !im->oom;
}

bool detour_import_rulef(struct detour_import *im, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		im->oom = true;
		return false;
	}
	bool ok = detour_import_rule(im, line, s);
	free(s);
	return ok;
}

void detour_import_skip(struct detour_import *im, unsigned line, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	BBUF_LIT(&im->text, "# skipped: ");
	bbuf_puts(&im->text, why);
	bbuf_putc(&im->text, '\n');
	check(im);
	if (BASE_GROW(im->skips, im->skips_cap, im->nskips + 1)) {
		im->oom = true;
		return;
	}
	char *c = strdup(why);
	if (c == NULL) {
		im->oom = true;
		return;
	}
	im->skips[im->nskips].line = line;
	im->skips[im->nskips].why = c;
	im->nskips++;
}

void detour_import_append(struct detour_import *dst, struct detour_import *src)
{
	bbuf_put(&dst->text, src->text.p, src->text.len);
	check(dst);
	dst->nrules += src->nrules;
	dst->oom |= src->oom;
	for (size_t i = 0; i < src->nskips; i++) {
		if (BASE_GROW(dst->skips, dst->skips_cap, dst->nskips + 1)) {
			dst->oom = true;
			free(src->skips[i].why);
			continue;
		}
		/* insertion in line order, after the equal ones */
		size_t k = dst->nskips;
		while (k > 0 && dst->skips[k - 1].line > src->skips[i].line) {
			dst->skips[k] = dst->skips[k - 1];
			k--;
		}
		dst->skips[k] = src->skips[i];
		dst->nskips++;
	}
	free(src->skips);
	src->skips = NULL;
	src->nskips = src->skips_cap = src->nrules = 0;
	bbuf_reset(&src->text);
}

char *detour_import_text(const struct detour_import *im, const char *format, size_t *len)
{
	struct bbuf b;

	bbuf_init(&b, TEXT_MAX + 4096);
	BBUF_LIT(&b, "# detour import ");
	bbuf_puts(&b, format);
	bbuf_putc(&b, ' ');
	put_oneline(&b, im->file, strlen(im->file), COMMENT_CUT);
	bbuf_putf(&b, ": %zu rule%s, %zu line%s skipped\n", im->nrules, im->nrules == 1 ? "" : "s",
	          im->nskips, im->nskips == 1 ? "" : "s");
	if (im->slash_strict)
		BBUF_LIT(&b, "@slash strict\n");
	bbuf_put(&b, im->text.p, im->text.len);
	return bbuf_take(&b, len);
}

int detour_import_words(const char *s, size_t n, bool hash_comment, char **w, int max, char *buf,
                        size_t cap)
{
	size_t o = 0, i = 0;
	int nw = 0;

	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i == n || (hash_comment && s[i] == '#'))
			return nw;
		if (nw == max)
			return -1;
		w[nw++] = buf + o;
		char q = 0;
		if (s[i] == '"' || s[i] == '\'')
			q = s[i++];
		for (;;) {
			if (i == n) {
				if (q)
					return -1;
				break;
			}
			char c = s[i];
			if (q && c == q) {
				i++;
				break;
			}
			if (!q && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
				break;
			if (q && c == '\\' && i + 1 < n)
				c = s[++i];
			if (o + 1 >= cap)
				return -1;
			buf[o++] = c;
			i++;
		}
		if (o + 1 >= cap)
			return -1;
		buf[o++] = '\0';
	}
}

void detour_import_re_quote(struct bbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ') {
			BBUF_LIT(b, "\\x20");
			continue;
		}
		if (c == '\t') {
			BBUF_LIT(b, "\\x09");
			continue;
		}
		if (strchr("\\^$.|?*+()[]{}", c) && c)
			bbuf_putc(b, '\\');
		bbuf_putc(b, c);
	}
}

void detour_import_re_put(struct bbuf *b, const char *re)
{
	for (; *re; re++) {
		if (*re == ' ')
			BBUF_LIT(b, "\\x20");
		else if (*re == '\t')
			BBUF_LIT(b, "\\x09");
		else
			bbuf_putc(b, *re);
	}
}

bool detour_import_re_literal(const char *re, char *out, size_t cap)
{
	size_t n = strlen(re), o = 0;

	if (n < 2 || re[0] != '^' || re[n - 1] != '$' || (n >= 3 && re[n - 2] == '\\'))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		char c = re[i];
		if (c == '\\') {
			c = re[++i];
			if (i + 1 >= n || !strchr("\\^$.|?*+()[]{}/-", c))
				return false;
		} else if (strchr("^$.|?*+()[]{}", c)) {
			return false;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

bool detour_import_has_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

void detour_import_host_cond(struct bbuf *b, const char *const *hosts, unsigned n)
{
	BBUF_LIT(b, " if-header=Host:~(?i)^(");
	for (unsigned i = 0; i < n; i++) {
		const char *h = hosts[i];
		if (i)
			bbuf_putc(b, '|');
		if (h[0] == '*' && h[1] == '.') {
			BBUF_LIT(b, "[^/]+");
			h++;
		}
		detour_import_re_quote(b, h, strlen(h));
	}
	BBUF_LIT(b, ")(:[0-9]+)?\\.?$");
}
