/* detour: netlify.toml -> JSON text, with toml++ (libtomlplusplus, C++17),
 * so that the C side reads it with jansson. The only C++ file of detour. */
#ifndef DETOUR_IMPORT_TOML_H
#define DETOUR_IMPORT_TOML_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses the TOML document buf[0..len) and returns its "redirects" array
 * of tables as JSON text ({"redirects":[{...,"__line":N}, ...]}, each table
 * with the line it starts on), malloc'd, NUL-terminated. NULL on a TOML
 * error, with "line:col: reason" in err[0..cap). */
char *detour_toml_redirects_json(const char *buf, size_t len, char *err, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
