/* libFuzzer target: detour import, every format, chosen by the first byte
 * (apache, nginx, netlify, netlify-toml, cloudflare, vercel, redirection);
 * the rest is the file. Invariants:
 *   - the import finishes with DETOUR_OK, DETOUR_EINVAL (a file that is not
 *     JSON or TOML at all, with a message) or DETOUR_ENOMEM;
 *   - every skip has a one-line reason (no control byte);
 *   - the rules text it writes loads as a whole (each rule was checked
 *     alone, and the header, comments and "@slash strict" are valid);
 *   - every export format writes that ruleset without failing, and nginx
 *     and apache notes name a rule line of it. */
#include "fuzz.h"
#include <string.h>

#include "detour/export.h"
#include "detour/import.h"
#include "detour/rulefile.h"
#include "export_util.h"

static const char *const formats[] = {"apache",     "nginx",  "netlify",    "netlify-toml",
                                      "cloudflare", "vercel", "redirection"};
static const char *const exports[] = {"nginx", "apache", "caddy", "netlify", "csv"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct detour_import im;
	struct detour_diag d;
	size_t len;

	if (size < 1)
		return 0;
	const char *format = formats[data[0] % 7];
	memset(&d, 0, sizeof(d));
	detour_import_init(&im, "fuzz");
	detour_err e = detour_import_run(format, (const char *)data + 1, size - 1, &im, &d);
	CHECK(e == DETOUR_OK || e == DETOUR_EINVAL || e == DETOUR_ENOMEM);
	if (e == DETOUR_EINVAL)
		CHECK(d.msg[0] != '\0');
	if (e != DETOUR_OK) {
		detour_import_fini(&im);
		return 0;
	}
	for (size_t i = 0; i < im.nskips; i++) {
		CHECK(im.skips[i].why[0] != '\0');
		for (const char *p = im.skips[i].why; *p; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	char *text = detour_import_text(&im, format, &len);
	detour_import_fini(&im);
	if (text == NULL)
		return 0;
	struct detour_ruleset *rs = detour_ruleset_new();
	if (rs == NULL) {
		free(text);
		return 0;
	}
	e = detour_ruleset_load_buf(rs, "imported", text, len, &d);
	if (e == DETOUR_EINVAL)
		fprintf(stderr, "imported rules do not load: %s:%u:%u: %s\n%s\n",
		        d.file ? d.file : "", d.line, d.col, d.msg, text);
	CHECK(e != DETOUR_EINVAL);
	free(text);
	if (e == DETOUR_OK) {
		size_t n = detour_ruleset_count(rs);
		for (size_t f = 0; f < sizeof(exports) / sizeof(exports[0]); f++) {
			struct detour_export x;
			detour_export_init(&x, "imported");
			x.host = f == 4 ? "example.com" : NULL;
			detour_err xe = detour_export_run(exports[f], rs, &x, &d);
			CHECK(xe == DETOUR_OK || xe == DETOUR_ENOMEM);
			CHECK(x.nrules <= n);
			detour_export_fini(&x);
		}
	}
	detour_ruleset_free(rs);
	return 0;
}
