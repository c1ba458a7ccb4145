/* detour import apache: Redirect, RedirectPermanent, RedirectTemp,
 * RedirectMatch and RewriteRule ([R], [G]) with the RewriteConds detour can
 * express, from an .htaccess or a server configuration with <VirtualHost>
 * blocks. See docs/import.md. */
#ifndef DETOUR_IMPORT_APACHE_H
#define DETOUR_IMPORT_APACHE_H

#include <stddef.h>

#include "detour/import_out.h"

/* Converts the Apache configuration buf[0..len) into im. */
void detour_import_apache(struct detour_import *im, const char *buf, size_t len);

#endif
