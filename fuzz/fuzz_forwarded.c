/* libFuzzer target for lib/forwarded.c. The input is a list of header
 * lines separated by '\n', each led by a byte that picks the field name
 * (Forwarded, X-Forwarded-For, X-Forwarded-Proto, or another) followed by
 * its value; bytes an HTTP/1.1 field value cannot hold are dropped. The
 * request is parsed by lib/http1.c, then resolved. Asserts:
 *  - the address is none, IPv4 or IPv6, and with port 0;
 *  - no field of the three: nothing found; Forwarded present: it is the
 *    source (X-Forwarded-* ignored);
 *  - resolving again gives the same answer (no state), with and without
 *    trusted ranges. */
#include "fuzz.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cidr.h"
#include "detour/forwarded.h"
#include "detour/http1.h"

static const char *const names[4] = {"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto",
                                     "X-Other"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char raw[16384];
	static struct detour_request req;
	static struct cidr trusted[3];
	static bool init;
	struct detour_fwd a, b;
	size_t o = 0;
	int status;
	bool has_fwd = false, has_x = false;

	if (!init) {
		cidr_parse("127.0.0.0/8", 11, &trusted[0]);
		cidr_parse("10.0.0.0/8", 10, &trusted[1]);
		cidr_parse("2001:db8::/32", 13, &trusted[2]);
		init = true;
	}
	if (size > 8000)
		return 0;
	o += (size_t)snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: h\r\n");
	/* Room is kept for the longest name, CRLF and the final CRLF: many
	 * short lines (8,000 empty ones) would otherwise write past raw (the
	 * campaign's fuzz/regression/forwarded/ input). */
	for (size_t i = 0; i < size && o + 32 <= sizeof(raw);) {
		unsigned k = data[i++] & 3;
		o += (size_t)snprintf(raw + o, sizeof(raw) - o, "%s: ", names[k]);
		has_fwd = has_fwd || k == 0;
		has_x = has_x || k == 1 || k == 2;
		for (; i < size && data[i] != '\n'; i++)
			if (o + 4 < sizeof(raw) &&
			    (data[i] == '\t' || (data[i] >= 0x20 && data[i] != 0x7f)))
				raw[o++] = (char)data[i];
		i++;
		raw[o++] = '\r';
		raw[o++] = '\n';
	}
	raw[o++] = '\r';
	raw[o++] = '\n';
	struct detour_http1_limits lim;
	detour_http1_limits_default(&lim);
	lim.max_headers = DETOUR_HTTP1_MAX_HEADERS_HARD;
	if (detour_http1_parse(raw, o, &lim, &req, &status) != DETOUR_OK)
		return 0;

	for (unsigned n = 0; n <= 3; n += 3) {
		detour_fwd_resolve(&req, trusted, n, &a);
		detour_fwd_resolve(&req, trusted, n, &b);
		CHECK(!memcmp(&a, &b, sizeof(a)));
		CHECK(a.addr.sa.sa_family == AF_UNSPEC || a.addr.sa.sa_family == AF_INET ||
		      a.addr.sa.sa_family == AF_INET6);
		if (a.addr.sa.sa_family == AF_INET)
			CHECK(a.addr.in.sin_port == 0);
		if (a.addr.sa.sa_family == AF_INET6)
			CHECK(a.addr.in6.sin6_port == 0);
		CHECK(a.scheme <= DETOUR_FWD_HTTPS);
		if (has_fwd)
			CHECK(a.from == DETOUR_FWD_FORWARDED);
		else if (has_x)
			CHECK(a.from == DETOUR_FWD_X);
		else
			CHECK(a.from == DETOUR_FWD_NONE && a.addr.sa.sa_family == AF_UNSPEC &&
			      a.scheme == DETOUR_FWD_SCHEME_NONE);
	}
	return 0;
}
