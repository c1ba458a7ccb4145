/* detour: what `detour import` produces, shared by every input format
 * (lib/import_*.c): a rules file being written, with a comment naming the
 * source line of each rule, and the list of source lines that could not be
 * converted ("skipped") with the reason. Every rule added is checked alone
 * with detour_ruleset_check_line first, so the text always loads rule by
 * rule; a rule that does not is skipped with the parser's error. Also the
 * small text helpers the formats share (words, regex escaping). Pure: no
 * files, no printing. See docs/import.md. */
#ifndef DETOUR_IMPORT_OUT_H
#define DETOUR_IMPORT_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* A source line that was not converted. */
struct detour_import_skip {
	unsigned line; /* 1-based line of the source file (0: the whole file) */
	char *why;     /* malloc'd, one line */
};

struct detour_import {
	const char *file; /* the source's name, borrowed (used in comments and skips) */
	struct bbuf text; /* the rules written so far (without the header) */
	struct detour_import_skip *skips;
	size_t nskips, skips_cap;
	size_t nrules;
	bool slash_strict; /* the format matches paths exactly: "@slash strict" heads the file */
	bool oom;          /* memory ran out: the result is incomplete */
};

/* Starts an empty result for the source named file (borrowed). */
void detour_import_init(struct detour_import *im, const char *file);

/* Frees everything im owns. */
void detour_import_fini(struct detour_import *im);

/* Writes the comment "# FILE:LINE: TEXT" naming the source of the rules
 * that follow; TEXT is text[0..len) with blanks squeezed, control bytes
 * shown as '?', cut at 200 bytes. */
void detour_import_source(struct detour_import *im, unsigned line, const char *text, size_t len);

/* Adds the rule line rule (NUL-terminated, no newline) converted from source
 * line line. Returns true when added; false when it does not load alone
 * (then it is skipped with the parser's message) or memory ran out. */
bool detour_import_rule(struct detour_import *im, unsigned line, const char *rule);

/* detour_import_rule with the line made printf-style (at most 256 KiB). */
bool detour_import_rulef(struct detour_import *im, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Records that source line line was not converted, and why (printf-style);
 * a comment "# skipped: why" goes into the rules too. */
void detour_import_skip(struct detour_import *im, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Moves src's rules and skips to the end of dst (skips kept in line order)
 * and leaves src empty, as after detour_import_init. For formats whose
 * precedence is not file order (Apache runs mod_rewrite before mod_alias). */
void detour_import_append(struct detour_import *dst, struct detour_import *src);

/* The whole rules file: a header comment, "@slash strict" when asked, the
 * rules. malloc'd, NUL-terminated, *len set; NULL when out of memory. */
char *detour_import_text(const struct detour_import *im, const char *format, size_t *len);

/* Splits s[0..n) into at most max words at blanks; a word may be quoted with
 * '"' or '\'' (quotes removed; a backslash in a quoted word escapes the next
 * byte). Words are written NUL-terminated into buf[0..cap) and pointed to by
 * w[]. Stops at an unquoted '#' that starts a word when hash_comment. Returns
 * the number of words, or -1 when they do not fit or a quote is not closed. */
int detour_import_words(const char *s, size_t n, bool hash_comment, char **w, int max, char *buf,
                        size_t cap);

/* Appends s[0..n) to b with every PCRE2 metacharacter escaped, blanks as
 * \x20 (a rules-file field holds no blank). */
void detour_import_re_quote(struct bbuf *b, const char *s, size_t n);

/* Appends the regex re to b, with blanks (which a rules-file field cannot
 * hold) written \x20. */
void detour_import_re_put(struct bbuf *b, const char *re);

/* When the regex re matches exactly one string (only literal characters and
 * escaped metacharacters between "^" and "$"), writes that string
 * NUL-terminated into out[0..cap) and returns true. */
bool detour_import_re_literal(const char *re, char *out, size_t cap);

/* Appends " if-header=Host:~(?i)^(h1|h2...)(:[0-9]+)?\.?$": the hosts of a
 * rule whose source cannot carry one (a regex). "*.x" is any subdomain. */
void detour_import_host_cond(struct bbuf *b, const char *const *hosts, unsigned n);

/* Whether s[0..n) has a byte that ends a rules-file field or line (blank,
 * control). */
bool detour_import_has_blank(const char *s, size_t n);

#endif
