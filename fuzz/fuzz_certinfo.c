/* libFuzzer target for lib/certinfo.c, the certificate lines of libcurl's
 * CURLINFO_CERTINFO. Asserts invariants, not only "no crash":
 *  - detour_cert_parse_time: an accepted time is within a day of the years
 *    0..9999 (four year digits; an offset moves it by less than a day);
 *  - detour_cert_take_line: the fields stay NUL-terminated within their size,
 *    and has_expiry says exactly whether the Expire date parsed;
 *  - detour_cert_days_left and detour_cert_expiry agree: EXPIRED iff the days
 *    left are negative, SOON iff 0..13. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/certinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	int64_t t;

	if (detour_cert_parse_time(d, size, &t) == 0) {
		CHECK(t >= INT64_C(-62167219200) - 86400 && t < INT64_C(253402300800) + 86400);
		for (int64_t now = t - 20 * 86400; now <= t + 2 * 86400; now += 43201) {
			int64_t days = detour_cert_days_left(t, now);
			enum detour_cert_expiry e = detour_cert_expiry(t, now);
			CHECK((e == DETOUR_CERT_EXPIRED) == (days < 0));
			CHECK((e == DETOUR_CERT_SOON) ==
			      (days >= 0 && days < DETOUR_CERT_SOON_DAYS));
		}
	}
	struct detour_cert c;
	memset(&c, 0, sizeof(c));
	bool took = detour_cert_take_line(&c, d, size);
	CHECK(memchr(c.subject, 0, sizeof(c.subject)) && memchr(c.issuer, 0, sizeof(c.issuer)) &&
	      memchr(c.expire, 0, sizeof(c.expire)));
	if (!took)
		CHECK(!c.subject[0] && !c.issuer[0] && !c.expire[0] && !c.has_expiry);
	if (c.has_expiry)
		CHECK(detour_cert_parse_time(c.expire, strlen(c.expire), &t) == 0 &&
		      t == c.not_after);
	return 0;
}
