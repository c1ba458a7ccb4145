/* detour import netlify: the _redirects file (and, through
 * import_toml.cc, the [[redirects]] tables of netlify.toml). See
 * docs/import.md. */
#ifndef DETOUR_IMPORT_NETLIFY_H
#define DETOUR_IMPORT_NETLIFY_H

#include <stddef.h>

#include "detour/import_out.h"

/* One Netlify redirect, as both files describe it. Strings borrowed. */
struct detour_netlify_rule {
	unsigned line;
	const char *from, *to;
	int status;         /* 0: the default, 301 */
	bool force;         /* "!" or force = true: detour has no files to shadow a rule */
	const char **query; /* "key=value" or "key=:name" pairs */
	unsigned nquery;
	const char **conds; /* "Language=en,fr", "Country=us", "Role=admin", "Cookie=a" */
	unsigned nconds;
};

/* Converts one rule into im (or skips it, saying why). */
void detour_import_netlify_rule(struct detour_import *im, const struct detour_netlify_rule *r);

/* Converts the _redirects file buf[0..len) into im. */
void detour_import_netlify(struct detour_import *im, const char *buf, size_t len);

#endif
