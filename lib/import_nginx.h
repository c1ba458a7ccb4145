/* detour import nginx: `return 301..308 URL` and `rewrite REGEX URL
 * redirect|permanent` in server, location and simple if blocks, with
 * server_name as the host, and map blocks a return uses. See
 * docs/import.md. */
#ifndef DETOUR_IMPORT_NGINX_H
#define DETOUR_IMPORT_NGINX_H

#include <stddef.h>

#include "detour/import_out.h"

/* Converts the nginx configuration buf[0..len) into im. */
void detour_import_nginx(struct detour_import *im, const char *buf, size_t len);

#endif
