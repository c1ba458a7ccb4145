/* detour check: the output of a chain, a table or a JSON line. */
#ifndef DETOUR_CLI_CHECK_OUT_H
#define DETOUR_CLI_CHECK_OUT_H

#include "check_util.h"

/* Prints one finished chain as a table or a JSON line (o->json), and raises
 * o->exit_code by its findings. */
void check_print_chain(struct check_opts *o, struct chain *c);

#endif
