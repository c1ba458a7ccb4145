/* detour import vercel, redirection (JSON), netlify-toml: formats read with
 * jansson (netlify.toml through lib/import_toml.cc, toml++, into JSON
 * first). See docs/import.md. */
#ifndef DETOUR_IMPORT_JSON_H
#define DETOUR_IMPORT_JSON_H

#include <stddef.h>

#include "detour/common.h"
#include "detour/import_out.h"

/* The redirects array of vercel.json. DETOUR_EINVAL with d filled when the
 * file is not JSON. */
detour_err detour_import_vercel(struct detour_import *im, const char *buf, size_t len,
                                struct detour_diag *d);

/* The Redirection plugin's JSON export ({"redirects": [...]}). */
detour_err detour_import_redirection_json(struct detour_import *im, const char *buf, size_t len,
                                          struct detour_diag *d);

/* The [[redirects]] tables of netlify.toml. */
detour_err detour_import_netlify_toml(struct detour_import *im, const char *buf, size_t len,
                                      struct detour_diag *d);

#endif
