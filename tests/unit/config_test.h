/* Shared by the config parser's tests (test_config.c, test_config_https.c,
 * test_config_maint.c): parse a text as a config file over the defaults, into
 * one static config. */
#ifndef DETOUR_TEST_CONFIG_TEST_H
#define DETOUR_TEST_CONFIG_TEST_H

#include <string.h>

#include "detour/config.h"
#include "unit.h"

/* Parses text as config file `name` over the defaults; returns the result
 * and the formatted diagnostic in err. */
static detour_err parse_named(struct detour_config *c, const char *name, const char *text,
                              char *err, size_t cap)
{
	struct guard g;
	struct detour_diag d = {0};
	size_t len = strlen(text);
	const char *buf = guard_copy(&g, text, len);
	detour_err e;

	detour_config_defaults(c);
	e = detour_config_parse(c, name, buf, len, &d);
	if (e != DETOUR_OK)
		detour_diag_format(&d, err, cap);
	else
		err[0] = '\0';
	guard_free(&g);
	return e;
}

static struct detour_config conf; /* big (64 x 4 KiB paths): not on the stack */

static void parse_ok(const char *text)
{
	char err[512];
	detour_err e = parse_named(&conf, "/etc/detour/detour.conf", text, err, sizeof(err));

	if (e != DETOUR_OK) {
		print_error("unexpected error for %s: %s\n", text, err);
		fail();
	}
}

/* Runs each case of ks: the text must fail with exactly the message err. */
struct err_case {
	const char *text;
	const char *err; /* with the file name "t.conf" */
};

static inline void check_errors(const struct err_case *ks, size_t n)
{
	char err[512];

	for (size_t i = 0; i < n; i++) {
		const struct err_case *k = &ks[i];
		detour_err e = parse_named(&conf, "t.conf", k->text, err, sizeof(err));
		if (e != DETOUR_EINVAL || strcmp(err, k->err) != 0) {
			print_error("case %zu: %s\n  expected: %s\n  got (%d): %s\n", i, k->text,
			            k->err, (int)e, e ? err : "(ok)");
			fail();
		}
	}
}

#endif
