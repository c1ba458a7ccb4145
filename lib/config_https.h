/* detour: the HTTPS directives of detour.conf (config_https.c), as entries
 * of the directive table config.c's parser looks names up in. */
#ifndef DETOUR_CONFIG_HTTPS_H
#define DETOUR_CONFIG_HTTPS_H

#include <stddef.h>

#include "config_args.h"

extern const struct conf_directive conf_https_directives[];
extern const size_t conf_https_ndirectives;

/* What the HTTPS directives need of each other and of the listeners, once
 * the whole file is read (a tls listener needs certificates or ACME, the
 * acme-* directives need acme, a proxy-protocol listener needs
 * trusted-proxies). DETOUR_EINVAL with the diagnostic set. */
detour_err conf_https_check(struct pstate *s);

#endif
