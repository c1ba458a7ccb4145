/* detour base: the value parsers of the config, the rules and the admin
 * API (see docs/internals/base.md). All take s[0..n), not NUL-terminated,
 * and refuse anything else than the whole of it (no spaces, no sign). */
#ifndef DETOUR_BASE_VALUE_H
#define DETOUR_BASE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A duration: 1*DIGIT with an optional unit, s (seconds, the default), m
 * (minutes), h (hours), d (days), w (weeks) or y (365 days): "30", "30s",
 * "10m", "1h", "7d", "2w", "1y". Lower case only; no months (their length
 * varies; a year is fixed at 365 days, what HSTS's max-age=1y means).
 * Returns seconds (0 for "0"), or -1 when malformed or over 10 years
 * (315360000 s). Callers check their own range ("1s to 1h"). */
int64_t value_duration(const char *s, size_t n);

/* A size: 1 to 12 digits with an optional unit k, m or g (either case;
 * binary: 1k = 1024): "512", "8k", "32K", "1m", "1G". Returns bytes, or -1
 * when malformed or over INT64_MAX. */
int64_t value_size(const char *s, size_t n);

/* Whether s is a Retry-After value (RFC 9110 §10.2.3):
 *   Retry-After = HTTP-date / delay-seconds
 * delay-seconds as 1 to 10 digits; HTTP-date as an IMF-fixdate, checked
 * for its shape (civil_is_http_date). */
bool value_retry_after(const char *s, size_t n);

#endif
