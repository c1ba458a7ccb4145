/* libFuzzer target for lib/acme.c: the documents an ACME CA sends (an
 * untrusted peer, or whoever sits on the path to it). The first byte picks
 * the parser (problem, directory, order, authorization); the rest is the
 * body. Asserts, for every input:
 *  - every kept string is NUL-ended within its field;
 *  - an accepted directory, order or authorization holds only https:// URLs
 *    and base64url tokens (what later ends up in requests, paths and names);
 *  - an order's authorization count is within its bound. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detour/acme.h"
#include "detour/acme_jws.h"

static void check_str(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
}

static void check_url(const char *s, size_t cap)
{
	check_str(s, cap);
	CHECK(!strncmp(s, "https://", 8));
}

static void check_problem(const struct detour_acme_problem *p)
{
	check_str(p->type, sizeof(p->type));
	check_str(p->detail, sizeof(p->detail));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		struct detour_acme_problem p;
		if (detour_acme_problem_parse(buf, len, &p) == DETOUR_OK)
			check_problem(&p);
		break;
	}
	case 1: {
		struct detour_acme_dir d;
		if (detour_acme_dir_parse(buf, len, &d) == DETOUR_OK) {
			check_url(d.new_nonce, sizeof(d.new_nonce));
			check_url(d.new_account, sizeof(d.new_account));
			check_url(d.new_order, sizeof(d.new_order));
		}
		break;
	}
	case 2: {
		struct detour_acme_order o;
		if (detour_acme_order_parse(buf, len, &o) == DETOUR_OK) {
			CHECK(o.status != DETOUR_ACME_UNKNOWN);
			CHECK(o.nauthz <= DETOUR_ACME_MAX_AUTHZ);
			check_url(o.finalize, sizeof(o.finalize));
			if (o.certificate[0])
				check_url(o.certificate, sizeof(o.certificate));
			for (size_t i = 0; i < o.nauthz; i++)
				check_url(o.authz[i], sizeof(o.authz[i]));
			check_problem(&o.error);
		}
		detour_acme_order_fini(&o);
		break;
	}
	default: {
		struct detour_acme_authz a;
		if (detour_acme_authz_parse(buf, len, &a) == DETOUR_OK) {
			check_str(a.host, sizeof(a.host));
			CHECK(a.host[0] != '\0');
			for (unsigned k = 0; k < DETOUR_ACME_NCHAL; k++) {
				if (!a.chal[k].present)
					continue;
				check_url(a.chal[k].url, sizeof(a.chal[k].url));
				CHECK(detour_b64url_valid(a.chal[k].token,
				                          strlen(a.chal[k].token)));
				check_problem(&a.chal[k].error);
			}
		}
		break;
	}
	}
	return 0;
}
