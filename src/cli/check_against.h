/* detour check --against BASEURL RULES. */
#ifndef DETOUR_CLI_CHECK_AGAINST_H
#define DETOUR_CLI_CHECK_AGAINST_H

#include "check_util.h"

/* Builds one chain per rule of the file rules, with what the compiled table
 * predicts for its example request, and points o at the server at base.
 * Returns 0, or 2 with a message printed. */
int check_against(struct check_opts *o, const char *base, const char *rules, struct chain **chains,
                  size_t *n);

#endif
