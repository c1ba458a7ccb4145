/* libFuzzer target for lib/proxyproto.c. Asserts invariants, not only "no
 * crash":
 *  - DETOUR_OK: the length lies within the input, at least the shortest
 *    header (15 bytes, "PROXY UNKNOWN\r\n"), a version 1 header at most 107
 *    bytes; an address is IPv4 or IPv6, both of one family;
 *  - the header alone parses the same way; every shorter prefix of it is
 *    DETOUR_INCOMPLETE (the server consumes those bytes before the header
 *    is whole, so none of them may belong to what follows);
 *  - DETOUR_INCOMPLETE: a total length, when known, is past the input. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_proxy p, q;
	detour_err e = detour_proxy_parse(data, size, &p);

	if (e == DETOUR_INCOMPLETE) {
		CHECK(p.len == 0 || p.len > size);
		return 0;
	}
	if (e != DETOUR_OK) {
		CHECK(e == DETOUR_EINVAL);
		return 0;
	}
	CHECK(p.len >= 15 && p.len <= size);
	CHECK(p.version == 1 || p.version == 2);
	if (p.version == 1)
		CHECK(p.len <= DETOUR_PROXY_V1_MAX && !p.ssl);
	if (p.has_addr) {
		CHECK(p.src.sa.sa_family == AF_INET || p.src.sa.sa_family == AF_INET6);
		CHECK(p.src.sa.sa_family == p.dst.sa.sa_family);
	}
	CHECK(detour_proxy_parse(data, p.len, &q) == DETOUR_OK);
	CHECK(q.len == p.len && q.has_addr == p.has_addr && q.ssl == p.ssl);
	if (p.has_addr)
		CHECK(!memcmp(&p.src, &q.src, sizeof(p.src)) &&
		      !memcmp(&p.dst, &q.dst, sizeof(p.dst)));
	for (size_t k = 0; k < p.len; k += 1 + k / 8)
		CHECK(detour_proxy_parse(data, k, &q) == DETOUR_INCOMPLETE);
	CHECK(detour_proxy_parse(data, p.len - 1, &q) == DETOUR_INCOMPLETE);
	return 0;
}
