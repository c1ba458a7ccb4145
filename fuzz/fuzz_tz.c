/* libFuzzer target for lib/tz.c (TZif, RFC 8536). Asserts, for every input
 * the reader accepts:
 *  - the name is kept;
 *  - every offset lies within ±26 h (the reader's bound on a local time type
 *    and on a POSIX TZ string offset), at instants from the far past to the
 *    far future, including the extremes of time_t;
 *  - answers are pure: the same instant gives the same offset twice, and a
 *    second parse of the same bytes gives the same offsets;
 * A rejected input must leave *out NULL. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/tz.h"

static const int64_t probes[] = {
        INT64_MIN,
        INT64_MIN + 1,
        -(INT64_C(1) << 41),
        -2208988800,
        -1,
        0,
        1,
        1711846800,
        2147483647,
        2147483648,
        4109878800,
        INT64_C(1) << 40,
        INT64_C(1) << 41,
        INT64_MAX - 1,
        INT64_MAX,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_tz *a = (struct detour_tz *)&size, *b = NULL;
	struct detour_diag d;

	if (detour_tz_parse("fuzz", data, size, &a, &d) != DETOUR_OK) {
		CHECK(a == NULL);
		CHECK(memchr(d.msg, 0, sizeof(d.msg)) != NULL);
		return 0;
	}
	CHECK(strcmp(detour_tz_name(a), "fuzz") == 0);
	CHECK(detour_tz_parse("again", data, size, &b, &d) == DETOUR_OK);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		time_t t = (time_t)probes[i];
		int32_t off = detour_tz_offset(a, t);
		CHECK(off >= -93600 && off <= 93600);
		CHECK(detour_tz_offset(a, t) == off);
		CHECK(detour_tz_offset(b, t) == off);
	}
	detour_tz_free(a);
	detour_tz_free(b);
	return 0;
}
