/* detour command line: small helpers the subcommands share, below
 * everything else in src/cli: the clock override (--at, DETOUR_NOW) and JSON
 * strings through jansson. */
#ifndef DETOUR_CLI_UTIL_H
#define DETOUR_CLI_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* The clock a command judges time windows by. */
struct cli_clock {
	time_t now;
	const char *source; /* "--at", "DETOUR_NOW", or NULL: the real clock */
	const char *value;  /* the RFC 3339 text given, or NULL */
};

/* The clock of lint, explain and anything later: --at when given (at not
 * NULL), else the environment's DETOUR_NOW, which the server reads too
 * (src/server/worker.c), else the current time; an empty value counts as
 * none. Returns 0 with *c filled, or -1 with c->source and c->value naming
 * the value that is not an RFC 3339 time (the caller says so). */
int cli_clock(const char *at, struct cli_clock *c);

/* A JSON string for s[0..n) (RFC 8259 §8.1: JSON text is UTF-8): a byte
 * that is not part of valid UTF-8 is taken as the Latin-1 code point of the
 * same value, so that any file name or header value can be shown. NULL s
 * gives null. Returns a new reference, or NULL when out of memory. */
json_t *cli_json_strn(const char *s, size_t n);

/* cli_json_strn for a NUL-terminated s (or NULL: null). */
json_t *cli_json_str(const char *s);

/* Prints v (compact, keys in the order they were set) and a newline to f,
 * and releases v. Returns 0, or -1 when v is NULL or out of memory. */
int cli_json_print(json_t *v, FILE *f);

/* Writes buf[0..len) to the file out (created or truncated), or to stdout
 * (flushed) when out is NULL. Returns 0, or -1 after printing "detour NAME:
 * FILE: error" to stderr ("stdout" for FILE when out is NULL). */
int cli_write_out(const char *name, const char *out, const char *buf, size_t len);

#endif
