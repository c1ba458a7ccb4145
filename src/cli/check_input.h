/* detour check --input: URLs from a file. */
#ifndef DETOUR_CLI_CHECK_INPUT_H
#define DETOUR_CLI_CHECK_INPUT_H

#include "check_util.h"

/* Reads --input path (one URL a line, or CSV url[,status[,location]]; '#'
 * comments, blank lines and a header row "url,..." skipped) into *v (see
 * check_add_chain), with the expectation of o for lines without one.
 * Returns 0, or 2 with a message printed. */
int check_read_input(const char *path, const struct check_opts *o, struct chain **v, size_t *n,
                     size_t *cap);

#endif
