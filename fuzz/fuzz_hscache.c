/* libFuzzer target for lib/hscache.c's entry format (detour_hscache_unpack:
 * the bytes of a file in STATE-DIR/hs-cache/). A random input never
 * carries a valid SHA-256, so the target appends the right one itself
 * (with the first byte's low bit set; clear, the input is taken as it is)
 * and takes the key and count from the entry's own header, so that the
 * fuzzer reaches the structure behind the checksum. Asserts:
 *  - an entry that unpacks lies within the input: the outcomes, each
 *    refusal message, and the database, which ends where the checksum
 *    begins; every outcome is one of the three;
 *  - packed again from what was unpacked, it is the same bytes (the format
 *    has one spelling of each entry);
 *  - another key or another count never unpacks. */
#include "fuzz.h"
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#include "detour/hscache.h"

#define HEAD (8 + DETOUR_HSCACHE_KEY_LEN + 4)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_hscache_entry e;
	char err[200];
	uint8_t key[DETOUR_HSCACHE_KEY_LEN];
	size_t len = size, ncand = 0;
	uint8_t *buf;

	if (size == 0 || size > 1 << 20)
		return 0;
	buf = malloc(size + 32);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	len = size - 1;
	if (data[0] & 1) {
		CHECK(EVP_Digest(buf, len, buf + len, NULL, EVP_sha256(), NULL) == 1);
		len += 32;
	}
	memset(key, 0, sizeof(key));
	if (len >= HEAD) {
		memcpy(key, buf + 8, sizeof(key));
		for (int i = 3; i >= 0; i--)
			ncand = ncand << 8 | buf[8 + DETOUR_HSCACHE_KEY_LEN + i];
	}
	if (detour_hscache_unpack(buf, len, key, ncand, &e, err, sizeof(err)) != 0) {
		CHECK(err[0] != '\0');
		free(buf);
		return 0;
	}
	const uint8_t *end = buf + len - 32;
	CHECK(e.outcome == buf + HEAD && e.outcome + ncand <= end);
	const char **why = calloc(ncand ? ncand : 1, sizeof(*why));
	char **own = calloc(ncand ? ncand : 1, sizeof(*own));
	CHECK(why != NULL && own != NULL);
	const uint8_t *at = e.why;
	bool round_trip = true;
	for (size_t k = 0; k < ncand; k++) {
		CHECK(e.outcome[k] <= DETOUR_HSCACHE_REFUSED);
		if (e.outcome[k] != DETOUR_HSCACHE_REFUSED)
			continue;
		size_t n;
		const char *w = detour_hscache_why(&at, &n);
		CHECK((const uint8_t *)w >= buf && (const uint8_t *)w + n <= end);
		/* pack takes NUL-terminated messages: one with a NUL inside
		 * cannot round-trip, and the server never writes one. */
		own[k] = strndup(w, n);
		CHECK(own[k] != NULL);
		why[k] = own[k];
		if (strlen(own[k]) != n)
			round_trip = false;
	}
	CHECK((const uint8_t *)e.db + e.dblen == end);
	if (round_trip) {
		size_t plen;
		uint8_t *again =
		        detour_hscache_pack(key, e.outcome, why, ncand, e.db, e.dblen, &plen);
		CHECK(again != NULL && plen == len && !memcmp(again, buf, len));
		free(again);
		/* Another key, another count: refused. */
		key[0] ^= 1;
		CHECK(detour_hscache_unpack(buf, len, key, ncand, &e, err, sizeof(err)) == -1);
		key[0] ^= 1;
		CHECK(detour_hscache_unpack(buf, len, key, ncand + 1, &e, err, sizeof(err)) == -1);
	}
	for (size_t k = 0; k < ncand; k++)
		free(own[k]);
	free(own);
	free(why);
	free(buf);
	return 0;
}
