/* detour export: the format dispatch (include/detour/export.h). */
#include <string.h>

#include "detour/export.h"
#include "detour/rulefile.h"
#include "export_files.h"
#include "export_servers.h"

detour_err detour_export_run(const char *format, const struct detour_ruleset *rs,
                             struct detour_export *x, struct detour_diag *d)
{
	x->slash_either = detour_ruleset_slash(rs) == DETOUR_SLASH_EITHER;
	if (!strcmp(format, "nginx")) {
		detour_export_nginx(rs, x);
	} else if (!strcmp(format, "apache")) {
		detour_export_apache(rs, x);
	} else if (!strcmp(format, "caddy")) {
		detour_export_caddy(rs, x);
	} else if (!strcmp(format, "netlify")) {
		detour_export_netlify(rs, x);
	} else if (!strcmp(format, "csv")) {
		detour_export_csv(rs, x);
	} else {
		detour_diag_set(d, NULL, 0, 0, "unknown format \"%s\" (known: %s)", format,
		                DETOUR_EXPORT_FORMATS);
		return DETOUR_EINVAL;
	}
	return x->oom ? DETOUR_ENOMEM : DETOUR_OK;
}
