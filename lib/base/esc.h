/* detour base: escaping text that came from elsewhere (see
 * docs/internals/base.md).
 *
 * A redirect checker prints what servers send: reason phrases, Location,
 * Strict-Transport-Security, cookie names. A terminal executes control
 * sequences in that text (ESC [ ... rewrites the screen, OSC 52 writes the
 * clipboard), so every byte a terminal could take as a control, and every
 * byte that is not part of valid UTF-8, is written as text instead. */
#ifndef DETOUR_BASE_ESC_H
#define DETOUR_BASE_ESC_H

#include <stddef.h>

#include "base/buf.h"

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 (also when n is 0). */
size_t utf8_seq_len(const void *s, size_t n);

/* Appends s[0..n) to b for a terminal: C0 controls (0x00-0x1F), DEL (0x7F),
 * C1 controls (U+0080-U+009F, whose UTF-8 is C2 80..C2 9F) and every byte
 * that is not part of valid UTF-8 are written as "\xHH" (lower-case hex, a
 * C1 control as its two bytes), a backslash as "\\" so that the output is
 * unambiguous; printable ASCII and valid UTF-8 otherwise as they are. */
void esc_term(struct bbuf *b, const void *s, size_t n);

/* Appends the JSON text j[0..n) (valid UTF-8, as jansson writes it) with
 * what a terminal could still execute replaced by JSON escapes: a raw DEL
 * becomes \u007f and a C1 control (C2 80..C2 9F) \u0080..\u009f. In JSON
 * text those bytes can only occur inside strings (RFC 8259 §7 lets them be
 * raw), so the value of the text is unchanged. */
void esc_json_text(struct bbuf *b, const void *j, size_t n);

/* Appends s[0..n) as the inside of a JSON string (RFC 8259 §7, no quotes):
 * '"' and '\\' escaped, \b \f \n \r \t, other C0 controls, DEL and C1
 * controls as \u00XX, a byte that is not part of valid UTF-8 as \u00XX (the
 * Latin-1 character of the same value, as cli_json_strn does), valid UTF-8
 * as it is. The output is valid UTF-8 and safe on a terminal. No allocation:
 * the access log's worker path writes with it into a fixed bbuf. */
void esc_json_str(struct bbuf *b, const void *s, size_t n);

#endif
