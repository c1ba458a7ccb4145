/* libFuzzer target for lib/tlsname.c. The first byte chooses the reader:
 *  0: the server_name extension: a name it accepts is lower-case LDH, no
 *     empty label, no trailing dot, at most DETOUR_TLSNAME_MAX bytes, and
 *     matches itself exactly (and any wildcard for it only by one label);
 *  1: the ALPN extension: only known bits are set;
 *  2: name matching: the input split at the first NUL into pattern and host;
 *     a match is symmetric in case and never claims more than one label. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/tlsname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[DETOUR_TLSNAME_MAX + 1];
	unsigned mask;

	if (size == 0)
		return 0;
	if (data[0] % 3 == 0) {
		int n = detour_tls_sni_parse(data + 1, size - 1, out);
		if (n > 0) {
			CHECK((size_t)n == strlen(out) && n <= DETOUR_TLSNAME_MAX);
			CHECK(out[0] != '.' && out[n - 1] != '.' && !strstr(out, ".."));
			for (int i = 0; i < n; i++)
				CHECK(!(out[i] >= 'A' && out[i] <= 'Z'));
			CHECK(detour_tls_name_match_kind(out, (size_t)n, out, (size_t)n) == 2);
			const char *dot = strchr(out, '.');
			if (dot && strchr(dot + 1, '.')) {
				char w[DETOUR_TLSNAME_MAX + 2];
				size_t wl = (size_t)n - (size_t)(dot - out) + 1;
				w[0] = '*';
				memcpy(w + 1, dot, wl - 1);
				CHECK(detour_tls_name_match_kind(w, wl, out, (size_t)n) == 1);
			}
		}
	} else if (data[0] % 3 == 1) {
		if (detour_tls_alpn_parse(data + 1, size - 1, &mask) == 0)
			CHECK((mask &
			       ~(DETOUR_ALPN_HTTP11 | DETOUR_ALPN_H2 | DETOUR_ALPN_ACME_TLS)) == 0);
	} else {
		const char *p = (const char *)data + 1;
		size_t n = size - 1;
		const char *nul = memchr(p, '\0', n);
		size_t pl = nul ? (size_t)(nul - p) : n;
		const char *h = nul ? nul + 1 : p + n;
		size_t hl = nul ? n - pl - 1 : 0;
		int k = detour_tls_name_match_kind(p, pl, h, hl);
		CHECK(k >= 0 && k <= 2);
		if (k == 1) {
			/* the wildcard's label is the host's first, without a dot */
			const char *hd = memchr(h, '.', hl);
			CHECK(hd != NULL && hd > h && p[0] == '*');
		}
	}
	return 0;
}
