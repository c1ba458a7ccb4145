/* detour import: the format dispatch (include/detour/import.h). */
#include <string.h>

#include "detour/import.h"
#include "import_apache.h"
#include "import_csv.h"
#include "import_json.h"
#include "import_netlify.h"
#include "import_nginx.h"

detour_err detour_import_run(const char *format, const char *buf, size_t len,
                             struct detour_import *im, struct detour_diag *d)
{
	if (!strcmp(format, "apache") || !strcmp(format, "htaccess")) {
		detour_import_apache(im, buf, len);
	} else if (!strcmp(format, "nginx")) {
		detour_import_nginx(im, buf, len);
	} else if (!strcmp(format, "netlify")) {
		detour_import_netlify(im, buf, len);
	} else if (!strcmp(format, "netlify-toml")) {
		detour_err e = detour_import_netlify_toml(im, buf, len, d);
		if (e)
			return e;
	} else if (!strcmp(format, "cloudflare")) {
		detour_import_cloudflare(im, buf, len);
	} else if (!strcmp(format, "vercel")) {
		detour_err e = detour_import_vercel(im, buf, len, d);
		if (e)
			return e;
	} else if (!strcmp(format, "redirection")) {
		/* the CSV or the JSON export, told apart by the first byte */
		size_t i = 0;
		while (i < len &&
		       (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
			i++;
		if (i < len && buf[i] == '{') {
			detour_err e = detour_import_redirection_json(im, buf, len, d);
			if (e)
				return e;
		} else {
			detour_import_redirection_csv(im, buf, len);
		}
	} else {
		detour_diag_set(d, NULL, 0, 0, "unknown format \"%s\" (known: %s)", format,
		                DETOUR_IMPORT_FORMATS);
		return DETOUR_EINVAL;
	}
	return im->oom ? DETOUR_ENOMEM : DETOUR_OK;
}
