/* detour: the leaf of the rules-file parser: what rulefile.c (the ruleset
 * API, files and lines), rulesrc.c (SOURCE and TARGET) and ruleopts.c
 * (STATUS, options, extensions) all use: the character classes of the rule
 * syntax, diagnostics with file:line:col, host checks, and the list of
 * compiled regexes a ruleset frees. It calls none of those three files.
 * See docs/internals/table.md. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "regex.h"
#include "rulelex.h"
#include "ruleset_int.h"

const char detour_rf_empty[] = "";

#define AZ (K_NAME0 | K_NAME | K_HOST | K_TCHAR | K_URI)

/* The character classes (K_* in rulelex.h) of every byte. */
const unsigned char detour_rf_kcls[256] = {
        ['A' ... 'F'] = AZ | K_HEX,
        ['G' ... 'Z'] = AZ,
        ['a' ... 'f'] = AZ | K_HEX,
        ['g' ... 'z'] = AZ,
        ['0' ... '9'] = K_NAME | K_HOST | K_TCHAR | K_URI | K_HEX,
        ['_'] = AZ,
        ['-'] = K_HOST | K_TCHAR | K_URI,
        ['.'] = K_HOST | K_TCHAR | K_URI,
        ['~'] = K_HOST | K_TCHAR | K_URI,
        ['!'] = K_TCHAR | K_URI,
        ['#'] = K_TCHAR | K_URI,
        ['$'] = K_TCHAR | K_URI,
        ['%'] = K_TCHAR | K_URI,
        ['&'] = K_TCHAR | K_URI,
        ['\''] = K_TCHAR | K_URI,
        ['*'] = K_TCHAR | K_URI,
        ['+'] = K_TCHAR | K_URI,
        ['^'] = K_TCHAR,
        ['`'] = K_TCHAR,
        ['|'] = K_TCHAR,
        ['('] = K_URI,
        [')'] = K_URI,
        [','] = K_URI,
        [';'] = K_URI,
        ['='] = K_URI,
        [':'] = K_URI,
        ['@'] = K_URI,
        ['/'] = K_URI,
        ['?'] = K_URI,
        ['['] = K_URI,
        [']'] = K_URI,
};

/* Fills the diag with the current line, the column of at (1-based), and the
 * message. Returns DETOUR_EINVAL. */
detour_err detour_rf_perr(struct pctx *pc, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (pc->d == NULL)
		return DETOUR_EINVAL;
	pc->d->file = pc->fname;
	pc->d->line = pc->line;
	pc->d->col = at ? (unsigned)(at - pc->ls) + 1 : 0;
	va_start(ap, fmt);
	vsnprintf(pc->d->msg, sizeof(pc->d->msg), fmt, ap);
	va_end(ap);
	return DETOUR_EINVAL;
}

/* p[0..n) for a message: at most 60 bytes, "..." when cut. */
const char *detour_rf_show(char buf[64], const char *p, size_t n)
{
	if (n > 60) {
		memcpy(buf, p, 56);
		memcpy(buf + 56, "...", 4);
	} else {
		memcpy(buf, p, n);
		buf[n] = '\0';
	}
	return buf;
}

static detour_err port_err(struct pctx *pc, const char *colon, const char *end)
{
	char b[64];

	return detour_rf_perr(
	        pc, colon,
	        "a port is not allowed in a source host (rules match the request's host "
	        "without its port), found \"%s\"",
	        detour_rf_show(b, colon, (size_t)(end - colon)));
}

/* Checks the bytes of a source host h[0..n) (after "*." for a wildcard);
 * fs is the start of the field, for messages. */
detour_err detour_rf_check_host(struct pctx *pc, const char *h, size_t n, const char *fs)
{
	char b[64];

	if (n && h[0] == '[') {
		const char *close = memchr(h, ']', n);
		if (close == NULL)
			return detour_rf_perr(
			        pc, h, "expected ']' to close the IP literal in the source host");
		for (const char *p = h + 1; p < close; p++) {
			if (!kis(*p, K_HEX) && *p != ':' && *p != '.')
				return detour_rf_perr(
				        pc, p, "invalid character '%c' in an IP literal", *p);
		}
		if (close + 1 < h + n) {
			if (close[1] == ':')
				return port_err(pc, close + 1, h + n);
			return detour_rf_perr(
			        pc, close + 1, "unexpected \"%s\" after the IP literal",
			        detour_rf_show(b, close + 1, (size_t)(h + n - close - 1)));
		}
		return DETOUR_OK;
	}
	if (n == 0 || h[0] == '.')
		return detour_rf_perr(pc, h, "expected a host name after \"%s\"",
		                      detour_rf_show(b, fs, (size_t)(h - fs)));
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == ':')
			return port_err(pc, h + i, h + n);
		if (c == '@')
			return detour_rf_perr(
			        pc, h + i, "user information (\"user@\") is not allowed in a host");
		if (c == '*')
			return detour_rf_perr(
			        pc, h + i,
			        "'*' is only allowed as \"*.\" at the start of a host "
			        "(\"*.example.com\")");
		if (c == '.' && i + 1 < n && h[i + 1] == '.')
			return detour_rf_perr(pc, h + i + 1, "empty label in the source host");
		if (!kis(c, K_HOST)) {
			if ((unsigned char)c < 0x20 || c == 0x7f)
				return detour_rf_perr(
				        pc, h + i,
				        "unexpected control character 0x%02X in the host",
				        (unsigned char)c);
			if ((unsigned char)c >= 0x80)
				return detour_rf_perr(
				        pc, h + i,
				        "invalid byte 0x%02X in the source host: write an "
				        "internationalised name in its xn-- (punycode) form",
				        (unsigned char)c);
			return detour_rf_perr(pc, h + i,
			                      "invalid character '%c' in the source host", c);
		}
	}
	return DETOUR_OK;
}

/* Keeps a compiled regex so that the ruleset frees it. On failure to grow
 * the list the code is freed at once and *oom set. */
bool detour_rf_keep_code(struct detour_ruleset *rs, void *code)
{
	if (BASE_GROW(rs->codes, rs->codes_cap, rs->ncodes + 1) != 0) {
		detour_re_free(code);
		return false;
	}
	rs->codes[rs->ncodes++] = code;
	return true;
}
