/* libFuzzer target: detour.conf parser. Invariants: a successful parse
 * leaves every count within its array and every limit within its range; a
 * failed one names a line inside the input. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct detour_config c;
	struct detour_diag d = {0};
	unsigned lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	detour_config_defaults(&c);
	if (detour_config_parse(&c, "fuzz.conf", (const char *)data, size, &d) == DETOUR_OK) {
		if (c.nlisten == 0 || c.nlisten > DETOUR_CONF_MAX_LISTEN)
			abort();
		if (c.nrules == 0 || c.nrules > DETOUR_CONF_MAX_RULES)
			abort();
		for (unsigned i = 0; i < c.nlisten; i++)
			if (c.listen[i].port == 0 ||
			    memchr(c.listen[i].host, 0, sizeof(c.listen[i].host)) == NULL)
				abort();
		if (c.limits.max_headers == 0 ||
		    c.limits.max_headers > DETOUR_HTTP1_MAX_HEADERS_HARD)
			abort();
		if (c.limits.max_target > c.limits.max_header_bytes)
			abort();
	} else {
		if (d.line > lines)
			abort();
		if (memchr(d.msg, 0, sizeof(d.msg)) == NULL)
			abort();
	}
	return 0;
}
