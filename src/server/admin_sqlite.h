/* detour server: the admin's store in the single node's SQLite state under
 * state-dir (struct admin_store, admin_data.h): the default, without
 * `state redis://...`. See docs/internals/admin.md. */
#ifndef DETOUR_ADMIN_SQLITE_H
#define DETOUR_ADMIN_SQLITE_H

#include "admin_data.h"

extern const struct admin_store admin_sqlite_store;

#endif
