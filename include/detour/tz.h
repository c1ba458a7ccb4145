/* detour: time zones for recurring rule windows (days=, hours=, tz=). Reads
 * a compiled zone (TZif, RFC 8536) from the system's zoneinfo directory
 * ($TZDIR or /usr/share/zoneinfo) once, when rules are loaded; answering an
 * offset afterwards is a binary search, with no global state (unlike
 * localtime_r and TZ), so workers may share a zone. */
#ifndef DETOUR_TZ_H
#define DETOUR_TZ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "detour/common.h"

struct detour_tz;

/* Loads zone `name` ("Europe/Paris", "UTC"). Returns DETOUR_OK and *out (free
 * with detour_tz_free), DETOUR_EIO if no such zone file, DETOUR_EINVAL if the
 * file is not valid TZif or name is unsafe ("..", leading '/'), with d
 * filled. */
detour_err detour_tz_load(const char *name, struct detour_tz **out, struct detour_diag *d);

/* Parses TZif bytes (for tests and fuzzing); name is copied. */
detour_err detour_tz_parse(const char *name, const unsigned char *buf, size_t len,
                           struct detour_tz **out, struct detour_diag *d);

/* Frees tz. NULL is a no-op. */
void detour_tz_free(struct detour_tz *tz);

/* The zone's offset from UTC, in seconds, at instant t (DST included). */
int32_t detour_tz_offset(const struct detour_tz *tz, time_t t);

/* The zone's name as loaded; borrowed. */
const char *detour_tz_name(const struct detour_tz *tz);

#endif
