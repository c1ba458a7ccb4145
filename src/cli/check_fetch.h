/* detour check: the transfers of a run, on one libcurl multi handle. */
#ifndef DETOUR_CLI_CHECK_FETCH_H
#define DETOUR_CLI_CHECK_FETCH_H

#include "check_util.h"

/* Runs every chain (at most o->parallel at once), printing each in input
 * order as soon as it and those before it are done (check_out.c). Returns
 * the exit status. */
int check_run(struct check_opts *o, struct chain *chains, size_t n);

#endif
