/* detour server: `detour serve`. server.c is the top of src/server: it
 * builds the first table, puts the parts of core.h together, starts the
 * workers and the admin thread, then handles signals (reload, log reopen,
 * maintenance toggle, drain). See docs/internals/server.md. */
#ifndef DETOUR_SERVER_H
#define DETOUR_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/config.h"
#include "detour/table.h"

/* Runs the server with conf until SIGTERM/SIGINT. Returns the exit status
 * (0 after a clean drain, 1 when start-up failed, with the reason logged).
 * conf comes from malloc and is taken over: the server copies it at once
 * and frees it (its megabyte of mostly zero arrays is not kept twice). */
int server_run(struct detour_config *conf, const char *conf_path);

/* Builds a table from the rules files of conf. Returns NULL with the first
 * error formatted into err (file:line:col: message, then "(and N more
 * errors)" when there were more) and, when ds is not NULL, every error in ds
 * (detour_rules_load_all). cached: keep the regex index's compiled database
 * in conf's state directory (hsstore.h; start and reload, not `serve -t`). */
struct detour_table *server_build_table(const struct detour_config *conf, char *err, size_t cap,
                                        struct detour_diags *ds, bool cached);

#endif
