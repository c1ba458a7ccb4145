/* detour import: the format dispatch (include/detour/import.h). */
#include <string.h>

#include "detour/import.h"
#include "import_apache.h"
#include "import_nginx.h"

detour_err detour_import_run(const char *format, const char *buf, size_t len,
                             struct detour_import *im, struct detour_diag *d)
{
	if (!strcmp(format, "apache") || !strcmp(format, "htaccess")) {
		detour_import_apache(im, buf, len);
	} else if (!strcmp(format, "nginx")) {
		detour_import_nginx(im, buf, len);
	} else {
		detour_diag_set(d, NULL, 0, 0, "unknown format \"%s\" (known: %s)", format,
		                DETOUR_IMPORT_FORMATS);
		return DETOUR_EINVAL;
	}
	return im->oom ? DETOUR_ENOMEM : DETOUR_OK;
}
